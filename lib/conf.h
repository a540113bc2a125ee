/*
 * conf.h: quipu's configuration, driven by one table.
 *
 * Each key has a type, a default, a range and flags. The file parser, the
 * QUIPU_<KEY> environment overrides, `quipu-fcgi -t', the reload rules and
 * the documented example (conf/quipu.conf.example) all walk conf_keys[], so
 * they cannot drift apart (PgBouncer's bouncer_params, Redis's configs).
 *
 * File syntax: one "key = value" per line; '#' starts a comment; blank
 * lines are ignored; values may be wrapped in double quotes.
 */
#ifndef QUIPU_CONF_H
#define QUIPU_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct conf {
	/* Process and socket. */
	char	*listen;
	int	 listen_backlog;
	char	*listen_mode;		/* octal, for a unix socket */
	char	*user;			/* drop to this user when root */
	char	*group;
	char	*pid_file;
	int	 workers;		/* 0: one per CPU */
	int	 threads;
	int	 max_requests;
	int	 shutdown_timeout;
	int	 request_timeout;
	int	 slow_request_timeout;
	long	 max_body;
	/* Logging. */
	char	*log_level;
	char	*error_log;		/* "" = stderr */
	char	*access_log;		/* "" = stderr, "off" = none */
	/* Database. */
	char	*database_url;
	int	 db_pool_size;
	int	 db_statement_timeout;	/* milliseconds */
	int	 db_connect_timeout;	/* seconds */
	bool	 db_prepare;		/* prepare statements per connection */
	char	*sql_dir;
	/* Auth. */
	char	*jwt_secret_file;
	char	*jwt_secret;
	char	*jwt_previous_secret_file;
	char	*jwt_previous_secret;
	int	 access_token_ttl;
	int	 refresh_token_ttl;
	bool	 cookie_secure;
	char	*allowed_origins;
	int	 login_max_failures;
	int	 login_failure_window;
	int	 register_max_per_hour;
	int	 password_hash_concurrency;
	/* LLM and memory. */
	char	*llm_provider;
	char	*llm_base_url;
	char	*llm_api_key_file;
	char	*llm_api_key;
	char	*llm_model;
	int	 llm_timeout;
	int	 llm_connect_timeout;
	int	 llm_retries;
	int	 llm_max_response;
	int	 llm_builtin_delay;
	bool	 llm_vision;		/* the model reads images */
	char	*transcribe_model;	/* "" = no input.transcribe */
	int	 sse_heartbeat;
	int	 max_tool_rounds;
	char	*embedding_provider;
	char	*embedding_model;
	int	 messages_per_day;
	/* ChatKit: attachments and the browser's tools. */
	char	*public_url;		/* "" = from the request's Host */
	long	 attachment_max;	/* bytes */
	char	*client_tools;		/* comma-separated tool names */
	/* Development and tests. */
	bool	 test_routes;
	/*
	 * Not keys: the JWT keys conf_load() read (jwt_secret or the file
	 * named by jwt_secret_file; likewise the previous one), malloc'd,
	 * wiped by conf_free(). jwt_previous_key_len is 0 when there is none.
	 */
	unsigned char	*jwt_key;
	size_t		 jwt_key_len;
	unsigned char	*jwt_previous_key;
	size_t		 jwt_previous_key_len;
	/* The model's API key (llm_api_key or the file), or NULL. */
	char		*llm_key;
};

#define CONF_LLM_KEY_MAX	4096

enum conf_type {
	CONF_STR,
	CONF_INT,
	CONF_LONG,
	CONF_BOOL
};

#define CONF_RESTART	0x01	/* a reload keeps the old value */
#define CONF_SECRET	0x02	/* never printed */

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;
	const char	*def;
	long		 min;		/* for numbers */
	long		 max;
	unsigned	 flags;
	const char	*doc;		/* one line for the example file */
};

extern const struct conf_key	conf_keys[];
extern const size_t		conf_nkeys;

/* Fills `c' with the defaults. -1 on ENOMEM. */
int	 conf_init(struct conf *c);
/* Frees the strings of `c' (not `c' itself). */
void	 conf_free(struct conf *c);
/*
 * Sets one key from text, checking type and range. On failure returns -1
 * and writes a sentence to `err'.
 */
int	 conf_set(struct conf *c, const char *key, const char *value,
	    char *err, size_t errlen);
/*
 * Defaults, then `path' (NULL or a missing default path is allowed when
 * `must_exist' is false), then QUIPU_* environment variables. Checks
 * cross-key rules. -1 with a sentence in `err' (naming the line) on error.
 */
int	 conf_load(struct conf *c, const char *path, bool must_exist,
	    char *err, size_t errlen);
/* Prints every key and its value, secrets masked ("-t -v"). */
void	 conf_dump(const struct conf *c, FILE *f);
/* Prints a documented example file from the table. */
void	 conf_write_example(FILE *f);
/*
 * For a reload: copies into `next' the old values of CONF_RESTART keys
 * that changed, and reports each through `warn' (may be NULL).
 */
void	 conf_keep_restart_keys(struct conf *next, const struct conf *old,
	    void (*warn)(const char *key));
/* The number of workers to run: `workers', or the CPU count when 0. */
int	 conf_workers(const struct conf *c);

#endif
