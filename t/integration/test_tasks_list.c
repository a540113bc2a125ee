/*
 * test_tasks_list.c: GET /api/v1/tasks through nginx against a real
 * PostgreSQL, as doc/api.md ("Listing") promises it: the page and its
 * defaults, newest first with ties broken by id, paging that visits every
 * task once, the filters (status, q, tag, due_before, due_after), every
 * sort in both orders, the refusals of bad parameters, other users' tasks
 * kept out, the route with the user id in the path, and the plans and
 * times with 100 000 tasks for one user among 200 others.
 *
 * Tasks are created through POST; the times quipu sets (created_at,
 * updated_at) are then moved with SQL where a test needs a known order.
 */
#include "config.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "harness.h"
#include "tasks.h"

static struct harness	 H;

#define P_TASKS		"/api/v1/tasks"
#define PASSWORD	"pw-TasksList-0001"

/* The most items a page holds (limit's maximum). */
#define MAXIDS		100

/* A page as GET /api/v1/tasks answers it. */
struct page {
	int64_t	 ids[MAXIDS];
	size_t	 n;
	int64_t	 total;
	int64_t	 limit;
	int64_t	 offset;
};

/* ------------------------------------------------------------- helpers */

static void
reg(const char *user, struct harness_auth *a)
{
	assert_int_equal(harness_register(&H, user, PASSWORD, a), 0);
}

/* `s' percent-encoded for a query string. */
static void
enc(const char *s, char *out, size_t sz)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;
	size_t			 n = 0;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		assert_true(n + 4 <= sz);
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			out[n++] = (char)c;
		else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
}

/* `base', then `?query' unless the query is empty. */
static void
with_query(char *out, size_t sz, const char *base, const char *query)
{
	int	 n;

	n = snprintf(out, sz, "%s%s%s", base, *query != '\0' ? "?" : "",
	    query);
	assert_true(n > 0 && (size_t)n < sz);
}

/* POST a task (a JSON object) as `a': its id. */
static int64_t
mk(const struct harness_auth *a, const char *json)
{
	struct harness_resp	 r;
	int64_t			 id;

	assert_int_equal(harness_json(&H, "POST", P_TASKS, a, json, &r), 0);
	if (r.status != 201)
		fprintf(stderr, "POST %s: %ld %.300s\n", json, r.status,
		    r.body);
	assert_int_equal(r.status, 201);
	id = harness_json_int(harness_resp_json(&r), "id");
	assert_true(id > 0);
	harness_resp_free(&r);
	return id;
}

/* A task titled `title' with nothing else: its id. */
static int64_t
mk_title(const struct harness_auth *a, const char *title)
{
	char	 body[512];

	snprintf(body, sizeof(body), "{\"title\":\"%s\"}", title);
	return mk(a, body);
}

/* Sets column `col' (created_at or updated_at) of task `id' to `when'. */
static void
set_time(int64_t id, const char *col, const char *when)
{
	const char	*params[2];
	char		 sql[128], sid[32];

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	snprintf(sql, sizeof(sql), "UPDATE tasks SET %s = $2::timestamptz "
	    "WHERE id = $1::bigint", col);
	params[0] = sid;
	params[1] = when;
	assert_int_equal(harness_sql(&H, sql, params, 2, NULL, 0), 1);
}

/* The page `r' holds, checked for its shape. */
static void
parse_page(struct harness_resp *r, struct page *p)
{
	struct json_object	*j = harness_resp_json(r), *items, *it;
	size_t			 i;

	memset(p, 0, sizeof(*p));
	assert_non_null(j);
	assert_true(json_object_is_type(j, json_type_object));
	/* {"items","total","limit","offset"} and nothing else. */
	assert_int_equal(json_object_object_length(j), 4);
	assert_true(json_object_object_get_ex(j, "items", &items));
	assert_true(json_object_is_type(items, json_type_array));
	p->total = harness_json_int(j, "total");
	p->limit = harness_json_int(j, "limit");
	p->offset = harness_json_int(j, "offset");
	p->n = json_object_array_length(items);
	assert_true(p->n <= MAXIDS);
	assert_true((int64_t)p->n <= p->limit);
	assert_true(p->offset + (int64_t)p->n <= p->total ||
	    (p->n == 0 && p->offset >= p->total));
	for (i = 0; i < p->n; i++) {
		it = json_object_array_get_idx(items, i);
		assert_true(json_object_is_type(it, json_type_object));
		p->ids[i] = harness_json_int(it, "id");
	}
}

/* GET `path' as `a' (may be NULL): the answer, status unchecked. */
static void
get(const struct harness_auth *a, const char *path, struct harness_resp *r)
{
	assert_int_equal(harness_json(&H, "GET", path, a, NULL, r), 0);
}

/* GET /api/v1/tasks?query as `a': a 200 page, into `p'. */
static void
list(const struct harness_auth *a, const char *query, struct page *p)
{
	struct harness_resp	 r;
	char			 path[1024];

	with_query(path, sizeof(path), P_TASKS, query);
	get(a, path, &r);
	if (r.status != 200)
		fprintf(stderr, "GET %s: %ld %.300s\n", path, r.status,
		    r.body);
	assert_int_equal(r.status, 200);
	parse_page(&r, p);
	harness_resp_free(&r);
}

/*
 * The ids named by `which', indices into `t' separated by blanks ("3 1
 * 2"), into `want': how many.
 */
static size_t
pick(const int64_t *t, const char *which, int64_t *want)
{
	char	*end;
	long	 i;
	size_t	 n = 0;

	for (;;) {
		i = strtol(which, &end, 10);
		if (end == which)
			break;
		assert_true(n < MAXIDS);
		want[n++] = t[i];
		which = end;
	}
	return n;
}

static void
print_ids(const char *what, const int64_t *ids, size_t n)
{
	size_t	 i;

	fprintf(stderr, "  %s:", what);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %lld", (long long)ids[i]);
	fprintf(stderr, "\n");
}

/* Whether `got' is `want', printing both when not. */
static bool
same_ids(const char *query, const int64_t *got, size_t ngot,
    const int64_t *want, size_t nwant)
{
	if (ngot == nwant && (nwant == 0 ||
	    memcmp(got, want, nwant * sizeof(*want)) == 0))
		return true;
	fprintf(stderr, "GET %s?%s: wrong items\n", P_TASKS, query);
	print_ids("got ", got, ngot);
	print_ids("want", want, nwant);
	return false;
}

/*
 * GET ?query (one page holds them all) answers exactly the tasks of
 * `which' (see pick), in that order, and counts them in total.
 */
static void
expect(const struct harness_auth *a, const char *query, const int64_t *t,
    const char *which)
{
	struct page	 p;
	int64_t		 want[MAXIDS];
	size_t		 n = pick(t, which, want);

	list(a, query, &p);
	assert_true(same_ids(query, p.ids, p.n, want, n));
	assert_int_equal(p.total, n);
}

/*
 * Pages through ?query with limit=3: every page says the same total, and
 * the pages together hold each task once, in the order `want' says.
 */
static void
walk(const struct harness_auth *a, const char *query, const int64_t *want,
    size_t n)
{
	struct page	 p;
	int64_t		 seen[MAXIDS];
	size_t		 nseen = 0, off, i, j;
	char		 q[512];

	for (off = 0; off <= MAXIDS; off += 3) {
		snprintf(q, sizeof(q), "%s%slimit=3&offset=%zu", query,
		    *query != '\0' ? "&" : "", off);
		list(a, q, &p);
		assert_int_equal(p.total, n);
		assert_int_equal(p.limit, 3);
		assert_int_equal(p.offset, off);
		if (p.n == 0)
			break;
		/* Full pages until the last one. */
		assert_true(p.n == 3 || off + p.n == n);
		assert_true(nseen + p.n <= MAXIDS);
		memcpy(seen + nseen, p.ids, p.n * sizeof(*p.ids));
		nseen += p.n;
	}
	assert_true(off >= n);
	for (i = 0; i < nseen; i++)
		for (j = i + 1; j < nseen; j++)
			assert_true(seen[i] != seen[j]);
	assert_true(same_ids(query, seen, nseen, want, n));
}

/* walk() over the tasks of `which' (see pick). */
static void
walk_of(const struct harness_auth *a, const char *query, const int64_t *t,
    const char *which)
{
	int64_t	 want[MAXIDS];
	size_t	 n = pick(t, which, want);

	walk(a, query, want, n);
}

/* `which' (see pick) in reverse, into `out'. */
static void
reverse(const char *which, char *out, size_t sz)
{
	const char	*end = which + strlen(which), *p;
	size_t		 n = 0;

	out[0] = '\0';
	while (end > which) {
		while (end > which && end[-1] == ' ')
			end--;
		p = end;
		while (p > which && p[-1] != ' ')
			p--;
		if (p == end)
			break;
		assert_true(n + (size_t)(end - p) + 2 <= sz);
		if (n > 0)
			out[n++] = ' ';
		memcpy(out + n, p, (size_t)(end - p));
		n += (size_t)(end - p);
		out[n] = '\0';
		end = p;
	}
}

/* The user's tasks, and the newest updated_at among them, as one string. */
static void
fingerprint(const struct harness_auth *a, char *out, size_t sz)
{
	const char	*uid = a->user_id;

	assert_int_equal(harness_sql(&H, "SELECT count(*) || ' ' || "
	    "coalesce(max(updated_at)::text, '-') || ' ' || "
	    "coalesce(sum(id)::text, '-') FROM tasks WHERE user_id = $1",
	    &uid, 1, out, sz), 1);
}

/* GET ?query answers 422 naming `param' in details. */
static void
refused_422(const struct harness_auth *a, const char *query,
    const char *param)
{
	struct harness_resp	 r;
	struct json_object	*err, *details, *v;
	char			 path[512];

	with_query(path, sizeof(path), P_TASKS, query);
	get(a, path, &r);
	if (r.status != 422)
		fprintf(stderr, "GET %s: %ld, want 422: %.300s\n", path,
		    r.status, r.body);
	assert_int_equal(r.status, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	assert_true(json_object_object_get_ex(harness_resp_json(&r), "error",
	    &err));
	assert_true(json_object_object_get_ex(err, "details", &details));
	if (!json_object_object_get_ex(details, param, &v))
		fprintf(stderr, "GET %s: no details.%s: %s\n", path, param,
		    r.body);
	assert_true(json_object_object_get_ex(details, param, &v));
	assert_true(json_object_is_type(v, json_type_string));
	assert_true(json_object_get_string_len(v) > 0);
	harness_resp_free(&r);
}

/* GET ?query answers 400 bad_request. */
static void
refused_400(const struct harness_auth *a, const char *query)
{
	struct harness_resp	 r;
	char			 path[512];

	with_query(path, sizeof(path), P_TASKS, query);
	get(a, path, &r);
	if (r.status != 400)
		fprintf(stderr, "GET %s: %ld, want 400: %.300s\n", path,
		    r.status, r.body);
	assert_int_equal(r.status, 400);
	assert_true(harness_is_envelope(&r, "bad_request"));
	harness_resp_free(&r);
}

/* Every field of a task, each of its type. */
static void
check_task(struct json_object *t)
{
	static const char *const strings[] = { "title", "priority",
	    "created_at", "updated_at" };
	static const char *const nullable[] = { "description", "due_at",
	    "completed_at" };
	struct json_object	*v;
	size_t			 i;

	assert_int_equal(json_object_object_length(t), 10);
	assert_true(harness_json_int(t, "id") > 0);
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		assert_true(json_object_object_get_ex(t, strings[i], &v));
		assert_true(json_object_is_type(v, json_type_string));
	}
	for (i = 0; i < sizeof(nullable) / sizeof(nullable[0]); i++) {
		assert_true(json_object_object_get_ex(t, nullable[i], &v));
		assert_true(v == NULL ||
		    json_object_is_type(v, json_type_string));
	}
	assert_true(json_object_object_get_ex(t, "completed", &v));
	assert_true(json_object_is_type(v, json_type_boolean));
	assert_true(json_object_object_get_ex(t, "tags", &v));
	assert_true(json_object_is_type(v, json_type_array));
}

/* ------------------------------------------------------------- pages */

static void
test_page_shape(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*items;
	struct page		 p;
	const char		*ct;
	int64_t			 t[4];
	size_t			 i;

	(void)state;
	reg("tl_shape", &a);

	/* No task yet: an empty page with the defaults. */
	get(&a, P_TASKS, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(ct = harness_resp_header(&r, "Content-Type"));
	assert_true(strncmp(ct, "application/json", 16) == 0);
	parse_page(&r, &p);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.total, 0);
	assert_int_equal(p.limit, 50);
	assert_int_equal(p.offset, 0);
	harness_resp_free(&r);

	t[1] = mk_title(&a, "first");
	t[2] = mk(&a, "{\"title\":\"second\",\"description\":\"two\","
	    "\"priority\":\"high\",\"due_at\":\"2026-11-23T17:00:00+01:00\","
	    "\"tags\":[\"a\",\"b\"]}");
	t[3] = mk(&a, "{\"title\":\"third\",\"completed\":true}");

	/* Newest first, every task whole. */
	get(&a, P_TASKS, &r);
	assert_int_equal(r.status, 200);
	parse_page(&r, &p);
	assert_int_equal(p.total, 3);
	assert_int_equal(p.limit, 50);
	assert_int_equal(p.offset, 0);
	assert_true(json_object_object_get_ex(harness_resp_json(&r), "items",
	    &items));
	for (i = 0; i < 3; i++)
		check_task(json_object_array_get_idx(items, i));
	harness_resp_free(&r);
	expect(&a, "", t, "3 2 1");
	expect(&a, "status=all&sort=created_at&order=desc&limit=50&offset=0",
	    t, "3 2 1");

	/* limit and offset shape the page, never the total. */
	list(&a, "limit=2", &p);
	assert_int_equal(p.limit, 2);
	assert_int_equal(p.total, 3);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.ids[0], t[3]);
	assert_int_equal(p.ids[1], t[2]);
	list(&a, "limit=2&offset=2", &p);
	assert_int_equal(p.offset, 2);
	assert_int_equal(p.total, 3);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.ids[0], t[1]);
	list(&a, "offset=3", &p);
	assert_int_equal(p.total, 3);
	assert_int_equal(p.n, 0);
	/* The bounds themselves are accepted. */
	list(&a, "limit=1", &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.total, 3);
	list(&a, "limit=100&offset=1000000", &p);
	assert_int_equal(p.limit, 100);
	assert_int_equal(p.offset, 1000000);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.total, 3);

	/* Unknown parameters are ignored; a repeated one counts once. */
	list(&a, "color=blue&limit=2&limit=1", &p);
	assert_int_equal(p.limit, 2);
	assert_int_equal(p.n, 2);
	list(&a, "sort=title&sort=bogus&order=asc", &p);
	assert_int_equal(p.ids[0], t[1]);

	/* The access cookie is a credential too; none at all is 401. */
	{
		const char	*hdrs[] = { a.cookie, NULL };

		assert_int_equal(harness_request(&H, "GET", P_TASKS, hdrs,
		    NULL, 0, &r), 0);
		assert_int_equal(r.status, 200);
		parse_page(&r, &p);
		assert_int_equal(p.total, 3);
		harness_resp_free(&r);
	}
	get(NULL, P_TASKS, &r);
	assert_int_equal(r.status, 401);
	assert_true(harness_is_envelope(&r, "unauthorized"));
	harness_resp_free(&r);
}

/*
 * Newest first with ties broken by id, in both orders, and paging with
 * limit=3 that meets every task once.
 */
static void
test_ties(void **state)
{
	/* Three instants; several tasks share each. */
	static const char *const when[8] = { NULL,
	    "2026-01-01T11:00:00Z", "2026-01-01T12:00:00Z",
	    "2026-01-01T11:00:00Z", "2026-01-01T10:00:00Z",
	    "2026-01-01T12:00:00Z", "2026-01-01T11:00:00Z",
	    "2026-01-01T10:00:00Z" };
	struct harness_auth	 a;
	struct page		 p;
	int64_t			 t[8];
	char			 title[32];
	size_t			 i;

	(void)state;
	reg("tl_ties", &a);
	for (i = 1; i <= 7; i++) {
		snprintf(title, sizeof(title), "tie %zu", i);
		t[i] = mk_title(&a, title);
		assert_true(i == 1 || t[i] > t[i - 1]);
		set_time(t[i], "created_at", when[i]);
	}
	assert_int_equal(harness_sql_long(&H, "SELECT count(DISTINCT "
	    "created_at) FROM tasks WHERE user_id = $1", a.user_id), 3);

	/* 12:00 5 2, 11:00 6 3 1, 10:00 7 4. */
	expect(&a, "", t, "5 2 6 3 1 7 4");
	expect(&a, "order=desc", t, "5 2 6 3 1 7 4");
	expect(&a, "order=asc", t, "4 7 1 3 6 2 5");
	expect(&a, "sort=created_at&order=asc", t, "4 7 1 3 6 2 5");
	walk_of(&a, "", t, "5 2 6 3 1 7 4");
	walk_of(&a, "order=asc", t, "4 7 1 3 6 2 5");

	/* The total ignores limit and offset. */
	list(&a, "limit=1&offset=6", &p);
	assert_int_equal(p.total, 7);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.ids[0], t[4]);
	list(&a, "limit=100&offset=99", &p);
	assert_int_equal(p.total, 7);
	assert_int_equal(p.n, 0);

	/* Every task the same instant: id alone orders them. */
	assert_int_equal(harness_sql(&H, "UPDATE tasks SET created_at = "
	    "'2026-02-02T00:00:00Z' WHERE user_id = $1",
	    (const char *const []){ a.user_id }, 1, NULL, 0), 7);
	expect(&a, "", t, "7 6 5 4 3 2 1");
	walk_of(&a, "order=asc", t, "1 2 3 4 5 6 7");
	walk_of(&a, "order=desc", t, "7 6 5 4 3 2 1");
}

/* ------------------------------------------------------------- filters */

static void
test_status(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	int64_t			 t[6];

	(void)state;
	reg("tl_status", &a);
	t[1] = mk_title(&a, "open one");
	t[2] = mk(&a, "{\"title\":\"done one\",\"completed\":true}");
	t[3] = mk_title(&a, "open two");
	t[4] = mk(&a, "{\"title\":\"done two\",\"completed\":true}");
	t[5] = mk(&a, "{\"title\":\"open three\",\"completed\":false}");
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM tasks "
	    "WHERE user_id = $1 AND completed", a.user_id), 2);

	expect(&a, "", t, "5 4 3 2 1");
	expect(&a, "status=all", t, "5 4 3 2 1");
	expect(&a, "status=pending", t, "5 3 1");
	expect(&a, "status=completed", t, "4 2");
	expect(&a, "status=completed&order=asc", t, "2 4");
	walk_of(&a, "status=pending&order=asc", t, "1 3 5");

	/* A task reopened through the API leaves completed at once. */
	{
		char	 path[64];

		snprintf(path, sizeof(path), P_TASKS "/%lld",
		    (long long)t[4]);
		assert_int_equal(harness_json(&H, "PATCH", path, &a,
		    "{\"completed\":false}", &r), 0);
		assert_int_equal(r.status, 200);
		harness_resp_free(&r);
	}
	expect(&a, "status=completed", t, "2");
	expect(&a, "status=pending", t, "5 4 3 1");
}

static void
test_q(void **state)
{
	static const char *const odd[] = {
		"a & b | !c:*", "milk:*", "'milk'", "\"milk\"", "milk\\",
		"\\", "'", "''", "\"", "!", "(", ")", "&", "|", ":*",
		"milk & !buy", "(milk | rent)", "<->", "milk <-> buy",
		"a:A", "%", "_", "milk%", "mil_", ";select 1;--",
		"\\x27 OR 1=1", "$1", "E'\\\\'",
	};
	struct harness_auth	 a;
	struct page		 p;
	int64_t			 t[8];
	char			 q[256], query[300];
	size_t			 i;

	(void)state;
	reg("tl_q", &a);
	t[1] = mk_title(&a, "Buy milk");
	t[2] = mk(&a, "{\"title\":\"Call Mom\","
	    "\"description\":\"about the MILKSHAKE recipe\"}");
	t[3] = mk(&a, "{\"title\":\"Pay rent\",\"description\":\"before "
	    "Friday\"}");
	t[4] = mk_title(&a, "Milky way photo");
	t[5] = mk(&a, "{\"title\":\"Tom's \\\"quoted\\\" \\\\ backslash & "
	    "pipe | bang!\"}");
	t[6] = mk(&a, "{\"title\":\"caf\\u00e9 visit\"}");
	t[7] = mk_title(&a, "Water plants");

	/* Prefixes of words, any case, title or description. */
	expect(&a, "q=mil", t, "4 2 1");
	expect(&a, "q=MIL", t, "4 2 1");
	expect(&a, "q=Milk", t, "4 2 1");
	expect(&a, "q=milks", t, "2");
	expect(&a, "q=milkshake", t, "2");
	expect(&a, "q=milkshakes", t, "");
	expect(&a, "q=ilk", t, "");
	expect(&a, "q=fri", t, "3");
	expect(&a, "q=FRIDAY", t, "3");
	expect(&a, "q=recipe", t, "2");
	expect(&a, "q=caf", t, "6");
	expect(&a, "q=caf%C3%A9", t, "6");
	/* Several words: all of them, in any order, from either field. */
	expect(&a, "q=buy%20milk", t, "1");
	expect(&a, "q=milk%20buy", t, "1");
	expect(&a, "q=milk+buy", t, "1");
	expect(&a, "q=bu%20mi", t, "1");
	expect(&a, "q=milk%20rent", t, "");
	expect(&a, "q=call%20milkshake", t, "2");
	expect(&a, "q=pay%20before%20fri", t, "3");
	/* Punctuation between words only separates them. */
	expect(&a, "q=milk%2C%20buy%21", t, "1");
	expect(&a, "q=%22milk%22", t, "4 2 1");
	expect(&a, "q=quoted", t, "5");
	expect(&a, "q=backslash%20pipe%20bang", t, "5");

	/* With the other parameters. */
	expect(&a, "q=mil&order=asc", t, "1 2 4");
	expect(&a, "q=mil&sort=title&order=asc", t, "1 2 4");
	walk_of(&a, "q=mil", t, "4 2 1");

	/* tsquery syntax, quotes and backslashes are text, never an error. */
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		enc(odd[i], q, sizeof(q));
		snprintf(query, sizeof(query), "q=%s", q);
		list(&a, query, &p);
		assert_true(p.total >= 0 && p.total <= 7);
	}
	/* Words in it still have to match. */
	enc("a & b | !c:*", q, sizeof(q));
	snprintf(query, sizeof(query), "q=%s", q);
	expect(&a, query, t, "");
	enc("milk:*", q, sizeof(q));
	snprintf(query, sizeof(query), "q=%s", q);
	expect(&a, query, t, "4 2 1");
	enc("milk & !buy", q, sizeof(q));
	snprintf(query, sizeof(query), "q=%s", q);
	expect(&a, query, t, "1");
	enc("Tom's", q, sizeof(q));
	snprintf(query, sizeof(query), "q=%s", q);
	expect(&a, query, t, "5");

	/* A q without any word filters nothing. */
	expect(&a, "q=", t, "7 6 5 4 3 2 1");
	expect(&a, "q=%21%21%21%20%2C%2C%2C", t, "7 6 5 4 3 2 1");
	expect(&a, "q=%20%20", t, "7 6 5 4 3 2 1");
	enc("& | ! ( ) : * ' \" \\", q, sizeof(q));
	snprintf(query, sizeof(query), "q=%s", q);
	expect(&a, query, t, "7 6 5 4 3 2 1");
}

static void
test_tag(void **state)
{
	struct harness_auth	 a;
	int64_t			 t[7];

	(void)state;
	reg("tl_tag", &a);
	t[1] = mk(&a, "{\"title\":\"t1\",\"tags\":[\"work\",\"urgent\"]}");
	t[2] = mk(&a, "{\"title\":\"t2\",\"tags\":[\"Work\"]}");
	t[3] = mk(&a, "{\"title\":\"t3\",\"tags\":[\"work stuff\"]}");
	t[4] = mk(&a, "{\"title\":\"t4\",\"tags\":[\"home\",\"work\"]}");
	t[5] = mk(&a, "{\"title\":\"work\",\"tags\":[]}");
	t[6] = mk(&a, "{\"title\":\"t6\",\"tags\":[\"workshop\"]}");

	/* Exactly that tag: not another case, a prefix, the title. */
	expect(&a, "tag=work", t, "4 1");
	expect(&a, "tag=Work", t, "2");
	expect(&a, "tag=urgent", t, "1");
	expect(&a, "tag=work%20stuff", t, "3");
	expect(&a, "tag=wor", t, "");
	expect(&a, "tag=workshop", t, "6");
	expect(&a, "tag=nothing", t, "");
	expect(&a, "tag=work&order=asc", t, "1 4");
	expect(&a, "tag=work&status=completed", t, "");
	expect(&a, "tag=home&q=t4", t, "4");
	expect(&a, "tag=home&q=t1", t, "");
}

static void
test_due(void **state)
{
	struct harness_auth	 a;
	int64_t			 t[6];

	(void)state;
	reg("tl_due", &a);
	t[1] = mk(&a, "{\"title\":\"d1\",\"due_at\":\"2026-03-01T10:00:00Z\"}");
	t[2] = mk(&a, "{\"title\":\"d2\",\"due_at\":\"2026-03-02T10:00:00Z\"}");
	t[3] = mk(&a, "{\"title\":\"d3\","
	    "\"due_at\":\"2026-03-03T11:00:00+01:00\"}");
	t[4] = mk_title(&a, "no due date");
	t[5] = mk(&a, "{\"title\":\"d5\",\"due_at\":null}");

	/* Strictly before / after; tasks without a due date left out. */
	expect(&a, "due_before=2026-03-02T10:00:00Z", t, "1");
	expect(&a, "due_before=2026-03-02T10:00:00.001Z", t, "2 1");
	expect(&a, "due_after=2026-03-02T10:00:00Z", t, "3");
	expect(&a, "due_after=2026-03-02T09:59:59.999Z", t, "3 2");
	expect(&a, "due_after=2026-03-01T10:00:00Z&"
	    "due_before=2026-03-03T10:00:00Z", t, "2");
	expect(&a, "due_after=2026-03-03T10:00:00Z&"
	    "due_before=2026-03-01T10:00:00Z", t, "");
	expect(&a, "due_before=2100-01-01T00:00:00Z", t, "3 2 1");
	expect(&a, "due_after=1970-01-01T00:00:00Z", t, "3 2 1");
	/* Offsets count: 11:00+01:00 is 10:00Z. */
	expect(&a, "due_before=2026-03-02T11:00:00%2B01:00", t, "1");
	expect(&a, "due_after=2026-03-02T05:00:00-05:00", t, "3");
	expect(&a, "due_before=2026-03-02T10:00:00.5%2B00:00", t, "2 1");
	/* RFC 3339 allows a lower-case t and z. */
	expect(&a, "due_before=2026-03-02t10:00:00z", t, "1");
	/* With the other filters. */
	expect(&a, "due_before=2100-01-01T00:00:00Z&q=d2", t, "2");
	expect(&a, "due_before=2100-01-01T00:00:00Z&sort=due_at&order=asc",
	    t, "1 2 3");
}

/* ------------------------------------------------------------- sorts */

/*
 * Each sort in both orders. The table below is built so that every sort
 * has ties (broken by id) and so that a wrong rule (priority sorted as
 * text, titles compared with case, nulls on the wrong end) shows.
 */
static void
test_sort(void **state)
{
	static const struct {
		const char	*json;
		const char	*created;
		const char	*updated;
	} rows[] = {
		{ "{\"title\":\"Banana\",\"priority\":\"high\","
		    "\"due_at\":\"2026-05-03T00:00:00Z\"}",
		    "2026-04-01T05:00:00Z", "2026-04-02T01:00:00Z" },
		{ "{\"title\":\"apple\",\"priority\":\"none\"}",
		    "2026-04-01T03:00:00Z", "2026-04-02T06:00:00Z" },
		{ "{\"title\":\"cherry\",\"priority\":\"low\","
		    "\"due_at\":\"2026-05-01T00:00:00Z\"}",
		    "2026-04-01T03:00:00Z", "2026-04-02T02:00:00Z" },
		{ "{\"title\":\"apple pie\",\"priority\":\"medium\","
		    "\"due_at\":\"2026-05-02T00:00:00Z\"}",
		    "2026-04-01T01:00:00Z", "2026-04-02T02:00:00Z" },
		{ "{\"title\":\"APPLE\",\"priority\":\"medium\"}",
		    "2026-04-01T04:00:00Z", "2026-04-02T05:00:00Z" },
		{ "{\"title\":\"date\",\"priority\":\"low\","
		    "\"due_at\":\"2026-05-02T00:00:00Z\"}",
		    "2026-04-01T02:00:00Z", "2026-04-02T03:00:00Z" },
	};
	/* The ascending order of each sort (descending is its reverse). */
	static const struct {
		const char	*sort;
		const char	*asc;
	} sorts[] = {
		{ "created_at",	"4 6 2 3 5 1" },
		{ "updated_at",	"1 3 4 6 5 2" },
		/* Without a due date: last ascending, first descending. */
		{ "due_at",	"3 4 6 1 2 5" },
		/* none < low < medium < high, not the words' order. */
		{ "priority",	"2 3 6 4 5 1" },
		/* "apple" = "APPLE" < "apple pie" < "Banana" < ... */
		{ "title",	"2 5 4 1 3 6" },
	};
	struct harness_auth	 a;
	int64_t			 t[7];
	char			 query[128], desc[64];
	size_t			 i;

	(void)state;
	reg("tl_sort", &a);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		t[i + 1] = mk(&a, rows[i].json);
		set_time(t[i + 1], "created_at", rows[i].created);
		set_time(t[i + 1], "updated_at", rows[i].updated);
	}

	for (i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
		reverse(sorts[i].asc, desc, sizeof(desc));
		snprintf(query, sizeof(query), "sort=%s&order=asc",
		    sorts[i].sort);
		expect(&a, query, t, sorts[i].asc);
		walk_of(&a, query, t, sorts[i].asc);
		snprintf(query, sizeof(query), "sort=%s&order=desc",
		    sorts[i].sort);
		expect(&a, query, t, desc);
		walk_of(&a, query, t, desc);
		/* desc is the default order. */
		snprintf(query, sizeof(query), "sort=%s", sorts[i].sort);
		expect(&a, query, t, desc);
	}
	expect(&a, "", t, "1 5 3 2 6 4");
	expect(&a, "order=asc", t, "4 6 2 3 5 1");
	/* Sorting the filtered tasks. */
	expect(&a, "sort=priority&q=apple", t, "5 4 2");
	expect(&a, "sort=due_at&order=asc&status=pending", t, "3 4 6 1 2 5");
}

/* ------------------------------------------------------------- refusals */

static void
test_bad_params(void **state)
{
	static const struct {
		const char	*query;
		const char	*param;
	} bad[] = {
		{ "status=bogus", "status" },
		{ "status=", "status" },
		{ "sort=bogus", "sort" },
		{ "sort=id", "sort" },
		{ "order=up", "order" },
		{ "order=", "order" },
		{ "limit=0", "limit" },
		{ "limit=101", "limit" },
		{ "limit=abc", "limit" },
		{ "limit=-1", "limit" },
		{ "limit=1.5", "limit" },
		{ "limit=5x", "limit" },
		{ "limit=", "limit" },
		{ "limit=99999999999999999999999", "limit" },
		{ "offset=-1", "offset" },
		{ "offset=1000001", "offset" },
		{ "offset=abc", "offset" },
		{ "due_before=yesterday", "due_before" },
		{ "due_before=", "due_before" },
		{ "due_before=2026-03-01", "due_before" },
		{ "due_after=2026-13-01T00:00:00Z", "due_after" },
		{ "due_after=2026-03-01T10:00:00", "due_after" },
		{ "due_after=1700000000", "due_after" },
		/* The first of a repeated parameter counts. */
		{ "limit=abc&limit=5", "limit" },
		/* Good parameters next to a bad one. */
		{ "status=pending&sort=title&order=sideways", "order" },
	};
	static const char *const bad400[] = {
		"q=%FF", "q=%00", "q=milk%00", "q=%C3", "q=%ED%A0%80",
		"q=%C0%AF", "tag=%FF", "tag=a%00b",
		"due_before=2026-03-01T10:00:00Z%00",
	};
	struct harness_auth	 a;
	char			 before[128], after[128];
	size_t			 i;

	(void)state;
	reg("tl_bad", &a);
	(void)mk_title(&a, "one");
	(void)mk(&a, "{\"title\":\"two\",\"tags\":[\"x\"]}");
	fingerprint(&a, before, sizeof(before));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused_422(&a, bad[i].query, bad[i].param);
	for (i = 0; i < sizeof(bad400) / sizeof(bad400[0]); i++)
		refused_400(&a, bad400[i]);

	/* Reading changes nothing, refused or not. */
	fingerprint(&a, after, sizeof(after));
	assert_string_equal(before, after);
}

/* ------------------------------------------------------------- users */

static void
test_other_users(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct page		 p;
	int64_t			 ta[4], tb[5];
	char			 path[256], up[64], bbefore[128], bafter[128];
	size_t			 i, j;

	(void)state;
	reg("tl_iso_a", &a);
	reg("tl_iso_b", &b);
	/* The same words, tags and dates on both sides. */
	for (i = 1; i <= 4; i++) {
		if (i <= 3)
			ta[i] = mk(&a, "{\"title\":\"shared words\","
			    "\"tags\":[\"same\"],"
			    "\"due_at\":\"2026-06-01T00:00:00Z\"}");
		tb[i] = mk(&b, "{\"title\":\"shared words\","
		    "\"tags\":[\"same\"],\"completed\":true,"
		    "\"due_at\":\"2026-06-01T00:00:00Z\"}");
	}
	fingerprint(&b, bbefore, sizeof(bbefore));

	expect(&a, "", ta, "3 2 1");
	expect(&a, "q=shared", ta, "3 2 1");
	expect(&a, "tag=same", ta, "3 2 1");
	expect(&a, "status=completed", ta, "");
	expect(&a, "due_before=2100-01-01T00:00:00Z", ta, "3 2 1");
	expect(&a, "sort=title&order=asc", ta, "1 2 3");
	expect(&b, "", tb, "4 3 2 1");
	list(&a, "limit=100", &p);
	for (i = 0; i < p.n; i++)
		for (j = 1; j <= 4; j++)
			assert_true(p.ids[i] != tb[j]);

	/* The route with the caller's id in the path, in any case. */
	snprintf(path, sizeof(path), "/api/%s/tasks", a.user_id);
	get(&a, path, &r);
	assert_int_equal(r.status, 200);
	parse_page(&r, &p);
	assert_int_equal(p.total, 3);
	assert_int_equal(p.limit, 50);
	assert_int_equal(p.ids[0], ta[3]);
	harness_resp_free(&r);
	snprintf(path, sizeof(path), "/api/%s/tasks?limit=1&order=asc",
	    a.user_id);
	get(&a, path, &r);
	assert_int_equal(r.status, 200);
	parse_page(&r, &p);
	assert_int_equal(p.total, 3);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.ids[0], ta[1]);
	harness_resp_free(&r);
	for (i = 0; a.user_id[i] != '\0' && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)a.user_id[i]);
	up[i] = '\0';
	snprintf(path, sizeof(path), "/api/%s/tasks", up);
	get(&a, path, &r);
	assert_int_equal(r.status, 200);
	parse_page(&r, &p);
	assert_int_equal(p.total, 3);
	harness_resp_free(&r);
	/* The same rules for parameters there. */
	snprintf(path, sizeof(path), "/api/%s/tasks?limit=0", a.user_id);
	get(&a, path, &r);
	assert_int_equal(r.status, 422);
	assert_true(harness_is_envelope(&r, "validation_failed"));
	harness_resp_free(&r);

	/* Another user's id: 403 before anything is read. */
	snprintf(path, sizeof(path), "/api/%s/tasks", b.user_id);
	get(&a, path, &r);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	assert_null(strstr(r.body, "shared"));
	harness_resp_free(&r);
	snprintf(path, sizeof(path), "/api/%s/tasks?limit=0", b.user_id);
	get(&a, path, &r);
	assert_int_equal(r.status, 403);
	harness_resp_free(&r);
	get(&a, "/api/garbage/tasks", &r);
	assert_int_equal(r.status, 403);
	assert_true(harness_is_envelope(&r, "forbidden"));
	harness_resp_free(&r);
	snprintf(path, sizeof(path), "/api/%s/tasks", a.user_id);
	get(NULL, path, &r);
	assert_int_equal(r.status, 401);
	harness_resp_free(&r);

	fingerprint(&b, bafter, sizeof(bafter));
	assert_string_equal(bbefore, bafter);
}

/* ------------------------------------------------------------- scale */

#define BIG_TASKS	100000
#define OTHER_USERS	200
#define OTHER_TASKS	20000

/* One statement on `c' that must succeed; its result. */
static PGresult *
pg_ok(PGconn *c, const char *sql, const char *const *params, int nparams,
    ExecStatusType want)
{
	PGresult	*res;

	res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != want)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	assert_int_equal(PQresultStatus(res), want);
	return res;
}

/*
 * The plan PostgreSQL chooses for `sql' with `params', as EXPLAIN (FORMAT
 * TEXT) prints it, one line per row. quipu prepares its statements, so
 * after a few runs PostgreSQL may keep a generic plan (one made without
 * the parameters' values) instead of a custom one: `generic' asks for
 * that one. Caller frees.
 */
static char *
explain(const char *sql, const char *const *params, int nparams,
    bool generic)
{
	PGconn		*c;
	PGresult	*res;
	char		*q, *out = NULL, *lit[3];
	size_t		 len = 0, n, qsz = strlen(sql) + 256;
	int		 i;

	c = PQconnectdb(H.dburl);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	assert_non_null(q = malloc(qsz));
	if (generic) {
		assert_int_equal(nparams, 3);
		res = PQprepare(c, "list", sql, nparams, NULL);
		assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
		PQclear(res);
		PQclear(pg_ok(c, "SET plan_cache_mode = force_generic_plan",
		    NULL, 0, PGRES_COMMAND_OK));
		/* EXECUTE takes no parameters: the values go as literals. */
		for (i = 0; i < 3; i++)
			assert_non_null(lit[i] = PQescapeLiteral(c, params[i],
			    strlen(params[i])));
		snprintf(q, qsz, "EXPLAIN (FORMAT TEXT) EXECUTE list(%s, %s, "
		    "%s)", lit[0], lit[1], lit[2]);
		for (i = 0; i < 3; i++)
			PQfreemem(lit[i]);
		res = pg_ok(c, q, NULL, 0, PGRES_TUPLES_OK);
	} else {
		snprintf(q, qsz, "EXPLAIN (FORMAT TEXT) %s", sql);
		res = pg_ok(c, q, params, nparams, PGRES_TUPLES_OK);
	}
	for (i = 0; i < PQntuples(res); i++) {
		n = strlen(PQgetvalue(res, i, 0));
		assert_non_null(out = realloc(out, len + n + 2));
		memcpy(out + len, PQgetvalue(res, i, 0), n);
		len += n;
		out[len++] = '\n';
		out[len] = '\0';
	}
	assert_non_null(out);
	PQclear(res);
	PQfinish(c);
	free(q);
	return out;
}

/*
 * Checks a plan of the default list's statement: the total (the first InitPlan) and the page
 * (the second) are each read from an index led by user_id, never from
 * the whole table.
 *
 * Except for one case: the custom plan for a user who holds most of the
 * table (`count_may_scan') counts by reading the table, because that is
 * cheaper than the index for 100 000 of 120 000 rows (about 39 ms against
 * 47 ms here). quipu prepares its statements, so PostgreSQL runs that
 * plan for the first few executions on a connection only, and the
 * generic plan (checked strictly) after that.
 */
static void
check_plan(const char *plan, bool count_may_scan)
{
	const char	*count, *page;
	char		*head;

	assert_non_null(count = strstr(plan, "InitPlan"));
	assert_non_null(page = strstr(count + 1, "InitPlan"));
	assert_non_null(strstr(page, "tasks_user_"));
	assert_null(strstr(page, "Seq Scan on tasks"));
	assert_non_null(head = strndup(count, (size_t)(page - count)));
	if (strstr(head, "Seq Scan on tasks") != NULL && count_may_scan)
		printf("# NOTE: this plan counts the total with a Seq Scan, "
		    "not from an index led by user_id\n");
	else {
		assert_non_null(strstr(head, "tasks_user_"));
		assert_null(strstr(head, "Seq Scan on tasks"));
	}
	free(head);
}

#define TIMED_RUNS	5

static int
cmp_ms(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * GET ?query as `a' once to warm the caches, then TIMED_RUNS times,
 * each answering `total' and a page of `nitems': prints the times.
 */
static void
timed_list(const struct harness_auth *a, const char *who, const char *query,
    int64_t total, size_t nitems)
{
	struct page	 p;
	uint64_t	 ms[TIMED_RUNS], t0;
	size_t		 i;

	list(a, query, &p);
	for (i = 0; i < TIMED_RUNS; i++) {
		t0 = harness_now_ms();
		list(a, query, &p);
		ms[i] = harness_now_ms() - t0;
		assert_int_equal(p.total, total);
		assert_int_equal(p.n, nitems);
	}
	qsort(ms, TIMED_RUNS, sizeof(ms[0]), cmp_ms);
	printf("# GET %s%s%s as %s: median %llu ms (min %llu, max %llu, "
	    "%d runs)\n", P_TASKS, *query != '\0' ? "?" : "", query, who,
	    (unsigned long long)ms[TIMED_RUNS / 2],
	    (unsigned long long)ms[0],
	    (unsigned long long)ms[TIMED_RUNS - 1], TIMED_RUNS);
}

static void
test_scale(void **state)
{
	static const struct {
		const char	*query;
		int64_t		 total;
	} lists[] = {
		{ "", BIG_TASKS },
		{ "status=pending", BIG_TASKS - BIG_TASKS / 5 },
		{ "sort=title", BIG_TASKS },
		{ "q=bravo", BIG_TASKS / 4 },
	};
	struct harness_auth	 a, o;
	const char		*uid;
	struct task_filter	 f;
	const char		*lp[TASK_PARAMS_MAX];
	char			*plan, other[64], list_sql[TASK_SQL_MAX];
	uint64_t		 t0;
	size_t			 i;
	int			 round, n;

	(void)state;
	reg("tl_big", &a);
	reg("tl_small", &o);
	uid = a.user_id;

	t0 = harness_now_ms();
	assert_int_equal(harness_sql(&H, "INSERT INTO users (username, "
	    "password_hash) SELECT 'tl_other_' || g, 'not a hash' "
	    "FROM generate_series(1, 200) g", NULL, 0, NULL, 0), OTHER_USERS);
	assert_int_equal(harness_sql(&H, "INSERT INTO tasks (user_id, title, "
	    "description, priority, tags, created_at, updated_at) "
	    "SELECT (SELECT array_agg(id ORDER BY username) FROM users "
	    "WHERE username LIKE 'tl\\_other\\_%')[1 + g % 200], "
	    "'other task ' || g || ' bravo', 'someone else''s', "
	    "(ARRAY['none','low','medium','high'])[1 + g % 4]::task_priority, "
	    "ARRAY['work'], now() - g * interval '1 second', "
	    "now() - g * interval '1 second' "
	    "FROM generate_series(0, 19999) g", NULL, 0, NULL, 0),
	    OTHER_TASKS);
	/*
	 * A fifth completed, a quarter of each word and priority, half
	 * with a due date, every seventh tagged, one per second of age.
	 */
	assert_int_equal(harness_sql(&H, "INSERT INTO tasks (user_id, title, "
	    "description, completed, completed_at, priority, due_at, tags, "
	    "created_at, updated_at) "
	    "SELECT $1::uuid, 'task ' || g || ' ' || "
	    "(ARRAY['alpha','bravo','charlie','delta'])[1 + g % 4], "
	    "CASE WHEN g % 3 = 0 THEN 'note ' || (g % 50) END, "
	    "g % 5 = 0, CASE WHEN g % 5 = 0 THEN now() END, "
	    "(ARRAY['none','low','medium','high'])[1 + g / 7 % 4]"
	    "::task_priority, "
	    "CASE WHEN g % 2 = 0 THEN now() + g * interval '1 minute' END, "
	    "CASE WHEN g % 7 = 0 THEN ARRAY['work'] ELSE '{}' END, "
	    "now() - g * interval '1 second', "
	    "now() - g * interval '1 second' "
	    "FROM generate_series(1, 100000) g", &uid, 1, NULL, 0),
	    BIG_TASKS);
	/* A fresh load, then what autovacuum would leave behind. */
	assert_true(harness_sql(&H, "VACUUM (ANALYZE) tasks", NULL, 0, NULL,
	    0) >= 0);
	assert_true(harness_sql(&H, "ANALYZE users", NULL, 0, NULL, 0) >= 0);
	printf("# scale: %d tasks for one user, %d over %d others: "
	    "loaded in %llu ms\n", BIG_TASKS, OTHER_TASKS, OTHER_USERS,
	    (unsigned long long)(harness_now_ms() - t0));

	/*
	 * The default list's statement, as lib/tasks.c sends it: the plans
	 * for the big user and for one of the others.
	 */
	assert_int_equal(harness_sql(&H, "SELECT id FROM users WHERE "
	    "username = 'tl_other_1'", NULL, 0, other, sizeof(other)), 1);
	tasks_filter_init(&f);
	assert_int_equal(tasks_list_sql(&f, NULL, "50", "0", list_sql, lp,
	    &n), APP_OK);
	assert_int_equal(n, 3);
	for (round = 0; round < 3; round++) {
		const char	*params[] = { round == 2 ? other : uid, "50",
				    "0" };

		plan = explain(list_sql, params, 3, round == 1);
		printf("# %s plan of the default list for %s (EXPLAIN, "
		    "FORMAT TEXT):\n%s", round == 1 ? "generic" : "custom",
		    round == 2 ? "a user with 100 tasks" :
		    "the user with 100000 tasks", plan);
		check_plan(plan, round == 0);
		free(plan);
	}

	/* Through nginx. */
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		timed_list(&a, "the user with 100000 tasks", lists[i].query,
		    lists[i].total, 50);
	/* A small list costs little, whatever the big one holds. */
	(void)mk_title(&o, "mine bravo");
	timed_list(&o, "a user with 1 task", "", 1, 1);
	timed_list(&o, "a user with 1 task", "q=bravo", 1, 1);
	timed_list(&o, "a user with 1 task", "q=alpha", 0, 0);
	timed_list(&o, "a user with 1 task", "tag=work", 0, 0);
	fflush(stdout);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_shape),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_q),
		cmocka_unit_test(test_tag),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_other_users),
		/* Last: it loads 120 000 rows into the shared database. */
		cmocka_unit_test(test_scale),
	};
	static const struct harness_group group = {
		"test_tasks_list", NULL, true, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
