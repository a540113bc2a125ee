/*
 * words.h: the word lists of the builtin model (lib/builtin.c) and the
 * builtin fact extractor (lib/extract.c): alternatives written as one
 * string, "like|love|enjoy", matched whole against a word.
 */
#ifndef QUIPU_WORDS_H
#define QUIPU_WORDS_H

#include <stdbool.h>
#include <stddef.h>

/* True when `word' is one of the '|'-separated alternatives
 * alts[0..len). */
bool		 words_alt(const char *alts, size_t len, const char *word);
/* words_alt() over all of `alts'. */
bool		 words_is(const char *alts, const char *word);
/* ASCII white space. */
bool		 words_space(int c);
/* A typographic quote or ellipsis (U+2018, U+2019, U+201C, U+201D,
 * U+2026) at s, with `avail' bytes there. */
bool		 words_typo_mark(const char *s, size_t avail);
/*
 * A word as the patterns compare it, in the arena: ASCII lower case,
 * typographic quotes made plain (phones type "I’m"), punctuation trimmed
 * from both ends ("Paris." "(jazz)"); '#' is kept (ids and tags). NULL on
 * ENOMEM.
 */
struct arena;
const char	*words_norm(struct arena *, const char *raw, size_t len);

#endif
