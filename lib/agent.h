/*
 * agent.h: one turn of the assistant.
 *
 * agent_begin() does everything that may refuse the turn, before any
 * answer is started: the quota, the thread (new, or claimed for this
 * turn), the user's message and the assistant's, in progress, stored in
 * one transaction. agent_run() then builds the prompt (with what is
 * remembered about the user), runs the model and its tool calls, stores
 * the answer and queues the extraction of the message's facts (run once
 * the client has the answer), emitting events as things happen. Two
 * encoders turn the events into bytes: the native API (lib/chat.c, JSON
 * or SSE) and, later, the ChatKit protocol.
 *
 * No PostgreSQL connection is held while the model is working: each
 * step takes one for a transaction and gives it back.
 */
#ifndef QUIPU_AGENT_H
#define QUIPU_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apperr.h"
#include "quota.h"
#include "threads.h"

struct app;
struct arena;

/*
 * Events carry stored objects twice: `json' as the native API writes
 * them, `ck' as ChatKit does.
 */
enum agent_event_type {
	AGENT_THREAD_CREATED,	/* json, ck: the thread */
	AGENT_ITEM_CREATED,	/* json, ck: the user's message (role "user";
				   none when the turn answers what is there),
				   then the assistant's ("assistant") */
	AGENT_MEMORY_USED,	/* json: {"memories":[Memory...]}, what the
				   model is told about the user; right after
				   the assistant's ITEM_CREATED, only when
				   there are some (no ck: ChatKit has no such
				   event) */
	AGENT_TEXT_DELTA,	/* item_id, text, len */
	AGENT_TOOL_CALL,	/* item_id, call_id, name, arguments */
	AGENT_TOOL_RESULT,	/* call_id, name, result (JSON text) */
	AGENT_ITEM_DONE,	/* json, ck: the assistant's message as stored */
	AGENT_CLIENT_CALL,	/* ck: a client tool call, pending */
	AGENT_THREAD_UPDATED,	/* json, ck: the thread (its new title) */
	AGENT_ERROR		/* err, message: the turn failed */
};

struct agent_event {
	enum agent_event_type	 type;
	const char		*json;
	const char		*ck;
	const char		*role;
	const char		*item_id;
	const char		*text;
	size_t			 len;
	const char		*call_id;
	const char		*name;
	const char		*arguments;
	const char		*result;
	enum app_err		 err;
	const char		*message;
};

struct agent_sink {
	/* Non-zero when the client is gone: the turn stops, kept incomplete. */
	int	(*emit)(void *ctx, const struct agent_event *);
	/* At least once a second while waiting; true when the client is
	 * gone. May be NULL. */
	bool	(*tick)(void *ctx);
	/* The client's descriptor for llm_callbacks.client_fd; may be NULL. */
	int	(*client_fd)(void *ctx);
	void	*ctx;
	/* The client reads the answer as it is written (pieces of text are
	 * worth sending one by one). */
	bool	 stream;
	/* The client runs the tools named in client_tools (ChatKit). */
	bool	 client_tools;
};

/* A turn in progress. Everything lives in the request's arena. */
struct agent_turn {
	struct app		*app;
	struct arena		*arena;
	const char		*user_id;
	const char		*message;	/* NULL: answers what is there */
	/* The message's attachments (ids), set by the caller before
	 * agent_run(): the model is shown them. */
	const char *const	*attachments;
	size_t			 nattachments;
	struct quota		 quota;
	struct thread_turn	 stored;
	/* Filled by agent_run(). */
	const char		*tool_calls;	/* JSON array text, "[]" for none */
	const char		*item_json;	/* the answer as stored */
	const char		*thread_json;	/* when the title changed */
	/* The memories given to the model: JSON array text, "[]" for none
	 * (set by agent_begin()). */
	const char		*memories_json;
	/* The turn's extraction was queued (memjob.h): the caller sets
	 * http_request.background, so it runs once the client is served. */
	bool			 queued;
	bool			 client_call;	/* ended on a client tool call */
	const char		*status;	/* completed, incomplete, error */
	enum app_err		 err;		/* why it failed, or APP_OK */
	const char		*error;		/* a sentence for the user */
	const struct agent_sink	*sink;		/* set by agent_run() */
};

/*
 * Starts a turn as `st' says (threads_turn_begin()). APP_ERATE: the quota
 * is used up (t->quota says until when); APP_ENOTFOUND: no such thread of
 * the user's; APP_ECONFLICT: another turn runs in it. Nothing is stored
 * unless APP_OK.
 */
enum app_err	 agent_begin(struct app *, struct arena *, const char *user_id,
		    const struct thread_start *st, struct agent_turn *t)
		    MUSTCHECK;

/*
 * Runs the turn to its end, emitting events, and stores the answer.
 * APP_OK, or the turn's error (after an AGENT_ERROR event), or APP_EHUP
 * when the client left (the answer is stored as incomplete).
 */
enum app_err	 agent_run(struct agent_turn *, const struct agent_sink *);

#endif
