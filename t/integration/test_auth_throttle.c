/*
 * test_auth_throttle.c: the login throttle of doc/api.md ("Throttling")
 * with login_max_failures = 3, per username and per client address (the
 * requests come from different 127.x.y.z), cleared by a success, fed by a
 * wrong current_password, forgotten after the window; a wrong password
 * and an unknown user cost about the same time; a burst of logins of one
 * user all succeed; login_max_failures = 0 turns it off.
 *
 * Each test fails logins from addresses of its own, so that the address
 * counts of one test never throttle another.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

static struct harness	 H;

/* One number (a count) from the test database; -1 on error. */
#define sql_long(sql, param)	harness_sql_long(&H, (sql), (param))

#define WINDOW		600
#define CONF_EXTRA	"login_max_failures = 3\nlogin_failure_window = 600"

#define P_LOGIN		"/api/v1/auth/login"
#define P_ME		"/api/v1/auth/me"

/* Retry-After of the last 429, or -1. */
static long	 last_retry = -1;

/* {"username","password"}. Caller frees. */
static char *
creds(const char *user, const char *pw)
{
	struct json_object	*o = json_object_new_object();
	char			*s;

	assert_non_null(o);
	json_object_object_add(o, "username", json_object_new_string(user));
	json_object_object_add(o, "password", json_object_new_string(pw));
	assert_non_null(s = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN)));
	json_object_put(o);
	return s;
}

/*
 * One login from address `src' (NULL: 127.0.0.1); returns the status.
 * A 401 and a 429 must be the envelope; a 429 sets last_retry from a
 * Retry-After that must lie within the window.
 */
static long
attempt(const char *src, const char *user, const char *pw)
{
	struct harness_resp	 r;
	const char		*ra;
	char			*b = creds(user, pw);
	long			 st;

	H.source_addr = src;
	assert_int_equal(harness_json(&H, "POST", P_LOGIN, NULL, b, &r), 0);
	H.source_addr = NULL;
	free(b);
	st = r.status;
	last_retry = -1;
	if (st == 401)
		assert_true(harness_is_envelope(&r, "unauthorized"));
	if (st == 429) {
		assert_true(harness_is_envelope(&r, "rate_limited"));
		assert_non_null(ra = harness_resp_header(&r, "Retry-After"));
		last_retry = strtol(ra, NULL, 10);
		if (last_retry < 1 || last_retry > WINDOW)
			fprintf(stderr, "Retry-After: %s\n", ra);
		assert_true(last_retry >= 1 && last_retry <= WINDOW);
	}
	harness_resp_free(&r);
	return st;
}

static long
nfailures(void)
{
	return sql_long("SELECT count(*) FROM login_failures", NULL);
}

static void
reg(const char *user, const char *pw, struct harness_auth *a)
{
	struct harness_auth	 tmp;

	assert_int_equal(harness_register(&H, user, pw, a != NULL ? a : &tmp),
	    0);
}

static void
test_per_username(void **state)
{
	struct harness_auth	 a;
	long			 before, sessions;
	int			 i;

	(void)state;
	reg("thr_user1", "pw-Throttle-U01", &a);
	reg("thr_user2", "pw-Throttle-U02", NULL);
	sessions = sql_long("SELECT count(*) FROM auth_sessions "
	    "WHERE user_id = $1", a.user_id);
	for (i = 0; i < 3; i++)
		assert_int_equal(attempt("127.0.0.11", "thr_user1",
		    "pw-Throttle-bad"), 401);
	before = nfailures();
	assert_int_equal(attempt("127.0.0.11", "thr_user1", "pw-Throttle-bad"),
	    429);
	/* The three failures are seconds old: most of the window is left. */
	assert_true(last_retry >= WINDOW - 60);
	/* Even the right password: it is not checked. */
	assert_int_equal(attempt("127.0.0.11", "thr_user1", "pw-Throttle-U01"),
	    429);
	/* The username in any case, from any address. */
	assert_int_equal(attempt("127.0.0.12", "THR_User1", "pw-Throttle-U01"),
	    429);
	/* Throttled attempts are not counted again, and sign nobody in. */
	assert_int_equal(nfailures(), before);
	assert_int_equal(sql_long("SELECT count(*) FROM auth_sessions "
	    "WHERE user_id = $1", a.user_id), sessions);
	/* Another user from another address is not concerned. */
	assert_int_equal(attempt("127.0.0.12", "thr_user2", "pw-Throttle-U02"),
	    200);
}

static void
test_per_address(void **state)
{
	(void)state;
	reg("thr_addr1", "pw-Throttle-A01", NULL);
	reg("thr_addr2", "pw-Throttle-A02", NULL);
	reg("thr_addr3", "pw-Throttle-A03", NULL);
	reg("thr_addr4", "pw-Throttle-A04", NULL);
	assert_int_equal(attempt("127.0.0.2", "thr_addr1", "pw-Throttle-bad"),
	    401);
	assert_int_equal(attempt("127.0.0.2", "thr_addr2", "pw-Throttle-bad"),
	    401);
	assert_int_equal(attempt("127.0.0.2", "thr_addr3", "pw-Throttle-bad"),
	    401);
	/* A fresh user, the right password, but from that address. */
	assert_int_equal(attempt("127.0.0.2", "thr_addr4", "pw-Throttle-A04"),
	    429);
	assert_int_equal(attempt("127.0.0.3", "thr_addr4", "pw-Throttle-A04"),
	    200);

	/* 500 s later only 100 s are left to wait. */
	assert_true(harness_sql(&H, "UPDATE login_failures SET failed_at = "
	    "failed_at - interval '500 s' WHERE remote_addr = '127.0.0.2'",
	    NULL, 0, NULL, 0) >= 3);
	assert_int_equal(attempt("127.0.0.2", "thr_addr4", "pw-Throttle-A04"),
	    429);
	assert_true(last_retry <= WINDOW - 500 + 1);

	/* A success clears the username's count, not the address's. */
	assert_int_equal(attempt("127.0.0.3", "thr_addr1", "pw-Throttle-A01"),
	    200);
	assert_int_equal(attempt("127.0.0.2", "thr_addr1", "pw-Throttle-A01"),
	    429);
}

static void
test_success_clears(void **state)
{
	(void)state;
	reg("thr_clear", "pw-Throttle-C01", NULL);
	/*
	 * One address per attempt: only the username's count grows. Without
	 * the clearing the 4th failure below would already be 429.
	 */
	assert_int_equal(attempt("127.0.0.21", "thr_clear", "pw-Throttle-bad"),
	    401);
	assert_int_equal(attempt("127.0.0.22", "thr_clear", "pw-Throttle-bad"),
	    401);
	assert_int_equal(attempt("127.0.0.23", "thr_clear", "pw-Throttle-C01"),
	    200);
	assert_int_equal(attempt("127.0.0.24", "thr_clear", "pw-Throttle-bad"),
	    401);
	assert_int_equal(attempt("127.0.0.25", "thr_clear", "pw-Throttle-bad"),
	    401);
	assert_int_equal(attempt("127.0.0.26", "thr_clear", "pw-Throttle-C01"),
	    200);
	/* And the count is per username across addresses. */
	assert_int_equal(attempt("127.0.0.27", "thr_clear", "pw-Throttle-bad"),
	    401);
	assert_int_equal(attempt("127.0.0.28", "thr_clear", "pw-Throttle-bad"),
	    401);
	assert_int_equal(attempt("127.0.0.29", "thr_clear", "pw-Throttle-bad"),
	    401);
	assert_int_equal(attempt("127.0.0.30", "thr_clear", "pw-Throttle-C01"),
	    429);
}

static void
test_patch_me_counts(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	char			*b;
	int			 i;

	(void)state;
	reg("thr_patch", "pw-Throttle-P01", &a);
	b = strdup("{\"password\":\"pw-Throttle-P02\","
	    "\"current_password\":\"pw-Throttle-bad\"}");
	assert_non_null(b);
	H.source_addr = "127.0.0.31";
	for (i = 0; i < 3; i++) {
		assert_int_equal(harness_json(&H, "PATCH", P_ME, &a, b, &r), 0);
		assert_int_equal(r.status, 422);
		assert_true(harness_is_envelope(&r, "validation_failed"));
		assert_string_equal(harness_resp_str(&r,
		    "error.details.current_password"), "is incorrect");
		harness_resp_free(&r);
	}
	H.source_addr = NULL;
	free(b);
	assert_int_equal(attempt("127.0.0.32", "thr_patch", "pw-Throttle-P01"),
	    429);
}

/* Failures older than the window no longer count. */
static void
test_window_expiry(void **state)
{
	(void)state;
	assert_true(harness_sql(&H, "UPDATE login_failures SET failed_at = "
	    "failed_at - interval '1 hour'", NULL, 0, NULL, 0) >= 3);
	assert_int_equal(attempt("127.0.0.11", "thr_user1", "pw-Throttle-U01"),
	    200);
	assert_int_equal(attempt("127.0.0.2", "thr_addr4", "pw-Throttle-A04"),
	    200);
	assert_int_equal(attempt("127.0.0.30", "thr_clear", "pw-Throttle-C01"),
	    200);
	assert_int_equal(attempt("127.0.0.32", "thr_patch", "pw-Throttle-P01"),
	    200);
}

/* Milliseconds one login attempt took; it must answer `want'. */
static double
timed(const char *src, const char *user, const char *pw, long want)
{
	uint64_t	 t0 = harness_now_ms();

	assert_int_equal(attempt(src, user, pw), want);
	return (double)(harness_now_ms() - t0);
}

static void
test_timing(void **state)
{
	char	 user[32], src[32];
	double	 wrong = 1e9, unknown = 1e9, t, ratio;
	int	 i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(user, sizeof(user), "thr_time%d", i);
		reg(user, "pw-Throttle-T00", NULL);
	}
	/* One failure per user and per address: nothing is throttled. */
	for (i = 0; i < 5; i++) {
		snprintf(user, sizeof(user), "thr_time%d", i);
		snprintf(src, sizeof(src), "127.0.0.%d", 41 + i);
		if ((t = timed(src, user, "pw-Throttle-bad", 401)) < wrong)
			wrong = t;
		snprintf(user, sizeof(user), "thr_nobody%d", i);
		snprintf(src, sizeof(src), "127.0.0.%d", 51 + i);
		if ((t = timed(src, user, "pw-Throttle-bad", 401)) < unknown)
			unknown = t;
	}
	if (unknown < 1)
		unknown = 1;
	ratio = wrong / unknown;
	fprintf(stderr, "login 401: wrong password %.0f ms, unknown user "
	    "%.0f ms (min of 5), ratio %.2f\n", wrong, unknown, ratio);
	assert_true(ratio >= 0.33 && ratio <= 3.0);
}

/* ------------------------------------------------------------- burst */

#define BURST	20

struct burst {
	pthread_t	 t;
	long		 status;
	int		 rc;
};

static void *
burst_main(void *arg)
{
	struct burst		*b = arg;
	struct harness_resp	 r;
	char			*body = creds("thr_burst", "pw-Throttle-B01");

	b->rc = harness_json(&H, "POST", P_LOGIN, NULL, body, &r);
	b->status = r.status;
	harness_resp_free(&r);
	free(body);
	return NULL;
}

static void
test_burst(void **state)
{
	struct burst	 b[BURST];
	int		 i, ok = 0;

	(void)state;
	reg("thr_burst", "pw-Throttle-B01", NULL);
	for (i = 0; i < BURST; i++)
		assert_int_equal(pthread_create(&b[i].t, NULL, burst_main,
		    &b[i]), 0);
	for (i = 0; i < BURST; i++) {
		pthread_join(b[i].t, NULL);
		if (b[i].rc == 0 && b[i].status == 200)
			ok++;
		else
			fprintf(stderr, "burst login %d: rc %d status %ld\n",
			    i, b[i].rc, b[i].status);
	}
	assert_int_equal(ok, BURST);
	assert_true(sql_long("SELECT count(*) FROM auth_sessions s JOIN users "
	    "u ON u.id = s.user_id WHERE u.username = $1", "thr_burst") >=
	    BURST + 1);
}

/* POST /register from `src': the status; Retry-After into *retry. */
static long
register_from(const char *src, const char *user, long *retry)
{
	const char		*hdrs[] = { "Content-Type: application/json",
				    NULL };
	struct harness_resp	 r;
	char			 body[256];
	const char		*ra;
	long			 st;

	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":"
	    "\"pw-Register-001\"}", user);
	H.source_addr = src;
	assert_int_equal(harness_request(&H, "POST", "/api/v1/auth/register",
	    hdrs, body, strlen(body), &r), 0);
	H.source_addr = NULL;
	st = r.status;
	*retry = (ra = harness_resp_header(&r, "Retry-After")) != NULL ?
	    atol(ra) : -1;
	if (st == 429)
		assert_true(harness_is_envelope(&r, "rate_limited"));
	harness_resp_free(&r);
	return st;
}

/* register_max_per_hour: accounts per address per hour, then 429. */
static void
test_register_limit(void **state)
{
	long	 retry;

	(void)state;
	assert_int_equal(harness_restart_quipu(&H, CONF_EXTRA
	    "\nregister_max_per_hour = 2"), 0);
	assert_int_equal(register_from("127.0.0.71", "thr_reg1", &retry), 201);
	assert_int_equal(register_from("127.0.0.71", "thr_reg2", &retry), 201);
	assert_int_equal(register_from("127.0.0.71", "thr_reg3", &retry), 429);
	assert_true(retry > 3500 && retry <= 3600);
	/* Refused before anything was made. */
	assert_int_equal(sql_long("SELECT count(*) FROM users WHERE "
	    "username = $1", "thr_reg3"), 0);
	/* A conflict does not count: it made no account. */
	assert_int_equal(register_from("127.0.0.72", "thr_reg1", &retry), 409);
	assert_int_equal(register_from("127.0.0.72", "thr_reg4", &retry), 201);
	/* Another address is unaffected; after the hour, 71 may again. */
	assert_int_equal(register_from("127.0.0.73", "thr_reg5", &retry), 201);
	assert_true(harness_sql(&H, "UPDATE registrations SET created_at = "
	    "created_at - interval '2 hours'", NULL, 0, NULL, 0) >= 0);
	assert_int_equal(register_from("127.0.0.71", "thr_reg3", &retry), 201);
}

static void
test_throttle_off(void **state)
{
	int	 i;

	(void)state;
	assert_int_equal(harness_restart_quipu(&H,
	    "login_max_failures = 0\nlogin_failure_window = 600"), 0);
	reg("thr_off", "pw-Throttle-O01", NULL);
	for (i = 0; i < 5; i++)
		assert_int_equal(attempt("127.0.0.61", "thr_off",
		    "pw-Throttle-bad"), 401);
	assert_int_equal(attempt("127.0.0.61", "thr_off", "pw-Throttle-O01"),
	    200);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_username),
		cmocka_unit_test(test_per_address),
		cmocka_unit_test(test_success_clears),
		cmocka_unit_test(test_patch_me_counts),
		cmocka_unit_test(test_window_expiry),
		cmocka_unit_test(test_timing),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_register_limit),
		cmocka_unit_test(test_throttle_off),
	};
	static const struct harness_group group = {
		"test_auth_throttle", CONF_EXTRA, true, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
