/*
 * test_pool.c: the supervisor's policy, one table row per rule.
 *
 * Each case describes up to 6 workers of up to 2 threads in a compact
 * form and the actions pool_decide() must return, in order.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pool.h"

#define S	POOL_NS_PER_SEC
#define MS	POOL_NS_PER_MS
#define NOW	(1000 * S)
#define MAXW	6
#define MAXT	2
#define MAXA	16

/* One worker in a case; `age' and the times are seconds before NOW. */
struct tw {
	int		 gen;
	enum pool_wstate state;
	int		 quit_ago;	/* -1: not sent */
	int		 term_ago;
	bool		 killed;
	int		 busy_ago[MAXT];	/* -1: idle */
	bool		 slow_logged[MAXT];
};

/* A busy_ago for a thread waiting on the model, or streaming. */
#define WAITING(ago)	((ago) + 1000)

struct tcase {
	const char	*name;
	int		 workers, shutdown_timeout, request_timeout, slow;
	int		 generation;
	int		 generation_ago;
	uint64_t	 respawn_at;
	bool		 fatal, stopping, immediate;
	size_t		 nw;
	struct tw	 w[MAXW];
	size_t		 na;
	struct pool_action a[MAXA];
};

/* A case with the reload history that `cases' leaves at its default. */
struct rcase {
	struct tcase	 c;
	int		 ready_gen;	/* last ready generation, 0: none */
	bool		 crashing;
};

#define IDLE	{ -1, -1 }
#define RUN(g)	{ (g), POOL_W_RUNNING, -1, -1, false, IDLE, { 0 } }
#define START(g) { (g), POOL_W_STARTING, -1, -1, false, IDLE, { 0 } }
#define DRAIN(g) { (g), POOL_W_DRAINING, -1, -1, false, IDLE, { 0 } }
#define A(t, r, w, th, n) { (t), (r), (w), (th), (n) }

static const struct tcase cases[] = {
	{ "start: spawn all", 2, 30, 150, 5, 1, 0, 0, false, false, false,
	  0, { { 0 } },
	  1, { A(POOL_SPAWN, POOL_R_NONE, -1, -1, 2) } },
	{ "full and running: nothing", 2, 30, 150, 5, 1, 10, 0, false, false,
	  false, 2, { RUN(1), RUN(1) }, 0, { { 0 } } },
	{ "one missing: spawn one", 2, 30, 150, 5, 1, 10, 0, false, false,
	  false, 1, { RUN(1) },
	  1, { A(POOL_SPAWN, POOL_R_NONE, -1, -1, 1) } },
	{ "backoff: no spawn before respawn_at", 2, 30, 150, 5, 1, 10,
	  NOW + 50 * MS, false, false, false, 1, { RUN(1) }, 0, { { 0 } } },
	{ "backoff over: spawn", 2, 30, 150, 5, 1, 10, NOW - 1, false, false,
	  false, 1, { RUN(1) },
	  1, { A(POOL_SPAWN, POOL_R_NONE, -1, -1, 1) } },
	{ "fatal: never spawn", 2, 30, 150, 5, 1, 10, 0, true, false, false,
	  0, { { 0 } }, 0, { { 0 } } },
	{ "recycling worker is replaced at once", 2, 30, 150, 5, 1, 10, 0,
	  false, false, false, 2, { RUN(1), DRAIN(1) },
	  1, { A(POOL_SPAWN, POOL_R_NONE, -1, -1, 1) } },
	{ "starting workers count as present", 2, 30, 150, 5, 1, 0, 0, false,
	  false, false, 2, { START(1), START(1) }, 0, { { 0 } } },
	{ "reload: new generation first, old keeps serving", 2, 30, 150, 5,
	  2, 0, 0, false, false, false, 2, { RUN(1), RUN(1) },
	  1, { A(POOL_SPAWN, POOL_R_NONE, -1, -1, 2) } },
	{ "reload: new starting, old not yet quit", 2, 30, 150, 5, 2, 1, 0,
	  false, false, false, 4, { RUN(1), RUN(1), START(2), RUN(2) },
	  0, { { 0 } } },
	{ "reload: new running, old quit", 2, 30, 150, 5, 2, 1, 0, false,
	  false, false, 4, { RUN(1), RUN(1), RUN(2), RUN(2) },
	  2, { A(POOL_QUIT, POOL_R_RELOAD, 0, -1, 0),
	       A(POOL_QUIT, POOL_R_RELOAD, 1, -1, 0) } },
	{ "reload: old already quit is not signalled again", 2, 30, 150, 5,
	  2, 1, 0, false, false, false, 3,
	  { { 1, POOL_W_DRAINING, 1, -1, false, { 0, -1 }, { 0 } },
	    RUN(2), RUN(2) }, 0, { { 0 } } },
	{ "reload timeout: new late, old quit anyway", 2, 30, 150, 5, 2, 31,
	  0, false, false, false, 3, { RUN(1), START(2), START(2) },
	  1, { A(POOL_QUIT, POOL_R_RELOAD_TIMEOUT, 0, -1, 0) } },
	{ "reload failed fatally: old keeps serving", 2, 30, 150, 5, 2, 31,
	  0, true, false, false, 1, { RUN(1) }, 0, { { 0 } } },
	{ "stop: quit everyone once", 2, 30, 150, 5, 1, 10, 0, false, true,
	  false, 3, { RUN(1), { 1, POOL_W_DRAINING, 2, -1, false, IDLE,
	  { 0 } }, START(1) },
	  2, { A(POOL_QUIT, POOL_R_STOP, 0, -1, 0),
	       A(POOL_QUIT, POOL_R_STOP, 2, -1, 0) } },
	{ "stop: no spawn while stopping", 2, 30, 150, 5, 1, 10, 0, false,
	  true, false, 0, { { 0 } }, 0, { { 0 } } },
	{ "stop: kill after shutdown_timeout", 2, 30, 150, 0, 1, 100, 0,
	  false, true, false, 2,
	  { { 1, POOL_W_DRAINING, 30, -1, false, { 40, -1 }, { 0 } },
	    { 1, POOL_W_DRAINING, 29, -1, false, { 40, -1 }, { 0 } } },
	  1, { A(POOL_KILL, POOL_R_SHUTDOWN_TIMEOUT, 0, -1, 0) } },
	{ "immediate: TERM all, then KILL after grace", 2, 30, 150, 0, 1,
	  100, 0, false, true, true, 3,
	  { { 1, POOL_W_DRAINING, 5, -1, false, IDLE, { 0 } },
	    { 1, POOL_W_DRAINING, 5, 3, false, IDLE, { 0 } },
	    { 1, POOL_W_DRAINING, 5, 1, false, IDLE, { 0 } } },
	  2, { A(POOL_KILL, POOL_R_SHUTDOWN_TIMEOUT, 1, -1, 0),
	       A(POOL_TERM, POOL_R_STOP, 0, -1, 0) } },
	{ "killed workers are left alone", 2, 30, 150, 0, 1, 100, 0, false,
	  true, false, 1,
	  { { 1, POOL_W_DRAINING, 60, -1, true, { 200, -1 }, { 0 } } },
	  0, { { 0 } } },
	{ "slow request logged", 2, 30, 150, 5, 1, 100, 0, false, false,
	  false, 2, { { 1, POOL_W_RUNNING, -1, -1, false, { 6, 4 }, { 0 } },
	  RUN(1) },
	  1, { A(POOL_LOG_SLOW, POOL_R_NONE, 0, 0, 0) } },
	{ "slow request logged only once", 2, 30, 150, 5, 1, 100, 0, false,
	  false, false, 2, { { 1, POOL_W_RUNNING, -1, -1, false, { 6, 7 },
	  { true, false } }, RUN(1) },
	  1, { A(POOL_LOG_SLOW, POOL_R_NONE, 0, 1, 0) } },
	{ "a turn waiting on the model or streaming is not slow", 2, 30, 150,
	  5, 1, 100, 0, false, false, false, 2,
	  { { 1, POOL_W_RUNNING, -1, -1, false, { WAITING(60), 6 }, { 0 } },
	  RUN(1) },
	  1, { A(POOL_LOG_SLOW, POOL_R_NONE, 0, 1, 0) } },
	{ "slow log off", 2, 30, 150, 0, 1, 100, 0, false, false, false, 2,
	  { { 1, POOL_W_RUNNING, -1, -1, false, { 60, -1 }, { 0 } }, RUN(1) },
	  0, { { 0 } } },
	{ "request timeout: kill and log every victim", 2, 30, 10, 0, 1,
	  100, 0, false, false, false, 2,
	  { { 1, POOL_W_RUNNING, -1, -1, false, { 16, 1 }, { 0 } }, RUN(1) },
	  3, { A(POOL_KILL, POOL_R_REQUEST_TIMEOUT, 0, -1, 0),
	       A(POOL_LOG_VICTIM, POOL_R_REQUEST_TIMEOUT, 0, 0, 0),
	       A(POOL_LOG_VICTIM, POOL_R_REQUEST_TIMEOUT, 0, 1, 0) } },
	{ "killed by the watchdog: replaced", 2, 30, 10, 0, 1, 100, 0, false,
	  false, false, 2,
	  { { 1, POOL_W_RUNNING, -1, -1, true, { 16, 1 }, { 0 } }, RUN(1) },
	  1, { A(POOL_SPAWN, POOL_R_NONE, -1, -1, 1) } },
	{ "request timeout: grace of 5 s", 2, 30, 10, 0, 1, 100, 0, false,
	  false, false, 2,
	  { { 1, POOL_W_RUNNING, -1, -1, false, { 14, -1 }, { 0 } }, RUN(1) },
	  0, { { 0 } } },
	{ "request timeout off", 2, 30, 0, 0, 1, 100, 0, false, false, false,
	  2, { { 1, POOL_W_RUNNING, -1, -1, false, { 9999, -1 }, { 0 } },
	  RUN(1) }, 0, { { 0 } } },
};

static const struct rcase rcases[] = {
	{ { "reload during reload: the unready middle one quits at once",
	  2, 30, 150, 5, 3, 1, 0, false, false, false, 4,
	  { RUN(1), RUN(1), RUN(2), START(2) },
	  3, { A(POOL_QUIT, POOL_R_RELOAD, 2, -1, 0),
	       A(POOL_QUIT, POOL_R_RELOAD, 3, -1, 0),
	       A(POOL_SPAWN, POOL_R_NONE, -1, -1, 2) } }, 1, false },
	{ { "reload during reload: the ready one keeps serving", 2, 30, 150,
	  5, 3, 1, 0, false, false, false, 3,
	  { { 1, POOL_W_DRAINING, 1, -1, false, IDLE, { 0 } }, RUN(2),
	    RUN(2) },
	  1, { A(POOL_SPAWN, POOL_R_NONE, -1, -1, 2) } }, 2, false },
	{ { "reload timeout: not while the new generation crashes", 2, 30,
	  150, 5, 2, 31, 0, false, false, false, 2, { RUN(1), START(2) },
	  1, { A(POOL_SPAWN, POOL_R_NONE, -1, -1, 1) } }, 1, true },
	{ { "reload before the first generation was ready: no drop", 2, 30,
	  150, 5, 2, 1, 0, false, false, false, 2, { RUN(1), START(1) },
	  1, { A(POOL_SPAWN, POOL_R_NONE, -1, -1, 2) } }, 0, false },
};

static uint64_t
ago(int s)
{
	return s < 0 ? 0 : NOW - (uint64_t)s * S;
}

static void
build(const struct tcase *c, struct pool_input *in, struct pool_worker *pw,
    struct pool_thread *pt)
{
	const struct tw	*w;
	size_t		 i;
	int		 t, a;

	memset(in, 0, sizeof(*in));
	in->conf.workers = c->workers;
	in->conf.shutdown_timeout = c->shutdown_timeout;
	in->conf.request_timeout = c->request_timeout;
	in->conf.slow_request_timeout = c->slow;
	in->now_ns = NOW;
	in->generation = c->generation;
	in->generation_ns = ago(c->generation_ago);
	in->respawn_at_ns = c->respawn_at;
	in->ready_generation = c->generation - 1;
	in->fatal = c->fatal;
	in->stopping = c->stopping;
	in->immediate = c->immediate;
	in->workers = pw;
	in->nworkers = MAXW;	/* the rest are unused entries */
	in->nthreads = MAXT;
	memset(pw, 0, MAXW * sizeof(*pw));
	memset(pt, 0, MAXW * MAXT * sizeof(*pt));
	for (i = 0; i < c->nw; i++) {
		w = &c->w[i];
		pw[i].alive = true;
		pw[i].generation = w->gen;
		pw[i].state = w->state;
		pw[i].started_ns = ago(500);
		pw[i].quit_ns = ago(w->quit_ago);
		pw[i].term_ns = ago(w->term_ago);
		pw[i].killed = w->killed;
		for (t = 0; t < MAXT; t++) {
			a = w->busy_ago[t];
			pt[i * MAXT + t].waiting = a >= WAITING(0);
			if (a >= WAITING(0))
				a -= WAITING(0);
			pt[i * MAXT + t].busy = a >= 0;
			pt[i * MAXT + t].start_ns = ago(a);
			if (w->slow_logged[t])
				pt[i * MAXT + t].slow_logged_ns =
				    pt[i * MAXT + t].start_ns;
		}
	}
	for (i = 0; i < MAXW; i++)
		pw[i].threads = &pt[i * MAXT];
}

static void
check(const struct tcase *c, const struct pool_input *in)
{
	struct pool_action	 out[MAXA];
	size_t			 j, n;

	n = pool_decide(in, out, MAXA);
	if (n != c->na)
		fail_msg("%s: %zu actions, want %zu", c->name, n, c->na);
	for (j = 0; j < n; j++) {
		const struct pool_action *a = &out[j], *e = &c->a[j];

		if (a->type != e->type || a->reason != e->reason ||
		    a->worker != e->worker || a->thread != e->thread ||
		    a->count != e->count)
			fail_msg("%s: action %zu is {%d,%d,%d,%d,%d}, "
			    "want {%d,%d,%d,%d,%d}", c->name, j,
			    a->type, a->reason, a->worker, a->thread,
			    a->count, e->type, e->reason, e->worker,
			    e->thread, e->count);
	}
}

static void
test_table(void **state)
{
	struct pool_input	 in;
	struct pool_worker	 pw[MAXW];
	struct pool_thread	 pt[MAXW * MAXT];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build(&cases[i], &in, pw, pt);
		check(&cases[i], &in);
	}
}

/* Reload during reload, and a new generation that crashes. */
static void
test_reload_table(void **state)
{
	struct pool_input	 in;
	struct pool_worker	 pw[MAXW];
	struct pool_thread	 pt[MAXW * MAXT];
	size_t			 i;

	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		build(&rcases[i].c, &in, pw, pt);
		in.ready_generation = rcases[i].ready_gen;
		in.crashing = rcases[i].crashing;
		check(&rcases[i].c, &in);
	}
}

/* The output buffer is never overrun. */
static void
test_max(void **state)
{
	struct pool_input	 in;
	struct pool_worker	 pw[MAXW];
	struct pool_thread	 pt[MAXW * MAXT];
	struct pool_action	 out[2];

	build(&cases[23], &in, pw, pt);	/* "request timeout: kill ..." */
	assert_int_equal(pool_decide(&in, out, 2), 2);
	assert_int_equal(out[0].type, POOL_KILL);
	assert_int_equal(pool_decide(&in, out, 0), 0);
}

static void
test_ready(void **state)
{
	struct pool_input	 in;
	struct pool_worker	 pw[MAXW];
	struct pool_thread	 pt[MAXW * MAXT];

	build(&cases[9], &in, pw, pt);	/* one new worker still starting */
	assert_false(pool_generation_ready(&in));
	build(&cases[10], &in, pw, pt);
	assert_true(pool_generation_ready(&in));
}

static void
test_exit_classify(void **state)
{
	assert_int_equal(pool_exit_classify(true, 0), POOL_EXIT_CLEAN);
	assert_int_equal(pool_exit_classify(true, 2), POOL_EXIT_FATAL);
	assert_int_equal(pool_exit_classify(true, 1), POOL_EXIT_CRASH);
	assert_int_equal(pool_exit_classify(false, 9), POOL_EXIT_CRASH);
	assert_int_equal(pool_exit_classify(false, 2), POOL_EXIT_CRASH);
}

static void
test_backoff(void **state)
{
	struct pool_backoff	 b = { 0, 0 };
	uint64_t		 want = 100 * MS;
	int			 i;

	/* Crashes double the delay from 100 ms up to 30 s. */
	for (i = 0; i < 12; i++) {
		pool_backoff_update(&b, POOL_EXIT_CRASH, 10 * MS, NOW);
		assert_int_equal(b.delay_ns, want);
		assert_int_equal(b.next_ns, NOW + want);
		want = want * 2 > POOL_BACKOFF_MAX_NS ? POOL_BACKOFF_MAX_NS :
		    want * 2;
	}
	assert_int_equal(b.delay_ns, POOL_BACKOFF_MAX_NS);

	/* An early clean exit keeps the delay; a normal recycle clears it. */
	pool_backoff_update(&b, POOL_EXIT_CLEAN, 10 * MS, NOW);
	assert_int_equal(b.next_ns, NOW + POOL_BACKOFF_MAX_NS);
	pool_backoff_update(&b, POOL_EXIT_CLEAN, 5 * S, NOW);
	assert_int_equal(b.delay_ns, 0);
	assert_int_equal(b.next_ns, NOW);

	/* A crash after a long life starts again at 100 ms. */
	b.delay_ns = 8 * S;
	pool_backoff_update(&b, POOL_EXIT_CRASH, 60 * S, NOW);
	assert_int_equal(b.delay_ns, 100 * MS);

	/* Fatal changes nothing: there is no respawn to delay. */
	pool_backoff_update(&b, POOL_EXIT_FATAL, 1, NOW + S);
	assert_int_equal(b.delay_ns, 100 * MS);
	assert_int_equal(b.next_ns, NOW + 100 * MS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_reload_table),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_exit_classify),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
