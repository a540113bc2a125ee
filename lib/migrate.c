/*
 * migrate.c: applies sql/NNN_name.sql files once each, in order.
 *
 * Every migration runs in its own transaction that first takes a
 * transaction-scoped advisory lock, then checks schema_migrations, then
 * runs the file and records it. Two runners (two hosts deploying at once)
 * therefore serialise on the lock, and the second finds the row and skips.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "apperr.h"
#include "db.h"
#include "log.h"
#include "migrate.h"

/* "quipu" in ASCII: the advisory lock key of migrations. */
#define MIGRATE_LOCK_KEY	"487497740405"
/* A migration file larger than this is certainly a mistake. */
#define MIGRATE_MAX_FILE	(16L * 1024 * 1024)

static const char migrate_sql_lock[] =
    "SELECT pg_advisory_xact_lock($1::bigint)";
static const char migrate_sql_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
static const char migrate_sql_exists[] =
    "SELECT to_regclass('schema_migrations') IS NOT NULL";
static const char migrate_sql_done[] =
    "SELECT 1 FROM schema_migrations WHERE version = $1";
static const char migrate_sql_record[] =
    "INSERT INTO schema_migrations (version) VALUES ($1)";
static const char migrate_sql_versions[] =
    "SELECT version FROM schema_migrations";

/*
 * Matches "NNN_name.sql" (3+ digits, '_', a name of letters, digits, '_'
 * or '-'). On success *num gets the number and *len the name's length
 * without ".sql".
 */
static bool
migrate_parse_name(const char *f, unsigned long long *num, size_t *len)
{
	size_t	 i, flen, digits = 0;

	flen = strlen(f);
	if (flen < 9 || strcmp(f + flen - 4, ".sql") != 0)
		return false;
	*len = flen - 4;
	*num = 0;
	for (i = 0; i < *len && isdigit((unsigned char)f[i]); i++, digits++)
		*num = *num * 10 + (unsigned long long)(f[i] - '0');
	if (digits < 3 || digits > 18 || f[i] != '_' || i + 1 == *len)
		return false;
	for (i++; i < *len; i++)
		if (!isalnum((unsigned char)f[i]) && f[i] != '_' && f[i] != '-')
			return false;
	return true;
}

static unsigned long long
migrate_num(const char *name)
{
	return strtoull(name, NULL, 10);
}

static int
migrate_cmp(const void *a, const void *b)
{
	const char		*x = *(char *const *)a, *y = *(char *const *)b;
	unsigned long long	 nx = migrate_num(x), ny = migrate_num(y);

	if (nx != ny)
		return nx < ny ? -1 : 1;
	return strcmp(x, y);
}

void
migrate_list_free(char **names, size_t n)
{
	size_t	 i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Appends a copy of the first `len' bytes of `name' to the growing list. */
static enum app_err
migrate_list_add(char ***v, size_t *n, size_t *cap, const char *name,
    size_t len)
{
	char	**nv;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((nv = reallocarray(*v, *cap, sizeof(**v))) == NULL)
			return APP_ENOMEM;
		*v = nv;
	}
	if (((*v)[*n] = strndup(name, len)) == NULL)
		return APP_ENOMEM;
	(*n)++;
	return APP_OK;
}

/* Two files with the same number would apply in an arbitrary order. */
static enum app_err
migrate_check_unique(char **v, size_t n)
{
	size_t	 i;

	for (i = 1; i < n; i++)
		if (migrate_num(v[i - 1]) == migrate_num(v[i])) {
			log_warnx("migrate: %s and %s share a number",
			    v[i - 1], v[i]);
			return APP_EINVAL;
		}
	return APP_OK;
}

enum app_err
migrate_list(const char *sql_dir, char ***names, size_t *n)
{
	DIR			*d = NULL;
	struct dirent		*de;
	char			**v = NULL;
	size_t			 nv = 0, cap = 0, len;
	unsigned long long	 num;
	enum app_err		 rc = APP_ENOTFOUND;

	*names = NULL;
	*n = 0;
	if ((d = opendir(sql_dir)) == NULL) {
		log_warn("migrate: %s", sql_dir);
		rc = errno == ENOENT ? APP_ENOTFOUND : APP_EINTERNAL;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!migrate_parse_name(de->d_name, &num, &len))
			continue;
		if ((rc = migrate_list_add(&v, &nv, &cap, de->d_name, len)) !=
		    APP_OK)
			goto out;
	}
	if (nv > 0)
		qsort(v, nv, sizeof(*v), migrate_cmp);
	if ((rc = migrate_check_unique(v, nv)) != APP_OK)
		goto out;
	*names = v;
	*n = nv;
	v = NULL;
	rc = APP_OK;
out:
	if (d != NULL)
		closedir(d);
	migrate_list_free(v, nv);
	return rc;
}

/* Reads a whole migration file into a NUL-terminated buffer. */
static enum app_err
migrate_read(const char *path, char **out)
{
	FILE	*f = NULL;
	char	*buf = NULL;
	long	 sz;
	enum app_err rc = APP_EINTERNAL;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		log_warn("migrate: %s", path);
		goto out;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    sz > MIGRATE_MAX_FILE || fseek(f, 0, SEEK_SET) != 0) {
		log_warnx("migrate: %s: unreadable or too large", path);
		goto out;
	}
	if ((buf = malloc((size_t)sz + 1)) == NULL) {
		rc = APP_ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz ||
	    memchr(buf, '\0', (size_t)sz) != NULL) {
		log_warnx("migrate: %s: short read or NUL byte", path);
		goto out;
	}
	buf[sz] = '\0';
	*out = buf;
	buf = NULL;
	rc = APP_OK;
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	return rc;
}

/*
 * Runs the file's SQL. This is the one unparameterised exec in quipu:
 * the text is our own file, and PQexec is what allows several statements.
 */
static enum app_err
migrate_exec_file(PGconn *conn, const char *name, const char *sql)
{
	PGresult	*res;
	enum app_err	 rc;

	res = PQexec(conn, sql);
	if ((rc = db_result_err(conn, res)) != APP_OK) {
		const char *st = NULL, *msg = NULL, *pos = NULL;

		if (res != NULL) {
			st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			pos = PQresultErrorField(res,
			    PG_DIAG_STATEMENT_POSITION);
		}
		log_warnx("migrate: %s failed: %s: %s (at character %s)",
		    name, st != NULL ? st : "-",
		    msg != NULL ? msg : PQerrorMessage(conn),
		    pos != NULL ? pos : "-");
	}
	PQclear(res);
	return rc;
}

/* In the open transaction: lock, and say whether `name' was applied. */
static enum app_err
migrate_lock_and_check(PGconn *conn, const char *name, bool *done)
{
	const char	*key[1] = { MIGRATE_LOCK_KEY }, *p[1] = { name };
	PGresult	*res = NULL;
	enum app_err	 rc;

	*done = false;
	if ((rc = db_exec(conn, migrate_sql_lock, 1, key)) != APP_OK)
		return rc;
	if ((rc = db_query(conn, migrate_sql_done, 1, p, &res)) != APP_OK)
		return rc;
	*done = PQntuples(res) > 0;
	PQclear(res);
	return APP_OK;
}

/* Applies one migration unless recorded; *ran says whether it did. */
static enum app_err
migrate_one(PGconn *conn, const char *dir, const char *name, bool *ran)
{
	char		*path = NULL, *sql = NULL;
	const char	*p[1] = { name };
	bool		 done;
	enum app_err	 rc = APP_ENOMEM;

	*ran = false;
	if (asprintf(&path, "%s/%s.sql", dir, name) < 0) {
		path = NULL;
		goto out;
	}
	if ((rc = migrate_read(path, &sql)) != APP_OK)
		goto out;
	if ((rc = db_begin(conn)) != APP_OK)
		goto out;
	if ((rc = migrate_lock_and_check(conn, name, &done)) != APP_OK ||
	    done)
		goto out;
	if ((rc = migrate_exec_file(conn, name, sql)) != APP_OK ||
	    (rc = db_exec(conn, migrate_sql_record, 1, p)) != APP_OK ||
	    (rc = db_commit(conn)) != APP_OK)
		goto out;
	log_info("migrate: applied %s", name);
	*ran = true;
out:
	db_rollback(conn);
	free(path);
	free(sql);
	return rc;
}

/* Creates schema_migrations under the lock: concurrent CREATE TABLE IF
 * NOT EXISTS can still collide in the catalogs. */
static enum app_err
migrate_bootstrap(PGconn *conn)
{
	const char	*key[1] = { MIGRATE_LOCK_KEY };
	enum app_err	 rc;

	if ((rc = db_begin(conn)) != APP_OK)
		return rc;
	if ((rc = db_exec(conn, migrate_sql_lock, 1, key)) == APP_OK &&
	    (rc = db_exec(conn, migrate_sql_table, 0, NULL)) == APP_OK)
		rc = db_commit(conn);
	db_rollback(conn);
	return rc;
}

/* Notices ("already exists, skipping") are chatter: debug only. */
static void
migrate_notice(void *arg, const char *msg)
{
	log_debug("migrate: server says: %.*s", (int)strcspn(msg, "\n"),
	    msg);
}

static PGconn *
migrate_connect(const char *conninfo)
{
	const char	*keys[] = { "dbname", "fallback_application_name",
			    NULL };
	const char	*vals[] = { conninfo, "quipu-migrate", NULL };
	const char	*msg;
	PGconn		*conn;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
		PQsetNoticeProcessor(conn, migrate_notice, NULL);
		return conn;
	}
	/* libpq's message names host and user, never the password. */
	msg = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	log_warnx("migrate: cannot connect: %.*s", (int)strcspn(msg, "\n"),
	    msg);
	PQfinish(conn);
	return NULL;
}

enum app_err
migrate_run(const char *conninfo, const char *sql_dir, int *applied)
{
	PGconn		*conn = NULL;
	char		**names = NULL;
	size_t		 n = 0, i;
	bool		 ran;
	enum app_err	 rc;

	*applied = 0;
	if ((rc = migrate_list(sql_dir, &names, &n)) != APP_OK)
		goto out;
	rc = APP_EDB;
	if ((conn = migrate_connect(conninfo)) == NULL)
		goto out;
	if ((rc = migrate_bootstrap(conn)) != APP_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = migrate_one(conn, sql_dir, names[i], &ran)) !=
		    APP_OK)
			goto out;
		if (ran)
			(*applied)++;
	}
	log_info("migrate: %d applied, %zu known, database current",
	    *applied, n);
out:
	if (conn != NULL)
		PQfinish(conn);
	migrate_list_free(names, n);
	return rc;
}

/* True when `name' is a value of the first column of `res'. */
static bool
migrate_in(const PGresult *res, const char *name)
{
	int	 i;

	for (i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), name) == 0)
			return true;
	return false;
}

enum app_err
migrate_pending(PGconn *conn, char *const *names, size_t n, size_t *pending,
    const char **first)
{
	PGresult	*res = NULL;
	size_t		 i;
	enum app_err	 rc;

	*pending = 0;
	*first = NULL;
	/* to_regclass() answers NULL instead of raising, so an open
	 * transaction of the caller survives a missing table. */
	if ((rc = db_query(conn, migrate_sql_exists, 0, NULL, &res)) != APP_OK)
		goto out;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		*pending = n;
		*first = n > 0 ? names[0] : NULL;
		goto out;
	}
	PQclear(res);
	res = NULL;
	if ((rc = db_query(conn, migrate_sql_versions, 0, NULL, &res)) !=
	    APP_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if (migrate_in(res, names[i]))
			continue;
		if (*first == NULL)
			*first = names[i];
		(*pending)++;
	}
out:
	PQclear(res);
	return rc;
}
