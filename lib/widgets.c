/*
 * widgets.c: the task list a ChatKit conversation shows, and its buttons.
 *
 * Three small jobs (see widgets.h): gather the ids of the tasks a turn's
 * tools touched, write the ChatKit ListView of those tasks as text, and
 * run a button's action through the tasks C API as the user.
 *
 * The widget is written straight into an arena string rather than built
 * as a json_object tree: its shape is fixed, the only variable parts are
 * a few strings (each escaped by jsonx_str_quote) and integers, and this
 * way the output is compact JSON with its members in a stable order, which
 * keeps stored items and tests readable. The tasks themselves are read
 * with json-c from the JSON PostgreSQL writes (api_task()).
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "arena.h"
#include "db.h"
#include "jsonx.h"
#include "tasks.h"
#include "widgets.h"

#define WIDGET_ROWS_SHOWN	10	/* rows before ChatKit's "Show more" */
#define WIDGET_DUE_LEN		48	/* "Wed 30 Sep 2026, 23:59 UTC" */

/* ------------------------------------------------------------ collect */

/* What a tool's result says about tasks. */
enum collect_how {
	COLLECT_LIST,		/* {"items":[task...]}: add each */
	COLLECT_ONE,		/* the task itself: add it */
	COLLECT_DELETE,		/* {"deleted":true,"task":{...}}: remove it */
	COLLECT_IDS,		/* {"ids":[...]}: add them */
	COLLECT_IDS_DELETE	/* {"ids":[...]}: remove them */
};

static const struct {
	const char		*tool;
	enum collect_how	 how;
} collect_tools[] = {
	{ "list_tasks", COLLECT_LIST },
	{ "create_task", COLLECT_ONE },
	{ "update_task", COLLECT_ONE },
	{ "complete_task", COLLECT_ONE },
	{ "delete_task", COLLECT_DELETE },
	{ "bulk_complete_tasks", COLLECT_IDS },
	{ "bulk_delete_tasks", COLLECT_IDS_DELETE },
};

/*
 * Adds `id' unless present or the list is full. The array is allocated
 * whole on first use: WIDGET_TASKS_MAX ids are a few hundred bytes.
 */
static int
ids_add(struct arena *ar, struct widget_ids *w, int64_t id)
{
	int64_t	*v;
	size_t	 i;

	for (i = 0; i < w->n; i++)
		if (w->v[i] == id)
			return 0;
	if (w->n >= WIDGET_TASKS_MAX)
		return 0;
	if (w->cap < WIDGET_TASKS_MAX) {
		if ((v = arena_calloc(ar, WIDGET_TASKS_MAX, sizeof(*v))) ==
		    NULL)
			return -1;
		if (w->n > 0)
			memcpy(v, w->v, w->n * sizeof(*v));
		w->v = v;
		w->cap = WIDGET_TASKS_MAX;
	}
	w->v[w->n++] = id;
	return 0;
}

/* Removes `id', keeping the order of the others. */
static void
ids_remove(struct widget_ids *w, int64_t id)
{
	size_t	 i;

	for (i = 0; i < w->n; i++)
		if (w->v[i] == id) {
			memmove(w->v + i, w->v + i + 1,
			    (w->n - i - 1) * sizeof(*w->v));
			w->n--;
			return;
		}
}

/* A task id: a JSON integer of at least 1. */
static bool
json_task_id(struct json_object *o, int64_t *id)
{
	if (!json_object_is_type(o, json_type_int))
		return false;
	*id = json_object_get_int64(o);
	return *id >= 1;
}

/* Adds or removes the id of `o': a task object, or the id itself. */
static int
collect_value(struct arena *ar, struct widget_ids *w, struct json_object *o,
    bool object, bool add)
{
	struct json_object	*v = o;
	int64_t			 id;

	if (object && !json_object_object_get_ex(o, "id", &v))
		return 0;
	if (!json_task_id(v, &id))
		return 0;
	if (!add) {
		ids_remove(w, id);
		return 0;
	}
	return ids_add(ar, w, id);
}

/* The same for each element of the array `a' (anything else: nothing). */
static int
collect_array(struct arena *ar, struct widget_ids *w, struct json_object *a,
    bool objects, bool add)
{
	size_t	 i, n;

	if (!json_object_is_type(a, json_type_array))
		return 0;
	n = json_object_array_length(a);
	for (i = 0; i < n; i++)
		if (collect_value(ar, w, json_object_array_get_idx(a, i),
		    objects, add) == -1)
			return -1;
	return 0;
}

int
widgets_collect(struct arena *ar, struct widget_ids *w, const char *tool,
    const char *result)
{
	struct json_object	*root = NULL, *o;
	enum collect_how	 how;
	size_t			 i;
	int			 rc = 0;

	if (tool == NULL || result == NULL)
		return 0;
	for (i = 0; i < sizeof(collect_tools) / sizeof(collect_tools[0]); i++)
		if (strcmp(tool, collect_tools[i].tool) == 0)
			break;
	if (i == sizeof(collect_tools) / sizeof(collect_tools[0]))
		return 0;
	how = collect_tools[i].how;
	switch (jsonx_parse(result, strlen(result), &root, NULL)) {
	case APP_OK:
		break;
	case APP_ENOMEM:
		return -1;
	default:
		return 0;	/* not JSON: told nothing about tasks */
	}
	/* A refusal changed nothing, whatever else it may carry. */
	if (!json_object_is_type(root, json_type_object) ||
	    json_object_object_get_ex(root, "error", NULL))
		goto out;
	switch (how) {
	case COLLECT_LIST:
		if (json_object_object_get_ex(root, "items", &o))
			rc = collect_array(ar, w, o, true, true);
		break;
	case COLLECT_ONE:
		rc = collect_value(ar, w, root, true, true);
		break;
	case COLLECT_DELETE:
		if (json_object_object_get_ex(root, "task", &o) &&
		    json_object_is_type(o, json_type_object))
			rc = collect_value(ar, w, o, true, false);
		break;
	case COLLECT_IDS:
	case COLLECT_IDS_DELETE:
		if (json_object_object_get_ex(root, "ids", &o))
			rc = collect_array(ar, w, o, false,
			    how == COLLECT_IDS);
		break;
	}
out:
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------ render */

/*
 * The text being written. Errors are sticky (only ENOMEM can happen), so
 * the writers chain without a test after each call and the outcome is
 * read once at the end.
 */
struct wbuf {
	struct arena		*ar;
	struct arena_str	 s;
	bool			 nomem;
};

static void
w_add(struct wbuf *b, const char *s, size_t len)
{
	if (!b->nomem && arena_str_add(b->ar, &b->s, s, len) == -1)
		b->nomem = true;
}

static void
w_raw(struct wbuf *b, const char *s)
{
	w_add(b, s, strlen(s));
}

/* s[0..len) as a JSON string literal. */
static void
w_quote(struct wbuf *b, const char *s, size_t len)
{
	if (!b->nomem && jsonx_str_quote(b->ar, &b->s, s, len) == -1)
		b->nomem = true;
}

static void
w_int(struct wbuf *b, int64_t v)
{
	char	 num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	w_raw(b, num);
}

/* s[0..len) on one line: control characters become spaces. */
static void
w_line(struct wbuf *b, const char *s, size_t len)
{
	size_t	 i, run = 0;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x20)
			continue;
		w_add(b, s + run, i - run);
		w_add(b, " ", 1);
		run = i + 1;
	}
	w_add(b, s + run, len - run);
}

/* The text written, or NULL with APP_ENOMEM. */
static enum app_err
w_done(struct wbuf *b, char **out)
{
	if (b->nomem)
		return APP_ENOMEM;
	if (b->s.p == NULL && (b->s.p = arena_strdup(b->ar, "")) == NULL)
		return APP_ENOMEM;
	*out = b->s.p;
	return APP_OK;
}

/* What a row shows of a task. Strings point into the parsed JSON. */
struct wtask {
	int64_t		 id;
	const char	*title;
	size_t		 title_len;
	bool		 completed;
	const char	*priority;		/* NULL or "none": none */
	char		 due[WIDGET_DUE_LEN];	/* "" when not due */
};

/* English names, whatever the process's locale (strftime would follow it). */
static const char *const w_wdays[] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const w_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"
};

/*
 * "Tue 24 Nov 2026" for an RFC 3339 time at midnight UTC, else with the
 * time of day and its zone, "Tue 24 Nov 2026, 17:00 UTC": the widget
 * cannot know the user's zone, and a bare date could be the wrong day
 * for them. "" when the text is not a time.
 */
static void
w_due(const char *rfc3339, char buf[WIDGET_DUE_LEN])
{
	struct timespec	 ts;
	struct tm	 tm;
	time_t		 t;

	buf[0] = '\0';
	if (rfc3339 == NULL || jsonx_time_parse(rfc3339, &ts) == -1)
		return;
	t = ts.tv_sec;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return;
	if (tm.tm_hour == 0 && tm.tm_min == 0 && tm.tm_sec == 0)
		snprintf(buf, WIDGET_DUE_LEN, "%s %d %s %d",
		    w_wdays[tm.tm_wday], tm.tm_mday, w_months[tm.tm_mon],
		    tm.tm_year + 1900);
	else
		snprintf(buf, WIDGET_DUE_LEN, "%s %d %s %d, %02d:%02d UTC",
		    w_wdays[tm.tm_wday], tm.tm_mday, w_months[tm.tm_mon],
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
}

/* A string member of `o', or NULL. */
static const char *
w_member(struct json_object *o, const char *key, size_t *len)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	if (len != NULL)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* Reads a task; false when `o' is not one (no integer id or title). */
static bool
w_task_read(struct json_object *o, struct wtask *t)
{
	struct json_object	*v;

	memset(t, 0, sizeof(*t));
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "id", &v) ||
	    !json_task_id(v, &t->id) ||
	    (t->title = w_member(o, "title", &t->title_len)) == NULL)
		return false;
	t->completed = json_object_object_get_ex(o, "completed", &v) &&
	    json_object_get_boolean(v);
	t->priority = w_member(o, "priority", NULL);
	w_due(w_member(o, "due_at", NULL), t->due);
	return true;
}

/* "High priority" for "high"; NULL for none or an unknown value. */
static const char *
w_priority(const char *p)
{
	if (p == NULL)
		return NULL;
	if (strcmp(p, "high") == 0)
		return "High priority";
	if (strcmp(p, "medium") == 0)
		return "Medium priority";
	if (strcmp(p, "low") == 0)
		return "Low priority";
	return NULL;
}

/* An action as ChatKit embeds it, the server handling it. */
static void
w_action(struct wbuf *b, const char *type, int64_t id, const char *loading)
{
	w_raw(b, "{\"type\":\"");
	w_raw(b, type);
	w_raw(b, "\",\"payload\":{\"id\":");
	w_int(b, id);
	w_raw(b, "},\"handler\":\"server\",\"loadingBehavior\":\"");
	w_raw(b, loading);
	w_raw(b, "\"}");
}

/* A small button; `style' is its remaining props, e.g. ,"color":"..." */
static void
w_button(struct wbuf *b, const char *label, const char *style,
    const char *type, int64_t id, const char *loading)
{
	w_raw(b, "{\"type\":\"Button\",\"label\":\"");
	w_raw(b, label);
	w_raw(b, "\",\"size\":\"sm\"");
	w_raw(b, style);
	w_raw(b, ",\"onClickAction\":");
	w_action(b, type, id, loading);
	w_raw(b, "}");
}

/* The caption's text: due date and priority, "" when neither. */
static void
w_caption(struct wbuf *b, const struct wtask *t)
{
	const char	*prio = w_priority(t->priority);

	if (t->due[0] != '\0') {
		w_raw(b, "Due ");
		w_raw(b, t->due);
	}
	if (t->due[0] != '\0' && prio != NULL)
		w_raw(b, " \xc2\xb7 ");		/* U+00B7 middle dot */
	if (prio != NULL)
		w_raw(b, prio);
}

/*
 * One row: the title and caption on the left, taking the room the
 * buttons leave, then the buttons. Marking done or reopening changes
 * only this row, so its button alone shows the wait ("self"); deleting
 * reshapes the list, so the whole list does ("container").
 */
static void
w_row(struct wbuf *b, const struct wtask *t)
{
	struct wbuf	 cap = { b->ar, { NULL, 0, 0 }, false };

	w_raw(b, "{\"type\":\"ListViewItem\",\"key\":\"task-");
	w_int(b, t->id);
	w_raw(b, "\",\"gap\":3,\"align\":\"center\",\"children\":["
	    "{\"type\":\"Col\",\"flex\":1,\"gap\":1,\"children\":["
	    "{\"type\":\"Text\",\"value\":");
	w_quote(b, t->title, t->title_len);
	w_raw(b, ",\"size\":\"sm\",\"weight\":\"medium\"");
	if (t->completed)
		w_raw(b, ",\"lineThrough\":true,\"color\":\"tertiary\"");
	w_raw(b, "}");
	w_caption(&cap, t);
	if (cap.nomem)
		b->nomem = true;
	else if (cap.s.len > 0) {
		w_raw(b, ",{\"type\":\"Caption\",\"value\":");
		w_quote(b, cap.s.p, cap.s.len);
		w_raw(b, ",\"color\":\"secondary\"}");
	}
	w_raw(b, "]},{\"type\":\"Row\",\"gap\":2,\"children\":[");
	if (t->completed)
		w_button(b, "Reopen", ",\"color\":\"secondary\","
		    "\"variant\":\"outline\"", WIDGET_ACTION_REOPEN, t->id,
		    "self");
	else
		w_button(b, "Done", ",\"color\":\"success\","
		    "\"variant\":\"soft\"", WIDGET_ACTION_COMPLETE, t->id,
		    "self");
	w_raw(b, ",");
	w_button(b, "Delete", ",\"color\":\"danger\",\"variant\":\"ghost\"",
	    WIDGET_ACTION_DELETE, t->id, "container");
	w_raw(b, "]}]}");
}

/* The copy's line: "[x] title (due Tue 24 Nov 2026)". */
static void
w_copy_line(struct wbuf *b, const struct wtask *t)
{
	if (b->s.len > 0)
		w_raw(b, "\n");
	w_raw(b, t->completed ? "[x] " : "[ ] ");
	w_line(b, t->title, t->title_len);
	if (t->due[0] != '\0') {
		w_raw(b, " (due ");
		w_raw(b, t->due);
		w_raw(b, ")");
	}
}

static const char w_none[] = "No tasks to show.";

enum app_err
widgets_render(struct arena *ar, const char *tasks_json, char **widget,
    char **copy_text)
{
	struct json_object	*root = NULL;
	struct wbuf		 wb = { ar, { NULL, 0, 0 }, false };
	struct wbuf		 cb = { ar, { NULL, 0, 0 }, false };
	struct wtask		 t;
	size_t			 i, n, rows = 0;
	enum app_err		 e;

	if (tasks_json == NULL)
		return APP_EINVAL;
	if ((e = jsonx_parse(tasks_json, strlen(tasks_json), &root, NULL)) !=
	    APP_OK)
		return e;
	if (!json_object_is_type(root, json_type_array)) {
		e = APP_EINVAL;
		goto out;
	}
	w_raw(&wb, "{\"type\":\"ListView\",\"children\":[");
	n = json_object_array_length(root);
	for (i = 0; i < n; i++) {
		if (!w_task_read(json_object_array_get_idx(root, i), &t))
			continue;
		if (rows++ > 0)
			w_raw(&wb, ",");
		w_row(&wb, &t);
		w_copy_line(&cb, &t);
	}
	if (rows == 0) {
		w_raw(&wb, "{\"type\":\"ListViewItem\",\"key\":\"empty\","
		    "\"children\":[{\"type\":\"Text\",\"value\":\"");
		w_raw(&wb, w_none);
		w_raw(&wb, "\",\"size\":\"sm\",\"color\":\"secondary\"}]}");
		w_raw(&cb, w_none);
	}
	w_raw(&wb, "]");
	if (rows > WIDGET_ROWS_SHOWN) {
		w_raw(&wb, ",\"limit\":");
		w_int(&wb, WIDGET_ROWS_SHOWN);
	}
	w_raw(&wb, "}");
	if ((e = w_done(&wb, widget)) == APP_OK)
		e = w_done(&cb, copy_text);
out:
	json_object_put(root);
	return e;
}

/* ------------------------------------------------------------ database */

/*
 * The ids as a bigint[] literal "{3,1,2}", in order, repeats left out
 * (each would be a second row with the same key).
 */
static char *
w_ids_literal(struct arena *ar, const int64_t *ids, size_t n)
{
	struct wbuf	 b = { ar, { NULL, 0, 0 }, false };
	char		*s;
	size_t		 i, j, k = 0;

	w_raw(&b, "{");
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (ids[j] == ids[i])
				break;
		if (j < i)
			continue;
		if (k++ > 0)
			w_raw(&b, ",");
		w_int(&b, ids[i]);
	}
	w_raw(&b, "}");
	return w_done(&b, &s) == APP_OK ? s : NULL;
}

/*
 * One statement: the ids with their positions, joined to the user's
 * tasks, aggregated in the order given. A task deleted since, or
 * another user's, has no row to join.
 */
enum app_err
widgets_tasks(struct db_pool *pool, struct arena *ar, const char *user_id,
    const int64_t *ids, size_t n, char **widget, char **copy_text)
{
	static const char sql[] =
	    "SELECT coalesce(array_to_json(array_agg(api_task(t) "
	    "ORDER BY k.ord)), '[]') "
	    "FROM unnest($2::bigint[]) WITH ORDINALITY AS k(id, ord) "
	    "JOIN tasks t ON t.id = k.id "
	    "WHERE t.user_id = $1";
	const char	*p[2];
	char		*json = NULL;
	enum app_err	 e;

	if (n == 0)
		return widgets_render(ar, "[]", widget, copy_text);
	p[0] = user_id;
	if ((p[1] = w_ids_literal(ar, ids, n)) == NULL)
		return APP_ENOMEM;
	if ((e = db_one(pool, ar, sql, 2, p, &json)) != APP_OK)
		return e;
	if (json == NULL)
		return APP_EINTERNAL;	/* coalesce: cannot be */
	return widgets_render(ar, json, widget, copy_text);
}

/* ------------------------------------------------------------ actions */

enum w_act { W_COMPLETE, W_REOPEN, W_DELETE };

static const struct {
	const char	*type;
	const char	*verb;		/* what the user did ... */
	const char	*where;		/* ... the task list */
} w_acts[] = {
	[W_COMPLETE] = { WIDGET_ACTION_COMPLETE, "marked", "as done in" },
	[W_REOPEN] = { WIDGET_ACTION_REOPEN, "reopened", "in" },
	[W_DELETE] = { WIDGET_ACTION_DELETE, "deleted", "from" },
};

/* The task id of the payload {"id": N}: APP_OK, APP_EINVAL or APP_ENOMEM. */
static enum app_err
w_payload_id(struct arena *ar, const char *payload, int64_t *id)
{
	struct json_object	*obj = NULL;
	struct jsonx_errors	 errs;
	enum app_err		 e;

	if (payload == NULL)
		return APP_EINVAL;
	if ((e = jsonx_parse(payload, strlen(payload), &obj, NULL)) !=
	    APP_OK)
		return e;
	if (!json_object_is_type(obj, json_type_object)) {
		e = APP_EINVAL;
		goto out;
	}
	jsonx_errors_init(&errs, ar);
	(void)jsonx_get_int(obj, "id", JSONX_REQUIRED, 1, INT64_MAX, id,
	    &errs);
	if ((e = jsonx_errors_result(&errs)) != APP_OK && e != APP_ENOMEM)
		e = APP_EINVAL;
out:
	json_object_put(obj);
	return e;
}

/* The title of a task's JSON, copied; "" when it has none; NULL: ENOMEM. */
static const char *
w_title(struct arena *ar, const char *task_json)
{
	struct json_object	*obj = NULL;
	const char		*t, *s;
	enum app_err		 e;

	e = jsonx_parse(task_json, strlen(task_json), &obj, NULL);
	if (e == APP_ENOMEM)
		return NULL;
	t = e == APP_OK ? w_member(obj, "title", NULL) : NULL;
	s = arena_strdup(ar, t != NULL ? t : "");
	json_object_put(obj);
	return s;
}

/* *note = a copy of `msg'; returns `e', or APP_ENOMEM. */
static enum app_err
w_refuse(struct arena *ar, char **note, enum app_err e, const char *msg)
{
	if ((*note = arena_strdup(ar, msg)) == NULL)
		return APP_ENOMEM;
	return e;
}

enum app_err
widgets_action(struct db_pool *pool, struct arena *ar, const char *user_id,
    const char *type, const char *payload_json, char **note)
{
	const char	*title;
	char		*json = NULL;
	size_t		 a;
	int64_t		 id = 0;
	enum app_err	 e;

	*note = NULL;
	for (a = 0; type != NULL && a < sizeof(w_acts) / sizeof(w_acts[0]);
	    a++)
		if (strcmp(type, w_acts[a].type) == 0)
			break;
	if (type == NULL || a == sizeof(w_acts) / sizeof(w_acts[0]))
		return w_refuse(ar, note, APP_EINVAL, "unknown action");
	if ((e = w_payload_id(ar, payload_json, &id)) == APP_EINVAL)
		return w_refuse(ar, note, e,
		    "the action's payload has no task id");
	if (e != APP_OK)
		return e;

	/* Deleting answers nothing, so the title is read first. */
	if (a == W_DELETE) {
		if ((e = tasks_get(pool, ar, user_id, id, &json)) == APP_OK)
			e = tasks_delete(pool, user_id, id);
	} else
		e = tasks_complete(pool, ar, user_id, id,
		    a == W_COMPLETE ? 1 : 0, &json);
	if (e == APP_ENOTFOUND) {
		if ((*note = arena_printf(ar, "task %" PRId64 " not found",
		    id)) == NULL)
			return APP_ENOMEM;
		return e;
	}
	if (e != APP_OK)
		return e;
	if (json == NULL)
		return APP_EINTERNAL;
	if ((title = w_title(ar, json)) == NULL ||
	    (*note = arena_printf(ar, "The user %s the task \"%s\" (id %"
	    PRId64 ") %s the task list.", w_acts[a].verb, title, id,
	    w_acts[a].where)) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}
