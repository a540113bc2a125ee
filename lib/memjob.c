/*
 * memjob.c: the extraction queue (see memjob.h).
 * SKELETON: being written (issue 7); replaced before it lands.
 */
#include "config.h"

#include "memjob.h"

enum app_err
memjob_enqueue(struct db_pool *db, struct arena *ar, const char *user_id,
    const char *thread_id, const char *item_id, const char *message)
{
	(void)db; (void)ar; (void)user_id; (void)thread_id; (void)item_id;
	(void)message;
	return APP_EINTERNAL;
}

size_t
memjob_run(struct app *app, struct arena *ar, size_t max)
{
	(void)app; (void)ar; (void)max;
	return 0;
}
