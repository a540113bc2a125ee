/*
 * main.c: quipu-fcgi's command line and start-up, in order (slowcgi's
 * main): options, configuration, logs, socket, pid file, privileges,
 * scoreboard, libcurl, then the master loop.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "app.h"
#include "conf.h"
#include "jwt.h"
#include "listen.h"
#include "log.h"
#include "master.h"
#include "migrate.h"
#include "privdrop.h"
#include "scoreboard.h"

#define MAIN_DEFAULT_CONF	QUIPU_SYSCONFDIR "/quipu.conf"

enum main_mode {
	MAIN_RUN,
	MAIN_TEST,
	MAIN_EXAMPLE,
	MAIN_MIGRATE
};

struct main_opts {
	const char	*conf_path;
	bool		 conf_given;
	enum main_mode	 mode;
	bool		 verbose;
};

static void __attribute__((noreturn))
main_usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: quipu-fcgi [-htVv] [-f file] [--example-config] "
	    "[--migrate]\n"
	    "  -f, --config FILE   configuration (default %s)\n"
	    "  -t, --test          check the configuration and exit\n"
	    "  -v, --verbose       with -t: print every key\n"
	    "      --example-config  print a documented configuration\n"
	    "      --migrate       apply database migrations and exit\n"
	    "  -V, --version       print the version and exit\n",
	    MAIN_DEFAULT_CONF);
	exit(code);
}

static void
main_args(int argc, char *argv[], struct main_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "test", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "example-config", no_argument, NULL, 'E' },
		{ "migrate", no_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->conf_path = MAIN_DEFAULT_CONF;
	while ((ch = getopt_long(argc, argv, "f:tvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->conf_path = optarg;
			o->conf_given = true;
			break;
		case 't':
			o->mode = MAIN_TEST;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'V':
			printf("quipu-fcgi %s\n", app_version());
			exit(0);
		case 'E':
			o->mode = MAIN_EXAMPLE;
			break;
		case 'M':
			o->mode = MAIN_MIGRATE;
			break;
		case 'h':
			main_usage(0);
		default:
			main_usage(1);
		}
	}
	if (optind != argc)
		main_usage(1);
}

/*
 * fds 0-2 must be open, or the first file we open would become stderr. A
 * closed one gets /dev/null; an open fd 0 may be spawn-fcgi's socket and
 * is left alone.
 */
static int
main_stdfds(void)
{
	int	 fd;

	for (fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			return -1;
	}
	return 0;
}

/*
 * Written as root before the privilege drop, so that it may live in a
 * root-only directory. O_NOFOLLOW: in a directory the service user can
 * write, a planted symlink would otherwise make root truncate its target.
 */
static int
main_pidfile(const char *path)
{
	FILE	*f;
	int	 fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	rc = fprintf(f, "%ld\n", (long)getpid()) < 0 ? -1 : 0;
	if (fclose(f) == EOF)
		rc = -1;
	return rc;
}

static int
main_migrate(const struct conf *c)
{
	enum app_err	 e;
	int		 applied = 0;

	e = migrate_run(c->database_url, c->sql_dir, &applied);
	if (e != APP_OK) {
		fprintf(stderr, "quipu-fcgi: migrate: %s\n", app_strerror(e));
		return 1;
	}
	printf("%d migration%s applied\n", applied, applied == 1 ? "" : "s");
	return 0;
}

static bool
main_has_pidfile(const struct conf *c)
{
	return c->pid_file != NULL && c->pid_file[0] != '\0';
}

/*
 * The log files were opened as root; give them to the user we become, so
 * that a reopen after rotation (SIGUSR1) can still write them.
 */
static int
main_chown_logs(const struct conf *c)
{
	unsigned	 uid, gid;
	char		 err[256];

	if (geteuid() != 0 || c->user[0] == '\0')
		return 0;
	if (privdrop_lookup(c->user, c->group, &uid, &gid, err,
	    sizeof(err)) == -1) {
		log_errx("%s", err);
		return -1;
	}
	if (log_chown(uid, gid) == -1) {
		log_err("chown of the log files");
		return -1;
	}
	return 0;
}

/*
 * Removes our socket file and pid file, on every exit after they were
 * made. After dropping privileges the directory may not be ours: the next
 * start replaces both anyway, so that is not worth a warning.
 */
static void
main_unlink(const struct conf *c, enum listen_source src, bool pid)
{
	if (src == LISTEN_UNIX && unlink(c->listen) == -1 &&
	    errno != ENOENT && errno != EACCES && errno != EPERM)
		log_warn("unlink %s", c->listen);
	if (pid && unlink(c->pid_file) == -1 && errno != ENOENT &&
	    errno != EACCES && errno != EPERM)
		log_warn("unlink %s", c->pid_file);
}

/* Logs, socket, pid file, privileges, scoreboard, curl; then the master. */
static int
main_serve(struct main_opts *o, struct conf *c)
{
	struct master_opts	 mo;
	struct scoreboard	*sb = NULL;
	enum listen_source	 src = LISTEN_INHERITED;	/* nothing to unlink */
	char			 err[512];
	int			 fd, rc = 1, workers;
	bool			 curl = false, pid = false;

	if (log_open(c->error_log, c->access_log) == -1) {
		fprintf(stderr, "quipu-fcgi: opening logs: %s\n",
		    strerror(errno));
		return 1;
	}
	if ((fd = listen_open(c, &src, err, sizeof(err))) == -1) {
		log_errx("%s", err);
		goto out;
	}
	log_info("quipu %s listening on %s (%s)", app_version(),
	    src == LISTEN_UNIX || src == LISTEN_TCP ? c->listen : "fd",
	    listen_source_name(src));
	if (main_has_pidfile(c)) {
		if (main_pidfile(c->pid_file) == -1) {
			log_err("pid file %s", c->pid_file);
			goto out;
		}
		pid = true;
	}
	if (main_chown_logs(c) == -1)
		goto out;
	if (privdrop(c->user, c->group, err, sizeof(err)) == -1) {
		log_errx("%s", err);
		goto out;
	}
	/* Old and new generation overlap during a reload. */
	workers = conf_workers(c);
	if ((sb = scoreboard_create(2 * workers + 2, c->threads)) == NULL) {
		log_err("scoreboard");
		goto out;
	}
	/* Not thread-safe: once, here, before any fork or thread. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_errx("curl_global_init failed");
		goto out;
	}
	curl = true;
	mo.conf = c;
	mo.conf_path = o->conf_path;
	mo.conf_must_exist = o->conf_given;
	mo.sb = sb;
	mo.workers = workers;
	mo.listen_fd = fd;
	rc = master_run(&mo);
out:
	main_unlink(c, src, pid);
	if (curl)
		curl_global_cleanup();
	scoreboard_destroy(sb);
	log_close();
	return rc;
}

/* "-t -v": which JWT keys were loaded, by key id (never the key). */
static void
main_dump_keys(const struct conf *c)
{
	struct jwt_key	 k;

	if (jwt_key_set(&k, c->jwt_key, c->jwt_key_len) == 0)
		printf("# jwt key: %zu bytes, kid %s\n", c->jwt_key_len, k.kid);
	if (c->jwt_previous_key_len > 0 && jwt_key_set(&k,
	    c->jwt_previous_key, c->jwt_previous_key_len) == 0)
		printf("# jwt previous key: %zu bytes, kid %s\n",
		    c->jwt_previous_key_len, k.kid);
	jwt_key_clear(&k);
}

int
main(int argc, char *argv[])
{
	struct main_opts	 o;
	struct conf		 c;
	enum log_level		 lvl;
	char			 err[512];
	int			 rc;

	main_args(argc, argv, &o);
	if (o.mode == MAIN_EXAMPLE) {
		conf_write_example(stdout);
		return fflush(stdout) == EOF ? 1 : 0;
	}
	if (main_stdfds() == -1)
		return 1;
	if (conf_load(&c, o.conf_path, o.conf_given, err, sizeof(err)) == -1) {
		fprintf(stderr, "quipu-fcgi: %s\n", err);
		return 1;
	}
	if (o.mode == MAIN_TEST) {
		printf("configuration ok\n");
		if (o.verbose) {
			conf_dump(&c, stdout);
			main_dump_keys(&c);
		}
		conf_free(&c);
		return 0;
	}
	if (o.mode == MAIN_MIGRATE) {
		rc = main_migrate(&c);
		conf_free(&c);
		return rc;
	}
	if (log_level_parse(c.log_level, &lvl) == 0)
		log_threshold = lvl;
	/* A client that goes away must be an error on write, not a death. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "quipu-fcgi: signal: %s\n", strerror(errno));
		conf_free(&c);
		return 1;
	}
	rc = main_serve(&o, &c);
	conf_free(&c);
	return rc;
}
