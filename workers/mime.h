/*
 * The IMAP worker's MIME layer (DESIGN.md: MIME parsing runs in the jailed
 * IMAP worker, over sealed copies; the store never parses MIME).
 *
 * Input: one message as bytes in memory, CRLF line ends (bare LF is
 * tolerated everywhere), possibly huge or hostile.  mime_parse() builds a
 * tree of parts as offsets into those bytes (no copies); the functions
 * below write IMAP's views of it:
 *   - mime_envelope()       ENVELOPE (RFC 3501 7.4.2)
 *   - mime_bodystructure()  BODY and BODYSTRUCTURE (RFC 3501 7.4.2)
 *   - mime_section_parse() + mime_section_get()  BODY[section] (6.4.5)
 *   - mime_hdr_next()       every header field of a part (SEARCH HEADER)
 *
 * Bounds (privsep/params.h): header lines and bytes per part, nesting
 * depth, parts per message, addresses per field, output size.  Nothing in
 * the message makes parsing fail, take more than linear time (a constant
 * times MIME_NEST_MAX_COUNT per byte at worst) or lose bytes: past a bound
 * or in broken MIME the message is served as the bytes it is —
 *   - a header past its bounds ends there; the rest is body;
 *   - a multipart without a usable boundary parameter, or a container
 *     nested deeper than MIME_NEST_MAX_COUNT, is shown as text/plain;
 *   - a multipart whose boundary never occurs gets one empty text/plain
 *     part in BODYSTRUCTURE, as Dovecot does;
 *   - a missing close delimiter ends the last part at the end of its
 *     parent; parts past MIME_PARTS_MAX_COUNT stay inside their parent's
 *     bytes, unlisted.
 *
 * Sizes and line counts are those of the bytes as sent with CRLF line ends
 * (a bare LF counts two octets, as Dovecot's "virtual size"): the FETCH
 * layer sends a range with ib_add_crlf() semantics, or as is when the
 * store's copy has CRLF already (then both agree).
 *
 * Policy (as Dovecot): RFC 2047 encoded words pass through as they are;
 * RFC 2231 continuations (name*0, name*1*, ...) are joined into one
 * "name" or "name*" parameter, the extended value left encoded, after
 * the plain parameters (at most MIME_RFC2231_SEGMENTS_MAX_COUNT segments;
 * a name with a missing index keeps its segments as written);
 * a mailbox without a domain gets host "MISSING_DOMAIN" (NIL would mean a
 * group); an address without a display name takes its comment as the name;
 * a text part without a charset parameter gets ("charset" "us-ascii").
 */
#ifndef POSTERN_MIME_H
#define POSTERN_MIME_H

#include <stddef.h>
#include <stdint.h>
#include "../privsep/params.h"
#include "imap_str.h"

/* Header fields the parser records (the first occurrence of each). */
enum mime_field {
	MF_DATE, MF_SUBJECT, MF_FROM, MF_SENDER, MF_REPLY_TO, MF_TO, MF_CC,
	MF_BCC, MF_IN_REPLY_TO, MF_MESSAGE_ID,
	MF_CONTENT_TYPE, MF_CONTENT_TRANSFER_ENCODING, MF_CONTENT_ID,
	MF_CONTENT_DESCRIPTION, MF_CONTENT_DISPOSITION, MF_CONTENT_LANGUAGE,
	MF_CONTENT_LOCATION, MF_CONTENT_MD5,
	MF_COUNT
};

/* Bytes buf[off..off+len) of the message. */
struct mime_span {
	size_t off;
	size_t len;
};

/* struct mime_part flags */
#define MP_MULTIPART    0x01  /* children are its parts (maybe none: MP_EMPTY) */
#define MP_MESSAGE      0x02  /* message/rfc822: its one child is the message */
#define MP_TEXT         0x04  /* type text (BODYSTRUCTURE gives its lines) */
#define MP_PLAIN        0x08  /* shown as text/plain whatever it says */
#define MP_EMPTY        0x10  /* a multipart in which no boundary occurs */
#define MP_HDR_CUT      0x20  /* its header passed a bound and was cut */
#define MP_NOHDR_END    0x40  /* its header has no blank line after it */

/* No part: the value of parent/child/next at the ends of the tree. */
#define MIME_NONE       ((uint32_t)-1)

struct mime_part {
	size_t off;             /* first byte of the part: its header */
	size_t hdr_len;         /* header bytes, the blank line included */
	size_t body_off;        /* off + hdr_len */
	size_t body_len;
	uint64_t hdr_octets;    /* sizes as sent with CRLF (see above) */
	uint64_t body_octets;
	uint64_t body_lines;    /* LFs in the body */
	uint32_t hdr_lines;     /* lines of the header, the blank one included */
	uint32_t flags;         /* MP_* */
	uint32_t depth;         /* 0: the message */
	uint32_t parent, child, next;   /* indices in mime_msg.part[], MIME_NONE */
	uint32_t nchildren;
	/* Content-Type's type and subtype as written; len 0: the default */
	struct mime_span type, subtype;
	/* raw (folded) value of the first occurrence of each field: after the
	 * colon to the end of its last line, line end excluded */
	struct mime_span field[MF_COUNT];
	uint32_t have;          /* bit (1 << MF_x): field[MF_x] is present */
};

/* struct mime_msg flags: which bound was met (for logs and tests) */
#define MM_PARTS_CAPPED 0x01  /* MIME_PARTS_MAX_COUNT reached */
#define MM_DEPTH_CAPPED 0x02  /* a container deeper than MIME_NEST_MAX_COUNT */
#define MM_HDR_CAPPED   0x04  /* some header passed its line or byte bound */

struct mime_msg {
	const unsigned char *buf;   /* the caller's bytes; must outlive the msg */
	size_t len;
	struct mime_part *part;     /* part[0] is the message */
	uint32_t nparts;
	uint32_t cap;
	uint32_t flags;             /* MM_* */
};

/* Parses buf[0..len) (kept by reference).  Never fails. */
void mime_parse(struct mime_msg *m, const void *buf, size_t len);
void mime_free(struct mime_msg *m);

/*
 * ENVELOPE of the message whose root is part index `msg` (0, or the child
 * of an MP_MESSAGE part), appended to out: "(date subject from sender
 * reply-to to cc bcc in-reply-to message-id)".  0, or -1 when out passed
 * its max (*why set).
 */
int mime_envelope(const struct mime_msg *m, uint32_t msg, struct ibuf *out,
    const char **why);

/*
 * BODYSTRUCTURE (ext 1) or BODY (ext 0) of part index `part`, appended to
 * out with its parentheses: "(\"text\" \"plain\" ...)".  0 / -1 as above.
 */
int mime_bodystructure(const struct mime_msg *m, uint32_t part, int ext,
    struct ibuf *out, const char **why);

/* A parsed section spec: the text inside BODY[...] (RFC 3501 6.4.5). */
enum mime_sec_text {
	MS_NONE,            /* "" or only part numbers: the part's body / all */
	MS_HEADER,
	MS_FIELDS,          /* HEADER.FIELDS (list) */
	MS_FIELDS_NOT,      /* HEADER.FIELDS.NOT (list) */
	MS_MIME,            /* only after part numbers */
	MS_TEXT
};

struct mime_section {
	const char *spec;       /* the string parsed, kept by reference */
	uint32_t part[MIME_SECTION_PARTS_MAX_COUNT];
	uint32_t nparts;
	enum mime_sec_text text;
	/* HEADER.FIELDS names: spans of the spec string given to
	 * mime_section_parse(), which must outlive this */
	struct mime_span field[MIME_SECTION_FIELDS_MAX_COUNT];
	uint32_t nfields;
};

/*
 * Parses spec[0..n), the bytes between "[" and "]": "", "1.2.3",
 * "HEADER", "1.TEXT", "2.HEADER.FIELDS (From \"To\")", "3.MIME" ...
 * Part numbers are nz-number (1..4294967295, no leading zero); field
 * names are atoms or quoted strings without backslashes (not literals;
 * the command parser passes their bytes), at least one.  Keywords are
 * case-insensitive.  0, or -1 with *why (the caller answers BAD).
 */
int mime_section_parse(const char *spec, size_t n, struct mime_section *s,
    const char **why);

/* Where a section's bytes are. */
struct mime_range {
	int synth;          /* 0: m->buf[off..off+len)   1: out->p[off..off+len) */
	int missing;        /* no such part: an empty string (len 0) */
	size_t off;
	size_t len;
	uint64_t octets;    /* the size as sent (CRLF), for RFC822.SIZE-like use */
};

/*
 * The bytes of section s of message m (the spec string of s must still be
 * alive).  HEADER.FIELDS[.NOT] are synthesized into out (appended): the
 * chosen fields' lines as they are (bare LF made CRLF) and a final CRLF;
 * every other section is a range of the message.  A part that does not
 * exist, or HEADER/TEXT of a part that is not message/rfc822, gives an
 * empty range with missing set (RFC 3501: an empty string).  0, or -1
 * when out passed its max (*why set).
 */
int mime_section_get(const struct mime_msg *m, const struct mime_section *s,
    struct ibuf *out, struct mime_range *r, const char **why);

/* Iterating a part's header fields (for SEARCH HEADER, FROM, ...). */
struct mime_hdr_iter {
	size_t pos, end;
};
struct mime_hdr_field {
	struct mime_span name;      /* without the colon and trailing blanks */
	struct mime_span value;     /* raw, folded, as in struct mime_part */
	struct mime_span whole;     /* the field's lines, final line end included */
};
void mime_hdr_iter_init(const struct mime_msg *m, uint32_t part,
    struct mime_hdr_iter *it);
/* 1 and *f filled, or 0 at the end.  Lines without a colon are skipped. */
int mime_hdr_next(const struct mime_msg *m, struct mime_hdr_iter *it,
    struct mime_hdr_field *f);

/* A field value unfolded (CR, LF and NUL removed) and trimmed of blanks,
 * appended to out: what SEARCH compares and ENVELOPE shows. */
void mime_unfold(const struct mime_msg *m, struct mime_span v, struct ibuf *out);

#endif
