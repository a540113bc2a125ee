/*
 * extract.c: facts about the user, from their message or from a model.
 *
 * The builtin extractor reads the message the way lib/builtin.c does:
 * words compared with tables of '|'-separated alternatives, no regular
 * expressions. The message is cut into sentences, sentences into
 * clauses ("I'm a nurse and I live in Lyon" is two), and each clause is
 * matched against a table of first-person patterns ("i live in", "my",
 * "i am") whose handler turns the rest of the clause into a fact. A
 * clause that matches nothing is tried once more with its negation taken
 * out ("I no longer live in Paris"), giving a negated fact. Contractions
 * are expanded first ("I'm" is read as "i am", "don't" as "do not") so
 * that each pattern is written once.
 *
 * What it must not do matters more than what it finds: small talk,
 * questions, hypotheticals and other people's facts give nothing, because
 * a wrong memory is worse than a missing one.
 *
 * extract_parse() reads the JSON a model was asked for, expecting it to be
 * wrapped in prose or fences and slightly wrong; extract_reconcile() is
 * the builtin rule for ADD / UPDATE / DELETE / NONE.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "arena.h"
#include "extract.h"
#include "jsonx.h"
#include "words.h"

#define EX_MAX_TOKENS	512	/* words of a message that are read */
#define EX_MAX_WORDS	64	/* words of a clause that are read */
#define EX_MAX_PWORDS	10	/* words of a pattern */
#define EX_KEY_WORDS	3	/* words of an object in a subject key */
#define EX_NAME_WORDS	3	/* words of a name */
#define EX_ANSWER_MAX	(256 * 1024)	/* bytes of a model's answer read */
#define EX_CANDIDATES	16	/* JSON texts tried in one answer */
#define EX_SET_MAX	64	/* distinct words compared by reconcile */

/* A word of the message. */
struct ex_word {
	const char	*raw;	/* into the message; NULL: an implied "i" */
	size_t		 len;
	const char	*norm;	/* lower case, outer punctuation trimmed */
	unsigned	 flags;
};
#define EX_COMMA	0x01	/* followed by ',' */
#define EX_COLON	0x02	/* followed by ':' */
#define EX_END		0x04	/* ends a sentence */
#define EX_QUESTION	0x08	/* ends with '?' */

enum ex_mode {
	EX_PLAIN,
	EX_REMEMBER,	/* after "remember that": others' facts kept, notes */
	EX_FORGET	/* after "forget that": every fact negated */
};

struct ex_clause {
	struct ex_word	 w[EX_MAX_WORDS];
	size_t		 n;
	enum ex_mode	 mode;
	bool		 negated;
};

struct ex_ctx {
	struct arena		*arena;
	struct extract_fact	*out;
	size_t			 max;
	size_t			 n;
	struct ex_word		*tok;
	size_t			 ntok;
};

enum ex_kind {
	EX_SIMPLE,	/* verb + object; fixed subject or prefix + key */
	EX_NAME,	/* the user's name */
	EX_IAM,		/* "i am" + diet, age, job, relationship */
	EX_MY,		/* "my X is Y" */
	EX_HAVE,	/* "i have a dog named Rex" */
	EX_BORN,	/* "i was born on|in" */
	EX_AGE		/* "i turned 40" */
};

#define EX_PREP		0x01	/* the verb takes the pattern's last word */

struct ex_rule {
	const char	*pattern;
	enum ex_kind	 kind;
	const char	*verb;
	const char	*subject;	/* fixed, or a prefix ending in ':' */
	unsigned	 flags;
};

/* One word of a pattern: '|'-separated alternatives. */
struct ex_pword {
	const char	*s;
	size_t		 len;
	bool		 opt;		/* written with a trailing '?' */
};

/* A text built in the arena; the first failure sticks. */
static const char *ex_relation(struct ex_ctx *, const struct ex_clause *,
		    size_t, size_t, bool *, bool *);

/* ------------------------------------------------------------ tables */

/*
 * First match wins, so a longer pattern comes before a shorter one that
 * would take it ("i am allergic to" before "i am", "i live with" before
 * "i live in").
 */
static const struct ex_rule ex_rules[] = {
	/* The user's name. */
	{ "my first|full|real? name is", EX_NAME, "Name is", "name", 0 },
	{ "my name's", EX_NAME, "Name is", "name", 0 },
	{ "you|u can|may|should call me", EX_NAME, "Goes by", "name", 0 },
	{ "call me", EX_NAME, "Goes by", "name", 0 },
	{ "everyone|everybody|people|friends call me", EX_NAME, "Goes by",
	    "name", 0 },
	{ "i go by", EX_NAME, "Goes by", "name", 0 },
	{ "i am called|named", EX_NAME, "Name is", "name", 0 },
	/* Where they live and come from. */
	{ "i live with", EX_SIMPLE, "Lives with", "household", 0 },
	{ "i live|reside in|near|at|on|outside", EX_SIMPLE, "Lives", "home",
	    EX_PREP },
	{ "i am living|residing|based|settled in|near|outside", EX_SIMPLE,
	    "Lives", "home", EX_PREP },
	{ "i have moved|relocated to", EX_SIMPLE, "Lives in", "home", 0 },
	{ "i moved|relocated to", EX_SIMPLE, "Lives in", "home", 0 },
	{ "i am from", EX_SIMPLE, "Is from", "origin", 0 },
	{ "i come from", EX_SIMPLE, "Comes from", "origin", 0 },
	{ "i grew up in", EX_SIMPLE, "Grew up in", "origin", 0 },
	/* Work. */
	{ "i am? work|working as", EX_SIMPLE, "Works as", "job", 0 },
	{ "i am? work|working at|for|in|from", EX_SIMPLE, "Works", "work",
	    EX_PREP },
	{ "i am employed at|by", EX_SIMPLE, "Is employed", "work", EX_PREP },
	/* Likes and dislikes. */
	{ "i like", EX_SIMPLE, "Likes", "likes:", 0 },
	{ "i love", EX_SIMPLE, "Loves", "likes:", 0 },
	{ "i enjoy", EX_SIMPLE, "Enjoys", "likes:", 0 },
	{ "i adore", EX_SIMPLE, "Adores", "likes:", 0 },
	{ "i am a big|huge? fan of", EX_SIMPLE, "Is a fan of", "likes:", 0 },
	{ "i am into", EX_SIMPLE, "Is into", "likes:", 0 },
	{ "i am fond of", EX_SIMPLE, "Is fond of", "likes:", 0 },
	{ "i am passionate about", EX_SIMPLE, "Is passionate about",
	    "likes:", 0 },
	{ "i hate", EX_SIMPLE, "Hates", "dislikes:", 0 },
	{ "i dislike", EX_SIMPLE, "Dislikes", "dislikes:", 0 },
	{ "i detest|loathe", EX_SIMPLE, "Hates", "dislikes:", 0 },
	{ "i can not stand", EX_SIMPLE, "Can't stand", "dislikes:", 0 },
	{ "i do not like|love|enjoy", EX_SIMPLE, "Doesn't like", "dislikes:",
	    0 },
	{ "i am not a big|huge? fan of", EX_SIMPLE, "Is not a fan of",
	    "dislikes:", 0 },
	{ "i prefer", EX_SIMPLE, "Prefers", "prefers:", 0 },
	/* Diet and health. */
	{ "i do not eat", EX_SIMPLE, "Doesn't eat", "avoids:", 0 },
	{ "i never eat", EX_SIMPLE, "Never eats", "avoids:", 0 },
	{ "i can not eat", EX_SIMPLE, "Can't eat", "avoids:", 0 },
	{ "i do not drink", EX_SIMPLE, "Doesn't drink", "avoids:", 0 },
	{ "i never drink", EX_SIMPLE, "Never drinks", "avoids:", 0 },
	{ "i am allergic to", EX_SIMPLE, "Is allergic to", "allergy:", 0 },
	{ "i have a|an allergy to", EX_SIMPLE, "Is allergic to", "allergy:",
	    0 },
	/* Skills and studies. */
	{ "i speak", EX_SIMPLE, "Speaks", "language:", 0 },
	{ "i am fluent in", EX_SIMPLE, "Is fluent in", "language:", 0 },
	{ "i am learning", EX_SIMPLE, "Is learning", "learning:", 0 },
	{ "i am studying", EX_SIMPLE, "Studies", "study", 0 },
	{ "i study", EX_SIMPLE, "Studies", "study", 0 },
	{ "i play", EX_SIMPLE, "Plays", "plays:", 0 },
	/* The rest. */
	{ "i was born", EX_BORN, "Was born", NULL, 0 },
	{ "i turned", EX_AGE, NULL, "age", 0 },
	{ "i have|own|got got?", EX_HAVE, "Has", NULL, 0 },
	{ "i am", EX_IAM, "Is", NULL, 0 },
	{ "my", EX_MY, NULL, NULL, 0 },
	{ NULL, EX_SIMPLE, NULL, NULL, 0 }
};

/* Read as two words, so that each pattern is written once. */
static const struct {
	const char	*from;
	const char	*a;
	const char	*b;
} ex_expand[] = {
	{ "i'm", "i", "am" }, { "im", "i", "am" },
	{ "i've", "i", "have" }, { "ive", "i", "have" },
	{ "i'd", "i", "would" }, { "i'll", "i", "will" },
	{ "don't", "do", "not" }, { "dont", "do", "not" },
	{ "doesn't", "does", "not" }, { "doesnt", "does", "not" },
	{ "didn't", "did", "not" }, { "didnt", "did", "not" },
	{ "can't", "can", "not" }, { "cant", "can", "not" },
	{ "cannot", "can", "not" }, { "won't", "will", "not" },
	{ "isn't", "is", "not" }, { "aren't", "are", "not" },
	{ "wasn't", "was", "not" }, { "haven't", "have", "not" }
};

/* Dropped right after "i", "am", "have", "not": "I really like". */
#define EX_ADVERBS	"really|also|actually|currently|now|still|just|" \
	"truly|absolutely|totally|definitely|recently|finally|usually|" \
	"mostly|honestly|genuinely|seriously|personally|already|always|" \
	"kinda|so|very|quite|super|pretty|extremely|deeply|madly|" \
	"officially|proudly|happily|generally|certainly|literally|even|" \
	"originally"
#define EX_AFTER_ADV	"i|am|have|not|longer|will|would|do"

/* Said before a statement without changing it. */
static const char *const ex_fillers[] = {
	"and|but|so|also|well|oh|ah|btw|actually|plus|anyway|anyways|hey|hi|"
	    "hello|ok|okay|yes|yeah|yep|no|nope|because|cause|cuz|though|"
	    "although|whereas|while|then|now|fyi|just|um|uh|hmm|alright|sure|"
	    "right|honestly|basically|currently|nowadays|today|lol|haha|wow|"
	    "great|cool|thanks|or|since|as|still|really|oh,|ps|p.s|and,|but,",
	"by the way", "fun fact", "for the record", "to be honest",
	"as you know", "you know", "i mean", "just so you know",
	"for your information", "in fact", "these days", "right now",
	"thank you", "at the moment", "good morning|evening|afternoon|night",
	NULL
};

/* A sentence that starts so is a question. */
#define EX_QWORDS	"do|does|did|am|is|are|was|were|what|what's|whats|" \
	"where|where's|wheres|who|who's|whos|whom|whose|when|why|how|" \
	"how's|which|can|could|would|should|will|shall|may|might|have|has|" \
	"had|must|tell|any|anything|wonder"
/* A sentence or clause that starts so is not a statement of fact. */
#define EX_HYPO		"if|unless|suppose|supposing|imagine|hypothetically|" \
	"pretend|maybe|perhaps|when|whenever|once|until|whether|wish|say|" \
	"assuming|lets|let's"

/* First-person words that open a new clause after "and" or ",". */
#define EX_OPENER	"i|i'm|im|i've|ive|i'd|i'll|my"
/* After "and": a verb that takes the same "i" ("and work at Acme"). */
#define EX_IMPLIED	"work|live|like|love|enjoy|hate|dislike|prefer|" \
	"have|own|speak|play|study|moved"
/* After a comma: what starts a new clause. */
#define EX_AFTER_COMMA	"it|it's|its|that|that's|thats|which|who|but|so|" \
	"because|though|although|nice|thanks|thank|please|lol|haha|since|" \
	"if|unless|when|while|plus|also|anyway|btw|what|how|do|does|did|" \
	"can|could|would|is|are|right|where|why"
/* Always start a new clause. */
#define EX_CUT_CLAUSE	"because|although|though|whereas|while|but|cause|cuz"

/* End an object: "Lives in Paris because ...". */
#define EX_CUT		"because|since|although|though|but|whereas|while|" \
	"unless|if|when|whenever|which|so|cause|cuz|except|until|whom"
/* Said at the end of an object without being part of it. */
static const char *const ex_trail[] = {
	"anymore|too|also|now|though|tho|lol|haha|hehe|please|thanks|btw|"
	    "either|again|honestly|really|already|currently|nowadays|lately|"
	    "today|tbh|x|xx|:)|:-)|;)",
	"a lot", "very much", "so much", "as well", "any more", "any longer",
	"no more", "thank you", "these days", "right now", "for now",
	"at the moment", "at present", "by the way", "to be honest",
	"you know", "i think", "i guess", "i believe",
	"last|this year|month|week|summer|winter|spring|autumn|fall|night",
	"a|an|one|two|three|four|five|few|couple|2|3|4|5|6|7|8|9|10 "
	    "year|years|month|months|week|weeks|day|days ago",
	"a few|couple year|years|month|months|week|weeks|day|days ago",
	"a while ago",
	NULL
};
/* An object starting so says nothing ("I love it", "I like you"). */
#define EX_PRONOUN	"it|its|it's|that|that's|this|these|those|you|your|" \
	"yours|him|her|them|his|their|one|something|anything|everything|" \
	"nothing|stuff|what|whatever|here|there|so|not|too|very|myself|me|" \
	"to|being|how|when|where|if"

/* Skipped at the start of a subject key. */
#define EX_KEY_SKIP	"the|a|an|my|some|to|your|our|their|his|her"
/* End a subject key: "likes:tea" from "tea over coffee". */
#define EX_KEY_STOP	"and|or|with|to|over|than|rather|instead|at|in|on|" \
	"for|from|by|when|because|but|named|called|who|which|that|as|of|" \
	"every|each|during|while|since|after|before|until"

#define EX_DIET		"vegetarian|vegan|pescatarian|pescetarian|" \
	"flexitarian|carnivore|keto|paleo|halal|kosher|gluten-free|" \
	"dairy-free|lactose-free|teetotal|teetotaler|teetotaller|sober|" \
	"celiac|coeliac"
#define EX_MARITAL	"married|single|divorced|engaged|widowed|separated"
#define EX_JOBSTATE	"retired|unemployed|self-employed|jobless|freelance|" \
	"freelancing"
#define EX_JOBS		"nurse|doctor|teacher|engineer|developer|programmer|" \
	"designer|lawyer|attorney|student|chef|cook|pilot|driver|writer|" \
	"author|artist|musician|accountant|architect|dentist|scientist|" \
	"researcher|manager|consultant|farmer|firefighter|paramedic|" \
	"pharmacist|plumber|electrician|carpenter|mechanic|cashier|waiter|" \
	"waitress|barista|bartender|journalist|photographer|professor|" \
	"lecturer|surgeon|vet|veterinarian|therapist|psychologist|analyst|" \
	"clerk|secretary|assistant|receptionist|officer|soldier|policeman|" \
	"policewoman|cop|baker|butcher|translator|interpreter|editor|" \
	"librarian|banker|ceo|cto|cfo|founder|entrepreneur|freelancer|" \
	"intern|tutor|coach|trainer|nanny|caregiver|carer|midwife|" \
	"physician|physicist|chemist|biologist|mathematician|economist|" \
	"undergrad|undergraduate|phd|postdoc|sysadmin|administrator|tester|" \
	"actor|actress|singer|dancer|painter|sculptor|director|producer|" \
	"salesman|saleswoman|salesperson|agent|broker|realtor|contractor|" \
	"builder|welder|janitor|cleaner|gardener|housekeeper|homemaker|" \
	"housewife|househusband|retiree|paralegal|technician|coder|pupil|" \
	"instructor|principal|counselor|counsellor|surveyor|optician|" \
	"sailor|fisherman|miner|tailor|jeweler|jeweller|florist|" \
	"hairdresser|barber|stylist|streamer|blogger|vlogger|youtuber"
/* Ends in -ist, -ician or -eer and still no job. */
#define EX_NOT_JOBS	"atheist|optimist|pessimist|perfectionist|realist|" \
	"idealist|minimalist|tourist|career"
#define EX_PETS		"dog|cat|puppy|kitten|rabbit|bunny|hamster|parrot|" \
	"bird|fish|goldfish|horse|pony|turtle|tortoise|snake|ferret|lizard|" \
	"gerbil|budgie|chicken|hen|goat|pig|iguana|gecko|rat|mouse|" \
	"chinchilla|hedgehog|canary|cockatiel"
#define EX_PEOPLE	"wife|husband|partner|spouse|boyfriend|girlfriend|" \
	"fiance|fiancee|sister|brother|sibling|son|daughter|mother|mom|mum|" \
	"father|dad|kid|child|baby|twin|friend|boss|colleague|coworker|" \
	"roommate|flatmate|housemate|neighbour|neighbor|grandmother|" \
	"grandfather|grandma|grandpa|granny|grandson|granddaughter|" \
	"grandchild|aunt|uncle|cousin|niece|nephew|parent|stepson|" \
	"stepdaughter|stepmother|stepfather|manager|doctor|dentist|" \
	"therapist|teacher"
#define EX_CHILDREN	"kid|child|baby|son|daughter|twin|stepson|stepdaughter"
#define EX_COUNTS	"a|an|one|two|three|four|five|six|seven|eight|nine|" \
	"ten|no|several|some|many|2|3|4|5|6|7|8|9|10"
#define EX_MONTHS	"january|february|march|april|may|june|july|august|" \
	"september|october|november|december|jan|feb|mar|apr|jun|jul|aug|" \
	"sep|sept|oct|nov|dec"

/* "my X is ...": keys with a subject of their own. */
static const struct {
	const char	*keys;
	const char	*subject;
} ex_my_keys[] = {
	{ "name|first name|full name|real name", "name" },
	{ "last name|surname|family name", "surname" },
	{ "nickname", "nickname" },
	{ "birthday|bday|date of birth|birth date|birthdate", "birthday" },
	{ "job|occupation|profession|job title", "job" },
	{ "email|email address|e-mail|e-mail address", "email" },
	{ "phone number|mobile number|cell number|number", "phone" },
	{ "address|home address", "address" },
	{ "hometown|home town", "origin" },
	{ "age", "age" },
	{ "company|employer|workplace", "work" },
	{ "diet", "diet" },
	{ "pronouns", "pronouns" },
	{ "timezone|time zone", "timezone" },
	{ "native language|first language|mother tongue", "language" }
};
#define EX_FAVOURITE	"favourite|favorite|fave|fav|favourites|favorites"

/* "my X is ..." in passing, not a fact: "my day is going well". */
#define EX_TRANSIENT	"day|week|weekend|morning|evening|night|afternoon|" \
	"head|back|stomach|throat|tooth|teeth|phone|computer|laptop|" \
	"internet|wifi|connection|code|question|problem|issue|point|answer|" \
	"guess|bad|pleasure|mood|battery|order|turn|train|flight|bus|" \
	"meeting|appointment|plan|idea|list|task|tasks|schedule|brain|eyes|" \
	"feet|leg|legs|arm|hand|life|fault|treat|dinner|lunch|breakfast|" \
	"food|room|screen|message|request|reply|last|next|first|only|goal|" \
	"concern|worry|mistake|apologies|bet|hope|thought|opinion|view|" \
	"understanding|impression|point|favour|favor|friend's"
#define EX_Y_TRANSIENT	"not|so|too|very|really|kinda|pretty|quite|killing|" \
	"going|getting|being|still|gone|broken|sore|hurting|fine|good|ok|" \
	"okay|great|bad|terrible|awful|dead|done|over|here|there|late|" \
	"ready|busy|full|empty|better|worse|weird|stuck|down|up|off|on|out|" \
	"almost|nearly|just|probably|maybe|sick|tired|hungry|cold|hot|" \
	"working|loading|slow|fast|a|an|the|bit|always|never|also|kind"

/* "forget that I ...": the start of a note, third person. */
static const struct {
	const char	*pattern;
	const char	*text;
} ex_note_heads[] = {
	{ "i am not", "Isn't" }, { "i am", "Is" },
	{ "i was not", "Wasn't" }, { "i was", "Was" },
	{ "i have not", "Hasn't" }, { "i have got", "Has" },
	{ "i have", "Has" }, { "i had", "Had" },
	{ "i do not", "Doesn't" }, { "i did not", "Didn't" },
	{ "i can not", "Can't" }, { "i can", "Can" },
	{ "i will not", "Won't" }, { "i will", "Will" },
	{ "i would", "Would" }, { "i used to", "Used to" },
	{ NULL, NULL }
};

/* ------------------------------------------------------------ text */

/* The text built, NULL when empty or when memory ran out. */
static char *
ex_buf_text(struct arena_buf *b)
{
	if (b->nomem || b->str.p == NULL)
		return NULL;
	return b->str.p;
}

static char
ex_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* words_is() for the word w[0..len), not terminated. */
static bool
ex_alt_n(const char *alts, const char *w, size_t len)
{
	const char	*p = alts, *bar;

	while (*p != '\0') {
		if ((bar = strchr(p, '|')) == NULL)
			bar = p + strlen(p);
		if ((size_t)(bar - p) == len && memcmp(p, w, len) == 0)
			return true;
		p = *bar == '|' ? bar + 1 : bar;
	}
	return false;
}

static size_t
ex_count(const char *s, size_t n, char ch)
{
	size_t	 i, k = 0;

	for (i = 0; i < n; i++)
		if (s[i] == ch)
			k++;
	return k;
}

/*
 * Trims white space, quotes and sentence punctuation from both ends of s,
 * in place (brackets are kept: "jazz (mostly)").
 */
static char *
ex_trim_marks(char *s)
{
	static const char	 marks[] = ".,;:!?\"'-";
	size_t			 n;

	for (;;) {
		if (*s == '"' && ex_count(s, strlen(s), '"') % 2 == 0)
			break;
		if (*s != '\0' && (strchr(marks, *s) != NULL ||
		    words_space((unsigned char)*s)))
			s++;
		else if (words_typo_mark(s, strlen(s)))
			s += 3;
		else
			break;
	}
	for (n = strlen(s); n > 0;) {
		/* A closing quote stays when an opening one is inside. */
		if (s[n - 1] == '"' && ex_count(s, n, '"') % 2 == 0)
			break;
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

/*
 * In place: control characters become spaces, runs of white space one
 * space, and the ends are trimmed.
 */
static char *
ex_squeeze(char *s)
{
	char	*r, *w;
	bool	 sp = false;

	for (r = w = s; *r != '\0'; r++) {
		if ((unsigned char)*r < 0x20 || *r == 0x7f || *r == ' ') {
			sp = w != s;
			continue;
		}
		if (sp)
			*w++ = ' ';
		sp = false;
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

/* Cuts valid UTF-8 `s' to at most `max' code points, in place. */
static void
ex_cut_chars(char *s, size_t max)
{
	size_t	 i, n = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (n++ == max) {
			s[i] = '\0';
			return;
		}
	}
}

/* Cuts valid UTF-8 `s' to at most `max' bytes at a code point, in place. */
static void
ex_cut_bytes(char *s, size_t max)
{
	size_t	 n;

	if ((n = strlen(s)) <= max)
		return;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	s[n] = '\0';
}

/*
 * A fact's text as extract.h promises it: single spaces, no outer
 * punctuation, at most EXTRACT_TEXT_MAX characters (cut at a word when
 * one ends near the limit), first letter upper case. NULL when nothing is
 * left.
 */
static char *
ex_finish(char *s)
{
	char	*sp;

	s = ex_trim_marks(ex_squeeze(s));
	if (utf8_len(s) > EXTRACT_TEXT_MAX) {
		ex_cut_chars(s, EXTRACT_TEXT_MAX);
		if ((sp = strrchr(s, ' ')) != NULL &&
		    strlen(sp) < 40)
			*sp = '\0';
		s = ex_trim_marks(s);
	}
	if (*s == '\0')
		return NULL;
	if (*s >= 'a' && *s <= 'z')
		*s = (char)(*s - 'a' + 'A');
	return s;
}

/* ------------------------------------------------------------ words */

/* What the punctuation at the end of a word says. */
static unsigned
ex_tail_flags(const char *raw, size_t len)
{
	unsigned	 f = 0;
	size_t		 n = len;
	char		 c;

	while (n > 0) {
		c = raw[n - 1];
		if (n >= 3 && words_typo_mark(raw + n - 3, 3)) {
			if ((unsigned char)raw[n - 1] == 0xa6)
				f |= EX_END;
			n -= 3;
			continue;
		}
		if (strchr("\"')]}*_~`", c) != NULL)
			;
		else if (c == '.' || c == '!')
			f |= EX_END;
		else if (c == '?')
			f |= EX_END | EX_QUESTION;
		else if (c == ';')
			f |= EX_END;
		else if (c == ',')
			f |= EX_COMMA;
		else if (c == ':')
			f |= EX_COLON;
		else
			break;
		n--;
	}
	return f;
}

/* Splits the message into words; a blank line or newline ends a sentence. */
static bool
ex_split(struct ex_ctx *c, const char *text)
{
	const char	*p = text, *start, *norm;
	struct ex_word	*w;
	bool		 nl;

	c->ntok = 0;
	while (c->ntok < EX_MAX_TOKENS) {
		for (nl = false; words_space((unsigned char)*p); p++)
			nl = nl || *p == '\n';
		if (nl && c->ntok > 0)
			c->tok[c->ntok - 1].flags |= EX_END;
		if (*p == '\0')
			break;
		for (start = p; *p != '\0' && !words_space((unsigned char)*p); p++)
			continue;
		if ((norm = words_norm(c->arena, start, (size_t)(p - start))) ==
		    NULL)
			return false;
		if (*norm == '\0') {
			/* A lone "?" or "-" marks the word before it. */
			if (c->ntok > 0)
				c->tok[c->ntok - 1].flags |= ex_tail_flags(start,
				    (size_t)(p - start));
			continue;
		}
		w = &c->tok[c->ntok++];
		w->raw = start;
		w->len = (size_t)(p - start);
		w->norm = norm;
		w->flags = ex_tail_flags(start, w->len);
		/* "Dr. Smith", "St. Louis": no end of sentence. */
		if ((w->flags & EX_END) && !(w->flags & EX_QUESTION) &&
		    words_is("mr|mrs|ms|dr|st|e.g|i.e|vs|jr|sr|inc|ltd|co|prof|mt",
		    norm))
			w->flags &= ~EX_END;
	}
	return true;
}

/* ------------------------------------------------------------ clauses */

static void
ex_push(struct ex_clause *cl, const struct ex_word *t, const char *norm,
    unsigned flags)
{
	struct ex_word	*w;

	if (cl->n == EX_MAX_WORDS)
		return;
	/* "I really like", "I do like": the adverb says nothing here. */
	if (cl->n > 0 && words_is(EX_AFTER_ADV, cl->w[cl->n - 1].norm) &&
	    words_is(EX_ADVERBS, norm))
		return;
	if (cl->n >= 2 && strcmp(cl->w[cl->n - 1].norm, "do") == 0 &&
	    strcmp(cl->w[cl->n - 2].norm, "i") == 0 &&
	    strcmp(norm, "not") != 0)
		cl->n--;
	w = &cl->w[cl->n++];
	w->raw = t != NULL ? t->raw : NULL;
	w->len = t != NULL ? t->len : 0;
	w->norm = norm;
	w->flags = flags;
}

/* The clause of tokens [lo, hi), contractions expanded. */
static void
ex_build(const struct ex_ctx *c, size_t lo, size_t hi, struct ex_clause *cl)
{
	const struct ex_word	*t;
	size_t			 i, k;

	cl->n = 0;
	cl->mode = EX_PLAIN;
	cl->negated = false;
	for (i = lo; i < hi && cl->n < EX_MAX_WORDS; i++) {
		t = &c->tok[i];
		for (k = 0; k < sizeof(ex_expand) / sizeof(ex_expand[0]); k++)
			if (strcmp(t->norm, ex_expand[k].from) == 0)
				break;
		if (k == sizeof(ex_expand) / sizeof(ex_expand[0])) {
			ex_push(cl, t, t->norm, t->flags);
			continue;
		}
		ex_push(cl, t, ex_expand[k].a, 0);
		ex_push(cl, t, ex_expand[k].b, t->flags);
	}
}

/* Removes words [at, at + k). */
static void
ex_drop(struct ex_clause *cl, size_t at, size_t k)
{
	if (at + k > cl->n)
		return;
	memmove(&cl->w[at], &cl->w[at + k],
	    (cl->n - at - k) * sizeof(cl->w[0]));
	cl->n -= k;
}

static size_t
ex_pattern(const char *pat, struct ex_pword *w)
{
	size_t	 n = 0, len;

	while (*pat != '\0' && n < EX_MAX_PWORDS) {
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
		n++;
		pat += len;
	}
	return n;
}

static bool
ex_match_words(const struct ex_clause *cl, const struct ex_pword *p,
    size_t np, size_t i, size_t *end)
{
	if (np == 0) {
		*end = i;
		return true;
	}
	if (i < cl->n && words_alt(p->s, p->len, cl->w[i].norm) &&
	    ex_match_words(cl, p + 1, np - 1, i + 1, end))
		return true;
	return p->opt && ex_match_words(cl, p + 1, np - 1, i, end);
}

/* True when the clause's words from `at' start with `pat'; *end after. */
static bool
ex_prefix(const struct ex_clause *cl, size_t at, const char *pat,
    size_t *end)
{
	struct ex_pword	 p[EX_MAX_PWORDS];

	return ex_match_words(cl, p, ex_pattern(pat, p), at, end) &&
	    *end > at;
}

/* Words [lo, hi) end with `pat' (no optional words): how many, else 0. */
static size_t
ex_suffix(const struct ex_clause *cl, size_t lo, size_t hi, const char *pat)
{
	struct ex_pword	 p[EX_MAX_PWORDS];
	size_t		 np, end;

	np = ex_pattern(pat, p);
	if (np == 0 || hi - lo < np)
		return 0;
	if (!ex_match_words(cl, p, np, hi - np, &end) || end != hi)
		return 0;
	return np;
}

/* The index after any fillers from `i'. */
static size_t
ex_skip_fillers(const struct ex_clause *cl, size_t i)
{
	size_t	 k, end;
	bool	 again = true;

	while (again && i < cl->n) {
		again = false;
		for (k = 0; ex_fillers[k] != NULL; k++) {
			if (ex_prefix(cl, i, ex_fillers[k], &end)) {
				i = end;
				again = true;
				break;
			}
		}
	}
	return i;
}

/* ------------------------------------------------------------ facts */

/* The raw words [lo, hi), one space apart (an expanded word once). */
static void
ex_join(struct arena_buf *b, const struct ex_clause *cl, size_t lo, size_t hi)
{
	const char	*prev = NULL;
	size_t		 i;

	for (i = lo; i < hi && i < cl->n; i++) {
		if (cl->w[i].raw == NULL || cl->w[i].raw == prev)
			continue;
		if (b->str.len > 0)
			arena_buf_add(b, " ", 1);
		arena_buf_add(b, cl->w[i].raw, cl->w[i].len);
		prev = cl->w[i].raw;
	}
}

/* "verb words[lo, hi)" as a text, not yet finished. */
static char *
ex_text(struct ex_ctx *c, const char *verb, const struct ex_clause *cl,
    size_t lo, size_t hi)
{
	struct arena_buf	 b;

	arena_buf_init(&b, c->arena);
	if (verb != NULL)
		arena_buf_puts(&b, verb);
	ex_join(&b, cl, lo, hi);
	return ex_buf_text(&b);
}

/* Case-insensitive (ASCII) equality. */
static bool
ex_same(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (ex_lower(*a) != ex_lower(*b))
			return false;
	return *a == *b;
}

/*
 * Adds a fact unless out[] is full or holds it already. `text' is
 * finished here; `subject' is cut to EXTRACT_SUBJECT_MAX bytes.
 */
static bool
ex_emit(struct ex_ctx *c, const struct ex_clause *cl, const char *subject,
    char *text)
{
	struct extract_fact	*f;
	char			*s;
	size_t			 i;

	if (text == NULL || subject == NULL || c->n >= c->max)
		return false;
	if ((text = ex_finish(text)) == NULL)
		return false;
	if ((s = arena_strdup(c->arena, subject)) == NULL)
		return false;
	ex_cut_bytes(s, EXTRACT_SUBJECT_MAX);
	if (*s == '\0')
		return false;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->out[i].subject, s) == 0 &&
		    ex_same(c->out[i].text, text))
			return true;
	f = &c->out[c->n++];
	f->text = text;
	f->subject = s;
	f->negated = cl->negated || cl->mode == EX_FORGET;
	return true;
}

/*
 * The object of a statement, words [lo, *hi): cut where another thought
 * starts ("because ..."), trailing fillers dropped ("a lot", "anymore").
 * False when nothing is left or it is a pronoun ("I love it").
 */
static bool
ex_object(const struct ex_clause *cl, size_t lo, size_t *hi)
{
	size_t	 i, k, n, end = *hi;
	bool	 again;

	for (i = lo; i < end; i++) {
		if (!words_is(EX_CUT, cl->w[i].norm))
			continue;
		if (strcmp(cl->w[i].norm, "so") == 0 && i + 1 < end &&
		    words_is("much|many", cl->w[i + 1].norm))
			continue;
		end = i;
		break;
	}
	for (again = true; again && end > lo;) {
		again = false;
		for (k = 0; ex_trail[k] != NULL; k++) {
			if ((n = ex_suffix(cl, lo, end, ex_trail[k])) > 0) {
				end -= n;
				again = true;
				break;
			}
		}
	}
	if (end <= lo || words_is(EX_PRONOUN, cl->w[lo].norm))
		return false;
	*hi = end;
	return true;
}

/* A singular for looking words up: "cats" "puppies" "children". */
static const char *
ex_singular(struct arena *a, const char *w)
{
	size_t	 n = strlen(w);
	char	*s;

	if (strcmp(w, "children") == 0)
		return "child";
	if (n > 4 && strcmp(w + n - 3, "ies") == 0) {
		if ((s = arena_strdup(a, w)) == NULL)
			return w;
		strcpy(s + n - 3, "y");
		return s;
	}
	if (n > 3 && w[n - 1] == 's' && w[n - 2] != 's')
		return arena_strndup(a, w, n - 1);
	return w;
}

/*
 * A subject key: `prefix' and the first words of [lo, hi) in lower case
 * ("likes:" "jazz"), stopping where the object goes on ("tea" "over
 * coffee"). NULL when no word is left.
 */
static char *
ex_key(struct ex_ctx *c, const char *prefix, const struct ex_clause *cl,
    size_t lo, size_t hi)
{
	struct arena_buf	 b;
	size_t		 i, nw = 0;

	arena_buf_init(&b, c->arena);
	arena_buf_puts(&b, prefix);
	i = lo;
	while (i < hi && words_is(EX_KEY_SKIP, cl->w[i].norm))
		i++;
	for (; i < hi && nw < EX_KEY_WORDS; i++) {
		if (nw > 0 && words_is(EX_KEY_STOP, cl->w[i].norm))
			break;
		if (nw > 0)
			arena_buf_add(&b, " ", 1);
		arena_buf_puts(&b, cl->w[i].norm);
		nw++;
		if (cl->w[i].flags & (EX_COMMA | EX_COLON))
			break;
	}
	return nw == 0 ? NULL : ex_buf_text(&b);
}

/* Words [lo, hi) look like a name: each written with a capital. */
static bool
ex_looks_name(const struct ex_clause *cl, size_t lo, size_t hi)
{
	size_t		 i;
	unsigned char	 ch;

	if (hi <= lo)
		return false;
	for (i = lo; i < hi; i++) {
		if (i > lo && strcmp(cl->w[i].norm, "and") == 0)
			continue;
		if (cl->w[i].raw == NULL)
			return false;
		ch = (unsigned char)cl->w[i].raw[0];
		if (!((ch >= 'A' && ch <= 'Z') || ch >= 0x80))
			return false;
	}
	return true;
}

/* Not part of a name. */
#define EX_NAME_STOP	"and|but|or|from|by|i|nice|btw|please|thanks|thank|" \
	"so|because|if|when|which|who|lol|haha|though|too|not|the|a|an|my|" \
	"is|am|was|to|here|there|just|also"

/* The words of a name from `lo': at most three, up to a comma. */
static size_t
ex_name_end(const struct ex_clause *cl, size_t lo, size_t hi)
{
	size_t		 i;
	unsigned char	 ch;

	for (i = lo; i < hi && i - lo < EX_NAME_WORDS; i++) {
		/* "Tom and Ana". */
		if (i > lo && strcmp(cl->w[i].norm, "and") == 0 && i + 1 < hi &&
		    !words_is(EX_NAME_STOP, cl->w[i + 1].norm) &&
		    ex_looks_name(cl, i + 1, i + 2))
			continue;
		if (words_is(EX_NAME_STOP, cl->w[i].norm))
			break;
		ch = (unsigned char)cl->w[i].norm[0];
		if (!((ch >= 'a' && ch <= 'z') || ch >= 0x80))
			break;
		if (cl->w[i].flags & (EX_COMMA | EX_COLON | EX_END)) {
			i++;
			break;
		}
	}
	return i;
}

static bool
ex_digits(const char *s, int *v)
{
	int	 n = 0;
	size_t	 i;

	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 3; i++)
		n = n * 10 + (s[i] - '0');
	if (i == 0 || s[i] != '\0')
		return false;
	*v = n;
	return true;
}

/* ------------------------------------------------------------ handlers */

static bool
ex_h_simple(struct ex_ctx *c, const struct ex_clause *cl,
    const struct ex_rule *r, size_t k)
{
	const char	*verb = r->verb, *subject = r->subject;
	size_t		 hi = cl->n, n = strlen(r->subject);
	bool		 pet, plural;

	if (!ex_object(cl, k, &hi))
		return false;
	/* "I love my wife": about her as much as about the user. */
	if (strcmp(cl->w[k].norm, "my") == 0 && k + 1 < hi &&
	    ex_relation(c, cl, k + 1, k + 2, &pet, &plural) != NULL)
		return false;
	if ((r->flags & EX_PREP) && (verb = arena_printf(c->arena, "%s %s",
	    r->verb, cl->w[k - 1].norm)) == NULL)
		return false;
	if (n > 0 && subject[n - 1] == ':')
		subject = ex_key(c, r->subject, cl, k, hi);
	return ex_emit(c, cl, subject, ex_text(c, verb, cl, k, hi));
}

static bool
ex_h_name(struct ex_ctx *c, const struct ex_clause *cl,
    const struct ex_rule *r, size_t k)
{
	size_t		 end;

	if (k >= cl->n || (end = ex_name_end(cl, k, cl->n)) == k)
		return false;
	return ex_emit(c, cl, r->subject, ex_text(c, r->verb, cl, k, end));
}

static bool
ex_age(struct ex_ctx *c, const struct ex_clause *cl, int v)
{
	if (v < 1 || v > 129)
		return false;
	return ex_emit(c, cl, "age", arena_printf(c->arena,
	    "Is %d years old", v));
}

/* The head word of a job title: listed, or -ist, -ician, -eer. */
static bool
ex_is_job(const char *w)
{
	size_t	 n = strlen(w);

	if (words_is(EX_JOBS, w))
		return true;
	if (words_is(EX_NOT_JOBS, w))
		return false;
	return (n > 4 && strcmp(w + n - 3, "ist") == 0) ||
	    (n > 5 && strcmp(w + n - 5, "ician") == 0) ||
	    (n > 5 && strcmp(w + n - 3, "eer") == 0);
}

static bool
ex_h_iam(struct ex_ctx *c, const struct ex_clause *cl,
    const struct ex_rule *r, size_t k)
{
	const char	*o, *subject = NULL;
	size_t		 hi = cl->n, j, i;
	int		 v;

	(void)r;

	if (!ex_object(cl, k, &hi))
		return false;
	o = cl->w[k].norm;
	if (ex_digits(o, &v)) {
		for (i = k + 1; i < hi; i++)
			if (!words_is("years|year|yrs|yr|old|yo|y/o", cl->w[i].norm))
				return false;
		return ex_age(c, cl, v);
	}
	j = words_is("a|an", o) ? k + 1 : k;
	if (j < hi && words_is(EX_DIET, cl->w[j].norm))
		subject = "diet";
	else if (j + 1 < hi && words_is("lactose|gluten", cl->w[j].norm) &&
	    words_is("intolerant|sensitive", cl->w[j + 1].norm))
		subject = ex_key(c, "allergy:", cl, j, j + 1);
	else if (words_is(EX_MARITAL, o))
		subject = "relationship";
	else if (words_is(EX_JOBSTATE, o))
		subject = "job";
	else if (j > k) {
		for (i = j; i < hi && i < j + 4; i++) {
			if (words_is("at|for|in|from|with|who|and|of", cl->w[i].norm))
				break;
			if (ex_is_job(cl->w[i].norm)) {
				subject = "job";
				break;
			}
		}
	}
	if (subject == NULL)
		return false;
	return ex_emit(c, cl, subject, ex_text(c, "Is", cl, k, hi));
}

static bool
ex_h_born(struct ex_ctx *c, const struct ex_clause *cl,
    const struct ex_rule *r, size_t k)
{
	const char	*prep = NULL, *subject;
	size_t		 j = k, hi = cl->n;
	bool		 date;

	if (j < cl->n && words_is("on|in|at", cl->w[j].norm))
		prep = cl->w[j++].norm;
	if (!ex_object(cl, j, &hi))
		return false;
	date = (cl->w[j].norm[0] >= '0' && cl->w[j].norm[0] <= '9') ||
	    words_is(EX_MONTHS, cl->w[j].norm) ||
	    (strcmp(cl->w[j].norm, "the") == 0 && j + 1 < hi &&
	    cl->w[j + 1].norm[0] >= '0' && cl->w[j + 1].norm[0] <= '9');
	if (date || (prep != NULL && strcmp(prep, "on") == 0))
		subject = "birthday";
	else if (prep != NULL)
		subject = "birthplace";
	else
		return false;
	return ex_emit(c, cl, subject, ex_text(c, prep == NULL ? r->verb :
	    arena_printf(c->arena, "%s %s", r->verb, prep), cl, j, hi));
}

static bool
ex_h_age(struct ex_ctx *c, const struct ex_clause *cl,
    const struct ex_rule *r, size_t k)
{
	int	 v;

	(void)r;
	if (k >= cl->n || !ex_digits(cl->w[k].norm, &v))
		return false;
	return ex_age(c, cl, v);
}

static bool
ex_h_have(struct ex_ctx *c, const struct ex_clause *cl,
    const struct ex_rule *r, size_t k)
{
	const char	*s, *subject = NULL;
	size_t		 hi = cl->n, i, first;

	(void)r;

	if (!ex_object(cl, k, &hi))
		return false;
	if (words_is("to|been|had|got|done|never|always|just|gotta|had", 
	    cl->w[k].norm))
		return false;
	first = words_is(EX_COUNTS, cl->w[k].norm) ? k + 1 : k;
	for (i = first; i < hi && i < k + 5 && subject == NULL; i++) {
		if (words_is("named|called|and|who|that|with|of|at|in|for",
		    cl->w[i].norm))
			break;
		if (strcmp(cl->w[i].norm, "allergy") == 0 ||
		    strcmp(cl->w[i].norm, "allergies") == 0) {
			if (i == first)
				return false;
			subject = ex_key(c, "allergy:", cl, first, i);
			break;
		}
		if ((s = ex_singular(c->arena, cl->w[i].norm)) == NULL)
			return false;
		if (words_is(EX_PETS, s))
			subject = arena_printf(c->arena, "pet:%s", s);
		else if (words_is(EX_CHILDREN, s))
			subject = "children";
		else if (words_is(EX_PEOPLE, s))
			subject = s;
		if (cl->w[i].flags & EX_COMMA)
			break;
	}
	if (subject == NULL)
		return false;
	return ex_emit(c, cl, subject, ex_text(c, "Has", cl, k, hi));
}

/* The subject of "my <key> is": mapped, "favourite:colour", or the key. */
static const char *
ex_my_subject(struct ex_ctx *c, const char *key)
{
	const char	*sp;
	size_t		 i;

	for (i = 0; i < sizeof(ex_my_keys) / sizeof(ex_my_keys[0]); i++)
		if (words_is(ex_my_keys[i].keys, key))
			return ex_my_keys[i].subject;
	if ((sp = strchr(key, ' ')) != NULL &&
	    ex_alt_n(EX_FAVOURITE, key, (size_t)(sp - key)))
		return arena_printf(c->arena, "favourite:%s", sp + 1);
	return key;
}

/* A relation or pet among words [lo, hi): its singular, else NULL. */
static const char *
ex_relation(struct ex_ctx *c, const struct ex_clause *cl, size_t lo,
    size_t hi, bool *pet, bool *plural)
{
	const char	*s;
	size_t		 i, n;

	for (i = lo; i < hi; i++) {
		s = cl->w[i].norm;
		n = strlen(s);
		if (n > 2 && strcmp(s + n - 2, "'s") == 0 &&
		    (s = arena_strndup(c->arena, s, n - 2)) == NULL)
			return NULL;
		n = strlen(s);
		if ((s = ex_singular(c->arena, s)) == NULL)
			return NULL;
		*plural = strlen(s) != n;
		if (words_is(EX_PETS, s)) {
			*pet = true;
			return s;
		}
		if (words_is(EX_PEOPLE, s)) {
			*pet = false;
			return s;
		}
	}
	return NULL;
}

/*
 * "my X is Y", "my X's name is Y", "my X is called Y", "my name's Y".
 * X is a thing of the user's ("my favourite colour is blue"), or a person
 * or pet, which is a fact about someone else unless Y is their name or
 * the user asked to remember it.
 */
static bool
ex_h_my(struct ex_ctx *c, const struct ex_clause *cl,
    const struct ex_rule *r, size_t k)
{
	struct arena_buf	 b;
	const char	*n, *rel, *subject;
	char		*text;
	size_t		 j, y = 0, xend = 0, hi = cl->n, nl, i, ny;
	bool		 contraction = false, named = false, pet = false;
	bool		 isname, plural = false;
	int		 v;

	(void)r;
	for (j = k; j < cl->n && j < k + 5; j++) {
		n = cl->w[j].norm;
		nl = strlen(n);
		if (words_is("is|are", n)) {
			xend = j;
			y = j + 1;
			break;
		}
		if (nl > 2 && strcmp(n + nl - 2, "'s") == 0) {
			xend = j + 1;
			if (j + 2 < cl->n && strcmp(cl->w[j + 1].norm, "name") ==
			    0 && strcmp(cl->w[j + 2].norm, "is") == 0) {
				named = true;
				y = j + 3;
			} else {
				contraction = true;
				y = j + 1;
			}
			break;
		}
	}
	if (y == 0 || xend == k || y >= cl->n)
		return false;
	if (words_is("called|named", cl->w[y].norm)) {
		named = true;
		y++;
	}
	if (!ex_object(cl, y, &hi))
		return false;

	/* The key: X in lower case, the "'s" of its last word left out. */
	arena_buf_init(&b, c->arena);
	for (i = k; i < xend; i++) {
		n = cl->w[i].norm;
		nl = strlen(n);
		if (i + 1 == xend && (contraction || named) && nl > 2)
			nl -= 2;
		if (i > k)
			arena_buf_add(&b, " ", 1);
		arena_buf_add(&b, n, nl);
	}
	if ((text = ex_buf_text(&b)) == NULL)
		return false;
	ex_cut_bytes(text, EXTRACT_SUBJECT_MAX);

	if ((rel = ex_relation(c, cl, k, xend, &pet, &plural)) != NULL &&
	    !words_is("name|age|birthday", text)) {
		ny = ex_name_end(cl, y, hi);
		isname = named || ex_looks_name(cl, y, ny);
		if (isname) {
			if (ny == y)
				return false;
			hi = ny;
		} else if (cl->mode == EX_PLAIN)
			return false;
		if (pet && isname)
			return ex_emit(c, cl, arena_printf(c->arena, "pet:%s",
			    rel), ex_text(c, arena_printf(c->arena,
			    "Has a %s named", rel), cl, y, hi));
		subject = pet ? arena_printf(c->arena, "pet:%s", rel) : rel;
		if (!pet && plural && words_is(EX_CHILDREN, rel))
			subject = "children";
	} else {
		subject = ex_my_subject(c, text);
		if (subject == text && cl->mode == EX_PLAIN) {
			for (i = k; i < xend; i++)
				if (words_is(EX_TRANSIENT, cl->w[i].norm))
					return false;
			if (words_is(EX_Y_TRANSIENT, cl->w[y].norm))
				return false;
		}
		if (strcmp(subject, "name") == 0)
			hi = ex_name_end(cl, y, hi);
		if (hi == y)
			return false;
		if (strcmp(subject, "age") == 0 && hi == y + 1 &&
		    ex_digits(cl->w[y].norm, &v))
			return ex_age(c, cl, v);
	}

	/* The text: the user's own words, "name's" read as "name is". */
	arena_buf_init(&b, c->arena);
	if (contraction) {
		ex_join(&b, cl, k, xend);
		if (b.str.len >= 2 && b.str.p[b.str.len - 1] == 's') {
			b.str.len -= b.str.len >= 4 && words_typo_mark(b.str.p +
			    b.str.len - 4, 3) ? 4 : 2;
			b.str.p[b.str.len] = '\0';
		}
		arena_buf_puts(&b, " is");
		ex_join(&b, cl, y, hi);
	} else
		ex_join(&b, cl, k, hi);
	if ((text = ex_buf_text(&b)) == NULL)
		return false;
	return ex_emit(c, cl, subject, text);
}

static bool
ex_apply(struct ex_ctx *c, const struct ex_clause *cl)
{
	const struct ex_rule	*r;
	size_t			 k;

	for (r = ex_rules; r->pattern != NULL; r++) {
		if (!ex_prefix(cl, 0, r->pattern, &k))
			continue;
		switch (r->kind) {
		case EX_SIMPLE:
			return ex_h_simple(c, cl, r, k);
		case EX_NAME:
			return ex_h_name(c, cl, r, k);
		case EX_IAM:
			return ex_h_iam(c, cl, r, k);
		case EX_MY:
			return ex_h_my(c, cl, r, k);
		case EX_HAVE:
			return ex_h_have(c, cl, r, k);
		case EX_BORN:
			return ex_h_born(c, cl, r, k);
		case EX_AGE:
			return ex_h_age(c, cl, r, k);
		}
	}
	return false;
}

/*
 * Takes the negation out of a clause: "i no longer live", "i do not
 * work", "i am not", "i am no longer", "i have not". False when there was
 * none.
 */
static bool
ex_unnegate(struct ex_clause *cl)
{
	size_t	 end;

	if (cl->n < 3 || strcmp(cl->w[0].norm, "i") != 0)
		return false;
	if (ex_prefix(cl, 1, "no longer", &end) ||
	    ex_prefix(cl, 1, "do not", &end)) {
		ex_drop(cl, 1, 2);
		return true;
	}
	if (ex_prefix(cl, 1, "am|have no longer", &end)) {
		ex_drop(cl, 2, 2);
		return true;
	}
	if (ex_prefix(cl, 1, "am|have not", &end)) {
		ex_drop(cl, 2, 1);
		return true;
	}
	return false;
}

/* A statement, then the same with its negation taken out. */
static bool
ex_statement(struct ex_ctx *c, const struct ex_clause *cl)
{
	struct ex_clause	 pos;

	if (ex_apply(c, cl))
		return true;
	pos = *cl;
	if (!ex_unnegate(&pos))
		return false;
	pos.negated = true;
	return ex_apply(c, &pos);
}

/* Third person of a plain verb: "likes", "goes", "studies". */
static const char *
ex_third(struct arena *a, const char *v)
{
	size_t	 n = strlen(v), i;

	for (i = 0; i < n; i++)
		if (v[i] < 'a' || v[i] > 'z')
			return v;
	if (n == 0 || words_is("can|could|will|would|should|must|might|may|"
	    "used", v))
		return v;
	if (strcmp(v, "have") == 0)
		return "has";
	if (strcmp(v, "am") == 0 || strcmp(v, "be") == 0)
		return "is";
	if (strcmp(v, "do") == 0 || strcmp(v, "go") == 0)
		return arena_printf(a, "%ses", v);
	if (n > 1 && v[n - 1] == 'y' && strchr("aeiou", v[n - 2]) == NULL)
		return arena_printf(a, "%.*sies", (int)(n - 1), v);
	if (v[n - 1] == 's' || v[n - 1] == 'x' || v[n - 1] == 'z' ||
	    (n > 1 && (v[n - 1] == 'h' && (v[n - 2] == 's' || v[n - 2] == 'c'))))
		return arena_printf(a, "%ses", v);
	return arena_printf(a, "%ss", v);
}

/* "note:" and the first words of a text, in lower case. */
static char *
ex_note_key(struct arena *a, const char *text)
{
	static const char	 punct[] = ".,;:!?\"'()[]{}<>*_~`-";
	struct arena_buf		 b;
	const char		*p = text, *s;
	size_t			 nw = 0, len, i;

	arena_buf_init(&b, a);
	arena_buf_puts(&b, "note:");
	while (*p != '\0' && nw < EX_KEY_WORDS) {
		while (*p == ' ')
			p++;
		for (s = p; *p != '\0' && *p != ' '; p++)
			continue;
		len = (size_t)(p - s);
		while (len > 0 && strchr(punct, *s) != NULL) {
			s++;
			len--;
		}
		while (len > 0 && strchr(punct, s[len - 1]) != NULL)
			len--;
		if (len == 0)
			continue;
		if (nw++ > 0)
			arena_buf_add(&b, " ", 1);
		for (i = 0; i < len; i++) {
			char	 ch = ex_lower(s[i]);

			arena_buf_add(&b, &ch, 1);
		}
	}
	return nw == 0 ? NULL : ex_buf_text(&b);
}

/*
 * What was asked to be remembered (or forgotten) and matches no rule:
 * kept as said, the leading "I ..." turned to the third person ("I have
 * a meeting on Fridays" -> "Has a meeting on Fridays").
 */
static bool
ex_note(struct ex_ctx *c, const struct ex_clause *cl)
{
	struct arena_buf	 b;
	const char	*subject;
	char		*text;
	size_t		 k, end = 0;

	if (cl->n == 0 || (cl->n == 1 && words_is(EX_PRONOUN "|all|about",
	    cl->w[0].norm)))
		return false;
	/* "forget my address". */
	if (cl->mode == EX_FORGET && strcmp(cl->w[0].norm, "my") == 0 &&
	    cl->n > 1 && cl->n <= 4) {
		if ((text = ex_text(c, NULL, cl, 1, cl->n)) == NULL)
			return false;
		if ((subject = ex_key(c, "", cl, 1, cl->n)) == NULL)
			return false;
		return ex_emit(c, cl, ex_my_subject(c, subject), text);
	}
	arena_buf_init(&b, c->arena);
	for (k = 0; ex_note_heads[k].pattern != NULL; k++) {
		if (ex_prefix(cl, 0, ex_note_heads[k].pattern, &end)) {
			arena_buf_puts(&b, ex_note_heads[k].text);
			break;
		}
	}
	if (ex_note_heads[k].pattern == NULL) {
		end = 0;
		if (strcmp(cl->w[0].norm, "i") == 0 && cl->n > 1) {
			arena_buf_puts(&b, ex_third(c->arena, cl->w[1].norm));
			end = 2;
		}
	}
	if (b.str.len > 0)
		arena_buf_add(&b, " ", 1);
	ex_join(&b, cl, end, cl->n);
	if ((text = ex_buf_text(&b)) == NULL ||
	    (text = ex_finish(text)) == NULL)
		return false;
	if ((subject = ex_note_key(c->arena, text)) == NULL)
		return false;
	return ex_emit(c, cl, subject, text);
}

/* ------------------------------------------------------------ requests */

/* Politeness before a request: "please", "can you", "i want you to". */
static const char *const ex_polite[] = {
	"please|pls|plz|kindly|also|and|so|now|oh|btw|ok|okay|hey",
	"can|could|would|will you|u please?",
	"i want|need you to",
	"i would like you to",
	"you should|must",
	"make sure to|you",
	"try to",
	NULL
};

/*
 * "remember that ...", "please note: ...", "forget that ...": where what
 * to remember starts, and *mode; 0 when the clause from `i' is no such
 * request ("remember to buy milk" is a task, "remember when" a question).
 */
static size_t
ex_request(const struct ex_clause *cl, size_t i, enum ex_mode *mode)
{
	size_t		 k, end, j;
	bool		 again = true, strong;

	while (again && i < cl->n) {
		again = false;
		for (k = 0; ex_polite[k] != NULL; k++)
			if (ex_prefix(cl, i, ex_polite[k], &end)) {
				i = end;
				again = true;
				break;
			}
	}
	*mode = EX_REMEMBER;
	if (ex_prefix(cl, i, "remember|memorize|memorise", &end) ||
	    ex_prefix(cl, i, "keep|bear in mind", &end) ||
	    ex_prefix(cl, i, "do not forget", &end) ||
	    ex_prefix(cl, i, "never forget", &end) ||
	    ex_prefix(cl, i, "note|record|save|store|log", &end) ||
	    ex_prefix(cl, i, "make|take a? note|notes", &end))
		j = end;
	else if (ex_prefix(cl, i, "forget about?", &end)) {
		*mode = EX_FORGET;
		j = end;
	} else
		return 0;
	strong = (cl->w[j - 1].flags & (EX_COLON | EX_COMMA)) != 0;
	if (j < cl->n && words_is("that", cl->w[j].norm)) {
		strong = true;
		j++;
	} else if (j < cl->n && strcmp(cl->w[j].norm, "this") == 0 &&
	    (cl->w[j].flags & EX_COLON)) {
		strong = true;
		j++;
	} else if (ex_prefix(cl, j, "the fact that", &end)) {
		strong = true;
		j = end;
	}
	if (j >= cl->n || strcmp(cl->w[j].norm, "to") == 0)
		return 0;
	if (!strong && !words_is("i|my", cl->w[j].norm))
		return 0;
	/* "note" alone is too common a word: only "note that", "note:". */
	if (!strong && words_is("note|record|save|store|log", cl->w[i].norm))
		return 0;
	return j;
}

/* ------------------------------------------------------------ builtin */

/* One clause, tokens [lo, hi); `question': the end of a question. */
static void
ex_clause(struct ex_ctx *c, size_t lo, size_t hi, bool question)
{
	struct ex_clause	 cl, rest;
	enum ex_mode		 mode;
	size_t			 i, j;

	ex_build(c, lo, hi, &cl);
	i = ex_skip_fillers(&cl, 0);
	if (i >= cl.n)
		return;
	if ((j = ex_request(&cl, i, &mode)) > 0) {
		rest = cl;
		ex_drop(&rest, 0, j);
		rest.mode = mode;
		if (!ex_statement(c, &rest))
			(void)ex_note(c, &rest);
		return;
	}
	if (question || words_is(EX_QWORDS, cl.w[i].norm) ||
	    words_is(EX_HYPO, cl.w[i].norm))
		return;
	/* "and work at Acme": the "i" of the clause before. */
	if (i > 0 && words_is(EX_IMPLIED, cl.w[i].norm) &&
	    words_is("and|but|plus|then|also|or", cl.w[i - 1].norm)) {
		i--;
		cl.w[i].raw = NULL;
		cl.w[i].len = 0;
		cl.w[i].norm = "i";
		cl.w[i].flags = 0;
	}
	ex_drop(&cl, 0, i);
	(void)ex_statement(c, &cl);
}

/* A new clause starts at token i of a sentence [s, e). */
static bool
ex_clause_starts(const struct ex_ctx *c, size_t i, size_t e)
{
	const struct ex_word	*t = c->tok;

	if ((t[i - 1].flags & EX_COMMA) && (words_is(EX_OPENER, t[i].norm) ||
	    words_is(EX_AFTER_COMMA, t[i].norm)))
		return true;
	if (words_is("and|but|plus|then|also|or", t[i].norm) && i + 1 < e &&
	    (words_is(EX_OPENER, t[i + 1].norm) ||
	    words_is(EX_IMPLIED, t[i + 1].norm)))
		return true;
	return words_is(EX_CUT_CLAUSE, t[i].norm);
}

/* Tokens [s, e): skipped as a question or a hypothesis, else clauses. */
static void
ex_sentence(struct ex_ctx *c, size_t s, size_t e)
{
	struct ex_clause	 cl;
	enum ex_mode		 mode;
	size_t			 i, lo;
	bool			 question;

	ex_build(c, s, e, &cl);
	if ((i = ex_skip_fillers(&cl, 0)) >= cl.n)
		return;
	question = (c->tok[e - 1].flags & EX_QUESTION) != 0;
	if (ex_request(&cl, i, &mode) > 0)
		question = false;
	else if (words_is(EX_HYPO, cl.w[i].norm))
		return;
	for (lo = s, i = s + 1; i < e; i++) {
		if (!ex_clause_starts(c, i, e))
			continue;
		ex_clause(c, lo, i, false);
		lo = i;
	}
	ex_clause(c, lo, e, question);
}

size_t
extract_builtin(struct arena *a, const char *message,
    struct extract_fact *out, size_t max)
{
	struct ex_ctx	 c;
	size_t		 s, i;

	if (a == NULL || message == NULL || out == NULL || max == 0 ||
	    !utf8_valid(message, strlen(message)))
		return 0;
	memset(&c, 0, sizeof(c));
	c.arena = a;
	c.out = out;
	c.max = max;
	if ((c.tok = arena_calloc(a, EX_MAX_TOKENS, sizeof(*c.tok))) == NULL ||
	    !ex_split(&c, message))
		return 0;
	for (s = 0, i = 0; i < c.ntok && c.n < c.max; i++) {
		if (!(c.tok[i].flags & EX_END) && i + 1 < c.ntok)
			continue;
		ex_sentence(&c, s, i + 1);
		s = i + 1;
	}
	return c.n;
}

/* ------------------------------------------------------------ prompt */

const char *
extract_prompt(void)
{
	return
	    "You pick out facts about the user that are worth remembering "
	    "across conversations, from the user's last message. Answer "
	    "with JSON only, no other text, in exactly this form:\n"
	    "{\"facts\":[{\"text\":\"...\",\"subject\":\"...\"}]}\n"
	    "Rules:\n"
	    "- Only lasting facts about the user: name, where they live, "
	    "work and job, family, pets, diet, allergies, health, likes and "
	    "dislikes, skills, important dates, how they want to be "
	    "answered.\n"
	    "- No facts for small talk, greetings, questions, requests, "
	    "passing moods or plans for today; then answer {\"facts\":[]}.\n"
	    "- No facts about other people, unless the user asks you to "
	    "remember them.\n"
	    "- Each text is one short sentence without a subject, in the "
	    "same language as the user: \"Is vegetarian\", \"Works at Acme "
	    "as a nurse\", \"Likes jazz\". At most 200 characters.\n"
	    "- subject is a short lower-case key for what the fact is "
	    "about, the same for facts that replace each other: \"name\", "
	    "\"home\", \"work\", \"job\", \"diet\", \"age\", \"birthday\", "
	    "\"likes:jazz\", \"dislikes:olives\", \"allergy:peanuts\", "
	    "\"pet:dog\".\n"
	    "- When the user says a fact no longer holds (\"I don't live in "
	    "Paris anymore\", \"forget that I like jazz\"), give the fact "
	    "that stopped being true with \"negated\": true: "
	    "{\"text\":\"Lives in Paris\",\"subject\":\"home\","
	    "\"negated\":true}.\n"
	    "- At most 8 facts. Only what the user said, never what the "
	    "assistant said.\n";
}

/* ------------------------------------------------------------ parse */

/*
 * The end of the JSON value that starts at s[i] ('{' or '['): the byte
 * after its matching bracket. False when it does not close.
 */
static bool
ex_balanced(const char *s, size_t len, size_t i, size_t *end)
{
	size_t	 depth = 0;
	bool	 str = false, esc = false;

	for (; i < len; i++) {
		if (str) {
			if (esc)
				esc = false;
			else if (s[i] == '\\')
				esc = true;
			else if (s[i] == '"')
				str = false;
			continue;
		}
		if (s[i] == '"')
			str = true;
		else if (s[i] == '{' || s[i] == '[')
			depth++;
		else if ((s[i] == '}' || s[i] == ']') && --depth == 0) {
			*end = i + 1;
			return true;
		}
	}
	return false;
}

/*
 * A copy of s[0..len) that local models get wrong less often: trailing
 * commas removed, and with `quotes', typographic double quotes made plain.
 */
static char *
ex_relax(struct arena *a, const char *s, size_t len, bool quotes,
    size_t *outlen)
{
	char	*o;
	size_t	 i, n = 0, k;
	bool	 str = false, esc = false;

	if ((o = arena_alloc(a, len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		char	 ch = s[i];

		if (quotes && i + 2 < len && (unsigned char)s[i] == 0xe2 &&
		    (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0x9c ||
		    (unsigned char)s[i + 2] == 0x9d)) {
			ch = '"';
			i += 2;
		}
		if (str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				str = false;
		} else if (ch == '"')
			str = true;
		else if (ch == ',') {
			for (k = i + 1; k < len && words_space((unsigned char)s[k]);
			    k++)
				continue;
			if (k < len && (s[k] == '}' || s[k] == ']'))
				continue;
		}
		o[n++] = ch;
	}
	o[n] = '\0';
	*outlen = n;
	return o;
}

static void
ex_json_put(void *obj)
{
	json_object_put(obj);
}

/*
 * s[0..len) as JSON: strictly, then relaxed, then as json-c reads it
 * (single quotes). The object is released with the arena.
 */
static struct json_object *
ex_json(struct arena *a, const char *s, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL;
	char			*r;
	size_t			 rlen;

	if ((r = ex_relax(a, s, len, false, &rlen)) == NULL)
		return NULL;
	if (jsonx_parse(r, rlen, &o, NULL) != APP_OK) {
		o = NULL;
		if ((r = ex_relax(a, s, len, true, &rlen)) == NULL)
			return NULL;
		if (jsonx_parse(r, rlen, &o, NULL) != APP_OK) {
			o = NULL;
			if ((tok = json_tokener_new_ex(JSONX_MAX_DEPTH)) ==
			    NULL)
				return NULL;
			o = json_tokener_parse_ex(tok, r, (int)rlen);
			if (o != NULL && (json_tokener_get_error(tok) !=
			    json_tokener_success ||
			    json_tokener_get_parse_end(tok) != rlen)) {
				json_object_put(o);
				o = NULL;
			}
			json_tokener_free(tok);
		}
	}
	if (o != NULL && arena_cleanup_add(a, ex_json_put, o) == -1) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* A string member of `obj', the first of `keys' present. */
static struct json_object *
ex_member(struct json_object *obj, const char *const *keys, json_type type)
{
	struct json_object	*v;

	for (; *keys != NULL; keys++)
		if (json_object_object_get_ex(obj, *keys, &v) &&
		    json_object_is_type(v, type))
			return v;
	return NULL;
}

/*
 * A string from the model as a clean arena copy: valid UTF-8 without NUL,
 * white space squeezed, 1..max characters. NULL otherwise.
 */
static char *
ex_model_string(struct arena *a, struct json_object *v, size_t max)
{
	const char	*s;
	char		*copy;
	int		 len;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (s == NULL || len <= 0 || strlen(s) != (size_t)len ||
	    !utf8_valid(s, (size_t)len))
		return NULL;
	if ((copy = arena_strndup(a, s, (size_t)len)) == NULL)
		return NULL;
	copy = ex_squeeze(copy);
	if (*copy == '\0' || utf8_len(copy) > max)
		return NULL;
	return copy;
}

static void
ex_add_model(struct arena *a, struct json_object *item,
    struct extract_fact *out, size_t *n)
{
	static const char *const text_keys[] = { "text", "fact", "memory",
	    "content", NULL };
	static const char *const subject_keys[] = { "subject", "key",
	    "topic", "category", NULL };
	static const char *const neg_keys[] = { "negated", "negative",
	    "removed", NULL };
	struct json_object	*v;
	char			*text, *subject = NULL, *p;
	bool			 negated = false;
	size_t			 i;

	if (json_object_is_type(item, json_type_string))
		text = ex_model_string(a, item, EXTRACT_TEXT_MAX);
	else if (json_object_is_type(item, json_type_object)) {
		text = ex_model_string(a, ex_member(item, text_keys,
		    json_type_string), EXTRACT_TEXT_MAX);
		subject = ex_model_string(a, ex_member(item, subject_keys,
		    json_type_string), EXTRACT_TEXT_MAX);
		if ((v = ex_member(item, neg_keys, json_type_boolean)) != NULL)
			negated = json_object_get_boolean(v);
	} else
		return;
	if (text == NULL)
		return;
	for (i = 0; i < *n; i++)
		if (ex_same(out[i].text, text))
			return;
	if (subject != NULL) {
		for (p = subject; *p != '\0'; p++)
			*p = ex_lower(*p);
		ex_cut_bytes(subject, EXTRACT_SUBJECT_MAX);
		subject = ex_squeeze(subject);
	}
	if (subject == NULL || *subject == '\0')
		subject = ex_note_key(a, text);
	if (subject == NULL)
		return;
	ex_cut_bytes(subject, EXTRACT_SUBJECT_MAX);
	out[*n].text = text;
	out[*n].subject = subject;
	out[*n].negated = negated;
	(*n)++;
}

/*
 * The facts of a parsed answer. False when it is not shaped like an
 * answer at all (then the next JSON text in the answer is tried).
 */
static bool
ex_facts(struct arena *a, struct json_object *root,
    struct extract_fact *out, size_t max, size_t *n)
{
	static const char *const list_keys[] = { "facts", "memories",
	    "items", "data", NULL };
	static const char *const text_keys[] = { "text", "fact", "memory",
	    "content", NULL };
	struct json_object	*arr;
	size_t			 i, len;

	*n = 0;
	if (json_object_is_type(root, json_type_array))
		arr = root;
	else if (json_object_is_type(root, json_type_object)) {
		if ((arr = ex_member(root, list_keys, json_type_array)) ==
		    NULL) {
			if (ex_member(root, text_keys, json_type_string) == NULL)
				return false;
			ex_add_model(a, root, out, n);
			return true;
		}
	} else
		return false;
	len = json_object_array_length(arr);
	for (i = 0; i < len && *n < max; i++)
		ex_add_model(a, json_object_array_get_idx(arr, i), out, n);
	return true;
}

size_t
extract_parse(struct arena *a, const char *answer, size_t len,
    struct extract_fact *out, size_t max)
{
	struct json_object	*root;
	size_t			 i, end, n, tries = 0;

	if (a == NULL || answer == NULL || out == NULL || max == 0 ||
	    len == 0 || len > EX_ANSWER_MAX)
		return 0;
	for (i = 0; i < len && tries < EX_CANDIDATES; i++) {
		if (answer[i] != '{' && answer[i] != '[')
			continue;
		tries++;
		if (!ex_balanced(answer, len, i, &end))
			continue;
		if ((root = ex_json(a, answer + i, end - i)) == NULL)
			continue;
		if (ex_facts(a, root, out, max, &n))
			return n;
	}
	return 0;
}

/* ------------------------------------------------------------ reconcile */

/* The distinct words of a text, articles and "my" left out. */
struct ex_set {
	const char	*w[EX_SET_MAX];
	size_t		 len[EX_SET_MAX];
	size_t		 n;
};

static bool
ex_wordch(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch >= 0x80;
}

static bool
ex_word_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	 i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (ex_lower(a[i]) != ex_lower(b[i]))
			return false;
	return true;
}

static bool
ex_set_has(const struct ex_set *set, const char *w, size_t len)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (ex_word_eq(set->w[i], set->len[i], w, len))
			return true;
	return false;
}

static void
ex_set_of(const char *s, struct ex_set *set)
{
	const char	*w;
	size_t		 len;

	set->n = 0;
	while (*s != '\0' && set->n < EX_SET_MAX) {
		while (*s != '\0' && !ex_wordch((unsigned char)*s))
			s++;
		for (w = s; ex_wordch((unsigned char)*s); s++)
			continue;
		if ((len = (size_t)(s - w)) == 0)
			continue;
		if (ex_word_eq(w, len, "a", 1) || ex_word_eq(w, len, "an", 2) ||
		    ex_word_eq(w, len, "the", 3) || ex_word_eq(w, len, "my", 2))
			continue;
		if (!ex_set_has(set, w, len)) {
			set->w[set->n] = w;
			set->len[set->n] = len;
			set->n++;
		}
	}
}

/* Words of `a' also in `b'. */
static size_t
ex_common(const struct ex_set *a, const struct ex_set *b)
{
	size_t	 i, n = 0;

	for (i = 0; i < a->n; i++)
		if (ex_set_has(b, a->w[i], a->len[i]))
			n++;
	return n;
}

/* "likes:jazz" -> "likes" and "jazz"; false without a ':'. */
static bool
ex_subject_split(const char *s, size_t *plen, const char **rest)
{
	const char	*colon;

	if ((colon = strchr(s, ':')) == NULL)
		return false;
	*plen = (size_t)(colon - s);
	*rest = colon + 1;
	return true;
}

/* Same subject; with `family', "likes:x" and "dislikes:x" too. */
static bool
ex_same_subject(const char *a, const char *b, bool family)
{
	static const char	 prefs[] = "likes|dislikes|prefers|loves|hates";
	const char		*ra, *rb;
	size_t			 la, lb;
	char			 pa[16], pb[16];

	if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
		return false;
	if (ex_same(a, b))
		return true;
	if (!family || !ex_subject_split(a, &la, &ra) ||
	    !ex_subject_split(b, &lb, &rb) || la >= sizeof(pa) ||
	    lb >= sizeof(pb))
		return false;
	memcpy(pa, a, la);
	pa[la] = '\0';
	memcpy(pb, b, lb);
	pb[lb] = '\0';
	return words_is(prefs, pa) && words_is(prefs, pb) && ex_same(ra, rb);
}

enum extract_op
extract_reconcile(const struct extract_fact *f, const char *old_text,
    const char *old_subject)
{
	struct ex_set	 a, b;
	size_t		 common, uni;
	bool		 near;

	if (f == NULL || f->text == NULL)
		return EXTRACT_NONE;
	if (old_text == NULL)
		return f->negated ? EXTRACT_NONE : EXTRACT_ADD;
	ex_set_of(f->text, &a);
	ex_set_of(old_text, &b);
	common = ex_common(&a, &b);
	uni = a.n + b.n - common;
	if (uni == 0)
		near = ex_same(f->text, old_text);
	else
		near = 5 * common >= 4 * uni;
	if (f->negated) {
		if (near)
			return EXTRACT_DELETE;
		if (ex_same_subject(f->subject, old_subject, false) &&
		    (strchr(f->subject, ':') != NULL ||
		    (a.n > 0 && common == a.n)))
			return EXTRACT_DELETE;
		return EXTRACT_NONE;
	}
	if (near)
		return EXTRACT_NONE;
	if (ex_same_subject(f->subject, old_subject, true))
		return EXTRACT_UPDATE;
	return EXTRACT_ADD;
}
