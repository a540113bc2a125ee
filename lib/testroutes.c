/*
 * testroutes.c: routes for the test suites and benchmarks only.
 *
 * stream exercises unbuffered SSE through nginx and the pool; sleep holds
 * an acceptor thread (supervisor, drain and timeout tests); echo runs the
 * body path (limits, Content-Type, JSON parsing). Each answers 404 unless
 * test_routes = on, exactly as an unknown route would.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "app.h"
#include "conf.h"
#include "http.h"
#include "jsonx.h"
#include "scoreboard.h"
#include "sse.h"
#include "testroutes.h"

/* Sleeps are cut into slices so a departed client is noticed soon. */
#define TESTROUTE_SLICE_MS	100
#define TESTROUTE_JSON_DEPTH	32

/*
 * Reads integer query parameter `key' into *v (default `def' when
 * absent): APP_EINVAL for a non-number, APP_EVALIDATION outside
 * [min, max], each with a sentence in `msg' for the envelope.
 */
static enum app_err
testroute_int(struct http_request *req, const char *key, long def,
    long min, long max, long *v, char *msg, size_t msglen)
{
	const char	*s;
	char		*end;

	*v = def;
	if ((s = http_query_get(req, key)) == NULL)
		return APP_OK;
	errno = 0;
	*v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno == ERANGE) {
		snprintf(msg, msglen, "%s must be an integer", key);
		return APP_EINVAL;
	}
	if (*v < min || *v > max) {
		snprintf(msg, msglen, "%s must be between %ld and %ld", key,
		    min, max);
		return APP_EVALIDATION;
	}
	return APP_OK;
}

/* Sleeps `ms' milliseconds, restarting after signals. */
static void
testroute_nap(long ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/* Sleeps `ms' in slices; APP_EHUP as soon as the client is gone. */
static enum app_err
testroute_wait(struct http_response *res, long ms)
{
	long	 step;

	while (ms > 0) {
		if (res != NULL && http_client_gone(res))
			return APP_EHUP;
		step = ms < TESTROUTE_SLICE_MS ? ms : TESTROUTE_SLICE_MS;
		testroute_nap(step);
		ms -= step;
	}
	return APP_OK;
}

static long long
testroute_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The ticks and the final "done"; APP_EHUP when the client left. */
static enum app_err
testroute_ticks(struct http_response *res, long n, long interval)
{
	char		 buf[96];
	long		 i;
	int		 len;
	enum app_err	 rc;

	for (i = 0; i < n; i++) {
		len = snprintf(buf, sizeof(buf), "{\"i\":%ld,\"sent_ms\":%lld}",
		    i, testroute_wall_ms());
		if ((rc = sse_event(res, "tick", buf, (size_t)len)) != APP_OK)
			return rc;
		if (i + 1 < n && (rc = testroute_wait(res, interval)) != APP_OK)
			return rc;
	}
	return sse_event(res, "done", "{}", 2);
}

enum app_err
testroute_stream(struct http_request *req, struct http_response *res)
{
	char		 msg[96];
	long		 n, interval;
	enum app_err	 rc;

	if ((rc = testroute_int(req, "n", 5, 1, 1000, &n, msg,
	    sizeof(msg))) != APP_OK ||
	    (rc = testroute_int(req, "interval_ms", 100, 0, 60000, &interval,
	    msg, sizeof(msg))) != APP_OK)
		return http_send_error(res, rc, NULL, "%s", msg);
	if ((rc = sse_start(res)) != APP_OK)
		return rc;
	app_stream_count(req, true);
	rc = testroute_ticks(res, n, interval);
	app_stream_count(req, false);
	return rc;
}

enum app_err
testroute_sleep(struct http_request *req, struct http_response *res)
{
	char		 buf[48], msg[96];
	long		 ms;
	int		 len;
	enum app_err	 rc;

	if ((rc = testroute_int(req, "ms", 0, 0, 600000, &ms, msg,
	    sizeof(msg))) != APP_OK)
		return http_send_error(res, rc, NULL, "%s", msg);
	/* Like a real handler busy in a query, finish the sleep even if the
	 * client leaves: drain tests rely on the request taking its time. */
	if ((rc = testroute_wait(NULL, ms)) != APP_OK)
		return rc;
	len = snprintf(buf, sizeof(buf), "{\"slept_ms\":%ld}", ms);
	return http_send_json_str(res, 200, buf, (size_t)len);
}

/*
 * Parses the whole body as one JSON value, strictly (RFC 8259, valid
 * UTF-8) and at most TESTROUTE_JSON_DEPTH deep. A JSON null is a valid
 * value yet json-c returns it as NULL, hence the separate *ok.
 */
static struct json_object *
testroute_parse(const char *body, size_t len, bool *ok)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL;
	size_t			 end;

	*ok = false;
	if (body == NULL || len == 0 || len >= INT_MAX)
		return NULL;
	if ((tok = json_tokener_new_ex(TESTROUTE_JSON_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	/* The terminating NUL ends a trailing number ("12"). */
	o = json_tokener_parse_ex(tok, body, (int)len + 1);
	if (json_tokener_get_error(tok) == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		while (end < len && strchr(" \t\r\n", body[end]) != NULL)
			end++;
		*ok = end == len;
	}
	json_tokener_free(tok);
	if (!*ok) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

enum app_err
testroute_echo(struct http_request *req, struct http_response *res)
{
	struct json_object	*body, *wrap = NULL;
	enum app_err		 rc;
	bool			 ok;

	if (!http_is_json(req))
		return APP_EMEDIA;
	body = testroute_parse(req->body, req->body_len, &ok);
	if (!ok)
		return http_send_error(res, APP_EINVAL, NULL,
		    "the body is not valid JSON");
	if ((wrap = json_object_new_object()) == NULL) {
		json_object_put(body);
		return APP_ENOMEM;
	}
	/* The wrapper takes our reference to body. */
	if (json_object_object_add(wrap, "echo", body) != 0) {
		json_object_put(body);
		json_object_put(wrap);
		return APP_ENOMEM;
	}
	rc = http_send_json(res, 200, wrap);
	json_object_put(wrap);
	return rc;
}

enum app_err
testroute_whoami(struct http_request *req, struct http_response *res)
{
	struct json_object	*o;
	enum app_err		 rc;

	if ((o = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	if ((rc = jsonx_add_string(o, "user_id", req->user_id)) == APP_OK &&
	    (rc = jsonx_add_string(o, "session_id", req->session_id)) ==
	    APP_OK)
		rc = http_send_json(res, 200, o);
	json_object_put(o);
	return rc;
}
