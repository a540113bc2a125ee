/*
 * test_memory.c: the memory API through nginx against a real PostgreSQL,
 * as doc/api.md ("Memory") promises it: adding with reconciliation (ADD,
 * NONE for a duplicate or a near one, UPDATE of the same subject with
 * the history keeping both texts), the list and its paging, search with
 * scores, the profile summary, get, edit and delete, the history of a
 * deleted memory, delete-all and its confirmation, the rules of a
 * body, ids that are no ids, and two users with identical memories who
 * never see each other's.
 *
 * Every refusal is checked twice: its answer, and the user's rows read
 * back from the database (a digest of their memories and events), so
 * "nothing changed" is seen, not assumed.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

static struct harness	 H;

#define P_MEM		"/api/v1/memories"
#define P_SEARCH	"/api/v1/memories/search"
#define P_SUMMARY	"/api/v1/memories/summary"
/* The largest id there is (2^63 - 1): never a memory of this program. */
#define ID_MAX		"9223372036854775807"
#define DIGEST		64
/* A pause so that a change lands on a later millisecond. */
#define TICK_MS		5
#define FAKE_KEY	"sk-fake-key-memory-0123456789"

/* ------------------------------------------------------------- helpers */

static void
req(const struct harness_auth *a, const char *method, const char *path,
    const char *body, struct harness_resp *r)
{
	harness_req(&H, method, path, body, a != NULL ? a->auth_header : NULL,
	    NULL, NULL, r);
}

/* {"<key>": s} with s escaped by json-c. Caller frees. */
static char *
body_of(const char *key, const char *s)
{
	struct json_object	*o;
	char			*b;

	assert_non_null(o = json_object_new_object());
	assert_int_equal(json_object_object_add(o, key,
	    json_object_new_string(s)), 0);
	assert_non_null(b = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN)));
	json_object_put(o);
	return b;
}

static struct json_object *
jget(struct json_object *o, const char *key)
{
	struct json_object	*v;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, key, &v));
	return v;
}

/* "2026-11-22T10:30:00.123Z" */
static bool
is_time(const char *s)
{
	static const char	 shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t			 i;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' :
		    s[i] != shape[i])
			return false;
	return true;
}

/* A memory as doc/api.md shows it: its five members, each of its type. */
static void
check_memory(struct json_object *m)
{
	struct json_object	*v;

	assert_non_null(m);
	assert_true(json_object_is_type(m, json_type_object));
	assert_int_equal(json_object_object_length(m), 5);
	assert_true(harness_json_int(m, "id") > 0);
	assert_non_null(harness_json_str(m, "content"));
	assert_true(is_time(harness_json_str(m, "created_at")));
	assert_true(is_time(harness_json_str(m, "updated_at")));
	assert_true(strcmp(harness_json_str(m, "created_at"),
	    harness_json_str(m, "updated_at")) <= 0);
	v = jget(m, "source");
	assert_true(v == NULL || json_object_is_type(v, json_type_object));
}

/* An event: its eight members. */
static void
check_event(struct json_object *e, int64_t memory_id, const char *event,
    const char *old_content, const char *new_content, const char *actor)
{
	assert_true(json_object_is_type(e, json_type_object));
	assert_int_equal(json_object_object_length(e), 8);
	assert_true(harness_json_int(e, "id") > 0);
	assert_int_equal(harness_json_int(e, "memory_id"), memory_id);
	assert_string_equal(harness_json_str(e, "event"), event);
	if (old_content == NULL)
		assert_true(harness_json_is_null(e, "old_content"));
	else
		assert_string_equal(harness_json_str(e, "old_content"),
		    old_content);
	if (new_content == NULL)
		assert_true(harness_json_is_null(e, "new_content"));
	else
		assert_string_equal(harness_json_str(e, "new_content"),
		    new_content);
	assert_string_equal(harness_json_str(e, "actor"), actor);
	assert_true(harness_json_is_null(e, "source"));
	assert_true(is_time(harness_json_str(e, "created_at")));
}

/*
 * POST /api/v1/memories {"content": content}; the status must be
 * `status'; the event must be `event' (when not NULL). The memory's id
 * is returned; the answer stays in `r' (freed by the caller) when `r' is
 * not NULL.
 */
static int64_t
add(const struct harness_auth *a, const char *content, long status,
    const char *event, struct harness_resp *r)
{
	struct harness_resp	 own, *p = r != NULL ? r : &own;
	struct json_object	*m;
	char			*b = body_of("content", content);
	int64_t			 id;

	req(a, "POST", P_MEM, b, p);
	free(b);
	harness_want(&H, p, status);
	assert_string_equal(harness_json_str(harness_resp_json(p), "event"),
	    event);
	m = jget(harness_resp_json(p), "memory");
	check_memory(m);
	id = harness_json_int(m, "id");
	if (strcmp(event, "ADD") == 0) {
		assert_string_equal(harness_resp_header(p, "Location"),
		    harness_fmt(P_MEM "/%lld", (long long)id));
		assert_int_equal(json_object_object_length(
		    harness_resp_json(p)), 2);
	}
	if (r == NULL)
		harness_resp_free(&own);
	return id;
}

static const char *
mpath(int64_t id, const char *suffix)
{
	return harness_fmt(P_MEM "/%lld%s", (long long)id,
	    suffix != NULL ? suffix : "");
}

static long
nrows(const char *table, const struct harness_auth *a)
{
	return harness_sql_long(&H, harness_fmt("SELECT count(*) FROM %s "
	    "WHERE user_id = $1::uuid", table), a->user_id);
}

/*
 * A digest of everything of the user's memories: the rows of memories,
 * memory_events and memory_buckets. Equal digests: nothing changed.
 */
static void
digest(const struct harness_auth *a, char out[DIGEST])
{
	const char	*p[1] = { a->user_id };

	assert_true(harness_sql(&H, "SELECT md5("
	    "coalesce((SELECT string_agg(m::text, '|' ORDER BY id) "
	    "FROM memories m WHERE user_id = $1::uuid), '') || '#' || "
	    "coalesce((SELECT string_agg(e::text, '|' ORDER BY id) "
	    "FROM memory_events e WHERE user_id = $1::uuid), '') || '#' || "
	    "coalesce((SELECT string_agg(b::text, '|' ORDER BY memory_id, "
	    "bucket) FROM memory_buckets b WHERE user_id = $1::uuid), ''))",
	    p, 1, out, DIGEST) == 1);
	assert_int_equal(strlen(out), 32);
}

/* The error answer, and the user's rows unchanged. */
static void
refused(const struct harness_auth *a, const char *method, const char *path,
    const char *body, const char *ct, long status, const char *code,
    const char *field)
{
	struct harness_resp	 r;
	char			 before[DIGEST], after[DIGEST];

	digest(a, before);
	harness_req(&H, method, path, body, a->auth_header, ct, NULL, &r);
	harness_want_error(&H, &r, status, code);
	if (field != NULL)
		assert_non_null(harness_resp_str(&r,
		    harness_fmt("error.details.%s", field)));
	harness_resp_free(&r);
	digest(a, after);
	assert_string_equal(before, after);
}

/* The items of GET `path' (a list), with its total. */
static struct json_object *
list(const struct harness_auth *a, const char *path, struct harness_resp *r,
    int64_t *total)
{
	struct json_object	*items;

	req(a, "GET", path, NULL, r);
	harness_want(&H, r, 200);
	items = jget(harness_resp_json(r), "items");
	assert_true(json_object_is_type(items, json_type_array));
	if (total != NULL)
		*total = harness_json_int(harness_resp_json(r), "total");
	return items;
}

static struct json_object *
history(const struct harness_auth *a, int64_t id, struct harness_resp *r)
{
	struct json_object	*items;

	req(a, "GET", mpath(id, "/history"), NULL, r);
	harness_want(&H, r, 200);
	assert_int_equal(json_object_object_length(harness_resp_json(r)), 1);
	items = jget(harness_resp_json(r), "items");
	assert_true(json_object_is_type(items, json_type_array));
	return items;
}

static struct json_object *
item(struct json_object *items, size_t i)
{
	struct json_object	*v;

	assert_true(i < json_object_array_length(items));
	assert_non_null(v = json_object_array_get_idx(items, i));
	return v;
}

/* ------------------------------------------------------------- tests */

/* ADD, NONE for duplicates and near ones, UPDATE of one subject. */
static void
test_reconcile(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*m, *items;
	int64_t			 home, dog, jazz, id, total;

	(void)state;
	harness_new_user(&H, "mem-rec", &a);

	home = add(&a, "I live in Paris", 201, "ADD", &r);
	m = jget(harness_resp_json(&r), "memory");
	assert_string_equal(harness_json_str(m, "content"), "I live in Paris");
	assert_true(harness_json_is_null(m, "source"));
	assert_string_equal(harness_json_str(m, "created_at"),
	    harness_json_str(m, "updated_at"));
	harness_resp_free(&r);

	/* The same again, and the same with other spaces, case, a dot. */
	id = add(&a, "I live in Paris", 200, "NONE", &r);
	assert_int_equal(id, home);
	assert_int_equal(json_object_object_length(harness_resp_json(&r)), 2);
	harness_resp_free(&r);
	assert_int_equal(add(&a, "  i live in paris.  ", 200, "NONE", NULL),
	    home);
	assert_int_equal(nrows("memories", &a), 1);

	/* A near duplicate: one word more of eight. */
	dog = add(&a, "My dog Rex loves long walks in the park", 201, "ADD",
	    NULL);
	assert_int_equal(add(&a, "My dog Rex loves long walks in the big park",
	    200, "NONE", &r), dog);
	assert_string_equal(harness_json_str(jget(harness_resp_json(&r),
	    "memory"), "content"), "My dog Rex loves long walks in the park");
	harness_resp_free(&r);
	assert_int_equal(nrows("memories", &a), 2);

	/* The same subject, another content: the newest replaces it. */
	harness_sleep_ms(TICK_MS);
	id = add(&a, "I live in Berlin", 200, "UPDATE", &r);
	assert_int_equal(id, home);
	m = jget(harness_resp_json(&r), "memory");
	assert_string_equal(harness_json_str(m, "content"), "I live in Berlin");
	assert_true(strcmp(harness_json_str(m, "created_at"),
	    harness_json_str(m, "updated_at")) < 0);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "previous"),
	    "I live in Paris");
	assert_int_equal(json_object_object_length(harness_resp_json(&r)), 3);
	harness_resp_free(&r);
	assert_int_equal(nrows("memories", &a), 2);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM memories "
	    "WHERE user_id = $1::uuid AND content LIKE '%Paris%'", a.user_id),
	    0);

	items = history(&a, home, &r);
	assert_int_equal(json_object_array_length(items), 2);
	check_event(item(items, 0), home, "ADD", NULL, "I live in Paris",
	    "user");
	check_event(item(items, 1), home, "UPDATE", "I live in Paris",
	    "I live in Berlin", "user");
	assert_true(harness_json_int(item(items, 0), "id") <
	    harness_json_int(item(items, 1), "id"));
	harness_resp_free(&r);

	/* The updated memory is the newest change: first in the list. */
	items = list(&a, P_MEM, &r, &total);
	assert_int_equal(total, 2);
	assert_int_equal(harness_json_int(item(items, 0), "id"), home);
	assert_int_equal(harness_json_int(item(items, 1), "id"), dog);
	harness_resp_free(&r);

	/* Likes and dislikes of one thing are one subject. */
	jazz = add(&a, "I like jazz", 201, "ADD", NULL);
	assert_int_equal(add(&a, "I hate jazz", 200, "UPDATE", &r), jazz);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "previous"),
	    "I like jazz");
	harness_resp_free(&r);
	/* Unrelated facts are added. */
	assert_true(add(&a, "I'm allergic to peanuts", 201, "ADD", NULL) >
	    jazz);
	assert_int_equal(nrows("memories", &a), 4);
	/* Every change is an event; NONE writes none. */
	assert_int_equal(nrows("memory_events", &a), 6);
	/* Each memory has its LSH buckets. */
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM memories m "
	    "WHERE user_id = $1::uuid AND NOT EXISTS (SELECT 1 FROM "
	    "memory_buckets b WHERE b.memory_id = m.id)", a.user_id), 0);
}

/* The list: newest change first, paging, total, q=, parameters. */
static void
test_list(void **state)
{
	static const char *const words[] = {
		"apples", "bicycles", "candles", "dolphins", "engines",
		"falcons", "guitars", "harbours", "islands", "jackets",
		"kettles", "lanterns", "mountains", "needles", "oranges",
		"pianos", "quilts", "rivers", "saddles", "tulips", "umbrellas",
		"violins", "wagons", "xylophones", "yachts"
	};
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*items;
	int64_t			 ids[25], total, seen[25];
	size_t			 i, j, n = 0;
	char			 content[64];

	(void)state;
	harness_new_user(&H, "mem-list", &a);
	for (i = 0; i < 25; i++) {
		snprintf(content, sizeof(content), "Fact %02zu is about %s", i,
		    words[i]);
		ids[i] = add(&a, content, 201, "ADD", NULL);
	}

	/* The default page: 20, newest first. */
	items = list(&a, P_MEM, &r, &total);
	assert_int_equal(total, 25);
	assert_int_equal(json_object_array_length(items), 20);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "limit"), 20);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "offset"), 0);
	assert_int_equal(json_object_object_length(harness_resp_json(&r)), 4);
	for (i = 0; i < 20; i++) {
		check_memory(item(items, i));
		assert_int_equal(harness_json_int(item(items, i), "id"),
		    ids[24 - i]);
	}
	harness_resp_free(&r);

	/* Pages of 10 cover all 25 once. */
	for (i = 0; i < 3; i++) {
		items = list(&a, harness_fmt(P_MEM "?limit=10&offset=%zu",
		    i * 10), &r, &total);
		assert_int_equal(total, 25);
		assert_int_equal(json_object_array_length(items),
		    i < 2 ? 10 : 5);
		for (j = 0; j < json_object_array_length(items); j++)
			seen[n++] = harness_json_int(item(items, j), "id");
		harness_resp_free(&r);
	}
	assert_int_equal(n, 25);
	for (i = 0; i < 25; i++)
		for (j = i + 1; j < 25; j++)
			assert_int_not_equal(seen[i], seen[j]);
	items = list(&a, P_MEM "?offset=100", &r, &total);
	assert_int_equal(total, 25);
	assert_int_equal(json_object_array_length(items), 0);
	harness_resp_free(&r);

	/* q=: full text, each word a prefix; stop words alone filter none. */
	items = list(&a, P_MEM "?q=dolphins", &r, &total);
	assert_int_equal(total, 1);
	assert_int_equal(harness_json_int(item(items, 0), "id"), ids[3]);
	harness_resp_free(&r);
	items = list(&a, P_MEM "?q=dolph", &r, &total);
	assert_int_equal(total, 1);
	harness_resp_free(&r);
	items = list(&a, P_MEM "?q=fact%20violin", &r, &total);
	assert_int_equal(total, 1);
	assert_int_equal(harness_json_int(item(items, 0), "id"), ids[21]);
	harness_resp_free(&r);
	items = list(&a, P_MEM "?q=zebras", &r, &total);
	assert_int_equal(total, 0);
	assert_int_equal(json_object_array_length(items), 0);
	harness_resp_free(&r);
	items = list(&a, P_MEM "?q=the", &r, &total);
	assert_int_equal(total, 25);
	harness_resp_free(&r);

	/* Out of range or not numbers. */
	refused(&a, "GET", P_MEM "?limit=0", NULL, NULL, 422,
	    "validation_failed", "limit");
	refused(&a, "GET", P_MEM "?limit=101", NULL, NULL, 422,
	    "validation_failed", "limit");
	refused(&a, "GET", P_MEM "?limit=ten", NULL, NULL, 422,
	    "validation_failed", "limit");
	refused(&a, "GET", P_MEM "?offset=-1", NULL, NULL, 422,
	    "validation_failed", "offset");
	refused(&a, "GET", P_MEM "?q=%ff", NULL, NULL, 400, "bad_request",
	    NULL);
	items = list(&a, P_MEM "?limit=100", &r, &total);
	assert_int_equal(json_object_array_length(items), 25);
	harness_resp_free(&r);
}

/* Search: the best first, with scores in [0, 1]; its refusals. */
static void
test_search(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*items, *it;
	int64_t			 paris, rex;
	double			 score, prev = 2;
	size_t			 i;

	(void)state;
	harness_new_user(&H, "mem-search", &a);
	paris = add(&a, "I live in Paris", 201, "ADD", NULL);
	rex = add(&a, "I have a dog named Rex", 201, "ADD", NULL);
	(void)add(&a, "I work at Acme as a nurse", 201, "ADD", NULL);
	(void)add(&a, "I like jazz", 201, "ADD", NULL);

	req(&a, "POST", P_SEARCH, "{\"query\":\"  where do I live?  \"}", &r);
	harness_want(&H, &r, 200);
	assert_int_equal(json_object_object_length(harness_resp_json(&r)), 2);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "query"),
	    "where do I live?");
	items = jget(harness_resp_json(&r), "items");
	assert_true(json_object_array_length(items) >= 1);
	assert_int_equal(harness_json_int(jget(item(items, 0), "memory"),
	    "id"), paris);
	for (i = 0; i < json_object_array_length(items); i++) {
		it = item(items, i);
		assert_int_equal(json_object_object_length(it), 2);
		check_memory(jget(it, "memory"));
		assert_true(json_object_is_type(jget(it, "score"),
		    json_type_double) || json_object_is_type(jget(it,
		    "score"), json_type_int));
		score = json_object_get_double(jget(it, "score"));
		assert_true(score >= 0 && score <= 1);
		assert_true(score <= prev);
		prev = score;
	}
	harness_resp_free(&r);

	req(&a, "POST", P_SEARCH, "{\"query\":\"my dog\",\"limit\":1}", &r);
	harness_want(&H, &r, 200);
	items = jget(harness_resp_json(&r), "items");
	assert_int_equal(json_object_array_length(items), 1);
	assert_int_equal(harness_json_int(jget(item(items, 0), "memory"),
	    "id"), rex);
	harness_resp_free(&r);

	/* Nothing like it: no items, not an error. */
	req(&a, "POST", P_SEARCH, "{\"query\":\"quantum chromodynamics\"}",
	    &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);

	refused(&a, "POST", P_SEARCH, "{}", NULL, 422, "validation_failed",
	    "query");
	refused(&a, "POST", P_SEARCH, "{\"query\":\"\"}", NULL, 422,
	    "validation_failed", "query");
	refused(&a, "POST", P_SEARCH, "{\"query\":\"   \"}", NULL, 422,
	    "validation_failed", "query");
	refused(&a, "POST", P_SEARCH, "{\"query\":7}", NULL, 422,
	    "validation_failed", "query");
	refused(&a, "POST", P_SEARCH, "{\"query\":\"x\",\"limit\":0}", NULL,
	    422, "validation_failed", "limit");
	refused(&a, "POST", P_SEARCH, "{\"query\":\"x\",\"limit\":51}", NULL,
	    422, "validation_failed", "limit");
	refused(&a, "POST", P_SEARCH, "{\"query\":\"x\",\"limit\":\"5\"}",
	    NULL, 422, "validation_failed", "limit");
	refused(&a, "POST", P_SEARCH, "{\"query\":\"x\",\"lmit\":5}", NULL,
	    422, "validation_failed", "lmit");
	refused(&a, "POST", P_SEARCH, "{\"query\":", NULL, 400, "bad_request",
	    NULL);
	refused(&a, "POST", P_SEARCH, "{\"query\":\"x\"}",
	    "Content-Type: text/plain", 415, "unsupported_media_type", NULL);
}

/* The summary: "" with none; the facts, name first, likes merged. */
static void
test_summary(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	const char		*s, *ana, *lis, *acme, *likes;
	char			*big;
	size_t			 i;

	(void)state;
	harness_new_user(&H, "mem-sum", &a);
	req(&a, "GET", P_SUMMARY, NULL, &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "summary"),
	    "");
	assert_int_equal(harness_json_int(harness_resp_json(&r), "count"), 0);
	harness_resp_free(&r);

	(void)add(&a, "I like jazz", 201, "ADD", NULL);
	(void)add(&a, "I work at Acme as a nurse", 201, "ADD", NULL);
	(void)add(&a, "I live in Lisbon", 201, "ADD", NULL);
	(void)add(&a, "I like sushi", 201, "ADD", NULL);
	(void)add(&a, "My name is Ana", 201, "ADD", NULL);
	(void)add(&a, "The spare key is under the blue flowerpot", 201, "ADD",
	    NULL);

	req(&a, "GET", P_SUMMARY, NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(json_object_object_length(harness_resp_json(&r)), 2);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "count"), 6);
	assert_non_null(s = harness_json_str(harness_resp_json(&r), "summary"));
	assert_true(strlen(s) <= 700);
	assert_non_null(ana = strstr(s, "Ana"));
	assert_non_null(lis = strstr(s, "Lisbon"));
	assert_non_null(acme = strstr(s, "Acme"));
	assert_non_null(likes = strstr(s, "Likes jazz and sushi."));
	assert_non_null(strstr(s, "flowerpot"));
	assert_true(ana < lis && lis < acme && acme < likes);
	assert_true(likes < strstr(s, "flowerpot"));
	harness_resp_free(&r);

	/* A few sentences: at most 600 characters, whatever there is. */
	harness_new_user(&H, "mem-sum-long", &a);
	big = harness_rep("word ", 199);
	(void)add(&a, big, 201, "ADD", NULL);
	free(big);
	req(&a, "GET", P_SUMMARY, NULL, &r);
	harness_want(&H, &r, 200);
	assert_non_null(s = harness_json_str(harness_resp_json(&r), "summary"));
	/* Cut at a word, marked: 600 characters, "…" of three bytes. */
	assert_true(strlen(s) > 500 && strlen(s) <= 602);
	assert_string_equal(s + strlen(s) - 7, "word\xe2\x80\xa6");
	harness_resp_free(&r);
	for (i = 0; i < 30; i++)
		(void)add(&a, harness_fmt("Note %02zu: the locker code of "
		    "gym number %zu is %zu", i, i, 1000 + i * 7), 201, "ADD",
		    NULL);
	req(&a, "GET", P_SUMMARY, NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "count"), 31);
	assert_non_null(s = harness_json_str(harness_resp_json(&r), "summary"));
	assert_true(strlen(s) > 300 && strlen(s) <= 602);
	assert_non_null(strstr(s, "Note 00: the locker code of gym number 0 "
	    "is 1000."));
	harness_resp_free(&r);
}

/* Get, edit, delete; the history outlives the memory. */
static void
test_get_patch_delete(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*m, *items;
	char			 before[DIGEST], after[DIGEST], created[32];
	int64_t			 id;

	(void)state;
	harness_new_user(&H, "mem-crud", &a);
	id = add(&a, "I drink coffee every morning", 201, "ADD", &r);
	snprintf(created, sizeof(created), "%s", harness_json_str(jget(
	    harness_resp_json(&r), "memory"), "created_at"));
	harness_resp_free(&r);

	req(&a, "GET", mpath(id, NULL), NULL, &r);
	harness_want(&H, &r, 200);
	check_memory(harness_resp_json(&r));
	assert_int_equal(harness_json_int(harness_resp_json(&r), "id"), id);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "content"),
	    "I drink coffee every morning");
	harness_resp_free(&r);

	/* PATCH: the new text, trimmed; an UPDATE event with both. */
	harness_sleep_ms(TICK_MS);
	req(&a, "PATCH", mpath(id, NULL),
	    "{\"content\":\"  I drink tea every morning \"}", &r);
	harness_want(&H, &r, 200);
	m = harness_resp_json(&r);
	check_memory(m);
	assert_int_equal(harness_json_int(m, "id"), id);
	assert_string_equal(harness_json_str(m, "content"),
	    "I drink tea every morning");
	assert_string_equal(harness_json_str(m, "created_at"), created);
	assert_true(strcmp(harness_json_str(m, "updated_at"), created) > 0);
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM memories "
	    "JOIN memory_vectors ON memory_id = id "
	    "WHERE user_id = $1::uuid AND "
	    "content = 'I drink tea every morning'", a.user_id), 1);

	/* The same text again changes nothing, and writes no event. */
	digest(&a, before);
	req(&a, "PATCH", mpath(id, NULL),
	    "{\"content\":\"I drink tea every morning\"}", &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_json_str(harness_resp_json(&r), "content"),
	    "I drink tea every morning");
	harness_resp_free(&r);
	digest(&a, after);
	assert_string_equal(before, after);

	/* Its refusals. */
	refused(&a, "PATCH", mpath(id, NULL), "{\"content\":\"\"}", NULL, 422,
	    "validation_failed", "content");
	refused(&a, "PATCH", mpath(id, NULL), "{}", NULL, 422,
	    "validation_failed", "content");
	refused(&a, "PATCH", mpath(id, NULL), "{\"content\":null}", NULL, 422,
	    "validation_failed", "content");
	refused(&a, "PATCH", mpath(id, NULL), "{\"content\":\"x\"", NULL, 400,
	    "bad_request", NULL);
	refused(&a, "PATCH", mpath(id, NULL), "{\"content\":\"x\"}",
	    "Content-Type: text/plain", 415, "unsupported_media_type", NULL);

	/* DELETE: 204, then gone; the history stays readable. */
	req(&a, "DELETE", mpath(id, NULL), NULL, &r);
	harness_want(&H, &r, 204);
	assert_int_equal(r.body_len, 0);
	harness_resp_free(&r);
	req(&a, "GET", mpath(id, NULL), NULL, &r);
	harness_want_error(&H, &r, 404, "not_found");
	harness_resp_free(&r);
	assert_int_equal(nrows("memories", &a), 0);
	assert_int_equal(nrows("memory_buckets", &a), 0);
	refused(&a, "DELETE", mpath(id, NULL), NULL, NULL, 404, "not_found",
	    NULL);
	refused(&a, "PATCH", mpath(id, NULL), "{\"content\":\"x\"}", NULL,
	    404, "not_found", NULL);

	items = history(&a, id, &r);
	assert_int_equal(json_object_array_length(items), 3);
	check_event(item(items, 0), id, "ADD", NULL,
	    "I drink coffee every morning", "user");
	check_event(item(items, 1), id, "UPDATE",
	    "I drink coffee every morning", "I drink tea every morning",
	    "user");
	check_event(item(items, 2), id, "DELETE", "I drink tea every morning",
	    NULL, "user");
	harness_resp_free(&r);
}

/* Delete-all: refused without confirm=true; with it, everything goes. */
static void
test_delete_all(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct json_object	*items;
	char			 other[DIGEST], after[DIGEST];
	int64_t			 id, total;

	(void)state;
	harness_new_user(&H, "mem-all", &a);
	harness_new_user(&H, "mem-all-other", &b);
	id = add(&a, "I live in Madrid", 201, "ADD", NULL);
	(void)add(&a, "I like tennis", 201, "ADD", NULL);
	(void)add(&a, "I have a cat named Miso", 201, "ADD", NULL);
	(void)add(&b, "I live in Madrid", 201, "ADD", NULL);
	/* A queued extraction, not ready yet (no worker takes it). */
	assert_int_equal(harness_sql(&H, "INSERT INTO memory_jobs (user_id, "
	    "message, run_after) VALUES ($1::uuid, 'I like golf', "
	    "now() + interval '1 hour')", (const char *[]){ a.user_id }, 1,
	    NULL, 0), 1);
	digest(&b, other);

	refused(&a, "DELETE", P_MEM, NULL, NULL, 400, "bad_request", NULL);
	refused(&a, "DELETE", P_MEM "?confirm=yes", NULL, NULL, 400,
	    "bad_request", NULL);
	refused(&a, "DELETE", P_MEM "?confirm=1", NULL, NULL, 400,
	    "bad_request", NULL);
	refused(&a, "DELETE", P_MEM "?confirm=TRUE", NULL, NULL, 400,
	    "bad_request", NULL);
	req(&a, "DELETE", P_MEM, NULL, &r);
	assert_string_equal(harness_resp_str(&r, "error.message"),
	    "add ?confirm=true to delete all memories");
	harness_resp_free(&r);
	assert_int_equal(nrows("memories", &a), 3);
	assert_int_equal(nrows("memory_jobs", &a), 1);

	req(&a, "DELETE", P_MEM "?confirm=true", NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(json_object_object_length(harness_resp_json(&r)), 1);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "deleted"),
	    3);
	harness_resp_free(&r);

	items = list(&a, P_MEM, &r, &total);
	assert_int_equal(total, 0);
	assert_int_equal(json_object_array_length(items), 0);
	harness_resp_free(&r);
	assert_int_equal(nrows("memories", &a), 0);
	assert_int_equal(nrows("memory_events", &a), 0);
	assert_int_equal(nrows("memory_buckets", &a), 0);
	assert_int_equal(nrows("memory_jobs", &a), 0);
	req(&a, "GET", mpath(id, "/history"), NULL, &r);
	harness_want_error(&H, &r, 404, "not_found");
	harness_resp_free(&r);
	req(&a, "GET", P_SUMMARY, NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "count"), 0);
	harness_resp_free(&r);

	/* Again: nothing left, 0. The other user kept everything. */
	req(&a, "DELETE", P_MEM "?confirm=true", NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "deleted"),
	    0);
	harness_resp_free(&r);
	digest(&b, after);
	assert_string_equal(other, after);
}

/* The rules of a body: nothing is stored from a refused one. */
static void
test_validation(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	char			*big, *b;

	(void)state;
	harness_new_user(&H, "mem-valid", &a);

	refused(&a, "POST", P_MEM, "{}", NULL, 422, "validation_failed",
	    "content");
	refused(&a, "POST", P_MEM, "{\"content\":5}", NULL, 422,
	    "validation_failed", "content");
	refused(&a, "POST", P_MEM, "{\"content\":null}", NULL, 422,
	    "validation_failed", "content");
	refused(&a, "POST", P_MEM, "{\"content\":[\"x\"]}", NULL, 422,
	    "validation_failed", "content");
	refused(&a, "POST", P_MEM, "{\"content\":\"\"}", NULL, 422,
	    "validation_failed", "content");
	refused(&a, "POST", P_MEM, "{\"content\":\" \\t\\n \"}", NULL, 422,
	    "validation_failed", "content");
	refused(&a, "POST", P_MEM, "{\"content\":\"x\",\"tags\":[]}", NULL,
	    422, "validation_failed", "tags");
	/* 1001 characters, in ASCII and in two-byte ones. */
	big = harness_rep("a", 1001);
	b = body_of("content", big);
	refused(&a, "POST", P_MEM, b, NULL, 422, "validation_failed",
	    "content");
	free(b);
	free(big);
	big = harness_rep("\xc3\xa9", 1001);
	b = body_of("content", big);
	refused(&a, "POST", P_MEM, b, NULL, 422, "validation_failed",
	    "content");
	free(b);
	free(big);
	/* Not UTF-8, a lone surrogate, a NUL: 400. */
	refused(&a, "POST", P_MEM, "{\"content\":\"bad\xff\xfe\"}", NULL, 400,
	    "bad_request", NULL);
	refused(&a, "POST", P_MEM, "{\"content\":\"\\ud800\"}", NULL, 400,
	    "bad_request", NULL);
	refused(&a, "POST", P_MEM, "{\"content\":\"a\\u0000b\"}", NULL, 400,
	    "bad_request", NULL);
	/* Not JSON, not an object, not sent as JSON. */
	refused(&a, "POST", P_MEM, "{\"content\":", NULL, 400, "bad_request",
	    NULL);
	refused(&a, "POST", P_MEM, "content=x", NULL, 400, "bad_request",
	    NULL);
	refused(&a, "POST", P_MEM, "[\"x\"]", NULL, 422, "validation_failed",
	    NULL);
	refused(&a, "POST", P_MEM, "{\"content\":\"x\"}",
	    "Content-Type: text/plain", 415, "unsupported_media_type", NULL);
	refused(&a, "POST", P_MEM, "content=x",
	    "Content-Type: application/x-www-form-urlencoded", 415,
	    "unsupported_media_type", NULL);
	assert_int_equal(nrows("memories", &a), 0);
	assert_int_equal(nrows("memory_events", &a), 0);

	/* No credential. */
	req(NULL, "POST", P_MEM, "{\"content\":\"x\"}", &r);
	harness_want_error(&H, &r, 401, "unauthorized");
	harness_resp_free(&r);

	/* The bounds themselves: 1 and 1000 characters; an escape. */
	(void)add(&a, "x", 201, "ADD", NULL);
	big = harness_rep("\xc3\xa9", 1000);
	(void)add(&a, big, 201, "ADD", &r);
	assert_string_equal(harness_json_str(jget(harness_resp_json(&r),
	    "memory"), "content"), big);
	harness_resp_free(&r);
	free(big);
	req(&a, "POST", P_MEM, "{\"content\":\"Caf\\u00e9 \\\"Noir\\\" "
	    "is my favourite caf\\u00e9\"}", &r);
	harness_want(&H, &r, 201);
	assert_string_equal(harness_json_str(jget(harness_resp_json(&r),
	    "memory"), "content"), "Caf\xc3\xa9 \"Noir\" is my favourite caf\xc3\xa9");
	harness_resp_free(&r);
	/* Read-only members are ignored. */
	req(&a, "POST", P_MEM, "{\"content\":\"I play the cello\",\"id\":1,"
	    "\"source\":null}", &r);
	harness_want(&H, &r, 201);
	assert_int_not_equal(harness_json_int(jget(harness_resp_json(&r),
	    "memory"), "id"), 1);
	harness_resp_free(&r);
	assert_int_equal(nrows("memories", &a), 4);
}

/* Ids that are no ids, or nobody's: 404 on every route, nothing done. */
static void
test_bad_ids(void **state)
{
	static const char *const bad[] = {
		"abc", "0", "-1", "00", "1.5", "1e3", "+1", "%201",
		"99999999999999999999", ID_MAX
	};
	static const char *const suffix[] = { "", "/history" };
	struct harness_auth	 a;
	struct harness_resp	 r;
	size_t			 i, k;

	(void)state;
	harness_new_user(&H, "mem-ids", &a);
	(void)add(&a, "I live in Rome", 201, "ADD", NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (k = 0; k < 2; k++)
			refused(&a, "GET", harness_fmt(P_MEM "/%s%s", bad[i],
			    suffix[k]), NULL, NULL, 404, "not_found", NULL);
		refused(&a, "PATCH", harness_fmt(P_MEM "/%s", bad[i]),
		    "{\"content\":\"x\"}", NULL, 404, "not_found", NULL);
		refused(&a, "DELETE", harness_fmt(P_MEM "/%s", bad[i]), NULL,
		    NULL, 404, "not_found", NULL);
	}
	req(&a, "GET", P_MEM "/abc", NULL, &r);
	assert_string_equal(harness_resp_str(&r, "error.message"),
	    "memory abc not found");
	harness_resp_free(&r);
	assert_int_equal(nrows("memories", &a), 1);
}

/* Two users with identical memories never see each other's. */
static void
test_isolation(void **state)
{
	struct harness_auth	 x, y;
	struct harness_resp	 r;
	struct json_object	*items;
	char			 before[DIGEST], after[DIGEST];
	int64_t			 xh, xc, yh, yc, total, id;
	size_t			 i;

	(void)state;
	harness_new_user(&H, "mem-iso-x", &x);
	harness_new_user(&H, "mem-iso-y", &y);
	xh = add(&x, "I live in Oslo", 201, "ADD", NULL);
	xc = add(&x, "I like chess", 201, "ADD", NULL);
	/* The same facts for y are new to y: ADD, not NONE. */
	yh = add(&y, "I live in Oslo", 201, "ADD", NULL);
	yc = add(&y, "I like chess", 201, "ADD", NULL);
	assert_true(yh != xh && yc != xc);
	/* y's contradiction updates y's memory only. */
	assert_int_equal(add(&y, "I live in Bergen", 200, "UPDATE", NULL), yh);
	digest(&x, before);

	items = list(&y, P_MEM, &r, &total);
	assert_int_equal(total, 2);
	for (i = 0; i < 2; i++) {
		id = harness_json_int(item(items, i), "id");
		assert_true(id == yh || id == yc);
	}
	harness_resp_free(&r);
	items = list(&y, P_MEM "?q=oslo", &r, &total);
	assert_int_equal(total, 0);
	harness_resp_free(&r);

	/* x's ids are 404 to y on every route, and nothing changes. */
	refused(&y, "GET", mpath(xh, NULL), NULL, NULL, 404, "not_found",
	    NULL);
	refused(&y, "GET", mpath(xh, "/history"), NULL, NULL, 404,
	    "not_found", NULL);
	refused(&y, "PATCH", mpath(xc, NULL), "{\"content\":\"I like go\"}",
	    NULL, 404, "not_found", NULL);
	refused(&y, "DELETE", mpath(xc, NULL), NULL, NULL, 404, "not_found",
	    NULL);

	/* Search finds only y's own. */
	req(&y, "POST", P_SEARCH, "{\"query\":\"where do I live? Oslo\"}", &r);
	harness_want(&H, &r, 200);
	items = jget(harness_resp_json(&r), "items");
	assert_true(json_object_array_length(items) >= 1);
	for (i = 0; i < json_object_array_length(items); i++) {
		id = harness_json_int(jget(item(items, i), "memory"), "id");
		assert_true(id == yh || id == yc);
	}
	harness_resp_free(&r);

	/* The summaries are each their own. */
	req(&x, "GET", P_SUMMARY, NULL, &r);
	harness_want(&H, &r, 200);
	assert_non_null(strstr(harness_json_str(harness_resp_json(&r),
	    "summary"), "Oslo"));
	assert_null(strstr(harness_json_str(harness_resp_json(&r), "summary"),
	    "Bergen"));
	harness_resp_free(&r);

	/* Deleting all of y's leaves x's. */
	req(&y, "DELETE", P_MEM "?confirm=true", NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "deleted"),
	    2);
	harness_resp_free(&r);
	digest(&x, after);
	assert_string_equal(before, after);
	items = list(&x, P_MEM, &r, &total);
	assert_int_equal(total, 2);
	harness_resp_free(&r);
	items = history(&x, xh, &r);
	assert_int_equal(json_object_array_length(items), 1);
	harness_resp_free(&r);
}

/*
 * With a remote model the profile is the model's, asked with the facts
 * as a list; when it fails, the builtin's. Last: it restarts quipu.
 */
static void
test_summary_model(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*last, *body, *msgs, *v;
	const char		*s;
	char			 conf[1024], *log;

	(void)state;
	assert_int_equal(harness_fake_conf(&H, FAKE_KEY, "llm_timeout = 4\n"
	    "llm_retries = 0\n", conf, sizeof(conf)), 0);
	assert_int_equal(harness_restart_quipu(&H, conf), 0);
	harness_new_user(&H, "mem-sum-model", &a);
	(void)add(&a, "My name is Zoe", 201, "ADD", NULL);
	(void)add(&a, "I live in Porto", 201, "ADD", NULL);

	req(&a, "GET", P_SUMMARY, NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "count"), 2);
	assert_non_null(s = harness_json_str(harness_resp_json(&r), "summary"));
	/* The fake echoes the user message: the facts, as a list. */
	assert_non_null(strstr(s, "Echo:"));
	assert_non_null(strstr(s, "- Name is Zoe"));
	assert_non_null(strstr(s, "- Lives in Porto"));
	harness_resp_free(&r);
	/* One non-streaming call: our prompt, then the facts. */
	last = harness_fake_json(&H, "/_fake/last");
	body = jget(last, "body");
	assert_false(json_object_object_get_ex(body, "stream", &v) &&
	    json_object_get_boolean(v));
	msgs = jget(body, "messages");
	assert_int_equal(json_object_array_length(msgs), 2);
	assert_string_equal(harness_json_str(item(msgs, 0), "role"), "system");
	assert_non_null(strstr(harness_json_str(item(msgs, 0), "content"),
	    "short profile"));
	assert_string_equal(harness_json_str(item(msgs, 1), "content"),
	    "Facts about the user:\n- Name is Zoe\n- Lives in Porto\n");
	json_object_put(last);

	/* The model fails: the builtin profile, no error. */
	(void)add(&a, "Test marker fake:status=500", 201, "ADD", NULL);
	req(&a, "GET", P_SUMMARY, NULL, &r);
	harness_want(&H, &r, 200);
	assert_int_equal(harness_json_int(harness_resp_json(&r), "count"), 3);
	assert_non_null(s = harness_json_str(harness_resp_json(&r), "summary"));
	assert_null(strstr(s, "Echo:"));
	assert_non_null(strstr(s, "Name is Zoe. Lives in Porto."));
	harness_resp_free(&r);
	/* Logged without the user's facts. */
	assert_non_null(log = harness_read_file(H.error_log, NULL));
	assert_non_null(strstr(log, "memory: the model wrote no summary"));
	assert_null(strstr(log, "Porto"));
	free(log);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconcile),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_get_patch_delete),
		cmocka_unit_test(test_delete_all),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_summary_model),
	};
	static const struct harness_group group = {
		"test_memory", NULL, true, NULL, NULL
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
