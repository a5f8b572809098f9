/*
 * The store's one unasked message, MSG_CHANGED (store/chan.c): sent to
 * the IMAP channels with a view of the folder that changed, once until
 * the channel syncs (coalesced); when the channel's socket is full it is
 * owed, the store neither blocks nor drops the channel, and
 * chan_changed_retry() sends it once there is room.
 */
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "privsep/util.h"
#include "store/store_int.h"

/* MSG_CHANGED messages waiting on fd (every message read; -1 when one
 * was something else). */
static int
count_changed(int fd)
{
	static struct ipc_msg m;
	int n = 0;

	for (;;) {
		int r = ipc_recv(fd, &m);

		if (r != 1)
			return n;
		if (m.hdr.type != MSG_CHANGED || m.hdr.id != 0 || m.hdr.len != 0 || m.fd >= 0)
			return -1;
		n++;
	}
}

static struct chan *
mkchan(int fd, const char *account, unsigned state, uint32_t fid)
{
	struct chan *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->kind = CHAN_IMAP;
	c->pid = 4242;
	c->state = state;
	c->mfd = -1;
	c->view_fid = fid;
	strlcpy_(c->account, account, sizeof(c->account));
	return c;
}

int
main(void)
{
	static struct ipc_msg filler;
	int a[2], b[2], full = 0, got;
	struct chan *ca, *cb, *cc, *cd;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, a) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, b) == -1)
		return 1;
	set_nonblock(a[0], 1);
	set_nonblock(a[1], 1);
	set_nonblock(b[0], 1);
	set_nonblock(b[1], 1);
	ca = mkchan(a[0], "alice", CS_SELECTED, 0);
	cb = mkchan(b[0], "alice", CS_SELECTED, 7);      /* another folder */
	cc = mkchan(-1, "bob", CS_SELECTED, 0);          /* another account */
	cd = mkchan(-1, "alice", CS_IMAP, 0);            /* no view */
	S.ch = xcalloc(4, sizeof(*S.ch));
	S.ch[0] = ca;
	S.ch[1] = cb;
	S.ch[2] = cc;
	S.ch[3] = cd;
	S.nch = 4;

	chan_changed("alice", 0, NULL);
	CHECK(count_changed(a[1]) == 1, "the view of the folder gets MSG_CHANGED");
	CHECK(count_changed(b[1]) == 0, "a view of another folder does not");
	CHECK(ca->changed_told && !ca->changed_owed && !cc->changed_told && !cd->changed_told,
	    "only that channel is marked told");
	chan_changed("alice", 0, NULL);
	chan_changed("alice", 0, NULL);
	CHECK(count_changed(a[1]) == 0, "coalesced: none again until the channel syncs");
	chan_changed("alice", 0, ca);
	ca->changed_told = 0;                  /* what VIEW_SYNC does */
	chan_changed("alice", 0, ca);
	CHECK(count_changed(a[1]) == 0, "the channel named as the cause is not told");

	/* fill a's socket with answers the worker does not read */
	ipc_init(&filler, MSG_FOLDER_LIST_R, 9);
	ipc_put_u32(&filler, 0);
	for (int i = 0; i < 100000; i++)
		if (ipc_send(a[0], &filler) == -1) {
			full = errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS;
			break;
		}
	CHECK(full, "the channel's socket is full (a worker far behind)");
	chan_changed("alice", 0, NULL);
	CHECK(!ca->dead && ca->changed_told && ca->changed_owed,
	    "a full socket: the notice is owed, the channel neither dropped nor blocking");
	chan_changed("alice", 0, NULL);
	CHECK(ca->changed_owed && !ca->dead, "still owed once, nothing more queued");
	/* the worker reads every answer: there is room again */
	{
		static struct ipc_msg m;
		int n = 0;

		while (ipc_recv(a[1], &m) == 1)
			n++;
		CHECK(n > 0, "the worker read %d answers", n);
	}
	chan_changed_retry(ca);
	CHECK(!ca->changed_owed && ca->changed_told, "the owed notice went when there was room");
	got = count_changed(a[1]);
	CHECK(got == 1, "exactly one MSG_CHANGED arrived (%d)", got);
	chan_changed_retry(ca);
	CHECK(count_changed(a[1]) == 0, "a retry with nothing owed sends nothing");

	/* a peer that is gone: the channel is dropped, the others untouched */
	ca->changed_told = 0;
	close(a[1]);
	chan_changed("alice", 0, NULL);
	CHECK(ca->dead, "a closed socket drops the channel");
	chan_changed("alice", 7, NULL);
	CHECK(count_changed(b[1]) == 1 && !cb->dead, "the other view still works");
	for (size_t i = 0; i < S.nch; i++)
		free(S.ch[i]);
	free(S.ch);
	close(a[0]);
	close(b[0]);
	close(b[1]);
	return check_done();
}
