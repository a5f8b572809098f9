/*
 * IMAP SEARCH (RFC 3501 6.4.4): a parsed SEARCH command compiled once into
 * a program, then matched against each message of the view.  No I/O: the
 * unit test and the fuzz target drive it directly.
 *
 * Keys: every key of RFC 3501 (ALL ANSWERED BCC BEFORE BODY CC DELETED
 * DRAFT FLAGGED FROM HEADER KEYWORD LARGER NEW NOT OLD ON OR RECENT SEEN
 * SENTBEFORE SENTON SENTSINCE SINCE SMALLER SUBJECT TEXT TO UID UNANSWERED
 * UNDELETED UNDRAFT UNFLAGGED UNKEYWORD UNSEEN, sequence sets,
 * parenthesised lists).  CHARSET: absent, US-ASCII or UTF-8.
 *
 * Semantics:
 *  - string keys are substring matches, case-insensitive by simple Unicode
 *    case folding of ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic
 *    (one code point to one; no normalisation).  A key whose string is
 *    empty matches every message that has the field (HEADER, FROM, ...),
 *    or every message (BODY, TEXT);
 *  - header keys (FROM TO CC BCC SUBJECT HEADER) look at the message's own
 *    header fields, each field on its own: unfolded, RFC 2047 encoded words
 *    decoded (whitespace between adjacent words dropped);
 *  - BODY looks at every text part (text/..., or what the MIME layer shows
 *    as text/plain) decoded from quoted-printable or base64, and at the
 *    header fields of attached messages (message/rfc822); other parts
 *    (images, applications) and multipart preambles are not searched.
 *    TEXT is the message's header fields ("Name: value", decoded) and BODY;
 *  - charsets converted to Unicode: UTF-8 and US-ASCII, ISO-8859-1 and
 *    ISO-8859-15 and Windows-1252 (all three as Windows-1252); any other
 *    charset, and 8-bit bytes that are not UTF-8, match byte for byte only
 *    the same bytes in the key;
 *  - BEFORE ON SINCE compare the day of the internal date in UTC; SENT*
 *    the day written in the Date: header (time and zone disregarded); a
 *    missing or unparseable Date: matches none of them;
 *  - NEW is RECENT UNSEEN, OLD is NOT RECENT; KEYWORD of a keyword no
 *    message has matches nothing (keywords compare case-insensitively);
 *  - "*" in a sequence set is the message count n, in a UID set the UID
 *    of message n; "x:*" with x past it means the last message.
 *
 * Bounds: NOT / OR / lists nest to IMAP_SEARCH_NEST_MAX_COUNT, string keys
 * per search to IMAP_SEARCH_STRKEYS_MAX_COUNT; each string key reads the
 * message's bytes once, by a Knuth-Morris-Pratt automaton over code points
 * (no backtracking), so one match costs time linear in the message size
 * times the string keys.  The MIME layer bounds headers, parts, nesting.
 */
#ifndef POSTERN_IMAP_SEARCH_H
#define POSTERN_IMAP_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"
#include "storecli.h"

struct imap_search;

/*
 * Compiles the keys of a parsed SEARCH command (c->a.charset, the keys
 * from c->a.search_key on; c is not referred to afterwards).  0 with *out,
 * or -1 with *why and *code:
 *   - *code NULL: the keys are malformed: the session answers BAD why;
 *   - *code set: the session answers NO [code] why: "BADCHARSET (US-ASCII
 *     UTF-8)" for another charset, "LIMIT" for a search past the bounds.
 */
int imap_search_compile(const struct imap_cmd *c, struct imap_search **out,
    const char **code, const char **why);

/* What of the messages evaluation needs: 0 (the view suffices),
 * FETCH_HEADER or FETCH_WHOLE (enum fetch_what of privsep/msg.h). */
uint32_t imap_search_needs(const struct imap_search *s);

/*
 * Does message m, number seq of the n messages the client knows of view v
 * (v->m[0..n)), match?  1 or 0.
 * msg[0..len) are the bytes imap_search_needs() asked for, LF or CRLF line
 * ends.  msg may be NULL when it asked for some: then the answer is 1 or 0
 * if the view decides it ("UNSEEN BODY x" of a seen message is 0,
 * "OR SEEN BODY x" of a seen one 1), or -1 when the bytes are needed:
 * fetch them and ask again.  The cheap keys of a list or an OR are looked at first.
 */
int imap_search_match(const struct imap_search *s, uint32_t seq, uint32_t n,
    const struct sc_vmsg *m, const struct sc_view *v,
    const unsigned char *msg, size_t len);

void imap_search_free(struct imap_search *s);

#endif
