/*
 * attachments.h: files a ChatKit user attaches to a message.
 *
 * Two-phase upload (CHATKIT.md 1.1, 3.6): attachments.create stores a row
 * with the SHA-256 of a fresh one-time token and answers an upload URL
 * carrying that token; the browser then PUTs (or POSTs) the bytes there
 * without any other credential. An image also gets a preview URL with a
 * random token of its own (its SHA-256 stored), so that only who was
 * given the URL (its owner) can fetch it. A user message names its attachments by id;
 * the model is given images as data: URLs (when it reads images), short
 * text files inlined, and a note for anything else.
 *
 * The rows are in table attachments (sql/005_chatkit.sql). Every
 * statement that knows the user filters on user_id, so another user's
 * attachment is simply not found.
 */
#ifndef QUIPU_ATTACHMENTS_H
#define QUIPU_ATTACHMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apperr.h"

struct arena;
struct db_pool;
struct http_request;
struct http_response;

#define ATTACHMENT_ID_SIZE	21	/* "atc_" + 16 base32 + NUL */
#define ATTACHMENT_NAME_MAX	255	/* characters */
#define ATTACHMENT_MIME_MAX	255
#define ATTACHMENT_TEXT_MAX	65536	/* bytes of a text file inlined */
#define ATTACHMENT_PER_MESSAGE	20	/* a sane bound for callers */

/*
 * attachments.create: stores the row (id "atc_" + 16 base32) with the
 * SHA-256 of a fresh one-time upload token, and answers *json (arena),
 * the ChatKit Attachment: {"id","name","mime_type","type":"image"|"file",
 * "preview_url"? (images: image/png, image/jpeg, image/gif, image/webp),
 * "upload_descriptor":{"url":"<base>/api/chatkit/attachments/<id>/upload
 * ?token=<token>","method":"PUT","headers":{}}}. <base> is conf public_url,
 * else the request's scheme (HTTPS=on or X-Forwarded-Proto) and Host (with
 * nginx's SERVER_PORT when the Host has no port and no proxy is in front),
 * or nothing (a relative URL) when the Host is missing or odd. preview_url is
 * "<base>/api/chatkit/attachments/<id>/preview?sig=<token>"; it is
 * stored in the row, the token's SHA-256 in preview_hash. APP_EVALIDATION for a bad name (1-255
 * characters, no control characters), mime type (1-255, "type/subtype"
 * and optional parameters) or a negative size; APP_ETOOBIG for a size over
 * attachment_max. req->user_id is the owner.
 */
enum app_err	 attachments_create(struct http_request *, const char *name,
		    int64_t size, const char *mime_type, char **json) MUSTCHECK;

/* attachments.delete: removes the user's attachment (row and bytes).
 * APP_ENOTFOUND if none (a malformed id included). */
enum app_err	 attachments_delete(struct db_pool *, const char *user_id,
		    const char *id) MUSTCHECK;

/*
 * The attachments a user message names: each must be the user's and
 * uploaded, else APP_ENOTFOUND with *missing the first bad id. *json
 * (arena): the JSON array of their Attachment objects as the message
 * stores them: id, name, mime_type, type, preview_url (images),
 * "thread_id":<thread_id> (left out when NULL), no upload_descriptor; an
 * id named twice appears once. n == 0 gives "[]". Changes nothing (it
 * runs before the thread may exist).
 */
enum app_err	 attachments_check(struct db_pool *, struct arena *,
		    const char *user_id, const char *thread_id,
		    const char *const *ids, size_t n, char **json,
		    const char **missing) MUSTCHECK;

/* Records that the thread's message uses them (sets thread_id; the thread
 * must exist). Ids that are not the user's are left alone. */
enum app_err	 attachments_bind(struct db_pool *, const char *user_id,
		    const char *thread_id, const char *const *ids, size_t n)
		    MUSTCHECK;

/*
 * What the model is given for the user's attachments `ids', in their
 * order. *parts (arena): a JSON array of OpenAI chat content parts:
 * images as {"type":"image_url","image_url":{"url":"data:<mime>;base64,
 * ..."}} when `vision'; text files (text/..., application/json, csv,
 * markdown; at most ATTACHMENT_TEXT_MAX bytes of valid UTF-8) as
 * {"type":"text","text":"Attached file <name>:\n<text>"}; anything else
 * (and images without vision) as a text part naming the file, its type
 * and size. *note: the same as plain text, for models that take only
 * text (images named, text files inlined). Ids that are gone (deleted,
 * not uploaded, another user's) are left out; both are NULL when nothing
 * is left, n == 0 included.
 */
enum app_err	 attachments_model_input(struct db_pool *, struct arena *,
		    const char *user_id, const char *const *ids, size_t n,
		    bool vision, char **parts, char **note) MUSTCHECK;

/*
 * Routes, not ROUTE_AUTH (the token or signature in the URL is the
 * credential), and not JSON: params[0] is the id.
 * upload (PUT or POST): the raw body, or multipart/form-data with a
 * "file" field; the one-time token must match (constant-time compare of
 * hashes) and the size must equal the announced one (422 otherwise) and
 * be at most attachment_max (413). Answers 200 with the Attachment (no
 * upload_descriptor). No token or a wrong one: 403; an unknown id: 404;
 * a second upload: 409.
 * preview (GET): sig must be the preview token; answers the bytes with Content-Type the
 * stored mime type, Cache-Control: private, max-age=3600 and
 * X-Content-Type-Options: nosniff; 404 when missing, not uploaded,
 * deleted or the token is wrong.
 */
enum app_err	 attachments_http_upload(struct http_request *,
		    struct http_response *);
enum app_err	 attachments_http_preview(struct http_request *,
		    struct http_response *);

#endif
