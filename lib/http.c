/*
 * http.c: the transport-neutral request and response.
 *
 * The response is written in CGI form ("Status: 200 OK", headers, a blank
 * line, the body), which is what FastCGI carries to nginx.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "arena.h"
#include "http.h"

const char *
http_header_get(const struct http_request *req, const char *name)
{
	size_t	 i;

	for (i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

static int
http_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
http_urldecode(struct arena *a, const char *s, size_t len)
{
	char	*out;
	size_t	 i, o = 0;

	if ((out = arena_alloc(a, len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '+') {
			out[o++] = ' ';
			continue;
		}
		if (s[i] == '\0')
			return NULL;	/* an embedded NUL is never valid */
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= len || (hi = http_hexval(s[i + 1])) < 0 ||
		    (lo = http_hexval(s[i + 2])) < 0)
			return NULL;
		if (hi == 0 && lo == 0)
			return NULL;	/* an embedded NUL is never valid */
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

enum app_err
http_query_param(const struct http_request *req, const char *key,
    const char **out)
{
	const char	*p = req->query, *amp, *eq;
	size_t		 klen = strlen(key), len;

	*out = NULL;
	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		len = amp ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', len);
		if (eq != NULL && (size_t)(eq - p) == klen &&
		    memcmp(p, key, klen) == 0) {
			*out = http_urldecode(req->arena, eq + 1,
			    len - klen - 1);
			/* ENOMEM is rare enough to read as a bad value. */
			return *out != NULL ? APP_OK : APP_EINVAL;
		}
		if (eq == NULL && len == klen && memcmp(p, key, klen) == 0) {
			*out = "";
			return APP_OK;
		}
		p = amp ? amp + 1 : NULL;
	}
	return APP_OK;
}

const char *
http_query_get(const struct http_request *req, const char *key)
{
	const char	*v;

	if (http_query_param(req, key, &v) != APP_OK)
		return NULL;
	return v;
}

const char *
http_cookie_get(const struct http_request *req, const char *name)
{
	const char	*p = http_header_get(req, "cookie"), *end, *eq;
	size_t		 nlen = strlen(name), len;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		end = strchr(p, ';');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		eq = memchr(p, '=', len);
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    memcmp(p, name, nlen) == 0) {
			/* Trailing blanks before ';' are not the value's. */
			while (len > nlen + 1 && (p[len - 1] == ' ' ||
			    p[len - 1] == '\t'))
				len--;
			return arena_strndup(req->arena, eq + 1,
			    len - nlen - 1);
		}
		p = end != NULL ? end + 1 : NULL;
	}
	return NULL;
}

const char *
http_remote_addr(const struct http_request *req)
{
	return req->remote_addr != NULL && req->remote_addr[0] != '\0' ?
	    req->remote_addr : "unknown";
}

bool
http_is_json(const struct http_request *req)
{
	const char	*ct = http_header_get(req, "content-type");
	size_t		 n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

bool
http_wants_sse(const struct http_request *req)
{
	const char	*acc = http_header_get(req, "accept");

	return acc != NULL && strstr(acc, "text/event-stream") != NULL;
}

void
http_response_init(struct http_response *res, struct http_request *req,
    const struct http_transport *tp, void *tp_ctx)
{
	memset(res, 0, sizeof(*res));
	res->tp = tp;
	res->tp_ctx = tp_ctx;
	res->req = req;
	res->status = 200;
}

void
http_set_status(struct http_response *res, int status)
{
	res->status = status;
}

enum app_err
http_add_header(struct http_response *res, const char *name,
    const char *value)
{
	struct http_header	*h;

	if (res->headers_sent)
		return APP_EINTERNAL;
	if (res->nheaders == res->cap) {
		size_t ncap = res->cap ? res->cap * 2 : 8;

		h = arena_calloc(res->req->arena, ncap, sizeof(*h));
		if (h == NULL)
			return APP_ENOMEM;
		if (res->nheaders > 0)
			memcpy(h, res->headers, res->nheaders * sizeof(*h));
		res->headers = h;
		res->cap = ncap;
	}
	h = &res->headers[res->nheaders];
	if ((h->name = arena_strdup(res->req->arena, name)) == NULL ||
	    (h->value = arena_strdup(res->req->arena, value)) == NULL)
		return APP_ENOMEM;
	res->nheaders++;
	return APP_OK;
}

static enum app_err
http_raw_write(struct http_response *res, const char *buf, size_t len)
{
	if (res->gone)
		return APP_EHUP;
	if (len > 0 && res->tp->write(res->tp_ctx, buf, len) == -1) {
		res->gone = true;
		return APP_EHUP;
	}
	return APP_OK;
}

static enum app_err
http_send_headers(struct http_response *res)
{
	char	*block;
	size_t	 i;

	if (res->headers_sent)
		return APP_OK;
	res->headers_sent = true;
	block = arena_printf(res->req->arena, "Status: %d %s\r\n",
	    res->status, http_reason(res->status));
	for (i = 0; block != NULL && i < res->nheaders; i++)
		block = arena_printf(res->req->arena, "%s%s: %s\r\n", block,
		    res->headers[i].name, res->headers[i].value);
	if (block == NULL || (block = arena_printf(res->req->arena,
	    "%s\r\n", block)) == NULL)
		return APP_ENOMEM;
	return http_raw_write(res, block, strlen(block));
}

enum app_err
http_write(struct http_response *res, const char *buf, size_t len)
{
	enum app_err	 e;

	if ((e = http_send_headers(res)) != APP_OK)
		return e;
	/* HEAD gets the headers of GET and no body. */
	if (res->req->method != NULL && strcmp(res->req->method, "HEAD") == 0)
		return APP_OK;
	if ((e = http_raw_write(res, buf, len)) == APP_OK)
		res->bytes += len;
	return e;
}

enum app_err
http_flush(struct http_response *res)
{
	enum app_err	 e;

	if ((e = http_send_headers(res)) != APP_OK)
		return e;
	if (res->gone)
		return APP_EHUP;
	if (res->tp->flush != NULL && res->tp->flush(res->tp_ctx) == -1) {
		res->gone = true;
		return APP_EHUP;
	}
	return APP_OK;
}

enum app_err
http_finish(struct http_response *res)
{
	return http_send_headers(res);
}

bool
http_client_gone(struct http_response *res)
{
	if (!res->gone && res->tp->closed != NULL &&
	    res->tp->closed(res->tp_ctx))
		res->gone = true;
	return res->gone;
}

int
http_client_fd(struct http_response *res)
{
	if (res->gone || res->tp->fd == NULL)
		return -1;
	return res->tp->fd(res->tp_ctx);
}

enum app_err
http_send_json_str(struct http_response *res, int status, const char *body,
    size_t len)
{
	char		 clen[32];
	enum app_err	 e;

	http_set_status(res, status);
	snprintf(clen, sizeof(clen), "%zu", len);
	if ((e = http_add_header(res, "Content-Type",
	    "application/json")) != APP_OK ||
	    (e = http_add_header(res, "Content-Length", clen)) != APP_OK)
		return e;
	return http_write(res, body, len);
}

enum app_err
http_send_json(struct http_response *res, int status, struct json_object *obj)
{
	const char	*s;
	size_t		 len;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s == NULL)
		return APP_ENOMEM;
	return http_send_json_str(res, status, s, len);
}

/* Builds {"error":{...}}; returns NULL on ENOMEM. */
static struct json_object *
http_error_body(struct http_response *res, enum app_err err,
    struct json_object *details, const char *msg)
{
	struct json_object	*root, *e;
	const char		*rid = res->req->request_id;

	if ((root = json_object_new_object()) == NULL)
		return NULL;
	if ((e = json_object_new_object()) == NULL ||
	    json_object_object_add(root, "error", e) != 0) {
		json_object_put(e);
		json_object_put(root);
		return NULL;
	}
	if (json_object_object_add(e, "code",
	    json_object_new_string(app_err_code(err))) != 0 ||
	    json_object_object_add(e, "message",
	    json_object_new_string(msg)) != 0 ||
	    json_object_object_add(e, "request_id",
	    json_object_new_string(rid ? rid : "")) != 0 ||
	    (details != NULL && json_object_object_add(e, "details",
	    json_object_get(details)) != 0)) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

enum app_err
http_send_error(struct http_response *res, enum app_err err,
    struct json_object *details, const char *fmt, ...)
{
	struct json_object	*body;
	const char		*msg = app_strerror(err);
	char			*buf = NULL;
	enum app_err		 e;
	va_list			 ap;
	int			 status = app_err_status(err);

	if (res->headers_sent)
		return APP_EINTERNAL;	/* too late for an error page */
	/* A 500 says only "internal error" and the request id. */
	if (status >= 500 && (err == APP_EINTERNAL || err == APP_ENOMEM))
		details = NULL;
	else if (fmt != NULL) {
		va_start(ap, fmt);
		buf = arena_vprintf(res->req->arena, fmt, ap);
		va_end(ap);
		if (buf != NULL)
			msg = buf;
	}
	if ((body = http_error_body(res, err, details, msg)) == NULL)
		return APP_ENOMEM;
	e = http_send_json(res, status, body);
	json_object_put(body);
	return e;
}

enum app_err
http_send_empty(struct http_response *res, int status)
{
	http_set_status(res, status);
	return http_finish(res);
}

enum app_err
http_path_id(struct http_request *req, struct http_response *res,
    const char *what, bool (*parse)(const char *, int64_t *), int64_t *id)
{
	if (req->nparams > 0 && parse(req->params[0], id))
		return APP_OK;
	/* The parameter is the client's: echo a bounded part of it. */
	(void)http_send_error(res, APP_ENOTFOUND, NULL, "%s %.40s not found",
	    what, req->nparams > 0 ? req->params[0] : "");
	return APP_ENOTFOUND;
}

enum app_err
http_send_outcome(struct http_response *res, enum app_err e,
    const char *what, int64_t id, int status, const char *json)
{
	if (e == APP_ENOTFOUND)
		return http_send_error(res, e, NULL, "%s %" PRId64 " not found",
		    what, id);
	if (e != APP_OK)
		return e;
	if (json == NULL)
		return http_send_empty(res, status);
	return http_send_json_str(res, status, json, strlen(json));
}
