/*
 * postern's mbox format: encoding a delivery, parsing a mailbox, reading a
 * message back.  Pure functions over memory (no files, no IPC).
 *
 * Design decisions (keep them; the docs repeat them):
 *
 * - A mailbox is a file named after the account in the spool directory (no
 *   subdirectories).  Sidecar files start with '.', which account names
 *   never do: ".NAME.idx" the index, ".NAME.tmp" a rewrite (COMMIT, UIDs),
 *   ".NAME.idx.tmp" an index being written; "NAME.lock" is the dotlock, so
 *   an account name may not end in ".lock".
 *
 * - Each appended message on disk is:
 *     From <sender or MAILER-DAEMON> <asctime date, UTC>\n
 *     X-Postern: uid=<UID> len=<N>\n        (store/xpostern.c: the grammar,
 *                                          and the optional IMAP UID, flags
 *                                          and keywords; a delivery to an
 *                                          INBOX with UIDs writes its IMAP
 *                                          UID, a rewrite the rest)
 *     Return-Path: <sender>\n              (none for an IMAP APPEND, whose
 *                                          From_ line says MAILER-DAEMON)
 *     <the message: CRLF -> LF, mboxrd-quoted, last line ended by LF>
 *     \n                                   (the blank separator line)
 *   N is the exact byte length of the record, from the start of its From_
 *   line to the end of its separator, so a torn tail is detectable without
 *   the index.  The X-Postern line is recognised ONLY as the line right
 *   after a From_ line: a sender's own X-Postern header deeper down is just
 *   message text.  mboxrd: a line matching ^>*From  gains one '>' on the
 *   way in; a line matching ^>+From  loses one on the way out.
 *
 * - An entry (struct mbox_ent) has the line's UIDL, IMAP UID and flags
 *   (keywords stay in the line), and the head hash that, with the UIDL, is
 *   the message's identity for a POP3 session: its From_ line and the
 *   first MBOX_HEAD_BYTES after its X-Postern line, so that a rewrite of
 *   that line alone (IMAP UID, flags, keywords, a UIDL written in) never
 *   changes it (mbox_head_hash()).
 *
 * - Reading (RETR/TOP) drops the From_ and X-Postern lines, unquotes and
 *   drops the one separator LF; the worker turns LF into CRLF and
 *   dot-stuffs.  The wire octets of LIST/STAT are the bytes RETR sends
 *   before dot-stuffing: unquoted length + number of LFs.  A message whose
 *   last line has no line end gets one (POP3 cannot send it otherwise).
 *
 * - UID: 16 hex digits of CLOCK_REALTIME ns, 8 hex of a per-process
 *   counter, 4 hex of the pid: unique, and stable across sessions,
 *   restarts and index loss because it is written in the mbox itself.
 *   Messages without an X-Postern line (written by other local tools) are
 *   accepted: their UID is "h" + 16 hex digits of a hash of their bytes
 *   (From_ line included; content_hash(), 8 bytes a step).  When several
 *   messages share a UID (an old mbox merged into a current one) the first
 *   in file order keeps it and each later one gets "-N", the smallest N
 *   that is no message's own UID and not given yet (mbox_unique_uids()).
 *   Such derived and given UIDs are written into the file (an X-Postern
 *   line is added or replaced) the next time a COMMIT rewrites the
 *   mailbox, which makes them stable from then on: deleting the first of
 *   two duplicates does not hand its UID to the second.
 *
 * - A foreign message runs to the next line starting "From " (mboxrd
 *   quoting guarantees no body line does); one blank line before the next
 *   From_ line (or EOF) is its separator and not shown.
 *
 * - Torn tail: a declared length running past EOF, an incomplete From_ or
 *   X-Postern line, a From_ line with nothing after it, or bytes after the
 *   last complete postern message that do not start a From_ line.  The
 *   store cuts such a tail away (store/mailbox.c) before any session sees
 *   the mailbox.  A file that does not start with "From " is not an mbox
 *   and is refused, never truncated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mbox.h"
#include "xpostern.h"
#include "../privsep/util.h"

static const char XP[] = XPOSTERN_PREFIX;
#define XP_LEN (sizeof(XP) - 1)

void
mbox_list_init(struct mbox_list *l)
{
	l->v = NULL;
	l->n = l->cap = 0;
}

void
mbox_list_free(struct mbox_list *l)
{
	free(l->v);
	mbox_list_init(l);
}

void
mbox_list_truncate(struct mbox_list *l, size_t n)
{
	if (n < l->n)
		l->n = n;
}

int
mbox_list_push(struct mbox_list *l, const struct mbox_ent *e)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		struct mbox_ent *nv;

		if (nc > SIZE_MAX / sizeof(*nv))
			return -1;
		if ((nv = realloc(l->v, nc * sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *e;
	return 0;
}

/* Does the line at s (n bytes available) match ^>*From ?  Returns the
 * number of '>' or -1. */
static int
from_quotes(const unsigned char *s, size_t n)
{
	size_t q = 0;

	while (q < n && s[q] == '>')
		q++;
	if (n - q >= 5 && memcmp(s + q, "From ", 5) == 0)
		return q > 0x7fffffff ? 0x7fffffff : (int)q;
	return -1;
}

static int
is_prefix_of(const unsigned char *s, size_t n, const char *full)
{
	size_t fl = strlen(full);

	return n < fl && memcmp(s, full, n) == 0;
}

int
mbox_uid_ok(const char *s, size_t n)
{
	if (n == 0 || n > MBOX_UID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '-'))
			return 0;
	}
	return 1;
}

/* The X-Postern line line[0..n), LF included (the grammar is in
 * store/xpostern.c): its base UID, IMAP UID and flags into e, and the
 * record length it declares.  Keywords are checked and stay in the line. */
static int
parse_xpostern(const unsigned char *line, size_t n, struct mbox_ent *e,
    uint64_t *len)
{
	struct xpostern xp;

	if (xpostern_parse(line, n, &xp, NULL) == -1)
		return -1;
	memcpy(e->uid, xp.uid, strlen(xp.uid) + 1);
	e->imapuid = xp.imapuid;
	e->mflags = xp.flags;
	e->nkw = xp.nkw;
	*len = xp.len;
	return 0;
}

uint64_t
mbox_wire_octets(const unsigned char *c, size_t n)
{
	uint64_t bytes = n, lfs = 0;
	size_t i = 0;

	while (i < n) {
		const unsigned char *e = memchr(c + i, '\n', n - i);
		size_t ll = e ? (size_t)(e - (c + i)) + 1 : n - i;

		if (from_quotes(c + i, ll) > 0)
			bytes--;
		if (e)
			lfs++;
		else {
			bytes++;   /* the line end RETR adds */
			lfs++;
		}
		i += ll;
	}
	return bytes + lfs;
}

size_t
mbox_unquote(const unsigned char *c, size_t n, uint32_t lines,
    unsigned char *out)
{
	size_t i = 0, o = 0;
	int in_body = 0;
	uint32_t body_lines = 0;

	while (i < n) {
		const unsigned char *e = memchr(c + i, '\n', n - i);
		size_t ll = e ? (size_t)(e - (c + i)) + 1 : n - i;
		size_t skip = from_quotes(c + i, ll) > 0 ? 1 : 0;

		if (in_body && lines != UINT32_MAX && body_lines >= lines)
			break;
		memcpy(out + o, c + i + skip, ll - skip);
		o += ll - skip;
		if (!e)
			out[o++] = '\n';
		if (in_body)
			body_lines++;
		else if (ll == 1 && c[i] == '\n')
			in_body = 1;
		i += ll;
	}
	return o;
}

/*
 * The hash behind a foreign message's UID: FNV-1a's start and shape, but
 * 8 bytes (read little-endian, so a mailbox keeps its UIDs on any host) a
 * step with a 64-bit odd multiplier and a fold of the high half, then the
 * tail byte by byte, then the length.  A store parses every mailbox it
 * binds, so this runs over every foreign byte of it: a byte a step
 * (plain FNV-1a) cost the store more than the rest of the parse.
 */
static uint64_t
content_hash(const unsigned char *p, size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i = 0;

	for (; n - i >= 8; i += 8) {
		uint64_t w = (uint64_t)p[i] | (uint64_t)p[i + 1] << 8 |
		    (uint64_t)p[i + 2] << 16 | (uint64_t)p[i + 3] << 24 |
		    (uint64_t)p[i + 4] << 32 | (uint64_t)p[i + 5] << 40 |
		    (uint64_t)p[i + 6] << 48 | (uint64_t)p[i + 7] << 56;

		h = (h ^ w) * k;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h = (h ^ (uint64_t)n) * k;
	return h ^ (h >> 29);
}

uint64_t
mbox_head_hash(const unsigned char *m, uint64_t len, uint64_t skip)
{
	unsigned char b[2 * MBOX_HEAD_BYTES];
	const unsigned char *lf;
	size_t fl, cl;

	if (skip > len)
		skip = len;
	/* the From_ line (what of it lies in the first MBOX_HEAD_BYTES) */
	fl = skip < MBOX_HEAD_BYTES ? (size_t)skip : MBOX_HEAD_BYTES;
	if ((lf = memchr(m, '\n', fl)) != NULL)
		fl = (size_t)(lf - m) + 1;
	memcpy(b, m, fl);
	/* and the first bytes after skip */
	cl = len - skip < MBOX_HEAD_BYTES ? (size_t)(len - skip) : MBOX_HEAD_BYTES;
	memcpy(b + fl, m + skip, cl);
	return content_hash(b, fl + cl);
}
/* Start of the next line beginning "From " at or after pos (pos is a line
 * start), or n. */
static size_t
next_from(const unsigned char *p, size_t n, size_t pos)
{
	while (pos < n) {
		const unsigned char *e;

		if (n - pos >= 5 && memcmp(p + pos, "From ", 5) == 0)
			return pos;
		e = memchr(p + pos, '\n', n - pos);
		if (e == NULL)
			return n;
		pos = (size_t)(e - p) + 1;
	}
	return n;
}

static void
fill_foreign(const unsigned char *p, size_t pos, size_t body, size_t end,
    struct mbox_ent *e)
{
	size_t c1 = end;

	/* one blank line before the next From_ (or EOF) is the separator */
	if (c1 > body && p[c1 - 1] == '\n' &&
	    (c1 - 1 == body || p[c1 - 2] == '\n'))
		c1--;
	e->off = pos;
	e->len = end - pos;
	e->skip = (uint32_t)(body - pos);
	e->clen = c1 - body;
	e->wire = mbox_wire_octets(p + body, c1 - body);
	e->flags = 0;
	e->imapuid = e->mflags = e->nkw = 0;
	e->head = mbox_head_hash(p + pos, end - pos, e->skip);
	snprintf(e->uid, sizeof(e->uid), "h%016llx",
	    (unsigned long long)content_hash(p + pos, end - pos));
}

enum parse_step { PS_NEXT, PS_STOP, PS_ERR };

/*
 * The message at pos with an X-Postern line declaring its length dlen (its
 * body at body, ent->uid set): taken as declared when it ends where the
 * next From_ (or EOF) starts, else read as a foreign message keeping its
 * UID.  PS_NEXT with *next the message after it; PS_STOP with *st set (a
 * torn tail); PS_ERR out of memory.
 */
static enum parse_step
parse_declared(const unsigned char *p, size_t n, size_t pos, size_t body,
    uint64_t dlen, struct mbox_ent *ent, struct mbox_list *l, size_t *next,
    size_t *good_end, enum mbox_parse_status *st)
{
	char uid[sizeof(ent->uid)];
	uint32_t imapuid = ent->imapuid, mflags = ent->mflags, nkw = ent->nkw;
	size_t end;

	if (dlen > n - pos) {
		*st = MBP_TORN;   /* runs past EOF */
		return PS_STOP;
	}
	end = pos + (size_t)dlen;
	if (end >= body + 1 && p[end - 1] == '\n' &&
	    (end - 1 == body || p[end - 2] == '\n')) {
		int at_from = end == n || (n - end >= 5 &&
		    memcmp(p + end, "From ", 5) == 0);

		if (at_from || next_from(p, n, end) == n) {
			ent->off = pos;
			ent->len = dlen;
			ent->skip = (uint32_t)(body - pos);
			ent->clen = end - 1 - body;
			ent->wire = mbox_wire_octets(p + body, end - 1 - body);
			ent->flags = MBE_POSTERN;
			ent->head = mbox_head_hash(p + pos, dlen, ent->skip);
			if (mbox_list_push(l, ent) == -1)
				return PS_ERR;
			*good_end = end;
			if (!at_from) {
				*st = MBP_TORN;   /* garbage */
				return PS_STOP;
			}
			*next = end;
			return PS_NEXT;
		}
	}
	/* the declared length is wrong: read it as a foreign message,
	 * keeping its UID */
	end = next_from(p, n, body);
	memcpy(uid, ent->uid, sizeof(uid));
	fill_foreign(p, pos, body, end, ent);
	memcpy(ent->uid, uid, sizeof(uid));
	ent->flags = MBE_POSTERN;
	ent->imapuid = imapuid;     /* its line is postern's: so are these */
	ent->mflags = mflags;
	ent->nkw = nkw;
	if ((size_t)ent->skip != body - pos)
		return PS_ERR;
	if (mbox_list_push(l, ent) == -1)
		return PS_ERR;
	*good_end = *next = end;
	return PS_NEXT;
}

static int
parse_inner(const unsigned char *p, size_t n, size_t start,
    struct mbox_list *l, size_t *good_end, enum mbox_parse_status *st)
{
	size_t pos = start;

	*good_end = start;
	*st = MBP_OK;
	while (pos < n) {
		const unsigned char *e;
		size_t line2, end;
		struct mbox_ent ent;

		memset(&ent, 0, sizeof(ent));
		if (n - pos < 5 || memcmp(p + pos, "From ", 5) != 0) {
			if (pos == 0 && !is_prefix_of(p, n, "From "))
				*st = MBP_NOTMBOX;
			else
				*st = MBP_TORN;
			return 0;
		}
		if ((e = memchr(p + pos, '\n', n - pos)) == NULL) {
			*st = MBP_TORN;     /* incomplete From_ line */
			return 0;
		}
		line2 = (size_t)(e - p) + 1;
		if (line2 == n) {
			*st = MBP_TORN;     /* a From_ line and nothing else */
			return 0;
		}
		ent.date = mbox_from_date((const char *)p + pos, line2 - 1 - pos);
		e = memchr(p + line2, '\n', n - line2);
		if (e == NULL && (is_prefix_of(p + line2, n - line2, XP) ||
		    (n - line2 >= XP_LEN && memcmp(p + line2, XP, XP_LEN) == 0))) {
			*st = MBP_TORN;     /* incomplete X-Postern line */
			return 0;
		}
		if (e != NULL) {
			size_t xl = (size_t)(e - (p + line2)) + 1;
			uint64_t dlen;

			if (parse_xpostern(p + line2, xl, &ent, &dlen) == 0) {
				enum parse_step ps = parse_declared(p, n, pos, line2 + xl,
				    dlen, &ent, l, &pos, good_end, st);

				if (ps == PS_NEXT)
					continue;
				return ps == PS_ERR ? -1 : 0;
			}
		}
		end = next_from(p, n, line2);
		fill_foreign(p, pos, line2, end, &ent);
		if (mbox_list_push(l, &ent) == -1)
			return -1;
		*good_end = pos = end;
	}
	return 0;
}

int
mbox_parse(const unsigned char *p, size_t n, size_t start,
    struct mbox_list *l, size_t *good_end, enum mbox_parse_status *st)
{
	size_t first = l->n;

	if (parse_inner(p, n, start, l, good_end, st) == -1)
		return -1;
	/*
	 * What a repair keeps must parse clean by itself (a message read as
	 * foreign because a torn one followed it may read otherwise without
	 * it), so parse the kept part again until it does.  The kept part
	 * shrinks every round.
	 */
	while (*st == MBP_TORN) {
		size_t keep = *good_end;
		enum mbox_parse_status st2;

		mbox_list_truncate(l, first);
		if (parse_inner(p, keep, start, l, good_end, &st2) == -1)
			return -1;
		if (st2 == MBP_OK && *good_end == keep)
			break;
		if (st2 == MBP_NOTMBOX) {
			*st = MBP_NOTMBOX;
			break;
		}
	}
	return 0;
}

/* ---- the internal date (the From_ line's) ---- */

static int
name3(const char *p, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (memcmp(p, names[i], 3) == 0)
			return i;
	return -1;
}

/* Digits p[0..n) as a number, or -1. */
static int
num(const char *p, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* "Www Mmm dd hh:mm:ss yyyy" (dd may be " d") at p (24 bytes): seconds,
 * or 0. */
static uint64_t
asctime_at(const char *p)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	    "Aug", "Sep", "Oct", "Nov", "Dec" };
	int m, d, hh, mm, ss, y;
	int64_t t;

	if (name3(p, wd, 7) < 0 || p[3] != ' ' || (m = name3(p + 4, mo, 12)) < 0 ||
	    p[7] != ' ' || p[10] != ' ' || p[13] != ':' || p[16] != ':' || p[19] != ' ')
		return 0;
	d = p[8] == ' ' ? num(p + 9, 1) : num(p + 8, 2);
	hh = num(p + 11, 2);
	mm = num(p + 14, 2);
	ss = num(p + 17, 2);
	y = num(p + 20, 4);
	if (d < 1 || d > 31 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 ||
	    y < 1970)
		return 0;
	t = days_from_civil(y, m + 1, d) * 86400 + hh * 3600 + mm * 60 + ss;
	return t > 0 ? (uint64_t)t : 0;
}

uint64_t
mbox_from_date(const char *line, size_t n)
{
	for (size_t i = n >= 24 ? n - 24 + 1 : 0; i-- > 5;) {
		uint64_t t = asctime_at(line + i);

		if (t != 0)
			return t;
	}
	return 0;
}

/* ---- unique UIDs ---- */

static const struct mbox_ent *sort_base;

static int
cmp_uid_idx(const void *a, const void *b)
{
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int c = strcmp(sort_base[ia].uid, sort_base[ib].uid);

	if (c != 0)
		return c;
	return ia < ib ? -1 : ia > ib;
}

/* Cuts a uid back to its base (drops a "-N" this function added). */
static void
uid_to_base(struct mbox_ent *e)
{
	size_t bl = MBE_BASELEN(e->flags);

	if (bl == 0 || bl > MBOX_UID_MAX)
		bl = strnlen(e->uid, MBOX_UID_MAX);
	e->uid[bl] = '\0';
	e->flags = (e->flags & ~0xff00u) | ((uint32_t)bl << 8);
}

/* The UIDs taken: open addressing over pointers to NUL-terminated UIDs
 * (they live in the entries, which do not move meanwhile). */
struct uidset {
	const char **slot;
	size_t mask;
};

static uint64_t
uid_hash(const char *s)
{
	return content_hash((const unsigned char *)s, strlen(s));
}

static int
uidset_has(const struct uidset *u, const char *s)
{
	for (size_t i = (size_t)uid_hash(s) & u->mask;; i = (i + 1) & u->mask) {
		if (u->slot[i] == NULL)
			return 0;
		if (strcmp(u->slot[i], s) == 0)
			return 1;
	}
}

/* Adds s (not yet in u); u always has a free slot (see the sizing). */
static void
uidset_add(struct uidset *u, const char *s)
{
	size_t i = (size_t)uid_hash(s) & u->mask;

	while (u->slot[i] != NULL)
		i = (i + 1) & u->mask;
	u->slot[i] = s;
}

/* The k-th candidate UID for a later message with base UID base. */
static void
uid_candidate(const char *base, size_t k, char out[MBOX_UID_MAX + 1])
{
	int r = snprintf(out, MBOX_UID_MAX + 1, "%s-%zu", base, k);

	if (r < 0 || r > MBOX_UID_MAX) {
		char in[MBOX_UID_MAX + 24];
		int il = snprintf(in, sizeof(in), "%s\n%zu", base, k);

		snprintf(out, MBOX_UID_MAX + 1, "x%016llx", (unsigned long long)
		    content_hash((const unsigned char *)in, il > 0 ? (size_t)il : 0));
	}
}

int
mbox_unique_uids(struct mbox_list *l)
{
	struct uidset u = { NULL, 0 };
	size_t *idx, slots = 4;
	int dups = 0;

	for (size_t i = 0; i < l->n; i++)
		uid_to_base(&l->v[i]);
	if (l->n < 2)
		return 0;
	if ((idx = calloc(l->n, sizeof(*idx))) == NULL)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		idx[i] = i;
	sort_base = l->v;
	qsort(idx, l->n, sizeof(*idx), cmp_uid_idx);
	for (size_t i = 1; i < l->n && !dups; i++)
		dups = strcmp(l->v[idx[i - 1]].uid, l->v[idx[i]].uid) == 0;
	if (!dups) {               /* the usual case: nothing to give */
		free(idx);
		return 0;
	}
	/* every base UID, then every UID given: at most 2n, kept under half */
	while (slots < 4 * l->n && slots < SIZE_MAX / 8)
		slots *= 2;
	if ((u.slot = calloc(slots, sizeof(*u.slot))) == NULL) {
		free(idx);
		return -1;
	}
	u.mask = slots - 1;
	for (size_t i = 0; i < l->n; i++)
		if (i == 0 || strcmp(l->v[idx[i - 1]].uid, l->v[idx[i]].uid) != 0)
			uidset_add(&u, l->v[idx[i]].uid);
	/* runs of one base UID, each in file order: the first keeps it; the
	 * candidates a run skipped are taken, so k goes on within the run */
	for (size_t i = 1, first = 0, k = 0; i < l->n; i++) {
		struct mbox_ent *cur = &l->v[idx[i]];
		char cand[MBOX_UID_MAX + 1];

		if (strcmp(l->v[idx[first]].uid, cur->uid) != 0) {
			first = i;
			k = 0;
			continue;
		}
		/* the UIDs taken are at most 2n and the candidates differ,
		 * so this ends within 2n + 1 tries */
		do
			uid_candidate(cur->uid, ++k, cand);
		while (uidset_has(&u, cand));
		memcpy(cur->uid, cand, strlen(cand) + 1);
		uidset_add(&u, cur->uid);
	}
	free(u.slot);
	free(idx);
	return 0;
}

/* ---- encoding ---- */

void
mbox_new_uid(char out[MBOX_UID_MAX + 1])
{
	static uint32_t counter;
	struct timespec ts;
	unsigned long long ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = (unsigned long long)ts.tv_sec * 1000000000ull +
	    (unsigned long long)ts.tv_nsec;
	snprintf(out, MBOX_UID_MAX + 1, "%016llx%08x%04x", ns,
	    (unsigned)++counter, (unsigned)getpid() & 0xffffu);
}

/* The sender as it appears on the From_ line: no spaces, no controls. */
static void
from_sender(const char *sender, char *out, size_t outsz)
{
	size_t i;

	if (sender[0] == '\0')
		sender = "MAILER-DAEMON";
	for (i = 0; sender[i] && i + 1 < outsz; i++) {
		unsigned char c = (unsigned char)sender[i];
		out[i] = (c <= 0x20 || c == 0x7f) ? '_' : (char)c;
	}
	out[i] = '\0';
}

static void
rp_sender(const char *sender, char *out, size_t outsz)
{
	size_t i;

	for (i = 0; sender[i] && i + 1 < outsz; i++) {
		unsigned char c = (unsigned char)sender[i];
		out[i] = (c < 0x20 || c == 0x7f) ? '_' : (char)c;
	}
	out[i] = '\0';
}

uint64_t
mbox_len_with_itself(uint64_t base)
{
	for (size_t d = 1; d <= 20; d++)
		if (u64_digits(base + d) == d)
			return base + d;
	return 0;
}

/* The From_ line and the Return-Path line of a record.  0 / -1. */
static int
envelope_lines(const char *sender, time_t when, char *fromline, size_t fromsz,
    size_t *fl, char *rpline, size_t rpsz, size_t *rl)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char fs[600], rs[600];
	struct tm tm;
	int r;

	from_sender(sender, fs, sizeof(fs) < 257 ? sizeof(fs) : 257);
	rp_sender(sender, rs, 257);
	gmtime_r(&when, &tm);
	r = snprintf(fromline, fromsz, "From %s %s %s %2d %02d:%02d:%02d %d\n",
	    fs, wd[tm.tm_wday % 7], mo[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	if (r < 0 || (size_t)r >= fromsz)
		return -1;
	*fl = (size_t)r;
	r = snprintf(rpline, rpsz, "Return-Path: <%s>\n", rs);
	if (r < 0 || (size_t)r >= rpsz)
		return -1;
	*rl = (size_t)r;
	return 0;
}

/* The body's size once quoted with LF line ends; *wire gets its octets
 * on the POP3 wire (CRLF line ends). */
static size_t
quoted_size(const unsigned char *msg, size_t n, uint64_t *wire)
{
	size_t bodyq = 0;

	for (size_t i = 0; i < n;) {
		const unsigned char *e = memchr(msg + i, '\n', n - i);
		size_t ll = e ? (size_t)(e - (msg + i)) + 1 : n - i;
		size_t lf_len = ll;   /* the line as LF text */

		if (e && ll >= 2 && msg[i + ll - 2] == '\r')
			lf_len--;
		if (!e)
			lf_len++;
		bodyq += lf_len + (from_quotes(msg + i, ll) >= 0 ? 1 : 0);
		*wire += lf_len + 1;
		i += ll;
	}
	return bodyq;
}

/* Writes the body quoted, LF line ends, at out + o; the new o. */
static size_t
copy_quoted(const unsigned char *msg, size_t n, unsigned char *out, size_t o)
{
	for (size_t i = 0; i < n;) {
		const unsigned char *e = memchr(msg + i, '\n', n - i);
		size_t ll = e ? (size_t)(e - (msg + i)) + 1 : n - i;
		size_t cl = ll;

		if (from_quotes(msg + i, ll) >= 0)
			out[o++] = '>';
		if (e && ll >= 2 && msg[i + ll - 2] == '\r')
			cl -= 2;
		else if (e)
			cl -= 1;
		memcpy(out + o, msg + i, cl);
		o += cl;
		out[o++] = '\n';
		i += ll;
	}
	return o;
}

unsigned char *
mbox_encode(const unsigned char *msg, size_t n, const char *sender,
    const char *uid, uint32_t imapuid, uint32_t flags, const struct xp_kw *kw,
    size_t nkw, time_t when, size_t *outlen, uint64_t *wire)
{
	char fromline[700], rpline[700], *xline;
	size_t fl, rl, xl, bodyq, o, xsz;
	uint64_t w, total;
	unsigned char *out;
	int r;

	if (envelope_lines(sender ? sender : "", when, fromline, sizeof(fromline), &fl,
	    rpline, sizeof(rpline), &rl) == -1)
		return NULL;
	if (sender == NULL)
		rl = 0;                 /* IMAP APPEND: no Return-Path line */
	w = rl == 0 ? 0 : rl + 1;
	/* pass 1: the quoted size and the wire octets */
	bodyq = quoted_size(msg, n, &w);
	if (bodyq > SIZE_MAX / 2)
		return NULL;
	/* without keywords the line is at most 106 bytes */
	xsz = nkw == 0 ? 128 : XPOSTERN_LINE_MAX_BYTES + 1;
	if ((xline = malloc(xsz)) == NULL)
		return NULL;
	r = xpostern_format(xline, xsz, uid, imapuid, flags, kw, nkw,
	    (uint64_t)fl + rl + bodyq + 1, &total, NULL);
	if (r == -1 || total > SIZE_MAX / 2 || (out = malloc((size_t)total)) == NULL) {
		free(xline);
		return NULL;
	}
	xl = (size_t)r;
	memcpy(out, fromline, fl);
	memcpy(out + fl, xline, xl);
	memcpy(out + fl + xl, rpline, rl);
	free(xline);
	o = copy_quoted(msg, n, out, fl + xl + rl);
	out[o++] = '\n';
	if (o != total) {
		free(out);
		errno = EINVAL;
		return NULL;
	}
	*outlen = (size_t)total;
	*wire = w;
	return out;
}
