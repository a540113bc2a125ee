/*
 * sseload: a load generator for server-sent event streams
 * (bench/stream.sh).
 *
 *	sseload -n STREAMS [-k quipu|openai|chatkit] [-e TOKENS] [-r RAMP_MS]
 *	    [-T TIMEOUT_S] [-m METHOD] [-P PATH] [-f FILE] [-b BODY | -B FILE]
 *	    [-H HEADER]... [-o OUT] HOST:PORT
 *
 * Opens STREAMS HTTP/1.1 connections to HOST:PORT (IPv4), spread evenly
 * over RAMP_MS (1500), each sending one request (METHOD, POST by default,
 * PATH, the headers, the body with its Content-Length, Connection:
 * close), and reads every response as an event stream, in one thread:
 * epoll and non-blocking sockets, so that thousands of streams cost one
 * process and the arrival times are taken as the bytes are read.
 *
 * The tokens are stamps: each is the CLOCK_REALTIME microseconds at which
 * t/fakellm sent it (fake:stamp), followed by a space. A token's overhead
 * is its arrival here (CLOCK_REALTIME, read right after the read(2) that
 * brought it) minus its stamp: both clocks are the same on one machine.
 *	-k quipu	the tokens are the "text" of `event: message_delta';
 *			`event: error' fails the stream, `event: done' ends it
 *	-k openai	the tokens are the "content" of Chat Completions
 *			chunks; data: {"error"...} fails it, data: [DONE]
 *			ends it
 *	-k chatkit	ChatKit frames (data: <JSON> only): the tokens are
 *			the "delta" of thread.item.updated frames whose
 *			update is an assistant_message.content_part.
 *			text_delta; a frame of type "error" fails it. There
 *			is no end marker: a thread.item.done whose item is an
 *			assistant_message stands for one (frames may follow
 *			it, the stream still has to end cleanly)
 * With -f, line i of FILE is "PATH<TAB>AUTHORIZATION[<TAB>BODY]" for
 * stream i (the header's value, e.g. "Bearer ..."; empty for none): one
 * thread and one user's token per stream. When the third field is there
 * (even empty), it is that stream's body instead of -b or -B: a ChatKit
 * request names its thread in the body. Otherwise every stream asks for
 * -P PATH with the same body.
 *
 * A stream is ok when it answered 200, carried at least TOKENS (-e, 50)
 * stamps, sent its end marker (for chatkit: the answer's item done) and
 * ended cleanly (the last chunk of the chunked encoding). Anything else
 * counts as one error of one kind: connect (no connection, or closed
 * before any answer), status (not 200), event (an error event), short
 * (ended cleanly with too few tokens), truncated (closed before its end),
 * timeout (still open after TIMEOUT_S, 120), bad (not HTTP, a token that
 * is not a stamp, a ChatKit frame that is not a JSON object with a
 * type). The first errors are described on standard error; the summary
 * is one line on standard output, times in milliseconds:
 *	streams= ok= errors= connect= status= event= short= truncated=
 *	timeout= bad= tokens= open_max= elapsed= ft_p50= ft_p99= ov_p50=
 *	ov_p99= ov_p999= ov_max=
 * ft is the first token's latency (request written -> first stamp read),
 * ov the overhead of every token, open_max the most connections open at
 * once, elapsed (seconds) from the first connect to the last stream's end.
 * With -o, every token is also written to OUT as "ARRIVAL OVERHEAD STREAM"
 * (ms since the first connect, ms, the stream's number), in the order
 * they came: to see when in a run the overhead grows.
 * Exits 0 when the run took place (errors or not), 1 when it could not,
 * 2 on bad usage.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#else
#define _GNU_SOURCE	/* built alone, as configure would: getopt, strncasecmp */
#endif

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX	16384		/* response head, bytes */
#define LINE_MAX_SSE	(1 << 20)	/* one SSE line, bytes */
#define HEADERS_MAX	16		/* -H options */
#define READ_BUF	65536
#define EVENTS_MAX	1024
#define ERRORS_SHOWN	5		/* described per kind */
/* A stamp is microseconds since 1970: anything smaller is not one. */
#define STAMP_MIN	1000000000000000LL

enum kind {
	K_QUIPU,
	K_OPENAI,
	K_CHATKIT
};

/* Why a stream failed; E_NONE while it has not. */
enum err {
	E_NONE,
	E_CONNECT,
	E_STATUS,
	E_EVENT,
	E_SHORT,
	E_TRUNC,
	E_TIMEOUT,
	E_BAD,
	E_COUNT
};

static const char *const err_names[E_COUNT] = {
	"ok", "connect", "status", "event", "short", "truncated", "timeout",
	"bad"
};

enum phase {
	P_CONNECT,	/* waiting for the connection */
	P_SEND,		/* writing the request */
	P_HEAD,		/* reading the status line and headers */
	P_BODY,		/* reading the body */
	P_DONE
};

enum body_mode {
	B_CHUNKED,
	B_LENGTH,
	B_EOF
};

/* Where the chunked decoder is. */
enum chunk_state {
	CH_SIZE,	/* hex digits of a chunk size */
	CH_EXT,		/* a chunk extension, up to the end of the line */
	CH_DATA,	/* chunk data */
	CH_DATA_END,	/* the CRLF after the data */
	CH_TRAILER	/* trailer lines, up to an empty one */
};

struct conn {
	int			 fd;
	int			 idx;
	enum phase		 phase;
	enum err		 err;
	char			*req;		/* the request, while unsent */
	size_t			 reqlen;
	size_t			 reqoff;
	int64_t			 sent_us;	/* realtime: request written */
	/* The response head. */
	char			*head;
	size_t			 headlen;
	int			 status;
	enum body_mode		 mode;
	uint64_t		 left;		/* B_LENGTH: body bytes to come */
	/* The chunked decoder. */
	enum chunk_state	 ch;
	uint64_t		 chleft;
	int			 chdigits;
	size_t			 trailer_len;
	/* The event stream. */
	char			*line;
	size_t			 linelen;
	size_t			 linecap;
	bool			 cr;		/* the last byte was a CR */
	char			 event[32];
	char			*data;
	size_t			 datalen;
	size_t			 datacap;
	bool			 hasdata;
	/* What it got. */
	int			 tokens;
	bool			 ended;		/* its end marker came */
	bool			 clean;		/* the body ended as it should */
	bool			 got_bytes;
};

/* A growing array of microsecond figures. */
struct samples {
	int64_t		*v;
	size_t		 n;
	size_t		 cap;
};

static struct {
	enum kind	 kind;
	int		 n;
	int		 expect;
	long		 ramp_ms;
	long		 timeout_s;
	const char	*method;
	const char	*path;
	char		*body;
	size_t		 bodylen;
	const char	*headers[HEADERS_MAX];
	int		 nheaders;
	const char	*out;		/* -o */
	char		**paths;	/* -f, per stream */
	char		**auths;
	char		**bodies;	/* NULL: -b or -B */
	char		 hostport[64];
	struct sockaddr_in addr;
} opt;

static struct {
	int		 ep;
	struct conn	*conns;
	int		 launched;
	int		 finished;
	int		 open;
	int		 open_max;
	int		 errors[E_COUNT];
	long		 tokens;
	struct samples	 ov;		/* every token's overhead */
	struct samples	 ft;		/* every stream's first token */
	struct samples	 at;		/* -o: each token's arrival */
	struct samples	 who;		/* -o: each token's stream */
	int64_t		 start_ns;	/* monotonic */
	int64_t		 start_us;	/* realtime */
	int64_t		 last_end_ns;
	int64_t		 now_us;	/* realtime of the current read */
} g;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: sseload -n STREAMS [-k quipu|openai|chatkit] "
	    "[-e TOKENS] [-r RAMP_MS] [-T TIMEOUT_S]\n"
	    "\t[-m METHOD] [-P PATH] [-f FILE] [-b BODY | -B FILE] "
	    "[-H HEADER]... [-o OUT] HOST:PORT\n");
	exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fatal(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "sseload: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A load generator that cannot allocate has nothing left to measure. */
static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		fatal("out of memory");
	return p;
}

static int64_t
clock_ns(clockid_t id)
{
	struct timespec	 ts;

	if (clock_gettime(id, &ts) == -1)
		fatal("clock_gettime: %s", strerror(errno));
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static int64_t
real_us(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000;
}

static void
samples_add(struct samples *s, int64_t v)
{
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 4096 : s->cap * 2;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = v;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile q (0..1) of sorted samples, in ms. */
static double
percentile(const struct samples *s, double q)
{
	size_t	 i;

	if (s->n == 0)
		return 0;
	i = (size_t)(q * (double)s->n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > s->n)
		i = s->n;
	return (double)s->v[i - 1] / 1000.0;
}

/* ------------------------------------------------------------ options */

static long
num_arg(const char *s, long lo, long hi)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi)
		usage();
	return v;
}

/* The whole of `path', NUL-terminated; its length in *len. */
static char *
file_read(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 cap = 0, n = 0, r;

	if ((f = fopen(path, "r")) == NULL)
		fatal("%s: %s", path, strerror(errno));
	for (;;) {
		if (cap - n < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		if ((r = fread(buf + n, 1, cap - n - 1, f)) == 0)
			break;
		n += r;
	}
	if (ferror(f))
		fatal("%s: read error", path);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* -f: "PATH<TAB>AUTHORIZATION[<TAB>BODY]" per stream, in order. */
static void
streams_read(const char *path)
{
	char	*buf, *p, *nl, *tab, *body;
	size_t	 len;
	int	 i;

	buf = file_read(path, &len);
	opt.paths = xrealloc(NULL, (size_t)opt.n * sizeof(*opt.paths));
	opt.auths = xrealloc(NULL, (size_t)opt.n * sizeof(*opt.auths));
	opt.bodies = xrealloc(NULL, (size_t)opt.n * sizeof(*opt.bodies));
	for (i = 0, p = buf; i < opt.n; i++, p = nl + 1) {
		if (*p == '\0' || (nl = strchr(p, '\n')) == NULL)
			fatal("%s: %d lines for %d streams", path, i, opt.n);
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		body = NULL;
		if ((tab = strchr(p, '\t')) != NULL) {
			*tab++ = '\0';
			if ((body = strchr(tab, '\t')) != NULL)
				*body++ = '\0';
		}
		if (p[0] != '/')
			fatal("%s: line %d: the path must start with /", path,
			    i + 1);
		opt.paths[i] = p;
		opt.auths[i] = tab != NULL && *tab != '\0' ? tab : NULL;
		opt.bodies[i] = body;
	}
	/* buf stays: the strings point into it until the end. */
}

static void
target_parse(const char *s)
{
	const char	*colon;
	size_t		 hl;
	char		 host[32];
	long		 port;

	if ((colon = strrchr(s, ':')) == NULL ||
	    (hl = (size_t)(colon - s)) == 0 || hl >= sizeof(host))
		usage();
	memcpy(host, s, hl);
	host[hl] = '\0';
	port = num_arg(colon + 1, 1, 65535);
	memset(&opt.addr, 0, sizeof(opt.addr));
	opt.addr.sin_family = AF_INET;
	opt.addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &opt.addr.sin_addr) != 1)
		fatal("%s: not an IPv4 address", host);
	snprintf(opt.hostport, sizeof(opt.hostport), "%s:%ld", host, port);
}

static void
options(int argc, char *argv[])
{
	const char	*file = NULL;
	int		 c;

	opt.kind = K_QUIPU;
	opt.expect = 50;
	opt.ramp_ms = 1500;
	opt.timeout_s = 120;
	opt.method = "POST";
	opt.path = "/";
	while ((c = getopt(argc, argv, "b:B:e:f:H:k:m:n:o:P:r:T:")) != -1) {
		switch (c) {
		case 'b':
			opt.body = optarg;
			opt.bodylen = strlen(optarg);
			break;
		case 'B':
			opt.body = file_read(optarg, &opt.bodylen);
			break;
		case 'e':
			opt.expect = (int)num_arg(optarg, 0, 1000000);
			break;
		case 'f':
			file = optarg;
			break;
		case 'H':
			if (opt.nheaders == HEADERS_MAX ||
			    strpbrk(optarg, "\r\n") != NULL)
				usage();
			opt.headers[opt.nheaders++] = optarg;
			break;
		case 'k':
			if (strcmp(optarg, "quipu") == 0)
				opt.kind = K_QUIPU;
			else if (strcmp(optarg, "openai") == 0)
				opt.kind = K_OPENAI;
			else if (strcmp(optarg, "chatkit") == 0)
				opt.kind = K_CHATKIT;
			else
				usage();
			break;
		case 'm':
			opt.method = optarg;
			break;
		case 'n':
			opt.n = (int)num_arg(optarg, 1, 1000000);
			break;
		case 'o':
			opt.out = optarg;
			break;
		case 'P':
			opt.path = optarg;
			break;
		case 'r':
			opt.ramp_ms = num_arg(optarg, 0, 3600000);
			break;
		case 'T':
			opt.timeout_s = num_arg(optarg, 1, 86400);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || opt.n == 0)
		usage();
	target_parse(argv[optind]);
	if (file != NULL)
		streams_read(file);
}

/* Each stream holds one descriptor: ask for the hard limit. */
static void
nofile_raise(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("setrlimit: %s", strerror(errno));
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)opt.n + 16)
		fprintf(stderr, "sseload: warning: %llu descriptors for %d "
		    "streams\n", (unsigned long long)rl.rlim_cur, opt.n);
}

/* ------------------------------------------------------------ streams */

/* Describes the first few errors of each kind. */
static void __attribute__((format(printf, 3, 4)))
conn_fail(struct conn *c, enum err e, const char *fmt, ...)
{
	static int	 shown[E_COUNT];
	va_list		 ap;

	if (c->err != E_NONE)
		return;
	c->err = e;
	if (shown[e]++ >= ERRORS_SHOWN)
		return;
	fprintf(stderr, "sseload: stream %d: %s: ", c->idx, err_names[e]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The stream is over, for whatever reason: counts it and frees it. */
static void
conn_finish(struct conn *c)
{
	if (c->phase == P_DONE)
		return;
	if (c->err == E_NONE) {
		if (!c->ended || !c->clean)
			conn_fail(c, E_TRUNC, "closed before its end (%d tokens)",
			    c->tokens);
		else if (c->tokens < opt.expect)
			conn_fail(c, E_SHORT, "%d tokens, not %d", c->tokens,
			    opt.expect);
	}
	g.errors[c->err]++;
	c->phase = P_DONE;
	if (c->fd != -1)
		close(c->fd);	/* also leaves the epoll set */
	c->fd = -1;
	free(c->req);
	free(c->head);
	free(c->line);
	free(c->data);
	c->req = c->head = c->line = c->data = NULL;
	g.finished++;
	g.open--;
	g.last_end_ns = mono_ns();
}

/* The request of stream i, whole. */
static void
request_build(struct conn *c)
{
	const char	*path = opt.paths != NULL ? opt.paths[c->idx] : opt.path;
	const char	*auth = opt.auths != NULL ? opt.auths[c->idx] : NULL;
	const char	*body = opt.body;
	size_t		 bodylen = opt.bodylen, cap, n;
	int		 i, r;

	if (opt.bodies != NULL && opt.bodies[c->idx] != NULL) {
		body = opt.bodies[c->idx];
		bodylen = strlen(body);
	}
	cap = 512 + strlen(path) + (auth != NULL ? strlen(auth) : 0) +
	    bodylen;
	for (i = 0; i < opt.nheaders; i++)
		cap += strlen(opt.headers[i]) + 2;
	c->req = xrealloc(NULL, cap);
	n = (size_t)snprintf(c->req, cap, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\n", opt.method, path, opt.hostport);
	if (auth != NULL)
		n += (size_t)snprintf(c->req + n, cap - n,
		    "Authorization: %s\r\n", auth);
	for (i = 0; i < opt.nheaders; i++)
		n += (size_t)snprintf(c->req + n, cap - n, "%s\r\n",
		    opt.headers[i]);
	r = snprintf(c->req + n, cap - n, "Content-Length: %zu\r\n\r\n",
	    bodylen);
	n += (size_t)r;
	if (n + bodylen >= cap)
		fatal("request too long");
	if (bodylen > 0)
		memcpy(c->req + n, body, bodylen);
	c->reqlen = n + bodylen;
	c->reqoff = 0;
}

static void
conn_watch(struct conn *c, uint32_t events, int op)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = c;
	if (epoll_ctl(g.ep, op, c->fd, &ev) == -1)
		fatal("epoll_ctl: %s", strerror(errno));
}

static void
conn_send(struct conn *c)
{
	ssize_t	 w;

	while (c->reqoff < c->reqlen) {
		w = write(c->fd, c->req + c->reqoff, c->reqlen - c->reqoff);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN)
			return;		/* EPOLLOUT brings us back */
		if (w == -1) {
			conn_fail(c, E_CONNECT, "write: %s", strerror(errno));
			conn_finish(c);
			return;
		}
		c->reqoff += (size_t)w;
	}
	c->sent_us = real_us();
	free(c->req);
	c->req = NULL;
	c->phase = P_HEAD;
	c->head = xrealloc(NULL, HEAD_MAX + 1);
	c->headlen = 0;
	conn_watch(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
}

/* Opens stream i; its request goes out once connected. */
static void
conn_launch(int i)
{
	struct conn	*c = &g.conns[i];
	int		 one = 1;

	memset(c, 0, sizeof(*c));
	c->idx = i;
	c->fd = -1;
	c->phase = P_CONNECT;
	g.launched++;
	if (++g.open > g.open_max)
		g.open_max = g.open;
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		conn_fail(c, E_CONNECT, "socket: %s", strerror(errno));
		conn_finish(c);
		return;
	}
	/* Requests are one write each; no Nagle delay on them. */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	request_build(c);
	if (connect(c->fd, (struct sockaddr *)&opt.addr,
	    sizeof(opt.addr)) == 0) {
		c->phase = P_SEND;
		conn_watch(c, EPOLLOUT, EPOLL_CTL_ADD);
		conn_send(c);
		return;
	}
	if (errno != EINPROGRESS) {
		conn_fail(c, E_CONNECT, "connect: %s", strerror(errno));
		conn_finish(c);
		return;
	}
	conn_watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void
conn_connected(struct conn *c)
{
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		conn_fail(c, E_CONNECT, "connect: %s", strerror(err));
		conn_finish(c);
		return;
	}
	c->phase = P_SEND;
	conn_send(c);
}

/* ------------------------------------------------------------ tokens */

/*
 * The stamps of a JSON string, p just past its opening quote: "<us> <us>
 * ..." (one delta may carry several tokens if a relay joins them). Each
 * is one token.
 */
static void
stamps_parse(struct conn *c, const char *p)
{
	int64_t		 v;

	while (*p != '\0' && *p != '"') {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (*p < '0' || *p > '9') {
			conn_fail(c, E_BAD, "a token that is not a stamp: "
			    "%.40s", p);
			return;
		}
		for (v = 0; *p >= '0' && *p <= '9'; p++)
			if (v < INT64_MAX / 10)
				v = v * 10 + (*p - '0');
		if (v < STAMP_MIN) {
			conn_fail(c, E_BAD, "%" PRId64 " is not a stamp", v);
			return;
		}
		if (c->tokens++ == 0)
			samples_add(&g.ft, g.now_us - c->sent_us);
		samples_add(&g.ov, g.now_us - v);
		if (opt.out != NULL) {
			samples_add(&g.at, g.now_us - g.start_us);
			samples_add(&g.who, c->idx);
		}
		g.tokens++;
	}
}

/* The stamps in the JSON string value of `key' in data. */
static void
stamps_read(struct conn *c, const char *data, const char *key)
{
	const char	*p;

	if ((p = strstr(data, key)) != NULL)
		stamps_parse(c, p + strlen(key));
}

/* ------------------------------------------------------------ ChatKit */

/*
 * A ChatKit frame nests the item, whose own "type" (and the text of a
 * user's message) must not be taken for the frame's: so its members are
 * found by walking the JSON, one level at a time. Only as much of JSON as
 * finding a value's end needs: quipu writes these frames, the walk does
 * not validate them.
 */

static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Past the string whose opening quote is at p, or NULL. */
static const char *
json_skip_str(const char *p)
{
	for (p++; *p != '"'; p++) {
		if (*p == '\0')
			return NULL;
		if (*p == '\\' && *++p == '\0')
			return NULL;
	}
	return p + 1;
}

/* Past the value at p, or NULL when the data ends inside it. */
static const char *
json_skip(const char *p)
{
	int	 depth = 0;

	if (*p == '"')
		return json_skip_str(p);
	if (*p != '{' && *p != '[') {
		/* A number or a literal, up to what follows it. */
		while (*p != '\0' && *p != ',' && *p != '}' && *p != ']' &&
		    *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		return *p != '\0' ? p : NULL;
	}
	for (;;) {
		switch (*p) {
		case '\0':
			return NULL;
		case '"':
			if ((p = json_skip_str(p)) == NULL)
				return NULL;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return p + 1;
			break;
		default:
			break;
		}
		p++;
	}
}

/*
 * The value of member `key' of the object at p (its own members only,
 * never those of the objects inside it), or NULL. NULL in, NULL out, so
 * that lookups chain.
 */
static const char *
json_member(const char *p, const char *key)
{
	const char	*k;
	size_t		 kl = strlen(key);
	bool		 match;

	if (p == NULL || *(p = json_ws(p)) != '{')
		return NULL;
	for (p = json_ws(p + 1); *p == '"'; p = json_ws(p + 1)) {
		k = p + 1;
		if ((p = json_skip_str(p)) == NULL)
			return NULL;
		/* Keys are compared as written: ChatKit's have no escapes. */
		match = (size_t)(p - 1 - k) == kl && memcmp(k, key, kl) == 0;
		if (*(p = json_ws(p)) != ':')
			return NULL;
		p = json_ws(p + 1);
		if (match)
			return p;
		if ((p = json_skip(p)) == NULL || *(p = json_ws(p)) != ',')
			return NULL;
	}
	return NULL;
}

/* Is the value at p (NULL: none) the string s, which has no escapes? */
static bool
json_is(const char *p, const char *s)
{
	size_t	 n = strlen(s);

	return p != NULL && *p == '"' && strncmp(p + 1, s, n) == 0 &&
	    p[n + 1] == '"';
}

/*
 * One ChatKit frame. Only the answer's text deltas carry stamps; the
 * answer's thread.item.done is the nearest thing to an end marker (a
 * widget or the thread's new title may follow it).
 */
static void
chatkit_frame(struct conn *c, const char *d)
{
	const char	*type, *up, *delta;

	if ((type = json_member(d, "type")) == NULL || *type != '"') {
		conn_fail(c, E_BAD, "not a ChatKit frame: %.60s", d);
		return;
	}
	if (json_is(type, "thread.item.updated")) {
		up = json_member(d, "update");
		if (json_is(json_member(up, "type"),
		    "assistant_message.content_part.text_delta") &&
		    (delta = json_member(up, "delta")) != NULL &&
		    *delta == '"')
			stamps_parse(c, delta + 1);
	} else if (json_is(type, "error"))
		conn_fail(c, E_EVENT, "%.200s", d);
	else if (json_is(type, "thread.item.done") &&
	    json_is(json_member(json_member(d, "item"), "type"),
	    "assistant_message"))
		c->ended = true;
}

/* One whole event: its name (possibly empty) and data. */
static void
event_dispatch(struct conn *c)
{
	const char	*d = c->data != NULL ? c->data : "";

	if (opt.kind == K_CHATKIT) {
		/* Unnamed events only; the default name is "message". */
		if (c->event[0] == '\0' || strcmp(c->event, "message") == 0)
			chatkit_frame(c, d);
	} else if (opt.kind == K_QUIPU) {
		if (strcmp(c->event, "message_delta") == 0)
			stamps_read(c, d, "\"text\":\"");
		else if (strcmp(c->event, "error") == 0)
			conn_fail(c, E_EVENT, "%.200s", d);
		else if (strcmp(c->event, "done") == 0)
			c->ended = true;
	} else if (c->event[0] == '\0' ||
	    strcmp(c->event, "message") == 0) {
		if (strcmp(d, "[DONE]") == 0)
			c->ended = true;
		else if (strncmp(d, "{\"error\"", 8) == 0)
			conn_fail(c, E_EVENT, "%.200s", d);
		else
			stamps_read(c, d, "\"content\":\"");
	}
}

static void
data_append(struct conn *c, const char *s, size_t n)
{
	if (c->datalen + n + 2 > c->datacap) {
		c->datacap = (c->datalen + n + 2) * 2;
		c->data = xrealloc(c->data, c->datacap);
	}
	memcpy(c->data + c->datalen, s, n);
	c->datalen += n;
	c->data[c->datalen] = '\0';
}

/* One line of the event stream (without its end). */
static void
sse_line(struct conn *c)
{
	char	*l = c->line, *v;
	size_t	 n = c->linelen, fl, vl;

	if (n == 0) {
		if (c->hasdata)
			event_dispatch(c);
		c->event[0] = '\0';
		c->datalen = 0;
		if (c->data != NULL)
			c->data[0] = '\0';
		c->hasdata = false;
		return;
	}
	if (l[0] == ':')
		return;		/* a comment: a heartbeat */
	if ((v = memchr(l, ':', n)) == NULL) {
		fl = n;
		v = l + n;
		vl = 0;
	} else {
		fl = (size_t)(v - l);
		v++;
		if (v < l + n && *v == ' ')
			v++;
		vl = n - (size_t)(v - l);
	}
	if (fl == 5 && memcmp(l, "event", 5) == 0) {
		if (vl >= sizeof(c->event))
			vl = sizeof(c->event) - 1;
		memcpy(c->event, v, vl);
		c->event[vl] = '\0';
	} else if (fl == 4 && memcmp(l, "data", 4) == 0) {
		if (c->hasdata)
			data_append(c, "\n", 1);
		data_append(c, v, vl);
		c->hasdata = true;
	}
}

/* Body bytes: lines end at CR, LF or CRLF. */
static void
sse_feed(struct conn *c, const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && c->err != E_BAD; i++) {
		if (p[i] == '\n' && c->cr) {
			c->cr = false;
			continue;
		}
		c->cr = p[i] == '\r';
		if (p[i] == '\r' || p[i] == '\n') {
			sse_line(c);
			c->linelen = 0;
			continue;
		}
		if (c->linelen + 1 >= c->linecap) {
			if (c->linecap >= LINE_MAX_SSE) {
				conn_fail(c, E_BAD, "a line over %d bytes",
				    LINE_MAX_SSE);
				return;
			}
			c->linecap = c->linecap == 0 ? 512 : c->linecap * 2;
			c->line = xrealloc(c->line, c->linecap);
		}
		c->line[c->linelen++] = p[i];
	}
}

/* ------------------------------------------------------------ HTTP */

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Chunked transfer encoding, as nginx sends a stream. */
static void
chunked_feed(struct conn *c, const char *p, size_t n)
{
	size_t	 i = 0, k;
	int	 h;

	while (i < n && c->phase == P_BODY) {
		switch (c->ch) {
		case CH_SIZE:
			if ((h = hexval(p[i])) >= 0) {
				if (c->chleft > (UINT64_MAX >> 4)) {
					conn_fail(c, E_BAD, "chunk too big");
					conn_finish(c);
					return;
				}
				c->chleft = c->chleft << 4 | (uint64_t)h;
				c->chdigits++;
			} else if (c->chdigits > 0 && (p[i] == ';' ||
			    p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
				c->ch = CH_EXT;
			else if (c->chdigits > 0 && p[i] == '\n')
				goto size_done;
			else {
				conn_fail(c, E_BAD, "bad chunk size");
				conn_finish(c);
				return;
			}
			i++;
			break;
		case CH_EXT:
			if (p[i] == '\n')
				goto size_done;
			i++;
			break;
		case CH_DATA:
			k = n - i;
			if (k > c->chleft)
				k = (size_t)c->chleft;
			sse_feed(c, p + i, k);
			i += k;
			if ((c->chleft -= k) == 0)
				c->ch = CH_DATA_END;
			break;
		case CH_DATA_END:
			if (p[i] == '\n') {
				c->ch = CH_SIZE;
				c->chleft = 0;
				c->chdigits = 0;
			} else if (p[i] != '\r') {
				conn_fail(c, E_BAD, "no CRLF after a chunk");
				conn_finish(c);
				return;
			}
			i++;
			break;
		case CH_TRAILER:
			if (p[i] == '\n') {
				if (c->trailer_len == 0) {
					c->clean = true;
					conn_finish(c);
					return;
				}
				c->trailer_len = 0;
			} else if (p[i] != '\r')
				c->trailer_len++;
			i++;
			break;
		}
		continue;
size_done:
		i++;
		if (c->chleft == 0) {
			c->ch = CH_TRAILER;
			c->trailer_len = 0;
		} else
			c->ch = CH_DATA;
	}
}

static void
body_feed(struct conn *c, const char *p, size_t n)
{
	if (n == 0)
		return;
	switch (c->mode) {
	case B_CHUNKED:
		chunked_feed(c, p, n);
		break;
	case B_LENGTH:
		if (n > c->left)
			n = (size_t)c->left;
		sse_feed(c, p, n);
		if ((c->left -= n) == 0) {
			c->clean = true;
			conn_finish(c);
		}
		break;
	case B_EOF:
		sse_feed(c, p, n);
		break;
	}
}

/* The value of header `name' in the head, or NULL; *len its length. */
static const char *
header_find(const char *head, const char *name, size_t *len)
{
	const char	*p = head, *v, *e;
	size_t		 nl = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) != 0 || p[nl] != ':')
			continue;
		for (v = p + nl + 1; *v == ' ' || *v == '\t'; v++)
			continue;
		if ((e = strstr(v, "\r\n")) == NULL)
			e = v + strlen(v);
		*len = (size_t)(e - v);
		return v;
	}
	return NULL;
}

/* The status line and headers, once whole; then the body begins. */
static void
head_parse(struct conn *c, size_t headlen)
{
	const char	*v, *rest = c->head + headlen;
	size_t		 len, restlen = c->headlen - headlen;
	char		 tmp[32];

	c->head[headlen - 2] = '\0';	/* keeps one CRLF for header_find */
	if (strncmp(c->head, "HTTP/1.", 7) != 0 || c->head[8] != ' ' ||
	    sscanf(c->head + 9, "%3d", &c->status) != 1) {
		conn_fail(c, E_BAD, "not an HTTP response: %.40s", c->head);
		conn_finish(c);
		return;
	}
	if (c->status != 200) {
		conn_fail(c, E_STATUS, "%d: %.200s", c->status, restlen > 0 ?
		    rest : "");
		conn_finish(c);
		return;
	}
	c->mode = B_EOF;
	if ((v = header_find(c->head, "Transfer-Encoding", &len)) != NULL &&
	    len >= 7 && strncasecmp(v + len - 7, "chunked", 7) == 0) {
		c->mode = B_CHUNKED;
		c->ch = CH_SIZE;
	} else if ((v = header_find(c->head, "Content-Length", &len)) !=
	    NULL && len > 0 && len < sizeof(tmp)) {
		memcpy(tmp, v, len);
		tmp[len] = '\0';
		c->mode = B_LENGTH;
		c->left = strtoull(tmp, NULL, 10);
	}
	c->phase = P_BODY;
	/* The bytes after the head, moved out of the head buffer. */
	if (restlen > 0) {
		char	*copy = xrealloc(NULL, restlen);

		memcpy(copy, rest, restlen);
		free(c->head);
		c->head = NULL;
		body_feed(c, copy, restlen);
		free(copy);
	} else {
		free(c->head);
		c->head = NULL;
	}
	if (c->phase == P_BODY && c->mode == B_LENGTH && c->left == 0) {
		c->clean = true;
		conn_finish(c);
	}
}

static void
head_feed(struct conn *c, const char *p, size_t n)
{
	const char	*end;
	size_t		 from;

	if (c->headlen + n > HEAD_MAX) {
		conn_fail(c, E_BAD, "response head over %d bytes", HEAD_MAX);
		conn_finish(c);
		return;
	}
	/* Search from just before the new bytes: the end may straddle. */
	from = c->headlen >= 3 ? c->headlen - 3 : 0;
	memcpy(c->head + c->headlen, p, n);
	c->headlen += n;
	c->head[c->headlen] = '\0';
	if ((end = strstr(c->head + from, "\r\n\r\n")) != NULL)
		head_parse(c, (size_t)(end - c->head) + 4);
}

static void
conn_read(struct conn *c)
{
	static char	 buf[READ_BUF];
	ssize_t		 r;

	r = read(c->fd, buf, sizeof(buf));
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	g.now_us = real_us();
	if (r == -1 || r == 0) {
		if (!c->got_bytes)
			conn_fail(c, E_CONNECT, "%s before any answer",
			    r == 0 ? "closed" : strerror(errno));
		else if (r == 0 && c->phase == P_BODY && c->mode == B_EOF)
			c->clean = true;
		else if (r == -1)
			conn_fail(c, E_TRUNC, "read: %s (%d tokens)",
			    strerror(errno), c->tokens);
		conn_finish(c);
		return;
	}
	c->got_bytes = true;
	if (c->phase == P_HEAD)
		head_feed(c, buf, (size_t)r);
	else if (c->phase == P_BODY)
		body_feed(c, buf, (size_t)r);
	/* A malformed stream is not worth reading further. */
	if (c->phase != P_DONE && c->err == E_BAD)
		conn_finish(c);
}

static void
conn_event(struct conn *c, uint32_t events)
{
	switch (c->phase) {
	case P_CONNECT:
		conn_connected(c);
		break;
	case P_SEND:
		conn_send(c);
		break;
	case P_HEAD:
	case P_BODY:
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
			conn_read(c);
		break;
	case P_DONE:
		break;
	}
}

/* ------------------------------------------------------------ the run */

/* When stream i is due, in monotonic ns: the ramp spreads them evenly. */
static int64_t
launch_at(int i)
{
	return g.start_ns + (int64_t)i * opt.ramp_ms * 1000000 / opt.n;
}

static void
run(void)
{
	struct epoll_event	 evs[EVENTS_MAX];
	int64_t			 now, deadline, wait_ns;
	int			 i, nev, ms;

	g.conns = xrealloc(NULL, (size_t)opt.n * sizeof(*g.conns));
	if ((g.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1: %s", strerror(errno));
	g.start_ns = mono_ns();
	g.start_us = real_us();
	g.last_end_ns = g.start_ns;
	deadline = g.start_ns + (int64_t)opt.timeout_s * 1000000000;
	while (g.finished < opt.n) {
		now = mono_ns();
		while (g.launched < opt.n && launch_at(g.launched) <= now)
			conn_launch(g.launched);
		if (now >= deadline)
			break;
		wait_ns = deadline - now;
		if (g.launched < opt.n && launch_at(g.launched) - now < wait_ns)
			wait_ns = launch_at(g.launched) - now;
		/* Round up: waking early would only spin. */
		ms = (int)((wait_ns + 999999) / 1000000);
		if (ms > 1000)
			ms = 1000;
		if ((nev = epoll_wait(g.ep, evs, EVENTS_MAX, ms)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < nev; i++)
			conn_event(evs[i].data.ptr, evs[i].events);
	}
	for (i = 0; i < g.launched; i++)
		if (g.conns[i].phase != P_DONE) {
			conn_fail(&g.conns[i], E_TIMEOUT, "still open after "
			    "%ld s (%d tokens)", opt.timeout_s,
			    g.conns[i].tokens);
			conn_finish(&g.conns[i]);
		}
	/* Never launched: the deadline came first. */
	g.errors[E_TIMEOUT] += opt.n - g.launched;
}

/* -o: the tokens in their order of arrival, before the sorting. */
static void
tokens_write(void)
{
	FILE	*f;
	size_t	 i;

	if ((f = fopen(opt.out, "w")) == NULL)
		fatal("%s: %s", opt.out, strerror(errno));
	for (i = 0; i < g.ov.n; i++)
		fprintf(f, "%.3f %.3f %" PRId64 "\n", (double)g.at.v[i] / 1000,
		    (double)g.ov.v[i] / 1000, g.who.v[i]);
	if (fclose(f) == EOF)
		fatal("%s: %s", opt.out, strerror(errno));
}

static void
report(void)
{
	int	 e, errors = 0;

	for (e = E_NONE + 1; e < E_COUNT; e++)
		errors += g.errors[e];
	if (g.ov.n > 0)
		qsort(g.ov.v, g.ov.n, sizeof(*g.ov.v), cmp_i64);
	if (g.ft.n > 0)
		qsort(g.ft.v, g.ft.n, sizeof(*g.ft.v), cmp_i64);
	printf("streams=%d ok=%d errors=%d", opt.n, g.errors[E_NONE], errors);
	for (e = E_NONE + 1; e < E_COUNT; e++)
		printf(" %s=%d", err_names[e], g.errors[e]);
	printf(" tokens=%ld open_max=%d elapsed=%.3f ft_p50=%.3f "
	    "ft_p99=%.3f ov_p50=%.3f ov_p99=%.3f ov_p999=%.3f ov_max=%.3f\n",
	    g.tokens, g.open_max, (double)(g.last_end_ns - g.start_ns) / 1e9,
	    percentile(&g.ft, 0.50), percentile(&g.ft, 0.99),
	    percentile(&g.ov, 0.50), percentile(&g.ov, 0.99),
	    percentile(&g.ov, 0.999), percentile(&g.ov, 1.0));
	if (fflush(stdout) == EOF)
		fatal("stdout: %s", strerror(errno));
}

int
main(int argc, char *argv[])
{
	options(argc, argv);
	/* A peer that resets must not kill us on the next write. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal: %s", strerror(errno));
	nofile_raise();
	run();
	if (opt.out != NULL)
		tokens_write();
	report();
	return 0;
}
