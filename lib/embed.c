/*
 * embed.c: the builtin feature-hashing embedder, LSH bucket keys,
 * float4[] text, and OpenAI-compatible /embeddings.
 *
 * The builtin embedder is the "hashing trick": no vocabulary, no model
 * file, nothing to load, the same vector everywhere. Whole words carry
 * the meaning; the 3-grams of each word make "coffee" and "coffees", or
 * a typo, still land close. Hashes are FNV-1a (a fixed function, so
 * stored vectors stay valid across builds and machines) followed by a
 * 64-bit finaliser, because FNV's low bits, which pick the bucket, mix
 * poorly on short inputs.
 *
 * Numbers go through strtod and printf, which read and write '.' only in
 * the C locale: quipu never calls setlocale(), and a text written in
 * another locale is refused by embed_from_pg rather than misread.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "arena.h"
#include "conf.h"
#include "embed.h"
#include "jsonx.h"
#include "llm.h"

/* ------------------------------------------------------------ text */

#define EMBED_SEP	0u		/* not part of a word */
#define EMBED_SKIP	0xfffffffeu	/* inside a word, ignored */
#define EMBED_BAD	0xffffffffu	/* not UTF-8 */
#define EMBED_BOUND	0x110000u	/* the n-grams' boundary mark */

#define EMBED_W_WORD	2.0f		/* a word */
#define EMBED_W_NGRAM	1.0f		/* one of its 3-grams */
#define EMBED_W_STOP	0.5f		/* a very common word, no n-grams */
#define EMBED_STOP_MAX	5		/* letters of the longest stop word */

#define EMBED_FNV_BASIS	0xcbf29ce484222325ull
#define EMBED_FNV_PRIME	0x100000001b3ull

/*
 * Latin-1 letters U+00C0..U+00FF without their accents: '.' is not a
 * letter (the multiplication and division signs), '*' a letter kept as
 * it is, lower-cased (Æ, Þ, ß have no one-letter ASCII form).
 */
static const char embed_latin1[] =
    "aaaaaa*ceeeeiiiidnooooo.ouuuuy**"
    "aaaaaa*ceeeeiiiidnooooo.ouuuuy*y";
/* Latin Extended-A, U+0100..U+017F, likewise (both cases alternate). */
static const char embed_latin_ext_a[] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkk"
    "llllllllllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyy"
    "zzzzzzs";
_Static_assert(sizeof(embed_latin1) == 0x40 + 1, "U+00C0..U+00FF");
_Static_assert(sizeof(embed_latin_ext_a) == 0x80 + 1, "U+0100..U+017F");

/*
 * Blocks of punctuation, symbols, spaces, emoji and private use: word
 * separators. Everything else from U+0100 up is taken for a letter,
 * which is right for the scripts people write in and costs no tables.
 */
static const struct {
	uint32_t	lo, hi;
} embed_nonletters[] = {
	{ 0x2000, 0x2bff },	/* punctuation .. miscellaneous symbols */
	{ 0x2e00, 0x2e7f },	/* supplemental punctuation */
	{ 0x3000, 0x303f },	/* CJK symbols and punctuation */
	{ 0xd800, 0xf8ff },	/* (surrogates), private use */
	{ 0xfe10, 0xfe1f },	/* vertical forms */
	{ 0xfe30, 0xfe6f },	/* CJK compatibility and small forms */
	{ 0xfeff, 0xfeff },	/* byte order mark */
	{ 0xff00, 0xff0f },	/* fullwidth punctuation */
	{ 0xff1a, 0xff20 },
	{ 0xff3b, 0xff40 },
	{ 0xff5b, 0xff65 },
	{ 0xfff0, 0xffff },	/* specials */
	{ 0x1f000, 0x1faff },	/* emoji, pictographs, game symbols */
	{ 0xe0000, 0x10ffff },	/* tags, supplementary private use */
};

/*
 * English words too common to tell memories apart, sorted for bsearch:
 * they count a little (a query of only such words still finds
 * something) and their n-grams not at all. Contractions split at the
 * apostrophe, hence "m", "s", "t", "ll", "re", "ve", "d".
 */
static const char *const embed_stop[] = {
	"a", "about", "am", "an", "and", "are", "as", "at", "be", "been",
	"but", "by", "d", "did", "do", "does", "for", "from", "had", "has",
	"have", "he", "her", "him", "his", "i", "in", "is", "it", "its",
	"ll", "m", "me", "my", "of", "on", "or", "our", "re", "s", "she",
	"so", "t", "that", "the", "their", "them", "then", "they", "this",
	"to", "too", "us", "ve", "was", "we", "were", "what", "when", "which",
	"who", "will", "with", "you", "your",
};

/* One code point of p[0..len) (len > 0), *n bytes; EMBED_BAD for a
 * byte that starts no well-formed sequence (then *n is 1). */
static uint32_t
embed_utf8(const unsigned char *p, size_t len, size_t *n)
{
	uint32_t	 c;
	size_t		 need, i;

	*n = 1;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 1;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 2;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 3;
		c = p[0] & 0x07;
	} else
		return EMBED_BAD;
	if (len <= need)
		return EMBED_BAD;
	for (i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return EMBED_BAD;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((need == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (need == 3 && (c < 0x10000 || c > 0x10ffff)))
		return EMBED_BAD;
	*n = need + 1;
	return c;
}

static bool
embed_nonletter(uint32_t c)
{
	size_t	 i;

	for (i = 0; i < sizeof(embed_nonletters) /
	    sizeof(embed_nonletters[0]); i++)
		if (c >= embed_nonletters[i].lo && c <= embed_nonletters[i].hi)
			return true;
	return false;
}

/* A code point from U+0080 up: folded, EMBED_SEP or EMBED_SKIP. */
static uint32_t
embed_fold_wide(uint32_t c)
{
	char	 f;

	if (c < 0xc0)	/* Latin-1 symbols; ª, µ and º are letters */
		return c == 0xaa || c == 0xb5 || c == 0xba ? c : EMBED_SEP;
	if (c < 0x100) {
		if ((f = embed_latin1[c - 0xc0]) == '.')
			return EMBED_SEP;
		if (f == '*')
			return c < 0xdf ? c + 0x20 : c;
		return (uint32_t)f;
	}
	if (c < 0x180)
		return (uint32_t)embed_latin_ext_a[c - 0x100];
	if ((c >= 0x300 && c <= 0x36f) || (c >= 0xfe00 && c <= 0xfe0f) ||
	    c == 0x200c || c == 0x200d)	/* marks, selectors, ZWNJ, ZWJ */
		return EMBED_SKIP;
	if (c >= 0x391 && c <= 0x3a9)		/* Greek capitals */
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)		/* Cyrillic Ѐ..Џ */
		return c + 0x50;
	if (c >= 0x410 && c <= 0x42f)		/* Cyrillic А..Я */
		return c + 0x20;
	if (c >= 0xff10 && c <= 0xff19)		/* fullwidth digits */
		return c - 0xff10 + '0';
	if (c >= 0xff21 && c <= 0xff3a)		/* fullwidth letters */
		return c - 0xff21 + 'a';
	if (c >= 0xff41 && c <= 0xff5a)
		return c - 0xff41 + 'a';
	return embed_nonletter(c) ? EMBED_SEP : c;
}

/* The next character of p[0..len), folded, or EMBED_SEP or EMBED_SKIP;
 * *n its bytes. */
static uint32_t
embed_next(const unsigned char *p, size_t len, size_t *n)
{
	uint32_t	 c;

	if ((c = embed_utf8(p, len, n)) == EMBED_BAD)
		return EMBED_SEP;
	if (c < 0x80) {
		if (c >= 'A' && c <= 'Z')
			return c + ('a' - 'A');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			return c;
		return EMBED_SEP;
	}
	return embed_fold_wide(c);
}

static int
embed_stop_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* ------------------------------------------------------------ hashing */

struct embed_acc {
	float	*out;
	size_t	 dim;
	size_t	 nfeat;
};

static uint64_t
embed_fnv(uint64_t h, uint32_t c)
{
	/* Three bytes hold any code point and the boundary mark. */
	h = (h ^ ((c >> 16) & 0xff)) * EMBED_FNV_PRIME;
	h = (h ^ ((c >> 8) & 0xff)) * EMBED_FNV_PRIME;
	return (h ^ (c & 0xff)) * EMBED_FNV_PRIME;
}

/* One feature: +-w in the bucket the mixed hash picks. */
static void
embed_add(struct embed_acc *acc, uint64_t h, float w)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	acc->out[h % acc->dim] += h >> 63 ? w : -w;
	acc->nfeat++;
}

static void
embed_trigram(struct embed_acc *acc, uint32_t a, uint32_t b, uint32_t c)
{
	uint64_t	 h;

	h = embed_fnv(EMBED_FNV_BASIS, 'g');
	h = embed_fnv(embed_fnv(embed_fnv(h, a), b), c);
	embed_add(acc, h, EMBED_W_NGRAM);
}

/*
 * One word, p[0..len): letters and skipped marks only. Read twice: once
 * for its hash and to know whether it is a stop word, then for its
 * 3-grams, so that a word of any length needs no buffer.
 */
static void
embed_word(struct embed_acc *acc, const unsigned char *p, size_t len)
{
	char		 ascii[EMBED_STOP_MAX + 1];
	uint64_t	 h = embed_fnv(EMBED_FNV_BASIS, 'w');
	uint32_t	 c, x = EMBED_BOUND, y = EMBED_BOUND;
	size_t		 i, n, ncp = 0;
	bool		 wide = false;

	for (i = 0; i < len; i += n) {
		if ((c = embed_next(p + i, len - i, &n)) == EMBED_SKIP)
			continue;
		h = embed_fnv(h, c);
		if (c >= 0x80)
			wide = true;
		else if (ncp < EMBED_STOP_MAX)
			ascii[ncp] = (char)c;
		ncp++;
	}
	if (ncp == 0)
		return;
	if (!wide && ncp <= EMBED_STOP_MAX) {
		ascii[ncp] = '\0';
		if (bsearch(ascii, embed_stop, sizeof(embed_stop) /
		    sizeof(embed_stop[0]), sizeof(embed_stop[0]),
		    embed_stop_cmp) != NULL) {
			embed_add(acc, h, EMBED_W_STOP);
			return;
		}
	}
	embed_add(acc, h, EMBED_W_WORD);
	/* "^ab$": y is the last letter seen, x the one before it. */
	for (i = 0, ncp = 0; i < len; i += n) {
		if ((c = embed_next(p + i, len - i, &n)) == EMBED_SKIP)
			continue;
		if (ncp++ > 0)
			embed_trigram(acc, x, y, c);
		x = y;
		y = c;
	}
	embed_trigram(acc, x, y, EMBED_BOUND);
}

/* Scales v to length 1; leaves the zero vector alone. */
static void
embed_normalise(float *v, size_t dim)
{
	double	 sum = 0, inv;
	size_t	 i;

	for (i = 0; i < dim; i++)
		sum += (double)v[i] * v[i];
	if (sum == 0 || !isfinite(sum))
		return;
	inv = 1 / sqrt(sum);
	for (i = 0; i < dim; i++)
		v[i] = (float)(v[i] * inv);
}

size_t
embed_builtin(const char *text, size_t len, float *out, size_t dim)
{
	const unsigned char	*p = (const unsigned char *)text;
	struct embed_acc	 acc = { out, dim, 0 };
	size_t			 i = 0, start, n;

	if (dim == 0)
		return 0;
	memset(out, 0, dim * sizeof(*out));
	if (text == NULL)
		len = 0;
	while (i < len) {
		if (embed_next(p + i, len - i, &n) == EMBED_SEP) {
			i += n;
			continue;
		}
		start = i;
		do
			i += n;
		while (i < len && embed_next(p + i, len - i, &n) != EMBED_SEP);
		embed_word(&acc, p + start, i - start);
	}
	embed_normalise(out, dim);
	return acc.nfeat;
}

float
embed_cosine(const float *a, const float *b, size_t dim)
{
	double	 dot = 0;
	size_t	 i;

	for (i = 0; i < dim; i++)
		dot += (double)a[i] * b[i];
	/* Rounding can take two equal unit vectors a hair past 1. */
	if (dot > 1)
		return 1;
	if (dot < -1)
		return -1;
	return (float)dot;
}

/* ------------------------------------------------------------ LSH */

/*
 * splitmix64 (Steele, Lea and Flood): a fixed, well-mixed function of a
 * counter, so that the hyperplanes need no table and no state.
 */
static uint64_t
embed_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * The sign of v's dot product with hyperplane `plane' (table * bits +
 * bit): component i is +1 when bit i % 64 of the word for chunk i / 64
 * is set, else -1. Summed in double, in index order, so the sign is the
 * same wherever it is computed (but for dot products within rounding of
 * 0, which agree on nearly every machine anyway).
 */
static int
embed_lsh_bit(const float *v, size_t dim, uint32_t plane)
{
	uint64_t	 seed, w = 0;
	double		 dot = 0;
	size_t		 i;

	seed = embed_mix64(0x51a7e5ca1ab1e000ull ^ plane);
	for (i = 0; i < dim; i++) {
		if (i % 64 == 0)
			w = embed_mix64(seed ^ ((uint64_t)(i / 64) << 32));
		dot += (w >> (i % 64)) & 1 ? (double)v[i] : -(double)v[i];
	}
	return dot > 0;
}

size_t
embed_lsh(const float *v, size_t dim, int32_t *out)
{
	uint32_t	 t, b, key;
	size_t		 i;

	for (i = 0; i < dim; i++)
		if (v[i] != 0)
			break;
	if (i == dim)
		return 0;	/* the zero vector, or no dimension */
	for (t = 0; t < EMBED_LSH_TABLES; t++) {
		key = 0;
		for (b = 0; b < EMBED_LSH_BITS; b++)
			key = key << 1 | (uint32_t)embed_lsh_bit(v, dim,
			    t * EMBED_LSH_BITS + b);
		out[t] = (int32_t)(t << EMBED_LSH_BITS | key);
	}
	return EMBED_LSH_TABLES;
}

/* ------------------------------------------------------------ float4[] */

/* Bytes of one "%.6g" float and its comma: "-1.17549e-38," is 13. */
#define EMBED_PG_CHARS	16

char *
embed_to_pg(struct arena *ar, const float *v, size_t dim)
{
	char	*buf;
	size_t	 cap, off = 0, i;
	int	 n;

	if (dim > (SIZE_MAX - 3) / EMBED_PG_CHARS)
		return NULL;
	cap = dim * EMBED_PG_CHARS + 3;
	if ((buf = arena_alloc(ar, cap)) == NULL)
		return NULL;
	buf[off++] = '{';
	for (i = 0; i < dim; i++) {
		n = snprintf(buf + off, cap - off, "%s%.6g", i > 0 ? "," : "",
		    isfinite(v[i]) ? (double)v[i] : 0.0);
		if (n < 0 || (size_t)n >= cap - off)
			return NULL;	/* cannot happen: see EMBED_PG_CHARS */
		off += (size_t)n;
	}
	buf[off++] = '}';
	buf[off] = '\0';
	return buf;
}

static const char *
embed_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
	    *s == '\f' || *s == '\v')
		s++;
	return s;
}

static const char *
embed_digits(const char *s)
{
	while (*s >= '0' && *s <= '9')
		s++;
	return s;
}

/*
 * One decimal number at *s, as PostgreSQL's float4 reads it ("-1",
 * "0.5", ".5", "1.", "1e-05"), but neither NaN nor Infinity; *s moves
 * past it. -1 when there is none or it is beyond float's range. The
 * syntax is checked here, so strtod's extras (hex, "inf", leading
 * space) never apply.
 */
static int
embed_pg_number(const char **s, float *out)
{
	const char	*p = *s, *q, *e;
	char		*end;
	double		 x;

	if (*p == '-' || *p == '+')
		p++;
	q = embed_digits(p);
	if (*q == '.') {
		e = embed_digits(q + 1);
		if (q == p && e == q + 1)
			return -1;	/* "." alone */
		q = e;
	} else if (q == p)
		return -1;
	if (*q == 'e' || *q == 'E') {
		e = q + 1;
		if (*e == '-' || *e == '+')
			e++;
		if (embed_digits(e) == e)
			return -1;
		q = embed_digits(e);
	}
	x = strtod(*s, &end);
	if (end != q || !isfinite(x) || fabs(x) > FLT_MAX)
		return -1;
	*out = (float)x;
	*s = q;
	return 0;
}

enum app_err
embed_from_pg(const char *text, float *out, size_t dim)
{
	const char	*s;
	size_t		 i = 0;

	if (text == NULL)
		return APP_EINVAL;
	s = embed_ws(text);
	if (*s++ != '{')
		return APP_EINVAL;
	s = embed_ws(s);
	if (*s != '}')
		for (;;) {
			if (i == dim || embed_pg_number(&s, &out[i++]) == -1)
				return APP_EINVAL;
			s = embed_ws(s);
			if (*s == '}')
				break;
			if (*s++ != ',')
				return APP_EINVAL;
			s = embed_ws(s);
		}
	s = embed_ws(s + 1);
	return *s == '\0' && i == dim ? APP_OK : APP_EINVAL;
}

/* ------------------------------------------------------------ remote */

#define EMBED_PATH	"/embeddings"

/* The body of the service's answer, up to `max' bytes. */
struct embed_body {
	struct arena		*arena;
	struct arena_str	 s;
	size_t			 max;
	bool			 toolong;
	bool			 nomem;
};

static size_t
embed_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct embed_body	*b = arg;
	size_t			 n = size * nmemb;

	if (n > b->max - b->s.len) {
		b->toolong = true;
		return 0;
	}
	if (arena_str_add(b->arena, &b->s, p, n) == -1) {
		b->nomem = true;
		return 0;
	}
	return n;
}

/* The service's URL: llm_base_url without its trailing slashes. */
static char *
embed_url(struct arena *ar, const char *base)
{
	size_t	 n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return arena_printf(ar, "%.*s" EMBED_PATH, (int)n, base);
}

/* {"model": ..., "input": [texts]} in the arena. */
static enum app_err
embed_request(struct arena *ar, const char *model, const char *const *texts,
    size_t n, char **out, size_t *outlen)
{
	struct json_object	*root, *arr;
	const char		*s;
	enum app_err		 e = APP_ENOMEM;
	size_t			 i, len;

	if ((root = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	if (jsonx_add_string(root, "model", model) != APP_OK ||
	    (arr = json_object_new_array()) == NULL ||
	    jsonx_add(root, "input", arr) != APP_OK)
		goto out;
	for (i = 0; i < n; i++)
		if (jsonx_append(arr, json_object_new_string(texts[i])) !=
		    APP_OK)
			goto out;
	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL || (*out = arena_strndup(ar, s, len)) == NULL)
		goto out;
	*outlen = len;
	e = APP_OK;
out:
	json_object_put(root);
	return e;
}

/* Sets the options of the one request. -1 when one is refused. */
static int
embed_setopts(CURL *h, const struct conf *c, const char *url,
    struct curl_slist *hdrs, const char *req, size_t reqlen,
    struct embed_body *b)
{
	int	 bad = 0;

	bad |= llm_curl_request(h, url, hdrs) == -1;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)reqlen) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, req) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
	    (long)c->llm_timeout * 1000) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)c->llm_connect_timeout * 1000) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, embed_write) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, b) != CURLE_OK;
	return bad ? -1 : 0;
}

/* One POST; *status its HTTP status (0: none came). */
static enum app_err
embed_post(struct arena *ar, const struct conf *c, const char *req,
    size_t reqlen, struct embed_body *b, long *status, const char **why)
{
	struct curl_slist	*hdrs = NULL;
	const char		*url;
	CURL			*h;
	CURLcode		 cc;
	enum app_err		 e = APP_ENOMEM;

	*status = 0;
	if ((url = embed_url(ar, c->llm_base_url)) == NULL ||
	    (h = curl_easy_init()) == NULL)
		return APP_ENOMEM;
	if ((hdrs = llm_curl_headers(c->llm_key,
	    "Content-Type: application/json", "Accept: application/json")) ==
	    NULL)
		goto out;
	if (embed_setopts(h, c, url, hdrs, req, reqlen, b) == -1) {
		e = APP_EINTERNAL;
		goto out;
	}
	cc = curl_easy_perform(h);
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	e = APP_OK;
	if (b->nomem)
		e = APP_ENOMEM;
	else if (b->toolong) {
		*why = "the embedding service's answer is too long";
		e = APP_EUPSTREAM;
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		*why = "the embedding service did not answer in time";
		e = APP_EUPSTREAM;
	} else if (cc != CURLE_OK) {
		*why = arena_printf(ar, "cannot reach the embedding service: "
		    "%s", curl_easy_strerror(cc));
		if (*why == NULL)
			*why = "cannot reach the embedding service";
		e = APP_EUPSTREAM;
	}
out:
	llm_curl_headers_free(hdrs);
	curl_easy_cleanup(h);
	return e;
}

/* Reads one "embedding" array into v[0..dim), normalised. */
static int
embed_vector(struct json_object *arr, float *v, size_t dim)
{
	struct json_object	*x;
	double			 d;
	size_t			 i;

	for (i = 0; i < dim; i++) {
		x = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(x, json_type_double) &&
		    !json_object_is_type(x, json_type_int))
			return -1;
		d = json_object_get_double(x);
		if (!isfinite(d) || fabs(d) > FLT_MAX)
			return -1;
		v[i] = (float)d;
	}
	embed_normalise(v, dim);
	return 0;
}

/* The dimension of the answer's vectors, from the first; 0 when bad. */
static size_t
embed_first_dim(struct json_object *data, const char **why)
{
	struct json_object	*item, *vec;
	size_t			 dim;

	item = json_object_array_get_idx(data, 0);
	if (!json_object_object_get_ex(item, "embedding", &vec) ||
	    !json_object_is_type(vec, json_type_array)) {
		*why = "the embedding service answered no vector";
		return 0;
	}
	dim = json_object_array_length(vec);
	if (dim == 0 || dim > EMBED_MAX_DIM) {
		*why = "the embedding service answered vectors of 0 or over "
		    "4096 dimensions";
		return 0;
	}
	return dim;
}

/*
 * The vectors of data[], in the order of their "index" (their position
 * when there is none); each index once.
 */
static enum app_err
embed_vectors(struct arena *ar, struct json_object *data, size_t n,
    size_t dim, float *out, const char **why)
{
	struct json_object	*item, *vec, *idx;
	unsigned char		*seen;
	int64_t			 k;
	size_t			 i;

	if ((seen = arena_calloc(ar, n, 1)) == NULL)
		return APP_ENOMEM;
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(data, i);
		if (!json_object_object_get_ex(item, "embedding", &vec) ||
		    !json_object_is_type(vec, json_type_array)) {
			*why = "the embedding service answered no vector";
			return APP_EUPSTREAM;
		}
		if (json_object_array_length(vec) != dim) {
			*why = "the embedding service answered vectors of "
			    "different lengths";
			return APP_EUPSTREAM;
		}
		k = (int64_t)i;
		if (json_object_object_get_ex(item, "index", &idx) &&
		    (!json_object_is_type(idx, json_type_int) ||
		    (k = json_object_get_int64(idx)) < 0 || (uint64_t)k >= n ||
		    seen[k])) {
			*why = "the embedding service answered a bad index";
			return APP_EUPSTREAM;
		}
		seen[k] = 1;
		if (embed_vector(vec, out + (size_t)k * dim, dim) == -1) {
			*why = "the embedding service answered a vector that "
			    "is not numbers";
			return APP_EUPSTREAM;
		}
	}
	return APP_OK;
}

/* The vectors of a 200 answer: {"data": [{"embedding": [...],
 * "index": 0}, ...]}. */
static enum app_err
embed_answer(struct arena *ar, const struct embed_body *b, size_t n,
    float **out, size_t *dim, const char **why)
{
	struct json_object	*root, *data;
	enum app_err		 e = APP_EUPSTREAM;

	*why = "the embedding service's answer is not JSON";
	if (b->s.p == NULL || (e = jsonx_parse(b->s.p, b->s.len, &root,
	    NULL)) != APP_OK)
		return e == APP_ENOMEM ? e : APP_EUPSTREAM;
	e = APP_EUPSTREAM;
	if (!json_object_object_get_ex(root, "data", &data) ||
	    !json_object_is_type(data, json_type_array)) {
		*why = "the embedding service's answer has no data";
		goto out;
	}
	if (json_object_array_length(data) != n) {
		*why = arena_printf(ar, "the embedding service answered %zu "
		    "vectors for %zu texts", json_object_array_length(data), n);
		if (*why == NULL)
			*why = "the embedding service answered a wrong count";
		goto out;
	}
	if ((*dim = embed_first_dim(data, why)) == 0)
		goto out;
	if ((*out = arena_calloc(ar, n, *dim * sizeof(float))) == NULL) {
		e = APP_ENOMEM;
		goto out;
	}
	if ((e = embed_vectors(ar, data, n, *dim, *out, why)) == APP_OK)
		*why = NULL;
out:
	json_object_put(root);
	return e;
}

enum app_err
embed_remote(const struct conf *c, struct arena *ar, const char *const *texts,
    size_t n, float **out, size_t *dim, const char **why)
{
	struct embed_body	 b;
	char			*req;
	size_t			 reqlen;
	long			 status;
	enum app_err		 e;

	*out = NULL;
	*dim = 0;
	*why = NULL;
	if (n == 0)
		return APP_OK;
	if ((e = embed_request(ar, c->embedding_model, texts, n, &req,
	    &reqlen)) != APP_OK || (e = llm_global_init()) != APP_OK)
		return e;
	memset(&b, 0, sizeof(b));
	b.arena = ar;
	b.max = (size_t)c->llm_max_response;
	if ((e = embed_post(ar, c, req, reqlen, &b, &status, why)) != APP_OK)
		return e;
	if (status < 200 || status > 299) {
		/* Not the body's message: OpenAI's 401 quotes part of the
		 * key. */
		*why = arena_printf(ar, "the embedding service answered HTTP "
		    "%ld", status);
		if (*why == NULL)
			*why = "the embedding service failed";
		return APP_EUPSTREAM;
	}
	if ((e = embed_answer(ar, &b, n, out, dim, why)) != APP_OK) {
		*out = NULL;
		*dim = 0;
	}
	return e;
}
