/*
 * test_builtin.c: the builtin model. For each family of phrasings the
 * call of the first round; the second round of a task named by words;
 * the answers told from crafted tool results; the memory phrases
 * (remember, recall, forget) and their answers; the help; streaming word
 * by word, stopping, ticks; determinism; builtin_title().
 *
 * Every conversation is read against Sun 2026-11-22 12:00Z.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "builtin.h"
#include "llm.h"

#define NOW		((time_t)1795348800)	/* Sun 2026-11-22 12:00:00Z */
#define MAX_MSG		16
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A conversation, the last result, and what the callbacks saw. */
struct conv {
	struct arena		*arena;
	struct llm_message	 m[MAX_MSG];
	size_t			 n;
	struct llm_result	 out;
	struct json_object	*args;		/* the last call's, parsed */
	bool			 stream;
	int			 delay_ms;
	char			 got[8192];	/* the deltas, joined */
	size_t			 glen;
	int			 ndeltas;
	bool			 deltas_ok;	/* each: a word, white space */
	int			 stop_delta;	/* on_delta stops at this one */
	int			 ticks;
	int			 stop_tick;	/* tick says stop on this one */
};

static void
conv_add(struct conv *cv, const char *role, const char *content)
{
	assert_true(cv->n < MAX_MSG);
	memset(&cv->m[cv->n], 0, sizeof(cv->m[cv->n]));
	cv->m[cv->n].role = role;
	cv->m[cv->n].content = content;
	cv->n++;
}

/* A conversation whose new user message is `user'. */
static void
conv_init(struct conv *cv, const char *user)
{
	memset(cv, 0, sizeof(*cv));
	cv->arena = arena_create(8192);
	assert_non_null(cv->arena);
	cv->stream = true;
	cv->deltas_ok = true;
	conv_add(cv, "system", "You are quipu, a task assistant.");
	conv_add(cv, "user", "hi");
	conv_add(cv, "assistant", "Hi! What can I do for you?");
	conv_add(cv, "user", user);
}

static void
conv_free(struct conv *cv)
{
	json_object_put(cv->args);
	arena_destroy(cv->arena);
	memset(cv, 0, sizeof(*cv));
}

static int
on_delta(void *ctx, const char *text, size_t len)
{
	struct conv	*cv = ctx;
	size_t		 i;

	assert_true(len > 0);
	assert_true(cv->glen + len < sizeof(cv->got));
	/* A word, then only white space. */
	for (i = 0; i < len && text[i] != ' ' && text[i] != '\n'; i++)
		continue;
	if (i == 0)
		cv->deltas_ok = false;
	for (; i < len; i++)
		if (text[i] != ' ' && text[i] != '\n')
			cv->deltas_ok = false;
	memcpy(cv->got + cv->glen, text, len);
	cv->glen += len;
	cv->got[cv->glen] = '\0';
	cv->ndeltas++;
	return cv->stop_delta != 0 && cv->ndeltas == cv->stop_delta;
}

static bool
on_tick(void *ctx)
{
	struct conv	*cv = ctx;

	cv->ticks++;
	return cv->stop_tick != 0 && cv->ticks == cv->stop_tick;
}

/* One model call on the conversation so far. */
static enum app_err
conv_run(struct conv *cv)
{
	struct llm_request	 req;
	struct llm_callbacks	 cb = { on_delta, on_tick, NULL, cv };
	enum app_err		 rc;

	memset(&req, 0, sizeof(req));
	req.messages = cv->m;
	req.nmessages = cv->n;
	req.stream = cv->stream;
	req.now = NOW;
	json_object_put(cv->args);
	cv->args = NULL;
	cv->glen = 0;
	cv->got[0] = '\0';
	cv->ndeltas = 0;
	rc = builtin_complete(cv->arena, &req, &cb, cv->delay_ms, &cv->out);
	assert_non_null(cv->out.text);
	return rc;
}

/* The round gave exactly one call to `name': its arguments. */
static struct json_object *
conv_call(struct conv *cv, const char *name)
{
	assert_string_equal(cv->out.finish_reason, "tool_calls");
	assert_int_equal(cv->out.ntool_calls, 1);
	assert_string_equal(cv->out.text, "");
	assert_string_equal(cv->out.tool_calls[0].name, name);
	assert_non_null(cv->out.tool_calls[0].id);
	cv->args = json_tokener_parse(cv->out.tool_calls[0].arguments);
	assert_non_null(cv->args);
	assert_true(json_object_is_type(cv->args, json_type_object));
	return cv->args;
}

/* The round gave an answer: its text. */
static const char *
conv_answer(struct conv *cv)
{
	assert_string_equal(cv->out.finish_reason, "stop");
	assert_int_equal(cv->out.ntool_calls, 0);
	assert_int_equal(cv->out.text_len, strlen(cv->out.text));
	return cv->out.text;
}

/* Appends the last call and its result `json', then runs the next round. */
static enum app_err
conv_reply(struct conv *cv, const char *json)
{
	struct llm_message	*m;

	assert_int_equal(cv->out.ntool_calls, 1);
	assert_true(cv->n + 2 <= MAX_MSG);
	m = &cv->m[cv->n++];
	memset(m, 0, sizeof(*m));
	m->role = "assistant";
	m->tool_calls = cv->out.tool_calls;
	m->ntool_calls = cv->out.ntool_calls;
	m = &cv->m[cv->n++];
	memset(m, 0, sizeof(*m));
	m->role = "tool";
	m->tool_call_id = cv->out.tool_calls[0].id;
	m->content = json;
	return conv_run(cv);
}

/* ------------------------------------------------------------ fields */

static const char *
str_of(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool
has(struct json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

static int64_t
int_of(struct json_object *o, const char *key)
{
	struct json_object	*v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

/* Asserts member `key' is the string `want', or absent when want is NULL. */
static void
assert_str_member(struct json_object *o, const char *key, const char *want,
    const char *msg)
{
	if (want == NULL) {
		if (has(o, key))
			fail_msg("%s: unexpected \"%s\"", msg, key);
		return;
	}
	if (str_of(o, key) == NULL)
		fail_msg("%s: no string \"%s\" in %s", msg, key,
		    json_object_to_json_string(o));
	if (strcmp(str_of(o, key), want) != 0)
		fail_msg("%s: \"%s\" is \"%s\", want \"%s\"", msg, key,
		    str_of(o, key), want);
}

/* A task as the API writes it. */
static const char *
task(struct conv *cv, int id, const char *title, bool done,
    const char *prio, const char *due)
{
	char	*s;

	s = arena_printf(cv->arena, "{\"id\":%d,\"title\":\"%s\","
	    "\"description\":null,\"completed\":%s,\"priority\":\"%s\","
	    "\"due_at\":%s%s%s,\"tags\":[],"
	    "\"created_at\":\"2026-11-20T10:00:00.000Z\","
	    "\"updated_at\":\"2026-11-20T10:00:00.000Z\","
	    "\"completed_at\":null}", id, title, done ? "true" : "false",
	    prio, due != NULL ? "\"" : "", due != NULL ? due : "null",
	    due != NULL ? "\"" : "");
	assert_non_null(s);
	return s;
}

/* A list_tasks result of the given tasks (JSON texts). */
static const char *
list_of(struct conv *cv, int total, const char *t1, const char *t2,
    const char *t3)
{
	char	*s;

	s = arena_printf(cv->arena, "{\"items\":[%s%s%s%s%s],\"total\":%d,"
	    "\"limit\":20,\"offset\":0}", t1 != NULL ? t1 : "",
	    t2 != NULL ? "," : "", t2 != NULL ? t2 : "",
	    t3 != NULL ? "," : "", t3 != NULL ? t3 : "", total);
	assert_non_null(s);
	return s;
}

/* ------------------------------------------------------------ round one */

static const struct {
	const char	*msg;
	const char	*title;
	const char	*due;
	const char	*prio;
	const char	*tag1;
	const char	*tag2;
} add_cases[] = {
	{ "add buy milk tomorrow", "buy milk", "2026-11-23T00:00:00Z",
	    NULL, NULL, NULL },
	{ "Add a task to call Mom on Friday", "call Mom",
	    "2026-11-27T00:00:00Z", NULL, NULL, NULL },
	{ "remind me to pay rent next week", "pay rent",
	    "2026-11-23T00:00:00Z", NULL, NULL, NULL },
	{ "new task: Water the plants", "Water the plants", NULL, NULL, NULL,
	    NULL },
	{ "todo renew passport in 3 days high priority", "renew passport",
	    "2026-11-25T00:00:00Z", "high", NULL, NULL },
	{ "create task Book dentist on 2026-12-01 #health", "Book dentist",
	    "2026-12-01T00:00:00Z", NULL, "health", NULL },
	{ "Please add file taxes next friday, urgent!", "file taxes",
	    "2026-12-04T00:00:00Z", "high", NULL, NULL },
	{ "can you add buy eggs today, low priority?", "buy eggs",
	    "2026-11-22T00:00:00Z", "low", NULL, NULL },
	{ "add call the bank sunday", "call the bank",
	    "2026-11-22T00:00:00Z", NULL, NULL, NULL },
	{ "add review PR on monday", "review PR", "2026-11-23T00:00:00Z",
	    NULL, NULL, NULL },
	{ "add plan trip in a week #travel #Fun", "plan trip",
	    "2026-11-29T00:00:00Z", NULL, "travel", "fun" },
	{ "add Buy milk important", "Buy milk", NULL, "high", NULL, NULL },
	{ "add team sync wed, medium priority", "team sync",
	    "2026-11-25T00:00:00Z", "medium", NULL, NULL },
	{ "add \"Read Dune\" to my list", "Read Dune", NULL, NULL, NULL,
	    NULL },
	{ "create a task called Fix the sink due tomorrow", "Fix the sink",
	    "2026-11-23T00:00:00Z", NULL, NULL, NULL },
	{ "add walk the dog tonight", "walk the dog", "2026-11-22T00:00:00Z",
	    NULL, NULL, NULL },
	{ "hey, add pay bills by Tuesday please", "pay bills",
	    "2026-11-24T00:00:00Z", NULL, NULL, NULL },
	{ "add caf\xc3\xa9 visit with a high priority", "caf\xc3\xa9 visit",
	    NULL, "high", NULL, NULL },
	{ "add renew lease on 2027-02-28", "renew lease",
	    "2027-02-28T00:00:00Z", NULL, NULL, NULL },
	/* A day name inside the title stays there; at the end it is due. */
	{ "add Sunday roast", "Sunday roast", NULL, NULL, NULL, NULL },
	{ "add call mom friday urgent", "call mom", "2026-11-27T00:00:00Z",
	    "high", NULL, NULL },
	{ "make a task to call Bob urgent", "call Bob", NULL, "high", NULL,
	    NULL },
};

static void
test_add(void **state)
{
	struct json_object	*args, *tags;
	struct conv		 cv;
	size_t			 i, ntags;

	for (i = 0; i < NELEM(add_cases); i++) {
		conv_init(&cv, add_cases[i].msg);
		assert_int_equal(conv_run(&cv), APP_OK);
		args = conv_call(&cv, "create_task");
		assert_str_member(args, "title", add_cases[i].title,
		    add_cases[i].msg);
		assert_str_member(args, "due_at", add_cases[i].due,
		    add_cases[i].msg);
		assert_str_member(args, "priority", add_cases[i].prio,
		    add_cases[i].msg);
		ntags = (add_cases[i].tag1 != NULL) +
		    (add_cases[i].tag2 != NULL);
		if (ntags == 0) {
			assert_false(has(args, "tags"));
		} else {
			assert_true(json_object_object_get_ex(args, "tags",
			    &tags));
			assert_int_equal(json_object_array_length(tags), ntags);
			assert_string_equal(json_object_get_string(
			    json_object_array_get_idx(tags, 0)),
			    add_cases[i].tag1);
			if (ntags == 2)
				assert_string_equal(json_object_get_string(
				    json_object_array_get_idx(tags, 1)),
				    add_cases[i].tag2);
		}
		conv_free(&cv);
	}
}

/* Nothing to add, or no task to act on: a question, without a call. */
static void
test_add_empty(void **state)
{
	static const char *const msgs[] = { "add tomorrow", "add a task",
	    "create task", "add #home" };
	struct conv	 cv;
	size_t		 i;

	for (i = 0; i < NELEM(msgs); i++) {
		conv_init(&cv, msgs[i]);
		assert_int_equal(conv_run(&cv), APP_OK);
		assert_memory_equal(conv_answer(&cv), "What should the task "
		    "say?", 21);
		conv_free(&cv);
	}
	conv_init(&cv, "mark done");
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_memory_equal(conv_answer(&cv), "Which task?", 11);
	conv_free(&cv);
}

static const struct {
	const char	*msg;
	const char	*status;
	const char	*before;
	const char	*after;
	bool		 by_due;
} list_cases[] = {
	{ "what's on my list", "pending", NULL, NULL, true },
	{ "Show my tasks", "pending", NULL, NULL, true },
	{ "list tasks", "pending", NULL, NULL, true },
	{ "What do I have to do?", "pending", NULL, NULL, true },
	{ "show pending", "pending", NULL, NULL, true },
	{ "what's left", "pending", NULL, NULL, true },
	{ "What\xe2\x80\x99s left?", "pending", NULL, NULL, true },
	{ "show done", "completed", NULL, NULL, false },
	{ "what have I completed", "completed", NULL, NULL, false },
	{ "completed tasks", "completed", NULL, NULL, false },
	{ "show all my tasks", "all", NULL, NULL, false },
	{ "can you show me everything please", "all", NULL, NULL, false },
	{ "what's due today", "pending", "2026-11-23T00:00:00Z", NULL, true },
	{ "due this week", "pending", "2026-11-23T00:00:00Z", NULL, true },
	{ "what's due tomorrow?", "pending", "2026-11-24T00:00:00Z",
	    "2026-11-22T23:59:59Z", true },
	{ "what's overdue", "pending", "2026-11-22T00:00:00Z", NULL, true },
};

static void
test_list(void **state)
{
	struct json_object	*args;
	struct conv		 cv;
	size_t			 i;

	for (i = 0; i < NELEM(list_cases); i++) {
		conv_init(&cv, list_cases[i].msg);
		assert_int_equal(conv_run(&cv), APP_OK);
		args = conv_call(&cv, "list_tasks");
		assert_str_member(args, "status", list_cases[i].status,
		    list_cases[i].msg);
		assert_str_member(args, "due_before", list_cases[i].before,
		    list_cases[i].msg);
		assert_str_member(args, "due_after", list_cases[i].after,
		    list_cases[i].msg);
		assert_str_member(args, "sort", list_cases[i].by_due ?
		    "due_at" : NULL, list_cases[i].msg);
		assert_false(has(args, "q"));
		assert_int_equal(int_of(args, "limit"), 20);
		conv_free(&cv);
	}
}

/* A task named by number: the action at once. */
static const struct {
	const char	*msg;
	const char	*tool;
	int		 id;
	const char	*key;		/* the field that changes */
	const char	*value;		/* its value; NULL: JSON null */
} act_cases[] = {
	{ "mark 3 done", "complete_task", 3, NULL, NULL },
	{ "complete 3", "complete_task", 3, NULL, NULL },
	{ "done 3", "complete_task", 3, NULL, NULL },
	{ "check off 3", "complete_task", 3, NULL, NULL },
	{ "finish #3", "complete_task", 3, NULL, NULL },
	{ "Mark task 3 as done.", "complete_task", 3, NULL, NULL },
	{ "please tick off #12", "complete_task", 12, NULL, NULL },
	{ "3 is done", "complete_task", 3, NULL, NULL },
	{ "reopen 3", "complete_task", 3, "completed", "false" },
	{ "mark 3 as not done", "complete_task", 3, "completed", "false" },
	{ "uncomplete 3", "complete_task", 3, "completed", "false" },
	{ "undo 3", "complete_task", 3, "completed", "false" },
	{ "mark #3 as incomplete", "complete_task", 3, "completed", "false" },
	{ "rename 3 to buy oat milk", "update_task", 3, "title",
	    "buy oat milk" },
	{ "change the title of 3 to Buy Oat Milk", "update_task", 3, "title",
	    "Buy Oat Milk" },
	{ "make 3 high priority", "update_task", 3, "priority", "high" },
	{ "set priority of 3 to low", "update_task", 3, "priority", "low" },
	{ "3 is urgent", "update_task", 3, "priority", "high" },
	{ "mark 7 as important", "update_task", 7, "priority", "high" },
	{ "move 3 to friday", "update_task", 3, "due_at",
	    "2026-11-27T00:00:00Z" },
	{ "postpone 3 to next week", "update_task", 3, "due_at",
	    "2026-11-23T00:00:00Z" },
	{ "3 is due tomorrow", "update_task", 3, "due_at",
	    "2026-11-23T00:00:00Z" },
	{ "set the due date of 3 to 2026-12-24", "update_task", 3, "due_at",
	    "2026-12-24T00:00:00Z" },
	{ "push task 3 to next monday", "update_task", 3, "due_at",
	    "2026-11-30T00:00:00Z" },
	{ "remove the due date of 3", "update_task", 3, "due_at", NULL },
	{ "delete 3", "delete_task", 3, NULL, NULL },
	{ "remove #3", "delete_task", 3, NULL, NULL },
	{ "Delete task 3 from my list", "delete_task", 3, NULL, NULL },
};

static void
test_act_by_id(void **state)
{
	struct json_object	*args, *v;
	struct conv		 cv;
	size_t			 i;

	for (i = 0; i < NELEM(act_cases); i++) {
		conv_init(&cv, act_cases[i].msg);
		assert_int_equal(conv_run(&cv), APP_OK);
		if (cv.out.ntool_calls != 1 ||
		    strcmp(cv.out.tool_calls[0].name, act_cases[i].tool) != 0)
			fail_msg("%s: got %s", act_cases[i].msg,
			    cv.out.ntool_calls == 1 ?
			    cv.out.tool_calls[0].name : cv.out.text);
		args = conv_call(&cv, act_cases[i].tool);
		assert_int_equal(int_of(args, "id"), act_cases[i].id);
		/* The id and, at most, the field that changes. */
		assert_int_equal(json_object_object_length(args),
		    act_cases[i].key != NULL ? 2 : 1);
		if (act_cases[i].key == NULL) {
			conv_free(&cv);
			continue;
		}
		assert_true(json_object_object_get_ex(args, act_cases[i].key,
		    &v));
		if (act_cases[i].value == NULL)
			assert_true(json_object_is_type(v, json_type_null));
		else if (strcmp(act_cases[i].key, "completed") == 0)
			assert_false(json_object_get_boolean(v));
		else
			assert_str_member(args, act_cases[i].key,
			    act_cases[i].value, act_cases[i].msg);
		conv_free(&cv);
	}
}

/* A task named by words: a search first, in the right status. */
static const struct {
	const char	*msg;
	const char	*q;
	const char	*status;
} find_cases[] = {
	{ "I finished buy milk", "buy milk", "pending" },
	{ "mark buy milk as done", "buy milk", "pending" },
	{ "check off the Dentist appointment", "Dentist appointment",
	    "pending" },
	{ "reopen buy milk", "buy milk", "completed" },
	{ "rename buy milk to buy oat milk", "buy milk", "all" },
	{ "prioritise buy milk", "buy milk", "all" },
	{ "move buy milk to friday", "buy milk", "all" },
	{ "remove buy milk", "buy milk", "all" },
	{ "delete the buy milk task.", "buy milk", "all" },
};

static void
test_find_by_words(void **state)
{
	struct json_object	*args;
	struct conv		 cv;
	size_t			 i;

	for (i = 0; i < NELEM(find_cases); i++) {
		conv_init(&cv, find_cases[i].msg);
		assert_int_equal(conv_run(&cv), APP_OK);
		args = conv_call(&cv, "list_tasks");
		assert_str_member(args, "q", find_cases[i].q,
		    find_cases[i].msg);
		assert_str_member(args, "status", find_cases[i].status,
		    find_cases[i].msg);
		assert_int_equal(int_of(args, "limit"), 10);
		conv_free(&cv);
	}
}

/* ------------------------------------------------------------ round two */

/* One match: act on it, then tell what changed. */
static void
test_resolve_one(void **state)
{
	struct json_object	*args;
	struct conv		 cv;

	conv_init(&cv, "rename buy milk to buy oat milk");
	assert_int_equal(conv_run(&cv), APP_OK);
	conv_call(&cv, "list_tasks");
	assert_int_equal(conv_reply(&cv, list_of(&cv, 1,
	    task(&cv, 7, "Buy milk", false, "none", NULL), NULL, NULL)),
	    APP_OK);
	args = conv_call(&cv, "update_task");
	assert_int_equal(int_of(args, "id"), 7);
	assert_str_member(args, "title", "buy oat milk", "rename");
	assert_int_equal(conv_reply(&cv, task(&cv, 7, "buy oat milk", false,
	    "none", NULL)), APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "Renamed #7 to \"buy oat milk\".");
	conv_free(&cv);
}

/* None: say so, with the words and the status searched. */
static void
test_resolve_none(void **state)
{
	struct conv	 cv;

	conv_init(&cv, "I finished buy milk");
	assert_int_equal(conv_run(&cv), APP_OK);
	conv_call(&cv, "list_tasks");
	assert_int_equal(conv_reply(&cv, list_of(&cv, 0, NULL, NULL, NULL)),
	    APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "No pending task matches \"buy milk\".");
	conv_free(&cv);

	conv_init(&cv, "delete walk dog");
	assert_int_equal(conv_run(&cv), APP_OK);
	conv_call(&cv, "list_tasks");
	assert_int_equal(conv_reply(&cv, list_of(&cv, 0, NULL, NULL, NULL)),
	    APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "No task matches \"walk dog\".");
	conv_free(&cv);
}

/* Several and none exact: ask which, listing "#id title". */
static void
test_resolve_several(void **state)
{
	struct conv	 cv;
	const char	*text;

	conv_init(&cv, "mark milk as done");
	assert_int_equal(conv_run(&cv), APP_OK);
	conv_call(&cv, "list_tasks");
	assert_int_equal(conv_reply(&cv, list_of(&cv, 2,
	    task(&cv, 3, "buy milk", false, "high", NULL),
	    task(&cv, 5, "buy milk powder", false, "none", NULL), NULL)),
	    APP_OK);
	text = conv_answer(&cv);
	assert_string_equal(text, "Several tasks match \"milk\". Which one "
	    "do you mean?\n- #3 buy milk\n- #5 buy milk powder");
	conv_free(&cv);
}

/* Several, one with exactly the words as title (any case): that one. */
static void
test_resolve_exact(void **state)
{
	struct json_object	*args;
	struct conv		 cv;

	conv_init(&cv, "delete buy milk");
	assert_int_equal(conv_run(&cv), APP_OK);
	conv_call(&cv, "list_tasks");
	assert_int_equal(conv_reply(&cv, list_of(&cv, 3,
	    task(&cv, 5, "buy milk powder", false, "none", NULL),
	    task(&cv, 3, "Buy Milk", false, "none", NULL),
	    task(&cv, 9, "buy milkshake", true, "none", NULL))), APP_OK);
	args = conv_call(&cv, "delete_task");
	assert_int_equal(int_of(args, "id"), 3);
	assert_int_equal(conv_reply(&cv, arena_printf(cv.arena,
	    "{\"deleted\":true,\"task\":%s}", task(&cv, 3, "Buy Milk", false,
	    "none", NULL))), APP_OK);
	assert_string_equal(conv_answer(&cv), "Deleted #3 \"Buy Milk\".");
	conv_free(&cv);
}

/* The search failed: the error is told. */
static void
test_resolve_error(void **state)
{
	struct conv	 cv;

	conv_init(&cv, "complete buy milk");
	assert_int_equal(conv_run(&cv), APP_OK);
	conv_call(&cv, "list_tasks");
	assert_int_equal(conv_reply(&cv, "{\"error\":{\"code\":\"internal\","
	    "\"message\":\"the database is unavailable\"}}"), APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "I couldn't do that: the database is unavailable.");
	conv_free(&cv);
}

/* ------------------------------------------------------------ answers */

/* Runs `msg' (a task named by number), feeds `result', returns the answer. */
static const char *
answer_after(struct conv *cv, const char *msg, const char *tool,
    const char *result)
{
	conv_init(cv, msg);
	assert_int_equal(conv_run(cv), APP_OK);
	conv_call(cv, tool);
	if (result == NULL)
		return NULL;
	assert_int_equal(conv_reply(cv, result), APP_OK);
	return conv_answer(cv);
}

static void
test_answers(void **state)
{
	struct conv	 cv;

	answer_after(&cv, "add buy milk tomorrow", "create_task", NULL);
	assert_int_equal(conv_reply(&cv, task(&cv, 12, "buy milk", false,
	    "none", "2026-11-23T00:00:00Z")), APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "Added #12 \"buy milk\", due Mon 23 Nov.");
	conv_free(&cv);

	answer_after(&cv, "add file taxes on 2027-01-05 urgent",
	    "create_task", NULL);
	assert_int_equal(conv_reply(&cv, task(&cv, 13, "file taxes", false,
	    "high", "2027-01-05T00:00:00Z")), APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "Added #13 \"file taxes\", due Tue 5 Jan 2027, high priority.");
	conv_free(&cv);

	answer_after(&cv, "mark 3 done", "complete_task", NULL);
	assert_int_equal(conv_reply(&cv, task(&cv, 3, "buy milk", true,
	    "none", NULL)), APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "Marked #3 \"buy milk\" as done.");
	conv_free(&cv);

	answer_after(&cv, "reopen 3", "complete_task", NULL);
	assert_int_equal(conv_reply(&cv, task(&cv, 3, "buy milk", false,
	    "none", NULL)), APP_OK);
	assert_string_equal(conv_answer(&cv), "Reopened #3 \"buy milk\".");
	conv_free(&cv);

	answer_after(&cv, "make 3 high priority", "update_task", NULL);
	assert_int_equal(conv_reply(&cv, task(&cv, 3, "buy milk", false,
	    "high", NULL)), APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "Set #3 \"buy milk\" to high priority.");
	conv_free(&cv);

	answer_after(&cv, "move 3 to friday", "update_task", NULL);
	assert_int_equal(conv_reply(&cv, task(&cv, 3, "buy milk", false,
	    "none", "2026-11-27T00:00:00Z")), APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "Moved #3 \"buy milk\" to Fri 27 Nov.");
	conv_free(&cv);

	answer_after(&cv, "remove the due date of 3", "update_task", NULL);
	assert_int_equal(conv_reply(&cv, task(&cv, 3, "buy milk", false,
	    "none", NULL)), APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "Removed the due date of #3 \"buy milk\".");
	conv_free(&cv);

	answer_after(&cv, "delete 3", "delete_task", NULL);
	assert_int_equal(conv_reply(&cv, arena_printf(cv.arena,
	    "{\"deleted\":true,\"task\":%s}", task(&cv, 3, "buy milk", false,
	    "none", NULL))), APP_OK);
	assert_string_equal(conv_answer(&cv), "Deleted #3 \"buy milk\".");
	conv_free(&cv);
}

static void
test_answer_error(void **state)
{
	struct conv	 cv;

	assert_string_equal(answer_after(&cv, "complete 42", "complete_task",
	    "{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"task 42 not found\"}}"),
	    "I couldn't do that: task 42 not found.");
	conv_free(&cv);

	assert_string_equal(answer_after(&cv, "rename 3 to x", "update_task",
	    "not json"),
	    "I couldn't do that: the tool's answer could not be read.");
	conv_free(&cv);
}

static void
test_answer_list(void **state)
{
	struct conv	 cv;

	answer_after(&cv, "what's on my list", "list_tasks", NULL);
	assert_int_equal(conv_reply(&cv, list_of(&cv, 5,
	    task(&cv, 3, "buy milk", false, "high", "2026-11-23T00:00:00Z"),
	    task(&cv, 4, "call mom", false, "none", "2026-11-27T00:00:00Z"),
	    task(&cv, 8, "read", false, "low", NULL))), APP_OK);
	assert_string_equal(conv_answer(&cv), "You have 5 pending tasks:\n"
	    "- #3 buy milk (due Mon 23 Nov, high priority)\n"
	    "- #4 call mom (due Fri 27 Nov)\n"
	    "- #8 read (low priority)\n"
	    "\xe2\x80\xa6" "and 2 more.");
	conv_free(&cv);

	answer_after(&cv, "show all tasks", "list_tasks", NULL);
	assert_int_equal(conv_reply(&cv, list_of(&cv, 2,
	    task(&cv, 3, "buy milk", true, "none", NULL),
	    task(&cv, 4, "call mom", false, "none", NULL), NULL)), APP_OK);
	assert_string_equal(conv_answer(&cv), "You have 2 tasks:\n"
	    "- [x] #3 buy milk\n- #4 call mom");
	conv_free(&cv);

	answer_after(&cv, "what's due today", "list_tasks", NULL);
	assert_int_equal(conv_reply(&cv, list_of(&cv, 1,
	    task(&cv, 3, "buy milk", false, "none", "2026-11-22T00:00:00Z"),
	    NULL, NULL)), APP_OK);
	assert_string_equal(conv_answer(&cv), "You have 1 task due by today:\n"
	    "- #3 buy milk (due Sun 22 Nov)");
	conv_free(&cv);

	answer_after(&cv, "show my tasks", "list_tasks", NULL);
	assert_int_equal(conv_reply(&cv, list_of(&cv, 0, NULL, NULL, NULL)),
	    APP_OK);
	assert_string_equal(conv_answer(&cv), "You have no pending tasks. "
	    "Add one with \"add buy milk tomorrow\".");
	conv_free(&cv);

	answer_after(&cv, "what have I completed", "list_tasks", NULL);
	assert_int_equal(conv_reply(&cv, list_of(&cv, 0, NULL, NULL, NULL)),
	    APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "You haven't completed any tasks yet.");
	conv_free(&cv);
}

/* "mark all done": list pending, then one bulk call with their ids. */
static void
test_bulk(void **state)
{
	struct json_object	*args, *ids;
	struct conv		 cv;

	conv_init(&cv, "mark all done");
	assert_int_equal(conv_run(&cv), APP_OK);
	args = conv_call(&cv, "list_tasks");
	assert_str_member(args, "status", "pending", "mark all done");
	assert_int_equal(int_of(args, "limit"), 100);
	assert_int_equal(conv_reply(&cv, list_of(&cv, 2,
	    task(&cv, 3, "a", false, "none", NULL),
	    task(&cv, 8, "b", false, "none", NULL), NULL)), APP_OK);
	args = conv_call(&cv, "bulk_complete_tasks");
	assert_true(json_object_object_get_ex(args, "ids", &ids));
	assert_int_equal(json_object_array_length(ids), 2);
	assert_int_equal(json_object_get_int64(
	    json_object_array_get_idx(ids, 0)), 3);
	assert_int_equal(json_object_get_int64(
	    json_object_array_get_idx(ids, 1)), 8);
	assert_int_equal(conv_reply(&cv, "{\"affected\":2,\"ids\":[3,8]}"),
	    APP_OK);
	assert_string_equal(conv_answer(&cv), "Marked 2 tasks as done.");
	conv_free(&cv);

	conv_init(&cv, "complete everything");
	assert_int_equal(conv_run(&cv), APP_OK);
	conv_call(&cv, "list_tasks");
	assert_int_equal(conv_reply(&cv, list_of(&cv, 0, NULL, NULL, NULL)),
	    APP_OK);
	assert_string_equal(conv_answer(&cv),
	    "You have no pending tasks to mark as done.");
	conv_free(&cv);

	conv_init(&cv, "delete all completed");
	assert_int_equal(conv_run(&cv), APP_OK);
	args = conv_call(&cv, "list_tasks");
	assert_str_member(args, "status", "completed", "delete all completed");
	assert_int_equal(conv_reply(&cv, list_of(&cv, 1,
	    task(&cv, 4, "old", true, "none", NULL), NULL, NULL)), APP_OK);
	args = conv_call(&cv, "bulk_delete_tasks");
	assert_true(json_object_object_get_ex(args, "ids", &ids));
	assert_int_equal(json_object_array_length(ids), 1);
	assert_int_equal(conv_reply(&cv, "{\"affected\":1,\"ids\":[4]}"),
	    APP_OK);
	assert_string_equal(conv_answer(&cv), "Deleted 1 task.");
	conv_free(&cv);

	conv_init(&cv, "clear completed");
	assert_int_equal(conv_run(&cv), APP_OK);
	args = conv_call(&cv, "list_tasks");
	assert_str_member(args, "status", "completed", "clear completed");
	conv_free(&cv);
}


/* ------------------------------------------------------------ memory */

/* The memory phrases: one call, with its one argument. */
static const struct {
	const char	*msg;
	const char	*tool;
	const char	*key;
	const char	*value;
} memory_cases[] = {
	/* Remember: what follows, as written. */
	{ "remember that I live in Paris", "remember", "content",
	    "I live in Paris" },
	{ "Remember that I'm allergic to peanuts.", "remember", "content",
	    "I'm allergic to peanuts" },
	{ "remember I'm vegetarian", "remember", "content", "I'm vegetarian" },
	{ "please remember: my sister is called Ana", "remember", "content",
	    "my sister is called Ana" },
	{ "can you remember that I prefer tea over coffee", "remember",
	    "content", "I prefer tea over coffee" },
	{ "don't forget that my wifi password is hunter2", "remember",
	    "content", "my wifi password is hunter2" },
	{ "keep in mind that I work at Acme", "remember", "content",
	    "I work at Acme" },
	{ "note that I have a dog named Rex", "remember", "content",
	    "I have a dog named Rex" },
	{ "memorize this: my birthday is on May 3", "remember", "content",
	    "my birthday is on May 3" },
	{ "remember that I\xe2\x80\x99m a nurse", "remember", "content",
	    "I\xe2\x80\x99m a nurse" },
	/* Recall everything: the empty query. */
	{ "what do you know about me?", "recall", "query", "" },
	{ "What do you remember?", "recall", "query", "" },
	{ "what do you know", "recall", "query", "" },
	{ "who am I?", "recall", "query", "" },
	{ "tell me about myself", "recall", "query", "" },
	{ "what have I told you about me", "recall", "query", "" },
	{ "show my memories", "recall", "query", "" },
	{ "do you know anything about me?", "recall", "query", "" },
	{ "do you remember me?", "recall", "query", "" },
	/* Questions about the user: the question. */
	{ "what's my name?", "recall", "query", "what's my name" },
	{ "What is my name", "recall", "query", "What is my name" },
	{ "where do I live?", "recall", "query", "where do I live" },
	{ "Where do I work?", "recall", "query", "Where do I work" },
	{ "what do I like?", "recall", "query", "what do I like" },
	{ "what am I allergic to?", "recall", "query",
	    "what am I allergic to" },
	{ "what's my dog called?", "recall", "query", "what's my dog called" },
	{ "how old am I?", "recall", "query", "how old am I" },
	{ "when is my birthday?", "recall", "query", "when is my birthday" },
	{ "do I have any allergies?", "recall", "query",
	    "do I have any allergies" },
	/* "do you remember X": X. */
	{ "do you remember my name?", "recall", "query", "my name" },
	{ "Do you remember where I live?", "recall", "query",
	    "where I live" },
	{ "do you know what I do for a living?", "recall", "query",
	    "what I do for a living" },
	{ "what do you know about my sister?", "recall", "query",
	    "my sister" },
	{ "remember my name?", "recall", "query", "my name" },
	/* Forget: what follows. */
	{ "forget that I'm allergic to peanuts", "forget", "query",
	    "I'm allergic to peanuts" },
	{ "please forget my address", "forget", "query", "my address" },
	{ "forget about my old job", "forget", "query", "my old job" },
	{ "Forget everything about my ex.", "forget", "query", "my ex" },
	{ "delete the memory that I live in Paris", "forget", "query",
	    "I live in Paris" },
	{ "stop remembering my phone number", "forget", "query",
	    "my phone number" },
};

static void
test_memory_calls(void **state)
{
	struct json_object	*args;
	struct conv		 cv;
	size_t			 i;

	for (i = 0; i < NELEM(memory_cases); i++) {
		conv_init(&cv, memory_cases[i].msg);
		assert_int_equal(conv_run(&cv), APP_OK);
		if (cv.out.ntool_calls != 1 || strcmp(cv.out.tool_calls[0].name,
		    memory_cases[i].tool) != 0)
			fail_msg("%s: got %s", memory_cases[i].msg,
			    cv.out.ntool_calls == 1 ?
			    cv.out.tool_calls[0].name : cv.out.text);
		args = conv_call(&cv, memory_cases[i].tool);
		assert_int_equal(json_object_object_length(args), 1);
		assert_str_member(args, memory_cases[i].key,
		    memory_cases[i].value, memory_cases[i].msg);
		conv_free(&cv);
	}
}

/*
 * What stays a task: "remember to ..." is a reminder, like "remind me
 * to" and "don't forget to"; questions about the list or about how to
 * use quipu are no recall.
 */
static void
test_memory_not(void **state)
{
	static const struct {
		const char	*msg;
		const char	*title;
	} tasks[] = {
		{ "remember to buy milk", "buy milk" },
		{ "please remember to call Mom tomorrow", "call Mom" },
		{ "don't forget to water the plants", "water the plants" },
	};
	static const char *const help[] = {
		"what can you do?", "how do I add a task?", "who are you?",
		"remember this", "forget it", "forget everything",
	};
	struct conv	 cv;
	size_t		 i;

	for (i = 0; i < NELEM(tasks); i++) {
		conv_init(&cv, tasks[i].msg);
		assert_int_equal(conv_run(&cv), APP_OK);
		assert_str_member(conv_call(&cv, "create_task"), "title",
		    tasks[i].title, tasks[i].msg);
		conv_free(&cv);
	}
	conv_init(&cv, "what do I have to do today?");
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_str_member(conv_call(&cv, "list_tasks"), "status", "pending",
	    "list");
	conv_free(&cv);
	conv_init(&cv, "do you know what's due tomorrow?");
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_str_member(conv_call(&cv, "list_tasks"), "due_before",
	    "2026-11-24T00:00:00Z", "do you know");
	conv_free(&cv);
	conv_init(&cv, "is my report done?");
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_int_equal(cv.out.ntool_calls, 1);
	assert_string_not_equal(cv.out.tool_calls[0].name, "recall");
	conv_free(&cv);
	for (i = 0; i < NELEM(help); i++) {
		conv_init(&cv, help[i]);
		assert_int_equal(conv_run(&cv), APP_OK);
		assert_null(cv.out.tool_calls);
		conv_answer(&cv);
		conv_free(&cv);
	}
	/* Words that name nothing: asked about, with an example. */
	conv_init(&cv, "remember this");
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_string_equal(conv_answer(&cv), "What should I remember? For "
	    "example: \"remember that I live in Paris\".");
	conv_free(&cv);
	conv_init(&cv, "forget everything");
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_string_equal(conv_answer(&cv), "What should I forget? One "
	    "thing at a time, for example: \"forget that I live in "
	    "Paris\".");
	conv_free(&cv);
}

/* A statement about the user asks for nothing: acknowledged. */
static void
test_memory_noted(void **state)
{
	static const char *const msgs[] = {
		"I live in Paris", "My name is Ana.", "I'm allergic to peanuts",
		"hi, I work at Acme as a nurse",
	};
	struct conv	 cv;
	size_t		 i;

	for (i = 0; i < NELEM(msgs); i++) {
		conv_init(&cv, msgs[i]);
		assert_int_equal(conv_run(&cv), APP_OK);
		assert_non_null(strstr(conv_answer(&cv),
		    "Thanks, I'll remember that."));
		conv_free(&cv);
	}
}

/* A Memory as the API writes it, into buf[0..sz). */
static const char *
memory(char *buf, size_t sz, int id, const char *content)
{
	int	 n;

	n = snprintf(buf, sz, "{\"id\":%d,\"content\":\"%s\","
	    "\"created_at\":\"2026-11-20T10:00:00.000Z\","
	    "\"updated_at\":\"2026-11-20T10:00:00.000Z\","
	    "\"source\":{\"thread_id\":\"thr_1\",\"item_id\":\"msg_1\"}}",
	    id, content);
	assert_true(n > 0 && (size_t)n < sz);
	return buf;
}

/* The answer to `msg' after its one call (to `tool') gave `result'. */
static const char *
memory_answer(struct conv *cv, const char *msg, const char *tool,
    const char *result)
{
	conv_init(cv, msg);
	assert_int_equal(conv_run(cv), APP_OK);
	conv_call(cv, tool);
	assert_int_equal(conv_reply(cv, result), APP_OK);
	return conv_answer(cv);
}

static void
test_memory_remember_answers(void **state)
{
	static const struct {
		const char	*msg;
		const char	*event;
		const char	*content;	/* the memory's, NULL: null */
		const char	*want;
	} cases[] = {
		{ "remember that I live in Paris", "ADD", "Lives in Paris",
		    "Got it: I'll remember that you live in Paris." },
		{ "remember that I'm allergic to peanuts", "ADD",
		    "Is allergic to peanuts", "Got it: I'll remember that "
		    "you're allergic to peanuts." },
		{ "remember that I am a nurse and my sister is called Ana",
		    "ADD", "Is a nurse and my sister is called Ana",
		    "Got it: I'll remember that you are a nurse and your "
		    "sister is called Ana." },
		{ "remember: I was born in Lyon, it means a lot to me!", "ADD",
		    "Was born in Lyon", "Got it: I'll remember that you were "
		    "born in Lyon, it means a lot to you." },
		{ "remember that I\xe2\x80\x99ve got a cat", "ADD",
		    "Has a cat", "Got it: I'll remember that you've got a "
		    "cat." },
		{ "remember that I live in Paris", "NONE", "Lives in Paris",
		    "I already knew that." },
		{ "remember that I live in Lyon", "UPDATE", "Lives in Lyon",
		    "Updated: you live in Lyon." },
		{ "remember that I no longer live in Paris", "DELETE",
		    "Lives in Paris", "Forgotten: Lives in Paris." },
		{ "remember that I don't live in Rome", "NONE", NULL,
		    "I had nothing like that to forget." },
	};
	struct conv	 cv;
	char		 m[512], res[600];
	const char	*text;
	size_t		 i;

	for (i = 0; i < NELEM(cases); i++) {
		snprintf(res, sizeof(res), "{\"event\":\"%s\",\"memory\":%s}",
		    cases[i].event, cases[i].content != NULL ?
		    memory(m, sizeof(m), 17, cases[i].content) : "null");
		text = memory_answer(&cv, cases[i].msg, "remember", res);
		if (strcmp(text, cases[i].want) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", cases[i].msg, text,
			    cases[i].want);
		conv_free(&cv);
	}

	assert_string_equal(memory_answer(&cv, "remember that I live in Paris",
	    "remember", "{\"error\":{\"code\":\"validation_failed\","
	    "\"message\":\"invalid arguments\"}}"),
	    "I couldn't do that: invalid arguments.");
	conv_free(&cv);
}

static void
test_memory_recall_answers(void **state)
{
	struct conv	 cv;

	assert_string_equal(memory_answer(&cv, "what do you know about me?",
	    "recall", "{\"memories\":["
	    "{\"id\":3,\"content\":\"Lives in Paris\",\"score\":0},"
	    "{\"id\":2,\"content\":\"Is allergic to peanuts\",\"score\":0},"
	    "{\"id\":1,\"content\":\"Name is Ana\",\"score\":0}]}"),
	    "Here is what I remember:\n- Lives in Paris\n"
	    "- Is allergic to peanuts\n- Name is Ana");
	conv_free(&cv);

	assert_string_equal(memory_answer(&cv, "where do I live?", "recall",
	    "{\"memories\":[{\"id\":3,\"content\":\"Lives in Paris\","
	    "\"score\":0.81},{\"id\":4,\"content\":\"Works at Acme\","
	    "\"score\":0.3}]}"), "You told me: Lives in Paris.");
	conv_free(&cv);

	assert_string_equal(memory_answer(&cv, "do you remember my name?",
	    "recall", "{\"memories\":[{\"id\":1,\"content\":\"Name is Ana!\","
	    "\"score\":0.9}]}"), "You told me: Name is Ana!");
	conv_free(&cv);

	assert_string_equal(memory_answer(&cv, "what's my dog called?",
	    "recall", "{\"memories\":[]}"),
	    "I don't remember anything about that yet.");
	conv_free(&cv);

	assert_string_equal(memory_answer(&cv, "who am I?", "recall",
	    "{\"memories\":[]}"), "I don't remember anything about you yet.");
	conv_free(&cv);

	assert_string_equal(memory_answer(&cv, "who am I?", "recall",
	    "{\"error\":{\"code\":\"unavailable\",\"message\":\"the database "
	    "is unavailable\"}}"),
	    "I couldn't do that: the database is unavailable.");
	conv_free(&cv);
}

static void
test_memory_forget_answers(void **state)
{
	struct conv	 cv;
	char		 m[512], res[600];

	snprintf(res, sizeof(res), "{\"deleted\":%s}", memory(m, sizeof(m), 2,
	    "Is allergic to peanuts"));
	assert_string_equal(memory_answer(&cv,
	    "forget that I'm allergic to peanuts", "forget", res),
	    "Forgotten: Is allergic to peanuts.");
	conv_free(&cv);

	assert_string_equal(memory_answer(&cv, "forget my address", "forget",
	    "{\"error\":{\"code\":\"not_found\",\"message\":\"no memory "
	    "matches the query\"}}"), "I had nothing like that to forget.");
	conv_free(&cv);

	assert_string_equal(memory_answer(&cv, "forget my address", "forget",
	    "{\"error\":{\"code\":\"unavailable\",\"message\":\"the database "
	    "is unavailable\"}}"),
	    "I couldn't do that: the database is unavailable.");
	conv_free(&cv);
}

/* ------------------------------------------------------------ help */

static void
test_help(void **state)
{
	static const char *const msgs[] = {
		"hi", "what can you do?", "asdf qwer zxcv", "", "   ",
		"thanks!", "help"
	};
	struct conv	 cv;
	const char	*text;
	size_t		 i;

	for (i = 0; i < NELEM(msgs); i++) {
		conv_init(&cv, msgs[i]);
		assert_int_equal(conv_run(&cv), APP_OK);
		text = conv_answer(&cv);
		assert_null(cv.out.tool_calls);
		assert_non_null(strstr(text, "\"add buy milk tomorrow\""));
		assert_non_null(strstr(text, "\"what's on my list?\""));
		assert_non_null(strstr(text,
		    "\"remember that I live in Paris\""));
		conv_free(&cv);
	}
	conv_init(&cv, "Hello there");
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_memory_equal(conv_answer(&cv), "Hi! ", 4);
	conv_free(&cv);
}

/* ------------------------------------------------------------ protocol */

/* Word by word: one delta per word with its white space, joined = text. */
static void
test_stream(void **state)
{
	struct conv	 cv;
	const char	*text, *p;
	int		 words = 0;

	conv_init(&cv, "hi");
	assert_int_equal(conv_run(&cv), APP_OK);
	text = conv_answer(&cv);
	for (p = text; *p != '\0'; p++)
		if (*p != ' ' && *p != '\n' && (p == text || p[-1] == ' ' ||
		    p[-1] == '\n'))
			words++;
	assert_int_equal(cv.ndeltas, words);
	assert_true(cv.deltas_ok);
	assert_string_equal(cv.got, text);
	assert_int_equal(cv.out.usage.completion_tokens, words);
	assert_true(cv.out.usage.prompt_tokens > 0);
	assert_int_equal(cv.out.usage.total_tokens,
	    cv.out.usage.prompt_tokens + cv.out.usage.completion_tokens);
	assert_int_equal(cv.ticks, 0);
	conv_free(&cv);

	/* Tool calls stream nothing. */
	conv_init(&cv, "mark 3 done");
	assert_int_equal(conv_run(&cv), APP_OK);
	conv_call(&cv, "complete_task");
	assert_int_equal(cv.ndeltas, 0);
	assert_true(cv.out.usage.completion_tokens > 0);
	conv_free(&cv);

	/* A call that does not stream gets the text whole. */
	conv_init(&cv, "hi");
	cv.stream = false;
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_true(strlen(conv_answer(&cv)) > 0);
	assert_int_equal(cv.ndeltas, 0);
	conv_free(&cv);
}

/* on_delta says stop: APP_EHUP, the text cut after what was handed over. */
static void
test_stream_stop(void **state)
{
	struct conv	 cv;

	conv_init(&cv, "hi");
	cv.stop_delta = 3;
	assert_int_equal(conv_run(&cv), APP_EHUP);
	assert_int_equal(cv.ndeltas, 3);
	assert_string_equal(cv.out.text, cv.got);
	assert_int_equal(cv.out.text_len, cv.glen);
	assert_string_equal(cv.out.text, "Hi! I can ");
	assert_null(cv.out.finish_reason);
	assert_non_null(cv.out.error);
	conv_free(&cv);
}

/* With a delay, tick() runs at least every 100 ms, and can stop. */
static void
test_stream_delay(void **state)
{
	struct conv	 cv;

	conv_init(&cv, "delete 3");
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_int_equal(conv_reply(&cv, "{\"deleted\":true,\"task\":"
	    "{\"id\":3,\"title\":\"x\"}}"), APP_OK);
	assert_string_equal(conv_answer(&cv), "Deleted #3 \"x\".");
	conv_free(&cv);

	conv_init(&cv, "delete 3");
	cv.delay_ms = 150;
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_int_equal(conv_reply(&cv, "{\"deleted\":true,\"task\":"
	    "{\"id\":3,\"title\":\"x\"}}"), APP_OK);
	/* Three words, two pauses of 100 + 50 ms. */
	assert_int_equal(cv.ndeltas, 3);
	assert_int_equal(cv.ticks, 4);
	assert_string_equal(cv.got, "Deleted #3 \"x\".");
	conv_free(&cv);

	conv_init(&cv, "hi");
	cv.delay_ms = 250;
	cv.stop_tick = 4;
	assert_int_equal(conv_run(&cv), APP_EHUP);
	/* Stopped in the second pause: two words had gone. */
	assert_int_equal(cv.ndeltas, 2);
	assert_string_equal(cv.out.text, "Hi! I ");
	conv_free(&cv);
}

/* The same conversation gives the same result; ids differ per round. */
static void
test_deterministic(void **state)
{
	struct conv	 a, b;
	const char	*id1;

	conv_init(&a, "rename buy milk to buy oat milk on friday");
	conv_init(&b, "rename buy milk to buy oat milk on friday");
	assert_int_equal(conv_run(&a), APP_OK);
	assert_int_equal(conv_run(&b), APP_OK);
	assert_string_equal(a.out.tool_calls[0].arguments,
	    b.out.tool_calls[0].arguments);
	assert_string_equal(a.out.tool_calls[0].id, b.out.tool_calls[0].id);
	id1 = a.out.tool_calls[0].id;
	assert_int_equal(conv_reply(&a, list_of(&a, 1,
	    task(&a, 7, "buy milk", false, "none", NULL), NULL, NULL)), APP_OK);
	assert_int_equal(conv_reply(&b, list_of(&b, 1,
	    task(&b, 7, "buy milk", false, "none", NULL), NULL, NULL)), APP_OK);
	assert_string_equal(a.out.tool_calls[0].arguments,
	    b.out.tool_calls[0].arguments);
	assert_string_not_equal(a.out.tool_calls[0].id, id1);
	assert_string_equal(a.out.tool_calls[0].id, "call_b6_0");
	conv_free(&a);
	conv_free(&b);

	conv_init(&a, "what's on my list");
	conv_init(&b, "what's on my list");
	assert_int_equal(conv_run(&a), APP_OK);
	assert_int_equal(conv_run(&b), APP_OK);
	assert_int_equal(conv_reply(&a, list_of(&a, 1,
	    task(&a, 7, "x", false, "none", NULL), NULL, NULL)), APP_OK);
	assert_int_equal(conv_reply(&b, list_of(&b, 1,
	    task(&b, 7, "x", false, "none", NULL), NULL, NULL)), APP_OK);
	assert_string_equal(a.out.text, b.out.text);
	conv_free(&a);
	conv_free(&b);
}

/* Earlier turns do not confuse the new one. */
static void
test_history(void **state)
{
	struct llm_tool_call	 old = { "call_b3_0", "create_task",
				    "{\"title\":\"x\"}" };
	struct conv		 cv;

	memset(&cv, 0, sizeof(cv));
	cv.arena = arena_create(8192);
	cv.stream = true;
	cv.deltas_ok = true;
	conv_add(&cv, "system", "s");
	conv_add(&cv, "user", "add x");
	conv_add(&cv, "assistant", NULL);
	cv.m[cv.n - 1].tool_calls = &old;
	cv.m[cv.n - 1].ntool_calls = 1;
	conv_add(&cv, "tool", "{\"id\":1,\"title\":\"x\"}");
	cv.m[cv.n - 1].tool_call_id = "call_b3_0";
	conv_add(&cv, "assistant", "Added #1 \"x\".");
	conv_add(&cv, "user", "delete 1");
	assert_int_equal(conv_run(&cv), APP_OK);
	assert_int_equal(int_of(conv_call(&cv, "delete_task"), "id"), 1);
	conv_free(&cv);
}

/* ------------------------------------------------------------ title */

static void
test_title(void **state)
{
	struct arena	*a = arena_create(1024);

	assert_non_null(a);
	assert_string_equal(builtin_title(a, "buy milk tomorrow please", 10),
	    "Buy milk");
	assert_string_equal(builtin_title(a, "what's on my list?", 40),
	    "What's on my list");
	assert_string_equal(builtin_title(a, "hello   world!!", 40),
	    "Hello world");
	assert_string_equal(builtin_title(a, "  \n\t", 40), "New chat");
	assert_string_equal(builtin_title(a, "", 40), "New chat");
	assert_string_equal(builtin_title(a, NULL, 40), "New chat");
	assert_string_equal(builtin_title(a, "?!", 40), "New chat");
	assert_string_equal(builtin_title(a, "abcdefghij", 4), "Abcd");
	assert_string_equal(builtin_title(a, "Add milk, eggs", 9), "Add milk");
	/* Characters, not bytes: "café" is 4 of them (5 bytes). */
	assert_string_equal(builtin_title(a, "caf\xc3\xa9 au lait", 7),
	    "Caf\xc3\xa9 au");
	assert_string_equal(builtin_title(a, "\xc3\xa9lan vital", 20),
	    "\xc3\xa9lan vital");
	assert_string_equal(builtin_title(a,
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae", 3),
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	assert_string_equal(builtin_title(a, "wait for it\xe2\x80\xa6", 40),
	    "Wait for it");
	assert_string_equal(builtin_title(a, "buy milk (2l)", 40),
	    "Buy milk (2l)");
	arena_destroy(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_add_empty),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_act_by_id),
		cmocka_unit_test(test_find_by_words),
		cmocka_unit_test(test_resolve_one),
		cmocka_unit_test(test_resolve_none),
		cmocka_unit_test(test_resolve_several),
		cmocka_unit_test(test_resolve_exact),
		cmocka_unit_test(test_resolve_error),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_answer_error),
		cmocka_unit_test(test_answer_list),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_memory_calls),
		cmocka_unit_test(test_memory_not),
		cmocka_unit_test(test_memory_noted),
		cmocka_unit_test(test_memory_remember_answers),
		cmocka_unit_test(test_memory_recall_answers),
		cmocka_unit_test(test_memory_forget_answers),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_stop),
		cmocka_unit_test(test_stream_delay),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_title),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
