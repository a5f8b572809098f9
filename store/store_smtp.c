/*
 * The SMTP side of the store: LOOKUP, and APPEND with group commit.
 *
 * Within one pass every APPEND is written at once (each mailbox opened,
 * locked and, the first time since start, repaired; the record appended;
 * on any error everything this request wrote truncated back), then each
 * touched mailbox is fsync'ed once and every APPEND of the pass answered.
 * A request naming several accounts succeeds only if durable in all.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "store_int.h"

/* ---- LOOKUP ---- */

static void
lookup_answer(struct chan *c, uint32_t id, uint32_t st, const char *one,
    const struct alias *al)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_LOOKUP_R, id);
	ipc_put_u32(&m, st);
	if (st != LOOKUP_OK) {
		ipc_put_u32(&m, 0);
	} else if (one) {
		ipc_put_u32(&m, 1);
		ipc_put_str(&m, one);
	} else {
		ipc_put_u32(&m, (uint32_t)al->nexp);
		for (size_t i = 0; i < al->nexp; i++)
			ipc_put_str(&m, S.tab.acc[al->exp[i]].name);
	}
	if (m.err) {
		log_warnx("store: alias %s expands beyond one message", al ? al->name : "?");
		ipc_init(&m, MSG_LOOKUP_R, id);
		ipc_put_u32(&m, LOOKUP_TEMPFAIL);
		ipc_put_u32(&m, 0);
	}
	chan_send(c, &m);
}

void
handle_lookup(struct chan *c, struct store_req *r)
{
	char name[LIM_PATH + 1];
	const char *one = NULL;
	const struct alias *al = NULL;
	int found;

	strlcpy_(name, r->local, sizeof(name));
	name_lower(name);
	found = mailbox_name_ok(name) && acct_resolve(&S.tab, name, &one, &al) == 0;
	if (!found && strcmp(name, "postmaster") == 0) {
		if (S.conf.postmaster[0] != '\0') {
			char pm[LIM_NAME + 1];

			strlcpy_(pm, S.conf.postmaster, sizeof(pm));
			name_lower(pm);
			found = acct_resolve(&S.tab, pm, &one, &al) == 0;
		}
		if (!found && S.tab.first[0] != '\0') {
			one = S.tab.first;
			found = 1;
		}
	}
	lookup_answer(c, r->id, found ? LOOKUP_OK : LOOKUP_UNKNOWN, one, al);
}

/* ---- APPEND ---- */

/*
 * The mailboxes of the APPENDs: tb[] holds the ones touched in this pass
 * (busy: open, both locks held) and, between passes, up to MBCACHE_MAX_COUNT
 * recently used ones kept open without any lock (idle), so that a
 * mailbox that gets mail often is not opened, checked and closed for
 * every message.  An idle descriptor is reused only after the locks are
 * taken again and the name is checked to still be that very file
 * (mb_still_named(): same inode, one link, ours); otherwise it is closed
 * and the mailbox opened afresh.  A COMMIT drops the entry first
 * (mbcache_forget()), since its rename leaves the descriptor on the old
 * file and closing that descriptor later must not drop the rewrite's
 * lock.  Only this file opens or closes those descriptors, and only
 * while no other descriptor of the same mailbox holds a lock (in the
 * APPEND part of a pass, or from mbcache_forget() before COMMIT locks).
 */

struct touched {
	struct mailbox mb;
	uint64_t start_size;     /* at the first write of this pass */
	uint64_t used;           /* the pass that last touched it */
	int busy;                /* touched in this pass */
	int failed;
};

struct answer {
	struct chan *c;
	uint32_t id;
	uint32_t status;
	char text[LIM_PATH + 200];
	size_t *mbs;             /* indices into touched[] this request wrote */
	size_t nmbs;
};

static struct touched *tb;
static size_t ntb;
static struct answer *ans;
static size_t nans;
static uint64_t pass;

void
batch_begin(void)
{
	nans = 0;
	pass++;
}

/* Opens name into t (both locks, repaired if need be); 0 / -1. */
static int
open_fresh(struct touched *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->busy = 1;
	t->used = pass;
	if (mailbox_open_locked(&t->mb, name, 1, NULL) != 0) {
		t->failed = 1;
		t->mb.fd = -1;
		return -1;
	}
	t->start_size = t->mb.size;
	return 0;
}

/* Takes an idle entry into this pass.  0 reused; 1 closed: open it
 * afresh; -1 failed for this pass (cannot lock). */
static int
reuse(struct touched *t)
{
	if (!mailbox_verified(t->mb.name)) {   /* wants a repair scan */
		mb_close(&t->mb);
		return 1;
	}
	if (mb_lock(&t->mb, MB_LOCK_TIMEOUT_MS) == -1) {
		log_warnx("store: %s", t->mb.err);
		mb_close(&t->mb);
		t->busy = 1;
		t->failed = 1;
		t->mb.fd = -1;
		return -1;
	}
	if (!mb_still_named(&t->mb)) {
		log_debug("store: %s; opening it again", t->mb.err);
		mb_close(&t->mb);
		return 1;
	}
	t->busy = 1;
	t->failed = 0;
	t->used = pass;
	t->start_size = t->mb.size;
	return 0;
}

/* The open, locked mailbox for name in this pass, or -1. */
static ssize_t
touch(const char *name)
{
	for (size_t i = 0; i < ntb; i++) {
		if (strcmp(tb[i].mb.name, name) != 0)
			continue;
		if (!tb[i].busy) {
			int r = reuse(&tb[i]);

			if (r == 1)
				r = open_fresh(&tb[i], name);
			return r == 0 ? (ssize_t)i : -1;
		}
		return tb[i].failed ? -1 : (ssize_t)i;
	}
	tb = xreallocarray(tb, ntb + 1, sizeof(*tb));
	if (open_fresh(&tb[ntb], name) == -1) {
		ntb++;
		return -1;
	}
	return (ssize_t)ntb++;
}

/* After a pass: unlock what stays cached, close the rest. */
static void
cache_settle(int close_all)
{
	size_t j = 0;

	for (size_t i = 0; i < ntb; i++) {
		struct touched *t = &tb[i];

		if (t->busy && !t->failed && t->mb.fd != -1) {
			if (close_all)
				mb_close(&t->mb);
			else
				mb_unlock(&t->mb);
		}
		t->busy = 0;
		if (t->mb.fd != -1)
			tb[j++] = *t;
	}
	ntb = j;
	while (ntb > MBCACHE_MAX_COUNT) {   /* drop the least recently used */
		size_t old = 0;

		for (size_t i = 1; i < ntb; i++)
			if (tb[i].used < tb[old].used)
				old = i;
		mb_close(&tb[old].mb);
		tb[old] = tb[--ntb];
	}
}

void
mbcache_forget(const char *name)
{
	for (size_t i = 0; i < ntb; i++)
		if (!tb[i].busy && strcmp(tb[i].mb.name, name) == 0) {
			mb_close(&tb[i].mb);
			tb[i] = tb[--ntb];
			return;
		}
}

static void
append_reply(struct chan *c, uint32_t id, uint32_t status, const char *text)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_APPEND_R, id);
	ipc_put_u32(&m, status);
	ipc_put_str(&m, text);
	chan_send(c, &m);
}

/* Checks the memfd: sealed, regular, not too big.  Reads or maps it. */
static int
map_message(struct chan *c, struct store_req *r, const unsigned char **p,
    size_t *n, uint32_t *st)
{
	struct stat sb;
	uint64_t cap = S.conf.max_message_size + APPEND_MEMFD_SLACK_BYTES;

	if (!memfd_is_sealed(r->fd)) {
		chan_drop(c, "APPEND with a memfd that is not sealed");
		return -1;
	}
	if (fstat(r->fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		chan_drop(c, "APPEND descriptor is not a memfd");
		return -1;
	}
	if (S.conf.max_message_size == 0)
		cap = (uint64_t)1 << 32;
	if ((uint64_t)sb.st_size > cap) {
		*st = STORE_BADMSG;
		return 1;
	}
	*n = (size_t)sb.st_size;
	*p = NULL;
	if (*n == 0)
		return 0;
	if (*n <= APPEND_READ_MAX_BYTES) {
		/* small: one pread costs less than mmap + faults + munmap */
		unsigned char *b = xmalloc(*n);

		if (pread_full(r->fd, b, *n, 0) != (ssize_t)*n) {
			free(b);
			*st = STORE_TEMPFAIL;
			return 1;
		}
		*p = b;
		return 0;
	}
	*p = mmap(NULL, *n, PROT_READ, MAP_PRIVATE, r->fd, 0);
	if (*p == MAP_FAILED) {
		*p = NULL;
		*st = STORE_TEMPFAIL;
		return 1;
	}
	return 0;
}

static void
unmap_message(const unsigned char *p, size_t n)
{
	if (p == NULL)
		return;
	if (n <= APPEND_READ_MAX_BYTES)
		free((void *)(uintptr_t)p);
	else
		munmap((void *)(uintptr_t)p, n);
}

/* Undoes what this request wrote. */
static void
undo_writes(size_t *idx, uint64_t *old, size_t k)
{
	while (k-- > 0) {
		struct touched *t = &tb[idx[k]];

		if (mb_truncate(&t->mb, old[k]) == -1) {
			log_warn("store: truncating mailbox %s back", t->mb.name);
			mailbox_set_verified(t->mb.name, 0);
		}
	}
}

void
batch_append(struct chan *c, struct store_req *r)
{
	const unsigned char *msg = NULL;
	unsigned char *rec = NULL;
	size_t msglen = 0, reclen = 0, k = 0;
	size_t *idx = NULL;
	uint64_t *old = NULL, wire;
	uint32_t st = STORE_OK;
	char uid[MBOX_UID_MAX + 1], text[160] = "delivered";
	int mr;

	for (uint32_t i = 0; i < r->nacc; i++) {
		name_lower(r->acc[i]);
		if (!mailbox_name_ok(r->acc[i])) {
			chan_drop(c, "APPEND names an invalid mailbox");
			return;
		}
	}
	if ((mr = map_message(c, r, &msg, &msglen, &st)) == -1)
		return;
	if (mr == 1) {
		append_reply(c, r->id, st, st == STORE_BADMSG ? "message too big" :
		    "cannot read the message");
		log_warnx("store: session %s: message refused (%s)", r->sessid,
		    st == STORE_BADMSG ? "too big" : "mmap failed");
		return;
	}
	for (uint32_t i = 0; i < r->nacc; i++)
		if (acct_find(&S.tab, r->acc[i]) == NULL) {
			snprintf(text, sizeof(text), "no such account %s", r->acc[i]);
			st = STORE_NOSUCH;
			goto reply;
		}
	mbox_new_uid(uid);
	rec = mbox_encode(msg ? msg : (const unsigned char *)"", msglen, r->sender, uid,
	    time(NULL), &reclen, &wire);
	if (rec == NULL) {
		st = STORE_TEMPFAIL;
		snprintf(text, sizeof(text), "out of memory");
		goto reply;
	}
	idx = xcalloc(r->nacc, sizeof(*idx));
	old = xcalloc(r->nacc, sizeof(*old));
	for (uint32_t i = 0; i < r->nacc; i++) {
		ssize_t t;
		int dup = 0;

		for (uint32_t j = 0; j < i; j++)
			if (strcmp(r->acc[j], r->acc[i]) == 0)
				dup = 1;
		if (dup)
			continue;
		if ((t = touch(r->acc[i])) == -1) {
			st = STORE_TEMPFAIL;
			snprintf(text, sizeof(text), "mailbox %s unavailable", r->acc[i]);
			break;
		}
		if (S.conf.quota && tb[t].mb.size + reclen > S.conf.quota) {
			st = STORE_QUOTA;
			snprintf(text, sizeof(text), "mailbox %s over quota", r->acc[i]);
			break;
		}
		old[k] = tb[t].mb.size;
		if (mb_append(&tb[t].mb, rec, reclen) == -1) {
			int e = errno;

			st = (e == ENOSPC || e == EDQUOT) ? STORE_NOSPACE : STORE_TEMPFAIL;
			snprintf(text, sizeof(text), "writing mailbox %s: %s", r->acc[i],
			    strerror(e));
			break;
		}
		idx[k++] = (size_t)t;
	}
	if (st != STORE_OK) {
		undo_writes(idx, old, k);
		goto reply;
	}
	/* durable only after the fsync in batch_finish() */
	ans = xreallocarray(ans, nans + 1, sizeof(*ans));
	ans[nans].c = c;
	ans[nans].id = r->id;
	ans[nans].status = STORE_OK;
	snprintf(ans[nans].text, sizeof(ans[nans].text), "session %s: from=<%s> "
	    "accounts=%u size=%zu uid=%s", r->sessid, r->sender, r->nacc, msglen, uid);
	ans[nans].mbs = idx;
	ans[nans].nmbs = k;
	nans++;
	idx = NULL;
	goto out;
reply:
	log_warnx("store: session %s: from=<%s> not delivered: %s", r->sessid,
	    r->sender, text);
	append_reply(c, r->id, st, text);
out:
	free(idx);
	free(old);
	free(rec);
	unmap_message(msg, msglen);
}

void
batch_finish(void)
{
	int failed = 0;

	for (size_t i = 0; i < ntb; i++) {
		if (!tb[i].busy || tb[i].failed || tb[i].mb.fd == -1)
			continue;
		if (tb[i].mb.size != tb[i].start_size && mb_fsync(&tb[i].mb) == -1) {
			log_warn("store: fsync mailbox %s", tb[i].mb.name);
			failed = 1;
		}
	}
	if (failed) {
		/* nothing of this pass may count as delivered */
		for (size_t i = 0; i < ntb; i++) {
			if (!tb[i].busy || tb[i].failed || tb[i].mb.fd == -1)
				continue;
			if (mb_truncate(&tb[i].mb, tb[i].start_size) == -1)
				mailbox_set_verified(tb[i].mb.name, 0);
			fsync(tb[i].mb.fd);
		}
	}
	for (size_t i = 0; i < nans; i++) {
		if (failed) {
			ans[i].status = STORE_TEMPFAIL;
			log_warnx("store: %s: not delivered: fsync failed", ans[i].text);
			append_reply(ans[i].c, ans[i].id, STORE_TEMPFAIL, "fsync failed");
		} else {
			log_info("store: %s: delivered", ans[i].text);
			append_reply(ans[i].c, ans[i].id, STORE_OK, "delivered");
		}
		free(ans[i].mbs);
	}
	/* after a failed fsync nothing is kept open: start afresh */
	cache_settle(failed);
	nans = 0;
}
