/*
 * recall.h: finding a user's memories again (DESIGN.md §7).
 *
 * Hybrid retrieval in PostgreSQL, in one round trip: full-text
 * candidates (the GIN index on memories.words, led by user_id) and
 * embedding candidates (the memory_buckets of embed_lsh(): how many
 * locality-sensitive buckets a memory shares with the query, counted by
 * an index-only scan of the user's own rows). The union, at most a few
 * hundred, is re-ranked here: exact cosine similarity of the embeddings,
 * the full-text rank, and recency, merged into one score in [0, 1]; hits
 * under a threshold are left out.
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
 * float4[] text and its LSH buckets as int[] text ("{17,1043,...}"), all
 * in the arena.
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
 * (1..100) with score >= min_score. *hits is in the arena (NULL when
 * none). When the embedder fails, the search goes on with full text
 * alone (logged), so a down embedding service never fails a turn.
 * APP_EDB, APP_ENOMEM.
 *
 * Memories whose vector is missing or of another model (a few per call,
 * RECALL_REEMBED_MAX) are re-embedded and re-bucketed after the search.
 */
enum app_err	 recall_search(struct app *, struct arena *,
		    const char *user_id, const char *query, size_t limit,
		    double min_score, struct recall_hit **hits, size_t *nhits)
		    MUSTCHECK;

#define RECALL_REEMBED_MAX	32

#endif
