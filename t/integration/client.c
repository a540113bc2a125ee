/*
 * client.c: the test client. Requests through nginx with libcurl, the
 * headers, cookies and JSON of an answer, the error envelope, accounts and
 * tokens, a streaming (SSE) reader, requests in threads of their own, load
 * loops, the Prometheus metric reader and SQL on the test database. See
 * harness.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "harness.h"
#include "extern.h"

/* ------------------------------------------------------------- HTTP */

struct sbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static int
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	char	*np;
	size_t	 cap;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static size_t
body_cb(char *ptr, size_t sz, size_t nm, void *ud)
{
	return sbuf_add(ud, ptr, sz * nm) == 0 ? sz * nm : 0;
}

/* Keeps the header block of the final response only (100, 1xx dropped). */
static size_t
head_cb(char *ptr, size_t sz, size_t nm, void *ud)
{
	struct sbuf	*b = ud;

	if (sz * nm >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
		b->len = 0;
	return sbuf_add(b, ptr, sz * nm) == 0 ? sz * nm : 0;
}

/* Splits the header block (in place) into name/value pairs. */
static size_t
parse_head(char *head, struct harness_hdr *hdrs)
{
	char	*line, *next, *colon;
	size_t	 n = 0;

	for (line = head; line != NULL && *line != '\0'; line = next) {
		if ((next = strstr(line, "\r\n")) != NULL) {
			*next = '\0';
			next += 2;
		}
		if ((colon = strchr(line, ':')) == NULL || n == HARNESS_MAXHDR)
			continue;
		*colon++ = '\0';
		while (*colon == ' ' || *colon == '\t')
			colon++;
		hdrs[n].name = line;
		hdrs[n++].value = colon;
	}
	return n;
}

/* Hands the header block of an answer over and splits it into hdrs. */
static size_t
head_keep(struct sbuf *hb, char **head, size_t *len, struct harness_hdr *hdrs)
{
	*head = hb->p;
	*len = hb->len;
	return hb->p != NULL ? parse_head(hb->p, hdrs) : 0;
}

/* The `nth' (from 0) header called `name'. */
static const char *
hdr_find_n(const struct harness_hdr *hdrs, size_t n, const char *name,
    size_t nth)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcasecmp(hdrs[i].name, name) == 0 && nth-- == 0)
			return hdrs[i].value;
	return NULL;
}

static const char *
hdr_find(const struct harness_hdr *hdrs, size_t n, const char *name)
{
	return hdr_find_n(hdrs, n, name, 0);
}

static CURL *
easy_new(const struct harness *h, const char *path)
{
	CURL	*c;
	char	 url[1024];

	if ((c = curl_easy_init()) == NULL)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", h->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
	if (h->source_addr != NULL) {
		/* "host!": an address, never taken for an interface name. */
		snprintf(url, sizeof(url), "host!%s", h->source_addr);
		curl_easy_setopt(c, CURLOPT_INTERFACE, url);
	}
	return c;
}

/*
 * Sends `headers' (NULL-terminated, may be NULL) and collects the answer's
 * header block in `hb'. The caller frees *slp, also on failure.
 */
static int
set_headers(CURL *c, const char *const *headers, struct curl_slist **slp,
    struct sbuf *hb)
{
	struct curl_slist	*t;
	size_t			 i;

	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		if ((t = curl_slist_append(*slp, headers[i])) == NULL)
			return -1;
		*slp = t;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *slp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, head_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, hb);
	return 0;
}

/* Whether the caller's header lines set `name'. */
static bool
has_header(const char *const *headers, const char *name)
{
	size_t	 i, len = strlen(name);

	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		if (strncasecmp(headers[i], name, len) == 0 &&
		    headers[i][len] == ':')
			return true;
	return false;
}

static void
set_method(CURL *c, const char *method, const char *body, size_t len)
{
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL || strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(body != NULL ? len : 0));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	}
}

int
harness_request(struct harness *h, const char *method, const char *path,
    const char *const *headers, const char *body, size_t len,
    struct harness_resp *r)
{
	CURL			*c = NULL;
	struct curl_slist	*sl = NULL, *t;
	struct sbuf		 hb = { 0 }, bb = { 0 };
	int			 rc = -1;

	memset(r, 0, sizeof(*r));
	if ((c = easy_new(h, path)) == NULL ||
	    set_headers(c, headers, &sl, &hb) == -1)
		goto out;
	/*
	 * A POST without a body carries no Content-Type, as from a browser;
	 * curl would add its form type (quipu may refuse it with 415).
	 */
	if (body == NULL && !has_header(headers, "Content-Type")) {
		if ((t = curl_slist_append(sl, "Content-Type:")) == NULL)
			goto out;
		sl = t;
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	}
	set_method(c, method, body, len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
	r->curl_err = (int)curl_easy_perform(c);
	if (r->curl_err == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		rc = 0;
	}
out:
	r->body = bb.p != NULL ? bb.p : strdup("");
	r->body_len = bb.len;
	r->nhdrs = head_keep(&hb, &r->head, &r->head_len, r->hdrs);
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	return rc;
}

int
harness_get(struct harness *h, const char *path, struct harness_resp *r)
{
	return harness_request(h, "GET", path, NULL, NULL, 0, r);
}

const char *
harness_resp_header(const struct harness_resp *r, const char *name)
{
	return hdr_find(r->hdrs, r->nhdrs, name);
}

const char *
harness_resp_header_n(const struct harness_resp *r, const char *name,
    size_t n)
{
	return hdr_find_n(r->hdrs, r->nhdrs, name, n);
}

const char *
harness_resp_cookie(const struct harness_resp *r, const char *name)
{
	const char	*v;
	size_t		 i, len = strlen(name);

	for (i = 0; (v = harness_resp_header_n(r, "Set-Cookie", i)) != NULL;
	    i++)
		if (strncmp(v, name, len) == 0 && v[len] == '=')
			return v;
	return NULL;
}

int
harness_cookie_value(const char *set_cookie, char *out, size_t sz)
{
	const char	*eq, *end;
	size_t		 len;

	if (set_cookie == NULL || (eq = strchr(set_cookie, '=')) == NULL)
		return -1;
	eq++;
	end = eq + strcspn(eq, ";");
	while (end > eq && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((len = (size_t)(end - eq)) >= sz)
		return -1;
	memcpy(out, eq, len);
	out[len] = '\0';
	return 0;
}

bool
harness_cookie_has(const char *set_cookie, const char *attr)
{
	const char	*p, *end;
	size_t		 alen = strlen(attr), len;

	if (set_cookie == NULL || (p = strchr(set_cookie, ';')) == NULL)
		return false;
	/* The attributes follow the first ';' (name=value comes first). */
	while (*p == ';') {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ";");
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == alen && strncasecmp(p, attr, alen) == 0)
			return true;
		p = end;
	}
	return false;
}

struct json_object *
harness_resp_json(struct harness_resp *r)
{
	if (r->json == NULL && r->body != NULL && r->body_len > 0)
		r->json = json_tokener_parse(r->body);
	return r->json;
}

const char *
harness_resp_str(struct harness_resp *r, const char *path)
{
	return harness_json_str(harness_resp_json(r), path);
}

void
harness_req(struct harness *h, const char *method, const char *path,
    const char *body, const char *h1, const char *h2, const char *h3,
    struct harness_resp *r)
{
	const char	*in[3] = { h1, h2, h3 }, *hdrs[5];
	size_t		 i, n = 0;
	bool		 ct = false;

	for (i = 0; i < 3; i++) {
		if (in[i] == NULL)
			continue;
		hdrs[n++] = in[i];
		if (strncasecmp(in[i], "Content-Type:", 13) == 0)
			ct = true;
	}
	if (body != NULL && !ct)
		hdrs[n++] = "Content-Type: application/json";
	hdrs[n] = NULL;
	snprintf(h->last_req, sizeof(h->last_req), "%.8s %.100s %.80s", method,
	    path, body != NULL ? body : "");
	assert_int_equal(harness_request(h, method, path, hdrs, body,
	    body != NULL ? strlen(body) : 0, r), 0);
}

void
harness_want(struct harness *h, struct harness_resp *r, long status)
{
	if (r->status != status)
		fprintf(stderr, "%s: status %ld, want %ld: %.600s\n",
		    h->last_req, r->status, status,
		    r->body != NULL ? r->body : "");
	assert_int_equal(r->status, status);
}

void
harness_want_error(struct harness *h, struct harness_resp *r, long status,
    const char *code)
{
	harness_want(h, r, status);
	assert_true(harness_is_envelope(r, code));
}

int64_t
harness_json_int(struct json_object *o, const char *key)
{
	struct json_object	*v;

	assert_true(json_object_object_get_ex(o, key, &v));
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

struct json_object *
harness_jpath(struct json_object *o, const char *path)
{
	char		 key[64];
	const char	*p = path, *dot;
	char		*end;
	size_t		 n;
	long		 idx;

	while (o != NULL && *p != '\0') {
		dot = strchr(p, '.');
		n = dot != NULL ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (json_object_is_type(o, json_type_array)) {
			/* An index is digits only: "items.0", not "items.0x". */
			idx = strtol(key, &end, 10);
			if (*end != '\0' || idx < 0)
				return NULL;
			o = json_object_array_get_idx(o, (size_t)idx);
		} else if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, key, &o))
			return NULL;
		p += n + (dot != NULL);
	}
	return o;
}

const char *
harness_json_str(struct json_object *o, const char *path)
{
	if ((o = harness_jpath(o, path)) == NULL ||
	    !json_object_is_type(o, json_type_string))
		return NULL;
	return json_object_get_string(o);
}

struct json_object *
harness_json_array(struct json_object *o, const char *path)
{
	o = harness_jpath(o, path);
	if (o == NULL || !json_object_is_type(o, json_type_array))
		fail_msg("no array at \"%s\"", path);
	return o;
}

size_t
harness_json_len(struct json_object *o, const char *path)
{
	return json_object_array_length(harness_json_array(o, path));
}

bool
harness_json_is_null(struct json_object *o, const char *key)
{
	struct json_object	*v;

	return json_object_object_get_ex(o, key, &v) && v == NULL;
}

char *
harness_rep(const char *unit, size_t n)
{
	size_t	 ul = strlen(unit), i;
	char	*s;

	assert_non_null(s = malloc(ul * n + 1));
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

bool
harness_is_envelope(struct harness_resp *r, const char *code)
{
	const char	*c = harness_resp_str(r, "error.code");
	const char	*rid = harness_resp_str(r, "error.request_id");
	const char	*msg = harness_resp_str(r, "error.message");
	const char	*hrid = harness_resp_header(r, "X-Request-Id");
	const char	*ct = harness_resp_header(r, "Content-Type");

	if (c != NULL && strcmp(c, code) == 0 && rid != NULL && *rid != '\0' &&
	    msg != NULL && hrid != NULL && strcmp(rid, hrid) == 0 &&
	    ct != NULL && strncmp(ct, "application/json", 16) == 0)
		return true;
	fprintf(stderr, "harness: not a '%s' envelope: status %ld, "
	    "content-type %s, X-Request-Id %s, body: %.500s\n", code,
	    r->status, ct ? ct : "(none)", hrid ? hrid : "(none)",
	    r->body ? r->body : "");
	return false;
}

void
harness_resp_free(struct harness_resp *r)
{
	if (r->json != NULL)
		json_object_put(r->json);
	free(r->body);
	free(r->head);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------- auth */

/* A copy of string member `key' of `o' into `out'; -1 if none or too long. */
static int
json_copy(struct json_object *o, const char *key, char *out, size_t sz)
{
	struct json_object	*v;
	const char		*s;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	if (strlen(s) >= sz)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

int
harness_auth_from_resp(struct harness_resp *r, struct harness_auth *out)
{
	struct json_object	*j = harness_resp_json(r), *user = NULL;
	int			 n;

	memset(out, 0, sizeof(*out));
	if (j != NULL)
		(void)json_object_object_get_ex(j, "user", &user);
	if (json_copy(user, "id", out->user_id, sizeof(out->user_id)) == -1 ||
	    json_copy(j, "access_token", out->access,
	    sizeof(out->access)) == -1 ||
	    json_copy(j, "refresh_token", out->refresh,
	    sizeof(out->refresh)) == -1) {
		fprintf(stderr, "harness: no tokens answer (status %ld)\n",
		    r->status);
		return -1;
	}
	n = snprintf(out->auth_header, sizeof(out->auth_header),
	    "Authorization: Bearer %s", out->access);
	if (n < 0 || (size_t)n >= sizeof(out->auth_header))
		return -1;
	n = snprintf(out->cookie, sizeof(out->cookie),
	    "Cookie: quipu_access=%s", out->access);
	if (n < 0 || (size_t)n >= sizeof(out->cookie))
		return -1;
	return 0;
}

int
harness_json(struct harness *h, const char *method, const char *path,
    const struct harness_auth *auth, const char *body,
    struct harness_resp *r)
{
	const char	*hdrs[3] = { NULL, NULL, NULL };
	size_t		 n = 0;

	if (body != NULL)
		hdrs[n++] = "Content-Type: application/json";
	if (auth != NULL)
		hdrs[n++] = auth->auth_header;
	return harness_request(h, method, path, hdrs, body,
	    body != NULL ? strlen(body) : 0, r);
}

/* register or login: POST {"username","password"}, expect `want'. */
static int
account_post(struct harness *h, const char *path, long want,
    const char *username, const char *password, struct harness_auth *out)
{
	struct json_object	*o;
	struct harness_resp	 r;
	struct harness_auth	 tmp;
	int			 rc = -1;

	if ((o = json_object_new_object()) == NULL)
		return -1;
	if (json_object_object_add(o, "username",
	    json_object_new_string(username)) != 0 ||
	    json_object_object_add(o, "password",
	    json_object_new_string(password)) != 0) {
		json_object_put(o);
		return -1;
	}
	if (harness_json(h, "POST", path, NULL,
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	    &r) == 0 && r.status == want)
		rc = harness_auth_from_resp(&r, out != NULL ? out : &tmp);
	else
		/* The body of a failure is an envelope: no secret in it. */
		fprintf(stderr, "harness: POST %s: status %ld, want %ld: "
		    "%.300s\n", path, r.status, want, r.body ? r.body : "");
	harness_resp_free(&r);
	json_object_put(o);
	return rc;
}

int
harness_register(struct harness *h, const char *username,
    const char *password, struct harness_auth *out)
{
	return account_post(h, "/api/v1/auth/register", 201, username,
	    password, out);
}

int
harness_login(struct harness *h, const char *username, const char *password,
    struct harness_auth *out)
{
	return account_post(h, "/api/v1/auth/login", 200, username, password,
	    out);
}

void
harness_user(struct harness *h, const char *name, struct harness_auth *out)
{
	assert_int_equal(harness_register(h, name, HARNESS_PW, out), 0);
}

/* One counter for the whole program: names never repeat in a stack. */
void
harness_new_user(struct harness *h, const char *prefix,
    struct harness_auth *out)
{
	static int	 n;
	char		 name[64];

	snprintf(name, sizeof(name), "%s-%d", prefix, n++);
	harness_user(h, name, out);
}

/* ------------------------------------------------------------- database */

int
harness_sql(struct harness *h, const char *sql, const char *const *params,
    int nparams, char *out, size_t outsz)
{
	PGconn		*c;
	PGresult	*res = NULL;
	int		 rc = -1;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	c = PQconnectdb(h->dburl);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "harness: connect: %s", PQerrorMessage(c));
		goto done;
	}
	res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		rc = PQntuples(res);
		if (rc > 0 && out != NULL && outsz > 0 && PQnfields(res) > 0)
			snprintf(out, outsz, "%s", PQgetvalue(res, 0, 0));
		break;
	case PGRES_COMMAND_OK:
		rc = atoi(PQcmdTuples(res));
		break;
	default:
		fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(c));
		break;
	}
done:
	PQclear(res);
	PQfinish(c);
	return rc;
}

long
harness_sql_long(struct harness *h, const char *sql, const char *param)
{
	char	 out[64];

	if (harness_sql(h, sql, &param, param != NULL ? 1 : 0, out,
	    sizeof(out)) < 0)
		return -1;
	return atol(out);
}

/* ------------------------------------------------------------- async */

static void *
async_main(void *arg)
{
	struct harness_async	*a = arg;

	a->rc = harness_request(a->h, a->method, a->path, NULL, NULL, 0,
	    &a->resp);
	a->done_ns = harness_now_ns();
	return NULL;
}

int
harness_async_start(struct harness *h, struct harness_async *a,
    const char *method, const char *path)
{
	pthread_t	*t;

	memset(a, 0, sizeof(*a));
	a->h = h;
	a->rc = -1;
	snprintf(a->method, sizeof(a->method), "%s", method);
	snprintf(a->path, sizeof(a->path), "%s", path);
	if ((t = malloc(sizeof(*t))) == NULL)
		return -1;
	if (pthread_create(t, NULL, async_main, a) != 0) {
		free(t);
		return -1;
	}
	a->thread = t;
	return 0;
}

int
harness_async_wait(struct harness_async *a)
{
	pthread_t	*t = a->thread;

	if (t == NULL)
		return -1;
	pthread_join(*t, NULL);
	free(t);
	a->thread = NULL;
	return a->rc;
}

/* ------------------------------------------------------------- SSE */

/* Records one "\n\n"-terminated frame. */
static void
sse_frame(struct harness_sse *s, char *frame)
{
	struct harness_event	*e;
	struct sbuf		 data = { 0 };
	char			*line, *next;
	char			 name[64] = "";
	bool			 any = false;

	for (line = frame; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == ':') {
			s->ncomments++;
		} else if (strncmp(line, "event:", 6) == 0) {
			snprintf(name, sizeof(name), "%s",
			    line + 6 + (line[6] == ' '));
			any = true;
		} else if (strncmp(line, "data:", 5) == 0) {
			if (data.len > 0)
				(void)sbuf_add(&data, "\n", 1);
			line += 5 + (line[5] == ' ');
			(void)sbuf_add(&data, line, strlen(line));
			any = true;
		}
	}
	if (!any || s->nev == HARNESS_MAXEV) {
		free(data.p);
		return;
	}
	e = &s->ev[s->nev++];
	snprintf(e->event, sizeof(e->event), "%s", name);
	e->data = data.p != NULL ? data.p : strdup("");
	e->t_ms = (double)(harness_now_ns() - s->t0) / 1e6;
}

static size_t
sse_cb(char *ptr, size_t sz, size_t nm, void *ud)
{
	struct harness_sse	*s = ud;
	struct sbuf		 b = { s->buf, s->buf_len, s->buf_len };
	char			*end;
	size_t			 used;

	if (sbuf_add(&b, ptr, sz * nm) == -1)
		return 0;
	s->buf = b.p;
	s->buf_len = b.len;
	while ((end = strstr(s->buf, "\n\n")) != NULL) {
		*end = '\0';
		used = (size_t)(end - s->buf) + 2;
		sse_frame(s, s->buf);
		memmove(s->buf, s->buf + used, s->buf_len - used + 1);
		s->buf_len -= used;
	}
	if (s->stop_after > 0 && s->nev >= s->stop_after)
		return 0;	/* hang up on purpose */
	return sz * nm;
}

int
harness_sse_request(struct harness *h, const char *method, const char *path,
    const char *const *headers, const char *body, size_t stop_after,
    struct harness_sse *s)
{
	const char		*hv[HARNESS_MAXHDR];
	CURL			*c = NULL;
	struct curl_slist	*sl = NULL;
	struct sbuf		 hb = { 0 };
	size_t			 n = 0;
	int			 rc = -1;

	memset(s, 0, sizeof(*s));
	s->stop_after = stop_after;
	hv[n++] = "Accept: text/event-stream";
	if (body != NULL)
		hv[n++] = "Content-Type: application/json";
	for (; headers != NULL && *headers != NULL && n < HARNESS_MAXHDR - 1;
	    headers++)
		hv[n++] = *headers;
	hv[n] = NULL;
	if ((c = easy_new(h, path)) == NULL ||
	    set_headers(c, hv, &sl, &hb) == -1)
		goto out;
	set_method(c, method, body, body != NULL ? strlen(body) : 0);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	s->t0 = harness_now_ns();
	s->curl_err = (int)curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->curl_err == CURLE_OK ||
	    (s->curl_err == CURLE_WRITE_ERROR && stop_after > 0 &&
	    s->nev >= stop_after))
		rc = 0;
out:
	s->nhdrs = head_keep(&hb, &s->head, &s->head_len, s->hdrs);
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	return rc;
}

int
harness_sse_get(struct harness *h, const char *path, size_t stop_after,
    struct harness_sse *s)
{
	return harness_sse_request(h, "GET", path, NULL, NULL, stop_after, s);
}

const char *
harness_sse_header(const struct harness_sse *s, const char *name)
{
	return hdr_find(s->hdrs, s->nhdrs, name);
}

void
harness_sse_free(struct harness_sse *s)
{
	size_t	 i;

	for (i = 0; i < s->nev; i++)
		free(s->ev[i].data);
	free(s->buf);
	free(s->head);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------- load */

struct harness_load {
	struct harness		*h;
	char			 path[512];
	int			 nthreads;
	pthread_t		*tids;
	struct harness_counts	*counts;	/* one per thread */
	atomic_bool		 stop;
	bool			 limited;	/* else: until stopped */
	atomic_long		 left;
};

struct load_arg {
	struct harness_load	*l;
	int			 i;
};

static void	load_finish(struct harness_load *, bool,
		    struct harness_counts *);

static size_t
discard_cb(char *ptr, size_t sz, size_t nm, void *ud)
{
	(void)ptr;
	(void)ud;
	return sz * nm;
}

/* Whether this thread should send one more request. */
static bool
load_more(struct harness_load *l)
{
	if (atomic_load(&l->stop))
		return false;
	if (!l->limited)
		return true;
	return atomic_fetch_sub(&l->left, 1) > 0;
}

static void *
load_main(void *arg)
{
	struct harness_load	*l = ((struct load_arg *)arg)->l;
	struct harness_counts	*k = &l->counts[((struct load_arg *)arg)->i];
	CURL			*c;
	long			 st;

	free(arg);
	/* One handle per thread: keep-alive to nginx, like a real client. */
	if ((c = easy_new(l->h, l->path)) == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
	while (load_more(l)) {
		st = 0;
		if (curl_easy_perform(c) != CURLE_OK) {
			k->err++;
			continue;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
		if (st >= 200 && st < 300)
			k->ok++;
		else {
			k->bad++;
			k->last_bad = st;
		}
	}
	curl_easy_cleanup(c);
	return NULL;
}

static struct harness_load *
load_new(struct harness *h, const char *path, int nthreads, long left)
{
	struct harness_load	*l;
	struct load_arg		*a;
	int			 i;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->h = h;
	l->nthreads = 0;
	snprintf(l->path, sizeof(l->path), "%s", path);
	atomic_init(&l->stop, false);
	l->limited = left >= 0;
	atomic_init(&l->left, left);
	l->tids = calloc((size_t)nthreads, sizeof(*l->tids));
	l->counts = calloc((size_t)nthreads, sizeof(*l->counts));
	if (l->tids == NULL || l->counts == NULL)
		goto fail;
	for (i = 0; i < nthreads; i++) {
		if ((a = malloc(sizeof(*a))) == NULL)
			goto fail;
		a->l = l;
		a->i = i;
		if (pthread_create(&l->tids[i], NULL, load_main, a) != 0) {
			free(a);
			goto fail;
		}
		l->nthreads++;
	}
	return l;
fail:
	load_finish(l, true, NULL);
	return NULL;
}

struct harness_load *
harness_load_start(struct harness *h, const char *path, int nthreads)
{
	return load_new(h, path, nthreads, -1);
}

/* Joins the threads (after telling them to stop when `stop'). */
static void
load_finish(struct harness_load *l, bool stop, struct harness_counts *sum)
{
	int	 i;

	if (sum != NULL)
		memset(sum, 0, sizeof(*sum));
	if (l == NULL)
		return;
	if (stop)
		atomic_store(&l->stop, true);
	for (i = 0; i < l->nthreads; i++) {
		pthread_join(l->tids[i], NULL);
		if (sum == NULL)
			continue;
		sum->ok += l->counts[i].ok;
		sum->bad += l->counts[i].bad;
		sum->err += l->counts[i].err;
		if (l->counts[i].last_bad != 0)
			sum->last_bad = l->counts[i].last_bad;
	}
	free(l->tids);
	free(l->counts);
	free(l);
}

void
harness_load_stop(struct harness_load *l, struct harness_counts *sum)
{
	load_finish(l, true, sum);
}

int
harness_load_n(struct harness *h, const char *path, int nthreads,
    unsigned long n, struct harness_counts *sum)
{
	struct harness_load	*l;

	memset(sum, 0, sizeof(*sum));
	if ((l = load_new(h, path, nthreads, (long)n)) == NULL)
		return -1;
	/* The threads end by themselves once `left' runs out. */
	load_finish(l, false, sum);
	return 0;
}

/* ------------------------------------------------------------- fake */

/* Straight to the fake, not through nginx: these routes are its own. */
struct json_object *
harness_fake_json(struct harness *h, const char *path)
{
	struct sbuf		 b = { NULL, 0, 0 };
	struct json_object	*o;
	char			 url[512];
	CURL			*c;
	CURLcode		 rc;

	snprintf(url, sizeof(url), "%s%s", h->fake_url, path);
	assert_non_null(c = curl_easy_init());
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	o = rc == CURLE_OK && b.p != NULL ? json_tokener_parse(b.p) : NULL;
	free(b.p);
	assert_int_equal(rc, CURLE_OK);
	assert_non_null(o);
	return o;
}

/* ------------------------------------------------------------- metrics */

double
harness_metric(const char *text, const char *prefix)
{
	const char	*p = text, *eol, *sp;
	size_t		 plen = strlen(prefix);

	while (p != NULL && *p != '\0') {
		eol = strchr(p, '\n');
		if (strncmp(p, prefix, plen) == 0) {
			/* The value is the last field of the line. */
			sp = eol != NULL ? eol : p + strlen(p);
			while (sp > p && sp[-1] != ' ')
				sp--;
			return strtod(sp, NULL);
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return -1;
}

bool
harness_pool_gone(struct harness *h, const char *path)
{
	struct harness_resp	 r;
	bool			 gone;

	if (harness_get(h, path, &r) == -1)
		return false;
	gone = r.status == 502 && harness_is_envelope(&r, "upstream_error");
	harness_resp_free(&r);
	return gone;
}
