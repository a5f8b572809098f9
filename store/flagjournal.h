/*
 * The flag journal of one folder: a sidecar file of flag and keyword
 * changes since the folder's mbox was last rewritten, folded into the
 * messages' X-Postern lines (store/xpostern.h) by the next rewrite and
 * then reset.  The format and its rules are at the top of
 * store/flagjournal.c.  Losing the journal, or any tail of it, loses flag
 * changes only, never mail.
 */
#ifndef POSTERN_FLAGJOURNAL_H
#define POSTERN_FLAGJOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "privsep/params.h"
#include "store/xpostern.h"

#define FJ_HEADER_BYTES  16
/* The largest record: length, type, uid, two masks, two counts, every
 * keyword index (set and clear together name each keyword at most once),
 * checksum. */
#define FJ_RECORD_MAX_BYTES (4 + 1 + 4 + 1 + 1 + 2 + 2 + \
    2 * FOLDER_KEYWORDS_MAX_COUNT + 4)
/* 64-bit words of a keyword bitmap. */
#define FJ_KW_WORDS ((FOLDER_KEYWORDS_MAX_COUNT + 63) / 64)

/* The folder's keyword table: index -> name, in the order they were made. */
struct fj_kwtab {
	uint32_t n;      /* names in the table */
	uint32_t max;    /* the folder's limit, <= FOLDER_KEYWORDS_MAX_COUNT */
	uint8_t len[FOLDER_KEYWORDS_MAX_COUNT];
	char name[FOLDER_KEYWORDS_MAX_COUNT][IMAP_KEYWORD_MAX_BYTES + 1];
};

/*
 * A journal-only bit of a flag record's set mask: the message was
 * expunged (IMAP EXPUNGE or MOVE) and is hidden from every reader; its
 * bytes leave the mbox at the folder's next rewrite (deferred compaction,
 * store/store_expunge.c).  Never cleared, never written into an
 * X-Postern line: a rewrite that folds the journal drops the message.
 */
#define FJ_EXPUNGED 0x80u

/* One message's change: flags in set are set, in clr cleared (disjoint,
 * MF_* only; set may also hold FJ_EXPUNGED); keyword indexes kset[0..nkset) set, kclr[0..nkclr) cleared,
 * each list strictly ascending, the two disjoint, every index in the
 * table. */
struct fj_change {
	uint32_t uid;          /* the IMAP UID, >= 1 */
	uint8_t set, clr;
	uint16_t nkset, nkclr;
	const uint16_t *kset, *kclr;
};

/* Called for each flag record of a replay, in file order. */
typedef void fj_apply_fn(void *arg, const struct fj_change *c);

enum fj_status {
	FJ_OK = 0,        /* every byte was a good record */
	FJ_TORN,          /* bytes from good_end on are a torn tail or garbage */
	FJ_NOHEADER,      /* too short, not a journal, or its header is damaged */
	FJ_OTHERGEN,      /* a journal of another UIDVALIDITY: ignored */
};

struct fj_replay {
	enum fj_status st;
	uint64_t good_end;     /* end of the last good record (the header's end
	                        * at least, 0 when there is no good header) */
	uint64_t records;      /* good records applied (flags and keywords) */
};

/* An open journal: its descriptor, generation, table and end. */
struct fj_journal {
	int fd;
	uint32_t uidvalidity;
	uint64_t end;
	int broken;       /* a failed append's bytes could not be cut off:
	                   * no more appends until fj_open or fj_reset */
	struct fj_kwtab kw;
};

/* A batch of flag records being built, written by one fj_append(). */
struct fj_batch {
	unsigned char *p;
	size_t n, cap;
	uint32_t records;
};

/* CRC-32C (Castagnoli) of p[0..n), continuing crc (0 to start). */
uint32_t fj_crc32c(uint32_t crc, const void *p, size_t n);

/*
 * Replays the journal bytes p[0..n) of a folder whose UIDVALIDITY is
 * uidvalidity: the keyword records fill *kw (emptied first; the table
 * takes up to FOLDER_KEYWORDS_MAX_COUNT whatever kw->max says, which
 * binds only fj_keyword_add), each flag record is passed to fn (may be
 * NULL) in order.  Never fails: what is not a good record ends the replay
 * and is reported in *r.  Only the first FJ_JOURNAL_MAX_BYTES are read;
 * memory use is the caller's *kw and a stack buffer.
 */
void fj_replay_mem(const unsigned char *p, size_t n, uint32_t uidvalidity,
    struct fj_kwtab *kw, fj_apply_fn *fn, void *arg, struct fj_replay *r);

/*
 * Opens the journal in fd (read + write, the caller opened it without
 * following links) for a folder of this UIDVALIDITY with at most kw_max
 * keywords, and replays it as fj_replay_mem() does, reading through one
 * FJ_READ_BUF_BYTES buffer.  A bad tail is cut off; a journal without a
 * good header or of another generation is emptied and gets a fresh
 * header.  The caller fsyncs.  0, or -1 with *why (an I/O error; j->fd
 * is then still the caller's to close).
 */
int fj_open(struct fj_journal *j, int fd, uint32_t uidvalidity, uint32_t kw_max,
    fj_apply_fn *fn, void *arg, struct fj_replay *r, const char **why);

/* The index of keyword s[0..n) (ASCII case ignored), or -1. */
int fj_keyword_find(const struct fj_kwtab *kw, const char *s, size_t n);

/*
 * The index of keyword s[0..n), made when new: a keyword record is
 * appended (one write; the caller fsyncs with the next batch).  -1 with
 * *why: not a keyword, the folder's limit reached, or I/O.
 */
int fj_keyword_add(struct fj_journal *j, const char *s, size_t n, const char **why);

void fj_batch_init(struct fj_batch *b);
void fj_batch_free(struct fj_batch *b);
/* Adds one change to b (checked against j's table).  0 / -1 with *why. */
int fj_batch_add(struct fj_batch *b, const struct fj_journal *j,
    const struct fj_change *c, const char **why);

/* Appends b in one write at the journal's end, and empties b; the caller
 * fsyncs (group commit).  0 / -1 with *why (the journal's end is then cut
 * back to where it was). */
int fj_append(struct fj_journal *j, struct fj_batch *b, const char **why);

/*
 * After a rewrite folded the journal into the mbox (and it is durable):
 * the journal becomes a header and the keyword table (so keyword indexes
 * stay), written to tmpname in dirfd, fsync'ed, renamed over name, the
 * directory fsync'ed; j->fd is then the new file (the old one closed).
 * uidvalidity is the folder's (it may be a new one).  0 / -1 with *why:
 * j is unchanged, except when only the directory fsync failed (the new
 * file is then in place and j uses it; the old journal, should it come
 * back, replays harmlessly over the folded flags).
 */
int fj_reset(struct fj_journal *j, int dirfd, const char *name,
    const char *tmpname, uint32_t uidvalidity, const char **why);

/* ---- applying changes to an array (the store's view of a folder) ---- */

struct fj_msg {
	uint32_t uid;
	uint32_t flags;                /* MF_* */
	uint64_t kw[FJ_KW_WORDS];      /* bit i: keyword index i */
};

struct fj_msgs {
	struct fj_msg *v;       /* sorted by uid, strictly ascending */
	size_t n;
	uint64_t unknown;       /* changes naming a UID not in v (expunged) */
};

/* An fj_apply_fn over a struct fj_msgs (arg). */
void fj_apply_msgs(void *arg, const struct fj_change *c);

#endif
