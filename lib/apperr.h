/*
 * apperr.h: the error vocabulary of libquipu.
 *
 * Library and domain functions return an enum app_err; APP_OK is zero.
 * One table maps each value to the HTTP status and the error code of the
 * JSON envelope (API.md "Conventions"), so the two never drift apart.
 */
#ifndef QUIPU_APPERR_H
#define QUIPU_APPERR_H

#define MUSTCHECK __attribute__((warn_unused_result))

enum app_err {
	APP_OK = 0,
	APP_ENOMEM,		/* 500 internal: out of memory */
	APP_EINVAL,		/* 400 bad_request: malformed input */
	APP_EVALIDATION,	/* 422 validation_failed: wrong type or bounds */
	APP_EAUTH,		/* 401 unauthorized */
	APP_EFORBIDDEN,		/* 403 forbidden */
	APP_ENOTFOUND,		/* 404 not_found */
	APP_EMETHOD,		/* 405 method_not_allowed */
	APP_ECONFLICT,		/* 409 conflict */
	APP_ETOOBIG,		/* 413 payload_too_large */
	APP_EMEDIA,		/* 415 unsupported_media_type */
	APP_ERATE,		/* 429 rate_limited */
	APP_EUPSTREAM,		/* 502 upstream_error */
	APP_EUNAVAIL,		/* 503 unavailable */
	APP_EDB,		/* 503 unavailable: database down or failing */
	APP_ETIMEOUT,		/* 503 unavailable: a deadline passed */
	APP_EHUP,		/* the client went away: not an error to log */
	APP_EINTERNAL,		/* 500 internal */
	APP_ERETRY,		/* serialization failure or deadlock: retry */
	APP_ERR__MAX
};

/* The HTTP status for an error (200 for APP_OK). */
int		 app_err_status(enum app_err);
/* The envelope's "code", e.g. "not_found". Never NULL. */
const char	*app_err_code(enum app_err);
/* A short human sentence, e.g. "not found". Never NULL. */
const char	*app_strerror(enum app_err);
/* The reason phrase for an HTTP status, e.g. "Not Found". Never NULL. */
const char	*http_reason(int status);

#endif
