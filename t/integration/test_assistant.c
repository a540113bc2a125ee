/*
 * test_assistant.c: turns with a remote model: quipu configured with
 * llm_provider = openai against t/fakellm, the fake OpenAI-compatible
 * server that speaks the real wire format (streamed data: chunks, tool
 * call deltas split across chunks, usage, [DONE]) and, on request in the
 * user's message, each fault: 429 with Retry-After, 500, a cut stream, a
 * malformed chunk, a hang, a slow stream the client walks away from.
 *
 * Each fault must end the turn cleanly: the user's message kept, the
 * answer stored with what arrived and status error or incomplete, an
 * error event or a 502, and the thread free for the next turn.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

static struct harness	 H;

#define P_THREADS	"/api/v1/threads"
#define KEY		"sk-fake-key-0123456789"

/* The config, written once the fake is listening. */
static char	 extra[1024];

static int
prepare(struct harness *h)
{
	return harness_fake_conf(h, KEY,
	    "llm_timeout = 4\n"
	    "llm_retries = 1\n"
	    "messages_per_day = 0\n"
	    "sse_heartbeat = 1\n", extra, sizeof(extra));
}

/* ------------------------------------------------------------- helpers */

static struct harness_auth	 A;

static int64_t
fake_stat(const char *key)
{
	struct json_object	*o = harness_fake_json(&H, "/_fake/stats");
	int64_t			 v = harness_json_int(o, key);

	json_object_put(o);
	return v;
}

static void
body_for(char *out, size_t sz, const char *msg)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "message", json_object_new_string(msg));
	snprintf(out, sz, "%s", json_object_to_json_string(o));
	json_object_put(o);
}

/* A JSON turn in a new thread. */
static void
turn_json(const char *msg, struct harness_resp *r)
{
	char	 body[2048];

	body_for(body, sizeof(body), msg);
	harness_req(&H, "POST", P_THREADS, body, A.auth_header, NULL, NULL, r);
}

/* A streamed turn in a new thread; stop after `stop' events (0: all). */
static void
turn_sse(const char *msg, size_t stop, struct harness_sse *s)
{
	const char	*hdrs[2] = { A.auth_header, NULL };
	char		 body[2048];

	body_for(body, sizeof(body), msg);
	assert_int_equal(harness_sse_request(&H, "POST", P_THREADS, hdrs, body,
	    stop, s), 0);
	assert_int_equal(s->status, 200);
}

/* The text of the message_delta events, joined. */
static void
deltas(const struct harness_sse *s, char *out, size_t sz)
{
	struct json_object	*o;
	size_t			 i;

	out[0] = '\0';
	for (i = 0; i < s->nev; i++) {
		if (strcmp(s->ev[i].event, "message_delta") != 0)
			continue;
		assert_non_null(o = json_tokener_parse(s->ev[i].data));
		strncat(out, json_object_get_string(json_object_object_get(o,
		    "text")), sz - strlen(out) - 1);
		json_object_put(o);
	}
}

/* The index of the first event named `name', or -1. */
static int
find_ev(const struct harness_sse *s, const char *name)
{
	size_t	 i;

	for (i = 0; i < s->nev; i++)
		if (strcmp(s->ev[i].event, name) == 0)
			return (int)i;
	return -1;
}

/* The status and content of the user's last assistant message. */
static void
last_answer(char *status, size_t ssz, char *content, size_t csz)
{
	const char	*p[1] = { A.user_id };

	assert_int_equal(harness_sql(&H, "SELECT status FROM items WHERE "
	    "user_id = $1::uuid AND role = 'assistant' ORDER BY created_at "
	    "DESC LIMIT 1", p, 1, status, ssz), 1);
	(void)harness_sql(&H, "SELECT content FROM items WHERE user_id = "
	    "$1::uuid AND role = 'assistant' ORDER BY created_at DESC "
	    "LIMIT 1", p, 1, content, csz);
}

static long
user_items(const char *role)
{
	char	 sql[160];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM items WHERE user_id "
	    "= $1::uuid AND role = '%s'", role);
	return harness_sql_long(&H, sql, A.user_id);
}

/* ------------------------------------------------------------- tests */

static void
test_stream(void **state)
{
	struct harness_sse	 s;
	struct json_object	*last, *body, *msgs, *tools, *m0;
	char			 text[1024], day[16], thread[32];
	time_t			 now = time(NULL);
	struct tm		 tm;
	int			 i;

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_sse("hi there", 0, &s);
	deltas(&s, text, sizeof(text));
	assert_string_equal(text, "Hello from fake. You said: hi there");
	assert_true((i = find_ev(&s, "thread_created")) == 0);
	{
		struct json_object	*o = json_tokener_parse(s.ev[0].data);

		snprintf(thread, sizeof(thread), "%s", json_object_get_string(
		    json_object_object_get(json_object_object_get(o,
		    "thread"), "id")));
		json_object_put(o);
	}
	assert_true((i = find_ev(&s, "message_done")) > 0);
	assert_non_null(strstr(s.ev[i].data, "\"status\":\"completed\""));
	assert_string_equal(s.ev[s.nev - 1].event, "done");
	harness_sse_free(&s);
	/* Tokens counted for the day, from the stream's usage chunk. */
	assert_true(harness_sql_long(&H, "SELECT tokens FROM usage WHERE "
	    "user_id = $1::uuid", A.user_id) > 0);

	/* What the model was sent: key, model, tools, the date. */
	last = harness_fake_json(&H, "/_fake/last");
	assert_true(json_object_get_boolean(json_object_object_get(last,
	    "authorization")));
	/* The last call was the title's (no stream, no tools). */
	body = json_object_object_get(last, "body");
	assert_string_equal(json_object_get_string(json_object_object_get(body,
	    "model")), "fake-model");
	json_object_put(last);

	/* A second turn in the thread (titled now: no title call after). */
	{
		const char	*hdrs[2] = { A.auth_header, NULL };
		char		 path[96];

		snprintf(path, sizeof(path), P_THREADS "/%s/messages", thread);
		assert_int_equal(harness_sse_request(&H, "POST", path, hdrs,
		    "{\"message\":\"second\"}", 0, &s), 0);
		assert_int_equal(s.status, 200);
		harness_sse_free(&s);
	}
	last = harness_fake_json(&H, "/_fake/last");
	body = json_object_object_get(last, "body");
	msgs = json_object_object_get(body, "messages");
	tools = json_object_object_get(body, "tools");
	assert_non_null(tools);
	assert_int_equal(json_object_array_length(tools), 10);
	assert_true(json_object_get_boolean(json_object_object_get(body,
	    "stream")));
	m0 = json_object_array_get_idx(msgs, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(m0,
	    "role")), "system");
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	assert_non_null(strstr(json_object_get_string(json_object_object_get(m0,
	    "content")), day));
	json_object_put(last);
}

/* Two tool calls, their arguments split across chunks, really run. */
static void
test_tool_calls(void **state)
{
	struct harness_sse	 s;
	char			 text[2048];
	int			 i, n = 0;

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_sse("fake:call create_task {\"title\":\"from fake\","
	    "\"priority\":\"high\"} fake:call list_tasks {\"q\":\"fake\"}", 0,
	    &s);
	for (i = 0; i < (int)s.nev; i++)
		if (strcmp(s.ev[i].event, "tool_call") == 0)
			n++;
	assert_int_equal(n, 2);
	i = find_ev(&s, "tool_result");
	assert_true(i > 0);
	assert_non_null(strstr(s.ev[i].data, "\"title\":\"from fake\""));
	deltas(&s, text, sizeof(text));
	/* The model was given both results. */
	assert_non_null(strstr(text, "Tool results: call_fake_0="));
	assert_non_null(strstr(text, "call_fake_1="));
	harness_sse_free(&s);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE user_id = $1::uuid AND title = 'from fake' AND priority = "
	    "'high'", A.user_id), 1);
	/* Stored with the answer, and shown to the model next time. */
	assert_int_equal(harness_sql_long(&H, "SELECT json_array_length("
	    "tool_calls) FROM items WHERE user_id = $1::uuid AND role = "
	    "'assistant'", A.user_id), 2);
}

/* Tool calls that cannot be done answer the model, not the client. */
static void
test_tool_errors(void **state)
{
	struct harness_sse	 s;
	char			 text[2048];
	int			 i;

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_sse("fake:call no_such_tool {} fake:call create_task "
	    "{\"title\":\"\",\"colour\":1} fake:call complete_task "
	    "{\"id\":999999999}", 0, &s);
	deltas(&s, text, sizeof(text));
	assert_non_null(strstr(text, "call_fake_0={\"error\":{\"code\":"
	    "\"not_found\""));
	assert_non_null(strstr(text, "call_fake_1={\"error\":{\"code\":"
	    "\"validation_failed\""));
	assert_non_null(strstr(text, "call_fake_2={\"error\":{\"code\":"
	    "\"not_found\",\"message\":\"task 999999999 not found\""));
	assert_true((i = find_ev(&s, "message_done")) > 0);
	assert_non_null(strstr(s.ev[i].data, "\"status\":\"completed\""));
	harness_sse_free(&s);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE user_id = $1::uuid", A.user_id), 0);
}

/* A 429 before the first token is retried after its Retry-After. */
static void
test_retry(void **state)
{
	struct harness_resp	 r;
	int64_t			 before = fake_stat("requests");
	uint64_t		 t0 = harness_now_ms();

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_json("fake:status=429x1 fake:retry_after=1 fake:nothing hello",
	    &r);
	harness_want(&H, &r, 201);
	assert_string_equal(harness_resp_str(&r, "assistant_message.status"),
	    "completed");
	harness_resp_free(&r);
	assert_true(harness_now_ms() - t0 >= 1000);
	/* The refused call, the retry, and the title's call. */
	assert_true(fake_stat("requests") - before >= 2);
}

/* A counter of /metrics, summed over the pool. */
static double
metric(const char *name)
{
	struct harness_resp	 r;
	double			 v;

	assert_int_equal(harness_get(&H, "/metrics", &r), 0);
	assert_int_equal(r.status, 200);
	v = harness_metric(r.body, name);
	harness_resp_free(&r);
	return v;
}

/* A server error: 502, the user's message kept, the answer an error. */
static void
test_server_error(void **state)
{
	struct harness_resp	 r;
	char			 st[32], content[256];
	double			 tokens, errors;

	(void)state;
	harness_new_user(&H, "assist", &A);
	/* /metrics counts the model's tokens and its failures. */
	tokens = metric("quipu_llm_tokens_total");
	errors = metric("quipu_llm_errors_total");
	turn_json("hello", &r);
	harness_want(&H, &r, 201);
	harness_resp_free(&r);
	assert_true(metric("quipu_llm_tokens_total") > tokens);
	assert_true(metric("quipu_llm_errors_total") == errors);
	harness_new_user(&H, "assist", &A);
	turn_json("fake:status=500", &r);
	harness_want_error(&H, &r, 502, "upstream_error");
	assert_true(metric("quipu_llm_errors_total") == errors + 1);
	assert_non_null(strstr(harness_resp_str(&r, "error.message"), "500"));
	assert_non_null(harness_resp_str(&r, "error.details.thread_id"));
	harness_resp_free(&r);
	assert_int_equal(user_items("user"), 1);
	last_answer(st, sizeof(st), content, sizeof(content));
	assert_string_equal(st, "error");
	/* The thread is free again. */
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM threads "
	    "WHERE user_id = $1::uuid AND turn_started_at IS NULL",
	    A.user_id), 1);
}

/* A stream cut in the middle: what arrived is kept; an error event. */
static void
test_cut(void **state)
{
	struct harness_sse	 s;
	char			 st[32], content[256], text[256];
	int			 i;

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_sse("fake:cut=3 one two three four five six", 0, &s);
	deltas(&s, text, sizeof(text));
	assert_string_equal(text, "Hello from fake. ");
	assert_true((i = find_ev(&s, "message_done")) > 0);
	assert_non_null(strstr(s.ev[i].data, "\"status\":\"error\""));
	assert_true((i = find_ev(&s, "error")) > 0);
	assert_non_null(strstr(s.ev[i].data, "upstream_error"));
	assert_int_equal(find_ev(&s, "done"), -1);
	harness_sse_free(&s);
	last_answer(st, sizeof(st), content, sizeof(content));
	assert_string_equal(st, "error");
	assert_string_equal(content, "Hello from fake. ");
}

static void
test_malformed(void **state)
{
	struct harness_resp	 r;

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_json("fake:malformed hello", &r);
	harness_want(&H, &r, 502);
	assert_non_null(strstr(harness_resp_str(&r, "error.message"),
	    "malformed"));
	harness_resp_free(&r);
	turn_json("fake:error_chunk hello", &r);
	harness_want(&H, &r, 502);
	harness_resp_free(&r);
}

/* A model that stops talking: the turn ends at llm_timeout (4 s). */
static void
test_hang(void **state)
{
	struct harness_resp	 r;
	char			 st[32], content[256];
	uint64_t		 t0 = harness_now_ms(), dt;

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_json("fake:hang=2 hello there", &r);
	dt = harness_now_ms() - t0;
	harness_want(&H, &r, 502);
	harness_resp_free(&r);
	assert_true(dt >= 3500 && dt < 9000);
	last_answer(st, sizeof(st), content, sizeof(content));
	assert_string_equal(st, "incomplete");
	assert_string_equal(content, "Hello from ");
}

/* A client that leaves: the upstream call is dropped within a second. */
static void
test_disconnect(void **state)
{
	struct harness_sse	 s;
	char			 st[32], content[512];
	int64_t			 aborted = fake_stat("aborted");
	int			 i;

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_sse("fake:tokens=200 fake:slow=50 fake:nothing", 8, &s);
	harness_sse_free(&s);
	for (i = 0; i < 30 && fake_stat("aborted") == aborted; i++)
		harness_sleep_ms(50);
	assert_true(fake_stat("aborted") > aborted);
	/* Within about a second (polling every 50 ms, 30 times). */
	assert_true(i < 30);
	for (i = 0; i < 40; i++) {
		last_answer(st, sizeof(st), content, sizeof(content));
		if (strcmp(st, "in_progress") != 0)
			break;
		harness_sleep_ms(50);
	}
	assert_string_equal(st, "incomplete");
	assert_non_null(strstr(content, "tok1 "));
}

/* A silent model: heartbeat comments keep the stream alive. */
static void
test_heartbeat(void **state)
{
	struct harness_sse	 s;
	char			 text[256];

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_sse("fake:slowfirst=2500 quiet", 0, &s);
	assert_true(s.ncomments >= 2);
	deltas(&s, text, sizeof(text));
	assert_non_null(strstr(text, "quiet"));
	assert_string_equal(s.ev[s.nev - 1].event, "done");
	harness_sse_free(&s);
}

/* The title of a new thread comes from the model. */
static void
test_title(void **state)
{
	struct harness_resp	 r;
	const char		*t;

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_json("plan a trip to Lisbon", &r);
	harness_want(&H, &r, 201);
	assert_non_null(t = harness_resp_str(&r, "thread.title"));
	assert_int_equal(strncmp(t, "Echo: plan a trip", 17), 0);
	harness_resp_free(&r);
}

/* The model sees the last 20 items of the thread. */
static void
test_history(void **state)
{
	struct harness_resp	 r;
	struct json_object	*last, *msgs;
	char			 thread[32], body[128], path[96];
	const char		*m1;
	int			 i;

	(void)state;
	harness_new_user(&H, "assist", &A);
	turn_json("turn 0 fake:nothing", &r);
	harness_want(&H, &r, 201);
	snprintf(thread, sizeof(thread), "%s",
	    harness_resp_str(&r, "thread_id"));
	harness_resp_free(&r);
	snprintf(path, sizeof(path), P_THREADS "/%s/messages", thread);
	for (i = 1; i <= 11; i++) {
		snprintf(body, sizeof(body), "{\"message\":\"turn %d\"}", i);
		harness_req(&H, "POST", path, body, A.auth_header, NULL, NULL,
		    &r);
		harness_want(&H, &r, 200);
		harness_resp_free(&r);
	}
	last = harness_fake_json(&H, "/_fake/last");
	msgs = json_object_object_get(json_object_object_get(last, "body"),
	    "messages");
	/* system + 20 earlier items + the new message */
	assert_int_equal(json_object_array_length(msgs), 22);
	m1 = json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(msgs, 1), "content"));
	assert_string_equal(m1, "turn 1");
	json_object_put(last);
}

/* A wrong key: a clear 502, and the key is never written to the logs. */
static void
test_bad_key(void **state)
{
	struct harness_resp	 r;
	char			 conf[1200], *log;

	(void)state;
	harness_new_user(&H, "assist", &A);
	snprintf(conf, sizeof(conf), "%sllm_api_key = sk-wrong-key-999\n",
	    extra);
	assert_int_equal(harness_restart_quipu(&H, conf), 0);
	turn_json("hello", &r);
	harness_want(&H, &r, 502);
	assert_non_null(strstr(harness_resp_str(&r, "error.message"),
	    "API key"));
	assert_null(strstr(r.body, "sk-"));
	harness_resp_free(&r);
	assert_non_null(log = harness_read_file(H.error_log, NULL));
	assert_null(strstr(log, "sk-wrong"));
	assert_null(strstr(log, KEY));
	free(log);
	assert_int_equal(harness_restart_quipu(&H, extra), 0);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_tool_calls),
		cmocka_unit_test(test_tool_errors),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_server_error),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_hang),
		cmocka_unit_test(test_disconnect),
		cmocka_unit_test(test_heartbeat),
		cmocka_unit_test(test_title),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_bad_key),
	};
	static const struct harness_group group = {
		"test_assistant", extra, true, prepare, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
