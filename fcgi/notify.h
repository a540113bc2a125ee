/*
 * notify.h: sd_notify(3) without libsystemd. Every function does nothing
 * and returns 0 when NOTIFY_SOCKET is unset.
 */
#ifndef QUIPU_NOTIFY_H
#define QUIPU_NOTIFY_H

/* Sends one datagram of "KEY=value" lines. 0, or -1 with errno. */
int	notify_send(const char *msg);
/* "READY=1" and our pid as MAINPID. */
int	notify_ready(void);
/* "RELOADING=1" with MONOTONIC_USEC, as Type=notify-reload wants. */
int	notify_reloading(void);
int	notify_stopping(void);
/*
 * The systemd watchdog interval in microseconds: WATCHDOG_USEC when set
 * for us (WATCHDOG_PID unset or our pid), else 0.
 */
unsigned long long	notify_watchdog_usec(void);
/* "WATCHDOG=1": the main loop is alive. */
int	notify_watchdog(void);
/* "STATUS=..." for systemctl status. */
int	notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
