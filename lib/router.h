/*
 * router.h: a static route table matched on method and path.
 *
 * Patterns are literal segments and {name} parameters, one per segment:
 * "/api/v1/tasks/{id}". A parameter matches one non-empty segment; its
 * raw (still percent-encoded) text goes to req->params in order.
 */
#ifndef QUIPU_ROUTER_H
#define QUIPU_ROUTER_H

#include <stddef.h>

#include "apperr.h"

struct http_request;
struct http_response;

typedef enum app_err (*http_handler)(struct http_request *,
    struct http_response *);

#define ROUTE_TEST	0x01	/* exists only when test_routes = on */
#define ROUTE_AUTH	0x02	/* needs the caller: auth_require() first */
#define ROUTE_USER_PATH	0x04	/* "/api/{user_id}/...": auth_require_path_user() */
#define ROUTE_ANY_BODY	0x08	/* takes a body of any type (an upload) */

struct route {
	const char	*method;
	const char	*pattern;
	http_handler	 handler;
	const char	*name;		/* stable, for logs and metrics */
	unsigned	 flags;
};

enum router_match {
	ROUTER_FOUND,
	ROUTER_NOT_FOUND,
	ROUTER_BAD_METHOD	/* path exists with other methods */
};

/*
 * Matches req->method and req->path against `n' routes. On ROUTER_FOUND,
 * *out is the route, its index is stored in req->route_index and the path
 * parameters in req->params. On ROUTER_BAD_METHOD, `allow' receives the
 * methods of the path, comma separated ("GET, POST"), HEAD implied by GET.
 * A HEAD request matches a GET route.
 */
enum router_match router_match(const struct route *, size_t n,
		    struct http_request *req, const struct route **out,
		    char *allow, size_t allowlen);

#endif
