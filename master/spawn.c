/*
 * Starting a child: fork + exec of posternd itself as a role, with the
 * fixed descriptors of privsep/proc.h (3 control channel, 4 store channel,
 * 5 keyholder channel, 6.. listeners) and nothing else open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "master_int.h"

static int exe_fd = -1;      /* /proc/self/exe, opened at start */
static int verbose;          /* -v given to the master: passed on */

void
spawn_init(int exe, int verb)
{
	exe_fd = exe;
	verbose = verb;
}

/*
 * In a child that cannot be started (between fork and exec): says why
 * over its control channel, as a log line the master writes with the
 * child's role and pid, and exits 126.
 */
static void __attribute__((noreturn))
spawn_fail(int ctl, const char *what)
{
	static struct ipc_msg m;
	char line[160];

	snprintf(line, sizeof(line), "cannot start: %s: %s", what, strerror(errno));
	ipc_init(&m, MSG_LOG, 0);
	ipc_put_u32(&m, LOG_ERR);
	ipc_put_str(&m, line);
	(void)ipc_send(ctl, &m);
	_exit(126);
}

/* Moves fd to a number above every fixed slot (the executable's
 * included), close-on-exec.  Any limit that fits the pools has room:
 * no fixed floor such as 256. */
static int
dup_high(int fd, int ctl)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, FD_LISTEN_FIRST + CONF_MAX_LISTEN + 1);

	if (n == -1)
		spawn_fail(ctl, "moving the inherited descriptors");
	return n;
}

/* In the child: puts fd on slot, or closes slot when fd is -1. */
static void
fixed_slot(int fd, int slot)
{
	if (fd < 0)
		close(slot);
	else if (dup2(fd, slot) == -1)
		_exit(126);
}

/* In the child: the descriptors on their fixed numbers, then exec. */
static void __attribute__((noreturn))
spawn_exec(enum role role, int ctl, int storefd, int keyfd, const int *lfds, int nl)
{
	int hexe = dup_high(exe_fd, ctl), hctl = dup_high(ctl, ctl), hstore = -1, hkey = -1;
	int hl[CONF_MAX_LISTEN], xfd = FD_LISTEN_FIRST + nl;
	char *argv[5];
	int ac = 0;

	if (storefd >= 0)
		hstore = dup_high(storefd, ctl);
	if (keyfd >= 0)
		hkey = dup_high(keyfd, ctl);
	for (int i = 0; i < nl; i++)
		hl[i] = dup_high(lfds[i], ctl);
	if (dup2(hctl, FD_CONTROL) == -1)
		_exit(126);
	fixed_slot(hstore, FD_STORE);
	fixed_slot(hkey, FD_KEYHOLDER);
	for (int i = 0; i < nl; i++)
		if (dup2(hl[i], FD_LISTEN_FIRST + i) == -1)
			_exit(126);
	/* the executable rides just above the fixed slots, close-on-exec */
	if (dup2(hexe, xfd) == -1 || fcntl(xfd, F_SETFD, FD_CLOEXEC) == -1)
		_exit(126);
	closefrom(xfd + 1);
	argv[ac++] = (char *)"posternd";
	argv[ac++] = (char *)"-X";
	argv[ac++] = (char *)role_name(role);
	if (verbose)
		argv[ac++] = (char *)"-v";
	argv[ac] = NULL;
	fexecve(xfd, argv, environ);
	spawn_fail(FD_CONTROL, "exec");
}

/*
 * fork + exec of ourselves as role, with fd 3 = ctl, 4 = store channel,
 * 5 = keyholder channel, 6.. = the service's listeners.  Returns the pid
 * (parent), never returns in the child.
 */
pid_t
spawn(enum role role, int ctl, int storefd, int keyfd, const int *lfds, int nl)
{
	pid_t pid = fork();

	if (pid == -1) {
		log_warn("fork");
		return -1;
	}
	if (pid == 0)
		spawn_exec(role, ctl, storefd, keyfd, lfds, nl);
	return pid;
}
