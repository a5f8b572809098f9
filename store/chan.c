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
#include "../privsep/util.h"
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

/* The one unasked message.  A full socket (the worker is far behind in
 * reading, or stuck) never blocks the store and never drops the channel:
 * the notice stays owed and the loop polls the socket for POLLOUT. */
static void
changed_send(struct chan *c)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_CHANGED, 0);
	c->changed_told = 1;
	if (ipc_send(c->fd, &m) == 0) {
		c->changed_owed = 0;
		return;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
		c->changed_owed = 1;
		return;
	}
	{
		char why[128];

		snprintf(why, sizeof(why), "cannot send MSG_CHANGED: %s", strerror(errno));
		chan_drop(c, why);
	}
}

void
chan_changed(const char *account, uint32_t fid, const struct chan *except)
{
	for (size_t i = 0; i < S.nch; i++) {
		struct chan *c = S.ch[i];

		if (c == except || c->dead || c->state != CS_SELECTED || c->view_fid != fid ||
		    c->changed_told || strcmp(c->account, account) != 0)
			continue;
		changed_send(c);
	}
}

void
chan_changed_retry(struct chan *c)
{
	if (!c->dead && c->changed_owed && c->state == CS_SELECTED)
		changed_send(c);
}

void
chan_reply_text(struct chan *c, uint32_t type, uint32_t id, uint32_t st, const char *text)
{
	static struct ipc_msg m;

	ipc_init(&m, type, id);
	ipc_put_u32(&m, st);
	ipc_put_str(&m, text);
	chan_send(c, &m);
}

void
ob_put(struct obuf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 4096;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

void
ob_u32(struct obuf *b, uint32_t v)
{
	ob_put(b, &v, 4);
}

void
ob_u64(struct obuf *b, uint64_t v)
{
	ob_put(b, &v, 8);
}

void
ob_str(struct obuf *b, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);

	ob_u32(b, n);
	ob_put(b, s, n);
}
