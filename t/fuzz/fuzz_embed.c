/*
 * fuzz_embed.c: arbitrary bytes through the builtin embedder and the
 * float4[] reader.
 *
 * The input is read both as a text to embed (any bytes: invalid UTF-8 is
 * no letter) and as float4[] text. The target aborts when a promise of
 * embed.h is broken:
 *  - embed_builtin gives no NaN or infinity, a norm of 0 or 1 (+-1e-4),
 *    the zero vector when it returns 0, the same vector twice, and a
 *    vector embed_cosine finds 0 or 1 similar to itself; likewise at a
 *    small dimension picked by the first byte;
 *  - embed_to_pg of that vector reads back with embed_from_pg;
 *  - embed_from_pg never crashes, and what it accepts is finite and
 *    survives embed_to_pg and embed_from_pg again (within %.6g).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "embed.h"

const char	fuzz_name[] = "embed";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAX_DIM	64	/* of the float4[] text tried */

static void
fuzz_vector(const uint8_t *data, size_t size, float *v, float *w,
    size_t dim)
{
	double	 sum = 0;
	size_t	 n, i;
	float	 c;

	n = embed_builtin((const char *)data, size, v, dim);
	for (i = 0; i < dim; i++) {
		if (!isfinite(v[i]))
			abort();
		sum += (double)v[i] * v[i];
	}
	sum = sqrt(sum);
	if (sum != 0 && fabs(sum - 1) > 1e-4)
		abort();
	if (n == 0 && sum != 0)
		abort();
	if (embed_builtin((const char *)data, size, w, dim) != n ||
	    memcmp(v, w, dim * sizeof(*v)) != 0)
		abort();
	c = embed_cosine(v, v, dim);
	if (sum == 0 ? c != 0 : fabs(c - 1) > 1e-4)
		abort();
}

/* The values `v' and `w' agree to %.6g. */
static void
fuzz_close(const float *v, const float *w, size_t dim)
{
	size_t	 i;

	for (i = 0; i < dim; i++)
		if (fabs((double)v[i] - w[i]) > 1e-5 * fabs((double)v[i]) +
		    1e-37)
			abort();
}

/* The input as float4[] text of as many values as it has commas + 1. */
static void
fuzz_pg(struct arena *a, const uint8_t *data, size_t size)
{
	float	 v[FUZZ_MAX_DIM], w[FUZZ_MAX_DIM];
	char	*text, *s;
	size_t	 dim = 1, i;

	if ((text = arena_strndup(a, (const char *)data, size)) == NULL)
		abort();
	for (i = 0; text[i] != '\0'; i++)
		dim += text[i] == ',';
	/* Only "{}" and "{x}" can pass these; neither may crash. */
	if (embed_from_pg(text, v, 0) == APP_OK && strchr(text, '}') == NULL)
		abort();
	if (embed_from_pg(text, v, 1) == APP_OK && !isfinite(v[0]))
		abort();
	if (dim > FUZZ_MAX_DIM || embed_from_pg(text, v, dim) != APP_OK)
		return;
	for (i = 0; i < dim; i++)
		if (!isfinite(v[i]))
			abort();
	if ((s = embed_to_pg(a, v, dim)) == NULL ||
	    embed_from_pg(s, w, dim) != APP_OK)
		abort();
	fuzz_close(v, w, dim);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	float		 v[EMBED_DIM], w[EMBED_DIM], r[EMBED_DIM];
	struct arena	*a;
	char		*s;
	size_t		 small;

	if (size > 65536 || (a = arena_create(8192)) == NULL)
		return 0;
	fuzz_vector(data, size, v, w, EMBED_DIM);
	if ((s = embed_to_pg(a, v, EMBED_DIM)) == NULL ||
	    embed_from_pg(s, r, EMBED_DIM) != APP_OK)
		abort();
	fuzz_close(v, r, EMBED_DIM);
	small = size > 0 ? 1 + data[0] % 17 : 1;
	fuzz_vector(data, size, v, w, small);
	fuzz_pg(a, data, size);
	arena_destroy(a);
	return 0;
}
