/*
 * fuzz_conf.c: arbitrary configuration files through conf_load().
 *
 * conf_load() reads a path, so the input is written to one temporary file
 * (created on the first run, removed at exit) and loaded; the result is
 * freed with conf_free(), which must also be harmless after a failed
 * load. A loaded configuration is dumped and compared with the defaults
 * for a reload. The first line is also fed to conf_set() as "key = value"
 * on a default configuration. The target aborts when:
 *  - a failed conf_load() or conf_set() leaves no message in `err';
 *  - a successful load breaks a range of conf_keys[].
 * Leaks are LeakSanitizer's to find.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

const char	fuzz_name[] = "conf";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	conf_path[4096];
static int	conf_fd = -1;

static void
fuzz_cleanup(void)
{
	if (conf_fd != -1) {
		(void)unlink(conf_path);
		(void)close(conf_fd);
	}
}

/* The temporary file, created once: -1 when it cannot be. */
static int
fuzz_tmpfile(void)
{
	const char	*dir;

	if (conf_fd != -1)
		return 0;
	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(conf_path, sizeof(conf_path),
	    "%s/quipu-fuzz-conf.XXXXXX", dir) >= sizeof(conf_path) ||
	    (conf_fd = mkstemp(conf_path)) == -1)
		return -1;
	atexit(fuzz_cleanup);
	return 0;
}

static int
fuzz_write(const uint8_t *data, size_t size)
{
	size_t	 off = 0;
	ssize_t	 n;

	if (ftruncate(conf_fd, 0) == -1)
		return -1;
	while (off < size) {
		if ((n = pwrite(conf_fd, data + off, size - off,
		    (off_t)off)) <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Every number within its range, every string set. */
static void
fuzz_check_ranges(const struct conf *c)
{
	const struct conf_key	*k;
	const char		*base = (const char *)c;
	long			 v;
	size_t			 i;

	for (i = 0; i < conf_nkeys; i++) {
		k = &conf_keys[i];
		switch (k->type) {
		case CONF_STR:
			if (*(char *const *)(base + k->offset) == NULL)
				abort();
			continue;
		case CONF_INT:
			v = *(const int *)(base + k->offset);
			break;
		case CONF_LONG:
			v = *(const long *)(base + k->offset);
			break;
		default:
			continue;
		}
		if (k->min < k->max && (v < k->min || v > k->max))
			abort();
	}
}

static void
fuzz_loaded(struct conf *c)
{
	struct conf	 def;
	FILE		*f;
	char		 err[256];

	fuzz_check_ranges(c);
	if ((f = fopen("/dev/null", "w")) != NULL) {
		conf_dump(c, f);
		fclose(f);
	}
	(void)conf_workers(c);
	/* A reload from the defaults to this file. */
	if (conf_load(&def, NULL, false, err, sizeof(err)) == 0) {
		conf_keep_restart_keys(c, &def, NULL);
		conf_free(&def);
	}
}

/* The first line as one conf_set() on the defaults. */
static void
fuzz_set(const uint8_t *data, size_t size)
{
	struct conf	 c;
	char		*line, *eq, err[256];

	if ((line = strndup((const char *)data, size)) == NULL)
		return;
	line[strcspn(line, "\n")] = '\0';
	if ((eq = strchr(line, '=')) != NULL && conf_init(&c) == 0) {
		*eq = '\0';
		err[0] = '\0';
		if (conf_set(&c, line, eq + 1, err, sizeof(err)) == -1 &&
		    err[0] == '\0')
			abort();
		conf_free(&c);
	}
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	 c;
	char		 err[256];

	/* A key by environment, so that loads can succeed (conf_load() reads
	 * one); a file may still override every other key. */
	if (setenv("QUIPU_JWT_SECRET", "fuzz-key-0123456789abcdef0123456789",
	    0) == -1)
		abort();
	if (fuzz_tmpfile() == -1 || fuzz_write(data, size) == -1) {
		perror("fuzz_conf: temporary file");
		abort();
	}
	err[0] = '\0';
	memset(&c, 0, sizeof(c));
	if (conf_load(&c, conf_path, true, err, sizeof(err)) == 0)
		fuzz_loaded(&c);
	else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	conf_free(&c);
	fuzz_set(data, size);
	return 0;
}
