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
/* More passed sockets than this is not a socket unit of ours. */
#define SD_LISTEN_FDS_MAX	64

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
static long
listen_env_long(const char *name)
{
	const char	*v;
	char		*end;
	long		 n;

	if ((v = getenv(name)) == NULL || v[0] == '\0')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || *end != '\0' ? -1 : n;
}

/*
 * We serve one socket: any further ones systemd passed would only leak
 * into every worker, so they are closed.
 */
static int
listen_systemd(char *err, size_t errlen)
{
	long	 n, i;
	int	 fd = -1;

	if (listen_env_long("LISTEN_PID") != (long)getpid() ||
	    (n = listen_env_long("LISTEN_FDS")) < 1)
		return -1;
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	if (n > SD_LISTEN_FDS_MAX) {
		snprintf(err, errlen, "LISTEN_FDS=%ld: too many sockets", n);
		return -2;
	}
	for (i = 1; i < n; i++)
		(void)close(SD_LISTEN_FDS_START + (int)i);
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

/*
 * True when a server accepts on the socket at `path' (PHP-FPM's check):
 * then it is not stale, and unlinking it would silently cut that server
 * off. Only a refused connection proves the file stale.
 */
static int
listen_unix_in_use(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	int	 fd, rc, saved;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	saved = errno;
	(void)close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s is in use by a running server",
		    sun->sun_path);
		return -1;
	}
	if (saved != ECONNREFUSED) {
		snprintf(err, errlen, "connect %s: %s", sun->sun_path,
		    strerror(saved));
		return -1;
	}
	return 0;
}

/* Removes a stale socket file, but nothing that is not a socket. */
static int
listen_unlink_stale(const struct sockaddr_un *sun, char *err,
    size_t errlen)
{
	const char	*path = sun->sun_path;
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
	if (listen_unix_in_use(sun, err, errlen) == -1)
		return -1;
	if (unlink(path) == -1) {
		snprintf(err, errlen, "unlink %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* listen_mode as the umask that bind(2) applies; 0600 by default. */
static int
listen_unix_umask(const struct conf *c, mode_t *mask, char *err,
    size_t errlen)
{
	char	*end;
	long	 mode;

	*mask = 0177;
	if (c->listen_mode == NULL || c->listen_mode[0] == '\0')
		return 0;
	errno = 0;
	mode = strtol(c->listen_mode, &end, 8);
	if (errno || *end != '\0' || mode < 0 || mode > 0777) {
		snprintf(err, errlen, "listen_mode \"%s\" is not an octal "
		    "mode of at most 0777", c->listen_mode);
		return -1;
	}
	*mask = (mode_t)(~mode & 0777);
	return 0;
}

/*
 * chown to user/group when root. lchown: the directory may belong to
 * that user, who could have swapped the socket for a symlink by now.
 */
static int
listen_unix_owner(const struct conf *c, const char *path, char *err,
    size_t errlen)
{
	unsigned	 uid, gid;

	if (geteuid() != 0 || c->user == NULL || c->user[0] == '\0')
		return 0;
	if (privdrop_lookup(c->user, c->group, &uid, &gid, err, errlen) == -1)
		return -1;
	if (lchown(path, (uid_t)uid, (gid_t)gid) == -1) {
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
	mode_t			 old, mask;
	int			 fd = -1, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "listen path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (listen_unix_umask(c, &mask, err, errlen) == -1 ||
	    listen_unlink_stale(&sun, err, errlen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* The mode is right from the start: no chmod on a path later. */
	old = umask(mask);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (rc == -1) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	if (listen_unix_owner(c, path, err, errlen) == -1)
		goto unlink;
	if (listen(fd, c->listen_backlog) == -1) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		goto unlink;
	}
	return fd;
unlink:
	(void)unlink(path);
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

static int
listen_inherited(char *err, size_t errlen)
{
	if (listen_cloexec(0) == -1) {
		snprintf(err, errlen, "fcntl fd 0: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* `src' is set on success only: a failure leaves nothing to unlink. */
int
listen_open(const struct conf *c, enum listen_source *src, char *err,
    size_t errlen)
{
	enum listen_source	 s;
	int			 fd;

	if ((fd = listen_systemd(err, errlen)) >= 0)
		s = LISTEN_SYSTEMD;
	else if (fd == -2)
		return -1;
	else if (listen_is_listening(0)) {
		s = LISTEN_INHERITED;
		fd = listen_inherited(err, errlen);
	} else if (c->listen == NULL || c->listen[0] == '\0') {
		snprintf(err, errlen, "no socket inherited and listen is "
		    "empty");
		return -1;
	} else if (strchr(c->listen, '/') != NULL) {
		s = LISTEN_UNIX;
		fd = listen_unix(c, err, errlen);
	} else {
		s = LISTEN_TCP;
		fd = listen_tcp(c, err, errlen);
	}
	if (fd != -1)
		*src = s;
	return fd;
}
