/*
 * builtin.h: the builtin model: offline, deterministic, and speaking the
 * same tool-call protocol as a remote model.
 *
 * It reads the conversation like a model does: the last user message
 * says what to do; tool results after it say what happened. A request
 * that names a task by words first lists the matching tasks, then acts
 * on the one found, then answers; one that names it by number acts at
 * once. The answer is streamed word by word through on_delta. Anything
 * it does not understand gets a short reply saying what it can do.
 */
#ifndef QUIPU_BUILTIN_H
#define QUIPU_BUILTIN_H

#include "apperr.h"

struct arena;
struct llm_callbacks;
struct llm_request;
struct llm_result;

/*
 * One model call (see llm_complete): *out holds either tool calls
 * (finish_reason "tool_calls") or the answer's text ("stop"). Dates are
 * read against req->now in UTC. `delay_ms' pauses between streamed
 * words (0: none) while calling cb->tick. APP_EHUP when a callback asks
 * to stop, APP_ENOMEM.
 */
enum app_err	 builtin_complete(struct arena *, const struct llm_request *,
		    const struct llm_callbacks *, int delay_ms,
		    struct llm_result *out) MUSTCHECK;

/* A thread title from the first user message: its first words, at most
 * `max' characters (arena). */
char		*builtin_title(struct arena *, const char *message, size_t max);

#endif
