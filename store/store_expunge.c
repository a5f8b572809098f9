/*
 * IMAP EXPUNGE (issue 13; privsep/msg.h MSG_EXPUNGE): the \Deleted
 * messages of the channel's view (all of them, or those among the UIDs
 * given: UID EXPUNGE) leave the folder by the crash-safe rewrite POP3's
 * UPDATE uses (mb_rewrite(): new file, fsync, exchange, directory fsync),
 * under the folder's locks, the flag journal folded into the kept lines
 * in the same rewrite and reset after it (store/flagstate.c).
 *
 * Deferred compaction: in a folder file of compact-min-size or more, an
 * EXPUNGE that leaves less than 1/COMPACT_DEAD_FRACTION of the file
 * hidden writes one FJ_EXPUNGED journal record a message instead (one
 * fsync, where the rewrite of 100 MB takes most of a second: BENCH.md).
 * Every reader skips a hidden message (folder_state() for SELECT,
 * VIEW_SYNC, STATUS; the POP3 snapshot; fst_apply() never shows the bit),
 * and every rewrite of the folder with its fold drops them (mb_rewrite(),
 * mb_assign_uids()), so the bytes go with the next EXPUNGE past the
 * threshold, the next POP3 COMMIT, or a RENAME of INBOX.  Losing the
 * journal brings a hidden message back (never loses one).
 *
 * \Deleted is judged on the file as it is under the lock, with the
 * journal: a message another session marked is expunged too (RFC 3501
 * 6.4.3), one it unmarked is not; a message the view was never told of
 * (delivered since its last VIEW_SYNC) is never expunged.  Messages are
 * matched by identity (UIDL and head hash), as a POP3 COMMIT matches, so
 * a POP3 snapshot taken before still deletes exactly what it marked.
 *
 * Before any message with a UID goes, the folder table's UIDNEXT is
 * raised past it, durably (mbc_inbox_floor_raise() for INBOX, whose
 * deliveries take UIDs from the delivery cache; the table itself for the
 * other folders): no UID is given twice, even after a restart.  The
 * channel's view drops the messages expunged; the other views of the
 * folder get MSG_CHANGED and learn it at their VIEW_SYNC, still reading
 * the old file through their descriptor until then.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "flagjournal.h"
#include "foldertab.h"
#include "store_int.h"
#include "xpostern.h"


static const char text_temp[] = "The folder cannot be changed now";

/* The last expunge_uids() hid its messages (deferred compaction): for
 * the log lines. */
static int deferred;

/* Is uid among uids[0..n) (ascending)? */
static int
uid_in(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uids[mid] == uid)
			return 1;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The most messages one deferred EXPUNGE hides (one journal batch, well
 * under FJ_BATCH_MAX_BYTES); more are rewritten away at once. */
#define DEFER_MAX_MESSAGES 65536

/*
 * Deferred compaction: may the messages del[0..ndel) of mb (scanned as l)
 * be hidden instead of rewritten away?  When the file is at least
 * compact-min-size and what would then be hidden in it (these and those
 * hidden before) stays under 1/COMPACT_DEAD_FRACTION of it.
 */
static int
defer_ok(const struct mailbox *mb, const struct mbox_list *l, const struct fst *fs,
    const struct mbox_ent *del, size_t ndel)
{
	uint64_t dead = 0;

	if (fs == NULL || ndel > DEFER_MAX_MESSAGES || mb->size < S.conf.compact_min_size ||
	    mb->size == 0)
		return 0;
	for (size_t i = 0; i < ndel; i++)
		dead += del[i].len;
	if (fst_nhidden(fs) > 0)
		for (size_t i = 0; i < l->n; i++)
			if (l->v[i].imapuid != 0 && fst_hidden(fs, l->v[i].imapuid))
				dead += l->v[i].len;
	return dead < mb->size / COMPACT_DEAD_FRACTION;
}

/* Hides del[0..ndel) with one FJ_EXPUNGED record each, fsync'ed.
 * 0 / -1 with *why (nothing hidden). */
static int
hide(struct fst *fs, const struct mbox_ent *del, size_t ndel, const char **why)
{
	struct fj_change *ch = xcalloc(ndel, sizeof(*ch));
	int r;

	for (size_t i = 0; i < ndel; i++) {
		ch[i].uid = del[i].imapuid;
		ch[i].set = FJ_EXPUNGED;
	}
	r = fst_write(fs, ch, ndel, why);
	free(ch);
	return r;
}

/*
 * Removes from the view's folder the messages of the view among uids[0..n)
 * (n 0: every one of the view) that are \Deleted (all named when
 * !only_deleted: MOVE's sources).  *out (malloc'ed) the UIDs removed,
 * ascending, *nout of them; the view no longer has them.  STORE_OK, or a
 * status with *text.
 */
uint32_t
expunge_uids(struct chan *c, const uint32_t *uids, size_t n, int only_deleted,
    uint32_t **out, size_t *nout, const char **text)
{
	struct view *v = c->view;
	struct foldertab t;
	struct folder *f;
	struct mailbox mb;
	struct mbox_list l;
	struct mbox_ent *del = NULL;
	struct fst *fs;
	const char *why = NULL;
	uint32_t fid = c->view_fid, uv = view_uidvalidity(v), maxuid = 0, deleted = 0;
	uint32_t st = STORE_TEMPFAIL;
	size_t ndel = 0;
	int areafd, r;

	*out = NULL;
	*nout = 0;
	*text = text_temp;
	deferred = 0;
	if ((areafd = imap_area_open(c->account)) == -1)
		return STORE_TEMPFAIL;
	if (imap_table_load(c->account, areafd, &t) == -1) {
		close(areafd);
		return STORE_TEMPFAIL;
	}
	if ((f = folder_by_id(&t, fid)) == NULL || f->uidvalidity != uv) {
		foldertab_free(&t);
		close(areafd);
		*text = "The selected folder was deleted or renumbered";
		return STORE_NOSUCH;
	}
	if ((fs = fst_get(c->account, fid, uv)) == NULL) {
		foldertab_free(&t);
		close(areafd);
		return STORE_TEMPFAIL;
	}
	/* the delivery cache's idle descriptor of INBOX goes before the
	 * lock is taken (closing it after would drop ours) */
	if (fid == 0)
		mbc_forget(c->account);
	mbox_list_init(&l);
	if ((r = folder_open(c->account, areafd, fid, &mb, &l)) != 0) {
		mbox_list_free(&l);
		foldertab_free(&t);
		close(areafd);
		if (r == 1) {
			*text = "";
			return STORE_OK;      /* no file: nothing to expunge */
		}
		return STORE_TEMPFAIL;
	}
	for (size_t i = 0; i < l.n; i++) {
		uint32_t u = l.v[i].imapuid, fl = l.v[i].mflags;
		size_t nokw = 0;

		if (u == 0 || view_find(v, u) < 0 || (n > 0 && !uid_in(uids, n, u)))
			continue;
		fst_apply(fs, u, &fl, NULL, &nokw);
		if (only_deleted && !(fl & MF_DELETED))
			continue;
		del = xreallocarray(del, ndel + 1, sizeof(*del));
		del[ndel++] = l.v[i];
		*out = xreallocarray(*out, ndel, sizeof(**out));
		(*out)[ndel - 1] = u;
		if (u > maxuid)
			maxuid = u;
	}
	if (ndel == 0) {
		st = STORE_OK;
		*text = "";
		goto done;
	}
	/* the UIDs that go are never given again: the table first */
	if (fid == 0) {
		if (mbc_inbox_floor_raise(c->account, maxuid == UINT32_MAX ? maxuid :
		    maxuid + 1, &why) == -1) {
			log_warnx("store: expunge %s: %s", c->account, why);
			goto done;
		}
	} else if (f->uidnext <= maxuid && maxuid != UINT32_MAX) {
		f->uidnext = maxuid + 1;
		if (imap_table_save(c->account, areafd, &t) == -1)
			goto done;
	}
	if (defer_ok(&mb, &l, fs, del, ndel)) {
		if (hide(fs, del, ndel, &why) == 0) {
			deferred = 1;
			deleted = (uint32_t)ndel;
			st = STORE_OK;
			*text = "";
			goto done;
		}
		log_warnx("store: expunge %s: hiding in the flag journal: %s; the folder is "
		    "rewritten now", c->account, why);
	}
	/* the rewrite drops every message hidden before, too (mb_rewrite()
	 * through the fold) */
	mb.fold = fst_fold(fs);
	if (mb_rewrite(&mb, del, ndel, &deleted, &why) == -1) {
		log_warnx("store: expunge %s: %s", c->account, why);
		mb.fold = NULL;
		goto done;
	}
	mb.fold = NULL;
	/* durable: the journal folded in is reset */
	fst_folded(fs, uv);
	st = STORE_OK;
	*text = "";
done:
	mb_close(&mb);
	mbox_list_free(&l);
	foldertab_free(&t);
	close(areafd);
	free(del);
	if (st != STORE_OK || deleted != ndel) {
		if (st == STORE_OK)
			log_warnx("store: expunge %s: %u of %zu removed", c->account, deleted, ndel);
		free(*out);
		*out = NULL;
		return st == STORE_OK ? STORE_TEMPFAIL : st;
	}
	*nout = ndel;
	if (ndel > 0) {
		view_remove(v, *out, ndel);
		chan_changed(c->account, fid, c);
	}
	return STORE_OK;
}

void
handle_expunge(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	uint32_t *gone = NULL, st;
	size_t ngone = 0;
	const char *text;
	int fd = -1;

	if (view_readonly(c->view)) {
		chan_reply_text(c, MSG_EXPUNGE_R, r->id, STORE_CANNOT, "The folder is read-only "
		    "(EXAMINE)");
		return;
	}
	st = expunge_uids(c, r->uids, r->nuid, 1, &gone, &ngone, &text);
	if (st != STORE_OK) {
		chan_reply_text(c, MSG_EXPUNGE_R, r->id, st, text);
		return;
	}
	if (ngone > 0 && (fd = sealed_memfd("postern-expunge", gone, 4 * ngone)) == -1) {
		/* they are gone: the view learns it at its next sync */
		log_warn("store: expunge memfd");
		ngone = 0;
	}
	log_info("store: imap worker %d: %s: expunge, %zu messages%s", (int)c->pid, c->account,
	    ngone, deferred ? " (hidden; the file is compacted later)" : "");
	free(gone);
	ipc_init(&m, MSG_EXPUNGE_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_str(&m, "");
	ipc_put_u32(&m, (uint32_t)ngone);
	if (fd != -1)
		ipc_set_fd(&m, fd);
	chan_send(c, &m);
	if (fd != -1)
		close(fd);
}

/* ---- MSG_COPY: COPY and MOVE (RFC 3501 6.4.7, RFC 6851, RFC 4315) ---- */

/* The largest message record copied (read whole into memory): a foreign
 * message in a folder may exceed max-message-size. */
#define COPY_RECORD_MAX_BYTES ((uint64_t)1 << 31)

/*
 * The record of a copy of view message i: its From_ line (the internal
 * date kept), a new X-Postern line (a fresh UIDL, the target UID, the
 * flags and keywords the view has), the rest of its bytes as they are
 * (mboxrd quoting, separator).  Malloc'ed, *len; NULL with *why.
 */
static unsigned char *
copy_record(const struct view *v, size_t i, uint32_t uid, size_t *len, const char **why)
{
	static struct xp_kw kw[FOLDER_KEYWORDS_MAX_COUNT];
	static char xl[XPOSTERN_LINE_MAX_BYTES + 1];
	const struct mbox_ent *e = view_ent(v, i);
	char uidl[MBOX_UID_MAX + 1];
	unsigned char *raw, *out, *lf;
	size_t fromlen, nkw, rest, sep = 0;
	uint64_t total;
	int n;

	if (e->len > COPY_RECORD_MAX_BYTES || e->skip == 0 || e->skip > e->len) {
		*why = "a message of the view cannot be copied";
		return NULL;
	}
	raw = xmalloc((size_t)e->len + 1);
	if (pread_full(view_fd(v), raw, (size_t)e->len, (off_t)e->off) != (ssize_t)e->len ||
	    memcmp(raw, "From ", 5) != 0 ||
	    (lf = memchr(raw, '\n', e->skip)) == NULL) {
		free(raw);
		*why = "a message of the view is no longer where it was (the folder was "
		    "rewritten in place by another program)";
		return NULL;
	}
	fromlen = (size_t)(lf + 1 - raw);
	/* a message without its blank separator (a foreign last one) gets
	 * one, so that the next record starts a From_ line */
	if (e->len < 2 || raw[e->len - 1] != '\n' || raw[e->len - 2] != '\n')
		sep = raw[e->len - 1] == '\n' ? 1 : 2;
	rest = (size_t)e->len - (e->skip - fromlen) + sep;
	nkw = view_msg_kw(v, i, kw);
	mbox_new_uid(uidl);
	n = xpostern_format(xl, sizeof(xl), uidl, uid, view_flags(v, i) & MF_ALL, kw, nkw,
	    rest, &total, why);
	if (n == -1) {
		free(raw);
		return NULL;
	}
	*len = (size_t)total;
	out = xmalloc(*len);
	memcpy(out, raw, fromlen);
	memcpy(out + fromlen, xl, (size_t)n);
	memcpy(out + fromlen + (size_t)n, raw + e->skip, (size_t)(e->len - e->skip));
	memcpy(out + fromlen + (size_t)n + (e->len - e->skip), "\n\n", sep);
	free(raw);
	return out;
}

/*
 * Appends copies of the view's messages idx[0..n) to folder tfid, durably:
 * *uids the target UIDs (ascending).  INBOX takes its UIDs from the
 * delivery cache's state (one counter with deliveries, mbc_uid_next());
 * another folder from max(its table UIDNEXT, its last UID + 1), the
 * table raised after the fsync.  The target is made UID-complete first.
 * STORE_OK, or a status with *text (nothing of the copy kept).
 */
static uint32_t
copy_into(struct chan *c, int areafd, struct foldertab *t, uint32_t tfid,
    const size_t *idx, size_t n, uint32_t *uids, const char **text)
{
	struct mailbox tmb, *mb = &tmb;
	struct mbox_list l;
	struct folder *f;
	const char *why = NULL;
	uint64_t cut, start;
	uint32_t next = 0, st = STORE_TEMPFAIL;
	ssize_t ti = -1;
	int ren, failed = 1;

	*text = "The messages cannot be copied now";
	mbox_list_init(&l);
	if (folder_state(c, areafd, t, tfid, &tmb, &l, &ren) == -1) {
		mbox_list_free(&l);
		return STORE_TEMPFAIL;
	}
	if (tfid == 0) {
		/* INBOX through the delivery cache, as deliveries write it */
		if (tmb.fd != -1)
			mb_close(&tmb);
		mbc_uidstate_forget(c->account);
		mbc_pass_begin();
		if ((ti = mbc_touch(c->account)) == -1) {
			mbc_pass_end(1);
			mbox_list_free(&l);
			return STORE_TEMPFAIL;
		}
		mb = mbc_mb((size_t)ti);
	} else {
		char fn[FOLDERTAB_FILE_NAME_BYTES];

		if (tmb.fd == -1) {
			/* a folder nothing was ever filed into: its file now */
			foldertab_file_name(tfid, fn);
			mb_init(&tmb, areafd, fn);
			if (mb_open(&tmb, 1, &why) != 0) {
				log_warnx("store: %s: folder %s: %s", c->account, fn, why);
				mbox_list_free(&l);
				return STORE_TEMPFAIL;
			}
		}
		mbox_list_truncate(&l, 0);
		if (mb_lock(&tmb, MB_LOCK_TIMEOUT_MS, &why) == -1 ||
		    mb_scan(&tmb, &l, 1, &cut, &why) == -1) {
			log_warnx("store: %s: copy: %s", c->account, why);
			goto out;
		}
		if ((f = folder_by_id(t, tfid)) == NULL)
			goto out;
		next = f->uidnext;
		if (l.n > 0 && l.v[l.n - 1].imapuid >= next)
			next = l.v[l.n - 1].imapuid == UINT32_MAX ? 0 : l.v[l.n - 1].imapuid + 1;
		for (size_t i = 0; i < l.n && next != 0; i++)
			if (l.v[i].imapuid == 0)
				next = 0;       /* mail came without UIDs meanwhile */
	}
	start = mb->size;
	for (size_t i = 0; i < n; i++) {
		unsigned char *rec;
		size_t len;
		uint32_t uid = tfid == 0 ? mbc_uid_next((size_t)ti) : next;

		if (uid == 0 || (tfid != 0 && next == UINT32_MAX)) {
			log_warnx("store: %s: copy: the target has no UID to give", c->account);
			goto undo;
		}
		if ((rec = copy_record(c->view, idx[i], uid, &len, &why)) == NULL) {
			log_warnx("store: %s: copy: %s", c->account, why);
			goto undo;
		}
		if (S.conf.quota && mb->size + len > S.conf.quota) {
			free(rec);
			st = STORE_QUOTA;
			*text = "The target folder is over quota";
			goto undo;
		}
		if (mb_append(mb, rec, len) == -1) {
			int e = errno;

			free(rec);
			log_warnx("store: %s: copy: append: %s", c->account, strerror(e));
			if (e == ENOSPC || e == EDQUOT) {
				st = STORE_NOSPACE;
				*text = "No space left for the copies";
			}
			goto undo;
		}
		free(rec);
		uids[i] = uid;
		if (tfid == 0)
			mbc_appended((size_t)ti, uid);
		else
			next++;
	}
	if (tfid == 0) {
		failed = mbc_pass_fsync() == -1;
		mbc_pass_end(failed);
		if (failed)
			goto out;
	} else {
		if (mb_fsync(mb) == -1) {
			log_warn("store: %s: copy: fsync", c->account);
			goto undo;
		}
		/* durable: the table's UIDNEXT follows (a crash before this
		 * is repaired from the file by the next SELECT) */
		if ((f = folder_by_id(t, tfid)) != NULL && f->uidnext < next) {
			f->uidnext = next;
			(void)imap_table_save(c->account, areafd, t);
		}
		failed = 0;
	}
	st = STORE_OK;
	*text = "";
	goto out;
undo:
	/* nothing of a failed copy stays: cut back to before it */
	if (mb->fd != -1 && mb->size > start && mb_truncate(mb, start) == -1)
		log_warn("store: %s: copy: truncating the target back", c->account);
	if (tfid == 0)
		mbc_pass_end(1);
out:
	if (tfid != 0 && tmb.fd != -1)
		mb_close(&tmb);
	mbox_list_free(&l);
	(void)failed;
	return st;
}

void
handle_copy(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	struct view *v = c->view;
	struct foldertab t;
	struct folder *f;
	const char *why = NULL, *text;
	uint32_t *tuids = NULL, *gone = NULL, tfid, tuv, st;
	size_t *idx, ngone = 0;
	int areafd, fd;

	if (r->on && view_readonly(v)) {
		chan_reply_text(c, MSG_COPY_R, r->id, STORE_CANNOT, "The folder is read-only "
		    "(EXAMINE): MOVE cannot remove from it");
		return;
	}
	idx = xcalloc(r->nuid, sizeof(*idx));
	for (uint32_t i = 0; i < r->nuid; i++) {
		ssize_t k = view_find(v, r->uids[i]);

		if (k < 0) {
			char t_[96];

			snprintf(t_, sizeof(t_), "COPY of UID %u, not in the view", r->uids[i]);
			chan_drop(c, t_);
			free(idx);
			return;
		}
		idx[i] = (size_t)k;
	}
	if ((areafd = imap_area_open(c->account)) == -1) {
		free(idx);
		chan_reply_text(c, MSG_COPY_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	if (imap_table_load(c->account, areafd, &t) == -1) {
		close(areafd);
		free(idx);
		chan_reply_text(c, MSG_COPY_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	if ((f = foldertab_find(&t, r->folder[0], r->folderlen[0], &why)) == NULL ||
	    (f->flags & FF_NOFOLDER)) {
		char t_[256];
		enum ft_class cl = f ? FTC_CANNOT : foldertab_why_class(why);

		snprintf(t_, sizeof(t_), "Folder %s", f ? "cannot hold messages (\\Noselect)" :
		    why);
		chan_reply_text(c, MSG_COPY_R, r->id, cl == FTC_NOSUCH ? STORE_NOSUCH :
		    cl == FTC_LIMIT ? STORE_LIMIT : STORE_CANNOT, t_);
		goto out;
	}
	tfid = f->id;
	tuv = f->uidvalidity;
	tuids = xcalloc(r->nuid, sizeof(*tuids));
	if ((st = copy_into(c, areafd, &t, tfid, idx, r->nuid, tuids, &text)) != STORE_OK) {
		chan_reply_text(c, MSG_COPY_R, r->id, st, text);
		goto out;
	}
	/* the copies are durable: the other views of the target learn them */
	chan_changed(c->account, tfid, c);
	if ((f = folder_by_id(&t, tfid)) != NULL)
		tuv = f->uidvalidity;
	if (r->on) {
		/* MOVE: the sources go as EXPUNGE takes them (a crash before
		 * this leaves them in both folders, never in neither) */
		st = expunge_uids(c, r->uids, r->nuid, 0, &gone, &ngone, &text);
		if (st != STORE_OK) {
			log_warnx("store: imap worker %d: %s: move: copied, the sources not "
			    "removed", (int)c->pid, c->account);
			chan_reply_text(c, MSG_COPY_R, r->id, STORE_TEMPFAIL, "The messages were "
			    "copied but not removed from this folder");
			goto out;
		}
		/* a source another session expunged meanwhile (read from the
		 * view's file) is gone too: the view has none of them */
		view_remove(v, r->uids, r->nuid);
	}
	{
		uint32_t *pairs = xcalloc(2 * (size_t)r->nuid, sizeof(*pairs));

		for (uint32_t i = 0; i < r->nuid; i++) {
			pairs[2 * i] = r->uids[i];
			pairs[2 * i + 1] = tuids[i];
		}
		fd = sealed_memfd("postern-copyuid", pairs, 8 * (size_t)r->nuid);
		free(pairs);
	}
	if (fd == -1) {
		log_warn("store: copy memfd");
		chan_reply_text(c, MSG_COPY_R, r->id, STORE_TEMPFAIL, text_temp);
		goto out;
	}
	log_info("store: imap worker %d: %s: %s of %u messages to folder %s%s", (int)c->pid,
	    c->account, r->on ? "move" : "copy", r->nuid, f != NULL ? f->name : "?",
	    r->on && deferred ? " (the sources hidden; compacted later)" : "");
	ipc_init(&m, MSG_COPY_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_str(&m, "");
	ipc_put_u32(&m, tuv);
	ipc_put_u32(&m, r->nuid);
	ipc_set_fd(&m, fd);
	chan_send(c, &m);
	close(fd);
out:
	foldertab_free(&t);
	close(areafd);
	free(idx);
	free(tuids);
	free(gone);
}
