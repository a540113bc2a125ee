/*
 * chatkit.c: the ChatKit server protocol (POST /api/chatkit).
 *
 * Every request is checked whole before anything is answered: a bad
 * body, an unknown type, a thread or item that is not the user's gets
 * quipu's JSON error and changes nothing. The reading requests answer
 * JSON that PostgreSQL writes (chatkit_item(), chatkit_thread() and
 * chatkit_page() in sql/005_chatkit.sql). The others answer a stream of
 * data: frames: a turn of lib/agent.c, its events written as ChatKit's
 * (thread.item.added, content parts, text deltas, thread.item.done, ...);
 * after the 200 a failure is an error frame and the stream ends.
 *
 * Free-form JSON the client sends (content parts, a client tool's
 * output, an action's payload) is kept as its text, with the white space
 * between tokens taken out, so it comes back byte for byte.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent.h"
#include "app.h"
#include "arena.h"
#include "attachments.h"
#include "chat.h"
#include "chatkit.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "quota.h"
#include "scoreboard.h"
#include "sse.h"
#include "threads.h"
#include "transcribe.h"
#include "widgets.h"

#define CK_PAGE_DEFAULT		20
#define CK_PAGE_MAX		100
#define CK_CONTENT_MAX		100	/* parts of a message */
#define CK_ATTACHMENTS_MAX	10	/* files of a message */
#define CK_FEEDBACK_MAX		100	/* items of one feedback */
#define CK_ID_MAX		64
#define CK_EMPTY_PAGE		"{\"data\":[],\"has_more\":false}"

/* The items ChatKit shows: not the hidden ones, not an answer without
 * text (one in progress, or stopped before its first word). */
#define CK_VISIBLE \
	"(i.role IN ('user', 'widget', 'client_tool_call') OR " \
	"(i.role = 'assistant' AND i.content <> ''))"

/* One request. */
struct ck {
	struct http_request	*req;
	struct http_response	*res;
	struct arena		*ar;
	struct json_object	*params;
	const char		*raw;		/* the text of params */
	size_t			 rawlen;
	struct jsonx_errors	 errs;
};

/* ------------------------------------------------------------ helpers */

static struct db_pool *
ck_db(const struct ck *c)
{
	return c->req->app->db;
}

static enum app_err
ck_not_found(struct ck *c, const char *what, const char *id)
{
	(void)http_send_error(c->res, APP_ENOTFOUND, NULL, "%s %s not found",
	    what, id);
	return APP_ENOTFOUND;
}

static enum app_err
ck_json(struct ck *c, const char *s)
{
	return http_send_json_str(c->res, 200, s, strlen(s));
}

/* The params' errors so far, answered; APP_OK when there are none. */
static enum app_err
ck_checked(struct ck *c)
{
	return jsonx_errors_answer(c->res, &c->errs);
}

/* A required id param; its form is checked by ck_id_ok(). */
static void
ck_id_param(struct ck *c, const char *key, const char **id)
{
	*id = NULL;
	(void)jsonx_get_string(c->params, key, JSONX_REQUIRED, 1, CK_ID_MAX,
	    id, &c->errs);
}

/* An id that cannot be one of ours is simply not found. */
static enum app_err
ck_id_ok(struct ck *c, const char *what, const char *prefix, const char *id)
{
	if (!threads_id_ok(id, prefix))
		return ck_not_found(c, what, id);
	return APP_OK;
}

/* The user's live thread `id', or 404 (answered). */
static enum app_err
ck_thread(struct ck *c, const char *id)
{
	static const char sql[] =
	    "SELECT 1 FROM threads WHERE user_id = $1 AND id = $2 AND "
	    "deleted_at IS NULL";
	const char	*p[2];
	char		*one;
	enum app_err	 e;

	if ((e = ck_id_ok(c, "thread", "thr_", id)) != APP_OK)
		return e;
	p[0] = c->req->user_id;
	p[1] = id;
	e = db_one(ck_db(c), c->ar, sql, 2, p, &one);
	if (e == APP_ENOTFOUND)
		return ck_not_found(c, "thread", id);
	return e;
}

/*
 * The thread_id param of a turn: present and well formed (else
 * answered). Whether it is the user's is the turn's first statement's
 * business (threads_turn_begin() answers 404), not another round trip.
 */
static enum app_err
ck_thread_param(struct ck *c, const char **id)
{
	enum app_err	 e;

	ck_id_param(c, "thread_id", id);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	return ck_id_ok(c, "thread", "thr_", *id);
}

/* The raw text of params.key, compacted; NULL when absent (or ENOMEM:
 * *oom). */
static const char *
ck_raw(struct ck *c, const char *obj, size_t len, const char *key,
    size_t *vlen, bool *oom)
{
	const char	*v;
	char		*s;

	if ((v = jsonx_raw_member(obj, len, key, vlen)) == NULL)
		return NULL;
	if ((s = jsonx_compact(c->ar, v, *vlen)) == NULL) {
		*oom = true;
		return NULL;
	}
	*vlen = strlen(s);
	return s;
}

/* Paging params: limit (null or 0: the default; at most CK_PAGE_MAX),
 * order (asc or desc), after (an id, or null). */
static void
ck_page_params(struct ck *c, bool desc_default, int *limit, bool *desc,
    const char **after)
{
	static const char *const orders[] = { "asc", "desc", NULL };
	int64_t		 n = 0;
	int		 o;

	*limit = CK_PAGE_DEFAULT;
	*desc = desc_default;
	*after = NULL;
	if (!jsonx_is_null(c->params, "limit") &&
	    jsonx_get_int(c->params, "limit", 0, 0, INT32_MAX, &n,
	    &c->errs) == APP_OK && n > 0)
		*limit = n > CK_PAGE_MAX ? CK_PAGE_MAX : (int)n;
	if (!jsonx_is_null(c->params, "order") &&
	    (o = jsonx_get_enum(c->params, "order", orders,
	    "must be asc or desc", &c->errs)) >= 0)
		*desc = o == 1;
	(void)jsonx_get_string(c->params, "after", JSONX_NULLABLE, 1,
	    CK_ID_MAX, after, &c->errs);
}

/* ------------------------------------------------------------ reading */

static enum app_err
ck_get(struct ck *c)
{
	static const char sql[] =
	    "SELECT chatkit_thread(t, (SELECT chatkit_page(array_agg(k ORDER "
	    "BY seq), array_agg(id ORDER BY seq), $3) FROM (SELECT "
	    "chatkit_item(i) AS k, i.id, i.seq FROM items i WHERE "
	    "i.user_id = $1 AND i.thread_id = t.id AND i.deleted_at IS NULL "
	    "AND " CK_VISIBLE " ORDER BY i.seq LIMIT $3 + 1) x)) "
	    "FROM threads t WHERE t.user_id = $1 AND t.id = $2 AND "
	    "t.deleted_at IS NULL";
	const char	*id, *p[3];
	char		 lim[16], *json;
	enum app_err	 e;

	ck_id_param(c, "thread_id", &id);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	if ((e = ck_id_ok(c, "thread", "thr_", id)) != APP_OK)
		return e;
	snprintf(lim, sizeof(lim), "%d", CK_PAGE_DEFAULT);
	p[0] = c->req->user_id;
	p[1] = id;
	p[2] = lim;
	if ((e = db_one(ck_db(c), c->ar, sql, 3, p, &json)) == APP_ENOTFOUND)
		return ck_not_found(c, "thread", id);
	if (e != APP_OK)
		return e;
	return ck_json(c, json);
}

/* threads.list: by creation, newest first unless asc. */
#define CK_THREADS_SQL(cmp, dir) \
	"WITH cur AS (SELECT created_at, id FROM threads WHERE user_id = $1 " \
	"AND id = $2 AND deleted_at IS NULL), " \
	"p AS (SELECT chatkit_thread(t, '" CK_EMPTY_PAGE "') AS k, t.id, " \
	"t.created_at FROM threads t WHERE t.user_id = $1 AND " \
	"t.deleted_at IS NULL AND ($2::text IS NULL OR (t.created_at, t.id) " \
	cmp " (SELECT created_at, id FROM cur)) " \
	"ORDER BY t.created_at " dir ", t.id " dir " LIMIT $3::int + 1) " \
	"SELECT $2::text IS NULL OR EXISTS (SELECT 1 FROM cur), " \
	"(SELECT chatkit_page(array_agg(k ORDER BY created_at " dir ", id " \
	dir "), array_agg(id ORDER BY created_at " dir ", id " dir "), $3) " \
	"FROM p)"

static enum app_err
ck_list(struct ck *c)
{
	static const char asc[] = CK_THREADS_SQL(">", "ASC");
	static const char desc_sql[] = CK_THREADS_SQL("<", "DESC");
	const char	*after, *p[3];
	char		 lim[16];
	int		 limit;
	bool		 desc;
	PGresult	*r;
	enum app_err	 e;

	ck_page_params(c, true, &limit, &desc, &after);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	if (after != NULL && !threads_id_ok(after, "thr_"))
		return ck_not_found(c, "thread", after);
	snprintf(lim, sizeof(lim), "%d", limit);
	p[0] = c->req->user_id;
	p[1] = after;
	p[2] = lim;
	if ((e = db_run(ck_db(c), desc ? desc_sql : asc, 3, p, &r)) != APP_OK)
		return e;
	if (!db_bool(r, 0, 0)) {
		PQclear(r);
		return ck_not_found(c, "thread", after);
	}
	e = http_send_json_str(c->res, 200, PQgetvalue(r, 0, 1),
	    (size_t)PQgetlength(r, 0, 1));
	PQclear(r);
	return e;
}

/* items.list: a thread's items, newest first unless asc. */
#define CK_ITEMS_SQL(cmp, dir) \
	"WITH th AS (SELECT id FROM threads WHERE user_id = $1 AND id = $2 " \
	"AND deleted_at IS NULL), " \
	"cur AS (SELECT seq FROM items WHERE user_id = $1 AND thread_id = $2 " \
	"AND id = $3 AND deleted_at IS NULL), " \
	"p AS (SELECT chatkit_item(i) AS k, i.id, i.seq FROM items i WHERE " \
	"i.user_id = $1 AND i.thread_id = (SELECT id FROM th) AND " \
	"i.deleted_at IS NULL AND " CK_VISIBLE " AND ($3::text IS NULL OR " \
	"i.seq " cmp " (SELECT seq FROM cur)) ORDER BY i.seq " dir \
	" LIMIT $4::int + 1) " \
	"SELECT EXISTS (SELECT 1 FROM th), $3::text IS NULL OR " \
	"EXISTS (SELECT 1 FROM cur), (SELECT chatkit_page(array_agg(k ORDER " \
	"BY seq " dir "), array_agg(id ORDER BY seq " dir "), $4) FROM p)"

static enum app_err
ck_items_list(struct ck *c)
{
	static const char asc[] = CK_ITEMS_SQL(">", "ASC");
	static const char desc_sql[] = CK_ITEMS_SQL("<", "DESC");
	const char	*id, *after, *p[4];
	char		 lim[16];
	int		 limit;
	bool		 desc;
	PGresult	*r;
	enum app_err	 e;

	ck_id_param(c, "thread_id", &id);
	ck_page_params(c, true, &limit, &desc, &after);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	if ((e = ck_id_ok(c, "thread", "thr_", id)) != APP_OK)
		return e;
	if (after != NULL && !threads_id_ok(after, "msg_"))
		return ck_not_found(c, "item", after);
	snprintf(lim, sizeof(lim), "%d", limit);
	p[0] = c->req->user_id;
	p[1] = id;
	p[2] = after;
	p[3] = lim;
	if ((e = db_run(ck_db(c), desc ? desc_sql : asc, 4, p, &r)) != APP_OK)
		return e;
	if (!db_bool(r, 0, 0))
		e = ck_not_found(c, "thread", id);
	else if (!db_bool(r, 0, 1))
		e = ck_not_found(c, "item", after);
	else
		e = http_send_json_str(c->res, 200, PQgetvalue(r, 0, 2),
		    (size_t)PQgetlength(r, 0, 2));
	PQclear(r);
	return e;
}

/* ------------------------------------------------------------ editing */

static enum app_err
ck_update(struct ck *c)
{
	static const char sql[] =
	    "UPDATE threads AS t SET title = $3, updated_at = now() "
	    "WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL "
	    "RETURNING chatkit_thread(t, '" CK_EMPTY_PAGE "')";
	const char	*id, *title = NULL, *p[3];
	char		*json;
	enum app_err	 e;

	ck_id_param(c, "thread_id", &id);
	(void)jsonx_get_string(c->params, "title", JSONX_REQUIRED | JSONX_TRIM,
	    1, THREAD_TITLE_MAX, &title, &c->errs);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	if ((e = ck_id_ok(c, "thread", "thr_", id)) != APP_OK)
		return e;
	p[0] = c->req->user_id;
	p[1] = id;
	p[2] = title;
	if ((e = db_one(ck_db(c), c->ar, sql, 3, p, &json)) == APP_ENOTFOUND)
		return ck_not_found(c, "thread", id);
	if (e != APP_OK)
		return e;
	return ck_json(c, json);
}

static enum app_err
ck_delete(struct ck *c)
{
	static const char sql[] =
	    "UPDATE threads SET deleted_at = now(), updated_at = now() "
	    "WHERE user_id = $1 AND id = $2 AND deleted_at IS NULL "
	    "RETURNING 1";
	const char	*id, *p[2];
	char		*one;
	enum app_err	 e;

	ck_id_param(c, "thread_id", &id);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	if ((e = ck_id_ok(c, "thread", "thr_", id)) != APP_OK)
		return e;
	p[0] = c->req->user_id;
	p[1] = id;
	if ((e = db_one(ck_db(c), c->ar, sql, 2, p, &one)) == APP_ENOTFOUND)
		return ck_not_found(c, "thread", id);
	if (e != APP_OK)
		return e;
	return ck_json(c, "{}");
}

/* PostgreSQL array text of ids already checked to be ours ("{a,b}"). */
static char *
ck_id_array(struct arena *ar, const char *const *ids, size_t n)
{
	struct arena_str	 b;
	size_t			 i;

	memset(&b, 0, sizeof(b));
	if (ARENA_STR_LIT(ar, &b, "{") == -1)
		return NULL;
	for (i = 0; i < n; i++)
		if ((i > 0 && ARENA_STR_LIT(ar, &b, ",") == -1) ||
		    arena_str_add(ar, &b, ids[i], strlen(ids[i])) == -1)
			return NULL;
	if (ARENA_STR_LIT(ar, &b, "}") == -1)
		return NULL;
	return b.p;
}

/* items.feedback: all the items, or none (404). */
static enum app_err
ck_feedback(struct ck *c)
{
	static const char *const kinds[] = { "positive", "negative", NULL };
	static const char sql[] =
	    "WITH want AS (SELECT DISTINCT unnest($3::text[]) AS id), "
	    "found AS (SELECT i.id FROM items i JOIN threads t ON "
	    "t.id = i.thread_id WHERE i.user_id = $1 AND i.thread_id = $2 AND "
	    "t.user_id = $1 AND t.deleted_at IS NULL AND i.deleted_at IS NULL "
	    "AND " CK_VISIBLE " AND i.id IN (SELECT id FROM want)), "
	    "ok AS (SELECT (SELECT count(*) FROM found) = "
	    "(SELECT count(*) FROM want) AS ok), "
	    "up AS (UPDATE items SET feedback = $4, updated_at = now() "
	    "WHERE user_id = $1 AND id IN (SELECT id FROM found) AND "
	    "(SELECT ok FROM ok) RETURNING id) "
	    "SELECT (SELECT ok FROM ok), (SELECT count(*) FROM up)";
	const char	*id, **ids = NULL, *p[4];
	size_t		 n = 0, i;
	int		 kind;
	PGresult	*r;
	enum app_err	 e;

	ck_id_param(c, "thread_id", &id);
	(void)jsonx_get_string_array(c->params, "item_ids", JSONX_REQUIRED,
	    CK_FEEDBACK_MAX, 0, 1, CK_ID_MAX, &ids, &n, &c->errs);
	kind = jsonx_get_enum(c->params, "kind", kinds,
	    "must be positive or negative", &c->errs);
	if (kind < 0 && !jsonx_has(c->params, "kind"))
		jsonx_errors_add(&c->errs, "kind", "is required");
	if (ids != NULL && n == 0)
		jsonx_errors_add(&c->errs, "item_ids", "must not be empty");
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	if ((e = ck_thread(c, id)) != APP_OK)
		return e;
	for (i = 0; i < n; i++)
		if (!threads_id_ok(ids[i], "msg_"))
			return ck_not_found(c, "item", ids[i]);
	p[0] = c->req->user_id;
	p[1] = id;
	if ((p[2] = ck_id_array(c->ar, ids, n)) == NULL)
		return APP_ENOMEM;
	p[3] = kinds[kind];
	if ((e = db_run(ck_db(c), sql, 4, p, &r)) != APP_OK)
		return e;
	if (!db_bool(r, 0, 0)) {
		PQclear(r);
		(void)http_send_error(c->res, APP_ENOTFOUND, NULL,
		    "some of the items are not in thread %s", id);
		return APP_ENOTFOUND;
	}
	PQclear(r);
	return ck_json(c, "{}");
}

/* ------------------------------------------------------------ files */

static enum app_err
ck_attachment_create(struct ck *c)
{
	const char	*name = NULL, *mime = NULL;
	int64_t		 size = 0;
	char		*json;
	enum app_err	 e;

	(void)jsonx_get_string(c->params, "name", JSONX_REQUIRED, 1, 255,
	    &name, &c->errs);
	(void)jsonx_get_string(c->params, "mime_type", JSONX_REQUIRED, 1, 255,
	    &mime, &c->errs);
	(void)jsonx_get_int(c->params, "size", JSONX_REQUIRED, 0, INT64_MAX,
	    &size, &c->errs);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	e = attachments_create(c->req, name, size, mime, &json);
	switch (e) {
	case APP_OK:
		return ck_json(c, json);
	case APP_ETOOBIG:
		(void)http_send_error(c->res, e, NULL, "files may have at most "
		    "%ld bytes", c->req->app->conf->attachment_max);
		return e;
	case APP_EVALIDATION:
		(void)http_send_error(c->res, e, NULL, "the name or type of "
		    "the file is not valid");
		return e;
	default:
		return e;
	}
}

static enum app_err
ck_attachment_delete(struct ck *c)
{
	const char	*id;
	enum app_err	 e;

	ck_id_param(c, "attachment_id", &id);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	if ((e = ck_id_ok(c, "attachment", "atc_", id)) != APP_OK)
		return e;
	e = attachments_delete(ck_db(c), c->req->user_id, id);
	if (e == APP_ENOTFOUND)
		return ck_not_found(c, "attachment", id);
	if (e != APP_OK)
		return e;
	return ck_json(c, "{}");
}

static enum app_err
ck_transcribe(struct ck *c)
{
	struct arena_str	 b;
	const char		*audio = NULL, *mime = NULL, *why = NULL;
	char			*text;
	enum app_err		 e;

	(void)jsonx_get_string(c->params, "audio_base64", JSONX_REQUIRED, 1, 0,
	    &audio, &c->errs);
	(void)jsonx_get_string(c->params, "mime_type", JSONX_REQUIRED, 1, 255,
	    &mime, &c->errs);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	e = transcribe_audio(c->req->app, c->ar, audio, mime, &text, &why);
	if (e != APP_OK) {
		if (e == APP_ENOMEM)
			return e;
		(void)http_send_error(c->res, e, NULL, "%s", why != NULL ? why :
		    app_strerror(e));
		return e;
	}
	memset(&b, 0, sizeof(b));
	if (ARENA_STR_LIT(c->ar, &b, "{\"text\":") == -1 ||
	    jsonx_str_quote(c->ar, &b, text, strlen(text)) == -1 ||
	    ARENA_STR_LIT(c->ar, &b, "}") == -1)
		return APP_ENOMEM;
	return ck_json(c, b.p);
}

/* ------------------------------------------------------------ streams */

/* A streamed answer: the events of a turn as ChatKit frames. */
struct ck_stream {
	struct ck		*c;
	struct sse_watch	 watch;
	struct widget_ids	 tasks;		/* shown in a widget at the end */
	struct arena_str	 text;		/* the answer so far */
	const char		*item_id;	/* the answer's */
	const char		*thread;	/* thread.updated, sent last */
	enum app_err		 err;		/* the turn's error, sent last */
	bool			 options;	/* stream_options sent */
	bool			 part;		/* content part added */
};

/* One frame; -1 when the client is gone (or ENOMEM). */
static int
ck_frame(struct ck_stream *s, const char *json, size_t len)
{
	if (json == NULL || sse_event(s->c->res, NULL, json, len) != APP_OK)
		return -1;
	sse_watch_wrote(&s->watch);
	return 0;
}

/* {"type":TYPE,"KEY":JSON} */
static int
ck_frame_obj(struct ck_stream *s, const char *type, const char *key,
    const char *json)
{
	char	*f;

	f = arena_printf(s->c->ar, "{\"type\":\"%s\",\"%s\":%s}", type, key,
	    json);
	return ck_frame(s, f, f != NULL ? strlen(f) : 0);
}

static int
ck_options(struct ck_stream *s)
{
	static const char f[] =
	    "{\"type\":\"stream_options\",\"stream_options\":"
	    "{\"allow_cancel\":true}}";

	if (s->options)
		return 0;
	s->options = true;
	return ck_frame(s, f, sizeof(f) - 1);
}

/* thread.item.updated for the answer: {"type":UTYPE,"content_index":0,
 * REST} as its update. */
static int
ck_update_frame(struct ck_stream *s, const char *utype, const char *rest)
{
	char	*f;

	f = arena_printf(s->c->ar, "{\"type\":\"thread.item.updated\","
	    "\"item_id\":\"%s\",\"update\":{\"type\":\"assistant_message."
	    "content_part.%s\",\"content_index\":0,%s}}", s->item_id, utype,
	    rest);
	return ck_frame(s, f, f != NULL ? strlen(f) : 0);
}

/* {"type":"output_text","text":TEXT,"annotations":[]} */
static char *
ck_output_text(struct arena *ar, const char *text, size_t len)
{
	struct arena_str	 b;

	memset(&b, 0, sizeof(b));
	if (ARENA_STR_LIT(ar, &b, "\"content\":{\"type\":\"output_text\","
	    "\"text\":") == -1 ||
	    jsonx_str_quote(ar, &b, text != NULL ? text : "", len) == -1 ||
	    ARENA_STR_LIT(ar, &b, ",\"annotations\":[]}") == -1)
		return NULL;
	return b.p;
}

static int
ck_delta(struct ck_stream *s, const char *text, size_t len)
{
	struct arena		*ar = s->c->ar;
	struct arena_str	 b;

	if (!s->part) {
		s->part = true;
		if (ck_update_frame(s, "added", ck_output_text(ar, "", 0)) == -1)
			return -1;
	}
	if (arena_str_add(ar, &s->text, text, len) == -1)
		return -1;
	memset(&b, 0, sizeof(b));
	if (ARENA_STR_LIT(ar, &b, "\"delta\":") == -1 ||
	    jsonx_str_quote(ar, &b, text, len) == -1)
		return -1;
	return ck_update_frame(s, "text_delta", b.p);
}

/* The answer is stored: its part ends, and the item. An answer without
 * text (the model failed first) is taken back. */
static int
ck_done(struct ck_stream *s, const char *ck)
{
	char	*f;

	if (s->part && ck_update_frame(s, "done", ck_output_text(s->c->ar,
	    s->text.p, s->text.len)) == -1)
		return -1;
	if (s->text.len > 0)
		return ck_frame_obj(s, "thread.item.done", "item", ck);
	f = arena_printf(s->c->ar, "{\"type\":\"thread.item.removed\","
	    "\"item_id\":\"%s\"}", s->item_id);
	return ck_frame(s, f, f != NULL ? strlen(f) : 0);
}

static int
ck_emit(void *ctx, const struct agent_event *ev)
{
	struct ck_stream	*s = ctx;

	switch (ev->type) {
	case AGENT_THREAD_CREATED:
		return ck_frame_obj(s, "thread.created", "thread", ev->ck);
	case AGENT_ITEM_CREATED:
		if (strcmp(ev->role, "user") == 0)
			return ck_frame_obj(s, "thread.item.done", "item",
			    ev->ck) == -1 ? -1 : ck_options(s);
		if (ck_options(s) == -1)
			return -1;
		return ck_frame_obj(s, "thread.item.added", "item", ev->ck);
	case AGENT_MEMORY_USED:		/* ChatKit has no such event */
		return s->c->res->gone ? -1 : 0;
	case AGENT_TEXT_DELTA:
		return ck_delta(s, ev->text, ev->len);
	case AGENT_TOOL_CALL:
		return s->c->res->gone ? -1 : 0;
	case AGENT_TOOL_RESULT:
		return widgets_collect(s->c->ar, &s->tasks, ev->name,
		    ev->result);
	case AGENT_ITEM_DONE:
		return ck_done(s, ev->ck);
	case AGENT_CLIENT_CALL:
		return ck_frame_obj(s, "thread.item.done", "item", ev->ck);
	case AGENT_THREAD_UPDATED:
		s->thread = ev->ck;
		return 0;
	case AGENT_ERROR:
		s->err = ev->err;
		return 0;
	}
	return 0;
}

static bool
ck_tick(void *ctx)
{
	struct ck_stream	*s = ctx;

	return sse_watch_tick(&s->watch);
}

static int
ck_client_fd(void *ctx)
{
	struct ck_stream	*s = ctx;

	return http_client_fd(s->c->res);
}

/* A widget item's fields: {"widget":W,"copy_text":C}. */
static char *
ck_widget_data(struct arena *ar, const char *widget, const char *copy)
{
	struct arena_str	 b;

	memset(&b, 0, sizeof(b));
	if (ARENA_STR_LIT(ar, &b, "{\"widget\":") == -1 ||
	    arena_str_add(ar, &b, widget, strlen(widget)) == -1 ||
	    ARENA_STR_LIT(ar, &b, ",\"copy_text\":") == -1 ||
	    jsonx_str_quote(ar, &b, copy, strlen(copy)) == -1 ||
	    ARENA_STR_LIT(ar, &b, "}") == -1)
		return NULL;
	return b.p;
}

/* The widget of the tasks the turn's tools read or changed, stored after
 * the answer. */
static enum app_err
ck_widget(struct ck_stream *s, const char *thread_id)
{
	struct thread_extra	 x;
	struct arena		*ar = s->c->ar;
	struct arena_str	 ids;
	char			*widget, *copy, *data, *id, *ck;
	size_t			 i;
	enum app_err		 e;

	if (s->tasks.n == 0)
		return APP_OK;
	if ((e = widgets_tasks(ck_db(s->c), ar, s->c->req->user_id,
	    s->tasks.v, s->tasks.n, &widget, &copy)) != APP_OK)
		return e;
	memset(&ids, 0, sizeof(ids));
	if (ARENA_STR_LIT(ar, &ids, "{") == -1)
		return APP_ENOMEM;
	for (i = 0; i < s->tasks.n; i++) {
		char	 n[24];

		snprintf(n, sizeof(n), "%s%" PRId64, i > 0 ? "," : "",
		    s->tasks.v[i]);
		if (arena_str_add(ar, &ids, n, strlen(n)) == -1)
			return APP_ENOMEM;
	}
	if (ARENA_STR_LIT(ar, &ids, "}") == -1)
		return APP_ENOMEM;
	if ((data = ck_widget_data(ar, widget, copy)) == NULL)
		return APP_ENOMEM;
	memset(&x, 0, sizeof(x));
	x.role = "widget";
	x.data = data;
	x.task_ids = ids.p;
	if ((e = threads_item_add(ck_db(s->c), ar, s->c->req->user_id,
	    thread_id, &x, &id, &ck)) != APP_OK)
		return e;
	if (ck != NULL && ck_frame_obj(s, "thread.item.done", "item", ck) ==
	    -1)
		return APP_EHUP;
	return APP_OK;
}

/* The error frame of a failed turn: the model or the network may do
 * better on a second try. */
static int
ck_error(struct ck_stream *s, enum app_err e)
{
	char	*f;

	f = arena_printf(s->c->ar, "{\"type\":\"error\",\"code\":"
	    "\"stream.error\",\"allow_retry\":%s}", e == APP_EUPSTREAM ||
	    e == APP_ETIMEOUT || e == APP_EUNAVAIL || e == APP_EDB ? "true" :
	    "false");
	return ck_frame(s, f, f != NULL ? strlen(f) : 0);
}

/* {"type":"error","code":"custom","message":M,"allow_retry":false} */
static int
ck_custom_error(struct ck_stream *s, const char *message)
{
	struct arena_str	 b;

	memset(&b, 0, sizeof(b));
	if (ARENA_STR_LIT(s->c->ar, &b, "{\"type\":\"error\",\"code\":"
	    "\"custom\",\"message\":") == -1 ||
	    jsonx_str_quote(s->c->ar, &b, message, strlen(message)) == -1 ||
	    ARENA_STR_LIT(s->c->ar, &b, ",\"allow_retry\":false}") == -1)
		return -1;
	return ck_frame(s, b.p, b.len);
}

static void
ck_stream_init(struct ck_stream *s, struct ck *c)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
	sse_watch_init(&s->watch, c->res, c->req->app->conf->sse_heartbeat,
	    true);
}

/* Starts the 200: from here on failures are frames. */
static void
ck_stream_start(struct ck_stream *s)
{
	app_stream_count(s->c->req, true);
	/* Gone already, the turn still runs its course and is stored. */
	if (sse_start(s->c->res) != APP_OK)
		s->c->res->gone = true;
}

static void
ck_stream_end(struct ck_stream *s)
{
	app_stream_count(s->c->req, false);
}

/*
 * A turn as `st' says, streamed. Refusals (quota, a turn already
 * running) are answered as JSON before the stream starts.
 */
static enum app_err
ck_turn(struct ck *c, const struct thread_start *st, const char *const *atts,
    size_t natts)
{
	struct ck_stream	 s;
	struct agent_sink	 sink;
	struct agent_turn	 t;
	enum app_err		 e;

	e = agent_begin(c->req->app, c->ar, c->req->user_id, st, &t);
	if (e != APP_OK)
		return chat_refused(c->res, &t, st->thread_id, e);
	if (natts > 0 && attachments_bind(ck_db(c), c->req->user_id,
	    t.stored.thread_id, atts, natts) != APP_OK)
		log_warnx("chatkit: attachments of %s not bound",
		    t.stored.thread_id);
	t.attachments = atts;
	t.nattachments = natts;
	if ((e = quota_headers(c->res, &t.quota)) != APP_OK)
		return e;
	ck_stream_init(&s, c);
	s.item_id = t.stored.assistant_id;
	memset(&sink, 0, sizeof(sink));
	sink.emit = ck_emit;
	sink.tick = ck_tick;
	sink.client_fd = ck_client_fd;
	sink.ctx = &s;
	sink.stream = true;
	sink.client_tools = true;
	ck_stream_start(&s);
	e = agent_run(&t, &sink);
	c->req->background = t.queued;
	if (e != APP_EHUP && !c->res->gone) {
		if (ck_widget(&s, t.stored.thread_id) != APP_OK)
			log_warnx("chatkit: the task widget of %s failed",
			    t.stored.thread_id);
		if (s.thread != NULL)
			(void)ck_frame_obj(&s, "thread.updated", "thread",
			    s.thread);
		if (s.err != APP_OK)
			(void)ck_error(&s, s.err);
	}
	ck_stream_end(&s);
	return e == APP_EHUP || c->res->gone ? APP_EHUP : APP_OK;
}

/* ------------------------------------------------------------ input */

/* A user's message as ChatKit sends it (UserMessageInput). */
struct ck_input {
	const char	*text;		/* for the model and the native API */
	const char	*data;		/* the item's ChatKit fields */
	const char	**atts;		/* attachment ids */
	size_t		 natts;
};

/* The text of the content parts: input_text's text, input_tag's text. */
static void
ck_input_text(struct ck *c, struct json_object *content,
    struct arena_str *text)
{
	struct json_object	*part, *v;
	struct jsonx_errors	 pe;
	const char		*type, *s;
	char			 key[48];
	size_t			 i, n;
	enum app_err		 e;

	n = json_object_array_length(content);
	if (n == 0 || n > CK_CONTENT_MAX) {
		jsonx_errors_add(&c->errs, "input.content", n == 0 ?
		    "must not be empty" : "has too many parts");
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "input.content[%zu]", i);
		part = json_object_array_get_idx(content, i);
		if (!json_object_is_type(part, json_type_object) ||
		    !json_object_object_get_ex(part, "type", &v) ||
		    !json_object_is_type(v, json_type_string)) {
			jsonx_errors_add(&c->errs, key, "must be a content "
			    "part with a type");
			continue;
		}
		type = json_object_get_string(v);
		if (strcmp(type, "input_text") != 0 &&
		    strcmp(type, "input_tag") != 0) {
			jsonx_errors_add(&c->errs, key, "must be input_text or "
			    "input_tag");
			continue;
		}
		/* Checked apart, so that the error names the part. */
		s = NULL;
		jsonx_errors_init(&pe, c->ar);
		e = jsonx_get_string(part, "text", JSONX_REQUIRED, 0,
		    THREAD_MESSAGE_MAX, &s, &pe);
		snprintf(key, sizeof(key), "input.content[%zu].text", i);
		if (e == APP_EINVAL || e == APP_ENOMEM)
			(void)jsonx_errors_fatal(&c->errs, e, key);
		if (e != APP_OK || s == NULL) {
			jsonx_errors_add(&c->errs, key, "must be a string of at "
			    "most 5000 characters");
			continue;
		}
		if (text->len > 0 && s[0] != '\0' &&
		    ARENA_STR_LIT(c->ar, text, " ") == -1)
			(void)jsonx_errors_fatal(&c->errs, APP_ENOMEM, key);
		if (arena_str_add(c->ar, text, s, strlen(s)) == -1)
			(void)jsonx_errors_fatal(&c->errs, APP_ENOMEM, key);
	}
}

/* Trims ASCII white space in place. */
static char *
ck_trim(char *s)
{
	size_t	 n;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/*
 * params.input: checked, its text for the model, its fields kept as the
 * client wrote them. Answers the errors (422, 404 for an attachment that
 * is not the user's). `thread_id' is the thread the message goes to.
 */
static enum app_err
ck_input(struct ck *c, const char *thread_id, struct ck_input *in)
{
	struct json_object	*input, *content, *v;
	struct arena_str	 text, data;
	const char		*raw, *quoted = NULL, *rc, *rq, *ro, *missing;
	char			*atts_json, *t;
	size_t			 rawlen, n;
	bool			 oom = false;
	enum app_err		 e;

	memset(in, 0, sizeof(*in));
	memset(&text, 0, sizeof(text));
	if (!json_object_object_get_ex(c->params, "input", &input) ||
	    !json_object_is_type(input, json_type_object)) {
		jsonx_errors_add(&c->errs, "input", "must be an object");
		return ck_checked(c);
	}
	if (!json_object_object_get_ex(input, "content", &content) ||
	    !json_object_is_type(content, json_type_array))
		jsonx_errors_add(&c->errs, "input.content", "must be an array "
		    "of content parts");
	else
		ck_input_text(c, content, &text);
	if (jsonx_has(input, "attachments") &&
	    !jsonx_is_null(input, "attachments"))
		(void)jsonx_get_string_array(input, "attachments", 0,
		    CK_ATTACHMENTS_MAX, 0, 1, CK_ID_MAX, &in->atts, &in->natts,
		    &c->errs);
	(void)jsonx_get_string(input, "quoted_text", JSONX_NULLABLE, 0,
	    THREAD_MESSAGE_MAX, &quoted, &c->errs);
	if (json_object_object_get_ex(input, "inference_options", &v) &&
	    !json_object_is_type(v, json_type_object) &&
	    !json_object_is_type(v, json_type_null))
		jsonx_errors_add(&c->errs, "input.inference_options",
		    "must be an object");
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	t = ck_trim(text.p != NULL ? text.p : (char *)"");
	if (t[0] == '\0' || utf8_len(t) > THREAD_MESSAGE_MAX) {
		jsonx_errors_add(&c->errs, "input.content", t[0] == '\0' ?
		    "must have some text" : "has too much text");
		return ck_checked(c);
	}
	/* A reply to a passage: the model is shown the passage. */
	if (quoted != NULL && quoted[0] != '\0')
		t = arena_printf(c->ar, "> %s\n\n%s", quoted, t);
	if ((in->text = t) == NULL)
		return APP_ENOMEM;
	for (n = 0; n < in->natts; n++)
		if (!threads_id_ok(in->atts[n], "atc_"))
			return ck_not_found(c, "attachment", in->atts[n]);
	if ((e = attachments_check(ck_db(c), c->ar, c->req->user_id,
	    thread_id, in->atts, in->natts, &atts_json, &missing)) ==
	    APP_ENOTFOUND)
		return ck_not_found(c, "attachment", missing);
	if (e != APP_OK)
		return e;
	/* The fields as written: {"content","attachments","quoted_text"?,
	 * "inference_options"} */
	raw = jsonx_raw_member(c->raw, c->rawlen, "input", &rawlen);
	rc = raw != NULL ? ck_raw(c, raw, rawlen, "content", &n, &oom) : NULL;
	rq = raw != NULL && quoted != NULL ? ck_raw(c, raw, rawlen,
	    "quoted_text", &n, &oom) : NULL;
	ro = raw != NULL && !jsonx_is_null(input, "inference_options") ?
	    ck_raw(c, raw, rawlen, "inference_options", &n, &oom) : NULL;
	if (oom || rc == NULL)
		return APP_ENOMEM;
	memset(&data, 0, sizeof(data));
	if (ARENA_STR_LIT(c->ar, &data, "{\"content\":") == -1 ||
	    arena_str_add(c->ar, &data, rc, strlen(rc)) == -1 ||
	    ARENA_STR_LIT(c->ar, &data, ",\"attachments\":") == -1 ||
	    arena_str_add(c->ar, &data, atts_json, strlen(atts_json)) == -1 ||
	    (rq != NULL && (ARENA_STR_LIT(c->ar, &data, ",\"quoted_text\":") == -1 || arena_str_add(c->ar, &data, rq, strlen(rq)) == -1)) ||
	    ARENA_STR_LIT(c->ar, &data, ",\"inference_options\":") == -1 ||
	    arena_str_add(c->ar, &data, ro != NULL ? ro : "{}",
	    ro != NULL ? strlen(ro) : 2) == -1 ||
	    ARENA_STR_LIT(c->ar, &data, "}") == -1)
		return APP_ENOMEM;
	in->data = data.p;
	return APP_OK;
}

/* ------------------------------------------------------------ turns */

static enum app_err
ck_create(struct ck *c)
{
	struct thread_start	 st;
	struct ck_input		 in;
	char			 tid[THREAD_ID_SIZE];
	enum app_err		 e;

	threads_new_id("thr_", tid);
	if ((e = ck_input(c, tid, &in)) != APP_OK)
		return e;
	memset(&st, 0, sizeof(st));
	st.create = true;
	st.thread_id = tid;
	st.message = in.text;
	st.data = in.data;
	return ck_turn(c, &st, in.atts, in.natts);
}

static enum app_err
ck_add_message(struct ck *c)
{
	struct thread_start	 st;
	struct ck_input		 in;
	const char		*id;
	enum app_err		 e;

	if ((e = ck_thread_param(c, &id)) != APP_OK)
		return e;
	if ((e = ck_input(c, id, &in)) != APP_OK)
		return e;
	memset(&st, 0, sizeof(st));
	st.thread_id = id;
	st.message = in.text;
	st.data = in.data;
	return ck_turn(c, &st, in.atts, in.natts);
}

/* An item of the user's live thread: its role and status (404 answered). */
static enum app_err
ck_item(struct ck *c, const char *thread_id, const char *item_id,
    const char **role, const char **status)
{
	static const char sql[] =
	    "SELECT i.role, i.status FROM items i JOIN threads t ON "
	    "t.id = i.thread_id WHERE i.user_id = $1 AND i.thread_id = $2 AND "
	    "i.id = $3 AND t.user_id = $1 AND t.deleted_at IS NULL AND "
	    "i.deleted_at IS NULL AND " CK_VISIBLE;
	const char	*p[3];
	PGresult	*r;
	enum app_err	 e;

	if ((e = ck_id_ok(c, "item", "msg_", item_id)) != APP_OK)
		return e;
	p[0] = c->req->user_id;
	p[1] = thread_id;
	p[2] = item_id;
	if ((e = db_run(ck_db(c), sql, 3, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return ck_not_found(c, "item", item_id);
	}
	*role = arena_strdup(c->ar, PQgetvalue(r, 0, 0));
	*status = arena_strdup(c->ar, PQgetvalue(r, 0, 1));
	PQclear(r);
	return *role == NULL || *status == NULL ? APP_ENOMEM : APP_OK;
}

/* thread_id and item_id: an item of the user's live thread. */
static enum app_err
ck_item_params(struct ck *c, const char **id, const char **item,
    const char **role, const char **status)
{
	enum app_err	 e;

	ck_id_param(c, "thread_id", id);
	ck_id_param(c, "item_id", item);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	/* ck_item() reads the item through its live thread. */
	if ((e = ck_id_ok(c, "thread", "thr_", *id)) != APP_OK)
		return e;
	return ck_item(c, *id, *item, role, status);
}

static enum app_err
ck_retry(struct ck *c)
{
	struct thread_start	 st;
	const char		*id, *item, *role, *status;
	enum app_err		 e;

	if ((e = ck_item_params(c, &id, &item, &role, &status)) != APP_OK)
		return e;
	if (strcmp(role, "user") != 0) {
		jsonx_errors_add(&c->errs, "item_id", "must be a user message");
		return ck_checked(c);
	}
	memset(&st, 0, sizeof(st));
	st.thread_id = id;
	st.retry_id = item;
	return ck_turn(c, &st, NULL, 0);
}

/*
 * threads.add_client_tool_output: the output completes the newest
 * pending client tool call among the thread's last 20 items (not only
 * the very last one: a note may have come after it); any other pending
 * one there is dropped. Then the model answers, with or without a call
 * found (the output is then stored nowhere).
 */
static enum app_err
ck_client_output(struct ck *c)
{
	static const char sql[] =
	    "WITH recent AS (SELECT id, role, status, seq FROM items WHERE "
	    "user_id = $1 AND thread_id = $2 AND deleted_at IS NULL "
	    "ORDER BY seq DESC LIMIT 20), "
	    "pick AS (SELECT id FROM recent WHERE role = 'client_tool_call' "
	    "AND status = 'pending' ORDER BY seq DESC LIMIT 1), "
	    "done AS (UPDATE items SET status = 'completed', output = $3::json, "
	    "updated_at = now() WHERE user_id = $1 AND id = "
	    "(SELECT id FROM pick) RETURNING id), "
	    "gone AS (UPDATE items SET deleted_at = now() WHERE user_id = $1 "
	    "AND id IN (SELECT id FROM recent WHERE role = 'client_tool_call' "
	    "AND status = 'pending') AND id <> (SELECT id FROM pick)) "
	    "SELECT count(*) FROM done";
	struct thread_start	 st;
	const char		*id, *out, *p[3];
	size_t			 n;
	bool			 oom = false;
	char			*count;
	enum app_err		 e;

	if ((e = ck_thread_param(c, &id)) != APP_OK)
		return e;
	out = ck_raw(c, c->raw, c->rawlen, "result", &n, &oom);
	if (oom)
		return APP_ENOMEM;
	if (out == NULL) {
		jsonx_errors_add(&c->errs, "result", "is required");
		return ck_checked(c);
	}
	p[0] = c->req->user_id;
	p[1] = id;
	p[2] = out;
	if ((e = db_one(ck_db(c), c->ar, sql, 3, p, &count)) != APP_OK)
		return e;
	memset(&st, 0, sizeof(st));
	st.thread_id = id;
	return ck_turn(c, &st, NULL, 0);
}

static enum app_err
ck_structured_input(struct ck *c)
{
	const char	*id, *item, *role, *status;
	enum app_err	 e;

	if ((e = ck_item_params(c, &id, &item, &role, &status)) != APP_OK)
		return e;
	/* quipu asks no structured questions: no item is one. */
	(void)http_send_error(c->res, APP_ENOTFOUND, NULL, "item %s is not a "
	    "pending structured input", item);
	return APP_ENOTFOUND;
}

/* ------------------------------------------------------------ actions */

/* A custom action, checked: its sender (a widget, or none) and what it
 * asks. */
struct ck_action {
	const char	*thread_id;
	const char	*item_id;	/* NULL: no sender */
	bool		 widget;	/* the sender is a widget */
	int64_t		*tasks;		/* the widget's tasks */
	size_t		 ntasks;
	const char	*type;
	const char	*payload;	/* JSON text */
};

/* The sender's kind and the widget's tasks. */
static enum app_err
ck_sender(struct ck *c, struct ck_action *a)
{
	static const char sql[] =
	    "SELECT i.role, coalesce(array_to_string(i.task_ids, ','), '') "
	    "FROM items i WHERE i.user_id = $1 AND i.thread_id = $2 AND "
	    "i.id = $3 AND i.deleted_at IS NULL AND " CK_VISIBLE;
	const char	*p[3], *s;
	char		*end;
	PGresult	*r;
	size_t		 n = 1;
	enum app_err	 e;

	if ((e = ck_id_ok(c, "item", "msg_", a->item_id)) != APP_OK)
		return e;
	p[0] = c->req->user_id;
	p[1] = a->thread_id;
	p[2] = a->item_id;
	if ((e = db_run(ck_db(c), sql, 3, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return ck_not_found(c, "item", a->item_id);
	}
	a->widget = strcmp(PQgetvalue(r, 0, 0), "widget") == 0;
	for (s = PQgetvalue(r, 0, 1); *s != '\0'; s++)
		n += *s == ',';
	if ((a->tasks = arena_calloc(c->ar, n, sizeof(*a->tasks))) == NULL) {
		PQclear(r);
		return APP_ENOMEM;
	}
	for (s = PQgetvalue(r, 0, 1); *s != '\0'; s = *end == ',' ? end + 1 :
	    end) {
		a->tasks[a->ntasks++] = strtoll(s, &end, 10);
		if (end == s)
			break;
	}
	PQclear(r);
	return APP_OK;
}

/* params of threads.custom_action and threads.sync_custom_action. */
static enum app_err
ck_action_params(struct ck *c, struct ck_action *a)
{
	struct json_object	*action;
	const char		*raw;
	size_t			 n;
	bool			 oom = false;
	enum app_err		 e;

	memset(a, 0, sizeof(*a));
	ck_id_param(c, "thread_id", &a->thread_id);
	(void)jsonx_get_string(c->params, "item_id", JSONX_NULLABLE, 1,
	    CK_ID_MAX, &a->item_id, &c->errs);
	if (!json_object_object_get_ex(c->params, "action", &action) ||
	    !json_object_is_type(action, json_type_object))
		jsonx_errors_add(&c->errs, "action", "must be an object");
	else
		(void)jsonx_get_string(action, "type", JSONX_REQUIRED, 1, 128,
		    &a->type, &c->errs);
	if ((e = ck_checked(c)) != APP_OK)
		return e;
	if ((e = ck_thread(c, a->thread_id)) != APP_OK)
		return e;
	if (a->item_id != NULL && (e = ck_sender(c, a)) != APP_OK)
		return e;
	raw = jsonx_raw_member(c->raw, c->rawlen, "action", &n);
	a->payload = raw != NULL ? ck_raw(c, raw, n, "payload", &n, &oom) :
	    NULL;
	if (oom)
		return APP_ENOMEM;
	if (a->payload == NULL)
		a->payload = "null";
	return APP_OK;
}

/*
 * Does what the action asks, as the user, tells the model in a hidden
 * note, and refreshes the sender widget: *ck the widget item, *widget
 * its root (both NULL without a widget). APP_EINVAL (*why) or
 * APP_ENOTFOUND: nothing was done.
 */
static enum app_err
ck_act(struct ck *c, const struct ck_action *a, char **ck, char **widget,
    const char **why)
{
	static const char sql[] =
	    "UPDATE items AS i SET data = $4::json, updated_at = now() "
	    "WHERE user_id = $1 AND thread_id = $2 AND id = $3 AND "
	    "deleted_at IS NULL RETURNING chatkit_item(i)";
	struct thread_extra	 x;
	const char		*p[4];
	char			*note = NULL, *copy, *id, *hidden;
	enum app_err		 e;

	*ck = *widget = NULL;
	*why = NULL;
	e = widgets_action(ck_db(c), c->ar, c->req->user_id, a->type,
	    a->payload, &note);
	if (e == APP_EINVAL)
		*why = note;
	if (e != APP_OK)
		return e;
	memset(&x, 0, sizeof(x));
	x.role = "hidden";
	x.content = note;
	if (threads_item_add(ck_db(c), c->ar, c->req->user_id, a->thread_id,
	    &x, &id, &hidden) != APP_OK)
		log_warnx("chatkit: the note of an action in %s was not stored",
		    a->thread_id);
	if (!a->widget)
		return APP_OK;
	if ((e = widgets_tasks(ck_db(c), c->ar, c->req->user_id, a->tasks,
	    a->ntasks, widget, &copy)) != APP_OK)
		return e;
	p[0] = c->req->user_id;
	p[1] = a->thread_id;
	p[2] = a->item_id;
	if ((p[3] = ck_widget_data(c->ar, *widget, copy)) == NULL)
		return APP_ENOMEM;
	return db_one(ck_db(c), c->ar, sql, 4, p, ck);
}

static enum app_err
ck_custom_action(struct ck *c)
{
	static const char not_widget[] =
	    "{\"type\":\"error\",\"code\":\"stream.error\","
	    "\"allow_retry\":false}";
	struct ck_stream	 s;
	struct ck_action	 a;
	const char		*why;
	char			*ck, *widget, *f;
	enum app_err		 e;

	if ((e = ck_action_params(c, &a)) != APP_OK)
		return e;
	ck_stream_init(&s, c);
	ck_stream_start(&s);
	/* As the reference server: a sender that is not a widget. */
	if (a.item_id != NULL && !a.widget) {
		(void)ck_frame(&s, not_widget, sizeof(not_widget) - 1);
		ck_stream_end(&s);
		return APP_OK;
	}
	if (ck_options(&s) == -1) {
		ck_stream_end(&s);
		return APP_EHUP;
	}
	e = ck_act(c, &a, &ck, &widget, &why);
	if (e == APP_EINVAL)
		(void)ck_custom_error(&s, why != NULL ? why : "unknown action");
	else if (e == APP_ENOTFOUND)
		(void)ck_custom_error(&s, "That task is not in your list "
		    "any more.");
	else if (e != APP_OK)
		(void)ck_error(&s, e);
	else if (widget != NULL) {
		f = arena_printf(c->ar, "{\"type\":\"thread.item.updated\","
		    "\"item_id\":\"%s\",\"update\":{\"type\":"
		    "\"widget.root.updated\",\"widget\":%s}}", a.item_id, widget);
		(void)ck_frame(&s, f, f != NULL ? strlen(f) : 0);
	}
	ck_stream_end(&s);
	return APP_OK;
}

static enum app_err
ck_sync_action(struct ck *c)
{
	struct ck_action	 a;
	const char		*why;
	char			*ck, *widget, *s;
	enum app_err		 e;

	if ((e = ck_action_params(c, &a)) != APP_OK)
		return e;
	if (a.item_id != NULL && !a.widget) {
		jsonx_errors_add(&c->errs, "item_id", "must be a widget");
		return ck_checked(c);
	}
	e = ck_act(c, &a, &ck, &widget, &why);
	switch (e) {
	case APP_OK:
		break;
	case APP_EINVAL:
		(void)http_send_error(c->res, APP_EVALIDATION, NULL, "%s",
		    why != NULL ? why : "unknown action");
		return APP_EVALIDATION;
	case APP_ENOTFOUND:
		(void)http_send_error(c->res, e, NULL, "that task is not in "
		    "your list any more");
		return e;
	default:
		return e;
	}
	if (ck == NULL)
		return ck_json(c, "{}");
	if ((s = arena_printf(c->ar, "{\"updated_item\":%s}", ck)) == NULL)
		return APP_ENOMEM;
	return ck_json(c, s);
}

/* ------------------------------------------------------------ dispatch */

static const struct ck_op {
	const char	*type;
	enum app_err	(*run)(struct ck *);
} ck_ops[] = {
	{ "threads.create", ck_create },
	{ "threads.add_user_message", ck_add_message },
	{ "threads.add_client_tool_output", ck_client_output },
	{ "threads.add_structured_input", ck_structured_input },
	{ "threads.retry_after_item", ck_retry },
	{ "threads.custom_action", ck_custom_action },
	{ "threads.get_by_id", ck_get },
	{ "threads.list", ck_list },
	{ "threads.update", ck_update },
	{ "threads.delete", ck_delete },
	{ "items.list", ck_items_list },
	{ "items.feedback", ck_feedback },
	{ "attachments.create", ck_attachment_create },
	{ "attachments.delete", ck_attachment_delete },
	{ "input.transcribe", ck_transcribe },
	{ "threads.sync_custom_action", ck_sync_action },
};

enum app_err
chatkit_http(struct http_request *req, struct http_response *res)
{
	struct json_object	*body, *v;
	struct ck		 c;
	const char		*type;
	size_t			 i;
	enum app_err		 e;

	if ((e = jsonx_read_body(req, res, false, &body)) != APP_OK)
		return e;
	if (!json_object_object_get_ex(body, "type", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		(void)http_send_error(res, APP_EINVAL, NULL, "the request "
		    "needs a type, e.g. threads.list");
		return APP_EINVAL;
	}
	type = json_object_get_string(v);
	for (i = 0; i < sizeof(ck_ops) / sizeof(ck_ops[0]); i++)
		if (strcmp(ck_ops[i].type, type) == 0)
			break;
	if (i == sizeof(ck_ops) / sizeof(ck_ops[0])) {
		(void)http_send_error(res, APP_EINVAL, NULL, "unknown request "
		    "type %.64s", type);
		return APP_EINVAL;
	}
	memset(&c, 0, sizeof(c));
	c.req = req;
	c.res = res;
	c.ar = req->arena;
	jsonx_errors_init(&c.errs, c.ar);
	if (!json_object_object_get_ex(body, "params", &c.params) ||
	    !json_object_is_type(c.params, json_type_object) ||
	    (c.raw = jsonx_raw_member(req->body, req->body_len, "params",
	    &c.rawlen)) == NULL) {
		jsonx_errors_add(&c.errs, "params", "must be an object");
		return ck_checked(&c);
	}
	return ck_ops[i].run(&c);
}
