/*
 * harness.h: the full-stack integration test harness.
 *
 * One struct harness is one private stack: a fresh PostgreSQL database
 * (quipu_t_<prog>_<pid>) in the cluster named by QUIPU_TEST_PGURI, a temp
 * dir under $QUIPU_TEST_BUILDDIR/t/tmp, the real quipu-fcgi master and a
 * real nginx in front of it (config from $QUIPU_TEST_MKCONF). Tests drive
 * it over HTTP with libcurl, as a browser would (kcgi's regress harness
 * and PHP-FPM's tester.inc, with nginx in the loop).
 *
 * Every process the harness starts is stopped by harness_stop(), by the
 * group teardown, and as a last resort by an atexit handler and a signal
 * handler, so a failed assertion never leaves servers behind.
 *
 * Functions return 0 on success and -1 on failure after printing why to
 * stderr, unless stated otherwise.
 */
#ifndef QUIPU_HARNESS_H
#define QUIPU_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct CMUnitTest;

#define HARNESS_PATH	256

struct harness {
	char	 name[64];		/* program name, e.g. "test_health" */
	char	 dir[HARNESS_PATH];	/* temp dir, mode 0755 */
	char	 dbname[64];
	char	 dburl[1024];		/* conninfo of the test database */
	char	 sock[HARNESS_PATH];	/* quipu's unix socket */
	char	 conf[HARNESS_PATH];	/* quipu.conf */
	char	 log_dir[HARNESS_PATH];	/* owned by quipu's user */
	char	 error_log[HARNESS_PATH];
	char	 access_log[HARNESS_PATH];
	char	 nginx_conf[HARNESS_PATH];
	char	 nginx_dir[HARNESS_PATH];	/* nginx state dir (-p) */
	char	 base[64];		/* "http://127.0.0.1:PORT" */
	int	 port;
	int	 workers;		/* from the last config written */
	pid_t	 quipu;			/* master pid, or -1 */
	pid_t	 nginx;			/* nginx master pid, or -1 */
	/*
	 * A listening socket quipu gets as systemd passes one (fd 3 and
	 * LISTEN_FDS), or with `activation_stdin' as spawn-fcgi does (fd 0);
	 * -1: quipu binds its own.
	 */
	int	 activation_fd;
	bool	 activation_stdin;
	/* The fake OpenAI-compatible upstream (t/fakellm), or -1. */
	pid_t	 fake;
	int	 fake_port;
	char	 fake_url[64];		/* "http://127.0.0.1:PORT" */
	char	 last_req[200];		/* the last harness_req(), for messages */
	int	 quipu_status;		/* wait status of the last master */
	bool	 db_created;
	/*
	 * The local address requests are sent from (any 127.x.y.z on
	 * Linux), so that nginx's $remote_addr differs between clients;
	 * NULL: the default, 127.0.0.1.
	 */
	const char *source_addr;
};

/* The origin the default config allows (allowed_origins). */
#define HARNESS_ORIGIN	"http://app.example"

/*
 * Call first in main(). Exits 77 (automake SKIP) when QUIPU_TEST_PGURI is
 * unset. Installs the atexit and signal handlers, initialises libcurl.
 */
void	 harness_main_init(const char *prog);

/*
 * Call last in main() with cmocka's result: stops the stack, fails the
 * program when quipu's output holds sanitizer reports, drops the database
 * and removes the temp dir on success. Returns the exit status.
 */
int	 harness_main_fini(struct harness *, int rc);
/*
 * One test program: its cmocka tests run as one group against one stack.
 * The group setup makes the stack (harness_init, then `prepare' if any,
 * then harness_start with `extra' and `migrate'); the teardown stops it.
 */
struct harness_group {
	const char	*prog;
	const char	*extra;		/* config lines, may be NULL */
	bool		 migrate;
	int		(*prepare)(struct harness *);	/* may be NULL */
	void		(*cleanup)(struct harness *);	/* may be NULL */
};

/*
 * The whole main(): harness_main_init, the group, harness_main_fini.
 * Returns the program's exit status.
 */
int	 harness_run(struct harness *, const struct harness_group *,
	    const struct CMUnitTest *, size_t ntests);

/* Creates the database, the temp dir and picks a port. */
int	 harness_init(struct harness *, const char *prog);
/* Stops everything, drops the database; removes the temp dir when `ok'. */
void	 harness_fini(struct harness *, bool ok);

/*
 * Writes quipu.conf: the test defaults (workers 2, threads 8, test routes
 * on, logs in the temp dir, user nobody, ...) and then `extra' (lines,
 * may be NULL). A key given in `extra' replaces its default. The auth
 * defaults: jwt_secret_file = dir/jwt.key (made on first use, kept across
 * restarts), login_max_failures = 1000, cookie_secure = off and
 * allowed_origins = HARNESS_ORIGIN.
 */
int	 harness_write_conf(struct harness *, const char *extra);
/*
 * Writes a fresh random JWT key (64 hex characters, mode 0644) to
 * dir/leaf and its path into `path', for tests that rotate keys.
 */
int	 harness_write_key(struct harness *, const char *leaf, char *path,
	    size_t sz);
/* Runs quipu-fcgi -f conf --migrate; returns its exit status or -1. */
int	 harness_migrate(struct harness *);
/*
 * The whole stack: write the config with `extra', optionally migrate,
 * start quipu and nginx, wait until /healthz through nginx answers 200.
 */
int	 harness_start(struct harness *, const char *extra, bool migrate);
/* quipu alone (nginx may keep running): start and wait for /healthz. */
int	 harness_start_quipu(struct harness *);
/*
 * Sends `sig' to the quipu master and waits up to `timeout_ms' for it to
 * exit; SIGKILLs it (and its process group) after that. Returns 0 when it
 * exited by itself and left no process behind, 1 when it or a straggler
 * of its group had to be killed; h->quipu_status holds the wait status.
 */
int	 harness_stop_quipu(struct harness *, int sig, int timeout_ms);
/* Stops nginx (SIGQUIT, then SIGKILL). */
void	 harness_stop_nginx(struct harness *);
/* All three, quipu first, then nginx and the fake upstream. */
void	 harness_stop(struct harness *);
/*
 * Starts t/fakellm on an ephemeral port (h->fake_url), requiring the API
 * key `key' when not NULL. Stopped by harness_stop().
 */
int	 harness_fake_start(struct harness *, const char *key);
void	 harness_fake_stop(struct harness *);
/*
 * Starts the fake (harness_fake_start with `key'), writes `key' to
 * dir/llm.key and into `out' the config lines that point quipu at the
 * fake (llm_provider = openai, llm_base_url, llm_api_key_file, llm_model
 * = fake-model) followed by `more' (lines, may be NULL). -1 when a step
 * fails or the lines do not fit.
 */
int	 harness_fake_conf(struct harness *, const char *key, const char *more,
	    char *out, size_t sz);
/*
 * A GET of the fake's own JSON (/_fake/stats, /_fake/last), parsed; fails
 * the test when it cannot be had. The caller puts it.
 */
struct json_object *harness_fake_json(struct harness *, const char *path);
/* Rewrites the config with `extra' and restarts quipu only. */
int	 harness_restart_quipu(struct harness *, const char *extra);
/* Polls GET path until it answers `status' or `timeout_ms' passes. */
int	 harness_wait_status(struct harness *, const char *path, long status,
	    int timeout_ms);

/* Prints the quipu and nginx logs to stderr (after a failure). */
void	 harness_dump_logs(const struct harness *);
/*
 * False (after printing them) when quipu's output or logs hold sanitizer
 * reports (ASan, LSan, UBSan): call after harness_stop() in the teardown.
 */
bool	 harness_sanitizer_clean(const struct harness *);
/* Reads a whole file; NULL on error. The caller frees. */
char	*harness_read_file(const char *path, size_t *len);
/*
 * printf into a static buffer, one of eight used in turn (so a few may be
 * alive at once); fails the test when the text does not fit.
 */
const char *harness_fmt(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * Run $QUIPU_TEST_PG_STOP / $QUIPU_TEST_PG_START with sh -c. Stopping first
 * waits until no other test program (of a parallel make check) is running.
 */
int	 harness_pg_stop(void);
int	 harness_pg_start(void);

/* ------------------------------------------------------------- HTTP */

#define HARNESS_MAXHDR	64

struct harness_hdr {
	char	*name;
	char	*value;
};

struct harness_resp {
	long			 status;	/* 0 on a transport error */
	int			 curl_err;	/* CURLcode */
	char			*head;		/* raw header block */
	size_t			 head_len;
	char			*body;		/* NUL-terminated */
	size_t			 body_len;
	struct harness_hdr	 hdrs[HARNESS_MAXHDR];
	size_t			 nhdrs;
	struct json_object	*json;		/* parsed lazily */
};

/*
 * One request through nginx. `headers' is a NULL-terminated list of
 * "Name: value" lines (may be NULL); `body' may be NULL. Returns 0 when an
 * HTTP answer came back (any status), -1 on a transport error.
 */
int	 harness_request(struct harness *, const char *method, const char *path,
	    const char *const *headers, const char *body, size_t len,
	    struct harness_resp *);
/* GET shortcut. */
int	 harness_get(struct harness *, const char *path, struct harness_resp *);
/*
 * harness_request() with up to three header lines (NULL ones skipped);
 * `body' goes as JSON unless one of them sets a Content-Type. Fails the
 * test when the request cannot be made.
 */
void	 harness_req(struct harness *, const char *method, const char *path,
	    const char *body, const char *h1, const char *h2, const char *h3,
	    struct harness_resp *);
/*
 * The status must be `status'; else prints the request (the last
 * harness_req) and the answer, and fails the test.
 */
void	 harness_want(struct harness *, struct harness_resp *, long status);
/*
 * An error answer: the status must be `status' (as harness_want) and the
 * body quipu's error envelope with `code' (harness_is_envelope).
 */
void	 harness_want_error(struct harness *, struct harness_resp *,
	    long status, const char *code);
/* A header of the final response (case-insensitive), or NULL. */
const char *harness_resp_header(const struct harness_resp *, const char *);
/* The n-th (from 0) header of that name, for repeated ones; or NULL. */
const char *harness_resp_header_n(const struct harness_resp *, const char *,
	    size_t n);
/*
 * The Set-Cookie header that sets cookie `name' ("quipu_access=..."), or
 * NULL. The first one when several do.
 */
const char *harness_resp_cookie(const struct harness_resp *, const char *name);
/* The value of a Set-Cookie line into `out' (NUL-terminated); -1 if none. */
int	 harness_cookie_value(const char *set_cookie, char *out, size_t sz);
/*
 * Whether a Set-Cookie line has attribute `attr', compared whole and
 * without regard to case: "HttpOnly", "Path=/", "Max-Age=0".
 */
bool	 harness_cookie_has(const char *set_cookie, const char *attr);
/* The parsed JSON body (owned by the response), or NULL. */
struct json_object *harness_resp_json(struct harness_resp *);
/* A string at a dotted path ("error.code") in the JSON body, or NULL. */
const char *harness_resp_str(struct harness_resp *, const char *path);
/* Integer member `key' of `o'; fails the test when absent or not one. */
int64_t	 harness_json_int(struct json_object *o, const char *key);
/*
 * The value at a dotted path in `o' (borrowed), or NULL: members of an
 * object by name, elements of an array by index ("items.0.content"). A
 * NULL `o' gives NULL; an empty path gives `o'.
 */
struct json_object *harness_jpath(struct json_object *o, const char *path);
/* The string at a dotted path in `o', or NULL when absent or another type. */
const char *harness_json_str(struct json_object *o, const char *path);
/* The array at a dotted path in `o'; fails the test when there is none. */
struct json_object *harness_json_array(struct json_object *o,
	    const char *path);
/* The length of the array at a dotted path in `o' (as harness_json_array). */
size_t	 harness_json_len(struct json_object *o, const char *path);
/* True when `o' has member `key' and it is JSON null. */
bool	 harness_json_is_null(struct json_object *o, const char *key);
/* `unit' repeated `n' times, in a new string (fails the test on ENOMEM). */
char	*harness_rep(const char *unit, size_t n);
/*
 * True when the body is the error envelope with `code' and a request_id
 * equal to the X-Request-Id header.
 */
bool	 harness_is_envelope(struct harness_resp *, const char *code);
void	 harness_resp_free(struct harness_resp *);
/* True when `path' gets nginx's JSON 502: no quipu behind it. */
bool	 harness_pool_gone(struct harness *, const char *path);

/* A request in a thread of its own (slow requests in flight). */
struct harness_async {
	struct harness		*h;
	char			 method[16];
	char			 path[512];
	struct harness_resp	 resp;
	int			 rc;
	uint64_t		 done_ns;	/* monotonic, at completion */
	void			*thread;	/* pthread_t, opaque here */
};

int	 harness_async_start(struct harness *, struct harness_async *,
	    const char *method, const char *path);
/* Joins the thread; the result is in a->resp / a->rc. */
int	 harness_async_wait(struct harness_async *);

/* ------------------------------------------------------------- auth */

/* What register, login and refresh hand out, ready to send. */
struct harness_auth {
	char	 user_id[64];
	char	 access[1100];		/* JWT_MAX_LEN is 1024 */
	char	 refresh[128];
	char	 auth_header[1200];	/* "Authorization: Bearer <access>" */
	char	 cookie[1400];		/* "Cookie: quipu_access=<access>" */
};

/*
 * POST /api/v1/auth/register (expects 201) or /login (expects 200) with
 * the JSON body {"username","password"}; fills `out' (may be NULL) from
 * the tokens answer. -1, after printing the status, on any other answer.
 */
int	 harness_register(struct harness *, const char *username,
	    const char *password, struct harness_auth *out);
int	 harness_login(struct harness *, const char *username,
	    const char *password, struct harness_auth *out);
/* The password harness_user() and harness_new_user() register with. */
#define HARNESS_PW	"pw-Harness-000001"
/* harness_register() of `name' with HARNESS_PW; fails the test otherwise. */
void	 harness_user(struct harness *, const char *name,
	    struct harness_auth *out);
/* harness_user() with a name not used before: "<prefix>-<n>". */
void	 harness_new_user(struct harness *, const char *prefix,
	    struct harness_auth *out);
/* Fills `out' from a tokens answer (register, login, refresh). */
int	 harness_auth_from_resp(struct harness_resp *,
	    struct harness_auth *out);
/*
 * A JSON request: `body' (may be NULL) is sent as application/json, and
 * with `auth' (may be NULL) its bearer token.
 */
int	 harness_json(struct harness *, const char *method, const char *path,
	    const struct harness_auth *auth, const char *body,
	    struct harness_resp *);

/* ------------------------------------------------------------- database */

/*
 * Runs one statement on the test database (h->dburl) with `nparams' text
 * parameters (NULL ones are SQL NULL). Returns the rows it returned or
 * changed, -1 on error; the first column of its first row goes into `out'
 * (may be NULL; "" when there is none or it is NULL).
 */
int	 harness_sql(struct harness *, const char *sql,
	    const char *const *params, int nparams, char *out, size_t outsz);
/*
 * The first value of `sql' (with one parameter, or none when `param' is
 * NULL) as a number: a count, say. -1 on error.
 */
long	 harness_sql_long(struct harness *, const char *sql,
	    const char *param);

/* ------------------------------------------------------------- SSE */

#define HARNESS_MAXEV	512

struct harness_event {
	char	 event[64];		/* "" for a data-only frame */
	char	*data;			/* data lines joined by \n */
	double	 t_ms;			/* arrival, ms after the request began */
};

struct harness_sse {
	long			 status;
	struct harness_hdr	 hdrs[HARNESS_MAXHDR];
	size_t			 nhdrs;
	char			*head;
	size_t			 head_len;
	struct harness_event	 ev[HARNESS_MAXEV];
	size_t			 nev;
	size_t			 ncomments;
	int			 curl_err;
	/* private */
	char			*buf;
	size_t			 buf_len;
	size_t			 stop_after;
	uint64_t		 t0;
};

/*
 * A streaming GET with Accept: text/event-stream. Each complete event is
 * recorded with its arrival time. With `stop_after' > 0 the client hangs
 * up once that many events have arrived. Returns 0 when the stream ended
 * (or was cut on purpose), -1 otherwise.
 */
int	 harness_sse_get(struct harness *, const char *path, size_t stop_after,
	    struct harness_sse *);
/*
 * The same for any method: `headers' (NULL-terminated, may be NULL) are
 * added to Accept: text/event-stream, and `body' (may be NULL) is sent as
 * application/json.
 */
int	 harness_sse_request(struct harness *, const char *method,
	    const char *path, const char *const *headers, const char *body,
	    size_t stop_after, struct harness_sse *);
const char *harness_sse_header(const struct harness_sse *, const char *);
void	 harness_sse_free(struct harness_sse *);

/* ------------------------------------------------------------- load */

struct harness_counts {
	unsigned long	 ok;		/* 2xx */
	unsigned long	 bad;		/* other statuses */
	unsigned long	 err;		/* transport errors */
	long		 last_bad;	/* the last non-2xx status seen */
};

struct harness_load;

/* Starts `nthreads' threads looping GET path until harness_load_stop(). */
struct harness_load *harness_load_start(struct harness *, const char *path,
	    int nthreads);
/* Stops the loop, joins, adds up the counts and frees `l'. */
void	 harness_load_stop(struct harness_load *l, struct harness_counts *);
/* Exactly `n' GETs of `path' spread over `nthreads' threads. */
int	 harness_load_n(struct harness *, const char *path, int nthreads,
	    unsigned long n, struct harness_counts *);

/* ------------------------------------------------------------- procs */

/* The children of `ppid' (from /proc/<pid>/stat); returns how many. */
size_t	 harness_children(pid_t ppid, pid_t *out, size_t max);
/* The real uid of a process, or -1. */
long	 harness_proc_uid(pid_t);
/* Whether a process exists (and is not a zombie). */
bool	 harness_proc_alive(pid_t);
/* Monotonic milliseconds. */
uint64_t harness_now_ms(void);
void	 harness_sleep_ms(unsigned);
/* The value of a Prometheus sample line starting with `prefix', or -1. */
double	 harness_metric(const char *text, const char *prefix);

#endif
