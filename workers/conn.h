/*
 * A client connection as the SMTP and POP3 sessions see it: buffered line
 * input with a hard cap per line, buffered output, deadlines from poll()
 * (never alarm()), and the master's shutdown request noticed while waiting.
 * TLS plugs in underneath (conn->tls) without the sessions changing.
 */
#ifndef POSTERN_CONN_H
#define POSTERN_CONN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "../privsep/params.h"

/* conn_getline() flags describing how the line ended */
#define LINE_CRLF     0x01   /* ended in CR LF */
#define LINE_LF       0x02   /* ended in a bare LF */
#define LINE_BARE_CR  0x04   /* a CR not followed by LF inside the line */
#define LINE_NUL      0x08   /* a NUL byte inside the line */

struct conn {
	int fd;
	int ctl_fd;              /* the master's control channel, or -1 */
	void *tls;               /* SSL * once TLS is up, else NULL */
	unsigned char in[CONN_INBUF_BYTES];
	size_t inlen;            /* bytes in in[] */
	size_t inpos;            /* first unconsumed byte */
	unsigned char out[CONN_OUTBUF_BYTES];
	size_t outlen;
	uint64_t shutdown_at;    /* monotonic ms; 0 = no shutdown requested */
	int discarding;          /* inside an over-long line, dropping bytes */
	/* the first and the last bytes of the last over-long line (IMAP
	 * reads its tag and a trailing literal announcement from them) */
	unsigned char ol_head[CONN_OVERLONG_KEEP], ol_tail[CONN_OVERLONG_KEEP];
	size_t ol_headlen, ol_taillen;
	int eof;                 /* the client closed */
	int error;               /* a read or write failed; the session is over */
	uint64_t bytes_in, bytes_out;
};

/* Result codes of conn_fill() and conn_getline() */
#define CONN_OK        1
#define CONN_AGAIN     0     /* getline: no complete line buffered */
#define CONN_EOF      -1
#define CONN_TIMEOUT  -2
#define CONN_SHUTDOWN -3     /* the master asked us to finish */
#define CONN_ERROR    -4
#define CONN_TOOLONG  -5     /* getline: line longer than max; discarded */

void conn_init(struct conn *c, int fd, int ctl_fd);

/* Read what is available, waiting at most timeout_ms.  CONN_OK when bytes
 * arrived, else one of the negative codes. */
int conn_fill(struct conn *c, int timeout_ms);

/*
 * Takes one line from the buffer into line[] (without its ending, NUL
 * terminated; *len is its length, which may include NUL bytes when LINE_NUL
 * is set).  max counts the ending too.  A line longer than max is consumed
 * up to and including its LF (reading more as needed, without storing it)
 * and CONN_TOOLONG is returned.  CONN_AGAIN when no full line is buffered
 * and the buffer still has room.
 */
int conn_getline(struct conn *c, char *line, size_t max, size_t *len, int *flags);

/* Reads a whole line, filling as needed: CONN_OK, CONN_TOOLONG or a
 * negative conn_fill() code. */
int conn_readline(struct conn *c, char *line, size_t max, size_t *len,
    int *flags, int timeout_ms);

/*
 * Reads exactly n raw bytes (an IMAP literal) into buf, or throws them
 * away when buf is NULL; timeout_ms bounds the whole.  CONN_OK, or a
 * negative conn_fill() code.
 */
int conn_readbytes(struct conn *c, void *buf, size_t n, int timeout_ms);
/* Bytes received and not yet consumed (pipelined input). */
size_t conn_pending(const struct conn *c);
/* Throws away everything buffered (STARTTLS/STLS injection defence). */
void conn_discard_input(struct conn *c);

/* Buffered output; flushed by conn_flush() or when full. */
int conn_write(struct conn *c, const void *p, size_t n);
int conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int conn_flush(struct conn *c, int timeout_ms);

/*
 * Waits ms milliseconds (a login's failure delay) after flushing the
 * output, watching the master's control channel: false when the shutdown
 * deadline came first.
 */
int conn_pause(struct conn *c, uint32_t ms, int flush_timeout_ms);
/*
 * A protocol's response line: formatted (at most CONN_LINE_BYTES, cut
 * beyond), CRLF added, queued; the buffer is flushed first (within
 * flush_timeout_ms) when the line would not fit.  Failures stick in
 * c->error.  conn_queue() does the same for raw bytes.
 */
void conn_vline(struct conn *c, int flush_timeout_ms, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void conn_queue(struct conn *c, int flush_timeout_ms, const void *p, size_t n);
/* Called by conn_fill when the control fd is readable; set by worker.c. */
extern void (*conn_control_hook)(struct conn *c);

#endif
