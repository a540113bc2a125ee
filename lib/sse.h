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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apperr.h"

struct http_response;

enum app_err	 sse_start(struct http_response *) MUSTCHECK;
/* `event' may be NULL (a data-only frame, as ChatKit uses). */
enum app_err	 sse_event(struct http_response *, const char *event,
		    const char *data, size_t len) MUSTCHECK;
/* A comment line (": text"), e.g. the heartbeat. */
enum app_err	 sse_comment(struct http_response *, const char *text) MUSTCHECK;

/*
 * A long answer's watch over its client: sse_watch_tick(), called at
 * least once a second while the answer waits, probes for a departed
 * client (at most every 200 ms: a probe costs a poll) and, when
 * `heartbeat' is set, sends a comment after heartbeat_s silent seconds,
 * so proxies keep the stream open. sse_watch_wrote() notes an event.
 */
struct sse_watch {
	struct http_response	*res;
	uint64_t		 last_ns;	/* the last write */
	uint64_t		 probe_ns;	/* the last probe */
	uint64_t		 heartbeat_ns;
	bool			 heartbeat;
};

void		 sse_watch_init(struct sse_watch *, struct http_response *,
		    int heartbeat_s, bool heartbeat);
/* True when the client is gone. */
bool		 sse_watch_tick(struct sse_watch *);
void		 sse_watch_wrote(struct sse_watch *);

#endif
