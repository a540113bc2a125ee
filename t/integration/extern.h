/*
 * extern.h: what harness.c, stack.c and client.c share and the tests do
 * not see. The tests include harness.h only.
 */
#ifndef QUIPU_HARNESS_EXTERN_H
#define QUIPU_HARNESS_EXTERN_H

#include <stddef.h>
#include <stdint.h>

/* The value of environment variable `name', or `def' if unset or empty. */
const char *harness_env_or(const char *name, const char *def);
/* dir/leaf into out; -1 (and an empty string) when it does not fit. */
int	 harness_joinpath(char *out, size_t sz, const char *dir,
	    const char *leaf);
/* Monotonic nanoseconds. */
uint64_t harness_now_ns(void);

#endif
