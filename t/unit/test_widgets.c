/*
 * test_widgets.c: the task-list widget without a database.
 *
 * widgets_collect() over every tool result shape (errors, deletes,
 * repeats, the cap); widgets_render() output parsed back with json-c and
 * walked (root, rows, keys, strike-through, actions, caption, escaping,
 * the empty list, the "Show more" limit) and its copy text; the refusals
 * of widgets_action() and the empty widgets_tasks(), which return before
 * any statement. The database paths are run by the integration tests.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "apperr.h"
#include "arena.h"
#include "widgets.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int
setup(void **state)
{
	*state = arena_create(4096);
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	arena_destroy(*state);
	return 0;
}

/* Asserts that w holds exactly want[0..n). */
static void
ids_are(const struct widget_ids *w, const int64_t *want, size_t n)
{
	size_t	 i;

	assert_int_equal(w->n, n);
	for (i = 0; i < n; i++)
		assert_int_equal(w->v[i], want[i]);
}

/* A task as api_task() writes it. */
static char *
task_json(struct arena *ar, int64_t id, const char *title, bool done,
    const char *prio, const char *due)
{
	char	*s;

	s = arena_printf(ar, "{\"id\":%" PRId64 ",\"title\":\"%s\","
	    "\"description\":null,\"completed\":%s,\"priority\":\"%s\","
	    "\"due_at\":%s%s%s,\"tags\":[],"
	    "\"created_at\":\"2026-11-22T10:00:00.000Z\","
	    "\"updated_at\":\"2026-11-22T10:00:00.000Z\","
	    "\"completed_at\":%s}", id, title, done ? "true" : "false", prio,
	    due ? "\"" : "", due ? due : "null", due ? "\"" : "",
	    done ? "\"2026-11-22T11:00:00.000Z\"" : "null");
	assert_non_null(s);
	return s;
}

/* ------------------------------------------------------------ collect */

static void
test_collect_list(void **state)
{
	struct arena		*ar = *state;
	struct widget_ids	 w = { 0 };
	const int64_t		 want[] = { 7, 3, 9 };
	char			*r;

	r = arena_printf(ar, "{\"items\":[%s,%s,%s],\"total\":3,\"limit\":20,"
	    "\"offset\":0}", task_json(ar, 7, "a", false, "none", NULL),
	    task_json(ar, 3, "b", true, "low", NULL),
	    task_json(ar, 9, "c", false, "high", NULL));
	assert_int_equal(widgets_collect(ar, &w, "list_tasks", r), 0);
	ids_are(&w, want, NELEM(want));
	/* An empty page adds nothing. */
	assert_int_equal(widgets_collect(ar, &w, "list_tasks",
	    "{\"items\":[],\"total\":0,\"limit\":20,\"offset\":0}"), 0);
	ids_are(&w, want, NELEM(want));
}

static void
test_collect_one(void **state)
{
	struct arena		*ar = *state;
	struct widget_ids	 w = { 0 };
	const int64_t		 want[] = { 12, 4, 5 };

	assert_int_equal(widgets_collect(ar, &w, "create_task",
	    task_json(ar, 12, "milk", false, "none", NULL)), 0);
	assert_int_equal(widgets_collect(ar, &w, "update_task",
	    task_json(ar, 4, "bread", false, "medium", NULL)), 0);
	assert_int_equal(widgets_collect(ar, &w, "complete_task",
	    task_json(ar, 5, "eggs", true, "none", NULL)), 0);
	ids_are(&w, want, NELEM(want));
}

static void
test_collect_delete(void **state)
{
	struct arena		*ar = *state;
	struct widget_ids	 w = { 0 };
	const int64_t		 after[] = { 1, 3 };
	const int64_t		 none[] = { 0 };
	char			*r;

	assert_int_equal(widgets_collect(ar, &w, "bulk_complete_tasks",
	    "{\"affected\":3,\"ids\":[1,2,3]}"), 0);
	r = arena_printf(ar, "{\"deleted\":true,\"task\":%s}",
	    task_json(ar, 2, "b", false, "none", NULL));
	assert_int_equal(widgets_collect(ar, &w, "delete_task", r), 0);
	ids_are(&w, after, NELEM(after));
	/* Deleting what was never listed changes nothing. */
	r = arena_printf(ar, "{\"deleted\":true,\"task\":%s}",
	    task_json(ar, 99, "z", false, "none", NULL));
	assert_int_equal(widgets_collect(ar, &w, "delete_task", r), 0);
	ids_are(&w, after, NELEM(after));
	assert_int_equal(widgets_collect(ar, &w, "bulk_delete_tasks",
	    "{\"affected\":2,\"ids\":[1,3]}"), 0);
	ids_are(&w, none, 0);
	/* A deleted task listed again comes back, at the end. */
	assert_int_equal(widgets_collect(ar, &w, "create_task",
	    task_json(ar, 8, "h", false, "none", NULL)), 0);
	assert_int_equal(widgets_collect(ar, &w, "bulk_complete_tasks",
	    "{\"affected\":1,\"ids\":[3]}"), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.v[0], 8);
	assert_int_equal(w.v[1], 3);
}

static void
test_collect_errors(void **state)
{
	struct arena		*ar = *state;
	struct widget_ids	 w = { 0 };
	const int64_t		 want[] = { 6 };
	static const struct {
		const char	*tool, *result;
	} nothing[] = {
		{ "create_task", "{\"error\":{\"code\":\"validation_failed\","
		    "\"message\":\"title is required\"}}" },
		{ "complete_task", "{\"error\":{\"code\":\"not_found\","
		    "\"message\":\"task 6 not found\"},\"id\":6}" },
		{ "delete_task", "{\"error\":{\"code\":\"not_found\","
		    "\"message\":\"task 6 not found\"}}" },
		{ "bulk_delete_tasks", "{\"error\":{\"code\":\"not_found\","
		    "\"message\":\"tasks not found: [6]; nothing changed\"},"
		    "\"ids\":[6]}" },
		{ "list_tasks", "{\"error\":{\"code\":\"bad_request\"}}" },
		{ "no_such_tool", "{\"id\":6}" },
		{ "get_local_time", "{\"timezone\":\"UTC\"}" },
		{ "create_task", "not json" },
		{ "create_task", "" },
		{ "create_task", "[6]" },
		{ "create_task", "{\"id\":\"6\"}" },
		{ "create_task", "{\"id\":0}" },
		{ "create_task", "{\"id\":-6}" },
		{ "create_task", "{\"id\":6.5}" },
		{ "list_tasks", "{\"items\":{\"id\":6}}" },
		{ "list_tasks", "{\"items\":[6,\"x\",null,{\"id\":true}]}" },
		{ "bulk_complete_tasks", "{\"affected\":1,\"ids\":6}" },
		{ "delete_task", "{\"deleted\":true,\"task\":6}" },
	};
	size_t			 i;

	assert_int_equal(widgets_collect(ar, &w, "create_task",
	    task_json(ar, 6, "t", false, "none", NULL)), 0);
	for (i = 0; i < NELEM(nothing); i++) {
		assert_int_equal(widgets_collect(ar, &w, nothing[i].tool,
		    nothing[i].result), 0);
		ids_are(&w, want, NELEM(want));
	}
	assert_int_equal(widgets_collect(ar, &w, NULL, "{\"id\":1}"), 0);
	assert_int_equal(widgets_collect(ar, &w, "create_task", NULL), 0);
	ids_are(&w, want, NELEM(want));
}

static void
test_collect_repeats(void **state)
{
	struct arena		*ar = *state;
	struct widget_ids	 w = { 0 };
	const int64_t		 want[] = { 2, 1, 3 };

	assert_int_equal(widgets_collect(ar, &w, "bulk_complete_tasks",
	    "{\"affected\":2,\"ids\":[2,1,2]}"), 0);
	assert_int_equal(widgets_collect(ar, &w, "update_task",
	    task_json(ar, 1, "one", false, "none", NULL)), 0);
	assert_int_equal(widgets_collect(ar, &w, "list_tasks",
	    "{\"items\":[{\"id\":3},{\"id\":2},{\"id\":3}],\"total\":3}"), 0);
	ids_are(&w, want, NELEM(want));
}

static void
test_collect_cap(void **state)
{
	struct arena		*ar = *state;
	struct widget_ids	 w = { 0 };
	struct arena_str	 r = { 0 };
	char			 num[32];
	int			 i;

	/* 60 listed: the first WIDGET_TASKS_MAX are kept, in order. */
	assert_int_equal(arena_str_add(ar, &r, "{\"items\":[", 10), 0);
	for (i = 1; i <= 60; i++) {
		snprintf(num, sizeof(num), "%s{\"id\":%d}", i > 1 ? "," : "",
		    i);
		assert_int_equal(arena_str_add(ar, &r, num, strlen(num)), 0);
	}
	assert_int_equal(arena_str_add(ar, &r, "]}", 2), 0);
	assert_int_equal(widgets_collect(ar, &w, "list_tasks", r.p), 0);
	assert_int_equal(w.n, WIDGET_TASKS_MAX);
	for (i = 0; i < WIDGET_TASKS_MAX; i++)
		assert_int_equal(w.v[i], i + 1);
	/* Full: one more is left out ... */
	assert_int_equal(widgets_collect(ar, &w, "create_task",
	    "{\"id\":1000}"), 0);
	assert_int_equal(w.n, WIDGET_TASKS_MAX);
	assert_int_equal(w.v[WIDGET_TASKS_MAX - 1], WIDGET_TASKS_MAX);
	/* ... until a delete makes room. */
	assert_int_equal(widgets_collect(ar, &w, "delete_task",
	    "{\"deleted\":true,\"task\":{\"id\":10}}"), 0);
	assert_int_equal(w.n, WIDGET_TASKS_MAX - 1);
	assert_int_equal(w.v[9], 11);
	assert_int_equal(widgets_collect(ar, &w, "create_task",
	    "{\"id\":1000}"), 0);
	assert_int_equal(w.n, WIDGET_TASKS_MAX);
	assert_int_equal(w.v[WIDGET_TASKS_MAX - 1], 1000);
}

/* ------------------------------------------------------------ render */

/* Parses the widget; asserts a ListView root. The caller puts it. */
static struct json_object *
widget_parse(const char *widget)
{
	struct json_object	*root, *v;

	assert_non_null(widget);
	root = json_tokener_parse(widget);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "type", &v));
	assert_string_equal(json_object_get_string(v), "ListView");
	assert_true(json_object_object_get_ex(root, "children", &v));
	assert_true(json_object_is_type(v, json_type_array));
	return root;
}

static const char *
str_of(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Row i of the list; asserts a ListViewItem. */
static struct json_object *
row(struct json_object *root, size_t i)
{
	struct json_object	*kids, *r;

	assert_true(json_object_object_get_ex(root, "children", &kids));
	assert_true(i < json_object_array_length(kids));
	r = json_object_array_get_idx(kids, i);
	assert_string_equal(str_of(r, "type"), "ListViewItem");
	return r;
}

static size_t
nrows(struct json_object *root)
{
	struct json_object	*kids;

	assert_true(json_object_object_get_ex(root, "children", &kids));
	return json_object_array_length(kids);
}

/* The k-th node (depth first) of type `type' under `o', or NULL. */
static struct json_object *
find(struct json_object *o, const char *type, int *k)
{
	struct json_object	*kids, *f;
	const char		*t;
	size_t			 i;

	t = str_of(o, "type");
	if (t != NULL && strcmp(t, type) == 0 && (*k)-- == 0)
		return o;
	if (!json_object_object_get_ex(o, "children", &kids) ||
	    !json_object_is_type(kids, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(kids); i++)
		if ((f = find(json_object_array_get_idx(kids, i), type, k)) !=
		    NULL)
			return f;
	return NULL;
}

static struct json_object *
nth(struct json_object *o, const char *type, int k)
{
	return find(o, type, &k);
}

static bool
bool_of(struct json_object *o, const char *key)
{
	struct json_object	*v;

	return json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
}

/* Asserts button `b' is `label' with action `type' on task `id'. */
static void
button_is(struct json_object *b, const char *label, const char *type,
    int64_t id, const char *loading)
{
	struct json_object	*a, *p, *v;

	assert_non_null(b);
	assert_string_equal(str_of(b, "label"), label);
	assert_true(json_object_object_get_ex(b, "onClickAction", &a));
	assert_string_equal(str_of(a, "type"), type);
	assert_string_equal(str_of(a, "handler"), "server");
	assert_string_equal(str_of(a, "loadingBehavior"), loading);
	assert_true(json_object_object_get_ex(a, "payload", &p));
	assert_int_equal(json_object_object_length(p), 1);
	assert_true(json_object_object_get_ex(p, "id", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), id);
}

static void
test_render_two(void **state)
{
	struct arena		*ar = *state;
	struct json_object	*root, *r, *t, *c;
	char			*tasks, *widget = NULL, *copy = NULL;

	tasks = arena_printf(ar, "[%s,%s]",
	    task_json(ar, 12, "Buy milk", false, "high",
	    "2026-11-24T00:00:00.000Z"),
	    task_json(ar, 7, "Call mum", true, "none", NULL));
	assert_int_equal(widgets_render(ar, tasks, &widget, &copy), APP_OK);
	root = widget_parse(widget);
	assert_null(json_object_object_get(root, "limit"));
	assert_int_equal(nrows(root), 2);

	/* A pending task: plain title, caption, Done and Delete. */
	r = row(root, 0);
	assert_string_equal(str_of(r, "key"), "task-12");
	assert_non_null(t = nth(r, "Text", 0));
	assert_string_equal(str_of(t, "value"), "Buy milk");
	assert_false(bool_of(t, "lineThrough"));
	assert_null(str_of(t, "color"));
	assert_non_null(c = nth(r, "Caption", 0));
	assert_string_equal(str_of(c, "value"),
	    "Due Tue 24 Nov 2026 \xc2\xb7 High priority");
	button_is(nth(r, "Button", 0), "Done", "task.complete", 12, "self");
	button_is(nth(r, "Button", 1), "Delete", "task.delete", 12,
	    "container");
	assert_null(nth(r, "Button", 2));

	/* A completed one: struck through, muted, Reopen; no caption. */
	r = row(root, 1);
	assert_string_equal(str_of(r, "key"), "task-7");
	assert_non_null(t = nth(r, "Text", 0));
	assert_string_equal(str_of(t, "value"), "Call mum");
	assert_true(bool_of(t, "lineThrough"));
	assert_string_equal(str_of(t, "color"), "tertiary");
	assert_null(nth(r, "Caption", 0));
	button_is(nth(r, "Button", 0), "Reopen", "task.reopen", 7, "self");
	button_is(nth(r, "Button", 1), "Delete", "task.delete", 7,
	    "container");
	json_object_put(root);

	assert_string_equal(copy,
	    "[ ] Buy milk (due Tue 24 Nov 2026)\n[x] Call mum");
}

static void
test_render_caption(void **state)
{
	struct arena		*ar = *state;
	struct json_object	*root;
	char			*tasks, *widget, *copy;

	/* A time of day is shown with its zone; low priority alone. */
	tasks = arena_printf(ar, "[%s,%s,%s]",
	    task_json(ar, 1, "a", false, "none", "2026-12-01T17:05:00.000Z"),
	    task_json(ar, 2, "b", false, "low", NULL),
	    task_json(ar, 3, "c", true, "medium", "2027-01-03T00:00:00Z"));
	assert_int_equal(widgets_render(ar, tasks, &widget, &copy), APP_OK);
	root = widget_parse(widget);
	assert_string_equal(str_of(nth(row(root, 0), "Caption", 0), "value"),
	    "Due Tue 1 Dec 2026, 17:05 UTC");
	assert_string_equal(str_of(nth(row(root, 1), "Caption", 0), "value"),
	    "Low priority");
	assert_string_equal(str_of(nth(row(root, 2), "Caption", 0), "value"),
	    "Due Sun 3 Jan 2027 \xc2\xb7 Medium priority");
	json_object_put(root);
	assert_string_equal(copy, "[ ] a (due Tue 1 Dec 2026, 17:05 UTC)\n"
	    "[ ] b\n[x] c (due Sun 3 Jan 2027)");
}

static void
test_render_escaping(void **state)
{
	struct arena		*ar = *state;
	struct json_object	*root;
	const char		*title =
	    "Say \"hi\"\nto Zo\xc3\xab \\ \xf0\x9f\x98\x80\tnow";
	char			*tasks, *widget, *copy;

	/* The title as JSON would carry it. */
	tasks = arena_printf(ar, "[{\"id\":5,\"title\":"
	    "\"Say \\\"hi\\\"\\nto Zo\\u00eb \\\\ \\ud83d\\ude00\\tnow\","
	    "\"completed\":false,\"priority\":\"none\",\"due_at\":null}]");
	assert_int_equal(widgets_render(ar, tasks, &widget, &copy), APP_OK);
	/* No raw control character reaches the widget's text. */
	assert_null(strchr(widget, '\n'));
	assert_null(strchr(widget, '\t'));
	root = widget_parse(widget);
	assert_string_equal(str_of(nth(row(root, 0), "Text", 0), "value"),
	    title);
	json_object_put(root);
	/* The copy keeps one line per task. */
	assert_string_equal(copy,
	    "[ ] Say \"hi\" to Zo\xc3\xab \\ \xf0\x9f\x98\x80 now");
}

static void
test_render_empty(void **state)
{
	struct arena		*ar = *state;
	struct json_object	*root, *r, *t;
	char			*widget = NULL, *copy = NULL;
	static const char *const empties[] = {
		"[]", " [ ] ", ("[1,\"x\",null,{\"title\":\"no id\"},"
		    "{\"id\":3},{\"id\":0,\"title\":\"zero\"}]"),
	};
	size_t			 i;

	for (i = 0; i < NELEM(empties); i++) {
		assert_int_equal(widgets_render(ar, empties[i], &widget,
		    &copy), APP_OK);
		root = widget_parse(widget);
		assert_int_equal(nrows(root), 1);
		r = row(root, 0);
		assert_non_null(t = nth(r, "Text", 0));
		assert_string_equal(str_of(t, "value"), "No tasks to show.");
		assert_null(nth(r, "Button", 0));
		json_object_put(root);
		assert_string_equal(copy, "No tasks to show.");
	}
	/* widgets_tasks() with no ids reads nothing: no pool needed. */
	widget = copy = NULL;
	assert_int_equal(widgets_tasks(NULL, ar, "u", NULL, 0, &widget,
	    &copy), APP_OK);
	root = widget_parse(widget);
	assert_int_equal(nrows(root), 1);
	json_object_put(root);
	assert_string_equal(copy, "No tasks to show.");
}

static void
test_render_skips_and_refuses(void **state)
{
	struct arena		*ar = *state;
	struct json_object	*root;
	char			*tasks, *widget, *copy;

	/* Elements that are not tasks are left out, the rest kept. */
	tasks = arena_printf(ar, "[{\"id\":\"1\",\"title\":\"x\"},%s,7]",
	    task_json(ar, 2, "two", false, "none", NULL));
	assert_int_equal(widgets_render(ar, tasks, &widget, &copy), APP_OK);
	root = widget_parse(widget);
	assert_int_equal(nrows(root), 1);
	assert_string_equal(str_of(row(root, 0), "key"), "task-2");
	json_object_put(root);
	assert_string_equal(copy, "[ ] two");

	assert_int_equal(widgets_render(ar, "{\"items\":[]}", &widget, &copy),
	    APP_EINVAL);
	assert_int_equal(widgets_render(ar, "[", &widget, &copy), APP_EINVAL);
	assert_int_equal(widgets_render(ar, NULL, &widget, &copy),
	    APP_EINVAL);
}

static void
test_render_limit(void **state)
{
	struct arena		*ar = *state;
	struct json_object	*root, *v;
	struct arena_str	 s = { 0 };
	char			*t, *widget, *copy, *nl;
	int			 i, lines;

	assert_int_equal(arena_str_add(ar, &s, "[", 1), 0);
	for (i = 1; i <= 12; i++) {
		t = arena_printf(ar, "%s%s", i > 1 ? "," : "",
		    task_json(ar, i, "t", i % 2 == 0, "none", NULL));
		assert_int_equal(arena_str_add(ar, &s, t, strlen(t)), 0);
	}
	assert_int_equal(arena_str_add(ar, &s, "]", 1), 0);
	assert_int_equal(widgets_render(ar, s.p, &widget, &copy), APP_OK);
	root = widget_parse(widget);
	assert_int_equal(nrows(root), 12);
	for (i = 0; i < 12; i++) {
		t = arena_printf(ar, "task-%d", i + 1);
		assert_string_equal(str_of(row(root, (size_t)i), "key"), t);
	}
	/* Past ten rows ChatKit offers "Show more". */
	assert_true(json_object_object_get_ex(root, "limit", &v));
	assert_int_equal(json_object_get_int(v), 10);
	json_object_put(root);
	for (lines = 1, nl = copy; (nl = strchr(nl, '\n')) != NULL; nl++)
		lines++;
	assert_int_equal(lines, 12);
}

/* ------------------------------------------------------------ actions */

/* Refusals come before any statement, so no pool is needed. */
static void
test_action_refusals(void **state)
{
	struct arena	*ar = *state;
	char		*note;
	static const char *const bad_payloads[] = {
		"", "null", "12", "[12]", "{}", "{\"id\":\"12\"}",
		"{\"id\":0}", "{\"id\":-1}", "{\"id\":1.5}", "{\"id\":null}",
		"{\"id\":99999999999999999999}", "{\"id\":12",
	};
	size_t		 i;

	note = NULL;
	assert_int_equal(widgets_action(NULL, ar, "u", "task.rename",
	    "{\"id\":12}", &note), APP_EINVAL);
	assert_string_equal(note, "unknown action");
	note = NULL;
	assert_int_equal(widgets_action(NULL, ar, "u", NULL, "{\"id\":12}",
	    &note), APP_EINVAL);
	assert_string_equal(note, "unknown action");
	for (i = 0; i < NELEM(bad_payloads); i++) {
		note = NULL;
		assert_int_equal(widgets_action(NULL, ar, "u", "task.complete",
		    bad_payloads[i], &note), APP_EINVAL);
		assert_non_null(note);
		assert_non_null(strstr(note, "task id"));
	}
	note = NULL;
	assert_int_equal(widgets_action(NULL, ar, "u", "task.delete", NULL,
	    &note), APP_EINVAL);
	assert_non_null(note);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_collect_list, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_collect_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_collect_delete, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_collect_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_collect_repeats, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_collect_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_render_two, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_render_caption, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_render_escaping, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_render_empty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_render_skips_and_refuses,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_render_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_action_refusals, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
