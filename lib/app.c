/*
 * app.c: the route table and the path every request takes:
 * request id, limits, routing, handler, error envelope, metrics, log.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "app.h"
#include "arena.h"
#include "attachments.h"
#include "auth.h"
#include "clock.h"
#include "conf.h"
#include "chat.h"
#include "chatkit.h"
#include "cors.h"
#include "db.h"
#include "health.h"
#include "http.h"
#include "llm.h"
#include "log.h"
#include "memjob.h"
#include "memory.h"
#include "migrate.h"
#include "router.h"
#include "scoreboard.h"
#include "session.h"
#include "tasks.h"
#include "testroutes.h"
#include "threads.h"

#define APP_RID_MAX	64
/* Jobs one background run takes at most. */
#define APP_BACKGROUND_JOBS	8

/* Order is stable: /metrics indexes counters by position. */
const struct route app_routes[] = {
	{ "GET", "/healthz", health_healthz, "healthz", 0 },
	{ "GET", "/readyz", health_readyz, "readyz", 0 },
	{ "GET", "/api/v1/health", health_api, "health", 0 },
	{ "GET", "/metrics", health_metrics, "metrics", 0 },
	{ "POST", "/api/v1/auth/register", auth_register, "auth.register", 0 },
	{ "POST", "/api/v1/auth/login", auth_login, "auth.login", 0 },
	{ "POST", "/api/v1/auth/refresh", auth_refresh, "auth.refresh", 0 },
	{ "POST", "/api/v1/auth/logout", auth_logout, "auth.logout", 0 },
	{ "GET", "/api/v1/auth/me", auth_me, "auth.me", ROUTE_AUTH },
	{ "PATCH", "/api/v1/auth/me", auth_me_patch, "auth.me.patch",
	    ROUTE_AUTH },
	{ "GET", "/api/v1/auth/sessions", session_list,
	    "auth.sessions.list", ROUTE_AUTH },
	{ "DELETE", "/api/v1/auth/sessions/{id}", session_delete,
	    "auth.sessions.delete", ROUTE_AUTH },
	{ "GET", "/api/v1/tasks", tasks_http_list, "tasks.list", ROUTE_AUTH },
	{ "POST", "/api/v1/tasks", tasks_http_create, "tasks.create",
	    ROUTE_AUTH },
	{ "POST", "/api/v1/tasks/bulk", tasks_http_bulk, "tasks.bulk",
	    ROUTE_AUTH },
	{ "GET", "/api/v1/tasks/{id}", tasks_http_get, "tasks.get",
	    ROUTE_AUTH },
	{ "PUT", "/api/v1/tasks/{id}", tasks_http_replace, "tasks.replace",
	    ROUTE_AUTH },
	{ "PATCH", "/api/v1/tasks/{id}", tasks_http_patch, "tasks.patch",
	    ROUTE_AUTH },
	{ "DELETE", "/api/v1/tasks/{id}", tasks_http_delete, "tasks.delete",
	    ROUTE_AUTH },
	{ "PATCH", "/api/v1/tasks/{id}/complete", tasks_http_complete,
	    "tasks.complete", ROUTE_AUTH },
	/* The same under /api/{user_id}/ for clients of the older layout. */
	{ "GET", "/api/{user_id}/tasks", tasks_http_list, "user.tasks.list",
	    ROUTE_USER_PATH },
	{ "POST", "/api/{user_id}/tasks", tasks_http_create,
	    "user.tasks.create", ROUTE_USER_PATH },
	{ "POST", "/api/{user_id}/tasks/bulk", tasks_http_bulk,
	    "user.tasks.bulk", ROUTE_USER_PATH },
	{ "GET", "/api/{user_id}/tasks/{id}", tasks_http_get,
	    "user.tasks.get", ROUTE_USER_PATH },
	{ "PUT", "/api/{user_id}/tasks/{id}", tasks_http_replace,
	    "user.tasks.replace", ROUTE_USER_PATH },
	{ "PATCH", "/api/{user_id}/tasks/{id}", tasks_http_patch,
	    "user.tasks.patch", ROUTE_USER_PATH },
	{ "DELETE", "/api/{user_id}/tasks/{id}", tasks_http_delete,
	    "user.tasks.delete", ROUTE_USER_PATH },
	{ "PATCH", "/api/{user_id}/tasks/{id}/complete", tasks_http_complete,
	    "user.tasks.complete", ROUTE_USER_PATH },
	{ "GET", "/api/v1/threads", threads_http_list, "threads.list",
	    ROUTE_AUTH },
	{ "POST", "/api/v1/threads", chat_http_create, "threads.create",
	    ROUTE_AUTH },
	{ "GET", "/api/v1/threads/{id}", threads_http_get, "threads.get",
	    ROUTE_AUTH },
	{ "PATCH", "/api/v1/threads/{id}", threads_http_patch,
	    "threads.patch", ROUTE_AUTH },
	{ "DELETE", "/api/v1/threads/{id}", threads_http_delete,
	    "threads.delete", ROUTE_AUTH },
	{ "GET", "/api/v1/threads/{id}/messages", threads_http_messages,
	    "threads.messages", ROUTE_AUTH },
	{ "POST", "/api/v1/threads/{id}/messages", chat_http_turn,
	    "threads.turn", ROUTE_AUTH },
	{ "POST", "/api/v1/threads/{id}/messages/{item}/feedback",
	    threads_http_feedback, "threads.feedback", ROUTE_AUTH },
	{ "GET", "/api/v1/memories", memory_http_list, "memories.list",
	    ROUTE_AUTH },
	{ "POST", "/api/v1/memories", memory_http_add, "memories.add",
	    ROUTE_AUTH },
	{ "DELETE", "/api/v1/memories", memory_http_delete_all,
	    "memories.delete_all", ROUTE_AUTH },
	{ "POST", "/api/v1/memories/search", memory_http_search,
	    "memories.search", ROUTE_AUTH },
	{ "GET", "/api/v1/memories/summary", memory_http_summary,
	    "memories.summary", ROUTE_AUTH },
	{ "GET", "/api/v1/memories/{id}", memory_http_get, "memories.get",
	    ROUTE_AUTH },
	{ "PATCH", "/api/v1/memories/{id}", memory_http_patch,
	    "memories.patch", ROUTE_AUTH },
	{ "DELETE", "/api/v1/memories/{id}", memory_http_delete,
	    "memories.delete", ROUTE_AUTH },
	{ "GET", "/api/v1/memories/{id}/history", memory_http_history,
	    "memories.history", ROUTE_AUTH },
	{ "POST", "/api/chatkit", chatkit_http, "chatkit", ROUTE_AUTH },
	{ "POST", "/api/v1/chatkit", chatkit_http, "chatkit.v1", ROUTE_AUTH },
	{ "PUT", "/api/chatkit/attachments/{id}/upload",
	    attachments_http_upload, "chatkit.upload", ROUTE_ANY_BODY },
	{ "POST", "/api/chatkit/attachments/{id}/upload",
	    attachments_http_upload, "chatkit.upload.post", ROUTE_ANY_BODY },
	{ "GET", "/api/chatkit/attachments/{id}/preview",
	    attachments_http_preview, "chatkit.preview", 0 },
	{ "GET", "/api/v1/_test/stream", testroute_stream, "test.stream",
	    ROUTE_TEST },
	{ "GET", "/api/v1/_test/sleep", testroute_sleep, "test.sleep",
	    ROUTE_TEST },
	{ "POST", "/api/v1/_test/echo", testroute_echo, "test.echo",
	    ROUTE_TEST },
	{ "GET", "/api/v1/_test/whoami", testroute_whoami, "test.whoami",
	    ROUTE_TEST | ROUTE_AUTH },
	{ "POST", "/api/v1/_test/whoami", testroute_whoami,
	    "test.whoami.post", ROUTE_TEST | ROUTE_AUTH },
	{ "GET", "/api/{user_id}/_test/whoami", testroute_whoami,
	    "test.whoami.user", ROUTE_TEST | ROUTE_USER_PATH },
	{ "POST", "/api/{user_id}/_test/whoami", testroute_whoami,
	    "test.whoami.user.post", ROUTE_TEST | ROUTE_USER_PATH },
};
const size_t app_nroutes = sizeof(app_routes) / sizeof(app_routes[0]);

_Static_assert(sizeof(app_routes) / sizeof(app_routes[0]) < SB_MAX_ROUTES,
    "more routes than the scoreboard counts");

const char *
app_version(void)
{
	return PACKAGE_VERSION;
}

/* The process's model client, from the llm_* keys. */
static enum app_err
app_llm(struct app *app, const struct conf *conf)
{
	struct llm_options	 o;
	enum app_err		 e;

	if ((e = llm_global_init()) != APP_OK)
		return e;
	memset(&o, 0, sizeof(o));
	o.provider = strcmp(conf->llm_provider, "openai") == 0 ? LLM_OPENAI :
	    LLM_BUILTIN;
	o.base_url = conf->llm_base_url;
	o.api_key = conf->llm_key;
	o.model = conf->llm_model;
	o.timeout_s = conf->llm_timeout;
	o.connect_timeout_s = conf->llm_connect_timeout;
	o.max_retries = conf->llm_retries;
	o.max_response = (size_t)conf->llm_max_response;
	o.builtin_delay_ms = conf->llm_builtin_delay;
	return llm_create(&o, &app->llm);
}

enum app_err
app_init(struct app *app, const struct conf *conf, struct scoreboard *sb,
    int proc_slot, int generation)
{
	struct db_counters	*counters = NULL;
	enum app_err		 e;

	memset(app, 0, sizeof(*app));
	app->conf = conf;
	app->sb = sb;
	app->proc_slot = proc_slot;
	app->generation = generation;
	if (sodium_init() < 0)
		return APP_EINTERNAL;
	if (sb != NULL && proc_slot >= 0)
		counters = &scoreboard_proc(sb, proc_slot)->db;
	e = db_pool_create(conf->database_url, conf->db_pool_size,
	    conf->db_statement_timeout, conf->db_connect_timeout, counters,
	    &app->db);
	if (e != APP_OK)
		return e;
	db_pool_set_prepare(app->db, conf->db_prepare);
	if ((e = cors_create(conf->allowed_origins, &app->cors)) != APP_OK ||
	    (e = auth_create(conf, app->cors, &app->auth)) != APP_OK ||
	    (e = app_llm(app, conf)) != APP_OK) {
		app_free(app);
		return e;
	}
	if (migrate_list(conf->sql_dir, &app->migrations,
	    &app->nmigrations) != APP_OK)
		log_warnx("cannot list migrations in %s", conf->sql_dir);
	return APP_OK;
}

void
app_free(struct app *app)
{
	if (app == NULL)
		return;
	db_pool_destroy(app->db);
	llm_free(app->llm);
	auth_free(app->auth);
	cors_free(app->cors);
	migrate_list_free(app->migrations, app->nmigrations);
	memset(app, 0, sizeof(*app));
}

/* A client or nginx request id is kept only if short and plain. */
static bool
app_rid_sane(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= APP_RID_MAX || !((c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == ':'))
			return false;
	}
	return n > 0;
}

static const char *
app_request_id(struct http_request *req)
{
	const char	*rid = http_header_get(req, "x-request-id");
	unsigned char	 raw[16];
	char		 hex[33];

	if (rid != NULL && app_rid_sane(rid))
		return rid;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	return arena_strdup(req->arena, hex);
}

/* The scoreboard slot of the thread serving `req', or NULL (tests). */
static struct sb_thread *
app_slot(struct app *app, const struct http_request *req)
{
	if (app->sb == NULL || app->proc_slot < 0 || req->slot < 0)
		return NULL;
	return scoreboard_thread(app->sb, app->proc_slot, req->slot);
}

void
app_thread_state(struct http_request *req, int state)
{
	struct sb_thread	*t;

	if (req->app != NULL && (t = app_slot(req->app, req)) != NULL)
		atomic_store_explicit(&t->state, state, memory_order_release);
}

long
app_body_max(const struct conf *conf, struct http_request *req)
{
	const struct route	*r;
	char			 allow[64];

	if (conf->attachment_max > conf->max_body &&
	    router_match(app_routes, app_nroutes, req, &r, allow,
	    sizeof(allow)) == ROUTER_FOUND && (r->flags & ROUTE_ANY_BODY))
		return conf->attachment_max;
	return conf->max_body;
}

void
app_llm_count(struct app *app, int64_t tokens, bool failed)
{
	if (app == NULL || app->sb == NULL)
		return;
	if (tokens > 0)
		atomic_fetch_add(&app->sb->stats->llm_tokens,
		    (uint64_t)tokens);
	if (failed)
		atomic_fetch_add(&app->sb->stats->llm_errors, 1);
}

void
app_stream_count(struct http_request *req, bool open)
{
	struct app	*app = req->app;

	if (app == NULL || app->sb == NULL)
		return;
	if (open) {
		atomic_fetch_add(&app->sb->stats->sse_open, 1);
		atomic_fetch_add(&app->sb->stats->sse_total, 1);
		/* Until the request ends: the slow log leaves it alone. */
		app_thread_state(req, SB_T_STREAMING);
	} else
		atomic_fetch_sub(&app->sb->stats->sse_open, 1);
}

/* Routes and checks the request; returns the error to answer, if any. */
static enum app_err
app_dispatch(struct app *app, struct http_request *req,
    struct http_response *res)
{
	const struct route	*r;
	struct sb_thread	*t;
	char			 allow[128];
	enum app_err		 e;

	switch (router_match(app_routes, app_nroutes, req, &r, allow,
	    sizeof(allow))) {
	case ROUTER_FOUND:
		break;
	case ROUTER_BAD_METHOD:
		if (strcmp(req->method, "OPTIONS") == 0)
			return cors_options(app->cors, req, res, allow);
		if ((e = http_add_header(res, "Allow", allow)) != APP_OK)
			return e;
		return http_send_error(res, APP_EMETHOD, NULL,
		    "%s is not allowed on %s", req->method, req->path);
	case ROUTER_NOT_FOUND:
		return http_send_error(res, APP_ENOTFOUND, NULL,
		    "no route for %s %s", req->method, req->path);
	}
	if ((r->flags & ROUTE_TEST) && !app->conf->test_routes) {
		req->route_index = -1;
		req->route = NULL;
		return http_send_error(res, APP_ENOTFOUND, NULL,
		    "no route for %s %s", req->method, req->path);
	}
	if (req->body_too_large)
		return http_send_error(res, APP_ETOOBIG, NULL,
		    "request body exceeds %ld bytes", req->body_max);
	if (req->body_len > 0 && !http_is_json(req) &&
	    !(r->flags & ROUTE_ANY_BODY))
		return http_send_error(res, APP_EMEDIA, NULL, NULL);
	if ((t = app_slot(app, req)) != NULL)
		atomic_store_explicit(&t->route, req->route_index,
		    memory_order_relaxed);
	/* The caller, for the routes that need one (401/403 answered). */
	e = APP_OK;
	if (r->flags & ROUTE_USER_PATH)
		e = auth_require_path_user(req, res);
	else if (r->flags & ROUTE_AUTH)
		e = auth_require(req, res);
	if (e == APP_OK)
		e = r->handler(req, res);
	if (e == APP_OK || e == APP_EHUP)
		return e;
	/* A client's mistake is in the access log; ours goes here too. */
	if (app_err_status(e) >= 500)
		log_warnx("%s %s: %s", req->method, req->path,
		    app_strerror(e));
	if (res->headers_sent)
		return APP_OK;	/* too late for an envelope */
	return http_send_error(res, e, NULL, NULL);
}

void
app_handle(struct app *app, struct http_request *req,
    struct http_response *res)
{
	struct log_access	 la;
	struct sb_thread	*t;
	enum app_err		 e;
	uint64_t		 dur_us;
	int			 status;

	req->app = app;
	req->route_index = -1;
	if (req->start_ns == 0)
		req->start_ns = clock_now_ns();
	if ((req->request_id = app_request_id(req)) == NULL)
		req->request_id = "-";
	log_set_request_id(req->request_id);
	/* For the master's slow log and watchdog. */
	if ((t = app_slot(app, req)) != NULL)
		snprintf(t->request_id, sizeof(t->request_id), "%s",
		    req->request_id);
	if (http_add_header(res, "X-Request-Id", req->request_id) != APP_OK)
		log_warnx("cannot add X-Request-Id");
	if (cors_headers(app->cors, req, res) != APP_OK)
		log_warnx("cannot add the CORS headers");

	e = app_dispatch(app, req, res);
	if (e != APP_OK && e != APP_EHUP)
		log_warnx("%s %s: no answer: %s", req->method, req->path,
		    app_strerror(e));
	if (http_finish(res) != APP_OK || res->gone)
		e = APP_EHUP;

	status = e == APP_EHUP ? 499 : res->status;
	dur_us = (clock_now_ns() - req->start_ns) / 1000;
	if (app->sb != NULL)
		scoreboard_count(app->sb, req->route_index < 0 ?
		    SB_ROUTE_UNMATCHED : req->route_index, status, dur_us);
	memset(&la, 0, sizeof(la));
	la.request_id = req->request_id;
	la.method = req->method;
	la.path = req->path;
	la.route = req->route;
	la.status = status;
	la.duration_us = dur_us;
	la.bytes = res->bytes;
	la.user_id = req->user_id;
	la.remote_addr = req->remote_addr;
	log_access(&la);
	log_set_request_id(NULL);
}

size_t
app_background(struct app *app, struct arena *ar)
{
	return memjob_run(app, ar, APP_BACKGROUND_JOBS);
}
