/*
 * test_memory_tools.c: the assistant's memory tools (remember, recall,
 * forget) through real turns, nginx and PostgreSQL.
 *
 * With the builtin model, as a user would: a fact told in one thread
 * ("remember that ...") is in GET /api/v1/memories with the assistant
 * as its author and the thread as its source, is recalled in another
 * thread, and forgotten in a third (a DELETE event by the assistant). A
 * fact only stated ("I live in Paris") is extracted after the turn by
 * the memory job and answers "where do I live?" in a new thread.
 *
 * With a remote model (t/fakellm, "fake:call NAME {json}"): the tools
 * called by name with the model's arguments, their results as the model
 * reads them, bad arguments, and another user's memory id, which is not
 * found and stays.
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

#define P_THREADS	"/api/v1/threads"
#define P_MEMORIES	"/api/v1/memories"
#define KEY		"sk-fake-key-0123456789"
#define EXTRA		"messages_per_day = 0\nllm_builtin_delay = 0\n"

/* ------------------------------------------------------------- helpers */

/* The answer of one turn. */
struct answer {
	char	 thread[32];
	char	 text[2048];
	char	 tool[32];	/* the first tool call's name, "" for none */
};

/*
 * A JSON turn of `a' saying `msg', in thread `thread' (NULL: a new
 * one); the answer must be complete.
 */
static void
turn(const struct harness_auth *a, const char *thread, const char *msg,
    struct answer *ans)
{
	struct harness_resp	 r;
	struct json_object	*o, *calls, *name;
	const char		*s;

	o = json_object_new_object();
	json_object_object_add(o, "message", json_object_new_string(msg));
	harness_req(&H, "POST", thread == NULL ? P_THREADS :
	    harness_fmt(P_THREADS "/%s/messages", thread),
	    json_object_to_json_string(o), a->auth_header, NULL, NULL, &r);
	json_object_put(o);
	harness_want(&H, &r, thread == NULL ? 201 : 200);
	assert_string_equal(harness_resp_str(&r, "assistant_message.status"),
	    "completed");
	assert_non_null(s = harness_resp_str(&r, "thread_id"));
	snprintf(ans->thread, sizeof(ans->thread), "%s", s);
	assert_non_null(s = harness_resp_str(&r, "assistant_message.content"));
	snprintf(ans->text, sizeof(ans->text), "%s", s);
	ans->tool[0] = '\0';
	if (json_object_object_get_ex(harness_resp_json(&r), "tool_calls",
	    &calls) && json_object_array_length(calls) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(calls, 0),
	    "name", &name))
		snprintf(ans->tool, sizeof(ans->tool), "%s",
		    json_object_get_string(name));
	harness_resp_free(&r);
}

/* GET of `path' as `a', 200 expected; the parsed body (caller puts). */
static struct json_object *
get_json(const struct harness_auth *a, const char *path)
{
	struct harness_resp	 r;
	struct json_object	*o;

	harness_req(&H, "GET", path, NULL, a->auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 200);
	o = json_object_get(harness_resp_json(&r));
	assert_non_null(o);
	harness_resp_free(&r);
	return o;
}

/* The user's memories, newest first: the "items" of GET /memories. */
static struct json_object *
memories(const struct harness_auth *a)
{
	return get_json(a, P_MEMORIES);
}

/* The id of the user's one memory whose content has `words', or 0. */
static int64_t
memory_with(const struct harness_auth *a, const char *words)
{
	struct json_object	*o = memories(a), *items = harness_json_array(o,
	    "items"), *m;
	const char		*c;
	int64_t			 id = 0;
	size_t			 i;

	for (i = 0; i < json_object_array_length(items); i++) {
		m = json_object_array_get_idx(items, i);
		if ((c = harness_json_str(m, "content")) != NULL &&
		    strstr(c, words) != NULL) {
			assert_int_equal(id, 0);
			id = harness_json_int(m, "id");
		}
	}
	json_object_put(o);
	return id;
}

/* Polls until the user has a memory with `words' (the memory job). */
static int64_t
wait_memory(const struct harness_auth *a, const char *words)
{
	int64_t	 id;
	int	 i;

	for (i = 0; i < 100; i++) {
		if ((id = memory_with(a, words)) > 0)
			return id;
		harness_sleep_ms(100);
	}
	fail_msg("no memory with \"%s\" after 10 s", words);
	return 0;
}

/*
 * Event `n' (from 0, oldest first) of memory `id': its event, actor and
 * source thread must be these.
 */
static void
assert_event(const struct harness_auth *a, int64_t id, size_t n,
    const char *event, const char *actor, const char *thread)
{
	struct json_object	*o, *items, *e, *src;

	o = get_json(a, harness_fmt(P_MEMORIES "/%lld/history",
	    (long long)id));
	items = harness_json_array(o, "items");
	assert_true(json_object_array_length(items) > n);
	e = json_object_array_get_idx(items, n);
	assert_string_equal(harness_json_str(e, "event"), event);
	assert_string_equal(harness_json_str(e, "actor"), actor);
	assert_int_equal(harness_json_int(e, "memory_id"), id);
	assert_true(json_object_object_get_ex(e, "source", &src));
	assert_string_equal(harness_json_str(src, "thread_id"), thread);
	json_object_put(o);
}

/* ------------------------------------------------------------- builtin */

/* Remember in thread A, recall in B, forget in C. */
static void
test_builtin_tools(void **state)
{
	struct harness_auth	 a;
	struct answer		 ans, th_a;
	struct json_object	*o, *items, *src;
	int64_t			 id;

	(void)state;
	harness_new_user(&H, "memtools", &a);

	turn(&a, NULL, "remember that I'm allergic to peanuts", &th_a);
	assert_string_equal(th_a.tool, "remember");
	assert_string_equal(th_a.text,
	    "Got it: I'll remember that you're allergic to peanuts.");
	o = memories(&a);
	items = harness_json_array(o, "items");
	assert_int_equal(json_object_array_length(items), 1);
	assert_string_equal(harness_json_str(
	    json_object_array_get_idx(items, 0), "content"),
	    "Is allergic to peanuts");
	assert_true(json_object_object_get_ex(json_object_array_get_idx(items,
	    0), "source", &src));
	assert_string_equal(harness_json_str(src, "thread_id"), th_a.thread);
	id = harness_json_int(json_object_array_get_idx(items, 0), "id");
	json_object_put(o);
	assert_event(&a, id, 0, "ADD", "assistant", th_a.thread);

	/* Said again: nothing new. */
	turn(&a, th_a.thread, "please remember that I am allergic to peanuts",
	    &ans);
	assert_string_equal(ans.text, "I already knew that.");
	assert_int_equal(memory_with(&a, "peanuts"), id);

	turn(&a, NULL, "what do you know about me?", &ans);
	assert_string_equal(ans.tool, "recall");
	assert_non_null(strstr(ans.text, "Here is what I remember:"));
	assert_non_null(strstr(ans.text, "peanuts"));

	turn(&a, NULL, "what am I allergic to?", &ans);
	assert_string_equal(ans.tool, "recall");
	assert_string_equal(ans.text, "You told me: Is allergic to peanuts.");

	turn(&a, NULL, "forget that I'm allergic to peanuts", &ans);
	assert_string_equal(ans.tool, "forget");
	assert_string_equal(ans.text, "Forgotten: Is allergic to peanuts.");
	assert_int_equal(memory_with(&a, "peanuts"), 0);
	o = memories(&a);
	assert_int_equal(harness_json_int(o, "total"), 0);
	json_object_put(o);
	/* The history stays, ending with the assistant's DELETE. */
	assert_event(&a, id, 1, "DELETE", "assistant", ans.thread);

	turn(&a, NULL, "forget that I'm allergic to peanuts", &ans);
	assert_string_equal(ans.text, "I had nothing like that to forget.");
	turn(&a, NULL, "who am I?", &ans);
	assert_string_equal(ans.text,
	    "I don't remember anything about you yet.");

	/* "remember to ..." is still a task. */
	turn(&a, NULL, "remember to buy milk", &ans);
	assert_string_equal(ans.tool, "create_task");
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE user_id = $1::uuid AND title = 'buy milk'", a.user_id), 1);
	assert_int_equal(memory_with(&a, "milk"), 0);
}

/*
 * The "done when": a fact stated in one thread (extracted after
 * the turn) answers a question in another.
 */
static void
test_builtin_extracted(void **state)
{
	struct harness_auth	 a;
	struct answer		 d, e;
	int64_t			 id;

	(void)state;
	harness_new_user(&H, "memtools", &a);
	turn(&a, NULL, "I live in Paris", &d);
	assert_string_equal(d.tool, "");
	assert_non_null(strstr(d.text, "I'll remember that"));
	id = wait_memory(&a, "Paris");
	assert_event(&a, id, 0, "ADD", "extraction", d.thread);

	turn(&a, NULL, "where do I live?", &e);
	assert_string_equal(e.tool, "recall");
	assert_non_null(strstr(e.text, "Paris"));
}

/* ------------------------------------------------------------- remote */

/* The fake's answer after the tools: "Tool results: ID=CONTENT ...". */
static void
remote_turn(const struct harness_auth *a, const char *msg, struct answer *ans)
{
	turn(a, NULL, msg, ans);
	assert_non_null(strstr(ans->text, "Tool results: call_fake_0="));
}

/* A memory of `a' added by the API: its id. */
static int64_t
add_memory(const struct harness_auth *a, const char *content)
{
	struct harness_resp	 r;
	struct json_object	*o = json_object_new_object();
	int64_t			 id;

	json_object_object_add(o, "content", json_object_new_string(content));
	harness_req(&H, "POST", P_MEMORIES, json_object_to_json_string(o),
	    a->auth_header, NULL, NULL, &r);
	json_object_put(o);
	harness_want(&H, &r, 201);
	assert_true(json_object_object_get_ex(harness_resp_json(&r), "memory",
	    &o));
	id = harness_json_int(o, "id");
	harness_resp_free(&r);
	return id;
}

static void
test_remote_tools(void **state)
{
	struct harness_auth	 a, b;
	struct answer		 ans;
	char			 conf[1024];
	int64_t			 mine, theirs;

	(void)state;
	assert_int_equal(harness_fake_conf(&H, KEY, EXTRA "llm_timeout = 10\n",
	    conf, sizeof(conf)), 0);
	assert_int_equal(harness_restart_quipu(&H, conf), 0);
	harness_new_user(&H, "memremote", &a);
	harness_new_user(&H, "memremote", &b);

	remote_turn(&a, "fake:call remember {\"content\":\"I live in "
	    "Lisbon\"}", &ans);
	assert_non_null(strstr(ans.text, "{\"event\":\"ADD\",\"memory\":{"
	    "\"id\":"));
	assert_non_null(strstr(ans.text, "\"content\":\"Lives in Lisbon\""));
	mine = memory_with(&a, "Lisbon");
	assert_true(mine > 0);
	assert_event(&a, mine, 0, "ADD", "assistant", ans.thread);
	/* Not one fact (here two): kept as written, a note. */
	remote_turn(&a, "fake:call remember {\"content\":\" I like tea and I "
	    "hate coffee \"}", &ans);
	assert_non_null(strstr(ans.text, "{\"event\":\"ADD\",\"memory\":{"));
	assert_non_null(strstr(ans.text,
	    "\"content\":\"I like tea and I hate coffee\""));
	assert_true(memory_with(&a, "I like tea and I hate coffee") > 0);

	remote_turn(&a, "fake:call recall {\"query\":\"where do I live?\"}",
	    &ans);
	assert_non_null(strstr(ans.text, "{\"memories\":[{\"id\":"));
	assert_non_null(strstr(ans.text, "Lives in Lisbon"));
	/* Scores with three decimals. */
	assert_non_null(strstr(ans.text, "\"score\":0."));
	assert_null(strstr(ans.text, "0000"));
	remote_turn(&a, "fake:call recall {}", &ans);
	assert_non_null(strstr(ans.text, "Lives in Lisbon"));
	assert_non_null(strstr(ans.text, "I like tea and I hate coffee"));

	/* Another user's memory: not found, and still there. */
	theirs = add_memory(&b, "I like jazz");
	remote_turn(&a, harness_fmt("fake:call forget {\"memory_id\":%lld}",
	    (long long)theirs), &ans);
	assert_non_null(strstr(ans.text, harness_fmt("{\"error\":{\"code\":"
	    "\"not_found\",\"message\":\"memory %lld not found\"",
	    (long long)theirs)));
	assert_int_equal(memory_with(&b, "jazz"), theirs);
	/* Nor can a query reach it. */
	remote_turn(&a, "fake:call forget {\"query\":\"I like jazz\"}", &ans);
	assert_non_null(strstr(ans.text, "{\"error\":{\"code\":"
	    "\"not_found\""));
	assert_int_equal(memory_with(&b, "jazz"), theirs);

	/* A query forgets only what it names. */
	remote_turn(&a, "fake:call forget {\"query\":\"I live in Paris\"} "
	    "fake:call forget {\"query\":\"coffee and jazz\"}", &ans);
	assert_non_null(strstr(ans.text, "call_fake_0={\"error\":{\"code\":"
	    "\"not_found\""));
	assert_non_null(strstr(ans.text, "call_fake_1={\"error\":{\"code\":"
	    "\"not_found\""));
	assert_int_equal(memory_with(&a, "Lisbon"), mine);
	assert_true(memory_with(&a, "coffee") > 0);

	/* Bad arguments: errors for the model, nothing changed. */
	remote_turn(&a, "fake:call forget {} fake:call remember "
	    "{\"content\":\"  \"} fake:call recall {\"query\":7}", &ans);
	assert_non_null(strstr(ans.text, "call_fake_0={\"error\":{\"code\":"
	    "\"validation_failed\""));
	assert_non_null(strstr(ans.text, "call_fake_1={\"error\":{\"code\":"
	    "\"validation_failed\""));
	assert_non_null(strstr(ans.text, "call_fake_2={\"error\":{\"code\":"
	    "\"validation_failed\""));
	assert_true(memory_with(&a, "Lisbon") == mine);

	/* Its own, by id and by query. */
	remote_turn(&a, harness_fmt("fake:call forget {\"memory_id\":%lld}",
	    (long long)mine), &ans);
	assert_non_null(strstr(ans.text, "{\"deleted\":{\"id\":"));
	assert_int_equal(memory_with(&a, "Lisbon"), 0);
	assert_event(&a, mine, 1, "DELETE", "assistant", ans.thread);
	remote_turn(&a, "fake:call forget {\"query\":\"tea and coffee\"}",
	    &ans);
	assert_non_null(strstr(ans.text, "{\"deleted\":{\"id\":"));
	assert_int_equal(memory_with(&a, "tea"), 0);
	assert_int_equal(memory_with(&b, "jazz"), theirs);

	assert_int_equal(harness_restart_quipu(&H, EXTRA), 0);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_tools),
		cmocka_unit_test(test_builtin_extracted),
		cmocka_unit_test(test_remote_tools),
	};
	static const struct harness_group group = {
		"test_memory_tools", EXTRA, true, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
