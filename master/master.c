/*
 * The master's main loop: posternd as root, after the configuration
 * check.  Sets up (directories, listeners, control socket, daemon, pidfile,
 * signals), then waits on the children's channels, the signals and the
 * listeners of idle pools, and stops cleanly on SIGTERM.  Each job it runs
 * lives in its own file (master_int.h lists them).  It reads no network
 * input: only the config file and its children's messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "control.h"
#include "master.h"
#include "master_int.h"


struct master_state master = {
	.store = { .role = ROLE_STORE, .ctl = -1, .first_pending = 1 },
	.keyh = { .role = ROLE_KEYHOLDER, .ctl = -1, .first_pending = 1 },
	.authh = { .role = ROLE_AUTH, .ctl = -1, .first_pending = 1 },
	.keyh_next = { .role = ROLE_KEYHOLDER, .ctl = -1 },
	.ctlh = { .role = ROLE_CONTROL, .ctl = -1 },
	.ctl_listen_fd = -1,
};

static int sigpipe_fd[2] = { -1, -1 };
static uint64_t stop_deadline;

static void
on_signal(int sig)
{
	unsigned char b = (unsigned char)sig;
	int saved = errno;

	(void)!write(sigpipe_fd[1], &b, 1);
	errno = saved;
}

static void
setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* SIGTERM (or posternctl stop): the listeners close, idle workers leave
 * at once, busy ones get shutdown-grace for their sessions. */
void
begin_stop(void)
{
	if (master.stopping)
		return;
	master.stopping = 1;
	stop_deadline = now_ms() + master.conf.shutdown_grace_ms + STOP_SLACK_MS;
	log_info("stopping: sessions in progress have %u ms", master.conf.shutdown_grace_ms);
	for (uint32_t i = 0; i < master.conf.nlisten; i++) {
		close(master.listen_fds[i]);
		master.listen_fds[i] = -1;
	}
	for (size_t i = 0; i < master.nkids; i++)
		if (is_worker(&master.kids[i]))
			child_retire(&master.kids[i], master.kids[i].busy ?
			    master.conf.shutdown_grace_ms : 0);
}

/* Once the workers are gone the store may stop: nothing can ask it more. */
static void
stop_progress(void)
{
	int workers = 0;

	for (size_t i = 0; i < master.nkids; i++)
		if (is_worker(&master.kids[i]))
			workers++;
	for (size_t i = 0; workers == 0 && i < master.nkids; i++) {
		struct child *k = &master.kids[i];
		if (!k->stop_sent) {
			k->retiring = k->stop_sent = 1;
			if (k->ctl >= 0)
				send_u32(k->ctl, MSG_SHUTDOWN, 0);
		}
	}
	if (now_ms() >= stop_deadline) {
		for (size_t i = 0; i < master.nkids; i++) {
			log_warnx("%s[%d] did not stop in time; killing it",
			    role_name(master.kids[i].role), (int)master.kids[i].pid);
			kill(master.kids[i].pid, SIGKILL);
		}
		stop_deadline = now_ms() + STOP_KILL_WAIT_MS;
	}
}

static void
handle_signals(void)
{
	unsigned char sigs[64];
	ssize_t n;

	while ((n = read(sigpipe_fd[0], sigs, sizeof(sigs))) > 0) {
		master.pool_dirty = 1;
		for (ssize_t i = 0; i < n; i++) {
			switch (sigs[i]) {
			case SIGCHLD:
				reap();
				break;
			case SIGHUP:
				if (!master.stopping)
					(void)reload();
				break;
			case SIGTERM:
			case SIGINT:
				begin_stop();
				break;
			default:
				break;
			}
		}
	}
}

/* The signal pipe, then every child's channel: returns the count. */
static size_t
poll_children(struct pollfd *pfd)
{
	size_t n = 0;

	pfd[n].fd = sigpipe_fd[0];
	pfd[n++].events = POLLIN;
	for (size_t i = 0; i < master.nkids; i++) {
		pfd[n].fd = master.kids[i].ctl;   /* -1 is ignored by poll */
		pfd[n++].events = POLLIN;
	}
	return n;
}

/* Acts on what poll() found: nk children's channels (after the signal
 * pipe), then n - nk listening sockets. */
static void
poll_results(const struct pollfd *pfd, size_t nk, size_t n)
{
	/* a listening socket (after nk): the next pool_maintain()
	 * starts a worker for it */
	for (size_t i = nk; i < n; i++)
		if (pfd[i].revents != 0) {
			if (pfd[i].fd == master.ctl_listen_fd)
				master.ctl_demand = 1;
			else
				pool_listener_ready(pfd[i].fd);
			master.pool_dirty = 1;
		}
	/* kids[] may shrink while reading: walk by channel */
	for (size_t i = 1; i < nk; i++) {
		if (pfd[i].revents == 0 || pfd[i].fd < 0)
			continue;
		for (size_t j = 0; j < master.nkids; j++)
			if (master.kids[j].ctl == pfd[i].fd) {
				read_child(&master.kids[j]);
				break;
			}
	}
}

static void
event_loop(void)
{
	struct pollfd *pfd = NULL;
	size_t pcap = 0;
	uint64_t next_tick = 0;

	master.pool_dirty = 1;
	for (;;) {
		size_t n, nk;
		uint64_t now;
		int r, wait;

		handle_signals();
		if (master.stopping) {
			stop_progress();
			if (master.nkids == 0) {
				free(pfd);
				return;
			}
		} else if (master.pool_dirty || now_ms() >= next_tick) {
			/* the pools' timers (back-off, a full pool's paced
			 * starts, idle retirement, helper restarts) are checked
			 * a TICK_MS apart at most, a due start sooner */
			master.pool_dirty = 0;
			pool_maintain();
			next_tick = now_ms() + (uint64_t)pool_sleep_ms(now_ms());
			refusal_log_tick(now_ms());
		}
		if (pfd == NULL || pcap < master.nkids + 2 + CONF_MAX_LISTEN) {
			pcap = master.nkids + 16 + CONF_MAX_LISTEN;
			pfd = xreallocarray(pfd, pcap, sizeof(*pfd));
		}
		nk = poll_children(pfd);
		n = pool_watch(pfd, nk);
		n = control_watch(pfd, n);
		now = now_ms();
		wait = TICK_MS;
		if (!master.stopping && next_tick < now + TICK_MS)
			wait = next_tick > now ? (int)(next_tick - now) : 0;
		r = poll(pfd, (nfds_t)n, wait);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		poll_results(pfd, nk, n);
	}
}

/* Descriptors 0-2 exist (so nothing we open lands on them), and the
 * executable is open for the children's fexecve. */
static void
setup_fds(int verb)
{
	int devnull, exe_fd;

	while ((devnull = open("/dev/null", O_RDWR)) != -1 && devnull <= 2)
		;
	if (devnull > 2)
		close(devnull);
	exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe_fd == -1)
		fatal("/proc/self/exe");
	spawn_init(exe_fd, verb);
}

int
master_main(const char *path, const struct conf *c, int foreground, int verb)
{
	master.conf = *c;
	master.conf_path = path;
	setup_fds(verb);
	prepare_dirs();
	if (bind_all(&master.conf, master.listen_fds, NULL, NULL) == -1)
		exit(1);
	master.ctl_listen_fd = ctl_socket_open(&master.conf);
	master.started_unix = (uint64_t)time(NULL);
	if (!foreground)
		daemonize();
	log_init_master(foreground, master.conf.syslog_facility);
	if (!foreground)
		write_pidfile();
	setup_signals();
	if (geteuid() != 0)
		log_info("running as uid %u, not root: children keep this uid, "
		    "unjailed but sandboxed", (unsigned)geteuid());
	for (uint32_t i = 0; i < master.conf.nlisten; i++)
		log_info("listening on %s (%s)", master.conf.listen[i].text,
		    listen_kind_name(master.conf.listen[i].kind));
	log_info("postern starting: hostname %s", master.conf.hostname);
	event_loop();
	ctl_socket_close(&master.conf, master.ctl_listen_fd);
	if (!foreground)
		unlink(master.conf.pidfile);
	log_info("postern stopped");
	return 0;
}
