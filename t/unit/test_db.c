/*
 * test_db.c: the PostgreSQL pool, SQLSTATE mapping and migrations,
 * against a real server named by QUIPU_TEST_PGURI (a libpq conninfo).
 * Without it the test is skipped (exit 77).
 *
 * Everything runs in a throwaway database quipu_t_<pid>, created by the
 * group setup and dropped (WITH FORCE) by the group teardown.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "apperr.h"
#include "db.h"
#include "migrate.h"

static const char	*admin_uri;	/* QUIPU_TEST_PGURI */
static char		 dbname[64];	/* quipu_t_<pid> */
static char		*test_uri;	/* admin_uri with dbname replaced */
static char		 sqldir[256];	/* synthetic migrations */

/* Rebuilds `uri' (string or URI) as key='value' pairs with a new dbname. */
static char *
uri_with_db(const char *uri, const char *db)
{
	PQconninfoOption	*opts, *o;
	char			*errmsg = NULL, *out;
	size_t			 len = 0, cap = 4096;
	const char		*v;

	if ((opts = PQconninfoParse(uri, &errmsg)) == NULL) {
		fprintf(stderr, "bad QUIPU_TEST_PGURI: %s\n",
		    errmsg ? errmsg : "?");
		PQfreemem(errmsg);
		return NULL;
	}
	out = calloc(1, cap);
	for (o = opts; out != NULL && o->keyword != NULL; o++) {
		v = strcmp(o->keyword, "dbname") == 0 ? db : o->val;
		if (v == NULL)
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s='", o->keyword);
		for (; *v != '\0' && len + 4 < cap; v++) {
			if (*v == '\'' || *v == '\\')
				out[len++] = '\\';
			out[len++] = *v;
		}
		len += (size_t)snprintf(out + len, cap - len, "' ");
	}
	PQconninfoFree(opts);
	return out;
}

static void
quiet(void *arg, const char *msg)
{
}

/* Runs one admin statement on the maintenance database. */
static int
admin_exec(const char *sql)
{
	PGconn		*c;
	PGresult	*r;
	int		 ok;

	c = PQconnectdb(admin_uri);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "admin connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Removes the synthetic migrations directory (flat, files only). */
static void
rm_dir(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[512];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

static int
group_setup(void **state)
{
	char	 sql[128];

	snprintf(dbname, sizeof(dbname), "quipu_t_%ld", (long)getpid());
	/* The name is made of digits we formatted: safe as an identifier. */
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", dbname);
	if (admin_exec(sql) != 0)
		return -1;
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", dbname);
	if (admin_exec(sql) != 0)
		return -1;
	if ((test_uri = uri_with_db(admin_uri, dbname)) == NULL)
		return -1;
	snprintf(sqldir, sizeof(sqldir), "/tmp/quipu_t_sql_%ld",
	    (long)getpid());
	if (mkdir(sqldir, 0700) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char	 sql[256];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
	    dbname);
	(void)admin_exec(sql);
	rm_dir(sqldir);
	free(test_uri);
	return 0;
}

static struct db_pool *
pool_new(int size, int stmt_ms, int connect_s)
{
	struct db_pool	*p = NULL;

	assert_int_equal(db_pool_create(test_uri, size, stmt_ms, connect_s,
	    NULL, &p), APP_OK);
	return p;
}

/* The backend pid of `c', to tell connections apart. */
static long
backend_pid(PGconn *c)
{
	PGresult	*r = NULL;
	long		 pid;

	assert_int_equal(db_query(c, "SELECT pg_backend_pid()", 0, NULL, &r),
	    APP_OK);
	pid = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return pid;
}

static void
test_acquire_release(void **state)
{
	struct db_pool			*p = pool_new(2, 0, 1);
	const struct db_counters	*k = db_pool_counters(p);
	PGconn				*a = NULL, *b = NULL, *c = NULL;

	assert_int_equal(db_acquire(p, &a), APP_OK);
	assert_int_equal(db_acquire(p, &b), APP_OK);
	assert_ptr_not_equal(a, b);
	assert_int_equal(atomic_load(&k->in_use), 2);
	/* Both busy: the third waits the connect timeout (1 s), then gives up. */
	assert_int_equal(db_acquire(p, &c), APP_EUNAVAIL);
	assert_null(c);
	assert_int_equal(atomic_load(&k->waits), 1);
	assert_true(atomic_load(&k->wait_us) >= 900000);
	db_release(p, b);
	/* The freed connection is reused, not reopened. */
	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_ptr_equal(c, b);
	assert_int_equal(db_exec(c, "SELECT 1", 0, NULL), APP_OK);
	db_release(p, c);
	db_release(p, a);
	db_release(p, NULL);
	assert_int_equal(atomic_load(&k->in_use), 0);
	assert_int_equal(atomic_load(&k->acquires), 3);
	assert_int_equal(atomic_load(&k->size), 2);
	assert_int_equal(db_ping(p), APP_OK);
	db_pool_destroy(p);
}

/* Kills the backend `pid' from an admin connection and waits for it. */
static void
kill_backend(long pid)
{
	PGconn		*admin;
	PGresult	*r;
	char		 buf[24];
	const char	*params[1] = { buf };

	snprintf(buf, sizeof(buf), "%ld", pid);
	admin = PQconnectdb(admin_uri);
	assert_int_equal(PQstatus(admin), CONNECTION_OK);
	r = PQexecParams(admin, "SELECT pg_terminate_backend($1::int, 5000)",
	    1, NULL, params, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	PQfinish(admin);
}

static void
test_reconnect(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	long		 before;

	assert_int_equal(db_acquire(p, &c), APP_OK);
	before = backend_pid(c);
	db_release(p, c);

	/* Kill the pooled connection's backend and wait until it is gone. */
	kill_backend(before);

	/* The next checkout notices and hands out a working connection. */
	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_true(backend_pid(c) != before);
	db_release(p, c);
	db_pool_destroy(p);
}

static void
test_release_mid_transaction(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	PGresult	*r = NULL;

	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(db_exec(c, "CREATE TABLE t_tx (x int)", 0, NULL),
	    APP_OK);
	assert_int_equal(db_begin(c), APP_OK);
	assert_int_equal(db_exec(c, "INSERT INTO t_tx VALUES (1)", 0, NULL),
	    APP_OK);
	db_release(p, c);		/* forgot to commit */

	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	assert_int_equal(db_query(c, "SELECT count(*) FROM t_tx", 0, NULL,
	    &r), APP_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "0");
	PQclear(r);

	/* A transaction broken by an error is cleaned up as well. */
	assert_int_equal(db_begin(c), APP_OK);
	assert_int_equal(db_exec(c, "SELECT 1/0", 0, NULL), APP_EINTERNAL);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
	assert_int_equal(db_commit(c), APP_EINTERNAL);
	db_release(p, c);
	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	assert_int_equal(db_exec(c, "DROP TABLE t_tx", 0, NULL), APP_OK);
	db_release(p, c);
	db_pool_destroy(p);
}

static void
test_sqlstate(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	const char	*v[1] = { "x" };

	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(db_exec(c, "CREATE TABLE t_u (k text PRIMARY KEY)",
	    0, NULL), APP_OK);
	assert_int_equal(db_exec(c, "INSERT INTO t_u VALUES ($1)", 1, v),
	    APP_OK);
	assert_int_equal(db_exec(c, "INSERT INTO t_u VALUES ($1)", 1, v),
	    APP_ECONFLICT);
	assert_int_equal(db_exec(c, "SELECT * FROM no_such_table", 0, NULL),
	    APP_EINTERNAL);
	assert_int_equal(db_exec(c, "DROP TABLE t_u", 0, NULL), APP_OK);
	assert_int_equal(db_result_err(NULL, NULL), APP_EDB);
	db_release(p, c);
	/* Conflicts are the caller's business; the bad table is an error. */
	assert_int_equal(atomic_load(&db_pool_counters(p)->errors), 1);
	db_pool_destroy(p);
}

static void
test_statement_timeout(void **state)
{
	struct db_pool	*p = pool_new(1, 100, 2);
	PGconn		*c = NULL;

	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(db_exec(c, "SELECT pg_sleep(2)", 0, NULL),
	    APP_ETIMEOUT);
	assert_int_equal(db_exec(c, "SELECT 1", 0, NULL), APP_OK);
	db_release(p, c);
	db_pool_destroy(p);
}

static void
test_unreachable(void **state)
{
	struct db_pool	*p = NULL;
	PGconn		*c = NULL;

	/* A port where nothing listens: connect fails fast, pool survives. */
	assert_int_equal(db_pool_create("host=127.0.0.1 port=1 user=nobody",
	    1, 0, 1, NULL, &p), APP_OK);
	assert_int_equal(db_acquire(p, &c), APP_EDB);
	assert_null(c);
	assert_int_equal(db_ping(p), APP_EDB);
	assert_int_equal(atomic_load(&db_pool_counters(p)->errors), 2);
	assert_int_equal(atomic_load(&db_pool_counters(p)->in_use), 0);
	db_pool_destroy(p);
}

static void
test_migrate_list(void **state)
{
	char	**names = NULL;
	size_t	 n = 0;

	write_file(sqldir, "002_tasks.sql",
	    "CREATE TABLE t_tasks (id bigint PRIMARY KEY);\n"
	    "CREATE INDEX ON t_tasks (id);\n");
	write_file(sqldir, "001_first.sql", "CREATE TABLE t_first (x int);\n");
	write_file(sqldir, "1000_late.sql", "SELECT 1;\n");
	write_file(sqldir, "README", "not a migration\n");
	write_file(sqldir, "01_short.sql", "SELECT 1;\n");
	write_file(sqldir, "003_x.sql~", "SELECT 1;\n");
	assert_int_equal(migrate_list(sqldir, &names, &n), APP_OK);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "001_first");
	assert_string_equal(names[1], "002_tasks");
	assert_string_equal(names[2], "1000_late");
	migrate_list_free(names, n);
	assert_int_equal(migrate_list("/nonexistent/quipu", &names, &n),
	    APP_ENOTFOUND);
	assert_null(names);
}

/* Pending counts before and after migrate_run, and idempotence. */
static void
test_migrate_run(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	char		**names = NULL;
	char		*extra[4];
	size_t		 n = 0, pending = 99;
	const char	*first = NULL;
	int		 applied = -1;

	assert_int_equal(migrate_list(sqldir, &names, &n), APP_OK);
	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(migrate_pending(c, names, n, &pending, &first),
	    APP_OK);
	assert_int_equal(pending, 3);
	assert_string_equal(first, "001_first");

	assert_int_equal(migrate_run(test_uri, sqldir, &applied), APP_OK);
	assert_int_equal(applied, 3);
	assert_int_equal(migrate_run(test_uri, sqldir, &applied), APP_OK);
	assert_int_equal(applied, 0);
	assert_int_equal(migrate_pending(c, names, n, &pending, &first),
	    APP_OK);
	assert_int_equal(pending, 0);
	assert_null(first);
	assert_int_equal(db_exec(c, "INSERT INTO t_tasks VALUES (1)", 0,
	    NULL), APP_OK);

	/* A migration the database has not seen yet. */
	extra[0] = names[0];
	extra[1] = names[1];
	extra[2] = (char *)"1001_future";
	extra[3] = names[2];
	assert_int_equal(migrate_pending(c, extra, 4, &pending, &first),
	    APP_OK);
	assert_int_equal(pending, 1);
	assert_string_equal(first, "1001_future");
	db_release(p, c);
	db_pool_destroy(p);
	migrate_list_free(names, n);
}

/* A failing migration leaves nothing behind and stops the run. */
static void
test_migrate_failure(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	PGresult	*r = NULL;
	int		 applied = -1;

	write_file(sqldir, "1002_bad.sql",
	    "CREATE TABLE t_bad (x int);\nSELECT * FROM no_such_table;\n");
	assert_int_not_equal(migrate_run(test_uri, sqldir, &applied), APP_OK);
	assert_int_equal(applied, 0);
	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(db_query(c, "SELECT to_regclass('t_bad') IS NULL,"
	    " (SELECT count(*) FROM schema_migrations)", 0, NULL, &r), APP_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	assert_string_equal(PQgetvalue(r, 0, 1), "3");
	PQclear(r);
	db_release(p, c);
	db_pool_destroy(p);
	write_file(sqldir, "1002_bad.sql", "SELECT 1;\n");
	assert_int_equal(migrate_run(test_uri, sqldir, &applied), APP_OK);
	assert_int_equal(applied, 1);
}

/* The shipped sql/ applies on a fresh schema and enforces its rules. */
static void
test_shipped_sql(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	char		 dir[512];
	const char	*src = getenv("QUIPU_TEST_SRCDIR");
	const char	*u1[2] = { "Alice", "h" }, *u2[2] = { "aLICE", "h" };
	int		 applied = -1;

	snprintf(dir, sizeof(dir), "%s/sql", src != NULL ? src : ".");
	assert_int_equal(migrate_run(test_uri, dir, &applied), APP_OK);
	assert_true(applied >= 1);
	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(db_exec(c, "INSERT INTO users (username,"
	    " password_hash) VALUES ($1, $2)", 2, u1), APP_OK);
	assert_int_equal(db_exec(c, "INSERT INTO users (username,"
	    " password_hash) VALUES ($1, $2)", 2, u2), APP_ECONFLICT);
	db_release(p, c);
	db_pool_destroy(p);
}

/* ------------------------------------------------ prepared statements */

/* A statement with parameters, and the two values it is run with. */
static const char	 q_sql[] = "SELECT $1::int + 1 AS n, upper($2) AS s,"
			    " $3::text IS NULL AS z";
static const char *const q_params[3] = { "41", "abc", NULL };

/*
 * How many statements with text `sql' (all when NULL) are prepared on
 * `c', asked on `c' itself: pg_prepared_statements is per session.
 */
static long
prepared_count(PGconn *c, const char *sql)
{
	PGresult	*r = NULL;
	const char	*params[1] = { sql };
	long		 n;

	if (sql != NULL)
		assert_int_equal(db_query(c, "SELECT count(*) FROM"
		    " pg_prepared_statements WHERE statement = $1 AND NOT"
		    " from_sql AND name ~ '^q[0-9a-f]{16}$'", 1, params, &r),
		    APP_OK);
	else
		assert_int_equal(db_query(c, "SELECT count(*) FROM"
		    " pg_prepared_statements", 0, NULL, &r), APP_OK);
	n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

/* Two results are the same to a caller: shape, names, types, values. */
static void
assert_same_result(const PGresult *a, const PGresult *b)
{
	int	 i, j;

	assert_int_equal(PQresultStatus(a), PQresultStatus(b));
	assert_string_equal(PQcmdStatus((PGresult *)a),
	    PQcmdStatus((PGresult *)b));
	assert_int_equal(PQntuples(a), PQntuples(b));
	assert_int_equal(PQnfields(a), PQnfields(b));
	for (j = 0; j < PQnfields(a); j++) {
		assert_string_equal(PQfname(a, j), PQfname(b, j));
		assert_int_equal(PQftype(a, j), PQftype(b, j));
	}
	for (i = 0; i < PQntuples(a); i++)
		for (j = 0; j < PQnfields(a); j++) {
			assert_int_equal(PQgetisnull(a, i, j),
			    PQgetisnull(b, i, j));
			assert_string_equal(PQgetvalue(a, i, j),
			    PQgetvalue(b, i, j));
		}
}

/* q_sql on `c', checked; the result for comparisons. */
static PGresult *
run_q(PGconn *c)
{
	PGresult	*r = NULL;

	assert_int_equal(db_query(c, q_sql, 3, q_params, &r), APP_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "42");
	assert_string_equal(PQgetvalue(r, 0, 1), "ABC");
	assert_string_equal(PQgetvalue(r, 0, 2), "t");
	return r;
}

/* A text run twice is prepared once; without preparing, same results. */
static void
test_prepare_once(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2), *q = pool_new(1, 0, 2);
	PGconn		*c = NULL, *d = NULL;
	PGresult	*r1, *r2, *r3;

	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(prepared_count(c, q_sql), 0);
	r1 = run_q(c);
	r2 = run_q(c);
	assert_same_result(r1, r2);
	assert_int_equal(prepared_count(c, q_sql), 1);
	/* Transactions work through prepared BEGIN and COMMIT. */
	assert_int_equal(db_begin(c), APP_OK);
	PQclear(run_q(c));
	assert_int_equal(db_commit(c), APP_OK);
	assert_int_equal(prepared_count(c, q_sql), 1);
	db_release(p, c);

	db_pool_set_prepare(q, false);
	assert_int_equal(db_acquire(q, &d), APP_OK);
	r3 = run_q(d);
	PQclear(run_q(d));
	assert_same_result(r1, r3);
	assert_int_equal(db_begin(d), APP_OK);
	assert_int_equal(db_commit(d), APP_OK);
	assert_int_equal(prepared_count(d, NULL), 0);
	db_release(q, d);

	PQclear(r1);
	PQclear(r2);
	PQclear(r3);
	assert_int_equal(atomic_load(&db_pool_counters(p)->errors), 0);
	db_pool_destroy(p);
	db_pool_destroy(q);
}

/*
 * Failing statements map to the same errors, and count the same, with
 * and without preparing; a text that does not parse is not kept.
 */
static void
check_errors(bool prepare)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	const char	*bad = "SELECT * FROM no_such_table";
	const char	*div = "SELECT 1 / $1::int";
	const char	*zero[1] = { "0" }, *one[1] = { "1" };
	const char	*v[1] = { "k" };

	db_pool_set_prepare(p, prepare);
	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(db_exec(c, bad, 0, NULL), APP_EINTERNAL);
	assert_int_equal(db_exec(c, bad, 0, NULL), APP_EINTERNAL);
	assert_int_equal(prepared_count(c, bad), 0);
	assert_int_equal(atomic_load(&db_pool_counters(p)->errors), 2);

	/* Parses, fails when run: prepared, and still fine with good input. */
	assert_int_equal(db_exec(c, div, 1, zero), APP_EINTERNAL);
	assert_int_equal(db_exec(c, div, 1, one), APP_OK);
	assert_int_equal(prepared_count(c, div), prepare ? 1 : 0);

	assert_int_equal(db_exec(c, "CREATE TEMP TABLE t_pu (k text UNIQUE)",
	    0, NULL), APP_OK);
	assert_int_equal(db_exec(c, "INSERT INTO t_pu VALUES ($1)", 1, v),
	    APP_OK);
	assert_int_equal(db_exec(c, "INSERT INTO t_pu VALUES ($1)", 1, v),
	    APP_ECONFLICT);
	assert_int_equal(db_exec(c, "SELECT 1; SELECT 2", 0, NULL),
	    APP_EINTERNAL);

	/* Inside a transaction a bad text aborts it, as it always did. */
	assert_int_equal(db_begin(c), APP_OK);
	assert_int_equal(db_exec(c, bad, 0, NULL), APP_EINTERNAL);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
	assert_int_equal(db_exec(c, "SELECT 1", 0, NULL), APP_EINTERNAL);
	assert_int_equal(db_commit(c), APP_EINTERNAL);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	assert_int_equal(atomic_load(&db_pool_counters(p)->errors), 6);
	db_release(p, c);
	db_pool_destroy(p);
}

static void
test_prepare_errors(void **state)
{
	check_errors(true);
	check_errors(false);
}

/*
 * A pooler's DISCARD ALL drops the statements behind our back: outside
 * a transaction the statement is retried, inside one it fails, and the
 * connection prepares afresh afterwards.
 */
static void
test_prepare_discarded(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	PGresult	*r;

	assert_int_equal(db_acquire(p, &c), APP_OK);
	PQclear(run_q(c));
	assert_int_equal(prepared_count(c, q_sql), 1);

	r = PQexec(c, "DISCARD ALL");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQclear(run_q(c));
	/* It ran unprepared, by the retry, and nothing counted as an error. */
	assert_int_equal(prepared_count(c, q_sql), 0);
	assert_int_equal(atomic_load(&db_pool_counters(p)->errors), 0);
	PQclear(run_q(c));
	assert_int_equal(prepared_count(c, q_sql), 1);

	/* The same inside a transaction: the error is the caller's. */
	r = PQexec(c, "DEALLOCATE ALL");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	r = PQexec(c, "BEGIN");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	assert_int_equal(db_query(c, q_sql, 3, q_params, NULL), APP_EINTERNAL);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
	db_rollback(c);
	PQclear(run_q(c));
	assert_int_equal(prepared_count(c, q_sql), 1);
	db_release(p, c);
	db_pool_destroy(p);
}

/*
 * A name taken on the server but unknown to the cache (a pooler that
 * mixes sessions): the statement runs unprepared, and the connection
 * starts afresh.
 */
static void
test_prepare_name_taken(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2), *q = pool_new(1, 0, 2);
	PGconn		*c = NULL, *d = NULL;
	PGresult	*r = NULL;
	const char	*params[1] = { q_sql };
	char		 sql[128];

	assert_int_equal(db_acquire(p, &c), APP_OK);
	PQclear(run_q(c));
	assert_int_equal(db_query(c, "SELECT name FROM pg_prepared_statements"
	    " WHERE statement = $1", 1, params, &r), APP_OK);
	assert_int_equal(PQntuples(r), 1);
	/* The name is "q" and hex digits: safe in SQL. */
	snprintf(sql, sizeof(sql), "PREPARE %s AS SELECT 1",
	    PQgetvalue(r, 0, 0));
	PQclear(r);

	assert_int_equal(db_acquire(q, &d), APP_OK);
	r = PQexec(d, sql);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQclear(run_q(d));
	PQclear(run_q(d));
	assert_int_equal(prepared_count(d, q_sql), 1);
	assert_int_equal(atomic_load(&db_pool_counters(q)->errors), 0);
	db_release(q, d);
	db_release(p, c);
	db_pool_destroy(q);
	db_pool_destroy(p);
}

/* A migration changes a table under a prepared SELECT *. */
static void
test_prepare_stale_plan(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	PGresult	*r = NULL;
	const char	*sel = "SELECT * FROM t_plan";

	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_int_equal(db_exec(c, "CREATE TABLE t_plan (x int)", 0, NULL),
	    APP_OK);
	assert_int_equal(db_exec(c, "INSERT INTO t_plan VALUES (1)", 0, NULL),
	    APP_OK);
	assert_int_equal(db_exec(c, sel, 0, NULL), APP_OK);
	assert_int_equal(db_exec(c, sel, 0, NULL), APP_OK);
	assert_int_equal(prepared_count(c, sel), 1);

	assert_int_equal(db_exec(c, "ALTER TABLE t_plan ADD COLUMN y int"
	    " DEFAULT 2", 0, NULL), APP_OK);
	assert_int_equal(db_query(c, sel, 0, NULL, &r), APP_OK);
	assert_int_equal(PQnfields(r), 2);
	assert_string_equal(PQgetvalue(r, 0, 1), "2");
	PQclear(r);
	r = NULL;
	assert_int_equal(atomic_load(&db_pool_counters(p)->errors), 0);

	/* Prepared again; inside a transaction the change is an error. */
	assert_int_equal(db_exec(c, sel, 0, NULL), APP_OK);
	assert_int_equal(prepared_count(c, sel), 1);
	assert_int_equal(db_exec(c, "ALTER TABLE t_plan ADD COLUMN z int",
	    0, NULL), APP_OK);
	assert_int_equal(db_begin(c), APP_OK);
	assert_int_equal(db_exec(c, sel, 0, NULL), APP_EINTERNAL);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
	db_rollback(c);
	assert_int_equal(db_query(c, sel, 0, NULL, &r), APP_OK);
	assert_int_equal(PQnfields(r), 3);
	PQclear(r);
	assert_int_equal(prepared_count(c, sel), 1);
	assert_int_equal(db_exec(c, "DROP TABLE t_plan", 0, NULL), APP_OK);
	db_release(p, c);
	db_pool_destroy(p);
}

/*
 * A replaced connection starts with an empty cache: the statement is
 * prepared on the new one rather than tried by name and retried (which
 * would leave it unprepared, see test_prepare_discarded).
 */
static void
test_prepare_reconnect(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	long		 before;

	assert_int_equal(db_acquire(p, &c), APP_OK);
	PQclear(run_q(c));
	before = backend_pid(c);
	db_release(p, c);
	kill_backend(before);

	assert_int_equal(db_acquire(p, &c), APP_OK);
	assert_true(backend_pid(c) != before);
	PQclear(run_q(c));
	assert_int_equal(prepared_count(c, q_sql), 1);
	db_release(p, c);
	db_pool_destroy(p);
}

/* Past DB_STMT_MAX texts, the rest run unprepared and still work. */
static void
test_prepare_full(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 2);
	PGconn		*c = NULL;
	PGresult	*r;
	char		 sql[64], want[16], arg[16];
	const char	*params[1] = { arg };
	int		 i, n = DB_STMT_MAX + 44;

	assert_int_equal(db_acquire(p, &c), APP_OK);
	for (i = 0; i < 2 * n; i++) {
		r = NULL;
		snprintf(sql, sizeof(sql), "SELECT $1::int + %d", i % n);
		snprintf(arg, sizeof(arg), "%d", i);
		snprintf(want, sizeof(want), "%d", i + i % n);
		assert_int_equal(db_query(c, sql, 1, params, &r), APP_OK);
		assert_string_equal(PQgetvalue(r, 0, 0), want);
		PQclear(r);
	}
	assert_int_equal(prepared_count(c, NULL), DB_STMT_MAX);
	db_release(p, c);
	assert_int_equal(atomic_load(&db_pool_counters(p)->errors), 0);
	db_pool_destroy(p);
}

struct hammer {
	struct db_pool	*pool;
	int		 ok;
};

static void *
hammer_run(void *arg)
{
	struct hammer	*h = arg;
	PGconn		*c;
	int		 i;

	for (i = 0; i < 50; i++) {
		c = NULL;
		if (db_acquire(h->pool, &c) != APP_OK)
			continue;
		if (db_exec(c, "SELECT 1", 0, NULL) == APP_OK)
			h->ok++;
		db_release(h->pool, c);
	}
	return NULL;
}

/* Eight threads share two connections: every checkout succeeds. */
static void
test_contention(void **state)
{
	struct db_pool			*p = pool_new(2, 0, 5);
	const struct db_counters	*k = db_pool_counters(p);
	struct hammer			 h[8];
	pthread_t			 t[8];
	int				 i, total = 0;

	for (i = 0; i < 8; i++) {
		h[i].pool = p;
		h[i].ok = 0;
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]),
		    0);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		total += h[i].ok;
	}
	assert_int_equal(total, 400);
	assert_int_equal(atomic_load(&k->acquires), 400);
	assert_int_equal(atomic_load(&k->in_use), 0);
	assert_true(atomic_load(&k->waits) > 0);
	db_pool_destroy(p);
}

struct queued {
	struct db_pool	*pool;
	pthread_mutex_t	*mtx;
	int		*next;		/* the order they got the connection */
	int		 got;
	enum app_err	 rc;
};

static void *
queued_run(void *arg)
{
	struct queued	*q = arg;
	PGconn		*c = NULL;

	if ((q->rc = db_acquire(q->pool, &c)) != APP_OK)
		return NULL;
	pthread_mutex_lock(q->mtx);
	q->got = (*q->next)++;
	pthread_mutex_unlock(q->mtx);
	usleep(20000);
	db_release(q->pool, c);
	return NULL;
}

/*
 * One connection, held; four threads come to wait for it 50 ms apart:
 * they get it in the order they came (first come, first served).
 */
static void
test_fifo(void **state)
{
	struct db_pool	*p = pool_new(1, 0, 5);
	pthread_mutex_t	 mtx = PTHREAD_MUTEX_INITIALIZER;
	struct queued	 q[4];
	pthread_t	 t[4];
	PGconn		*held = NULL;
	int		 i, next = 0;

	(void)state;
	assert_int_equal(db_acquire(p, &held), APP_OK);
	for (i = 0; i < 4; i++) {
		q[i].pool = p;
		q[i].mtx = &mtx;
		q[i].next = &next;
		q[i].got = -1;
		assert_int_equal(pthread_create(&t[i], NULL, queued_run, &q[i]),
		    0);
		usleep(50000);
	}
	db_release(p, held);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(q[i].rc, APP_OK);
		assert_int_equal(q[i].got, i);
	}
	assert_int_equal(atomic_load(&db_pool_counters(p)->waits), 4);
	assert_int_equal(atomic_load(&db_pool_counters(p)->in_use), 0);
	db_pool_destroy(p);
}

struct runner {
	const char	*uri;
	const char	*dir;
	int		 applied;
	enum app_err	 rc;
};

static void *
runner_run(void *arg)
{
	struct runner	*r = arg;

	r->rc = migrate_run(r->uri, r->dir, &r->applied);
	return NULL;
}

/* Two runners on a fresh database: the advisory lock serialises them,
 * and each migration is applied exactly once. */
static void
test_migrate_concurrent(void **state)
{
	char		 db[80], sql[160], dir[300];
	char		*uri;
	struct runner	 r[2];
	pthread_t	 t[2];
	int		 i;

	snprintf(db, sizeof(db), "%s_c", dbname);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	assert_int_equal(admin_exec(sql), 0);
	assert_non_null(uri = uri_with_db(admin_uri, db));
	snprintf(dir, sizeof(dir), "%s/c", sqldir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(dir, "001_a.sql", "CREATE TABLE a (x int);\n"
	    "SELECT pg_sleep(0.2);\n");
	write_file(dir, "002_b.sql", "CREATE TABLE b (x int);\n");
	for (i = 0; i < 2; i++) {
		r[i].uri = uri;
		r[i].dir = dir;
		r[i].applied = -1;
		assert_int_equal(pthread_create(&t[i], NULL, runner_run, &r[i]),
		    0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(r[0].rc, APP_OK);
	assert_int_equal(r[1].rc, APP_OK);
	assert_int_equal(r[0].applied + r[1].applied, 2);
	rm_dir(dir);
	free(uri);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", db);
	assert_int_equal(admin_exec(sql), 0);
}

/*
 * The integration harness's lock (t/integration/harness.c): every program
 * using the test cluster holds t/tmp/pg.lock shared, and test_health
 * takes it exclusively before it stops the cluster. Held until exit.
 */
static void
pg_lock_shared(void)
{
	const char	*b = getenv("QUIPU_TEST_BUILDDIR");
	char		 dir[512], path[600];
	int		 fd;

	snprintf(dir, sizeof(dir), "%s/t/tmp", b != NULL ? b : ".");
	(void)mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/pg.lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1 ||
	    flock(fd, LOCK_SH) == -1)
		fprintf(stderr, "test_db: %s: cannot lock; a parallel "
		    "test_health may stop the cluster under us\n", path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acquire_release),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_release_mid_transaction),
		cmocka_unit_test(test_sqlstate),
		cmocka_unit_test(test_statement_timeout),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_contention),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_prepare_once),
		cmocka_unit_test(test_prepare_errors),
		cmocka_unit_test(test_prepare_discarded),
		cmocka_unit_test(test_prepare_name_taken),
		cmocka_unit_test(test_prepare_stale_plan),
		cmocka_unit_test(test_prepare_reconnect),
		cmocka_unit_test(test_prepare_full),
		cmocka_unit_test(test_migrate_list),
		cmocka_unit_test(test_migrate_run),
		cmocka_unit_test(test_migrate_failure),
		cmocka_unit_test(test_shipped_sql),
		cmocka_unit_test(test_migrate_concurrent),
	};

	if ((admin_uri = getenv("QUIPU_TEST_PGURI")) == NULL ||
	    admin_uri[0] == '\0') {
		fprintf(stderr, "QUIPU_TEST_PGURI not set: skipped\n");
		return 77;
	}
	pg_lock_shared();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
