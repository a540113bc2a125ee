/*
 * sse.c: Server-Sent Events framing over an http_response.
 *
 * The SSE grammar ends a line at CR, LF or CRLF, so a payload line must
 * never carry a bare CR: it would end the data: line early and the rest
 * would be read as a field of its own. Payloads are therefore split at
 * every CR, LF and CRLF and each piece becomes its own data: line; the
 * client joins them back with LF (the HTML spec's "data buffer").
 */
#include <stdbool.h>
#include <string.h>

#include "clock.h"
#include "http.h"
#include "sse.h"

/* A departed client is probed for at most this often. */
#define SSE_PROBE_NS	200000000ull

/* Any failure to get bytes out means the client is gone. */
static enum app_err
sse_put(struct http_response *resp, const char *buf, size_t len)
{
	/* A failed write marks it gone; sse_flush() probes once per event. */
	if (resp->gone)
		return APP_EHUP;
	if (len > 0 && http_write(resp, buf, len) != APP_OK)
		return APP_EHUP;
	return APP_OK;
}

static enum app_err
sse_flush(struct http_response *resp)
{
	if (http_flush(resp) != APP_OK || http_client_gone(resp))
		return APP_EHUP;
	return APP_OK;
}

/*
 * Writes buf[0..len) as lines, each as prefix + line + "\n". An empty
 * payload still gives one line (an event with empty data).
 */
static enum app_err
sse_lines(struct http_response *resp, const char *prefix, const char *buf,
    size_t len)
{
	size_t		 i = 0, j;
	enum app_err	 rc;

	for (;;) {
		for (j = i; j < len && buf[j] != '\r' && buf[j] != '\n'; j++)
			continue;
		if ((rc = sse_put(resp, prefix, strlen(prefix))) != APP_OK ||
		    (rc = sse_put(resp, buf + i, j - i)) != APP_OK ||
		    (rc = sse_put(resp, "\n", 1)) != APP_OK)
			return rc;
		if (j == len)
			return APP_OK;
		/* CRLF is one line break, not two. */
		if (buf[j] == '\r' && j + 1 < len && buf[j + 1] == '\n')
			j++;
		i = j + 1;
	}
}

enum app_err
sse_start(struct http_response *resp)
{
	http_set_status(resp, 200);
	if (http_add_header(resp, "Content-Type", "text/event-stream") ||
	    http_add_header(resp, "Cache-Control", "no-cache") ||
	    http_add_header(resp, "X-Accel-Buffering", "no"))
		return APP_ENOMEM;
	if (http_finish(resp) != APP_OK)
		return APP_EHUP;
	return sse_flush(resp);
}

enum app_err
sse_event(struct http_response *resp, const char *event, const char *data,
    size_t len)
{
	enum app_err	 rc;

	/* A line break in the name would inject a field of its own. */
	if (event != NULL && event[strcspn(event, "\r\n")] != '\0')
		return APP_EINVAL;
	if (data == NULL)
		len = 0;
	if (event != NULL &&
	    ((rc = sse_put(resp, "event: ", 7)) != APP_OK ||
	    (rc = sse_put(resp, event, strlen(event))) != APP_OK ||
	    (rc = sse_put(resp, "\n", 1)) != APP_OK))
		return rc;
	if ((rc = sse_lines(resp, "data: ", data == NULL ? "" : data, len))
	    != APP_OK)
		return rc;
	if ((rc = sse_put(resp, "\n", 1)) != APP_OK)
		return rc;
	return sse_flush(resp);
}

enum app_err
sse_comment(struct http_response *resp, const char *text)
{
	enum app_err	 rc;

	if (text == NULL)
		text = "";
	if ((rc = sse_lines(resp, ": ", text, strlen(text))) != APP_OK)
		return rc;
	/* A comment dispatches nothing, so no blank line is needed. */
	return sse_flush(resp);
}

void
sse_watch_init(struct sse_watch *w, struct http_response *res,
    int heartbeat_s, bool heartbeat)
{
	memset(w, 0, sizeof(*w));
	w->res = res;
	w->heartbeat_ns = (uint64_t)heartbeat_s * 1000000000ull;
	w->heartbeat = heartbeat;
	w->last_ns = w->probe_ns = clock_now_ns();
}

bool
sse_watch_tick(struct sse_watch *w)
{
	uint64_t	 now = clock_now_ns();

	if (w->res->gone)
		return true;
	if (now - w->probe_ns >= SSE_PROBE_NS) {
		w->probe_ns = now;
		if (http_client_gone(w->res))
			return true;
	}
	if (!w->heartbeat || now - w->last_ns < w->heartbeat_ns)
		return false;
	if (sse_comment(w->res, "ping") != APP_OK)
		return true;
	w->last_ns = now;
	return false;
}

void
sse_watch_wrote(struct sse_watch *w)
{
	w->last_ns = clock_now_ns();
}
