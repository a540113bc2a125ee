/*
 * driver.c: a main() for the fuzz targets when they are built without
 * libFuzzer, so that `make check' replays every seed of the corpus (and
 * every crash once fixed and added there) under the normal and the
 * sanitizer builds.
 *
 *	fuzz_jsonx [file|dir ...]
 *
 * With no argument it reads $QUIPU_TEST_SRCDIR/t/fuzz/corpus/<name>
 * (srcdir "." when unset). Arguments starting with '-' are ignored, so a
 * libFuzzer command line ("-runs=0 corpus/") works here too. Each input
 * is read into a buffer of exactly its size, so that an over-read is
 * caught by ASan just as under libFuzzer. A target reports a bug by
 * crashing or aborting; finding no input at all is a failure too, so a
 * misplaced corpus cannot turn the test into a silent pass.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each target defines these two. */
extern const char	fuzz_name[];
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t	driver_ninputs;

/* Runs the target on one file; -1 when it cannot be read. */
static int
driver_file(const char *path)
{
	FILE		*f = NULL;
	struct stat	 st;
	uint8_t		*buf = NULL;
	size_t		 len;
	int		 rc = -1;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto out;
	}
	len = (size_t)st.st_size;
	/* malloc(0) may give NULL: keep one byte, pass the real length. */
	if ((buf = malloc(len ? len : 1)) == NULL ||
	    fread(buf, 1, len, f) != len) {
		fprintf(stderr, "%s: read failed\n", path);
		goto out;
	}
	if (getenv("QUIPU_FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%s: %s (%zu bytes)\n", fuzz_name, path, len);
	(void)LLVMFuzzerTestOneInput(buf, len);
	driver_ninputs++;
	rc = 0;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
driver_skip(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Every regular file of `dir', in a stable order, or `dir' as a file. */
static int
driver_path(const char *path)
{
	struct dirent	**ents = NULL;
	struct stat	  st;
	char		  file[4096];
	int		  n, i, rc = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return driver_file(path);
	if ((n = scandir(path, &ents, driver_skip, alphasort)) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0 && (size_t)snprintf(file, sizeof(file), "%s/%s",
		    path, ents[i]->d_name) >= sizeof(file)) {
			fprintf(stderr, "%s: path too long\n", path);
			rc = -1;
		}
		if (rc == 0 && stat(file, &st) == 0 && S_ISREG(st.st_mode))
			rc = driver_file(file);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char	*srcdir;
	char		 dir[4096];
	int		 i, nargs = 0;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		nargs++;
		if (driver_path(argv[i]) == -1)
			return 1;
	}
	if (nargs == 0) {
		if ((srcdir = getenv("QUIPU_TEST_SRCDIR")) == NULL)
			srcdir = ".";
		if ((size_t)snprintf(dir, sizeof(dir), "%s/t/fuzz/corpus/%s",
		    srcdir, fuzz_name) >= sizeof(dir) ||
		    driver_path(dir) == -1)
			return 1;
	}
	if (driver_ninputs == 0) {
		fprintf(stderr, "%s: no input found\n", fuzz_name);
		return 1;
	}
	printf("%s: %zu inputs ok\n", fuzz_name, driver_ninputs);
	return 0;
}
