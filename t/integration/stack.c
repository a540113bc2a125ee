/*
 * stack.c: the servers of a test stack. Writes quipu.conf, its JWT key and
 * (through mkconf) nginx.conf, starts, stops and restarts quipu-fcgi and nginx,
 * waits for /healthz, reads their logs, and looks at processes in /proc.
 * See harness.h.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "extern.h"

/* How long a graceful stop of quipu may take before we SIGKILL it. */
#define STOP_MS		15000

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

int
harness_write_key(struct harness *h, const char *leaf, char *path, size_t sz)
{
	unsigned char	 raw[32];
	char		 hex[2 * sizeof(raw) + 1];
	size_t		 i, got = 0;
	ssize_t		 n;
	int		 fd;

	if (harness_joinpath(path, sz, h->dir, leaf) == -1)
		return -1;
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (got < sizeof(raw)) {
		n = read(fd, raw + got, sizeof(raw) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != sizeof(raw))
		return -1;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	/*
	 * 0644 whatever the umask: quipu may read it again after dropping
	 * to nobody (a reload), and the temp dir is ours alone anyway.
	 */
	if (write_file(path, hex) == -1 || chmod(path, 0644) == -1) {
		fprintf(stderr, "harness: %s: cannot write the key\n", path);
		return -1;
	}
	return 0;
}

/*
 * The default JWT key, made once per stack: a restart keeps it, so the
 * tokens handed out before stay valid unless a test rotates the key.
 */
static int
default_key(struct harness *h, char *path, size_t sz)
{
	if (harness_joinpath(path, sz, h->dir, "jwt.key") == -1)
		return -1;
	if (access(path, R_OK) == 0)
		return 0;
	return harness_write_key(h, "jwt.key", path, sz);
}

int
harness_write_conf(struct harness *h, const char *extra)
{
	const char	*sd = harness_env_or("QUIPU_TEST_SRCDIR", ".");
	char		 text[8192], line[1400], key[HARNESS_PATH];
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
		{ "jwt_secret_file", key },
		/* Tests that fail logins on purpose must not throttle others. */
		{ "login_max_failures", "1000" },
		{ "register_max_per_hour", "1000000" },
		/* Plain http to 127.0.0.1: a Secure cookie would be dropped. */
		{ "cookie_secure", "off" },
		{ "allowed_origins", HARNESS_ORIGIN },
	};
	size_t		 i;
	const char	*p;

	if (!extra_has(extra, "jwt_secret_file") &&
	    default_key(h, key, sizeof(key)) == -1)
		return -1;
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

/* ------------------------------------------------------------- processes */

/*
 * Forks and execs argv with stdout and stderr appended to `out'. The child
 * leads a process group of its own (so that its workers can be killed as
 * a group if it dies first) and gets SIGTERM if we die (PR_SET_PDEATHSIG
 * survives exec). `stdout_path', when not NULL, takes stdout alone.
 */
/*
 * In the child: hands `fd' over the way systemd's socket activation does,
 * as descriptor 3 with LISTEN_FDS=1 and LISTEN_PID naming the child, or
 * as spawn-fcgi does, as descriptor 0.
 */
static void
spawn_activation(int fd, bool on_stdin)
{
	char	 pid[32];

	if (on_stdin) {
		if (dup2(fd, STDIN_FILENO) == -1)
			_exit(127);
		return;
	}
	if (fd != 3 && dup2(fd, 3) == -1)
		_exit(127);
	if (fcntl(3, F_SETFD, 0) == -1)
		_exit(127);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (setenv("LISTEN_FDS", "1", 1) == -1 ||
	    setenv("LISTEN_PID", pid, 1) == -1)
		_exit(127);
}

/* `activation_fd' -1: none; else passed on as spawn_activation says. */
static pid_t
spawn(char *const argv[], const char *out, const char *stdout_path,
    int activation_fd, bool on_stdin)
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
	if (activation_fd >= 0)
		spawn_activation(activation_fd, on_stdin);
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

	if ((pid = spawn(argv, out, stdout_path, -1, false)) == -1)
		return -1;
	if (stop_pid(&pid, 0, ms, &st) != 0)
		return -1;
	if (!WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* ------------------------------------------------------------- start/stop */

static void
binary(char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/fcgi/quipu-fcgi",
	    harness_env_or("QUIPU_TEST_BUILDDIR", "."));
}

int
harness_migrate(struct harness *h)
{
	char	 bin[HARNESS_PATH], out[HARNESS_PATH];
	char	*argv[] = { bin, "-f", h->conf, "--migrate", NULL };
	int	 rc;

	binary(bin, sizeof(bin));
	(void)harness_joinpath(out, sizeof(out), h->dir, "migrate.out");
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
	(void)harness_joinpath(out, sizeof(out), h->dir, "quipu.out");
	/*
	 * A stale socket from a killed run would make bind fail; one handed
	 * over by socket activation is the test's own and stays.
	 */
	if (h->sock[0] != '\0' && h->activation_fd == -1)
		unlink(h->sock);
	if ((h->quipu = spawn(argv, out, NULL, h->activation_fd,
	    h->activation_stdin)) == -1)
		return -1;
	return 0;
}

static int
nginx_spawn(struct harness *h)
{
	const char	*sd = harness_env_or("QUIPU_TEST_SRCDIR", ".");
	char		 mk[HARNESS_PATH], port[16], www[HARNESS_PATH];
	char		 out[HARNESS_PATH], nginx[HARNESS_PATH];
	char		*mkargv[] = { mk, port, h->sock, www, h->nginx_dir, NULL };
	char		*ngargv[] = { nginx, "-c", h->nginx_conf, "-p",
			    h->nginx_dir, NULL };

	snprintf(mk, sizeof(mk), "%s",
	    harness_env_or("QUIPU_TEST_MKCONF", ""));
	if (mk[0] == '\0')
		snprintf(mk, sizeof(mk), "%s/nginx/mkconf", sd);
	snprintf(nginx, sizeof(nginx), "%s",
	    harness_env_or("QUIPU_TEST_NGINX", "nginx"));
	snprintf(port, sizeof(port), "%d", h->port);
	snprintf(www, sizeof(www), "%s/nginx/www", sd);
	(void)harness_joinpath(out, sizeof(out), h->dir, "nginx.out");
	if (run_wait(mkargv, out, h->nginx_conf, 10000) != 0) {
		fprintf(stderr, "harness: %s failed (see %s)\n", mk, out);
		return -1;
	}
	if ((h->nginx = spawn(ngargv, out, NULL, -1, false)) == -1)
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

/* The status of one GET of `path', 0 on a transport error. */
static long
get_status(struct harness *h, const char *path)
{
	struct harness_resp	 r;
	long			 st;

	(void)harness_get(h, path, &r);
	st = r.status;
	harness_resp_free(&r);
	return st;
}

/* Polls /healthz through nginx for up to 10 s. */
static int
wait_healthy(struct harness *h)
{
	uint64_t	 end = harness_now_ms() + 10000;

	while (harness_now_ms() < end) {
		if (died(&h->quipu, "quipu-fcgi", &h->quipu_status) ||
		    died(&h->nginx, "nginx", NULL))
			break;
		if (get_status(h, "/healthz") == 200)
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
	(void)harness_stop_quipu(h, SIGTERM, STOP_MS);
	harness_stop_nginx(h);
	harness_fake_stop(h);
}

int
harness_fake_start(struct harness *h, const char *key)
{
	char		 bin[HARNESS_PATH + 32], out[HARNESS_PATH + 16];
	char		 log[HARNESS_PATH + 16];
	char		*argv[6], *s;
	const char	*build = getenv("QUIPU_TEST_BUILDDIR");
	uint64_t	 end;
	int		 n = 0;

	snprintf(bin, sizeof(bin), "%s/t/fakellm", build != NULL ? build :
	    ".");
	snprintf(out, sizeof(out), "%s/fake.out", h->dir);
	snprintf(log, sizeof(log), "%s/fake.log", h->dir);
	argv[n++] = bin;
	argv[n++] = "-l";
	argv[n++] = "127.0.0.1:0";
	if (key != NULL) {
		argv[n++] = "-k";
		argv[n++] = (char *)key;
	}
	argv[n] = NULL;
	if ((h->fake = spawn(argv, log, out, -1, false)) == -1)
		return -1;
	for (end = harness_now_ms() + 5000; harness_now_ms() < end;
	    harness_sleep_ms(20)) {
		if ((s = harness_read_file(out, NULL)) == NULL)
			continue;
		if (sscanf(s, "listening 127.0.0.1:%d", &h->fake_port) == 1) {
			free(s);
			snprintf(h->fake_url, sizeof(h->fake_url),
			    "http://127.0.0.1:%d", h->fake_port);
			return 0;
		}
		free(s);
	}
	fprintf(stderr, "harness: %s did not start\n", bin);
	harness_fake_stop(h);
	return -1;
}

void
harness_fake_stop(struct harness *h)
{
	if (h->fake > 0)
		(void)stop_pid(&h->fake, SIGTERM, 5000, NULL);
}

int
harness_fake_conf(struct harness *h, const char *key, const char *more,
    char *out, size_t sz)
{
	char	 keyfile[HARNESS_PATH + 16], line[256];
	int	 n;

	if (harness_fake_start(h, key) == -1)
		return -1;
	if (harness_joinpath(keyfile, sizeof(keyfile), h->dir,
	    "llm.key") == -1)
		return -1;
	n = snprintf(line, sizeof(line), "%s\n", key);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    write_file(keyfile, line) == -1)
		return -1;
	n = snprintf(out, sz,
	    "llm_provider = openai\n"
	    "llm_base_url = %s/v1\n"
	    "llm_api_key_file = %s\n"
	    "llm_model = fake-model\n"
	    "%s", h->fake_url, keyfile, more != NULL ? more : "");
	if (n < 0 || (size_t)n >= sz) {
		fprintf(stderr, "harness: the fake's config does not fit\n");
		return -1;
	}
	return 0;
}

int
harness_restart_quipu(struct harness *h, const char *extra)
{
	(void)harness_stop_quipu(h, SIGTERM, STOP_MS);
	if (harness_write_conf(h, extra) == -1)
		return -1;
	return harness_start_quipu(h);
}

int
harness_wait_status(struct harness *h, const char *path, long status,
    int timeout_ms)
{
	uint64_t	 end = harness_now_ms() + (uint64_t)timeout_ms;
	long		 st;

	for (;;) {
		if ((st = get_status(h, path)) == status)
			return 0;
		if (harness_now_ms() >= end)
			break;
		harness_sleep_ms(100);
	}
	fprintf(stderr, "harness: %s: wanted %ld, last %ld\n", path, status,
	    st);
	return -1;
}

/* ------------------------------------------------------------- logs */

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

	(void)harness_joinpath(p, sizeof(p), h->dir, "migrate.out");
	dump_one(p, 4096);
	(void)harness_joinpath(p, sizeof(p), h->dir, "quipu.out");
	dump_one(p, 4096);
	dump_one(h->error_log, 8192);
	dump_one(h->access_log, 2048);
	(void)harness_joinpath(p, sizeof(p), h->dir, "nginx.out");
	dump_one(p, 4096);
	(void)harness_joinpath(p, sizeof(p), h->nginx_dir, "nginx-error.log");
	dump_one(p, 4096);
	(void)harness_joinpath(p, sizeof(p), h->nginx_dir, "nginx-access.log");
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

	(void)harness_joinpath(p, sizeof(p), h->dir, "quipu.out");
	n += scan_sanitizer(p);
	(void)harness_joinpath(p, sizeof(p), h->dir, "migrate.out");
	n += scan_sanitizer(p);
	n += scan_sanitizer(h->error_log);
	return n == 0;
}

/* ------------------------------------------------------------- /proc */

/*
 * The state and parent of process `pid' (decimal, as in /proc) from
 * /proc/<pid>/stat. -1 when it is gone or the line does not parse.
 */
static int
proc_stat(const char *pid, char *state, int *ppid)
{
	char	 path[64], *buf, *p;
	int	 rc = -1;

	snprintf(path, sizeof(path), "/proc/%.20s/stat", pid);
	if ((buf = harness_read_file(path, NULL)) == NULL)
		return -1;
	/* The command may hold spaces and parens: skip to the last ')'. */
	if ((p = strrchr(buf, ')')) != NULL &&
	    sscanf(p + 1, " %c %d", state, ppid) == 2)
		rc = 0;
	free(buf);
	return rc;
}

size_t
harness_children(pid_t ppid, pid_t *out, size_t max)
{
	DIR		*d;
	struct dirent	*de;
	char		 state;
	size_t		 n = 0;
	int		 pp;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (strlen(de->d_name) > 20)
			continue;
		if (proc_stat(de->d_name, &state, &pp) == 0 &&
		    pp == (int)ppid && state != 'Z')
			out[n++] = (pid_t)atoi(de->d_name);
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
	char	 id[24], state;
	int	 pp;

	snprintf(id, sizeof(id), "%d", (int)pid);
	if (proc_stat(id, &state, &pp) == -1)
		return false;
	return state != 'Z' && state != 'X';
}
