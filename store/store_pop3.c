/*
 * The POP3 side of the store: AUTH binds the channel to one mailbox and
 * takes the snapshot; RETR/TOP, DELE, UNDO use message numbers within it;
 * COMMIT rewrites the mailbox without the marked messages (keeping every
 * message that arrived since); RELEASE or EOF lets go without deleting.
 * Handlers (store_int.h layer 2), one a row of dispatch.c: they read and
 * rewrite through the mailbox layer (mbcache.c, mailbox.c), ask the auth
 * process through authcli.c, and answer through chan.c.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "authcli.h"
#include "store_int.h"

static void
status_reply(struct chan *c, uint32_t type, uint32_t id, uint32_t st)
{
	static struct ipc_msg m;

	ipc_init(&m, type, id);
	ipc_put_u32(&m, st);
	chan_send(c, &m);
}

void
chan_unbind(struct chan *c)
{
	if (c->mfd != -1)
		close(c->mfd);
	c->mfd = -1;
	mbox_list_free(&c->snap);
	free(c->marks);
	c->marks = NULL;
	c->account[0] = '\0';
	c->octets = 0;
	c->state = CS_OPEN;
}

static int
account_in_use(const char *name)
{
	for (size_t i = 0; i < S.nch; i++)
		if (!S.ch[i]->dead && S.ch[i]->state == CS_BOUND &&
		    strcmp(S.ch[i]->account, name) == 0)
			return 1;
	return 0;
}

/* The listing memfd: count x (u64 wire octets, str uid), sized from the
 * UIDs' real lengths. */
static int
listing_memfd(const struct mbox_list *l)
{
	size_t total = 0, n = 0;
	unsigned char *buf;
	int fd;

	for (size_t i = 0; i < l->n; i++)
		total += 8 + 4 + strnlen(l->v[i].uid, sizeof(l->v[i].uid));
	buf = xmalloc(total ? total : 1);
	for (size_t i = 0; i < l->n; i++) {
		uint32_t ul = (uint32_t)strnlen(l->v[i].uid, sizeof(l->v[i].uid));

		memcpy(buf + n, &l->v[i].wire, 8);
		memcpy(buf + n + 8, &ul, 4);
		memcpy(buf + n + 12, l->v[i].uid, ul);
		n += 12 + ul;
	}
	fd = sealed_memfd("postern-listing", buf, n);
	free(buf);
	return fd;
}

/* Binds c to account: snapshot of the mailbox.  0 / -1. */
static int
bind_mailbox(struct chan *c, const char *account)
{
	struct mailbox mb;
	int r;

	mbox_list_init(&c->snap);
	r = mailbox_open_locked(&mb, account, 0, &c->snap);
	if (r == -1)
		return -1;
	if (r == 0) {
		mb_unlock(&mb);
		c->mfd = mb.fd;       /* kept for RETR; no lock held */
		/* what IMAP expunged is gone for POP3 too, though its bytes
		 * wait for the next rewrite (store_expunge.c) */
		(void)fst_filter_hidden(fst_get_table(account, 0), &c->snap, NULL);
	}
	c->marks = xcalloc(c->snap.n ? c->snap.n : 1, 1);
	c->octets = 0;
	for (size_t i = 0; i < c->snap.n; i++)
		c->octets += c->snap.v[i].wire;
	strlcpy_(c->account, account, sizeof(c->account));
	c->state = CS_BOUND;
	return 0;
}

static void
auth_reply(struct chan *c, uint32_t reqid, uint32_t st, uint32_t delay, int lfd)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_AUTH_R, reqid);
	ipc_put_u32(&m, st);
	ipc_put_u32(&m, delay);
	if (st == AUTH_OK) {
		ipc_put_str(&m, c->account);
		ipc_put_u32(&m, (uint32_t)c->snap.n);
		ipc_put_u64(&m, c->octets);
		ipc_set_fd(&m, lfd);
	}
	chan_send(c, &m);
}

/* A right password (store_login.c): [IN-USE], login-delay, then the
 * mailbox is bound and its listing goes in *lfd. */
static uint32_t
pop3_bind(struct chan *c, const char *name, const char *addr, uint64_t now, int *lfd)
{
	if (account_in_use(name)) {
		log_info("store: pop3 worker %d: %s from %s: mailbox in use",
		    (int)c->pid, name, addr);
		return AUTH_INUSE;
	}
	if (login_too_soon(name, now)) {
		log_info("store: pop3 worker %d: %s from %s: login-delay not over",
		    (int)c->pid, name, addr);
		return AUTH_LOGIN_DELAY;
	}
	if (bind_mailbox(c, name) == -1)
		return AUTH_TEMP;
	if ((*lfd = listing_memfd(&c->snap)) == -1) {
		log_warn("store: listing memfd");
		chan_unbind(c);
		return AUTH_TEMP;
	}
	login_record(name, now);
	log_info("store: pop3 worker %d: %s from %s: %zu messages, %llu octets",
	    (int)c->pid, name, addr, c->snap.n, (unsigned long long)c->octets);
	return AUTH_OK;
}

static const struct login_proto pop3_login = { "pop3", pop3_bind, auth_reply };

/* The auth process's verdict (authcli.c calls it back). */
static void
auth_finish(struct authwait *w, enum auth_verdict v)
{
	login_finish(w, v, &pop3_login);
}

/*
 * MSG_AUTH: the password check goes to the auth process and the channel
 * waits for the verdict in CS_AUTHING (store_login.c); the store's loop
 * does not.
 */
void
handle_auth(struct chan *c, struct store_req *r)
{
	login_begin(c, r, &pop3_login, auth_finish);
}

/* A message number of the snapshot, or the channel is dropped. */
static const struct mbox_ent *
snap_msg(struct chan *c, uint32_t msgno)
{
	if (msgno == 0 || msgno > c->snap.n) {
		char why[96];

		snprintf(why, sizeof(why), "message number %u outside the snapshot (1..%zu)",
		    msgno, c->snap.n);
		chan_drop(c, why);
		return NULL;
	}
	return &c->snap.v[msgno - 1];
}

/*
 * RETR / TOP: message msgno, and for a RETR up to r->ahead of the
 * unmarked messages after it (read-ahead), all in one sealed memfd.
 */
void
handle_retr(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	const struct mbox_ent *e = snap_msg(c, r->msgno);
	const struct mbox_ent *pick[1 + LIM_RETR_AHEAD];
	uint32_t no[1 + LIM_RETR_AHEAD];
	uint64_t lens[1 + LIM_RETR_AHEAD], extra = 0;
	unsigned char *buf = NULL;
	size_t n = 0, len = 0;
	int fd, rr;

	if (e == NULL)
		return;
	if (c->marks[r->msgno - 1]) {
		status_reply(c, MSG_RETR_R, r->id, STORE_NOSUCH);
		return;
	}
	no[n] = r->msgno;
	pick[n++] = e;
	/* marked messages are skipped, but not more than a few thousand */
	for (size_t i = r->msgno; i < c->snap.n && i < (size_t)r->msgno + RETR_SKIP_MAX_COUNT &&
	    n < 1 + (size_t)r->ahead; i++) {
		if (c->marks[i])
			continue;
		if (c->snap.v[i].clen > LIM_RETR_AHEAD_BYTES - extra)
			break;
		extra += c->snap.v[i].clen;
		no[n] = (uint32_t)(i + 1);
		pick[n++] = &c->snap.v[i];
	}
	if (c->mfd == -1) {
		errno = EBADF;
		rr = -1;
	} else {
		rr = mb_read_msgs(c->mfd, pick, n, r->lines, &buf, &len, lens);
		if (rr == -1 && errno == ESTALE && n > 1) {
			/* one read ahead changed; the one asked for may not have */
			n = 1;
			rr = mb_read_msgs(c->mfd, pick, n, r->lines, &buf, &len, lens);
		}
	}
	if (rr == -1) {
		if (errno == ESTALE)
			log_warnx("store: message %u of %s is no longer where the "
			    "session's snapshot has it (another program rewrote the "
			    "mailbox): temporary failure", r->msgno, c->account);
		else
			log_warn("store: reading message %u of %s", r->msgno, c->account);
		status_reply(c, MSG_RETR_R, r->id, STORE_TEMPFAIL);
		return;
	}
	fd = sealed_memfd("postern-msg", buf, len);
	free(buf);
	if (fd == -1) {
		log_warn("store: message memfd");
		status_reply(c, MSG_RETR_R, r->id, STORE_TEMPFAIL);
		return;
	}
	ipc_init(&m, MSG_RETR_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_u32(&m, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		ipc_put_u32(&m, no[i]);
		ipc_put_u64(&m, lens[i]);
	}
	ipc_set_fd(&m, fd);
	chan_send(c, &m);
	close(fd);
	/* pop3-sets-seen: the message RETR read (not TOP, not the read-ahead)
	 * is \Seen for IMAP from now on */
	if (S.conf.pop3_sets_seen && r->lines == LIM_ALL_LINES && e->imapuid != 0)
		fst_pop3_seen(c->account, e->imapuid, e->mflags);
}

/* DELE marks, all or none (a number twice in one request is refused). */
void
handle_dele(struct chan *c, struct store_req *r)
{
	for (uint32_t i = 0; i < r->ndele; i++)
		if (snap_msg(c, r->dele[i]) == NULL)
			return;
	for (uint32_t i = 0; i < r->ndele; i++) {
		if (c->marks[r->dele[i] - 1]) {
			while (i-- > 0)
				c->marks[r->dele[i] - 1] = 0;
			status_reply(c, MSG_DELE_R, r->id, STORE_NOSUCH);
			return;
		}
		c->marks[r->dele[i] - 1] = 1;
	}
	status_reply(c, MSG_DELE_R, r->id, STORE_OK);
}

/* pop3-sets-seen for the messages the worker served from its read-ahead
 * (MSG_SEEN; the one a RETR asked for is marked by handle_retr). */
void
handle_seen(struct chan *c, struct store_req *r)
{
	for (uint32_t i = 0; i < r->ndele; i++) {
		const struct mbox_ent *e = snap_msg(c, r->dele[i]);

		if (e == NULL)
			return;
		if (S.conf.pop3_sets_seen && e->imapuid != 0)
			fst_pop3_seen(c->account, e->imapuid, e->mflags);
	}
	status_reply(c, MSG_SEEN_R, r->id, STORE_OK);
}

void
handle_commit(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	struct mbox_ent *del = NULL;
	size_t ndel = 0;
	uint32_t deleted = 0, st = STORE_OK, maxuid = 0;

	for (size_t i = 0; i < c->snap.n; i++)
		if (c->marks[i]) {
			del = xreallocarray(del, ndel + 1, sizeof(*del));
			del[ndel++] = c->snap.v[i];
			if (c->snap.v[i].imapuid > maxuid)
				maxuid = c->snap.v[i].imapuid;
		}
	if (ndel > 0) {
		struct mailbox mb;
		const char *why;

		/* the session's descriptor goes first: closing any descriptor
		 * of the file would drop the fcntl lock taken below */
		if (c->mfd != -1)
			close(c->mfd);
		c->mfd = -1;
		mbc_forget(c->account);
		if (mailbox_open_locked(&mb, c->account, 0, NULL) != 0)
			st = STORE_TEMPFAIL;
		else {
			/* the rewrite folds INBOX's flag journal in (IMAP
			 * STORE), reset once the new file is durable */
			struct fst *fs = fst_get_table(c->account, 0);

			mb.fold = fst_fold(fs);
			/* the IMAP UIDs of what goes are never given again */
			if (maxuid != 0 && mbc_inbox_floor_raise(c->account,
			    maxuid == UINT32_MAX ? maxuid : maxuid + 1, &why) == -1) {
				log_warnx("store: commit %s: %s", c->account, why);
				st = STORE_TEMPFAIL;
			} else if (mb_rewrite(&mb, del, ndel, &deleted, &why) == -1) {
				log_warnx("store: commit %s: %s", c->account, why);
				st = STORE_TEMPFAIL;
				deleted = 0;
			} else if (deleted > 0)
				fst_folded(fs, 0);
			mb.fold = NULL;
			mb_close(&mb);
			/* after the lock is gone: the IMAP views learn it */
			if (deleted > 0)
				chan_changed(c->account, 0, NULL);
		}
	}
	free(del);
	log_info("store: pop3 worker %d: %s: commit, %u of %zu marked deleted%s",
	    (int)c->pid, c->account, deleted, ndel, st == STORE_OK ? "" : " (failed)");
	chan_unbind(c);
	ipc_init(&m, MSG_COMMIT_R, r->id);
	ipc_put_u32(&m, st);
	ipc_put_u32(&m, deleted);
	chan_send(c, &m);
}

void
handle_undo(struct chan *c, struct store_req *r)
{
	if (c->snap.n)
		memset(c->marks, 0, c->snap.n);
	status_reply(c, MSG_UNDO_R, r->id, STORE_OK);
}

void
handle_release(struct chan *c, struct store_req *r)
{
	chan_unbind(c);
	status_reply(c, MSG_RELEASE_R, r->id, STORE_OK);
}
