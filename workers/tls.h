/*
 * TLS for the workers: one server SSL_CTX per worker, built from the public
 * chain the keyholder sends (MSG_CERTS) and a stand-in private key whose
 * private operations are forwarded to the keyholder (MSG_SIGN), as
 * OpenSMTPD's ca.c does.  The real key never enters a worker.
 *
 * Policy: TLS 1.2 and 1.3 only; OpenSSL's default ciphers without RSA key
 * transport unless tls-ciphers says otherwise (a forwarded key cannot do
 * it, and RFC 9325 4.5 advises against it); server cipher preference; no
 * compression, no renegotiation, no session tickets or cache (each worker
 * is its own short-lived process).
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stddef.h>
#include "../privsep/params.h"
#include "../privsep/conf.h"
#include "conn.h"
#include "worker.h"

/* Certificates a worker holds: the default one and the tls-sni ones. */
#define KH_SLOTS           (CONF_MAX_SNI + 1)

/* Worker start-up, before the sandbox: OpenSSL reads its configuration
 * while the file system is still visible.  Harmless without TLS. */
void tls_preinit(void);

/* After the sandbox: asks the keyholder on key_fd for the certificates and
 * builds the server context.  0 ok, -1 (logged) when TLS cannot be offered. */
int tls_init(const struct conf *c, int key_fd);

/* Is a server context ready (tls_init succeeded)? */
int tls_ready(void);

/*
 * The server handshake on s->conn->fd (non-blocking), bounded by
 * TLS_HANDSHAKE_MS, the session timeout and the master's shutdown request.
 * On success s->conn->tls and s->tls are set, the protocol and cipher are
 * logged, and 0 is returned.  On failure one line is logged and -1 returned:
 * the session must end (nothing more can be said to the client).
 */
int tls_start(struct session *s);

/* After the session: a close_notify when possible, then the SSL freed. */
void tls_end(struct conn *c);

/* "TLSv1.3" / "TLS_AES_256_GCM_SHA384" / bits, or "" / 0 without TLS. */
const char *tls_protocol(const struct conn *c);
const char *tls_cipher(const struct conn *c);
int tls_cipher_bits(const struct conn *c);

/* For the Received header (Postfix style):
 * "(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))",
 * or "" without TLS.  Returns buf. */
const char *tls_received_text(const struct conn *c, char *buf, size_t bufsz);

#endif
