/*
 * TLS record I/O for struct conn (conn.c): SSL_read / SSL_write on the
 * non-blocking client socket.  When OpenSSL needs the socket, these return
 * -1 with errno EAGAIN and conn.c polls and calls again; a closed or broken
 * connection is 0 (EOF) or -1 with an errno conn.c treats as fatal.
 */
#include <errno.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tlsio.h"

/* Maps a failed SSL_read/SSL_write to the read(2)/write(2) convention. */
static ssize_t
tlsio_fail(SSL *ssl, int r, int reading)
{
	int e = SSL_get_error(ssl, r), saved = errno;

	ERR_clear_error();
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		if (reading)
			return 0;      /* close_notify: end of input */
		errno = EPIPE;
		return -1;
	case SSL_ERROR_SYSCALL:
		/* an EOF without close_notify ends the input too; never let
		 * a retryable errno leak out of a dead connection */
		if (reading && saved == 0)
			return 0;
		errno = (saved == 0 || saved == EAGAIN || saved == EINTR ||
		    saved == EWOULDBLOCK) ? ECONNRESET : saved;
		return -1;
	default:
		errno = EPROTO;
		return -1;
	}
}

ssize_t
tlsio_read(struct conn *c, void *p, size_t n)
{
	size_t got = 0;
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_read_ex(c->tls, p, n, &got);
	if (r == 1)
		return (ssize_t)got;
	return tlsio_fail(c->tls, r, 1);
}

ssize_t
tlsio_write(struct conn *c, const void *p, size_t n)
{
	size_t put = 0;
	int r;

	if (n == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	r = SSL_write_ex(c->tls, p, n, &put);
	if (r == 1)
		return (ssize_t)put;
	return tlsio_fail(c->tls, r, 0);
}

int
tlsio_pending(struct conn *c)
{
	return c->tls != NULL && SSL_pending(c->tls) > 0;
}
