/*
 * arena.c: a bump allocator with cleanup hooks, one per request.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_ALIGN	16
#define ARENA_MIN_BLOCK	4096

struct arena_block {
	struct arena_block	*next;
	size_t			 size;	/* usable bytes in data */
	size_t			 used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_cleanup {
	struct arena_cleanup	*next;
	void			(*fn)(void *);
	void			*arg;
};

struct arena {
	struct arena_block	*head;		/* current block, first in list */
	struct arena_block	*first;		/* kept across resets */
	struct arena_cleanup	*cleanups;	/* most recent first */
	size_t			 total;
};

static struct arena_block *
arena_block_new(size_t size)
{
	struct arena_block	*b;

	if (size < ARENA_MIN_BLOCK)
		size = ARENA_MIN_BLOCK;
	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	if ((b = malloc(sizeof(*b) + size)) == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *
arena_create(size_t size)
{
	struct arena	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->first = arena_block_new(size)) == NULL) {
		free(a);
		return NULL;
	}
	a->head = a->first;
	return a;
}

static void
arena_run_cleanups(struct arena *a)
{
	struct arena_cleanup	*c;

	/* Hooks are allocated in the arena itself: run them all first. */
	for (c = a->cleanups; c != NULL; c = c->next)
		c->fn(c->arg);
	a->cleanups = NULL;
}

static void
arena_free_blocks(struct arena *a, int keep_first)
{
	struct arena_block	*b, *next;

	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		if (keep_first && b == a->first)
			continue;
		free(b);
	}
}

void
arena_destroy(struct arena *a)
{
	if (a == NULL)
		return;
	arena_run_cleanups(a);
	arena_free_blocks(a, 0);
	free(a);
}

void
arena_reset(struct arena *a)
{
	if (a == NULL)
		return;
	arena_run_cleanups(a);
	arena_free_blocks(a, 1);
	a->first->next = NULL;
	a->first->used = 0;
	a->head = a->first;
	a->total = 0;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	struct arena_block	*b;
	size_t			 need, off;

	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	b = a->head;
	off = b->used;
	if (b->size - off < need && need > b->size / 2) {
		/*
		 * A large allocation gets a block of its own, linked behind
		 * the current one so the rest of that stays usable.
		 */
		if ((b = arena_block_new(need)) == NULL)
			return NULL;
		b->next = a->head->next;
		a->head->next = b;
		off = 0;
	} else if (b->size - off < need) {
		/* A new current block, twice the last. */
		if ((b = arena_block_new(b->size * 2)) == NULL)
			return NULL;
		b->next = a->head;
		a->head = b;
		off = 0;
	}
	b->used = off + need;
	a->total += need;
	memset(b->data + off, 0, size);
	return b->data + off;
}

void *
arena_calloc(struct arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return arena_alloc(a, n * size);
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
	char	*p;
	size_t	 n;

	n = strnlen(s, len);
	if ((p = arena_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list	 ap2;
	char	*p;
	int	 n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (p = arena_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

int
arena_cleanup_add(struct arena *a, void (*fn)(void *), void *arg)
{
	struct arena_cleanup	*c;

	if ((c = arena_alloc(a, sizeof(*c))) == NULL)
		return -1;
	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}

size_t
arena_used(const struct arena *a)
{
	return a->total;
}

int
arena_str_add(struct arena *a, struct arena_str *b, const char *s, size_t n)
{
	char	*np;
	size_t	 need, cap;

	if (n > SIZE_MAX - 1 - b->len)
		return -1;
	need = b->len + n + 1;
	if (need > b->cap) {
		/* An arena cannot grow a block: copy into a bigger one. */
		cap = b->cap < 64 ? 64 : b->cap;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		if ((np = arena_alloc(a, cap)) == NULL)
			return -1;
		if (b->len > 0)
			memcpy(np, b->p, b->len);
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void
arena_buf_init(struct arena_buf *b, struct arena *a)
{
	memset(b, 0, sizeof(*b));
	b->arena = a;
}

void
arena_buf_add(struct arena_buf *b, const char *s, size_t n)
{
	if (!b->nomem && arena_str_add(b->arena, &b->str, s, n) == -1)
		b->nomem = true;
}

void
arena_buf_puts(struct arena_buf *b, const char *s)
{
	arena_buf_add(b, s, strlen(s));
}
