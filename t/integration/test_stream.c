/*
 * test_stream.c: server-sent events through nginx. The events must arrive
 * one by one as quipu flushes them (no buffering anywhere on the way), and
 * a client that hangs up mid-stream must cost the server nothing.
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

static void
dump_events(const struct harness_sse *s)
{
	size_t	 i;

	fprintf(stderr, "status %ld, %zu events, curl %d\n", s->status, s->nev,
	    s->curl_err);
	for (i = 0; i < s->nev; i++)
		fprintf(stderr, "  %8.1f ms  %-8s %s\n", s->ev[i].t_ms,
		    s->ev[i].event, s->ev[i].data);
}

static void
test_stream_arrives_live(void **state)
{
	struct harness_sse	 s;
	const char		*v;
	size_t			 i, nticks = 0;

	(void)state;
	assert_int_equal(harness_sse_get(&H,
	    "/api/v1/_test/stream?n=5&interval_ms=300", 0, &s), 0);
	dump_events(&s);
	assert_int_equal(s.status, 200);
	assert_non_null(v = harness_sse_header(&s, "Content-Type"));
	assert_non_null(strstr(v, "text/event-stream"));
	assert_non_null(v = harness_sse_header(&s, "Cache-Control"));
	assert_non_null(strstr(v, "no-cache"));
	assert_non_null(harness_sse_header(&s, "X-Request-Id"));
	assert_int_equal(s.nev, 6);
	for (i = 0; i < 5; i++)
		nticks += strcmp(s.ev[i].event, "tick") == 0;
	assert_int_equal(nticks, 5);
	assert_string_equal(s.ev[5].event, "done");
	/* Not in one piece at the end: the first tick came long before. */
	assert_true(s.ev[4].t_ms - s.ev[0].t_ms >= 900.0);
	for (i = 1; i < 5; i++)
		assert_true(s.ev[i].t_ms - s.ev[i - 1].t_ms >= 200.0);
	harness_sse_free(&s);
}

static double
sse_open(void)
{
	struct harness_resp	 r;
	double			 v = -1;

	if (harness_get(&H, "/metrics", &r) == 0 && r.status == 200)
		v = harness_metric(r.body, "quipu_sse_streams_open");
	harness_resp_free(&r);
	return v;
}

static void
test_client_disconnect(void **state)
{
	struct harness_sse	 s;
	struct harness_counts	 c;
	uint64_t		 end;
	double			 open = -1;

	(void)state;
	/* Hang up after two of fifty events. */
	assert_int_equal(harness_sse_get(&H,
	    "/api/v1/_test/stream?n=50&interval_ms=100", 2, &s), 0);
	assert_int_equal(s.status, 200);
	assert_int_equal(s.nev, 2);
	harness_sse_free(&s);

	/* The server goes on serving... */
	assert_int_equal(harness_load_n(&H, "/healthz", 4, 40, &c), 0);
	assert_int_equal(c.ok, 40);
	/* ...and notices the hang-up at its next write, well within 3 s. */
	for (end = harness_now_ms() + 3000; harness_now_ms() < end; ) {
		if ((open = sse_open()) == 0)
			break;
		harness_sleep_ms(100);
	}
	assert_true(open == 0);

	/* A complete stream still works afterwards. */
	assert_int_equal(harness_sse_get(&H,
	    "/api/v1/_test/stream?n=2&interval_ms=10", 0, &s), 0);
	assert_int_equal(s.status, 200);
	assert_int_equal(s.nev, 3);
	assert_string_equal(s.ev[2].event, "done");
	harness_sse_free(&s);
}

static void
test_streams_concurrent(void **state)
{
	struct harness_async	 a[6];
	size_t			 i;
	uint64_t		 t0 = harness_now_ms();

	(void)state;
	/* Six 1-second streams at once must take about 1 s, not 6. */
	for (i = 0; i < 6; i++)
		assert_int_equal(harness_async_start(&H, &a[i], "GET",
		    "/api/v1/_test/stream?n=5&interval_ms=250"), 0);
	for (i = 0; i < 6; i++) {
		assert_int_equal(harness_async_wait(&a[i]), 0);
		assert_int_equal(a[i].resp.status, 200);
		assert_non_null(strstr(a[i].resp.body, "event: done"));
		harness_resp_free(&a[i].resp);
	}
	assert_true(harness_now_ms() - t0 < 3000);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_arrives_live),
		cmocka_unit_test(test_client_disconnect),
		cmocka_unit_test(test_streams_concurrent),
	};
	static const struct harness_group group = {
		"test_stream", NULL, false, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
