/* The worker side of the store channel: see storecli.h. */
#include <errno.h>
#include <poll.h>

#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "storecli.h"

static int dead;

/* Answers owed to store_send(), oldest first. */
static struct {
	uint32_t id, type, expect;
} owed[STORE_OWED_MAX_COUNT];
static unsigned nowed;

int
store_dead(void)
{
	return dead;
}

static void
fail(struct session *s, const char *why, uint32_t type)
{
	dead = 1;
	nowed = 0;
	log_warnx("session %s: store %s for %s; temporary failure",
	    s->sessid, why, msg_name(type));
}

/* Sends req with the next id.  NULL, or why it failed. */
static const char *
send_req(struct session *s, struct ipc_msg *req, uint64_t deadline)
{
	req->hdr.id = ++s->next_id;
	while (ipc_send(s->store_fd, req) == -1) {
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    fd_wait(s->store_fd, POLLOUT, deadline) != 1)
			return "cannot send";
	}
	return NULL;
}

/* Receives the next answer; it must be of type expect with id.  NULL, or
 * why it failed (ans->fd closed then). */
static const char *
recv_ans(struct session *s, struct ipc_msg *ans, uint32_t expect, uint32_t id,
    uint64_t deadline)
{
	int r;

	for (;;) {
		/* an answer already there costs no poll */
		r = ipc_recv(s->store_fd, ans);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			if (fd_wait(s->store_fd, POLLIN, deadline) != 1)
				return "no answer in time";
			continue;
		}
		if (r == 0)
			return "channel closed";
		if (r == -1)
			return "bad answer";
		break;
	}
	if (ans->hdr.type != expect || ans->hdr.id != id) {
		ipc_drop_fd(ans);
		return "unexpected answer";
	}
	return NULL;
}

/* Collects every owed answer before deadline.  0 / -1 (dead). */
static int
collect(struct session *s, uint64_t deadline)
{
	static struct ipc_msg a;
	const char *why;
	uint32_t st;

	while (nowed > 0) {
		uint32_t type = owed[0].type;

		why = recv_ans(s, &a, owed[0].expect, owed[0].id, deadline);
		if (why == NULL && (a.fd >= 0 || ipc_get_u32(&a, &st) == -1 ||
		    ipc_end(&a) == -1 || st != STORE_OK)) {
			ipc_drop_fd(&a);
			why = "refused a pipelined request";
		}
		if (why != NULL) {
			fail(s, why, type);
			return -1;
		}
		nowed--;
		for (unsigned i = 0; i < nowed; i++)
			owed[i] = owed[i + 1];
	}
	return 0;
}

int
store_collect(struct session *s, int timeout_ms)
{
	if (dead)
		return -1;
	return collect(s, now_ms() + (uint64_t)timeout_ms);
}

int
store_send(struct session *s, struct ipc_msg *req, uint32_t expect,
    int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	const char *why;

	if (dead)
		return -1;
	if (nowed == STORE_OWED_MAX_COUNT && collect(s, deadline) == -1)
		return -1;
	if ((why = send_req(s, req, deadline)) != NULL) {
		fail(s, why, req->hdr.type);
		return -1;
	}
	owed[nowed].id = req->hdr.id;
	owed[nowed].type = req->hdr.type;
	owed[nowed].expect = expect;
	nowed++;
	return 0;
}

int
store_call(struct session *s, struct ipc_msg *req, struct ipc_msg *ans,
    uint32_t expect, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	const char *why;

	if (dead)
		return -1;
	if ((why = send_req(s, req, deadline)) != NULL) {
		fail(s, why, req->hdr.type);
		return -1;
	}
	/* the answers owed come before this one */
	if (collect(s, deadline) == -1)
		return -1;
	if ((why = recv_ans(s, ans, expect, req->hdr.id, deadline)) != NULL) {
		fail(s, why, req->hdr.type);
		return -1;
	}
	return 0;
}
