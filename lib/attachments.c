/*
 * attachments.c: ChatKit attachments: the rows, the upload and preview
 * routes, and what the model is shown of them.
 *
 * Secrets. The upload token exists in clear only in attachments.create's
 * answer and in the upload URL; the row keeps its SHA-256, cleared by the
 * upload. An image's preview URL carries a token of its own (its hash
 * kept likewise): the URL is stored in the messages that show the image,
 * so it must outlive any key rotation, and deleting the file voids it.
 * Neither is logged: quipu's access log has the path without the query,
 * and nginx/locations.conf keeps these URLs out of nginx's access log.
 *
 * Bytes go to and come from PostgreSQL as binary parameters and results:
 * bytea as hex text would double every file in memory, both ways.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "app.h"
#include "arena.h"
#include "attachments.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "jsonx.h"
#include "log.h"
#include "threads.h"

#define ATT_PREFIX	"atc_"
#define ATT_ROUTE	"/api/chatkit/attachments/"
#define ATT_B64		sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define ATT_TOKEN_BYTES	32
#define ATT_TOKEN_LEN	sodium_base64_ENCODED_LEN(ATT_TOKEN_BYTES, ATT_B64)
#define ATT_ESSENCE	(ATTACHMENT_MIME_MAX + 1)
#define ATT_BOUNDARY	70		/* RFC 2046 */
#define ATT_HEADER_MAX	1024		/* a part's Content-Disposition */

/* The images ChatKit shows a preview of, and the model may be sent. */
static const char *const att_images[] = {
	"image/png", "image/jpeg", "image/gif", "image/webp", NULL
};

/* One attachment as the client sees it. */
struct att_row {
	const char	*id;
	const char	*name;
	const char	*mime_type;
	const char	*preview_url;	/* NULL: none (files) */
};

/* ------------------------------------------------------------ checks */

/* "atc_" and 16 base32 characters, as threads_new_id() makes them. */
static bool
att_id_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || strncmp(s, ATT_PREFIX, 4) != 0 || strlen(s) !=
	    ATTACHMENT_ID_SIZE - 1)
		return false;
	for (i = 4; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '2' && s[i] <= '7')))
			return false;
	return true;
}

/* An RFC 9110 token character. */
static bool
att_tchar(int c)
{
	return c != '\0' && (isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) !=
	    NULL);
}

/*
 * "type/subtype", then optionally parameters after ';' in printable
 * ASCII: it is sent back as a Content-Type header, so nothing in it may
 * break a header line.
 */
static bool
att_mime_ok(const char *m)
{
	size_t	 i = 0, j, n = strlen(m);

	if (n == 0 || n > ATTACHMENT_MIME_MAX)
		return false;
	while (att_tchar((unsigned char)m[i]))
		i++;
	if (i == 0 || m[i] != '/')
		return false;
	j = ++i;
	while (att_tchar((unsigned char)m[i]))
		i++;
	if (i == j)
		return false;
	while (m[i] == ' ')
		i++;
	if (m[i] == '\0')
		return true;
	if (m[i] != ';')
		return false;
	for (; m[i] != '\0'; i++)
		if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] >= 0x7f)
			return false;
	return true;
}

/* 1 to 255 characters of UTF-8 and no control characters. */
static bool
att_name_ok(const char *name)
{
	size_t	 i, n = strlen(name), chars;

	if (n == 0 || !utf8_valid(name, n))
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	chars = utf8_len(name);
	return chars >= 1 && chars <= ATTACHMENT_NAME_MAX;
}

/* The type without parameters, lower case: "image/png". */
static void
att_essence(const char *mime, char out[ATT_ESSENCE])
{
	size_t	 i;

	for (i = 0; i < ATT_ESSENCE - 1 && mime[i] != '\0' && mime[i] != ';' &&
	    mime[i] != ' '; i++)
		out[i] = (char)tolower((unsigned char)mime[i]);
	out[i] = '\0';
}

static bool
att_is_image(const char *mime)
{
	char	 e[ATT_ESSENCE];
	size_t	 i;

	att_essence(mime, e);
	for (i = 0; att_images[i] != NULL; i++)
		if (strcmp(e, att_images[i]) == 0)
			return true;
	return false;
}

static bool
att_ends_with(const char *s, const char *suffix)
{
	size_t	 n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/*
 * A file the model can read as text, if its bytes are UTF-8: text/...,
 * JSON, CSV, markdown; or one a browser could not type
 * (application/octet-stream) whose name says it is one of those.
 */
static bool
att_is_text(const char *mime, const char *name)
{
	static const char *const types[] = { "application/json",
	    "application/csv", "application/x-csv", "application/markdown",
	    "application/x-markdown", "application/x-ndjson", NULL };
	static const char *const exts[] = { ".txt", ".md", ".markdown",
	    ".csv", ".json", NULL };
	char	 e[ATT_ESSENCE];
	size_t	 i;

	att_essence(mime, e);
	if (strncmp(e, "text/", 5) == 0)
		return true;
	for (i = 0; types[i] != NULL; i++)
		if (strcmp(e, types[i]) == 0)
			return true;
	if (strcmp(e, "application/octet-stream") != 0)
		return false;
	for (i = 0; exts[i] != NULL; i++)
		if (att_ends_with(name, exts[i]))
			return true;
	return false;
}

/* ------------------------------------------------------------ tokens */

/* A fresh token (base64url) and its SHA-256, which is stored. */
static void
att_token(char token[ATT_TOKEN_LEN],
    unsigned char hash[crypto_hash_sha256_BYTES])
{
	unsigned char	 raw[ATT_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, ATT_TOKEN_LEN, raw, sizeof(raw), ATT_B64);
	sodium_memzero(raw, sizeof(raw));
	crypto_hash_sha256(hash, (const unsigned char *)token, strlen(token));
}

/* ------------------------------------------------------------ URLs and JSON */

/* A Host header fit to go into a URL: a name or address and a port. */
static bool
att_host_ok(const char *h)
{
	size_t	 i;

	if (h == NULL || h[0] == '\0' || strlen(h) > 255)
		return false;
	for (i = 0; h[i] != '\0'; i++)
		if (!isalnum((unsigned char)h[i]) && strchr(".-:[]", h[i]) ==
		    NULL)
			return false;
	return true;
}

/* The first element of X-Forwarded-Proto is "https". */
static bool
att_forwarded_https(const char *p)
{
	return p != NULL && strncasecmp(p, "https", 5) == 0 &&
	    (p[5] == '\0' || p[5] == ',' || p[5] == ' ');
}

/* Whether a Host value ends in a port ("[::1]:8080", "h:80"). */
static bool
att_host_has_port(const char *h)
{
	const char	*colon = strrchr(h, ':'), *bracket = strrchr(h, ']');

	return colon != NULL && (bracket == NULL || colon > bracket);
}

/*
 * The port to add to a Host without one: nginx's own (SERVER_PORT) when
 * it is not the scheme's default, since Debian's fastcgi_params pass
 * $host, which drops the port. Not behind another proxy (which said
 * X-Forwarded-Proto): nginx's port means nothing to the browser there.
 */
static const char *
att_port(const struct http_request *req, const char *host, bool tls,
    bool proxied)
{
	const char	*p = req->server_port;
	size_t		 i;

	if (proxied || att_host_has_port(host) || p == NULL || p[0] == '\0' ||
	    strlen(p) > 5 || strcmp(p, tls ? "443" : "80") == 0)
		return NULL;
	for (i = 0; p[i] != '\0'; i++)
		if (p[i] < '0' || p[i] > '9')
			return NULL;
	return p;
}

/*
 * What the URLs start with: public_url, else the scheme and Host of the
 * request, else "" (a URL relative to the page). NULL on ENOMEM.
 */
static const char *
att_base(struct http_request *req)
{
	const struct conf	*c = req->app->conf;
	const char		*host, *proto, *port;
	size_t			 n;
	bool			 tls;

	if (c->public_url != NULL && c->public_url[0] != '\0') {
		n = strlen(c->public_url);
		while (n > 0 && c->public_url[n - 1] == '/')
			n--;
		return arena_strndup(req->arena, c->public_url, n);
	}
	host = http_header_get(req, "host");
	if (!att_host_ok(host))
		return "";
	proto = http_header_get(req, "x-forwarded-proto");
	tls = req->https || att_forwarded_https(proto);
	port = att_port(req, host, tls, proto != NULL);
	return arena_printf(req->arena, "%s://%s%s%s", tls ? "https" : "http",
	    host, port != NULL ? ":" : "", port != NULL ? port : "");
}

static int
att_add(struct arena *ar, struct arena_str *b, const char *s)
{
	return arena_str_add(ar, b, s, strlen(s));
}

static int
att_quote(struct arena *ar, struct arena_str *b, const char *s)
{
	return jsonx_str_quote(ar, b, s, strlen(s));
}

/*
 * The Attachment object: with `thread_id' and `upload_url' when they are
 * not NULL. NULL on ENOMEM.
 */
static char *
att_json(struct arena *ar, const struct att_row *r, const char *thread_id,
    const char *upload_url)
{
	struct arena_str	 b;
	bool			 image = att_is_image(r->mime_type);

	memset(&b, 0, sizeof(b));
	if (att_add(ar, &b, "{\"id\":") == -1 || att_quote(ar, &b, r->id) ==
	    -1 || att_add(ar, &b, ",\"name\":") == -1 ||
	    att_quote(ar, &b, r->name) == -1 ||
	    att_add(ar, &b, ",\"mime_type\":") == -1 ||
	    att_quote(ar, &b, r->mime_type) == -1 ||
	    att_add(ar, &b, image ? ",\"type\":\"image\"" :
	    ",\"type\":\"file\"") == -1)
		return NULL;
	if (image && r->preview_url != NULL && (att_add(ar, &b,
	    ",\"preview_url\":") == -1 || att_quote(ar, &b,
	    r->preview_url) == -1))
		return NULL;
	if (thread_id != NULL && (att_add(ar, &b, ",\"thread_id\":") == -1 ||
	    att_quote(ar, &b, thread_id) == -1))
		return NULL;
	if (upload_url != NULL && (att_add(ar, &b,
	    ",\"upload_descriptor\":{\"url\":") == -1 ||
	    att_quote(ar, &b, upload_url) == -1 || att_add(ar, &b,
	    ",\"method\":\"PUT\",\"headers\":{}}") == -1))
		return NULL;
	if (att_add(ar, &b, "}") == -1)
		return NULL;
	return b.p;
}

/*
 * The distinct well-formed ids of `ids' as a PostgreSQL array literal
 * (the characters of an id need no quoting there), and in *uniq their
 * list (arena, *nuniq long). *bad: the first malformed id, or NULL.
 * NULL on ENOMEM.
 */
static char *
att_id_array(struct arena *ar, const char *const *ids, size_t n,
    const char ***uniq, size_t *nuniq, const char **bad)
{
	struct arena_str	 b;
	size_t			 i, j;

	*bad = NULL;
	*nuniq = 0;
	if ((*uniq = arena_calloc(ar, n + 1, sizeof(**uniq))) == NULL)
		return NULL;
	memset(&b, 0, sizeof(b));
	if (att_add(ar, &b, "{") == -1)
		return NULL;
	for (i = 0; i < n; i++) {
		if (!att_id_ok(ids[i])) {
			if (*bad == NULL)
				*bad = ids[i] != NULL ? ids[i] : "";
			continue;
		}
		for (j = 0; j < *nuniq; j++)
			if (strcmp((*uniq)[j], ids[i]) == 0)
				break;
		if (j < *nuniq)
			continue;
		if ((*nuniq > 0 && att_add(ar, &b, ",") == -1) ||
		    att_add(ar, &b, ids[i]) == -1)
			return NULL;
		(*uniq)[(*nuniq)++] = ids[i];
	}
	if (att_add(ar, &b, "}") == -1)
		return NULL;
	return b.p;
}

/* ------------------------------------------------------------ SQL */

/*
 * One statement with some binary parameters (formats[i] 1) and, with
 * `binary', a binary result. Errors map as db_query's do.
 */
static enum app_err
att_exec(struct db_pool *pool, const char *sql, int n,
    const char *const *values, const int *lengths, const int *formats,
    bool binary, PGresult **out)
{
	PGconn		*conn;
	PGresult	*r;
	const char	*st;
	enum app_err	 e;

	if (out != NULL)
		*out = NULL;
	if ((e = db_acquire(pool, &conn)) != APP_OK)
		return e;
	r = PQexecParams(conn, sql, n, NULL, values, lengths, formats,
	    binary ? 1 : 0);
	if ((e = db_result_err(conn, r)) != APP_OK) {
		st = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		if (app_err_status(e) >= 500)
			log_warnx("attachments: statement failed (SQLSTATE %s)",
			    st != NULL ? st : "none");
		PQclear(r);
	} else if (out != NULL)
		*out = r;
	else
		PQclear(r);
	db_release(pool, conn);
	return e;
}

/* A value of a result in either format, copied (NUL-terminated). */
static const char *
att_value(struct arena *ar, const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return arena_strndup(ar, PQgetvalue(r, row, col),
	    (size_t)PQgetlength(r, row, col));
}

static const char att_insert_sql[] =
    "INSERT INTO attachments (id, user_id, name, mime_type, size, "
    "upload_hash, preview_url, preview_hash) VALUES ($1, $2, $3, $4, "
    "$5::bigint, $6::bytea, $7, $8::bytea)";

static const char att_delete_sql[] =
    "DELETE FROM attachments WHERE id = $1 AND user_id = $2";

static const char att_pending_sql[] =
    "SELECT upload_hash, uploaded_at IS NOT NULL, size::text, name, "
    "mime_type, preview_url FROM attachments WHERE id = $1";

/* The token is spent by the statement that stores the bytes, so two
 * uploads racing cannot both succeed. */
static const char att_store_sql[] =
    "UPDATE attachments SET bytes = $2, upload_hash = NULL, "
    "uploaded_at = now() WHERE id = $1 AND upload_hash = $3 AND "
    "uploaded_at IS NULL";

static const char att_preview_sql[] =
    "SELECT mime_type, bytes FROM attachments WHERE id = $1 AND "
    "preview_hash = $2::bytea AND uploaded_at IS NOT NULL";

static const char att_check_sql[] =
    "SELECT id, name, mime_type, preview_url FROM attachments "
    "WHERE user_id = $1 AND id = ANY ($2::text[]) AND "
    "uploaded_at IS NOT NULL";

static const char att_bind_sql[] =
    "UPDATE attachments SET thread_id = $3 WHERE user_id = $1 AND "
    "id = ANY ($2::text[])";

/*
 * Bytes only where the model may get them: short files (text, maybe)
 * and, with $3, the images (the list of att_images).
 */
static const char att_model_sql[] =
    "SELECT id, name, mime_type, size::text, CASE WHEN size <= 65536 OR "
    "($3::bool AND lower(btrim(split_part(mime_type, ';', 1))) IN "
    "('image/png', 'image/jpeg', 'image/gif', 'image/webp')) THEN bytes "
    "END FROM attachments WHERE user_id = $1 AND id = ANY ($2::text[]) "
    "AND uploaded_at IS NOT NULL";

/* ------------------------------------------------------------ the ops */

enum app_err
attachments_create(struct http_request *req, const char *name, int64_t size,
    const char *mime_type, char **json)
{
	const struct conf	*c = req->app->conf;
	char			 id[ATTACHMENT_ID_SIZE], token[ATT_TOKEN_LEN];
	char			 sig[ATT_TOKEN_LEN], sz[32];
	unsigned char		 hash[crypto_hash_sha256_BYTES];
	unsigned char		 phash[crypto_hash_sha256_BYTES];
	const char		*base, *p[8];
	struct att_row		 row;
	char			*upload;
	enum app_err		 e;

	*json = NULL;
	if (req->user_id == NULL)
		return APP_EAUTH;
	if (name == NULL || !att_name_ok(name) || mime_type == NULL ||
	    !att_mime_ok(mime_type) || size < 0)
		return APP_EVALIDATION;
	if (size > c->attachment_max)
		return APP_ETOOBIG;
	if ((base = att_base(req)) == NULL)
		return APP_ENOMEM;
	threads_new_id(ATT_PREFIX, id);
	row.id = id;
	row.name = name;
	row.mime_type = mime_type;
	row.preview_url = NULL;
	p[7] = NULL;
	if (att_is_image(mime_type)) {
		att_token(sig, phash);
		row.preview_url = arena_printf(req->arena, "%s" ATT_ROUTE
		    "%s/preview?sig=%s", base, id, sig);
		if (row.preview_url == NULL || (p[7] = db_bytea(req->arena,
		    phash, sizeof(phash))) == NULL)
			return APP_ENOMEM;
	}
	att_token(token, hash);
	upload = arena_printf(req->arena, "%s" ATT_ROUTE "%s/upload?token=%s",
	    base, id, token);
	sodium_memzero(token, sizeof(token));
	if (upload == NULL)
		return APP_ENOMEM;
	snprintf(sz, sizeof(sz), "%" PRId64, size);
	p[0] = id;
	p[1] = req->user_id;
	p[2] = name;
	p[3] = mime_type;
	p[4] = sz;
	p[5] = db_bytea(req->arena, hash, sizeof(hash));
	p[6] = row.preview_url;
	if (p[5] == NULL)
		return APP_ENOMEM;
	if ((e = db_run(req->app->db, att_insert_sql, 8, p, NULL)) != APP_OK)
		return e;
	if ((*json = att_json(req->arena, &row, NULL, upload)) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

enum app_err
attachments_delete(struct db_pool *db, const char *user_id, const char *id)
{
	const char	*p[2] = { id, user_id };
	PGresult	*r;
	enum app_err	 e;

	if (user_id == NULL || !att_id_ok(id))
		return APP_ENOTFOUND;
	if ((e = db_run(db, att_delete_sql, 2, p, &r)) != APP_OK)
		return e;
	if (strcmp(PQcmdTuples(r), "1") != 0)
		e = APP_ENOTFOUND;
	PQclear(r);
	return e;
}

enum app_err
attachments_check(struct db_pool *db, struct arena *ar, const char *user_id,
    const char *thread_id, const char *const *ids, size_t n, char **json,
    const char **missing)
{
	struct arena_str	 b;
	struct att_row		 row;
	const char		**uniq, *p[2], *one;
	char			*arr;
	size_t			 nuniq, i;
	PGresult		*r;
	enum app_err		 e = APP_OK;
	int			 k;

	*json = NULL;
	*missing = NULL;
	if ((arr = att_id_array(ar, ids, n, &uniq, &nuniq, missing)) == NULL)
		return APP_ENOMEM;
	if (*missing != NULL)
		return APP_ENOTFOUND;
	if (nuniq == 0)
		return (*json = arena_strdup(ar, "[]")) != NULL ? APP_OK :
		    APP_ENOMEM;
	p[0] = user_id;
	p[1] = arr;
	if ((e = db_run(db, att_check_sql, 2, p, &r)) != APP_OK)
		return e;
	memset(&b, 0, sizeof(b));
	if (att_add(ar, &b, "[") == -1)
		e = APP_ENOMEM;
	for (i = 0; e == APP_OK && i < nuniq; i++) {
		for (k = 0; k < PQntuples(r); k++)
			if (strcmp(PQgetvalue(r, k, 0), uniq[i]) == 0)
				break;
		if (k == PQntuples(r)) {
			*missing = uniq[i];
			e = APP_ENOTFOUND;
			break;
		}
		row.id = uniq[i];
		row.name = db_value(ar, r, k, 1);
		row.mime_type = db_value(ar, r, k, 2);
		row.preview_url = db_value(ar, r, k, 3);
		if (row.name == NULL || row.mime_type == NULL ||
		    (one = att_json(ar, &row, thread_id, NULL)) == NULL ||
		    (i > 0 && att_add(ar, &b, ",") == -1) ||
		    att_add(ar, &b, one) == -1)
			e = APP_ENOMEM;
	}
	PQclear(r);
	if (e == APP_OK && att_add(ar, &b, "]") == -1)
		e = APP_ENOMEM;
	if (e == APP_OK)
		*json = b.p;
	return e;
}

enum app_err
attachments_bind(struct db_pool *db, const char *user_id,
    const char *thread_id, const char *const *ids, size_t n)
{
	struct arena	*ar;
	const char	**uniq, *bad, *p[3];
	char		*arr;
	size_t		 nuniq;
	enum app_err	 e;

	if (n == 0)
		return APP_OK;
	/* The caller's arena is not at hand: a small one of our own. */
	if ((ar = arena_create(1024)) == NULL)
		return APP_ENOMEM;
	if ((arr = att_id_array(ar, ids, n, &uniq, &nuniq, &bad)) == NULL)
		e = APP_ENOMEM;
	else if (nuniq == 0)
		e = APP_OK;
	else {
		p[0] = user_id;
		p[1] = arr;
		p[2] = thread_id;
		e = db_run(db, att_bind_sql, 3, p, NULL);
	}
	arena_destroy(ar);
	return e;
}

/* ------------------------------------------------------------ the model */

/* One attachment of att_model_sql's result. */
struct att_file {
	const char	*name;
	const char	*mime_type;
	const char	*size;
	const char	*bytes;		/* not copied: lives in the result */
	size_t		 len;
	bool		 has_bytes;
};

/* Text the model can be given whole: UTF-8, no NUL, not too long. */
static bool
att_readable(const struct att_file *f)
{
	return f->has_bytes && att_is_text(f->mime_type, f->name) &&
	    f->len <= ATTACHMENT_TEXT_MAX && memchr(f->bytes, '\0', f->len) ==
	    NULL && utf8_valid(f->bytes, f->len);
}

/* An image_url part with the bytes as a data: URL. NULL on ENOMEM. */
static char *
att_image_part(struct arena *ar, const struct att_file *f)
{
	static const char	 head[] =
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:";
	char			 e[ATT_ESSENCE], *s;
	size_t			 b64, n, off;

	att_essence(f->mime_type, e);
	b64 = sodium_base64_ENCODED_LEN(f->len,
	    sodium_base64_VARIANT_ORIGINAL);
	/* One allocation: an image can be megabytes. */
	n = sizeof(head) - 1 + strlen(e) + 8 + b64 + 4;
	if ((s = arena_alloc(ar, n)) == NULL)
		return NULL;
	off = (size_t)snprintf(s, n, "%s%s;base64,", head, e);
	sodium_bin2base64(s + off, b64, (const unsigned char *)f->bytes,
	    f->len, sodium_base64_VARIANT_ORIGINAL);
	off += strlen(s + off);
	memcpy(s + off, "\"}}", 4);
	return s;
}

/*
 * The sentences for one file: *text the part's text (and what the note
 * says), *image whether an image part goes with it.
 */
static char *
att_describe(struct arena *ar, const struct att_file *f, bool vision,
    bool *image)
{
	char	 e[ATT_ESSENCE];

	att_essence(f->mime_type, e);
	*image = vision && f->has_bytes && att_is_image(f->mime_type);
	if (att_readable(f))
		return arena_printf(ar, "Attached file %s:\n%.*s", f->name,
		    (int)f->len, f->bytes);
	if (att_is_image(f->mime_type))
		return arena_printf(ar, "Attached image %s (%s, %s bytes)%s",
		    f->name, e, f->size, *image ? "." :
		    "; it cannot be shown to you.");
	return arena_printf(ar, "Attached file %s (%s, %s bytes); its "
	    "contents cannot be shown to you.", f->name, e, f->size);
}

/* Adds one attachment to the parts and the note. -1 on ENOMEM. */
static int
att_model_one(struct arena *ar, const struct att_file *f, bool vision,
    struct arena_str *parts, struct arena_str *note)
{
	const char	*text, *img;
	bool		 image;

	if ((text = att_describe(ar, f, vision, &image)) == NULL)
		return -1;
	if (parts->len > 1 && att_add(ar, parts, ",") == -1)
		return -1;
	if (image) {
		if ((img = att_image_part(ar, f)) == NULL ||
		    att_add(ar, parts, img) == -1)
			return -1;
	} else if (att_add(ar, parts, "{\"type\":\"text\",\"text\":") == -1 ||
	    att_quote(ar, parts, text) == -1 || att_add(ar, parts, "}") == -1)
		return -1;
	if ((note->len > 0 && att_add(ar, note, "\n\n") == -1) ||
	    att_add(ar, note, text) == -1)
		return -1;
	return 0;
}

/* Room for `n' bytes in `b' at once, so big parts are not copied as the
 * string grows. -1 on ENOMEM. */
static int
att_reserve(struct arena *ar, struct arena_str *b, size_t n)
{
	memset(b, 0, sizeof(*b));
	if ((b->p = arena_alloc(ar, n + 1)) == NULL)
		return -1;
	b->cap = n + 1;
	return 0;
}

enum app_err
attachments_model_input(struct db_pool *db, struct arena *ar,
    const char *user_id, const char *const *ids, size_t n, bool vision,
    char **parts, char **note)
{
	struct arena_str	 pb, nb;
	struct att_file		 f;
	const char		**uniq, *bad, *p[3];
	char			*arr;
	size_t			 nuniq, i, need = 64;
	PGresult		*r;
	enum app_err		 e = APP_OK;
	int			 k, rows;

	*parts = *note = NULL;
	if (n == 0)
		return APP_OK;
	if ((arr = att_id_array(ar, ids, n, &uniq, &nuniq, &bad)) == NULL)
		return APP_ENOMEM;
	if (nuniq == 0)
		return APP_OK;
	p[0] = user_id;
	p[1] = arr;
	p[2] = vision ? "t" : "f";
	if ((e = att_exec(db, att_model_sql, 3, p, NULL, NULL, true, &r)) !=
	    APP_OK)
		return e;
	rows = PQntuples(r);
	for (k = 0; k < rows; k++)
		need += 4 * (size_t)PQgetlength(r, k, 4) / 3 + 1024;
	if (rows == 0)
		goto out;
	if (att_reserve(ar, &pb, need) == -1 || att_reserve(ar, &nb, 1024) ==
	    -1 || att_add(ar, &pb, "[") == -1) {
		e = APP_ENOMEM;
		goto out;
	}
	for (i = 0; i < nuniq; i++) {
		for (k = 0; k < rows; k++)
			if ((size_t)PQgetlength(r, k, 0) == strlen(uniq[i]) &&
			    memcmp(PQgetvalue(r, k, 0), uniq[i],
			    strlen(uniq[i])) == 0)
				break;
		if (k == rows)
			continue;	/* gone since */
		memset(&f, 0, sizeof(f));
		f.name = att_value(ar, r, k, 1);
		f.mime_type = att_value(ar, r, k, 2);
		f.size = att_value(ar, r, k, 3);
		f.has_bytes = !PQgetisnull(r, k, 4);
		f.bytes = PQgetvalue(r, k, 4);
		f.len = (size_t)PQgetlength(r, k, 4);
		if (f.name == NULL || f.mime_type == NULL || f.size == NULL ||
		    att_model_one(ar, &f, vision, &pb, &nb) == -1) {
			e = APP_ENOMEM;
			goto out;
		}
	}
	if (att_add(ar, &pb, "]") == -1) {
		e = APP_ENOMEM;
		goto out;
	}
	*parts = pb.p;
	*note = nb.p;
out:
	PQclear(r);
	return e;
}

/* ------------------------------------------------------------ multipart */

/*
 * Parameter `key' of a header value such as "form-data; name=\"file\"",
 * unquoted, into `out'. -1 when absent or longer than outsz - 1.
 */
static int
att_param(const char *v, const char *key, char *out, size_t outsz)
{
	const char	*p = strchr(v, ';');
	size_t		 klen = strlen(key), o = 0;

	while (p != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			if (*p == '"') {
				for (p++; *p != '\0' && *p != '"'; p++) {
					if (*p == '\\' && p[1] != '\0')
						p++;
					if (o + 1 >= outsz)
						return -1;
					out[o++] = *p;
				}
			} else {
				for (; *p != '\0' && *p != ';' && *p != ' ' &&
				    *p != '\t'; p++) {
					if (o + 1 >= outsz)
						return -1;
					out[o++] = *p;
				}
			}
			out[o] = '\0';
			return 0;
		}
		/* Another parameter: skip it, quotes and all. */
		while (*p != '\0' && *p != ';') {
			if (*p != '"') {
				p++;
				continue;
			}
			for (p++; *p != '\0' && *p != '"'; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
			if (*p == '"')
				p++;
		}
		if (*p != ';')
			p = NULL;
	}
	return -1;
}

/* Whether a part's header block names the form field "file". */
static bool
att_part_is_file(const char *h, size_t len)
{
	const char	*end = h + len, *nl, *v;
	char		 line[ATT_HEADER_MAX], name[16];
	size_t		 n;

	for (; h < end; h = nl + 2) {
		if ((nl = memmem(h, (size_t)(end - h), "\r\n", 2)) == NULL)
			nl = end;
		n = (size_t)(nl - h);
		if (n > 20 && n < sizeof(line) &&
		    strncasecmp(h, "content-disposition:", 20) == 0) {
			memcpy(line, h, n);
			line[n] = '\0';
			for (v = line + 20; *v == ' ' || *v == '\t'; v++)
				continue;
			if (strncasecmp(v, "form-data", 9) == 0 &&
			    att_param(v, "name", name, sizeof(name)) == 0 &&
			    strcmp(name, "file") == 0)
				return true;
		}
		if (nl == end)
			break;
	}
	return false;
}

/*
 * The "file" field of a multipart/form-data body (RFC 7578): its bytes
 * in *data, *len. -1 when the body is not one or has no such field.
 */
static int
att_multipart_file(const char *ctype, const char *body, size_t blen,
    const char **data, size_t *len)
{
	char		 boundary[ATT_BOUNDARY + 1], delim[ATT_BOUNDARY + 5];
	const char	*p, *end = body + blen, *hend, *content, *next;
	size_t		 dlen;

	if (body == NULL || att_param(ctype, "boundary", boundary,
	    sizeof(boundary)) == -1 || boundary[0] == '\0')
		return -1;
	dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	/* The first delimiter may open the body, without the CRLF. */
	if (blen >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
		p = body + dlen - 2;
	else if ((p = memmem(body, blen, delim, dlen)) != NULL)
		p += dlen;
	else
		return -1;
	for (;;) {
		/* "--" closes; else padding and CRLF, then the part. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return -1;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return -1;
		p += 2;
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			hend = p;
			content = p + 2;
		} else if ((hend = memmem(p, (size_t)(end - p), "\r\n\r\n",
		    4)) != NULL)
			content = hend + 4;
		else
			return -1;
		next = memmem(content, (size_t)(end - content), delim, dlen);
		if (next == NULL)
			return -1;
		if (att_part_is_file(p, (size_t)(hend - p))) {
			*data = content;
			*len = (size_t)(next - content);
			return 0;
		}
		p = next + dlen;
	}
}

/* ------------------------------------------------------------ routes */

/* What the upload row says. */
struct att_pending {
	bool		 found;
	bool		 uploaded;
	bool		 has_hash;
	unsigned char	 hash[crypto_hash_sha256_BYTES];
	int64_t		 size;
	struct att_row	 row;
};

static enum app_err
att_pending_get(struct http_request *req, const char *id,
    struct att_pending *pd)
{
	const char	*p[1] = { id }, *hex;
	PGresult	*r;
	size_t		 len;
	enum app_err	 e;

	memset(pd, 0, sizeof(*pd));
	if ((e = db_run(req->app->db, att_pending_sql, 1, p, &r)) != APP_OK)
		return e;
	if (PQntuples(r) != 1)
		goto out;
	pd->found = true;
	pd->uploaded = db_bool(r, 0, 1);
	/* bytea as text: "\x" and 64 hex digits. */
	hex = PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0);
	pd->has_hash = hex != NULL && strncmp(hex, "\\x", 2) == 0 &&
	    sodium_hex2bin(pd->hash, sizeof(pd->hash), hex + 2, strlen(hex + 2),
	    NULL, &len, NULL) == 0 && len == sizeof(pd->hash);
	pd->size = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	pd->row.id = id;
	if ((pd->row.name = db_value(req->arena, r, 0, 3)) == NULL ||
	    (pd->row.mime_type = db_value(req->arena, r, 0, 4)) == NULL)
		e = APP_ENOMEM;
	pd->row.preview_url = db_value(req->arena, r, 0, 5);
out:
	PQclear(r);
	return e;
}

/* The file in the request: the "file" field of a form, or the body. */
static enum app_err
att_upload_bytes(struct http_request *req, const char **data, size_t *len)
{
	const char	*ct = http_header_get(req, "content-type");

	if (ct != NULL && strncasecmp(ct, "multipart/form-data", 19) == 0) {
		if (att_multipart_file(ct, req->body, req->body_len, data,
		    len) == -1)
			return APP_EINVAL;
		return APP_OK;
	}
	*data = req->body != NULL ? req->body : "";
	*len = req->body_len;
	return APP_OK;
}

/* 422 with details {"size": why}. */
static enum app_err
att_size_error(struct http_response *res, const char *why)
{
	struct json_object	*d;
	enum app_err		 e;

	if ((d = json_object_new_object()) == NULL ||
	    jsonx_add_string(d, "size", why) != APP_OK) {
		json_object_put(d);
		return APP_ENOMEM;
	}
	e = http_send_error(res, APP_EVALIDATION, d, "%s", why);
	json_object_put(d);
	return e;
}

enum app_err
attachments_http_upload(struct http_request *req, struct http_response *res)
{
	const struct conf	*c = req->app->conf;
	const char		*id = req->nparams > 0 ? req->params[0] : NULL;
	const char		*token, *data, *p[3];
	unsigned char		 hash[crypto_hash_sha256_BYTES];
	struct att_pending	 pd;
	char			*json, *why;
	size_t			 len;
	int			 lens[3] = { 0, 0, sizeof(hash) };
	int			 fmts[3] = { 0, 1, 1 };
	PGresult		*r;
	enum app_err		 e;

	if (!att_id_ok(id))
		return http_send_error(res, APP_ENOTFOUND, NULL,
		    "no such attachment");
	if ((e = http_query_param(req, "token", &token)) != APP_OK)
		token = NULL;
	if ((e = att_pending_get(req, id, &pd)) != APP_OK)
		return e;
	if (!pd.found)
		return http_send_error(res, APP_ENOTFOUND, NULL,
		    "no such attachment");
	if (pd.uploaded || !pd.has_hash)
		return http_send_error(res, APP_ECONFLICT, NULL,
		    "the attachment was already uploaded");
	if (token == NULL)
		return http_send_error(res, APP_EFORBIDDEN, NULL,
		    "the upload token is missing");
	crypto_hash_sha256(hash, (const unsigned char *)token, strlen(token));
	if (sodium_memcmp(hash, pd.hash, sizeof(hash)) != 0)
		return http_send_error(res, APP_EFORBIDDEN, NULL,
		    "the upload token is not valid");
	if (att_upload_bytes(req, &data, &len) != APP_OK)
		return http_send_error(res, APP_EINVAL, NULL,
		    "a multipart/form-data upload needs a \"file\" field");
	if (len > (size_t)c->attachment_max)
		return http_send_error(res, APP_ETOOBIG, NULL,
		    "the file exceeds %ld bytes", c->attachment_max);
	if ((int64_t)len != pd.size) {
		if ((why = arena_printf(req->arena, "the file has %zu bytes; "
		    "%" PRId64 " were announced", len, pd.size)) == NULL)
			return APP_ENOMEM;
		return att_size_error(res, why);
	}
	p[0] = id;
	p[1] = data;
	p[2] = (const char *)pd.hash;
	lens[1] = (int)len;
	if ((e = att_exec(req->app->db, att_store_sql, 3, p, lens, fmts, false,
	    &r)) != APP_OK)
		return e;
	e = strcmp(PQcmdTuples(r), "1") == 0 ? APP_OK : APP_ECONFLICT;
	PQclear(r);
	if (e != APP_OK)
		return http_send_error(res, e, NULL,
		    "the attachment was already uploaded");
	if ((json = att_json(req->arena, &pd.row, NULL, NULL)) == NULL)
		return APP_ENOMEM;
	return http_send_json_str(res, 200, json, strlen(json));
}

enum app_err
attachments_http_preview(struct http_request *req, struct http_response *res)
{
	const char	*id = req->nparams > 0 ? req->params[0] : NULL;
	const char	*sig, *p[2], *mime;
	unsigned char	 hash[crypto_hash_sha256_BYTES];
	char		 clen[32];
	PGresult	*r;
	enum app_err	 e;

	/* A bad token says no more than a miss. */
	if (!att_id_ok(id) || http_query_param(req, "sig", &sig) != APP_OK ||
	    sig == NULL || sig[0] == '\0')
		return http_send_error(res, APP_ENOTFOUND, NULL,
		    "no such attachment");
	crypto_hash_sha256(hash, (const unsigned char *)sig, strlen(sig));
	p[0] = id;
	if ((p[1] = db_bytea(req->arena, hash, sizeof(hash))) == NULL)
		return APP_ENOMEM;
	if ((e = att_exec(req->app->db, att_preview_sql, 2, p, NULL, NULL,
	    true, &r)) != APP_OK)
		return e;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 1) ||
	    (mime = att_value(req->arena, r, 0, 0)) == NULL ||
	    !att_is_image(mime) || !att_mime_ok(mime)) {
		PQclear(r);
		return http_send_error(res, APP_ENOTFOUND, NULL,
		    "no such attachment");
	}
	snprintf(clen, sizeof(clen), "%d", PQgetlength(r, 0, 1));
	http_set_status(res, 200);
	if ((e = http_add_header(res, "Content-Type", mime)) != APP_OK ||
	    (e = http_add_header(res, "Content-Length", clen)) != APP_OK ||
	    (e = http_add_header(res, "Cache-Control",
	    "private, max-age=3600")) != APP_OK ||
	    (e = http_add_header(res, "X-Content-Type-Options", "nosniff")) !=
	    APP_OK ||
	    (e = http_add_header(res, "Content-Security-Policy",
	    "default-src 'none'; sandbox")) != APP_OK)
		goto out;
	e = http_write(res, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
out:
	PQclear(r);
	return e;
}
