/* The auth process: the password checks run outside the store's delivery
 * loop, in a process of their own that alone holds the hashes (as
 * Dovecot's auth, OpenSMTPD's lka). */
#ifndef POSTERN_AUTHD_H
#define POSTERN_AUTHD_H

/* Entry for "posternd -X auth": FD_CONTROL is the channel to the master;
 * the channel to the store comes in MSG_AUTH_CHANNEL. */
int authd_main(void);

#endif
