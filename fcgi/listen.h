/*
 * listen.h: the one listening socket that every worker accepts on.
 */
#ifndef QUIPU_LISTEN_H
#define QUIPU_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

struct conf;

enum listen_source {
	LISTEN_SYSTEMD,		/* LISTEN_FDS: fd 3 */
	LISTEN_INHERITED,	/* spawn-fcgi: a listening socket on fd 0 */
	LISTEN_UNIX,		/* bound by us to a path */
	LISTEN_TCP		/* bound by us to host:port */
};

/*
 * Obtains the socket, in this order: systemd socket activation, a
 * listening socket on fd 0, else binds conf->listen (a path with '/' is
 * a unix socket, anything else host:port). Returns the fd, or -1 with a
 * sentence in `err'.
 */
int	listen_open(const struct conf *, enum listen_source *,
	    char *err, size_t errlen);

/* "systemd socket activation", "inherited fd 0", ... */
const char *listen_source_name(enum listen_source);

#endif
