/*
 * test_auth.c: accounts, tokens and credentials through nginx against a
 * real PostgreSQL, as doc/api.md ("Authentication") promises them:
 * register and its validation, login, /me, password change, refresh with
 * reuse detection, logout, bad and forged tokens, the CSRF rule for
 * cookies, CORS, the user-id-in-path rule, Secure cookies, key rotation,
 * the upgrade of weak password hashes, and no secret in any log.
 *
 * Every password and token the program uses is remembered; the last test
 * looks for each of them in quipu's and nginx's logs.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <sodium.h>

#include "harness.h"

static struct harness	 H;

/* One number (a count) from the test database; -1 on error. */
#define sql_long(sql, param)	harness_sql_long(&H, (sql), (param))

/* Debug logging: a secret logged at any level is found. */
#define CONF_EXTRA	"log_level = debug"

#define P_REGISTER	"/api/v1/auth/register"
#define P_LOGIN		"/api/v1/auth/login"
#define P_REFRESH	"/api/v1/auth/refresh"
#define P_LOGOUT	"/api/v1/auth/logout"
#define P_ME		"/api/v1/auth/me"
#define P_WHOAMI	"/api/v1/_test/whoami"

#define ORIGIN_OK	"Origin: " HARNESS_ORIGIN
#define ORIGIN_EVIL	"Origin: http://evil.example"
#define JSON_CT		"Content-Type: application/json"

/* ------------------------------------------------------------- secrets */

#define MAXSECRETS	1024

static char	*secrets[MAXSECRETS];
static size_t	 nsecrets;

/* Remembers a password or token for test_no_secrets_in_logs. */
static void
keep(const char *s)
{
	char	*dot;

	if (s == NULL || strlen(s) < 8 || nsecrets >= MAXSECRETS - 3)
		return;
	secrets[nsecrets++] = strdup(s);
	/* Parts a careless log line could hold alone. */
	if (strncmp(s, "rt_", 3) == 0)
		secrets[nsecrets++] = strdup(s + 3);
	else if (strncmp(s, "eyJ", 3) == 0 && (dot = strrchr(s, '.')) != NULL &&
	    strlen(dot + 1) >= 16)
		secrets[nsecrets++] = strdup(dot + 1);
}

static void
keep_auth(const struct harness_auth *a)
{
	keep(a->access);
	keep(a->refresh);
}

/* ------------------------------------------------------------- helpers */

/* One request: see harness_req(). */
static void
req(const char *method, const char *path, const char *body, const char *h1,
    const char *h2, const char *h3, struct harness_resp *r)
{
	harness_req(&H, method, path, body, h1, h2, h3, r);
}

/* A JSON object of string members: key, value, ..., NULL. Caller frees. */
static char *
jobj(const char *key, ...)
{
	struct json_object	*o = json_object_new_object();
	const char		*k, *v;
	va_list			 ap;
	char			*s;

	assert_non_null(o);
	va_start(ap, key);
	for (k = key; k != NULL; k = va_arg(ap, const char *)) {
		v = va_arg(ap, const char *);
		json_object_object_add(o, k,
		    v != NULL ? json_object_new_string(v) : NULL);
	}
	va_end(ap);
	assert_non_null(s = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN)));
	json_object_put(o);
	return s;
}

static long
nusers(void)
{
	return sql_long("SELECT count(*) FROM users", NULL);
}

static long
nsessions(const char *user_id)
{
	return sql_long("SELECT count(*) FROM auth_sessions "
	    "WHERE user_id = $1", user_id);
}

/* Refresh tokens of `user_id' still usable: not spent, revoked, expired. */
static long
live_sessions(const char *user_id)
{
	return sql_long("SELECT count(*) FROM auth_sessions WHERE "
	    "user_id = $1 AND spent_at IS NULL AND revoked_at IS NULL AND "
	    "expires_at > now()", user_id);
}

/* The stored hash of `username' (any case) into out. */
static void
stored_hash(const char *username, char *out, size_t sz)
{
	assert_int_equal(harness_sql(&H, "SELECT password_hash FROM users "
	    "WHERE lower(username) = lower($1)", &username, 1, out, sz), 1);
}

static void
reg(const char *user, const char *pw, struct harness_auth *a)
{
	keep(pw);
	assert_int_equal(harness_register(&H, user, pw, a), 0);
	keep_auth(a);
}

static void
login(const char *user, const char *pw, struct harness_auth *a)
{
	keep(pw);
	assert_int_equal(harness_login(&H, user, pw, a), 0);
	keep_auth(a);
}

/* The status of a login attempt (the password remembered as a secret). */
static long
login_status(const char *user, const char *pw)
{
	struct harness_resp	 r;
	char			*b = jobj("username", user, "password", pw, NULL);
	long			 st;

	keep(pw);
	req("POST", P_LOGIN, b, NULL, NULL, NULL, &r);
	st = r.status;
	harness_resp_free(&r);
	free(b);
	return st;
}

/* POST /refresh with the token in the body; the new pair into `out'. */
static long
refresh_body(const char *token, struct harness_auth *out)
{
	struct harness_resp	 r;
	char			*b = jobj("refresh_token", token, NULL);
	long			 st;

	req("POST", P_REFRESH, b, NULL, NULL, NULL, &r);
	st = r.status;
	if (st == 200 && out != NULL) {
		assert_int_equal(harness_auth_from_resp(&r, out), 0);
		keep_auth(out);
	} else if (st != 200)
		assert_true(harness_is_envelope(&r, "unauthorized"));
	harness_resp_free(&r);
	free(b);
	return st;
}

/* GET `path' with one credential header (may be NULL): the status. */
static long
get_status(const char *path, const char *cred)
{
	struct harness_resp	 r;
	long			 st;

	req("GET", path, NULL, cred, NULL, NULL, &r);
	st = r.status;
	if (st == 401)
		assert_true(harness_is_envelope(&r, "unauthorized"));
	harness_resp_free(&r);
	return st;
}

static bool
is_uuid(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* "2026-11-22T10:30:00.123Z" */
static bool
is_time(const char *s)
{
	return s != NULL && strlen(s) == 24 && s[4] == '-' && s[10] == 'T' &&
	    s[19] == '.' && s[23] == 'Z';
}

/* A user object: {"id","username","display_name","created_at","updated_at"}. */
static void
check_user(struct json_object *u, const char *username)
{
	struct json_object	*v;

	assert_non_null(u);
	assert_true(json_object_object_get_ex(u, "id", &v));
	assert_true(is_uuid(json_object_get_string(v)));
	assert_true(json_object_object_get_ex(u, "username", &v));
	assert_string_equal(json_object_get_string(v), username);
	assert_true(json_object_object_get_ex(u, "display_name", &v));
	assert_true(json_object_object_get_ex(u, "created_at", &v));
	assert_true(is_time(json_object_get_string(v)));
	assert_true(json_object_object_get_ex(u, "updated_at", &v));
	assert_true(is_time(json_object_get_string(v)));
	assert_false(json_object_object_get_ex(u, "password_hash", &v));
	assert_false(json_object_object_get_ex(u, "password", &v));
}

/* The two cookies of a tokens answer. */
static void
check_cookies(struct harness_resp *r, bool secure)
{
	const char	*a, *f;
	char		 v[1200];

	assert_non_null(harness_resp_header_n(r, "Set-Cookie", 1));
	assert_non_null(a = harness_resp_cookie(r, "quipu_access"));
	assert_non_null(f = harness_resp_cookie(r, "quipu_refresh"));
	assert_int_equal(harness_cookie_value(a, v, sizeof(v)), 0);
	assert_string_equal(v, harness_resp_str(r, "access_token"));
	assert_int_equal(harness_cookie_value(f, v, sizeof(v)), 0);
	assert_string_equal(v, harness_resp_str(r, "refresh_token"));
	assert_true(harness_cookie_has(a, "Path=/"));
	assert_true(harness_cookie_has(a, "HttpOnly"));
	assert_true(harness_cookie_has(a, "SameSite=Lax"));
	assert_true(harness_cookie_has(a, "Max-Age=900"));
	assert_true(harness_cookie_has(f, "Path=/api/v1/auth"));
	assert_false(harness_cookie_has(f, "Path=/"));
	assert_true(harness_cookie_has(f, "HttpOnly"));
	assert_true(harness_cookie_has(f, "SameSite=Lax"));
	assert_true(harness_cookie_has(f, "Max-Age=2592000"));
	assert_int_equal(harness_cookie_has(a, "Secure"), secure);
	assert_int_equal(harness_cookie_has(f, "Secure"), secure);
}

/* Both cookies cleared (Max-Age=0) on their own paths. */
static void
check_cleared(struct harness_resp *r)
{
	const char	*a, *f;

	assert_non_null(a = harness_resp_cookie(r, "quipu_access"));
	assert_non_null(f = harness_resp_cookie(r, "quipu_refresh"));
	assert_true(harness_cookie_has(a, "Max-Age=0"));
	assert_true(harness_cookie_has(a, "Path=/"));
	assert_true(harness_cookie_has(f, "Max-Age=0"));
	assert_true(harness_cookie_has(f, "Path=/api/v1/auth"));
}

/* The body of a tokens answer. */
static void
check_tokens(struct harness_resp *r, const char *username)
{
	struct json_object	*j, *u;
	const char		*at, *rt;
	size_t			 i;

	assert_non_null(j = harness_resp_json(r));
	assert_true(json_object_object_get_ex(j, "user", &u));
	check_user(u, username);
	assert_non_null(at = harness_resp_str(r, "access_token"));
	assert_int_equal(strncmp(at, "eyJ", 3), 0);
	assert_true(strlen(at) <= 1024);
	assert_string_equal(harness_resp_str(r, "token_type"), "Bearer");
	assert_int_equal(harness_json_int(j, "expires_in"), 900);
	assert_int_equal(harness_json_int(j, "refresh_expires_in"), 2592000);
	assert_non_null(rt = harness_resp_str(r, "refresh_token"));
	assert_int_equal(strlen(rt), 3 + 43);
	assert_int_equal(strncmp(rt, "rt_", 3), 0);
	for (i = 3; rt[i] != '\0'; i++)
		assert_true(isalnum((unsigned char)rt[i]) || rt[i] == '-' ||
		    rt[i] == '_');
}

/* Part `n' (0 header, 1 payload) of a JWT, decoded and parsed. */
static struct json_object *
jwt_part(const char *tok, int n)
{
	const char		*p = tok, *end;
	unsigned char		 bin[1024];
	size_t			 binlen;
	struct json_object	*o;
	char			*s;

	for (; n > 0; n--) {
		assert_non_null(p = strchr(p, '.'));
		p++;
	}
	end = strchr(p, '.');
	assert_non_null(end);
	assert_int_equal(sodium_base642bin(bin, sizeof(bin) - 1, p,
	    (size_t)(end - p), NULL, &binlen, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	bin[binlen] = '\0';
	s = (char *)bin;
	assert_non_null(o = json_tokener_parse(s));
	return o;
}

static void
b64url(const void *in, size_t len, char *out, size_t sz)
{
	assert_true(sz >= sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING));
	sodium_bin2base64(out, sz, in, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The JWT key quipu reads from `path': the file less trailing space. */
static size_t
read_key(const char *path, unsigned char *key, size_t sz)
{
	char	*s;
	size_t	 len = 0;

	assert_non_null(s = harness_read_file(path, &len));
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	assert_true(len >= 32 && len <= sz);
	memcpy(key, s, len);
	free(s);
	return len;
}

/*
 * A token with header `hdr' and payload `payload' (JSON texts) signed
 * with HMAC-SHA-256 under `key'; an empty signature when `key' is NULL.
 */
static void
forge(const char *hdr, const char *payload, const unsigned char *key,
    size_t keylen, char *out, size_t sz)
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[crypto_auth_hmacsha256_BYTES];
	char				 h[512], p[1024], m[64];

	b64url(hdr, strlen(hdr), h, sizeof(h));
	b64url(payload, strlen(payload), p, sizeof(p));
	snprintf(out, sz, "%s.%s", h, p);
	if (key == NULL) {
		strncat(out, ".", sz - strlen(out) - 1);
		return;
	}
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)out,
	    strlen(out));
	crypto_auth_hmacsha256_final(&st, mac);
	b64url(mac, sizeof(mac), m, sizeof(m));
	strncat(out, ".", sz - strlen(out) - 1);
	strncat(out, m, sz - strlen(out) - 1);
}

/* The kid quipu derives: the first 6 bytes of SHA-256(key), base64url. */
static void
kid_of(const unsigned char *key, size_t len, char *out, size_t sz)
{
	unsigned char	 d[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(d, key, len);
	b64url(d, 6, out, sz);
}

/* The session id (sid) of an access token, through whoami. */
static void
whoami(const struct harness_auth *a, char *sid, size_t sz)
{
	struct harness_resp	 r;

	req("GET", P_WHOAMI, NULL, a->auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_str(&r, "user_id"), a->user_id);
	assert_non_null(harness_resp_str(&r, "session_id"));
	if (sid != NULL)
		snprintf(sid, sz, "%s", harness_resp_str(&r, "session_id"));
	harness_resp_free(&r);
}

/* ------------------------------------------------------------- register */

static void
test_register(void **state)
{
	struct harness_resp	 r;
	struct json_object	*hdr, *pl;
	struct harness_auth	 a;
	const char		*loc, *id;
	char			 hash[512], sid[64];
	char			*b;
	long			 before = nusers();
	int64_t			 iat, exp;

	(void)state;
	keep("pw-Register-0001");
	b = jobj("username", "Reg_User-1.a", "password", "pw-Register-0001",
	    "display_name", "  Reggie  ", NULL);
	/* A charset parameter is allowed. */
	req("POST", P_REGISTER, b, "Content-Type: application/json; "
	    "charset=utf-8", NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 201);
	assert_non_null(loc = harness_resp_header(&r, "Location"));
	assert_string_equal(loc, "/api/v1/auth/me");
	check_tokens(&r, "Reg_User-1.a");
	assert_string_equal(harness_resp_str(&r, "user.display_name"),
	    "Reggie");
	check_cookies(&r, false);
	assert_int_equal(harness_auth_from_resp(&r, &a), 0);
	keep_auth(&a);
	id = a.user_id;

	/* The access token: HS256 with a kid, the documented claims. */
	hdr = jwt_part(a.access, 0);
	pl = jwt_part(a.access, 1);
	assert_string_equal(json_object_get_string(
	    json_object_object_get(hdr, "alg")), "HS256");
	assert_string_equal(json_object_get_string(
	    json_object_object_get(hdr, "typ")), "JWT");
	assert_non_null(json_object_object_get(hdr, "kid"));
	assert_string_equal(json_object_get_string(
	    json_object_object_get(pl, "sub")), id);
	iat = harness_json_int(pl, "iat");
	exp = harness_json_int(pl, "exp");
	assert_int_equal(exp - iat, 900);
	assert_true(llabs((long long)(iat - (int64_t)time(NULL))) <= 60);
	whoami(&a, sid, sizeof(sid));
	assert_string_equal(json_object_get_string(
	    json_object_object_get(pl, "sid")), sid);
	json_object_put(hdr);
	json_object_put(pl);
	harness_resp_free(&r);

	/* One user, one session, an argon2id hash, the token hashed. */
	assert_int_equal(nusers(), before + 1);
	assert_int_equal(nsessions(id), 1);
	stored_hash("Reg_User-1.a", hash, sizeof(hash));
	assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
	assert_null(strstr(hash, "pw-Register-0001"));
	/* The refresh token: only its SHA-256, nowhere in clear. */
	assert_int_equal(sql_long("SELECT count(*) FROM auth_sessions WHERE "
	    "token_hash = sha256(convert_to($1, 'UTF8')) OR "
	    "token_hash = sha256(convert_to(substr($1, 4), 'UTF8'))",
	    a.refresh), 1);
	assert_int_equal(sql_long("SELECT count(*) FROM auth_sessions s "
	    "WHERE strpos(s::text, substr($1, 4)) > 0", a.refresh), 0);
	assert_int_equal(sql_long("SELECT count(*) FROM users WHERE "
	    "display_name = 'Reggie'", NULL), 1);
}

/*
 * A register that must be refused with `status' and `code' (and
 * details.`field' when not NULL), creating no user.
 */
static void
reject(const char *ctype, const char *body, long status, const char *code,
    const char *field)
{
	struct harness_resp	 r;
	char			 path[80];
	long			 before = nusers();

	req("POST", P_REGISTER, body, ctype, NULL, NULL, &r);
	if (r.status != status)
		fprintf(stderr, "register %.200s: status %ld, want %ld\n",
		    body, r.status, status);
	assert_int_equal(r.status, status);
	assert_true(harness_is_envelope(&r, code));
	if (field != NULL) {
		snprintf(path, sizeof(path), "error.details.%s", field);
		assert_non_null(harness_resp_str(&r, path));
	}
	assert_null(harness_resp_cookie(&r, "quipu_access"));
	harness_resp_free(&r);
	assert_int_equal(nusers(), before);
}

static void
test_register_validation(void **state)
{
	const char	*pw = "pw-Valid-00001";
	char		*b, *s;

	(void)state;
	keep(pw);
	/* username: 3-64 of letters, digits, . _ - */
	reject(NULL, b = jobj("username", "ab", "password", pw, NULL), 422,
	    "validation_failed", "username");
	free(b);
	s = harness_rep("a", 65);
	reject(NULL, b = jobj("username", s, "password", pw, NULL), 422,
	    "validation_failed", "username");
	free(b);
	free(s);
	reject(NULL, b = jobj("username", "bad name", "password", pw, NULL),
	    422, "validation_failed", "username");
	free(b);
	reject(NULL, b = jobj("username", "bad@name", "password", pw, NULL),
	    422, "validation_failed", "username");
	free(b);
	reject(NULL, b = jobj("username", "bad/name", "password", pw, NULL),
	    422, "validation_failed", "username");
	free(b);
	/* password: 8-1024 characters, not bytes */
	keep("Sh0rt-7");
	reject(NULL, b = jobj("username", "shortpw", "password", "Sh0rt-7",
	    NULL), 422, "validation_failed", "password");
	free(b);
	s = harness_rep("\xc3\xa9", 7);		/* 7 characters, 14 bytes */
	reject(NULL, b = jobj("username", "shortpw2", "password", s, NULL),
	    422, "validation_failed", "password");
	free(b);
	free(s);
	s = harness_rep("p", 1025);
	reject(NULL, b = jobj("username", "longpw", "password", s, NULL), 422,
	    "validation_failed", "password");
	free(b);
	free(s);
	/* display_name: up to 100 characters */
	s = harness_rep("d", 101);
	reject(NULL, b = jobj("username", "longdn", "password", pw,
	    "display_name", s, NULL), 422, "validation_failed",
	    "display_name");
	free(b);
	free(s);
	/* Wrong types and missing fields. */
	reject(NULL, "{\"username\":123,\"password\":\"pw-Valid-00001\"}", 422,
	    "validation_failed", "username");
	reject(NULL, "{\"username\":null,\"password\":\"pw-Valid-00001\"}",
	    422, "validation_failed", "username");
	reject(NULL, "{\"username\":\"typepw\",\"password\":true}", 422,
	    "validation_failed", "password");
	reject(NULL, "{\"username\":\"typedn\",\"password\":"
	    "\"pw-Valid-00001\",\"display_name\":5}", 422, "validation_failed",
	    "display_name");
	reject(NULL, "{\"password\":\"pw-Valid-00001\"}", 422,
	    "validation_failed", "username");
	reject(NULL, "{\"username\":\"nopass\"}", 422, "validation_failed",
	    "password");
	reject(NULL, "[\"nopass\",\"pw-Valid-00001\"]", 422,
	    "validation_failed", NULL);
	/* Not JSON, not UTF-8, a NUL, not application/json. */
	reject(NULL, "{\"username\":\"badjson\",\"password\":", 400,
	    "bad_request", NULL);
	reject(NULL, "{\"username\":\"bad\xff\xfeutf\",\"password\":"
	    "\"pw-Valid-00001\"}", 400, "bad_request", NULL);
	reject(NULL, "{\"username\":\"nul\\u0000user\",\"password\":"
	    "\"pw-Valid-00001\"}", 400, "bad_request", NULL);
	reject("Content-Type: text/plain", "{\"username\":\"plaintext\","
	    "\"password\":\"pw-Valid-00001\"}", 415, "unsupported_media_type",
	    NULL);
	reject("Content-Type: application/x-www-form-urlencoded",
	    "username=formuser&password=pw-Valid-00001", 415,
	    "unsupported_media_type", NULL);
	/* The username is no password, in any case. */
	reject(NULL, "{\"username\":\"Sam.Same-1\",\"password\":"
	    "\"sam.same-1\"}", 422, "validation_failed", "password");
}

/* The limits themselves are allowed, counted in characters. */
static void
test_register_limits(void **state)
{
	struct harness_resp	 r;
	struct harness_auth	 a;
	char			*u64, *p8, *p1024, *dn100, *b;

	(void)state;
	reg("v3x", "pw-Limits-0001", &a);
	u64 = harness_rep("L", 64);
	reg(u64, "pw-Limits-0002", &a);
	p8 = harness_rep("\xc3\xa9", 8);	/* 8 characters, 16 bytes */
	reg("eightmb", p8, &a);
	login("eightmb", p8, &a);
	p1024 = harness_rep("\xe2\x82\xac", 1024);	/* 1024 characters, 3072 bytes */
	reg("longestpw", p1024, &a);
	login("LongestPW", p1024, &a);
	dn100 = harness_rep("\xc3\xa9", 100);
	b = jobj("username", "longestdn", "password", "pw-Limits-0003",
	    "display_name", dn100, NULL);
	keep("pw-Limits-0003");
	req("POST", P_REGISTER, b, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(harness_resp_str(&r, "user.display_name"), dn100);
	assert_int_equal(harness_auth_from_resp(&r, &a), 0);
	keep_auth(&a);
	harness_resp_free(&r);
	free(b);
	/* An explicit null display_name is no display name. */
	b = "{\"username\":\"nulldn\",\"password\":\"pw-Limits-0004\","
	    "\"display_name\":null}";
	keep("pw-Limits-0004");
	req("POST", P_REGISTER, b, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 201);
	assert_true(harness_json_is_null(json_object_object_get(harness_resp_json(&r),
	    "user"), "display_name"));
	assert_int_equal(harness_auth_from_resp(&r, &a), 0);
	keep_auth(&a);
	harness_resp_free(&r);
	free(u64);
	free(p8);
	free(p1024);
	free(dn100);
}

static void
test_register_duplicate(void **state)
{
	struct harness_resp	 r;
	struct harness_auth	 a, b2;
	char			*b;
	long			 before;

	(void)state;
	reg("Dup_User", "pw-Duplicate-01", &a);
	before = nusers();
	keep("pw-Duplicate-02");
	b = jobj("username", "dup_user", "password", "pw-Duplicate-02", NULL);
	req("POST", P_REGISTER, b, NULL, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 409);
	assert_true(harness_is_envelope(&r, "conflict"));
	assert_string_equal(harness_resp_str(&r, "error.details.username"),
	    "is taken");
	assert_null(harness_resp_cookie(&r, "quipu_access"));
	harness_resp_free(&r);
	b = jobj("username", "DUP_USER", "password", "pw-Duplicate-02", NULL);
	req("POST", P_REGISTER, b, NULL, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 409);
	assert_true(harness_is_envelope(&r, "conflict"));
	harness_resp_free(&r);
	assert_int_equal(nusers(), before);

	/* One user under any case, with the spelling of its registration. */
	login("dup_user", "pw-Duplicate-01", &b2);
	assert_string_equal(b2.user_id, a.user_id);
	assert_int_equal(login_status("dup_user", "pw-Duplicate-02"), 401);
	b = jobj("username", "DUP_user", "password", "pw-Duplicate-01", NULL);
	req("POST", P_LOGIN, b, NULL, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_str(&r, "user.username"), "Dup_User");
	assert_int_equal(harness_auth_from_resp(&r, &b2), 0);
	keep_auth(&b2);
	harness_resp_free(&r);
}

/* ------------------------------------------------------------- login */

static void
test_login(void **state)
{
	struct harness_resp	 r, w, u;
	struct harness_auth	 a, l;
	char			*b, s1[64], s2[64];

	(void)state;
	reg("LoginUser", "pw-Login-000001", &a);
	assert_int_equal(nsessions(a.user_id), 1);
	b = jobj("username", "loginuser", "password", "pw-Login-000001", NULL);
	req("POST", P_LOGIN, b, NULL, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 200);
	check_tokens(&r, "LoginUser");
	check_cookies(&r, false);
	assert_int_equal(harness_auth_from_resp(&r, &l), 0);
	keep_auth(&l);
	harness_resp_free(&r);
	assert_string_equal(l.user_id, a.user_id);
	/* A login is a session of its own. */
	assert_int_equal(nsessions(a.user_id), 2);
	whoami(&a, s1, sizeof(s1));
	whoami(&l, s2, sizeof(s2));
	assert_string_not_equal(s1, s2);

	/* Wrong password and unknown user: one and the same answer. */
	keep("pw-Login-wrong01");
	b = jobj("username", "LoginUser", "password", "pw-Login-wrong01",
	    NULL);
	req("POST", P_LOGIN, b, NULL, NULL, NULL, &w);
	free(b);
	b = jobj("username", "nosuchuser", "password", "pw-Login-wrong01",
	    NULL);
	req("POST", P_LOGIN, b, NULL, NULL, NULL, &u);
	free(b);
	assert_int_equal(w.status, 401);
	assert_int_equal(u.status, 401);
	assert_true(harness_is_envelope(&w, "unauthorized"));
	assert_true(harness_is_envelope(&u, "unauthorized"));
	assert_string_equal(harness_resp_str(&w, "error.message"),
	    "invalid username or password");
	assert_string_equal(harness_resp_str(&u, "error.message"),
	    "invalid username or password");
	assert_int_equal(harness_resp_header(&w, "WWW-Authenticate") == NULL,
	    harness_resp_header(&u, "WWW-Authenticate") == NULL);
	assert_int_equal(harness_resp_header(&w, "Set-Cookie") == NULL,
	    harness_resp_header(&u, "Set-Cookie") == NULL);
	harness_resp_free(&w);
	harness_resp_free(&u);
	assert_int_equal(nsessions(a.user_id), 2);

	/* A login body of the wrong type is 422. */
	req("POST", P_LOGIN, "{\"username\":5,\"password\":\"pw-Login-000001\"}",
	    NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	harness_resp_free(&r);
	req("POST", P_LOGIN, "{\"username\":", NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 400);
	assert_true(harness_is_envelope(&r, "bad_request"));
	harness_resp_free(&r);
}

/* ------------------------------------------------------------- /me */

static void
test_me(void **state)
{
	struct harness_resp	 r;
	struct harness_auth	 a;
	const char		*www;

	(void)state;
	reg("me_user", "pw-MeUser-00001", &a);
	req("GET", P_ME, NULL, a.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	check_user(harness_resp_json(&r), "me_user");
	assert_string_equal(harness_resp_str(&r, "id"), a.user_id);
	assert_true(harness_json_is_null(harness_resp_json(&r), "display_name"));
	assert_null(strstr(r.body, "argon2"));
	assert_null(strstr(r.body, "token"));
	harness_resp_free(&r);

	/* The access cookie is a credential as good as the header. */
	req("GET", P_ME, NULL, a.cookie, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_str(&r, "id"), a.user_id);
	harness_resp_free(&r);

	req("GET", P_ME, NULL, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	assert_string_equal(harness_resp_str(&r, "error.message"),
	    "authentication required");
	assert_non_null(www = harness_resp_header(&r, "WWW-Authenticate"));
	assert_string_equal(www, "Bearer realm=\"quipu\"");
	harness_resp_free(&r);
}

/* display_name of `id' in the database ("" when NULL). */
static void
db_display_name(const char *id, char *out, size_t sz)
{
	assert_int_equal(harness_sql(&H, "SELECT display_name FROM users "
	    "WHERE id = $1", &id, 1, out, sz), 1);
}

static void
test_patch_display_name(void **state)
{
	struct harness_resp	 r;
	struct harness_auth	 a;
	char			 dn[512], before[64], *s, *b;

	(void)state;
	reg("patch_dn", "pw-PatchDn-0001", &a);
	req("GET", P_ME, NULL, a.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	snprintf(before, sizeof(before), "%s",
	    harness_resp_str(&r, "updated_at"));
	harness_resp_free(&r);

	req("PATCH", P_ME, "{\"display_name\":\"  Ada Lovelace  \"}",
	    a.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	check_user(harness_resp_json(&r), "patch_dn");
	assert_string_equal(harness_resp_str(&r, "display_name"),
	    "Ada Lovelace");
	assert_true(strcmp(harness_resp_str(&r, "updated_at"), before) >= 0);
	harness_resp_free(&r);
	db_display_name(a.user_id, dn, sizeof(dn));
	assert_string_equal(dn, "Ada Lovelace");
	req("GET", P_ME, NULL, a.auth_header, NULL, NULL, &r);
	assert_string_equal(harness_resp_str(&r, "display_name"),
	    "Ada Lovelace");
	harness_resp_free(&r);

	/* Too long, wrong type: 422 and nothing changed. */
	s = harness_rep("x", 101);
	b = jobj("display_name", s, NULL);
	req("PATCH", P_ME, b, a.auth_header, NULL, NULL, &r);
	free(s);
	free(b);
	assert_int_equal(r.status, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	assert_non_null(harness_resp_str(&r, "error.details.display_name"));
	harness_resp_free(&r);
	req("PATCH", P_ME, "{\"display_name\":7}", a.auth_header, NULL, NULL,
	    &r);
	assert_int_equal(r.status, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	harness_resp_free(&r);
	db_display_name(a.user_id, dn, sizeof(dn));
	assert_string_equal(dn, "Ada Lovelace");

	/* By cookie: only with an allowed Origin (CSRF). */
	req("PATCH", P_ME, "{\"display_name\":\"Forged\"}", a.cookie, NULL,
	    NULL, &r);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	req("PATCH", P_ME, "{\"display_name\":\"Forged\"}", a.cookie,
	    ORIGIN_EVIL, NULL, &r);
	assert_int_equal(r.status, 403);
	harness_resp_free(&r);
	db_display_name(a.user_id, dn, sizeof(dn));
	assert_string_equal(dn, "Ada Lovelace");
	req("PATCH", P_ME, "{\"display_name\":\"Via Cookie\"}", a.cookie,
	    ORIGIN_OK, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_str(&r, "display_name"),
	    "Via Cookie");
	harness_resp_free(&r);

	/* null and "" clear it. */
	req("PATCH", P_ME, "{\"display_name\":null}", a.auth_header, NULL,
	    NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(harness_json_is_null(harness_resp_json(&r), "display_name"));
	harness_resp_free(&r);
	assert_int_equal(sql_long("SELECT count(*) FROM users WHERE id = $1 "
	    "AND display_name IS NULL", a.user_id), 1);
	req("PATCH", P_ME, "{\"display_name\":\"Again\"}", a.auth_header,
	    NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	harness_resp_free(&r);
	req("PATCH", P_ME, "{\"display_name\":\"\"}", a.auth_header, NULL,
	    NULL, &r);
	assert_int_equal(r.status, 200);
	assert_true(harness_json_is_null(harness_resp_json(&r), "display_name"));
	harness_resp_free(&r);
	assert_int_equal(sql_long("SELECT count(*) FROM users WHERE id = $1 "
	    "AND display_name IS NULL", a.user_id), 1);

	/* No credential, no change. */
	req("PATCH", P_ME, "{\"display_name\":\"Nobody\"}", NULL, NULL, NULL,
	    &r);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	harness_resp_free(&r);
}

static void
test_patch_password(void **state)
{
	struct harness_resp	 r;
	struct harness_auth	 a, b, a2;
	char			 h0[512], h1[512], required[128];
	const char		*p1 = "pw-Change-Old01", *p2 = "pw-Change-New02";
	char			*body;

	(void)state;
	keep(p2);
	keep("pw-Change-Wrong");
	reg("pw_changer", p1, &a);
	login("PW_changer", p1, &b);
	stored_hash("pw_changer", h0, sizeof(h0));

	body = jobj("password", p2, NULL);
	req("PATCH", P_ME, body, a.auth_header, NULL, NULL, &r);
	free(body);
	assert_int_equal(r.status, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	assert_non_null(harness_resp_str(&r,
	    "error.details.current_password"));
	/* Compared last, so that a wording slip hides nothing else. */
	snprintf(required, sizeof(required), "%s", harness_resp_str(&r,
	    "error.details.current_password"));
	harness_resp_free(&r);

	/* Not the username either (checked before the current password). */
	keep("PW_Changer");
	body = jobj("password", "PW_Changer", "current_password", p1, NULL);
	req("PATCH", P_ME, body, a.auth_header, NULL, NULL, &r);
	free(body);
	assert_int_equal(r.status, 422);
	assert_non_null(harness_resp_str(&r, "error.details.password"));
	harness_resp_free(&r);
	stored_hash("pw_changer", h1, sizeof(h1));
	assert_string_equal(h0, h1);

	body = jobj("password", p2, "current_password", "pw-Change-Wrong",
	    NULL);
	req("PATCH", P_ME, body, a.auth_header, NULL, NULL, &r);
	free(body);
	assert_int_equal(r.status, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	assert_string_equal(harness_resp_str(&r,
	    "error.details.current_password"), "is incorrect");
	harness_resp_free(&r);

	body = jobj("password", "Sh0rt-7", "current_password", p1, NULL);
	req("PATCH", P_ME, body, a.auth_header, NULL, NULL, &r);
	free(body);
	assert_int_equal(r.status, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	assert_non_null(harness_resp_str(&r, "error.details.password"));
	harness_resp_free(&r);
	stored_hash("pw_changer", h1, sizeof(h1));
	assert_string_equal(h0, h1);

	body = jobj("password", p2, "current_password", p1, NULL);
	req("PATCH", P_ME, body, a.auth_header, NULL, NULL, &r);
	free(body);
	assert_int_equal(r.status, 200);
	check_user(harness_resp_json(&r), "pw_changer");
	assert_null(harness_resp_str(&r, "password"));
	harness_resp_free(&r);
	stored_hash("pw_changer", h1, sizeof(h1));
	assert_string_not_equal(h0, h1);
	assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);

	/* The other session is gone; the changing one stays signed in. */
	assert_int_equal(refresh_body(b.refresh, NULL), 401);
	assert_int_equal(get_status(P_ME, b.auth_header), 401);
	assert_int_equal(get_status(P_ME, a.auth_header), 200);
	/* Access tokens are stateless until exp (doc: Tokens). */
	assert_int_equal(get_status(P_WHOAMI, b.auth_header), 200);
	assert_int_equal(refresh_body(a.refresh, &a2), 200);
	assert_int_equal(get_status(P_ME, a2.auth_header), 200);

	assert_int_equal(login_status("pw_changer", p1), 401);
	login("pw_changer", p2, &b);
	assert_string_equal(required, "is required");
}

/* ------------------------------------------------------------- refresh */

static void
test_refresh(void **state)
{
	struct harness_resp	 r;
	struct harness_auth	 t0, t1, t2, other, o2;
	char			 s0[64], s1[64], ck[256], *b;
	bool			 body_cleared;

	(void)state;
	reg("refresher", "pw-Refresh-0001", &t0);
	login("refresher", "pw-Refresh-0001", &other);
	whoami(&t0, s0, sizeof(s0));

	/* By body: a new pair in the same session. */
	/* Nothing presented. */
	req("POST", P_REFRESH, NULL, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	harness_resp_free(&r);
	b = jobj("refresh_token", t0.refresh, NULL);
	req("POST", P_REFRESH, b, NULL, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 200);
	check_tokens(&r, "refresher");
	check_cookies(&r, false);
	assert_int_equal(harness_auth_from_resp(&r, &t1), 0);
	keep_auth(&t1);
	harness_resp_free(&r);
	assert_string_not_equal(t1.refresh, t0.refresh);
	whoami(&t1, s1, sizeof(s1));
	assert_string_equal(s0, s1);

	/* By cookie: only with an allowed Origin, and nothing is spent. */
	snprintf(ck, sizeof(ck), "Cookie: quipu_refresh=%s", t1.refresh);
	req("POST", P_REFRESH, NULL, ck, NULL, NULL, &r);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	req("POST", P_REFRESH, NULL, ck, ORIGIN_EVIL, NULL, &r);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	req("POST", P_REFRESH, NULL, ck, ORIGIN_OK, NULL, &r);
	assert_int_equal(r.status, 200);
	check_cookies(&r, false);
	assert_int_equal(harness_auth_from_resp(&r, &t2), 0);
	keep_auth(&t2);
	harness_resp_free(&r);
	assert_string_not_equal(t2.refresh, t1.refresh);
	assert_int_equal(get_status(P_ME, t2.auth_header), 200);

	/* t0 again: copied. The whole session goes, t2 included. */
	b = jobj("refresh_token", t0.refresh, NULL);
	req("POST", P_REFRESH, b, NULL, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	/* Checked last: "a refresh that fails" clears both cookies. */
	body_cleared = harness_resp_cookie(&r, "quipu_access") != NULL;
	if (body_cleared)
		check_cleared(&r);
	harness_resp_free(&r);
	/* By cookie, the newest token of the family: refused, cleared. */
	snprintf(ck, sizeof(ck), "Cookie: quipu_refresh=%s", t2.refresh);
	req("POST", P_REFRESH, NULL, ck, ORIGIN_OK, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	check_cleared(&r);
	harness_resp_free(&r);
	assert_int_equal(refresh_body(t2.refresh, NULL), 401);
	assert_int_equal(get_status(P_ME, t2.auth_header), 401);
	assert_int_equal(live_sessions(t0.user_id), 1);
	/* The other login is another session: untouched. */
	assert_int_equal(refresh_body(other.refresh, &o2), 200);
	assert_int_equal(get_status(P_ME, o2.auth_header), 200);

	/* Garbage. */
	assert_int_equal(refresh_body("rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    NULL), 401);
	assert_int_equal(refresh_body("not-a-refresh-token", NULL), 401);
	req("POST", P_REFRESH, "{\"refresh_token\":42}", NULL, NULL, NULL, &r);
	assert_true(r.status == 401 || r.status == 422);
	harness_resp_free(&r);
	assert_true(body_cleared);
}

struct racer {
	const char	*body;
	long		 status;
	int		 rc;
	pthread_t	 t;
};

static void *
racer_main(void *arg)
{
	struct racer		*x = arg;
	const char		*hdrs[] = { JSON_CT, NULL };
	struct harness_resp	 r;

	x->rc = harness_request(&H, "POST", P_REFRESH, hdrs, x->body,
	    strlen(x->body), &r);
	x->status = r.status;
	harness_resp_free(&r);
	return NULL;
}

/*
 * Two refreshes of one token at the same moment: the row lock lets one
 * through; the other finds the token spent, which is reuse, so the whole
 * session ends (doc/api.md: refreshes must not race).
 */
static void
test_refresh_race(void **state)
{
	struct harness_auth	 a;
	struct racer		 x[2];
	char			*body;
	int			 i, ok = 0, denied = 0;

	(void)state;
	reg("race_user", "pw-Race-0000001", &a);
	body = jobj("refresh_token", a.refresh, NULL);
	for (i = 0; i < 2; i++) {
		x[i].body = body;
		assert_int_equal(pthread_create(&x[i].t, NULL, racer_main,
		    &x[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(x[i].t, NULL), 0);
		assert_int_equal(x[i].rc, 0);
		ok += x[i].status == 200;
		denied += x[i].status == 401;
	}
	free(body);
	assert_int_equal(ok, 1);
	assert_int_equal(denied, 1);
	assert_int_equal(live_sessions(a.user_id), 0);
}

static void
test_refresh_expired(void **state)
{
	struct harness_resp	 r;
	struct harness_auth	 a;
	char			*b, ck[256];

	(void)state;
	reg("expiring", "pw-Expiring-001", &a);
	assert_int_equal(harness_sql(&H, "UPDATE auth_sessions SET "
	    "expires_at = now() - interval '1 s' WHERE user_id = $1",
	    (const char *[]){ a.user_id }, 1, NULL, 0), 1);
	snprintf(ck, sizeof(ck), "Cookie: quipu_refresh=%s", a.refresh);
	req("POST", P_REFRESH, NULL, ck, ORIGIN_OK, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	check_cleared(&r);
	harness_resp_free(&r);
	b = jobj("refresh_token", a.refresh, NULL);
	req("POST", P_REFRESH, b, NULL, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	check_cleared(&r);
	harness_resp_free(&r);
}

/* ------------------------------------------------------------- logout */

static void
test_logout(void **state)
{
	struct harness_resp	 r;
	struct harness_auth	 a, c, d;
	char			 ck[1600], *b;

	(void)state;
	/* By bearer alone: its session ends. */
	reg("logout_a", "pw-LogoutA-0001", &a);
	req("POST", P_LOGOUT, NULL, a.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	check_cleared(&r);
	harness_resp_free(&r);
	assert_int_equal(refresh_body(a.refresh, NULL), 401);
	assert_int_equal(get_status(P_ME, a.auth_header), 401);
	/* Documented: access tokens stay usable on data routes until exp. */
	assert_int_equal(get_status(P_WHOAMI, a.auth_header), 200);
	assert_int_equal(live_sessions(a.user_id), 0);

	/* By cookies: only with an allowed Origin. */
	reg("logout_c", "pw-LogoutC-0001", &c);
	snprintf(ck, sizeof(ck), "Cookie: quipu_access=%s; quipu_refresh=%s",
	    c.access, c.refresh);
	req("POST", P_LOGOUT, NULL, ck, NULL, NULL, &r);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	assert_int_equal(get_status(P_ME, c.auth_header), 200);
	req("POST", P_LOGOUT, NULL, ck, ORIGIN_OK, NULL, &r);
	assert_int_equal(r.status, 204);
	check_cleared(&r);
	harness_resp_free(&r);
	assert_int_equal(refresh_body(c.refresh, NULL), 401);
	assert_int_equal(get_status(P_ME, c.auth_header), 401);

	/* By the refresh token in the body. */
	reg("logout_d", "pw-LogoutD-0001", &d);
	b = jobj("refresh_token", d.refresh, NULL);
	req("POST", P_LOGOUT, b, NULL, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 204);
	check_cleared(&r);
	harness_resp_free(&r);
	assert_int_equal(refresh_body(d.refresh, NULL), 401);
	assert_int_equal(get_status(P_ME, d.auth_header), 401);
}

/*
 * Logout needs no access token (doc: Presenting credentials) and its body
 * is {"refresh_token"} "or none": with nothing at all it still answers 204
 * and clears the cookies (a browser whose cookies are gone).
 */
static void
test_logout_anonymous(void **state)
{
	struct harness_resp	 r;

	struct harness_auth	 a;
	char			 cookies[2048];

	(void)state;
	req("POST", P_LOGOUT, NULL, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	check_cleared(&r);
	harness_resp_free(&r);

	/*
	 * A browser whose cookies have both gone stale (a spent refresh
	 * token, a dead access token) still gets a clean logout...
	 */
	reg("stale_user", "pw-Stale-000001", &a);
	req("POST", P_LOGOUT, NULL, "Cookie: quipu_access=garbage; "
	    "quipu_refresh=rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    ORIGIN_OK, NULL, &r);
	assert_int_equal(r.status, 204);
	check_cleared(&r);
	harness_resp_free(&r);
	/* ...which ends nobody's session. */
	assert_int_equal(live_sessions(a.user_id), 1);
	/*
	 * A spent refresh token is a known one: logging out with it ends
	 * its session, as presenting it to refresh would.
	 */
	assert_int_equal(refresh_body(a.refresh, NULL), 200);
	snprintf(cookies, sizeof(cookies), "Cookie: quipu_access=garbage; "
	    "quipu_refresh=%s", a.refresh);
	req("POST", P_LOGOUT, NULL, cookies, ORIGIN_OK, NULL, &r);
	assert_int_equal(r.status, 204);
	check_cleared(&r);
	harness_resp_free(&r);
	assert_int_equal(live_sessions(a.user_id), 0);
	/* A bearer token that is presented and refused is still a 401. */
	req("POST", P_LOGOUT, NULL, "Authorization: Bearer garbage", NULL,
	    NULL, &r);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	harness_resp_free(&r);
}

/* ------------------------------------------------------------- tokens */

/* GET whoami with `hdr' and `hdr2': 401 with the right headers. */
static void
refused(const char *hdr, const char *hdr2, const char *message,
    bool token_given)
{
	struct harness_resp	 r;
	const char		*www;

	req("GET", P_WHOAMI, NULL, hdr, hdr2, NULL, &r);
	if (r.status != 401)
		fprintf(stderr, "whoami with %.60s...: status %ld\n",
		    hdr != NULL ? hdr : "(none)", r.status);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	if (message != NULL)
		assert_string_equal(harness_resp_str(&r, "error.message"),
		    message);
	assert_non_null(www = harness_resp_header(&r, "WWW-Authenticate"));
	assert_int_equal(strncmp(www, "Bearer ", 7), 0);
	assert_non_null(strstr(www, "realm=\"quipu\""));
	if (token_given)
		assert_non_null(strstr(www, "error=\"invalid_token\""));
	harness_resp_free(&r);
}

static void
test_bad_tokens(void **state)
{
	struct harness_auth	 a, other;
	struct json_object	*pl;
	char			 tok[4096], hdr[4200], body[1024], *p, *big;
	const char		*sig;

	(void)state;
	reg("token_victim", "pw-Victim-00001", &a);
	reg("token_other", "pw-Other-000001", &other);

	refused(NULL, NULL, "authentication required", false);
	refused("Authorization: Bearer garbage", NULL, "invalid access token",
	    true);
	refused("Authorization: Bearer not.a.jwt", NULL,
	    "invalid access token", true);
	refused("Authorization: Bearer", NULL, NULL, false);
	refused("Authorization: Basic xyz", NULL, NULL, false);
	refused("Cookie: quipu_access=garbage", NULL, "invalid access token",
	    true);

	/* alg none with the victim's genuine claims. */
	pl = jwt_part(a.access, 1);
	snprintf(body, sizeof(body), "%s",
	    json_object_to_json_string_ext(pl, JSON_C_TO_STRING_PLAIN));
	json_object_put(pl);
	forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", body, NULL, 0, tok,
	    sizeof(tok));
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
	refused(hdr, NULL, "invalid access token", true);
	/* "none" without the trailing dot, too. */
	tok[strlen(tok) - 1] = '\0';
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
	refused(hdr, NULL, "invalid access token", true);

	/* The victim's signature over another payload (sub = other). */
	pl = jwt_part(a.access, 1);
	json_object_object_add(pl, "sub",
	    json_object_new_string(other.user_id));
	snprintf(body, sizeof(body), "%s",
	    json_object_to_json_string_ext(pl, JSON_C_TO_STRING_PLAIN));
	json_object_put(pl);
	assert_non_null(sig = strrchr(a.access, '.'));
	p = strchr(a.access, '.');
	snprintf(tok, sizeof(tok), "%.*s.", (int)(p - a.access), a.access);
	b64url(body, strlen(body), tok + strlen(tok),
	    sizeof(tok) - strlen(tok));
	strncat(tok, sig, sizeof(tok) - strlen(tok) - 1);
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
	refused(hdr, NULL, "invalid access token", true);

	/* One character of the signature changed. */
	snprintf(tok, sizeof(tok), "%s", a.access);
	p = strrchr(tok, '.') + 5;
	*p = *p == 'A' ? 'B' : 'A';
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
	refused(hdr, NULL, "invalid access token", true);

	/* 2000 characters: refused unread. */
	big = harness_rep("A", 2000);
	memcpy(big, "eyJ", 3);
	big[600] = '.';
	big[1400] = '.';
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", big);
	free(big);
	refused(hdr, NULL, "invalid access token", true);

	/* A bad header wins over a valid cookie. */
	refused("Authorization: Bearer garbage", a.cookie,
	    "invalid access token", true);
	refused("Authorization: Basic xyz", a.cookie, NULL, false);

	/* The genuine ones still work, both ways. */
	assert_int_equal(get_status(P_WHOAMI, a.auth_header), 200);
	assert_int_equal(get_status(P_WHOAMI, a.cookie), 200);
}

/*
 * An "Authorization: Bearer" line with a token for `a' (session `sid')
 * issued at `iat', expiring at `exp', header `hdr', signed with `key'.
 */
static void
forged(const char *hdr, long long iat, long long exp,
    const unsigned char *key, size_t klen, const struct harness_auth *a,
    const char *sid, char *line, size_t sz)
{
	char	 pl[512], tok[2048];

	snprintf(pl, sizeof(pl), "{\"sub\":\"%s\",\"sid\":\"%s\","
	    "\"iat\":%lld,\"exp\":%lld}", a->user_id, sid, iat, exp);
	forge(hdr, pl, key, klen, tok, sizeof(tok));
	snprintf(line, sz, "Authorization: Bearer %s", tok);
}

/*
 * Tokens signed with the real key (which the test can read): the key id
 * derivation, exp and its leeway, and alg and kid checked although the
 * signature is right.
 */
static void
test_forged_tokens(void **state)
{
	struct harness_auth	 a;
	struct json_object	*hj;
	unsigned char		 key[512], wrong[64];
	char			 path[HARNESS_PATH + 16], kid[16], hdr[256];
	char			 line[2100], sid[64];
	size_t			 klen;
	long long		 now;

	(void)state;
	reg("forge_target", "pw-Forge-000001", &a);
	whoami(&a, sid, sizeof(sid));
	snprintf(path, sizeof(path), "%s/jwt.key", H.dir);
	klen = read_key(path, key, sizeof(key));
	kid_of(key, klen, kid, sizeof(kid));
	hj = jwt_part(a.access, 0);
	assert_string_equal(json_object_get_string(
	    json_object_object_get(hj, "kid")), kid);
	json_object_put(hj);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"JWT\","
	    "\"kid\":\"%s\"}", kid);
	now = (long long)time(NULL);

	/* Our own valid token: the key is used as the doc says. */
	forged(hdr, now, now + 60, key, klen, &a, sid, line, sizeof(line));
	assert_int_equal(get_status(P_WHOAMI, line), 200);
	/* Expired a minute ago. */
	forged(hdr, now - 120, now - 60, key, klen, &a, sid, line,
	    sizeof(line));
	refused(line, NULL, "access token expired", true);
	/* Two seconds ago: within the 5 s leeway. */
	forged(hdr, now - 120, now - 2, key, klen, &a, sid, line,
	    sizeof(line));
	assert_int_equal(get_status(P_WHOAMI, line), 200);
	/* The right kid, another key. */
	randombytes_buf(wrong, sizeof(wrong));
	forged(hdr, now, now + 60, wrong, sizeof(wrong), &a, sid, line,
	    sizeof(line));
	refused(line, NULL, "invalid access token", true);
	/* The right signature, but an unknown kid, or alg not HS256. */
	forged("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"AAAAAAAA\"}",
	    now, now + 60, key, klen, &a, sid, line, sizeof(line));
	refused(line, NULL, "invalid access token", true);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS512\",\"typ\":\"JWT\","
	    "\"kid\":\"%s\"}", kid);
	forged(hdr, now, now + 60, key, klen, &a, sid, line, sizeof(line));
	refused(line, NULL, "invalid access token", true);
	sodium_memzero(key, sizeof(key));
}

/* ------------------------------------------------------------- CSRF */

/* POST whoami with these headers: the status (200 checks the user). */
static long
post_whoami(const char *h1, const char *h2, const char *h3,
    const char *user_id)
{
	struct harness_resp	 r;
	long			 st;

	req("POST", P_WHOAMI, "{}", h1, h2, h3, &r);
	st = r.status;
	if (st == 200)
		assert_string_equal(harness_resp_str(&r, "user_id"), user_id);
	else if (st == 403)
		assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	return st;
}

static void
test_csrf(void **state)
{
	struct harness_auth	 a;
	const char		*id;
	struct harness_resp	 r;

	(void)state;
	reg("csrf_user", "pw-Csrf-0000001", &a);
	id = a.user_id;
	assert_int_equal(post_whoami(a.cookie, NULL, NULL, id), 403);
	assert_int_equal(post_whoami(a.cookie, ORIGIN_EVIL, NULL, id), 403);
	assert_int_equal(post_whoami(a.cookie, "Origin: null", NULL, id), 403);
	assert_int_equal(post_whoami(a.cookie, "Origin: https://app.example",
	    NULL, id), 403);
	assert_int_equal(post_whoami(a.cookie, ORIGIN_OK, NULL, id), 200);
	assert_int_equal(post_whoami(a.cookie,
	    "Referer: http://app.example/some/page?x=1", NULL, id), 200);
	assert_int_equal(post_whoami(a.cookie,
	    "Referer: http://evil.example/", NULL, id), 403);
	assert_int_equal(post_whoami(a.cookie,
	    "Referer: http://app.example.evil.example/", NULL, id), 403);
	/* Origin, when there, decides: a good Referer does not save it. */
	assert_int_equal(post_whoami(a.cookie, ORIGIN_EVIL,
	    "Referer: http://app.example/", id), 403);
	/* A bearer token needs no Origin, whatever the Origin. */
	assert_int_equal(post_whoami(a.auth_header, NULL, NULL, id), 200);
	assert_int_equal(post_whoami(a.auth_header, ORIGIN_EVIL, NULL, id),
	    200);
	/* Safe methods need none either. */
	req("GET", P_WHOAMI, NULL, a.cookie, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_str(&r, "user_id"), id);
	harness_resp_free(&r);

	/* A forged write through the cookie is refused and changes nothing. */
	{
		char	 name[128];

		req("PATCH", P_ME, "{\"display_name\":\"pwned\"}", a.cookie,
		    ORIGIN_EVIL, NULL, &r);
		assert_int_equal(r.status, 403);
		assert_true(harness_is_envelope(&r, "forbidden"));
		harness_resp_free(&r);
		req("PATCH", P_ME, "{\"display_name\":\"pwned\"}", a.cookie,
		    NULL, NULL, &r);
		assert_int_equal(r.status, 403);
		harness_resp_free(&r);
		db_display_name(id, name, sizeof(name));
		assert_string_equal(name, "");
		/* The same write from the app's own origin goes through. */
		req("PATCH", P_ME, "{\"display_name\":\"Csrf\"}", a.cookie,
		    ORIGIN_OK, NULL, &r);
		assert_int_equal(r.status, 200);
		harness_resp_free(&r);
		db_display_name(id, name, sizeof(name));
		assert_string_equal(name, "Csrf");
		/* Logout through the cookie obeys the same rule. */
		req("POST", P_LOGOUT, NULL, a.cookie, ORIGIN_EVIL, NULL, &r);
		assert_int_equal(r.status, 403);
		harness_resp_free(&r);
		assert_int_equal(live_sessions(id), 1);
	}
}

/* ------------------------------------------------------------- CORS */

static bool
hdr_has(const struct harness_resp *r, const char *name, const char *word)
{
	const char	*v = harness_resp_header(r, name);

	if (v == NULL || strcasestr(v, word) == NULL) {
		fprintf(stderr, "%s: %s lacks %s\n", name, v ? v : "(none)",
		    word);
		return false;
	}
	return true;
}

static void
test_cors(void **state)
{
	const char *const	 pre_ok[] = { ORIGIN_OK,
				    "Access-Control-Request-Method: POST",
				    "Access-Control-Request-Headers: "
				    "authorization, content-type", NULL };
	const char *const	 pre_evil[] = { ORIGIN_EVIL,
				    "Access-Control-Request-Method: POST",
				    NULL };
	struct harness_resp	 r;
	struct harness_auth	 a;
	char			*b;

	(void)state;
	reg("cors_user", "pw-Cors-0000001", &a);

	assert_int_equal(harness_request(&H, "OPTIONS", P_WHOAMI, pre_ok,
	    NULL, 0, &r), 0);
	assert_int_equal(r.status, 204);
	assert_string_equal(harness_resp_header(&r,
	    "Access-Control-Allow-Origin"), HARNESS_ORIGIN);
	assert_string_equal(harness_resp_header(&r,
	    "Access-Control-Allow-Credentials"), "true");
	assert_true(hdr_has(&r, "Access-Control-Allow-Methods", "GET"));
	assert_true(hdr_has(&r, "Access-Control-Allow-Methods", "POST"));
	assert_true(hdr_has(&r, "Access-Control-Allow-Headers",
	    "Authorization"));
	assert_true(hdr_has(&r, "Access-Control-Allow-Headers",
	    "Content-Type"));
	assert_true(hdr_has(&r, "Access-Control-Allow-Headers",
	    "X-Request-Id"));
	assert_true(hdr_has(&r, "Access-Control-Allow-Headers",
	    "Last-Event-ID"));
	assert_string_equal(harness_resp_header(&r, "Access-Control-Max-Age"),
	    "600");
	assert_true(hdr_has(&r, "Vary", "Origin"));
	harness_resp_free(&r);

	assert_int_equal(harness_request(&H, "OPTIONS", P_LOGIN, pre_ok,
	    NULL, 0, &r), 0);
	assert_int_equal(r.status, 204);
	assert_true(hdr_has(&r, "Access-Control-Allow-Methods", "POST"));
	assert_string_equal(harness_resp_header(&r,
	    "Access-Control-Allow-Origin"), HARNESS_ORIGIN);
	harness_resp_free(&r);

	assert_int_equal(harness_request(&H, "OPTIONS", P_WHOAMI, pre_evil,
	    NULL, 0, &r), 0);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	assert_null(harness_resp_header(&r, "Access-Control-Allow-Origin"));
	assert_null(harness_resp_header(&r,
	    "Access-Control-Allow-Credentials"));
	harness_resp_free(&r);

	/* A plain OPTIONS: the path's methods. */
	assert_int_equal(harness_request(&H, "OPTIONS", P_WHOAMI, NULL, NULL,
	    0, &r), 0);
	assert_int_equal(r.status, 204);
	assert_true(hdr_has(&r, "Allow", "GET"));
	assert_true(hdr_has(&r, "Allow", "POST"));
	assert_null(harness_resp_header(&r, "Access-Control-Allow-Origin"));
	harness_resp_free(&r);

	/* Actual requests: allowed origin, on success and on error. */
	req("GET", P_WHOAMI, NULL, a.auth_header, ORIGIN_OK, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_header(&r,
	    "Access-Control-Allow-Origin"), HARNESS_ORIGIN);
	assert_string_equal(harness_resp_header(&r,
	    "Access-Control-Allow-Credentials"), "true");
	assert_true(hdr_has(&r, "Access-Control-Expose-Headers",
	    "X-Request-Id"));
	assert_true(hdr_has(&r, "Access-Control-Expose-Headers",
	    "Retry-After"));
	assert_true(hdr_has(&r, "Access-Control-Expose-Headers", "Location"));
	assert_true(hdr_has(&r, "Vary", "Origin"));
	harness_resp_free(&r);
	req("GET", P_WHOAMI, NULL, ORIGIN_OK, NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_string_equal(harness_resp_header(&r,
	    "Access-Control-Allow-Origin"), HARNESS_ORIGIN);
	harness_resp_free(&r);

	/* Another origin: served (bearer), but no CORS headers at all. */
	req("GET", P_WHOAMI, NULL, a.auth_header, ORIGIN_EVIL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_null(harness_resp_header(&r, "Access-Control-Allow-Origin"));
	assert_null(harness_resp_header(&r,
	    "Access-Control-Allow-Credentials"));
	assert_null(harness_resp_header(&r, "Access-Control-Expose-Headers"));
	harness_resp_free(&r);

	/* A login from the allowed origin: readable, with its cookies. */
	b = jobj("username", "cors_user", "password", "pw-Cors-0000001",
	    NULL);
	req("POST", P_LOGIN, b, ORIGIN_OK, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_header(&r,
	    "Access-Control-Allow-Origin"), HARNESS_ORIGIN);
	check_cookies(&r, false);
	assert_int_equal(harness_auth_from_resp(&r, &a), 0);
	keep_auth(&a);
	harness_resp_free(&r);
}

/* ------------------------------------------------------------- /api/{id} */

static void
test_compat_path(void **state)
{
	struct harness_auth	 a, b;
	char			 path[256], up[64];
	struct harness_resp	 r;
	size_t			 i;

	(void)state;
	reg("compat_a", "pw-CompatA-0001", &a);
	reg("compat_b", "pw-CompatB-0001", &b);
	snprintf(path, sizeof(path), "/api/%s/_test/whoami", a.user_id);
	req("GET", path, NULL, a.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_str(&r, "user_id"), a.user_id);
	harness_resp_free(&r);
	assert_int_equal(post_whoami(a.auth_header, NULL, NULL, a.user_id),
	    200);

	for (i = 0; a.user_id[i] != '\0' && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)a.user_id[i]);
	up[i] = '\0';
	assert_string_not_equal(up, a.user_id);
	snprintf(path, sizeof(path), "/api/%s/_test/whoami", up);
	req("GET", path, NULL, a.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_str(&r, "user_id"), a.user_id);
	harness_resp_free(&r);

	snprintf(path, sizeof(path), "/api/%s/_test/whoami", b.user_id);
	req("GET", path, NULL, a.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	req("POST", path, "{}", a.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	req("GET", "/api/garbage/_test/whoami", NULL, a.auth_header, NULL,
	    NULL, &r);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);

	snprintf(path, sizeof(path), "/api/%s/_test/whoami", a.user_id);
	assert_int_equal(get_status(path, NULL), 401);
}

/* ------------------------------------------------------------- restarts */

static void
test_secure_cookies(void **state)
{
	struct harness_resp	 r;
	char			*b;

	(void)state;
	assert_int_equal(harness_restart_quipu(&H,
	    CONF_EXTRA "\ncookie_secure = on"), 0);
	keep("pw-Secure-00001");
	b = jobj("username", "secure_user", "password", "pw-Secure-00001",
	    NULL);
	req("POST", P_REGISTER, b, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 201);
	check_cookies(&r, true);
	keep(harness_resp_str(&r, "access_token"));
	keep(harness_resp_str(&r, "refresh_token"));
	harness_resp_free(&r);
	req("POST", P_LOGIN, b, NULL, NULL, NULL, &r);
	free(b);
	assert_int_equal(r.status, 200);
	check_cookies(&r, true);
	keep(harness_resp_str(&r, "access_token"));
	keep(harness_resp_str(&r, "refresh_token"));
	harness_resp_free(&r);
	assert_int_equal(harness_restart_quipu(&H, CONF_EXTRA), 0);
}

static void
test_key_rotation(void **state)
{
	struct harness_auth	 a, b, c;
	struct json_object	*ha, *hb, *hc;
	char			 oldkey[HARNESS_PATH + 16], newkey[HARNESS_PATH];
	char			 extra[1024];

	(void)state;
	reg("rotator", "pw-Rotator-0001", &a);
	snprintf(oldkey, sizeof(oldkey), "%s/jwt.key", H.dir);
	assert_int_equal(harness_write_key(&H, "jwt-new.key", newkey,
	    sizeof(newkey)), 0);

	/* New key, old one kept as previous: old tokens still verify. */
	snprintf(extra, sizeof(extra), "%s\njwt_secret_file = %s\n"
	    "jwt_previous_secret_file = %s", CONF_EXTRA, newkey, oldkey);
	assert_int_equal(harness_restart_quipu(&H, extra), 0);
	assert_int_equal(get_status(P_WHOAMI, a.auth_header), 200);
	assert_int_equal(get_status(P_ME, a.auth_header), 200);
	login("rotator", "pw-Rotator-0001", &b);
	assert_int_equal(get_status(P_WHOAMI, b.auth_header), 200);
	ha = jwt_part(a.access, 0);
	hb = jwt_part(b.access, 0);
	assert_string_not_equal(json_object_get_string(
	    json_object_object_get(ha, "kid")),
	    json_object_get_string(json_object_object_get(hb, "kid")));
	/* A refresh across the rotation is signed with the new key. */
	assert_int_equal(refresh_body(a.refresh, &c), 200);
	hc = jwt_part(c.access, 0);
	assert_string_equal(json_object_get_string(
	    json_object_object_get(hb, "kid")),
	    json_object_get_string(json_object_object_get(hc, "kid")));
	json_object_put(ha);
	json_object_put(hb);
	json_object_put(hc);

	/* The previous key retired: its tokens are refused. */
	snprintf(extra, sizeof(extra), "%s\njwt_secret_file = %s", CONF_EXTRA,
	    newkey);
	assert_int_equal(harness_restart_quipu(&H, extra), 0);
	refused(a.auth_header, NULL, "invalid access token", true);
	assert_int_equal(get_status(P_WHOAMI, b.auth_header), 200);
	assert_int_equal(get_status(P_WHOAMI, c.auth_header), 200);
}

/* ------------------------------------------------------------- hashes */

static void
test_hash_upgrade(void **state)
{
	const char		*pw = "pw-WeakHash-001";
	char			 weak[crypto_pwhash_STRBYTES], now[512], id[64];
	struct harness_auth	 a;

	(void)state;
	keep(pw);
	keep("pw-WeakHash-bad");
	assert_int_equal(crypto_pwhash_str_alg(weak, pw, strlen(pw),
	    crypto_pwhash_argon2id_OPSLIMIT_MIN,
	    crypto_pwhash_argon2id_MEMLIMIT_MIN,
	    crypto_pwhash_ALG_ARGON2ID13), 0);
	assert_int_not_equal(crypto_pwhash_str_needs_rehash(weak,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
	assert_int_equal(harness_sql(&H, "INSERT INTO users (id, username, "
	    "password_hash, created_at, updated_at) VALUES "
	    "(gen_random_uuid(), 'weak_hash', $1, now(), now()) RETURNING id",
	    (const char *[]){ weak }, 1, id, sizeof(id)), 1);

	/* A failed login upgrades nothing. */
	assert_int_equal(login_status("weak_hash", "pw-WeakHash-bad"), 401);
	stored_hash("weak_hash", now, sizeof(now));
	assert_string_equal(now, weak);

	login("Weak_Hash", pw, &a);
	assert_string_equal(a.user_id, id);
	stored_hash("weak_hash", now, sizeof(now));
	assert_string_not_equal(now, weak);
	assert_int_equal(strncmp(now, "$argon2id$", 10), 0);
	assert_int_equal(crypto_pwhash_str_needs_rehash(now,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
	assert_int_equal(crypto_pwhash_str_verify(now, pw, strlen(pw)), 0);
	login("weak_hash", pw, &a);
}

/* ------------------------------------------------------------- logs */

static void
test_no_secrets_in_logs(void **state)
{
	const char	*leaves[] = { "quipu.out", "migrate.out", "jwt.key",
			    "jwt-new.key", NULL };
	const char	*ngx[] = { "nginx-error.log", "nginx-access.log",
			    NULL };
	char		 paths[8][HARNESS_PATH + 32], *text[8];
	size_t		 nf = 0, i, j, bad = 0;
	char		*k;

	(void)state;
	/* The keys are secrets too. */
	for (i = 2; i < 4; i++) {
		snprintf(paths[0], sizeof(paths[0]), "%s/%s", H.dir,
		    leaves[i]);
		if ((k = harness_read_file(paths[0], NULL)) != NULL) {
			k[strcspn(k, " \n")] = '\0';
			keep(k);
			free(k);
		}
	}
	snprintf(paths[nf++], sizeof(paths[0]), "%s", H.error_log);
	snprintf(paths[nf++], sizeof(paths[0]), "%s", H.access_log);
	for (i = 0; i < 2; i++)
		snprintf(paths[nf++], sizeof(paths[0]), "%s/%s", H.dir,
		    leaves[i]);
	for (i = 0; ngx[i] != NULL; i++)
		snprintf(paths[nf++], sizeof(paths[0]), "%s/%s",
		    H.nginx_dir, ngx[i]);
	for (i = 0; i < nf; i++)
		text[i] = harness_read_file(paths[i], NULL);
	/* The check means something only if the logs saw the traffic. */
	assert_non_null(text[1]);
	assert_non_null(strstr(text[1], P_LOGIN));
	assert_non_null(text[5]);
	assert_non_null(strstr(text[5], P_REFRESH));
	assert_true(nsecrets > 50);
	for (i = 0; i < nf; i++) {
		for (j = 0; text[i] != NULL && j < nsecrets; j++) {
			if (secrets[j] == NULL ||
			    strstr(text[i], secrets[j]) == NULL)
				continue;
			/* Say where, never what. */
			fprintf(stderr, "secret #%zu (%zu chars) found in "
			    "%s\n", j, strlen(secrets[j]), paths[i]);
			bad++;
		}
		free(text[i]);
	}
	assert_int_equal(bad, 0);
}

static int
prepare(struct harness *h)
{
	(void)h;
	return sodium_init() < 0 ? -1 : 0;
}

/* The sid of an access token, from the whoami test route. */
static void
sid_of(const struct harness_auth *a, char *out, size_t sz)
{
	whoami(a, out, sz);
	assert_true(out[0] != '\0');
}

static void
test_sessions(void **state)
{
	struct harness_auth	 a1, a2, b;
	struct harness_resp	 r;
	struct json_object	*items, *it, *v;
	char			 sid1[64], sid2[64], sidb[64], path[160];
	size_t			 i, ncurrent = 0;

	(void)state;
	reg("sess_user", "pw-Sessions-001", &a1);
	login("sess_user", "pw-Sessions-001", &a2);
	reg("sess_other", "pw-Sessions-002", &b);
	sid_of(&a1, sid1, sizeof(sid1));
	sid_of(&a2, sid2, sizeof(sid2));
	sid_of(&b, sidb, sizeof(sidb));
	assert_string_not_equal(sid1, sid2);

	/* Both of the user's sessions, the caller's marked current. */
	req("GET", "/api/v1/auth/sessions", NULL, a1.auth_header, NULL, NULL,
	    &r);
	assert_int_equal(r.status, 200);
	assert_non_null(harness_resp_header(&r, "Cache-Control"));
	assert_true(json_object_object_get_ex(harness_resp_json(&r), "items",
	    &items));
	assert_int_equal(json_object_array_length(items), 2);
	for (i = 0; i < 2; i++) {
		it = json_object_array_get_idx(items, i);
		assert_true(json_object_object_get_ex(it, "id", &v));
		assert_true(strcmp(json_object_get_string(v), sid1) == 0 ||
		    strcmp(json_object_get_string(v), sid2) == 0);
		assert_true(json_object_object_get_ex(it, "created_at", &v));
		assert_true(is_time(json_object_get_string(v)));
		assert_true(json_object_object_get_ex(it, "last_used_at", &v));
		assert_true(json_object_object_get_ex(it, "remote_addr", &v));
		assert_true(json_object_object_get_ex(it, "current", &v));
		if (json_object_get_boolean(v)) {
			ncurrent++;
			assert_true(json_object_object_get_ex(it, "id", &v));
			assert_string_equal(json_object_get_string(v), sid1);
		}
	}
	assert_int_equal(ncurrent, 1);
	/* No token hash, no other user's session. */
	assert_null(strstr(r.body, "token"));
	assert_null(strstr(r.body, sidb));
	harness_resp_free(&r);

	/* Another user's session, a made-up one and garbage: 404, no change. */
	snprintf(path, sizeof(path), "/api/v1/auth/sessions/%s", sidb);
	req("DELETE", path, NULL, a1.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	assert_true(harness_is_envelope(&r, "not_found"));
	harness_resp_free(&r);
	assert_int_equal(live_sessions(b.user_id), 1);
	req("DELETE", "/api/v1/auth/sessions/00000000-0000-0000-0000-"
	    "000000000000", NULL, a1.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	harness_resp_free(&r);
	req("DELETE", "/api/v1/auth/sessions/not-a-uuid'--", NULL,
	    a1.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	assert_true(harness_is_envelope(&r, "not_found"));
	harness_resp_free(&r);
	/* Without credentials: 401. */
	req("DELETE", path, NULL, NULL, NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	harness_resp_free(&r);

	/* Signing the other session out: its refresh token dies. */
	snprintf(path, sizeof(path), "/api/v1/auth/sessions/%s", sid2);
	req("DELETE", path, NULL, a1.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 204);
	harness_resp_free(&r);
	assert_int_equal(refresh_body(a2.refresh, NULL), 401);
	assert_int_equal(live_sessions(a1.user_id), 1);
	req("DELETE", path, NULL, a1.auth_header, NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	harness_resp_free(&r);
	/* The caller's own session goes on. */
	assert_int_equal(get_status(P_ME, a1.auth_header), 200);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_register_validation),
		cmocka_unit_test(test_register_limits),
		cmocka_unit_test(test_register_duplicate),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_me),
		cmocka_unit_test(test_patch_display_name),
		cmocka_unit_test(test_patch_password),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_refresh_expired),
		cmocka_unit_test(test_refresh_race),
		cmocka_unit_test(test_logout),
		cmocka_unit_test(test_logout_anonymous),
		cmocka_unit_test(test_bad_tokens),
		cmocka_unit_test(test_forged_tokens),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_cors),
		cmocka_unit_test(test_compat_path),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_secure_cookies),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_hash_upgrade),
		cmocka_unit_test(test_no_secrets_in_logs),
	};
	static const struct harness_group group = {
		"test_auth", CONF_EXTRA, true, prepare, NULL
	};
	int	 rc;
	size_t	 i;

	rc = harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
	for (i = 0; i < nsecrets; i++) {
		sodium_memzero(secrets[i], strlen(secrets[i]));
		free(secrets[i]);
	}
	return rc;
}
