/*
 * The control process's side of its store channel (kind CHAN_CONTROL): the
 * one request it may send, MSG_MBOX_STAT, as typed functions.  The channel
 * is non-blocking and several posternctl clients may wait at once, so the
 * request and its answer are two calls matched by the request id.
 */
#ifndef POSTERN_CTL_STORE_H
#define POSTERN_CTL_STORE_H

#include <stdint.h>

/* Asks for the statistics of mailbox name.  0, or -1 with errno. */
int cs_mbox_stat_send(int fd, uint32_t id, const char *name);

struct cs_mbox_stat {
	uint32_t status;           /* enum store_status */
	/* when STORE_OK: */
	uint64_t messages, bytes;
	char last[64];             /* the last delivery's date; "" for none */
	uint32_t index;            /* enum mbox_index_state */
};

#define CS_ANSWER     1        /* *id and *st decoded */
#define CS_AGAIN      0        /* nothing more to read now */
#define CS_CLOSED   (-1)       /* the store is gone (EOF or a broken frame) */
#define CS_OTHER    (-2)       /* not a MSG_MBOX_STAT_R: ignored */
#define CS_MALFORMED (-3)      /* a MSG_MBOX_STAT_R for *id, but malformed */

/*
 * Reads one message from the store and decodes it as a MSG_MBOX_STAT_R:
 * a status, nothing more unless STORE_OK, every field then, no bytes
 * left over, no descriptor (one that came is closed).
 */
int cs_mbox_stat_recv(int fd, uint32_t *id, struct cs_mbox_stat *st);

#endif
