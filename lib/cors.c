/*
 * cors.c: allowed origins, CORS headers and preflights, and the Origin
 * check for cookie-authenticated writes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cors.h"
#include "http.h"

#define CORS_MAX_AGE		"600"
#define CORS_ALLOW_HEADERS	"Authorization, Content-Type, Accept, " \
				"X-Request-Id, Last-Event-ID"
#define CORS_EXPOSE_HEADERS	"X-Request-Id, Retry-After, Location, " \
				"RateLimit-Limit, RateLimit-Remaining, " \
				"RateLimit-Reset"

struct cors {
	char	**origins;	/* each "scheme://host[:port]" */
	size_t	  norigins;
	char	 *text;		/* the words point into this copy */
};

enum app_err
cors_create(const char *list, struct cors **out)
{
	struct cors	*c;
	char		*p, *w;
	size_t		 words = 0;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return APP_ENOMEM;
	if ((c->text = strdup(list)) == NULL)
		goto nomem;
	for (p = c->text; *p != '\0'; p++)
		if (*p != ' ' && *p != '\t' && (p == c->text ||
		    p[-1] == ' ' || p[-1] == '\t'))
			words++;
	if (words > 0 && (c->origins = calloc(words,
	    sizeof(*c->origins))) == NULL)
		goto nomem;
	p = c->text;
	while ((w = strsep(&p, " \t")) != NULL)
		if (*w != '\0')
			c->origins[c->norigins++] = w;
	*out = c;
	return APP_OK;
nomem:
	cors_free(c);
	return APP_ENOMEM;
}

void
cors_free(struct cors *c)
{
	if (c == NULL)
		return;
	free(c->origins);
	free(c->text);
	free(c);
}

/* Whether origin[0..len) is allowed. */
static bool
cors_allowed_len(const struct cors *c, const char *origin, size_t len)
{
	size_t	 i;

	for (i = 0; i < c->norigins; i++)
		if (strlen(c->origins[i]) == len &&
		    strncasecmp(c->origins[i], origin, len) == 0)
			return true;
	return false;
}

bool
cors_allowed(const struct cors *c, const char *origin)
{
	if (origin == NULL)
		return false;
	return cors_allowed_len(c, origin, strlen(origin));
}

enum app_err
cors_headers(const struct cors *c, const struct http_request *req,
    struct http_response *res)
{
	const char	*origin = http_header_get(req, "origin");
	enum app_err	 e;

	if (c->norigins == 0)
		return APP_OK;
	/* The answer depends on Origin: caches must key on it. */
	if ((e = http_add_header(res, "Vary", "Origin")) != APP_OK)
		return e;
	if (!cors_allowed(c, origin))
		return APP_OK;
	if ((e = http_add_header(res, "Access-Control-Allow-Origin",
	    origin)) != APP_OK ||
	    (e = http_add_header(res, "Access-Control-Allow-Credentials",
	    "true")) != APP_OK)
		return e;
	if (strcmp(req->method, "OPTIONS") == 0)
		return APP_OK;
	return http_add_header(res, "Access-Control-Expose-Headers",
	    CORS_EXPOSE_HEADERS);
}

enum app_err
cors_options(const struct cors *c, struct http_request *req,
    struct http_response *res, const char *allow)
{
	const char	*origin = http_header_get(req, "origin");
	const char	*want = http_header_get(req,
			    "access-control-request-method");
	char		 methods[160];
	enum app_err	 e;

	snprintf(methods, sizeof(methods), "%s, OPTIONS", allow);
	if (origin == NULL || want == NULL) {
		if ((e = http_add_header(res, "Allow", methods)) != APP_OK)
			return e;
		return http_send_empty(res, 204);
	}
	if (!cors_allowed(c, origin))
		return http_send_error(res, APP_EFORBIDDEN, NULL,
		    "origin %s is not allowed", origin);
	if ((e = http_add_header(res, "Access-Control-Allow-Methods",
	    methods)) != APP_OK ||
	    (e = http_add_header(res, "Access-Control-Allow-Headers",
	    CORS_ALLOW_HEADERS)) != APP_OK ||
	    (e = http_add_header(res, "Access-Control-Max-Age",
	    CORS_MAX_AGE)) != APP_OK)
		return e;
	return http_send_empty(res, 204);
}

bool
cors_unsafe_method(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 &&
	    strcmp(m, "OPTIONS") != 0;
}

/* The length of the "scheme://host[:port]" prefix of a URL, or 0. */
static size_t
cors_url_origin_len(const char *url)
{
	const char	*p = strstr(url, "://");

	if (p == NULL || p == url)
		return 0;
	p += 3;
	p += strcspn(p, "/?#");
	return (size_t)(p - url);
}

enum app_err
cors_check_origin(const struct cors *c, const struct http_request *req,
    const char **why)
{
	const char	*origin, *referer;
	size_t		 n;

	*why = NULL;
	if (!cors_unsafe_method(req->method))
		return APP_OK;
	if ((origin = http_header_get(req, "origin")) != NULL) {
		if (cors_allowed(c, origin))
			return APP_OK;
		*why = "cross-site request refused: Origin is not allowed";
		return APP_EFORBIDDEN;
	}
	if ((referer = http_header_get(req, "referer")) != NULL &&
	    (n = cors_url_origin_len(referer)) > 0 &&
	    cors_allowed_len(c, referer, n))
		return APP_OK;
	*why = "cross-site request refused: a cookie-authenticated write "
	    "needs an allowed Origin";
	return APP_EFORBIDDEN;
}
