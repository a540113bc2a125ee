/*
 * agent.c: one turn of the assistant: prompt, model, tools, storage.
 *
 * The tool loop is the usual one: the model answers either text (the
 * turn is done) or tool calls, which run as the user and whose results
 * go back to the model, at most max_tool_rounds times; the last round
 * offers no tools, so the model has to answer in words. The builtin
 * model takes the very same path.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "agent.h"
#include "app.h"
#include "attachments.h"
#include "arena.h"
#include "builtin.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "jsonx.h"
#include "llm.h"
#include "log.h"
#include "memjob.h"
#include "memory.h"
#include "tools.h"

#define AGENT_TITLE_MAX		60	/* characters */
/* A turn that has run this much longer than llm_timeout has crashed. */
#define AGENT_STALE_SLACK	60

enum app_err
agent_begin(struct app *app, struct arena *ar, const char *user_id,
    const struct thread_start *st, struct agent_turn *t)
{
	enum app_err	 e;
	size_t		 i;

	memset(t, 0, sizeof(*t));
	t->app = app;
	t->arena = ar;
	t->user_id = user_id;
	t->message = st->message;
	t->memories_json = "[]";
	t->quota.limit = app->conf->messages_per_day;
	e = threads_turn_begin(app->db, ar, user_id, st,
	    app->conf->llm_timeout + AGENT_STALE_SLACK, &t->quota, &t->stored);
	/* Answered again, a message is the last of the history. */
	if (e == APP_OK && st->retry_id != NULL) {
		for (i = t->stored.nhistory; i > 0; i--)
			if (strcmp(t->stored.history[i - 1].role, "user") == 0)
				break;
		if (i > 0) {
			t->message = t->stored.history[i - 1].content;
			t->stored.nhistory = i - 1;
		}
	}
	return e;
}

/* ------------------------------------------------------------ events */

static int
agent_emit(struct agent_turn *t, const struct agent_event *ev)
{
	return t->sink->emit(t->sink->ctx, ev);
}

static int
agent_emit_json(struct agent_turn *t, enum agent_event_type type,
    const char *role, const char *json, const char *ck)
{
	struct agent_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.role = role;
	ev.json = json;
	ev.ck = ck;
	return agent_emit(t, &ev);
}

/* ------------------------------------------------------------ prompt */

/* Messages of the conversation, grown in the arena. */
struct agent_msgs {
	struct arena		*arena;
	struct llm_message	*v;
	size_t			 n;
	size_t			 cap;
};

static struct llm_message *
agent_msg_add(struct agent_msgs *m, const char *role, const char *content)
{
	struct llm_message	*v;

	if (m->n == m->cap) {
		size_t	cap = m->cap == 0 ? 32 : m->cap * 2;

		if ((v = arena_calloc(m->arena, cap, sizeof(*v))) == NULL)
			return NULL;
		if (m->n > 0)
			memcpy(v, m->v, m->n * sizeof(*v));
		m->v = v;
		m->cap = cap;
	}
	v = &m->v[m->n++];
	memset(v, 0, sizeof(*v));
	v->role = role;
	v->content = content;
	return v;
}

/*
 * The system prompt: who the assistant is, the date, then what it
 * remembers about the user (memory_for_prompt()'s block, or NULL), then
 * how to work.
 */
static char *
agent_system_prompt(struct arena *ar, time_t now, const char *memories)
{
	struct tm	 tm;
	char		 day[64];

	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%A %Y-%m-%d", &tm);
	return arena_printf(ar,
	    "You are quipu, an assistant that keeps the user's task list. "
	    "Today is %s (UTC).%s%s%s"
	    "Use the tools to read and change tasks; "
	    "never invent a task id: find it with list_tasks first. Due "
	    "dates are RFC 3339 in UTC. After acting, say briefly what "
	    "changed. Answer in the user's language, in a few sentences.",
	    day, memories != NULL ? "\n\n" : " ",
	    memories != NULL ? memories : "",
	    memories != NULL ? "\n\n" : "");
}

/*
 * An earlier answer as the model saw it: the assistant's tool calls,
 * their results, then its text. tool_calls is the stored array
 * [{"id","name","arguments","result"}].
 */
static enum app_err
agent_history_answer(struct agent_msgs *m, const struct thread_item *it)
{
	struct json_object	*a = NULL, *c;
	struct llm_message	*msg;
	struct llm_tool_call	*calls;
	const char		*why;
	size_t			 i, n = 0;
	enum app_err		 e = APP_OK;

	if (it->tool_calls != NULL && jsonx_parse(it->tool_calls,
	    strlen(it->tool_calls), &a, &why) == APP_OK &&
	    json_object_is_type(a, json_type_array))
		n = json_object_array_length(a);
	if (n > 0) {
		if ((calls = arena_calloc(m->arena, n, sizeof(*calls))) ==
		    NULL || (msg = agent_msg_add(m, "assistant", NULL)) ==
		    NULL) {
			e = APP_ENOMEM;
			goto out;
		}
		msg->tool_calls = calls;
		msg->ntool_calls = n;
		for (i = 0; i < n; i++) {
			struct json_object	*v;
			const char		*res;

			c = json_object_array_get_idx(a, i);
			calls[i].id = json_object_object_get_ex(c, "id", &v) ?
			    arena_strdup(m->arena, json_object_get_string(v)) :
			    "";
			calls[i].name = json_object_object_get_ex(c, "name",
			    &v) ? arena_strdup(m->arena,
			    json_object_get_string(v)) : "";
			calls[i].arguments = json_object_object_get_ex(c,
			    "arguments", &v) ? arena_strdup(m->arena,
			    json_object_get_string(v)) : "{}";
			res = json_object_object_get_ex(c, "result", &v) ?
			    json_object_to_json_string_ext(v,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE) : "null";
			if (calls[i].id == NULL || calls[i].name == NULL ||
			    calls[i].arguments == NULL ||
			    (msg = agent_msg_add(m, "tool",
			    arena_strdup(m->arena, res))) == NULL ||
			    msg->content == NULL) {
				e = APP_ENOMEM;
				goto out;
			}
			msg->tool_call_id = calls[i].id;
		}
	}
	if (it->content[0] != '\0' &&
	    agent_msg_add(m, "assistant", it->content) == NULL)
		e = APP_ENOMEM;
out:
	if (a != NULL)
		json_object_put(a);
	return e;
}

/*
 * A client tool call the browser answered, as the model made it: the
 * call, then its output. data is {"call_id","name","arguments"}. One
 * never answered is left out (a call without its result is refused).
 */
static enum app_err
agent_history_client(struct agent_msgs *m, const struct thread_item *it)
{
	struct json_object	*d = NULL, *v;
	struct llm_tool_call	*call;
	struct llm_message	*msg;
	enum app_err		 e = APP_OK;

	if (strcmp(it->status, "completed") != 0 || it->data == NULL ||
	    jsonx_parse(it->data, strlen(it->data), &d, NULL) != APP_OK)
		return APP_OK;
	if ((call = arena_calloc(m->arena, 1, sizeof(*call))) == NULL) {
		e = APP_ENOMEM;
		goto out;
	}
	call->id = json_object_object_get_ex(d, "call_id", &v) ?
	    arena_strdup(m->arena, json_object_get_string(v)) : "";
	call->name = json_object_object_get_ex(d, "name", &v) ?
	    arena_strdup(m->arena, json_object_get_string(v)) : "";
	call->arguments = json_object_object_get_ex(d, "arguments", &v) ?
	    arena_strdup(m->arena, json_object_to_json_string_ext(v,
	    JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE)) : "{}";
	if (call->id == NULL || call->name == NULL ||
	    call->arguments == NULL ||
	    (msg = agent_msg_add(m, "assistant", NULL)) == NULL) {
		e = APP_ENOMEM;
		goto out;
	}
	msg->tool_calls = call;
	msg->ntool_calls = 1;
	if ((msg = agent_msg_add(m, "tool", it->output != NULL ? it->output :
	    "null")) == NULL) {
		e = APP_ENOMEM;
		goto out;
	}
	msg->tool_call_id = call->id;
out:
	json_object_put(d);
	return e;
}

/*
 * The user's new message, with its attachments as parts for a remote
 * model (images only when it sees them).
 */
static enum app_err
agent_user_message(struct agent_turn *t, struct agent_msgs *m)
{
	static const char	 text_part[] = "[{\"type\":\"text\",\"text\":";
	struct llm_message	*msg;
	struct arena_str	 b;
	char			*parts = NULL, *note = NULL;
	bool			 vision;
	enum app_err		 e;

	if ((msg = agent_msg_add(m, "user", t->message)) == NULL)
		return APP_ENOMEM;
	if (t->nattachments == 0 || llm_provider(t->app->llm) == LLM_BUILTIN)
		return APP_OK;
	vision = t->app->conf->llm_vision;
	if ((e = attachments_model_input(t->app->db, t->arena, t->user_id,
	    t->attachments, t->nattachments, vision, &parts, &note)) != APP_OK)
		return e;
	if (parts == NULL)
		return APP_OK;
	/* [{"type":"text","text":message}, the attachments' parts...] */
	memset(&b, 0, sizeof(b));
	if (arena_str_add(t->arena, &b, text_part, sizeof(text_part) - 1) ==
	    -1 || jsonx_str_quote(t->arena, &b, t->message,
	    strlen(t->message)) == -1 || ARENA_STR_LIT(t->arena, &b, "}") ==
	    -1)
		return APP_ENOMEM;
	if (strcmp(parts, "[]") != 0 && (ARENA_STR_LIT(t->arena, &b, ",") ==
	    -1 || arena_str_add(t->arena, &b, parts + 1, strlen(parts) - 2) ==
	    -1))
		return APP_ENOMEM;
	if (ARENA_STR_LIT(t->arena, &b, "]") == -1)
		return APP_ENOMEM;
	msg->parts = b.p;
	return APP_OK;
}

static enum app_err
agent_prompt(struct agent_turn *t, time_t now, const char *memories,
    struct agent_msgs *m)
{
	const char	*sys;
	size_t		 i;
	enum app_err	 e;

	memset(m, 0, sizeof(*m));
	m->arena = t->arena;
	if ((sys = agent_system_prompt(t->arena, now, memories)) == NULL ||
	    agent_msg_add(m, "system", sys) == NULL)
		return APP_ENOMEM;
	for (i = 0; i < t->stored.nhistory; i++) {
		const struct thread_item	*it = &t->stored.history[i];

		if (strcmp(it->role, "user") == 0)
			e = agent_msg_add(m, "user", it->content) == NULL ?
			    APP_ENOMEM : APP_OK;
		else if (strcmp(it->role, "assistant") == 0)
			e = agent_history_answer(m, it);
		else if (strcmp(it->role, "client_tool_call") == 0)
			e = agent_history_client(m, it);
		else if (strcmp(it->role, "hidden") == 0)
			e = agent_msg_add(m, "system", it->content) == NULL ?
			    APP_ENOMEM : APP_OK;
		else
			e = APP_OK;	/* widgets: their tool calls are there */
		if (e != APP_OK)
			return e;
	}
	if (t->message != NULL)
		return agent_user_message(t, m);
	return APP_OK;
}

/* ------------------------------------------------------------ the model */

/* What a turn gathers while the model works. */
struct agent_run {
	struct agent_turn	*t;
	struct arena_str	 text;		/* the answer so far */
	/* The tool calls as stored: [{"id","name","arguments","result"},
	 * ...] without its closing bracket, NULL while there are none. */
	struct arena_str	 calls;
	int64_t			 prompt_tokens;
	int64_t			 completion_tokens;
	/* A client tool the model called: the turn ends on it. */
	const struct llm_tool_call *client;
	uint64_t		 deadline_ns;	/* of the whole turn */
	bool			 timed_out;
	bool			 gone;		/* the client left */
};

/* Appends to the answer so far. */
static int
agent_text_add(struct agent_run *r, const char *text, size_t len)
{
	return arena_str_add(r->t->arena, &r->text, text, len);
}

static int
agent_on_delta(void *ctx, const char *text, size_t len)
{
	struct agent_run	*r = ctx;
	struct agent_event	 ev;

	if (agent_text_add(r, text, len) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.type = AGENT_TEXT_DELTA;
	ev.item_id = r->t->stored.assistant_id;
	ev.text = text;
	ev.len = len;
	if (agent_emit(r->t, &ev) != 0) {
		r->gone = true;
		return -1;
	}
	return 0;
}

static bool
agent_tick(void *ctx)
{
	struct agent_run	*r = ctx;
	struct agent_turn	*t = r->t;

	if (clock_now_ns() >= r->deadline_ns) {
		r->timed_out = true;
		return true;
	}
	if (t->sink->tick != NULL && t->sink->tick(t->sink->ctx)) {
		r->gone = true;
		return true;
	}
	return false;
}

static int
agent_client_fd(void *ctx)
{
	struct agent_run	*r = ctx;
	const struct agent_sink	*sink = r->t->sink;

	return sink->client_fd != NULL ? sink->client_fd(sink->ctx) : -1;
}

/*
 * Adds a call to the stored array as {"id","name","arguments","result"}:
 * the arguments as the model wrote them, the result as the tool gave it.
 */
static int
agent_call_add(struct agent_run *r, const struct llm_tool_call *tc,
    const char *result)
{
	struct arena		*ar = r->t->arena;
	struct arena_str	*b = &r->calls;

	if (arena_str_add(ar, b, b->p == NULL ? "[" : ",", 1) == -1 ||
	    ARENA_STR_LIT(ar, b, "{\"id\":") == -1 ||
	    jsonx_str_quote(ar, b, tc->id, strlen(tc->id)) == -1 ||
	    ARENA_STR_LIT(ar, b, ",\"name\":") == -1 ||
	    jsonx_str_quote(ar, b, tc->name, strlen(tc->name)) == -1 ||
	    ARENA_STR_LIT(ar, b, ",\"arguments\":") == -1 ||
	    jsonx_str_quote(ar, b, tc->arguments, strlen(tc->arguments)) ==
	    -1 ||
	    ARENA_STR_LIT(ar, b, ",\"result\":") == -1 ||
	    arena_str_add(ar, b, result, strlen(result)) == -1 ||
	    ARENA_STR_LIT(ar, b, "}") == -1)
		return -1;
	return 0;
}

/* Runs one round's tool calls, adding them and their results. */
static enum app_err
agent_tools(struct agent_run *r, const struct llm_result *res,
    struct agent_msgs *m)
{
	struct agent_turn	*t = r->t;
	struct llm_message	*msg;
	struct agent_event	 ev;
	struct memory_source	 src;
	size_t			 i;
	enum app_err		 e;

	if ((msg = agent_msg_add(m, "assistant", res->text_len > 0 ?
	    res->text : NULL)) == NULL)
		return APP_ENOMEM;
	msg->tool_calls = res->tool_calls;
	msg->ntool_calls = res->ntool_calls;
	for (i = 0; i < res->ntool_calls; i++) {
		const struct llm_tool_call	*tc = &res->tool_calls[i];
		char				*result = NULL;

		/* The browser runs it; its output starts the next turn. */
		if (t->sink->client_tools &&
		    tools_is_client(t->app->conf->client_tools, tc->name)) {
			r->client = tc;
			return APP_OK;
		}

		memset(&ev, 0, sizeof(ev));
		ev.type = AGENT_TOOL_CALL;
		ev.item_id = t->stored.assistant_id;
		ev.call_id = tc->id;
		ev.name = tc->name;
		ev.arguments = tc->arguments;
		if (agent_emit(t, &ev) != 0) {
			r->gone = true;
			return APP_EHUP;
		}
		src.thread_id = t->stored.thread_id;
		src.item_id = t->stored.assistant_id;
		src.said_at = NULL;	/* the tools act now */
		if ((e = tools_run(t->app, t->arena, t->user_id, &src,
		    tc->name, tc->arguments, &result)) != APP_OK)
			return e;
		memset(&ev, 0, sizeof(ev));
		ev.type = AGENT_TOOL_RESULT;
		ev.call_id = tc->id;
		ev.name = tc->name;
		ev.result = result;
		if (agent_emit(t, &ev) != 0) {
			r->gone = true;
			return APP_EHUP;
		}
		if ((msg = agent_msg_add(m, "tool", result)) == NULL)
			return APP_ENOMEM;
		msg->tool_call_id = tc->id;
		if (agent_call_add(r, tc, result) == -1)
			return APP_ENOMEM;
	}
	return APP_OK;
}

static enum app_err
agent_loop(struct agent_run *r, struct agent_msgs *m, time_t now)
{
	struct agent_turn	*t = r->t;
	struct llm_request	 req;
	struct llm_result	 res;
	struct llm_callbacks	 cb;
	int			 round, rounds = t->app->conf->max_tool_rounds;
	const char		*tools = tools_definitions();
	enum app_err		 e;

	if (t->sink->client_tools && (tools = tools_definitions_with(t->arena,
	    t->app->conf->client_tools)) == NULL)
		return APP_ENOMEM;
	memset(&cb, 0, sizeof(cb));
	cb.on_delta = agent_on_delta;
	cb.tick = agent_tick;
	cb.client_fd = agent_client_fd;
	cb.ctx = r;
	for (round = 0; ; round++) {
		memset(&req, 0, sizeof(req));
		req.messages = m->v;
		req.nmessages = m->n;
		req.tools = round < rounds ? tools : NULL;
		/*
		 * A remote model always streams: its pieces show a departed
		 * client at once. The builtin one paces its words only for a
		 * client that reads them as they come.
		 */
		req.stream = t->sink->stream ||
		    llm_provider(t->app->llm) != LLM_BUILTIN;
		req.now = now;
		memset(&res, 0, sizeof(res));
		e = llm_complete(t->app->llm, t->arena, &req, &cb, &res);
		r->prompt_tokens += res.usage.prompt_tokens;
		r->completion_tokens += res.usage.completion_tokens;
		if (e != APP_OK) {
			t->error = res.error;
			return e;
		}
		if (!req.stream && res.text_len > 0 &&
		    agent_text_add(r, res.text, res.text_len) == -1)
			return APP_ENOMEM;
		if (res.ntool_calls == 0 || req.tools == NULL)
			return APP_OK;
		if ((e = agent_tools(r, &res, m)) != APP_OK)
			return e;
		if (r->client != NULL)
			return APP_OK;
	}
}

/* ------------------------------------------------------------ the end */

/* A title for a new thread: the model's, or the message's first words. */
static const char *
agent_title(struct agent_turn *t, struct agent_run *r, time_t now)
{
	static const char ask[] =
	    "Write a title of at most six words for a conversation that "
	    "starts with the user's message below. Answer with the title "
	    "only, without quotes.";
	struct llm_message	 msgs[2];
	struct llm_request	 req;
	struct llm_result	 res;
	struct llm_callbacks	 cb;
	char			*s;
	size_t			 n;

	if (llm_provider(t->app->llm) == LLM_BUILTIN ||
	    strcmp(t->status, "completed") != 0)
		return builtin_title(t->arena, t->message, AGENT_TITLE_MAX);
	memset(msgs, 0, sizeof(msgs));
	msgs[0].role = "system";
	msgs[0].content = ask;
	msgs[1].role = "user";
	msgs[1].content = t->message;
	memset(&req, 0, sizeof(req));
	req.messages = msgs;
	req.nmessages = 2;
	req.now = now;
	memset(&cb, 0, sizeof(cb));
	cb.tick = agent_tick;
	cb.client_fd = agent_client_fd;
	cb.ctx = r;
	memset(&res, 0, sizeof(res));
	if (llm_complete(t->app->llm, t->arena, &req, &cb, &res) != APP_OK)
		return builtin_title(t->arena, t->message, AGENT_TITLE_MAX);
	/* Trimmed, without quotes, cut at a word: a model may ramble. */
	s = res.text;
	while (*s == ' ' || *s == '"' || *s == '\'' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '"' ||
	    s[n - 1] == '\'' || s[n - 1] == '\n' || s[n - 1] == '.'))
		s[--n] = '\0';
	if (n == 0 || !utf8_valid(s, n))
		return builtin_title(t->arena, t->message, AGENT_TITLE_MAX);
	return builtin_title(t->arena, s, AGENT_TITLE_MAX);
}

static const char *
agent_status(const struct agent_run *r, enum app_err e)
{
	if (e == APP_OK)
		return "completed";
	if (r->gone || r->timed_out || e == APP_EHUP || e == APP_ETIMEOUT)
		return "incomplete";
	return "error";
}

/* The text ChatKit's reference server leaves for the model when the
 * user stops an answer. */
#define AGENT_CANCELLED	"The user cancelled the stream. Stop responding to " \
	"the prior request."

/* A client tool call, stored pending: {"call_id","name","arguments"}. */
static enum app_err
agent_client_call(struct agent_turn *t, const struct llm_tool_call *tc,
    char **ck)
{
	struct thread_extra	 x;
	struct json_object	*args = NULL;
	struct arena_str	 b;
	const char		*a = "{}";
	char			*id;
	enum app_err		 e;

	if (jsonx_parse(tc->arguments, strlen(tc->arguments), &args, NULL) ==
	    APP_OK && json_object_is_type(args, json_type_object))
		a = json_object_to_json_string_ext(args,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	memset(&b, 0, sizeof(b));
	if (ARENA_STR_LIT(t->arena, &b, "{\"call_id\":") == -1 ||
	    jsonx_str_quote(t->arena, &b, tc->id, strlen(tc->id)) == -1 ||
	    ARENA_STR_LIT(t->arena, &b, ",\"name\":") == -1 ||
	    jsonx_str_quote(t->arena, &b, tc->name, strlen(tc->name)) == -1 ||
	    ARENA_STR_LIT(t->arena, &b, ",\"arguments\":") == -1 ||
	    arena_str_add(t->arena, &b, a, strlen(a)) == -1 ||
	    ARENA_STR_LIT(t->arena, &b, "}") == -1) {
		json_object_put(args);
		return APP_ENOMEM;
	}
	json_object_put(args);
	memset(&x, 0, sizeof(x));
	x.role = "client_tool_call";
	x.status = "pending";
	x.data = b.p;
	e = threads_item_add(t->app->db, t->arena, t->user_id,
	    t->stored.thread_id, &x, &id, ck);
	return e;
}

/* After a cancelled answer: a note for the model's next turn. */
static void
agent_cancelled(struct agent_turn *t)
{
	struct thread_extra	 x;
	char			*id, *ck;

	memset(&x, 0, sizeof(x));
	x.role = "hidden";
	x.content = AGENT_CANCELLED;
	if (threads_item_add(t->app->db, t->arena, t->user_id,
	    t->stored.thread_id, &x, &id, &ck) != APP_OK)
		log_warnx("turn in %s: the cancel note was not stored",
		    t->stored.thread_id);
}

/*
 * What the model is told about the user: the memories most like the
 * message (none for a turn without one). *prompt: the block for the
 * system prompt, or NULL. Non-zero when the client is gone.
 */
static int
agent_memories(struct agent_turn *t, char **prompt)
{
	char	*json = NULL, *ev;

	*prompt = NULL;
	if (t->message == NULL)
		return 0;
	/* Never fails the turn: an error gives no memories. */
	memory_for_prompt(t->app, t->arena, t->user_id, t->message, &json,
	    prompt);
	if (json == NULL || strcmp(json, "[]") == 0)
		return 0;
	t->memories_json = json;
	if ((ev = arena_printf(t->arena, "{\"memories\":%s}", json)) == NULL)
		return 0;	/* the event is lost, not the turn */
	if (agent_emit_json(t, AGENT_MEMORY_USED, NULL, ev, NULL) != 0) {
		/* Gone: the model will not be told them after all. */
		t->memories_json = "[]";
		*prompt = NULL;
		return -1;
	}
	return 0;
}

/*
 * Queues the extraction of the facts of the user's message; it runs once
 * the client has the answer (t->queued). Whatever became of the answer
 * (stopped by the user, or the model failed), what the user said stands.
 */
static void
agent_queue(struct agent_turn *t)
{
	enum app_err	 e;

	if (t->message == NULL || t->stored.user_item_id == NULL)
		return;
	e = memjob_enqueue(t->app->db, t->arena, t->user_id,
	    t->stored.thread_id, t->stored.user_item_id, t->message);
	if (e != APP_OK)
		log_warnx("turn in %s: its extraction was not queued: %s",
		    t->stored.thread_id, app_strerror(e));
	t->queued = e == APP_OK;
}

enum app_err
agent_run(struct agent_turn *t, const struct agent_sink *sink)
{
	struct thread_outcome	 o;
	struct thread_finished	 fin;
	struct agent_msgs	 m;
	struct agent_run	 r;
	struct agent_event	 ev;
	char			*call = NULL, *memories = NULL;
	time_t			 now = time(NULL);
	enum app_err		 e, fe;

	t->sink = sink;
	memset(&r, 0, sizeof(r));
	r.t = t;
	r.deadline_ns = clock_now_ns() +
	    (uint64_t)t->app->conf->llm_timeout * 1000000000ull;
	if ((t->stored.thread_json != NULL && agent_emit_json(t,
	    AGENT_THREAD_CREATED, NULL, t->stored.thread_json,
	    t->stored.ck_thread) != 0) ||
	    (t->stored.user_item_json != NULL && agent_emit_json(t,
	    AGENT_ITEM_CREATED, "user", t->stored.user_item_json,
	    t->stored.ck_user_item) != 0) ||
	    agent_emit_json(t, AGENT_ITEM_CREATED, "assistant",
	    t->stored.assistant_json, t->stored.ck_assistant) != 0)
		r.gone = true;
	if (!r.gone && agent_memories(t, &memories) != 0)
		r.gone = true;
	if (r.gone)
		e = APP_EHUP;
	else if ((e = agent_prompt(t, now, memories, &m)) == APP_OK)
		e = agent_loop(&r, &m, now);
	if (r.gone)
		e = APP_EHUP;
	else if (r.timed_out) {
		e = APP_ETIMEOUT;
		t->error = arena_printf(t->arena, "the model did not finish "
		    "within %d s", t->app->conf->llm_timeout);
	}
	t->err = e;
	t->status = agent_status(&r, e);
	/* A client that left is not the model's failure. */
	app_llm_count(t->app, r.prompt_tokens + r.completion_tokens,
	    e != APP_OK && e != APP_EHUP);
	if (e != APP_OK && t->error == NULL)
		t->error = app_strerror(e);
	if (e != APP_OK && e != APP_EHUP)
		log_warnx("turn in %s ended: %s", t->stored.thread_id,
		    t->error);
	if (r.calls.p != NULL && ARENA_STR_LIT(t->arena, &r.calls, "]") ==
	    -1)
		return APP_ENOMEM;
	t->tool_calls = r.calls.p != NULL ? r.calls.p : "[]";
	memset(&o, 0, sizeof(o));
	o.content = r.text.p != NULL ? r.text.p : "";
	o.status = t->status;
	o.tool_calls = r.calls.p;
	o.error = e == APP_OK ? NULL : t->error;
	o.title = t->stored.titled || t->message == NULL ? NULL :
	    agent_title(t, &r, now);
	o.memories_used = strcmp(t->memories_json, "[]") != 0 ?
	    t->memories_json : NULL;
	o.prompt_tokens = r.prompt_tokens;
	o.completion_tokens = r.completion_tokens;
	/* Stored whatever happened: the partial answer is kept. */
	if ((fe = threads_turn_finish(t->app->db, t->arena, t->user_id,
	    &t->stored, &o, &fin)) == APP_OK && e == APP_OK &&
	    r.client != NULL) {
		fe = agent_client_call(t, r.client, &call);
		t->client_call = fe == APP_OK;
	}
	if (fe != APP_OK) {
		log_warnx("turn in %s not stored: %s", t->stored.thread_id,
		    app_strerror(fe));
		if (e == APP_OK) {
			e = t->err = fe;
			t->error = "the answer could not be stored";
		}
	}
	if (fe == APP_OK)
		agent_queue(t);
	if (r.gone)
		agent_cancelled(t);
	t->item_json = fin.item_json;
	t->thread_json = fin.thread_json;
	if (e == APP_EHUP)
		return e;
	if (fin.item_json != NULL && agent_emit_json(t, AGENT_ITEM_DONE,
	    "assistant", fin.item_json, fin.ck_item) != 0)
		return APP_EHUP;
	if (call != NULL && agent_emit_json(t, AGENT_CLIENT_CALL,
	    "client_tool_call", NULL, call) != 0)
		return APP_EHUP;
	if (fin.thread_json != NULL && agent_emit_json(t,
	    AGENT_THREAD_UPDATED, NULL, fin.thread_json, fin.ck_thread) != 0)
		return APP_EHUP;
	if (e != APP_OK) {
		memset(&ev, 0, sizeof(ev));
		ev.type = AGENT_ERROR;
		ev.err = e;
		ev.message = t->error;
		(void)agent_emit(t, &ev);
	}
	return e;
}
