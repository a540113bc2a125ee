/*
 * chatkit.h: the ChatKit server protocol, POST /api/chatkit.
 *
 * One URL takes every request as {"type", "params", "metadata"?}: the
 * reading ones (threads.get_by_id, threads.list, items.list, ...)
 * answer JSON, the ones that make the assistant answer (threads.create,
 * threads.add_user_message, ...) a stream of data: frames, as OpenAI's
 * chatkit-python server does. It runs over the native API's threads,
 * items, tools, quotas and auth; the protocol's notes are in
 * doc/api.md, "ChatKit".
 */
#ifndef QUIPU_CHATKIT_H
#define QUIPU_CHATKIT_H

#include "apperr.h"

struct http_request;
struct http_response;

/* ROUTE_AUTH: the request's user is the caller. */
enum app_err	 chatkit_http(struct http_request *, struct http_response *);

#endif
