/*
 * test_errors.c: every error answer carries the JSON envelope and the
 * request id, whether quipu or nginx gives it: 404, 405, 415, 400, 413
 * (quipu's max_body and nginx's client_max_body_size), 502 with the pool
 * down, a missing static file, and test routes hidden when disabled.
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

static struct harness	 H;

#define CONF_EXTRA	"max_body = 1000"

/* Whether quipu's access log mentions `rid' (polls briefly). */
static bool
quipu_logged(const char *rid, int ms)
{
	uint64_t	 end = harness_now_ms() + (uint64_t)ms;
	char		*log;
	bool		 found;

	for (;;) {
		log = harness_read_file(H.access_log, NULL);
		found = log != NULL && strstr(log, rid) != NULL;
		free(log);
		if (found || harness_now_ms() >= end)
			return found;
		harness_sleep_ms(50);
	}
}

static void
test_not_found(void **state)
{
	struct harness_resp	 r;

	(void)state;
	assert_int_equal(harness_get(&H, "/api/v1/no/such/route", &r), 0);
	assert_int_equal(r.status, 404);
	assert_true(harness_is_envelope(&r, "not_found"));
	harness_resp_free(&r);
}

static void
test_method_not_allowed(void **state)
{
	struct harness_resp	 r;
	const char		*allow;

	(void)state;
	assert_int_equal(harness_request(&H, "POST", "/healthz", NULL, NULL, 0,
	    &r), 0);
	assert_int_equal(r.status, 405);
	assert_true(harness_is_envelope(&r, "method_not_allowed"));
	assert_non_null(allow = harness_resp_header(&r, "Allow"));
	assert_non_null(strstr(allow, "GET"));
	harness_resp_free(&r);
}

static void
test_echo_ok(void **state)
{
	const char		*hdrs[] = { "Content-Type: application/json",
				    NULL };
	const char		*body = "{\"a\":\"b\"}";
	struct harness_resp	 r;

	(void)state;
	/* The baseline: the 415 and 400 below are about the body alone. */
	assert_int_equal(harness_request(&H, "POST", "/api/v1/_test/echo",
	    hdrs, body, strlen(body), &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(harness_resp_str(&r, "echo.a"), "b");
	harness_resp_free(&r);
}

static void
test_unsupported_media(void **state)
{
	const char		*hdrs[] = { "Content-Type: text/plain", NULL };
	struct harness_resp	 r;

	(void)state;
	assert_int_equal(harness_request(&H, "POST", "/api/v1/_test/echo",
	    hdrs, "hello", 5, &r), 0);
	assert_int_equal(r.status, 415);
	assert_true(harness_is_envelope(&r, "unsupported_media_type"));
	harness_resp_free(&r);
}

static void
test_bad_json(void **state)
{
	const char		*hdrs[] = { "Content-Type: application/json",
				    NULL };
	struct harness_resp	 r;

	(void)state;
	assert_int_equal(harness_request(&H, "POST", "/api/v1/_test/echo",
	    hdrs, "{\"a\": tru", 9, &r), 0);
	assert_int_equal(r.status, 400);
	assert_true(harness_is_envelope(&r, "bad_request"));
	harness_resp_free(&r);
}

/* A JSON body of `len' bytes: {"pad":"xxxx..."}. */
static char *
big_json(size_t len)
{
	char	*b;

	if ((b = malloc(len + 1)) == NULL)
		return NULL;
	memset(b, 'x', len);
	memcpy(b, "{\"pad\":\"", 8);
	memcpy(b + len - 2, "\"}", 2);
	b[len] = '\0';
	return b;
}

static void
test_too_large_quipu(void **state)
{
	const char		*hdrs[] = { "Content-Type: application/json",
				    "X-Request-Id: h5-413-quipu", NULL };
	struct harness_resp	 r;
	char			*body;

	(void)state;
	/* Over max_body = 1000, far under nginx's 1m: quipu must answer. */
	assert_non_null(body = big_json(5000));
	assert_int_equal(harness_request(&H, "POST", "/api/v1/_test/echo",
	    hdrs, body, 5000, &r), 0);
	free(body);
	assert_int_equal(r.status, 413);
	assert_true(harness_is_envelope(&r, "payload_too_large"));
	assert_string_equal(harness_resp_str(&r, "error.request_id"),
	    "h5-413-quipu");
	harness_resp_free(&r);
	assert_true(quipu_logged("h5-413-quipu", 2000));
}

static void
test_too_large_nginx(void **state)
{
	const char		*hdrs[] = { "Content-Type: application/json",
				    "X-Request-Id: h5-413-nginx", NULL };
	size_t			 len = 1536 * 1024;
	struct harness_resp	 r;
	char			*body;

	(void)state;
	assert_non_null(body = big_json(len));
	assert_int_equal(harness_request(&H, "POST", "/api/v1/_test/echo",
	    hdrs, body, len, &r), 0);
	free(body);
	assert_int_equal(r.status, 413);
	assert_true(harness_is_envelope(&r, "payload_too_large"));
	assert_string_equal(harness_resp_str(&r, "error.request_id"),
	    "h5-413-nginx");
	harness_resp_free(&r);
	/* nginx refused it: quipu never saw the request. */
	assert_false(quipu_logged("h5-413-nginx", 300));
}

static void
test_static(void **state)
{
	struct harness_resp	 r;

	(void)state;
	assert_int_equal(harness_get(&H, "/", &r), 0);
	assert_int_equal(r.status, 200);
	harness_resp_free(&r);
	assert_int_equal(harness_get(&H, "/no-such-file.js", &r), 0);
	assert_int_equal(r.status, 404);
	assert_true(harness_is_envelope(&r, "not_found"));
	harness_resp_free(&r);
}

static void
test_test_routes_off(void **state)
{
	const char		*hdrs[] = { "Content-Type: application/json",
				    NULL };
	struct harness_resp	 r;

	(void)state;
	assert_int_equal(harness_restart_quipu(&H,
	    CONF_EXTRA "\ntest_routes = off"), 0);
	assert_int_equal(harness_get(&H, "/api/v1/_test/sleep?ms=1", &r), 0);
	assert_int_equal(r.status, 404);
	assert_true(harness_is_envelope(&r, "not_found"));
	harness_resp_free(&r);
	assert_int_equal(harness_get(&H, "/api/v1/_test/stream?n=1", &r), 0);
	assert_int_equal(r.status, 404);
	assert_true(harness_is_envelope(&r, "not_found"));
	harness_resp_free(&r);
	assert_int_equal(harness_request(&H, "POST", "/api/v1/_test/echo",
	    hdrs, "{}", 2, &r), 0);
	assert_int_equal(r.status, 404);
	assert_true(harness_is_envelope(&r, "not_found"));
	harness_resp_free(&r);
}

static void
test_pool_down(void **state)
{
	(void)state;
	assert_int_equal(harness_stop_quipu(&H, SIGTERM, 15000), 0);
	assert_true(harness_pool_gone(&H, "/api/v1/health"));
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_echo_ok),
		cmocka_unit_test(test_unsupported_media),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_too_large_quipu),
		cmocka_unit_test(test_too_large_nginx),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_test_routes_off),
		cmocka_unit_test(test_pool_down),
	};
	static const struct harness_group group = {
		"test_errors", CONF_EXTRA, false, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
