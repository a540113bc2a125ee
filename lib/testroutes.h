/*
 * testroutes.h: routes that exist only for the test suites and
 * benchmarks. Their entries in app_routes carry ROUTE_TEST, so app_handle
 * answers 404 (exactly like an unknown route) unless the configuration
 * sets test_routes = on. Never enable them in production.
 */
#ifndef QUIPU_TESTROUTES_H
#define QUIPU_TESTROUTES_H

#include "apperr.h"

struct http_request;
struct http_response;

/* GET /api/v1/_test/stream?n=N&interval_ms=M: N "tick" events, M ms apart. */
enum app_err	 testroute_stream(struct http_request *, struct http_response *);
/* GET /api/v1/_test/sleep?ms=M: waits M ms, then 200 {"slept_ms":M}. */
enum app_err	 testroute_sleep(struct http_request *, struct http_response *);
/* POST /api/v1/_test/echo: a JSON body, answered back as {"echo":body}. */
enum app_err	 testroute_echo(struct http_request *, struct http_response *);
/*
 * GET|POST /api/v1/_test/whoami and /api/{user_id}/_test/whoami (the
 * routes carry ROUTE_AUTH / ROUTE_USER_PATH): {"user_id","session_id"}.
 */
enum app_err	 testroute_whoami(struct http_request *, struct http_response *);

#endif
