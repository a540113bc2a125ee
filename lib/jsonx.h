/*
 * jsonx.h: json-c helpers shared by every module that reads or writes JSON.
 *
 * Three jobs:
 *  1. Strict parsing of request bodies (jsonx_parse, jsonx_parse_object).
 *     json-c alone accepts single quotes, NaN, "1.", raw control
 *     characters, overlong and surrogate UTF-8 and "\u0000" (checked on
 *     json-c 0.16 by t/unit/test_jsonx.c), so the text is first checked
 *     against RFC 8259 by a small scanner here, then parsed by json-c with a
 *     depth limit.
 *  2. Typed getters that validate one field each and collect per-field
 *     messages in a struct jsonx_errors, which becomes the "details" of a
 *     422 envelope: {"title": "must be at most 255 characters"}.
 *  3. Builders: adding members without repeating the ENOMEM dance, and
 *     RFC 3339 times ("2026-11-22T10:30:00.123Z").
 *
 * Lengths are counted in Unicode code points, never bytes (API.md).
 *
 * Typical handler:
 *
 *	struct jsonx_errors	 errs;
 *	struct json_object	*body = NULL;
 *	const char		*title = NULL, *notes = NULL, *why;
 *
 *	if ((rc = jsonx_parse_object(req->body, req->body_len, &body,
 *	    &why)) != APP_OK)
 *		return http_send_error(resp, rc, NULL, "%s", why);
 *	(the getters copy strings into the arena: `body' may be put after them)
 *	jsonx_errors_init(&errs, req->arena);
 *	jsonx_get_string(body, "title", JSONX_REQUIRED | JSONX_TRIM, 1, 255,
 *	    &title, &errs);
 *	jsonx_get_string(body, "notes", JSONX_NULLABLE, 0, 10000, &notes, &errs);
 *	if ((rc = jsonx_errors_result(&errs)) != APP_OK)
 *		return jsonx_send_errors(resp, &errs);
 */
#ifndef QUIPU_JSONX_H
#define QUIPU_JSONX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "apperr.h"

struct arena;
struct json_object;
struct http_response;
struct jsonx_errors;

#define JSONX_MAX_DEPTH		32	/* nesting of arrays and objects */

/* ------------------------------------------------------------ UTF-8 */

/*
 * True when buf[0..len) is well-formed UTF-8 (RFC 3629): no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no
 * truncated sequence. NUL bytes are valid UTF-8; callers that forbid them
 * check separately. (Named utf8_* rather than jsonx_*: they are used for
 * query strings and headers too.)
 */
bool		 utf8_valid(const char *buf, size_t len);
/* Code points in the NUL-terminated, valid UTF-8 string `s'. */
size_t		 utf8_len(const char *s);

/* ------------------------------------------------------------ parsing */

/*
 * Parses exactly one JSON value from buf[0..len) (NUL not required) and
 * hands one reference to the caller in *out. Whitespace may surround the
 * value; anything else after it is an error. Returns:
 *	APP_OK		*out set (never NULL: a body of "null" is refused)
 *	APP_EINVAL	not JSON, invalid UTF-8, a NUL byte or "\u0000",
 *			a lone surrogate escape, nesting deeper than
 *			JSONX_MAX_DEPTH, or an empty body
 *	APP_ENOMEM
 * When `why' is not NULL it receives a static sentence for the client
 * ("invalid UTF-8", "nesting too deep", ...).
 */
enum app_err	 jsonx_parse(const char *buf, size_t len,
		    struct json_object **out, const char **why) MUSTCHECK;
/*
 * jsonx_parse() for request bodies: the top level must be an object, else
 * APP_EVALIDATION with *why = "request body must be a JSON object".
 */
enum app_err	 jsonx_parse_object(const char *buf, size_t len,
		    struct json_object **out, const char **why) MUSTCHECK;

/*
 * The request's body as a JSON object for a handler: on failure the error
 * (400, 422 "request body must be a JSON object") is answered and
 * returned. With `optional', an empty body gives APP_OK and *obj NULL.
 * The object is released with the request's arena.
 */
struct http_request;
enum app_err	 jsonx_read_body(struct http_request *, struct http_response *,
		    bool optional, struct json_object **obj) MUSTCHECK;

/*
 * For a handler after its checks: APP_OK when nothing was recorded, else
 * answers the errors (as jsonx_send_errors) and returns the outcome.
 */
enum app_err	 jsonx_errors_answer(struct http_response *,
		    const struct jsonx_errors *) MUSTCHECK;

/* ------------------------------------------------------------ query parameters */

/*
 * Query parameter `key' of a list request: APP_OK with *out NULL when
 * absent, the decoded text otherwise; APP_EINVAL (recorded as fatal in
 * `errs') for bad escapes, a NUL or invalid UTF-8.
 */
enum app_err	 jsonx_param(struct http_request *, const char *key,
		    const char **out, struct jsonx_errors *errs);
/* A parameter that must be one of `names' (NULL-terminated): its index,
 * or -1 when absent or wrong (then `msg' is recorded). */
int		 jsonx_param_enum(struct http_request *, const char *key,
		    const char *const *names, const char *msg,
		    struct jsonx_errors *errs);
/* An integer parameter in [min, max]; *out untouched when absent. */
void		 jsonx_param_int(struct http_request *, const char *key,
		    int min, int max, int *out, struct jsonx_errors *errs);
/* A text parameter of at most `max' characters; "" counts as absent. */
const char	*jsonx_param_text(struct http_request *, const char *key,
		    size_t max, struct jsonx_errors *errs);

/* ------------------------------------------------------------ getters */

/*
 * Collects the first error of each field. `details' is a json object
 * {"field": "message", ...} created on the first error and released by the
 * arena (cleanup hook), so a struct jsonx_errors needs no free. Strings
 * handed out by the getters are copies in the same arena.
 */
struct jsonx_errors {
	struct arena		*arena;
	struct json_object	*details;	/* NULL while no field failed */
	size_t			 nfields;	/* fields that failed */
	enum app_err		 fatal;		/* APP_EINVAL or APP_ENOMEM, else APP_OK */
	const char		*fatal_field;	/* the field behind `fatal' */
};

#define JSONX_REQUIRED	0x01	/* absent -> "is required" */
#define JSONX_NULLABLE	0x02	/* null allowed: *out = NULL (strings, arrays) */
#define JSONX_TRIM	0x04	/* strip leading/trailing ASCII white space first */

void		 jsonx_errors_init(struct jsonx_errors *, struct arena *);
/*
 * Records `message' for `field' unless the field already has one (for the
 * checks a handler makes itself, e.g. "must be after start"). The strings
 * are copied.
 */
void		 jsonx_errors_add(struct jsonx_errors *, const char *field,
		    const char *message);
/*
 * Records `message' for each member of `obj' named neither in `allowed'
 * nor in `ignored' (NULL-terminated lists; `ignored' may be NULL, e.g.
 * read-only fields sent back): a misspelt field is refused, never
 * silently dropped.
 */
void		 jsonx_errors_unknown(struct jsonx_errors *,
		    struct json_object *obj, const char *const *allowed,
		    const char *const *ignored, const char *message);
/*
 * Records a fatal problem with `field' (APP_EINVAL: invalid UTF-8 or a
 * NUL, answered 400; APP_ENOMEM), for values read outside the getters,
 * such as query parameters. The first one is kept, but ENOMEM outranks
 * EINVAL. Returns `err'.
 */
enum app_err	 jsonx_errors_fatal(struct jsonx_errors *, enum app_err err,
		    const char *field);
/*
 * The outcome of the getters so far: APP_OK, APP_EINVAL (a string was not
 * valid UTF-8 or held a NUL: 400), APP_ENOMEM, or APP_EVALIDATION (422).
 */
enum app_err	 jsonx_errors_result(const struct jsonx_errors *);
/*
 * Sends the matching error envelope: 422 "validation failed" with the
 * details, or 400 naming the field, or 500. Returns what http_send_error
 * returns.
 */
enum app_err	 jsonx_send_errors(struct http_response *,
		    const struct jsonx_errors *);

/*
 * Each getter reads member `key' of `obj' (a JSON object) and returns:
 *	APP_OK		*out set, or, when the member is absent and not
 *			required, *out left untouched (preset your default)
 *	APP_EVALIDATION	a message was recorded for `key' in `errs'
 *	APP_EINVAL	invalid UTF-8 or a NUL in a string (recorded as fatal)
 *	APP_ENOMEM	(recorded as fatal)
 * Callers may ignore the return value and test jsonx_errors_result() once
 * after all fields.
 */

/*
 * A string of min_chars..max_chars code points (max_chars 0: no limit),
 * counted after JSONX_TRIM. *out is an arena copy.
 * Messages: "is required", "must be a string", "must not be null",
 * "must not be empty", "must be at least N characters",
 * "must be at most N characters".
 */
enum app_err	 jsonx_get_string(struct json_object *obj, const char *key,
		    unsigned flags, size_t min_chars, size_t max_chars,
		    const char **out, struct jsonx_errors *errs);
/*
 * An integer (1.0, "1" and true are not integers) in [min, max].
 * Messages: "must be an integer", "must be between MIN and MAX".
 * JSONX_NULLABLE is not supported for numbers: use jsonx_is_null() first.
 */
enum app_err	 jsonx_get_int(struct json_object *obj, const char *key,
		    unsigned flags, int64_t min, int64_t max, int64_t *out,
		    struct jsonx_errors *errs);
/* true or false. Message: "must be a boolean". */
enum app_err	 jsonx_get_bool(struct json_object *obj, const char *key,
		    unsigned flags, bool *out, struct jsonx_errors *errs);
/*
 * An array of at most max_items strings (0: no limit), each checked like
 * jsonx_get_string() with `item_flags' (JSONX_TRIM only) and the char
 * bounds. *out is a NULL-terminated arena array, *nout its length (may be
 * NULL). Messages: "must be an array of strings",
 * "must have at most N items", and for an item the string messages under
 * the key "key[i]".
 */
enum app_err	 jsonx_get_string_array(struct json_object *obj,
		    const char *key, unsigned flags, size_t max_items,
		    unsigned item_flags, size_t min_chars, size_t max_chars,
		    const char ***out, size_t *nout, struct jsonx_errors *errs);

/*
 * A string that must be one of `names' (NULL-terminated): its index, or
 * -1 when absent or wrong (then `msg' is recorded).
 */
int		 jsonx_get_enum(struct json_object *obj, const char *key,
		    const char *const *names, const char *msg,
		    struct jsonx_errors *errs);
/* True when `obj' has member `key' (PATCH: absent vs present). */
bool		 jsonx_has(struct json_object *obj, const char *key);
/* True when `obj' has member `key' and it is null. */
bool		 jsonx_is_null(struct json_object *obj, const char *key);

/* ------------------------------------------------------------ builders */

/*
 * Appends s[0..len), valid UTF-8, as a JSON string literal (quotes,
 * backslashes and control characters escaped) to `out'. -1 on ENOMEM.
 * For answers put together as text, without a json_object per value.
 */
struct arena_str;
int		 jsonx_str_quote(struct arena *, struct arena_str *out,
		    const char *s, size_t len);
/* A string object from s[0..len) (NUL bytes kept). NULL on ENOMEM. */
struct json_object *jsonx_new_string_len(const char *s, size_t len);
/*
 * Add a member to `obj'. jsonx_add() takes `val' in every case (it is
 * released when adding fails); a NULL `val' means its constructor failed
 * and gives APP_ENOMEM (use jsonx_add_null() for a JSON null).
 */
enum app_err	 jsonx_add(struct json_object *obj, const char *key,
		    struct json_object *val) MUSTCHECK;
/* `s' NULL adds null. */
enum app_err	 jsonx_add_string(struct json_object *obj, const char *key,
		    const char *s) MUSTCHECK;
enum app_err	 jsonx_add_int(struct json_object *obj, const char *key,
		    int64_t v) MUSTCHECK;
enum app_err	 jsonx_add_bool(struct json_object *obj, const char *key,
		    bool v) MUSTCHECK;
enum app_err	 jsonx_add_null(struct json_object *obj, const char *key)
		    MUSTCHECK;
/* An RFC 3339 UTC time (see clock_rfc3339()). */
enum app_err	 jsonx_add_time(struct json_object *obj, const char *key,
		    struct timespec ts) MUSTCHECK;
/* Appends to an array, taking `val' as jsonx_add() does. */
enum app_err	 jsonx_append(struct json_object *arr, struct json_object *val)
		    MUSTCHECK;

/* ------------------------------------------------------------ time */

/*
 * Parses an RFC 3339 date-time ("2026-11-22T10:30:00Z",
 * "2026-11-22T10:30:00.5+02:00"; 'T'/'t' and 'Z'/'z' either case) into
 * UTC. -1 when the text is not one (bad field ranges included).
 */
int		 jsonx_time_parse(const char *s, struct timespec *out);

/* ------------------------------------------------------------ raw text */

/*
 * For JSON passed on byte for byte (ChatKit's free-form values), on text
 * that jsonx_parse() has accepted: the text of member `key' (a plain
 * key, no escapes) of the object `obj', the last one when repeated, as
 * json-c keeps it; NULL when absent. *vlen is its length.
 */
const char	*jsonx_raw_member(const char *obj, size_t len, const char *key,
		    size_t *vlen);
/* Accepted JSON text without the white space between tokens (strings
 * and numbers untouched), in the arena; NULL on ENOMEM. */
char		*jsonx_compact(struct arena *, const char *s, size_t len);

#endif
