/*
 * Privilege drop and seccomp, one routine driven by a table of roles
 * (relayd proc_run).  For each role the table names the user (a conf key),
 * the jail (the spool for the store, the empty directory for workers) and
 * the seccomp allowlist.
 *
 * sandbox_enter() does, in order: resolve the user, chroot + chdir("/"),
 * setgroups(0), setresgid, setresuid, verify the old ids cannot be regained,
 * drop every capability with libcap (bounding and ambient sets included),
 * PR_SET_NO_NEW_PRIVS, RLIMIT_CORE 0, install the role's seccomp filter
 * (architecture checked, default kill).  Started as a normal user it skips
 * the user switch and the chroot, keeps everything else, and logs that.
 * Any failure is fatal: a child that cannot be jailed does not run.
 */
#ifndef POSTERN_SANDBOX_H
#define POSTERN_SANDBOX_H

#include "conf.h"
#include "proc.h"

void sandbox_enter(enum role r, const struct conf *c);

/* Only the seccomp step, for tests of the filter itself. */
void sandbox_seccomp(enum role r);

#endif
