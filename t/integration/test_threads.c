/*
 * test_threads.c: threads, messages and turns with the builtin model,
 * through nginx against a real PostgreSQL, as doc/api.md ("Threads and
 * messages") promises: the thread routes and their refusals, turns
 * answered as JSON and as a stream of events in their order, tool calls
 * that really change the user's tasks, titles, paging, feedback, the
 * daily quota, one turn at a time per thread, a client that leaves in
 * the middle of a stream, and other users' threads.
 *
 * Refusals are checked twice: the answer, and the rows read back.
 */
#include "config.h"

#include <setjmp.h>
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
/* Streams pause between words, so that they arrive one by one. */
#define EXTRA		"messages_per_day = 40\nllm_builtin_delay = 10\n" \
			"sse_heartbeat = 1\n"

/* ------------------------------------------------------------- helpers */

static void
req(const struct harness_auth *a, const char *method, const char *path,
    const char *body, struct harness_resp *r)
{
	harness_req(&H, method, path, body, a != NULL ? a->auth_header : NULL,
	    NULL, NULL, r);
}

/* A new empty thread of `a'; its id into `id'. */
static void
new_thread(const struct harness_auth *a, const char *body, char id[32])
{
	struct harness_resp	 r;
	const char		*s;

	req(a, "POST", P_THREADS, body, &r);
	harness_want(&H, &r, 201);
	assert_non_null(s = harness_resp_str(&r, "id"));
	snprintf(id, 32, "%s", s);
	harness_resp_free(&r);
}

/* Rows of `table' that belong to the user of `a'. */
static long
rows(const char *table, const struct harness_auth *a)
{
	char	 sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE user_id = "
	    "$1::uuid", table);
	return harness_sql_long(&H, sql, a->user_id);
}

/* A turn as JSON: the answer's body kept in `r'. */
static void
turn(const struct harness_auth *a, const char *thread, const char *msg,
    struct harness_resp *r)
{
	char	*body;

	assert_non_null(body = malloc(strlen(msg) + 32));
	snprintf(body, strlen(msg) + 32, "{\"message\":\"%s\"}", msg);
	if (thread == NULL)
		req(a, "POST", P_THREADS, body, r);
	else
		req(a, "POST", harness_fmt(P_THREADS "/%s/messages", thread),
		    body, r);
	free(body);
}

static const char *
str_at(struct json_object *o, const char *k1, const char *k2)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, k1, &v))
		return NULL;
	if (k2 != NULL && !json_object_object_get_ex(v, k2, &v))
		return NULL;
	return json_object_get_string(v);
}

/* The one task of `a' titled `title', as JSON text ("" when none). */
static void
task_row(const struct harness_auth *a, const char *title, char *out,
    size_t sz)
{
	const char	*p[2] = { a->user_id, title };

	out[0] = '\0';
	(void)harness_sql(&H, "SELECT api_task(t)::text FROM tasks t WHERE "
	    "user_id = $1::uuid AND "
	    "title = $2", p, 2, out, sz);
}

/* ------------------------------------------------------------- tests */

static void
test_thread_routes(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*o, *items;
	char			 t1[32], t2[32], *long_title;

	(void)state;
	harness_user(&H, "thr-routes", &a);
	new_thread(&a, NULL, t1);
	assert_int_equal(strncmp(t1, "thr_", 4), 0);
	assert_int_equal(strlen(t1), 20);
	new_thread(&a, "{\"title\":\"  Groceries  \"}", t2);

	req(&a, "GET", harness_fmt(P_THREADS "/%s", t2), NULL, &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "title"), "Groceries");
	o = harness_resp_json(&r);
	assert_int_equal(harness_json_int(o, "message_count"), 0);
	assert_true(harness_json_is_null(o, "last_message_at"));
	assert_true(json_object_object_get_ex(o, "items", &items));
	assert_int_equal(json_object_array_length(items), 0);
	harness_resp_free(&r);

	/* Newest activity first. */
	req(&a, "GET", P_THREADS, NULL, &r);
	harness_want(&H, &r, 200);
	o = harness_resp_json(&r);
	assert_int_equal(harness_json_int(o, "total"), 2);
	assert_int_equal(harness_json_int(o, "limit"), 20);
	json_object_object_get_ex(o, "items", &items);
	assert_string_equal(str_at(json_object_array_get_idx(items, 0), "id",
	    NULL), t2);
	harness_resp_free(&r);

	/* Rename, pin, archive. */
	req(&a, "PATCH", harness_fmt(P_THREADS "/%s", t1),
	    "{\"title\":\"Plans\",\"metadata\":{\"pinned\":true,\"color\":"
	    "\"red\"}}", &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "title"), "Plans");
	assert_string_equal(harness_resp_str(&r, "metadata.color"), "red");
	harness_resp_free(&r);
	req(&a, "PATCH", harness_fmt(P_THREADS "/%s", t1),
	    "{\"metadata\":{\"color\":null}}", &r);
	harness_want(&H, &r, 200);
	assert_null(harness_resp_str(&r, "metadata.color"));
	assert_string_equal(harness_resp_str(&r, "title"), "Plans");
	harness_resp_free(&r);
	req(&a, "GET", P_THREADS "?pinned=true", NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 1);
	harness_resp_free(&r);
	req(&a, "PATCH", harness_fmt(P_THREADS "/%s", t2),
	    "{\"metadata\":{\"archived\":true}}", &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);
	req(&a, "GET", P_THREADS, NULL, &r);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 1);
	harness_resp_free(&r);
	req(&a, "GET", P_THREADS "?archived=true", NULL, &r);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 1);
	harness_resp_free(&r);
	req(&a, "GET", P_THREADS "?archived=any", NULL, &r);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 2);
	harness_resp_free(&r);

	/* Refusals change nothing. */
	req(&a, "PATCH", harness_fmt(P_THREADS "/%s", t1), "{\"titel\":\"x\"}",
	    &r);
	harness_want_error(&H, &r, 422, "validation_failed");
	harness_resp_free(&r);
	req(&a, "PATCH", harness_fmt(P_THREADS "/%s", t1),
	    "{\"metadata\":{\"pinned\":\"yes\"}}", &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	req(&a, "PATCH", harness_fmt(P_THREADS "/%s", t1), "{\"metadata\":[1]}",
	    &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	req(&a, "PATCH", harness_fmt(P_THREADS "/%s", t1),
	    "{\"metadata\":{\"a\":{\"b\":1}}}", &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	req(&a, "PATCH", harness_fmt(P_THREADS "/%s", t1), "{\"title\":", &r);
	harness_want(&H, &r, 400);
	harness_resp_free(&r);
	long_title = harness_rep("x", 201);
	req(&a, "PATCH", harness_fmt(P_THREADS "/%s", t1),
	    harness_fmt("{\"title\":\"%s\"}", long_title), &r);
	free(long_title);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	req(&a, "GET", harness_fmt(P_THREADS "/%s", t1), NULL, &r);
	assert_string_equal(harness_resp_str(&r, "title"), "Plans");
	harness_resp_free(&r);
	req(&a, "GET", P_THREADS "?limit=0", NULL, &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	req(&a, "GET", P_THREADS "?archived=maybe", NULL, &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	req(&a, "GET", P_THREADS "?q=%ff", NULL, &r);
	harness_want(&H, &r, 400);
	harness_resp_free(&r);

	/* Ids that are no ids, and a deleted thread, are not found. */
	req(&a, "GET", P_THREADS "/thr_nope", NULL, &r);
	harness_want_error(&H, &r, 404, "not_found");
	harness_resp_free(&r);
	req(&a, "DELETE", harness_fmt(P_THREADS "/%s", t1), NULL, &r);
	harness_want(&H, &r, 204);
	harness_resp_free(&r);
	req(&a, "DELETE", harness_fmt(P_THREADS "/%s", t1), NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	req(&a, "GET", harness_fmt(P_THREADS "/%s", t1), NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	req(&a, "GET", harness_fmt(P_THREADS "/%s/messages", t1), NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	turn(&a, t1, "hello", &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	assert_int_equal(rows("items", &a), 0);
}

/* The first turn: a thread, a task, a title, and the JSON answer. */
static void
test_turn_json(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*o, *calls;
	char			 thread[32], row[2048], due[16];
	const char		*title;
	time_t			 now = time(NULL) + 86400;
	struct tm		 tm;

	(void)state;
	harness_user(&H, "thr-json", &a);
	turn(&a, NULL, "add buy milk tomorrow", &r);
	harness_want(&H, &r, 201);
	o = harness_resp_json(&r);
	snprintf(thread, sizeof(thread), "%s", str_at(o, "thread_id", NULL));
	assert_non_null(harness_resp_header(&r, "Location"));
	assert_non_null(strstr(harness_resp_header(&r, "Location"), thread));
	assert_string_equal(str_at(o, "user_message", "role"), "user");
	assert_string_equal(str_at(o, "user_message", "content"),
	    "add buy milk tomorrow");
	assert_string_equal(str_at(o, "assistant_message", "role"),
	    "assistant");
	assert_string_equal(str_at(o, "assistant_message", "status"),
	    "completed");
	assert_non_null(strstr(str_at(o, "assistant_message", "content"),
	    "buy milk"));
	assert_true(json_object_object_get_ex(o, "tool_calls", &calls));
	assert_int_equal(json_object_array_length(calls), 1);
	assert_string_equal(str_at(json_object_array_get_idx(calls, 0), "name",
	    NULL), "create_task");
	assert_string_equal(str_at(json_object_array_get_idx(calls, 0),
	    "result", "title"), "buy milk");
	/* The title, named after the first turn, comes with the answer. */
	assert_non_null(title = str_at(o, "thread", "title"));
	assert_string_equal(title, "Add buy milk tomorrow");
	harness_resp_free(&r);

	/* The task is real, due tomorrow. */
	task_row(&a, "buy milk", row, sizeof(row));
	assert_true(row[0] != '\0');
	gmtime_r(&now, &tm);
	strftime(due, sizeof(due), "%Y-%m-%d", &tm);
	assert_non_null(strstr(row, due));
	assert_non_null(strstr(row, "\"completed\":false"));

	/* Later turns see it, by words. */
	turn(&a, thread, "what's on my list", &r);
	harness_want(&H, &r, 200);
	assert_non_null(strstr(harness_resp_str(&r,
	    "assistant_message.content"), "buy milk"));
	harness_resp_free(&r);
	turn(&a, thread, "mark buy milk as done", &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);
	task_row(&a, "buy milk", row, sizeof(row));
	assert_non_null(strstr(row, "\"completed\":true"));

	/* Stored: three turns, six messages, the title kept. */
	req(&a, "GET", harness_fmt(P_THREADS "/%s", thread), NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r),
	    "message_count"), 6);
	assert_string_equal(harness_resp_str(&r, "title"),
	    "Add buy milk tomorrow");
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE thread_id = $1 AND status = 'completed'", thread), 6);
}

/* The events of a streamed turn, in order, written as they happen. */
static void
test_turn_sse(void **state)
{
	struct harness_auth	 a;
	struct harness_sse	 s;
	const char		*hdrs[2];
	size_t			 i, ndelta = 0, first = 0, last = 0;
	const char		*order[] = { "thread_created",
	    "message_created", "message_created", "tool_call", "tool_result" };
	struct json_object	*o;

	(void)state;
	harness_user(&H, "thr-sse", &a);
	hdrs[0] = a.auth_header;
	hdrs[1] = NULL;
	assert_int_equal(harness_sse_request(&H, "POST", P_THREADS, hdrs,
	    "{\"message\":\"add water the plants on friday with high "
	    "priority\"}", 0, &s), 0);
	assert_int_equal(s.status, 200);
	assert_non_null(strstr(harness_sse_header(&s, "Content-Type"),
	    "text/event-stream"));
	assert_non_null(harness_sse_header(&s, "RateLimit"));
	assert_true(s.nev > 8);
	for (i = 0; i < 5; i++)
		assert_string_equal(s.ev[i].event, order[i]);
	for (i = 5; i < s.nev; i++) {
		if (strcmp(s.ev[i].event, "message_delta") != 0)
			break;
		if (ndelta++ == 0)
			first = i;
		last = i;
	}
	assert_true(ndelta > 3);
	/* Word by word, as generated: not all at once. */
	assert_true(s.ev[last].t_ms - s.ev[first].t_ms > 20.0);
	assert_string_equal(s.ev[i].event, "message_done");
	o = json_tokener_parse(s.ev[i].data);
	assert_non_null(o);
	assert_string_equal(str_at(o, "message", "status"), "completed");
	json_object_put(o);
	assert_string_equal(s.ev[i + 1].event, "thread_updated");
	assert_string_equal(s.ev[s.nev - 1].event, "done");
	assert_int_equal(s.nev, i + 3);
	/* The tool call's arguments, as the model wrote them. */
	o = json_tokener_parse(s.ev[3].data);
	assert_string_equal(str_at(o, "name", NULL), "create_task");
	assert_non_null(strstr(str_at(o, "arguments", NULL), "\"high\""));
	json_object_put(o);
	harness_sse_free(&s);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE title = $1 AND priority = 'high'", "water the plants"), 1);
}

/* Messages oldest first, by offset and by cursor; feedback. */
static void
test_messages(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct json_object	*o, *items;
	char			 thread[32], first[32], second[32], ans[32];
	int			 i;

	(void)state;
	harness_user(&H, "thr-msgs", &a);
	harness_user(&H, "thr-msgs-b", &b);
	new_thread(&a, NULL, thread);
	for (i = 0; i < 3; i++) {
		turn(&a, thread, harness_fmt("hello number %d", i), &r);
		harness_want(&H, &r, 200);
		harness_resp_free(&r);
	}
	req(&a, "GET", harness_fmt(P_THREADS "/%s/messages?limit=2", thread),
	    NULL, &r);
	harness_want(&H, &r, 200);
	o = harness_resp_json(&r);
	assert_int_equal(harness_json_int(o, "total"), 6);
	json_object_object_get_ex(o, "items", &items);
	assert_int_equal(json_object_array_length(items), 2);
	snprintf(first, sizeof(first), "%s",
	    str_at(json_object_array_get_idx(items, 0), "id", NULL));
	snprintf(second, sizeof(second), "%s",
	    str_at(json_object_array_get_idx(items, 1), "id", NULL));
	assert_string_equal(str_at(json_object_array_get_idx(items, 0),
	    "content", NULL), "hello number 0");
	snprintf(ans, sizeof(ans), "%s", second);
	assert_true(json_object_get_boolean(json_object_object_get(o,
	    "has_more")));
	harness_resp_free(&r);

	req(&a, "GET", harness_fmt(P_THREADS "/%s/messages?after=%s&limit=100",
	    thread, second), NULL, &r);
	harness_want(&H, &r, 200);
	json_object_object_get_ex(harness_resp_json(&r), "items", &items);
	assert_int_equal(json_object_array_length(items), 4);
	assert_string_equal(str_at(json_object_array_get_idx(items, 0),
	    "content", NULL), "hello number 1");
	harness_resp_free(&r);
	req(&a, "GET", harness_fmt(P_THREADS "/%s/messages?before=%s", thread,
	    second), NULL, &r);
	harness_want(&H, &r, 200);
	json_object_object_get_ex(harness_resp_json(&r), "items", &items);
	assert_int_equal(json_object_array_length(items), 1);
	assert_string_equal(str_at(json_object_array_get_idx(items, 0), "id",
	    NULL), first);
	harness_resp_free(&r);
	req(&a, "GET",
	    harness_fmt(P_THREADS "/%s/messages?after=msg_aaaaaaaaaaaaaaaa",
	    thread), NULL, &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	req(&a, "GET", harness_fmt(P_THREADS "/%s/messages?after=%s&before=%s",
	    thread, first, second), NULL, &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);

	/* Feedback, on the assistant's messages only. */
	req(&a, "POST", harness_fmt(P_THREADS "/%s/messages/%s/feedback",
	    thread, ans), "{\"kind\":\"positive\"}", &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "feedback"), "positive");
	harness_resp_free(&r);
	req(&a, "POST", harness_fmt(P_THREADS "/%s/messages/%s/feedback",
	    thread, first), "{\"kind\":\"negative\"}", &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	req(&a, "POST", harness_fmt(P_THREADS "/%s/messages/%s/feedback",
	    thread, ans), "{\"kind\":\"meh\"}", &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	req(&b, "POST", harness_fmt(P_THREADS "/%s/messages/%s/feedback",
	    thread, ans), "{\"kind\":\"negative\"}", &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE id = $1 AND feedback = 'positive'", ans), 1);
	req(&a, "POST", harness_fmt(P_THREADS "/%s/messages/%s/feedback",
	    thread, ans), "{\"kind\":null}", &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE id = $1 AND feedback IS NULL", ans), 1);

	/* Search finds message text and titles; deleted threads vanish. */
	req(&a, "GET", P_THREADS "?q=number", NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 1);
	harness_resp_free(&r);
	req(&a, "GET", P_THREADS "?q=zebra", NULL, &r);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 0);
	harness_resp_free(&r);
	req(&a, "DELETE", harness_fmt(P_THREADS "/%s", thread), NULL, &r);
	harness_want(&H, &r, 204);
	harness_resp_free(&r);
	req(&a, "GET", P_THREADS "?q=number", NULL, &r);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 0);
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE thread_id = $1 AND deleted_at IS NULL", thread), 0);
}

/* Bad messages are refused and store nothing. */
static void
test_turn_validation(void **state)
{
	static const char *const bad422[] = {
		"{}", "{\"message\":\"\"}", "{\"message\":\"   \"}",
		"{\"message\":5}", "{\"message\":null}",
		"{\"message\":\"hi\",\"mesage\":\"x\"}", "[]"
	};
	struct harness_auth	 a;
	struct harness_resp	 r;
	char			 thread[32], *big;
	size_t			 i;

	(void)state;
	harness_user(&H, "thr-valid", &a);
	new_thread(&a, NULL, thread);
	for (i = 0; i < sizeof(bad422) / sizeof(bad422[0]); i++) {
		req(&a, "POST", harness_fmt(P_THREADS "/%s/messages", thread),
		    bad422[i], &r);
		harness_want(&H, &r, 422);
		harness_resp_free(&r);
	}
	req(&a, "POST", harness_fmt(P_THREADS "/%s/messages", thread),
	    "{\"message\":\"a\xff\"}", &r);
	harness_want(&H, &r, 400);
	harness_resp_free(&r);
	req(&a, "POST", harness_fmt(P_THREADS "/%s/messages", thread),
	    "{\"message\":\"a\\u0000\"}", &r);
	harness_want(&H, &r, 400);
	harness_resp_free(&r);
	harness_req(&H, "POST", harness_fmt(P_THREADS "/%s/messages", thread),
	    "message=hi", a.auth_header, "Content-Type: text/plain", NULL, &r);
	harness_want(&H, &r, 415);
	harness_resp_free(&r);
	/* 5000 characters (of four bytes each) pass; 5001 do not. */
	big = harness_rep("\xf0\x9f\x98\x80", 5001);
	req(&a, "POST", harness_fmt(P_THREADS "/%s/messages", thread),
	    harness_fmt("{\"message\":\"%s\"}", "x"), &r);
	harness_resp_free(&r);
	{
		char	*body = malloc(strlen(big) + 32);

		assert_non_null(body);
		snprintf(body, strlen(big) + 32, "{\"message\":\"%s\"}", big);
		req(&a, "POST", harness_fmt(P_THREADS "/%s/messages", thread),
		    body, &r);
		harness_want(&H, &r, 422);
		harness_resp_free(&r);
		big[strlen(big) - 4] = '\0';
		snprintf(body, strlen(big) + 32, "{\"message\":\"%s\"}", big);
		req(&a, "POST", harness_fmt(P_THREADS "/%s/messages", thread),
		    body, &r);
		harness_want(&H, &r, 200);
		harness_resp_free(&r);
		free(body);
	}
	free(big);
	/* Two turns stored ("x" and the long one), nothing else. */
	assert_int_equal(rows("items", &a), 4);
	assert_int_equal(harness_sql_long(&H, "SELECT coalesce(sum(messages), "
	    "0) FROM usage WHERE user_id = $1::uuid", a.user_id), 2);
}

/* The daily quota: 429 with its headers, before anything is stored. */
static void
test_quota(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	const char		*p[1];
	char			 thread[32];

	(void)state;
	harness_user(&H, "thr-quota", &a);
	new_thread(&a, NULL, thread);
	turn(&a, thread, "hello", &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_header(&r, "RateLimit-Policy"),
	    "\"messages\";q=40;w=86400");
	assert_non_null(strstr(harness_resp_header(&r, "RateLimit"),
	    "\"messages\";r=39;t="));
	harness_resp_free(&r);
	p[0] = a.user_id;
	assert_int_equal(harness_sql(&H, "UPDATE usage SET messages = 40 "
	    "WHERE user_id = $1::uuid", p, 1,
	    NULL, 0), 1);
	turn(&a, thread, "one more", &r);
	harness_want_error(&H, &r, 429, "rate_limited");
	assert_non_null(harness_resp_header(&r, "Retry-After"));
	assert_true(atol(harness_resp_header(&r, "Retry-After")) > 0);
	assert_true(atol(harness_resp_header(&r, "Retry-After")) <= 86400);
	assert_non_null(strstr(harness_resp_header(&r, "RateLimit"),
	    "r=0"));
	harness_resp_free(&r);
	turn(&a, NULL, "a new thread", &r);
	harness_want(&H, &r, 429);
	harness_resp_free(&r);
	assert_int_equal(rows("items", &a), 2);
	assert_int_equal(rows("threads", &a), 1);
	assert_int_equal(harness_sql_long(&H, "SELECT messages FROM usage "
	    "WHERE user_id = $1::uuid",
	    a.user_id), 40);
}

/* One turn at a time in a thread; a crashed one is taken over. */
static void
test_one_turn_at_a_time(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	const char		*p[1];
	char			 thread[32];

	(void)state;
	harness_user(&H, "thr-busy", &a);
	new_thread(&a, NULL, thread);
	p[0] = thread;
	assert_int_equal(harness_sql(&H, "UPDATE threads SET turn_started_at "
	    "= now() WHERE id = $1", p, 1, NULL, 0), 1);
	turn(&a, thread, "hello", &r);
	harness_want_error(&H, &r, 409, "conflict");
	harness_resp_free(&r);
	assert_int_equal(rows("items", &a), 0);
	/* A turn that started long ago crashed: its message is closed. */
	assert_int_equal(harness_sql(&H, "INSERT INTO items (id, user_id, "
	    "thread_id, seq, role, status) SELECT 'msg_stalestalestale2', "
	    "user_id, id, 1000, 'assistant', 'in_progress' FROM threads "
	    "WHERE id = $1", p, 1, NULL, 0), 1);
	assert_int_equal(harness_sql(&H, "UPDATE threads SET turn_started_at "
	    "= now() - interval '1 day', item_seq = 1000 WHERE id = $1", p, 1,
	    NULL, 0), 1);
	turn(&a, thread, "hello", &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE id = 'msg_stalestalestale2' AND status = 'incomplete'",
	    NULL), 1);
}

/* A client that leaves mid-stream: the partial answer is kept. */
static void
test_disconnect(void **state)
{
	struct harness_auth	 a;
	struct harness_sse	 s;
	const char		*hdrs[2];
	char			 thread[32];
	long			 n = 0;
	int			 i;

	(void)state;
	harness_user(&H, "thr-gone", &a);
	new_thread(&a, NULL, thread);
	hdrs[0] = a.auth_header;
	hdrs[1] = NULL;
	/* The help answer is long: some 30 words, 10 ms apart. */
	assert_int_equal(harness_sse_request(&H, "POST",
	    harness_fmt(P_THREADS "/%s/messages", thread), hdrs,
	    "{\"message\":\"tell me a story\"}", 6, &s), 0);
	assert_int_equal(s.nev, 6);
	assert_string_equal(s.ev[5].event, "message_delta");
	harness_sse_free(&s);
	for (i = 0; i < 50 && n != 1; i++) {
		harness_sleep_ms(50);
		n = harness_sql_long(&H, "SELECT count(*) FROM items WHERE "
		    "thread_id = $1 AND role = 'assistant' AND status = "
		    "'incomplete' AND content <> ''", thread);
	}
	assert_int_equal(n, 1);
	/* The thread is free for the next turn. */
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM threads "
	    "WHERE id = $1 AND turn_started_at IS NULL", thread), 1);
}

/* Another user's thread is not found, anywhere, and stays as it was. */
static void
test_isolation(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	char			 thread[32], before[4096], after[4096];
	const char		*p[1];

	(void)state;
	harness_user(&H, "thr-iso-a", &a);
	harness_user(&H, "thr-iso-b", &b);
	turn(&a, NULL, "add secret plan", &r);
	harness_want(&H, &r, 201);
	snprintf(thread, sizeof(thread), "%s",
	    harness_resp_str(&r, "thread_id"));
	harness_resp_free(&r);
	p[0] = thread;
	assert_true(harness_sql(&H, "SELECT api_thread(t)::text || "
	    "(SELECT string_agg(api_item(i)::text, '') FROM items i WHERE "
	    "thread_id = t.id) FROM threads t WHERE id = $1", p, 1, before,
	    sizeof(before)) == 1);
	req(&b, "GET", harness_fmt(P_THREADS "/%s", thread), NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	req(&b, "GET", harness_fmt(P_THREADS "/%s/messages", thread), NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	req(&b, "PATCH", harness_fmt(P_THREADS "/%s", thread),
	    "{\"title\":\"x\"}", &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	turn(&b, thread, "hello", &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	req(&b, "DELETE", harness_fmt(P_THREADS "/%s", thread), NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	req(&b, "GET", P_THREADS "?q=secret", NULL, &r);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 0);
	harness_resp_free(&r);
	/* B's assistant sees only B's tasks. */
	turn(&b, NULL, "what's on my list", &r);
	harness_want(&H, &r, 201);
	assert_null(strstr(harness_resp_str(&r, "assistant_message.content"),
	    "secret"));
	harness_resp_free(&r);
	assert_true(harness_sql(&H, "SELECT api_thread(t)::text || "
	    "(SELECT string_agg(api_item(i)::text, '') FROM items i WHERE "
	    "thread_id = t.id) FROM threads t WHERE id = $1", p, 1, after,
	    sizeof(after)) == 1);
	assert_string_equal(before, after);
	req(&a, "GET", P_THREADS, NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 1);
	harness_resp_free(&r);
}

/* The tools act as the turn's user: another user's task is not found. */
static void
test_tools_isolation(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	char			 before[2048], after[2048], msg[64];
	const char		*id;

	(void)state;
	harness_user(&H, "thr-tools-a", &a);
	harness_user(&H, "thr-tools-b", &b);
	turn(&a, NULL, "add file the taxes", &r);
	harness_want(&H, &r, 201);
	harness_resp_free(&r);
	task_row(&a, "file the taxes", before, sizeof(before));
	assert_true(before[0] != '\0');
	id = strstr(before, "\"id\":");
	assert_non_null(id);
	snprintf(msg, sizeof(msg), "delete %ld", atol(id + 5));
	turn(&b, NULL, msg, &r);
	harness_want(&H, &r, 201);
	assert_non_null(strstr(harness_resp_str(&r,
	    "assistant_message.content"), "not found"));
	assert_non_null(strstr(r.body, "\"code\":\"not_found\""));
	harness_resp_free(&r);
	snprintf(msg, sizeof(msg), "mark %ld done", atol(id + 5));
	turn(&b, NULL, msg, &r);
	harness_want(&H, &r, 201);
	harness_resp_free(&r);
	task_row(&a, "file the taxes", after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(rows("tasks", &b), 0);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thread_routes),
		cmocka_unit_test(test_turn_json),
		cmocka_unit_test(test_turn_sse),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_turn_validation),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_one_turn_at_a_time),
		cmocka_unit_test(test_disconnect),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_tools_isolation),
	};
	static const struct harness_group group = {
		"test_threads", EXTRA, true, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
