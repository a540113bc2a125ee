/*
 * memory.c: the user's memories (see memory.h).
 * SKELETON: being written (issue 7); replaced before it lands.
 */
#include "config.h"

#include <stddef.h>

#include "http.h"
#include "memory.h"

enum app_err
memory_remember(struct app *app, struct arena *ar, const char *user_id,
    const struct extract_fact *f, enum memory_actor actor,
    const struct memory_source *src, enum extract_op *op, char **json)
{
	(void)app; (void)ar; (void)user_id; (void)f; (void)actor; (void)src;
	*op = EXTRACT_NONE;
	*json = NULL;
	return APP_EINTERNAL;
}

enum app_err
memory_delete(struct app *app, struct arena *ar, const char *user_id,
    int64_t id, enum memory_actor actor, const struct memory_source *src,
    char **json)
{
	(void)app; (void)ar; (void)user_id; (void)id; (void)actor; (void)src;
	if (json != NULL)
		*json = NULL;
	return APP_EINTERNAL;
}

enum app_err
memory_summary(struct app *app, struct arena *ar, const char *user_id,
    char **text)
{
	(void)app; (void)ar; (void)user_id;
	*text = NULL;
	return APP_EINTERNAL;
}

void
memory_for_prompt(struct app *app, struct arena *ar, const char *user_id,
    const char *message, char **json, char **prompt)
{
	(void)app; (void)ar; (void)user_id; (void)message;
	*json = (char *)"[]";
	*prompt = NULL;
}

#define MEMORY_TODO(fn)							\
enum app_err								\
fn(struct http_request *req, struct http_response *resp)		\
{									\
	(void)req; (void)resp;						\
	return APP_EINTERNAL;						\
}
MEMORY_TODO(memory_http_list)
MEMORY_TODO(memory_http_add)
MEMORY_TODO(memory_http_search)
MEMORY_TODO(memory_http_summary)
MEMORY_TODO(memory_http_get)
MEMORY_TODO(memory_http_patch)
MEMORY_TODO(memory_http_delete)
MEMORY_TODO(memory_http_history)
MEMORY_TODO(memory_http_delete_all)
