/*
 * threads.c: threads and their items: the SQL and the HTTP routes.
 *
 * PostgreSQL writes the JSON of the answers (api_thread() and api_item()
 * in sql/004_threads.sql); this file checks input, picks the statement
 * and wraps pages. Deleting is soft: deleted_at hides a thread and its
 * items from every statement here.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "app.h"
#include "arena.h"
#include "db.h"
#include "http.h"
#include "jsonx.h"
#include "quota.h"
#include "threads.h"

/* The items the native API shows: messages; widgets, client tool calls
 * and hidden context are ChatKit's (lib/chatkit.c). */
#define THREAD_NATIVE_ROLES	"role IN ('user', 'assistant')"

/* ------------------------------------------------------------ ids */

void
threads_new_id(const char *prefix, char out[THREAD_ID_SIZE])
{
	static const char	 b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char		 raw[10];
	size_t			 i, n;
	unsigned		 bits = 0, acc = 0;

	randombytes_buf(raw, sizeof(raw));
	n = strlen(prefix);
	memcpy(out, prefix, n);
	for (i = 0; i < sizeof(raw); i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = b32[(acc >> bits) & 31];
		}
	}
	out[n] = '\0';
}

/* An id from a path: the prefix and 16 base32 characters, nothing else. */
bool
threads_id_ok(const char *s, const char *prefix)
{
	size_t	 n = strlen(prefix), i;

	if (strncmp(s, prefix, n) != 0 || strlen(s) != n + 16)
		return false;
	for (i = n; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '2' && s[i] <= '7')))
			return false;
	return true;
}

/* ------------------------------------------------------------ turns */

/*
 * A turn starts in one statement, so in one round trip and all or
 * nothing: the quota (the user's row of the day in usage, counted only
 * under the limit), the thread (created, or claimed for this turn), the
 * user's message and the answer in progress, and, for a thread that
 * exists, the history. The data-modifying parts hang on each other's
 * RETURNING: no quota, no claim; no claim, no messages. Every part reads
 * the snapshot of the statement's start, so the history is what came
 * before the new messages.
 *
 * $1 user, $2 thread id, $3 title or stale seconds, $4 the quota (0:
 * none), $5 and $6 the messages' ids, $7 the message, $8 history length,
 * $9 the message's ChatKit fields.
 */
#define THREAD_QUOTA_CTE(src) \
	"q AS (INSERT INTO usage AS u (user_id, day, messages) " src \
	" ON CONFLICT (user_id, day) DO UPDATE SET messages = u.messages + 1 " \
	"WHERE $4::int = 0 OR u.messages < $4::int RETURNING u.messages)"
#define THREAD_ITEMS_CTE(from, seq) \
	"ins AS (INSERT INTO items AS i (id, user_id, thread_id, seq, role, " \
	"content, status, data) SELECT v.id, $1, $2, " seq ", v.role, " \
	"v.content, v.status, v.data FROM " from " (VALUES " \
	"($5, 1, 'user', $7, 'completed', $9::json), " \
	"($6, 0, 'assistant', '', 'in_progress', NULL::json)) " \
	"v(id, back, role, content, status, data) " \
	"RETURNING i.role, api_item(i) AS j, chatkit_item(i) AS k)"
/* The history, oldest first: [[id, role, content, status, tool_calls,
 * data, output], ...] */
#define THREAD_HISTORY_SELECT \
	"(SELECT json_agg(json_build_array(id, role, content, status, " \
	"tool_calls, data, output) ORDER BY seq) FROM h)"
#define THREAD_EMPTY_PAGE	"'{\"data\":[],\"has_more\":false}'"

static const char thread_create_sql[] =
    "WITH " THREAD_QUOTA_CTE(
    "VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 1)") ", "
    "th AS (INSERT INTO threads AS t (id, user_id, title, turn_started_at, "
    "item_seq, message_count, last_message_at) SELECT $2, $1, $3, now(), "
    "2, 2, now() WHERE EXISTS (SELECT 1 FROM q) "
    "RETURNING api_thread(t) AS j, chatkit_thread(t, " THREAD_EMPTY_PAGE
    ") AS k), "
    THREAD_ITEMS_CTE("th,", "2 - v.back") " "
    "SELECT 1, (SELECT messages FROM q), (SELECT j FROM th), false, "
    "(SELECT j FROM ins WHERE role = 'user'), "
    "(SELECT j FROM ins WHERE role = 'assistant'), NULL, $8::int, "
    "(SELECT k FROM th), (SELECT k FROM ins WHERE role = 'user'), "
    "(SELECT k FROM ins WHERE role = 'assistant'), 1";

/* A thread claimed for a turn; a turn that crashed left its message in
 * progress: closed here. */
#define THREAD_CLAIM_CTE \
	"cl AS (SELECT id FROM threads WHERE id = $2 AND user_id = $1 AND " \
	"deleted_at IS NULL AND (turn_started_at IS NULL OR " \
	"turn_started_at < now() - make_interval(secs => $3::int)) " \
	"FOR UPDATE)"
#define THREAD_CLAIMED_CTE(n) \
	"c AS (UPDATE threads AS t SET turn_started_at = now(), " \
	"item_seq = t.item_seq + " n ", message_count = t.message_count + " \
	n ", last_message_at = now(), updated_at = now() " \
	"WHERE t.id = $2 AND t.user_id = $1 AND EXISTS (SELECT 1 FROM ok) " \
	"AND EXISTS (SELECT 1 FROM q) " \
	"RETURNING t.item_seq, t.title IS NOT NULL AS titled)"

static const char thread_claim_sql[] =
    "WITH " THREAD_CLAIM_CTE ", ok AS (SELECT 1 FROM cl), "
    THREAD_QUOTA_CTE("SELECT $1, (now() AT TIME ZONE 'UTC')::date, 1 "
    "WHERE EXISTS (SELECT 1 FROM ok)") ", "
    THREAD_CLAIMED_CTE("2") ", "
    "s AS (UPDATE items SET status = 'incomplete', updated_at = now() "
    "WHERE user_id = $1 AND thread_id = $2 AND status = 'in_progress' AND "
    "EXISTS (SELECT 1 FROM c)), "
    THREAD_ITEMS_CTE("c,", "c.item_seq - v.back") ", "
    "h AS (SELECT * FROM (SELECT * FROM items WHERE user_id = $1 AND "
    "thread_id = $2 AND deleted_at IS NULL AND EXISTS (SELECT 1 FROM c) "
    "ORDER BY seq DESC LIMIT $8) x) "
    "SELECT (SELECT count(*) FROM cl), (SELECT messages FROM q), NULL, "
    "(SELECT titled FROM c), "
    "(SELECT j FROM ins WHERE role = 'user'), "
    "(SELECT j FROM ins WHERE role = 'assistant'), "
    THREAD_HISTORY_SELECT ", NULL, NULL, "
    "(SELECT k FROM ins WHERE role = 'user'), "
    "(SELECT k FROM ins WHERE role = 'assistant'), "
    "(SELECT count(*) FROM ok)";

/*
 * A turn without a new message: the answer to a user message again
 * ($5, its id: the items after it are removed) or, $5 NULL, to what is
 * there (a client tool's output). $6 the answer's id, $7 the history
 * length.
 */
static const char thread_answer_sql[] =
    "WITH " THREAD_CLAIM_CTE ", "
    "rt AS (SELECT seq FROM items WHERE user_id = $1 AND thread_id = $2 "
    "AND id = $5 AND role = 'user' AND deleted_at IS NULL), "
    "ok AS (SELECT 1 FROM cl WHERE $5::text IS NULL OR "
    "EXISTS (SELECT 1 FROM rt)), "
    THREAD_QUOTA_CTE("SELECT $1, (now() AT TIME ZONE 'UTC')::date, 1 "
    "WHERE EXISTS (SELECT 1 FROM ok)") ", "
    THREAD_CLAIMED_CTE("1") ", "
    "d AS (UPDATE items SET deleted_at = now(), status = CASE status WHEN "
    "'in_progress' THEN 'incomplete' ELSE status END "
    "WHERE user_id = $1 AND thread_id = $2 AND deleted_at IS NULL AND "
    "seq > (SELECT seq FROM rt) AND EXISTS (SELECT 1 FROM c)), "
    "s AS (UPDATE items SET status = 'incomplete', updated_at = now() "
    "WHERE user_id = $1 AND thread_id = $2 AND status = 'in_progress' AND "
    "($5::text IS NULL OR seq <= (SELECT seq FROM rt)) AND "
    "EXISTS (SELECT 1 FROM c)), "
    "ins AS (INSERT INTO items AS i (id, user_id, thread_id, seq, role, "
    "content, status) SELECT $6, $1, $2, c.item_seq, 'assistant', '', "
    "'in_progress' FROM c RETURNING api_item(i) AS j, chatkit_item(i) AS k), "
    "h AS (SELECT * FROM (SELECT * FROM items WHERE user_id = $1 AND "
    "thread_id = $2 AND deleted_at IS NULL AND EXISTS (SELECT 1 FROM c) "
    "AND ($5::text IS NULL OR seq <= (SELECT seq FROM rt)) "
    "ORDER BY seq DESC LIMIT $7) x) "
    "SELECT (SELECT count(*) FROM cl), (SELECT messages FROM q), NULL, "
    "(SELECT titled FROM c), NULL, (SELECT j FROM ins), "
    THREAD_HISTORY_SELECT ", NULL, NULL, NULL, (SELECT k FROM ins), "
    "(SELECT count(*) FROM ok)";

/* A JSON value as compact text in the arena; NULL for null or ENOMEM
 * (*oom tells which). */
static const char *
thread_json_text(struct arena *ar, struct json_object *v, bool *oom)
{
	const char	*s;

	if (v == NULL)
		return NULL;
	if ((s = arena_strdup(ar, json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE))) == NULL)
		*oom = true;
	return s;
}

/* A string member of the history's row, in the arena. */
static const char *
thread_json_str(struct arena *ar, struct json_object *row, size_t i,
    bool *oom)
{
	const char	*s;

	s = arena_strdup(ar, json_object_get_string(
	    json_object_array_get_idx(row, i)));
	if (s == NULL)
		*oom = true;
	return s;
}

/* The history's JSON [[id, role, content, status, tool_calls, data,
 * output], ...]. */
static enum app_err
thread_history(struct arena *ar, const char *json, struct thread_turn *t)
{
	struct json_object	*a, *it;
	const char		*why;
	size_t			 i, n;
	bool			 oom = false;
	enum app_err		 e;

	if ((e = jsonx_parse(json, strlen(json), &a, &why)) != APP_OK)
		return e == APP_ENOMEM ? e : APP_EINTERNAL;
	if (!json_object_is_type(a, json_type_array)) {
		json_object_put(a);
		return APP_EINTERNAL;
	}
	n = json_object_array_length(a);
	if ((t->history = arena_calloc(ar, n == 0 ? 1 : n,
	    sizeof(*t->history))) == NULL) {
		json_object_put(a);
		return APP_ENOMEM;
	}
	for (i = 0; i < n && !oom; i++) {
		struct thread_item	*h = &t->history[i];

		it = json_object_array_get_idx(a, i);
		if (json_object_array_length(it) != 7) {
			e = APP_EINTERNAL;
			break;
		}
		h->id = thread_json_str(ar, it, 0, &oom);
		h->role = thread_json_str(ar, it, 1, &oom);
		h->content = thread_json_str(ar, it, 2, &oom);
		h->status = thread_json_str(ar, it, 3, &oom);
		h->tool_calls = thread_json_text(ar,
		    json_object_array_get_idx(it, 4), &oom);
		h->data = thread_json_text(ar, json_object_array_get_idx(it, 5),
		    &oom);
		h->output = thread_json_text(ar,
		    json_object_array_get_idx(it, 6), &oom);
	}
	json_object_put(a);
	if (oom)
		return APP_ENOMEM;
	if (e == APP_OK)
		t->nhistory = n;
	return e;
}

/* Why a thread could not be claimed: not the user's, or busy. */
static enum app_err
thread_unclaimed(struct db_pool *pool, struct arena *ar, const char *user_id,
    const char *thread_id)
{
	static const char sql[] =
	    "SELECT 1 FROM threads WHERE id = $2 AND user_id = $1 AND "
	    "deleted_at IS NULL";
	const char	*p[2];
	char		*one;
	enum app_err	 e;

	p[0] = user_id;
	p[1] = thread_id;
	e = db_one(pool, ar, sql, 2, p, &one);
	return e == APP_OK ? APP_ECONFLICT : e;
}

/* A nullable text column of row 0, in the arena; false on ENOMEM. */
static bool
thread_col(struct arena *ar, PGresult *r, int col, const char **out)
{
	*out = NULL;
	if (PQgetisnull(r, 0, col))
		return true;
	return (*out = db_value(ar, r, 0, col)) != NULL;
}

enum app_err
threads_turn_begin(struct db_pool *pool, struct arena *ar,
    const char *user_id, const struct thread_start *st, int stale_s,
    struct quota *q, struct thread_turn *t)
{
	char		 tid[THREAD_ID_SIZE], uid[THREAD_ID_SIZE];
	char		 aid[THREAD_ID_SIZE], s3[16], s4[16], s8[16];
	const char	*p[9], *sql, *thread_id = st->thread_id;
	PGresult	*r;
	long		 used;
	int		 np;
	enum app_err	 e;

	memset(t, 0, sizeof(*t));
	if (st->create && thread_id == NULL) {
		threads_new_id("thr_", tid);
		thread_id = tid;
	}
	threads_new_id("msg_", uid);
	threads_new_id("msg_", aid);
	snprintf(s3, sizeof(s3), "%d", stale_s);
	snprintf(s4, sizeof(s4), "%d", q->limit);
	snprintf(s8, sizeof(s8), "%d", THREAD_HISTORY);
	p[0] = user_id;
	p[1] = thread_id;
	p[2] = st->create ? st->title : s3;
	p[3] = s4;
	p[4] = uid;
	p[5] = aid;
	p[6] = st->message;
	p[7] = s8;
	p[8] = st->data;
	np = 9;
	if (st->create)
		sql = thread_create_sql;
	else if (st->message != NULL)
		sql = thread_claim_sql;
	else {
		sql = thread_answer_sql;
		p[4] = st->retry_id;
		p[6] = s8;
		np = 7;
	}
	if ((e = db_run(pool, sql, np, p, &r)) != APP_OK)
		return e;
	if (strcmp(PQgetvalue(r, 0, 0), "0") == 0) {
		PQclear(r);
		return thread_unclaimed(pool, ar, user_id, thread_id);
	}
	if (strcmp(PQgetvalue(r, 0, 11), "0") == 0) {
		PQclear(r);
		return APP_ENOTFOUND;
	}
	if (PQgetisnull(r, 0, 1)) {
		PQclear(r);
		quota_set(q, q->limit, q->limit, true);
		return APP_ERATE;
	}
	used = strtol(PQgetvalue(r, 0, 1), NULL, 10);
	quota_set(q, q->limit, used, false);
	t->titled = db_bool(r, 0, 3) || (st->create && st->title != NULL);
	t->thread_id = arena_strdup(ar, thread_id);
	t->assistant_id = arena_strdup(ar, aid);
	/* The statement stored the new message under uid, or checked that
	 * retry_id is a user message of the thread. */
	if (st->message != NULL)
		t->user_item_id = arena_strdup(ar, uid);
	else if (st->retry_id != NULL)
		t->user_item_id = arena_strdup(ar, st->retry_id);
	if (t->thread_id == NULL || t->assistant_id == NULL ||
	    ((st->message != NULL || st->retry_id != NULL) &&
	    t->user_item_id == NULL) ||
	    !thread_col(ar, r, 2, &t->thread_json) ||
	    !thread_col(ar, r, 4, &t->user_item_json) ||
	    !thread_col(ar, r, 5, &t->assistant_json) ||
	    !thread_col(ar, r, 8, &t->ck_thread) ||
	    !thread_col(ar, r, 9, &t->ck_user_item) ||
	    !thread_col(ar, r, 10, &t->ck_assistant))
		e = APP_ENOMEM;
	else if (t->assistant_json == NULL || t->ck_assistant == NULL)
		e = APP_EINTERNAL;
	else if (!PQgetisnull(r, 0, 6))
		e = thread_history(ar, PQgetvalue(r, 0, 6), t);
	PQclear(r);
	return e;
}

enum app_err
threads_turn_finish(struct db_pool *pool, struct arena *ar,
    const char *user_id, const struct thread_turn *t,
    const struct thread_outcome *o, struct thread_finished *out)
{
	/* One statement, so one round trip, and all or nothing. */
	static const char sql[] =
	    "WITH it AS (UPDATE items AS i SET content = $3, status = $4, "
	    "tool_calls = $5::json, error = $6, prompt_tokens = $7, "
	    "completion_tokens = $8, memories_used = $12::json, "
	    "updated_at = now() "
	    "WHERE user_id = $1 AND id = $2 "
	    "RETURNING api_item(i) AS j, chatkit_item(i) AS k), "
	    "th AS (UPDATE threads AS t SET turn_started_at = NULL, "
	    "title = coalesce(t.title, $10), updated_at = now() "
	    "WHERE user_id = $1 AND id = $9 RETURNING t.deleted_at IS NULL "
	    "AND $10::text IS NOT NULL AND t.title = $10 AS named, "
	    "api_thread(t) AS j, chatkit_thread(t, " THREAD_EMPTY_PAGE
	    ") AS k), "
	    "u AS (INSERT INTO usage (user_id, day, tokens) "
	    "SELECT $1, (now() AT TIME ZONE 'UTC')::date, $11::bigint "
	    "WHERE $11::bigint > 0 ON CONFLICT (user_id, day) DO UPDATE "
	    "SET tokens = usage.tokens + excluded.tokens) "
	    "SELECT (SELECT j FROM it), (SELECT j FROM th WHERE named), "
	    "(SELECT k FROM it), (SELECT k FROM th WHERE named)";
	const char	*p[12];
	char		 pt[24], ct[24], tot[24];
	PGresult	*r;
	enum app_err	 e;

	memset(out, 0, sizeof(*out));
	snprintf(pt, sizeof(pt), "%" PRId64, o->prompt_tokens);
	snprintf(ct, sizeof(ct), "%" PRId64, o->completion_tokens);
	snprintf(tot, sizeof(tot), "%" PRId64,
	    o->prompt_tokens + o->completion_tokens);
	p[0] = user_id;
	p[1] = t->assistant_id;
	p[2] = o->content;
	p[3] = o->status;
	p[4] = o->tool_calls;
	p[5] = o->error;
	p[6] = pt;
	p[7] = ct;
	p[8] = t->thread_id;
	p[9] = t->titled ? NULL : o->title;
	p[10] = tot;
	p[11] = o->memories_used;
	if ((e = db_run(pool, sql, 12, p, &r)) != APP_OK)
		return e;
	if (!thread_col(ar, r, 0, (const char **)&out->item_json) ||
	    !thread_col(ar, r, 1, (const char **)&out->thread_json) ||
	    !thread_col(ar, r, 2, (const char **)&out->ck_item) ||
	    !thread_col(ar, r, 3, (const char **)&out->ck_thread))
		e = APP_ENOMEM;
	PQclear(r);
	return e;
}

enum app_err
threads_item_add(struct db_pool *pool, struct arena *ar, const char *user_id,
    const char *thread_id, const struct thread_extra *x, char **id,
    char **ck)
{
	static const char sql[] =
	    "WITH th AS (UPDATE threads SET item_seq = item_seq + 1 "
	    "WHERE id = $2 AND user_id = $1 AND deleted_at IS NULL "
	    "RETURNING item_seq) "
	    "INSERT INTO items AS i (id, user_id, thread_id, seq, role, "
	    "content, status, data, task_ids) SELECT $3, $1, $2, th.item_seq, "
	    "$4, coalesce($5, ''), coalesce($6, 'completed'), $7::json, "
	    "$8::bigint[] FROM th RETURNING coalesce(chatkit_item(i), '')";
	char		 iid[THREAD_ID_SIZE];
	const char	*p[8];
	char		*json;
	enum app_err	 e;

	*id = NULL;
	*ck = NULL;
	threads_new_id("msg_", iid);
	p[0] = user_id;
	p[1] = thread_id;
	p[2] = iid;
	p[3] = x->role;
	p[4] = x->content;
	p[5] = x->status;
	p[6] = x->data;
	p[7] = x->task_ids;
	if ((e = db_one(pool, ar, sql, 8, p, &json)) != APP_OK)
		return e;
	if ((*id = arena_strdup(ar, iid)) == NULL)
		return APP_ENOMEM;
	*ck = json[0] != '\0' ? json : NULL;
	return APP_OK;
}

/* ------------------------------------------------------------ reading */

enum app_err
threads_create(struct db_pool *pool, struct arena *ar, const char *user_id,
    const char *title, const char **out, char **json)
{
	static const char sql[] =
	    "INSERT INTO threads AS t (id, user_id, title) VALUES ($1, $2, $3) "
	    "RETURNING api_thread(t)";
	char		 id[THREAD_ID_SIZE];
	const char	*p[3];

	threads_new_id("thr_", id);
	p[0] = id;
	p[1] = user_id;
	p[2] = title;
	if ((*out = arena_strdup(ar, id)) == NULL)
		return APP_ENOMEM;
	return db_one(pool, ar, sql, 3, p, json);
}

static struct db_pool *
thread_db(const struct http_request *req)
{
	return req->app->db;
}

static enum app_err
thread_not_found(struct http_response *res, const char *id)
{
	(void)http_send_error(res, APP_ENOTFOUND, NULL,
	    "thread %s not found", id);
	return APP_ENOTFOUND;
}

/*
 * The thread id of the path; one that cannot be an id is answered 404,
 * as a missing thread is, and the handler stops there.
 */
static enum app_err
thread_path_id(struct http_request *req, struct http_response *res,
    const char **id)
{
	*id = req->params[0];
	if (!threads_id_ok(*id, "thr_"))
		return thread_not_found(res, *id);
	return APP_OK;
}

/* {"items":I,"total":T,"limit":L,"offset":O,"has_more":B} */
static enum app_err
thread_page(struct http_response *res, const char *items, const char *total,
    int limit, int offset, bool more)
{
	char	*s;

	s = arena_printf(res->req->arena, "{\"items\":%s,\"total\":%s,"
	    "\"limit\":%d,\"offset\":%d,\"has_more\":%s}", items, total, limit,
	    offset, more ? "true" : "false");
	if (s == NULL)
		return APP_ENOMEM;
	return http_send_json_str(res, 200, s, strlen(s));
}

/*
 * The list: newest activity first. Optional filters are parameters that
 * are NULL when unused, so one prepared statement serves every request.
 */
enum app_err
threads_http_list(struct http_request *req, struct http_response *res)
{
	static const char qsql[] = "SELECT task_query($1)::text";
	static const char sql[] =
	    "WITH f AS (SELECT t FROM threads t WHERE t.user_id = $1 AND "
	    "t.deleted_at IS NULL AND "
	    "($4::boolean IS NULL OR (t.metadata @> '{\"archived\":true}') = "
	    "$4) AND "
	    "($5::boolean IS NULL OR (t.metadata @> '{\"pinned\":true}') = $5) "
	    "AND ($6::tsquery IS NULL OR "
	    "to_tsvector('simple'::regconfig, coalesce(t.title, '')) @@ $6 OR "
	    "EXISTS (SELECT 1 FROM items i WHERE i.user_id = $1 AND "
	    "i.thread_id = t.id AND i.deleted_at IS NULL AND "
	    "i.role IN ('user', 'assistant') AND i.words @@ $6))) "
	    "SELECT (SELECT count(*) FROM f), "
	    "(SELECT coalesce(json_agg(api_thread(p.t) ORDER BY "
	    "coalesce((p.t).last_message_at, (p.t).created_at) DESC, "
	    "(p.t).id DESC), '[]') FROM (SELECT f.t FROM f ORDER BY "
	    "coalesce((f.t).last_message_at, (f.t).created_at) DESC, "
	    "(f.t).id DESC LIMIT $2 OFFSET $3) p)";
	static const char *const tri[] = { "false", "true", "any", NULL };
	struct jsonx_errors	 errs;
	const char		*q, *p[6], *total, *items;
	char			 sl[16], so[16];
	int			 limit = THREAD_LIST_DEFAULT, offset = 0;
	int			 archived, pinned;
	PGresult		*r;
	enum app_err		 e;

	jsonx_errors_init(&errs, req->arena);
	jsonx_param_int(req, "limit", 1, THREAD_LIST_MAX, &limit, &errs);
	jsonx_param_int(req, "offset", 0, THREAD_OFFSET_MAX, &offset, &errs);
	archived = jsonx_param_enum(req, "archived", tri,
	    "must be true, false or any", &errs);
	pinned = jsonx_param_enum(req, "pinned", tri,
	    "must be true, false or any", &errs);
	q = jsonx_param_text(req, "q", 200, &errs);
	if ((e = jsonx_errors_answer(res, &errs)) != APP_OK)
		return e;
	snprintf(sl, sizeof(sl), "%d", limit);
	snprintf(so, sizeof(so), "%d", offset);
	p[0] = req->user_id;
	p[1] = sl;
	p[2] = so;
	/* Archived threads are left out unless asked for. */
	p[3] = archived == 2 ? NULL : archived == 1 ? "true" : "false";
	p[4] = pinned < 0 || pinned == 2 ? NULL : tri[pinned];
	p[5] = NULL;
	if (q != NULL) {
		char	*ts;

		if ((e = db_one(thread_db(req), req->arena, qsql, 1, &q,
		    &ts)) != APP_OK)
			return e;
		p[5] = ts;
	}
	if ((e = db_run(thread_db(req), sql, 6, p, &r)) != APP_OK)
		return e;
	total = db_value(req->arena, r, 0, 0);
	items = db_value(req->arena, r, 0, 1);
	PQclear(r);
	if (total == NULL || items == NULL)
		return APP_ENOMEM;
	return thread_page(res, items, total, limit, offset,
	    offset + limit < strtoll(total, NULL, 10));
}

/* The thread with its most recent items (?limit=, 20 by default). */
enum app_err
threads_http_get(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "SELECT api_thread(t)::text, (SELECT coalesce(json_agg(api_item(i) "
	    "ORDER BY i.seq), '[]') FROM (SELECT * FROM items WHERE "
	    "user_id = $1 AND thread_id = t.id AND deleted_at IS NULL AND "
	    THREAD_NATIVE_ROLES " "
	    "ORDER BY seq DESC LIMIT $3) i) "
	    "FROM threads t WHERE t.user_id = $1 AND t.id = $2 AND "
	    "t.deleted_at IS NULL";
	struct jsonx_errors	 errs;
	const char		*id, *p[3], *thread, *items;
	char			 sl[16], *s;
	int			 limit = THREAD_LIST_DEFAULT;
	PGresult		*r;
	enum app_err		 e;

	if ((e = thread_path_id(req, res, &id)) != APP_OK)
		return e;
	jsonx_errors_init(&errs, req->arena);
	jsonx_param_int(req, "limit", 1, THREAD_LIST_MAX, &limit, &errs);
	if ((e = jsonx_errors_answer(res, &errs)) != APP_OK)
		return e;
	snprintf(sl, sizeof(sl), "%d", limit);
	p[0] = req->user_id;
	p[1] = id;
	p[2] = sl;
	if ((e = db_run(thread_db(req), sql, 3, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return thread_not_found(res, id);
	}
	thread = db_value(req->arena, r, 0, 0);
	items = db_value(req->arena, r, 0, 1);
	PQclear(r);
	if (thread == NULL || items == NULL)
		return APP_ENOMEM;
	/* The thread's object, with "items" added before its last brace. */
	if ((s = arena_printf(req->arena, "%.*s,\"items\":%s}",
	    (int)strlen(thread) - 1, thread, items)) == NULL)
		return APP_ENOMEM;
	return http_send_json_str(res, 200, s, strlen(s));
}

/*
 * Metadata of a PATCH: an object of at most THREAD_META_KEYS members,
 * each a string, number, boolean or null (null removes it); "pinned" and
 * "archived" are booleans. Answered as jsonb text for the merge.
 */
static const char *
thread_metadata(struct json_object *obj, struct jsonx_errors *errs)
{
	struct json_object	*m;
	char			 msg[96];

	if (!json_object_object_get_ex(obj, "metadata", &m))
		return NULL;
	if (!json_object_is_type(m, json_type_object)) {
		jsonx_errors_add(errs, "metadata", "must be an object");
		return NULL;
	}
	if (json_object_object_length(m) > THREAD_META_KEYS) {
		snprintf(msg, sizeof(msg), "must have at most %d keys",
		    THREAD_META_KEYS);
		jsonx_errors_add(errs, "metadata", msg);
		return NULL;
	}
	json_object_object_foreach(m, key, val) {
		enum json_type	 t = json_object_get_type(val);

		if (strlen(key) == 0 || utf8_len(key) > THREAD_META_KEY_MAX) {
			snprintf(msg, sizeof(msg), "keys must be 1 to %d "
			    "characters", THREAD_META_KEY_MAX);
			jsonx_errors_add(errs, "metadata", msg);
			return NULL;
		}
		if ((strcmp(key, "pinned") == 0 ||
		    strcmp(key, "archived") == 0) &&
		    t != json_type_boolean && t != json_type_null) {
			snprintf(msg, sizeof(msg), "%s must be a boolean", key);
			jsonx_errors_add(errs, "metadata", msg);
			return NULL;
		}
		if (t == json_type_object || t == json_type_array) {
			jsonx_errors_add(errs, "metadata",
			    "values must be strings, numbers, booleans or null");
			return NULL;
		}
		if (t == json_type_string &&
		    utf8_len(json_object_get_string(val)) >
		    THREAD_META_VALUE_MAX) {
			snprintf(msg, sizeof(msg), "values must be at most %d "
			    "characters", THREAD_META_VALUE_MAX);
			jsonx_errors_add(errs, "metadata", msg);
			return NULL;
		}
	}
	return arena_strdup(errs->arena, json_object_to_json_string_ext(m,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* {"title"?, "metadata"?}: a null or blank title removes it. */
enum app_err
threads_http_patch(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "UPDATE threads AS t SET "
	    "title = CASE WHEN $3 THEN $4 ELSE title END, "
	    "metadata = CASE WHEN $5::jsonb IS NULL THEN metadata ELSE "
	    "jsonb_strip_nulls(metadata || $5::jsonb) END, updated_at = now() "
	    "WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL AND "
	    "($5::jsonb IS NULL OR (SELECT count(*) FROM jsonb_object_keys("
	    "jsonb_strip_nulls(metadata || $5::jsonb))) <= $6) "
	    "RETURNING api_thread(t)";
	static const char *const fields[] = { "title", "metadata", NULL };
	struct jsonx_errors	 errs;
	struct json_object	*obj;
	const char		*id, *title = NULL, *meta, *p[6];
	char			*json, keys[16];
	enum app_err		 e;

	if ((e = thread_path_id(req, res, &id)) != APP_OK)
		return e;
	if ((e = jsonx_read_body(req, res, false, &obj)) != APP_OK)
		return e;
	jsonx_errors_init(&errs, req->arena);
	json_object_object_foreach(obj, key, val) {
		size_t	i;

		(void)val;
		for (i = 0; fields[i] != NULL; i++)
			if (strcmp(key, fields[i]) == 0)
				break;
		if (fields[i] == NULL)
			jsonx_errors_add(&errs, key, "is not a thread field");
	}
	(void)jsonx_get_string(obj, "title", JSONX_NULLABLE | JSONX_TRIM, 0,
	    THREAD_TITLE_MAX, &title, &errs);
	meta = thread_metadata(obj, &errs);
	if ((e = jsonx_errors_answer(res, &errs)) != APP_OK)
		return e;
	if (title != NULL && title[0] == '\0')
		title = NULL;
	snprintf(keys, sizeof(keys), "%d", THREAD_META_KEYS);
	p[0] = req->user_id;
	p[1] = id;
	p[2] = jsonx_has(obj, "title") ? "true" : "false";
	p[3] = title;
	p[4] = meta;
	p[5] = keys;
	e = db_one(thread_db(req), req->arena, sql, 6, p, &json);
	if (e == APP_ENOTFOUND && meta != NULL) {
		/* The thread exists, but the merge has too many keys? */
		if (db_one(thread_db(req), req->arena, "SELECT 1 FROM threads "
		    "WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL", 2,
		    p, &json) == APP_OK) {
			jsonx_errors_add(&errs, "metadata", "would have more "
			    "than 16 keys");
			(void)jsonx_send_errors(res, &errs);
			return APP_EVALIDATION;
		}
	}
	if (e == APP_ENOTFOUND)
		return thread_not_found(res, id);
	if (e != APP_OK)
		return e;
	return http_send_json_str(res, 200, json, strlen(json));
}

/* Soft delete of the thread and its items, in one statement. */
enum app_err
threads_http_delete(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "WITH t AS (UPDATE threads SET deleted_at = now(), "
	    "turn_started_at = NULL WHERE user_id = $1 AND id = $2 AND "
	    "deleted_at IS NULL RETURNING id), "
	    "i AS (UPDATE items SET deleted_at = now() WHERE user_id = $1 AND "
	    "thread_id IN (SELECT id FROM t) AND deleted_at IS NULL) "
	    "SELECT id FROM t";
	const char	*id, *p[2];
	char		*out;
	enum app_err	 e;

	if ((e = thread_path_id(req, res, &id)) != APP_OK)
		return e;
	p[0] = req->user_id;
	p[1] = id;
	e = db_one(thread_db(req), req->arena, sql, 2, p, &out);
	if (e == APP_ENOTFOUND)
		return thread_not_found(res, id);
	if (e != APP_OK)
		return e;
	return http_send_empty(res, 204);
}

/*
 * Items, oldest first: by offset (?limit=&offset=), or by cursor
 * (?after=<item id> or ?before=<item id>, exclusive). Each answer gives
 * the thread's total and whether more follow in its direction.
 */
enum app_err
threads_http_messages(struct http_request *req, struct http_response *res)
{
	/* $4: the cursor's seq, from $5 (an item id) */
	static const char sql[] =
	    "WITH th AS (SELECT id FROM threads WHERE user_id = $1 AND "
	    "id = $2 AND deleted_at IS NULL), "
	    "cur AS (SELECT seq FROM items WHERE user_id = $1 AND "
	    "thread_id = $2 AND id = $5 AND deleted_at IS NULL), "
	    "live AS (SELECT * FROM items WHERE user_id = $1 AND thread_id = "
	    "(SELECT id FROM th) AND deleted_at IS NULL AND "
	    THREAD_NATIVE_ROLES "), "
	    "sel AS (SELECT * FROM live WHERE "
	    "CASE $4 WHEN 'after' THEN seq > (SELECT seq FROM cur) "
	    "WHEN 'before' THEN seq < (SELECT seq FROM cur) ELSE true END), "
	    "page AS (SELECT * FROM sel ORDER BY "
	    "CASE WHEN $4 = 'before' THEN -seq ELSE seq END "
	    "LIMIT $3 OFFSET $6) "
	    "SELECT (SELECT count(*) FROM th), (SELECT count(*) FROM cur), "
	    "(SELECT count(*) FROM live), (SELECT count(*) FROM sel), "
	    "(SELECT coalesce(json_agg(api_item(page) ORDER BY seq), '[]') "
	    "FROM page)";
	struct jsonx_errors	 errs;
	const char		*id, *after, *before, *p[6], *total, *items;
	char			 sl[16], so[16];
	int			 limit = THREAD_LIST_DEFAULT, offset = 0;
	long long		 nsel;
	PGresult		*r;
	enum app_err		 e;

	if ((e = thread_path_id(req, res, &id)) != APP_OK)
		return e;
	jsonx_errors_init(&errs, req->arena);
	jsonx_param_int(req, "limit", 1, THREAD_LIST_MAX, &limit, &errs);
	jsonx_param_int(req, "offset", 0, THREAD_OFFSET_MAX, &offset, &errs);
	after = jsonx_param_text(req, "after", 64, &errs);
	before = jsonx_param_text(req, "before", 64, &errs);
	if (after != NULL && before != NULL)
		jsonx_errors_add(&errs, "before", "cannot be used with after");
	if ((after != NULL || before != NULL) && offset != 0)
		jsonx_errors_add(&errs, "offset",
		    "cannot be used with a cursor");
	if ((e = jsonx_errors_answer(res, &errs)) != APP_OK)
		return e;
	snprintf(sl, sizeof(sl), "%d", limit);
	snprintf(so, sizeof(so), "%d", offset);
	p[0] = req->user_id;
	p[1] = id;
	p[2] = sl;
	p[3] = after != NULL ? "after" : before != NULL ? "before" : "none";
	p[4] = after != NULL ? after : before;
	p[5] = so;
	if ((e = db_run(thread_db(req), sql, 6, p, &r)) != APP_OK)
		return e;
	if (strcmp(PQgetvalue(r, 0, 0), "1") != 0) {
		PQclear(r);
		return thread_not_found(res, id);
	}
	if (p[4] != NULL && strcmp(PQgetvalue(r, 0, 1), "1") != 0) {
		PQclear(r);
		jsonx_errors_add(&errs, after != NULL ? "after" : "before",
		    "is not an item of this thread");
		(void)jsonx_send_errors(res, &errs);
		return APP_EVALIDATION;
	}
	total = db_value(req->arena, r, 0, 2);
	nsel = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	items = db_value(req->arena, r, 0, 4);
	PQclear(r);
	if (total == NULL || items == NULL)
		return APP_ENOMEM;
	return thread_page(res, items, total, limit, offset,
	    (long long)offset + limit < nsel);
}

/* {"kind": "positive"|"negative"|null} on an assistant message. */
enum app_err
threads_http_feedback(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "UPDATE items AS i SET feedback = $4, updated_at = now() "
	    "WHERE user_id = $1 AND thread_id = $2 AND id = $3 AND "
	    "role = 'assistant' AND deleted_at IS NULL AND "
	    "EXISTS (SELECT 1 FROM threads t WHERE t.user_id = $1 AND "
	    "t.id = $2 AND t.deleted_at IS NULL) RETURNING api_item(i)";
	static const char role[] =
	    "SELECT role FROM items i WHERE user_id = $1 AND thread_id = $2 "
	    "AND id = $3 AND deleted_at IS NULL AND EXISTS (SELECT 1 FROM "
	    "threads t WHERE t.user_id = $1 AND t.id = $2 AND "
	    "t.deleted_at IS NULL)";
	struct jsonx_errors	 errs;
	struct json_object	*obj;
	const char		*id, *item, *kind = NULL, *p[4];
	char			*json;
	enum app_err		 e;

	if ((e = thread_path_id(req, res, &id)) != APP_OK)
		return e;
	item = req->params[1];
	if (!threads_id_ok(item, "msg_"))
		return http_send_error(res, APP_ENOTFOUND, NULL,
		    "message not found");
	if ((e = jsonx_read_body(req, res, false, &obj)) != APP_OK)
		return e;
	jsonx_errors_init(&errs, req->arena);
	(void)jsonx_get_string(obj, "kind", JSONX_REQUIRED | JSONX_NULLABLE,
	    0, 16, &kind, &errs);
	if (kind != NULL && strcmp(kind, "positive") != 0 &&
	    strcmp(kind, "negative") != 0)
		jsonx_errors_add(&errs, "kind",
		    "must be positive, negative or null");
	if ((e = jsonx_errors_answer(res, &errs)) != APP_OK)
		return e;
	p[0] = req->user_id;
	p[1] = id;
	p[2] = item;
	p[3] = kind;
	e = db_one(thread_db(req), req->arena, sql, 4, p, &json);
	if (e == APP_ENOTFOUND) {
		if (db_one(thread_db(req), req->arena, role, 3, p, &json) ==
		    APP_OK) {
			jsonx_errors_add(&errs, "kind", "feedback is for the "
			    "assistant's messages");
			(void)jsonx_send_errors(res, &errs);
			return APP_EVALIDATION;
		}
		return http_send_error(res, APP_ENOTFOUND, NULL,
		    "message %s not found", item);
	}
	if (e != APP_OK)
		return e;
	return http_send_json_str(res, 200, json, strlen(json));
}
