/*
 * log.h: the error log and the access log.
 *
 * OpenBSD names: log_warn() appends strerror(errno), log_warnx() does not.
 * Every line carries time, level, pid and the request id of the calling
 * thread when it serves one. Control characters in messages are escaped so
 * request data cannot forge log lines. Debug costs nothing when off.
 * Never pass a password, token, cookie or SQL parameter to these.
 */
#ifndef QUIPU_LOG_H
#define QUIPU_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

extern enum log_level log_threshold;

/* Parses "error", "warn", "info", "debug". -1 if unknown. */
int	 log_level_parse(const char *, enum log_level *);
/*
 * Opens the error log at `path' ("" or NULL: stderr) and the access log at
 * `access' ("" or NULL: stderr, "off": none). -1 with errno on failure.
 */
int	 log_open(const char *path, const char *access);
/*
 * Reopens both files (SIGUSR1, after logrotate). Each is tried even when
 * the other fails; -1 with errno when either failed.
 */
int	 log_reopen(void);
/*
 * Hands the open log files to the user the process is about to become, so
 * that after privileges are dropped a reopen can still write to them.
 */
int	 log_chown(unsigned uid, unsigned gid);
void	 log_close(void);
/* The request id shown on this thread's lines (NULL to clear). */
void	 log_set_request_id(const char *);

void	 log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug_(const char *, ...) __attribute__((format(printf, 1, 2)));
#define log_debug(...) do {						\
	if (log_threshold >= LOG_LEVEL_DEBUG)				\
		log_debug_(__VA_ARGS__);				\
} while (0)

struct log_access {
	const char	*request_id;
	const char	*method;
	const char	*path;		/* without the query string */
	const char	*route;
	int		 status;
	uint64_t	 duration_us;
	uint64_t	 bytes;
	const char	*user_id;	/* NULL when anonymous */
	const char	*remote_addr;
};

/* One JSON line in the access log. */
void	 log_access(const struct log_access *);

/* Writes `s' to `out' (size `outlen') with control characters escaped. */
void	 log_escape(char *out, size_t outlen, const char *s);

#endif
