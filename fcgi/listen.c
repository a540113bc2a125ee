/*
 * listen.c: obtain the listening socket.
 *
 * The fd is close-on-exec: workers are forked, never exec'd, so they
 * still see it, and nothing we might exec inherits it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "listen.h"
#include "privdrop.h"

#define SD_LISTEN_FDS_START	3

const char *
listen_source_name(enum listen_source s)
{
	switch (s) {
	case LISTEN_SYSTEMD:
		return "systemd socket activation";
	case LISTEN_INHERITED:
		return "inherited socket on fd 0";
	case LISTEN_UNIX:
		return "unix socket";
	case LISTEN_TCP:
		return "tcp socket";
	}
	return "?";
}

static int
listen_is_listening(int fd)
{
	int		 on = 0;
	socklen_t	 len = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1)
		return 0;
	return on != 0;
}

static int
listen_cloexec(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/*
 * systemd passes sockets from fd 3 on when LISTEN_PID is our pid. The
 * variables are unset so that nothing we start takes them for its own.
 */
static int
listen_systemd(char *err, size_t errlen)
{
	const char	*pid, *fds;
	int		 fd = -1;

	pid = getenv("LISTEN_PID");
	fds = getenv("LISTEN_FDS");
	if (pid == NULL || fds == NULL ||
	    strtol(pid, NULL, 10) != (long)getpid() || atoi(fds) < 1)
		return -1;
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	if (!listen_is_listening(SD_LISTEN_FDS_START)) {
		snprintf(err, errlen, "LISTEN_FDS is set but fd %d is not a "
		    "listening socket", SD_LISTEN_FDS_START);
		return -2;
	}
	fd = SD_LISTEN_FDS_START;
	if (listen_cloexec(fd) == -1) {
		snprintf(err, errlen, "fcntl fd %d: %s", fd, strerror(errno));
		return -2;
	}
	return fd;
}

/* Removes a stale socket file, but nothing that is not a socket. */
static int
listen_unlink_stale(const char *path, char *err, size_t errlen)
{
	struct stat	 st;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	if (unlink(path) == -1) {
		snprintf(err, errlen, "unlink %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* chmod to listen_mode, chown to user/group when root. */
static int
listen_unix_perms(const struct conf *c, const char *path, char *err,
    size_t errlen)
{
	char		*end;
	long		 mode;
	unsigned	 uid, gid;

	if (c->listen_mode != NULL && c->listen_mode[0] != '\0') {
		errno = 0;
		mode = strtol(c->listen_mode, &end, 8);
		if (errno || *end != '\0' || mode < 0 || mode > 07777) {
			snprintf(err, errlen, "listen_mode \"%s\" is not an "
			    "octal mode", c->listen_mode);
			return -1;
		}
		if (chmod(path, (mode_t)mode) == -1) {
			snprintf(err, errlen, "chmod %s: %s", path,
			    strerror(errno));
			return -1;
		}
	}
	if (geteuid() != 0 || c->user == NULL || c->user[0] == '\0')
		return 0;
	if (privdrop_lookup(c->user, c->group, &uid, &gid, err, errlen) == -1)
		return -1;
	if (chown(path, (uid_t)uid, (gid_t)gid) == -1) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
listen_unix(const struct conf *c, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	const char		*path = c->listen;
	mode_t			 old;
	int			 fd = -1, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "listen path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (listen_unlink_stale(path, err, errlen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Nobody may connect before the mode below is in place. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (rc == -1) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (listen_unix_perms(c, path, err, errlen) == -1)
		goto fail;
	if (listen(fd, c->listen_backlog) == -1) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Splits "host:port" ("[v6]:port" too) into static buffers. */
static int
listen_split(const char *s, char *host, size_t hostlen, const char **port)
{
	const char	*colon, *h = s;
	size_t		 len;

	if ((colon = strrchr(s, ':')) == NULL || colon[1] == '\0')
		return -1;
	len = (size_t)(colon - s);
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		h = s + 1;
		len -= 2;
	}
	if (len >= hostlen)
		return -1;
	memcpy(host, h, len);
	host[len] = '\0';
	*port = colon + 1;
	return 0;
}

static int
listen_tcp(const struct conf *c, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	const char	*port;
	char		 host[256];
	int		 fd = -1, on = 1, rc, saved = 0;

	if (listen_split(c->listen, host, sizeof(host), &port) == -1) {
		snprintf(err, errlen, "listen \"%s\" is neither a path nor "
		    "host:port", c->listen);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res))) {
		snprintf(err, errlen, "listen %s: %s", c->listen,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, c->listen_backlog) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errlen, "bind %s: %s", c->listen,
		    strerror(saved ? saved : EADDRNOTAVAIL));
	return fd;
}

int
listen_open(const struct conf *c, enum listen_source *src, char *err,
    size_t errlen)
{
	int	 fd;

	if ((fd = listen_systemd(err, errlen)) >= 0) {
		*src = LISTEN_SYSTEMD;
		return fd;
	} else if (fd == -2)
		return -1;
	if (listen_is_listening(0)) {
		*src = LISTEN_INHERITED;
		return 0;
	}
	if (c->listen == NULL || c->listen[0] == '\0') {
		snprintf(err, errlen, "no socket inherited and listen is "
		    "empty");
		return -1;
	}
	if (strchr(c->listen, '/') != NULL) {
		*src = LISTEN_UNIX;
		return listen_unix(c, err, errlen);
	}
	*src = LISTEN_TCP;
	return listen_tcp(c, err, errlen);
}
