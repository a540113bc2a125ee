/*
 * notify.c: the sd_notify protocol is one datagram to the unix socket
 * named by NOTIFY_SOCKET ('@' for the abstract namespace); that is all
 * we need of libsystemd.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "notify.h"

int
notify_send(const char *msg)
{
	struct sockaddr_un	 sun;
	const char		*path;
	socklen_t		 len;
	size_t			 plen;
	ssize_t			 n;
	int			 fd = -1, rc = -1;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || path[0] == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		goto out;
	n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	if (n == -1)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

int
notify_ready(void)
{
	char	 buf[64];

	snprintf(buf, sizeof(buf), "READY=1\nMAINPID=%ld", (long)getpid());
	return notify_send(buf);
}

int
notify_reloading(void)
{
	char	 buf[80];

	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)(clock_now_ns() / 1000));
	return notify_send(buf);
}

int
notify_stopping(void)
{
	return notify_send("STOPPING=1");
}

unsigned long long
notify_watchdog_usec(void)
{
	const char		*usec, *pid;
	char			*end;
	unsigned long long	 n;
	long			 p;

	if ((usec = getenv("WATCHDOG_USEC")) == NULL || usec[0] == '\0')
		return 0;
	if ((pid = getenv("WATCHDOG_PID")) != NULL && pid[0] != '\0') {
		errno = 0;
		p = strtol(pid, &end, 10);
		if (errno || *end != '\0' || p != (long)getpid())
			return 0;
	}
	errno = 0;
	n = strtoull(usec, &end, 10);
	/* Nonsense or beyond a day (and its nanoseconds overflow): off. */
	if (errno || *end != '\0' || usec[0] == '-' || n == 0 ||
	    n > 86400ull * 1000000ull)
		return 0;
	return n;
}

int
notify_watchdog(void)
{
	return notify_send("WATCHDOG=1");
}

int
notify_status(const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[256];

	memcpy(buf, "STATUS=", 7);
	va_start(ap, fmt);
	vsnprintf(buf + 7, sizeof(buf) - 7, fmt, ap);
	va_end(ap);
	return notify_send(buf);
}
