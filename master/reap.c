/*
 * Reaping: collects every dead child (SIGCHLD), writes its last log lines
 * and how it ended, and hands it to its owner's policy (helpers.c restarts
 * a helper, pools.c throttles a pool whose worker died before serving).
 * Also the back-off delay both use.
 */
#include <sys/wait.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "master_int.h"

static void
describe_exit(const struct child *k, int status)
{
	if (WIFSIGNALED(status))
		log_warnx("%s[%d] killed by signal %d", role_name(k->role),
		    (int)k->pid, WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warnx("%s[%d] exited with status %d", role_name(k->role),
		    (int)k->pid, WEXITSTATUS(status));
	else
		log_debug("%s[%d] exited", role_name(k->role), (int)k->pid);
}

/* The delay before the next start after failures early deaths in a row:
 * BACKOFF_MIN_MS, doubling, at most BACKOFF_MAX_MS. */
uint64_t
backoff(uint32_t failures)
{
	uint64_t d = BACKOFF_MIN_MS;

	while (failures-- > 1 && d < BACKOFF_MAX_MS)
		d *= 2;
	return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

void
reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *k = child_by_pid(pid);
		uint64_t now = now_ms();
		struct helper *h;

		if (k == NULL)
			continue;
		drain_logs(k);
		describe_exit(k, status);
		/* the control process exits with 0 after control-max-idle:
		 * as if told to go (control.c serve_loop) */
		if ((h = helper_of(k)) == &master.ctlh && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			k->retiring = 1;
		if (h != NULL)
			helper_died(h, k, now);
		else if (!is_worker(k))    /* a retired keyholder */
			child_remove(k);
		else {
			pool_worker_died(k, now);
			child_remove(k);
		}
	}
}
