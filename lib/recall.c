/*
 * recall.c: hybrid retrieval of memories (see recall.h).
 *
 * A search is one statement (recall_sql_search) with three sources of
 * candidates: the memories holding the query's English lexemes
 * (index-only scans of memory_lexemes, at most RECALL_LEXEME_CAP newest
 * per lexeme), the RECALL_TEXT_CAP best by the sum over the lexemes
 * they hold of 1 / the lexeme's count of memories (counted up to
 * RECALL_LEXEME_COUNT_MAX), so that a rare word outweighs a common one;
 * the memories sharing the most LSH buckets with the query's vector
 * (index-only scans of memory_buckets, at most RECALL_BUCKET_CAP newest
 * per bucket), the RECALL_LSH_CAP best; and the RECALL_NEW_CAP newest,
 * which makes the search exact for the many users with fewer memories
 * than that (LSH finds a pair at cosine 0.3 only by luck). Both capped
 * sources cost what the query has words or buckets, not what they
 * match: through the GIN index of memories.words, a common word cost a
 * heap fetch and a ts_rank_cd for each of its thousands of matches
 * (bench/README.md, "Memory search"). The union comes back with each
 * memory's vector (when it is of the current model), its share of the
 * query's lexemes and its age, without its text; the score is merged
 * here, in C, where the exact cosine is cheap, and a second statement
 * (recall_sql_hits) reads the text and api_memory() of the few hits
 * returned only.
 *
 * The score, in [0, 1]:
 *
 *	score = W_COS * max(cosine, 0) + W_TEXT * text + W_NEW * recency
 *
 * text is the share of the query's lexemes the memory holds ("what's my
 * dog called": 'call' | 'dog'; "Has a dog named Rex" holds 1 of 2, 0.5),
 * recency halves every RECALL_HALF_LIFE days. The weights were chosen
 * on the labelled set of t/integration/test_recall.c (21 memories, 16
 * questions, each answer to be in the top 3), with the builtin embedder,
 * whose cosines are low and noisy: a question and its answer share a
 * word or two among stop words ("where do I live?" and "Lives in Paris"
 * are at 0.16, "what's my dog called" and "Has a dog named Rex" at 0.5),
 * while unrelated pairs spread up to 0.2 (99th percentile of 800). Sharing a
 * lexeme is the stronger signal there, so text weighs about as much as
 * the cosine; but text alone cannot rank ("dog" and "called" are worth
 * the same to it), and the cosine, which weighs the rarer word's n-grams
 * too, breaks those ties. Recency only orders near-equals: 0.05 is less
 * than one shared lexeme of a two-word query is worth (0.2).
 *
 * A memory without a usable vector (none yet, another model, or the
 * embedder is down) is scored on text and recency alone, scaled to the
 * same range (W_TEXT + W_COS for text): otherwise a stale model would
 * hide every memory under the thresholds until it is re-embedded.
 *
 * Thresholds (recall.h): an unrelated memory, no shared lexeme and a
 * cosine of 0.2 at most, stays under 0.5 * 0.2 + 0.05 = 0.15; one
 * sharing half of a two-word question's lexemes reaches 0.275 even with
 * a cosine near 0, and the labelled answers score 0.32 to 0.92. A match
 * by cosine alone needs 0.4 to enter a prompt (0.25), 0.14 for the API
 * (0.12): "where did I grow up?" finds "Grew up in Lyon" at 0.2 (grow
 * and grew are different stems), first but only for the API.
 *
 * Vectors of stale memories are recomputed after the search, a few at a
 * time (recall_reembed): for a remote embedder in one batch, with no
 * connection held while it works.
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "arena.h"
#include "conf.h"
#include "db.h"
#include "embed.h"
#include "log.h"
#include "recall.h"

/* The merged score's weights and the recency half-life (see above). */
#define RECALL_W_COS		0.50
#define RECALL_W_TEXT		0.45
#define RECALL_W_NEW		0.05
#define RECALL_HALF_LIFE	90.0	/* days */

/*
 * Candidate caps (SQL text, the first three are parameters). At most
 * 192 rows come back, which bounds the vectors to parse. The postings
 * read per lexeme and per bucket are capped (newest first), and so is
 * the count that weighs a lexeme: with 100 000 memories for one user a
 * common lexeme has thousands of postings, a bucket a few hundred.
 */
#define RECALL_TEXT_CAP		"64"
#define RECALL_LSH_CAP		"64"
#define RECALL_NEW_CAP		"64"
#define RECALL_LEXEME_CAP	"250"
#define RECALL_LEXEME_COUNT_MAX	"10000"
#define RECALL_BUCKET_CAP	"100"

#define RECALL_LIMIT_MAX	100

#define RECALL_STR_(x)		#x
#define RECALL_STR(x)		RECALL_STR_(x)

/* ------------------------------------------------------------ vectors */

static bool
recall_remote(const struct conf *c)
{
	return c->embedding_provider != NULL &&
	    strcmp(c->embedding_provider, "openai") == 0;
}

/* The configured model's name, as memories.embed_model stores it. */
static const char *
recall_model(const struct conf *c)
{
	return recall_remote(c) ? c->embedding_model : RECALL_BUILTIN_MODEL;
}

/* The buckets of v as int[] text, "{}" for none; NULL on ENOMEM. */
static char *
recall_buckets(struct arena *ar, const float *v, size_t dim)
{
	int32_t	 keys[EMBED_LSH_TABLES];
	char	*s;
	size_t	 n, i, off = 0, cap = EMBED_LSH_TABLES * 12 + 3;

	n = embed_lsh(v, dim, keys);
	if ((s = arena_alloc(ar, cap)) == NULL)
		return NULL;
	s[off++] = '{';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s%" PRId32,
		    i > 0 ? "," : "", keys[i]);
	s[off++] = '}';
	s[off] = '\0';
	return s;
}

/* Fills *rv with a computed vector (in the arena). */
static enum app_err
recall_vec_set(struct arena *ar, const char *model, const float *v,
    size_t dim, struct recall_vec *rv)
{
	rv->model = model;
	rv->dim = (int)dim;
	rv->v = v;
	if ((rv->pg = embed_to_pg(ar, v, dim)) == NULL ||
	    (rv->buckets = recall_buckets(ar, v, dim)) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

/*
 * The vectors of n texts with the configured embedder, into rv[0..n).
 * A remote embedder gets them in one request.
 */
static enum app_err
recall_embed_n(struct app *app, struct arena *ar, const char *const *texts,
    size_t n, struct recall_vec *rv, const char **why)
{
	const struct conf	*c = app->conf;
	float			*out;
	size_t			 dim, i;
	enum app_err		 e;

	*why = NULL;
	if (recall_remote(c)) {
		if ((e = embed_remote(c, ar, texts, n, &out, &dim, why)) !=
		    APP_OK)
			return e;
	} else {
		dim = EMBED_DIM;
		if (n > 0 && (out = arena_alloc(ar, n * dim *
		    sizeof(*out))) == NULL)
			return APP_ENOMEM;
		for (i = 0; i < n; i++)
			(void)embed_builtin(texts[i], strlen(texts[i]),
			    out + i * dim, dim);
	}
	for (i = 0; i < n; i++)
		if ((e = recall_vec_set(ar, recall_model(c), out + i * dim,
		    dim, &rv[i])) != APP_OK)
			return e;
	return APP_OK;
}

enum app_err
recall_embed(struct app *app, struct arena *ar, const char *text,
    struct recall_vec *v, const char **why)
{
	return recall_embed_n(app, ar, &text, 1, v, why);
}

/* ------------------------------------------------------------ SQL */

/*
 * The candidates. $1 user, $2 the query's text, $3 its buckets, $4 the
 * current model, $5 to $7 the caps. Columns: id, the vector (current
 * model only), the share of the query's lexemes (0..1), the age in
 * seconds. tsvector_to_array() gives each lexeme once; w weighs each
 * by its count of postings, read no further than the bound, once per
 * lexeme (MATERIALIZED: inlined, the count would move into the sum and
 * run once per posting, and its cost estimate would switch JIT on).
 */
static const char recall_sql_search[] =
    "WITH q AS (SELECT "
    "tsvector_to_array(to_tsvector('english'::regconfig, $2)) AS lex), "
    "w AS MATERIALIZED (SELECT x.lex, (SELECT count(*) FROM (SELECT 1 "
    "FROM memory_lexemes WHERE user_id = $1 AND lexeme = x.lex "
    "LIMIT " RECALL_LEXEME_COUNT_MAX ") s) AS n "
    "FROM q, unnest(q.lex) x (lex)), "
    "t AS (SELECT p.memory_id AS id FROM w, "
    "LATERAL (SELECT memory_id FROM memory_lexemes "
    "WHERE user_id = $1 AND lexeme = w.lex "
    "ORDER BY memory_id DESC LIMIT " RECALL_LEXEME_CAP ") p "
    "GROUP BY p.memory_id "
    "ORDER BY sum(1.0 / greatest(w.n, 1)) DESC, p.memory_id DESC "
    "LIMIT $5::int), "
    "l AS (SELECT b.memory_id AS id FROM unnest($3::int[]) k, "
    "LATERAL (SELECT memory_id FROM memory_buckets "
    "WHERE user_id = $1 AND bucket = k "
    "ORDER BY memory_id DESC LIMIT " RECALL_BUCKET_CAP ") b "
    "GROUP BY b.memory_id ORDER BY count(*) DESC, b.memory_id DESC "
    "LIMIT $6::int), "
    "n AS (SELECT id FROM memories WHERE user_id = $1 "
    "ORDER BY updated_at DESC, id DESC LIMIT $7::int), "
    "c AS (SELECT id FROM t UNION SELECT id FROM l UNION "
    "SELECT id FROM n) "
    "SELECT m.id, "
    "CASE WHEN m.embed_model = $4 THEN (SELECT embedding::text "
    "FROM memory_vectors WHERE memory_id = m.id) END, "
    "(SELECT count(*) FROM unnest(tsvector_to_array(m.words)) w "
    "WHERE w = ANY (q.lex))::float8 / greatest(cardinality(q.lex), 1), "
    "extract(epoch FROM now() - m.updated_at)::float8 "
    "FROM c JOIN memories m ON m.id = c.id, q "
    "WHERE m.user_id = $1";

/*
 * The hits of a search, in any order: $1 user, $2 their ids. A memory
 * deleted since the search is not there.
 */
static const char recall_sql_hits[] =
    "SELECT m.id, m.content, m.subject, api_memory(m) FROM memories m "
    "WHERE m.user_id = $1 AND m.id = ANY ($2::bigint[])";

/* An empty query: the newest memories. $1 user, $2 limit. */
static const char recall_sql_newest[] =
    "SELECT m.id, m.content, m.subject, api_memory(m) FROM memories m "
    "WHERE user_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2::int";

/*
 * Memories to re-embed: no vector, or another model's. Three ranges of
 * memories_user_model_idx ("<>" could use none).
 */
static const char recall_sql_stale[] =
    "SELECT id, content FROM memories WHERE user_id = $1 "
    "AND (embed_model IS NULL OR embed_model < $2 OR embed_model > $2) "
    "ORDER BY id LIMIT " RECALL_STR(RECALL_REEMBED_MAX);

/*
 * One memory's new vector and buckets, unless its text changed
 * meanwhile (then whoever changed it wrote a fresh vector). Buckets
 * that stay are left alone, so that the DELETE and the INSERT never
 * touch the same row.
 */
static const char recall_sql_reembed[] =
    "WITH u AS (UPDATE memories SET "
    "embed_model = $4, embed_dim = $5::int "
    "WHERE user_id = $1 AND id = $2 AND content = $6 RETURNING id), "
    "v AS (INSERT INTO memory_vectors (memory_id, embedding) "
    "SELECT id, $3::float4[] FROM u ON CONFLICT (memory_id) "
    "DO UPDATE SET embedding = excluded.embedding), "
    "d AS (DELETE FROM memory_buckets WHERE user_id = $1 "
    "AND memory_id IN (SELECT id FROM u) AND bucket <> ALL ($7::int[])) "
    "INSERT INTO memory_buckets (user_id, bucket, memory_id) "
    "SELECT $1, unnest($7::int[]), id FROM u ON CONFLICT DO NOTHING";

/* ------------------------------------------------------------ scoring */

/* One candidate row being scored. */
struct recall_cand {
	int	 row;
	double	 score;
	double	 cosine;
	double	 text;
	double	 age;
	int64_t	 id;
};

static int
recall_cand_cmp(const void *a, const void *b)
{
	const struct recall_cand	*x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	if (x->age != y->age)
		return x->age > y->age ? 1 : -1;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

/* The merged score (see the top of the file); cosine < 0: no vector. */
static double
recall_score(double cosine, double text, double age_s)
{
	double	 recency, s;

	recency = exp2(-(age_s > 0 ? age_s : 0) / 86400.0 / RECALL_HALF_LIFE);
	if (cosine < 0)
		s = (RECALL_W_TEXT + RECALL_W_COS) * text +
		    RECALL_W_NEW * recency;
	else
		s = RECALL_W_COS * cosine + RECALL_W_TEXT * text +
		    RECALL_W_NEW * recency;
	return s < 0 ? 0 : s > 1 ? 1 : s;
}

static double
recall_num(const PGresult *r, int row, int col)
{
	double	 d;

	if (PQgetisnull(r, row, col))
		return 0;
	d = strtod(PQgetvalue(r, row, col), NULL);
	return isfinite(d) ? d : 0;
}

/*
 * Scores the rows of recall_sql_search against the query's vector (NULL
 * when there is none) into cand[], best first; *n those at or above
 * min_score.
 */
static enum app_err
recall_rank(struct arena *ar, const PGresult *r, const struct recall_vec *qv,
    double min_score, struct recall_cand *cand, size_t *n, bool *stale)
{
	float		*buf = NULL;
	const char	*pg;
	double		 cosine;
	int		 i, rows = PQntuples(r);

	if (qv != NULL && (buf = arena_alloc(ar, (size_t)qv->dim *
	    sizeof(*buf))) == NULL)
		return APP_ENOMEM;
	*n = 0;
	for (i = 0; i < rows; i++) {
		cosine = -1;
		pg = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
		if (pg == NULL)
			*stale = true;	/* none yet, or another model's */
		if (buf != NULL && pg != NULL &&
		    embed_from_pg(pg, buf, (size_t)qv->dim) == APP_OK) {
			cosine = embed_cosine(qv->v, buf, (size_t)qv->dim);
			if (cosine < 0)
				cosine = 0;
		}
		cand[*n].row = i;
		cand[*n].cosine = cosine;
		cand[*n].text = recall_num(r, i, 2);
		cand[*n].age = recall_num(r, i, 3);
		cand[*n].id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		cand[*n].score = recall_score(cosine, cand[*n].text,
		    cand[*n].age);
		if (cand[*n].score >= min_score)
			(*n)++;
	}
	qsort(cand, *n, sizeof(*cand), recall_cand_cmp);
	return APP_OK;
}

/* Copies row `c' of r (id, content, subject, json) into *h. */
static enum app_err
recall_hit_set(struct arena *ar, const PGresult *r,
    const struct recall_cand *c, struct recall_hit *h)
{
	memset(h, 0, sizeof(*h));
	h->id = strtoll(PQgetvalue(r, c->row, 0), NULL, 10);
	if ((h->content = db_value(ar, r, c->row, 1)) == NULL ||
	    (h->subject = db_value(ar, r, c->row, 2)) == NULL ||
	    (h->json = db_value(ar, r, c->row, 3)) == NULL)
		return APP_ENOMEM;
	h->score = c->score;
	h->cosine = c->cosine > 0 ? c->cosine : 0;
	h->text_rank = c->text;
	return APP_OK;
}

/* ------------------------------------------------------------ re-embedding */

/* The ids and texts of up to RECALL_REEMBED_MAX stale memories. */
static enum app_err
recall_stale(PGconn *conn, struct arena *ar, const char *user_id,
    const char *model, char ***ids, const char ***texts, size_t *n)
{
	const char	*p[2] = { user_id, model };
	PGresult	*r;
	enum app_err	 e;
	size_t		 i;

	*n = 0;
	if ((e = db_query(conn, recall_sql_stale, 2, p, &r)) != APP_OK)
		return e;
	*n = (size_t)PQntuples(r);
	if (*n == 0)
		goto out;
	e = APP_ENOMEM;
	if ((*ids = arena_calloc(ar, *n, sizeof(**ids))) == NULL ||
	    (*texts = arena_calloc(ar, *n, sizeof(**texts))) == NULL)
		goto out;
	for (i = 0; i < *n; i++)
		if (((*ids)[i] = (char *)db_value(ar, r, (int)i, 0)) == NULL ||
		    ((*texts)[i] = db_value(ar, r, (int)i, 1)) == NULL)
			goto out;
	e = APP_OK;
out:
	PQclear(r);
	return e;
}

/* Writes the new vectors, in one transaction, in id order. */
static enum app_err
recall_store(struct db_pool *pool, const char *user_id, char **ids,
    const char *const *texts, const struct recall_vec *rv, size_t n)
{
	const char	*p[7];
	char		 sdim[16];
	PGconn		*conn;
	enum app_err	 e;
	size_t		 i;

	if ((e = db_acquire(pool, &conn)) != APP_OK)
		return e;
	if ((e = db_begin(conn)) != APP_OK)
		goto out;
	p[0] = user_id;
	for (i = 0; i < n; i++) {
		snprintf(sdim, sizeof(sdim), "%d", rv[i].dim);
		p[1] = ids[i];
		p[2] = rv[i].pg;
		p[3] = rv[i].model;
		p[4] = sdim;
		p[5] = texts[i];
		p[6] = rv[i].buckets;
		if ((e = db_exec(conn, recall_sql_reembed, 7, p)) != APP_OK)
			goto out;
	}
	e = db_commit(conn);
out:
	db_rollback(conn);
	db_release(pool, conn);
	return e;
}

/*
 * Re-embeds the stale memories found by the search (ids/texts). Errors
 * are logged, not returned: the search has its answer already, and the
 * next one tries again.
 */
static void
recall_reembed(struct app *app, struct arena *ar, const char *user_id,
    char **ids, const char **texts, size_t n)
{
	struct recall_vec	*rv;
	const char		*why;
	enum app_err		 e;

	if (n == 0)
		return;
	if ((rv = arena_calloc(ar, n, sizeof(*rv))) == NULL)
		return;
	if ((e = recall_embed_n(app, ar, texts, n, rv, &why)) != APP_OK) {
		log_warnx("recall: cannot re-embed %zu memories: %s", n,
		    why != NULL ? why : app_strerror(e));
		return;
	}
	if ((e = recall_store(app->db, user_id, ids, texts, rv, n)) !=
	    APP_OK)
		log_warnx("recall: cannot store %zu new vectors: %s", n,
		    app_strerror(e));
}

/* ------------------------------------------------------------ search */

/* The newest memories, score 0 (a query without words). */
static enum app_err
recall_newest(struct app *app, struct arena *ar, const char *user_id,
    size_t limit, struct recall_hit **hits, size_t *nhits)
{
	const char		*p[2];
	char			 slimit[16];
	struct recall_cand	 c;
	PGresult		*r;
	enum app_err		 e;
	int			 i, rows;

	snprintf(slimit, sizeof(slimit), "%zu", limit);
	p[0] = user_id;
	p[1] = slimit;
	if ((e = db_run(app->db, recall_sql_newest, 2, p, &r)) != APP_OK)
		return e;
	rows = PQntuples(r);
	if (rows > 0 && (*hits = arena_calloc(ar, (size_t)rows,
	    sizeof(**hits))) == NULL)
		e = APP_ENOMEM;
	memset(&c, 0, sizeof(c));
	for (i = 0; e == APP_OK && i < rows; i++) {
		c.row = i;
		if ((e = recall_hit_set(ar, r, &c, &(*hits)[i])) == APP_OK)
			(*nhits)++;
	}
	PQclear(r);
	return e;
}

/* Whether the query has a word at all: the builtin embedder's test. */
static bool
recall_wordless(const char *query)
{
	float	 v[EMBED_DIM];

	return query == NULL ||
	    embed_builtin(query, strlen(query), v, EMBED_DIM) == 0;
}

/* The ids of cand[0..n) as bigint[] text; NULL on ENOMEM. */
static char *
recall_ids(struct arena *ar, const struct recall_cand *cand, size_t n)
{
	char	*s;
	size_t	 i, off = 0, cap = n * 21 + 3;

	if ((s = arena_alloc(ar, cap)) == NULL)
		return NULL;
	s[off++] = '{';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%s%" PRId64,
		    i > 0 ? "," : "", cand[i].id);
	s[off++] = '}';
	s[off] = '\0';
	return s;
}

/*
 * Reads the text and JSON of the n best candidates into *hits, in
 * their order; one deleted since the search is left out.
 */
static enum app_err
recall_hits(PGconn *conn, struct arena *ar, const char *user_id,
    const struct recall_cand *cand, size_t n, struct recall_hit **hits,
    size_t *nhits)
{
	const char		*p[2];
	struct recall_cand	 c;
	PGresult		*r;
	enum app_err		 e;
	size_t			 i;
	int			 j, rows;

	p[0] = user_id;
	if ((p[1] = recall_ids(ar, cand, n)) == NULL)
		return APP_ENOMEM;
	if ((e = db_query(conn, recall_sql_hits, 2, p, &r)) != APP_OK)
		return e;
	rows = PQntuples(r);
	if (rows > 0 && (*hits = arena_calloc(ar, n, sizeof(**hits))) ==
	    NULL)
		e = APP_ENOMEM;
	for (i = 0; e == APP_OK && rows > 0 && i < n; i++) {
		for (j = 0; j < rows; j++)
			if (strtoll(PQgetvalue(r, j, 0), NULL, 10) ==
			    cand[i].id)
				break;
		if (j == rows)
			continue;
		c = cand[i];
		c.row = j;
		if ((e = recall_hit_set(ar, r, &c, &(*hits)[*nhits])) ==
		    APP_OK)
			(*nhits)++;
	}
	PQclear(r);
	if (*nhits == 0)
		*hits = NULL;
	return e;
}

/*
 * Runs the search statement, scores its rows, reads the hits and finds
 * stale memories, on one connection.
 */
static enum app_err
recall_query(struct app *app, struct arena *ar, const char *user_id,
    const char *query, const struct recall_vec *qv, size_t limit,
    double min_score, struct recall_hit **hits, size_t *nhits,
    char ***ids, const char ***texts, size_t *nstale)
{
	const char		*p[7];
	const char		*model = recall_model(app->conf);
	struct recall_cand	*cand = NULL;
	PGconn			*conn;
	PGresult		*r = NULL;
	size_t			 ncand = 0;
	bool			 stale = false;
	enum app_err		 e;

	*ids = NULL;
	*texts = NULL;
	*nstale = 0;
	p[0] = user_id;
	p[1] = query;
	p[2] = qv != NULL ? qv->buckets : "{}";
	p[3] = model;
	p[4] = RECALL_TEXT_CAP;
	p[5] = RECALL_LSH_CAP;
	p[6] = RECALL_NEW_CAP;
	if ((e = db_acquire(app->db, &conn)) != APP_OK)
		return e;
	if ((e = db_query(conn, recall_sql_search, 7, p, &r)) != APP_OK)
		goto out;
	if (PQntuples(r) > 0 && (cand = arena_calloc(ar,
	    (size_t)PQntuples(r), sizeof(*cand))) == NULL) {
		e = APP_ENOMEM;
		goto out;
	}
	if (cand != NULL && (e = recall_rank(ar, r, qv, min_score, cand,
	    &ncand, &stale)) != APP_OK)
		goto out;
	PQclear(r);
	r = NULL;
	if (ncand > limit)
		ncand = limit;
	if (ncand > 0 && (e = recall_hits(conn, ar, user_id, cand, ncand,
	    hits, nhits)) != APP_OK)
		goto out;
	/*
	 * Looked for only when a candidate had no vector of the current
	 * model: the search of nearly every turn meets none and saves the
	 * round trip. Lazily all the same: every memory is a candidate
	 * sooner or later (the newest 64 always are).
	 */
	if (stale)
		e = recall_stale(conn, ar, user_id, model, ids, texts, nstale);
out:
	PQclear(r);
	db_release(app->db, conn);
	return e;
}

enum app_err
recall_search(struct app *app, struct arena *ar, const char *user_id,
    const char *query, size_t limit, double min_score,
    struct recall_hit **hits, size_t *nhits)
{
	struct recall_vec	 qv;
	const char		*why;
	enum app_err		 e;

	*hits = NULL;
	*nhits = 0;
	if (limit == 0 || recall_wordless(query))
		return recall_search_with(app, ar, user_id, query, NULL, limit,
		    min_score, hits, nhits);
	/* No connection is held while the embedder works. */
	if ((e = recall_embed(app, ar, query, &qv, &why)) == APP_OK)
		return recall_search_with(app, ar, user_id, query, &qv, limit,
		    min_score, hits, nhits);
	if (e == APP_ENOMEM)
		return e;
	log_warnx("recall: searching by full text alone: %s",
	    why != NULL ? why : app_strerror(e));
	return recall_search_with(app, ar, user_id, query, NULL, limit,
	    min_score, hits, nhits);
}

enum app_err
recall_search_with(struct app *app, struct arena *ar, const char *user_id,
    const char *query, const struct recall_vec *qvp, size_t limit,
    double min_score, struct recall_hit **hits, size_t *nhits)
{
	const char		**texts = NULL;
	char			**ids = NULL;
	size_t			 nstale = 0;
	enum app_err		 e;

	*hits = NULL;
	*nhits = 0;
	if (limit == 0)
		return APP_OK;
	if (limit > RECALL_LIMIT_MAX)
		limit = RECALL_LIMIT_MAX;
	if (recall_wordless(query))
		return recall_newest(app, ar, user_id, limit, hits, nhits);
	if (qvp != NULL && qvp->pg == NULL)
		qvp = NULL;

	e = recall_query(app, ar, user_id, query, qvp, limit, min_score,
	    hits, nhits, &ids, &texts, &nstale);
	if (e != APP_OK) {
		*hits = NULL;
		*nhits = 0;
	}
	/* Not when the embedder just failed: it would only fail again. */
	if (qvp != NULL)
		recall_reembed(app, ar, user_id, ids, texts, nstale);
	return e;
}
