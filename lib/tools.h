/*
 * tools.h: the assistant's tools.
 *
 * The ten tools a model may call, described in OpenAI's function format
 * and run as the user of the turn, under the same rules as the HTTP API:
 * the task tools (create_task, list_tasks, update_task, complete_task,
 * delete_task, bulk_complete_tasks, bulk_delete_tasks) through the tasks
 * C API, and the memory tools through memory.h and recall.h:
 *	remember {"content"}	memory_remember() of the fact in the content
 *				(extract_builtin()'s one fact, else the content
 *				as a note), by the assistant, from the turn:
 *				{"event":"ADD|UPDATE|DELETE|NONE","memory":
 *				Memory or null}
 *	recall {"query"?}	recall_search(), at most 5 above
 *				RECALL_MIN_SEARCH; "" or none: the newest:
 *				{"memories":[{"id","content","score"}]}
 *	forget {"memory_id"}	memory_delete() of one of the user's memories;
 *	 or {"query"}		a query that states a fact is forgotten as
 *				extraction forgets "forget that ...", by the
 *				reconciliation of the negated fact (only the
 *				memory it names goes), any other the best match
 *				above RECALL_MIN_PROMPT that has every word the
 *				query names: {"deleted":Memory}; error
 *				not_found when there is none (another user's
 *				id included)
 */
#ifndef QUIPU_TOOLS_H
#define QUIPU_TOOLS_H

#include <stdbool.h>

#include "apperr.h"

struct app;
struct arena;
struct memory_source;

/* The JSON array of the tool definitions (static text). */
const char	*tools_definitions(void);

/*
 * Client tools run in the browser (ChatKit's onClientTool): the model's
 * call ends the turn and the browser's output starts the next. quipu
 * knows get_local_time (no arguments; the browser answers its time zone
 * and local time). `list' is the client_tools setting, comma-separated.
 */
bool		 tools_is_client(const char *list, const char *name);
/* The server's tools and the known client tools of `list'; NULL on
 * ENOMEM. */
const char	*tools_definitions_with(struct arena *, const char *list);

/*
 * Runs tool `name' with `arguments' (the model's JSON text) for
 * `user_id'; `src' is the turn the memory tools record as the source of
 * their changes (either member may be NULL). Whatever happens becomes
 * *result, JSON text for the model: the outcome, or
 * {"error":{"code","message","details"?}} for an unknown tool, bad
 * arguments, or a task or memory that is not the user's. APP_OK unless
 * memory ran out.
 */
enum app_err	 tools_run(struct app *, struct arena *,
		    const char *user_id, const struct memory_source *src,
		    const char *name, const char *arguments, char **result)
		    MUSTCHECK;

#endif
