/*
 * worker.h: one worker process: N acceptor threads serving FastCGI.
 */
#ifndef QUIPU_WORKER_H
#define QUIPU_WORKER_H

#include <sys/types.h>

struct conf;
struct scoreboard;

/* Exit codes the master understands (nginx's convention for 2). */
#define WORKER_EXIT_OK		0	/* drained or recycled: respawn */
#define WORKER_EXIT_ERROR	1	/* out of a resource: back off */
#define WORKER_EXIT_FATAL	2	/* cannot work: do not respawn */

struct worker_ctx {
	const struct conf	*conf;
	struct scoreboard	*sb;
	int			 slot;		/* scoreboard process slot */
	int			 generation;
	int			 listen_fd;
	pid_t			 master_pid;
};

/*
 * Runs in the child after fork, with every signal blocked, and never
 * returns: SIGQUIT drains (finish in-flight requests, then exit 0),
 * SIGTERM exits within a second, SIGUSR1 reopens the logs.
 */
void	worker_main(const struct worker_ctx *) __attribute__((noreturn));

#endif
