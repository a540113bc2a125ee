/*
 * memory.c: the user's memories: reconciliation of new facts, the SQL,
 * the profile summary, the memories of a turn's prompt, and the routes
 * of /api/v1/memories (see memory.h).
 *
 * A change is one statement that writes the memory, its buckets (the LSH
 * keys recall.c searches) and its event together, and PostgreSQL writes
 * the JSON of the answer (api_memory(), api_memory_event()). The vector
 * of a new text is computed before any connection is taken: a remote
 * embedder may take seconds, and a pooled connection must not wait on it.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "app.h"
#include "arena.h"
#include "db.h"
#include "embed.h"
#include "extract.h"
#include "http.h"
#include "jsonx.h"
#include "llm.h"
#include "log.h"
#include "memory.h"
#include "recall.h"
#include "tasks.h"

#define MEMORY_OFFSET_MAX	1000000
/* Similar memories (recall_search) a new fact is compared with. */
#define MEMORY_SIMILAR		5
/* Memories of the fact's subject compared with it, newest first. */
#define MEMORY_SAME_MAX		50
/* Deletions read to keep a late extraction from undoing one (a string:
 * it is part of the statement). */
#define MEMORY_FORGOTTEN_MAX	"32"
/* Memories put into a turn's prompt. */
#define MEMORY_PROMPT_MAX	5
/* The builtin profile: characters, memories read, objects merged. */
#define MEMORY_SUMMARY_CHARS	600
#define MEMORY_SUMMARY_READ	200
#define MEMORY_SUMMARY_MERGE	6
/*
 * Words of a hand-written note in its subject. One more than the
 * extractor's three: a note added through the API is more often a new
 * fact than a correction, and two notes with one key replace each other
 * ("I need to call the bank" must not replace "I need to buy a gift",
 * which three words, "i need to", would key alike).
 */
#define MEMORY_NOTE_WORDS	4
/*
 * First key of the advisory lock that serialises the reconciliations of
 * one user (the second is a hash of the user id). Two keys of int4, a
 * space apart from the single bigint key of migrations (migrate.c).
 */
#define MEMORY_LOCK_CLASS	"7"

static const char *const memory_actors[] = {
	[MEMORY_EXTRACTION] = "extraction",
	[MEMORY_ASSISTANT] = "assistant",
	[MEMORY_USER] = "user",
};

static const char *const memory_ops[] = {
	[EXTRACT_ADD] = "ADD",
	[EXTRACT_UPDATE] = "UPDATE",
	[EXTRACT_DELETE] = "DELETE",
	[EXTRACT_NONE] = "NONE",
};

/* What memory_apply() did, for the C API and the routes. */
struct memory_outcome {
	enum extract_op	 op;
	int64_t		 id;		/* 0 when nothing matched */
	const char	*json;		/* api_memory(), or NULL */
	const char	*previous;	/* UPDATE: the text replaced */
};

/* ------------------------------------------------------------ text */

static bool
memory_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/*
 * A text as stored: trimmed of ASCII white space, 1..MEMORY_CONTENT_MAX
 * characters of valid UTF-8. An arena copy, or NULL (*e says why).
 */
static char *
memory_text(struct arena *ar, const char *s, enum app_err *e)
{
	size_t	 len;
	char	*t;

	*e = APP_EINVAL;
	if (s == NULL)
		return NULL;
	while (memory_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && memory_space(s[len - 1]))
		len--;
	if (len == 0 || len > 4 * MEMORY_CONTENT_MAX || !utf8_valid(s, len))
		return NULL;
	if ((t = arena_strndup(ar, s, len)) == NULL) {
		*e = APP_ENOMEM;
		return NULL;
	}
	if (utf8_len(t) > MEMORY_CONTENT_MAX)
		return NULL;
	*e = APP_OK;
	return t;
}

/* ASCII lower case of `s' in place. */
static char *
memory_lower(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/*
 * "note:" and the first MEMORY_NOTE_WORDS words of `text', lower case,
 * punctuation trimmed from each word; NULL on ENOMEM. A text without a
 * word keys on "note:" and its first characters.
 */
static char *
memory_note_key(struct arena *ar, const char *text)
{
	static const char	 punct[] = ".,;:!?\"'()[]{}<>*_~`-";
	struct arena_buf	 b;
	const char		*p = text, *w;
	size_t			 nw = 0, len;

	arena_buf_init(&b, ar);
	arena_buf_puts(&b, "note:");
	while (*p != '\0' && nw < MEMORY_NOTE_WORDS) {
		while (memory_space(*p))
			p++;
		for (w = p; *p != '\0' && !memory_space(*p); p++)
			continue;
		len = (size_t)(p - w);
		while (len > 0 && strchr(punct, *w) != NULL) {
			w++;
			len--;
		}
		while (len > 0 && strchr(punct, w[len - 1]) != NULL)
			len--;
		if (len == 0)
			continue;
		if (nw++ > 0)
			arena_buf_add(&b, " ", 1);
		arena_buf_add(&b, w, len);
	}
	if (nw == 0)
		arena_buf_add(&b, text, strnlen(text, EXTRACT_SUBJECT_MAX - 5));
	if (b.nomem || b.str.p == NULL)
		return NULL;
	return memory_lower(b.str.p);
}

/*
 * The subject of a text the user wrote (the API): the extractor's, when
 * the text is one fact it understands ("I live in Paris": home), else a
 * note. NULL on ENOMEM.
 */
static const char *
memory_user_subject(struct arena *ar, const char *text)
{
	struct extract_fact	 f[EXTRACT_MAX];

	if (extract_builtin(ar, text, f, EXTRACT_MAX) == 1)
		return f[0].subject;
	return memory_note_key(ar, text);
}

/* `s' as a JSON string literal appended to `out'; -1 on ENOMEM. */
static int
memory_quote(struct arena *ar, struct arena_str *out, const char *s)
{
	return jsonx_str_quote(ar, out, s, strlen(s));
}

/* ------------------------------------------------------------ SQL */

/*
 * The new text's vector, computed before a connection is taken. A failing
 * remote embedder does not refuse the memory: it is stored without a
 * vector (found by full text alone) and recall.c embeds it later.
 */
static enum app_err
memory_embed(struct app *app, struct arena *ar, const char *text,
    struct recall_vec *v)
{
	const char	*why = NULL;
	enum app_err	 e;

	memset(v, 0, sizeof(*v));
	e = recall_embed(app, ar, text, v, &why);
	if (e == APP_ENOMEM)
		return e;
	if (e != APP_OK) {
		log_warnx("memory: no embedding for now: %s",
		    why != NULL ? why : app_strerror(e));
		memset(v, 0, sizeof(*v));
	}
	return APP_OK;
}

/* The statement parameters of a vector: the NULLs of none. */
struct memory_vec_params {
	const char	*pg;
	const char	*model;
	const char	*dim;
	const char	*buckets;
	char		 sdim[16];
};

static void
memory_vec_params(const struct recall_vec *v, struct memory_vec_params *p)
{
	memset(p, 0, sizeof(*p));
	p->buckets = "{}";
	if (v->pg == NULL || v->model == NULL || v->dim <= 0)
		return;
	snprintf(p->sdim, sizeof(p->sdim), "%d", v->dim);
	p->pg = v->pg;
	p->model = v->model;
	p->dim = p->sdim;
	if (v->buckets != NULL)
		p->buckets = v->buckets;
}

/*
 * The seven parameters an insert and a rewrite both end with, in this
 * order: vector, model, dimension, source thread, source item, buckets,
 * actor. `vp' holds their text and must live as long as `p'.
 */
static void
memory_change_params(const struct recall_vec *v, enum memory_actor actor,
    const struct memory_source *src, struct memory_vec_params *vp,
    const char **p)
{
	memory_vec_params(v, vp);
	p[0] = vp->pg;
	p[1] = vp->model;
	p[2] = vp->dim;
	p[3] = src != NULL ? src->thread_id : NULL;
	p[4] = src != NULL ? src->item_id : NULL;
	p[5] = vp->buckets;
	p[6] = memory_actors[actor];
}

/* An outcome from a row of (id, JSON). */
static enum app_err
memory_row(struct arena *ar, const PGresult *r, struct memory_outcome *o)
{
	if (PQntuples(r) != 1 || !tasks_parse_id(PQgetvalue(r, 0, 0), &o->id))
		return APP_EINTERNAL;
	if ((o->json = db_value(ar, r, 0, 1)) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

/*
 * A new memory with its buckets and its ADD event, in one statement.
 * api_memory(memories) in RETURNING is the row as inserted.
 */
static enum app_err
memory_insert(PGconn *conn, struct arena *ar, const char *user_id,
    const char *text, const char *subject, const struct recall_vec *v,
    enum memory_actor actor, const struct memory_source *src,
    struct memory_outcome *o)
{
	static const char sql[] =
	    "WITH m AS (INSERT INTO memories (user_id, content, subject, "
	    "embed_model, embed_dim, source_thread, source_item) "
	    "VALUES ($1, $2, $3, $5, $6::integer, $7, $8) "
	    "RETURNING id, user_id, content, api_memory(memories) AS json), "
	    "v AS (INSERT INTO memory_vectors (memory_id, embedding) "
	    "SELECT id, $4::float4[] FROM m WHERE $4::float4[] IS NOT NULL), "
	    "b AS (INSERT INTO memory_buckets (user_id, bucket, memory_id) "
	    "SELECT DISTINCT m.user_id, k, m.id "
	    "FROM m, unnest($9::integer[]) k), "
	    "e AS (INSERT INTO memory_events (user_id, memory_id, event, "
	    "new_content, actor, source_thread, source_item) "
	    "SELECT user_id, id, 'ADD', content, $10::text, $7, $8 FROM m) "
	    "SELECT id, json FROM m";
	struct memory_vec_params vp;
	const char	*p[10];
	PGresult	*r;
	enum app_err	 e;

	p[0] = user_id;
	p[1] = text;
	p[2] = subject;
	memory_change_params(v, actor, src, &vp, p + 3);
	if ((e = db_query(conn, sql, 10, p, &r)) != APP_OK)
		return e;
	e = memory_row(ar, r, o);
	PQclear(r);
	o->op = EXTRACT_ADD;
	return e;
}

/*
 * Memory `id' takes a new text, subject, vector and source, with an
 * UPDATE event holding both texts, in one statement. The buckets the new
 * vector leaves are deleted and the new ones added: a delete and an
 * insert of the same key in one statement would collide. A text equal to
 * the stored one changes nothing and writes no event (*changed false).
 * The answer is the memory either way; no row: APP_ENOTFOUND.
 */
static enum app_err
memory_rewrite(PGconn *conn, struct arena *ar, const char *user_id,
    int64_t id, const char *text, const char *subject,
    const struct recall_vec *v, enum memory_actor actor,
    const struct memory_source *src, struct memory_outcome *o)
{
	static const char sql[] =
	    "WITH o AS (SELECT id, content FROM memories "
	    "WHERE user_id = $1 AND id = $2 FOR UPDATE), "
	    "m AS (UPDATE memories t SET content = $3, subject = $4, "
	    "embed_model = $6, "
	    "embed_dim = $7::integer, source_thread = $8, source_item = $9, "
	    "updated_at = now() FROM o WHERE t.id = o.id AND t.content <> $3 "
	    "RETURNING t.id, t.user_id, t.content, o.content AS old, "
	    "api_memory(t) AS json), "
	    "v AS (INSERT INTO memory_vectors (memory_id, embedding) "
	    "SELECT id, $5::float4[] FROM m WHERE $5::float4[] IS NOT NULL "
	    "ON CONFLICT (memory_id) DO UPDATE SET embedding = "
	    "excluded.embedding), "
	    "vd AS (DELETE FROM memory_vectors WHERE $5::float4[] IS NULL "
	    "AND memory_id IN (SELECT id FROM m)), "
	    "d AS (DELETE FROM memory_buckets x USING m "
	    "WHERE x.user_id = m.user_id AND x.memory_id = m.id "
	    "AND x.bucket <> ALL ($10::integer[])), "
	    "b AS (INSERT INTO memory_buckets (user_id, bucket, memory_id) "
	    "SELECT DISTINCT m.user_id, k, m.id "
	    "FROM m, unnest($10::integer[]) k ON CONFLICT DO NOTHING), "
	    "e AS (INSERT INTO memory_events (user_id, memory_id, event, "
	    "old_content, new_content, actor, source_thread, source_item) "
	    "SELECT user_id, id, 'UPDATE', old, content, $11::text, $8, $9 "
	    "FROM m) "
	    "SELECT x.id, coalesce((SELECT json FROM m), api_memory(x)), "
	    "(SELECT old FROM m) FROM memories x JOIN o USING (id)";
	struct memory_vec_params vp;
	const char	*p[11];
	char		 sid[24];
	PGresult	*r;
	enum app_err	 e;

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	p[0] = user_id;
	p[1] = sid;
	p[2] = text;
	p[3] = subject;
	memory_change_params(v, actor, src, &vp, p + 4);
	if ((e = db_query(conn, sql, 11, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) == 0)
		e = APP_ENOTFOUND;
	else if ((e = memory_row(ar, r, o)) == APP_OK) {
		o->op = PQgetisnull(r, 0, 2) ? EXTRACT_NONE : EXTRACT_UPDATE;
		if (o->op == EXTRACT_UPDATE &&
		    (o->previous = db_value(ar, r, 0, 2)) == NULL)
			e = APP_ENOMEM;
	}
	PQclear(r);
	return e;
}

/*
 * Deletes memory `id' with its DELETE event, in one statement (the
 * buckets go by the foreign key). *json: the memory as it was.
 */
static enum app_err
memory_remove(PGconn *conn, struct arena *ar, const char *user_id,
    int64_t id, enum memory_actor actor, const struct memory_source *src,
    const char **json)
{
	static const char sql[] =
	    "WITH m AS (DELETE FROM memories WHERE user_id = $1 AND id = $2 "
	    "RETURNING id, user_id, content, api_memory(memories) AS json), "
	    "e AS (INSERT INTO memory_events (user_id, memory_id, event, "
	    "old_content, actor, source_thread, source_item) "
	    "SELECT user_id, id, 'DELETE', content, $3::text, $4::text, "
	    "$5::text FROM m) "
	    "SELECT json FROM m";
	const char	*p[5];
	char		 sid[24];
	PGresult	*r;
	enum app_err	 e;

	snprintf(sid, sizeof(sid), "%" PRId64, id);
	p[0] = user_id;
	p[1] = sid;
	p[2] = memory_actors[actor];
	p[3] = src != NULL ? src->thread_id : NULL;
	p[4] = src != NULL ? src->item_id : NULL;
	if ((e = db_query(conn, sql, 5, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) != 1)
		e = APP_ENOTFOUND;
	else if ((*json = db_value(ar, r, 0, 0)) == NULL)
		e = APP_ENOMEM;
	PQclear(r);
	return e;
}

/* ------------------------------------------------------------ reconcile */

/* A memory a new fact is compared with, as locked for the change. */
struct memory_cand {
	int64_t		 id;
	const char	*content;
	const char	*subject;
	const char	*json;
};

/*
 * The "likes:x" family: likes, dislikes, prefers (and the verbs the
 * extractor files under them) of one object are one subject to
 * extract_reconcile(), so "I hate jazz" updates "Likes jazz". The object
 * when `subject' is of the family, else NULL.
 */
static const char *
memory_pref_object(const char *subject)
{
	static const char *const fam[] = {
		"likes:", "dislikes:", "prefers:", "loves:", "hates:", NULL
	};
	size_t	 i, n;

	for (i = 0; fam[i] != NULL; i++) {
		n = strlen(fam[i]);
		if (strncmp(subject, fam[i], n) == 0)
			return subject + n;
	}
	return NULL;
}

/* The ids of the hits as a bigint[] literal "{4,17}", in the arena. */
static const char *
memory_hit_ids(struct arena *ar, const struct recall_hit *hits, size_t n)
{
	struct arena_buf	 b;
	char			 num[24];
	size_t			 i;

	arena_buf_init(&b, ar);
	arena_buf_puts(&b, "{");
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%s%" PRId64, i > 0 ? "," : "",
		    hits[i].id);
		arena_buf_puts(&b, num);
	}
	arena_buf_puts(&b, "}");
	return b.nomem ? NULL : b.str.p;
}

/*
 * Inside the transaction: waits for the user's other reconciliations
 * (two jobs telling the same new fact must not both add it), then locks
 * and reads the candidates: the memories of the fact's subject (and its
 * family) and the similar ones recall found, newest first.
 */
static enum app_err
memory_candidates(PGconn *conn, struct arena *ar, const char *user_id,
    const char *subject, const char *ids, struct memory_cand **out,
    size_t *n)
{
	static const char sql_lock[] =
	    "SELECT pg_advisory_xact_lock(" MEMORY_LOCK_CLASS ", "
	    "hashtext($1))";
	static const char sql[] =
	    "SELECT id, content, subject, api_memory(m) FROM memories m "
	    "WHERE user_id = $1 AND (subject = ANY (ARRAY[$2::text, "
	    "'likes:' || $3::text, 'dislikes:' || $3, 'prefers:' || $3, "
	    "'loves:' || $3, 'hates:' || $3]) OR id = ANY ($4::bigint[])) "
	    "ORDER BY updated_at DESC, id DESC LIMIT $5 FOR UPDATE";
	struct memory_cand *c = NULL;
	const char	*p[5];
	char		 slimit[16];
	PGresult	*r;
	int		 i, rows;
	enum app_err	 e;

	*out = NULL;
	*n = 0;
	p[0] = user_id;
	if ((e = db_exec(conn, sql_lock, 1, p)) != APP_OK)
		return e;
	snprintf(slimit, sizeof(slimit), "%d",
	    MEMORY_SAME_MAX + MEMORY_SIMILAR);
	p[1] = subject;
	p[2] = memory_pref_object(subject);
	p[3] = ids;
	p[4] = slimit;
	if ((e = db_query(conn, sql, 5, p, &r)) != APP_OK)
		return e;
	rows = PQntuples(r);
	if (rows > 0 && (c = arena_calloc(ar, (size_t)rows, sizeof(*c))) ==
	    NULL) {
		PQclear(r);
		return APP_ENOMEM;
	}
	for (i = 0; i < rows; i++) {
		if (!tasks_parse_id(PQgetvalue(r, i, 0), &c[i].id) ||
		    (c[i].content = db_value(ar, r, i, 1)) == NULL ||
		    (c[i].subject = db_value(ar, r, i, 2)) == NULL ||
		    (c[i].json = db_value(ar, r, i, 3)) == NULL) {
			PQclear(r);
			return APP_ENOMEM;
		}
	}
	PQclear(r);
	if (rows > 0)
		*out = c;
	*n = (size_t)rows;
	return APP_OK;
}

/*
 * The outcome of a fact against the candidates (extract_reconcile() with
 * each): DELETE and UPDATE go to the most similar one, NONE (a memory
 * already says it) wins over UPDATE and ADD, and a negated fact that
 * names no memory is NONE. Similarity is the cosine of the builtin
 * vectors, local and cheap, whatever embedder the store uses; the newest
 * wins a tie, as the candidates come newest first. *pick: the chosen
 * candidate, or -1.
 */
static enum extract_op
memory_decide(const struct extract_fact *f, const struct memory_cand *c,
    size_t n, long *pick)
{
	float		 fv[EMBED_DIM], cv[EMBED_DIM];
	float		 sim, best[4] = { -2, -2, -2, -2 };
	long		 at[4] = { -1, -1, -1, -1 };
	enum extract_op	 op;
	size_t		 i;

	(void)embed_builtin(f->text, strlen(f->text), fv, EMBED_DIM);
	for (i = 0; i < n; i++) {
		op = extract_reconcile(f, c[i].content, c[i].subject);
		if (op == EXTRACT_ADD || (op == EXTRACT_NONE && f->negated))
			continue;
		(void)embed_builtin(c[i].content, strlen(c[i].content), cv,
		    EMBED_DIM);
		sim = embed_cosine(fv, cv, EMBED_DIM);
		if (sim > best[op]) {
			best[op] = sim;
			at[op] = (long)i;
		}
	}
	if (f->negated) {
		*pick = at[EXTRACT_DELETE];
		return *pick >= 0 ? EXTRACT_DELETE : EXTRACT_NONE;
	}
	if ((*pick = at[EXTRACT_NONE]) >= 0)
		return EXTRACT_NONE;
	if ((*pick = at[EXTRACT_UPDATE]) >= 0)
		return EXTRACT_UPDATE;
	return EXTRACT_ADD;
}

/*
 * Inside the transaction, after the lock: was a memory meaning the same
 * as `f' deleted after `said_at'? Then a fact said before the deletion
 * (an extraction that ran late) must not bring it back. The user's
 * deletions since are few; each is compared by the reconciliation rule.
 */
static enum app_err
memory_forgotten_since(PGconn *conn, const char *user_id,
    const struct extract_fact *f, const char *said_at, bool *gone)
{
	static const char sql[] =
	    "SELECT old_content FROM memory_events WHERE user_id = $1 AND "
	    "event = 'DELETE' AND created_at > $2::timestamptz AND "
	    "old_content IS NOT NULL ORDER BY id DESC LIMIT "
	    MEMORY_FORGOTTEN_MAX;
	const char	*p[2];
	PGresult	*r;
	int		 i, rows;
	enum app_err	 e;

	*gone = false;
	p[0] = user_id;
	p[1] = said_at;
	if ((e = db_query(conn, sql, 2, p, &r)) != APP_OK)
		return e;
	rows = PQntuples(r);
	for (i = 0; i < rows && !*gone; i++)
		*gone = extract_reconcile(f, PQgetvalue(r, i, 0), NULL) ==
		    EXTRACT_NONE;
	PQclear(r);
	return APP_OK;
}

/*
 * Applies a fact (text already checked, subject lower case): the
 * candidates are locked, compared and the outcome written, in one
 * transaction.
 */
static enum app_err
memory_apply(struct app *app, struct arena *ar, const char *user_id,
    const struct extract_fact *f, const struct recall_vec *v,
    const char *ids, enum memory_actor actor,
    const struct memory_source *src, struct memory_outcome *o)
{
	struct memory_cand *c;
	PGconn		*conn;
	size_t		 n;
	long		 k;
	enum app_err	 e;

	if ((e = db_acquire(app->db, &conn)) != APP_OK)
		return e;
	if ((e = db_begin(conn)) != APP_OK ||
	    (e = memory_candidates(conn, ar, user_id, f->subject, ids, &c,
	    &n)) != APP_OK)
		goto out;
	o->op = memory_decide(f, c, n, &k);
	if ((o->op == EXTRACT_ADD || o->op == EXTRACT_UPDATE) &&
	    src != NULL && src->said_at != NULL) {
		bool	 gone;

		if ((e = memory_forgotten_since(conn, user_id, f,
		    src->said_at, &gone)) != APP_OK)
			goto out;
		if (gone) {
			o->op = EXTRACT_NONE;
			k = -1;
		}
	}
	switch (o->op) {
	case EXTRACT_ADD:
		e = memory_insert(conn, ar, user_id, f->text, f->subject, v,
		    actor, src, o);
		break;
	case EXTRACT_UPDATE:
		e = memory_rewrite(conn, ar, user_id, c[k].id, f->text,
		    f->subject, v, actor, src, o);
		/* Locked above: it is there, and its text differs. */
		if (e == APP_OK && o->op != EXTRACT_UPDATE)
			e = APP_EINTERNAL;
		break;
	case EXTRACT_DELETE:
		o->id = c[k].id;
		e = memory_remove(conn, ar, user_id, c[k].id, actor, src,
		    &o->json);
		break;
	case EXTRACT_NONE:
		if (k >= 0) {
			o->id = c[k].id;
			o->json = c[k].json;
		}
		break;
	}
	if (e == APP_OK)
		e = db_commit(conn);
out:
	db_rollback(conn);
	db_release(app->db, conn);
	return e;
}

/* memory_remember() with the outcome in full, for the routes. */
static enum app_err
memory_remember_x(struct app *app, struct arena *ar, const char *user_id,
    const struct extract_fact *in, enum memory_actor actor,
    const struct memory_source *src, struct memory_outcome *o)
{
	struct extract_fact	 f;
	struct recall_vec	 v;
	struct recall_hit	*hits = NULL;
	const char		*ids;
	char			*subject;
	size_t			 nhits = 0;
	enum app_err		 e;

	memset(o, 0, sizeof(*o));
	o->op = EXTRACT_NONE;
	if (in == NULL || (f.text = memory_text(ar, in->text, &e)) == NULL)
		return in == NULL ? APP_EINVAL : e;
	f.negated = in->negated;
	if (in->subject != NULL && in->subject[0] != '\0')
		subject = arena_strdup(ar, in->subject);
	else
		subject = memory_note_key(ar, f.text);
	if (subject == NULL)
		return APP_ENOMEM;
	f.subject = memory_lower(subject);
	memset(&v, 0, sizeof(v));
	/* One vector, to find similar memories and to store with it (a
	 * negated fact's only finds the memory it removes). */
	if ((e = memory_embed(app, ar, f.text, &v)) != APP_OK)
		return e;
	if ((e = recall_search_with(app, ar, user_id, f.text,
	    v.pg != NULL ? &v : NULL, MEMORY_SIMILAR, 0, &hits, &nhits)) !=
	    APP_OK)
		return e;
	if ((ids = memory_hit_ids(ar, hits, nhits)) == NULL)
		return APP_ENOMEM;
	return memory_apply(app, ar, user_id, &f, &v, ids, actor, src, o);
}

enum app_err
memory_remember(struct app *app, struct arena *ar, const char *user_id,
    const struct extract_fact *f, enum memory_actor actor,
    const struct memory_source *src, enum extract_op *op, char **json)
{
	struct memory_outcome	 o;
	enum app_err		 e;

	e = memory_remember_x(app, ar, user_id, f, actor, src, &o);
	*op = e == APP_OK ? o.op : EXTRACT_NONE;
	*json = e == APP_OK ? (char *)o.json : NULL;
	return e;
}

enum app_err
memory_delete(struct app *app, struct arena *ar, const char *user_id,
    int64_t id, enum memory_actor actor, const struct memory_source *src,
    char **json)
{
	const char	*j = NULL;
	PGconn		*conn;
	enum app_err	 e;

	if (json != NULL)
		*json = NULL;
	if ((e = db_acquire(app->db, &conn)) != APP_OK)
		return e;
	e = memory_remove(conn, ar, user_id, id, actor, src, &j);
	db_release(app->db, conn);
	if (e == APP_OK && json != NULL)
		*json = (char *)j;
	return e;
}

/*
 * PATCH: memory `id' takes the user's new text (its subject and vector
 * recomputed, its source cleared: the text is now the user's own).
 */
static enum app_err
memory_edit(struct app *app, struct arena *ar, const char *user_id,
    int64_t id, const char *text, struct memory_outcome *o)
{
	struct recall_vec	 v;
	const char		*subject;
	char			*s;
	PGconn			*conn;
	enum app_err		 e;

	memset(o, 0, sizeof(*o));
	if ((subject = memory_user_subject(ar, text)) == NULL ||
	    (s = arena_strdup(ar, subject)) == NULL)
		return APP_ENOMEM;
	if ((e = memory_embed(app, ar, text, &v)) != APP_OK)
		return e;
	if ((e = db_acquire(app->db, &conn)) != APP_OK)
		return e;
	e = memory_rewrite(conn, ar, user_id, id, text, memory_lower(s), &v,
	    MEMORY_USER, NULL, o);
	db_release(app->db, conn);
	return e;
}

/* ------------------------------------------------------------ summary */

/* Where a subject goes in the profile, in this order. */
enum memory_part {
	PART_NAME,	/* name, age, birthday, where they come from */
	PART_HOME,
	PART_WORK,
	PART_FAMILY,	/* partner, children, relatives, pets */
	PART_DIET,	/* diet, allergies, what they avoid */
	PART_LIKES,	/* likes, dislikes, preferences */
	PART_OTHER,
	PART_NOTE,
	PART__MAX
};

static const struct {
	const char	*keys;		/* '|'-separated, whole or before ':' */
	enum memory_part part;
} memory_parts[] = {
	{ "name|age|birthday|birthplace|origin", PART_NAME },
	{ "home|household", PART_HOME },
	{ "work|job|study|employer|occupation", PART_WORK },
	{ "relationship|children|pet|partner|wife|husband|spouse|"
	  "girlfriend|boyfriend|fiance|fiancee|son|daughter|child|kid|"
	  "mother|mom|mum|father|dad|parent|sister|brother|sibling|"
	  "grandmother|grandfather|grandma|grandpa|aunt|uncle|cousin|"
	  "niece|nephew|family", PART_FAMILY },
	{ "diet|avoids|allergy", PART_DIET },
	{ "likes|dislikes|prefers|loves|hates|favourite|favorite", PART_LIKES },
	{ "note", PART_NOTE },
};

/* True when s[0..len) is one of the '|'-separated `alts'. */
static bool
memory_is(const char *alts, const char *s, size_t len)
{
	const char	*a = alts, *bar;
	size_t		 n;

	for (;;) {
		bar = strchr(a, '|');
		n = bar != NULL ? (size_t)(bar - a) : strlen(a);
		if (n == len && strncmp(a, s, len) == 0)
			return true;
		if (bar == NULL)
			return false;
		a = bar + 1;
	}
}

static enum memory_part
memory_part_of(const char *subject)
{
	const char	*colon = strchr(subject, ':');
	size_t		 len, i;

	len = colon != NULL ? (size_t)(colon - subject) : strlen(subject);
	for (i = 0; i < sizeof(memory_parts) / sizeof(memory_parts[0]); i++)
		if (memory_is(memory_parts[i].keys, subject, len))
			return memory_parts[i].part;
	return PART_OTHER;
}

/*
 * Sentence openings that several memories share and that read well as
 * one list: "Likes jazz" and "Likes sushi" are "Likes jazz and sushi."
 */
static const char *const memory_merge[] = {
	"Likes ", "Loves ", "Enjoys ", "Adores ", "Hates ", "Dislikes ",
	"Prefers ", "Doesn't like ", "Can't stand ", "Is allergic to ",
	"Doesn't eat ", "Doesn't drink ", "Never eats ", "Can't eat ",
	"Speaks ", "Plays ", "Is learning ", NULL
};

/* One memory as a line of the profile. */
struct memory_line {
	enum memory_part part;
	char		*text;		/* one line, no final punctuation */
	int		 merge;		/* index in memory_merge[], or -1 */
	bool		 done;
};

/*
 * One line of `s': white space and control characters made single
 * spaces, trimmed, without final punctuation, first letter upper case.
 * NULL when nothing is left (or ENOMEM).
 */
static char *
memory_line_text(struct arena *ar, const char *s)
{
	char	*t, *w;
	size_t	 n;

	if ((t = arena_strdup(ar, s)) == NULL)
		return NULL;
	for (w = t; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			if (w > t && w[-1] != ' ')
				*w++ = ' ';
		} else if (*s != ' ' || (w > t && w[-1] != ' '))
			*w++ = *s;
	}
	*w = '\0';
	n = strlen(t);
	while (n > 0 && strchr(" .;,:", t[n - 1]) != NULL)
		t[--n] = '\0';
	if (n == 0)
		return NULL;
	if (t[0] >= 'a' && t[0] <= 'z')
		t[0] = (char)(t[0] - 'a' + 'A');
	return t;
}

/*
 * The line of a memory: the extractor's third-person fact when the text
 * is one ("I live in Berlin" reads "Lives in Berlin"), else the text.
 */
static bool
memory_line_of(struct arena *ar, const char *subject, const char *content,
    struct memory_line *l)
{
	struct extract_fact	 f[EXTRACT_MAX];
	const char		*s = content;
	size_t			 i, n;

	if (extract_builtin(ar, content, f, EXTRACT_MAX) == 1 &&
	    !f[0].negated)
		s = f[0].text;
	l->part = memory_part_of(subject);
	l->merge = -1;
	l->done = false;
	if ((l->text = memory_line_text(ar, s)) == NULL)
		return false;
	for (i = 0; memory_merge[i] != NULL; i++) {
		n = strlen(memory_merge[i]);
		if (strncmp(l->text, memory_merge[i], n) == 0 &&
		    l->text[n] != '\0') {
			l->merge = (int)i;
			break;
		}
	}
	return true;
}

/*
 * The sentence of line `i' and of the later lines of its part that open
 * the same way, merged: "Likes jazz, sushi and hiking." Marks them done.
 */
static char *
memory_sentence(struct arena *ar, struct memory_line *l, size_t n, size_t i)
{
	struct arena_buf	 b;
	size_t			 objs[MEMORY_SUMMARY_MERGE], nobj = 0;
	size_t			 j, k, cut;

	l[i].done = true;
	arena_buf_init(&b, ar);
	if (l[i].merge < 0) {
		arena_buf_puts(&b, l[i].text);
		arena_buf_puts(&b, ".");
		return b.nomem ? NULL : b.str.p;
	}
	objs[nobj++] = i;
	for (j = i + 1; j < n && nobj < MEMORY_SUMMARY_MERGE; j++)
		if (!l[j].done && l[j].part == l[i].part &&
		    l[j].merge == l[i].merge) {
			l[j].done = true;
			objs[nobj++] = j;
		}
	cut = strlen(memory_merge[l[i].merge]);
	arena_buf_puts(&b, memory_merge[l[i].merge]);
	for (k = 0; k < nobj; k++) {
		if (k > 0)
			arena_buf_puts(&b, k + 1 == nobj ? " and " : ", ");
		arena_buf_puts(&b, l[objs[k]].text + cut);
	}
	arena_buf_puts(&b, ".");
	return b.nomem ? NULL : b.str.p;
}

/*
 * `s' cut to at most `max' characters at a word, marked with an
 * ellipsis (a sentence too long to fit a profile alone).
 */
static void
memory_cut(struct arena_buf *b, char *s, size_t max)
{
	char	*sp;

	/* max characters are at most max bytes in: cut there, then back
	 * off to a whole character and a whole word. */
	if (strlen(s) > max)
		s[max] = '\0';
	while (!utf8_valid(s, strlen(s)))
		s[strlen(s) - 1] = '\0';
	while (utf8_len(s) > max - 1)
		s[strlen(s) - 1] = '\0';
	if ((sp = strrchr(s, ' ')) != NULL && sp > s)
		*sp = '\0';
	arena_buf_puts(b, s);
	arena_buf_puts(b, "\xe2\x80\xa6");
}

/*
 * The builtin profile: the lines by part (name first, notes last),
 * merged where they share an opening, as many sentences as fit in
 * MEMORY_SUMMARY_CHARS characters; one that does not fit is left out
 * and the next ones tried. When none fits, the first is cut at a word.
 */
static char *
memory_summary_builtin(struct arena *ar, struct memory_line *l, size_t n)
{
	struct arena_buf	 b;
	size_t			 i, used = 0, len;
	int			 part;
	char			*s, *toolong = NULL;

	arena_buf_init(&b, ar);
	arena_buf_add(&b, "", 0);
	for (part = 0; part < PART__MAX; part++)
		for (i = 0; i < n; i++) {
			if (l[i].done || (int)l[i].part != part)
				continue;
			if ((s = memory_sentence(ar, l, n, i)) == NULL)
				return NULL;
			len = utf8_len(s);
			if (used + (used > 0) + len > MEMORY_SUMMARY_CHARS) {
				if (toolong == NULL)
					toolong = s;
				continue;
			}
			if (used > 0)
				arena_buf_puts(&b, " ");
			arena_buf_puts(&b, s);
			used += (used > 0) + len;
		}
	if (used == 0 && toolong != NULL)
		memory_cut(&b, toolong, MEMORY_SUMMARY_CHARS);
	return b.nomem ? NULL : b.str.p;
}

#define MEMORY_SUMMARY_PROMPT \
	"You write a short profile of a user from the facts an assistant " \
	"remembers about them. Write two to five plain sentences in the " \
	"third person, at most 600 characters in all, using only the " \
	"facts given: no lists, no headings, no preamble, nothing made up."

/*
 * The profile by the remote model, from the facts as a list; NULL when
 * it fails or answers nothing usable (the caller falls back to the
 * builtin's). No connection is held meanwhile.
 */
static char *
memory_summary_model(struct app *app, struct arena *ar,
    const struct memory_line *l, size_t n)
{
	struct llm_message	 msgs[2];
	struct llm_request	 req;
	struct llm_result	 res;
	struct arena_buf	 b;
	size_t			 i, len;
	enum app_err		 e;
	char			*s;

	arena_buf_init(&b, ar);
	arena_buf_puts(&b, "Facts about the user:\n");
	for (i = 0; i < n; i++) {
		arena_buf_puts(&b, "- ");
		arena_buf_puts(&b, l[i].text);
		arena_buf_puts(&b, "\n");
	}
	if (b.nomem)
		return NULL;
	memset(msgs, 0, sizeof(msgs));
	msgs[0].role = "system";
	msgs[0].content = MEMORY_SUMMARY_PROMPT;
	msgs[1].role = "user";
	msgs[1].content = b.str.p;
	memset(&req, 0, sizeof(req));
	req.messages = msgs;
	req.nmessages = 2;
	req.now = time(NULL);
	memset(&res, 0, sizeof(res));
	if ((e = llm_complete(app->llm, ar, &req, NULL, &res)) != APP_OK) {
		log_warnx("memory: the model wrote no summary: %s",
		    res.error != NULL ? res.error : app_strerror(e));
		return NULL;
	}
	for (s = res.text; memory_space(*s); s++)
		continue;
	len = strlen(s);
	while (len > 0 && memory_space(s[len - 1]))
		s[--len] = '\0';
	if (len == 0 || !utf8_valid(s, len) ||
	    utf8_len(s) > 4 * MEMORY_SUMMARY_CHARS)
		return NULL;
	return s;
}

/* The profile and the number of memories it comes from. */
static enum app_err
memory_summary_x(struct app *app, struct arena *ar, const char *user_id,
    char **text, int64_t *count)
{
	static const char sql[] =
	    "SELECT s.subject, s.content, "
	    "(SELECT count(*) FROM memories WHERE user_id = $1) "
	    "FROM (SELECT id, subject, content FROM memories "
	    "WHERE user_id = $1 ORDER BY updated_at DESC, id DESC "
	    "LIMIT $2) s ORDER BY s.id";
	struct memory_line *l = NULL;
	const char	*p[2];
	char		 slimit[16];
	PGresult	*r;
	size_t		 n = 0;
	int		 i, rows;
	enum app_err	 e;

	*text = NULL;
	*count = 0;
	snprintf(slimit, sizeof(slimit), "%d", MEMORY_SUMMARY_READ);
	p[0] = user_id;
	p[1] = slimit;
	if ((e = db_run(app->db, sql, 2, p, &r)) != APP_OK)
		return e;
	if ((rows = PQntuples(r)) > 0) {
		*count = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
		if ((l = arena_calloc(ar, (size_t)rows, sizeof(*l))) == NULL) {
			PQclear(r);
			return APP_ENOMEM;
		}
	}
	for (i = 0; i < rows; i++)
		if (memory_line_of(ar, PQgetvalue(r, i, 0),
		    PQgetvalue(r, i, 1), &l[n]))
			n++;
	PQclear(r);
	if (n == 0) {
		*text = arena_strdup(ar, "");
		return *text == NULL ? APP_ENOMEM : APP_OK;
	}
	if (app->llm != NULL && llm_provider(app->llm) == LLM_OPENAI &&
	    (*text = memory_summary_model(app, ar, l, n)) != NULL)
		return APP_OK;
	if ((*text = memory_summary_builtin(ar, l, n)) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

enum app_err
memory_summary(struct app *app, struct arena *ar, const char *user_id,
    char **text)
{
	int64_t	 count;

	return memory_summary_x(app, ar, user_id, text, &count);
}

/* ------------------------------------------------------------ prompt */

void
memory_for_prompt(struct app *app, struct arena *ar, const char *user_id,
    const char *message, char **json, char **prompt)
{
	struct recall_hit	*hits = NULL;
	struct arena_buf	 j, pb;
	size_t			 n = 0, i;
	char			*line;
	enum app_err		 e;

	*json = (char *)"[]";
	*prompt = NULL;
	if (message == NULL || message[0] == '\0')
		return;
	if ((e = recall_search(app, ar, user_id, message, MEMORY_PROMPT_MAX,
	    RECALL_MIN_PROMPT, &hits, &n)) != APP_OK) {
		log_warnx("memory: no memories for the prompt: %s",
		    app_strerror(e));
		return;
	}
	if (n == 0)
		return;
	arena_buf_init(&j, ar);
	arena_buf_init(&pb, ar);
	arena_buf_puts(&j, "[");
	arena_buf_puts(&pb, "What you know about the user from earlier "
	    "conversations (use it when it helps; it may be out of date):\n");
	for (i = 0; i < n; i++) {
		if (i > 0)
			arena_buf_puts(&j, ",");
		arena_buf_puts(&j, hits[i].json);
		/* One line each: a memory's own newlines end nothing. */
		if ((line = memory_line_text(ar, hits[i].content)) == NULL)
			continue;
		arena_buf_puts(&pb, "- ");
		arena_buf_puts(&pb, line);
		arena_buf_puts(&pb, "\n");
	}
	arena_buf_puts(&j, "]");
	if (j.nomem || pb.nomem) {
		log_warnx("memory: no memories for the prompt: %s",
		    app_strerror(APP_ENOMEM));
		return;
	}
	*json = j.str.p;
	*prompt = pb.str.p;
}

/* ------------------------------------------------------------ HTTP */

/*
 * As in tasks.c, helpers that answer a refusal themselves return its
 * error, and the handlers pass it up (app_dispatch() sends nothing more
 * once an answer went out).
 */

/* Read-only fields of a memory, ignored when a client sends them back. */
static const char *const memory_readonly[] = {
	"id", "created_at", "updated_at", "source", NULL
};

/* The body {"content"} of an add or an edit; on a problem, answered. */
static enum app_err
memory_read_content(struct http_request *req, struct http_response *res,
    const char **content)
{
	static const char *const fields[] = { "content", NULL };
	struct json_object	*obj;
	struct jsonx_errors	 errs;
	enum app_err		 e;

	*content = NULL;
	if ((e = jsonx_read_body(req, res, false, &obj)) != APP_OK)
		return e;
	jsonx_errors_init(&errs, req->arena);
	jsonx_errors_unknown(&errs, obj, fields, memory_readonly,
	    "is not a memory field");
	(void)jsonx_get_string(obj, "content", JSONX_REQUIRED | JSONX_TRIM,
	    1, MEMORY_CONTENT_MAX, content, &errs);
	return jsonx_errors_answer(res, &errs);
}

enum app_err
memory_http_add(struct http_request *req, struct http_response *res)
{
	struct extract_fact	 f;
	struct memory_outcome	 o;
	struct arena_str	 s;
	const char		*content, *loc;
	enum app_err		 e;

	if ((e = memory_read_content(req, res, &content)) != APP_OK)
		return e;
	f.text = content;
	f.negated = false;
	if ((f.subject = memory_user_subject(req->arena, content)) == NULL)
		return APP_ENOMEM;
	if ((e = memory_remember_x(req->app, req->arena, req->user_id, &f,
	    MEMORY_USER, NULL, &o)) != APP_OK)
		return e;
	/* Not negated: ADD, UPDATE, or NONE with the memory that says it. */
	if (o.json == NULL)
		return APP_EINTERNAL;
	memset(&s, 0, sizeof(s));
	if (ARENA_STR_LIT(req->arena, &s, "{\"event\":\"") == -1 ||
	    arena_str_add(req->arena, &s, memory_ops[o.op],
	    strlen(memory_ops[o.op])) == -1 ||
	    ARENA_STR_LIT(req->arena, &s, "\",\"memory\":") == -1 ||
	    arena_str_add(req->arena, &s, o.json, strlen(o.json)) == -1)
		return APP_ENOMEM;
	if (o.op == EXTRACT_UPDATE && o.previous != NULL &&
	    (ARENA_STR_LIT(req->arena, &s, ",\"previous\":") == -1 ||
	    memory_quote(req->arena, &s, o.previous) == -1))
		return APP_ENOMEM;
	if (ARENA_STR_LIT(req->arena, &s, "}") == -1)
		return APP_ENOMEM;
	if (o.op != EXTRACT_ADD)
		return http_send_json_str(res, 200, s.p, s.len);
	if ((loc = arena_printf(req->arena, "/api/v1/memories/%" PRId64,
	    o.id)) == NULL ||
	    http_add_header(res, "Location", loc) != APP_OK)
		return APP_ENOMEM;
	return http_send_json_str(res, 201, s.p, s.len);
}

/*
 * The page {"items":[...],"total":N,"limit":L,"offset":O}, newest change
 * first, in one statement (after one that reads the words of q=, when
 * given: each word a prefix, all of them required, as tasks' q= works).
 */
static enum app_err
memory_list(struct app *app, struct arena *ar, const char *user_id,
    const char *q, int limit, int offset, char **json)
{
	static const char sql_q[] =
	    "SELECT (SELECT string_agg('''' || replace(replace(lexeme, "
	    "'\\', '\\\\'), '''', '''''') || ''':*', ' & ') "
	    "FROM unnest(to_tsvector('english'::regconfig, $1)))";
	static const char sql_all[] =
	    "SELECT (SELECT count(*) FROM memories WHERE user_id = $1), "
	    "(SELECT coalesce(json_agg(api_memory(p.m) ORDER BY "
	    "(p.m).updated_at DESC, (p.m).id DESC), '[]') "
	    "FROM (SELECT m FROM memories m WHERE user_id = $1 "
	    "ORDER BY updated_at DESC, id DESC LIMIT $2 OFFSET $3) p)";
	static const char sql_words[] =
	    "SELECT (SELECT count(*) FROM memories "
	    "WHERE user_id = $1 AND words @@ $4::tsquery), "
	    "(SELECT coalesce(json_agg(api_memory(p.m) ORDER BY "
	    "(p.m).updated_at DESC, (p.m).id DESC), '[]') "
	    "FROM (SELECT m FROM memories m WHERE user_id = $1 "
	    "AND words @@ $4::tsquery "
	    "ORDER BY updated_at DESC, id DESC LIMIT $2 OFFSET $3) p)";
	const char	*p[4];
	char		 slimit[16], soffset[16];
	PGconn		*conn;
	PGresult	*r = NULL;
	enum app_err	 e;

	snprintf(slimit, sizeof(slimit), "%d", limit);
	snprintf(soffset, sizeof(soffset), "%d", offset);
	p[0] = user_id;
	p[1] = slimit;
	p[2] = soffset;
	p[3] = NULL;
	if ((e = db_acquire(app->db, &conn)) != APP_OK)
		return e;
	if (q != NULL) {
		if ((e = db_query(conn, sql_q, 1, &q, &r)) != APP_OK)
			goto out;
		/* No word in q (only stop words): it filters nothing. */
		if (!PQgetisnull(r, 0, 0) &&
		    (p[3] = db_value(ar, r, 0, 0)) == NULL) {
			e = APP_ENOMEM;
			goto out;
		}
		PQclear(r);
		r = NULL;
	}
	if ((e = db_query(conn, p[3] != NULL ? sql_words : sql_all,
	    p[3] != NULL ? 4 : 3, p, &r)) != APP_OK)
		goto out;
	if ((*json = arena_printf(ar, "{\"items\":%s,\"total\":%s,"
	    "\"limit\":%d,\"offset\":%d}", PQgetvalue(r, 0, 1),
	    PQgetvalue(r, 0, 0), limit, offset)) == NULL)
		e = APP_ENOMEM;
out:
	PQclear(r);
	db_release(app->db, conn);
	return e;
}

enum app_err
memory_http_list(struct http_request *req, struct http_response *res)
{
	struct jsonx_errors	 errs;
	const char		*q;
	char			*json = NULL;
	int			 limit = MEMORY_LIST_DEFAULT, offset = 0;
	enum app_err		 e;

	jsonx_errors_init(&errs, req->arena);
	q = jsonx_param_text(req, "q", MEMORY_CONTENT_MAX, &errs);
	jsonx_param_int(req, "limit", 1, MEMORY_LIST_MAX, &limit, &errs);
	jsonx_param_int(req, "offset", 0, MEMORY_OFFSET_MAX, &offset, &errs);
	if (jsonx_errors_result(&errs) != APP_OK)
		return jsonx_send_errors(res, &errs);
	if ((e = memory_list(req->app, req->arena, req->user_id, q, limit,
	    offset, &json)) != APP_OK)
		return e;
	return http_send_json_str(res, 200, json, strlen(json));
}

enum app_err
memory_http_search(struct http_request *req, struct http_response *res)
{
	static const char *const fields[] = { "query", "limit", NULL };
	struct json_object	*obj;
	struct jsonx_errors	 errs;
	struct recall_hit	*hits = NULL;
	struct arena_str	 s;
	const char		*query = NULL;
	char			 num[48];
	int64_t			 limit = MEMORY_SEARCH_DEFAULT;
	size_t			 n = 0, i;
	enum app_err		 e;

	if ((e = jsonx_read_body(req, res, false, &obj)) != APP_OK)
		return e;
	jsonx_errors_init(&errs, req->arena);
	jsonx_errors_unknown(&errs, obj, fields, memory_readonly,
	    "is not a search field");
	(void)jsonx_get_string(obj, "query", JSONX_REQUIRED | JSONX_TRIM, 1,
	    MEMORY_CONTENT_MAX, &query, &errs);
	(void)jsonx_get_int(obj, "limit", 0, 1, MEMORY_SEARCH_MAX, &limit,
	    &errs);
	if ((e = jsonx_errors_answer(res, &errs)) != APP_OK)
		return e;
	if ((e = recall_search(req->app, req->arena, req->user_id, query,
	    (size_t)limit, RECALL_MIN_SEARCH, &hits, &n)) != APP_OK)
		return e;
	memset(&s, 0, sizeof(s));
	if (ARENA_STR_LIT(req->arena, &s, "{\"items\":[") == -1)
		return APP_ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), ",\"score\":%.3f}",
		    hits[i].score < 0 ? 0.0 :
		    hits[i].score > 1 ? 1.0 : hits[i].score);
		if ((i > 0 && ARENA_STR_LIT(req->arena, &s, ",") == -1) ||
		    ARENA_STR_LIT(req->arena, &s, "{\"memory\":") == -1 ||
		    arena_str_add(req->arena, &s, hits[i].json,
		    strlen(hits[i].json)) == -1 ||
		    arena_str_add(req->arena, &s, num, strlen(num)) == -1)
			return APP_ENOMEM;
	}
	if (ARENA_STR_LIT(req->arena, &s, "],\"query\":") == -1 ||
	    memory_quote(req->arena, &s, query) == -1 ||
	    ARENA_STR_LIT(req->arena, &s, "}") == -1)
		return APP_ENOMEM;
	return http_send_json_str(res, 200, s.p, s.len);
}

enum app_err
memory_http_summary(struct http_request *req, struct http_response *res)
{
	struct arena_str	 s;
	char			*text, tail[48];
	int64_t			 count;
	enum app_err		 e;

	if ((e = memory_summary_x(req->app, req->arena, req->user_id, &text,
	    &count)) != APP_OK)
		return e;
	snprintf(tail, sizeof(tail), ",\"count\":%" PRId64 "}", count);
	memset(&s, 0, sizeof(s));
	if (ARENA_STR_LIT(req->arena, &s, "{\"summary\":") == -1 ||
	    memory_quote(req->arena, &s, text) == -1 ||
	    arena_str_add(req->arena, &s, tail, strlen(tail)) == -1)
		return APP_ENOMEM;
	return http_send_json_str(res, 200, s.p, s.len);
}

enum app_err
memory_http_get(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "SELECT api_memory(m) FROM memories m "
	    "WHERE user_id = $1 AND id = $2";
	const char	*p[2];
	char		*json = NULL, sid[24];
	int64_t		 id;
	enum app_err	 e;

	if ((e = http_path_id(req, res, "memory", tasks_parse_id,
	    &id)) != APP_OK)
		return e;
	snprintf(sid, sizeof(sid), "%" PRId64, id);
	p[0] = req->user_id;
	p[1] = sid;
	e = db_one(req->app->db, req->arena, sql, 2, p, &json);
	return http_send_outcome(res, e, "memory", id, 200, json);
}

enum app_err
memory_http_patch(struct http_request *req, struct http_response *res)
{
	struct memory_outcome	 o;
	const char		*content;
	int64_t			 id;
	enum app_err		 e;

	if ((e = http_path_id(req, res, "memory", tasks_parse_id,
	    &id)) != APP_OK)
		return e;
	if ((e = memory_read_content(req, res, &content)) != APP_OK)
		return e;
	e = memory_edit(req->app, req->arena, req->user_id, id, content, &o);
	return http_send_outcome(res, e, "memory", id, 200, o.json);
}

enum app_err
memory_http_delete(struct http_request *req, struct http_response *res)
{
	int64_t		 id;
	enum app_err	 e;

	if ((e = http_path_id(req, res, "memory", tasks_parse_id,
	    &id)) != APP_OK)
		return e;
	e = memory_delete(req->app, req->arena, req->user_id, id, MEMORY_USER,
	    NULL, NULL);
	return http_send_outcome(res, e, "memory", id, 204, NULL);
}

enum app_err
memory_http_history(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "SELECT json_agg(api_memory_event(e) ORDER BY e.id) "
	    "FROM memory_events e WHERE user_id = $1 AND memory_id = $2";
	const char	*p[2];
	char		*items = NULL, *json = NULL, sid[24];
	int64_t		 id;
	enum app_err	 e;

	if ((e = http_path_id(req, res, "memory", tasks_parse_id,
	    &id)) != APP_OK)
		return e;
	snprintf(sid, sizeof(sid), "%" PRId64, id);
	p[0] = req->user_id;
	p[1] = sid;
	/* An aggregate always has a row: no event is a NULL one. */
	if ((e = db_one(req->app->db, req->arena, sql, 2, p, &items)) ==
	    APP_OK && items == NULL)
		e = APP_ENOTFOUND;
	if (e == APP_OK && (json = arena_printf(req->arena,
	    "{\"items\":%s}", items)) == NULL)
		e = APP_ENOMEM;
	return http_send_outcome(res, e, "memory", id, 200, json);
}

/*
 * Everything the user's memories are made of: the memories (their
 * buckets first, by user, rather than one cascade per memory), their
 * history, and the turns still queued for extraction, in one statement.
 */
enum app_err
memory_http_delete_all(struct http_request *req, struct http_response *res)
{
	static const char sql[] =
	    "WITH b AS (DELETE FROM memory_buckets WHERE user_id = $1), "
	    "e AS (DELETE FROM memory_events WHERE user_id = $1), "
	    "j AS (DELETE FROM memory_jobs WHERE user_id = $1), "
	    "m AS (DELETE FROM memories WHERE user_id = $1 RETURNING 1) "
	    "SELECT count(*) FROM m";
	struct jsonx_errors	 errs;
	const char		*confirm, *p[1];
	char			*n = NULL, *json;
	enum app_err		 e;

	jsonx_errors_init(&errs, req->arena);
	if (jsonx_param(req, "confirm", &confirm, &errs) != APP_OK)
		return jsonx_send_errors(res, &errs);
	if (confirm == NULL || strcmp(confirm, "true") != 0)
		return http_send_error(res, APP_EINVAL, NULL,
		    "add ?confirm=true to delete all memories");
	p[0] = req->user_id;
	if ((e = db_one(req->app->db, req->arena, sql, 1, p, &n)) != APP_OK)
		return e;
	if (n == NULL || (json = arena_printf(req->arena,
	    "{\"deleted\":%s}", n)) == NULL)
		return n == NULL ? APP_EINTERNAL : APP_ENOMEM;
	return http_send_json_str(res, 200, json, strlen(json));
}
