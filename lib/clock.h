/*
 * clock.h: the two clocks quipu reads, and how it writes a time.
 *
 * Durations, deadlines and the scoreboard use CLOCK_MONOTONIC, which never
 * jumps; what a person reads (logs, JSON) is CLOCK_REALTIME in RFC 3339.
 */
#ifndef QUIPU_CLOCK_H
#define QUIPU_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CLOCK_RFC3339_LEN	32	/* buffer for clock_rfc3339() */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t	 clock_now_ns(void);
/*
 * Formats `ts' (CLOCK_REALTIME) as "2026-11-22T10:30:00.123Z", always with
 * milliseconds (truncated), into buf and returns buf. A time gmtime cannot
 * represent gives "1970-01-01T00:00:00.000Z".
 */
char		*clock_rfc3339(char buf[CLOCK_RFC3339_LEN], struct timespec ts);
/* clock_rfc3339 of the current CLOCK_REALTIME. */
char		*clock_now_rfc3339(char buf[CLOCK_RFC3339_LEN]);

#endif
