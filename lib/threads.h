/*
 * threads.h: a user's conversations with the assistant: threads, their
 * items (messages), the SQL and the HTTP routes that read and edit them.
 *
 * A turn (lib/agent.c) stores its messages through threads_turn_begin()
 * and threads_turn_finish(); everything else here is plain reading and
 * editing. Every statement filters on the user's id and on deleted_at,
 * so another user's thread, or a deleted one, is simply not found.
 */
#ifndef QUIPU_THREADS_H
#define QUIPU_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "apperr.h"

struct arena;
struct db_pool;
struct http_request;
struct http_response;

#define THREAD_ID_SIZE		21	/* "thr_" + 16 base32 + NUL */
#define THREAD_TITLE_MAX	200	/* characters */
#define THREAD_MESSAGE_MAX	5000
#define THREAD_LIST_DEFAULT	20
#define THREAD_LIST_MAX		100
#define THREAD_OFFSET_MAX	1000000
#define THREAD_HISTORY		20	/* items the model sees */
#define THREAD_META_KEYS	16
#define THREAD_META_KEY_MAX	64
#define THREAD_META_VALUE_MAX	512

/* A new random id, `prefix' ("thr_", "msg_") and 16 base32 characters. */
void		 threads_new_id(const char *prefix, char out[THREAD_ID_SIZE]);

/* One earlier item, as the model is shown it. */
struct thread_item {
	const char	*id;
	const char	*role;		/* "user", "assistant" */
	const char	*content;
	const char	*status;
	const char	*tool_calls;	/* JSON array text, or NULL */
};

/* What threads_turn_begin() stored and read. Strings are arena copies. */
struct thread_turn {
	const char		*thread_id;
	const char		*thread_json;	/* the thread when created, else NULL */
	bool			 titled;	/* it already has a title */
	const char		*user_item_json;
	const char		*assistant_id;
	const char		*assistant_json;	/* status in_progress */
	struct thread_item	*history;	/* before the new message, oldest first */
	size_t			 nhistory;
};

/*
 * Starts a turn, in one statement: counts the message against the
 * quota (q->limit, 0: none; *q is filled), creates the thread (thread_id
 * NULL, named `title' or not) or claims the user's thread for one turn,
 * stores the user message and the assistant's, in progress, and reads
 * the history. APP_ERATE: the quota is used up; APP_ENOTFOUND: no such
 * thread; APP_ECONFLICT: another turn runs in it (one older than
 * `stale_s' seconds is taken as crashed: its message is marked
 * incomplete and the turn goes on). Nothing is stored unless APP_OK.
 */
struct quota;
enum app_err	 threads_turn_begin(struct db_pool *, struct arena *,
		    const char *user_id, const char *thread_id,
		    const char *title, const char *message, int stale_s,
		    struct quota *q, struct thread_turn *out) MUSTCHECK;

/* How a turn ended, for threads_turn_finish(). */
struct thread_outcome {
	const char	*content;
	const char	*status;	/* completed, incomplete, error */
	const char	*tool_calls;	/* JSON array text, or NULL */
	const char	*error;		/* why it failed, or NULL */
	const char	*title;		/* a title for an untitled thread, or NULL */
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
};

/*
 * In one transaction: stores the assistant message as it ended, ends the
 * turn, names an untitled thread, adds the tokens to the day's usage.
 * *item_json is the message; *thread_json the thread when its title
 * changed, else NULL.
 */
enum app_err	 threads_turn_finish(struct db_pool *, struct arena *,
		    const char *user_id, const struct thread_turn *,
		    const struct thread_outcome *, char **item_json,
		    char **thread_json) MUSTCHECK;

/* Creates an empty thread: *id is its id, *json the thread. */
enum app_err	 threads_create(struct db_pool *, struct arena *,
		    const char *user_id, const char *title, const char **id,
		    char **json) MUSTCHECK;

/* Route handlers (ROUTE_AUTH; params[0] thread id, params[1] item id). */
enum app_err	 threads_http_list(struct http_request *,
		    struct http_response *);
enum app_err	 threads_http_get(struct http_request *, struct http_response *);
enum app_err	 threads_http_patch(struct http_request *,
		    struct http_response *);
enum app_err	 threads_http_delete(struct http_request *,
		    struct http_response *);
enum app_err	 threads_http_messages(struct http_request *,
		    struct http_response *);
enum app_err	 threads_http_feedback(struct http_request *,
		    struct http_response *);

#endif
