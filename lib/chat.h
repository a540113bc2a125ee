/*
 * chat.h: the native API's turns: POST /api/v1/threads (with a message)
 * and POST /api/v1/threads/{id}/messages, answered by content
 * negotiation as one JSON document or as a stream of Server-Sent Events.
 */
#ifndef QUIPU_CHAT_H
#define QUIPU_CHAT_H

#include "apperr.h"

struct agent_turn;
struct http_request;
struct http_response;

/* Answers a refusal of agent_begin() (429 with the quota's headers, 404,
 * 409) and returns it; other errors are returned unanswered. */
enum app_err	 chat_refused(struct http_response *, const struct agent_turn *,
		    const char *thread_id, enum app_err);

/* {"title"?, "message"?}: a new thread, and its first turn when a
 * message is given. */
enum app_err	 chat_http_create(struct http_request *,
		    struct http_response *);
/* {"message"}: a turn in thread params[0]. */
enum app_err	 chat_http_turn(struct http_request *, struct http_response *);

#endif
