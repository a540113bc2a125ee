/*
 * cors.h: the allowed origins (allowed_origins), and the two rules that
 * use them.
 *
 *  - CORS: an answer to an allowed Origin carries Access-Control-Allow-*
 *    headers, with credentials; a preflight from an allowed origin is 204,
 *    from any other 403. Other origins get no CORS headers at all.
 *  - Cross-site request forgery: a request authenticated by a cookie with
 *    an unsafe method must come from an allowed origin (Origin, else the
 *    origin of Referer). Bearer tokens never ride along on their own, so
 *    they need no such check.
 *
 * Origins are compared as browsers send them, "scheme://host[:port]",
 * without regard to case.
 */
#ifndef QUIPU_CORS_H
#define QUIPU_CORS_H

#include <stdbool.h>

#include "apperr.h"

struct cors;
struct http_request;
struct http_response;

/* Parses the space-separated list (checked by conf already). */
enum app_err	 cors_create(const char *allowed_origins, struct cors **out)
		    MUSTCHECK;
void		 cors_free(struct cors *);

/* True when `origin' (NULL allowed) is one of the allowed origins. */
bool		 cors_allowed(const struct cors *, const char *origin);

/* Adds the CORS headers to `res' when the request's Origin is allowed. */
enum app_err	 cors_headers(const struct cors *, const struct http_request *,
		    struct http_response *) MUSTCHECK;

/*
 * Answers an OPTIONS request for a path whose methods are `allow' ("GET,
 * POST"): a CORS preflight (204 with the Access-Control-Allow-* headers,
 * or 403 from an origin not allowed), or a plain OPTIONS (204 + Allow).
 */
enum app_err	 cors_options(const struct cors *, struct http_request *,
		    struct http_response *, const char *allow) MUSTCHECK;

/* True for POST, PUT, PATCH and DELETE (and any method not known safe). */
bool		 cors_unsafe_method(const char *method);

/*
 * The forgery check for a cookie-authenticated request: APP_OK when the
 * method is safe or the request names an allowed origin in Origin (or,
 * without Origin, in Referer), else APP_EFORBIDDEN with *why a sentence.
 */
enum app_err	 cors_check_origin(const struct cors *,
		    const struct http_request *, const char **why) MUSTCHECK;

#endif
