/*
 * test_systemd.c: what systemd sees of quipu. The socket comes from socket
 * activation (LISTEN_FDS, as quipu.socket hands it over), and the master
 * reports READY, RELOADING, STOPPING, STATUS and watchdog pings on
 * NOTIFY_SOCKET, as quipu.service (Type=notify) expects. Last, the same
 * socket on fd 0, as spawn-fcgi passes it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static struct harness	 H;
static int		 notify_fd = -1;
static ino_t		 sock_ino;

/* A unix socket at `path' of `type', bound and world-writable. */
static int
unix_socket(const char *path, int type)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memcpy(sun.sun_path, path, strlen(path));
	(void)unlink(path);
	/* quipu's master runs as nobody once it has dropped root. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0666) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 128) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Before the stack starts: the notify socket and the activated socket. */
static int
prepare(struct harness *h)
{
	char		 path[HARNESS_PATH + 16];
	struct stat	 st;

	snprintf(path, sizeof(path), "%s/notify.sock", h->dir);
	if ((notify_fd = unix_socket(path, SOCK_DGRAM)) == -1 ||
	    (h->activation_fd = unix_socket(h->sock, SOCK_STREAM)) == -1 ||
	    stat(h->sock, &st) == -1)
		return -1;
	sock_ino = st.st_ino;
	if (setenv("NOTIFY_SOCKET", path, 1) == -1 ||
	    setenv("WATCHDOG_USEC", "400000", 1) == -1)
		return -1;
	return 0;
}

static void
cleanup(struct harness *h)
{
	if (notify_fd != -1)
		close(notify_fd);
	if (h->activation_fd != -1)
		close(h->activation_fd);
}

/* Waits up to `ms' for a notification holding `want'. */
static bool
notified(const char *want, int ms)
{
	struct pollfd	 pfd = { notify_fd, POLLIN, 0 };
	uint64_t	 end = harness_now_ms() + (uint64_t)ms;
	char		 buf[512];
	ssize_t		 n;

	while (harness_now_ms() < end) {
		if (poll(&pfd, 1, (int)(end - harness_now_ms())) <= 0)
			continue;
		if ((n = recv(notify_fd, buf, sizeof(buf) - 1, 0)) <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, want) != NULL)
			return true;
	}
	return false;
}

static void
test_socket_activation(void **state)
{
	struct harness_resp	 r;
	struct stat		 st;
	char			*log;

	(void)state;
	/* Served on the socket we made, not one quipu bound itself. */
	assert_int_equal(harness_get(&H, "/healthz", &r), 0);
	assert_int_equal(r.status, 200);
	harness_resp_free(&r);
	assert_int_equal(stat(H.sock, &st), 0);
	assert_int_equal(st.st_ino, sock_ino);
	assert_non_null(log = harness_read_file(H.error_log, NULL));
	assert_non_null(strstr(log, "systemd socket activation"));
	free(log);
}

static void
test_ready_status_watchdog(void **state)
{
	(void)state;
	/* READY was sent during the start (it waits in our queue). */
	assert_true(notified("READY=1", 3000));
	assert_true(notified("STATUS=", 3000));
	assert_true(notified("WATCHDOG=1", 2000));
	assert_true(notified("WATCHDOG=1", 2000));
}

static void
test_reload_notifies(void **state)
{
	(void)state;
	assert_int_equal(kill(H.quipu, SIGHUP), 0);
	assert_true(notified("RELOADING=1", 3000));
	assert_true(notified("READY=1", 5000));
}

static void
test_stop_notifies_and_keeps_socket(void **state)
{
	struct stat	 st;

	(void)state;
	assert_int_equal(kill(H.quipu, SIGTERM), 0);
	assert_true(notified("STOPPING=1", 3000));
	assert_int_equal(harness_stop_quipu(&H, SIGTERM, 10000), 0);
	assert_true(WIFEXITED(H.quipu_status));
	assert_int_equal(WEXITSTATUS(H.quipu_status), 0);
	/* The socket is systemd's: quipu must not remove it. */
	assert_int_equal(stat(H.sock, &st), 0);
	assert_int_equal(st.st_ino, sock_ino);
}

/* The same socket handed over on fd 0, as spawn-fcgi does. */
static void
test_spawn_fcgi_socket(void **state)
{
	struct harness_resp	 r;
	char			*log;

	(void)state;
	assert_int_equal(unsetenv("NOTIFY_SOCKET"), 0);
	assert_int_equal(unsetenv("WATCHDOG_USEC"), 0);
	H.activation_stdin = true;
	assert_int_equal(harness_start_quipu(&H), 0);
	assert_int_equal(harness_get(&H, "/readyz", &r), 0);
	assert_int_equal(r.status, 200);
	harness_resp_free(&r);
	assert_non_null(log = harness_read_file(H.error_log, NULL));
	assert_non_null(strstr(log, "inherited socket on fd 0"));
	free(log);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_activation),
		cmocka_unit_test(test_ready_status_watchdog),
		cmocka_unit_test(test_reload_notifies),
		cmocka_unit_test(test_stop_notifies_and_keeps_socket),
		cmocka_unit_test(test_spawn_fcgi_socket),
	};
	static const struct harness_group group = {
		"test_systemd", NULL, true, prepare, cleanup
	};

	return harness_run(&H, &group, tests, sizeof(tests) / sizeof(tests[0]));
}
