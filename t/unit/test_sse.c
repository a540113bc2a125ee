/*
 * test_sse.c: Server-Sent Events framing, flushing and hang-ups.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "sse.h"
#include "util.h"

#define S(lit)	(lit), (sizeof(lit) - 1)

/* Starts a stream and forgets the header block, so tests see events. */
static void
started(struct treq *t)
{
	treq_init(t, "GET", "/stream");
	assert_int_equal(sse_start(&t->resp), APP_OK);
	t->out.len = 0;
	t->out.data[0] = '\0';
	t->out.nflushes = 0;
}

static void
test_start(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/stream");
	assert_int_equal(sse_start(&t.resp), APP_OK);
	assert_string_equal(treq_status_line(&t), "Status: 200 OK");
	assert_string_equal(treq_resp_header(&t, "Content-Type"),
	    "text/event-stream");
	assert_string_equal(treq_resp_header(&t, "Cache-Control"), "no-cache");
	assert_string_equal(treq_resp_header(&t, "X-Accel-Buffering"), "no");
	assert_null(treq_resp_header(&t, "Content-Length"));
	/* The header block is on the wire at once. */
	assert_true(t.resp.headers_sent);
	assert_true(t.out.nflushes >= 1);
	assert_int_equal(t.out.flushed_at, (int)t.out.len);
	assert_string_equal(treq_resp_body(&t), "");
	treq_free(&t);
}

static void
test_event(void **state)
{
	struct treq	 t;

	started(&t);
	assert_int_equal(sse_event(&t.resp, "tick", S("{\"n\":1}")), APP_OK);
	assert_string_equal(t.out.data, "event: tick\ndata: {\"n\":1}\n\n");
	/* Every event is flushed. */
	assert_int_equal(t.out.nflushes, 1);
	assert_int_equal(t.out.flushed_at, (int)t.out.len);
	assert_int_equal(sse_event(&t.resp, "tock", S("2")), APP_OK);
	assert_int_equal(t.out.nflushes, 2);
	assert_string_equal(t.out.data, "event: tick\ndata: {\"n\":1}\n\n"
	    "event: tock\ndata: 2\n\n");
	assert_int_equal(t.resp.bytes, t.out.len);
	treq_free(&t);
}

static void
test_data_only(void **state)
{
	struct treq	 t;

	started(&t);
	assert_int_equal(sse_event(&t.resp, NULL, S("{\"type\":\"x\"}")),
	    APP_OK);
	assert_string_equal(t.out.data, "data: {\"type\":\"x\"}\n\n");
	treq_free(&t);
}

static void
test_multiline(void **state)
{
	struct treq	 t;

	started(&t);
	assert_int_equal(sse_event(&t.resp, "m", S("a\nb\nc")), APP_OK);
	assert_string_equal(t.out.data,
	    "event: m\ndata: a\ndata: b\ndata: c\n\n");
	treq_free(&t);

	/* CR and CRLF end lines too; a bare CR must never reach the wire. */
	started(&t);
	assert_int_equal(sse_event(&t.resp, NULL, S("a\r\nb\rc\n\rd")), APP_OK);
	assert_string_equal(t.out.data,
	    "data: a\ndata: b\ndata: c\ndata: \ndata: d\n\n");
	assert_null(strchr(t.out.data, '\r'));
	treq_free(&t);

	/* A trailing newline survives as an empty last line. */
	started(&t);
	assert_int_equal(sse_event(&t.resp, NULL, S("x\n")), APP_OK);
	assert_string_equal(t.out.data, "data: x\ndata: \n\n");
	treq_free(&t);

	/* Blank lines inside the payload cannot end the event early. */
	started(&t);
	assert_int_equal(sse_event(&t.resp, NULL, S("a\n\nb")), APP_OK);
	assert_string_equal(t.out.data, "data: a\ndata: \ndata: b\n\n");
	treq_free(&t);
}

static void
test_empty_and_len(void **state)
{
	struct treq	 t;

	started(&t);
	assert_int_equal(sse_event(&t.resp, "e", "", 0), APP_OK);
	assert_string_equal(t.out.data, "event: e\ndata: \n\n");
	treq_free(&t);

	started(&t);
	assert_int_equal(sse_event(&t.resp, "e", NULL, 5), APP_OK);
	assert_string_equal(t.out.data, "event: e\ndata: \n\n");
	treq_free(&t);

	/* Only `len' bytes count. */
	started(&t);
	assert_int_equal(sse_event(&t.resp, NULL, "abcdef", 3), APP_OK);
	assert_string_equal(t.out.data, "data: abc\n\n");
	treq_free(&t);
}

static void
test_bad_event_name(void **state)
{
	struct treq	 t;

	started(&t);
	assert_int_equal(sse_event(&t.resp, "a\nb", S("x")), APP_EINVAL);
	assert_int_equal(sse_event(&t.resp, "a\rdata: y", S("x")), APP_EINVAL);
	assert_int_equal(t.out.len, 0);
	treq_free(&t);
}

static void
test_comment(void **state)
{
	struct treq	 t;

	started(&t);
	assert_int_equal(sse_comment(&t.resp, "keepalive"), APP_OK);
	assert_string_equal(t.out.data, ": keepalive\n");
	assert_int_equal(t.out.nflushes, 1);
	assert_int_equal(sse_comment(&t.resp, "a\nb"), APP_OK);
	assert_string_equal(t.out.data, ": keepalive\n: a\n: b\n");
	assert_int_equal(sse_comment(&t.resp, ""), APP_OK);
	assert_string_equal(t.out.data, ": keepalive\n: a\n: b\n: \n");
	treq_free(&t);
}

static void
test_hup_on_write(void **state)
{
	struct treq	 t;
	size_t		 len;

	started(&t);
	assert_int_equal(sse_event(&t.resp, "a", S("1")), APP_OK);
	/* The client leaves: the next write fails. */
	t.out.fail_after = t.out.nwrites;
	assert_int_equal(sse_event(&t.resp, "b", S("2")), APP_EHUP);
	assert_true(http_client_gone(&t.resp));
	len = t.out.len;
	/* Later calls fail fast and write nothing. */
	assert_int_equal(sse_event(&t.resp, "c", S("3")), APP_EHUP);
	assert_int_equal(sse_comment(&t.resp, "ping"), APP_EHUP);
	assert_int_equal(t.out.len, len);
	treq_free(&t);
}

static void
test_hup_on_flush(void **state)
{
	struct treq	 t;

	started(&t);
	/* Writes land in a buffer; the flush is what fails. */
	t.out.fail_after = t.out.nwrites + 100;
	assert_int_equal(sse_event(&t.resp, "a", S("1")), APP_OK);
	t.out.fail_after = t.out.nwrites;
	assert_int_equal(sse_comment(&t.resp, "x"), APP_EHUP);
	treq_free(&t);
}

static void
test_hup_closed_probe(void **state)
{
	struct treq	 t;

	size_t		 len;

	started(&t);
	t.out.closed = true;
	/* Probed once per event, at its flush: the event reports the hang-up. */
	assert_int_equal(sse_event(&t.resp, "a", S("1")), APP_EHUP);
	len = t.out.len;
	/* Nothing more is written after it. */
	assert_int_equal(sse_event(&t.resp, "b", S("2")), APP_EHUP);
	assert_int_equal(t.out.len, len);
	treq_free(&t);
}

static void
test_start_hup(void **state)
{
	struct treq	 t;

	treq_init(&t, "GET", "/stream");
	t.out.fail_after = 0;
	assert_int_equal(sse_start(&t.resp), APP_EHUP);
	treq_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_data_only),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_empty_and_len),
		cmocka_unit_test(test_bad_event_name),
		cmocka_unit_test(test_comment),
		cmocka_unit_test(test_hup_on_write),
		cmocka_unit_test(test_hup_on_flush),
		cmocka_unit_test(test_hup_closed_probe),
		cmocka_unit_test(test_start_hup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
