/*
 * clock.c: monotonic time and RFC 3339 formatting.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "clock.h"

uint64_t
clock_now_ns(void)
{
	struct timespec	 ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

char *
clock_rfc3339(char buf[CLOCK_RFC3339_LEN], struct timespec ts)
{
	struct tm	 tm;
	long		 ms;
	int		 n;

	ms = (ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L) ?
	    ts.tv_nsec / 1000000L : 0;
	if (gmtime_r(&ts.tv_sec, &tm) == NULL || tm.tm_year + 1900 < 0 ||
	    tm.tm_year + 1900 > 9999)
		goto epoch;
	n = snprintf(buf, CLOCK_RFC3339_LEN,
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	if (n > 0 && n < CLOCK_RFC3339_LEN)
		return buf;
epoch:
	(void)snprintf(buf, CLOCK_RFC3339_LEN, "1970-01-01T00:00:00.000Z");
	return buf;
}

char *
clock_now_rfc3339(char buf[CLOCK_RFC3339_LEN])
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return clock_rfc3339(buf, ts);
}
