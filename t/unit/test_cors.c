/*
 * test_cors.c: the Cookie header reader, the allowed origins, the CORS
 * headers and preflights, the Origin check for cookie-authenticated
 * writes, and, through app_handle() with no database, OPTIONS and the
 * 401 answers of a protected route.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "conf.h"
#include "cors.h"
#include "jwt.h"
#include "log.h"
#include "util.h"
#include "appfix.h"

#define ORIGIN		"http://a.example"
#define ORIGINS		" \t" ORIGIN "  https://b.example:8443\t\t" \
			    "HTTP://C.Example "

/* ------------------------------------------------------------ cookies */

/* The cookie `name' of a request whose Cookie header is `hdr' (or none). */
static const char *
cookie(struct treq *t, const char *hdr, const char *name)
{
	treq_init(t, "GET", "/");
	if (hdr != NULL)
		treq_header(t, "Cookie", hdr);
	return http_cookie_get(&t->req, name);
}

static void
check_cookie(const char *hdr, const char *name, const char *want)
{
	struct treq	 t;
	const char	*got = cookie(&t, hdr, name);

	if (want == NULL && got != NULL)
		fail_msg("Cookie \"%s\": %s found, want none", hdr, name);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("Cookie \"%s\": %s wrong", hdr, name);
	treq_free(&t);
}

static void
test_cookie_get(void **state)
{
	check_cookie("quipu_access=xyz", "quipu_access", "xyz");
	check_cookie("a=1; quipu_access=xyz; b=2", "quipu_access", "xyz");
	check_cookie("a=1; quipu_access=xyz; b=2", "a", "1");
	check_cookie("a=1; quipu_access=xyz; b=2", "b", "2");
	check_cookie("a=1;quipu_access=xyz;b=2", "quipu_access", "xyz");
	check_cookie("a=1; quipu_access=xyz; b=2", "c", NULL);
}

static void
test_cookie_names(void **state)
{
	/* A longer name ending or starting with ours is not ours. */
	check_cookie("xquipu_access=1; quipu_access=2", "quipu_access", "2");
	check_cookie("quipu_access_old=1", "quipu_access", NULL);
	check_cookie("quipu_access_old=1; quipu_access=3", "quipu_access",
	    "3");
	check_cookie("quipu_acces=1", "quipu_access", NULL);
	/* Nor is the name found inside another cookie's value. */
	check_cookie("a=quipu_access=1", "quipu_access", NULL);
	/* Names are case-sensitive; a bare name has no value. */
	check_cookie("QUIPU_ACCESS=1", "quipu_access", NULL);
	check_cookie("quipu_access", "quipu_access", NULL);
	check_cookie("quipu_access; b=2", "quipu_access", NULL);
}

static void
test_cookie_values(void **state)
{
	struct treq	 t;

	/* No Cookie header, an empty one. */
	assert_null(cookie(&t, NULL, "quipu_access"));
	treq_free(&t);
	check_cookie("", "quipu_access", NULL);
	check_cookie(" ; ;", "quipu_access", NULL);
	/* Empty values. */
	check_cookie("quipu_access=", "quipu_access", "");
	check_cookie("quipu_access=; b=2", "quipu_access", "");
	check_cookie("quipu_access= ; b=2", "quipu_access", "");
	/* Blanks around ';' belong to neither cookie. */
	check_cookie("a=1 ;  quipu_access=xyz  ;\tb=2", "quipu_access",
	    "xyz");
	check_cookie("a=1 ;\t quipu_access=xyz\t", "quipu_access", "xyz");
	check_cookie("a=1 ; b=2 ", "b", "2");
	/* The first of duplicates wins. */
	check_cookie("quipu_access=first; quipu_access=second",
	    "quipu_access", "first");
	/* '=' inside a value (base64 padding) is the value's. */
	check_cookie("quipu_access=ab==; b=2", "quipu_access", "ab==");
	check_cookie("quipu_access=a=b=c", "quipu_access", "a=b=c");
	/* Returned as sent, not decoded. */
	check_cookie("quipu_access=a%20b", "quipu_access", "a%20b");
}

/* ------------------------------------------------------------ origins */

static int
cors_setup(void **state)
{
	struct cors	*c;

	if (cors_create(ORIGINS, &c) != APP_OK)
		return -1;
	*state = c;
	return 0;
}

static int
cors_teardown(void **state)
{
	cors_free(*state);
	return 0;
}

static void
test_allowed(void **state)
{
	const struct cors	*c = *state;

	assert_true(cors_allowed(c, ORIGIN));
	assert_true(cors_allowed(c, "https://b.example:8443"));
	assert_true(cors_allowed(c, "http://c.example"));
	/* Without regard to case. */
	assert_true(cors_allowed(c, "HTTP://A.EXAMPLE"));
	assert_true(cors_allowed(c, "http://A.Example"));
	/* Another port, scheme or host is another origin. */
	assert_false(cors_allowed(c, "http://a.example:8080"));
	assert_false(cors_allowed(c, "http://a.example:80"));
	assert_false(cors_allowed(c, "https://a.example"));
	assert_false(cors_allowed(c, "http://a.example.evil"));
	assert_false(cors_allowed(c, "http://evil.a.example"));
	assert_false(cors_allowed(c, "http://a.exampl"));
	assert_false(cors_allowed(c, "http://a.example/"));
	assert_false(cors_allowed(c, "https://b.example"));
	assert_false(cors_allowed(c, "https://b.example:84430"));
	/* The list's separators are not origins. */
	assert_false(cors_allowed(c, ""));
	assert_false(cors_allowed(c, " "));
	assert_false(cors_allowed(c, "null"));
	assert_false(cors_allowed(c, NULL));
}

static void
test_allowed_empty(void **state)
{
	static const char *const lists[] = { "", " ", " \t \t" };
	struct cors	*c;
	size_t		 i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		assert_int_equal(cors_create(lists[i], &c), APP_OK);
		assert_non_null(c);
		assert_false(cors_allowed(c, ORIGIN));
		assert_false(cors_allowed(c, ""));
		assert_false(cors_allowed(c, NULL));
		cors_free(c);
	}
	cors_free(NULL);
}

static void
test_unsafe_method(void **state)
{
	assert_false(cors_unsafe_method("GET"));
	assert_false(cors_unsafe_method("HEAD"));
	assert_false(cors_unsafe_method("OPTIONS"));
	assert_true(cors_unsafe_method("POST"));
	assert_true(cors_unsafe_method("PUT"));
	assert_true(cors_unsafe_method("PATCH"));
	assert_true(cors_unsafe_method("DELETE"));
	assert_true(cors_unsafe_method("TRACE"));
	/* Methods are case-sensitive: "get" is not GET. */
	assert_true(cors_unsafe_method("get"));
}

/* ------------------------------------------------------------ forgery */

/*
 * cors_check_origin() on a `method' request with the Origin and Referer
 * given (NULL: absent). *why is checked against the result.
 */
static enum app_err
check_origin(const struct cors *c, const char *method, const char *origin,
    const char *referer)
{
	struct treq	 t;
	const char	*why = "unset";
	enum app_err	 e;

	treq_init(&t, method, "/api/v1/auth/me");
	if (origin != NULL)
		treq_header(&t, "Origin", origin);
	if (referer != NULL)
		treq_header(&t, "Referer", referer);
	e = cors_check_origin(c, &t.req, &why);
	if (e == APP_OK)
		assert_null(why);
	else {
		assert_int_equal(e, APP_EFORBIDDEN);
		assert_non_null(why);
		assert_non_null(strstr(why, "cross-site"));
	}
	treq_free(&t);
	return e;
}

static void
test_check_safe_methods(void **state)
{
	static const char *const safe[] = { "GET", "HEAD", "OPTIONS" };
	const struct cors	*c = *state;
	size_t			 i;

	/* Reads need no proof of origin, whatever the headers say. */
	for (i = 0; i < sizeof(safe) / sizeof(safe[0]); i++) {
		assert_int_equal(check_origin(c, safe[i], NULL, NULL), APP_OK);
		assert_int_equal(check_origin(c, safe[i], "http://evil",
		    "http://evil/"), APP_OK);
		assert_int_equal(check_origin(c, safe[i], "null", NULL),
		    APP_OK);
	}
}

static void
test_check_origin(void **state)
{
	static const char *const unsafe[] = { "POST", "PUT", "PATCH",
	    "DELETE" };
	const struct cors	*c = *state;
	size_t			 i;

	for (i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		assert_int_equal(check_origin(c, unsafe[i], ORIGIN, NULL),
		    APP_OK);
		assert_int_equal(check_origin(c, unsafe[i], "HTTP://A.example",
		    NULL), APP_OK);
		assert_int_equal(check_origin(c, unsafe[i],
		    "https://b.example:8443", NULL), APP_OK);
		assert_int_equal(check_origin(c, unsafe[i], "http://evil",
		    NULL), APP_EFORBIDDEN);
		/* Sandboxed frames and file: pages send "null". */
		assert_int_equal(check_origin(c, unsafe[i], "null", NULL),
		    APP_EFORBIDDEN);
		assert_int_equal(check_origin(c, unsafe[i], "", NULL),
		    APP_EFORBIDDEN);
		assert_int_equal(check_origin(c, unsafe[i], NULL, NULL),
		    APP_EFORBIDDEN);
	}
}

static void
test_check_referer(void **state)
{
	const struct cors	*c = *state;

	/* Without Origin, the origin part of Referer counts. */
	assert_int_equal(check_origin(c, "POST", NULL,
	    "http://a.example/page?x"), APP_OK);
	assert_int_equal(check_origin(c, "POST", NULL, "http://a.example"),
	    APP_OK);
	assert_int_equal(check_origin(c, "POST", NULL, "http://a.example?x"),
	    APP_OK);
	assert_int_equal(check_origin(c, "POST", NULL, "http://a.example#f"),
	    APP_OK);
	assert_int_equal(check_origin(c, "DELETE", NULL,
	    "https://b.example:8443/x/y"), APP_OK);
	assert_int_equal(check_origin(c, "POST", NULL, "HTTP://A.EXAMPLE/"),
	    APP_OK);
	/* Foreign, or only looking alike. */
	assert_int_equal(check_origin(c, "POST", NULL, "http://evil/page"),
	    APP_EFORBIDDEN);
	assert_int_equal(check_origin(c, "POST", NULL,
	    "http://a.example.evil/"), APP_EFORBIDDEN);
	assert_int_equal(check_origin(c, "POST", NULL,
	    "http://a.example:8080/"), APP_EFORBIDDEN);
	assert_int_equal(check_origin(c, "POST", NULL, "https://a.example/"),
	    APP_EFORBIDDEN);
	/*
	 * Userinfo: the origin prefix is "http://a.example@evil" (up to the
	 * first '/', '?' or '#'), which is not an allowed origin, so the
	 * request is refused even though the host is really "evil".
	 */
	assert_int_equal(check_origin(c, "POST", NULL,
	    "http://a.example@evil/"), APP_EFORBIDDEN);
	assert_int_equal(check_origin(c, "POST", NULL,
	    "http://evil@a.example/"), APP_EFORBIDDEN);
	/* Not a URL with a scheme. */
	assert_int_equal(check_origin(c, "POST", NULL, "a.example/page"),
	    APP_EFORBIDDEN);
	assert_int_equal(check_origin(c, "POST", NULL, "://a.example/"),
	    APP_EFORBIDDEN);
	assert_int_equal(check_origin(c, "POST", NULL, ""), APP_EFORBIDDEN);
	/* Origin wins over Referer, both ways. */
	assert_int_equal(check_origin(c, "POST", "http://evil",
	    "http://a.example/page"), APP_EFORBIDDEN);
	assert_int_equal(check_origin(c, "POST", "null",
	    "http://a.example/page"), APP_EFORBIDDEN);
	assert_int_equal(check_origin(c, "POST", ORIGIN, "http://evil/page"),
	    APP_OK);
}

/* ------------------------------------------------------------ headers */

static void
test_headers_allowed(void **state)
{
	const struct cors	*c = *state;
	struct treq		 t;

	treq_init(&t, "GET", "/api/v1/health");
	treq_header(&t, "Origin", "HTTP://A.Example");
	assert_int_equal(cors_headers(c, &t.req, &t.resp), APP_OK);
	assert_int_equal(http_send_empty(&t.resp, 204), APP_OK);
	assert_string_equal(treq_status_line(&t), "Status: 204 No Content");
	/* Echoed as the browser sent it: it compares exactly. */
	assert_string_equal(treq_resp_header(&t,
	    "Access-Control-Allow-Origin"), "HTTP://A.Example");
	assert_int_equal(treq_resp_header_count(&t,
	    "Access-Control-Allow-Origin"), 1);
	assert_string_equal(treq_resp_header(&t,
	    "Access-Control-Allow-Credentials"), "true");
	assert_non_null(strstr(treq_resp_header(&t,
	    "Access-Control-Expose-Headers"), "X-Request-Id"));
	assert_non_null(strstr(treq_resp_header(&t,
	    "Access-Control-Expose-Headers"), "Retry-After"));
	assert_string_equal(treq_resp_header(&t, "Vary"), "Origin");
	assert_int_equal(treq_resp_header_count(&t, "Vary"), 1);
	treq_free(&t);
}

static void
test_headers_foreign(void **state)
{
	static const char *const origins[] = { "http://evil",
	    "http://a.example:8080", "null", "" };
	const struct cors	*c = *state;
	struct treq		 t;
	size_t			 i;

	for (i = 0; i <= sizeof(origins) / sizeof(origins[0]); i++) {
		treq_init(&t, "GET", "/api/v1/health");
		/* The last round sends no Origin at all. */
		if (i < sizeof(origins) / sizeof(origins[0]))
			treq_header(&t, "Origin", origins[i]);
		assert_int_equal(cors_headers(c, &t.req, &t.resp), APP_OK);
		assert_int_equal(http_finish(&t.resp), APP_OK);
		assert_string_equal(t.out.data,
		    "Status: 200 OK\r\nVary: Origin\r\n\r\n");
		treq_free(&t);
	}
}

static void
test_headers_none_allowed(void **state)
{
	struct cors	*c;
	struct treq	 t;

	assert_int_equal(cors_create("", &c), APP_OK);
	treq_init(&t, "GET", "/api/v1/health");
	treq_header(&t, "Origin", ORIGIN);
	assert_int_equal(cors_headers(c, &t.req, &t.resp), APP_OK);
	assert_int_equal(http_finish(&t.resp), APP_OK);
	/* Not even Vary: without a list, no answer depends on Origin. */
	assert_string_equal(t.out.data, "Status: 200 OK\r\n\r\n");
	treq_free(&t);
	cors_free(c);
}

/* ------------------------------------------------------------ preflight */

/* An OPTIONS request; `want' is Access-Control-Request-Method or NULL. */
static void
options(struct treq *t, const char *origin, const char *want)
{
	treq_init(t, "OPTIONS", "/api/v1/things");
	t->req.request_id = "rid-options";
	if (origin != NULL)
		treq_header(t, "Origin", origin);
	if (want != NULL) {
		treq_header(t, "Access-Control-Request-Method", want);
		treq_header(t, "Access-Control-Request-Headers",
		    "authorization, content-type");
	}
}

static void
test_preflight_allowed(void **state)
{
	const struct cors	*c = *state;
	struct treq		 t;
	const char		*v;

	options(&t, ORIGIN, "PATCH");
	assert_int_equal(cors_options(c, &t.req, &t.resp, "GET, PATCH"),
	    APP_OK);
	assert_string_equal(treq_status_line(&t), "Status: 204 No Content");
	assert_string_equal(treq_resp_header(&t,
	    "Access-Control-Allow-Methods"), "GET, PATCH, OPTIONS");
	assert_non_null(v = treq_resp_header(&t,
	    "Access-Control-Allow-Headers"));
	assert_non_null(strstr(v, "Authorization"));
	assert_non_null(strstr(v, "Content-Type"));
	assert_non_null(v = treq_resp_header(&t, "Access-Control-Max-Age"));
	assert_true(atoi(v) > 0);
	/* A preflight is not an OPTIONS for the Allow list. */
	assert_null(treq_resp_header(&t, "Allow"));
	assert_string_equal(treq_resp_body(&t), "");
	treq_free(&t);
}

static void
test_preflight_foreign(void **state)
{
	static const char *const origins[] = { "http://evil",
	    "http://a.example.evil", "https://a.example", "null" };
	const struct cors	*c = *state;
	struct treq		 t;
	struct json_object	*err;
	size_t			 i;

	for (i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
		options(&t, origins[i], "POST");
		assert_int_equal(cors_options(c, &t.req, &t.resp,
		    "GET, POST"), APP_OK);
		assert_string_equal(treq_status_line(&t),
		    "Status: 403 Forbidden");
		assert_string_equal(treq_resp_header(&t, "Content-Type"),
		    "application/json");
		assert_true(json_object_object_get_ex(treq_json(&t), "error",
		    &err));
		assert_int_equal(json_object_object_length(treq_json(&t)), 1);
		assert_string_equal(treq_error_field(&t, "code"), "forbidden");
		assert_string_equal(treq_error_field(&t, "request_id"),
		    "rid-options");
		assert_non_null(treq_error_field(&t, "message"));
		assert_null(treq_resp_header(&t,
		    "Access-Control-Allow-Methods"));
		assert_null(treq_resp_header(&t,
		    "Access-Control-Allow-Origin"));
		treq_free(&t);
	}
}

static void
test_options_plain(void **state)
{
	const struct cors	*c = *state;
	struct treq		 t;

	/* No Origin, or an Origin without a method asked: plain OPTIONS. */
	options(&t, NULL, NULL);
	assert_int_equal(cors_options(c, &t.req, &t.resp, "GET, POST"),
	    APP_OK);
	assert_string_equal(t.out.data, "Status: 204 No Content\r\n"
	    "Allow: GET, POST, OPTIONS\r\n\r\n");
	treq_free(&t);

	options(&t, "http://evil", NULL);
	assert_int_equal(cors_options(c, &t.req, &t.resp, "GET"), APP_OK);
	assert_string_equal(treq_status_line(&t), "Status: 204 No Content");
	assert_string_equal(treq_resp_header(&t, "Allow"), "GET, OPTIONS");
	assert_null(treq_resp_header(&t, "Access-Control-Allow-Methods"));
	treq_free(&t);

	/* A method asked without Origin is no preflight either. */
	options(&t, NULL, "DELETE");
	assert_int_equal(cors_options(c, &t.req, &t.resp, "GET"), APP_OK);
	assert_string_equal(treq_status_line(&t), "Status: 204 No Content");
	assert_string_equal(treq_resp_header(&t, "Allow"), "GET, OPTIONS");
	treq_free(&t);
}

/* ------------------------------------------------------------ app_handle */

static int
afix_setup(void **state)
{
	return afix_create(state, ORIGIN);
}

/* The 401/403/404 envelope: status, code, and the request id it names. */
static void
check_envelope(struct treq *t, int status, const char *code)
{
	assert_int_equal(treq_status(t), status);
	assert_string_equal(treq_resp_header(t, "Content-Type"),
	    "application/json");
	assert_int_equal(json_object_object_length(treq_json(t)), 1);
	assert_string_equal(treq_error_field(t, "code"), code);
	assert_non_null(treq_error_field(t, "message"));
	assert_string_equal(treq_error_field(t, "request_id"),
	    treq_resp_header(t, "X-Request-Id"));
}

static void
test_app_preflight(void **state)
{
	struct treq	 t;

	treq_init(&t, "OPTIONS", "/healthz");
	treq_header(&t, "Origin", ORIGIN);
	treq_header(&t, "Access-Control-Request-Method", "GET");
	handle(*state, &t);
	assert_string_equal(treq_status_line(&t), "Status: 204 No Content");
	assert_string_equal(treq_resp_header(&t,
	    "Access-Control-Allow-Origin"), ORIGIN);
	assert_string_equal(treq_resp_header(&t,
	    "Access-Control-Allow-Credentials"), "true");
	assert_string_equal(treq_resp_header(&t,
	    "Access-Control-Allow-Methods"), "GET, HEAD, OPTIONS");
	assert_non_null(treq_resp_header(&t, "Access-Control-Max-Age"));
	assert_string_equal(treq_resp_header(&t, "Vary"), "Origin");
	assert_non_null(treq_resp_header(&t, "X-Request-Id"));
	/* Each header once, whoever added it. */
	assert_int_equal(treq_resp_header_count(&t,
	    "Access-Control-Allow-Origin"), 1);
	assert_int_equal(treq_resp_header_count(&t, "Vary"), 1);
	assert_string_equal(treq_resp_body(&t), "");
	treq_free(&t);

	/* From elsewhere: refused, and nothing that lets the browser on. */
	treq_init(&t, "OPTIONS", "/healthz");
	treq_header(&t, "Origin", "http://evil");
	treq_header(&t, "Access-Control-Request-Method", "GET");
	handle(*state, &t);
	check_envelope(&t, 403, "forbidden");
	assert_null(treq_resp_header(&t, "Access-Control-Allow-Origin"));
	assert_null(treq_resp_header(&t, "Access-Control-Allow-Methods"));
	assert_string_equal(treq_resp_header(&t, "Vary"), "Origin");
	treq_free(&t);

	/* Plain OPTIONS. */
	treq_init(&t, "OPTIONS", "/healthz");
	handle(*state, &t);
	assert_string_equal(treq_status_line(&t), "Status: 204 No Content");
	assert_string_equal(treq_resp_header(&t, "Allow"),
	    "GET, HEAD, OPTIONS");
	treq_free(&t);
}

static void
test_app_options_not_found(void **state)
{
	struct treq	 t;

	treq_init(&t, "OPTIONS", "/nope");
	treq_header(&t, "Origin", ORIGIN);
	treq_header(&t, "Access-Control-Request-Method", "GET");
	handle(*state, &t);
	check_envelope(&t, 404, "not_found");
	assert_null(treq_resp_header(&t, "Access-Control-Allow-Methods"));
	treq_free(&t);
}

static void
test_app_expose_headers(void **state)
{
	struct treq	 t;

	/* An ordinary answer to an allowed origin carries the CORS set. */
	treq_init(&t, "GET", "/healthz");
	treq_header(&t, "Origin", ORIGIN);
	handle(*state, &t);
	assert_int_equal(treq_status(&t), 200);
	assert_string_equal(treq_resp_header(&t,
	    "Access-Control-Allow-Origin"), ORIGIN);
	assert_non_null(treq_resp_header(&t,
	    "Access-Control-Expose-Headers"));
	treq_free(&t);
}

/*
 * GET /api/v1/auth/me with `authz' as Authorization and `cookie' as
 * Cookie (NULL: absent): must be refused with 401 before the handler
 * runs (there is no database). `invalid' tells whether a credential was
 * presented, which RFC 6750 answers with error="invalid_token".
 */
static void
check_unauth(struct afix *f, const char *method, const char *authz,
    const char *cookie, bool invalid)
{
	struct treq	 t;
	const char	*www;

	treq_init(&t, method, "/api/v1/auth/me");
	if (authz != NULL)
		treq_header(&t, "Authorization", authz);
	if (cookie != NULL)
		treq_header(&t, "Cookie", cookie);
	treq_header(&t, "Origin", ORIGIN);
	handle(f, &t);
	check_envelope(&t, 401, "unauthorized");
	assert_non_null(www = treq_resp_header(&t, "WWW-Authenticate"));
	assert_int_equal(strncmp(www, "Bearer realm=", 13), 0);
	if (invalid)
		assert_non_null(strstr(www, "error=\"invalid_token\""));
	else
		assert_null(strstr(www, "error="));
	assert_int_equal(treq_resp_header_count(&t, "WWW-Authenticate"), 1);
	assert_null(t.req.user_id);
	/* CORS headers still go out, so the page can read the 401. */
	assert_string_equal(treq_resp_header(&t,
	    "Access-Control-Allow-Origin"), ORIGIN);
	treq_free(&t);
}

static void
test_app_unauthenticated(void **state)
{
	struct afix	*f = *state;

	check_unauth(f, "GET", NULL, NULL, false);
	check_unauth(f, "PATCH", NULL, NULL, false);
	/* Other cookies, or an empty access cookie, are no credential. */
	check_unauth(f, "GET", NULL, "a=1; quipu_access_old=x", false);
	check_unauth(f, "GET", NULL, "quipu_access=", false);
	/* Another scheme, or a token that is not ours. */
	check_unauth(f, "GET", "Basic abc", NULL, true);
	check_unauth(f, "GET", "Bearer", NULL, true);
	check_unauth(f, "GET", "Bearer garbage.garbage.garbage", NULL, true);
	check_unauth(f, "GET", "Bearer not-a-jwt", NULL, true);
	check_unauth(f, "GET", NULL, "quipu_access=garbage", true);
	/* Authorization wins over a cookie. */
	check_unauth(f, "GET", "Basic abc", "quipu_access=garbage", true);
}

static void
test_app_cookie_cross_site(void **state)
{
	struct afix		*f = *state;
	struct jwt_keys		 keys;
	struct jwt_claims	 claims;
	struct treq		 t;
	char			 tok[JWT_MAX_LEN + 1], *hdr;
	int64_t			 now = (int64_t)time(NULL);

	/* A valid access token, as login would have set in the cookie. */
	memset(&keys, 0, sizeof(keys));
	memset(&claims, 0, sizeof(claims));
	assert_int_equal(jwt_key_set(&keys.current, TEST_JWT_KEY,
	    strlen(TEST_JWT_KEY)), 0);
	snprintf(claims.sub, sizeof(claims.sub), "%s",
	    "00000000-0000-0000-0000-000000000001");
	snprintf(claims.sid, sizeof(claims.sid), "%s",
	    "00000000-0000-0000-0000-000000000002");
	claims.iat = now;
	claims.exp = now + 300;
	assert_int_equal(jwt_sign(&keys.current, &claims, tok, sizeof(tok)),
	    APP_OK);
	jwt_key_clear(&keys.current);

	/*
	 * A cookie-authenticated write from a foreign origin is refused
	 * with 403 before the handler (and its database) is reached.
	 */
	treq_init(&t, "PATCH", "/api/v1/auth/me");
	assert_non_null(hdr = arena_printf(t.arena, "quipu_access=%s", tok));
	treq_header(&t, "Cookie", hdr);
	treq_header(&t, "Origin", "http://evil");
	treq_header(&t, "Referer", ORIGIN "/page");
	treq_header(&t, "Content-Type", "application/json");
	treq_body(&t, "{}");
	handle(f, &t);
	check_envelope(&t, 403, "forbidden");
	assert_non_null(strstr(treq_error_field(&t, "message"),
	    "cross-site"));
	assert_null(treq_resp_header(&t, "WWW-Authenticate"));
	assert_null(t.req.user_id);
	treq_free(&t);

	/* No Origin nor Referer: the same. */
	treq_init(&t, "PATCH", "/api/v1/auth/me");
	assert_non_null(hdr = arena_printf(t.arena, "quipu_access=%s", tok));
	treq_header(&t, "Cookie", hdr);
	handle(f, &t);
	check_envelope(&t, 403, "forbidden");
	treq_free(&t);
}

static int
quiet(void **state)
{
	/* Keep the access log and warnings out of the test output. */
	if (log_open("", "off") == -1)
		return -1;
	log_threshold = LOG_LEVEL_ERROR;
	return 0;
}

#define CORS_TEST(f)	cmocka_unit_test_setup_teardown(f, cors_setup, \
			    cors_teardown)
#define APP_TEST(f)	cmocka_unit_test_setup_teardown(f, afix_setup, \
			    afix_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cookie_get),
		cmocka_unit_test(test_cookie_names),
		cmocka_unit_test(test_cookie_values),
		CORS_TEST(test_allowed),
		cmocka_unit_test(test_allowed_empty),
		cmocka_unit_test(test_unsafe_method),
		CORS_TEST(test_check_safe_methods),
		CORS_TEST(test_check_origin),
		CORS_TEST(test_check_referer),
		CORS_TEST(test_headers_allowed),
		CORS_TEST(test_headers_foreign),
		cmocka_unit_test(test_headers_none_allowed),
		CORS_TEST(test_preflight_allowed),
		CORS_TEST(test_preflight_foreign),
		CORS_TEST(test_options_plain),
		APP_TEST(test_app_preflight),
		APP_TEST(test_app_options_not_found),
		APP_TEST(test_app_expose_headers),
		APP_TEST(test_app_unauthenticated),
		APP_TEST(test_app_cookie_cross_site),
	};

	return cmocka_run_group_tests(tests, quiet, NULL);
}
