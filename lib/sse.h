/*
 * sse.h: Server-Sent Events over an http_response.
 *
 * sse_start() answers 200 with Content-Type: text/event-stream,
 * Cache-Control: no-cache and X-Accel-Buffering: no, and flushes the
 * header block. Each event is framed ("event: NAME\ndata: ...\n\n", one
 * data: line per line of payload) and flushed at once. A failed write
 * returns APP_EHUP: the client is gone and the caller should stop.
 */
#ifndef QUIPU_SSE_H
#define QUIPU_SSE_H

#include <stddef.h>

#include "apperr.h"

struct http_response;

enum app_err	 sse_start(struct http_response *) MUSTCHECK;
/* `event' may be NULL (a data-only frame, as ChatKit uses). */
enum app_err	 sse_event(struct http_response *, const char *event,
		    const char *data, size_t len) MUSTCHECK;
/* A comment line (": text"), e.g. the heartbeat. */
enum app_err	 sse_comment(struct http_response *, const char *text) MUSTCHECK;

#endif
