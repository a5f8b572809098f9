/*
 * The keyholder: the only process that holds the TLS private keys.  It signs
 * handshakes for the workers over their keyholder channels (DESIGN.md
 * invariant 6); a worker never sees a key.
 */
#ifndef POSTERN_KEYHOLDER_H
#define POSTERN_KEYHOLDER_H

#include "../privsep/conf.h"

/* Process entry for "-X keyholder". */
int keyholder_main(void);

/* posternd -n: loads the configured certificates and keys the way the
 * keyholder will and prints each problem as FILE:LINE: message (the line of
 * the tls-cert / tls-key directive).  Returns the number of errors. */
int keyholder_check(const struct conf *c);

#endif
