/*
 * scoreboard.h: shared memory that the master and all workers see.
 *
 * The master maps it (anonymous, MAP_SHARED) before forking. It holds one
 * slot per worker process and one sub-slot per acceptor thread (PHP-FPM's
 * scoreboard, done for threads), and the request counters behind
 * /metrics. Every field is a C11 atomic; the owner of a slot writes it,
 * everyone else only reads. Times are CLOCK_MONOTONIC nanoseconds.
 */
#ifndef QUIPU_SCOREBOARD_H
#define QUIPU_SCOREBOARD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "db.h"

#define SB_MAX_ROUTES		128	/* route indexes; the last is "unmatched" */
#define SB_ROUTE_UNMATCHED	(SB_MAX_ROUTES - 1)
#define SB_RID_LEN		48

enum sb_thread_state {
	SB_T_EMPTY = 0,		/* thread not started */
	SB_T_IDLE,		/* blocked in accept */
	SB_T_READING,		/* reading params and body */
	SB_T_HANDLER,		/* running the handler */
	SB_T_DB,		/* waiting on PostgreSQL */
	SB_T_UPSTREAM,		/* waiting on the LLM */
	SB_T_STREAMING,		/* writing an event stream */
	SB_T__MAX
};

enum sb_proc_state {
	SB_P_FREE = 0,
	SB_P_STARTING,		/* forked, not yet accepting */
	SB_P_RUNNING,
	SB_P_DRAINING		/* told to finish and exit */
};

struct sb_thread {
	atomic_int		state;		/* enum sb_thread_state */
	atomic_int		route;		/* route index, -1 none */
	atomic_uint_least64_t	start_ns;	/* request start */
	atomic_uint_least64_t	requests;
	/* Written by the owning thread only; a reader may see a torn id. */
	char			request_id[SB_RID_LEN];
};

struct sb_proc {
	atomic_int		state;		/* enum sb_proc_state */
	atomic_int		pid;
	atomic_int		generation;
	atomic_uint_least64_t	started_ns;
	atomic_uint_least64_t	requests;
	struct db_counters	db;
	/* threads follow: struct sb_thread[nthreads] */
};

/* Latency buckets, upper bounds in microseconds; +Inf is implied. */
#define SB_NBUCKETS	12
extern const uint64_t	sb_bucket_us[SB_NBUCKETS];

/* HTTP statuses counted one by one; the rest fall into "other". */
#define SB_NSTATUS	24
int			 sb_status_index(int status);
/* The status for an index, 0 for "other". */
int			 sb_status_value(int index);

/*
 * latency[i] counts the requests that fell in bucket i alone (above
 * bucket i-1's bound, at most bucket i's): a Prometheus writer adds them
 * up into the cumulative "le" series.
 */
struct sb_route_stats {
	atomic_uint_least64_t	by_status[SB_NSTATUS];
	atomic_uint_least64_t	latency[SB_NBUCKETS + 1];	/* last: +Inf */
	atomic_uint_least64_t	latency_sum_us;
};

struct sb_stats {
	struct sb_route_stats	routes[SB_MAX_ROUTES];
	atomic_uint_least64_t	sse_open;	/* streams open now */
	atomic_uint_least64_t	sse_total;
	atomic_uint_least64_t	slow_requests;
	atomic_uint_least64_t	worker_restarts;
	atomic_uint_least64_t	llm_tokens;
	atomic_uint_least64_t	llm_errors;
};

struct scoreboard {
	int			 nprocs;	/* capacity */
	int			 nthreads;	/* per process */
	size_t			 proc_size;	/* bytes per process slot */
	size_t			 map_size;
	struct sb_stats		*stats;
	unsigned char		*procs;		/* nprocs * proc_size */
	atomic_uint_least64_t	*master_start_ns;
};

/* Maps a scoreboard for `nprocs' processes of `nthreads' threads. */
struct scoreboard	*scoreboard_create(int nprocs, int nthreads);
void			 scoreboard_destroy(struct scoreboard *);

struct sb_proc		*scoreboard_proc(struct scoreboard *, int slot);
struct sb_thread	*scoreboard_thread(struct scoreboard *, int slot,
			    int thread);
/* Master: claims a free process slot (state STARTING), -1 when full. */
int			 scoreboard_proc_claim(struct scoreboard *, int generation);
/* Master: frees a slot after its process was reaped. */
void			 scoreboard_proc_release(struct scoreboard *, int slot);
/*
 * Busy and idle acceptor threads over every live process (for /metrics
 * and /api/v1/health). A thread is busy from accept to finish.
 */
void			 scoreboard_threads(struct scoreboard *, int *busy,
			    int *idle);

/* Requests answered since start, over every route and status. */
uint64_t		 scoreboard_requests(struct scoreboard *);

/*
 * Worker: count one finished request. A route outside 0..SB_MAX_ROUTES-1
 * (-1: nothing matched) is counted as SB_ROUTE_UNMATCHED.
 */
void			 scoreboard_count(struct scoreboard *, int route,
			    int status, uint64_t duration_us);


#endif
