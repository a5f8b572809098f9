/*
 * The store's channels: the process state S (the config, the accounts
 * table, the channel list) and the two primitives a handler answers
 * with.  The bottom of the loop layer (store_int.h): it calls nothing of
 * the store, so a handler calling it is a call downward.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../privsep/log.h"
#include "store_int.h"

struct store S;

const char *
chan_kind_name(unsigned k)
{
	return k == CHAN_SMTP ? "smtp" : k == CHAN_POP3 ? "pop3" :
	    k == CHAN_CONTROL ? "control" : k == CHAN_IMAP ? "imap" : "?";
}

void
chan_drop(struct chan *c, const char *why)
{
	if (c->dead)
		return;
	log_warnx("store: %s channel of worker %d dropped: %s",
	    chan_kind_name(c->kind), (int)c->pid, why);
	c->dead = 1;
}

void
chan_send(struct chan *c, struct ipc_msg *m)
{
	if (c->dead)
		return;
	if (ipc_send(c->fd, m) == -1) {
		char why[128];

		snprintf(why, sizeof(why), "cannot send %s: %s", msg_name(m->hdr.type),
		    strerror(errno));
		chan_drop(c, why);
	}
}
