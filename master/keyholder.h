/*
 * The keyholder: the only process that holds the TLS private keys.  It signs
 * handshakes for the workers over their keyholder channels; a worker
 * never sees a key.
 */
#ifndef POSTERN_KEYHOLDER_H
#define POSTERN_KEYHOLDER_H

#include <stddef.h>
#include <stdint.h>
#include "../privsep/params.h"
#include "../privsep/conf.h"
#include "../privsep/ipc.h"

/* Certificates/keys the keyholder holds (index 0 = the default). */
#define KH_MAX_KEYS     8
/* A certificate chain (re-encoded PEM) larger than this is refused: it
 * travels in one MSG_CERTS_R with its slot's name. */
#define KH_MAX_CHAIN    (IPC_MAX_PAYLOAD - LIM_DOMAIN - 64)

/* Process entry for "-X keyholder". */
int keyholder_main(void);

/* posternd -n: loads the configured certificates and keys the way the
 * keyholder will and prints each problem as FILE:LINE: message (the line of
 * the tls-cert / tls-key directive).  Returns the number of errors. */
int keyholder_check(const struct conf *c);

/*
 * The parts keyholder_main() is made of, exposed for the unit tests.
 *
 * keyholder_load(): parses a PEM chain and a PEM private key held in
 * memory into slot idx (RSA or EC keys; the key must match the leaf).
 * cert_where / key_where prefix the error text ("conf:12: tls-cert FILE").
 * 0 ok; -1 with a one-line reason in *why (privsep/util.h).
 */
int keyholder_load(uint32_t idx, const char *name, const void *cert, size_t certlen,
    const void *key, size_t keylen, const char *cert_where, const char *key_where,
    const char **why);
/* Frees every loaded key. */
void keyholder_unload(void);
/*
 * Reads one message from a worker channel and answers it (MSG_CERTS,
 * MSG_SIGN).  1 answered, 0 the worker closed the channel, -1 the worker
 * sent something malformed or cannot be answered: the caller drops it.
 * tag names the peer in log lines.
 */
int keyholder_serve_one(int fd, const char *tag);

#endif
