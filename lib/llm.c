/*
 * llm.c: the Chat Completions client (see llm.h).
 *
 * Three parts, in the order a call uses them:
 *  1. The request: the conversation as Chat Completions JSON.
 *  2. The transfer: one libcurl easy handle per thread, kept across calls
 *     so the connection to the API stays open; the write callback feeds
 *     the answer to the parser as it arrives, the progress callback runs
 *     the caller's tick and the deadline. Failed attempts are retried
 *     while nothing has reached on_delta.
 *  3. The parser: a text/event-stream body, in pieces of any size, merged
 *     chunk by chunk into a struct llm_result. A non-streamed answer goes
 *     through the same merge, so both give the same result.
 *
 * Never logged nor put in an error: the API key, the Authorization
 * header, the conversation. The server's own error message is shown only
 * where it cannot hold the key (not for 401/403, whose OpenAI message
 * quotes part of it).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <sodium.h>

#include "arena.h"
#include "builtin.h"
#include "clock.h"
#include "jsonx.h"
#include "llm.h"
#include "log.h"

#define LLM_MAX_TOOL_CALLS	16	/* per answer */
#define LLM_ERRBODY_MAX		4096	/* bytes of an error answer kept */
#define LLM_MSG_MAX		200	/* bytes of a server message shown */
#define LLM_BACKOFF_MS		500	/* first retry, doubled each time */
#define LLM_BACKOFF_MAX_MS	8000
#define LLM_TICK_NS		200000000ull	/* tick at most this often */
#define LLM_POLL_MS		250	/* longest wait without a tick */
/* The same when the client's descriptor wakes the wait as it leaves. */
#define LLM_POLL_FD_MS		1000
#define LLM_SLACK_NS		50000000ull	/* curl's clock against ours */

#define LLM_E_REACH	"the model's server could not be reached"
#define LLM_E_CUT	"the model's answer was cut off"
#define LLM_E_MALFORMED	"the model's answer was malformed"
#define LLM_E_TOOLONG	"the model's answer is too long"
#define LLM_E_TOOLS	"the model asked for too many tool calls"
#define LLM_E_STOPPED	"the call to the model was stopped"
#define LLM_E_NOMEM	"out of memory"

struct llm {
	enum llm_provider	 provider;
	char			*url;		/* base_url/chat/completions */
	char			*api_key;	/* NULL: none */
	char			*model;
	int			 timeout_s;
	int			 connect_timeout_s;
	int			 max_retries;
	size_t			 max_response;
	int			 builtin_delay_ms;
};

/* ------------------------------------------------------------ buffers */

/*
 * A server's message for a sentence: at most LLM_MSG_MAX bytes, cut on a
 * UTF-8 boundary, control characters turned to spaces. NULL on ENOMEM.
 */
static char *
llm_cut(struct arena *a, const char *s)
{
	char	*p;
	size_t	 n, i;

	n = strlen(s);
	if (n > LLM_MSG_MAX) {
		n = LLM_MSG_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if ((p = arena_strndup(a, s, n)) == NULL)
		return NULL;
	for (i = 0; p[i] != '\0'; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			p[i] = ' ';
	return p;
}

/* ------------------------------------------------------------ parser */

struct llm_slot {
	bool		 used;
	const char	*id;
	const char	*name;
	struct arena_str	 args;
};

struct llm_stream {
	struct arena			*arena;
	size_t				 max;		/* SIZE_MAX: no limit */
	const struct llm_callbacks	*cb;
	struct llm_result		*out;
	struct arena_str			 line;		/* split across feeds */
	struct arena_str			 data;		/* the event's data */
	bool				 has_data;
	struct arena_str			 text;
	size_t				 answer;	/* text + arguments */
	struct llm_slot			 slots[LLM_MAX_TOOL_CALLS];
	bool				 done;		/* [DONE] seen */
	bool				 at_end;	/* in finish() */
	bool				 delivered;	/* on_delta called */
	enum app_err			 err;		/* the first error */
};

/* Latches the first error; `why' is a static sentence or an arena one. */
static enum app_err
llm_stream_fail(struct llm_stream *s, enum app_err rc, const char *why)
{
	if (s->err == APP_OK) {
		s->err = rc;
		s->out->error = rc == APP_ENOMEM ? LLM_E_NOMEM : why;
	}
	return s->err;
}

struct llm_stream *
llm_stream_new(struct arena *a, size_t max_response,
    const struct llm_callbacks *cb, struct llm_result *out)
{
	struct llm_stream	*s;

	memset(out, 0, sizeof(*out));
	if ((s = arena_alloc(a, sizeof(*s))) == NULL)
		return NULL;
	s->arena = a;
	s->max = max_response == 0 ? SIZE_MAX : max_response;
	s->cb = cb;
	s->out = out;
	if (arena_str_add(a, &s->text, "", 0) == -1)
		return NULL;
	out->text = s->text.p;
	return s;
}

bool
llm_stream_done(const struct llm_stream *s)
{
	return s->done;
}

/* An "error" member: {"message": ...} as OpenAI sends it, or a string. */
static enum app_err
llm_stream_error(struct llm_stream *s, struct json_object *err)
{
	struct json_object	*m = err;
	const char		*msg = NULL, *why;
	char			*cut;

	if (json_object_is_type(err, json_type_object) &&
	    !json_object_object_get_ex(err, "message", &m))
		m = NULL;
	if (m != NULL && json_object_is_type(m, json_type_string))
		msg = json_object_get_string(m);
	if (msg == NULL || *msg == '\0')
		return llm_stream_fail(s, APP_EUPSTREAM,
		    "the model's server reported an error");
	if ((cut = llm_cut(s->arena, msg)) == NULL ||
	    (why = arena_printf(s->arena,
	    "the model's server reported an error: %s", cut)) == NULL)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	return llm_stream_fail(s, APP_EUPSTREAM, why);
}

/* Counts `n' bytes of answer against max_response. */
static enum app_err
llm_stream_count(struct llm_stream *s, size_t n)
{
	if (n > s->max - s->answer)
		return llm_stream_fail(s, APP_EUPSTREAM, LLM_E_TOOLONG);
	s->answer += n;
	return APP_OK;
}

static enum app_err
llm_stream_text(struct llm_stream *s, const char *t, size_t n)
{
	if (n == 0)
		return APP_OK;
	if (llm_stream_count(s, n) != APP_OK)
		return s->err;
	if (arena_str_add(s->arena, &s->text, t, n) == -1)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	s->out->text = s->text.p;
	s->out->text_len = s->text.len;
	if (s->cb == NULL || s->cb->on_delta == NULL)
		return APP_OK;
	s->delivered = true;
	if (s->cb->on_delta(s->cb->ctx, t, n) != 0)
		return llm_stream_fail(s, APP_EHUP, LLM_E_STOPPED);
	return APP_OK;
}

/* A non-empty string member, or NULL. */
static const char *
llm_json_str(struct json_object *o, const char *key, size_t *len)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return NULL;
	if (len != NULL)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/*
 * One element of tool_calls: a delta (by "index"; id and name come with
 * the first delta of a call, arguments in pieces) or, in a non-streamed
 * message, a whole call (no index: its position).
 */
static enum app_err
llm_stream_tool(struct llm_stream *s, struct json_object *tc, size_t pos)
{
	struct json_object	*v, *fn;
	struct llm_slot		*slot;
	const char		*str;
	int64_t			 idx = (int64_t)pos;
	size_t			 n;

	if (!json_object_is_type(tc, json_type_object))
		return llm_stream_fail(s, APP_EUPSTREAM, LLM_E_MALFORMED);
	if (json_object_object_get_ex(tc, "index", &v) &&
	    json_object_is_type(v, json_type_int))
		idx = json_object_get_int64(v);
	if (idx < 0 || idx >= LLM_MAX_TOOL_CALLS)
		return llm_stream_fail(s, APP_EUPSTREAM, LLM_E_TOOLS);
	slot = &s->slots[idx];
	slot->used = true;
	if (slot->id == NULL && (str = llm_json_str(tc, "id", NULL)) != NULL &&
	    (slot->id = arena_strdup(s->arena, str)) == NULL)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	if (!json_object_object_get_ex(tc, "function", &fn) ||
	    !json_object_is_type(fn, json_type_object))
		return APP_OK;
	if (slot->name == NULL &&
	    (str = llm_json_str(fn, "name", NULL)) != NULL &&
	    (slot->name = arena_strdup(s->arena, str)) == NULL)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	if ((str = llm_json_str(fn, "arguments", &n)) == NULL)
		return APP_OK;
	if (llm_stream_count(s, n) != APP_OK)
		return s->err;
	if (arena_str_add(s->arena, &slot->args, str, n) == -1)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	return APP_OK;
}

static void
llm_stream_usage(struct llm_stream *s, struct json_object *u)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} f[] = {
		{ "prompt_tokens", offsetof(struct llm_usage, prompt_tokens) },
		{ "completion_tokens",
		    offsetof(struct llm_usage, completion_tokens) },
		{ "total_tokens", offsetof(struct llm_usage, total_tokens) },
	};
	struct json_object	*v;
	size_t			 i;

	if (!json_object_is_type(u, json_type_object))
		return;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (json_object_object_get_ex(u, f[i].key, &v) &&
		    json_object_is_type(v, json_type_int))
			*(int64_t *)((char *)&s->out->usage + f[i].off) =
			    json_object_get_int64(v);
}

/*
 * Merges one chunk (key "delta") or a whole completion (key "message"):
 * error, usage, then choices[0]. Members of unexpected types are
 * ignored, as servers differ in what they leave out or set to null.
 */
static enum app_err
llm_stream_merge(struct llm_stream *s, struct json_object *o, const char *key)
{
	struct json_object	*v, *choice, *d, *tcs;
	const char		*str;
	size_t			 i, n;

	if (json_object_object_get_ex(o, "error", &v) &&
	    !json_object_is_type(v, json_type_null))
		return llm_stream_error(s, v);
	if (json_object_object_get_ex(o, "usage", &v))
		llm_stream_usage(s, v);
	if (!json_object_object_get_ex(o, "choices", &v) ||
	    !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) == 0)
		return APP_OK;
	choice = json_object_array_get_idx(v, 0);
	if (!json_object_is_type(choice, json_type_object))
		return llm_stream_fail(s, APP_EUPSTREAM, LLM_E_MALFORMED);
	if ((str = llm_json_str(choice, "finish_reason", NULL)) != NULL &&
	    (s->out->finish_reason = arena_strdup(s->arena, str)) == NULL)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	if (!json_object_object_get_ex(choice, key, &d) ||
	    !json_object_is_type(d, json_type_object))
		return APP_OK;
	if ((str = llm_json_str(d, "content", &n)) != NULL &&
	    llm_stream_text(s, str, n) != APP_OK)
		return s->err;
	if (!json_object_object_get_ex(d, "tool_calls", &tcs) ||
	    !json_object_is_type(tcs, json_type_array))
		return APP_OK;
	n = json_object_array_length(tcs);
	for (i = 0; i < n; i++)
		if (llm_stream_tool(s, json_object_array_get_idx(tcs, i),
		    i) != APP_OK)
			return s->err;
	return APP_OK;
}

/* The end of an event: its data is "[DONE]" or a JSON chunk. */
static enum app_err
llm_stream_event(struct llm_stream *s)
{
	struct json_object	*o = NULL;
	enum app_err		 rc;

	s->has_data = false;
	if (s->data.len == 6 && memcmp(s->data.p, "[DONE]", 6) == 0) {
		s->done = true;
		return APP_OK;
	}
	rc = jsonx_parse(s->data.p, s->data.len, &o, NULL);
	s->data.len = 0;
	if (rc == APP_ENOMEM)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	if (rc != APP_OK || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		/* What the end of the body left unfinished was cut. */
		return llm_stream_fail(s, APP_EUPSTREAM, s->at_end ?
		    LLM_E_CUT : LLM_E_MALFORMED);
	}
	rc = llm_stream_merge(s, o, "delta");
	json_object_put(o);
	return rc;
}

/* One line, without its end (LF, or CR LF). */
static enum app_err
llm_stream_line(struct llm_stream *s, const char *p, size_t len)
{
	const char	*colon, *val;
	size_t		 flen, vlen;

	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (len == 0)
		return s->has_data ? llm_stream_event(s) : APP_OK;
	if (p[0] == ':')
		return APP_OK;		/* a comment (keep-alive) */
	if ((colon = memchr(p, ':', len)) != NULL) {
		flen = (size_t)(colon - p);
		val = colon + 1;
		vlen = len - flen - 1;
		if (vlen > 0 && *val == ' ') {
			val++;
			vlen--;
		}
	} else {
		flen = len;
		val = "";
		vlen = 0;
	}
	if (flen != 4 || memcmp(p, "data", 4) != 0)
		return APP_OK;		/* event:, id:, retry: and others */
	/* Several data lines of one event are joined by a newline. */
	if (s->has_data) {
		if (s->data.len >= s->max)
			return llm_stream_fail(s, APP_EUPSTREAM,
			    LLM_E_TOOLONG);
		if (arena_str_add(s->arena, &s->data, "\n", 1) == -1)
			return llm_stream_fail(s, APP_ENOMEM, NULL);
	}
	if (vlen > s->max - s->data.len)
		return llm_stream_fail(s, APP_EUPSTREAM, LLM_E_TOOLONG);
	if (arena_str_add(s->arena, &s->data, val, vlen) == -1)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	s->has_data = true;
	return APP_OK;
}

enum app_err
llm_stream_feed(struct llm_stream *s, const char *buf, size_t len)
{
	const char	*nl;
	size_t		 n;

	while (s->err == APP_OK && !s->done && len > 0) {
		if ((nl = memchr(buf, '\n', len)) == NULL) {
			if (len > s->max - s->line.len)
				return llm_stream_fail(s, APP_EUPSTREAM,
				    LLM_E_TOOLONG);
			if (arena_str_add(s->arena, &s->line, buf, len) == -1)
				return llm_stream_fail(s, APP_ENOMEM, NULL);
			break;
		}
		n = (size_t)(nl - buf);
		if (n > s->max - s->line.len)
			return llm_stream_fail(s, APP_EUPSTREAM,
			    LLM_E_TOOLONG);
		if (s->line.len == 0)
			(void)llm_stream_line(s, buf, n);
		else if (arena_str_add(s->arena, &s->line, buf, n) == -1)
			return llm_stream_fail(s, APP_ENOMEM, NULL);
		else {
			(void)llm_stream_line(s, s->line.p, s->line.len);
			s->line.len = 0;
		}
		buf += n + 1;
		len -= n + 1;
	}
	return s->err;
}

/* The tool calls in index order, with an id for each. */
static enum app_err
llm_stream_tools(struct llm_stream *s)
{
	struct llm_tool_call	*tc;
	struct llm_slot		*slot;
	size_t			 i, n = 0;

	for (i = 0; i < LLM_MAX_TOOL_CALLS; i++)
		if (s->slots[i].used)
			n++;
	s->out->tool_calls = NULL;
	s->out->ntool_calls = 0;
	if (n == 0)
		return APP_OK;
	if ((tc = arena_calloc(s->arena, n, sizeof(*tc))) == NULL)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	for (i = 0, n = 0; i < LLM_MAX_TOOL_CALLS; i++) {
		slot = &s->slots[i];
		if (!slot->used)
			continue;
		tc[n].id = slot->id;
		if (tc[n].id == NULL &&
		    (tc[n].id = arena_printf(s->arena, "call_%zu", i)) == NULL)
			return llm_stream_fail(s, APP_ENOMEM, NULL);
		tc[n].name = slot->name != NULL ? slot->name : "";
		/* A call without arguments: the empty object, not "". */
		tc[n].arguments = slot->args.len > 0 ? slot->args.p : "{}";
		n++;
	}
	s->out->tool_calls = tc;
	s->out->ntool_calls = n;
	return APP_OK;
}

enum app_err
llm_stream_finish(struct llm_stream *s)
{
	/* A last line without its newline, an event without its blank line. */
	s->at_end = true;
	if (s->err == APP_OK && !s->done && s->line.len > 0) {
		(void)llm_stream_line(s, s->line.p, s->line.len);
		s->line.len = 0;
	}
	if (s->err == APP_OK && !s->done && s->has_data)
		(void)llm_stream_event(s);
	if (s->err != APP_OK)
		return s->err;
	/* Some servers end the body after the finish_reason, without [DONE]. */
	if (!s->done && s->out->finish_reason == NULL)
		return llm_stream_fail(s, APP_EUPSTREAM, LLM_E_CUT);
	return llm_stream_tools(s);
}

/* A whole non-streamed completion, through the same merge. */
static enum app_err
llm_stream_completion(struct llm_stream *s, const char *body, size_t len)
{
	struct json_object	*o = NULL, *v;
	enum app_err		 rc;

	rc = jsonx_parse(body, len, &o, NULL);
	if (rc == APP_ENOMEM)
		return llm_stream_fail(s, APP_ENOMEM, NULL);
	if (rc != APP_OK || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return llm_stream_fail(s, APP_EUPSTREAM, LLM_E_MALFORMED);
	}
	if ((!json_object_object_get_ex(o, "error", &v) ||
	    json_object_is_type(v, json_type_null)) &&
	    (!json_object_object_get_ex(o, "choices", &v) ||
	    !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) == 0)) {
		json_object_put(o);
		return llm_stream_fail(s, APP_EUPSTREAM, LLM_E_MALFORMED);
	}
	rc = llm_stream_merge(s, o, "message");
	json_object_put(o);
	if (rc != APP_OK)
		return rc;
	s->done = true;
	return llm_stream_finish(s);
}

/* ------------------------------------------------------------ client */

static pthread_once_t	 llm_once = PTHREAD_ONCE_INIT;
static enum app_err	 llm_once_rc;
static pthread_key_t	 llm_curl_key;	/* this thread's struct llm_curl */

/*
 * A thread's transfer handles. The multi handle holds the connection
 * cache, so a connection to the API outlives the call that opened it; it
 * also lets the transfer loop wake every LLM_POLL_MS to run tick, where
 * curl_easy_perform() would sleep up to a second between callbacks.
 */
struct llm_curl {
	CURLM	*multi;
	CURL	*easy;
};

static void
llm_curl_free(void *arg)
{
	struct llm_curl	*t = arg;

	if (t == NULL)
		return;
	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	if (t->multi != NULL)
		(void)curl_multi_cleanup(t->multi);
	free(t);
}

static void
llm_once_init(void)
{
	/* For the jitter of the backoff (randombytes_uniform). */
	if (sodium_init() < 0) {
		llm_once_rc = APP_EINTERNAL;
		return;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		llm_once_rc = APP_EINTERNAL;
		return;
	}
	if (pthread_key_create(&llm_curl_key, llm_curl_free) != 0)
		llm_once_rc = APP_ENOMEM;
}

enum app_err
llm_global_init(void)
{
	if (pthread_once(&llm_once, llm_once_init) != 0)
		return APP_EINTERNAL;
	return llm_once_rc;
}

enum app_err
llm_create(const struct llm_options *o, struct llm **out)
{
	struct llm	*l;
	const char	*base = o->base_url != NULL ? o->base_url : "";
	size_t		 blen;
	enum app_err	 rc;

	*out = NULL;
	/* Idempotent; makes the thread key exist whatever the caller did. */
	if ((rc = llm_global_init()) != APP_OK)
		return rc;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return APP_ENOMEM;
	l->provider = o->provider;
	l->timeout_s = o->timeout_s;
	l->connect_timeout_s = o->connect_timeout_s;
	l->max_retries = o->max_retries < 0 ? 0 : o->max_retries;
	l->max_response = o->max_response;
	l->builtin_delay_ms = o->builtin_delay_ms;
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (asprintf(&l->url, "%.*s/chat/completions", (int)blen, base) == -1)
		l->url = NULL;
	l->model = strdup(o->model != NULL ? o->model : "");
	if (o->api_key != NULL && o->api_key[0] != '\0')
		l->api_key = strdup(o->api_key);
	if (l->url == NULL || l->model == NULL ||
	    (o->api_key != NULL && o->api_key[0] != '\0' &&
	    l->api_key == NULL)) {
		llm_free(l);
		return APP_ENOMEM;
	}
	*out = l;
	return APP_OK;
}

void
llm_free(struct llm *l)
{
	struct llm_curl	*t;

	if (l == NULL)
		return;
	/*
	 * The calling thread's handle goes too: thread-key destructors do
	 * not run for the main thread, and a single-threaded program (the
	 * tests, a tool) would otherwise leak it. Another call makes a new
	 * one.
	 */
	if (llm_global_init() == APP_OK &&
	    (t = pthread_getspecific(llm_curl_key)) != NULL) {
		(void)pthread_setspecific(llm_curl_key, NULL);
		llm_curl_free(t);
	}
	if (l->api_key != NULL) {
		sodium_memzero(l->api_key, strlen(l->api_key));
		free(l->api_key);
	}
	free(l->url);
	free(l->model);
	free(l);
}

enum llm_provider
llm_provider(const struct llm *l)
{
	return l->provider;
}

/* ------------------------------------------------------------ request */

static enum app_err
llm_json_tool_calls(struct json_object *m, const struct llm_message *msg)
{
	struct json_object	*arr, *tc, *fn;
	size_t			 i;

	if ((arr = json_object_new_array()) == NULL ||
	    jsonx_add(m, "tool_calls", arr) != APP_OK)
		return APP_ENOMEM;
	for (i = 0; i < msg->ntool_calls; i++) {
		if ((tc = json_object_new_object()) == NULL ||
		    jsonx_append(arr, tc) != APP_OK ||
		    jsonx_add_string(tc, "id", msg->tool_calls[i].id) !=
		    APP_OK ||
		    jsonx_add_string(tc, "type", "function") != APP_OK ||
		    (fn = json_object_new_object()) == NULL ||
		    jsonx_add(tc, "function", fn) != APP_OK ||
		    jsonx_add_string(fn, "name", msg->tool_calls[i].name) !=
		    APP_OK ||
		    jsonx_add_string(fn, "arguments",
		    msg->tool_calls[i].arguments != NULL ?
		    msg->tool_calls[i].arguments : "{}") != APP_OK)
			return APP_ENOMEM;
	}
	return APP_OK;
}

/* Content given as parts (JSON text), added as they are. */
static enum app_err
llm_json_parts(struct json_object *m, const char *parts)
{
	struct json_object	*v = NULL;
	enum app_err		 e;

	if ((e = jsonx_parse(parts, strlen(parts), &v, NULL)) != APP_OK)
		return e == APP_ENOMEM ? e : APP_EINVAL;
	if (!json_object_is_type(v, json_type_array)) {
		json_object_put(v);
		return APP_EINVAL;
	}
	return jsonx_add(m, "content", v);
}

static enum app_err
llm_json_message(struct json_object *arr, const struct llm_message *msg)
{
	struct json_object	*m;
	bool			 calls;

	calls = strcmp(msg->role, "assistant") == 0 && msg->ntool_calls > 0;
	if ((m = json_object_new_object()) == NULL ||
	    jsonx_append(arr, m) != APP_OK ||
	    jsonx_add_string(m, "role", msg->role) != APP_OK)
		return APP_ENOMEM;
	if (strcmp(msg->role, "tool") == 0 &&
	    jsonx_add_string(m, "tool_call_id", msg->tool_call_id != NULL ?
	    msg->tool_call_id : "") != APP_OK)
		return APP_ENOMEM;
	if (msg->parts != NULL)
		return llm_json_parts(m, msg->parts);
	/* Only an assistant's tool-call message may have null content. */
	if (jsonx_add_string(m, "content", msg->content != NULL ?
	    msg->content : calls ? NULL : "") != APP_OK)
		return APP_ENOMEM;
	return calls ? llm_json_tool_calls(m, msg) : APP_OK;
}

/* The request body, as arena text. APP_EINVAL: req->tools is not JSON. */
static enum app_err
llm_body(struct llm *l, struct arena *a, const struct llm_request *req,
    const char **out, size_t *outlen)
{
	struct json_object	*root, *arr, *opts, *tools = NULL;
	const char		*s;
	size_t			 i, len;
	enum app_err		 rc = APP_ENOMEM;

	if ((root = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	if (jsonx_add_string(root, "model", l->model) != APP_OK ||
	    (arr = json_object_new_array()) == NULL ||
	    jsonx_add(root, "messages", arr) != APP_OK)
		goto out;
	for (i = 0; i < req->nmessages; i++)
		if ((rc = llm_json_message(arr, &req->messages[i])) != APP_OK)
			goto out;
	rc = APP_ENOMEM;
	if (jsonx_add_bool(root, "stream", req->stream) != APP_OK)
		goto out;
	if (req->stream && ((opts = json_object_new_object()) == NULL ||
	    jsonx_add(root, "stream_options", opts) != APP_OK ||
	    jsonx_add_bool(opts, "include_usage", true) != APP_OK))
		goto out;
	if (req->tools != NULL) {
		if ((rc = jsonx_parse(req->tools, strlen(req->tools), &tools,
		    NULL)) != APP_OK ||
		    !json_object_is_type(tools, json_type_array)) {
			json_object_put(tools);
			rc = rc == APP_ENOMEM ? rc : APP_EINVAL;
			goto out;
		}
		rc = APP_ENOMEM;
		/* OpenAI refuses "tools": [] (too short): leave it out. */
		if (json_object_array_length(tools) == 0)
			json_object_put(tools);
		else if (jsonx_add(root, "tools", tools) != APP_OK)
			goto out;
	}
	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL || (*out = arena_strndup(a, s, len)) == NULL)
		goto out;
	*outlen = len;
	rc = APP_OK;
out:
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------ transfer */

/* One llm_complete. */
struct llm_call {
	struct llm			*llm;
	struct arena			*arena;
	const struct llm_request	*req;
	const struct llm_callbacks	*cb;
	struct llm_result		*out;
	uint64_t			 deadline;	/* ns; 0: none */
	uint64_t			 last_tick;
};

enum llm_mode {
	LLM_MODE_NONE,		/* no body byte yet */
	LLM_MODE_SSE,		/* a 200 event stream: to the parser */
	LLM_MODE_JSON,		/* a 200 JSON completion: kept whole */
	LLM_MODE_ERROR		/* anything else: kept for its message */
};

/* One HTTP request of a call. */
struct llm_attempt {
	struct llm_call		*call;
	CURL			*h;
	struct llm_stream	*stream;
	enum llm_mode		 mode;
	struct arena_str		 body;		/* JSON or error answer */
	size_t			 received;
	enum app_err		 stop;		/* why a callback stopped it */
	long			 status;
	bool			 retry;
	long			 retry_after_s;	/* -1: not sent */
	char			 errbuf[CURL_ERROR_SIZE];
};

/* True when the deadline is less than `slack' ns away. */
static bool
llm_past_deadline(const struct llm_call *c, uint64_t slack)
{
	return c->deadline != 0 && clock_now_ns() + slack >= c->deadline;
}

static enum app_err
llm_timeout(struct llm_call *c)
{
	const char	*why;

	why = arena_printf(c->arena, "the model did not answer within %d s",
	    c->llm->timeout_s);
	c->out->error = why != NULL ? why : "the model did not answer in time";
	return APP_ETIMEOUT;
}

/* Runs tick (throttled) and the deadline; true to stop the transfer. */
static bool
llm_check(struct llm_attempt *at)
{
	struct llm_call	*c = at->call;
	uint64_t	 now;

	if (at->stop != APP_OK)
		return true;
	now = clock_now_ns();
	if (c->deadline != 0 && now >= c->deadline) {
		at->stop = APP_ETIMEOUT;
		return true;
	}
	if (c->cb != NULL && c->cb->tick != NULL &&
	    now - c->last_tick >= LLM_TICK_NS) {
		c->last_tick = now;
		if (c->cb->tick(c->cb->ctx)) {
			at->stop = APP_EHUP;
			return true;
		}
	}
	return false;
}

static int
llm_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	return llm_check(arg) ? 1 : 0;
}

/* What the first body byte tells: status and Content-Type. */
static void
llm_mode(struct llm_attempt *at)
{
	const struct llm_request	*req = at->call->req;
	char				*ct = NULL;
	long				 status = 0;

	if (curl_easy_getinfo(at->h, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK || status != 200) {
		at->mode = LLM_MODE_ERROR;
		return;
	}
	if (curl_easy_getinfo(at->h, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK)
		ct = NULL;
	/* A server may ignore stream:true and answer one JSON document. */
	if (ct != NULL && strncasecmp(ct, "text/event-stream", 17) == 0)
		at->mode = LLM_MODE_SSE;
	else if (req->stream && (ct == NULL ||
	    strncasecmp(ct, "application/json", 16) != 0))
		at->mode = LLM_MODE_SSE;
	else
		at->mode = LLM_MODE_JSON;
}

static size_t
llm_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct llm_attempt	*at = arg;
	struct llm_call		*c = at->call;
	size_t			 n = size * nmemb, keep;

	if (at->mode == LLM_MODE_NONE)
		llm_mode(at);
	if (at->mode == LLM_MODE_ERROR) {
		keep = LLM_ERRBODY_MAX - at->body.len;
		if (n < keep)
			keep = n;
		if (keep > 0 &&
		    arena_str_add(c->arena, &at->body, p, keep) == -1) {
			at->stop = APP_ENOMEM;
			return 0;
		}
		return n;
	}
	if (llm_check(at))
		return 0;
	if (c->llm->max_response > 0 &&
	    n > c->llm->max_response - at->received) {
		at->stop = llm_stream_fail(at->stream, APP_EUPSTREAM,
		    LLM_E_TOOLONG);
		return 0;
	}
	at->received += n;
	if (at->mode == LLM_MODE_SSE) {
		if ((at->stop = llm_stream_feed(at->stream, p, n)) != APP_OK)
			return 0;
	} else if (arena_str_add(c->arena, &at->body, p, n) == -1) {
		at->stop = APP_ENOMEM;
		return 0;
	}
	return n;
}

int
llm_curl_request(void *h, const char *url, struct curl_slist *headers)
{
	int	 bad = 0;

	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
#endif
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT,
	    PACKAGE_NAME "/" PACKAGE_VERSION) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK;
	return bad ? -1 : 0;
}

struct curl_slist *
llm_curl_headers(const char *key, const char *content_type,
    const char *accept)
{
	struct curl_slist	*list = NULL, *t;
	char			*auth = NULL;
	const char		*hs[] = {
		accept,
		"Expect:",	/* no 100-continue round trip */
		content_type,
	};
	size_t			 i;

	for (i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		if (hs[i] == NULL)
			continue;
		if ((t = curl_slist_append(list, hs[i])) == NULL)
			goto fail;
		list = t;
	}
	if (key == NULL || key[0] == '\0')
		return list;
	if (asprintf(&auth, "Authorization: Bearer %s", key) == -1)
		goto fail;
	t = curl_slist_append(list, auth);
	sodium_memzero(auth, strlen(auth));
	free(auth);
	if (t == NULL)
		goto fail;
	return t;
fail:
	curl_slist_free_all(list);
	return NULL;
}

void
llm_curl_headers_free(struct curl_slist *list)
{
	struct curl_slist	*t;

	for (t = list; t != NULL; t = t->next)
		sodium_memzero(t->data, strlen(t->data));
	curl_slist_free_all(list);
}

/* This thread's handles, the easy one reset; NULL on failure. */
static struct llm_curl *
llm_handle(void)
{
	struct llm_curl	*t;

	if ((t = pthread_getspecific(llm_curl_key)) != NULL) {
		/* Keeps the DNS and TLS session caches. */
		curl_easy_reset(t->easy);
		return t;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->multi = curl_multi_init()) == NULL ||
	    (t->easy = curl_easy_init()) == NULL ||
	    pthread_setspecific(llm_curl_key, t) != 0) {
		llm_curl_free(t);
		return NULL;
	}
	return t;
}

/*
 * curl_easy_perform() on the thread's multi handle, checking tick and
 * the deadline at least every LLM_POLL_MS; or, when the caller gave the
 * client's descriptor, every LLM_POLL_FD_MS and whenever it turns
 * readable. Removing the handle before the end closes its connection,
 * which the server sees as an abort.
 */
static CURLcode
llm_perform(struct llm_attempt *at, struct llm_curl *t)
{
	const struct llm_callbacks	*cb = at->call->cb;
	struct curl_waitfd		 wfd;
	CURLMsg				*msg;
	CURLcode			 cc = CURLE_OK;
	int				 running = 1, left, nfd = 0;

	memset(&wfd, 0, sizeof(wfd));
	wfd.fd = cb != NULL && cb->client_fd != NULL ?
	    cb->client_fd(cb->ctx) : -1;
	wfd.events = CURL_WAIT_POLLIN;
	if (wfd.fd >= 0)
		nfd = 1;
	if (curl_multi_add_handle(t->multi, t->easy) != CURLM_OK)
		return CURLE_FAILED_INIT;
	while (running > 0) {
		if (curl_multi_perform(t->multi, &running) != CURLM_OK) {
			cc = CURLE_FAILED_INIT;
			break;
		}
		if (running == 0)
			break;
		if (llm_check(at)) {
			cc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		wfd.revents = 0;
		if (curl_multi_poll(t->multi, &wfd, (unsigned)nfd,
		    nfd > 0 ? LLM_POLL_FD_MS : LLM_POLL_MS, NULL) != CURLM_OK) {
			cc = CURLE_FAILED_INIT;
			break;
		}
		if (nfd > 0 && wfd.revents != 0) {
			/*
			 * Readable: the client left, most likely. Ask now; if
			 * it is still there the input was something else, and
			 * the descriptor is left out so the wait cannot spin.
			 */
			at->call->last_tick = 0;
			if (llm_check(at)) {
				cc = CURLE_ABORTED_BY_CALLBACK;
				break;
			}
			nfd = 0;
		}
	}
	while (running == 0 &&
	    (msg = curl_multi_info_read(t->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == t->easy)
			cc = msg->data.result;
	(void)curl_multi_remove_handle(t->multi, t->easy);
	return cc;
}

static int
llm_setopts(struct llm_attempt *at, const char *body, size_t len,
    struct curl_slist *headers)
{
	struct llm_call	*c = at->call;
	CURL		*h = at->h;
	long		 total = 0, conn = 0;
	uint64_t	 now;
	int		 bad = 0;

	if (c->deadline != 0) {
		now = clock_now_ns();
		total = now >= c->deadline ? 1 :
		    (long)((c->deadline - now) / 1000000) + 1;
	}
	if (c->llm->connect_timeout_s > 0)
		conn = (long)c->llm->connect_timeout_s * 1000;
	if (total > 0 && (conn == 0 || conn > total))
		conn = total;
	bad |= llm_curl_request(h, c->llm->url, headers) == -1;
	bad |= curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, conn) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, llm_write) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, at) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, llm_xferinfo) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_XFERINFODATA, at) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, at->errbuf) !=
	    CURLE_OK;
	return bad ? -1 : 0;
}

/* The server's error.message of an error answer, cut; NULL if none. */
static const char *
llm_server_message(struct llm_attempt *at)
{
	struct json_object	*o = NULL, *e, *m;
	const char		*msg = NULL, *key = at->call->llm->api_key;

	if (at->body.len == 0 ||
	    jsonx_parse(at->body.p, at->body.len, &o, NULL) != APP_OK)
		return NULL;
	if (json_object_object_get_ex(o, "error", &e) &&
	    json_object_object_get_ex(e, "message", &m) &&
	    json_object_is_type(m, json_type_string) &&
	    json_object_get_string_len(m) > 0)
		msg = llm_cut(at->call->arena, json_object_get_string(m));
	json_object_put(o);
	/* Never echo the key back, whatever the server put in its message. */
	if (msg != NULL && key != NULL && strstr(msg, key) != NULL)
		msg = NULL;
	return msg;
}

/* An HTTP status other than 200. */
static enum app_err
llm_status_error(struct llm_attempt *at)
{
	struct arena	*a = at->call->arena;
	const char	*msg = NULL, *why;
	long		 st = at->status;

	at->retry = st == 429 || st == 500 || st == 502 || st == 503 ||
	    st == 504;
	if (st == 401 || st == 403)
		why = arena_printf(a, "the model's server refused the API key "
		    "(%ld)", st);
	else if (st >= 400 && st < 500 && st != 429 &&
	    (msg = llm_server_message(at)) != NULL)
		why = arena_printf(a, "the model's server answered %ld: %s",
		    st, msg);
	else
		why = arena_printf(a, "the model's server answered %ld", st);
	at->call->out->error = why != NULL ? why : LLM_E_NOMEM;
	return why != NULL ? APP_EUPSTREAM : APP_ENOMEM;
}

/* A failure that another attempt may not meet. */
static bool
llm_curl_retryable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:	/* connecting: see llm_outcome */
		return true;
	default:
		return false;
	}
}

/* What an attempt came to, and whether another may follow. */
static enum app_err
llm_outcome(struct llm_attempt *at, CURLcode cc)
{
	struct llm_call		*c = at->call;
	struct llm_result	*out = c->out;

	if (at->stop == APP_ETIMEOUT)
		return llm_timeout(c);
	if (at->stop == APP_EHUP) {
		out->error = LLM_E_STOPPED;
		return APP_EHUP;
	}
	if (at->stop == APP_ENOMEM) {
		out->error = LLM_E_NOMEM;
		return APP_ENOMEM;
	}
	if (at->stop != APP_OK)
		return at->stop;	/* the parser's, error already set */
	/*
	 * curl's total timeout is the deadline, give or take its clock; with
	 * no answer yet and time left, it was the connect timeout.
	 */
	if (cc == CURLE_OPERATION_TIMEDOUT && (at->status != 0 ||
	    llm_past_deadline(c, LLM_SLACK_NS)))
		return llm_timeout(c);
	if (at->status != 0 && at->status != 200)
		return llm_status_error(at);
	if (at->status == 0) {
		/* No answer at all; a connect timeout is a way of that. */
		at->retry = llm_curl_retryable(cc);
		out->error = cc == CURLE_OK ? LLM_E_MALFORMED : LLM_E_REACH;
		return APP_EUPSTREAM;
	}
	if (at->mode == LLM_MODE_NONE)		/* a 200 without a body */
		at->mode = c->req->stream ? LLM_MODE_SSE : LLM_MODE_JSON;
	if (at->mode == LLM_MODE_SSE) {
		if (cc == CURLE_OK || llm_stream_done(at->stream))
			return llm_stream_finish(at->stream);
		at->retry = llm_curl_retryable(cc);
		return llm_stream_fail(at->stream, APP_EUPSTREAM, LLM_E_CUT);
	}
	if (cc != CURLE_OK) {
		at->retry = llm_curl_retryable(cc);
		return llm_stream_fail(at->stream, APP_EUPSTREAM, LLM_E_CUT);
	}
	return llm_stream_completion(at->stream,
	    at->body.p != NULL ? at->body.p : "", at->body.len);
}

/* One HTTP request. */
static enum app_err
llm_attempt(struct llm_call *c, struct llm_attempt *at, const char *body,
    size_t len, struct curl_slist *headers)
{
	const struct llm_callbacks	*scb;
	struct llm_curl			*t;
	curl_off_t			 ra = -1;
	CURLcode			 cc;
	int				 attempts = c->out->attempts;

	memset(at, 0, sizeof(*at));
	at->call = c;
	at->retry_after_s = -1;
	/* Each attempt starts from an empty result. */
	scb = c->req->stream ? c->cb : NULL;
	if ((at->stream = llm_stream_new(c->arena, c->llm->max_response, scb,
	    c->out)) == NULL) {
		c->out->attempts = attempts;
		c->out->error = LLM_E_NOMEM;
		return APP_ENOMEM;
	}
	c->out->attempts = attempts + 1;
	if ((t = llm_handle()) != NULL)
		at->h = t->easy;
	if (t == NULL || llm_setopts(at, body, len, headers) == -1) {
		c->out->error = "the HTTP client could not be set up";
		return APP_EINTERNAL;
	}
	cc = llm_perform(at, t);
	if (curl_easy_getinfo(at->h, CURLINFO_RESPONSE_CODE, &at->status) !=
	    CURLE_OK)
		at->status = 0;
#if LIBCURL_VERSION_NUM >= 0x074200
	/* Seconds or an HTTP date, both given as seconds from now. */
	if (curl_easy_getinfo(at->h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra > 0)
		at->retry_after_s = ra > 86400 ? 86400 : (long)ra;
#endif
	/* curl's words on a failure of ours would mislead the log. */
	if (at->stop != APP_OK)
		at->errbuf[0] = '\0';
	else if (cc != CURLE_OK && at->errbuf[0] == '\0')
		(void)snprintf(at->errbuf, sizeof(at->errbuf), "%s",
		    curl_easy_strerror(cc));
	return llm_outcome(at, cc);
}

/* Sleeps `ms', calling tick every LLM_POLL_MS; APP_EHUP if asked. */
static enum app_err
llm_sleep(struct llm_call *c, uint64_t ms)
{
	struct timespec	 ts;
	uint64_t	 end, now, slice;

	end = clock_now_ns() + ms * 1000000ull;
	while ((now = clock_now_ns()) < end) {
		slice = end - now;
		if (slice > LLM_POLL_MS * 1000000ull)
			slice = LLM_POLL_MS * 1000000ull;
		ts.tv_sec = (time_t)(slice / 1000000000ull);
		ts.tv_nsec = (long)(slice % 1000000000ull);
		if (nanosleep(&ts, NULL) == -1 && errno != EINTR)
			return APP_EINTERNAL;
		if (c->cb != NULL && c->cb->tick != NULL &&
		    c->cb->tick(c->cb->ctx)) {
			c->out->error = LLM_E_STOPPED;
			return APP_EHUP;
		}
	}
	return APP_OK;
}

/* Full jitter on an exponential base, or the server's Retry-After. */
static uint64_t
llm_backoff_ms(const struct llm_attempt *at, int n)
{
	uint32_t	 base = LLM_BACKOFF_MS;

	if (at->retry_after_s >= 0)
		return (uint64_t)at->retry_after_s * 1000;
	while (n-- > 0 && base < LLM_BACKOFF_MAX_MS)
		base *= 2;
	if (base > LLM_BACKOFF_MAX_MS)
		base = LLM_BACKOFF_MAX_MS;
	return randombytes_uniform(base + 1);
}

static enum app_err
llm_remote(struct llm_call *c)
{
	struct llm_attempt	 at;
	struct curl_slist	*headers;
	const char		*body;
	size_t			 len;
	uint64_t		 wait;
	enum app_err		 rc;
	int			 n;

	if ((rc = llm_body(c->llm, c->arena, c->req, &body, &len)) != APP_OK) {
		c->out->error = rc == APP_EINVAL ?
		    "the tool definitions are not a JSON array" : LLM_E_NOMEM;
		return rc;
	}
	if ((headers = llm_curl_headers(c->llm->api_key,
	    "Content-Type: application/json", c->req->stream ?
	    "Accept: text/event-stream" : "Accept: application/json")) ==
	    NULL) {
		c->out->error = LLM_E_NOMEM;
		return APP_ENOMEM;
	}
	for (n = 0;; n++) {
		rc = llm_attempt(c, &at, body, len, headers);
		if (rc == APP_OK || rc == APP_EHUP)
			break;
		log_warnx("llm: attempt %d failed: %s%s%s%s", n + 1,
		    c->out->error, at.errbuf[0] != '\0' ? " (" : "",
		    at.errbuf, at.errbuf[0] != '\0' ? ")" : "");
		if (!at.retry || n >= c->llm->max_retries ||
		    (at.stream != NULL && at.stream->delivered))
			break;
		wait = llm_backoff_ms(&at, n);
		/* No point waiting for an attempt the deadline would cut. */
		if (c->deadline != 0 &&
		    clock_now_ns() + wait * 1000000ull >= c->deadline)
			break;
		if ((rc = llm_sleep(c, wait)) != APP_OK)
			break;
	}
	llm_curl_headers_free(headers);
	return rc;
}

enum app_err
llm_complete(struct llm *l, struct arena *a, const struct llm_request *req,
    const struct llm_callbacks *cb, struct llm_result *out)
{
	static char	 empty[1];
	struct llm_call	 c;
	enum app_err	 rc;

	memset(out, 0, sizeof(*out));
	out->text = empty;
	if (l->provider == LLM_BUILTIN) {
		rc = builtin_complete(a, req, cb, l->builtin_delay_ms, out);
		out->attempts = 0;
	} else {
		memset(&c, 0, sizeof(c));
		c.llm = l;
		c.arena = a;
		c.req = req;
		c.cb = cb;
		c.out = out;
		c.last_tick = clock_now_ns();
		if (l->timeout_s > 0)
			c.deadline = c.last_tick +
			    (uint64_t)l->timeout_s * 1000000000ull;
		rc = llm_remote(&c);
	}
	if (out->text == NULL) {
		out->text = empty;
		out->text_len = 0;
	}
	if (rc == APP_OK)
		out->error = NULL;
	else if (out->error == NULL)
		out->error = app_strerror(rc);
	return rc;
}
