/*
 * db.h: a per-process pool of PostgreSQL connections.
 *
 * A thread checks a connection out for one transaction and gives it back
 * at once; a connection is never held across an LLM call. Connections are
 * opened lazily after fork (a PGconn must never cross fork), reopened when
 * broken, and carry statement_timeout. Every statement is parameterised,
 * and each text is prepared once per connection (see db_query).
 */
#ifndef QUIPU_DB_H
#define QUIPU_DB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "apperr.h"

struct db_pool;

/*
 * Statement texts a connection keeps prepared. quipu's texts are static
 * or built from fixed fragments, so the set is bounded; past this many a
 * text simply runs unprepared.
 */
#define DB_STMT_MAX	256

/*
 * Counters a pool keeps; they may live in shared memory (the scoreboard)
 * so /metrics can add them up across processes.
 */
struct db_counters {
	atomic_int		size;
	atomic_int		in_use;
	atomic_uint_least64_t	acquires;
	atomic_uint_least64_t	waits;		/* acquires that had to wait */
	atomic_uint_least64_t	wait_us;	/* total time spent waiting */
	atomic_uint_least64_t	errors;		/* connect and query failures */
};

/*
 * A pool of `size' connections to `conninfo'. Nothing connects yet.
 * `counters' may be NULL (the pool then keeps its own).
 */
enum app_err	 db_pool_create(const char *conninfo, int size,
		    int statement_timeout_ms, int connect_timeout_s,
		    struct db_counters *counters, struct db_pool **out) MUSTCHECK;
/* Closes every connection. All must have been released. NULL allowed. */
void		 db_pool_destroy(struct db_pool *);
/* The pool's counters (its own or the shared ones it was given). */
const struct db_counters *db_pool_counters(const struct db_pool *);
/*
 * Whether db_query() prepares statements on this pool's connections (on
 * by default). Off for a pooler that does not keep a session's prepared
 * statements: PgBouncer in transaction mode before 1.21. Set it before
 * the pool is shared between threads.
 */
void		 db_pool_set_prepare(struct db_pool *, bool on);

/*
 * Checks out a connection, waiting up to the connect timeout for a free
 * one, connecting or reconnecting as needed. APP_EDB when PostgreSQL
 * cannot be reached, APP_EUNAVAIL when every connection stays busy.
 */
enum app_err	 db_acquire(struct db_pool *, PGconn **out) MUSTCHECK;
/*
 * Gives a connection back. One left inside a transaction or broken is
 * rolled back or closed, so the next user gets a clean one. NULL allowed.
 */
void		 db_release(struct db_pool *, PGconn *);

/*
 * Runs one parameterised statement (text parameters; NULL = SQL NULL).
 * On APP_OK *out (when out is non-NULL) holds the result, owned by the
 * caller (PQclear). Errors are mapped from SQLSTATE: 23505 conflict,
 * 40001/40P01 retry, 57014 timeout, connection loss (class 08, 57P0x,
 * 53xxx) APP_EDB, anything else (a bug in our SQL) APP_EINTERNAL.
 *
 * On a pooled connection the text is prepared the first time it is seen
 * and executed by name afterwards, which spares the server the parsing.
 * Statements that vanished (DISCARD ALL by a pooler) or whose plan went
 * stale (a migration changed a table) are prepared again; outside a
 * transaction the failed statement is retried once, unprepared, and
 * inside one its error is returned.
 */
enum app_err	 db_query(PGconn *, const char *sql, int nparams,
		    const char *const *params, PGresult **out) MUSTCHECK;
/* db_query that discards the result. */
enum app_err	 db_exec(PGconn *, const char *sql, int nparams,
		    const char *const *params) MUSTCHECK;
enum app_err	 db_begin(PGconn *) MUSTCHECK;
enum app_err	 db_commit(PGconn *) MUSTCHECK;
/* Rolls back if inside a transaction; safe to call on any path. */
void		 db_rollback(PGconn *);
/* Maps a failed result (or NULL for a connection error) to app_err. */
enum app_err	 db_result_err(PGconn *, const PGresult *);

/*
 * db_query() on a connection of its own: acquire, run, release. For a
 * single statement outside any transaction.
 */
enum app_err	 db_run(struct db_pool *, const char *sql, int nparams,
		    const char *const *params, PGresult **out) MUSTCHECK;

struct arena;
/* A value of a result, copied into the arena; NULL for SQL NULL or ENOMEM. */
const char	*db_value(struct arena *, const PGresult *, int row, int col);
/*
 * db_run() of a statement answering at most one row of one column (JSON
 * text, usually): APP_OK with the value in *out (arena; NULL for SQL
 * NULL), APP_ENOTFOUND for no row.
 */
enum app_err	 db_one(struct db_pool *, struct arena *, const char *sql,
		    int nparams, const char *const *params, char **out) MUSTCHECK;
/* A boolean column: true only for 't'. */
bool		 db_bool(const PGresult *, int row, int col);
/*
 * b[0..len) as a bytea parameter in text form ("\x" and hex), in the
 * arena; NULL on ENOMEM.
 */
char		*db_bytea(struct arena *, const void *b, size_t len);

/* True when a short "SELECT 1" succeeds on a pooled connection. */
enum app_err	 db_ping(struct db_pool *) MUSTCHECK;

#endif
