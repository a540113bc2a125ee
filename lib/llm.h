/*
 * llm.h: one client for any OpenAI-compatible Chat Completions API, and
 * the builtin offline model behind the same call.
 *
 * A call takes the conversation (system, user, assistant and tool
 * messages) and the tool definitions, and gives back the assistant's
 * text and tool calls. Streaming calls hand each piece of text to
 * on_delta as it arrives; tool-call deltas are assembled by index and
 * returned whole. The caller's tick() is called at least once a second
 * while waiting, so a departed client stops the transfer within a second.
 *
 * Retries (connection errors, 429, 5xx) happen only before the first
 * byte of the answer reached on_delta, with exponential backoff and
 * jitter, honouring Retry-After; never after. Whatever arrived before a
 * failure stays in the result (text, usage), so the caller can store the
 * partial answer.
 *
 * A struct llm is made once per process and shared by its threads.
 * Each thread keeps its own libcurl handles (in a thread key, released
 * when the thread exits), so its connection to the API stays open from
 * one call to the next.
 */
#ifndef QUIPU_LLM_H
#define QUIPU_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "apperr.h"

struct arena;
struct llm;

enum llm_provider {
	LLM_BUILTIN,	/* lib/builtin.c: offline, deterministic */
	LLM_OPENAI	/* any OpenAI-compatible HTTP API */
};

struct llm_options {
	enum llm_provider	 provider;
	const char		*base_url;	/* "https://api.openai.com/v1" */
	const char		*api_key;	/* "" or NULL: no Authorization */
	const char		*model;
	int			 timeout_s;	/* whole call, retries included */
	int			 connect_timeout_s;
	int			 max_retries;	/* extra attempts before the first token */
	/*
	 * Bytes of HTTP body accepted (0: no limit). The streaming parser
	 * applies it to each line and to the text plus tool arguments too.
	 */
	size_t			 max_response;
	int			 builtin_delay_ms;	/* pause between builtin words */
};

struct llm_tool_call {
	const char	*id;		/* "call_…", as the model named it */
	const char	*name;
	const char	*arguments;	/* JSON text as the model wrote it */
};

/* One message of the conversation sent to the model. */
struct llm_message {
	const char			*role;	/* system|user|assistant|tool */
	const char			*content;	/* may be NULL (assistant with tool calls) */
	const struct llm_tool_call	*tool_calls;	/* assistant only */
	size_t				 ntool_calls;
	const char			*tool_call_id;	/* tool only */
	/* A user message's content as a JSON array of parts (text and
	 * image_url), sent instead of `content' by remote models; or NULL. */
	const char			*parts;
};

struct llm_request {
	const struct llm_message	*messages;
	size_t				 nmessages;
	/* JSON array of tool definitions in the OpenAI format, or NULL. */
	const char			*tools;
	bool				 stream;
	/* Wall-clock time of the turn (the builtin's "today"); 0: now. */
	time_t				 now;
};

struct llm_usage {
	int64_t		prompt_tokens;
	int64_t		completion_tokens;
	int64_t		total_tokens;
};

/* What came back; every string is in the caller's arena. */
struct llm_result {
	char			*text;		/* "" when none; never NULL after a call */
	size_t			 text_len;
	struct llm_tool_call	*tool_calls;
	size_t			 ntool_calls;
	const char		*finish_reason;	/* "stop", "tool_calls", "length", or NULL */
	struct llm_usage	 usage;		/* zeros when the API sent none */
	int			 attempts;	/* HTTP requests made (0 for builtin) */
	/*
	 * On failure, a sentence for the user and the logs that names the
	 * cause ("the model's server answered 500", "the model's answer was
	 * cut off") and never a secret; NULL on success.
	 */
	const char		*error;
};

struct llm_callbacks {
	/* A piece of the answer's text. Non-zero stops the call (APP_EHUP). */
	int	(*on_delta)(void *ctx, const char *text, size_t len);
	/* Called at least once a second while waiting; true stops the call
	 * (APP_EHUP). May be NULL. */
	bool	(*tick)(void *ctx);
	/*
	 * The client's descriptor, or -1; may be NULL. Waited on with the
	 * transfer: when it turns readable tick runs at once, so a departure
	 * is seen without waking every stream several times a second.
	 */
	int	(*client_fd)(void *ctx);
	void	*ctx;
};

/*
 * Makes the process's client. Copies what it needs from `opts'. The
 * caller should have called llm_global_init() before starting threads
 * (llm_create calls it again, which is harmless).
 */
enum app_err	 llm_create(const struct llm_options *, struct llm **out)
		    MUSTCHECK;
/* Also releases the calling thread's libcurl handles (the main thread's
 * are not released by the thread key). */
void		 llm_free(struct llm *);
enum llm_provider llm_provider(const struct llm *);
/* curl_global_init (and sodium_init) once per process, before any thread
 * starts; later calls return the first one's result. */
enum app_err	 llm_global_init(void) MUSTCHECK;

/*
 * Runs one call. APP_OK with *out filled; or, with out->error set and
 * out->text holding what had arrived:
 *   APP_EUPSTREAM	the API failed: refused after the retries, an HTTP
 *			error, a malformed or cut stream, an answer over
 *			max_response
 *   APP_ETIMEOUT	no complete answer within timeout_s
 *   APP_EHUP		on_delta or tick asked to stop
 *   APP_EINVAL		req->tools is not a JSON array (nothing sent)
 *   APP_EINTERNAL	libcurl could not be set up
 *   APP_ENOMEM
 * With the builtin provider, what builtin_complete() returns.
 */
enum app_err	 llm_complete(struct llm *, struct arena *,
		    const struct llm_request *, const struct llm_callbacks *,
		    struct llm_result *out) MUSTCHECK;

/*
 * The streaming parser, public for the unit tests and the fuzz target:
 * bytes of a text/event-stream body go in, in pieces of any size; each
 * complete "data:" event is decoded as a Chat Completions chunk and
 * merged into the result (text appended and passed to on_delta, tool
 * calls assembled by index, finish_reason, usage). "data: [DONE]" marks
 * the end. Comments and other fields are ignored. LF and CR LF line
 * ends both work, in any split.
 *
 * llm_stream_new() empties *out (text ""); max_response 0: no limit;
 * `cb' may be NULL. After an error every feed returns that error.
 */
struct llm_stream;
struct llm_stream *llm_stream_new(struct arena *, size_t max_response,
		    const struct llm_callbacks *, struct llm_result *out);
/* APP_OK, APP_EUPSTREAM (malformed chunk, over max_response, an "error"
 * object in the stream), APP_EHUP (on_delta stopped), APP_ENOMEM. */
enum app_err	 llm_stream_feed(struct llm_stream *, const char *buf,
		    size_t len) MUSTCHECK;
/* True once "data: [DONE]" was seen. */
bool		 llm_stream_done(const struct llm_stream *);
/* Completes the result (tool calls in index order, an id made up as
 * "call_<index>" when the server sent none). APP_EUPSTREAM "the model's
 * answer was cut off" when neither [DONE] nor a finish_reason came;
 * call it only when the body ended (a finish_reason without [DONE] is
 * accepted, as some servers omit it). */
enum app_err	 llm_stream_finish(struct llm_stream *) MUSTCHECK;

/*
 * Request headers for the model's API (also lib/transcribe.c): `accept'
 * and `content_type' (either may be NULL), no 100-continue, and the
 * bearer `key' when there is one. llm_curl_headers_free() wipes the
 * Authorization line before it frees the list. NULL on ENOMEM.
 */
struct curl_slist;
struct curl_slist *llm_curl_headers(const char *key, const char *content_type,
		    const char *accept);
void		 llm_curl_headers_free(struct curl_slist *);
/*
 * The options every request to the model's API has (also
 * lib/transcribe.c): the URL, http and https only, no signals, the user
 * agent, the headers. -1 when curl refused one.
 */
int		 llm_curl_request(void *curl, const char *url,
		    struct curl_slist *headers);

#endif
