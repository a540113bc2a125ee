/*
 * arena.h: per-request memory (the nginx pool model).
 *
 * Everything a request allocates comes from its arena and dies with it:
 * nothing is freed one item at a time. Cleanup hooks release what is not
 * memory (a json_object reference, a PGresult) when the arena is reset or
 * destroyed, in the reverse order of registration.
 *
 * An acceptor thread owns one arena and resets it after each request, so
 * the first block is reused and a small request allocates nothing.
 */
#ifndef QUIPU_ARENA_H
#define QUIPU_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>

struct arena;

/* A new arena whose first block holds at least `size' bytes. NULL on ENOMEM. */
struct arena	*arena_create(size_t size);
/* Run the cleanups and free every block. NULL is allowed. */
void		 arena_destroy(struct arena *);
/* Run the cleanups, free all blocks but the first and empty it. */
void		 arena_reset(struct arena *);

/* Zeroed memory aligned for any type. NULL on ENOMEM. */
void		*arena_alloc(struct arena *, size_t);
/* Like arena_alloc for `n' elements of `size' bytes, with overflow check. */
void		*arena_calloc(struct arena *, size_t n, size_t size);
char		*arena_strdup(struct arena *, const char *);
/* Copies at most `len' bytes and always NUL-terminates. */
char		*arena_strndup(struct arena *, const char *, size_t len);
char		*arena_printf(struct arena *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
char		*arena_vprintf(struct arena *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

/*
 * A string that grows in an arena, always NUL-terminated once anything
 * was added (p is NULL before). Zero it to start. Outgrown copies stay in
 * the arena until it is reset: fine for the sizes of one request.
 */
struct arena_str {
	char	*p;
	size_t	 len;
	size_t	 cap;
};
/* Appends s[0..n). -1 on ENOMEM, and the string is unchanged. */
int		 arena_str_add(struct arena *, struct arena_str *, const char *s,
		    size_t n);
/*
 * A string built in pieces that remembers running out of memory, so the
 * pieces need no check each: test `nomem' (or the text) at the end.
 */
struct arena_buf {
	struct arena		*arena;
	struct arena_str	 str;
	bool			 nomem;
};
void		 arena_buf_init(struct arena_buf *, struct arena *);
void		 arena_buf_add(struct arena_buf *, const char *s, size_t n);
void		 arena_buf_puts(struct arena_buf *, const char *s);
/* Appends a string literal (its length counted by the compiler). */
#define ARENA_STR_LIT(ar, b, lit) \
	arena_str_add((ar), (b), "" lit, sizeof(lit) - 1)
/* Call fn(arg) when the arena is reset or destroyed. -1 on ENOMEM. */
int		 arena_cleanup_add(struct arena *, void (*fn)(void *), void *arg);

/* Bytes handed out since creation or the last reset (for metrics). */
size_t		 arena_used(const struct arena *);

#endif
