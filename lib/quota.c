/*
 * quota.c: the daily message quota's figures and headers.
 *
 * The count is an upsert in the statement that starts a turn
 * (lib/threads.c): its WHERE leaves the row alone when the day is used
 * up, and then returns nothing. Concurrent turns of one user serialise on
 * the row only for that one statement, so the count never passes the
 * limit and never holds a pooled connection while it waits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http.h"
#include "quota.h"

#define QUOTA_DAY	86400

static long
quota_reset(void)
{
	time_t	now = time(NULL);

	return QUOTA_DAY - (long)(now % QUOTA_DAY);
}

void
quota_set(struct quota *q, int limit, long used, bool refused)
{
	q->limit = limit;
	q->reset_s = quota_reset();
	q->refused = refused;
	q->remaining = limit > 0 && used < limit ? (int)(limit - used) : 0;
}

enum app_err
quota_headers(struct http_response *res, const struct quota *q)
{
	char		 v[96];
	enum app_err	 e;

	if (q->limit <= 0)
		return APP_OK;
	snprintf(v, sizeof(v), "\"messages\";q=%d;w=%d", q->limit, QUOTA_DAY);
	if ((e = http_add_header(res, "RateLimit-Policy", v)) != APP_OK)
		return e;
	snprintf(v, sizeof(v), "\"messages\";r=%d;t=%ld", q->remaining,
	    q->reset_s);
	if ((e = http_add_header(res, "RateLimit", v)) != APP_OK)
		return e;
	if (q->refused) {
		snprintf(v, sizeof(v), "%ld", q->reset_s);
		return http_add_header(res, "Retry-After", v);
	}
	return APP_OK;
}
