/*
 * fuzz_tasks.c: arbitrary request bodies through tasks_input_parse().
 *
 * The input is a request body. When it parses as a JSON object it is read
 * as a task under each mode (create, replace, patch). The target aborts
 * when a promise of tasks.h is broken:
 *  - with no error recorded, every field in `set' holds a value that
 *    obeys the rules: a title of 1..255 characters with no white space at
 *    either end, a description of at most 2000, a known priority, a due
 *    date in UTC, at most 20 distinct tags of 1..50 characters;
 *  - create and replace always set every editable field.
 * The input is also read as a path's task id, which must be 1..INT64_MAX
 * whenever tasks_parse_id() accepts it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "jsonx.h"
#include "tasks.h"

const char	fuzz_name[] = "tasks";
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
fuzz_check(const struct task_input *in, enum task_mode mode)
{
	static const char *const prio[] = { "none", "low", "medium", "high" };
	size_t	 i, j, n;
	int	 ok;

	if (mode != TASK_PATCH &&
	    (in->set & TASK_F_EDITABLE) != TASK_F_EDITABLE)
		abort();
	if (in->set & TASK_F_TITLE) {
		if (in->title == NULL || (n = strlen(in->title)) == 0 ||
		    utf8_len(in->title) > TASK_TITLE_MAX ||
		    fuzz_space(in->title[0]) || fuzz_space(in->title[n - 1]))
			abort();
	}
	if ((in->set & TASK_F_DESCRIPTION) && in->description != NULL &&
	    (in->description[0] == '\0' ||
	    utf8_len(in->description) > TASK_DESCRIPTION_MAX))
		abort();
	if (in->set & TASK_F_PRIORITY) {
		for (ok = 0, i = 0; i < 4; i++)
			ok |= in->priority != NULL &&
			    strcmp(in->priority, prio[i]) == 0;
		if (!ok)
			abort();
	}
	if ((in->set & TASK_F_DUE_AT) && in->due_at != NULL &&
	    in->due_at[strlen(in->due_at) - 1] != 'Z')
		abort();
	if ((in->set & TASK_F_TAGS) && in->tags != NULL) {
		if (in->ntags > TASK_TAGS_MAX || in->tags[in->ntags] != NULL)
			abort();
		for (i = 0; i < in->ntags; i++) {
			n = utf8_len(in->tags[i]);
			if (n == 0 || n > TASK_TAG_MAX)
				abort();
			for (j = 0; j < i; j++)
				if (strcmp(in->tags[i], in->tags[j]) == 0)
					abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum task_mode modes[] = {
		TASK_CREATE, TASK_REPLACE, TASK_PATCH
	};
	struct json_object	*obj = NULL;
	struct jsonx_errors	 errs;
	struct task_input	 in;
	struct arena		*ar;
	const char		*why;
	char			*text;
	int64_t			 id;
	size_t			 i;

	if ((ar = arena_create(4096)) == NULL)
		abort();
	if ((text = arena_strndup(ar, (const char *)data, size)) == NULL)
		abort();
	if (tasks_parse_id(text, &id) && id < 1)
		abort();
	if (jsonx_parse_object((const char *)data, size, &obj, &why) ==
	    APP_OK) {
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			jsonx_errors_init(&errs, ar);
			tasks_input_parse(obj, modes[i], &in, &errs);
			if (jsonx_errors_result(&errs) == APP_OK)
				fuzz_check(&in, modes[i]);
		}
		json_object_put(obj);
	}
	arena_destroy(ar);
	return 0;
}
