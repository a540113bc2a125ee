/*
 * test_chatkit.c: the ChatKit protocol's plain JSON requests and the rules
 * every request obeys, through nginx against a real PostgreSQL with the
 * builtin model, as /work/shared/CHATKIT.md and the ChatKit design say:
 * the Thread, Page and item shapes of threads.get_by_id, threads.list and
 * items.list, paging both ways with exclusive cursors, hidden items never
 * shown, threads.update, threads.delete and items.feedback, the errors a
 * request gets before anything happens (and that nothing happened), other
 * users' threads, JSON that comes back byte for byte, and the two paths
 * (/api/chatkit and /api/v1/chatkit) answering alike.
 *
 * Threads and items are made by real streamed turns (threads.create and
 * threads.add_user_message), and by the native API where only a thread
 * is needed. What the answers say is checked against the rows.
 */
#include "config.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

static struct harness	 H;

#define CK		"/api/v1/chatkit"
#define CK_OLD		"/api/chatkit"
#define P_THREADS	"/api/v1/threads"
/* Well formed, but nobody's. */
#define NO_THREAD	"thr_aaaaaaaaaaaaaaaa"
#define NO_ITEM		"msg_aaaaaaaaaaaaaaaa"
#define ACCEPT_SSE	"Accept: text/event-stream"
/* Fast turns; the slow config makes a turn one can walk away from. */
#define EXTRA		"messages_per_day = 0\nllm_builtin_delay = 2\n" \
			"sse_heartbeat = 1\n"
#define EXTRA_SLOW	"messages_per_day = 0\nllm_builtin_delay = 150\n" \
			"sse_heartbeat = 1\n"
/* Ids and timestamps kept by the paging helpers. */
#define MAXIDS		256

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- helpers */

/*
 * `tmpl' with each "@T" replaced by `thr' and each "@A" by `ans', in a
 * buffer of harness_fmt's.
 */
static const char *
subst(const char *tmpl, const char *thr, const char *ans)
{
	char		 out[4096];
	const char	*p, *v;
	size_t		 len = 0, n;

	for (p = tmpl; *p != '\0'; p++) {
		v = NULL;
		if (p[0] == '@' && p[1] == 'T')
			v = thr;
		else if (p[0] == '@' && p[1] == 'A')
			v = ans;
		n = v != NULL ? strlen(v) : 1;
		assert_true(len + n < sizeof(out));
		memcpy(out + len, v != NULL ? v : p, n);
		len += n;
		p += v != NULL;
	}
	out[len] = '\0';
	return harness_fmt("%s", out);
}

/* One ChatKit request on `path' as the user of `a' (NULL: nobody). */
static void
ck_at(const struct harness_auth *a, const char *path, const char *body,
    struct harness_resp *r)
{
	harness_req(&H, "POST", path, body, a != NULL ? a->auth_header : NULL,
	    NULL, NULL, r);
}

static void
ck(const struct harness_auth *a, const char *body, struct harness_resp *r)
{
	ck_at(a, CK, body, r);
}

/* `body' as `a' is refused: `status' and quipu's envelope with `code'. */
static void
ck_refused(const struct harness_auth *a, const char *body, long status,
    const char *code)
{
	struct harness_resp	 r;

	ck(a, body, &r);
	harness_want_error(&H, &r, status, code);
	harness_resp_free(&r);
}

/* A 200 JSON answer: the status and the content type. */
static void
want_json(struct harness_resp *r)
{
	const char	*ct;

	harness_want(&H, r, 200);
	ct = harness_resp_header(r, "Content-Type");
	assert_non_null(ct);
	assert_int_equal(strncmp(ct, "application/json", 16), 0);
	assert_non_null(harness_resp_json(r));
}

/* A new native thread of `a' (untitled, no items); its id into `id'. */
static void
native_thread(const struct harness_auth *a, char id[32])
{
	struct harness_resp	 r;
	const char		*s;

	harness_req(&H, "POST", P_THREADS, NULL, a->auth_header, NULL, NULL,
	    &r);
	harness_want(&H, &r, 201);
	assert_non_null(s = harness_resp_str(&r, "id"));
	snprintf(id, 32, "%s", s);
	harness_resp_free(&r);
}

/* ------------------------------------------------------------- JSON */

static struct json_object *
get(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static bool
has(struct json_object *o, const char *key)
{
	return o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, key, NULL);
}

/* A string member, or NULL when absent or not a string. */
static const char *
sget(struct json_object *o, const char *key)
{
	struct json_object	*v = get(o, key);

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static const char *
js(struct json_object *o)
{
	return o == NULL ? "(null)" :
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* The details member `key' of an error answer, or NULL. */
static struct json_object *
detail(struct harness_resp *r, const char *key)
{
	return get(get(get(harness_resp_json(r), "error"), "details"), key);
}

/* A boolean member; fails the test when absent or not one. */
static bool
bget(struct json_object *o, const char *key)
{
	struct json_object	*v = get(o, key);

	assert_non_null(v);
	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

/* An array member; fails the test when absent or not one. */
static struct json_object *
aget(struct json_object *o, const char *key)
{
	struct json_object	*v = get(o, key);

	if (v == NULL || !json_object_is_type(v, json_type_array))
		fprintf(stderr, "no array \"%s\" in %.800s\n", key, js(o));
	assert_non_null(v);
	assert_true(json_object_is_type(v, json_type_array));
	return v;
}

/* `o' is an object with exactly the keys of the NULL-terminated `keys'. */
static void
keys_are(struct json_object *o, const char *const *keys)
{
	size_t	 n;
	bool	 ok;

	ok = o != NULL && json_object_is_type(o, json_type_object);
	for (n = 0; ok && keys[n] != NULL; n++)
		if (!has(o, keys[n]))
			ok = false;
	if (ok && (size_t)json_object_object_length(o) != n)
		ok = false;
	if (!ok) {
		fprintf(stderr, "want exactly the keys");
		for (n = 0; keys[n] != NULL; n++)
			fprintf(stderr, " %s", keys[n]);
		fprintf(stderr, "; got %.1000s\n", js(o));
	}
	assert_true(ok);
}

/* An empty object. */
static void
empty_object(struct json_object *o)
{
	static const char *const none[] = { NULL };

	keys_are(o, none);
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ": UTC, microseconds. */
static bool
is_ts(const char *s)
{
	static const char	 pat[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t			 i;

	if (s == NULL || strlen(s) != sizeof(pat) - 1)
		return false;
	for (i = 0; pat[i] != '\0'; i++) {
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != pat[i])
			return false;
	}
	return true;
}

/* The prefix and 16 base32 characters. */
static bool
is_id(const char *s, const char *prefix)
{
	size_t	 i, pl = strlen(prefix);

	if (s == NULL || strlen(s) != pl + 16 || strncmp(s, prefix, pl) != 0)
		return false;
	for (i = pl; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '2' && s[i] <= '7')))
			return false;
	return true;
}

/*
 * No protocol field anywhere in `o' is JSON null: null fields are left
 * out. Free-form JSON (an input tag's data, tool arguments and output,
 * action payloads) keeps its nulls, so it is not looked into.
 */
static bool
no_nulls(struct json_object *o, const char *where)
{
	static const char *const free_form[] = {
		"data", "arguments", "output", "payload"
	};
	struct json_object_iterator	 it, end;
	const char			*k;
	size_t				 i, n;
	bool				 skip;

	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			if (json_object_array_get_idx(o, i) == NULL) {
				fprintf(stderr, "null element in %s\n", where);
				return false;
			}
			if (!no_nulls(json_object_array_get_idx(o, i), where))
				return false;
		}
		return true;
	}
	if (!json_object_is_type(o, json_type_object))
		return true;
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end);
	    json_object_iter_next(&it)) {
		k = json_object_iter_peek_name(&it);
		if (json_object_iter_peek_value(&it) == NULL) {
			fprintf(stderr, "\"%s\":null in %s\n", k, where);
			return false;
		}
		for (skip = false, i = 0; i < nitems(free_form); i++)
			if (strcmp(k, free_form[i]) == 0)
				skip = true;
		if (!skip && !no_nulls(json_object_iter_peek_value(&it), k))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------- objects */

/* `p' is a Page of at most `max' elements; returns its data. */
static struct json_object *
page(struct json_object *p, size_t max)
{
	static const char *const more[] = { "data", "has_more", "after",
	    NULL };
	static const char *const last[] = { "data", "has_more", NULL };
	struct json_object	*data;
	size_t			 n;

	data = aget(p, "data");
	n = json_object_array_length(data);
	if (n > max)
		fprintf(stderr, "page of %zu, want at most %zu\n", n, max);
	assert_true(n <= max);
	if (bget(p, "has_more")) {
		/* after: the id of the last element, only when there is more */
		keys_are(p, more);
		assert_true(n > 0);
		assert_non_null(sget(p, "after"));
		assert_string_equal(sget(p, "after"), sget(
		    json_object_array_get_idx(data, n - 1), "id"));
	} else
		keys_are(p, last);
	return data;
}

/* The empty items page of threads other than get_by_id's. */
static void
empty_page(struct json_object *p)
{
	static const char *const keys[] = { "data", "has_more", NULL };

	keys_are(p, keys);
	assert_int_equal(json_object_array_length(aget(p, "data")), 0);
	assert_false(bget(p, "has_more"));
}

/* The created_at ChatKit must show for a row (UTC, microseconds). */
static void
row_time(const char *table, const char *id, char *out, size_t sz)
{
	const char	*p[1] = { id };
	char		 sql[160];

	snprintf(sql, sizeof(sql), "SELECT to_char(created_at AT TIME ZONE "
	    "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM %s WHERE id = "
	    "$1", table);
	assert_int_equal(harness_sql(&H, sql, p, 1, out, sz), 1);
}

/*
 * A Thread: exactly its keys, status active, metadata {}; when `id' is
 * given, that id and created_at as stored. `title': NULL when it must
 * have none, "*" for any, else the title. Returns its items page.
 */
static struct json_object *
thread_is(struct json_object *t, const char *id, const char *title)
{
	static const char *const keys[] = { "title", "id", "created_at",
	    "status", "metadata", "items", NULL };
	static const char *const st[] = { "type", NULL };
	char			 at[40];

	keys_are(t, title != NULL ? keys : keys + 1);
	assert_true(is_id(sget(t, "id"), "thr_"));
	if (id != NULL)
		assert_string_equal(sget(t, "id"), id);
	if (title != NULL) {
		assert_non_null(sget(t, "title"));
		if (strcmp(title, "*") == 0)
			assert_true(*sget(t, "title") != '\0');
		else
			assert_string_equal(sget(t, "title"), title);
	}
	assert_true(is_ts(sget(t, "created_at")));
	if (id != NULL) {
		row_time("threads", id, at, sizeof(at));
		assert_string_equal(sget(t, "created_at"), at);
	}
	keys_are(get(t, "status"), st);
	assert_string_equal(sget(get(t, "status"), "type"), "active");
	empty_object(get(t, "metadata"));
	return get(t, "items");
}

/* An item of thread `thread' in its ChatKit shape; returns its type. */
static const char *
item_is(struct json_object *it, const char *thread)
{
	static const char *const user_keys[] = { "id", "thread_id",
	    "created_at", "type", "content", "attachments",
	    "inference_options", "quoted_text", NULL };
	static const char *const user_keys_nq[] = { "id", "thread_id",
	    "created_at", "type", "content", "attachments",
	    "inference_options", NULL };
	static const char *const asst_keys[] = { "id", "thread_id",
	    "created_at", "type", "content", NULL };
	static const char *const part_keys[] = { "type", "text",
	    "annotations", NULL };
	struct json_object	*c, *part;
	const char		*type;
	size_t			 i;

	assert_true(is_id(sget(it, "id"), "msg_"));
	assert_string_equal(sget(it, "thread_id"), thread);
	assert_true(is_ts(sget(it, "created_at")));
	assert_non_null(type = sget(it, "type"));
	if (strcmp(type, "user_message") == 0) {
		keys_are(it, has(it, "quoted_text") ? user_keys : user_keys_nq);
		assert_true(json_object_array_length(aget(it, "content")) > 0);
		(void)aget(it, "attachments");
		assert_true(json_object_is_type(get(it, "inference_options"),
		    json_type_object));
	} else if (strcmp(type, "assistant_message") == 0) {
		keys_are(it, asst_keys);
		c = aget(it, "content");
		assert_true(json_object_array_length(c) > 0);
		for (i = 0; i < json_object_array_length(c); i++) {
			part = json_object_array_get_idx(c, i);
			keys_are(part, part_keys);
			assert_string_equal(sget(part, "type"), "output_text");
			assert_non_null(sget(part, "text"));
			assert_true(*sget(part, "text") != '\0');
			(void)aget(part, "annotations");
		}
	} else if (strcmp(type, "widget") == 0) {
		assert_true(json_object_is_type(get(it, "widget"),
		    json_type_object));
	} else if (strcmp(type, "client_tool_call") == 0) {
		assert_non_null(sget(it, "status"));
		assert_non_null(sget(it, "call_id"));
		assert_non_null(sget(it, "name"));
	} else {
		fprintf(stderr, "item of type %s shown: %.500s\n", type,
		    js(it));
		fail();
	}
	return type;
}

/* The first text of an assistant message item. */
static const char *
answer_text(struct json_object *it)
{
	return sget(json_object_array_get_idx(aget(it, "content"), 0),
	    "text");
}

/* ------------------------------------------------------------- turns */

struct turn {
	char	 thread[32];
	char	 user[32];		/* the user_message item */
	char	 answer[32];		/* the assistant_message item */
	char	 text[2048];		/* its text */
};

/* New request params: {"thread_id": thread} unless `thread' is NULL. */
static struct json_object *
params_new(const char *thread)
{
	struct json_object	*p = json_object_new_object();

	if (thread != NULL)
		json_object_object_add(p, "thread_id",
		    json_object_new_string(thread));
	return p;
}

/*
 * The request {"type": type, "params": p}, compact, in a buffer of
 * harness_fmt's; takes `p'.
 */
static const char *
request_body(const char *type, struct json_object *p)
{
	struct json_object	*o = json_object_new_object();
	const char		*s;

	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "params", p);
	s = harness_fmt("%s", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* A threads.create (thread NULL) or add_user_message body, as JSON. */
static const char *
turn_body(const char *thread, const char *text)
{
	struct json_object	*p, *in, *content, *part;

	p = params_new(thread);
	in = json_object_new_object();
	content = json_object_new_array();
	part = json_object_new_object();
	json_object_object_add(part, "type",
	    json_object_new_string("input_text"));
	json_object_object_add(part, "text", json_object_new_string(text));
	json_object_array_add(content, part);
	json_object_object_add(in, "content", content);
	json_object_object_add(in, "attachments", json_object_new_array());
	json_object_object_add(in, "inference_options",
	    json_object_new_object());
	json_object_object_add(p, "input", in);
	return request_body(thread != NULL ? "threads.add_user_message" :
	    "threads.create", p);
}

/*
 * One streamed turn: `body' on `path', read to its end. Every frame is
 * data-only JSON and none is an error; the thread, the user's message and
 * the answer go into `t' (t->thread is kept when the body names it).
 */
static void
turn_raw(const struct harness_auth *a, const char *path, const char *body,
    struct turn *t)
{
	struct harness_sse	 s;
	struct json_object	*o, *it;
	const char		*hdrs[2] = { a->auth_header, NULL };
	const char		*type, *ct;
	size_t			 i;

	t->user[0] = t->answer[0] = t->text[0] = '\0';
	assert_int_equal(harness_sse_request(&H, "POST", path, hdrs, body, 0,
	    &s), 0);
	if (s.status != 200)
		fprintf(stderr, "turn: status %ld for %.300s\n", s.status,
		    body);
	assert_int_equal(s.status, 200);
	assert_non_null(ct = harness_sse_header(&s, "Content-Type"));
	assert_int_equal(strncmp(ct, "text/event-stream", 17), 0);
	for (i = 0; i < s.nev; i++) {
		assert_string_equal(s.ev[i].event, "");
		if ((o = json_tokener_parse(s.ev[i].data)) == NULL)
			fprintf(stderr, "turn: frame %zu not JSON: %.300s\n", i,
			    s.ev[i].data);
		assert_non_null(o);
		assert_non_null(type = sget(o, "type"));
		if (strcmp(type, "error") == 0)
			fprintf(stderr, "turn: error frame %s\n",
			    s.ev[i].data);
		assert_string_not_equal(type, "error");
		if (strcmp(type, "thread.created") == 0)
			snprintf(t->thread, sizeof(t->thread), "%s",
			    sget(get(o, "thread"), "id"));
		it = get(o, "item");
		if (strcmp(type, "thread.item.done") == 0)
			assert_non_null(sget(it, "type"));
		if (strcmp(type, "thread.item.done") == 0 &&
		    strcmp(sget(it, "type"), "user_message") == 0)
			snprintf(t->user, sizeof(t->user), "%s",
			    sget(it, "id"));
		if (strcmp(type, "thread.item.done") == 0 &&
		    strcmp(sget(it, "type"), "assistant_message") == 0) {
			snprintf(t->answer, sizeof(t->answer), "%s",
			    sget(it, "id"));
			snprintf(t->text, sizeof(t->text), "%s",
			    answer_text(it));
		}
		json_object_put(o);
	}
	harness_sse_free(&s);
	assert_true(is_id(t->thread, "thr_"));
	assert_true(is_id(t->user, "msg_"));
	assert_true(is_id(t->answer, "msg_"));
}

/* A turn saying `text' in `thread' (NULL: threads.create). */
static void
turn(const struct harness_auth *a, const char *thread, const char *text,
    struct turn *t)
{
	if (thread != NULL && thread != t->thread)
		snprintf(t->thread, sizeof(t->thread), "%s", thread);
	turn_raw(a, CK, turn_body(thread, text), t);
}

/* ------------------------------------------------------------- paging */

struct ids {
	size_t	 n;
	char	 id[MAXIDS][32];
	char	 at[MAXIDS][32];	/* created_at */
};

/* A threads.list or items.list request (thread NULL: threads.list). */
static const char *
list_body(const char *thread, const char *order, int limit,
    const char *after)
{
	struct json_object	*p = params_new(thread);

	if (order != NULL)
		json_object_object_add(p, "order",
		    json_object_new_string(order));
	if (limit != 0)
		json_object_object_add(p, "limit", json_object_new_int(limit));
	if (after != NULL && *after != '\0')
		json_object_object_add(p, "after",
		    json_object_new_string(after));
	return request_body(thread != NULL ? "items.list" : "threads.list",
	    p);
}

/*
 * Every element of a list, page by page with `after' (limit 0: the
 * default): each page a Page of at most `limit' (20) elements, no id
 * twice. Items are checked in their shape as they come.
 */
static void
collect(const struct harness_auth *a, const char *thread, const char *order,
    int limit, struct ids *out)
{
	struct harness_resp	 r;
	struct json_object	*data, *e;
	const char		*id, *at;
	char			 after[32] = "";
	size_t			 i, j, n, pages = 0;
	bool			 more;

	out->n = 0;
	do {
		ck(a, list_body(thread, order, limit, after), &r);
		want_json(&r);
		assert_true(no_nulls(harness_resp_json(&r), "a page"));
		data = page(harness_resp_json(&r), limit == 0 ? 20 :
		    (size_t)limit);
		more = bget(harness_resp_json(&r), "has_more");
		n = json_object_array_length(data);
		for (i = 0; i < n; i++) {
			e = json_object_array_get_idx(data, i);
			if (thread != NULL)
				(void)item_is(e, thread);
			else
				empty_page(thread_is(e, NULL,
				    has(e, "title") ? "*" : NULL));
			assert_non_null(id = sget(e, "id"));
			assert_non_null(at = sget(e, "created_at"));
			for (j = 0; j < out->n; j++)
				if (strcmp(out->id[j], id) == 0)
					fprintf(stderr, "%s twice\n", id);
			for (j = 0; j < out->n; j++)
				assert_string_not_equal(out->id[j], id);
			assert_true(out->n < MAXIDS);
			snprintf(out->id[out->n], 32, "%s", id);
			snprintf(out->at[out->n], 32, "%s", at);
			out->n++;
		}
		if (more)
			snprintf(after, sizeof(after), "%s",
			    sget(harness_resp_json(&r), "after"));
		harness_resp_free(&r);
		assert_true(++pages <= MAXIDS);
	} while (more);
}

/* The ids, comma-separated, in their order or reversed. */
static const char *
joined(const struct ids *s, bool reverse)
{
	static char	 buf[MAXIDS * 32];
	size_t		 i, k, len = 0;

	buf[0] = '\0';
	for (i = 0; i < s->n; i++) {
		k = reverse ? s->n - 1 - i : i;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
		    i > 0 ? "," : "", s->id[k]);
		assert_true(len < sizeof(buf));
	}
	return buf;
}

/* (created_at, id) strictly increases, or decreases, along the list. */
static void
ordered(const struct ids *s, bool asc)
{
	size_t	 i;
	int	 c;

	for (i = 1; i < s->n; i++) {
		assert_true(is_ts(s->at[i]));
		if ((c = strcmp(s->at[i - 1], s->at[i])) == 0)
			c = strcmp(s->id[i - 1], s->id[i]);
		if (asc ? c >= 0 : c <= 0)
			fprintf(stderr, "out of order: %s %s, %s %s\n",
			    s->id[i - 1], s->at[i - 1], s->id[i], s->at[i]);
		assert_true(asc ? c < 0 : c > 0);
	}
}

/* The user's live threads as the rows order them, newest first. */
static void
sql_threads(const struct harness_auth *a, char *out, size_t sz)
{
	const char	*p[1] = { a->user_id };

	out[0] = '\0';
	assert_true(harness_sql(&H, "SELECT coalesce(string_agg(id, ',' "
	    "ORDER BY created_at DESC, id DESC), '') FROM threads WHERE "
	    "user_id = $1::uuid AND deleted_at IS NULL", p, 1, out, sz) == 1);
}

/*
 * A thread's items that ChatKit shows (`shown'), oldest first, or those
 * it must never show: hidden and tool items, and answers with no text.
 */
#define SHOWN	"(role IN ('user', 'widget', 'client_tool_call') OR " \
		"(role = 'assistant' AND content <> ''))"

static void
sql_items(const char *thread, bool shown, char *out, size_t sz)
{
	const char	*p[1] = { thread };

	out[0] = '\0';
	assert_true(harness_sql(&H, shown ?
	    "SELECT coalesce(string_agg(id, ',' ORDER BY created_at), '') "
	    "FROM items WHERE thread_id = $1 AND deleted_at IS NULL AND "
	    SHOWN :
	    "SELECT coalesce(string_agg(id, ',' ORDER BY created_at), '') "
	    "FROM items WHERE thread_id = $1 AND deleted_at IS NULL AND "
	    "NOT " SHOWN, p, 1, out, sz) == 1);
}

/* No id of the comma-separated `ids' occurs in `text'. */
static void
none_in(const char *ids, const char *text)
{
	char	 id[32];
	size_t	 n;

	while (*ids != '\0') {
		n = strcspn(ids, ",");
		assert_true(n < sizeof(id));
		memcpy(id, ids, n);
		id[n] = '\0';
		if (strstr(text, id) != NULL)
			fprintf(stderr, "%s shown\n", id);
		assert_null(strstr(text, id));
		ids += n + (ids[n] == ',');
	}
}

/* ------------------------------------------------------------- tests */

/*
 * threads.get_by_id: the exact Thread (no title until it has one, no
 * native metadata), the first 20 items oldest first, has_more and after.
 */
static void
test_get_by_id(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r, r2;
	struct json_object	*items, *data, *it, *c;
	struct turn		 t;
	char			 thr[32], big[32];
	static const char *const text_keys[] = { "type", "text", NULL };
	int			 i;

	(void)state;
	harness_user(&H, "ck-get", &a);
	native_thread(&a, thr);
	harness_req(&H, "PATCH", harness_fmt(P_THREADS "/%s", thr),
	    "{\"metadata\":{\"pinned\":true,\"color\":\"red\"}}",
	    a.auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);

	/* Untitled, empty, and its metadata not shown. */
	ck(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", thr), &r);
	want_json(&r);
	items = thread_is(harness_resp_json(&r), thr, NULL);
	empty_page(items);
	assert_null(strstr(r.body, "\"title\""));
	assert_null(strstr(r.body, "pinned"));
	assert_null(strstr(r.body, "null"));
	harness_resp_free(&r);

	/* One turn: titled now, two items in order. */
	turn(&a, thr, "hello there", &t);
	assert_string_equal(t.thread, thr);
	ck(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", thr), &r);
	want_json(&r);
	assert_true(no_nulls(harness_resp_json(&r), "get_by_id"));
	items = thread_is(harness_resp_json(&r), thr, "*");
	data = page(items, 20);
	assert_false(bget(items, "has_more"));
	assert_int_equal(json_object_array_length(data), 2);
	it = json_object_array_get_idx(data, 0);
	assert_string_equal(item_is(it, thr), "user_message");
	assert_string_equal(sget(it, "id"), t.user);
	c = aget(it, "content");
	assert_int_equal(json_object_array_length(c), 1);
	keys_are(json_object_array_get_idx(c, 0), text_keys);
	assert_string_equal(sget(json_object_array_get_idx(c, 0), "type"),
	    "input_text");
	assert_string_equal(sget(json_object_array_get_idx(c, 0), "text"),
	    "hello there");
	assert_int_equal(json_object_array_length(aget(it, "attachments")), 0);
	empty_object(get(it, "inference_options"));
	/* Never sent, so not shown (null fields are left out). */
	assert_false(has(it, "quoted_text"));
	it = json_object_array_get_idx(data, 1);
	assert_string_equal(item_is(it, thr), "assistant_message");
	assert_string_equal(sget(it, "id"), t.answer);
	assert_string_equal(answer_text(it), t.text);
	assert_int_equal(json_object_array_length(aget(
	    json_object_array_get_idx(aget(it, "content"), 0),
	    "annotations")), 0);
	assert_true(strcmp(sget(json_object_array_get_idx(data, 0),
	    "created_at"), sget(it, "created_at")) < 0);
	/* The title is the thread's, as the native API shows it. */
	harness_req(&H, "GET", harness_fmt(P_THREADS "/%s", thr), NULL,
	    a.auth_header, NULL, NULL, &r2);
	harness_want(&H, &r2, 200);
	assert_string_equal(sget(harness_resp_json(&r), "title"),
	    harness_resp_str(&r2, "title"));
	harness_resp_free(&r2);
	harness_resp_free(&r);

	/* 22 items: the first 20, oldest first, and a cursor. */
	native_thread(&a, big);
	for (i = 0; i < 11; i++)
		turn(&a, big, harness_fmt("hello number %d", i), &t);
	ck(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", big), &r);
	want_json(&r);
	items = thread_is(harness_resp_json(&r), big, "*");
	data = page(items, 20);
	assert_int_equal(json_object_array_length(data), 20);
	assert_true(bget(items, "has_more"));
	it = json_object_array_get_idx(data, 0);
	assert_string_equal(sget(json_object_array_get_idx(aget(it, "content"),
	    0), "text"), "hello number 0");
	for (i = 0; i < 20; i++) {
		it = json_object_array_get_idx(data, (size_t)i);
		assert_string_equal(item_is(it, big), i % 2 == 0 ?
		    "user_message" : "assistant_message");
		if (i > 0)
			assert_true(strcmp(sget(json_object_array_get_idx(data,
			    (size_t)i - 1), "created_at"),
			    sget(it, "created_at")) < 0);
	}
	/* The same page as items.list gives, oldest first. */
	ck(&a, list_body(big, "asc", 20, NULL), &r2);
	want_json(&r2);
	assert_string_equal(js(data), js(get(harness_resp_json(&r2), "data")));
	assert_string_equal(sget(items, "after"),
	    sget(harness_resp_json(&r2), "after"));
	harness_resp_free(&r2);
	harness_resp_free(&r);
}

/*
 * threads.list: newest first by default, 20 a page, paging both ways
 * with an exclusive cursor, the limit clamped, empty items pages, and
 * only the user's own threads.
 */
static void
test_threads_list(void **state)
{
	static struct ids	 s;
	static char		 made[106][32];
	static char		 want[8192], other[3][32];
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct json_object	*data, *e;
	struct turn		 t;
	static const int	 limits[] = { 1, 7, 20, 100 };
	size_t			 i, k, n;
	bool			 seen;

	(void)state;
	harness_user(&H, "ck-list", &a);
	harness_user(&H, "ck-list-b", &b);
	native_thread(&b, other[0]);
	turn(&b, NULL, "hello from b", &t);
	snprintf(other[1], 32, "%s", t.thread);
	native_thread(&b, other[2]);
	/* The oldest thread has items (and a title); 104 more after it. */
	turn(&a, NULL, "hello list", &t);
	snprintf(made[0], 32, "%s", t.thread);
	for (i = 1; i < 105; i++)
		native_thread(&a, made[i]);
	n = 105;

	/* The default: newest first, 20, a cursor. */
	ck(&a, "{\"type\":\"threads.list\",\"params\":{}}", &r);
	want_json(&r);
	data = page(harness_resp_json(&r), 20);
	assert_int_equal(json_object_array_length(data), 20);
	assert_true(bget(harness_resp_json(&r), "has_more"));
	for (i = 0; i < 20; i++) {
		e = json_object_array_get_idx(data, i);
		assert_string_equal(sget(e, "id"), made[n - 1 - i]);
		empty_page(thread_is(e, made[n - 1 - i], NULL));
	}
	harness_resp_free(&r);
	ck(&a, "{\"type\":\"threads.list\",\"params\":{\"limit\":null,"
	    "\"order\":null,\"after\":null}}", &r);
	want_json(&r);
	data = page(harness_resp_json(&r), 20);
	assert_int_equal(json_object_array_length(data), 20);
	assert_string_equal(sget(json_object_array_get_idx(data, 0), "id"),
	    made[n - 1]);
	harness_resp_free(&r);
	ck(&a, "{\"type\":\"threads.list\",\"params\":{\"limit\":0}}", &r);
	want_json(&r);
	assert_int_equal(json_object_array_length(page(harness_resp_json(&r),
	    20)), 20);
	harness_resp_free(&r);

	/* Every page size, both ways: all of them, in order, once. */
	sql_threads(&a, want, sizeof(want));
	for (k = 0; k < nitems(limits); k++) {
		collect(&a, NULL, k % 2 == 0 ? NULL : "desc", limits[k], &s);
		assert_int_equal(s.n, n);
		assert_string_equal(joined(&s, false), want);
		ordered(&s, false);
		assert_string_equal(s.id[n - 1], made[0]);
		collect(&a, NULL, "asc", limits[k], &s);
		assert_int_equal(s.n, n);
		assert_string_equal(joined(&s, true), want);
		ordered(&s, true);
		for (i = 0; i < n; i++)
			assert_string_equal(s.id[i], made[i]);
	}
	/* The oldest, titled and with items, has an empty items page. */
	ck(&a, "{\"type\":\"threads.list\",\"params\":{\"order\":\"asc\","
	    "\"limit\":1}}", &r);
	want_json(&r);
	e = json_object_array_get_idx(page(harness_resp_json(&r), 1), 0);
	empty_page(thread_is(e, made[0], "*"));
	harness_resp_free(&r);
	/* The cursor is exclusive, both ways. */
	ck(&a, list_body(NULL, "desc", 3, made[50]), &r);
	want_json(&r);
	data = page(harness_resp_json(&r), 3);
	assert_int_equal(json_object_array_length(data), 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(sget(json_object_array_get_idx(data, i),
		    "id"), made[49 - i]);
	harness_resp_free(&r);
	ck(&a, list_body(NULL, "asc", 3, made[50]), &r);
	want_json(&r);
	data = page(harness_resp_json(&r), 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(sget(json_object_array_get_idx(data, i),
		    "id"), made[51 + i]);
	harness_resp_free(&r);
	/* The last page: no more, no cursor. */
	ck(&a, list_body(NULL, "asc", 100, made[100]), &r);
	want_json(&r);
	data = page(harness_resp_json(&r), 100);
	assert_int_equal(json_object_array_length(data), 4);
	assert_false(bget(harness_resp_json(&r), "has_more"));
	assert_false(has(harness_resp_json(&r), "after"));
	harness_resp_free(&r);
	ck(&a, list_body(NULL, "desc", 5, made[0]), &r);
	want_json(&r);
	assert_int_equal(json_object_array_length(page(harness_resp_json(&r),
	    5)), 0);
	assert_false(bget(harness_resp_json(&r), "has_more"));
	harness_resp_free(&r);

	/* Bigger limits are clamped to 100. */
	for (k = 0; k < 3; k++) {
		ck(&a, list_body(NULL, NULL, k == 0 ? 101 : k == 1 ? 1000 :
		    2000000000, NULL), &r);
		want_json(&r);
		assert_int_equal(json_object_array_length(page(
		    harness_resp_json(&r), 100)), 100);
		assert_true(bget(harness_resp_json(&r), "has_more"));
		harness_resp_free(&r);
	}

	/* Bad paging: 422 for bad params, 404 for an unknown cursor. */
	ck(&a, "{\"type\":\"threads.list\",\"params\":{\"limit\":-1}}", &r);
	harness_want_error(&H, &r, 422, "validation_failed");
	assert_non_null(detail(&r, "limit"));
	harness_resp_free(&r);
	ck_refused(&a,
	    "{\"type\":\"threads.list\",\"params\":{\"limit\":\"5\"}}", 422,
	    "validation_failed");
	ck(&a, "{\"type\":\"threads.list\",\"params\":{\"order\":\"up\"}}", &r);
	harness_want_error(&H, &r, 422, "validation_failed");
	assert_non_null(detail(&r, "order"));
	harness_resp_free(&r);
	ck_refused(&a, "{\"type\":\"threads.list\",\"params\":{\"after\":5}}",
	    422, "validation_failed");
	ck_refused(&a, list_body(NULL, NULL, 0, NO_THREAD), 404, "not_found");
	ck_refused(&a, list_body(NULL, "asc", 0, "bogus"), 404, "not_found");
	/* Another user's thread is no cursor either. */
	ck_refused(&a, list_body(NULL, NULL, 0, other[1]), 404, "not_found");

	/* Only one's own: B sees B's three, A none of them. */
	collect(&a, NULL, NULL, 100, &s);
	for (i = 0; i < s.n; i++)
		for (k = 0; k < 3; k++)
			assert_string_not_equal(s.id[i], other[k]);
	collect(&b, NULL, NULL, 0, &s);
	assert_int_equal(s.n, 3);
	for (k = 0; k < 3; k++) {
		for (seen = false, i = 0; i < s.n; i++)
			if (strcmp(s.id[i], other[k]) == 0)
				seen = true;
		assert_true(seen);
	}
}

/*
 * items.list: newest first by default, oldest first on request, pages of
 * every size both ways with nothing lost or repeated, strictly
 * increasing created_at, only what ChatKit shows, no null fields.
 */
static void
test_items_list(void **state)
{
	static struct ids	 s;
	static char		 want[8192], hidden[4096];
	static const int	 limits[] = { 1, 2, 3, 7, 20, 100 };
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*data;
	struct turn		 t, first;
	char			 thr[32];
	size_t			 i, k, n;

	(void)state;
	harness_user(&H, "ck-items", &a);
	turn(&a, NULL, "hello 0", &first);
	snprintf(thr, sizeof(thr), "%s", first.thread);
	for (i = 1; i < 12; i++)
		turn(&a, thr, harness_fmt("hello %zu", i), &t);
	/* A turn that runs tools: its tool items stay out. */
	turn(&a, thr, "add buy milk tomorrow", &t);
	turn(&a, thr, "what's on my list", &t);
	turn(&a, thr, "hello at last", &t);
	sql_items(thr, true, want, sizeof(want));
	sql_items(thr, false, hidden, sizeof(hidden));
	n = (strlen(want) + 1) / 21;
	assert_true(n >= 30);

	/* The default: the newest 20, newest first. */
	ck(&a, harness_fmt("{\"type\":\"items.list\",\"params\":{\"thread_id\":"
	    "\"%s\"}}", thr), &r);
	want_json(&r);
	assert_true(no_nulls(harness_resp_json(&r), "items.list"));
	data = page(harness_resp_json(&r), 20);
	assert_int_equal(json_object_array_length(data), 20);
	assert_true(bget(harness_resp_json(&r), "has_more"));
	assert_string_equal(sget(json_object_array_get_idx(data, 0), "id"),
	    t.answer);
	assert_string_equal(sget(json_object_array_get_idx(data, 1), "id"),
	    t.user);
	none_in(hidden, r.body);
	harness_resp_free(&r);
	ck(&a, harness_fmt("{\"type\":\"items.list\",\"params\":{\"thread_id\":"
	    "\"%s\",\"limit\":0,\"order\":null,\"after\":null}}", thr), &r);
	want_json(&r);
	data = page(harness_resp_json(&r), 20);
	assert_int_equal(json_object_array_length(data), 20);
	assert_string_equal(sget(json_object_array_get_idx(data, 0), "id"),
	    t.answer);
	harness_resp_free(&r);
	ck(&a, list_body(thr, "asc", 1, NULL), &r);
	want_json(&r);
	data = page(harness_resp_json(&r), 1);
	assert_string_equal(sget(json_object_array_get_idx(data, 0), "id"),
	    first.user);
	harness_resp_free(&r);

	/* Every page size, both ways. */
	for (k = 0; k < nitems(limits); k++) {
		collect(&a, thr, "asc", limits[k], &s);
		assert_string_equal(joined(&s, false), want);
		assert_int_equal(s.n, n);
		ordered(&s, true);
		collect(&a, thr, k % 2 == 0 ? NULL : "desc", limits[k], &s);
		assert_string_equal(joined(&s, true), want);
		ordered(&s, false);
	}
	/* Each id of the asc list is a cursor that goes on from there. */
	collect(&a, thr, "asc", 100, &s);
	for (i = 0; i + 1 < s.n; i += 5) {
		ck(&a, list_body(thr, "asc", 2, s.id[i]), &r);
		want_json(&r);
		data = page(harness_resp_json(&r), 2);
		assert_string_equal(sget(json_object_array_get_idx(data, 0),
		    "id"), s.id[i + 1]);
		harness_resp_free(&r);
		ck(&a, list_body(thr, "desc", 2, s.id[i + 1]), &r);
		want_json(&r);
		data = page(harness_resp_json(&r), 2);
		assert_string_equal(sget(json_object_array_get_idx(data, 0),
		    "id"), s.id[i]);
		harness_resp_free(&r);
	}
	/* Bad paging. */
	ck_refused(&a, list_body(thr, NULL, 0, NO_ITEM), 404, "not_found");
	ck_refused(&a, list_body(thr, NULL, -1, NULL), 422,
	    "validation_failed");
	ck(&a, list_body(thr, "newest", 0, NULL), &r);
	harness_want_error(&H, &r, 422, "validation_failed");
	assert_non_null(detail(&r, "order"));
	harness_resp_free(&r);
}

/*
 * A stream the client walks away from leaves a hidden item behind it;
 * no list ever shows it, whatever the page size.
 */
static void
test_items_hidden(void **state)
{
	static struct ids	 s;
	static char		 want[4096], hidden[4096];
	struct harness_auth	 a;
	struct harness_sse	 sse;
	struct harness_resp	 r;
	struct json_object	*o, *data;
	struct turn		 t;
	const char		*hdrs[2];
	char			 thr[32], partial[2048];
	size_t			 i;
	int			 k;

	(void)state;
	harness_user(&H, "ck-hidden", &a);
	native_thread(&a, thr);
	assert_int_equal(harness_restart_quipu(&H, EXTRA_SLOW), 0);
	/* thread.item.done (user), stream_options, added, part, a delta. */
	hdrs[0] = a.auth_header;
	hdrs[1] = NULL;
	assert_int_equal(harness_sse_request(&H, "POST", CK, hdrs,
	    turn_body(thr, "tell me a story"), 5, &sse), 0);
	assert_int_equal(sse.status, 200);
	assert_int_equal(sse.nev, 5);
	o = json_tokener_parse(sse.ev[4].data);
	assert_non_null(o);
	assert_string_equal(sget(get(o, "update"), "type"),
	    "assistant_message.content_part.text_delta");
	json_object_put(o);
	harness_sse_free(&sse);
	/* The server sees the client gone at its next write. */
	for (k = 0; k < 200; k++) {
		if (harness_sql_long(&H, "SELECT count(*) FROM items WHERE "
		    "thread_id = $1 AND role = 'hidden'", thr) > 0 &&
		    harness_sql_long(&H, "SELECT count(*) FROM threads WHERE "
		    "id = $1 AND turn_started_at IS NULL", thr) == 1)
			break;
		harness_sleep_ms(50);
	}
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE thread_id = $1 AND role = 'hidden'", thr), 1);
	assert_int_equal(harness_restart_quipu(&H, EXTRA), 0);
	turn(&a, thr, "tell me a story", &t);

	/* user, the partial answer, (hidden), user, answer. */
	sql_items(thr, true, want, sizeof(want));
	sql_items(thr, false, hidden, sizeof(hidden));
	assert_true(hidden[0] != '\0');
	collect(&a, thr, "asc", 100, &s);
	assert_int_equal(s.n, 4);
	assert_string_equal(joined(&s, false), want);
	assert_string_equal(s.id[2], t.user);
	assert_string_equal(s.id[3], t.answer);
	for (k = 1; k <= 3; k++) {
		collect(&a, thr, "asc", k, &s);
		assert_string_equal(joined(&s, false), want);
		collect(&a, thr, "desc", k, &s);
		assert_string_equal(joined(&s, true), want);
	}
	ck(&a, list_body(thr, "asc", 100, NULL), &r);
	want_json(&r);
	none_in(hidden, r.body);
	assert_true(no_nulls(harness_resp_json(&r), "items.list"));
	data = page(harness_resp_json(&r), 100);
	/* The partial answer: the start of the whole one. */
	snprintf(partial, sizeof(partial), "%s",
	    answer_text(json_object_array_get_idx(data, 1)));
	assert_true(strlen(partial) > 0 && strlen(partial) < strlen(t.text));
	assert_int_equal(strncmp(partial, t.text, strlen(partial)), 0);
	harness_resp_free(&r);
	collect(&a, thr, "asc", 0, &s);
	ck(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", thr), &r);
	want_json(&r);
	none_in(hidden, r.body);
	data = page(get(harness_resp_json(&r), "items"), 20);
	assert_int_equal(json_object_array_length(data), 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(sget(json_object_array_get_idx(data, i),
		    "id"), s.id[i]);
	harness_resp_free(&r);
}

/* threads.update renames; threads.delete removes, for good. */
static void
test_update_delete(void **state)
{
	static struct ids	 s;
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*o;
	struct turn		 t;
	char			*long_title;
	const char		*title = "Renamed \xe2\x9c\x93 \"quoted\" \\ "
				    "\xf0\x9f\x98\x80";
	static const char *const bad[] = {
		"", ",\"title\":\"\"", ",\"title\":null", ",\"title\":5",
		",\"title\":[\"x\"]"
	};
	size_t			 i;

	(void)state;
	harness_user(&H, "ck-update", &a);
	turn(&a, NULL, "hello update", &t);
	turn(&a, t.thread, "hello again", &t);

	o = json_object_new_string(title);
	ck(&a, harness_fmt("{\"type\":\"threads.update\",\"params\":"
	    "{\"thread_id\":\"%s\",\"title\":%s}}", t.thread, js(o)), &r);
	json_object_put(o);
	want_json(&r);
	empty_page(thread_is(harness_resp_json(&r), t.thread, title));
	harness_resp_free(&r);
	ck(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", t.thread), &r);
	want_json(&r);
	assert_int_equal(json_object_array_length(page(thread_is(
	    harness_resp_json(&r), t.thread, title), 20)), 4);
	harness_resp_free(&r);
	harness_req(&H, "GET", harness_fmt(P_THREADS "/%s", t.thread), NULL,
	    a.auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "title"), title);
	harness_resp_free(&r);

	/* A title is required, not empty, not too long: nothing changes. */
	for (i = 0; i < nitems(bad); i++) {
		ck(&a, harness_fmt("{\"type\":\"threads.update\",\"params\":{"
		    "\"thread_id\":\"%s\"%s}}", t.thread, bad[i]), &r);
		harness_want_error(&H, &r, 422, "validation_failed");
		assert_non_null(detail(&r, "title"));
		harness_resp_free(&r);
	}
	long_title = harness_rep("x", 201);
	ck(&a, harness_fmt("{\"type\":\"threads.update\",\"params\":"
	    "{\"thread_id\":\"%s\",\"title\":\"%s\"}}", t.thread, long_title),
	    &r);
	free(long_title);
	harness_want_error(&H, &r, 422, "validation_failed");
	harness_resp_free(&r);
	ck(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", t.thread), &r);
	want_json(&r);
	assert_string_equal(sget(harness_resp_json(&r), "title"), title);
	harness_resp_free(&r);

	/* Delete: {} and then gone everywhere. */
	ck(&a, harness_fmt("{\"type\":\"threads.delete\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", t.thread), &r);
	want_json(&r);
	assert_int_equal(json_object_object_length(harness_resp_json(&r)), 0);
	assert_true(r.body_len >= 2 && strncmp(r.body, "{}", 2) == 0);
	harness_resp_free(&r);
	ck_refused(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", t.thread), 404, "not_found");
	ck_refused(&a, list_body(t.thread, NULL, 0, NULL), 404, "not_found");
	ck_refused(&a, harness_fmt("{\"type\":\"threads.update\",\"params\":"
	    "{\"thread_id\":\"%s\",\"title\":\"back\"}}", t.thread), 404,
	    "not_found");
	ck_refused(&a, harness_fmt("{\"type\":\"threads.delete\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", t.thread), 404, "not_found");
	harness_req(&H, "GET", harness_fmt(P_THREADS "/%s", t.thread), NULL,
	    a.auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	collect(&a, NULL, NULL, 0, &s);
	assert_int_equal(s.n, 0);
}

/* The feedback of item `id' as GET .../messages shows it ("": none). */
static void
native_feedback(const struct harness_auth *a, const char *thread,
    const char *id, char *out, size_t sz)
{
	struct harness_resp	 r;
	struct json_object	*items, *e;
	size_t			 i;
	bool			 found = false;

	out[0] = '\0';
	harness_req(&H, "GET",
	    harness_fmt(P_THREADS "/%s/messages?limit=100", thread), NULL,
	    a->auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 200);
	items = aget(harness_resp_json(&r), "items");
	for (i = 0; i < json_object_array_length(items); i++) {
		e = json_object_array_get_idx(items, i);
		if (strcmp(sget(e, "id"), id) != 0)
			continue;
		found = true;
		if (sget(e, "feedback") != NULL)
			snprintf(out, sz, "%s", sget(e, "feedback"));
	}
	harness_resp_free(&r);
	assert_true(found);
}

/* items.feedback: {} and stored on the native items; refusals store none. */
static void
test_feedback(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct turn		 t1, t2, t3;
	char			 fb[32];
	static const char *const bad[] = {
		"\"kind\":\"meh\"", "\"kind\":null", "\"kind\":1", "",
	};
	size_t			 i;

	(void)state;
	harness_user(&H, "ck-feedback", &a);
	turn(&a, NULL, "hello feedback", &t1);
	turn(&a, t1.thread, "hello again", &t2);
	turn(&a, NULL, "hello elsewhere", &t3);

	ck(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":"
	    "{\"thread_id\":\"%s\",\"item_ids\":[\"%s\",\"%s\"],"
	    "\"kind\":\"positive\"}}", t1.thread, t1.answer, t2.answer), &r);
	want_json(&r);
	assert_int_equal(json_object_object_length(harness_resp_json(&r)), 0);
	harness_resp_free(&r);
	native_feedback(&a, t1.thread, t1.answer, fb, sizeof(fb));
	assert_string_equal(fb, "positive");
	native_feedback(&a, t1.thread, t2.answer, fb, sizeof(fb));
	assert_string_equal(fb, "positive");
	native_feedback(&a, t1.thread, t1.user, fb, sizeof(fb));
	assert_string_equal(fb, "");
	ck(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":"
	    "{\"thread_id\":\"%s\",\"item_ids\":[\"%s\"],"
	    "\"kind\":\"negative\"}}", t1.thread, t2.answer), &r);
	want_json(&r);
	harness_resp_free(&r);
	native_feedback(&a, t1.thread, t2.answer, fb, sizeof(fb));
	assert_string_equal(fb, "negative");
	native_feedback(&a, t1.thread, t1.answer, fb, sizeof(fb));
	assert_string_equal(fb, "positive");

	/* kind is positive or negative. */
	for (i = 0; i < nitems(bad); i++) {
		ck(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":{"
		    "\"thread_id\":\"%s\",\"item_ids\":[\"%s\"]%s%s}}",
		    t1.thread, t1.answer, bad[i][0] != '\0' ? "," : "",
		    bad[i]), &r);
		harness_want_error(&H, &r, 422, "validation_failed");
		assert_non_null(detail(&r, "kind"));
		harness_resp_free(&r);
	}
	ck_refused(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":"
	    "{\"thread_id\":\"%s\",\"item_ids\":\"%s\","
	    "\"kind\":\"negative\"}}", t1.thread, t1.answer), 422,
	    "validation_failed");
	ck_refused(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":"
	    "{\"thread_id\":\"%s\",\"item_ids\":[5],\"kind\":\"negative\"}}",
	    t1.thread), 422, "validation_failed");
	/* An unknown item among known ones: 404, none of them changed. */
	ck_refused(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":"
	    "{\"thread_id\":\"%s\",\"item_ids\":[\"%s\",\"" NO_ITEM "\"],"
	    "\"kind\":\"negative\"}}", t1.thread, t1.answer), 404, "not_found");
	ck_refused(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":"
	    "{\"thread_id\":\"%s\",\"item_ids\":[\"%s\",\"bogus\"],\"kind\":"
	    "\"negative\"}}", t1.thread, t1.answer), 404, "not_found");
	/* An item of another thread is not one of this thread's. */
	ck_refused(&a, harness_fmt("{\"type\":\"items.feedback\",\"params\":"
	    "{\"thread_id\":\"%s\",\"item_ids\":[\"%s\",\"%s\"],"
	    "\"kind\":\"negative\"}}", t1.thread, t1.answer, t3.answer), 404,
	    "not_found");
	native_feedback(&a, t1.thread, t1.answer, fb, sizeof(fb));
	assert_string_equal(fb, "positive");
	native_feedback(&a, t1.thread, t2.answer, fb, sizeof(fb));
	assert_string_equal(fb, "negative");
	native_feedback(&a, t3.thread, t3.answer, fb, sizeof(fb));
	assert_string_equal(fb, "");
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE user_id = $1::uuid AND feedback IS NOT NULL", a.user_id), 2);
}

/* Threads and items of `a', as rows, for "nothing changed". */
static void
snapshot(const struct harness_auth *a, char *out, size_t sz)
{
	const char	*p[1] = { a->user_id };

	out[0] = '\0';
	assert_true(harness_sql(&H, "SELECT coalesce((SELECT string_agg("
	    "api_thread(t)::text, ',' ORDER BY id) FROM threads t WHERE "
	    "user_id = $1::uuid), '') || coalesce((SELECT string_agg("
	    "api_item(i)::text || coalesce(i.data::text, ''), ',' ORDER BY "
	    "id) FROM items i WHERE user_id = $1::uuid), '') || (SELECT "
	    "count(*) FROM threads WHERE user_id = $1::uuid)::text", p, 1, out,
	    sz) == 1);
}

/* The body of a request of `type' on thread `thread' (items `u', `x'). */
static const char *
op_body(const char *type, const char *thread, const char *u, const char *x)
{
	if (strcmp(type, "threads.update") == 0)
		return harness_fmt("{\"type\":\"%s\",\"params\":{\"thread_id\":"
		    "\"%s\",\"title\":\"hacked\"}}", type, thread);
	if (strcmp(type, "items.feedback") == 0)
		return harness_fmt("{\"type\":\"%s\",\"params\":{\"thread_id\":"
		    "\"%s\",\"item_ids\":[\"%s\"],\"kind\":\"negative\"}}",
		    type, thread, x);
	if (strcmp(type, "threads.add_user_message") == 0)
		return turn_body(thread, "add stolen task");
	if (strcmp(type, "threads.retry_after_item") == 0)
		return harness_fmt("{\"type\":\"%s\",\"params\":{\"thread_id\":"
		    "\"%s\",\"item_id\":\"%s\"}}", type, thread, u);
	if (strcmp(type, "threads.custom_action") == 0)
		return harness_fmt("{\"type\":\"%s\",\"params\":{\"thread_id\":"
		    "\"%s\",\"item_id\":null,\"action\":{\"type\":"
		    "\"task.delete\",\"payload\":{\"id\":1}}}}", type, thread);
	return harness_fmt("{\"type\":\"%s\",\"params\":{\"thread_id\":"
	    "\"%s\"}}", type, thread);
}

static const char *const thread_ops[] = {
	"threads.get_by_id", "threads.update", "threads.delete", "items.list",
	"items.feedback", "threads.add_user_message",
	"threads.retry_after_item", "threads.custom_action"
};

/*
 * Another user's thread, an unknown one and ids that are no ids: 404
 * for every request that names a thread, streaming ones included (before
 * any stream), and the thread as it was.
 */
static void
test_not_found(void **state)
{
	static char		 before[16384], after[16384];
	static char		 body_before[8192];
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct turn		 t;
	char			 other[32];
	static const char *const bad_ids[] = {
		NO_THREAD, "thr_aaaaaaaaaaaaaaa", "thr_aaaaaaaaaaaaaaaaa",
		"THR_AAAAAAAAAAAAAAAA", "thr_aaaaaaaaaaaaaaa1",
		"msg_aaaaaaaaaaaaaaaa",
		"nope", "thr_../../etc/passwd"
	};
	size_t			 i, k;

	(void)state;
	harness_user(&H, "ck-nf-a", &a);
	harness_user(&H, "ck-nf-b", &b);
	turn(&a, NULL, "hello secret", &t);
	turn(&a, t.thread, "hello again", &t);
	native_thread(&b, other);
	snapshot(&a, before, sizeof(before));
	ck(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", t.thread), &r);
	want_json(&r);
	snprintf(body_before, sizeof(body_before), "%s", r.body);
	harness_resp_free(&r);

	for (i = 0; i < nitems(thread_ops); i++) {
		/* B on A's thread. */
		harness_req(&H, "POST", CK, op_body(thread_ops[i], t.thread,
		    t.user, t.answer), b.auth_header, ACCEPT_SSE, NULL, &r);
		harness_want_error(&H, &r, 404, "not_found");
		harness_resp_free(&r);
		/* A on no thread, and on ids of no shape. */
		for (k = 0; k < nitems(bad_ids); k++) {
			harness_req(&H, "POST", CK, op_body(thread_ops[i],
			    bad_ids[k], t.user, t.answer), a.auth_header,
			    ACCEPT_SSE, NULL, &r);
			harness_want_error(&H, &r, 404, "not_found");
			harness_resp_free(&r);
		}
		/* A on B's thread, with A's items named. */
		harness_req(&H, "POST", CK_OLD, op_body(thread_ops[i], other,
		    t.user, t.answer), a.auth_header, ACCEPT_SSE, NULL, &r);
		harness_want_error(&H, &r, 404, "not_found");
		harness_resp_free(&r);
	}
	snapshot(&a, after, sizeof(after));
	assert_string_equal(before, after);
	ck(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", t.thread), &r);
	want_json(&r);
	assert_string_equal(r.body, body_before);
	harness_resp_free(&r);
	/* B got nothing either: one empty thread, no items. */
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE user_id = $1::uuid", b.user_id), 0);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM threads "
	    "WHERE user_id = $1::uuid AND title IS NULL AND deleted_at IS "
	    "NULL", b.user_id), 1);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE user_id = $1::uuid", b.user_id), 0);
}

/*
 * Whether `r' is the error envelope `code' with `status' (and a details
 * member `key' when not NULL); when not, says so for request `what'.
 */
static bool
refused(struct harness_resp *r, const char *what, long status,
    const char *code, const char *key)
{
	if (r->status == status && harness_is_envelope(r, code) &&
	    (key == NULL || detail(r, key) != NULL))
		return true;
	fprintf(stderr, "REFUSAL %s: want %ld %s%s%s; got %ld %s\n", what,
	    status, code, key != NULL ? " details." : "", key != NULL ? key :
	    "", r->status, r->body != NULL ? r->body : "");
	return false;
}

/*
 * What is refused before anything happens: no auth, bodies that are no
 * request, unknown types, bad params. Each gets the JSON envelope and
 * leaves no row behind.
 */
static void
test_request_errors(void **state)
{
	static const char *const bad400[] = {
		"{\"type\":", "{\"type\":\"threads.list\",\"params\":{}",
		"null", "{\"params\":{}}", "{\"type\":5,\"params\":{}}",
		"{\"type\":null,\"params\":{}}",
		"{\"type\":[\"threads.list\"],\"params\":{}}",
		"{\"type\":\"\",\"params\":{}}",
		"{\"type\":\"threads.create\",\"params\":{\"input\":",
	};
	/* JSON that is not an object: 422, as on every quipu route. */
	static const char *const notobject[] = {
		"[]", "\"threads.list\"", "42",
		"[{\"type\":\"threads.list\",\"params\":{}}]",
	};
	static const char *const badparams[] = {
		"{\"type\":\"threads.list\"}",
		"{\"type\":\"threads.list\",\"params\":null}",
		"{\"type\":\"threads.list\",\"params\":[]}",
		"{\"type\":\"threads.list\",\"params\":\"x\"}",
		"{\"type\":\"threads.get_by_id\",\"params\":5}",
		"{\"type\":\"threads.create\"}",
		"{\"type\":\"threads.create\",\"params\":[{\"input\":{}}]}",
		"{\"type\":\"items.list\",\"params\":true}",
	};
	/*
	 * A request (@T: a thread of the user's, @A: an answer in it),
	 * and the details key it must name ("" for any).
	 */
	static const struct {
		const char	*body;
		const char	*key;
	} bad422[] = {
		{ "{\"type\":\"threads.get_by_id\",\"params\":{}}",
		  "thread_id" },
		{ "{\"type\":\"threads.get_by_id\",\"params\":{\"thread_id\":"
		  "5}}", "thread_id" },
		{ "{\"type\":\"threads.get_by_id\",\"params\":{\"thread_id\":"
		  "null}}", "thread_id" },
		{ "{\"type\":\"items.list\",\"params\":{\"thread_id\":[\""
		  NO_THREAD "\"]}}", "thread_id" },
		{ "{\"type\":\"threads.delete\",\"params\":{\"thread_id\":{}}}",
		  "thread_id" },
		{ "{\"type\":\"threads.list\",\"params\":{\"limit\":\"x\"}}",
		  "limit" },
		{ "{\"type\":\"threads.list\",\"params\":{\"limit\":1.5}}",
		  "limit" },
		{ "{\"type\":\"threads.list\",\"params\":{\"order\":5}}",
		  "order" },
		{ "{\"type\":\"threads.list\",\"params\":{\"order\":\"ASC\"}}",
		  "order" },
		{ "{\"type\":\"threads.create\",\"params\":{}}", "" },
		{ "{\"type\":\"threads.create\",\"params\":{\"input\":{"
		  "\"content\":\"hello\",\"attachments\":[],"
		  "\"inference_options\":{}}}}", "input.content" },
		{ "{\"type\":\"threads.create\",\"params\":{\"input\":{"
		  "\"content\":[{\"type\":\"input_text\",\"text\":5}],"
		  "\"attachments\":[],\"inference_options\":{}}}}",
		  "input.content[0].text" },
		{ "{\"type\":\"threads.create\",\"params\":{\"input\":{"
		  "\"content\":[{\"type\":\"input_nope\",\"text\":\"x\"}],"
		  "\"attachments\":[],\"inference_options\":{}}}}",
		  "input.content[0]" },
		{ "{\"type\":\"threads.create\",\"params\":{\"input\":5}}",
		  "" },
		{ "{\"type\":\"threads.add_user_message\",\"params\":{"
		  "\"input\":{\"content\":[{\"type\":\"input_text\",\"text\":"
		  "\"x\"}],\"attachments\":[],\"inference_options\":{}}}}",
		  "thread_id" },
		{ "{\"type\":\"items.feedback\",\"params\":{\"thread_id\":"
		  "\"@T\",\"item_ids\":[\"@A\"],\"kind\":\"meh\"}}",
		  "kind" },
		{ "{\"type\":\"threads.update\",\"params\":{\"thread_id\":"
		  "\"@T\",\"title\":7}}", "title" },
		{ "{\"type\":\"threads.add_user_message\",\"params\":{"
		  "\"thread_id\":\"@T\",\"input\":{\"content\":{},"
		  "\"attachments\":[],\"inference_options\":{}}}}",
		  "input.content" },
	};
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct turn		 t;
	char			 before[16384], after[16384];
	const char		*body;
	size_t			 i;
	int			 wrong = 0;

	(void)state;
	harness_user(&H, "ck-errors", &a);
	turn(&a, NULL, "hello errors", &t);
	snapshot(&a, before, sizeof(before));

	/* Nobody: 401, whatever the body. */
	ck_refused(NULL, "{\"type\":\"threads.list\",\"params\":{}}", 401,
	    "unauthorized");
	harness_req(&H, "POST", CK, turn_body(NULL, "hello"), ACCEPT_SSE, NULL,
	    NULL, &r);
	harness_want_error(&H, &r, 401, "unauthorized");
	harness_resp_free(&r);
	harness_req(&H, "POST", CK, "{\"type\":\"threads.list\",\"params\":"
	    "{}}", "Authorization: Bearer not-a-token", NULL, NULL, &r);
	harness_want_error(&H, &r, 401, "unauthorized");
	harness_resp_free(&r);
	ck(NULL, "{\"type\":", &r);
	harness_want(&H, &r, 401);
	harness_resp_free(&r);

	/* Every refusal is tried; the wrong answers are told, then fail. */
	for (i = 0; i < nitems(bad400); i++) {
		ck(&a, bad400[i], &r);
		wrong += !refused(&r, bad400[i], 400, "bad_request", NULL);
		harness_resp_free(&r);
	}
	for (i = 0; i < nitems(notobject); i++) {
		ck(&a, notobject[i], &r);
		wrong += !refused(&r, notobject[i], 422, "validation_failed",
		    NULL);
		harness_resp_free(&r);
	}
	/* The message names an unknown type. */
	ck(&a, "{\"type\":\"threads.nope\",\"params\":{}}", &r);
	wrong += !refused(&r, "threads.nope", 400, "bad_request", NULL);
	if (r.status == 400 && (harness_resp_str(&r, "error.message") == NULL ||
	    strstr(harness_resp_str(&r, "error.message"), "threads.nope") ==
	    NULL)) {
		fprintf(stderr, "threads.nope: message names no type: %s\n",
		    r.body);
		wrong++;
	}
	harness_resp_free(&r);
	harness_req(&H, "POST", CK, "{\"type\":\"threads.stream\",\"params\":"
	    "{}}", a.auth_header, ACCEPT_SSE, NULL, &r);
	wrong += !refused(&r, "threads.stream", 400, "bad_request", NULL);
	harness_resp_free(&r);
	for (i = 0; i < nitems(badparams); i++) {
		harness_req(&H, "POST", CK, badparams[i], a.auth_header,
		    ACCEPT_SSE, NULL, &r);
		wrong += !refused(&r, badparams[i], 422, "validation_failed",
		    "params");
		harness_resp_free(&r);
	}
	for (i = 0; i < nitems(bad422); i++) {
		body = subst(bad422[i].body, t.thread, t.answer);
		harness_req(&H, "POST", CK, body, a.auth_header, ACCEPT_SSE,
		    NULL, &r);
		wrong += !refused(&r, body, 422, "validation_failed",
		    bad422[i].key[0] != '\0' ? bad422[i].key : NULL);
		harness_resp_free(&r);
	}
	snapshot(&a, after, sizeof(after));
	assert_string_equal(before, after);

	/* Extra members, and a top-level metadata, are ignored. */
	ck(&a, "{\"type\":\"threads.list\",\"params\":{}}", &r);
	want_json(&r);
	snprintf(before, sizeof(before), "%s", r.body);
	harness_resp_free(&r);
	ck(&a, "{\"type\":\"threads.list\",\"params\":{\"x\":1},\"metadata\":"
	    "{\"source\":\"test\",\"n\":[1,null]},\"extra\":true}", &r);
	want_json(&r);
	assert_string_equal(r.body, before);
	harness_resp_free(&r);
	ck(&a, "{\"metadata\":{},\"params\":{},\"type\":\"threads.list\"}",
	    &r);
	want_json(&r);
	assert_string_equal(r.body, before);
	harness_resp_free(&r);
	/* The session cookie does as well as the bearer token. */
	harness_req(&H, "POST", CK, "{\"type\":\"threads.list\",\"params\":{}}",
	    a.cookie, "Origin: " HARNESS_ORIGIN, NULL, &r);
	want_json(&r);
	assert_string_equal(r.body, before);
	harness_resp_free(&r);
	/* The refusals above that were wrong (each told on stderr). */
	assert_int_equal(wrong, 0);
}

/*
 * JSON kept byte for byte: a text with quotes, backslashes, a newline, a
 * tab and an emoji, and an input tag whose data holds floats written
 * with trailing zeros, an exponent, nested arrays, a slash, unicode
 * escapes and a null. items.list and get_by_id give them back as sent.
 */
#define U_TEXT	"{\"type\":\"input_text\",\"text\":" \
		"\"She said \\\"hi\\\" \\\\ C:\\\\tmp\\nnext line\\tend " \
		"\xf0\x9f\x98\x80 caf\xc3\xa9\"}"
#define U_DATA	"{\"price\":1.50,\"rate\":2.250,\"big\":1E+2," \
		"\"neg\":-0.0," \
		"\"nested\":[[1,[2,[3.0,\"x\"]]],[],{}],\"url\":\"a/b\"," \
		"\"name\":\"caf\\u00e9 \\ud83d\\ude00\",\"n\":null,\"e\":{}}"
#define U_TAG	"{\"type\":\"input_tag\",\"id\":\"tag-1\",\"text\":" \
		"\"Caf\xc3\xa9 \xe2\x98\x95\",\"data\":" U_DATA "," \
		"\"group\":\"g1\",\"interactive\":false}"
#define U_PARTS	"[" U_TEXT "," U_TAG "]"

static void
test_unicode(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*it, *c, *want;
	struct turn		 t;
	const char		*body;

	(void)state;
	harness_user(&H, "ck-unicode", &a);
	body = "{\"type\":\"threads.create\",\"params\":{\"input\":{"
	    "\"content\":" U_PARTS ",\"attachments\":[],"
	    "\"quoted_text\":\"Q: \\\"x\\\"\",\"inference_options\":{}}},"
	    "\"metadata\":{\"from\":\"test\",\"v\":1.0}}";
	assert_non_null(want = json_tokener_parse(U_PARTS));
	turn_raw(&a, CK, body, &t);

	ck(&a, list_body(t.thread, "asc", 0, NULL), &r);
	want_json(&r);
	it = json_object_array_get_idx(page(harness_resp_json(&r), 20), 0);
	assert_string_equal(item_is(it, t.thread), "user_message");
	assert_string_equal(sget(it, "id"), t.user);
	c = aget(it, "content");
	/* The values first, then the bytes. */
	assert_int_equal(json_object_array_length(c), 2);
	assert_string_equal(sget(json_object_array_get_idx(c, 0), "text"),
	    "She said \"hi\" \\ C:\\tmp\nnext line\tend \xf0\x9f\x98\x80 "
	    "caf\xc3\xa9");
	assert_string_equal(sget(get(json_object_array_get_idx(c, 1), "data"),
	    "name"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
	assert_true(json_object_equal(c, want));
	assert_string_equal(sget(it, "quoted_text"), "Q: \"x\"");
	assert_null(strstr(r.body, "\"from\""));
	if (strstr(r.body, "\"data\":" U_DATA) == NULL)
		fprintf(stderr, "data not as sent: %s\n", r.body);
	assert_non_null(strstr(r.body, "\"data\":" U_DATA));
	if (strstr(r.body, "\"content\":" U_PARTS) == NULL)
		fprintf(stderr, "content not as sent: %s\n", r.body);
	assert_non_null(strstr(r.body, "\"content\":" U_PARTS));
	harness_resp_free(&r);

	ck(&a, harness_fmt("{\"type\":\"threads.get_by_id\",\"params\":"
	    "{\"thread_id\":\"%s\"},\"metadata\":{\"x\":[1]}}", t.thread), &r);
	want_json(&r);
	assert_non_null(strstr(r.body, "\"content\":" U_PARTS));
	harness_resp_free(&r);
	json_object_put(want);

	/* A second message of the same parts, by add_user_message. */
	body = harness_fmt("{\"type\":\"threads.add_user_message\",\"params\":{"
	    "\"thread_id\":\"%s\",\"input\":{\"content\":" U_PARTS ","
	    "\"attachments\":[],\"inference_options\":{}}},\"metadata\":{}}",
	    t.thread);
	turn_raw(&a, CK_OLD, body, &t);
	ck(&a, list_body(t.thread, NULL, 2, NULL), &r);
	want_json(&r);
	it = json_object_array_get_idx(page(harness_resp_json(&r), 2), 1);
	assert_string_equal(sget(it, "id"), t.user);
	assert_false(has(it, "quoted_text"));
	assert_non_null(strstr(r.body, "\"content\":" U_PARTS));
	assert_true(no_nulls(harness_resp_json(&r), "items.list"));
	harness_resp_free(&r);
}

/* /api/chatkit and /api/v1/chatkit: the same answers. */
static void
test_paths(void **state)
{
	static const char *const reqs[] = {
		"{\"type\":\"threads.get_by_id\",\"params\":{\"thread_id\":"
		"\"@T\"}}",
		"{\"type\":\"items.list\",\"params\":{\"thread_id\":\"@T\","
		"\"order\":\"asc\",\"limit\":3}}",
		"{\"type\":\"threads.list\",\"params\":{\"limit\":5}}",
		"{\"type\":\"threads.nope\",\"params\":{\"thread_id\":\"@T\"}}",
		"{\"type\":\"threads.list\"}",
		"{\"type\":\"threads.get_by_id\",\"params\":{\"thread_id\":"
		"\"x@T\"}}",
		"{\"type\":\"threads.list\",\"params\":{\"limit\":-5}}",
	};
	struct harness_auth	 a, b;
	struct harness_resp	 r1, r2;
	struct turn		 t;
	const char		*body;
	size_t			 i;

	(void)state;
	harness_user(&H, "ck-paths", &a);
	harness_user(&H, "ck-paths-b", &b);
	turn_raw(&a, CK_OLD, turn_body(NULL, "hello paths"), &t);
	turn(&a, t.thread, "hello again", &t);

	for (i = 0; i < nitems(reqs); i++) {
		body = subst(reqs[i], t.thread, NULL);
		ck_at(&a, CK_OLD, body, &r1);
		ck_at(&a, CK, body, &r2);
		assert_int_equal(r1.status, r2.status);
		if (r1.status == 200) {
			assert_string_equal(r1.body, r2.body);
		} else {
			assert_string_equal(harness_resp_str(&r1, "error.code"),
			    harness_resp_str(&r2, "error.code"));
			assert_string_equal(harness_resp_str(&r1,
			    "error.message"), harness_resp_str(&r2,
			    "error.message"));
			assert_true(harness_is_envelope(&r1,
			    harness_resp_str(&r1, "error.code")));
		}
		harness_resp_free(&r1);
		harness_resp_free(&r2);
		/* Nobody, and somebody else. */
		ck_at(NULL, CK_OLD, body, &r1);
		harness_want_error(&H, &r1, 401, "unauthorized");
		harness_resp_free(&r1);
	}
	ck_at(&b, CK_OLD, subst(reqs[0], t.thread, NULL), &r1);
	harness_want_error(&H, &r1, 404, "not_found");
	harness_resp_free(&r1);

	/* Changes through the old path show through the new one. */
	ck_at(&a, CK_OLD, harness_fmt("{\"type\":\"threads.update\",\"params\":"
	    "{\"thread_id\":\"%s\",\"title\":\"Old path\"}}", t.thread), &r1);
	want_json(&r1);
	empty_page(thread_is(harness_resp_json(&r1), t.thread, "Old path"));
	harness_resp_free(&r1);
	ck_at(&a, CK_OLD, harness_fmt("{\"type\":\"items.feedback\",\"params\":"
	    "{\"thread_id\":\"%s\",\"item_ids\":[\"%s\"],\"kind\":"
	    "\"positive\"}}", t.thread, t.answer), &r1);
	want_json(&r1);
	assert_int_equal(json_object_object_length(harness_resp_json(&r1)), 0);
	harness_resp_free(&r1);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE id = $1 AND feedback = 'positive'", t.answer), 1);
	ck(&a, subst(reqs[0], t.thread, NULL), &r2);
	want_json(&r2);
	assert_string_equal(sget(harness_resp_json(&r2), "title"), "Old path");
	harness_resp_free(&r2);
	ck_at(&a, CK_OLD, harness_fmt("{\"type\":\"threads.delete\",\"params\":"
	    "{\"thread_id\":\"%s\"}}", t.thread), &r1);
	want_json(&r1);
	assert_int_equal(json_object_object_length(harness_resp_json(&r1)), 0);
	harness_resp_free(&r1);
	ck(&a, subst(reqs[0], t.thread, NULL), &r2);
	harness_want_error(&H, &r2, 404, "not_found");
	harness_resp_free(&r2);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_by_id),
		cmocka_unit_test(test_threads_list),
		cmocka_unit_test(test_items_list),
		cmocka_unit_test(test_items_hidden),
		cmocka_unit_test(test_update_delete),
		cmocka_unit_test(test_feedback),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_unicode),
		cmocka_unit_test(test_paths),
	};
	static const struct harness_group group = {
		"test_chatkit", EXTRA, true, NULL, NULL
	};

	return harness_run(&H, &group, tests, nitems(tests));
}
