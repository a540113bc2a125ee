/*
 * harness.c: starts and stops a private quipu stack (PostgreSQL database,
 * quipu-fcgi, nginx) and talks HTTP to it. See harness.h.
 *
 * Test code, so the rules are a little different from lib/: a helper that
 * fails prints why to stderr and returns -1; the test then fails on an
 * assertion and the teardown (or, at the very worst, the atexit and signal
 * handlers) stops every process this file started.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "harness.h"

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
harness_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
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

static const char *
env_or(const char *name, const char *def)
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

/* dir/leaf into out; -1 (and an empty string) when it does not fit. */
static int
joinpath(char *out, size_t sz, const char *dir, const char *leaf)
{
	int	 n = snprintf(out, sz, "%s/%s", dir, leaf);

	if (n < 0 || (size_t)n >= sz) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

static int
write_file(const char *path, const char *text)
{
	FILE	*f;
	int	 rc = -1;

	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "harness: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fputs(text, f) >= 0)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

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

/* ------------------------------------------------------------- processes */

/*
 * Forks and execs argv with stdout and stderr appended to `out'. The child
 * leads a process group of its own (so that its workers can be killed as
 * a group if it dies first) and gets SIGTERM if we die (PR_SET_PDEATHSIG
 * survives exec). `stdout_path', when not NULL, takes stdout alone.
 */
static pid_t
spawn(char *const argv[], const char *out, const char *stdout_path)
{
	pid_t	 parent = getpid(), pid;
	int	 fd, ofd;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0)
		return pid;
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
	ofd = stdout_path != NULL ?
	    open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : fd;
	if (fd == -1 || ofd == -1)
		_exit(127);
	dup2(ofd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	fd = open("/dev/null", O_RDONLY);
	if (fd != -1)
		dup2(fd, STDIN_FILENO);
	execv(argv[0], argv);
	execvp(argv[0], argv);
	fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Waits up to `ms' for `pid'. 0 with *status when it exited, -1 if not. */
static int
wait_timeout(pid_t pid, int ms, int *status)
{
	uint64_t	 end = harness_now_ms() + (uint64_t)ms;
	pid_t		 r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return errno == ECHILD ? 0 : -1;
		if (harness_now_ms() >= end)
			return -1;
		harness_sleep_ms(10);
	}
}

/* Whether process group `pgid' still has members after `ms'. */
static bool
group_lingers(pid_t pgid, int ms)
{
	uint64_t	 end = harness_now_ms() + (uint64_t)ms;

	while (kill(-pgid, 0) == 0) {
		if (harness_now_ms() >= end)
			return true;
		harness_sleep_ms(20);
	}
	return false;
}

/* Sends `sig', waits, escalates to SIGKILL of the whole group. */
static int
stop_pid(pid_t *pidp, int sig, int ms, int *status)
{
	int	 st = 0, killed = 0;

	if (*pidp <= 0)
		return 0;
	kill(*pidp, sig);
	if (wait_timeout(*pidp, ms, &st) == -1) {
		fprintf(stderr, "harness: pid %d ignored signal %d for %d ms, "
		    "killing\n", (int)*pidp, sig, ms);
		kill(-*pidp, SIGKILL);
		kill(*pidp, SIGKILL);
		(void)wait_timeout(*pidp, 5000, &st);
		killed = 1;
	}
	/*
	 * Orphans (workers that outlived their master) are still in its
	 * group. A graceful stop leaves none: give stragglers a moment, then
	 * count them as a failure to stop and kill them.
	 */
	if (group_lingers(*pidp, 2000)) {
		fprintf(stderr, "harness: processes of group %d outlived "
		    "their leader, killing\n", (int)*pidp);
		kill(-*pidp, SIGKILL);
		killed = 1;
	}
	*pidp = -1;
	if (status != NULL)
		*status = st;
	return killed;
}

static int
run_wait(char *const argv[], const char *out, const char *stdout_path,
    int ms)
{
	pid_t	 pid;
	int	 st = 0;

	if ((pid = spawn(argv, out, stdout_path)) == -1)
		return -1;
	if (stop_pid(&pid, 0, ms, &st) != 0)
		return -1;
	if (!WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

size_t
harness_children(pid_t ppid, pid_t *out, size_t max)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[64], *buf, *p, state;
	size_t		 n = 0;
	int		 pp;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (strlen(de->d_name) > 20)
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stat", de->d_name);
		if ((buf = harness_read_file(path, NULL)) == NULL)
			continue;
		/* The command may hold spaces and parens: skip to the last ')'. */
		p = strrchr(buf, ')');
		if (p != NULL && sscanf(p + 1, " %c %d", &state, &pp) == 2 &&
		    pp == (int)ppid && state != 'Z')
			out[n++] = (pid_t)atoi(de->d_name);
		free(buf);
	}
	closedir(d);
	return n;
}

long
harness_proc_uid(pid_t pid)
{
	char	 path[64], *buf, *p;
	long	 uid = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((buf = harness_read_file(path, NULL)) == NULL)
		return -1;
	if ((p = strstr(buf, "\nUid:")) != NULL)
		uid = strtol(p + 5, NULL, 10);
	free(buf);
	return uid;
}

bool
harness_proc_alive(pid_t pid)
{
	char	 path[64], *buf, *p, state = 'Z';

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((buf = harness_read_file(path, NULL)) == NULL)
		return false;
	if ((p = strrchr(buf, ')')) != NULL)
		(void)sscanf(p + 1, " %c", &state);
	free(buf);
	return state != 'Z' && state != 'X';
}

/* ------------------------------------------------------------- cleanup */

static void
pg_lock(int op)
{
	char	 dir[HARNESS_PATH], path[HARNESS_PATH + 16];

	if (pg_lock_fd == -1) {
		snprintf(dir, sizeof(dir), "%s/t/tmp",
		    env_or("QUIPU_TEST_BUILDDIR", "."));
		(void)mkdir_p(dir, 0755);
		(void)joinpath(path, sizeof(path), dir, "pg.lock");
		pg_lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (pg_lock_fd == -1 || flock(pg_lock_fd, op) == -1)
		fprintf(stderr, "harness: pg.lock: %s\n", strerror(errno));
}

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
			(void)admin_exec("DROP DATABASE IF EXISTS",
			    PQgetvalue(r, i, 0), " WITH (FORCE)");
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

static int
paths_init(struct harness *h)
{
	const char	*bd = env_or("QUIPU_TEST_BUILDDIR", ".");
	int		 n;

	n = snprintf(h->dir, sizeof(h->dir), "%s/t/tmp/%s.%d", bd, h->name,
	    (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(h->dir) - 32)
		return -1;
	(void)joinpath(h->sock, sizeof(h->sock), h->dir, "quipu.sock");
	/* sun_path holds 108 bytes; fall back to a short name in /tmp. */
	if (strlen(h->sock) > 100)
		snprintf(h->sock, sizeof(h->sock), "/tmp/quipu-%s.%d.sock",
		    h->name, (int)getpid());
	/* The length check above left room for these leaves. */
	(void)joinpath(h->conf, sizeof(h->conf), h->dir, "quipu.conf");
	(void)joinpath(h->error_log, sizeof(h->error_log), h->dir,
	    "error.log");
	(void)joinpath(h->access_log, sizeof(h->access_log), h->dir,
	    "access.log");
	(void)joinpath(h->nginx_dir, sizeof(h->nginx_dir), h->dir, "nginx");
	(void)joinpath(h->nginx_conf, sizeof(h->nginx_conf), h->nginx_dir,
	    "nginx.conf");
	return 0;
}

int
harness_init(struct harness *h, const char *prog)
{
	size_t	 i;

	memset(h, 0, sizeof(*h));
	h->quipu = h->nginx = -1;
	h->workers = 2;
	for (i = 0; prog[i] != '\0' && i < sizeof(h->name) - 1; i++)
		h->name[i] = isalnum((unsigned char)prog[i]) ?
		    (char)tolower((unsigned char)prog[i]) : '_';
	snprintf(h->dbname, sizeof(h->dbname), "quipu_t_%.30s_%d", h->name,
	    (int)getpid());
	if (paths_init(h) == -1 || mkdir_p(h->dir, 0755) == -1 ||
	    mkdir_p(h->nginx_dir, 0755) == -1) {
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
	if (h->db_created &&
	    admin_exec("DROP DATABASE IF EXISTS", h->dbname,
	    " WITH (FORCE)") == 0)
		h->db_created = false;
	if (ok && h->dir[0] != '\0')
		(void)nftw(h->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	else if (h->dir[0] != '\0')
		fprintf(stderr, "harness: logs kept in %s\n", h->dir);
	if (strncmp(h->sock, "/tmp/quipu-", 11) == 0)
		unlink(h->sock);
	live_set(h, false);
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

/* ------------------------------------------------------------- config */

/* Whether the lines of `extra' set `key'. */
static bool
extra_has(const char *extra, const char *key)
{
	const char	*p = extra;
	size_t		 klen = strlen(key);

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, key, klen) == 0 &&
		    (p[klen] == ' ' || p[klen] == '\t' || p[klen] == '='))
			return true;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return false;
}

int
harness_write_conf(struct harness *h, const char *extra)
{
	const char	*sd = env_or("QUIPU_TEST_SRCDIR", ".");
	char		 text[8192], line[1400];
	const char	*kv[][2] = {
		{ "listen", h->sock },
		{ "listen_mode", "0666" },
		{ "user", "nobody" },
		{ "workers", "2" },
		{ "threads", "8" },
		{ "test_routes", "on" },
		{ "database_url", NULL },
		{ "sql_dir", NULL },
		{ "shutdown_timeout", "10" },
		{ "error_log", h->error_log },
		{ "access_log", h->access_log },
		{ "log_level", "info" },
	};
	size_t		 i;
	const char	*p;

	text[0] = '\0';
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		if (extra_has(extra, kv[i][0]))
			continue;
		if (strcmp(kv[i][0], "database_url") == 0)
			snprintf(line, sizeof(line), "database_url = \"%s\"\n",
			    h->dburl);
		else if (strcmp(kv[i][0], "sql_dir") == 0)
			snprintf(line, sizeof(line), "sql_dir = %s/sql\n", sd);
		else
			snprintf(line, sizeof(line), "%s = %s\n", kv[i][0],
			    kv[i][1]);
		strncat(text, line, sizeof(text) - strlen(text) - 1);
	}
	if (extra != NULL) {
		strncat(text, extra, sizeof(text) - strlen(text) - 2);
		strcat(text, "\n");
	}
	h->workers = 2;
	if ((p = strstr(text, "\nworkers = ")) != NULL)
		h->workers = atoi(p + 11);
	return write_file(h->conf, text);
}

/* ------------------------------------------------------------- start/stop */

static void
binary(char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/fcgi/quipu-fcgi",
	    env_or("QUIPU_TEST_BUILDDIR", "."));
}

int
harness_migrate(struct harness *h)
{
	char	 bin[HARNESS_PATH], out[HARNESS_PATH];
	char	*argv[] = { bin, "-f", h->conf, "--migrate", NULL };
	int	 rc;

	binary(bin, sizeof(bin));
	(void)joinpath(out, sizeof(out), h->dir, "migrate.out");
	rc = run_wait(argv, out, NULL, 60000);
	if (rc != 0)
		fprintf(stderr, "harness: quipu-fcgi --migrate exited %d "
		    "(see %s)\n", rc, out);
	return rc;
}

static int
quipu_spawn(struct harness *h)
{
	char	 bin[HARNESS_PATH], out[HARNESS_PATH];
	char	*argv[] = { bin, "-f", h->conf, NULL };

	binary(bin, sizeof(bin));
	(void)joinpath(out, sizeof(out), h->dir, "quipu.out");
	/* A stale socket from a killed run would make bind fail. */
	if (h->sock[0] != '\0')
		unlink(h->sock);
	if ((h->quipu = spawn(argv, out, NULL)) == -1)
		return -1;
	return 0;
}

static int
nginx_spawn(struct harness *h)
{
	const char	*sd = env_or("QUIPU_TEST_SRCDIR", ".");
	char		 mk[HARNESS_PATH], port[16], www[HARNESS_PATH];
	char		 out[HARNESS_PATH], nginx[HARNESS_PATH];
	char		*mkargv[] = { mk, port, h->sock, www, h->nginx_dir, NULL };
	char		*ngargv[] = { nginx, "-c", h->nginx_conf, "-p",
			    h->nginx_dir, NULL };

	snprintf(mk, sizeof(mk), "%s", env_or("QUIPU_TEST_MKCONF", ""));
	if (mk[0] == '\0')
		snprintf(mk, sizeof(mk), "%s/nginx/mkconf", sd);
	snprintf(nginx, sizeof(nginx), "%s",
	    env_or("QUIPU_TEST_NGINX", "nginx"));
	snprintf(port, sizeof(port), "%d", h->port);
	snprintf(www, sizeof(www), "%s/nginx/www", sd);
	(void)joinpath(out, sizeof(out), h->dir, "nginx.out");
	if (run_wait(mkargv, out, h->nginx_conf, 10000) != 0) {
		fprintf(stderr, "harness: %s failed (see %s)\n", mk, out);
		return -1;
	}
	if ((h->nginx = spawn(ngargv, out, NULL)) == -1)
		return -1;
	return 0;
}

/* Whether a process we started has already died. */
static bool
died(pid_t *pidp, const char *what, int *status)
{
	int	 st;

	if (*pidp <= 0 || waitpid(*pidp, &st, WNOHANG) != *pidp)
		return false;
	fprintf(stderr, "harness: %s exited early (status 0x%x)\n", what, st);
	if (status != NULL)
		*status = st;
	*pidp = -1;
	return true;
}

/* Polls /healthz through nginx for up to 10 s. */
static int
wait_healthy(struct harness *h)
{
	uint64_t		 end = harness_now_ms() + 10000;
	struct harness_resp	 r;
	long			 st;

	while (harness_now_ms() < end) {
		if (died(&h->quipu, "quipu-fcgi", &h->quipu_status) ||
		    died(&h->nginx, "nginx", NULL))
			break;
		memset(&r, 0, sizeof(r));
		(void)harness_get(h, "/healthz", &r);
		st = r.status;
		harness_resp_free(&r);
		if (st == 200)
			return 0;
		harness_sleep_ms(50);
	}
	fprintf(stderr, "harness: /healthz never answered 200\n");
	harness_dump_logs(h);
	return -1;
}

int
harness_start_quipu(struct harness *h)
{
	if (quipu_spawn(h) == -1)
		return -1;
	if (h->nginx <= 0 && nginx_spawn(h) == -1)
		return -1;
	return wait_healthy(h);
}

int
harness_start(struct harness *h, const char *extra, bool migrate)
{
	if (harness_write_conf(h, extra) == -1)
		return -1;
	if (migrate && harness_migrate(h) != 0)
		return -1;
	return harness_start_quipu(h);
}

int
harness_stop_quipu(struct harness *h, int sig, int timeout_ms)
{
	if (h->quipu <= 0)
		return 0;
	return stop_pid(&h->quipu, sig, timeout_ms, &h->quipu_status);
}

void
harness_stop_nginx(struct harness *h)
{
	(void)stop_pid(&h->nginx, SIGQUIT, 5000, NULL);
}

void
harness_stop(struct harness *h)
{
	(void)harness_stop_quipu(h, SIGTERM, 15000);
	harness_stop_nginx(h);
}

int
harness_restart_quipu(struct harness *h, const char *extra)
{
	(void)harness_stop_quipu(h, SIGTERM, 15000);
	if (harness_write_conf(h, extra) == -1)
		return -1;
	return harness_start_quipu(h);
}

int
harness_wait_status(struct harness *h, const char *path, long status,
    int timeout_ms)
{
	uint64_t		 end = harness_now_ms() + (uint64_t)timeout_ms;
	struct harness_resp	 r;
	long			 st;

	for (;;) {
		memset(&r, 0, sizeof(r));
		(void)harness_get(h, path, &r);
		st = r.status;
		harness_resp_free(&r);
		if (st == status)
			return 0;
		if (harness_now_ms() >= end)
			break;
		harness_sleep_ms(100);
	}
	fprintf(stderr, "harness: %s: wanted %ld, last %ld\n", path, status,
	    st);
	return -1;
}

static void
dump_one(const char *path, size_t tail)
{
	char	*s;
	size_t	 len = 0;

	if ((s = harness_read_file(path, &len)) == NULL)
		return;
	fprintf(stderr, "----- %s -----\n%s\n", path,
	    len > tail ? s + len - tail : s);
	free(s);
}

void
harness_dump_logs(const struct harness *h)
{
	char	 p[HARNESS_PATH + 32];

	(void)joinpath(p, sizeof(p), h->dir, "migrate.out");
	dump_one(p, 4096);
	(void)joinpath(p, sizeof(p), h->dir, "quipu.out");
	dump_one(p, 4096);
	dump_one(h->error_log, 8192);
	dump_one(h->access_log, 2048);
	(void)joinpath(p, sizeof(p), h->dir, "nginx.out");
	dump_one(p, 4096);
	(void)joinpath(p, sizeof(p), h->nginx_dir, "nginx-error.log");
	dump_one(p, 4096);
	(void)joinpath(p, sizeof(p), h->nginx_dir, "nginx-access.log");
	dump_one(p, 4096);
}

/* Prints and counts sanitizer reports in one file. */
static int
scan_sanitizer(const char *path)
{
	const char	*pats[] = { "ERROR: AddressSanitizer",
			    "ERROR: LeakSanitizer", "runtime error:",
			    "WARNING: ThreadSanitizer", NULL };
	char		*s, *p;
	size_t		 i;
	int		 n = 0;

	if ((s = harness_read_file(path, NULL)) == NULL)
		return 0;
	for (i = 0; pats[i] != NULL; i++) {
		if ((p = strstr(s, pats[i])) == NULL)
			continue;
		fprintf(stderr, "harness: sanitizer report in %s:\n%.3000s\n",
		    path, p);
		n++;
	}
	free(s);
	return n;
}

bool
harness_sanitizer_clean(const struct harness *h)
{
	char	 p[HARNESS_PATH + 32];
	int	 n = 0;

	(void)joinpath(p, sizeof(p), h->dir, "quipu.out");
	n += scan_sanitizer(p);
	(void)joinpath(p, sizeof(p), h->dir, "migrate.out");
	n += scan_sanitizer(p);
	n += scan_sanitizer(h->error_log);
	return n == 0;
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

/* ------------------------------------------------------------- HTTP */

struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static int
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 cap;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static size_t
body_cb(char *ptr, size_t sz, size_t nm, void *ud)
{
	return sbuf_add(ud, ptr, sz * nm) == 0 ? sz * nm : 0;
}

/* Keeps the header block of the final response only (100, 1xx dropped). */
static size_t
head_cb(char *ptr, size_t sz, size_t nm, void *ud)
{
	struct sbuf	*b = ud;

	if (sz * nm >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		b->len = 0;
	return sbuf_add(b, ptr, sz * nm) == 0 ? sz * nm : 0;
}

/* Splits the header block (in place) into name/value pairs. */
static size_t
parse_head(char *head, struct harness_hdr *hdrs)
{
	char	*line, *next, *colon;
	size_t	 n = 0;

	for (line = head; line != NULL && *line != '\0'; line = next) {
		if ((next = strstr(line, "\r\n")) != NULL) {
			*next = '\0';
			next += 2;
		}
		if ((colon = strchr(line, ':')) == NULL || n == HARNESS_MAXHDR)
			continue;
		*colon++ = '\0';
		while (*colon == ' ' || *colon == '\t')
			colon++;
		hdrs[n].name = line;
		hdrs[n++].value = colon;
	}
	return n;
}

static const char *
hdr_find(const struct harness_hdr *hdrs, size_t n, const char *name)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcasecmp(hdrs[i].name, name) == 0)
			return hdrs[i].value;
	return NULL;
}

static CURL *
easy_new(const struct harness *h, const char *path)
{
	CURL	*c;
	char	 url[1024];

	if ((c = curl_easy_init()) == NULL)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", h->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	return c;
}

static void
set_method(CURL *c, const char *method, const char *body, size_t len)
{
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL || strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(body != NULL ? len : 0));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	}
}

int
harness_request(struct harness *h, const char *method, const char *path,
    const char *const *headers, const char *body, size_t len,
    struct harness_resp *r)
{
	CURL			*c = NULL;
	struct curl_slist	*sl = NULL, *t;
	struct sbuf		 hb = { 0 }, bb = { 0 };
	size_t			 i;
	int			 rc = -1;

	memset(r, 0, sizeof(*r));
	if ((c = easy_new(h, path)) == NULL)
		goto out;
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		if ((t = curl_slist_append(sl, headers[i])) == NULL)
			goto out;
		sl = t;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	set_method(c, method, body, len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, head_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	r->curl_err = (int)curl_easy_perform(c);
	if (r->curl_err == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		rc = 0;
	}
out:
	r->body = bb.p != NULL ? bb.p : strdup("");
	r->body_len = bb.len;
	r->head = hb.p;
	r->head_len = hb.len;
	if (r->head != NULL)
		r->nhdrs = parse_head(r->head, r->hdrs);
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	return rc;
}

int
harness_get(struct harness *h, const char *path, struct harness_resp *r)
{
	return harness_request(h, "GET", path, NULL, NULL, 0, r);
}

const char *
harness_resp_header(const struct harness_resp *r, const char *name)
{
	return hdr_find(r->hdrs, r->nhdrs, name);
}

struct json_object *
harness_resp_json(struct harness_resp *r)
{
	if (r->json == NULL && r->body != NULL && r->body_len > 0)
		r->json = json_tokener_parse(r->body);
	return r->json;
}

const char *
harness_resp_str(struct harness_resp *r, const char *path)
{
	struct json_object	*o = harness_resp_json(r), *v;
	char			 key[64];
	const char		*p = path, *dot;
	size_t			 n;

	while (o != NULL && *p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(o, key, &v))
			return NULL;
		o = v;
		p += n + (dot != NULL);
	}
	if (o == NULL || !json_object_is_type(o, json_type_string))
		return NULL;
	return json_object_get_string(o);
}

bool
harness_is_envelope(struct harness_resp *r, const char *code)
{
	const char	*c = harness_resp_str(r, "error.code");
	const char	*rid = harness_resp_str(r, "error.request_id");
	const char	*msg = harness_resp_str(r, "error.message");
	const char	*hrid = harness_resp_header(r, "X-Request-Id");
	const char	*ct = harness_resp_header(r, "Content-Type");

	if (c != NULL && strcmp(c, code) == 0 && rid != NULL && *rid != '\0' &&
	    msg != NULL && hrid != NULL && strcmp(rid, hrid) == 0 &&
	    ct != NULL && strncmp(ct, "application/json", 16) == 0)
		return true;
	fprintf(stderr, "harness: not a '%s' envelope: status %ld, "
	    "content-type %s, X-Request-Id %s, body: %.500s\n", code,
	    r->status, ct ? ct : "(none)", hrid ? hrid : "(none)",
	    r->body ? r->body : "");
	return false;
}

void
harness_resp_free(struct harness_resp *r)
{
	if (r->json != NULL)
		json_object_put(r->json);
	free(r->body);
	free(r->head);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------- async */

static void *
async_main(void *arg)
{
	struct harness_async	*a = arg;

	a->rc = harness_request(a->h, a->method, a->path, NULL, NULL, 0,
	    &a->resp);
	a->done_ns = now_ns();
	return NULL;
}

int
harness_async_start(struct harness *h, struct harness_async *a,
    const char *method, const char *path)
{
	pthread_t	*t;

	memset(a, 0, sizeof(*a));
	a->h = h;
	a->rc = -1;
	snprintf(a->method, sizeof(a->method), "%s", method);
	snprintf(a->path, sizeof(a->path), "%s", path);
	if ((t = malloc(sizeof(*t))) == NULL)
		return -1;
	if (pthread_create(t, NULL, async_main, a) != 0) {
		free(t);
		return -1;
	}
	a->thread = t;
	return 0;
}

int
harness_async_wait(struct harness_async *a)
{
	pthread_t	*t = a->thread;

	if (t == NULL)
		return -1;
	pthread_join(*t, NULL);
	free(t);
	a->thread = NULL;
	return a->rc;
}

/* ------------------------------------------------------------- SSE */

/* Records one "\n\n"-terminated frame. */
static void
sse_frame(struct harness_sse *s, char *frame)
{
	struct harness_event	*e;
	struct sbuf		 data = { 0 };
	char			*line, *next;
	char			 name[64] = "";
	bool			 any = false;

	for (line = frame; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == ':') {
			s->ncomments++;
		} else if (strncmp(line, "event:", 6) == 0) {
			snprintf(name, sizeof(name), "%s",
			    line + 6 + (line[6] == ' '));
			any = true;
		} else if (strncmp(line, "data:", 5) == 0) {
			if (data.len > 0)
				(void)sbuf_add(&data, "\n", 1);
			line += 5 + (line[5] == ' ');
			(void)sbuf_add(&data, line, strlen(line));
			any = true;
		}
	}
	if (!any || s->nev == HARNESS_MAXEV) {
		free(data.p);
		return;
	}
	e = &s->ev[s->nev++];
	snprintf(e->event, sizeof(e->event), "%s", name);
	e->data = data.p != NULL ? data.p : strdup("");
	e->t_ms = (double)(now_ns() - s->t0) / 1e6;
}

static size_t
sse_cb(char *ptr, size_t sz, size_t nm, void *ud)
{
	struct harness_sse	*s = ud;
	struct sbuf		 b = { s->buf, s->buf_len, s->buf_len };
	char			*end;
	size_t			 used;

	if (sbuf_add(&b, ptr, sz * nm) == -1)
		return 0;
	s->buf = b.p;
	s->buf_len = b.len;
	while ((end = strstr(s->buf, "\n\n")) != NULL) {
		*end = '\0';
		used = (size_t)(end - s->buf) + 2;
		sse_frame(s, s->buf);
		memmove(s->buf, s->buf + used, s->buf_len - used + 1);
		s->buf_len -= used;
	}
	if (s->stop_after > 0 && s->nev >= s->stop_after)
		return 0;	/* hang up on purpose */
	return sz * nm;
}

int
harness_sse_get(struct harness *h, const char *path, size_t stop_after,
    struct harness_sse *s)
{
	CURL			*c = NULL;
	struct curl_slist	*sl = NULL;
	struct sbuf		 hb = { 0 };
	int			 rc = -1;

	memset(s, 0, sizeof(*s));
	s->stop_after = stop_after;
	if ((c = easy_new(h, path)) == NULL)
		goto out;
	if ((sl = curl_slist_append(NULL, "Accept: text/event-stream")) == NULL)
		goto out;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, head_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	s->t0 = now_ns();
	s->curl_err = (int)curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->curl_err == CURLE_OK ||
	    (s->curl_err == CURLE_WRITE_ERROR && stop_after > 0 &&
	    s->nev >= stop_after))
		rc = 0;
out:
	s->head = hb.p;
	s->head_len = hb.len;
	if (s->head != NULL)
		s->nhdrs = parse_head(s->head, s->hdrs);
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	return rc;
}

const char *
harness_sse_header(const struct harness_sse *s, const char *name)
{
	return hdr_find(s->hdrs, s->nhdrs, name);
}

void
harness_sse_free(struct harness_sse *s)
{
	size_t	 i;

	for (i = 0; i < s->nev; i++)
		free(s->ev[i].data);
	free(s->buf);
	free(s->head);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------- load */

struct harness_load {
	struct harness		*h;
	char			 path[512];
	int			 nthreads;
	pthread_t		*tids;
	struct harness_counts	*counts;	/* one per thread */
	atomic_bool		 stop;
	bool			 limited;	/* else: until stopped */
	atomic_long		 left;
};

struct load_arg {
	struct harness_load	*l;
	int			 i;
};

static void	load_finish(struct harness_load *, bool,
		    struct harness_counts *);

static size_t
discard_cb(char *ptr, size_t sz, size_t nm, void *ud)
{
	(void)ptr;
	(void)ud;
	return sz * nm;
}

/* Whether this thread should send one more request. */
static bool
load_more(struct harness_load *l)
{
	if (atomic_load(&l->stop))
		return false;
	if (!l->limited)
		return true;
	return atomic_fetch_sub(&l->left, 1) > 0;
}

static void *
load_main(void *arg)
{
	struct harness_load	*l = ((struct load_arg *)arg)->l;
	struct harness_counts	*k = &l->counts[((struct load_arg *)arg)->i];
	CURL			*c;
	long			 st;

	free(arg);
	/* One handle per thread: keep-alive to nginx, like a real client. */
	if ((c = easy_new(l->h, l->path)) == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	while (load_more(l)) {
		st = 0;
		if (curl_easy_perform(c) != CURLE_OK) {
			k->err++;
			continue;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		if (st >= 200 && st < 300)
			k->ok++;
		else {
			k->bad++;
			k->last_bad = st;
		}
	}
	curl_easy_cleanup(c);
	return NULL;
}

static struct harness_load *
load_new(struct harness *h, const char *path, int nthreads, long left)
{
	struct harness_load	*l;
	struct load_arg		*a;
	int			 i;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->h = h;
	l->nthreads = 0;
	snprintf(l->path, sizeof(l->path), "%s", path);
	atomic_init(&l->stop, false);
	l->limited = left >= 0;
	atomic_init(&l->left, left);
	l->tids = calloc((size_t)nthreads, sizeof(*l->tids));
	l->counts = calloc((size_t)nthreads, sizeof(*l->counts));
	if (l->tids == NULL || l->counts == NULL)
		goto fail;
	for (i = 0; i < nthreads; i++) {
		if ((a = malloc(sizeof(*a))) == NULL)
			goto fail;
		a->l = l;
		a->i = i;
		if (pthread_create(&l->tids[i], NULL, load_main, a) != 0) {
			free(a);
			goto fail;
		}
		l->nthreads++;
	}
	return l;
fail:
	load_finish(l, true, NULL);
	return NULL;
}

struct harness_load *
harness_load_start(struct harness *h, const char *path, int nthreads)
{
	return load_new(h, path, nthreads, -1);
}

/* Joins the threads (after telling them to stop when `stop'). */
static void
load_finish(struct harness_load *l, bool stop, struct harness_counts *sum)
{
	int	 i;

	if (sum != NULL)
		memset(sum, 0, sizeof(*sum));
	if (l == NULL)
		return;
	if (stop)
		atomic_store(&l->stop, true);
	for (i = 0; i < l->nthreads; i++) {
		pthread_join(l->tids[i], NULL);
		if (sum == NULL)
			continue;
		sum->ok += l->counts[i].ok;
		sum->bad += l->counts[i].bad;
		sum->err += l->counts[i].err;
		if (l->counts[i].last_bad != 0)
			sum->last_bad = l->counts[i].last_bad;
	}
	free(l->tids);
	free(l->counts);
	free(l);
}

void
harness_load_stop(struct harness_load *l, struct harness_counts *sum)
{
	load_finish(l, true, sum);
}

int
harness_load_n(struct harness *h, const char *path, int nthreads,
    unsigned long n, struct harness_counts *sum)
{
	struct harness_load	*l;

	memset(sum, 0, sizeof(*sum));
	if ((l = load_new(h, path, nthreads, (long)n)) == NULL)
		return -1;
	/* The threads end by themselves once `left' runs out. */
	load_finish(l, false, sum);
	return 0;
}

/* ------------------------------------------------------------- metrics */

double
harness_metric(const char *text, const char *prefix)
{
	const char	*p = text, *eol, *sp;
	size_t		 plen = strlen(prefix);

	while (p != NULL && *p != '\0') {
		eol = strchr(p, '\n');
		if (strncmp(p, prefix, plen) == 0) {
			/* The value is the last field of the line. */
			sp = eol != NULL ? eol : p + strlen(p);
			while (sp > p && sp[-1] != ' ')
				sp--;
			return strtod(sp, NULL);
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return -1;
}
