/*
 * test_supervisor.c: the master/worker supervisor seen from outside, under
 * load, through nginx: privilege drop, a worker killed with SIGKILL, a
 * graceful reload (SIGHUP) with slow requests in flight, recycling after
 * max_requests, and a graceful stop (SIGTERM) that loses no request.
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

#define MAXW	16

static struct harness	 H;

/*
 * Waits until the master has exactly H.workers children, none of them in
 * `old' (may be NULL). Returns how many it found at the end.
 */
static size_t
workers_wait(pid_t *out, const pid_t *old, size_t nold, int ms)
{
	uint64_t	 end = harness_now_ms() + (uint64_t)ms;
	size_t		 n, i, j;
	bool		 fresh;

	for (;;) {
		n = harness_children(H.quipu, out, MAXW);
		fresh = true;
		for (i = 0; i < n && old != NULL; i++)
			for (j = 0; j < nold; j++)
				if (out[i] == old[j])
					fresh = false;
		if ((n == (size_t)H.workers && fresh) ||
		    harness_now_ms() >= end)
			return fresh ? n : 0;
		harness_sleep_ms(50);
	}
}

static void
assert_load_clean(const struct harness_counts *c, const char *what)
{
	fprintf(stderr, "%s: %lu ok, %lu non-2xx (last %ld), %lu transport "
	    "errors\n", what, c->ok, c->bad, c->last_bad, c->err);
	assert_true(c->ok > 0);
	assert_int_equal(c->bad, 0);
	assert_int_equal(c->err, 0);
}

/* Waits for `n' requests in flight; every one must have answered 200. */
static void
assert_all_ok(struct harness_async *a, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		assert_int_equal(harness_async_wait(&a[i]), 0);
		if (a[i].resp.status != 200)
			fprintf(stderr, "request %zu: %ld %s\n", i,
			    a[i].resp.status, a[i].resp.body);
		assert_int_equal(a[i].resp.status, 200);
		harness_resp_free(&a[i].resp);
	}
}

static void
test_privdrop(void **state)
{
	pid_t	 w[MAXW];
	size_t	 n, i;

	(void)state;
	assert_int_equal(n = workers_wait(w, NULL, 0, 3000), 2);
	if (getuid() != 0) {
		fprintf(stderr, "not root: privilege drop not tested\n");
		return;
	}
	for (i = 0; i < n; i++)
		assert_true(harness_proc_uid(w[i]) > 0);
}

static void
test_worker_killed(void **state)
{
	struct harness_counts	 c;
	pid_t			 old[MAXW], now[MAXW];
	size_t			 i, n;
	bool			 dead_gone = true, found_new = false;

	(void)state;
	assert_int_equal(n = workers_wait(old, NULL, 0, 3000), 2);
	assert_int_equal(kill(old[0], SIGKILL), 0);
	/* A replacement within about 2 s; the other worker stays. */
	harness_sleep_ms(100);
	n = workers_wait(now, NULL, 0, 2500);
	for (i = 0; i < n; i++) {
		if (now[i] == old[0])
			dead_gone = false;
		if (now[i] != old[0] && now[i] != old[1])
			found_new = true;
	}
	assert_int_equal(n, 2);
	assert_true(dead_gone);
	assert_true(found_new);
	assert_int_equal(harness_load_n(&H, "/healthz", 4, 200, &c), 0);
	assert_load_clean(&c, "after kill -9");
	assert_int_equal(c.ok, 200);
}

static void
test_reload_under_load(void **state)
{
	struct harness_async	 slow[8];
	struct harness_load	*l;
	struct harness_counts	 c;
	pid_t			 old[MAXW], now[MAXW];
	size_t			 i, nold;
	pid_t			 master = H.quipu;

	(void)state;
	assert_int_equal(nold = workers_wait(old, NULL, 0, 3000), 2);
	assert_non_null(l = harness_load_start(&H, "/healthz", 2));
	for (i = 0; i < 8; i++)
		assert_int_equal(harness_async_start(&H, &slow[i], "GET",
		    "/api/v1/_test/sleep?ms=1500"), 0);
	harness_sleep_ms(400);
	assert_int_equal(kill(H.quipu, SIGHUP), 0);
	assert_all_ok(slow, 8);
	harness_sleep_ms(500);
	harness_load_stop(l, &c);
	assert_load_clean(&c, "during reload");
	/* Same master; only new workers once the old ones drained. */
	assert_int_equal(H.quipu, master);
	assert_true(harness_proc_alive(master));
	assert_int_equal(workers_wait(now, old, nold, 5000), 2);
}

static void
test_recycle(void **state)
{
	struct harness_counts	 c;
	pid_t			 old[MAXW], now[MAXW];
	size_t			 nold;

	(void)state;
	assert_int_equal(harness_restart_quipu(&H, "max_requests = 50"), 0);
	assert_int_equal(nold = workers_wait(old, NULL, 0, 3000), 2);
	assert_int_equal(harness_load_n(&H, "/healthz", 4, 300, &c), 0);
	assert_load_clean(&c, "recycling");
	assert_int_equal(c.ok, 300);
	/* ~150 requests each, max 50 (+-10 %): both were replaced. */
	assert_int_equal(workers_wait(now, old, nold, 3000), 2);
}

/* Sends one request carrying request id `rid'; asserts a 200. */
static void
get_with_rid(const char *rid)
{
	struct harness_resp	 r;
	char			 hdr[128];
	const char		*hdrs[] = { hdr, NULL };

	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid);
	assert_int_equal(harness_request(&H, "GET", "/healthz", hdrs, NULL, 0,
	    &r), 0);
	assert_int_equal(r.status, 200);
	harness_resp_free(&r);
}

/* Whether the file at `path' mentions `needle' (polls up to 2 s). */
static bool
file_mentions(const char *path, const char *needle)
{
	char	*text;
	bool	 found = false;
	int	 i;

	for (i = 0; i < 20 && !found; i++) {
		if ((text = harness_read_file(path, NULL)) != NULL) {
			found = strstr(text, needle) != NULL;
			free(text);
		}
		if (!found)
			harness_sleep_ms(100);
	}
	return found;
}

/*
 * Log rotation: logrotate renames the files, SIGUSR1 makes the master and
 * every worker open them anew, and later lines land in the new files.
 */
static void
test_usr1_reopens_logs(void **state)
{
	char	 rotated[HARNESS_PATH + 8];
	int	 i;

	(void)state;
	get_with_rid("before-rotation");
	assert_true(file_mentions(H.access_log, "before-rotation"));
	snprintf(rotated, sizeof(rotated), "%s.1", H.access_log);
	assert_int_equal(rename(H.access_log, rotated), 0);
	assert_int_equal(kill(H.quipu, SIGUSR1), 0);
	/* Workers act on it within their 100 ms signal wait. */
	harness_sleep_ms(500);
	/* Both workers: enough requests that each serves some. */
	for (i = 0; i < 20; i++)
		get_with_rid("after-rotation");
	assert_true(file_mentions(H.access_log, "after-rotation"));
	assert_false(file_mentions(rotated, "after-rotation"));
	assert_true(file_mentions(rotated, "before-rotation"));
}

/*
 * A request stuck past request_timeout (+5 s grace) takes its worker down:
 * the slow log names it first, the kill names it as a victim, nginx
 * answers the client with its JSON 502, and a new worker serves on.
 */
static void
test_stuck_request_killed(void **state)
{
	struct harness_async	 stuck;
	struct harness_counts	 c;
	char			*log;

	(void)state;
	assert_int_equal(harness_restart_quipu(&H,
	    "request_timeout = 1\nslow_request_timeout = 1\n"), 0);
	assert_int_equal(harness_async_start(&H, &stuck, "GET",
	    "/api/v1/_test/sleep?ms=30000"), 0);
	assert_int_equal(harness_async_wait(&stuck), 0);
	assert_int_equal(stuck.resp.status, 502);
	assert_true(harness_is_envelope(&stuck.resp, "upstream_error"));
	harness_resp_free(&stuck.resp);
	assert_non_null(log = harness_read_file(H.error_log, NULL));
	assert_non_null(strstr(log, "slow request: worker"));
	assert_non_null(strstr(log, "request killed: worker"));
	assert_non_null(strstr(log, "route test.sleep"));
	free(log);
	assert_int_equal(harness_load_n(&H, "/healthz", 2, 50, &c), 0);
	assert_load_clean(&c, "after the watchdog");
	assert_int_equal(harness_restart_quipu(&H, NULL), 0);
}

static void
test_sigterm_drain(void **state)
{
	struct harness_async	 slow[4];
	uint64_t		 t0;
	size_t			 i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(harness_async_start(&H, &slow[i], "GET",
		    "/api/v1/_test/sleep?ms=1500"), 0);
	harness_sleep_ms(400);
	t0 = harness_now_ms();
	/* shutdown_timeout is 10 s: the master must be gone by then. */
	assert_int_equal(harness_stop_quipu(&H, SIGTERM, 10500), 0);
	fprintf(stderr, "master exited after %llu ms\n",
	    (unsigned long long)(harness_now_ms() - t0));
	assert_true(WIFEXITED(H.quipu_status));
	assert_int_equal(WEXITSTATUS(H.quipu_status), 0);
	assert_all_ok(slow, 4);
	assert_true(harness_pool_gone(&H, "/healthz"));
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_privdrop),
		cmocka_unit_test(test_worker_killed),
		cmocka_unit_test(test_reload_under_load),
		cmocka_unit_test(test_recycle),
		cmocka_unit_test(test_usr1_reopens_logs),
		cmocka_unit_test(test_stuck_request_killed),
		cmocka_unit_test(test_sigterm_drain),
	};
	static const struct harness_group group = {
		"test_supervisor", NULL, false, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
