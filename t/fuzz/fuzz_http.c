/*
 * fuzz_http.c: query strings, headers and the error envelope of lib/http.
 *
 * The input is a request head: the first line is the raw query string,
 * each further line a header "name: value" (lines without ':' are skipped;
 * the name is lowered as fcgi/request.c does). Every query key found and
 * a few fixed ones go through http_query_get(), the query and each header
 * value through http_urldecode(), every name through http_header_get(),
 * then an error envelope is sent into memory with the query as message,
 * x-request-id as request id and a header value as detail, for an error
 * chosen by the input. The target aborts when:
 *  - a decoded value is longer than its text or http_query_get() finds a
 *    value for a key absent from the query;
 *  - http_header_get() misses a header that is present;
 *  - the envelope is not "Status: NNN ...", a header block, and a JSON
 *    body whose length is the Content-Length and whose error.code is
 *    app_err_code() of the error (HEAD: no body at all).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "apperr.h"
#include "arena.h"
#include "http.h"
#include "../tbuf.h"

const char	fuzz_name[] = "http";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAX_HEADERS	32
#define FUZZ_MAX_KEYS		16

static const char *const fixed_keys[] = {
	"q", "limit", "cursor", "a", "", "=", "%20",
};

/* Splits the input into the query and lower-cased headers. */
static void
fuzz_request(struct arena *a, char *text, struct http_request *req,
    struct http_header *hdrs)
{
	char	*line, *next, *colon, *p;

	req->query = text;
	if ((next = strchr(text, '\n')) != NULL)
		*next++ = '\0';
	req->headers = hdrs;
	for (line = next; line != NULL && req->nheaders < FUZZ_MAX_HEADERS;
	    line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		for (p = line; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		hdrs[req->nheaders].name = line;
		hdrs[req->nheaders].value = colon[1] == ' ' ? colon + 2 :
		    colon + 1;
		req->nheaders++;
	}
}

static void
fuzz_query_key(const struct http_request *req, const char *key)
{
	const char	*v;

	if ((v = http_query_get(req, key)) == NULL)
		return;
	/* A key that is not in the query cannot have a value. */
	if (strstr(req->query, key) == NULL ||
	    strlen(v) > strlen(req->query))
		abort();
}

/* Every key of the query, then the fixed ones. */
static void
fuzz_query(struct arena *a, const struct http_request *req)
{
	const char	*p = req->query;
	char		*key, *d;
	size_t		 i, len;

	for (i = 0; p != NULL && *p != '\0' && i < FUZZ_MAX_KEYS; i++) {
		len = strcspn(p, "=&");
		if ((key = arena_strndup(a, p, len)) != NULL)
			fuzz_query_key(req, key);
		p = strchr(p, '&');
		p = p ? p + 1 : NULL;
	}
	for (i = 0; i < sizeof(fixed_keys) / sizeof(fixed_keys[0]); i++)
		fuzz_query_key(req, fixed_keys[i]);
	len = strlen(req->query);
	if ((d = http_urldecode(a, req->query, len)) != NULL &&
	    strlen(d) > len)
		abort();
}

static void
fuzz_headers(struct arena *a, const struct http_request *req)
{
	const char	*v;
	char		*d;
	size_t		 i, len;

	for (i = 0; i < req->nheaders; i++) {
		if (http_header_get(req, req->headers[i].name) == NULL)
			abort();
		len = strlen(req->headers[i].value);
		if ((d = http_urldecode(a, req->headers[i].value, len)) !=
		    NULL && strlen(d) > len)
			abort();
	}
	(void)http_is_json(req);
	(void)http_wants_sse(req);
	if ((v = http_header_get(req, "CONTENT-TYPE")) != NULL &&
	    http_header_get(req, "content-type") != v)
		abort();
}

/* The captured envelope must be well formed (see the top comment). */
static void
fuzz_check_envelope(const struct tbuf *s, enum app_err err, bool head)
{
	struct json_object	*o, *e, *code;
	const char		*body, *cl;

	if (s->data == NULL || strncmp(s->data, "Status: ", 8) != 0 ||
	    atoi(s->data + 8) != app_err_status(err) ||
	    (body = strstr(s->data, "\r\n\r\n")) == NULL ||
	    (cl = strstr(s->data, "\r\nContent-Length: ")) == NULL ||
	    cl > body)
		abort();
	body += 4;
	if (head) {
		if (*body != '\0')
			abort();
		return;
	}
	if (strtoul(cl + 18, NULL, 10) != s->len - (size_t)(body - s->data))
		abort();
	if ((o = json_tokener_parse(body)) == NULL)
		abort();
	if (!json_object_object_get_ex(o, "error", &e) ||
	    !json_object_object_get_ex(e, "code", &code) ||
	    strcmp(json_object_get_string(code), app_err_code(err)) != 0)
		abort();
	json_object_put(o);
}

static void
fuzz_error(struct http_request *req, enum app_err err, bool head)
{
	struct http_response	 resp;
	struct json_object	*details = NULL;
	struct tbuf		 out = { .fail_after = -1 };

	req->method = head ? "HEAD" : "GET";
	req->request_id = http_header_get(req, "x-request-id");
	if (req->nheaders > 0 && (details = json_object_new_object()) != NULL &&
	    json_object_object_add(details, req->headers[0].name,
	    json_object_new_string(req->headers[0].value)) != 0) {
		json_object_put(details);
		details = NULL;
	}
	http_response_init(&resp, req, &tbuf_transport, &out);
	if (http_send_error(&resp, err, details, "bad query: %s",
	    req->query) == APP_OK)
		fuzz_check_envelope(&out, err, head);
	json_object_put(details);
	free(out.data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_header	 hdrs[FUZZ_MAX_HEADERS];
	struct http_request	 req;
	struct arena		*a;
	char			*text;
	uint32_t		 h = 2166136261u;
	size_t			 i;

	if ((a = arena_create(4096)) == NULL)
		return 0;
	/* The strings of a request stop at a NUL, as fcgi's do. */
	if ((text = arena_strndup(a, (const char *)data, size)) == NULL)
		goto out;
	memset(&req, 0, sizeof(req));
	req.arena = a;
	req.path = "/fuzz";
	req.route_index = -1;
	req.slot = -1;
	fuzz_request(a, text, &req, hdrs);
	fuzz_query(a, &req);
	fuzz_headers(a, &req);
	/* The error follows from the whole input (FNV-1a). */
	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	fuzz_error(&req, (enum app_err)(h % APP_ERR__MAX), (h >> 8) % 4 == 0);
out:
	arena_destroy(a);
	return 0;
}
