/*
 * log.c: the error log (text lines) and the access log (JSON lines).
 *
 * Each line is formatted in a local buffer and written with one write(2)
 * to a file opened O_APPEND, so lines from many threads and processes do
 * not interleave. Reopening (SIGUSR1) dup2()s a fresh descriptor over the
 * old number, so writers never see a closed descriptor.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define LOG_LINE_MAX	4096

enum log_level			 log_threshold = LOG_LEVEL_INFO;

static int			 log_fd = STDERR_FILENO;
static int			 access_fd = STDERR_FILENO;
static char			 log_path[1024];
static char			 access_path[1024];
static _Thread_local const char	*log_rid;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	 i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	return -1;
}

/* Opens `path' onto `*fd' (keeping the number when it is already a file). */
static int
log_open_one(const char *path, int *fd)
{
	int	 nfd;

	if (path[0] == '\0') {
		*fd = STDERR_FILENO;
		return 0;
	}
	if (strcmp(path, "off") == 0) {
		*fd = -1;
		return 0;
	}
	nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (nfd == -1)
		return -1;
	if (*fd > STDERR_FILENO) {
		if (dup2(nfd, *fd) == -1) {
			close(nfd);
			return -1;
		}
		close(nfd);
		return 0;
	}
	*fd = nfd;
	return 0;
}

int
log_open(const char *path, const char *access)
{
	snprintf(log_path, sizeof(log_path), "%s", path ? path : "");
	snprintf(access_path, sizeof(access_path), "%s", access ? access : "");
	if (strcmp(log_path, "off") == 0)
		log_path[0] = '\0';	/* errors are never thrown away */
	if (log_open_one(log_path, &log_fd) == -1)
		return -1;
	return log_open_one(access_path, &access_fd);
}

int
log_reopen(void)
{
	int	 a, b, saved;

	a = log_open_one(log_path, &log_fd);
	saved = errno;
	b = log_open_one(access_path, &access_fd);
	if (a == -1)
		errno = saved;
	return a == -1 || b == -1 ? -1 : 0;
}

int
log_chown(unsigned uid, unsigned gid)
{
	if (log_fd > STDERR_FILENO &&
	    fchown(log_fd, (uid_t)uid, (gid_t)gid) == -1)
		return -1;
	if (access_fd > STDERR_FILENO &&
	    fchown(access_fd, (uid_t)uid, (gid_t)gid) == -1)
		return -1;
	return 0;
}

void
log_close(void)
{
	if (log_fd > STDERR_FILENO)
		close(log_fd);
	if (access_fd > STDERR_FILENO)
		close(access_fd);
	log_fd = access_fd = STDERR_FILENO;
}

void
log_set_request_id(const char *rid)
{
	log_rid = rid;
}

void
log_escape(char *out, size_t outlen, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 o = 0;
	unsigned char	 c;

	if (outlen == 0)
		return;
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c >= 0x20 && c != 0x7f && c != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
			continue;
		}
		if (o + 4 >= outlen)
			break;
		out[o++] = '\\';
		if (c == '\\')
			out[o++] = '\\';
		else if (c == '\n')
			out[o++] = 'n';
		else if (c == '\t')
			out[o++] = 't';
		else {
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
}

static void
log_write(int fd, const char *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void	log_vline(enum log_level, int, const char *, va_list)
	    __attribute__((format(printf, 3, 0)));

static void
log_vline(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	char	 msg[LOG_LINE_MAX], esc[LOG_LINE_MAX], line[LOG_LINE_MAX + 256];
	char	 when[CLOCK_RFC3339_LEN], rid[96];
	int	 n;

	if (lvl > log_threshold)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_escape(esc, sizeof(esc), msg);
	clock_now_rfc3339(when);
	rid[0] = '\0';
	if (log_rid != NULL) {
		char erid[64];

		log_escape(erid, sizeof(erid), log_rid);
		snprintf(rid, sizeof(rid), " rid=%s", erid);
	}
	if (errnum != 0)
		n = snprintf(line, sizeof(line), "%s [%s] pid=%d%s %s: %s\n",
		    when, log_names[lvl], (int)getpid(), rid, esc,
		    strerror(errnum));
	else
		n = snprintf(line, sizeof(line), "%s [%s] pid=%d%s %s\n",
		    when, log_names[lvl], (int)getpid(), rid, esc);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	log_write(log_fd, line, (size_t)n);
}

#define LOG_FN(name, lvl, with_errno)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	 ap;							\
	int	 saved = errno;						\
									\
	va_start(ap, fmt);						\
	log_vline(lvl, with_errno ? saved : 0, fmt, ap);		\
	va_end(ap);							\
	errno = saved;							\
}

LOG_FN(log_err, LOG_LEVEL_ERROR, 1)
LOG_FN(log_errx, LOG_LEVEL_ERROR, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug_, LOG_LEVEL_DEBUG, 0)

/* Appends `s' as a JSON string (with quotes) to buf at *off. */
static void
log_json_str(char *buf, size_t len, size_t *off, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 c;
	size_t		 n = 0;

	if (*off + 2 >= len)
		return;
	if (s == NULL) {
		if (*off + 5 < len) {
			memcpy(buf + *off, "null", 4);
			*off += 4;
		}
		return;
	}
	buf[(*off)++] = '"';
	/* At most 1024 input bytes: a line stays far below its buffer. */
	for (; (c = (unsigned char)*s) != '\0' && *off + 8 < len &&
	    n++ < 1024; s++) {
		if (c == '"' || c == '\\') {
			buf[(*off)++] = '\\';
			buf[(*off)++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(buf + *off, "\\u00", 4);
			*off += 4;
			buf[(*off)++] = hex[c >> 4];
			buf[(*off)++] = hex[c & 0xf];
		} else
			buf[(*off)++] = (char)c;
	}
	buf[(*off)++] = '"';
}

static void
log_json_raw(char *buf, size_t len, size_t *off, const char *s)
{
	size_t	 n = strlen(s);

	if (*off + n >= len)
		return;
	memcpy(buf + *off, s, n);
	*off += n;
}

void
log_access(const struct log_access *a)
{
	char	 line[4 * LOG_LINE_MAX], when[CLOCK_RFC3339_LEN], num[96];
	size_t	 off = 0;

	if (access_fd == -1)
		return;
	clock_now_rfc3339(when);
	log_json_raw(line, sizeof(line), &off, "{\"time\":");
	log_json_str(line, sizeof(line), &off, when);
	log_json_raw(line, sizeof(line), &off, ",\"request_id\":");
	log_json_str(line, sizeof(line), &off, a->request_id);
	log_json_raw(line, sizeof(line), &off, ",\"method\":");
	log_json_str(line, sizeof(line), &off, a->method);
	log_json_raw(line, sizeof(line), &off, ",\"path\":");
	log_json_str(line, sizeof(line), &off, a->path);
	log_json_raw(line, sizeof(line), &off, ",\"route\":");
	log_json_str(line, sizeof(line), &off, a->route);
	snprintf(num, sizeof(num), ",\"status\":%d,\"duration_ms\":%.3f"
	    ",\"bytes\":%llu,\"pid\":%d,\"user\":", a->status,
	    (double)a->duration_us / 1000.0, (unsigned long long)a->bytes,
	    (int)getpid());
	log_json_raw(line, sizeof(line), &off, num);
	log_json_str(line, sizeof(line), &off, a->user_id);
	log_json_raw(line, sizeof(line), &off, ",\"remote\":");
	log_json_str(line, sizeof(line), &off, a->remote_addr);
	log_json_raw(line, sizeof(line), &off, "}\n");
	log_write(access_fd, line, off);
}
