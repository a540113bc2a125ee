/*
 * fakellm.c: a fake OpenAI-compatible upstream, for tests and benchmarks.
 *
 * This is a test tool. It is never installed and quipu never links it. It
 * stands in for an LLM provider so that lib/llm.c is tested against the
 * bytes a real server sends: HTTP/1.1 with keep-alive, JSON answers with
 * Content-Length, and Chat Completions streams shaped exactly like OpenAI's
 * (server-sent events in chunked encoding). Words in the last user message
 * make it slow or faulty on demand.
 *
 * Usage: fakellm [-l host:port] [-k key]
 *	Listens on host:port (default 127.0.0.1:0, an ephemeral port) and
 *	prints "listening ADDR:PORT" on stdout. With -k, chat and embeddings
 *	requests need "Authorization: Bearer key", else 401. SIGTERM or SIGINT
 *	end it with status 0.
 *
 * Endpoints (API paths match by suffix, so /v1/chat/completions works):
 *	POST .../chat/completions	the chat answers below
 *	POST .../embeddings		64 floats per input, from its words
 *	POST .../audio/transcriptions	multipart/form-data with a "file"
 *					part (and "model"): {"text":
 *					"transcript of N bytes of TYPE"},
 *					TYPE the part's Content-Type, else
 *					its filename; 400 without the part
 *	GET  .../models			one model, "fake-model"
 *	GET  /_fake/stats		{"requests", "streams", "completed",
 *					 "aborted", "open", "last_abort_ms",
 *					 "extractions"}
 *	GET  /_fake/last		{"authorization": bool, "body": the last
 *					 chat request body, or for a
 *					 transcription {"model","file_bytes",
 *					 "filename","content_type"},
 *					 "extraction": the last extraction
 *					 request body, or null}
 *	POST /_fake/reset		zeroes the counters and the xN state
 *
 * Extraction requests (quipu's lib/memjob.c after a turn) are told apart
 * by their system message, which starts with the first sentence of
 * extract_prompt(). They are counted in "extractions" only, and kept out
 * of "body", "requests", "streams", "completed" and "aborted", so that
 * the tests of turns see their own calls alone. Their directives, in the
 * user message, by precedence:
 *	fake:extract_status=CODE  answer CODE (400-599) with an error object
 *	fake:facts JSON		the answer's text is JSON (an object or an
 *				array, balanced brackets, the rest of the
 *				message ignored); default {"facts":[]}
 *	fake:extract_slow=MS	wait MS before the status line
 * Chat directives (status, slowfirst, ...) do not apply to them, and
 * these do not apply to chat requests.
 *
 * Chat answers, by precedence:
 *	fake:status=CODE[xN]	answer CODE (400-599) with an error object; with
 *				xN only the first N requests with this same user
 *				text; 429 and 503 carry Retry-After (from
 *				fake:retry_after=S, default 1).
 *	a last "tool" message	"Tool results: ID=CONTENT ..." for the trailing
 *				tool messages.
 *	fake:call NAME {JSON}	a tool call; several give parallel calls whose
 *				streamed pieces interleave.
 *	fake:echo_system	the text of the first system message (the
 *				prompt quipu built), cut into tokens at
 *				spaces; not streamed, the same text whole.
 *	otherwise		"Hello from fake. You said: ..." cut into tokens
 *				at spaces ("Echo: ..." when not streamed);
 *				content given as parts is their text joined,
 *				and image_url parts add " [images: N]";
 *				fake:tokens=N gives "tok1 " .. "tokN ", fake:stamp
 *				makes each token the CLOCK_REALTIME microseconds of
 *				its sending, fake:bigtoken=N one token of N 'x'.
 * Timing and faults: fake:slowfirst=MS (before the status line),
 * fake:slow=MS (between chunks), fake:cut=N (close after N token chunks),
 * fake:hang=N (fall silent after N), fake:hangfirst (never answer),
 * fake:malformed (a broken data line after the first token), fake:error_chunk
 * (an error event after the first token, then the end), fake:nousage,
 * fake:nostream.
 *
 * One thread, level-triggered epoll, non-blocking sockets, an output buffer
 * per connection and a binary min-heap of timers. Running out of memory ends
 * the program: it is a test tool.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define HEAD_MAX	(64 * 1024)		/* request line and headers */
#define BODY_MAX	(8 * 1024 * 1024)	/* request bodies */
#define IN_MAX		(HEAD_MAX + BODY_MAX + 64 * 1024)
#define BIGTOKEN_MAX	(16 * 1024 * 1024)
#define HIGH_WATER	(256 * 1024)	/* unsent output that pauses a stream */
#define BUF_KEEP	(64 * 1024)	/* larger empty buffers are released */
#define MAX_CALLS	16
#define MAX_EVENTS	256
#define EMBED_DIM	64
#define NOT_IN_HEAP	SIZE_MAX
#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)
/*
 * The first sentence of quipu's extraction prompt, extract_prompt() in
 * lib/extract.c, copied: the fake links nothing of quipu's.
 */
#define EXTRACT_SENTENCE	"You pick out facts about the user that are " \
	"worth remembering across conversations, from the user's last message."
#define EXTRACT_NONE		"{\"facts\":[]}"
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

struct buf {
	char	*p;
	size_t	 off;		/* bytes before off are consumed or sent */
	size_t	 len;
	size_t	 cap;
};

struct request {
	char	 method[16];
	char	 path[1024];	/* without the query */
	size_t	 head_len;	/* request line, headers and blank line */
	size_t	 body_len;	/* Content-Length */
	int	 error;		/* an HTTP status to answer instead, or 0 */
	bool	 keepalive;
	bool	 expect;	/* Expect: 100-continue */
	bool	 continued;	/* ... and "100 Continue" was sent */
	bool	 bearer;	/* an Authorization: Bearer header came */
	bool	 key_ok;	/* ... and it carried the key of -k */
	char	 boundary[72];	/* of a multipart/form-data body, or "" */
};

/* Where the token chunks of a stream come from. */
enum tok_mode {
	TOK_TEXT,	/* the text, cut at spaces */
	TOK_NUMBERED,	/* "tok1 ", "tok2 ", ... */
	TOK_STAMP,	/* the time of sending */
	TOK_BIG,	/* one token of bigtoken 'x' */
	TOK_CALLS	/* tool-call deltas */
};

enum phase {
	PH_HEAD,	/* waiting for slowfirst; then the status line */
	PH_BODY,	/* the token chunks */
	PH_TAIL,	/* finish, usage, [DONE] */
	PH_HANG,	/* silent until the client leaves */
	PH_DONE
};

struct call {
	char	*name;
	char	*args;
	size_t	 cut[4];	/* piece i of args is [cut[i], cut[i + 1]) */
};

/* A chat answer in progress on one connection. */
struct answer {
	enum phase	 phase;
	bool		 stream;
	bool		 keepalive;
	struct buf	 whole;		/* a non-streamed answer, ready to send */
	int64_t		 next_at;	/* CLOCK_MONOTONIC us of the next step */
	int64_t		 slow;		/* us between chunks */
	char		 id[32];
	char		*model;
	int64_t		 created;
	enum tok_mode	 mode;
	char		*text;		/* TOK_TEXT */
	size_t		 textoff;
	size_t		 bigtoken;
	struct call	 calls[MAX_CALLS];
	size_t		 ncalls;
	size_t		 ntok;		/* token chunks to send */
	size_t		 sent;		/* token chunks sent */
	long		 cut;		/* -1: no fake:cut */
	long		 hang;		/* -1: no fake:hang */
	bool		 malformed;
	bool		 error_chunk;
	bool		 usage;
	bool		 extraction;	/* kept out of the chat counters */
	size_t		 prompt_tokens;
};

struct conn {
	int		 fd;
	uint32_t	 events;	/* what epoll watches */
	struct buf	 in;
	struct buf	 out;
	struct request	 req;
	bool		 have_head;	/* req describes the head in front of in */
	bool		 closing;	/* close once out is sent */
	struct answer	*ans;
	size_t		 heap_idx;	/* in the timer heap, or NOT_IN_HEAP */
	int64_t		 due;		/* CLOCK_MONOTONIC us */
	struct conn	*prev;
	struct conn	*next;
};

struct span {
	const char	*p;
	size_t		 len;
};

/* The directives found in the last user message. */
struct directives {
	int		 status;	/* 0: none */
	long		 status_times;	/* the N of CODExN, -1: every time */
	long		 retry_after;
	long		 tokens;	/* -1 for these four: not given */
	long		 bigtoken;
	long		 cut;
	long		 hang;
	long		 slowfirst;
	long		 slow;
	bool		 stamp;
	bool		 hangfirst;
	bool		 malformed;
	bool		 error_chunk;
	bool		 nousage;
	bool		 nostream;
	bool		 echo_system;
	long		 extract_slow;	/* -1 for these two: not given */
	long		 extract_status;
	struct span	 facts;		/* the JSON of fake:facts, or empty */
	struct span	 call_name[MAX_CALLS];
	struct span	 call_args[MAX_CALLS];
	size_t		 ncalls;
};

/* What a chat request asks. Strings are owned unless said otherwise. */
struct chat {
	const char	*model;		/* borrowed from the parsed body */
	bool		 stream;
	bool		 include_usage;
	char		*user;		/* the last user message's text */
	char		*system;	/* the first system message's, or "" */
	bool		 extraction;	/* quipu extracting facts */
	size_t		 images;	/* its image_url parts */
	char		*tools;		/* "Tool results: ..." or NULL */
	size_t		 body_len;
};

/* How many times a fake:status=CODExN content has failed. */
struct seen {
	uint64_t	 hash;
	long		 count;
};

/* epoll data of the descriptors that are not connections */
static char	 listen_tag, signal_tag;

static struct {
	int		 ep;
	int		 lfd;
	int		 sfd;
	const char	*key;		/* -k: never printed */
	bool		 quit;
	struct conn	*conns;
	size_t		 nconns;
	struct conn	**heap;
	size_t		 nheap;
	size_t		 heapcap;
	int64_t		 accept_at;	/* accept again after EMFILE, 0: now */
	unsigned long	 seq;		/* chatcmpl-fake<seq> */
	struct {
		int64_t	 requests;
		int64_t	 streams;
		int64_t	 completed;
		int64_t	 aborted;
		int64_t	 last_abort_ms;
		int64_t	 extractions;
	} st;
	struct seen	*seen;
	size_t		 nseen;
	json_object	*last_body;
	json_object	*last_extraction;
	bool		 last_auth;
} g = { .ep = -1, .lfd = -1, .sfd = -1 };

static void	 buf_printf(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 conn_run(struct conn *);
static void	 conn_close(struct conn *);
static int	 answer_pump(struct conn *);
static void	 answer_free(struct answer *);
static int	 request_next(struct conn *);
static void	 request_dispatch(struct conn *, const char *, size_t);

/* ------------------------------------------------------------ utilities */

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		err(1, "realloc");
	return p;
}

static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		err(1, "calloc");
	return p;
}

static char *
xstrndup(const char *s, size_t n)
{
	char	*p = xrealloc(NULL, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

static int64_t
clock_us(clockid_t clock)
{
	struct timespec	 ts;

	if (clock_gettime(clock, &ts) == -1)
		err(1, "clock_gettime");
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

static bool
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

/* len cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* The first offset at or after i that starts a UTF-8 sequence. */
static size_t
utf8_start(const char *s, size_t i)
{
	while (s[i] != '\0' && ((unsigned char)s[i] & 0xc0) == 0x80)
		i++;
	return i;
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t	 h = FNV_OFFSET;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * FNV_PRIME;
	return h;
}

/* Digits only, at most max. Eighteen digits cannot overflow a long. */
static bool
number(const char *s, size_t len, long max, long *out)
{
	long	 v = 0;
	size_t	 i;

	if (len == 0 || len > 18)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Newton's method from above: the program links json-c only, not libm. */
static double
square_root(double x)
{
	double	 r = x > 1 ? x : 1, next;
	int	 i;

	if (x <= 0)
		return 0;
	for (i = 0; i < 200; i++) {
		next = 0.5 * (r + x / r);
		if (next >= r)
			break;
		r = next;
	}
	return r;
}

/* ------------------------------------------------------------ buffers */

static size_t
buf_pending(const struct buf *b)
{
	return b->len - b->off;
}

static void
buf_reserve(struct buf *b, size_t more)
{
	size_t	 cap;

	if (b->cap - b->len >= more)
		return;
	if (b->off > 0) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= more)
			return;
	}
	cap = b->cap > 0 ? b->cap : 4096;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2)
			errx(1, "buffer too large");
		cap *= 2;
	}
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void
buf_add(struct buf *b, const void *p, size_t len)
{
	buf_reserve(b, len);
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		errx(1, "vsnprintf");
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	if (vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap) != n)
		errx(1, "vsnprintf");
	va_end(ap);
	b->len += (size_t)n;
}

static void
buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* A big buffer that is empty again goes back (after a bigtoken, say). */
static void
buf_shrink(struct buf *b)
{
	if (buf_pending(b) == 0 && b->cap > BUF_KEEP)
		buf_free(b);
}

/* NUL-terminates the contents and hands them to the caller. */
static char *
buf_cstr(struct buf *b)
{
	char	*s;

	buf_reserve(b, 1);
	b->p[b->len] = '\0';
	s = b->p + b->off;
	if (b->off > 0) {
		s = xstrdup(s);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
	return s;
}

/* ------------------------------------------------------------ JSON */

static json_object *
jcheck(json_object *o)
{
	if (o == NULL)
		errx(1, "out of memory");
	return o;
}

static json_object *
jobj(void)
{
	return jcheck(json_object_new_object());
}

static json_object *
jarr(void)
{
	return jcheck(json_object_new_array());
}

static json_object *
jstrn(const char *s, size_t len)
{
	if (len > INT_MAX)
		errx(1, "string too long");
	return jcheck(json_object_new_string_len(s, (int)len));
}

static json_object *
jstring(const char *s)
{
	return jstrn(s, strlen(s));
}

static json_object *
jint(int64_t v)
{
	return jcheck(json_object_new_int64(v));
}

static json_object *
jbool(bool v)
{
	return jcheck(json_object_new_boolean(v));
}

/* Adds val to obj under key; val NULL is JSON null. */
static void
jset(json_object *obj, const char *key, json_object *val)
{
	if (json_object_object_add(obj, key, val) != 0)
		errx(1, "out of memory");
}

static void
jpush(json_object *arr, json_object *val)
{
	if (json_object_array_add(arr, val) != 0)
		errx(1, "out of memory");
}

/* The compact text of o, owned by o. */
static const char *
jtext(json_object *o, size_t *len)
{
	const char	*s;

	s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
	if (s == NULL)
		errx(1, "out of memory");
	return s;
}

/* o[key] if o is an object and the member has this type, else NULL. */
static json_object *
jget(json_object *o, const char *key, json_type type)
{
	json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* One JSON value, maybe followed by white space; NULL if it is not. */
static json_object *
json_parse(const char *s, size_t len)
{
	json_tokener	*tok;
	json_object	*o;
	size_t		 end;

	if (len > INT_MAX)
		return NULL;
	if ((tok = json_tokener_new_ex(64)) == NULL)
		errx(1, "out of memory");
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o != NULL) {
		for (end = json_tokener_get_parse_end(tok); end < len; end++)
			if (!is_ws(s[end]))
				break;
		if (end < len) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	return o;
}

static json_object *
error_body(const char *message, const char *type, json_object *code)
{
	json_object	*o = jobj(), *e = jobj();

	jset(e, "message", jstring(message));
	jset(e, "type", jstring(type));
	jset(e, "code", code);
	jset(o, "error", e);
	return o;
}

static json_object *
key_error(void)
{
	return error_body("Incorrect API key provided",
	    "invalid_request_error", jstring("invalid_api_key"));
}

/* ------------------------------------------------------------ timers */

static void
heap_swap(size_t i, size_t j)
{
	struct conn	*t = g.heap[i];

	g.heap[i] = g.heap[j];
	g.heap[j] = t;
	g.heap[i]->heap_idx = i;
	g.heap[j]->heap_idx = j;
}

static void
heap_up(size_t i)
{
	size_t	 parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (g.heap[parent]->due <= g.heap[i]->due)
			break;
		heap_swap(i, parent);
		i = parent;
	}
}

static void
heap_down(size_t i)
{
	size_t	 l, m;

	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < g.nheap && g.heap[l]->due < g.heap[m]->due)
			m = l;
		if (l + 1 < g.nheap && g.heap[l + 1]->due < g.heap[m]->due)
			m = l + 1;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

/* Puts the element at i where it belongs, whichever way it moved. */
static void
heap_fix(size_t i)
{
	struct conn	*c = g.heap[i];

	heap_up(i);
	heap_down(c->heap_idx);
}

static void
timer_set(struct conn *c, int64_t due)
{
	if (c->heap_idx == NOT_IN_HEAP) {
		if (g.nheap == g.heapcap) {
			g.heapcap = g.heapcap > 0 ? 2 * g.heapcap : 1024;
			g.heap = xrealloc(g.heap,
			    g.heapcap * sizeof(g.heap[0]));
		}
		c->heap_idx = g.nheap;
		g.heap[g.nheap++] = c;
	}
	c->due = due;
	heap_fix(c->heap_idx);
}

static void
timer_clear(struct conn *c)
{
	size_t	 i = c->heap_idx;

	if (i == NOT_IN_HEAP)
		return;
	c->heap_idx = NOT_IN_HEAP;
	if (i != --g.nheap) {
		g.heap[i] = g.heap[g.nheap];
		g.heap[i]->heap_idx = i;
		heap_fix(i);
	}
}

/*
 * The epoll_wait timeout until the first timer, rounded up to the
 * millisecond: tokens are at most about 1 ms late, and timers due together
 * share one wakeup. Stamped tokens carry their real sending time anyway.
 */
static int
timers_timeout(void)
{
	int64_t	 due = 0, wait;

	if (g.nheap > 0)
		due = g.heap[0]->due;
	if (g.accept_at != 0 && (due == 0 || g.accept_at < due))
		due = g.accept_at;
	if (due == 0)
		return -1;
	if ((wait = due - mono_us()) <= 0)
		return 0;
	wait = (wait + 999) / 1000;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

static void
ep_ctl(int op, int fd, uint32_t events, void *tag)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = tag;
	if (epoll_ctl(g.ep, op, fd, &ev) == -1)
		err(1, "epoll_ctl");
}

static void
timers_run(void)
{
	int64_t		 now = mono_us();
	struct conn	*c;

	if (g.accept_at != 0 && g.accept_at <= now) {
		ep_ctl(EPOLL_CTL_MOD, g.lfd, EPOLLIN, &listen_tag);
		g.accept_at = 0;
	}
	while (g.nheap > 0 && g.heap[0]->due <= now) {
		c = g.heap[0];
		timer_clear(c);
		if (conn_run(c) == -1)
			conn_close(c);
	}
}

/* --------------------------------------------------------- connections */

static void
conn_accept(void)
{
	struct conn	*c;
	int		 fd, on = 1;

	for (;;) {
		fd = accept4(g.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EMFILE && errno != ENFILE &&
			    errno != ENOBUFS && errno != ENOMEM)
				err(1, "accept");
			/* Out of descriptors: pause rather than spin. */
			warn("accept");
			ep_ctl(EPOLL_CTL_MOD, g.lfd, 0, &listen_tag);
			g.accept_at = mono_us() + 100000;
			return;
		}
		/* Streams are many small writes that must not wait. */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on)) == -1) {
			warn("TCP_NODELAY");
			close(fd);
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->heap_idx = NOT_IN_HEAP;
		c->events = EPOLLIN | EPOLLRDHUP;
		ep_ctl(EPOLL_CTL_ADD, fd, c->events, c);
		if ((c->next = g.conns) != NULL)
			c->next->prev = c;
		g.conns = c;
		g.nconns++;
	}
}

static void
conn_free(struct conn *c)
{
	timer_clear(c);
	answer_free(c->ans);
	if (close(c->fd) == -1)
		warn("close");
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	g.nconns--;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

/*
 * We only close with an answer under way when the client has left (or sent
 * far too much): that is the abort the tests look for in /_fake/stats.
 */
static void
conn_close(struct conn *c)
{
	if (c->ans != NULL && c->ans->phase != PH_DONE &&
	    !c->ans->extraction) {
		g.st.aborted++;
		g.st.last_abort_ms = mono_us() / 1000;
	}
	conn_free(c);
}

static void
conn_want_out(struct conn *c, bool out)
{
	uint32_t	 ev = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0);

	if (ev == c->events)
		return;
	ep_ctl(EPOLL_CTL_MOD, c->fd, ev, c);
	c->events = ev;
}

/* Reads what there is. -1: the client is gone. */
static int
conn_read(struct conn *c)
{
	ssize_t	 n;

	for (;;) {
		if (buf_pending(&c->in) >= IN_MAX)
			return -1;
		buf_reserve(&c->in, 1);		/* grows only when full */
		n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
		if (n > 0) {
			c->in.len += (size_t)n;
			continue;
		}
		if (n == 0)
			return -1;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* Sends what the socket takes. -1: the client is gone. */
static int
conn_flush(struct conn *c)
{
	ssize_t	 n;

	while (buf_pending(&c->out) > 0) {
		n = send(c->fd, c->out.p + c->out.off, buf_pending(&c->out),
		    MSG_NOSIGNAL);
		if (n >= 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno != EINTR)
			return -1;
	}
	buf_shrink(&c->out);
	conn_want_out(c, buf_pending(&c->out) > 0);
	return 0;
}

/*
 * Moves the connection on as far as it can go now: the answer under way,
 * then the next requests that are already read. -1: close it.
 */
static int
conn_run(struct conn *c)
{
	bool	 keepalive;

	for (;;) {
		if (c->ans != NULL) {
			if (answer_pump(c) == -1)
				return -1;
			if (c->ans->phase != PH_DONE)
				break;
			keepalive = c->ans->keepalive;
			answer_free(c->ans);
			c->ans = NULL;
			if (!keepalive)
				c->closing = true;
		}
		if (c->closing || request_next(c) == 0)
			break;
	}
	if (buf_pending(&c->in) == 0)
		buf_free(&c->in);	/* most connections wait with nothing */
	if (conn_flush(c) == -1)
		return -1;
	if (c->closing && buf_pending(&c->out) == 0)
		return -1;
	return 0;
}

static void
conn_event(struct conn *c, uint32_t ev)
{
	if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) &&
	    conn_read(c) == -1) {
		conn_close(c);
		return;
	}
	if (conn_run(c) == -1)
		conn_close(c);
}

/* ------------------------------------------------------------ HTTP */

static const char *
status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return code < 500 ? "Client Error" : "Server Error";
	}
}

/* Appends a whole JSON answer to b and releases body. */
static void
response_json(struct buf *b, int code, const char *extra, bool keepalive,
    json_object *body)
{
	const char	*s;
	size_t		 len;

	s = jtext(body, &len);
	buf_printf(b, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "%s%s\r\n", code, status_text(code), len,
	    extra != NULL ? extra : "",
	    keepalive ? "" : "Connection: close\r\n");
	buf_add(b, s, len);
	json_object_put(body);
}

static void
respond(struct conn *c, int code, const char *extra, json_object *body)
{
	response_json(&c->out, code, extra, c->req.keepalive, body);
}

static bool
hname(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

static void
request_line(struct request *r, const char *s, size_t len)
{
	const char	*sp1, *sp2, *target, *q, *v;
	size_t		 tlen, vlen;

	if ((sp1 = memchr(s, ' ', len)) == NULL || sp1 == s ||
	    (sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - s))) == NULL ||
	    (size_t)(sp1 - s) >= sizeof(r->method)) {
		r->error = 400;
		return;
	}
	memcpy(r->method, s, (size_t)(sp1 - s));
	target = sp1 + 1;
	tlen = (size_t)(sp2 - target);
	if ((q = memchr(target, '?', tlen)) != NULL)
		tlen = (size_t)(q - target);
	if (tlen == 0 || target[0] != '/') {
		r->error = 400;
		return;
	}
	if (tlen >= sizeof(r->path)) {
		r->error = 414;
		return;
	}
	memcpy(r->path, target, tlen);
	v = sp2 + 1;
	vlen = len - (size_t)(v - s);
	if (vlen == 8 && memcmp(v, "HTTP/1.1", 8) == 0)
		r->keepalive = true;
	else if (vlen == 8 && memcmp(v, "HTTP/1.0", 8) == 0)
		r->keepalive = false;
	else
		r->error = 505;
}

static int
content_length(struct request *r, const char *v, size_t len)
{
	size_t	 n = 0, i;

	if (len == 0)
		return 400;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 400;
		n = n * 10 + (size_t)(v[i] - '0');
		if (n > BODY_MAX)
			return 413;
	}
	r->body_len = n;
	return 0;
}

static void
connection_tokens(struct request *r, const char *v, size_t len)
{
	const char	*end = v + len, *comma, *t;
	size_t		 n;

	for (;;) {
		if ((comma = memchr(v, ',', (size_t)(end - v))) == NULL)
			comma = end;
		for (t = v; t < comma && (*t == ' ' || *t == '\t'); t++)
			continue;
		for (n = (size_t)(comma - t);
		    n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'); n--)
			continue;
		if (n == 5 && strncasecmp(t, "close", 5) == 0)
			r->keepalive = false;
		else if (n == 10 && strncasecmp(t, "keep-alive", 10) == 0)
			r->keepalive = true;
		if (comma == end)
			break;
		v = comma + 1;
	}
}

/* The boundary of a multipart/form-data Content-Type, quoted or not. */
static void
content_type(struct request *r, const char *v, size_t len)
{
	const char	*end = v + len, *b;
	size_t		 n = 0;

	r->boundary[0] = '\0';
	if (len < 19 || strncasecmp(v, "multipart/form-data", 19) != 0)
		return;
	for (b = v; b + 9 <= end; b++)
		if (strncasecmp(b, "boundary=", 9) == 0)
			break;
	if (b + 9 > end)
		return;
	b += 9;
	if (b < end && *b == '"') {
		for (b++; b < end && *b != '"' && n + 1 < sizeof(r->boundary);
		    b++)
			r->boundary[n++] = *b;
	} else
		for (; b < end && *b != ';' && *b != ' ' &&
		    n + 1 < sizeof(r->boundary); b++)
			r->boundary[n++] = *b;
	r->boundary[n] = '\0';
}

/* Notes that a Bearer token came and whether it is the key. */
static void
authorization(struct request *r, const char *v, size_t len)
{
	if (len < 7 || strncasecmp(v, "bearer ", 7) != 0)
		return;
	r->bearer = true;
	for (v += 7, len -= 7; len > 0 && *v == ' '; v++, len--)
		continue;
	r->key_ok = g.key != NULL && strlen(g.key) == len &&
	    memcmp(v, g.key, len) == 0;
}

static void
header_line(struct request *r, const char *s, size_t len)
{
	const char	*colon, *v, *end = s + len;
	size_t		 nlen, vlen;

	if ((colon = memchr(s, ':', len)) == NULL || colon == s) {
		r->error = 400;
		return;
	}
	nlen = (size_t)(colon - s);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		continue;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	vlen = (size_t)(end - v);
	if (hname(s, nlen, "content-length"))
		r->error = content_length(r, v, vlen);
	else if (hname(s, nlen, "transfer-encoding"))
		r->error = 501;		/* bodies come with Content-Length */
	else if (hname(s, nlen, "connection"))
		connection_tokens(r, v, vlen);
	else if (hname(s, nlen, "expect"))
		r->expect = vlen == 12 && strncasecmp(v, "100-continue", 12) == 0;
	else if (hname(s, nlen, "authorization"))
		authorization(r, v, vlen);
	else if (hname(s, nlen, "content-type"))
		content_type(r, v, vlen);
}

/*
 * Parses the head in front of the input into c->req. 0: not all there yet;
 * 1: done, and c->req.error says whether it was acceptable. The head is
 * small, so it is simply parsed again from the start after each read.
 */
static int
head_parse(struct conn *c)
{
	struct request	*r = &c->req;
	const char	*p, *end, *line, *nl;
	size_t		 len, lines = 0;

	memset(r, 0, sizeof(*r));
	if (buf_pending(&c->in) == 0)
		return 0;
	p = c->in.p + c->in.off;
	end = c->in.p + c->in.len;
	for (line = p; (nl = memchr(line, '\n', (size_t)(end - line))) != NULL;
	    line = nl + 1) {
		len = (size_t)(nl - line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (lines == 0 && len == 0)
			continue;	/* RFC 9112 2.2: skip empty lines */
		if (lines++ > 0 && len == 0) {
			r->head_len = (size_t)(nl + 1 - p);
			return 1;
		}
		if (r->error != 0)
			continue;
		if (lines == 1)
			request_line(r, line, len);
		else
			header_line(r, line, len);
	}
	if ((size_t)(end - p) > HEAD_MAX) {
		r->error = 431;
		return 1;
	}
	return 0;
}

/* Handles the next request if it has all come. 0: it has not. */
static int
request_next(struct conn *c)
{
	struct request	*r = &c->req;

	if (!c->have_head) {
		if (head_parse(c) == 0)
			return 0;
		c->have_head = true;
	}
	if (r->error != 0) {
		r->keepalive = false;
		respond(c, r->error, NULL, error_body(status_text(r->error),
		    "invalid_request_error", NULL));
		c->closing = true;
		return 1;
	}
	if (buf_pending(&c->in) - r->head_len < r->body_len) {
		if (r->expect && !r->continued) {
			buf_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
			r->continued = true;
		}
		return 0;
	}
	request_dispatch(c, c->in.p + c->in.off + r->head_len, r->body_len);
	buf_consume(&c->in, r->head_len + r->body_len);
	c->have_head = false;
	if (c->ans == NULL && !r->keepalive)
		c->closing = true;
	return 1;
}

/* ------------------------------------------------------- chat: request */

static const char *
msg_role(json_object *msg)
{
	json_object	*v;

	if ((v = jget(msg, "role", json_type_string)) == NULL)
		return "";
	return json_object_get_string(v);
}

/* A string content, or the "text" members of its parts joined by spaces. */
static char *
content_text(json_object *msg)
{
	json_object	*content, *part, *t;
	struct buf	 b;
	size_t		 i, n;

	if ((content = jget(msg, "content", json_type_string)) != NULL)
		return xstrndup(json_object_get_string(content),
		    (size_t)json_object_get_string_len(content));
	memset(&b, 0, sizeof(b));
	if ((content = jget(msg, "content", json_type_array)) != NULL) {
		n = json_object_array_length(content);
		for (i = 0; i < n; i++) {
			part = json_object_array_get_idx(content, i);
			if ((t = jget(part, "text", json_type_string)) == NULL)
				continue;
			if (b.len > 0)
				buf_adds(&b, " ");
			buf_add(&b, json_object_get_string(t),
			    (size_t)json_object_get_string_len(t));
		}
	}
	return buf_cstr(&b);
}

/* The image_url parts of a message's content. */
static size_t
content_images(json_object *msg)
{
	json_object	*content, *type;
	size_t		 i, n, k = 0;

	if ((content = jget(msg, "content", json_type_array)) == NULL)
		return 0;
	n = json_object_array_length(content);
	for (i = 0; i < n; i++) {
		type = jget(json_object_array_get_idx(content, i), "type",
		    json_type_string);
		if (type != NULL &&
		    strcmp(json_object_get_string(type), "image_url") == 0)
			k++;
	}
	return k;
}

/* The text that lets a test see what its tools returned. */
static char *
tool_results(json_object *msgs, size_t n)
{
	json_object	*m, *id;
	struct buf	 b;
	char		*text;
	size_t		 i = n;

	while (i > 0 &&
	    strcmp(msg_role(json_object_array_get_idx(msgs, i - 1)), "tool") == 0)
		i--;
	memset(&b, 0, sizeof(b));
	buf_adds(&b, "Tool results: ");
	for (; i < n; i++) {
		m = json_object_array_get_idx(msgs, i);
		id = jget(m, "tool_call_id", json_type_string);
		text = content_text(m);
		buf_printf(&b, "%s=%.*s ",
		    id != NULL ? json_object_get_string(id) : "",
		    (int)utf8_cut(text, strlen(text), 300), text);
		free(text);
	}
	return buf_cstr(&b);
}

/* NULL, or why the request is not a chat request. */
static const char *
chat_parse(json_object *root, size_t len, struct chat *ch)
{
	json_object	*msgs, *v;
	size_t		 i, n;

	if (root == NULL || !json_object_is_type(root, json_type_object))
		return "the body is not a JSON object";
	if ((msgs = jget(root, "messages", json_type_array)) == NULL)
		return "messages must be an array";
	ch->body_len = len;
	v = jget(root, "model", json_type_string);
	ch->model = v != NULL ? json_object_get_string(v) : "fake-model";
	v = jget(root, "stream", json_type_boolean);
	ch->stream = v != NULL && json_object_get_boolean(v);
	v = jget(jget(root, "stream_options", json_type_object),
	    "include_usage", json_type_boolean);
	ch->include_usage = v != NULL && json_object_get_boolean(v);
	n = json_object_array_length(msgs);
	for (i = n; i > 0; i--)
		if (strcmp(msg_role(json_object_array_get_idx(msgs, i - 1)),
		    "user") == 0)
			break;
	ch->user = i > 0 ? content_text(json_object_array_get_idx(msgs, i - 1)) :
	    xstrdup("");
	ch->images = i > 0 ?
	    content_images(json_object_array_get_idx(msgs, i - 1)) : 0;
	for (i = 0; i < n; i++)
		if (strcmp(msg_role(json_object_array_get_idx(msgs, i)),
		    "system") == 0)
			break;
	ch->system = i < n ? content_text(json_object_array_get_idx(msgs, i)) :
	    xstrdup("");
	ch->extraction = strncmp(ch->system, EXTRACT_SENTENCE,
	    strlen(EXTRACT_SENTENCE)) == 0;
	if (n > 0 && strcmp(msg_role(json_object_array_get_idx(msgs, n - 1)),
	    "tool") == 0)
		ch->tools = tool_results(msgs, n);
	return NULL;
}

/* ---------------------------------------------------- chat: directives */

enum dtype { D_FLAG, D_NUM };

static const struct directive_def {
	const char	*name;
	enum dtype	 type;
	size_t		 off;
	long		 max;
} directive_defs[] = {
	{ "bigtoken", D_NUM, offsetof(struct directives, bigtoken), BIGTOKEN_MAX },
	{ "cut", D_NUM, offsetof(struct directives, cut), LONG_MAX },
	{ "echo_system", D_FLAG, offsetof(struct directives, echo_system), 0 },
	{ "error_chunk", D_FLAG, offsetof(struct directives, error_chunk), 0 },
	{ "extract_slow", D_NUM, offsetof(struct directives, extract_slow),
	    3600000 },
	{ "extract_status", D_NUM, offsetof(struct directives, extract_status),
	    599 },
	{ "hang", D_NUM, offsetof(struct directives, hang), LONG_MAX },
	{ "hangfirst", D_FLAG, offsetof(struct directives, hangfirst), 0 },
	{ "malformed", D_FLAG, offsetof(struct directives, malformed), 0 },
	{ "nostream", D_FLAG, offsetof(struct directives, nostream), 0 },
	{ "nousage", D_FLAG, offsetof(struct directives, nousage), 0 },
	{ "retry_after", D_NUM, offsetof(struct directives, retry_after), 86400 },
	{ "slow", D_NUM, offsetof(struct directives, slow), 3600000 },
	{ "slowfirst", D_NUM, offsetof(struct directives, slowfirst), 3600000 },
	{ "stamp", D_FLAG, offsetof(struct directives, stamp), 0 },
	{ "tokens", D_NUM, offsetof(struct directives, tokens), 10000000 },
};

/* "CODE" or "CODExN" after fake:status= */
static void
status_word(struct directives *d, const char *s, size_t len)
{
	const char	*x = memchr(s, 'x', len);
	size_t		 clen = x != NULL ? (size_t)(x - s) : len;
	long		 code, times = -1;

	if (!number(s, clen, 599, &code) || code < 400)
		return;
	if (x != NULL && !number(x + 1, len - clen - 1, LONG_MAX, &times))
		return;
	d->status = (int)code;
	d->status_times = times;
}

static void
directive_word(struct directives *d, const char *w, size_t len)
{
	const struct directive_def	*def;
	size_t				 n;
	long				 v;

	if (len < 5 || memcmp(w, "fake:", 5) != 0)
		return;
	w += 5;
	len -= 5;
	if (len > 7 && memcmp(w, "status=", 7) == 0) {
		status_word(d, w + 7, len - 7);
		return;
	}
	for (def = directive_defs; def < directive_defs + nitems(directive_defs);
	    def++) {
		n = strlen(def->name);
		if (len < n || memcmp(w, def->name, n) != 0)
			continue;
		if (def->type == D_FLAG && len == n) {
			*(bool *)(void *)((char *)d + def->off) = true;
			return;
		}
		if (def->type == D_NUM && len > n + 1 && w[n] == '=' &&
		    number(w + n + 1, len - n - 1, def->max, &v)) {
			*(long *)(void *)((char *)d + def->off) = v;
			return;
		}
	}
}

/*
 * The length of the balanced JSON object or array at s (strings
 * respected), or 0.
 */
static size_t
json_value_len(const char *s)
{
	size_t	 i, depth = 0;
	bool	 str = false;

	if (*s != '{' && *s != '[')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (str) {
			if (s[i] == '\\' && s[i + 1] != '\0')
				i++;
			else if (s[i] == '"')
				str = false;
		} else if (s[i] == '"')
			str = true;
		else if (s[i] == '{' || s[i] == '[')
			depth++;
		else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
			return i + 1;
	}
	return 0;
}

/* The first "fake:facts JSON" in s. */
static void
facts_parse(struct directives *d, const char *s)
{
	const char	*p = s, *q;
	size_t		 len;

	while ((p = strstr(p, "fake:facts")) != NULL) {
		q = p + 10;
		if ((p != s && !is_ws(p[-1])) || !is_ws(*q)) {
			p = q;
			continue;
		}
		while (is_ws(*q))
			q++;
		if ((len = json_value_len(q)) > 0) {
			d->facts.p = q;
			d->facts.len = len;
			return;
		}
		p = q;
	}
}

/* Each "fake:call NAME {...}" in s. */
static void
calls_parse(struct directives *d, const char *s)
{
	const char	*p = s, *q, *name;
	size_t		 olen;

	while (d->ncalls < MAX_CALLS && (p = strstr(p, "fake:call")) != NULL) {
		q = p + 9;
		if ((p != s && !is_ws(p[-1])) || !is_ws(*q)) {
			p = q;
			continue;
		}
		while (is_ws(*q))
			q++;
		for (name = q; *q != '\0' && !is_ws(*q); q++)
			continue;
		d->call_name[d->ncalls].p = name;
		d->call_name[d->ncalls].len = (size_t)(q - name);
		while (is_ws(*q))
			q++;
		/* The arguments of a call are an object, never an array. */
		if (*q != '{' || (olen = json_value_len(q)) == 0) {
			p = q;
			continue;
		}
		d->call_args[d->ncalls].p = q;
		d->call_args[d->ncalls].len = olen;
		d->ncalls++;
		p = q + olen;
	}
}

static void
directives_parse(struct directives *d, const char *s)
{
	const char	*p = s, *w;

	memset(d, 0, sizeof(*d));
	d->status_times = -1;
	d->retry_after = 1;
	d->tokens = d->bigtoken = d->cut = d->hang = -1;
	d->extract_slow = d->extract_status = -1;
	while (*p != '\0') {
		while (is_ws(*p))
			p++;
		for (w = p; *p != '\0' && !is_ws(*p); p++)
			continue;
		if (p > w)
			directive_word(d, w, (size_t)(p - w));
	}
	calls_parse(d, s);
	facts_parse(d, s);
}

/* Whether fake:status=CODExN fails this time for this user text. */
static bool
status_fails(const char *user, long times)
{
	uint64_t	 h;
	size_t		 i;

	if (times < 0)
		return true;
	h = fnv1a(user);
	for (i = 0; i < g.nseen; i++)
		if (g.seen[i].hash == h)
			break;
	if (i == g.nseen) {
		g.seen = xrealloc(g.seen, (g.nseen + 1) * sizeof(g.seen[0]));
		g.seen[g.nseen].hash = h;
		g.seen[g.nseen++].count = 0;
	}
	if (g.seen[i].count >= times)
		return false;
	g.seen[i].count++;
	return true;
}

/* ------------------------------------------------------- chat: answers */

/* The length of the token at s: non-spaces, then the spaces after them. */
static size_t
token_len(const char *s)
{
	size_t	 n = 0;

	while (s[n] != '\0' && s[n] != ' ')
		n++;
	while (s[n] == ' ')
		n++;
	return n;
}

static size_t
token_count(const char *s)
{
	size_t	 n = 0, k;

	while ((k = token_len(s)) > 0) {
		s += k;
		n++;
	}
	return n;
}

/* The members that every chunk and completion start with. */
static json_object *
answer_head_new(const struct answer *a, const char *object)
{
	json_object	*o = jobj();

	jset(o, "id", jstring(a->id));
	jset(o, "object", jstring(object));
	jset(o, "created", jint(a->created));
	jset(o, "model", jstring(a->model));
	return o;
}

static json_object *
usage_new(size_t prompt, size_t completion)
{
	json_object	*u = jobj();

	jset(u, "prompt_tokens", jint((int64_t)prompt));
	jset(u, "completion_tokens", jint((int64_t)completion));
	jset(u, "total_tokens", jint((int64_t)(prompt + completion)));
	return u;
}

/* The three pieces keep UTF-8 sequences whole: each is a JSON string. */
static void
call_init(struct call *cl, const struct span *name, const struct span *args)
{
	size_t	 len = args->len;

	cl->name = xstrndup(name->p, name->len);
	cl->args = xstrndup(args->p, len);
	cl->cut[0] = 0;
	cl->cut[1] = utf8_start(cl->args, len / 3);
	cl->cut[2] = utf8_start(cl->args, 2 * len / 3);
	cl->cut[3] = len;
}

static json_object *
tool_calls_new(const struct answer *a)
{
	json_object	*arr = jarr(), *tc, *fn;
	char		 id[32];
	size_t		 i;

	for (i = 0; i < a->ncalls; i++) {
		(void)snprintf(id, sizeof(id), "call_fake_%zu", i);
		tc = jobj();
		fn = jobj();
		jset(tc, "id", jstring(id));
		jset(tc, "type", jstring("function"));
		jset(fn, "name", jstring(a->calls[i].name));
		jset(fn, "arguments", jstring(a->calls[i].args));
		jset(tc, "function", fn);
		jpush(arr, tc);
	}
	return arr;
}

/* What the answer says: rules 2 to 4 of the precedence above. */
static void
answer_content(struct answer *a, const struct chat *ch,
    const struct directives *d)
{
	struct buf	 b;
	size_t		 i;

	if (ch->tools != NULL) {
		a->mode = TOK_TEXT;
		a->text = xstrdup(ch->tools);
		a->ntok = token_count(a->text);
		return;
	}
	if (d->ncalls > 0) {
		for (i = 0; i < d->ncalls; i++)
			call_init(&a->calls[i], &d->call_name[i],
			    &d->call_args[i]);
		a->ncalls = d->ncalls;
		a->mode = TOK_CALLS;
		a->ntok = 4 * a->ncalls;	/* a head and three pieces */
		return;
	}
	if (d->echo_system) {
		a->mode = TOK_TEXT;
		a->text = xstrdup(ch->system);
		a->ntok = token_count(a->text);
		return;
	}
	memset(&b, 0, sizeof(b));
	buf_printf(&b, "Hello from fake. You said: %.*s",
	    (int)utf8_cut(ch->user, strlen(ch->user), 200), ch->user);
	if (ch->images > 0)
		buf_printf(&b, " [images: %zu]", ch->images);
	a->text = buf_cstr(&b);
	a->mode = d->stamp ? TOK_STAMP : TOK_TEXT;
	a->ntok = token_count(a->text);
	if (d->tokens >= 0) {
		a->mode = d->stamp ? TOK_STAMP : TOK_NUMBERED;
		a->ntok = (size_t)d->tokens;
	}
	if (d->bigtoken >= 0) {
		a->mode = TOK_BIG;
		a->bigtoken = (size_t)d->bigtoken;
		a->ntok = 1;
	}
}

/* The non-streamed answer, complete. */
static void
answer_whole(struct answer *a, const struct chat *ch,
    const struct directives *d)
{
	json_object	*o, *choices, *choice, *msg;
	struct buf	 b;
	char		*text = NULL;
	size_t		 completion;

	o = answer_head_new(a, "chat.completion");
	msg = jobj();
	jset(msg, "role", jstring("assistant"));
	if (a->mode == TOK_CALLS) {
		jset(msg, "content", NULL);
		jset(msg, "tool_calls", tool_calls_new(a));
		completion = a->ntok;
	} else {
		memset(&b, 0, sizeof(b));
		if (ch->tools != NULL)
			buf_adds(&b, ch->tools);
		else if (a->extraction || d->echo_system)
			buf_adds(&b, a->text);
		else {
			buf_printf(&b, "Echo: %.*s", (int)utf8_cut(ch->user,
			    strlen(ch->user), 60), ch->user);
			if (ch->images > 0)
				buf_printf(&b, " [images: %zu]", ch->images);
		}
		text = buf_cstr(&b);
		jset(msg, "content", jstring(text));
		completion = token_count(text);
		free(text);
	}
	choice = jobj();
	jset(choice, "index", jint(0));
	jset(choice, "message", msg);
	jset(choice, "finish_reason",
	    jstring(a->mode == TOK_CALLS ? "tool_calls" : "stop"));
	choices = jarr();
	jpush(choices, choice);
	jset(o, "choices", choices);
	jset(o, "usage", usage_new(a->prompt_tokens, completion));
	response_json(&a->whole, 200, NULL, a->keepalive, o);
}

static struct answer *
answer_new(const struct chat *ch, const struct directives *d, bool keepalive)
{
	struct answer	*a = xcalloc(1, sizeof(*a));
	char		 msg[32], extra[64] = "";

	a->keepalive = keepalive;
	a->phase = d->hangfirst ? PH_HANG : PH_HEAD;
	a->next_at = mono_us() + (int64_t)d->slowfirst * 1000;
	a->slow = (int64_t)d->slow * 1000;
	a->cut = d->cut;
	a->hang = d->hang;
	(void)snprintf(a->id, sizeof(a->id), "chatcmpl-fake%lu", ++g.seq);
	a->model = xstrdup(ch->model);
	a->created = clock_us(CLOCK_REALTIME) / 1000000;
	a->prompt_tokens = ch->body_len / 4;
	if (d->status != 0 && status_fails(ch->user, d->status_times)) {
		if (d->status == 429 || d->status == 503)
			(void)snprintf(extra, sizeof(extra),
			    "Retry-After: %ld\r\n", d->retry_after);
		(void)snprintf(msg, sizeof(msg), "fake error %d", d->status);
		response_json(&a->whole, d->status, extra, keepalive,
		    error_body(msg, "fake_error", jint(d->status)));
		return a;
	}
	answer_content(a, ch, d);
	a->stream = ch->stream && !d->nostream;
	if (!a->stream) {
		answer_whole(a, ch, d);
		return a;
	}
	g.st.streams++;
	a->usage = ch->include_usage && !d->nousage;
	a->malformed = d->malformed;
	a->error_chunk = d->error_chunk;
	return a;
}

/*
 * The answer to an extraction request: fake:facts as its text, after
 * fake:extract_slow, or fake:extract_status.
 */
static struct answer *
extraction_new(const struct chat *ch, const struct directives *d,
    bool keepalive)
{
	struct answer	*a = xcalloc(1, sizeof(*a));
	char		 msg[32];

	a->keepalive = keepalive;
	a->extraction = true;
	a->phase = PH_HEAD;
	a->next_at = mono_us() + (d->extract_slow > 0 ?
	    (int64_t)d->extract_slow * 1000 : 0);
	a->cut = a->hang = -1;
	(void)snprintf(a->id, sizeof(a->id), "chatcmpl-fake%lu", ++g.seq);
	a->model = xstrdup(ch->model);
	a->created = clock_us(CLOCK_REALTIME) / 1000000;
	a->prompt_tokens = ch->body_len / 4;
	if (d->extract_status >= 400) {
		(void)snprintf(msg, sizeof(msg), "fake error %ld",
		    d->extract_status);
		response_json(&a->whole, (int)d->extract_status, NULL,
		    keepalive, error_body(msg, "fake_error",
		    jint(d->extract_status)));
		return a;
	}
	a->text = d->facts.len > 0 ? xstrndup(d->facts.p, d->facts.len) :
	    xstrdup(EXTRACT_NONE);
	a->mode = TOK_TEXT;
	a->ntok = token_count(a->text);
	a->stream = ch->stream;
	a->usage = ch->include_usage;
	if (!a->stream)
		answer_whole(a, ch, d);
	return a;
}

static void
answer_free(struct answer *a)
{
	size_t	 i;

	if (a == NULL)
		return;
	for (i = 0; i < a->ncalls; i++) {
		free(a->calls[i].name);
		free(a->calls[i].args);
	}
	free(a->text);
	free(a->model);
	buf_free(&a->whole);
	free(a);
}

/* ------------------------------------------------------- chat: streams */

/* One HTTP chunk. */
static void
chunk_raw(struct conn *c, const char *s)
{
	buf_printf(&c->out, "%zx\r\n%s\r\n", strlen(s), s);
}

/* One server-sent event, "data: s\n\n", in one HTTP chunk. */
static void
event_send(struct conn *c, const char *s, size_t len)
{
	buf_printf(&c->out, "%zx\r\ndata: ", len + 8);
	buf_add(&c->out, s, len);
	buf_adds(&c->out, "\n\n\r\n");
}

static void
object_send(struct conn *c, json_object *o)
{
	const char	*s;
	size_t		 len;

	s = jtext(o, &len);
	event_send(c, s, len);
	json_object_put(o);
}

/* A chat.completion.chunk with one choice; takes delta. */
static void
chunk_send(struct conn *c, const struct answer *a, json_object *delta,
    const char *finish)
{
	json_object	*o, *choices, *choice;

	o = answer_head_new(a, "chat.completion.chunk");
	choice = jobj();
	jset(choice, "index", jint(0));
	jset(choice, "delta", delta);
	jset(choice, "finish_reason", finish != NULL ? jstring(finish) : NULL);
	choices = jarr();
	jpush(choices, choice);
	jset(o, "choices", choices);
	object_send(c, o);
}

/*
 * Token chunk k of a tool-call answer. With several calls the rounds
 * interleave (every head, then every first piece, ...), so that a client
 * must assemble the calls by "index".
 */
static json_object *
call_delta(const struct answer *a, size_t k)
{
	const struct call	*cl = &a->calls[k % a->ncalls];
	json_object		*delta = jobj(), *arr = jarr(), *tc = jobj();
	json_object		*fn = jobj();
	size_t			 rnd = k / a->ncalls, i = k % a->ncalls;
	char			 id[32];

	jset(tc, "index", jint((int64_t)i));
	if (rnd == 0) {
		(void)snprintf(id, sizeof(id), "call_fake_%zu", i);
		jset(tc, "id", jstring(id));
		jset(tc, "type", jstring("function"));
		jset(fn, "name", jstring(cl->name));
		jset(fn, "arguments", jstring(""));
	} else
		jset(fn, "arguments", jstrn(cl->args + cl->cut[rnd - 1],
		    cl->cut[rnd] - cl->cut[rnd - 1]));
	jset(tc, "function", fn);
	jpush(arr, tc);
	jset(delta, "tool_calls", arr);
	return delta;
}

/* The delta of the next token chunk. */
static json_object *
token_delta(struct answer *a)
{
	json_object	*delta;
	char		 tok[32], *big;
	size_t		 n;

	if (a->mode == TOK_CALLS)
		return call_delta(a, a->sent);
	delta = jobj();
	switch (a->mode) {
	case TOK_TEXT:
		n = token_len(a->text + a->textoff);
		jset(delta, "content", jstrn(a->text + a->textoff, n));
		a->textoff += n;
		break;
	case TOK_NUMBERED:
		(void)snprintf(tok, sizeof(tok), "tok%zu ", a->sent + 1);
		jset(delta, "content", jstring(tok));
		break;
	case TOK_STAMP:
		(void)snprintf(tok, sizeof(tok), "%" PRId64 " ",
		    clock_us(CLOCK_REALTIME));
		jset(delta, "content", jstring(tok));
		break;
	case TOK_BIG:
		big = xrealloc(NULL, a->bigtoken);
		memset(big, 'x', a->bigtoken);
		jset(delta, "content", jstrn(big, a->bigtoken));
		free(big);
		break;
	case TOK_CALLS:
		break;
	}
	return delta;
}

static void
stream_head(struct conn *c, struct answer *a)
{
	json_object	*delta = jobj();

	buf_printf(&c->out, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "%s\r\n", a->keepalive ? "" : "Connection: close\r\n");
	jset(delta, "role", jstring("assistant"));
	jset(delta, "content", jstring(""));
	chunk_send(c, a, delta, NULL);
}

static void
stream_tail(struct conn *c, struct answer *a)
{
	json_object	*o;

	chunk_send(c, a, jobj(), a->mode == TOK_CALLS ? "tool_calls" : "stop");
	if (a->usage) {
		o = answer_head_new(a, "chat.completion.chunk");
		jset(o, "choices", jarr());
		jset(o, "usage", usage_new(a->prompt_tokens, a->ntok));
		object_send(c, o);
	}
	event_send(c, "[DONE]", 6);
	buf_adds(&c->out, "0\r\n\r\n");
	if (!a->extraction)
		g.st.completed++;
}

/* One step of the answer: the head, a token chunk or the tail. */
static void
answer_step(struct conn *c, struct answer *a)
{
	switch (a->phase) {
	case PH_HEAD:
		if (!a->stream) {
			buf_add(&c->out, a->whole.p, a->whole.len);
			a->phase = PH_DONE;
			return;
		}
		stream_head(c, a);
		a->phase = a->ntok > 0 ? PH_BODY : PH_TAIL;
		break;
	case PH_BODY:
		chunk_send(c, a, token_delta(a), NULL);
		if (++a->sent == 1 && a->malformed)
			chunk_raw(c, "data: {\"choices\":[{\"delta\":"
			    "{\"content\":\n\n");
		if (a->sent == 1 && a->error_chunk) {
			chunk_raw(c, "data: {\"error\":{\"message\":"
			    "\"fake mid-stream error\"}}\n\n");
			buf_adds(&c->out, "0\r\n\r\n");
			a->phase = PH_DONE;
			return;
		}
		if (a->sent == a->ntok)
			a->phase = PH_TAIL;
		break;
	case PH_TAIL:
		stream_tail(c, a);
		a->phase = PH_DONE;
		return;
	case PH_HANG:
	case PH_DONE:
		return;
	}
	if (a->cut >= 0 && (size_t)a->cut == a->sent) {
		a->phase = PH_DONE;	/* what was made goes out, then EOF */
		c->closing = true;
	} else if (a->hang >= 0 && (size_t)a->hang == a->sent)
		a->phase = PH_HANG;
	a->next_at += a->slow;
}

/*
 * Makes the steps that are due, stopping while much output is unsent so
 * that a fast stream to a slow reader does not grow without bound. -1: the
 * client is gone.
 */
static int
answer_pump(struct conn *c)
{
	struct answer	*a = c->ans;

	while (a->phase == PH_HEAD || a->phase == PH_BODY ||
	    a->phase == PH_TAIL) {
		if (buf_pending(&c->out) > HIGH_WATER) {
			if (conn_flush(c) == -1)
				return -1;
			if (buf_pending(&c->out) > HIGH_WATER)
				return 0;	/* EPOLLOUT brings us back */
		}
		if (a->next_at > mono_us()) {
			timer_set(c, a->next_at);
			return 0;
		}
		answer_step(c, a);
	}
	return 0;
}

/* ------------------------------------------------------------ endpoints */

static void
chat_post(struct conn *c, const char *body, size_t len)
{
	json_object		*root;
	struct chat		 ch;
	struct directives	 d;
	const char		*why;

	root = json_parse(body, len);
	memset(&ch, 0, sizeof(ch));
	why = chat_parse(root, len, &ch);
	if (ch.extraction) {
		g.st.extractions++;
		json_object_put(g.last_extraction);
		g.last_extraction = json_object_get(root);
	} else {
		g.st.requests++;
		json_object_put(g.last_body);
		g.last_body = root != NULL ? json_object_get(root) : NULL;
		g.last_auth = c->req.bearer;
	}
	if (g.key != NULL && !c->req.key_ok)
		respond(c, 401, NULL, key_error());
	else if (why != NULL)
		respond(c, 400, NULL, error_body(why, "invalid_request_error",
		    NULL));
	else {
		directives_parse(&d, ch.user);
		c->ans = ch.extraction ? extraction_new(&ch, &d,
		    c->req.keepalive) : answer_new(&ch, &d, c->req.keepalive);
	}
	free(ch.user);
	free(ch.system);
	free(ch.tools);
	json_object_put(root);
}

/*
 * Each word (letters, digits, UTF-8) adds to two signed dimensions picked by
 * its hash, so texts that share words point the same way.
 */
static json_object *
embedding_new(size_t idx, const char *s, size_t *words)
{
	const unsigned char	*p = (const unsigned char *)s;
	json_object		*o = jobj(), *vec = jarr();
	double			 v[EMBED_DIM], norm = 0;
	uint64_t		 h;
	size_t			 i;
	int			 ch;

	memset(v, 0, sizeof(v));
	while (*p != '\0') {
		if (*p < 0x80 && !((*p >= '0' && *p <= '9') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
			p++;
			continue;
		}
		for (h = FNV_OFFSET; *p >= 0x80 || (*p >= '0' && *p <= '9') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'); p++) {
			ch = *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p;
			h = (h ^ (unsigned)ch) * FNV_PRIME;
		}
		(*words)++;
		v[h % EMBED_DIM] += (h >> 32) & 1 ? 1.0 : -1.0;
		v[(h >> 8) % EMBED_DIM] += (h >> 33) & 1 ? 0.5 : -0.5;
	}
	for (i = 0; i < EMBED_DIM; i++)
		norm += v[i] * v[i];
	if (norm == 0)
		v[0] = norm = 1;
	norm = square_root(norm);
	for (i = 0; i < EMBED_DIM; i++)
		jpush(vec, jcheck(json_object_new_double(v[i] / norm)));
	jset(o, "object", jstring("embedding"));
	jset(o, "index", jint((int64_t)idx));
	jset(o, "embedding", vec);
	return o;
}

static void
embeddings_post(struct conn *c, const char *body, size_t len)
{
	json_object	*root, *input, *v, *data, *o, *u;
	size_t		 i, n = 0, words = 0;
	bool		 single, ok;

	if (g.key != NULL && !c->req.key_ok) {
		respond(c, 401, NULL, key_error());
		return;
	}
	root = json_parse(body, len);
	input = jget(root, "input", json_type_string);
	if ((single = input != NULL))
		n = 1;
	else if ((input = jget(root, "input", json_type_array)) != NULL)
		n = json_object_array_length(input);
	ok = n > 0;
	for (i = 0; ok && !single && i < n; i++)
		ok = json_object_is_type(json_object_array_get_idx(input, i),
		    json_type_string);
	if (!ok) {
		respond(c, 400, NULL, error_body("input must be a string or an "
		    "array of strings", "invalid_request_error", NULL));
		json_object_put(root);
		return;
	}
	data = jarr();
	for (i = 0; i < n; i++) {
		v = single ? input : json_object_array_get_idx(input, i);
		jpush(data, embedding_new(i, json_object_get_string(v), &words));
	}
	o = jobj();
	jset(o, "object", jstring("list"));
	jset(o, "data", data);
	v = jget(root, "model", json_type_string);
	jset(o, "model", jstring(v != NULL ? json_object_get_string(v) :
	    "fake-embedding"));
	u = jobj();
	jset(u, "prompt_tokens", jint((int64_t)words));
	jset(u, "total_tokens", jint((int64_t)words));
	jset(o, "usage", u);
	respond(c, 200, NULL, o);
	json_object_put(root);
}

/* One part of a multipart body: its header block and its content. */
struct part {
	struct span	 head;
	struct span	 body;
};

/* Parameter `key' ("name", "filename") of a part's Content-Disposition. */
static struct span
part_param(const struct span *head, const char *key)
{
	struct span	 v = { NULL, 0 };
	const char	*p = head->p, *end = head->p + head->len, *q;
	size_t		 klen = strlen(key);

	for (; p + klen + 2 <= end; p++) {
		/* Whole parameter names only: "name" is inside "filename". */
		if ((p == head->p || (p[-1] != ' ' && p[-1] != ';')) ||
		    strncasecmp(p, key, klen) != 0 || p[klen] != '=')
			continue;
		p += klen + 1;
		if (*p == '"') {
			q = memchr(p + 1, '"', (size_t)(end - p - 1));
			if (q == NULL)
				return v;
			v.p = p + 1;
			v.len = (size_t)(q - p - 1);
		} else {
			for (q = p; q < end && *q != ';' && *q != '\r'; q++)
				continue;
			v.p = p;
			v.len = (size_t)(q - p);
		}
		return v;
	}
	return v;
}

/* The Content-Type of a part, or an empty span. */
static struct span
part_type(const struct span *head)
{
	struct span	 v = { NULL, 0 };
	const char	*p = head->p, *end = head->p + head->len, *nl;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((size_t)(nl - p) > 13 && strncasecmp(p, "content-type:",
		    13) == 0) {
			for (v.p = p + 13; v.p < nl && *v.p == ' '; v.p++)
				continue;
			v.len = (size_t)(nl - v.p);
			while (v.len > 0 && (v.p[v.len - 1] == '\r' ||
			    v.p[v.len - 1] == ' '))
				v.len--;
			return v;
		}
	}
	return v;
}

/* The part of form field `name'; false when there is none. */
static bool
multipart_field(const char *body, size_t len, const char *boundary,
    const char *name, struct part *out)
{
	char		 delim[80];
	const char	*p, *end = body + len, *h, *next;
	size_t		 dlen;
	struct span	 n;

	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	if (boundary[0] == '\0' ||
	    (p = memmem(body, len, delim, dlen)) == NULL)
		return false;
	for (;;) {
		p += dlen;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return false;	/* "--": the end */
		p += 2;
		if ((h = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)) == NULL)
			return false;
		out->head.p = p;
		out->head.len = (size_t)(h - p);
		out->body.p = h + 4;
		next = memmem(out->body.p, (size_t)(end - out->body.p), delim,
		    dlen);
		if (next == NULL || next - out->body.p < 2)
			return false;
		out->body.len = (size_t)(next - out->body.p) - 2;  /* CRLF */
		n = part_param(&out->head, "name");
		if (n.len == strlen(name) && memcmp(n.p, name, n.len) == 0)
			return true;
		p = next;
	}
}

static void
transcriptions_post(struct conn *c, const char *body, size_t len)
{
	json_object	*o, *last;
	struct part	 file, model;
	struct span	 type, fname;
	struct buf	 b;
	char		*text;

	g.st.requests++;
	g.last_auth = c->req.bearer;
	if (g.key != NULL && !c->req.key_ok) {
		respond(c, 401, NULL, key_error());
		return;
	}
	if (!multipart_field(body, len, c->req.boundary, "file", &file)) {
		respond(c, 400, NULL, error_body("no file part in the "
		    "multipart/form-data body", "invalid_request_error",
		    jstring("missing_file")));
		return;
	}
	type = part_type(&file.head);
	fname = part_param(&file.head, "filename");
	last = jobj();
	jset(last, "model", multipart_field(body, len, c->req.boundary,
	    "model", &model) ? jstrn(model.body.p, model.body.len) : NULL);
	jset(last, "file_bytes", jint((int64_t)file.body.len));
	jset(last, "filename", fname.p != NULL ? jstrn(fname.p, fname.len) :
	    NULL);
	jset(last, "content_type", type.p != NULL ? jstrn(type.p, type.len) :
	    NULL);
	json_object_put(g.last_body);
	g.last_body = last;
	memset(&b, 0, sizeof(b));
	if (type.len > 0)
		buf_printf(&b, "transcript of %zu bytes of %.*s", file.body.len,
		    (int)type.len, type.p);
	else
		buf_printf(&b, "transcript of %zu bytes of %.*s", file.body.len,
		    (int)fname.len, fname.p != NULL ? fname.p : "");
	text = buf_cstr(&b);
	o = jobj();
	jset(o, "text", jstring(text));
	free(text);
	respond(c, 200, NULL, o);
}

static void
models_get(struct conn *c, const char *body, size_t len)
{
	json_object	*o = jobj(), *data = jarr(), *m = jobj();

	jset(m, "id", jstring("fake-model"));
	jset(m, "object", jstring("model"));
	jpush(data, m);
	jset(o, "object", jstring("list"));
	jset(o, "data", data);
	respond(c, 200, NULL, o);
}

static void
stats_get(struct conn *c, const char *body, size_t len)
{
	json_object	*o = jobj();

	jset(o, "requests", jint(g.st.requests));
	jset(o, "streams", jint(g.st.streams));
	jset(o, "completed", jint(g.st.completed));
	jset(o, "aborted", jint(g.st.aborted));
	jset(o, "open", jint((int64_t)g.nconns));
	jset(o, "last_abort_ms", jint(g.st.last_abort_ms));
	jset(o, "extractions", jint(g.st.extractions));
	respond(c, 200, NULL, o);
}

/* Whether a key came, never what it was. */
static void
last_get(struct conn *c, const char *body, size_t len)
{
	json_object	*o = jobj();

	jset(o, "authorization", jbool(g.last_auth));
	jset(o, "body", json_object_get(g.last_body));
	jset(o, "extraction", json_object_get(g.last_extraction));
	respond(c, 200, NULL, o);
}

static void
reset_post(struct conn *c, const char *body, size_t len)
{
	memset(&g.st, 0, sizeof(g.st));
	free(g.seen);
	g.seen = NULL;
	g.nseen = 0;
	respond(c, 200, NULL, jobj());
}

static const struct route {
	const char	*method;
	const char	*path;
	bool		 suffix;	/* any prefix, such as /v1 */
	void		(*fn)(struct conn *, const char *, size_t);
} routes[] = {
	{ "GET", "/_fake/stats", false, stats_get },
	{ "GET", "/_fake/last", false, last_get },
	{ "POST", "/_fake/reset", false, reset_post },
	{ "POST", "/chat/completions", true, chat_post },
	{ "POST", "/embeddings", true, embeddings_post },
	{ "POST", "/audio/transcriptions", true, transcriptions_post },
	{ "GET", "/models", true, models_get },
};

static void
request_dispatch(struct conn *c, const char *body, size_t len)
{
	const struct route	*r;
	const char		*path = c->req.path;
	size_t			 plen = strlen(path), n;

	for (r = routes; r < routes + nitems(routes); r++) {
		n = strlen(r->path);
		if (r->suffix ? plen < n || strcmp(path + plen - n, r->path) != 0 :
		    strcmp(path, r->path) != 0)
			continue;
		if (strcmp(c->req.method, r->method) == 0)
			r->fn(c, body, len);
		else
			respond(c, 405, NULL, error_body("method not allowed",
			    "invalid_request_error", NULL));
		return;
	}
	respond(c, 404, NULL, error_body("not found", "invalid_request_error",
	    NULL));
}

/* ------------------------------------------------------------ main */

static void
listen_open(const char *spec)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256], *port, *h = host;
	int		 fd = -1, on = 1, rc, saved = 0;

	if (strlen(spec) >= sizeof(host))
		errx(1, "%s: address too long", spec);
	memcpy(host, spec, strlen(spec) + 1);
	if ((port = strrchr(host, ':')) == NULL)
		errx(1, "%s: expected host:port", spec);
	*port++ = '\0';
	if (host[0] == '[' && port - host >= 3 && port[-2] == ']') {
		port[-2] = '\0';
		h = host + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*h != '\0' ? h : NULL, port, &hints, &res)) != 0)
		errx(1, "%s: %s", spec, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 4096) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		errno = saved;
		err(1, "%s", spec);
	}
	g.lfd = fd;
}

/* The line the tests wait for, with the port the kernel chose. */
static void
listen_announce(void)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len = sizeof(ss);
	char			 addr[INET6_ADDRSTRLEN];
	int			 rc;

	if (getsockname(g.lfd, (struct sockaddr *)&ss, &len) == -1)
		err(1, "getsockname");
	if (ss.ss_family == AF_INET6) {
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, addr,
		    sizeof(addr)) == NULL)
			err(1, "inet_ntop");
		rc = printf("listening [%s]:%d\n", addr, ntohs(sin6->sin6_port));
	} else {
		if (inet_ntop(AF_INET, &sin->sin_addr, addr,
		    sizeof(addr)) == NULL)
			err(1, "inet_ntop");
		rc = printf("listening %s:%d\n", addr, ntohs(sin->sin_port));
	}
	if (rc < 0 || fflush(stdout) == EOF)
		err(1, "stdout");
}

/* Thousands of streams need thousands of descriptors. */
static void
nofile_raise(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		err(1, "getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		warn("setrlimit");
}

/*
 * SIGTERM and SIGINT come through a signalfd, so the loop ends between two
 * events and everything is freed. The dispositions are reset in case the
 * parent ignored them: an ignored signal never reaches the signalfd.
 */
static void
signals_open(void)
{
	sigset_t	 set;

	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    signal(SIGTERM, SIG_DFL) == SIG_ERR ||
	    signal(SIGINT, SIG_DFL) == SIG_ERR)
		err(1, "signal");
	if (sigemptyset(&set) == -1 || sigaddset(&set, SIGTERM) == -1 ||
	    sigaddset(&set, SIGINT) == -1)
		err(1, "sigset");
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		err(1, "sigprocmask");
	if ((g.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		err(1, "signalfd");
}

static void
loop_run(void)
{
	struct epoll_event	 ev[MAX_EVENTS];
	int			 i, n;

	while (!g.quit) {
		n = epoll_wait(g.ep, ev, MAX_EVENTS, timers_timeout());
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == &listen_tag)
				conn_accept();
			else if (ev[i].data.ptr == &signal_tag)
				g.quit = true;
			else
				conn_event(ev[i].data.ptr, ev[i].events);
		}
		timers_run();
	}
}

static void
cleanup(void)
{
	while (g.conns != NULL)
		conn_free(g.conns);
	free(g.heap);
	free(g.seen);
	json_object_put(g.last_body);
	json_object_put(g.last_extraction);
	if (close(g.lfd) == -1 || close(g.sfd) == -1 || close(g.ep) == -1)
		warn("close");
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: fakellm [-l host:port] [-k key]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	const char	*addr = "127.0.0.1:0";
	int		 ch;

	while ((ch = getopt(argc, argv, "k:l:")) != -1) {
		switch (ch) {
		case 'k':
			g.key = optarg;
			break;
		case 'l':
			addr = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	nofile_raise();
	signals_open();
	if ((g.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	listen_open(addr);
	ep_ctl(EPOLL_CTL_ADD, g.lfd, EPOLLIN, &listen_tag);
	ep_ctl(EPOLL_CTL_ADD, g.sfd, EPOLLIN, &signal_tag);
	listen_announce();

	loop_run();
	cleanup();
	return 0;
}
