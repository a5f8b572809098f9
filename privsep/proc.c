/* Role names, and a latency hint to the scheduler: see proc.h. */
#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

static const char *const role_names[ROLE_MAX] = {
	[ROLE_MASTER] = "master",
	[ROLE_STORE] = "store",
	[ROLE_SMTP] = "smtp",
	[ROLE_POP3] = "pop3",
	[ROLE_KEYHOLDER] = "keyholder",
	[ROLE_CONTROL] = "control",
	[ROLE_AUTH] = "auth",
	[ROLE_IMAP] = "imap",
};

const char *
role_name(enum role r)
{
	return (r >= 0 && r < ROLE_MAX) ? role_names[r] : "?";
}

int
role_from_name(const char *name)
{
	for (int r = 0; r < ROLE_MAX; r++)
		if (strcmp(role_names[r], name) == 0)
			return r;
	return -1;
}

/*
 * Asks the scheduler for a short slice (sched_setattr(2) sched_runtime,
 * Linux 6.12 and later: EEVDF lets a woken task with a shorter slice
 * preempt the running one).  Policy and nice stay as they are:
 * sched_setattr sets both, so the current ones are passed back; a process
 * an administrator started under a real-time or idle policy is left
 * alone.  Older kernels accept the call and ignore the slice.  Returns 0,
 * or -1 with errno (the caller logs; a process without the hint still
 * works).  Called before the seccomp filter, which does not allow
 * sched_setattr.
 */
int
proc_latency_hint(unsigned slice_ns)
{
	struct {   /* struct sched_attr, <linux/sched/types.h>: its first
		    * version, 48 bytes (SCHED_ATTR_SIZE_VER0) */
		uint32_t size;
		uint32_t sched_policy;
		uint64_t sched_flags;
		int32_t sched_nice;
		uint32_t sched_priority;
		uint64_t sched_runtime;
		uint64_t sched_deadline;
		uint64_t sched_period;
	} a;
	int nice, policy;

	if ((policy = sched_getscheduler(0)) == -1)
		return -1;
	memset(&a, 0, sizeof(a));
	if (policy & SCHED_RESET_ON_FORK) {
		policy &= ~SCHED_RESET_ON_FORK;
		a.sched_flags = 0x01;   /* SCHED_FLAG_RESET_ON_FORK */
	}
	if (policy != SCHED_OTHER && policy != SCHED_BATCH)
		return 0;
	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	if (nice == -1 && errno != 0)
		return -1;
	a.size = sizeof(a);
	a.sched_policy = (uint32_t)policy;
	a.sched_nice = nice;
	a.sched_runtime = slice_ns;
	return syscall(SYS_sched_setattr, 0, &a, 0) == -1 ? -1 : 0;
}
