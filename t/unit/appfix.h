/*
 * appfix.h: a struct app as one worker has it, without a database, for
 * unit tests that drive app_handle(): default configuration, a JWT key
 * (conf_load() would have read one), the allowed origins, auth and CORS.
 * Include after cmocka.h and util.h.
 */
#ifndef QUIPU_T_APPFIX_H
#define QUIPU_T_APPFIX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "conf.h"
#include "cors.h"

#define TEST_JWT_KEY	"unit-test-key-0123456789abcdef0123456789"

struct afix {
	struct conf	 conf;
	struct app	 app;
};

/* The cmocka setup body: `origins' NULL keeps allowed_origins empty. */
static inline int
afix_create(void **state, const char *origins)
{
	struct afix	*f = calloc(1, sizeof(*f));
	char		 err[256];

	if (f == NULL || conf_init(&f->conf) == -1)
		return -1;
	if (origins != NULL && conf_set(&f->conf, "allowed_origins", origins,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "conf_set: %s\n", err);
		return -1;
	}
	if ((f->conf.jwt_key = (unsigned char *)strdup(TEST_JWT_KEY)) == NULL)
		return -1;
	f->conf.jwt_key_len = strlen(TEST_JWT_KEY);
	if (cors_create(f->conf.allowed_origins, &f->app.cors) != APP_OK ||
	    auth_create(&f->conf, f->app.cors, &f->app.auth) != APP_OK)
		return -1;
	f->app.conf = &f->conf;
	f->app.proc_slot = -1;
	*state = f;
	return 0;
}

static inline int
afix_teardown(void **state)
{
	struct afix	*f = *state;

	auth_free(f->app.auth);
	cors_free(f->app.cors);
	conf_free(&f->conf);
	free(f);
	return 0;
}

static inline void
handle(struct afix *f, struct treq *t)
{
	app_handle(&f->app, &t->req, &t->resp);
}

#endif
