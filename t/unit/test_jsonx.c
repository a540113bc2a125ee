/*
 * test_jsonx.c: strict parsing, UTF-8, typed getters, builders, times.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "jsonx.h"
#include "util.h"

#define S(lit)	(lit), (sizeof(lit) - 1)

/* jsonx_parse on a literal (which may hold NUL bytes); frees the value. */
static enum app_err
parse(const char *buf, size_t len, const char **why)
{
	struct json_object	*o = NULL;
	enum app_err		 rc;

	rc = jsonx_parse(buf, len, &o, why);
	if (rc == APP_OK)
		assert_non_null(o);
	else
		assert_null(o);
	json_object_put(o);
	return rc;
}

static void
test_utf8_valid(void **state)
{
	assert_true(utf8_valid(S("")));
	assert_true(utf8_valid(S("plain ascii")));
	assert_true(utf8_valid(S("caf\xc3\xa9")));		/* é */
	assert_true(utf8_valid(S("\xe2\x82\xac")));		/* € */
	assert_true(utf8_valid(S("\xf0\x9f\x98\x80")));		/* 😀 */
	assert_true(utf8_valid(S("\xf4\x8f\xbf\xbf")));		/* U+10FFFF */
	assert_true(utf8_valid(S("\xed\x9f\xbf")));		/* U+D7FF */
	assert_true(utf8_valid(S("\xee\x80\x80")));		/* U+E000 */
	assert_true(utf8_valid(S("a\0b")));			/* NUL is UTF-8 */
	/* Overlong forms. */
	assert_false(utf8_valid(S("\xc0\xaf")));
	assert_false(utf8_valid(S("\xc1\xbf")));
	assert_false(utf8_valid(S("\xe0\x80\xaf")));
	assert_false(utf8_valid(S("\xe0\x9f\xbf")));
	assert_false(utf8_valid(S("\xf0\x80\x80\xaf")));
	assert_false(utf8_valid(S("\xf0\x8f\xbf\xbf")));
	/* Surrogates U+D800..U+DFFF. */
	assert_false(utf8_valid(S("\xed\xa0\x80")));
	assert_false(utf8_valid(S("\xed\xbf\xbf")));
	/* Above U+10FFFF and impossible bytes. */
	assert_false(utf8_valid(S("\xf4\x90\x80\x80")));
	assert_false(utf8_valid(S("\xf5\x80\x80\x80")));
	assert_false(utf8_valid(S("\xff")));
	assert_false(utf8_valid(S("\xfe")));
	/* Truncated sequences and stray continuation bytes. */
	assert_false(utf8_valid(S("\xe2\x82")));
	assert_false(utf8_valid(S("\xf0\x9f\x98")));
	assert_false(utf8_valid(S("\xc3")));
	assert_false(utf8_valid(S("\x80")));
	assert_false(utf8_valid(S("a\xc3" "b")));
	/* The length is honoured: a valid prefix of an invalid buffer. */
	assert_true(utf8_valid("ab\xff", 2));
}

static void
test_utf8_len(void **state)
{
	assert_int_equal(utf8_len(""), 0);
	assert_int_equal(utf8_len("abc"), 3);
	assert_int_equal(utf8_len("caf\xc3\xa9"), 4);
	assert_int_equal(utf8_len("\xe2\x82\xac" "1"), 2);
	assert_int_equal(utf8_len("\xf0\x9f\x98\x80\xf0\x9f\x98\x80"), 2);
}

static void
test_parse_ok(void **state)
{
	struct json_object	*o = NULL, *v;
	const char		*why = "x";

	assert_int_equal(jsonx_parse(S("{\"a\": [1, 2.5, -3e2, true, null, "
	    "\"s\\n\\u00e9\\ud83d\\ude00\"]}"), &o, &why), APP_OK);
	assert_null(why);
	assert_true(json_object_object_get_ex(o, "a", &v));
	assert_int_equal(json_object_array_length(v), 6);
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(v, 5)), "s\n\xc3\xa9\xf0\x9f\x98\x80");
	json_object_put(o);

	/* Surrounding white space is fine, so is a raw UTF-8 character. */
	assert_int_equal(parse(S(" \r\n\t{\"t\":\"caf\xc3\xa9\"}\n "), NULL),
	    APP_OK);
	/* Scalars are JSON values too (jsonx_parse_object refuses them). */
	assert_int_equal(parse(S("123"), NULL), APP_OK);
	assert_int_equal(parse(S("-0.5e+3"), NULL), APP_OK);
	assert_int_equal(parse(S("\"x\""), NULL), APP_OK);
	assert_int_equal(parse(S("true"), NULL), APP_OK);
	assert_int_equal(parse(S("[]"), NULL), APP_OK);
	/* No NUL terminator is needed: the length rules. */
	assert_int_equal(parse("{}garbage", 2, NULL), APP_OK);
}

static void
test_parse_malformed(void **state)
{
	const char	*why = NULL;

	assert_int_equal(parse(S(""), &why), APP_EINVAL);
	assert_non_null(why);
	assert_int_equal(parse(S("   \n"), NULL), APP_EINVAL);
	assert_int_equal(jsonx_parse(NULL, 0, &(struct json_object *){NULL},
	    NULL), APP_EINVAL);
	assert_int_equal(parse(S("{"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("{\"a\":1"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("{\"a\":}"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("{\"a\" 1}"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[1,]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("{\"a\":1,}"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"a\" \"b\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("tru"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("nul"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("\"abc"), NULL), APP_EINVAL);
	/* What json-c 0.16 accepts even in strict mode, and we do not. */
	assert_int_equal(parse(S("{'a':1}"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("NaN"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[Infinity]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[1.]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[.5]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[01]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[+1]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[1e]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[0x10]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("/* c */ {}"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"a\tb\"]"), &why), APP_EINVAL);
	assert_string_equal(why, "control character in string");
	assert_int_equal(parse(S("[\"\\x41\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\\u12G4\"]"), NULL), APP_EINVAL);
	/* "null" is valid JSON but never a useful body. */
	assert_int_equal(parse(S("null"), NULL), APP_EINVAL);
}

static void
test_parse_trailing(void **state)
{
	assert_int_equal(parse(S("{\"a\":1}x"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("{\"a\":1}{}"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("{} {}"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[1] 2"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("1 2"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("{}\n\n"), NULL), APP_OK);
	/* A NUL after the value is not white space. */
	assert_int_equal(parse(S("{} \0"), NULL), APP_EINVAL);
}

static void
test_parse_nul(void **state)
{
	const char	*why = NULL;

	assert_int_equal(parse(S("{\"a\":\"x\\u0000y\"}"), &why), APP_EINVAL);
	assert_string_equal(why, "NUL characters are not allowed");
	/* In a key, where json-c would silently cut the key short. */
	assert_int_equal(parse(S("{\"k\\u0000\":1}"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\\u0000\"]"), NULL), APP_EINVAL);
	/* A raw NUL byte, inside a string or outside. */
	assert_int_equal(parse(S("{\"a\":\"x\0y\"}"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("{\0}"), NULL), APP_EINVAL);
	/* An escaped backslash followed by "u0000" is just text. */
	assert_int_equal(parse(S("[\"\\\\u0000\"]"), NULL), APP_OK);
}

static void
test_parse_utf8(void **state)
{
	const char	*why = NULL;

	assert_int_equal(parse(S("[\"\xc0\xaf\"]"), &why), APP_EINVAL);
	assert_string_equal(why, "invalid UTF-8");
	assert_int_equal(parse(S("[\"\xe0\x80\xaf\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\xed\xa0\x80\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\xf4\x90\x80\x80\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\xe2\x82\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\xe2\x82"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\xff\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("{\"\xc3\":1}"), NULL), APP_EINVAL);
	/* Lone or reversed UTF-16 surrogate escapes. */
	assert_int_equal(parse(S("[\"\\ud800\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\\ud800x\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\\udc00\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\\ud800\\u0041\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\\ude00\\ud83d\"]"), NULL), APP_EINVAL);
	assert_int_equal(parse(S("[\"\\uD83D\\uDE00\"]"), NULL), APP_OK);
	/* Raw UTF-8 outside a string is not JSON. */
	assert_int_equal(parse(S("[\xc3\xa9]"), NULL), APP_EINVAL);
}

static void
nest(char *buf, int depth)
{
	memset(buf, '[', (size_t)depth);
	memset(buf + depth, ']', (size_t)depth);
	buf[2 * depth] = '\0';
}

static void
test_parse_depth(void **state)
{
	char		 buf[2 * 1000 + 1];
	const char	*why = NULL;

	nest(buf, JSONX_MAX_DEPTH);
	assert_int_equal(parse(buf, strlen(buf), NULL), APP_OK);
	nest(buf, JSONX_MAX_DEPTH + 1);
	assert_int_equal(parse(buf, strlen(buf), &why), APP_EINVAL);
	assert_string_equal(why, "nesting too deep");
	nest(buf, 1000);
	assert_int_equal(parse(buf, strlen(buf), NULL), APP_EINVAL);
}

static void
test_parse_object(void **state)
{
	struct json_object	*o = NULL;
	const char		*why = NULL;

	assert_int_equal(jsonx_parse_object(S("{\"a\":1}"), &o, &why), APP_OK);
	assert_true(json_object_is_type(o, json_type_object));
	json_object_put(o);
	o = NULL;
	assert_int_equal(jsonx_parse_object(S("[1]"), &o, &why),
	    APP_EVALIDATION);
	assert_null(o);
	assert_string_equal(why, "request body must be a JSON object");
	assert_int_equal(jsonx_parse_object(S("\"s\""), &o, NULL),
	    APP_EVALIDATION);
	assert_int_equal(jsonx_parse_object(S("{"), &o, NULL), APP_EINVAL);
	assert_null(o);
}

/* ------------------------------------------------------------ getters */

struct gfix {
	struct arena		*arena;
	struct json_object	*obj;
	struct jsonx_errors	 errs;
};

static void
gfix_init(struct gfix *g, const char *json)
{
	g->arena = arena_create(1024);
	assert_non_null(g->arena);
	g->obj = NULL;
	assert_int_equal(jsonx_parse_object(json, strlen(json), &g->obj,
	    NULL), APP_OK);
	jsonx_errors_init(&g->errs, g->arena);
}

static void
gfix_free(struct gfix *g)
{
	json_object_put(g->obj);
	arena_destroy(g->arena);
}

/* The message recorded for `field', or NULL. */
static const char *
detail(struct gfix *g, const char *field)
{
	struct json_object	*v;

	if (g->errs.details == NULL ||
	    !json_object_object_get_ex(g->errs.details, field, &v))
		return NULL;
	return json_object_get_string(v);
}

static void
test_get_string(void **state)
{
	struct gfix	 g;
	const char	*s = "preset", *t = NULL;

	gfix_init(&g, "{\"title\":\"  hi  \",\"n\":5,\"z\":null,\"e\":\"\","
	    "\"w\":\"   \"}");
	assert_int_equal(jsonx_get_string(g.obj, "title", JSONX_REQUIRED |
	    JSONX_TRIM, 1, 10, &t, &g.errs), APP_OK);
	assert_string_equal(t, "hi");
	assert_int_equal(jsonx_get_string(g.obj, "title", 0, 0, 0, &t,
	    &g.errs), APP_OK);
	assert_string_equal(t, "  hi  ");
	/* Absent and optional: untouched. */
	assert_int_equal(jsonx_get_string(g.obj, "absent", 0, 0, 10, &s,
	    &g.errs), APP_OK);
	assert_string_equal(s, "preset");
	assert_int_equal(jsonx_errors_result(&g.errs), APP_OK);
	assert_null(g.errs.details);
	/* Nullable null gives NULL. */
	assert_int_equal(jsonx_get_string(g.obj, "z", JSONX_NULLABLE, 0, 10,
	    &s, &g.errs), APP_OK);
	assert_null(s);

	assert_int_equal(jsonx_get_string(g.obj, "missing", JSONX_REQUIRED, 0,
	    10, &t, &g.errs), APP_EVALIDATION);
	assert_string_equal(detail(&g, "missing"), "is required");
	assert_int_equal(jsonx_get_string(g.obj, "n", 0, 0, 10, &t, &g.errs),
	    APP_EVALIDATION);
	assert_string_equal(detail(&g, "n"), "must be a string");
	assert_int_equal(jsonx_get_string(g.obj, "z", 0, 0, 10, &t, &g.errs),
	    APP_EVALIDATION);
	assert_string_equal(detail(&g, "z"), "must not be null");
	assert_int_equal(jsonx_get_string(g.obj, "e", 0, 1, 10, &t, &g.errs),
	    APP_EVALIDATION);
	assert_string_equal(detail(&g, "e"), "must not be empty");
	assert_int_equal(jsonx_get_string(g.obj, "w", JSONX_TRIM, 1, 10, &t,
	    &g.errs), APP_EVALIDATION);
	assert_string_equal(detail(&g, "w"), "must not be empty");
	assert_int_equal(jsonx_errors_result(&g.errs), APP_EVALIDATION);
	assert_int_equal(g.errs.nfields, 5);
	/* The first message of a field wins. */
	jsonx_errors_add(&g.errs, "n", "other");
	assert_string_equal(detail(&g, "n"), "must be a string");
	assert_int_equal(g.errs.nfields, 5);
	gfix_free(&g);
}

static void
test_get_string_bounds(void **state)
{
	struct gfix	 g;
	const char	*t = NULL;

	gfix_init(&g, "{\"a\":\"abcdef\",\"b\":\"ab\"}");
	assert_int_equal(jsonx_get_string(g.obj, "a", 0, 0, 5, &t, &g.errs),
	    APP_EVALIDATION);
	assert_string_equal(detail(&g, "a"), "must be at most 5 characters");
	assert_int_equal(jsonx_get_string(g.obj, "b", 0, 3, 5, &t, &g.errs),
	    APP_EVALIDATION);
	assert_string_equal(detail(&g, "b"), "must be at least 3 characters");
	assert_int_equal(jsonx_get_string(g.obj, "a", 0, 6, 6, &t, &g.errs),
	    APP_OK);
	gfix_free(&g);
}

/* A title of `n' emoji (4 bytes each) against a 255-character limit. */
static enum app_err
emoji_title(int n, struct gfix *g)
{
	char		*json;
	const char	*t = NULL;
	size_t		 i, off;
	enum app_err	 rc;

	json = malloc(32 + (size_t)n * 4);
	assert_non_null(json);
	off = (size_t)sprintf(json, "{\"title\":\"");
	for (i = 0; i < (size_t)n; i++, off += 4)
		memcpy(json + off, "\xf0\x9f\x98\x80", 4);
	strcpy(json + off, "\"}");
	gfix_init(g, json);
	free(json);
	rc = jsonx_get_string(g->obj, "title", JSONX_REQUIRED, 1, 255, &t,
	    &g->errs);
	if (rc == APP_OK)
		assert_int_equal(strlen(t), (size_t)n * 4);
	return rc;
}

static void
test_get_string_emoji(void **state)
{
	struct gfix	 g;

	assert_int_equal(emoji_title(255, &g), APP_OK);
	gfix_free(&g);
	assert_int_equal(emoji_title(256, &g), APP_EVALIDATION);
	assert_string_equal(detail(&g, "title"),
	    "must be at most 255 characters");
	gfix_free(&g);
}

static void
test_get_string_invalid(void **state)
{
	struct arena		*a = arena_create(1024);
	struct json_object	*o = json_object_new_object();
	struct jsonx_errors	 errs;
	struct treq		 t;
	const char		*s = NULL;

	/* Objects not built by jsonx_parse may still hold bad text. */
	assert_int_equal(jsonx_add(o, "nul", jsonx_new_string_len("a\0b", 3)),
	    APP_OK);
	assert_int_equal(jsonx_add_string(o, "bad", "\xc0\xaf"), APP_OK);
	jsonx_errors_init(&errs, a);
	assert_int_equal(jsonx_get_string(o, "nul", 0, 0, 0, &s, &errs),
	    APP_EINVAL);
	assert_int_equal(jsonx_errors_result(&errs), APP_EINVAL);
	assert_string_equal(errs.fatal_field, "nul");
	jsonx_errors_init(&errs, a);
	assert_int_equal(jsonx_get_string(o, "bad", 0, 0, 0, &s, &errs),
	    APP_EINVAL);
	/* The fatal error outranks field errors and becomes a 400. */
	jsonx_errors_add(&errs, "x", "must be a string");
	assert_int_equal(jsonx_errors_result(&errs), APP_EINVAL);
	treq_init(&t, "POST", "/x");
	t.req.request_id = "rid";
	assert_int_equal(jsonx_send_errors(&t.resp, &errs), APP_OK);
	assert_int_equal(treq_status(&t), 400);
	assert_string_equal(treq_error_field(&t, "code"), "bad_request");
	assert_non_null(strstr(treq_error_field(&t, "message"), "bad"));
	treq_free(&t);
	json_object_put(o);
	arena_destroy(a);
}

static void
test_get_int(void **state)
{
	struct gfix	 g;
	int64_t		 n = 42;

	gfix_init(&g, "{\"i\":7,\"neg\":-9223372036854775808,\"f\":1.0,"
	    "\"s\":\"1\",\"b\":true,\"z\":null,\"big\":18446744073709551615,"
	    "\"max\":9223372036854775807}");
	assert_int_equal(jsonx_get_int(g.obj, "absent", 0, 0, 10, &n, &g.errs),
	    APP_OK);
	assert_int_equal(n, 42);
	assert_int_equal(jsonx_get_int(g.obj, "i", JSONX_REQUIRED, 0, 10, &n,
	    &g.errs), APP_OK);
	assert_int_equal(n, 7);
	assert_int_equal(jsonx_get_int(g.obj, "neg", 0, INT64_MIN, 0, &n,
	    &g.errs), APP_OK);
	assert_true(n == INT64_MIN);
	assert_int_equal(jsonx_get_int(g.obj, "max", 0, 0, INT64_MAX, &n,
	    &g.errs), APP_OK);
	assert_true(n == INT64_MAX);
	assert_int_equal(jsonx_errors_result(&g.errs), APP_OK);

	assert_int_equal(jsonx_get_int(g.obj, "f", 0, 0, 10, &n, &g.errs),
	    APP_EVALIDATION);
	assert_string_equal(detail(&g, "f"), "must be an integer");
	assert_int_equal(jsonx_get_int(g.obj, "s", 0, 0, 10, &n, &g.errs),
	    APP_EVALIDATION);
	assert_int_equal(jsonx_get_int(g.obj, "b", 0, 0, 10, &n, &g.errs),
	    APP_EVALIDATION);
	assert_int_equal(jsonx_get_int(g.obj, "z", 0, 0, 10, &n, &g.errs),
	    APP_EVALIDATION);
	assert_int_equal(jsonx_get_int(g.obj, "i", 8, 8, 10, &n, &g.errs),
	    APP_EVALIDATION);
	assert_string_equal(detail(&g, "i"), "must be between 8 and 10");
	assert_int_equal(jsonx_get_int(g.obj, "big", 0, 0, INT64_MAX, &n,
	    &g.errs), APP_EVALIDATION);
	assert_string_equal(detail(&g, "big"),
	    "must be between 0 and 9223372036854775807");
	assert_int_equal(jsonx_get_int(g.obj, "neg", 0, INT64_MIN, -10, &n,
	    &g.errs), APP_OK);
	assert_int_equal(jsonx_get_int(g.obj, "max", 0, INT64_MIN, 5, &n,
	    &g.errs), APP_EVALIDATION);
	assert_string_equal(detail(&g, "max"), "must be at most 5");
	assert_int_equal(jsonx_get_int(g.obj, "missing", JSONX_REQUIRED, 0, 1,
	    &n, &g.errs), APP_EVALIDATION);
	assert_string_equal(detail(&g, "missing"), "is required");
	gfix_free(&g);
}

static void
test_get_bool(void **state)
{
	struct gfix	 g;
	bool		 b = false;

	gfix_init(&g, "{\"t\":true,\"f\":false,\"n\":1,\"s\":\"true\"}");
	assert_int_equal(jsonx_get_bool(g.obj, "t", JSONX_REQUIRED, &b,
	    &g.errs), APP_OK);
	assert_true(b);
	assert_int_equal(jsonx_get_bool(g.obj, "f", 0, &b, &g.errs), APP_OK);
	assert_false(b);
	assert_int_equal(jsonx_get_bool(g.obj, "absent", 0, &b, &g.errs),
	    APP_OK);
	assert_false(b);
	assert_int_equal(jsonx_get_bool(g.obj, "n", 0, &b, &g.errs),
	    APP_EVALIDATION);
	assert_string_equal(detail(&g, "n"), "must be a boolean");
	assert_int_equal(jsonx_get_bool(g.obj, "s", 0, &b, &g.errs),
	    APP_EVALIDATION);
	assert_int_equal(jsonx_get_bool(g.obj, "x", JSONX_REQUIRED, &b,
	    &g.errs), APP_EVALIDATION);
	assert_int_equal(g.errs.nfields, 3);
	gfix_free(&g);
}

static void
test_get_string_array(void **state)
{
	struct gfix	 g;
	const char	**v = NULL;
	size_t		 n = 99;

	gfix_init(&g, "{\"tags\":[\" a \",\"b\"],\"empty\":[],\"mixed\":"
	    "[\"a\",1],\"long\":[\"ok\",\"toolong\"],\"s\":\"a\","
	    "\"many\":[\"a\",\"b\",\"c\"],\"z\":null}");
	assert_int_equal(jsonx_get_string_array(g.obj, "tags", JSONX_REQUIRED,
	    5, JSONX_TRIM, 1, 5, &v, &n, &g.errs), APP_OK);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_null(v[2]);
	assert_int_equal(jsonx_get_string_array(g.obj, "empty", 0, 5, 0, 0, 5,
	    &v, &n, &g.errs), APP_OK);
	assert_int_equal(n, 0);
	assert_null(v[0]);
	assert_int_equal(jsonx_get_string_array(g.obj, "z", JSONX_NULLABLE, 5,
	    0, 0, 5, &v, &n, &g.errs), APP_OK);
	assert_null(v);
	assert_int_equal(jsonx_errors_result(&g.errs), APP_OK);

	assert_int_equal(jsonx_get_string_array(g.obj, "mixed", 0, 5, 0, 0, 5,
	    &v, NULL, &g.errs), APP_EVALIDATION);
	assert_string_equal(detail(&g, "mixed"), "must be an array of strings");
	assert_int_equal(jsonx_get_string_array(g.obj, "long", 0, 5, 0, 0, 5,
	    &v, NULL, &g.errs), APP_EVALIDATION);
	assert_string_equal(detail(&g, "long[1]"),
	    "must be at most 5 characters");
	assert_int_equal(jsonx_get_string_array(g.obj, "s", 0, 5, 0, 0, 5,
	    &v, NULL, &g.errs), APP_EVALIDATION);
	assert_string_equal(detail(&g, "s"), "must be an array of strings");
	assert_int_equal(jsonx_get_string_array(g.obj, "many", 0, 2, 0, 0, 5,
	    &v, NULL, &g.errs), APP_EVALIDATION);
	assert_string_equal(detail(&g, "many"), "must have at most 2 items");
	assert_int_equal(jsonx_get_string_array(g.obj, "z", 0, 2, 0, 0, 5,
	    &v, NULL, &g.errs), APP_EVALIDATION);
	gfix_free(&g);
}

static void
test_has_null(void **state)
{
	struct gfix	 g;

	gfix_init(&g, "{\"a\":null,\"b\":0}");
	assert_true(jsonx_has(g.obj, "a"));
	assert_true(jsonx_has(g.obj, "b"));
	assert_false(jsonx_has(g.obj, "c"));
	assert_true(jsonx_is_null(g.obj, "a"));
	assert_false(jsonx_is_null(g.obj, "b"));
	assert_false(jsonx_is_null(g.obj, "c"));
	assert_false(jsonx_has(NULL, "a"));
	gfix_free(&g);
}

static void
test_send_errors(void **state)
{
	struct gfix		 g;
	struct treq		 t;
	struct json_object	*err, *det, *v;
	const char		*s = NULL;

	gfix_init(&g, "{\"title\":5}");
	(void)jsonx_get_string(g.obj, "title", JSONX_REQUIRED, 1, 10, &s,
	    &g.errs);
	(void)jsonx_get_string(g.obj, "notes", JSONX_REQUIRED, 1, 10, &s,
	    &g.errs);
	treq_init(&t, "POST", "/api/v1/tasks");
	t.req.request_id = "rid-1";
	assert_int_equal(jsonx_send_errors(&t.resp, &g.errs), APP_OK);
	assert_int_equal(treq_status(&t), 422);
	assert_true(json_object_object_get_ex(treq_json(&t), "error", &err));
	assert_true(json_object_object_get_ex(err, "code", &v));
	assert_string_equal(json_object_get_string(v), "validation_failed");
	assert_true(json_object_object_get_ex(err, "request_id", &v));
	assert_string_equal(json_object_get_string(v), "rid-1");
	assert_true(json_object_object_get_ex(err, "details", &det));
	assert_true(json_object_object_get_ex(det, "title", &v));
	assert_string_equal(json_object_get_string(v), "must be a string");
	assert_true(json_object_object_get_ex(det, "notes", &v));
	assert_string_equal(json_object_get_string(v), "is required");
	treq_free(&t);
	/* Nothing to send when all went well. */
	jsonx_errors_init(&g.errs, g.arena);
	treq_init(&t, "POST", "/");
	assert_int_equal(jsonx_send_errors(&t.resp, &g.errs), APP_OK);
	assert_int_equal(t.out.len, 0);
	treq_free(&t);
	gfix_free(&g);
}

/* ------------------------------------------------------------ builders */

static void
test_builders(void **state)
{
	struct json_object	*o = json_object_new_object();
	struct json_object	*arr = json_object_new_array();
	struct timespec		 ts = { 1795343400, 123456789 };

	assert_non_null(o);
	assert_int_equal(jsonx_add_string(o, "s", "x\"y"), APP_OK);
	assert_int_equal(jsonx_add_string(o, "n", NULL), APP_OK);
	assert_int_equal(jsonx_add_int(o, "i", -5), APP_OK);
	assert_int_equal(jsonx_add_int(o, "big", INT64_MAX), APP_OK);
	assert_int_equal(jsonx_add_bool(o, "b", true), APP_OK);
	assert_int_equal(jsonx_add_null(o, "z"), APP_OK);
	assert_int_equal(jsonx_add_time(o, "t", ts), APP_OK);
	assert_int_equal(jsonx_append(arr, json_object_new_int(1)), APP_OK);
	assert_int_equal(jsonx_append(arr, jsonx_new_string_len("ab", 1)),
	    APP_OK);
	assert_int_equal(jsonx_append(arr, NULL), APP_ENOMEM);
	assert_int_equal(jsonx_add(o, "a", arr), APP_OK);
	assert_int_equal(jsonx_add(o, "bad", NULL), APP_ENOMEM);
	assert_false(jsonx_has(o, "bad"));
	assert_string_equal(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN),
	    "{\"s\":\"x\\\"y\",\"n\":null,\"i\":-5,"
	    "\"big\":9223372036854775807,\"b\":true,\"z\":null,"
	    "\"t\":\"2026-11-22T10:30:00.123Z\",\"a\":[1,\"a\"]}");
	json_object_put(o);
}

static void
test_new_string_len(void **state)
{
	struct json_object	*s = jsonx_new_string_len("a\0b", 3);

	assert_non_null(s);
	assert_int_equal(json_object_get_string_len(s), 3);
	assert_memory_equal(json_object_get_string(s), "a\0b", 3);
	json_object_put(s);
}

/* ------------------------------------------------------------ time */

static void
test_time_format(void **state)
{
	char		 buf[CLOCK_RFC3339_LEN];
	struct timespec	 ts;

	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	assert_string_equal(clock_rfc3339(buf, ts),
	    "1970-01-01T00:00:00.000Z");
	ts.tv_sec = 1795343400;		/* 2026-11-22T10:30:00Z */
	ts.tv_nsec = 123999999;		/* truncated, not rounded */
	assert_ptr_equal(clock_rfc3339(buf, ts), buf);
	assert_string_equal(buf, "2026-11-22T10:30:00.123Z");
	ts.tv_sec = 951782400;		/* 2000-02-29 */
	ts.tv_nsec = 999000000;
	assert_string_equal(clock_rfc3339(buf, ts),
	    "2000-02-29T00:00:00.999Z");
	ts.tv_sec = -1;
	ts.tv_nsec = 0;
	assert_string_equal(clock_rfc3339(buf, ts),
	    "1969-12-31T23:59:59.000Z");
	/* Out of range years fall back to the epoch, never overflow buf. */
	ts.tv_sec = (time_t)INT64_MAX;
	assert_string_equal(clock_rfc3339(buf, ts),
	    "1970-01-01T00:00:00.000Z");
	ts.tv_sec = 253402300800;	/* year 10000 */
	assert_string_equal(clock_rfc3339(buf, ts),
	    "1970-01-01T00:00:00.000Z");
}

static void
test_time_parse(void **state)
{
	struct timespec	 ts;
	char		 buf[CLOCK_RFC3339_LEN];

	assert_int_equal(jsonx_time_parse("2026-11-22T10:30:00.123Z", &ts), 0);
	assert_true(ts.tv_sec == 1795343400);
	assert_int_equal(ts.tv_nsec, 123000000);
	assert_string_equal(clock_rfc3339(buf, ts),
	    "2026-11-22T10:30:00.123Z");
	assert_int_equal(jsonx_time_parse("2026-11-22t12:30:00+02:00", &ts), 0);
	assert_true(ts.tv_sec == 1795343400);
	assert_int_equal(ts.tv_nsec, 0);
	assert_int_equal(jsonx_time_parse("2026-11-22T05:00:00-05:30", &ts), 0);
	assert_true(ts.tv_sec == 1795343400);
	assert_int_equal(jsonx_time_parse("1970-01-01T00:00:00z", &ts), 0);
	assert_true(ts.tv_sec == 0);
	assert_int_equal(jsonx_time_parse("2000-02-29T00:00:00.5Z", &ts), 0);
	assert_true(ts.tv_sec == 951782400);
	assert_int_equal(ts.tv_nsec, 500000000);
	assert_int_equal(jsonx_time_parse("1969-12-31T23:59:59Z", &ts), 0);
	assert_true(ts.tv_sec == -1);

	assert_int_equal(jsonx_time_parse("", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22T10:30:00", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22 10:30:00Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-13-01T00:00:00Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-00-01T00:00:00Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-04-31T00:00:00Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("2100-02-29T00:00:00Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22T24:00:00Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22T10:60:00Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22T10:30:60Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22T10:30:00.Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22T10:30:00Zx", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22T10:30:00+0200", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-11-22T10:30:00+24:00", &ts), -1);
	assert_int_equal(jsonx_time_parse("2026-1-22T10:30:00Z", &ts), -1);
	assert_int_equal(jsonx_time_parse("+2026-11-22T10:30:00Z", &ts), -1);
}

/* A quoted string parses back to the very bytes, escapes where needed. */
static void
test_str_quote(void **state)
{
	static const char in[] = "say \"hi\"\\ \n\t\r\x01\x1f caf\xc3\xa9 /";
	struct arena		*a;
	struct arena_str	 b;
	struct json_object	*o;

	(void)state;
	assert_non_null(a = arena_create(256));
	memset(&b, 0, sizeof(b));
	assert_int_equal(jsonx_str_quote(a, &b, in, sizeof(in) - 1), 0);
	assert_string_equal(b.p, "\"say \\\"hi\\\"\\\\ \\n\\t\\r"
	    "\\u0001\\u001f caf\xc3\xa9 /\"");
	assert_int_equal(jsonx_parse(b.p, b.len, &o, NULL), APP_OK);
	assert_string_equal(json_object_get_string(o), in);
	json_object_put(o);
	memset(&b, 0, sizeof(b));
	assert_int_equal(jsonx_str_quote(a, &b, "", 0), 0);
	assert_string_equal(b.p, "\"\"");
	arena_destroy(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_trailing),
		cmocka_unit_test(test_parse_nul),
		cmocka_unit_test(test_parse_utf8),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_parse_object),
		cmocka_unit_test(test_get_string),
		cmocka_unit_test(test_get_string_bounds),
		cmocka_unit_test(test_get_string_emoji),
		cmocka_unit_test(test_get_string_invalid),
		cmocka_unit_test(test_get_int),
		cmocka_unit_test(test_get_bool),
		cmocka_unit_test(test_get_string_array),
		cmocka_unit_test(test_has_null),
		cmocka_unit_test(test_send_errors),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_new_string_len),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_str_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
