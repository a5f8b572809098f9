/* The worker side of the store channel: see storecli.h. */
#include <errno.h>
#include <poll.h>

#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "storecli.h"

static int dead;

int
store_dead(void)
{
	return dead;
}

static int
wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			return -1;
		n = poll(&p, 1, (int)(deadline - now));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		return 0;
	}
}

int
store_call(struct session *s, struct ipc_msg *req, struct ipc_msg *ans,
    uint32_t expect, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	const char *why = NULL;
	int r;

	if (dead)
		return -1;
	req->hdr.id = ++s->next_id;
	while (ipc_send(s->store_fd, req) == -1) {
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    wait_fd(s->store_fd, POLLOUT, deadline) == -1) {
			why = "cannot send";
			goto fail;
		}
	}
	for (;;) {
		if (wait_fd(s->store_fd, POLLIN, deadline) == -1) {
			why = "no answer in time";
			goto fail;
		}
		r = ipc_recv(s->store_fd, ans);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (r == 0) {
			why = "channel closed";
			goto fail;
		}
		if (r == -1) {
			why = "bad answer";
			goto fail;
		}
		break;
	}
	if (ans->hdr.type != expect || ans->hdr.id != req->hdr.id) {
		ipc_drop_fd(ans);
		why = "unexpected answer";
		goto fail;
	}
	return 0;
fail:
	dead = 1;
	log_warnx("session %s: store %s for %s; temporary failure",
	    s->sessid, why, msg_name(req->hdr.type));
	return -1;
}
