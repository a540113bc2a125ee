/*
 * widgets.h: the task list a ChatKit conversation shows, and its buttons.
 *
 * When the tools of a turn list or change tasks, the answer is followed
 * by a widget item: a ChatKit ListView of those tasks as they are now,
 * one row per task with its title (struck through when done), a caption
 * (due date, priority) and buttons whose actions come back to the server
 * as threads.custom_action. This module
 *  - gathers the ids of the tasks a turn touched, from the tools' results
 *    (widgets_collect),
 *  - reads those tasks and writes the widget's JSON and its plain-text
 *    copy (widgets_tasks, widgets_render),
 *  - performs a button's action as the user, and says in one sentence
 *    what the user did, for the model (widgets_action).
 *
 * The widget is written as text in the caller's arena (compact JSON,
 * camelCase props as ChatKit expects), ready to be stored and streamed.
 */
#ifndef QUIPU_WIDGETS_H
#define QUIPU_WIDGETS_H

#include <stddef.h>
#include <stdint.h>

#include "apperr.h"

struct arena;
struct db_pool;

#define WIDGET_TASKS_MAX	50	/* rows of one widget */

/* The action types of the widget's buttons (action.type). */
#define WIDGET_ACTION_COMPLETE	"task.complete"
#define WIDGET_ACTION_REOPEN	"task.reopen"
#define WIDGET_ACTION_DELETE	"task.delete"

/*
 * The ids of the tasks a turn's tool calls read or changed, in order,
 * without repeats. Zero it to start; `v' lives in the arena given to
 * widgets_collect().
 */
struct widget_ids {
	int64_t	*v;
	size_t	 n;
	size_t	 cap;
};

/*
 * Adds the tasks that tool `tool' read or changed, from its result (JSON
 * text, as tools_run() writes it):
 *	list_tasks		{"items":[task...],...}: every listed id
 *	create_task, update_task, complete_task
 *				the task {"id",...}: its id
 *	delete_task		{"deleted":true,"task":{...}}: removes its id
 *	bulk_complete_tasks	{"affected":n,"ids":[...]}: those ids
 *	bulk_delete_tasks	the same: removes those ids
 * A result {"error":...}, one that is not JSON, or an unknown tool adds
 * nothing. An id already present keeps its place; past WIDGET_TASKS_MAX
 * ids the rest are left out. Returns -1 on ENOMEM only.
 */
int		 widgets_collect(struct arena *, struct widget_ids *,
		    const char *tool, const char *result) MUSTCHECK;

/*
 * Renders the tasks of `tasks_json' (a JSON array of tasks as api_task()
 * writes them), in that order: *widget is the compact JSON of a ChatKit
 * ListView with one ListViewItem per task, keyed "task-<id>", *copy_text
 * one line per task ("[x] title" or "[ ] title", with the due date when
 * set). Each row carries the title (lineThrough and a muted colour when
 * completed), a caption with the due date and priority when set, a
 * "Done" button (WIDGET_ACTION_COMPLETE; "Reopen" and
 * WIDGET_ACTION_REOPEN for a completed task) and a "Delete" button
 * (WIDGET_ACTION_DELETE), each action with payload {"id":N}. No tasks: a
 * single row saying so. Elements that are not tasks (no integer id or no
 * string title) are left out. Both outputs are in the arena.
 * APP_EINVAL when `tasks_json' is not a JSON array; APP_ENOMEM.
 */
enum app_err	 widgets_render(struct arena *, const char *tasks_json,
		    char **widget, char **copy_text) MUSTCHECK;

/*
 * Reads the user's tasks `ids' (n of them) in that order, leaving out
 * deleted ones, other users' ones and repeats, in one statement, and
 * renders them (widgets_render). A database error is returned as is.
 */
enum app_err	 widgets_tasks(struct db_pool *, struct arena *,
		    const char *user_id, const int64_t *ids, size_t n,
		    char **widget, char **copy_text) MUSTCHECK;

/*
 * Performs a button's action as the user: `type' is one of the
 * WIDGET_ACTION_* names and `payload_json' the raw JSON text of the
 * action's payload, {"id": <task id>}. On APP_OK *note is one sentence
 * for the model saying what the user did ('The user marked the task
 * "Buy milk" (id 12) as done in the task list.'). Failures:
 *	APP_EINVAL	unknown type, or a payload without a task id
 *	APP_ENOTFOUND	the task is not the user's (nothing changed)
 *	database errors, APP_ENOMEM
 * On APP_EINVAL and APP_ENOTFOUND *note is a short sentence for the
 * error shown to the user ("unknown action"); on others it is NULL.
 */
enum app_err	 widgets_action(struct db_pool *, struct arena *,
		    const char *user_id, const char *type,
		    const char *payload_json, char **note) MUSTCHECK;

#endif
