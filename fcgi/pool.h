/*
 * pool.h: the supervisor's policy, as a pure function.
 *
 * pool_decide() looks at the configuration numbers, a snapshot of every
 * worker the master knows (and of its threads, from the scoreboard) and
 * the time, and says what to do: spawn, SIGQUIT, SIGTERM, SIGKILL, log.
 * It makes no system call, so every rule has a table-driven unit test
 * (t/unit/test_pool.c); master.c forks, signals and logs.
 */
#ifndef QUIPU_POOL_H
#define QUIPU_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_NS_PER_SEC		1000000000ull
#define POOL_NS_PER_MS		1000000ull
/* Respawn back-off after a crash: 100 ms, doubling, at most 30 s. */
#define POOL_BACKOFF_MIN_NS	(100 * POOL_NS_PER_MS)
#define POOL_BACKOFF_MAX_NS	(30 * POOL_NS_PER_SEC)
/* A crash after this long is an accident, not a loop: reset the delay. */
#define POOL_BACKOFF_RESET_NS	(30 * POOL_NS_PER_SEC)
/* A worker dying sooner than this after its start is a crash loop. */
#define POOL_EARLY_DEATH_NS	(1 * POOL_NS_PER_SEC)
/* Grace beyond request_timeout before a stuck worker is killed. */
#define POOL_TIMEOUT_GRACE_NS	(5 * POOL_NS_PER_SEC)
/* After SIGTERM (immediate stop), SIGKILL this much later. */
#define POOL_TERM_GRACE_NS	(2 * POOL_NS_PER_SEC)

/* The numbers of the configuration the policy needs, in seconds. */
struct pool_conf {
	int	 workers;		/* wanted per generation */
	int	 shutdown_timeout;
	int	 request_timeout;	/* 0: no watchdog */
	int	 slow_request_timeout;	/* 0: no slow log */
};

/* What the policy needs to know about one acceptor thread. */
struct pool_thread {
	bool	 busy;			/* between accept and finish */
	bool	 waiting;		/* on the model, or streaming: slow by nature */
	uint64_t start_ns;		/* of the current request */
	uint64_t slow_logged_ns;	/* start_ns of the request last logged */
};

enum pool_wstate {
	POOL_W_STARTING,		/* forked, not accepting yet */
	POOL_W_RUNNING,
	POOL_W_DRAINING			/* finishing its requests, then exits */
};

struct pool_worker {
	bool			 alive;		/* false: unused entry */
	int			 generation;
	enum pool_wstate	 state;
	uint64_t		 started_ns;
	uint64_t		 quit_ns;	/* SIGQUIT sent at, 0: not */
	uint64_t		 term_ns;	/* SIGTERM sent at, 0: not */
	bool			 killed;	/* SIGKILL sent */
	const struct pool_thread *threads;	/* nthreads of them */
};

struct pool_input {
	struct pool_conf	 conf;
	uint64_t		 now_ns;
	int			 generation;	/* the current one */
	uint64_t		 generation_ns;	/* when it was started */
	uint64_t		 respawn_at_ns;	/* back-off: no spawn before */
	/* The last generation that had all its workers running, 0: none. */
	int			 ready_generation;
	bool			 crashing;	/* this generation crashed */
	bool			 fatal;		/* a worker exited 2 */
	bool			 stopping;	/* graceful stop */
	bool			 immediate;	/* second TERM/INT */
	const struct pool_worker *workers;
	size_t			 nworkers;
	int			 nthreads;
};

enum pool_act_type {
	POOL_SPAWN,		/* fork `count' workers of the current generation */
	POOL_QUIT,		/* SIGQUIT: drain and exit */
	POOL_TERM,		/* SIGTERM: exit now */
	POOL_KILL,		/* SIGKILL */
	POOL_LOG_SLOW,		/* log `thread' of `worker' as slow (once) */
	POOL_LOG_VICTIM		/* `thread' dies with the killed `worker' */
};

enum pool_reason {
	POOL_R_NONE,
	POOL_R_RELOAD,		/* old generation, new one running */
	POOL_R_RELOAD_TIMEOUT,	/* old generation, new one late */
	POOL_R_STOP,
	POOL_R_SHUTDOWN_TIMEOUT,
	POOL_R_REQUEST_TIMEOUT
};

struct pool_action {
	enum pool_act_type	 type;
	enum pool_reason	 reason;
	int			 worker;	/* index into workers[] */
	int			 thread;
	int			 count;		/* POOL_SPAWN */
};

/*
 * Fills up to `max' actions; returns how many. The order is: watchdog
 * kills (with their victims), slow logs, shutdown kills, stop/reload
 * signals, spawn.
 */
size_t	pool_decide(const struct pool_input *, struct pool_action *out,
	    size_t max);

/* True when the current generation has all its workers RUNNING. */
bool	pool_generation_ready(const struct pool_input *);

enum pool_exit {
	POOL_EXIT_CLEAN,	/* exit 0: a recycle; respawn at once */
	POOL_EXIT_CRASH,	/* a signal or another code: back off */
	POOL_EXIT_FATAL		/* exit 2: do not respawn */
};

/* Classifies a wait status: `exited' (WIFEXITED) and `code'. */
enum pool_exit	pool_exit_classify(bool exited, int code);

struct pool_backoff {
	uint64_t	 delay_ns;	/* the last delay, 0 after a clean exit */
	uint64_t	 next_ns;	/* no respawn before this */
};

/*
 * Updates the back-off after a current-generation worker that lived
 * `lifetime_ns' exited as `how'.
 */
void	pool_backoff_update(struct pool_backoff *, enum pool_exit how,
	    uint64_t lifetime_ns, uint64_t now_ns);

#endif
