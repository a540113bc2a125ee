/*
 * session.c: sessions and their rotating refresh tokens (see session.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "arena.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "jwt.h"
#include "log.h"
#include "session.h"

/* The SHA-256 of `s' as a bytea parameter. */
static char *
session_hash(struct arena *ar, const char *s)
{
	unsigned char	 h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	return db_bytea(ar, h, sizeof(h));
}

/* A fresh refresh token, "rt_" + 43 base64url characters. */
char *
session_new_token(struct arena *ar)
{
	unsigned char	 raw[SESSION_TOKEN_BYTES];
	char		*s;

	if ((s = arena_alloc(ar, SESSION_TOKEN_LEN + 1)) == NULL)
		return NULL;
	randombytes_buf(raw, sizeof(raw));
	memcpy(s, SESSION_TOKEN_PREFIX, 3);
	if (jwt_b64_encode(raw, sizeof(raw), s + 3,
	    SESSION_TOKEN_LEN + 1 - 3) == -1)
		return NULL;
	return s;
}

/* True when `t' has the shape of a refresh token we issued. */
bool
session_token_shape(const char *t)
{
	return strlen(t) <= SESSION_TOKEN_MAX &&
	    strncmp(t, SESSION_TOKEN_PREFIX, 3) == 0;
}

/*
 * Starts a session (a new family when `family' is NULL) for `user_id'
 * with refresh token `refresh', inside the caller's transaction. The
 * family id goes to *sid.
 */
enum app_err
session_insert(struct http_request *req, PGconn *conn,
    const char *user_id, const char *family, const char *refresh,
    const char **sid)
{
	static const char sql[] =
	    "INSERT INTO auth_sessions (user_id, family_id, token_hash, "
	    "expires_at, user_agent, remote_addr) "
	    "VALUES ($1, coalesce($2::uuid, gen_random_uuid()), $3::bytea, "
	    "now() + make_interval(secs => $4::int), left($5, 256), $6) "
	    "RETURNING family_id";
	const char	*p[6];
	char		 ttl[16];
	PGresult	*r;
	enum app_err	 e;

	snprintf(ttl, sizeof(ttl), "%d", req->app->conf->refresh_token_ttl);
	p[0] = user_id;
	p[1] = family;
	if ((p[2] = session_hash(req->arena, refresh)) == NULL)
		return APP_ENOMEM;
	p[3] = ttl;
	p[4] = http_header_get(req, "user-agent");
	p[5] = http_remote_addr(req);
	if ((e = db_query(conn, sql, 6, p, &r)) != APP_OK)
		return e;
	*sid = db_value(req->arena, r, 0, 0);
	PQclear(r);
	return *sid != NULL ? APP_OK : APP_ENOMEM;
}

/* Reads the session row of refresh token `token' (locked when `lock'). */
enum app_err
session_find(struct http_request *req, PGconn *conn, const char *token,
    bool lock, struct session *s, bool *found)
{
	const char	*sql = lock ?
	    "SELECT id, user_id, family_id, spent_at IS NOT NULL, "
	    "revoked_at IS NOT NULL, expires_at <= now() FROM auth_sessions "
	    "WHERE token_hash = $1::bytea FOR UPDATE" :
	    "SELECT id, user_id, family_id, spent_at IS NOT NULL, "
	    "revoked_at IS NOT NULL, expires_at <= now() FROM auth_sessions "
	    "WHERE token_hash = $1::bytea";
	const char	*p[1];
	PGresult	*r;
	enum app_err	 e;

	*found = false;
	memset(s, 0, sizeof(*s));
	if ((p[0] = session_hash(req->arena, token)) == NULL)
		return APP_ENOMEM;
	if ((e = db_query(conn, sql, 1, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) == 1) {
		s->id = db_value(req->arena, r, 0, 0);
		s->user_id = db_value(req->arena, r, 0, 1);
		s->family_id = db_value(req->arena, r, 0, 2);
		s->spent = db_bool(r, 0, 3);
		s->revoked = db_bool(r, 0, 4);
		s->expired = db_bool(r, 0, 5);
		*found = s->id != NULL && s->user_id != NULL &&
		    s->family_id != NULL;
		if (!*found)
			e = APP_ENOMEM;
	}
	PQclear(r);
	return e;
}

/* Revokes every live token of a family (and so the session). */
enum app_err
session_revoke(PGconn *conn, const char *family, const char *user_id)
{
	const char	*p[2] = { family, user_id };

	return db_exec(conn, "UPDATE auth_sessions SET revoked_at = now() "
	    "WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL",
	    2, p);
}

/*
 * One refresh, in the caller's transaction: *why is set (and nothing
 * issued) when the token is refused; a reused token revokes its family.
 */
enum app_err
session_rotate(struct http_request *req, PGconn *conn, const char *token,
    const char *next, const char **uid, const char **sid,
    const char **ujson, const char **why)
{
	struct session	 s;
	const char		*p[1];
	PGresult		*r;
	bool			 found;
	enum app_err		 e;

	*why = NULL;
	if ((e = session_find(req, conn, token, true, &s,
	    &found)) != APP_OK)
		return e;
	if (!found)
		*why = "invalid refresh token";
	else if (s.revoked)
		*why = "the session has ended; sign in again";
	else if (s.spent) {
		/* A copy of a token already used: someone else has it. */
		log_warnx("refresh token reuse for user %s: session %s "
		    "revoked", s.user_id, s.family_id);
		*why = "refresh token already used; the session is revoked";
		return session_revoke(conn, s.family_id, s.user_id);
	} else if (s.expired)
		*why = "refresh token expired";
	if (*why != NULL)
		return APP_OK;
	p[0] = s.id;
	if ((e = db_exec(conn, "UPDATE auth_sessions SET spent_at = now() "
	    "WHERE id = $1", 1, p)) != APP_OK ||
	    (e = session_insert(req, conn, s.user_id, s.family_id, next,
	    sid)) != APP_OK)
		return e;
	p[0] = s.user_id;
	if ((e = db_query(conn, "SELECT api_user(u) FROM users u "
	    "WHERE u.id = $1", 1, p, &r)) != APP_OK)
		return e;
	*ujson = PQntuples(r) == 1 ? db_value(req->arena, r, 0, 0) : NULL;
	PQclear(r);
	*uid = s.user_id;
	return *ujson != NULL ? APP_OK : APP_EINTERNAL;
}

enum app_err
session_list(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "SELECT '{\"items\":' || coalesce(array_to_json(array_agg("
	    " row_to_json(x) ORDER BY x.last_used_at DESC, x.id))::text, "
	    " '[]') || '}' FROM ("
	    " SELECT s.family_id AS id, "
	    "  api_time((SELECT min(f.created_at) FROM auth_sessions f "
	    "   WHERE f.family_id = s.family_id AND f.user_id = $1)) "
	    "   AS created_at, "
	    "  api_time(s.created_at) AS last_used_at, "
	    "  api_time(s.expires_at) AS expires_at, "
	    "  s.user_agent, s.remote_addr, "
	    "  s.family_id = $2 AS current "
	    " FROM auth_sessions s WHERE s.user_id = $1 AND "
	    " s.revoked_at IS NULL AND s.spent_at IS NULL AND "
	    " s.expires_at > now()) x";
	const char	*p[2] = { req->user_id, req->session_id };
	PGresult	*r;
	enum app_err	 e;

	if ((e = db_run(req->app->db, sql, 2, p, &r)) != APP_OK)
		return e;
	if ((e = http_add_header(res, "Cache-Control", "no-store")) ==
	    APP_OK)
		e = http_send_json_str(res, 200, PQgetvalue(r, 0, 0),
		    (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	return e;
}

/* True for a UUID in its 8-4-4-4-12 hexadecimal form. */
static bool
session_is_uuid(const char *s)
{
	size_t	 i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[36] == '\0';
}

enum app_err
session_delete(struct http_request *req, struct http_response *res)
{
	const char	*id = req->params[0], *p[2];
	PGresult	*r;
	enum app_err	 e;

	if (id == NULL || !session_is_uuid(id))
		{
		(void)http_send_error(res, APP_ENOTFOUND, NULL,
		    "session not found");
		return APP_ENOTFOUND;
	}
	p[0] = req->user_id;
	p[1] = id;
	if ((e = db_run(req->app->db, "UPDATE auth_sessions SET revoked_at = "
	    "now() WHERE user_id = $1 AND family_id = $2 AND revoked_at IS "
	    "NULL AND spent_at IS NULL AND expires_at > now() RETURNING 1",
	    2, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) == 0) {
		PQclear(r);
		{
		(void)http_send_error(res, APP_ENOTFOUND, NULL,
		    "session not found");
		return APP_ENOTFOUND;
	}
	}
	PQclear(r);
	log_info("user %s revoked session %s", req->user_id, id);
	return http_send_empty(res, 204);
}
