/*
 * extract.h: facts about the user, taken from what they say.
 *
 * After a turn, the facts worth remembering are extracted from the
 * user's message, either by a remote model (extract_prompt() asks for
 * JSON, extract_parse() reads whatever comes back) or by the builtin
 * heuristic extractor (extract_builtin(), English first-person
 * statements, table-driven like the builtin model). Each new fact is
 * then compared with the most similar existing memories and applied as
 * ADD, UPDATE, DELETE or NONE (extract_reconcile() is the builtin rule).
 *
 * Pure functions: no database, no network, no clock. Everything handed
 * out lives in the arena; nothing here fails the turn (out of memory
 * gives fewer facts, never an error).
 */
#ifndef QUIPU_EXTRACT_H
#define QUIPU_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

/*
 * A fact about the user, as one short sentence without a subject
 * ("Is vegetarian", "Works at Acme as a nurse", "Likes jazz"), and what
 * it is about. `subject' is a lower-case key for reconciliation: "name",
 * "home", "work", "job", "diet", "age", "birthday", "origin",
 * "relationship", "likes:jazz", "dislikes:olives", "prefers:tea",
 * "allergy:peanuts", "pet:dog", "sister", "note:<first words>" ...
 *
 * A negated fact says that something no longer holds ("I no longer live
 * in Paris", "forget that I like jazz"): its text states the fact that
 * stopped being true ("Lives in Paris"), so that it can be matched
 * against the memory it removes; it is never stored itself.
 */
struct extract_fact {
	const char	*text;		/* 1..EXTRACT_TEXT_MAX characters */
	const char	*subject;	/* never NULL nor empty */
	bool		 negated;
};

#define EXTRACT_MAX		8	/* facts from one message */
#define EXTRACT_TEXT_MAX	200	/* characters (code points) of a text */
#define EXTRACT_SUBJECT_MAX	64	/* bytes of a subject */

/*
 * The builtin extractor: first-person statements in the user's message
 * (English; other languages yield nothing): "I'm ..."/"I am ..." (diet,
 * age, job, origin, relationship), "my ... is ...", "my name is"/"call
 * me", "I like / love / enjoy / hate / dislike / prefer ...", "I work at /
 * for / as ...", "I live in / moved to ...", "I'm allergic to ...", "I have
 * a dog/cat named ...", "I was born on ...", "remember that ..." (anything
 * after it; what matches no rule becomes a "note:" fact), "forget that
 * ..." (negated), and negations ("I don't live in Paris anymore", "I no
 * longer work at X": negated). Questions ("do I like ...?"),
 * hypotheticals ("if I were ..."), and statements about others ("my
 * friend likes ...", kept only under "remember that") are skipped.
 * Texts are trimmed, first letter upper-case, no trailing punctuation,
 * valid UTF-8 (a message that is not gives nothing). Returns the number
 * of facts put in out[] (at most `max'); the same message always gives
 * the same facts.
 */
size_t		 extract_builtin(struct arena *, const char *message,
		    struct extract_fact *out, size_t max);

/*
 * The system prompt asking a remote model for the user's new facts as
 * JSON: {"facts":[{"text":"...","subject":"..."}]}, with "negated": true
 * for a fact the user says no longer holds. Static text.
 */
const char	*extract_prompt(void);

/*
 * Reads a model's answer to extract_prompt() robustly: JSON possibly
 * wrapped in ```json fences or prose before/after, a bare array instead
 * of the object, single facts as strings, trailing commas, smart quotes,
 * single quotes. Texts must be valid UTF-8 without NUL, and are trimmed
 * (white space made single spaces) and 1..EXTRACT_TEXT_MAX characters,
 * else dropped; a missing subject becomes "note:<first words>";
 * duplicate texts are dropped; at most `max' facts. Unusable answers give
 * 0 facts, never an error (the turn must not fail because extraction
 * did). Returns the number of facts.
 */
size_t		 extract_parse(struct arena *, const char *answer, size_t len,
		    struct extract_fact *out, size_t max);

/*
 * The builtin reconciliation rule: given a new fact and an existing
 * memory (its text, and its subject, which may be NULL or ""), what to do:
 *	EXTRACT_NONE	same meaning: equal, or word sets (lower case,
 *			articles and "my" left out) with a Jaccard index
 *			of at least 0.8
 *	EXTRACT_UPDATE	same subject, different content: the new one
 *			replaces the old ("likes:x", "dislikes:x" and
 *			"prefers:x" count as the same subject)
 *	EXTRACT_ADD	unrelated
 *	EXTRACT_DELETE	the new fact is negated and about the same thing:
 *			same meaning, or same subject where the subject
 *			names its object ("likes:jazz") or the new text's
 *			words all appear in the old one ("Lives in Paris"
 *			removes "Lives in Paris, France" but not "Lives in
 *			Lyon")
 * A negated fact never gives ADD or UPDATE: unrelated, it gives NONE.
 */
enum extract_op {
	EXTRACT_ADD,
	EXTRACT_UPDATE,
	EXTRACT_DELETE,
	EXTRACT_NONE
};
enum extract_op	 extract_reconcile(const struct extract_fact *new_fact,
		    const char *old_text, const char *old_subject);

#endif
