/*
 * LIST and LSUB pattern matching (RFC 3501 6.3.8) over UTF-8 folder names,
 * hierarchy separator "/": "*" matches any run of bytes, "%" any run
 * without "/".  INBOX matches in any case.  No I/O: the unit test drives
 * it directly.
 */
#ifndef POSTERN_IMAP_LIST_H
#define POSTERN_IMAP_LIST_H

#include <stddef.h>

#include "../privsep/params.h"

/* The longest reference + pattern considered (a longer one matches
 * nothing). */
#define IMAP_LIST_PATTERN_MAX (2 * IMAP_MAILBOX_MAX_BYTES)

/* 1 when name[0..nn) matches pat[0..pn), else 0.  Steps are bounded by
 * pn * nn. */
int imap_list_match(const char *pat, size_t pn, const char *name, size_t nn);

/* The pattern a LIST means: reference then pattern (a pattern starting
 * with "/" ignores the reference), into out[outsz].  0, or -1 when too
 * long. */
int imap_list_canon(const char *ref, size_t rn, const char *pat, size_t pn,
    char *out, size_t outsz, size_t *outlen);

#endif
