/*
 * quota.h: the daily message quota (messages_per_day per user, per UTC
 * day), kept in PostgreSQL's usage table so that every worker and every
 * machine counts the same, and its headers.
 */
#ifndef QUIPU_QUOTA_H
#define QUIPU_QUOTA_H

#include <stdbool.h>

#include "apperr.h"

struct http_response;

struct quota {
	int	limit;		/* 0: no quota */
	int	remaining;	/* after this message */
	long	reset_s;	/* seconds until the day ends (UTC) */
	bool	refused;	/* the day's messages are used up */
};

/*
 * Fills `q' for a limit (0: none) of which `used' are counted today;
 * `refused' when this message was not counted. The counting itself is
 * part of the statement that starts a turn (threads_turn_begin), so that
 * a turn starts in one round trip.
 */
void		 quota_set(struct quota *, int limit, long used, bool refused);
/*
 * RateLimit-Policy and RateLimit headers (draft-ietf-httpapi-ratelimit-
 * headers), and Retry-After for a refusal. Nothing for no quota.
 */
enum app_err	 quota_headers(struct http_response *, const struct quota *)
		    MUSTCHECK;

#endif
