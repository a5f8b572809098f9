/*
 * IMAP EXPUNGE (issue 13; privsep/msg.h MSG_EXPUNGE): the \Deleted
 * messages of the channel's view (all of them, or those among the UIDs
 * given: UID EXPUNGE) leave the folder by the crash-safe rewrite POP3's
 * UPDATE uses (mb_rewrite(): new file, fsync, exchange, directory fsync),
 * under the folder's locks, the flag journal folded into the kept lines
 * in the same rewrite and reset after it (store/flagstate.c).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "foldertab.h"
#include "store_int.h"
#include "xpostern.h"

static void
text_reply(struct chan *c, uint32_t type, uint32_t id, uint32_t st, const char *text)
{
	static struct ipc_msg m;

	ipc_init(&m, type, id);
	ipc_put_u32(&m, st);
	ipc_put_str(&m, text);
	chan_send(c, &m);
}

static const char text_temp[] = "The folder cannot be changed now";

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
		text_reply(c, MSG_EXPUNGE_R, r->id, STORE_CANNOT, "The folder is read-only "
		    "(EXAMINE)");
		return;
	}
	st = expunge_uids(c, r->uids, r->nuid, 1, &gone, &ngone, &text);
	if (st != STORE_OK) {
		text_reply(c, MSG_EXPUNGE_R, r->id, st, text);
		return;
	}
	if (ngone > 0 && (fd = sealed_memfd("postern-expunge", gone, 4 * ngone)) == -1) {
		/* they are gone: the view learns it at its next sync */
		log_warn("store: expunge memfd");
		ngone = 0;
	}
	log_info("store: imap worker %d: %s: expunge, %zu messages", (int)c->pid, c->account,
	    ngone);
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
