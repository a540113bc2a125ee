/*
 * test_arena.c: the per-request bump allocator and its cleanup hooks.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arena.h"

static void
test_alignment(void **state)
{
	struct arena	*a = arena_create(256);
	size_t		 sizes[] = { 1, 3, 7, 8, 15, 16, 17, 33, 100, 1 };
	size_t		 i;
	void		*p;

	assert_non_null(a);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = arena_alloc(a, sizes[i]);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
	}
	/* Zero bytes still gives a distinct, usable pointer. */
	assert_non_null(arena_alloc(a, 0));
	arena_destroy(a);
}

static void
test_zeroed(void **state)
{
	struct arena	*a = arena_create(64);
	unsigned char	*p;
	size_t		 i;

	assert_non_null(a);
	p = arena_alloc(a, 100);
	memset(p, 0xaa, 100);
	arena_reset(a);
	/* Memory reused after a reset comes back zeroed. */
	p = arena_alloc(a, 100);
	for (i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	arena_destroy(a);
}

static void
test_growth(void **state)
{
	struct arena	*a = arena_create(128);
	unsigned char	*ptrs[500];
	size_t		 i, j;

	assert_non_null(a);
	/* Far past the first block: every allocation stays intact. */
	for (i = 0; i < 500; i++) {
		ptrs[i] = arena_alloc(a, 100);
		assert_non_null(ptrs[i]);
		memset(ptrs[i], (int)(i & 0xff), 100);
	}
	for (i = 0; i < 500; i++)
		for (j = 0; j < 100; j++)
			assert_int_equal(ptrs[i][j], i & 0xff);
	assert_true(arena_used(a) >= 500 * 100);
	arena_destroy(a);
}

static void
test_big(void **state)
{
	struct arena	*a = arena_create(1024);
	char		*small1, *big, *small2;
	size_t		 n = 4 * 1024 * 1024;

	assert_non_null(a);
	small1 = arena_alloc(a, 16);
	big = arena_alloc(a, n);
	assert_non_null(big);
	assert_int_equal((uintptr_t)big % 16, 0);
	memset(big, 'x', n);
	assert_int_equal(big[n - 1], 'x');
	/* Small allocations after a big one never overlap it. */
	small2 = arena_alloc(a, 16);
	assert_non_null(small2);
	assert_true(small2 + 16 <= big || small2 >= big + n);
	assert_true(small1 + 16 <= big || small1 >= big + n);
	assert_ptr_not_equal(small1, small2);
	/* A big allocation in a reset arena still works. */
	arena_reset(a);
	assert_non_null(arena_alloc(a, n));
	arena_destroy(a);
}

static void
test_overflow(void **state)
{
	struct arena	*a = arena_create(64);

	assert_non_null(a);
	assert_null(arena_calloc(a, SIZE_MAX / 2, 4));
	assert_null(arena_calloc(a, SIZE_MAX, SIZE_MAX));
	assert_null(arena_alloc(a, SIZE_MAX));
	assert_null(arena_alloc(a, SIZE_MAX - 8));
	/* The arena is still fine afterwards. */
	assert_non_null(arena_calloc(a, 10, 10));
	assert_non_null(arena_calloc(a, 0, 10));
	arena_destroy(a);
}

static void
test_strings(void **state)
{
	struct arena	*a = arena_create(64);
	char		*s, *big;
	char		 longs[10001];

	assert_non_null(a);
	assert_string_equal(arena_strdup(a, "hello"), "hello");
	assert_string_equal(arena_strdup(a, ""), "");
	assert_string_equal(arena_strndup(a, "hello", 3), "hel");
	/* At most len bytes, but never past the NUL. */
	assert_string_equal(arena_strndup(a, "hi", 10), "hi");
	s = arena_strndup(a, "abc", 0);
	assert_string_equal(s, "");
	assert_string_equal(arena_printf(a, "%s-%d-%05.1f", "x", 42, 3.14159),
	    "x-42-003.1");
	memset(longs, 'z', 10000);
	longs[10000] = '\0';
	big = arena_printf(a, "<%s>", longs);
	assert_non_null(big);
	assert_int_equal(strlen(big), 10002);
	assert_int_equal(big[0], '<');
	assert_int_equal(big[10001], '>');
	arena_destroy(a);
}

/* Records the order in which hooks run. */
static char	 order[32];

static void
hook(void *arg)
{
	size_t	 n = strlen(order);

	order[n] = *(const char *)arg;
	order[n + 1] = '\0';
}

/* A growing string: appends, copies when it outgrows, refuses overflow. */
static void
test_str(void **state)
{
	struct arena		*a;
	struct arena_str	 s;
	char			 want[5001];
	int			 i;

	(void)state;
	assert_non_null(a = arena_create(256));
	memset(&s, 0, sizeof(s));
	assert_null(s.p);
	assert_int_equal(arena_str_add(a, &s, "", 0), 0);
	assert_string_equal(s.p, "");
	for (i = 0; i < 1000; i++)
		assert_int_equal(arena_str_add(a, &s, "abcde", 5), 0);
	assert_int_equal(s.len, 5000);
	assert_true(s.cap > s.len);
	for (i = 0; i < 1000; i++)
		memcpy(want + i * 5, "abcde", 5);
	want[5000] = '\0';
	assert_string_equal(s.p, want);
	assert_int_equal(arena_str_add(a, &s, "x", SIZE_MAX), -1);
	assert_int_equal(s.len, 5000);
	assert_string_equal(s.p, want);
	arena_destroy(a);
}

static void
test_cleanup_order(void **state)
{
	struct arena	*a = arena_create(64);

	assert_non_null(a);
	order[0] = '\0';
	assert_int_equal(arena_cleanup_add(a, hook, "a"), 0);
	assert_int_equal(arena_cleanup_add(a, hook, "b"), 0);
	assert_int_equal(arena_cleanup_add(a, hook, "c"), 0);
	arena_reset(a);
	assert_string_equal(order, "cba");
	/* Hooks run once: the reset cleared them. */
	order[0] = '\0';
	assert_int_equal(arena_cleanup_add(a, hook, "d"), 0);
	assert_int_equal(arena_cleanup_add(a, hook, "e"), 0);
	arena_destroy(a);
	assert_string_equal(order, "ed");
}

static void
free_hook(void *arg)
{
	free(arg);
}

static void
test_cleanup_many(void **state)
{
	struct arena	*a = arena_create(64);
	int		 i;

	assert_non_null(a);
	/* Many hooks across several blocks; ASan sees any leak. */
	for (i = 0; i < 1000; i++) {
		void *p = malloc(8);

		assert_non_null(p);
		assert_int_equal(arena_cleanup_add(a, free_hook, p), 0);
		assert_non_null(arena_alloc(a, 50));
	}
	arena_reset(a);
	assert_int_equal(arena_cleanup_add(a, free_hook, malloc(1)), 0);
	arena_destroy(a);
}

static void
test_reset_reuses(void **state)
{
	struct arena	*a = arena_create(4096);
	void		*p1, *p2;
	int		 i;

	assert_non_null(a);
	p1 = arena_alloc(a, 100);
	for (i = 0; i < 100; i++)
		assert_non_null(arena_alloc(a, 1000));
	assert_true(arena_used(a) > 100000);
	arena_reset(a);
	assert_int_equal(arena_used(a), 0);
	/* The first block is kept: the same address comes back. */
	p2 = arena_alloc(a, 100);
	assert_ptr_equal(p1, p2);
	arena_reset(a);
	arena_reset(a);
	assert_ptr_equal(arena_alloc(a, 10), p1);
	arena_destroy(a);
}

static void
test_null_ok(void **state)
{
	arena_destroy(NULL);
	arena_reset(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_zeroed),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_cleanup_order),
		cmocka_unit_test(test_cleanup_many),
		cmocka_unit_test(test_reset_reuses),
		cmocka_unit_test(test_null_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
