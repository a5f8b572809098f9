/*
 * The SMTP DATA reader (see smtp_data.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../privsep/util.h"
#include "conn.h"
#include "smtp_data.h"

enum {
	S_BOL = 0,   /* at the start of a line (after CR LF, or the DATA line) */
	S_DOT,       /* a line that began with "." */
	S_DOT_CR,    /* "." CR at the start of a line */
	S_TEXT,      /* inside a line */
	S_CR,        /* a CR inside a line, LF expected */
};

void
smtp_data_init(struct smtp_data *d, int fd, uint64_t max_size, uint32_t max_line)
{
	memset(d, 0, offsetof(struct smtp_data, buf));
	d->fd = fd;
	d->max_size = max_size;
	d->max_line = max_line;
	d->state = S_BOL;
}

int
smtp_data_flush(struct smtp_data *d)
{
	if (d->buflen == 0)
		return 0;
	if (d->fd >= 0 && d->flags == 0 &&
	    write_all(d->fd, d->buf, d->buflen) < 0)
		d->flags |= DATA_IOERR;
	d->buflen = 0;
	return (d->flags & DATA_IOERR) ? -1 : 0;
}

/* One octet of message.  Counted always, stored while nothing is wrong. */
static void
emit(struct smtp_data *d, unsigned char c)
{
	d->size++;
	if (d->max_size != 0 && d->size > d->max_size)
		d->flags |= DATA_TOOBIG;
	if (d->flags != 0 || d->fd < 0)
		return;
	d->buf[d->buflen++] = c;
	if (d->buflen == sizeof(d->buf))
		(void)smtp_data_flush(d);
}

static void
bare(struct smtp_data *d)
{
	d->flags |= DATA_BARE;
}

/*
 * A run of k octets inside a line, none of them CR or LF: what k calls of
 * the octet-at-a-time machine would do (counters, flags, stored octets),
 * with one copy.  An octet is stored only while no flag is set, and the
 * flag that stops storing is set by the first octet over a limit, so the
 * stored prefix is the one before that octet.
 */
static void
text_run(struct smtp_data *d, const unsigned char *p, size_t k)
{
	size_t store = k;

	d->raw += k;
	if (d->max_line != 0) {
		uint64_t room = d->linelen >= d->max_line ? 0 :
		    (uint64_t)d->max_line - d->linelen;

		if (room < store)
			store = (size_t)room;
	}
	d->linelen = (uint64_t)d->linelen + k > UINT32_MAX ? UINT32_MAX :
	    d->linelen + (uint32_t)k;
	if (d->max_size != 0) {
		uint64_t room = d->size >= d->max_size ? 0 : d->max_size - d->size;

		if (room < store)
			store = (size_t)room;
	}
	if (d->flags == 0 && d->fd >= 0) {
		while (store > 0) {
			size_t n = sizeof(d->buf) - d->buflen;

			if (n > store)
				n = store;
			memcpy(d->buf + d->buflen, p, n);
			d->buflen += n;
			p += n;
			store -= n;
			if (d->buflen == sizeof(d->buf) &&
			    smtp_data_flush(d) == -1)
				break;
		}
	}
	d->size += k;
	if (d->max_line != 0 && d->linelen > d->max_line)
		d->flags |= DATA_TOOLONG;
	if (d->max_size != 0 && d->size > d->max_size)
		d->flags |= DATA_TOOBIG;
}

/* Octets before the first CR or LF in p[0..n). */
static size_t
text_len(const unsigned char *p, size_t n)
{
	const unsigned char *lf = memchr(p, '\n', n);
	const unsigned char *cr;
	size_t k = lf ? (size_t)(lf - p) : n;

	cr = memchr(p, '\r', k);
	return cr ? (size_t)(cr - p) : k;
}

size_t
smtp_data_feed(struct smtp_data *d, const unsigned char *p, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n && !d->done; i++) {
		c = p[i];
		/*
		 * Inside a line (or at the start of one that does not begin
		 * with "."; or after a leading dot, which is dropped), every
		 * octet up to the next CR or LF is plain text: one run.
		 */
		if (d->state == S_TEXT || d->state == S_DOT ||
		    (d->state == S_BOL && c != '.')) {
			size_t k = text_len(p + i, n - i);

			if (k > 0) {
				text_run(d, p + i, k);
				d->state = S_TEXT;
				i += k - 1;
				continue;
			}
		}
		d->raw++;
		if (d->linelen < UINT32_MAX)
			d->linelen++;
		if (d->max_line != 0 && d->linelen > d->max_line)
			d->flags |= DATA_TOOLONG;
		switch (d->state) {
		case S_BOL:
			if (c == '.') {
				d->state = S_DOT;
				continue;
			}
			break;
		case S_DOT:
			if (c == '\r') {
				d->state = S_DOT_CR;
				continue;
			}
			break;   /* dot-stuffed line: the dot is dropped */
		case S_DOT_CR:
			if (c == '\n') {
				d->done = true;
				(void)smtp_data_flush(d);
				return i + 1;
			}
			bare(d);            /* "." CR x */
			break;
		case S_CR:
			if (c == '\n') {
				emit(d, '\r');
				emit(d, '\n');
				d->linelen = 0;
				d->state = S_BOL;
				continue;
			}
			bare(d);            /* CR x */
			emit(d, '\r');
			break;
		default:
			break;
		}
		/* an octet inside a line */
		if (c == '\r') {
			d->state = S_CR;
		} else if (c == '\n') {
			/* a bare LF: the message is refused, and this is not a
			 * line end that a terminator may follow */
			bare(d);
			emit(d, '\n');
			d->linelen = 0;
			d->state = S_TEXT;
		} else {
			emit(d, c);
			d->state = S_TEXT;
		}
	}
	return i;
}

int
smtp_data_read(struct conn *c, struct smtp_data *d, int timeout_ms)
{
	size_t used;
	int r;

	while (!d->done) {
		if (c->inpos < c->inlen) {
			used = smtp_data_feed(d, c->in + c->inpos, c->inlen - c->inpos);
			c->inpos += used;
			continue;
		}
		if (d->deadline != 0) {
			uint64_t now = now_ms();

			if (now >= d->deadline)
				return CONN_TIMEOUT;
			if (d->deadline - now < (uint64_t)timeout_ms)
				timeout_ms = (int)(d->deadline - now);
		}
		if (conn_flush(c, timeout_ms) < 0)
			return CONN_ERROR;
		if ((r = conn_fill(c, timeout_ms)) != CONN_OK)
			return r;
	}
	(void)smtp_data_flush(d);
	return CONN_OK;
}

int
smtp_data_memfd(void)
{
	return memfd_new("postern-msg");
}

int
smtp_data_seal(int fd)
{
	if (memfd_seal(fd) < 0)
		return -1;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	return 0;
}
