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

static const char *
refusal_reason(uint32_t verdict)
{
	return verdict == ADMIT_PER_IP ? "too many sessions from this address" :
	    verdict == ADMIT_RATE ? "too many connections per minute" :
	    "every worker is busy";
}

/*
 * Refusals are logged one a line with the address, up to
 * REFUSAL_LOG_LINES_COUNT of a kind (service and reason) in a
 * REFUSAL_LOG_WINDOW_MS window; the rest of the window is one line with
 * their count, so that a flood of hundreds of refused connections a
 * second does not turn into as many log lines (Postfix's process-limit
 * warning comes once a throttle time too).
 */
static struct refusal_window {
	uint64_t start;
	uint32_t logged, more;
} refusals[SVC_MAX][ADMIT_FULL + 1];

static void
refusal_summary(enum service svc, uint32_t verdict, struct refusal_window *w)
{
	if (w->more > 0)
		log_info("%s: refused %u more clients in %u s: %s",
		    service_name(svc), w->more,
		    REFUSAL_LOG_WINDOW_MS / 1000, refusal_reason(verdict));
	w->more = w->logged = 0;
}

static void
log_refusal(const struct child *k, uint32_t verdict, uint64_t now)
{
	enum service svc = role_service(k->role);
	struct refusal_window *w;

	if (verdict > ADMIT_FULL)
		verdict = ADMIT_FULL;
	w = &refusals[svc][verdict];
	if (now - w->start >= REFUSAL_LOG_WINDOW_MS) {
		refusal_summary(svc, verdict, w);
		w->start = now;
	}
	if (w->logged < REFUSAL_LOG_LINES_COUNT) {
		w->logged++;
		log_info("%s: refusing %s: %s", role_name(k->role), k->client,
		    refusal_reason(verdict));
	} else
		w->more++;
}

/* The count of a window that has ended with refusals left unlogged
 * (called once a tick at least). */
void
refusal_log_tick(uint64_t now)
{
	for (int svc = 0; svc < SVC_MAX; svc++)
		for (uint32_t v = 0; v <= ADMIT_FULL; v++) {
			struct refusal_window *w = &refusals[svc][v];

			if (w->more > 0 && now - w->start >= REFUSAL_LOG_WINDOW_MS) {
				refusal_summary(svc, v, w);
				w->start = now;
			}
		}
}

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
	uint64_t now = now_ms();

	verdict = admit_check(&master.conf, svc, k->client, concurrent, busy, now);
	k->admitted = verdict == ADMIT_OK;
	count_admission(svc, verdict);
	if (verdict == ADMIT_FULL)
		pool_full(svc, now);
	if (verdict != ADMIT_OK)
		log_refusal(k, verdict, now);
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
