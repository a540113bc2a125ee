/*
 * tools.h: the assistant's task tools.
 *
 * The seven tools a model may call (create_task, list_tasks, update_task,
 * complete_task, delete_task, bulk_complete_tasks, bulk_delete_tasks),
 * described in OpenAI's function format, and run through the tasks C
 * API as the user of the turn, under the same rules as the HTTP API.
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
/* The task tools and the known client tools of `list'; NULL on ENOMEM. */
const char	*tools_definitions_with(struct arena *, const char *list);

/*
 * Runs tool `name' with `arguments' (the model's JSON text). Whatever
 * happens becomes *result, JSON text for the model: the outcome, or
 * {"error":{"code","message","details"?}} for an unknown tool, bad
 * arguments or a task that is not the user's. APP_OK unless memory ran
 * out.
 */
enum app_err	 tools_run(struct app *, struct arena *,
		    const char *user_id, const struct memory_source *src,
		    const char *name, const char *arguments, char **result)
		    MUSTCHECK;

#endif
