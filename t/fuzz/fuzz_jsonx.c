/*
 * fuzz_jsonx.c: request bodies through lib/jsonx.
 *
 * The input is a request body. It goes through jsonx_parse() and
 * jsonx_parse_object(); whatever parses is walked by every typed getter,
 * on every member, with several flag and bound combinations, and the
 * collected errors are sent as an envelope into memory. Besides crashes
 * and sanitizer reports, the target aborts when a promise of jsonx.h is
 * broken:
 *  - jsonx_parse() succeeds only on valid UTF-8 without NUL bytes, and
 *    hands out a non-NULL object;
 *  - jsonx_parse_object() agrees with jsonx_parse() and the object type;
 *  - what json-c prints back from an accepted body is accepted again
 *    (a handler echoing a body must not produce invalid JSON);
 *  - a string from jsonx_get_string() is valid UTF-8 within its bounds;
 *  - an error envelope is a parseable JSON document;
 *  - jsonx_compact() of an accepted body is the same JSON, and
 *    jsonx_raw_member() finds each member's own text (ChatKit passes
 *    these on byte for byte).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "http.h"
#include "../tbuf.h"
#include "clock.h"
#include "jsonx.h"

const char	fuzz_name[] = "jsonx";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAX_KEYS	16	/* members walked per object */

/* The flag and bound combinations each getter is tried with. */
static const struct {
	unsigned	flags;
	size_t		min, max;
	int64_t		imin, imax;
} combos[] = {
	{ 0, 0, 0, INT64_MIN, INT64_MAX },
	{ JSONX_REQUIRED, 1, 5, 0, 10 },
	{ JSONX_NULLABLE | JSONX_TRIM, 0, 255, -1, 1 },
	{ JSONX_REQUIRED | JSONX_NULLABLE | JSONX_TRIM, 2, 3,
	    INT64_MIN, 0 },
};

/* Aborts unless the captured response has a JSON body. */
static void
response_check_json(const struct tbuf *s)
{
	struct json_object	*o;
	const char		*body;

	if (s->data == NULL || strncmp(s->data, "Status: ", 8) != 0 ||
	    (body = strstr(s->data, "\r\n\r\n")) == NULL)
		abort();
	if ((o = json_tokener_parse(body + 4)) == NULL)
		abort();
	json_object_put(o);
}

/* Printing an accepted value and parsing it again must work. */
static void
fuzz_roundtrip(struct json_object *o)
{
	struct json_object	*again = NULL;
	const char		*s;
	size_t			 len;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN,
	    &len);
	if (s == NULL)
		return;		/* ENOMEM */
	if (jsonx_parse(s, len, &again, NULL) == APP_EINVAL)
		abort();
	json_object_put(again);
}

static void
fuzz_check_string(const char *s, size_t min, size_t max)
{
	struct timespec	 ts;
	char		 buf[CLOCK_RFC3339_LEN];
	size_t		 n;

	if (s == NULL)
		return;		/* null, or absent and left untouched */
	if (!utf8_valid(s, strlen(s)))
		abort();
	n = utf8_len(s);
	if (n < min || (max > 0 && n > max))
		abort();
	/* Strings are where clients send times. */
	if (jsonx_time_parse(s, &ts) == 0)
		(void)clock_rfc3339(buf, ts);
}

/* Every getter on member `key' with combination `c'. */
static void
fuzz_getters(struct json_object *obj, const char *key, size_t c,
    struct jsonx_errors *errs)
{
	const char	*s, **arr;
	int64_t		 i = 0;
	bool		 b;
	size_t		 n;

	s = NULL;
	if (jsonx_get_string(obj, key, combos[c].flags, combos[c].min,
	    combos[c].max, &s, errs) == APP_OK)
		fuzz_check_string(s, combos[c].min, combos[c].max);
	if (jsonx_get_int(obj, key, combos[c].flags & ~JSONX_NULLABLE,
	    combos[c].imin, combos[c].imax, &i, errs) == APP_OK &&
	    jsonx_has(obj, key) && (i < combos[c].imin || i > combos[c].imax))
		abort();
	(void)jsonx_get_bool(obj, key, combos[c].flags, &b, errs);
	arr = NULL;
	n = 0;
	if (jsonx_get_string_array(obj, key, combos[c].flags, combos[c].max,
	    combos[c].flags & JSONX_TRIM, combos[c].min, combos[c].max,
	    &arr, &n, errs) == APP_OK && arr != NULL) {
		if (combos[c].max > 0 && n > combos[c].max)
			abort();
		for (i = 0; i < (int64_t)n; i++)
			fuzz_check_string(arr[i], combos[c].min,
			    combos[c].max);
		if (arr[n] != NULL)
			abort();
	}
	(void)jsonx_has(obj, key);
	(void)jsonx_is_null(obj, key);
}

/* Walks the members of `obj' and sends the errors found. */
static void
fuzz_object(struct arena *a, struct json_object *obj)
{
	struct http_request	 req;
	struct http_response	 resp;
	struct jsonx_errors	 errs;
	struct tbuf		 out = { .fail_after = -1 };
	size_t			 c, nkeys;

	for (c = 0; c < sizeof(combos) / sizeof(combos[0]); c++) {
		jsonx_errors_init(&errs, a);
		nkeys = 0;
		json_object_object_foreach(obj, key, val) {
			(void)val;
			if (nkeys++ == FUZZ_MAX_KEYS)
				break;
			fuzz_getters(obj, key, c, &errs);
		}
		/* An absent member, required or not. */
		fuzz_getters(obj, "\001absent", c, &errs);
		if (jsonx_errors_result(&errs) == APP_OK)
			continue;
		memset(&req, 0, sizeof(req));
		req.arena = a;
		req.method = "POST";
		req.path = "/fuzz";
		req.query = "";
		req.request_id = "fuzz";
		http_response_init(&resp, &req, &tbuf_transport, &out);
		if (jsonx_send_errors(&resp, &errs) == APP_OK)
			response_check_json(&out);
		free(out.data);
		out = (struct tbuf){ .fail_after = -1 };
	}
}

/* Two values that must be the same JSON. */
static void
fuzz_same(struct json_object *o, const char *s, size_t len)
{
	struct json_object	*again = NULL;

	/* json-c's null is NULL, and jsonx_parse() takes none at the top. */
	if (o == NULL) {
		if (len != 4 || memcmp(s, "null", 4) != 0)
			abort();
		return;
	}
	if (jsonx_parse(s, len, &again, NULL) != APP_OK)
		abort();
	if (!json_object_equal(o, again))
		abort();
	json_object_put(again);
}

/* The raw-text helpers on an accepted body. */
static void
fuzz_raw(struct arena *a, const char *buf, size_t size,
    struct json_object *any, struct json_object *obj)
{
	const char	*v;
	char		*c;
	size_t		 n, nkeys = 0;

	if ((c = jsonx_compact(a, buf, size)) != NULL)
		fuzz_same(any, c, strlen(c));
	/* Escaped keys are not looked up (they are never ChatKit's). */
	if (obj == NULL || memchr(buf, '\\', size) != NULL)
		return;
	json_object_object_foreach(obj, key, val) {
		if (nkeys++ == FUZZ_MAX_KEYS)
			break;
		if ((v = jsonx_raw_member(buf, size, key, &n)) == NULL)
			abort();
		fuzz_same(val, v, n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*buf = (const char *)data;
	struct json_object	*any = NULL, *obj = NULL;
	struct arena		*a = NULL;
	enum app_err		 e1, e2;
	const char		*why = NULL;

	e1 = jsonx_parse(buf, size, &any, &why);
	if (e1 == APP_OK && (any == NULL || !utf8_valid(buf, size) ||
	    memchr(buf, '\0', size) != NULL))
		abort();
	if (e1 != APP_OK && e1 != APP_ENOMEM && why == NULL)
		abort();
	e2 = jsonx_parse_object(buf, size, &obj, NULL);
	if (e1 == APP_OK && e2 != (json_object_is_type(any, json_type_object) ?
	    APP_OK : APP_EVALIDATION))
		abort();
	if (e1 != APP_OK && e2 == APP_OK)
		abort();
	if (any != NULL)
		fuzz_roundtrip(any);
	if (any != NULL && (a = arena_create(4096)) != NULL) {
		fuzz_raw(a, buf, size, any, obj);
		if (obj != NULL)
			fuzz_object(a, obj);
	}
	/* The getters' strings are arena copies: `obj' may go first. */
	json_object_put(obj);
	json_object_put(any);
	arena_destroy(a);
	return 0;
}
