/*
 * quota.h: the daily message quota (messages_per_day per user, per UTC
 * day), kept in PostgreSQL's usage table so that every worker and every
 * machine counts the same.
 */
#ifndef QUIPU_QUOTA_H
#define QUIPU_QUOTA_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "apperr.h"

struct http_response;

struct quota {
	int	limit;		/* 0: no quota */
	int	remaining;	/* after this message */
	long	reset_s;	/* seconds until the day ends (UTC) */
	bool	refused;	/* the day's messages are used up */
};

/*
 * Counts one message for the user today, inside the caller's
 * transaction, unless `limit' are already counted: then APP_ERATE and
 * nothing changes. `limit' 0 counts without a limit.
 */
enum app_err	 quota_take(PGconn *, const char *user_id, int limit,
		    struct quota *) MUSTCHECK;
/*
 * RateLimit-Policy and RateLimit headers (draft-ietf-httpapi-ratelimit-
 * headers), and Retry-After for a refusal. Nothing for no quota.
 */
enum app_err	 quota_headers(struct http_response *, const struct quota *)
		    MUSTCHECK;

#endif
