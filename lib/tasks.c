/*
 * tasks.c: a user's tasks: input rules, SQL, and the /api/v1/tasks routes.
 *
 * Every statement is one round trip that filters on user_id, and
 * PostgreSQL writes the answer's JSON itself (api_task() in
 * sql/003_tasks.sql): the handlers pass its text through. Statements
 * that vary (the filters and order of a list, the fields of a PATCH) are
 * put together from fixed fragments with every value a parameter, so
 * the set of texts is small and each is prepared once per connection.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "app.h"
#include "arena.h"
#include "clock.h"
#include "db.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "tasks.h"


static const char *const task_priorities[] = {
	"none", "low", "medium", "high", NULL
};

/* ------------------------------------------------------------ input */

/* Members a task body may carry: writable, then read-only (ignored). */
static const char *const task_fields[] = {
	"title", "description", "priority", "due_at", "tags", "completed",
	NULL
};
static const char *const task_readonly[] = {
	"id", "created_at", "updated_at", "completed_at", NULL
};

static bool
task_in(const char *const *set, const char *s)
{
	for (; *set != NULL; set++)
		if (strcmp(*set, s) == 0)
			return true;
	return false;
}

/* "2026-11-23T17:00:00+01:00" as UTC text, or NULL (recorded). */
static const char *
task_time(struct arena *ar, const char *s, const char *field,
    struct jsonx_errors *errs)
{
	struct timespec	 ts;
	char		 buf[CLOCK_RFC3339_LEN];

	if (jsonx_time_parse(s, &ts) == -1) {
		jsonx_errors_add(errs, field, "must be an RFC 3339 date-time "
		    "such as 2026-11-23T17:00:00Z");
		return NULL;
	}
	return arena_strdup(ar, clock_rfc3339(buf, ts));
}

/* Drops repeated tags (exact repeats, after trimming), keeping order. */
static void
task_tags_unique(struct task_input *in)
{
	size_t	 i, j, n = 0;

	for (i = 0; i < in->ntags; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(in->tags[j], in->tags[i]) == 0)
				break;
		if (j == n)
			in->tags[n++] = in->tags[i];
	}
	in->tags[n] = NULL;
	in->ntags = n;
}

void
tasks_input_parse(struct json_object *obj, enum task_mode mode,
    struct task_input *in, struct jsonx_errors *errs)
{
	const char	*s;
	bool		 whole = mode != TASK_PATCH;

	memset(in, 0, sizeof(*in));
	jsonx_errors_unknown(errs, obj, task_fields, task_readonly,
	    "is not a task field");

	/* A whole task: every editable field, defaults for the absent. */
	if (whole) {
		in->set = TASK_F_EDITABLE;
		in->priority = "none";
	}
	if (whole || jsonx_has(obj, "title")) {
		in->set |= TASK_F_TITLE;
		if (jsonx_get_string(obj, "title", JSONX_REQUIRED | JSONX_TRIM,
		    1, TASK_TITLE_MAX, &in->title, errs) == APP_OK &&
		    in->title == NULL)
			jsonx_errors_add(errs, "title", "must not be null");
	}
	if (jsonx_has(obj, "description")) {
		in->set |= TASK_F_DESCRIPTION;
		if (jsonx_get_string(obj, "description", JSONX_NULLABLE, 0,
		    TASK_DESCRIPTION_MAX, &in->description, errs) == APP_OK &&
		    in->description != NULL && in->description[0] == '\0')
			in->description = NULL;
	}
	if (jsonx_has(obj, "priority")) {
		in->set |= TASK_F_PRIORITY;
		s = NULL;
		if (jsonx_get_string(obj, "priority", 0, 0, 0, &s, errs) ==
		    APP_OK) {
			if (s == NULL || !task_in(task_priorities, s))
				jsonx_errors_add(errs, "priority", "must be "
				    "one of none, low, medium, high");
			else
				in->priority = s;
		}
	}
	if (jsonx_has(obj, "due_at")) {
		in->set |= TASK_F_DUE_AT;
		s = NULL;
		if (jsonx_get_string(obj, "due_at", JSONX_NULLABLE, 0, 64, &s,
		    errs) == APP_OK && s != NULL)
			in->due_at = task_time(errs->arena, s, "due_at", errs);
	}
	if (jsonx_has(obj, "tags")) {
		in->set |= TASK_F_TAGS;
		if (jsonx_get_string_array(obj, "tags", JSONX_NULLABLE,
		    TASK_TAGS_MAX, JSONX_TRIM, 1, TASK_TAG_MAX, &in->tags,
		    &in->ntags, errs) == APP_OK && in->tags != NULL)
			task_tags_unique(in);
	}
	if (jsonx_has(obj, "completed")) {
		in->set |= TASK_F_COMPLETED;
		(void)jsonx_get_bool(obj, "completed", 0, &in->completed, errs);
	}
}

/* The tags as a JSON array, the form the SQL takes them in. */
static const char *
task_tags_json(struct arena *ar, const struct task_input *in)
{
	struct json_object	*a;
	const char		*s = NULL;
	size_t			 i;

	if ((a = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < in->ntags; i++)
		if (jsonx_append(a, json_object_new_string(in->tags[i])) !=
		    APP_OK)
			goto out;
	s = arena_strdup(ar, json_object_to_json_string_ext(a,
	    JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(a);
	return s;
}

bool
tasks_parse_id(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s < '1' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1)
		return false;
	*out = (int64_t)v;
	return true;
}

/* ------------------------------------------------------------ SQL */

/*
 * One statement on a connection of its own, expecting one row; its first
 * column copied to *json. No row: APP_ENOTFOUND.
 */
static const char *
task_bool(bool b)
{
	return b ? "true" : "false";
}

/* A created task from a row of (id, JSON). */
static enum app_err
task_created(struct arena *ar, const PGresult *r, int64_t *id, char **json)
{
	if (PQntuples(r) != 1 || !tasks_parse_id(PQgetvalue(r, 0, 0), id))
		return APP_EINTERNAL;
	if ((*json = (char *)db_value(ar, r, 0, 1)) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

/* Inserts the task inside the caller's transaction (or alone). */
static enum app_err
task_insert(PGconn *conn, struct arena *ar, const char *user_id,
    const struct task_input *in, int64_t *id, char **json)
{
	static const char sql[] =
	    "INSERT INTO tasks (user_id, title, description, priority, "
	    "due_at, tags, completed, completed_at) "
	    "VALUES ($1, $2, $3, $4::task_priority, $5::timestamptz, "
	    "ARRAY(SELECT json_array_elements_text($6::json)), $7::boolean, "
	    "CASE WHEN $7::boolean THEN now() END) "
	    "RETURNING id, api_task(tasks)";
	const char	*p[7];
	PGresult	*r;
	enum app_err	 e;

	p[0] = user_id;
	p[1] = in->title;
	p[2] = in->description;
	p[3] = in->priority;
	p[4] = in->due_at;
	p[6] = task_bool(in->completed);
	if ((p[5] = task_tags_json(ar, in)) == NULL)
		return APP_ENOMEM;
	if ((e = db_query(conn, sql, 7, p, &r)) != APP_OK)
		return e;
	e = task_created(ar, r, id, json);
	PQclear(r);
	return e;
}

/*
 * A create under an Idempotency-Key, in one transaction: the key is
 * claimed first (a concurrent request with the same key waits on it),
 * then the task and its answer are stored with it. Expired keys of the
 * user are purged on the way.
 */
static enum app_err
task_create_idem(PGconn *conn, struct arena *ar, const char *user_id,
    const struct task_input *in, const struct task_idem *idem, int64_t *id,
    char **json, bool *replayed)
{
	static const char sql_purge[] =
	    "DELETE FROM idempotency_keys WHERE user_id = $1 "
	    "AND created_at < now() - interval '24 hours'";
	static const char sql_claim[] =
	    "INSERT INTO idempotency_keys (user_id, key, request_hash) "
	    "VALUES ($1, $2, $3::bytea) ON CONFLICT DO NOTHING";
	static const char sql_seen[] =
	    "SELECT task_id, response, request_hash = $3::bytea "
	    "FROM idempotency_keys WHERE user_id = $1 AND key = $2";
	static const char sql_answer[] =
	    "UPDATE idempotency_keys SET task_id = $3, response = $4 "
	    "WHERE user_id = $1 AND key = $2";
	const char	*p[4];
	char		 sid[24];
	PGresult	*r;
	enum app_err	 e;

	p[0] = user_id;
	p[1] = idem->key;
	if ((p[2] = db_bytea(ar, idem->hash, sizeof(idem->hash))) == NULL)
		return APP_ENOMEM;
	if ((e = db_begin(conn)) != APP_OK ||
	    (e = db_exec(conn, sql_purge, 1, p)) != APP_OK ||
	    (e = db_query(conn, sql_claim, 3, p, &r)) != APP_OK)
		goto out;
	if (strcmp(PQcmdTuples(r), "1") == 0) {
		PQclear(r);
		if ((e = task_insert(conn, ar, user_id, in, id, json)) !=
		    APP_OK)
			goto out;
		snprintf(sid, sizeof(sid), "%" PRId64, *id);
		p[2] = sid;
		p[3] = *json;
		if ((e = db_exec(conn, sql_answer, 4, p)) != APP_OK)
			goto out;
		e = db_commit(conn);
		goto out;
	}
	PQclear(r);
	/* Seen before: the same request is answered again, another refused. */
	if ((e = db_query(conn, sql_seen, 3, p, &r)) != APP_OK)
		goto out;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 1))
		e = APP_ERETRY;		/* purged or rolled back meanwhile */
	else if (!db_bool(r, 0, 2))
		e = APP_ECONFLICT;
	else if ((e = task_created(ar, r, id, json)) == APP_OK)
		*replayed = true;
	PQclear(r);
	if (e == APP_OK)
		e = db_commit(conn);
out:
	db_rollback(conn);
	return e;
}

enum app_err
tasks_create(struct db_pool *pool, struct arena *ar, const char *user_id,
    const struct task_input *in, const struct task_idem *idem, int64_t *id,
    char **json, bool *replayed)
{
	PGconn		*conn;
	enum app_err	 e;
	int		 tries;

	*replayed = false;
	if ((e = db_acquire(pool, &conn)) != APP_OK)
		return e;
	if (idem == NULL)
		e = task_insert(conn, ar, user_id, in, id, json);
	else
		for (tries = 0; tries < 3; tries++)
			if ((e = task_create_idem(conn, ar, user_id, in, idem,
			    id, json, replayed)) != APP_ERETRY)
				break;
	db_release(pool, conn);
	return e;
}

enum app_err
tasks_get(struct db_pool *pool, struct arena *ar, const char *user_id,
    int64_t id, char **json)
{
	static const char sql[] =
	    "SELECT api_task(t) FROM tasks t WHERE user_id = $1 AND id = $2";
	const char	*p[2];
	char		 sid[24];

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	p[0] = user_id;
	p[1] = sid;
	return db_one(pool, ar, sql, 2, p, json);
}

/* Appends a fragment to a statement being put together. */
static bool
task_sql_add(char *sql, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool
task_sql_add(char *sql, size_t *len, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(sql + *len, TASK_SQL_MAX - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= TASK_SQL_MAX - *len)
		return false;
	*len += (size_t)n;
	return true;
}

enum app_err
tasks_update(struct db_pool *pool, struct arena *ar, const char *user_id,
    int64_t id, const struct task_input *in, char **json)
{
	const char	*p[TASK_PARAMS_MAX];
	char		 sql[TASK_SQL_MAX], sid[24];
	size_t		 len = 0;
	int		 n = 2;
	bool		 ok;

	if ((in->set & (TASK_F_EDITABLE | TASK_F_COMPLETED)) == 0)
		return tasks_get(pool, ar, user_id, id, json);
	snprintf(sid, sizeof(sid), "%" PRId64, id);
	p[0] = user_id;
	p[1] = sid;
	ok = task_sql_add(sql, &len, "UPDATE tasks SET updated_at = now()");
	if (in->set & TASK_F_TITLE) {
		p[n++] = in->title;
		ok = ok && task_sql_add(sql, &len, ", title = $%d", n);
	}
	if (in->set & TASK_F_DESCRIPTION) {
		p[n++] = in->description;
		ok = ok && task_sql_add(sql, &len, ", description = $%d", n);
	}
	if (in->set & TASK_F_PRIORITY) {
		p[n++] = in->priority;
		ok = ok && task_sql_add(sql, &len,
		    ", priority = $%d::task_priority", n);
	}
	if (in->set & TASK_F_DUE_AT) {
		p[n++] = in->due_at;
		ok = ok && task_sql_add(sql, &len,
		    ", due_at = $%d::timestamptz", n);
	}
	if (in->set & TASK_F_TAGS) {
		if ((p[n++] = task_tags_json(ar, in)) == NULL)
			return APP_ENOMEM;
		ok = ok && task_sql_add(sql, &len, ", tags = ARRAY(SELECT "
		    "json_array_elements_text($%d::json))", n);
	}
	if (in->set & TASK_F_COMPLETED) {
		/* On the right of SET, columns are the old values. */
		p[n++] = task_bool(in->completed);
		ok = ok && task_sql_add(sql, &len, ", completed = $%d::boolean,"
		    " completed_at = CASE WHEN NOT $%d::boolean THEN NULL "
		    "WHEN completed THEN completed_at ELSE now() END", n, n);
	}
	ok = ok && task_sql_add(sql, &len, " WHERE user_id = $1 AND id = $2 "
	    "RETURNING api_task(tasks)");
	if (!ok)
		return APP_EINTERNAL;
	return db_one(pool, ar, sql, n, p, json);
}

enum app_err
tasks_complete(struct db_pool *pool, struct arena *ar, const char *user_id,
    int64_t id, int completed, char **json)
{
	static const char sql_toggle[] =
	    "UPDATE tasks SET completed = NOT completed, "
	    "completed_at = CASE WHEN completed THEN NULL ELSE now() END, "
	    "updated_at = now() "
	    "WHERE user_id = $1 AND id = $2 RETURNING api_task(tasks)";
	/* Setting what already is changes nothing, updated_at included. */
	static const char sql_set[] =
	    "UPDATE tasks SET completed = $3::boolean, "
	    "completed_at = CASE WHEN NOT $3::boolean THEN NULL "
	    "WHEN completed THEN completed_at ELSE now() END, "
	    "updated_at = CASE WHEN completed = $3::boolean THEN updated_at "
	    "ELSE now() END "
	    "WHERE user_id = $1 AND id = $2 RETURNING api_task(tasks)";
	const char	*p[3];
	char		 sid[24];

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	p[0] = user_id;
	p[1] = sid;
	if (completed < 0)
		return db_one(pool, ar, sql_toggle, 2, p, json);
	p[2] = task_bool(completed != 0);
	return db_one(pool, ar, sql_set, 3, p, json);
}

enum app_err
tasks_delete(struct db_pool *pool, const char *user_id, int64_t id)
{
	static const char sql[] =
	    "DELETE FROM tasks WHERE user_id = $1 AND id = $2";
	const char	*p[2];
	char		 sid[24];
	PGresult	*r;
	enum app_err	 e;

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	p[0] = user_id;
	p[1] = sid;
	if ((e = db_run(pool, sql, 2, p, &r)) != APP_OK)
		return e;
	if (strcmp(PQcmdTuples(r), "1") != 0)
		e = APP_ENOTFOUND;
	PQclear(r);
	return e;
}

static int
task_id_cmp(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The distinct ids, ascending, as text: both a bigint[] literal "{1,2}"
 * and a JSON array "[1,2]". *n becomes the count of distinct ids.
 */
static enum app_err
task_ids_text(struct arena *ar, const int64_t *ids, size_t *n,
    char **literal, char **json)
{
	int64_t	*v;
	char	*s, *w;
	size_t	 i, k = 0;

	if ((v = arena_alloc(ar, (*n + 1) * sizeof(*v))) == NULL ||
	    (s = arena_alloc(ar, *n * 21 + 3)) == NULL)
		return APP_ENOMEM;
	memcpy(v, ids, *n * sizeof(*v));
	qsort(v, *n, sizeof(*v), task_id_cmp);
	w = s;
	*w++ = '{';
	for (i = 0; i < *n; i++) {
		if (i > 0 && v[i] == v[i - 1])
			continue;
		w += sprintf(w, "%s%" PRId64, k++ ? "," : "", v[i]);
	}
	*w++ = '}';
	*w = '\0';
	*n = k;
	if ((*literal = s) == NULL || (*json = arena_strdup(ar, s)) == NULL)
		return APP_ENOMEM;
	(*json)[0] = '[';
	(*json)[strlen(*json) - 1] = ']';
	return APP_OK;
}

/*
 * Bulk, all or nothing: lock the user's rows among the ids; if any id is
 * missing, say which and change nothing; else act on them all.
 */
enum app_err
tasks_bulk(struct db_pool *pool, struct arena *ar, const char *user_id,
    enum task_bulk_action action, const int64_t *ids, size_t nids,
    char **json, char **missing)
{
	static const char sql_lock[] =
	    "WITH mine AS (SELECT id FROM tasks WHERE user_id = $1 "
	    "AND id = ANY($2::bigint[]) FOR UPDATE) "
	    "SELECT coalesce(array_to_json(array_agg(w.id ORDER BY w.id)), "
	    "'[]') FROM unnest($2::bigint[]) w(id) "
	    "WHERE w.id NOT IN (SELECT id FROM mine)";
	static const char *const sql_act[] = {
		[TASK_BULK_COMPLETE] =
		    ("UPDATE tasks SET completed = true, "
		    "completed_at = coalesce(completed_at, now()), "
		    "updated_at = CASE WHEN completed THEN updated_at "
		    "ELSE now() END "
		    "WHERE user_id = $1 AND id = ANY($2::bigint[])"),
		[TASK_BULK_UNCOMPLETE] =
		    ("UPDATE tasks SET completed = false, completed_at = NULL, "
		    "updated_at = CASE WHEN completed THEN now() "
		    "ELSE updated_at END "
		    "WHERE user_id = $1 AND id = ANY($2::bigint[])"),
		[TASK_BULK_DELETE] =
		    ("DELETE FROM tasks "
		    "WHERE user_id = $1 AND id = ANY($2::bigint[])"),
	};
	const char	*p[2], *miss;
	char		*literal, *list;
	PGconn		*conn;
	PGresult	*r = NULL;
	enum app_err	 e;

	*missing = NULL;
	if ((e = task_ids_text(ar, ids, &nids, &literal, &list)) != APP_OK)
		return e;
	p[0] = user_id;
	p[1] = literal;
	if ((e = db_acquire(pool, &conn)) != APP_OK)
		return e;
	if ((e = db_begin(conn)) != APP_OK ||
	    (e = db_query(conn, sql_lock, 2, p, &r)) != APP_OK)
		goto out;
	if ((miss = db_value(ar, r, 0, 0)) == NULL) {
		e = APP_ENOMEM;
		goto out;
	}
	if (strcmp(miss, "[]") != 0) {
		*missing = (char *)miss;
		e = APP_ENOTFOUND;
		goto out;
	}
	if ((e = db_exec(conn, sql_act[action], 2, p)) != APP_OK ||
	    (e = db_commit(conn)) != APP_OK)
		goto out;
	if ((*json = arena_printf(ar, "{\"affected\":%zu,\"ids\":%s}", nids,
	    list)) == NULL)
		e = APP_ENOMEM;
out:
	PQclear(r);
	db_rollback(conn);
	db_release(pool, conn);
	return e;
}

/* ------------------------------------------------------------ listing */

static const struct {
	const char	*name;
	const char	*col;		/* in the page's own query */
	const char	*outer;		/* over its rows, p.t */
} task_sorts[] = {
	[TASK_SORT_CREATED] =	{ "created_at", "created_at",
				  "(p.t).created_at" },
	[TASK_SORT_UPDATED] =	{ "updated_at", "updated_at",
				  "(p.t).updated_at" },
	[TASK_SORT_DUE] =	{ "due_at", "due_at", "(p.t).due_at" },
	[TASK_SORT_PRIORITY] =	{ "priority", "priority", "(p.t).priority" },
	[TASK_SORT_TITLE] =	{ "title", "lower(title)",
				  "lower((p.t).title)" },
};

void
tasks_filter_init(struct task_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->status = TASK_ALL;
	f->sort = TASK_SORT_CREATED;
	f->asc = false;
	f->limit = TASK_LIST_DEFAULT;
	f->offset = 0;
}

/*
 * The page {"items":...,"total":N,"limit":L,"offset":O} around the items'
 * JSON, copied once (a printf of a page-sized string costs more).
 */
static char *
task_page(struct arena *ar, const char *items, size_t ilen,
    const char *total, const struct task_filter *f)
{
	char	 tail[96], *s;
	int	 tlen;

	tlen = snprintf(tail, sizeof(tail), ",\"total\":%s,\"limit\":%d,"
	    "\"offset\":%d}", total, f->limit, f->offset);
	if (tlen < 0 || (size_t)tlen >= sizeof(tail) ||
	    (s = arena_alloc(ar, 9 + ilen + (size_t)tlen + 1)) == NULL)
		return NULL;
	memcpy(s, "{\"items\":", 9);
	memcpy(s + 9, items, ilen);
	memcpy(s + 9 + ilen, tail, (size_t)tlen + 1);
	return s;
}

/*
 * The list and its total in one statement. The WHERE clause is written
 * twice with the same parameters; the default listing reads
 *
 *	SELECT (SELECT count(*) FROM tasks WHERE user_id = $1),
 *	(SELECT coalesce(array_to_json(array_agg(api_task(p.t) ORDER BY
 *	(p.t).created_at DESC, (p.t).id DESC)), '[]') FROM (SELECT t FROM
 *	tasks t WHERE user_id = $1 ORDER BY created_at DESC, id DESC
 *	LIMIT $2 OFFSET $3) p)
 *
 * (on one line: bench/tasks_list.sql runs exactly this in pgbench).
 */
/*
 * The words of q= as a tsquery text (task_query() in SQL, so PostgreSQL's
 * own parser decides what a word is), or NULL when q has none: then it
 * filters nothing.
 */
static enum app_err
task_q(PGconn *conn, struct arena *ar, const char *q, const char **ts)
{
	PGresult	*r;
	enum app_err	 e;

	*ts = NULL;
	if ((e = db_query(conn, "SELECT task_query($1)::text", 1, &q, &r)) !=
	    APP_OK)
		return e;
	if (!PQgetisnull(r, 0, 0) && (*ts = db_value(ar, r, 0, 0)) == NULL)
		e = APP_ENOMEM;
	PQclear(r);
	return e;
}

enum app_err
tasks_list_sql(const struct task_filter *f, const char *qts,
    const char *slimit, const char *soffset, char *sql, const char **p,
    int *np)
{
	const char	*dir = f->asc ? "ASC" : "DESC";
	char		 where[TASK_SQL_MAX];
	size_t		 wlen = 0, len = 0;
	int		 n = 1;
	bool		 ok;

	ok = task_sql_add(where, &wlen, "user_id = $1");
	if (f->status == TASK_PENDING)
		ok = ok && task_sql_add(where, &wlen, " AND NOT completed");
	else if (f->status == TASK_COMPLETED)
		ok = ok && task_sql_add(where, &wlen, " AND completed");
	if (qts != NULL) {
		p[n++] = qts;
		ok = ok && task_sql_add(where, &wlen,
		    " AND words @@ $%d::tsquery", n);
	}
	if (f->tag != NULL) {
		p[n++] = f->tag;
		ok = ok && task_sql_add(where, &wlen,
		    " AND tags @> ARRAY[$%d::text]", n);
	}
	if (f->due_before != NULL) {
		p[n++] = f->due_before;
		ok = ok && task_sql_add(where, &wlen,
		    " AND due_at < $%d::timestamptz", n);
	}
	if (f->due_after != NULL) {
		p[n++] = f->due_after;
		ok = ok && task_sql_add(where, &wlen,
		    " AND due_at > $%d::timestamptz", n);
	}
	p[n++] = slimit;
	p[n++] = soffset;
	ok = ok && task_sql_add(sql, &len,
	    "SELECT (SELECT count(*) FROM tasks WHERE %s), "
	    "(SELECT coalesce(array_to_json(array_agg(api_task(p.t) "
	    "ORDER BY %s %s, (p.t).id %s)), '[]') "
	    "FROM (SELECT t FROM tasks t WHERE %s ORDER BY %s %s, id %s "
	    "LIMIT $%d OFFSET $%d) p)",
	    where, task_sorts[f->sort].outer, dir, dir,
	    where, task_sorts[f->sort].col, dir, dir, n - 1, n);
	*np = n;
	return ok ? APP_OK : APP_EINTERNAL;
}

/*
 * The list and its total in one statement (after a first one that reads
 * the words of q=, when given). The WHERE clause is written twice with
 * the same parameters; the default listing reads
 *
 *	SELECT (SELECT count(*) FROM tasks WHERE user_id = $1),
 *	(SELECT coalesce(array_to_json(array_agg(api_task(p.t) ORDER BY
 *	(p.t).created_at DESC, (p.t).id DESC)), '[]') FROM (SELECT t FROM
 *	tasks t WHERE user_id = $1 ORDER BY created_at DESC, id DESC
 *	LIMIT $2 OFFSET $3) p)
 *
 * (on one line: bench/tasks_list.sql runs exactly this in pgbench).
 */
enum app_err
tasks_list(struct db_pool *pool, struct arena *ar, const char *user_id,
    const struct task_filter *f, char **json)
{
	const char	*p[TASK_PARAMS_MAX], *qts = NULL;
	char		 sql[TASK_SQL_MAX], slimit[16], soffset[16];
	int		 n;
	PGconn		*conn;
	PGresult	*r = NULL;
	enum app_err	 e;

	p[0] = user_id;
	snprintf(slimit, sizeof(slimit), "%d", f->limit);
	snprintf(soffset, sizeof(soffset), "%d", f->offset);
	if ((e = db_acquire(pool, &conn)) != APP_OK)
		return e;
	if (f->q != NULL && (e = task_q(conn, ar, f->q, &qts)) != APP_OK)
		goto out;
	if ((e = tasks_list_sql(f, qts, slimit, soffset, sql, p, &n)) !=
	    APP_OK || (e = db_query(conn, sql, n, p, &r)) != APP_OK)
		goto out;
	if ((*json = task_page(ar, PQgetvalue(r, 0, 1),
	    (size_t)PQgetlength(r, 0, 1), PQgetvalue(r, 0, 0), f)) == NULL)
		e = APP_ENOMEM;
out:
	PQclear(r);
	db_release(pool, conn);
	return e;
}

/* ------------------------------------------------------------ HTTP */

/*
 * The helpers below that answer a refusal themselves still return its
 * error, and the handlers pass it up: app_dispatch() sends no envelope
 * once an answer has gone out, and answers 500 for an error that came
 * before any (out of memory).
 */

static struct db_pool *
task_db(const struct http_request *req)
{
	return req->app->db;
}

/*
 * The request body as a JSON object, or an answer: 400 for malformed
 * JSON, 422 for another type. An empty body is allowed only when
 * `optional' (*obj NULL then).
 */
/* Reads a task body under `mode'; on a problem the answer is sent. */
static enum app_err
task_read_input(struct http_request *req, struct http_response *res,
    enum task_mode mode, struct task_input *in)
{
	struct json_object	*obj;
	struct jsonx_errors	 errs;
	enum app_err		 e;

	if ((e = jsonx_read_body(req, res, false, &obj)) != APP_OK)
		return e;
	jsonx_errors_init(&errs, req->arena);
	tasks_input_parse(obj, mode, in, &errs);
	if ((e = jsonx_errors_answer(res, &errs)) != APP_OK)
		return e;
	return APP_OK;
}

/* An Idempotency-Key: 1..255 printable ASCII characters. */
static bool
task_idem_key_ok(const char *k)
{
	size_t	 n;

	for (n = 0; k[n] != '\0'; n++)
		if (n >= TASK_IDEM_KEY_MAX || k[n] < 0x20 || k[n] > 0x7e)
			return false;
	return n > 0;
}

enum app_err
tasks_http_create(struct http_request *req, struct http_response *res)
{
	struct task_input	 in;
	struct task_idem	 idem, *ip = NULL;
	const char		*key, *loc;
	char			*json;
	bool			 replayed;
	int64_t			 id;
	enum app_err		 e;

	if ((key = http_header_get(req, "idempotency-key")) != NULL) {
		if (!task_idem_key_ok(key))
			return http_send_error(res, APP_EINVAL, NULL,
			    "Idempotency-Key must be 1 to %d printable ASCII "
			    "characters", TASK_IDEM_KEY_MAX);
		idem.key = key;
		crypto_hash_sha256(idem.hash, (const unsigned char *)
		    (req->body != NULL ? req->body : ""), req->body_len);
		ip = &idem;
	}
	if ((e = task_read_input(req, res, TASK_CREATE, &in)) != APP_OK)
		return e;
	e = tasks_create(task_db(req), req->arena, req->user_id, &in, ip,
	    &id, &json, &replayed);
	if (e == APP_ECONFLICT)
		return http_send_error(res, e, NULL, "this Idempotency-Key "
		    "was used with a different request body");
	if (e != APP_OK)
		return e;
	if ((loc = arena_printf(req->arena, "/api/v1/tasks/%" PRId64,
	    id)) == NULL ||
	    (e = http_add_header(res, "Location", loc)) != APP_OK)
		return APP_ENOMEM;
	if (replayed && (e = http_add_header(res, "Idempotent-Replayed",
	    "true")) != APP_OK)
		return e;
	return http_send_json_str(res, 201, json, strlen(json));
}

enum app_err
tasks_http_get(struct http_request *req, struct http_response *res)
{
	char		*json = NULL;
	int64_t		 id;
	enum app_err	 e;

	if ((e = http_path_id(req, res, "task", tasks_parse_id,
	    &id)) != APP_OK)
		return e;
	e = tasks_get(task_db(req), req->arena, req->user_id, id, &json);
	return http_send_outcome(res, e, "task", id, 200, json);
}

static enum app_err
task_http_update(struct http_request *req, struct http_response *res,
    enum task_mode mode)
{
	struct task_input	 in;
	char			*json = NULL;
	int64_t			 id;
	enum app_err		 e;

	if ((e = http_path_id(req, res, "task", tasks_parse_id,
	    &id)) != APP_OK)
		return e;
	if ((e = task_read_input(req, res, mode, &in)) != APP_OK)
		return e;
	e = tasks_update(task_db(req), req->arena, req->user_id, id, &in,
	    &json);
	return http_send_outcome(res, e, "task", id, 200, json);
}

enum app_err
tasks_http_replace(struct http_request *req, struct http_response *res)
{
	return task_http_update(req, res, TASK_REPLACE);
}

enum app_err
tasks_http_patch(struct http_request *req, struct http_response *res)
{
	return task_http_update(req, res, TASK_PATCH);
}

enum app_err
tasks_http_complete(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "completed", NULL };
	struct json_object	*obj;
	struct jsonx_errors	 errs;
	char			*json = NULL;
	bool			 done;
	int			 completed = -1;
	int64_t			 id;
	enum app_err		 e;

	if ((e = http_path_id(req, res, "task", tasks_parse_id,
	    &id)) != APP_OK)
		return e;
	if ((e = jsonx_read_body(req, res, true, &obj)) != APP_OK)
		return e;
	if (obj != NULL) {
		jsonx_errors_init(&errs, req->arena);
		jsonx_errors_unknown(&errs, obj, fields, NULL,
		    "is not a task field");
		if (jsonx_get_bool(obj, "completed", 0, &done, &errs) ==
		    APP_OK && jsonx_has(obj, "completed"))
			completed = done;
		if (jsonx_errors_result(&errs) != APP_OK)
			return jsonx_send_errors(res, &errs);
	}
	e = tasks_complete(task_db(req), req->arena, req->user_id, id,
	    completed, &json);
	return http_send_outcome(res, e, "task", id, 200, json);
}

enum app_err
tasks_http_delete(struct http_request *req, struct http_response *res)
{
	int64_t		 id;
	enum app_err	 e;

	if ((e = http_path_id(req, res, "task", tasks_parse_id,
	    &id)) != APP_OK)
		return e;
	e = tasks_delete(task_db(req), req->user_id, id);
	return http_send_outcome(res, e, "task", id, 204, NULL);
}

/* "ids": an array of 1..TASK_BULK_MAX task ids, into the arena. */
void
tasks_ids_parse(struct json_object *obj, struct arena *ar, int64_t **ids,
    size_t *n, struct jsonx_errors *errs)
{
	static const char msg[] = "must be an array of 1 to 100 task ids";
	struct json_object	*a, *v;
	size_t			 i;

	*n = 0;
	if (!json_object_object_get_ex(obj, "ids", &a)) {
		jsonx_errors_add(errs, "ids", "is required");
		return;
	}
	if (!json_object_is_type(a, json_type_array) ||
	    (*n = json_object_array_length(a)) == 0 || *n > TASK_BULK_MAX) {
		jsonx_errors_add(errs, "ids", msg);
		return;
	}
	if ((*ids = arena_alloc(ar, *n * sizeof(**ids))) == NULL) {
		(void)jsonx_errors_fatal(errs, APP_ENOMEM, "ids");
		return;
	}
	for (i = 0; i < *n; i++) {
		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_int) ||
		    ((*ids)[i] = json_object_get_int64(v)) < 1) {
			jsonx_errors_add(errs, "ids", msg);
			return;
		}
	}
}

enum app_err
tasks_http_bulk(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "action", "ids", NULL };
	static const char *const actions[] = {
		[TASK_BULK_COMPLETE] = "complete",
		[TASK_BULK_UNCOMPLETE] = "uncomplete",
		[TASK_BULK_DELETE] = "delete",
	};
	struct json_object	*obj, *details;
	struct jsonx_errors	 errs;
	const char		*action = NULL;
	char			*json = NULL, *missing = NULL;
	int64_t			*ids = NULL;
	size_t			 n = 0, a;
	enum app_err		 e;

	if ((e = jsonx_read_body(req, res, false, &obj)) != APP_OK)
		return e;
	jsonx_errors_init(&errs, req->arena);
	jsonx_errors_unknown(&errs, obj, fields, NULL, "is not a task field");
	(void)jsonx_get_string(obj, "action", JSONX_REQUIRED, 0, 0, &action,
	    &errs);
	for (a = 0; action != NULL && a < 3; a++)
		if (strcmp(action, actions[a]) == 0)
			break;
	if (action != NULL && a == 3)
		jsonx_errors_add(&errs, "action",
		    "must be one of complete, uncomplete, delete");
	tasks_ids_parse(obj, req->arena, &ids, &n, &errs);
	if (jsonx_errors_result(&errs) != APP_OK)
		return jsonx_send_errors(res, &errs);
	e = tasks_bulk(task_db(req), req->arena, req->user_id,
	    (enum task_bulk_action)a, ids, n, &json, &missing);
	if (e == APP_ENOTFOUND && missing != NULL) {
		if ((details = json_object_new_object()) == NULL)
			return APP_ENOMEM;
		if (jsonx_add(details, "ids", json_tokener_parse(missing)) !=
		    APP_OK) {
			json_object_put(details);
			return APP_ENOMEM;
		}
		e = http_send_error(res, APP_ENOTFOUND, details,
		    "not all of these tasks exist; nothing was changed");
		json_object_put(details);
		return e;
	}
	if (e != APP_OK)
		return e;
	return http_send_json_str(res, 200, json, strlen(json));
}

/* ------------------------------------------------------------ list */

static const char *const task_statuses[] = {
	[TASK_ALL] = "all", [TASK_PENDING] = "pending",
	[TASK_COMPLETED] = "completed", NULL
};
static const char *const task_sort_names[] = {
	[TASK_SORT_CREATED] = "created_at", [TASK_SORT_UPDATED] = "updated_at",
	[TASK_SORT_DUE] = "due_at", [TASK_SORT_PRIORITY] = "priority",
	[TASK_SORT_TITLE] = "title", NULL
};
static const char *const task_orders[] = { "asc", "desc", NULL };
static const char task_msg_status[] =
    "must be one of all, pending, completed";
static const char task_msg_sort[] =
    "must be one of created_at, updated_at, due_at, priority, title";
static const char task_msg_order[] = "must be one of asc, desc";

void
tasks_filter_parse(struct json_object *obj, struct task_filter *f,
    struct jsonx_errors *errs)
{
	const char	*s = NULL;
	int64_t		 n;
	int		 v;

	tasks_filter_init(f);
	f->limit = TASK_TOOL_LIST_DEFAULT;
	if ((v = jsonx_get_enum(obj, "status", task_statuses, task_msg_status,
	    errs)) >= 0)
		f->status = (enum task_status)v;
	if ((v = jsonx_get_enum(obj, "sort", task_sort_names, task_msg_sort,
	    errs)) >= 0)
		f->sort = (enum task_sort)v;
	if ((v = jsonx_get_enum(obj, "order", task_orders, task_msg_order,
	    errs)) >= 0)
		f->asc = v == 0;
	(void)jsonx_get_string(obj, "q", JSONX_NULLABLE | JSONX_TRIM, 0, 500,
	    &f->q, errs);
	(void)jsonx_get_string(obj, "tag", JSONX_NULLABLE | JSONX_TRIM, 0,
	    TASK_TAG_MAX, &f->tag, errs);
	if (f->q != NULL && f->q[0] == '\0')
		f->q = NULL;
	if (f->tag != NULL && f->tag[0] == '\0')
		f->tag = NULL;
	if (jsonx_get_string(obj, "due_before", JSONX_NULLABLE, 0, 64, &s,
	    errs) == APP_OK && s != NULL)
		f->due_before = task_time(errs->arena, s, "due_before", errs);
	s = NULL;
	if (jsonx_get_string(obj, "due_after", JSONX_NULLABLE, 0, 64, &s,
	    errs) == APP_OK && s != NULL)
		f->due_after = task_time(errs->arena, s, "due_after", errs);
	n = f->limit;
	if (jsonx_get_int(obj, "limit", 0, 1, TASK_LIST_MAX, &n, errs) ==
	    APP_OK)
		f->limit = (int)n;
}

/*
 * Query parameter `key': APP_OK with *out NULL when absent, the decoded
 * text otherwise; APP_EINVAL (recorded) for bad escapes, a NUL or invalid
 * UTF-8.
 */



/* A time parameter, as UTC text; NULL when absent or wrong. */
static const char *
task_param_time(struct http_request *req, const char *key,
    struct jsonx_errors *errs)
{
	const char	*v;

	if (jsonx_param(req, key, &v, errs) != APP_OK || v == NULL)
		return NULL;
	return task_time(req->arena, v, key, errs);
}


enum app_err
tasks_http_list(struct http_request *req, struct http_response *res)
{
	struct task_filter	 f;
	struct jsonx_errors	 errs;
	char			*json;
	int			 v;
	enum app_err		 e;

	tasks_filter_init(&f);
	jsonx_errors_init(&errs, req->arena);
	if ((v = jsonx_param_enum(req, "status", task_statuses, task_msg_status,
	    &errs)) >= 0)
		f.status = (enum task_status)v;
	if ((v = jsonx_param_enum(req, "sort", task_sort_names, task_msg_sort,
	    &errs)) >= 0)
		f.sort = (enum task_sort)v;
	if ((v = jsonx_param_enum(req, "order", task_orders, task_msg_order,
	    &errs)) >= 0)
		f.asc = v == 0;
	f.q = jsonx_param_text(req, "q", 500, &errs);
	f.tag = jsonx_param_text(req, "tag", TASK_TAG_MAX, &errs);
	f.due_before = task_param_time(req, "due_before", &errs);
	f.due_after = task_param_time(req, "due_after", &errs);
	jsonx_param_int(req, "limit", 1, TASK_LIST_MAX, &f.limit, &errs);
	jsonx_param_int(req, "offset", 0, TASK_OFFSET_MAX, &f.offset, &errs);
	if ((e = jsonx_errors_result(&errs)) != APP_OK)
		return jsonx_send_errors(res, &errs);
	if ((e = tasks_list(task_db(req), req->arena, req->user_id, &f,
	    &json)) != APP_OK)
		return e;
	return http_send_json_str(res, 200, json, strlen(json));
}

/* TASKS_READY: the routes above are served (helpers wait for this). */
