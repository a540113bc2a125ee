/*
 * fuzz_extract.c: arbitrary bytes as a user's message and as a model's
 * answer.
 *
 * The input goes whole to extract_parse(), and up to its first NUL as a
 * message to extract_builtin(), each with the full EXTRACT_MAX and with a
 * limit of 2. The target aborts when a promise of extract.h is broken:
 *  - no more facts than the limit;
 *  - each text is valid UTF-8 of 1..EXTRACT_TEXT_MAX characters without
 *    outer spaces; each subject is 1..EXTRACT_SUBJECT_MAX bytes of valid
 *    UTF-8 without an ASCII capital;
 *  - the same input gives the same facts, and the first facts under the
 *    small limit are the first under the large one;
 *  - extract_reconcile() of a fact against its own text and subject is
 *    NONE (DELETE when negated), and any pair of facts gives a known op.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "extract.h"
#include "jsonx.h"

const char	fuzz_name[] = "extract";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check(const struct extract_fact *f, size_t n, size_t max)
{
	const char	*p;
	size_t		 i, j, len;
	enum extract_op	 op;

	if (n > max)
		abort();
	for (i = 0; i < n; i++) {
		if (f[i].text == NULL || f[i].subject == NULL)
			abort();
		len = strlen(f[i].text);
		if (len == 0 || !utf8_valid(f[i].text, len) ||
		    utf8_len(f[i].text) > EXTRACT_TEXT_MAX ||
		    f[i].text[0] == ' ' || f[i].text[len - 1] == ' ')
			abort();
		len = strlen(f[i].subject);
		if (len == 0 || len > EXTRACT_SUBJECT_MAX ||
		    !utf8_valid(f[i].subject, len))
			abort();
		for (p = f[i].subject; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				abort();
		op = extract_reconcile(&f[i], f[i].text, f[i].subject);
		if (op != (f[i].negated ? EXTRACT_DELETE : EXTRACT_NONE))
			abort();
		for (j = 0; j < n; j++) {
			op = extract_reconcile(&f[i], f[j].text, f[j].subject);
			if (op != EXTRACT_ADD && op != EXTRACT_UPDATE &&
			    op != EXTRACT_DELETE && op != EXTRACT_NONE)
				abort();
		}
	}
}

static void
fuzz_same(const struct extract_fact *a, const struct extract_fact *b,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].text, b[i].text) != 0 ||
		    strcmp(a[i].subject, b[i].subject) != 0 ||
		    a[i].negated != b[i].negated)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct extract_fact	 f1[EXTRACT_MAX], f2[EXTRACT_MAX];
	struct arena		*a;
	char			*msg;
	size_t			 n1, n2;

	if (size > 8192 || (a = arena_create(8192)) == NULL)
		return 0;

	n1 = extract_parse(a, (const char *)data, size, f1, EXTRACT_MAX);
	fuzz_check(f1, n1, EXTRACT_MAX);
	n2 = extract_parse(a, (const char *)data, size, f2, 2);
	fuzz_check(f2, n2, 2);
	if (n2 != (n1 < 2 ? n1 : 2))
		abort();
	fuzz_same(f1, f2, n2);

	if ((msg = arena_strndup(a, (const char *)data, size)) == NULL) {
		arena_destroy(a);
		return 0;
	}
	n1 = extract_builtin(a, msg, f1, EXTRACT_MAX);
	fuzz_check(f1, n1, EXTRACT_MAX);
	n2 = extract_builtin(a, msg, f2, 2);
	fuzz_check(f2, n2, 2);
	if (n2 != (n1 < 2 ? n1 : 2))
		abort();
	fuzz_same(f1, f2, n2);
	if (n1 > 0 && !utf8_valid(msg, strlen(msg)))
		abort();
	arena_destroy(a);
	return 0;
}
