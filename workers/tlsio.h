/*
 * TLS under struct conn.  Until TLS lands these are plain stand-ins that
 * are never reached (conn->tls stays NULL); the TLS work replaces tlsio.c.
 */
#ifndef POSTERN_TLSIO_H
#define POSTERN_TLSIO_H

#include <sys/types.h>
#include "conn.h"

ssize_t tlsio_read(struct conn *c, void *p, size_t n);
ssize_t tlsio_write(struct conn *c, const void *p, size_t n);
int tlsio_pending(struct conn *c);

#endif
