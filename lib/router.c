/*
 * router.c: match a method and path against a static route table.
 *
 * Routes are few (tens), so a linear scan segment by segment is both the
 * simplest and, at this size, as fast as anything cleverer.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "http.h"
#include "router.h"

/*
 * Matches `path' against `pattern'. On success stores up to
 * HTTP_MAX_PATH_PARAMS parameter spans (start, length) and their count.
 */
static bool
router_path_match(const char *pattern, const char *path,
    const char **pstart, size_t *plen, size_t *np)
{
	const char	*p = pattern, *s = path;
	size_t		 n = 0;

	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			size_t len = strcspn(s, "/");

			if (pe == NULL || len == 0 || n == HTTP_MAX_PATH_PARAMS)
				return false;
			pstart[n] = s;
			plen[n++] = len;
			p = pe + 1;
			s += len;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	if (*p != '\0' || *s != '\0')
		return false;
	*np = n;
	return true;
}

static void
router_allow_add(char *allow, size_t len, const char *method)
{
	size_t	 used = strlen(allow);

	/* Each method once ("GET" routes may repeat across patterns). */
	if (strstr(allow, method) != NULL)
		return;
	snprintf(allow + used, len - used, "%s%s", used ? ", " : "", method);
}

enum router_match
router_match(const struct route *routes, size_t n, struct http_request *req,
    const struct route **out, char *allow, size_t allowlen)
{
	const char	*pstart[HTTP_MAX_PATH_PARAMS];
	size_t		 plen[HTTP_MAX_PATH_PARAMS], np, i, j;
	bool		 path_seen = false, head;

	*out = NULL;
	req->route_index = -1;
	if (allowlen > 0)
		allow[0] = '\0';
	head = strcmp(req->method, "HEAD") == 0;
	for (i = 0; i < n; i++) {
		const struct route *r = &routes[i];
		bool same;

		if (!router_path_match(r->pattern, req->path, pstart, plen, &np))
			continue;
		same = strcmp(r->method, req->method) == 0 ||
		    (head && strcmp(r->method, "GET") == 0);
		if (!same) {
			path_seen = true;
			if (allowlen > 0) {
				router_allow_add(allow, allowlen, r->method);
				if (strcmp(r->method, "GET") == 0)
					router_allow_add(allow, allowlen, "HEAD");
			}
			continue;
		}
		for (j = 0; j < np; j++) {
			char *v = arena_strndup(req->arena, pstart[j], plen[j]);

			if (v == NULL)
				return ROUTER_NOT_FOUND;
			req->params[j] = v;
		}
		req->nparams = np;
		req->route_index = (int)i;
		req->route = r->name;
		*out = r;
		return ROUTER_FOUND;
	}
	return path_seen ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}
