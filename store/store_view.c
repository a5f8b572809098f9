/*
 * The IMAP views of the store (issue 13; DESIGN.md "Folders, UIDs and
 * flags"; the contract is privsep/msg.h "store channel: IMAP views").
 * Handlers (store_int.h layer 2), one a row of dispatch.c: SELECT and
 * EXAMINE give a channel a view of one folder, FETCH reads messages of
 * it, VIEW_SYNC tells it what changed, UNSELECT drops it.  They read and
 * rewrite through the mailbox layer (mailbox.c) and the folder table
 * (foldertab.c, loaded and saved by store_imap.c), and answer through
 * chan.c.
 *
 * A view is what its channel was told: the folder's messages by UID in
 * file order (ascending UIDs), and the descriptor of the very file those
 * entries were read from.  The descriptor stays open until the next
 * VIEW_SYNC, so a message the channel can still name stays readable by it
 * after another session's rewrite (POP3 COMMIT, an expunge): the rename
 * leaves the old inode alive behind the descriptor.  No lock is held
 * between requests; a view's descriptor is only closed when no mailbox
 * lock is held (fcntl locks belong to the process and inode: closing any
 * descriptor of a locked file would drop the lock).
 *
 * SELECT / VIEW_SYNC bring the file up to date first, with its locks
 * held: the scan (index, torn tail repaired), UIDs for the messages that
 * lack one (mb_assign_uids() from the table's UIDNEXT; when the file's
 * UIDs are out of order it renumbers, after a new UIDVALIDITY is saved in
 * the table, and that is logged), and the table's UIDNEXT raised to what
 * the file needs (saved before the answer), so that a UID once shown is
 * never given again even after its message is deleted.
 *
 * \Recent (RFC 3501 2.3.2): the store keeps, in memory, a "recent floor"
 * UID per folder.  A message whose UID is at or above the floor is
 * \Recent for the next channel that SELECTs the folder (not EXAMINE) or
 * syncs a read-write view of it, which then raises the floor to its
 * UIDNEXT: one session sees each message as \Recent.  The floor of a
 * folder not seen since the store started is the table's UIDNEXT as
 * saved, which every SELECT and EXAMINE raises: mail that came since the
 * last one, before a restart too, is \Recent to the next SELECT.
 *
 * Internal dates come from the From_ line (postern writes asctime in
 * UTC; mbox_from_date()); one that does not parse is 0.  The scan reads
 * them and the index keeps them, with the count of keywords each
 * message's X-Postern line has (kw=(...)): a SELECT reads from the file
 * only the From_ and X-Postern lines of the messages that have keywords,
 * one pread each; for the rest the index is enough.
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

/* The most of a message's first lines read for its date and keywords:
 * a From_ line (its date is near the start of this) and the longest
 * X-Postern line. */
#define VIEW_HEAD_BYTES (1024 + XPOSTERN_LINE_MAX_BYTES)

/* One message of a view beyond its mbox_ent. */
struct vmeta {
	uint64_t date;          /* internal date, Unix seconds, 0 unknown */
	uint32_t kw, nkw;       /* its keyword indexes: kwidx[kw .. kw + nkw) */
	uint32_t recent;        /* VF_RECENT or 0, as this channel was told */
};

struct view {
	uint32_t fid;           /* folder file id, 0 INBOX */
	uint32_t uidvalidity, uidnext;
	int readonly;
	int fd;                 /* the file the entries were read from; -1: none */
	dev_t dev;              /* that file */
	ino_t ino;
	struct mbox_list l;     /* ascending UIDs */
	struct vmeta *meta;     /* l.n of them */
	uint32_t *kwidx;
	size_t nkwidx;
	char **kw;              /* the folder's keywords, in index order */
	size_t nkw;
};

/* ---- the recent floors ---- */

struct floor_ent {
	char account[LIM_NAME + 1];
	uint32_t fid, uidvalidity, floor;
};
static struct floor_ent *floors;
static size_t nfloors;

/* The floor of a folder, made from the table's UIDNEXT (saved) when the
 * store has not seen the folder yet; a new UIDVALIDITY starts afresh. */
static struct floor_ent *
floor_get(const char *account, uint32_t fid, uint32_t uidvalidity, uint32_t saved_next)
{
	for (size_t i = 0; i < nfloors; i++)
		if (floors[i].fid == fid && strcmp(floors[i].account, account) == 0) {
			if (floors[i].uidvalidity != uidvalidity) {
				floors[i].uidvalidity = uidvalidity;
				floors[i].floor = saved_next;
			}
			return &floors[i];
		}
	floors = xreallocarray(floors, nfloors + 1, sizeof(*floors));
	strlcpy_(floors[nfloors].account, account, sizeof(floors[0].account));
	floors[nfloors].fid = fid;
	floors[nfloors].uidvalidity = uidvalidity;
	floors[nfloors].floor = saved_next;
	return &floors[nfloors++];
}

/* ---- building a view ---- */

static void
view_free(struct view *v)
{
	if (v == NULL)
		return;
	if (v->fd != -1)
		close(v->fd);
	mbox_list_free(&v->l);
	free(v->meta);
	free(v->kwidx);
	for (size_t i = 0; i < v->nkw; i++)
		free(v->kw[i]);
	free(v->kw);
	free(v);
}

static struct view *
view_new(uint32_t fid)
{
	struct view *v = xcalloc(1, sizeof(*v));

	v->fid = fid;
	v->fd = -1;
	mbox_list_init(&v->l);
	return v;
}

/* The index of keyword s[0..n) in v's list, added when new; -1 when the
 * list is full (the keyword is left out of the view, logged once). */
static int64_t
kw_index(struct view *v, const char *s, size_t n)
{
	static int warned;

	for (size_t i = 0; i < v->nkw; i++)
		if (xp_keyword_cmp(v->kw[i], strlen(v->kw[i]), s, n) == 0)
			return (int64_t)i;
	if (v->nkw >= FOLDER_KEYWORDS_MAX_COUNT) {
		if (!warned++)
			log_warnx("store: a folder has more than %d keywords: the rest "
			    "are left out of its IMAP views", FOLDER_KEYWORDS_MAX_COUNT);
		return -1;
	}
	v->kw = xreallocarray(v->kw, v->nkw + 1, sizeof(*v->kw));
	v->kw[v->nkw] = xmalloc(n + 1);
	memcpy(v->kw[v->nkw], s, n);
	v->kw[v->nkw][n] = '\0';
	return (int64_t)v->nkw++;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The keywords kws[0..n) of message m, as indexes of v's list (made
 * when new), ascending: the same state gives the same list. */
static void
view_kw_put(struct view *v, struct vmeta *m, const struct xp_kw *kws, size_t n)
{
	m->kw = (uint32_t)v->nkwidx;
	m->nkw = 0;
	for (size_t k = 0; k < n; k++) {
		int64_t ix = kw_index(v, kws[k].s, kws[k].n);

		if (ix < 0)
			continue;
		v->kwidx = xreallocarray(v->kwidx, v->nkwidx + 1, sizeof(*v->kwidx));
		v->kwidx[v->nkwidx++] = (uint32_t)ix;
		m->nkw++;
	}
	if (m->nkw > 1)
		qsort(v->kwidx + m->kw, m->nkw, sizeof(*v->kwidx), cmp_u32);
}

/* The date and keywords of entry e (file fd) into *m, and its flags into
 * *mflags, the folder's flag journal fs (NULL: none) applied.  0, or -1
 * with errno (the file could not be read). */
static int
read_meta(struct view *v, int fd, const struct mbox_ent *e, struct vmeta *m,
    const struct fst *fs, uint32_t *mflags)
{
	static char buf[VIEW_HEAD_BYTES];
	static struct xp_kw kws[FOLDER_KEYWORDS_MAX_COUNT];
	size_t want = e->skip < sizeof(buf) ? e->skip : sizeof(buf), nkws = 0;
	const char *lf;
	ssize_t got;

	/* the date comes with the entry (the scan read it, the index keeps
	 * it); the file is read only for a line that has keywords */
	m->date = e->date;
	m->kw = (uint32_t)v->nkwidx;
	m->nkw = 0;
	*mflags = e->mflags;
	if (want == 0)
		return 0;
	got = 0;
	lf = NULL;
	if (e->nkw > 0 && (e->flags & MBE_POSTERN)) {
		if ((got = pread_full(fd, buf, want, (off_t)e->off)) < 0)
			return -1;
		lf = memchr(buf, '\n', (size_t)got);
	}
	if (lf != NULL && e->skip <= (uint64_t)got && (size_t)(lf + 1 - buf) < e->skip) {
		struct xpostern xp;
		const unsigned char *line = (const unsigned char *)lf + 1;
		size_t ln = e->skip - (size_t)(lf + 1 - buf);

		if (xpostern_parse(line, ln, &xp, NULL) == 0) {
			for (uint32_t k = 0; k < xp.nkw; k++) {
				kws[k].s = (const char *)line + xp.kw_off[k];
				kws[k].n = xp.kw_len[k];
			}
			nkws = xp.nkw;
		}
	}
	/* the flag journal's changes over the line's (store/flagstate.c) */
	if (fs != NULL && e->imapuid != 0) {
		uint32_t fl = e->mflags;

		fst_apply(fs, e->imapuid, &fl, kws, &nkws);
		*mflags = fl;
	}
	view_kw_put(v, m, kws, nkws);
	return 0;
}

/* Adds entry e (of v->fd) to v, its flags as the journal fs (NULL:
 * none) makes them.  0 / -1 (errno). */
static int
view_add(struct view *v, const struct mbox_ent *e, const struct fst *fs)
{
	if (mbox_list_push(&v->l, e) == -1)
		return -1;
	v->meta = xreallocarray(v->meta, v->l.n, sizeof(*v->meta));
	memset(&v->meta[v->l.n - 1], 0, sizeof(v->meta[0]));
	return read_meta(v, v->fd, e, &v->meta[v->l.n - 1], fs,
	    &v->l.v[v->l.n - 1].mflags);
}

/* Adds entry e of the same file as entry k of old, whose bytes it
 * still has (same offset, length, skip and head hash): its date and
 * keywords are old's (v's keyword list starts with old's). */
static int
view_add_same(struct view *v, const struct mbox_ent *e, const struct view *old, size_t k)
{
	const struct vmeta *om = &old->meta[k];
	struct vmeta *m;

	if (mbox_list_push(&v->l, e) == -1)
		return -1;
	v->meta = xreallocarray(v->meta, v->l.n, sizeof(*v->meta));
	m = &v->meta[v->l.n - 1];
	*m = *om;
	m->kw = (uint32_t)v->nkwidx;
	if (om->nkw > 0) {
		v->kwidx = xreallocarray(v->kwidx, v->nkwidx + om->nkw, sizeof(*v->kwidx));
		memcpy(v->kwidx + v->nkwidx, old->kwidx + om->kw, om->nkw * sizeof(*v->kwidx));
		v->nkwidx += om->nkw;
	}
	return 0;
}

/* The entry of uid in v (binary search: UIDs ascend), or -1. */
ssize_t
view_find(const struct view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->l.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->l.v[mid].imapuid == uid)
			return (ssize_t)mid;
		if (v->l.v[mid].imapuid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- the folder ---- */

/* The folder of file id fid in t (INBOX for 0), or NULL. */
struct folder *
folder_by_id(const struct foldertab *t, uint32_t fid)
{
	const char *why;

	if (fid == 0)
		return foldertab_find(t, "INBOX", 5, &why);
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].id == fid && !(t->v[i].flags & FF_NOFOLDER))
			return &t->v[i];
	return NULL;
}

/* Opens the folder's file, locks it and scans it (a torn tail cut).
 * 0, 1 missing, -1 logged. */
int
folder_open(const char *account, int areafd, uint32_t fid, struct mailbox *mb,
    struct mbox_list *l)
{
	char fn[FOLDERTAB_FILE_NAME_BYTES];
	const char *why;
	uint64_t cut = 0;
	int r;

	if (fid == 0)
		mb_init(mb, S.spool, account);
	else {
		foldertab_file_name(fid, fn);
		mb_init(mb, areafd, fn);
	}
	if ((r = mb_open(mb, 0, &why)) != 0) {
		if (r == -1)
			log_warnx("store: %s%s%s: %s", fid ? account : "", fid ? ": folder " : "",
			    fid ? fn : "", why);
		return r;
	}
	if (mb_lock(mb, MB_LOCK_TIMEOUT_MS, &why) == -1 ||
	    mb_scan(mb, l, 1, &cut, &why) == -1) {
		log_warnx("store: %s%s%s: %s", fid ? account : "", fid ? ": folder " : "",
		    fid ? fn : "", why);
		mb_close(mb);
		return -1;
	}
	if (cut > 0)
		log_warnx("store: %s%s%s: cut a torn tail of %llu bytes", account,
		    fid ? ": folder " : "", fid ? fn : "", (unsigned long long)cut);
	return 0;
}

/* Every message has a UID, strictly ascending in file order. */
static int
uid_complete(const struct mbox_list *l)
{
	uint32_t last = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].imapuid <= last)
			return 0;
		last = l->v[i].imapuid;
	}
	return 1;
}

struct renum {
	const char *account;
	int areafd;
	struct foldertab *t;
	uint32_t fid;
};

/* mb_assign_uids() renumbers: the folder's new UIDVALIDITY is saved
 * first. */
static int
renumber(void *arg, const char **why)
{
	struct renum *rn = arg;
	struct folder *f = folder_by_id(rn->t, rn->fid);
	time_t now = time(NULL);
	uint32_t uv = rn->t->next_uidvalidity;

	if (f == NULL) {
		*why = "the folder left the table";
		return -1;
	}
	if (now > 0 && (uint64_t)now < UINT32_MAX && (uint32_t)now > uv)
		uv = (uint32_t)now;
	if (uv == 0 || uv == UINT32_MAX) {
		*why = "no UIDVALIDITY left";
		return -1;
	}
	log_warnx("store: %s: folder %s: its UIDs are out of order (the file was edited "
	    "by another program): every message renumbered, UIDVALIDITY %u -> %u",
	    rn->account, f->name, f->uidvalidity, uv);
	f->uidvalidity = uv;
	f->uidnext = 1;
	rn->t->next_uidvalidity = uv + 1;
	if (foldertab_save(rn->areafd, rn->t, why) == -1)
		return -1;
	if (rn->fid == 0)
		mbc_uidstate_forget(rn->account);
	return 0;
}

int
folder_uids_complete(const char *account, int areafd, struct foldertab *t,
    uint32_t fid, struct mailbox *mb, struct mbox_list *l, int *renumbered)
{
	struct renum rn = { account, areafd, t, fid };
	const struct folder *f = folder_by_id(t, fid);
	struct fst *fs;
	const char *why = NULL;
	uint32_t next = 0;
	uint64_t cut = 0;
	size_t had = l->n;

	*renumbered = 0;
	if (uid_complete(l))
		return 0;
	if (f == NULL) {
		log_warnx("store: %s: folder f%08x left the table", account, (unsigned)fid);
		return -1;
	}
	/* the rewrite folds the flag journal in, then it is reset */
	fs = fst_get(account, fid, f->uidvalidity);
	mb->fold = fst_fold(fs);
	if (mb_assign_uids(mb, f->uidnext, 1, renumber, &rn, &next, renumbered, &why) == -1) {
		mb->fold = NULL;
		log_warnx("store: %s: giving IMAP UIDs: %s", account, why);
		return -1;
	}
	mb->fold = NULL;
	mbox_list_truncate(l, 0);
	if (mb_scan(mb, l, 1, &cut, &why) == -1) {
		log_warnx("store: %s", why);
		return -1;
	}
	if ((f = folder_by_id(t, fid)) == NULL)
		return -1;
	fst_folded(fs, f->uidvalidity);
	log_info("store: %s: folder %s: IMAP UIDs given to the messages that had none "
	    "(%zu messages%s)", account, f->name, had, *renumbered ? ", renumbered" : "");
	/* a rewrite: the views of it learn it */
	chan_changed(account, fid, NULL);
	return 0;
}

/*
 * The folder fid of c's account as it is now: *mb open (fd -1 when the
 * file is missing) and unlocked, *l its messages, every one with a UID,
 * none of those an EXPUNGE hid (flagjournal.h FJ_EXPUNGED);
 * the table's UIDNEXT raised to what the file needs and saved; *renumbered
 * when the UIDs were renumbered (a new UIDVALIDITY).  0, or -1 logged.
 */
int
folder_state(struct chan *c, int areafd, struct foldertab *t, uint32_t fid,
    struct mailbox *mb, struct mbox_list *l, int *renumbered)
{
	struct folder *f = folder_by_id(t, fid);
	uint32_t need = 1;
	int r;

	*renumbered = 0;
	mb->fd = -1;
	if (f == NULL)
		return -1;
	if ((r = folder_open(c->account, areafd, fid, mb, l)) == -1)
		return -1;
	if (r == 1) {
		mb->fd = -1;
		mbox_list_truncate(l, 0);
		return 0;
	}
	if (!uid_complete(l)) {
		/* the delivery cache's idle descriptor of INBOX goes first,
		 * with no lock held (its close would drop ours) */
		mb_close(mb);
		if (fid == 0)
			mbc_forget(c->account);
		mbox_list_truncate(l, 0);
		if ((r = folder_open(c->account, areafd, fid, mb, l)) != 0) {
			mb->fd = -1;
			return r == 1 ? 0 : -1;
		}
		if (folder_uids_complete(c->account, areafd, t, fid, mb, l, renumbered) == -1 ||
		    (f = folder_by_id(t, fid)) == NULL) {
			mb_close(mb);
			return -1;
		}
	}
	if (l->n > 0)
		need = l->v[l->n - 1].imapuid == UINT32_MAX ? UINT32_MAX :
		    l->v[l->n - 1].imapuid + 1;
	if (f->uidnext < need) {
		f->uidnext = need;
		if (imap_table_save(c->account, areafd, t) == -1) {
			mb_close(mb);
			return -1;
		}
		if (fid == 0)
			mbc_uidstate_forget(c->account);
	}
	/* the messages an EXPUNGE hid, whose bytes wait for the next
	 * rewrite (store_expunge.c), are no one's any more */
	(void)fst_filter_hidden(fst_get(c->account, fid, f->uidvalidity), l, NULL);
	mb_unlock(mb);
	return 0;
}

/* ---- the answers ---- */

/* One message record (msg.h): uid, flags, size, date, k, k indexes. */
static void
ob_record(struct obuf *b, const struct view *v, size_t i)
{
	const struct vmeta *m = &v->meta[i];

	ob_u32(b, v->l.v[i].imapuid);
	ob_u32(b, (v->l.v[i].mflags & MF_ALL) | m->recent);
	ob_u64(b, v->l.v[i].wire);
	ob_u64(b, m->date);
	ob_u32(b, m->nkw);
	for (uint32_t k = 0; k < m->nkw; k++)
		ob_u32(b, v->kwidx[m->kw + k]);
}


static const char text_temp[] = "The folder cannot be read now";

void
view_drop(struct chan *c)
{
	view_free(c->view);
	c->view = NULL;
	c->view_fid = 0;
	c->changed_told = 0;
	c->changed_owed = 0;
	if (c->state == CS_SELECTED)
		c->state = CS_IMAP;
}

/*
 * The folder request r names (r->folder[0]) in c's account, as a view or
 * STATUS needs it: *areafd and *t open and loaded, *f a folder with
 * messages.  0, or -1 with the request answered (type: its _R, the text
 * of a \Noselect name says it "cannot" what) and nothing left open.
 */
static int
named_folder(struct chan *c, const struct store_req *r, uint32_t type,
    const char *cannot, int *areafd, struct foldertab *t, struct folder **f)
{
	const char *why = NULL;

	if ((*areafd = imap_area_open(c->account)) == -1) {
		chan_reply_text(c, type, r->id, STORE_TEMPFAIL, text_temp);
		return -1;
	}
	if (imap_table_load(c->account, *areafd, t) == -1) {
		close(*areafd);
		chan_reply_text(c, type, r->id, STORE_TEMPFAIL, text_temp);
		return -1;
	}
	if ((*f = foldertab_find(t, r->folder[0], r->folderlen[0], &why)) == NULL ||
	    ((*f)->flags & FF_NOFOLDER)) {
		char text[256];
		enum ft_class cl = *f ? FTC_CANNOT : foldertab_why_class(why);

		snprintf(text, sizeof(text), "Folder %s%s", *f ? cannot : why,
		    *f ? " (\\Noselect: it holds no messages)" : "");
		chan_reply_text(c, type, r->id, cl == FTC_NOSUCH ? STORE_NOSUCH :
		    cl == FTC_LIMIT ? STORE_LIMIT : STORE_CANNOT, text);
		foldertab_free(t);
		close(*areafd);
		return -1;
	}
	return 0;
}

/* ---- MSG_SELECT ---- */

void
handle_select(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	struct foldertab t;
	struct folder *f;
	struct mailbox mb;
	struct view *v;
	struct floor_ent *fl;
	struct obuf b = { NULL, 0, 0 };
	uint32_t fid, saved_next, nrecent = 0;
	int areafd, renumbered, fd;

	/* any previous view goes first (RFC 3501 6.3.1: a failed SELECT
	 * leaves none); no lock is held here */
	view_drop(c);
	if (named_folder(c, r, MSG_SELECT_R, "cannot be selected", &areafd, &t, &f) == -1)
		return;
	fid = f->id;
	saved_next = f->uidnext;
	v = view_new(fid);
	v->readonly = r->on != 0;
	if (folder_state(c, areafd, &t, fid, &mb, &v->l, &renumbered) == -1 ||
	    (f = folder_by_id(&t, fid)) == NULL) {
		if (mb.fd != -1)
			mb_close(&mb);
		view_free(v);
		foldertab_free(&t);
		close(areafd);
		chan_reply_text(c, MSG_SELECT_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	close(areafd);
	v->fd = mb.fd;
	v->dev = mb.dev;
	v->ino = mb.ino;
	v->uidvalidity = f->uidvalidity;
	v->uidnext = f->uidnext;
	fl = floor_get(c->account, fid, v->uidvalidity, renumbered ? 1 : saved_next);
	/* the dates and keywords: v->l holds the entries, meta follows */
	{
		struct mbox_list l = v->l;
		const struct fst *fs = fst_get(c->account, fid, v->uidvalidity);

		mbox_list_init(&v->l);
		for (size_t i = 0; i < l.n; i++)
			if (view_add(v, &l.v[i], fs) == -1) {
				log_warn("store: %s: reading a message's first lines", c->account);
				mbox_list_free(&l);
				view_free(v);
				foldertab_free(&t);
				chan_reply_text(c, MSG_SELECT_R, r->id, STORE_TEMPFAIL, text_temp);
				return;
			}
		mbox_list_free(&l);
	}
	for (size_t i = 0; i < v->l.n && !v->readonly; i++)
		if (v->l.v[i].imapuid >= fl->floor) {
			v->meta[i].recent = VF_RECENT;
			nrecent++;
		}
	if (!v->readonly && fl->floor < v->uidnext)
		fl->floor = v->uidnext;
	for (size_t i = 0; i < v->nkw; i++)
		ob_str(&b, v->kw[i]);
	for (size_t i = 0; i < v->l.n; i++)
		ob_record(&b, v, i);
	fd = sealed_memfd("postern-view", b.p, b.n);
	free(b.p);
	if (fd == -1) {
		log_warn("store: view memfd");
		view_free(v);
		foldertab_free(&t);
		chan_reply_text(c, MSG_SELECT_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	log_info("store: imap worker %d: %s: %s %s: %zu messages, %u recent, "
	    "uidvalidity %u, uidnext %u", (int)c->pid, c->account,
	    v->readonly ? "examine" : "select", f->name, v->l.n, nrecent,
	    v->uidvalidity, v->uidnext);
	foldertab_free(&t);
	c->view = v;
	c->view_fid = fid;
	c->state = CS_SELECTED;
	ipc_init(&m, MSG_SELECT_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_str(&m, "");
	ipc_put_u32(&m, v->uidvalidity);
	ipc_put_u32(&m, v->uidnext);
	ipc_put_u32(&m, (uint32_t)v->l.n);
	ipc_put_u32(&m, (uint32_t)v->nkw);
	ipc_set_fd(&m, fd);
	chan_send(c, &m);
	close(fd);
}

/* ---- MSG_FETCH ---- */

void
handle_fetch(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	struct view *v = c->view;
	const struct mbox_ent **pick;
	uint64_t *lens, bytes = 0;
	unsigned char *buf = NULL;
	size_t n = 0, len = 0;
	int fd;

	pick = xcalloc(r->nuid, sizeof(const struct mbox_ent *));
	lens = xcalloc(r->nuid, sizeof(*lens));
	/* every UID must be in the view: the worker names only what it was
	 * told (the decoder checked they ascend) */
	for (uint32_t i = 0; i < r->nuid; i++) {
		ssize_t k = view_find(v, r->uids[i]);

		if (k < 0) {
			char why[96];

			snprintf(why, sizeof(why), "FETCH of UID %u, not in the view",
			    r->uids[i]);
			chan_drop(c, why);
			goto out;
		}
		pick[i] = &v->l.v[k];
	}
	/* whole messages: up to the byte budget (what is read), at least one;
	 * headers: only their first bytes are read, up to the budget of
	 * header bytes sent */
	for (n = 1; r->what == FETCH_WHOLE && n < r->nuid; n++) {
		bytes += pick[n - 1]->clen;
		if (bytes + pick[n]->clen > IMAP_FETCH_BATCH_MAX_BYTES)
			break;
	}
	if ((r->what == FETCH_WHOLE ?
	    mb_read_msgs(v->fd, pick, n, LIM_ALL_LINES, &buf, &len, lens) :
	    mb_read_headers(v->fd, pick, r->nuid, IMAP_FETCH_BATCH_MAX_BYTES, &buf, &len,
	    lens, &n)) == -1) {
		if (errno == ESTALE || errno == EIO)
			log_warnx("store: %s: message UID %u is no longer where the view has it "
			    "(another program rewrote the folder in place): temporary "
			    "failure", c->account, r->uids[0]);
		else
			log_warn("store: %s: reading message UID %u", c->account, r->uids[0]);
		chan_reply_text(c, MSG_FETCH_R, r->id, STORE_TEMPFAIL, text_temp);
		goto out;
	}
	fd = sealed_memfd("postern-fetch", buf, len);
	free(buf);
	if (fd == -1) {
		log_warn("store: fetch memfd");
		chan_reply_text(c, MSG_FETCH_R, r->id, STORE_TEMPFAIL, text_temp);
		goto out;
	}
	ipc_init(&m, MSG_FETCH_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_str(&m, "");
	ipc_put_u32(&m, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		ipc_put_u32(&m, r->uids[i]);
		ipc_put_u64(&m, lens[i]);
	}
	ipc_set_fd(&m, fd);
	chan_send(c, &m);
	close(fd);
out:
	free(pick);
	free(lens);
}

/* ---- MSG_VIEW_SYNC ---- */

/* Have entries a of va and b of vb the same flags and keywords? */
static int
same_flags(const struct view *va, size_t a, const struct view *vb, size_t b)
{
	const struct vmeta *ma = &va->meta[a], *mb = &vb->meta[b];

	if ((va->l.v[a].mflags & MF_ALL) != (vb->l.v[b].mflags & MF_ALL) || ma->nkw != mb->nkw)
		return 0;
	for (uint32_t k = 0; k < ma->nkw; k++)
		if (va->kwidx[ma->kw + k] != vb->kwidx[mb->kw + k])
			return 0;
	return 1;
}

/* The view cannot go on (its folder was deleted, or renumbered under a
 * new UIDVALIDITY): dropped, and the worker told (it ends the session or
 * tells the client the folder is gone). */
static void
sync_lost(struct chan *c, struct store_req *r, const char *text)
{
	log_info("store: imap worker %d: %s: view dropped: %s", (int)c->pid, c->account, text);
	view_drop(c);
	chan_reply_text(c, MSG_VIEW_SYNC_R, r->id, STORE_NOSUCH, text);
}

void
handle_view_sync(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	struct view *v = c->view, *nv;
	struct foldertab t;
	struct folder *f;
	struct mailbox mb;
	struct mbox_list l;
	struct floor_ent *fl;
	const struct fst *fs;
	struct obuf b = { NULL, 0, 0 };
	uint32_t nexp = 0, nnew = 0, nflag = 0, nkw, vmax;
	int areafd, renumbered, fd = -1, same;

	/* this request answers any MSG_CHANGED sent or owed */
	c->changed_told = 0;
	c->changed_owed = 0;
	if ((areafd = imap_area_open(c->account)) == -1) {
		chan_reply_text(c, MSG_VIEW_SYNC_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	if (imap_table_load(c->account, areafd, &t) == -1) {
		close(areafd);
		chan_reply_text(c, MSG_VIEW_SYNC_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	if ((f = folder_by_id(&t, v->fid)) == NULL) {
		foldertab_free(&t);
		close(areafd);
		sync_lost(c, r, "The selected folder was deleted");
		return;
	}
	if (f->uidvalidity != v->uidvalidity) {
		foldertab_free(&t);
		close(areafd);
		sync_lost(c, r, "The selected folder's UIDVALIDITY changed");
		return;
	}
	mbox_list_init(&l);
	if (folder_state(c, areafd, &t, v->fid, &mb, &l, &renumbered) == -1 ||
	    (f = folder_by_id(&t, v->fid)) == NULL) {
		if (mb.fd != -1)
			mb_close(&mb);
		mbox_list_free(&l);
		foldertab_free(&t);
		close(areafd);
		chan_reply_text(c, MSG_VIEW_SYNC_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	close(areafd);
	if (renumbered) {
		if (mb.fd != -1)
			close(mb.fd);
		mbox_list_free(&l);
		foldertab_free(&t);
		sync_lost(c, r, "The selected folder's UIDVALIDITY changed");
		return;
	}
	/* the new view: the old one's keyword list first (indexes the worker
	 * holds stay), then its messages that are still there and every one
	 * above the UIDs it had (one at or below them that it did not have
	 * was never announced: it stays out) */
	nv = view_new(v->fid);
	nv->readonly = v->readonly;
	nv->fd = mb.fd;
	nv->dev = mb.dev;
	nv->ino = mb.ino;
	/* the same file (appended to, or not changed): an entry with the same
	 * place and head hash has the same first lines, not read again */
	same = mb.fd != -1 && v->fd != -1 && mb.dev == v->dev && mb.ino == v->ino;
	nv->uidvalidity = v->uidvalidity;
	nv->uidnext = f->uidnext > v->uidnext ? f->uidnext : v->uidnext;
	nv->kw = xcalloc(v->nkw ? v->nkw : 1, sizeof(*nv->kw));
	for (size_t i = 0; i < v->nkw; i++)
		nv->kw[nv->nkw++] = xstrdup(v->kw[i]);
	vmax = v->l.n ? v->l.v[v->l.n - 1].imapuid : 0;
	fl = floor_get(c->account, v->fid, v->uidvalidity, f->uidnext);
	foldertab_free(&t);
	fs = fst_get(c->account, v->fid, v->uidvalidity);
	for (size_t i = 0; i < l.n; i++) {
		ssize_t k = l.v[i].imapuid > vmax ? -1 : view_find(v, l.v[i].imapuid);

		if (l.v[i].imapuid <= vmax && k < 0)
			continue;
		/* an entry with the same bytes in the same file, and no flag
		 * journal change for it (the journal only grows between two
		 * rewrites), keeps what the old view read of its first lines */
		if ((same && k >= 0 && l.v[i].off == v->l.v[k].off &&
		    l.v[i].len == v->l.v[k].len && l.v[i].skip == v->l.v[k].skip &&
		    l.v[i].head == v->l.v[k].head && !fst_has(fs, l.v[i].imapuid) ?
		    view_add_same(nv, &l.v[i], v, (size_t)k) :
		    view_add(nv, &l.v[i], fs)) == -1) {
			log_warn("store: %s: reading a message's first lines", c->account);
			mbox_list_free(&l);
			view_free(nv);
			chan_reply_text(c, MSG_VIEW_SYNC_R, r->id, STORE_TEMPFAIL, text_temp);
			return;
		}
		if (k >= 0)
			nv->meta[nv->l.n - 1].recent = v->meta[k].recent;
		else if (!nv->readonly && l.v[i].imapuid >= fl->floor)
			nv->meta[nv->l.n - 1].recent = VF_RECENT;
	}
	mbox_list_free(&l);
	if (!nv->readonly && fl->floor < nv->uidnext)
		fl->floor = nv->uidnext;
	/* the delta, in msg.h's order: keywords, expunged, new, flags */
	nkw = nv->nkw > v->nkw ? (uint32_t)nv->nkw : 0;
	for (size_t i = 0; i < nkw; i++)
		ob_str(&b, nv->kw[i]);
	for (size_t i = 0, j = 0; i < v->l.n; i++) {
		while (j < nv->l.n && nv->l.v[j].imapuid < v->l.v[i].imapuid)
			j++;
		if (j == nv->l.n || nv->l.v[j].imapuid != v->l.v[i].imapuid) {
			ob_u32(&b, v->l.v[i].imapuid);
			nexp++;
		}
	}
	for (size_t j = 0; j < nv->l.n; j++)
		if (nv->l.v[j].imapuid > vmax) {
			ob_record(&b, nv, j);
			nnew++;
		}
	for (size_t j = 0; j < nv->l.n && nv->l.v[j].imapuid <= vmax; j++) {
		ssize_t k = view_find(v, nv->l.v[j].imapuid);

		if (k >= 0 && !same_flags(v, (size_t)k, nv, j)) {
			const struct vmeta *mt = &nv->meta[j];

			ob_u32(&b, nv->l.v[j].imapuid);
			ob_u32(&b, (nv->l.v[j].mflags & MF_ALL) | mt->recent);
			ob_u32(&b, mt->nkw);
			for (uint32_t q = 0; q < mt->nkw; q++)
				ob_u32(&b, nv->kwidx[mt->kw + q]);
			nflag++;
		}
	}
	if (nkw + nexp + nnew + nflag > 0 &&
	    (fd = sealed_memfd("postern-sync", b.p, b.n)) == -1) {
		log_warn("store: view sync memfd");
		free(b.p);
		view_free(nv);
		chan_reply_text(c, MSG_VIEW_SYNC_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	free(b.p);
	if (nexp + nnew > 0)
		log_debug("store: imap worker %d: %s: view sync, %u expunged, %u new",
		    (int)c->pid, c->account, nexp, nnew);
	/* the view moves to the new file; no lock is held */
	view_free(v);
	c->view = nv;
	ipc_init(&m, MSG_VIEW_SYNC_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_str(&m, "");
	ipc_put_u32(&m, nv->uidnext);
	ipc_put_u32(&m, nexp);
	ipc_put_u32(&m, nnew);
	ipc_put_u32(&m, nflag);
	ipc_put_u32(&m, nkw);
	if (fd != -1)
		ipc_set_fd(&m, fd);
	chan_send(c, &m);
	if (fd != -1)
		close(fd);
}

/* ---- MSG_UNSELECT ---- */

void
handle_unselect(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;

	view_drop(c);
	ipc_init(&m, MSG_UNSELECT_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	chan_send(c, &m);
}

/* ---- MSG_FOLDER_STATUS ---- */

/*
 * STATUS (RFC 3501 6.3.10): the folder brought up to date as SELECT does
 * (UIDs for the messages lacking one, the table's UIDNEXT), counted, and
 * no view made.  RECENT counts the messages at or above the folder's
 * recent floor without raising it: a STATUS takes \Recent from no one.
 */
void
handle_folder_status(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	struct foldertab t;
	struct folder *f;
	struct mailbox mb;
	struct mbox_list l;
	struct floor_ent *fl;
	const struct fst *fs;
	uint32_t fid, saved_next, unseen = 0, recent = 0;
	uint64_t size = 0;
	int areafd, renumbered;

	if (named_folder(c, r, MSG_FOLDER_STATUS_R, "has no status", &areafd, &t, &f) == -1)
		return;
	fid = f->id;
	saved_next = f->uidnext;
	mbox_list_init(&l);
	if (folder_state(c, areafd, &t, fid, &mb, &l, &renumbered) == -1 ||
	    (f = folder_by_id(&t, fid)) == NULL) {
		if (mb.fd != -1)
			mb_close(&mb);
		mbox_list_free(&l);
		foldertab_free(&t);
		close(areafd);
		chan_reply_text(c, MSG_FOLDER_STATUS_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	close(areafd);
	if (mb.fd != -1)
		mb_close(&mb);
	fl = floor_get(c->account, fid, f->uidvalidity, renumbered ? 1 : saved_next);
	fs = fst_get(c->account, fid, f->uidvalidity);
	for (size_t i = 0; i < l.n; i++) {
		uint32_t fl_ = l.v[i].mflags;
		size_t nokw = 0;

		fst_apply(fs, l.v[i].imapuid, &fl_, NULL, &nokw);
		if (!(fl_ & MF_SEEN))
			unseen++;
		if (l.v[i].imapuid >= fl->floor)
			recent++;
		size += l.v[i].wire;
	}
	ipc_init(&m, MSG_FOLDER_STATUS_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_str(&m, "");
	ipc_put_u32(&m, (uint32_t)l.n);
	ipc_put_u32(&m, f->uidnext);
	ipc_put_u32(&m, f->uidvalidity);
	ipc_put_u32(&m, unseen);
	ipc_put_u32(&m, recent);
	ipc_put_u64(&m, size);
	mbox_list_free(&l);
	foldertab_free(&t);
	chan_send(c, &m);
}

/* ---- for store_flags.c and store_expunge.c ---- */

int
view_readonly(const struct view *v)
{
	return v->readonly;
}

uint32_t
view_uidvalidity(const struct view *v)
{
	return v->uidvalidity;
}

size_t
view_count(const struct view *v)
{
	return v->l.n;
}

const struct mbox_ent *
view_ent(const struct view *v, size_t i)
{
	return &v->l.v[i];
}

int
view_fd(const struct view *v)
{
	return v->fd;
}

uint32_t
view_flags(const struct view *v, size_t i)
{
	return (v->l.v[i].mflags & MF_ALL) | v->meta[i].recent;
}

size_t
view_msg_kw(const struct view *v, size_t i, struct xp_kw *out)
{
	const struct vmeta *m = &v->meta[i];

	for (uint32_t k = 0; k < m->nkw; k++) {
		out[k].s = v->kw[v->kwidx[m->kw + k]];
		out[k].n = strlen(out[k].s);
	}
	return m->nkw;
}

const uint32_t *
view_msg_kwidx(const struct view *v, size_t i, uint32_t *k)
{
	*k = v->meta[i].nkw;
	return v->kwidx + v->meta[i].kw;
}

size_t
view_nkw(const struct view *v)
{
	return v->nkw;
}

const char *
view_kw(const struct view *v, size_t k)
{
	return v->kw[k];
}

void
view_set_flags(struct view *v, size_t i, uint32_t flags, const struct xp_kw *kw, size_t nkw)
{
	/* the names may point into v->kw, which kw_index() may move: copied */
	struct xp_kw *cp = xcalloc(nkw ? nkw : 1, sizeof(*cp));

	for (size_t k = 0; k < nkw; k++) {
		char *s = xmalloc(kw[k].n + 1);

		memcpy(s, kw[k].s, kw[k].n);
		s[kw[k].n] = '\0';
		cp[k].s = s;
		cp[k].n = kw[k].n;
	}
	v->l.v[i].mflags = flags & MF_ALL;
	view_kw_put(v, &v->meta[i], cp, nkw);
	for (size_t k = 0; k < nkw; k++)
		free((char *)(uintptr_t)cp[k].s);
	free(cp);
}

void
view_remove(struct view *v, const uint32_t *uids, size_t n)
{
	size_t w = 0;

	for (size_t i = 0, k = 0; i < v->l.n; i++) {
		while (k < n && uids[k] < v->l.v[i].imapuid)
			k++;
		if (k < n && uids[k] == v->l.v[i].imapuid)
			continue;
		v->l.v[w] = v->l.v[i];
		v->meta[w] = v->meta[i];
		w++;
	}
	mbox_list_truncate(&v->l, w);
}
