/* TLS record I/O for struct conn: not yet built; conn->tls is always NULL. */
#include <errno.h>

#include "tlsio.h"

ssize_t
tlsio_read(struct conn *c, void *p, size_t n)
{
	errno = ENOTSUP;
	return -1;
}

ssize_t
tlsio_write(struct conn *c, const void *p, size_t n)
{
	errno = ENOTSUP;
	return -1;
}

int
tlsio_pending(struct conn *c)
{
	return 0;
}
