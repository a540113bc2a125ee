/*
 * tools.c: the assistant's tools, over the tasks and memory C APIs.
 *
 * A task tool's arguments are read by the same rules as a request body
 * (tasks_input_parse, tasks_filter_parse), so the model can do nothing a
 * user could not do by hand, and only to the user's own tasks. The
 * memory tools (remember, recall, forget) act as the user too, through
 * memory.h and recall.h, with the turn as the source of what they
 * change. Failures are answers for the model, never errors of the turn.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "app.h"
#include "arena.h"
#include "extract.h"
#include "jsonx.h"
#include "memory.h"
#include "recall.h"
#include "tasks.h"
#include "tools.h"
#include "words.h"

#define TOOL_RECALL_LIMIT	5	/* memories one recall answers */
#define TOOL_WORDS_MAX		64	/* words of a text forget compares */

/* Words around what a forget query names, not needed in the memory. */
#define TOOL_FILLER	"i|i'm|im|me|my|mine|myself|you|your|a|an|the|this|" \
	"that|these|those|it|its|is|am|are|was|were|be|been|to|of|in|on|" \
	"at|by|for|with|from|about|and|or|not|no|any|all|every|everything|" \
	"anything|something"

#define TOOL_TASK_FIELDS \
	"\"title\":{\"type\":\"string\",\"description\":\"1 to 255 " \
	"characters\"}," \
	"\"description\":{\"type\":[\"string\",\"null\"]}," \
	"\"priority\":{\"type\":\"string\",\"enum\":[\"none\",\"low\"," \
	"\"medium\",\"high\"]}," \
	"\"due_at\":{\"type\":[\"string\",\"null\"],\"description\":" \
	"\"RFC 3339 date and time, e.g. 2026-11-23T00:00:00Z\"}," \
	"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}"

#define TOOL_FN(name, desc, props, req) \
	"{\"type\":\"function\",\"function\":{\"name\":\"" name "\"," \
	"\"description\":\"" desc "\",\"parameters\":{\"type\":\"object\"," \
	"\"properties\":{" props "},\"required\":[" req "]}}}"

static const char tool_defs[] = "["
    TOOL_FN("create_task", "Create a task for the user.", TOOL_TASK_FIELDS,
	"\"title\"") ","
    TOOL_FN("list_tasks", "List the user's tasks, newest first unless "
	"sorted otherwise. Use q to find tasks by words of their title.",
	"\"status\":{\"type\":\"string\",\"enum\":[\"all\",\"pending\","
	"\"completed\"]},"
	"\"q\":{\"type\":\"string\",\"description\":\"words, each matched "
	"as a prefix\"},"
	"\"tag\":{\"type\":\"string\"},"
	"\"due_before\":{\"type\":\"string\"},"
	"\"due_after\":{\"type\":\"string\"},"
	"\"sort\":{\"type\":\"string\",\"enum\":[\"created_at\","
	"\"updated_at\",\"due_at\",\"priority\",\"title\"]},"
	"\"order\":{\"type\":\"string\",\"enum\":[\"asc\",\"desc\"]},"
	"\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}", "")
    ","
    TOOL_FN("update_task", "Change fields of one task.",
	"\"id\":{\"type\":\"integer\"}," TOOL_TASK_FIELDS, "\"id\"") ","
    TOOL_FN("complete_task", "Mark one task done, or not done with "
	"completed false.", "\"id\":{\"type\":\"integer\"},"
	"\"completed\":{\"type\":\"boolean\"}", "\"id\"") ","
    TOOL_FN("delete_task", "Delete one task.",
	"\"id\":{\"type\":\"integer\"}", "\"id\"") ","
    TOOL_FN("bulk_complete_tasks", "Mark several tasks done (or not "
	"done with completed false).", "\"ids\":{\"type\":\"array\","
	"\"items\":{\"type\":\"integer\"}},\"completed\":{\"type\":"
	"\"boolean\"}", "\"ids\"") ","
    TOOL_FN("bulk_delete_tasks", "Delete several tasks.",
	"\"ids\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}",
	"\"ids\"") ","
    TOOL_FN("remember", "Remember a fact about the user for later "
	"conversations, when they ask you to (what they say is also "
	"remembered by itself after the turn). One fact per call, in a "
	"short sentence.",
	"\"content\":{\"type\":\"string\",\"description\":\"the fact, "
	"e.g. I live in Paris; 1 to 1000 characters\"}", "\"content\"") ","
    TOOL_FN("recall", "Search what you remember about the user, best "
	"match first. An empty query lists the newest memories.",
	"\"query\":{\"type\":\"string\",\"description\":\"what to "
	"look for, e.g. where the user lives\"}", "") ","
    TOOL_FN("forget", "Forget one memory: the one with memory_id (from "
	"recall), or the best match of query.",
	"\"memory_id\":{\"type\":\"integer\"},"
	"\"query\":{\"type\":\"string\"}", "")
    "]";

const char *
tools_definitions(void)
{
	return tool_defs;
}

/* The client tools quipu knows, with their definitions. */
static const struct {
	const char	*name;
	const char	*def;
} client_tools[] = {
	{ "get_local_time", TOOL_FN("get_local_time", "Ask the user's "
	    "device for its time zone and local time, to place relative "
	    "dates like tomorrow or tonight.", "", "") },
};

#define NCLIENT_TOOLS	(sizeof(client_tools) / sizeof(client_tools[0]))

/* Whether `name' is an item of the comma-separated `list'. */
static bool
tool_listed(const char *list, const char *name)
{
	size_t	 n = strlen(name), len;

	while (list != NULL && *list != '\0') {
		while (*list == ' ' || *list == ',')
			list++;
		len = strcspn(list, ", ");
		if (len == n && len > 0 && strncmp(list, name, n) == 0)
			return true;
		list += len;
	}
	return false;
}

bool
tools_is_client(const char *list, const char *name)
{
	size_t	 i;

	for (i = 0; i < NCLIENT_TOOLS; i++)
		if (strcmp(client_tools[i].name, name) == 0)
			return tool_listed(list, name);
	return false;
}

const char *
tools_definitions_with(struct arena *ar, const char *list)
{
	struct arena_str	 b;
	size_t			 i;

	memset(&b, 0, sizeof(b));
	/* The server's tools without their closing bracket. */
	if (arena_str_add(ar, &b, tool_defs, sizeof(tool_defs) - 2) == -1)
		return NULL;
	for (i = 0; i < NCLIENT_TOOLS; i++) {
		if (!tool_listed(list, client_tools[i].name))
			continue;
		if (arena_str_add(ar, &b, ",", 1) == -1 ||
		    arena_str_add(ar, &b, client_tools[i].def,
		    strlen(client_tools[i].def)) == -1)
			return NULL;
	}
	if (arena_str_add(ar, &b, "]", 1) == -1)
		return NULL;
	return b.p;
}

/* {"error":{"code","message","details"?}} for the model. */
static enum app_err
tool_error(struct arena *ar, enum app_err err, const char *message,
    struct json_object *details, char **result)
{
	struct json_object	*o, *e;
	enum app_err		 rc = APP_ENOMEM;

	if ((o = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	if ((e = json_object_new_object()) == NULL ||
	    jsonx_add(o, "error", e) != APP_OK)
		goto out;
	if (jsonx_add_string(e, "code", app_err_code(err)) != APP_OK ||
	    jsonx_add_string(e, "message", message) != APP_OK)
		goto out;
	if (details != NULL &&
	    jsonx_add(e, "details", json_object_get(details)) != APP_OK)
		goto out;
	if ((*result = arena_strdup(ar, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN))) != NULL)
		rc = APP_OK;
out:
	json_object_put(o);
	return rc;
}

/*
 * A call that failed with `e' as a result: "<what> <id> not found" for
 * a missing one, else the error's text. APP_OK unless ENOMEM.
 */
static enum app_err
tool_failed(struct arena *ar, enum app_err e, const char *what, int64_t id,
    char **result)
{
	char	msg[64];

	if (e == APP_ENOMEM)
		return e;
	if (e == APP_ENOTFOUND) {
		snprintf(msg, sizeof(msg), "%s %" PRId64 " not found", what, id);
		return tool_error(ar, e, msg, NULL, result);
	}
	return tool_error(ar, e, app_strerror(e), NULL, result);
}

/* The outcome of a tasks call as a result; APP_OK unless ENOMEM. */
static enum app_err
tool_outcome(struct arena *ar, enum app_err e, int64_t id, char *json,
    char **result)
{
	if (e != APP_OK)
		return tool_failed(ar, e, "task", id, result);
	*result = json;
	return APP_OK;
}

/* The errors of argument checks as a result; true when there were any. */
static bool
tool_bad_args(struct jsonx_errors *errs, char **result, enum app_err *rc)
{
	enum app_err	 e;

	if ((e = jsonx_errors_result(errs)) == APP_OK)
		return false;
	if (e == APP_ENOMEM)
		*rc = e;
	else
		*rc = tool_error(errs->arena, e, e == APP_EVALIDATION ?
		    "invalid arguments" : "invalid text in the arguments",
		    errs->details, result);
	return true;
}

static bool
tool_id(struct json_object *args, int64_t *id, struct jsonx_errors *errs)
{
	return jsonx_get_int(args, "id", JSONX_REQUIRED, 1, INT64_MAX, id,
	    errs) == APP_OK;
}

/* update_task: "id" and the fields to change, read as a PATCH body. */
static enum app_err
tool_update(struct db_pool *pool, struct arena *ar, const char *user,
    struct json_object *args, char **result)
{
	struct task_input	 in;
	struct jsonx_errors	 errs;
	char			*json = NULL;
	int64_t			 id = 0;
	enum app_err		 e, rc = APP_OK;

	jsonx_errors_init(&errs, ar);
	(void)tool_id(args, &id, &errs);
	tasks_input_parse(args, TASK_PATCH, &in, &errs);
	if (tool_bad_args(&errs, result, &rc))
		return rc;
	e = tasks_update(pool, ar, user, id, &in, &json);
	return tool_outcome(ar, e, id, json, result);
}

static enum app_err
tool_complete(struct db_pool *pool, struct arena *ar, const char *user,
    struct json_object *args, char **result)
{
	struct jsonx_errors	 errs;
	char			*json = NULL;
	int64_t			 id = 0;
	bool			 done = true;
	enum app_err		 e, rc = APP_OK;

	jsonx_errors_init(&errs, ar);
	(void)tool_id(args, &id, &errs);
	(void)jsonx_get_bool(args, "completed", 0, &done, &errs);
	if (tool_bad_args(&errs, result, &rc))
		return rc;
	e = tasks_complete(pool, ar, user, id, done ? 1 : 0, &json);
	return tool_outcome(ar, e, id, json, result);
}

/* Deleting answers the task as it was, so the model can name it. */
static enum app_err
tool_delete(struct db_pool *pool, struct arena *ar, const char *user,
    struct json_object *args, char **result)
{
	struct jsonx_errors	 errs;
	char			*json = NULL;
	int64_t			 id = 0;
	enum app_err		 e, rc = APP_OK;

	jsonx_errors_init(&errs, ar);
	(void)tool_id(args, &id, &errs);
	if (tool_bad_args(&errs, result, &rc))
		return rc;
	if ((e = tasks_get(pool, ar, user, id, &json)) == APP_OK)
		e = tasks_delete(pool, user, id);
	if (e != APP_OK)
		return tool_outcome(ar, e, id, NULL, result);
	if ((*result = arena_printf(ar, "{\"deleted\":true,\"task\":%s}",
	    json)) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

static enum app_err
tool_bulk(struct db_pool *pool, struct arena *ar, const char *user,
    struct json_object *args, bool del, char **result)
{
	struct jsonx_errors	 errs;
	enum task_bulk_action	 act;
	char			*json = NULL, *missing = NULL, msg[160];
	int64_t			*ids = NULL;
	size_t			 n = 0;
	bool			 done = true;
	enum app_err		 e, rc = APP_OK;

	jsonx_errors_init(&errs, ar);
	tasks_ids_parse(args, ar, &ids, &n, &errs);
	if (!del)
		(void)jsonx_get_bool(args, "completed", 0, &done, &errs);
	if (tool_bad_args(&errs, result, &rc))
		return rc;
	act = del ? TASK_BULK_DELETE : done ? TASK_BULK_COMPLETE :
	    TASK_BULK_UNCOMPLETE;
	e = tasks_bulk(pool, ar, user, act, ids, n, &json, &missing);
	if (e == APP_ENOTFOUND) {
		snprintf(msg, sizeof(msg), "tasks not found: %.80s; nothing "
		    "changed", missing != NULL ? missing : "[]");
		return tool_error(ar, e, msg, NULL, result);
	}
	return tool_outcome(ar, e, 0, json, result);
}

static enum app_err
tool_create(struct db_pool *pool, struct arena *ar, const char *user,
    struct json_object *args, char **result)
{
	struct task_input	 in;
	struct jsonx_errors	 errs;
	char			*json = NULL;
	int64_t			 id;
	bool			 replayed;
	enum app_err		 e, rc = APP_OK;

	jsonx_errors_init(&errs, ar);
	tasks_input_parse(args, TASK_CREATE, &in, &errs);
	if (tool_bad_args(&errs, result, &rc))
		return rc;
	e = tasks_create(pool, ar, user, &in, NULL, &id, &json, &replayed);
	return tool_outcome(ar, e, id, json, result);
}

static enum app_err
tool_list(struct db_pool *pool, struct arena *ar, const char *user,
    struct json_object *args, char **result)
{
	struct task_filter	 f;
	struct jsonx_errors	 errs;
	char			*json = NULL;
	enum app_err		 e, rc = APP_OK;

	jsonx_errors_init(&errs, ar);
	tasks_filter_parse(args, &f, &errs);
	if (tool_bad_args(&errs, result, &rc))
		return rc;
	e = tasks_list(pool, ar, user, &f, &json);
	return tool_outcome(ar, e, 0, json, result);
}

static enum app_err
tool_bulk_complete(struct db_pool *pool, struct arena *ar, const char *user,
    struct json_object *args, char **result)
{
	return tool_bulk(pool, ar, user, args, false, result);
}

static enum app_err
tool_bulk_delete(struct db_pool *pool, struct arena *ar, const char *user,
    struct json_object *args, char **result)
{
	return tool_bulk(pool, ar, user, args, true, result);
}

/* ------------------------------------------------------------ memory */

/* Who the memory tools act for, and the turn their changes come from. */
struct tool_turn {
	struct app			*app;
	struct arena			*ar;
	const char			*user;
	const struct memory_source	*src;
};

static const char *const tool_events[] = {
	[EXTRACT_ADD] = "ADD",
	[EXTRACT_UPDATE] = "UPDATE",
	[EXTRACT_DELETE] = "DELETE",
	[EXTRACT_NONE] = "NONE"
};

/*
 * The one fact extract_builtin() reads in `text', said alone or after
 * `frame' ("remember that": "I have a meeting on Fridays" becomes "Has a
 * meeting on Fridays"; "forget that": "my address" is the address), so
 * that what the assistant is told is reconciled as what extraction finds
 * in the turns. 1, 0 for none or several, -1 on ENOMEM.
 */
static int
tool_one_fact(struct arena *ar, const char *text, const char *frame,
    struct extract_fact *f)
{
	struct extract_fact	 facts[EXTRACT_MAX];
	const char		*framed;

	if (extract_builtin(ar, text, facts, EXTRACT_MAX) != 1) {
		if ((framed = arena_printf(ar, "%s %s", frame, text)) == NULL)
			return -1;
		if (extract_builtin(ar, framed, facts, EXTRACT_MAX) != 1)
			return 0;
	}
	*f = facts[0];
	return 1;
}

/*
 * remember: {"content"} -> {"event","memory"} (memory null: none). What
 * is not one fact is kept as written, a note: without a subject, which
 * memory_remember() then keys as it keys the API's notes.
 */
static enum app_err
tool_remember(const struct tool_turn *t, struct json_object *args,
    char **result)
{
	struct extract_fact	 fact;
	struct jsonx_errors	 errs;
	enum extract_op		 op = EXTRACT_NONE;
	const char		*content = NULL;
	char			*json = NULL;
	enum app_err		 e, rc = APP_OK;
	int			 one;

	jsonx_errors_init(&errs, t->ar);
	(void)jsonx_get_string(args, "content", JSONX_REQUIRED | JSONX_TRIM, 1,
	    MEMORY_CONTENT_MAX, &content, &errs);
	if (tool_bad_args(&errs, result, &rc))
		return rc;
	if ((one = tool_one_fact(t->ar, content, "remember that", &fact)) == -1)
		return APP_ENOMEM;
	if (one == 0) {
		memset(&fact, 0, sizeof(fact));
		fact.text = content;
	}
	if ((e = memory_remember(t->app, t->ar, t->user, &fact,
	    MEMORY_ASSISTANT, t->src, &op, &json)) != APP_OK)
		return tool_failed(t->ar, e, "memory", 0, result);
	if ((*result = arena_printf(t->ar, "{\"event\":\"%s\",\"memory\":%s}",
	    tool_events[op], json != NULL ? json : "null")) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

/* {"memories":[{"id","content","score"}]}, best first. */
static enum app_err
tool_hits(struct arena *ar, const struct recall_hit *hits, size_t n,
    char **result)
{
	struct json_object	*o, *arr, *m;
	enum app_err		 rc = APP_ENOMEM;
	char			 score[16];
	size_t			 i;

	if ((o = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	if ((arr = json_object_new_array()) == NULL ||
	    jsonx_add(o, "memories", arr) != APP_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if ((m = json_object_new_object()) == NULL ||
		    jsonx_append(arr, m) != APP_OK)
			goto out;
		/* Written with three decimals: enough for a model to read. */
		snprintf(score, sizeof(score), "%.3f", hits[i].score);
		if (jsonx_add_int(m, "id", hits[i].id) != APP_OK ||
		    jsonx_add_string(m, "content", hits[i].content) != APP_OK ||
		    jsonx_add(m, "score", json_object_new_double_s(
		    hits[i].score, score)) != APP_OK)
			goto out;
	}
	if ((*result = arena_strdup(ar, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))) != NULL)
		rc = APP_OK;
out:
	json_object_put(o);
	return rc;
}

/* recall: {"query"?} -> the best memories; "" or none: the newest. */
static enum app_err
tool_recall(const struct tool_turn *t, struct json_object *args,
    char **result)
{
	struct jsonx_errors	 errs;
	struct recall_hit	*hits = NULL;
	const char		*query = "";
	size_t			 n = 0;
	enum app_err		 e, rc = APP_OK;

	jsonx_errors_init(&errs, t->ar);
	(void)jsonx_get_string(args, "query", JSONX_NULLABLE | JSONX_TRIM, 0,
	    MEMORY_CONTENT_MAX, &query, &errs);
	if (tool_bad_args(&errs, result, &rc))
		return rc;
	if ((e = recall_search(t->app, t->ar, t->user, query != NULL ? query :
	    "", TOOL_RECALL_LIMIT, RECALL_MIN_SEARCH, &hits, &n)) != APP_OK)
		return tool_failed(t->ar, e, "memory", 0, result);
	return tool_hits(t->ar, hits, n, result);
}

/* The words of `s' as words_norm() writes them, at most `max'. */
static enum app_err
tool_words(struct arena *ar, const char *s, const char **w, size_t max,
    size_t *n)
{
	const char	*start, *x;

	*n = 0;
	while (*n < max) {
		while (words_space((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		for (start = s; *s != '\0' && !words_space((unsigned char)*s);
		    s++)
			continue;
		if ((x = words_norm(ar, start, (size_t)(s - start))) == NULL)
			return APP_ENOMEM;
		if (*x != '\0')
			w[(*n)++] = x;
	}
	return APP_OK;
}

/* The same word, a plural 's' aside ("peanut", "peanuts"). */
static bool
tool_word_eq(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	if (la > lb)
		return tool_word_eq(b, a);
	return strncmp(a, b, la) == 0 && (lb == la ||
	    (lb == la + 1 && b[la] == 's'));
}

/*
 * Whether `content' has every word `query' names, the fillers aside:
 * "tea and coffee" names "I like tea and I hate coffee", "I like jazz"
 * does not, though the two may score alike.
 */
static enum app_err
tool_names(struct arena *ar, const char *query, const char *content,
    bool *yes)
{
	const char	*q[TOOL_WORDS_MAX], *m[TOOL_WORDS_MAX];
	size_t		 nq, nm, i, k, named = 0;
	enum app_err	 e;

	*yes = false;
	if ((e = tool_words(ar, query, q, TOOL_WORDS_MAX, &nq)) != APP_OK ||
	    (e = tool_words(ar, content, m, TOOL_WORDS_MAX, &nm)) != APP_OK)
		return e;
	for (i = 0; i < nq; i++) {
		if (words_is(TOOL_FILLER, q[i]))
			continue;
		for (k = 0; k < nm && !tool_word_eq(q[i], m[k]); k++)
			continue;
		if (k == nm)
			return APP_OK;
		named++;
	}
	*yes = named > 0;
	return APP_OK;
}

/*
 * forget {"query"} of a fact ("I'm allergic to peanuts", "my address"):
 * forgotten as extraction forgets "forget that ...", by memory_remember()
 * of the negated fact, whose reconciliation deletes only the memory the
 * fact names. *done: one was deleted, *json: it as it was.
 */
static enum app_err
tool_forget_fact(const struct tool_turn *t, const char *query, bool *done,
    char **json)
{
	struct extract_fact	 fact;
	enum extract_op		 op = EXTRACT_NONE;
	enum app_err		 e;
	int			 one;

	*done = false;
	if ((one = tool_one_fact(t->ar, query, "forget that", &fact)) <= 0)
		return one == 0 ? APP_OK : APP_ENOMEM;
	fact.negated = true;
	if ((e = memory_remember(t->app, t->ar, t->user, &fact,
	    MEMORY_ASSISTANT, t->src, &op, json)) != APP_OK)
		return e;
	*done = op == EXTRACT_DELETE;
	return APP_OK;
}

/*
 * forget {"query"} of anything else: the best memory above the prompt's
 * threshold (the ones the assistant is shown for those words) that has
 * every word the query names. *id 0: none.
 */
static enum app_err
tool_forget_find(const struct tool_turn *t, const char *query, int64_t *id)
{
	struct recall_hit	*hits = NULL;
	size_t			 n = 0, i;
	enum app_err		 e;
	bool			 named = false;

	*id = 0;
	if ((e = recall_search(t->app, t->ar, t->user, query, TOOL_RECALL_LIMIT,
	    RECALL_MIN_PROMPT, &hits, &n)) != APP_OK)
		return e;
	for (i = 0; i < n && !named; i++) {
		if ((e = tool_names(t->ar, query, hits[i].content, &named)) !=
		    APP_OK)
			return e;
		if (named)
			*id = hits[i].id;
	}
	return APP_OK;
}

/* forget: {"memory_id"} or {"query"} -> {"deleted":Memory}. */
static enum app_err
tool_forget(const struct tool_turn *t, struct json_object *args,
    char **result)
{
	struct jsonx_errors	 errs;
	const char		*query = NULL;
	char			*json = NULL;
	int64_t			 id = 0;
	bool			 done = false;
	enum app_err		 e, rc = APP_OK;

	jsonx_errors_init(&errs, t->ar);
	/* The id wins: a model may send an empty query along with it. */
	if (jsonx_has(args, "memory_id"))
		(void)jsonx_get_int(args, "memory_id", JSONX_REQUIRED, 1,
		    INT64_MAX, &id, &errs);
	else if (jsonx_has(args, "query"))
		(void)jsonx_get_string(args, "query", JSONX_TRIM, 1,
		    MEMORY_CONTENT_MAX, &query, &errs);
	else
		jsonx_errors_add(&errs, "memory_id",
		    "give memory_id or query");
	if (tool_bad_args(&errs, result, &rc))
		return rc;
	if (query != NULL) {
		if ((e = tool_forget_fact(t, query, &done, &json)) == APP_OK &&
		    !done)
			e = tool_forget_find(t, query, &id);
		if (e != APP_OK)
			return tool_failed(t->ar, e, "memory", 0, result);
		if (!done && id == 0)
			return tool_error(t->ar, APP_ENOTFOUND,
			    "no memory matches the query", NULL, result);
	}
	if (!done && (e = memory_delete(t->app, t->ar, t->user, id,
	    MEMORY_ASSISTANT, t->src, &json)) != APP_OK)
		return tool_failed(t->ar, e, "memory", id, result);
	if ((*result = arena_printf(t->ar, "{\"deleted\":%s}", json != NULL ?
	    json : "null")) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

/*
 * The tools by name, in the order of tool_defs: the task tools need the
 * database, the memory tools the whole turn.
 */
static const struct {
	const char	*name;
	enum app_err	(*task)(struct db_pool *, struct arena *, const char *,
			    struct json_object *, char **);
	enum app_err	(*memory)(const struct tool_turn *,
			    struct json_object *, char **);
} tool_table[] = {
	{ "create_task", tool_create, NULL },
	{ "list_tasks", tool_list, NULL },
	{ "update_task", tool_update, NULL },
	{ "complete_task", tool_complete, NULL },
	{ "delete_task", tool_delete, NULL },
	{ "bulk_complete_tasks", tool_bulk_complete, NULL },
	{ "bulk_delete_tasks", tool_bulk_delete, NULL },
	{ "remember", NULL, tool_remember },
	{ "recall", NULL, tool_recall },
	{ "forget", NULL, tool_forget },
};

enum app_err
tools_run(struct app *app, struct arena *ar, const char *user,
    const struct memory_source *src, const char *name, const char *arguments,
    char **result)
{
	struct tool_turn	 turn;
	struct json_object	*args;
	const char		*why;
	char			 msg[96];
	size_t			 i;
	enum app_err		 e;

	*result = NULL;
	for (i = 0; i < sizeof(tool_table) / sizeof(tool_table[0]); i++)
		if (strcmp(name, tool_table[i].name) == 0)
			break;
	if (i == sizeof(tool_table) / sizeof(tool_table[0])) {
		snprintf(msg, sizeof(msg), "no tool named %.40s", name);
		return tool_error(ar, APP_ENOTFOUND, msg, NULL, result);
	}
	if (arguments == NULL || arguments[0] == '\0')
		arguments = "{}";
	if ((e = jsonx_parse_object(arguments, strlen(arguments), &args,
	    &why)) != APP_OK) {
		if (e == APP_ENOMEM)
			return e;
		snprintf(msg, sizeof(msg), "arguments: %s", why);
		return tool_error(ar, APP_EINVAL, msg, NULL, result);
	}
	if (tool_table[i].task != NULL)
		e = tool_table[i].task(app->db, ar, user, args, result);
	else {
		turn.app = app;
		turn.ar = ar;
		turn.user = user;
		turn.src = src;
		e = tool_table[i].memory(&turn, args, result);
	}
	json_object_put(args);
	return e;
}
