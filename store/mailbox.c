/*
 * Mailbox files (the format is in store/mbox.c).  Open without following
 * links and check what was opened (OpenSMTPD mail.local.c deliver()),
 * lock with fcntl and a dotlock, append with truncate-back on error,
 * repair a torn tail, keep the ".NAME.idx" index, rewrite atomically
 * (one path, rewrite_file(), for COMMIT and for IMAP UID assignment).
 *
 * fcntl locks belong to the process and any close() of the file drops
 * them, so the store never holds two descriptors of one mailbox while a
 * lock is held (store/store.c orders its work for that).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/util.h"
#include "mailbox.h"
#include "xpostern.h"

/* The index format.  An index of another version (or entry size) is
 * ignored and rebuilt by one parse of the mailbox, which keeps every UIDL
 * (they come from the file).  3: entries carry imapuid and mflags; 4: the
 * head hash leaves the X-Postern line out (mbox_head_hash()); 5: entries
 * carry the From_ line's date and the line's keyword count, so that a
 * SELECT reads the file only for messages with keywords. */
#define IDX_MAGIC   "PSTNIDX1"
#define IDX_VERSION 5u

struct idx_hdr {
	char magic[8];
	uint32_t version;
	uint32_t entsize;
	uint64_t count;
	uint64_t size;
	uint64_t mtime_ns;
	uint64_t ino;
};

/* Why the last mailbox call failed: *why points here (util.h). */
static char mb_why[MB_ERRSZ];

/* Formats the reason into mb_why, points *why (when not NULL) at it and
 * returns -1. */
static int __attribute__((format(printf, 2, 3)))
mb_fail(const char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mb_why, sizeof(mb_why), fmt, ap);
	va_end(ap);
	if (why != NULL)
		*why = mb_why;
	return -1;
}

static uid_t owner_uid = (uid_t)-1;

void
mb_set_owner(uid_t uid)
{
	owner_uid = uid;
}

int
mailbox_name_ok(const char *name)
{
	size_t n;

	if (!name_ok(name))
		return 0;
	n = strlen(name);
	if (n >= 5 && strcmp(name + n - 5, ".lock") == 0)
		return 0;
	return 1;
}

void
mb_init(struct mailbox *mb, int dirfd, const char *name)
{
	memset(mb, 0, sizeof(*mb));
	mb->dirfd = dirfd;
	mb->fd = -1;
	strlcpy_(mb->name, name, sizeof(mb->name));
}

static int
side_name(const struct mailbox *mb, char *out, size_t outsz, const char *pre,
    const char *suf)
{
	return bsnprintf(out, outsz, "%s%s%s", pre, mb->name, suf);
}

static uint64_t
mtime_ns(const struct stat *st)
{
	return (uint64_t)st->st_mtim.tv_sec * 1000000000ull +
	    (uint64_t)st->st_mtim.tv_nsec;
}

int
mb_open(struct mailbox *mb, int create, const char **why)
{
	struct stat st;
	int fd, flags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

	if (!mailbox_name_ok(mb->name)) {
		mb_fail(why, "invalid mailbox name");
		return -1;
	}
	mb->created = 0;
	fd = openat(mb->dirfd, mb->name, flags);
	if (fd == -1 && errno == ENOENT) {
		if (!create)
			return 1;
		fd = openat(mb->dirfd, mb->name, flags | O_CREAT | O_EXCL, 0600);
		if (fd != -1)
			mb->created = 1;
	}
	if (fd == -1) {
		if (errno == ELOOP)
			mb_fail(why, "mailbox %s is a symbolic link: refused", mb->name);
		else
			mb_fail(why, "open mailbox %s: %s", mb->name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		mb_fail(why, "fstat mailbox %s: %s", mb->name, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != (owner_uid == (uid_t)-1 ? geteuid() : owner_uid)) {
		mb_fail(why, "mailbox %s refused: %s", mb->name,
		    !S_ISREG(st.st_mode) ? "not a regular file" :
		    st.st_nlink != 1 ? "more than one link" : "not owned by the store user");
		close(fd);
		return -1;
	}
	set_nonblock(fd, 0);
	mb->fd = fd;
	mb->size = (uint64_t)st.st_size;
	mb->dev = st.st_dev;
	mb->ino = st.st_ino;
	return 0;
}

int
mb_still_named(struct mailbox *mb, const char **why)
{
	struct stat st;

	if (fstatat(mb->dirfd, mb->name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		mb_fail(why, "mailbox %s: %s", mb->name, strerror(errno));
		return 0;
	}
	if (st.st_dev != mb->dev || st.st_ino != mb->ino || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 ||
	    st.st_uid != (owner_uid == (uid_t)-1 ? geteuid() : owner_uid)) {
		mb_fail(why, "mailbox %s was replaced or changed", mb->name);
		return 0;
	}
	return 1;
}

void
mb_close(struct mailbox *mb)
{
	mb_unlock(mb);
	if (mb->fd != -1)
		close(mb->fd);
	mb->fd = -1;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * A dotlock is stale when older than MB_DOTLOCK_STALE_S, or when a postern
 * store wrote it ("PID postern") and we hold the fcntl lock: a store holds
 * the fcntl lock whenever it holds the dotlock, so that store is gone
 * (killed between the two unlocks).  No kill(2) probe: the store's seccomp
 * filter need not allow it.
 */
static int
dotlock_stale(struct mailbox *mb, const char *lk)
{
	struct stat st;
	char buf[64];
	ssize_t n;
	int fd;

	if (fstatat(mb->dirfd, lk, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT;
	if (time(NULL) - st.st_mtim.tv_sec > MB_DOTLOCK_STALE_S)
		return 1;
	if (!mb->fcntl_locked || !S_ISREG(st.st_mode))
		return 0;
	if ((fd = openat(mb->dirfd, lk, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)   /* another tool between create and write: give it 10 s */
		return n == 0 && time(NULL) - st.st_mtim.tv_sec > 10;
	buf[n] = '\0';
	return strstr(buf, " postern\n") != NULL;
}

/*
 * The dotlock is made by link(2) from a file that already holds
 * "PID postern\n", so a lock file never exists without its content, even
 * if the store is killed halfway.  That source file is made once per
 * process and directory ("..dotlock": no side file of a mailbox starts
 * with "..", as no mailbox name starts with '.') and re-made every
 * LKSRC_MAX_AGE_S, so that a lock (which shares its inode, hence its
 * mtime) never looks older than that to another tool's staleness check;
 * taking a lock is then one linkat(2) and releasing it one unlinkat(2),
 * instead of creating, writing and removing a temporary file each time.
 * The content is the pid of the process that made it (the store never
 * forks), so tools that probe the pid see a live process.
 */
#define LKSRC           "..dotlock"

static int lksrc_dirfd = -1;     /* where the source was made, -1: none */
static time_t lksrc_made;

static int
lksrc_make(struct mailbox *mb, const char **why)
{
	char pid[32];
	int fd;

	lksrc_dirfd = -1;
	unlinkat(mb->dirfd, LKSRC, 0);
	fd = openat(mb->dirfd, LKSRC, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	snprintf(pid, sizeof(pid), "%ld postern\n", (long)getpid());
	if (fd == -1 || write_all(fd, pid, strlen(pid)) == -1) {
		mb_fail(why, "dotlock %s: %s", LKSRC, strerror(errno));
		if (fd != -1)
			close(fd);
		unlinkat(mb->dirfd, LKSRC, 0);
		return -1;
	}
	close(fd);
	lksrc_dirfd = mb->dirfd;
	lksrc_made = time(NULL);
	return 0;
}

static int
dotlock_take(struct mailbox *mb, uint64_t deadline, const char **why)
{
	char lk[128];
	time_t now = time(NULL);
	int remade = 0;

	if (side_name(mb, lk, sizeof(lk), "", ".lock") == -1)
		return mb_fail(why, "dotlock of %s: name too long", mb->name);
	if (lksrc_dirfd != mb->dirfd || now - lksrc_made > LKSRC_MAX_AGE_S ||
	    now < lksrc_made) {
		if (lksrc_make(mb, why) == -1)
			return -1;
		remade = 1;
	}
	for (;;) {
		if (linkat(mb->dirfd, LKSRC, mb->dirfd, lk, 0) == 0) {
			mb->dotlocked = 1;
			return 0;
		}
		if (errno == ENOENT && !remade) {
			/* the source went away (not by us): make it again */
			if (lksrc_make(mb, why) == -1)
				return -1;
			remade = 1;
			continue;
		}
		if (errno != EEXIST) {
			mb_fail(why, "dotlock %s: %s", lk, strerror(errno));
			return -1;
		}
		if (dotlock_stale(mb, lk)) {
			unlinkat(mb->dirfd, lk, 0);
			continue;
		}
		if (now_ms() >= deadline) {
			mb_fail(why, "dotlock %s: held by another process", lk);
			return -1;
		}
		sleep_ms(10);
	}
}

static int
fcntl_lock(int fd, short type)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	return fcntl(fd, F_SETLK, &fl);
}

int
mb_lock(struct mailbox *mb, int timeout_ms, const char **why)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct stat st;

	while (fcntl_lock(mb->fd, F_WRLCK) == -1) {
		if ((errno != EAGAIN && errno != EACCES && errno != EINTR) ||
		    now_ms() >= deadline) {
			mb_fail(why, "lock mailbox %s: %s", mb->name,
			    errno == EAGAIN || errno == EACCES ?
			    "held by another process" : strerror(errno));
			return -1;
		}
		sleep_ms(10);
	}
	mb->fcntl_locked = 1;
	if (dotlock_take(mb, deadline, why) == -1) {
		mb_unlock(mb);
		return -1;
	}
	if (fstat(mb->fd, &st) == -1) {
		mb_fail(why, "fstat mailbox %s: %s", mb->name, strerror(errno));
		mb_unlock(mb);
		return -1;
	}
	mb->size = (uint64_t)st.st_size;
	return 0;
}

void
mb_unlock(struct mailbox *mb)
{
	char lk[128];

	if (mb->dotlocked && side_name(mb, lk, sizeof(lk), "", ".lock") == 0)
		unlinkat(mb->dirfd, lk, 0);
	mb->dotlocked = 0;
	if (mb->fcntl_locked && mb->fd != -1)
		fcntl_lock(mb->fd, F_UNLCK);
	mb->fcntl_locked = 0;
}


/* Does the file (mapped at p, holding at least e's bytes) still hold
 * message e where the entry says it starts: the same first bytes
 * (mbox_head_hash()), and for a message of ours an X-Postern line that
 * says what the entry does (the hash leaves that line out)? */
static int
ent_head_ok(const unsigned char *p, const struct mbox_ent *e)
{
	const unsigned char *m = p + e->off, *lf;
	struct xpostern xp;
	size_t x, bl;

	if (e->len < 5 || memcmp(m, "From ", 5) != 0 ||
	    mbox_head_hash(m, e->len, e->skip) != e->head)
		return 0;
	if (!(e->flags & MBE_POSTERN))
		return 1;
	if ((lf = memchr(m, '\n', e->skip)) == NULL)
		return 0;
	x = (size_t)(lf - m) + 1;
	if (x >= e->skip || xpostern_parse(m + x, e->skip - x, &xp, NULL) == -1 ||
	    xp.imapuid != e->imapuid || xp.flags != e->mflags)
		return 0;
	/* the line's UID is the entry's base UID (the entry's own, or its
	 * "-N" cut off; an "x" one given instead says nothing of it) */
	bl = MBE_BASELEN(e->flags);
	if (e->uid[0] == 'x' && strlen(e->uid) != bl && e->uid[bl] != '-')
		return 1;
	return strlen(xp.uid) == bl && memcmp(xp.uid, e->uid, bl) == 0;
}

/* ---- the index ---- */

static int
ent_ok(const struct mbox_ent *e, uint64_t expect_off, uint64_t size)
{
	size_t ul = strnlen(e->uid, sizeof(e->uid));

	if (e->off != expect_off || e->len == 0 || e->len > size - e->off)
		return 0;
	if ((uint64_t)e->skip > e->len || e->clen > e->len - e->skip)
		return 0;
	if (ul == 0 || ul > MBOX_UID_MAX || MBE_BASELEN(e->flags) > ul)
		return 0;
	if ((e->mflags & ~MF_ALL) != 0 ||
	    (!(e->flags & MBE_POSTERN) && (e->imapuid != 0 || e->mflags != 0)))
		return 0;
	return mbox_uid_ok(e->uid, ul);
}

int
mb_index_load(struct mailbox *mb, const struct stat *st, struct mbox_list *l,
    int *valid)
{
	char nm[128];
	struct idx_hdr h;
	struct stat ist;
	uint64_t off = 0;
	int fd;

	*valid = 0;
	mbox_list_truncate(l, 0);
	if (side_name(mb, nm, sizeof(nm), ".", ".idx") == -1)
		return 0;
	if ((fd = openat(mb->dirfd, nm, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &ist) == -1 || !S_ISREG(ist.st_mode) ||
	    read_full(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, IDX_MAGIC, 8) != 0 || h.version != IDX_VERSION ||
	    h.entsize != sizeof(struct mbox_ent) || h.ino != (uint64_t)st->st_ino ||
	    h.size > (uint64_t)st->st_size ||
	    h.count > ((uint64_t)ist.st_size - sizeof(h)) / sizeof(struct mbox_ent) ||
	    (uint64_t)ist.st_size != sizeof(h) + h.count * sizeof(struct mbox_ent)) {
		close(fd);
		return 0;
	}
	if (h.count > 0) {
		size_t bytes = (size_t)h.count * sizeof(struct mbox_ent);

		while (l->cap < h.count) {
			struct mbox_ent dummy;

			memset(&dummy, 0, sizeof(dummy));
			if (mbox_list_push(l, &dummy) == -1)
				break;
			l->n = 0;
			if (l->cap < h.count) {
				/* grow to at least count in one step */
				struct mbox_ent *nv = realloc(l->v, bytes);
				if (nv == NULL)
					break;
				l->v = nv;
				l->cap = (size_t)h.count;
			}
		}
		if (l->cap < h.count || read_full(fd, l->v, bytes) != (ssize_t)bytes) {
			close(fd);
			return 0;
		}
		for (uint64_t i = 0; i < h.count; i++) {
			if (!ent_ok(&l->v[i], off, h.size)) {
				close(fd);
				mbox_list_truncate(l, 0);
				return 0;
			}
			off += l->v[i].len;
		}
		l->n = (size_t)h.count;
	}
	close(fd);
	if (off != h.size) {
		mbox_list_truncate(l, 0);
		return 0;
	}
	if (h.size == (uint64_t)st->st_size && h.mtime_ns == mtime_ns(st))
		*valid = 2;
	else if (h.size < (uint64_t)st->st_size && l->n > 0)
		*valid = 1;
	else
		mbox_list_truncate(l, 0);
	return 0;
}

int
mb_index_write(struct mailbox *mb, const struct mbox_list *l)
{
	char nm[128], tmp[128];
	struct idx_hdr h;
	struct stat st;
	int fd;

	if (fstat(mb->fd, &st) == -1 ||
	    side_name(mb, nm, sizeof(nm), ".", ".idx") == -1 ||
	    side_name(mb, tmp, sizeof(tmp), ".", ".idx.tmp") == -1)
		return -1;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IDX_MAGIC, 8);
	h.version = IDX_VERSION;
	h.entsize = sizeof(struct mbox_ent);
	h.count = l->n;
	h.size = (uint64_t)st.st_size;
	h.mtime_ns = mtime_ns(&st);
	h.ino = (uint64_t)st.st_ino;
	unlinkat(mb->dirfd, tmp, 0);
	fd = openat(mb->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write_all(fd, &h, sizeof(h)) == -1 ||
	    (l->n > 0 && write_all(fd, l->v, l->n * sizeof(*l->v)) == -1) ||
	    close(fd) == -1 || renameat(mb->dirfd, tmp, mb->dirfd, nm) == -1) {
		unlinkat(mb->dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

/* ---- scan and repair ---- */

/*
 * The index said the file grew: by appends, or another tool rewrote it in
 * place and it grew since.  Every entry must still start with the bytes
 * it had; the entries are contiguous, so that also checks the size of all
 * but the last one, which is parsed again with the tail.  The first entry
 * that moved ends the good part: the one before it (whose size may have
 * changed) and everything after are parsed again.  *start gets the offset
 * to parse from.  0 / -1.
 */
static int
keep_good_prefix(struct mailbox *mb, struct mbox_list *l, size_t *start,
    const char **why)
{
	size_t k = 0, plen = (size_t)l->v[l->n - 1].off + (size_t)l->v[l->n - 1].len;
	unsigned char *pm = mmap(NULL, plen, PROT_READ, MAP_PRIVATE, mb->fd, 0);

	if (pm == MAP_FAILED) {
		mb_fail(why, "mmap mailbox %s: %s", mb->name, strerror(errno));
		return -1;
	}
	while (k < l->n && ent_head_ok(pm, &l->v[k]))
		k++;
	munmap(pm, plen);
	if (k == 0)
		mbox_list_truncate(l, 0);
	else {
		*start = (size_t)l->v[k - 1].off;
		mbox_list_truncate(l, k - 1);
	}
	return 0;
}

/* Parses the file from start to its end (size) into l; *good gets the end
 * of the last whole message.  0 / -1 (*why). */
static int
parse_tail(struct mailbox *mb, struct mbox_list *l, size_t size, size_t start,
    size_t *good, enum mbox_parse_status *pst, const char **why)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), map_off = start - start % pg;
	size_t maplen = 0, first = l->n;
	unsigned char *map = NULL;
	int r = 0;

	if (size > map_off) {
		maplen = size - map_off;
		map = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, mb->fd, (off_t)map_off);
		if (map == MAP_FAILED) {
			mb_fail(why, "mmap mailbox %s: %s", mb->name, strerror(errno));
			return -1;
		}
	}
	/* parse with offsets relative to map_off, then shift them */
	*pst = MBP_OK;
	*good = 0;
	if (map) {
		r = mbox_parse(map, maplen, start - map_off, l, good, pst);
		munmap(map, maplen);
	}
	for (size_t i = first; i < l->n; i++)
		l->v[i].off += map_off;
	*good += map_off;
	if (r == -1) {
		mb_fail(why, "scan mailbox %s: out of memory", mb->name);
		return -1;
	}
	return 0;
}

int
mb_scan(struct mailbox *mb, struct mbox_list *l, int repair, uint64_t *repaired,
    const char **why)
{
	struct stat st;
	enum mbox_parse_status pst;
	size_t good = 0, start = 0;
	int valid;

	*repaired = 0;
	if (fstat(mb->fd, &st) == -1) {
		mb_fail(why, "fstat mailbox %s: %s", mb->name, strerror(errno));
		return -1;
	}
	mb_index_load(mb, &st, l, &valid);
	if (valid == 2)
		return 0;
	if (valid == 1) {
		if (keep_good_prefix(mb, l, &start, why) == -1)
			return -1;
	} else
		mbox_list_truncate(l, 0);
	if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2) {
		mb_fail(why, "mailbox %s too large", mb->name);
		return -1;
	}
	if (parse_tail(mb, l, (size_t)st.st_size, start, &good, &pst, why) == -1)
		return -1;
	if (pst == MBP_NOTMBOX) {
		mb_fail(why, "mailbox %s is not an mbox file (no From_ line at the start): refused",
		    mb->name);
		return -1;
	}
	if (pst == MBP_TORN) {
		if (!repair) {
			mb_fail(why, "mailbox %s has a torn tail and was not repaired", mb->name);
			return -1;
		}
		if (ftruncate(mb->fd, (off_t)good) == -1 || fsync(mb->fd) == -1) {
			mb_fail(why, "repair mailbox %s: %s", mb->name, strerror(errno));
			return -1;
		}
		*repaired = (uint64_t)st.st_size - good;
		mb->size = good;
	}
	if (mbox_unique_uids(l) == -1) {
		mb_fail(why, "scan mailbox %s: out of memory", mb->name);
		return -1;
	}
	mb_index_write(mb, l);   /* a cache: failure only costs a rescan */
	return 0;
}

/* ---- append ---- */

int
mb_truncate(struct mailbox *mb, uint64_t size)
{
	int saved = errno, r;

	r = ftruncate(mb->fd, (off_t)size);
	if (r == 0)
		mb->size = size;
	errno = saved;
	return r;
}

int
mb_append(struct mailbox *mb, const void *rec, size_t n)
{
	uint64_t old = mb->size, at = old;
	unsigned char last;

	/* a file left without a final line end (by another tool) gets one,
	 * so the new From_ line starts a line; not asked again when the
	 * file still ends where our last record (which ends in LF) did */
	if (old > 0 && old != mb->our_end &&
	    pread_full(mb->fd, &last, 1, (off_t)(old - 1)) == 1 &&
	    last != '\n') {
		if (pwrite_full(mb->fd, "\n", 1, at) == -1) {
			mb_truncate(mb, old);
			return -1;
		}
		at++;
	}
	if (pwrite_full(mb->fd, rec, n, at) == -1) {
		mb_truncate(mb, old);
		return -1;
	}
	mb->size = at + n;
	if (n > 0 && ((const unsigned char *)rec)[n - 1] == '\n')
		mb->our_end = mb->size;
	return 0;
}

int
mb_fsync(struct mailbox *mb)
{
	if (fsync(mb->fd) == -1)
		return -1;
	if (mb->created) {
		if (fsync(mb->dirfd) == -1)
			return -1;
		mb->created = 0;
	}
	return 0;
}

/* ---- reading ---- */

/*
 * What follows a message that ends at raw[end] (avail bytes there): EOF,
 * or the start of a From_ line (a prefix of one: another tool may be
 * appending), after the line end postern adds to a file that lacks one.
 */
static int
boundary_ok(const unsigned char *raw, size_t end, size_t avail)
{
	const unsigned char *p = raw + end;

	if (avail == 0)
		return 1;
	if (end > 0 && raw[end - 1] != '\n') {
		if (p[0] != '\n')
			return 0;
		p++;
		avail--;
	}
	return memcmp(p, "From ", avail < 5 ? avail : 5) == 0;
}

/*
 * Reads ents[0..n) (increasing offsets), each whole or header + lines body
 * lines, unquoted, one after the other into one malloc'ed buffer; lens[i]
 * is the length of message i in it.  Messages that follow each other in
 * the file are read with one pread.  Each must still be what the entry
 * says (another tool may have rewritten the file since the entry was
 * made): its first bytes hash to e->head, and it ends where a From_ line
 * or the file starts (ESTALE otherwise).  0 / -1.
 */
/*
 * One run of adjacent messages ents[0..n), read into raw[0..got) (need of
 * it the messages themselves): each checked to be still where the
 * snapshot has it, then unquoted at o + *olen.  0, or -1 with errno (EIO:
 * not a message there; ESTALE: another one is).
 */
static int
unquote_run(const unsigned char *raw, uint64_t got, uint64_t need,
    const struct mbox_ent *const *ents, size_t n, uint32_t lines,
    unsigned char *o, size_t *olen, uint64_t *lens)
{
	for (size_t k = 0; k < n; k++) {
		uint64_t at = ents[k]->off - ents[0]->off;
		const unsigned char *m = raw + at;

		if (ents[k]->skip + ents[k]->clen < 5 ||
		    ents[k]->skip + ents[k]->clen > ents[k]->len ||
		    at + ents[k]->len > need ||
		    memcmp(m, "From ", 5) != 0) {
			errno = EIO;
			return -1;
		}
		if (mbox_head_hash(m, ents[k]->len, ents[k]->skip) != ents[k]->head ||
		    !boundary_ok(raw, (size_t)(at + ents[k]->len),
		    (size_t)(got - at - ents[k]->len))) {
			errno = ESTALE;
			return -1;
		}
		lens[k] = mbox_unquote(m + ents[k]->skip, (size_t)ents[k]->clen,
		    lines, o + *olen);
		*olen += (size_t)lens[k];
	}
	return 0;
}

int
mb_read_msgs(int fd, const struct mbox_ent *const *ents, size_t n,
    uint32_t lines, unsigned char **out, size_t *outlen, uint64_t *lens)
{
	unsigned char *raw = NULL, *o;
	size_t cap = 0, total = 0, olen = 0;

	for (size_t i = 0; i < n; i++) {
		if (ents[i]->clen > SIZE_MAX / 4 || ents[i]->clen > SIZE_MAX / 4 - total ||
		    ents[i]->len > SIZE_MAX / 4) {
			errno = EFBIG;
			return -1;
		}
		total += (size_t)ents[i]->clen;
	}
	/* mbox_unquote() may add a final line end to each */
	if ((o = malloc(total + n + 1)) == NULL)
		return -1;
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t span, need;
		ssize_t got;

		/* ents[i..j): one run of adjacent messages */
		for (j = i + 1; j < n && ents[j - 1]->off + ents[j - 1]->len == ents[j]->off &&
		    ents[j]->off - ents[i]->off <= SIZE_MAX / 4; j++)
			;
		/* every message whole, and what follows the last (6 bytes:
		 * a line end and "From ") */
		need = ents[j - 1]->off - ents[i]->off + ents[j - 1]->len;
		span = need + 6;
		if (span > SIZE_MAX / 2) {
			errno = EFBIG;
			goto fail;
		}
		if (need < 5) {         /* not even a "From " */
			errno = EIO;
			goto fail;
		}
		if (span > cap) {
			unsigned char *nr = realloc(raw, (size_t)span);

			if (nr == NULL)
				goto fail;
			raw = nr;
			cap = (size_t)span;
		}
		got = pread_full(fd, raw, (size_t)span, (off_t)ents[i]->off);
		if (got < 0 || (uint64_t)got < need) {
			errno = EIO;
			goto fail;
		}
		if (unquote_run(raw, (uint64_t)got, need, ents + i, j - i, lines, o,
		    &olen, lens + i) == -1)
			goto fail;
	}
	free(raw);
	*out = o;
	*outlen = olen;
	return 0;
fail:
	free(raw);
	free(o);
	return -1;
}

/*
 * The header and blank line of one message e whose first got bytes are in
 * raw: *hend the content bytes (after skip) that hold them, or 0 when
 * more must be read.
 */
static size_t
header_end(const unsigned char *raw, size_t got, const struct mbox_ent *e)
{
	const unsigned char *c = raw + e->skip, *p;
	size_t avail = got - e->skip;

	if (avail > e->clen)
		avail = (size_t)e->clen;
	if (avail > 0 && c[0] == '\n')
		return 1;                       /* an empty header */
	if ((p = memmem(c, avail, "\n\n", 2)) != NULL)
		return (size_t)(p - c) + 2;
	return avail == e->clen ? avail : 0;   /* no body: the whole message */
}

int
mb_read_headers(int fd, const struct mbox_ent *const *ents, size_t n, size_t budget,
    unsigned char **out, size_t *outlen, uint64_t *lens, size_t *done)
{
	unsigned char *raw = NULL, *o = NULL, tail[7];
	size_t cap = 0, ocap = 0, olen = 0, k;

	for (k = 0; k < n; k++) {
		const struct mbox_ent *e = ents[k];
		size_t want, hend = 0;
		ssize_t got, t;

		if (e->len > SIZE_MAX / 4 || e->skip + e->clen < 5 ||
		    e->skip + e->clen > e->len) {
			errno = EIO;
			goto fail;
		}
		/* the first bytes (the head hash needs MBOX_HEAD_BYTES after
		 * skip), doubled until the blank line is in them */
		for (want = (size_t)e->skip + HEADER_READ_FIRST_BYTES; hend == 0; want *= 2) {
			if (want > e->len)
				want = (size_t)e->len;
			if (want > cap) {
				unsigned char *nr = realloc(raw, want);

				if (nr == NULL)
					goto fail;
				raw = nr;
				cap = want;
			}
			got = pread_full(fd, raw, want, (off_t)e->off);
			if (got < 0 || (size_t)got < want || memcmp(raw, "From ", 5) != 0) {
				errno = EIO;
				goto fail;
			}
			hend = header_end(raw, want, e);
		}
		/* still that message, and still ending where it did */
		t = pread_full(fd, tail, sizeof(tail), (off_t)(e->off + e->len - 1));
		if (t < 1) {
			errno = EIO;
			goto fail;
		}
		if (mbox_head_hash(raw, e->len, e->skip) != e->head ||
		    !boundary_ok(tail, 1, (size_t)t - 1)) {
			errno = ESTALE;
			goto fail;
		}
		if (k > 0 && olen + hend + 1 > budget)
			break;
		if (olen + hend + 1 > ocap) {
			unsigned char *no = realloc(o, olen + hend + 1 + 4096);

			if (no == NULL)
				goto fail;
			o = no;
			ocap = olen + hend + 1 + 4096;
		}
		lens[k] = mbox_unquote(raw + e->skip, hend, 0, o + olen);
		olen += (size_t)lens[k];
	}
	free(raw);
	*out = o != NULL ? o : malloc(1);
	if (*out == NULL)
		return -1;
	*outlen = olen;
	*done = k;
	return 0;
fail:
	free(raw);
	free(o);
	return -1;
}

/* ---- COMMIT ---- */

/* In a list being rewritten only: the entry's imapuid is new, its line
 * is rewritten with it (flags bits 8..15 are the base UID's length). */
#define MBE_REUID 0x2u

static int
cmp_ent_uid(const void *a, const void *b)
{
	return strcmp(((const struct mbox_ent *)a)->uid, ((const struct mbox_ent *)b)->uid);
}

/* Is e one of del[0..ndel) (sorted by UID): its UID, and its first bytes? */
static int
marked(const struct mbox_ent *e, const struct mbox_ent *del, size_t ndel)
{
	const struct mbox_ent *d;

	if (ndel == 0 || (d = bsearch(e, del, ndel, sizeof(*del), cmp_ent_uid)) == NULL)
		return 0;
	return d->head == e->head;
}

static int
copy_range(int from, int to, uint64_t off, uint64_t len, uint64_t *woff)
{
	static unsigned char buf[65536];

	while (len > 0) {
		size_t n = len > sizeof(buf) ? sizeof(buf) : (size_t)len;
		ssize_t r = pread(from, buf, n, (off_t)off);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		if (write_all(to, buf, (size_t)r) == -1)
			return -1;
		off += (uint64_t)r;
		len -= (uint64_t)r;
		*woff += (uint64_t)r;
	}
	return 0;
}

/*
 * Writes one kept message to the new file and fixes its entry.  A message
 * of ours whose UID is its X-Postern UID is copied as it is; any other
 * gets an X-Postern line with the UID it was listed under (a foreign
 * message's derived UID, or the "-N" a duplicate was given), so that UID
 * is in the file from now on and stays the message's UIDL even when the
 * duplicate it was told apart from is gone.  A line replaced keeps its
 * IMAP UID, flags and keywords (store/xpostern.c), except that an entry
 * marked MBE_REUID gets e->imapuid as its IMAP UID (mb_assign_uids()).
 */
static int
copy_msg(int from, int to, struct mbox_ent *e, const struct mb_fold *fold,
    uint64_t *woff)
{
	/* one line at a time, the store is single-threaded */
	static unsigned char t[XPOSTERN_LINE_MAX_BYTES + 1];
	static char xl[XPOSTERN_LINE_MAX_BYTES + 1];
	static struct xpostern old;
	static struct xp_kw kw[FOLDER_KEYWORDS_MAX_COUNT];
	uint64_t newoff = *woff, total;
	size_t ul = strlen(e->uid), keep_pre = e->skip, drop = 0, nkw;
	int n, folding;

	/* a message whose flags the journal changed gets its line rewritten
	 * with them (never one given a new UID: the journal names old ones) */
	folding = fold != NULL && (e->flags & MBE_POSTERN) && e->imapuid != 0 &&
	    !(e->flags & MBE_REUID) && fold->has(fold->arg, e->imapuid);
	old.imapuid = old.flags = old.nkw = 0;
	if ((e->flags & MBE_POSTERN) && MBE_BASELEN(e->flags) == ul &&
	    !(e->flags & MBE_REUID) && !folding) {
		if (copy_range(from, to, e->off, e->len, woff) == -1)
			return -1;
		e->off = newoff;
		return 0;
	}
	if (e->flags & MBE_POSTERN) {
		/* ours, listed under another UID: its From_ line is kept, its
		 * X-Postern line (the end of skip, one line of at most
		 * XPOSTERN_LINE_MAX_BYTES bytes) replaced */
		size_t tl = e->skip < sizeof(t) ? e->skip : sizeof(t), i;

		if (tl < 2 ||
		    pread_full(from, t, tl, (off_t)(e->off + e->skip - tl)) != (ssize_t)tl) {
			errno = EIO;
			return -1;
		}
		for (i = tl - 1; i > 0 && t[i - 1] != '\n'; i--)
			;
		if (i == 0 || t[tl - 1] != '\n' ||
		    xpostern_parse(t + i, tl - i, &old, NULL) == -1) {
			errno = EIO;
			return -1;
		}
		for (size_t k = 0; k < old.nkw; k++) {
			kw[k].s = (const char *)t + i + old.kw_off[k];
			kw[k].n = old.kw_len[k];
		}
		drop = tl - i;
		keep_pre = e->skip - drop;
		if (folding) {
			nkw = old.nkw;
			fold->apply(fold->arg, old.imapuid, &old.flags, kw, &nkw);
			old.nkw = (uint32_t)nkw;
		}
	}
	if (e->flags & MBE_REUID)
		old.imapuid = e->imapuid;
	n = xpostern_format(xl, sizeof(xl), e->uid, old.imapuid, old.flags, kw,
	    old.nkw, e->len - drop, &total, NULL);
	if (n == -1 || e->len - drop + (uint64_t)n != total) {
		errno = EINVAL;
		return -1;
	}
	if (copy_range(from, to, e->off, keep_pre, woff) == -1 ||
	    write_all(to, xl, (size_t)n) == -1)
		return -1;
	*woff += (uint64_t)n;
	if (copy_range(from, to, e->off + e->skip, e->len - e->skip, woff) == -1)
		return -1;
	e->off = newoff;
	e->skip = (uint32_t)(keep_pre + (size_t)n);
	e->len = total;
	e->flags = MBE_POSTERN | ((uint32_t)ul << 8);
	e->imapuid = old.imapuid;
	e->mflags = old.flags;
	e->nkw = old.nkw;
	/* e->head stays: the hash leaves the X-Postern line out; e->date
	 * too: the From_ line is kept */
	return 0;
}

/* Writes the messages keep[] to a new tmp file, fsync'ed: its descriptor,
 * *woff its size; -1 (*why; the file removed). */
static int
write_tmp(struct mailbox *mb, const char *tmp, const struct mbox_list *keep,
    uint64_t *woff, const char **why)
{
	int tfd;

	unlinkat(mb->dirfd, tmp, 0);
	tfd = openat(mb->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (tfd == -1) {
		mb_fail(why, "create %s: %s", tmp, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < keep->n; i++) {
		/* a foreign message without its separator gets none added:
		 * it was the last one, or the next starts a From_ line */
		if (copy_msg(mb->fd, tfd, &keep->v[i], mb->fold, woff) == -1) {
			mb_fail(why, "write %s: %s", tmp, strerror(errno));
			goto fail;
		}
	}
	if (fsync(tfd) == -1) {
		mb_fail(why, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	return tfd;
fail:
	close(tfd);
	unlinkat(mb->dirfd, tmp, 0);
	return -1;
}

/*
 * The new file tmp (open as tfd) takes the name by exchange, so the old
 * one keeps a name (tmp) until the directory is on disk: when that fsync
 * fails, the deletions may not survive a crash, so they are undone
 * (exchanged back) and the COMMIT fails, the old file in place.  Where the
 * file system cannot exchange, a plain rename, and a failed fsync can only
 * be reported.  0, or -1 (*why; tfd closed).
 */
static int
swap_in(struct mailbox *mb, const char *tmp, int tfd, const char **why)
{
	int exchanged = 0;

	if (renameat2(mb->dirfd, tmp, mb->dirfd, mb->name, RENAME_EXCHANGE) == 0)
		exchanged = 1;
	else if ((errno != EINVAL && errno != ENOSYS) ||
	    renameat(mb->dirfd, tmp, mb->dirfd, mb->name) == -1) {
		mb_fail(why, "rename %s: %s", tmp, strerror(errno));
		goto fail_unlink;
	}
	if (fsync(mb->dirfd) == -1) {
		int e = errno;

		if (exchanged &&
		    renameat2(mb->dirfd, tmp, mb->dirfd, mb->name, RENAME_EXCHANGE) == 0) {
			mb_fail(why, "fsync spool directory: %s: the old %s is kept",
			    strerror(e), mb->name);
			fsync(mb->dirfd);   /* best effort: either file is whole */
			goto fail_unlink;
		}
		mb_fail(why, "fsync spool directory: %s: the rewrite of %s may not "
		    "survive a crash", strerror(e), mb->name);
		close(tfd);
		if (exchanged)
			unlinkat(mb->dirfd, tmp, 0);
		return -1;
	}
	/* the new file is in place; the old one (under the temporary name
	 * after an exchange) goes */
	if (exchanged)
		unlinkat(mb->dirfd, tmp, 0);
	return 0;
fail_unlink:
	close(tfd);
	unlinkat(mb->dirfd, tmp, 0);
	return -1;
}

/* mb moves to the new file tfd of size woff, its locks with it (the old
 * descriptor's go as it closes). */
static void
adopt(struct mailbox *mb, int tfd, uint64_t woff)
{
	struct stat nst;

	if (mb->fcntl_locked)
		fcntl_lock(mb->fd, F_UNLCK);
	close(mb->fd);
	mb->fd = tfd;
	if (fstat(tfd, &nst) == 0) {
		mb->dev = nst.st_dev;
		mb->ino = nst.st_ino;
	}
	if (mb->fcntl_locked)
		fcntl_lock(mb->fd, F_WRLCK);
	mb->size = woff;
}

/*
 * The one crash-safe rewrite both COMMIT and mb_assign_uids() use: the
 * messages keep[] (entries of the current file, in file order) to
 * .NAME.tmp, fsync'ed, exchanged with NAME, the directory fsync'ed; mb
 * moves to the new file and the index is written from keep (fixed by
 * copy_msg()).  0, or -1 (*why; the old file whole and in place).
 */
static int
rewrite_file(struct mailbox *mb, struct mbox_list *keep, const char **why)
{
	char tmp[128];
	uint64_t woff = 0;
	int tfd;

	if (side_name(mb, tmp, sizeof(tmp), ".", ".tmp") == -1)
		return mb_fail(why, "rewrite %s: name too long", mb->name);
	if ((tfd = write_tmp(mb, tmp, keep, &woff, why)) == -1 ||
	    swap_in(mb, tmp, tfd, why) == -1)
		return -1;
	adopt(mb, tfd, woff);
	mb_index_write(mb, keep);
	return 0;
}

/* Is e a message the rewrite's fold says was expunged? */
static int
fold_hidden(const struct mailbox *mb, const struct mbox_ent *e)
{
	return mb->fold != NULL && mb->fold->hidden != NULL && e->imapuid != 0 &&
	    (e->flags & MBE_POSTERN) && mb->fold->hidden(mb->fold->arg, e->imapuid);
}

static int
rewrite_keep(struct mailbox *mb, struct mbox_ent *del, size_t ndel, uint32_t *deleted,
    int force, const char **why);

int
mb_rewrite(struct mailbox *mb, struct mbox_ent *del, size_t ndel, uint32_t *deleted,
    const char **why)
{
	return rewrite_keep(mb, del, ndel, deleted, 0, why);
}

int
mb_compact(struct mailbox *mb, const char **why)
{
	uint32_t none;

	return rewrite_keep(mb, NULL, 0, &none, mb->fold != NULL, why);
}

static int
rewrite_keep(struct mailbox *mb, struct mbox_ent *del, size_t ndel, uint32_t *deleted,
    int force, const char **why)
{
	struct mbox_list l, keep;
	uint64_t repaired;
	size_t hidden = 0;
	int rc = -1;

	*deleted = 0;
	mbox_list_init(&l);
	mbox_list_init(&keep);
	if (mb_scan(mb, &l, 1, &repaired, why) == -1)
		return -1;
	if (ndel > 0)
		qsort(del, ndel, sizeof(*del), cmp_ent_uid);
	for (size_t i = 0; i < l.n; i++) {
		if (marked(&l.v[i], del, ndel))
			(*deleted)++;
		else if (fold_hidden(mb, &l.v[i]))
			hidden++;
		else if (mbox_list_push(&keep, &l.v[i]) == -1) {
			mb_fail(why, "rewrite %s: out of memory", mb->name);
			goto out;
		}
	}
	if ((*deleted == 0 && hidden == 0 && !force) || rewrite_file(mb, &keep, why) == 0)
		rc = 0;
out:
	mbox_list_free(&l);
	mbox_list_free(&keep);
	return rc;
}

/* ---- IMAP UIDs ---- */

int
mb_assign_uids(struct mailbox *mb, uint32_t floor, uint32_t start,
    int (*renumber)(void *arg, const char **why), void *arg,
    uint32_t *uidnext, int *renumbered, const char **why)
{
	struct mbox_list l;
	uint64_t repaired, next;
	uint32_t last = 0;
	size_t k = 0, dropped;
	int rc = -1, redo = 0;

	*renumbered = 0;
	mbox_list_init(&l);
	if (mb_scan(mb, &l, 1, &repaired, why) == -1)
		return -1;
	/* the expunged messages go with this rewrite (only ours have UIDs
	 * the journal can name) */
	for (size_t i = 0; i < l.n; i++)
		if (!fold_hidden(mb, &l.v[i]))
			l.v[k++] = l.v[i];
	dropped = l.n - k;
	l.n = k;
	k = 0;
	/* the UIDs the file has: a strictly ascending prefix, then none */
	while (k < l.n && l.v[k].imapuid > last)
		last = l.v[k++].imapuid;
	for (size_t i = k; i < l.n && !redo; i++)
		redo = l.v[i].imapuid != 0;     /* repeated, descending, or after a gap */
	next = (uint64_t)(floor > last ? floor : last + (uint64_t)1);
	if (next == 0)
		next = 1;
	if (!redo && next + (l.n - k) > (uint64_t)UINT32_MAX + 1)
		redo = 1;                       /* no room left under this UIDVALIDITY */
	if (!redo) {
		*uidnext = next > UINT32_MAX ? UINT32_MAX : (uint32_t)next;
		if (k == l.n && dropped == 0) { /* nothing lacks a UID: write nothing */
			rc = 0;
			goto out;
		}
	} else {
		next = start == 0 ? 1 : start;
		k = 0;
		if (next + l.n > (uint64_t)UINT32_MAX + 1) {
			mb_fail(why, "mailbox %s: %zu messages do not fit UIDs from %llu",
			    mb->name, l.n, (unsigned long long)next);
			goto out;
		}
		/* the new UIDVALIDITY is saved before any UID changes */
		if (renumber != NULL && renumber(arg, why) == -1)
			goto out;
		*renumbered = 1;
	}
	for (size_t i = k; i < l.n; i++) {
		l.v[i].imapuid = (uint32_t)next++;
		l.v[i].flags |= MBE_REUID;
	}
	if (rewrite_file(mb, &l, why) == -1)
		goto out;
	*uidnext = next > UINT32_MAX ? UINT32_MAX : (uint32_t)next;
	rc = 0;
out:
	mbox_list_free(&l);
	return rc;
}
