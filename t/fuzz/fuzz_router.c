/*
 * fuzz_router.c: arbitrary methods and paths through router_match().
 *
 * The input is "METHOD PATH": everything before the first space (or
 * newline) is the method, the rest the path (both stop at a NUL, as the
 * strings from libfcgi do). It is matched against the real app_routes
 * table and against a table of parameter patterns (app_routes has none
 * yet), with allow buffers of several sizes, 0 and 1 byte included. The
 * target aborts when a promise of router.h is broken:
 *  - ROUTER_FOUND gives out == &routes[req->route_index], a route of the
 *    same method (or GET for HEAD), and parameters that, put back into
 *    the pattern, give the path exactly; each is non-empty and has no '/';
 *  - ROUTER_BAD_METHOD lists (in a buffer large enough) only methods the
 *    request did not use;
 *  - the allow buffer is always NUL-terminated within its size.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "arena.h"
#include "http.h"
#include "router.h"

const char	fuzz_name[] = "router";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Parameter patterns in the shape API.md uses; the last has too many. */
static const struct route param_routes[] = {
	{ "GET", "/api/v1/tasks", NULL, "tasks.list", 0 },
	{ "POST", "/api/v1/tasks", NULL, "tasks.create", 0 },
	{ "GET", "/api/v1/tasks/{id}", NULL, "tasks.get", 0 },
	{ "PATCH", "/api/v1/tasks/{id}", NULL, "tasks.update", 0 },
	{ "DELETE", "/api/v1/tasks/{id}", NULL, "tasks.delete", 0 },
	{ "GET", "/api/v1/threads/{id}/messages/{mid}", NULL, "msg.get", 0 },
	{ "POST", "/{a}/{b}/{c}/{d}", NULL, "four", 0 },
	{ "PUT", "/{a}/{b}/{c}/{d}/{e}", NULL, "five", 0 },
	{ "GET", "/x/{id}.json", NULL, "suffix", 0 },
};

static const size_t	allow_sizes[] = { 128, 0, 1, 5, 12 };

/* Puts the parameters back into the pattern and compares with the path. */
static void
fuzz_check_found(const struct route *r, const struct http_request *req)
{
	const char	*p = r->pattern, *s = req->path, *pe;
	size_t		 k = 0, len;

	if (strcmp(r->method, req->method) != 0 &&
	    !(strcmp(req->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
		abort();
	if (req->nparams > HTTP_MAX_PATH_PARAMS)
		abort();
	while (*p != '\0') {
		if (*p != '{') {
			if (*p++ != *s++)
				abort();
			continue;
		}
		if (k >= req->nparams || (pe = strchr(p, '}')) == NULL)
			abort();
		len = strlen(req->params[k]);
		if (len == 0 || strchr(req->params[k], '/') != NULL ||
		    strncmp(s, req->params[k], len) != 0)
			abort();
		s += len;
		p = pe + 1;
		k++;
	}
	if (*s != '\0' || k != req->nparams)
		abort();
}

/* `method' must not appear as a whole item of the Allow list. */
static void
fuzz_check_allow(const char *allow, const char *method)
{
	const char	*p = allow;
	size_t		 n = strlen(method);

	/* strstr() finds "" everywhere, even on the terminating NUL. */
	if (n == 0)
		return;
	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ','))
			abort();
		p++;
	}
}

static void
fuzz_match(struct arena *a, const struct route *routes, size_t n,
    const char *method, const char *path, size_t allowlen)
{
	struct http_request	 req;
	const struct route	*r = NULL;
	char			*allow = NULL;
	enum router_match	 m;

	memset(&req, 0, sizeof(req));
	req.arena = a;
	req.method = method;
	req.path = path;
	req.query = "";
	/* Exactly allowlen bytes, so ASan sees any write past it. */
	if (allowlen > 0 && (allow = malloc(allowlen)) == NULL)
		return;
	m = router_match(routes, n, &req, &r, allow, allowlen);
	if (allowlen > 0 && memchr(allow, '\0', allowlen) == NULL)
		abort();
	switch (m) {
	case ROUTER_FOUND:
		if (r == NULL || req.route_index < 0 ||
		    (size_t)req.route_index >= n || r != &routes[req.route_index])
			abort();
		fuzz_check_found(r, &req);
		break;
	case ROUTER_BAD_METHOD:
		if (r != NULL || req.route_index != -1)
			abort();
		/* A short buffer holds a truncated list: check only 128. */
		if (allowlen >= 128 && allow[0] == '\0')
			abort();
		if (allowlen >= 128)
			fuzz_check_allow(allow, method);
		break;
	case ROUTER_NOT_FOUND:
		if (r != NULL || req.route_index != -1)
			abort();
		break;
	default:
		abort();
	}
	free(allow);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena	*a;
	const char	*buf = (const char *)data, *sep;
	char		*method, *path;
	size_t		 mlen, i;

	if ((a = arena_create(1024)) == NULL)
		return 0;
	sep = memchr(buf, ' ', size);
	if (sep == NULL)
		sep = memchr(buf, '\n', size);
	mlen = sep ? (size_t)(sep - buf) : size;
	/* Copies of exactly their length, NUL-terminated like fcgi's. */
	method = arena_strndup(a, buf, mlen);
	path = sep ? arena_strndup(a, sep + 1, size - mlen - 1) :
	    arena_strdup(a, "");
	if (method == NULL || path == NULL)
		goto out;
	for (i = 0; i < sizeof(allow_sizes) / sizeof(allow_sizes[0]); i++) {
		fuzz_match(a, app_routes, app_nroutes, method, path,
		    allow_sizes[i]);
		fuzz_match(a, param_routes, sizeof(param_routes) /
		    sizeof(param_routes[0]), method, path, allow_sizes[i]);
	}
out:
	arena_destroy(a);
	return 0;
}
