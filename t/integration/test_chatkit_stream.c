/*
 * test_chatkit_stream.c: the streaming ChatKit requests (POST /api/chatkit)
 * through nginx, as /work/shared/CHATKIT.md (§1.3, §1.5, §4, §5) and the
 * ChatKit design describe them: the exact order of the events of a turn,
 * the wire format of every frame, what is stored, retries, widgets and
 * their actions, client tools, a client that hangs up, failures before
 * and after the 200.
 *
 * The stack starts with the builtin model; tests that need a remote one
 * restart quipu against t/fakellm (llm_provider = openai), whose answers
 * are known to the byte. The stream is read with a client of our own
 * that keeps the raw bytes, so that the framing itself is checked: data
 * lines and comments only, one compact JSON object per frame, no null
 * protocol fields.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "harness.h"

static struct harness	 H;

#define CK_PATH		"/api/chatkit"
#define CK_PATH_V1	"/api/v1/chatkit"
#define KEY		"sk-fake-key-0123456789"
#define CK_MAXF		1024
#define CK_ID_LEN	20		/* "thr_" or "msg_" and 16 more */
/* What the browser's get_local_time answers, as sent (compact). */
#define LOCAL_TIME	"{\"timezone\":\"Europe/Paris\"," \
			"\"now\":\"2026-05-20T12:00:00+02:00\"}"
#define CANCEL_NOTE	"The user cancelled the stream"

/* Streams of the builtin model pause between words. */
#define CONF_BUILTIN	"llm_builtin_delay = 10\n" \
			"sse_heartbeat = 1\n" \
			"messages_per_day = 0\n" \
			"client_tools = get_local_time\n"
#define CONF_QUOTA	"llm_builtin_delay = 0\n" \
			"messages_per_day = 2\n" \
			"client_tools = get_local_time\n"

enum ck_mode {
	MODE_NONE,		/* unknown: a restart failed */
	MODE_BUILTIN,
	MODE_FAKE,
	MODE_QUOTA
};

static enum ck_mode	 mode = MODE_BUILTIN;
/* The fake's config, written once it listens. */
static char		 conf_fake[1024];

static int
prepare(struct harness *h)
{
	return harness_fake_conf(h, KEY,
	    "llm_timeout = 4\n"
	    "llm_retries = 1\n"
	    "messages_per_day = 0\n"
	    "sse_heartbeat = 1\n"
	    "client_tools = get_local_time\n", conf_fake, sizeof(conf_fake));
}

/* Restarts quipu with the config of `m' unless it runs with it. */
static int
use(enum ck_mode m)
{
	const char	*conf;

	if (mode == m)
		return 0;
	switch (m) {
	case MODE_FAKE:
		conf = conf_fake;
		break;
	case MODE_QUOTA:
		conf = CONF_QUOTA;
		break;
	default:
		conf = CONF_BUILTIN;
		break;
	}
	if (harness_restart_quipu(&H, conf) == -1) {
		mode = MODE_NONE;
		return -1;
	}
	mode = m;
	return 0;
}

static int
use_builtin(void **state)
{
	(void)state;
	return use(MODE_BUILTIN);
}

static int
use_fake(void **state)
{
	(void)state;
	return use(MODE_FAKE);
}

static int
use_quota(void **state)
{
	(void)state;
	return use(MODE_QUOTA);
}

/* ------------------------------------------------------------- helpers */

/* Whether object `o' has member `key' (null counts). */
static bool
jhas(struct json_object *o, const char *key)
{
	return o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, key, NULL);
}

/* The object at `path' must be {} exactly. */
static void
want_empty_object(struct json_object *o, const char *path)
{
	struct json_object	*v = harness_jpath(o, path);

	assert_non_null(v);
	assert_true(json_object_is_type(v, json_type_object));
	assert_int_equal(json_object_object_length(v), 0);
}

/* `o' at `path' must equal the JSON text `want'. */
static void
want_json(struct json_object *o, const char *path, const char *want)
{
	struct json_object	*w = json_tokener_parse(want);
	struct json_object	*v = harness_jpath(o, path);

	assert_non_null(w);
	if (!json_object_equal(v, w))
		fail_msg("%s: got %s, wanted %s", path, v != NULL ?
		    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) :
		    "(none)", want);
	json_object_put(w);
}

/* ChatKit ids: a prefix and 16 letters or digits. */
static void
want_id(const char *id, const char *prefix)
{
	size_t	 i;

	assert_non_null(id);
	assert_int_equal(strncmp(id, prefix, strlen(prefix)), 0);
	assert_int_equal(strlen(id), CK_ID_LEN);
	for (i = strlen(prefix); id[i] != '\0'; i++)
		assert_true((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9'));
}

/* UTC with microseconds and Z: 2026-05-20T10:00:00.000001Z. */
static void
want_time(const char *t)
{
	static const char	 shape[] = "0000-00-00T00:00:00.000000Z";
	size_t			 i;

	assert_non_null(t);
	assert_int_equal(strlen(t), sizeof(shape) - 1);
	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == '0')
			assert_true(t[i] >= '0' && t[i] <= '9');
		else
			assert_int_equal(t[i], shape[i]);
	}
}

/*
 * A Thread object: thr_ id, time, status active, metadata {} and an
 * empty items page; with the given id unless NULL.
 */
static void
want_thread(struct json_object *t, const char *id)
{
	assert_non_null(t);
	want_id(harness_json_str(t, "id"), "thr_");
	if (id != NULL)
		assert_string_equal(harness_json_str(t, "id"), id);
	want_time(harness_json_str(t, "created_at"));
	want_json(t, "status", "{\"type\":\"active\"}");
	want_empty_object(t, "metadata");
	want_json(t, "items", "{\"data\":[],\"has_more\":false}");
}

/* ------------------------------------------------------------- bodies */

/* A UserMessageInput as ChatKit.js sends it. */
static struct json_object *
input_obj(const char *text)
{
	struct json_object	*in, *content, *part;

	in = json_object_new_object();
	content = json_object_new_array();
	part = json_object_new_object();
	json_object_object_add(part, "type",
	    json_object_new_string("input_text"));
	json_object_object_add(part, "text", json_object_new_string(text));
	json_object_array_add(content, part);
	json_object_object_add(in, "content", content);
	json_object_object_add(in, "attachments", json_object_new_array());
	json_object_object_add(in, "quoted_text", json_object_new_string(""));
	json_object_object_add(in, "inference_options",
	    json_object_new_object());
	return in;
}

/* {"type":type,"params":params}; takes `params'; the caller frees. */
static char *
req_body(const char *type, struct json_object *params)
{
	struct json_object	*o = json_object_new_object();
	char			*s;

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "params", params);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	assert_non_null(s);
	json_object_put(o);
	return s;
}

/* threads.create, or threads.add_user_message when `thread' is set. */
static char *
msg_body(const char *thread, const char *text)
{
	struct json_object	*p = json_object_new_object();

	if (thread != NULL)
		json_object_object_add(p, "thread_id",
		    json_object_new_string(thread));
	json_object_object_add(p, "input", input_obj(text));
	return req_body(thread != NULL ? "threads.add_user_message" :
	    "threads.create", p);
}

/* A custom action on `item' (streamed or sync). */
static const char *
action_body(const char *type, const char *thread, const char *item,
    const char *action, long long task)
{
	return harness_fmt("{\"type\":\"%s\",\"params\":{\"thread_id\":\"%s\","
	    "\"item_id\":\"%s\",\"action\":{\"type\":\"%s\",\"payload\":"
	    "{\"id\":%lld}}}}", type, thread, item, action, task);
}

/* ------------------------------------------------------------- SSE */

struct ck_frame {
	char			*data;	/* the JSON after "data: " */
	struct json_object	*o;
};

struct ck_stream {
	long		 status;
	char		 ctype[128];
	int		 curl_err;
	char		*buf;		/* every byte of the body */
	size_t		 len;
	size_t		 cap;
	size_t		 off;		/* frames end before this */
	struct ck_frame	 f[CK_MAXF];
	size_t		 n;
	size_t		 ncomments;
	size_t		 ndeltas;
	size_t		 stop_deltas;	/* hang up after so many */
	bool		 stopped;
	char		 bad[512];	/* the first format breach */
};

static void
ck_bad(struct ck_stream *s, const char *what, const char *line)
{
	if (s->bad[0] == '\0')
		snprintf(s->bad, sizeof(s->bad), "%s: %.300s", what, line);
}

/* Whitespace outside strings: the JSON is not compact. */
static bool
ck_compact(const char *p)
{
	bool	 in_str = false;

	for (; *p != '\0'; p++) {
		if (in_str) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				in_str = false;
		} else if (*p == '"')
			in_str = true;
		else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			return false;
	}
	return true;
}

/*
 * The first protocol field whose value is null, or NULL. Free-form JSON
 * (tool arguments and output, action payloads, tag data) may hold nulls.
 */
static const char *
ck_null(struct json_object *o)
{
	const char	*k;
	size_t		 i;

	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++) {
			struct json_object *v = json_object_array_get_idx(o, i);

			if (v == NULL)
				return "(array element)";
			if ((k = ck_null(v)) != NULL)
				return k;
		}
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object))
		return NULL;
	json_object_object_foreach(o, key, val) {
		if (strcmp(key, "arguments") == 0 ||
		    strcmp(key, "output") == 0 ||
		    strcmp(key, "payload") == 0 ||
		    strcmp(key, "result") == 0 ||
		    (strcmp(key, "data") == 0 &&
		    !json_object_is_type(val, json_type_array)))
			continue;
		if (val == NULL)
			return key;
		if ((k = ck_null(val)) != NULL)
			return k;
	}
	return NULL;
}

/* One "\n\n"-terminated frame: comments, and at most one data line. */
static void
ck_frame(struct ck_stream *s, char *frame)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	struct ck_frame		*f;
	char			*line, *next, *data = NULL;
	const char		*k;

	for (line = frame; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == ':')
			s->ncomments++;
		else if (strncmp(line, "data: ", 6) == 0 && data == NULL)
			data = line + 6;
		else if (strncmp(line, "data:", 5) == 0)
			ck_bad(s, "a second data line in a frame", line);
		else
			ck_bad(s, "a line that is neither data nor comment",
			    line);
	}
	if (data == NULL)
		return;
	if (s->n == CK_MAXF) {
		ck_bad(s, "too many frames", data);
		return;
	}
	if (!ck_compact(data))
		ck_bad(s, "JSON not compact", data);
	if ((tok = json_tokener_new()) == NULL)
		return;
	o = json_tokener_parse_ex(tok, data, (int)strlen(data));
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != strlen(data) ||
	    !json_object_is_type(o, json_type_object) ||
	    harness_json_str(o, "type") == NULL) {
		ck_bad(s, "not one JSON object with a type", data);
		json_object_put(o);
		json_tokener_free(tok);
		return;
	}
	json_tokener_free(tok);
	if ((k = ck_null(o)) != NULL)
		ck_bad(s, harness_fmt("null field \"%s\"", k), data);
	f = &s->f[s->n++];
	f->data = strdup(data);
	f->o = o;
	if (harness_json_str(o, "update.type") != NULL &&
	    strcmp(harness_json_str(o, "update.type"),
	    "assistant_message.content_part.text_delta") == 0)
		s->ndeltas++;
}

static size_t
ck_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct ck_stream	*s = arg;
	size_t			 n = sz * nm;
	char			*end, *nb;

	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		if ((nb = realloc(s->buf, s->cap)) == NULL)
			return 0;
		s->buf = nb;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	if (s->status == 0)
		return n;	/* set from the head: see ck_head */
	if (s->status != 200)
		return n;	/* a JSON error: kept whole */
	while ((end = strstr(s->buf + s->off, "\n\n")) != NULL) {
		char	*frame;
		size_t	 flen = (size_t)(end - (s->buf + s->off));

		if ((frame = strndup(s->buf + s->off, flen)) == NULL)
			return 0;
		ck_frame(s, frame);
		free(frame);
		s->off += flen + 2;
	}
	if (s->stop_deltas > 0 && s->ndeltas >= s->stop_deltas) {
		s->stopped = true;
		return 0;	/* hang up on purpose */
	}
	return n;
}

/* The status line: what to do with the body. */
static size_t
ck_head(char *p, size_t sz, size_t nm, void *arg)
{
	struct ck_stream	*s = arg;
	size_t			 n = sz * nm;
	long			 st;

	if (n > 9 && strncmp(p, "HTTP/", 5) == 0 &&
	    sscanf(p, "HTTP/%*s %ld", &st) == 1)
		s->status = st;
	return n;
}

/*
 * POSTs `body' to `path' as `a' and reads the answer; no assertions, so
 * that it may run in a thread. Returns 0 when the answer ended, or when
 * the client hung up after stop_deltas deltas on purpose.
 */
static int
ck_stream_raw(const struct harness_auth *a, const char *path,
    const char *body, size_t stop_deltas, struct ck_stream *s)
{
	struct curl_slist	*hl = NULL, *t;
	const char		*ct = NULL;
	char			 url[512];
	CURL			*c;

	memset(s, 0, sizeof(*s));
	s->stop_deltas = stop_deltas;
	if ((c = curl_easy_init()) == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s%s", H.base, path);
	if ((t = curl_slist_append(hl, "Content-Type: application/json")) ==
	    NULL || (hl = t, t = curl_slist_append(hl,
	    "Accept: text/event-stream")) == NULL ||
	    (hl = t, t = curl_slist_append(hl, a->auth_header)) == NULL) {
		curl_slist_free_all(hl);
		curl_easy_cleanup(c);
		return -1;
	}
	hl = t;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ck_head);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ck_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	s->curl_err = (int)curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL)
		snprintf(s->ctype, sizeof(s->ctype), "%s", ct);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	if (s->status == 200 && !s->stopped && s->off < s->len)
		ck_bad(s, "bytes after the last frame", s->buf + s->off);
	if (s->curl_err == CURLE_OK ||
	    (s->curl_err == CURLE_WRITE_ERROR && s->stopped))
		return 0;
	return -1;
}

static void
ck_stream_free(struct ck_stream *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++) {
		free(s->f[i].data);
		json_object_put(s->f[i].o);
	}
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static void
ck_dump(const struct ck_stream *s)
{
	size_t	 i;

	fprintf(stderr, "stream: status %ld, %zu frames\n", s->status, s->n);
	for (i = 0; i < s->n; i++)
		fprintf(stderr, "  [%zu] %.400s\n", i, s->f[i].data);
}

/* A streamed request that must answer 200 text/event-stream, well formed. */
static void
ck_stream(const struct harness_auth *a, const char *path, const char *body,
    size_t stop_deltas, struct ck_stream *s)
{
	int	 rc = ck_stream_raw(a, path, body, stop_deltas, s);

	if (rc != 0 || s->status != 200 || s->bad[0] != '\0') {
		fprintf(stderr, "request: %s\n", body);
		ck_dump(s);
		if (s->status != 200 && s->buf != NULL)
			fprintf(stderr, "body: %.600s\n", s->buf);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(s->status, 200);
	assert_int_equal(strncmp(s->ctype, "text/event-stream", 17), 0);
	assert_string_equal(s->bad, "");
}

static const char *
ck_type(const struct ck_stream *s, size_t i)
{
	return i < s->n ? harness_json_str(s->f[i].o, "type") : NULL;
}

/* Frame i is of `type' (and update type `utype' unless NULL). */
static bool
ck_is(const struct ck_stream *s, size_t i, const char *type,
    const char *utype)
{
	const char	*t = ck_type(s, i), *u;

	if (t == NULL || strcmp(t, type) != 0)
		return false;
	if (utype == NULL)
		return true;
	u = harness_json_str(s->f[i].o, "update.type");
	return u != NULL && strcmp(u, utype) == 0;
}

static void
ck_want(const struct ck_stream *s, size_t i, const char *type,
    const char *utype)
{
	if (ck_is(s, i, type, utype))
		return;
	ck_dump(s);
	fail_msg("frame %zu: wanted %s%s%s", i, type, utype != NULL ? " " : "",
	    utype != NULL ? utype : "");
}

/* The first frame at or after `from' of `type' (item type `itype'), or -1. */
static int
ck_find(const struct ck_stream *s, size_t from, const char *type,
    const char *itype)
{
	const char	*t;
	size_t		 i;

	for (i = from; i < s->n; i++) {
		if (!ck_is(s, i, type, NULL))
			continue;
		t = harness_json_str(s->f[i].o, "item.type");
		if (itype == NULL || (t != NULL && strcmp(t, itype) == 0))
			return (int)i;
	}
	return -1;
}

/* The number of frames of `type'. */
static size_t
ck_count(const struct ck_stream *s, const char *type)
{
	size_t	 i, n = 0;

	for (i = 0; i < s->n; i++)
		if (ck_is(s, i, type, NULL))
			n++;
	return n;
}

/* The k-th text delta of item `id', or NULL. */
static const char *
ck_delta(const struct ck_stream *s, const char *id, size_t k)
{
	size_t	 i;

	for (i = 0; i < s->n; i++) {
		if (!ck_is(s, i, "thread.item.updated",
		    "assistant_message.content_part.text_delta") ||
		    strcmp(harness_json_str(s->f[i].o, "item_id"), id) != 0)
			continue;
		if (k-- == 0)
			return harness_json_str(s->f[i].o, "update.delta");
	}
	return NULL;
}

/* All the text deltas of the stream, joined. */
static void
ck_all_deltas(const struct ck_stream *s, char *out, size_t sz)
{
	const char	*d;
	size_t		 i;

	out[0] = '\0';
	for (i = 0; i < s->n; i++) {
		if (!ck_is(s, i, "thread.item.updated",
		    "assistant_message.content_part.text_delta"))
			continue;
		assert_non_null(d = harness_json_str(s->f[i].o,
		    "update.delta"));
		strncat(out, d, sz - strlen(out) - 1);
	}
}

/*
 * Every item added in the stream is done in it too, or removed (an
 * answer without text is taken back): none is left pending.
 */
static void
ck_all_done(const struct ck_stream *s)
{
	const char	*id, *did;
	size_t		 i, j;
	bool		 done;

	for (i = 0; i < s->n; i++) {
		if (!ck_is(s, i, "thread.item.added", NULL))
			continue;
		id = harness_json_str(s->f[i].o, "item.id");
		done = false;
		for (j = i + 1; j < s->n && !done; j++) {
			if (ck_is(s, j, "thread.item.done", NULL))
				did = harness_json_str(s->f[j].o, "item.id");
			else if (ck_is(s, j, "thread.item.removed", NULL))
				did = harness_json_str(s->f[j].o, "item_id");
			else
				continue;
			done = did != NULL && strcmp(did, id) == 0;
		}
		if (!done) {
			ck_dump(s);
			fail_msg("item %s added, never done", id);
		}
	}
}

/*
 * One assistant message's events from frame *ip: added (content []),
 * content_part.added, text deltas, content_part.done, done. Its id and
 * text are copied out; *ip moves past them.
 */
static void
ck_answer(const struct ck_stream *s, size_t *ip, const char *thread,
    char *id, size_t idsz, char *text, size_t tsz)
{
	struct json_object	*it, *u;
	size_t			 i = *ip, nd = 0;
	const char		*d;

	ck_want(s, i, "thread.item.added", NULL);
	it = harness_jpath(s->f[i].o, "item");
	assert_string_equal(harness_json_str(it, "type"), "assistant_message");
	assert_string_equal(harness_json_str(it, "thread_id"), thread);
	want_id(harness_json_str(it, "id"), "msg_");
	want_time(harness_json_str(it, "created_at"));
	assert_int_equal(harness_json_len(it, "content"), 0);
	snprintf(id, idsz, "%s", harness_json_str(it, "id"));
	i++;

	ck_want(s, i, "thread.item.updated",
	    "assistant_message.content_part.added");
	assert_string_equal(harness_json_str(s->f[i].o, "item_id"), id);
	u = harness_jpath(s->f[i].o, "update");
	want_json(u, "content_index", "0");
	want_json(u, "content", "{\"type\":\"output_text\",\"text\":\"\","
	    "\"annotations\":[]}");
	i++;

	text[0] = '\0';
	while (ck_is(s, i, "thread.item.updated",
	    "assistant_message.content_part.text_delta")) {
		assert_string_equal(harness_json_str(s->f[i].o, "item_id"), id);
		want_json(s->f[i].o, "update.content_index", "0");
		assert_non_null(d = harness_json_str(s->f[i].o,
		    "update.delta"));
		strncat(text, d, tsz - strlen(text) - 1);
		nd++;
		i++;
	}
	if (nd == 0)
		ck_dump(s);
	assert_true(nd > 0);
	assert_true(text[0] != '\0');

	ck_want(s, i, "thread.item.updated",
	    "assistant_message.content_part.done");
	assert_string_equal(harness_json_str(s->f[i].o, "item_id"), id);
	u = harness_jpath(s->f[i].o, "update");
	want_json(u, "content_index", "0");
	assert_string_equal(harness_json_str(u, "content.type"), "output_text");
	assert_string_equal(harness_json_str(u, "content.text"), text);
	assert_int_equal(harness_json_len(u, "content.annotations"), 0);
	i++;

	ck_want(s, i, "thread.item.done", NULL);
	it = harness_jpath(s->f[i].o, "item");
	assert_string_equal(harness_json_str(it, "type"), "assistant_message");
	assert_string_equal(harness_json_str(it, "id"), id);
	assert_string_equal(harness_json_str(it, "thread_id"), thread);
	want_time(harness_json_str(it, "created_at"));
	assert_int_equal(harness_json_len(it, "content"), 1);
	assert_string_equal(harness_json_str(it, "content.0.type"),
	    "output_text");
	assert_string_equal(harness_json_str(it, "content.0.text"), text);
	assert_int_equal(harness_json_len(it, "content.0.annotations"), 0);
	i++;
	*ip = i;
}

/*
 * The user's message, echoed at frame i after the store: as sent, with
 * its server id and time.
 */
static void
ck_user_echo(const struct ck_stream *s, size_t i, const char *thread,
    const char *text, char *id, size_t idsz)
{
	struct json_object	*it, *want;

	ck_want(s, i, "thread.item.done", NULL);
	it = harness_jpath(s->f[i].o, "item");
	assert_string_equal(harness_json_str(it, "type"), "user_message");
	assert_string_equal(harness_json_str(it, "thread_id"), thread);
	want_id(harness_json_str(it, "id"), "msg_");
	want_time(harness_json_str(it, "created_at"));
	want = input_obj(text);
	want_json(it, "content", json_object_to_json_string_ext(
	    harness_jpath(want, "content"), JSON_C_TO_STRING_PLAIN));
	json_object_put(want);
	assert_int_equal(harness_json_len(it, "attachments"), 0);
	/* Sent as "": kept, not dropped as if it were null. */
	assert_non_null(harness_json_str(it, "quoted_text"));
	assert_string_equal(harness_json_str(it, "quoted_text"), "");
	want_empty_object(it, "inference_options");
	snprintf(id, idsz, "%s", harness_json_str(it, "id"));
}

static void
ck_stream_options(const struct ck_stream *s, size_t i)
{
	ck_want(s, i, "stream_options", NULL);
	want_json(s->f[i].o, "stream_options", "{\"allow_cancel\":true}");
}

/* ------------------------------------------------------------- JSON ops */

/* A plain JSON request to the endpoint. */
static void
ck_json(const struct harness_auth *a, const char *body,
    struct harness_resp *r)
{
	assert_int_equal(harness_json(&H, "POST", CK_PATH, a, body, r), 0);
}

struct ck_list {
	char			*raw;
	struct json_object	*o;
	struct json_object	*data;
	size_t			 n;
};

/* items.list of `thread' (up to 100, `order'); well formed. */
static void
items_list(const struct harness_auth *a, const char *thread,
    const char *order, struct ck_list *l)
{
	struct harness_resp	 r;
	const char		*k;

	ck_json(a, harness_fmt("{\"type\":\"items.list\",\"params\":"
	    "{\"thread_id\":\"%s\",\"limit\":100,\"order\":\"%s\"}}", thread,
	    order), &r);
	harness_want(&H, &r, 200);
	assert_non_null(strstr(harness_resp_header(&r, "Content-Type"),
	    "application/json"));
	assert_non_null(l->raw = strdup(r.body));
	harness_resp_free(&r);
	assert_non_null(l->o = json_tokener_parse(l->raw));
	if ((k = ck_null(l->o)) != NULL)
		fail_msg("items.list: null field \"%s\" in %.600s", k, l->raw);
	assert_non_null(l->data = harness_jpath(l->o, "data"));
	l->n = harness_json_len(l->o, "data");
	assert_int_equal(json_object_get_boolean(harness_jpath(l->o,
	    "has_more")), 0);
}

static void
items_free(struct ck_list *l)
{
	json_object_put(l->o);
	free(l->raw);
	memset(l, 0, sizeof(*l));
}

static struct json_object *
items_at(const struct ck_list *l, size_t i)
{
	assert_true(i < l->n);
	return json_object_array_get_idx(l->data, i);
}

/* A turn that must go well: its stream kept in `s'. */
static void
turn(const struct harness_auth *a, const char *thread, const char *text,
    struct ck_stream *s)
{
	char	*body = msg_body(thread, text);

	ck_stream(a, CK_PATH, body, 0, s);
	free(body);
}

/*
 * A new thread with one finished turn (the title set after it); its id
 * into `thread'.
 */
static void
new_thread(const struct harness_auth *a, const char *text, char *thread,
    size_t sz)
{
	struct ck_stream	 s;

	turn(a, NULL, text, &s);
	ck_want(&s, 0, "thread.created", NULL);
	snprintf(thread, sz, "%s", harness_json_str(s.f[0].o, "thread.id"));
	assert_true(ck_is(&s, s.n - 1, "thread.updated", NULL));
	ck_stream_free(&s);
}

/* The thread has no turn running (polls up to 5 s). */
static void
wait_idle(const char *thread)
{
	int	 i;

	for (i = 0; i < 100; i++) {
		if (harness_sql_long(&H, "SELECT count(*) FROM threads WHERE "
		    "id = $1 AND turn_started_at IS NULL", thread) == 1 &&
		    harness_sql_long(&H, "SELECT count(*) FROM items WHERE "
		    "thread_id = $1 AND status = 'in_progress'", thread) == 0)
			return;
		harness_sleep_ms(50);
	}
	fail_msg("thread %s still busy", thread);
}

/*
 * threads.add_client_tool_output with the browser's LOCAL_TIME for
 * `thread': a stream, in `s', that opens with stream_options.
 */
static void
tool_output(const struct harness_auth *a, const char *thread,
    struct ck_stream *s)
{
	char	*body;

	body = strdup(harness_fmt("{\"type\":"
	    "\"threads.add_client_tool_output\",\"params\":{\"thread_id\":"
	    "\"%s\",\"result\":" LOCAL_TIME "}}", thread));
	assert_non_null(body);
	ck_stream(a, CK_PATH, body, 0, s);
	free(body);
	ck_stream_options(s, 0);
}

/* The index of the first model message whose JSON holds `needle', or -1. */
static int
model_msg(struct json_object *msgs, size_t from, const char *role,
    const char *needle)
{
	struct json_object	*m;
	const char		*r;
	size_t			 i;

	for (i = from; i < json_object_array_length(msgs); i++) {
		m = json_object_array_get_idx(msgs, i);
		r = harness_json_str(m, "role");
		if (role != NULL && (r == NULL || strcmp(r, role) != 0))
			continue;
		if (strstr(json_object_to_json_string_ext(m,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
		    needle) != NULL)
			return (int)i;
	}
	return -1;
}

/* ------------------------------------------------------------- widgets */

/* Whether widget tree `o' holds an action {type, payload {id}}. */
static bool
has_action(struct json_object *o, const char *type, long long id)
{
	struct json_object	*v;
	const char		*t;
	size_t			 i;

	if (o == NULL)
		return false;
	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			if (has_action(json_object_array_get_idx(o, i), type,
			    id))
				return true;
		return false;
	}
	if (!json_object_is_type(o, json_type_object))
		return false;
	t = harness_json_str(o, "type");
	v = harness_jpath(o, "payload.id");
	if (t != NULL && strcmp(t, type) == 0 && v != NULL &&
	    json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) == id)
		return true;
	json_object_object_foreach(o, key, val) {
		(void)key;
		if (has_action(val, type, id))
			return true;
	}
	return false;
}

/* Whether a string in tree `o' contains `text'. */
static bool
has_text(struct json_object *o, const char *text)
{
	size_t	 i;

	if (o == NULL)
		return false;
	if (json_object_is_type(o, json_type_string))
		return strstr(json_object_get_string(o), text) != NULL;
	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			if (has_text(json_object_array_get_idx(o, i), text))
				return true;
		return false;
	}
	if (!json_object_is_type(o, json_type_object))
		return false;
	json_object_object_foreach(o, key, val) {
		(void)key;
		if (has_text(val, text))
			return true;
	}
	return false;
}

/* Task `id' of `a' via the REST API: 1 completed, 0 not, -1 gone. */
static int
task_completed(const struct harness_auth *a, long long id)
{
	struct harness_resp	 r;
	struct json_object	*v;
	int			 c;

	assert_int_equal(harness_json(&H, "GET",
	    harness_fmt("/api/v1/tasks/%lld", id), a, NULL, &r), 0);
	if (r.status == 404) {
		harness_resp_free(&r);
		return -1;
	}
	harness_want(&H, &r, 200);
	v = harness_jpath(harness_resp_json(&r), "completed");
	assert_non_null(v);
	c = json_object_get_boolean(v) ? 1 : 0;
	harness_resp_free(&r);
	return c;
}

/* The one task of `a' titled `title'. */
static long long
task_id(const struct harness_auth *a, const char *title)
{
	const char	*p[2] = { a->user_id, title };
	char		 out[32];

	assert_int_equal(harness_sql(&H, "SELECT id FROM tasks WHERE user_id "
	    "= $1::uuid AND title = $2", p, 2, out, sizeof(out)), 1);
	return atoll(out);
}

/*
 * A custom action on widget `item': stream_options, then the widget's
 * new root, which is returned (a copy; the caller puts it).
 */
static struct json_object *
widget_action(const struct harness_auth *a, const char *thread,
    const char *item, const char *action, long long task)
{
	struct ck_stream	 s;
	struct json_object	*w;

	ck_stream(a, CK_PATH, action_body("threads.custom_action", thread,
	    item, action, task), 0, &s);
	if (s.n != 2)
		ck_dump(&s);
	assert_int_equal(s.n, 2);
	ck_stream_options(&s, 0);
	ck_want(&s, 1, "thread.item.updated", "widget.root.updated");
	assert_string_equal(harness_json_str(s.f[1].o, "item_id"), item);
	assert_non_null(w = harness_jpath(s.f[1].o, "update.widget"));
	assert_string_equal(harness_json_str(w, "type"), "ListView");
	w = json_object_get(w);
	ck_stream_free(&s);
	return w;
}

/* The stored widget item `item' of `thread' (a copy; the caller puts it). */
static struct json_object *
stored_widget(const struct harness_auth *a, const char *thread,
    const char *item)
{
	struct ck_list		 l;
	struct json_object	*it, *w = NULL;
	size_t			 i;

	items_list(a, thread, "asc", &l);
	for (i = 0; i < l.n; i++) {
		it = items_at(&l, i);
		if (strcmp(harness_json_str(it, "id"), item) == 0) {
			assert_string_equal(harness_json_str(it, "type"),
			    "widget");
			w = json_object_get(harness_jpath(it, "widget"));
		}
	}
	items_free(&l);
	assert_non_null(w);
	return w;
}

/* ------------------------------------------------------------- tests */

/*
 * The first turn of a thread, checked frame by frame: its thread id,
 * user message id and answer's text come out.
 */
static void
check_create(const struct ck_stream *s, const char *sent, char *thread,
    char *answer, size_t asz)
{
	struct json_object	*t;
	char			 uid[32], aid[32];
	size_t			 i;

	ck_want(s, 0, "thread.created", NULL);
	t = harness_jpath(s->f[0].o, "thread");
	/* Threads start untitled: no title key at all. */
	assert_false(jhas(t, "title"));
	want_thread(t, NULL);
	snprintf(thread, 32, "%s", harness_json_str(t, "id"));

	ck_user_echo(s, 1, thread, sent, uid, sizeof(uid));
	ck_stream_options(s, 2);
	i = 3;
	ck_answer(s, &i, thread, aid, sizeof(aid), answer, asz);
	assert_string_not_equal(aid, uid);

	ck_want(s, i, "thread.updated", NULL);
	t = harness_jpath(s->f[i].o, "thread");
	want_thread(t, thread);
	assert_non_null(harness_json_str(t, "title"));
	assert_true(strlen(harness_json_str(t, "title")) > 0);
	if (i + 1 != s->n)
		ck_dump(s);
	assert_int_equal(s->n, i + 1);
	ck_all_done(s);
}

/* What a first turn stored: the two messages, and the thread's title. */
static void
check_stored_turn(const struct harness_auth *a, const struct ck_stream *s,
    const char *thread, const char *answer)
{
	struct harness_resp	 r;
	struct ck_list		 l;

	items_list(a, thread, "asc", &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(harness_json_str(items_at(&l, 0), "id"),
	    harness_json_str(s->f[1].o, "item.id"));
	assert_string_equal(harness_json_str(items_at(&l, 0), "type"),
	    "user_message");
	assert_string_equal(harness_json_str(items_at(&l, 1), "type"),
	    "assistant_message");
	assert_string_equal(harness_json_str(items_at(&l, 1), "content.0.text"),
	    answer);
	assert_true(strcmp(harness_json_str(items_at(&l, 0), "created_at"),
	    harness_json_str(items_at(&l, 1), "created_at")) < 0);
	items_free(&l);

	ck_json(a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", thread), &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "title"),
	    harness_json_str(s->f[s->n - 1].o, "thread.title"));
	harness_resp_free(&r);
}

/* threads.create with the builtin model: the events in their order. */
static void
test_create_order(void **state)
{
	struct harness_auth	 a;
	struct ck_stream	 s;
	char			 thread[32], answer[4096], *body;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	body = msg_body(NULL, "hello there");
	ck_stream(&a, CK_PATH, body, 0, &s);
	free(body);
	check_create(&s, "hello there", thread, answer, sizeof(answer));
	/* The builtin answers word by word: several deltas. */
	assert_non_null(ck_delta(&s, harness_json_str(s.f[3].o, "item.id"), 2));
	check_stored_turn(&a, &s, thread, answer);
	ck_stream_free(&s);
}

/* The same with a remote model: the deltas are the fake's tokens. */
static void
test_create_order_fake(void **state)
{
	static const char *const tokens[] = { "Hello ", "from ", "fake. ",
	    "You ", "said: ", "hi ", "there" };
	struct harness_auth	 a;
	struct ck_stream	 s;
	char			 thread[32], answer[4096], *body;
	const char		*id;
	size_t			 k;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	body = msg_body(NULL, "hi there");
	ck_stream(&a, CK_PATH, body, 0, &s);
	free(body);
	check_create(&s, "hi there", thread, answer, sizeof(answer));
	assert_string_equal(answer, "Hello from fake. You said: hi there");
	id = harness_json_str(s.f[3].o, "item.id");
	for (k = 0; k < sizeof(tokens) / sizeof(tokens[0]); k++) {
		assert_non_null(ck_delta(&s, id, k));
		assert_string_equal(ck_delta(&s, id, k), tokens[k]);
	}
	assert_null(ck_delta(&s, id, k));
	check_stored_turn(&a, &s, thread, answer);
	ck_stream_free(&s);
}

/*
 * add_user_message: no thread.created, no thread.updated once titled;
 * every item a new id; created_at strictly increasing over the thread.
 */
static void
test_add_user_message(void **state)
{
	static const char *const msgs[] = { "add a task buy bread",
	    "what's on my list", "hello again" };
	struct harness_auth	 a;
	struct ck_stream	 s;
	struct ck_list		 l, d;
	char			 thread[32], uid[32], aid[32], answer[4096];
	char			 ids[32][32], *body;
	const char		*prev, *cur;
	size_t			 nids = 0, i, j, m;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	new_thread(&a, "hello", thread, sizeof(thread));
	items_list(&a, thread, "asc", &l);
	for (i = 0; i < l.n; i++)
		snprintf(ids[nids++], 32, "%s",
		    harness_json_str(items_at(&l, i), "id"));
	items_free(&l);

	for (m = 0; m < sizeof(msgs) / sizeof(msgs[0]); m++) {
		body = msg_body(thread, msgs[m]);
		/* Both paths of the endpoint speak the protocol. */
		ck_stream(&a, m % 2 == 0 ? CK_PATH_V1 : CK_PATH, body, 0, &s);
		free(body);
		assert_int_equal(ck_count(&s, "thread.created"), 0);
		assert_int_equal(ck_count(&s, "thread.updated"), 0);
		ck_user_echo(&s, 0, thread, msgs[m], uid, sizeof(uid));
		ck_stream_options(&s, 1);
		i = 2;
		ck_answer(&s, &i, thread, aid, sizeof(aid), answer,
		    sizeof(answer));
		snprintf(ids[nids++], 32, "%s", uid);
		snprintf(ids[nids++], 32, "%s", aid);
		/* Then only the widgets of the turn's tools. */
		for (; i < s.n; i++) {
			ck_want(&s, i, "thread.item.done", NULL);
			assert_string_equal(harness_json_str(s.f[i].o,
			    "item.type"), "widget");
			assert_true(nids < 32);
			snprintf(ids[nids++], 32, "%s",
			    harness_json_str(s.f[i].o, "item.id"));
		}
		ck_all_done(&s);
		ck_stream_free(&s);
	}
	for (i = 0; i < nids; i++)
		for (j = i + 1; j < nids; j++)
			assert_string_not_equal(ids[i], ids[j]);

	/* Stored as streamed, in order, each later than the one before. */
	items_list(&a, thread, "asc", &l);
	assert_int_equal(l.n, nids);
	prev = NULL;
	for (i = 0; i < l.n; i++) {
		assert_string_equal(harness_json_str(items_at(&l, i), "id"),
		    ids[i]);
		assert_string_equal(harness_json_str(items_at(&l, i),
		    "thread_id"), thread);
		cur = harness_json_str(items_at(&l, i), "created_at");
		want_time(cur);
		if (prev != NULL && strcmp(prev, cur) >= 0)
			fail_msg("item %zu: created_at %s not after %s", i,
			    cur, prev);
		prev = cur;
	}
	/* Newest first by default, the same items. */
	items_list(&a, thread, "desc", &d);
	assert_int_equal(d.n, l.n);
	for (i = 0; i < l.n; i++)
		assert_string_equal(harness_json_str(items_at(&d, i), "id"),
		    harness_json_str(items_at(&l, l.n - 1 - i), "id"));
	items_free(&d);
	items_free(&l);
}

/*
 * retry_after_item on the first user message of two turns: the answer
 * again, the later items gone; refusals change nothing.
 */
static void
test_retry_after_item(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct ck_stream	 s;
	struct ck_list		 l;
	char			 thread[32], u1[32], a1[32], aid[32];
	char			 answer[4096], *before;
	size_t			 i;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	new_thread(&a, "hello", thread, sizeof(thread));
	turn(&a, thread, "tell me more", &s);
	ck_stream_free(&s);
	items_list(&a, thread, "asc", &l);
	assert_int_equal(l.n, 4);
	snprintf(u1, sizeof(u1), "%s", harness_json_str(items_at(&l, 0), "id"));
	snprintf(a1, sizeof(a1), "%s", harness_json_str(items_at(&l, 1), "id"));
	assert_string_equal(harness_json_str(items_at(&l, 0), "type"),
	    "user_message");
	assert_string_equal(harness_json_str(items_at(&l, 1), "type"),
	    "assistant_message");
	assert_non_null(before = strdup(l.raw));
	items_free(&l);

	/* Not a user message: 422 naming item_id, nothing changed. */
	ck_json(&a, harness_fmt("{\"type\":\"threads.retry_after_item\","
	    "\"params\":{\"thread_id\":\"%s\",\"item_id\":\"%s\"}}", thread,
	    a1), &r);
	harness_want_error(&H, &r, 422, "validation_failed");
	assert_non_null(harness_resp_str(&r, "error.details.item_id"));
	harness_resp_free(&r);
	/* No such item: 404. */
	ck_json(&a, harness_fmt("{\"type\":\"threads.retry_after_item\","
	    "\"params\":{\"thread_id\":\"%s\","
	    "\"item_id\":\"msg_aaaaaaaaaaaaaaaa\"}}", thread), &r);
	harness_want_error(&H, &r, 404, "not_found");
	harness_resp_free(&r);
	items_list(&a, thread, "asc", &l);
	assert_string_equal(l.raw, before);
	items_free(&l);
	free(before);

	/* The retry: stream_options and the answer, no echo of the user. */
	ck_stream(&a, CK_PATH, harness_fmt("{\"type\":"
	    "\"threads.retry_after_item\",\"params\":{\"thread_id\":\"%s\","
	    "\"item_id\":\"%s\"}}", thread, u1), 0, &s);
	ck_stream_options(&s, 0);
	i = 1;
	ck_answer(&s, &i, thread, aid, sizeof(aid), answer, sizeof(answer));
	assert_int_equal(s.n, i);
	assert_int_equal(ck_find(&s, 0, "thread.item.done", "user_message"),
	    -1);
	assert_int_equal(ck_count(&s, "thread.created"), 0);
	assert_int_equal(ck_count(&s, "thread.updated"), 0);
	assert_string_not_equal(aid, a1);
	ck_stream_free(&s);

	/* The first message and the new answer; the rest gone. */
	items_list(&a, thread, "asc", &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(harness_json_str(items_at(&l, 0), "id"), u1);
	assert_string_equal(harness_json_str(items_at(&l, 1), "id"), aid);
	assert_string_equal(harness_json_str(items_at(&l, 1), "content.0.text"),
	    answer);
	items_free(&l);
}

/*
 * A tool turn ends with a task list widget; its buttons act on the task
 * as the user, refresh the stored widget, and refuse others' tasks.
 */
static void
test_widget_actions(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct ck_stream	 s;
	struct ck_list		 l;
	struct json_object	*w, *it;
	char			 thread[32], wid[32], uid[32], aid[32];
	char			 answer[4096], before[2048], after[2048];
	long long		 task, other;
	const char		*p[1];
	size_t			 i;
	int			 e;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	harness_new_user(&H, "ckstream", &b);
	turn(&a, NULL, "add a task buy milk", &s);
	ck_want(&s, 0, "thread.created", NULL);
	snprintf(thread, sizeof(thread), "%s", harness_json_str(s.f[0].o,
	    "thread.id"));
	ck_user_echo(&s, 1, thread, "add a task buy milk", uid, sizeof(uid));
	ck_stream_options(&s, 2);
	i = 3;
	ck_answer(&s, &i, thread, aid, sizeof(aid), answer, sizeof(answer));
	task = task_id(&a, "buy milk");
	/* Right after the answer: the widget, a ListView with the task. */
	ck_want(&s, i, "thread.item.done", NULL);
	it = harness_jpath(s.f[i].o, "item");
	assert_string_equal(harness_json_str(it, "type"), "widget");
	assert_string_equal(harness_json_str(it, "thread_id"), thread);
	want_id(harness_json_str(it, "id"), "msg_");
	snprintf(wid, sizeof(wid), "%s", harness_json_str(it, "id"));
	w = harness_jpath(it, "widget");
	assert_string_equal(harness_json_str(w, "type"), "ListView");
	assert_true(has_text(w, "buy milk"));
	assert_true(has_action(w, "task.complete", task));
	assert_true(has_action(w, "task.delete", task));
	assert_false(has_action(w, "task.reopen", task));
	ck_want(&s, i + 1, "thread.updated", NULL);
	assert_int_equal(s.n, i + 2);
	ck_stream_free(&s);

	/* Stored after the answer. */
	items_list(&a, thread, "asc", &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(harness_json_str(items_at(&l, 1), "id"), aid);
	assert_string_equal(harness_json_str(items_at(&l, 2), "id"), wid);
	assert_string_equal(harness_json_str(items_at(&l, 2), "type"),
	    "widget");
	assert_string_equal(harness_json_str(items_at(&l, 2), "widget.type"),
	    "ListView");
	items_free(&l);
	assert_int_equal(task_completed(&a, task), 0);

	/* Complete: the task, the pushed and the stored widget. */
	w = widget_action(&a, thread, wid, "task.complete", task);
	assert_true(has_action(w, "task.reopen", task));
	assert_false(has_action(w, "task.complete", task));
	json_object_put(w);
	assert_int_equal(task_completed(&a, task), 1);
	w = stored_widget(&a, thread, wid);
	assert_true(has_action(w, "task.reopen", task));
	json_object_put(w);
	/* The model is told, out of sight. */
	assert_true(harness_sql_long(&H, "SELECT count(*) FROM items WHERE "
	    "thread_id = $1 AND role = 'hidden'", thread) >= 1);
	items_list(&a, thread, "asc", &l);
	assert_int_equal(l.n, 3);
	items_free(&l);

	/* Reopen. */
	w = widget_action(&a, thread, wid, "task.reopen", task);
	assert_true(has_action(w, "task.complete", task));
	assert_false(has_action(w, "task.reopen", task));
	json_object_put(w);
	assert_int_equal(task_completed(&a, task), 0);

	/* The same without a stream: the updated item in the answer. */
	ck_json(&a, action_body("threads.sync_custom_action", thread, wid,
	    "task.complete", task), &r);
	harness_want(&H, &r, 200);
	it = harness_jpath(harness_resp_json(&r), "updated_item");
	assert_non_null(it);
	assert_string_equal(harness_json_str(it, "id"), wid);
	assert_string_equal(harness_json_str(it, "type"), "widget");
	assert_string_equal(harness_json_str(it, "thread_id"), thread);
	assert_true(has_action(harness_jpath(it, "widget"), "task.reopen",
	    task));
	harness_resp_free(&r);
	assert_int_equal(task_completed(&a, task), 1);

	/* Another user's task: an error frame, that task untouched. */
	harness_req(&H, "POST", "/api/v1/tasks", "{\"title\":\"not yours\"}",
	    b.auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 201);
	other = harness_json_int(harness_resp_json(&r), "id");
	harness_resp_free(&r);
	p[0] = harness_fmt("%lld", other);
	assert_int_equal(harness_sql(&H, "SELECT row_to_json(t)::text FROM "
	    "tasks t WHERE id = $1::bigint", p, 1, before, sizeof(before)), 1);
	ck_stream(&a, CK_PATH, action_body("threads.custom_action", thread,
	    wid, "task.complete", other), 0, &s);
	e = ck_find(&s, 0, "error", NULL);
	if (e == -1)
		ck_dump(&s);
	assert_true(e >= 0);
	assert_int_equal((size_t)e, s.n - 1);
	ck_stream_free(&s);
	assert_int_equal(harness_sql(&H, "SELECT row_to_json(t)::text FROM "
	    "tasks t WHERE id = $1::bigint", p, 1, after, sizeof(after)), 1);
	assert_string_equal(before, after);
	assert_int_equal(task_completed(&b, other), 0);

	/* Not a widget: one frame, the error, before stream_options. */
	ck_stream(&a, CK_PATH, action_body("threads.custom_action", thread,
	    uid, "task.complete", task), 0, &s);
	if (s.n != 1)
		ck_dump(&s);
	assert_int_equal(s.n, 1);
	want_json(s.f[0].o, "", "{\"type\":\"error\",\"code\":"
	    "\"stream.error\",\"allow_retry\":false}");
	ck_stream_free(&s);
	assert_int_equal(task_completed(&a, task), 1);

	/* Delete: the task is gone, and so is its row. */
	w = widget_action(&a, thread, wid, "task.delete", task);
	assert_false(has_action(w, "task.complete", task));
	assert_false(has_action(w, "task.reopen", task));
	json_object_put(w);
	assert_int_equal(task_completed(&a, task), -1);
}

/*
 * The model input after a tool's output: the call, then at once its
 * output (OpenAI refuses anything between them); the index of the
 * output.
 */
static int
model_tool_output(const char *call_id)
{
	struct json_object	*last, *msgs, *m, *out;
	int			 k;

	last = harness_fake_json(&H, "/_fake/last");
	msgs = harness_jpath(last, "body.messages");
	assert_non_null(msgs);
	k = model_msg(msgs, 0, "assistant", "get_local_time");
	assert_true(k >= 0);
	assert_string_equal(harness_json_str(
	    json_object_array_get_idx(msgs, (size_t)k), "tool_calls.0.id"),
	    call_id);
	m = json_object_array_get_idx(msgs, (size_t)k + 1);
	if (m == NULL || harness_json_str(m, "role") == NULL ||
	    strcmp(harness_json_str(m, "role"), "tool") != 0)
		fail_msg("no tool message after the call: %s",
		    json_object_to_json_string(msgs));
	assert_string_equal(harness_json_str(m, "tool_call_id"), call_id);
	/* The browser's result, as JSON text the model reads. */
	assert_non_null(harness_json_str(m, "content"));
	assert_non_null(out = json_tokener_parse(harness_json_str(m,
	    "content")));
	want_json(out, "", LOCAL_TIME);
	json_object_put(out);
	json_object_put(last);
	return k + 1;
}

/*
 * The JSON the fake read back after "Tool results: ID=" in an answer
 * must be the browser's result.
 */
static void
want_tool_results(const char *answer, const char *call_id)
{
	struct json_object	*o;
	const char		*p;
	char			 buf[1024];

	assert_int_equal(strncmp(answer, "Tool results: ", 14), 0);
	assert_non_null(p = strstr(answer, harness_fmt("%s=", call_id)));
	p += strlen(call_id) + 1;
	snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(p, " "), p);
	assert_non_null(o = json_tokener_parse(buf));
	want_json(o, "", LOCAL_TIME);
	json_object_put(o);
}

/*
 * A client tool: the turn ends with the pending call; the browser's
 * output completes it and reaches the model.
 */
static void
test_client_tool(void **state)
{
	struct harness_auth	 a;
	struct ck_stream	 s;
	struct ck_list		 l;
	struct json_object	*it;
	char			 thread[32], uid[32], aid[32], call[32];
	char			 call_id[128], answer[4096];
	size_t			 i;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	new_thread(&a, "hello", thread, sizeof(thread));
	turn(&a, thread, "what time is it fake:call get_local_time {}", &s);
	ck_user_echo(&s, 0, thread, "what time is it fake:call "
	    "get_local_time {}", uid, sizeof(uid));
	ck_stream_options(&s, 1);
	/* The model said nothing: no answer shown, only the call. */
	assert_int_equal(ck_find(&s, 0, "thread.item.done",
	    "assistant_message"), -1);
	ck_all_done(&s);
	i = s.n - 1;
	ck_want(&s, i, "thread.item.done", NULL);
	it = harness_jpath(s.f[i].o, "item");
	assert_string_equal(harness_json_str(it, "type"), "client_tool_call");
	assert_string_equal(harness_json_str(it, "thread_id"), thread);
	want_id(harness_json_str(it, "id"), "msg_");
	want_time(harness_json_str(it, "created_at"));
	assert_string_equal(harness_json_str(it, "status"), "pending");
	assert_string_equal(harness_json_str(it, "name"), "get_local_time");
	assert_non_null(harness_json_str(it, "call_id"));
	assert_true(strlen(harness_json_str(it, "call_id")) > 0);
	want_json(it, "arguments", "{}");
	assert_false(jhas(it, "output"));
	snprintf(call, sizeof(call), "%s", harness_json_str(it, "id"));
	snprintf(call_id, sizeof(call_id), "%s", harness_json_str(it,
	    "call_id"));
	ck_stream_free(&s);

	/* The browser's answer. */
	tool_output(&a, thread, &s);
	i = 1;
	ck_answer(&s, &i, thread, aid, sizeof(aid), answer, sizeof(answer));
	assert_int_equal(s.n, i);
	assert_int_equal(ck_find(&s, 0, "thread.item.done", "user_message"),
	    -1);
	ck_stream_free(&s);
	/* The fake read the tool's output back to us. */
	want_tool_results(answer, call_id);

	/* What the model was sent: the call, then its output. */
	(void)model_tool_output(call_id);

	/* Stored: the call completed, its output byte for byte. */
	items_list(&a, thread, "asc", &l);
	assert_int_equal(l.n, 5);
	assert_string_equal(harness_json_str(items_at(&l, 2), "id"), uid);
	it = items_at(&l, 3);
	assert_string_equal(harness_json_str(it, "id"), call);
	assert_string_equal(harness_json_str(it, "type"), "client_tool_call");
	assert_string_equal(harness_json_str(it, "status"), "completed");
	assert_string_equal(harness_json_str(it, "call_id"), call_id);
	assert_string_equal(harness_json_str(it, "name"), "get_local_time");
	want_json(it, "output", LOCAL_TIME);
	assert_non_null(strstr(l.raw, "\"output\":" LOCAL_TIME));
	assert_string_equal(harness_json_str(items_at(&l, 4), "id"), aid);
	items_free(&l);
}

/* The pending call is found behind a later item (look-back). */
static void
test_client_tool_lookback(void **state)
{
	struct harness_auth	 a;
	struct ck_stream	 s;
	struct ck_list		 l;
	struct json_object	*it;
	char			 thread[32], call[32], call_id[128];
	const char		*p[1];
	size_t			 i;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	new_thread(&a, "hello", thread, sizeof(thread));
	turn(&a, thread, "fake:call get_local_time {}", &s);
	i = s.n - 1;
	ck_want(&s, i, "thread.item.done", NULL);
	assert_string_equal(harness_json_str(s.f[i].o, "item.type"),
	    "client_tool_call");
	snprintf(call, sizeof(call), "%s", harness_json_str(s.f[i].o,
	    "item.id"));
	snprintf(call_id, sizeof(call_id), "%s", harness_json_str(s.f[i].o,
	    "item.call_id"));
	ck_stream_free(&s);
	/* Context for the model lands after the call. */
	p[0] = thread;
	assert_int_equal(harness_sql(&H, "WITH t AS (UPDATE threads SET "
	    "item_seq = item_seq + 1 WHERE id = $1 RETURNING id, user_id, "
	    "item_seq) INSERT INTO items (id, user_id, thread_id, seq, role, "
	    "content) SELECT 'msg_hiddenhidden0001', user_id, id, item_seq, "
	    "'hidden', 'The user looked at the clock.' FROM t", p, 1, NULL,
	    0), 1);

	tool_output(&a, thread, &s);
	assert_int_equal(s.curl_err, CURLE_OK);
	assert_int_equal(ck_count(&s, "error"), 0);
	ck_all_done(&s);
	ck_stream_free(&s);
	/*
	 * Found: completed, and given to the model. (What the fake answers
	 * next is not ours to judge: the note after the output makes its
	 * last message no tool message, so it calls the tool again.)
	 */
	(void)model_tool_output(call_id);
	items_list(&a, thread, "asc", &l);
	assert_true(l.n >= 4);
	it = items_at(&l, 3);
	assert_string_equal(harness_json_str(it, "id"), call);
	assert_string_equal(harness_json_str(it, "status"), "completed");
	want_json(it, "output", LOCAL_TIME);
	items_free(&l);
}

/* An output with nothing pending still gets an answer, stored nowhere. */
static void
test_client_tool_none(void **state)
{
	struct harness_auth	 a;
	struct ck_stream	 s;
	struct ck_list		 l;
	char			 thread[32], aid[32], answer[4096];
	size_t			 i;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	new_thread(&a, "hello", thread, sizeof(thread));
	tool_output(&a, thread, &s);
	i = 1;
	ck_answer(&s, &i, thread, aid, sizeof(aid), answer, sizeof(answer));
	assert_int_equal(s.n, i);
	ck_stream_free(&s);
	/* The model saw no tool output: it answers the last user message. */
	assert_string_equal(answer, "Hello from fake. You said: hello");
	items_list(&a, thread, "asc", &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(harness_json_str(items_at(&l, 2), "id"), aid);
	assert_string_equal(harness_json_str(items_at(&l, 2), "type"),
	    "assistant_message");
	assert_null(strstr(l.raw, "\"output\""));
	assert_null(strstr(l.raw, "Europe/Paris"));
	items_free(&l);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE thread_id = $1 AND (output IS NOT NULL OR content LIKE "
	    "'%Europe/Paris%')", thread), 0);
}

/*
 * A client that hangs up: the answer kept as far as it got, a hidden
 * note after it, and both in the next turn's model input.
 */
static void
test_cancel(void **state)
{
	struct harness_auth	 a;
	struct ck_stream	 s;
	struct ck_list		 l;
	struct json_object	*last, *msgs;
	char			 thread[32], got[4096], full[4096], *body;
	const char		*text, *type;
	size_t			 i;
	int			 k, n;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	new_thread(&a, "hello", thread, sizeof(thread));
	body = msg_body(thread, "fake:tokens=200 fake:slow=50 count");
	ck_stream(&a, CK_PATH, body, 5, &s);
	free(body);
	assert_true(s.stopped);
	ck_all_deltas(&s, got, sizeof(got));
	assert_int_equal(strncmp(got, "tok1 tok2 tok3 tok4 tok5 ", 25), 0);
	ck_stream_free(&s);
	full[0] = '\0';
	for (n = 1; n <= 200; n++)
		strncat(full, harness_fmt("tok%d ", n),
		    sizeof(full) - strlen(full) - 1);

	wait_idle(thread);
	items_list(&a, thread, "asc", &l);
	assert_int_equal(l.n, 4);
	for (i = 0; i < l.n; i++) {
		type = harness_json_str(items_at(&l, i), "type");
		assert_true(strcmp(type, "user_message") == 0 ||
		    strcmp(type, "assistant_message") == 0);
	}
	assert_string_equal(harness_json_str(items_at(&l, 3), "type"),
	    "assistant_message");
	text = harness_json_str(items_at(&l, 3), "content.0.text");
	assert_non_null(text);
	/* What streamed, maybe a little more; never the whole answer. */
	assert_int_equal(strncmp(text, got, strlen(got)), 0);
	assert_int_equal(strncmp(full, text, strlen(text)), 0);
	assert_true(strlen(text) < strlen(full));
	items_free(&l);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items h "
	    "WHERE h.thread_id = $1 AND h.role = 'hidden' AND h.content LIKE "
	    "'" CANCEL_NOTE "%' AND h.seq > (SELECT max(seq) FROM items "
	    "WHERE thread_id = h.thread_id AND role = 'assistant')", thread),
	    1);

	/* The next turn: the partial answer, then the note, to the model. */
	turn(&a, thread, "are you there", &s);
	ck_stream_free(&s);
	last = harness_fake_json(&H, "/_fake/last");
	msgs = harness_jpath(last, "body.messages");
	assert_non_null(msgs);
	k = model_msg(msgs, 0, "assistant", got);
	assert_true(k >= 0);
	assert_true(model_msg(msgs, (size_t)k + 1, NULL, CANCEL_NOTE) > k);
	assert_true(model_msg(msgs, 0, "user", "are you there") >
	    model_msg(msgs, 0, NULL, CANCEL_NOTE));
	json_object_put(last);
}

/* The last frame is exactly {"type":"error","code":"stream.error",...}. */
static void
want_stream_error(const struct ck_stream *s, bool retry)
{
	int	 o;

	if (s->n == 0 || !ck_is(s, s->n - 1, "error", NULL))
		ck_dump(s);
	assert_true(s->n > 0);
	want_json(s->f[s->n - 1].o, "", retry ?
	    "{\"type\":\"error\",\"code\":\"stream.error\","
	    "\"allow_retry\":true}" :
	    "{\"type\":\"error\",\"code\":\"stream.error\","
	    "\"allow_retry\":false}");
	assert_true((o = ck_find(s, 0, "stream_options", NULL)) >= 0);
	assert_true((size_t)o < s->n - 1);
	assert_int_equal(ck_count(s, "error"), 1);
}

/* Failures after the 200: an error frame, and a clean end. */
static void
test_upstream_errors(void **state)
{
	static const struct {
		const char	*msg;
		const char	*deltas;	/* before the error */
	} cases[] = {
		{ "fake:status=500 hello", "" },
		{ "fake:cut=3 one two three four five six",
		    "Hello from fake. " },
		{ "fake:malformed hello", NULL },
		{ "fake:error_chunk hello", NULL }
	};
	struct harness_auth	 a;
	struct ck_stream	 s;
	char			 thread[32], got[1024];
	size_t			 c;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		turn(&a, NULL, cases[c].msg, &s);
		/* turn() saw a 200 that ended cleanly (curl said OK). */
		assert_int_equal(s.curl_err, CURLE_OK);
		ck_want(&s, 0, "thread.created", NULL);
		snprintf(thread, sizeof(thread), "%s",
		    harness_json_str(s.f[0].o, "thread.id"));
		want_stream_error(&s, true);
		ck_all_deltas(&s, got, sizeof(got));
		if (cases[c].deltas != NULL)
			assert_string_equal(got, cases[c].deltas);
		ck_stream_free(&s);
		wait_idle(thread);
	}
}

/* The daily quota: 429 before the stream, and nothing stored. */
static void
test_quota(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct ck_stream	 s;
	char			 thread[32], *body;
	long			 items, threads;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	new_thread(&a, "hello", thread, sizeof(thread));
	turn(&a, thread, "hello again", &s);
	ck_stream_free(&s);
	items = harness_sql_long(&H, "SELECT count(*) FROM items WHERE "
	    "user_id = $1::uuid", a.user_id);
	threads = harness_sql_long(&H, "SELECT count(*) FROM threads WHERE "
	    "user_id = $1::uuid", a.user_id);

	body = msg_body(thread, "one too many");
	ck_json(&a, body, &r);
	free(body);
	harness_want_error(&H, &r, 429, "rate_limited");
	assert_non_null(strstr(harness_resp_header(&r, "Content-Type"),
	    "application/json"));
	assert_non_null(harness_resp_header(&r, "Retry-After"));
	assert_true(atol(harness_resp_header(&r, "Retry-After")) > 0);
	harness_resp_free(&r);
	body = msg_body(NULL, "a new thread");
	ck_json(&a, body, &r);
	free(body);
	harness_want_error(&H, &r, 429, "rate_limited");
	harness_resp_free(&r);

	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE user_id = $1::uuid", a.user_id), items);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM threads "
	    "WHERE user_id = $1::uuid", a.user_id), threads);
}

struct slow_turn {
	const struct harness_auth	*a;
	char				*body;
	struct ck_stream		 s;
	int				 rc;
};

static void *
slow_main(void *arg)
{
	struct slow_turn	*t = arg;

	t->rc = ck_stream_raw(t->a, CK_PATH, t->body, 0, &t->s);
	return NULL;
}

/* A second turn while one runs in the thread: 409, nothing stored. */
static void
test_busy(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct slow_turn	 t;
	pthread_t		 th;
	char			 thread[32], *body;
	long			 items;
	int			 i;

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	new_thread(&a, "hello", thread, sizeof(thread));
	memset(&t, 0, sizeof(t));
	t.a = &a;
	t.body = msg_body(thread, "fake:tokens=20 fake:slow=100 slowly");
	assert_int_equal(pthread_create(&th, NULL, slow_main, &t), 0);
	for (i = 0; i < 100; i++) {
		if (harness_sql_long(&H, "SELECT count(*) FROM threads WHERE "
		    "id = $1 AND turn_started_at IS NOT NULL", thread) == 1)
			break;
		harness_sleep_ms(20);
	}
	items = harness_sql_long(&H, "SELECT count(*) FROM items WHERE "
	    "thread_id = $1", thread);
	body = msg_body(thread, "me too");
	ck_json(&a, body, &r);
	free(body);
	pthread_join(th, NULL);
	harness_want_error(&H, &r, 409, "conflict");
	harness_resp_free(&r);
	assert_true(i < 100);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE thread_id = $1 AND content = 'me too'", thread), 0);
	assert_true(harness_sql_long(&H, "SELECT count(*) FROM items WHERE "
	    "thread_id = $1", thread) >= items);

	/* The first turn went on to its end. */
	assert_int_equal(t.rc, 0);
	assert_int_equal(t.s.status, 200);
	assert_string_equal(t.s.bad, "");
	assert_true(t.s.n > 0);
	assert_true(ck_is(&t.s, t.s.n - 1, "thread.item.done", NULL));
	assert_string_equal(harness_json_str(t.s.f[t.s.n - 1].o, "item.type"),
	    "assistant_message");
	ck_stream_free(&t.s);
	free(t.body);
}

/* items.feedback on an answer: {} and stored. */
static void
test_feedback(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct ck_list		 l;
	char			 thread[32], aid[32];

	(void)state;
	harness_new_user(&H, "ckstream", &a);
	new_thread(&a, "hello", thread, sizeof(thread));
	items_list(&a, thread, "asc", &l);
	snprintf(aid, sizeof(aid), "%s", harness_json_str(items_at(&l, 1),
	    "id"));
	assert_string_equal(harness_json_str(items_at(&l, 1), "type"),
	    "assistant_message");
	items_free(&l);

	ck_json(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":{"
	    "\"thread_id\":\"%s\",\"item_ids\":[\"%s\"],\"kind\":"
	    "\"positive\"}}", thread, aid), &r);
	harness_want(&H, &r, 200);
	assert_string_equal(r.body, "{}");
	assert_non_null(strstr(harness_resp_header(&r, "Content-Type"),
	    "application/json"));
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE id = $1 AND feedback = 'positive'", aid), 1);

	ck_json(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":{"
	    "\"thread_id\":\"%s\",\"item_ids\":[\"%s\"],\"kind\":"
	    "\"meh\"}}", thread, aid), &r);
	harness_want(&H, &r, 422);
	assert_non_null(harness_resp_str(&r, "error.details.kind"));
	harness_resp_free(&r);
	ck_json(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":{"
	    "\"thread_id\":\"%s\",\"item_ids\":[\"%s\"],\"kind\":"
	    "\"negative\"}}", thread, aid), &r);
	harness_want(&H, &r, 200);
	assert_string_equal(r.body, "{}");
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE id = $1 AND feedback = 'negative'", aid), 1);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_create_order, use_builtin),
		cmocka_unit_test_setup(test_add_user_message, use_builtin),
		cmocka_unit_test_setup(test_retry_after_item, use_builtin),
		cmocka_unit_test_setup(test_widget_actions, use_builtin),
		cmocka_unit_test_setup(test_feedback, use_builtin),
		cmocka_unit_test_setup(test_create_order_fake, use_fake),
		cmocka_unit_test_setup(test_client_tool, use_fake),
		cmocka_unit_test_setup(test_client_tool_lookback, use_fake),
		cmocka_unit_test_setup(test_client_tool_none, use_fake),
		cmocka_unit_test_setup(test_cancel, use_fake),
		cmocka_unit_test_setup(test_upstream_errors, use_fake),
		cmocka_unit_test_setup(test_busy, use_fake),
		cmocka_unit_test_setup(test_quota, use_quota),
	};
	static const struct harness_group group = {
		"test_chatkit_stream", CONF_BUILTIN, true, prepare, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
