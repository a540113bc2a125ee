/*
 * quota.c: the daily message quota.
 *
 * One statement counts the message and refuses it past the limit: the
 * upsert's WHERE leaves the row alone when the day is used up, and then
 * returns nothing. Concurrent turns of one user serialise on the row, so
 * the count never passes the limit.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "db.h"
#include "http.h"
#include "quota.h"

#define QUOTA_DAY	86400

static long
quota_reset(void)
{
	time_t	now = time(NULL);

	return QUOTA_DAY - (long)(now % QUOTA_DAY);
}

enum app_err
quota_take(PGconn *c, const char *user_id, int limit, struct quota *q)
{
	static const char sql[] =
	    "INSERT INTO usage AS u (user_id, day, messages) "
	    "VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 1) "
	    "ON CONFLICT (user_id, day) DO UPDATE "
	    "SET messages = u.messages + 1 "
	    "WHERE $2::int = 0 OR u.messages < $2::int "
	    "RETURNING u.messages";
	const char	*p[2];
	char		 slimit[16];
	PGresult	*r;
	enum app_err	 e;
	long		 used;

	q->limit = limit;
	q->reset_s = quota_reset();
	q->remaining = 0;
	q->refused = false;
	snprintf(slimit, sizeof(slimit), "%d", limit);
	p[0] = user_id;
	p[1] = slimit;
	if ((e = db_query(c, sql, 2, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) != 1) {
		PQclear(r);
		q->refused = true;
		return APP_ERATE;
	}
	used = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (limit > 0)
		q->remaining = used >= limit ? 0 : (int)(limit - used);
	return APP_OK;
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
