/*
 * request.c: FastCGI params and stdin to struct http_request, and the
 * FastCGI stdout stream as a struct http_transport.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "arena.h"
#include "conf.h"
#include "http.h"
#include "request.h"

static int	request_write(void *, const char *, size_t);
static int	request_flush(void *);
static bool	request_closed(void *);
static int	request_fd(void *);

const struct http_transport request_transport = {
	request_write,
	request_flush,
	request_closed,
	request_fd
};

static int
request_write(void *ctx, const char *buf, size_t len)
{
	struct request_io	*io = ctx;
	int			 n;

	if (io->failed)
		return -1;
	/* FCGX_PutStr takes an int: feed it in pieces. */
	while (len > 0) {
		n = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len;
		if (FCGX_PutStr(buf, n, io->fr->out) != n) {
			io->failed = true;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
request_flush(void *ctx)
{
	struct request_io	*io = ctx;

	if (io->failed)
		return -1;
	if (FCGX_FFlush(io->fr->out) == -1 || FCGX_GetError(io->fr->out)) {
		io->failed = true;
		return -1;
	}
	return 0;
}

/*
 * A hang-up shows on the connection before any write fails: nginx closes
 * its upstream connection when the client leaves.
 */
static bool
request_closed(void *ctx)
{
	struct request_io	*io = ctx;
	struct pollfd		 pfd;

	if (io->failed)
		return true;
	if (io->fr->ipcFd < 0)
		return true;
	pfd.fd = io->fr->ipcFd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static int
request_fd(void *ctx)
{
	struct request_io	*io = ctx;

	return io->failed ? -1 : io->fr->ipcFd;
}

/* "HTTP_X_FOO_BAR" -> "x-foo-bar" in the arena. */
static char *
request_header_name(struct arena *a, const char *p, size_t len)
{
	char	*s;
	size_t	 i;

	if ((s = arena_strndup(a, p, len)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		s[i] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
	return s;
}

static int
request_add_header(struct http_request *req, struct arena *a,
    const char *name, size_t namelen, const char *value)
{
	struct http_header	*h = &req->headers[req->nheaders];

	if ((h->name = request_header_name(a, name, namelen)) == NULL ||
	    (h->value = arena_strdup(a, value)) == NULL)
		return -1;
	req->nheaders++;
	return 0;
}

/*
 * Headers: HTTP_* params, CONTENT_TYPE and CONTENT_LENGTH, and nginx's
 * REQUEST_ID as "x-request-id" in place of the client's own.
 */
static enum app_err
request_headers(struct http_request *req, struct arena *a, char **envp)
{
	const char	*rid;
	char		**e, *eq;
	size_t		 n = 0;
	int		 rc = 0;

	for (e = envp; e != NULL && *e != NULL; e++)
		n++;
	if ((req->headers = arena_calloc(a, n + 1,
	    sizeof(*req->headers))) == NULL)
		return APP_ENOMEM;
	rid = FCGX_GetParam("REQUEST_ID", envp);
	if (rid != NULL && rid[0] == '\0')
		rid = NULL;
	for (e = envp; e != NULL && *e != NULL && rc == 0; e++) {
		if ((eq = strchr(*e, '=')) == NULL)
			continue;
		if (strncmp(*e, "HTTP_", 5) == 0 && eq - *e > 5) {
			if (rid != NULL &&
			    strncmp(*e, "HTTP_X_REQUEST_ID=", 18) == 0)
				continue;
			rc = request_add_header(req, a, *e + 5,
			    (size_t)(eq - *e - 5), eq + 1);
		} else if (strncmp(*e, "CONTENT_TYPE=", 13) == 0 ||
		    strncmp(*e, "CONTENT_LENGTH=", 15) == 0) {
			if (eq[1] != '\0')
				rc = request_add_header(req, a, *e,
				    (size_t)(eq - *e), eq + 1);
		} else if (rid != NULL &&
		    strncmp(*e, "REQUEST_ID=", 11) == 0)
			rc = request_add_header(req, a, "X_REQUEST_ID", 12,
			    rid);
	}
	return rc == 0 ? APP_OK : APP_ENOMEM;
}

/* Reads and drops at most `len' bytes of stdin. */
static void
request_discard(FCGX_Request *fr, long len)
{
	char	 buf[8192];
	int	 n;

	if (len > REQUEST_DISCARD_MAX)
		len = REQUEST_DISCARD_MAX;
	while (len > 0) {
		n = FCGX_GetStr(buf, len > (long)sizeof(buf) ?
		    (int)sizeof(buf) : (int)len, fr->in);
		if (n <= 0)
			break;
		len -= n;
	}
}

static enum app_err
request_body(struct http_request *req, struct arena *a, FCGX_Request *fr,
    const struct conf *conf)
{
	const char	*cl;
	char		*end, *buf;
	long		 len, got = 0;
	int		 n;

	req->body_max = app_body_max(conf, req);
	cl = FCGX_GetParam("CONTENT_LENGTH", fr->envp);
	if (cl == NULL || cl[0] == '\0')
		return APP_OK;
	errno = 0;
	len = strtol(cl, &end, 10);
	if (errno || *end != '\0' || len < 0)
		return APP_OK;	/* app_handle sees no body */
	if (len > req->body_max) {
		req->body_too_large = true;
		request_discard(fr, len);
		return APP_OK;
	}
	if ((buf = arena_alloc(a, (size_t)len + 1)) == NULL)
		return APP_ENOMEM;
	while (got < len) {
		n = FCGX_GetStr(buf + got, (int)(len - got), fr->in);
		if (n <= 0)
			return APP_EHUP;
		got += n;
	}
	buf[len] = '\0';
	req->body = buf;
	req->body_len = (size_t)len;
	return APP_OK;
}

/* A param copied into the arena, `def' when absent. NULL on ENOMEM. */
static const char *
request_param(struct arena *a, FCGX_Request *fr, const char *name,
    const char *def)
{
	const char	*v;

	if ((v = FCGX_GetParam(name, fr->envp)) == NULL)
		v = def;
	return arena_strdup(a, v);
}

enum app_err
request_fill(struct http_request *req, struct arena *a, FCGX_Request *fr,
    const struct conf *conf)
{
	const char	*uri, *q;
	enum app_err	 rc;

	req->arena = a;
	req->route_index = -1;
	if ((req->method = request_param(a, fr, "REQUEST_METHOD", "GET")) ==
	    NULL ||
	    (req->query = request_param(a, fr, "QUERY_STRING", "")) == NULL ||
	    (req->remote_addr = request_param(a, fr, "REMOTE_ADDR", "")) ==
	    NULL)
		return APP_ENOMEM;
	uri = FCGX_GetParam("REQUEST_URI", fr->envp);
	if (uri == NULL || uri[0] == '\0')
		uri = FCGX_GetParam("DOCUMENT_URI", fr->envp);
	if (uri == NULL || uri[0] == '\0')
		uri = "/";
	q = strchr(uri, '?');
	req->path = q == NULL ? arena_strdup(a, uri) :
	    arena_strndup(a, uri, (size_t)(q - uri));
	if (req->path == NULL)
		return APP_ENOMEM;
	if ((rc = request_headers(req, a, fr->envp)) != APP_OK)
		return rc;
	/* nginx's fastcgi_params: "HTTPS $https if_not_empty" ("on"). */
	q = FCGX_GetParam("HTTPS", fr->envp);
	req->https = q != NULL && strcasecmp(q, "on") == 0;
	if ((req->server_port = request_param(a, fr, "SERVER_PORT", "")) ==
	    NULL)
		return APP_ENOMEM;
	return request_body(req, a, fr, conf);
}
