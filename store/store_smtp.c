/*
 * The SMTP side of the store: LOOKUP, and APPEND with group commit.
 * Handlers (store_int.h layer 2): they write through the mailbox layer
 * (mbcache.c) and answer through chan.c.
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

struct answer {
	struct chan *c;
	uint32_t id;
	char text[LIM_PATH + 200];
};

static struct answer *ans;
static size_t nans;

void
batch_begin(void)
{
	nans = 0;
	mbc_pass_begin();
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

/* Checks the memfd: sealed, regular, not too big.  Reads or maps it
 * (store_int.h: IMAP APPEND's too). */
int
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

void
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
		struct mailbox *mb = mbc_mb(idx[k]);

		if (mb_truncate(mb, old[k]) == -1) {
			log_warn("store: truncating mailbox %s back", mb->name);
			mailbox_set_verified(mb->name, 0);
		}
	}
}

/* Lower-cases the accounts; 0, or -1 with c dropped (an invalid name). */
static int
names_ok(struct chan *c, struct store_req *r)
{
	for (uint32_t i = 0; i < r->nacc; i++) {
		name_lower(r->acc[i]);
		if (!mailbox_name_ok(r->acc[i])) {
			chan_drop(c, "APPEND names an invalid mailbox");
			return -1;
		}
	}
	return 0;
}

/* One message as the accounts of a request get it: the record without
 * an IMAP UID (shared, made when first needed) and what makes one. */
struct delivery {
	const unsigned char *msg;
	size_t msglen;
	const char *sender;
	const char *uid;
	time_t when;
	unsigned char *rec;      /* without an IMAP UID; NULL: not made yet */
	size_t reclen;
};

/* The record for a mailbox whose next IMAP UID is imapuid (0: none):
 * the shared one, or one of its own (*own set: the caller frees it).
 * NULL on ENOMEM. */
static const unsigned char *
record_for(struct delivery *d, uint32_t imapuid, size_t *len, unsigned char **own)
{
	uint64_t wire;

	*own = NULL;
	if (imapuid != 0) {
		*own = mbox_encode(d->msg, d->msglen, d->sender, d->uid, imapuid, 0, NULL, 0,
		    d->when, len, &wire);
		return *own;
	}
	if (d->rec == NULL)
		d->rec = mbox_encode(d->msg, d->msglen, d->sender, d->uid, 0, 0, NULL, 0,
		    d->when, &d->reclen, &wire);
	*len = d->reclen;
	return d->rec;
}

/*
 * Writes the message to the mailbox of every account of r (a name twice
 * is written once), with the IMAP UID the mailbox's next delivery gets
 * (mbc_uid_next()).  STORE_OK with idx[0..*k) the mailboxes written and
 * old[] their sizes before; else the status with text set, and what was
 * written stays for the caller to undo.
 */
static uint32_t
write_accounts(struct store_req *r, struct delivery *d, size_t *idx,
    uint64_t *old, size_t *k, char *text, size_t textsz)
{
	for (uint32_t i = 0; i < r->nacc; i++) {
		const unsigned char *rec;
		unsigned char *own;
		struct mailbox *mb;
		size_t reclen = 0;
		uint32_t imapuid;
		ssize_t t;
		int dup = 0;

		for (uint32_t j = 0; j < i; j++)
			if (strcmp(r->acc[j], r->acc[i]) == 0)
				dup = 1;
		if (dup)
			continue;
		if ((t = mbc_touch(r->acc[i])) == -1) {
			snprintf(text, textsz, "mailbox %s unavailable", r->acc[i]);
			return STORE_TEMPFAIL;
		}
		mb = mbc_mb((size_t)t);
		imapuid = mbc_uid_next((size_t)t);
		if ((rec = record_for(d, imapuid, &reclen, &own)) == NULL) {
			snprintf(text, textsz, "out of memory");
			return STORE_TEMPFAIL;
		}
		if (S.conf.quota && mb->size + reclen > S.conf.quota) {
			free(own);
			snprintf(text, textsz, "mailbox %s over quota", r->acc[i]);
			return STORE_QUOTA;
		}
		old[*k] = mb->size;
		if (mb_append(mb, rec, reclen) == -1) {
			int e = errno;

			free(own);
			snprintf(text, textsz, "writing mailbox %s: %s", r->acc[i],
			    strerror(e));
			return (e == ENOSPC || e == EDQUOT) ? STORE_NOSPACE : STORE_TEMPFAIL;
		}
		free(own);
		/* the UID counts as given even if this is undone: a gap */
		mbc_appended((size_t)t, imapuid);
		idx[(*k)++] = (size_t)t;
	}
	return STORE_OK;
}

/* Encodes the message and writes it to every account; STORE_OK (queued
 * for the answer after the fsyncs) or the status, with text set. */
static uint32_t
append_msg(struct chan *c, struct store_req *r, const unsigned char *msg,
    size_t msglen, char *text, size_t textsz)
{
	struct delivery d;
	size_t k = 0, *idx;
	uint64_t *old;
	uint32_t st;
	char uid[MBOX_UID_MAX + 1];

	mbox_new_uid(uid);
	memset(&d, 0, sizeof(d));
	d.msg = msg ? msg : (const unsigned char *)"";
	d.msglen = msglen;
	d.sender = r->sender;
	d.uid = uid;
	d.when = time(NULL);
	idx = xcalloc(r->nacc, sizeof(*idx));
	old = xcalloc(r->nacc, sizeof(*old));
	st = write_accounts(r, &d, idx, old, &k, text, textsz);
	if (st != STORE_OK)
		undo_writes(idx, old, k);
	else {
		/* durable only after the fsync in batch_finish() */
		ans = xreallocarray(ans, nans + 1, sizeof(*ans));
		ans[nans].c = c;
		ans[nans].id = r->id;
		snprintf(ans[nans].text, sizeof(ans[nans].text), "session %s: from=<%s> "
		    "accounts=%u size=%zu uid=%s", r->sessid, r->sender, r->nacc, msglen, uid);
		nans++;
	}
	free(idx);
	free(old);
	free(d.rec);
	return st;
}

void
batch_append(struct chan *c, struct store_req *r)
{
	const unsigned char *msg = NULL;
	size_t msglen = 0;
	uint32_t st = STORE_OK;
	char text[160] = "delivered";
	int mr;

	if (names_ok(c, r) == -1)
		return;
	if ((mr = map_message(c, r, &msg, &msglen, &st)) == -1)
		return;
	if (mr == 1) {
		append_reply(c, r->id, st, st == STORE_BADMSG ? "message too big" :
		    "cannot read the message");
		log_warnx("store: session %s: message refused (%s)", r->sessid,
		    st == STORE_BADMSG ? "too big" : "mmap failed");
		return;
	}
	for (uint32_t i = 0; i < r->nacc && st == STORE_OK; i++)
		if (acct_find(&S.tab, r->acc[i]) == NULL) {
			snprintf(text, sizeof(text), "no such account %s", r->acc[i]);
			st = STORE_NOSUCH;
		}
	if (st == STORE_OK)
		st = append_msg(c, r, msg, msglen, text, sizeof(text));
	if (st != STORE_OK) {
		log_warnx("store: session %s: from=<%s> not delivered: %s", r->sessid,
		    r->sender, text);
		append_reply(c, r->id, st, text);
	}
	unmap_message(msg, msglen);
}

void
batch_finish(void)
{
	int failed = mbc_pass_fsync() == -1;

	for (size_t i = 0; i < nans; i++) {
		if (failed) {
			log_warnx("store: %s: not delivered: fsync failed", ans[i].text);
			append_reply(ans[i].c, ans[i].id, STORE_TEMPFAIL, "fsync failed");
		} else {
			log_info("store: %s: delivered", ans[i].text);
			append_reply(ans[i].c, ans[i].id, STORE_OK, "delivered");
		}
	}
	/* the IMAP views of every INBOX that got mail learn it (coalesced) */
	for (size_t i = 0; !failed && i < mbc_pass_count(); i++)
		if (mbc_pass_grew(i))
			chan_changed(mbc_mb(i)->name, 0, NULL);
	/* after a failed fsync nothing is kept open: start afresh */
	mbc_pass_end(failed);
	nans = 0;
}
