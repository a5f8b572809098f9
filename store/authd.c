/*
 * The auth process: the one process that holds the password hashes.  It
 * receives the config, jails itself (auth-user, the empty directory, no
 * capabilities, its seccomp filter), loads the accounts file the master
 * hands it as a descriptor, and then answers the store's MSG_AUTH_CHECK
 * one after another: crypt(3) against the account's hash (or the dummy
 * hash, for an unknown name), yes or no.  It knows nothing of mailboxes,
 * channels, client addresses or failure counts: the store keeps those,
 * and forwards a check here without waiting for it, so that a flood of
 * logins costs this process CPU and never the store's delivery loop.
 *
 * Its only peers are the master (FD_CONTROL) and the store (the channel
 * the master hands over in MSG_AUTH_CHANNEL, replaced when either side is
 * restarted).  A malformed check from the store is answered "no" and
 * logged.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../privsep/conf.h"
#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/proc.h"
#include "../privsep/sandbox.h"
#include "../privsep/util.h"
#include "accounts.h"
#include "auth.h"
#include "authd.h"
#include "mailbox.h"

/*
 * The auth process runs niced: on a small machine a login flood then
 * takes the CPU that deliveries leave over, not the CPU they need (the
 * store, the SMTP workers and the master keep nice 0).  Logins slow down
 * under a flood; deliveries do not.  Measured in BENCH.md (login_flood).
 */
#ifndef AUTHD_NICE
#define AUTHD_NICE 10
#endif

static struct {
	struct conf conf;
	struct acctab tab;
	int have_tab;
	int store;                   /* the channel to the store, -1: none */
	int shutdown;
} A = { .store = -1 };

/* MSG_ACCOUNTS: a new table, or the old one kept; answers the master. */
static void
load_accounts(int ctl, struct ipc_msg *m)
{
	static struct ipc_msg ans;
	static char err[ACCOUNTS_ERR_MAX_BYTES];
	const char *why;
	uint32_t has_aliases = 1;
	int fd = m->fd, ok = 0;
	struct acctab nt;

	m->fd = -1;
	if (fd < 0 || ipc_get_u32(m, &has_aliases) == -1 || ipc_end(m) == -1 ||
	    has_aliases != 0)
		snprintf(err, sizeof(err), "%s: malformed MSG_ACCOUNTS", A.conf.accounts);
	else if (acctab_load(&nt, fd, A.conf.accounts, -1, NULL, &why) == 0) {
		if (A.have_tab)
			acctab_free(&A.tab);
		A.tab = nt;
		A.have_tab = 1;
		ok = 1;
		err[0] = '\0';
		log_info("auth: %zu accounts loaded", A.tab.nacc);
	} else {
		strlcpy_(err, why, sizeof(err));
		log_warnx("auth: accounts not loaded%s: %s",
		    A.have_tab ? " (keeping the previous ones)" : "", err);
	}
	if (fd >= 0)
		close(fd);
	ipc_init(&ans, MSG_ACCOUNTS_R, m->hdr.id);
	ipc_put_u32(&ans, (uint32_t)ok);
	ipc_put_str(&ans, err);
	if (ipc_send(ctl, &ans) == -1)
		log_warn("auth: answering MSG_ACCOUNTS");
}

static void
set_store_channel(struct ipc_msg *m)
{
	if (m->fd < 0 || m->hdr.len != 0) {
		log_warnx("auth: malformed MSG_AUTH_CHANNEL from the master");
		ipc_drop_fd(m);
		return;
	}
	if (A.store >= 0)
		close(A.store);
	A.store = m->fd;
	m->fd = -1;
	log_debug("auth: new channel to the store");
}

/* One message from the master.  -1: the master is gone. */
static int
control_read(int ctl)
{
	static struct ipc_msg m;
	static struct conf nc;
	int r = ipc_recv(ctl, &m);

	if (r == 0)
		return -1;
	if (r == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	switch (m.hdr.type) {
	case MSG_ACCOUNTS:
		load_accounts(ctl, &m);
		break;
	case MSG_AUTH_CHANNEL:
		set_store_channel(&m);
		break;
	case MSG_CONF:
		/* a reload: the accounts file's name, for messages */
		if (conf_from_msg(&m, &nc) == 0) {
			strlcpy_(A.conf.accounts, nc.accounts, sizeof(A.conf.accounts));
			break;
		}
		log_warnx("auth: bad MSG_CONF from the master ignored");
		ipc_drop_fd(&m);
		break;
	case MSG_SHUTDOWN:
		A.shutdown = 1;
		break;
	default:
		log_warnx("auth: unexpected %s from the master", msg_name(m.hdr.type));
		ipc_drop_fd(&m);
		break;
	}
	return 0;
}

static void
store_gone(const char *why)
{
	if (why != NULL)
		log_warnx("auth: channel to the store closed: %s", why);
	else
		log_debug("auth: the store closed its channel");
	close(A.store);
	A.store = -1;
}

/* One MSG_AUTH_CHECK from the store: crypt, and the answer. */
static void
store_read(void)
{
	static struct ipc_msg m, ans;
	static char name[LIM_NAME + 1], pw[LIM_PASSWORD + 1];
	uint32_t ok = 0;
	int r = ipc_recv(A.store, &m);

	if (r == 0) {
		store_gone(NULL);
		return;
	}
	if (r == -1) {
		if (errno != EAGAIN && errno != EINTR)
			store_gone(strerror(errno));
		return;
	}
	if (m.hdr.type != MSG_AUTH_CHECK || m.fd >= 0 ||
	    ipc_get_str(&m, name, sizeof(name)) == -1 ||
	    ipc_get_str(&m, pw, sizeof(pw)) == -1 || ipc_end(&m) == -1 ||
	    (name[0] != '\0' && !mailbox_name_ok(name)))
		log_warnx("auth: malformed %s from the store (%u bytes): answered no",
		    msg_name(m.hdr.type), m.hdr.len);
	else
		ok = (uint32_t)auth_verify(&A.tab, name[0] ? name : "", pw);
	ipc_drop_fd(&m);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(m.data, sizeof(m.data));
	ipc_init(&ans, MSG_AUTH_CHECK_R, m.hdr.id);
	ipc_put_u32(&ans, ok);
	if (ipc_send(A.store, &ans) == -1)
		store_gone(strerror(errno));
}

static void
serve(int ctl)
{
	while (!A.shutdown) {
		struct pollfd pf[2] = { { ctl, POLLIN, 0 }, { A.store, POLLIN, 0 } };

		if (poll(pf, A.store >= 0 ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("auth: poll");
		}
		if (A.store >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
			store_read();
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && control_read(ctl) == -1) {
			log_debug("auth: the master is gone, exiting");
			return;
		}
	}
	log_debug("auth: shutting down");
}

int
authd_main(void)
{
	static struct ipc_msg ready;
	int ctl = FD_CONTROL;

	log_init_child("auth", ctl);
	signal(SIGPIPE, SIG_IGN);
	conf_recv(ctl, &A.conf);
	/* lowering one's own priority needs no privilege; before the filter */
	if (setpriority(PRIO_PROCESS, 0, AUTHD_NICE) == -1)
		log_warn("auth: setpriority %d", AUTHD_NICE);
	sandbox_enter(ROLE_AUTH, &A.conf);
	/* the accounts first: a check before them could only say no */
	while (!A.have_tab && !A.shutdown) {
		static struct ipc_msg m;
		int r = ipc_recv(ctl, &m);

		if (r == 0)
			return 0;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			fatal("auth: control channel");
		}
		if (m.hdr.type == MSG_ACCOUNTS)
			load_accounts(ctl, &m);
		else if (m.hdr.type == MSG_AUTH_CHANNEL)
			set_store_channel(&m);
		else if (m.hdr.type == MSG_SHUTDOWN)
			return 0;
		else {
			log_warnx("auth: unexpected %s before the accounts", msg_name(m.hdr.type));
			ipc_drop_fd(&m);
		}
	}
	ipc_init(&ready, MSG_READY, 0);
	if (ipc_send(ctl, &ready) == -1)
		fatal("auth: sending MSG_READY");
	log_info("auth: ready");
	serve(ctl);
	return 0;
}
