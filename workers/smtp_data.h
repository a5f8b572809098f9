/*
 * The SMTP DATA reader: a byte-level state machine that finds the one and
 * only end of a message, CR LF "." CR LF (RFC 5321 4.1.1.4; the first CR LF
 * may be the one that ended the DATA command), undoes dot-stuffing
 * (4.5.2), and streams the message into a file descriptor (a memfd) through
 * a small buffer: memory use is bounded whatever the client sends.
 *
 * Nothing is lenient here, unlike the command reader: a CR not followed by
 * LF, or an LF not preceded by CR, anywhere in the data marks the message
 * bad (DATA_BARE).  Such a line ending never ends a line for the purpose of
 * finding the terminator, so "\n.\n", "\r\n.\n", "\n.\r\n" and "\r.\r\n"
 * are just data of a message that will be refused: no second message can
 * be smuggled behind them.  Over-long lines (DATA_TOOLONG) and messages
 * over the size limit (DATA_TOOBIG) are read to the end and refused.
 * Once the message is known to be refused, nothing more is written.
 */
#ifndef POSTERN_SMTP_DATA_H
#define POSTERN_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../privsep/params.h"

struct conn;

/* smtp_data.flags: why the message is refused (several may be set) */
#define DATA_BARE     0x01   /* bare CR or bare LF: 554 5.6.0 */
#define DATA_TOOBIG   0x02   /* over max_size: 552 5.3.4 */
#define DATA_TOOLONG  0x04   /* a line over max_line: 500 5.5.2 */
#define DATA_IOERR    0x08   /* writing the spool failed: 451 4.3.0 */

struct smtp_data {
	int fd;                  /* where the message goes, -1 = nowhere */
	uint64_t max_size;       /* octets of message, 0 = no limit */
	uint32_t max_line;       /* octets of a line, CR LF included; 0 = none */
	int state;               /* internal */
	bool done;               /* the terminator was consumed */
	int flags;               /* DATA_* */
	uint64_t size;           /* octets of message accepted (unstuffed) */
	uint64_t raw;            /* octets read from the client */
	uint32_t linelen;        /* octets of the current line so far */
	uint64_t deadline;       /* monotonic ms the whole DATA must end by; 0 = none */
	size_t buflen;
	unsigned char buf[DATA_BUF_BYTES];
};

void smtp_data_init(struct smtp_data *d, int fd, uint64_t max_size,
    uint32_t max_line);

/*
 * Consumes bytes of the DATA stream, stopping right after the terminator
 * (d->done set).  Returns the number of bytes consumed: n unless the
 * terminator was found before the end.  Writes go to d->fd as the buffer
 * fills.
 */
size_t smtp_data_feed(struct smtp_data *d, const unsigned char *p, size_t n);

/* Writes what is still buffered: 0, or -1 (and DATA_IOERR) on failure. */
int smtp_data_flush(struct smtp_data *d);

/*
 * Reads from the connection until the terminator: CONN_OK when it was read
 * (bytes after it stay buffered for the next command), otherwise the
 * negative conn code (CONN_EOF, CONN_TIMEOUT, CONN_SHUTDOWN, CONN_ERROR).
 * timeout_ms bounds each wait for more data.  Output is flushed before
 * every wait.
 */
int smtp_data_read(struct conn *c, struct smtp_data *d, int timeout_ms);

/* A new memfd for a message (MFD_ALLOW_SEALING | MFD_CLOEXEC), or -1. */
int smtp_data_memfd(void);

/* Seals fd against any change (write, shrink, grow, more seals) and
 * rewinds it: 0, or -1 with errno. */
int smtp_data_seal(int fd);

#endif
