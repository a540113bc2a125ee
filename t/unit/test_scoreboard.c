/*
 * test_scoreboard.c: layout, slot claim/release, counting, sharing
 * across fork.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "scoreboard.h"

static void
test_layout(void **state)
{
	struct scoreboard	*sb = scoreboard_create(4, 3);
	struct sb_thread	*a, *b;
	int			 p, t;

	assert_non_null(sb);
	assert_int_equal(sb->nprocs, 4);
	assert_int_equal(sb->nthreads, 3);
	/* Every sub-slot is distinct, inside the map, and starts empty. */
	for (p = 0; p < 4; p++) {
		assert_int_equal(atomic_load(&scoreboard_proc(sb, p)->state),
		    SB_P_FREE);
		for (t = 0; t < 3; t++) {
			a = scoreboard_thread(sb, p, t);
			assert_non_null(a);
			assert_int_equal(atomic_load(&a->state), SB_T_EMPTY);
			assert_int_equal(atomic_load(&a->route), -1);
			assert_true((unsigned char *)(a + 1) <=
			    (unsigned char *)sb->master_start_ns + sb->map_size);
		}
	}
	a = scoreboard_thread(sb, 0, 2);
	b = scoreboard_thread(sb, 1, 0);
	assert_true((unsigned char *)(a + 1) <= (unsigned char *)b);
	assert_null(scoreboard_proc(sb, 4));
	assert_null(scoreboard_proc(sb, -1));
	assert_null(scoreboard_thread(sb, 0, 3));
	assert_null(scoreboard_create(0, 1));
	scoreboard_destroy(sb);
	scoreboard_destroy(NULL);
}

static void
test_claim_release(void **state)
{
	struct scoreboard	*sb = scoreboard_create(2, 1);
	struct sb_thread	*th;

	assert_non_null(sb);
	assert_int_equal(scoreboard_proc_claim(sb, 1), 0);
	assert_int_equal(scoreboard_proc_claim(sb, 1), 1);
	assert_int_equal(scoreboard_proc_claim(sb, 1), -1);
	assert_int_equal(atomic_load(&scoreboard_proc(sb, 1)->state),
	    SB_P_STARTING);
	assert_int_equal(atomic_load(&scoreboard_proc(sb, 1)->generation), 1);

	/* A reused slot forgets its previous owner. */
	th = scoreboard_thread(sb, 0, 0);
	atomic_store(&th->state, SB_T_HANDLER);
	atomic_store(&th->requests, 7);
	strcpy(th->request_id, "abc");
	atomic_store(&scoreboard_proc(sb, 0)->requests, 9);
	scoreboard_proc_release(sb, 0);
	assert_int_equal(atomic_load(&scoreboard_proc(sb, 0)->state),
	    SB_P_FREE);
	assert_int_equal(scoreboard_proc_claim(sb, 2), 0);
	assert_int_equal(atomic_load(&th->state), SB_T_EMPTY);
	assert_int_equal(atomic_load(&th->requests), 0);
	assert_string_equal(th->request_id, "");
	assert_int_equal(atomic_load(&scoreboard_proc(sb, 0)->requests), 0);
	assert_int_equal(atomic_load(&scoreboard_proc(sb, 0)->generation), 2);
	scoreboard_proc_release(sb, 99);	/* ignored */
	scoreboard_destroy(sb);
}

static void
test_status_index(void **state)
{
	static const int counted[] = { 200, 201, 202, 204, 206, 301, 302, 304,
	    400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 499, 500, 502,
	    503, 504 };
	size_t	 i;
	int	 seen[SB_NSTATUS] = { 0 };
	int	 ix;

	for (i = 0; i < sizeof(counted) / sizeof(counted[0]); i++) {
		ix = sb_status_index(counted[i]);
		assert_true(ix > 0 && ix < SB_NSTATUS);
		assert_int_equal(seen[ix], 0);
		seen[ix] = 1;
		assert_int_equal(sb_status_value(ix), counted[i]);
	}
	assert_int_equal(sb_status_index(418), 0);
	assert_int_equal(sb_status_index(0), 0);
	assert_int_equal(sb_status_index(-1), 0);
	assert_int_equal(sb_status_value(0), 0);
	assert_int_equal(sb_status_value(SB_NSTATUS), 0);
	assert_int_equal(sb_status_value(-3), 0);
}

static void
test_count(void **state)
{
	struct scoreboard	*sb = scoreboard_create(1, 1);
	struct sb_route_stats	*rs;
	int			 b;

	assert_non_null(sb);
	scoreboard_count(sb, 3, 200, 0);
	scoreboard_count(sb, 3, 200, 1000);	/* on the bound: first bucket */
	scoreboard_count(sb, 3, 404, 1001);
	scoreboard_count(sb, 3, 418, 20000000);	/* +Inf, "other" */
	rs = &sb->stats->routes[3];
	assert_int_equal(atomic_load(&rs->by_status[sb_status_index(200)]), 2);
	assert_int_equal(atomic_load(&rs->by_status[sb_status_index(404)]), 1);
	assert_int_equal(atomic_load(&rs->by_status[0]), 1);
	assert_int_equal(atomic_load(&rs->latency[0]), 2);
	assert_int_equal(atomic_load(&rs->latency[1]), 1);
	assert_int_equal(atomic_load(&rs->latency[SB_NBUCKETS]), 1);
	assert_int_equal(atomic_load(&rs->latency_sum_us), 20002001);
	for (b = 1; b < SB_NBUCKETS; b++)
		assert_true(sb_bucket_us[b] > sb_bucket_us[b - 1]);

	/* Out-of-range routes land on "unmatched". */
	scoreboard_count(sb, -1, 404, 5);
	scoreboard_count(sb, SB_MAX_ROUTES, 404, 5);
	scoreboard_count(sb, 100000, 404, 5);
	rs = &sb->stats->routes[SB_ROUTE_UNMATCHED];
	assert_int_equal(atomic_load(&rs->by_status[sb_status_index(404)]), 3);
	scoreboard_count(NULL, 1, 200, 1);	/* ignored */
	scoreboard_destroy(sb);
}

static void
test_threads_busy_idle(void **state)
{
	struct scoreboard	*sb = scoreboard_create(3, 2);
	int			 busy, idle;

	assert_non_null(sb);
	assert_int_equal(scoreboard_proc_claim(sb, 1), 0);
	assert_int_equal(scoreboard_proc_claim(sb, 1), 1);
	atomic_store(&scoreboard_thread(sb, 0, 0)->state, SB_T_IDLE);
	atomic_store(&scoreboard_thread(sb, 0, 1)->state, SB_T_DB);
	atomic_store(&scoreboard_thread(sb, 1, 0)->state, SB_T_STREAMING);
	/* A free slot's leftovers are not counted. */
	atomic_store(&scoreboard_thread(sb, 2, 0)->state, SB_T_HANDLER);
	scoreboard_threads(sb, &busy, &idle);
	assert_int_equal(busy, 2);
	assert_int_equal(idle, 1);
	scoreboard_destroy(sb);
}

/* The total behind STATUS= adds every route and every status. */
static void
test_requests_total(void **state)
{
	struct scoreboard	*sb = scoreboard_create(1, 1);

	assert_non_null(sb);
	assert_int_equal(scoreboard_requests(sb), 0);
	scoreboard_count(sb, 0, 200, 1);
	scoreboard_count(sb, 5, 599, 1);	/* "other" status */
	scoreboard_count(sb, -1, 404, 1);	/* unmatched route */
	assert_int_equal(scoreboard_requests(sb), 3);
	scoreboard_destroy(sb);
}

/* The map is shared: a child's counts are seen by the parent. */
static void
test_shared_across_fork(void **state)
{
	struct scoreboard	*sb = scoreboard_create(1, 1);
	pid_t			 pid;
	int			 st;

	assert_non_null(sb);
	if ((pid = fork()) == 0) {
		scoreboard_count(sb, 1, 201, 10);
		atomic_store(&scoreboard_thread(sb, 0, 0)->state, SB_T_IDLE);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(atomic_load(&sb->stats->routes[1].by_status[
	    sb_status_index(201)]), 1);
	assert_int_equal(atomic_load(&scoreboard_thread(sb, 0, 0)->state),
	    SB_T_IDLE);
	assert_true(clock_now_ns() >= atomic_load(sb->master_start_ns));
	scoreboard_destroy(sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_claim_release),
		cmocka_unit_test(test_status_index),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_threads_busy_idle),
		cmocka_unit_test(test_shared_across_fork),
		cmocka_unit_test(test_requests_total),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
