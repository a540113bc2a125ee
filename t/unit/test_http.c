/*
 * test_http.c: the transport-neutral request/response and, end to end,
 * app_handle() with default configuration and no database.
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

#include "app.h"
#include "auth.h"
#include "conf.h"
#include "cors.h"
#include "log.h"
#include "util.h"
#include "appfix.h"

/* ------------------------------------------------------------ request */

static void
test_header_get(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/");
	treq_header(&t, "Content-Type", "application/json");
	treq_header(&t, "X-Request-Id", "abc");
	assert_string_equal(http_header_get(&t.req, "content-type"),
	    "application/json");
	assert_string_equal(http_header_get(&t.req, "Content-Type"),
	    "application/json");
	assert_string_equal(http_header_get(&t.req, "X-REQUEST-ID"), "abc");
	assert_null(http_header_get(&t.req, "accept"));
	assert_null(http_header_get(&t.req, "content"));
	treq_free(&t);
}

static void
test_query(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/x?a=1&b=hello%20world&c=x+y&flag&e=&a=2"
	    "&u=%C3%A9&slash=a%2fb&ab=9");
	assert_string_equal(http_query_get(&t.req, "a"), "1");
	assert_string_equal(http_query_get(&t.req, "b"), "hello world");
	assert_string_equal(http_query_get(&t.req, "c"), "x y");
	assert_string_equal(http_query_get(&t.req, "flag"), "");
	assert_string_equal(http_query_get(&t.req, "e"), "");
	assert_string_equal(http_query_get(&t.req, "u"), "\xc3\xa9");
	assert_string_equal(http_query_get(&t.req, "slash"), "a/b");
	assert_string_equal(http_query_get(&t.req, "ab"), "9");
	assert_null(http_query_get(&t.req, "missing"));
	assert_null(http_query_get(&t.req, "fla"));
	assert_null(http_query_get(&t.req, ""));
	treq_free(&t);

	treq_init(&t, "GET", "/x");
	assert_null(http_query_get(&t.req, "a"));
	treq_free(&t);
}

static void
test_query_bad_escapes(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/x?bad=%zz&short=%4&end=%&nul=%00&nul2=a%00b"
	    "&ok=%41");
	assert_null(http_query_get(&t.req, "bad"));
	assert_null(http_query_get(&t.req, "short"));
	assert_null(http_query_get(&t.req, "end"));
	assert_null(http_query_get(&t.req, "nul"));
	assert_null(http_query_get(&t.req, "nul2"));
	assert_string_equal(http_query_get(&t.req, "ok"), "A");
	treq_free(&t);
}

/* http_query_param tells a bad value from an absent one. */
static void
test_query_param(void **state)
{
	struct treq	 t;
	const char	*v;

	treq_init(&t, "GET", "/x?bad=%zz&nul=%00&ok=%41&flag&ok=B");
	v = "x";
	assert_int_equal(http_query_param(&t.req, "missing", &v), APP_OK);
	assert_null(v);
	assert_int_equal(http_query_param(&t.req, "bad", &v), APP_EINVAL);
	assert_null(v);
	assert_int_equal(http_query_param(&t.req, "nul", &v), APP_EINVAL);
	assert_int_equal(http_query_param(&t.req, "ok", &v), APP_OK);
	assert_string_equal(v, "A");
	assert_int_equal(http_query_param(&t.req, "flag", &v), APP_OK);
	assert_string_equal(v, "");
	treq_free(&t);
}

static void
test_urldecode(void **state)
{
	struct arena	*a = arena_create(256);

	assert_non_null(a);
	assert_string_equal(http_urldecode(a, "a%2Fb", 5), "a/b");
	assert_string_equal(http_urldecode(a, "%41%42c", 7), "ABc");
	/* Only `len' bytes are read. */
	assert_string_equal(http_urldecode(a, "abc%41", 3), "abc");
	assert_null(http_urldecode(a, "abc%41", 5));
	assert_string_equal(http_urldecode(a, "", 0), "");
	assert_null(http_urldecode(a, "%0", 2));
	assert_null(http_urldecode(a, "%g0", 3));
	assert_null(http_urldecode(a, "%00", 3));
	arena_destroy(a);
}

static bool
is_json(const char *ct)
{
	struct treq	 t;
	bool		 r;

	treq_init(&t, "POST", "/");
	if (ct != NULL)
		treq_header(&t, "Content-Type", ct);
	r = http_is_json(&t.req);
	treq_free(&t);
	return r;
}

static void
test_is_json(void **state)
{
	assert_true(is_json("application/json"));
	assert_true(is_json("application/json; charset=utf-8"));
	assert_true(is_json("application/json;charset=UTF-8"));
	assert_true(is_json("Application/JSON"));
	assert_false(is_json("application/jsonp"));
	assert_false(is_json("application/json-patch+json"));
	assert_false(is_json("text/plain"));
	assert_false(is_json("text/application/json"));
	assert_false(is_json(""));
	assert_false(is_json(NULL));
}

static bool
wants_sse(const char *accept)
{
	struct treq	 t;
	bool		 r;

	treq_init(&t, "GET", "/");
	if (accept != NULL)
		treq_header(&t, "Accept", accept);
	r = http_wants_sse(&t.req);
	treq_free(&t);
	return r;
}

static void
test_wants_sse(void **state)
{
	assert_true(wants_sse("text/event-stream"));
	assert_true(wants_sse("application/json, text/event-stream;q=0.9"));
	assert_false(wants_sse("application/json"));
	assert_false(wants_sse("*/*"));
	assert_false(wants_sse(NULL));
}

/* ------------------------------------------------------------ response */

static void
test_send_json(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/");
	assert_int_equal(http_send_json_str(&t.resp, 201, "{\"a\":1}", 7),
	    APP_OK);
	assert_string_equal(t.out.data, "Status: 201 Created\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 7\r\n\r\n{\"a\":1}");
	assert_int_equal(t.resp.bytes, 7);
	treq_free(&t);
}

static void
test_send_json_obj(void **state)
{
	struct treq		 t;
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "url", json_object_new_string("a/b"));
	json_object_object_add(o, "t", json_object_new_string("caf\xc3\xa9"));
	treq_init(&t, "GET", "/");
	assert_int_equal(http_send_json(&t.resp, 200, o), APP_OK);
	assert_string_equal(treq_resp_body(&t),
	    "{\"url\":\"a/b\",\"t\":\"caf\xc3\xa9\"}");
	assert_string_equal(treq_resp_header(&t, "Content-Length"), "25");
	/* The caller keeps its reference. */
	json_object_put(o);
	treq_free(&t);
}

static void
check_envelope(struct treq *t, int status, const char *code,
    const char *message)
{
	struct json_object	*err, *v;
	char			 clen[32];

	assert_int_equal(treq_status(t), status);
	assert_string_equal(treq_resp_header(t, "Content-Type"),
	    "application/json");
	snprintf(clen, sizeof(clen), "%zu", strlen(treq_resp_body(t)));
	assert_string_equal(treq_resp_header(t, "Content-Length"), clen);
	assert_true(json_object_object_get_ex(treq_json(t), "error", &err));
	assert_int_equal(json_object_object_length(treq_json(t)), 1);
	assert_true(json_object_object_get_ex(err, "code", &v));
	assert_string_equal(json_object_get_string(v), code);
	assert_true(json_object_object_get_ex(err, "request_id", &v));
	assert_true(json_object_object_get_ex(err, "message", &v));
	if (message != NULL)
		assert_string_equal(json_object_get_string(v), message);
}

static void
test_send_error(void **state)
{
	struct treq		 t;
	struct json_object	*details, *err, *v;

	treq_init(&t, "GET", "/x");
	t.req.request_id = "rid-7";
	assert_int_equal(http_send_error(&t.resp, APP_ENOTFOUND, NULL,
	    "task %d not found", 42), APP_OK);
	assert_string_equal(treq_status_line(&t), "Status: 404 Not Found");
	check_envelope(&t, 404, "not_found", "task 42 not found");
	assert_string_equal(treq_error_field(&t, "request_id"), "rid-7");
	json_object_object_get_ex(treq_json(&t), "error", &err);
	assert_false(json_object_object_get_ex(err, "details", NULL));
	treq_free(&t);

	/* Default message; details are borrowed and included. */
	details = json_object_new_object();
	json_object_object_add(details, "title",
	    json_object_new_string("is required"));
	treq_init(&t, "POST", "/x");
	t.req.request_id = "rid-8";
	assert_int_equal(http_send_error(&t.resp, APP_EVALIDATION, details,
	    NULL), APP_OK);
	check_envelope(&t, 422, "validation_failed", "validation failed");
	json_object_object_get_ex(treq_json(&t), "error", &err);
	assert_true(json_object_object_get_ex(err, "details", &v));
	assert_true(json_object_object_get_ex(v, "title", &v));
	assert_string_equal(json_object_get_string(v), "is required");
	json_object_put(details);
	treq_free(&t);
}

static void
test_send_error_500_no_leak(void **state)
{
	static const enum app_err errs[] = { APP_EINTERNAL, APP_ENOMEM };
	struct treq		 t;
	struct json_object	*details, *err;
	size_t			 i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		details = json_object_new_object();
		json_object_object_add(details, "sql",
		    json_object_new_string("SELECT secret"));
		treq_init(&t, "GET", "/x");
		t.req.request_id = "rid-500";
		assert_int_equal(http_send_error(&t.resp, errs[i], details,
		    "db password %s wrong", "hunter2"), APP_OK);
		check_envelope(&t, 500, "internal", "internal error");
		assert_string_equal(treq_error_field(&t, "request_id"),
		    "rid-500");
		json_object_object_get_ex(treq_json(&t), "error", &err);
		assert_false(json_object_object_get_ex(err, "details", NULL));
		assert_null(strstr(t.out.data, "hunter2"));
		assert_null(strstr(t.out.data, "secret"));
		json_object_put(details);
		treq_free(&t);
	}
}

static void
test_status_lines(void **state)
{
	static const struct { enum app_err e; const char *line; } c[] = {
		{ APP_EINVAL, "Status: 400 Bad Request" },
		{ APP_EAUTH, "Status: 401 Unauthorized" },
		{ APP_EFORBIDDEN, "Status: 403 Forbidden" },
		{ APP_EMETHOD, "Status: 405 Method Not Allowed" },
		{ APP_ECONFLICT, "Status: 409 Conflict" },
		{ APP_ETOOBIG, "Status: 413 Content Too Large" },
		{ APP_EMEDIA, "Status: 415 Unsupported Media Type" },
		{ APP_EVALIDATION, "Status: 422 Unprocessable Content" },
		{ APP_ERATE, "Status: 429 Too Many Requests" },
		{ APP_EUPSTREAM, "Status: 502 Bad Gateway" },
		{ APP_EUNAVAIL, "Status: 503 Service Unavailable" },
	};
	struct treq	 t;
	size_t		 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		treq_init(&t, "GET", "/");
		assert_int_equal(http_send_error(&t.resp, c[i].e, NULL, NULL),
		    APP_OK);
		/* Reason phrases of RFC 9110 (413 and 422 were renamed). */
		if (strcmp(treq_status_line(&t), c[i].line) != 0 &&
		    !(c[i].e == APP_ETOOBIG && strcmp(treq_status_line(&t),
		    "Status: 413 Payload Too Large") == 0) &&
		    !(c[i].e == APP_EVALIDATION && strcmp(treq_status_line(&t),
		    "Status: 422 Unprocessable Entity") == 0))
			fail_msg("%s, want %s", treq_status_line(&t), c[i].line);
		treq_free(&t);
	}
}

static void
test_headers_once(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/");
	assert_int_equal(http_add_header(&t.resp, "X-One", "1"), APP_OK);
	assert_int_equal(http_write(&t.resp, "ab", 2), APP_OK);
	assert_int_equal(http_write(&t.resp, "cd", 2), APP_OK);
	assert_int_equal(http_flush(&t.resp), APP_OK);
	assert_int_equal(http_finish(&t.resp), APP_OK);
	assert_string_equal(t.out.data, "Status: 200 OK\r\nX-One: 1\r\n\r\nabcd");
	/* Too late for headers or an error page: refused, nothing written. */
	assert_int_not_equal(http_add_header(&t.resp, "X-Two", "2"), APP_OK);
	assert_int_not_equal(http_send_error(&t.resp, APP_EINTERNAL, NULL,
	    NULL), APP_OK);
	assert_string_equal(t.out.data, "Status: 200 OK\r\nX-One: 1\r\n\r\nabcd");
	assert_int_equal(treq_resp_header_count(&t, "Status"), 0);
	assert_int_equal(t.resp.bytes, 4);
	treq_free(&t);
}

static void
test_many_headers(void **state)
{
	struct treq	 t;
	char		 name[16];
	int		 i;

	treq_init(&t, "GET", "/");
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		assert_int_equal(http_add_header(&t.resp, name, "v"), APP_OK);
	}
	/* Adding never replaces. */
	assert_int_equal(http_add_header(&t.resp, "X-H0", "w"), APP_OK);
	assert_int_equal(http_finish(&t.resp), APP_OK);
	assert_string_equal(treq_resp_header(&t, "X-H39"), "v");
	assert_int_equal(treq_resp_header_count(&t, "X-H0"), 2);
	treq_free(&t);
}

static void
test_write_after_failure(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/");
	t.out.fail_after = 0;
	assert_int_equal(http_write(&t.resp, "ab", 2), APP_EHUP);
	assert_true(http_client_gone(&t.resp));
	t.out.fail_after = -1;		/* even if the peer came back */
	assert_int_equal(http_write(&t.resp, "cd", 2), APP_EHUP);
	assert_int_equal(http_flush(&t.resp), APP_EHUP);
	assert_int_equal(t.out.nwrites, 0);
	assert_int_equal(t.out.len, 0);
	assert_int_equal(t.resp.bytes, 0);
	treq_free(&t);

	/* Failing in the middle of a body. */
	treq_init(&t, "GET", "/");
	assert_int_equal(http_write(&t.resp, "ab", 2), APP_OK);
	t.out.fail_after = t.out.nwrites;
	assert_int_equal(http_write(&t.resp, "cd", 2), APP_EHUP);
	t.out.fail_after = -1;
	assert_int_equal(http_write(&t.resp, "ef", 2), APP_EHUP);
	assert_null(strstr(t.out.data, "ef"));
	treq_free(&t);

	/* The transport's disconnect probe. */
	treq_init(&t, "GET", "/");
	assert_false(http_client_gone(&t.resp));
	t.out.closed = true;
	assert_true(http_client_gone(&t.resp));
	treq_free(&t);
}

static void
test_head_no_body(void **state)
{
	struct treq	 t;

	treq_init(&t, "HEAD", "/");
	assert_int_equal(http_send_json_str(&t.resp, 200, "{\"a\":1}", 7),
	    APP_OK);
	assert_string_equal(treq_resp_header(&t, "Content-Length"), "7");
	assert_string_equal(treq_resp_body(&t), "");
	treq_free(&t);
}

static void
test_send_empty(void **state)
{
	struct treq	 t;

	treq_init(&t, "DELETE", "/x");
	assert_int_equal(http_send_empty(&t.resp, 204), APP_OK);
	assert_string_equal(t.out.data, "Status: 204 No Content\r\n\r\n");
	treq_free(&t);
}

/* ------------------------------------------------------------ app_handle */

static int
afix_setup(void **state)
{
	return afix_create(state, NULL);
}

static void
test_app_not_found(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/nope");
	handle(*state, &t);
	check_envelope(&t, 404, "not_found", NULL);
	assert_string_equal(treq_error_field(&t, "request_id"),
	    treq_resp_header(&t, "X-Request-Id"));
	assert_int_equal(treq_resp_header_count(&t, "X-Request-Id"), 1);
	assert_int_equal(t.req.route_index, -1);
	treq_free(&t);
}

static void
test_app_bad_method(void **state)
{
	struct treq	 t;

	treq_init(&t, "POST", "/healthz");
	handle(*state, &t);
	check_envelope(&t, 405, "method_not_allowed", NULL);
	assert_string_equal(treq_resp_header(&t, "Allow"), "GET, HEAD");
	treq_free(&t);
}

static void
test_app_healthz(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/healthz");
	handle(*state, &t);
	assert_int_equal(treq_status(&t), 200);
	assert_string_equal(treq_resp_header(&t, "Content-Type"),
	    "application/json");
	assert_non_null(treq_resp_header(&t, "X-Request-Id"));
	assert_string_equal(json_object_get_string(json_object_object_get(
	    treq_json(&t), "status")), "ok");
	assert_string_equal(t.req.route, "healthz");
	treq_free(&t);

	treq_init(&t, "HEAD", "/healthz");
	handle(*state, &t);
	assert_int_equal(treq_status(&t), 200);
	assert_string_equal(treq_resp_body(&t), "");
	treq_free(&t);
}

static const char *
rid_for(struct afix *f, const char *sent)
{
	static char	 got[128];
	struct treq	 t;

	treq_init(&t, "GET", "/healthz");
	if (sent != NULL)
		treq_header(&t, "X-Request-Id", sent);
	handle(f, &t);
	assert_int_equal(treq_status(&t), 200);
	snprintf(got, sizeof(got), "%s", treq_resp_header(&t, "X-Request-Id"));
	treq_free(&t);
	return got;
}

static bool
rid_plain(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 16 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

static void
test_app_request_id(void **state)
{
	struct afix	*f = *state;
	char		 longid[100], first[128];
	const char	*r;

	assert_string_equal(rid_for(f, "abc-123"), "abc-123");
	assert_string_equal(rid_for(f, "0f8fad5b-d9cb-469f-a165-70867728950e"),
	    "0f8fad5b-d9cb-469f-a165-70867728950e");
	/* Generated when absent, and different each time. */
	r = rid_for(f, NULL);
	assert_true(rid_plain(r));
	snprintf(first, sizeof(first), "%s", r);
	assert_string_not_equal(rid_for(f, NULL), first);
	/* Replaced when not sane. */
	memset(longid, 'a', 80);
	longid[80] = '\0';
	r = rid_for(f, longid);
	assert_string_not_equal(r, longid);
	assert_true(rid_plain(r));
	r = rid_for(f, "abc\x01" "def");
	assert_null(strchr(r, '\x01'));
	assert_true(rid_plain(r));
	r = rid_for(f, "abc\r\nSet-Cookie: x=1");
	assert_true(rid_plain(r));
	r = rid_for(f, "has space");
	assert_true(rid_plain(r));
	r = rid_for(f, "");
	assert_true(rid_plain(r));
	r = rid_for(f, "\"quoted\"");
	assert_true(rid_plain(r));
}

static void
test_app_too_large(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/healthz");
	t.req.body_too_large = true;
	handle(*state, &t);
	check_envelope(&t, 413, "payload_too_large", NULL);
	treq_free(&t);
}

static void
test_app_test_routes_hidden(void **state)
{
	struct treq	 t;

	/* test_routes is off by default: the test routes do not exist. */
	treq_init(&t, "GET", "/api/v1/_test/sleep?ms=1");
	handle(*state, &t);
	check_envelope(&t, 404, "not_found", NULL);
	treq_free(&t);
}

static void
test_app_media_type(void **state)
{
	struct afix	*f = *state;
	struct treq	 t;

	f->conf.test_routes = true;
	treq_init(&t, "POST", "/api/v1/_test/echo");
	treq_header(&t, "Content-Type", "text/plain");
	treq_body(&t, "{}");
	handle(f, &t);
	check_envelope(&t, 415, "unsupported_media_type", NULL);
	treq_free(&t);
	f->conf.test_routes = false;
}

static void
test_app_client_gone(void **state)
{
	struct treq	 t;

	/* Nothing can be written: app_handle copes and returns. */
	treq_init(&t, "GET", "/healthz");
	t.out.fail_after = 0;
	handle(*state, &t);
	assert_int_equal(t.out.len, 0);
	assert_true(t.resp.gone);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_get),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_query_bad_escapes),
		cmocka_unit_test(test_query_param),
		cmocka_unit_test(test_urldecode),
		cmocka_unit_test(test_is_json),
		cmocka_unit_test(test_wants_sse),
		cmocka_unit_test(test_send_json),
		cmocka_unit_test(test_send_json_obj),
		cmocka_unit_test(test_send_error),
		cmocka_unit_test(test_send_error_500_no_leak),
		cmocka_unit_test(test_status_lines),
		cmocka_unit_test(test_headers_once),
		cmocka_unit_test(test_many_headers),
		cmocka_unit_test(test_write_after_failure),
		cmocka_unit_test(test_head_no_body),
		cmocka_unit_test(test_send_empty),
		cmocka_unit_test_setup_teardown(test_app_not_found,
		    afix_setup, afix_teardown),
		cmocka_unit_test_setup_teardown(test_app_bad_method,
		    afix_setup, afix_teardown),
		cmocka_unit_test_setup_teardown(test_app_healthz,
		    afix_setup, afix_teardown),
		cmocka_unit_test_setup_teardown(test_app_request_id,
		    afix_setup, afix_teardown),
		cmocka_unit_test_setup_teardown(test_app_too_large,
		    afix_setup, afix_teardown),
		cmocka_unit_test_setup_teardown(test_app_test_routes_hidden,
		    afix_setup, afix_teardown),
		cmocka_unit_test_setup_teardown(test_app_media_type,
		    afix_setup, afix_teardown),
		cmocka_unit_test_setup_teardown(test_app_client_gone,
		    afix_setup, afix_teardown),
	};

	return cmocka_run_group_tests(tests, quiet, NULL);
}
