/*
 * test_health.c: /healthz, /readyz, /api/v1/health, /metrics, request ids
 * and the access log, through nginx against a real PostgreSQL, including
 * readiness following the database down and up again.
 *
 * The stack starts WITHOUT --migrate: the first test sees /readyz 503,
 * migrates while quipu runs and sees it turn 200.
 */
#include "config.h"

#include <setjmp.h>
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
static bool		 pg_stopped;

static void
test_readyz_migrations(void **state)
{
	struct harness_resp	 r;
	const char		*msg;
	pid_t			 master = H.quipu;

	(void)state;
	assert_int_equal(harness_get(&H, "/readyz", &r), 0);
	assert_int_equal(r.status, 503);
	assert_true(harness_is_envelope(&r, "unavailable"));
	msg = harness_resp_str(&r, "error.message");
	assert_non_null(msg);
	assert_non_null(strstr(msg, "migration"));
	harness_resp_free(&r);

	/* Migrate beside the running server: it must notice by itself. */
	assert_int_equal(harness_migrate(&H), 0);
	assert_int_equal(harness_wait_status(&H, "/readyz", 200, 5000), 0);
	assert_int_equal(harness_get(&H, "/readyz", &r), 0);
	assert_int_equal(r.status, 200);
	harness_resp_free(&r);
	assert_int_equal(H.quipu, master);
	assert_true(harness_proc_alive(master));
}

static void
test_healthz(void **state)
{
	struct harness_resp	 r;
	const char		*ct;

	(void)state;
	assert_int_equal(harness_get(&H, "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	ct = harness_resp_header(&r, "Content-Type");
	assert_non_null(ct);
	assert_non_null(strstr(ct, "application/json"));
	assert_string_equal(harness_resp_str(&r, "status"), "ok");
	harness_resp_free(&r);
}

static void
test_api_health(void **state)
{
	struct harness_resp	 r;
	struct json_object	*j, *w, *v;
	const char		*t;

	(void)state;
	assert_int_equal(harness_get(&H, "/api/v1/health", &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(j = harness_resp_json(&r));
	assert_non_null(harness_resp_str(&r, "status"));
	assert_non_null(harness_resp_str(&r, "version"));
	assert_string_equal(harness_resp_str(&r, "database"), "ok");
	assert_true(json_object_object_get_ex(j, "llm", &v));
	assert_true(json_object_object_get_ex(j, "workers", &w));
	assert_true(json_object_object_get_ex(w, "busy", &v));
	assert_true(json_object_is_type(v, json_type_int));
	/* This very request keeps one acceptor busy. */
	assert_true(json_object_get_int(v) >= 1);
	assert_true(json_object_object_get_ex(w, "idle", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_true(json_object_get_int(v) >= 0);
	assert_non_null(t = harness_resp_str(&r, "time"));
	assert_true(strlen(t) >= 20);
	assert_int_equal(t[strlen(t) - 1], 'Z');
	assert_int_equal(t[4], '-');
	assert_int_equal(t[10], 'T');
	harness_resp_free(&r);
}

static void
test_metrics(void **state)
{
	struct harness_resp	 r;
	struct harness_counts	 c;
	const char		*ct;
	double			 before, after;

	(void)state;
	assert_int_equal(harness_get(&H, "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	ct = harness_resp_header(&r, "Content-Type");
	assert_non_null(ct);
	assert_non_null(strstr(ct, "text/plain"));
	assert_non_null(strstr(r.body, "# TYPE quipu_requests_total counter"));
	before = harness_metric(r.body,
	    "quipu_requests_total{route=\"healthz\",status=\"200\"}");
	harness_resp_free(&r);

	/* Ten more probes must show up in the counter (summed over workers). */
	assert_int_equal(harness_load_n(&H, "/healthz", 2, 10, &c), 0);
	assert_int_equal(c.ok, 10);
	assert_int_equal(harness_get(&H, "/metrics", &r), 0);
	after = harness_metric(r.body,
	    "quipu_requests_total{route=\"healthz\",status=\"200\"}");
	if (after < before + 10)
		fprintf(stderr, "metrics: before %g after %g\n%s\n", before,
		    after, r.body);
	assert_true(after >= before + 10);
	harness_resp_free(&r);
}

static void
test_request_id(void **state)
{
	struct harness_resp	 r;
	const char		*good[] = { "X-Request-Id: h5-rid.Echo_42", NULL };
	const char		*bad[] = { "X-Request-Id: bad id\"{}", NULL };
	const char		*paths[] = { "/healthz", "/readyz",
				    "/api/v1/health", "/metrics", "/nope",
				    "/api/v1/nope", NULL };
	const char		*rid;
	size_t			 i;

	(void)state;
	for (i = 0; paths[i] != NULL; i++) {
		assert_int_equal(harness_get(&H, paths[i], &r), 0);
		rid = harness_resp_header(&r, "X-Request-Id");
		if (rid == NULL)
			fprintf(stderr, "no X-Request-Id on %s\n", paths[i]);
		assert_non_null(rid);
		assert_true(strlen(rid) >= 8);
		harness_resp_free(&r);
	}
	assert_int_equal(harness_request(&H, "GET", "/healthz", good, NULL, 0,
	    &r), 0);
	assert_string_equal(harness_resp_header(&r, "X-Request-Id"),
	    "h5-rid.Echo_42");
	harness_resp_free(&r);
	/* An id unfit for logs and JSON is replaced, never echoed. */
	assert_int_equal(harness_request(&H, "GET", "/healthz", bad, NULL, 0,
	    &r), 0);
	assert_non_null(rid = harness_resp_header(&r, "X-Request-Id"));
	assert_null(strchr(rid, '"'));
	assert_null(strchr(rid, ' '));
	harness_resp_free(&r);
}

/* The access-log lines holding `rid'; *line gets the last one (owned). */
static int
log_lines(const char *rid, char **line)
{
	char	*log, *p, *eol;
	int	 n = 0;

	*line = NULL;
	if ((log = harness_read_file(H.access_log, NULL)) == NULL)
		return 0;
	for (p = log; p != NULL && *p != '\0'; p = eol) {
		if ((eol = strchr(p, '\n')) != NULL)
			*eol++ = '\0';
		if (strstr(p, rid) == NULL)
			continue;
		n++;
		free(*line);
		*line = strdup(p);
	}
	free(log);
	return n;
}

static void
check_access_line(const char *line)
{
	struct json_object	*j, *v;

	assert_non_null(j = json_tokener_parse(line));
	assert_true(json_object_object_get_ex(j, "method", &v));
	assert_string_equal(json_object_get_string(v), "GET");
	assert_true(json_object_object_get_ex(j, "path", &v));
	assert_string_equal(json_object_get_string(v), "/api/v1/_test/sleep");
	assert_true(json_object_object_get_ex(j, "status", &v));
	assert_int_equal(json_object_get_int(v), 200);
	assert_true(json_object_object_get_ex(j, "request_id", &v));
	assert_string_equal(json_object_get_string(v), "h5-access-1");
	json_object_put(j);
}

static void
test_access_log(void **state)
{
	const char		*hdrs[] = { "X-Request-Id: h5-access-1",
				    "Authorization: Bearer h5SECRETtoken123",
				    "Cookie: session=h5SECRETcookie456", NULL };
	struct harness_resp	 r;
	char			*line = NULL, *log;
	uint64_t		 end;
	int			 n = 0;

	(void)state;
	assert_int_equal(harness_request(&H, "GET",
	    "/api/v1/_test/sleep?ms=1", hdrs, NULL, 0, &r), 0);
	assert_int_equal(r.status, 200);
	harness_resp_free(&r);
	/* The line may land just after the answer left: poll briefly. */
	for (end = harness_now_ms() + 2000; harness_now_ms() < end; ) {
		free(line);
		if ((n = log_lines("h5-access-1", &line)) > 0)
			break;
		harness_sleep_ms(50);
	}
	harness_sleep_ms(200);
	free(line);
	n = log_lines("h5-access-1", &line);
	if (n != 1)
		harness_dump_logs(&H);
	assert_int_equal(n, 1);
	check_access_line(line);
	free(line);
	assert_non_null(log = harness_read_file(H.access_log, NULL));
	assert_null(strstr(log, "h5SECRET"));
	free(log);
	assert_non_null(log = harness_read_file(H.error_log, NULL));
	assert_null(strstr(log, "h5SECRET"));
	free(log);
}

static void
test_pg_down_up(void **state)
{
	struct harness_resp	 r;
	pid_t			 master = H.quipu;

	(void)state;
	if (getenv("QUIPU_TEST_PG_STOP") == NULL ||
	    getenv("QUIPU_TEST_PG_START") == NULL) {
		fprintf(stderr, "QUIPU_TEST_PG_STOP/START not set\n");
		skip();
	}
	assert_int_equal(harness_wait_status(&H, "/readyz", 200, 2000), 0);
	assert_int_equal(harness_pg_stop(), 0);
	pg_stopped = true;
	assert_int_equal(harness_wait_status(&H, "/readyz", 503, 5000), 0);
	assert_int_equal(harness_get(&H, "/readyz", &r), 0);
	assert_true(harness_is_envelope(&r, "unavailable"));
	harness_resp_free(&r);
	assert_int_equal(harness_get(&H, "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	harness_resp_free(&r);

	assert_int_equal(harness_pg_start(), 0);
	pg_stopped = false;
	assert_int_equal(harness_wait_status(&H, "/readyz", 200, 10000), 0);
	assert_int_equal(H.quipu, master);
	assert_true(harness_proc_alive(master));
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readyz_migrations),
		cmocka_unit_test(test_healthz),
		cmocka_unit_test(test_api_health),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_pg_down_up),
	};
	static const struct harness_group group = {
		"test_health", NULL, false, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
