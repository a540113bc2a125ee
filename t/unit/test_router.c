/*
 * test_router.c: matching method and path against a route table.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "app.h"
#include "router.h"
#include "util.h"

static enum app_err
h(struct http_request *req, struct http_response *resp)
{
	return APP_OK;
}

static const struct route routes[] = {
	/* 0 */ { "GET", "/api/v1/tasks", h, "tasks.list", 0 },
	/* 1 */ { "POST", "/api/v1/tasks", h, "tasks.create", 0 },
	/* 2 */ { "GET", "/api/v1/tasks/{id}", h, "tasks.get", 0 },
	/* 3 */ { "PATCH", "/api/v1/tasks/{id}", h, "tasks.update", 0 },
	/* 4 */ { "DELETE", "/api/v1/tasks/{id}", h, "tasks.delete", 0 },
	/* 5 */ { "POST", "/api/v1/tasks/{id}/done", h, "tasks.done", 0 },
	/* 6 */ { "GET", "/api/v1/threads/{tid}/items/{iid}", h, "items.get", 0 },
	/* 7 */ { "GET", "/healthz", h, "healthz", ROUTE_TEST },
	/* 8 */ { "GET", "/a/{p}/{q}/{r}/{s}", h, "four", 0 },
	/* 9 */ { "GET", "/api/v1/tasks/export", h, "tasks.export", 0 },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

struct m {
	struct treq		 t;
	const struct route	*r;
	char			 allow[128];
	enum router_match	 rc;
};

static void
match(struct m *m, const char *method, const char *path)
{
	treq_init(&m->t, method, path);
	m->r = (const struct route *)1;
	memset(m->allow, 'x', sizeof(m->allow));
	m->rc = router_match(routes, NROUTES, &m->t.req, &m->r, m->allow,
	    sizeof(m->allow));
}

static void
test_literal(void **state)
{
	struct m	 m;

	match(&m, "GET", "/healthz");
	assert_int_equal(m.rc, ROUTER_FOUND);
	assert_ptr_equal(m.r, &routes[7]);
	assert_int_equal(m.t.req.route_index, 7);
	assert_string_equal(m.t.req.route, "healthz");
	assert_int_equal(m.t.req.nparams, 0);
	treq_free(&m.t);

	match(&m, "POST", "/api/v1/tasks");
	assert_int_equal(m.rc, ROUTER_FOUND);
	assert_int_equal(m.t.req.route_index, 1);
	treq_free(&m.t);
}

static void
test_params(void **state)
{
	struct m	 m;

	match(&m, "GET", "/api/v1/tasks/42");
	assert_int_equal(m.rc, ROUTER_FOUND);
	assert_int_equal(m.t.req.route_index, 2);
	assert_int_equal(m.t.req.nparams, 1);
	assert_string_equal(m.t.req.params[0], "42");
	treq_free(&m.t);

	match(&m, "GET", "/api/v1/threads/thr_abc/items/msg_9");
	assert_int_equal(m.rc, ROUTER_FOUND);
	assert_int_equal(m.t.req.route_index, 6);
	assert_int_equal(m.t.req.nparams, 2);
	assert_string_equal(m.t.req.params[0], "thr_abc");
	assert_string_equal(m.t.req.params[1], "msg_9");
	treq_free(&m.t);

	/* Parameters stay percent-encoded: the handler decodes. */
	match(&m, "GET", "/api/v1/tasks/a%2Fb%20c");
	assert_int_equal(m.rc, ROUTER_FOUND);
	assert_string_equal(m.t.req.params[0], "a%2Fb%20c");
	treq_free(&m.t);

	match(&m, "POST", "/api/v1/tasks/7/done");
	assert_int_equal(m.rc, ROUTER_FOUND);
	assert_int_equal(m.t.req.route_index, 5);
	assert_string_equal(m.t.req.params[0], "7");
	treq_free(&m.t);

	match(&m, "GET", "/a/1/2/3/4");
	assert_int_equal(m.rc, ROUTER_FOUND);
	assert_int_equal(m.t.req.nparams, HTTP_MAX_PATH_PARAMS);
	assert_string_equal(m.t.req.params[3], "4");
	treq_free(&m.t);
}

static void
test_first_match_wins(void **state)
{
	struct m	 m;

	/* "export" matches {id} first: table order decides. */
	match(&m, "GET", "/api/v1/tasks/export");
	assert_int_equal(m.rc, ROUTER_FOUND);
	assert_int_equal(m.t.req.route_index, 2);
	treq_free(&m.t);
}

static void
test_not_found(void **state)
{
	static const char *const paths[] = {
		"/", "", "/nope", "/api/v1/task", "/api/v1/tasksx",
		"/api/v1/tasks/42/extra", "/api/v1/tasks/42/done/x",
		"/healthz/", "/api/v1/tasks/", "/api/v1/tasks//done",
		"//healthz", "/HEALTHZ", "/api/v1/threads/t/items/",
		"/a/1/2/3", "/a/1/2/3/4/5",
	};
	struct m	 m;
	size_t		 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		match(&m, "GET", paths[i]);
		if (m.rc != ROUTER_NOT_FOUND)
			fail_msg("GET %s: %d", paths[i], m.rc);
		assert_null(m.r);
		assert_int_equal(m.t.req.route_index, -1);
		treq_free(&m.t);
	}
}

static void
test_trailing_slash(void **state)
{
	struct m	 m;

	/* Strict: a trailing slash is another path (404, never a redirect). */
	match(&m, "GET", "/api/v1/tasks/");
	assert_int_equal(m.rc, ROUTER_NOT_FOUND);
	treq_free(&m.t);
	match(&m, "GET", "/api/v1/tasks/42/");
	assert_int_equal(m.rc, ROUTER_NOT_FOUND);
	treq_free(&m.t);
	match(&m, "POST", "/api/v1/tasks/");
	assert_int_equal(m.rc, ROUTER_NOT_FOUND);
	treq_free(&m.t);
}

static void
test_bad_method(void **state)
{
	struct m	 m;

	match(&m, "PUT", "/api/v1/tasks");
	assert_int_equal(m.rc, ROUTER_BAD_METHOD);
	assert_null(m.r);
	assert_int_equal(m.t.req.route_index, -1);
	assert_string_equal(m.allow, "GET, HEAD, POST");
	treq_free(&m.t);

	match(&m, "POST", "/api/v1/tasks/9");
	assert_int_equal(m.rc, ROUTER_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD, PATCH, DELETE");
	treq_free(&m.t);

	match(&m, "GET", "/api/v1/tasks/9/done");
	assert_int_equal(m.rc, ROUTER_BAD_METHOD);
	assert_string_equal(m.allow, "POST");
	treq_free(&m.t);

	/* Methods are case-sensitive (RFC 9110). */
	match(&m, "get", "/healthz");
	assert_int_equal(m.rc, ROUTER_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD");
	treq_free(&m.t);
}

static void
test_head(void **state)
{
	struct m	 m;

	match(&m, "HEAD", "/api/v1/tasks/5");
	assert_int_equal(m.rc, ROUTER_FOUND);
	assert_ptr_equal(m.r, &routes[2]);
	assert_string_equal(m.t.req.params[0], "5");
	treq_free(&m.t);

	match(&m, "HEAD", "/api/v1/tasks/5/done");
	assert_int_equal(m.rc, ROUTER_BAD_METHOD);
	assert_string_equal(m.allow, "POST");
	treq_free(&m.t);
}

static void
test_allow_small(void **state)
{
	struct treq		 t;
	const struct route	*r;
	char			 allow[8];

	/* A short buffer is truncated, never overrun. */
	treq_init(&t, "PUT", "/api/v1/tasks/1");
	assert_int_equal(router_match(routes, NROUTES, &t.req, &r, allow,
	    sizeof(allow)), ROUTER_BAD_METHOD);
	assert_true(strlen(allow) < sizeof(allow));
	assert_int_equal(strncmp(allow, "GET", 3), 0);
	treq_free(&t);

	treq_init(&t, "PUT", "/api/v1/tasks/1");
	assert_int_equal(router_match(routes, NROUTES, &t.req, &r, NULL, 0),
	    ROUTER_BAD_METHOD);
	treq_free(&t);
}

static void
test_empty_table(void **state)
{
	struct treq		 t;
	const struct route	*r;
	char			 allow[16];

	treq_init(&t, "GET", "/healthz");
	assert_int_equal(router_match(routes, 0, &t.req, &r, allow,
	    sizeof(allow)), ROUTER_NOT_FOUND);
	treq_free(&t);
}

/* The real table: every route well formed, names unique. */
static void
test_app_routes(void **state)
{
	size_t	 i, j;

	assert_true(app_nroutes > 0);
	for (i = 0; i < app_nroutes; i++) {
		const struct route *r = &app_routes[i];

		assert_non_null(r->handler);
		assert_non_null(r->name);
		assert_non_null(r->method);
		assert_int_equal(r->pattern[0], '/');
		for (j = 0; j < i; j++) {
			if (strcmp(app_routes[j].name, r->name) == 0)
				fail_msg("route name %s twice", r->name);
			if (strcmp(app_routes[j].method, r->method) == 0 &&
			    strcmp(app_routes[j].pattern, r->pattern) == 0)
				fail_msg("route %s %s twice", r->method,
				    r->pattern);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_trailing_slash),
		cmocka_unit_test(test_bad_method),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_allow_small),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_app_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
