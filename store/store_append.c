/*
 * The IMAP APPEND of the store (issue 13; DESIGN.md "Folders, UIDs and
 * flags" and "Durability"; the contract is MSG_IMAP_APPEND in
 * privsep/msg.h).  A handler (store_int.h layer 2), one row of
 * dispatch.c: it writes through the mailbox layer (mbcache.c for INBOX,
 * mailbox.c for a folder's file), reads the folder table through
 * store_imap.c, and answers through chan.c.
 *
 * The message comes as SMTP's does, in a sealed memfd (map_message() of
 * store_smtp.c): 1..max-message-size bytes as the client sent them.  Its
 * CRLF line ends become LF (postern's mbox has LF lines); every other
 * byte is kept as sent, a bare CR or LF too (a bare LF ends a line, as
 * everywhere in the mbox layer); a NUL is refused (STORE_BADMSG): the
 * mbox and every reader of it take text.  The record is mbox_encode()'s:
 * the From_ line dated with the internal date (now when none is given)
 * and saying MAILER-DAEMON, no Return-Path (an APPEND has no envelope),
 * the X-Postern line with a fresh UIDL, the folder's next IMAP UID and
 * the flags and keywords the client gave.
 *
 * UIDs.  The folder is made UID-complete first (folder_uids_complete():
 * mb_assign_uids() from the table's UIDNEXT, a renumbering after a new
 * UIDVALIDITY is saved).  A folder's file is only written by the store
 * and the store runs one request at a time: its new UID is max(the
 * table's UIDNEXT, the last UID + 1).  INBOX also gets deliveries: its
 * UID comes from the mailbox cache's INBOX UID state (mbc_uid_next(),
 * mbc_appended()), the one counter SMTP's APPENDs use, so that an APPEND
 * and a delivery never get one UID, and a UID given to a record truncated
 * away is not given again.
 *
 * Durability.  The request runs after the pass's group commit
 * (RUN_AFTER_COMMIT) with its own fsync: of the file, and of the
 * directory when the file was made; on any failure (the write, quota,
 * the fsync) the file is truncated back to its size before, and the
 * answer goes only once the record is durable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "foldertab.h"
#include "store_int.h"
#include "xpostern.h"

_Static_assert(VF_SEEN == MF_SEEN && VF_ANSWERED == MF_ANSWERED &&
    VF_FLAGGED == MF_FLAGGED && VF_DELETED == MF_DELETED && VF_DRAFT == MF_DRAFT,
    "the wire's flags are the X-Postern line's");

/* The most of a message's first bytes read for its X-Postern line: a
 * From_ line and the longest X-Postern line. */
#define APPEND_HEAD_BYTES (1024 + XPOSTERN_LINE_MAX_BYTES)

static const char text_temp[] = "The folder cannot be written now";

/* One APPEND on its way. */
struct apctx {
	struct chan *c;
	struct store_req *r;
	const unsigned char *msg;
	size_t msglen;
	const struct xp_kw *kw;
	size_t nkw;
	time_t when;
	char uidl[MBOX_UID_MAX + 1];
	const char *text;        /* the client's reason when not STORE_OK */
	uint32_t uid;
};

static void
append_reply(struct chan *c, uint32_t id, uint32_t st, const char *text,
    uint32_t uidvalidity, uint32_t uid)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_IMAP_APPEND_R, id);
	ipc_put_u32(&m, st);
	ipc_put_str(&m, st == STORE_OK ? "" : text);
	if (st == STORE_OK) {
		ipc_put_u32(&m, uidvalidity);
		ipc_put_u32(&m, uid);
	}
	chan_send(c, &m);
}

/* ---- keywords ---- */

/* The request's keywords as xp_kw, each valid (xp_keyword_ok), a repeat
 * (ignoring ASCII case) left out.  0, or -1: one is not a keyword we
 * store. */
static int
kw_prepare(const struct store_req *r, struct xp_kw *kw, size_t *nkw)
{
	size_t off = 0;

	*nkw = 0;
	for (uint32_t i = 0; i < r->nkw; i++) {
		const char *s = r->kwbuf + off;
		size_t n = r->kwlen[i];
		int dup = 0;

		off += n;
		if (!xp_keyword_ok(s, n))
			return -1;
		for (size_t j = 0; j < *nkw; j++)
			if (xp_keyword_cmp(kw[j].s, kw[j].n, s, n) == 0)
				dup = 1;
		if (!dup) {
			kw[*nkw].s = s;
			kw[*nkw].n = n;
			(*nkw)++;
		}
	}
	return 0;
}

/* Is s[0..n) one of have[0..nhave) (ignoring ASCII case)? */
static int
kw_known(char (*have)[IMAP_KEYWORD_MAX_BYTES + 1], size_t nhave, const char *s, size_t n)
{
	for (size_t j = 0; j < nhave; j++)
		if (xp_keyword_cmp(have[j], strlen(have[j]), s, n) == 0)
			return 1;
	return 0;
}

/*
 * Would the folder (file fd, messages l) have more than its limit of
 * keywords (FOLDER_KEYWORDS_DEFAULT_COUNT) with kw[0..nkw) added?  Reads
 * the X-Postern lines (one pread a message), newest first, and stops as
 * soon as every keyword of the APPEND is one the folder has: a client
 * mostly sets the keywords recent messages have, so this usually reads
 * a few messages.  1 over, 0 not, -1 could not read.
 */
static int
kw_over(int fd, const struct mbox_list *l, const struct xp_kw *kw, size_t nkw)
{
	static unsigned char head[APPEND_HEAD_BYTES];
	static char have[FOLDER_KEYWORDS_DEFAULT_COUNT][IMAP_KEYWORD_MAX_BYTES + 1];
	size_t nhave = 0, missing;
	int full = 0;                 /* the folder has more than have[] holds */

	for (size_t i = l->n; i-- > 0;) {
		const struct mbox_ent *e = &l->v[i];
		const unsigned char *nl;
		struct xpostern xp;
		const char *why;
		size_t want = e->skip;

		if (!(e->flags & MBE_POSTERN) || want > sizeof(head))
			continue;
		if (pread_full(fd, head, want, (off_t)e->off) != (ssize_t)want)
			return -1;
		if ((nl = memchr(head, '\n', want)) == NULL || xpostern_parse(nl + 1,
		    want - (size_t)(nl + 1 - head), &xp, &why) == -1 || xp.nkw == 0)
			continue;
		for (uint32_t k = 0; k < xp.nkw; k++) {
			const char *s = (const char *)nl + 1 + xp.kw_off[k];

			if (kw_known(have, nhave, s, xp.kw_len[k]))
				continue;
			if (nhave == FOLDER_KEYWORDS_DEFAULT_COUNT) {
				full = 1;
				continue;
			}
			memcpy(have[nhave], s, xp.kw_len[k]);
			have[nhave++][xp.kw_len[k]] = '\0';
		}
		missing = 0;
		for (size_t k = 0; k < nkw; k++)
			missing += !kw_known(have, nhave, kw[k].s, kw[k].n);
		if (missing == 0)
			return 0;
	}
	missing = 0;
	for (size_t k = 0; k < nkw; k++)
		missing += !kw_known(have, nhave, kw[k].s, kw[k].n);
	return missing > 0 && (full || nhave + missing > FOLDER_KEYWORDS_DEFAULT_COUNT);
}

/* ---- the write ---- */

/*
 * Appends x's record with UID uid to mb (open, both locks held; l its
 * messages, or NULL when there are no keywords to count): the keyword
 * limit, the quota, the write (truncated back by mb_append() on error).
 * STORE_OK with *old the size before, or the status with x->text.
 */
static uint32_t
put_record(struct apctx *x, struct mailbox *mb, const struct mbox_list *l, uint32_t uid,
    uint64_t *old)
{
	unsigned char *rec;
	size_t reclen = 0;
	uint64_t wire;
	int over;

	if (x->nkw > 0 && l != NULL && (over = kw_over(mb->fd, l, x->kw, x->nkw)) != 0) {
		x->text = over == 1 ? "Too many keywords in this folder" : text_temp;
		return over == 1 ? STORE_LIMIT : STORE_TEMPFAIL;
	}
	rec = mbox_encode(x->msg, x->msglen, NULL, x->uidl, uid, x->r->aflags, x->kw, x->nkw,
	    x->when, &reclen, &wire);
	if (rec == NULL) {
		log_warnx("store: %s: APPEND: cannot encode the message", x->c->account);
		x->text = text_temp;
		return STORE_TEMPFAIL;
	}
	if (S.conf.quota && mb->size + reclen > S.conf.quota) {
		free(rec);
		x->text = "Mailbox over quota";
		return STORE_QUOTA;
	}
	*old = mb->size;
	if (mb_append(mb, rec, reclen) == -1) {
		int e = errno;

		free(rec);
		log_warnx("store: %s: APPEND: writing %s: %s", x->c->account, mb->name,
		    strerror(e));
		x->text = (e == ENOSPC || e == EDQUOT) ? "Disk full" : text_temp;
		return (e == ENOSPC || e == EDQUOT) ? STORE_NOSPACE : STORE_TEMPFAIL;
	}
	free(rec);
	x->uid = uid;
	return STORE_OK;
}

/* INBOX: through the mailbox cache and its UID state. */
static uint32_t
append_inbox(struct apctx *x, int areafd, struct foldertab *t)
{
	const char *acc = x->c->account;
	struct mbox_list l;
	uint32_t uid, st;
	uint64_t old = 0, cut = 0;
	ssize_t ti;
	const char *why;
	int failed = 0;

	mbox_list_init(&l);
	mbc_pass_begin();
	ti = mbc_touch(acc);
	uid = ti == -1 ? 0 : mbc_uid_next((size_t)ti);
	if (ti != -1 && uid == 0) {
		/* not UID-complete: the cache lets go of it (no lock held
		 * then: its close would drop ours), the UIDs are given, and
		 * the cache learns the state again */
		struct mailbox mb;
		int ren, rc;

		mbc_pass_end(0);
		mbc_forget(acc);
		if (mailbox_open_locked(&mb, acc, 1, &l) != 0) {
			x->text = text_temp;
			mbox_list_free(&l);
			return STORE_TEMPFAIL;
		}
		rc = folder_uids_complete(acc, areafd, t, 0, &mb, &l, &ren);
		mb_close(&mb);
		mbox_list_truncate(&l, 0);
		mbc_uidstate_forget(acc);
		if (rc == -1) {
			x->text = text_temp;
			mbox_list_free(&l);
			return STORE_TEMPFAIL;
		}
		mbc_pass_begin();
		ti = mbc_touch(acc);
		uid = ti == -1 ? 0 : mbc_uid_next((size_t)ti);
		if (ti != -1 && uid == 0)
			log_warnx("store: %s: APPEND: INBOX has no IMAP UID to give", acc);
	}
	if (ti == -1 || uid == 0) {
		mbc_pass_end(0);
		x->text = text_temp;
		mbox_list_free(&l);
		return STORE_TEMPFAIL;
	}
	if (x->nkw > 0 && mb_scan(mbc_mb((size_t)ti), &l, 1, &cut, &why) == -1) {
		log_warnx("store: %s", why);
		st = STORE_TEMPFAIL;
		x->text = text_temp;
	} else
		st = put_record(x, mbc_mb((size_t)ti), x->nkw > 0 ? &l : NULL, uid, &old);
	if (st == STORE_OK) {
		mbc_appended((size_t)ti, uid);
		/* on failure every write of this pass (ours) is truncated back */
		if ((failed = mbc_pass_fsync() == -1)) {
			x->text = text_temp;
			st = STORE_TEMPFAIL;
		}
	}
	mbc_pass_end(failed);
	mbox_list_free(&l);
	return st;
}

/* A folder's own file: only the store writes it. */
static uint32_t
append_folder(struct apctx *x, int areafd, struct foldertab *t, uint32_t fid)
{
	const char *acc = x->c->account;
	char fn[FOLDERTAB_FILE_NAME_BYTES];
	const struct folder *f;
	struct mailbox mb;
	struct mbox_list l;
	const char *why = NULL;
	uint64_t old = 0, cut = 0;
	uint32_t st = STORE_TEMPFAIL, last, uid;
	int ren;

	x->text = text_temp;
	foldertab_file_name(fid, fn);
	mb_init(&mb, areafd, fn);
	mbox_list_init(&l);
	/* the table names only files that exist; one gone is made again */
	if (mb_open(&mb, 1, &why) != 0) {
		log_warnx("store: %s: folder %s: %s", acc, fn, why);
		return STORE_TEMPFAIL;
	}
	if (mb.created)
		log_warnx("store: %s: folder %s was missing: made empty", acc, fn);
	if (mb_lock(&mb, MB_LOCK_TIMEOUT_MS, &why) == -1 ||
	    mb_scan(&mb, &l, 1, &cut, &why) == -1) {
		log_warnx("store: %s: folder %s: %s", acc, fn, why);
		goto out;
	}
	if (cut > 0)
		log_warnx("store: %s: folder %s: cut a torn tail of %llu bytes", acc, fn,
		    (unsigned long long)cut);
	if (folder_uids_complete(acc, areafd, t, fid, &mb, &l, &ren) == -1 ||
	    (f = folder_by_id(t, fid)) == NULL)
		goto out;
	last = l.n > 0 ? l.v[l.n - 1].imapuid : 0;
	if (last == UINT32_MAX || f->uidnext == UINT32_MAX) {
		log_warnx("store: %s: folder %s has no IMAP UID left", acc, f->name);
		x->text = "The folder has no UID left";
		st = STORE_LIMIT;
		goto out;
	}
	uid = f->uidnext > last + 1 ? f->uidnext : last + 1;
	if ((st = put_record(x, &mb, &l, uid, &old)) != STORE_OK)
		goto out;
	if (mb_fsync(&mb) == -1) {
		log_warn("store: %s: APPEND: fsync folder %s", acc, fn);
		if (mb_truncate(&mb, old) == -1)
			log_warn("store: %s: truncating folder %s back", acc, fn);
		(void)fsync(mb.fd);
		x->text = text_temp;
		st = STORE_TEMPFAIL;
	}
out:
	mb_close(&mb);
	mbox_list_free(&l);
	return st;
}

/* MSG_IMAP_APPEND */
void
handle_imap_append(struct chan *c, struct store_req *r)
{
	struct xp_kw kw[IMAP_FLAG_KEYWORDS_MAX_COUNT];
	struct apctx x;
	struct foldertab t;
	const struct folder *f;
	const char *why = NULL;
	uint32_t st = STORE_OK, fid;
	int mr, areafd;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.r = r;
	if ((mr = map_message(c, r, &x.msg, &x.msglen, &st)) == -1)
		return;
	if (mr == 1)
		x.text = st == STORE_BADMSG ? "Message too big" : text_temp;
	else if (x.msglen == 0) {
		st = STORE_BADMSG;
		x.text = "Empty message";
	} else if (S.conf.max_message_size != 0 && x.msglen > S.conf.max_message_size) {
		st = STORE_BADMSG;
		x.text = "Message too big";
	} else if (memchr(x.msg, '\0', x.msglen) != NULL) {
		st = STORE_BADMSG;
		x.text = "Message contains a NUL byte, which cannot be stored";
	} else if (kw_prepare(r, kw, &x.nkw) == -1) {
		st = STORE_BADMSG;
		x.text = "Invalid keyword";
	}
	if (st != STORE_OK) {
		log_info("store: imap worker %d: %s: APPEND refused: %s", (int)c->pid,
		    c->account, x.text);
		append_reply(c, r->id, st, x.text, 0, 0);
		unmap_message(x.msg, x.msglen);
		return;
	}
	x.kw = kw;
	x.when = r->adate != 0 ? (time_t)r->adate : time(NULL);
	mbox_new_uid(x.uidl);
	if ((areafd = imap_area_open(c->account)) == -1) {
		append_reply(c, r->id, STORE_TEMPFAIL, text_temp, 0, 0);
		unmap_message(x.msg, x.msglen);
		return;
	}
	if (imap_table_load(c->account, areafd, &t) == -1) {
		append_reply(c, r->id, STORE_TEMPFAIL, text_temp, 0, 0);
		close(areafd);
		unmap_message(x.msg, x.msglen);
		return;
	}
	f = foldertab_find(&t, r->folder[0], r->folderlen[0], &why);
	if (f == NULL && foldertab_why_class(why) == FTC_CANNOT) {
		st = STORE_CANNOT;
		x.text = "Not a valid folder name";
	} else if (f == NULL || (f->flags & FF_NOFOLDER)) {
		/* the worker says [TRYCREATE] */
		st = STORE_NOSUCH;
		x.text = "Folder does not exist";
	} else {
		fid = f->id;
		st = fid == 0 ? append_inbox(&x, areafd, &t) : append_folder(&x, areafd, &t, fid);
		/* the renumbering, if any, changed t: the folder's values now */
		if (st == STORE_OK && (f = folder_by_id(&t, fid)) == NULL)
			st = STORE_TEMPFAIL;
	}
	if (st == STORE_OK) {
		log_info("store: imap worker %d: %s: APPEND to %s: uid %u uidl %s size %zu",
		    (int)c->pid, c->account, f->name, x.uid, x.uidl, x.msglen);
		append_reply(c, r->id, STORE_OK, "", f->uidvalidity, x.uid);
		/* every view of the folder learns of it, the appender's too
		 * (its next command tells its client EXISTS) */
		chan_changed(c->account, fid, NULL);
	} else {
		log_info("store: imap worker %d: %s: APPEND not stored: %s", (int)c->pid,
		    c->account, x.text);
		append_reply(c, r->id, st, x.text, 0, 0);
	}
	foldertab_free(&t);
	close(areafd);
	unmap_message(x.msg, x.msglen);
}
