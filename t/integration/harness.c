/*
 * harness.c: the life of a test program and of its private stack: program
 * init and fini, the temp dir, the test database, the lock that keeps the
 * PostgreSQL cluster up while a program runs, and the atexit and signal
 * cleanup. Starting the servers is in stack.c, talking HTTP in client.c.
 * See harness.h.
 *
 * Test code, so the rules are a little different from lib/: a helper that
 * fails prints why to stderr and returns -1; the test then fails on an
 * assertion and the teardown (or, at the very worst, the atexit and signal
 * handlers) stops every process the harness started.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include "harness.h"
#include "extern.h"

#define HARNESS_MAXLIVE		4

/*
 * The stacks alive now, for the atexit and signal handlers. Only pids are
 * read from the signal handler, and a pid_t store is atomic in practice.
 */
static struct harness	*live[HARNESS_MAXLIVE];

/*
 * Every test program holds a shared lock on t/tmp/pg.lock while it runs;
 * harness_pg_stop() takes it exclusively, so stopping the cluster never
 * pulls it away under another program of a parallel `make -j check'.
 */
static int		 pg_lock_fd = -1;

/* ------------------------------------------------------------- small */

uint64_t
harness_now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
harness_now_ms(void)
{
	return harness_now_ns() / 1000000;
}

void
harness_sleep_ms(unsigned ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

const char *
harness_env_or(const char *name, const char *def)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

char *
harness_read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				buf = NULL;
				goto out;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
out:
	fclose(f);
	return buf;
}

/*
 * Eight buffers in turn, so that a call may take the results of a few
 * others as its arguments; 16 KiB each, the most any test formats.
 */
const char *
harness_fmt(const char *fmt, ...)
{
	static char	 buf[8][16384];
	static int	 i;
	va_list		 ap;
	int		 n;

	i = (i + 1) % 8;
	va_start(ap, fmt);
	n = vsnprintf(buf[i], sizeof(buf[i]), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(buf[i]));
	return buf[i];
}

int
harness_joinpath(char *out, size_t sz, const char *dir, const char *leaf)
{
	int	 n = snprintf(out, sz, "%s/%s", dir, leaf);

	if (n < 0 || (size_t)n >= sz) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- temp dir */

static int
mkdir_p(const char *path, mode_t mode)
{
	char	 tmp[HARNESS_PATH];
	char	*p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	/* The umask must not take away what nobody needs to reach us. */
	return chmod(tmp, mode);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == -1 ? -1 : 0;
}

/* $QUIPU_TEST_BUILDDIR/t/tmp: where the temp dirs and pg.lock live. */
static void
tmp_root(char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/t/tmp",
	    harness_env_or("QUIPU_TEST_BUILDDIR", "."));
}

/*
 * The log directory belongs to the user quipu drops to, as a deployment's
 * would: after SIGUSR1 (log rotation) the workers create the files anew.
 */
static int
log_dir_init(const struct harness *h)
{
	struct passwd	*pw;

	if (mkdir_p(h->log_dir, 0755) == -1)
		return -1;
	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam("nobody")) == NULL)
		return -1;
	return chown(h->log_dir, pw->pw_uid, pw->pw_gid);
}

static int
paths_init(struct harness *h)
{
	char	 root[HARNESS_PATH];
	int	 n;

	tmp_root(root, sizeof(root));
	n = snprintf(h->dir, sizeof(h->dir), "%s/%s.%d", root, h->name,
	    (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(h->dir) - 32)
		return -1;
	(void)harness_joinpath(h->sock, sizeof(h->sock), h->dir, "quipu.sock");
	/* sun_path holds 108 bytes; fall back to a short name in /tmp. */
	if (strlen(h->sock) > 100)
		snprintf(h->sock, sizeof(h->sock), "/tmp/quipu-%s.%d.sock",
		    h->name, (int)getpid());
	/* The length check above left room for these leaves. */
	(void)harness_joinpath(h->conf, sizeof(h->conf), h->dir,
	    "quipu.conf");
	(void)harness_joinpath(h->log_dir, sizeof(h->log_dir), h->dir, "log");
	(void)harness_joinpath(h->error_log, sizeof(h->error_log), h->log_dir,
	    "error.log");
	(void)harness_joinpath(h->access_log, sizeof(h->access_log),
	    h->log_dir, "access.log");
	(void)harness_joinpath(h->nginx_dir, sizeof(h->nginx_dir), h->dir,
	    "nginx");
	(void)harness_joinpath(h->nginx_conf, sizeof(h->nginx_conf),
	    h->nginx_dir, "nginx.conf");
	return 0;
}

/* ------------------------------------------------------------- locks */

static void
pg_lock(int op)
{
	char	 dir[HARNESS_PATH], path[HARNESS_PATH + 16];

	if (pg_lock_fd == -1) {
		tmp_root(dir, sizeof(dir));
		(void)mkdir_p(dir, 0755);
		(void)harness_joinpath(path, sizeof(path), dir, "pg.lock");
		pg_lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (pg_lock_fd == -1 || flock(pg_lock_fd, op) == -1)
		fprintf(stderr, "harness: pg.lock: %s\n", strerror(errno));
}

static int
run_env_cmd(const char *var)
{
	const char	*cmd = getenv(var);
	int		 st;

	if (cmd == NULL || *cmd == '\0') {
		fprintf(stderr, "harness: %s not set\n", var);
		return -1;
	}
	fflush(NULL);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "harness: %s failed (0x%x)\n", var, st);
		return -1;
	}
	return 0;
}

int
harness_pg_stop(void)
{
	/* Wait for the other test programs to finish with the cluster. */
	pg_lock(LOCK_EX);
	return run_env_cmd("QUIPU_TEST_PG_STOP");
}

int
harness_pg_start(void)
{
	if (run_env_cmd("QUIPU_TEST_PG_START") == -1)
		return -1;
	pg_lock(LOCK_SH);
	return 0;
}

/* ------------------------------------------------------------- cleanup */

static void
emergency_signal(int sig)
{
	size_t	 i;

	for (i = 0; i < HARNESS_MAXLIVE; i++) {
		if (live[i] == NULL)
			continue;
		if (live[i]->quipu > 0)
			kill(-live[i]->quipu, SIGKILL);
		if (live[i]->nginx > 0)
			kill(-live[i]->nginx, SIGKILL);
		if (live[i]->fake > 0)
			kill(-live[i]->fake, SIGKILL);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
emergency_atexit(void)
{
	size_t	 i;

	for (i = 0; i < HARNESS_MAXLIVE; i++)
		if (live[i] != NULL)
			harness_fini(live[i], false);
	curl_global_cleanup();
}

static void
live_set(struct harness *h, bool on)
{
	size_t	 i;

	for (i = 0; i < HARNESS_MAXLIVE; i++) {
		if (on && live[i] == NULL) {
			live[i] = h;
			return;
		}
		if (!on && live[i] == h)
			live[i] = NULL;
	}
}

/* ------------------------------------------------------------- database */

/* Appends " key='value'" with libpq quoting. */
static void
conninfo_add(char *buf, size_t sz, const char *key, const char *val)
{
	size_t	 len = strlen(buf);
	const char *p;

	if (len + strlen(key) + 4 >= sz)
		return;
	len += (size_t)snprintf(buf + len, sz - len, "%s%s='", len ? " " : "",
	    key);
	for (p = val; *p != '\0' && len + 3 < sz; p++) {
		if (*p == '\'' || *p == '\\')
			buf[len++] = '\\';
		buf[len++] = *p;
	}
	buf[len++] = '\'';
	buf[len] = '\0';
}

/* QUIPU_TEST_PGURI with dbname replaced, as a key=value conninfo. */
static int
conninfo_with_db(const char *uri, const char *db, char *out, size_t sz)
{
	PQconninfoOption	*opts, *o;
	char			*err = NULL;

	if ((opts = PQconninfoParse(uri, &err)) == NULL) {
		fprintf(stderr, "harness: QUIPU_TEST_PGURI: %s\n",
		    err ? err : "out of memory");
		PQfreemem(err);
		return -1;
	}
	out[0] = '\0';
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "dbname") == 0 || o->val == NULL ||
		    *o->val == '\0')
			continue;
		conninfo_add(out, sz, o->keyword, o->val);
	}
	conninfo_add(out, sz, "dbname", db);
	PQconninfoFree(opts);
	return 0;
}

/* Runs one utility statement (CREATE/DROP DATABASE) on the admin db. */
static int
admin_exec(const char *verb, const char *db, const char *tail)
{
	PGconn		*c = NULL;
	PGresult	*r = NULL;
	char		*id = NULL, sql[256];
	int		 rc = -1;

	c = PQconnectdb(getenv("QUIPU_TEST_PGURI"));
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "harness: connect: %s", PQerrorMessage(c));
		goto out;
	}
	/* Identifiers cannot be parameters: quote with libpq instead. */
	if ((id = PQescapeIdentifier(c, db, strlen(db))) == NULL)
		goto out;
	snprintf(sql, sizeof(sql), "%s %s%s", verb, id, tail);
	r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
		goto out;
	}
	rc = 0;
out:
	PQclear(r);
	PQfreemem(id);
	PQfinish(c);
	return rc;
}

static int
drop_db(const char *db)
{
	return admin_exec("DROP DATABASE IF EXISTS", db, " WITH (FORCE)");
}

/* Whether a database name "quipu_t_<prog>_<pid>" belongs to a dead pid. */
static bool
stale_db(const char *name)
{
	const char	*us = strrchr(name, '_');
	char		*end;
	long		 pid;

	if (us == NULL)
		return false;
	pid = strtol(us + 1, &end, 10);
	if (*end != '\0' || pid <= 0 || pid == (long)getpid())
		return false;
	return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

/*
 * Drops the databases of test programs that died without cleaning up (a
 * SIGKILL, or a signal whose handler could not run libpq).
 */
static void
drop_stale_dbs(void)
{
	const char	*pat = "quipu\\_t\\_%";
	PGconn		*c;
	PGresult	*r = NULL;
	int		 i;

	c = PQconnectdb(getenv("QUIPU_TEST_PGURI"));
	if (PQstatus(c) != CONNECTION_OK)
		goto out;
	r = PQexecParams(c, "SELECT datname FROM pg_database "
	    "WHERE datname LIKE $1", 1, NULL, &pat, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		goto out;
	for (i = 0; i < PQntuples(r); i++)
		if (stale_db(PQgetvalue(r, i, 0)))
			(void)drop_db(PQgetvalue(r, i, 0));
out:
	PQclear(r);
	PQfinish(c);
}

/* ------------------------------------------------------------- init */

static int
pick_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

void
harness_main_init(const char *prog)
{
	if (getenv("QUIPU_TEST_PGURI") == NULL ||
	    *getenv("QUIPU_TEST_PGURI") == '\0') {
		fprintf(stderr, "%s: QUIPU_TEST_PGURI not set, skipping\n",
		    prog);
		exit(77);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "%s: curl_global_init failed\n", prog);
		exit(99);
	}
	pg_lock(LOCK_SH);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, emergency_signal);
	signal(SIGTERM, emergency_signal);
	signal(SIGHUP, emergency_signal);
	signal(SIGQUIT, emergency_signal);
	atexit(emergency_atexit);
}

int
harness_main_fini(struct harness *h, int rc)
{
	harness_stop(h);
	/* cmocka ignores a failing group teardown: decide here instead. */
	if (!harness_sanitizer_clean(h) && rc == 0)
		rc = 1;
	harness_fini(h, rc == 0);
	return rc;
}

int
harness_init(struct harness *h, const char *prog)
{
	size_t	 i;

	memset(h, 0, sizeof(*h));
	h->quipu = h->nginx = h->fake = h->activation_fd = -1;
	h->workers = 2;
	for (i = 0; prog[i] != '\0' && i < sizeof(h->name) - 1; i++)
		h->name[i] = isalnum((unsigned char)prog[i]) ?
		    (char)tolower((unsigned char)prog[i]) : '_';
	snprintf(h->dbname, sizeof(h->dbname), "quipu_t_%.30s_%d", h->name,
	    (int)getpid());
	if (paths_init(h) == -1 || mkdir_p(h->dir, 0755) == -1 ||
	    mkdir_p(h->nginx_dir, 0755) == -1 || log_dir_init(h) == -1) {
		fprintf(stderr, "harness: cannot make %s\n", h->dir);
		return -1;
	}
	if ((h->port = pick_port()) == -1)
		return -1;
	snprintf(h->base, sizeof(h->base), "http://127.0.0.1:%d", h->port);
	if (conninfo_with_db(getenv("QUIPU_TEST_PGURI"), h->dbname, h->dburl,
	    sizeof(h->dburl)) == -1)
		return -1;
	live_set(h, true);
	drop_stale_dbs();
	if (admin_exec("CREATE DATABASE", h->dbname, "") == -1)
		return -1;
	h->db_created = true;
	return 0;
}

void
harness_fini(struct harness *h, bool ok)
{
	harness_stop(h);
	if (h->db_created && drop_db(h->dbname) == 0)
		h->db_created = false;
	if (ok && h->dir[0] != '\0')
		(void)nftw(h->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else if (h->dir[0] != '\0')
		fprintf(stderr, "harness: logs kept in %s\n", h->dir);
	if (strncmp(h->sock, "/tmp/quipu-", 11) == 0)
		unlink(h->sock);
	live_set(h, false);
}

/* The group being run: cmocka's setup and teardown take no argument. */
static struct harness			*run_h;
static const struct harness_group	*run_g;

static int
run_setup(void **state)
{
	(void)state;
	if (harness_init(run_h, run_g->prog) == -1)
		return -1;
	if (run_g->prepare != NULL && run_g->prepare(run_h) == -1)
		return -1;
	return harness_start(run_h, run_g->extra, run_g->migrate);
}

static int
run_teardown(void **state)
{
	(void)state;
	harness_stop(run_h);
	if (run_g->cleanup != NULL)
		run_g->cleanup(run_h);
	return 0;
}

int
harness_run(struct harness *h, const struct harness_group *g,
    const struct CMUnitTest *tests, size_t ntests)
{
	int	 rc;

	run_h = h;
	run_g = g;
	harness_main_init(g->prog);
	rc = _cmocka_run_group_tests(g->prog, tests, ntests, run_setup,
	    run_teardown);
	return harness_main_fini(h, rc);
}
