/*
 * mktokens: access tokens for the benchmark's users (bench/tasks.sh).
 *
 *	mktokens KEYFILE TTL_SECONDS < ids > tokens
 *
 * Reads user ids, one a line, and prints one access token a line in the
 * same order, so that token n belongs to user n. Each is what a login
 * issues (lib/jwt.c jwt_sign): sub = the user id, sid = the session id
 * given after it on the line ("USER_ID SESSION_ID") or else a fixed one,
 * iat = now, exp = now + TTL_SECONDS. wrk's Lua has no HMAC, so the
 * benchmark signs its tokens ahead. Routes that only verify the token need
 * no session row; those that check the session (GET /api/v1/auth/me)
 * need a live one with that id (bench/tasks_seed.sql writes them).
 *
 * The key is read by conf_load(), the code quipu-fcgi runs at start:
 * KEYFILE is given as jwt_secret_file, so its raw bytes, trailing white
 * space and size limits are treated exactly as the server treats them.
 * As for the server, QUIPU_JWT_SECRET in the environment wins over the
 * file. The key's id goes to standard error (never the key), to be
 * compared with what `quipu-fcgi -t -v' names.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "jwt.h"

/* The session id when a line gives none: any id of uuid shape. */
#define MKTOKENS_SID	"00000000-0000-4000-8000-0000be9c0000"
/* A benchmark runs for minutes; a year is plenty and keeps exp sane. */
#define MKTOKENS_TTL_MAX	(365L * 86400)

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: mktokens KEYFILE TTL_SECONDS "
	    "< \"USER_ID [SESSION_ID]\" lines > tokens\n");
	exit(2);
}

/*
 * Loads the signing key from `path' through conf_load(), with no
 * configuration file: the defaults, then the QUIPU_* environment, where
 * QUIPU_JWT_SECRET_FILE now names `path'.
 */
static int
key_load(const char *path, struct jwt_key *k)
{
	struct conf	 c;
	char		 err[512];
	int		 rc;

	if (setenv("QUIPU_JWT_SECRET_FILE", path, 1) == -1) {
		fprintf(stderr, "mktokens: setenv: %s\n", strerror(errno));
		return -1;
	}
	if (conf_load(&c, NULL, false, err, sizeof(err)) == -1) {
		fprintf(stderr, "mktokens: %s\n", err);
		return -1;
	}
	if ((rc = jwt_key_set(k, c.jwt_key, c.jwt_key_len)) == -1)
		fprintf(stderr, "mktokens: the key is not usable\n");
	conf_free(&c);
	return rc;
}

/* Copies the id `s' (up to a blank or the end) into `out'; -1 if none. */
static int
id_copy(const char *s, char *out, size_t outlen)
{
	size_t	 n = strcspn(s, " \t");

	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/*
 * Sets the claims' ids from one line, "USER_ID [SESSION_ID]": -1 when the
 * line holds no id, more than two, one too long, or a NUL byte.
 */
static int
line_ids(char *line, size_t len, struct jwt_claims *c)
{
	char	*p;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (strlen(line) != len || id_copy(line, c->sub, sizeof(c->sub)) == -1)
		return -1;
	p = line + strlen(c->sub);
	p += strspn(p, " \t");
	if (*p == '\0') {
		memcpy(c->sid, MKTOKENS_SID, sizeof(MKTOKENS_SID));
		return 0;
	}
	if (id_copy(p, c->sid, sizeof(c->sid)) == -1)
		return -1;
	p += strlen(c->sid);
	return p[strspn(p, " \t")] == '\0' ? 0 : -1;
}

/* Signs one token per line of `in' onto `out'. */
static int
tokens_write(const struct jwt_key *k, long ttl, FILE *in, FILE *out)
{
	struct jwt_claims	 c;
	char			 token[JWT_MAX_LEN + 1], *line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;
	long			 lineno = 0;
	int64_t			 now = (int64_t)time(NULL);
	int			 rc = 0;

	while ((n = getline(&line, &cap, in)) != -1) {
		lineno++;
		memset(&c, 0, sizeof(c));
		if (line_ids(line, (size_t)n, &c) == -1) {
			fprintf(stderr, "mktokens: line %ld: not \"USER_ID "
			    "[SESSION_ID]\"\n", lineno);
			rc = -1;
			break;
		}
		c.iat = now;
		c.exp = now + ttl;
		if (jwt_sign(k, &c, token, sizeof(token)) != APP_OK) {
			fprintf(stderr, "mktokens: line %ld: cannot sign\n",
			    lineno);
			rc = -1;
			break;
		}
		if (fputs(token, out) == EOF || putc('\n', out) == EOF) {
			fprintf(stderr, "mktokens: write: %s\n",
			    strerror(errno));
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(in)) {
		fprintf(stderr, "mktokens: read: %s\n", strerror(errno));
		rc = -1;
	}
	free(line);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct jwt_key	 k;
	char		*end;
	long		 ttl;
	int		 rc;

	if (argc != 3)
		usage();
	errno = 0;
	ttl = strtol(argv[2], &end, 10);
	if (argv[2][0] == '\0' || *end != '\0' || errno != 0 || ttl < 1 ||
	    ttl > MKTOKENS_TTL_MAX)
		usage();
	if (key_load(argv[1], &k) == -1)
		return 1;
	fprintf(stderr, "mktokens: signing with the key of kid %s\n", k.kid);
	rc = tokens_write(&k, ttl, stdin, stdout);
	jwt_key_clear(&k);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "mktokens: write: %s\n", strerror(errno));
		rc = -1;
	}
	return rc == -1 ? 1 : 0;
}
