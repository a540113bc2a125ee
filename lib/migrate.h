/*
 * migrate.h: the numbered SQL migrations in sql/ (NNN_name.sql).
 *
 * Each file is applied once, in numeric order, in its own transaction
 * together with its row in schema_migrations(version, applied_at). A
 * migration file must not contain BEGIN/COMMIT of its own. Names are the
 * file names without ".sql", e.g. "001_init".
 */
#ifndef QUIPU_MIGRATE_H
#define QUIPU_MIGRATE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "apperr.h"

/*
 * Applies every pending sql_dir/NNN_name.sql in order, each in its own
 * transaction with its schema_migrations row; takes pg_advisory_xact_lock
 * so two runners can't race. Idempotent. *applied gets how many ran.
 */
enum app_err	 migrate_run(const char *conninfo, const char *sql_dir,
		    int *applied) MUSTCHECK;
/*
 * Lists the migration names ("001_init") found in sql_dir, sorted by
 * number; caller frees with migrate_list_free. Other files are ignored.
 * APP_ENOTFOUND when sql_dir does not exist, APP_EINVAL when two files
 * share a number.
 */
enum app_err	 migrate_list(const char *sql_dir, char ***names, size_t *n)
		    MUSTCHECK;
void		 migrate_list_free(char **names, size_t n);
/*
 * How many of `names' are not recorded in schema_migrations (0 = current).
 * Uses `conn', outside a transaction or inside one (it raises no error).
 * If schema_migrations does not exist, all are pending. *first gets the
 * first pending name (borrowed from names) or NULL.
 */
enum app_err	 migrate_pending(PGconn *conn, char *const *names, size_t n,
		    size_t *pending, const char **first) MUSTCHECK;

#endif
