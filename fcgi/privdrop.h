/*
 * privdrop.h: giving up root for good.
 */
#ifndef QUIPU_PRIVDROP_H
#define QUIPU_PRIVDROP_H

#include <stddef.h>

/*
 * When root and `user' is non-empty: become `user' and `group' (empty:
 * the user's primary group), with no supplementary groups, and check
 * that root cannot be regained. When root without a user: warn and go
 * on. Otherwise nothing. -1 with a sentence in `err' on failure.
 */
int	privdrop(const char *user, const char *group, char *err, size_t errlen);

/*
 * The uid and gid `user'/`group' name (for chown of the socket). -1 with
 * a sentence in `err' when either is unknown.
 */
int	privdrop_lookup(const char *user, const char *group, unsigned *uid,
	    unsigned *gid, char *err, size_t errlen);

#endif
