/*
 * health.c: /healthz, /readyz and /api/v1/health.
 *
 * Liveness never touches PostgreSQL (a slow database must not get the
 * process killed); readiness and health do, through the pool, so they see
 * what a real request would see. /metrics (the Prometheus text) is the
 * second half of the file; it reads only the shared scoreboard.
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "app.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "health.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "scoreboard.h"

static const char health_ok[] = "{\"status\":\"ok\"}";
static const char health_ready[] = "{\"status\":\"ready\"}";

enum app_err
health_healthz(struct http_request *req, struct http_response *res)
{
	return http_send_json_str(res, 200, health_ok, sizeof(health_ok) - 1);
}

/*
 * Pings through the pool and counts pending migrations. *first is the
 * first pending name when *pending > 0.
 */
static enum app_err
health_check_db(struct http_request *req, size_t *pending, const char **first)
{
	struct app	*app = req->app;
	PGconn		*conn = NULL;
	enum app_err	 rc;

	*pending = 0;
	*first = NULL;
	if (app->db == NULL)
		return APP_EDB;
	app_thread_state(req, SB_T_DB);
	if ((rc = db_acquire(app->db, &conn)) == APP_OK &&
	    (rc = db_exec(conn, "SELECT 1", 0, NULL)) == APP_OK)
		rc = migrate_pending(conn, app->migrations, app->nmigrations,
		    pending, first);
	db_release(app->db, conn);
	app_thread_state(req, SB_T_HANDLER);
	return rc;
}

enum app_err
health_readyz(struct http_request *req, struct http_response *res)
{
	size_t		 pending;
	const char	*first;

	if (req->app->migrations == NULL)
		return http_send_error(res, APP_EUNAVAIL, NULL,
		    "migrations unknown: cannot read sql_dir");
	if (health_check_db(req, &pending, &first) != APP_OK)
		return http_send_error(res, APP_EUNAVAIL, NULL,
		    "database unreachable");
	if (pending > 0)
		return http_send_error(res, APP_EUNAVAIL, NULL,
		    "migrations pending: %s", first);
	return http_send_json_str(res, 200, health_ready,
	    sizeof(health_ready) - 1);
}

/* Busy and idle acceptors over all workers (none without a scoreboard). */
static void
health_threads(const struct app *app, int *busy, int *idle)
{
	*busy = *idle = 0;
	if (app->sb != NULL)
		scoreboard_threads(app->sb, busy, idle);
}

static struct json_object *
health_api_body(struct http_request *req, bool db_ok)
{
	struct app		*app = req->app;
	struct json_object	*o, *w;
	char			 now[CLOCK_RFC3339_LEN];
	int			 busy, idle;

	health_threads(app, &busy, &idle);
	clock_now_rfc3339(now);
	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if ((w = json_object_new_object()) == NULL) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(w, "busy", json_object_new_int(busy));
	json_object_object_add(w, "idle", json_object_new_int(idle));
	json_object_object_add(o, "status",
	    json_object_new_string(db_ok ? "ok" : "degraded"));
	json_object_object_add(o, "version",
	    json_object_new_string(app_version()));
	json_object_object_add(o, "database",
	    json_object_new_string(db_ok ? "ok" : "down"));
	json_object_object_add(o, "llm",
	    json_object_new_string(app->conf->llm_provider));
	json_object_object_add(o, "workers", w);
	json_object_object_add(o, "time", json_object_new_string(now));
	return o;
}

enum app_err
health_api(struct http_request *req, struct http_response *res)
{
	struct json_object	*o;
	enum app_err		 rc;
	bool			 db_ok;

	app_thread_state(req, SB_T_DB);
	db_ok = db_ping(req->app->db) == APP_OK;
	app_thread_state(req, SB_T_HANDLER);
	if ((o = health_api_body(req, db_ok)) == NULL)
		return APP_ENOMEM;
	rc = http_send_json(res, 200, o);
	json_object_put(o);
	return rc;
}

/* ---------------------------------------------------------------- metrics */

/* A growing text buffer; `err' sticks after the first failure. */
struct health_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	bool	 err;
};

static void health_printf(struct health_buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
health_printf(struct health_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	size_t	 ncap;
	char	*np;

	for (;;) {
		if (b->err)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		ncap = (b->cap + (size_t)n + 1) * 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->err = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

static void
health_help(struct health_buf *b, const char *name, const char *type,
    const char *help)
{
	health_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* The metrics name of a route index. */
static const char *
health_route_name(size_t i)
{
	if (i == SB_ROUTE_UNMATCHED)
		return "unmatched";
	return app_routes[i].name;
}

/* Route indexes worth reporting: every route, then "unmatched". */
static size_t
health_route_at(size_t k)
{
	return k < app_nroutes ? k : SB_ROUTE_UNMATCHED;
}

static void
health_m_requests(struct health_buf *b, struct sb_stats *st)
{
	const struct sb_route_stats	*rs;
	uint64_t			 v;
	size_t				 k, r;
	int				 s, code;

	health_help(b, "quipu_requests_total", "counter",
	    "Requests served, by route and HTTP status.");
	for (k = 0; k <= app_nroutes; k++) {
		r = health_route_at(k);
		rs = &st->routes[r];
		for (s = 0; s < SB_NSTATUS; s++) {
			if ((v = atomic_load(&rs->by_status[s])) == 0)
				continue;
			code = sb_status_value(s);
			if (code == 0)
				health_printf(b, "quipu_requests_total{route=\"%s\","
				    "status=\"other\"} %llu\n",
				    health_route_name(r), (unsigned long long)v);
			else
				health_printf(b, "quipu_requests_total{route=\"%s\","
				    "status=\"%d\"} %llu\n", health_route_name(r),
				    code, (unsigned long long)v);
		}
	}
}

/* One route's histogram; the scoreboard keeps per-bucket counts, the
 * text format wants them cumulative. */
static void
health_m_histogram(struct health_buf *b, const char *route,
    const struct sb_route_stats *rs)
{
	const char	*m = "quipu_request_duration_seconds";
	uint64_t	 cum = 0;
	int		 i;

	for (i = 0; i < SB_NBUCKETS; i++) {
		cum += atomic_load(&rs->latency[i]);
		health_printf(b, "%s_bucket{route=\"%s\",le=\"%g\"} %llu\n", m,
		    route, (double)sb_bucket_us[i] / 1e6,
		    (unsigned long long)cum);
	}
	cum += atomic_load(&rs->latency[SB_NBUCKETS]);
	health_printf(b, "%s_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", m,
	    route, (unsigned long long)cum);
	health_printf(b, "%s_sum{route=\"%s\"} %.6f\n", m, route,
	    (double)atomic_load(&rs->latency_sum_us) / 1e6);
	health_printf(b, "%s_count{route=\"%s\"} %llu\n", m, route,
	    (unsigned long long)cum);
}

static void
health_m_latency(struct health_buf *b, struct sb_stats *st)
{
	size_t	 k, r;

	health_help(b, "quipu_request_duration_seconds", "histogram",
	    "Request duration, by route.");
	for (k = 0; k <= app_nroutes; k++) {
		r = health_route_at(k);
		health_m_histogram(b, health_route_name(r), &st->routes[r]);
	}
}

/* Sums of the db counters of every live worker, or of this process's
 * pool when there is no scoreboard (tests). */
struct health_db_sum {
	uint64_t	 size, in_use, acquires, waits, wait_us, errors;
	int		 workers;
};

static void
health_db_add(struct health_db_sum *d, const struct db_counters *c)
{
	struct db_counters	*m = (struct db_counters *)c;

	d->size += (uint64_t)atomic_load(&m->size);
	d->in_use += (uint64_t)atomic_load(&m->in_use);
	d->acquires += atomic_load(&m->acquires);
	d->waits += atomic_load(&m->waits);
	d->wait_us += atomic_load(&m->wait_us);
	d->errors += atomic_load(&m->errors);
}

static void
health_db_collect(struct app *app, struct health_db_sum *d)
{
	struct sb_proc	*p;
	int		 i;

	memset(d, 0, sizeof(*d));
	if (app->sb == NULL) {
		if (app->db != NULL)
			health_db_add(d, db_pool_counters(app->db));
		d->workers = 1;
		return;
	}
	for (i = 0; i < app->sb->nprocs; i++) {
		p = scoreboard_proc(app->sb, i);
		if (atomic_load(&p->state) == SB_P_FREE)
			continue;
		d->workers++;
		health_db_add(d, &p->db);
	}
}

static void
health_gauge(struct health_buf *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	health_help(b, name, type, help);
	health_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void
health_m_procs(struct health_buf *b, struct app *app)
{
	struct health_db_sum	 d;
	int			 busy, idle;

	health_threads(app, &busy, &idle);
	health_help(b, "quipu_acceptors", "gauge",
	    "Acceptor threads of live workers, by state.");
	health_printf(b, "quipu_acceptors{state=\"busy\"} %d\n", busy);
	health_printf(b, "quipu_acceptors{state=\"idle\"} %d\n", idle);
	health_db_collect(app, &d);
	health_gauge(b, "quipu_workers", "gauge", "Worker processes.",
	    (uint64_t)d.workers);
	health_help(b, "quipu_db_connections", "gauge",
	    "PostgreSQL connections checked out.");
	health_printf(b, "quipu_db_connections{state=\"in_use\"} %llu\n",
	    (unsigned long long)d.in_use);
	health_gauge(b, "quipu_db_pool_size", "gauge",
	    "PostgreSQL connections allowed, all workers.", d.size);
	health_gauge(b, "quipu_db_acquires_total", "counter",
	    "Connections checked out of the pools.", d.acquires);
	health_gauge(b, "quipu_db_waits_total", "counter",
	    "Checkouts that had to wait for a free connection.", d.waits);
	health_help(b, "quipu_db_wait_seconds_total", "counter",
	    "Time spent waiting for a free connection.");
	health_printf(b, "quipu_db_wait_seconds_total %.6f\n",
	    (double)d.wait_us / 1e6);
	health_gauge(b, "quipu_db_errors_total", "counter",
	    "Failed connects and statements.", d.errors);
}

static void
health_m_stats(struct health_buf *b, struct sb_stats *st)
{
	health_gauge(b, "quipu_sse_streams_open", "gauge",
	    "Event streams open now.", atomic_load(&st->sse_open));
	health_gauge(b, "quipu_sse_streams_total", "counter",
	    "Event streams opened.", atomic_load(&st->sse_total));
	health_gauge(b, "quipu_worker_restarts_total", "counter",
	    "Workers respawned after an exit or a recycle.",
	    atomic_load(&st->worker_restarts));
	health_gauge(b, "quipu_slow_requests_total", "counter",
	    "Requests over slow_request_timeout.",
	    atomic_load(&st->slow_requests));
	health_gauge(b, "quipu_llm_tokens_total", "counter",
	    "Tokens used by the language model.", atomic_load(&st->llm_tokens));
	health_gauge(b, "quipu_llm_errors_total", "counter",
	    "Failed language model calls.", atomic_load(&st->llm_errors));
}

static enum app_err
health_send_text(struct http_response *res, const char *body, size_t len)
{
	char		 clen[32];
	enum app_err	 rc;

	snprintf(clen, sizeof(clen), "%zu", len);
	http_set_status(res, 200);
	if ((rc = http_add_header(res, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8")) != APP_OK ||
	    (rc = http_add_header(res, "Content-Length", clen)) != APP_OK)
		return rc;
	return http_write(res, body, len);
}

enum app_err
health_metrics(struct http_request *req, struct http_response *res)
{
	struct app		*app = req->app;
	struct health_buf	 b;
	enum app_err		 rc = APP_ENOMEM;

	memset(&b, 0, sizeof(b));
	b.cap = 16384;
	if ((b.p = malloc(b.cap)) == NULL)
		goto out;
	if (app->sb != NULL) {
		health_m_requests(&b, app->sb->stats);
		health_m_latency(&b, app->sb->stats);
	}
	health_m_procs(&b, app);
	if (app->sb != NULL)
		health_m_stats(&b, app->sb->stats);
	if (b.err)
		goto out;
	rc = health_send_text(res, b.p, b.len);
out:
	free(b.p);
	return rc;
}
