/*
 * test_jwt.c: base64url, key ids, signing, and every refusal of
 * jwt_verify. Forged tokens are built here with jwt_b64_encode and
 * libsodium's HMAC, so a header or payload can be signed with the right
 * key and the test sees which check refuses it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "jwt.h"

#define NOW	1795343400	/* 2026-11-22T05:00:00Z */
#define HDR(kid) "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"" kid "\"}"
#define PAY	"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"iat\":1795343400," \
		"\"exp\":1795344300}"

struct fix {
	unsigned char	 rawa[32], rawb[48];
	struct jwt_keys	 keys;		/* current a, no previous */
	struct jwt_key	 b;
	struct jwt_claims claims;
	char		 tok[2 * JWT_MAX_LEN];
};

static int
setup(void **state)
{
	struct fix	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	memset(f->rawa, 'a', sizeof(f->rawa));
	memset(f->rawb, 'b', sizeof(f->rawb));
	if (jwt_key_set(&f->keys.current, f->rawa, sizeof(f->rawa)) != 0 ||
	    jwt_key_set(&f->b, f->rawb, sizeof(f->rawb)) != 0)
		return -1;
	strcpy(f->claims.sub, "u-1");
	strcpy(f->claims.sid, "s-1");
	f->claims.iat = NOW;
	f->claims.exp = NOW + 900;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

/*
 * Appends "." and the base64url HMAC of out[0..strlen(out)) with
 * key[0..keylen) (keylen may be 0) to out.
 */
static char *
mac_append(char *out, size_t outlen, const void *key, size_t keylen)
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[crypto_auth_hmacsha256_BYTES];
	size_t				 n = strlen(out);

	assert_int_equal(crypto_auth_hmacsha256_init(&st, key, keylen), 0);
	assert_int_equal(crypto_auth_hmacsha256_update(&st,
	    (const unsigned char *)out, n), 0);
	assert_int_equal(crypto_auth_hmacsha256_final(&st, mac), 0);
	out[n++] = '.';
	assert_int_equal(jwt_b64_encode(mac, sizeof(mac), out + n,
	    outlen - n), 0);
	return out;
}

/*
 * Writes b64(hdr) "." b64(pay) "." sig into out, sig being the HMAC with
 * key[0..keylen) or, when key is NULL, the literal `rawsig'. Returns out.
 */
static char *
forge(char *out, size_t outlen, const char *hdr, const char *pay,
    const void *key, size_t keylen, const char *rawsig)
{
	size_t	 n;

	assert_int_equal(jwt_b64_encode(hdr, strlen(hdr), out, outlen), 0);
	n = strlen(out);
	out[n++] = '.';
	assert_int_equal(jwt_b64_encode(pay, strlen(pay), out + n,
	    outlen - n), 0);
	if (key != NULL)
		return mac_append(out, outlen, key, keylen);
	n += strlen(out + n);
	assert_true(n + 1 + strlen(rawsig) < outlen);
	out[n++] = '.';
	strcpy(out + n, rawsig);
	return out;
}

/* A token signed with key a (the current key) over hdr and pay. */
static const char *
forge_a(struct fix *f, const char *hdr, const char *pay)
{
	return forge(f->tok, sizeof(f->tok), hdr, pay, f->rawa,
	    sizeof(f->rawa), NULL);
}

/* "h64.p64" (already encoded, maybe badly) signed with key a. */
static const char *
sign_raw(struct fix *f, const char *h64, const char *p64)
{
	snprintf(f->tok, sizeof(f->tok), "%s.%s", h64, p64);
	return mac_append(f->tok, sizeof(f->tok), f->rawa, sizeof(f->rawa));
}

/* The header for key a, with its real kid. */
static const char *
hdr_a(struct fix *f, char *buf, size_t len)
{
	snprintf(buf, len, HDR("%s"), f->keys.current.kid);
	return buf;
}

/* jwt_verify at NOW, checking that *out is zeroed on every failure. */
static enum jwt_status
verify(const struct jwt_keys *keys, const char *tok, int64_t now)
{
	struct jwt_claims	 c, zero;
	enum jwt_status		 st;

	memset(&c, 0x5a, sizeof(c));
	memset(&zero, 0, sizeof(zero));
	st = jwt_verify(keys, tok, now, &c);
	if (st != JWT_OK)
		assert_memory_equal(&c, &zero, sizeof(c));
	return st;
}

/* ------------------------------------------------------------ base64url */

static void
test_b64_vectors(void **state)
{
	char		 out[16];
	unsigned char	 bin[16];
	static const unsigned char url[] = { 0xfb, 0xff, 0xbf };

	/* RFC 4648 section 10, without the padding. */
	assert_int_equal(jwt_b64_encode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(jwt_b64_encode("f", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "Zg");
	assert_int_equal(jwt_b64_encode("fo", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "Zm8");
	assert_int_equal(jwt_b64_encode("foo", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "Zm9v");
	assert_int_equal(jwt_b64_encode("foobar", 6, out, sizeof(out)), 0);
	assert_string_equal(out, "Zm9vYmFy");
	/* The URL-safe alphabet: '-' and '_', never '+' and '/'. */
	assert_int_equal(jwt_b64_encode(url, sizeof(url), out, sizeof(out)),
	    0);
	assert_string_equal(out, "-_-_");
	assert_int_equal(jwt_b64_decode("-_-_", 4, bin, sizeof(bin)), 3);
	assert_memory_equal(bin, url, 3);
	assert_int_equal(jwt_b64_decode("Zm9vYmE", 7, bin, sizeof(bin)), 5);
	assert_memory_equal(bin, "fooba", 5);
	assert_int_equal(jwt_b64_decode("", 0, bin, sizeof(bin)), 0);

	/* Room for the NUL is needed, and exactly enough is enough. */
	assert_int_equal(jwt_b64_encode("foo", 3, out, 4), -1);
	assert_int_equal(jwt_b64_encode("foo", 3, out, 5), 0);
	assert_int_equal(jwt_b64_encode("", 0, out, 0), -1);
	assert_int_equal(jwt_b64_decode("Zm9vYmFy", 8, bin, 5), -1);
	assert_int_equal(jwt_b64_decode("Zm9vYmFy", 8, bin, 6), 6);
	assert_int_equal(jwt_b64_decode("Zm8", 3, bin, 1), -1);
}

static void
test_b64_roundtrip(void **state)
{
	unsigned char	 in[40], back[40];
	char		 out[64], ref[64];
	size_t		 len, i;

	for (len = 0; len <= sizeof(in); len++) {
		for (i = 0; i < len; i++)
			in[i] = (unsigned char)(i * 37 + len * 11 + 0x80);
		assert_int_equal(jwt_b64_encode(in, len, out, sizeof(out)), 0);
		assert_int_equal(strlen(out), (len * 4 + 2) / 3);
		/* Against libsodium's independent codec. */
		sodium_bin2base64(ref, sizeof(ref), in, len,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_string_equal(out, ref);
		memset(back, 0, sizeof(back));
		assert_int_equal(jwt_b64_decode(out, strlen(out), back,
		    sizeof(back)), (long)len);
		assert_memory_equal(back, in, len);
	}
}

static void
test_b64_refused(void **state)
{
	unsigned char	 bin[64];
	static const char *bad[] = {
		"Zg==", "Zg=", "Zm9v=", "Z", "Zm9vY",	/* padding, 1 mod 4 */
		"Zh", "Zm9", "Zm-", "_x", "AB",		/* non-canonical */
		"Zm+v", "Zm/v", "Zm 9v", "Zm9v\n", "\tZm9v", "Zm.v",
		"Zm9v\xc3\xa9", "Zm%v",
	};
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(jwt_b64_decode(bad[i], strlen(bad[i]), bin,
		    sizeof(bin)), -1);
	/* A NUL inside the given length is a bad character too. */
	assert_int_equal(jwt_b64_decode("Zm\0v", 4, bin, sizeof(bin)), -1);
	/* Canonical spellings of such bytes are fine. */
	assert_int_equal(jwt_b64_decode("Zg", 2, bin, sizeof(bin)), 1);
	assert_int_equal(jwt_b64_decode("Zm8", 3, bin, sizeof(bin)), 2);
	assert_int_equal(jwt_b64_decode("AA", 2, bin, sizeof(bin)), 1);
	assert_int_equal(jwt_b64_decode("_w", 2, bin, sizeof(bin)), 1);
	assert_int_equal(bin[0], 0xff);
}

/* ------------------------------------------------------------ keys */

static void
test_key_set(void **state)
{
	unsigned char	 raw[JWT_KEY_MAX + 1], digest[32];
	struct jwt_key	 k1, k2, zero;
	char		 want[JWT_KID_LEN + 1];

	memset(raw, 'k', sizeof(raw));
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(jwt_key_set(&k1, raw, 32), 0);
	assert_int_equal(k1.len, 32);
	assert_memory_equal(k1.key, raw, 32);
	assert_int_equal(strlen(k1.kid), JWT_KID_LEN);
	/* The kid is the base64url of the first 6 bytes of SHA-256(key). */
	crypto_hash_sha256(digest, raw, 32);
	assert_int_equal(jwt_b64_encode(digest, 6, want, sizeof(want)), 0);
	assert_string_equal(k1.kid, want);
	/* Stable... */
	assert_int_equal(jwt_key_set(&k2, raw, 32), 0);
	assert_string_equal(k1.kid, k2.kid);
	/* ...and different for another key, even one byte longer. */
	assert_int_equal(jwt_key_set(&k2, raw, 33), 0);
	assert_string_not_equal(k1.kid, k2.kid);
	raw[0] = 'K';
	assert_int_equal(jwt_key_set(&k2, raw, 32), 0);
	assert_string_not_equal(k1.kid, k2.kid);

	/* Too short, too long, absent: refused and zeroed. */
	assert_int_equal(jwt_key_set(&k1, raw, JWT_KEY_MIN - 1), -1);
	assert_memory_equal(&k1, &zero, sizeof(k1));
	assert_int_equal(jwt_key_set(&k2, raw, 0), -1);
	assert_memory_equal(&k2, &zero, sizeof(k2));
	assert_int_equal(jwt_key_set(&k1, raw, JWT_KEY_MAX + 1), -1);
	assert_memory_equal(&k1, &zero, sizeof(k1));
	assert_int_equal(jwt_key_set(&k1, raw, JWT_KEY_MAX), 0);
	assert_int_equal(jwt_key_set(&k1, NULL, 32), -1);

	assert_int_equal(jwt_key_set(&k1, raw, 40), 0);
	jwt_key_clear(&k1);
	assert_memory_equal(&k1, &zero, sizeof(k1));
}

/* ------------------------------------------------------------ signing */

static void
test_roundtrip(void **state)
{
	struct fix		*f = *state;
	struct jwt_claims	 c;
	char			 hdr[128], *forged;

	assert_int_equal(jwt_sign(&f->keys.current, &f->claims, f->tok,
	    sizeof(f->tok)), APP_OK);
	assert_int_equal(jwt_verify(&f->keys, f->tok, NOW, &c), JWT_OK);
	assert_string_equal(c.sub, "u-1");
	assert_string_equal(c.sid, "s-1");
	assert_true(c.iat == NOW);
	assert_true(c.exp == NOW + 900);

	/* Exactly the documented header and payload, byte for byte. */
	forged = forge(malloc(sizeof(f->tok)), sizeof(f->tok),
	    hdr_a(f, hdr, sizeof(hdr)), PAY, f->rawa, sizeof(f->rawa), NULL);
	assert_string_equal(f->tok, forged);
	free(forged);

	/* Ids with every allowed character, at the maximum length. */
	memset(f->claims.sub, 'x', JWT_ID_MAX - 1);
	f->claims.sub[JWT_ID_MAX - 1] = '\0';
	strcpy(f->claims.sid, "AZaz09-_:.");
	f->claims.iat = INT64_MIN;
	f->claims.exp = INT64_MAX;
	assert_int_equal(jwt_sign(&f->keys.current, &f->claims, f->tok,
	    sizeof(f->tok)), APP_OK);
	assert_true(strlen(f->tok) <= JWT_MAX_LEN);
	assert_int_equal(jwt_verify(&f->keys, f->tok, NOW, &c), JWT_OK);
	assert_string_equal(c.sub, f->claims.sub);
	assert_string_equal(c.sid, "AZaz09-_:.");
	assert_true(c.iat == INT64_MIN);
	assert_true(c.exp == INT64_MAX);
}

static void
test_sign_refused(void **state)
{
	struct fix		*f = *state;
	struct jwt_claims	 c = f->claims;
	struct jwt_key		 unset;
	char			 small[64], *buf;
	size_t			 need, n;

	memset(&unset, 0, sizeof(unset));
	assert_int_equal(jwt_sign(&unset, &c, f->tok, sizeof(f->tok)),
	    APP_EINVAL);
	assert_string_equal(f->tok, "");
	strcpy(c.sub, "");
	assert_int_equal(jwt_sign(&f->keys.current, &c, f->tok,
	    sizeof(f->tok)), APP_EINVAL);
	strcpy(c.sub, "a\"b");
	assert_int_equal(jwt_sign(&f->keys.current, &c, f->tok,
	    sizeof(f->tok)), APP_EINVAL);
	strcpy(c.sub, "a b");
	assert_int_equal(jwt_sign(&f->keys.current, &c, f->tok,
	    sizeof(f->tok)), APP_EINVAL);
	c = f->claims;
	strcpy(c.sid, "caf\xc3\xa9");
	assert_int_equal(jwt_sign(&f->keys.current, &c, f->tok,
	    sizeof(f->tok)), APP_EINVAL);
	/* Not NUL-terminated within JWT_ID_MAX. */
	c = f->claims;
	memset(c.sid, 'x', sizeof(c.sid));
	assert_int_equal(jwt_sign(&f->keys.current, &c, f->tok,
	    sizeof(f->tok)), APP_EINVAL);
	c = f->claims;
	c.exp = c.iat - 1;
	assert_int_equal(jwt_sign(&f->keys.current, &c, f->tok,
	    sizeof(f->tok)), APP_EINVAL);

	/* Too small a buffer, at every size short of the token's length. */
	c = f->claims;
	assert_int_equal(jwt_sign(&f->keys.current, &c, f->tok,
	    sizeof(f->tok)), APP_OK);
	assert_int_equal(jwt_sign(&f->keys.current, &c, small, sizeof(small)),
	    APP_EINTERNAL);
	assert_string_equal(small, "");
	assert_int_equal(jwt_sign(&f->keys.current, &c, small, 0),
	    APP_EINTERNAL);
	need = strlen(f->tok) + 1;
	buf = malloc(need);
	assert_non_null(buf);
	for (n = 1; n < need; n++)
		assert_int_equal(jwt_sign(&f->keys.current, &c, buf, n),
		    APP_EINTERNAL);
	assert_int_equal(jwt_sign(&f->keys.current, &c, buf, need), APP_OK);
	assert_string_equal(buf, f->tok);
	free(buf);
}

/* ------------------------------------------------------------ alg */

static void
test_bad_alg(void **state)
{
	struct fix	*f = *state;
	char		 sig[64], tok[2 * JWT_MAX_LEN], hdr[128];
	const char	*kid = f->keys.current.kid;
	static const char *algs[] = { "none", "None", "HS512", "RS256",
	    "hs256", "HS256 ", "" };
	size_t		 i;

	/* A good token, whose signature we keep. */
	assert_int_equal(jwt_sign(&f->keys.current, &f->claims, f->tok,
	    sizeof(f->tok)), APP_OK);
	strcpy(sig, strrchr(f->tok, '.') + 1);
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_OK);

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\","
		    "\"kid\":\"%s\"}", algs[i], kid);
		/* Header re-encoded, signature unchanged. */
		forge(tok, sizeof(tok), hdr, PAY, NULL, 0, sig);
		assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_ALG);
		/* Even when correctly signed with the right key. */
		forge(tok, sizeof(tok), hdr, PAY, f->rawa, sizeof(f->rawa),
		    NULL);
		assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_ALG);
		/* The classic: an empty signature. */
		forge(tok, sizeof(tok), hdr, PAY, NULL, 0, "");
		assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_ALG);
	}
}

static void
test_alg_none(void **state)
{
	struct fix	*f = *state;
	char		 tok[2 * JWT_MAX_LEN];

	/* The RFC 7519 section 6.1 unsecured token, with our payload. */
	forge(tok, sizeof(tok), "{\"alg\":\"none\"}", PAY, NULL, 0, "");
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_ALG);
	forge(tok, sizeof(tok), "{\"typ\":\"JWT\",\r\n \"alg\":\"none\"}", PAY,
	    NULL, 0, "");
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_ALG);
	/* With an empty key as its "secret", and no kid. */
	forge(tok, sizeof(tok), "{\"alg\":\"none\"}", PAY, "", 0, NULL);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_ALG);
}

static void
test_header_shape(void **state)
{
	struct fix	*f = *state;
	char		 hdr[160];
	const char	*kid = f->keys.current.kid;

	/* Without "typ": still ours (only the value is checked). */
	snprintf(hdr, sizeof(hdr), "{\"kid\":\"%s\",\"alg\":\"HS256\"}", kid);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr, PAY), NOW), JWT_OK);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":\"JWS\","
	    "\"kid\":\"%s\"}", kid);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr, PAY), NOW),
	    JWT_MALFORMED);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"typ\":null,"
	    "\"kid\":\"%s\"}", kid);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr, PAY), NOW),
	    JWT_MALFORMED);
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"crit\":[\"exp\"],"
	    "\"kid\":\"%s\"}", kid);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr, PAY), NOW),
	    JWT_MALFORMED);
	/* "alg" absent or not a string. */
	snprintf(hdr, sizeof(hdr), "{\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr, PAY), NOW),
	    JWT_MALFORMED);
	snprintf(hdr, sizeof(hdr), "{\"alg\":[\"HS256\"],\"kid\":\"%s\"}", kid);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr, PAY), NOW),
	    JWT_MALFORMED);
	snprintf(hdr, sizeof(hdr), "{\"alg\":null,\"kid\":\"%s\"}", kid);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr, PAY), NOW),
	    JWT_MALFORMED);
	/* "kid" absent or not a string. */
	assert_int_equal(verify(&f->keys, forge_a(f, "{\"alg\":\"HS256\"}",
	    PAY), NOW), JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, forge_a(f, "{\"alg\":\"HS256\","
	    "\"kid\":12345678}", PAY), NOW), JWT_MALFORMED);
	/* Not an object, not JSON. */
	assert_int_equal(verify(&f->keys, forge_a(f, "[\"HS256\"]", PAY), NOW),
	    JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, forge_a(f, "\"HS256\"", PAY), NOW),
	    JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, forge_a(f, "{alg:HS256}", PAY), NOW),
	    JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, forge_a(f, "{\"alg\":\"HS256\"",
	    PAY), NOW), JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, forge_a(f, "null", PAY), NOW),
	    JWT_MALFORMED);
}

/* ------------------------------------------------------------ signature */

static void
test_tampered(void **state)
{
	struct fix	*f = *state;
	char		 tok[2 * JWT_MAX_LEN], sig[64], hdr[128], *p;
	size_t		 n;

	assert_int_equal(jwt_sign(&f->keys.current, &f->claims, f->tok,
	    sizeof(f->tok)), APP_OK);
	strcpy(sig, strrchr(f->tok, '.') + 1);
	assert_int_equal(strlen(sig), 43);

	/* Payload changed (another sub), signature kept. */
	forge(tok, sizeof(tok), hdr_a(f, hdr, sizeof(hdr)),
	    "{\"sub\":\"u-2\",\"sid\":\"s-1\",\"iat\":1795343400,"
	    "\"exp\":1795344300}", NULL, 0, sig);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_SIGNATURE);
	/* Header changed in a way that keeps it valid (no "typ"). */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\"}",
	    f->keys.current.kid);
	forge(tok, sizeof(tok), hdr, PAY, NULL, 0, sig);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_SIGNATURE);

	/* One signature character flipped, wherever it is. */
	for (n = 0; n < 43; n++) {
		strcpy(tok, f->tok);
		p = strrchr(tok, '.') + 1 + n;
		*p = *p == 'A' ? 'B' : 'A';
		if (n < 42)
			assert_int_equal(verify(&f->keys, tok, NOW),
			    JWT_BAD_SIGNATURE);
		else
			assert_int_not_equal(verify(&f->keys, tok, NOW),
			    JWT_OK);
	}
	/*
	 * The last character carries 4 bits and 2 zero bits: its 3 other
	 * spellings decode to the same 32 bytes in a lenient decoder. They
	 * are not the same token.
	 */
	for (n = 1; n < 4; n++) {
		static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_";
		size_t	 v;

		strcpy(tok, f->tok);
		p = tok + strlen(tok) - 1;
		v = (size_t)(strchr(alpha, *p) - alpha);
		assert_int_equal(v & 3, 0);
		*p = alpha[v | n];
		assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	}
	/* Signature truncated or extended: no longer 32 bytes. */
	strcpy(tok, f->tok);
	tok[strlen(tok) - 3] = '\0';
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_SIGNATURE);
	strcpy(tok, f->tok);
	strcat(tok, "AAAA");
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_SIGNATURE);
	/* The header's MAC is not the signature of anything useful. */
	strcpy(tok, f->tok);
	tok[strlen(tok) - 43] = '\0';
	strcat(tok, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_BAD_SIGNATURE);
}

static void
test_wrong_key(void **state)
{
	struct fix	*f = *state;
	char		 hdr[128];

	/* The kid of a, the MAC of b. */
	forge(f->tok, sizeof(f->tok), hdr_a(f, hdr, sizeof(hdr)), PAY,
	    f->rawb, sizeof(f->rawb), NULL);
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_BAD_SIGNATURE);
	/* The kid of a, the MAC of a's first 31 bytes, or of no key. */
	forge(f->tok, sizeof(f->tok), hdr, PAY, f->rawa, sizeof(f->rawa) - 1,
	    NULL);
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_BAD_SIGNATURE);
	forge(f->tok, sizeof(f->tok), hdr, PAY, "", 0, NULL);
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_BAD_SIGNATURE);
}

static void
test_unknown_kid(void **state)
{
	struct fix	*f = *state;
	struct jwt_keys	 none;
	char		 hdr[128];

	/* Honestly signed with b, which the verifier does not hold. */
	assert_int_equal(jwt_sign(&f->b, &f->claims, f->tok, sizeof(f->tok)),
	    APP_OK);
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_UNKNOWN_KID);
	/* Made-up kids, signed with a. */
	assert_int_equal(verify(&f->keys, forge_a(f, HDR("AAAAAAAA"), PAY),
	    NOW), JWT_UNKNOWN_KID);
	assert_int_equal(verify(&f->keys, forge_a(f, HDR("x"), PAY), NOW),
	    JWT_UNKNOWN_KID);
	/*
	 * An unset previous key has kid "" and length 0: a "kid":"" token
	 * signed with the empty key must not find it.
	 */
	forge(f->tok, sizeof(f->tok), HDR(""), PAY, "", 0, NULL);
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_UNKNOWN_KID);
	memset(&none, 0, sizeof(none));
	assert_int_equal(verify(&none, f->tok, NOW), JWT_UNKNOWN_KID);
	/* A kid that is a's plus or minus one character. */
	snprintf(hdr, sizeof(hdr), HDR("%sA"), f->keys.current.kid);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr, PAY), NOW),
	    JWT_UNKNOWN_KID);
	snprintf(hdr, sizeof(hdr), HDR("%.7s"), f->keys.current.kid);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr, PAY), NOW),
	    JWT_UNKNOWN_KID);
}

static void
test_rotation(void **state)
{
	struct fix		*f = *state;
	struct jwt_keys		 keys;
	struct jwt_claims	 c;
	char			 old[JWT_MAX_LEN + 1];

	/* A token minted before the rotation, with a. */
	assert_int_equal(jwt_sign(&f->keys.current, &f->claims, old,
	    sizeof(old)), APP_OK);
	/* Rotated: b signs, a only verifies. */
	keys.current = f->b;
	keys.previous = f->keys.current;
	assert_int_equal(jwt_verify(&keys, old, NOW, &c), JWT_OK);
	assert_string_equal(c.sub, "u-1");
	assert_int_equal(jwt_sign(&keys.current, &f->claims, f->tok,
	    sizeof(f->tok)), APP_OK);
	assert_int_equal(verify(&keys, f->tok, NOW), JWT_OK);
	/* The old holder of a cannot verify b's token. */
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_UNKNOWN_KID);
	/* The previous key retired. */
	jwt_key_clear(&keys.previous);
	assert_int_equal(verify(&keys, old, NOW), JWT_UNKNOWN_KID);
	assert_int_equal(verify(&keys, f->tok, NOW), JWT_OK);
}

/* ------------------------------------------------------------ time */

static void
test_times(void **state)
{
	struct fix	*f = *state;
	int64_t		 exp = f->claims.exp, iat = f->claims.iat;
	char		 hdr[128];

	assert_int_equal(jwt_sign(&f->keys.current, &f->claims, f->tok,
	    sizeof(f->tok)), APP_OK);
	assert_int_equal(verify(&f->keys, f->tok, exp), JWT_OK);
	assert_int_equal(verify(&f->keys, f->tok, exp + JWT_LEEWAY), JWT_OK);
	assert_int_equal(verify(&f->keys, f->tok, exp + JWT_LEEWAY + 1),
	    JWT_EXPIRED);
	assert_int_equal(verify(&f->keys, f->tok, exp + 86400), JWT_EXPIRED);
	assert_int_equal(verify(&f->keys, f->tok, INT64_MAX), JWT_EXPIRED);
	assert_int_equal(verify(&f->keys, f->tok, iat), JWT_OK);
	assert_int_equal(verify(&f->keys, f->tok, iat - JWT_LEEWAY), JWT_OK);
	assert_int_equal(verify(&f->keys, f->tok, iat - JWT_LEEWAY - 1),
	    JWT_NOT_YET_VALID);
	assert_int_equal(verify(&f->keys, f->tok, INT64_MIN),
	    JWT_NOT_YET_VALID);

	/* A zero lifetime is fine; a negative one is malformed. */
	hdr_a(f, hdr, sizeof(hdr));
	assert_int_equal(verify(&f->keys, forge_a(f, hdr,
	    "{\"sub\":\"u\",\"sid\":\"s\",\"iat\":10,\"exp\":10}"), 10),
	    JWT_OK);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr,
	    "{\"sub\":\"u\",\"sid\":\"s\",\"iat\":10,\"exp\":9}"), 10),
	    JWT_MALFORMED);
	/* Extremes do not overflow the leeway arithmetic. */
	assert_int_equal(verify(&f->keys, forge_a(f, hdr,
	    "{\"sub\":\"u\",\"sid\":\"s\",\"iat\":-9223372036854775808,"
	    "\"exp\":-9223372036854775808}"), INT64_MAX), JWT_EXPIRED);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr,
	    "{\"sub\":\"u\",\"sid\":\"s\",\"iat\":9223372036854775807,"
	    "\"exp\":9223372036854775807}"), INT64_MIN),
	    JWT_NOT_YET_VALID);
}

/* ------------------------------------------------------------ shape */

static void
test_malformed_shape(void **state)
{
	struct fix	*f = *state;
	char		 tok[2 * JWT_MAX_LEN], h[128], p[512], s[64], *d1, *d2;

	assert_int_equal(jwt_sign(&f->keys.current, &f->claims, f->tok,
	    sizeof(f->tok)), APP_OK);
	d1 = strchr(f->tok, '.');
	d2 = strchr(d1 + 1, '.');
	snprintf(h, sizeof(h), "%.*s", (int)(d1 - f->tok), f->tok);
	snprintf(p, sizeof(p), "%.*s", (int)(d2 - d1 - 1), d1 + 1);
	snprintf(s, sizeof(s), "%s", d2 + 1);
	snprintf(tok, sizeof(tok), "%s.%s.%s", h, p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_OK);

	assert_int_equal(verify(&f->keys, NULL, NOW), JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, "", NOW), JWT_MALFORMED);
	assert_int_equal(verify(NULL, f->tok, NOW), JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, h, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s", h, p);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s.%s.%s", h, p, s, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s.%s.", h, p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	/* Four parts, the last three signed as if they were two. */
	snprintf(tok, sizeof(tok), "%s.%s.%s", h, p, p);
	assert_int_equal(verify(&f->keys, mac_append(tok, sizeof(tok),
	    f->rawa, sizeof(f->rawa)), NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s..%s", h, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s.", h, p);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), ".%s.%s", p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, "..", NOW), JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, ".", NOW), JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, "...", NOW), JWT_MALFORMED);
	/* Padding, white space and foreign characters, in each part. */
	snprintf(tok, sizeof(tok), "%s=.%s.%s", h, p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s.%s=", h, p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s.%s ", h, p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), " %s.%s.%s", h, p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s.%s\n", h, p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "Bearer %s.%s.%s", h, p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s=.%s", h, p, s);
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s.%s", h, p, s);
	tok[3] = '+';
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s.%s", h, p, s);
	tok[strlen(h) + 1 + 5] = '*';
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	snprintf(tok, sizeof(tok), "%s.%s.%s", h, p, s);
	tok[strlen(h) + 1 + strlen(p) + 1 + 5] = '/';
	assert_int_equal(verify(&f->keys, tok, NOW), JWT_MALFORMED);
	/* Correctly signed, yet not base64url or not JSON. */
	assert_int_equal(verify(&f->keys, sign_raw(f, h, "e30AA"), NOW),
	    JWT_MALFORMED);			/* 1 mod 4 */
	assert_int_equal(verify(&f->keys, sign_raw(f, h, "e30="), NOW),
	    JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, sign_raw(f, h, "e31"), NOW),
	    JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, sign_raw(f, h, "e30*"), NOW),
	    JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, sign_raw(f, "e30", p), NOW),
	    JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr_a(f, h, sizeof(h)),
	    "x"), NOW), JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr_a(f, h, sizeof(h)),
	    ""), NOW), JWT_MALFORMED);
	assert_int_equal(verify(&f->keys, forge_a(f, hdr_a(f, h, sizeof(h)),
	    "{}"), NOW), JWT_MALFORMED);
}

/*
 * A token signed with a, of exactly `want' characters: padded in the
 * header and the payload, because base64url lengths skip 1 mod 4.
 */
static bool
forge_len(struct fix *f, size_t want)
{
	char	 hdr[128], pay[JWT_MAX_LEN];
	int	 hpad, pad;

	for (hpad = 0; hpad < 4; hpad++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\","
		    "\"x\":\"%*s\"}", f->keys.current.kid, hpad, "");
		for (pad = 0; pad < 900; pad++) {
			snprintf(pay, sizeof(pay), "{\"sub\":\"u\","
			    "\"sid\":\"s\",\"iat\":1795343400,\"exp\":1795344300,"
			    "\"pad\":\"%*s\"}", pad, "");
			if (strlen(forge_a(f, hdr, pay)) == want)
				return true;
		}
	}
	return false;
}

static void
test_malformed_size(void **state)
{
	struct fix	*f = *state;

	/* JWT_MAX_LEN is fine, more is not, however well signed. */
	assert_true(forge_len(f, JWT_MAX_LEN));
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_OK);
	assert_true(forge_len(f, JWT_MAX_LEN + 1));
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_MALFORMED);
	assert_true(forge_len(f, JWT_MAX_LEN + 2));
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_MALFORMED);
	/* One character past the limit, in the signature. */
	assert_true(forge_len(f, JWT_MAX_LEN - 1));
	strcat(f->tok, "A");
	assert_int_equal(strlen(f->tok), JWT_MAX_LEN);
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_BAD_SIGNATURE);
	strcat(f->tok, "A");
	assert_int_equal(verify(&f->keys, f->tok, NOW), JWT_MALFORMED);
}

static void
test_malformed_payload(void **state)
{
	struct fix	*f = *state;
	char		 h[128], pay[256];
	static const char *bad[] = {
		"\"u-1\"",
		"[\"u-1\",\"s-1\",1795343400,1795344300]",
		"null",
		"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"iat\":1795343400",
		"{\"sid\":\"s-1\",\"iat\":1795343400,\"exp\":1795344300}",
		"{\"sub\":\"u-1\",\"iat\":1795343400,\"exp\":1795344300}",
		"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"exp\":1795344300}",
		"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"iat\":1795343400}",
		"{\"sub\":\"\",\"sid\":\"s-1\",\"iat\":1795343400,"
		    "\"exp\":1795344300}",
		"{\"sub\":7,\"sid\":\"s-1\",\"iat\":1795343400,"
		    "\"exp\":1795344300}",
		"{\"sub\":null,\"sid\":\"s-1\",\"iat\":1795343400,"
		    "\"exp\":1795344300}",
		"{\"sub\":\"u-1\",\"sid\":[\"s-1\"],\"iat\":1795343400,"
		    "\"exp\":1795344300}",
		"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"iat\":\"1795343400\","
		    "\"exp\":1795344300}",
		"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"iat\":1795343400,"
		    "\"exp\":1795344300.0}",
		"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"iat\":1795343400,"
		    "\"exp\":1.7953443e9}",
		"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"iat\":1795343400,"
		    "\"exp\":true}",
		"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"iat\":1795343400,"
		    "\"exp\":null}",
		"{\"sub\":\"u-\\u0000\",\"sid\":\"s-1\",\"iat\":1795343400,"
		    "\"exp\":1795344300}",
		"{\"sub\":\"u-1\",\"sid\":\"s-1\",\"iat\":1795343400,"
		    "\"exp\":1795344300}x",
		"{'sub':'u-1','sid':'s-1','iat':1795343400,'exp':1795344300}",
	};
	size_t		 i;

	hdr_a(f, h, sizeof(h));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(verify(&f->keys, forge_a(f, h, bad[i]), NOW),
		    JWT_MALFORMED);

	/* Ids of JWT_ID_MAX - 1 bytes fit; JWT_ID_MAX do not. */
	snprintf(pay, sizeof(pay), "{\"sub\":\"%0*d\",\"sid\":\"s\","
	    "\"iat\":1795343400,\"exp\":1795344300}", JWT_ID_MAX - 1, 0);
	assert_int_equal(verify(&f->keys, forge_a(f, h, pay), NOW), JWT_OK);
	snprintf(pay, sizeof(pay), "{\"sub\":\"%0*d\",\"sid\":\"s\","
	    "\"iat\":1795343400,\"exp\":1795344300}", JWT_ID_MAX, 0);
	assert_int_equal(verify(&f->keys, forge_a(f, h, pay), NOW),
	    JWT_MALFORMED);
	snprintf(pay, sizeof(pay), "{\"sub\":\"u\",\"sid\":\"%0*d\","
	    "\"iat\":1795343400,\"exp\":1795344300}", JWT_ID_MAX, 0);
	assert_int_equal(verify(&f->keys, forge_a(f, h, pay), NOW),
	    JWT_MALFORMED);
	/* Extra claims and another member order are accepted. */
	assert_int_equal(verify(&f->keys, forge_a(f, h, "{\"exp\":1795344300,"
	    "\"iat\":1795343400,\"sid\":\"s\",\"sub\":\"u\",\"aud\":\"x\"}"),
	    NOW), JWT_OK);
}

/* Strings for logs exist and differ. */
static void
test_strerror(void **state)
{
	int	 i, j;

	for (i = JWT_OK; i <= JWT_NOT_YET_VALID; i++) {
		assert_non_null(jwt_strerror(i));
		for (j = JWT_OK; j < i; j++)
			assert_string_not_equal(jwt_strerror(i),
			    jwt_strerror(j));
	}
	assert_string_equal(jwt_strerror(JWT_EXPIRED), "expired");
	assert_string_equal(jwt_strerror(JWT_BAD_SIGNATURE), "bad signature");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_roundtrip),
		cmocka_unit_test(test_b64_refused),
		cmocka_unit_test(test_key_set),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sign_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_alg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alg_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_shape, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_kid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_times, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_shape, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed_size, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed_payload, setup,
		    teardown),
		cmocka_unit_test(test_strerror),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
