/*
 * apperr.c: the one table from app_err to HTTP status, code and text.
 */
#include "config.h"

#include <stddef.h>

#include "apperr.h"

struct app_err_info {
	int		 status;
	const char	*code;
	const char	*text;
};

static const struct app_err_info app_errs[APP_ERR__MAX] = {
	[APP_OK] =		{ 200, "ok", "ok" },
	[APP_ENOMEM] =		{ 500, "internal", "internal error" },
	[APP_EINVAL] =		{ 400, "bad_request", "bad request" },
	[APP_EVALIDATION] =	{ 422, "validation_failed", "validation failed" },
	[APP_EAUTH] =		{ 401, "unauthorized", "authentication required" },
	[APP_EFORBIDDEN] =	{ 403, "forbidden", "forbidden" },
	[APP_ENOTFOUND] =	{ 404, "not_found", "not found" },
	[APP_EMETHOD] =		{ 405, "method_not_allowed", "method not allowed" },
	[APP_ECONFLICT] =	{ 409, "conflict", "conflict" },
	[APP_ETOOBIG] =		{ 413, "payload_too_large", "request body too large" },
	[APP_EMEDIA] =		{ 415, "unsupported_media_type",
				    "Content-Type must be application/json" },
	[APP_ERATE] =		{ 429, "rate_limited", "too many requests" },
	[APP_EUPSTREAM] =	{ 502, "upstream_error", "the language model failed" },
	[APP_EUNAVAIL] =	{ 503, "unavailable", "service unavailable" },
	[APP_EDB] =		{ 503, "unavailable", "database unavailable" },
	[APP_ETIMEOUT] =	{ 503, "unavailable", "the request took too long" },
	[APP_EHUP] =		{ 499, "client_closed", "client closed the connection" },
	[APP_EINTERNAL] =	{ 500, "internal", "internal error" },
	[APP_ERETRY] =		{ 503, "unavailable", "please retry" },
};

static const struct app_err_info *
app_err_info(enum app_err e)
{
	if ((int)e < 0 || e >= APP_ERR__MAX || app_errs[e].code == NULL)
		return &app_errs[APP_EINTERNAL];
	return &app_errs[e];
}

int
app_err_status(enum app_err e)
{
	return app_err_info(e)->status;
}

const char *
app_err_code(enum app_err e)
{
	return app_err_info(e)->code;
}

const char *
app_strerror(enum app_err e)
{
	return app_err_info(e)->text;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 499: return "Client Closed Request";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}
