/*
 * jsonx.c: strict JSON parsing, validating getters and builders over json-c.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "http.h"
#include "clock.h"
#include "jsonx.h"

/* ------------------------------------------------------------ UTF-8 */

/*
 * Length of the well-formed UTF-8 sequence at p (before end), or 0. The
 * ranges of the second byte are those of RFC 3629's table, which excludes
 * overlong forms, surrogates and code points above U+10FFFF.
 */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *end)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;		/* overlong 3-byte */
	else if (p[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;		/* overlong 4-byte */
	else if (p[0] == 0xf4)
		hi = 0x8f;		/* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

bool
utf8_valid(const char *buf, size_t len)
{
	const unsigned char	*p = (const unsigned char *)buf;
	const unsigned char	*end = p + len;
	size_t			 n;

	while (p < end) {
		if ((n = utf8_seq(p, end)) == 0)
			return false;
		p += n;
	}
	return true;
}

size_t
utf8_len(const char *s)
{
	size_t	 n = 0;

	/* Count every byte that does not continue a sequence. */
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* ------------------------------------------------------------ scanner */

/*
 * The lexical check that json-c does not make (see jsonx.h). Structure,
 * depth and trailing values are left to json-c. Each function returns NULL
 * or a sentence for the client, and advances *pp.
 */
struct scan {
	const unsigned char	*p;
	const unsigned char	*end;
};

static int
scan_hex4(struct scan *s, unsigned *out)
{
	unsigned	 v = 0;
	int		 i, c;

	if (s->end - s->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = s->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	s->p += 4;
	*out = v;
	return 0;
}

/* After "\u": a code point other than NUL, surrogates only in pairs. */
static const char *
scan_unicode_escape(struct scan *s)
{
	unsigned	 v, lo;

	if (scan_hex4(s, &v) == -1)
		return "invalid escape in string";
	if (v == 0)
		return "NUL characters are not allowed";
	if (v >= 0xdc00 && v <= 0xdfff)
		return "invalid UTF-16 surrogate in string";
	if (v < 0xd800 || v > 0xdbff)
		return NULL;
	if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
		return "invalid UTF-16 surrogate in string";
	s->p += 2;
	if (scan_hex4(s, &lo) == -1)
		return "invalid escape in string";
	if (lo < 0xdc00 || lo > 0xdfff)
		return "invalid UTF-16 surrogate in string";
	return NULL;
}

/* After the opening quote, up to and including the closing one. */
static const char *
scan_string(struct scan *s)
{
	size_t	 n;

	while (s->p < s->end) {
		if (*s->p == '"') {
			s->p++;
			return NULL;
		}
		if (*s->p == '\0')
			return "NUL characters are not allowed";
		if (*s->p < 0x20)
			return "control character in string";
		if (*s->p == '\\') {
			if (++s->p == s->end)
				break;
			if (*s->p++ == 'u') {
				const char *why = scan_unicode_escape(s);
				if (why != NULL)
					return why;
			} else if (strchr("\"\\/bfnrt", s->p[-1]) == NULL ||
			    s->p[-1] == '\0')
				return "invalid escape in string";
			continue;
		}
		if ((n = utf8_seq(s->p, s->end)) == 0)
			return "invalid UTF-8";
		s->p += n;
	}
	return "unterminated string";
}

static size_t
scan_digits(struct scan *s)
{
	size_t	 n = 0;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		s->p++;
		n++;
	}
	return n;
}

/* RFC 8259: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static const char *
scan_number(struct scan *s)
{
	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (scan_digits(s) == 0)
		return "invalid number";
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (scan_digits(s) == 0)
			return "invalid number";
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (scan_digits(s) == 0)
			return "invalid number";
	}
	if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E' ||
	    (*s->p >= '0' && *s->p <= '9')))
		return "invalid number";
	return NULL;
}

static const char *
scan_literal(struct scan *s)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t		 i, n;

	for (i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		n = strlen(lits[i]);
		if ((size_t)(s->end - s->p) >= n &&
		    memcmp(s->p, lits[i], n) == 0) {
			s->p += n;
			return NULL;
		}
	}
	return "invalid JSON";
}

static const char *
jsonx_scan(const char *buf, size_t len)
{
	struct scan	 s;
	const char	*why = NULL;

	s.p = (const unsigned char *)buf;
	s.end = s.p + len;
	while (why == NULL && s.p < s.end) {
		switch (*s.p) {
		case ' ': case '\t': case '\n': case '\r':
		case '{': case '}': case '[': case ']': case ':': case ',':
			s.p++;
			break;
		case '"':
			s.p++;
			why = scan_string(&s);
			break;
		case '-': case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			why = scan_number(&s);
			break;
		case 't': case 'f': case 'n':
			why = scan_literal(&s);
			break;
		case '\0':
			why = "NUL characters are not allowed";
			break;
		default:
			why = "invalid JSON";
			break;
		}
	}
	return why;
}

/* ------------------------------------------------------------ parsing */

static bool
jsonx_all_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

/* json-c's half of the work: structure, depth, one value only. */
static enum app_err
jsonx_tokenize(const char *buf, size_t len, struct json_object **out,
    const char **why)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL;
	enum json_tokener_error	 jerr;
	enum app_err		 rc = APP_EINVAL;

	if ((tok = json_tokener_new_ex(JSONX_MAX_DEPTH)) == NULL)
		return APP_ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	/* A bare number or literal waits for more; the NUL ends it. */
	if ((jerr = json_tokener_get_error(tok)) == json_tokener_continue) {
		o = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	} else if (jerr == json_tokener_success &&
	    !jsonx_all_space(buf + json_tokener_get_parse_end(tok), buf + len))
		jerr = json_tokener_error_parse_unexpected;
	if (jerr == json_tokener_error_depth)
		*why = "nesting too deep";
	else if (jerr != json_tokener_success)
		*why = "malformed JSON";
	else if (o == NULL)
		*why = "expected a JSON value";
	else {
		*out = o;
		o = NULL;
		rc = APP_OK;
	}
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

enum app_err
jsonx_parse(const char *buf, size_t len, struct json_object **out,
    const char **why)
{
	const char	*dummy, *reason;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	*out = NULL;
	if (buf == NULL || jsonx_all_space(buf, buf + len)) {
		*why = "empty body";
		return APP_EINVAL;
	}
	if (len > INT_MAX) {
		*why = "body too large";
		return APP_EINVAL;
	}
	if ((reason = jsonx_scan(buf, len)) != NULL) {
		*why = reason;
		return APP_EINVAL;
	}
	return jsonx_tokenize(buf, len, out, why);
}

enum app_err
jsonx_parse_object(const char *buf, size_t len, struct json_object **out,
    const char **why)
{
	const char	*dummy;
	enum app_err	 rc;

	if (why == NULL)
		why = &dummy;
	if ((rc = jsonx_parse(buf, len, out, why)) != APP_OK)
		return rc;
	if (!json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		*why = "request body must be a JSON object";
		return APP_EVALIDATION;
	}
	return APP_OK;
}

/* ------------------------------------------------------------ errors */

static void
jsonx_put_cleanup(void *arg)
{
	json_object_put(arg);
}

void
jsonx_errors_init(struct jsonx_errors *e, struct arena *arena)
{
	memset(e, 0, sizeof(*e));
	e->arena = arena;
	e->fatal = APP_OK;
}

enum app_err
jsonx_errors_fatal(struct jsonx_errors *e, enum app_err err,
    const char *field)
{
	/* Out of memory outranks bad input: it is what the client sees. */
	if (e->fatal == APP_OK || err == APP_ENOMEM) {
		e->fatal = err;
		if ((e->fatal_field = arena_strdup(e->arena, field)) == NULL)
			e->fatal = APP_ENOMEM;
	}
	return err;
}

static int
jsonx_details_new(struct jsonx_errors *e)
{
	if ((e->details = json_object_new_object()) == NULL)
		return -1;
	if (arena_cleanup_add(e->arena, jsonx_put_cleanup, e->details) == -1) {
		json_object_put(e->details);
		e->details = NULL;
		return -1;
	}
	return 0;
}

void
jsonx_errors_add(struct jsonx_errors *e, const char *field,
    const char *message)
{
	struct json_object	*msg;

	if (e->details == NULL && jsonx_details_new(e) == -1) {
		(void)jsonx_errors_fatal(e, APP_ENOMEM, field);
		return;
	}
	if (json_object_object_get_ex(e->details, field, NULL))
		return;
	if ((msg = json_object_new_string(message)) == NULL ||
	    json_object_object_add(e->details, field, msg) != 0) {
		json_object_put(msg);
		(void)jsonx_errors_fatal(e, APP_ENOMEM, field);
		return;
	}
	e->nfields++;
}

static bool
jsonx_listed(const char *const *set, const char *s)
{
	if (set == NULL)
		return false;
	for (; *set != NULL; set++)
		if (strcmp(*set, s) == 0)
			return true;
	return false;
}

void
jsonx_errors_unknown(struct jsonx_errors *e, struct json_object *obj,
    const char *const *allowed, const char *const *ignored,
    const char *message)
{
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (!jsonx_listed(allowed, key) && !jsonx_listed(ignored, key))
			jsonx_errors_add(e, key, message);
	}
}

/* Records a formatted message for `field'; always APP_EVALIDATION. */
static enum app_err
jsonx_field_error(struct jsonx_errors *e, const char *field,
    const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum app_err
jsonx_field_error(struct jsonx_errors *e, const char *field,
    const char *fmt, ...)
{
	char	 msg[128];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jsonx_errors_add(e, field, msg);
	return APP_EVALIDATION;
}

enum app_err
jsonx_errors_result(const struct jsonx_errors *e)
{
	if (e->fatal != APP_OK)
		return e->fatal;
	return e->nfields > 0 ? APP_EVALIDATION : APP_OK;
}

enum app_err
jsonx_send_errors(struct http_response *resp, const struct jsonx_errors *e)
{
	switch (jsonx_errors_result(e)) {
	case APP_OK:
		return APP_OK;
	case APP_EINVAL:
		return http_send_error(resp, APP_EINVAL, NULL,
		    "field \"%s\" holds invalid UTF-8 or a NUL character",
		    e->fatal_field);
	case APP_EVALIDATION:
		return http_send_error(resp, APP_EVALIDATION, e->details,
		    NULL);
	default:
		return http_send_error(resp, APP_ENOMEM, NULL, NULL);
	}
}

/* ------------------------------------------------------------ getters */

/*
 * Looks `key' up. Returns 1 with *v set (NULL for a JSON null) when
 * present, 0 when absent and fine, or an error already recorded (<0
 * becomes the getter's APP_EVALIDATION).
 */
static int
jsonx_member(struct json_object *obj, const char *key, unsigned flags,
    struct json_object **v, struct jsonx_errors *e)
{
	if (obj != NULL && json_object_is_type(obj, json_type_object) &&
	    json_object_object_get_ex(obj, key, v))
		return 1;
	if (flags & JSONX_REQUIRED) {
		(void)jsonx_field_error(e, key, "is required");
		return -1;
	}
	return 0;
}

static bool
jsonx_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

/* Checks and copies one string value; the common core of the getters. */
static enum app_err
jsonx_check_string(struct jsonx_errors *e, const char *field,
    const char *s, size_t len, unsigned flags, size_t min_chars,
    size_t max_chars, const char **out)
{
	size_t	 n;
	char	*copy;

	if (memchr(s, '\0', len) != NULL || !utf8_valid(s, len))
		return jsonx_errors_fatal(e, APP_EINVAL, field);
	if (flags & JSONX_TRIM) {
		while (len > 0 && jsonx_isspace(*s)) {
			s++;
			len--;
		}
		while (len > 0 && jsonx_isspace(s[len - 1]))
			len--;
	}
	if ((copy = arena_strndup(e->arena, s, len)) == NULL)
		return jsonx_errors_fatal(e, APP_ENOMEM, field);
	n = utf8_len(copy);
	if (min_chars == 1 && n == 0)
		return jsonx_field_error(e, field, "must not be empty");
	if (n < min_chars)
		return jsonx_field_error(e, field,
		    "must be at least %zu characters", min_chars);
	if (max_chars > 0 && n > max_chars)
		return jsonx_field_error(e, field,
		    "must be at most %zu characters", max_chars);
	*out = copy;
	return APP_OK;
}

enum app_err
jsonx_get_string(struct json_object *obj, const char *key, unsigned flags,
    size_t min_chars, size_t max_chars, const char **out,
    struct jsonx_errors *e)
{
	struct json_object	*v = NULL;
	int			 rc;

	if ((rc = jsonx_member(obj, key, flags, &v, e)) <= 0)
		return rc == 0 ? APP_OK : APP_EVALIDATION;
	if (v == NULL) {
		if (!(flags & JSONX_NULLABLE))
			return jsonx_field_error(e, key, "must not be null");
		*out = NULL;
		return APP_OK;
	}
	if (!json_object_is_type(v, json_type_string))
		return jsonx_field_error(e, key, "must be a string");
	return jsonx_check_string(e, key, json_object_get_string(v),
	    (size_t)json_object_get_string_len(v), flags, min_chars,
	    max_chars, out);
}

/* Names the bound that was crossed, or both when both are finite. */
static enum app_err
jsonx_range_error(struct jsonx_errors *e, const char *key, int64_t min,
    int64_t max, bool toobig)
{
	if (!toobig && max == INT64_MAX)
		return jsonx_field_error(e, key, "must be at least %lld",
		    (long long)min);
	if (toobig && min == INT64_MIN)
		return jsonx_field_error(e, key, "must be at most %lld",
		    (long long)max);
	return jsonx_field_error(e, key, "must be between %lld and %lld",
	    (long long)min, (long long)max);
}

enum app_err
jsonx_get_int(struct json_object *obj, const char *key, unsigned flags,
    int64_t min, int64_t max, int64_t *out, struct jsonx_errors *e)
{
	struct json_object	*v = NULL;
	int64_t			 n;
	int			 rc;

	if ((rc = jsonx_member(obj, key, flags, &v, e)) <= 0)
		return rc == 0 ? APP_OK : APP_EVALIDATION;
	if (v == NULL || !json_object_is_type(v, json_type_int))
		return jsonx_field_error(e, key, "must be an integer");
	n = json_object_get_int64(v);
	/* json-c keeps 2^63..2^64-1 as unsigned and saturates the signed read. */
	if (n == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return jsonx_range_error(e, key, min, max, true);
	if (n < min || n > max)
		return jsonx_range_error(e, key, min, max, n > max);
	*out = n;
	return APP_OK;
}

enum app_err
jsonx_get_bool(struct json_object *obj, const char *key, unsigned flags,
    bool *out, struct jsonx_errors *e)
{
	struct json_object	*v = NULL;
	int			 rc;

	if ((rc = jsonx_member(obj, key, flags, &v, e)) <= 0)
		return rc == 0 ? APP_OK : APP_EVALIDATION;
	if (v == NULL || !json_object_is_type(v, json_type_boolean))
		return jsonx_field_error(e, key, "must be a boolean");
	*out = json_object_get_boolean(v) != 0;
	return APP_OK;
}

/* Checks every item of a JSON array of strings into `items'. */
static enum app_err
jsonx_string_items(struct json_object *arr, const char *key, size_t n,
    unsigned item_flags, size_t min_chars, size_t max_chars,
    const char **items, struct jsonx_errors *e)
{
	struct json_object	*it;
	enum app_err		 rc = APP_OK, r;
	const char		*field;
	size_t			 i;

	for (i = 0; i < n; i++) {
		it = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(it, json_type_string))
			return jsonx_field_error(e, key,
			    "must be an array of strings");
		if ((field = arena_printf(e->arena, "%s[%zu]", key, i)) == NULL)
			return jsonx_errors_fatal(e, APP_ENOMEM, key);
		r = jsonx_check_string(e, field, json_object_get_string(it),
		    (size_t)json_object_get_string_len(it),
		    item_flags & JSONX_TRIM, min_chars, max_chars, &items[i]);
		if (r == APP_EINVAL || r == APP_ENOMEM)
			return r;
		if (r != APP_OK)
			rc = r;
	}
	return rc;
}

enum app_err
jsonx_get_string_array(struct json_object *obj, const char *key,
    unsigned flags, size_t max_items, unsigned item_flags, size_t min_chars,
    size_t max_chars, const char ***out, size_t *nout,
    struct jsonx_errors *e)
{
	struct json_object	*v = NULL;
	const char		**items;
	size_t			 n;
	enum app_err		 r;
	int			 rc;

	if ((rc = jsonx_member(obj, key, flags, &v, e)) <= 0)
		return rc == 0 ? APP_OK : APP_EVALIDATION;
	if (v == NULL && (flags & JSONX_NULLABLE)) {
		*out = NULL;
		if (nout != NULL)
			*nout = 0;
		return APP_OK;
	}
	if (v == NULL || !json_object_is_type(v, json_type_array))
		return jsonx_field_error(e, key, "must be an array of strings");
	n = json_object_array_length(v);
	if (max_items > 0 && n > max_items)
		return jsonx_field_error(e, key, "must have at most %zu items",
		    max_items);
	if ((items = arena_calloc(e->arena, n + 1, sizeof(*items))) == NULL)
		return jsonx_errors_fatal(e, APP_ENOMEM, key);
	r = jsonx_string_items(v, key, n, item_flags, min_chars, max_chars,
	    items, e);
	if (r != APP_OK)
		return r;
	*out = items;
	if (nout != NULL)
		*nout = n;
	return APP_OK;
}

bool
jsonx_has(struct json_object *obj, const char *key)
{
	return obj != NULL && json_object_is_type(obj, json_type_object) &&
	    json_object_object_get_ex(obj, key, NULL);
}

bool
jsonx_is_null(struct json_object *obj, const char *key)
{
	struct json_object	*v = NULL;

	return obj != NULL && json_object_is_type(obj, json_type_object) &&
	    json_object_object_get_ex(obj, key, &v) && v == NULL;
}

/* ------------------------------------------------------------ builders */

struct json_object *
jsonx_new_string_len(const char *s, size_t len)
{
	if (len > INT_MAX)
		return NULL;
	return json_object_new_string_len(s, (int)len);
}

enum app_err
jsonx_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (val == NULL)
		return APP_ENOMEM;
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return APP_ENOMEM;
	}
	return APP_OK;
}

enum app_err
jsonx_add_string(struct json_object *obj, const char *key, const char *s)
{
	if (s == NULL)
		return jsonx_add_null(obj, key);
	return jsonx_add(obj, key, json_object_new_string(s));
}

enum app_err
jsonx_add_int(struct json_object *obj, const char *key, int64_t v)
{
	return jsonx_add(obj, key, json_object_new_int64(v));
}

enum app_err
jsonx_add_bool(struct json_object *obj, const char *key, bool v)
{
	return jsonx_add(obj, key, json_object_new_boolean(v));
}

enum app_err
jsonx_add_null(struct json_object *obj, const char *key)
{
	/* json-c spells JSON null as a NULL member. */
	return json_object_object_add(obj, key, NULL) == 0 ? APP_OK :
	    APP_ENOMEM;
}

enum app_err
jsonx_add_time(struct json_object *obj, const char *key, struct timespec ts)
{
	char	 buf[CLOCK_RFC3339_LEN];

	return jsonx_add(obj, key,
	    json_object_new_string(clock_rfc3339(buf, ts)));
}

enum app_err
jsonx_append(struct json_object *arr, struct json_object *val)
{
	if (val == NULL)
		return APP_ENOMEM;
	if (json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		return APP_ENOMEM;
	}
	return APP_OK;
}

/* ------------------------------------------------------------ time */


/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
jsonx_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		 era;
	unsigned	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly `n' digits. */
static int
jsonx_digits(const char **sp, int n, int *out)
{
	const char	*s = *sp;
	int		 v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	*out = v;
	return 0;
}

static int
jsonx_expect(const char **sp, const char *chars)
{
	if (**sp == '\0' || strchr(chars, **sp) == NULL)
		return -1;
	(*sp)++;
	return 0;
}

/* ".fraction" (optional) and "Z" or "+hh:mm"; *off in seconds east. */
static int
jsonx_time_tail(const char *s, long *nsec, long *off)
{
	long	 scale = 100000000L;
	int	 sign, oh, om;

	*nsec = 0;
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
			*nsec += (*s - '0') * scale;
	}
	*off = 0;
	if (*s == 'Z' || *s == 'z')
		return s[1] == '\0' ? 0 : -1;
	if (*s != '+' && *s != '-')
		return -1;
	sign = *s++ == '-' ? -1 : 1;
	if (jsonx_digits(&s, 2, &oh) == -1 || jsonx_expect(&s, ":") == -1 ||
	    jsonx_digits(&s, 2, &om) == -1 || *s != '\0' || oh > 23 || om > 59)
		return -1;
	*off = sign * (oh * 3600L + om * 60L);
	return 0;
}

int
jsonx_time_parse(const char *s, struct timespec *out)
{
	static const int mdays[] = { 31,29,31,30,31,30,31,31,30,31,30,31 };
	int		 y, mo, d, h, mi, sec;
	long		 nsec, off;
	bool		 leap;

	if (jsonx_digits(&s, 4, &y) == -1 || jsonx_expect(&s, "-") == -1 ||
	    jsonx_digits(&s, 2, &mo) == -1 || jsonx_expect(&s, "-") == -1 ||
	    jsonx_digits(&s, 2, &d) == -1 || jsonx_expect(&s, "Tt") == -1 ||
	    jsonx_digits(&s, 2, &h) == -1 || jsonx_expect(&s, ":") == -1 ||
	    jsonx_digits(&s, 2, &mi) == -1 || jsonx_expect(&s, ":") == -1 ||
	    jsonx_digits(&s, 2, &sec) == -1 ||
	    jsonx_time_tail(s, &nsec, &off) == -1)
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	/* Leap seconds (:60) are refused: nothing upstream produces them. */
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
		return -1;
	out->tv_sec = (time_t)(jsonx_days_from_civil(y, (unsigned)mo,
	    (unsigned)d) * 86400 + h * 3600L + mi * 60L + sec - off);
	out->tv_nsec = nsec;
	return 0;
}

enum app_err
jsonx_errors_answer(struct http_response *res, const struct jsonx_errors *e)
{
	enum app_err	 rc;

	if ((rc = jsonx_errors_result(e)) != APP_OK)
		(void)jsonx_send_errors(res, e);
	return rc;
}

static void
jsonx_put(void *obj)
{
	json_object_put(obj);
}

enum app_err
jsonx_read_body(struct http_request *req, struct http_response *res,
    bool optional, struct json_object **obj)
{
	const char	*why;
	enum app_err	 e;

	*obj = NULL;
	if (req->body_len == 0 && optional)
		return APP_OK;
	if ((e = jsonx_parse_object(req->body, req->body_len, obj, &why)) !=
	    APP_OK) {
		(void)http_send_error(res, e, NULL, "%s", why);
		return e;
	}
	/* The getters copy into the arena: the arena may drop the object. */
	if (arena_cleanup_add(req->arena, jsonx_put, *obj) == -1) {
		json_object_put(*obj);
		*obj = NULL;
		return APP_ENOMEM;
	}
	return APP_OK;
}

/* ------------------------------------------------------------ query parameters */

enum app_err
jsonx_param(struct http_request *req, const char *key, const char **out,
    struct jsonx_errors *errs)
{
	enum app_err	 e;

	*out = NULL;
	if ((e = http_query_param(req, key, out)) == APP_OK && *out != NULL &&
	    !utf8_valid(*out, strlen(*out)))
		e = APP_EINVAL;
	if (e != APP_OK) {
		*out = NULL;
		(void)jsonx_errors_fatal(errs, e, key);
	}
	return e;
}

/* The index of `v' in `names', or -1 after recording `msg'. */
static int
jsonx_pick(const char *v, const char *const *names, const char *key,
    const char *msg, struct jsonx_errors *errs)
{
	int	 i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	jsonx_errors_add(errs, key, msg);
	return -1;
}

int
jsonx_param_enum(struct http_request *req, const char *key,
    const char *const *names, const char *msg, struct jsonx_errors *errs)
{
	const char	*v;

	if (jsonx_param(req, key, &v, errs) != APP_OK || v == NULL)
		return -1;
	return jsonx_pick(v, names, key, msg, errs);
}

int
jsonx_get_enum(struct json_object *obj, const char *key,
    const char *const *names, const char *msg, struct jsonx_errors *errs)
{
	const char	*v = NULL;

	if (jsonx_get_string(obj, key, 0, 0, 0, &v, errs) != APP_OK ||
	    v == NULL)
		return -1;
	return jsonx_pick(v, names, key, msg, errs);
}

void
jsonx_param_int(struct http_request *req, const char *key, int min, int max,
    int *out, struct jsonx_errors *errs)
{
	const char	*v;
	char		*end, msg[64];
	long		 n;

	if (jsonx_param(req, key, &v, errs) != APP_OK || v == NULL)
		return;
	errno = 0;
	n = strtol(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 ||
	    n < min || n > max) {
		snprintf(msg, sizeof(msg), "must be an integer from %d to %d",
		    min, max);
		jsonx_errors_add(errs, key, msg);
		return;
	}
	*out = (int)n;
}

const char *
jsonx_param_text(struct http_request *req, const char *key, size_t max,
    struct jsonx_errors *errs)
{
	const char	*v;
	char		 msg[64];

	if (jsonx_param(req, key, &v, errs) != APP_OK || v == NULL ||
	    v[0] == '\0')
		return NULL;
	if (utf8_len(v) > max) {
		snprintf(msg, sizeof(msg), "must be at most %zu characters",
		    max);
		jsonx_errors_add(errs, key, msg);
		return NULL;
	}
	return v;
}

/* ------------------------------------------------------------ writing */

int
jsonx_str_quote(struct arena *ar, struct arena_str *out, const char *s,
    size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t			 i, run = 0;
	unsigned char		 c;

	if (arena_str_add(ar, out, "\"", 1) == -1)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		/* The plain run before it, then the escape. */
		if (arena_str_add(ar, out, s + run, i - run) == -1)
			return -1;
		run = i + 1;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			if (arena_str_add(ar, out, esc, 2) == -1)
				return -1;
			esc[1] = 'u';
		} else if (c == '\n' || c == '\t' || c == '\r') {
			esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
			if (arena_str_add(ar, out, esc, 2) == -1)
				return -1;
			esc[1] = 'u';
		} else {
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			if (arena_str_add(ar, out, esc, 6) == -1)
				return -1;
		}
	}
	if (arena_str_add(ar, out, s + run, len - run) == -1 ||
	    arena_str_add(ar, out, "\"", 1) == -1)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ raw text */

/* Past the white space at s; never past end. */
static const char *
jsonx_raw_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' ||
	    *s == '\r'))
		s++;
	return s;
}

/* Past the string starting at s (on its quote). */
static const char *
jsonx_raw_string(const char *s, const char *end)
{
	for (s++; s < end && *s != '"'; s++)
		if (*s == '\\' && s + 1 < end)
			s++;
	return s < end ? s + 1 : end;
}

/* Past the value starting at s (no white space before it). */
static const char *
jsonx_raw_value(const char *s, const char *end)
{
	int	 depth = 0;

	if (s < end && *s == '"')
		return jsonx_raw_string(s, end);
	if (s < end && *s != '{' && *s != '[') {
		while (s < end && *s != ',' && *s != '}' && *s != ']' &&
		    *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			s++;
		return s;
	}
	for (; s < end; s++) {
		if (*s == '"') {
			s = jsonx_raw_string(s, end) - 1;
			continue;
		}
		if (*s == '{' || *s == '[')
			depth++;
		else if ((*s == '}' || *s == ']') && --depth == 0)
			return s + 1;
	}
	return end;
}

const char *
jsonx_raw_member(const char *obj, size_t len, const char *key, size_t *vlen)
{
	const char	*s = obj, *end = obj + len, *k, *v, *found = NULL;
	size_t		 klen = strlen(key);

	s = jsonx_raw_ws(s, end);
	if (s == end || *s != '{')
		return NULL;
	s = jsonx_raw_ws(s + 1, end);
	while (s < end && *s == '"') {
		k = s + 1;
		s = jsonx_raw_string(s, end);
		/* A key written with escapes is not one of ours. */
		s = jsonx_raw_ws(s, end);
		if (s == end || *s != ':')
			return NULL;
		v = jsonx_raw_ws(s + 1, end);
		s = jsonx_raw_value(v, end);
		/* The last one, as json-c keeps it. */
		if ((size_t)(s - k) >= klen + 1 && k[klen] == '"' &&
		    memcmp(k, key, klen) == 0) {
			found = v;
			*vlen = (size_t)(s - v);
		}
		s = jsonx_raw_ws(s, end);
		if (s < end && *s == ',')
			s = jsonx_raw_ws(s + 1, end);
	}
	return found;
}

char *
jsonx_compact(struct arena *ar, const char *s, size_t len)
{
	const char	*end = s + len, *run = s, *q;
	struct arena_str b;

	memset(&b, 0, sizeof(b));
	while (s < end) {
		if (*s == '"') {
			s = jsonx_raw_string(s, end);
			continue;
		}
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			q = jsonx_raw_ws(s, end);
			if (arena_str_add(ar, &b, run, (size_t)(s - run)) == -1)
				return NULL;
			run = s = q;
			continue;
		}
		s++;
	}
	if (arena_str_add(ar, &b, run, (size_t)(end - run)) == -1)
		return NULL;
	return b.p != NULL ? b.p : arena_strdup(ar, "");
}
