/*
 * The store process: receive the config, open the spool, jail, load the
 * accounts, then serve the master's control channel and every worker
 * channel it hands over (OpenSMTPD queue.c: one entry function that jails
 * itself, then runs its loop).
 *
 * One pass of the loop: poll; read at most one request from every
 * readable channel (a run of pipelined DELEs and the request after them
 * count as one) and run its row's handler (dispatch.c): LOOKUPs are
 * answered at once, every APPEND is written at once; fsync each touched
 * mailbox once (group commit) and answer the APPENDs; then run the queued
 * requests (POP3, IMAP, control) in arrival order (an AUTH or IMAP_AUTH is
 * only queued for the auth process: crypt never runs here); then send the queued checks and take
 * the auth process's verdicts, binding their mailboxes; then close the
 * channels dropped during the pass.  A bad request drops only its channel.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/proc.h"
#include "../privsep/sandbox.h"
#include "../privsep/util.h"
#include "authcli.h"
#include "store.h"
#include "store_int.h"


static void
chan_free(struct chan *c)
{
	authcli_forget(c);
	view_drop(c);
	chan_unbind(c);
	close(c->fd);
	free(c);
}

/* ---- the control channel ---- */

static void
add_channel(struct ipc_msg *m)
{
	uint32_t kind, pid;
	struct chan *c;

	if (m->fd < 0 || ipc_get_u32(m, &kind) == -1 || ipc_get_u32(m, &pid) == -1 ||
	    ipc_end(m) == -1 ||
	    (kind != CHAN_SMTP && kind != CHAN_POP3 && kind != CHAN_CONTROL &&
	    kind != CHAN_IMAP)) {
		log_warnx("store: malformed MSG_CHANNEL from the master");
		ipc_drop_fd(m);
		return;
	}
	if (S.nch >= STORE_CHANNELS_MAX_COUNT) {
		log_warnx("store: too many channels, refusing worker %u", pid);
		ipc_drop_fd(m);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = m->fd;
	m->fd = -1;
	c->kind = kind;
	c->pid = (pid_t)pid;
	c->state = CS_OPEN;
	c->mfd = -1;
	set_nonblock(c->fd, 1);
	set_cloexec(c->fd, 1);
	S.ch = xreallocarray(S.ch, S.nch + 1, sizeof(struct chan *));
	S.ch[S.nch++] = c;
	log_debug("store: %s channel of worker %u added", chan_kind_name(kind), pid);
}

/* Loads new tables from MSG_ACCOUNTS (+ MSG_ALIASES); answers the master. */
static int
load_accounts(int ctl, struct ipc_msg *m)
{
	static struct ipc_msg a, ans;
	static char err[ACCOUNTS_ERR_MAX_BYTES];
	const char *why;
	uint32_t has_aliases = 0;
	int accfd = m->fd, alfd = -1, ok = 0;
	struct acctab nt;

	m->fd = -1;
	if (accfd < 0 || ipc_get_u32(m, &has_aliases) == -1 || ipc_end(m) == -1 ||
	    has_aliases > 1) {
		snprintf(err, sizeof(err), "%s: malformed MSG_ACCOUNTS", S.conf.accounts);
		goto answer;
	}
	if (has_aliases) {
		int r = ipc_recv(ctl, &a);

		if (r != 1 || a.hdr.type != MSG_ALIASES || a.fd < 0 || a.hdr.len != 0) {
			if (r == 1)
				ipc_drop_fd(&a);
			snprintf(err, sizeof(err), "%s: MSG_ALIASES missing",
			    S.conf.aliases[0] ? S.conf.aliases : "aliases");
			goto answer;
		}
		alfd = a.fd;
	}
	if (acctab_load(&nt, accfd, S.conf.accounts, alfd,
	    S.conf.aliases[0] ? S.conf.aliases : "aliases", &why) == 0) {
		/* names only: the hashes are the auth process's */
		acctab_drop_hashes(&nt);
		if (S.have_tab)
			acctab_free(&S.tab);
		S.tab = nt;
		S.have_tab = 1;
		ok = 1;
		err[0] = '\0';
		log_info("store: %zu accounts, %zu aliases loaded", S.tab.nacc, S.tab.nal);
	} else {
		strlcpy_(err, why, sizeof(err));
		log_warnx("store: accounts not loaded%s: %s",
		    S.have_tab ? " (keeping the previous ones)" : "", err);
	}
answer:
	if (accfd >= 0)
		close(accfd);
	if (alfd >= 0)
		close(alfd);
	ipc_init(&ans, MSG_ACCOUNTS_R, m->hdr.id);
	ipc_put_u32(&ans, (uint32_t)ok);
	ipc_put_str(&ans, err);
	if (ipc_send(ctl, &ans) == -1)
		log_warn("store: answering MSG_ACCOUNTS");
	return ok ? 0 : -1;
}

static void
add_auth_channel(struct ipc_msg *m)
{
	if (m->fd < 0 || m->hdr.len != 0) {
		log_warnx("store: malformed MSG_AUTH_CHANNEL from the master");
		ipc_drop_fd(m);
		return;
	}
	authcli_set_channel(m->fd);
	m->fd = -1;
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
	if (r == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == EBADMSG) {
			/* the master's message came without its descriptor: the
			 * store is out of them.  That worker's channel is lost
			 * (the worker refuses its client); the store serves on. */
			log_warnx("store: a message from the master came without its "
			    "descriptor (descriptor limit reached?); dropped");
			return 0;
		}
		log_warn("store: control channel");
		return -1;
	}
	switch (m.hdr.type) {
	case MSG_CHANNEL:
		add_channel(&m);
		break;
	case MSG_ACCOUNTS:
		load_accounts(ctl, &m);
		break;
	case MSG_AUTH_CHANNEL:
		add_auth_channel(&m);
		break;
	case MSG_CONF:
		/* a reload: only what the store may change at run time */
		if (conf_from_msg(&m, &nc) == 0) {
			S.conf.quota = nc.quota;
			S.conf.compact_min_size = nc.compact_min_size;
			S.conf.max_message_size = nc.max_message_size;
			S.conf.imap_special_use = nc.imap_special_use;
			S.conf.max_folders = nc.max_folders;
			S.conf.max_folder_name = nc.max_folder_name;
			S.conf.max_folder_depth = nc.max_folder_depth;
			S.conf.max_keywords = nc.max_keywords;
			S.conf.pop3_sets_seen = nc.pop3_sets_seen;
			S.conf.imap_max_sessions_per_user = nc.imap_max_sessions_per_user;
			strlcpy_(S.conf.postmaster, nc.postmaster, sizeof(S.conf.postmaster));
			strlcpy_(S.conf.accounts, nc.accounts, sizeof(S.conf.accounts));
			strlcpy_(S.conf.aliases, nc.aliases, sizeof(S.conf.aliases));
			break;
		}
		log_warnx("store: bad MSG_CONF from the master ignored");
		ipc_drop_fd(&m);
		break;
	case MSG_SHUTDOWN:
		S.shutdown = 1;
		break;
	default:
		log_warnx("store: unexpected %s from the master", msg_name(m.hdr.type));
		ipc_drop_fd(&m);
		break;
	}
	return 0;
}

/* ---- worker channels ---- */

struct pending {
	struct chan *c;
	const struct dispatch_row *row;
	struct store_req r;
};

/* Drops c for a request that failed its row or its decoder. */
static void
refuse(struct chan *c, struct ipc_msg *m, const char *why, int with_len)
{
	char buf[160];

	if (with_len)
		snprintf(buf, sizeof(buf), "%s (%s, %u bytes)", why,
		    msg_name(m->hdr.type), m->hdr.len);
	else
		snprintf(buf, sizeof(buf), "%s (%s)", why, msg_name(m->hdr.type));
	chan_drop(c, buf);
}

/*
 * Reads one request from c, checks it against its row (dispatch.c) and
 * decodes it.  A RUN_NOW row's handler runs at once; the others are
 * queued and run after batch_finish(), so that they see every append of
 * the pass durable (or undone) and not half-way.  Returns 1 when another
 * request of this channel may be read in the same pass (a
 * RUN_AFTER_COMMIT_READ_ON row: DELE changes no channel state, so the
 * next request is checked against the right state).
 */
static int
chan_read(struct chan *c, struct pending **q, size_t *nq)
{
	static struct ipc_msg m;
	const struct dispatch_row *row;
	struct store_req r;
	const char *why;
	int n = ipc_recv(c->fd, &m);

	if (n == 0) {
		log_debug("store: %s channel of worker %d closed", chan_kind_name(c->kind),
		    (int)c->pid);
		c->dead = 1;
		return 0;
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		chan_drop(c, errno == EBADMSG ? "malformed frame" : strerror(errno));
		return 0;
	}
	if ((row = dispatch_check(&m, c->kind, c->state, &why)) == NULL) {
		ipc_drop_fd(&m);
		refuse(c, &m, why, 1);
		return 0;
	}
	if (req_decode(&m, &r, &why) == -1) {
		req_free(&r);
		refuse(c, &m, why, 0);
		return 0;
	}
	if (row->run == RUN_NOW) {
		row->handle(c, &r);
		req_free(&r);
		return 0;
	}
	*q = xreallocarray(*q, *nq + 1, sizeof(**q));
	(*q)[*nq].c = c;
	(*q)[*nq].row = row;
	(*q)[(*nq)++].r = r;
	return row->run == RUN_AFTER_COMMIT_READ_ON;
}

static void
handle_queued(struct pending *p)
{
	if (!p->c->dead)
		p->row->handle(p->c, &p->r);
	req_free(&p->r);
}

static void
reap_channels(void)
{
	size_t j = 0;

	for (size_t i = 0; i < S.nch; i++) {
		if (S.ch[i]->dead)
			chan_free(S.ch[i]);
		else
			S.ch[j++] = S.ch[i];
	}
	S.nch = j;
}

static void
serve(int ctl)
{
	struct pollfd *pf = NULL;

	for (;;) {
		struct pending *q = NULL;
		size_t nq = 0, n = S.nch;

		pf = xreallocarray(pf, n + 2, sizeof(*pf));
		pf[0].fd = ctl;
		pf[0].events = POLLIN;
		for (size_t i = 0; i < n; i++) {
			pf[i + 1].fd = S.ch[i]->fd;
			/* an owed MSG_CHANGED: sent when there is room */
			pf[i + 1].events = POLLIN | (S.ch[i]->changed_owed ? POLLOUT : 0);
		}
		/* the auth process's verdicts (and room for more checks) */
		pf[n + 1].fd = authcli_fd();
		pf[n + 1].events = authcli_events();
		pf[n + 1].revents = 0;
		if (poll(pf, n + 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("store: poll");
		}
		for (size_t i = 0; i < n; i++)
			if (pf[i + 1].revents & POLLOUT)
				chan_changed_retry(S.ch[i]);
		batch_begin();
		for (size_t i = 0; i < n; i++) {
			int more = STORE_DELE_PASS_COUNT;

			if (pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
				while (chan_read(S.ch[i], &q, &nq) && --more > 0)
					;
		}
		batch_finish();
		for (size_t i = 0; i < nq; i++)
			handle_queued(&q[i]);
		free(q);
		/* after the POP3 requests: AUTHs just queued go out, and a
		 * verdict binds its mailbox seeing every append of the pass */
		authcli_io(pf[n + 1].fd >= 0 ? pf[n + 1].revents : 0);
		reap_channels();
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && control_read(ctl) == -1) {
			log_debug("store: the master is gone, exiting");
			break;
		}
		if (S.shutdown) {
			log_debug("store: shutting down");
			break;
		}
	}
	free(pf);
	for (size_t i = 0; i < S.nch; i++)
		chan_free(S.ch[i]);
	S.nch = 0;
}

/* ---- posternd -n ---- */

int
store_check_tables(const struct conf *c)
{
	const char *why;
	struct acctab t;
	int accfd, alfd = -1, n = 0;

	if ((accfd = open(c->accounts, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "%s: %s\n", c->accounts, strerror(errno));
		return 1;
	}
	if (c->aliases[0] != '\0' &&
	    (alfd = open(c->aliases, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "%s: %s\n", c->aliases, strerror(errno));
		close(accfd);
		return 1;
	}
	if (acctab_load(&t, accfd, c->accounts, alfd, c->aliases, &why) == 0)
		acctab_free(&t);
	else {
		fprintf(stderr, "%s\n", why);
		n = 1;
		for (const char *p = why; (p = strchr(p, '\n')) != NULL; p++)
			n++;
	}
	close(accfd);
	if (alfd != -1)
		close(alfd);
	return n;
}

/* ---- start-up ---- */

/* The uid mailboxes must belong to: the store user when started as root. */
static void
set_owner(void)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		mb_set_owner(geteuid());
		return;
	}
	if ((pw = getpwnam(S.conf.store_user)) == NULL)
		fatalx("store: user %s does not exist", S.conf.store_user);
	mb_set_owner(pw->pw_uid);
}

int
store_main(void)
{
	int ctl = FD_CONTROL;

	log_init_child("store", ctl);
	signal(SIGPIPE, SIG_IGN);
	conf_recv(ctl, &S.conf);
	S.spool = open(S.conf.spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (S.spool == -1)
		fatal("store: spool %s", S.conf.spool);
	mbc_init(S.spool);
	set_owner();
	/* every delivery waits on the store several times: let it preempt a
	 * busy CPU's task when it wakes (privsep/params.h STORE_SLICE_NS) */
	if (proc_latency_hint(STORE_SLICE_NS) == -1)
		log_warn("store: sched_setattr (slice %u ns); the store keeps "
		    "the default slice", STORE_SLICE_NS);
	sandbox_enter(ROLE_STORE, &S.conf);
	/* the accounts come first; until they load, nothing else is served */
	while (!S.have_tab) {
		static struct ipc_msg m;
		int r = ipc_recv(ctl, &m);

		if (r == 0)
			return 0;
		if (r == -1 && errno == EBADMSG) {
			log_warnx("store: a message from the master came without its "
			    "descriptor (descriptor limit reached?); dropped");
			continue;
		}
		if (r == -1)
			fatal("store: control channel");
		if (m.hdr.type == MSG_ACCOUNTS)
			load_accounts(ctl, &m);
		else if (m.hdr.type == MSG_CHANNEL)
			add_channel(&m);
		else if (m.hdr.type == MSG_AUTH_CHANNEL)
			add_auth_channel(&m);
		else if (m.hdr.type == MSG_SHUTDOWN)
			return 0;
		else {
			log_warnx("store: unexpected %s before the accounts",
			    msg_name(m.hdr.type));
			ipc_drop_fd(&m);
		}
	}
	{
		static struct ipc_msg ready;

		ipc_init(&ready, MSG_READY, 0);
		if (ipc_send(ctl, &ready) == -1)
			fatal("store: sending MSG_READY");
	}
	log_info("store: ready, spool %s", S.conf.spool);
	serve(ctl);
	return 0;
}
