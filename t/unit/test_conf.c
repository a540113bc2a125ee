/*
 * test_conf.c: defaults (DESIGN.md section 10), the file syntax, the
 * QUIPU_* environment, reload rules and the documented example file.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

/* ------------------------------------------------------------ helpers */

static char	 tmppath[64];

/* The environment name of a key: QUIPU_ + upper case. */
static void
env_name(const char *key, char *buf, size_t len)
{
	size_t	 i;

	snprintf(buf, len, "QUIPU_%s", key);
	for (i = 6; buf[i] != '\0'; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
}

#define TEST_KEYFILE_MISSING	"/nonexistent/quipu-jwt.key"
#define TEST_KEY	"test-key-0123456789abcdef0123456789"

/* No test may see the developer's QUIPU_* settings. */
static int
clean_env(void **state)
{
	char	 name[128];
	size_t	 i;

	for (i = 0; i < conf_nkeys; i++) {
		env_name(conf_keys[i].name, name, sizeof(name));
		unsetenv(name);
	}
	/* quipu refuses to load without a JWT key. */
	setenv("QUIPU_JWT_SECRET", TEST_KEY, 1);
	return 0;
}

/* Writes `text' to a fresh file made from `tmpl' (mkstemp) into path. */
static const char *
write_tmp(char *path, size_t len, const char *tmpl, const char *text)
{
	FILE	*f;
	int	 fd;

	snprintf(path, len, "%s", tmpl);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Writes `text' to a fresh temporary file named in tmppath. */
static const char *
write_conf(const char *text)
{
	return write_tmp(tmppath, sizeof(tmppath),
	    "/tmp/quipu-test-conf.XXXXXX", text);
}

/* conf_load on `text'; returns its result, err filled. */
static int
load_text(struct conf *c, const char *text, char *err, size_t errlen)
{
	int	 rc;

	rc = conf_load(c, write_conf(text), true, err, errlen);
	unlink(tmppath);
	return rc;
}

/* ------------------------------------------------------------ tests */

static void
test_defaults(void **state)
{
	struct conf	 c;
	char		 err[256];
	size_t		 n;

	assert_int_equal(conf_load(&c, NULL, false, err, sizeof(err)), 0);
	assert_string_equal(c.listen, "/run/quipu/quipu.sock");
	assert_int_equal(c.workers, 0);
	assert_int_equal(c.threads, 64);
	assert_int_equal(c.max_requests, 0);
	assert_int_equal(c.shutdown_timeout, 30);
	assert_int_equal(c.request_timeout, 150);
	assert_int_equal(c.max_body, 1048576);
	assert_string_equal(c.database_url, "postgresql:///quipu");
	assert_int_equal(c.db_pool_size, 4);
	n = strlen(c.jwt_secret_file);
	assert_true(n > 14);
	assert_string_equal(c.jwt_secret_file + n - 14, "/quipu/jwt.key");
	assert_string_equal(c.jwt_secret, TEST_KEY);
	assert_int_equal(c.jwt_key_len, strlen(TEST_KEY));
	assert_memory_equal(c.jwt_key, TEST_KEY, strlen(TEST_KEY));
	assert_int_equal(c.jwt_previous_key_len, 0);
	assert_null(c.jwt_previous_key);
	assert_int_equal(c.login_max_failures, 5);
	assert_int_equal(c.login_failure_window, 900);
	assert_int_equal(c.password_hash_concurrency, 1);
	assert_int_equal(c.access_token_ttl, 900);
	assert_int_equal(c.refresh_token_ttl, 2592000);
	assert_true(c.cookie_secure);
	assert_true(c.db_prepare);
	assert_string_equal(c.allowed_origins, "");
	assert_string_equal(c.llm_provider, "builtin");
	assert_string_equal(c.llm_base_url, "https://api.openai.com/v1");
	assert_string_equal(c.llm_api_key_file, "");
	assert_string_equal(c.llm_api_key, "");
	assert_string_equal(c.llm_model, "gpt-4o-mini");
	assert_int_equal(c.llm_timeout, 120);
	assert_int_equal(c.max_tool_rounds, 5);
	assert_string_equal(c.embedding_provider, "builtin");
	assert_string_equal(c.embedding_model, "text-embedding-3-small");
	assert_int_equal(c.messages_per_day, 100);
	assert_int_equal(c.login_max_failures, 5);
	assert_string_equal(c.log_level, "info");
	assert_false(c.test_routes);
	assert_non_null(c.sql_dir);
	assert_true(c.sql_dir[0] != '\0');
	conf_free(&c);
}

static void
test_init_matches_load(void **state)
{
	struct conf	 a, b;
	char		 err[256];
	char		*da = NULL, *db = NULL;
	size_t		 la = 0, lb = 0;
	FILE		*f;

	assert_int_equal(conf_init(&a), 0);
	assert_int_equal(conf_set(&a, "jwt_secret", TEST_KEY, err,
	    sizeof(err)), 0);
	assert_int_equal(conf_load(&b, NULL, false, err, sizeof(err)), 0);
	f = open_memstream(&da, &la);
	conf_dump(&a, f);
	fclose(f);
	f = open_memstream(&db, &lb);
	conf_dump(&b, f);
	fclose(f);
	assert_string_equal(da, db);
	free(da);
	free(db);
	conf_free(&a);
	conf_free(&b);
	/* conf_free twice is harmless (pointers are cleared). */
	conf_free(&a);
	conf_free(NULL);
}

static void
test_table(void **state)
{
	size_t	 i, j;

	assert_true(conf_nkeys > 20);
	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		assert_non_null(k->name);
		assert_non_null(k->doc);
		assert_true(k->doc[0] != '\0');
		if (k->type == CONF_INT || k->type == CONF_LONG)
			assert_true(k->min <= k->max);
		for (j = 0; j < i; j++)
			if (strcmp(conf_keys[j].name, k->name) == 0)
				fail_msg("key %s twice", k->name);
	}
}

static void
test_file(void **state)
{
	struct conf	 c;
	char		 err[256];

	assert_int_equal(load_text(&c,
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "   # an indented comment\n"
	    "workers = 3\n"
	    "threads=16   # after a value\n"
	    "  listen   =   \"127.0.0.1:9000\"  \n"
	    "llm_model = \"a # b\"\n"
	    "cookie_secure = off\n"
	    "max_body = 2048\n"
	    "allowed_origins = \"http://a.test http://b.test\"\n"
	    "log_level = debug", err, sizeof(err)), 0);
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.threads, 16);
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_string_equal(c.llm_model, "a # b");
	assert_false(c.cookie_secure);
	assert_int_equal(c.max_body, 2048);
	assert_string_equal(c.allowed_origins, "http://a.test http://b.test");
	/* The last line had no newline. */
	assert_string_equal(c.log_level, "debug");
	/* Untouched keys keep their defaults. */
	assert_int_equal(c.db_pool_size, 4);
	conf_free(&c);

	/* The last assignment of a key wins. */
	assert_int_equal(load_text(&c, "threads = 2\nthreads = 3\n", err,
	    sizeof(err)), 0);
	assert_int_equal(c.threads, 3);
	conf_free(&c);
}

static void
test_file_errors(void **state)
{
	struct conf	 c;
	char		 err[256];

	assert_int_equal(load_text(&c, "# ok\nworkers = 2\nbogus_key = 1\n",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":3:"));
	assert_non_null(strstr(err, "bogus_key"));
	assert_non_null(strstr(err, tmppath));

	assert_int_equal(load_text(&c, "threads = abc\n", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, ":1:"));
	assert_non_null(strstr(err, "threads"));
	assert_int_equal(load_text(&c, "threads = 12x\n", err, sizeof(err)),
	    -1);
	assert_int_equal(load_text(&c, "threads =\n", err, sizeof(err)), -1);
	assert_int_equal(load_text(&c, "threads = 99999999999999999999\n",
	    err, sizeof(err)), -1);

	assert_int_equal(load_text(&c, "\n\nthreads = 0\n", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, ":3:"));
	assert_non_null(strstr(err, "range"));
	assert_int_equal(load_text(&c, "threads = 1025\n", err, sizeof(err)),
	    -1);
	assert_int_equal(load_text(&c, "workers = -1\n", err, sizeof(err)), -1);
	assert_int_equal(load_text(&c, "max_body = -5\n", err, sizeof(err)),
	    -1);

	assert_int_equal(load_text(&c, "just words\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1:"));
	assert_int_equal(load_text(&c, "cookie_secure = maybe\n", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "cookie_secure"));
	/* Rules across keys and choices. */
	assert_int_equal(load_text(&c, "log_level = loud\n", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "log_level"));
	assert_int_equal(load_text(&c, "llm_provider = magic\n", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "llm_provider"));
	assert_int_equal(load_text(&c, "listen = \"\"\n", err, sizeof(err)),
	    -1);
	/* A connection string libpq cannot parse fails here, not in workers. */
	assert_int_equal(load_text(&c, "database_url = nonsense\n", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "database_url"));
	assert_int_equal(load_text(&c, "database_url = "
	    "\"postgresql://u:pw@h/db?bogus=1\"\n", err, sizeof(err)), -1);
	assert_int_equal(load_text(&c, "database_url = \"host=/tmp port=5\"\n",
	    err, sizeof(err)), 0);
	conf_free(&c);
}

static void
test_missing_file(void **state)
{
	struct conf	 c;
	char		 err[256];

	assert_int_equal(conf_load(&c, "/nonexistent/quipu.conf", true, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/quipu.conf"));
	assert_int_equal(conf_load(&c, "/nonexistent/quipu.conf", false, err,
	    sizeof(err)), 0);
	assert_int_equal(c.threads, 64);
	conf_free(&c);
}

static void
test_env(void **state)
{
	struct conf	 c;
	char		 err[256];

	setenv("QUIPU_WORKERS", "5", 1);
	setenv("QUIPU_LLM_PROVIDER", "openai", 1);
	setenv("QUIPU_JWT_SECRET", "0123456789abcdef0123456789abcdef", 1);
	setenv("QUIPU_COOKIE_SECURE", "no", 1);
	assert_int_equal(load_text(&c, "workers = 3\nthreads = 8\n"
	    "cookie_secure = on\n", err, sizeof(err)), 0);
	/* The environment wins over the file... */
	assert_int_equal(c.workers, 5);
	assert_false(c.cookie_secure);
	assert_string_equal(c.llm_provider, "openai");
	assert_string_equal(c.jwt_secret, "0123456789abcdef0123456789abcdef");
	/* ...and the file still wins over the defaults. */
	assert_int_equal(c.threads, 8);
	conf_free(&c);

	setenv("QUIPU_WORKERS", "many", 1);
	assert_int_equal(conf_load(&c, NULL, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "QUIPU_WORKERS"));
	clean_env(NULL);
}

static void
test_bools(void **state)
{
	static const char *const yes[] = { "on", "true", "yes", "1", "ON",
	    "True" };
	static const char *const no[] = { "off", "false", "no", "0", "OFF",
	    "No" };
	static const char *const bad[] = { "", "2", "maybe", "onn", "y" };
	struct conf	 c;
	char		 err[256];
	size_t		 i;

	assert_int_equal(conf_init(&c), 0);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		c.cookie_secure = false;
		assert_int_equal(conf_set(&c, "cookie_secure", yes[i], err,
		    sizeof(err)), 0);
		assert_true(c.cookie_secure);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		c.cookie_secure = true;
		assert_int_equal(conf_set(&c, "cookie_secure", no[i], err,
		    sizeof(err)), 0);
		assert_false(c.cookie_secure);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(conf_set(&c, "cookie_secure", bad[i], err,
		    sizeof(err)), -1);
	assert_int_equal(conf_set(&c, "no_such_key", "1", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "no_such_key"));
	conf_free(&c);
}

static void
test_ranges(void **state)
{
	struct conf	 c;
	char		 err[256], v[64];
	size_t		 i;

	/* Every number accepts its bounds and refuses one past them. */
	assert_int_equal(conf_init(&c), 0);
	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (k->type != CONF_INT && k->type != CONF_LONG)
			continue;
		snprintf(v, sizeof(v), "%ld", k->min);
		if (conf_set(&c, k->name, v, err, sizeof(err)) != 0)
			fail_msg("%s = %s: %s", k->name, v, err);
		snprintf(v, sizeof(v), "%ld", k->max);
		if (conf_set(&c, k->name, v, err, sizeof(err)) != 0)
			fail_msg("%s = %s: %s", k->name, v, err);
		if (k->min > LONG_MIN) {
			snprintf(v, sizeof(v), "%ld", k->min - 1);
			if (conf_set(&c, k->name, v, err, sizeof(err)) != -1)
				fail_msg("%s = %s accepted", k->name, v);
		}
		if (k->max < LONG_MAX) {
			snprintf(v, sizeof(v), "%ld", k->max + 1);
			if (conf_set(&c, k->name, v, err, sizeof(err)) != -1)
				fail_msg("%s = %s accepted", k->name, v);
		}
	}
	conf_free(&c);
}

static char	 warned[256];

static void
warn_cb(const char *key)
{
	strncat(warned, key, sizeof(warned) - strlen(warned) - 2);
	strcat(warned, ",");
}

static void
test_keep_restart_keys(void **state)
{
	struct conf	 old, next;
	char		 err[256];

	assert_int_equal(conf_init(&old), 0);
	assert_int_equal(conf_init(&next), 0);
	assert_int_equal(conf_set(&next, "listen", "127.0.0.1:1", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_set(&next, "threads", "7", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&next, "max_requests", "42", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_set(&next, "log_level", "debug", err,
	    sizeof(err)), 0);
	warned[0] = '\0';
	conf_keep_restart_keys(&next, &old, warn_cb);
	/* Restart keys go back to the running values, with a warning... */
	assert_string_equal(next.listen, "/run/quipu/quipu.sock");
	assert_int_equal(next.threads, 64);
	assert_non_null(strstr(warned, "listen,"));
	assert_non_null(strstr(warned, "threads,"));
	/* ...the others take effect, silently. */
	assert_int_equal(next.max_requests, 42);
	assert_string_equal(next.log_level, "debug");
	assert_null(strstr(warned, "max_requests"));
	assert_null(strstr(warned, "log_level"));
	/* No change, no warning; a NULL callback is allowed. */
	warned[0] = '\0';
	conf_keep_restart_keys(&next, &old, warn_cb);
	assert_string_equal(warned, "");
	conf_keep_restart_keys(&next, &old, NULL);
	conf_free(&old);
	conf_free(&next);
}

static void
test_workers(void **state)
{
	struct conf	 c;

	assert_int_equal(conf_init(&c), 0);
	c.workers = 0;
	assert_true(conf_workers(&c) >= 1);
	c.workers = 3;
	assert_int_equal(conf_workers(&c), 3);
	conf_free(&c);
}

static void
test_dump_hides_secrets(void **state)
{
	struct conf	 c;
	char		 err[256];
	char		*out = NULL;
	size_t		 len = 0;
	FILE		*f;

	assert_int_equal(conf_init(&c), 0);
	assert_int_equal(conf_set(&c, "jwt_secret", "sekrit-jwt", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "llm_api_key", "sk-sekrit", err,
	    sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "database_url",
	    "postgresql://u:pw-sekrit@db/quipu", err, sizeof(err)), 0);
	f = open_memstream(&out, &len);
	conf_dump(&c, f);
	fclose(f);
	assert_null(strstr(out, "sekrit"));
	assert_non_null(strstr(out, "threads = 64\n"));
	free(out);
	conf_free(&c);
}

/* The shipped example is exactly what the table documents. */
static void
test_example_file(void **state)
{
	const char	*src = getenv("QUIPU_TEST_SRCDIR");
	char		 path[4096], err[256], *gen = NULL, *disk;
	size_t		 glen = 0, dlen;
	struct conf	 c;
	FILE		*f;
	long		 n;

	if (src == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/conf/quipu.conf.example", src);
	f = open_memstream(&gen, &glen);
	conf_write_example(f);
	fclose(f);

	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	dlen = (size_t)n;
	disk = malloc(dlen + 1);
	assert_non_null(disk);
	assert_int_equal(fread(disk, 1, dlen, f), dlen);
	disk[dlen] = '\0';
	fclose(f);
	if (dlen != glen || memcmp(disk, gen, glen) != 0)
		fail_msg("%s differs from conf_write_example(); regenerate it "
		    "with `quipu-fcgi --example-conf' or equivalent", path);
	free(disk);
	free(gen);

	/* And loading it gives the defaults. */
	assert_int_equal(conf_load(&c, path, true, err, sizeof(err)), 0);
	assert_int_equal(c.threads, 64);
	conf_free(&c);
}

static void
test_example_documents_every_key(void **state)
{
	char	*gen = NULL, needle[128];
	size_t	 glen = 0, i;
	FILE	*f;

	f = open_memstream(&gen, &glen);
	conf_write_example(f);
	fclose(f);
	for (i = 0; i < conf_nkeys; i++) {
		snprintf(needle, sizeof(needle), "\n#%s = ", conf_keys[i].name);
		if (strstr(gen, needle) == NULL)
			fail_msg("%s not in the example", conf_keys[i].name);
	}
	free(gen);
}

/* Writes `text' to a fresh temporary key file; returns its path (static). */
static const char *
write_key(const char *text)
{
	static char	 path[64];

	return write_tmp(path, sizeof(path), "/tmp/quipu-test-key.XXXXXX",
	    text);
}

static void
test_jwt_keys(void **state)
{
	struct conf	 c;
	char		 err[512], text[256];
	const char	*path;

	/* A key file: the trailing newline is not part of the key. */
	unsetenv("QUIPU_JWT_SECRET");
	path = write_key("0123456789abcdef0123456789abcdef0123\n");
	snprintf(text, sizeof(text), "jwt_secret_file = %s\n", path);
	assert_int_equal(load_text(&c, text, err, sizeof(err)), 0);
	assert_int_equal(c.jwt_key_len, 36);
	assert_memory_equal(c.jwt_key, "0123456789abcdef0123456789abcdef0123",
	    36);
	/* The environment's key wins over the file. */
	setenv("QUIPU_JWT_SECRET", TEST_KEY, 1);
	conf_free(&c);
	assert_int_equal(load_text(&c, text, err, sizeof(err)), 0);
	assert_int_equal(c.jwt_key_len, strlen(TEST_KEY));
	conf_free(&c);
	unsetenv("QUIPU_JWT_SECRET");

	/* A previous key for a rotation. */
	snprintf(text, sizeof(text), "jwt_secret_file = %s\n"
	    "jwt_previous_secret_file = %s\n", path, path);
	assert_int_equal(load_text(&c, text, err, sizeof(err)), 0);
	assert_int_equal(c.jwt_previous_key_len, 36);
	conf_free(&c);
	unlink(path);

	/* Too short: refused, naming the file, never printing the key. */
	path = write_key("short-secret\n");
	snprintf(text, sizeof(text), "jwt_secret_file = %s\n", path);
	assert_int_equal(load_text(&c, text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "12 bytes"));
	assert_null(strstr(err, "short-secret"));
	unlink(path);

	/* A directory cannot be read; a key over 512 bytes is refused. */
	assert_int_equal(load_text(&c, "jwt_secret_file = /tmp\n", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot read /tmp"));
	{
		char	 big[700];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		path = write_key(big);
		snprintf(text, sizeof(text), "jwt_secret_file = %s\n", path);
		assert_int_equal(load_text(&c, text, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "32 to 512"));
		unlink(path);
	}

	/* Missing file: refused with the way to make one. */
	assert_int_equal(load_text(&c, "jwt_secret_file = "
	    TEST_KEYFILE_MISSING "\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, TEST_KEYFILE_MISSING));
	assert_non_null(strstr(err, "/dev/urandom"));
	/* A short key by environment too. */
	setenv("QUIPU_JWT_SECRET", "tiny", 1);
	assert_int_equal(conf_load(&c, NULL, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "jwt_secret"));
	assert_null(strstr(err, "tiny"));
	clean_env(NULL);
}

static void
test_allowed_origins(void **state)
{
	struct conf	 c;
	char		 err[512];
	const char	*bad[] = {
		"allowed_origins = https://app.example.com/\n",
		"allowed_origins = app.example.com\n",
		"allowed_origins = *\n",
		"allowed_origins = https://a.example https://b.example/path\n",
		"allowed_origins = ftp://a.example\n",
		"allowed_origins = https://\n",
	};
	size_t		 i;

	assert_int_equal(load_text(&c, "allowed_origins = "
	    "\"https://app.example.com http://127.0.0.1:8080\"\n", err,
	    sizeof(err)), 0);
	conf_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load_text(&c, bad[i], err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err, "allowed_origins"));
	}
}

/* The ChatKit keys: defaults and what public_url and client_tools take. */
static void
test_chatkit_keys(void **state)
{
	struct conf	 c;
	char		 err[512];
	const char	*good[] = {
		"public_url = https://app.example.com\n",
		"public_url = http://127.0.0.1:8080/todo/\n",
		"client_tools = get_local_time\n",
		"client_tools = \"get_local_time, pick-colour ,x\"\n",
		"attachment_max = 1\n",
		"llm_vision = off\ntranscribe_model = whisper-1\n",
	};
	const char	*bad[] = {
		"public_url = app.example.com\n",
		"public_url = https://\n",
		"public_url = https:///x\n",
		"public_url = https://a.example/?x=1\n",
		"public_url = \"https://a.example/#top\"\n",
		"public_url = \"https://a.example/a b\"\n",
		"client_tools = ,\n",
		"client_tools = a,,b\n",
		"client_tools = \"get local time\"\n",
		"client_tools = a;b\n",
		"attachment_max = 0\n",
		"attachment_max = 1073741825\n",
		"llm_vision = maybe\n",
	};
	size_t		 i;

	assert_int_equal(conf_load(&c, NULL, false, err, sizeof(err)), 0);
	assert_string_equal(c.public_url, "");
	assert_int_equal(c.attachment_max, 10485760);
	assert_true(c.llm_vision);
	assert_string_equal(c.transcribe_model, "");
	assert_string_equal(c.client_tools, "");
	conf_free(&c);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (load_text(&c, good[i], err, sizeof(err)) != 0)
			fail_msg("refused: %s: %s", good[i], err);
		conf_free(&c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load_text(&c, bad[i], err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_true(strncmp(err, bad[i], strcspn(bad[i], " ")) == 0 ||
		    strstr(err, "attachment_max") != NULL ||
		    strstr(err, "llm_vision") != NULL);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clean_env),
		cmocka_unit_test_setup(test_init_matches_load, clean_env),
		cmocka_unit_test(test_table),
		cmocka_unit_test_setup(test_file, clean_env),
		cmocka_unit_test_setup(test_file_errors, clean_env),
		cmocka_unit_test_setup(test_missing_file, clean_env),
		cmocka_unit_test_setup(test_env, clean_env),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_keep_restart_keys),
		cmocka_unit_test(test_workers),
		cmocka_unit_test(test_dump_hides_secrets),
		cmocka_unit_test_setup(test_example_file, clean_env),
		cmocka_unit_test(test_example_documents_every_key),
		cmocka_unit_test_setup(test_jwt_keys, clean_env),
		cmocka_unit_test_setup(test_allowed_origins, clean_env),
		cmocka_unit_test_setup(test_chatkit_keys, clean_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
