/*
 * test_tasks.c: the tasks API through nginx against a real PostgreSQL, as
 * doc/api.md ("Tasks") promises it: create and how it normalises a task,
 * the rules of every field, get, PUT, PATCH, complete, delete, ids that
 * are no ids, other users' tasks, bulk actions (all or nothing),
 * idempotent creates, the routes with the user id in the path and the
 * CSRF rule for the access cookie.
 *
 * Every refusal is checked twice: its answer, and the rows read back
 * from the database (the count of all tasks, and the whole row of the
 * task it aimed at), so "nothing is written" is seen, not assumed.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

static struct harness	 H;

#define P_TASKS		"/api/v1/tasks"
#define P_BULK		"/api/v1/tasks/bulk"
#define JSON_CT		"Content-Type: application/json"
#define ORIGIN_OK	"Origin: " HARNESS_ORIGIN
#define ORIGIN_EVIL	"Origin: http://evil.example"
#define PW		"pw-Tasks-0000001"

/* A stored row as text: a 2000-character description fits. */
#define ROWSZ		16384
/* Pauses so that a change lands on a later millisecond. */
#define TICK_MS		5
/* The largest id there is (2^63 - 1): never a task of this program. */
#define ID_MAX		"9223372036854775807"

/* ------------------------------------------------------------- requests */

/* The last request, named when its status is not the one wanted. */
static char	 last_req[200];

/* One request (harness_req), remembered for failure messages. */
static void
req(const char *method, const char *path, const char *body, const char *h1,
    const char *h2, const char *h3, struct harness_resp *r)
{
	snprintf(last_req, sizeof(last_req), "%.8s %.100s %.80s", method, path,
	    body != NULL ? body : "");
	harness_req(&H, method, path, body, h1, h2, h3, r);
}

/* The status must be `status'; else says what came instead. */
static void
want(struct harness_resp *r, long status)
{
	if (r->status != status)
		fprintf(stderr, "%s: status %ld, want %ld: %.600s\n",
		    last_req, r->status, status,
		    r->body != NULL ? r->body : "");
	assert_int_equal(r->status, status);
}

static const char *
bearer(const struct harness_auth *a)
{
	return a != NULL ? a->auth_header : NULL;
}

/* printf into a new string. Caller frees. */
static char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	assert_true(n >= 0);
	assert_non_null(s = malloc((size_t)n + 1));
	va_start(ap, f);
	assert_int_equal(vsnprintf(s, (size_t)n + 1, f, ap), n);
	va_end(ap);
	return s;
}

static void
user(const char *name, struct harness_auth *a)
{
	assert_int_equal(harness_register(&H, name, PW, a), 0);
}

/* "/api/v1/tasks/<id><suffix>" into `buf'. */
static const char *
tpath(char *buf, size_t sz, int64_t id, const char *suffix)
{
	snprintf(buf, sz, P_TASKS "/%lld%s", (long long)id,
	    suffix != NULL ? suffix : "");
	return buf;
}

static bool
jbool(struct json_object *o, const char *key)
{
	struct json_object	*v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

/* A copy of string member `key' (it must be one) into `out'. */
static void
jcopy(struct json_object *o, const char *key, char *out, size_t sz)
{
	const char	*s = harness_json_str(o, key);

	assert_non_null(s);
	assert_true(strlen(s) < sz);
	snprintf(out, sz, "%s", s);
}

/* "2026-11-22T10:30:00.123Z" */
static bool
is_time(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != 24)
		return false;
	for (i = 0; i < 24; i++) {
		switch (i) {
		case 4:
		case 7:
			if (s[i] != '-')
				return false;
			break;
		case 10:
			if (s[i] != 'T')
				return false;
			break;
		case 13:
		case 16:
			if (s[i] != ':')
				return false;
			break;
		case 19:
			if (s[i] != '.')
				return false;
			break;
		case 23:
			if (s[i] != 'Z')
				return false;
			break;
		default:
			if (!isdigit((unsigned char)s[i]))
				return false;
		}
	}
	return true;
}

static const char *const task_keys[] = { "id", "title", "description",
    "completed", "priority", "due_at", "tags", "created_at", "updated_at",
    "completed_at", NULL };

/* A task as doc/api.md shows it: its ten fields, each of its type. */
static void
check_task(struct json_object *t)
{
	struct json_object	*v, *e;
	const char		*p;
	size_t			 i;

	assert_non_null(t);
	assert_true(json_object_is_type(t, json_type_object));
	/* Exactly those: no user_id, no search words leak out. */
	if (json_object_object_length(t) != 10)
		fprintf(stderr, "task with %d fields: %s\n",
		    json_object_object_length(t),
		    json_object_to_json_string(t));
	assert_int_equal(json_object_object_length(t), 10);
	for (i = 0; task_keys[i] != NULL; i++)
		assert_true(json_object_object_get_ex(t, task_keys[i], &v));
	assert_true(harness_json_int(t, "id") > 0);
	assert_non_null(harness_json_str(t, "title"));
	assert_true(harness_json_is_null(t, "description") ||
	    harness_json_str(t, "description") != NULL);
	(void)jbool(t, "completed");
	assert_non_null(p = harness_json_str(t, "priority"));
	assert_true(strcmp(p, "none") == 0 || strcmp(p, "low") == 0 ||
	    strcmp(p, "medium") == 0 || strcmp(p, "high") == 0);
	assert_true(harness_json_is_null(t, "due_at") ||
	    is_time(harness_json_str(t, "due_at")));
	v = json_object_object_get(t, "tags");
	assert_true(json_object_is_type(v, json_type_array));
	for (i = 0; i < json_object_array_length(v); i++) {
		e = json_object_array_get_idx(v, i);
		assert_true(json_object_is_type(e, json_type_string));
	}
	assert_true(is_time(harness_json_str(t, "created_at")));
	assert_true(is_time(harness_json_str(t, "updated_at")));
	assert_true(strcmp(harness_json_str(t, "updated_at"),
	    harness_json_str(t, "created_at")) >= 0);
	if (jbool(t, "completed"))
		assert_true(is_time(harness_json_str(t, "completed_at")));
	else
		assert_true(harness_json_is_null(t, "completed_at"));
}

/* Whether the tags of `t' are exactly the `n' strings given, any order. */
static bool
tags_are(struct json_object *t, size_t n, ...)
{
	struct json_object	*v = json_object_object_get(t, "tags");
	const char		*want;
	va_list			 ap;
	size_t			 i, j;
	bool			 ok = true;

	if (!json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != n)
		ok = false;
	va_start(ap, n);
	for (i = 0; ok && i < n; i++) {
		want = va_arg(ap, const char *);
		for (j = 0; j < n; j++)
			if (strcmp(json_object_get_string(
			    json_object_array_get_idx(v, j)), want) == 0)
				break;
		ok = j < n;
	}
	va_end(ap);
	if (!ok)
		fprintf(stderr, "tags: %s\n", json_object_to_json_string(v));
	return ok;
}

/* Whether task `t' carries tag `tag'. */
static bool
has_tag(struct json_object *t, const char *tag)
{
	struct json_object	*v = json_object_object_get(t, "tags");
	size_t			 i;

	for (i = 0; i < json_object_array_length(v); i++)
		if (strcmp(json_object_get_string(
		    json_object_array_get_idx(v, i)), tag) == 0)
			return true;
	return false;
}

/* Every field of tasks `x' and `y' but those in `skip' is equal. */
static void
same_but(struct json_object *x, struct json_object *y,
    const char *const *skip)
{
	size_t	 i, j;
	bool	 skipped;

	for (i = 0; task_keys[i] != NULL; i++) {
		skipped = false;
		for (j = 0; skip != NULL && skip[j] != NULL; j++)
			if (strcmp(skip[j], task_keys[i]) == 0)
				skipped = true;
		if (skipped)
			continue;
		if (!json_object_equal(json_object_object_get(x, task_keys[i]),
		    json_object_object_get(y, task_keys[i])))
			fprintf(stderr, "field %s differs: %s / %s\n",
			    task_keys[i], json_object_to_json_string(x),
			    json_object_to_json_string(y));
		assert_true(json_object_equal(
		    json_object_object_get(x, task_keys[i]),
		    json_object_object_get(y, task_keys[i])));
	}
}

/*
 * The integers a details member names: an array of them (or of strings
 * of digits), one number, or the numbers written in a message.
 */
static size_t
ids_named(struct json_object *v, int64_t *out, size_t max)
{
	struct json_object	*e;
	const char		*s;
	char			*end;
	size_t			 n = 0, i;

	if (v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		out[0] = json_object_get_int64(v);
		return 1;
	}
	if (json_object_is_type(v, json_type_array)) {
		for (i = 0; i < json_object_array_length(v) && n < max; i++) {
			e = json_object_array_get_idx(v, i);
			if (json_object_is_type(e, json_type_int))
				out[n++] = json_object_get_int64(e);
			else if (json_object_is_type(e, json_type_string))
				out[n++] = strtoll(json_object_get_string(e),
				    NULL, 10);
		}
		return n;
	}
	for (s = json_object_get_string(v); *s != '\0' && n < max; ) {
		if (isdigit((unsigned char)*s)) {
			out[n++] = strtoll(s, &end, 10);
			s = end;
		} else
			s++;
	}
	return n;
}

/* ------------------------------------------------------------- rows */

/* What a refusal must leave alone: the number of tasks, one whole row. */
struct snap {
	long	 ntasks;
	char	 row[ROWSZ];
};

/* The stored row of task `id' as text ("" when there is none). */
static void
row_of(int64_t id, char *out, size_t sz)
{
	char		 s[32];
	const char	*p = s;

	snprintf(s, sizeof(s), "%lld", (long long)id);
	assert_true(harness_sql(&H, "SELECT t::text FROM tasks t "
	    "WHERE id = $1::bigint", &p, 1, out, sz) >= 0);
}

/* One statement, so one connection: a refusal is checked many times. */
static void
snap_take(int64_t id, struct snap *s)
{
	char		 ids[32], out[ROWSZ + 32], *bar;
	const char	*p = ids;

	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	assert_int_equal(harness_sql(&H, "SELECT (SELECT count(*) FROM tasks)"
	    " || '|' || coalesce((SELECT t::text FROM tasks t WHERE "
	    "id = $1::bigint), '')", &p, 1, out, sizeof(out)), 1);
	assert_non_null(bar = strchr(out, '|'));
	*bar = '\0';
	s->ntasks = atol(out);
	assert_true(strlen(bar + 1) < sizeof(s->row));
	snprintf(s->row, sizeof(s->row), "%s", bar + 1);
}

static void
snap_same(int64_t id, const struct snap *s0)
{
	struct snap	 s1;

	snap_take(id, &s1);
	assert_int_equal(s1.ntasks, s0->ntasks);
	if (strcmp(s1.row, s0->row) != 0)
		fprintf(stderr, "%s: row %lld changed:\n  %s\n  %s\n",
		    last_req, (long long)id, s0->row, s1.row);
	assert_string_equal(s1.row, s0->row);
}

/* The state of task `id' in the database: -1 gone, 0 open, 1 completed. */
static int
state_of(int64_t id)
{
	char		 s[32], out[8];
	const char	*p = s;
	int		 n;

	snprintf(s, sizeof(s), "%lld", (long long)id);
	n = harness_sql(&H, "SELECT CASE WHEN completed AND completed_at IS "
	    "NOT NULL THEN 1 WHEN NOT completed AND completed_at IS NULL "
	    "THEN 0 ELSE 2 END FROM tasks WHERE id = $1::bigint", &p, 1, out,
	    sizeof(out));
	assert_true(n >= 0);
	return n == 0 ? -1 : atoi(out);
}

static long
ntasks(const struct harness_auth *a)
{
	return harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE user_id = $1", a->user_id);
}

/* ------------------------------------------------------------- tasks */

/*
 * POST `body' as `a' (201 expected, with its Location): the new task's
 * id; the answer stays in `r' when not NULL.
 */
static int64_t
create(const struct harness_auth *a, const char *body, struct harness_resp *r)
{
	struct harness_resp	 tmp, *rr = r != NULL ? r : &tmp;
	const char		*loc;
	char			 path[64];
	int64_t			 id;

	req("POST", P_TASKS, body, bearer(a), NULL, NULL, rr);
	want(rr, 201);
	check_task(harness_resp_json(rr));
	id = harness_json_int(harness_resp_json(rr), "id");
	assert_non_null(loc = harness_resp_header(rr, "Location"));
	assert_string_equal(loc, tpath(path, sizeof(path), id, NULL));
	if (r == NULL)
		harness_resp_free(&tmp);
	return id;
}

/* GET task `id' as `a': 200 and a task, into `r'. */
static void
get_task(const struct harness_auth *a, int64_t id, struct harness_resp *r)
{
	char	 path[64];

	req("GET", tpath(path, sizeof(path), id, NULL), NULL, bearer(a), NULL,
	    NULL, r);
	want(r, 200);
	check_task(harness_resp_json(r));
	assert_int_equal(harness_json_int(harness_resp_json(r), "id"), id);
}

/* A request as `a' that must answer 200 with task `id', into `r'. */
static void
edit(const struct harness_auth *a, const char *method, int64_t id,
    const char *suffix, const char *body, struct harness_resp *r)
{
	char	 path[80];

	req(method, tpath(path, sizeof(path), id, suffix), body, bearer(a),
	    NULL, NULL, r);
	want(r, 200);
	check_task(harness_resp_json(r));
	assert_int_equal(harness_json_int(harness_resp_json(r), "id"), id);
}

/*
 * A request that must be refused with `status' and `code' (with
 * details.`field' when not NULL) and change nothing: all tasks are
 * counted and task `id' (when > 0) is read back before and after. `hdr'
 * (may be NULL) is one more header line.
 */
static void
refused(const struct harness_auth *a, const char *method, const char *path,
    const char *body, const char *hdr, long status, const char *code,
    const char *field, int64_t id)
{
	struct harness_resp	 r;
	struct snap		 s0;
	char			 key[96];
	long			 got;
	bool			 env, named = true, loc;

	snap_take(id, &s0);
	req(method, path, body, bearer(a), hdr, NULL, &r);
	if ((got = r.status) != status)
		fprintf(stderr, "%s: status %ld, want %ld: %.600s\n",
		    last_req, r.status, status, r.body);
	env = harness_is_envelope(&r, code);
	if (field != NULL) {
		snprintf(key, sizeof(key), "error.details.%s", field);
		if ((named = harness_resp_str(&r, key) != NULL) == false)
			fprintf(stderr, "%s: no %s: %.600s\n", last_req, key,
			    r.body);
	}
	loc = harness_resp_header(&r, "Location") != NULL;
	/* Freed first: a failed assertion leaves no leak report behind. */
	harness_resp_free(&r);
	assert_int_equal(got, status);
	assert_true(env);
	assert_true(named);
	assert_false(loc);
	snap_same(id, &s0);
}

/* refused() for a task body sent to POST /api/v1/tasks as `a'. */
static void
bad_create(const struct harness_auth *a, const char *body, long status,
    const char *code, const char *field)
{
	refused(a, "POST", P_TASKS, body, NULL, status, code, field, 0);
}

/* ------------------------------------------------------------- create */

static void
test_create(void **state)
{
	struct harness_resp	 r, g;
	struct harness_auth	 a;
	struct json_object	*t;
	char			 path[64], ids[32], n[16];
	const char		*p = ids, *pp[2];
	int64_t			 id, id2;
	long			 before;

	(void)state;
	user("crud_create", &a);
	before = ntasks(&a);

	/* Trimmed title, "" description, an offset, repeated tags. */
	req("POST", P_TASKS, "{\"title\":\"  Buy milk \\t\","
	    "\"description\":\"\",\"due_at\":\"2026-11-23T17:00:00+01:00\","
	    "\"tags\":[\" home \",\"errand\",\"home\",\"errand  \"]}",
	    a.auth_header, "Content-Type: application/json; charset=utf-8",
	    NULL, &r);
	want(&r, 201);
	t = harness_resp_json(&r);
	check_task(t);
	id = harness_json_int(t, "id");
	assert_string_equal(harness_resp_header(&r, "Location"),
	    tpath(path, sizeof(path), id, NULL));
	assert_string_equal(harness_json_str(t, "title"), "Buy milk");
	assert_true(harness_json_is_null(t, "description"));
	assert_false(jbool(t, "completed"));
	assert_string_equal(harness_json_str(t, "priority"), "none");
	assert_string_equal(harness_json_str(t, "due_at"),
	    "2026-11-23T16:00:00.000Z");
	assert_true(tags_are(t, 2, "home", "errand"));
	assert_string_equal(harness_json_str(t, "created_at"),
	    harness_json_str(t, "updated_at"));
	assert_true(harness_json_is_null(t, "completed_at"));
	assert_int_equal(ntasks(&a), before + 1);
	/* Stored as answered, for this user. */
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE id = $1::bigint AND title = 'Buy milk' AND "
	    "description IS NULL AND NOT completed AND priority = 'none' AND "
	    "due_at = '2026-11-23T16:00:00Z' AND cardinality(tags) = 2 AND "
	    "tags @> ARRAY['home', 'errand'] AND completed_at IS NULL",
	    p), 1);
	pp[0] = ids;
	pp[1] = a.user_id;
	assert_int_equal(harness_sql(&H, "SELECT count(*) FROM tasks "
	    "WHERE id = $1::bigint AND user_id = $2::uuid", pp, 2, n,
	    sizeof(n)), 1);
	assert_string_equal(n, "1");
	/* GET answers the same task, and HEAD its headers only. */
	get_task(&a, id, &g);
	assert_true(json_object_equal(harness_resp_json(&g), t));
	harness_resp_free(&g);
	harness_resp_free(&r);
	req("HEAD", path, NULL, a.auth_header, NULL, NULL, &r);
	want(&r, 200);
	assert_int_equal(r.body_len, 0);
	harness_resp_free(&r);

	/* Created completed: completed_at set; fractions of a second kept. */
	id2 = create(&a, "{\"title\":\"Pay rent\",\"description\":\"Two "
	    "months\",\"completed\":true,\"priority\":\"high\","
	    "\"due_at\":\"2026-11-23T17:00:00.123456-02:30\","
	    "\"tags\":[]}", &r);
	assert_true(id2 > id);
	t = harness_resp_json(&r);
	assert_string_equal(harness_json_str(t, "title"), "Pay rent");
	assert_string_equal(harness_json_str(t, "description"), "Two months");
	assert_true(jbool(t, "completed"));
	assert_true(is_time(harness_json_str(t, "completed_at")));
	assert_true(strcmp(harness_json_str(t, "completed_at"),
	    harness_json_str(t, "created_at"))
	    >= 0);
	assert_string_equal(harness_json_str(t, "priority"), "high");
	assert_string_equal(harness_json_str(t, "due_at"),
	    "2026-11-23T19:30:00.123Z");
	assert_true(tags_are(t, 0));
	harness_resp_free(&r);

	/* The defaults, and null where null means the default. */
	create(&a, "{\"title\":\"x\"}", &r);
	t = harness_resp_json(&r);
	assert_string_equal(harness_json_str(t, "title"), "x");
	assert_true(harness_json_is_null(t, "description"));
	assert_false(jbool(t, "completed"));
	assert_string_equal(harness_json_str(t, "priority"), "none");
	assert_true(harness_json_is_null(t, "due_at"));
	assert_true(tags_are(t, 0));
	assert_true(harness_json_is_null(t, "completed_at"));
	harness_resp_free(&r);
	create(&a, "{\"title\":\"y\",\"description\":null,\"due_at\":null,"
	    "\"tags\":null,\"completed\":false,\"priority\":\"medium\"}", &r);
	t = harness_resp_json(&r);
	assert_true(harness_json_is_null(t, "description"));
	assert_true(harness_json_is_null(t, "due_at"));
	assert_true(tags_are(t, 0));
	assert_string_equal(harness_json_str(t, "priority"), "medium");
	harness_resp_free(&r);
	create(&a, "{\"title\":\"z\",\"due_at\":\"2026-01-02T03:04:05Z\"}",
	    &r);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "due_at"),
	    "2026-01-02T03:04:05.000Z");
	harness_resp_free(&r);
	assert_int_equal(ntasks(&a), before + 5);
}

/* The limits themselves are accepted, counted in code points. */
/*
 * create() of head + `unit' repeated `n' times + tail: accepted, and
 * member `field' of the task is the repeated text alone.
 */
static void
good_long(struct harness_auth *a, const char *head, const char *unit,
    size_t n, const char *tail, const char *field)
{
	struct harness_resp	 r;
	char			*s = harness_rep(unit, n);
	char			*b = fmt("%s%s%s", head, s, tail);

	create(a, b, &r);
	assert_string_equal(harness_json_str(harness_resp_json(&r), field), s);
	harness_resp_free(&r);
	free(b);
	free(s);
}

static void
test_create_limits(void **state)
{
	struct harness_resp	 r;
	struct harness_auth	 a;
	struct json_object	*t;
	char			*s, *b, *tags, *tag;
	size_t			 i;

	(void)state;
	user("crud_limits", &a);
	/* 255 characters (1020 bytes), 255 ASCII, 255 once trimmed. */
	good_long(&a, "{\"title\":\"", "\xf0\x9f\x98\x80", 255, "\"}", "title");
	good_long(&a, "{\"title\":\"", "t", 255, "\"}", "title");
	good_long(&a, "{\"title\":\"   ", "t", 255, "   \"}", "title");
	good_long(&a, "{\"title\":\"long\",\"description\":\"", "\xc3\xa9",
	    2000, "\"}", "description");
	/* 20 tags, one of them 50 emoji long. */
	tag = harness_rep("\xf0\x9f\x8d\x8e", 50);
	tags = fmt("\"%s\"", tag);
	for (i = 1; i < 20; i++) {
		s = fmt("%s,\"t%zu\"", tags, i);
		free(tags);
		tags = s;
	}
	b = fmt("{\"title\":\"tags\",\"tags\":[%s]}", tags);
	create(&a, b, &r);
	t = json_object_object_get(harness_resp_json(&r), "tags");
	assert_int_equal(json_object_array_length(t), 20);
	assert_true(has_tag(harness_resp_json(&r), tag));
	assert_true(has_tag(harness_resp_json(&r), "t1"));
	assert_true(has_tag(harness_resp_json(&r), "t19"));
	harness_resp_free(&r);
	free(b);
	free(tags);
	free(tag);
}

/* bad_create() with 422 of head + `unit' repeated `n' times + tail. */
static void
bad_long(struct harness_auth *a, const char *head, const char *unit,
    size_t n, const char *tail, const char *field)
{
	char	*s = harness_rep(unit, n), *b = fmt("%s%s%s", head, s, tail);

	bad_create(a, b, 422, "validation_failed", field);
	free(b);
	free(s);
}

static void
test_create_validation(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	char			*s, *b, *tags;
	size_t			 i;
	long			 before;

	(void)state;
	user("crud_valid", &a);
	before = ntasks(&a);

	/* title: required, a string, 1-255 characters once trimmed. */
	bad_create(&a, "{}", 422, "validation_failed", "title");
	bad_create(&a, "{\"title\":\"   \"}", 422, "validation_failed",
	    "title");
	bad_create(&a, "{\"title\":\"\"}", 422, "validation_failed", "title");
	bad_create(&a, "{\"title\":null}", 422, "validation_failed", "title");
	bad_create(&a, "{\"title\":5}", 422, "validation_failed", "title");
	bad_create(&a, "{\"title\":[\"a\"]}", 422, "validation_failed",
	    "title");
	bad_long(&a, "{\"title\":\"", "\xf0\x9f\x98\x80", 256, "\"}", "title");
	bad_long(&a, "{\"title\":\"", "t", 256, "\"}", "title");

	/* description: at most 2000 characters, a string or null. */
	bad_long(&a, "{\"title\":\"t\",\"description\":\"", "d", 2001, "\"}",
	    "description");
	bad_create(&a, "{\"title\":\"t\",\"description\":5}", 422,
	    "validation_failed", "description");

	/* priority: one of four words. */
	bad_create(&a, "{\"title\":\"t\",\"priority\":\"urgent\"}", 422,
	    "validation_failed", "priority");
	bad_create(&a, "{\"title\":\"t\",\"priority\":2}", 422,
	    "validation_failed", "priority");
	bad_create(&a, "{\"title\":\"t\",\"priority\":\"\"}", 422,
	    "validation_failed", "priority");

	/* due_at: an RFC 3339 date-time, offset included. */
	bad_create(&a, "{\"title\":\"t\",\"due_at\":\"tomorrow\"}", 422,
	    "validation_failed", "due_at");
	bad_create(&a, "{\"title\":\"t\",\"due_at\":\"2026-11-23\"}", 422,
	    "validation_failed", "due_at");
	bad_create(&a, "{\"title\":\"t\",\"due_at\":\"2026-11-23T17:00:00\"}",
	    422, "validation_failed", "due_at");
	bad_create(&a, "{\"title\":\"t\",\"due_at\":\"2026-13-01T00:00:00Z\"}",
	    422, "validation_failed", "due_at");
	bad_create(&a, "{\"title\":\"t\",\"due_at\":\"2026-02-30T10:00:00Z\"}",
	    422, "validation_failed", "due_at");
	bad_create(&a, "{\"title\":\"t\",\"due_at\":1795000000}", 422,
	    "validation_failed", "due_at");
	bad_create(&a, "{\"title\":\"t\",\"due_at\":true}", 422,
	    "validation_failed", "due_at");

	/* tags: an array of at most 20 strings of 1-50 characters. */
	tags = strdup("\"t0\"");
	assert_non_null(tags);
	for (i = 1; i < 21; i++) {
		s = fmt("%s,\"t%zu\"", tags, i);
		free(tags);
		tags = s;
	}
	b = fmt("{\"title\":\"t\",\"tags\":[%s]}", tags);
	bad_create(&a, b, 422, "validation_failed", "tags");
	free(b);
	free(tags);
	bad_create(&a, "{\"title\":\"t\",\"tags\":\"home\"}", 422,
	    "validation_failed", "tags");
	bad_create(&a, "{\"title\":\"t\",\"tags\":[1]}", 422,
	    "validation_failed", "tags");
	bad_create(&a, "{\"title\":\"t\",\"tags\":{\"a\":\"b\"}}", 422,
	    "validation_failed", "tags");

	/* completed: a boolean. */
	bad_create(&a, "{\"title\":\"t\",\"completed\":\"yes\"}", 422,
	    "validation_failed", "completed");
	bad_create(&a, "{\"title\":\"t\",\"completed\":1}", 422,
	    "validation_failed", "completed");

	/* A misspelt field is named, never ignored. */
	req("POST", P_TASKS, "{\"title\":\"t\",\"titel\":\"t\"}",
	    a.auth_header, NULL, NULL, &r);
	want(&r, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	assert_string_equal(harness_resp_str(&r, "error.details.titel"),
	    "is not a task field");
	harness_resp_free(&r);
	bad_create(&a, "{\"titel\":\"t\"}", 422, "validation_failed",
	    "titel");

	/* One message per field, all of them at once. */
	req("POST", P_TASKS, "{\"title\":\"\",\"priority\":\"urgent\","
	    "\"due_at\":\"soon\"}", a.auth_header, NULL, NULL, &r);
	want(&r, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	assert_non_null(harness_resp_str(&r, "error.details.title"));
	assert_non_null(harness_resp_str(&r, "error.details.priority"));
	assert_non_null(harness_resp_str(&r, "error.details.due_at"));
	harness_resp_free(&r);

	/* Not an object. */
	bad_create(&a, "[{\"title\":\"t\"}]", 422, "validation_failed", NULL);
	bad_create(&a, "\"t\"", 422, "validation_failed", NULL);

	/* Invalid UTF-8 and NUL anywhere in a string: 400. */
	bad_create(&a, "{\"title\":\"bad\xff\xfe\"}", 400, "bad_request",
	    NULL);
	bad_create(&a, "{\"title\":\"t\",\"description\":\"\xc0\xaf\"}", 400,
	    "bad_request", NULL);
	bad_create(&a, "{\"title\":\"t\",\"tags\":[\"\xed\xa0\x80\"]}", 400,
	    "bad_request", NULL);
	bad_create(&a, "{\"title\":\"a\\u0000b\"}", 400, "bad_request", NULL);
	bad_create(&a, "{\"title\":\"t\",\"tags\":[\"x\\u0000\"]}", 400,
	    "bad_request", NULL);
	/* Not JSON; not sent as JSON. */
	bad_create(&a, "{\"title\":", 400, "bad_request", NULL);
	bad_create(&a, "{\"title\":\"t\",}", 400, "bad_request", NULL);
	refused(&a, "POST", P_TASKS, "{\"title\":\"t\"}",
	    "Content-Type: text/plain", 415, "unsupported_media_type", NULL,
	    0);
	refused(&a, "POST", P_TASKS, "{\"title\":\"t\"}", "Content-Type:",
	    415, "unsupported_media_type", NULL, 0);
	refused(&a, "POST", P_TASKS, "title=t",
	    "Content-Type: application/x-www-form-urlencoded", 415,
	    "unsupported_media_type", NULL, 0);
	/* And no credential at all. */
	refused(NULL, "POST", P_TASKS, "{\"title\":\"t\"}", NULL, 401,
	    "unauthorized", NULL, 0);
	assert_int_equal(ntasks(&a), before);

	/* The read-only fields are accepted and ignored. */
	create(&a, "{\"title\":\"ro\",\"id\":999999,"
	    "\"created_at\":\"2000-01-01T00:00:00.000Z\","
	    "\"updated_at\":\"2000-01-01T00:00:00.000Z\","
	    "\"completed_at\":\"2000-01-01T00:00:00.000Z\"}", &r);
	assert_int_not_equal(harness_json_int(harness_resp_json(&r), "id"), 999999);
	assert_string_not_equal(harness_json_str(harness_resp_json(&r),
	    "created_at"), "2000-01-01T00:00:00.000Z");
	assert_string_not_equal(harness_json_str(harness_resp_json(&r),
	    "updated_at"), "2000-01-01T00:00:00.000Z");
	assert_true(harness_json_is_null(harness_resp_json(&r), "completed_at"));
	harness_resp_free(&r);
	assert_int_equal(ntasks(&a), before + 1);
}

/*
 * One tag out of bounds: 422 with the message under details["tags[i]"],
 * naming the element that broke the rule (doc/api.md).
 */
static void
test_tag_rules(void **state)
{
	struct harness_auth	 a;
	char			 tag[51 * 4 + 1], b[512];
	size_t			 i;
	long			 before;

	(void)state;
	user("crud_tags", &a);
	before = ntasks(&a);
	/* No heap: when this test fails it leaves no leak report. */
	memset(tag, 'g', 51);
	tag[51] = '\0';
	snprintf(b, sizeof(b), "{\"title\":\"t\",\"tags\":[\"ok\",\"%s\"]}",
	    tag);
	bad_create(&a, b, 422, "validation_failed", "tags[1]");
	for (i = 0; i < 51; i++)
		memcpy(tag + i * 4, "\xf0\x9f\x8d\x8e", 4);
	tag[51 * 4] = '\0';
	snprintf(b, sizeof(b), "{\"title\":\"t\",\"tags\":[\"%s\"]}", tag);
	bad_create(&a, b, 422, "validation_failed", "tags[0]");
	bad_create(&a, "{\"title\":\"t\",\"tags\":[\"   \"]}", 422,
	    "validation_failed", "tags[0]");
	assert_int_equal(ntasks(&a), before);
}

/* ------------------------------------------------------------- edit */

static void
test_put(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r, g;
	struct json_object	*t, *o;
	char			 created[32], done_at[32], upd[32], path[64];
	char			*b;
	int64_t			 id;
	const char *const	 put_moves[] = { "title", "description",
				    "priority", "due_at", "tags",
				    "updated_at", NULL };

	(void)state;
	user("crud_put", &a);
	id = create(&a, "{\"title\":\"Edit me\",\"description\":\"Words\","
	    "\"priority\":\"low\",\"due_at\":\"2026-12-01T09:00:00Z\","
	    "\"tags\":[\"a\",\"b\"],\"completed\":true}", &r);
	t = harness_resp_json(&r);
	jcopy(t, "created_at", created, sizeof(created));
	jcopy(t, "completed_at", done_at, sizeof(done_at));
	jcopy(t, "updated_at", upd, sizeof(upd));
	get_task(&a, id, &g);
	assert_true(json_object_equal(harness_resp_json(&g), t));
	harness_resp_free(&g);

	/* Absent fields take their defaults; completed stays as it was. */
	harness_sleep_ms(TICK_MS);
	edit(&a, "PUT", id, NULL, "{\"title\":\"  Replaced  \"}", &g);
	o = harness_resp_json(&g);
	assert_string_equal(harness_json_str(o, "title"), "Replaced");
	assert_true(harness_json_is_null(o, "description"));
	assert_string_equal(harness_json_str(o, "priority"), "none");
	assert_true(harness_json_is_null(o, "due_at"));
	assert_true(tags_are(o, 0));
	assert_true(jbool(o, "completed"));
	assert_string_equal(harness_json_str(o, "completed_at"), done_at);
	assert_string_equal(harness_json_str(o, "created_at"), created);
	assert_true(strcmp(harness_json_str(o, "updated_at"), upd) > 0);
	same_but(t, o, put_moves);
	harness_resp_free(&r);
	/* What PUT answered is what GET reads. */
	get_task(&a, id, &r);
	assert_true(json_object_equal(harness_resp_json(&r), o));
	harness_resp_free(&r);
	harness_resp_free(&g);

	/* completed, when given, is changed, and completed_at with it. */
	edit(&a, "PUT", id, NULL, "{\"title\":\"Reopened\","
	    "\"completed\":false}", &r);
	assert_false(jbool(harness_resp_json(&r), "completed"));
	assert_true(harness_json_is_null(harness_resp_json(&r), "completed_at"));
	harness_resp_free(&r);
	edit(&a, "PUT", id, NULL, "{\"title\":\"Done\",\"completed\":true,"
	    "\"priority\":\"high\",\"tags\":[\"c\"],\"description\":\"D\","
	    "\"due_at\":\"2026-12-02T10:00:00+02:00\"}", &r);
	o = harness_resp_json(&r);
	assert_true(jbool(o, "completed"));
	assert_true(is_time(harness_json_str(o, "completed_at")));
	assert_string_equal(harness_json_str(o, "priority"), "high");
	assert_string_equal(harness_json_str(o, "description"), "D");
	assert_string_equal(harness_json_str(o, "due_at"),
	    "2026-12-02T08:00:00.000Z");
	assert_true(tags_are(o, 1, "c"));
	harness_resp_free(&r);

	/*
	 * A task read with GET goes back with PUT: the read-only fields in
	 * it, even altered, are ignored.
	 */
	get_task(&a, id, &g);
	o = harness_resp_json(&g);
	json_object_object_add(o, "title", json_object_new_string("Round"));
	json_object_object_add(o, "id", json_object_new_int64(999999));
	json_object_object_add(o, "created_at",
	    json_object_new_string("2000-01-01T00:00:00.000Z"));
	json_object_object_add(o, "completed_at",
	    json_object_new_string("2000-01-01T00:00:00.000Z"));
	assert_non_null(b = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN)));
	harness_resp_free(&g);
	edit(&a, "PUT", id, NULL, b, &r);
	free(b);
	o = harness_resp_json(&r);
	assert_string_equal(harness_json_str(o, "title"), "Round");
	assert_string_equal(harness_json_str(o, "created_at"), created);
	assert_string_not_equal(harness_json_str(o, "completed_at"),
	    "2000-01-01T00:00:00.000Z");
	assert_string_equal(harness_json_str(o, "priority"), "high");
	assert_true(tags_are(o, 1, "c"));
	harness_resp_free(&r);

	/* Refusals leave the row as it was. */
	tpath(path, sizeof(path), id, NULL);
	refused(&a, "PUT", path, "{}", NULL, 422, "validation_failed",
	    "title", id);
	refused(&a, "PUT", path, "{\"description\":\"no title\"}", NULL, 422,
	    "validation_failed", "title", id);
	refused(&a, "PUT", path, "{\"title\":\"t\",\"titel\":\"t\"}", NULL,
	    422, "validation_failed", "titel", id);
	refused(&a, "PUT", path, "{\"title\":\"t\",\"due_at\":\"nope\"}",
	    NULL, 422, "validation_failed", "due_at", id);
	refused(&a, "PUT", path, "{\"title\":\"t\",\"priority\":\"max\"}",
	    NULL, 422, "validation_failed", "priority", id);
	refused(&a, "PUT", path, "{\"title\":\"t\",\"completed\":\"no\"}",
	    NULL, 422, "validation_failed", "completed", id);
	refused(&a, "PUT", path, "[]", NULL, 422, "validation_failed", NULL,
	    id);
	refused(&a, "PUT", path, "{\"title\":\"\xff\"}", NULL, 400,
	    "bad_request", NULL, id);
	refused(&a, "PUT", path, "{\"title\":\"\\u0000\"}", NULL, 400,
	    "bad_request", NULL, id);
	refused(&a, "PUT", path, "{\"title\"", NULL, 400, "bad_request", NULL,
	    id);
	refused(&a, "PUT", path, "{\"title\":\"t\"}", "Content-Type: "
	    "text/plain", 415, "unsupported_media_type", NULL, id);
	refused(NULL, "PUT", path, "{\"title\":\"t\"}", NULL, 401,
	    "unauthorized", NULL, id);
}

static void
test_patch(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r, g;
	struct json_object	*t, *o;
	char			 upd[32], done_at[32], path[64], created[32];
	int64_t			 id;
	const char *const	 pri[] = { "priority", "updated_at", NULL };
	const char *const	 set[] = { "description", "due_at", "tags",
				    "updated_at", NULL };
	const char *const	 clr[] = { "description", "due_at",
				    "updated_at", NULL };
	const char *const	 tg[] = { "tags", "updated_at", NULL };
	const char *const	 ttl[] = { "title", "updated_at", NULL };

	(void)state;
	user("crud_patch", &a);
	id = create(&a, "{\"title\":\"Patch me\",\"description\":\"Words\","
	    "\"priority\":\"low\",\"due_at\":\"2026-12-01T09:00:00Z\","
	    "\"tags\":[\"a\",\"b\"]}", &g);
	t = harness_resp_json(&g);
	jcopy(t, "created_at", created, sizeof(created));

	/* Only the field given changes; updated_at moves. */
	harness_sleep_ms(TICK_MS);
	edit(&a, "PATCH", id, NULL, "{\"priority\":\"high\"}", &r);
	o = harness_resp_json(&r);
	assert_string_equal(harness_json_str(o, "priority"), "high");
	assert_true(strcmp(harness_json_str(o, "updated_at"),
	    harness_json_str(t, "updated_at")) > 0);
	same_but(t, o, pri);
	harness_resp_free(&g);
	g = r;
	t = o;

	harness_sleep_ms(TICK_MS);
	edit(&a, "PATCH", id, NULL, "{\"description\":\"Other words\","
	    "\"due_at\":\"2026-12-24T18:00:00+01:00\","
	    "\"tags\":[\"x\",\" y \",\"x\"]}", &r);
	o = harness_resp_json(&r);
	assert_string_equal(harness_json_str(o, "description"), "Other words");
	assert_string_equal(harness_json_str(o, "due_at"),
	    "2026-12-24T17:00:00.000Z");
	assert_true(tags_are(o, 2, "x", "y"));
	assert_true(strcmp(harness_json_str(o, "updated_at"),
	    harness_json_str(t, "updated_at")) > 0);
	same_but(t, o, set);
	harness_resp_free(&g);
	g = r;
	t = o;

	/* null clears description and due_at, and empties tags. */
	harness_sleep_ms(TICK_MS);
	edit(&a, "PATCH", id, NULL, "{\"description\":null,\"due_at\":null}",
	    &r);
	o = harness_resp_json(&r);
	assert_true(harness_json_is_null(o, "description"));
	assert_true(harness_json_is_null(o, "due_at"));
	assert_true(tags_are(o, 2, "x", "y"));
	assert_true(strcmp(harness_json_str(o, "updated_at"),
	    harness_json_str(t, "updated_at")) > 0);
	same_but(t, o, clr);
	harness_resp_free(&g);
	g = r;
	t = o;
	edit(&a, "PATCH", id, NULL, "{\"tags\":null}", &r);
	o = harness_resp_json(&r);
	assert_true(tags_are(o, 0));
	same_but(t, o, tg);
	harness_resp_free(&g);
	g = r;
	t = o;
	edit(&a, "PATCH", id, NULL, "{\"description\":\"d\"}", &r);
	harness_resp_free(&r);
	edit(&a, "PATCH", id, NULL, "{\"description\":\"\"}", &r);
	assert_true(harness_json_is_null(harness_resp_json(&r), "description"));
	harness_resp_free(&r);

	/* The title is trimmed here too. */
	harness_resp_free(&g);
	get_task(&a, id, &g);
	t = harness_resp_json(&g);
	edit(&a, "PATCH", id, NULL, "{\"title\":\"  Trimmed\\n\"}", &r);
	o = harness_resp_json(&r);
	assert_string_equal(harness_json_str(o, "title"), "Trimmed");
	same_but(t, o, ttl);
	harness_resp_free(&g);
	g = r;
	t = o;

	/* {} changes nothing, updated_at included. */
	{
		char	 row0[ROWSZ], row1[ROWSZ];

		row_of(id, row0, sizeof(row0));
		harness_sleep_ms(TICK_MS);
		edit(&a, "PATCH", id, NULL, "{}", &r);
		assert_true(json_object_equal(harness_resp_json(&r), t));
		harness_resp_free(&r);
		row_of(id, row1, sizeof(row1));
		assert_string_equal(row0, row1);
	}

	/* completed through PATCH follows the completed_at rule. */
	edit(&a, "PATCH", id, NULL, "{\"completed\":true}", &r);
	o = harness_resp_json(&r);
	assert_true(jbool(o, "completed"));
	jcopy(o, "completed_at", done_at, sizeof(done_at));
	jcopy(o, "updated_at", upd, sizeof(upd));
	harness_resp_free(&r);
	harness_sleep_ms(TICK_MS);
	edit(&a, "PATCH", id, NULL, "{\"completed\":true}", &r);
	assert_string_equal(harness_json_str(harness_resp_json(&r),
	    "completed_at"), done_at);
	harness_resp_free(&r);
	edit(&a, "PATCH", id, NULL, "{\"completed\":false}", &r);
	assert_false(jbool(harness_resp_json(&r), "completed"));
	assert_true(harness_json_is_null(harness_resp_json(&r), "completed_at"));
	harness_resp_free(&r);

	/* The read-only fields are ignored here too. */
	edit(&a, "PATCH", id, NULL, "{\"id\":1,\"created_at\":"
	    "\"2000-01-01T00:00:00.000Z\",\"priority\":\"low\"}", &r);
	assert_string_equal(harness_json_str(harness_resp_json(&r),
	    "created_at"), created);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "priority"),
	    "low");
	harness_resp_free(&r);

	/* Refusals leave the row as it was. */
	tpath(path, sizeof(path), id, NULL);
	refused(&a, "PATCH", path, "{\"title\":null}", NULL, 422,
	    "validation_failed", "title", id);
	refused(&a, "PATCH", path, "{\"title\":\"  \"}", NULL, 422,
	    "validation_failed", "title", id);
	refused(&a, "PATCH", path, "{\"priority\":null}", NULL, 422,
	    "validation_failed", "priority", id);
	refused(&a, "PATCH", path, "{\"priority\":\"top\"}", NULL, 422,
	    "validation_failed", "priority", id);
	refused(&a, "PATCH", path, "{\"titel\":\"t\"}", NULL, 422,
	    "validation_failed", "titel", id);
	refused(&a, "PATCH", path, "{\"completed\":\"no\"}", NULL, 422,
	    "validation_failed", "completed", id);
	refused(&a, "PATCH", path, "{\"tags\":\"x\"}", NULL, 422,
	    "validation_failed", "tags", id);
	refused(&a, "PATCH", path, "{\"due_at\":\"later\"}", NULL, 422,
	    "validation_failed", "due_at", id);
	/* A valid field does not slip through beside a bad one. */
	refused(&a, "PATCH", path, "{\"title\":\"New\",\"priority\":\"x\"}",
	    NULL, 422, "validation_failed", "priority", id);
	refused(&a, "PATCH", path, "[]", NULL, 422, "validation_failed", NULL,
	    id);
	refused(&a, "PATCH", path, "{\"title\":\"\xc3\"}", NULL, 400,
	    "bad_request", NULL, id);
	refused(&a, "PATCH", path, "{\"description\":\"\\u0000\"}", NULL, 400,
	    "bad_request", NULL, id);
	refused(&a, "PATCH", path, "{", NULL, 400, "bad_request", NULL, id);
	refused(&a, "PATCH", path, "{\"title\":\"t\"}", "Content-Type: "
	    "text/plain", 415, "unsupported_media_type", NULL, id);
	refused(NULL, "PATCH", path, "{\"title\":\"t\"}", NULL, 401,
	    "unauthorized", NULL, id);
	harness_resp_free(&g);

	/* The path is there for other methods: 405 names them. */
	req("POST", path, "{\"title\":\"t\"}", a.auth_header, NULL, NULL, &r);
	want(&r, 405);
	assert_true(harness_is_envelope(&r, "method_not_allowed"));
	assert_non_null(harness_resp_header(&r, "Allow"));
	assert_non_null(strstr(harness_resp_header(&r, "Allow"), "GET"));
	assert_non_null(strstr(harness_resp_header(&r, "Allow"), "PATCH"));
	assert_non_null(strstr(harness_resp_header(&r, "Allow"), "DELETE"));
	harness_resp_free(&r);
}

/* ------------------------------------------------------------- complete */

/* PATCH …/complete with `body' (may be NULL): the task's completed. */
static bool
complete(const struct harness_auth *a, int64_t id, const char *body,
    struct harness_resp *r)
{
	edit(a, "PATCH", id, "/complete", body, r);
	return jbool(harness_resp_json(r), "completed");
}

static void
test_complete(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*o;
	char			 upd[32], done_at[32], path[80];
	char			 row0[ROWSZ], row1[ROWSZ];
	int64_t			 id;

	(void)state;
	user("crud_complete", &a);
	id = create(&a, "{\"title\":\"Toggle\"}", &r);
	jcopy(harness_resp_json(&r), "updated_at", upd, sizeof(upd));
	harness_resp_free(&r);

	/* No body toggles, and so does {}. */
	harness_sleep_ms(TICK_MS);
	assert_true(complete(&a, id, NULL, &r));
	o = harness_resp_json(&r);
	assert_true(is_time(harness_json_str(o, "completed_at")));
	assert_true(strcmp(harness_json_str(o, "updated_at"), upd) > 0);
	assert_string_equal(harness_json_str(o, "title"), "Toggle");
	harness_resp_free(&r);
	assert_false(complete(&a, id, NULL, &r));
	assert_true(harness_json_is_null(harness_resp_json(&r), "completed_at"));
	harness_resp_free(&r);
	assert_true(complete(&a, id, "{}", &r));
	assert_true(is_time(harness_json_str(harness_resp_json(&r),
	    "completed_at")));
	harness_resp_free(&r);
	assert_false(complete(&a, id, "{}", &r));
	assert_true(harness_json_is_null(harness_resp_json(&r), "completed_at"));
	harness_resp_free(&r);

	/* Setting what already is changes nothing: the first time stays. */
	assert_true(complete(&a, id, "{\"completed\":true}", &r));
	o = harness_resp_json(&r);
	jcopy(o, "completed_at", done_at, sizeof(done_at));
	jcopy(o, "updated_at", upd, sizeof(upd));
	harness_resp_free(&r);
	row_of(id, row0, sizeof(row0));
	harness_sleep_ms(TICK_MS);
	assert_true(complete(&a, id, "{\"completed\":true}", &r));
	o = harness_resp_json(&r);
	assert_string_equal(harness_json_str(o, "completed_at"), done_at);
	assert_string_equal(harness_json_str(o, "updated_at"), upd);
	harness_resp_free(&r);
	row_of(id, row1, sizeof(row1));
	assert_string_equal(row0, row1);
	assert_int_equal(state_of(id), 1);

	assert_false(complete(&a, id, "{\"completed\":false}", &r));
	assert_true(harness_json_is_null(harness_resp_json(&r), "completed_at"));
	harness_resp_free(&r);
	row_of(id, row0, sizeof(row0));
	assert_false(complete(&a, id, "{\"completed\":false}", &r));
	harness_resp_free(&r);
	row_of(id, row1, sizeof(row1));
	assert_string_equal(row0, row1);

	/* Wrong types: 422 and the task as it was. */
	tpath(path, sizeof(path), id, "/complete");
	refused(&a, "PATCH", path, "{\"completed\":\"yes\"}", NULL, 422,
	    "validation_failed", "completed", id);
	refused(&a, "PATCH", path, "{\"completed\":1}", NULL, 422,
	    "validation_failed", "completed", id);
	refused(&a, "PATCH", path, "{\"completed\":", NULL, 400,
	    "bad_request", NULL, id);
	refused(NULL, "PATCH", path, NULL, NULL, 401, "unauthorized", NULL,
	    id);
}

/* ------------------------------------------------------------- delete */

static void
test_delete(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	char			 path[64], cpath[80];
	int64_t			 id, keep;
	long			 before;

	(void)state;
	user("crud_delete", &a);
	id = create(&a, "{\"title\":\"Doomed\"}", NULL);
	keep = create(&a, "{\"title\":\"Kept\"}", NULL);
	before = ntasks(&a);
	tpath(path, sizeof(path), id, NULL);
	req("DELETE", path, NULL, a.auth_header, NULL, NULL, &r);
	want(&r, 204);
	assert_int_equal(r.body_len, 0);
	harness_resp_free(&r);
	assert_int_equal(ntasks(&a), before - 1);
	assert_int_equal(state_of(id), -1);

	/* Gone for every route. */
	tpath(cpath, sizeof(cpath), id, "/complete");
	refused(&a, "GET", path, NULL, NULL, 404, "not_found", NULL, keep);
	refused(&a, "DELETE", path, NULL, NULL, 404, "not_found", NULL, keep);
	refused(&a, "PUT", path, "{\"title\":\"back\"}", NULL, 404,
	    "not_found", NULL, keep);
	refused(&a, "PATCH", path, "{\"title\":\"back\"}", NULL, 404,
	    "not_found", NULL, keep);
	refused(&a, "PATCH", cpath, NULL, NULL, 404, "not_found", NULL, keep);
	get_task(&a, keep, &r);
	harness_resp_free(&r);

	/* Without a credential nothing goes. */
	refused(NULL, "DELETE", tpath(path, sizeof(path), keep, NULL), NULL,
	    NULL, 401, "unauthorized", NULL, keep);
}

/* ------------------------------------------------------------- ids */

static void
test_bad_ids(void **state)
{
	static const char *const bad[] = { "abc", "0", "-1", "1.5",
	    "99999999999999999999", "9223372036854775808", ID_MAX, "1abc",
	    NULL };
	struct harness_auth	 a;
	char			 path[128];
	int64_t			 id;
	size_t			 i;

	(void)state;
	user("crud_ids", &a);
	id = create(&a, "{\"title\":\"The only one\"}", NULL);
	for (i = 0; bad[i] != NULL; i++) {
		snprintf(path, sizeof(path), P_TASKS "/%s", bad[i]);
		refused(&a, "GET", path, NULL, NULL, 404, "not_found", NULL,
		    id);
		refused(&a, "PUT", path, "{\"title\":\"t\"}", NULL, 404,
		    "not_found", NULL, id);
		refused(&a, "PATCH", path, "{\"title\":\"t\"}", NULL, 404,
		    "not_found", NULL, id);
		refused(&a, "DELETE", path, NULL, NULL, 404, "not_found", NULL,
		    id);
		snprintf(path, sizeof(path), P_TASKS "/%s/complete", bad[i]);
		refused(&a, "PATCH", path, NULL, NULL, 404, "not_found", NULL,
		    id);
	}
}

/* ------------------------------------------------------------- others */

/* details.ids of a bulk 404 names exactly the one id `missing'. */
static void
names_only(struct harness_resp *r, int64_t missing)
{
	struct json_object	*d, *v;
	int64_t			 ids[8] = { 0 };
	size_t			 n;

	assert_true(harness_is_envelope(r, "not_found"));
	assert_true(json_object_object_get_ex(json_object_object_get(
	    harness_resp_json(r), "error"), "details", &d));
	assert_true(json_object_object_get_ex(d, "ids", &v));
	n = ids_named(v, ids, 8);
	if (n != 1 || ids[0] != missing)
		fprintf(stderr, "details.ids %s, want only %lld\n",
		    json_object_to_json_string(v), (long long)missing);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], missing);
}

static void
test_other_user(void **state)
{
	static const char *const actions[] = { "complete", "uncomplete",
	    "delete", NULL };
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct snap		 sa, sb;
	char			 path[64], cpath[80], *body;
	int64_t			 ta, tb;
	size_t			 i;

	(void)state;
	user("crud_owner", &a);
	user("crud_intruder", &b);
	ta = create(&a, "{\"title\":\"Mine\",\"tags\":[\"private\"]}", NULL);
	tb = create(&b, "{\"title\":\"Theirs\"}", NULL);
	tpath(path, sizeof(path), ta, NULL);
	tpath(cpath, sizeof(cpath), ta, "/complete");

	/* Another user's task is a task that does not exist. */
	refused(&b, "GET", path, NULL, NULL, 404, "not_found", NULL, ta);
	req("HEAD", path, NULL, b.auth_header, NULL, NULL, &r);
	want(&r, 404);
	harness_resp_free(&r);
	refused(&b, "PUT", path, "{\"title\":\"Stolen\"}", NULL, 404,
	    "not_found", NULL, ta);
	refused(&b, "PATCH", path, "{\"title\":\"Stolen\"}", NULL, 404,
	    "not_found", NULL, ta);
	refused(&b, "PATCH", path, "{}", NULL, 404, "not_found", NULL, ta);
	refused(&b, "PATCH", cpath, NULL, NULL, 404, "not_found", NULL, ta);
	refused(&b, "PATCH", cpath, "{\"completed\":true}", NULL, 404,
	    "not_found", NULL, ta);
	refused(&b, "DELETE", path, NULL, NULL, 404, "not_found", NULL, ta);
	/* Nor does it show in the intruder's list. */
	req("GET", P_TASKS, NULL, b.auth_header, NULL, NULL, &r);
	want(&r, 200);
	assert_null(strstr(r.body, "Mine"));
	assert_null(strstr(r.body, "private"));
	harness_resp_free(&r);

	/* Bulk: all or nothing, the foreign id named. */
	for (i = 0; actions[i] != NULL; i++) {
		/* Something each action would change in b's own task. */
		if (strcmp(actions[i], "uncomplete") == 0) {
			(void)complete(&b, tb, "{\"completed\":true}", &r);
			harness_resp_free(&r);
		}
		snap_take(ta, &sa);
		snap_take(tb, &sb);
		body = fmt("{\"action\":\"%s\",\"ids\":[%lld,%lld]}",
		    actions[i], (long long)tb, (long long)ta);
		req("POST", P_BULK, body, b.auth_header, NULL, NULL, &r);
		free(body);
		want(&r, 404);
		names_only(&r, ta);
		harness_resp_free(&r);
		snap_same(ta, &sa);
		snap_same(tb, &sb);
	}
	/* An id that never was is named the same way. */
	snap_take(tb, &sb);
	body = fmt("{\"action\":\"delete\",\"ids\":[%lld," ID_MAX "]}",
	    (long long)tb);
	req("POST", P_BULK, body, b.auth_header, NULL, NULL, &r);
	free(body);
	want(&r, 404);
	names_only(&r, INT64_MAX);
	harness_resp_free(&r);
	snap_same(tb, &sb);

	/* The owner still has it, as it was. */
	get_task(&a, ta, &r);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "title"),
	    "Mine");
	assert_false(jbool(harness_resp_json(&r), "completed"));
	harness_resp_free(&r);
}

/* ------------------------------------------------------------- bulk */

/* The body of a bulk request. Caller frees. */
static char *
bulk_body(const char *action, const int64_t *ids, size_t n)
{
	char	*s, *t;
	size_t	 i;

	s = fmt("{\"action\":\"%s\",\"ids\":[", action);
	for (i = 0; i < n; i++) {
		t = fmt("%s%s%lld", s, i > 0 ? "," : "", (long long)ids[i]);
		free(s);
		s = t;
	}
	t = fmt("%s]}", s);
	free(s);
	return t;
}

/* POST bulk as `a' (path may be NULL): 200 with `want' (ascending). */
static void
bulk_ok(const struct harness_auth *a, const char *path, const char *action,
    const int64_t *ids, size_t n, const int64_t *want_ids, size_t nwant)
{
	struct harness_resp	 r;
	struct json_object	*j, *v;
	char			*b = bulk_body(action, ids, n);
	size_t			 i;

	req("POST", path != NULL ? path : P_BULK, b, bearer(a), NULL, NULL,
	    &r);
	free(b);
	want(&r, 200);
	assert_non_null(j = harness_resp_json(&r));
	assert_int_equal(harness_json_int(j, "affected"), nwant);
	assert_true(json_object_object_get_ex(j, "ids", &v));
	assert_true(json_object_is_type(v, json_type_array));
	assert_int_equal(json_object_array_length(v), nwant);
	for (i = 0; i < nwant; i++) {
		assert_true(json_object_is_type(json_object_array_get_idx(v,
		    i), json_type_int));
		assert_int_equal(json_object_get_int64(
		    json_object_array_get_idx(v, i)), want_ids[i]);
	}
	harness_resp_free(&r);
}

static void
test_bulk(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	int64_t			 x, y, z, many[101], l[5];
	char			 done_at[32], list[4096], *b, *p, *end;
	const char		*uid;
	size_t			 n;
	long			 before;

	(void)state;
	user("crud_bulk", &a);
	x = create(&a, "{\"title\":\"x\"}", NULL);
	y = create(&a, "{\"title\":\"y\"}", NULL);
	z = create(&a, "{\"title\":\"z\"}", NULL);
	assert_true(x < y && y < z);

	/* Repeated ids count once and come back ascending. */
	l[0] = z, l[1] = x, l[2] = x, l[3] = y, l[4] = z;
	bulk_ok(&a, NULL, "complete", l, 5, (int64_t[]){ x, y, z }, 3);
	assert_int_equal(state_of(x), 1);
	assert_int_equal(state_of(y), 1);
	assert_int_equal(state_of(z), 1);
	get_task(&a, x, &r);
	jcopy(harness_resp_json(&r), "completed_at", done_at, sizeof(done_at));
	harness_resp_free(&r);
	/* Completing a completed task keeps its completed_at. */
	harness_sleep_ms(TICK_MS);
	bulk_ok(&a, NULL, "complete", (int64_t[]){ x }, 1,
	    (int64_t[]){ x }, 1);
	get_task(&a, x, &r);
	assert_string_equal(harness_json_str(harness_resp_json(&r),
	    "completed_at"), done_at);
	harness_resp_free(&r);

	bulk_ok(&a, NULL, "uncomplete", (int64_t[]){ y, y }, 2,
	    (int64_t[]){ y }, 1);
	assert_int_equal(state_of(y), 0);
	assert_int_equal(state_of(x), 1);
	get_task(&a, y, &r);
	assert_false(jbool(harness_resp_json(&r), "completed"));
	assert_true(harness_json_is_null(harness_resp_json(&r), "completed_at"));
	harness_resp_free(&r);

	before = ntasks(&a);
	bulk_ok(&a, NULL, "delete", (int64_t[]){ z, x, z }, 3,
	    (int64_t[]){ x, z }, 2);
	assert_int_equal(state_of(x), -1);
	assert_int_equal(state_of(z), -1);
	assert_int_equal(state_of(y), 0);
	assert_int_equal(ntasks(&a), before - 2);

	/* Refusals: the remaining task as it was, nothing else changed. */
	refused(&a, "POST", P_BULK, "{\"action\":\"complete\",\"ids\":[]}",
	    NULL, 422, "validation_failed", "ids", y);
	refused(&a, "POST", P_BULK, "{\"action\":\"archive\",\"ids\":[1]}",
	    NULL, 422, "validation_failed", "action", y);
	b = bulk_body("archive", &y, 1);
	refused(&a, "POST", P_BULK, b, NULL, 422, "validation_failed",
	    "action", y);
	free(b);
	refused(&a, "POST", P_BULK, "{\"action\":5,\"ids\":[1]}", NULL, 422,
	    "validation_failed", "action", y);
	b = fmt("{\"ids\":[%lld]}", (long long)y);
	refused(&a, "POST", P_BULK, b, NULL, 422, "validation_failed",
	    "action", y);
	free(b);
	refused(&a, "POST", P_BULK, "{\"action\":\"complete\"}", NULL, 422,
	    "validation_failed", "ids", y);
	b = fmt("{\"action\":\"complete\",\"ids\":[\"%lld\"]}", (long long)y);
	refused(&a, "POST", P_BULK, b, NULL, 422, "validation_failed", "ids",
	    y);
	free(b);
	b = fmt("{\"action\":\"complete\",\"ids\":[%lld.5]}", (long long)y);
	refused(&a, "POST", P_BULK, b, NULL, 422, "validation_failed", "ids",
	    y);
	free(b);
	b = fmt("{\"action\":\"complete\",\"ids\":[%lld,null]}",
	    (long long)y);
	refused(&a, "POST", P_BULK, b, NULL, 422, "validation_failed", "ids",
	    y);
	free(b);
	b = fmt("{\"action\":\"complete\",\"ids\":%lld}", (long long)y);
	refused(&a, "POST", P_BULK, b, NULL, 422, "validation_failed", "ids",
	    y);
	free(b);
	refused(&a, "POST", P_BULK, "[\"complete\"]", NULL, 422,
	    "validation_failed", NULL, y);
	refused(&a, "POST", P_BULK, "{\"action\":\"complete\",\"ids\":[",
	    NULL, 400, "bad_request", NULL, y);
	b = bulk_body("complete", &y, 1);
	refused(&a, "POST", P_BULK, b, "Content-Type: text/plain", 415,
	    "unsupported_media_type", NULL, y);
	refused(NULL, "POST", P_BULK, b, NULL, 401, "unauthorized", NULL, y);
	free(b);

	/* 100 ids are allowed, 101 are not: real tasks, made in SQL. */
	uid = a.user_id;
	assert_int_equal(harness_sql(&H, "INSERT INTO tasks (user_id, title) "
	    "SELECT $1::uuid, 'many ' || g FROM generate_series(1, 101) g",
	    &uid, 1, NULL, 0), 101);
	assert_int_equal(harness_sql(&H, "SELECT string_agg(id::text, ',' "
	    "ORDER BY id) FROM tasks WHERE user_id = $1::uuid AND "
	    "title LIKE 'many %'", &uid, 1, list, sizeof(list)), 1);
	for (n = 0, p = list; *p != '\0' && n < 101; n++) {
		many[n] = strtoll(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
	}
	assert_int_equal(n, 101);
	b = bulk_body("complete", many, 101);
	refused(&a, "POST", P_BULK, b, NULL, 422, "validation_failed", "ids",
	    many[0]);
	free(b);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE user_id = $1 AND completed", uid), 0);
	bulk_ok(&a, NULL, "complete", many, 100, many, 100);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE user_id = $1 AND completed", uid), 100);
	bulk_ok(&a, NULL, "delete", many + 1, 100, many + 1, 100);
	assert_int_equal(ntasks(&a), 2);
}

/* ------------------------------------------------------------- idempotency */

/* POST /api/v1/tasks as `a' with an Idempotency-Key header line. */
static void
post_key(const struct harness_auth *a, const char *keyhdr, const char *body,
    struct harness_resp *r)
{
	req("POST", P_TASKS, body, bearer(a), keyhdr, NULL, r);
}

static bool
replayed(const struct harness_resp *r)
{
	const char	*v = harness_resp_header(r, "Idempotent-Replayed");

	return v != NULL && strcmp(v, "true") == 0;
}

/* One of several creates racing with the same Idempotency-Key. */
struct race {
	const struct harness_auth	*a;
	struct harness_resp		 r;
	int				 rc;
};

static void *
race_run(void *arg)
{
	static const char	 body[] = "{\"title\":\"raced\"}";
	struct race		*x = arg;
	const char		*hdrs[] = { x->a->auth_header,
				    "Idempotency-Key: race-1",
				    "Content-Type: application/json", NULL };

	/* No cmocka assertion off the main thread: the result is kept. */
	x->rc = harness_request(&H, "POST", P_TASKS, hdrs, body,
	    sizeof(body) - 1, &x->r);
	return NULL;
}

/*
 * Eight creates at once with one key: the first claims the key, the
 * others wait on it and replay its answer. One task, eight 201s, one id.
 */
static void
test_idempotency_race(void **state)
{
	struct harness_auth	 a;
	struct race		 x[8];
	pthread_t		 t[8];
	int64_t			 id = 0;
	long			 before;
	size_t			 i;

	(void)state;
	user("crud_race", &a);
	before = ntasks(&a);
	for (i = 0; i < 8; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		x[i].a = &a;
		assert_int_equal(pthread_create(&t[i], NULL, race_run, &x[i]),
		    0);
	}
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (i = 0; i < 8; i++) {
		assert_int_equal(x[i].rc, 0);
		want(&x[i].r, 201);
		if (i == 0)
			id = harness_json_int(harness_resp_json(&x[i].r), "id");
		assert_int_equal(harness_json_int(harness_resp_json(&x[i].r),
		    "id"), id);
		harness_resp_free(&x[i].r);
	}
	assert_int_equal(ntasks(&a), before + 1);
}

static void
test_idempotency(void **state)
{
	const char		*k1 = "Idempotency-Key: "
				    "3f1d2c4b-5a69-4e7f-8a1b-2c3d4e5f6a7b";
	const char		*k2 = "Idempotency-Key: second-key";
	const char		*k3 = "Idempotency-Key: third-key";
	const char		*body = "{\"title\":\"Once\",\"tags\":[\"i\"]}";
	struct harness_auth	 a, b;
	struct harness_resp	 r1, r2;
	char			 path[64], *k, *hdr;
	int64_t			 id, id2;
	long			 na;

	(void)state;
	user("crud_idem", &a);
	user("crud_idem2", &b);

	post_key(&a, k1, body, &r1);
	want(&r1, 201);
	check_task(harness_resp_json(&r1));
	id = harness_json_int(harness_resp_json(&r1), "id");
	assert_false(replayed(&r1));
	na = ntasks(&a);
	assert_int_equal(na, 1);

	/* The retry: the first answer again, nothing created. */
	post_key(&a, k1, body, &r2);
	want(&r2, 201);
	assert_true(replayed(&r2));
	assert_string_equal(r2.body, r1.body);
	assert_non_null(harness_resp_header(&r2, "Location"));
	assert_string_equal(harness_resp_header(&r2, "Location"),
	    tpath(path, sizeof(path), id, NULL));
	harness_resp_free(&r2);
	assert_int_equal(ntasks(&a), na);
	/* Exactly the first answer, even after the task changed. */
	edit(&a, "PATCH", id, NULL, "{\"title\":\"Changed since\"}", &r2);
	harness_resp_free(&r2);
	post_key(&a, k1, body, &r2);
	want(&r2, 201);
	assert_true(replayed(&r2));
	assert_string_equal(r2.body, r1.body);
	harness_resp_free(&r2);
	assert_int_equal(ntasks(&a), na);

	/* The same key with another body: 409, nothing created. */
	refused(&a, "POST", P_TASKS, "{\"title\":\"Twice\"}", k1, 409,
	    "conflict", NULL, id);
	assert_int_equal(ntasks(&a), na);

	/* A 4xx does not use the key up. */
	refused(&a, "POST", P_TASKS, "{\"title\":\"\"}", k2, 422,
	    "validation_failed", "title", id);
	post_key(&a, k2, "{\"title\":\"Second\"}", &r2);
	want(&r2, 201);
	assert_false(replayed(&r2));
	id2 = harness_json_int(harness_resp_json(&r2), "id");
	assert_int_not_equal(id2, id);
	harness_resp_free(&r2);
	assert_int_equal(ntasks(&a), na + 1);
	post_key(&a, k2, "{\"title\":\"Second\"}", &r2);
	want(&r2, 201);
	assert_true(replayed(&r2));
	assert_int_equal(harness_json_int(harness_resp_json(&r2), "id"), id2);
	harness_resp_free(&r2);
	{
		const char	*h[] = { a.auth_header, k3,
				    "Content-Type: text/plain", NULL };

		assert_int_equal(harness_request(&H, "POST", P_TASKS, h,
		    "{\"title\":\"Third\"}",
		    strlen("{\"title\":\"Third\"}"), &r2), 0);
		want(&r2, 415);
		harness_resp_free(&r2);
	}
	post_key(&a, k3, "{\"title\":\"Third\"}", &r2);
	want(&r2, 201);
	assert_false(replayed(&r2));
	harness_resp_free(&r2);
	assert_int_equal(ntasks(&a), na + 2);

	/* Keys are per user: b's k1 is a key of its own. */
	post_key(&b, k1, body, &r2);
	want(&r2, 201);
	assert_false(replayed(&r2));
	assert_int_not_equal(harness_json_int(harness_resp_json(&r2), "id"), id);
	assert_string_equal(harness_json_str(harness_resp_json(&r2), "title"),
	    "Once");
	harness_resp_free(&r2);
	assert_int_equal(ntasks(&b), 1);
	assert_int_equal(ntasks(&a), na + 2);

	/* Invalid keys: 400 and nothing created. */
	k = harness_rep("k", 256);
	hdr = fmt("Idempotency-Key: %s", k);
	refused(&a, "POST", P_TASKS, "{\"title\":\"Long key\"}", hdr, 400,
	    "bad_request", NULL, id);
	free(hdr);
	free(k);
	refused(&a, "POST", P_TASKS, "{\"title\":\"Ctl key\"}",
	    "Idempotency-Key: bad\x01key", 400, "bad_request", NULL, id);
	refused(&a, "POST", P_TASKS, "{\"title\":\"DEL key\"}",
	    "Idempotency-Key: bad\x7fkey", 400, "bad_request", NULL, id);
	refused(&a, "POST", P_TASKS, "{\"title\":\"8bit key\"}",
	    "Idempotency-Key: caf\xc3\xa9", 400, "bad_request", NULL, id);
	/* curl sends "Name;" as the header with an empty value. */
	refused(&a, "POST", P_TASKS, "{\"title\":\"Empty key\"}",
	    "Idempotency-Key;", 400, "bad_request", NULL, id);
	assert_int_equal(ntasks(&a), na + 2);
	/* 255 characters is a key. */
	k = harness_rep("k", 255);
	hdr = fmt("Idempotency-Key: %s", k);
	post_key(&a, hdr, "{\"title\":\"Longest key\"}", &r2);
	want(&r2, 201);
	harness_resp_free(&r2);
	post_key(&a, hdr, "{\"title\":\"Longest key\"}", &r2);
	want(&r2, 201);
	assert_true(replayed(&r2));
	harness_resp_free(&r2);
	free(hdr);
	free(k);
	assert_int_equal(ntasks(&a), na + 3);
	harness_resp_free(&r1);
}

/* ------------------------------------------------------------- /api/{id} */

static void
test_compat(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct json_object	*items, *it;
	char			 base[128], upper[128], other[128], path[256];
	char			*body;
	int64_t			 id, id2, tb;
	size_t			 i;
	bool			 found = false;

	(void)state;
	user("crud_compat", &a);
	user("crud_compat2", &b);
	snprintf(base, sizeof(base), "/api/%s/tasks", a.user_id);
	snprintf(other, sizeof(other), "/api/%s/tasks", b.user_id);
	/* Only the user id is upper-cased: "/API/…/TASKS" is no route. */
	snprintf(upper, sizeof(upper), "/api/%s/tasks", a.user_id);
	for (i = 5; upper[i] != '/'; i++)
		upper[i] = (char)toupper((unsigned char)upper[i]);
	assert_string_not_equal(upper, base);

	/* The caller's own id: the same routes, the same answers. */
	req("POST", base, "{\"title\":\"  Old layout \"}", a.auth_header,
	    NULL, NULL, &r);
	want(&r, 201);
	check_task(harness_resp_json(&r));
	id = harness_json_int(harness_resp_json(&r), "id");
	assert_string_equal(harness_json_str(harness_resp_json(&r), "title"),
	    "Old layout");
	assert_non_null(harness_resp_header(&r, "Location"));
	harness_resp_free(&r);
	req("POST", upper, "{\"title\":\"Upper\"}", a.auth_header, NULL, NULL,
	    &r);
	want(&r, 201);
	id2 = harness_json_int(harness_resp_json(&r), "id");
	harness_resp_free(&r);
	assert_int_equal(ntasks(&a), 2);

	req("GET", base, NULL, a.auth_header, NULL, NULL, &r);
	want(&r, 200);
	assert_true(json_object_object_get_ex(harness_resp_json(&r), "items",
	    &items));
	assert_int_equal(json_object_array_length(items), 2);
	for (i = 0; i < json_object_array_length(items); i++) {
		it = json_object_array_get_idx(items, i);
		check_task(it);
		if (harness_json_int(it, "id") == id)
			found = true;
	}
	assert_true(found);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "total"), 2);
	harness_resp_free(&r);
	req("GET", upper, NULL, a.auth_header, NULL, NULL, &r);
	want(&r, 200);
	harness_resp_free(&r);

	snprintf(path, sizeof(path), "%s/%lld", base, (long long)id);
	req("GET", path, NULL, a.auth_header, NULL, NULL, &r);
	want(&r, 200);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "title"),
	    "Old layout");
	harness_resp_free(&r);
	snprintf(path, sizeof(path), "%s/%lld", upper, (long long)id);
	req("GET", path, NULL, a.auth_header, NULL, NULL, &r);
	want(&r, 200);
	harness_resp_free(&r);
	req("PUT", path, "{\"title\":\"Put old\",\"priority\":\"low\"}",
	    a.auth_header, NULL, NULL, &r);
	want(&r, 200);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "title"),
	    "Put old");
	harness_resp_free(&r);
	snprintf(path, sizeof(path), "%s/%lld", base, (long long)id);
	req("PATCH", path, "{\"priority\":\"high\"}", a.auth_header, NULL,
	    NULL, &r);
	want(&r, 200);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "priority"),
	    "high");
	assert_string_equal(harness_json_str(harness_resp_json(&r), "title"),
	    "Put old");
	harness_resp_free(&r);
	refused(&a, "PATCH", path, "{\"titel\":\"x\"}", NULL, 422,
	    "validation_failed", "titel", id);
	snprintf(path, sizeof(path), "%s/%lld/complete", base, (long long)id);
	req("PATCH", path, NULL, a.auth_header, NULL, NULL, &r);
	want(&r, 200);
	assert_true(jbool(harness_resp_json(&r), "completed"));
	harness_resp_free(&r);
	snprintf(path, sizeof(path), "%s/bulk", base);
	bulk_ok(&a, path, "uncomplete", (int64_t[]){ id2, id, id }, 3,
	    (int64_t[]){ id, id2 }, 2);
	assert_int_equal(state_of(id), 0);
	snprintf(path, sizeof(path), "%s/bulk", upper);
	bulk_ok(&a, path, "complete", (int64_t[]){ id2 }, 1,
	    (int64_t[]){ id2 }, 1);
	snprintf(path, sizeof(path), "%s/abc", base);
	refused(&a, "GET", path, NULL, NULL, 404, "not_found", NULL, id);
	/* Another user's task through the caller's own id: 404. */
	tb = create(&b, "{\"title\":\"B's\"}", NULL);
	snprintf(path, sizeof(path), "%s/%lld", base, (long long)tb);
	refused(&a, "GET", path, NULL, NULL, 404, "not_found", NULL, tb);
	refused(&a, "DELETE", path, NULL, NULL, 404, "not_found", NULL, tb);

	/* Another user's id in the path: 403 before anything is read. */
	refused(&a, "GET", other, NULL, NULL, 403, "forbidden", NULL, tb);
	refused(&a, "POST", other, "{\"title\":\"Planted\"}", NULL, 403,
	    "forbidden", NULL, tb);
	snprintf(path, sizeof(path), "%s/%lld", other, (long long)tb);
	refused(&a, "GET", path, NULL, NULL, 403, "forbidden", NULL, tb);
	refused(&a, "PUT", path, "{\"title\":\"Stolen\"}", NULL, 403,
	    "forbidden", NULL, tb);
	refused(&a, "PATCH", path, "{\"title\":\"Stolen\"}", NULL, 403,
	    "forbidden", NULL, tb);
	refused(&a, "DELETE", path, NULL, NULL, 403, "forbidden", NULL, tb);
	snprintf(path, sizeof(path), "%s/%lld/complete", other, (long long)tb);
	refused(&a, "PATCH", path, NULL, NULL, 403, "forbidden", NULL, tb);
	/* Even with a task of the caller's in it. */
	snprintf(path, sizeof(path), "%s/%lld", other, (long long)id);
	refused(&a, "GET", path, NULL, NULL, 403, "forbidden", NULL, id);
	refused(&a, "DELETE", path, NULL, NULL, 403, "forbidden", NULL, id);
	snprintf(path, sizeof(path), "%s/bulk", other);
	body = fmt("{\"action\":\"delete\",\"ids\":[%lld]}", (long long)tb);
	refused(&a, "POST", path, body, NULL, 403, "forbidden", NULL, tb);
	free(body);
	body = fmt("{\"action\":\"delete\",\"ids\":[%lld]}", (long long)id);
	refused(&a, "POST", path, body, NULL, 403, "forbidden", NULL, id);
	free(body);
	refused(&a, "GET", "/api/garbage/tasks", NULL, NULL, 403, "forbidden",
	    NULL, id);
	refused(&a, "POST", "/api/garbage/tasks", "{\"title\":\"t\"}", NULL,
	    403, "forbidden", NULL, id);

	/* No credential: 401, on either layout. */
	refused(NULL, "GET", base, NULL, NULL, 401, "unauthorized", NULL, id);
	refused(NULL, "POST", base, "{\"title\":\"anon\"}", NULL, 401,
	    "unauthorized", NULL, id);
	snprintf(path, sizeof(path), "%s/%lld", base, (long long)id);
	refused(NULL, "GET", path, NULL, NULL, 401, "unauthorized", NULL, id);
	refused(NULL, "DELETE", path, NULL, NULL, 401, "unauthorized", NULL,
	    id);
	refused(NULL, "GET", P_TASKS, NULL, NULL, 401, "unauthorized", NULL,
	    id);

	/* Delete through the old layout. */
	req("DELETE", path, NULL, a.auth_header, NULL, NULL, &r);
	want(&r, 204);
	harness_resp_free(&r);
	assert_int_equal(state_of(id), -1);
	refused(&a, "GET", path, NULL, NULL, 404, "not_found", NULL, id2);
	assert_int_equal(ntasks(&a), 1);
	assert_int_equal(ntasks(&b), 1);
}

/* ------------------------------------------------------------- cookies */

static void
test_cookie(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	char			 path[64];
	int64_t			 id;

	(void)state;
	user("crud_cookie", &a);
	/* Authenticated by the cookie, a write needs the app's Origin. */
	req("POST", P_TASKS, "{\"title\":\"Forged\"}", a.cookie, NULL, NULL,
	    &r);
	want(&r, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	req("POST", P_TASKS, "{\"title\":\"Forged\"}", a.cookie, ORIGIN_EVIL,
	    NULL, &r);
	want(&r, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	req("POST", P_TASKS, "{\"title\":\"Forged\"}", a.cookie,
	    "Referer: http://evil.example/page", NULL, &r);
	want(&r, 403);
	harness_resp_free(&r);
	assert_int_equal(ntasks(&a), 0);

	req("POST", P_TASKS, "{\"title\":\"By cookie\"}", a.cookie, ORIGIN_OK,
	    NULL, &r);
	want(&r, 201);
	check_task(harness_resp_json(&r));
	id = harness_json_int(harness_resp_json(&r), "id");
	assert_non_null(harness_resp_header(&r,
	    "Access-Control-Allow-Origin"));
	assert_string_equal(harness_resp_header(&r,
	    "Access-Control-Allow-Origin"), HARNESS_ORIGIN);
	harness_resp_free(&r);
	req("POST", P_TASKS, "{\"title\":\"By referer\"}", a.cookie,
	    "Referer: " HARNESS_ORIGIN "/tasks", NULL, &r);
	want(&r, 201);
	harness_resp_free(&r);
	assert_int_equal(ntasks(&a), 2);

	/* Reads need no Origin; other writes follow the same rule. */
	tpath(path, sizeof(path), id, NULL);
	req("GET", path, NULL, a.cookie, NULL, NULL, &r);
	want(&r, 200);
	harness_resp_free(&r);
	{
		struct snap	 s;
		const char	*h[] = { a.cookie, NULL };
		char		 cpath[80];

		snap_take(id, &s);
		req("PATCH", path, "{\"title\":\"Forged\"}", a.cookie, NULL,
		    NULL, &r);
		want(&r, 403);
		harness_resp_free(&r);
		tpath(cpath, sizeof(cpath), id, "/complete");
		assert_int_equal(harness_request(&H, "PATCH", cpath, h, NULL,
		    0, &r), 0);
		want(&r, 403);
		harness_resp_free(&r);
		req("DELETE", path, NULL, a.cookie, ORIGIN_EVIL, NULL, &r);
		want(&r, 403);
		harness_resp_free(&r);
		req("POST", P_BULK, "{\"action\":\"delete\",\"ids\":[1]}",
		    a.cookie, NULL, NULL, &r);
		want(&r, 403);
		harness_resp_free(&r);
		snap_same(id, &s);
	}
	req("DELETE", path, NULL, a.cookie, ORIGIN_OK, NULL, &r);
	want(&r, 204);
	harness_resp_free(&r);
	assert_int_equal(ntasks(&a), 1);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_create_limits),
		cmocka_unit_test(test_create_validation),
		cmocka_unit_test(test_tag_rules),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_patch),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_other_user),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_idempotency),
		cmocka_unit_test(test_idempotency_race),
		cmocka_unit_test(test_compat),
		cmocka_unit_test(test_cookie),
	};
	static const struct harness_group group = {
		"test_tasks", NULL, true, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
