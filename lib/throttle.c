/*
 * throttle.c: failed-login counts per username and per address.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app.h"
#include "arena.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "throttle.h"

char *
throttle_key(struct arena *ar, const char *username)
{
	unsigned char	 h[crypto_hash_sha256_BYTES];
	char		*lower;
	size_t		 i;

	if ((lower = arena_strdup(ar, username)) == NULL)
		return NULL;
	for (i = 0; lower[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	crypto_hash_sha256(h, (const unsigned char *)lower, i);
	return db_bytea(ar, h, sizeof(h));
}

/*
 * Runs a query whose one value is the seconds to wait, NULL when there is
 * no need; *retry_after gets them (at least 1), or 0.
 */
static enum app_err
throttle_wait(PGconn *conn, const char *sql, int n, const char *const *p,
    int *retry_after)
{
	PGresult	*r;
	enum app_err	 e;

	*retry_after = 0;
	if ((e = db_query(conn, sql, n, p, &r)) != APP_OK)
		return e;
	if (!PQgetisnull(r, 0, 0)) {
		*retry_after = atoi(PQgetvalue(r, 0, 0));
		if (*retry_after < 1)
			*retry_after = 1;
	}
	PQclear(r);
	return APP_OK;
}

enum app_err
throttle_check(struct http_request *req, PGconn *conn, const char *ukey,
    int *retry_after)
{
	/*
	 * For each of the two keys, the max-th newest failure in the window:
	 * once it leaves the window the count is below the limit.
	 */
	static const char sql[] =
	    "SELECT ceil(extract(epoch FROM greatest("
	    " (SELECT failed_at FROM login_failures WHERE username_hash = "
	    "  $1::bytea AND failed_at > now() - make_interval(secs => "
	    "  $3::int) ORDER BY failed_at DESC OFFSET $4::int - 1 LIMIT 1),"
	    " (SELECT failed_at FROM login_failures WHERE remote_addr = $2 "
	    "  AND failed_at > now() - make_interval(secs => $3::int) "
	    "  ORDER BY failed_at DESC OFFSET $4::int - 1 LIMIT 1)) "
	    " + make_interval(secs => $3::int) - now()))::int";
	const struct conf	*c = req->app->conf;
	const char		*p[4];
	char			 window[16], max[16];

	*retry_after = 0;
	if (c->login_max_failures == 0)
		return APP_OK;
	snprintf(window, sizeof(window), "%d", c->login_failure_window);
	snprintf(max, sizeof(max), "%d", c->login_max_failures);
	p[0] = ukey;
	p[1] = http_remote_addr(req);
	p[2] = window;
	p[3] = max;
	return throttle_wait(conn, sql, 4, p, retry_after);
}

/* The Retry-After header and the 429 envelope with `what'. */
static enum app_err
throttle_send(struct http_response *res, int retry_after, const char *what)
{
	char		 v[16];
	enum app_err	 e;

	snprintf(v, sizeof(v), "%d", retry_after);
	if ((e = http_add_header(res, "Retry-After", v)) != APP_OK)
		return e;
	(void)http_send_error(res, APP_ERATE, NULL, "%s; try again in %d "
	    "seconds", what, retry_after);
	return APP_ERATE;
}

enum app_err
throttle_refuse(struct http_response *res, int retry_after)
{
	return throttle_send(res, retry_after, "too many failed logins");
}

enum app_err
throttle_register_refuse(struct http_response *res, int retry_after)
{
	return throttle_send(res, retry_after,
	    "too many accounts created from this address");
}

enum app_err
throttle_register_check(struct http_request *req, PGconn *conn,
    int *retry_after)
{
	/* As for logins: the max-th newest registration within the hour. */
	static const char sql[] =
	    "SELECT ceil(extract(epoch FROM (SELECT created_at "
	    " FROM registrations WHERE remote_addr = $1 AND created_at > "
	    " now() - interval '1 hour' ORDER BY created_at DESC "
	    " OFFSET $2::int - 1 LIMIT 1) + interval '1 hour' - now()))::int";
	const struct conf	*c = req->app->conf;
	const char		*p[2];
	char			 max[16];

	*retry_after = 0;
	if (c->register_max_per_hour == 0)
		return APP_OK;
	snprintf(max, sizeof(max), "%d", c->register_max_per_hour);
	p[0] = http_remote_addr(req);
	p[1] = max;
	return throttle_wait(conn, sql, 2, p, retry_after);
}

enum app_err
throttle_register_record(struct http_request *req, PGconn *conn)
{
	const char	*p[1] = { http_remote_addr(req) };

	if (req->app->conf->register_max_per_hour == 0)
		return APP_OK;
	return db_exec(conn, "WITH expired AS (DELETE FROM registrations "
	    "WHERE created_at < now() - interval '1 hour') "
	    "INSERT INTO registrations (remote_addr) VALUES ($1)", 1, p);
}

enum app_err
throttle_record(struct http_request *req, const char *ukey)
{
	static const char sql[] =
	    "WITH expired AS (DELETE FROM login_failures WHERE failed_at < "
	    " now() - make_interval(secs => $3::int)) "
	    "INSERT INTO login_failures (username_hash, remote_addr) "
	    "VALUES ($1::bytea, $2)";
	const struct conf	*c = req->app->conf;
	const char		*p[3];
	char			 window[16];

	if (c->login_max_failures == 0)
		return APP_OK;
	snprintf(window, sizeof(window), "%d", c->login_failure_window);
	p[0] = ukey;
	p[1] = http_remote_addr(req);
	p[2] = window;
	return db_run(req->app->db, sql, 3, p, NULL);
}

enum app_err
throttle_forgive(PGconn *conn, const char *ukey)
{
	const char	*p[1] = { ukey };

	return db_exec(conn, "UPDATE login_failures SET username_hash = NULL "
	    "WHERE username_hash = $1::bytea", 1, p);
}
