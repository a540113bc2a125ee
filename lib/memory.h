/*
 * memory.h: what quipu remembers about a user: the rules, the SQL, and
 * the HTTP routes of /api/v1/memories (API.md "Memory", DESIGN.md §7).
 *
 * A memory is one short fact ("Lives in Paris") with a subject key
 * ("home") that reconciliation compares. Every change is an event in
 * memory_events (ADD, UPDATE with the old and the new text, DELETE),
 * with who made it and the turn it came from. The C API acts as a given
 * user and is what the HTTP handlers, the extraction jobs (memjob.h) and
 * the assistant's tools call; every statement filters on the user's id,
 * so another user's memory is simply not found. Output is the JSON text
 * of the API, built by PostgreSQL (api_memory() in sql/006_memory.sql).
 */
#ifndef QUIPU_MEMORY_H
#define QUIPU_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "apperr.h"
#include "extract.h"

struct app;
struct arena;
struct http_request;
struct http_response;

#define MEMORY_CONTENT_MAX	1000	/* characters */
#define MEMORY_LIST_DEFAULT	20
#define MEMORY_LIST_MAX		100
#define MEMORY_SEARCH_DEFAULT	10
#define MEMORY_SEARCH_MAX	50

/* Who changes a memory (memory_events.actor). */
enum memory_actor {
	MEMORY_EXTRACTION,	/* the facts of a turn, after it */
	MEMORY_ASSISTANT,	/* the remember and forget tools */
	MEMORY_USER		/* the API */
};

/*
 * The turn a change comes from; any pointer may be NULL. said_at, when
 * known, is when the user said it (a timestamptz as PostgreSQL writes
 * it): extraction runs after the answer, sometimes much later, and a
 * fact is not brought back when a memory saying the same was deleted
 * after that moment ("forget that ..." in the next turn wins).
 */
struct memory_source {
	const char	*thread_id;
	const char	*item_id;
	const char	*said_at;
};

/*
 * Remembers a fact: compares it with the user's memories of the same
 * subject and the most similar ones (recall_search()) by
 * extract_reconcile(), and applies the outcome, with its event, in one
 * transaction:
 *	EXTRACT_ADD	a new memory
 *	EXTRACT_UPDATE	the old memory takes the new text and subject
 *	EXTRACT_DELETE	(a negated fact) the memory it names is deleted
 *	EXTRACT_NONE	nothing: the user's memories already say it, or a
 *			negated fact names none of them
 * A negated fact never adds. When several memories match, DELETE and
 * UPDATE go to the most similar one, and NONE wins over ADD.
 *
 * A fact without a subject (NULL or "") is keyed as a note, by its first
 * words, as content added through the API is.
 *
 * *op: what was done. *json: the memory added, updated, kept (NONE for
 * a duplicate) or deleted, as api_memory(); NULL when nothing matched.
 * APP_EINVAL: the text is empty, too long or not UTF-8; APP_EDB,
 * APP_ENOMEM. The embedding is computed before any connection is taken.
 */
enum app_err	 memory_remember(struct app *, struct arena *,
		    const char *user_id, const struct extract_fact *,
		    enum memory_actor, const struct memory_source *,
		    enum extract_op *op, char **json) MUSTCHECK;

/*
 * Deletes memory `id' of the user, with its DELETE event. *json: the
 * memory as it was (may be NULL when not wanted). APP_ENOTFOUND.
 */
enum app_err	 memory_delete(struct app *, struct arena *,
		    const char *user_id, int64_t id, enum memory_actor,
		    const struct memory_source *, char **json) MUSTCHECK;

/*
 * A short profile of the user in a few sentences, from the memories
 * (the builtin writes it from the memories themselves, grouped by
 * subject; a remote model is asked to, with the builtin's as the
 * fallback). "" when there are none.
 */
enum app_err	 memory_summary(struct app *, struct arena *,
		    const char *user_id, char **text) MUSTCHECK;

/*
 * The memories for a turn's prompt: recall_search() with the message,
 * the few best above the prompt threshold. *json: their JSON array
 * ("[]" when none), as memories_used. *prompt: a block for the system
 * prompt ("What you know about the user ...: - ...") or NULL when none.
 * Never fails the turn: an error gives no memories (logged).
 */
void		 memory_for_prompt(struct app *, struct arena *,
		    const char *user_id, const char *message, char **json,
		    char **prompt);

/* The routes of /api/v1/memories. */
enum app_err	 memory_http_list(struct http_request *,
		    struct http_response *);
enum app_err	 memory_http_add(struct http_request *,
		    struct http_response *);
enum app_err	 memory_http_search(struct http_request *,
		    struct http_response *);
enum app_err	 memory_http_summary(struct http_request *,
		    struct http_response *);
enum app_err	 memory_http_get(struct http_request *,
		    struct http_response *);
enum app_err	 memory_http_patch(struct http_request *,
		    struct http_response *);
enum app_err	 memory_http_delete(struct http_request *,
		    struct http_response *);
enum app_err	 memory_http_history(struct http_request *,
		    struct http_response *);
enum app_err	 memory_http_delete_all(struct http_request *,
		    struct http_response *);

#endif
