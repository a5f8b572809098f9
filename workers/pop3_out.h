/*
 * Sending a message to a POP3 client (RFC 1939 3): the store hands the
 * message over as a sealed memfd with LF line ends; on the wire every line
 * ends in CRLF, a line starting with '.' gets one more '.', and a line
 * holding only ".\r\n" ends the answer.  The message is streamed in small
 * chunks, so a 20 MB message needs a few KB of worker memory.
 */
#ifndef POSTERN_POP3_OUT_H
#define POSTERN_POP3_OUT_H

#include <stddef.h>
#include <stdint.h>
#include "../privsep/params.h"
#include "conn.h"

/* Input bytes converted per step; the output of one step is at most
 * 2 * P3_OUT_CHUNK_BYTES + 2 (every byte a '\n' or a line-leading '.'). */

struct dotstuff {
	int bol;              /* the next byte starts a line */
	uint64_t wire;        /* octets produced before dot-stuffing (CRLF counted) */
};

void dotstuff_init(struct dotstuff *d);

/*
 * Converts in[0..n) (n <= P3_OUT_CHUNK_BYTES) into out[], which must hold
 * 2 * n bytes; returns the number of bytes written.
 */
size_t dotstuff_chunk(struct dotstuff *d, const unsigned char *in, size_t n,
    unsigned char *out);

/*
 * Ends the answer: a CRLF when the message did not end with a line end
 * (not counted in d->wire), then ".\r\n".  out[] must hold 5 bytes.
 */
size_t dotstuff_end(struct dotstuff *d, unsigned char *out);

/*
 * The octets RETR sends for the len bytes of fd at off (before
 * dot-stuffing): len plus one CR per LF.  Reads fd with pread in chunks.
 * 0 ok, -1 read error.
 */
int pop3_wire_octets(int fd, uint64_t off, uint64_t len, uint64_t *wire);

/* pop3_send_message() result when the message fd could not be read */
#define P3_OUT_READERR  (-100)

/*
 * Streams the len bytes of fd at off (read with pread) to the client,
 * CRLF-converted and dot-stuffed, with the terminating ".".  Waits at most
 * timeout_ms for the client each time the output buffer is flushed.
 * Returns 0 when all was queued (the caller flushes), a negative CONN_*
 * code when the client failed, or P3_OUT_READERR when fd could not be read
 * (the answer is cut short: the session must end).
 */
int pop3_send_message(struct conn *c, int fd, uint64_t off, uint64_t len,
    int timeout_ms);

#endif
