/*
 * recall.c: hybrid retrieval of memories (see recall.h).
 * SKELETON: being written (issue 7); replaced before it lands.
 */
#include "config.h"

#include "recall.h"

enum app_err
recall_embed(struct app *app, struct arena *ar, const char *text,
    struct recall_vec *v, const char **why)
{
	(void)app; (void)ar; (void)text; (void)v;
	*why = "not built yet";
	return APP_EINTERNAL;
}

enum app_err
recall_search(struct app *app, struct arena *ar, const char *user_id,
    const char *query, size_t limit, double min_score,
    struct recall_hit **hits, size_t *nhits)
{
	(void)app; (void)ar; (void)user_id; (void)query; (void)limit;
	(void)min_score;
	*hits = NULL;
	*nhits = 0;
	return APP_EINTERNAL;
}
