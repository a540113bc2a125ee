/*
 * memjob.h: extraction of a turn's facts, off the request path.
 *
 * A finished turn queues its user message in memory_jobs (PostgreSQL, so
 * a crash loses nothing). The thread that served the turn runs the queue
 * once the client has its whole answer (after FCGX_Finish_r), and idle
 * threads sweep it now and then: a job of a worker that died is leased,
 * not lost, and is taken again when its lease runs out.
 *
 * A job: the facts of the message (extract_builtin() with the builtin
 * model, else the model asked with extract_prompt() and its answer read
 * by extract_parse()), each applied by memory_remember() with the turn as
 * its source. A job that fails (the model is down) is tried again later,
 * a few times, then dropped with a log line.
 */
#ifndef QUIPU_MEMJOB_H
#define QUIPU_MEMJOB_H

#include <stddef.h>

#include "apperr.h"

struct app;
struct arena;
struct db_pool;

#define MEMJOB_ATTEMPTS	5	/* tries before a job is dropped */

/*
 * Queues the extraction of `message', the user's message `item_id' of
 * thread `thread_id'. APP_EDB, APP_ENOMEM.
 */
enum app_err	 memjob_enqueue(struct db_pool *, struct arena *,
		    const char *user_id, const char *thread_id,
		    const char *item_id, const char *message) MUSTCHECK;

/*
 * Runs ready jobs one by one, at most `max'. `ar' is a scratch arena,
 * reset after each job: pass none that holds anything. Returns how many
 * ran. Never fails its caller: errors are logged and the job is tried
 * again later.
 */
size_t		 memjob_run(struct app *, struct arena *ar, size_t max);

#endif
