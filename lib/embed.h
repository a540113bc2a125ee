/*
 * embed.h: text embeddings for memory retrieval (DESIGN.md §7).
 *
 * Two sources of vectors. The builtin embedder works offline and gives
 * the same vector for the same text on every machine and in every
 * version that keeps EMBED_DIM and the hashing below: stored vectors stay
 * comparable. The remote one asks an OpenAI-compatible /embeddings
 * endpoint. Either way a vector is L2-normalised, so cosine similarity is
 * a dot product; and it travels to PostgreSQL as float4[] text.
 *
 * Vectors of different models (or dimensions) are never comparable: the
 * caller stores the model name and dimension with each vector.
 */
#ifndef QUIPU_EMBED_H
#define QUIPU_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "apperr.h"

struct arena;
struct conf;

#define EMBED_DIM	256	/* the builtin embedder's dimension */
#define EMBED_MAX_DIM	4096	/* largest remote vector accepted */

/*
 * The builtin embedder, offline and deterministic: feature hashing of
 * the words of text[0..len) and of the character 3-grams of each word
 * padded with boundary marks ("^co", "cof", ..., "ee$"). Each feature
 * adds +-weight (sign from another bit of the same hash) to one of `dim'
 * buckets; a word weighs more than an n-gram, and a few very common
 * English words ("the", "my", "is", ...) much less, without n-grams.
 *
 * Words are runs of letters and digits of UTF-8 text: any code point
 * from U+00C0 up except punctuation, symbol, space and private-use
 * blocks counts as a letter. Case is folded for ASCII, Latin-1, Latin
 * Extended-A, Greek and Cyrillic, and accents of Latin letters are
 * removed ("Café" = "cafe"); combining marks (U+0300..U+036F) and
 * variation selectors are skipped, so decomposed text gives the same
 * words. Invalid UTF-8 bytes separate words like spaces.
 *
 * `out' gets the vector, L2-normalised. Returns the number of features;
 * empty or featureless text (or dim 0) gives the zero vector and 0. (The
 * vector is also zero in the freak case of features cancelling exactly.)
 */
size_t		 embed_builtin(const char *text, size_t len, float *out,
		    size_t dim);

/*
 * Locality-sensitive hashing of a vector for the bucket index
 * (memory_buckets): EMBED_LSH_TABLES tables of EMBED_LSH_BITS sign bits
 * each (SimHash). A bit is the sign of the vector's dot product with a
 * hyperplane whose components are +1 or -1, drawn from a fixed PRNG
 * seeded by (table, bit) and the component's index: the same on every
 * machine, for any dimension (a longer vector only reads further down
 * the same streams). Two vectors at angle t agree on a bit with
 * probability 1 - t/pi, so on a whole table's key with that to the
 * power EMBED_LSH_BITS: with 10 bits, cosine 0.9 shares ~7 of the 32
 * keys, 0.7 ~1.7, 0.5 ~0.6, and unrelated vectors (cosine 0) one key in
 * 32 pairs.
 *
 * out[] gets one key per table, table * 2^EMBED_LSH_BITS + bits, all
 * in [0, EMBED_LSH_KEYS), and the count is returned: EMBED_LSH_TABLES,
 * or 0 for the zero vector (it has no direction) and dim 0.
 */
#define EMBED_LSH_TABLES	32
#define EMBED_LSH_BITS		10
#define EMBED_LSH_KEYS		(EMBED_LSH_TABLES << EMBED_LSH_BITS)

size_t		 embed_lsh(const float *v, size_t dim, int32_t *out);

/* Cosine similarity of two L2-normalised vectors (their dot product,
 * kept within [-1, 1]); 0 when either is the zero vector. */
float		 embed_cosine(const float *a, const float *b, size_t dim);

/*
 * The vector as PostgreSQL float4[] text, "{0.125,-0.5,1e-05}" (%.6g:
 * six significant digits, plenty for a similarity), in the arena; NULL
 * on ENOMEM. A non-finite value, which embed_* never makes, is written
 * as 0 so that the text always reads back.
 */
char		*embed_to_pg(struct arena *, const float *v, size_t dim);
/*
 * Reads such text back into out[0..dim): braces, exactly `dim' numbers
 * separated by commas, white space allowed around each. APP_EINVAL on
 * anything else (a wrong count, NULL, NaN, Infinity, quotes, nesting, a
 * value beyond float's range); `out' is then undefined.
 */
enum app_err	 embed_from_pg(const char *text, float *out, size_t dim)
		    MUSTCHECK;

/*
 * A remote embedding of n texts (valid UTF-8, non-NULL): one POST to
 * <llm_base_url>/embeddings with {"model": embedding_model, "input":
 * [texts]} (the OpenAI format, which Ollama, vLLM, LM Studio and
 * llama.cpp also speak), with conf->llm_key as the bearer token when
 * there is one, a connect timeout of llm_connect_timeout and a total one
 * of llm_timeout, and an answer of at most llm_max_response bytes. No
 * retries: the caller decides whether a failure is worth another go.
 *
 * *out: n vectors of *dim floats each, one after the other, in the order
 * of `texts' (the answer's "index" is honoured), each L2-normalised here
 * because providers differ; in the arena. n 0: APP_OK, *out NULL, *dim 0,
 * nothing sent.
 *
 * APP_EUPSTREAM with *why (a sentence without secrets, static or in the
 * arena) when the service cannot be reached, times out, answers an HTTP
 * error, malformed JSON, a wrong count of vectors or bad indexes, vectors
 * of different lengths, a non-number, or a dimension of 0 or over
 * EMBED_MAX_DIM. Also APP_ENOMEM, APP_EINTERNAL (libcurl refused an
 * option). *why is NULL on success. The caller logs.
 */
enum app_err	 embed_remote(const struct conf *, struct arena *,
		    const char *const *texts, size_t n, float **out,
		    size_t *dim, const char **why) MUSTCHECK;

#endif
