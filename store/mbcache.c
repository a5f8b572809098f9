/*
 * The mailbox layer of the store (store_int.h): a mailbox opened, locked
 * and, the first time since start, repaired (mailbox_open_locked); which
 * mailboxes were checked since start; the cache of open mailboxes the
 * APPENDs of a pass write to, with the pass's fsyncs (group commit); and
 * the INBOX UID state those APPENDs use.  It calls only mailbox.c,
 * foldertab.c and the base; it knows nothing of channels.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "foldertab.h"
#include "store_int.h"

static int spool = -1;
static char (*verified)[LIM_NAME + 1];   /* mailboxes checked since start */
static size_t nverified;

void
mbc_init(int dirfd)
{
	spool = dirfd;
}

/* ---- mailboxes checked since start ---- */

int
mailbox_verified(const char *name)
{
	for (size_t i = 0; i < nverified; i++)
		if (strcmp(verified[i], name) == 0)
			return 1;
	return 0;
}

void
mailbox_set_verified(const char *name, int yes)
{
	for (size_t i = 0; i < nverified; i++)
		if (strcmp(verified[i], name) == 0) {
			if (!yes)
				memcpy(verified[i], verified[--nverified],
				    sizeof(verified[i]));
			return;
		}
	if (!yes)
		return;
	verified = xreallocarray(verified, nverified + 1, sizeof(*verified));
	strlcpy_(verified[nverified++], name, sizeof(verified[0]));
}

int
mailbox_open_locked(struct mailbox *mb, const char *name, int create,
    struct mbox_list *l)
{
	const char *why;
	uint64_t cut = 0;
	int r;

	mb_init(mb, spool, name);
	if ((r = mb_open(mb, create, &why)) != 0) {
		if (r == -1)
			log_warnx("store: %s", why);
		return r;
	}
	if (mb_lock(mb, MB_LOCK_TIMEOUT_MS, &why) == -1) {
		log_warnx("store: %s", why);
		mb_close(mb);
		return -1;
	}
	if (l != NULL || !mailbox_verified(name)) {
		struct mbox_list tmp;

		mbox_list_init(&tmp);
		if (mb_scan(mb, l ? l : &tmp, 1, &cut, &why) == -1) {
			log_warnx("store: %s", why);
			mbox_list_free(&tmp);
			mb_close(mb);
			return -1;
		}
		mbox_list_free(&tmp);
		if (cut > 0)
			log_warnx("store: mailbox %s: cut a torn tail of %llu bytes",
			    name, (unsigned long long)cut);
		mailbox_set_verified(name, 1);
	}
	return 0;
}

/* ---- the APPENDs' mailboxes ---- */

/*
 * tb[] holds the mailboxes touched in this pass (busy: open, both locks
 * held) and, between passes, up to MBCACHE_MAX recently used ones kept
 * open without any lock (idle), so that a mailbox that gets mail often is
 * not opened, checked and closed for every message.  An idle descriptor
 * is reused only after the locks are taken again and the name is checked
 * to still be that very file (mb_still_named(): same inode, one link,
 * ours); otherwise it is closed and the mailbox opened afresh.  A COMMIT
 * drops the entry first (mbc_forget()), since its rename leaves the
 * descriptor on the old file and closing that descriptor later must not
 * drop the rewrite's lock.  Only this file opens or closes those
 * descriptors, and only while no other descriptor of the same mailbox
 * holds a lock (in the APPEND part of a pass, or from mbc_forget() before
 * COMMIT locks).
 */

struct touched {
	struct mailbox mb;
	uint64_t start_size;     /* at the first write of this pass */
	uint64_t used;           /* the pass that last touched it */
	int busy;                /* touched in this pass */
	int failed;
	/* the INBOX UID state (store_int.h), learned when it entered the
	 * cache: valid while uid_known and the file is uid_size long */
	int uid_known;
	uint32_t uid_next;       /* 0: not UID-complete, deliveries get none */
	uint64_t uid_size;       /* the size it was learned at or last appended to */
};

static struct touched *tb;
static size_t ntb;
static uint64_t pass;

/* ---- the INBOX UID state ---- */

/*
 * The next UID this process would have given each mailbox whose cache
 * entry went (closed, forgotten, learned again): a UID given to a record
 * that was then truncated away (a failed pass) is never given again, even
 * though the file no longer shows it.  One entry per mailbox that had UIDs
 * at delivery since start, like verified[].
 */
struct uid_hw {
	char name[LIM_NAME + 1];
	uint32_t next;
};
static struct uid_hw *hw;
static size_t nhw;

static uint32_t
hw_get(const char *name)
{
	for (size_t i = 0; i < nhw; i++)
		if (strcmp(hw[i].name, name) == 0)
			return hw[i].next;
	return 0;
}

/* Keeps what t's entry would give next before its state goes. */
static void
hw_save(const struct touched *t)
{
	if (!t->uid_known || t->uid_next == 0)
		return;
	for (size_t i = 0; i < nhw; i++)
		if (strcmp(hw[i].name, t->mb.name) == 0) {
			if (t->uid_next > hw[i].next)
				hw[i].next = t->uid_next;
			return;
		}
	hw = xreallocarray(hw, nhw + 1, sizeof(*hw));
	strlcpy_(hw[nhw].name, t->mb.name, sizeof(hw[0].name));
	hw[nhw++].next = t->uid_next;
}

/* The account's folder directory FOLDER_AREA/NAME: a descriptor, or -1
 * (errno ENOENT: the account has none, no IMAP login yet). */
static int
folder_dir(const char *name)
{
	int area, dir, e;

	area = openat(spool, FOLDER_AREA, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (area == -1)
		return -1;
	dir = openat(area, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	close(area);
	errno = e;
	return dir;
}

/*
 * The account's folder table, if it has one: 1 and *floor its INBOX
 * UIDNEXT; 0 none (no folder area, no table: no IMAP login yet, or a
 * table that cannot be read, which is logged: deliveries then write no
 * UID and the IMAP side assigns them, as for an old mailbox).
 */
static int
inbox_floor(const char *name, uint32_t *floor)
{
	struct foldertab tab;
	const struct folder *f;
	const char *why;
	int dir, r;

	if ((dir = folder_dir(name)) == -1) {
		if (errno != ENOENT)
			log_warn("store: %s/%s", FOLDER_AREA, name);
		return 0;
	}
	r = foldertab_load(dir, &tab, (uint32_t)time(NULL), &why);
	close(dir);
	if (r == -1) {
		log_warnx("store: folder table of %s %s: deliveries get no IMAP UID",
		    name, why);
		return 0;
	}
	if (r == 1 || (f = foldertab_find(&tab, "INBOX", 5, &why)) == NULL) {
		foldertab_free(&tab);
		return 0;
	}
	*floor = f->uidnext;
	foldertab_free(&tab);
	return 1;
}

/*
 * Learns t's UID state; t's mailbox is open and locked.  Costs one
 * failing openat(2) for an account without IMAP; a scan (the index,
 * mostly) for one with.
 */
static void
learn_uids(struct touched *t)
{
	struct mbox_list l;
	uint32_t floor = 0, last = 0, next;
	uint64_t cut;
	const char *why;

	hw_save(t);
	t->uid_known = 1;
	t->uid_next = 0;
	t->uid_size = t->mb.size;
	if (!inbox_floor(t->mb.name, &floor))
		return;
	mbox_list_init(&l);
	if (mb_scan(&t->mb, &l, 1, &cut, &why) == -1) {
		log_warnx("store: %s", why);
		mbox_list_free(&l);
		return;
	}
	t->uid_size = t->mb.size;
	for (size_t i = 0; i < l.n; i++) {
		if (l.v[i].imapuid <= last) {     /* none, or not ascending */
			mbox_list_free(&l);
			return;
		}
		last = l.v[i].imapuid;
	}
	mbox_list_free(&l);
	next = floor;
	if (last != UINT32_MAX && last + 1 > next)
		next = last + 1;
	if (hw_get(t->mb.name) > next)
		next = hw_get(t->mb.name);
	if (last == UINT32_MAX || next == 0)
		return;                      /* no UID left: the IMAP side renumbers */
	t->uid_next = next;
}

uint32_t
mbc_uid_next(size_t i)
{
	return tb[i].uid_known ? tb[i].uid_next : 0;
}

void
mbc_appended(size_t i, uint32_t uid)
{
	struct touched *t = &tb[i];

	t->uid_size = t->mb.size;
	if (uid != 0 && t->uid_known && t->uid_next != 0)
		t->uid_next = uid == UINT32_MAX ? 0 : uid + 1;
}

int
mbc_inbox_floor_raise(const char *name, uint32_t uidnext, const char **why)
{
	static char buf[200];
	struct foldertab tab;
	const struct folder *f;
	const char *w = "";
	int dir, r, rc = 0;

	if ((dir = folder_dir(name)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(buf, sizeof(buf), "folder area of %s: %s", name, strerror(errno));
		*why = buf;
		return -1;
	}
	r = foldertab_load(dir, &tab, (uint32_t)time(NULL), &w);
	if (r == 0 && (f = foldertab_find(&tab, "INBOX", 5, &w)) != NULL &&
	    f->uidnext < uidnext &&
	    (foldertab_set_uidnext(&tab, "INBOX", 5, uidnext, &w) == -1 ||
	    foldertab_save(dir, &tab, &w) == -1))
		r = -1;
	if (r == -1) {
		snprintf(buf, sizeof(buf), "folder table of %s %s", name, w);
		*why = buf;
		rc = -1;
	}
	foldertab_free(&tab);
	close(dir);
	mbc_uidstate_forget(name);
	return rc;
}

void
mbc_uidstate_forget(const char *name)
{
	for (size_t i = 0; i < ntb; i++)
		if (strcmp(tb[i].mb.name, name) == 0) {
			hw_save(&tb[i]);
			tb[i].uid_known = 0;
			tb[i].uid_next = 0;
		}
}

void
mbc_pass_begin(void)
{
	pass++;
}

struct mailbox *
mbc_mb(size_t i)
{
	return &tb[i].mb;
}

/* Opens name into t (both locks, repaired if need be) and learns its UID
 * state; 0 / -1. */
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
	learn_uids(t);
	return 0;
}

/* Takes an idle entry into this pass.  0 reused; 1 closed: open it
 * afresh; -1 failed for this pass (cannot lock). */
static int
reuse(struct touched *t)
{
	const char *why;

	hw_save(t);
	if (!mailbox_verified(t->mb.name)) {   /* wants a repair scan */
		mb_close(&t->mb);
		return 1;
	}
	if (mb_lock(&t->mb, MB_LOCK_TIMEOUT_MS, &why) == -1) {
		log_warnx("store: %s", why);
		t->uid_known = 0;
		mb_close(&t->mb);
		t->busy = 1;
		t->failed = 1;
		t->mb.fd = -1;
		return -1;
	}
	if (!mb_still_named(&t->mb, &why)) {
		log_debug("store: %s; opening it again", why);
		mb_close(&t->mb);
		return 1;
	}
	t->busy = 1;
	t->failed = 0;
	t->used = pass;
	t->start_size = t->mb.size;
	/* forgotten, or the file changed behind the cache (another tool
	 * appended, or a failed pass truncated ours away): learn again */
	if (!t->uid_known || t->uid_size != t->mb.size)
		learn_uids(t);
	return 0;
}

ssize_t
mbc_touch(const char *name)
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

static int
written(const struct touched *t)
{
	return t->busy && !t->failed && t->mb.fd != -1;
}

int
mbc_pass_fsync(void)
{
	int failed = 0;

	for (size_t i = 0; i < ntb; i++) {
		if (!written(&tb[i]))
			continue;
		if (tb[i].mb.size != tb[i].start_size && mb_fsync(&tb[i].mb) == -1) {
			log_warn("store: fsync mailbox %s", tb[i].mb.name);
			failed = 1;
		}
	}
	if (!failed)
		return 0;
	/* nothing of this pass may count as delivered */
	for (size_t i = 0; i < ntb; i++) {
		if (!written(&tb[i]))
			continue;
		if (mb_truncate(&tb[i].mb, tb[i].start_size) == -1)
			mailbox_set_verified(tb[i].mb.name, 0);
		fsync(tb[i].mb.fd);
	}
	return -1;
}

size_t
mbc_pass_count(void)
{
	return ntb;
}

int
mbc_pass_grew(size_t i)
{
	return written(&tb[i]) && tb[i].mb.size > tb[i].start_size;
}

void
mbc_pass_end(int close_all)
{
	size_t j = 0;

	for (size_t i = 0; i < ntb; i++) {
		struct touched *t = &tb[i];

		if (written(t)) {
			if (close_all)
				mb_close(&t->mb);
			else
				mb_unlock(&t->mb);
		}
		t->busy = 0;
		if (t->mb.fd != -1)
			tb[j++] = *t;
		else
			hw_save(t);
	}
	ntb = j;
	while (ntb > MBCACHE_MAX_COUNT) {   /* drop the least recently used */
		size_t old = 0;

		for (size_t i = 1; i < ntb; i++)
			if (tb[i].used < tb[old].used)
				old = i;
		hw_save(&tb[old]);
		mb_close(&tb[old].mb);
		tb[old] = tb[--ntb];
	}
}

void
mbc_forget(const char *name)
{
	for (size_t i = 0; i < ntb; i++)
		if (!tb[i].busy && strcmp(tb[i].mb.name, name) == 0) {
			hw_save(&tb[i]);
			mb_close(&tb[i].mb);
			tb[i] = tb[--ntb];
			return;
		}
}
