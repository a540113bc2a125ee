/*
 * master.h: the supervisor. It never serves a request: it forks workers,
 * reaps them, reloads, stops, and applies pool.c's decisions.
 */
#ifndef QUIPU_MASTER_H
#define QUIPU_MASTER_H

#include <stdbool.h>

struct conf;
struct scoreboard;

struct master_opts {
	struct conf		*conf;		/* replaced in place on reload */
	const char		*conf_path;	/* re-read on SIGHUP/SIGUSR2 */
	bool			 conf_must_exist;
	struct scoreboard	*sb;
	int			 workers;	/* per generation, fixed */
	int			 listen_fd;
};

/*
 * Runs until a stop completes. Returns the process exit code: 0, or 1
 * when the workers failed fatally (exit code 2) with none left.
 */
int	master_run(const struct master_opts *);

#endif
