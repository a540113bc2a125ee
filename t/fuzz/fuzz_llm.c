/*
 * fuzz_llm.c: a model's text/event-stream answer through lib/llm's
 * streaming parser.
 *
 * The input is a response body. It is fed to llm_stream_feed() in two
 * pieces, split at input[0] % size (so the fuzzer chooses where a network
 * read would end), then llm_stream_finish() completes the result; the
 * max_response bound is taken from input[1] (small bounds included).
 * Besides crashes and sanitizer reports, the target aborts when a
 * promise of llm.h is broken:
 *  - out->text is never NULL, and text_len is its length;
 *  - what reached on_delta is exactly out->text;
 *  - the answer's text and arguments stay within max_response;
 *  - an error comes with out->error, success without it;
 *  - on success every tool call has an id, a name and arguments, and
 *    there are at most 16 of them;
 *  - an error is latched: a further feed gives the same error.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "llm.h"

const char	fuzz_name[] = "llm";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_sink {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	bool	 stop;		/* ask to stop at the first delta */
};

static int
fuzz_delta(void *ctx, const char *text, size_t len)
{
	struct fuzz_sink	*k = ctx;
	char			*p;

	if (k->len + len + 1 > k->cap) {
		k->cap = (k->len + len + 1) * 2;
		if ((p = realloc(k->buf, k->cap)) == NULL)
			abort();
		k->buf = p;
	}
	memcpy(k->buf + k->len, text, len);
	k->len += len;
	k->buf[k->len] = '\0';
	return k->stop;
}

static void
fuzz_check(const struct llm_result *out, enum app_err rc,
    const struct fuzz_sink *k, size_t max)
{
	size_t	 i, args = 0;

	if (out->text == NULL || strlen(out->text) != out->text_len)
		abort();
	if (k->len != out->text_len ||
	    (k->len > 0 && memcmp(k->buf, out->text, k->len) != 0))
		abort();
	if ((rc == APP_OK) != (out->error == NULL))
		abort();
	if (rc != APP_OK)
		return;
	if (out->ntool_calls > 16 ||
	    (out->ntool_calls > 0 && out->tool_calls == NULL))
		abort();
	for (i = 0; i < out->ntool_calls; i++) {
		if (out->tool_calls[i].id == NULL ||
		    out->tool_calls[i].id[0] == '\0' ||
		    out->tool_calls[i].name == NULL ||
		    out->tool_calls[i].arguments == NULL)
			abort();
		/* "{}" stands in for no arguments and is not counted. */
		if (strcmp(out->tool_calls[i].arguments, "{}") != 0)
			args += strlen(out->tool_calls[i].arguments);
	}
	if (max > 0 && out->text_len + args > max + 2 * out->ntool_calls)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*buf = (const char *)data;
	struct arena		*a;
	struct llm_stream	*s;
	struct llm_result	 out;
	struct llm_callbacks	 cb;
	struct fuzz_sink	 k = { 0 };
	enum app_err		 rc, again;
	size_t			 cut, max;

	if (size == 0)
		return 0;
	cut = data[0] % size;
	/* 0: no bound; else from 16 bytes up, often under a chunk's size. */
	max = size > 1 && data[1] != 0 ? (size_t)data[1] * 16 : 0;
	k.stop = size > 2 && data[2] == 0xff;
	cb.on_delta = fuzz_delta;
	cb.tick = NULL;
	cb.ctx = &k;
	if ((a = arena_create(4096)) == NULL)
		return 0;
	if ((s = llm_stream_new(a, max, &cb, &out)) == NULL)
		goto out;
	rc = llm_stream_feed(s, buf, cut);
	if (rc == APP_OK)
		rc = llm_stream_feed(s, buf + cut, size - cut);
	if (rc != APP_OK) {
		again = llm_stream_feed(s, "data: [DONE]\n\n", 14);
		if (again != rc)
			abort();
	}
	(void)llm_stream_done(s);
	rc = llm_stream_finish(s);
	if (rc == APP_ENOMEM)
		goto out;
	fuzz_check(&out, rc, &k, max);
out:
	free(k.buf);
	arena_destroy(a);
	return 0;
}
