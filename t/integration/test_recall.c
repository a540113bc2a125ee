/*
 * test_recall.c: hybrid retrieval of memories (lib/recall.c) against a
 * real PostgreSQL: the harness's database, migrated by quipu-fcgi
 * --migrate, and a struct app of our own (configuration and pool), so
 * recall_search() is called directly and no server is started but the
 * fake upstream for the remote embedder.
 *
 * What it checks: a labelled set (21 memories, 16 questions) where each
 * question's memory must be among the first 3 and above
 * RECALL_MIN_PROMPT, while unrelated questions find nothing above it;
 * two users with near-identical memories never see each other's;
 * memories without a vector or with another model's are found by text,
 * then re-embedded and re-bucketed (at most RECALL_REEMBED_MAX a search,
 * in one batch for a remote embedder, t/fakellm); an empty or wordless query lists
 * the newest; a remote embedder that is down leaves full text working.
 *
 * Memories are written the way lib/memory.c writes them (recall.h).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "app.h"
#include "arena.h"
#include "conf.h"
#include "db.h"
#include "embed.h"
#include "harness.h"
#include "recall.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static struct harness	 H;
static struct conf	 C;
static struct app	 A;
static struct arena	*AR;

/* ------------------------------------------------------------- helpers */

/* One statement on the pool; its first value into out (may be NULL). */
static void
sql(const char *text, int n, const char *const *p, char *out, size_t outsz)
{
	PGresult	*r = NULL;

	if (db_run(A.db, text, n, p, &r) != APP_OK)
		fail_msg("SQL failed: %s", text);
	if (out != NULL) {
		if (PQntuples(r) < 1 || PQnfields(r) < 1)
			fail_msg("no row: %s", text);
		snprintf(out, outsz, "%s", PQgetvalue(r, 0, 0));
	}
	PQclear(r);
}

static long
sql_long(const char *text, int n, const char *const *p)
{
	char	 out[32];

	sql(text, n, p, out, sizeof(out));
	return strtol(out, NULL, 10);
}

/* A new user; its id into `id' (37 bytes). */
static void
new_user(const char *name, char *id)
{
	const char	*p[1] = { name };

	sql("INSERT INTO users (username, password_hash) VALUES ($1, 'x') "
	    "RETURNING id", 1, p, id, 37);
}

/* A memory written as lib/memory.c does; its id. */
static int64_t
add_memory(const char *user, const char *content)
{
	struct recall_vec	 v;
	const char		*why, *p[6];
	char			 id[24], dim[16];

	assert_int_equal(recall_embed(&A, AR, content, &v, &why), APP_OK);
	snprintf(dim, sizeof(dim), "%d", v.dim);
	p[0] = user;
	p[1] = content;
	p[2] = v.pg;
	p[3] = v.model;
	p[4] = dim;
	sql("WITH m AS (INSERT INTO memories (user_id, content, subject, "
	    "embed_model, embed_dim) VALUES ($1, $2, '', $4, $5::int) "
	    "RETURNING id), v AS (INSERT INTO memory_vectors SELECT id, "
	    "$3::float4[] FROM m) SELECT id FROM m", 5, p, id, sizeof(id));
	p[1] = v.buckets;
	p[2] = id;
	sql("INSERT INTO memory_buckets SELECT $1, unnest($2::int[]), "
	    "$3::bigint", 3, p, NULL, 0);
	return strtoll(id, NULL, 10);
}

/* A memory with no vector (model NULL) or a stale one; its id. */
static int64_t
add_stale(const char *user, const char *content, const char *model)
{
	const char	*p[3] = { user, content, model };
	char		 id[24];

	if (model == NULL)
		sql("INSERT INTO memories (user_id, content) VALUES ($1, $2) "
		    "RETURNING id", 2, p, id, sizeof(id));
	else {
		sql("WITH m AS (INSERT INTO memories (user_id, content, "
		    "embed_model, embed_dim) VALUES ($1, $2, $3, 4) "
		    "RETURNING id), v AS (INSERT INTO memory_vectors SELECT "
		    "id, '{0.6,0.8,0,0}' FROM m) SELECT id FROM m", 3, p, id,
		    sizeof(id));
		p[1] = id;
		/* Buckets of the old model, to be replaced. */
		sql("INSERT INTO memory_buckets VALUES ($1, 32767, "
		    "$2::bigint), ($1, 5, $2::bigint)", 2, p, NULL, 0);
	}
	return strtoll(id, NULL, 10);
}

static void
search(const char *user, const char *q, size_t limit, double min,
    struct recall_hit **hits, size_t *n)
{
	assert_int_equal(recall_search(&A, AR, user, q, limit, min, hits, n),
	    APP_OK);
}

static bool
has_hit(const struct recall_hit *hits, size_t n, int64_t id)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (hits[i].id == id)
			return true;
	return false;
}

static void
print_hits(const char *q, const struct recall_hit *hits, size_t n)
{
	size_t	 i;

	fprintf(stderr, "  \"%s\":\n", q);
	for (i = 0; i < n; i++)
		fprintf(stderr, "    %.3f (cos %.3f text %.2f) %s\n",
		    hits[i].score, hits[i].cosine, hits[i].text_rank,
		    hits[i].content);
}

static void
set_conf(const char *key, const char *value)
{
	char	 err[256];

	if (conf_set(&C, key, value, err, sizeof(err)) == -1)
		fail_msg("conf_set %s: %s", key, err);
}

static void
use_builtin(void)
{
	set_conf("embedding_provider", "builtin");
}

/* ------------------------------------------------------------- labelled */

static const char *const memories[] = {
	"Lives in Paris",
	"Has a dog named Rex",
	"Works as a software engineer at Airbus",
	"Is allergic to peanuts",
	"Likes jazz music",
	"Favourite food is sushi",
	"Has two children, Emma and Leo",
	"Is learning to play the guitar",
	"Birthday is on March 3",
	"Drives a blue Toyota Corolla",
	"Wife is called Sophie",
	"Is vegetarian",
	"Runs a marathon every spring",
	"Speaks French and Spanish",
	"Prefers tea over coffee",
	"Grew up in Lyon",
	"Is afraid of flying",
	"Reads science fiction novels",
	"Studied physics at university",
	"Plays tennis on Saturdays",
	"Name is Marc",
};

/*
 * Each question and the index of its memory above. All share a lexeme
 * with their memory but one: "grow" and "grew" are different stems, and
 * the builtin cosine alone (0.3, where unrelated pairs reach 0.2) ranks
 * it first but is no clear enough sign to put it in a prompt.
 */
static const struct {
	const char	*q;
	size_t		 want;
	bool		 prompt;	/* above RECALL_MIN_PROMPT */
} questions[] = {
	{ "where do I live?", 0, true },
	{ "what's my dog called", 1, true },
	{ "where do I work?", 2, true },
	{ "what am I allergic to?", 3, true },
	{ "what kind of music do I like?", 4, true },
	{ "what is my favourite food?", 5, true },
	{ "what are my children's names?", 6, true },
	{ "which instrument am I learning?", 7, true },
	{ "when is my birthday?", 8, true },
	{ "what car do I drive?", 9, true },
	{ "what is my wife's name?", 10, true },
	{ "do I drink coffee?", 14, true },
	{ "where did I grow up?", 15, false },
	{ "what languages do I speak?", 13, true },
	{ "what books do I read?", 17, true },
	{ "what did I study?", 18, true },
};

/* Questions none of the memories answers. */
static const char *const unrelated[] = {
	"what is the capital of Australia?",
	"how do I bake sourdough bread",
	"explain quantum entanglement",
	"write a haiku about autumn leaves",
	"what time is it in Tokyo?",
};

static void
test_labelled(void **state)
{
	struct recall_hit	*hits;
	int64_t			 ids[NELEM(memories)];
	char			 user[37];
	size_t			 i, n;
	int			 bad = 0;

	(void)state;
	use_builtin();
	new_user("labelled", user);
	for (i = 0; i < NELEM(memories); i++)
		ids[i] = add_memory(user, memories[i]);
	for (i = 0; i < NELEM(questions); i++) {
		search(user, questions[i].q, 3, 0, &hits, &n);
		if (getenv("RECALL_VERBOSE") != NULL)
			print_hits(questions[i].q, hits, n);
		if (!has_hit(hits, n, ids[questions[i].want])) {
			fprintf(stderr, "not in the top 3:\n");
			print_hits(questions[i].q, hits, n);
			bad++;
			continue;
		}
		search(user, questions[i].q, 3, questions[i].prompt ?
		    RECALL_MIN_PROMPT : RECALL_MIN_SEARCH, &hits, &n);
		if (!has_hit(hits, n, ids[questions[i].want])) {
			fprintf(stderr, "under its threshold:\n");
			search(user, questions[i].q, 3, 0, &hits, &n);
			print_hits(questions[i].q, hits, n);
			bad++;
		}
		arena_reset(AR);
	}
	for (i = 0; i < NELEM(unrelated); i++) {
		if (getenv("RECALL_VERBOSE") != NULL) {
			search(user, unrelated[i], 3, 0, &hits, &n);
			print_hits(unrelated[i], hits, n);
		}
		search(user, unrelated[i], 5, RECALL_MIN_PROMPT, &hits, &n);
		if (n > 0) {
			fprintf(stderr, "unrelated, over RECALL_MIN_PROMPT:\n");
			print_hits(unrelated[i], hits, n);
			bad++;
		}
		arena_reset(AR);
	}
	/* The API's threshold is lower: a partial match still comes up. */
	search(user, "which sports and music do I like?", 10,
	    RECALL_MIN_SEARCH, &hits, &n);
	assert_true(has_hit(hits, n, ids[4]));
	for (i = 1; i < n; i++)
		assert_true(hits[i - 1].score >= hits[i].score);
	for (i = 0; i < n; i++) {
		assert_true(hits[i].score >= RECALL_MIN_SEARCH &&
		    hits[i].score <= 1);
		assert_non_null(strstr(hits[i].json, "\"content\""));
	}
	assert_true(RECALL_MIN_SEARCH < RECALL_MIN_PROMPT);
	assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------- isolation */

static void
test_isolation(void **state)
{
	struct recall_hit	*hits;
	char			 a[37], b[37], c[37];
	int64_t			 ma, mb;
	size_t			 n;

	(void)state;
	use_builtin();
	new_user("iso-a", a);
	new_user("iso-b", b);
	new_user("iso-c", c);
	ma = add_memory(a, "Has a cat named Felix");
	mb = add_memory(b, "Has a cat named Felix!");
	search(a, "what is my cat called?", 10, 0, &hits, &n);
	assert_int_equal(n, 1);
	assert_true(hits[0].id == ma);
	search(b, "what is my cat called?", 10, 0, &hits, &n);
	assert_int_equal(n, 1);
	assert_true(hits[0].id == mb);
	search(c, "what is my cat called?", 10, 0, &hits, &n);
	assert_int_equal(n, 0);
	assert_null(hits);
	/* The list of the newest, too. */
	search(a, "", 10, 0, &hits, &n);
	assert_int_equal(n, 1);
	assert_true(hits[0].id == ma);
	search(c, "", 10, 0, &hits, &n);
	assert_int_equal(n, 0);
	arena_reset(AR);
}

/* ------------------------------------------------------------- stale */

static long
count_model(const char *user, const char *model)
{
	const char	*p[2] = { user, model };

	return sql_long("SELECT count(*) FROM memories WHERE user_id = $1 "
	    "AND embed_model IS NOT DISTINCT FROM $2", 2, p);
}

static void
test_stale(void **state)
{
	struct recall_hit	*hits;
	char			 user[37], sid[24];
	const char		*p[2];
	int64_t			 fresh, nul, old;
	size_t			 n, i;

	(void)state;
	use_builtin();
	new_user("stale", user);
	fresh = add_memory(user, "Collects vintage stamps");
	nul = add_stale(user, "Keeps bees in the garden", NULL);
	old = add_stale(user, "Keeps chickens and bees", "old-model");

	/* Found by text before; scored without a cosine. */
	search(user, "do I keep bees?", 10, 0, &hits, &n);
	assert_true(n >= 2);
	assert_true(has_hit(hits, n, nul) && has_hit(hits, n, old));
	for (i = 0; i < 2; i++) {
		assert_true(hits[i].id == nul || hits[i].id == old);
		assert_true(hits[i].cosine == 0 && hits[i].text_rank > 0.99);
	}
	if (n > 2)	/* by its buckets only */
		assert_true(hits[2].id == fresh && hits[2].text_rank == 0);

	/* Re-embedded after it: the builtin model, its buckets only. */
	assert_int_equal(count_model(user, RECALL_BUILTIN_MODEL), 3);
	p[0] = user;
	snprintf(sid, sizeof(sid), "%lld", (long long)old);
	p[1] = sid;
	assert_int_equal(sql_long("SELECT count(*) FROM memory_buckets WHERE "
	    "user_id = $1 AND memory_id = $2", 2, p), EMBED_LSH_TABLES);
	assert_int_equal(sql_long("SELECT count(*) FROM memory_buckets WHERE "
	    "user_id = $1 AND memory_id = $2 AND bucket IN (5, 32767)", 2, p),
	    0);
	assert_int_equal(sql_long("SELECT count(*) FROM memories WHERE "
	    "user_id = $1 AND embed_dim = 256 AND (SELECT cardinality("
	    "embedding) FROM memory_vectors WHERE memory_id = id) = 256", 1,
	    p), 3);

	/* Now with a cosine. */
	search(user, "do I keep bees?", 10, 0, &hits, &n);
	assert_true(n >= 2);
	for (i = 0; i < n; i++)
		if (hits[i].id == nul || hits[i].id == old)
			assert_true(hits[i].cosine > 0);
	arena_reset(AR);
}

/* At most RECALL_REEMBED_MAX a search. */
static void
test_stale_batch(void **state)
{
	struct recall_hit	*hits;
	char			 user[37], text[64];
	size_t			 n, i, total = RECALL_REEMBED_MAX + 8;

	(void)state;
	use_builtin();
	new_user("stale-batch", user);
	for (i = 0; i < total; i++) {
		snprintf(text, sizeof(text), "Visited museum number %zu", i);
		(void)add_stale(user, text, i % 2 ? "old-model" : NULL);
	}
	search(user, "which museums did I visit?", 5, 0, &hits, &n);
	assert_int_equal(n, 5);
	assert_int_equal(count_model(user, RECALL_BUILTIN_MODEL),
	    RECALL_REEMBED_MAX);
	search(user, "which museums did I visit?", 5, 0, &hits, &n);
	assert_int_equal(count_model(user, RECALL_BUILTIN_MODEL), total);
	arena_reset(AR);
}

/* ------------------------------------------------------------- empty */

static void
test_empty(void **state)
{
	static const char *const queries[] = { "", "   ", "?!", "\xe2\x80\x94" };
	struct recall_hit	*hits;
	const char		*p[2];
	char			 user[37], sid[24];
	int64_t			 id[4];
	size_t			 n, i, q;

	(void)state;
	use_builtin();
	new_user("empty", user);
	for (i = 0; i < 4; i++) {
		snprintf(sid, sizeof(sid), "Fact number %zu", i);
		id[i] = add_memory(user, sid);
	}
	/* The oldest changed last: the list follows updated_at. */
	p[0] = user;
	snprintf(sid, sizeof(sid), "%lld", (long long)id[0]);
	p[1] = sid;
	sql("UPDATE memories SET updated_at = now() + interval '1 minute' "
	    "WHERE user_id = $1 AND id = $2", 2, p, NULL, 0);
	for (q = 0; q < NELEM(queries); q++) {
		search(user, queries[q], 3, RECALL_MIN_PROMPT, &hits, &n);
		assert_int_equal(n, 3);
		assert_true(hits[0].id == id[0]);
		assert_true(hits[1].id == id[3]);
		assert_true(hits[2].id == id[2]);
		for (i = 0; i < n; i++)
			assert_true(hits[i].score == 0);
		assert_string_equal(hits[1].content, "Fact number 3");
	}
	search(user, NULL, 10, 0, &hits, &n);
	assert_int_equal(n, 4);
	search(user, "", 0, 0, &hits, &n);
	assert_int_equal(n, 0);
	arena_reset(AR);
}

/* ------------------------------------------------------------- remote */

/* The remote embedder down: full text alone, nothing re-embedded. */
static void
test_remote_down(void **state)
{
	struct recall_hit	*hits;
	struct recall_vec	 v;
	const char		*why;
	char			 user[37];
	int64_t			 id;
	size_t			 n;

	(void)state;
	use_builtin();
	new_user("remote-down", user);
	id = add_memory(user, "Sails a small boat on the lake");
	set_conf("embedding_provider", "openai");
	set_conf("llm_base_url", "http://127.0.0.1:1/v1");
	assert_int_equal(recall_embed(&A, AR, "boat", &v, &why),
	    APP_EUPSTREAM);
	assert_non_null(why);
	search(user, "do I have a boat?", 5, 0, &hits, &n);
	assert_int_equal(n, 1);
	assert_true(hits[0].id == id);
	assert_true(hits[0].cosine == 0 && hits[0].text_rank > 0.99);
	assert_int_equal(count_model(user, RECALL_BUILTIN_MODEL), 1);
	use_builtin();
	arena_reset(AR);
}

/* Another model configured: stale memories re-embedded in one batch. */
static void
test_remote_fake(void **state)
{
	struct recall_hit	*hits;
	char			 user[37], url[128];
	int64_t			 id;
	size_t			 n, i;

	(void)state;
	use_builtin();
	new_user("remote-fake", user);
	id = add_memory(user, "Plays the violin in an orchestra");
	for (i = 0; i < 5; i++)
		(void)add_memory(user, memories[i]);
	assert_int_equal(harness_fake_start(&H, NULL), 0);
	snprintf(url, sizeof(url), "%s/v1", H.fake_url);
	set_conf("embedding_provider", "openai");
	set_conf("embedding_model", "fake-embed");
	set_conf("llm_base_url", url);

	/* Builtin vectors count as missing: text finds the memory. */
	search(user, "which instrument do I play?", 3, 0, &hits, &n);
	assert_true(n >= 1 && hits[0].id == id);
	assert_true(hits[0].cosine == 0);
	assert_int_equal(count_model(user, "fake-embed"), 6);
	assert_int_equal(count_model(user, RECALL_BUILTIN_MODEL), 0);

	search(user, "do I play the violin?", 3, 0, &hits, &n);
	assert_true(n >= 1 && hits[0].id == id);
	assert_true(hits[0].cosine > 0);
	harness_fake_stop(&H);
	use_builtin();
	arena_reset(AR);
}

/* ------------------------------------------------------------- main */

static int
setup(void **state)
{
	(void)state;
	if (harness_init(&H, "test_recall") == -1 ||
	    harness_write_conf(&H, NULL) == -1 || harness_migrate(&H) != 0)
		return -1;
	if (conf_init(&C) == -1 || (AR = arena_create(65536)) == NULL)
		return -1;
	A.conf = &C;
	A.proc_slot = -1;
	return db_pool_create(H.dburl, 2, 10000, 5, NULL, &A.db) == APP_OK ?
	    0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	db_pool_destroy(A.db);
	arena_destroy(AR);
	conf_free(&C);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labelled),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_stale_batch),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_remote_down),
		cmocka_unit_test(test_remote_fake),
	};
	int	 rc;

	harness_main_init("test_recall");
	rc = cmocka_run_group_tests_name("test_recall", tests, setup,
	    teardown);
	return harness_main_fini(&H, rc);
}
