/*
 * One FETCH response (RFC 3501 6.4.5, 7.4.2) of one message, built from
 * what the view knows (UID, flags, size, internal date, keywords) and, when
 * the items need them, the message's bytes as the store gives them (LF
 * line ends; sent with CRLF).  No I/O: the unit test drives it directly.
 */
#ifndef POSTERN_IMAP_FETCH_H
#define POSTERN_IMAP_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"
#include "imap_str.h"
#include "storecli.h"

/* What of the message the items need: 0 (the view is enough),
 * FETCH_HEADER or FETCH_WHOLE (enum fetch_what). */
uint32_t imap_fetch_needs(const struct imap_fetch *f);

/* Do the items set \Seen (BODY[...] without PEEK, RFC822, RFC822.TEXT;
 * RFC 3501 6.4.5)? */
int imap_fetch_sets_seen(const struct imap_fetch *f);

/*
 * Appends "* SEQ FETCH (...)" and its CRLF to out for message m of view v
 * (the UID item too when uid_cmd, FLAGS too when flags_too: the fetch
 * has just set \Seen).  msg[0..len) are the bytes
 * imap_fetch_needs() asked for (NULL when it said 0).  0, or -1 with *why
 * (out passed its max: the caller answers NO).
 */
int imap_fetch_response(struct ibuf *out, uint32_t seq, const struct sc_vmsg *m,
    const struct sc_view *v, const struct imap_fetch *f, int uid_cmd, int flags_too,
    const unsigned char *msg, size_t len, const char **why);

/* The FLAGS list of a message, "(\Seen kw)", appended to out. */
void imap_flags_list(struct ibuf *out, uint32_t flags, const struct sc_view *v,
    uint32_t kwoff, uint32_t nkw);

/* An internal date as RFC 3501 date-time, "05-Dec-2026 05:49:47 +0000"
 * (without quotes) into out[32]. */
void imap_date_time(uint64_t t, char out[32]);

#endif
