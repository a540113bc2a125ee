/*
 * tbuf.h: an http_transport that captures a response in memory, for the
 * unit tests and the fuzz targets (header only, no test framework).
 * It can be told to fail after N writes (a client that went away) and
 * counts flushes. Set fail_after to -1 for a transport that never fails;
 * free(data) when done.
 */
#ifndef QUIPU_TEST_TBUF_H
#define QUIPU_TEST_TBUF_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

struct tbuf {
	char	*data;		/* NUL-terminated capture */
	size_t	 len;
	size_t	 cap;
	int	 fail_after;	/* writes that succeed before failing; -1 never */
	int	 nwrites;	/* successful writes */
	int	 nflushes;
	int	 flushed_at;	/* len at the last flush */
	bool	 closed;	/* what closed() reports */
};

static inline int
tbuf_write(void *ctx, const char *buf, size_t len)
{
	struct tbuf	*b = ctx;
	char		*p;

	if (b->fail_after >= 0 && b->nwrites >= b->fail_after)
		return -1;
	if (b->len + len + 1 > b->cap) {
		size_t ncap = (b->len + len + 1) * 2;

		if ((p = realloc(b->data, ncap)) == NULL)
			return -1;
		b->data = p;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	b->data[b->len] = '\0';
	b->nwrites++;
	return 0;
}

static inline int
tbuf_flush(void *ctx)
{
	struct tbuf	*b = ctx;

	if (b->fail_after >= 0 && b->nwrites >= b->fail_after)
		return -1;
	b->nflushes++;
	b->flushed_at = (int)b->len;
	return 0;
}

static inline bool
tbuf_closed(void *ctx)
{
	return ((struct tbuf *)ctx)->closed;
}

static const struct http_transport tbuf_transport = {
	tbuf_write, tbuf_flush, tbuf_closed, NULL
};

#endif
