/*
 * The mbox format as postern writes and reads it (the layout is described
 * at the top of store/mbox.c).  Pure functions over memory: no files, no
 * IPC, so the unit tests and the fuzz target drive them directly.
 */
#ifndef POSTERN_MBOX_H
#define POSTERN_MBOX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A UID as postern writes it is 28 hex digits; a derived one "h" + 16 hex;
 * a message whose UID an earlier one already has gets "-1", "-2"... (or
 * "x" + 16 hex when that would not fit), and a COMMIT writes that into its
 * X-Postern line, so every UID, read or made, is at most this long. */
#define MBOX_UID_MAX   47

/* How much of a message's From_ line and of its bytes after skip (the
 * X-Postern line left out) an entry keeps the hash of: the index and RETR
 * check the file still has it there, and a COMMIT deletes by UIDL and this
 * hash, so a rewrite of the X-Postern line alone (an IMAP UID, flags, a
 * UIDL written into it) never changes it. */
#define MBOX_HEAD_BYTES 256

#define MBE_POSTERN    0x1u   /* the message had an X-Postern line */
/* flags bits 8..15: length of the base UID (before a "-N" suffix) */
#define MBE_BASELEN(f) (((f) >> 8) & 0xffu)

/* One message of a mailbox.  Also the on-disk index entry (host order). */
struct mbox_ent {
	uint64_t off;     /* start of the From_ line */
	uint64_t len;     /* bytes up to the next message (separator included) */
	uint64_t wire;    /* octets RETR sends before dot-stuffing (CRLF = 2) */
	uint64_t clen;    /* quoted content bytes after skip, separator excluded */
	uint32_t skip;    /* From_ line + X-Postern line: never shown */
	uint32_t flags;   /* MBE_* */
	uint32_t imapuid; /* the IMAP UID of its X-Postern line, 0: none */
	uint32_t mflags;  /* the persistent IMAP flags of that line (MF_*,
	                   * store/xpostern.h); its keywords stay in the line */
	char uid[MBOX_UID_MAX + 1];   /* NUL-terminated, 1..MBOX_UID_MAX */
	uint64_t head;    /* mbox_head_hash() of it */
	uint64_t date;    /* its From_ line's date (mbox_from_date()), 0: none */
	uint32_t nkw;     /* keywords its X-Postern line has (0: a SELECT
	                   * needs nothing from the file but the index) */
	uint32_t spare;   /* 0 */
};

struct mbox_list {
	struct mbox_ent *v;
	size_t n, cap;
};

enum mbox_parse_status {
	MBP_OK = 0,       /* the bytes are whole messages */
	MBP_TORN,         /* bytes from *good_end on are a torn tail or garbage */
	MBP_NOTMBOX,      /* the bytes do not start with a From_ line */
};

/* The date of a From_ line line[0..n) (LF excluded): the last asctime
 * date in it (a sender may contain spaces; some writers add a zone after
 * it), as Unix seconds (UTC, as postern writes them).  0 when there is
 * none. */
uint64_t mbox_from_date(const char *line, size_t n);

void mbox_list_init(struct mbox_list *l);
void mbox_list_free(struct mbox_list *l);
void mbox_list_truncate(struct mbox_list *l, size_t n);
int mbox_list_push(struct mbox_list *l, const struct mbox_ent *e);   /* 0 / -1 ENOMEM */

/*
 * Parses p[start..n) (start must be 0 or the start of a From_ line) and
 * appends the messages found to *l.  *good_end is where the last complete
 * message ends.  UIDs are base UIDs: call mbox_unique_uids() afterwards.
 * -1 only on allocation failure.
 */
int mbox_parse(const unsigned char *p, size_t n, size_t start,
    struct mbox_list *l, size_t *good_end, enum mbox_parse_status *st);

/*
 * Makes every UID unique.  Each message's base UID (from its X-Postern
 * line, or derived from its bytes) is kept by the first message in file
 * order that has it; a later one gets "-N", the smallest N from 1 up that
 * is neither any message's base UID nor given already ("x" + 16 hex digits
 * when "-N" would make it longer than MBOX_UID_MAX).  So a UID that is in
 * the file never changes, and what is given depends only on the base
 * UIDs in file order: the same on every scan until a COMMIT writes it
 * into the file.  -1 on ENOMEM.
 */
int mbox_unique_uids(struct mbox_list *l);

/* The hash an entry keeps of message bytes m[0..len) whose first skip
 * bytes are its From_ line and X-Postern line (if any): of its From_ line
 * and of the first MBOX_HEAD_BYTES after skip (fewer when shorter), so
 * the same whatever its X-Postern line says, or whether it has one. */
uint64_t mbox_head_hash(const unsigned char *m, uint64_t len, uint64_t skip);

/* Is this a base UID postern accepts in an X-Postern line? */
int mbox_uid_ok(const char *s, size_t n);

/* A fresh UID: 16 hex ns of CLOCK_REALTIME, 8 hex counter, 4 hex pid. */
void mbox_new_uid(char out[MBOX_UID_MAX + 1]);

/*
 * Builds the on-disk record of one message: From_ line (sender, date
 * when), X-Postern line (UIDL uid, and IMAP UID imapuid unless 0, flags
 * MF_* and keywords kw[0..nkw) as xpostern_format() takes them),
 * Return-Path (none when sender is NULL: an IMAP APPEND, whose From_
 * line then says MAILER-DAEMON), the message (CRLF -> LF, any other byte
 * kept, mboxrd-quoted, a final line end added when missing) and the blank
 * separator.  *wire gets the octets RETR will report.  Returns a
 * malloc'ed buffer (NULL on ENOMEM, overflow, or keywords xpostern_format()
 * refuses).
 */
struct xp_kw;
unsigned char *mbox_encode(const unsigned char *msg, size_t n,
    const char *sender, const char *uid, uint32_t imapuid, uint32_t flags,
    const struct xp_kw *kw, size_t nkw, time_t when, size_t *outlen,
    uint64_t *wire);

/* Octets RETR reports for quoted content c[0..n). */
uint64_t mbox_wire_octets(const unsigned char *c, size_t n);

/* The X-Postern line states the entry's own length, digits included: the
 * total T with T = base + (digits of T); 0 if there is none. */
uint64_t mbox_len_with_itself(uint64_t base);

/*
 * Unquotes content c[0..n) into out (at least n + 1 bytes), LF line ends,
 * the last line ended by LF.  lines == UINT32_MAX: the whole message;
 * otherwise the header, the blank line and that many body lines (TOP).
 * Returns the bytes written.
 */
size_t mbox_unquote(const unsigned char *c, size_t n, uint32_t lines,
    unsigned char *out);

#endif
