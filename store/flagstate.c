/*
 * The flag state of the store's folders (DESIGN.md "Folders, UIDs and
 * flags"): a message's flags and keywords are those of its X-Postern line
 * (folded in at the folder's last rewrite) changed by the records of the
 * folder's flag journal (store/flagjournal.h) written since.  This file
 * keeps each journal the store has used open, with the net change it
 * makes to each UID, so that every reader (SELECT, VIEW_SYNC, STATUS)
 * sees the journal's state without replaying it, STORE appends to it,
 * and every rewrite of the folder (EXPUNGE, MOVE, POP3 COMMIT, UID
 * assignment: mb_rewrite() and mb_assign_uids() through struct mb_fold)
 * folds it into the lines and then resets it.
 *
 * The journal of folder file f%08x is f%08x.flags beside it, INBOX's
 * inbox.flags, in the account's folder area: names made from ids, never
 * from a client's folder name.  An account without a folder area (no IMAP
 * login yet) has no journal.  A journal written for another UIDVALIDITY
 * of the folder is emptied when opened (fj_open()).
 *
 * The net change of a UID composes the journal's records in order: set
 * then clear bits, the later record winning, so applying it to the line's
 * flags gives what replaying every record would.  Applying it again over
 * a line it was folded into changes nothing, which is what makes a crash
 * between a rewrite and the journal's reset harmless.
 */
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
#include "flagjournal.h"
#include "foldertab.h"
#include "store_int.h"
#include "xpostern.h"

/* Journals kept open at once (descriptors of the store: see the
 * descriptor budget in postern.conf(5)); the least recently used one is
 * closed, and replayed again when next used. */
#define FST_CACHE_MAX 16

struct fnet {
	uint32_t uid;
	uint8_t set, clr;
	uint64_t kset[FJ_KW_WORDS], kclr[FJ_KW_WORDS];
};

struct fst {
	char account[LIM_NAME + 1];
	uint32_t fid;
	uint64_t used;              /* LRU clock */
	struct fj_journal j;
	struct fnet *v;             /* sorted by uid */
	size_t n, cap;
	size_t nhidden;             /* entries with FJ_EXPUNGED */
	struct mb_fold fold;
};

static struct fst *cache[FST_CACHE_MAX];
static size_t ncache;
static uint64_t clock_;

static void
journal_name(uint32_t fid, char *out, size_t outsz, int tmp)
{
	char fn[FOLDERTAB_FILE_NAME_BYTES];

	if (fid == 0)
		snprintf(out, outsz, "%sinbox.flags%s", tmp ? "." : "", tmp ? ".tmp" : "");
	else {
		foldertab_file_name(fid, fn);
		snprintf(out, outsz, "%s%s.flags%s", tmp ? "." : "", fn, tmp ? ".tmp" : "");
	}
}

/* The account's folder area directory, or -1 (errno; ENOENT: none). */
static int
area_dir(const char *account)
{
	int area, dir, e;

	area = openat(S.spool, FOLDER_AREA, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (area == -1)
		return -1;
	dir = openat(area, account, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	close(area);
	errno = e;
	return dir;
}

static struct fnet *
net_find(const struct fst *fs, uint32_t uid, size_t *at)
{
	size_t lo = 0, hi = fs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fs->v[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at != NULL)
		*at = lo;
	return lo < fs->n && fs->v[lo].uid == uid ? &fs->v[lo] : NULL;
}

/* Composes one journal record into the net change of its UID. */
static void
net_apply(void *arg, const struct fj_change *c)
{
	struct fst *fs = arg;
	struct fnet *e;
	size_t at;

	if ((e = net_find(fs, c->uid, &at)) == NULL) {
		if (fs->n == fs->cap) {
			fs->cap = fs->cap ? fs->cap * 2 : 64;
			fs->v = xreallocarray(fs->v, fs->cap, sizeof(*fs->v));
		}
		memmove(&fs->v[at + 1], &fs->v[at], (fs->n - at) * sizeof(*fs->v));
		fs->n++;
		e = &fs->v[at];
		memset(e, 0, sizeof(*e));
		e->uid = c->uid;
	}
	if ((c->set & FJ_EXPUNGED) && !(e->set & FJ_EXPUNGED))
		fs->nhidden++;
	e->set = (uint8_t)((e->set & ~c->clr) | c->set);
	e->clr = (uint8_t)((e->clr & ~c->set) | c->clr);
	for (size_t i = 0; i < c->nkset; i++) {
		e->kset[c->kset[i] / 64] |= 1ull << (c->kset[i] % 64);
		e->kclr[c->kset[i] / 64] &= ~(1ull << (c->kset[i] % 64));
	}
	for (size_t i = 0; i < c->nkclr; i++) {
		e->kclr[c->kclr[i] / 64] |= 1ull << (c->kclr[i] % 64);
		e->kset[c->kclr[i] / 64] &= ~(1ull << (c->kclr[i] % 64));
	}
}

static void
fst_free(struct fst *fs)
{
	if (fs->j.fd != -1)
		close(fs->j.fd);
	free(fs->v);
	free(fs);
}

int
fst_has(const struct fst *fs, uint32_t uid)
{
	return fs != NULL && net_find(fs, uid, NULL) != NULL;
}

void
fst_apply(const struct fst *fs, uint32_t uid, uint32_t *flags, struct xp_kw *kw, size_t *nkw)
{
	const struct fnet *e;
	size_t k = 0;

	if (fs == NULL || (e = net_find(fs, uid, NULL)) == NULL)
		return;
	*flags = (*flags & ~(uint32_t)e->clr) | (e->set & MF_ALL);
	if (kw == NULL)
		return;
	for (size_t i = 0; i < *nkw; i++) {
		int ix = fj_keyword_find(&fs->j.kw, kw[i].s, kw[i].n);

		if (ix >= 0 && (((e->kclr[ix / 64] | e->kset[ix / 64]) >> (ix % 64)) & 1))
			continue;   /* cleared, or added below once */
		kw[k++] = kw[i];
	}
	for (uint32_t ix = 0; ix < fs->j.kw.n && k < FOLDER_KEYWORDS_MAX_COUNT; ix++)
		if ((e->kset[ix / 64] >> (ix % 64)) & 1) {
			kw[k].s = fs->j.kw.name[ix];
			kw[k].n = fs->j.kw.len[ix];
			k++;
		}
	*nkw = k;
}

int
fst_hidden(const struct fst *fs, uint32_t uid)
{
	const struct fnet *e;

	return fs != NULL && fs->nhidden > 0 && (e = net_find(fs, uid, NULL)) != NULL &&
	    (e->set & FJ_EXPUNGED);
}

size_t
fst_nhidden(const struct fst *fs)
{
	return fs != NULL ? fs->nhidden : 0;
}

size_t
fst_filter_hidden(const struct fst *fs, struct mbox_list *l, uint64_t *bytes)
{
	size_t k = 0, n = l->n;

	if (bytes != NULL)
		*bytes = 0;
	if (fst_nhidden(fs) == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (l->v[i].imapuid != 0 && (l->v[i].flags & MBE_POSTERN) &&
		    fst_hidden(fs, l->v[i].imapuid)) {
			if (bytes != NULL)
				*bytes += l->v[i].len;
			continue;
		}
		l->v[k++] = l->v[i];
	}
	l->n = k;
	return n - k;
}

static int
fold_hidden(void *arg, uint32_t uid)
{
	return fst_hidden(arg, uid);
}

static int
fold_has(void *arg, uint32_t uid)
{
	return fst_has(arg, uid);
}

static void
fold_apply(void *arg, uint32_t uid, uint32_t *flags, struct xp_kw *kw, size_t *nkw)
{
	fst_apply(arg, uid, flags, kw, nkw);
}

const struct mb_fold *
fst_fold(struct fst *fs)
{
	if (fs == NULL || fs->n == 0)
		return NULL;
	fs->fold.has = fold_has;
	fs->fold.hidden = fold_hidden;
	fs->fold.apply = fold_apply;
	fs->fold.arg = fs;
	return &fs->fold;
}

/* Opens (making it when missing) and replays the journal.  NULL logged. */
static struct fst *
fst_open(const char *account, uint32_t fid, uint32_t uidvalidity, uint32_t kw_max)
{
	char name[64];
	struct fj_replay rep;
	struct stat st;
	struct fst *fs;
	const char *why = NULL;
	int dir, fd;

	if ((dir = area_dir(account)) == -1) {
		if (errno != ENOENT)
			log_warn("store: %s/%s", FOLDER_AREA, account);
		return NULL;
	}
	journal_name(fid, name, sizeof(name), 0);
	fd = openat(dir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		log_warnx("store: %s: flag journal %s: %s", account, name,
		    fd == -1 ? strerror(errno) : "not a plain file");
		if (fd != -1)
			close(fd);
		close(dir);
		return NULL;
	}
	fs = xcalloc(1, sizeof(*fs));
	strlcpy_(fs->account, account, sizeof(fs->account));
	fs->fid = fid;
	if (fj_open(&fs->j, fd, uidvalidity, kw_max, net_apply, fs, &rep, &why) == -1) {
		log_warnx("store: %s: flag journal %s: %s", account, name, why);
		fs->j.fd = fd;
		fst_free(fs);
		close(dir);
		return NULL;
	}
	if (rep.st != FJ_OK && st.st_size > 0)
		log_warnx("store: %s: flag journal %s: %s (%llu records kept)", account, name,
		    rep.st == FJ_TORN ? "a torn tail cut off" : rep.st == FJ_OTHERGEN ?
		    "of another UIDVALIDITY, emptied" : "damaged header, emptied",
		    (unsigned long long)rep.records);
	if (rep.st != FJ_OK && (fsync(fd) == -1 || (st.st_size == 0 && fsync(dir) == -1))) {
		log_warn("store: %s: fsync flag journal %s", account, name);
		fst_free(fs);
		close(dir);
		return NULL;
	}
	close(dir);
	return fs;
}

struct fst *
fst_get(const char *account, uint32_t fid, uint32_t uidvalidity)
{
	struct fst *fs;
	size_t i;

	for (i = 0; i < ncache; i++)
		if (cache[i]->fid == fid && strcmp(cache[i]->account, account) == 0)
			break;
	if (i < ncache && cache[i]->j.uidvalidity == uidvalidity && !cache[i]->j.broken) {
		cache[i]->used = ++clock_;
		cache[i]->j.kw.max = S.conf.max_keywords;   /* a reload may change it */
		return cache[i];
	}
	if (i < ncache) {
		/* another generation, or a tail it could not cut: again */
		fst_free(cache[i]);
		cache[i] = cache[--ncache];
	}
	if ((fs = fst_open(account, fid, uidvalidity, S.conf.max_keywords)) == NULL)
		return NULL;
	if (ncache == FST_CACHE_MAX) {
		size_t old = 0;

		for (i = 1; i < ncache; i++)
			if (cache[i]->used < cache[old]->used)
				old = i;
		fst_free(cache[old]);
		cache[old] = cache[--ncache];
	}
	fs->used = ++clock_;
	cache[ncache++] = fs;
	return fs;
}

struct fst *
fst_get_table(const char *account, uint32_t fid)
{
	struct foldertab tab;
	const struct folder *f = NULL;
	const char *why = "";
	uint32_t uv = 0;
	int dir, r;

	if ((dir = area_dir(account)) == -1) {
		if (errno != ENOENT)
			log_warn("store: %s/%s", FOLDER_AREA, account);
		return NULL;
	}
	r = foldertab_load(dir, &tab, (uint32_t)time(NULL), &why);
	close(dir);
	if (r == -1) {
		log_warnx("store: folder table of %s %s", account, why);
		return NULL;
	}
	if (fid == 0)
		f = foldertab_find(&tab, "INBOX", 5, &why);
	else
		for (size_t i = 0; i < tab.n && f == NULL; i++)
			if (tab.v[i].id == fid)
				f = &tab.v[i];
	if (f != NULL)
		uv = f->uidvalidity;
	foldertab_free(&tab);
	return f != NULL ? fst_get(account, fid, uv) : NULL;
}

void
fst_folded(struct fst *fs, uint32_t uidvalidity)
{
	char name[64], tmp[64];
	const char *why = NULL;
	int dir;

	if (fs == NULL)
		return;
	if (uidvalidity == 0)
		uidvalidity = fs->j.uidvalidity;
	if (fs->n == 0 && fs->j.uidvalidity == uidvalidity)
		return;     /* nothing was folded: the journal holds only keywords */
	if ((dir = area_dir(fs->account)) == -1) {
		log_warn("store: %s: flag journal reset", fs->account);
		return;
	}
	journal_name(fs->fid, name, sizeof(name), 0);
	journal_name(fs->fid, tmp, sizeof(tmp), 1);
	if (fj_reset(&fs->j, dir, name, tmp, uidvalidity, &why) == -1)
		log_warnx("store: %s: flag journal %s reset: %s (it replays harmlessly over "
		    "the folded flags)", fs->account, name, why);
	else
		fs->n = fs->nhidden = 0;
	close(dir);
}

void
fst_forget(const char *account, uint32_t fid)
{
	for (size_t i = 0; i < ncache; i++)
		if (cache[i]->fid == fid && strcmp(cache[i]->account, account) == 0) {
			fst_free(cache[i]);
			cache[i] = cache[--ncache];
			return;
		}
}

int
fst_keyword(struct fst *fs, const char *s, size_t n, int make, const char **why)
{
	int ix = fj_keyword_find(&fs->j.kw, s, n);

	if (ix >= 0 || !make)
		return ix;
	return fj_keyword_add(&fs->j, s, n, why);
}

const char *
fst_keyword_name(const struct fst *fs, uint32_t ix, size_t *n)
{
	*n = fs->j.kw.len[ix];
	return fs->j.kw.name[ix];
}

uint32_t
fst_keywords(const struct fst *fs)
{
	return fs->j.kw.n;
}

void
fst_pop3_seen(const char *account, uint32_t uid, uint32_t mflags)
{
	struct fst *fs = NULL;
	struct fj_change ch;
	struct fj_batch b;
	const char *why = NULL;
	size_t nokw = 0;

	/* the cached journal when there is one: no table read a RETR */
	for (size_t i = 0; i < ncache && fs == NULL; i++)
		if (cache[i]->fid == 0 && strcmp(cache[i]->account, account) == 0 &&
		    !cache[i]->j.broken)
			fs = cache[i];
	if (fs == NULL && (fs = fst_get_table(account, 0)) == NULL)
		return;
	fst_apply(fs, uid, &mflags, NULL, &nokw);
	if (mflags & MF_SEEN)
		return;
	memset(&ch, 0, sizeof(ch));
	ch.uid = uid;
	ch.set = MF_SEEN;
	/* no fsync of its own: the next STORE's, or none (a crash may lose
	 * a \Seen set by POP3, never mail) */
	fj_batch_init(&b);
	if (fj_batch_add(&b, &fs->j, &ch, &why) == -1 || fj_append(&fs->j, &b, &why) == -1)
		log_warnx("store: %s: flag journal: \\Seen after RETR: %s", account, why);
	else {
		net_apply(fs, &ch);
		chan_changed(account, 0, NULL);
	}
	fj_batch_free(&b);
}

int
fst_write(struct fst *fs, const struct fj_change *ch, size_t n, const char **why)
{
	struct fj_batch b;

	fj_batch_init(&b);
	for (size_t i = 0; i < n; i++)
		if (fj_batch_add(&b, &fs->j, &ch[i], why) == -1) {
			fj_batch_free(&b);
			return -1;
		}
	if (fj_append(&fs->j, &b, why) == -1) {
		fj_batch_free(&b);
		return -1;
	}
	fj_batch_free(&b);
	if (fsync(fs->j.fd) == -1) {
		*why = "fsync flag journal";
		/* the records may be on disk or not: it is read again */
		fs->j.broken = 1;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		net_apply(fs, &ch[i]);
	return 0;
}
