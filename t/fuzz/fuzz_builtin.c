/*
 * fuzz_builtin.c: arbitrary user messages through the builtin model.
 *
 * The input is the user's message. builtin_complete() reads it as the
 * first round of a turn, and, when it calls list_tasks or a memory tool,
 * again as the second round with a result: two tasks, or memories. The
 * target aborts when a promise of builtin.h is broken:
 *  - the answer's text is never NULL, and the streamed pieces, joined,
 *    are exactly out->text;
 *  - a round answers either tool calls (finish_reason "tool_calls"),
 *    each with an id, a known tool's name and arguments that are a JSON
 *    object, or text (finish_reason "stop"), never both nor neither;
 *  - the same input gives the same output;
 *  - builtin_title() gives 1..60 characters of valid UTF-8.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "builtin.h"
#include "jsonx.h"
#include "llm.h"

const char	fuzz_name[] = "builtin";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_NOW	1795348800	/* Sun 2026-11-22 12:00:00Z */

struct fuzz_joined {
	char	buf[1 << 16];
	size_t	len;
};

static int
fuzz_delta(void *ctx, const char *text, size_t len)
{
	struct fuzz_joined	*j = ctx;

	if (j->len + len >= sizeof(j->buf))
		abort();
	memcpy(j->buf + j->len, text, len);
	j->len += len;
	return 0;
}

static void
fuzz_check(const struct llm_result *out, const struct fuzz_joined *j)
{
	static const char *const tools[] = { "create_task", "list_tasks",
	    "update_task", "complete_task", "delete_task",
	    "bulk_complete_tasks", "bulk_delete_tasks", "remember", "recall",
	    "forget", NULL };
	struct json_object	*o;
	size_t			 i, k;

	if (out->text == NULL || out->finish_reason == NULL)
		abort();
	if (j->len != out->text_len || memcmp(j->buf, out->text, j->len) != 0)
		abort();
	if (strcmp(out->finish_reason, "tool_calls") == 0) {
		if (out->ntool_calls == 0 || out->text_len != 0)
			abort();
	} else if (strcmp(out->finish_reason, "stop") != 0 ||
	    out->ntool_calls != 0 || out->text_len == 0)
		abort();
	for (i = 0; i < out->ntool_calls; i++) {
		const struct llm_tool_call	*tc = &out->tool_calls[i];

		if (tc->id == NULL || tc->id[0] == '\0' || tc->name == NULL)
			abort();
		for (k = 0; tools[k] != NULL; k++)
			if (strcmp(tc->name, tools[k]) == 0)
				break;
		if (tools[k] == NULL)
			abort();
		if (jsonx_parse_object(tc->arguments, strlen(tc->arguments),
		    &o, NULL) != APP_OK)
			abort();
		json_object_put(o);
	}
}

/* One round; *out in `a'. */
static void
fuzz_round(struct arena *a, const struct llm_message *m, size_t n,
    struct llm_result *out)
{
	struct llm_request	 req;
	struct llm_callbacks	 cb;
	struct fuzz_joined	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		abort();
	memset(&req, 0, sizeof(req));
	req.messages = m;
	req.nmessages = n;
	req.stream = true;
	req.now = FUZZ_NOW;
	memset(&cb, 0, sizeof(cb));
	cb.on_delta = fuzz_delta;
	cb.ctx = j;
	memset(out, 0, sizeof(*out));
	if (builtin_complete(a, &req, &cb, 0, out) != APP_OK)
		abort();
	fuzz_check(out, j);
	free(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char listed[] = "{\"items\":[{\"id\":3,\"title\":\"buy "
	    "milk\",\"description\":null,\"completed\":false,\"priority\":"
	    "\"none\",\"due_at\":null,\"tags\":[],\"created_at\":\"2026-11-22T"
	    "10:00:00.000Z\",\"updated_at\":\"2026-11-22T10:00:00.000Z\","
	    "\"completed_at\":null},{\"id\":4,\"title\":\"buy milk powder\","
	    "\"description\":null,\"completed\":true,\"priority\":\"high\","
	    "\"due_at\":\"2026-11-23T00:00:00.000Z\",\"tags\":[\"x\"],"
	    "\"created_at\":\"2026-11-22T10:00:00.000Z\",\"updated_at\":"
	    "\"2026-11-22T10:00:00.000Z\",\"completed_at\":\"2026-11-22T"
	    "11:00:00.000Z\"}],\"total\":2,\"limit\":10,\"offset\":0}";
#define FUZZ_MEMORY	"{\"id\":7,\"content\":\"Lives in Paris\"," \
	"\"created_at\":\"2026-11-22T10:00:00.000Z\",\"updated_at\":" \
	"\"2026-11-22T10:00:00.000Z\",\"source\":null}"
	static const struct {
		const char	*tool;
		const char	*result;
	} results[] = {
		{ "list_tasks", listed },
		{ "remember", "{\"event\":\"ADD\",\"memory\":" FUZZ_MEMORY "}" },
		{ "recall", "{\"memories\":[{\"id\":7,\"content\":\"Lives in "
		    "Paris\",\"score\":0.5},{\"id\":8,\"content\":\"Likes "
		    "jazz\",\"score\":0.25}]}" },
		{ "forget", "{\"deleted\":" FUZZ_MEMORY "}" },
	};
	struct llm_message	 m[4];
	struct llm_result	 r1, r2;
	struct arena		*a;
	char			*msg, *t;
	size_t			 i, k;

	if (size > 4096 || (a = arena_create(8192)) == NULL)
		return 0;
	if ((msg = arena_strndup(a, (const char *)data, size)) == NULL ||
	    strlen(msg) != size || !utf8_valid(msg, size)) {
		arena_destroy(a);
		return 0;
	}
	memset(m, 0, sizeof(m));
	m[0].role = "system";
	m[0].content = "You are quipu.";
	m[1].role = "user";
	m[1].content = msg;
	fuzz_round(a, m, 2, &r1);
	fuzz_round(a, m, 2, &r2);
	if (r1.text_len != r2.text_len || memcmp(r1.text, r2.text,
	    r1.text_len) != 0 || r1.ntool_calls != r2.ntool_calls)
		abort();
	for (i = 0; i < r1.ntool_calls; i++)
		if (strcmp(r1.tool_calls[i].arguments,
		    r2.tool_calls[i].arguments) != 0)
			abort();
	for (k = 0; r1.ntool_calls == 1 &&
	    k < sizeof(results) / sizeof(results[0]); k++) {
		if (strcmp(r1.tool_calls[0].name, results[k].tool) != 0)
			continue;
		m[2].role = "assistant";
		m[2].tool_calls = r1.tool_calls;
		m[2].ntool_calls = 1;
		m[3].role = "tool";
		m[3].tool_call_id = r1.tool_calls[0].id;
		m[3].content = results[k].result;
		fuzz_round(a, m, 4, &r2);
	}
	if ((t = builtin_title(a, msg, 60)) == NULL || t[0] == '\0' ||
	    utf8_len(t) > 60 || !utf8_valid(t, strlen(t)))
		abort();
	arena_destroy(a);
	return 0;
}
