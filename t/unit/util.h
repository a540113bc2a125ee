/*
 * util.h: helpers shared by the unit tests (header only, include after
 * the cmocka headers).
 *
 * - struct tbuf (t/tbuf.h): an http_transport that captures the response.
 * - struct treq: a request, its arena and a response bound to a tbuf,
 *   built in a few calls: treq_init(&t, "GET", "/path?q=1"),
 *   treq_header(&t, "Accept", "..."), treq_body(&t, "{}").
 * - Readers of the captured response: status, one header, body, JSON body.
 */
#ifndef QUIPU_TEST_UTIL_H
#define QUIPU_TEST_UTIL_H

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "arena.h"
#include "http.h"
#include "../tbuf.h"

/* ------------------------------------------------------------ request */

#define TREQ_MAX_HEADERS	32

struct treq {
	struct arena		*arena;
	struct http_request	 req;
	struct http_response	 resp;
	struct tbuf		 out;
	struct http_header	 hdrs[TREQ_MAX_HEADERS];
	struct json_object	*json;	/* last treq_json() result */
};

/* `target' is a path with an optional "?query". */
static inline void
treq_init(struct treq *t, const char *method, const char *target)
{
	const char	*q;

	memset(t, 0, sizeof(*t));
	t->arena = arena_create(4096);
	assert_non_null(t->arena);
	t->out.fail_after = -1;
	t->req.arena = t->arena;
	t->req.method = arena_strdup(t->arena, method);
	if ((q = strchr(target, '?')) != NULL) {
		t->req.path = arena_strndup(t->arena, target,
		    (size_t)(q - target));
		t->req.query = arena_strdup(t->arena, q + 1);
	} else {
		t->req.path = arena_strdup(t->arena, target);
		t->req.query = "";
	}
	t->req.remote_addr = "127.0.0.1";
	t->req.headers = t->hdrs;
	t->req.route_index = -1;
	t->req.slot = -1;
	http_response_init(&t->resp, &t->req, &tbuf_transport, &t->out);
}

/* Adds a request header; the name is lowered as fcgi/request.c does. */
static inline void
treq_header(struct treq *t, const char *name, const char *value)
{
	char	*n;
	size_t	 i;

	assert_true(t->req.nheaders < TREQ_MAX_HEADERS);
	n = arena_strdup(t->arena, name);
	assert_non_null(n);
	for (i = 0; n[i] != '\0'; i++)
		n[i] = (char)tolower((unsigned char)n[i]);
	t->hdrs[t->req.nheaders].name = n;
	t->hdrs[t->req.nheaders].value = arena_strdup(t->arena, value);
	t->req.nheaders++;
}

static inline void
treq_body_len(struct treq *t, const char *body, size_t len)
{
	t->req.body = arena_strndup(t->arena, body, len);
	t->req.body_len = len;
}

static inline void
treq_body(struct treq *t, const char *body)
{
	treq_body_len(t, body, strlen(body));
}

static inline void
treq_free(struct treq *t)
{
	json_object_put(t->json);
	arena_destroy(t->arena);
	free(t->out.data);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------ response */

/* The number on the "Status: NNN Reason" line, or -1. */
static inline int
treq_status(const struct treq *t)
{
	if (t->out.data == NULL || strncmp(t->out.data, "Status: ", 8) != 0)
		return -1;
	return atoi(t->out.data + 8);
}

/* The first line of the response, without CRLF (arena copy). */
static inline const char *
treq_status_line(struct treq *t)
{
	const char	*e;

	if (t->out.data == NULL || (e = strstr(t->out.data, "\r\n")) == NULL)
		return "";
	return arena_strndup(t->arena, t->out.data,
	    (size_t)(e - t->out.data));
}

/* The value of response header `name' (any case), arena copy, or NULL. */
static inline const char *
treq_resp_header(struct treq *t, const char *name)
{
	const char	*p, *end, *eol;
	size_t		 n = strlen(name);

	if (t->out.data == NULL ||
	    (end = strstr(t->out.data, "\r\n\r\n")) == NULL)
		return NULL;
	for (p = strstr(t->out.data, "\r\n"); p != NULL && p < end; p = eol) {
		p += 2;
		eol = strstr(p, "\r\n");
		if (strncasecmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ')
			return arena_strndup(t->arena, p + n + 2,
			    (size_t)(eol - p - (ptrdiff_t)n - 2));
	}
	return NULL;
}

/* How many times header `name' appears in the header block. */
static inline int
treq_resp_header_count(struct treq *t, const char *name)
{
	const char	*p, *end;
	size_t		 n = strlen(name);
	int		 count = 0;

	if (t->out.data == NULL ||
	    (end = strstr(t->out.data, "\r\n\r\n")) == NULL)
		return 0;
	for (p = strstr(t->out.data, "\r\n"); p != NULL && p < end;
	    p = strstr(p, "\r\n")) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			count++;
	}
	return count;
}

/* The body after the header block ("" if none). */
static inline const char *
treq_resp_body(const struct treq *t)
{
	const char	*p;

	if (t->out.data == NULL || (p = strstr(t->out.data, "\r\n\r\n")) == NULL)
		return "";
	return p + 4;
}

/*
 * The body parsed as JSON, or the test fails. Parsed once and cached, so
 * pointers into it stay valid; owned by t and freed by treq_free.
 */
static inline struct json_object *
treq_json(struct treq *t)
{
	if (t->json == NULL)
		t->json = json_tokener_parse(treq_resp_body(t));
	assert_non_null(t->json);
	return t->json;
}

/* The string at error.<field> of an error envelope, or NULL. */
static inline const char *
treq_error_field(struct treq *t, const char *field)
{
	struct json_object	*err, *v;

	if (!json_object_object_get_ex(treq_json(t), "error", &err) ||
	    !json_object_object_get_ex(err, field, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

#endif
