/*
 * test_embed.c: the builtin embedder, float4[] text, and /embeddings.
 *
 * Four groups. The builtin group checks what retrieval relies on:
 * determinism, unit length, the zero vector for featureless text, close
 * sentences closer than unrelated ones, case and accents folded, long
 * and broken text. The LSH group pins the bucket keys (stored keys must
 * stay valid), checks their range, the zero vector, SimHash's collision
 * rate at known angles, and that close sentences share more buckets. The float4[] group round-trips vectors and refuses
 * malformed arrays. The remote group runs embed_remote against a tiny
 * one-shot HTTP server in a thread, whose canned answers cover each
 * error, and against the fake upstream t/fakellm when the build tree is
 * known ($QUIPU_TEST_BUILDDIR), else those cases are skipped.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "arena.h"
#include "conf.h"
#include "embed.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ helpers */

static double
norm(const float *v, size_t dim)
{
	double	 s = 0;
	size_t	 i;

	for (i = 0; i < dim; i++)
		s += (double)v[i] * v[i];
	return sqrt(s);
}

static bool
is_zero(const float *v, size_t dim)
{
	size_t	 i;

	for (i = 0; i < dim; i++)
		if (v[i] != 0)
			return false;
	return true;
}

/* The builtin vector of a C string. */
static size_t
emb(const char *s, float v[EMBED_DIM])
{
	return embed_builtin(s, strlen(s), v, EMBED_DIM);
}

static float
sim(const char *a, const char *b)
{
	float	 va[EMBED_DIM], vb[EMBED_DIM];

	emb(a, va);
	emb(b, vb);
	return embed_cosine(va, vb, EMBED_DIM);
}

/* Same text after folding: the very same vector. */
static void
assert_same(const char *a, const char *b)
{
	float	 va[EMBED_DIM], vb[EMBED_DIM];

	assert_int_equal(emb(a, va), emb(b, vb));
	if (memcmp(va, vb, sizeof(va)) != 0)
		fail_msg("\"%s\" and \"%s\" differ", a, b);
}

/* ------------------------------------------------------------ builtin */

static void
test_deterministic(void **state)
{
	static const char	 t[] = "I love strong coffee in the morning";
	float			 a[EMBED_DIM], b[EMBED_DIM], c[EMBED_DIM];

	(void)state;
	assert_true(emb(t, a) > 0);
	emb("something else entirely", c);	/* no state carried over */
	emb(t, b);
	assert_memory_equal(a, b, sizeof(a));
	/* The same hashing whatever the buffer held before. */
	memset(b, 0x7f, sizeof(b));
	emb(t, b);
	assert_memory_equal(a, b, sizeof(a));
	/* Only len bytes are read. */
	assert_int_equal(embed_builtin("coffee tea", 6, b, EMBED_DIM),
	    emb("coffee", c));
	assert_memory_equal(b, c, sizeof(b));
}

static void
test_normalised(void **state)
{
	static const char *const texts[] = {
		"a", "coffee", "I love strong coffee",
		"My flight leaves at nine from Gate 12",
		"x y z 1 2 3", "Ünïcödé ŵörds ïn ä séntençe", "日本語のテキスト",
		"Привет, мир!",
	};
	float	 v[EMBED_DIM], small[7];
	size_t	 i;

	(void)state;
	for (i = 0; i < NELEM(texts); i++) {
		assert_true(emb(texts[i], v) > 0);
		assert_true(fabs(norm(v, EMBED_DIM) - 1) < 1e-5);
		/* Any dimension, even one smaller than the features. */
		assert_true(embed_builtin(texts[i], strlen(texts[i]), small,
		    NELEM(small)) > 0);
		assert_true(fabs(norm(small, NELEM(small)) - 1) < 1e-5);
	}
}

static void
test_features(void **state)
{
	float	 v[EMBED_DIM];

	(void)state;
	/* A word and its 3-grams: ^co cof off ffe fee ee$. */
	assert_int_equal(emb("coffee", v), 1 + 6);
	/* One letter: the word and ^a$... but "a" is a stop word, alone. */
	assert_int_equal(emb("a", v), 1);
	assert_int_equal(emb("x", v), 1 + 1);
	/* Digits are word characters; punctuation separates. */
	assert_int_equal(emb("42", v), 1 + 2);
	assert_int_equal(emb("coffee, coffee!", v), 2 * 7);
	/* Stop words count once and weigh little. */
	assert_int_equal(emb("the coffee", v), 1 + 7);
	assert_true(sim("the coffee", "coffee") > 0.95f);
	/* dim 0: nothing written, 0 returned. */
	assert_int_equal(embed_builtin("coffee", 6, v, 0), 0);
}

static void
test_empty(void **state)
{
	static const char *const texts[] = {
		"", "   ", " \t\r\n", ".,;:!?-()[]{}\"'", "\xe2\x80\x94 \xe2\x80\xa6",
		"\xf0\x9f\x8e\x89\xf0\x9f\x98\x80", "\xc2\xa0\xc2\xbf\xc3\x97",
		"\xff\xfe\x80\xc0\xaf", "\xcc\x81\xcc\x88",
	};
	float	 v[EMBED_DIM];
	size_t	 i;

	(void)state;
	for (i = 0; i < NELEM(texts); i++) {
		memset(v, 0x7f, sizeof(v));
		assert_int_equal(emb(texts[i], v), 0);
		assert_true(is_zero(v, EMBED_DIM));
	}
	memset(v, 0x7f, sizeof(v));
	assert_int_equal(embed_builtin(NULL, 0, v, EMBED_DIM), 0);
	assert_true(is_zero(v, EMBED_DIM));
	/* A NUL byte is a separator, not an end. */
	assert_int_equal(embed_builtin("\0\0coffee", 8, v, EMBED_DIM), 7);
}

static void
test_similar(void **state)
{
	float	 close, far;

	(void)state;
	close = sim("I love strong coffee", "I really love coffee");
	far = sim("I love strong coffee", "my flight leaves at nine");
	assert_true(close > far);
	assert_true(close > 0.4f);
	assert_true(fabs(far) < 0.25f);
	/* n-grams: an inflection or a typo stays close. */
	assert_true(sim("I have two cats", "my cat") >
	    sim("I have two cats", "my dog"));
	assert_true(sim("vegetarian", "vegeterian") > 0.4f);
	assert_true(sim("I work at Acme as an engineer",
	    "my job: engineer at acme") > sim("I work at Acme as an engineer",
	    "I live in Lisbon"));
	/* A text is most similar to itself. */
	assert_true(fabs(sim("my flight leaves at nine",
	    "my flight leaves at nine") - 1) < 1e-5);
}

static void
test_fold(void **state)
{
	(void)state;
	assert_same("I LOVE Coffee", "i love coffee");
	assert_same("Café crème brûlée", "cafe creme brulee");
	assert_same("CAFÉ", "café");
	assert_same("cafe\xcc\x81", "café");		/* decomposed */
	assert_same("Łódź, Kraków", "lodz krakow");
	assert_same("ÀÉÎÕÜÇÑ", "aeioucn");
	assert_same("Straße", "STRAßE");		/* ß kept, no capital */
	assert_same("ΚΑΛΗΜΕΡΑ", "καλημερα");
	assert_same("ПРИВЕТ ЁЖ", "привет ёж");
	assert_same("ＣＯＦＦＥＥ １２", "coffee 12");	/* fullwidth */
	assert_same("coffee\xe2\x80\x94tea", "coffee tea");	/* em dash */
	assert_same("coffee\xfftea", "coffee tea");	/* invalid byte */
	assert_same("coffee\xc3", "coffee");		/* cut sequence */
	assert_same("coffee\xed\xa0\x80tea", "coffee tea");	/* surrogate */
	assert_same("coffee\xc0\xaftea", "coffee tea");	/* overlong */
	assert_same("coffee \xf0\x9f\x98\x80 tea", "coffee tea");	/* emoji */
	/* Other scripts are letters of their own. */
	assert_true(emb("東京", (float[EMBED_DIM]){ 0 }) == 1 + 2);
	assert_true(sim("coffee", "cöffee") > 0.99f);
	assert_true(sim("日本語のテキスト", "日本語の本") > 0.2f);
}

static void
test_long(void **state)
{
	static const char	 words[] = "remember that my sister lives in "
	    "Porto and loves green tea ";
	float			 v[EMBED_DIM], w[EMBED_DIM];
	size_t			 len = 1 << 20, i, n;
	char			*t;

	(void)state;
	assert_non_null(t = malloc(len + 1));
	for (i = 0; i < len; i++)
		t[i] = words[i % (sizeof(words) - 1)];
	t[len] = '\0';
	n = emb(t, v);
	assert_true(n > len / 8);
	assert_true(fabs(norm(v, EMBED_DIM) - 1) < 1e-5);
	/* Many copies point where one does. */
	emb(words, w);
	assert_true(embed_cosine(v, w, EMBED_DIM) > 0.99f);
	/* One word of a million letters: its 3-grams, no buffer. */
	memset(t, 'a', len);
	assert_int_equal(emb(t, v), 1 + len);
	assert_true(fabs(norm(v, EMBED_DIM) - 1) < 1e-5);
	/* A million 2-byte letters and combining marks. */
	for (i = 0; i + 1 < len; i += 2)
		memcpy(t + i, i % 4 == 0 ? "\xc3\xa9" : "\xcc\x81", 2);
	assert_true(emb(t, v) > 0);
	assert_true(fabs(norm(v, EMBED_DIM) - 1) < 1e-5);
	free(t);
}

static void
test_cosine(void **state)
{
	float	 a[EMBED_DIM], z[EMBED_DIM] = { 0 };
	float	 x[2] = { 1, 0 }, y[2] = { 0, 1 }, m[2] = { -1, 0 };
	float	 big[2] = { 1.0000001f, 0 };

	(void)state;
	emb("coffee", a);
	assert_true(fabs(embed_cosine(a, a, EMBED_DIM) - 1) < 1e-5);
	assert_true(embed_cosine(a, z, EMBED_DIM) == 0);
	assert_true(embed_cosine(z, z, EMBED_DIM) == 0);
	assert_true(embed_cosine(x, y, 2) == 0);
	assert_true(embed_cosine(x, m, 2) == -1);
	assert_true(embed_cosine(big, big, 2) == 1);	/* clamped */
	assert_true(embed_cosine(a, a, 0) == 0);
}

/* ------------------------------------------------------------ LSH */

#define LSH_PI	3.14159265358979323846

/* A fixed PRNG for the tests' random vectors (xorshift64*). */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* A standard normal deviate (Box-Muller), for isotropic vectors. */
static double
gauss(uint64_t *s)
{
	double	 u = ((double)(rnd(s) >> 11) + 0.5) / 9007199254740992.0;
	double	 v = (double)(rnd(s) >> 11) / 9007199254740992.0;

	return sqrt(-2 * log(u)) * cos(2 * LSH_PI * v);
}

/* How many keys two key sets share (keys are per table, so by index). */
static size_t
shared(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	size_t	 i, n = 0;

	for (i = 0; i < na && i < nb; i++)
		n += a[i] == b[i];
	return n;
}

static size_t
shared_text(const char *x, const char *y)
{
	float	 a[EMBED_DIM], b[EMBED_DIM];
	int32_t	 ka[EMBED_LSH_TABLES], kb[EMBED_LSH_TABLES];

	emb(x, a);
	emb(y, b);
	return shared(ka, embed_lsh(a, EMBED_DIM, ka), kb,
	    embed_lsh(b, EMBED_DIM, kb));
}

static void
assert_keys_ok(const int32_t *k, size_t n)
{
	size_t	 i;

	assert_int_equal(n, EMBED_LSH_TABLES);
	for (i = 0; i < n; i++) {
		assert_true(k[i] >= 0 && k[i] < EMBED_LSH_KEYS);
		assert_int_equal(k[i] >> EMBED_LSH_BITS, (int32_t)i);
	}
}

static void
test_lsh_deterministic(void **state)
{
	/* Pinned: stored buckets must stay valid across builds. */
	static const int32_t gold[EMBED_LSH_TABLES] = {
		27, 1549, 2507, 3337, 4119, 5130, 6894, 7291, 8326, 9586,
		10281, 12173, 12835, 13425, 14686, 16184, 16442, 17560, 18880,
		19901, 20739, 22412, 22798, 24343, 24781, 26421, 27145, 27904,
		29240, 30692, 31277, 32521,
	};
	static const int32_t gold1536[4] = { 634, 2038, 2878, 3529 };
	uint64_t	 seed = 42;
	float		 v[EMBED_DIM], w[1536];
	int32_t		 k[EMBED_LSH_TABLES], k2[EMBED_LSH_TABLES];
	size_t		 i;

	(void)state;
	emb("I live in Paris with my dog Rex", v);
	assert_keys_ok(k, embed_lsh(v, EMBED_DIM, k));
	assert_memory_equal(k, gold, sizeof(gold));
	memset(k2, 0x7f, sizeof(k2));
	assert_int_equal(embed_lsh(v, EMBED_DIM, k2), EMBED_LSH_TABLES);
	assert_memory_equal(k, k2, sizeof(k));
	/* A direction: a positive scale changes nothing. */
	for (i = 0; i < EMBED_DIM; i++)
		v[i] *= 3.5f;
	assert_int_equal(embed_lsh(v, EMBED_DIM, k2), EMBED_LSH_TABLES);
	assert_memory_equal(k, k2, sizeof(k));
	/* Any dimension: a remote model's 1536. */
	for (i = 0; i < 1536; i++)
		w[i] = (float)((i * 7919) % 13) - 6.0f;
	assert_keys_ok(k, embed_lsh(w, 1536, k));
	assert_memory_equal(k, gold1536, sizeof(gold1536));
	/*
	 * The opposite vector flips every bit of every key (a random one:
	 * builtin vectors may sit exactly on a hyperplane, bit 0 both ways).
	 */
	for (i = 0; i < EMBED_DIM; i++)
		v[i] = (float)gauss(&seed);
	assert_keys_ok(k, embed_lsh(v, EMBED_DIM, k));
	for (i = 0; i < EMBED_DIM; i++)
		v[i] = -v[i];
	assert_int_equal(embed_lsh(v, EMBED_DIM, k2), EMBED_LSH_TABLES);
	for (i = 0; i < EMBED_LSH_TABLES; i++)
		assert_int_equal(k2[i], k[i] ^ ((1 << EMBED_LSH_BITS) - 1));
}

static void
test_lsh_zero(void **state)
{
	float	 v[EMBED_DIM];
	int32_t	 k[EMBED_LSH_TABLES];

	(void)state;
	memset(v, 0, sizeof(v));
	k[0] = -1;
	assert_int_equal(embed_lsh(v, EMBED_DIM, k), 0);
	assert_int_equal(k[0], -1);
	assert_int_equal(embed_lsh(v, 0, k), 0);
	emb("?!", v);
	assert_int_equal(embed_lsh(v, EMBED_DIM, k), 0);
	/* One component is enough for a direction. */
	v[200] = -1e-30f;
	assert_keys_ok(k, embed_lsh(v, EMBED_DIM, k));
}

/*
 * SimHash's promise: vectors at angle t share a table's key with
 * probability (1 - t/pi)^bits. Pairs of random 256-dimensional vectors
 * at a set cosine, averaged.
 */
static double
mean_shared(double cosine, size_t dim, size_t pairs, uint64_t *seed)
{
	float	 a[1536], b[1536], r;
	int32_t	 ka[EMBED_LSH_TABLES], kb[EMBED_LSH_TABLES];
	double	 na, nr, dot, total = 0;
	size_t	 p, i;

	for (p = 0; p < pairs; p++) {
		na = nr = dot = 0;
		for (i = 0; i < dim; i++) {
			a[i] = (float)gauss(seed);
			na += (double)a[i] * a[i];
		}
		/* b = cosine * a/|a| + sin * (unit r orthogonal to a) */
		for (i = 0; i < dim; i++) {
			a[i] = (float)(a[i] / sqrt(na));
			b[i] = (float)gauss(seed);
			dot += (double)a[i] * b[i];
		}
		for (i = 0; i < dim; i++) {
			r = (float)(b[i] - dot * a[i]);
			b[i] = r;
			nr += (double)r * r;
		}
		for (i = 0; i < dim; i++)
			b[i] = (float)(cosine * a[i] +
			    sqrt(1 - cosine * cosine) * b[i] / sqrt(nr));
		total += (double)shared(ka, embed_lsh(a, dim, ka), kb,
		    embed_lsh(b, dim, kb));
	}
	return total / (double)pairs;
}

static void
test_lsh_collisions(void **state)
{
	static const double cosines[] = { 0.95, 0.9, 0.7, 0.5, 0 };
	uint64_t	 seed = 0x2545f4914f6cdd1dull;
	double		 want, got;
	size_t		 i;

	(void)state;
	for (i = 0; i < NELEM(cosines); i++) {
		want = EMBED_LSH_TABLES * pow(1 - acos(cosines[i]) / LSH_PI,
		    EMBED_LSH_BITS);
		got = mean_shared(cosines[i], EMBED_DIM, 200, &seed);
		if (fabs(got - want) > 0.15 * want + 0.1)
			fail_msg("cosine %.2f: %.2f keys shared, expected "
			    "%.2f", cosines[i], got, want);
	}
	/* The same in 1536 dimensions. */
	want = EMBED_LSH_TABLES * pow(1 - acos(0.9) / LSH_PI, EMBED_LSH_BITS);
	got = mean_shared(0.9, 1536, 50, &seed);
	assert_true(fabs(got - want) < 0.15 * want + 0.1);
}

/* On builtin vectors: close sentences share more buckets. */
static void
test_lsh_similar(void **state)
{
	static const char *const close[][2] = {
		{ "I love strong coffee", "I really love coffee" },
		{ "My dog is named Rex", "my dog's name is Rex" },
		{ "I live in Paris", "I live in Paris, France" },
		{ "I work as a nurse at the hospital",
		    "I work as a nurse in a hospital" },
	};
	static const char *const far[][2] = {
		{ "I love strong coffee", "my flight leaves at nine" },
		{ "My dog is named Rex", "I work as a nurse at the hospital" },
		{ "I live in Paris", "quantum entanglement explained" },
		{ "I work as a nurse at the hospital", "buy milk and eggs" },
	};
	size_t	 i, nclose = 0, nfar = 0;

	(void)state;
	for (i = 0; i < NELEM(close); i++)
		nclose += shared_text(close[i][0], close[i][1]);
	for (i = 0; i < NELEM(far); i++)
		nfar += shared_text(far[i][0], far[i][1]);
	if (nclose < 4 * NELEM(close) || nfar > NELEM(far))
		fail_msg("close pairs share %zu keys, far ones %zu", nclose,
		    nfar);
	assert_int_equal(shared_text("I live in Paris", "I live in Paris"),
	    EMBED_LSH_TABLES);
}

/* ------------------------------------------------------------ float4[] */

static void
test_pg_roundtrip(void **state)
{
	struct arena	*ar;
	float		 v[EMBED_DIM], w[EMBED_DIM];
	float		 small[3] = { 0.125f, -0.5f, 1e-05f };
	float		 odd[4] = { NAN, INFINITY, -0.0f, -1.17549435e-38f };
	char		*s;
	size_t		 i;

	(void)state;
	assert_non_null(ar = arena_create(4096));
	assert_non_null(s = embed_to_pg(ar, small, 3));
	assert_string_equal(s, "{0.125,-0.5,1e-05}");
	emb("I love strong coffee", v);
	assert_non_null(s = embed_to_pg(ar, v, EMBED_DIM));
	assert_true(s[0] == '{' && s[strlen(s) - 1] == '}');
	assert_null(strchr(s, ' '));
	assert_int_equal(embed_from_pg(s, w, EMBED_DIM), APP_OK);
	for (i = 0; i < EMBED_DIM; i++)
		assert_true(fabs(v[i] - w[i]) <= 6e-6 * fabs(v[i]) + 1e-12);
	assert_true(fabs(embed_cosine(v, w, EMBED_DIM) - 1) < 1e-5);
	/* Non-finite values are written as 0, and everything reads back. */
	assert_non_null(s = embed_to_pg(ar, odd, 4));
	assert_int_equal(embed_from_pg(s, w, 4), APP_OK);
	assert_true(w[0] == 0 && w[1] == 0 && w[2] == 0);
	assert_true(w[3] < 0 && w[3] > -1.2e-38f);
	/* Empty. */
	assert_non_null(s = embed_to_pg(ar, v, 0));
	assert_string_equal(s, "{}");
	assert_int_equal(embed_from_pg(s, w, 0), APP_OK);
	arena_destroy(ar);
}

static void
test_pg_forms(void **state)
{
	float	 w[4];

	(void)state;
	/* What PostgreSQL prints, and what its input accepts. */
	assert_int_equal(embed_from_pg("{1,-2.5e-3,.5,1.}", w, 4), APP_OK);
	assert_true(w[0] == 1 && fabs(w[1] + 0.0025) < 1e-9 &&
	    w[2] == 0.5f && w[3] == 1);
	assert_int_equal(embed_from_pg(" { +3 , 1E+2,\t-0 ,\n4e-50 } ", w, 4),
	    APP_OK);
	assert_true(w[0] == 3 && w[1] == 100 && w[2] == 0 && w[3] == 0);
	assert_int_equal(embed_from_pg("{3.4028234e+38}", w, 1), APP_OK);
	assert_int_equal(embed_from_pg("{}", w, 0), APP_OK);
	assert_int_equal(embed_from_pg(" {  } ", w, 0), APP_OK);
}

static void
test_pg_malformed(void **state)
{
	static const char *const bad2[] = {
		"", " ", "{", "}", "{1,2", "1,2}", "{1,,2}", "{1,2,}", "{,1,2}",
		"[1,2]", "(1,2)", "{1 2}", "{1;2}", "{1,2} x", "{1,2}}",
		"{{1,2}}", "{\"1\",2}", "{NULL,1}", "{null,1}", "{NaN,1}",
		"{nan,1}", "{Infinity,1}", "{-Infinity,1}", "{inf,1}",
		"{0x10,1}", "{1e39,0}", "{-1e39,0}", "{1e99999,0}", "{-,1}",
		"{.,1}", "{1e,1}", "{1e+,1}", "{1.2.3,1}", "{1e2e3,1}",
		"{1,2,3}", "{1}", "{}", "{ 1 , 2 , }", "{1,2}\x01", "{1\0,2}",
		"{1,2", "{+,1}", "{1 ,2 ,3}", "{--1,2}", "{1,2}{3,4}",
	};
	float	 w[2];
	size_t	 i;

	(void)state;
	for (i = 0; i < NELEM(bad2); i++)
		if (embed_from_pg(bad2[i], w, 2) != APP_EINVAL)
			fail_msg("accepted \"%s\"", bad2[i]);
	assert_int_equal(embed_from_pg(NULL, w, 2), APP_EINVAL);
	assert_int_equal(embed_from_pg("{1}", w, 0), APP_EINVAL);
}

/* ------------------------------------------------------------ server */

/* A one-shot HTTP server: answers one request with a canned answer. */
struct srv {
	int		 lfd;
	int		 port;
	pthread_t	 th;
	int		 status;
	const char	*body;
	int		 delay_ms;
	char		 req[1 << 16];	/* the request, head and body */
	size_t		 reqlen;
	const char	*reqbody;
};

/* Reads one request: the head, then Content-Length bytes. */
static void
srv_read(struct srv *s, int fd)
{
	const char	*hend, *cl;
	size_t		 want = 0;
	ssize_t		 r;

	while (s->reqlen < sizeof(s->req) - 1) {
		if ((r = read(fd, s->req + s->reqlen, sizeof(s->req) - 1 -
		    s->reqlen)) <= 0)
			break;
		s->reqlen += (size_t)r;
		s->req[s->reqlen] = '\0';
		if ((hend = strstr(s->req, "\r\n\r\n")) == NULL)
			continue;
		s->reqbody = hend + 4;
		if ((cl = strstr(s->req, "Content-Length: ")) != NULL)
			want = (size_t)(s->reqbody - s->req) +
			    strtoul(cl + 16, NULL, 10);
		if (s->reqlen >= want)
			break;
	}
}

static void *
srv_main(void *arg)
{
	struct srv	*s = arg;
	char		 head[256];
	int		 fd, n;

	if ((fd = accept(s->lfd, NULL, NULL)) == -1)
		return NULL;
	srv_read(s, fd);
	if (s->delay_ms > 0)
		(void)nanosleep(&(struct timespec){ s->delay_ms / 1000,
		    (long)(s->delay_ms % 1000) * 1000000 }, NULL);
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n", s->status, strlen(s->body));
	/* The client may have given up: no SIGPIPE. */
	(void)send(fd, head, (size_t)n, MSG_NOSIGNAL);
	(void)send(fd, s->body, strlen(s->body), MSG_NOSIGNAL);
	close(fd);
	return NULL;
}

static void
srv_start(struct srv *s, int status, const char *body)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->status = status;
	s->body = body;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((s->lfd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sin, &sl),
	    0);
	s->port = ntohs(sin.sin_port);
}

static void
srv_run(struct srv *s)
{
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void
srv_stop(struct srv *s)
{
	/* Wakes an accept() that never got a client. */
	(void)shutdown(s->lfd, SHUT_RDWR);
	assert_int_equal(pthread_join(s->th, NULL), 0);
	close(s->lfd);
}

/* A configuration pointing at 127.0.0.1:port. */
static void
conf_for(struct conf *c, int port, const char *key)
{
	char	 url[64], err[256];

	assert_int_equal(conf_init(c), 0);
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/", port);
	if (conf_set(c, "llm_base_url", url, err, sizeof(err)) == -1 ||
	    conf_set(c, "embedding_model", "emb-test", err, sizeof(err)) ==
	    -1 || conf_set(c, "llm_timeout", "1", err, sizeof(err)) == -1 ||
	    conf_set(c, "llm_connect_timeout", "1", err, sizeof(err)) == -1)
		fail_msg("conf_set: %s", err);
	if (key != NULL)
		assert_non_null(c->llm_key = strdup(key));
}

/* embed_remote of `texts' against a server answering status and body. */
static enum app_err
remote(struct srv *s, struct arena *ar, int status, const char *body,
    const char *const *texts, size_t n, float **out, size_t *dim,
    const char **why)
{
	struct conf	 c;
	enum app_err	 e;

	srv_start(s, status, body);
	conf_for(&c, s->port, NULL);
	srv_run(s);
	e = embed_remote(&c, ar, texts, n, out, dim, why);
	srv_stop(s);
	conf_free(&c);
	return e;
}

/* ------------------------------------------------------------ remote */

static const char *const two[] = { "I love coffee", "my flight" };

static void
test_remote_ok(void **state)
{
	struct srv		 s;
	struct conf		 c;
	struct arena		*ar;
	struct json_object	*o, *in;
	float			*v;
	size_t			 dim;
	const char		*why;

	(void)state;
	assert_non_null(ar = arena_create(4096));
	srv_start(&s, 200, "{\"object\":\"list\",\"data\":["
	    "{\"object\":\"embedding\",\"index\":1,\"embedding\":[0,2,0]},"
	    "{\"object\":\"embedding\",\"index\":0,\"embedding\":[3,-4.0,0e0]}"
	    "],\"model\":\"emb-test\"}");
	conf_for(&c, s.port, "sk-test-key");
	srv_run(&s);
	assert_int_equal(embed_remote(&c, ar, two, 2, &v, &dim, &why),
	    APP_OK);
	srv_stop(&s);
	assert_null(why);
	assert_int_equal(dim, 3);
	/* In the order of the indexes, normalised. */
	assert_true(fabs(v[0] - 0.6) < 1e-6 && fabs(v[1] + 0.8) < 1e-6 &&
	    v[2] == 0);
	assert_true(v[3] == 0 && v[4] == 1 && v[5] == 0);
	/* What was sent. */
	assert_true(strncmp(s.req, "POST /v1/embeddings HTTP/1.1\r\n", 30) ==
	    0);
	assert_non_null(strstr(s.req, "\r\nAuthorization: Bearer "
	    "sk-test-key\r\n"));
	assert_non_null(strstr(s.req, "\r\nContent-Type: application/json"
	    "\r\n"));
	assert_non_null(s.reqbody);
	assert_non_null(o = json_tokener_parse(s.reqbody));
	assert_string_equal(json_object_get_string(json_object_object_get(o,
	    "model")), "emb-test");
	in = json_object_object_get(o, "input");
	assert_true(json_object_is_type(in, json_type_array));
	assert_int_equal(json_object_array_length(in), 2);
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(in, 0)), "I love coffee");
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(in, 1)), "my flight");
	json_object_put(o);
	conf_free(&c);
	arena_destroy(ar);
}

static void
test_remote_noindex(void **state)
{
	struct srv	 s;
	struct arena	*ar;
	float		*v;
	size_t		 dim;
	const char	*why;

	(void)state;
	assert_non_null(ar = arena_create(4096));
	/* No index: by position; a zero vector stays zero. No key sent. */
	assert_int_equal(remote(&s, ar, 200, "{\"data\":[{\"embedding\":"
	    "[1,1]},{\"embedding\":[0,0]}]}", two, 2, &v, &dim, &why), APP_OK);
	assert_int_equal(dim, 2);
	assert_true(fabs(v[0] - M_SQRT1_2) < 1e-6 &&
	    fabs(v[1] - M_SQRT1_2) < 1e-6);
	assert_true(v[2] == 0 && v[3] == 0);
	assert_null(strstr(s.req, "Authorization"));
	/* Nothing to embed: nothing sent. */
	v = (float *)1;
	assert_int_equal(embed_remote(NULL, ar, NULL, 0, &v, &dim, &why),
	    APP_OK);
	assert_null(v);
	assert_int_equal(dim, 0);
	arena_destroy(ar);
}

/* Each bad answer: APP_EUPSTREAM, nothing out, *why containing `want'. */
static void
test_remote_bad(void **state)
{
	static const struct {
		int		 status;
		const char	*body;
		const char	*want;
	} cases[] = {
		{ 500, "{\"error\":{\"message\":\"Incorrect API key provided: "
		    "sk-abc***xyz\"}}", "HTTP 500" },
		{ 401, "{}", "HTTP 401" },
		{ 404, "not found", "HTTP 404" },
		{ 200, "{\"data\": [", "not JSON" },
		{ 200, "", "not JSON" },
		{ 200, "{\"data\":[1,2]} trailing", "not JSON" },
		{ 200, "[]", "no data" },
		{ 200, "{}", "no data" },
		{ 200, "{\"data\":{}}", "no data" },
		{ 200, "{\"data\":[{\"embedding\":[1]}]}", "1 vectors for 2" },
		{ 200, "{\"data\":[]}", "0 vectors for 2" },
		{ 200, "{\"data\":[{\"embedding\":[1]},{\"embedding\":[1]},"
		    "{\"embedding\":[1]}]}", "3 vectors for 2" },
		{ 200, "{\"data\":[{\"embedding\":[1,2]},{\"embedding\":[1]}]}",
		    "different lengths" },
		{ 200, "{\"data\":[{\"embedding\":[]},{\"embedding\":[]}]}",
		    "dimensions" },
		{ 200, "{\"data\":[{\"embedding\":\"AAAA\"},{\"embedding\":"
		    "\"AAAA\"}]}", "no vector" },
		{ 200, "{\"data\":[{\"embedding\":[1]},{}]}", "no vector" },
		{ 200, "{\"data\":[1,2]}", "no vector" },
		{ 200, "{\"data\":[{\"embedding\":[1]},{\"embedding\":[\"x\"]}]}",
		    "not numbers" },
		{ 200, "{\"data\":[{\"embedding\":[1]},{\"embedding\":[null]}]}",
		    "not numbers" },
		{ 200, "{\"data\":[{\"embedding\":[1]},{\"embedding\":[1e999]}]}",
		    "not numbers" },
		{ 200, "{\"data\":[{\"embedding\":[1]},{\"embedding\":[[1]]}]}",
		    "not numbers" },
		{ 200, "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,"
		    "\"embedding\":[1]}]}", "bad index" },
		{ 200, "{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":2,"
		    "\"embedding\":[1]}]}", "bad index" },
		{ 200, "{\"data\":[{\"index\":-1,\"embedding\":[1]},{\"index\":1,"
		    "\"embedding\":[1]}]}", "bad index" },
		{ 200, "{\"data\":[{\"index\":\"0\",\"embedding\":[1]},"
		    "{\"index\":1,\"embedding\":[1]}]}", "bad index" },
		{ 200, "{\"data\":[{\"index\":0.5,\"embedding\":[1]},"
		    "{\"index\":1,\"embedding\":[1]}]}", "bad index" },
	};
	struct srv	 s;
	struct arena	*ar;
	float		*v;
	size_t		 dim, i;
	const char	*why;

	(void)state;
	assert_non_null(ar = arena_create(4096));
	for (i = 0; i < NELEM(cases); i++) {
		if (remote(&s, ar, cases[i].status, cases[i].body, two, 2, &v,
		    &dim, &why) != APP_EUPSTREAM)
			fail_msg("case %zu (%s) not refused", i, cases[i].body);
		assert_null(v);
		assert_int_equal(dim, 0);
		assert_non_null(why);
		if (strstr(why, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, why,
			    cases[i].want);
		assert_null(strstr(why, "sk-"));
	}
	arena_destroy(ar);
}

/* A 4097-dimension answer; and one of exactly 4096, accepted. */
static void
test_remote_maxdim(void **state)
{
	struct srv	 s;
	struct arena	*ar;
	char		*body;
	float		*v;
	size_t		 dim, i, off;
	const char	*why, *one[] = { "x" };

	(void)state;
	assert_non_null(ar = arena_create(4096));
	assert_non_null(body = malloc(64 + 2 * (EMBED_MAX_DIM + 1)));
	off = (size_t)sprintf(body, "{\"data\":[{\"embedding\":[1");
	for (i = 1; i < EMBED_MAX_DIM; i++)
		off += (size_t)sprintf(body + off, ",0");
	strcpy(body + off, "]}]}");
	assert_int_equal(remote(&s, ar, 200, body, one, 1, &v, &dim, &why),
	    APP_OK);
	assert_int_equal(dim, EMBED_MAX_DIM);
	assert_true(v[0] == 1);
	strcpy(body + off, ",0]}]}");
	assert_int_equal(remote(&s, ar, 200, body, one, 1, &v, &dim, &why),
	    APP_EUPSTREAM);
	assert_non_null(strstr(why, "4096"));
	free(body);
	arena_destroy(ar);
}

static void
test_remote_toolong(void **state)
{
	struct srv	 s;
	struct conf	 c;
	struct arena	*ar;
	char		*body, err[256];
	float		*v;
	size_t		 dim;
	const char	*why;

	(void)state;
	assert_non_null(ar = arena_create(4096));
	assert_non_null(body = malloc(4096));
	memset(body, ' ', 4095);
	body[4095] = '\0';
	srv_start(&s, 200, body);
	conf_for(&c, s.port, NULL);
	assert_int_equal(conf_set(&c, "llm_max_response", "1024", err,
	    sizeof(err)), 0);
	srv_run(&s);
	assert_int_equal(embed_remote(&c, ar, two, 2, &v, &dim, &why),
	    APP_EUPSTREAM);
	srv_stop(&s);
	assert_non_null(strstr(why, "too long"));
	conf_free(&c);
	free(body);
	arena_destroy(ar);
}

static void
test_remote_unreachable(void **state)
{
	struct srv	 s;
	struct conf	 c;
	struct arena	*ar;
	float		*v;
	size_t		 dim;
	const char	*why;

	(void)state;
	assert_non_null(ar = arena_create(4096));
	/* A port that was just free: connection refused. */
	srv_start(&s, 200, "{}");
	close(s.lfd);
	conf_for(&c, s.port, "sk-test-key");
	assert_int_equal(embed_remote(&c, ar, two, 2, &v, &dim, &why),
	    APP_EUPSTREAM);
	assert_non_null(strstr(why, "cannot reach the embedding service"));
	assert_null(strstr(why, "sk-"));
	assert_null(v);
	conf_free(&c);
	arena_destroy(ar);
}

static void
test_remote_timeout(void **state)
{
	struct srv	 s;
	struct conf	 c;
	struct arena	*ar;
	float		*v;
	size_t		 dim;
	const char	*why;

	(void)state;
	assert_non_null(ar = arena_create(4096));
	srv_start(&s, 200, "{\"data\":[{\"embedding\":[1]},{\"embedding\":"
	    "[1]}]}");
	s.delay_ms = 1500;	/* llm_timeout is 1 s */
	conf_for(&c, s.port, NULL);
	srv_run(&s);
	assert_int_equal(embed_remote(&c, ar, two, 2, &v, &dim, &why),
	    APP_EUPSTREAM);
	srv_stop(&s);
	assert_non_null(strstr(why, "in time"));
	conf_free(&c);
	arena_destroy(ar);
}

/* ------------------------------------------------------------ fakellm */

struct fake {
	pid_t	 pid;
	int	 fd;	/* its stdout */
	int	 port;
};

/* Starts t/fakellm -k key; false when it is not there. */
static bool
fake_start(struct fake *f, const char *key)
{
	const char	*dir;
	char		 path[4096], line[128];
	struct pollfd	 pfd;
	size_t		 n = 0;
	ssize_t		 r;
	int		 p[2], waits = 0;

	f->pid = -1;
	if ((dir = getenv("QUIPU_TEST_BUILDDIR")) == NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s/t/fakellm", dir) >=
	    sizeof(path) || access(path, X_OK) == -1 || pipe(p) == -1)
		return false;
	if ((f->pid = fork()) == -1)
		return false;
	if (f->pid == 0) {
#ifdef __linux__
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
		if (dup2(p[1], STDOUT_FILENO) == -1)
			_exit(127);
		close(p[0]);
		close(p[1]);
		execl(path, path, "-l", "127.0.0.1:0", "-k", key, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f->fd = p[0];
	while (n < sizeof(line) - 1 && memchr(line, '\n', n) == NULL &&
	    waits++ < 50) {
		pfd.fd = f->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((r = read(f->fd, line + n, sizeof(line) - 1 - n)) <= 0)
			break;
		n += (size_t)r;
	}
	line[n] = '\0';
	if (sscanf(line, "listening 127.0.0.1:%d", &f->port) != 1)
		fail_msg("t/fakellm did not start: \"%s\"", line);
	return true;
}

static void
fake_stop(struct fake *f)
{
	(void)kill(f->pid, SIGTERM);
	(void)waitpid(f->pid, NULL, 0);
	close(f->fd);
}

static void
test_remote_fakellm(void **state)
{
	static const char *const texts[] = { "I love strong coffee",
	    "I really love coffee", "my flight leaves at nine" };
	static const char *const swapped[] = { "my flight leaves at nine",
	    "I love strong coffee" };
	struct fake	 f;
	struct conf	 c;
	struct arena	*ar;
	float		*v, *w;
	size_t		 dim, i;
	const char	*why;

	(void)state;
	if (!fake_start(&f, "sk-fake"))
		skip();
	assert_non_null(ar = arena_create(4096));
	conf_for(&c, f.port, "sk-fake");
	assert_int_equal(embed_remote(&c, ar, texts, 3, &v, &dim, &why),
	    APP_OK);
	assert_int_equal(dim, 64);
	for (i = 0; i < 3; i++)
		assert_true(fabs(norm(v + i * dim, dim) - 1) < 1e-5);
	assert_true(embed_cosine(v, v + dim, dim) >
	    embed_cosine(v, v + 2 * dim, dim));
	/* Each text keeps its vector whatever its place. */
	assert_int_equal(embed_remote(&c, ar, swapped, 2, &w, &dim, &why),
	    APP_OK);
	assert_memory_equal(w, v + 2 * dim, dim * sizeof(float));
	assert_memory_equal(w + dim, v, dim * sizeof(float));
	/* A wrong key: the HTTP error, and not the key. */
	free(c.llm_key);
	assert_non_null(c.llm_key = strdup("sk-wrong"));
	assert_int_equal(embed_remote(&c, ar, texts, 1, &v, &dim, &why),
	    APP_EUPSTREAM);
	assert_string_equal(why, "the embedding service answered HTTP 401");
	conf_free(&c);
	arena_destroy(ar);
	fake_stop(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_normalised),
		cmocka_unit_test(test_features),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_similar),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_cosine),
		cmocka_unit_test(test_lsh_deterministic),
		cmocka_unit_test(test_lsh_zero),
		cmocka_unit_test(test_lsh_collisions),
		cmocka_unit_test(test_lsh_similar),
		cmocka_unit_test(test_pg_roundtrip),
		cmocka_unit_test(test_pg_forms),
		cmocka_unit_test(test_pg_malformed),
		cmocka_unit_test(test_remote_ok),
		cmocka_unit_test(test_remote_noindex),
		cmocka_unit_test(test_remote_bad),
		cmocka_unit_test(test_remote_maxdim),
		cmocka_unit_test(test_remote_toolong),
		cmocka_unit_test(test_remote_unreachable),
		cmocka_unit_test(test_remote_timeout),
		cmocka_unit_test(test_remote_fakellm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
