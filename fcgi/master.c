/*
 * master.c: the supervisor loop (mechanism; the policy is pool.c).
 *
 * Every signal we handle stays blocked except inside ppoll(), whose mask
 * unblocks them atomically: a signal that arrives while we work is
 * delivered at the next ppoll(), so no wake-up is lost (no pause() race,
 * no self-pipe needed). Handlers only set flags. A 100 ms tick drives the
 * timers. Each pass: reap, act on the flags, snapshot the scoreboard, ask
 * pool_decide(), apply its actions.
 *
 * Reload starts the new generation first and tells the old one to quit
 * only when every new worker reports RUNNING (nginx's overlap, not FPM's
 * stop-then-exec), so no request meets a closed door.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "master.h"
#include "notify.h"
#include "pool.h"
#include "router.h"
#include "scoreboard.h"
#include "worker.h"

#define MASTER_TICK_NS	(100 * 1000000L)
/* systemctl status shows a STATUS= line refreshed this often (FPM). */
#define MASTER_STATUS_NS	(10 * 1000000000ull)

/* What the master remembers of a worker, indexed by scoreboard slot. */
struct master_worker {
	pid_t		 pid;		/* 0: slot unused */
	int		 generation;
	uint64_t	 started_ns;
	uint64_t	 quit_ns;
	uint64_t	 term_ns;
	bool		 killed;
};

struct master {
	const struct master_opts *o;
	struct conf		*conf;
	struct scoreboard	*sb;
	int			 nprocs, nthreads;
	int			 workers;	/* per generation */
	struct master_worker	*w;
	struct pool_thread	*threads;	/* nprocs * nthreads */
	struct pool_worker	*pw;		/* the snapshot */
	struct pool_action	*acts;
	size_t			 nacts;
	int			 generation;
	uint64_t		 generation_ns;
	int			 ready_generation; /* last fully up, 0: none */
	struct pool_backoff	 backoff;
	bool			 fatal, stopping, immediate, ready_sent;
	bool			 full_logged;	/* "scoreboard full" said */
	pid_t			 pid;
	uint64_t		 watchdog_ns;	/* WATCHDOG=1 period, 0: off */
	uint64_t		 watchdog_next_ns, status_next_ns;
};

static volatile sig_atomic_t	got_term, got_quit, got_hup, got_usr1;

static const int master_sigs[] = {
	SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2
};
#define MASTER_NSIGS	(sizeof(master_sigs) / sizeof(master_sigs[0]))

static void
master_sighandler(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		got_term++;
		break;
	case SIGQUIT:
		got_quit = 1;
		break;
	case SIGHUP:
	case SIGUSR2:
		got_hup = 1;
		break;
	case SIGUSR1:
		got_usr1 = 1;
		break;
	default:
		/* SIGCHLD: only to wake ppoll(); reaping is in the loop. */
		break;
	}
}

/* Blocks our signals, installs the handlers; `wait' gets the ppoll mask. */
static int
master_signals(sigset_t *wait)
{
	struct sigaction	 sa;
	sigset_t		 set;
	size_t			 i;

	sigemptyset(&set);
	for (i = 0; i < MASTER_NSIGS; i++)
		sigaddset(&set, master_sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, wait) == -1)
		return -1;
	for (i = 0; i < MASTER_NSIGS; i++)
		sigdelset(wait, master_sigs[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_sighandler;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < MASTER_NSIGS; i++)
		if (sigaction(master_sigs[i], &sa, NULL) == -1)
			return -1;
	return 0;
}

static int
master_spawn(struct master *m)
{
	struct worker_ctx	 ctx;
	sigset_t		 all, prev;
	pid_t			 pid;
	int			 slot;

	/* Full while an old generation drains: said once, retried. */
	if ((slot = scoreboard_proc_claim(m->sb, m->generation)) == -1) {
		if (!m->full_logged)
			log_warnx("scoreboard full: a worker will start when "
			    "an old one has exited");
		m->full_logged = true;
		return -1;
	}
	m->full_logged = false;
	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &prev);
	if ((pid = fork()) == 0) {
		ctx.conf = m->conf;
		ctx.sb = m->sb;
		ctx.slot = slot;
		ctx.generation = m->generation;
		ctx.listen_fd = m->o->listen_fd;
		ctx.master_pid = m->pid;
		worker_main(&ctx);
		/* NOTREACHED */
	}
	(void)sigprocmask(SIG_SETMASK, &prev, NULL);
	if (pid == -1) {
		log_warn("fork");
		scoreboard_proc_release(m->sb, slot);
		return -1;
	}
	memset(&m->w[slot], 0, sizeof(m->w[slot]));
	m->w[slot].pid = pid;
	m->w[slot].generation = m->generation;
	m->w[slot].started_ns = clock_now_ns();
	atomic_store(&scoreboard_proc(m->sb, slot)->pid, (int)pid);
	log_debug("started worker %d (generation %d, slot %d)", (int)pid,
	    m->generation, slot);
	return 0;
}

/* Logs a reaped worker and feeds the crash-loop back-off. */
static void
master_exited(struct master *m, struct master_worker *w, int status)
{
	enum pool_exit	 how;
	bool		 exited = WIFEXITED(status);
	int		 code = exited ? WEXITSTATUS(status) : WTERMSIG(status);
	uint64_t	 now = clock_now_ns();
	bool		 ours = w->quit_ns || w->term_ns || w->killed;

	if (exited && code == 0)
		log_info("worker %d (generation %d) exited", (int)w->pid,
		    w->generation);
	else
		log_warnx("worker %d (generation %d) %s %d", (int)w->pid,
		    w->generation, exited ? "exited with code" :
		    "killed by signal", code);
	if (w->generation != m->generation || m->stopping || m->immediate ||
	    w->quit_ns || w->term_ns)
		return;
	atomic_fetch_add(&m->sb->stats->worker_restarts, 1);
	if (ours)
		return;		/* the watchdog killed it: respawn at once */
	how = pool_exit_classify(exited, code);
	if (how == POOL_EXIT_FATAL) {
		log_warnx("worker failed fatally: not respawning");
		m->fatal = true;
	}
	pool_backoff_update(&m->backoff, how, now - w->started_ns, now);
	if (m->backoff.next_ns > now)
		log_warnx("respawning in %llu ms",
		    (unsigned long long)(m->backoff.next_ns - now) / 1000000);
}

static void
master_reap(struct master *m)
{
	pid_t	 pid;
	int	 status, i, t;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < m->nprocs; i++)
			if (m->w[i].pid == pid)
				break;
		if (i == m->nprocs)
			continue;
		master_exited(m, &m->w[i], status);
		scoreboard_proc_release(m->sb, i);
		memset(&m->w[i], 0, sizeof(m->w[i]));
		for (t = 0; t < m->nthreads; t++)
			m->threads[i * m->nthreads + t].slow_logged_ns = 0;
	}
}

static void
master_warn_restart_key(const char *key)
{
	log_warnx("reload: %s needs a restart; keeping the old value", key);
}

/* Re-reads the configuration; the old one stays if the new one fails. */
static void
master_reload(struct master *m)
{
	struct conf	 next;
	enum log_level	 lvl;
	char		 err[512];

	(void)notify_reloading();
	log_info("reloading %s", m->o->conf_path);
	if (conf_load(&next, m->o->conf_path, m->o->conf_must_exist, err,
	    sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		(void)notify_ready();
		return;
	}
	conf_keep_restart_keys(&next, m->conf, master_warn_restart_key);
	if (log_level_parse(next.log_level, &lvl) == 0)
		log_threshold = lvl;
	conf_free(m->conf);
	*m->conf = next;
	m->generation++;
	m->generation_ns = clock_now_ns();
	m->fatal = false;
	m->ready_sent = false;
	memset(&m->backoff, 0, sizeof(m->backoff));
	log_info("starting generation %d", m->generation);
}

static void
master_flags(struct master *m)
{
	int	 i, term = got_term, quit = got_quit;

	/* Our signals are blocked here: nothing can change these meanwhile. */
	got_term = got_quit = 0;
	/* A TERM/INT during a stop (or two at once) means "now". */
	if (term > 0 && (m->stopping || term > 1) && !m->immediate) {
		log_info("immediate stop");
		m->immediate = true;
	}
	if ((term > 0 || quit) && !m->stopping) {
		log_info("graceful stop: waiting up to %d s for requests",
		    m->conf->shutdown_timeout);
		(void)notify_stopping();
		m->stopping = true;
	}
	if (got_hup) {
		got_hup = 0;
		if (!m->stopping)
			master_reload(m);
	}
	if (got_usr1) {
		got_usr1 = 0;
		if (log_reopen() == -1)
			log_warn("reopening logs");
		for (i = 0; i < m->nprocs; i++)
			if (m->w[i].pid > 0)
				(void)kill(m->w[i].pid, SIGUSR1);
	}
}

static void
master_snapshot(struct master *m, struct pool_input *in)
{
	struct pool_worker	*p;
	struct pool_thread	*pt;
	struct sb_thread	*th;
	int			 i, t, st;

	memset(in, 0, sizeof(*in));
	in->conf.workers = m->workers;
	in->conf.shutdown_timeout = m->conf->shutdown_timeout;
	in->conf.request_timeout = m->conf->request_timeout;
	in->conf.slow_request_timeout = m->conf->slow_request_timeout;
	in->now_ns = clock_now_ns();
	in->generation = m->generation;
	in->generation_ns = m->generation_ns;
	in->respawn_at_ns = m->backoff.next_ns;
	in->ready_generation = m->ready_generation;
	in->crashing = m->backoff.delay_ns > 0;
	in->fatal = m->fatal;
	in->stopping = m->stopping;
	in->immediate = m->immediate;
	in->workers = m->pw;
	in->nworkers = (size_t)m->nprocs;
	in->nthreads = m->nthreads;
	for (i = 0; i < m->nprocs; i++) {
		p = &m->pw[i];
		p->alive = m->w[i].pid > 0;
		p->generation = m->w[i].generation;
		st = atomic_load(&scoreboard_proc(m->sb, i)->state);
		p->state = st == SB_P_RUNNING ? POOL_W_RUNNING :
		    st == SB_P_DRAINING ? POOL_W_DRAINING : POOL_W_STARTING;
		p->started_ns = m->w[i].started_ns;
		p->quit_ns = m->w[i].quit_ns;
		p->term_ns = m->w[i].term_ns;
		p->killed = m->w[i].killed;
		p->threads = &m->threads[i * m->nthreads];
		for (t = 0; t < m->nthreads; t++) {
			pt = &m->threads[i * m->nthreads + t];
			th = scoreboard_thread(m->sb, i, t);
			st = atomic_load_explicit(&th->state,
			    memory_order_acquire);
			pt->busy = p->alive && st > SB_T_IDLE && st < SB_T__MAX;
			pt->waiting = st == SB_T_UPSTREAM ||
			    st == SB_T_STREAMING;
			pt->start_ns = atomic_load(&th->start_ns);
		}
	}
}

static const char *const master_states[SB_T__MAX] = {
	"empty", "idle", "reading", "handler", "db", "upstream", "streaming"
};

/* Logs one thread's request for the slow log or as a watchdog victim. */
static void
master_log_request(struct master *m, const struct pool_action *a,
    const char *what)
{
	struct sb_thread	*th = scoreboard_thread(m->sb, a->worker,
				    a->thread);
	struct pool_thread	*pt = &m->threads[a->worker * m->nthreads +
				    a->thread];
	char			 rid[SB_RID_LEN];
	int			 route, state;

	memcpy(rid, th->request_id, sizeof(rid));
	rid[sizeof(rid) - 1] = '\0';
	route = atomic_load(&th->route);
	state = atomic_load(&th->state);
	log_warnx("%s: worker %d thread %d request %s route %s state %s "
	    "running %llu ms", what, (int)m->w[a->worker].pid, a->thread,
	    rid[0] ? rid : "-", route >= 0 && (size_t)route < app_nroutes ?
	    app_routes[route].name : "-", state >= 0 && state < SB_T__MAX ?
	    master_states[state] : "?", (unsigned long long)
	    ((clock_now_ns() - pt->start_ns) / 1000000));
	if (a->type == POOL_LOG_SLOW) {
		pt->slow_logged_ns = pt->start_ns;
		atomic_fetch_add(&m->sb->stats->slow_requests, 1);
	}
}

static void
master_signal(struct master *m, const struct pool_action *a)
{
	struct master_worker	*w = &m->w[a->worker];
	uint64_t		 now = clock_now_ns();

	/* kill(0) or kill(-1) would hit far more than one worker. */
	if (w->pid <= 0)
		return;
	switch (a->type) {
	case POOL_QUIT:
		log_debug("SIGQUIT to worker %d (generation %d, reason %d)",
		    (int)w->pid, w->generation, (int)a->reason);
		if (a->reason == POOL_R_RELOAD_TIMEOUT)
			log_warnx("generation %d is not up yet; retiring "
			    "worker %d anyway", m->generation, (int)w->pid);
		w->quit_ns = now;
		(void)kill(w->pid, SIGQUIT);
		break;
	case POOL_TERM:
		w->term_ns = now;
		(void)kill(w->pid, SIGTERM);
		break;
	default:
		log_warnx("killing worker %d: %s", (int)w->pid,
		    a->reason == POOL_R_REQUEST_TIMEOUT ? "request timeout" :
		    "shutdown timeout");
		w->killed = true;
		(void)kill(w->pid, SIGKILL);
		break;
	}
}

static int
master_alive(const struct master *m)
{
	int	 i, n = 0;

	for (i = 0; i < m->nprocs; i++)
		if (m->w[i].pid > 0)
			n++;
	return n;
}

/*
 * READY=1 once the current generation is up. After RELOADING=1, systemd
 * waits for READY=1, so a reload whose generation failed (fatally, or
 * not up within shutdown_timeout) sends it too: the old one serves.
 */
static void
master_ready(struct master *m, const struct pool_input *in)
{
	bool	 up = pool_generation_ready(in);

	if (up)
		m->ready_generation = m->generation;
	if (m->ready_sent || m->stopping)
		return;
	if (up)
		log_info("generation %d ready: %d workers of %d threads",
		    m->generation, m->workers, m->nthreads);
	else if (m->generation > 1 && (m->fatal || in->now_ns -
	    m->generation_ns >= (uint64_t)m->conf->shutdown_timeout *
	    POOL_NS_PER_SEC))
		log_warnx("generation %d is not up; generation %d keeps "
		    "serving", m->generation, m->ready_generation);
	else
		return;
	m->ready_sent = true;
	(void)notify_ready();
	m->status_next_ns = 0;	/* a fresh STATUS= line now */
}

/* STATUS= every 10 s and WATCHDOG=1 every half interval, from the loop. */
static void
master_heartbeat(struct master *m)
{
	uint64_t	 now = clock_now_ns();
	int		 busy, idle;

	if (m->watchdog_ns != 0 && now >= m->watchdog_next_ns) {
		(void)notify_watchdog();
		m->watchdog_next_ns = now + m->watchdog_ns / 2;
	}
	if (now < m->status_next_ns)
		return;
	m->status_next_ns = now + MASTER_STATUS_NS;
	scoreboard_threads(m->sb, &busy, &idle);
	(void)notify_status("generation %d, workers %d, acceptors busy %d "
	    "idle %d, requests %llu%s", m->generation, master_alive(m),
	    busy, idle, (unsigned long long)scoreboard_requests(m->sb),
	    m->stopping ? ", stopping" : "");
}

static void
master_tick(struct master *m)
{
	struct pool_input	 in;
	size_t			 i, n;
	int			 k;

	master_snapshot(m, &in);
	n = pool_decide(&in, m->acts, m->nacts);
	for (i = 0; i < n; i++) {
		switch (m->acts[i].type) {
		case POOL_SPAWN:
			for (k = 0; k < m->acts[i].count; k++)
				if (master_spawn(m) == -1)
					break;
			break;
		case POOL_LOG_SLOW:
			master_log_request(m, &m->acts[i], "slow request");
			break;
		case POOL_LOG_VICTIM:
			master_log_request(m, &m->acts[i], "request killed");
			break;
		default:
			master_signal(m, &m->acts[i]);
			break;
		}
	}
	master_ready(m, &in);
}

static int
master_alloc(struct master *m, const struct master_opts *o)
{
	memset(m, 0, sizeof(*m));
	m->o = o;
	m->conf = o->conf;
	m->sb = o->sb;
	m->nprocs = o->sb->nprocs;
	m->nthreads = o->sb->nthreads;
	m->workers = o->workers;
	m->watchdog_ns = notify_watchdog_usec() * 1000;
	m->pid = getpid();
	m->generation = 1;
	m->generation_ns = clock_now_ns();
	/* Per worker: a kill, its victims, a slow log each, a signal. */
	m->nacts = (size_t)m->nprocs * (2 * (size_t)m->nthreads + 3) + 1;
	m->w = calloc((size_t)m->nprocs, sizeof(*m->w));
	m->pw = calloc((size_t)m->nprocs, sizeof(*m->pw));
	m->threads = calloc((size_t)m->nprocs * (size_t)m->nthreads,
	    sizeof(*m->threads));
	m->acts = calloc(m->nacts, sizeof(*m->acts));
	if (m->w == NULL || m->pw == NULL || m->threads == NULL ||
	    m->acts == NULL)
		return -1;
	return 0;
}

static void
master_free(struct master *m)
{
	free(m->w);
	free(m->pw);
	free(m->threads);
	free(m->acts);
}

int
master_run(const struct master_opts *o)
{
	struct master	 m;
	struct timespec	 tick = { 0, MASTER_TICK_NS };
	sigset_t	 wait;
	int		 rc = 1;

	if (master_alloc(&m, o) == -1) {
		log_warn("master");
		goto out;
	}
	if (master_signals(&wait) == -1) {
		log_warn("signals");
		goto out;
	}
	log_info("master %d: %d workers of %d threads%s", (int)m.pid,
	    m.workers, m.nthreads, m.watchdog_ns ? ", systemd watchdog" :
	    "");
	for (;;) {
		master_reap(&m);
		master_flags(&m);
		master_tick(&m);
		master_heartbeat(&m);
		if ((m.stopping || m.immediate) && master_alive(&m) == 0) {
			rc = 0;
			break;
		}
		if (m.fatal && master_alive(&m) == 0) {
			log_warnx("no worker left after a fatal error");
			break;
		}
		if (ppoll(NULL, 0, &tick, &wait) == -1 && errno != EINTR) {
			log_warn("ppoll");
			break;
		}
	}
	log_info("master exiting");
out:
	master_free(&m);
	return rc;
}
