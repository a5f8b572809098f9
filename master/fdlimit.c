/* The descriptor budget: see fdlimit.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "../privsep/params.h"
#include "../privsep/util.h"
#include "fdlimit.h"

/*
 * Each worker costs one descriptor in the master (its control channel; its
 * store and keyholder ends pass through only while it starts), one in the
 * keyholder and, in the store, its channel plus at most one more while a
 * request of it is served (the memfd of an APPEND, the mailbox a POP3
 * channel reads, the file an IMAP channel's view was made from).  After SIGHUP the retiring workers finish their
 * sessions while the new pools fill: twice the pools can be alive.  So
 * the store, the busiest, needs 2 x 2 per worker.
 */
/*
 * And every process some of its own: 0-2, the master's listeners (up to
 * 16), executable, signal pipe, helpers' channels and the descriptors a
 * child is started with; the store's spool, its cache of open mailboxes
 * (32) and the mailboxes of one group commit.
 */

static unsigned long
workers(const struct conf *c)
{
	unsigned long w = 0;

	for (int svc = 0; svc < SVC_MAX; svc++) {
		if (service_listens(c, (enum service)svc))
			/* max serving, plus the one that refuses the rest */
			w += (unsigned long)c->pool[svc].max + 1;
	}
	return w;
}

/* "smtp-max 20 and pop3-max 20": the pools of the services that listen. */
static void
pools_text(const struct conf *c, char *out, size_t outsz)
{
	size_t used = 0, n = 0, k = 0;

	out[0] = '\0';
	for (int svc = 0; svc < SVC_MAX; svc++)
		n += service_listens(c, (enum service)svc);
	for (int svc = 0; svc < SVC_MAX && used < outsz; svc++) {
		int w;

		if (!service_listens(c, (enum service)svc))
			continue;
		k++;
		w = snprintf(out + used, outsz - used, "%s%s-max %u",
		    k == 1 ? "" : k == n ? " and " : ", ", service_name((enum service)svc),
		    c->pool[svc].max);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

unsigned long
fd_need(const struct conf *c)
{
	return FD_PER_WORKER_COUNT * workers(c) + FD_FIXED_COUNT;
}

int
fd_limit_apply(const struct conf *c, const char **why)
{
	static char err[LIM_LOGLINE];
	const size_t errsz = sizeof(err);
	struct rlimit rl;
	unsigned long need = fd_need(c);

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		snprintf(err, errsz, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return fail_why(why, err);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		char pools[96];

		pools_text(c, pools, sizeof(pools));
		snprintf(err, errsz, "descriptor limit too low: %s need %lu descriptors, "
		    "the hard limit (ulimit -Hn) is %llu; raise it (systemd: LimitNOFILE=) "
		    "or lower the pools", pools, need,
		    (unsigned long long)rl.rlim_max);
		return fail_why(why, err);
	}
	/* some headroom beyond the need, within the hard limit */
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 2 * need ?
	    2 * need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		snprintf(err, errsz, "descriptor limit: raising it to %llu (the pools need "
		    "%lu): %s", (unsigned long long)rl.rlim_cur, need, strerror(errno));
		return fail_why(why, err);
	}
	return 0;
}
