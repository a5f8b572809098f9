/*
 * Shared between the store's files: the channel table and the handlers.
 */
#ifndef POSTERN_STORE_INT_H
#define POSTERN_STORE_INT_H

#include <sys/types.h>
#include <stdint.h>

#include "../privsep/conf.h"
#include "../privsep/ipc.h"
#include "../privsep/msg.h"
#include "accounts.h"
#include "dispatch.h"
#include "mailbox.h"

struct chan {
	int fd;
	unsigned kind;               /* enum chan_kind, as the master said */
	pid_t pid;                   /* the worker, for logs */
	unsigned state;              /* CS_OPEN / CS_BOUND */
	int dead;                    /* dropped: closed at the end of the pass */
	/* POP3, when bound */
	char account[LIM_NAME + 1];
	int mfd;                     /* the mailbox, for RETR (-1: none) */
	struct mbox_list snap;
	unsigned char *marks;
	uint64_t octets;
};

struct store {
	struct conf conf;
	int spool;                   /* the spool directory */
	struct acctab tab;
	int have_tab;
	struct chan **ch;
	size_t nch;
	char (*verified)[LIM_NAME + 1];   /* mailboxes checked since start */
	size_t nverified;
	int shutdown;
};

extern struct store S;

void chan_drop(struct chan *c, const char *why);
/* Sends an answer; a channel that cannot take it is dropped. */
void chan_send(struct chan *c, struct ipc_msg *m);
void chan_unbind(struct chan *c);

int mailbox_verified(const char *name);
void mailbox_set_verified(const char *name, int yes);
/* Opens (creating when asked), locks and, on the first open since start,
 * repairs a mailbox.  0 / 1 missing / -1 (logged). */
int mailbox_open_locked(struct mailbox *mb, const char *name, int create,
    struct mbox_list *l);

/* store_smtp.c */
void handle_lookup(struct chan *c, struct store_req *r);
void batch_begin(void);
void batch_append(struct chan *c, struct store_req *r);
void batch_finish(void);
/* Closes the idle cached descriptor of a mailbox, if any: before a COMMIT
 * locks and renames it.  Never during the APPEND part of a pass. */
void mbcache_forget(const char *name);

/* store_pop3.c */
void handle_pop3(struct chan *c, struct store_req *r);
void handle_mbox_stat(struct chan *c, struct store_req *r);   /* store_ctl.c */

#endif
