/*
 * request.h: the binding of one libfcgi request to lib/http.h.
 *
 * This is the only file that looks inside an FCGX_Request.
 */
#ifndef QUIPU_REQUEST_H
#define QUIPU_REQUEST_H

#include <stdbool.h>

#include <fcgiapp.h>

#include "apperr.h"

struct arena;
struct conf;
struct http_request;
struct http_transport;

/* Discarding an oversized body stops after this many bytes. */
#define REQUEST_DISCARD_MAX	(64L * 1024 * 1024)

/* The transport context of one request; lives on the acceptor's stack. */
struct request_io {
	FCGX_Request	*fr;
	bool		 failed;	/* a write failed: the peer is gone */
};

extern const struct http_transport	request_transport;

/*
 * Copies every parameter of `fr' into `req' (strings in `a'), since
 * libfcgi frees them at FCGX_Finish_r, and reads the body: up to
 * app_body_max() bytes (req->body_max), else sets body_too_large and
 * discards it.
 * APP_ENOMEM when the arena is exhausted; APP_EHUP when the body cannot
 * be read in full.
 */
enum app_err	request_fill(struct http_request *req, struct arena *a,
		    FCGX_Request *fr, const struct conf *conf) MUSTCHECK;

#endif
