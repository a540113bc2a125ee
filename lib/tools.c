/*
 * tools.c: the assistant's task tools, over the tasks C API.
 *
 * A tool's arguments are read by the same rules as a request body
 * (tasks_input_parse, tasks_filter_parse), so the model can do nothing a
 * user could not do by hand, and only to the user's own tasks. Failures
 * are answers for the model, never errors of the turn.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "app.h"
#include "arena.h"
#include "jsonx.h"
#include "tasks.h"
#include "tools.h"

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
	"\"ids\"")
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
	/* The task tools without their closing bracket. */
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

/* The outcome of a tasks call as a result; APP_OK unless ENOMEM. */
static enum app_err
tool_outcome(struct arena *ar, enum app_err e, int64_t id, char *json,
    char **result)
{
	char	msg[64];

	switch (e) {
	case APP_OK:
		*result = json;
		return APP_OK;
	case APP_ENOMEM:
		return e;
	case APP_ENOTFOUND:
		snprintf(msg, sizeof(msg), "task %" PRId64 " not found", id);
		return tool_error(ar, e, msg, NULL, result);
	default:
		return tool_error(ar, e, app_strerror(e), NULL, result);
	}
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

/* The tools by name, in the order of tool_defs. */
static const struct {
	const char	*name;
	enum app_err	(*run)(struct db_pool *, struct arena *, const char *,
			    struct json_object *, char **);
} tool_table[] = {
	{ "create_task", tool_create },
	{ "list_tasks", tool_list },
	{ "update_task", tool_update },
	{ "complete_task", tool_complete },
	{ "delete_task", tool_delete },
	{ "bulk_complete_tasks", tool_bulk_complete },
	{ "bulk_delete_tasks", tool_bulk_delete },
};

enum app_err
tools_run(struct app *app, struct arena *ar, const char *user,
    const struct memory_source *src, const char *name, const char *arguments,
    char **result)
{
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
	(void)src;
	e = tool_table[i].run(app->db, ar, user, args, result);
	json_object_put(args);
	return e;
}
