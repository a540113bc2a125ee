/*
 * scoreboard.c: the shared-memory scoreboard (see scoreboard.h).
 *
 * Layout of the one anonymous shared mapping, each part aligned to a
 * cache line so that writers in different processes do not share lines
 * needlessly:
 *
 *	[ master_start_ns ][ struct sb_stats ][ proc 0 ][ proc 1 ] ...
 *
 * and a process slot is a struct sb_proc followed by its threads.
 */
#include "config.h"

#include <sys/mman.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "scoreboard.h"

#define SB_ALIGN	64

const uint64_t sb_bucket_us[SB_NBUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 10000000
};

/*
 * Index 0 is "other". 499 is nginx's "client closed request", which
 * app_handle reports when the client left before the answer.
 */
static const int sb_statuses[SB_NSTATUS] = {
	0, 200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405,
	409, 413, 415, 422, 429, 499, 500, 502, 503, 504
};

static size_t
sb_round(size_t n)
{
	return (n + SB_ALIGN - 1) / SB_ALIGN * SB_ALIGN;
}

int
sb_status_index(int status)
{
	int	 i;

	for (i = 1; i < SB_NSTATUS; i++)
		if (sb_statuses[i] == status)
			return i;
	return 0;
}

int
sb_status_value(int index)
{
	if (index <= 0 || index >= SB_NSTATUS)
		return 0;
	return sb_statuses[index];
}

struct scoreboard *
scoreboard_create(int nprocs, int nthreads)
{
	struct scoreboard	*sb = NULL;
	unsigned char		*map;
	size_t			 head, stats;
	int			 p, t;

	if (nprocs < 1 || nthreads < 1) {
		errno = EINVAL;
		return NULL;
	}
	/* Sizes come from the configuration: no product may wrap. */
	if ((size_t)nthreads > (SIZE_MAX / 2) / sizeof(struct sb_thread) ||
	    (size_t)nprocs > (SIZE_MAX / 2) / (sizeof(struct sb_proc) +
	    (size_t)nthreads * sizeof(struct sb_thread) + SB_ALIGN)) {
		errno = EOVERFLOW;
		return NULL;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL)
		return NULL;
	sb->nprocs = nprocs;
	sb->nthreads = nthreads;
	sb->proc_size = sb_round(sizeof(struct sb_proc) +
	    (size_t)nthreads * sizeof(struct sb_thread));
	head = sb_round(sizeof(atomic_uint_least64_t));
	stats = sb_round(sizeof(struct sb_stats));
	sb->map_size = head + stats + (size_t)nprocs * sb->proc_size;

	/* Anonymous shared memory is zero-filled: every slot starts FREE. */
	map = mmap(NULL, sb->map_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED) {
		free(sb);
		return NULL;
	}
	sb->master_start_ns = (atomic_uint_least64_t *)map;
	sb->stats = (struct sb_stats *)(map + head);
	sb->procs = map + head + stats;
	atomic_store(sb->master_start_ns, clock_now_ns());
	for (p = 0; p < nprocs; p++)
		for (t = 0; t < nthreads; t++)
			atomic_store(&scoreboard_thread(sb, p, t)->route, -1);
	return sb;
}

void
scoreboard_destroy(struct scoreboard *sb)
{
	if (sb == NULL)
		return;
	/* The mapping came from a successful mmap; munmap cannot fail. */
	(void)munmap(sb->master_start_ns, sb->map_size);
	free(sb);
}

struct sb_proc *
scoreboard_proc(struct scoreboard *sb, int slot)
{
	if (slot < 0 || slot >= sb->nprocs)
		return NULL;
	return (struct sb_proc *)(sb->procs + (size_t)slot * sb->proc_size);
}

struct sb_thread *
scoreboard_thread(struct scoreboard *sb, int slot, int thread)
{
	unsigned char	*p;

	if (slot < 0 || slot >= sb->nprocs ||
	    thread < 0 || thread >= sb->nthreads)
		return NULL;
	p = sb->procs + (size_t)slot * sb->proc_size + sizeof(struct sb_proc);
	return (struct sb_thread *)p + thread;
}

/* Resets a free slot's fields before it is handed to a new process. */
static void
sb_proc_reset(struct scoreboard *sb, int slot, int generation)
{
	struct sb_proc		*pr = scoreboard_proc(sb, slot);
	struct sb_thread	*th;
	int			 t;

	atomic_store(&pr->pid, 0);
	atomic_store(&pr->generation, generation);
	atomic_store(&pr->started_ns, clock_now_ns());
	atomic_store(&pr->requests, 0);
	atomic_store(&pr->db.size, 0);
	atomic_store(&pr->db.in_use, 0);
	atomic_store(&pr->db.acquires, 0);
	atomic_store(&pr->db.waits, 0);
	atomic_store(&pr->db.wait_us, 0);
	atomic_store(&pr->db.errors, 0);
	for (t = 0; t < sb->nthreads; t++) {
		th = scoreboard_thread(sb, slot, t);
		atomic_store(&th->state, SB_T_EMPTY);
		atomic_store(&th->route, -1);
		atomic_store(&th->start_ns, 0);
		atomic_store(&th->requests, 0);
		memset(th->request_id, 0, sizeof(th->request_id));
	}
}

int
scoreboard_proc_claim(struct scoreboard *sb, int generation)
{
	struct sb_proc	*pr;
	int		 slot;

	/* Only the master claims, so a plain scan cannot race another claim. */
	for (slot = 0; slot < sb->nprocs; slot++) {
		pr = scoreboard_proc(sb, slot);
		if (atomic_load(&pr->state) != SB_P_FREE)
			continue;
		sb_proc_reset(sb, slot, generation);
		atomic_store_explicit(&pr->state, SB_P_STARTING,
		    memory_order_release);
		return slot;
	}
	return -1;
}

void
scoreboard_proc_release(struct scoreboard *sb, int slot)
{
	struct sb_proc	*pr;

	if ((pr = scoreboard_proc(sb, slot)) == NULL)
		return;
	atomic_store(&pr->pid, 0);
	atomic_store_explicit(&pr->state, SB_P_FREE, memory_order_release);
}

void
scoreboard_threads(struct scoreboard *sb, int *busy, int *idle)
{
	struct sb_thread	*th;
	int			 p, t, st;

	*busy = *idle = 0;
	for (p = 0; p < sb->nprocs; p++) {
		if (atomic_load(&scoreboard_proc(sb, p)->state) == SB_P_FREE)
			continue;
		for (t = 0; t < sb->nthreads; t++) {
			th = scoreboard_thread(sb, p, t);
			st = atomic_load_explicit(&th->state,
			    memory_order_acquire);
			if (st == SB_T_IDLE)
				(*idle)++;
			else if (st > SB_T_IDLE && st < SB_T__MAX)
				(*busy)++;
		}
	}
}

uint64_t
scoreboard_requests(struct scoreboard *sb)
{
	struct sb_route_stats	*rs;
	uint64_t		 n = 0;
	int			 r, i;

	for (r = 0; r < SB_MAX_ROUTES; r++) {
		rs = &sb->stats->routes[r];
		for (i = 0; i < SB_NSTATUS; i++)
			n += atomic_load_explicit(&rs->by_status[i],
			    memory_order_relaxed);
	}
	return n;
}

void
scoreboard_count(struct scoreboard *sb, int route, int status,
    uint64_t duration_us)
{
	struct sb_route_stats	*rs;
	int			 b;

	if (sb == NULL)
		return;
	if (route < 0 || route >= SB_MAX_ROUTES)
		route = SB_ROUTE_UNMATCHED;
	rs = &sb->stats->routes[route];
	atomic_fetch_add_explicit(&rs->by_status[sb_status_index(status)], 1,
	    memory_order_relaxed);
	for (b = 0; b < SB_NBUCKETS; b++)
		if (duration_us <= sb_bucket_us[b])
			break;
	atomic_fetch_add_explicit(&rs->latency[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&rs->latency_sum_us, duration_us,
	    memory_order_relaxed);
}
