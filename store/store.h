/* The store process: the only process that opens mailboxes
 * and the accounts file. */
#ifndef POSTERN_STORE_H
#define POSTERN_STORE_H

/* Entry for "posternd -X store": FD_CONTROL is the channel to the master. */
int store_main(void);

struct conf;
/* For "posternd -n": loads the accounts and aliases files named in c the
 * way the store would, prints every error ("FILE:LINE: message") on
 * stderr, and returns how many there were. */
int store_check_tables(const struct conf *c);

#endif
