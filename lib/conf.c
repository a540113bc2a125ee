/*
 * conf.c: parsing, defaults, environment overrides and documentation,
 * all from the one table conf_keys[].
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "conf.h"
#include "jwt.h"
#include "log.h"

#ifndef QUIPU_SYSCONFDIR
#define QUIPU_SYSCONFDIR "/etc/quipu"
#endif
#ifndef QUIPU_SQLDIR
#define QUIPU_SQLDIR "/usr/share/quipu/sql"
#endif

#define OFF(f)	offsetof(struct conf, f)
#define R	CONF_RESTART
#define S	CONF_SECRET

const struct conf_key conf_keys[] = {
	/* Process and socket. */
	{ "listen", CONF_STR, OFF(listen), "/run/quipu/quipu.sock", 0, 0, R,
	    "unix socket path or host:port; ignored when a socket is inherited" },
	{ "listen_backlog", CONF_INT, OFF(listen_backlog), "511", 1, 65535, R,
	    "listen(2) backlog" },
	{ "listen_mode", CONF_STR, OFF(listen_mode), "0660", 0, 0, R,
	    "permissions of a unix socket quipu creates (octal)" },
	{ "user", CONF_STR, OFF(user), "", 0, 0, R,
	    "when started as root, drop privileges to this user" },
	{ "group", CONF_STR, OFF(group), "", 0, 0, R,
	    "group for the dropped privileges and the socket; default: the user's" },
	{ "pid_file", CONF_STR, OFF(pid_file), "", 0, 0, R,
	    "write the master's pid here; empty: none" },
	{ "workers", CONF_INT, OFF(workers), "0", 0, 256, R,
	    "worker processes; 0: one per CPU" },
	{ "threads", CONF_INT, OFF(threads), "64", 1, 1024, R,
	    "acceptor threads per worker" },
	{ "max_requests", CONF_INT, OFF(max_requests), "0", 0, INT_MAX, 0,
	    "recycle a worker after about this many requests (+-10%); 0: never" },
	{ "shutdown_timeout", CONF_INT, OFF(shutdown_timeout), "30", 0, 3600, 0,
	    "seconds a graceful stop or reload waits for in-flight requests" },
	{ "request_timeout", CONF_INT, OFF(request_timeout), "150", 1, 86400, 0,
	    "seconds before a request is cancelled (streams included)" },
	{ "slow_request_timeout", CONF_INT, OFF(slow_request_timeout), "5", 0,
	    86400, 0, "log requests running longer than this many seconds; 0: off" },
	{ "max_body", CONF_LONG, OFF(max_body), "1048576", 0, 1073741824L, 0,
	    "request body limit, bytes" },
	/* Logging. */
	{ "log_level", CONF_STR, OFF(log_level), "info", 0, 0, 0,
	    "error, warn, info or debug" },
	{ "error_log", CONF_STR, OFF(error_log), "", 0, 0, R,
	    "error log file; empty: standard error (the journal under systemd)" },
	{ "access_log", CONF_STR, OFF(access_log), "", 0, 0, R,
	    "access log file (JSON lines); empty: standard error; off: none" },
	/* Database. */
	{ "database_url", CONF_STR, OFF(database_url), "postgresql:///quipu", 0,
	    0, 0, "libpq connection string" },
	{ "db_pool_size", CONF_INT, OFF(db_pool_size), "4", 1, 1000, 0,
	    "PostgreSQL connections per worker" },
	{ "db_statement_timeout", CONF_INT, OFF(db_statement_timeout), "5000",
	    0, 3600000, 0, "statement_timeout of each connection, milliseconds" },
	{ "db_connect_timeout", CONF_INT, OFF(db_connect_timeout), "5", 1, 600,
	    0, "seconds to wait for a connection, or a free one in the pool" },
	{ "db_prepare", CONF_BOOL, OFF(db_prepare), "on", 0, 0, 0,
	    "prepare each statement once per connection; off for PgBouncer in "
	    "transaction mode before 1.21" },
	{ "sql_dir", CONF_STR, OFF(sql_dir), NULL, 0, 0, 0,
	    "directory of the numbered migrations (default: $datadir/quipu/sql)" },
	/* Auth. */
	{ "jwt_secret_file", CONF_STR, OFF(jwt_secret_file), NULL, 0, 0, 0,
	    "file holding the JWT signing key, at least 32 bytes "
	    "(default: $sysconfdir/quipu/jwt.key)" },
	{ "jwt_secret", CONF_STR, OFF(jwt_secret), "", 0, 0, S,
	    "the JWT key itself; give it by environment (QUIPU_JWT_SECRET), "
	    "not in this file" },
	{ "jwt_previous_secret_file", CONF_STR, OFF(jwt_previous_secret_file),
	    "", 0, 0, 0, "the key used before a rotation: tokens it signed "
	    "still verify until they expire; empty: none" },
	{ "jwt_previous_secret", CONF_STR, OFF(jwt_previous_secret), "", 0, 0,
	    S, "the previous key itself; by environment only "
	    "(QUIPU_JWT_PREVIOUS_SECRET)" },
	{ "access_token_ttl", CONF_INT, OFF(access_token_ttl), "900", 10,
	    86400, 0, "access token lifetime, seconds" },
	{ "refresh_token_ttl", CONF_INT, OFF(refresh_token_ttl), "2592000", 60,
	    31536000, 0, "refresh token lifetime, seconds" },
	{ "cookie_secure", CONF_BOOL, OFF(cookie_secure), "on", 0, 0, 0,
	    "mark cookies Secure; off only for plain-http development" },
	{ "allowed_origins", CONF_STR, OFF(allowed_origins), "", 0, 0, 0,
	    "space-separated origins for CORS and the cookie CSRF check" },
	{ "login_max_failures", CONF_INT, OFF(login_max_failures), "5", 0,
	    1000000, 0, "failed logins per username and per address within "
	    "login_failure_window before 429; 0: no throttling" },
	{ "login_failure_window", CONF_INT, OFF(login_failure_window), "900",
	    60, 86400, 0, "seconds a failed login counts against its username "
	    "and address" },
	{ "register_max_per_hour", CONF_INT, OFF(register_max_per_hour), "20",
	    0, 1000000, 0, "accounts one client address may create per hour "
	    "before 429; 0: no limit" },
	{ "password_hash_concurrency", CONF_INT,
	    OFF(password_hash_concurrency), "1", 1, 64, 0,
	    "argon2id hashes computed at once per worker; each takes 64 MiB" },
	/* LLM and memory. */
	{ "llm_provider", CONF_STR, OFF(llm_provider), "builtin", 0, 0, 0,
	    "builtin (offline) or openai (any OpenAI-compatible API)" },
	{ "llm_base_url", CONF_STR, OFF(llm_base_url),
	    "https://api.openai.com/v1", 0, 0, 0,
	    "base URL of the OpenAI-compatible API" },
	{ "llm_api_key_file", CONF_STR, OFF(llm_api_key_file), "", 0, 0, 0,
	    "file holding the API key; or QUIPU_LLM_API_KEY by environment" },
	{ "llm_api_key", CONF_STR, OFF(llm_api_key), "", 0, 0, S,
	    "the API key itself; give it by environment, not in this file" },
	{ "llm_model", CONF_STR, OFF(llm_model), "gpt-4o-mini", 0, 0, 0,
	    "model name sent to the API" },
	{ "llm_timeout", CONF_INT, OFF(llm_timeout), "120", 1, 3600, 0,
	    "seconds for a whole turn" },
	{ "llm_connect_timeout", CONF_INT, OFF(llm_connect_timeout), "10", 1,
	    300, 0, "seconds to connect to the model's server" },
	{ "llm_retries", CONF_INT, OFF(llm_retries), "2", 0, 10, 0,
	    "retries of a failed model call before its first token "
	    "(connection errors, 429, 5xx), with backoff" },
	{ "llm_max_response", CONF_INT, OFF(llm_max_response), "8388608",
	    1024, 268435456, 0, "bytes of a model's HTTP answer accepted "
	    "(a streamed token takes about 150)" },
	{ "llm_builtin_delay", CONF_INT, OFF(llm_builtin_delay), "15", 0, 1000,
	    0, "milliseconds between the builtin model's streamed words" },
	{ "llm_vision", CONF_BOOL, OFF(llm_vision), "yes", 0, 0, 0,
	    "whether the model reads images: images attached to a ChatKit "
	    "message then reach it as image_url parts (data: URLs); off for a "
	    "model that takes only text, which is told each image's name, type "
	    "and size instead (text files are inlined either way)" },
	{ "transcribe_model", CONF_STR, OFF(transcribe_model), "", 0, 0, 0,
	    "model that turns ChatKit's voice input (input.transcribe) into "
	    "text, through <llm_base_url>/audio/transcriptions with the API "
	    "key of llm_api_key (e.g. whisper-1 or gpt-4o-mini-transcribe); "
	    "empty: voice input answers 503 \"transcription is not "
	    "configured\"" },
	{ "sse_heartbeat", CONF_INT, OFF(sse_heartbeat), "15", 1, 300, 0,
	    "seconds of silence before a stream sends a heartbeat comment" },
	{ "max_tool_rounds", CONF_INT, OFF(max_tool_rounds), "5", 0, 50, 0,
	    "tool-call rounds per turn" },
	{ "embedding_provider", CONF_STR, OFF(embedding_provider), "builtin", 0,
	    0, 0, "embeddings of the memories: builtin (offline feature "
	    "hashing, 256 dimensions) or openai (<llm_base_url>/embeddings with "
	    "the API key of llm_api_key)" },
	{ "embedding_model", CONF_STR, OFF(embedding_model),
	    "text-embedding-3-small", 0, 0, 0, "model sent to "
	    "<llm_base_url>/embeddings when embedding_provider is openai" },
	{ "messages_per_day", CONF_INT, OFF(messages_per_day), "100", 0,
	    INT_MAX, 0, "per-user daily message quota; 0 disables" },
	/* ChatKit: attachments and the browser's tools. */
	{ "public_url", CONF_STR, OFF(public_url), "", 0, 0, 0,
	    "quipu's address as browsers reach it, e.g. https://app.example.com "
	    "or https://example.com/todo (scheme, host, optional port and "
	    "path), from which the absolute upload and preview URLs of ChatKit "
	    "attachments are made; empty: each request's Host header, scheme "
	    "(the HTTPS param or X-Forwarded-Proto) and nginx's port, which a "
	    "client can forge and a proxy in front can hide, so set it in "
	    "production" },
	{ "attachment_max", CONF_LONG, OFF(attachment_max), "10485760", 1,
	    1073741824L, 0, "largest ChatKit attachment, bytes (a bigger "
	    "upload is refused with 413), and largest voice recording to "
	    "transcribe (it arrives inside a JSON request, so max_body caps it "
	    "first); nginx's client_max_body_size for /api/chatkit/attachments/ "
	    "(nginx/locations.conf) must allow it" },
	{ "client_tools", CONF_STR, OFF(client_tools), "", 0, 0, 0,
	    "comma-separated names of the tools the ChatKit browser client runs "
	    "itself (its onClientTool handler), offered to the model beside "
	    "quipu's own; quipu knows get_local_time (the browser's time zone "
	    "and clock); empty: none" },
	/* Development and tests. */
	{ "test_routes", CONF_BOOL, OFF(test_routes), "off", 0, 0, 0,
	    "serve /api/v1/_test/* (tests and benchmarks only; never in production)" },
};
const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

#undef OFF
#undef R
#undef S

/* Defaults that depend on the installation prefix. */
static const char *
conf_builtin_default(const char *name)
{
	if (strcmp(name, "sql_dir") == 0)
		return QUIPU_SQLDIR;
	if (strcmp(name, "jwt_secret_file") == 0)
		return QUIPU_SYSCONFDIR "/jwt.key";
	return "";
}

static const struct conf_key *
conf_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

static int
conf_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };
	size_t	 i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int
conf_set_key(struct conf *c, const struct conf_key *k, const char *v,
    char *err, size_t errlen)
{
	char	*p = (char *)c + k->offset, *end, *dup;
	long	 n;

	switch (k->type) {
	case CONF_STR:
		if ((dup = strdup(v)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*(char **)p);
		*(char **)p = dup;
		return 0;
	case CONF_BOOL:
		if (conf_parse_bool(v, (bool *)p) == -1) {
			snprintf(err, errlen, "%s: \"%s\" is not on or off",
			    k->name, v);
			return -1;
		}
		return 0;
	case CONF_INT:
	case CONF_LONG:
		errno = 0;
		n = strtol(v, &end, 10);
		if (v[0] == '\0' || *end != '\0' || errno != 0) {
			snprintf(err, errlen, "%s: \"%s\" is not a number",
			    k->name, v);
			return -1;
		}
		if (n < k->min || n > k->max) {
			snprintf(err, errlen, "%s: %ld is out of range "
			    "(%ld to %ld)", k->name, n, k->min, k->max);
			return -1;
		}
		if (k->type == CONF_INT)
			*(int *)p = (int)n;
		else
			*(long *)p = n;
		return 0;
	}
	return -1;
}

int
conf_set(struct conf *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	const struct conf_key	*k;

	if ((k = conf_find(key)) == NULL) {
		snprintf(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	return conf_set_key(c, k, value, err, errlen);
}

int
conf_init(struct conf *c)
{
	char	 err[256];
	size_t	 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];
		const char *def = k->def ? k->def : conf_builtin_default(k->name);

		if (conf_set_key(c, k, def, err, sizeof(err)) == -1) {
			conf_free(c);
			return -1;
		}
	}
	return 0;
}

void
conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < conf_nkeys; i++)
		if (conf_keys[i].type == CONF_STR) {
			char **p = (char **)((char *)c + conf_keys[i].offset);

			free(*p);
			*p = NULL;
		}
	if (c->jwt_key != NULL)
		sodium_memzero(c->jwt_key, c->jwt_key_len);
	free(c->jwt_key);
	if (c->jwt_previous_key != NULL)
		sodium_memzero(c->jwt_previous_key, c->jwt_previous_key_len);
	free(c->jwt_previous_key);
	c->jwt_key = c->jwt_previous_key = NULL;
	c->jwt_key_len = c->jwt_previous_key_len = 0;
	if (c->llm_key != NULL)
		sodium_memzero(c->llm_key, strlen(c->llm_key));
	free(c->llm_key);
	c->llm_key = NULL;
}

/* Strips blanks at both ends, in place. */
static char *
conf_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Parses one "key = value" line; `lineno' names it in errors. */
static int
conf_parse_line(struct conf *c, char *line, const char *path, int lineno,
    char *err, size_t errlen)
{
	char	*key, *val, *eq, msg[256];
	size_t	 vlen;

	key = conf_trim(line);
	if (key[0] == '\0' || key[0] == '#')
		return 0;
	if ((eq = strchr(key, '=')) == NULL) {
		snprintf(err, errlen, "%s:%d: expected \"key = value\"",
		    path, lineno);
		return -1;
	}
	*eq = '\0';
	key = conf_trim(key);
	val = conf_trim(eq + 1);
	vlen = strlen(val);
	if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
		val[vlen - 1] = '\0';
		val++;
	} else if (strchr(val, '#') != NULL) {
		/* A comment after an unquoted value. */
		*strchr(val, '#') = '\0';
		val = conf_trim(val);
	}
	if (conf_set(c, key, val, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
		return -1;
	}
	return 0;
}

/* True when nothing is left to read (fgets may stop just before EOF). */
static bool
conf_at_eof(FILE *f)
{
	int	 c;

	if (feof(f))
		return true;
	if ((c = getc(f)) == EOF)
		return true;
	ungetc(c, f);
	return false;
}

static int
conf_load_file(struct conf *c, const char *path, bool must_exist,
    char *err, size_t errlen)
{
	FILE	*f;
	char	 line[4096];
	int	 lineno = 0, rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !conf_at_eof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path,
			    lineno);
			rc = -1;
			break;
		}
		rc = conf_parse_line(c, line, path, lineno, err, errlen);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

static int
conf_load_env(struct conf *c, char *err, size_t errlen)
{
	char	 name[128], msg[256];
	size_t	 i, j;

	for (i = 0; i < conf_nkeys; i++) {
		const char *v, *k = conf_keys[i].name;

		snprintf(name, sizeof(name), "QUIPU_");
		for (j = 0; k[j] != '\0' && j + 7 < sizeof(name); j++)
			name[6 + j] = (char)toupper((unsigned char)k[j]);
		name[6 + j] = '\0';
		if ((v = getenv(name)) == NULL)
			continue;
		if (conf_set_key(c, &conf_keys[i], v, msg, sizeof(msg)) == -1) {
			snprintf(err, errlen, "environment %s: %s", name, msg);
			return -1;
		}
	}
	return 0;
}

static int
conf_check_choice(const char *key, const char *v, const char *a,
    const char *b, char *err, size_t errlen)
{
	if (strcmp(v, a) == 0 || strcmp(v, b) == 0)
		return 0;
	snprintf(err, errlen, "%s: \"%s\" must be %s or %s", key, v, a, b);
	return -1;
}

/*
 * A connection string libpq cannot parse is a configuration error, found
 * by -t and by a reload (which then keeps the running configuration), not
 * by workers failing one after another.
 */
static int
conf_check_conninfo(const char *url, char *err, size_t errlen)
{
	PQconninfoOption	*opts;
	char			*msg = NULL;

	if ((opts = PQconninfoParse(url, &msg)) != NULL) {
		PQconninfoFree(opts);
		return 0;
	}
	snprintf(err, errlen, "database_url: %s", msg != NULL ?
	    conf_trim(msg) : "out of memory");
	PQfreemem(msg);
	return -1;
}

/*
 * Checks allowed_origins: each word an origin as browsers send it,
 * "scheme://host[:port]", with no path, not even a trailing slash.
 */
static int
conf_check_origins(const char *list, char *err, size_t errlen)
{
	const char	*p = list, *w, *host;
	size_t		 n;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		w = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		n = (size_t)(p - w);
		host = NULL;
		if (n > 7 && strncmp(w, "http://", 7) == 0)
			host = w + 7;
		else if (n > 8 && strncmp(w, "https://", 8) == 0)
			host = w + 8;
		if (host == NULL || memchr(host, '/', (size_t)(p - host)) !=
		    NULL || memchr(host, '?', (size_t)(p - host)) != NULL ||
		    memchr(host, '#', (size_t)(p - host)) != NULL ||
		    memchr(host, '*', (size_t)(p - host)) != NULL) {
			snprintf(err, errlen, "allowed_origins: \"%.*s\" is not "
			    "an origin like https://app.example.com (scheme and "
			    "host, no path)", (int)(n > 200 ? 200 : n), w);
			return -1;
		}
	}
}

/* Reads at most `max' bytes of `path' into a malloc'd buffer. */
static int
conf_read_file(const char *path, size_t max, unsigned char **out,
    size_t *outlen)
{
	unsigned char	*buf;
	size_t		 len = 0;
	ssize_t		 n = 0;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((buf = malloc(max + 1)) == NULL) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	while (len <= max) {
		n = read(fd, buf + len, max + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	saved = errno;
	if (close(fd) == -1 && n != -1) {
		saved = errno;
		n = -1;
	}
	if (n == -1) {
		sodium_memzero(buf, max + 1);
		free(buf);
		errno = saved;
		return -1;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Loads one secret of min..max bytes: `value' when given (the
 * environment), else the file. Trailing white space (the newline an
 * editor adds) is not part of it. An empty `file' with no `value' is
 * allowed only when !required. `hint' says how to make one (or NULL).
 */
static int
conf_load_secret(const char *name, const char *value, const char *file,
    bool required, size_t min, size_t max, const char *hint,
    unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	unsigned char	*buf;
	size_t		 len;

	*out = NULL;
	*outlen = 0;
	if (value[0] != '\0') {
		len = strlen(value);
		if ((buf = malloc(len + 1)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(buf, value, len);
	} else if (file[0] == '\0') {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s_file: no key configured", name);
		return -1;
	} else if (conf_read_file(file, max + 64, &buf, &len) == -1) {
		snprintf(err, errlen, "%s_file: cannot read %s: %s%s%s", name,
		    file, strerror(errno), hint != NULL ? " " : "",
		    hint != NULL ? hint : "");
		return -1;
	}
	while (len > 0 && isspace(buf[len - 1]))
		len--;
	if (len < min || len > max) {
		if (value[0] != '\0')
			snprintf(err, errlen, "%s: the key is %zu bytes; it "
			    "must be %zu to %zu", name, len, min, max);
		else
			snprintf(err, errlen, "%s_file: the key in %s is %zu "
			    "bytes; it must be %zu to %zu", name, file, len,
			    min, max);
		sodium_memzero(buf, len);
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* The JWT keys: the current one is required, the previous optional. */
static int
conf_load_keys(struct conf *c, char *err, size_t errlen)
{
	static const char hint[] =
	    "(make one with: head -c 48 /dev/urandom | base64 > FILE)";
	size_t	len;

	if (conf_load_secret("jwt_secret", c->jwt_secret, c->jwt_secret_file,
	    true, JWT_KEY_MIN, JWT_KEY_MAX, hint, &c->jwt_key, &c->jwt_key_len,
	    err, errlen) == -1 ||
	    conf_load_secret("jwt_previous_secret", c->jwt_previous_secret,
	    c->jwt_previous_secret_file, false, JWT_KEY_MIN, JWT_KEY_MAX, hint,
	    &c->jwt_previous_key, &c->jwt_previous_key_len, err, errlen) == -1)
		return -1;
	/* The model's API key: optional (a local server needs none). */
	if (conf_load_secret("llm_api_key", c->llm_api_key,
	    c->llm_api_key_file, false, 1, CONF_LLM_KEY_MAX, NULL,
	    (unsigned char **)&c->llm_key, &len, err, errlen) == -1)
		return -1;
	return 0;
}

/*
 * public_url: empty, or "http(s)://host[:port][/path]" with nothing a
 * URL made from it could not carry (no query, fragment or blank).
 */
static int
conf_check_public_url(const char *url, char *err, size_t errlen)
{
	const char	*host, *p;

	if (url[0] == '\0')
		return 0;
	host = strncmp(url, "http://", 7) == 0 ? url + 7 :
	    strncmp(url, "https://", 8) == 0 ? url + 8 : NULL;
	if (host != NULL && *host != '\0' && *host != '/') {
		for (p = host; *p != '\0'; p++)
			if (*p <= ' ' || *p >= 0x7f || *p == '?' || *p == '#' ||
			    *p == '"' || *p == '\\')
				break;
		if (*p == '\0')
			return 0;
	}
	snprintf(err, errlen, "public_url: \"%.200s\" is not a URL like "
	    "https://app.example.com (no query or fragment)", url);
	return -1;
}

/* client_tools: names of letters, digits, '_' and '-', comma-separated. */
static int
conf_check_tools(const char *list, char *err, size_t errlen)
{
	const char	*p = list;
	size_t		 n;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' && p == list)
			return 0;
		for (n = 0; isalnum((unsigned char)p[n]) || p[n] == '_' ||
		    p[n] == '-'; n++)
			continue;
		if (n == 0 || n > 64)
			break;
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			break;
	}
	snprintf(err, errlen, "client_tools: \"%.200s\" is not a comma-"
	    "separated list of tool names (letters, digits, _ and -)", list);
	return -1;
}

/* Rules that span keys or need more than a range. */
static int
conf_check(const struct conf *c, char *err, size_t errlen)
{
	enum log_level	 lvl;
	char		*end;
	long		 mode;

	if (log_level_parse(c->log_level, &lvl) == -1) {
		snprintf(err, errlen, "log_level: \"%s\" must be error, warn, "
		    "info or debug", c->log_level);
		return -1;
	}
	mode = strtol(c->listen_mode, &end, 8);
	if (c->listen_mode[0] == '\0' || *end != '\0' || mode < 0 ||
	    mode > 0777) {
		snprintf(err, errlen, "listen_mode: \"%s\" is not an octal "
		    "mode", c->listen_mode);
		return -1;
	}
	if (conf_check_conninfo(c->database_url, err, errlen) == -1 ||
	    conf_check_origins(c->allowed_origins, err, errlen) == -1 ||
	    conf_check_public_url(c->public_url, err, errlen) == -1 ||
	    conf_check_tools(c->client_tools, err, errlen) == -1)
		return -1;
	if (c->listen[0] == '\0') {
		snprintf(err, errlen, "listen: must not be empty");
		return -1;
	}
	if (conf_check_choice("llm_provider", c->llm_provider, "builtin",
	    "openai", err, errlen) == -1 ||
	    conf_check_choice("embedding_provider", c->embedding_provider,
	    "builtin", "openai", err, errlen) == -1)
		return -1;
	return 0;
}

int
conf_load(struct conf *c, const char *path, bool must_exist, char *err,
    size_t errlen)
{
	if (conf_init(c) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((path != NULL && conf_load_file(c, path, must_exist, err,
	    errlen) == -1) || conf_load_env(c, err, errlen) == -1 ||
	    conf_check(c, err, errlen) == -1 ||
	    conf_load_keys(c, err, errlen) == -1) {
		conf_free(c);
		return -1;
	}
	return 0;
}

/* Writes the value of key `k' in `c' to `buf'. */
static void
conf_format(const struct conf *c, const struct conf_key *k, char *buf,
    size_t len)
{
	const char	*p = (const char *)c + k->offset;

	switch (k->type) {
	case CONF_STR:
		snprintf(buf, len, "%s", *(char *const *)p);
		break;
	case CONF_INT:
		snprintf(buf, len, "%d", *(const int *)p);
		break;
	case CONF_LONG:
		snprintf(buf, len, "%ld", *(const long *)p);
		break;
	case CONF_BOOL:
		snprintf(buf, len, "%s", *(const bool *)p ? "on" : "off");
		break;
	}
}

void
conf_dump(const struct conf *c, FILE *f)
{
	char	 v[1024];
	size_t	 i;

	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		conf_format(c, k, v, sizeof(v));
		/* A connection string may carry a password. */
		if ((k->flags & CONF_SECRET) || (strcmp(k->name,
		    "database_url") == 0 && (strstr(v, "password") ||
		    strchr(v, '@'))))
			fprintf(f, "%s = %s\n", k->name,
			    v[0] ? "(hidden)" : "");
		else
			fprintf(f, "%s = %s\n", k->name, v);
	}
}

/*
 * Writes `doc' and `tail' as "# " comment lines of at most
 * CONF_EXAMPLE_WIDTH columns, broken at spaces (a longer word stands
 * alone), so that a key's paragraph reads well in an editor.
 */
#define CONF_EXAMPLE_WIDTH	78

static void
conf_write_comment(FILE *f, const char *doc, const char *tail)
{
	char	 text[2048];
	size_t	 col, n;
	char	*p, *w;

	snprintf(text, sizeof(text), "%s%s", doc, tail);
	fputs("#", f);
	col = 1;
	for (p = text; *p != '\0'; p += n) {
		while (*p == ' ')
			p++;
		w = p;
		n = strcspn(w, " ");
		if (n == 0)
			break;
		if (col > 1 && col + 1 + n > CONF_EXAMPLE_WIDTH) {
			fputs("\n#", f);
			col = 1;
		}
		fprintf(f, " %.*s", (int)n, w);
		col += 1 + n;
	}
	fputc('\n', f);
}

void
conf_write_example(FILE *f)
{
	size_t	 i;

	fputs("# quipu.conf: every key with its default and meaning.\n"
	    "#\n"
	    "# Syntax: key = value; '#' starts a comment; values may be "
	    "quoted.\n"
	    "# Every key can also be set by the environment as QUIPU_<KEY>\n"
	    "# (QUIPU_WORKERS=4), which wins over this file.\n"
	    "# Keys marked [restart] keep their old value on a reload "
	    "(SIGHUP).\n", f);
	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		fputc('\n', f);
		conf_write_comment(f, k->doc,
		    (k->flags & CONF_RESTART) ? " [restart]" : "");
		fprintf(f, "#%s = %s\n", k->name, k->def ? k->def : "");
	}
}

void
conf_keep_restart_keys(struct conf *next, const struct conf *old,
    void (*warn)(const char *key))
{
	char	 a[1024], b[1024], err[256];
	size_t	 i;

	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (!(k->flags & CONF_RESTART))
			continue;
		conf_format(old, k, a, sizeof(a));
		conf_format(next, k, b, sizeof(b));
		if (strcmp(a, b) == 0)
			continue;
		/* The old value passed these checks once, so this holds. */
		if (conf_set_key(next, k, a, err, sizeof(err)) == 0 &&
		    warn != NULL)
			warn(k->name);
	}
}

int
conf_workers(const struct conf *c)
{
	long	 n;

	if (c->workers > 0)
		return c->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (n > 256 ? 256 : (int)n);
}
