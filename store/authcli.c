/*
 * The store's side of the auth channel (see authcli.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "authcli.h"
#include "mailbox.h"

static int afd = -1;
static struct authwait **q;     /* in arrival order */
static size_t nq;
static uint32_t seq;

static void
entry_free(struct authwait *w)
{
	explicit_bzero(w, sizeof(*w));
	free(w);
}

/* Removes entry i and hands it its verdict. */
static void
finish_at(size_t i, enum auth_verdict v)
{
	struct authwait *w = q[i];

	memmove(&q[i], &q[i + 1], (nq - i - 1) * sizeof(struct authwait *));
	nq--;
	explicit_bzero(w->password, sizeof(w->password));
	w->done(w, v);
	entry_free(w);
}

/* Every waiting check gets a temporary error; the channel is closed. */
static void
fail_all(void)
{
	if (afd >= 0)
		close(afd);
	afd = -1;
	while (nq > 0)
		finish_at(0, AV_TEMP);
}

void
authcli_set_channel(int fd)
{
	if (nq > 0)
		log_warnx("store: new auth channel: %zu login checks pending on the old one "
		    "get a temporary error", nq);
	fail_all();
	afd = fd;
	set_nonblock(afd, 1);
	set_cloexec(afd, 1);
	log_debug("store: channel to the auth process added");
}

int
authcli_fd(void)
{
	return afd;
}

short
authcli_events(void)
{
	for (size_t i = 0; i < nq; i++)
		if (!q[i]->sent)
			return POLLIN | POLLOUT;
	return POLLIN;
}

int
authcli_submit(struct chan *c, uint32_t reqid, const char *name,
    const char *password, const char *addr, uint32_t delay, uint64_t at,
    authcli_done *done)
{
	struct authwait *w;

	if (afd < 0 || nq >= AUTHQ_MAX_COUNT)
		return -1;
	w = xcalloc(1, sizeof(*w));
	w->seq = ++seq;
	w->c = c;
	w->done = done;
	w->reqid = reqid;
	w->delay = delay;
	w->at = at;
	strlcpy_(w->name, name, sizeof(w->name));
	strlcpy_(w->addr, addr, sizeof(w->addr));
	strlcpy_(w->password, password, sizeof(w->password));
	q = xreallocarray(q, nq + 1, sizeof(struct authwait *));
	q[nq++] = w;
	return 0;
}

void
authcli_forget(const struct chan *c)
{
	size_t j = 0;

	for (size_t i = 0; i < nq; i++) {
		if (q[i]->c == c)
			q[i]->c = NULL;
		if (q[i]->c == NULL && !q[i]->sent)
			entry_free(q[i]);   /* never sent: no crypt for a client gone */
		else
			q[j++] = q[i];
	}
	nq = j;
}

/* Sends the queued checks in order until the socket is full.  -1: the
 * channel is broken. */
static int
flush(void)
{
	static struct ipc_msg m;

	for (size_t i = 0; i < nq; i++) {
		struct authwait *w = q[i];

		if (w->sent)
			continue;
		ipc_init(&m, MSG_AUTH_CHECK, w->seq);
		/* a name that cannot be an account: the same crypt work */
		ipc_put_str(&m, mailbox_name_ok(w->name) ? w->name : "");
		ipc_put_str(&m, w->password);
		if (ipc_send(afd, &m) == -1) {
			explicit_bzero(m.data, sizeof(m.data));
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				return 0;
			log_warn("store: sending to the auth process");
			return -1;
		}
		explicit_bzero(m.data, sizeof(m.data));
		explicit_bzero(w->password, sizeof(w->password));
		w->sent = 1;
	}
	return 0;
}

/* One verdict.  0, or -1: the channel is closed. */
static int
take_verdict(void)
{
	static struct ipc_msg m;
	uint32_t ok;
	int r = ipc_recv(afd, &m);

	if (r == 0) {
		log_warnx("store: the auth process closed its channel");
		return -1;
	}
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 1;
		if (errno != EBADMSG) {
			log_warn("store: auth channel");
			return -1;
		}
		log_warnx("store: malformed frame from the auth process ignored");
		return 0;
	}
	ipc_drop_fd(&m);
	if (m.hdr.type != MSG_AUTH_CHECK_R || ipc_get_u32(&m, &ok) == -1 ||
	    ipc_end(&m) == -1 || ok > 1) {
		log_warnx("store: malformed %s from the auth process ignored",
		    msg_name(m.hdr.type));
		return 0;
	}
	for (size_t i = 0; i < nq; i++)
		if (q[i]->seq == m.hdr.id && q[i]->sent) {
			finish_at(i, ok ? AV_OK : AV_BAD);
			return 0;
		}
	log_warnx("store: verdict for an unknown check %u from the auth process ignored",
	    m.hdr.id);
	return 0;
}

void
authcli_io(short revents)
{
	if (afd < 0)
		return;
	if (revents & (POLLIN | POLLHUP | POLLERR))
		for (int i = 0; i < AUTH_READ_PASS_COUNT; i++) {
			int r = take_verdict();

			if (r == -1) {
				fail_all();
				return;
			}
			if (r == 1)
				break;
		}
	if (flush() == -1)
		fail_all();
}
