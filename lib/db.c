/*
 * db.c: a per-process pool of PostgreSQL connections, and the thin
 * helpers every module uses to run parameterised statements on them.
 *
 * The pool is a fixed array of slots guarded by one mutex. Threads that
 * find every slot busy queue in arrival order, and a slot given back goes
 * straight to the first of them: a condition variable shared by all
 * would wake any waiter, and under load some would wait far longer than
 * others (the benchmark's p99 was 4x its p50 before this queue).
 * Connecting, pinging and
 * rolling back happen outside the mutex, on a slot the thread has marked
 * busy, so a slow PostgreSQL never blocks threads that only want to give
 * a connection back.
 *
 * Each connection also keeps the statements prepared on it, so a text
 * is parsed once per connection rather than once per request. The cache
 * lives and dies with its connection: whatever closes or replaces one
 * empties it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-events.h>
#include <libpq-fe.h>

#include "apperr.h"
#include "arena.h"
#include "clock.h"
#include "db.h"
#include "log.h"

struct db_pool;

/*
 * The statement cache is an open-addressed hash table with twice as many
 * buckets as it may hold statements, so a probe soon meets an empty one.
 */
#define DB_STMT_BUCKETS	(2 * DB_STMT_MAX)
_Static_assert((DB_STMT_BUCKETS & (DB_STMT_BUCKETS - 1)) == 0,
    "DB_STMT_BUCKETS must be a power of two");

/*
 * A statement prepared on one connection, named after the hash of its
 * text ("q" and 16 hex digits). The text is kept and compared, so two
 * texts with one hash never run each other's statement.
 */
struct db_stmt {
	uint64_t	 hash;
	char		*sql;		/* NULL: an empty bucket */
};

/*
 * A busy slot belongs to the thread that took it: only that thread
 * touches its conn and its statements, so connecting, cleaning and
 * preparing need no lock. `busy' is read and written under the pool
 * mutex.
 */
struct db_slot {
	PGconn		*conn;		/* NULL until first used */
	bool		 busy;
	struct db_pool	*pool;
	struct db_stmt	 stmts[DB_STMT_BUCKETS];
	int		 nstmts;
	/* The cache was dropped while conn lived on: the server may still
	 * hold statements under the names we would reuse. */
	bool		 stale;
};

/* A thread waiting for a slot; it lives on that thread's stack. */
struct db_waiter {
	pthread_cond_t		 cond;
	struct db_slot		*slot;		/* handed over by db_slot_put */
	struct db_waiter	*next;
};

struct db_pool {
	pthread_mutex_t		 mtx;
	pthread_condattr_t	 cattr;		/* CLOCK_MONOTONIC */
	struct db_waiter	*whead;		/* first come, first served */
	struct db_waiter	*wtail;
	char			*conninfo;
	int			 size;
	int			 stmt_timeout_ms;
	int			 connect_timeout_s;
	bool			 prepare;	/* db_pool_set_prepare */
	struct db_counters	 own;
	struct db_counters	*ctr;
	struct db_slot		*slots;
};

/*
 * libpq's event hook is the documented way to attach our data to a
 * PGconn: each connection points at its slot, so db_release finds the
 * slot without scanning others' slots, and db_query, which only sees the
 * connection, counts an error against the pool that owns it.
 */
static int
db_eventproc(PGEventId id, void *info, void *pass)
{
	return 1;
}

/* Server notices (and a FATAL before a disconnect) go to our log, not
 * to libpq's default of stderr. */
static void
db_notice(void *arg, const char *msg)
{
	size_t	 len = strlen(msg);

	while (len > 0 && msg[len - 1] == '\n')
		len--;
	log_debug("db: server says: %.*s", (int)len, msg);
}

static void
db_count_error(PGconn *conn)
{
	struct db_slot	*s;

	if (conn == NULL)
		return;
	s = PQinstanceData(conn, db_eventproc);
	if (s != NULL)
		atomic_fetch_add(&s->pool->ctr->errors, 1);
}

enum app_err
db_pool_create(const char *conninfo, int size, int statement_timeout_ms,
    int connect_timeout_s, struct db_counters *counters, struct db_pool **out)
{
	struct db_pool		*p = NULL;
	int			 i;
	enum app_err		 rc = APP_ENOMEM;

	*out = NULL;
	if (size < 1 || conninfo == NULL)
		return APP_EINVAL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto out;
	if ((p->slots = calloc((size_t)size, sizeof(*p->slots))) == NULL ||
	    (p->conninfo = strdup(conninfo)) == NULL)
		goto out;
	for (i = 0; i < size; i++)
		p->slots[i].pool = p;
	p->size = size;
	p->stmt_timeout_ms = statement_timeout_ms;
	p->connect_timeout_s = connect_timeout_s > 0 ? connect_timeout_s : 5;
	p->prepare = true;
	p->ctr = counters != NULL ? counters : &p->own;
	atomic_store(&p->ctr->size, size);
	atomic_store(&p->ctr->in_use, 0);

	/* Waits measure a duration, so they must not jump with the clock. */
	rc = APP_EINTERNAL;
	if (pthread_condattr_init(&p->cattr) != 0)
		goto out;
	if (pthread_condattr_setclock(&p->cattr, CLOCK_MONOTONIC) != 0 ||
	    pthread_mutex_init(&p->mtx, NULL) != 0) {
		pthread_condattr_destroy(&p->cattr);
		goto out;
	}
	*out = p;
	p = NULL;
	rc = APP_OK;
out:
	if (p != NULL) {
		free(p->slots);
		free(p->conninfo);
		free(p);
	}
	return rc;
}

/* FNV-1a, 64 bits: quick, and plenty for a few hundred texts. */
static uint64_t
db_stmt_hash(const char *sql)
{
	const unsigned char	*c = (const unsigned char *)sql;
	uint64_t		 h = 0xcbf29ce484222325ULL;

	for (; *c != '\0'; c++) {
		h ^= *c;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * Empties the slot's statement cache. `stale' when the connection lives
 * on, so the server may still hold what we forget.
 */
static void
db_stmt_forget(struct db_slot *s, bool stale)
{
	int	 i;

	for (i = 0; s->nstmts > 0 && i < DB_STMT_BUCKETS; i++) {
		if (s->stmts[i].sql == NULL)
			continue;
		free(s->stmts[i].sql);
		s->stmts[i].sql = NULL;
		s->nstmts--;
	}
	s->nstmts = 0;
	s->stale = stale;
}

/* Closes the slot's connection; its prepared statements die with it. */
static void
db_slot_close(struct db_slot *s)
{
	if (s->conn != NULL)
		PQfinish(s->conn);
	s->conn = NULL;
	db_stmt_forget(s, false);
}

void
db_pool_destroy(struct db_pool *p)
{
	int	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->size; i++)
		db_slot_close(&p->slots[i]);
	/* Shared counters outlive us: a gone pool has no connections. */
	atomic_store(&p->ctr->in_use, 0);
	atomic_store(&p->ctr->size, 0);
	pthread_mutex_destroy(&p->mtx);
	pthread_condattr_destroy(&p->cattr);
	free(p->slots);
	/* The conninfo may hold a password. */
	explicit_bzero(p->conninfo, strlen(p->conninfo));
	free(p->conninfo);
	free(p);
}

const struct db_counters *
db_pool_counters(const struct db_pool *p)
{
	return p->ctr;
}

void
db_pool_set_prepare(struct db_pool *p, bool on)
{
	p->prepare = on;
}

/* Logs the first line of libpq's message (the rest is a generic hint).
 * It names host, port, user and database, never the password. */
static void
db_log_conn_error(const char *what, PGconn *conn)
{
	const char	*msg;

	msg = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	log_warnx("db: %s: %.*s", what, (int)strcspn(msg, "\n"), msg);
}

/*
 * Opens one connection. The conninfo (a string or a URI) is expanded by
 * libpq; connect_timeout follows it so ours wins, and application_name
 * is only a fallback so an operator's choice wins.
 */
static enum app_err
db_connect(struct db_pool *p, struct db_slot *s)
{
	const char	*keys[] = { "dbname", "connect_timeout",
			    "fallback_application_name", NULL };
	const char	*vals[4];
	char		 tmo[16], stmo[24];
	const char	*params[1];
	PGconn		*conn = NULL;
	enum app_err	 rc = APP_EDB;

	/* Whatever the slot had prepared belonged to its old connection. */
	db_stmt_forget(s, false);
	snprintf(tmo, sizeof(tmo), "%d", p->connect_timeout_s);
	vals[0] = p->conninfo;
	vals[1] = tmo;
	vals[2] = "quipu";
	vals[3] = NULL;
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		db_log_conn_error("cannot connect", conn);
		goto out;
	}
	PQsetNoticeProcessor(conn, db_notice, NULL);
	/*
	 * set_config() rather than SET, so the value is a parameter. It
	 * runs before the connection knows its slot: a statement run once
	 * per connection is not worth preparing, and a failure is counted
	 * once, below.
	 */
	if (p->stmt_timeout_ms > 0) {
		snprintf(stmo, sizeof(stmo), "%dms", p->stmt_timeout_ms);
		params[0] = stmo;
		if ((rc = db_exec(conn, "SELECT set_config('statement_timeout',"
		    " $1, false)", 1, params)) != APP_OK)
			goto out;
	}
	if (!PQregisterEventProc(conn, db_eventproc, "quipu-db", NULL) ||
	    !PQsetInstanceData(conn, db_eventproc, s)) {
		rc = APP_ENOMEM;
		goto out;
	}
	s->conn = conn;
	conn = NULL;
	rc = APP_OK;
out:
	if (conn != NULL)
		PQfinish(conn);
	if (rc != APP_OK)
		atomic_fetch_add(&p->ctr->errors, 1);
	return rc;
}

/*
 * A connection whose server went away (pg_terminate_backend, a restart)
 * still says CONNECTION_OK until libpq reads the socket. An idle
 * connection is normally silent, so a readable socket means a FATAL
 * message, an EOF or a notice: let libpq read it (PQconsumeInput never
 * blocks) until the socket is quiet or the connection is known dead.
 */
static bool
db_conn_alive(PGconn *conn)
{
	struct pollfd	 pfd;
	int		 i;

	for (i = 0; i < 4; i++) {
		if (PQstatus(conn) != CONNECTION_OK ||
		    (pfd.fd = PQsocket(conn)) < 0)
			return false;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0)
			return true;
		if ((pfd.revents & (POLLERR | POLLNVAL)) ||
		    PQconsumeInput(conn) == 0)
			return false;
	}
	return PQstatus(conn) == CONNECTION_OK;
}

/* Makes the slot's connection usable, reconnecting a dead one. */
static enum app_err
db_slot_ready(struct db_pool *p, struct db_slot *s)
{
	if (s->conn != NULL && (!db_conn_alive(s->conn) ||
	    PQtransactionStatus(s->conn) != PQTRANS_IDLE)) {
		log_info("db: reconnecting a broken connection");
		db_slot_close(s);
	}
	if (s->conn != NULL)
		return APP_OK;
	return db_connect(p, s);
}

/* With the mutex held: a free slot, preferring one already connected. */
static struct db_slot *
db_slot_take(struct db_pool *p)
{
	struct db_slot	*spare = NULL;
	int		 i;

	for (i = 0; i < p->size; i++) {
		if (p->slots[i].busy)
			continue;
		if (p->slots[i].conn != NULL) {
			spare = &p->slots[i];
			break;
		}
		if (spare == NULL)
			spare = &p->slots[i];
	}
	if (spare != NULL)
		spare->busy = true;
	return spare;
}

/* With the mutex held: takes `w' out of the queue. */
static void
db_waiter_unlink(struct db_pool *p, struct db_waiter *w)
{
	struct db_waiter	**pp, *prev = NULL;

	for (pp = &p->whead; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != w)
			continue;
		*pp = w->next;
		if (p->wtail == w)
			p->wtail = prev;
		return;
	}
}

/*
 * With the mutex held: a free slot, or one handed over in arrival order
 * within the connect timeout; NULL after it. A newcomer queues behind
 * earlier waiters even when a slot is free at that instant (it is then
 * already promised to the first of them).
 */
static struct db_slot *
db_slot_wait(struct db_pool *p)
{
	struct db_waiter	 w;
	struct timespec		 dl;
	uint64_t		 t0;
	int			 e = 0;

	if (p->whead == NULL && (w.slot = db_slot_take(p)) != NULL)
		return w.slot;
	if (pthread_cond_init(&w.cond, &p->cattr) != 0)
		return NULL;
	w.slot = NULL;
	w.next = NULL;
	if (p->wtail != NULL)
		p->wtail->next = &w;
	else
		p->whead = &w;
	p->wtail = &w;
	atomic_fetch_add(&p->ctr->waits, 1);
	t0 = clock_now_ns() / 1000;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += p->connect_timeout_s;
	while (w.slot == NULL && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&w.cond, &p->mtx, &dl);
	if (w.slot == NULL)
		db_waiter_unlink(p, &w);
	pthread_cond_destroy(&w.cond);
	atomic_fetch_add(&p->ctr->wait_us, clock_now_ns() / 1000 - t0);
	return w.slot;
}

/*
 * With the mutex held: gives a slot back, straight to the first waiter
 * (the slot stays busy, now theirs) or to the free list.
 */
static void
db_slot_put(struct db_pool *p, struct db_slot *s)
{
	struct db_waiter	*w;

	if ((w = p->whead) == NULL) {
		s->busy = false;
		return;
	}
	if ((p->whead = w->next) == NULL)
		p->wtail = NULL;
	w->slot = s;
	pthread_cond_signal(&w->cond);
}

enum app_err
db_acquire(struct db_pool *p, PGconn **out)
{
	struct db_slot	*s;
	enum app_err	 rc;

	*out = NULL;
	if (pthread_mutex_lock(&p->mtx) != 0)
		return APP_EINTERNAL;
	s = db_slot_wait(p);
	pthread_mutex_unlock(&p->mtx);
	if (s == NULL) {
		log_warnx("db: no free connection after %d s (pool of %d)",
		    p->connect_timeout_s, p->size);
		return APP_EUNAVAIL;
	}

	/* The slot is ours now; connect without holding the mutex. */
	if ((rc = db_slot_ready(p, s)) != APP_OK) {
		pthread_mutex_lock(&p->mtx);
		db_slot_put(p, s);
		pthread_mutex_unlock(&p->mtx);
		return rc;
	}
	atomic_fetch_add(&p->ctr->acquires, 1);
	atomic_fetch_add(&p->ctr->in_use, 1);
	*out = s->conn;
	return APP_OK;
}

/*
 * Cleans a returned connection so the next user starts outside any
 * transaction. One that cannot be cleaned is closed; the slot reconnects
 * on its next use.
 */
static void
db_slot_clean(struct db_slot *s)
{
	PGTransactionStatusType	 ts;
	PGresult		*res;

	if (PQstatus(s->conn) == CONNECTION_OK) {
		ts = PQtransactionStatus(s->conn);
		if (ts == PQTRANS_IDLE)
			return;
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
			res = PQexec(s->conn, "ROLLBACK");
			if (res != NULL &&
			    PQresultStatus(res) == PGRES_COMMAND_OK &&
			    PQtransactionStatus(s->conn) == PQTRANS_IDLE) {
				PQclear(res);
				return;
			}
			PQclear(res);
		}
	}
	/* Broken, busy with a query, or the rollback failed. */
	db_slot_close(s);
}

void
db_release(struct db_pool *p, PGconn *conn)
{
	struct db_slot	*s;

	if (conn == NULL)
		return;
	/* Giving back what was never checked out is a bug: crash loudly. */
	s = PQinstanceData(conn, db_eventproc);
	if (s == NULL || s->pool != p || s->conn != conn) {
		log_errx("db: release of a connection not from this pool");
		abort();
	}
	db_slot_clean(s);
	atomic_fetch_sub(&p->ctr->in_use, 1);
	pthread_mutex_lock(&p->mtx);
	db_slot_put(p, s);
	pthread_mutex_unlock(&p->mtx);
}

/* Connection loss, server shutdown and resource exhaustion are "the
 * database is unavailable"; the rest of the classes are our own bugs. */
static enum app_err
db_sqlstate_err(const char *st)
{
	if (strcmp(st, "23505") == 0)
		return APP_ECONFLICT;
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		return APP_ERETRY;
	if (strcmp(st, "57014") == 0)
		return APP_ETIMEOUT;
	if (strncmp(st, "08", 2) == 0 || strncmp(st, "57P0", 4) == 0 ||
	    strncmp(st, "53", 2) == 0)
		return APP_EDB;
	return APP_EINTERNAL;
}

enum app_err
db_result_err(PGconn *conn, const PGresult *res)
{
	const char	*st;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		return APP_EDB;
	if (res == NULL)
		return APP_EDB;
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		return APP_OK;
	default:
		break;
	}
	st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (st == NULL || strlen(st) != 5)
		return APP_EDB;
	return db_sqlstate_err(st);
}

/*
 * Logs a failed statement. Expected outcomes (conflict, retry, timeout)
 * go to debug; others to warn, with the SQLSTATE and the primary message
 * only: the DETAIL field may quote parameter values.
 */
static void
db_log_query_error(PGconn *conn, const PGresult *res, enum app_err rc)
{
	const char	*st, *msg;
	size_t		 len;

	st = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL)
		msg = conn != NULL ? PQerrorMessage(conn) : "no connection";
	len = strcspn(msg, "\n");
	if (rc == APP_ECONFLICT || rc == APP_ERETRY || rc == APP_ETIMEOUT)
		log_debug("db: statement failed: %s: %.*s",
		    st != NULL ? st : "-", (int)len, msg);
	else
		log_warnx("db: statement failed: %s: %.*s",
		    st != NULL ? st : "-", (int)len, msg);
}

/*
 * The bucket of `sql': the one holding it, or the empty one where it
 * would go. NULL when another text has the same hash, hence the same
 * name: that text runs unprepared.
 */
static struct db_stmt *
db_stmt_find(struct db_slot *s, uint64_t h, const char *sql)
{
	struct db_stmt	*b;
	size_t		 i, n;

	i = h & (DB_STMT_BUCKETS - 1);
	for (n = 0; n < DB_STMT_BUCKETS; n++) {
		b = &s->stmts[i];
		if (b->sql == NULL)
			return b;
		if (b->hash == h)
			return strcmp(b->sql, sql) == 0 ? b : NULL;
		i = (i + 1) & (DB_STMT_BUCKETS - 1);
	}
	return NULL;
}

/*
 * Drops the statements the server may still hold after the cache was
 * forgotten, so their names can be prepared again. Only outside a
 * transaction, where a failure cannot abort the caller's work; until it
 * succeeds, statements run unprepared.
 */
static bool
db_stmt_deallocate(struct db_slot *s)
{
	PGresult	*res;
	bool		 ok;

	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		return false;
	res = PQexec(s->conn, "DEALLOCATE ALL");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (ok)
		s->stale = false;
	return ok;
}

enum db_prep {
	DB_PREP_HIT,		/* prepared before: execute it by name */
	DB_PREP_NEW,		/* prepared just now: likewise */
	DB_PREP_PLAIN,		/* run the text unprepared */
	DB_PREP_FAILED		/* PQprepare failed; its result says why */
};

/*
 * Makes sure `sql' is prepared on the slot's connection and writes its
 * name. A failed PQprepare leaves its result (or NULL) in *res: the
 * same error running the text would have given. A full cache, or no
 * memory for the copy, means the text runs unprepared, every time.
 */
static enum db_prep
db_stmt_prepare(struct db_slot *s, const char *sql, int nparams,
    char *name, size_t namelen, PGresult **res)
{
	struct db_stmt	*b;
	char		*copy;
	uint64_t	 h;

	*res = NULL;
	if (s->stale && !db_stmt_deallocate(s))
		return DB_PREP_PLAIN;
	h = db_stmt_hash(sql);
	if ((b = db_stmt_find(s, h, sql)) == NULL)
		return DB_PREP_PLAIN;
	snprintf(name, namelen, "q%016" PRIx64, h);
	if (b->sql != NULL)
		return DB_PREP_HIT;
	if (s->nstmts >= DB_STMT_MAX || (copy = strdup(sql)) == NULL)
		return DB_PREP_PLAIN;
	*res = PQprepare(s->conn, name, sql, nparams, NULL);
	if (PQresultStatus(*res) != PGRES_COMMAND_OK) {
		free(copy);
		return DB_PREP_FAILED;
	}
	PQclear(*res);
	*res = NULL;
	b->hash = h;
	b->sql = copy;
	s->nstmts++;
	return DB_PREP_NEW;
}

/* Whether `res' failed with SQLSTATE `want'. */
static bool
db_sqlstate_is(const PGresult *res, const char *want)
{
	const char	*st;

	if (res == NULL ||
	    (st = PQresultErrorField(res, PG_DIAG_SQLSTATE)) == NULL)
		return false;
	return strcmp(st, want) == 0;
}

/*
 * Why the server and our cache disagree, from the result of a statement
 * prepared earlier (a hit) or of a failed PQprepare; NULL when they
 * agree. In each case nothing of the statement has run.
 */
static const char *
db_stmt_lost(const PGresult *res, enum db_prep how)
{
	if (how == DB_PREP_HIT && db_sqlstate_is(res, "0A000"))
		return "a prepared plan went stale (the schema changed)";
	if (how == DB_PREP_HIT && db_sqlstate_is(res, "26000"))
		return "prepared statements vanished (if this repeats, a "
		    "pooler drops them: set db_prepare = off)";
	if (how == DB_PREP_FAILED && db_sqlstate_is(res, "42P05"))
		return "a statement name is taken (if this repeats, a pooler "
		    "mixes sessions: set db_prepare = off)";
	return NULL;
}

/*
 * Runs `sql' as PQexecParams would, prepared when the connection belongs
 * to a pool that prepares. db_connect runs its statement before the
 * connection knows its slot, so that one is never prepared.
 */
static PGresult *
db_execute(PGconn *conn, const char *sql, int nparams,
    const char *const *params)
{
	struct db_slot	*s;
	PGresult	*res = NULL;
	enum db_prep	 how;
	const char	*why;
	char		 name[24];

	s = PQinstanceData(conn, db_eventproc);
	if (s == NULL || !s->pool->prepare)
		return PQexecParams(conn, sql, nparams, NULL, params, NULL,
		    NULL, 0);
	how = db_stmt_prepare(s, sql, nparams, name, sizeof(name), &res);
	if (how == DB_PREP_PLAIN)
		return PQexecParams(conn, sql, nparams, NULL, params, NULL,
		    NULL, 0);
	if (how != DB_PREP_FAILED)
		res = PQexecPrepared(conn, name, nparams, params, NULL, NULL,
		    0);
	if ((why = db_stmt_lost(res, how)) == NULL)
		return res;
	log_info("db: %s; preparing afresh", why);
	db_stmt_forget(s, true);
	/* Inside a transaction the error has aborted it: the caller's. */
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return res;
	PQclear(res);
	return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

enum app_err
db_query(PGconn *conn, const char *sql, int nparams,
    const char *const *params, PGresult **out)
{
	PGresult	*res = NULL;
	enum app_err	 rc = APP_EDB;

	if (out != NULL)
		*out = NULL;
	if (conn == NULL)
		goto out;
	res = db_execute(conn, sql, nparams, params);
	if ((rc = db_result_err(conn, res)) != APP_OK) {
		db_log_query_error(conn, res, rc);
		/* Constraint violations are the caller's business, not a
		 * database health problem worth a metric. */
		if (rc != APP_ECONFLICT)
			db_count_error(conn);
		goto out;
	}
	if (out != NULL) {
		*out = res;
		res = NULL;
	}
out:
	PQclear(res);
	return rc;
}

enum app_err
db_exec(PGconn *conn, const char *sql, int nparams,
    const char *const *params)
{
	return db_query(conn, sql, nparams, params, NULL);
}

enum app_err
db_begin(PGconn *conn)
{
	return db_exec(conn, "BEGIN", 0, NULL);
}

/*
 * COMMIT of a failed transaction "succeeds" with the tag ROLLBACK; that
 * must not look like a commit to the caller.
 */
enum app_err
db_commit(PGconn *conn)
{
	PGresult	*res = NULL;
	enum app_err	 rc;

	if ((rc = db_query(conn, "COMMIT", 0, NULL, &res)) != APP_OK)
		return rc;
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		log_warnx("db: commit of a failed transaction rolled back");
		rc = APP_EINTERNAL;
	}
	PQclear(res);
	return rc;
}

void
db_rollback(PGconn *conn)
{
	PGTransactionStatusType	 ts;
	PGresult		*res;

	if (conn == NULL)
		return;
	ts = PQtransactionStatus(conn);
	if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
		return;
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
}

enum app_err
db_ping(struct db_pool *p)
{
	PGconn		*conn = NULL;
	enum app_err	 rc;

	if (p == NULL)
		return APP_EDB;
	if ((rc = db_acquire(p, &conn)) != APP_OK)
		return rc;
	rc = db_exec(conn, "SELECT 1", 0, NULL);
	db_release(p, conn);
	return rc;
}

char *
db_bytea(struct arena *ar, const void *b, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = b;
	char			*s;
	size_t			 i;

	if (len > (SIZE_MAX - 3) / 2 ||
	    (s = arena_alloc(ar, 2 + len * 2 + 1)) == NULL)
		return NULL;
	s[0] = '\\';
	s[1] = 'x';
	for (i = 0; i < len; i++) {
		s[2 + i * 2] = hex[p[i] >> 4];
		s[3 + i * 2] = hex[p[i] & 0x0f];
	}
	s[2 + len * 2] = '\0';
	return s;
}

enum app_err
db_run(struct db_pool *pool, const char *sql, int n,
    const char *const *params, PGresult **out)
{
	PGconn		*conn;
	enum app_err	 e;

	if ((e = db_acquire(pool, &conn)) != APP_OK)
		return e;
	e = db_query(conn, sql, n, params, out);
	db_release(pool, conn);
	return e;
}

const char *
db_value(struct arena *ar, const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return arena_strdup(ar, PQgetvalue(r, row, col));
}

bool
db_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

enum app_err
db_one(struct db_pool *pool, struct arena *ar, const char *sql, int n,
    const char *const *p, char **out)
{
	PGresult	*r;
	enum app_err	 e;

	*out = NULL;
	if ((e = db_run(pool, sql, n, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) != 1)
		e = APP_ENOTFOUND;
	else if (!PQgetisnull(r, 0, 0) &&
	    (*out = (char *)db_value(ar, r, 0, 0)) == NULL)
		e = APP_ENOMEM;
	PQclear(r);
	return e;
}
