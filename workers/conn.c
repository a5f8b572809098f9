/*
 * Client connection I/O for the sessions: see conn.h.  Every wait is a
 * poll() with a deadline; the master's control channel is watched at the
 * same time so a shutdown request is noticed while a client is silent.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "conn.h"
#include "tlsio.h"

void (*conn_control_hook)(struct conn *c);

void
conn_init(struct conn *c, int fd, int ctl_fd)
{
	c->fd = fd;
	c->ctl_fd = ctl_fd;
	c->tls = NULL;
	c->inlen = c->inpos = 0;
	c->outlen = 0;
	c->discarding = 0;
	c->ol_headlen = c->ol_taillen = 0;
	c->eof = c->error = 0;
	c->bytes_in = c->bytes_out = 0;
	/* shutdown_at is kept: a request that came before this session holds */
}

/* Milliseconds to wait: the smaller of timeout and the shutdown deadline;
 * -1 (CONN_SHUTDOWN) when the deadline has passed. */
static int
wait_budget(struct conn *c, int timeout_ms, int *by_shutdown)
{
	uint64_t now = now_ms();

	*by_shutdown = 0;
	if (c->shutdown_at != 0) {
		if (now >= c->shutdown_at)
			return -1;
		if (c->shutdown_at - now < (uint64_t)timeout_ms) {
			*by_shutdown = 1;
			return (int)(c->shutdown_at - now);
		}
	}
	return timeout_ms;
}

/* Waits until fd is ready for events; CONN_OK or a negative code. */
static int
conn_wait(struct conn *c, short events, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		struct pollfd pfd[2];
		int by_shutdown, budget, n, nfds = 1;
		uint64_t now = now_ms();

		if (now >= deadline)
			return CONN_TIMEOUT;
		budget = wait_budget(c, (int)(deadline - now), &by_shutdown);
		if (budget < 0)
			return CONN_SHUTDOWN;
		pfd[0].fd = c->fd;
		pfd[0].events = events;
		if (c->ctl_fd >= 0 && conn_control_hook != NULL) {
			pfd[1].fd = c->ctl_fd;
			pfd[1].events = POLLIN;
			nfds = 2;
		}
		n = poll(pfd, (nfds_t)nfds, budget);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return CONN_ERROR;
		}
		if (n == 0) {
			if (by_shutdown)
				return CONN_SHUTDOWN;
			continue;   /* the loop checks the deadline */
		}
		if (nfds == 2 && pfd[1].revents)
			conn_control_hook(c);
		if (pfd[0].revents)
			return CONN_OK;
	}
}

int
conn_fill(struct conn *c, int timeout_ms)
{
	ssize_t n;
	int r;

	if (c->error)
		return CONN_ERROR;
	if (c->eof)
		return CONN_EOF;
	if (c->inpos > 0 && c->inpos == c->inlen)
		c->inpos = c->inlen = 0;
	if (c->inlen == sizeof(c->in)) {
		if (c->inpos == 0)
			return CONN_OK;   /* full: the caller consumes first */
		memmove(c->in, c->in + c->inpos, c->inlen - c->inpos);
		c->inlen -= c->inpos;
		c->inpos = 0;
	}
	for (;;) {
		if (!(c->tls != NULL && tlsio_pending(c))) {
			r = conn_wait(c, POLLIN, timeout_ms);
			if (r != CONN_OK)
				return r;
		}
		if (c->tls != NULL)
			n = tlsio_read(c, c->in + c->inlen, sizeof(c->in) - c->inlen);
		else
			n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (n > 0)
			break;
		if (n == 0) {
			c->eof = 1;
			return CONN_EOF;
		}
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			continue;
		c->error = 1;
		return CONN_ERROR;
	}
	c->inlen += (size_t)n;
	c->bytes_in += (uint64_t)n;
	return CONN_OK;
}

/* The first bytes of an over-long line, and (keep_tail, called with each
 * piece dropped) its last ones. */
static void
keep_head(struct conn *c, const unsigned char *p, size_t n)
{
	c->ol_headlen = n < sizeof(c->ol_head) ? n : sizeof(c->ol_head);
	memcpy(c->ol_head, p, c->ol_headlen);
	c->ol_taillen = 0;
}

static void
keep_tail(struct conn *c, const unsigned char *p, size_t n)
{
	const size_t cap = sizeof(c->ol_tail);

	if (n >= cap) {
		memcpy(c->ol_tail, p + n - cap, cap);
		c->ol_taillen = cap;
		return;
	}
	if (c->ol_taillen + n > cap) {
		size_t keep = cap - n;

		memmove(c->ol_tail, c->ol_tail + c->ol_taillen - keep, keep);
		c->ol_taillen = keep;
	}
	memcpy(c->ol_tail + c->ol_taillen, p, n);
	c->ol_taillen += n;
}

int
conn_readbytes(struct conn *c, void *buf, size_t n, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	unsigned char *out = buf;

	while (n > 0) {
		size_t avail = c->inlen - c->inpos, take;
		uint64_t now;
		int r;

		if (avail > 0) {
			take = avail < n ? avail : n;
			if (out != NULL) {
				memcpy(out, c->in + c->inpos, take);
				out += take;
			}
			c->inpos += take;
			n -= take;
			if (c->inpos == c->inlen)
				c->inpos = c->inlen = 0;
			continue;
		}
		now = now_ms();
		if (now >= deadline)
			return CONN_TIMEOUT;
		c->inpos = c->inlen = 0;
		r = conn_fill(c, (int)(deadline - now));
		if (r != CONN_OK)
			return r;
	}
	return CONN_OK;
}

int
conn_getline(struct conn *c, char *line, size_t max, size_t *len, int *flags)
{
	unsigned char *start = c->in + c->inpos;
	size_t avail = c->inlen - c->inpos;
	unsigned char *lf = memchr(start, '\n', avail);
	size_t n, body;

	if (c->discarding) {
		if (lf == NULL) {
			keep_tail(c, start, avail);
			c->inpos = c->inlen = 0;
			return CONN_AGAIN;
		}
		keep_tail(c, start, (size_t)(lf - start) + 1);
		c->inpos += (size_t)(lf - start) + 1;
		c->discarding = 0;
		return CONN_TOOLONG;
	}
	if (lf == NULL) {
		if (avail >= max || avail == sizeof(c->in)) {
			/* longer than allowed and still no LF: drop it all */
			keep_head(c, start, avail);
			keep_tail(c, start, avail);
			c->discarding = 1;
			c->inpos = c->inlen = 0;
		} else if (c->inpos > 0 && c->inlen == sizeof(c->in)) {
			memmove(c->in, start, avail);
			c->inpos = 0;
			c->inlen = avail;
		}
		return CONN_AGAIN;
	}
	n = (size_t)(lf - start) + 1;          /* with the LF */
	if (n > max) {
		keep_head(c, start, n);
		keep_tail(c, start, n);
		c->inpos += n;
		return CONN_TOOLONG;
	}
	*flags = 0;
	body = n - 1;
	if (body > 0 && start[body - 1] == '\r') {
		body--;
		*flags |= LINE_CRLF;
	} else
		*flags |= LINE_LF;
	if (memchr(start, '\r', body) != NULL)
		*flags |= LINE_BARE_CR;
	if (memchr(start, '\0', body) != NULL)
		*flags |= LINE_NUL;
	memcpy(line, start, body);
	line[body] = '\0';
	*len = body;
	c->inpos += n;
	return CONN_OK;
}

/*
 * timeout_ms bounds the whole line, not each read: a client that trickles
 * one byte a second must not hold the worker past its timeout.
 */
int
conn_readline(struct conn *c, char *line, size_t max, size_t *len,
    int *flags, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		int r = conn_getline(c, line, max, len, flags);
		uint64_t now;

		if (r != CONN_AGAIN)
			return r;
		now = now_ms();
		if (now >= deadline)
			return CONN_TIMEOUT;
		r = conn_fill(c, (int)(deadline - now));
		if (r != CONN_OK)
			return r;
	}
}

size_t
conn_pending(const struct conn *c)
{
	return c->inlen - c->inpos;
}

void
conn_discard_input(struct conn *c)
{
	c->inpos = c->inlen = 0;
	c->discarding = 0;
}

int
conn_flush(struct conn *c, int timeout_ms)
{
	size_t off = 0;

	if (c->error)
		return CONN_ERROR;
	while (off < c->outlen) {
		ssize_t n;

		if (c->tls != NULL)
			n = tlsio_write(c, c->out + off, c->outlen - off);
		else
			n = write(c->fd, c->out + off, c->outlen - off);
		if (n > 0) {
			off += (size_t)n;
			c->bytes_out += (uint64_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			int r = conn_wait(c, POLLOUT, timeout_ms);
			if (r == CONN_SHUTDOWN) {
				/* still try to say goodbye: give it the budget */
				uint64_t keep = c->shutdown_at;
				c->shutdown_at = 0;
				r = conn_wait(c, POLLOUT, CONN_GOODBYE_MS);
				c->shutdown_at = keep;
			}
			if (r != CONN_OK) {
				c->error = 1;
				return r;
			}
			continue;
		}
		c->error = 1;
		return CONN_ERROR;
	}
	c->outlen = 0;
	return CONN_OK;
}

int
conn_write(struct conn *c, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n > 0) {
		size_t room = sizeof(c->out) - c->outlen;
		size_t k = n < room ? n : room;

		memcpy(c->out + c->outlen, b, k);
		c->outlen += k;
		b += k;
		n -= k;
		if (c->outlen == sizeof(c->out) &&
		    conn_flush(c, CONN_OUTBUF_FULL_MS) != CONN_OK)
			return CONN_ERROR;
	}
	return c->error ? CONN_ERROR : CONN_OK;
}

int
conn_printf(struct conn *c, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return CONN_ERROR;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;   /* replies are short; never happens */
	return conn_write(c, buf, (size_t)n);
}

int
conn_pause(struct conn *c, uint32_t ms, int flush_timeout_ms)
{
	uint64_t end;

	if (ms == 0)
		return c->shutdown_at == 0 || now_ms() < c->shutdown_at;
	(void)conn_flush(c, flush_timeout_ms);
	end = now_ms() + ms;
	for (;;) {
		struct pollfd pfd;
		uint64_t now = now_ms(), until = end;
		int nfds = 0, n;

		if (c->shutdown_at != 0 && c->shutdown_at < until)
			until = c->shutdown_at;
		if (now >= until)
			break;
		if (c->ctl_fd >= 0 && conn_control_hook != NULL) {
			pfd.fd = c->ctl_fd;
			pfd.events = POLLIN;
			nfds = 1;
		}
		pfd.revents = 0;
		n = poll(nfds ? &pfd : NULL, (nfds_t)nfds, (int)(until - now));
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && nfds > 0 && pfd.revents && conn_control_hook != NULL)
			conn_control_hook(c);
	}
	return !(c->shutdown_at != 0 && now_ms() >= c->shutdown_at);
}

void
conn_queue(struct conn *c, int flush_timeout_ms, const void *p, size_t n)
{
	if (c->outlen + n > CONN_OUTBUF_BYTES && conn_flush(c, flush_timeout_ms) != CONN_OK)
		return;
	(void)conn_write(c, p, n);
}

void
conn_vline(struct conn *c, int flush_timeout_ms, const char *fmt, va_list ap)
{
	char buf[CONN_LINE_BYTES];
	int n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);

	if (n < 0)
		fatalx("conn: response format");
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)(sizeof(buf) - 3);
	buf[n++] = '\r';
	buf[n++] = '\n';
	conn_queue(c, flush_timeout_ms, buf, (size_t)n);
}
