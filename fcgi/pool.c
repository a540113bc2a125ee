/*
 * pool.c: the supervisor's policy (see pool.h). Pure: no system calls,
 * no globals, no allocation.
 */
#include "config.h"

#include "pool.h"

struct pool_out {
	struct pool_action	*a;
	size_t			 n;
	size_t			 max;
};

static void
pool_emit(struct pool_out *o, enum pool_act_type type, enum pool_reason why,
    int worker, int thread, int count)
{
	struct pool_action	*a;

	if (o->n >= o->max)
		return;
	a = &o->a[o->n++];
	a->type = type;
	a->reason = why;
	a->worker = worker;
	a->thread = thread;
	a->count = count;
}

static uint64_t
pool_sec(int s)
{
	return s > 0 ? (uint64_t)s * POOL_NS_PER_SEC : 0;
}

static uint64_t
pool_age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/*
 * The request watchdog: a worker with a request older than
 * request_timeout plus grace is killed, and every request it holds is
 * logged as a victim. In-process deadlines should have fired long before.
 */
static void
pool_watchdog(const struct pool_input *in, struct pool_out *o)
{
	const struct pool_worker	*w;
	uint64_t			 limit;
	size_t				 i;
	int				 t;
	bool				 overdue;

	if (in->conf.request_timeout <= 0)
		return;
	limit = pool_sec(in->conf.request_timeout) + POOL_TIMEOUT_GRACE_NS;
	for (i = 0; i < in->nworkers; i++) {
		w = &in->workers[i];
		if (!w->alive || w->killed || w->threads == NULL)
			continue;
		overdue = false;
		for (t = 0; t < in->nthreads; t++)
			if (w->threads[t].busy &&
			    pool_age(in->now_ns, w->threads[t].start_ns) > limit)
				overdue = true;
		if (!overdue)
			continue;
		pool_emit(o, POOL_KILL, POOL_R_REQUEST_TIMEOUT, (int)i, -1, 0);
		for (t = 0; t < in->nthreads; t++)
			if (w->threads[t].busy)
				pool_emit(o, POOL_LOG_VICTIM,
				    POOL_R_REQUEST_TIMEOUT, (int)i, t, 0);
	}
}

/*
 * Each request older than slow_request_timeout is logged once, unless it
 * waits on the model or streams its answer: a chat turn takes seconds by
 * nature (the request_timeout watchdog still bounds it).
 */
static void
pool_slowlog(const struct pool_input *in, struct pool_out *o)
{
	const struct pool_worker	*w;
	const struct pool_thread	*th;
	uint64_t			 limit;
	size_t				 i;
	int				 t;

	if (in->conf.slow_request_timeout <= 0)
		return;
	limit = pool_sec(in->conf.slow_request_timeout);
	for (i = 0; i < in->nworkers; i++) {
		w = &in->workers[i];
		if (!w->alive || w->killed || w->threads == NULL)
			continue;
		for (t = 0; t < in->nthreads; t++) {
			th = &w->threads[t];
			if (th->busy && !th->waiting &&
			    th->slow_logged_ns != th->start_ns &&
			    pool_age(in->now_ns, th->start_ns) > limit)
				pool_emit(o, POOL_LOG_SLOW, POOL_R_NONE,
				    (int)i, t, 0);
		}
	}
}

/*
 * Escalation: a worker told to quit gets shutdown_timeout to finish its
 * requests, one told to terminate gets a short grace; then SIGKILL.
 */
static void
pool_escalate(const struct pool_input *in, struct pool_out *o)
{
	const struct pool_worker	*w;
	size_t				 i;

	for (i = 0; i < in->nworkers; i++) {
		w = &in->workers[i];
		if (!w->alive || w->killed)
			continue;
		if ((w->quit_ns != 0 && pool_age(in->now_ns, w->quit_ns) >=
		    pool_sec(in->conf.shutdown_timeout)) ||
		    (w->term_ns != 0 && pool_age(in->now_ns, w->term_ns) >=
		    POOL_TERM_GRACE_NS))
			pool_emit(o, POOL_KILL, POOL_R_SHUTDOWN_TIMEOUT,
			    (int)i, -1, 0);
	}
}

/* Stopping: QUIT everyone once, or TERM everyone once when immediate. */
static void
pool_stop(const struct pool_input *in, struct pool_out *o)
{
	const struct pool_worker	*w;
	size_t				 i;

	for (i = 0; i < in->nworkers; i++) {
		w = &in->workers[i];
		if (!w->alive || w->killed)
			continue;
		if (in->immediate && w->term_ns == 0)
			pool_emit(o, POOL_TERM, POOL_R_STOP, (int)i, -1, 0);
		else if (!in->immediate && w->quit_ns == 0 && w->term_ns == 0)
			pool_emit(o, POOL_QUIT, POOL_R_STOP, (int)i, -1, 0);
	}
}

bool
pool_generation_ready(const struct pool_input *in)
{
	const struct pool_worker	*w;
	size_t				 i;
	int				 running = 0;

	for (i = 0; i < in->nworkers; i++) {
		w = &in->workers[i];
		if (w->alive && w->generation == in->generation &&
		    w->state == POOL_W_RUNNING && w->quit_ns == 0 &&
		    w->term_ns == 0 && !w->killed)
			running++;
	}
	return running >= in->conf.workers;
}

/*
 * A worker of an older generation that is not the last ready one (a
 * reload during a reload) serves no purpose: the ready generation keeps
 * serving. It is told to quit at once, which frees its scoreboard slot.
 */
static bool
pool_superseded(const struct pool_input *in, const struct pool_worker *w)
{
	return w->generation != in->generation &&
	    in->ready_generation != 0 &&
	    w->generation != in->ready_generation;
}

/*
 * Reload: the old generation is told to quit only when the new one is
 * fully running, so that no request meets a closed door; or, when the
 * new one does not come up within shutdown_timeout, anyway. Not when the
 * new one failed fatally or crashes: then the old generation keeps
 * serving rather than leaving nobody.
 */
static void
pool_retire(const struct pool_input *in, struct pool_out *o)
{
	const struct pool_worker	*w;
	enum pool_reason		 why = POOL_R_NONE;
	size_t				 i;

	if (pool_generation_ready(in))
		why = POOL_R_RELOAD;
	else if (!in->fatal && !in->crashing &&
	    pool_age(in->now_ns, in->generation_ns) >=
	    pool_sec(in->conf.shutdown_timeout))
		why = POOL_R_RELOAD_TIMEOUT;
	for (i = 0; i < in->nworkers; i++) {
		w = &in->workers[i];
		if (!w->alive || w->killed || w->generation == in->generation ||
		    w->quit_ns != 0 || w->term_ns != 0)
			continue;
		if (why != POOL_R_NONE)
			pool_emit(o, POOL_QUIT, why, (int)i, -1, 0);
		else if (pool_superseded(in, w))
			pool_emit(o, POOL_QUIT, POOL_R_RELOAD, (int)i, -1, 0);
	}
}

/*
 * Spawn: the current generation should have `workers' processes that
 * accept. One draining (recycling, or told to quit) no longer counts, so
 * its successor starts while it finishes.
 */
static void
pool_spawn(const struct pool_input *in, struct pool_out *o)
{
	const struct pool_worker	*w;
	size_t				 i;
	int				 have = 0;

	if (in->fatal || in->now_ns < in->respawn_at_ns)
		return;
	for (i = 0; i < in->nworkers; i++) {
		w = &in->workers[i];
		if (w->alive && w->generation == in->generation &&
		    w->state != POOL_W_DRAINING && w->quit_ns == 0 &&
		    w->term_ns == 0 && !w->killed)
			have++;
	}
	if (have < in->conf.workers)
		pool_emit(o, POOL_SPAWN, POOL_R_NONE, -1, -1,
		    in->conf.workers - have);
}

size_t
pool_decide(const struct pool_input *in, struct pool_action *out,
    size_t max)
{
	struct pool_out	 o = { out, 0, max };

	pool_watchdog(in, &o);
	pool_slowlog(in, &o);
	pool_escalate(in, &o);
	if (in->stopping || in->immediate) {
		pool_stop(in, &o);
		return o.n;
	}
	pool_retire(in, &o);
	pool_spawn(in, &o);
	return o.n;
}

enum pool_exit
pool_exit_classify(bool exited, int code)
{
	if (exited && code == 0)
		return POOL_EXIT_CLEAN;
	if (exited && code == 2)
		return POOL_EXIT_FATAL;
	return POOL_EXIT_CRASH;
}

void
pool_backoff_update(struct pool_backoff *b, enum pool_exit how,
    uint64_t lifetime_ns, uint64_t now_ns)
{
	switch (how) {
	case POOL_EXIT_CLEAN:
		/* A recycle after serving its share: respawn at once. */
		if (lifetime_ns >= POOL_EARLY_DEATH_NS)
			b->delay_ns = 0;
		b->next_ns = now_ns + b->delay_ns;
		return;
	case POOL_EXIT_FATAL:
		/* Nothing will be respawned; keep the numbers as they are. */
		return;
	case POOL_EXIT_CRASH:
		break;
	}
	if (b->delay_ns == 0 || lifetime_ns >= POOL_BACKOFF_RESET_NS)
		b->delay_ns = POOL_BACKOFF_MIN_NS;
	else if (b->delay_ns >= POOL_BACKOFF_MAX_NS / 2)
		b->delay_ns = POOL_BACKOFF_MAX_NS;
	else
		b->delay_ns *= 2;
	b->next_ns = now_ns + b->delay_ns;
}
