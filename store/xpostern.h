/*
 * The X-Postern line of a message in a postern mbox (grammar at the top of
 * store/xpostern.c): its POP3 UIDL, its record length, and optionally its
 * IMAP UID, its persistent flags and its keywords, as a rewrite folds them
 * in from the flag journal (store/flagjournal.h).  Pure functions over
 * memory.
 */
#ifndef POSTERN_XPOSTERN_H
#define POSTERN_XPOSTERN_H

#include <stddef.h>
#include <stdint.h>

#include "privsep/params.h"
#include "store/mbox.h"

/* The persistent system flags (RFC 9051 2.3.2), one bit each; the same
 * bits in the flag journal.  \Recent is a session's, never stored. */
#define MF_SEEN      0x01u
#define MF_ANSWERED  0x02u
#define MF_FLAGGED   0x04u
#define MF_DELETED   0x08u
#define MF_DRAFT     0x10u
#define MF_ALL       0x1fu

/* "X-Postern: uid=" */
#define XPOSTERN_PREFIX      "X-Postern: uid="
#define XPOSTERN_PREFIX_LEN  15

/* The longest line, LF included: the prefix, a UID, " len=" and 19
 * digits, " imapuid=" and 10 digits, " flags=" and 5 letters, " kw=(",
 * every keyword a folder may have with a space between, ")", LF
 * (13,179 bytes). */
#define XPOSTERN_LINE_MAX_BYTES (XPOSTERN_PREFIX_LEN + MBOX_UID_MAX + 5 + 19 + \
    9 + 10 + 7 + 5 + 5 + \
    FOLDER_KEYWORDS_MAX_COUNT * (IMAP_KEYWORD_MAX_BYTES + 1) - 1 + 1 + 1)

/* A parsed line.  Keywords are spans of the parsed line (not copied):
 * line + kw_off[i], kw_len[i] bytes. */
struct xpostern {
	char uid[MBOX_UID_MAX + 1];   /* the base UIDL, NUL-terminated */
	uint64_t len;                 /* the record's length, this line included */
	uint32_t imapuid;             /* 0: none on the line */
	uint32_t flags;               /* MF_* */
	uint32_t nkw;
	uint16_t kw_off[FOLDER_KEYWORDS_MAX_COUNT];
	uint8_t kw_len[FOLDER_KEYWORDS_MAX_COUNT];
};

/* A keyword as xpostern_format() takes it. */
struct xp_kw {
	const char *s;
	size_t n;
};

/*
 * Parses line[0..n), the whole line with its LF and nothing after it.
 * 0, or -1 with *why (the line is then not postern's: mbox.c reads the
 * message as one written by another tool).
 */
int xpostern_parse(const unsigned char *line, size_t n, struct xpostern *xp,
    const char **why);

/*
 * Writes the line for a record whose bytes other than this line are rest
 * bytes (From_ line, the rest of the header, body, separator): uid is the
 * UIDL (mbox_uid_ok), imapuid 0 for none, flags MF_*, kw[0..nkw) keywords
 * in any order (written sorted; a duplicate, ignoring ASCII case, is an
 * error).  out gets the line with its LF and a NUL; returns the line's
 * length and *total the record's length with the line; -1 with *why.
 */
int xpostern_format(char *out, size_t outsz, const char *uid, uint32_t imapuid,
    uint32_t flags, const struct xp_kw *kw, size_t nkw, uint64_t rest,
    uint64_t *total, const char **why);

/* Is s[0..n) a keyword we store: 1..IMAP_KEYWORD_MAX_BYTES IMAP
 * atom-chars (RFC 9051 flag-keyword)? */
int xp_keyword_ok(const char *s, size_t n);

/* ASCII case-insensitive order of two keywords (<0, 0, >0). */
int xp_keyword_cmp(const char *a, size_t an, const char *b, size_t bn);

#endif
