/*
 * memseed: the data of the memory benchmark (bench/memory.sh), and its
 * reference: exact cosine similarity over all of a user's vectors.
 *
 *	memseed data TABLE COUNT...
 *	memseed exact CONNINFO USER_ID < questions > results
 *
 * data: COUNT memories for each user in turn; user n (from 1) is
 * 00000000-0000-4000-b000-<n on 12 digits>. TABLE names what goes to
 * standard output, as COPY text (tab-separated, one row a line):
 *	users		user_id, username
 *	memories	id, user_id, content, subject, embed_model, embed_dim,
 *			age in seconds (the loader makes updated_at of it)
 *	vectors		memory_id, embedding (float4[] text)
 *	buckets		user_id, bucket, memory_id
 *	needles		needle, user_id, memory_id, content, question
 *	questions	needle (0 for none), question
 * Every run with the same counts writes the same rows, so the tables can
 * be written by separate runs (only vectors and buckets embed anything).
 *
 * The memories are short facts from about fifty sentence templates whose
 * slots are filled from word lists by a seeded PRNG (one per user), so
 * that a common word ("lives", "likes", "called") sits in a few percent
 * of a user's memories and a rare one in a few hundred: what makes a
 * full-text OR query expensive at 100 000 memories. The users' memories
 * are interleaved in id order, as when many users write at once, and
 * ids grow with time: the newest memory is 0 days old, the oldest two
 * years. Vectors are embed_builtin()'s, buckets embed_lsh()'s, the model
 * RECALL_BUILTIN_MODEL: what lib/recall.c writes for the builtin embedder.
 *
 * The labelled set: MEMSEED_NEEDLES "needles", facts each answering one
 * question ("Has an axolotl named Biscuit" <- "what is my axolotl
 * called?"), planted at evenly spread places among the memories of
 * users 1 and 2 (instead of the memories that would be there). A
 * needle's answer words (its keys) appear in no template or word list,
 * which is checked at start: the needle is the one right answer to its
 * question. Some questions share the needle's rare word, some only a
 * stem or a part of a word ("where did I grow up?" for "Grew up on a
 * sheep farm in Wales").
 *
 * The questions: MEMSEED_QUESTIONS in all, every fifth one a needle's,
 * the others from question templates over the same word lists ("where
 * does my sister live?"), which match many memories.
 *
 * exact: for each question on standard input (one a line), embeds it with
 * embed_builtin(), reads every vector of USER_ID of the current model
 * from memory_vectors (binary results, one prepared statement on one
 * connection, as a search without an index would), scores them all and
 * keeps the MEMSEED_TOPK best, highest cosine first (ties: higher id
 * first). One line a question:
 *	total_ms fetch_ms vectors id1 ... idK
 * total_ms from the question read to its top K, fetch_ms the statement
 * alone. Exits 1 on any database error.
 */
#include "config.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "arena.h"
#include "embed.h"
#include "recall.h"

#define MEMSEED_USERS_MAX	64
#define MEMSEED_NEEDLE_USERS	2	/* users 1 and 2 get the needles */
#define MEMSEED_QUESTIONS	200
#define MEMSEED_TOPK		5
#define MEMSEED_SPAN		(730L * 86400)	/* oldest memory's age, s */
#define MEMSEED_TEXT_MAX	256

#define NITEMS(a)		(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ word lists */

static const char *const w_name[] = { "Anna", "Ben", "Clara", "David",
	"Elena", "Farid", "Greta", "Hannah", "Igor", "Jonas", "Kenji",
	"Laura", "Marco", "Nadia", "Oscar", "Priya", "Quentin", "Rosa",
	"Samir", "Tanya", "Ulrich", "Vera", "Walter", "Ximena", "Yusuf",
	"Zoe", "Lucas", "Amelie", "Tomas", "Leila", "Pablo", "Ingrid", "Kofi",
	"Mei", "Rahul", "Sofia", "Victor", "Noemi", "Eitan", "Camille" };
static const char *const w_city[] = { "Paris", "Lyon", "Berlin", "Munich",
	"Madrid", "Valencia", "Lisbon", "Porto", "Tokyo", "Kyoto", "Boston",
	"Denver", "Toronto", "Vancouver", "Sydney", "Perth", "Dublin", "Cork",
	"Oslo", "Bergen", "Prague", "Vienna", "Rome", "Naples", "Seoul",
	"Busan", "Mumbai", "Nairobi", "Cairo", "Lima", "Bogota", "Austin",
	"Chicago", "Glasgow", "Bristol", "Krakow", "Zurich", "Athens",
	"Istanbul", "Marseille" };
static const char *const w_food[] = { "sushi", "pizza", "ramen", "tacos",
	"curry", "pasta", "dumplings", "paella", "falafel", "pho", "burgers",
	"risotto", "kimchi", "lasagna", "burritos", "gnocchi", "tapas",
	"couscous", "moussaka", "goulash", "pierogi", "biryani", "ceviche",
	"fondue", "shakshuka", "bibimbap", "empanadas", "quiche" };
static const char *const w_animal[] = { "dog", "cat", "parrot", "rabbit",
	"hamster", "turtle", "goldfish", "horse", "ferret", "iguana",
	"guinea pig", "canary", "tortoise", "gecko" };
static const char *const w_job[] = { "nurse", "teacher", "software engineer",
	"accountant", "architect", "chef", "lawyer", "pharmacist",
	"graphic designer", "electrician", "journalist", "data analyst",
	"pilot", "dentist", "librarian", "plumber", "photographer",
	"translator", "physiotherapist", "project manager" };
static const char *const w_company[] = { "Airbus", "Siemens", "Renault",
	"Nestle", "a small agency", "the city hospital", "a startup",
	"a law firm", "the public library", "an insurance company",
	"the town hall", "a logistics company", "a hotel", "a pharmacy",
	"a consulting firm", "a museum" };
static const char *const w_hobby[] = { "chess", "painting", "knitting",
	"gardening", "climbing", "surfing", "photography", "pottery", "yoga",
	"running", "cycling", "swimming", "birdwatching", "woodworking",
	"fishing", "skiing", "dancing", "archery", "origami", "kayaking",
	"calligraphy", "judo" };
static const char *const w_instrument[] = { "guitar", "piano", "violin",
	"drums", "cello", "flute", "saxophone", "trumpet", "ukulele", "harp",
	"clarinet", "accordion" };
static const char *const w_genre[] = { "jazz", "blues", "techno", "opera",
	"reggae", "punk", "folk", "hip hop", "classical music", "country",
	"salsa", "metal", "k-pop", "soul" };
static const char *const w_lang[] = { "French", "Spanish", "German",
	"Japanese", "Italian", "Portuguese", "Korean", "Arabic", "Hindi",
	"Russian", "Dutch", "Swedish", "Greek", "Polish", "Turkish",
	"Mandarin" };
static const char *const w_allergen[] = { "peanuts", "gluten", "shellfish",
	"pollen", "dust mites", "penicillin", "eggs", "sesame", "wasps",
	"latex", "mustard", "soy" };
static const char *const w_month[] = { "January", "February", "March",
	"April", "May", "June", "July", "August", "September", "October",
	"November", "December" };
static const char *const w_day[] = { "Mondays", "Tuesdays", "Wednesdays",
	"Thursdays", "Fridays", "Saturdays", "Sundays", "weekends" };
static const char *const w_color[] = { "red", "blue", "green", "black",
	"white", "silver", "yellow", "orange", "grey", "purple" };
static const char *const w_car[] = { "Toyota Corolla", "Honda Civic",
	"Tesla Model 3", "Volkswagen Golf", "Ford Fiesta", "Renault Clio",
	"Fiat Panda", "Subaru Outback", "Skoda Octavia", "Mazda MX-5",
	"Volvo XC60", "Peugeot 208" };
static const char *const w_books[] = { "science fiction", "crime novels",
	"poetry", "history books", "fantasy", "biographies", "comics",
	"philosophy", "travel writing", "cookbooks", "graphic novels",
	"thrillers" };
static const char *const w_subject[] = { "physics", "law", "medicine",
	"history", "economics", "biology", "chemistry", "architecture",
	"literature", "mathematics", "music", "philosophy", "geology",
	"sociology" };
static const char *const w_drink[] = { "tea", "coffee", "espresso",
	"green tea", "hot chocolate", "orange juice", "sparkling water",
	"matcha", "oat latte", "lemonade" };
static const char *const w_relation[] = { "sister", "brother", "mother",
	"father", "cousin", "best friend", "uncle", "aunt", "grandmother",
	"grandfather", "niece", "nephew", "neighbour", "colleague", "son",
	"daughter", "partner", "flatmate" };
static const char *const w_sport[] = { "tennis", "football", "basketball",
	"volleyball", "badminton", "golf", "rugby", "hockey", "squash",
	"table tennis", "handball", "padel" };
static const char *const w_fear[] = { "spiders", "heights", "flying",
	"the dark", "clowns", "deep water", "snakes", "crowds", "needles",
	"elevators" };
static const char *const w_plant[] = { "basil", "tomatoes", "orchids",
	"a cactus", "ferns", "a lemon tree", "strawberries", "lavender",
	"mint", "a bonsai" };
static const char *const w_item[] = { "bicycle", "backpack", "umbrella",
	"sofa", "kettle", "raincoat", "armchair", "suitcase", "lamp",
	"guitar case" };
static const char *const w_show[] = { "cooking shows", "documentaries",
	"the news", "football matches", "sitcoms", "quiz shows",
	"detective series", "nature films", "reality shows", "anime" };
static const char *const w_when[] = { "in the morning", "after lunch",
	"in the evening", "on weekends", "before dinner", "on the way to work",
	"every day", "twice a week", "once a month", "at night" };
static const char *const w_transport[] = { "bus", "tram", "metro", "bike",
	"car", "ferry" };
static const char *const w_appt[] = { "dentist", "doctor", "optician",
	"hairdresser", "physio", "vet", "accountant", "bank" };
static const char *const w_shop[] = { "the flea market", "the corner shop",
	"the supermarket", "the organic store", "the butcher",
	"the fishmonger", "the night market", "the hardware store" };

struct wlist {
	const char		*name;
	const char *const	*w;
	size_t			 n;
};

#define WLIST(name, a)	{ name, a, NITEMS(a) }

static const struct wlist wlists[] = {
	WLIST("name", w_name), WLIST("city", w_city), WLIST("food", w_food),
	WLIST("animal", w_animal), WLIST("job", w_job),
	WLIST("company", w_company), WLIST("hobby", w_hobby),
	WLIST("instrument", w_instrument), WLIST("genre", w_genre),
	WLIST("lang", w_lang), WLIST("allergen", w_allergen),
	WLIST("month", w_month), WLIST("day", w_day),
	WLIST("color", w_color), WLIST("car", w_car),
	WLIST("books", w_books), WLIST("subject", w_subject),
	WLIST("drink", w_drink), WLIST("relation", w_relation),
	WLIST("sport", w_sport), WLIST("fear", w_fear),
	WLIST("plant", w_plant), WLIST("item", w_item),
	WLIST("show", w_show), WLIST("when", w_when),
	WLIST("transport", w_transport), WLIST("appt", w_appt),
	WLIST("shop", w_shop),
};

/*
 * The memories' templates: "{list}" is a word of that list, "{year}" a
 * year from 1990, "{date}" a day of the month, "{num}" 2 to 5.
 */
static const char *const templates[] = {
	"Lives in {city}",
	"Lives near the old harbour in {city}",
	"Has a {animal} named {name}",
	"{relation} {name} has a {animal}",
	"Works as a {job} at {company}",
	"Used to work as a {job} in {city}",
	"Is allergic to {allergen}",
	"Listens to {genre} {when}",
	"Likes {genre} but not {genre}",
	"Favourite food is {food}",
	"Does not eat {food}",
	"Cooks {food} for {name} on {day}",
	"Has {num} children, {name} and {name}",
	"{relation} is called {name}",
	"{relation} lives in {city}",
	"{relation} works at {company}",
	"Birthday is on {month} {date}",
	"{name}'s birthday is in {month}",
	"Drives a {color} {car}",
	"Is thinking about buying a {car}",
	"Speaks {lang} and {lang}",
	"Wants to learn {lang}",
	"Takes {lang} classes on {day}",
	"Prefers {drink} over {drink}",
	"Drinks {drink} {when}",
	"Reads {books} {when}",
	"Is reading a book about {subject}",
	"Studied {subject} at the university of {city}",
	"Plays {sport} on {day}",
	"Supports the {sport} club of {city}",
	"Enjoys {hobby} with {name}",
	"Does {hobby} every {month}",
	"Visited {city} in {year}",
	"Is planning a trip to {city} in {month}",
	"Is saving money for a holiday in {city}",
	"Moved from {city} to {city} in {year}",
	"Has a meeting with {name} about the {city} project on {day}",
	"Has a {appt} appointment on {day}",
	"Is afraid of {fear}",
	"Looks after {plant} on the balcony",
	"Shops at {shop} on {day}",
	"Watches {show} {when}",
	"Takes the {transport} to work",
	"Has a {color} {item}",
	"Lost a {color} {item} in {city}",
	"Usually has {food} for lunch",
	"Works from home on {day}",
	"Started a new job at {company} in {month}",
	"Ran a half marathon in {city} in {year}",
	"{name} recommended a restaurant in {city}",
	"Gave {name} a {item} for their birthday",
	"Is learning to play the {instrument}",
	"Takes {instrument} lessons with {name} on {day}",
	"Met {name} in {city} in {year}",
};

/* The questions that are not a needle's: they hit many memories. */
static const char *const qtemplates[] = {
	"where do I live?",
	"what is my {animal} called?",
	"where does my {relation} live?",
	"what does my {relation} do?",
	"what do I do at {company}?",
	"am I allergic to {allergen}?",
	"do I like {genre}?",
	"what is my favourite food?",
	"do I eat {food}?",
	"when is {name}'s birthday?",
	"what car do I drive?",
	"do I speak {lang}?",
	"what do I drink {when}?",
	"what am I reading?",
	"what did I study?",
	"when do I play {sport}?",
	"have I been to {city}?",
	"who is {name}?",
	"what should I cook for {name}?",
	"when is my meeting about the {city} project?",
	"what am I afraid of?",
	"how do I get to work?",
	"which languages do I want to learn?",
	"tell me about my trip to {city}",
	"what do I do on {day}?",
	"what is my {relation} called?",
	"what instrument am I learning?",
	"when is my {appt} appointment?",
	"what is on my balcony?",
	"where did I lose my {item}?",
};

/* ------------------------------------------------------------ needles */

/*
 * The labelled set. keys: lower-case prefixes of the words that make
 * the needle the answer; no word of the templates or lists may start
 * with one (checked at start).
 */
struct needle {
	const char	*content;
	const char	*question;
	const char	*keys;
};

static const struct needle needles[] = {
	{ "Has an axolotl named Biscuit", "what is my axolotl called?",
	    "axolotl biscuit" },
	{ "Keeps three beehives in the garden",
	    "how many beehives do I keep?", "beehive" },
	{ "Collects vintage typewriters", "what do I collect?",
	    "collect typewriter vintage" },
	{ "Married Ottilie in 2011", "when did I get married?",
	    "marri ottilie" },
	{ "Rides a turquoise Vespa scooter", "what scooter do I ride?",
	    "scooter vespa turquoise ride" },
	{ "Is training for a triathlon in Hamburg",
	    "what race am I training for?", "train triathlon hamburg race" },
	{ "Favourite author is Ursula Le Guin",
	    "who is my favourite author?", "author ursula" },
	{ "Is lactose intolerant", "am I lactose intolerant?",
	    "lactose intoleran" },
	{ "Blood type is O negative", "what is my blood type?",
	    "blood type" },
	{ "Was born in Reykjavik", "where was I born?", "born reykjavik" },
	{ "Grew up on a sheep farm in Wales", "where did I grow up?",
	    "grew grow sheep farm wales" },
	{ "Has been vegetarian since 2015", "am I vegetarian?",
	    "vegetarian" },
	{ "Wears contact lenses", "do I wear glasses or contacts?",
	    "contact lens glasses wear" },
	{ "Sings bass in a barbershop quartet",
	    "what quartet do I sing in?", "sing bass barbershop quartet" },
	{ "Is scared of thunderstorms", "what weather scares me?",
	    "scare thunder weather" },
	{ "Owns a sailboat called Marigold",
	    "what is the name of my boat?", "sailboat boat marigold owns" },
	{ "Bakes sourdough bread every Sunday", "what bread do I bake?",
	    "bake sourdough bread" },
	{ "Has a tattoo of a lighthouse on the left arm",
	    "what tattoo do I have?", "tattoo lighthouse" },
	{ "Sleeps with earplugs", "do I use earplugs to sleep?",
	    "earplug sleep" },
	{ "Is colour blind", "am I colour blind?", "colour blind" },
	{ "Plays the bagpipes", "do I play the bagpipes?", "bagpipe" },
	{ "Daughter Matilda started school in September",
	    "when did Matilda start school?", "matilda school" },
	{ "Is learning Icelandic on Duolingo", "how am I learning Icelandic?",
	    "icelandic duolingo" },
	{ "Had knee surgery in March 2022", "when was my knee operation?",
	    "knee surgery operation" },
	{ "Mortgage is with Nordea bank", "which bank holds my mortgage?",
	    "mortgage nordea holds" },
	{ "Prefers window seats on planes",
	    "do I like the window or the aisle seat?",
	    "window seat aisle plane" },
	{ "Usually wakes up at 5:45", "what time do I wake up?",
	    "wake time" },
	{ "Is a volunteer firefighter", "am I a firefighter?",
	    "volunteer firefighter" },
	{ "Brother Anselm lives in Tasmania", "where does Anselm live?",
	    "anselm tasmania" },
	{ "Wedding anniversary is on 14 June",
	    "when is our wedding anniversary?", "wedding anniversar" },
	{ "Shoe size is 44", "what is my shoe size?", "shoe size" },
	{ "Cannot stand the smell of cilantro", "do I like cilantro?",
	    "cilantro" },
	{ "Dreams of hiking the Appalachian Trail",
	    "which trail do I want to hike?",
	    "hike hiking trail appalachian dream" },
	{ "Paid off the student loan in 2020",
	    "when did I pay off my student loan?", "paid pay student loan" },
	{ "Is building a treehouse for the kids", "what am I building?",
	    "build treehouse kids" },
	{ "Has a standing desk at home", "what kind of desk do I have?",
	    "desk standing kind" },
	{ "Takes melatonin to fall asleep", "what do I take for sleep?",
	    "melatonin asleep fall" },
	{ "Speaks fluent Esperanto", "do I speak Esperanto?",
	    "esperanto fluent" },
	{ "Rides a unicycle to the office", "do I ride a unicycle?",
	    "unicycle office" },
	{ "Got a puppy called Pretzel last week",
	    "what is my puppy called?", "puppy pretzel" },
};

#define MEMSEED_NEEDLES		NITEMS(needles)

/* ------------------------------------------------------------ generator */

/* xorshift64*: small, fast and the same everywhere. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(0x2545f4914f6cdd1d);
}

static uint64_t
rnd_seed(uint64_t n)
{
	return (n + 1) * UINT64_C(0x9e3779b97f4a7c15) | 1;
}

static const struct wlist *
wlist_find(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < NITEMS(wlists); i++)
		if (strlen(wlists[i].name) == len &&
		    strncmp(wlists[i].name, name, len) == 0)
			return &wlists[i];
	return NULL;
}

/* Appends `s' to out[*off..sz), cutting at the end. */
static void
put(char *out, size_t sz, size_t *off, const char *s, size_t n)
{
	if (n > sz - 1 - *off)
		n = sz - 1 - *off;
	memcpy(out + *off, s, n);
	*off += n;
	out[*off] = '\0';
}

/* One slot's text into num[] or from a list; NULL for an unknown slot. */
static const char *
slot(const char *name, size_t len, uint64_t *s, char *num, size_t numsz)
{
	const struct wlist	*l;

	if (len == 4 && strncmp(name, "year", 4) == 0) {
		snprintf(num, numsz, "%u", 1990 + (unsigned)(rnd(s) % 35));
		return num;
	}
	if (len == 4 && strncmp(name, "date", 4) == 0) {
		snprintf(num, numsz, "%u", 1 + (unsigned)(rnd(s) % 28));
		return num;
	}
	if (len == 3 && strncmp(name, "num", 3) == 0) {
		snprintf(num, numsz, "%u", 2 + (unsigned)(rnd(s) % 4));
		return num;
	}
	if ((l = wlist_find(name, len)) == NULL)
		return NULL;
	return l->w[rnd(s) % l->n];
}

/*
 * Fills template `t' into out[0..sz), drawing from *s; the first letter
 * upper case when `cap'. -1 on an unknown slot (a bug in the tables).
 */
static int
expand(const char *t, uint64_t *s, bool cap, char *out, size_t sz)
{
	const char	*p, *end, *w;
	char		 num[16];
	size_t		 off = 0;

	out[0] = '\0';
	for (p = t; *p != '\0'; p = end) {
		if (*p != '{') {
			end = p + strcspn(p, "{");
			put(out, sz, &off, p, (size_t)(end - p));
			continue;
		}
		if ((end = strchr(p, '}')) == NULL)
			return -1;
		if ((w = slot(p + 1, (size_t)(end - p - 1), s, num,
		    sizeof(num))) == NULL)
			return -1;
		put(out, sz, &off, w, strlen(w));
		end++;
	}
	if (cap)
		out[0] = (char)toupper((unsigned char)out[0]);
	return 0;
}

struct user {
	char		 id[40];
	long		 count;
	long		 done;		/* memories written so far */
	uint64_t	 rng;
	bool		 needles;
};

struct gen {
	struct user	 users[MEMSEED_USERS_MAX];
	size_t		 nusers;
	long		 total;
	long		 left;
	long		 id;		/* the last id given */
	uint64_t	 rng;		/* interleaving */
};

/* One memory. */
struct mem {
	long		 id;
	struct user	*user;
	char		 content[MEMSEED_TEXT_MAX];
	char		 subject[64];
	long		 age;
	size_t		 needle;	/* 1..MEMSEED_NEEDLES, 0 for none */
};

static void
user_id(char *out, size_t sz, size_t n)
{
	snprintf(out, sz, "00000000-0000-4000-b000-%012zu", n);
}

static void
gen_init(struct gen *g, char *const counts[], size_t n)
{
	size_t	 i;

	memset(g, 0, sizeof(*g));
	g->nusers = n;
	g->rng = rnd_seed(0);
	for (i = 0; i < n; i++) {
		user_id(g->users[i].id, sizeof(g->users[i].id), i + 1);
		g->users[i].count = strtol(counts[i], NULL, 10);
		g->users[i].rng = rnd_seed(i + 1);
		g->users[i].needles = i < MEMSEED_NEEDLE_USERS &&
		    g->users[i].count >= (long)MEMSEED_NEEDLES;
		g->total += g->users[i].count;
	}
	g->left = g->total;
}

/* The needle (1-based) at a user's place `seq', 0 for none: spread
 * evenly, the first half a stride in. */
static size_t
needle_at(const struct user *u, long seq)
{
	long	 stride;

	if (!u->needles)
		return 0;
	stride = u->count / (long)MEMSEED_NEEDLES;
	if (seq % stride != stride / 2 || seq / stride >= (long)MEMSEED_NEEDLES)
		return 0;
	return (size_t)(seq / stride) + 1;
}

/*
 * "note:" and the first three words, lower case: lib/memory.c's subject
 * of a text that states no first-person fact, as these do not.
 */
static void
subject_set(const char *content, char *out, size_t sz)
{
	size_t	 off, words = 0;
	const char *p;

	snprintf(out, sz, "note:");
	off = strlen(out);
	for (p = content; *p != '\0' && off < sz - 1; p++) {
		if (*p == ' ' && ++words == 3)
			break;
		out[off++] = (char)tolower((unsigned char)*p);
	}
	out[off] = '\0';
}

/*
 * The next memory in id order: its user is drawn in proportion to what
 * each has left, so every user gets exactly its count and the users mix.
 * 0, or -1 when all are written (or on a bug in the tables).
 */
static int
gen_next(struct gen *g, struct mem *m)
{
	struct user	*u = NULL;
	uint64_t	 r;
	size_t		 i;
	long		 seq;

	if (g->left == 0)
		return -1;
	r = rnd(&g->rng) % (uint64_t)g->left;
	for (i = 0; i < g->nusers; i++) {
		u = &g->users[i];
		if (r < (uint64_t)(u->count - u->done))
			break;
		r -= (uint64_t)(u->count - u->done);
	}
	seq = u->done++;
	m->id = ++g->id;
	m->user = u;
	/* Ids grow with time: the last memory is the newest. */
	m->age = (long)((double)MEMSEED_SPAN * (double)g->left /
	    (double)g->total);
	g->left--;
	if ((m->needle = needle_at(u, seq)) > 0)
		snprintf(m->content, sizeof(m->content), "%s",
		    needles[m->needle - 1].content);
	else if (expand(templates[rnd(&u->rng) % NITEMS(templates)], &u->rng,
	    true, m->content, sizeof(m->content)) == -1)
		return -1;
	subject_set(m->content, m->subject, sizeof(m->subject));
	return 0;
}

/* ------------------------------------------------------------ checks */

/* Does any word of `text' (outside {slots}) start with `key'? */
static bool
has_key(const char *text, const char *key, size_t keylen)
{
	const char	*p = text;
	size_t		 i;

	while (*p != '\0') {
		if (*p == '{') {
			p += strcspn(p, "}");
			continue;
		}
		if (!isalnum((unsigned char)*p)) {
			p++;
			continue;
		}
		for (i = 0; i < keylen && p[i] != '\0' &&
		    tolower((unsigned char)p[i]) == key[i]; i++)
			;
		if (i == keylen)
			return true;
		while (isalnum((unsigned char)*p))
			p++;
	}
	return false;
}

/* Where a key appears in the haystack's vocabulary; NULL when nowhere. */
static const char *
key_found(const char *key, size_t len)
{
	size_t	 i, j;

	for (i = 0; i < NITEMS(templates); i++)
		if (has_key(templates[i], key, len))
			return templates[i];
	for (i = 0; i < NITEMS(wlists); i++)
		for (j = 0; j < wlists[i].n; j++)
			if (has_key(wlists[i].w[j], key, len))
				return wlists[i].w[j];
	return NULL;
}

/* Does a string need escaping in COPY text or JSON? */
static bool
unsafe(const char *s)
{
	return strpbrk(s, "\t\n\r\\\"") != NULL;
}

/*
 * The tables' own invariants: no needle key in the haystack's words, and
 * nothing that COPY text or a JSON string would need escaped (the bench
 * script writes the questions into JSON as they are).
 */
static int
tables_check(void)
{
	const char	*k, *where;
	size_t		 i, j, len;
	int		 rc = 0;

	for (i = 0; i < MEMSEED_NEEDLES; i++) {
		if (unsafe(needles[i].content) || unsafe(needles[i].question))
			rc = -1;
		for (k = needles[i].keys; *k != '\0'; k += len) {
			k += strspn(k, " ");
			len = strcspn(k, " ");
			if (len > 0 && (where = key_found(k, len)) != NULL) {
				fprintf(stderr, "memseed: needle %zu's key "
				    "%.*s is in \"%s\"\n", i + 1, (int)len, k,
				    where);
				rc = -1;
			}
		}
	}
	for (i = 0; i < NITEMS(templates); i++)
		if (unsafe(templates[i]))
			rc = -1;
	for (i = 0; i < NITEMS(qtemplates); i++)
		if (unsafe(qtemplates[i]))
			rc = -1;
	for (i = 0; i < NITEMS(wlists); i++)
		for (j = 0; j < wlists[i].n; j++)
			if (unsafe(wlists[i].w[j]))
				rc = -1;
	if (rc == -1)
		fprintf(stderr, "memseed: the tables are inconsistent\n");
	return rc;
}

/* ------------------------------------------------------------ data */

enum table {
	T_USERS,
	T_MEMORIES,
	T_VECTORS,
	T_BUCKETS,
	T_NEEDLES,
	T_QUESTIONS,
};

static const char *const table_names[] = { "users", "memories", "vectors",
	"buckets", "needles", "questions", NULL };

static int
table_find(const char *name, enum table *t)
{
	size_t	 i;

	for (i = 0; table_names[i] != NULL; i++)
		if (strcmp(table_names[i], name) == 0) {
			*t = (enum table)i;
			return 0;
		}
	return -1;
}

/* A memory's vector or buckets row(s). */
static int
embed_rows(struct arena *ar, enum table t, const struct mem *m)
{
	float		 v[EMBED_DIM];
	int32_t		 keys[EMBED_LSH_TABLES];
	const char	*pg;
	size_t		 n, i;

	(void)embed_builtin(m->content, strlen(m->content), v, EMBED_DIM);
	if (t == T_VECTORS) {
		if ((pg = embed_to_pg(ar, v, EMBED_DIM)) == NULL)
			return -1;
		printf("%ld\t%s\n", m->id, pg);
		arena_reset(ar);
		return 0;
	}
	n = embed_lsh(v, EMBED_DIM, keys);
	for (i = 0; i < n; i++)
		printf("%s\t%" PRId32 "\t%ld\n", m->user->id, keys[i], m->id);
	return 0;
}

/* The memories and what derives from them, in id order. */
static int
memories_write(struct gen *g, enum table t)
{
	struct arena	*ar;
	struct mem	 m;
	int		 rc = 0;

	if ((ar = arena_create(1 << 14)) == NULL)
		return -1;
	while (rc == 0 && gen_next(g, &m) == 0) {
		switch (t) {
		case T_MEMORIES:
			printf("%ld\t%s\t%s\t%s\t%s\t%d\t%ld\n", m.id,
			    m.user->id, m.content, m.subject,
			    RECALL_BUILTIN_MODEL, EMBED_DIM, m.age);
			break;
		case T_NEEDLES:
			if (m.needle > 0)
				printf("%zu\t%s\t%ld\t%s\t%s\n", m.needle,
				    m.user->id, m.id, m.content,
				    needles[m.needle - 1].question);
			break;
		default:
			rc = embed_rows(ar, t, &m);
			break;
		}
	}
	arena_destroy(ar);
	/* gen_next() stops early only on a template bug. */
	return rc == 0 && g->left == 0 ? 0 : -1;
}

/* Every fifth question is a needle's, the others from qtemplates. */
static int
questions_write(void)
{
	uint64_t	 s = rnd_seed(1000);
	char		 q[MEMSEED_TEXT_MAX];
	size_t		 i, k = 0;

	for (i = 0; i < MEMSEED_QUESTIONS; i++) {
		if (i % 5 == 0 && k < MEMSEED_NEEDLES) {
			printf("%zu\t%s\n", k + 1, needles[k].question);
			k++;
			continue;
		}
		if (expand(qtemplates[rnd(&s) % NITEMS(qtemplates)], &s, false,
		    q, sizeof(q)) == -1)
			return -1;
		printf("0\t%s\n", q);
	}
	return 0;
}

static int
data_main(int argc, char *argv[])
{
	struct gen	*g;
	enum table	 t;
	size_t		 i;
	int		 rc;
	char		*end;

	if (argc < 2 || table_find(argv[0], &t) == -1 ||
	    (size_t)(argc - 1) > MEMSEED_USERS_MAX)
		return -2;
	for (i = 1; i < (size_t)argc; i++) {
		errno = 0;
		if (strtol(argv[i], &end, 10) < 1 || *end != '\0' || errno != 0)
			return -2;
	}
	if (tables_check() == -1)
		return -1;
	if ((g = malloc(sizeof(*g))) == NULL)
		return -1;
	gen_init(g, argv + 1, (size_t)(argc - 1));
	switch (t) {
	case T_USERS:
		for (i = 0; i < g->nusers; i++)
			printf("%s\tbench_memory_%zu\n", g->users[i].id, i + 1);
		rc = 0;
		break;
	case T_QUESTIONS:
		rc = questions_write();
		break;
	default:
		rc = memories_write(g, t);
		break;
	}
	free(g);
	if (fflush(stdout) == EOF || ferror(stdout))
		rc = -1;
	return rc;
}

/* ------------------------------------------------------------ exact */

static const char exact_sql[] =
    "SELECT v.memory_id, v.embedding FROM memories m "
    "JOIN memory_vectors v ON v.memory_id = m.id "
    "WHERE m.user_id = $1 AND m.embed_model = $2";

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint32_t
be32(const unsigned char *p)
{
	uint32_t	 x;

	memcpy(&x, p, sizeof(x));
	return ntohl(x);
}

/*
 * A float4[] in PostgreSQL's binary array format: ndim, has-null flag,
 * element type, then per dimension its size and lower bound, then each
 * element as its length and its bytes (network order). -1 unless it is
 * one dimension of exactly `dim' non-null floats.
 */
static int
vec_read(const unsigned char *p, size_t len, float *out, size_t dim)
{
	uint32_t	 bits;
	size_t		 i;

	if (len != 20 + dim * 8 || be32(p) != 1 || be32(p + 12) != dim)
		return -1;
	for (i = 0, p += 20; i < dim; i++, p += 8) {
		if (be32(p) != 4)
			return -1;
		bits = be32(p + 4);
		memcpy(&out[i], &bits, sizeof(bits));
	}
	return 0;
}

struct best {
	int64_t	 id;
	float	 cos;
};

/* Keeps b[0..MEMSEED_TOPK) sorted, best first (ties: higher id). */
static void
best_add(struct best *b, size_t *n, int64_t id, float cos)
{
	size_t	 i;

	if (*n == MEMSEED_TOPK && (cos < b[*n - 1].cos ||
	    (cos == b[*n - 1].cos && id < b[*n - 1].id)))
		return;
	if (*n < MEMSEED_TOPK)
		(*n)++;
	for (i = *n - 1; i > 0 && (cos > b[i - 1].cos ||
	    (cos == b[i - 1].cos && id > b[i - 1].id)); i--)
		b[i] = b[i - 1];
	b[i].id = id;
	b[i].cos = cos;
}

/* One question: its top K over all of the user's vectors, printed. */
static int
exact_one(PGconn *conn, const char *user, const char *q)
{
	const char	*p[2] = { user, RECALL_BUILTIN_MODEL };
	struct best	 b[MEMSEED_TOPK];
	PGresult	*r;
	float		 qv[EMBED_DIM], v[EMBED_DIM];
	double		 t0, t1, t2;
	size_t		 nb = 0, i;
	int		 rows, row, rc = -1;

	t0 = now_ms();
	(void)embed_builtin(q, strlen(q), qv, EMBED_DIM);
	r = PQexecPrepared(conn, "exact", 2, p, NULL, NULL, 1);
	t1 = now_ms();
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "memseed: %s", PQerrorMessage(conn));
		goto out;
	}
	rows = PQntuples(r);
	for (row = 0; row < rows; row++) {
		if (PQgetlength(r, row, 0) != 8 ||
		    vec_read((const unsigned char *)PQgetvalue(r, row, 1),
		    (size_t)PQgetlength(r, row, 1), v, EMBED_DIM) == -1) {
			fprintf(stderr, "memseed: row %d: not a bigint and a "
			    "float4[%d]\n", row, EMBED_DIM);
			goto out;
		}
		best_add(b, &nb, (int64_t)(((uint64_t)be32((const unsigned
		    char *)PQgetvalue(r, row, 0)) << 32) | be32((const
		    unsigned char *)PQgetvalue(r, row, 0) + 4)),
		    embed_cosine(qv, v, EMBED_DIM));
	}
	t2 = now_ms();
	printf("%.3f %.3f %d", t2 - t0, t1 - t0, rows);
	for (i = 0; i < nb; i++)
		printf(" %" PRId64, b[i].id);
	printf("\n");
	rc = fflush(stdout) == EOF ? -1 : 0;
out:
	PQclear(r);
	return rc;
}

static int
exact_main(int argc, char *argv[])
{
	PGconn		*conn;
	PGresult	*r;
	char		 line[4096];
	size_t		 len;
	int		 rc = -1;

	if (argc != 2)
		return -2;
	conn = PQconnectdb(argv[0]);
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "memseed: %s", PQerrorMessage(conn));
		goto out;
	}
	r = PQprepare(conn, "exact", exact_sql, 2, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "memseed: %s", PQerrorMessage(conn));
		PQclear(r);
		goto out;
	}
	PQclear(r);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		len = strcspn(line, "\r\n");
		line[len] = '\0';
		if (exact_one(conn, argv[1], line) == -1)
			goto out;
	}
	rc = ferror(stdin) ? -1 : 0;
out:
	PQfinish(conn);
	return rc;
}

/* ------------------------------------------------------------ main */

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: memseed data "
	    "users|memories|vectors|buckets|needles|questions COUNT...\n"
	    "       memseed exact CONNINFO USER_ID < questions\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	int	 rc;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "data") == 0)
		rc = data_main(argc - 2, argv + 2);
	else if (strcmp(argv[1], "exact") == 0)
		rc = exact_main(argc - 2, argv + 2);
	else
		rc = -2;
	if (rc == -2)
		usage();
	return rc == 0 ? 0 : 1;
}
