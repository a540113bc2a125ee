/*
 * jwt.c: HS256 JSON Web Tokens (see jwt.h).
 *
 * Nothing here logs: a token or a key must never reach a log line, and
 * the caller knows which refusals deserve one (jwt_strerror).
 *
 * Verification order, each step refusing before the next looks at
 * anything: size, shape (two dots), header (alg, then crit/typ, then
 * kid), base64url of the payload, signature over the text as received,
 * and only then the payload's JSON and claims. An unauthenticated
 * payload is never parsed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "jsonx.h"
#include "jwt.h"

#define JWT_MAC_LEN	crypto_auth_hmacsha256_BYTES	/* 32 */

/* ------------------------------------------------------------ base64url */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int
jwt_b64_encode(const void *in, size_t len, char *out, size_t outlen)
{
	const unsigned char	*p = in;
	unsigned		 acc = 0;
	size_t			 i, o = 0;
	int			 bits = 0;

	/* Four characters per three bytes; a last partial group is cut. */
	if (len > (SIZE_MAX - 2) / 4 || outlen <= (len * 4 + 2) / 3)
		return -1;
	for (i = 0; i < len; i++) {
		acc = ((acc << 8) | p[i]) & 0xfff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		out[o++] = b64url[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
	return 0;
}

long
jwt_b64_decode(const char *in, size_t len, void *out, size_t outlen)
{
	unsigned char	*p = out;
	unsigned	 acc = 0;
	size_t		 i, o = 0, need;
	int		 bits = 0, v;

	/* A lone last character holds 6 bits: less than a byte. */
	if (len % 4 == 1)
		return -1;
	need = len / 4 * 3 + (len % 4 != 0 ? len % 4 - 1 : 0);
	if (need > outlen || need > LONG_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64_value((unsigned char)in[i])) == -1)
			return -1;
		acc = ((acc << 6) | (unsigned)v) & 0xfff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (unsigned char)(acc >> bits);
		}
	}
	/*
	 * The 2 or 4 bits left over must be zero: otherwise "Zh" would be
	 * a second spelling of "Zg", and a token would have several.
	 */
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

/* ------------------------------------------------------------ keys */

/* A key jwt_key_set accepted (guards against a zeroed or bogus struct). */
static bool
key_usable(const struct jwt_key *k)
{
	return k->len >= JWT_KEY_MIN && k->len <= JWT_KEY_MAX;
}

int
jwt_key_set(struct jwt_key *k, const void *key, size_t len)
{
	unsigned char	 digest[crypto_hash_sha256_BYTES];
	int		 rc = -1;

	sodium_memzero(k, sizeof(*k));
	if (key == NULL || len < JWT_KEY_MIN || len > JWT_KEY_MAX)
		return -1;
	memcpy(k->key, key, len);
	k->len = len;
	/* 6 bytes make exactly 8 characters: no partial group, no padding. */
	if (crypto_hash_sha256(digest, key, len) == 0 &&
	    jwt_b64_encode(digest, 6, k->kid, sizeof(k->kid)) == 0)
		rc = 0;
	sodium_memzero(digest, sizeof(digest));
	if (rc == -1)
		sodium_memzero(k, sizeof(*k));
	return rc;
}

void
jwt_key_clear(struct jwt_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

/* The key of `keys' whose kid is kid[0..len), or NULL. */
static const struct jwt_key *
key_find(const struct jwt_keys *keys, const char *kid, size_t len)
{
	const struct jwt_key	*k[2] = { &keys->current, &keys->previous };
	size_t			 i;

	/* An unset key has kid "": it must never match a forged "kid":"". */
	for (i = 0; i < 2; i++)
		if (key_usable(k[i]) && len == JWT_KID_LEN &&
		    memcmp(k[i]->kid, kid, len) == 0)
			return k[i];
	return NULL;
}

/* HMAC-SHA-256 of msg[0..len) with `k'. */
static int
mac_compute(const struct jwt_key *k, const char *msg, size_t len,
    unsigned char mac[JWT_MAC_LEN])
{
	crypto_auth_hmacsha256_state	 st;
	int				 rc = -1;

	if (crypto_auth_hmacsha256_init(&st, k->key, k->len) == 0 &&
	    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg,
	    len) == 0 &&
	    crypto_auth_hmacsha256_final(&st, mac) == 0)
		rc = 0;
	sodium_memzero(&st, sizeof(st));
	return rc;
}

/* ------------------------------------------------------------ signing */

/* An id we are willing to put in a token unescaped: [A-Za-z0-9._:-]+. */
static bool
id_plain(const char *s)
{
	size_t	 i;

	for (i = 0; i < JWT_ID_MAX && s[i] != '\0'; i++)
		if (b64_value((unsigned char)s[i]) == -1 && s[i] != ':' &&
		    s[i] != '.')
			return false;
	return i > 0 && i < JWT_ID_MAX;
}

/* Appends the base64url of in[0..len) at out + *off, then `sep' if any. */
static int
append_b64(char *out, size_t outlen, size_t *off, const void *in, size_t len,
    char sep)
{
	if (jwt_b64_encode(in, len, out + *off, outlen - *off) == -1)
		return -1;
	*off += strlen(out + *off);
	if (sep != '\0') {
		if (*off + 1 >= outlen)
			return -1;
		out[(*off)++] = sep;
		out[*off] = '\0';
	}
	return 0;
}

enum app_err
jwt_sign(const struct jwt_key *k, const struct jwt_claims *c, char *out,
    size_t outlen)
{
	char		 hdr[64], pay[64 + 2 * JWT_ID_MAX + 2 * 21];
	unsigned char	 mac[JWT_MAC_LEN];
	size_t		 off = 0;
	int		 hlen, plen;
	enum app_err	 rc = APP_EINTERNAL;

	if (out == NULL || outlen == 0)
		return APP_EINTERNAL;
	out[0] = '\0';
	/* A token with exp < iat would never verify: refuse to mint it. */
	if (k == NULL || c == NULL || !key_usable(k) || !id_plain(c->sub) ||
	    !id_plain(c->sid) || c->exp < c->iat)
		return APP_EINVAL;

	hlen = snprintf(hdr, sizeof(hdr),
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", k->kid);
	plen = snprintf(pay, sizeof(pay),
	    "{\"sub\":\"%s\",\"sid\":\"%s\",\"iat\":%" PRId64 ",\"exp\":%"
	    PRId64 "}", c->sub, c->sid, c->iat, c->exp);
	if (hlen < 0 || (size_t)hlen >= sizeof(hdr) ||
	    plen < 0 || (size_t)plen >= sizeof(pay))
		goto out;

	if (append_b64(out, outlen, &off, hdr, (size_t)hlen, '.') == -1 ||
	    append_b64(out, outlen, &off, pay, (size_t)plen, '.') == -1)
		goto out;
	/* The MAC covers "header.payload", without the second dot. */
	if (mac_compute(k, out, off - 1, mac) == -1 ||
	    append_b64(out, outlen, &off, mac, sizeof(mac), '\0') == -1)
		goto out;
	rc = APP_OK;
out:
	sodium_memzero(mac, sizeof(mac));
	if (rc != APP_OK)
		out[0] = '\0';
	return rc;
}

/* ------------------------------------------------------------ verifying */

/*
 * Parses buf[0..len), a decoded part, into *obj (one reference to an
 * object).
 */
static int
object_parse(const char *buf, size_t len, struct json_object **obj)
{
	*obj = NULL;
	/* ENOMEM lands here too: refusing is the only safe answer. */
	if (jsonx_parse(buf, len, obj, NULL) != APP_OK)
		return -1;
	if (!json_object_is_type(*obj, json_type_object)) {
		json_object_put(*obj);
		*obj = NULL;
		return -1;
	}
	return 0;
}

/* The string member `key' of `o' (its length in *len), or NULL. */
static const char *
member_str(struct json_object *o, const char *key, size_t *len)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static bool
str_is(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/*
 * Checks the header b64[0..len) and picks the key it names. "alg" first,
 * so that an "alg":"none" token is reported as such whatever else it
 * holds. Absent or non-string "alg" or "kid" are malformed; "crit" is
 * refused because we understand no extension.
 */
static enum jwt_status
header_check(const struct jwt_keys *keys, const char *b64, size_t len,
    const struct jwt_key **key)
{
	struct json_object	*h;
	char			 buf[JWT_MAX_LEN];
	const char		*s;
	size_t			 slen = 0;
	long			 n;
	enum jwt_status		 st = JWT_MALFORMED;

	/* The decoded text is never longer than the token, itself bounded. */
	if (len == 0 || (n = jwt_b64_decode(b64, len, buf, sizeof(buf))) < 0 ||
	    object_parse(buf, (size_t)n, &h) == -1)
		return JWT_MALFORMED;
	if ((s = member_str(h, "alg", &slen)) == NULL)
		goto out;
	if (!str_is(s, slen, "HS256")) {
		st = JWT_BAD_ALG;
		goto out;
	}
	if (json_object_object_get_ex(h, "crit", NULL))
		goto out;
	if (json_object_object_get_ex(h, "typ", NULL) &&
	    ((s = member_str(h, "typ", &slen)) == NULL ||
	    !str_is(s, slen, "JWT")))
		goto out;
	if ((s = member_str(h, "kid", &slen)) == NULL)
		goto out;
	st = (*key = key_find(keys, s, slen)) == NULL ? JWT_UNKNOWN_KID :
	    JWT_OK;
out:
	json_object_put(h);
	return st;
}

/*
 * Checks sig[0..siglen) against the MAC of msg[0..msglen). A signature
 * that is not canonical base64url is malformed, like any other part; one
 * that decodes to anything but 32 bytes is simply a bad signature.
 */
static enum jwt_status
signature_check(const struct jwt_key *k, const char *msg, size_t msglen,
    const char *sig, size_t siglen)
{
	unsigned char	 got[JWT_MAX_LEN], want[JWT_MAC_LEN];
	long		 n;
	enum jwt_status	 st = JWT_BAD_SIGNATURE;

	if ((n = jwt_b64_decode(sig, siglen, got, sizeof(got))) < 0)
		return JWT_MALFORMED;
	if (n != JWT_MAC_LEN)
		return JWT_BAD_SIGNATURE;
	if (mac_compute(k, msg, msglen, want) == 0 &&
	    crypto_verify_32(got, want) == 0)
		st = JWT_OK;
	sodium_memzero(want, sizeof(want));
	return st;
}

/* Copies the id member `key' of `o' into dst[JWT_ID_MAX]. */
static bool
claim_id(struct json_object *o, const char *key, char *dst)
{
	const char	*s;
	size_t		 len = 0;

	if ((s = member_str(o, key, &len)) == NULL || len == 0 ||
	    len >= JWT_ID_MAX || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

/* The integer member `key' of `o': a JSON integer, not 1.0 nor "1". */
static bool
claim_int(struct json_object *o, const char *key, int64_t *dst)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return false;
	*dst = json_object_get_int64(v);
	return true;
}

/* The claims of the decoded, authenticated payload buf[0..len). */
static enum jwt_status
payload_read(const char *buf, size_t len, struct jwt_claims *c)
{
	struct json_object	*p;
	enum jwt_status		 st = JWT_MALFORMED;

	if (object_parse(buf, len, &p) == -1)
		return JWT_MALFORMED;
	if (claim_id(p, "sub", c->sub) && claim_id(p, "sid", c->sid) &&
	    claim_int(p, "iat", &c->iat) && claim_int(p, "exp", &c->exp) &&
	    c->exp >= c->iat)
		st = JWT_OK;
	json_object_put(p);
	return st;
}

/*
 * The time checks. The differences are taken in uint64_t, where they
 * cannot overflow whatever the (authenticated) values are.
 */
static enum jwt_status
time_check(const struct jwt_claims *c, int64_t now)
{
	if (now > c->exp && (uint64_t)now - (uint64_t)c->exp > JWT_LEEWAY)
		return JWT_EXPIRED;
	if (c->iat > now && (uint64_t)c->iat - (uint64_t)now > JWT_LEEWAY)
		return JWT_NOT_YET_VALID;
	return JWT_OK;
}

enum jwt_status
jwt_verify(const struct jwt_keys *keys, const char *token, int64_t now,
    struct jwt_claims *out)
{
	const struct jwt_key	*k = NULL;
	const char		*end, *dot1, *dot2;
	char			 pay[JWT_MAX_LEN];
	size_t			 len;
	long			 plen;
	enum jwt_status		 st;

	memset(out, 0, sizeof(*out));
	/* The size first: nothing longer is even scanned for dots. */
	if (keys == NULL || token == NULL ||
	    (len = strnlen(token, JWT_MAX_LEN + 1)) == 0 || len > JWT_MAX_LEN)
		return JWT_MALFORMED;
	end = token + len;
	if ((dot1 = memchr(token, '.', len)) == NULL ||
	    (dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1))) == NULL ||
	    memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL)
		return JWT_MALFORMED;

	if ((st = header_check(keys, token, (size_t)(dot1 - token), &k)) !=
	    JWT_OK)
		return st;
	/*
	 * Empty payload or signature ("alg":"none" tokens end with a dot,
	 * and were refused above). The payload is decoded now, so that bad
	 * base64url is malformed wherever it is, but it is read only once
	 * the signature is good.
	 */
	if (dot2 == dot1 + 1 || dot2 + 1 == end ||
	    (plen = jwt_b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), pay,
	    sizeof(pay))) < 0)
		return JWT_MALFORMED;
	if ((st = signature_check(k, token, (size_t)(dot2 - token), dot2 + 1,
	    (size_t)(end - dot2 - 1))) != JWT_OK)
		return st;

	if ((st = payload_read(pay, (size_t)plen, out)) == JWT_OK)
		st = time_check(out, now);
	if (st != JWT_OK)
		memset(out, 0, sizeof(*out));
	return st;
}

const char *
jwt_strerror(enum jwt_status st)
{
	switch (st) {
	case JWT_OK:
		return "ok";
	case JWT_MALFORMED:
		return "malformed token";
	case JWT_BAD_ALG:
		return "algorithm not allowed";
	case JWT_UNKNOWN_KID:
		return "unknown key id";
	case JWT_BAD_SIGNATURE:
		return "bad signature";
	case JWT_EXPIRED:
		return "expired";
	case JWT_NOT_YET_VALID:
		return "not yet valid";
	}
	return "unknown status";
}
