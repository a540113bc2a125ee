/*
 * test_llm.c: the Chat Completions client.
 *
 * Two groups. The parser group feeds text/event-stream bodies to
 * llm_stream_* in every way a network can cut them. The upstream group
 * runs llm_complete against the real fake upstream, t/fakellm, started
 * as a child process ($QUIPU_TEST_BUILDDIR/t/fakellm -l 127.0.0.1:0);
 * without it those tests are skipped.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "arena.h"
#include "clock.h"
#include "llm.h"

#define S(lit)	(lit), (sizeof(lit) - 1)

/* ------------------------------------------------------------ sink */

/* What on_delta received. */
struct sink {
	char	*buf;
	size_t	 len;
	int	 calls;
	int	 stop_at;	/* call number that asks to stop; 0: never */
};

static int
sink_delta(void *ctx, const char *text, size_t len)
{
	struct sink	*k = ctx;

	k->buf = realloc(k->buf, k->len + len + 1);
	assert_non_null(k->buf);
	memcpy(k->buf + k->len, text, len);
	k->len += len;
	k->buf[k->len] = '\0';
	k->calls++;
	return k->stop_at != 0 && k->calls >= k->stop_at;
}

static const char *
sink_text(const struct sink *k)
{
	return k->buf != NULL ? k->buf : "";
}

/* ------------------------------------------------------------ parser */

/* One parser run: the stream's pieces go in, the result comes out. */
struct prun {
	struct arena		*a;
	struct llm_stream	*s;
	struct llm_result	 out;
	struct sink		 sink;
	struct llm_callbacks	 cb;
	enum app_err		 feed_rc;	/* first failure of a feed */
	enum app_err		 finish_rc;
};

static void
prun_init(struct prun *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->a = arena_create(4096);
	assert_non_null(r->a);
	r->cb.on_delta = sink_delta;
	r->cb.ctx = &r->sink;
	r->s = llm_stream_new(r->a, max, &r->cb, &r->out);
	assert_non_null(r->s);
	assert_non_null(r->out.text);
	assert_string_equal(r->out.text, "");
}

static void
prun_feed(struct prun *r, const char *buf, size_t len)
{
	enum app_err	 rc;

	rc = llm_stream_feed(r->s, buf, len);
	if (r->feed_rc == APP_OK)
		r->feed_rc = rc;
}

static void
prun_finish(struct prun *r)
{
	r->finish_rc = llm_stream_finish(r->s);
	/* The result is always consistent, whatever happened. */
	assert_non_null(r->out.text);
	assert_int_equal(strlen(r->out.text), r->out.text_len);
}

static void
prun_free(struct prun *r)
{
	free(r->sink.buf);
	arena_destroy(r->a);
	memset(r, 0, sizeof(*r));
}

/* Runs `buf' split at `cut' (0..len) into two feeds. */
static void
prun_split(struct prun *r, size_t max, const char *buf, size_t len,
    size_t cut)
{
	prun_init(r, max);
	prun_feed(r, buf, cut);
	prun_feed(r, buf + cut, len - cut);
	prun_finish(r);
}

/* Runs `buf' in pieces of `step' bytes. */
static void
prun_steps(struct prun *r, size_t max, const char *buf, size_t len,
    size_t step)
{
	size_t	 i, n;

	prun_init(r, max);
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		prun_feed(r, buf + i, n);
	}
	prun_finish(r);
}

/* LF line ends to CR LF (malloc'd). */
static char *
crlf(const char *s, size_t *len)
{
	char	*o;
	size_t	 i, n = 0;

	assert_non_null(o = malloc(strlen(s) * 2 + 1));
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\n')
			o[n++] = '\r';
		o[n++] = s[i];
	}
	o[n] = '\0';
	*len = n;
	return o;
}

#define CHUNK(delta, finish)						\
	"data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\","	\
	"\"created\":1763800000,\"model\":\"gpt-4o-mini-2024-07-18\","	\
	"\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"	\
	"\"delta\":" delta ",\"logprobs\":null,\"finish_reason\":"	\
	finish "}],\"usage\":null}\n\n"

/* What OpenAI sends for a short answer with include_usage. */
static const char openai_stream[] =
    CHUNK("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}",
	"null")
    CHUNK("{\"content\":\"Hello\"}", "null")
    CHUNK("{\"content\":\", w\\u00f6rld\"}", "null")
    CHUNK("{\"content\":\"!\\n\"}", "null")
    CHUNK("{}", "\"stop\"")
    "data: {\"id\":\"chatcmpl-AB1\",\"object\":\"chat.completion.chunk\","
    "\"created\":1763800000,\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
    "\"completion_tokens\":3,\"total_tokens\":12}}\n\n"
    "data: [DONE]\n\n";

#define OPENAI_TEXT	"Hello, w\xc3\xb6rld!\n"

static void
check_openai(struct prun *r)
{
	assert_int_equal(r->feed_rc, APP_OK);
	assert_int_equal(r->finish_rc, APP_OK);
	assert_true(llm_stream_done(r->s));
	assert_string_equal(r->out.text, OPENAI_TEXT);
	assert_int_equal(r->out.text_len, strlen(OPENAI_TEXT));
	assert_string_equal(sink_text(&r->sink), OPENAI_TEXT);
	assert_string_equal(r->out.finish_reason, "stop");
	assert_int_equal(r->out.usage.prompt_tokens, 9);
	assert_int_equal(r->out.usage.completion_tokens, 3);
	assert_int_equal(r->out.usage.total_tokens, 12);
	assert_int_equal(r->out.ntool_calls, 0);
	assert_null(r->out.error);
}

static void
test_stream_whole(void **state)
{
	struct prun	 r;

	prun_split(&r, 0, S(openai_stream), sizeof(openai_stream) - 1);
	check_openai(&r);
	/* One delta per content chunk; the role chunk's "" is none. */
	assert_int_equal(r.sink.calls, 3);
	prun_free(&r);
}

static void
test_stream_bytes(void **state)
{
	struct prun	 r;

	prun_steps(&r, 0, S(openai_stream), 1);
	check_openai(&r);
	prun_free(&r);
	prun_steps(&r, 0, S(openai_stream), 7);
	check_openai(&r);
	prun_free(&r);
}

static void
test_stream_splits(void **state)
{
	struct prun	 r;
	size_t		 i, len = sizeof(openai_stream) - 1;

	for (i = 0; i <= len; i++) {
		prun_split(&r, 0, openai_stream, len, i);
		check_openai(&r);
		prun_free(&r);
	}
}

static void
test_stream_crlf(void **state)
{
	struct prun	 r;
	char		*s;
	size_t		 len, i;

	s = crlf(openai_stream, &len);
	prun_split(&r, 0, s, len, len);
	check_openai(&r);
	prun_free(&r);
	prun_steps(&r, 0, s, len, 1);
	check_openai(&r);
	prun_free(&r);
	/* Every split, CR and LF apart included. */
	for (i = 0; i <= len; i++) {
		prun_split(&r, 0, s, len, i);
		check_openai(&r);
		prun_free(&r);
	}
	free(s);
}

/* Comments, other fields, data lines joined, "data:" without a space. */
static void
test_stream_fields(void **state)
{
	static const char body[] =
	    ": keep-alive\n"
	    "event: message\n"
	    "id: 7\n"
	    "data: {\"choices\":[{\"delta\":\n"
	    "data: {\"content\":\"a\"}}]}\n"
	    "\n"
	    "retry: 100\n"
	    "\n"
	    "data:{\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n"
	    "\n"
	    ":\n"
	    "data\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n"
	    "\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":null},"
	    "\"finish_reason\":\"length\"}]}\n"
	    "\n"
	    "data: [DONE]\n"
	    "\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"after\"}}]}\n\n";
	struct prun	 r;
	size_t		 i;

	for (i = 0; i <= sizeof(body) - 1; i++) {
		prun_split(&r, 0, body, sizeof(body) - 1, i);
		assert_int_equal(r.feed_rc, APP_OK);
		assert_int_equal(r.finish_rc, APP_OK);
		/* "data" alone is an empty line of the event: "\n{...}". */
		assert_string_equal(r.out.text, "abc");
		assert_string_equal(r.out.finish_reason, "length");
		assert_int_equal(r.out.usage.total_tokens, 0);
		prun_free(&r);
	}
}

/* The last line without its newline still counts. */
static void
test_stream_unterminated(void **state)
{
	struct prun	 r;

	prun_init(&r, 0);
	prun_feed(&r, S("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}"
	    "\n\ndata: [DONE]"));
	assert_false(llm_stream_done(r.s));
	prun_finish(&r);
	assert_int_equal(r.finish_rc, APP_OK);
	assert_true(llm_stream_done(r.s));
	assert_string_equal(r.out.text, "x");
	prun_free(&r);

	/* An event whose blank line never came. */
	prun_init(&r, 0);
	prun_feed(&r, S("data: {\"choices\":[{\"delta\":{\"content\":\"y\"},"
	    "\"finish_reason\":\"stop\"}]}\n"));
	prun_finish(&r);
	assert_int_equal(r.finish_rc, APP_OK);
	assert_string_equal(r.out.text, "y");
	prun_free(&r);
}

#define TOOL(delta)							\
	"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","	\
	"\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[" delta "]}," \
	"\"finish_reason\":null}]}\n\n"

/* Two calls, interleaved, their arguments split across chunks. */
static const char tool_stream[] =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":null},\"finish_reason\":null}]}\n\n"
    TOOL("{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
	"\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}")
    TOOL("{\"index\":1,\"id\":\"call_b\",\"type\":\"function\","
	"\"function\":{\"name\":\"add_task\",\"arguments\":\"\"}}")
    TOOL("{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}")
    TOOL("{\"index\":1,\"function\":{\"arguments\":\"{\\\"title\\\":\"}}")
    TOOL("{\"index\":0,\"function\":{\"arguments\":\"ty\\\":\\\"Paris\\\"}\"}}")
    TOOL("{\"index\":1,\"function\":{\"arguments\":\"\\\"milk\\\"}\"}}")
    "data: {\"choices\":[{\"index\":0,\"delta\":{},"
    "\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":80,"
    "\"completion_tokens\":20,\"total_tokens\":100}}\n\n"
    "data: [DONE]\n\n";

static void
check_tools(struct prun *r)
{
	assert_int_equal(r->feed_rc, APP_OK);
	assert_int_equal(r->finish_rc, APP_OK);
	assert_string_equal(r->out.text, "");
	assert_int_equal(r->sink.calls, 0);
	assert_string_equal(r->out.finish_reason, "tool_calls");
	assert_int_equal(r->out.ntool_calls, 2);
	assert_string_equal(r->out.tool_calls[0].id, "call_a");
	assert_string_equal(r->out.tool_calls[0].name, "get_weather");
	assert_string_equal(r->out.tool_calls[0].arguments,
	    "{\"city\":\"Paris\"}");
	assert_string_equal(r->out.tool_calls[1].id, "call_b");
	assert_string_equal(r->out.tool_calls[1].name, "add_task");
	assert_string_equal(r->out.tool_calls[1].arguments,
	    "{\"title\":\"milk\"}");
	assert_int_equal(r->out.usage.total_tokens, 100);
}

static void
test_stream_tools(void **state)
{
	struct prun	 r;
	size_t		 i, len = sizeof(tool_stream) - 1;

	prun_steps(&r, 0, tool_stream, len, 1);
	check_tools(&r);
	prun_free(&r);
	for (i = 0; i <= len; i++) {
		prun_split(&r, 0, tool_stream, len, i);
		check_tools(&r);
		prun_free(&r);
	}
}

/* Index order whatever the arrival order; an id made up when none came. */
static void
test_stream_tools_order(void **state)
{
	static const char body[] =
	    TOOL("{\"index\":2,\"function\":{\"name\":\"second\","
		"\"arguments\":\"{}\"}}")
	    TOOL("{\"index\":0,\"id\":\"call_x\",\"function\":{\"name\":"
		"\"first\"}}")
	    TOOL("{\"index\":2,\"id\":\"late\",\"function\":{\"name\":"
		"\"ignored\"}}")
	    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":"
	    "\"tool_calls\"}]}\n\n";
	struct prun	 r;

	prun_split(&r, 0, S(body), 0);
	/* No [DONE]: the finish_reason and the end of the body suffice. */
	assert_int_equal(r.finish_rc, APP_OK);
	assert_false(llm_stream_done(r.s));
	assert_int_equal(r.out.ntool_calls, 2);
	assert_string_equal(r.out.tool_calls[0].id, "call_x");
	assert_string_equal(r.out.tool_calls[0].name, "first");
	assert_string_equal(r.out.tool_calls[0].arguments, "{}");
	/* A later delta may bring the id; the first name stays. */
	assert_string_equal(r.out.tool_calls[1].id, "late");
	assert_string_equal(r.out.tool_calls[1].name, "second");
	prun_free(&r);

	prun_split(&r, 0, S(TOOL("{\"index\":3,\"function\":{\"name\":\"f\"}}")
	    "data: [DONE]\n\n"), 5);
	assert_int_equal(r.finish_rc, APP_OK);
	assert_int_equal(r.out.ntool_calls, 1);
	assert_string_equal(r.out.tool_calls[0].id, "call_3");
	prun_free(&r);
}

static void
test_stream_tools_bound(void **state)
{
	struct prun	 r;

	prun_split(&r, 0, S(TOOL("{\"index\":16,\"function\":{\"name\":"
	    "\"f\"}}") "data: [DONE]\n\n"), 0);
	assert_int_equal(r.feed_rc, APP_EUPSTREAM);
	assert_int_equal(r.finish_rc, APP_EUPSTREAM);
	assert_string_equal(r.out.error,
	    "the model asked for too many tool calls");
	prun_free(&r);
	prun_split(&r, 0, S(TOOL("{\"index\":-1}") "data: [DONE]\n\n"), 0);
	assert_int_equal(r.feed_rc, APP_EUPSTREAM);
	prun_free(&r);
}

static void
test_stream_malformed(void **state)
{
	static const char *const bad[] = {
	    "data: {\"choices\":[{\"delta\":{\"content\":\n\n",
	    "data: 42\n\n",
	    "data: [\"x\"]\n\n",
	    "data: \n\n",
	    "data: {\"choices\":[{\"delta\":{\"content\":\"\\u0000\"}}]}\n\n",
	    "data: {\"choices\":[\"x\"]}\n\n",
	    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[1]}}]}\n\n",
	    "data: {\"a\":1}{\"b\":2}\n\n",
	};
	struct prun	 r;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		prun_init(&r, 0);
		prun_feed(&r, S(CHUNK("{\"content\":\"ok \"}", "null")));
		prun_feed(&r, bad[i], strlen(bad[i]));
		assert_int_equal(r.feed_rc, APP_EUPSTREAM);
		/* The error is latched: nothing more is taken. */
		assert_int_equal(llm_stream_feed(r.s,
		    S(CHUNK("{\"content\":\"more\"}", "null"))),
		    APP_EUPSTREAM);
		prun_finish(&r);
		assert_int_equal(r.finish_rc, APP_EUPSTREAM);
		assert_string_equal(r.out.error,
		    "the model's answer was malformed");
		/* What came before stays. */
		assert_string_equal(r.out.text, "ok ");
		assert_string_equal(sink_text(&r.sink), "ok ");
		prun_free(&r);
	}
}

static void
test_stream_error_chunk(void **state)
{
	struct prun	 r;
	char		 body[1024];
	const char	*e;

	prun_init(&r, 0);
	prun_feed(&r, S(CHUNK("{\"content\":\"tok1 \"}", "null")
	    "data: {\"error\":{\"message\":\"fake mid-stream error\","
	    "\"type\":\"server_error\"}}\n\n"));
	assert_int_equal(r.feed_rc, APP_EUPSTREAM);
	prun_finish(&r);
	assert_int_equal(r.finish_rc, APP_EUPSTREAM);
	assert_string_equal(r.out.error,
	    "the model's server reported an error: fake mid-stream error");
	assert_string_equal(r.out.text, "tok1 ");
	prun_free(&r);

	/* A long message is cut; control characters do not get through. */
	memset(body, 0, sizeof(body));
	strcpy(body, "data: {\"error\":{\"message\":\"line\\nbreak ");
	memset(body + strlen(body), 'm', 500);
	strcat(body, "\"}}\n\n");
	prun_split(&r, 0, body, strlen(body), 17);
	assert_int_equal(r.finish_rc, APP_EUPSTREAM);
	e = strstr(r.out.error, ": ");
	assert_non_null(e);
	assert_int_equal(strlen(e + 2), 200);
	assert_null(strchr(r.out.error, '\n'));
	assert_true(strncmp(e + 2, "line break m", 12) == 0);
	prun_free(&r);

	/* An error as a plain string, or without a message. */
	prun_split(&r, 0, S("data: {\"error\":\"overloaded\"}\n\n"), 3);
	assert_string_equal(r.out.error,
	    "the model's server reported an error: overloaded");
	prun_free(&r);
	prun_split(&r, 0, S("data: {\"error\":{}}\n\n"), 3);
	assert_string_equal(r.out.error,
	    "the model's server reported an error");
	prun_free(&r);
}

static void
test_stream_cut(void **state)
{
	static const char body[] =
	    CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null")
	    CHUNK("{\"content\":\"Hello\"}", "null")
	    CHUNK("{\"content\":\" there\"}", "null");
	struct prun	 r;
	size_t		 i;

	for (i = 0; i <= sizeof(body) - 1; i += 13) {
		prun_split(&r, 0, body, sizeof(body) - 1, i);
		assert_int_equal(r.feed_rc, APP_OK);
		assert_int_equal(r.finish_rc, APP_EUPSTREAM);
		assert_string_equal(r.out.error,
		    "the model's answer was cut off");
		assert_string_equal(r.out.text, "Hello there");
		prun_free(&r);
	}
	/* Cut inside a line: that line is not JSON, but it is a cut. */
	prun_split(&r, 0, body, sizeof(body) - 20, 0);
	assert_int_equal(r.feed_rc, APP_OK);
	assert_int_equal(r.finish_rc, APP_EUPSTREAM);
	assert_string_equal(r.out.error, "the model's answer was cut off");
	assert_string_equal(r.out.text, "Hello");
	prun_free(&r);
	/* Nothing at all. */
	prun_split(&r, 0, "", 0, 0);
	assert_int_equal(r.finish_rc, APP_EUPSTREAM);
	assert_string_equal(r.out.error, "the model's answer was cut off");
	prun_free(&r);
}

static void
test_stream_max(void **state)
{
	static const char piece[] =
	    "data: {\"choices\":[{\"delta\":{\"content\":\"0123456789\"}}]}"
	    "\n\n";
	struct prun	 r;
	char		 line[200];
	int		 i;

	/* A line longer than the bound, whole or byte by byte. */
	memset(line, 0, sizeof(line));
	strcpy(line, "data: {\"choices\":[{\"delta\":{\"content\":\"");
	memset(line + strlen(line), 'x', 100);
	strcat(line, "\"}}]}\n\n");
	prun_split(&r, 64, line, strlen(line), strlen(line));
	assert_int_equal(r.feed_rc, APP_EUPSTREAM);
	assert_string_equal(r.out.error, "the model's answer is too long");
	prun_free(&r);
	prun_steps(&r, 64, line, strlen(line), 1);
	assert_int_equal(r.feed_rc, APP_EUPSTREAM);
	assert_string_equal(r.out.error, "the model's answer is too long");
	prun_free(&r);
	/* The same line passes a larger bound. */
	prun_split(&r, 256, line, strlen(line), 50);
	assert_int_equal(r.feed_rc, APP_OK);
	assert_int_equal(r.out.text_len, 100);
	prun_free(&r);

	/* Short lines, but the text grows past the bound. */
	prun_init(&r, 64);
	for (i = 0; i < 10; i++)
		prun_feed(&r, S(piece));
	assert_int_equal(r.feed_rc, APP_EUPSTREAM);
	assert_string_equal(r.out.error, "the model's answer is too long");
	assert_int_equal(r.out.text_len, 60);
	prun_free(&r);
}

static void
test_stream_stop(void **state)
{
	struct prun	 r;

	prun_init(&r, 0);
	r.sink.stop_at = 2;
	prun_feed(&r, S(openai_stream));
	assert_int_equal(r.feed_rc, APP_EHUP);
	assert_int_equal(r.sink.calls, 2);
	assert_string_equal(r.out.text, "Hello, w\xc3\xb6rld");
	assert_int_equal(llm_stream_feed(r.s, S("data: [DONE]\n\n")),
	    APP_EHUP);
	prun_finish(&r);
	assert_int_equal(r.finish_rc, APP_EHUP);
	assert_non_null(r.out.error);
	prun_free(&r);
}

/* No callbacks at all is allowed (a non-streamed call). */
static void
test_stream_no_callbacks(void **state)
{
	struct arena		*a;
	struct llm_stream	*s;
	struct llm_result	 out;

	assert_non_null(a = arena_create(1024));
	assert_non_null(s = llm_stream_new(a, 0, NULL, &out));
	assert_int_equal(llm_stream_feed(s, S(openai_stream)), APP_OK);
	assert_int_equal(llm_stream_finish(s), APP_OK);
	assert_string_equal(out.text, OPENAI_TEXT);
	arena_destroy(a);
}

/* ------------------------------------------------------------ fake */

struct fake {
	pid_t	 pid;
	int	 fd;		/* its stdout */
	int	 port;
	char	 base[64];	/* "http://127.0.0.1:PORT/v1" */
};

static struct fake	 fake = { .pid = -1, .fd = -1 };
static CURL		*fake_curl;	/* for /_fake/ paths */

/* Starts t/fakellm (with -k key when not NULL); false when unavailable. */
static bool
fake_start(struct fake *f, const char *key)
{
	const char	*dir;
	char		 path[4096], line[128];
	struct pollfd	 pfd;
	uint64_t	 end;
	size_t		 n = 0;
	ssize_t		 r;
	int		 p[2];

	f->pid = -1;
	f->fd = -1;
	if ((dir = getenv("QUIPU_TEST_BUILDDIR")) == NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s/t/fakellm", dir) >=
	    sizeof(path) || access(path, X_OK) == -1 || pipe(p) == -1)
		return false;
	if ((f->pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return false;
	}
	if (f->pid == 0) {
#ifdef __linux__
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
		if (dup2(p[1], STDOUT_FILENO) == -1)
			_exit(127);
		close(p[0]);
		close(p[1]);
		if (key != NULL)
			execl(path, path, "-l", "127.0.0.1:0", "-k", key,
			    (char *)NULL);
		else
			execl(path, path, "-l", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f->fd = p[0];
	end = clock_now_ns() + 5000000000ull;
	while (n < sizeof(line) - 1 && memchr(line, '\n', n) == NULL) {
		pfd.fd = f->fd;
		pfd.events = POLLIN;
		if (clock_now_ns() >= end || poll(&pfd, 1, 100) == -1)
			break;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if ((r = read(f->fd, line + n, sizeof(line) - 1 - n)) <= 0)
			break;
		n += (size_t)r;
	}
	line[n] = '\0';
	if (sscanf(line, "listening 127.0.0.1:%d", &f->port) != 1 ||
	    f->port <= 0) {
		fprintf(stderr, "t/fakellm did not start: \"%s\"\n", line);
		return false;
	}
	(void)snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d/v1",
	    f->port);
	return true;
}

static void
fake_stop(struct fake *f)
{
	if (f->pid > 0) {
		(void)kill(f->pid, SIGTERM);
		(void)waitpid(f->pid, NULL, 0);
	}
	if (f->fd != -1)
		close(f->fd);
	f->pid = -1;
	f->fd = -1;
	f->port = 0;
}

static size_t
fake_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink	*k = arg;

	(void)sink_delta(k, p, size * nmemb);
	return size * nmemb;
}

/* GET or POST (reset) a /_fake/ path; the JSON answer, to put. */
static struct json_object *
fake_json(struct fake *f, const char *path)
{
	struct json_object	*o;
	struct sink		 k = { 0 };
	char			 url[256];
	bool			 post;

	post = strcmp(path, "/_fake/reset") == 0;
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port,
	    path);
	if (fake_curl == NULL)
		assert_non_null(fake_curl = curl_easy_init());
	curl_easy_reset(fake_curl);
	assert_int_equal(curl_easy_setopt(fake_curl, CURLOPT_URL, url),
	    CURLE_OK);
	assert_int_equal(curl_easy_setopt(fake_curl, CURLOPT_NOSIGNAL, 1L),
	    CURLE_OK);
	assert_int_equal(curl_easy_setopt(fake_curl, CURLOPT_TIMEOUT, 5L),
	    CURLE_OK);
	if (post)
		assert_int_equal(curl_easy_setopt(fake_curl,
		    CURLOPT_POSTFIELDS, ""), CURLE_OK);
	assert_int_equal(curl_easy_setopt(fake_curl, CURLOPT_WRITEFUNCTION,
	    fake_write), CURLE_OK);
	assert_int_equal(curl_easy_setopt(fake_curl, CURLOPT_WRITEDATA, &k),
	    CURLE_OK);
	assert_int_equal(curl_easy_perform(fake_curl), CURLE_OK);
	o = json_tokener_parse(sink_text(&k));
	free(k.buf);
	assert_non_null(o);
	return o;
}

/* One counter of /_fake/stats. */
static int64_t
fake_stat(struct fake *f, const char *name)
{
	struct json_object	*o, *v;
	int64_t			 n;

	o = fake_json(f, "/_fake/stats");
	assert_true(json_object_object_get_ex(o, name, &v));
	n = json_object_get_int64(v);
	json_object_put(o);
	return n;
}

static int
fake_group_setup(void **state)
{
	if (llm_global_init() != APP_OK)
		return -1;
	if (!fake_start(&fake, NULL))
		fake_stop(&fake);
	return 0;
}

static int
fake_group_teardown(void **state)
{
	fake_stop(&fake);
	if (fake_curl != NULL)
		curl_easy_cleanup(fake_curl);
	fake_curl = NULL;
	return 0;
}

static int
fake_test_setup(void **state)
{
	if (fake.port != 0)
		json_object_put(fake_json(&fake, "/_fake/reset"));
	return 0;
}

/* ------------------------------------------------------------ calls */

/* One llm_complete against a fake. */
struct call {
	struct llm_options	 o;
	struct arena		*a;
	struct llm		*llm;
	struct llm_result	 out;
	struct sink		 sink;
	struct llm_callbacks	 cb;
	enum app_err		 rc;
	double			 secs;
	/* tick */
	int			 ticks;
	uint64_t		 start;
	int			 stop_after_ms;	/* tick stops; 0: never */
};

static bool
call_tick(void *ctx)
{
	struct call	*c = ctx;

	c->ticks++;
	return c->stop_after_ms > 0 &&
	    clock_now_ns() - c->start >= (uint64_t)c->stop_after_ms * 1000000;
}

static int
call_delta(void *ctx, const char *text, size_t len)
{
	struct call	*c = ctx;

	return sink_delta(&c->sink, text, len);
}

static void
call_init(struct call *c, const struct fake *f)
{
	memset(c, 0, sizeof(*c));
	c->o.provider = LLM_OPENAI;
	c->o.base_url = f->base;
	c->o.model = "fake-model";
	c->o.timeout_s = 10;
	c->o.connect_timeout_s = 2;
	c->o.max_retries = 2;
	c->o.max_response = 1 << 20;
	c->cb.on_delta = call_delta;
	c->cb.tick = call_tick;
	c->cb.ctx = c;
	assert_non_null(c->a = arena_create(4096));
}

/* Runs the conversation `msgs' (or one user message `user'). */
static void
call_msgs(struct call *c, const struct llm_message *msgs, size_t n,
    const char *tools, bool stream)
{
	struct llm_request	 req;

	memset(&req, 0, sizeof(req));
	req.messages = msgs;
	req.nmessages = n;
	req.tools = tools;
	req.stream = stream;
	if (c->llm == NULL)
		assert_int_equal(llm_create(&c->o, &c->llm), APP_OK);
	assert_int_equal(llm_provider(c->llm), LLM_OPENAI);
	c->start = clock_now_ns();
	c->rc = llm_complete(c->llm, c->a, &req, &c->cb, &c->out);
	c->secs = (double)(clock_now_ns() - c->start) / 1e9;
	if (getenv("TEST_LLM_VERBOSE") != NULL)
		fprintf(stderr, "  %.3f s, %d ticks, %d attempts: %s\n",
		    c->secs, c->ticks, c->out.attempts,
		    c->out.error != NULL ? c->out.error : "ok");
	assert_non_null(c->out.text);
	assert_int_equal(strlen(c->out.text), c->out.text_len);
	if (c->rc == APP_OK)
		assert_null(c->out.error);
	else
		assert_non_null(c->out.error);
}

static void
call_run(struct call *c, const char *user, bool stream)
{
	struct llm_message	 m[2] = {
		{ .role = "system", .content = "You are a test." },
		{ .role = "user", .content = user },
	};

	call_msgs(c, m, 2, NULL, stream);
}

/* Ready for another call with the same client. */
static void
call_again(struct call *c)
{
	arena_reset(c->a);
	free(c->sink.buf);
	memset(&c->sink, 0, sizeof(c->sink));
	c->ticks = 0;
}

static void
call_free(struct call *c)
{
	llm_free(c->llm);
	arena_destroy(c->a);
	free(c->sink.buf);
	memset(c, 0, sizeof(*c));
}

#define NEED_FAKE()	do {						\
	if (fake.port == 0)						\
		skip();							\
} while (0)

static void
test_fake_stream(void **state)
{
	struct json_object	*last, *body, *v, *msgs;
	struct call		 c;

	NEED_FAKE();
	call_init(&c, &fake);
	call_run(&c, "hello world", true);
	assert_int_equal(c.rc, APP_OK);
	assert_string_equal(c.out.text,
	    "Hello from fake. You said: hello world");
	assert_string_equal(sink_text(&c.sink), c.out.text);
	assert_true(c.sink.calls > 1);		/* token by token */
	assert_string_equal(c.out.finish_reason, "stop");
	assert_int_equal(c.out.attempts, 1);
	assert_int_equal(c.out.ntool_calls, 0);
	/* Usage was asked for (stream_options.include_usage). */
	assert_true(c.out.usage.prompt_tokens > 0);
	assert_true(c.out.usage.completion_tokens > 0);
	assert_int_equal(c.out.usage.total_tokens,
	    c.out.usage.prompt_tokens + c.out.usage.completion_tokens);
	assert_int_equal(fake_stat(&fake, "completed"), 1);

	/* What the fake received. */
	last = fake_json(&fake, "/_fake/last");
	assert_true(json_object_object_get_ex(last, "authorization", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(last, "body", &body));
	assert_true(json_object_object_get_ex(body, "model", &v));
	assert_string_equal(json_object_get_string(v), "fake-model");
	assert_true(json_object_object_get_ex(body, "stream", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(body, "stream_options", &v));
	assert_true(json_object_object_get_ex(v, "include_usage", &v));
	assert_true(json_object_get_boolean(v));
	assert_false(json_object_object_get_ex(body, "tools", &v));
	assert_true(json_object_object_get_ex(body, "messages", &msgs));
	assert_int_equal(json_object_array_length(msgs), 2);
	v = json_object_array_get_idx(msgs, 1);
	assert_true(json_object_object_get_ex(v, "role", &v));
	assert_string_equal(json_object_get_string(v), "user");
	json_object_put(last);
	call_free(&c);
}

/* Several calls on one thread reuse one connection (keep-alive). */
static void
test_fake_keepalive(void **state)
{
	struct call	 c;
	int64_t		 open0;
	int		 i;

	NEED_FAKE();
	call_init(&c, &fake);
	call_run(&c, "one", true);
	assert_int_equal(c.rc, APP_OK);
	open0 = fake_stat(&fake, "open");
	for (i = 0; i < 3; i++) {
		call_again(&c);
		call_run(&c, "again", i % 2 == 0);
		assert_int_equal(c.rc, APP_OK);
	}
	assert_int_equal(fake_stat(&fake, "open"), open0);
	call_free(&c);
}

#define TOOLS	"[{\"type\":\"function\",\"function\":"		\
	"{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","	\
	"\"properties\":{\"city\":{\"type\":\"string\"}}}}}]"

static void
test_fake_tools(void **state)
{
	static const char tools[] = TOOLS;
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	c.o.max_retries = 0;
	{
		struct llm_message	 m[1] = {{ .role = "user", .content =
		    "weather? fake:call get_weather {\"city\": \"Paris\"} "
		    "fake:call add_task {\"title\": \"buy {milk}\", \"n\": 2}"
		}};

		call_msgs(&c, m, 1, tools, true);
	}
	assert_int_equal(c.rc, APP_OK);
	assert_string_equal(c.out.finish_reason, "tool_calls");
	assert_int_equal(c.out.ntool_calls, 2);
	assert_string_equal(c.out.tool_calls[0].id, "call_fake_0");
	assert_string_equal(c.out.tool_calls[0].name, "get_weather");
	assert_string_equal(c.out.tool_calls[0].arguments,
	    "{\"city\": \"Paris\"}");
	assert_string_equal(c.out.tool_calls[1].id, "call_fake_1");
	assert_string_equal(c.out.tool_calls[1].name, "add_task");
	assert_string_equal(c.out.tool_calls[1].arguments,
	    "{\"title\": \"buy {milk}\", \"n\": 2}");
	assert_string_equal(c.out.text, "");
	assert_int_equal(c.sink.calls, 0);

	/* The same, not streamed. */
	call_again(&c);
	{
		struct llm_message	 m[1] = {{ .role = "user", .content =
		    "fake:call get_weather {\"city\": \"Oslo\"}" }};

		call_msgs(&c, m, 1, tools, false);
	}
	assert_int_equal(c.rc, APP_OK);
	assert_int_equal(c.out.ntool_calls, 1);
	assert_string_equal(c.out.tool_calls[0].id, "call_fake_0");
	assert_string_equal(c.out.tool_calls[0].arguments,
	    "{\"city\": \"Oslo\"}");
	call_free(&c);
}

/* The tool-call round trip: what the request carries, what comes back. */
static void
test_fake_tool_results(void **state)
{
	static const struct llm_tool_call calls[] = {
		{ "call_1", "get_weather", "{\"city\":\"Paris\"}" },
		{ "call_2", "get_time", "{}" },
	};
	static const struct llm_message m[] = {
		{ .role = "system", .content = "sys" },
		{ .role = "user", .content = "weather and time in Paris?" },
		{ .role = "assistant", .content = NULL, .tool_calls = calls,
		    .ntool_calls = 2 },
		{ .role = "tool", .content = "sunny",
		    .tool_call_id = "call_1" },
		{ .role = "tool", .content = "{\"time\":\"10:00\"}",
		    .tool_call_id = "call_2" },
	};
	struct json_object	*last, *body, *msgs, *a, *v, *tc;
	struct call		 c;

	NEED_FAKE();
	call_init(&c, &fake);
	call_msgs(&c, m, 5, TOOLS, true);
	assert_int_equal(c.rc, APP_OK);
	assert_string_equal(c.out.text, "Tool results: call_1=sunny "
	    "call_2={\"time\":\"10:00\"} ");

	last = fake_json(&fake, "/_fake/last");
	assert_true(json_object_object_get_ex(last, "body", &body));
	assert_true(json_object_object_get_ex(body, "tools", &v));
	assert_true(json_object_is_type(v, json_type_array));
	assert_true(json_object_object_get_ex(body, "messages", &msgs));
	assert_int_equal(json_object_array_length(msgs), 5);
	a = json_object_array_get_idx(msgs, 2);
	assert_true(json_object_object_get_ex(a, "content", &v));
	assert_true(json_object_is_type(v, json_type_null));
	assert_true(json_object_object_get_ex(a, "tool_calls", &v));
	assert_int_equal(json_object_array_length(v), 2);
	tc = json_object_array_get_idx(v, 1);
	assert_true(json_object_object_get_ex(tc, "id", &v));
	assert_string_equal(json_object_get_string(v), "call_2");
	assert_true(json_object_object_get_ex(tc, "type", &v));
	assert_string_equal(json_object_get_string(v), "function");
	assert_true(json_object_object_get_ex(tc, "function", &tc));
	assert_true(json_object_object_get_ex(tc, "name", &v));
	assert_string_equal(json_object_get_string(v), "get_time");
	assert_true(json_object_object_get_ex(tc, "arguments", &v));
	assert_string_equal(json_object_get_string(v), "{}");
	a = json_object_array_get_idx(msgs, 3);
	assert_true(json_object_object_get_ex(a, "role", &v));
	assert_string_equal(json_object_get_string(v), "tool");
	assert_true(json_object_object_get_ex(a, "tool_call_id", &v));
	assert_string_equal(json_object_get_string(v), "call_1");
	json_object_put(last);

	/* No tools: no "tools" member (OpenAI refuses an empty array). */
	call_again(&c);
	call_msgs(&c, m, 5, "[]", true);
	assert_int_equal(c.rc, APP_OK);
	last = fake_json(&fake, "/_fake/last");
	assert_true(json_object_object_get_ex(last, "body", &body));
	assert_false(json_object_object_get_ex(body, "tools", &v));
	json_object_put(last);

	/* Tools that are not a JSON array are the caller's mistake. */
	call_again(&c);
	call_msgs(&c, m, 2, "{not json", true);
	assert_int_equal(c.rc, APP_EINVAL);
	assert_int_equal(c.out.attempts, 0);
	call_free(&c);
}

static void
test_fake_usage(void **state)
{
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	call_run(&c, "fake:tokens=5", true);
	assert_int_equal(c.rc, APP_OK);
	assert_string_equal(c.out.text, "tok1 tok2 tok3 tok4 tok5 ");
	assert_int_equal(c.sink.calls, 5);
	assert_int_equal(c.out.usage.completion_tokens, 5);
	assert_true(c.out.usage.prompt_tokens > 0);
	call_again(&c);
	call_run(&c, "fake:nousage fake:tokens=2", true);
	assert_int_equal(c.rc, APP_OK);
	assert_int_equal(c.out.usage.total_tokens, 0);
	call_free(&c);
}

static void
test_fake_retry_429(void **state)
{
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	call_run(&c, "fake:status=429x1 fake:retry_after=1 hi", true);
	assert_int_equal(c.rc, APP_OK);
	assert_int_equal(c.out.attempts, 2);
	assert_string_equal(c.out.text,
	    "Hello from fake. You said: fake:status=429x1 "
	    "fake:retry_after=1 hi");
	/* Retry-After: 1, not the first backoff (at most 0.5 s). */
	assert_true(c.secs >= 0.95);
	assert_true(c.secs < 3.0);
	/* The tick ran during the wait. */
	assert_true(c.ticks >= 1);
	assert_int_equal(fake_stat(&fake, "requests"), 2);

	/* A Retry-After past the deadline: fail at once. */
	call_again(&c);
	llm_free(c.llm);
	c.llm = NULL;
	c.o.timeout_s = 3;
	call_run(&c, "fake:status=503x1 fake:retry_after=30 x", true);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_string_equal(c.out.error, "the model's server answered 503");
	assert_int_equal(c.out.attempts, 1);
	assert_true(c.secs < 1.0);
	call_free(&c);
}

static void
test_fake_500(void **state)
{
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	c.o.max_retries = 2;
	call_run(&c, "fake:status=500", true);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_string_equal(c.out.error, "the model's server answered 500");
	assert_int_equal(c.out.attempts, 3);
	assert_string_equal(c.out.text, "");
	assert_int_equal(c.sink.calls, 0);
	/* Backoffs of at most 0.5 and 1 s. */
	assert_true(c.secs < 2.5);
	assert_int_equal(fake_stat(&fake, "requests"), 3);

	/* A 400 is not retried and carries the server's message. */
	call_again(&c);
	call_run(&c, "fake:status=400", true);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_int_equal(c.out.attempts, 1);
	assert_string_equal(c.out.error,
	    "the model's server answered 400: fake error 400");
	call_free(&c);
}

static void
test_fake_cut(void **state)
{
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	call_run(&c, "fake:tokens=10 fake:cut=3", true);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_string_equal(c.out.error, "the model's answer was cut off");
	/* Text had reached on_delta: no retry, and it stays. */
	assert_int_equal(c.out.attempts, 1);
	assert_string_equal(c.out.text, "tok1 tok2 tok3 ");
	assert_string_equal(sink_text(&c.sink), c.out.text);
	call_free(&c);
}

static void
test_fake_malformed(void **state)
{
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	call_run(&c, "fake:tokens=3 fake:malformed", true);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_string_equal(c.out.error, "the model's answer was malformed");
	assert_string_equal(c.out.text, "tok1 ");
	assert_int_equal(c.out.attempts, 1);
	call_again(&c);
	call_run(&c, "fake:tokens=3 fake:error_chunk", true);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_string_equal(c.out.error,
	    "the model's server reported an error: fake mid-stream error");
	assert_string_equal(c.out.text, "tok1 ");
	call_free(&c);
}

static void
test_fake_hang(void **state)
{
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	c.o.timeout_s = 2;
	call_run(&c, "fake:tokens=5 fake:hang=2", true);
	assert_int_equal(c.rc, APP_ETIMEOUT);
	assert_string_equal(c.out.error, "the model did not answer within 2 s");
	assert_string_equal(c.out.text, "tok1 tok2 ");
	assert_true(c.secs >= 1.9);
	assert_true(c.secs < 3.0);
	/* tick runs at least once a second (here about every 250 ms). */
	assert_true(c.ticks >= 4);
	assert_int_equal(c.out.attempts, 1);

	/* Nothing at all: the deadline holds too. */
	call_again(&c);
	call_run(&c, "fake:hangfirst", true);
	assert_int_equal(c.rc, APP_ETIMEOUT);
	assert_true(c.secs >= 1.9 && c.secs < 3.0);
	call_free(&c);
}

/* Polls /_fake/stats until the fake has seen `n' aborts. */
static int64_t
fake_wait_aborted(struct fake *f, int64_t n)
{
	int64_t	 got = 0;
	int	 i;

	for (i = 0; i < 40; i++) {
		if ((got = fake_stat(f, "aborted")) >= n)
			break;
		usleep(50000);
	}
	return got;
}

static void
test_fake_tick_stop(void **state)
{
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	c.stop_after_ms = 300;
	call_run(&c, "fake:tokens=5 fake:hang=1", true);
	assert_int_equal(c.rc, APP_EHUP);
	assert_string_equal(c.out.text, "tok1 ");
	assert_true(c.secs < 1.0);
	assert_int_equal(fake_wait_aborted(&fake, 1), 1);
	assert_true(fake_stat(&fake, "last_abort_ms") > 0);

	/* The same before the status line. */
	call_again(&c);
	call_run(&c, "fake:hangfirst", true);
	assert_int_equal(c.rc, APP_EHUP);
	assert_true(c.secs < 1.0);
	assert_int_equal(fake_wait_aborted(&fake, 2), 2);

	/* on_delta asking to stop. */
	call_again(&c);
	c.stop_after_ms = 0;
	c.sink.stop_at = 2;
	call_run(&c, "fake:tokens=50 fake:slow=20", true);
	assert_int_equal(c.rc, APP_EHUP);
	assert_int_equal(c.sink.calls, 2);
	assert_string_equal(c.out.text, "tok1 tok2 ");
	assert_int_equal(fake_wait_aborted(&fake, 3), 3);

	/* tick asking to stop during a backoff. */
	call_again(&c);
	c.sink.stop_at = 0;
	c.stop_after_ms = 200;
	call_run(&c, "fake:status=429x1 fake:retry_after=5 y", true);
	assert_int_equal(c.rc, APP_EHUP);
	assert_int_equal(c.out.attempts, 1);
	assert_true(c.secs < 1.0);
	call_free(&c);
}

static void
test_fake_nostream(void **state)
{
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	call_run(&c, "hello there", false);
	assert_int_equal(c.rc, APP_OK);
	assert_string_equal(c.out.text, "Echo: hello there");
	assert_int_equal(c.sink.calls, 0);
	assert_string_equal(c.out.finish_reason, "stop");
	assert_true(c.out.usage.total_tokens > 0);
	assert_int_equal(c.out.attempts, 1);

	/* A server that ignores stream:true: its text reaches on_delta once. */
	call_again(&c);
	call_run(&c, "fake:nostream hi", true);
	assert_int_equal(c.rc, APP_OK);
	assert_string_equal(c.out.text, "Echo: fake:nostream hi");
	assert_int_equal(c.sink.calls, 1);
	assert_string_equal(sink_text(&c.sink), c.out.text);
	call_free(&c);
}

static void
test_fake_max_response(void **state)
{
	struct call	 c;

	NEED_FAKE();
	call_init(&c, &fake);
	c.o.max_response = 65536;
	call_run(&c, "fake:bigtoken=200000", true);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_string_equal(c.out.error, "the model's answer is too long");
	assert_int_equal(c.out.attempts, 1);
	/* A JSON answer is bounded as a whole. */
	call_again(&c);
	llm_free(c.llm);
	c.llm = NULL;
	c.o.max_response = 100;
	call_run(&c, "a short question", false);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_string_equal(c.out.error, "the model's answer is too long");
	llm_free(c.llm);
	c.llm = NULL;
	c.o.max_response = 65536;
	/* Under the bound it passes. */
	call_again(&c);
	call_run(&c, "fake:bigtoken=30000", true);
	assert_int_equal(c.rc, APP_OK);
	assert_int_equal(c.out.text_len, 30000);
	call_free(&c);
}

static void
test_fake_key(void **state)
{
	struct fake		 kf;
	struct json_object	*last, *v;
	struct call		 c;

	NEED_FAKE();
	if (!fake_start(&kf, "sk-test-right")) {
		fake_stop(&kf);
		fail_msg("t/fakellm -k did not start");
	}
	call_init(&c, &kf);
	c.o.api_key = "sk-test-wrong";
	call_run(&c, "hi", true);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_string_equal(c.out.error,
	    "the model's server refused the API key (401)");
	assert_null(strstr(c.out.error, "sk-test"));
	assert_int_equal(c.out.attempts, 1);
	llm_free(c.llm);
	c.llm = NULL;

	call_again(&c);
	c.o.api_key = "sk-test-right";
	call_run(&c, "hi", true);
	assert_int_equal(c.rc, APP_OK);
	last = fake_json(&kf, "/_fake/last");
	assert_true(json_object_object_get_ex(last, "authorization", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(last);
	call_free(&c);
	fake_stop(&kf);
}

/* Nobody listening: retried, then "could not be reached". */
static void
test_unreachable(void **state)
{
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof(sin);
	struct fake		 none = { .pid = -1, .fd = -1 };
	struct call		 c;
	int			 s;

	assert_int_equal(llm_global_init(), APP_OK);
	/* A port that was just free: bound, never listened on, closed. */
	assert_true((s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &slen), 0);
	close(s);
	(void)snprintf(none.base, sizeof(none.base),
	    "http://127.0.0.1:%d/v1/", ntohs(sin.sin_port));
	call_init(&c, &none);
	c.o.max_retries = 1;
	call_run(&c, "hi", true);
	assert_int_equal(c.rc, APP_EUPSTREAM);
	assert_string_equal(c.out.error,
	    "the model's server could not be reached");
	assert_int_equal(c.out.attempts, 2);
	assert_string_equal(c.out.text, "");
	call_free(&c);
}

/* The builtin provider goes to builtin_complete(): no HTTP at all. */
static void
test_builtin_dispatch(void **state)
{
	struct llm_options	 o = { .provider = LLM_BUILTIN };
	struct llm_message	 m = { .role = "user", .content = "hello" };
	struct llm_request	 req = { .messages = &m, .nmessages = 1,
	    .stream = true };
	struct llm_result	 out;
	struct arena		*a;
	struct llm		*l;
	enum app_err		 rc;

	assert_non_null(a = arena_create(4096));
	assert_int_equal(llm_create(&o, &l), APP_OK);
	assert_int_equal(llm_provider(l), LLM_BUILTIN);
	rc = llm_complete(l, a, &req, NULL, &out);
	assert_non_null(out.text);
	assert_int_equal(out.attempts, 0);
	assert_true((rc == APP_OK) == (out.error == NULL));
	llm_free(l);
	arena_destroy(a);
}

int
main(void)
{
	const struct CMUnitTest parser[] = {
		cmocka_unit_test(test_stream_whole),
		cmocka_unit_test(test_stream_bytes),
		cmocka_unit_test(test_stream_splits),
		cmocka_unit_test(test_stream_crlf),
		cmocka_unit_test(test_stream_fields),
		cmocka_unit_test(test_stream_unterminated),
		cmocka_unit_test(test_stream_tools),
		cmocka_unit_test(test_stream_tools_order),
		cmocka_unit_test(test_stream_tools_bound),
		cmocka_unit_test(test_stream_malformed),
		cmocka_unit_test(test_stream_error_chunk),
		cmocka_unit_test(test_stream_cut),
		cmocka_unit_test(test_stream_max),
		cmocka_unit_test(test_stream_stop),
		cmocka_unit_test(test_stream_no_callbacks),
	};
	const struct CMUnitTest upstream[] = {
		cmocka_unit_test(test_builtin_dispatch),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test_setup(test_fake_stream, fake_test_setup),
		cmocka_unit_test_setup(test_fake_keepalive, fake_test_setup),
		cmocka_unit_test_setup(test_fake_tools, fake_test_setup),
		cmocka_unit_test_setup(test_fake_tool_results,
		    fake_test_setup),
		cmocka_unit_test_setup(test_fake_usage, fake_test_setup),
		cmocka_unit_test_setup(test_fake_retry_429, fake_test_setup),
		cmocka_unit_test_setup(test_fake_500, fake_test_setup),
		cmocka_unit_test_setup(test_fake_cut, fake_test_setup),
		cmocka_unit_test_setup(test_fake_malformed, fake_test_setup),
		cmocka_unit_test_setup(test_fake_hang, fake_test_setup),
		cmocka_unit_test_setup(test_fake_tick_stop, fake_test_setup),
		cmocka_unit_test_setup(test_fake_nostream, fake_test_setup),
		cmocka_unit_test_setup(test_fake_max_response,
		    fake_test_setup),
		cmocka_unit_test_setup(test_fake_key, fake_test_setup),
	};
	int	 rc;

	/* A fake that dies must not kill the test with SIGPIPE. */
	(void)signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests_name("parser", parser, NULL, NULL);
	rc += cmocka_run_group_tests_name("upstream", upstream,
	    fake_group_setup, fake_group_teardown);
	return rc;
}
