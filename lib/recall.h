/*
 * recall.h: finding a user's memories again (DESIGN.md §7).
 *
 * Hybrid retrieval in PostgreSQL, in two round trips: full-text
 * candidates (the memory_lexemes of the query's lexemes, rare ones
 * first), embedding candidates (the memory_buckets of embed_lsh(): how
 * many locality-sensitive buckets a memory shares with the query), both
 * counted by index-only scans of the user's own rows, and the user's
 * newest memories. The union, at most a couple of hundred, is re-ranked
 * here: exact cosine similarity of the embeddings, the share of the
 * query's lexemes, and recency, merged into one score in [0, 1]; hits
 * under a threshold are left out. The second statement reads the text
 * of the hits returned only.
 *
 * Vectors come from the configured embedder (embedding_provider:
 * builtin, or an OpenAI-compatible /embeddings). Each stored vector
 * carries its model's name and dimension; one of another model counts as
 * missing (full-text only) and is recomputed lazily.
 *
 * No PostgreSQL connection is held while a remote embedder works.
 */
#ifndef QUIPU_RECALL_H
#define QUIPU_RECALL_H

#include <stddef.h>
#include <stdint.h>

#include "apperr.h"

struct app;
struct arena;

/* The builtin embedder's model name, as stored in memories.embed_model. */
#define RECALL_BUILTIN_MODEL	"builtin-256"

/*
 * A text's vector, ready for SQL: model name, dimension, the vector as
 * float4[] text and its LSH buckets as int[] text ("{17,1043,...}", "{}"
 * for the zero vector), all in the arena.
 *
 * How a memory is written with it (lib/memory.c), in one statement:
 * the memories row with v.model and v.dim (embed_model, embed_dim), its
 * memory_vectors row with v.pg, and its memory_buckets rows, one per key
 * of v.buckets (on UPDATE, the keys it no longer has deleted).
 *
 * When recall_embed() fails, store the memory without a vector
 * (embed_model and embed_dim NULL, no memory_vectors row, no buckets):
 * searches find it by text and re-embed it later.
 */
struct recall_vec {
	const char	*model;
	int		 dim;
	const float	*v;
	const char	*pg;		/* float4[] text */
	const char	*buckets;	/* int[] text */
};

/*
 * Embeds `text' with the configured embedder. APP_EUPSTREAM (with *why,
 * no secret in it) when the remote one fails; APP_ENOMEM.
 */
enum app_err	 recall_embed(struct app *, struct arena *, const char *text,
		    struct recall_vec *, const char **why) MUSTCHECK;

/* One memory found. */
struct recall_hit {
	int64_t		 id;
	const char	*content;
	const char	*subject;
	const char	*json;		/* api_memory(), compact JSON text */
	double		 score;		/* the merged score, 0..1 */
	double		 cosine;	/* of the embeddings; 0 when missing */
	double		 text_rank;	/* full-text rank, 0..1 */
};

/*
 * The user's memories most like `query', best first, at most `limit'
 * (1..100; more is cut to 100, 0 finds nothing) with score >= min_score.
 * *hits is in the arena (NULL when none). A query without a word (NULL,
 * "", "?!") lists the user's newest memories instead, newest change
 * first, each with score 0 and whatever min_score. When the embedder
 * fails, the search goes on with full text alone (logged), so a down
 * embedding service never fails a turn. APP_EDB, APP_ENOMEM.
 *
 * When a candidate had no vector of the current model, the user's
 * memories in that state (a few per call, RECALL_REEMBED_MAX) are
 * re-embedded and re-bucketed after the search.
 */
enum app_err	 recall_search(struct app *, struct arena *,
		    const char *user_id, const char *query, size_t limit,
		    double min_score, struct recall_hit **hits, size_t *nhits)
		    MUSTCHECK;

#define RECALL_REEMBED_MAX	32

/*
 * The same with the query's vector already computed by recall_embed()
 * (NULL, or one without a vector: full text alone), for a caller that
 * needs the vector itself too: a new fact is stored with the vector it
 * was compared by, from one call of the embedder.
 */
enum app_err	 recall_search_with(struct app *, struct arena *,
		    const char *user_id, const char *query,
		    const struct recall_vec *, size_t limit, double min_score,
		    struct recall_hit **hits, size_t *nhits) MUSTCHECK;

/*
 * Thresholds of the merged score. RECALL_MIN_PROMPT: memories put into
 * the model's prompt before a turn; a memory that answers the message
 * passes, one that merely shares stop words or a letter pattern does
 * not. RECALL_MIN_SEARCH: the search API and the recall tool, lower, so
 * a partial match still shows (best first, with its score).
 */
#define RECALL_MIN_PROMPT	0.25
#define RECALL_MIN_SEARCH	0.12

#endif
