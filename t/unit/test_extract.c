/*
 * test_extract.c: fact extraction. The builtin extractor on a table of
 * messages (statements, negations, questions, hypotheticals, other
 * people's facts, "remember that", two facts in one message,
 * punctuation, case); extract_parse() on a table of model answers
 * (clean, fenced, wrapped in prose, bare arrays, strings, trailing
 * commas, smart and single quotes, broken, empty, invalid UTF-8, huge);
 * extract_reconcile() for each outcome.
 *
 * Facts are compared as one line: "[text|subject]" each, "|NEG" added
 * for a negated one, "-" for none.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "extract.h"
#include "jsonx.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct want {
	const char	*in;
	const char	*facts;
};

/* The facts as one line, in `a'. */
static const char *
show(struct arena *a, const struct extract_fact *f, size_t n)
{
	struct arena_str	 s;
	size_t			 i;
	char			*one;

	if (n == 0)
		return "-";
	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++) {
		one = arena_printf(a, "%s[%s|%s%s]", i > 0 ? " " : "",
		    f[i].text, f[i].subject, f[i].negated ? "|NEG" : "");
		assert_non_null(one);
		assert_int_equal(arena_str_add(a, &s, one, strlen(one)), 0);
	}
	return s.p;
}

/* What every fact must be, whatever the input. */
static void
check_fact(const struct extract_fact *f)
{
	size_t	 len;
	char	*p;

	assert_non_null(f->text);
	assert_non_null(f->subject);
	len = strlen(f->text);
	assert_true(len > 0);
	assert_true(utf8_valid(f->text, len));
	assert_true(utf8_len(f->text) <= EXTRACT_TEXT_MAX);
	assert_true(f->text[0] != ' ' && f->text[len - 1] != ' ');
	assert_true(f->subject[0] != '\0');
	assert_true(strlen(f->subject) <= EXTRACT_SUBJECT_MAX);
	assert_true(utf8_valid(f->subject, strlen(f->subject)));
	for (p = (char *)f->subject; *p != '\0'; p++)
		assert_false(*p >= 'A' && *p <= 'Z');
}

static const struct want builtin_cases[] = {
	/* Statements. */
	{ "I'm vegetarian.", "[Is vegetarian|diet]" },
	{ "I am a vegan", "[Is a vegan|diet]" },
	{ "I am a nurse at Acme.", "[Is a nurse at Acme|job]" },
	{ "I'm a software engineer", "[Is a software engineer|job]" },
	{ "I'm retired.", "[Is retired|job]" },
	{ "I work at Acme as a nurse", "[Works at Acme as a nurse|work]" },
	{ "I work as a teacher", "[Works as a teacher|job]" },
	{ "I work from home", "[Works from home|work]" },
	{ "My name is Ana", "[Name is Ana|name]" },
	{ "my name's Bob, nice to meet you", "[Name is Bob|name]" },
	{ "Call me Al, please.", "[Goes by Al|name]" },
	{ "I like jazz.", "[Likes jazz|likes:jazz]" },
	{ "I really love playing the guitar!",
	    "[Loves playing the guitar|likes:playing the guitar]" },
	{ "I'm a big fan of Radiohead",
	    "[Is a fan of Radiohead|likes:radiohead]" },
	{ "I hate olives", "[Hates olives|dislikes:olives]" },
	{ "I don't like coffee.", "[Doesn't like coffee|dislikes:coffee]" },
	{ "I'm not a fan of olives",
	    "[Is not a fan of olives|dislikes:olives]" },
	{ "I prefer tea over coffee", "[Prefers tea over coffee|prefers:tea]" },
	{ "I live in Paris, France.", "[Lives in Paris, France|home]" },
	{ "I moved to Lisbon two years ago", "[Lives in Lisbon|home]" },
	{ "I'm from Spain", "[Is from Spain|origin]" },
	{ "I'm allergic to peanuts and shellfish.",
	    "[Is allergic to peanuts and shellfish|allergy:peanuts]" },
	{ "I have a peanut allergy", "[Has a peanut allergy|allergy:peanut]" },
	{ "I'm lactose intolerant", "[Is lactose intolerant|allergy:lactose]" },
	{ "I don't eat pork.", "[Doesn't eat pork|avoids:pork]" },
	{ "I have a dog named Rex.", "[Has a dog named Rex|pet:dog]" },
	{ "I've got two cats", "[Has two cats|pet:cat]" },
	{ "my dog's name is Rex", "[Has a dog named Rex|pet:dog]" },
	{ "I have 3 kids.", "[Has 3 kids|children]" },
	{ "I have a sister named Ana", "[Has a sister named Ana|sister]" },
	{ "I was born on 3 May 1990.", "[Was born on 3 May 1990|birthday]" },
	{ "I was born in Paris", "[Was born in Paris|birthplace]" },
	{ "My birthday is March 3rd", "[Birthday is March 3rd|birthday]" },
	{ "I'm 34 years old", "[Is 34 years old|age]" },
	{ "I turned 40 today", "[Is 40 years old|age]" },
	{ "My favourite colour is blue",
	    "[Favourite colour is blue|favourite:colour]" },
	{ "My email is ana@example.com", "[Email is ana@example.com|email]" },
	{ "My wife is Maria.", "[Wife is Maria|wife]" },
	{ "My kids are Tom and Ana", "[Kids are Tom and Ana|children]" },
	{ "I speak Spanish and French",
	    "[Speaks Spanish and French|language:spanish]" },
	{ "I'm learning Japanese", "[Is learning Japanese|learning:japanese]" },
	{ "I play tennis every Sunday",
	    "[Plays tennis every Sunday|plays:tennis]" },
	/* Case and punctuation. */
	{ "I LIKE JAZZ", "[Likes JAZZ|likes:jazz]" },
	{ "i like jazz!!!", "[Likes jazz|likes:jazz]" },
	{ "I\xe2\x80\x99m vegetarian\xe2\x80\xa6", "[Is vegetarian|diet]" },
	{ "  well,   I live   in \"Berlin\" . ", "[Lives in \"Berlin\"|home]" },
	{ "I hate Mondays lol", "[Hates Mondays|dislikes:mondays]" },
	{ "I like \"Kind of Blue\".", "[Likes \"Kind of Blue\"|likes:kind]" },
	/* Two facts and more. */
	{ "I'm a nurse and I live in Lyon.",
	    "[Is a nurse|job] [Lives in Lyon|home]" },
	{ "I live in Paris and work at Acme.",
	    "[Lives in Paris|home] [Works at Acme|work]" },
	{ "I\xe2\x80\x99m vegetarian and I hate olives",
	    "[Is vegetarian|diet] [Hates olives|dislikes:olives]" },
	{ "my name's Bob and I'm from Spain",
	    "[Name is Bob|name] [Is from Spain|origin]" },
	{ "I like cats but I hate dogs",
	    "[Likes cats|likes:cats] [Hates dogs|dislikes:dogs]" },
	{ "Hi! I'm Ana. I live in Lisbon and I love surfing. I'm allergic "
	    "to cats.", "[Lives in Lisbon|home] [Loves surfing|likes:surfing] "
	    "[Is allergic to cats|allergy:cats]" },
	{ "I am from Spain but I live in Berlin",
	    "[Is from Spain|origin] [Lives in Berlin|home]" },
	{ "I like jazz. Do you like jazz? I also love blues.",
	    "[Likes jazz|likes:jazz] [Loves blues|likes:blues]" },
	{ "I like jazz, do you?", "[Likes jazz|likes:jazz]" },
	{ "Since I live in Paris, what should I visit?",
	    "[Lives in Paris|home]" },
	{ "I live in Rome\nI work at Fiat",
	    "[Lives in Rome|home] [Works at Fiat|work]" },
	/* Negations. */
	{ "I don't live in Paris anymore.", "[Lives in Paris|home|NEG]" },
	{ "I no longer work at Acme.", "[Works at Acme|work|NEG]" },
	{ "I'm not vegetarian anymore", "[Is vegetarian|diet|NEG]" },
	{ "I no longer have a dog.", "[Has a dog|pet:dog|NEG]" },
	{ "I don't have a cat anymore", "[Has a cat|pet:cat|NEG]" },
	/* Remember and forget. */
	{ "Remember that my sister is Ana", "[Sister is Ana|sister]" },
	{ "remember that my sister is a doctor",
	    "[Sister is a doctor|sister]" },
	{ "remember that my friend Tom likes jazz",
	    "[My friend Tom likes jazz|note:my friend tom]" },
	{ "Please remember that I have a meeting every Friday",
	    "[Has a meeting every Friday|note:has a meeting]" },
	{ "Can you remember that I'm vegan?", "[Is vegan|diet]" },
	{ "remember: I don't eat pork", "[Doesn't eat pork|avoids:pork]" },
	{ "Don't forget that my anniversary is June 5",
	    "[Anniversary is June 5|anniversary]" },
	{ "Note that I'm left-handed", "[Is left-handed|note:is left-handed]" },
	{ "Forget that I like jazz", "[Likes jazz|likes:jazz|NEG]" },
	{ "Forget that my sister is Ana.", "[Sister is Ana|sister|NEG]" },
	{ "forget my address", "[Address|address|NEG]" },
	/* Nothing to remember. */
	{ "Do I like jazz?", "-" },
	{ "What do I like?", "-" },
	{ "do I live in Paris", "-" },
	{ "If I were rich I would live in Paris", "-" },
	{ "When I was young I lived in Rome.", "-" },
	{ "Suppose I like jazz.", "-" },
	{ "What if I moved to Berlin?", "-" },
	{ "I'd love to visit Japan", "-" },
	{ "I used to live in Rome", "-" },
	{ "My friend likes jazz.", "-" },
	{ "My sister is a doctor.", "-" },
	{ "My husband works at Google", "-" },
	{ "He is vegetarian", "-" },
	{ "I'm tired", "-" },
	{ "I'm fine thanks", "-" },
	{ "I'm 5 minutes late", "-" },
	{ "My day is going well", "-" },
	{ "My phone is broken", "-" },
	{ "I have a question", "-" },
	{ "I have to go", "-" },
	{ "i love it", "-" },
	{ "I love you", "-" },
	{ "I love my wife", "-" },
	{ "hello there", "-" },
	{ "remember to buy milk", "-" },
	{ "Don't forget to buy milk", "-" },
	{ "add buy milk tomorrow", "-" },
	{ "forget it", "-" },
	{ "Je suis v\xc3\xa9g\xc3\xa9tarien et j'habite \xc3\xa0 Paris", "-" },
	{ "", "-" },
	{ "   \n\t ", "-" },
	{ "?!.,", "-" },
	{ "I", "-" },
	{ "my", "-" },
	{ "I like", "-" },
	{ "my name is", "-" },
};

static void
test_builtin(void **state)
{
	struct extract_fact	 f[EXTRACT_MAX];
	struct arena		*a;
	size_t			 i, n, k;
	const char		*got;

	(void)state;
	assert_true(NELEM(builtin_cases) >= 40);
	a = arena_create(8192);
	assert_non_null(a);
	for (i = 0; i < NELEM(builtin_cases); i++) {
		n = extract_builtin(a, builtin_cases[i].in, f, EXTRACT_MAX);
		got = show(a, f, n);
		if (strcmp(got, builtin_cases[i].facts) != 0)
			fail_msg("\"%s\": got %s, want %s", builtin_cases[i].in,
			    got, builtin_cases[i].facts);
		for (k = 0; k < n; k++)
			check_fact(&f[k]);
		arena_reset(a);
	}
	arena_destroy(a);
}

/* At most `max' facts; a long object is cut to EXTRACT_TEXT_MAX. */
static void
test_builtin_bounds(void **state)
{
	static const char	 many[] = "I like jazz. I hate olives. I live "
	    "in Rome. I work at Fiat. I'm vegan. I have a dog. I speak "
	    "Greek. I play chess. I'm 30. I was born in Oslo.";
	struct extract_fact	 f[EXTRACT_MAX];
	struct arena		*a;
	char			*big;
	size_t			 n, i;

	(void)state;
	a = arena_create(8192);
	assert_non_null(a);
	assert_int_equal(extract_builtin(a, many, f, EXTRACT_MAX),
	    EXTRACT_MAX);
	assert_int_equal(extract_builtin(a, many, f, 2), 2);
	assert_string_equal(f[1].text, "Hates olives");
	assert_int_equal(extract_builtin(a, many, f, 0), 0);
	assert_int_equal(extract_builtin(a, NULL, f, EXTRACT_MAX), 0);

	/* Not UTF-8: nothing. */
	assert_int_equal(extract_builtin(a, "I like jazz \xff", f,
	    EXTRACT_MAX), 0);
	assert_int_equal(extract_builtin(a, "I like caf\xc3", f,
	    EXTRACT_MAX), 0);

	/* A long object, partly in two-byte characters. */
	big = arena_alloc(a, 2000);
	assert_non_null(big);
	strcpy(big, "I like ");
	for (i = 0; i < 150; i++)
		strcat(big, "\xc3\xa9t\xc3\xa9 ");
	n = extract_builtin(a, big, f, EXTRACT_MAX);
	assert_int_equal(n, 1);
	check_fact(&f[0]);
	assert_true(utf8_len(f[0].text) <= EXTRACT_TEXT_MAX);
	assert_true(utf8_len(f[0].text) > 150);

	/* The same message gives the same facts, and duplicates once. */
	n = extract_builtin(a, "I like jazz. I like jazz! i like jazz", f,
	    EXTRACT_MAX);
	assert_int_equal(n, 1);
	arena_destroy(a);
}

static const struct want parse_cases[] = {
	/* Clean. */
	{ "{\"facts\":[{\"text\":\"Is vegetarian\",\"subject\":\"diet\"},"
	    "{\"text\":\"Likes jazz\",\"subject\":\"likes:jazz\"}]}",
	    "[Is vegetarian|diet] [Likes jazz|likes:jazz]" },
	{ "{\"facts\":[]}", "-" },
	{ "  {\"facts\" : [ ] }\n", "-" },
	{ "{\"facts\":[{\"text\":\"Lives in Paris\",\"subject\":\"home\","
	    "\"negated\":true}]}", "[Lives in Paris|home|NEG]" },
	/* Fences and prose. */
	{ "```json\n{\"facts\":[{\"text\":\"Lives in Lyon\",\"subject\":"
	    "\"Home\"}]}\n```", "[Lives in Lyon|home]" },
	{ "```\n[{\"text\":\"Is vegan\",\"subject\":\"diet\"}]\n```",
	    "[Is vegan|diet]" },
	{ "Sure! Here are the facts: {\"facts\": [{\"text\": \"Works at "
	    "Acme\", \"subject\": \"work\"}]} Hope this helps {:", 
	    "[Works at Acme|work]" },
	{ "{broken} then {\"facts\":[{\"text\":\"Likes jazz\"}]}",
	    "[Likes jazz|note:likes jazz]" },
	{ "{\"result\":{\"facts\":[{\"text\":\"Likes jazz\"}]}}",
	    "[Likes jazz|note:likes jazz]" },
	/* Other shapes. */
	{ "[{\"text\":\"Is vegan\",\"subject\":\"diet\"}]", "[Is vegan|diet]" },
	{ "[\"Likes jazz\", \"Has a dog named Rex\"]",
	    "[Likes jazz|note:likes jazz] [Has a dog named Rex|note:has a dog]" },
	{ "{\"facts\":[\"Likes tea\"]}", "[Likes tea|note:likes tea]" },
	{ "{\"text\":\"Is vegan\",\"subject\":\"diet\"}", "[Is vegan|diet]" },
	{ "{\"memories\":[{\"fact\":\"Is vegan\",\"category\":\"Diet\"}]}",
	    "[Is vegan|diet]" },
	/* Local models' mistakes. */
	{ "{\"facts\":[\"Likes tea\",]}", "[Likes tea|note:likes tea]" },
	{ "{\"facts\":[{\"text\":\"Likes tea\",\"subject\":\"likes:tea\",},]"
	    ",}", "[Likes tea|likes:tea]" },
	{ "{\xe2\x80\x9c" "facts\xe2\x80\x9d:[{\xe2\x80\x9ctext\xe2\x80\x9d:"
	    "\xe2\x80\x9cIs vegan\xe2\x80\x9d,\xe2\x80\x9csubject\xe2\x80\x9d:"
	    "\xe2\x80\x9c" "diet\xe2\x80\x9d}]}", "[Is vegan|diet]" },
	{ "{'facts':[{'text':'Is vegan','subject':'diet'}]}",
	    "[Is vegan|diet]" },
	/* Items that are dropped. */
	{ "{\"facts\":[{\"text\":\"  Likes   jazz  \"},{\"text\":\"likes "
	    "jazz\"},{\"text\":\"\"},{\"text\":\"   \"},{\"text\":5},{\"subject\":"
	    "\"x\"},null,7,[\"Likes tea\"]]}", "[Likes jazz|note:likes jazz]" },
	{ "{\"facts\":[{\"text\":\"Likes \\u0000 tea\"},{\"text\":\"Is ok\"}]}",
	    "[Is ok|note:is ok]" },
	{ "{\"facts\":[{\"text\":\"Caf\xc3\x28\"},{\"text\":\"Is ok\"}]}",
	    "[Is ok|note:is ok]" },
	{ "{\"facts\":[{\"text\":\"Likes\\tjazz\\nand blues\",\"subject\":"
	    "\"  LIKES:JAZZ \"}]}", "[Likes jazz and blues|likes:jazz]" },
	/* Unusable. */
	{ "no facts here", "-" },
	{ "", "-" },
	{ "{\"facts\":[{\"text\":\"Is vegan\"", "-" },
	{ "{\"facts\":\"Is vegan\"}", "-" },
	{ "{\"answer\":42}", "-" },
	{ "null", "-" },
	{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	    "-" },
};

static void
test_parse(void **state)
{
	struct extract_fact	 f[EXTRACT_MAX];
	struct arena		*a;
	size_t			 i, n, k;
	const char		*got;

	(void)state;
	assert_true(NELEM(parse_cases) >= 20);
	a = arena_create(8192);
	assert_non_null(a);
	for (i = 0; i < NELEM(parse_cases); i++) {
		n = extract_parse(a, parse_cases[i].in,
		    strlen(parse_cases[i].in), f, EXTRACT_MAX);
		got = show(a, f, n);
		if (strcmp(got, parse_cases[i].facts) != 0)
			fail_msg("'%s': got %s, want %s", parse_cases[i].in,
			    got, parse_cases[i].facts);
		for (k = 0; k < n; k++)
			check_fact(&f[k]);
		arena_reset(a);
	}
	arena_destroy(a);
}

/* Lengths, limits, a NUL inside the answer, huge answers. */
static void
test_parse_bounds(void **state)
{
	struct extract_fact	 f[EXTRACT_MAX];
	struct arena		*a;
	struct arena_str	 s;
	char			*long_text, *huge;
	size_t			 i, n;

	(void)state;
	a = arena_create(8192);
	assert_non_null(a);

	/* 200 characters pass, 201 do not (two-byte characters). */
	memset(&s, 0, sizeof(s));
	assert_int_equal(ARENA_STR_LIT(a, &s, "[\""), 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(ARENA_STR_LIT(a, &s, "\xc3\xa9"), 0);
	assert_int_equal(ARENA_STR_LIT(a, &s, "\", \"x\xc3\xa9"), 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(ARENA_STR_LIT(a, &s, "y"), 0);
	assert_int_equal(ARENA_STR_LIT(a, &s, "\"]"), 0);
	long_text = s.p;
	n = extract_parse(a, long_text, strlen(long_text), f, EXTRACT_MAX);
	assert_int_equal(n, 1);
	assert_int_equal(utf8_len(f[0].text), 200);

	/* At most `max'. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(ARENA_STR_LIT(a, &s, "{\"facts\":["), 0);
	for (i = 0; i < 100; i++) {
		char	*one = arena_printf(a, "%s{\"text\":\"Fact %zu\"}",
		    i > 0 ? "," : "", i);

		assert_non_null(one);
		assert_int_equal(arena_str_add(a, &s, one, strlen(one)), 0);
	}
	assert_int_equal(ARENA_STR_LIT(a, &s, "]}"), 0);
	assert_int_equal(extract_parse(a, s.p, s.len, f, EXTRACT_MAX),
	    EXTRACT_MAX);
	assert_int_equal(extract_parse(a, s.p, s.len, f, 3), 3);
	assert_string_equal(f[2].text, "Fact 2");
	assert_int_equal(extract_parse(a, s.p, s.len, f, 0), 0);
	assert_int_equal(extract_parse(a, NULL, 5, f, EXTRACT_MAX), 0);

	/* A NUL byte: what follows it is not read as JSON text. */
	assert_int_equal(extract_parse(a, "[\"A\0B\"]", 7, f, EXTRACT_MAX), 0);

	/* Over the size read: nothing, quickly. */
	huge = malloc(300 * 1024);
	assert_non_null(huge);
	memset(huge, '[', 300 * 1024);
	assert_int_equal(extract_parse(a, huge, 300 * 1024, f, EXTRACT_MAX),
	    0);
	/* Under it, but brackets only: still nothing. */
	assert_int_equal(extract_parse(a, huge, 200 * 1024, f, EXTRACT_MAX),
	    0);
	memset(huge, '{', 200 * 1024);
	assert_int_equal(extract_parse(a, huge, 200 * 1024, f, EXTRACT_MAX),
	    0);
	free(huge);
	arena_destroy(a);
}

static void
test_prompt(void **state)
{
	const char	*p = extract_prompt();

	(void)state;
	assert_non_null(p);
	assert_ptr_equal(p, extract_prompt());
	assert_non_null(strstr(p, "{\"facts\":[{\"text\":\"...\",\"subject\":"
	    "\"...\"}]}"));
	assert_non_null(strstr(p, "same language"));
	assert_non_null(strstr(p, "At most 8"));
	assert_non_null(strstr(p, "small talk"));
}

static struct extract_fact
fact(const char *text, const char *subject, bool negated)
{
	struct extract_fact	 f;

	f.text = text;
	f.subject = subject;
	f.negated = negated;
	return f;
}

static void
test_reconcile(void **state)
{
	struct extract_fact	 f;

	(void)state;
	/* ADD: unrelated. */
	f = fact("Likes jazz", "likes:jazz", false);
	assert_int_equal(extract_reconcile(&f, "Lives in Paris", "home"),
	    EXTRACT_ADD);
	assert_int_equal(extract_reconcile(&f, "Likes blues", "likes:blues"),
	    EXTRACT_ADD);
	assert_int_equal(extract_reconcile(&f, NULL, NULL), EXTRACT_ADD);
	assert_int_equal(extract_reconcile(&f, "Is vegan", NULL), EXTRACT_ADD);

	/* NONE: the same meaning. */
	assert_int_equal(extract_reconcile(&f, "Likes jazz", "likes:jazz"),
	    EXTRACT_NONE);
	assert_int_equal(extract_reconcile(&f, "likes JAZZ.", NULL),
	    EXTRACT_NONE);
	f = fact("Is vegetarian", "diet", false);
	assert_int_equal(extract_reconcile(&f, "Is a vegetarian", "diet"),
	    EXTRACT_NONE);
	f = fact("Works at Acme as a nurse in Lyon", "work", false);
	assert_int_equal(extract_reconcile(&f,
	    "Works as a nurse at Acme in Lyon", "job"), EXTRACT_NONE);

	/* UPDATE: same subject, new content. */
	f = fact("Lives in Lyon", "home", false);
	assert_int_equal(extract_reconcile(&f, "Lives in Paris", "home"),
	    EXTRACT_UPDATE);
	assert_int_equal(extract_reconcile(&f, "Lives in Paris", "HOME"),
	    EXTRACT_UPDATE);
	f = fact("Hates jazz", "dislikes:jazz", false);
	assert_int_equal(extract_reconcile(&f, "Likes jazz", "likes:jazz"),
	    EXTRACT_UPDATE);
	f = fact("Is vegan", "diet", false);
	assert_int_equal(extract_reconcile(&f, "Is vegetarian", "diet"),
	    EXTRACT_UPDATE);

	/* DELETE: negated and about the same thing. */
	f = fact("Lives in Paris", "home", true);
	assert_int_equal(extract_reconcile(&f, "Lives in Paris", "home"),
	    EXTRACT_DELETE);
	assert_int_equal(extract_reconcile(&f, "Lives in Paris, France",
	    "home"), EXTRACT_DELETE);
	assert_int_equal(extract_reconcile(&f, "Lives in Paris", NULL),
	    EXTRACT_DELETE);
	f = fact("Likes jazz", "likes:jazz", true);
	assert_int_equal(extract_reconcile(&f, "Loves jazz", "likes:jazz"),
	    EXTRACT_DELETE);
	f = fact("Works at Acme", "work", true);
	assert_int_equal(extract_reconcile(&f, "Works at Acme as a nurse",
	    "work"), EXTRACT_DELETE);

	/* A negated fact about something else removes nothing, adds nothing. */
	f = fact("Lives in Paris", "home", true);
	assert_int_equal(extract_reconcile(&f, "Lives in Lyon", "home"),
	    EXTRACT_NONE);
	assert_int_equal(extract_reconcile(&f, "Likes jazz", "likes:jazz"),
	    EXTRACT_NONE);
	assert_int_equal(extract_reconcile(&f, NULL, NULL), EXTRACT_NONE);
	f = fact("Likes jazz", "likes:jazz", true);
	assert_int_equal(extract_reconcile(&f, "Hates jazz", "dislikes:jazz"),
	    EXTRACT_NONE);

	/* Texts without words, and NULLs. */
	f = fact("...", "note:x", false);
	assert_int_equal(extract_reconcile(&f, "...", NULL), EXTRACT_NONE);
	assert_int_equal(extract_reconcile(&f, "!!", NULL), EXTRACT_ADD);
	assert_int_equal(extract_reconcile(NULL, "x", "y"), EXTRACT_NONE);
}

/* The builtin's facts reconcile as the issue asks: a told fact, then. */
static void
test_builtin_then_reconcile(void **state)
{
	struct extract_fact	 old[EXTRACT_MAX], f[EXTRACT_MAX];
	struct arena		*a;

	(void)state;
	a = arena_create(8192);
	assert_non_null(a);
	assert_int_equal(extract_builtin(a, "I live in Paris", old,
	    EXTRACT_MAX), 1);
	assert_int_equal(extract_builtin(a, "I moved to Berlin", f,
	    EXTRACT_MAX), 1);
	assert_int_equal(extract_reconcile(&f[0], old[0].text,
	    old[0].subject), EXTRACT_UPDATE);
	assert_int_equal(extract_builtin(a, "I don't live in Paris anymore", f,
	    EXTRACT_MAX), 1);
	assert_int_equal(extract_reconcile(&f[0], old[0].text,
	    old[0].subject), EXTRACT_DELETE);
	assert_int_equal(extract_builtin(a, "remember that I live in Paris", f,
	    EXTRACT_MAX), 1);
	assert_int_equal(extract_reconcile(&f[0], old[0].text,
	    old[0].subject), EXTRACT_NONE);
	assert_int_equal(extract_builtin(a, "I like jazz", f, EXTRACT_MAX), 1);
	assert_int_equal(extract_reconcile(&f[0], old[0].text,
	    old[0].subject), EXTRACT_ADD);
	arena_destroy(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_builtin_bounds),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_prompt),
		cmocka_unit_test(test_reconcile),
		cmocka_unit_test(test_builtin_then_reconcile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
