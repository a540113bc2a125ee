/*
 * chat.h: the native API's turns: POST /api/v1/threads (with a message)
 * and POST /api/v1/threads/{id}/messages, answered by content
 * negotiation as one JSON document or as a stream of Server-Sent Events.
 */
#ifndef QUIPU_CHAT_H
#define QUIPU_CHAT_H

#include "apperr.h"

struct http_request;
struct http_response;

/* {"title"?, "message"?}: a new thread, and its first turn when a
 * message is given. */
enum app_err	 chat_http_create(struct http_request *,
		    struct http_response *);
/* {"message"}: a turn in thread params[0]. */
enum app_err	 chat_http_turn(struct http_request *, struct http_response *);

#endif
