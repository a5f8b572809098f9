/*
 * posternctl's side in the master: counts admission verdicts and the
 * workers' events, fills the state snapshot (pools, helpers, sessions,
 * counters), and answers the control process's query, reload and stop.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/event.h"
#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "admit.h"
#include "ctl_state.h"
#include "master_int.h"

void
count_admission(enum service svc, uint32_t verdict)
{
	struct ctl_counters *c = &master.counters;

	switch (verdict) {
	case ADMIT_OK:
		c->sessions[svc]++;
		break;
	case ADMIT_PER_IP:
		c->refused[RF_PER_IP]++;
		break;
	case ADMIT_RATE:
		c->refused[RF_RATE]++;
		break;
	default:
		c->refused[RF_POOL_FULL]++;
		break;
	}
}

/* Counts one event whose fields passed count_event()'s common checks.
 * -1: not an event this worker may report. */
static int
count_kind(struct child *k, uint32_t kind, uint32_t reason, uint32_t count,
    const char *account)
{
	struct ctl_counters *c = &master.counters;
	int smtp = k->role == ROLE_SMTP;

	switch (kind) {
	case EV_DELIVERED:
		if (!smtp || reason != 0 || count == 0 || count > LIM_APPEND_ACCOUNTS)
			return -1;
		c->delivered++;
		c->delivered_rcpts += count;
		return 0;
	case EV_REFUSED:
		if (!smtp || reason < RF_RELAY || reason >= RF_MAX)
			return -1;
		c->refused[reason]++;
		return 0;
	case EV_TEMPFAIL:
		if (reason >= TF_MAX)
			return -1;
		c->tempfail[reason]++;
		return 0;
	case EV_LOGIN_OK:
		if (smtp || reason != 0 || !name_ok(account) || k->account[0] != '\0')
			return -1;
		strlcpy_(k->account, account, sizeof(k->account));
		c->login_ok++;
		return 0;
	case EV_LOGIN_FAIL:
		if (smtp || reason != 0)
			return -1;
		c->login_fail++;
		return 0;
	default:
		return -1;
	}
}

/*
 * A worker's MSG_EVENT.  Believed only within what that worker may know:
 * the service's own events, during a session the master admitted, reasons
 * the worker itself decides (not the master's admission refusals), and an
 * account that is a valid name.  -1: malformed, the worker is killed.
 */
int
count_event(struct child *k, struct ipc_msg *m)
{
	uint32_t kind, reason, count;
	char account[LIM_NAME + 1];

	if (ipc_get_u32(m, &kind) == -1 || ipc_get_u32(m, &reason) == -1 ||
	    ipc_get_u32(m, &count) == -1 ||
	    ipc_get_str(m, account, sizeof(account)) == -1 || ipc_end(m) == -1)
		return -1;
	if (!k->busy || !k->admitted)
		return -1;
	if (kind != EV_LOGIN_OK && account[0] != '\0')
		return -1;
	if (kind != EV_DELIVERED && count != 1)
		return -1;
	return count_kind(k, kind, reason, count, account);
}

static uint32_t
helper_state(const struct helper *h)
{
	if (h->pid == 0)
		return h == &master.keyh && !tls_wanted() ? HS_UNUSED : HS_DOWN;
	return h->ready ? HS_RUNNING : HS_STARTING;
}

static void
fill_helper(struct ctl_state *st, enum ctl_helper_idx i, const struct helper *h)
{
	st->helper[i].state = helper_state(h);
	st->helper[i].pid = (uint32_t)h->pid;
	st->helper[i].restarts = h->restarts;
}

/* The sessions in progress: admitted, busy workers. */
static void
fill_sessions(struct ctl_state *st)
{
	uint64_t now = now_ms();

	for (size_t i = 0; i < master.nkids; i++) {
		const struct child *k = &master.kids[i];
		struct ctl_session *s;

		if (!is_worker(k) || !k->busy || !k->admitted)
			continue;
		if (st->nsessions_total++ >= CTL_SESSIONS_MAX_COUNT)
			continue;
		s = &st->sess[st->nsessions++];
		s->service = role_service(k->role);
		s->pid = (uint32_t)k->pid;
		s->seconds = (now - k->busy_since) / 1000;
		strlcpy_(s->client, k->client, sizeof(s->client));
		strlcpy_(s->account, k->account, sizeof(s->account));
	}
}

static void
fill_state(struct ctl_state *st)
{
	memset(st, 0, sizeof(*st));
	st->started = master.started_unix;
	st->now = (uint64_t)time(NULL);
	st->master_pid = (uint32_t)getpid();
	strlcpy_(st->conf_path, master.conf_path, sizeof(st->conf_path));
	for (int svc = 0; svc < SVC_MAX; svc++) {
		uint32_t idle, total;

		pool_count(svc, &idle, &total);
		st->pool[svc].min_spare = master.conf.pool[svc].min_spare;
		st->pool[svc].max = master.conf.pool[svc].max;
		st->pool[svc].busy = total - idle;
		st->pool[svc].idle = idle;
		st->pool[svc].listening = (uint32_t)service_has_listeners(svc);
	}
	fill_helper(st, CH_STORE, &master.store);
	fill_helper(st, CH_KEYHOLDER, &master.keyh);
	fill_helper(st, CH_AUTH, &master.authh);
	st->c = master.counters;
	fill_sessions(st);
}

static void
control_done(struct child *k, uint32_t id, int ok, const char *text)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_CTL_DONE, id);
	ipc_put_u32(&m, (uint32_t)ok);
	ipc_put_str(&m, text);
	if (ipc_send(k->ctl, &m) == -1)
		log_warn("answering the control process");
}

/* MSG_CTL_QUERY / RELOAD / STOP from the control process.  -1: malformed. */
int
control_request(struct child *k, struct ipc_msg *m)
{
	static struct ipc_msg a;
	static struct ctl_state st;
	uint32_t uid;

	if (m->hdr.type == MSG_CTL_QUERY) {
		if (ipc_end(m) == -1)
			return -1;
		fill_state(&st);
		ipc_init(&a, MSG_CTL_STATE, m->hdr.id);
		ctl_state_put(&a, &st);
		if (ipc_send(k->ctl, &a) == -1)
			log_warn("sending the state to the control process");
		return 0;
	}
	if (ipc_get_u32(m, &uid) == -1 || ipc_end(m) == -1)
		return -1;
	if (m->hdr.type == MSG_CTL_RELOAD) {
		log_info("posternctl reload by uid %u", uid);
		if (master.stopping)
			control_done(k, m->hdr.id, 0, "the daemon is stopping");
		else if (reload() == 0)
			control_done(k, m->hdr.id, 1, "configuration reloaded");
		else
			control_done(k, m->hdr.id, 0, "the new configuration was not "
			    "applied (see the log); the running one is kept");
		return 0;
	}
	log_info("posternctl stop by uid %u", uid);
	control_done(k, m->hdr.id, 1, "stopping");
	begin_stop();
	return 0;
}
