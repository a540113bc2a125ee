/*
 * test_chatkit_files.c: ChatKit attachments and voice input through
 * nginx, against a real PostgreSQL and t/fakellm as the model
 * (CHATKIT.md 1.1, 2.3, 3.6; lib/attachments.c, lib/transcribe.c).
 *
 * attachments.create's two shapes (file, image), the upload by raw PUT
 * and by multipart POST with nothing but the one-time token, each refusal
 * of an upload (token, size, attachment_max, twice), the signed preview
 * and its refusals, delete, attachments in a user's message (shown with
 * their thread, another user's refused before the stream), an image and a
 * text file reaching the model, input.transcribe with and without a
 * transcription model, and no token or signature in any log.
 *
 * Refusals are checked twice: the answer, and the rows read back.
 */
#include "config.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

static struct harness	 H;

#define P_CK		"/api/chatkit"
#define P_ATT		"/api/chatkit/attachments/"
#define KEY		"sk-fake-key-files-0123456789"
#define ATT_MAX		4096
#define ATT_MAX_S	"4096"

/* The config, written once the fake is listening; and without voice. */
static char	 extra[2048];
static char	 extra_novoice[1900];

/* Every token and signature handed out, to look for in the logs. */
#define NSECRETS	128
static char	*secrets[NSECRETS];
static size_t	 nsecrets;

static void
keep(const char *s, size_t len)
{
	if (nsecrets < NSECRETS && len >= 16)
		assert_non_null(secrets[nsecrets++] = strndup(s, len));
}

static int
prepare(struct harness *h)
{
	if (harness_fake_conf(h, KEY,
	    "llm_timeout = 10\n"
	    "llm_retries = 0\n"
	    "llm_vision = yes\n"
	    "messages_per_day = 0\n"
	    "attachment_max = " ATT_MAX_S "\n"
	    "sse_heartbeat = 1\n", extra_novoice, sizeof(extra_novoice)) == -1)
		return -1;
	snprintf(extra, sizeof(extra), "%stranscribe_model = whisper-1\n",
	    extra_novoice);
	return 0;
}

static void
cleanup(struct harness *h)
{
	size_t	 i;

	(void)h;
	for (i = 0; i < nsecrets; i++)
		free(secrets[i]);
	nsecrets = 0;
}

/* ------------------------------------------------------------- helpers */

/* POST /api/chatkit {"type": type, "params": params} as `a'. */
static void
ck(const struct harness_auth *a, const char *type, const char *params,
    struct harness_resp *r)
{
	harness_req(&H, "POST", P_CK,
	    harness_fmt("{\"type\":\"%s\",\"params\":%s}", type, params),
	    a != NULL ? a->auth_header : NULL, NULL, NULL, r);
}

/* What attachments.create handed out. */
struct att {
	char	 id[32];
	char	 upload[512];	/* path and query, from the upload URL */
	char	 preview[512];	/* likewise, "" for a file */
	char	 token[128];
	char	 sig[128];
};

/* The path and query of an absolute URL of this stack. */
static void
local_path(const char *url, char *out, size_t sz)
{
	size_t	 n = strlen(H.base);

	assert_non_null(url);
	if (strncmp(url, H.base, n) != 0)
		fail_msg("%s is not under %s", url, H.base);
	snprintf(out, sz, "%s", url + n);
}

/* The value after `key' (e.g. "token=") in `s' into `out'. */
static void
query_value(const char *s, const char *key, char *out, size_t sz)
{
	const char	*p = strstr(s, key);

	assert_non_null(p);
	p += strlen(key);
	snprintf(out, sz, "%.*s", (int)strcspn(p, "&"), p);
}

/* attachments.create, expecting 200; checks the common shape. */
static void
create(const struct harness_auth *a, const char *name, long size,
    const char *mime, struct att *out)
{
	struct harness_resp	 r;
	struct json_object	*o, *d, *hd;
	const char		*s;

	memset(out, 0, sizeof(*out));
	ck(a, "attachments.create", harness_fmt("{\"name\":\"%s\",\"size\":%ld,"
	    "\"mime_type\":\"%s\"}", name, size, mime), &r);
	harness_want(&H, &r, 200);
	assert_non_null(s = harness_resp_str(&r, "id"));
	snprintf(out->id, sizeof(out->id), "%s", s);
	assert_int_equal(strncmp(out->id, "atc_", 4), 0);
	assert_int_equal(strlen(out->id), 20);
	assert_string_equal(harness_resp_str(&r, "name"), name);
	assert_string_equal(harness_resp_str(&r, "mime_type"), mime);
	assert_string_equal(harness_resp_str(&r, "upload_descriptor.method"),
	    "PUT");
	o = harness_resp_json(&r);
	assert_true(json_object_object_get_ex(o, "upload_descriptor", &d));
	assert_true(json_object_object_get_ex(d, "headers", &hd));
	assert_true(json_object_is_type(hd, json_type_object));
	assert_int_equal(json_object_object_length(hd), 0);
	assert_false(json_object_object_get_ex(o, "thread_id", NULL));
	local_path(harness_resp_str(&r, "upload_descriptor.url"), out->upload,
	    sizeof(out->upload));
	assert_int_equal(strncmp(out->upload,
	    harness_fmt(P_ATT "%s/upload?token=", out->id),
	    strlen(P_ATT) + 20 + 14), 0);
	query_value(out->upload, "token=", out->token, sizeof(out->token));
	assert_true(strlen(out->token) >= 32);
	keep(out->token, strlen(out->token));
	if ((s = harness_resp_str(&r, "preview_url")) != NULL) {
		local_path(s, out->preview, sizeof(out->preview));
		assert_int_equal(strncmp(out->preview, harness_fmt(P_ATT
		    "%s/preview?sig=", out->id), strlen(P_ATT) + 20 + 13), 0);
		query_value(out->preview, "sig=", out->sig, sizeof(out->sig));
		keep(out->sig, strlen(out->sig));
	}
	harness_resp_free(&r);
}

/* A raw upload of len bytes to `path' (no credential but its token). */
static void
upload_raw(const char *method, const char *path, const void *data,
    size_t len, struct harness_resp *r)
{
	const char	*hdrs[] = { "Content-Type: application/octet-stream",
			    NULL };

	snprintf(H.last_req, sizeof(H.last_req), "%s upload %zu bytes",
	    method, len);
	assert_int_equal(harness_request(&H, method, path, hdrs, data, len, r),
	    0);
}

#define BOUNDARY	"----quipuTestBoundary7MA4YWxk"

/* A multipart/form-data POST with field `field' holding the bytes. */
static void
upload_form(const char *path, const char *field, const void *data,
    size_t len, const char *type, struct harness_resp *r)
{
	const char	*hdrs[] = { "Content-Type: multipart/form-data; "
			    "boundary=" BOUNDARY, NULL };
	char		*body, head[512];
	const char	*tail = "\r\n--" BOUNDARY "\r\nContent-Disposition: "
			    "form-data; name=\"note\"\r\n\r\nhi\r\n--" BOUNDARY
			    "--\r\n";
	int		 hn;

	hn = snprintf(head, sizeof(head), "--" BOUNDARY "\r\n"
	    "Content-Disposition: form-data; name=\"purpose\"\r\n\r\n"
	    "attachment\r\n--" BOUNDARY "\r\n"
	    "Content-Disposition: form-data; name=\"%s\"; "
	    "filename=\"pic.png\"\r\nContent-Type: %s\r\n\r\n", field, type);
	assert_non_null(body = malloc((size_t)hn + len + strlen(tail)));
	memcpy(body, head, (size_t)hn);
	memcpy(body + hn, data, len);
	memcpy(body + hn + len, tail, strlen(tail));
	snprintf(H.last_req, sizeof(H.last_req), "POST form %zu bytes", len);
	assert_int_equal(harness_request(&H, "POST", path, hdrs, body,
	    (size_t)hn + len + strlen(tail), r), 0);
	free(body);
}

/* A row's column as text ("" for none or NULL). */
static void
att_col(const char *id, const char *expr, char *out, size_t sz)
{
	const char	*p[1] = { id };

	out[0] = '\0';
	(void)harness_sql(&H,
	    harness_fmt("SELECT %s FROM attachments WHERE id = $1", expr), p, 1,
	    out, sz);
}

/* The stored bytes as hex (without "\x"). */
static void
att_bytes_hex(const char *id, char *out, size_t sz)
{
	att_col(id, "encode(bytes, 'hex')", out, sz);
}

static void
hex_of(const unsigned char *b, size_t len, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * len] = '\0';
}

/* A small PNG-looking file: the signature, then bytes with NULs. */
static void
png_bytes(unsigned char *b, size_t len)
{
	static const unsigned char	 sig[8] = { 0x89, 'P', 'N', 'G', '\r',
					    '\n', 0x1a, '\n' };
	size_t				 i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 7 % 256);
	memcpy(b, sig, len < 8 ? len : 8);
}

/* An uploaded image of `a': create, then PUT. */
static void
image(const struct harness_auth *a, const char *name, struct att *out,
    unsigned char *bytes, size_t len)
{
	struct harness_resp	 r;

	png_bytes(bytes, len);
	create(a, name, (long)len, "image/png", out);
	assert_true(out->preview[0] != '\0');
	upload_raw("PUT", out->upload, bytes, len, &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);
}

/* An uploaded text file of `a'. */
static void
text_file(const struct harness_auth *a, const char *name, const char *text,
    struct att *out)
{
	struct harness_resp	 r;

	create(a, name, (long)strlen(text), "text/plain", out);
	upload_raw("PUT", out->upload, text, strlen(text), &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);
}

/* A user message's input with `text' and attachment ids (JSON list). */
static const char *
input(const char *text, const char *ids)
{
	return harness_fmt("{\"content\":[{\"type\":\"input_text\","
	    "\"text\":\"%s\"}],\"attachments\":[%s],\"quoted_text\":\"\","
	    "\"inference_options\":{}}", text, ids);
}

/* A streaming op; the stream in `s'. */
static void
ck_stream(const struct harness_auth *a, const char *type, const char *params,
    struct harness_sse *s)
{
	const char	*hdrs[] = { a->auth_header, NULL };

	assert_int_equal(harness_sse_request(&H, "POST", P_CK, hdrs,
	    harness_fmt("{\"type\":\"%s\",\"params\":%s}", type, params), 0,
	    s), 0);
}

/* The frame of `type' in the stream, parsed (caller puts), or NULL. */
static struct json_object *
frame(const struct harness_sse *s, const char *type, size_t nth)
{
	struct json_object	*o, *t;
	size_t			 i;

	for (i = 0; i < s->nev; i++) {
		if ((o = json_tokener_parse(s->ev[i].data)) == NULL)
			continue;
		if (json_object_object_get_ex(o, "type", &t) &&
		    strcmp(json_object_get_string(t), type) == 0 &&
		    nth-- == 0)
			return o;
		json_object_put(o);
	}
	return NULL;
}

/* The assistant's text: the item of the last thread.item.done that is an
 * assistant_message. */
static void
assistant_text(const struct harness_sse *s, char *out, size_t sz)
{
	struct json_object	*o, *item, *v, *c0;
	size_t			 i;

	out[0] = '\0';
	for (i = 0; (o = frame(s, "thread.item.done", i)) != NULL; i++) {
		if (json_object_object_get_ex(o, "item", &item) &&
		    json_object_object_get_ex(item, "type", &v) &&
		    strcmp(json_object_get_string(v), "assistant_message") ==
		    0 && json_object_object_get_ex(item, "content", &v) &&
		    (c0 = json_object_array_get_idx(v, 0)) != NULL &&
		    json_object_object_get_ex(c0, "text", &v))
			snprintf(out, sz, "%s", json_object_get_string(v));
		json_object_put(o);
	}
}

/* threads.create with `in' (expects a 200 stream); the thread's id. */
static void
new_thread(const struct harness_auth *a, const char *in, char id[32],
    char *answer, size_t asz)
{
	struct harness_sse	 s;
	struct json_object	*o, *t, *v;

	memset(&s, 0, sizeof(s));
	ck_stream(a, "threads.create", harness_fmt("{\"input\":%s}", in), &s);
	if (s.status != 200)
		fail_msg("threads.create: status %ld", s.status);
	o = frame(&s, "thread.created", 0);
	if (o == NULL) {
		size_t i;

		for (i = 0; i < s.nev; i++)
			fprintf(stderr, "frame: %.300s\n", s.ev[i].data);
		fail_msg("no thread.created frame");
	}
	assert_true(json_object_object_get_ex(o, "thread", &t));
	assert_true(json_object_object_get_ex(t, "id", &v));
	snprintf(id, 32, "%s", json_object_get_string(v));
	json_object_put(o);
	if (answer != NULL)
		assistant_text(&s, answer, asz);
	harness_sse_free(&s);
}

/* ------------------------------------------------------------- tests */

static void
test_create(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct att		 f, img;
	struct json_object	*o;
	char			 v[256];

	(void)state;
	harness_user(&H, "ckf-create", &a);
	create(&a, "notes.txt", 11, "text/plain", &f);
	ck(&a, "attachments.create", "{\"name\":\"notes.txt\",\"size\":11,"
	    "\"mime_type\":\"text/plain\"}", &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "type"), "file");
	o = harness_resp_json(&r);
	assert_false(json_object_object_get_ex(o, "preview_url", NULL));
	keep(strstr(harness_resp_str(&r, "upload_descriptor.url"), "token=") +
	    6, 43);
	harness_resp_free(&r);
	assert_string_equal(f.preview, "");

	create(&a, "cat.png", 100, "image/png", &img);
	assert_true(img.preview[0] != '\0');
	assert_true(strlen(img.sig) >= 32);
	ck(&a, "attachments.create", "{\"name\":\"x.jpg\",\"size\":1,"
	    "\"mime_type\":\"image/jpeg\"}", &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "type"), "image");
	keep(strstr(harness_resp_str(&r, "upload_descriptor.url"), "token=") +
	    6, 43);
	keep(strstr(harness_resp_str(&r, "preview_url"), "sig=") + 4, 43);
	harness_resp_free(&r);
	/* Not an image ChatKit previews: a file. */
	ck(&a, "attachments.create", "{\"name\":\"x.svg\",\"size\":1,"
	    "\"mime_type\":\"image/svg+xml\"}", &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "type"), "file");
	assert_null(harness_resp_str(&r, "preview_url"));
	keep(strstr(harness_resp_str(&r, "upload_descriptor.url"), "token=") +
	    6, 43);
	harness_resp_free(&r);

	/* The row: pending, the token's hash and not the token. */
	att_col(img.id, "(upload_hash IS NOT NULL AND uploaded_at IS NULL AND "
	    "bytes IS NULL AND thread_id IS NULL AND size = 100)::text", v,
	    sizeof(v));
	assert_string_equal(v, "true");
	att_col(img.id, "encode(upload_hash, 'escape')", v, sizeof(v));
	assert_null(strstr(v, img.token));
	att_col(img.id, "preview_url", v, sizeof(v));
	assert_non_null(strstr(v, img.preview));
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM attachments "
	    "WHERE user_id = $1::uuid", a.user_id), 5);
}

static void
test_create_refused(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	const char		*bad[] = {
		"{\"name\":\"a.txt\",\"size\":-1,\"mime_type\":\"text/plain\"}",
		"{\"name\":\"\",\"size\":1,\"mime_type\":\"text/plain\"}",
		"{\"name\":\"a.txt\",\"size\":1,\"mime_type\":\"plain\"}",
		"{\"name\":\"a.txt\",\"size\":1,\"mime_type\":\"text/\"}",
		"{\"name\":\"a.txt\",\"size\":1,\"mime_type\":\"text/pl\\r\\nX: "
		    "y\"}",
		"{\"name\":\"a\\nb\",\"size\":1,\"mime_type\":\"text/plain\"}",
		"{\"size\":1,\"mime_type\":\"text/plain\"}",
		"{\"name\":\"a.txt\",\"mime_type\":\"text/plain\"}",
		"{\"name\":\"a.txt\",\"size\":1}",
		"{\"name\":\"a.txt\",\"size\":\"1\",\"mime_type\":\"text/plain\"}",
		NULL
	};
	size_t			 i;

	(void)state;
	harness_user(&H, "ckf-refused", &a);
	for (i = 0; bad[i] != NULL; i++) {
		ck(&a, "attachments.create", bad[i], &r);
		harness_want_error(&H, &r, 422, "validation_failed");
		harness_resp_free(&r);
	}
	ck(&a, "attachments.create", harness_fmt("{\"name\":\"big.bin\","
	    "\"size\":%d,\"mime_type\":\"application/octet-stream\"}",
	    ATT_MAX + 1), &r);
	harness_want_error(&H, &r, 413, "payload_too_large");
	harness_resp_free(&r);
	ck(NULL, "attachments.create", "{\"name\":\"a.txt\",\"size\":1,"
	    "\"mime_type\":\"text/plain\"}", &r);
	harness_want(&H, &r, 401);
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM attachments "
	    "WHERE user_id = $1::uuid", a.user_id), 0);
}

static void
test_upload_raw(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct att		 f;
	struct json_object	*o;
	const char		*text = "hello world";
	char			 v[256], hex[64];

	(void)state;
	harness_user(&H, "ckf-raw", &a);
	create(&a, "notes.txt", (long)strlen(text), "text/plain", &f);
	upload_raw("PUT", f.upload, text, strlen(text), &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "id"), f.id);
	assert_string_equal(harness_resp_str(&r, "name"), "notes.txt");
	assert_string_equal(harness_resp_str(&r, "mime_type"), "text/plain");
	assert_string_equal(harness_resp_str(&r, "type"), "file");
	o = harness_resp_json(&r);
	assert_false(json_object_object_get_ex(o, "upload_descriptor", NULL));
	assert_false(json_object_object_get_ex(o, "preview_url", NULL));
	harness_resp_free(&r);
	att_bytes_hex(f.id, v, sizeof(v));
	hex_of((const unsigned char *)text, strlen(text), hex);
	assert_string_equal(v, hex);
	att_col(f.id, "(upload_hash IS NULL AND uploaded_at IS NOT NULL)::text",
	    v, sizeof(v));
	assert_string_equal(v, "true");

	/* The token was for one upload. */
	upload_raw("PUT", f.upload, "HELLO WORLD", 11, &r);
	harness_want_error(&H, &r, 409, "conflict");
	harness_resp_free(&r);
	upload_raw("POST", f.upload, "HELLO WORLD", 11, &r);
	harness_want(&H, &r, 409);
	harness_resp_free(&r);
	att_bytes_hex(f.id, v, sizeof(v));
	assert_string_equal(v, hex);

	/* An empty file, announced as such, is a file. */
	create(&a, "empty.txt", 0, "text/plain", &f);
	upload_raw("PUT", f.upload, "", 0, &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);
	att_col(f.id, "(uploaded_at IS NOT NULL AND octet_length(bytes) = 0)"
	    "::text", v, sizeof(v));
	assert_string_equal(v, "true");
}

static void
test_upload_form(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct att		 f;
	unsigned char		 png[300];
	char			 v[1024], hex[1024];

	(void)state;
	harness_user(&H, "ckf-form", &a);
	png_bytes(png, sizeof(png));
	create(&a, "pic.png", (long)sizeof(png), "image/png", &f);
	/* No file field: nothing stored, the token still good. */
	upload_form(f.upload, "picture", png, sizeof(png), "image/png", &r);
	harness_want_error(&H, &r, 400, "bad_request");
	harness_resp_free(&r);
	att_col(f.id, "(uploaded_at IS NULL)::text", v, sizeof(v));
	assert_string_equal(v, "true");
	upload_form(f.upload, "file", png, sizeof(png), "image/png", &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "type"), "image");
	assert_non_null(strstr(harness_resp_str(&r, "preview_url"), f.sig));
	harness_resp_free(&r);
	/* The file's bytes exactly, without the form around them. */
	att_bytes_hex(f.id, v, sizeof(v));
	hex_of(png, sizeof(png), hex);
	assert_string_equal(v, hex);
}

static void
test_upload_refused(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct att		 f, g;
	unsigned char		*big;
	char			 v[256], path[600];
	const char		*text = "0123456789";

	(void)state;
	harness_user(&H, "ckf-upref-a", &a);
	harness_user(&H, "ckf-upref-b", &b);
	create(&a, "ten.txt", 10, "text/plain", &f);
	/* No token, a wrong one, another attachment's. */
	snprintf(path, sizeof(path), P_ATT "%s/upload", f.id);
	upload_raw("PUT", path, text, 10, &r);
	harness_want_error(&H, &r, 403, "forbidden");
	harness_resp_free(&r);
	snprintf(path, sizeof(path), P_ATT "%s/upload?token=%s", f.id,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	upload_raw("PUT", path, text, 10, &r);
	harness_want(&H, &r, 403);
	harness_resp_free(&r);
	create(&b, "other.txt", 10, "text/plain", &g);
	snprintf(path, sizeof(path), P_ATT "%s/upload?token=%s", f.id,
	    g.token);
	upload_raw("PUT", path, text, 10, &r);
	harness_want(&H, &r, 403);
	harness_resp_free(&r);
	/* An id that is not there, one that is not an id. */
	snprintf(path, sizeof(path), P_ATT "atc_aaaaaaaaaaaaaaaa/upload?"
	    "token=%s", f.token);
	upload_raw("PUT", path, text, 10, &r);
	harness_want_error(&H, &r, 404, "not_found");
	harness_resp_free(&r);
	upload_raw("PUT", P_ATT "nope/upload?token=x", text, 10, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	/* Not the size announced: fewer bytes, more bytes. */
	upload_raw("PUT", f.upload, text, 9, &r);
	harness_want_error(&H, &r, 422, "validation_failed");
	assert_non_null(harness_resp_str(&r, "error.details.size"));
	harness_resp_free(&r);
	upload_raw("PUT", f.upload, "0123456789X", 11, &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	att_col(f.id, "(uploaded_at IS NULL AND bytes IS NULL AND "
	    "upload_hash IS NOT NULL)::text", v, sizeof(v));
	assert_string_equal(v, "true");
	/* None of that spent the token. */
	upload_raw("PUT", f.upload, text, 10, &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);

	/* Over attachment_max, whatever was announced. */
	create(&a, "max.bin", ATT_MAX, "application/octet-stream", &f);
	assert_non_null(big = calloc(1, ATT_MAX + 1));
	upload_raw("PUT", f.upload, big, ATT_MAX + 1, &r);
	harness_want_error(&H, &r, 413, "payload_too_large");
	harness_resp_free(&r);
	att_col(f.id, "(uploaded_at IS NULL)::text", v, sizeof(v));
	assert_string_equal(v, "true");
	upload_raw("PUT", f.upload, big, ATT_MAX, &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);
	free(big);
}

static void
test_preview(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct att		 img, img2, other, pending;
	unsigned char		 png[500], png2[64];
	char			 path[600], badsig[128];

	(void)state;
	harness_user(&H, "ckf-prev-a", &a);
	harness_user(&H, "ckf-prev-b", &b);
	image(&a, "cat.png", &img, png, sizeof(png));
	harness_req(&H, "GET", img.preview, NULL, NULL, NULL, NULL, &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_header(&r, "content-type"),
	    "image/png");
	assert_string_equal(harness_resp_header(&r, "cache-control"),
	    "private, max-age=3600");
	assert_string_equal(harness_resp_header(&r, "x-content-type-options"),
	    "nosniff");
	assert_int_equal(r.body_len, sizeof(png));
	assert_memory_equal(r.body, png, sizeof(png));
	harness_resp_free(&r);
	/* Whoever has the URL may fetch it: no other credential needed, and
	 * none changes anything. */
	harness_req(&H, "GET", img.preview, NULL, b.auth_header, NULL, NULL,
	    &r);
	harness_want(&H, &r, 200);
	harness_resp_free(&r);

	/* No signature, a wrong one, a truncated one. */
	snprintf(path, sizeof(path), P_ATT "%s/preview", img.id);
	harness_req(&H, "GET", path, NULL, NULL, NULL, NULL, &r);
	harness_want_error(&H, &r, 404, "not_found");
	harness_resp_free(&r);
	snprintf(badsig, sizeof(badsig), "%s", img.sig);
	badsig[0] = badsig[0] == 'A' ? 'B' : 'A';
	harness_req(&H, "GET",
	    harness_fmt(P_ATT "%s/preview?sig=%s", img.id, badsig), NULL, NULL,
	    NULL, NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	badsig[0] = img.sig[0];
	badsig[strlen(badsig) - 1] = '\0';
	harness_req(&H, "GET",
	    harness_fmt(P_ATT "%s/preview?sig=%s", img.id, badsig), NULL, NULL,
	    NULL, NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);

	/* Another user's image: one's own signature opens nothing else. */
	image(&b, "dog.png", &other, png2, sizeof(png2));
	harness_req(&H, "GET", harness_fmt(P_ATT "%s/preview?sig=%s", other.id,
	    img.sig), NULL, a.auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	harness_req(&H, "GET", harness_fmt(P_ATT "%s/preview?sig=%s", img.id,
	    other.sig), NULL, b.auth_header, NULL, NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	image(&a, "cat2.png", &img2, png2, sizeof(png2));
	assert_string_not_equal(img.sig, img2.sig);

	/* Not uploaded yet: nothing to show. */
	create(&a, "later.png", 10, "image/png", &pending);
	harness_req(&H, "GET", pending.preview, NULL, NULL, NULL, NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
}

static void
test_delete(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct att		 img;
	unsigned char		 png[40];
	char			 v[64];

	(void)state;
	harness_user(&H, "ckf-del-a", &a);
	harness_user(&H, "ckf-del-b", &b);
	image(&a, "gone.png", &img, png, sizeof(png));
	/* Not B's to delete. */
	ck(&b, "attachments.delete",
	    harness_fmt("{\"attachment_id\":\"%s\"}", img.id), &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	att_col(img.id, "count(*)::text", v, sizeof(v));
	assert_string_equal(v, "1");

	ck(&a, "attachments.delete",
	    harness_fmt("{\"attachment_id\":\"%s\"}", img.id), &r);
	harness_want(&H, &r, 200);
	assert_string_equal(r.body, "{}");
	harness_resp_free(&r);
	att_col(img.id, "count(*)::text", v, sizeof(v));
	assert_string_equal(v, "0");
	harness_req(&H, "GET", img.preview, NULL, NULL, NULL, NULL, &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	ck(&a, "attachments.delete",
	    harness_fmt("{\"attachment_id\":\"%s\"}", img.id), &r);
	harness_want_error(&H, &r, 404, "not_found");
	harness_resp_free(&r);
	/* The upload URL of a deleted attachment is dead too. */
	upload_raw("PUT", img.upload, png, sizeof(png), &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
}

static void
test_message_attachment(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct att		 f, img;
	unsigned char		 png[64];
	struct json_object	*o, *data, *it, *atts, *x;
	char			 thread[32], answer[4096], v[64];
	size_t			 i;
	bool			 seen = false;

	(void)state;
	harness_user(&H, "ckf-msg", &a);
	text_file(&a, "list.txt", "milk and eggs", &f);
	image(&a, "fridge.png", &img, png, sizeof(png));
	new_thread(&a, input("what do I need?",
	    harness_fmt("\"%s\",\"%s\"", f.id, img.id)), thread, answer,
	    sizeof(answer));
	/* The text file was inlined for the model, which echoes it. */
	assert_non_null(strstr(answer, "what do I need?"));
	assert_non_null(strstr(answer, "milk and eggs"));
	assert_non_null(strstr(answer, "[images: 1]"));

	ck(&a, "items.list", harness_fmt("{\"thread_id\":\"%s\","
	    "\"order\":\"asc\"}", thread), &r);
	harness_want(&H, &r, 200);
	o = harness_resp_json(&r);
	assert_true(json_object_object_get_ex(o, "data", &data));
	for (i = 0; i < json_object_array_length(data); i++) {
		it = json_object_array_get_idx(data, i);
		if (!json_object_object_get_ex(it, "type", &x) ||
		    strcmp(json_object_get_string(x), "user_message") != 0)
			continue;
		seen = true;
		assert_true(json_object_object_get_ex(it, "attachments", &atts));
		assert_int_equal(json_object_array_length(atts), 2);
		x = json_object_array_get_idx(atts, 0);
		assert_string_equal(json_object_get_string(
		    json_object_object_get(x, "id")), f.id);
		assert_string_equal(json_object_get_string(
		    json_object_object_get(x, "name")), "list.txt");
		assert_string_equal(json_object_get_string(
		    json_object_object_get(x, "type")), "file");
		assert_string_equal(json_object_get_string(
		    json_object_object_get(x, "mime_type")), "text/plain");
		assert_string_equal(json_object_get_string(
		    json_object_object_get(x, "thread_id")), thread);
		assert_false(json_object_object_get_ex(x, "upload_descriptor",
		    NULL));
		assert_false(json_object_object_get_ex(x, "preview_url", NULL));
		x = json_object_array_get_idx(atts, 1);
		assert_string_equal(json_object_get_string(
		    json_object_object_get(x, "id")), img.id);
		assert_string_equal(json_object_get_string(
		    json_object_object_get(x, "type")), "image");
		assert_string_equal(json_object_get_string(
		    json_object_object_get(x, "thread_id")), thread);
		assert_non_null(strstr(json_object_get_string(
		    json_object_object_get(x, "preview_url")), img.preview));
	}
	assert_true(seen);
	harness_resp_free(&r);
	att_col(f.id, "thread_id", v, sizeof(v));
	assert_string_equal(v, thread);
	att_col(img.id, "thread_id", v, sizeof(v));
	assert_string_equal(v, thread);
}

static void
test_image_reaches_model(void **state)
{
	struct harness_auth	 a;
	struct harness_sse	 s;
	struct att		 img;
	unsigned char		 png[120];
	struct json_object	*last, *body, *msgs, *m, *content, *p, *u;
	char			 thread[32], answer[2048];
	size_t			 i, images = 0;
	const char		*url;

	(void)state;
	harness_user(&H, "ckf-vision", &a);
	new_thread(&a, input("hello", ""), thread, answer, sizeof(answer));
	assert_null(strstr(answer, "[images:"));
	image(&a, "chart.png", &img, png, sizeof(png));
	memset(&s, 0, sizeof(s));
	ck_stream(&a, "threads.add_user_message",
	    harness_fmt("{\"thread_id\":\"%s\",\"input\":%s}", thread,
	    input("see this", harness_fmt("\"%s\"", img.id))), &s);
	assert_int_equal(s.status, 200);
	assistant_text(&s, answer, sizeof(answer));
	harness_sse_free(&s);
	assert_non_null(strstr(answer, "see this"));
	assert_non_null(strstr(answer, "[images: 1]"));

	/* As the model got it: a data: URL of the bytes. */
	last = harness_fake_json(&H, "/_fake/last");
	assert_true(json_object_object_get_ex(last, "body", &body));
	assert_true(json_object_object_get_ex(body, "messages", &msgs));
	m = json_object_array_get_idx(msgs, json_object_array_length(msgs) -
	    1);
	assert_string_equal(json_object_get_string(json_object_object_get(m,
	    "role")), "user");
	assert_true(json_object_object_get_ex(m, "content", &content));
	assert_true(json_object_is_type(content, json_type_array));
	for (i = 0; i < json_object_array_length(content); i++) {
		p = json_object_array_get_idx(content, i);
		if (!json_object_object_get_ex(p, "image_url", &u))
			continue;
		images++;
		url = json_object_get_string(json_object_object_get(u, "url"));
		assert_non_null(url);
		assert_int_equal(strncmp(url, "data:image/png;base64,iVBORw",
		    28), 0);
	}
	assert_int_equal(images, 1);
	json_object_put(last);
}

static void
test_message_refused(void **state)
{
	struct harness_auth	 a, b;
	struct harness_resp	 r;
	struct att		 mine, theirs, pending;
	char			 thread[32];

	(void)state;
	harness_user(&H, "ckf-msgref-a", &a);
	harness_user(&H, "ckf-msgref-b", &b);
	text_file(&b, "secret.txt", "b's secret", &theirs);
	text_file(&a, "mine.txt", "mine", &mine);
	create(&a, "pending.txt", 5, "text/plain", &pending);

	/* Before the stream: 404, and nothing stored. */
	ck(&a, "threads.create", harness_fmt("{\"input\":%s}", input("read it",
	    harness_fmt("\"%s\"", theirs.id))), &r);
	harness_want_error(&H, &r, 404, "not_found");
	assert_non_null(strstr(r.body, theirs.id));
	harness_resp_free(&r);
	ck(&a, "threads.create", harness_fmt("{\"input\":%s}", input("read it",
	    harness_fmt("\"%s\",\"%s\"", mine.id, pending.id))), &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	ck(&a, "threads.create", harness_fmt("{\"input\":%s}", input("read it",
	    "\"atc_aaaaaaaaaaaaaaaa\"")), &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM threads "
	    "WHERE user_id = $1::uuid", a.user_id), 0);

	new_thread(&a, input("hi", ""), thread, NULL, 0);
	ck(&a, "threads.add_user_message", harness_fmt("{\"thread_id\":\"%s\","
	    "\"input\":%s}", thread, input("and this", harness_fmt("\"%s\"",
	    theirs.id))), &r);
	harness_want(&H, &r, 404);
	harness_resp_free(&r);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM items "
	    "WHERE thread_id = $1", thread), 2);
	assert_int_equal(harness_sql_long(&H, "SELECT count(*) FROM attachments "
	    "WHERE thread_id IS NOT NULL AND user_id = $1::uuid", b.user_id),
	    0);
}

static void
test_transcribe(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;
	struct json_object	*last, *body;
	char			*big;

	(void)state;
	harness_user(&H, "ckf-voice", &a);
	/* 12 bytes: "hello, voice" */
	ck(&a, "input.transcribe", "{\"audio_base64\":\"aGVsbG8sIHZvaWNl\","
	    "\"mime_type\":\"audio/webm;codecs=opus\"}", &r);
	harness_want(&H, &r, 200);
	assert_string_equal(harness_resp_str(&r, "text"),
	    "transcript of 12 bytes of audio/webm");
	harness_resp_free(&r);
	last = harness_fake_json(&H, "/_fake/last");
	assert_true(json_object_object_get_ex(last, "body", &body));
	assert_string_equal(json_object_get_string(json_object_object_get(body,
	    "model")), "whisper-1");
	assert_string_equal(json_object_get_string(json_object_object_get(body,
	    "filename")), "audio.webm");
	assert_true(json_object_get_boolean(json_object_object_get(last,
	    "authorization")));
	json_object_put(last);

	ck(&a, "input.transcribe", "{\"audio_base64\":\"not base64!\","
	    "\"mime_type\":\"audio/ogg\"}", &r);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	/* Over attachment_max once decoded. */
	big = harness_rep("AAAA", ATT_MAX / 3 + 4);
	ck(&a, "input.transcribe", harness_fmt("{\"audio_base64\":\"%s\","
	    "\"mime_type\":\"audio/mp4\"}", big), &r);
	free(big);
	harness_want(&H, &r, 422);
	harness_resp_free(&r);
	ck(NULL, "input.transcribe", "{\"audio_base64\":\"aGVsbG8=\","
	    "\"mime_type\":\"audio/ogg\"}", &r);
	harness_want(&H, &r, 401);
	harness_resp_free(&r);
}

/* Last but one: nothing secret reached a log. */
static void
test_no_secrets_in_logs(void **state)
{
	const char	*ngx[] = { "nginx-error.log", "nginx-access.log", NULL };
	char		 paths[4][HARNESS_PATH + 32], *text;
	size_t		 nf = 0, i, j, bad = 0;

	(void)state;
	assert_true(nsecrets > 10);
	snprintf(paths[nf++], sizeof(paths[0]), "%s", H.error_log);
	snprintf(paths[nf++], sizeof(paths[0]), "%s", H.access_log);
	for (i = 0; ngx[i] != NULL; i++)
		snprintf(paths[nf++], sizeof(paths[0]), "%s/%s", H.nginx_dir,
		    ngx[i]);
	for (i = 0; i < nf; i++) {
		if ((text = harness_read_file(paths[i], NULL)) == NULL)
			continue;
		/* quipu's access log saw the uploads, by path. */
		if (i == 1)
			assert_non_null(strstr(text, "/upload"));
		for (j = 0; j < nsecrets; j++)
			if (strstr(text, secrets[j]) != NULL) {
				fprintf(stderr, "secret #%zu found in %s\n", j,
				    paths[i]);
				bad++;
			}
		free(text);
	}
	assert_int_equal(bad, 0);
}

/* Last: quipu without a transcription model. */
static void
test_transcribe_unconfigured(void **state)
{
	struct harness_auth	 a;
	struct harness_resp	 r;

	(void)state;
	assert_int_equal(harness_restart_quipu(&H, extra_novoice), 0);
	harness_user(&H, "ckf-novoice", &a);
	ck(&a, "input.transcribe", "{\"audio_base64\":\"aGVsbG8=\","
	    "\"mime_type\":\"audio/ogg\"}", &r);
	harness_want_error(&H, &r, 503, "unavailable");
	assert_string_equal(harness_resp_str(&r, "error.message"),
	    "transcription is not configured");
	harness_resp_free(&r);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_create_refused),
		cmocka_unit_test(test_upload_raw),
		cmocka_unit_test(test_upload_form),
		cmocka_unit_test(test_upload_refused),
		cmocka_unit_test(test_preview),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_message_attachment),
		cmocka_unit_test(test_image_reaches_model),
		cmocka_unit_test(test_message_refused),
		cmocka_unit_test(test_transcribe),
		cmocka_unit_test(test_no_secrets_in_logs),
		cmocka_unit_test(test_transcribe_unconfigured),
	};
	static const struct harness_group group = {
		"test_chatkit_files", extra, true, prepare, cleanup
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
