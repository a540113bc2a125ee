/*
 * auth.c: accounts, sessions, tokens, cookies and login throttling.
 *
 * Every handler follows the same order: validate the input, do the slow
 * argon2id work with no PostgreSQL connection held, then take a
 * connection for one short transaction and give it back.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <sodium.h>

#include "app.h"
#include "arena.h"
#include "auth.h"
#include "conf.h"
#include "cors.h"
#include "db.h"
#include "http.h"
#include "jsonx.h"
#include "jwt.h"
#include "log.h"
#include "password.h"
#include "session.h"
#include "throttle.h"

#define AUTH_USERNAME_MIN	3
#define AUTH_USERNAME_MAX	64
#define AUTH_PASSWORD_MIN	8
#define AUTH_PASSWORD_MAX	1024
#define AUTH_DISPLAY_MAX	100
#define AUTH_REALM		"Bearer realm=\"quipu\""

struct auth {
	const struct conf	*conf;
	const struct cors	*cors;
	struct jwt_keys		 keys;
	struct password_gate	*gate;
};

enum app_err
auth_create(const struct conf *conf, const struct cors *cors,
    struct auth **out)
{
	struct auth	*a;
	enum app_err	 e;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return APP_ENOMEM;
	a->conf = conf;
	a->cors = cors;
	/* conf_load() checked the lengths; this only derives the kids. */
	if (jwt_key_set(&a->keys.current, conf->jwt_key,
	    conf->jwt_key_len) == -1 || (conf->jwt_previous_key_len > 0 &&
	    jwt_key_set(&a->keys.previous, conf->jwt_previous_key,
	    conf->jwt_previous_key_len) == -1)) {
		auth_free(a);
		return APP_EINVAL;
	}
	if ((e = password_gate_create(conf->password_hash_concurrency,
	    PASSWORD_WAIT_MAX, &a->gate)) != APP_OK) {
		auth_free(a);
		return e;
	}
	*out = a;
	return APP_OK;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	jwt_key_clear(&a->keys.current);
	jwt_key_clear(&a->keys.previous);
	password_gate_destroy(a->gate);
	free(a);
}

/* ------------------------------------------------------------ helpers */

static struct auth *
auth_of(const struct http_request *req)
{
	return req->app->auth;
}

/* Usernames: letters, digits, '.', '_' and '-'. */
static bool
auth_username_ok(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '.' &&
		    s[n] != '_' && s[n] != '-')
			return false;
	return n >= AUTH_USERNAME_MIN && n <= AUTH_USERNAME_MAX;
}

static enum app_err
auth_cookie(struct http_response *res, const char *name, const char *value,
    const char *path, int max_age)
{
	const struct conf	*c = res->req->app->conf;
	char			*v;

	v = arena_printf(res->req->arena, "%s=%s; Path=%s; Max-Age=%d; "
	    "HttpOnly; SameSite=Lax%s", name, value, path, max_age,
	    c->cookie_secure ? "; Secure" : "");
	if (v == NULL)
		return APP_ENOMEM;
	return http_add_header(res, "Set-Cookie", v);
}

static enum app_err
auth_clear_cookies(struct http_response *res)
{
	enum app_err	 e;

	if ((e = auth_cookie(res, AUTH_ACCESS_COOKIE, "", "/", 0)) != APP_OK)
		return e;
	return auth_cookie(res, AUTH_REFRESH_COOKIE, "", AUTH_COOKIE_PATH, 0);
}

/*
 * 401 with WWW-Authenticate (RFC 6750); `token' when a credential was
 * presented and refused. `clear' also drops the cookies.
 */
static enum app_err
auth_deny(struct http_response *res, bool token, bool clear,
    const char *msg)
{
	enum app_err	 e;

	if ((e = http_add_header(res, "WWW-Authenticate", token ?
	    AUTH_REALM ", error=\"invalid_token\"" : AUTH_REALM)) != APP_OK)
		return e;
	if (clear && (e = auth_clear_cookies(res)) != APP_OK)
		return e;
	(void)http_send_error(res, APP_EAUTH, NULL, "%s", msg);
	return APP_EAUTH;
}

/* Answers a handler's own error and returns it (the envelope is sent). */
static enum app_err
auth_fail(struct http_response *res, enum app_err e, const char *msg)
{
	(void)http_send_error(res, e, NULL, "%s", msg);
	return e;
}

/* ------------------------------------------------------------ tokens */

/*
 * The tokens answer: {"user", "access_token", "token_type", "expires_in",
 * "refresh_token", "refresh_expires_in"}, and both cookies. `user_json'
 * is the user as PostgreSQL built it (api_user()).
 */
static enum app_err
auth_send_tokens(struct http_request *req, struct http_response *res,
    int status, const char *user_json, const char *user_id, const char *sid,
    const char *refresh)
{
	const struct conf	*c = req->app->conf;
	struct jwt_claims	 claims;
	struct json_object	*o = NULL, *user;
	char			 access[JWT_MAX_LEN + 1];
	enum app_err		 e;
	int64_t			 now = (int64_t)time(NULL);

	memset(&claims, 0, sizeof(claims));
	if (snprintf(claims.sub, sizeof(claims.sub), "%s", user_id) >=
	    (int)sizeof(claims.sub) || snprintf(claims.sid,
	    sizeof(claims.sid), "%s", sid) >= (int)sizeof(claims.sid))
		return APP_EINTERNAL;
	claims.iat = now;
	claims.exp = now + c->access_token_ttl;
	if ((e = jwt_sign(&auth_of(req)->keys.current, &claims, access,
	    sizeof(access))) != APP_OK)
		return e;
	if ((user = json_tokener_parse(user_json)) == NULL)
		return APP_EINTERNAL;
	if ((o = json_object_new_object()) == NULL) {
		json_object_put(user);
		return APP_ENOMEM;
	}
	if ((e = jsonx_add(o, "user", user)) != APP_OK ||
	    (e = jsonx_add_string(o, "access_token", access)) != APP_OK ||
	    (e = jsonx_add_string(o, "token_type", "Bearer")) != APP_OK ||
	    (e = jsonx_add_int(o, "expires_in", c->access_token_ttl)) !=
	    APP_OK ||
	    (e = jsonx_add_string(o, "refresh_token", refresh)) != APP_OK ||
	    (e = jsonx_add_int(o, "refresh_expires_in",
	    c->refresh_token_ttl)) != APP_OK)
		goto out;
	if ((e = auth_cookie(res, AUTH_ACCESS_COOKIE, access, "/",
	    c->access_token_ttl)) != APP_OK ||
	    (e = auth_cookie(res, AUTH_REFRESH_COOKIE, refresh,
	    AUTH_COOKIE_PATH, c->refresh_token_ttl)) != APP_OK ||
	    (e = http_add_header(res, "Cache-Control", "no-store")) != APP_OK)
		goto out;
	if (status == 201 && (e = http_add_header(res, "Location",
	    "/api/v1/auth/me")) != APP_OK)
		goto out;
	e = http_send_json(res, status, o);
out:
	sodium_memzero(access, sizeof(access));
	json_object_put(o);
	return e;
}

/* ------------------------------------------------------------ the caller */

/* Verifies an access token; *c holds its claims on JWT_OK. */
static enum jwt_status
auth_verify(const struct http_request *req, const char *token,
    struct jwt_claims *c)
{
	enum jwt_status	 st;

	st = jwt_verify(&auth_of(req)->keys, token, (int64_t)time(NULL), c);
	if (st != JWT_OK)
		log_debug("access token refused: %s", jwt_strerror(st));
	return st;
}

/*
 * Takes the caller of verified claims `c': the Origin check when the
 * token came in a cookie (403 answered), then req->user_id and
 * req->session_id.
 */
static enum app_err
auth_accept(struct http_request *req, struct http_response *res,
    const struct jwt_claims *c, bool cookie)
{
	const char	*why;
	enum app_err	 e;

	if (cookie && (e = cors_check_origin(auth_of(req)->cors, req,
	    &why)) != APP_OK)
		return auth_fail(res, e, why);
	if ((req->user_id = arena_strdup(req->arena, c->sub)) == NULL ||
	    (req->session_id = arena_strdup(req->arena, c->sid)) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

enum app_err
auth_require(struct http_request *req, struct http_response *res)
{
	struct jwt_claims	 claims;
	const char		*hdr, *token;
	enum jwt_status		 st;
	bool			 cookie = false;

	if ((hdr = http_header_get(req, "authorization")) != NULL) {
		if (strncasecmp(hdr, "Bearer ", 7) != 0)
			return auth_deny(res, true, false, "the Authorization "
			    "header must be \"Bearer <access token>\"");
		token = hdr + 7;
		while (*token == ' ')
			token++;
	} else if ((token = http_cookie_get(req, AUTH_ACCESS_COOKIE)) !=
	    NULL && token[0] != '\0')
		cookie = true;
	else
		return auth_deny(res, false, false, "authentication required");

	if ((st = auth_verify(req, token, &claims)) != JWT_OK)
		return auth_deny(res, true, false, st == JWT_EXPIRED ?
		    "access token expired" : "invalid access token");
	return auth_accept(req, res, &claims, cookie);
}

enum app_err
auth_require_path_user(struct http_request *req, struct http_response *res)
{
	enum app_err	 e;
	size_t		 i;

	if ((e = auth_require(req, res)) != APP_OK)
		return e;
	if (req->nparams == 0 || strcasecmp(req->params[0], req->user_id) != 0)
		return auth_fail(res, APP_EFORBIDDEN,
		    "the user id in the path is not yours");
	for (i = 1; i < req->nparams; i++)
		req->params[i - 1] = req->params[i];
	req->params[--req->nparams] = NULL;
	return APP_OK;
}

/* ------------------------------------------------------------ register */

enum app_err
auth_register(struct http_request *req, struct http_response *res)
{
	static const char sql_user[] =
	    "INSERT INTO users (username, password_hash, display_name) "
	    "VALUES ($1, $2, nullif($3, '')) "
	    "RETURNING id, api_user(users.*)";
	struct jsonx_errors	 errs;
	struct json_object	*body = NULL, *details;
	const char		*username = NULL, *password = NULL, *why;
	const char		*display = NULL, *p[3], *refresh, *uid, *sid;
	const char		*ujson;
	char			 hash[PASSWORD_HASH_MAX];
	int			 retry;
	PGconn			*conn;
	PGresult		*r;
	enum app_err		 e;

	if ((e = jsonx_parse_object(req->body, req->body_len, &body,
	    &why)) != APP_OK)
		return auth_fail(res, e, why);
	jsonx_errors_init(&errs, req->arena);
	if (jsonx_get_string(body, "username", JSONX_REQUIRED, 1, 0,
	    &username, &errs) == APP_OK && !auth_username_ok(username))
		jsonx_errors_add(&errs, "username", "must be 3 to 64 letters, "
		    "digits, '.', '_' or '-'");
	(void)jsonx_get_string(body, "password", JSONX_REQUIRED,
	    AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX, &password, &errs);
	(void)jsonx_get_string(body, "display_name", JSONX_NULLABLE |
	    JSONX_TRIM, 0, AUTH_DISPLAY_MAX, &display, &errs);
	json_object_put(body);
	if (username != NULL && password != NULL &&
	    strcasecmp(username, password) == 0)
		jsonx_errors_add(&errs, "password", "must not be the username");
	if (jsonx_errors_result(&errs) != APP_OK)
		return jsonx_send_errors(res, &errs);

	/* The address's allowance first: a hash is what it protects. */
	if ((e = db_acquire(req->app->db, &conn)) != APP_OK)
		return e;
	e = throttle_register_check(req, conn, &retry);
	db_release(req->app->db, conn);
	if (e != APP_OK)
		return e;
	if (retry > 0)
		return throttle_register_refuse(res, retry);

	if ((e = password_hash(auth_of(req)->gate, password, hash)) != APP_OK)
		return e;
	if ((refresh = session_new_token(req->arena)) == NULL)
		return APP_ENOMEM;
	if ((e = db_acquire(req->app->db, &conn)) != APP_OK)
		return e;
	p[0] = username;
	p[1] = hash;
	p[2] = display;
	if ((e = db_begin(conn)) != APP_OK ||
	    (e = db_query(conn, sql_user, 3, p, &r)) != APP_OK)
		goto fail;
	uid = db_value(req->arena, r, 0, 0);
	ujson = db_value(req->arena, r, 0, 1);
	PQclear(r);
	if (uid == NULL || ujson == NULL) {
		e = APP_ENOMEM;
		goto fail;
	}
	if ((e = session_insert(req, conn, uid, NULL, refresh,
	    &sid)) != APP_OK ||
	    (e = throttle_register_record(req, conn)) != APP_OK ||
	    (e = db_commit(conn)) != APP_OK)
		goto fail;
	db_release(req->app->db, conn);
	log_info("registered user %s", uid);
	return auth_send_tokens(req, res, 201, ujson, uid, sid, refresh);
fail:
	db_rollback(conn);
	db_release(req->app->db, conn);
	if (e != APP_ECONFLICT)
		return e;
	if ((details = json_object_new_object()) == NULL ||
	    jsonx_add_string(details, "username", "is taken") != APP_OK) {
		json_object_put(details);
		return APP_ENOMEM;
	}
	e = http_send_error(res, APP_ECONFLICT, details,
	    "username is taken");
	json_object_put(details);
	return e == APP_OK ? APP_ECONFLICT : e;
}

/* ------------------------------------------------------------ login */

/* A successful login's writes, in one transaction. */
static enum app_err
auth_login_finish(struct http_request *req, const char *ukey,
    const char *uid, const char *rehash, const char *refresh,
    const char **sid)
{
	const char	*p[2];
	PGconn		*conn;
	enum app_err	 e;

	if ((e = db_acquire(req->app->db, &conn)) != APP_OK)
		return e;
	if ((e = db_begin(conn)) != APP_OK ||
	    (e = throttle_forgive(conn, ukey)) != APP_OK)
		goto out;
	p[0] = uid;
	if ((e = db_exec(conn, "DELETE FROM auth_sessions "
	    "WHERE user_id = $1 AND expires_at < now()", 1, p)) != APP_OK)
		goto out;
	p[1] = rehash;
	if (rehash != NULL && (e = db_exec(conn, "UPDATE users SET "
	    "password_hash = $2 WHERE id = $1", 2, p)) != APP_OK)
		goto out;
	if ((e = session_insert(req, conn, uid, NULL, refresh,
	    sid)) != APP_OK)
		goto out;
	e = db_commit(conn);
out:
	if (e != APP_OK)
		db_rollback(conn);
	db_release(req->app->db, conn);
	return e;
}

enum app_err
auth_login(struct http_request *req, struct http_response *res)
{
	static const char sql_user[] =
	    "SELECT u.id, u.password_hash, api_user(u) FROM users u "
	    "WHERE lower(u.username) = lower($1)";
	struct jsonx_errors	 errs;
	struct json_object	*body = NULL;
	const char		*username = NULL, *password = NULL, *why;
	const char		*ukey, *uid = NULL, *stored = NULL;
	const char		*ujson = NULL, *refresh, *sid, *rehash = NULL;
	char			 hash[PASSWORD_HASH_MAX];
	bool			 needs_rehash;
	int			 retry;
	PGconn			*conn;
	PGresult		*r;
	enum app_err		 e;

	if ((e = jsonx_parse_object(req->body, req->body_len, &body,
	    &why)) != APP_OK)
		return auth_fail(res, e, why);
	jsonx_errors_init(&errs, req->arena);
	(void)jsonx_get_string(body, "username", JSONX_REQUIRED, 1,
	    AUTH_USERNAME_MAX, &username, &errs);
	(void)jsonx_get_string(body, "password", JSONX_REQUIRED, 1,
	    AUTH_PASSWORD_MAX, &password, &errs);
	json_object_put(body);
	if (jsonx_errors_result(&errs) != APP_OK)
		return jsonx_send_errors(res, &errs);
	if ((ukey = throttle_key(req->arena, username)) == NULL)
		return APP_ENOMEM;

	/* The throttle and the user, then the connection goes back. */
	if ((e = db_acquire(req->app->db, &conn)) != APP_OK)
		return e;
	if ((e = throttle_check(req, conn, ukey, &retry)) == APP_OK &&
	    retry == 0 &&
	    (e = db_query(conn, sql_user, 1, &username, &r)) == APP_OK) {
		if (PQntuples(r) == 1) {
			uid = db_value(req->arena, r, 0, 0);
			stored = db_value(req->arena, r, 0, 1);
			ujson = db_value(req->arena, r, 0, 2);
			if (uid == NULL || stored == NULL || ujson == NULL)
				e = APP_ENOMEM;
		}
		PQclear(r);
	}
	db_release(req->app->db, conn);
	if (e != APP_OK)
		return e;
	if (retry > 0)
		return throttle_refuse(res, retry);

	/* Unknown users pay for a hash too: same answer, same time. */
	e = password_verify(auth_of(req)->gate, stored, password,
	    &needs_rehash);
	if (e == APP_EAUTH) {
		if ((e = throttle_record(req, ukey)) != APP_OK)
			return e;
		return auth_deny(res, false, false,
		    "invalid username or password");
	}
	if (e != APP_OK)
		return e;
	if (needs_rehash) {
		if ((e = password_hash(auth_of(req)->gate, password,
		    hash)) != APP_OK)
			return e;
		rehash = hash;
	}
	if ((refresh = session_new_token(req->arena)) == NULL)
		return APP_ENOMEM;
	if ((e = auth_login_finish(req, ukey, uid, rehash, refresh,
	    &sid)) != APP_OK)
		return e;
	if (rehash != NULL)
		log_info("user %s: password hash upgraded", uid);
	return auth_send_tokens(req, res, 200, ujson, uid, sid, refresh);
}

/* ------------------------------------------------------------ refresh */

/*
 * The refresh token of a request: {"refresh_token"} in the body, else the
 * refresh cookie (then *cookie). NULL with nothing sent; on a bad body
 * the error has been answered and *err says so.
 */
static const char *
auth_refresh_token(struct http_request *req, struct http_response *res,
    bool *cookie, enum app_err *err)
{
	struct jsonx_errors	 errs;
	struct json_object	*body = NULL;
	const char		*token = NULL, *why;
	enum app_err		 e;

	*cookie = false;
	*err = APP_OK;
	if (req->body_len > 0) {
		if ((e = jsonx_parse_object(req->body, req->body_len, &body,
		    &why)) != APP_OK) {
			*err = auth_fail(res, e, why);
			return NULL;
		}
		jsonx_errors_init(&errs, req->arena);
		(void)jsonx_get_string(body, "refresh_token", 0, 1, 0, &token,
		    &errs);
		json_object_put(body);
		if ((*err = jsonx_errors_result(&errs)) != APP_OK) {
			(void)jsonx_send_errors(res, &errs);
			return NULL;
		}
		if (token != NULL)
			return token;
	}
	if ((token = http_cookie_get(req, AUTH_REFRESH_COOKIE)) != NULL &&
	    token[0] != '\0') {
		*cookie = true;
		return token;
	}
	return NULL;
}

enum app_err
auth_refresh(struct http_request *req, struct http_response *res)
{
	const char	*token, *next, *uid = NULL, *sid = NULL, *ujson = NULL;
	const char	*why;
	bool		 cookie;
	PGconn		*conn;
	enum app_err	 e;

	if ((token = auth_refresh_token(req, res, &cookie, &e)) == NULL)
		return e != APP_OK ? e : auth_deny(res, false, true,
		    "refresh token required");
	if (cookie && (e = cors_check_origin(auth_of(req)->cors, req,
	    &why)) != APP_OK)
		return auth_fail(res, e, why);
	if (!session_token_shape(token))
		return auth_deny(res, true, true, "invalid refresh token");
	if ((next = session_new_token(req->arena)) == NULL)
		return APP_ENOMEM;
	if ((e = db_acquire(req->app->db, &conn)) != APP_OK)
		return e;
	if ((e = db_begin(conn)) == APP_OK &&
	    (e = session_rotate(req, conn, token, next, &uid, &sid, &ujson,
	    &why)) == APP_OK)
		e = db_commit(conn);
	if (e != APP_OK)
		db_rollback(conn);
	db_release(req->app->db, conn);
	if (e != APP_OK)
		return e;
	if (why != NULL)
		return auth_deny(res, true, true, why);
	return auth_send_tokens(req, res, 200, ujson, uid, sid, next);
}

/* ------------------------------------------------------------ logout */

/*
 * The session to end: the refresh token's (body or cookie), else the
 * access token's. On a refusal the answer is sent and *sid stays NULL.
 */
static enum app_err
auth_logout_session(struct http_request *req, struct http_response *res,
    const char **sid, const char **uid)
{
	struct session	 s;
	struct jwt_claims	 claims;
	const char		*token, *why;
	bool			 cookie, found = false;
	PGconn			*conn;
	enum app_err		 e;

	*sid = *uid = NULL;
	if ((token = auth_refresh_token(req, res, &cookie, &e)) == NULL &&
	    e != APP_OK)
		return e;
	/* A bearer header speaks for the caller, whatever the cookies say. */
	if (token != NULL && cookie &&
	    http_header_get(req, "authorization") != NULL)
		token = NULL;
	if (token != NULL) {
		if (cookie && (e = cors_check_origin(auth_of(req)->cors, req,
		    &why)) != APP_OK)
			return auth_fail(res, e, why);
		if (session_token_shape(token)) {
			if ((e = db_acquire(req->app->db, &conn)) != APP_OK)
				return e;
			e = session_find(req, conn, token, false, &s,
			    &found);
			db_release(req->app->db, conn);
			if (e != APP_OK)
				return e;
		}
		if (found) {
			*sid = s.family_id;
			*uid = s.user_id;
			return APP_OK;
		}
		if (!cookie)
			return auth_deny(res, true, true,
			    "invalid refresh token");
		token = NULL;	/* a stale cookie: try the access token */
	}
	/*
	 * Without a bearer header, a missing or dead access cookie leaves
	 * nothing to end: the answer just clears the cookies (logging out
	 * twice is not an error).
	 */
	if (http_header_get(req, "authorization") != NULL)
		e = auth_require(req, res);
	else if ((token = http_cookie_get(req, AUTH_ACCESS_COOKIE)) == NULL ||
	    auth_verify(req, token, &claims) != JWT_OK)
		return APP_OK;
	else
		e = auth_accept(req, res, &claims, true);
	if (e != APP_OK)
		return e;
	*sid = req->session_id;
	*uid = req->user_id;
	return APP_OK;
}

enum app_err
auth_logout(struct http_request *req, struct http_response *res)
{
	const char	*sid, *uid;
	PGconn		*conn;
	enum app_err	 e;

	if ((e = auth_logout_session(req, res, &sid, &uid)) != APP_OK)
		return e;
	if (sid != NULL) {
		if ((e = db_acquire(req->app->db, &conn)) != APP_OK)
			return e;
		e = session_revoke(conn, sid, uid);
		db_release(req->app->db, conn);
		if (e != APP_OK)
			return e;
	}
	if ((e = auth_clear_cookies(res)) != APP_OK ||
	    (e = http_add_header(res, "Cache-Control", "no-store")) != APP_OK)
		return e;
	return http_send_empty(res, 204);
}

/* ------------------------------------------------------------ /me */

enum app_err
auth_me(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "SELECT api_user(u) FROM users u WHERE u.id = $1 AND "
	    SESSION_LIVE_SQL;
	const char	*p[2] = { req->user_id, req->session_id };
	PGresult	*r;
	enum app_err	 e;

	if ((e = db_run(req->app->db, sql, 2, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return auth_deny(res, true, false,
		    "the session has ended; sign in again");
	}
	if ((e = http_add_header(res, "Cache-Control", "no-store")) ==
	    APP_OK)
		e = http_send_json_str(res, 200, PQgetvalue(r, 0, 0),
		    (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	return e;
}

/* A 422 for one field. */
static enum app_err
auth_field_error(struct http_request *req, struct http_response *res,
    const char *field, const char *msg)
{
	struct jsonx_errors	 errs;

	jsonx_errors_init(&errs, req->arena);
	jsonx_errors_add(&errs, field, msg);
	(void)jsonx_send_errors(res, &errs);
	return APP_EVALIDATION;
}

/*
 * Checks `current' against the caller's password, with the login
 * throttle and failure count, and that the new password `next' is not
 * the username. On a refusal the answer has been sent.
 */
static enum app_err
auth_check_current(struct http_request *req, struct http_response *res,
    const char *current, const char *next)
{
	const char	*p[1] = { req->user_id }, *ukey = NULL, *stored = NULL;
	bool		 same = false;
	bool		 needs_rehash;
	int		 retry = 0;
	PGconn		*conn;
	PGresult	*r;
	enum app_err	 e;

	if ((e = db_acquire(req->app->db, &conn)) != APP_OK)
		return e;
	if ((e = db_query(conn, "SELECT username, password_hash FROM users "
	    "WHERE id = $1", 1, p, &r)) == APP_OK) {
		if (PQntuples(r) == 1) {
			same = strcasecmp(PQgetvalue(r, 0, 0), next) == 0;
			ukey = throttle_key(req->arena,
			    PQgetvalue(r, 0, 0));
			stored = db_value(req->arena, r, 0, 1);
			if (ukey == NULL || stored == NULL)
				e = APP_ENOMEM;
		}
		PQclear(r);
	}
	if (e == APP_OK && ukey != NULL)
		e = throttle_check(req, conn, ukey, &retry);
	db_release(req->app->db, conn);
	if (e != APP_OK)
		return e;
	if (ukey == NULL)
		return auth_deny(res, true, false,
		    "the session has ended; sign in again");
	if (retry > 0)
		return throttle_refuse(res, retry);
	if (same)
		return auth_field_error(req, res, "password",
		    "must not be the username");
	e = password_verify(auth_of(req)->gate, stored, current,
	    &needs_rehash);
	if (e == APP_EAUTH) {
		if ((e = throttle_record(req, ukey)) != APP_OK)
			return e;
		return auth_field_error(req, res, "current_password",
		    "is incorrect");
	}
	return e;
}

enum app_err
auth_me_patch(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "UPDATE users u SET "
	    " display_name = CASE WHEN $3 THEN nullif($4, '') "
	    "  ELSE u.display_name END, "
	    " password_hash = coalesce($5, u.password_hash), "
	    " updated_at = now() "
	    "WHERE u.id = $1 AND " SESSION_LIVE_SQL " "
	    "RETURNING api_user(u)";
	struct jsonx_errors	 errs;
	struct json_object	*body = NULL;
	const char		*display = NULL, *password = NULL;
	const char		*current = NULL, *why, *p[5];
	char			 hash[PASSWORD_HASH_MAX];
	bool			 set_display;
	PGconn			*conn;
	PGresult		*r = NULL;
	enum app_err		 e;

	if ((e = jsonx_parse_object(req->body, req->body_len, &body,
	    &why)) != APP_OK)
		return auth_fail(res, e, why);
	jsonx_errors_init(&errs, req->arena);
	set_display = jsonx_has(body, "display_name");
	(void)jsonx_get_string(body, "display_name", JSONX_NULLABLE |
	    JSONX_TRIM, 0, AUTH_DISPLAY_MAX, &display, &errs);
	(void)jsonx_get_string(body, "password", 0, AUTH_PASSWORD_MIN,
	    AUTH_PASSWORD_MAX, &password, &errs);
	(void)jsonx_get_string(body, "current_password", 0, 1,
	    AUTH_PASSWORD_MAX, &current, &errs);
	json_object_put(body);
	if (password != NULL && current == NULL)
		jsonx_errors_add(&errs, "current_password", "is required");
	if (jsonx_errors_result(&errs) != APP_OK)
		return jsonx_send_errors(res, &errs);

	p[4] = NULL;
	if (password != NULL) {
		if ((e = auth_check_current(req, res, current,
		    password)) != APP_OK)
			return e;
		if ((e = password_hash(auth_of(req)->gate, password,
		    hash)) != APP_OK)
			return e;
		p[4] = hash;
	}
	p[0] = req->user_id;
	p[1] = req->session_id;
	p[2] = set_display ? "true" : "false";
	p[3] = display;
	if ((e = db_acquire(req->app->db, &conn)) != APP_OK)
		return e;
	if ((e = db_begin(conn)) == APP_OK &&
	    (e = db_query(conn, sql, 5, p, &r)) == APP_OK &&
	    PQntuples(r) == 1 && password != NULL) {
		/* Every other session ends; this one stays signed in. */
		const char *q[2] = { req->user_id, req->session_id };

		e = db_exec(conn, "UPDATE auth_sessions SET revoked_at = "
		    "now() WHERE user_id = $1 AND family_id <> $2 AND "
		    "revoked_at IS NULL", 2, q);
	}
	if (e == APP_OK)
		e = db_commit(conn);
	if (e != APP_OK)
		db_rollback(conn);
	db_release(req->app->db, conn);
	if (e != APP_OK) {
		PQclear(r);
		return e;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		return auth_deny(res, true, false,
		    "the session has ended; sign in again");
	}
	if (password != NULL)
		log_info("user %s changed the password; other sessions "
		    "revoked", req->user_id);
	if ((e = http_add_header(res, "Cache-Control", "no-store")) ==
	    APP_OK)
		e = http_send_json_str(res, 200, PQgetvalue(r, 0, 0),
		    (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	return e;
}


