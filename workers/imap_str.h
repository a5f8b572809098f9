/*
 * A growable, bounded output buffer and the IMAP string forms written into
 * it (RFC 3501 4.3, 9: quoted, literal, nstring, NIL).  Used by the MIME
 * layer (mime.h) for ENVELOPE, BODYSTRUCTURE and synthesized sections, and
 * meant for the IMAP worker's other responses.
 *
 * A buffer never grows past its max: the write that would pass it sets
 * err and writes nothing more; the caller checks ib_failed() once at the
 * end.  Memory comes from xmalloc (a worker that cannot allocate dies).
 */
#ifndef POSTERN_IMAP_STR_H
#define POSTERN_IMAP_STR_H

#include <stddef.h>
#include <stdint.h>

struct ibuf {
	unsigned char *p;
	size_t len;
	size_t cap;
	size_t max;     /* len never passes this */
	int err;        /* a write was refused: the contents are cut short */
};

void ib_init(struct ibuf *b, size_t max);
void ib_free(struct ibuf *b);
/* Empties the buffer and clears err; keeps the memory. */
void ib_reset(struct ibuf *b);
static inline int ib_failed(const struct ibuf *b) { return b->err; }

void ib_add(struct ibuf *b, const void *p, size_t n);
void ib_addc(struct ibuf *b, int c);
void ib_adds(struct ibuf *b, const char *s);
void ib_addu64(struct ibuf *b, uint64_t v);

/*
 * s[0..n) as an IMAP string: quoted ("..." with \" and \\) when every byte
 * is 7-bit printable or a tab, else a literal {N}CRLF followed by the
 * bytes.  NUL bytes, which no IMAP string may carry, are left out.
 */
void ib_string(struct ibuf *b, const void *s, size_t n);
/* ib_string(), or NIL when s is NULL. */
void ib_nstring(struct ibuf *b, const void *s, size_t n);

/* Bytes copied with every bare LF (one not after a CR) written as CRLF. */
void ib_add_crlf(struct ibuf *b, const void *p, size_t n);

/* The octets ib_add_crlf() would write for p[0..n): n plus the bare LFs. */
uint64_t crlf_octets(const void *p, size_t n);

#endif
