/*
 * A worker's busy/idle report (MSG_STATUS) and the admission answer to a
 * busy one: the master takes the client's address from the socket the
 * worker accepted, asks admit.c whether to serve it, and answers MSG_ADMIT.
 */
#include <string.h>

#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "admit.h"
#include "master_int.h"

/*
 * Answers a worker that just accepted a client: may it serve it?  Only
 * admitted sessions count, this one included: a worker busy turning a
 * client away is not a session, so a flood of refusals cannot make a
 * well-behaved client look like one too many.
 */
static void
admit(struct child *k)
{
	enum service svc = role_service(k->role);
	uint32_t concurrent = 0, busy = 1, verdict;

	for (size_t i = 0; i < master.nkids; i++) {
		const struct child *o = &master.kids[i];
		if (o == k || !is_worker(o) || role_service(o->role) != svc ||
		    !o->busy || !o->admitted)
			continue;
		busy++;
		if (admit_same_client(o->client, k->client))   /* IPv6: one /64 */
			concurrent++;
	}
	verdict = admit_check(&master.conf, svc, k->client, concurrent, busy, now_ms());
	k->admitted = verdict == ADMIT_OK;
	count_admission(svc, verdict);
	if (verdict != ADMIT_OK)
		log_info("%s: refusing %s: %s", role_name(k->role), k->client,
		    verdict == ADMIT_PER_IP ? "too many sessions from this address" :
		    verdict == ADMIT_RATE ? "too many connections per minute" :
		    "every worker is busy");
	if (send_u32(k->ctl, MSG_ADMIT, verdict) == -1)
		log_warn("answering %s[%d]", role_name(k->role), (int)k->pid);
}

/*
 * A worker's MSG_STATUS.  Busy comes with the socket it accepted, and only
 * from an idle worker; the master takes the client's address from that
 * socket and keeps it until the worker says idle again, then shuts the
 * connection down (admit.h).  A connection already over (its client
 * reset it, or it was reported before) is turned away uncounted.
 * 0 done, -1 malformed.
 */
int
worker_status(struct child *k, struct ipc_msg *m)
{
	uint32_t busy, sessions;
	int peer = 0;

	if (ipc_get_u32(m, &busy) != 0 || ipc_get_u32(m, &sessions) != 0 ||
	    ipc_end(m) != 0 || busy > 1 || (busy == 1) != (m->fd != -1) ||
	    (busy && k->busy))
		return -1;
	if (busy && (peer = admit_peer(m->fd, k->client, sizeof(k->client))) == -1) {
		ipc_drop_fd(m);
		child_misbehaved(k, "reported a client socket it did not accept");
		return 0;
	}
	admit_release(k->client_fd);
	k->client_fd = m->fd;       /* -1 when idle */
	m->fd = -1;
	k->busy = (int)busy;
	k->sessions = sessions;
	k->admitted = 0;
	k->account[0] = '\0';
	k->busy_since = now_ms();
	if (!busy) {
		k->client[0] = '\0';
		k->idle_since = now_ms();
	} else if (peer == 1) {
		/* the connection is over: nothing to serve, nothing counted */
		strlcpy_(k->client, "-", sizeof(k->client));
		log_debug("%s[%d]: its client is gone already", role_name(k->role), (int)k->pid);
		if (send_u32(k->ctl, MSG_ADMIT, ADMIT_FULL) == -1)
			log_warn("answering %s[%d]", role_name(k->role), (int)k->pid);
	} else {
		pool_served(role_service(k->role));
		admit(k);
	}
	return 0;
}
