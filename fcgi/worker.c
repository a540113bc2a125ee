/*
 * worker.c: a worker process. N acceptor threads each call FCGX_Accept_r
 * on the shared listening socket; the main thread only waits for signals
 * with sigtimedwait and drains.
 *
 * The listening socket is non-blocking, so FCGX_Accept_r never sleeps in
 * accept(): when there is nothing to take it fails with EAGAIN and the
 * thread waits in epoll_wait on two descriptors, the listening socket
 * (EPOLLEXCLUSIVE, so one connection wakes one thread, not all of them)
 * and the worker's drain eventfd. Draining writes the eventfd once, which
 * wakes every idle acceptor for good. No signal ever interrupts an
 * acceptor: a signal landing while libfcgi reads a request's params would
 * make that read fail with EINTR and lose the request. Busy threads finish
 * their request and then see the flag. The listening socket is never shut
 * down or closed: the master and the next generation still accept on it.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "arena.h"
#include "clock.h"
#include "conf.h"
#include "http.h"
#include "log.h"
#include "request.h"
#include "scoreboard.h"
#include "worker.h"

#define WORKER_ARENA_SIZE	16384
#define WORKER_WAIT_MS		100
#define WORKER_WAKE_MS		50
/*
 * A safety net only: a connection wakes one exclusive waiter, but older
 * kernels may count a waiter that was woken and has not run yet, so a
 * second connection arriving then could wait for a busy thread. An idle
 * thread woken by it also sweeps the background queue (jobs whose
 * thread died). Drain writes the eventfd.
 */
#define WORKER_EPOLL_MS		30000
#define WORKER_FAST_EXIT_NS	1000000000ull

struct worker;

struct acceptor {
	struct worker		*w;
	int			 index;
	pthread_t		 tid;
	bool			 started;
	bool			 inited;	/* fr was set up */
	int			 ep;		/* epoll: listener + drain */
	FCGX_Request		 fr;
	struct arena		*arena;
	struct sb_thread	*sb;
};

struct worker {
	const struct worker_ctx	*ctx;
	struct app		 app;
	bool			 app_ok;
	struct acceptor		*acc;
	int			 nacc;
	atomic_int		 live;		/* acceptors still looping */
	atomic_bool		 draining;
	int			 wake_fd;	/* eventfd, written to drain */
	atomic_uint_least64_t	 served;
	uint64_t		 max_requests;	/* jittered; 0: unlimited */
	struct sb_proc		*proc;
};

static void
worker_nop(int sig)
{
	(void)sig;
}

/*
 * Post-fork signal set-up. Every signal stays blocked in this thread (the
 * master blocked them around fork) and the acceptors inherit that mask.
 * Our own handlers go in before FCGX_Init, which would otherwise install
 * libfcgi's: its SIGUSR1/SIGTERM handler sets a process-wide "shutdown
 * pending" that makes every later accept fail.
 */
static void
worker_signals(void)
{
	struct sigaction	 sa;
	int			 sigs[] = { SIGCHLD, SIGHUP, SIGINT, SIGQUIT,
				    SIGALRM };
	size_t			 i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	/* Handlers of our own keep FCGX_Init from installing its. */
	sa.sa_handler = worker_nop;
	(void)sigaction(SIGUSR2, &sa, NULL);
	(void)sigaction(SIGUSR1, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
}

/* max_requests +-10 %, so workers started together do not recycle together. */
static uint64_t
worker_jitter(int max_requests)
{
	uint64_t	 m, r;

	if (max_requests <= 0)
		return 0;
	m = (uint64_t)max_requests;
	r = clock_now_ns() ^ ((uint64_t)getpid() * 0x9e3779b97f4a7c15ull);
	r ^= r >> 29;
	r *= 0xbf58476d1ce4e5b9ull;
	r ^= r >> 32;
	m = m - m / 10 + r % (m / 5 + 1);
	return m > 0 ? m : 1;
}

static void
worker_start_drain(struct worker *w)
{
	uint64_t	 one = 1;

	if (atomic_exchange(&w->draining, true))
		return;
	atomic_store_explicit(&w->proc->state, SB_P_DRAINING,
	    memory_order_release);
	/* Level-triggered and never read: every idle acceptor wakes. */
	if (w->wake_fd != -1 && write(w->wake_fd, &one, sizeof(one)) == -1)
		log_warn("drain eventfd");
}

/*
 * Background work (app_background), after an answer or in an idle
 * moment. The slot shows a request of its own, started now and waiting
 * on the model, so the slow log leaves it alone and the watchdog bounds
 * it as it bounds a turn (the run is bounded by llm_timeout). A drain
 * does not wait for it any longer than for a request: a job cut short is
 * leased, not lost, and is taken again when its lease runs out.
 */
static void
acceptor_background(struct acceptor *ac)
{
	struct worker	*w = ac->w;

	if (atomic_load(&w->draining))
		return;
	atomic_store(&ac->sb->start_ns, clock_now_ns());
	atomic_store(&ac->sb->route, -1);
	ac->sb->request_id[0] = '\0';
	atomic_store_explicit(&ac->sb->state, SB_T_UPSTREAM,
	    memory_order_release);
	(void)app_background(&w->app, ac->arena);
	arena_reset(ac->arena);
}

/* Answers without app_handle when even the request could not be built. */
static void
worker_fail(FCGX_Request *fr)
{
	static const char resp[] = "Status: 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\n\r\n"
	    "{\"error\":{\"code\":\"internal\",\"message\":"
	    "\"out of memory\"}}\n";

	(void)FCGX_PutStr(resp, (int)sizeof(resp) - 1, fr->out);
}

static void
acceptor_serve(struct acceptor *ac)
{
	struct worker		*w = ac->w;
	struct http_request	 req;
	struct http_response	 resp;
	struct request_io	 io = { &ac->fr, false };
	enum app_err		 rc;
	uint64_t		 n;

	memset(&req, 0, sizeof(req));
	req.start_ns = clock_now_ns();
	atomic_store(&ac->sb->start_ns, req.start_ns);
	atomic_store(&ac->sb->route, -1);
	/* app_handle writes the id and route once it knows them. */
	ac->sb->request_id[0] = '\0';
	atomic_store_explicit(&ac->sb->state, SB_T_READING,
	    memory_order_release);
	req.app = &w->app;
	req.slot = ac->index;
	rc = request_fill(&req, ac->arena, &ac->fr, w->ctx->conf);
	if (rc == APP_OK) {
		atomic_store_explicit(&ac->sb->state, SB_T_HANDLER,
		    memory_order_release);
		http_response_init(&resp, &req, &request_transport, &io);
		app_handle(&w->app, &req, &resp);
	} else if (rc != APP_EHUP)
		worker_fail(&ac->fr);
	FCGX_Finish_r(&ac->fr);
	log_set_request_id(NULL);
	arena_reset(ac->arena);
	atomic_fetch_add(&ac->sb->requests, 1);
	atomic_fetch_add(&w->proc->requests, 1);
	n = atomic_fetch_add(&w->served, 1) + 1;
	if (w->max_requests != 0 && n >= w->max_requests &&
	    !atomic_load(&w->draining)) {
		log_info("served %llu requests: recycling",
		    (unsigned long long)n);
		worker_start_drain(w);
	}
	/* The client has its whole answer: FCGX_Finish_r closed it. */
	if (req.background)
		acceptor_background(ac);
}

/*
 * Moves this thread to the back of the listening socket's wait queue.
 * EPOLLEXCLUSIVE wakes the first idle waiter in that queue, and the queue
 * keeps registration order: without this, the threads of the first worker
 * would take every connection whenever few are open at once, and a
 * per-worker limit (the password gate, the database pool) would cap the
 * whole pool while the other workers idle. Re-registering after each
 * request makes the least recently busy thread, in any worker, the next.
 */
static void
acceptor_requeue(struct acceptor *ac)
{
	struct epoll_event	 ev;
	int			 fd = ac->w->ctx->listen_fd;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if (epoll_ctl(ac->ep, EPOLL_CTL_DEL, fd, NULL) == -1 ||
	    epoll_ctl(ac->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		log_warn("acceptor: epoll_ctl");
}

static void *
acceptor_main(void *arg)
{
	struct acceptor		*ac = arg;
	struct worker		*w = ac->w;
	struct timespec		 pause = { 0, 100 * 1000000L };
	struct epoll_event	 ev[2];
	bool			 served = false;
	int			 rc, nev;

	while (!atomic_load(&w->draining)) {
		atomic_store_explicit(&ac->sb->state, SB_T_IDLE,
		    memory_order_release);
		if ((rc = FCGX_Accept_r(&ac->fr)) >= 0) {
			acceptor_serve(ac);
			served = true;
			continue;
		}
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR) {
			/*
			 * Nothing to take: sleep until a connection or drain,
			 * at the back of the queue if we served since the last
			 * sleep. Under load a thread takes the next connection
			 * without sleeping, and the queue is left alone.
			 */
			if (served)
				acceptor_requeue(ac);
			served = false;
			nev = epoll_wait(ac->ep, ev, 2, WORKER_EPOLL_MS);
			if (nev == -1 && errno != EINTR) {
				log_warn("epoll_wait");
				(void)nanosleep(&pause, NULL);
			} else if (nev == 0 && ac->index == 0)
				/* One sweeper per worker is plenty, and
				 * with PostgreSQL down, one warning. */
				acceptor_background(ac);
			continue;
		}
		/* EMFILE and friends: do not spin. */
		log_warnx("accept: %s", rc > -1000 ? strerror(-rc) :
		    "libfcgi error");
		(void)nanosleep(&pause, NULL);
	}
	atomic_store_explicit(&ac->sb->state, SB_T_EMPTY,
	    memory_order_release);
	atomic_fetch_sub(&w->live, 1);
	return NULL;
}

/* An epoll set of the listening socket and the drain eventfd. */
static int
acceptor_epoll(const struct worker *w)
{
	struct epoll_event	 ev;
	int			 ep;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, w->ctx->listen_fd, &ev) == -1)
		goto fail;
	ev.events = EPOLLIN;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, w->wake_fd, &ev) == -1)
		goto fail;
	return ep;
fail:
	close(ep);
	return -1;
}

/* Creates the acceptors; -1 if not even one could start. */
static int
worker_start(struct worker *w)
{
	struct acceptor	*ac;
	int		 i, err, fl;

	/* Shared with every process; all of them wait in epoll first. */
	if ((fl = fcntl(w->ctx->listen_fd, F_GETFL)) == -1 ||
	    fcntl(w->ctx->listen_fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_warn("listening socket");
		return -1;
	}
	if ((w->wake_fd = eventfd(0, EFD_CLOEXEC)) == -1) {
		log_warn("eventfd");
		return -1;
	}

	if ((w->acc = calloc((size_t)w->ctx->sb->nthreads,
	    sizeof(*w->acc))) == NULL) {
		log_warn("acceptors");
		return -1;
	}
	w->nacc = w->ctx->sb->nthreads;
	for (i = 0; i < w->nacc; i++)
		w->acc[i].ep = -1;
	for (i = 0; i < w->nacc; i++) {
		ac = &w->acc[i];
		ac->w = w;
		ac->index = i;
		ac->sb = scoreboard_thread(w->ctx->sb, w->ctx->slot, i);
		if ((ac->ep = acceptor_epoll(w)) == -1) {
			log_warn("acceptor %d: epoll", i);
			return i > 0 ? 0 : -1;
		}
		if (FCGX_InitRequest(&ac->fr, w->ctx->listen_fd, 0) != 0)
			return i > 0 ? 0 : -1;
		ac->inited = true;
		if ((ac->arena = arena_create(WORKER_ARENA_SIZE)) == NULL) {
			log_warnx("acceptor %d: out of memory", i);
			return i > 0 ? 0 : -1;
		}
		atomic_fetch_add(&w->live, 1);
		if ((err = pthread_create(&ac->tid, NULL, acceptor_main,
		    ac)) != 0) {
			atomic_fetch_sub(&w->live, 1);
			log_warnx("pthread_create: %s", strerror(err));
			return i > 0 ? 0 : -1;
		}
		ac->started = true;
	}
	return 0;
}

/*
 * Waits for a signal or a self-initiated drain (max_requests). Returns
 * true for a fast exit (SIGTERM/SIGINT), false for a graceful one.
 */
static bool
worker_wait(struct worker *w, const sigset_t *set)
{
	struct timespec	 ts = { 0, WORKER_WAIT_MS * 1000000L };
	int		 sig;

	while (!atomic_load(&w->draining)) {
		sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGUSR1) {
			if (log_reopen() == -1)
				log_warn("reopening logs");
		} else if (sig == SIGQUIT) {
			return false;
		} else if (sig == SIGTERM || sig == SIGINT)
			return true;
	}
	return false;
}

/*
 * Waits until every acceptor has left (idle ones were woken by the
 * eventfd); a fast exit gives the busy ones a second, then goes without
 * them.
 */
static void
worker_drain(struct worker *w, const sigset_t *set, bool fast)
{
	struct timespec	 ts = { 0, WORKER_WAKE_MS * 1000000L };
	uint64_t	 t0 = clock_now_ns();
	int		 sig;

	worker_start_drain(w);
	log_info("draining (%s)", fast ? "fast" : "graceful");
	while (atomic_load(&w->live) > 0) {
		sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			fast = true;
		else if (sig == SIGUSR1 && log_reopen() == -1)
			log_warn("reopening logs");
		if (fast && clock_now_ns() - t0 > WORKER_FAST_EXIT_NS) {
			log_warnx("exiting with requests in flight");
			_exit(WORKER_EXIT_OK);
		}
	}
}

static void
worker_cleanup(struct worker *w)
{
	int	 i;

	for (i = 0; i < w->nacc; i++) {
		if (w->acc[i].started)
			(void)pthread_join(w->acc[i].tid, NULL);
		/* Closes a kept-alive connection; ipcFd is -1 otherwise. */
		if (w->acc[i].inited)
			FCGX_Free(&w->acc[i].fr, 1);
		arena_destroy(w->acc[i].arena);
		if (w->acc[i].ep != -1)
			close(w->acc[i].ep);
	}
	free(w->acc);
	if (w->wake_fd != -1)
		close(w->wake_fd);
	if (w->app_ok)
		app_free(&w->app);
}

void
worker_main(const struct worker_ctx *ctx)
{
	struct worker	 w;
	sigset_t	 set;
	enum app_err	 e;
	int		 code = WORKER_EXIT_FATAL;
	bool		 fast;

	memset(&w, 0, sizeof(w));
	w.wake_fd = -1;
	sigemptyset(&set);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	w.ctx = ctx;
	w.proc = scoreboard_proc(ctx->sb, ctx->slot);
	atomic_store(&w.proc->pid, (int)getpid());
	worker_signals();
	/* If the master dies, drain rather than serve unsupervised. */
	if (prctl(PR_SET_PDEATHSIG, SIGQUIT) == -1 ||
	    getppid() != ctx->master_pid)
		goto out;
	w.max_requests = worker_jitter(ctx->conf->max_requests);
	/* Out of memory or descriptors passes; a bad setting does not. */
	code = WORKER_EXIT_ERROR;
	if (FCGX_Init() != 0) {
		log_warnx("FCGX_Init failed");
		goto out;
	}
	if ((e = app_init(&w.app, ctx->conf, ctx->sb, ctx->slot,
	    ctx->generation)) != APP_OK) {
		log_warnx("cannot initialise the application: %s",
		    app_strerror(e));
		if (e != APP_ENOMEM)
			code = WORKER_EXIT_FATAL;
		goto out;
	}
	w.app_ok = true;
	if (worker_start(&w) == -1) {
		worker_drain(&w, &set, true);
		goto out;
	}
	atomic_store_explicit(&w.proc->state, SB_P_RUNNING,
	    memory_order_release);
	log_debug("worker running: generation %d, %d threads",
	    ctx->generation, w.nacc);
	fast = worker_wait(&w, &set);
	worker_drain(&w, &set, fast);
	code = WORKER_EXIT_OK;
out:
	worker_cleanup(&w);
	exit(code);
}
