/*
 * throttle.h: failed logins, counted per username and per client address
 * in PostgreSQL (table login_failures), so that every worker and every
 * host behind the same database sees the same counts.
 *
 * A username is kept only as the SHA-256 of its lower-case form (people
 * type passwords into the username field; this table must not collect
 * them). Limits: login_max_failures within login_failure_window; 0 turns
 * the whole thing off. Registrations are counted per address too (table
 * registrations, register_max_per_hour): each costs an argon2id hash.
 */
#ifndef QUIPU_THROTTLE_H
#define QUIPU_THROTTLE_H

#include <libpq-fe.h>

#include "apperr.h"

struct arena;
struct http_request;
struct http_response;

/* The key of `username' (a bytea parameter), or NULL on ENOMEM. */
char		*throttle_key(struct arena *, const char *username);
/*
 * Seconds until both `ukey' and the request's address are below the
 * limit again, in *retry_after: 0 when they are now.
 */
enum app_err	 throttle_check(struct http_request *, PGconn *,
		    const char *ukey, int *retry_after) MUSTCHECK;
/* Answers 429 with Retry-After; returns APP_ERATE. */
enum app_err	 throttle_refuse(struct http_response *, int retry_after);
/*
 * Counts one failure for `ukey' and the address, on a connection of its
 * own, and drops the failures older than the window.
 */
enum app_err	 throttle_record(struct http_request *, const char *ukey)
		    MUSTCHECK;
/*
 * After a success: the username's count starts again; the rows still
 * count against their addresses. In the caller's transaction.
 */
enum app_err	 throttle_forgive(PGconn *, const char *ukey) MUSTCHECK;

/*
 * Registrations: seconds until the request's address may create another
 * account (register_max_per_hour), 0 when it may now.
 */
enum app_err	 throttle_register_check(struct http_request *, PGconn *,
		    int *retry_after) MUSTCHECK;
/* Answers 429 with Retry-After for a registration; returns APP_ERATE. */
enum app_err	 throttle_register_refuse(struct http_response *,
		    int retry_after);
/* Counts an account created from the address; in the caller's transaction. */
enum app_err	 throttle_register_record(struct http_request *, PGconn *)
		    MUSTCHECK;

#endif
