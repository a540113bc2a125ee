/*
 * auth.h: accounts, sessions and the caller of every request.
 *
 * Routes (API.md "Auth", doc/api.md "Authentication"): register, login,
 * refresh, logout, GET and PATCH /me (the sessions: session.h). For the other modules: the route
 * flags ROUTE_AUTH and ROUTE_USER_PATH make app_handle() call
 * auth_require() or auth_require_path_user() before their handler runs,
 * so a handler of a protected route always finds req->user_id set.
 *
 * Passwords: argon2id (password.h), never with a PostgreSQL connection
 * held. Access tokens: HS256 JWT (jwt.h), verified without a database
 * round trip. Refresh tokens: random, stored as SHA-256, rotated on each
 * use, a reused one revoking its whole family. Login throttling per
 * username and per address, kept in PostgreSQL.
 */
#ifndef QUIPU_AUTH_H
#define QUIPU_AUTH_H

#include "apperr.h"

struct auth;
struct conf;
struct cors;
struct http_request;
struct http_response;

#define AUTH_ACCESS_COOKIE	"quipu_access"
#define AUTH_REFRESH_COOKIE	"quipu_refresh"
#define AUTH_COOKIE_PATH	"/api/v1/auth"

/*
 * The per-process auth state: keys, the password gate. `cors' is
 * borrowed and must outlive it.
 */
enum app_err	 auth_create(const struct conf *, const struct cors *,
		    struct auth **out) MUSTCHECK;
void		 auth_free(struct auth *);

/*
 * The caller of `req': the bearer token, else the access cookie (which
 * then must pass the Origin check for unsafe methods). On APP_OK sets
 * req->user_id and req->session_id. Otherwise it has answered 401 (with
 * WWW-Authenticate) or 403, and returns that error: the handler returns it.
 */
enum app_err	 auth_require(struct http_request *, struct http_response *)
		    MUSTCHECK;
/*
 * auth_require(), then the rule for "/api/{user_id}/..." routes: the first
 * path parameter must be the caller's id (else 403, nothing read); it is
 * then dropped from req->params, so the handler sees the same parameters
 * as on the "/api/v1/..." route.
 */
enum app_err	 auth_require_path_user(struct http_request *,
		    struct http_response *) MUSTCHECK;

/* Route handlers. */
enum app_err	 auth_register(struct http_request *, struct http_response *);
enum app_err	 auth_login(struct http_request *, struct http_response *);
enum app_err	 auth_refresh(struct http_request *, struct http_response *);
enum app_err	 auth_logout(struct http_request *, struct http_response *);
enum app_err	 auth_me(struct http_request *, struct http_response *);
enum app_err	 auth_me_patch(struct http_request *, struct http_response *);

#endif
