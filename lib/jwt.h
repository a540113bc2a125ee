/*
 * jwt.h: HS256 JSON Web Tokens (RFC 7519), the access tokens of quipu.
 *
 * Only what quipu issues is accepted: a header {"alg":"HS256","typ":"JWT",
 * "kid":"..."} and a payload {"sub","sid","iat","exp"}. Verification
 *  - refuses every other "alg" ("none", "HS512", "RS256", ...) and a
 *    header that is not a JSON object with a string "alg" and "kid";
 *  - picks the key by "kid" among the current and the previous key (key
 *    rotation); an unknown kid is refused;
 *  - compares the HMAC-SHA-256 in constant time (libsodium);
 *  - accepts only canonical unpadded base64url, so a token has one
 *    spelling and a flipped trailing bit is a different token;
 *  - enforces "exp" and refuses an "iat" in the future, with JWT_LEEWAY
 *    seconds for clock skew between hosts;
 *  - refuses tokens longer than JWT_MAX_LEN before decoding anything.
 *
 * The key id is derived from the key itself (the first 6 bytes of its
 * SHA-256, base64url: 8 characters), so operators never manage kids and a
 * kid reveals nothing usable about the key.
 *
 * Pure functions: no I/O, no clock (the caller passes `now'), no
 * allocation beyond json-c's, so everything is unit-testable.
 */
#ifndef QUIPU_JWT_H
#define QUIPU_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apperr.h"

#define JWT_KEY_MIN	32	/* bytes; shorter keys are refused at start */
#define JWT_KEY_MAX	512
#define JWT_KID_LEN	8	/* characters */
#define JWT_MAX_LEN	1024	/* a longer token is malformed */
#define JWT_LEEWAY	5	/* seconds of clock skew allowed */
#define JWT_ID_MAX	64	/* bytes of "sub" and "sid", NUL included */

struct jwt_key {
	unsigned char	 key[JWT_KEY_MAX];
	size_t		 len;		/* 0: no key */
	char		 kid[JWT_KID_LEN + 1];
};

struct jwt_keys {
	struct jwt_key	 current;	/* signs and verifies */
	struct jwt_key	 previous;	/* verifies only; len 0 when unset */
};

struct jwt_claims {
	char		 sub[JWT_ID_MAX];	/* user id */
	char		 sid[JWT_ID_MAX];	/* session (refresh family) id */
	int64_t		 iat;
	int64_t		 exp;
};

enum jwt_status {
	JWT_OK = 0,
	JWT_MALFORMED,		/* shape, base64url, JSON, claim types, size */
	JWT_BAD_ALG,		/* "alg" is not HS256 */
	JWT_UNKNOWN_KID,	/* no key with that id */
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,		/* now > exp + leeway */
	JWT_NOT_YET_VALID	/* iat > now + leeway */
};

/*
 * Sets `k' from raw key bytes and derives its kid. -1 when `len' is
 * below JWT_KEY_MIN or above JWT_KEY_MAX (k is then zeroed).
 */
int		 jwt_key_set(struct jwt_key *k, const void *key, size_t len);
/* Wipes a key (sodium_memzero). */
void		 jwt_key_clear(struct jwt_key *k);

/*
 * Writes the signed token for `c' with key `k' into out[0..outlen), NUL
 * terminated. "sub" and "sid" must be non-empty plain strings (ids).
 * APP_EINVAL when they are not or the key is unset, APP_ENOMEM, or
 * APP_EINTERNAL when `outlen' is too small (JWT_MAX_LEN + 1 always fits).
 */
enum app_err	 jwt_sign(const struct jwt_key *k, const struct jwt_claims *c,
		    char *out, size_t outlen) MUSTCHECK;

/*
 * Verifies `token' (NUL-terminated) at time `now' (Unix seconds) against
 * `keys'. On JWT_OK, *out holds the claims; otherwise *out is zeroed.
 */
enum jwt_status	 jwt_verify(const struct jwt_keys *keys, const char *token,
		    int64_t now, struct jwt_claims *out);

/* A short phrase for logs: "expired", "bad signature", ... */
const char	*jwt_strerror(enum jwt_status);

/*
 * Unpadded base64url (RFC 4648 section 5), shared with the refresh tokens.
 * jwt_b64_encode writes a NUL-terminated string and returns 0; -1 when
 * `outlen' is too small. jwt_b64_decode refuses padding, any other character and
 * non-canonical trailing bits; it returns the decoded length or -1.
 */
int		 jwt_b64_encode(const void *in, size_t len, char *out,
		    size_t outlen);
long		 jwt_b64_decode(const char *in, size_t len, void *out,
		    size_t outlen);

#endif
