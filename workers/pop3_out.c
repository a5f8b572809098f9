/*
 * Streaming a message to a POP3 client: LF -> CRLF, dot-stuffing, the
 * terminating "." line (RFC 1939 3).  See pop3_out.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/util.h"
#include "pop3_out.h"

void
dotstuff_init(struct dotstuff *d)
{
	d->bol = 1;
	d->wire = 0;
}

size_t
dotstuff_chunk(struct dotstuff *d, const unsigned char *in, size_t n,
    unsigned char *out)
{
	size_t i = 0, o = 0;

	/* a line at a time: memchr and memcpy, not a test per byte */
	while (i < n) {
		const unsigned char *lf;
		size_t run;

		if (d->bol && in[i] == '.')
			out[o++] = '.';
		lf = memchr(in + i, '\n', n - i);
		run = lf != NULL ? (size_t)(lf - (in + i)) : n - i;
		memcpy(out + o, in + i, run);
		o += run;
		i += run;
		d->wire += run;
		if (lf != NULL) {
			out[o++] = '\r';
			out[o++] = '\n';
			d->wire += 2;
			d->bol = 1;
			i++;
		} else
			d->bol = 0;    /* run > 0: the chunk ends inside a line */
	}
	return o;
}

size_t
dotstuff_end(struct dotstuff *d, unsigned char *out)
{
	size_t o = 0;

	if (!d->bol) {
		out[o++] = '\r';
		out[o++] = '\n';
		d->bol = 1;
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}

/* pread the whole of buf[0..n) at off; -1 on error or short file. */
static int
pread_exact(int fd, unsigned char *buf, size_t n, uint64_t off)
{
	return pread_full(fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

int
pop3_wire_octets(int fd, uint64_t base, uint64_t len, uint64_t *wire)
{
	unsigned char buf[P3_OUT_CHUNK_BYTES];
	uint64_t off = 0, w = 0;

	if (base > UINT64_MAX - len)
		return -1;
	while (off < len) {
		size_t n = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);

		if (pread_exact(fd, buf, n, base + off) < 0)
			return -1;
		w += n;
		for (const unsigned char *p = buf, *end = buf + n;
		    (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
			w++;
		off += n;
	}
	*wire = w;
	return 0;
}

/* Queues out[0..n) without letting conn_write pick its own timeout. */
static int
queue(struct conn *c, const unsigned char *p, size_t n, int timeout_ms)
{
	int r;

	if (c->outlen + n > CONN_OUTBUF_BYTES && (r = conn_flush(c, timeout_ms)) != CONN_OK)
		return r;
	return conn_write(c, p, n) == CONN_OK ? 0 : CONN_ERROR;
}

int
pop3_send_message(struct conn *c, int fd, uint64_t base, uint64_t len,
    int timeout_ms)
{
	unsigned char in[P3_OUT_CHUNK_BYTES], out[2 * P3_OUT_CHUNK_BYTES + 8];
	struct dotstuff d;
	uint64_t off = 0;
	size_t n;
	int r;

	if (base > UINT64_MAX - len)
		return P3_OUT_READERR;
	dotstuff_init(&d);
	while (off < len) {
		n = len - off < sizeof(in) ? (size_t)(len - off) : sizeof(in);
		if (pread_exact(fd, in, n, base + off) < 0)
			return P3_OUT_READERR;
		off += n;
		n = dotstuff_chunk(&d, in, n, out);
		if ((r = queue(c, out, n, timeout_ms)) != 0)
			return r;
	}
	n = dotstuff_end(&d, out);
	return queue(c, out, n, timeout_ms);
}
