/*
 * builtin.c: the builtin model, offline and deterministic.
 *
 * It reads the last user message with a small table-driven parser (verb
 * patterns, day names; no regular expressions) and answers through the
 * same tool calls a remote model makes, so the agent loop cannot tell
 * the two apart: the task tools, and the memory tools for what the user
 * asks it to remember, recall or forget (questions about the user, such
 * as "where do I live?", are recalls too). A statement about the user
 * that asks for nothing ("I live in Paris") is acknowledged: the memory
 * job extracts its facts after the turn with the same extract_builtin()
 * that recognises it here.
 *
 * Nothing is kept between calls: each call parses the user's message
 * again and reads the tool calls and results after it to see how far the
 * turn has got (nothing yet, a search for a task named by words, an
 * action). That is what makes the same conversation always give the
 * same answer.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "arena.h"
#include "builtin.h"
#include "extract.h"
#include "jsonx.h"
#include "llm.h"
#include "words.h"

#define BI_MAX_TOKENS	96	/* words of a message that are read */
#define BI_MAX_PWORDS	12	/* words of a pattern */
#define BI_MAX_TAGS	20	/* tags a task may have (API.md) */
#define BI_LIST_LIMIT	20	/* tasks a list shows */
#define BI_PICK_LIMIT	10	/* candidates for a task named by words */
#define BI_BULK_LIMIT	100	/* tasks one bulk call may take */
#define BI_TICK_MS	100	/* longest pause without a tick */
#define BI_DAY		86400	/* seconds */

#define BI_WHICH	"Which task? Give me its number or words from its " \
			"title, e.g. \"mark 3 done\" or \"delete buy milk\"."
#define BI_EXAMPLES	"Try \"add buy milk tomorrow\", " \
			"\"what's on my list?\" or " \
			"\"remember that I live in Paris\"."

enum bi_verb {
	BI_HELP,
	BI_ADD,
	BI_LIST,
	BI_COMPLETE,
	BI_REOPEN,
	BI_RENAME,
	BI_PRIORITY,
	BI_DUE,
	BI_DELETE,
	BI_COMPLETE_ALL,
	BI_DELETE_DONE,
	BI_REMEMBER,
	BI_RECALL,
	BI_FORGET
};

enum bi_list {
	BI_LIST_PENDING,
	BI_LIST_ALL,
	BI_LIST_COMPLETED,
	BI_LIST_TODAY,
	BI_LIST_TOMORROW,
	BI_LIST_WEEK,
	BI_LIST_OVERDUE
};

/* The slots of a pattern: "{t}" task, "{a}" any text, "{p}", "{d}". */
enum bi_slot {
	BI_SLOT_TASK,
	BI_SLOT_TEXT,
	BI_SLOT_PRIO,
	BI_SLOT_DATE,
	BI_SLOT__MAX
};

/* One word of the message. */
struct bi_tok {
	const char	*raw;	/* into the message, not terminated */
	size_t		 len;
	const char	*norm;	/* lower case, outer punctuation trimmed */
};

struct bi_ctx {
	struct arena			*arena;
	const struct llm_request	*req;
	struct llm_result		*out;
	int64_t				 today;	/* days since 1970-01-01, UTC */
	struct bi_tok			 tok[BI_MAX_TOKENS];
	size_t				 ntok;
	bool				 question;	/* ends with '?' */
};

/* What the user asked for. */
struct bi_intent {
	enum bi_verb	 verb;
	enum bi_list	 list;
	int64_t		 id;		/* the task named by number, or 0 */
	const char	*words;		/* the task named by words */
	const char	*text;		/* the title to add, or the new one;
					   what to remember, recall ("": all)
					   or forget */
	const char	*priority;	/* "high", ..., or NULL */
	bool		 due_set;
	const char	*due;		/* RFC 3339; NULL with due_set clears */
	const char	*tags[BI_MAX_TAGS];
	size_t		 ntags;
	bool		 greeted;
	const char	*reply;		/* a reply other than the help */
};

/* A rule: a pattern over the message's words and what it means. */
struct bi_rule {
	const char	*pattern;
	enum bi_verb	 verb;
	const char	*arg;		/* a fixed priority; "none": no due
					   date; the reply of BI_HELP */
};

/* One word of a pattern: '|'-separated alternatives, or a slot. */
struct bi_pword {
	const char	*s;
	size_t		 len;
	bool		 opt;		/* written with a trailing '?' */
	int		 slot;		/* enum bi_slot, or -1 */
};

/* The token ranges [lo, hi) the slots of a matched pattern took. */
struct bi_caps {
	size_t		 lo[BI_SLOT__MAX];
	size_t		 hi[BI_SLOT__MAX];
};

/* A text built in the arena; the first failure sticks (checked once). */
static bool	bi_match(struct bi_ctx *, const char *, size_t, size_t,
		    struct bi_caps *);
static size_t	bi_date(struct bi_ctx *, size_t, size_t, int64_t *);
static void	bi_task_trim(struct bi_ctx *, size_t *, size_t *);
static const char *bi_prio(const char *);
static bool	bi_parse_list(struct bi_ctx *, size_t, size_t, enum bi_list *);

/* ------------------------------------------------------------ tables */

/*
 * Said before or after a request without changing it. Leading ones are
 * taken off again and again ("ok, can you please ...").
 */
static const char *const bi_lead[] = {
	"please|pls|plz|kindly|hey|hi|hello|ok|okay|so|now|just|also|and|then",
	"can|could|would|will you|u",
	"i want|need you to",
	"i want to",
	"i'd like you? to",
	"i would like you? to",
	"let's|lets",
	"go ahead and",
	NULL
};

static const char *const bi_trail[] = {
	"please|pls|plz|thanks|thx|now|ok|okay",
	"thank you|u",
	"for me",
	NULL
};

#define BI_GREETING	"hi|hello|hey|howdy|greetings|yo|morning"

/* "... to my list", "... from the list": the list itself, not the task. */
#define BI_LIST_SUFFIX	"to|on|onto|in|from|off my|the todo|to-do? " \
			"list|tasks|todos"

/*
 * Requests on every task of a kind: before the list words (where "complete
 * everything" would read as a list) and before the rules (where "delete
 * done" would name a task "done").
 */
static const struct bi_rule bi_bulk_rules[] = {
	{ "mark|set all|everything my? tasks|todos|items? as? "
	    "done|complete|completed|finished|checked", BI_COMPLETE_ALL, NULL },
	{ "complete|finish|check|tick|close all|everything my? "
	    "tasks|todos|items?", BI_COMPLETE_ALL, NULL },
	{ "check|tick|cross off all|everything my? tasks|todos|items?",
	    BI_COMPLETE_ALL, NULL },
	{ "clear|delete|remove|purge|erase|archive all? the? my? "
	    "completed|done|finished|checked tasks|todos|items|ones?",
	    BI_DELETE_DONE, NULL },
	{ NULL, BI_HELP, NULL }
};

/*
 * The other requests, first match wins, so a longer form comes before a
 * shorter one that would take it: "mark 3 as not done" would otherwise
 * be "mark {3 as not} done", "check off 3" would be "check {off 3}",
 * "remove the due date of 3" would delete task "the due date of 3".
 * Rules that start with the task come last.
 */
static const struct bi_rule bi_rules[] = {
	/*
	 * Memory first: "don't forget that ..." is a fact, where "don't
	 * forget to ..." is a task; "remember to ..." is a task too, like
	 * "remind me to ...", and "remember that ..." a fact. A rule without
	 * {a} recalls everything (the newest memories).
	 */
	{ "remember to {a}", BI_ADD, NULL },
	{ "remember|memorize|memorise that|this? {a}", BI_REMEMBER, NULL },
	{ "note|record that {a}", BI_REMEMBER, NULL },
	{ "make|take a? note that {a}", BI_REMEMBER, NULL },
	{ "keep|bear in mind that? {a}", BI_REMEMBER, NULL },
	{ "don't|dont|never forget that {a}", BI_REMEMBER, NULL },
	{ "do not forget that {a}", BI_REMEMBER, NULL },
	{ "what else? do|did you know|remember about? me|myself?", BI_RECALL,
	    NULL },
	{ "what have|did i told|tell you about? me|myself?", BI_RECALL, NULL },
	{ "who am i", BI_RECALL, NULL },
	{ "tell me about me|myself", BI_RECALL, NULL },
	{ "tell me what you know|remember about? me|myself?", BI_RECALL,
	    NULL },
	{ "show|list|display|view|see me? my|your|the|all? memories|memory",
	    BI_RECALL, NULL },
	{ "what are|is my|your memories|memory", BI_RECALL, NULL },
	{ "what do you know|remember about {a}", BI_RECALL, NULL },
	{ "do you remember|recall|know {a}", BI_RECALL, NULL },
	{ "forget|delete|remove|erase the|my? memory|memories about|of|that {a}",
	    BI_FORGET, NULL },
	{ "forget everything|all|anything about|of {a}", BI_FORGET, NULL },
	{ "forget about|that? {a}", BI_FORGET, NULL },
	{ "stop remembering {a}", BI_FORGET, NULL },
	/* Add: no other rule starts with these verbs. */
	{ "add|create|new a|an|new|another? task|todo|to-do|reminder|item "
	    "to|for|called|named|saying? {a}", BI_ADD, NULL },
	{ "make a|an|new|another task|todo|to-do|reminder|item "
	    "to|for|called|named|saying? {a}", BI_ADD, NULL },
	{ "add|create|make|new a|an|new|another? task|todo|to-do|reminder|item",
	    BI_ADD, NULL },
	{ "todo|to-do {a}", BI_ADD, NULL },
	{ "remind me to|about|of? {a}", BI_ADD, NULL },
	{ "don't|dont forget to? {a}", BI_ADD, NULL },
	{ "add|put {a}", BI_ADD, NULL },
	/* Reopen. */
	{ "reopen|re-open|uncomplete|undo|unmark|uncheck|untick|restore {t}",
	    BI_REOPEN, NULL },
	{ "mark|set {t} as|to? not done|complete|completed|finished",
	    BI_REOPEN, NULL },
	{ "mark|set {t} as|to? undone|incomplete|pending|open|unfinished|"
	    "uncompleted|todo|not-done", BI_REOPEN, NULL },
	/* Complete. */
	{ "mark|set {t} as|to? done|complete|completed|finished|checked|ticked",
	    BI_COMPLETE, NULL },
	{ "check|tick|cross off {t}", BI_COMPLETE, NULL },
	{ "check|tick|cross {t} off", BI_COMPLETE, NULL },
	{ "done|finished with {t}", BI_COMPLETE, NULL },
	{ "complete|finish|done|check|tick|close {t}", BI_COMPLETE, NULL },
	{ "i|we have? finished|completed|did|done {t}", BI_COMPLETE, NULL },
	{ "i've|ive|we've finished|completed|done {t}", BI_COMPLETE, NULL },
	{ "i'm|im done|finished with {t}", BI_COMPLETE, NULL },
	{ "i am done|finished with {t}", BI_COMPLETE, NULL },
	/* Rename. */
	{ "rename|retitle {t} to|as|into {a}", BI_RENAME, NULL },
	{ "change|set|update|edit the? title|name of|for {t} to|as|into {a}",
	    BI_RENAME, NULL },
	/* Due date. */
	{ "remove|clear|delete|drop|unset the? due|deadline date? "
	    "of|from|for|on {t}", BI_DUE, "none" },
	{ "set|change|update|move|make the? due|deadline date? of|for|on {t} "
	    "to|as|for? {d}", BI_DUE, NULL },
	{ "move|push|postpone|reschedule|defer|delay|shift|bump {t} "
	    "to|until|till|for? {d}", BI_DUE, NULL },
	{ "make|set {t} due {d}", BI_DUE, NULL },
	/* Priority. */
	{ "prioritise|prioritize {t}", BI_PRIORITY, "high" },
	{ "deprioritise|deprioritize {t}", BI_PRIORITY, "low" },
	{ "set|change|update|make the? priority of|for|on {t} to|as? {p}",
	    BI_PRIORITY, NULL },
	{ "set|change|update {t} priority to|as? {p}", BI_PRIORITY, NULL },
	{ "make|set|mark|change {t} to|as? {p} priority?", BI_PRIORITY, NULL },
	{ "give {t} a? {p} priority", BI_PRIORITY, NULL },
	/* Delete. */
	{ "delete|remove|erase|drop|trash|discard|cancel|scrap {t}",
	    BI_DELETE, NULL },
	{ "get rid of {t}", BI_DELETE, NULL },
	/* A verb without its task. */
	{ "mark|set as? done|complete|completed|finished", BI_HELP,
	    BI_WHICH },
	{ "delete|remove|reopen|undo|mark|finish|check|prioritise|prioritize|"
	    "postpone", BI_HELP, BI_WHICH },
	/* The task first. */
	{ "{t} isn't|isnt|wasn't|wasnt done|finished|complete|completed",
	    BI_REOPEN, NULL },
	{ "{t} is|was not done|finished|complete|completed", BI_REOPEN, NULL },
	{ "{t} is|are|was due {d}", BI_DUE, NULL },
	{ "{t} due {d}", BI_DUE, NULL },
	{ "{t} is|has {p} priority?", BI_PRIORITY, NULL },
	{ "{t} is|are|was done|finished|complete|completed", BI_COMPLETE,
	    NULL },
	{ "{t} done", BI_COMPLETE, NULL },
	{ NULL, BI_HELP, NULL }
};

/* Priority words, as the tools spell them. */
static const struct {
	const char	*words;
	const char	*value;
} bi_prios[] = {
	{ "high|urgent|important|top|critical|asap|highest", "high" },
	{ "medium|normal|mid|moderate", "medium" },
	{ "low|minor|lowest", "low" },
	{ "none|no", "none" }
};

/* In a new task's text: a priority, wherever it is. */
static const char *const bi_prio_phrases[] = {
	"with|at? a|an? {p} priority",
	"priority|prio {p}",
	NULL
};
#define BI_URGENT	"urgent|urgently|important|asap"

/* Words that name nothing to remember or forget: "forget it". */
#define BI_VAGUE	"it|this|that|these|those|everything|all|anything|" \
	"something|stuff|them|me|myself|about"
/*
 * A question about the user starts with one of these and has one of
 * BI_ME in it, but none of BI_TASKISH ("what do I need to do today" is
 * the list, "is my report done" a task).
 */
#define BI_QWORDS	"what|what's|whats|where|where's|wheres|who|who's|" \
	"whos|when|when's|whens|which|how|do|does|did|am|is|are|was|were|" \
	"have|has"
#define BI_ME		"i|i'm|im|my|me|mine|myself|i've|ive"
#define BI_TASKISH	"task|tasks|todo|todos|to-do|to-dos|list|due|" \
	"overdue|deadline|priority|done|complete|completed|finish|finished|" \
	"remind|reminder|reminders|need|should|must|plan|planned|scheduled|" \
	"agenda|today|tonight|tomorrow|week"

/* A message made only of these words asks for a list. */
enum bi_lex {
	BI_LEX_FILL,	/* says nothing by itself */
	BI_LEX_KEY,	/* a list word with no filter */
	BI_LEX_PENDING,
	BI_LEX_ALL,
	BI_LEX_DONE,
	BI_LEX_TODAY,
	BI_LEX_TOMORROW,
	BI_LEX_WEEK,
	BI_LEX_OVERDUE
};

static const struct {
	const char	*words;
	enum bi_lex	 lex;
} bi_lexicon[] = {
	{ "show|list|display|view|see|what|what's|whats|which|tell|give|get|"
	    "print|check|read|due", BI_LEX_KEY },
	{ "tasks|task|todos|todo|to-do|to-dos|items|things|agenda|plate|stuff|"
	    "schedule", BI_LEX_KEY },
	{ "me|my|the|a|i|is|are|was|on|do|does|have|got|to|of|for|there|"
	    "anything|any|still|in|now|so|far|need|should|must|it|this|did|"
	    "i've|ive|until|by|how|many", BI_LEX_FILL },
	{ "pending|open|remaining|outstanding|left|unfinished|incomplete|"
	    "undone|current|active", BI_LEX_PENDING },
	{ "all|everything|every|entire|whole", BI_LEX_ALL },
	{ "done|completed|finished|complete|checked", BI_LEX_DONE },
	{ "today|tonight", BI_LEX_TODAY },
	{ "tomorrow", BI_LEX_TOMORROW },
	{ "week", BI_LEX_WEEK },
	{ "overdue|late|missed", BI_LEX_OVERDUE }
};

/* How each list is asked for and told. */
static const struct {
	const char	*status;
	bool		 by_due;	/* soonest due first */
	const char	*adj;		/* "You have 3 <adj>tasks<suffix>:" */
	const char	*suffix;
	const char	*none;
} bi_lists[] = {
	[BI_LIST_PENDING] = { "pending", true, "pending ", "",
	    "You have no pending tasks. Add one with \"add buy milk "
	    "tomorrow\"." },
	[BI_LIST_ALL] = { "all", false, "", "",
	    "Your list is empty. Add a task with \"add buy milk tomorrow\"." },
	[BI_LIST_COMPLETED] = { "completed", false, "completed ", "",
	    "You haven't completed any tasks yet." },
	[BI_LIST_TODAY] = { "pending", true, "", " due by today",
	    "Nothing is due today." },
	[BI_LIST_TOMORROW] = { "pending", true, "", " due tomorrow",
	    "Nothing is due tomorrow." },
	[BI_LIST_WEEK] = { "pending", true, "", " due this week",
	    "Nothing is due this week." },
	[BI_LIST_OVERDUE] = { "pending", true, "overdue ", "",
	    "Nothing is overdue." }
};

static const char *const bi_wdays[7] = {
	"sunday|sun", "monday|mon", "tuesday|tue|tues", "wednesday|wed",
	"thursday|thu|thur|thurs", "friday|fri", "saturday|sat"
};
static const char *const bi_wday_abbr[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const bi_mon_abbr[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec"
};
static const char *const bi_numbers[] = {
	"a|an|one", "two", "three", "four", "five", "six", "seven", "eight",
	"nine", "ten", NULL
};

/* ------------------------------------------------------------ text */

static void __attribute__((format(printf, 2, 3)))
bi_buf_printf(struct arena_buf *b, const char *fmt, ...)
{
	char		 small[128];
	char		*big;
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->nomem = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		arena_buf_add(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	big = arena_vprintf(b->arena, fmt, ap);
	va_end(ap);
	if (big == NULL)
		b->nomem = true;
	else
		arena_buf_puts(b, big);
}

/* A task's title on one line: control characters become spaces. */
static void
bi_buf_title(struct arena_buf *b, const char *s)
{
	size_t	 n;

	while (*s != '\0') {
		for (n = 0; s[n] != '\0' && (unsigned char)s[n] >= 0x20 &&
		    s[n] != 0x7f; n++)
			continue;
		arena_buf_add(b, s, n);
		if (s[n] == '\0')
			break;
		arena_buf_add(b, " ", 1);
		s += n + 1;
	}
}

/* The text built, "" when empty, or NULL when memory ran out. */
static char *
bi_buf_text(struct arena_buf *b)
{
	if (b->nomem)
		return NULL;
	if (b->str.p == NULL)
		return arena_strdup(b->arena, "");
	return b->str.p;
}

/*
 * Trims quotes and sentence punctuation from both ends of s, in place
 * (brackets are kept: "milk (2l)").
 */
static char *
bi_trim_marks(char *s)
{
	static const char	 marks[] = ".,;:!?\"'-";
	size_t			 n;

	for (;;) {
		if (*s != '\0' && strchr(marks, *s) != NULL)
			s++;
		else if (words_typo_mark(s, strlen(s)))
			s += 3;
		else if (words_space((unsigned char)*s))
			s++;
		else
			break;
	}
	for (n = strlen(s); n > 0;) {
		if (strchr(marks, s[n - 1]) != NULL ||
		    words_space((unsigned char)s[n - 1]))
			n--;
		else if (n >= 3 && words_typo_mark(s + n - 3, 3))
			n -= 3;
		else
			break;
		s[n] = '\0';
	}
	return s;
}

static int64_t
bi_count_words(const char *s)
{
	int64_t	 n = 0;
	bool	 in = false;

	for (; s != NULL && *s != '\0'; s++) {
		if (words_space((unsigned char)*s))
			in = false;
		else if (!in) {
			in = true;
			n++;
		}
	}
	return n;
}

/* ------------------------------------------------------------ words */

/* Whether `text' ends with a question mark, before closing quotes. */
static bool
bi_asks(const char *text)
{
	size_t	 n = strlen(text);

	while (n > 0 && (words_space((unsigned char)text[n - 1]) ||
	    strchr("\"')", text[n - 1]) != NULL))
		n--;
	return n > 0 && text[n - 1] == '?';
}

/* Splits the message into words at white space. */
static enum app_err
bi_split(struct bi_ctx *c, const char *text)
{
	const char	*p = text, *start, *norm;

	c->ntok = 0;
	c->question = bi_asks(text);
	while (c->ntok < BI_MAX_TOKENS) {
		while (words_space((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		for (start = p; *p != '\0' && !words_space((unsigned char)*p); p++)
			continue;
		if ((norm = words_norm(c->arena, start, (size_t)(p - start))) ==
		    NULL)
			return APP_ENOMEM;
		/* A dash or a lone "?" says nothing. */
		if (*norm == '\0')
			continue;
		c->tok[c->ntok].raw = start;
		c->tok[c->ntok].len = (size_t)(p - start);
		c->tok[c->ntok].norm = norm;
		c->ntok++;
	}
	return APP_OK;
}

/*
 * The message's own words [lo, hi), except those in `drop' (may be NULL),
 * one space apart, outer quotes and punctuation trimmed. NULL on ENOMEM.
 */
static char *
bi_join(struct bi_ctx *c, size_t lo, size_t hi, const bool *drop)
{
	struct arena_buf	 b;
	char		*s;
	size_t		 i;

	arena_buf_init(&b, c->arena);
	for (i = lo; i < hi; i++) {
		if (drop != NULL && drop[i])
			continue;
		if (b.str.len > 0)
			arena_buf_add(&b, " ", 1);
		arena_buf_add(&b, c->tok[i].raw, c->tok[i].len);
	}
	if ((s = bi_buf_text(&b)) == NULL)
		return NULL;
	return bi_trim_marks(s);
}

/* A task id written "3", "#3": its value, else 0. */
static int64_t
bi_id(const char *w)
{
	int64_t	 v = 0;
	size_t	 n = 0;

	if (*w == '#')
		w++;
	for (; *w >= '0' && *w <= '9'; w++) {
		if (++n > 15)
			return 0;
		v = v * 10 + (*w - '0');
	}
	return *w == '\0' ? v : 0;
}

/* ------------------------------------------------------------ patterns */

static int
bi_slot_of(const char *s, size_t len)
{
	if (len != 3 || s[0] != '{' || s[2] != '}')
		return -1;
	switch (s[1]) {
	case 't':
		return BI_SLOT_TASK;
	case 'a':
		return BI_SLOT_TEXT;
	case 'p':
		return BI_SLOT_PRIO;
	case 'd':
		return BI_SLOT_DATE;
	default:
		return -1;
	}
}

static size_t
bi_pattern(const char *pat, struct bi_pword *w)
{
	size_t	 n = 0, len;

	while (*pat != '\0' && n < BI_MAX_PWORDS) {
		if (*pat == ' ') {
			pat++;
			continue;
		}
		for (len = 0; pat[len] != '\0' && pat[len] != ' '; len++)
			continue;
		w[n].s = pat;
		w[n].len = len;
		w[n].opt = len > 1 && pat[len - 1] == '?';
		if (w[n].opt)
			w[n].len--;
		w[n].slot = bi_slot_of(pat, w[n].len);
		n++;
		pat += len;
	}
	return n;
}

/* Whether tokens [lo, hi) can fill a slot. */
static bool
bi_slot_ok(struct bi_ctx *c, int slot, size_t lo, size_t hi)
{
	int64_t	 day;

	switch (slot) {
	case BI_SLOT_TASK:
		bi_task_trim(c, &lo, &hi);
		return lo < hi;
	case BI_SLOT_PRIO:
		return hi - lo == 1 && bi_prio(c->tok[lo].norm) != NULL;
	case BI_SLOT_DATE:
		return bi_date(c, lo, hi, &day) == hi - lo;
	default:
		return true;
	}
}

/*
 * Matches pattern words w[0..nw) against all of tokens [ti, hi). A slot
 * takes as few words as it can, so "rename buy milk to buy oat milk"
 * splits at the first "to" that lets the rest match.
 */
static bool
bi_match_words(struct bi_ctx *c, const struct bi_pword *w, size_t nw,
    size_t ti, size_t hi, struct bi_caps *cap)
{
	size_t	 end;

	if (nw == 0)
		return ti == hi;
	if (w->slot >= 0) {
		for (end = ti + 1; end <= hi; end++) {
			if (!bi_slot_ok(c, w->slot, ti, end))
				continue;
			cap->lo[w->slot] = ti;
			cap->hi[w->slot] = end;
			if (bi_match_words(c, w + 1, nw - 1, end, hi, cap))
				return true;
		}
		return false;
	}
	if (ti < hi && words_alt(w->s, w->len, c->tok[ti].norm) &&
	    bi_match_words(c, w + 1, nw - 1, ti + 1, hi, cap))
		return true;
	return w->opt && bi_match_words(c, w + 1, nw - 1, ti, hi, cap);
}

/* True when tokens [lo, hi) are exactly what `pat' describes. */
static bool
bi_match(struct bi_ctx *c, const char *pat, size_t lo, size_t hi,
    struct bi_caps *cap)
{
	struct bi_pword	 w[BI_MAX_PWORDS];
	size_t		 nw;

	nw = bi_pattern(pat, w);
	memset(cap, 0, sizeof(*cap));
	return bi_match_words(c, w, nw, lo, hi, cap);
}

/*
 * The phrases matched at either end of a text (politeness, priorities,
 * "to my list") have no {t} or {a} slot, so they are never longer than
 * this: looking no further keeps a long message linear.
 */
#define BI_MAX_PHRASE	(2 * BI_MAX_PWORDS)

/* The most tokens from lo (before hi) that `pat' matches; 0: none. */
static size_t
bi_match_prefix(struct bi_ctx *c, const char *pat, size_t lo, size_t hi,
    struct bi_caps *cap)
{
	size_t	 end;

	if (hi - lo > BI_MAX_PHRASE)
		hi = lo + BI_MAX_PHRASE;
	for (end = hi; end > lo; end--)
		if (bi_match(c, pat, lo, end, cap))
			return end - lo;
	return 0;
}

/*
 * Where the longest tail of [lo, hi) that `pat' matches begins, leaving
 * at least one word before it; hi when there is none.
 */
static size_t
bi_match_suffix(struct bi_ctx *c, const char *pat, size_t lo, size_t hi)
{
	struct bi_caps	 cap;
	size_t		 start = lo + 1;

	if (hi - lo > BI_MAX_PHRASE)
		start = hi - BI_MAX_PHRASE;
	for (; start < hi; start++)
		if (bi_match(c, pat, start, hi, &cap))
			return start;
	return hi;
}

/* ------------------------------------------------------------ dates */

static bool
bi_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
bi_mdays(int y, int m)
{
	static const int	 days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && bi_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a date from 1970 to 9999. */
static int64_t
bi_day_number(int y, int m, int d)
{
	int64_t	 n = 0;
	int	 i;

	for (i = 1970; i < y; i++)
		n += bi_leap(i) ? 366 : 365;
	for (i = 1; i < m; i++)
		n += bi_mdays(y, i);
	return n + d - 1;
}

/* 0 = Sunday. 1970-01-01 was a Thursday. */
static int
bi_weekday(int64_t day)
{
	return (int)(((day % 7) + 11) % 7);
}

/* Days from `day' to the next weekday `wd', 0 when it is that day. */
static int
bi_ahead(int64_t day, int wd)
{
	return (wd - bi_weekday(day) + 7) % 7;
}

/* Days from `day' to the Monday of the next week (1 to 7). */
static int
bi_next_monday(int64_t day)
{
	int	 n = bi_ahead(day, 1);

	return n == 0 ? 7 : n;
}

static int
bi_wday_of(const char *w)
{
	int	 i;

	for (i = 0; i < 7; i++)
		if (words_is(bi_wdays[i], w))
			return i;
	return -1;
}

/* "3", "three", "a": 1 to 999; 0 for anything else. */
static int
bi_number(const char *w)
{
	int	 i, v = 0;

	if (*w >= '0' && *w <= '9') {
		for (i = 0; w[i] >= '0' && w[i] <= '9'; i++)
			if (i >= 3)
				return 0;
			else
				v = v * 10 + (w[i] - '0');
		return w[i] == '\0' ? v : 0;
	}
	for (i = 0; bi_numbers[i] != NULL; i++)
		if (words_is(bi_numbers[i], w))
			return i + 1;
	return 0;
}

/* "2026-12-01" as a day number; -1 when it is not such a date. */
static int64_t
bi_iso_date(const char *w)
{
	int	 y, m, d, i;

	if (strlen(w) != 10 || w[4] != '-' || w[7] != '-')
		return -1;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (w[i] < '0' || w[i] > '9'))
			return -1;
	y = atoi(w);
	m = atoi(w + 5);
	d = atoi(w + 8);
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > bi_mdays(y, m))
		return -1;
	return bi_day_number(y, m, d);
}

/* A date that starts at token i (before hi): tokens used, 0 for none. */
static size_t
bi_date_core(struct bi_ctx *c, size_t i, size_t hi, int64_t *day)
{
	const char	*w = c->tok[i].norm;
	const char	*w1 = i + 1 < hi ? c->tok[i + 1].norm : "";
	const char	*w2 = i + 2 < hi ? c->tok[i + 2].norm : "";
	int		 wd, n;

	if (words_is("today|tonight|tonite", w)) {
		*day = c->today;
		return 1;
	}
	if (words_is("tomorrow|tmrw|tmr|tomorow", w)) {
		*day = c->today + 1;
		return 1;
	}
	if (words_is("day", w) && words_is("after", w1) && words_is("tomorrow", w2)) {
		*day = c->today + 2;
		return 3;
	}
	if (words_is("next", w) && words_is("week", w1)) {
		*day = c->today + bi_next_monday(c->today);
		return 2;
	}
	if ((wd = bi_wday_of(w)) >= 0) {
		*day = c->today + bi_ahead(c->today, wd);
		return 1;
	}
	/* "next friday" is the one after the coming friday. */
	if (words_is("this|next", w) && (wd = bi_wday_of(w1)) >= 0) {
		*day = c->today + bi_ahead(c->today, wd) +
		    (words_is("next", w) ? 7 : 0);
		return 2;
	}
	if (words_is("in", w) && (n = bi_number(w1)) > 0 &&
	    words_is("day|days|week|weeks", w2)) {
		*day = c->today + (words_is("day|days", w2) ? n : 7 * n);
		return 3;
	}
	if ((*day = bi_iso_date(w)) >= 0)
		return 1;
	return 0;
}

/*
 * A date phrase at token i: a date with up to two prepositions before it
 * ("due on friday", "by tomorrow"). Tokens used, 0 for none.
 */
static size_t
bi_date(struct bi_ctx *c, size_t i, size_t hi, int64_t *day)
{
	size_t	 skip = 0, n;

	while (skip < 2 && i + skip < hi &&
	    words_is("on|by|due|for|before|until|till", c->tok[i + skip].norm))
		skip++;
	if (i + skip >= hi ||
	    (n = bi_date_core(c, i + skip, hi, day)) == 0)
		return 0;
	return skip + n;
}

/* "2026-11-23T00:00:00Z" (or 23:59:59 with `end'); NULL on ENOMEM. */
static char *
bi_day_text(struct arena *a, int64_t day, bool end)
{
	struct tm	 tm;
	time_t		 t = (time_t)(day * BI_DAY);

	if (gmtime_r(&t, &tm) == NULL)
		return NULL;
	return arena_printf(a, "%04d-%02d-%02dT%s", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, end ? "23:59:59Z" : "00:00:00Z");
}

/* "Mon 23 Nov", with the year when it is not this one's, and the time
 * (UTC) when it is not midnight. */
static void
bi_buf_date(struct bi_ctx *c, struct arena_buf *b, const char *rfc)
{
	struct timespec	 ts;
	struct tm	 tm, now;
	time_t		 t = (time_t)(c->today * BI_DAY);

	if (jsonx_time_parse(rfc, &ts) == -1 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL || gmtime_r(&t, &now) == NULL) {
		bi_buf_title(b, rfc);
		return;
	}
	bi_buf_printf(b, "%s %d %s", bi_wday_abbr[tm.tm_wday], tm.tm_mday,
	    bi_mon_abbr[tm.tm_mon]);
	if (tm.tm_year != now.tm_year)
		bi_buf_printf(b, " %d", tm.tm_year + 1900);
	if (tm.tm_hour != 0 || tm.tm_min != 0)
		bi_buf_printf(b, " %02d:%02d", tm.tm_hour, tm.tm_min);
}

/* ------------------------------------------------------------ parsing */

static const char *
bi_prio(const char *w)
{
	size_t	 i;

	for (i = 0; i < sizeof(bi_prios) / sizeof(bi_prios[0]); i++)
		if (words_is(bi_prios[i].words, w))
			return bi_prios[i].value;
	return NULL;
}

/*
 * Narrows [lo, hi) to the words that name a task: "the", "task",
 * "number" before it and "task", "from my list" after it say nothing.
 */
static void
bi_task_trim(struct bi_ctx *c, size_t *lo, size_t *hi)
{
	while (*lo < *hi &&
	    words_is("the|my|task|item|number|no|todo|to-do", c->tok[*lo].norm))
		(*lo)++;
	if (*lo < *hi)
		*hi = bi_match_suffix(c, BI_LIST_SUFFIX, *lo, *hi);
	while (*hi > *lo + 1 && words_is("task|item|todo", c->tok[*hi - 1].norm))
		(*hi)--;
}

/* The task of a rule: by number ("3", "#3", "task 3") or by words. */
static enum app_err
bi_target(struct bi_ctx *c, size_t lo, size_t hi, struct bi_intent *in)
{
	bi_task_trim(c, &lo, &hi);
	if (hi - lo == 1 && (in->id = bi_id(c->tok[lo].norm)) > 0)
		return APP_OK;
	in->id = 0;
	if ((in->words = bi_join(c, lo, hi, NULL)) == NULL)
		return APP_ENOMEM;
	return APP_OK;
}

/* A "#tag" word; false for "#3", an id. */
static bool
bi_tag(struct bi_ctx *c, size_t i, struct bi_intent *in)
{
	const char	*w = c->tok[i].norm;

	if (w[0] != '#' || w[1] == '\0' || bi_id(w) > 0)
		return false;
	if (in->ntags < BI_MAX_TAGS)
		in->tags[in->ntags++] = w + 1;
	return true;
}

/* A priority phrase at token i: tokens used, 0 for none. */
static size_t
bi_prio_phrase(struct bi_ctx *c, size_t i, size_t hi, const char **prio)
{
	struct bi_caps	 cap;
	size_t		 k, n;

	if (words_is(BI_URGENT, c->tok[i].norm)) {
		*prio = "high";
		return 1;
	}
	for (k = 0; bi_prio_phrases[k] != NULL; k++) {
		n = bi_match_prefix(c, bi_prio_phrases[k], i, hi, &cap);
		if (n > 0) {
			*prio = bi_prio(c->tok[cap.lo[BI_SLOT_PRIO]].norm);
			return n;
		}
	}
	return 0;
}

/* A tag or a priority phrase at token i (stored in `in'): tokens used. */
static size_t
bi_modifier(struct bi_ctx *c, size_t i, size_t hi, struct bi_intent *in)
{
	const char	*prio;
	size_t		 n;

	if (bi_tag(c, i, in))
		return 1;
	if ((n = bi_prio_phrase(c, i, hi, &prio)) > 0 && in->priority == NULL)
		in->priority = prio;
	return n;
}

/* Whether tokens [i, hi) are only tags and priority phrases. */
static bool
bi_only_modifiers(struct bi_ctx *c, size_t i, size_t hi)
{
	struct bi_intent	 scratch;
	size_t			 n;

	memset(&scratch, 0, sizeof(scratch));
	for (; i < hi; i += n)
		if ((n = bi_modifier(c, i, hi, &scratch)) == 0)
			return false;
	return true;
}

/* "friday", "next friday": a day named with no preposition before it. */
static bool
bi_bare_weekday(struct bi_ctx *c, size_t i, size_t hi)
{
	return bi_wday_of(c->tok[i].norm) >= 0 || (i + 1 < hi &&
	    words_is("this|next", c->tok[i].norm) &&
	    bi_wday_of(c->tok[i + 1].norm) >= 0);
}

/*
 * A new task's text: tags, the first priority and the first date come
 * out wherever they are, what is left (in the user's own case) is the
 * title. A bare day name is a date only at the end ("call mom friday"),
 * else it belongs to the title ("Sunday roast").
 */
static enum app_err
bi_parse_add(struct bi_ctx *c, size_t lo, size_t hi, struct bi_intent *in)
{
	bool		 drop[BI_MAX_TOKENS];
	size_t		 i, k, n;
	int64_t		 day;

	memset(drop, 0, sizeof(drop));
	hi = bi_match_suffix(c, BI_LIST_SUFFIX, lo, hi);
	for (i = lo; i < hi; i += n == 0 ? 1 : n) {
		if ((n = bi_modifier(c, i, hi, in)) == 0 && !in->due_set &&
		    (n = bi_date(c, i, hi, &day)) > 0) {
			if (bi_bare_weekday(c, i, hi) &&
			    !bi_only_modifiers(c, i + n, hi)) {
				n = 0;
				continue;
			}
			in->due_set = true;
			in->due = bi_day_text(c->arena, day, false);
			if (in->due == NULL)
				return APP_ENOMEM;
		}
		for (k = 0; k < n; k++)
			drop[i + k] = true;
	}
	if ((in->text = bi_join(c, lo, hi, drop)) == NULL)
		return APP_ENOMEM;
	if (*in->text == '\0') {
		in->verb = BI_HELP;
		in->reply = "What should the task say? For example: "
		    "\"add buy milk tomorrow\".";
	}
	return APP_OK;
}

/* Whether tokens [lo, hi) are all words that name nothing. */
static bool
bi_vague(struct bi_ctx *c, size_t lo, size_t hi)
{
	for (; lo < hi; lo++)
		if (!words_is(BI_VAGUE, c->tok[lo].norm))
			return false;
	return true;
}

/*
 * What to remember, look for or forget: the {a} words as written, or ""
 * for a recall without them (everything). Words that name nothing
 * ("remember this", "forget everything") are asked about, except in a
 * recall ("do you remember me?": everything); "remember my name?" asks
 * whether I do, and "do you know what's due today" is the list.
 */
static enum app_err
bi_parse_memory(struct bi_ctx *c, const struct bi_caps *cap,
    struct bi_intent *in)
{
	size_t	 lo = cap->lo[BI_SLOT_TEXT], hi = cap->hi[BI_SLOT_TEXT];

	in->text = "";
	if (hi == 0 || (in->verb == BI_RECALL && bi_vague(c, lo, hi)))
		return APP_OK;
	if (in->verb == BI_RECALL && bi_parse_list(c, lo, hi, &in->list)) {
		in->verb = BI_LIST;
		return APP_OK;
	}
	if (bi_vague(c, lo, hi)) {
		in->reply = in->verb == BI_REMEMBER ? "What should I remember? "
		    "For example: \"remember that I live in Paris\"." :
		    "What should I forget? One thing at a time, for example: "
		    "\"forget that I live in Paris\".";
		in->verb = BI_HELP;
		return APP_OK;
	}
	if (in->verb == BI_REMEMBER && c->question)
		in->verb = BI_RECALL;
	in->text = bi_join(c, lo, hi, NULL);
	return in->text == NULL ? APP_ENOMEM : APP_OK;
}

/* A question about the user ("where do I live?", "what's my name"). */
static bool
bi_about_me(struct bi_ctx *c, size_t lo, size_t hi)
{
	bool	 me = false;
	size_t	 i;

	if (!words_is(BI_QWORDS, c->tok[lo].norm))
		return false;
	/* "how do I add a task": how to use me, not who the user is. */
	if (strcmp(c->tok[lo].norm, "how") == 0 && lo + 1 < hi &&
	    words_is("do|can|could|should|would|to", c->tok[lo + 1].norm))
		return false;
	for (i = lo; i < hi; i++) {
		if (words_is(BI_TASKISH, c->tok[i].norm))
			return false;
		me = me || words_is(BI_ME, c->tok[i].norm);
	}
	return me;
}

/*
 * A statement of facts about the user that matched no request: said
 * back as noted, since the memory job will extract the same facts after
 * the turn.
 */
static bool
bi_noted(struct bi_ctx *c, const char *text)
{
	struct extract_fact	 facts[EXTRACT_MAX];

	return extract_builtin(c->arena, text, facts, EXTRACT_MAX) > 0;
}

/* Fills the intent from the rule that matched. */
static enum app_err
bi_apply(struct bi_ctx *c, const struct bi_rule *r, const struct bi_caps *cap,
    struct bi_intent *in)
{
	enum app_err	 rc;
	int64_t		 day;

	in->verb = r->verb;
	if (r->verb == BI_HELP) {
		in->reply = r->arg;
		return APP_OK;
	}
	if (cap->hi[BI_SLOT_TASK] > 0 && (rc = bi_target(c,
	    cap->lo[BI_SLOT_TASK], cap->hi[BI_SLOT_TASK], in)) != APP_OK)
		return rc;
	switch (r->verb) {
	case BI_ADD:
		return bi_parse_add(c, cap->lo[BI_SLOT_TEXT],
		    cap->hi[BI_SLOT_TEXT], in);
	case BI_RENAME:
		in->text = bi_join(c, cap->lo[BI_SLOT_TEXT],
		    cap->hi[BI_SLOT_TEXT], NULL);
		return in->text == NULL ? APP_ENOMEM : APP_OK;
	case BI_REMEMBER:
	case BI_RECALL:
	case BI_FORGET:
		return bi_parse_memory(c, cap, in);
	case BI_PRIORITY:
		in->priority = r->arg != NULL ? r->arg :
		    bi_prio(c->tok[cap->lo[BI_SLOT_PRIO]].norm);
		return APP_OK;
	case BI_DUE:
		in->due_set = true;
		if (r->arg != NULL)
			return APP_OK;
		(void)bi_date(c, cap->lo[BI_SLOT_DATE], cap->hi[BI_SLOT_DATE],
		    &day);
		in->due = bi_day_text(c->arena, day, false);
		return in->due == NULL ? APP_ENOMEM : APP_OK;
	default:
		return APP_OK;
	}
}

/*
 * A message made only of list words ("what's on my list", "show done",
 * "what's due today") asks for a list; the words say which.
 */
static bool
bi_parse_list(struct bi_ctx *c, size_t lo, size_t hi, enum bi_list *kind)
{
	unsigned	 seen = 0;
	size_t		 i, k, n = sizeof(bi_lexicon) / sizeof(bi_lexicon[0]);

	for (i = lo; i < hi; i++) {
		for (k = 0; k < n; k++)
			if (words_is(bi_lexicon[k].words, c->tok[i].norm))
				break;
		if (k == n)
			return false;
		seen |= 1u << bi_lexicon[k].lex;
	}
	if ((seen & ~(1u << BI_LEX_FILL)) == 0)
		return false;
	if (seen & (1u << BI_LEX_DONE))
		*kind = BI_LIST_COMPLETED;
	else if (seen & (1u << BI_LEX_OVERDUE))
		*kind = BI_LIST_OVERDUE;
	else if (seen & (1u << BI_LEX_TODAY))
		*kind = BI_LIST_TODAY;
	else if (seen & (1u << BI_LEX_TOMORROW))
		*kind = BI_LIST_TOMORROW;
	else if (seen & (1u << BI_LEX_WEEK))
		*kind = BI_LIST_WEEK;
	else if (seen & (1u << BI_LEX_ALL))
		*kind = BI_LIST_ALL;
	else
		*kind = BI_LIST_PENDING;
	return true;
}

/* Takes "please", "can you", "thanks" off both ends of [lo, hi). */
static void
bi_polite(struct bi_ctx *c, size_t *lo, size_t *hi)
{
	struct bi_caps	 cap;
	size_t		 k, n, start;
	bool		 again = true;

	while (again) {
		again = false;
		for (k = 0; bi_lead[k] != NULL; k++) {
			n = bi_match_prefix(c, bi_lead[k], *lo, *hi, &cap);
			if (n > 0) {
				*lo += n;
				again = true;
			}
		}
		for (k = 0; bi_trail[k] != NULL; k++) {
			start = bi_match_suffix(c, bi_trail[k], *lo, *hi);
			if (start < *hi) {
				*hi = start;
				again = true;
			}
		}
	}
}

/* Runs the rules of one table on [lo, hi); true when one matched. */
static bool
bi_rule_find(struct bi_ctx *c, const struct bi_rule *rules, size_t lo,
    size_t hi, const struct bi_rule **r, struct bi_caps *cap)
{
	for (*r = rules; (*r)->pattern != NULL; (*r)++)
		if (bi_match(c, (*r)->pattern, lo, hi, cap))
			return true;
	return false;
}

static enum app_err
bi_parse(struct bi_ctx *c, const char *text, struct bi_intent *in)
{
	const struct bi_rule	*r;
	struct bi_caps		 cap;
	enum app_err		 rc;
	size_t			 lo, hi;

	memset(in, 0, sizeof(*in));
	in->verb = BI_HELP;
	if ((rc = bi_split(c, text)) != APP_OK)
		return rc;
	lo = 0;
	hi = c->ntok;
	in->greeted = hi > 0 && words_is(BI_GREETING, c->tok[0].norm);
	bi_polite(c, &lo, &hi);
	if (lo == hi)
		return APP_OK;
	if (bi_rule_find(c, bi_bulk_rules, lo, hi, &r, &cap))
		return bi_apply(c, r, &cap, in);
	if (bi_parse_list(c, lo, hi, &in->list)) {
		in->verb = BI_LIST;
		return APP_OK;
	}
	if (bi_rule_find(c, bi_rules, lo, hi, &r, &cap))
		return bi_apply(c, r, &cap, in);
	if (bi_about_me(c, lo, hi)) {
		in->verb = BI_RECALL;
		in->text = bi_join(c, lo, hi, NULL);
		return in->text == NULL ? APP_ENOMEM : APP_OK;
	}
	if (bi_noted(c, text))
		in->reply = "Thanks, I'll remember that.";
	return APP_OK;
}

/* ------------------------------------------------------------ tool calls */

/*
 * Makes `args' (taken in every case; NULL means its constructor failed)
 * the one tool call of this round. The id holds the length of the
 * conversation, which grows every round, so ids never repeat in it.
 */
static enum app_err
bi_call(struct bi_ctx *c, const char *name, struct json_object *args)
{
	struct llm_tool_call	*tc;
	const char		*json;
	enum app_err		 rc = APP_ENOMEM;

	if (args == NULL)
		return APP_ENOMEM;
	if ((tc = arena_calloc(c->arena, 1, sizeof(*tc))) == NULL)
		goto out;
	json = json_object_to_json_string_ext(args,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (json == NULL ||
	    (tc->arguments = arena_strdup(c->arena, json)) == NULL ||
	    (tc->id = arena_printf(c->arena, "call_b%zu_0",
	    c->req->nmessages)) == NULL)
		goto out;
	tc->name = name;
	c->out->tool_calls = tc;
	c->out->ntool_calls = 1;
	c->out->finish_reason = "tool_calls";
	rc = APP_OK;
out:
	json_object_put(args);
	return rc;
}

static enum app_err
bi_add_day(struct bi_ctx *c, struct json_object *o, const char *key,
    int64_t day, bool end)
{
	const char	*s;

	if ((s = bi_day_text(c->arena, day, end)) == NULL)
		return APP_ENOMEM;
	return jsonx_add_string(o, key, s);
}

/* list_tasks for what the user asked to see. */
static enum app_err
bi_call_list(struct bi_ctx *c, enum bi_list kind)
{
	struct json_object	*o;
	enum app_err		 rc;

	if ((o = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	rc = jsonx_add_string(o, "status", bi_lists[kind].status);
	if (rc == APP_OK && bi_lists[kind].by_due &&
	    (rc = jsonx_add_string(o, "sort", "due_at")) == APP_OK)
		rc = jsonx_add_string(o, "order", "asc");
	if (rc == APP_OK)
		switch (kind) {
		case BI_LIST_TODAY:
			rc = bi_add_day(c, o, "due_before", c->today + 1,
			    false);
			break;
		case BI_LIST_TOMORROW:
			if ((rc = bi_add_day(c, o, "due_after", c->today,
			    true)) == APP_OK)
				rc = bi_add_day(c, o, "due_before",
				    c->today + 2, false);
			break;
		case BI_LIST_WEEK:
			rc = bi_add_day(c, o, "due_before",
			    c->today + bi_next_monday(c->today), false);
			break;
		case BI_LIST_OVERDUE:
			rc = bi_add_day(c, o, "due_before", c->today, false);
			break;
		default:
			break;
		}
	if (rc == APP_OK)
		rc = jsonx_add_int(o, "limit", BI_LIST_LIMIT);
	if (rc != APP_OK) {
		json_object_put(o);
		return rc;
	}
	return bi_call(c, "list_tasks", o);
}

/* list_tasks for the tasks a request may act on (q: words, or NULL). */
static enum app_err
bi_call_find(struct bi_ctx *c, const char *status, const char *q, int limit)
{
	struct json_object	*o;
	enum app_err		 rc = APP_OK;

	if ((o = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	if (q != NULL)
		rc = jsonx_add_string(o, "q", q);
	if (rc == APP_OK && (rc = jsonx_add_string(o, "status", status)) ==
	    APP_OK)
		rc = jsonx_add_int(o, "limit", limit);
	if (rc != APP_OK) {
		json_object_put(o);
		return rc;
	}
	return bi_call(c, "list_tasks", o);
}

static enum app_err
bi_call_create(struct bi_ctx *c, const struct bi_intent *in)
{
	struct json_object	*o, *tags;
	enum app_err		 rc;
	size_t			 i;

	if ((o = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	rc = jsonx_add_string(o, "title", in->text);
	if (rc == APP_OK && in->priority != NULL)
		rc = jsonx_add_string(o, "priority", in->priority);
	if (rc == APP_OK && in->due != NULL)
		rc = jsonx_add_string(o, "due_at", in->due);
	if (rc == APP_OK && in->ntags > 0) {
		tags = json_object_new_array();
		for (i = 0; tags != NULL && i < in->ntags && rc == APP_OK; i++)
			rc = jsonx_append(tags,
			    json_object_new_string(in->tags[i]));
		if (rc == APP_OK)
			rc = jsonx_add(o, "tags", tags);
		else
			json_object_put(tags);
	}
	if (rc != APP_OK) {
		json_object_put(o);
		return rc;
	}
	return bi_call(c, "create_task", o);
}

/* The call that does what the user asked to task `id'. */
static enum app_err
bi_call_act(struct bi_ctx *c, const struct bi_intent *in, int64_t id)
{
	struct json_object	*o;
	const char		*name = "update_task";
	enum app_err		 rc;

	if ((o = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	rc = jsonx_add_int(o, "id", id);
	switch (in->verb) {
	case BI_COMPLETE:
		name = "complete_task";
		break;
	case BI_REOPEN:
		name = "complete_task";
		if (rc == APP_OK)
			rc = jsonx_add_bool(o, "completed", false);
		break;
	case BI_RENAME:
		if (rc == APP_OK)
			rc = jsonx_add_string(o, "title", in->text);
		break;
	case BI_PRIORITY:
		if (rc == APP_OK)
			rc = jsonx_add_string(o, "priority", in->priority);
		break;
	case BI_DUE:
		if (rc == APP_OK)
			rc = jsonx_add_string(o, "due_at", in->due);
		break;
	default:
		name = "delete_task";
		break;
	}
	if (rc != APP_OK) {
		json_object_put(o);
		return rc;
	}
	return bi_call(c, name, o);
}

/* remember, recall or forget, with the one argument `key'. */
static enum app_err
bi_call_memory(struct bi_ctx *c, const char *name, const char *key,
    const char *value)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	if (jsonx_add_string(o, key, value) != APP_OK) {
		json_object_put(o);
		return APP_ENOMEM;
	}
	return bi_call(c, name, o);
}

/* A bulk call on the ids of a list_tasks result. */
static enum app_err
bi_call_bulk(struct bi_ctx *c, const struct bi_intent *in,
    struct json_object *items)
{
	struct json_object	*o, *ids, *id;
	enum app_err		 rc = APP_OK;
	size_t			 i, n = json_object_array_length(items);

	if ((o = json_object_new_object()) == NULL)
		return APP_ENOMEM;
	if ((ids = json_object_new_array()) == NULL)
		rc = APP_ENOMEM;
	for (i = 0; rc == APP_OK && i < n; i++)
		if (json_object_object_get_ex(json_object_array_get_idx(items,
		    i), "id", &id) && json_object_is_type(id, json_type_int))
			rc = jsonx_append(ids,
			    json_object_new_int64(json_object_get_int64(id)));
	if (rc == APP_OK)
		rc = jsonx_add(o, "ids", ids);
	else
		json_object_put(ids);
	if (rc != APP_OK) {
		json_object_put(o);
		return rc;
	}
	return bi_call(c, in->verb == BI_COMPLETE_ALL ? "bulk_complete_tasks" :
	    "bulk_delete_tasks", o);
}

/* ------------------------------------------------------------ results */

static void
bi_json_put(void *o)
{
	json_object_put(o);
}

/*
 * Parses JSON text that the arena then owns. *out is NULL when the text
 * is missing or not JSON; only APP_ENOMEM fails.
 */
static enum app_err
bi_json(struct bi_ctx *c, const char *text, struct json_object **out)
{
	enum app_err	 rc;

	*out = NULL;
	if (text == NULL)
		return APP_OK;
	rc = jsonx_parse(text, strlen(text), out, NULL);
	if (rc == APP_ENOMEM)
		return rc;
	if (rc != APP_OK) {
		*out = NULL;
		return APP_OK;
	}
	if (arena_cleanup_add(c->arena, bi_json_put, *out) == -1) {
		json_object_put(*out);
		*out = NULL;
		return APP_ENOMEM;
	}
	return APP_OK;
}

/* The result of call k of assistant message `a' (NULL: none, unreadable). */
static enum app_err
bi_result(struct bi_ctx *c, size_t a, size_t k, struct json_object **out)
{
	const struct llm_message	*m = c->req->messages;
	const char			*id = m[a].tool_calls[k].id;
	size_t				 i, nth = 0;

	for (i = a + 1; i < c->req->nmessages; i++) {
		if (m[i].role == NULL || strcmp(m[i].role, "tool") != 0)
			continue;
		/* Matched by id, or by position when the id is missing. */
		if (id != NULL && m[i].tool_call_id != NULL ?
		    strcmp(id, m[i].tool_call_id) == 0 : nth == k)
			return bi_json(c, m[i].content, out);
		nth++;
	}
	*out = NULL;
	return APP_OK;
}

static struct json_object *
bi_get(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *
bi_get_str(struct json_object *o, const char *key)
{
	struct json_object	*v = bi_get(o, key);

	return json_object_is_type(v, json_type_string) ?
	    json_object_get_string(v) : NULL;
}

static int64_t
bi_get_int(struct json_object *o, const char *key)
{
	struct json_object	*v = bi_get(o, key);

	return json_object_is_type(v, json_type_int) ?
	    json_object_get_int64(v) : 0;
}

/* The items of a list_tasks result, or NULL. */
static struct json_object *
bi_items(struct json_object *res)
{
	struct json_object	*v = bi_get(res, "items");

	return json_object_is_type(v, json_type_array) ? v : NULL;
}

/* "I couldn't do that: ..." when the result is an error or unreadable. */
static bool
bi_buf_failure(struct arena_buf *b, struct json_object *res)
{
	struct json_object	*err = NULL;
	const char		*msg;
	size_t			 n;

	if (res != NULL && (err = bi_get(res, "error")) == NULL)
		return false;
	if (res == NULL)
		msg = "the tool's answer could not be read";
	else if ((msg = bi_get_str(err, "message")) == NULL &&
	    (msg = json_object_is_type(err, json_type_string) ?
	    json_object_get_string(err) : NULL) == NULL)
		msg = "something went wrong";
	/* The message may end a sentence of its own. */
	for (n = strlen(msg); n > 0 && strchr(".!", msg[n - 1]) != NULL; n--)
		continue;
	arena_buf_puts(b, "I couldn't do that: ");
	arena_buf_add(b, msg, n);
	arena_buf_puts(b, ".");
	return true;
}

/* #12 "buy milk" */
static void
bi_buf_ref(struct arena_buf *b, struct json_object *task)
{
	const char	*title = bi_get_str(task, "title");
	int64_t		 id = bi_get_int(task, "id");

	if (id > 0)
		bi_buf_printf(b, "#%lld", (long long)id);
	if (title != NULL) {
		arena_buf_puts(b, id > 0 ? " \"" : "\"");
		bi_buf_title(b, title);
		arena_buf_puts(b, "\"");
	} else if (id <= 0)
		arena_buf_puts(b, "the task");
}

/* "high priority", or nothing for none. */
static bool
bi_has_priority(struct json_object *task, const char **prio)
{
	*prio = bi_get_str(task, "priority");
	return *prio != NULL && strcmp(*prio, "none") != 0;
}

/* One line of a list: "- [x] #3 buy milk (due Mon 23 Nov, high priority)". */
static void
bi_buf_item(struct bi_ctx *c, struct arena_buf *b, struct json_object *task,
    bool marks, bool details)
{
	struct json_object	*done = bi_get(task, "completed");
	const char		*due = bi_get_str(task, "due_at");
	const char		*title = bi_get_str(task, "title");
	const char		*prio;
	bool			 prio_set = bi_has_priority(task, &prio);

	arena_buf_puts(b, "\n- ");
	if (marks && json_object_get_boolean(done))
		arena_buf_puts(b, "[x] ");
	bi_buf_printf(b, "#%lld ", (long long)bi_get_int(task, "id"));
	bi_buf_title(b, title != NULL ? title : "");
	if (!details || (due == NULL && !prio_set))
		return;
	arena_buf_puts(b, " (");
	if (due != NULL) {
		arena_buf_puts(b, "due ");
		bi_buf_date(c, b, due);
	}
	if (prio_set)
		bi_buf_printf(b, "%s%s priority", due != NULL ? ", " : "",
		    prio);
	arena_buf_puts(b, ")");
}

/* Items of a list_tasks result, then "…and N more." */
static void
bi_buf_items(struct bi_ctx *c, struct arena_buf *b, struct json_object *res,
    bool marks, bool details)
{
	struct json_object	*items = bi_items(res);
	size_t			 i, n = items != NULL ?
				    json_object_array_length(items) : 0;
	int64_t			 total = bi_get_int(res, "total");

	for (i = 0; i < n; i++)
		bi_buf_item(c, b, json_object_array_get_idx(items, i), marks,
		    details);
	if (total > (int64_t)n)
		bi_buf_printf(b, "\n\xe2\x80\xa6" "and %lld more.",
		    (long long)(total - (int64_t)n));
}

static void
bi_say_list(struct bi_ctx *c, struct arena_buf *b, enum bi_list kind,
    struct json_object *res)
{
	struct json_object	*items = bi_items(res);
	int64_t			 n, total;

	n = items != NULL ? (int64_t)json_object_array_length(items) : 0;
	if ((total = bi_get_int(res, "total")) < n)
		total = n;
	if (total == 0) {
		arena_buf_puts(b, bi_lists[kind].none);
		return;
	}
	bi_buf_printf(b, "You have %lld %s%s%s:", (long long)total,
	    bi_lists[kind].adj, total == 1 ? "task" : "tasks",
	    bi_lists[kind].suffix);
	bi_buf_items(c, b, res, kind == BI_LIST_ALL, true);
}

/* The sayers: one sentence for the result of each tool. */

static void
bi_say_created(struct bi_ctx *c, struct arena_buf *b, struct json_object *args,
    struct json_object *res)
{
	struct json_object	*tags = bi_get(res, "tags");
	const char		*due = bi_get_str(res, "due_at"), *prio;
	size_t			 i, n;

	arena_buf_puts(b, "Added ");
	bi_buf_ref(b, res);
	if (due != NULL) {
		arena_buf_puts(b, ", due ");
		bi_buf_date(c, b, due);
	}
	if (bi_has_priority(res, &prio))
		bi_buf_printf(b, ", %s priority", prio);
	n = json_object_is_type(tags, json_type_array) ?
	    json_object_array_length(tags) : 0;
	for (i = 0; i < n; i++) {
		arena_buf_puts(b, i == 0 ? ", tagged #" : " #");
		bi_buf_title(b, json_object_get_string(
		    json_object_array_get_idx(tags, i)));
	}
	arena_buf_puts(b, ".");
}

static void
bi_say_updated(struct bi_ctx *c, struct arena_buf *b, struct json_object *args,
    struct json_object *res)
{
	const char	*due = bi_get_str(res, "due_at"), *prio;
	const char	*title = bi_get_str(res, "title");
	size_t		 said = b->str.len;

	if (bi_get(args, "title") != NULL) {
		bi_buf_printf(b, "Renamed #%lld to \"",
		    (long long)bi_get_int(res, "id"));
		bi_buf_title(b, title != NULL ? title : "");
		arena_buf_puts(b, "\".");
	}
	if (bi_get(args, "priority") != NULL) {
		arena_buf_puts(b, b->str.len > said ? " " : "");
		if (bi_has_priority(res, &prio)) {
			arena_buf_puts(b, "Set ");
			bi_buf_ref(b, res);
			bi_buf_printf(b, " to %s priority.", prio);
		} else {
			arena_buf_puts(b, "Removed the priority of ");
			bi_buf_ref(b, res);
			arena_buf_puts(b, ".");
		}
	}
	if (bi_get_str(args, "due_at") != NULL || jsonx_is_null(args,
	    "due_at")) {
		arena_buf_puts(b, b->str.len > said ? " " : "");
		arena_buf_puts(b, due != NULL ? "Moved " :
		    "Removed the due date of ");
		bi_buf_ref(b, res);
		if (due != NULL) {
			arena_buf_puts(b, " to ");
			bi_buf_date(c, b, due);
		}
		arena_buf_puts(b, ".");
	}
	if (b->str.len == said) {
		arena_buf_puts(b, "Updated ");
		bi_buf_ref(b, res);
		arena_buf_puts(b, ".");
	}
}

static void
bi_say_completed(struct bi_ctx *c, struct arena_buf *b, struct json_object *args,
    struct json_object *res)
{
	struct json_object	*done = bi_get(res, "completed");

	if (done != NULL && !json_object_get_boolean(done)) {
		arena_buf_puts(b, "Reopened ");
		bi_buf_ref(b, res);
		arena_buf_puts(b, ".");
		return;
	}
	arena_buf_puts(b, "Marked ");
	bi_buf_ref(b, res);
	arena_buf_puts(b, " as done.");
}

static void
bi_say_deleted(struct bi_ctx *c, struct arena_buf *b, struct json_object *args,
    struct json_object *res)
{
	struct json_object	*task = bi_get(res, "task");

	arena_buf_puts(b, "Deleted ");
	bi_buf_ref(b, task != NULL ? task : res);
	arena_buf_puts(b, ".");
}

static void
bi_say_bulk_completed(struct bi_ctx *c, struct arena_buf *b,
    struct json_object *args, struct json_object *res)
{
	struct json_object	*done = bi_get(args, "completed");
	int64_t			 n = bi_get_int(res, "affected");

	if (done != NULL && !json_object_get_boolean(done))
		bi_buf_printf(b, "Reopened %lld %s.", (long long)n,
		    n == 1 ? "task" : "tasks");
	else
		bi_buf_printf(b, "Marked %lld %s as done.", (long long)n,
		    n == 1 ? "task" : "tasks");
}

static void
bi_say_bulk_deleted(struct bi_ctx *c, struct arena_buf *b,
    struct json_object *args, struct json_object *res)
{
	int64_t	 n = bi_get_int(res, "affected");

	bi_buf_printf(b, "Deleted %lld %s.", (long long)n,
	    n == 1 ? "task" : "tasks");
}

static void
bi_say_listed(struct bi_ctx *c, struct arena_buf *b, struct json_object *args,
    struct json_object *res)
{
	const char	*status = bi_get_str(args, "status");
	enum bi_list	 kind = BI_LIST_ALL;

	if (status != NULL && strcmp(status, "pending") == 0)
		kind = BI_LIST_PENDING;
	else if (status != NULL && strcmp(status, "completed") == 0)
		kind = BI_LIST_COMPLETED;
	bi_say_list(c, b, kind, res);
}

/*
 * The user's words said back to them: "I'm" is "you're", "my" "your",
 * and right after "I", "am" is "are" and "was" "were".
 */
static const struct {
	const char	*from;
	const char	*to;
	bool		 after_i;
} bi_you[] = {
	{ "i", "you", false }, { "me", "you", false }, { "my", "your", false },
	{ "mine", "yours", false }, { "myself", "yourself", false },
	{ "i'm|im", "you're", false }, { "i've|ive", "you've", false },
	{ "i'd", "you'd", false }, { "i'll", "you'll", false },
	{ "am", "are", true }, { "was", "were", true }
};

/* What `w' (normalised) becomes in the second person, or NULL. */
static const char *
bi_you_word(const char *w, bool after_i)
{
	size_t	 i;

	for (i = 0; i < sizeof(bi_you) / sizeof(bi_you[0]); i++)
		if ((!bi_you[i].after_i || after_i) &&
		    words_is(bi_you[i].from, w))
			return bi_you[i].to;
	return NULL;
}

/*
 * The user's statement `s' in the second person ("I'm allergic to
 * peanuts" -> "you're allergic to peanuts"), one space between words,
 * punctuation around a changed word kept.
 */
static void
bi_buf_you(struct bi_ctx *c, struct arena_buf *b, const char *s)
{
	const char	*p = s, *start, *w, *to;
	size_t		 len, lead, tail;
	bool		 after_i = false, first = true;

	for (;;) {
		while (words_space((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		for (start = p; *p != '\0' && !words_space((unsigned char)*p); p++)
			continue;
		len = (size_t)(p - start);
		if (!first)
			arena_buf_add(b, " ", 1);
		first = false;
		if ((w = words_norm(c->arena, start, len)) == NULL) {
			b->nomem = true;
			return;
		}
		if ((to = bi_you_word(w, after_i)) == NULL) {
			if ((w = arena_strndup(c->arena, start, len)) == NULL)
				b->nomem = true;
			else
				bi_buf_title(b, w);
			after_i = false;
			continue;
		}
		after_i = strcmp(w, "i") == 0;
		for (lead = 0; lead < len && strchr("\"'(", start[lead]) != NULL;
		    lead++)
			continue;
		for (tail = len; tail > lead &&
		    strchr(".,;:!?\"')", start[tail - 1]) != NULL; tail--)
			continue;
		arena_buf_add(b, start, lead);
		arena_buf_puts(b, to);
		arena_buf_add(b, start + tail, len - tail);
	}
}

/* A full stop, unless the text ends a sentence already. */
static void
bi_buf_stop(struct arena_buf *b)
{
	if (b->nomem || b->str.len == 0 ||
	    strchr(".!?", b->str.p[b->str.len - 1]) == NULL)
		arena_buf_puts(b, ".");
}

/* `s' on one line, as a sentence. */
static void
bi_buf_sentence(struct arena_buf *b, const char *s)
{
	bi_buf_title(b, s);
	bi_buf_stop(b);
}

/* The content of a Memory in a result. */
static const char *
bi_memory_text(struct json_object *memory)
{
	const char	*s = bi_get_str(memory, "content");

	return s != NULL ? s : "";
}

static void
bi_say_remembered(struct bi_ctx *c, struct arena_buf *b,
    struct json_object *args, struct json_object *res)
{
	struct json_object	*memory = bi_get(res, "memory");
	const char		*event = bi_get_str(res, "event");
	const char		*said = bi_get_str(args, "content");

	if (event == NULL)
		event = "ADD";
	if (said == NULL)
		said = bi_memory_text(memory);
	if (strcmp(event, "NONE") == 0) {
		arena_buf_puts(b, json_object_is_type(memory, json_type_object) ?
		    "I already knew that." :
		    "I had nothing like that to forget.");
		return;
	}
	if (strcmp(event, "DELETE") == 0) {
		arena_buf_puts(b, "Forgotten: ");
		bi_buf_sentence(b, bi_memory_text(memory));
		return;
	}
	arena_buf_puts(b, strcmp(event, "UPDATE") == 0 ? "Updated: " :
	    "Got it: I'll remember that ");
	bi_buf_you(c, b, said);
	bi_buf_stop(b);
}

/*
 * A recall: everything ("" asked) as a list, or, for a question, the
 * best memory.
 */
static void
bi_say_recalled(struct bi_ctx *c, struct arena_buf *b,
    struct json_object *args, struct json_object *res)
{
	struct json_object	*items = bi_get(res, "memories");
	const char		*query = bi_get_str(args, "query");
	bool			 all = query == NULL || *query == '\0';
	size_t			 i, n;

	n = json_object_is_type(items, json_type_array) ?
	    json_object_array_length(items) : 0;
	if (n == 0) {
		arena_buf_puts(b, all ? "I don't remember anything about you "
		    "yet." : "I don't remember anything about that yet.");
		return;
	}
	if (!all) {
		arena_buf_puts(b, "You told me: ");
		bi_buf_sentence(b, bi_memory_text(
		    json_object_array_get_idx(items, 0)));
		return;
	}
	arena_buf_puts(b, "Here is what I remember:");
	for (i = 0; i < n; i++) {
		arena_buf_puts(b, "\n- ");
		bi_buf_title(b, bi_memory_text(json_object_array_get_idx(items,
		    i)));
	}
}

static void
bi_say_forgotten(struct bi_ctx *c, struct arena_buf *b,
    struct json_object *args, struct json_object *res)
{
	arena_buf_puts(b, "Forgotten: ");
	bi_buf_sentence(b, bi_memory_text(bi_get(res, "deleted")));
}

/* What each tool's result is told as; `not_found': for that error. */
static const struct {
	const char	*tool;
	void		(*say)(struct bi_ctx *, struct arena_buf *,
			    struct json_object *, struct json_object *);
	const char	*not_found;
} bi_sayers[] = {
	{ "create_task", bi_say_created, NULL },
	{ "update_task", bi_say_updated, NULL },
	{ "complete_task", bi_say_completed, NULL },
	{ "delete_task", bi_say_deleted, NULL },
	{ "bulk_complete_tasks", bi_say_bulk_completed, NULL },
	{ "bulk_delete_tasks", bi_say_bulk_deleted, NULL },
	{ "list_tasks", bi_say_listed, NULL },
	{ "remember", bi_say_remembered, NULL },
	{ "recall", bi_say_recalled, NULL },
	{ "forget", bi_say_forgotten, "I had nothing like that to forget." }
};

/* ------------------------------------------------------------ answers */

/* Makes the text of `b' the answer. */
static enum app_err
bi_answer(struct bi_ctx *c, struct arena_buf *b)
{
	char	*text;

	if ((text = bi_buf_text(b)) == NULL)
		return APP_ENOMEM;
	c->out->text = text;
	c->out->text_len = strlen(text);
	c->out->finish_reason = "stop";
	return APP_OK;
}

static enum app_err
bi_answer_str(struct bi_ctx *c, const char *s)
{
	struct arena_buf	 b;

	arena_buf_init(&b, c->arena);
	arena_buf_puts(&b, s);
	return bi_answer(c, &b);
}

static enum app_err
bi_help(struct bi_ctx *c, const struct bi_intent *in)
{
	struct arena_buf	 b;

	arena_buf_init(&b, c->arena);
	if (in->greeted)
		arena_buf_puts(&b, "Hi! ");
	if (in->reply != NULL)
		arena_buf_puts(&b, in->reply);
	else
		arena_buf_puts(&b, "I can keep your task list: add, list, "
		    "complete, reopen, rename, prioritise, reschedule and "
		    "delete tasks. I also remember what you tell me about "
		    "yourself. " BI_EXAMPLES);
	return bi_answer(c, &b);
}

/* Say what the calls of assistant message `a' did, one after the other. */
static enum app_err
bi_say_results(struct bi_ctx *c, size_t a)
{
	const struct llm_tool_call	*tc = c->req->messages[a].tool_calls;
	struct json_object		*res, *args;
	struct arena_buf			 b;
	const char			*code;
	enum app_err			 rc;
	size_t				 k, i, n = sizeof(bi_sayers) /
					    sizeof(bi_sayers[0]);

	arena_buf_init(&b, c->arena);
	for (k = 0; k < c->req->messages[a].ntool_calls; k++) {
		if ((rc = bi_result(c, a, k, &res)) != APP_OK ||
		    (rc = bi_json(c, tc[k].arguments, &args)) != APP_OK)
			return rc;
		if (b.str.len > 0)
			arena_buf_puts(&b, "\n");
		for (i = 0; i < n; i++)
			if (tc[k].name != NULL &&
			    strcmp(tc[k].name, bi_sayers[i].tool) == 0)
				break;
		if (i < n && bi_sayers[i].not_found != NULL &&
		    (code = bi_get_str(bi_get(res, "error"), "code")) != NULL &&
		    strcmp(code, "not_found") == 0)
			arena_buf_puts(&b, bi_sayers[i].not_found);
		else if (bi_buf_failure(&b, res))
			continue;
		else if (i < n)
			bi_sayers[i].say(c, &b, args, res);
		else
			arena_buf_puts(&b, "Done.");
	}
	return bi_answer(c, &b);
}

/* The status a task named by words is looked for in. */
static const char *
bi_find_status(enum bi_verb v)
{
	if (v == BI_COMPLETE)
		return "pending";
	if (v == BI_REOPEN)
		return "completed";
	return "all";
}

/*
 * Round two of a task named by words: act on the only match, or on the
 * only one whose title is exactly the words; else say none or ask which.
 */
static enum app_err
bi_pick(struct bi_ctx *c, const struct bi_intent *in,
    struct json_object *res)
{
	struct json_object	*items = bi_items(res), *it, *pick = NULL;
	const char		*title, *status = bi_find_status(in->verb);
	struct arena_buf		 b;
	size_t			 i, n, exact = 0;

	n = items != NULL ? json_object_array_length(items) : 0;
	for (i = 0; i < n; i++) {
		it = json_object_array_get_idx(items, i);
		title = bi_get_str(it, "title");
		if (title != NULL && strcasecmp(title, in->words) == 0) {
			pick = it;
			exact++;
		}
	}
	if (n == 1)
		pick = json_object_array_get_idx(items, 0);
	if ((n == 1 || exact == 1) && bi_get_int(pick, "id") > 0)
		return bi_call_act(c, in, bi_get_int(pick, "id"));
	arena_buf_init(&b, c->arena);
	if (n == 0) {
		/* "No pending task matches": the search was only there. */
		bi_buf_printf(&b, "No %s%stask matches \"",
		    strcmp(status, "all") == 0 ? "" : status,
		    strcmp(status, "all") == 0 ? "" : " ");
		bi_buf_title(&b, in->words);
		arena_buf_puts(&b, "\".");
		return bi_answer(c, &b);
	}
	arena_buf_puts(&b, "Several tasks match \"");
	bi_buf_title(&b, in->words);
	arena_buf_puts(&b, "\". Which one do you mean?");
	bi_buf_items(c, &b, res, false, false);
	return bi_answer(c, &b);
}

/* Round two of "mark all done", "delete all completed". */
static enum app_err
bi_bulk(struct bi_ctx *c, const struct bi_intent *in, struct json_object *res)
{
	struct json_object	*items = bi_items(res);

	if (items == NULL || json_object_array_length(items) == 0)
		return bi_answer_str(c, in->verb == BI_COMPLETE_ALL ?
		    "You have no pending tasks to mark as done." :
		    "You have no completed tasks to delete.");
	return bi_call_bulk(c, in, items);
}

/* The first round: a call, or the help. */
static enum app_err
bi_first(struct bi_ctx *c, const struct bi_intent *in)
{
	switch (in->verb) {
	case BI_HELP:
		return bi_help(c, in);
	case BI_ADD:
		return bi_call_create(c, in);
	case BI_LIST:
		return bi_call_list(c, in->list);
	case BI_COMPLETE_ALL:
		return bi_call_find(c, "pending", NULL, BI_BULK_LIMIT);
	case BI_DELETE_DONE:
		return bi_call_find(c, "completed", NULL, BI_BULK_LIMIT);
	case BI_REMEMBER:
		return bi_call_memory(c, "remember", "content", in->text);
	case BI_RECALL:
		return bi_call_memory(c, "recall", "query", in->text);
	case BI_FORGET:
		return bi_call_memory(c, "forget", "query", in->text);
	default:
		if (in->id > 0)
			return bi_call_act(c, in, in->id);
		return bi_call_find(c, bi_find_status(in->verb), in->words,
		    BI_PICK_LIMIT);
	}
}

/*
 * A later round, after the calls of assistant message `a'. A single
 * list_tasks was either the list asked for or the search before acting;
 * anything else was an action, whose results are told.
 */
static enum app_err
bi_next(struct bi_ctx *c, const struct bi_intent *in, size_t a)
{
	const struct llm_message	*m = &c->req->messages[a];
	struct json_object		*res;
	struct arena_buf			 b;
	enum app_err			 rc;

	if (m->ntool_calls != 1 || m->tool_calls[0].name == NULL ||
	    strcmp(m->tool_calls[0].name, "list_tasks") != 0)
		return bi_say_results(c, a);
	if ((rc = bi_result(c, a, 0, &res)) != APP_OK)
		return rc;
	arena_buf_init(&b, c->arena);
	if (bi_buf_failure(&b, res))
		return bi_answer(c, &b);
	switch (in->verb) {
	case BI_LIST:
		bi_say_list(c, &b, in->list, res);
		return bi_answer(c, &b);
	case BI_COMPLETE_ALL:
	case BI_DELETE_DONE:
		return bi_bulk(c, in, res);
	case BI_HELP:
	case BI_ADD:
		return bi_say_results(c, a);
	default:
		if (in->id > 0)
			return bi_say_results(c, a);
		return bi_pick(c, in, res);
	}
}

static enum app_err
bi_turn(struct bi_ctx *c)
{
	const struct llm_message	*m = c->req->messages;
	struct bi_intent		 in;
	enum app_err			 rc;
	size_t				 i, u;

	for (u = c->req->nmessages; u > 0; u--)
		if (m[u - 1].role != NULL && strcmp(m[u - 1].role, "user") == 0)
			break;
	if ((rc = bi_parse(c, u > 0 && m[u - 1].content != NULL ?
	    m[u - 1].content : "", &in)) != APP_OK)
		return rc;
	/* The last assistant message with calls after the user's. */
	for (i = c->req->nmessages; i > u; i--)
		if (m[i - 1].role != NULL &&
		    strcmp(m[i - 1].role, "assistant") == 0 &&
		    m[i - 1].ntool_calls > 0 && m[i - 1].tool_calls != NULL)
			return bi_next(c, &in, i - 1);
	return bi_first(c, &in);
}

/* ------------------------------------------------------------ streaming */

/* Sleeps `ms' in slices, asking tick() after each: -1 when it says stop. */
static int
bi_wait(const struct llm_callbacks *cb, int ms)
{
	struct timespec	 ts;
	int		 step;

	while (ms > 0) {
		step = ms < BI_TICK_MS ? ms : BI_TICK_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			continue;
		ms -= step;
		if (cb->tick != NULL && cb->tick(cb->ctx))
			return -1;
	}
	return 0;
}

/*
 * Hands the answer to on_delta one word at a time, each with the white
 * space after it. On a stop, the text is cut after the last word handed
 * over, as a remote answer keeps what had arrived.
 */
static enum app_err
bi_stream(const struct llm_callbacks *cb, int delay_ms,
    struct llm_result *out)
{
	const char	*p = out->text, *start;
	size_t		 sent = 0;

	while (*p != '\0') {
		start = p;
		while (*p != '\0' && !words_space((unsigned char)*p))
			p++;
		while (words_space((unsigned char)*p))
			p++;
		if (start != out->text && delay_ms > 0 &&
		    bi_wait(cb, delay_ms) == -1)
			goto stop;
		sent = (size_t)(p - out->text);
		if (cb->on_delta != NULL &&
		    cb->on_delta(cb->ctx, start, (size_t)(p - start)) != 0)
			goto stop;
	}
	return APP_OK;
stop:
	out->text[sent] = '\0';
	out->text_len = sent;
	return APP_EHUP;
}

static void
bi_usage(const struct llm_request *req, struct llm_result *out)
{
	const struct llm_message	*m = req->messages;
	int64_t				 in = 0, done = 0;
	size_t				 i, k;

	for (i = 0; i < req->nmessages; i++) {
		in += bi_count_words(m[i].content);
		if (m[i].tool_calls == NULL)
			continue;
		for (k = 0; k < m[i].ntool_calls; k++)
			in += 1 + bi_count_words(m[i].tool_calls[k].arguments);
	}
	done = bi_count_words(out->text);
	for (k = 0; k < out->ntool_calls; k++)
		done += 1 + bi_count_words(out->tool_calls[k].arguments);
	out->usage.prompt_tokens = in;
	out->usage.completion_tokens = done;
	out->usage.total_tokens = in + done;
}

/* ------------------------------------------------------------ entry points */

enum app_err
builtin_complete(struct arena *a, const struct llm_request *req,
    const struct llm_callbacks *cb, int delay_ms, struct llm_result *out)
{
	struct bi_ctx	*c;
	char		*empty;
	time_t		 now;
	enum app_err	 rc = APP_ENOMEM;

	memset(out, 0, sizeof(*out));
	if ((empty = arena_strdup(a, "")) == NULL)
		goto fail;
	out->text = empty;
	if ((c = arena_calloc(a, 1, sizeof(*c))) == NULL)
		goto fail;
	c->arena = a;
	c->req = req;
	c->out = out;
	now = req->now != 0 ? req->now : time(NULL);
	c->today = (int64_t)(now / BI_DAY) - (now % BI_DAY < 0 ? 1 : 0);
	if ((rc = bi_turn(c)) != APP_OK)
		goto fail;
	bi_usage(req, out);
	/* A call that does not stream gets the whole text at once. */
	if (out->ntool_calls == 0 && req->stream && cb != NULL &&
	    (rc = bi_stream(cb, delay_ms, out)) != APP_OK)
		goto fail;
	return APP_OK;
fail:
	if (rc != APP_EHUP) {
		out->text = empty != NULL ? empty : "";
		out->text_len = 0;
		out->tool_calls = NULL;
		out->ntool_calls = 0;
	}
	out->finish_reason = NULL;
	out->error = rc == APP_EHUP ? "the answer was stopped" :
	    "the builtin model ran out of memory";
	return rc;
}

/* Bytes of the first `max' characters of s[0..len) (UTF-8). */
static size_t
bi_utf8_prefix(const char *s, size_t len, size_t max)
{
	size_t	 i, chars = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && chars++ == max)
			break;
	return i;
}

/* Characters of s[0..len): the bytes that do not continue a sequence. */
static size_t
bi_utf8_chars(const char *s, size_t len)
{
	size_t	 i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * Whole words while they fit in `max' characters; a first word longer
 * than that is cut. Then trailing punctuation goes ("Buy milk?" is a
 * title, "Buy milk" a better one) and the first letter is raised.
 */
char *
builtin_title(struct arena *a, const char *message, size_t max)
{
	static const char	 trailing[] = ".,;:!?-";
	const char		*p = message != NULL ? message : "", *w;
	struct arena_buf		 b;
	char			*s;
	size_t			 chars = 0, wlen, wchars, n;

	arena_buf_init(&b, a);
	for (;;) {
		while (words_space((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		for (w = p; *p != '\0' && !words_space((unsigned char)*p); p++)
			continue;
		wlen = (size_t)(p - w);
		wchars = bi_utf8_chars(w, wlen);
		if (chars + (chars > 0 ? 1 : 0) + wchars > max) {
			if (chars == 0)
				arena_buf_add(&b, w, bi_utf8_prefix(w, wlen, max));
			break;
		}
		if (chars > 0) {
			arena_buf_add(&b, " ", 1);
			chars++;
		}
		arena_buf_add(&b, w, wlen);
		chars += wchars;
	}
	if ((s = bi_buf_text(&b)) == NULL)
		return NULL;
	for (n = strlen(s); n > 0;) {
		if (strchr(trailing, s[n - 1]) != NULL ||
		    words_space((unsigned char)s[n - 1]))
			n--;
		else if (n >= 3 && words_typo_mark(s + n - 3, 3) &&
		    (unsigned char)s[n - 1] == 0xa6)
			n -= 3;		/* an ellipsis */
		else
			break;
		s[n] = '\0';
	}
	if (*s == '\0')
		return arena_strdup(a, "New chat");
	if (*s >= 'a' && *s <= 'z')
		*s = (char)(*s - 'a' + 'A');
	return s;
}
