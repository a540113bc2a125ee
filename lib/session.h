/*
 * session.h: sessions, one per sign-in, and their rotating refresh tokens
 * (table auth_sessions).
 *
 * A row per refresh token; the rows of one sign-in share a family_id,
 * which is the session's id and the "sid" of its access tokens. A refresh
 * spends the family's live token and adds the next one; a spent token
 * presented again revokes the family. Tokens are "rt_" + 32 random bytes
 * in base64url, kept only as their SHA-256.
 *
 * The functions taking a PGconn run inside the caller's transaction.
 */
#ifndef QUIPU_SESSION_H
#define QUIPU_SESSION_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "apperr.h"

struct arena;
struct http_request;
struct http_response;

#define SESSION_TOKEN_PREFIX	"rt_"
#define SESSION_TOKEN_BYTES	32
#define SESSION_TOKEN_LEN	(3 + 43)	/* prefix + base64url(32) */
#define SESSION_TOKEN_MAX	128		/* longer: refused unread */

/*
 * SQL: the session $2 (a family id) of user u.id is live: not revoked,
 * and its current token neither spent nor expired.
 */
#define SESSION_LIVE_SQL \
	"EXISTS (SELECT 1 FROM auth_sessions s WHERE s.family_id = $2 " \
	"AND s.user_id = u.id AND s.revoked_at IS NULL AND " \
	"s.spent_at IS NULL AND s.expires_at > now())"

/* What a refresh token's row says. */
struct session {
	const char	*id;
	const char	*user_id;
	const char	*family_id;
	bool		 spent;
	bool		 revoked;
	bool		 expired;
};

/* A fresh refresh token (arena), or NULL on ENOMEM. */
char		*session_new_token(struct arena *);
/* True when `t' has the shape of a refresh token we issue. */
bool		 session_token_shape(const char *t);
/*
 * Starts a session (a new family when `family' is NULL) for `user_id'
 * with refresh token `token'; its family id goes to *sid.
 */
enum app_err	 session_insert(struct http_request *, PGconn *,
		    const char *user_id, const char *family, const char *token,
		    const char **sid) MUSTCHECK;
/* The row of refresh token `token' (locked FOR UPDATE when `lock'). */
enum app_err	 session_find(struct http_request *, PGconn *,
		    const char *token, bool lock, struct session *,
		    bool *found) MUSTCHECK;
/* Revokes every live token of family `family' of `user_id'. */
enum app_err	 session_revoke(PGconn *, const char *family,
		    const char *user_id) MUSTCHECK;
/*
 * One refresh: spends `token' and adds `next' to its family, then reads
 * the user (*uid, *sid, *ujson as api_user()). When the token is refused,
 * *why says why and nothing is issued; a reused token has then revoked
 * its family (commit to keep that).
 */
enum app_err	 session_rotate(struct http_request *, PGconn *,
		    const char *token, const char *next, const char **uid,
		    const char **sid, const char **ujson, const char **why)
		    MUSTCHECK;

/* Routes (ROUTE_AUTH): GET /api/v1/auth/sessions, DELETE .../{id}. */
enum app_err	 session_list(struct http_request *, struct http_response *);
enum app_err	 session_delete(struct http_request *, struct http_response *);

#endif
