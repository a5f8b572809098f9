/*
 * TLS record I/O under struct conn (tlsio.c): the read(2)/write(2)
 * convention over SSL_read/SSL_write, for a connection with conn->tls set.
 */
#ifndef POSTERN_TLSIO_H
#define POSTERN_TLSIO_H

#include <sys/types.h>
#include "conn.h"

ssize_t tlsio_read(struct conn *c, void *p, size_t n);
ssize_t tlsio_write(struct conn *c, const void *p, size_t n);
int tlsio_pending(struct conn *c);

#endif
