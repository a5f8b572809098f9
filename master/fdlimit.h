/*
 * The descriptor budget: how many descriptors the pools configured need
 * in the busiest process, and raising RLIMIT_NOFILE to it at start (and
 * at SIGHUP) or refusing the configuration.  See postern.conf(5),
 * DESCRIPTOR LIMITS.
 */
#ifndef POSTERN_FDLIMIT_H
#define POSTERN_FDLIMIT_H

#include <stddef.h>
#include "../privsep/conf.h"

/* Descriptors the configuration needs in one process (the store's or the
 * master's count, whichever is larger). */
unsigned long fd_need(const struct conf *c);

/*
 * Raises the soft RLIMIT_NOFILE of this process (and so of every child it
 * starts) to fit c, up to the hard limit.  0 when it fits; -1 when the
 * hard limit is too low, with *why naming both numbers (privsep/util.h).
 */
int fd_limit_apply(const struct conf *c, const char **why);

#endif
