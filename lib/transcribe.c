/*
 * transcribe.c: input.transcribe through an OpenAI-compatible
 * /audio/transcriptions endpoint (multipart/form-data: file, model).
 *
 * One blocking libcurl call per recording on a handle of its own: voice
 * input is rare next to chat turns, so the keep-alive connection and
 * disconnect checks of lib/llm.c are not worth sharing here. The
 * timeouts are the model's (llm_connect_timeout, llm_timeout).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <sodium.h>

#include "app.h"
#include "arena.h"
#include "conf.h"
#include "jsonx.h"
#include "llm.h"
#include "log.h"
#include "transcribe.h"

#define TR_MIME_MAX	255
#define TR_PATH		"/audio/transcriptions"

/* The body of the service's answer, up to `max' bytes. */
struct tr_body {
	struct arena		*arena;
	struct arena_str	 s;
	size_t			 max;
	bool			 toolong;
};

/* The service reads the format from the file name's extension. */
static const struct {
	const char	*type;
	const char	*ext;
} tr_exts[] = {
	{ "audio/webm", "webm" }, { "video/webm", "webm" },
	{ "audio/ogg", "ogg" }, { "audio/opus", "ogg" },
	{ "audio/mp4", "mp4" }, { "audio/m4a", "m4a" },
	{ "audio/x-m4a", "m4a" }, { "audio/aac", "m4a" },
	{ "audio/mpeg", "mp3" }, { "audio/mp3", "mp3" },
	{ "audio/wav", "wav" }, { "audio/wave", "wav" },
	{ "audio/x-wav", "wav" }, { "audio/flac", "flac" },
	{ "audio/x-flac", "flac" },
};

/* The type without parameters, lower case; false when `m' is no type. */
static bool
tr_essence(const char *m, char out[TR_MIME_MAX + 1])
{
	size_t	 i, n;

	if (m == NULL || (n = strlen(m)) == 0 || n > TR_MIME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)m[i] < 0x20 || (unsigned char)m[i] >= 0x7f)
			return false;
	for (i = 0; m[i] != '\0' && m[i] != ';' && m[i] != ' '; i++)
		out[i] = (char)tolower((unsigned char)m[i]);
	out[i] = '\0';
	return strchr(out, '/') != NULL && out[0] != '/' &&
	    out[i - 1] != '/';
}

static const char *
tr_ext(const char *essence)
{
	size_t	 i;

	for (i = 0; i < sizeof(tr_exts) / sizeof(tr_exts[0]); i++)
		if (strcmp(essence, tr_exts[i].type) == 0)
			return tr_exts[i].ext;
	return "bin";
}

/*
 * Decodes the recording into the arena: *bin, *len. A data: URL prefix
 * and white space are skipped; padding is optional. APP_EVALIDATION with
 * *why when it is not base64, empty or longer than `max' bytes.
 */
static enum app_err
tr_decode(struct arena *ar, const char *b64, long max, unsigned char **bin,
    size_t *len, const char **why)
{
	const char	*comma, *end;
	size_t		 n, cap;

	if (b64 == NULL)
		b64 = "";
	if (strncmp(b64, "data:", 5) == 0 && (comma = strchr(b64, ',')) !=
	    NULL)
		b64 = comma + 1;
	n = strlen(b64);
	cap = n / 4 * 3 + 3;
	/* Base64 with white space is a little longer than its bytes say. */
	if (n / 4 * 3 > (size_t)max + (size_t)max / 8 + 3) {
		*why = arena_printf(ar, "the recording exceeds %ld bytes", max);
		return APP_EVALIDATION;
	}
	if ((*bin = arena_alloc(ar, cap)) == NULL)
		return APP_ENOMEM;
	if ((sodium_base642bin(*bin, cap, b64, n, " \t\r\n", len, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || *end != '\0') &&
	    (sodium_base642bin(*bin, cap, b64, n, " \t\r\n", len, &end,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 || *end != '\0')) {
		*why = "audio_base64 is not base64";
		return APP_EVALIDATION;
	}
	if (*len == 0) {
		*why = "the recording is empty";
		return APP_EVALIDATION;
	}
	if (*len > (size_t)max) {
		*why = arena_printf(ar, "the recording exceeds %ld bytes", max);
		return APP_EVALIDATION;
	}
	return APP_OK;
}

static size_t
tr_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct tr_body	*b = arg;
	size_t		 n = size * nmemb;

	if (n > b->max - b->s.len) {
		b->toolong = true;
		return 0;
	}
	if (arena_str_add(b->arena, &b->s, p, n) == -1)
		return 0;
	return n;
}

/* The multipart form: file, model, response_format. NULL on ENOMEM. */
static curl_mime *
tr_form(CURL *h, const unsigned char *bin, size_t len, const char *essence,
    const char *model)
{
	curl_mime	*m;
	curl_mimepart	*p;
	char		 fname[32];

	snprintf(fname, sizeof(fname), "audio.%s", tr_ext(essence));
	if ((m = curl_mime_init(h)) == NULL)
		return NULL;
	if ((p = curl_mime_addpart(m)) == NULL ||
	    curl_mime_name(p, "file") != CURLE_OK ||
	    curl_mime_data(p, (const char *)bin, len) != CURLE_OK ||
	    curl_mime_filename(p, fname) != CURLE_OK ||
	    curl_mime_type(p, essence) != CURLE_OK ||
	    (p = curl_mime_addpart(m)) == NULL ||
	    curl_mime_name(p, "model") != CURLE_OK ||
	    curl_mime_data(p, model, CURL_ZERO_TERMINATED) != CURLE_OK ||
	    (p = curl_mime_addpart(m)) == NULL ||
	    curl_mime_name(p, "response_format") != CURLE_OK ||
	    curl_mime_data(p, "json", CURL_ZERO_TERMINATED) != CURLE_OK) {
		curl_mime_free(m);
		return NULL;
	}
	return m;
}

/* The service's URL: llm_base_url without its trailing slashes. */
static char *
tr_url(struct arena *ar, const char *base)
{
	size_t	 n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return arena_printf(ar, "%.*s" TR_PATH, (int)n, base);
}

/* The "text" of a 200 answer. */
static enum app_err
tr_answer(struct arena *ar, const struct tr_body *b, char **text,
    const char **why)
{
	struct json_object	*o, *t;
	enum app_err		 e = APP_EUPSTREAM;

	*why = "the transcription service answered no text";
	if (b->s.p == NULL || jsonx_parse(b->s.p, b->s.len, &o, NULL) !=
	    APP_OK)
		return APP_EUPSTREAM;
	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "text", &t) &&
	    json_object_is_type(t, json_type_string)) {
		*text = arena_strndup(ar, json_object_get_string(t),
		    (size_t)json_object_get_string_len(t));
		e = *text != NULL ? APP_OK : APP_ENOMEM;
		*why = NULL;
	}
	json_object_put(o);
	return e;
}

/* Sets the options of the one request. -1 when one is refused. */
static int
tr_setopts(CURL *h, const struct conf *c, const char *url,
    struct curl_slist *hdrs, curl_mime *form, struct tr_body *b)
{
	int	 bad = 0;

	bad |= llm_curl_request(h, url, hdrs) == -1;
	bad |= curl_easy_setopt(h, CURLOPT_MIMEPOST, form) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
	    (long)c->llm_timeout * 1000) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)c->llm_connect_timeout * 1000) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tr_write) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, b) != CURLE_OK;
	return bad ? -1 : 0;
}

/* One POST to the service; *status its HTTP status (0: none came). */
static enum app_err
tr_post(struct arena *ar, const struct conf *c, const unsigned char *bin,
    size_t len, const char *essence, struct tr_body *b, long *status,
    const char **why)
{
	struct curl_slist	*hdrs = NULL;
	curl_mime		*form = NULL;
	const char		*url;
	CURL			*h;
	CURLcode		 cc;
	enum app_err		 e = APP_ENOMEM;

	*status = 0;
	if ((url = tr_url(ar, c->llm_base_url)) == NULL ||
	    (h = curl_easy_init()) == NULL)
		return APP_ENOMEM;
	if ((hdrs = llm_curl_headers(c->llm_key, NULL,
	    "Accept: application/json")) == NULL ||
	    (form = tr_form(h, bin, len, essence, c->transcribe_model)) ==
	    NULL)
		goto out;
	if (tr_setopts(h, c, url, hdrs, form, b) == -1) {
		e = APP_EINTERNAL;
		goto out;
	}
	cc = curl_easy_perform(h);
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	e = APP_OK;
	if (b->toolong) {
		*why = "the transcription service's answer is too long";
		e = APP_EUPSTREAM;
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		*why = "the transcription service did not answer in time";
		e = APP_EUPSTREAM;
	} else if (cc != CURLE_OK) {
		*why = arena_printf(ar, "cannot reach the transcription "
		    "service: %s", curl_easy_strerror(cc));
		if (*why == NULL)
			*why = "cannot reach the transcription service";
		e = APP_EUPSTREAM;
	}
out:
	curl_mime_free(form);
	llm_curl_headers_free(hdrs);
	curl_easy_cleanup(h);
	return e;
}

enum app_err
transcribe_audio(struct app *app, struct arena *ar, const char *audio_base64,
    const char *mime_type, char **text, const char **why)
{
	const struct conf	*c = app->conf;
	char			 essence[TR_MIME_MAX + 1];
	unsigned char		*bin;
	struct tr_body		 b;
	size_t			 len;
	long			 status;
	enum app_err		 e;

	*text = NULL;
	*why = NULL;
	if (c->transcribe_model == NULL || c->transcribe_model[0] == '\0') {
		*why = "transcription is not configured";
		return APP_EUNAVAIL;
	}
	if (!tr_essence(mime_type, essence)) {
		*why = "mime_type is not a media type";
		return APP_EVALIDATION;
	}
	if ((e = tr_decode(ar, audio_base64, c->attachment_max, &bin, &len,
	    why)) != APP_OK)
		return e;
	if ((e = llm_global_init()) != APP_OK)
		return e;
	memset(&b, 0, sizeof(b));
	b.arena = ar;
	b.max = (size_t)c->llm_max_response;
	if ((e = tr_post(ar, c, bin, len, essence, &b, &status, why)) !=
	    APP_OK) {
		if (e == APP_EUPSTREAM)
			log_warnx("transcription failed: %s", *why);
		return e;
	}
	if (status < 200 || status > 299) {
		*why = arena_printf(ar, "the transcription service answered "
		    "HTTP %ld", status);
		if (*why == NULL)
			*why = "the transcription service failed";
		log_warnx("transcription failed: HTTP %ld", status);
		return APP_EUPSTREAM;
	}
	return tr_answer(ar, &b, text, why);
}
