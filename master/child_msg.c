/*
 * What the children say: reads each child's control channel and routes
 * every message to its handler (log lines, busy/idle, ready, load
 * results, events, posternctl requests).  A child that sends anything
 * else, or anything malformed, is killed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "master_int.h"

/* MSG_LOG: the line goes to the log under the child's role and pid.
 * 0 written, -1 malformed. */
static int
child_log(const struct child *k, struct ipc_msg *m)
{
	char line[LIM_LOGLINE];
	uint32_t prio;

	if (ipc_get_u32(m, &prio) != 0 || ipc_get_str(m, line, sizeof(line)) != 0 ||
	    ipc_end(m) != 0)
		return -1;
	log_child(role_name(k->role), (int)k->pid, prio, line);
	return 0;
}

/* MSG_ACCOUNTS_R (store, auth) or MSG_TLS_R (keyholder): u32 ok, str why.
 * 0 done, -1 malformed or from the wrong process. */
static int
child_loaded(struct child *k, struct ipc_msg *m)
{
	char why[LIM_LOGLINE];
	struct helper *h = helper_of(k);
	uint32_t ok;

	if (h == NULL ||
	    m->hdr.type != (h == &master.store || h == &master.authh ?
	    MSG_ACCOUNTS_R : MSG_TLS_R) ||
	    ipc_get_u32(m, &ok) != 0 || ipc_get_str(m, why, sizeof(why)) != 0 ||
	    ipc_end(m) != 0)
		return -1;
	helper_loaded(k, h, ok, why);
	return 0;
}

/* One message from child k: 0 handled, -1 not acceptable from it. */
static int
child_dispatch(struct child *k, struct ipc_msg *m)
{
	struct helper *h;

	switch (m->hdr.type) {
	case MSG_LOG:
		return child_log(k, m);
	case MSG_STATUS:
		return is_worker(k) ? worker_status(k, m) : -1;
	case MSG_READY:
		if ((h = helper_of(k)) == NULL || ipc_end(m) != 0)
			return -1;
		helper_is_ready(k, h);
		return 0;
	case MSG_ACCOUNTS_R:
	case MSG_TLS_R:
		return child_loaded(k, m);
	case MSG_EVENT:
		return is_worker(k) ? count_event(k, m) : -1;
	case MSG_CTL_QUERY:
	case MSG_CTL_RELOAD:
	case MSG_CTL_STOP:
		if (k->role != ROLE_CONTROL || helper_of(k) != &master.ctlh)
			return -1;
		return control_request(k, m);
	default:
		return -1;
	}
}

static void
handle_child_msg(struct child *k, struct ipc_msg *m)
{
	char line[LIM_LOGLINE];

	if (child_dispatch(k, m) == 0)
		return;
	/* a child that speaks nonsense is not trusted further */
	ipc_drop_fd(m);
	snprintf(line, sizeof(line), "sent a malformed %s", msg_name(m->hdr.type));
	child_misbehaved(k, line);
}

/* Has the other end of a control channel gone (POLLHUP)? */
static int
channel_hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

/* Reads up to 64 messages from child k's control channel. */
void
read_child(struct child *k)
{
	static struct ipc_msg m;

	for (int i = 0; i < CHILD_READ_PASS_COUNT && k->ctl >= 0; i++) {
		int r = ipc_recv(k->ctl, &m);

		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		/* a zero-length datagram reads like the end of the channel:
		 * only a hung-up channel is one */
		if (r == 0 && !channel_hung_up(k->ctl)) {
			child_misbehaved(k, "sent an empty message");
			return;
		}
		if (r == -1 && errno == EBADMSG) {
			child_misbehaved(k, "sent a malformed message");
			return;
		}
		if (r <= 0) {
			/* the child is dying; SIGCHLD does the rest */
			master.pool_dirty = 1;
			close(k->ctl);
			k->ctl = -1;
			return;
		}
		/* only a busy MSG_STATUS carries a descriptor */
		if (m.fd != -1 && m.hdr.type != MSG_STATUS) {
			ipc_drop_fd(&m);
			child_misbehaved(k, "sent a descriptor");
			return;
		}
		if (m.hdr.type != MSG_LOG && m.hdr.type != MSG_EVENT)
			master.pool_dirty = 1;
		handle_child_msg(k, &m);
	}
}

/*
 * A dead child's last log lines (a fatal's reason, say) may still wait in
 * its control channel when SIGCHLD comes first: write them before the
 * exit status.  Only MSG_LOG is taken; the rest is moot, and its pid may
 * already belong to someone else.
 */
void
drain_logs(struct child *k)
{
	static struct ipc_msg m;

	for (int i = 0; k->ctl >= 0 && i < CHILD_READ_PASS_COUNT; i++) {
		if (ipc_recv(k->ctl, &m) != 1)
			return;
		ipc_drop_fd(&m);
		if (m.hdr.type == MSG_LOG)
			(void)child_log(k, &m);
	}
}
