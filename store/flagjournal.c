/*
 * The flag journal of one folder (store/flagjournal.h).
 *
 * Layout (every integer little-endian, so a journal reads the same on any
 * host):
 *
 *   header, 16 bytes:  "PSTNFLJ1"  u32 uidvalidity  u32 crc32c(bytes 0..12)
 *   then records, each:
 *     u32 len          the whole record, this field and the checksum included
 *     u8  type         1 flags, 2 keyword
 *     payload
 *     u32 crc          CRC-32C of bytes 0..len-4 of the record, started from
 *                      the CRC-32C of the header's uidvalidity field
 *
 *   flags (1):   u32 uid  u8 set  u8 clr  u16 nkset  u16 nkclr
 *                u16 kset[nkset]  u16 kclr[nkclr]          len = 19 + 2 * (nkset + nkclr)
 *   keyword (2): u16 index  u8 namelen  name[namelen]        len = 12 + namelen
 *
 * Rules, all checked on replay; the first record that breaks one ends the
 * replay (FJ_TORN) and what follows is ignored and, when the journal is
 * opened for writing, cut off:
 * - len is exactly what the payload says, and at most FJ_RECORD_MAX_BYTES;
 * - the checksum matches (seeded with the UIDVALIDITY, so a record of
 *   another generation of the folder does not pass);
 * - flags: uid >= 1; set only MF_* bits and FJ_EXPUNGED (the message was
 *   expunged: hidden until the next rewrite drops it), clr only MF_* bits,
 *   the two disjoint; the keyword
 *   lists strictly ascending, disjoint, every index in the table; the
 *   record changes something;
 * - keyword: index is the table's size (names are made in order and never
 *   removed until a reset), below FOLDER_KEYWORDS_MAX_COUNT (the folder's
 *   own, lower limit binds only new keywords, so lowering it in the config
 *   cuts no journal), the name 1..50 IMAP atom-chars and not in the table
 *   in any case spelling.
 *
 * Why a checksum per record, and why CRC-32C: the journal is appended by
 * one writer, the store, in its jail, and fsync'ed in groups; what can go
 * wrong is a crash in the middle of a write (a torn tail: a short record,
 * or a page of zeros or old bytes where a record should be) or a damaged
 * disk block.  A length says where a record ends; the CRC says its bytes
 * are the ones written.  CRC-32C finds every error of up to 3 bits in a
 * record of this size and every burst up to 32 bits, and lets anything
 * else through with probability 2^-32; it is the checksum ext4, btrfs and
 * iSCSI use for the same job.  There is no adversary to resist (whoever
 * can write this file can write the mbox beside it), so a cryptographic
 * hash (truncated SHA-256) would buy nothing for its cost, and it would
 * pull OpenSSL into a module that is pure C and fuzzed alone.
 *
 * Why a replay stops at the first bad record instead of skipping it: a
 * later record may depend on it (a keyword index it made), and the order
 * of flag changes matters.  A lost tail is lost flag changes only.
 *
 * Replaying twice is harmless: a record sets or clears bits, so applying
 * the journal again over a mbox that already has it folded in changes
 * nothing.  That is what makes the fold crash-safe without a sequence
 * number: the mbox rewrite is made durable first, then the journal reset;
 * a crash between the two replays the old journal over the folded flags.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privsep/util.h"
#include "store/flagjournal.h"

static const char MAGIC[8] = { 'P', 'S', 'T', 'N', 'F', 'L', 'J', '1' };

#define REC_FLAGS    1
#define REC_KEYWORD  2
#define REC_MIN_BYTES 13    /* a keyword record with a one-byte name */

/* ---- CRC-32C ---- */

static uint32_t crc_table[256];
static int crc_ready;

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = 1;
}

uint32_t
fj_crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;

	if (!crc_ready)
		crc_init();
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ b[i]) & 0xffu] ^ (crc >> 8);
	return ~crc;
}

/* ---- little-endian fields ---- */

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static uint32_t
crc_seed(uint32_t uidvalidity)
{
	unsigned char b[4];

	put32(b, uidvalidity);
	return fj_crc32c(0, b, 4);
}

static void
make_header(unsigned char h[FJ_HEADER_BYTES], uint32_t uidvalidity)
{
	memcpy(h, MAGIC, 8);
	put32(h + 8, uidvalidity);
	put32(h + 12, fj_crc32c(0, h, 12));
}

/* FJ_OK, FJ_NOHEADER or FJ_OTHERGEN for the header h[0..n). */
static enum fj_status
check_header(const unsigned char *h, size_t n, uint32_t uidvalidity)
{
	if (n < FJ_HEADER_BYTES || memcmp(h, MAGIC, 8) != 0 ||
	    get32(h + 12) != fj_crc32c(0, h, 12))
		return FJ_NOHEADER;
	return get32(h + 8) == uidvalidity ? FJ_OK : FJ_OTHERGEN;
}

/* ---- the keyword table ---- */

int
fj_keyword_find(const struct fj_kwtab *kw, const char *s, size_t n)
{
	for (uint32_t i = 0; i < kw->n && i < FOLDER_KEYWORDS_MAX_COUNT; i++)
		if (xp_keyword_cmp(kw->name[i], kw->len[i], s, n) == 0)
			return (int)i;
	return -1;
}

static void
kwtab_push(struct fj_kwtab *kw, const char *s, size_t n)
{
	memcpy(kw->name[kw->n], s, n);
	kw->name[kw->n][n] = '\0';
	kw->len[kw->n] = (uint8_t)n;
	kw->n++;
}

/* ---- checking a change ---- */

/* Are the two lists strictly ascending, disjoint and below lim? */
static int
kw_lists_ok(const uint16_t *a, size_t na, const uint16_t *b, size_t nb,
    uint32_t lim)
{
	size_t i = 0, k = 0;

	for (size_t x = 0; x < na; x++)
		if (a[x] >= lim || (x > 0 && a[x] <= a[x - 1]))
			return 0;
	for (size_t x = 0; x < nb; x++)
		if (b[x] >= lim || (x > 0 && b[x] <= b[x - 1]))
			return 0;
	while (i < na && k < nb) {
		if (a[i] == b[k])
			return 0;
		if (a[i] < b[k])
			i++;
		else
			k++;
	}
	return 1;
}

static const char *
change_bad(const struct fj_change *c, uint32_t kw_n)
{
	if (c->uid == 0)
		return "UID 0";
	if ((c->set & ~(MF_ALL | FJ_EXPUNGED)) || (c->clr & ~MF_ALL))
		return "unknown flag bits";
	if (c->set & c->clr)
		return "a flag both set and cleared";
	if ((size_t)c->nkset + c->nkclr > kw_n ||
	    !kw_lists_ok(c->kset, c->nkset, c->kclr, c->nkclr, kw_n))
		return "bad keyword indexes";
	if (c->set == 0 && c->clr == 0 && c->nkset == 0 && c->nkclr == 0)
		return "a change of nothing";
	return NULL;
}

/* ---- replay ---- */

struct replay_ctx {
	uint32_t seed;
	struct fj_kwtab *kw;
	fj_apply_fn *fn;
	void *arg;
	uint64_t records;
	uint16_t idx[2 * FOLDER_KEYWORDS_MAX_COUNT];
};

/*
 * One record at p[0..n): 1 applied, *used its length; 0 it runs past n
 * (maybe whole in more bytes); -1 bad.
 */
static int
replay_one(const unsigned char *p, size_t n, struct replay_ctx *c, size_t *used)
{
	uint32_t len;

	if (n < 4)
		return 0;
	len = get32(p);
	if (len < REC_MIN_BYTES || len > FJ_RECORD_MAX_BYTES)
		return -1;
	if (n < len)
		return 0;
	if (get32(p + len - 4) != fj_crc32c(c->seed, p, len - 4))
		return -1;
	if (p[4] == REC_FLAGS) {
		struct fj_change ch;
		size_t nk;

		if (len < 19)
			return -1;
		ch.uid = get32(p + 5);
		ch.set = p[9];
		ch.clr = p[10];
		ch.nkset = get16(p + 11);
		ch.nkclr = get16(p + 13);
		nk = (size_t)ch.nkset + ch.nkclr;
		if (nk > 2 * FOLDER_KEYWORDS_MAX_COUNT || len != 19 + 2 * nk)
			return -1;
		for (size_t i = 0; i < nk; i++)
			c->idx[i] = get16(p + 15 + 2 * i);
		ch.kset = c->idx;
		ch.kclr = c->idx + ch.nkset;
		if (change_bad(&ch, c->kw->n) != NULL)
			return -1;
		if (c->fn != NULL)
			c->fn(c->arg, &ch);
	} else if (p[4] == REC_KEYWORD) {
		size_t nl = p[7];

		/* the folder's limit binds new keywords only (fj_keyword_add):
		 * a limit lowered in the config must not cut a journal */
		if (len != 12 + nl || get16(p + 5) != c->kw->n ||
		    c->kw->n >= FOLDER_KEYWORDS_MAX_COUNT ||
		    !xp_keyword_ok((const char *)p + 8, nl) ||
		    fj_keyword_find(c->kw, (const char *)p + 8, nl) != -1)
			return -1;
		kwtab_push(c->kw, (const char *)p + 8, nl);
	} else
		return -1;
	c->records++;
	*used = len;
	return 1;
}

/* Replays the whole records of p[0..n): the bytes they take; *bad when it
 * stopped at a bad one rather than at one running past n. */
static size_t
replay_some(const unsigned char *p, size_t n, struct replay_ctx *c, int *bad)
{
	size_t o = 0, used = 0;
	int r;

	*bad = 0;
	while ((r = replay_one(p + o, n - o, c, &used)) == 1)
		o += used;
	*bad = r == -1;
	return o;
}

static void
ctx_init(struct replay_ctx *c, uint32_t uidvalidity, struct fj_kwtab *kw,
    fj_apply_fn *fn, void *arg)
{
	c->seed = crc_seed(uidvalidity);
	c->kw = kw;
	c->fn = fn;
	c->arg = arg;
	c->records = 0;
	kw->n = 0;
	if (kw->max > FOLDER_KEYWORDS_MAX_COUNT)
		kw->max = FOLDER_KEYWORDS_MAX_COUNT;
}

void
fj_replay_mem(const unsigned char *p, size_t n, uint32_t uidvalidity,
    struct fj_kwtab *kw, fj_apply_fn *fn, void *arg, struct fj_replay *r)
{
	struct replay_ctx c;
	size_t used, lim;
	int bad;

	ctx_init(&c, uidvalidity, kw, fn, arg);
	r->records = 0;
	r->good_end = 0;
	if ((r->st = check_header(p, n, uidvalidity)) != FJ_OK)
		return;
	lim = n > FJ_JOURNAL_MAX_BYTES ? FJ_JOURNAL_MAX_BYTES : n;
	used = replay_some(p + FJ_HEADER_BYTES, lim - FJ_HEADER_BYTES, &c, &bad);
	r->good_end = FJ_HEADER_BYTES + used;
	r->records = c.records;
	r->st = r->good_end == n && !bad ? FJ_OK : FJ_TORN;
}

/* ---- the file ---- */

static char why_buf[160];

static int
fail_errno(const char **why, const char *what)
{
	snprintf(why_buf, sizeof(why_buf), "%s: %s", what, strerror(errno));
	return fail_why(why, why_buf);
}

/* Replays fd's records after a good header through one buffer. */
static int
replay_fd(int fd, struct replay_ctx *c, struct fj_replay *r, const char **why)
{
	unsigned char *buf;
	uint64_t off = FJ_HEADER_BYTES;   /* file offset of buf[0] */
	size_t have = 0;
	int eof = 0;

	if ((buf = malloc(FJ_READ_BUF_BYTES)) == NULL)
		return fail_why(why, "out of memory");
	for (;;) {
		size_t used;
		int bad;

		while (!eof && have < FJ_READ_BUF_BYTES) {
			size_t want = FJ_READ_BUF_BYTES - have;
			ssize_t got;

			if (off + have >= FJ_JOURNAL_MAX_BYTES) {
				eof = 1;
				break;
			}
			if (want > FJ_JOURNAL_MAX_BYTES - (off + have))
				want = (size_t)(FJ_JOURNAL_MAX_BYTES - (off + have));
			got = pread_full(fd, buf + have, want, (off_t)(off + have));
			if (got == -1) {
				free(buf);
				return fail_errno(why, "read flag journal");
			}
			have += (size_t)got;
			if ((size_t)got < want)
				eof = 1;
		}
		used = replay_some(buf, have, c, &bad);
		off += used;
		have -= used;
		if (bad || (eof && have > 0)) {
			r->st = FJ_TORN;
			break;
		}
		if (eof) {
			/* at the read limit with the file longer: the rest is
			 * not read, so it is a tail to cut */
			struct stat sb;

			r->st = FJ_OK;
			if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size > off)
				r->st = FJ_TORN;
			break;
		}
		memmove(buf, buf + used, have);
	}
	free(buf);
	r->good_end = off;
	r->records = c->records;
	return 0;
}

/* Empties fd and writes a header and the table kw: its size; -1. */
static int
write_fresh(int fd, uint32_t uidvalidity, const struct fj_kwtab *kw,
    uint64_t *end, const char **why)
{
	unsigned char h[FJ_HEADER_BYTES], rec[12 + IMAP_KEYWORD_MAX_BYTES];
	uint32_t seed = crc_seed(uidvalidity);
	uint64_t off = FJ_HEADER_BYTES;

	make_header(h, uidvalidity);
	if (ftruncate(fd, 0) == -1)
		return fail_errno(why, "truncate flag journal");
	if (pwrite_full(fd, h, sizeof(h), 0) == -1)
		return fail_errno(why, "write flag journal");
	for (uint32_t i = 0; i < kw->n; i++) {
		size_t nl = kw->len[i], rl = 12 + nl;

		put32(rec, (uint32_t)rl);
		rec[4] = REC_KEYWORD;
		put16(rec + 5, (uint16_t)i);
		rec[7] = (unsigned char)nl;
		memcpy(rec + 8, kw->name[i], nl);
		put32(rec + 8 + nl, fj_crc32c(seed, rec, 8 + nl));
		if (pwrite_full(fd, rec, rl, off) == -1)
			return fail_errno(why, "write flag journal");
		off += rl;
	}
	*end = off;
	return 0;
}

int
fj_open(struct fj_journal *j, int fd, uint32_t uidvalidity, uint32_t kw_max,
    fj_apply_fn *fn, void *arg, struct fj_replay *r, const char **why)
{
	unsigned char h[FJ_HEADER_BYTES];
	struct replay_ctx c;
	ssize_t got;

	j->fd = fd;
	j->uidvalidity = uidvalidity;
	j->end = 0;
	j->broken = 0;
	j->kw.max = kw_max;
	ctx_init(&c, uidvalidity, &j->kw, fn, arg);
	r->records = 0;
	r->good_end = 0;
	if ((got = pread_full(fd, h, sizeof(h), 0)) == -1)
		return fail_errno(why, "read flag journal");
	r->st = check_header(h, (size_t)got, uidvalidity);
	if (r->st != FJ_OK)
		return write_fresh(fd, uidvalidity, &j->kw, &j->end, why);
	if (replay_fd(fd, &c, r, why) == -1)
		return -1;
	if (r->st == FJ_TORN && ftruncate(fd, (off_t)r->good_end) == -1)
		return fail_errno(why, "truncate flag journal");
	j->end = r->good_end;
	return 0;
}

/* Appends rec[0..n) at the journal's end; the end is cut back on error. */
static int
append_bytes(struct fj_journal *j, const unsigned char *rec, size_t n,
    const char **why)
{
	if (j->broken)
		return fail_why(why, "flag journal has a tail it could not cut (reopen it)");
	if (n > FJ_JOURNAL_MAX_BYTES || j->end > FJ_JOURNAL_MAX_BYTES - n)
		return fail_why(why, "flag journal full (fold it into the mbox)");
	if (pwrite_full(j->fd, rec, n, j->end) == -1) {
		int e = errno;

		/* a part of rec may be there: records of it must never be
		 * followed by a later append's, or a change refused now
		 * would replay */
		if (ftruncate(j->fd, (off_t)j->end) == -1)
			j->broken = 1;
		errno = e;
		return fail_errno(why, "write flag journal");
	}
	j->end += n;
	return 0;
}

int
fj_keyword_add(struct fj_journal *j, const char *s, size_t n, const char **why)
{
	unsigned char rec[12 + IMAP_KEYWORD_MAX_BYTES];
	int i;

	if (!xp_keyword_ok(s, n))
		return fail_why(why, "is not a keyword");
	if ((i = fj_keyword_find(&j->kw, s, n)) != -1)
		return i;
	if (j->kw.n >= j->kw.max || j->kw.n >= FOLDER_KEYWORDS_MAX_COUNT)
		return fail_why(why, "too many keywords in this folder");
	put32(rec, (uint32_t)(12 + n));
	rec[4] = REC_KEYWORD;
	put16(rec + 5, (uint16_t)j->kw.n);
	rec[7] = (unsigned char)n;
	memcpy(rec + 8, s, n);
	put32(rec + 8 + n, fj_crc32c(crc_seed(j->uidvalidity), rec, 8 + n));
	if (append_bytes(j, rec, 12 + n, why) == -1)
		return -1;
	kwtab_push(&j->kw, s, n);
	return (int)(j->kw.n - 1);
}

void
fj_batch_init(struct fj_batch *b)
{
	b->p = NULL;
	b->n = b->cap = 0;
	b->records = 0;
}

void
fj_batch_free(struct fj_batch *b)
{
	free(b->p);
	fj_batch_init(b);
}

int
fj_batch_add(struct fj_batch *b, const struct fj_journal *j,
    const struct fj_change *c, const char **why)
{
	size_t nk = (size_t)c->nkset + c->nkclr, rl = 19 + 2 * nk;
	const char *bad;
	unsigned char *r;

	if ((bad = change_bad(c, j->kw.n)) != NULL)
		return fail_why(why, bad);
	if (b->n + rl > FJ_BATCH_MAX_BYTES)
		return fail_why(why, "flag batch too large");
	if (b->n + rl > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 4096;
		unsigned char *np;

		while (nc < b->n + rl)
			nc *= 2;
		if ((np = realloc(b->p, nc)) == NULL)
			return fail_why(why, "out of memory");
		b->p = np;
		b->cap = nc;
	}
	r = b->p + b->n;
	put32(r, (uint32_t)rl);
	r[4] = REC_FLAGS;
	put32(r + 5, c->uid);
	r[9] = c->set;
	r[10] = c->clr;
	put16(r + 11, c->nkset);
	put16(r + 13, c->nkclr);
	for (size_t i = 0; i < c->nkset; i++)
		put16(r + 15 + 2 * i, c->kset[i]);
	for (size_t i = 0; i < c->nkclr; i++)
		put16(r + 15 + 2 * (c->nkset + i), c->kclr[i]);
	put32(r + rl - 4, fj_crc32c(crc_seed(j->uidvalidity), r, rl - 4));
	b->n += rl;
	b->records++;
	return 0;
}

int
fj_append(struct fj_journal *j, struct fj_batch *b, const char **why)
{
	if (b->n == 0)
		return 0;
	if (append_bytes(j, b->p, b->n, why) == -1)
		return -1;
	b->n = 0;
	b->records = 0;
	return 0;
}

int
fj_reset(struct fj_journal *j, int dirfd, const char *name,
    const char *tmpname, uint32_t uidvalidity, const char **why)
{
	uint64_t end;
	int fd;

	unlinkat(dirfd, tmpname, 0);
	fd = openat(dirfd, tmpname, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return fail_errno(why, "create flag journal");
	if (write_fresh(fd, uidvalidity, &j->kw, &end, why) == -1)
		goto fail;
	if (fsync(fd) == -1) {
		fail_errno(why, "fsync flag journal");
		goto fail;
	}
	if (renameat(dirfd, tmpname, dirfd, name) == -1) {
		fail_errno(why, "rename flag journal");
		goto fail;
	}
	if (fsync(dirfd) == -1) {
		/* the new journal is in place; only its name may not be
		 * durable yet, and the old one replays harmlessly */
		int e = errno;

		close(j->fd);
		j->fd = fd;
		j->end = end;
		j->broken = 0;
		j->uidvalidity = uidvalidity;
		errno = e;
		return fail_errno(why, "fsync spool directory");
	}
	close(j->fd);
	j->fd = fd;
	j->end = end;
	j->broken = 0;
	j->uidvalidity = uidvalidity;
	return 0;
fail:
	close(fd);
	unlinkat(dirfd, tmpname, 0);
	return -1;
}

/* ---- applying to an array ---- */

void
fj_apply_msgs(void *arg, const struct fj_change *c)
{
	struct fj_msgs *m = arg;
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].uid < c->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == m->n || m->v[lo].uid != c->uid) {
		m->unknown++;
		return;
	}
	m->v[lo].flags = (m->v[lo].flags | c->set) & ~(uint32_t)c->clr;
	for (size_t i = 0; i < c->nkset; i++)
		if (c->kset[i] < FOLDER_KEYWORDS_MAX_COUNT)
			m->v[lo].kw[c->kset[i] / 64] |= 1ull << (c->kset[i] % 64);
	for (size_t i = 0; i < c->nkclr; i++)
		if (c->kclr[i] < FOLDER_KEYWORDS_MAX_COUNT)
			m->v[lo].kw[c->kclr[i] / 64] &= ~(1ull << (c->kclr[i] % 64));
}
