/*
 * password.h: argon2id password hashes (libsodium), at most N at a time.
 *
 * One hash with the interactive limits takes 64 MiB and about 80 ms of
 * one core. A worker serves many requests at once, so a burst of logins
 * could otherwise ask for gigabytes: a gate lets `slots' hashes run in
 * the process and makes the rest wait their turn (PASSWORD_WAIT_MAX
 * seconds at most in quipu, then APP_EUNAVAIL: 503).
 *
 * Never call these while holding a PostgreSQL connection: a hash is slow,
 * and the pool is small.
 */
#ifndef QUIPU_PASSWORD_H
#define QUIPU_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "apperr.h"

#define PASSWORD_HASH_MAX	128	/* >= crypto_pwhash_STRBYTES */
#define PASSWORD_WAIT_MAX	30	/* seconds in the queue */

struct password_gate;

/*
 * A gate letting `slots' (>= 1) hashes run at once; a caller waits at
 * most `wait_s' (>= 1) seconds for a slot, then gets APP_EUNAVAIL.
 */
enum app_err	 password_gate_create(int slots, int wait_s,
		    struct password_gate **out) MUSTCHECK;
/* No hash may be running. NULL allowed. */
void		 password_gate_destroy(struct password_gate *);

/* Hashes `pw' into out (a "$argon2id$..." string). */
enum app_err	 password_hash(struct password_gate *, const char *pw,
		    char out[PASSWORD_HASH_MAX]) MUSTCHECK;
/*
 * Checks `pw' against `hash'. APP_OK when it matches (then
 * *needs_rehash tells whether the hash was made with weaker limits than
 * today's), APP_EAUTH when it does not or `hash' is not a hash we read.
 * `hash' NULL (no such user) checks against a fixed dummy hash and
 * answers APP_EAUTH, in the same time as a real check.
 */
enum app_err	 password_verify(struct password_gate *, const char *hash,
		    const char *pw, bool *needs_rehash) MUSTCHECK;

#endif
