/*
 * app.h: the application as one worker process sees it, and the single
 * entry point through which every request passes.
 */
#ifndef QUIPU_APP_H
#define QUIPU_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apperr.h"
#include "router.h"

struct arena;
struct auth;
struct conf;
struct cors;
struct db_pool;
struct llm;
struct scoreboard;
struct http_request;
struct http_response;

struct app {
	const struct conf	*conf;		/* borrowed; lives as long as the process */
	struct db_pool		*db;
	struct scoreboard	*sb;		/* may be NULL in tests */
	struct cors		*cors;		/* allowed origins */
	struct auth		*auth;		/* keys, password gate */
	struct llm		*llm;		/* the model */
	int			 proc_slot;	/* this process's slot, or -1 */
	int			 generation;
	/* Migrations found in conf->sql_dir at start, for /readyz; NULL when
	 * the directory could not be read (then never ready). */
	char			**migrations;
	size_t			 nmigrations;
};

/* The route table of every module, in a fixed order (metrics index it). */
extern const struct route	app_routes[];
extern const size_t		app_nroutes;

/*
 * Sets up the per-process state (after fork): the database pool, the list
 * of migrations. The database need not be reachable yet.
 */
enum app_err	 app_init(struct app *, const struct conf *,
		    struct scoreboard *, int proc_slot, int generation) MUSTCHECK;
void		 app_free(struct app *);

/*
 * Serves one request: request id, body limits, routing, the error
 * envelope, metrics, the access log. The request must have its arena,
 * method, path, query, headers and body set. Never fails: whatever goes
 * wrong becomes a response (or, when the client is gone, nothing).
 */
void		 app_handle(struct app *, struct http_request *,
		    struct http_response *);

/*
 * Work queued for after the answer (http_request.background), and the
 * idle threads' sweep: runs a few ready jobs of the queues (memjob.h).
 * `ar' is a scratch arena, reset between jobs. Returns how many ran;
 * never fails (errors are logged, jobs tried again later).
 */
size_t		 app_background(struct app *, struct arena *ar);

/*
 * What the serving thread is doing (enum sb_thread_state), for the
 * scoreboard: /metrics, the slow log (which leaves threads waiting on
 * the model or streaming alone) and the watchdog. No-op without one.
 */
void		 app_thread_state(struct http_request *, int state);
/* Counts a language model call for /metrics: the tokens it used, and
 * whether it failed. No-op without a scoreboard. */
void		 app_llm_count(struct app *, int64_t tokens, bool failed);
/* Counts an event stream opening (and marks the thread streaming until
 * the request ends) or closing. */
void		 app_stream_count(struct http_request *, bool open);
/*
 * The body `req' (method and path set) may send: max_body, or
 * attachment_max for a route that takes uploads (ROUTE_ANY_BODY). The
 * body is read before routing, so its route is looked up here.
 */
long		 app_body_max(const struct conf *, struct http_request *req);
/* quipu's version string. */
const char	*app_version(void);

#endif
