/*
 * test_password.c: argon2id hashing and checking, and the gate that
 * bounds how many run at once.
 *
 * Each hash with today's limits takes about 80 ms and 64 MiB, so the
 * file does only a dozen of them in all.
 *
 * To see inside the gate, this program defines crypto_pwhash_str_alg()
 * and crypto_pwhash_str_verify() itself: password.c, linked in from the
 * static libquipu, calls these instead of libsodium's. They count the
 * callers inside at once and pass on to libsodium's per-algorithm
 * functions, which do the same work. No assertion depends on timing.
 * (This needs libsodium linked as a shared library, as pkg-config
 * gives it; a static one would clash with these definitions.)
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "password.h"

#define PW		"correct horse battery staple"
#define NTHREADS	4

/* ------------------------------------------------------------ the count */

static pthread_mutex_t	 count_lock = PTHREAD_MUTEX_INITIALIZER;
static int		 count_inside;	/* hashes running now */
static int		 count_max;	/* the most at once */
static int		 count_calls;
/* While set, a hash waits inside the gate until it is cleared. */
static bool		 stall;
static pthread_cond_t	 stall_cv = PTHREAD_COND_INITIALIZER;

static void
count_reset(void)
{
	assert_int_equal(pthread_mutex_lock(&count_lock), 0);
	count_inside = count_max = count_calls = 0;
	assert_int_equal(pthread_mutex_unlock(&count_lock), 0);
}

static void
count_enter(void)
{
	/* Not cmocka: this runs on the test's threads too. */
	if (pthread_mutex_lock(&count_lock) != 0)
		abort();
	count_calls++;
	if (++count_inside > count_max)
		count_max = count_inside;
	while (stall)
		(void)pthread_cond_wait(&stall_cv, &count_lock);
	(void)pthread_mutex_unlock(&count_lock);
}

static void
count_leave(void)
{
	if (pthread_mutex_lock(&count_lock) != 0)
		abort();
	count_inside--;
	(void)pthread_mutex_unlock(&count_lock);
}

int
crypto_pwhash_str_alg(char out[crypto_pwhash_STRBYTES], const char *pw,
    unsigned long long pwlen, unsigned long long ops, size_t mem, int alg)
{
	int	 rc = -1;

	count_enter();
	if (alg == crypto_pwhash_ALG_ARGON2ID13)
		rc = crypto_pwhash_argon2id_str(out, pw, pwlen, ops, mem);
	else if (alg == crypto_pwhash_ALG_ARGON2I13)
		rc = crypto_pwhash_argon2i_str(out, pw, pwlen, ops, mem);
	count_leave();
	return rc;
}

int
crypto_pwhash_str_verify(const char hash[crypto_pwhash_STRBYTES],
    const char *pw,
    unsigned long long pwlen)
{
	int	 rc = -1;

	/* As libsodium does: the prefix names the algorithm. */
	count_enter();
	if (strncmp(hash, crypto_pwhash_argon2id_STRPREFIX,
	    strlen(crypto_pwhash_argon2id_STRPREFIX)) == 0)
		rc = crypto_pwhash_argon2id_str_verify(hash, pw, pwlen);
	else if (strncmp(hash, crypto_pwhash_argon2i_STRPREFIX,
	    strlen(crypto_pwhash_argon2i_STRPREFIX)) == 0)
		rc = crypto_pwhash_argon2i_str_verify(hash, pw, pwlen);
	count_leave();
	return rc;
}

/* ------------------------------------------------------------ one at a time */

static int
gate_setup(void **state)
{
	struct password_gate	*g;

	if (password_gate_create(1, PASSWORD_WAIT_MAX, &g) != APP_OK)
		return -1;
	count_reset();
	*state = g;
	return 0;
}

static int
gate_teardown(void **state)
{
	password_gate_destroy(*state);
	return 0;
}

static void
test_hash_verify(void **state)
{
	struct password_gate	*g = *state;
	char			 h[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
	bool			 rehash = true;

	assert_int_equal(password_hash(g, PW, h), APP_OK);
	assert_int_equal(strncmp(h, "$argon2id$", 10), 0);
	assert_true(strlen(h) < crypto_pwhash_STRBYTES);
	assert_null(strstr(h, PW));
	assert_int_equal(password_verify(g, h, PW, &rehash), APP_OK);
	assert_false(rehash);

	/* A fresh salt each time. */
	assert_int_equal(password_hash(g, PW, h2), APP_OK);
	assert_string_not_equal(h, h2);

	/* A wrong password (here one letter short): refused, no rehash. */
	rehash = true;
	assert_int_equal(password_verify(g, h, "correct horse battery stapl",
	    &rehash), APP_EAUTH);
	assert_false(rehash);
	assert_int_equal(count_calls, 4);
	assert_int_equal(count_max, 1);
}

static void
test_verify_unknown(void **state)
{
	struct password_gate	*g = *state;
	bool			 rehash = true;

	/* No such user: the dummy hash is checked, and refused. */
	assert_int_equal(password_verify(g, NULL, PW, &rehash), APP_EAUTH);
	assert_false(rehash);
	/* It cost a real check, like a known user's. */
	assert_int_equal(count_calls, 1);
}

static void
test_verify_garbage(void **state)
{
	static const char *const bad[] = {
	    "",
	    "garbage",
	    "$argon2id$",
	    "$argon2id$v=19$m=65536,t=2,p=1$",
	    "$argon2id$v=19$m=65536,t=2,p=1$SQQDFiOWgZ0KMoAUGMUWqQ",
	    "$2b$12$abcdefghijklmnopqrstuuM1iVq2r6a3xQpD1dKZg0mU7/7Cl8qS",
	    "$argon2id$v=19$m=65536,t=2,p=1$!!!!$!!!!",
	};
	struct password_gate	*g = *state;
	bool			 rehash;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rehash = true;
		if (password_verify(g, bad[i], PW, &rehash) != APP_EAUTH)
			fail_msg("hash %zu accepted", i);
		assert_false(rehash);
	}
}

static void
test_verify_weak(void **state)
{
	struct password_gate	*g = *state;
	char			 h[crypto_pwhash_STRBYTES];
	bool			 rehash = false;

	/*
	 * An old hash with weaker limits (the least ops, 8 MiB) still
	 * verifies, and asks to be redone with today's.
	 */
	assert_int_equal(crypto_pwhash_str_alg(h, PW, strlen(PW),
	    crypto_pwhash_argon2id_OPSLIMIT_MIN, 8192 * 1024,
	    crypto_pwhash_ALG_ARGON2ID13), 0);
	assert_int_equal(password_verify(g, h, PW, &rehash), APP_OK);
	assert_true(rehash);
	rehash = true;
	assert_int_equal(password_verify(g, h, "wrong", &rehash), APP_EAUTH);
	assert_false(rehash);

	/*
	 * An argon2i hash is read too; it cannot have today's limits
	 * (argon2i needs 3 passes at least), so it is always redone.
	 */
	assert_int_equal(crypto_pwhash_str_alg(h, PW, strlen(PW),
	    crypto_pwhash_argon2i_OPSLIMIT_MIN, 8192 * 1024,
	    crypto_pwhash_ALG_ARGON2I13), 0);
	rehash = false;
	assert_int_equal(password_verify(g, h, PW, &rehash), APP_OK);
	assert_true(rehash);
}

static void
test_gate_create(void **state)
{
	struct password_gate	*g = (void *)1;

	assert_int_equal(password_gate_create(0, 1, &g), APP_EINVAL);
	assert_null(g);
	g = (void *)1;
	assert_int_equal(password_gate_create(-3, 1, &g), APP_EINVAL);
	assert_null(g);
	assert_int_equal(password_gate_create(64, 1, &g), APP_OK);
	assert_non_null(g);
	password_gate_destroy(g);
	password_gate_destroy(NULL);
}

/* ------------------------------------------------------------ concurrency */

struct job {
	struct password_gate	*gate;
	char			 pw[32];
	char			 hash[PASSWORD_HASH_MAX];
	enum app_err		 e;
};

static void *
job_run(void *arg)
{
	struct job	*j = arg;

	j->e = password_hash(j->gate, j->pw, j->hash);
	return NULL;
}

/*
 * Runs `n' hashes at once through a gate of `slots'; each must succeed,
 * and no more than `slots' may have been inside at once. Then `nverify'
 * of them are checked one by one: through a gate of one, that shows the
 * slot came back (else the check would wait PASSWORD_WAIT_MAX and fail).
 */
static void
check_gate(int slots, int n, int nverify)
{
	struct password_gate	*g;
	struct job		 jobs[NTHREADS];
	pthread_t		 tids[NTHREADS];
	bool			 rehash;
	int			 i;

	assert_true(n <= NTHREADS);
	assert_int_equal(password_gate_create(slots, PASSWORD_WAIT_MAX, &g),
	    APP_OK);
	count_reset();
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < n; i++) {
		jobs[i].gate = g;
		jobs[i].e = APP_EINTERNAL;
		snprintf(jobs[i].pw, sizeof(jobs[i].pw), "password-%d", i);
		assert_int_equal(pthread_create(&tids[i], NULL, job_run,
		    &jobs[i]), 0);
	}
	for (i = 0; i < n; i++)
		assert_int_equal(pthread_join(tids[i], NULL), 0);
	assert_int_equal(count_calls, n);
	assert_int_equal(count_inside, 0);
	assert_true(count_max >= 1);
	if (count_max > slots)
		fail_msg("%d hashes ran at once through a gate of %d",
		    count_max, slots);

	for (i = 0; i < n; i++) {
		assert_int_equal(jobs[i].e, APP_OK);
		assert_int_equal(strncmp(jobs[i].hash, "$argon2id$", 10), 0);
		if (i > 0)
			assert_string_not_equal(jobs[i].hash, jobs[i - 1].hash);
	}
	for (i = 0; i < nverify; i++) {
		assert_int_equal(password_verify(g, jobs[i].hash, jobs[i].pw,
		    &rehash), APP_OK);
		assert_false(rehash);
	}
	password_gate_destroy(g);
}

static void
test_gate_one(void **state)
{
	check_gate(1, 2, 2);
}

static void
test_gate_two(void **state)
{
	check_gate(2, 4, 1);
}

/*
 * A caller that cannot get a slot within the gate's wait gives up with
 * APP_EUNAVAIL (quipu answers 503) instead of queueing for ever; the hash
 * that held the slot still finishes.
 */
static void
test_gate_timeout(void **state)
{
	struct password_gate	*g;
	struct job		 holder;
	pthread_t		 tid;
	char			 hash[PASSWORD_HASH_MAX];
	int			 calls;

	(void)state;
	assert_int_equal(password_gate_create(1, 1, &g), APP_OK);
	count_reset();
	memset(&holder, 0, sizeof(holder));
	holder.gate = g;
	snprintf(holder.pw, sizeof(holder.pw), "holder");
	assert_int_equal(pthread_mutex_lock(&count_lock), 0);
	stall = true;
	assert_int_equal(pthread_mutex_unlock(&count_lock), 0);
	assert_int_equal(pthread_create(&tid, NULL, job_run, &holder), 0);
	/* Wait until the holder is inside, with the only slot. */
	do {
		assert_int_equal(pthread_mutex_lock(&count_lock), 0);
		calls = count_calls;
		assert_int_equal(pthread_mutex_unlock(&count_lock), 0);
	} while (calls == 0 && sched_yield() == 0);

	assert_int_equal(password_hash(g, PW, hash), APP_EUNAVAIL);

	assert_int_equal(pthread_mutex_lock(&count_lock), 0);
	stall = false;
	assert_int_equal(pthread_cond_broadcast(&stall_cv), 0);
	assert_int_equal(pthread_mutex_unlock(&count_lock), 0);
	assert_int_equal(pthread_join(tid, NULL), 0);
	assert_int_equal(holder.e, APP_OK);
	assert_int_equal(count_calls, 1);
	/* The slot came back. */
	assert_int_equal(password_hash(g, PW, hash), APP_OK);
	password_gate_destroy(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hash_verify,
		    gate_setup, gate_teardown),
		cmocka_unit_test_setup_teardown(test_verify_unknown,
		    gate_setup, gate_teardown),
		cmocka_unit_test_setup_teardown(test_verify_garbage,
		    gate_setup, gate_teardown),
		cmocka_unit_test_setup_teardown(test_verify_weak,
		    gate_setup, gate_teardown),
		cmocka_unit_test(test_gate_create),
		cmocka_unit_test(test_gate_one),
		cmocka_unit_test(test_gate_two),
		cmocka_unit_test(test_gate_timeout),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
