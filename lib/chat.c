/*
 * chat.c: the native encoder of a turn's events.
 *
 * Everything that may refuse a turn (body, quota, thread) is answered
 * as a plain JSON error before anything else. Then, for
 * Accept: text/event-stream, each event of lib/agent.c is written and
 * flushed as it happens, with a heartbeat comment while the model is
 * silent; otherwise the turn runs to its end and answers one document.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "agent.h"
#include "app.h"
#include "arena.h"
#include "chat.h"
#include "conf.h"
#include "http.h"
#include "jsonx.h"
#include "scoreboard.h"
#include "sse.h"
#include "threads.h"

struct chat_stream {
	struct http_response	*res;
	struct sse_watch	 watch;
	bool			 sse;
};

/* Appends raw JSON text; false on ENOMEM. */
static bool
chat_raw(struct arena *ar, struct arena_str *b, const char *s)
{
	return arena_str_add(ar, b, s, strlen(s)) == 0;
}

/* Appends a JSON string (NULL as ""); false on ENOMEM. */
static bool
chat_str(struct arena *ar, struct arena_str *b, const char *s, size_t len)
{
	if (s == NULL)
		s = "";
	return jsonx_str_quote(ar, b, s, len == SIZE_MAX ? strlen(s) : len) ==
	    0;
}

/* How a failed turn is named to the client: a model that ran out of time
 * failed like any other. */
static enum app_err
chat_public_err(enum app_err e)
{
	return e == APP_ETIMEOUT ? APP_EUPSTREAM : e;
}

/* {"key":JSON}, for the events that carry one stored object. */
static bool
chat_wrap(struct arena *ar, struct arena_str *b, const char *key,
    const char *json)
{
	return chat_raw(ar, b, "{\"") && chat_raw(ar, b, key) &&
	    chat_raw(ar, b, "\":") && chat_raw(ar, b, json) &&
	    chat_raw(ar, b, "}");
}

/* The event's SSE name and data, in the arena; NULL on ENOMEM. */
static char *
chat_event_data(struct arena *ar, const struct agent_event *ev,
    const char **name)
{
	struct arena_str	 b;
	bool			 ok = false;

	memset(&b, 0, sizeof(b));
	switch (ev->type) {
	case AGENT_THREAD_CREATED:
		*name = "thread_created";
		ok = chat_wrap(ar, &b, "thread", ev->json);
		break;
	case AGENT_ITEM_CREATED:
		*name = "message_created";
		ok = chat_wrap(ar, &b, "message", ev->json);
		break;
	case AGENT_MEMORY_USED:
		*name = "memory_used";
		ok = chat_raw(ar, &b, ev->json);
		break;
	case AGENT_TEXT_DELTA:
		*name = "message_delta";
		ok = chat_raw(ar, &b, "{\"message_id\":") &&
		    chat_str(ar, &b, ev->item_id, SIZE_MAX) &&
		    chat_raw(ar, &b, ",\"text\":") &&
		    chat_str(ar, &b, ev->text, ev->len) && chat_raw(ar, &b, "}");
		break;
	case AGENT_TOOL_CALL:
		*name = "tool_call";
		ok = chat_raw(ar, &b, "{\"message_id\":") &&
		    chat_str(ar, &b, ev->item_id, SIZE_MAX) &&
		    chat_raw(ar, &b, ",\"call_id\":") &&
		    chat_str(ar, &b, ev->call_id, SIZE_MAX) &&
		    chat_raw(ar, &b, ",\"name\":") &&
		    chat_str(ar, &b, ev->name, SIZE_MAX) &&
		    chat_raw(ar, &b, ",\"arguments\":") &&
		    chat_str(ar, &b, ev->arguments, SIZE_MAX) &&
		    chat_raw(ar, &b, "}");
		break;
	case AGENT_TOOL_RESULT:
		*name = "tool_result";
		ok = chat_raw(ar, &b, "{\"call_id\":") &&
		    chat_str(ar, &b, ev->call_id, SIZE_MAX) &&
		    chat_raw(ar, &b, ",\"result\":") &&
		    chat_raw(ar, &b, ev->result) && chat_raw(ar, &b, "}");
		break;
	case AGENT_ITEM_DONE:
		*name = "message_done";
		ok = chat_wrap(ar, &b, "message", ev->json);
		break;
	case AGENT_CLIENT_CALL:		/* never: see chat_emit() */
		return NULL;
	case AGENT_THREAD_UPDATED:
		*name = "thread_updated";
		ok = chat_wrap(ar, &b, "thread", ev->json);
		break;
	case AGENT_ERROR:
		*name = "error";
		ok = chat_raw(ar, &b, "{\"error\":{\"code\":\"") &&
		    chat_raw(ar, &b, app_err_code(chat_public_err(ev->err))) &&
		    chat_raw(ar, &b, "\",\"message\":") &&
		    chat_str(ar, &b, ev->message, SIZE_MAX) &&
		    chat_raw(ar, &b, "}}");
		break;
	}
	return ok ? b.p : NULL;
}

static int
chat_emit(void *ctx, const struct agent_event *ev)
{
	struct chat_stream	*cs = ctx;
	const char		*name = NULL;
	char			*data;

	/* Without a stream only the tick probes (at most every 200 ms). A
	 * native turn offers no client tools (sink.client_tools). */
	if (!cs->sse || ev->type == AGENT_CLIENT_CALL)
		return cs->res->gone ? -1 : 0;
	if ((data = chat_event_data(cs->res->req->arena, ev, &name)) == NULL)
		return -1;
	if (sse_event(cs->res, name, data, strlen(data)) != APP_OK)
		return -1;
	sse_watch_wrote(&cs->watch);
	return 0;
}

/* A departed client, and the heartbeat of a silent stream. */
static bool
chat_tick(void *ctx)
{
	struct chat_stream	*cs = ctx;

	return sse_watch_tick(&cs->watch);
}

static int
chat_client_fd(void *ctx)
{
	struct chat_stream	*cs = ctx;

	return http_client_fd(cs->res);
}

/* Reads {"message", "title"?}; `create' allows the title and an empty
 * message. On failure the error is answered. */
static enum app_err
chat_body(struct http_request *req, struct http_response *res, bool create,
    const char **message, const char **title)
{
	struct jsonx_errors	 errs;
	struct json_object	*obj;
	enum app_err		 e;

	*message = NULL;
	*title = NULL;
	if ((e = jsonx_read_body(req, res, create, &obj)) != APP_OK)
		return e;
	if (obj == NULL)
		return APP_OK;
	jsonx_errors_init(&errs, req->arena);
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (strcmp(key, "message") != 0 &&
		    (!create || strcmp(key, "title") != 0))
			jsonx_errors_add(&errs, key, "is not a field of this "
			    "request");
	}
	(void)jsonx_get_string(obj, "message", JSONX_TRIM |
	    (create ? JSONX_NULLABLE : JSONX_REQUIRED), 1, THREAD_MESSAGE_MAX,
	    message, &errs);
	if (create)
		(void)jsonx_get_string(obj, "title", JSONX_TRIM |
		    JSONX_NULLABLE, 0, THREAD_TITLE_MAX, title, &errs);
	if ((e = jsonx_errors_answer(res, &errs)) != APP_OK)
		return e;
	if (*title != NULL && (*title)[0] == '\0')
		*title = NULL;
	return APP_OK;
}

enum app_err
chat_refused(struct http_response *res, const struct agent_turn *t,
    const char *thread_id, enum app_err e)
{
	switch (e) {
	case APP_ERATE:
		if (quota_headers(res, &t->quota) != APP_OK)
			return APP_ENOMEM;
		(void)http_send_error(res, e, NULL, "the daily quota of %d "
		    "messages is used up; it renews in %ld s",
		    t->quota.limit, t->quota.reset_s);
		return e;
	case APP_ENOTFOUND:
		(void)http_send_error(res, e, NULL, "thread %s not found",
		    thread_id);
		return e;
	case APP_ECONFLICT:
		(void)http_send_error(res, e, NULL, "an answer is still being "
		    "written in this thread; wait for it to finish");
		return e;
	default:
		return e;
	}
}

/* The whole turn as one document, once it is over. */
static enum app_err
chat_json(struct http_response *res, struct agent_turn *t, bool created)
{
	struct arena		*ar = res->req->arena;
	struct json_object	*d;
	const char		*thread;
	char			*s;
	enum app_err		 e;

	if (t->err == APP_EHUP)
		return APP_EHUP;
	if (t->err != APP_OK) {
		if ((d = json_object_new_object()) == NULL)
			return APP_ENOMEM;
		if (jsonx_add_string(d, "thread_id", t->stored.thread_id) !=
		    APP_OK || jsonx_add_string(d, "message_id",
		    t->stored.assistant_id) != APP_OK) {
			json_object_put(d);
			return APP_ENOMEM;
		}
		e = chat_public_err(t->err);
		(void)http_send_error(res, e, d, "%s", t->error);
		json_object_put(d);
		return e;
	}
	thread = t->thread_json != NULL ? t->thread_json :
	    t->stored.thread_json;
	s = arena_printf(ar, "{%s%s%s\"thread_id\":\"%s\",\"user_message\":%s,"
	    "\"assistant_message\":%s,\"tool_calls\":%s,\"memories_used\":%s}",
	    thread != NULL ? "\"thread\":" : "", thread != NULL ? thread : "",
	    thread != NULL ? "," : "", t->stored.thread_id,
	    t->stored.user_item_json, t->item_json, t->tool_calls,
	    t->memories_json);
	if (s == NULL)
		return APP_ENOMEM;
	return http_send_json_str(res, created ? 201 : 200, s, strlen(s));
}

static enum app_err
chat_turn(struct http_request *req, struct http_response *res,
    const char *thread_id, const char *title, const char *message)
{
	struct chat_stream	 cs;
	struct agent_sink	 sink;
	struct agent_turn	 t;
	struct thread_start	 st;
	char			*loc;
	enum app_err		 e;

	memset(&st, 0, sizeof(st));
	st.thread_id = thread_id;
	st.create = thread_id == NULL;
	st.title = title;
	st.message = message;
	e = agent_begin(req->app, req->arena, req->user_id, &st, &t);
	if (e != APP_OK)
		return chat_refused(res, &t, thread_id, e);
	if ((e = quota_headers(res, &t.quota)) != APP_OK)
		return e;
	if (thread_id == NULL) {
		if ((loc = arena_printf(req->arena, "/api/v1/threads/%s",
		    t.stored.thread_id)) == NULL ||
		    http_add_header(res, "Location", loc) != APP_OK)
			return APP_ENOMEM;
	}
	memset(&cs, 0, sizeof(cs));
	cs.res = res;
	cs.sse = http_wants_sse(req);
	sse_watch_init(&cs.watch, res, req->app->conf->sse_heartbeat, cs.sse);
	memset(&sink, 0, sizeof(sink));
	sink.emit = chat_emit;
	sink.tick = chat_tick;
	sink.client_fd = chat_client_fd;
	sink.ctx = &cs;
	sink.stream = cs.sse;
	if (!cs.sse) {
		app_thread_state(req, SB_T_UPSTREAM);
		(void)agent_run(&t, &sink);
		req->background = t.queued;
		return chat_json(res, &t, thread_id == NULL);
	}
	app_stream_count(req, true);
	/* Gone already, the turn still runs its course and is stored. */
	if (sse_start(res) != APP_OK)
		res->gone = true;
	e = agent_run(&t, &sink);
	req->background = t.queued;
	if (e == APP_OK && sse_event(res, "done", "{}", 2) != APP_OK)
		e = APP_EHUP;
	app_stream_count(req, false);
	return e;
}

enum app_err
chat_http_create(struct http_request *req, struct http_response *res)
{
	const char	*message, *title, *id;
	char		*json, *loc;
	enum app_err	 e;

	if ((e = chat_body(req, res, true, &message, &title)) != APP_OK)
		return e;
	if (message != NULL)
		return chat_turn(req, res, NULL, title, message);
	if ((e = threads_create(req->app->db, req->arena, req->user_id, title,
	    &id, &json)) != APP_OK)
		return e;
	loc = arena_printf(req->arena, "/api/v1/threads/%s", id);
	if (loc == NULL || http_add_header(res, "Location", loc) != APP_OK)
		return APP_ENOMEM;
	return http_send_json_str(res, 201, json, strlen(json));
}

enum app_err
chat_http_turn(struct http_request *req, struct http_response *res)
{
	const char	*message, *title;
	enum app_err	 e;

	if ((e = chat_body(req, res, false, &message, &title)) != APP_OK)
		return e;
	return chat_turn(req, res, req->params[0], NULL, message);
}
