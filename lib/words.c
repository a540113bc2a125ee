/*
 * words.c: word lists matched whole (see words.h).
 */
#include "config.h"

#include <string.h>

#include "arena.h"
#include "words.h"

bool
words_alt(const char *alts, size_t len, const char *word)
{
	const char	*p = alts, *end = alts + len, *bar;
	size_t		 wlen = strlen(word);

	while (p < end) {
		if ((bar = memchr(p, '|', (size_t)(end - p))) == NULL)
			bar = end;
		if ((size_t)(bar - p) == wlen && memcmp(p, word, wlen) == 0)
			return true;
		p = bar + 1;
	}
	return false;
}

bool
words_is(const char *alts, const char *word)
{
	return words_alt(alts, strlen(alts), word);
}

bool
words_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

bool
words_typo_mark(const char *s, size_t avail)
{
	const unsigned char	*u = (const unsigned char *)s;

	return avail >= 3 && u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0x98 ||
	    u[2] == 0x99 || u[2] == 0x9c || u[2] == 0x9d || u[2] == 0xa6);
}

const char *
words_norm(struct arena *a, const char *raw, size_t len)
{
	static const char	 punct[] = ".,;:!?\"'()[]{}<>*_~`";
	char			*s;
	size_t			 i, n = 0, start = 0;
	unsigned char		 ch;

	if ((s = arena_alloc(a, len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (words_typo_mark(raw + i, len - i)) {
			ch = (unsigned char)raw[i + 2];
			s[n++] = ch == 0xa6 ? '.' : (ch >= 0x9c ? '"' : '\'');
			i += 2;
			continue;
		}
		ch = (unsigned char)raw[i];
		s[n++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') :
		    (char)ch;
	}
	s[n] = '\0';
	while (s[start] != '\0' && strchr(punct, s[start]) != NULL)
		start++;
	while (n > start && strchr(punct, s[n - 1]) != NULL)
		s[--n] = '\0';
	return s + start;
}
