/*
 * privdrop.c: setgroups, setresgid, setresuid, in that order (the gid
 * calls need root), then proof that the change cannot be undone.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

int
privdrop_lookup(const char *user, const char *group, unsigned *uid,
    unsigned *gid, char *err, size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "unknown user \"%s\"%s%s", user,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group == NULL || group[0] == '\0')
		return 0;
	errno = 0;
	if ((gr = getgrnam(group)) == NULL) {
		snprintf(err, errlen, "unknown group \"%s\"%s%s", group,
		    errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

/*
 * Every id is the target, no group is left, and neither root's uid nor
 * root's gid can be taken back (a uid 0 target fails here too).
 */
static int
privdrop_verify(uid_t uid, gid_t gid)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1)
		return -1;
	if (ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid)
		return -1;
	if (getgroups(0, NULL) > 1)
		return -1;
	if (setuid(0) != -1 || geteuid() == 0)
		return -1;
	if (gid != 0 && setgid(0) != -1)
		return -1;
	return 0;
}

int
privdrop(const char *user, const char *group, char *err, size_t errlen)
{
	unsigned	 uid, gid;
	gid_t		 g;

	if (geteuid() != 0)
		return 0;
	if (user == NULL || user[0] == '\0') {
		log_warnx("running as root; set user");
		return 0;
	}
	if (privdrop_lookup(user, group, &uid, &gid, err, errlen) == -1)
		return -1;
	g = (gid_t)gid;
	if (setgroups(1, &g) == -1) {
		snprintf(err, errlen, "setgroups: %s", strerror(errno));
		return -1;
	}
	if (setresgid(g, g, g) == -1) {
		snprintf(err, errlen, "setresgid %u: %s", gid, strerror(errno));
		return -1;
	}
	if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) == -1) {
		snprintf(err, errlen, "setresuid %u: %s", uid, strerror(errno));
		return -1;
	}
	if (privdrop_verify((uid_t)uid, g) == -1) {
		snprintf(err, errlen, "still privileged after dropping to "
		    "\"%s\"", user);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)", user, uid, gid);
	return 0;
}
