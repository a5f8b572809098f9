/*
 * The store's request table (OpenSSH monitor.c mon_table): one row per
 * request type with the channel kinds that may send it, the channel
 * states it is allowed in, its payload size range, its fd rule, when the
 * loop runs it (at once, or queued behind the pass's group commit), its
 * decoder and its handler.  Anything not in the table, or not matching
 * its row, is refused and the channel dropped.  Decoding is separate from
 * handling so the fuzz target can run it without touching files.
 *
 * Adding a request: its definition in privsep/msg.h, one client function
 * in workers/storecli.c, one row below (dispatch.c) with its decoder, and
 * one handler in the store_*.c file of its protocol.
 */
#ifndef POSTERN_DISPATCH_H
#define POSTERN_DISPATCH_H

#include <stdint.h>
#include "../privsep/ipc.h"
#include "../privsep/msg.h"
#include "../privsep/params.h"

enum chan_state {
	CS_OPEN = 0x1,     /* SMTP and control channels; POP3 and IMAP channels
			      before AUTH_OK */
	CS_BOUND = 0x2,    /* POP3 channel bound to a mailbox */
	CS_AUTHING = 0x4,  /* POP3 or IMAP channel waiting for the auth process's
			      verdict: no request is allowed (a worker waits for
			      MSG_AUTH_R / MSG_IMAP_AUTH_R) */
	CS_IMAP = 0x8,     /* IMAP channel logged in to one account: its folder
			      requests (nothing is locked or snapshotted) */
	CS_SELECTED = 0x10, /* IMAP channel with a view of one folder
			      (store_view.c): the folder requests, and FETCH,
			      VIEW_SYNC, UNSELECT; a failed SELECT or UNSELECT
			      goes back to CS_IMAP */
};

enum fd_rule { FD_FORBIDDEN = 0, FD_REQUIRED };

/* When the loop runs a request's handler (store.c, serve()). */
enum run_rule {
	RUN_NOW,           /* as soon as it is read, inside the pass (APPEND
			      writes now and is answered after the fsyncs;
			      LOOKUP reads only the accounts table) */
	RUN_AFTER_COMMIT,  /* queued, run after batch_finish(): it sees every
			      append of the pass durable (or undone) */
	RUN_AFTER_COMMIT_READ_ON,  /* queued like the above, and the loop may
			      read the channel's next request in the same pass
			      (DELE: it changes no channel state) */
};

struct chan;
struct store_req;
typedef int req_decoder(struct ipc_msg *m, struct store_req *r, const char **why);
typedef void req_handler(struct chan *c, struct store_req *r);

#define KIND_BIT(k) (1u << (k))

struct dispatch_row {
	uint32_t type;
	unsigned kinds;        /* KIND_BIT(CHAN_SMTP) | ... */
	unsigned states;       /* CS_* */
	uint32_t minlen, maxlen;
	enum fd_rule fd;
	uint32_t answer;       /* the answer's type */
	enum run_rule run;
	req_decoder *decode;   /* every field checked; NULL: no payload */
	req_handler *handle;
};

/* A decoded request. */
struct store_req {
	uint32_t type, id;
	int fd;                                  /* APPEND's memfd, else -1 */
	char local[LIM_PATH + 1];                /* LOOKUP */
	char sessid[LIM_SESSID + 1];             /* APPEND */
	char sender[LIM_PATH + 1];
	uint32_t nacc;
	char (*acc)[LIM_NAME + 1];               /* malloc'ed, nacc entries */
	char name[LIM_POP3_CMDLINE + 1];         /* AUTH */
	char password[LIM_PASSWORD + 1];
	char addr[LIM_ADDR + 1];
	uint32_t msgno, lines, ahead;            /* RETR */
	uint32_t ndele;                          /* DELE */
	uint32_t *dele;                          /* malloc'ed, ndele entries */
	/* IMAP_APPEND: flags (VF_* without VF_RECENT), internal date (0
	 * now), keywords as sent (any bytes, any length the payload holds:
	 * the handler judges them): kwlen[i] bytes each, one after the other
	 * in kwbuf (both malloc'ed, freed by req_free()) */
	uint32_t aflags, nkw;
	uint64_t adate;
	char *kwbuf;
	uint32_t *kwlen;
	/* FOLDER_*: the names as sent (0..FOLDER_NAME_CEIL_BYTES bytes, any
	 * bytes: foldername.h judges them), malloc'ed and NUL-terminated
	 * after len bytes; [1] is RENAME's new name */
	char *folder[2];
	uint32_t folderlen[2];
	uint32_t on;                             /* SUBSCRIBE 1, UNSUBSCRIBE 0;
						    SELECT: 1 readonly (EXAMINE) */
	uint32_t what;                           /* FETCH: enum fetch_what */
	uint32_t nuid;                           /* FETCH: 1..IMAP_FETCH_BATCH_MAX_COUNT */
	uint32_t *uids;                          /* malloc'ed, nuid strictly ascending;
						    STORE_FLAGS, COPY 1.., EXPUNGE 0.. */
	/* STORE_FLAGS: enum flags_op, VF_* flags, nfkw keywords (1..50
	 * bytes, no NUL, NUL-terminated here); COPY: on is move */
	uint32_t fop, fflags, nfkw;
	char (*fkw)[IMAP_KEYWORD_MAX_BYTES + 1]; /* malloc'ed, nfkw entries */
};

/* The row of a request type, or NULL. */
const struct dispatch_row *dispatch_row(uint32_t type);

/* The row for m on a channel of this kind and state, or NULL with *why
 * set.  Checks kind, state, size and the fd rule. */
const struct dispatch_row *dispatch_check(const struct ipc_msg *m,
    unsigned kind, unsigned state, const char **why);

/* Decodes m into *r with its row's decoder (trailing bytes refused).  0
 * ok, -1 with *why set.  r->acc, r->dele, r->folder and r->uids must be freed with
 * req_free() either way; m->fd moves to r->fd. */
int req_decode(struct ipc_msg *m, struct store_req *r, const char **why);
void req_free(struct store_req *r);

#endif
