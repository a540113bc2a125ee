/*
 * tasks.h: a user's tasks: the rules, the SQL, and the HTTP routes.
 *
 * The C API acts as a given user and is what both the HTTP handlers and
 * the assistant's tools call: input is checked by tasks_input_parse()
 * (the same JSON a request body or a tool call carries), output is the
 * JSON text of the API, built by PostgreSQL (api_task() in
 * sql/003_tasks.sql) and copied into the caller's arena. Every statement
 * filters on the user's id, so another user's task is simply not found.
 */
#ifndef QUIPU_TASKS_H
#define QUIPU_TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apperr.h"

struct arena;
struct db_pool;
struct http_request;
struct http_response;
struct json_object;
struct jsonx_errors;

#define TASK_TITLE_MAX		255	/* characters */
#define TASK_DESCRIPTION_MAX	2000
#define TASK_TAGS_MAX		20
#define TASK_TAG_MAX		50
#define TASK_LIST_DEFAULT	50
#define TASK_LIST_MAX		100
#define TASK_OFFSET_MAX		1000000
#define TASK_BULK_MAX		100
#define TASK_IDEM_KEY_MAX	255

/* Fields present in a struct task_input. */
#define TASK_F_TITLE		0x01
#define TASK_F_DESCRIPTION	0x02
#define TASK_F_PRIORITY		0x04
#define TASK_F_DUE_AT		0x08
#define TASK_F_TAGS		0x10
#define TASK_F_COMPLETED	0x20
#define TASK_F_EDITABLE		0x1f	/* all but completed */

/*
 * The writable fields of a task. Strings are arena copies, already
 * checked and normalised: title trimmed, "" description as NULL, due_at
 * as RFC 3339 UTC text, tags trimmed without repeats.
 */
struct task_input {
	unsigned	  set;		/* TASK_F_* given */
	const char	 *title;
	const char	 *description;	/* NULL: null */
	const char	 *priority;	/* "none", "low", "medium", "high" */
	const char	 *due_at;	/* NULL: null */
	const char	**tags;		/* NULL-terminated */
	size_t		  ntags;
	bool		  completed;
};

enum task_mode {
	TASK_CREATE,	/* title required, absent fields take defaults */
	TASK_REPLACE,	/* PUT: the same; completed only when given */
	TASK_PATCH	/* only the fields given */
};

/*
 * Reads a task from a JSON object into `in' (zeroed first) under the
 * rules of `mode'; problems go to `errs' (see jsonx.h), and unknown
 * members are refused ("is not a task field"), read-only ones ignored.
 */
void		 tasks_input_parse(struct json_object *, enum task_mode,
		    struct task_input *in, struct jsonx_errors *errs);

enum task_status { TASK_ALL, TASK_PENDING, TASK_COMPLETED };
enum task_sort {
	TASK_SORT_CREATED, TASK_SORT_UPDATED, TASK_SORT_DUE,
	TASK_SORT_PRIORITY, TASK_SORT_TITLE
};

/* What a list asks for. NULL strings filter nothing. */
struct task_filter {
	enum task_status	 status;
	const char		*q;		/* words, each a prefix */
	const char		*tag;
	const char		*due_before;	/* RFC 3339 */
	const char		*due_after;
	enum task_sort		 sort;
	bool			 asc;
	int			 limit;
	int			 offset;
};

/* The defaults: all, newest first, TASK_LIST_DEFAULT from 0. */
void		 tasks_filter_init(struct task_filter *);
#define TASK_TOOL_LIST_DEFAULT	20
/*
 * A filter from a JSON object (the list_tasks tool's arguments): status,
 * q, tag, due_before, due_after, sort, order, limit (default
 * TASK_TOOL_LIST_DEFAULT); problems go to `errs'.
 */
void		 tasks_filter_parse(struct json_object *, struct task_filter *,
		    struct jsonx_errors *errs);
/*
 * Member "ids" of `obj': 1..TASK_BULK_MAX task ids into *ids (arena),
 * *n of them; problems go to `errs'.
 */
void		 tasks_ids_parse(struct json_object *, struct arena *,
		    int64_t **ids, size_t *n, struct jsonx_errors *errs);

enum task_bulk_action { TASK_BULK_COMPLETE, TASK_BULK_UNCOMPLETE,
	TASK_BULK_DELETE };

/* The optional Idempotency-Key of a create. */
struct task_idem {
	const char	*key;
	unsigned char	 hash[32];	/* SHA-256 of the request body */
};

/*
 * The C API. Each returns APP_OK with the JSON text in *json (arena), or
 * APP_ENOTFOUND when the task is not the user's, or a database error.
 */
/*
 * Creates a task; *id is its id. With `idem', a key seen before with the
 * same hash answers the first task again, as it was then (*replayed
 * true), one seen with another hash APP_ECONFLICT.
 */
enum app_err	 tasks_create(struct db_pool *, struct arena *,
		    const char *user_id, const struct task_input *,
		    const struct task_idem *idem, int64_t *id, char **json,
		    bool *replayed) MUSTCHECK;
/* {"items":[...],"total":N,"limit":L,"offset":O} */
enum app_err	 tasks_list(struct db_pool *, struct arena *,
		    const char *user_id, const struct task_filter *,
		    char **json) MUSTCHECK;
enum app_err	 tasks_get(struct db_pool *, struct arena *,
		    const char *user_id, int64_t id, char **json) MUSTCHECK;
/* Changes the fields in in->set (none: answers the task as it is). */
enum app_err	 tasks_update(struct db_pool *, struct arena *,
		    const char *user_id, int64_t id, const struct task_input *,
		    char **json) MUSTCHECK;
/* completed: 1 or 0 sets, -1 toggles. */
enum app_err	 tasks_complete(struct db_pool *, struct arena *,
		    const char *user_id, int64_t id, int completed,
		    char **json) MUSTCHECK;
enum app_err	 tasks_delete(struct db_pool *, const char *user_id,
		    int64_t id) MUSTCHECK;
/*
 * Applies `action' to the distinct ids, all or nothing. *json is
 * {"affected":n,"ids":[...]}; on APP_ENOTFOUND *missing is the JSON
 * array of the ids that are not the user's (and nothing changed).
 */
enum app_err	 tasks_bulk(struct db_pool *, struct arena *,
		    const char *user_id, enum task_bulk_action,
		    const int64_t *ids, size_t nids, char **json,
		    char **missing) MUSTCHECK;

#define TASK_SQL_MAX	1024	/* room for the longest list statement */

/*
 * The statement tasks_list() runs for `f' into sql[TASK_SQL_MAX], and its
 * parameters into p[TASK_PARAMS_MAX] (*np of them): the user, qts (the
 * tsquery text of q=, or NULL for none), the filters, then slimit and
 * soffset. p[0], the user, is the caller's to set. Public so that tests
 * and benchmarks run the very same text.
 */
#define TASK_PARAMS_MAX	12
enum app_err	 tasks_list_sql(const struct task_filter *f, const char *qts,
		    const char *slimit, const char *soffset, char *sql,
		    const char **p, int *np) MUSTCHECK;

/* A task id from a path segment or text; false unless 1..INT64_MAX. */
bool		 tasks_parse_id(const char *, int64_t *out);

/* Route handlers (ROUTE_AUTH or ROUTE_USER_PATH; params[0] = task id). */
enum app_err	 tasks_http_list(struct http_request *, struct http_response *);
enum app_err	 tasks_http_create(struct http_request *,
		    struct http_response *);
enum app_err	 tasks_http_get(struct http_request *, struct http_response *);
enum app_err	 tasks_http_replace(struct http_request *,
		    struct http_response *);
enum app_err	 tasks_http_patch(struct http_request *,
		    struct http_response *);
enum app_err	 tasks_http_complete(struct http_request *,
		    struct http_response *);
enum app_err	 tasks_http_delete(struct http_request *,
		    struct http_response *);
enum app_err	 tasks_http_bulk(struct http_request *, struct http_response *);

#endif
