/*
 * The helper processes: the store, the keyholder, the auth process and
 * the control process.  Starting each (and what it is handed: the
 * configuration, the accounts, aliases and TLS files the master opens,
 * its channels to the others), its ready and load reports, the keyholder
 * switch after a reload, and its restart with back-off when it dies.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "master_int.h"

int
tls_wanted(void)
{
	return master.conf.tls_cert[0] != '\0';
}

/* The helpers every worker talks to are ready: pools may start workers. */
int
helpers_ready(void)
{
	return master.store.ready && (!tls_wanted() || master.keyh.ready);
}

/* Opens the accounts (and aliases) files and hands them to the store, or
 * the accounts file alone to the auth process. */
void
send_accounts_to(const struct helper *h)
{
	static struct ipc_msg m;
	const struct conf *c = &master.conf;
	int afd, lfd = -1;

	afd = open(c->accounts, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (afd == -1) {
		log_warn("%s", c->accounts);
		return;
	}
	if (h == &master.store && c->aliases[0] != '\0') {
		lfd = open(c->aliases, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (lfd == -1) {
			log_warn("%s", c->aliases);
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
	const struct conf *c = &master.conf;
	uint32_t types[2] = { MSG_TLS_CERT, MSG_TLS_KEY };

	for (uint32_t slot = 0; slot <= c->nsni && slot <= CONF_MAX_SNI; slot++) {
		const char *files[2] = {
			slot ? c->sni[slot - 1].cert : c->tls_cert,
			slot ? c->sni[slot - 1].key : c->tls_key,
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

	if (master.store.pid == 0 || master.authh.pid == 0)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair for the auth channel");
		return;
	}
	ipc_init(&m, MSG_AUTH_CHANNEL, 0);
	ipc_set_fd(&m, sv[0]);
	if (ipc_send(master.store.ctl, &m) == -1)
		log_warn("handing the auth channel to the store");
	ipc_init(&m, MSG_AUTH_CHANNEL, 0);
	ipc_set_fd(&m, sv[1]);
	if (ipc_send(master.authh.ctl, &m) == -1)
		log_warn("handing the auth channel to the auth process");
	close(sv[0]);
	close(sv[1]);
}

/* The started helper's entry in the child table; h runs it. */
static void
helper_add(struct helper *h, pid_t pid, int ctl)
{
	struct child *k;

	set_nonblock(ctl, 1);
	k = child_add();
	k->pid = pid;
	k->role = h->role;
	k->ctl = ctl;
	k->started = now_ms();
	h->pid = pid;
	h->ctl = ctl;
	h->ready = 0;
}

/* Starts the store, the keyholder or the auth process and gives it what
 * it loads. */
void
helper_start(struct helper *h)
{
	int sv[2];
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
	helper_add(h, pid, sv[0]);
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
void
helper_channel(struct helper *h, enum service svc, pid_t pid, int hend)
{
	static struct ipc_msg m;

	/* the helper believes the master, not the worker, about its kind */
	ipc_init(&m, MSG_CHANNEL, 0);
	ipc_put_u32(&m, svc == SVC_SMTP ? CHAN_SMTP : svc == SVC_IMAP ? CHAN_IMAP : CHAN_POP3);
	ipc_put_u32(&m, (uint32_t)pid);
	ipc_set_fd(&m, hend);
	if (ipc_send(h->ctl, &m) == -1)
		log_warn("handing a channel to the %s", role_name(h->role));
	close(hend);
}

/*
 * Starts the control process with the control socket at FD_LISTEN_FIRST
 * and a fresh channel to the store (kind CHAN_CONTROL: the store answers
 * MSG_MBOX_STAT on it and nothing else).
 */
static void
control_start(void)
{
	static struct ipc_msg m;
	struct helper *h = &master.ctlh;
	int sv[2], st[2];
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
	pid = spawn(ROLE_CONTROL, sv[1], st[1], -1, &master.ctl_listen_fd, 1);
	close(sv[1]);
	close(st[1]);
	if (pid == -1) {
		close(sv[0]);
		close(st[0]);
		h->next_start = now_ms() + backoff(++h->failures);
		return;
	}
	ipc_init(&m, MSG_CHANNEL, 0);
	ipc_put_u32(&m, CHAN_CONTROL);
	ipc_put_u32(&m, (uint32_t)pid);
	ipc_set_fd(&m, st[0]);
	if (ipc_send(master.store.ctl, &m) == -1)
		log_warn("handing the control channel to the store");
	close(st[0]);
	helper_add(h, pid, sv[0]);
	if (send_conf(h->ctl) == -1)
		log_warn("sending the configuration to the control process");
	log_debug("control started, pid %d", (int)pid);
}

/* Starts every helper that should run and does not, once its back-off
 * delay is over; the control process waits for a ready store and for a
 * client (control_watch()). */
void
helpers_maintain(uint64_t now)
{
	if (master.store.pid == 0 && now >= master.store.next_start)
		helper_start(&master.store);
	if (tls_wanted() && master.keyh.pid == 0 && now >= master.keyh.next_start)
		helper_start(&master.keyh);
	if (master.ctl_listen_fd >= 0 && master.ctlh.pid == 0 && master.store.ready &&
	    master.ctl_demand && now >= master.ctlh.next_start) {
		master.ctl_demand = 0;
		control_start();
	}
	if (master.authh.pid == 0 && now >= master.authh.next_start)
		helper_start(&master.authh);
}

/*
 * Adds the control socket to pfd while no control process runs and none
 * is due: a client there wakes the master, which starts one
 * (helpers_maintain()).  Returns the new count.
 */
size_t
control_watch(struct pollfd *pfd, size_t n)
{
	if (master.ctl_listen_fd < 0 || master.ctlh.pid != 0 || master.ctl_demand ||
	    !master.store.ready || master.stopping)
		return n;
	pfd[n].fd = master.ctl_listen_fd;
	pfd[n++].events = POLLIN;
	return n;
}

/* The helper this child is, if it is a running (or next) helper. */
struct helper *
helper_of(const struct child *k)
{
	if (k->pid == master.store.pid && k->role == ROLE_STORE)
		return &master.store;
	if (k->pid == master.keyh.pid && k->role == ROLE_KEYHOLDER)
		return &master.keyh;
	if (k->pid == master.keyh_next.pid && k->role == ROLE_KEYHOLDER)
		return &master.keyh_next;
	if (k->pid == master.ctlh.pid && k->role == ROLE_CONTROL)
		return &master.ctlh;
	if (k->pid == master.authh.pid && k->role == ROLE_AUTH)
		return &master.authh;
	return NULL;
}

/* The new keyholder has its certificates: it takes over, the old one
 * leaves once its workers are gone, and the workers are renewed. */
static void
keyholder_switch(void)
{
	struct child *old = master.keyh.pid ? child_by_pid(master.keyh.pid) : NULL;

	if (old != NULL)
		child_retire(old, UINT32_MAX);
	master.keyh = master.keyh_next;
	master.keyh.first_pending = 0;
	memset(&master.keyh_next, 0, sizeof(master.keyh_next));
	master.keyh_next.role = ROLE_KEYHOLDER;
	master.keyh_next.ctl = -1;
	workers_retire();
	log_info("reload: new TLS certificates in use");
}

/* A helper's MSG_READY: jailed and serving. */
void
helper_is_ready(struct child *k, struct helper *h)
{
	h->ready = 1;
	if (h == &master.authh)
		master.auth_was_ready = 1;
	log_debug("%s ready", role_name(k->role));
	if (h == &master.keyh_next)
		keyholder_switch();
}

/* A helper's MSG_ACCOUNTS_R / MSG_TLS_R: did the files it was handed load?
 * The first failure stops the master from starting; a new keyholder's
 * failure after a reload leaves the running one in place. */
void
helper_loaded(struct child *k, struct helper *h, uint32_t ok, const char *why)
{
	if (!ok) {
		log_warnx("%s not loaded: %s", h == &master.store ? "accounts/aliases" :
		    h == &master.authh ? "accounts (auth)" : "TLS certificate/key", why);
		if (h->first_pending)
			fatalx("cannot start: %s", why);
		if (h == &master.keyh_next) {
			log_warnx("reload: keeping the running certificates");
			kill(k->pid, SIGKILL);
		}
	}
	h->first_pending = 0;
}

/* The dead helper's restart delay: none after a long life, growing after
 * early deaths; the control process told to go is no failure.  Returns
 * whether the death counts as a restart. */
static int
helper_schedule(struct helper *h, const struct child *k, uint64_t now)
{
	int retired = k->retiring;

	h->pid = 0;
	h->ctl = -1;
	h->ready = 0;
	if (now - k->started < EARLY_DEATH_MS)
		h->failures++;
	else
		h->failures = 0;
	h->next_start = now + (h->failures ? backoff(h->failures) : 0);
	if (h == &master.ctlh && retired) {    /* told to go: not a failure */
		h->failures = 0;
		h->next_start = now;
	}
	return !(h == &master.ctlh && retired);
}

/*
 * A reaped helper (k, still in the child table, is removed here).  A new
 * keyholder that failed leaves the running one; any other is restarted
 * (pool_maintain), and the workers whose channels led to it recycled.
 */
void
helper_died(struct helper *h, struct child *k, uint64_t now)
{
	int counted, retired = k->retiring;

	if (h == &master.keyh_next) {
		/* a replacement that failed: the running one stays */
		master.keyh_next.pid = 0;
		master.keyh_next.ctl = -1;
		child_remove(k);
		return;
	}
	counted = helper_schedule(h, k, now);
	child_remove(k);
	if (master.stopping)
		return;
	if (counted)
		h->restarts++;
	if (h == &master.ctlh) {
		/* told to go, or gone idle: the next client starts it */
		if (!retired) {
			log_warnx("control died; restarting it");
			master.ctl_demand = 1;
		}
	} else if (h == &master.authh) {
		/* no worker talks to it: the store answers the logins it was
		 * checking with a temporary error, deliveries go on, and a new
		 * one gets a new channel to the store (auth_link) */
		log_warnx("auth died; restarting it (logins being checked get a "
		    "temporary error)");
	} else {
		log_warnx("%s died; restarting it and recycling the workers",
		    role_name(h->role));
		/* every worker's channel led to the dead one (and the control
		 * process's, to the store) */
		for (size_t i = 0; i < master.nkids; i++)
			if (is_worker(&master.kids[i]) || (h == &master.store &&
			    master.kids[i].role == ROLE_CONTROL))
				child_retire(&master.kids[i], UINT32_MAX);
	}
}
