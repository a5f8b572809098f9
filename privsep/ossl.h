/* OpenSSL's error queue as text, for the processes that use OpenSSL. */
#ifndef POSTERN_OSSL_H
#define POSTERN_OSSL_H

/* The last OpenSSL error as text ("unknown OpenSSL error" if the queue is
 * empty), and the queue emptied.  The text lives in a static buffer that
 * the next call overwrites. */
const char *ossl_reason(void);

#endif
