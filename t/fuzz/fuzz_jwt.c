/*
 * fuzz_jwt.c: arbitrary access tokens through jwt_verify().
 *
 * The input is the token (up to its first NUL, as a header value would
 * be). It is verified against a current and a previous key at a fixed
 * time. The target aborts when a promise of jwt.h is broken:
 *  - JWT_OK gives claims that are NUL-terminated, with non-empty "sub"
 *    and "sid", exp >= iat, and the time within the window;
 *  - any other status leaves the claims zeroed;
 *  - a token longer than JWT_MAX_LEN is never JWT_OK.
 * Every input is also cut into base64url decode calls with small output
 * buffers, which must never write past them (ASan) and never claim more
 * bytes than the buffer holds.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

const char	fuzz_name[] = "jwt";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_NOW	1795000000	/* 2026-11-18 */

static struct jwt_keys	keys;
static int		keys_ready;

static void
fuzz_keys(void)
{
	static const char cur[] = "fuzz-current-key-0123456789abcdef012345";
	static const char old[] = "fuzz-previous-key-0123456789abcdef01234";

	if (keys_ready)
		return;
	if (jwt_key_set(&keys.current, cur, sizeof(cur) - 1) == -1 ||
	    jwt_key_set(&keys.previous, old, sizeof(old) - 1) == -1)
		abort();
	keys_ready = 1;
}

static int
fuzz_zeroed(const struct jwt_claims *c)
{
	const unsigned char	*p = (const unsigned char *)c;
	size_t			 i;

	for (i = 0; i < sizeof(*c); i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwt_claims	 c;
	enum jwt_status		 st;
	unsigned char		 out[8];
	char			*tok;
	long			 n;

	fuzz_keys();
	if ((tok = strndup((const char *)data, size)) == NULL)
		return 0;
	memset(&c, 0xa5, sizeof(c));
	st = jwt_verify(&keys, tok, FUZZ_NOW, &c);
	if (st == JWT_OK) {
		if (strlen(tok) > JWT_MAX_LEN || c.sub[0] == '\0' ||
		    c.sid[0] == '\0' || memchr(c.sub, '\0', sizeof(c.sub)) ==
		    NULL || memchr(c.sid, '\0', sizeof(c.sid)) == NULL ||
		    c.exp < c.iat || c.exp + JWT_LEEWAY < FUZZ_NOW ||
		    c.iat > FUZZ_NOW + JWT_LEEWAY)
			abort();
	} else if (!fuzz_zeroed(&c))
		abort();
	if (jwt_strerror(st) == NULL)
		abort();
	n = jwt_b64_decode(tok, strlen(tok), out, sizeof(out));
	if (n > (long)sizeof(out) || n < -1)
		abort();
	free(tok);
	return 0;
}
