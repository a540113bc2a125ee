/*
 * http.h: a transport-neutral HTTP request and response.
 *
 * fcgi/request.c fills a struct http_request from libfcgi and supplies a
 * struct http_transport that writes to the FastCGI stdout stream; the unit
 * tests supply one that writes to memory. Handlers see only this file, so
 * every module is testable without FastCGI or nginx.
 *
 * All strings in a request live in its arena and are valid until the
 * request ends. Header names are lower case ("content-type", "accept").
 */
#ifndef QUIPU_HTTP_H
#define QUIPU_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apperr.h"

struct arena;
struct app;
struct json_object;

#define HTTP_MAX_PATH_PARAMS	4

struct http_header {
	const char	*name;		/* lower case */
	const char	*value;
};

struct http_request {
	struct arena		*arena;
	struct app		*app;		/* the process's shared state */
	const char		*method;	/* "GET" */
	const char		*path;		/* "/api/v1/tasks/7", no query */
	const char		*query;		/* raw, without '?'; "" if none */
	const char		*remote_addr;	/* "" if unknown */
	const char		*request_id;	/* always set by app_handle() */
	const char		*body;		/* NUL-terminated copy, or NULL */
	size_t			 body_len;
	bool			 body_too_large;	/* over body_max: answer 413 */
	/*
	 * The body limit that applied: max_body, or attachment_max for a
	 * ChatKit attachment upload (fcgi/request.c); 0 when unset (tests).
	 */
	long			 body_max;
	/*
	 * Where the client reached nginx, for absolute URLs (ChatKit
	 * attachments): over TLS (FastCGI param HTTPS=on), and the port
	 * (SERVER_PORT; "" if unknown), which Debian's fastcgi_params leave
	 * out of HTTP_HOST.
	 */
	bool			 https;
	const char		*server_port;
	struct http_header	*headers;
	size_t			 nheaders;
	/* Filled by the router. */
	const char		*route;		/* route name for logs/metrics */
	int			 route_index;	/* -1 when nothing matched */
	const char		*params[HTTP_MAX_PATH_PARAMS];
	size_t			 nparams;
	/* Filled by auth_require(): the caller and session, or NULL. */
	const char		*user_id;
	const char		*session_id;
	/* Monotonic nanoseconds at accept. */
	uint64_t		 start_ns;
	/* Scoreboard slot of the serving thread, or -1. */
	int			 slot;
	/*
	 * Work was queued for after the answer (a turn's extraction): the
	 * serving thread runs app_background() once the client has it all.
	 */
	bool			 background;
};

/*
 * How the response leaves the process. write() returns 0, or -1 when the
 * peer has gone (later writes are then no-ops); flush() likewise.
 * closed() probes for a disconnect without writing (may be NULL). fd()
 * is the connection's descriptor, which turns readable when the peer
 * leaves, or -1 (may be NULL).
 */
struct http_transport {
	int	(*write)(void *ctx, const char *buf, size_t len);
	int	(*flush)(void *ctx);
	bool	(*closed)(void *ctx);
	int	(*fd)(void *ctx);
};

struct http_response {
	const struct http_transport	*tp;
	void				*tp_ctx;
	struct http_request		*req;
	int				 status;	/* 200 until set */
	struct http_header		*headers;
	size_t				 nheaders;
	size_t				 cap;
	bool				 headers_sent;
	bool				 gone;		/* a write failed */
	uint64_t			 bytes;		/* body bytes written */
};

/* Request side. */
const char	*http_header_get(const struct http_request *, const char *name);
/* Decoded value of a query parameter (arena), or NULL when absent. */
const char	*http_query_get(const struct http_request *, const char *key);
/*
 * Query parameter `key' (the first if repeated): APP_OK with *out the
 * decoded text, or NULL when absent; APP_EINVAL when its escapes are bad
 * or decode to a NUL; APP_ENOMEM.
 */
enum app_err	 http_query_param(const struct http_request *, const char *key,
		    const char **out) MUSTCHECK;
/* Percent-decode into the arena; NULL on bad escapes or embedded NUL. */
char		*http_urldecode(struct arena *, const char *, size_t len);
/*
 * The value of cookie `name' from the Cookie header (arena copy, as sent:
 * not decoded), or NULL. The first of several with the name wins.
 */
const char	*http_cookie_get(const struct http_request *, const char *name);
/* The client's address as nginx saw it, or "unknown". */
const char	*http_remote_addr(const struct http_request *);
/* True when the Content-Type is application/json (any parameters). */
bool		 http_is_json(const struct http_request *);
/* True when the Accept header asks for text/event-stream. */
bool		 http_wants_sse(const struct http_request *);

/* Response side. */
void		 http_response_init(struct http_response *, struct http_request *,
		    const struct http_transport *, void *tp_ctx);
void		 http_set_status(struct http_response *, int status);
/* Adds (never replaces) a header; it is sent with the header block. */
enum app_err	 http_add_header(struct http_response *, const char *name,
		    const char *value) MUSTCHECK;
/* Sends the header block if not yet sent, then the bytes. */
enum app_err	 http_write(struct http_response *, const char *, size_t);
enum app_err	 http_flush(struct http_response *);
/* Makes sure the header block went out (for empty bodies). */
enum app_err	 http_finish(struct http_response *);
/* True once a write failed or the transport reports a disconnect. */
bool		 http_client_gone(struct http_response *);
/*
 * A descriptor that turns readable when the client leaves (to wait on
 * alongside other work; http_client_gone() tells a real departure from
 * other input), or -1.
 */
int		 http_client_fd(struct http_response *);

/*
 * Writes `body' (borrowed) as a complete JSON response with Content-Length.
 */
enum app_err	 http_send_json_str(struct http_response *, int status,
		    const char *body, size_t len);
/* Serialises and writes `obj'; the caller keeps its reference. */
enum app_err	 http_send_json(struct http_response *, int status,
		    struct json_object *obj);
/*
 * Writes the error envelope {"error":{"code","message","request_id",
 * "details"?}} with the status of `err'. `details' is borrowed and may be
 * NULL; `fmt' NULL means app_strerror(err). A 500 never carries detail.
 */
enum app_err	 http_send_error(struct http_response *, enum app_err err,
		    struct json_object *details, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* 204 No Content. */
enum app_err	 http_send_empty(struct http_response *, int status);

/*
 * The routes on one object by id (/tasks/{id}, /memories/{id}) share
 * these two. Both answer a refusal themselves and still return its
 * error, which the handler passes up: nothing more is sent then.
 */
/*
 * The id of the first path parameter as `parse' reads it, or a 404
 * "<what> <param> not found" answered and APP_ENOTFOUND returned.
 */
enum app_err	 http_path_id(struct http_request *, struct http_response *,
		    const char *what, bool (*parse)(const char *, int64_t *),
		    int64_t *id) MUSTCHECK;
/*
 * Answers the outcome `e' of a C API call on object <what> `id':
 * APP_ENOTFOUND a 404 "<what> <id> not found"; another error is returned
 * unanswered (for app_dispatch()); success `json' (borrowed) with
 * `status', or an empty `status' when `json' is NULL.
 */
enum app_err	 http_send_outcome(struct http_response *, enum app_err e,
		    const char *what, int64_t id, int status, const char *json);

#endif
