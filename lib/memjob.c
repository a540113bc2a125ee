/*
 * memjob.c: the extraction queue (see memjob.h).
 *
 * A job is claimed with one statement that leases it: locked_until is
 * pushed past anything the job can take (a model call is bounded by
 * llm_timeout) and attempts counts the claim, so a worker that dies
 * mid-job loses nothing and a job that kills its worker every time is
 * still dropped after MEMJOB_ATTEMPTS. SKIP LOCKED lets every thread
 * claim at once without waiting on each other. No connection is held
 * while the model works: each statement takes one and gives it back.
 *
 * The user's message is never logged: it is theirs.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "arena.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "extract.h"
#include "llm.h"
#include "log.h"
#include "memjob.h"
#include "memory.h"

/* A lease outlasts the model's call by this much (seconds). */
#define MEMJOB_LEASE_SLACK	60
/* A failed job waits this many seconds times its attempts. */
#define MEMJOB_BACKOFF		30

/* A job as claimed; strings in the scratch arena. */
struct memjob {
	const char	*id;
	const char	*user_id;
	const char	*thread_id;	/* may be NULL */
	const char	*item_id;	/* may be NULL */
	const char	*message;
	const char	*queued_at;	/* when the turn queued it */
	int		 attempts;	/* this one included */
};

enum app_err
memjob_enqueue(struct db_pool *db, struct arena *ar, const char *user_id,
    const char *thread_id, const char *item_id, const char *message)
{
	static const char sql[] =
	    "INSERT INTO memory_jobs (user_id, thread_id, item_id, message) "
	    "VALUES ($1, $2, $3, $4)";
	const char	*p[4];

	(void)ar;
	p[0] = user_id;
	p[1] = thread_id;
	p[2] = item_id;
	p[3] = message;
	return db_run(db, sql, 4, p, NULL);
}

/*
 * Takes the oldest ready job: not before its run_after, and not leased
 * or with its lease run out. APP_ENOTFOUND: none is ready.
 */
static enum app_err
memjob_claim(struct app *app, struct arena *ar, struct memjob *j)
{
	static const char sql[] =
	    "UPDATE memory_jobs SET locked_until = now() + "
	    "make_interval(secs => $1::int), attempts = attempts + 1 "
	    "WHERE id = (SELECT id FROM memory_jobs WHERE run_after <= now() "
	    "AND (locked_until IS NULL OR locked_until < now()) "
	    "ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) "
	    "RETURNING id, user_id, thread_id, item_id, message, attempts, "
	    "created_at";
	const char	*p[1];
	char		 lease[16];
	PGresult	*r;
	enum app_err	 e;

	memset(j, 0, sizeof(*j));
	snprintf(lease, sizeof(lease), "%d",
	    app->conf->llm_timeout + MEMJOB_LEASE_SLACK);
	p[0] = lease;
	if ((e = db_run(app->db, sql, 1, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return APP_ENOTFOUND;
	}
	j->id = db_value(ar, r, 0, 0);
	j->user_id = db_value(ar, r, 0, 1);
	j->thread_id = db_value(ar, r, 0, 2);
	j->item_id = db_value(ar, r, 0, 3);
	j->message = db_value(ar, r, 0, 4);
	j->attempts = atoi(PQgetvalue(r, 0, 5));
	j->queued_at = db_value(ar, r, 0, 6);
	if (j->id == NULL || j->user_id == NULL || j->message == NULL ||
	    j->queued_at == NULL ||
	    (j->thread_id == NULL && !PQgetisnull(r, 0, 2)) ||
	    (j->item_id == NULL && !PQgetisnull(r, 0, 3)))
		e = APP_ENOMEM;
	PQclear(r);
	return e;
}

/* Removes a job, done or given up. */
static enum app_err
memjob_delete(struct app *app, const struct memjob *j)
{
	static const char sql[] = "DELETE FROM memory_jobs WHERE id = $1";
	const char	*p[1];

	p[0] = j->id;
	return db_run(app->db, sql, 1, p, NULL);
}

/* Gives a failed job back, to be tried again later. */
static enum app_err
memjob_later(struct app *app, const struct memjob *j)
{
	static const char sql[] =
	    "UPDATE memory_jobs SET locked_until = NULL, run_after = now() + "
	    "make_interval(secs => $2::int * attempts) WHERE id = $1";
	const char	*p[2];
	char		 backoff[16];

	snprintf(backoff, sizeof(backoff), "%d", MEMJOB_BACKOFF);
	p[0] = j->id;
	p[1] = backoff;
	return db_run(app->db, sql, 2, p, NULL);
}

/* The deadline of a run's model calls (CLOCK_MONOTONIC ns). */
struct memjob_clock {
	uint64_t	 deadline_ns;
};

static bool
memjob_tick(void *ctx)
{
	const struct memjob_clock	*c = ctx;

	return clock_now_ns() >= c->deadline_ns;
}

/*
 * The facts of the message: the builtin extractor with the builtin
 * model, else the model asked for JSON. *why: a sentence for the log
 * (never the message) when the model failed.
 */
static enum app_err
memjob_extract(struct app *app, struct arena *ar, const struct memjob *j,
    struct memjob_clock *clk, struct extract_fact *facts, size_t *nfacts,
    const char **why)
{
	struct llm_message	 msgs[2];
	struct llm_request	 req;
	struct llm_result	 res;
	struct llm_callbacks	 cb;
	enum app_err		 e;

	*nfacts = 0;
	*why = NULL;
	if (llm_provider(app->llm) == LLM_BUILTIN) {
		*nfacts = extract_builtin(ar, j->message, facts, EXTRACT_MAX);
		return APP_OK;
	}
	memset(msgs, 0, sizeof(msgs));
	msgs[0].role = "system";
	msgs[0].content = extract_prompt();
	msgs[1].role = "user";
	msgs[1].content = j->message;
	memset(&req, 0, sizeof(req));
	req.messages = msgs;
	req.nmessages = 2;
	req.now = time(NULL);
	memset(&cb, 0, sizeof(cb));
	cb.tick = memjob_tick;
	cb.ctx = clk;
	memset(&res, 0, sizeof(res));
	e = llm_complete(app->llm, ar, &req, &cb, &res);
	app_llm_count(app, res.usage.prompt_tokens +
	    res.usage.completion_tokens, e != APP_OK);
	if (e != APP_OK) {
		*why = e == APP_EHUP ? "out of time" : res.error;
		return e;
	}
	*nfacts = extract_parse(ar, res.text, res.text_len, facts,
	    EXTRACT_MAX);
	return APP_OK;
}

/* Applies each fact with the turn as its source. */
static enum app_err
memjob_apply(struct app *app, struct arena *ar, const struct memjob *j,
    const struct extract_fact *facts, size_t nfacts)
{
	struct memory_source	 src;
	enum extract_op		 op;
	char			*json;
	size_t			 i;
	enum app_err		 e;

	src.thread_id = j->thread_id;
	src.item_id = j->item_id;
	src.said_at = j->queued_at;
	for (i = 0; i < nfacts; i++) {
		e = memory_remember(app, ar, j->user_id, &facts[i],
		    MEMORY_EXTRACTION, &src, &op, &json);
		/* A fact the store refuses is skipped, not retried. */
		if (e == APP_EINVAL)
			continue;
		/* A retry repeats the facts applied: they come out NONE. */
		if (e != APP_OK)
			return e;
	}
	return APP_OK;
}

/* A job that failed: later, or dropped once it has had its tries. */
static void
memjob_failed(struct app *app, const struct memjob *j, const char *why)
{
	enum app_err	 e;

	if (j->attempts >= MEMJOB_ATTEMPTS) {
		log_warnx("memjob %s (thread %s): dropped after %d attempts: "
		    "%s", j->id, j->thread_id != NULL ? j->thread_id : "-",
		    j->attempts, why);
		e = memjob_delete(app, j);
	} else {
		log_warnx("memjob %s (thread %s): attempt %d failed, will "
		    "retry: %s", j->id, j->thread_id != NULL ? j->thread_id :
		    "-", j->attempts, why);
		e = memjob_later(app, j);
	}
	/* Left leased, it is taken again when the lease runs out. */
	if (e != APP_OK)
		log_warnx("memjob %s: %s", j->id, app_strerror(e));
}

/* One job, claimed: extract, apply, delete. */
static void
memjob_one(struct app *app, struct arena *ar, const struct memjob *j,
    struct memjob_clock *clk)
{
	struct extract_fact	 facts[EXTRACT_MAX];
	const char		*why;
	size_t			 nfacts;
	enum app_err		 e;

	/* One that kept killing its worker mid-job. */
	if (j->attempts > MEMJOB_ATTEMPTS) {
		memjob_failed(app, j, "its worker never finished it");
		return;
	}
	e = memjob_extract(app, ar, j, clk, facts, &nfacts, &why);
	if (e != APP_OK) {
		memjob_failed(app, j, why != NULL ? why : app_strerror(e));
		return;
	}
	if ((e = memjob_apply(app, ar, j, facts, nfacts)) != APP_OK) {
		memjob_failed(app, j, app_strerror(e));
		return;
	}
	if ((e = memjob_delete(app, j)) != APP_OK)
		log_warnx("memjob %s: done, but not deleted: %s", j->id,
		    app_strerror(e));
	else
		log_debug("memjob %s: %zu facts", j->id, nfacts);
}

size_t
memjob_run(struct app *app, struct arena *ar, size_t max)
{
	struct memjob_clock	 clk;
	struct memjob		 j;
	uint64_t		 start = clock_now_ns(), budget;
	size_t			 n;
	enum app_err		 e;

	/*
	 * The whole run is bounded like a turn, by llm_timeout, so the
	 * thread's slot never looks stuck to the watchdog; a job is only
	 * started while half of that is left.
	 */
	budget = (uint64_t)app->conf->llm_timeout * 1000000000ull;
	clk.deadline_ns = start + budget;
	for (n = 0; n < max; n++) {
		if (n > 0 && clock_now_ns() - start >= budget / 2)
			break;
		e = memjob_claim(app, ar, &j);
		if (e == APP_ENOTFOUND) {
			arena_reset(ar);
			break;
		}
		if (e != APP_OK) {
			log_warnx("memjob: no job claimed: %s",
			    app_strerror(e));
			arena_reset(ar);
			break;
		}
		memjob_one(app, ar, &j, &clk);
		arena_reset(ar);
	}
	return n;
}
