/*
 * The master: root, binds the listeners, starts the store and the worker
 * pools (fork + exec of our own binary with fixed descriptors), keeps the
 * pools between min-spare and max, respawns the dead with back-off, writes
 * every child's log lines, reloads on SIGHUP and stops on SIGTERM.  It reads
 * no network input: only the config file and its children's messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "../privsep/event.h"
#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/proc.h"
#include "../privsep/util.h"
#include "admit.h"
#include "fdlimit.h"
#include "control.h"
#include "ctl_state.h"
#include "master.h"
#include "parse.h"

struct child {
	pid_t pid;
	enum role role;
	int ctl;                 /* our end of its control channel */
	int busy;
	int admitted;            /* busy with a session admit() let in (not a refusal) */
	int retiring;            /* told to exit; not counted in the pool */
	int stop_sent;           /* the final MSG_SHUTDOWN went out */
	uint32_t sessions;
	uint64_t started, idle_since;
	char client[LIM_ADDR];   /* read from client_fd, never the worker's word */
	int client_fd;           /* the busy worker's client socket (admit.h) */
	uint64_t busy_since;             /* when the session in progress began */
	char account[LIM_NAME + 1];      /* its account once logged in (MSG_EVENT) */
};

/* The whole struct travels in one MSG_CONF. */
_Static_assert(sizeof(struct conf) <= IPC_MAX_PAYLOAD, "struct conf outgrew one message");

static struct conf conf;
static const char *conf_path;
static int exe_fd = -1;
static int verbose;
static int listen_fds[CONF_MAX_LISTEN];

static struct child *kids;
static size_t nkids, kids_cap;

static int sigpipe_fd[2] = { -1, -1 };

/* The helper processes: the store and the keyholder, which every worker
 * has a channel to, and the auth process, which only the store talks to. */
struct helper {
	enum role role;
	pid_t pid;               /* 0: not running */
	int ctl;
	int ready;
	int first_pending;       /* its first load decides whether we start */
	uint64_t next_start;
	uint32_t failures;
	uint32_t restarts;       /* deaths since start (posternctl status) */
};
static struct helper store = { ROLE_STORE, 0, -1, 0, 1, 0, 0, 0 };
static struct helper keyh = { ROLE_KEYHOLDER, 0, -1, 0, 1, 0, 0, 0 };
static struct helper authh = { ROLE_AUTH, 0, -1, 0, 1, 0, 0, 0 };
/* the auth process has been ready once: the POP3 pool waits for that,
 * and nothing waits for a restart (pool_helpers_ready) */
static int auth_was_ready;
/* After SIGHUP: the keyholder with the new certificates, until it has
 * loaded them.  The running one serves until then, and stays if the new
 * files are bad. */
static struct helper keyh_next = { ROLE_KEYHOLDER, 0, -1, 0, 0, 0, 0, 0 };
/* The control process (posternctl): started once the store is ready, with
 * the control socket and a channel to the store; restarted with back-off. */
static struct helper ctlh = { ROLE_CONTROL, 0, -1, 0, 0, 0, 0, 0 };
static int ctl_listen_fd = -1;

/* posternctl status / stats: counted here from admission verdicts and the
 * workers' MSG_EVENTs (privsep/event.h). */
static struct ctl_counters counters;
static uint64_t started_unix;

/* posternctl: defined at the end of this file. */
static void control_start(void);
static void count_admission(enum service svc, uint32_t verdict);
static int count_event(struct child *k, struct ipc_msg *m);
static int control_request(struct child *k, struct ipc_msg *m);
static int reload(void);
static void begin_stop(void);

static uint64_t next_spawn[SVC_MAX];
static uint32_t spawn_failures[SVC_MAX];
/* a watched listening socket of the service was readable (pool_watch()) */
static int listen_ready[SVC_MAX];

static int stopping;
static uint64_t stop_deadline;

static uint64_t backoff(uint32_t failures);

static int
tls_wanted(void)
{
	return conf.tls_cert[0] != '\0';
}

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

static struct child *
child_add(void)
{
	if (nkids == kids_cap) {
		kids_cap = kids_cap ? kids_cap * 2 : 32;
		kids = xreallocarray(kids, kids_cap, sizeof(*kids));
	}
	memset(&kids[nkids], 0, sizeof(*kids));
	kids[nkids].client_fd = -1;
	return &kids[nkids++];
}

static struct child *
child_by_pid(pid_t pid)
{
	for (size_t i = 0; i < nkids; i++)
		if (kids[i].pid == pid)
			return &kids[i];
	return NULL;
}

static void
child_remove(struct child *k)
{
	if (k->ctl >= 0)
		close(k->ctl);
	admit_release(k->client_fd);
	*k = kids[--nkids];
}

static enum service
role_service(enum role r)
{
	return r == ROLE_SMTP ? SVC_SMTP : SVC_POP3;
}

static int
is_worker(const struct child *k)
{
	return k->role == ROLE_SMTP || k->role == ROLE_POP3;
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

/*
 * fork + exec of ourselves as role, with fd 3 = ctl, 4 = store channel,
 * 5 = keyholder channel, 6.. = the service's listeners.  Returns the pid
 * (parent), never returns in the child.
 */
static pid_t
spawn(enum role role, int ctl, int storefd, int keyfd, const int *lfds, int nl)
{
	pid_t pid = fork();

	if (pid == -1) {
		log_warn("fork");
		return -1;
	}
	if (pid == 0) {
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
		if (hstore >= 0 && dup2(hstore, FD_STORE) == -1)
			_exit(126);
		if (hstore < 0)
			close(FD_STORE);
		if (hkey >= 0 && dup2(hkey, FD_KEYHOLDER) == -1)
			_exit(126);
		if (hkey < 0)
			close(FD_KEYHOLDER);
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
	return pid;
}

static int
send_conf(int fd)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_CONF, 0);
	ipc_put_raw(&m, &conf, sizeof(conf));
	return ipc_send(fd, &m);
}

static int
send_u32(int fd, uint32_t type, uint32_t v)
{
	static struct ipc_msg m;

	ipc_init(&m, type, 0);
	ipc_put_u32(&m, v);
	return ipc_send(fd, &m);
}

/* Opens the accounts (and aliases) files and hands them to the store, or
 * the accounts file alone to the auth process. */
static void
send_accounts_to(const struct helper *h)
{
	static struct ipc_msg m;
	int afd, lfd = -1;

	afd = open(conf.accounts, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (afd == -1) {
		log_warn("%s", conf.accounts);
		return;
	}
	if (h == &store && conf.aliases[0] != '\0') {
		lfd = open(conf.aliases, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (lfd == -1) {
			log_warn("%s", conf.aliases);
			close(afd);
			return;
		}
	}
	ipc_init(&m, MSG_ACCOUNTS, 0);
	ipc_put_u32(&m, lfd >= 0);
	ipc_set_fd(&m, afd);
	if (ipc_send(h->ctl, &m) == -1)
		log_warn("sending accounts to the %s", role_name(h->role));
	close(afd);
	if (lfd >= 0) {
		ipc_init(&m, MSG_ALIASES, 0);
		ipc_set_fd(&m, lfd);
		if (ipc_send(h->ctl, &m) == -1)
			log_warn("sending aliases to the store");
		close(lfd);
	}
}

/*
 * Opens every certificate and key file (slot 0 the default, then each
 * tls-sni) and hands the descriptors to the keyholder, which parses them.
 */
static void
send_tls_files(int ctl)
{
	static struct ipc_msg m;
	uint32_t types[2] = { MSG_TLS_CERT, MSG_TLS_KEY };

	for (uint32_t slot = 0; slot <= conf.nsni && slot <= CONF_MAX_SNI; slot++) {
		const char *files[2] = {
			slot ? conf.sni[slot - 1].cert : conf.tls_cert,
			slot ? conf.sni[slot - 1].key : conf.tls_key,
		};

		for (int i = 0; i < 2; i++) {
			int fd = open(files[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

			if (fd == -1) {
				log_warn("%s", files[i]);
				continue;   /* the keyholder reports the missing file */
			}
			ipc_init(&m, types[i], 0);
			ipc_put_u32(&m, slot);
			ipc_set_fd(&m, fd);
			if (ipc_send(ctl, &m) == -1)
				log_warn("sending %s to the keyholder", files[i]);
			close(fd);
		}
	}
	ipc_init(&m, MSG_TLS_DONE, 0);
	if (ipc_send(ctl, &m) == -1)
		log_warn("talking to the keyholder");
}

/*
 * A fresh store<->auth channel, one end to each (MSG_AUTH_CHANNEL), when
 * both run: after either has been started.  Each replaces its old end;
 * checks pending on it get a temporary error in the store.
 */
static void
auth_link(void)
{
	static struct ipc_msg m;
	int sv[2];

	if (store.pid == 0 || authh.pid == 0)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair for the auth channel");
		return;
	}
	ipc_init(&m, MSG_AUTH_CHANNEL, 0);
	ipc_set_fd(&m, sv[0]);
	if (ipc_send(store.ctl, &m) == -1)
		log_warn("handing the auth channel to the store");
	ipc_init(&m, MSG_AUTH_CHANNEL, 0);
	ipc_set_fd(&m, sv[1]);
	if (ipc_send(authh.ctl, &m) == -1)
		log_warn("handing the auth channel to the auth process");
	close(sv[0]);
	close(sv[1]);
}

/* Starts the store, the keyholder or the auth process and gives it what
 * it loads. */
static void
helper_start(struct helper *h)
{
	int sv[2];
	struct child *k;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("cannot start the %s: socketpair", role_name(h->role));
		h->failures++;
		h->next_start = now_ms() + backoff(h->failures);
		return;
	}
	pid = spawn(h->role, sv[1], -1, -1, NULL, 0);
	close(sv[1]);
	if (pid == -1) {
		close(sv[0]);
		h->failures++;
		h->next_start = now_ms() + backoff(h->failures);
		return;
	}
	set_nonblock(sv[0], 1);
	k = child_add();
	k->pid = pid;
	k->role = h->role;
	k->ctl = sv[0];
	k->started = now_ms();
	h->pid = pid;
	h->ctl = sv[0];
	h->ready = 0;
	if (send_conf(h->ctl) == -1)
		log_warn("sending the configuration to the %s", role_name(h->role));
	if (h->role == ROLE_STORE || h->role == ROLE_AUTH) {
		send_accounts_to(h);
		auth_link();
	} else
		send_tls_files(h->ctl);
	log_debug("%s started, pid %d", role_name(h->role), (int)pid);
}

/* Hands the helper its end of a worker's channel, and closes ours. */
static void
helper_channel(struct helper *h, enum service svc, pid_t pid, int hend)
{
	static struct ipc_msg m;

	/* the helper believes the master, not the worker, about its kind */
	ipc_init(&m, MSG_CHANNEL, 0);
	ipc_put_u32(&m, svc == SVC_SMTP ? CHAN_SMTP : CHAN_POP3);
	ipc_put_u32(&m, (uint32_t)pid);
	ipc_set_fd(&m, hend);
	if (ipc_send(h->ctl, &m) == -1)
		log_warn("handing a channel to the %s", role_name(h->role));
	close(hend);
}

/*
 * Starts one worker for svc with fresh channels to the store (and the
 * keyholder).  Whatever the worker sends before the helper has taken its
 * end waits in the socket.  -1 (logged) when the channels or the process
 * cannot be made: the pool then backs off as after an early death.
 */
static int
worker_start(enum service svc)
{
	enum role role = svc == SVC_SMTP ? ROLE_SMTP : ROLE_POP3;
	int ctl[2], st[2], kc[2] = { -1, -1 }, lfds[CONF_MAX_LISTEN], nl = 0;
	struct child *k;
	pid_t pid;

	for (uint32_t i = 0; i < conf.nlisten; i++)
		if (listen_service(conf.listen[i].kind) == svc)
			lfds[nl++] = listen_fds[i];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) == -1) {
		log_warn("cannot start a %s worker: socketpair", role_name(role));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, st) == -1)
		goto fail_ctl;
	if (tls_wanted() && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, kc) == -1)
		goto fail_st;
	pid = spawn(role, ctl[1], st[1], kc[1], lfds, nl);
	close(ctl[1]);
	close(st[1]);
	if (kc[1] >= 0)
		close(kc[1]);
	if (pid == -1) {
		close(ctl[0]);
		close(st[0]);
		if (kc[0] >= 0)
			close(kc[0]);
		return -1;
	}
	helper_channel(&store, svc, pid, st[0]);
	if (kc[0] >= 0)
		helper_channel(&keyh, svc, pid, kc[0]);
	set_nonblock(ctl[0], 1);
	k = child_add();
	k->pid = pid;
	k->role = role;
	k->ctl = ctl[0];
	k->started = k->idle_since = now_ms();
	if (send_conf(k->ctl) == -1)
		log_warn("sending the configuration to %s worker %d",
		    role_name(role), (int)pid);
	return 0;
fail_st:
	close(st[0]);
	close(st[1]);
fail_ctl:
	log_warn("cannot start a %s worker: socketpair", role_name(role));
	close(ctl[0]);
	close(ctl[1]);
	return -1;
}

/*
 * Tells a child to go.  UINT32_MAX: after the session in progress, if any
 * (an idle worker leaves at once, and one that has just accepted a client
 * the master did not know of yet still serves it); another value: the
 * session in progress has that long (SIGTERM).
 */
static void
child_retire(struct child *k, uint32_t grace_ms)
{
	if (k->retiring && grace_ms == UINT32_MAX)
		return;
	k->retiring = 1;
	send_u32(k->ctl, MSG_SHUTDOWN, grace_ms);
}

static int
service_has_listeners(enum service svc)
{
	for (uint32_t i = 0; i < conf.nlisten; i++)
		if (listen_service(conf.listen[i].kind) == svc)
			return 1;
	return 0;
}

/* A service's workers that are not retiring, and how many of them are idle
 * (a worker just started counts as idle: it is about to accept). */
static void
pool_count(enum service svc, uint32_t *idle, uint32_t *total)
{
	*idle = *total = 0;
	for (size_t i = 0; i < nkids; i++) {
		const struct child *k = &kids[i];

		if (!is_worker(k) || role_service(k->role) != svc || k->retiring)
			continue;
		(*total)++;
		if (!k->busy)
			(*idle)++;
	}
}

/*
 * Connections waiting in a service's accept queues.  On Linux TCP_INFO of
 * a listening socket gives the queue's length in tcpi_unacked (and its
 * limit in tcpi_sacked); the master reads no byte of them.
 */
static uint32_t
pool_waiting(enum service svc)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < conf.nlisten; i++) {
		struct tcp_info ti;
		socklen_t sl = sizeof(ti);

		if (listen_service(conf.listen[i].kind) != svc || listen_fds[i] < 0)
			continue;
		memset(&ti, 0, sizeof(ti));
		if (getsockopt(listen_fds[i], IPPROTO_TCP, TCP_INFO, &ti, &sl) == 0 &&
		    ti.tcpi_state == TCP_LISTEN && ti.tcpi_unacked < 100000)
			n += ti.tcpi_unacked;
	}
	return n;
}

/* POP3 workers wait for the auth process's first start (a login before
 * it could only get a temporary error); SMTP never waits for it. */
static int
pool_helpers_ready(enum service svc)
{
	return svc != SVC_POP3 || auth_was_ready;
}

/* May the pool of svc start a worker now? */
static int
pool_may_grow(enum service svc, uint32_t total, uint64_t now)
{
	return total < conf.pool[svc].max + 1 && now >= next_spawn[svc];
}

/*
 * Keeps each pool between min-spare idle workers and max workers, plus one
 * idle worker for every connection waiting in the listen queue: a burst
 * gets its workers started together, not min-spare at a time, and with
 * min-spare 0 workers are started on demand only (the event loop watches
 * the listening sockets of a pool without an idle worker).
 */
static void
pool_maintain(void)
{
	uint64_t now = now_ms();

	if (stopping)
		return;
	if (store.pid == 0 && now >= store.next_start)
		helper_start(&store);
	if (tls_wanted() && keyh.pid == 0 && now >= keyh.next_start)
		helper_start(&keyh);
	if (ctl_listen_fd >= 0 && ctlh.pid == 0 && store.ready && now >= ctlh.next_start)
		control_start();
	if (authh.pid == 0 && now >= authh.next_start)
		helper_start(&authh);
	if (!store.ready || (tls_wanted() && !keyh.ready))
		return;
	for (int svc = 0; svc < SVC_MAX; svc++) {
		const struct pool_conf *p = &conf.pool[svc];
		uint32_t idle, total, want, waiting;

		if (!service_has_listeners(svc) || !pool_helpers_ready(svc))
			continue;
		pool_count(svc, &idle, &total);
		waiting = pool_waiting(svc);
		/* a readable listener is one client at least, whatever
		 * TCP_INFO said: the master must not poll it again for nothing */
		if (listen_ready[svc] && waiting == 0)
			waiting = 1;
		listen_ready[svc] = 0;
		want = p->min_spare + (waiting < p->max + 1 ? waiting : p->max + 1);
		if (idle < want && pool_may_grow(svc, total, now) && waiting > 0)
			log_debug("%s pool: %u connections waiting, %u idle workers, starting up to %u",
			    svc == SVC_SMTP ? "smtp" : "pop3", waiting, idle, want - idle);
		/* max serving workers, plus one that turns clients away with
		 * 421 / -ERR [SYS/TEMP] instead of leaving them in the backlog */
		while (idle < want && pool_may_grow(svc, total, now)) {
			if (worker_start(svc) == -1) {
				spawn_failures[svc]++;
				next_spawn[svc] = now + backoff(spawn_failures[svc]);
				break;
			}
			idle++;
			total++;
		}
		/* shrink: idle workers beyond those wanted that idled long
		 * enough (one started in this pass has idle_since > now) */
		for (size_t i = 0; i < nkids && idle > want; i++) {
			struct child *k = &kids[i];
			if (!is_worker(k) || role_service(k->role) != (enum service)svc ||
			    k->retiring || k->busy || k->idle_since > now ||
			    now - k->idle_since < POOL_IDLE_MS)
				continue;
			child_retire(k, UINT32_MAX);
			idle--;
		}
	}
}

/*
 * Adds to pfd the listening sockets of every pool that has no idle worker
 * and may grow: a connection there wakes the master, which starts a
 * worker for it (pool_maintain()).  Returns the new count.
 */
static size_t
pool_watch(struct pollfd *pfd, size_t n)
{
	uint64_t now = now_ms();

	if (stopping || !store.ready || (tls_wanted() && !keyh.ready))
		return n;
	for (int svc = 0; svc < SVC_MAX; svc++) {
		uint32_t idle, total;

		if (!pool_helpers_ready(svc))
			continue;
		pool_count(svc, &idle, &total);
		if (idle > 0 || !pool_may_grow(svc, total, now))
			continue;
		for (uint32_t i = 0; i < conf.nlisten; i++)
			if (listen_service(conf.listen[i].kind) == (enum service)svc &&
			    listen_fds[i] >= 0) {
				pfd[n].fd = listen_fds[i];
				pfd[n++].events = POLLIN;
			}
	}
	return n;
}

/*
 * Answers a worker that just accepted a client: may it serve it?  Only
 * admitted sessions count, this one included: a worker busy turning a
 * client away is not a session, so a flood of refusals cannot make a
 * well-behaved client look like one too many.
 */
static void
admit(struct child *k)
{
	enum service svc = role_service(k->role);
	uint32_t concurrent = 0, busy = 1, verdict;

	for (size_t i = 0; i < nkids; i++) {
		const struct child *o = &kids[i];
		if (o == k || !is_worker(o) || role_service(o->role) != svc ||
		    !o->busy || !o->admitted)
			continue;
		busy++;
		if (admit_same_client(o->client, k->client))   /* IPv6: one /64 */
			concurrent++;
	}
	verdict = admit_check(&conf, svc, k->client, concurrent, busy, now_ms());
	k->admitted = verdict == ADMIT_OK;
	count_admission(svc, verdict);
	if (verdict != ADMIT_OK)
		log_info("%s: refusing %s: %s", role_name(k->role), k->client,
		    verdict == ADMIT_PER_IP ? "too many sessions from this address" :
		    verdict == ADMIT_RATE ? "too many connections per minute" :
		    "every worker is busy");
	if (send_u32(k->ctl, MSG_ADMIT, verdict) == -1)
		log_warn("answering %s[%d]", role_name(k->role), (int)k->pid);
}

/* The new keyholder has its certificates: it takes over, the old one
 * leaves once its workers are gone, and the workers are renewed. */
static void
keyholder_switch(void)
{
	struct child *old = keyh.pid ? child_by_pid(keyh.pid) : NULL;

	if (old != NULL)
		child_retire(old, UINT32_MAX);
	keyh = keyh_next;
	keyh.first_pending = 0;
	memset(&keyh_next, 0, sizeof(keyh_next));
	keyh_next.role = ROLE_KEYHOLDER;
	keyh_next.ctl = -1;
	for (size_t i = 0; i < nkids; i++)
		if (is_worker(&kids[i]))
			child_retire(&kids[i], UINT32_MAX);
	log_info("reload: new TLS certificates in use");
}

/* The helper this child is, if it is the running store or keyholder. */
static struct helper *
helper_of(const struct child *k)
{
	if (k->pid == store.pid && k->role == ROLE_STORE)
		return &store;
	if (k->pid == keyh.pid && k->role == ROLE_KEYHOLDER)
		return &keyh;
	if (k->pid == keyh_next.pid && k->role == ROLE_KEYHOLDER)
		return &keyh_next;
	if (k->pid == ctlh.pid && k->role == ROLE_CONTROL)
		return &ctlh;
	if (k->pid == authh.pid && k->role == ROLE_AUTH)
		return &authh;
	return NULL;
}

/*
 * A child that breaks the control protocol is not trusted further: it is
 * killed, and the master stops reading it (reap() and the pool replace
 * it).  Its channel is closed here, so nothing more it sent is acted on.
 */
static void
child_misbehaved(struct child *k, const char *what)
{
	log_warnx("%s[%d] %s; killing it", role_name(k->role), (int)k->pid, what);
	kill(k->pid, SIGKILL);
	if (k->ctl >= 0)
		close(k->ctl);
	k->ctl = -1;
}

/*
 * A worker's MSG_STATUS.  Busy comes with the socket it accepted, and only
 * from an idle worker; the master takes the client's address from that
 * socket and keeps it until the worker says idle again, then shuts the
 * connection down (admit.h).  A connection already over (its client
 * reset it, or it was reported before) is turned away uncounted.
 * 0 done, -1 malformed.
 */
static int
worker_status(struct child *k, struct ipc_msg *m)
{
	uint32_t busy, sessions;
	int peer = 0;

	if (ipc_get_u32(m, &busy) != 0 || ipc_get_u32(m, &sessions) != 0 ||
	    ipc_end(m) != 0 || busy > 1 || (busy == 1) != (m->fd != -1) ||
	    (busy && k->busy))
		return -1;
	if (busy && (peer = admit_peer(m->fd, k->client, sizeof(k->client))) == -1) {
		ipc_drop_fd(m);
		child_misbehaved(k, "reported a client socket it did not accept");
		return 0;
	}
	admit_release(k->client_fd);
	k->client_fd = m->fd;       /* -1 when idle */
	m->fd = -1;
	k->busy = (int)busy;
	k->sessions = sessions;
	k->admitted = 0;
	k->account[0] = '\0';
	k->busy_since = now_ms();
	if (!busy) {
		k->client[0] = '\0';
		k->idle_since = now_ms();
	} else if (peer == 1) {
		/* the connection is over: nothing to serve, nothing counted */
		strlcpy_(k->client, "-", sizeof(k->client));
		log_debug("%s[%d]: its client is gone already", role_name(k->role), (int)k->pid);
		if (send_u32(k->ctl, MSG_ADMIT, ADMIT_FULL) == -1)
			log_warn("answering %s[%d]", role_name(k->role), (int)k->pid);
	} else {
		spawn_failures[role_service(k->role)] = 0;
		admit(k);
	}
	return 0;
}

static void
handle_child_msg(struct child *k, struct ipc_msg *m)
{
	char line[LIM_LOGLINE];
	uint32_t prio, ok;
	struct helper *h;

	switch (m->hdr.type) {
	case MSG_LOG:
		if (ipc_get_u32(m, &prio) == 0 && ipc_get_str(m, line, sizeof(line)) == 0 &&
		    ipc_end(m) == 0) {
			log_child(role_name(k->role), (int)k->pid, prio, line);
			return;
		}
		break;
	case MSG_STATUS:
		if (is_worker(k) && worker_status(k, m) == 0)
			return;
		break;
	case MSG_READY:
		if ((h = helper_of(k)) != NULL && ipc_end(m) == 0) {
			h->ready = 1;
			if (h == &authh)
				auth_was_ready = 1;
			log_debug("%s ready", role_name(k->role));
			if (h == &keyh_next)
				keyholder_switch();
			return;
		}
		break;
	case MSG_ACCOUNTS_R:
	case MSG_TLS_R:
		if ((h = helper_of(k)) != NULL &&
		    m->hdr.type == (h == &store || h == &authh ? MSG_ACCOUNTS_R : MSG_TLS_R) &&
		    ipc_get_u32(m, &ok) == 0 &&
		    ipc_get_str(m, line, sizeof(line)) == 0 && ipc_end(m) == 0) {
			if (!ok) {
				log_warnx("%s not loaded: %s", h == &store ? "accounts/aliases" :
				    h == &authh ? "accounts (auth)" : "TLS certificate/key", line);
				if (h->first_pending)
					fatalx("cannot start: %s", line);
				if (h == &keyh_next) {
					log_warnx("reload: keeping the running certificates");
					kill(k->pid, SIGKILL);
				}
			}
			h->first_pending = 0;
			return;
		}
		break;
	case MSG_EVENT:
		if (is_worker(k) && count_event(k, m) == 0)
			return;
		break;
	case MSG_CTL_QUERY:
	case MSG_CTL_RELOAD:
	case MSG_CTL_STOP:
		if (k->role == ROLE_CONTROL && helper_of(k) == &ctlh &&
		    control_request(k, m) == 0)
			return;
		break;
	default:
		break;
	}
	/* a child that speaks nonsense is not trusted further */
	ipc_drop_fd(m);
	snprintf(line, sizeof(line), "sent a malformed %s", msg_name(m->hdr.type));
	child_misbehaved(k, line);
}

/* Has the other end of a control channel gone (POLLHUP)? */
static int
channel_hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

static void
read_child(struct child *k)
{
	static struct ipc_msg m;

	for (int i = 0; i < CHILD_READ_PASS_COUNT && k->ctl >= 0; i++) {
		int r = ipc_recv(k->ctl, &m);

		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		/* a zero-length datagram reads like the end of the channel:
		 * only a hung-up channel is one */
		if (r == 0 && !channel_hung_up(k->ctl)) {
			child_misbehaved(k, "sent an empty message");
			return;
		}
		if (r == -1 && errno == EBADMSG) {
			child_misbehaved(k, "sent a malformed message");
			return;
		}
		if (r <= 0) {
			/* the child is dying; SIGCHLD does the rest */
			close(k->ctl);
			k->ctl = -1;
			return;
		}
		/* only a busy MSG_STATUS carries a descriptor */
		if (m.fd != -1 && m.hdr.type != MSG_STATUS) {
			ipc_drop_fd(&m);
			child_misbehaved(k, "sent a descriptor");
			return;
		}
		handle_child_msg(k, &m);
	}
}

/*
 * A dead child's last log lines (a fatal's reason, say) may still wait in
 * its control channel when SIGCHLD comes first: write them before the
 * exit status.  Only MSG_LOG is taken; the rest is moot, and its pid may
 * already belong to someone else.
 */
static void
drain_logs(struct child *k)
{
	static struct ipc_msg m;
	char line[LIM_LOGLINE];
	uint32_t prio;

	for (int i = 0; k->ctl >= 0 && i < CHILD_READ_PASS_COUNT; i++) {
		if (ipc_recv(k->ctl, &m) != 1)
			return;
		ipc_drop_fd(&m);
		if (m.hdr.type == MSG_LOG && ipc_get_u32(&m, &prio) == 0 &&
		    ipc_get_str(&m, line, sizeof(line)) == 0 && ipc_end(&m) == 0)
			log_child(role_name(k->role), (int)k->pid, prio, line);
	}
}

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

static uint64_t
backoff(uint32_t failures)
{
	uint64_t d = BACKOFF_MIN_MS;

	while (failures-- > 1 && d < BACKOFF_MAX_MS)
		d *= 2;
	return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

static void
reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *k = child_by_pid(pid);
		uint64_t now = now_ms();
		struct helper *h;
		int retired;

		if (k == NULL)
			continue;
		drain_logs(k);
		describe_exit(k, status);
		if ((h = helper_of(k)) == &keyh_next) {
			/* a replacement that failed: the running one stays */
			keyh_next.pid = 0;
			keyh_next.ctl = -1;
			child_remove(k);
			continue;
		}
		if (h != NULL) {
			h->pid = 0;
			h->ctl = -1;
			h->ready = 0;
			if (now - k->started < EARLY_DEATH_MS)
				h->failures++;
			else
				h->failures = 0;
			h->next_start = now + (h->failures ? backoff(h->failures) : 0);
			retired = k->retiring;
			if (h == &ctlh && retired) {    /* told to go: not a failure */
				h->failures = 0;
				h->next_start = now;
			}
			child_remove(k);
			if (!stopping && !(h == &ctlh && retired))
				h->restarts++;
			if (!stopping && h == &ctlh) {
				if (!retired)
					log_warnx("control died; restarting it");
			} else if (!stopping && h == &authh) {
				/* no worker talks to it: the store answers the
				 * logins it was checking with a temporary error,
				 * deliveries go on, and a new one gets a new
				 * channel to the store (auth_link) */
				log_warnx("auth died; restarting it (logins being checked get a "
				    "temporary error)");
			} else if (!stopping) {
				log_warnx("%s died; restarting it and recycling the workers",
				    role_name(h->role));
				/* every worker's channel led to the dead one
				 * (and the control process's, to the store) */
				for (size_t i = 0; i < nkids; i++)
					if (is_worker(&kids[i]) || (h == &store &&
					    kids[i].role == ROLE_CONTROL))
						child_retire(&kids[i], UINT32_MAX);
			}
			continue;
		}
		if (!is_worker(k)) {    /* a retired keyholder */
			child_remove(k);
			continue;
		}
		if (!k->retiring && k->sessions == 0 && !k->busy) {
			enum service svc = role_service(k->role);
			spawn_failures[svc]++;
			next_spawn[svc] = now + backoff(spawn_failures[svc]);
			log_warnx("%s worker died before serving; next start in %llu ms",
			    role_name(k->role), (unsigned long long)(next_spawn[svc] - now));
		}
		child_remove(k);
	}
}

static int
same_listener(const struct listener *a, const struct listener *b)
{
	return a->kind == b->kind && a->sslen == b->sslen &&
	    memcmp(&a->ss, &b->ss, a->sslen) == 0;
}

static int
bind_all(const struct conf *c, int *fds, const struct conf *old, const int *oldfds)
{
	for (uint32_t i = 0; i < c->nlisten; i++) {
		fds[i] = -1;
		for (uint32_t j = 0; old != NULL && j < old->nlisten; j++)
			if (same_listener(&c->listen[i], &old->listen[j]) && oldfds[j] >= 0) {
				fds[i] = dup(oldfds[j]);
				if (fds[i] >= 0)
					set_cloexec(fds[i], 1);
				break;
			}
		if (fds[i] == -1)
			fds[i] = listener_bind(&c->listen[i]);
		if (fds[i] == -1) {
			log_warn("%s:%d: cannot listen on %s", c->path, c->listen[i].line,
			    c->listen[i].text);
			for (uint32_t k = 0; k < i; k++)
				close(fds[k]);
			return -1;
		}
	}
	return 0;
}

static int
reload(void)
{
	static struct conf nc;
	int nfds[CONF_MAX_LISTEN];

	log_info("SIGHUP: reloading %s", conf_path);
	if (conf_parse_file(conf_path, &nc) != 0) {
		log_warnx("reload: %s has errors (see above); keeping the running configuration",
		    conf_path);
		return -1;
	}
	{
		char err[300];

		if (fd_limit_apply(&nc, err, sizeof(err)) == -1) {
			log_warnx("reload: %s; keeping the running configuration", err);
			return -1;
		}
	}
	if (strcmp(nc.spool, conf.spool) != 0 || strcmp(nc.store_user, conf.store_user) != 0)
		log_warnx("reload: spool and store-user changes take effect at restart");
	if (strcmp(nc.auth_user, conf.auth_user) != 0)
		log_warnx("reload: an auth-user change takes effect at restart");
	if (bind_all(&nc, nfds, &conf, listen_fds) == -1) {
		log_warnx("reload: keeping the running configuration");
		return -1;
	}
	for (uint32_t i = 0; i < conf.nlisten; i++)
		close(listen_fds[i]);
	memcpy(listen_fds, nfds, sizeof(nfds));
	strlcpy_(nc.spool, conf.spool, sizeof(nc.spool));
	strlcpy_(nc.store_user, conf.store_user, sizeof(nc.store_user));
	if (strcmp(nc.control_socket, conf.control_socket) != 0 ||
	    strcmp(nc.control_group, conf.control_group) != 0 ||
	    nc.control_mode != conf.control_mode)
		log_warnx("reload: control-socket, control-group and control-mode "
		    "changes take effect at restart");
	strlcpy_(nc.control_socket, conf.control_socket, sizeof(nc.control_socket));
	strlcpy_(nc.control_group, conf.control_group, sizeof(nc.control_group));
	nc.control_mode = conf.control_mode;
	strlcpy_(nc.auth_user, conf.auth_user, sizeof(nc.auth_user));
	conf = nc;
	if (store.pid != 0) {
		if (send_conf(store.ctl) == -1)
			log_warn("sending the new configuration to the store");
		send_accounts_to(&store);
	}
	if (authh.pid != 0) {
		if (send_conf(authh.ctl) == -1)
			log_warn("sending the new configuration to the auth process");
		send_accounts_to(&authh);
	}
	/* a new keyholder with the renewed certificates; it takes over once
	 * it has loaded them (keyholder_switch), so bad new files leave the
	 * running one in place */
	if (keyh_next.pid != 0) {
		kill(keyh_next.pid, SIGKILL);   /* a reload still in flight */
		keyh_next.pid = 0;
	}
	if (tls_wanted() && keyh.pid != 0)
		helper_start(&keyh_next);
	else if (!tls_wanted() && keyh.pid != 0) {
		struct child *k = child_by_pid(keyh.pid);
		if (k != NULL)
			child_retire(k, UINT32_MAX);
		keyh.pid = 0;
		keyh.ctl = -1;
		keyh.ready = 0;
	}
	keyh.failures = 0;
	keyh.next_start = 0;
	/* the running workers finish their sessions; new ones take over */
	for (size_t i = 0; i < nkids; i++)
		if (is_worker(&kids[i]))
			child_retire(&kids[i], UINT32_MAX);
	for (int svc = 0; svc < SVC_MAX; svc++) {
		spawn_failures[svc] = 0;
		next_spawn[svc] = 0;
	}
	log_info("reload: configuration %s in effect", conf_path);
	return 0;
}

static void
begin_stop(void)
{
	if (stopping)
		return;
	stopping = 1;
	stop_deadline = now_ms() + conf.shutdown_grace_ms + STOP_SLACK_MS;
	log_info("stopping: sessions in progress have %u ms", conf.shutdown_grace_ms);
	for (uint32_t i = 0; i < conf.nlisten; i++) {
		close(listen_fds[i]);
		listen_fds[i] = -1;
	}
	for (size_t i = 0; i < nkids; i++)
		if (is_worker(&kids[i]))
			child_retire(&kids[i], kids[i].busy ? conf.shutdown_grace_ms : 0);
}

/* Once the workers are gone the store may stop: nothing can ask it more. */
static void
stop_progress(void)
{
	int workers = 0;

	for (size_t i = 0; i < nkids; i++)
		if (is_worker(&kids[i]))
			workers++;
	for (size_t i = 0; workers == 0 && i < nkids; i++) {
		struct child *k = &kids[i];
		if (!k->stop_sent) {
			k->retiring = k->stop_sent = 1;
			if (k->ctl >= 0)
				send_u32(k->ctl, MSG_SHUTDOWN, 0);
		}
	}
	if (now_ms() >= stop_deadline) {
		for (size_t i = 0; i < nkids; i++) {
			log_warnx("%s[%d] did not stop in time; killing it",
			    role_name(kids[i].role), (int)kids[i].pid);
			kill(kids[i].pid, SIGKILL);
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
		for (ssize_t i = 0; i < n; i++) {
			switch (sigs[i]) {
			case SIGCHLD:
				reap();
				break;
			case SIGHUP:
				if (!stopping)
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

static void
event_loop(void)
{
	struct pollfd *pfd = NULL;
	size_t pcap = 0;

	for (;;) {
		size_t n = 0, nk;
		int r;

		handle_signals();
		if (stopping) {
			stop_progress();
			if (nkids == 0) {
				free(pfd);
				return;
			}
		} else
			pool_maintain();
		if (pfd == NULL || pcap < nkids + 1 + CONF_MAX_LISTEN) {
			pcap = nkids + 16 + CONF_MAX_LISTEN;
			pfd = xreallocarray(pfd, pcap, sizeof(*pfd));
		}
		pfd[n].fd = sigpipe_fd[0];
		pfd[n++].events = POLLIN;
		for (size_t i = 0; i < nkids; i++) {
			pfd[n].fd = kids[i].ctl;   /* -1 is ignored by poll */
			pfd[n++].events = POLLIN;
		}
		nk = n;
		n = pool_watch(pfd, n);
		r = poll(pfd, (nfds_t)n, TICK_MS);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		/* a listening socket (after nk): the next pool_maintain()
		 * starts a worker for it */
		for (size_t i = nk; i < n; i++)
			if (pfd[i].revents != 0)
				for (uint32_t l = 0; l < conf.nlisten; l++)
					if (listen_fds[l] == pfd[i].fd)
						listen_ready[listen_service(conf.listen[l].kind)] = 1;
		/* kids[] may shrink while reading: walk by pid */
		for (size_t i = 1; i < nk; i++) {
			if (pfd[i].revents == 0 || pfd[i].fd < 0)
				continue;
			for (size_t j = 0; j < nkids; j++)
				if (kids[j].ctl == pfd[i].fd) {
					read_child(&kids[j]);
					break;
				}
		}
	}
}

/* ---- posternctl: the control process, the counters, the snapshot ---- */

/*
 * Starts the control process with the control socket at FD_LISTEN_FIRST
 * and a fresh channel to the store (kind CHAN_CONTROL: the store answers
 * MSG_MBOX_STAT on it and nothing else).
 */
static void
control_start(void)
{
	static struct ipc_msg m;
	int sv[2], st[2];
	struct child *k;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, st) == -1) {
		log_warn("socketpair");
		close(sv[0]);
		close(sv[1]);
		return;
	}
	pid = spawn(ROLE_CONTROL, sv[1], st[1], -1, &ctl_listen_fd, 1);
	close(sv[1]);
	close(st[1]);
	if (pid == -1) {
		close(sv[0]);
		close(st[0]);
		ctlh.next_start = now_ms() + backoff(++ctlh.failures);
		return;
	}
	ipc_init(&m, MSG_CHANNEL, 0);
	ipc_put_u32(&m, CHAN_CONTROL);
	ipc_put_u32(&m, (uint32_t)pid);
	ipc_set_fd(&m, st[0]);
	if (ipc_send(store.ctl, &m) == -1)
		log_warn("handing the control channel to the store");
	close(st[0]);
	set_nonblock(sv[0], 1);
	k = child_add();
	k->pid = pid;
	k->role = ROLE_CONTROL;
	k->ctl = sv[0];
	k->started = now_ms();
	ctlh.pid = pid;
	ctlh.ctl = sv[0];
	ctlh.ready = 0;
	if (send_conf(ctlh.ctl) == -1)
		log_warn("sending the configuration to the control process");
	log_debug("control started, pid %d", (int)pid);
}

static void
count_admission(enum service svc, uint32_t verdict)
{
	switch (verdict) {
	case ADMIT_OK:
		counters.sessions[svc]++;
		break;
	case ADMIT_PER_IP:
		counters.refused[RF_PER_IP]++;
		break;
	case ADMIT_RATE:
		counters.refused[RF_RATE]++;
		break;
	default:
		counters.refused[RF_POOL_FULL]++;
		break;
	}
}

/*
 * A worker's MSG_EVENT.  Believed only within what that worker may know:
 * the service's own events, during a session the master admitted, reasons
 * the worker itself decides (not the master's admission refusals), and an
 * account that is a valid name.  -1: malformed, the worker is killed.
 */
static int
count_event(struct child *k, struct ipc_msg *m)
{
	uint32_t kind, reason, count;
	char account[LIM_NAME + 1];
	int smtp = k->role == ROLE_SMTP;

	if (ipc_get_u32(m, &kind) == -1 || ipc_get_u32(m, &reason) == -1 ||
	    ipc_get_u32(m, &count) == -1 ||
	    ipc_get_str(m, account, sizeof(account)) == -1 || ipc_end(m) == -1)
		return -1;
	if (!k->busy || !k->admitted)
		return -1;
	if (kind != EV_LOGIN_OK && account[0] != '\0')
		return -1;
	if (kind != EV_DELIVERED && count != 1)
		return -1;
	switch (kind) {
	case EV_DELIVERED:
		if (!smtp || reason != 0 || count == 0 || count > LIM_APPEND_ACCOUNTS)
			return -1;
		counters.delivered++;
		counters.delivered_rcpts += count;
		return 0;
	case EV_REFUSED:
		if (!smtp || reason < RF_RELAY || reason >= RF_MAX)
			return -1;
		counters.refused[reason]++;
		return 0;
	case EV_TEMPFAIL:
		if (reason >= TF_MAX)
			return -1;
		counters.tempfail[reason]++;
		return 0;
	case EV_LOGIN_OK:
		if (smtp || reason != 0 || !name_ok(account) || k->account[0] != '\0')
			return -1;
		strlcpy_(k->account, account, sizeof(k->account));
		counters.login_ok++;
		return 0;
	case EV_LOGIN_FAIL:
		if (smtp || reason != 0)
			return -1;
		counters.login_fail++;
		return 0;
	default:
		return -1;
	}
}

static uint32_t
helper_state(const struct helper *h)
{
	if (h->pid == 0)
		return h == &keyh && !tls_wanted() ? HS_UNUSED : HS_DOWN;
	return h->ready ? HS_RUNNING : HS_STARTING;
}

static void
fill_state(struct ctl_state *st)
{
	uint64_t now = now_ms();

	memset(st, 0, sizeof(*st));
	st->started = started_unix;
	st->now = (uint64_t)time(NULL);
	st->master_pid = (uint32_t)getpid();
	strlcpy_(st->conf_path, conf_path, sizeof(st->conf_path));
	for (int svc = 0; svc < SVC_MAX; svc++) {
		uint32_t idle, total;

		pool_count(svc, &idle, &total);
		st->pool[svc].min_spare = conf.pool[svc].min_spare;
		st->pool[svc].max = conf.pool[svc].max;
		st->pool[svc].busy = total - idle;
		st->pool[svc].idle = idle;
		st->pool[svc].listening = (uint32_t)service_has_listeners(svc);
	}
	st->helper[CH_STORE].state = helper_state(&store);
	st->helper[CH_STORE].pid = (uint32_t)store.pid;
	st->helper[CH_STORE].restarts = store.restarts;
	st->helper[CH_KEYHOLDER].state = helper_state(&keyh);
	st->helper[CH_KEYHOLDER].pid = (uint32_t)keyh.pid;
	st->helper[CH_KEYHOLDER].restarts = keyh.restarts;
	st->c = counters;
	for (size_t i = 0; i < nkids; i++) {
		const struct child *k = &kids[i];
		struct ctl_session *s;

		if (!is_worker(k) || !k->busy || !k->admitted)
			continue;
		if (st->nsessions_total++ >= CTL_SESSIONS_MAX_COUNT)
			continue;
		s = &st->sess[st->nsessions++];
		s->service = role_service(k->role);
		s->pid = (uint32_t)k->pid;
		s->seconds = (now - k->busy_since) / 1000;
		strlcpy_(s->client, k->client, sizeof(s->client));
		strlcpy_(s->account, k->account, sizeof(s->account));
	}
}

static void
control_done(struct child *k, uint32_t id, int ok, const char *text)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_CTL_DONE, id);
	ipc_put_u32(&m, (uint32_t)ok);
	ipc_put_str(&m, text);
	if (ipc_send(k->ctl, &m) == -1)
		log_warn("answering the control process");
}

/* MSG_CTL_QUERY / RELOAD / STOP from the control process.  -1: malformed. */
static int
control_request(struct child *k, struct ipc_msg *m)
{
	static struct ipc_msg a;
	static struct ctl_state st;
	uint32_t uid;

	if (m->hdr.type == MSG_CTL_QUERY) {
		if (ipc_end(m) == -1)
			return -1;
		fill_state(&st);
		ipc_init(&a, MSG_CTL_STATE, m->hdr.id);
		ctl_state_put(&a, &st);
		if (ipc_send(k->ctl, &a) == -1)
			log_warn("sending the state to the control process");
		return 0;
	}
	if (ipc_get_u32(m, &uid) == -1 || ipc_end(m) == -1)
		return -1;
	if (m->hdr.type == MSG_CTL_RELOAD) {
		log_info("posternctl reload by uid %u", uid);
		if (stopping)
			control_done(k, m->hdr.id, 0, "the daemon is stopping");
		else if (reload() == 0)
			control_done(k, m->hdr.id, 1, "configuration reloaded");
		else
			control_done(k, m->hdr.id, 0, "the new configuration was not "
			    "applied (see the log); the running one is kept");
		return 0;
	}
	log_info("posternctl stop by uid %u", uid);
	control_done(k, m->hdr.id, 1, "stopping");
	begin_stop();
	return 0;
}

/* As root: the users exist, the spool belongs to the store user, the
 * workers' jail is an empty root-owned directory. */
static void
prepare_dirs(void)
{
	struct passwd *pw;
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (geteuid() != 0) {
		if (mkdir(conf.spool, 0700) == -1 && errno != EEXIST)
			fatal("%s", conf.spool);
		return;
	}
	if (getpwnam(conf.user) == NULL)
		fatalx("user %s (the workers' user) does not exist", conf.user);
	if ((pw = getpwnam(conf.auth_user)) == NULL)
		fatalx("user %s (the auth process's user, auth-user) does not exist",
		    conf.auth_user);
	if (pw->pw_uid == 0)
		fatalx("auth-user %s must not be root", conf.auth_user);
	if ((pw = getpwnam(conf.store_user)) == NULL)
		fatalx("user %s (the store's user) does not exist", conf.store_user);
	if (pw->pw_uid == 0)
		fatalx("store-user %s must not be root", conf.store_user);
	if (mkdir(conf.spool, 0700) == 0) {
		if (chown(conf.spool, pw->pw_uid, pw->pw_gid) == -1)
			fatal("chown %s", conf.spool);
		log_info("created spool %s owned by %s", conf.spool, conf.store_user);
	} else if (errno != EEXIST)
		fatal("mkdir %s", conf.spool);
	if (lstat(conf.spool, &st) == -1 || !S_ISDIR(st.st_mode))
		fatalx("spool %s is not a directory", conf.spool);
	if (st.st_uid != pw->pw_uid)
		fatalx("spool %s is owned by uid %u, not by %s (chown it)", conf.spool,
		    (unsigned)st.st_uid, conf.store_user);
	if (st.st_mode & 077)
		log_warnx("spool %s is mode %03o; 0700 is advised", conf.spool,
		    (unsigned)(st.st_mode & 0777));

	if (mkdir(conf.empty_dir, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", conf.empty_dir);
	if (lstat(conf.empty_dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != 0 || (st.st_mode & 022))
		fatalx("empty-dir %s must be a directory owned by root, not writable by others",
		    conf.empty_dir);
	if ((d = opendir(conf.empty_dir)) == NULL)
		fatal("%s", conf.empty_dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			fatalx("empty-dir %s is not empty (%s)", conf.empty_dir, de->d_name);
	closedir(d);
}

static void
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

static void
write_pidfile(void)
{
	char buf[32];
	int fd;

	fd = open(conf.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_warn("pidfile %s", conf.pidfile);
		return;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write_all(fd, buf, strlen(buf)) == -1)
		log_warn("pidfile %s", conf.pidfile);
	close(fd);
}

int
master_main(const char *path, const struct conf *c, int foreground, int verb)
{
	int devnull;

	conf = *c;
	conf_path = path;
	verbose = verb;
	/* fds 0-2 exist, so nothing we open lands on them */
	while ((devnull = open("/dev/null", O_RDWR)) != -1 && devnull <= 2)
		;
	if (devnull > 2)
		close(devnull);
	exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe_fd == -1)
		fatal("/proc/self/exe");
	prepare_dirs();
	if (bind_all(&conf, listen_fds, NULL, NULL) == -1)
		exit(1);
	ctl_listen_fd = ctl_socket_open(&conf);
	started_unix = (uint64_t)time(NULL);
	if (!foreground)
		daemonize();
	log_init_master(foreground, conf.syslog_facility);
	if (!foreground)
		write_pidfile();
	setup_signals();
	if (geteuid() != 0)
		log_info("running as uid %u, not root: children keep this uid, "
		    "unjailed but sandboxed", (unsigned)geteuid());
	for (uint32_t i = 0; i < conf.nlisten; i++)
		log_info("listening on %s (%s)", conf.listen[i].text,
		    listen_kind_name(conf.listen[i].kind));
	log_info("postern starting: hostname %s", conf.hostname);
	event_loop();
	ctl_socket_close(&conf, ctl_listen_fd);
	if (!foreground)
		unlink(conf.pidfile);
	log_info("postern stopped");
	return 0;
}
