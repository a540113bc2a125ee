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
	const char	*role;		/* user, assistant, client_tool_call, hidden */
	const char	*content;
	const char	*status;
	const char	*tool_calls;	/* JSON array text, or NULL */
	const char	*data;		/* JSON object text, or NULL */
	const char	*output;	/* JSON text, or NULL */
};

/* How a turn starts. */
struct thread_start {
	const char	*thread_id;	/* with `create', the new thread's id
					   (NULL: one is made) */
	bool		 create;
	const char	*title;		/* of a new thread, or NULL */
	const char	*message;	/* the user's new message, or NULL: an
					   answer to what is there (retry_id,
					   or a client tool's output) */
	const char	*data;		/* the message's ChatKit fields (a JSON
					   object), or NULL */
	const char	*retry_id;	/* a user message answered again: the
					   items after it are removed */
};

/* What threads_turn_begin() stored and read. Strings are arena copies;
 * the ck_ fields are the same objects as ChatKit writes them. */
struct thread_turn {
	const char		*thread_id;
	const char		*thread_json;	/* the thread when created, else NULL */
	const char		*ck_thread;
	bool			 titled;	/* it already has a title */
	const char		*user_item_json;	/* NULL without a message */
	const char		*ck_user_item;
	/* The user message the turn answers: the new one, or the one
	 * answered again (retry_id); NULL for neither. */
	const char		*user_item_id;
	const char		*assistant_id;
	const char		*assistant_json;	/* status in_progress */
	const char		*ck_assistant;
	struct thread_item	*history;	/* before the new message, oldest first */
	size_t			 nhistory;
};

/*
 * Starts a turn, in one statement: counts the message against the
 * quota (q->limit, 0: none; *q is filled), creates the thread or claims
 * the user's thread for one turn, stores the user message (if any) and
 * the assistant's, in progress, and reads the history. APP_ERATE: the
 * quota is used up; APP_ENOTFOUND: no such thread (or retry_id is not a
 * user message of it); APP_ECONFLICT: another turn runs in it (one older
 * than `stale_s' seconds is taken as crashed: its message is marked
 * incomplete and the turn goes on). Nothing is stored unless APP_OK.
 */
struct quota;
enum app_err	 threads_turn_begin(struct db_pool *, struct arena *,
		    const char *user_id, const struct thread_start *,
		    int stale_s, struct quota *q, struct thread_turn *out)
		    MUSTCHECK;

/* How a turn ended, for threads_turn_finish(). */
struct thread_outcome {
	const char	*content;
	const char	*status;	/* completed, incomplete, error */
	const char	*tool_calls;	/* JSON array text, or NULL */
	const char	*error;		/* why it failed, or NULL */
	const char	*title;		/* a title for an untitled thread, or NULL */
	const char	*memories_used;	/* JSON array text, or NULL: none */
	int64_t		 prompt_tokens;
	int64_t		 completion_tokens;
};

/* What threads_turn_finish() stored: the answer, and the thread when its
 * title changed (else NULL), native and ChatKit. */
struct thread_finished {
	char	*item_json;
	char	*ck_item;
	char	*thread_json;
	char	*ck_thread;
};

/*
 * In one statement: stores the assistant message as it ended, ends the
 * turn, names an untitled thread, adds the tokens to the day's usage.
 */
enum app_err	 threads_turn_finish(struct db_pool *, struct arena *,
		    const char *user_id, const struct thread_turn *,
		    const struct thread_outcome *, struct thread_finished *)
		    MUSTCHECK;

/* An item added after a turn's answer (widget, client tool call, hidden
 * context); strings may be NULL but role. */
struct thread_extra {
	const char	*role;
	const char	*content;
	const char	*status;	/* NULL: completed */
	const char	*data;		/* JSON object text */
	const char	*task_ids;	/* PostgreSQL array text, "{1,2}" */
};

/* Appends an item to the user's thread: *id its id, *ck its ChatKit JSON
 * (NULL for hidden items). APP_ENOTFOUND: no such thread. */
enum app_err	 threads_item_add(struct db_pool *, struct arena *,
		    const char *user_id, const char *thread_id,
		    const struct thread_extra *, char **id, char **ck)
		    MUSTCHECK;

/* Whether `s' is an id of this form: `prefix' and 16 base32 letters. */
bool		 threads_id_ok(const char *s, const char *prefix);

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
