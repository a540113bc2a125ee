/*
 * test_memory_chat.c: memory in the turn, through nginx, with a real
 * PostgreSQL: the facts of a user's message extracted after the answer
 * (lib/memjob.c, run by the serving thread once the client has the whole
 * answer), and the memories given to the model in the next turns (the
 * system prompt, memories_used, the memory_used event).
 *
 * The stack starts with the builtin model (its extractor); the tests that
 * need a remote one restart quipu against t/fakellm, which answers an
 * extraction request with the facts named in the message (fake:facts),
 * slowly (fake:extract_slow) or not at all (fake:extract_status), and a
 * chat request with its own system prompt (fake:echo_system), so that
 * the test sees what the model was told.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
/* How long an extraction may take to show (ms): it runs right after the
 * answer, so this is generous. */
#define WAIT_MS		8000

#define CONF_BUILTIN	"llm_builtin_delay = 0\n" \
			"messages_per_day = 0\n"

/*
 * The question of the next thread. Its directive's words count in the
 * search ("where do I live? fake:echo_system" shares one lexeme of four
 * with "Lives in Paris" and scores just under the prompt's threshold),
 * so it names the city as well.
 */
#define QUESTION	"Do I live in Paris? fake:echo_system"

/* A fact as fake:facts gives it. */
#define FACTS(text, subject) \
	"fake:facts {\"facts\":[{\"text\":\"" text "\",\"subject\":\"" \
	subject "\"}]}"

enum mode {
	MODE_NONE,		/* unknown: a restart failed */
	MODE_BUILTIN,
	MODE_FAKE
};

static enum mode	 mode = MODE_BUILTIN;
/* The fake's config, written once it listens. */
static char		 conf_fake[1024];

static int
prepare(struct harness *h)
{
	return harness_fake_conf(h, KEY,
	    "llm_timeout = 6\n"
	    "llm_retries = 0\n"
	    "messages_per_day = 0\n", conf_fake, sizeof(conf_fake));
}

/* Restarts quipu with the config of `m' unless it runs with it. */
static int
use(enum mode m)
{
	if (mode == m)
		return 0;
	if (harness_restart_quipu(&H, m == MODE_FAKE ? conf_fake :
	    CONF_BUILTIN) == -1) {
		mode = MODE_NONE;
		return -1;
	}
	mode = m;
	return 0;
}

static int
use_builtin(void **state)
{
	(void)state;
	return use(MODE_BUILTIN);
}

static int
use_fake(void **state)
{
	(void)state;
	return use(MODE_FAKE);
}

/* ------------------------------------------------------------- helpers */

/* {"message": msg} */
static const char *
body_for(const char *msg)
{
	struct json_object	*o = json_object_new_object();
	const char		*s;

	json_object_object_add(o, "message", json_object_new_string(msg));
	s = harness_fmt("%s", json_object_to_json_string(o));
	json_object_put(o);
	return s;
}

/* What a JSON turn gave: the thread, the user's message id. */
struct turn {
	char	 thread[32];
	char	 user_item[32];
};

/*
 * A JSON turn, in a new thread (thread NULL) or in `thread'; must
 * succeed. The response stays in r for the caller (freed by it).
 */
static void
turn_json(const struct harness_auth *a, const char *thread, const char *msg,
    struct turn *t, struct harness_resp *r)
{
	struct json_object	*o;

	harness_req(&H, "POST", thread == NULL ? P_THREADS :
	    harness_fmt(P_THREADS "/%s/messages", thread), body_for(msg),
	    a->auth_header, NULL, NULL, r);
	harness_want(&H, r, thread == NULL ? 201 : 200);
	o = harness_resp_json(r);
	assert_non_null(o);
	assert_non_null(harness_json_str(o, "thread_id"));
	assert_non_null(harness_json_str(o, "user_message.id"));
	snprintf(t->thread, sizeof(t->thread), "%s", harness_json_str(o,
	    "thread_id"));
	snprintf(t->user_item, sizeof(t->user_item), "%s",
	    harness_json_str(o, "user_message.id"));
	assert_string_equal(harness_json_str(o, "assistant_message.status"),
	    "completed");
}

/* The same, the response dropped. */
static void
say(const struct harness_auth *a, const char *thread, const char *msg,
    struct turn *t)
{
	struct harness_resp	 r;

	turn_json(a, thread, msg, t, &r);
	harness_resp_free(&r);
}

/* GET /api/v1/memories of the user, parsed; the caller puts it. */
static struct json_object *
memories(const struct harness_auth *a)
{
	struct harness_resp	 r;
	struct json_object	*o;

	harness_req(&H, "GET", P_MEMORIES, NULL, a->auth_header, NULL, NULL,
	    &r);
	harness_want(&H, &r, 200);
	assert_non_null(o = harness_resp_json(&r));
	o = json_object_get(o);
	harness_resp_free(&r);
	return o;
}

/*
 * Polls the user's memories until one says `text' (content equal) and
 * the list has `total' items; fails after WAIT_MS. The list is returned
 * (the caller puts it) and *idx is the memory's index in it.
 */
static struct json_object *
wait_memory(const struct harness_auth *a, const char *text, long total,
    size_t *idx)
{
	struct json_object	*o = NULL;
	uint64_t		 t0 = harness_now_ms();
	const char		*c;
	long			 i, n;

	for (;;) {
		o = memories(a);
		n = harness_json_len(o, "items");
		for (i = 0; i < n; i++) {
			c = harness_json_str(o,
			    harness_fmt("items.%ld.content", i));
			if (c != NULL && strcmp(c, text) == 0 &&
			    harness_json_int(o, "total") == total) {
				*idx = (size_t)i;
				return o;
			}
		}
		if (harness_now_ms() - t0 > WAIT_MS)
			fail_msg("no memory \"%s\" (of %ld) after %d ms: %s",
			    text, total, WAIT_MS,
			    json_object_to_json_string(o));
		json_object_put(o);
		harness_sleep_ms(100);
	}
}

/* GET /api/v1/memories/{id}/history, parsed; the caller puts it. */
static struct json_object *
history(const struct harness_auth *a, int64_t id)
{
	struct harness_resp	 r;
	struct json_object	*o;

	harness_req(&H, "GET", harness_fmt(P_MEMORIES "/%lld/history",
	    (long long)id), NULL, a->auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 200);
	assert_non_null(o = harness_resp_json(&r));
	o = json_object_get(o);
	harness_resp_free(&r);
	return o;
}

/* The memory's source is the turn: its thread and its user message. */
static void
want_source(struct json_object *m, const struct turn *t)
{
	assert_non_null(harness_json_str(m, "source.thread_id"));
	assert_string_equal(harness_json_str(m, "source.thread_id"), t->thread);
	assert_string_equal(harness_json_str(m, "source.item_id"),
	    t->user_item);
}

/* The user's queued extraction jobs. */
static long
jobs(const struct harness_auth *a)
{
	return harness_sql_long(&H, "SELECT count(*) FROM memory_jobs WHERE "
	    "user_id = $1::uuid", a->user_id);
}

/* Waits until the user's queued jobs are done; their count (0). */
static long
wait_jobs_done(const struct harness_auth *a)
{
	uint64_t	 t0 = harness_now_ms();
	long		 n;

	while ((n = jobs(a)) != 0 && harness_now_ms() - t0 <= WAIT_MS)
		harness_sleep_ms(50);
	return n;
}

/* The index of the first event named `name' from `from' on, or -1. */
static int
find_ev(const struct harness_sse *s, const char *name, int from)
{
	size_t	 i;

	for (i = (size_t)from; i < s->nev; i++)
		if (strcmp(s->ev[i].event, name) == 0)
			return (int)i;
	return -1;
}

/* A streamed turn in a new thread; must end with done. */
static void
turn_sse(const struct harness_auth *a, const char *msg,
    struct harness_sse *s)
{
	const char	*hdrs[2] = { a->auth_header, NULL };

	assert_int_equal(harness_sse_request(&H, "POST", P_THREADS, hdrs,
	    body_for(msg), 0, s), 0);
	assert_int_equal(s->status, 200);
	assert_true(s->nev > 0);
	assert_string_equal(s->ev[s->nev - 1].event, "done");
}

/* ------------------------------------------------------------- tests */

/*
 * (a) The builtin extractor: a fact told in a turn becomes a memory
 * shortly after the answer, with the turn as its source and an ADD by
 * the extraction in its history; the job is gone.
 */
static void
test_builtin_extract(void **state)
{
	struct harness_auth	 a;
	struct turn		 t;
	struct json_object	*l, *m, *h;
	size_t			 i;

	(void)state;
	harness_new_user(&H, "mem-a", &a);
	say(&a, NULL, "I live in Paris", &t);
	l = wait_memory(&a, "Lives in Paris", 1, &i);
	m = harness_jpath(l, harness_fmt("items.%zu", i));
	want_source(m, &t);
	h = history(&a, harness_json_int(m, "id"));
	assert_int_equal(harness_json_len(h, "items"), 1);
	assert_string_equal(harness_json_str(h, "items.0.event"), "ADD");
	assert_string_equal(harness_json_str(h, "items.0.actor"), "extraction");
	assert_string_equal(harness_json_str(h, "items.0.new_content"),
	    "Lives in Paris");
	assert_null(harness_json_str(h, "items.0.old_content"));
	want_source(harness_jpath(h, "items.0"), &t);
	json_object_put(h);
	json_object_put(l);
	assert_int_equal(jobs(&a), 0);
}

/*
 * (b) A contradiction keeps the newest: one home memory, Berlin, whose
 * history is the ADD of Paris and the UPDATE to Berlin.
 */
static void
test_contradiction(void **state)
{
	struct harness_auth	 a;
	struct turn		 t1, t2, t3, t4;
	struct json_object	*l, *h;
	int64_t			 id;
	size_t			 i;

	(void)state;
	harness_new_user(&H, "mem-b", &a);
	say(&a, NULL, "I live in Paris", &t1);
	l = wait_memory(&a, "Lives in Paris", 1, &i);
	id = harness_json_int(harness_jpath(l, harness_fmt("items.%zu", i)),
	    "id");
	json_object_put(l);

	say(&a, t1.thread, "I moved to Berlin", &t2);
	l = wait_memory(&a, "Lives in Berlin", 1, &i);
	assert_int_equal(harness_json_int(harness_jpath(l,
	    harness_fmt("items.%zu", i)), "id"), id);
	want_source(harness_jpath(l, harness_fmt("items.%zu", i)), &t2);
	json_object_put(l);

	h = history(&a, id);
	assert_int_equal(harness_json_len(h, "items"), 2);
	assert_string_equal(harness_json_str(h, "items.0.event"), "ADD");
	assert_string_equal(harness_json_str(h, "items.0.new_content"),
	    "Lives in Paris");
	want_source(harness_jpath(h, "items.0"), &t1);
	assert_string_equal(harness_json_str(h, "items.1.event"), "UPDATE");
	assert_string_equal(harness_json_str(h, "items.1.actor"), "extraction");
	assert_string_equal(harness_json_str(h, "items.1.old_content"),
	    "Lives in Paris");
	assert_string_equal(harness_json_str(h, "items.1.new_content"),
	    "Lives in Berlin");
	want_source(harness_jpath(h, "items.1"), &t2);
	json_object_put(h);

	/* Told again, in other words: nothing new (NONE), no event. */
	say(&a, NULL, "I live in Berlin.", &t3);
	assert_int_equal(wait_jobs_done(&a), 0);
	h = history(&a, id);
	assert_int_equal(harness_json_len(h, "items"), 2);
	json_object_put(h);

	/* No longer true: the memory goes, its history says so. */
	say(&a, NULL, "I don't live in Berlin anymore", &t4);
	assert_int_equal(wait_jobs_done(&a), 0);
	l = memories(&a);
	assert_int_equal(harness_json_int(l, "total"), 0);
	json_object_put(l);
	h = history(&a, id);
	assert_int_equal(harness_json_len(h, "items"), 3);
	assert_string_equal(harness_json_str(h, "items.2.event"), "DELETE");
	assert_string_equal(harness_json_str(h, "items.2.actor"), "extraction");
	assert_string_equal(harness_json_str(h, "items.2.old_content"),
	    "Lives in Berlin");
	want_source(harness_jpath(h, "items.2"), &t4);
	json_object_put(h);
}

/*
 * (f) A job whose worker died (leased, the lease run out) is done by the
 * thread of the next turn, anyone's, long before the idle sweep (30 s).
 */
static void
test_orphan(void **state)
{
	struct harness_auth	 a, b;
	struct turn		 t;
	struct json_object	*l, *m;
	const char		*p[1];
	size_t			 i;

	(void)state;
	harness_new_user(&H, "mem-f", &a);
	harness_new_user(&H, "mem-f2", &b);
	p[0] = a.user_id;
	assert_int_equal(harness_sql(&H, "INSERT INTO memory_jobs (user_id, "
	    "thread_id, item_id, message, attempts, locked_until) VALUES "
	    "($1::uuid, 'thr_orphanorphanorph', 'msg_orphanorphanorph', "
	    "'I am vegetarian', 1, now() - interval '1 minute')", p, 1, NULL,
	    0), 1);
	/* Someone else's turn: its thread takes every ready job. */
	say(&b, NULL, "hello there", &t);
	l = wait_memory(&a, "Is vegetarian", 1, &i);
	m = harness_jpath(l, harness_fmt("items.%zu", i));
	assert_string_equal(harness_json_str(m, "source.thread_id"),
	    "thr_orphanorphanorph");
	assert_string_equal(harness_json_str(m, "source.item_id"),
	    "msg_orphanorphanorph");
	json_object_put(l);
	assert_int_equal(jobs(&a), 0);
	assert_int_equal(jobs(&b), 0);
	/* The one who spoke has nothing to remember. */
	l = memories(&b);
	assert_int_equal(harness_json_int(l, "total"), 0);
	json_object_put(l);
}

/*
 * (i) Extraction runs after the answer, sometimes late. A fact said
 * before the user had its memory deleted does not come back when its job
 * runs after the deletion ("I'm vegetarian", then "forget that I'm
 * vegetarian" in the next turn, the first job running last); other
 * facts of that time are applied; said again after the deletion, it is
 * remembered again.
 */
static void
test_late_after_forget(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct turn		 t;
	struct json_object	*l, *o;
	const char		*p[1];
	size_t			 i;
	int64_t			 id;

	(void)state;
	harness_new_user(&H, "mem-i", &a);
	harness_new_user(&H, "mem-i2", &b);
	harness_req(&H, "POST", P_MEMORIES, "{\"content\":\"Is vegetarian\"}",
	    a.auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 201);
	assert_non_null(o = harness_resp_json(&r));
	id = harness_json_int(harness_jpath(o, "memory"), "id");
	harness_resp_free(&r);
	harness_req(&H, "DELETE", harness_fmt(P_MEMORIES "/%lld",
	    (long long)id), NULL, a.auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 204);
	harness_resp_free(&r);
	/* Two turns queued a minute before the deletion, run only now. */
	p[0] = a.user_id;
	assert_int_equal(harness_sql(&H, "INSERT INTO memory_jobs (user_id, "
	    "thread_id, item_id, message, created_at) VALUES ($1::uuid, "
	    "'thr_lateforgetlatefo', 'msg_lateforgetlatefo', 'I am "
	    "vegetarian', now() - interval '1 minute'), ($1::uuid, "
	    "'thr_lateforgetlatefo', 'msg_lateforgetlatefp', 'I live in "
	    "Oslo', now() - interval '1 minute')", p, 1, NULL, 0), 2);
	say(&b, NULL, "hello there", &t);
	l = wait_memory(&a, "Lives in Oslo", 1, &i);
	json_object_put(l);
	assert_int_equal(wait_jobs_done(&a), 0);
	l = memories(&a);
	assert_int_equal(harness_json_int(l, "total"), 1);
	json_object_put(l);
	/* Said after the deletion: remembered. */
	say(&a, NULL, "I am vegetarian", &t);
	l = wait_memory(&a, "Is vegetarian", 2, &i);
	want_source(harness_jpath(l, harness_fmt("items.%zu", i)), &t);
	json_object_put(l);
}

/*
 * (g) Two users telling near-identical facts get one memory each, from
 * their own turn, and never see the other's.
 */
static void
test_isolation(void **state)
{
	struct harness_auth	 a, b;
	struct turn		 ta, tb;
	struct json_object	*la, *lb;
	struct harness_resp	 r;
	int64_t			 ida, idb;
	size_t			 i, j;

	(void)state;
	harness_new_user(&H, "mem-g", &a);
	harness_new_user(&H, "mem-g2", &b);
	say(&a, NULL, "I live in Madrid", &ta);
	say(&b, NULL, "I live in Madrid.", &tb);
	la = wait_memory(&a, "Lives in Madrid", 1, &i);
	lb = wait_memory(&b, "Lives in Madrid", 1, &j);
	want_source(harness_jpath(la, harness_fmt("items.%zu", i)), &ta);
	want_source(harness_jpath(lb, harness_fmt("items.%zu", j)), &tb);
	ida = harness_json_int(harness_jpath(la, harness_fmt("items.%zu", i)),
	    "id");
	idb = harness_json_int(harness_jpath(lb, harness_fmt("items.%zu", j)),
	    "id");
	assert_true(ida != idb);
	json_object_put(la);
	json_object_put(lb);
	/* The other's memory is not found, as a missing one. */
	harness_req(&H, "GET", harness_fmt(P_MEMORIES "/%lld", (long long)idb),
	    NULL, a.auth_header, NULL, NULL, &r);
	harness_want_error(&H, &r, 404, "not_found");
	harness_resp_free(&r);
	/* A's history holds its own ADD alone. */
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM "
	    "memory_events WHERE user_id = $1::uuid", a.user_id), 1);
}

/*
 * (c) A fact told in one thread is in the next thread's prompt: the
 * model (fake:echo_system answers with its system prompt) sees it, the
 * answer reports it in memories_used (and stores it on the message), and
 * a stream has a memory_used event right after the assistant's
 * message_created. A question about something else gets none.
 */
static void
test_prompt_memories(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct harness_sse	 s;
	struct turn		 ta, tb;
	struct json_object	*l, *o, *d;
	size_t			 i;
	int			 k, um, am;

	(void)state;
	harness_new_user(&H, "mem-c", &a);
	say(&a, NULL, "I live in Paris " FACTS("Lives in Paris", "home"), &ta);
	l = wait_memory(&a, "Lives in Paris", 1, &i);
	want_source(harness_jpath(l, harness_fmt("items.%zu", i)), &ta);
	json_object_put(l);

	/* JSON: the answer is the system prompt. */
	turn_json(&a, NULL, QUESTION, &tb, &r);
	o = harness_resp_json(&r);
	assert_non_null(harness_json_str(o, "assistant_message.content"));
	if (strstr(harness_json_str(o, "assistant_message.content"),
	    "Lives in Paris") ==
	    NULL)
		fail_msg("the prompt has no memory: %s",
		    harness_json_str(o, "assistant_message.content"));
	assert_non_null(strstr(harness_json_str(o, "assistant_message.content"),
	    "You are quipu"));
	assert_int_equal(harness_json_len(o, "memories_used"), 1);
	assert_string_equal(harness_json_str(o, "memories_used.0.content"),
	    "Lives in Paris");
	assert_string_equal(harness_json_str(o,
	    "memories_used.0.source.thread_id"), ta.thread);
	/* Stored with the answer. */
	assert_int_equal(harness_json_len(o, "assistant_message.memories_used"),
	    1);
	assert_string_equal(harness_json_str(o,
	    "assistant_message.memories_used.0.content"), "Lives in Paris");
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE user_id = $1::uuid AND role = 'assistant' AND "
	    "json_array_length(memories_used) = 1", a.user_id), 1);

	/* SSE: memory_used right after the assistant's message_created. */
	turn_sse(&a, QUESTION, &s);
	um = find_ev(&s, "message_created", 0);
	assert_true(um >= 0);
	am = find_ev(&s, "message_created", um + 1);
	assert_true(am > um);
	assert_non_null(strstr(s.ev[am].data, "\"role\":\"assistant\""));
	k = find_ev(&s, "memory_used", 0);
	assert_int_equal(k, am + 1);
	assert_non_null(d = json_tokener_parse(s.ev[k].data));
	assert_int_equal(harness_json_len(d, "memories"), 1);
	assert_string_equal(harness_json_str(d, "memories.0.content"),
	    "Lives in Paris");
	json_object_put(d);
	k = find_ev(&s, "message_done", 0);
	assert_true(k > am);
	assert_non_null(strstr(s.ev[k].data, "Lives in Paris"));
	harness_sse_free(&s);

	/* Something else: no memory, no event, "[]". */
	turn_sse(&a, "tell me a joke about penguins fake:echo_system", &s);
	assert_int_equal(find_ev(&s, "memory_used", 0), -1);
	harness_sse_free(&s);
	turn_json(&a, NULL, "tell me a joke about penguins fake:echo_system",
	    &tb, &r);
	o = harness_resp_json(&r);
	assert_int_equal(harness_json_len(o, "memories_used"), 0);
	assert_null(strstr(harness_json_str(o, "assistant_message.content"),
	    "Lives in Paris"));
	harness_resp_free(&r);
}

/*
 * (d) A slow extraction never slows the answer: the client has it long
 * before the model has answered the extraction; the memory comes later.
 */
static void
test_slow_extraction(void **state)
{
	struct harness_auth	 a;
	struct turn		 t;
	struct json_object	*l;
	uint64_t		 t0, took;
	size_t			 i;

	(void)state;
	harness_new_user(&H, "mem-d", &a);
	t0 = harness_now_ms();
	say(&a, NULL, "I live in Lyon fake:extract_slow=3000 "
	    FACTS("Lives in Lyon", "home"), &t);
	took = harness_now_ms() - t0;
	if (took >= 2000)
		fail_msg("the answer took %llu ms", (unsigned long long)took);
	l = memories(&a);
	assert_int_equal(harness_json_int(l, "total"), 0);
	json_object_put(l);
	l = wait_memory(&a, "Lives in Lyon", 1, &i);
	want_source(harness_jpath(l, harness_fmt("items.%zu", i)), &t);
	json_object_put(l);
	/* It came once the slow model had answered. */
	assert_true(harness_now_ms() - t0 >= 3000);
}

/*
 * (e) A failing extraction leaves its job queued, tried once, unleased,
 * for later; the chat answer knows nothing of it.
 */
static void
test_failing_extraction(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct turn		 t;
	struct json_object	*o;
	char			 row[128];
	const char		*p[1];
	uint64_t		 t0;

	(void)state;
	harness_new_user(&H, "mem-e", &a);
	turn_json(&a, NULL, "I live in Rome fake:extract_status=500 "
	    FACTS("Lives in Rome", "home"), &t, &r);
	o = harness_resp_json(&r);
	assert_non_null(strstr(harness_json_str(o, "assistant_message.content"),
	    "Hello from fake"));
	assert_int_equal(harness_json_len(o, "memories_used"), 0);
	harness_resp_free(&r);
	p[0] = a.user_id;
	for (t0 = harness_now_ms();; harness_sleep_ms(100)) {
		assert_int_equal(harness_sql(&H, "SELECT concat_ws(' ', "
		    "attempts, locked_until IS NULL, run_after > now() + "
		    "interval '20 seconds', item_id, thread_id) FROM "
		    "memory_jobs WHERE user_id = $1::uuid", p, 1, row,
		    sizeof(row)), 1);
		if (strncmp(row, "1 t ", 4) == 0)
			break;
		if (harness_now_ms() - t0 > WAIT_MS)
			fail_msg("the job is still \"%s\"", row);
	}
	assert_string_equal(row, harness_fmt("1 t t %s %s", t.user_item,
	    t.thread));
	o = memories(&a);
	assert_int_equal(harness_json_int(o, "total"), 0);
	json_object_put(o);
	/* Not in the way of the next tests (it would run in 30 s). */
	assert_int_equal(harness_sql(&H, "DELETE FROM memory_jobs WHERE "
	    "user_id = $1::uuid", p, 1, NULL, 0), 1);
}

/*
 * (h) What the user said stands whatever became of the answer: the model
 * fails the turn (a 502 to the client, the answer stored as an error),
 * and the fact is extracted all the same.
 */
static void
test_failed_answer(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*o;
	size_t			 i;

	(void)state;
	harness_new_user(&H, "mem-h", &a);
	harness_req(&H, "POST", P_THREADS, body_for("I live in Oslo "
	    "fake:status=500x9 " FACTS("Lives in Oslo", "home")),
	    a.auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 502);
	harness_resp_free(&r);
	o = wait_memory(&a, "Lives in Oslo", 1, &i);
	assert_non_null(harness_json_str(o, harness_fmt(
	    "items.%zu.source.item_id", i)));
	json_object_put(o);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_builtin_extract, use_builtin),
		cmocka_unit_test_setup(test_contradiction, use_builtin),
		cmocka_unit_test_setup(test_orphan, use_builtin),
		cmocka_unit_test_setup(test_late_after_forget, use_builtin),
		cmocka_unit_test_setup(test_isolation, use_builtin),
		cmocka_unit_test_setup(test_prompt_memories, use_fake),
		cmocka_unit_test_setup(test_slow_extraction, use_fake),
		cmocka_unit_test_setup(test_failing_extraction, use_fake),
		cmocka_unit_test_setup(test_failed_answer, use_fake),
	};
	static const struct harness_group group = {
		"test_memory_chat", CONF_BUILTIN, true, prepare, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
