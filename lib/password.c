/*
 * password.c: argon2id hashing behind a counting gate.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "password.h"

#define PASSWORD_OPS	crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PASSWORD_MEM	crypto_pwhash_MEMLIMIT_INTERACTIVE

/*
 * The hash of a random password nobody knows, with today's limits: an
 * unknown user costs the same argon2id run as a known one.
 */
static const char password_dummy[] =
    "$argon2id$v=19$m=65536,t=2,p=1$SQQDFiOWgZ0KMoAUGMUWqQ"
    "$eGpOQkjivxLMATNuitwgdW+FTrS/QewqAqm8Hy6+0iU";

_Static_assert(crypto_pwhash_STRBYTES <= PASSWORD_HASH_MAX,
    "PASSWORD_HASH_MAX too small");

struct password_gate {
	pthread_mutex_t	 lock;
	pthread_cond_t	 freed;
	int		 free_slots;
	int		 wait_s;
};

enum app_err
password_gate_create(int slots, int wait_s, struct password_gate **out)
{
	struct password_gate	*g;
	pthread_condattr_t	 ca;

	*out = NULL;
	if (slots < 1 || wait_s < 1)
		return APP_EINVAL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return APP_ENOMEM;
	if (pthread_condattr_init(&ca) != 0) {
		free(g);
		return APP_ENOMEM;
	}
	/* Waits are measured on the monotonic clock. */
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&g->freed, &ca) != 0) {
		(void)pthread_condattr_destroy(&ca);
		free(g);
		return APP_EINTERNAL;
	}
	(void)pthread_condattr_destroy(&ca);
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		(void)pthread_cond_destroy(&g->freed);
		free(g);
		return APP_EINTERNAL;
	}
	g->free_slots = slots;
	g->wait_s = wait_s;
	*out = g;
	return APP_OK;
}

void
password_gate_destroy(struct password_gate *g)
{
	if (g == NULL)
		return;
	(void)pthread_mutex_destroy(&g->lock);
	(void)pthread_cond_destroy(&g->freed);
	free(g);
}

/* Takes a slot, waiting up to the gate's wait_s seconds. */
static enum app_err
password_enter(struct password_gate *g)
{
	struct timespec	 until;
	int		 rc = 0;

	if (clock_gettime(CLOCK_MONOTONIC, &until) == -1)
		return APP_EINTERNAL;
	until.tv_sec += g->wait_s;
	if (pthread_mutex_lock(&g->lock) != 0)
		return APP_EINTERNAL;
	while (g->free_slots == 0 && rc == 0)
		rc = pthread_cond_timedwait(&g->freed, &g->lock, &until);
	if (g->free_slots == 0) {
		(void)pthread_mutex_unlock(&g->lock);
		return rc == ETIMEDOUT ? APP_EUNAVAIL : APP_EINTERNAL;
	}
	g->free_slots--;
	(void)pthread_mutex_unlock(&g->lock);
	return APP_OK;
}

static void
password_leave(struct password_gate *g)
{
	/* Cannot fail on a mutex we initialised and do not hold. */
	(void)pthread_mutex_lock(&g->lock);
	g->free_slots++;
	(void)pthread_cond_signal(&g->freed);
	(void)pthread_mutex_unlock(&g->lock);
}

enum app_err
password_hash(struct password_gate *g, const char *pw,
    char out[PASSWORD_HASH_MAX])
{
	enum app_err	 e;
	int		 rc;

	if ((e = password_enter(g)) != APP_OK)
		return e;
	rc = crypto_pwhash_str_alg(out, pw, strlen(pw), PASSWORD_OPS,
	    PASSWORD_MEM, crypto_pwhash_ALG_ARGON2ID13);
	password_leave(g);
	/* The only failure is memory for the 64 MiB. */
	return rc == 0 ? APP_OK : APP_ENOMEM;
}

enum app_err
password_verify(struct password_gate *g, const char *hash, const char *pw,
    bool *needs_rehash)
{
	enum app_err	 e;
	bool		 known = hash != NULL;
	int		 rc;

	*needs_rehash = false;
	if (!known)
		hash = password_dummy;
	if ((e = password_enter(g)) != APP_OK)
		return e;
	rc = crypto_pwhash_str_verify(hash, pw, strlen(pw));
	password_leave(g);
	if (rc != 0 || !known)
		return APP_EAUTH;
	*needs_rehash = crypto_pwhash_str_needs_rehash(hash, PASSWORD_OPS,
	    PASSWORD_MEM) != 0;
	return APP_OK;
}
