/* The MSG_CTL_STATE payload: see ctl_state.h. */
#include <string.h>

#include "ctl_state.h"

static const char *const helper_state_names[HS_MAX] = {
	[HS_UNUSED] = "not-used",
	[HS_STARTING] = "starting",
	[HS_RUNNING] = "running",
	[HS_DOWN] = "down",
};

const char *
ctl_helper_state_name(uint32_t s)
{
	return s < HS_MAX ? helper_state_names[s] : "?";
}

const char *
ctl_helper_name(int h)
{
	static const char *const names[CH_MAX] = { "store", "keyholder", "auth" };

	return h >= 0 && h < CH_MAX ? names[h] : "?";
}

const char *
ctl_service_name(uint32_t svc)
{
	return svc < SVC_MAX ? service_name((enum service)svc) : "?";
}

void
ctl_state_put(struct ipc_msg *m, const struct ctl_state *st)
{
	ipc_put_u64(m, st->started);
	ipc_put_u64(m, st->now);
	ipc_put_u32(m, st->master_pid);
	ipc_put_str(m, st->conf_path);
	for (int s = 0; s < SVC_MAX; s++) {
		ipc_put_u32(m, st->pool[s].min_spare);
		ipc_put_u32(m, st->pool[s].max);
		ipc_put_u32(m, st->pool[s].busy);
		ipc_put_u32(m, st->pool[s].idle);
		ipc_put_u32(m, st->pool[s].listening);
	}
	for (int h = 0; h < CH_MAX; h++) {
		ipc_put_u32(m, st->helper[h].state);
		ipc_put_u32(m, st->helper[h].pid);
		ipc_put_u32(m, st->helper[h].restarts);
	}
	for (int s = 0; s < SVC_MAX; s++)
		ipc_put_u64(m, st->c.sessions[s]);
	ipc_put_u64(m, st->c.delivered);
	ipc_put_u64(m, st->c.delivered_rcpts);
	for (int r = 0; r < RF_MAX; r++)
		ipc_put_u64(m, st->c.refused[r]);
	for (int r = 0; r < TF_MAX; r++)
		ipc_put_u64(m, st->c.tempfail[r]);
	ipc_put_u64(m, st->c.login_ok);
	ipc_put_u64(m, st->c.login_fail);
	ipc_put_u32(m, st->nsessions_total);
	ipc_put_u32(m, st->nsessions);
	for (uint32_t i = 0; i < st->nsessions && i < CTL_SESSIONS_MAX_COUNT; i++) {
		const struct ctl_session *s = &st->sess[i];

		ipc_put_u32(m, s->service);
		ipc_put_u32(m, s->pid);
		ipc_put_u64(m, s->seconds);
		ipc_put_str(m, s->client);
		ipc_put_str(m, s->account);
	}
}

int
ctl_state_get(struct ipc_msg *m, struct ctl_state *st)
{
	int bad = 0;

	memset(st, 0, sizeof(*st));
	bad |= ipc_get_u64(m, &st->started);
	bad |= ipc_get_u64(m, &st->now);
	bad |= ipc_get_u32(m, &st->master_pid);
	bad |= ipc_get_str(m, st->conf_path, sizeof(st->conf_path));
	for (int s = 0; s < SVC_MAX; s++) {
		bad |= ipc_get_u32(m, &st->pool[s].min_spare);
		bad |= ipc_get_u32(m, &st->pool[s].max);
		bad |= ipc_get_u32(m, &st->pool[s].busy);
		bad |= ipc_get_u32(m, &st->pool[s].idle);
		bad |= ipc_get_u32(m, &st->pool[s].listening);
	}
	for (int h = 0; h < CH_MAX; h++) {
		bad |= ipc_get_u32(m, &st->helper[h].state);
		bad |= ipc_get_u32(m, &st->helper[h].pid);
		bad |= ipc_get_u32(m, &st->helper[h].restarts);
		if (st->helper[h].state >= HS_MAX)
			bad = -1;
	}
	for (int s = 0; s < SVC_MAX; s++)
		bad |= ipc_get_u64(m, &st->c.sessions[s]);
	bad |= ipc_get_u64(m, &st->c.delivered);
	bad |= ipc_get_u64(m, &st->c.delivered_rcpts);
	for (int r = 0; r < RF_MAX; r++)
		bad |= ipc_get_u64(m, &st->c.refused[r]);
	for (int r = 0; r < TF_MAX; r++)
		bad |= ipc_get_u64(m, &st->c.tempfail[r]);
	bad |= ipc_get_u64(m, &st->c.login_ok);
	bad |= ipc_get_u64(m, &st->c.login_fail);
	bad |= ipc_get_u32(m, &st->nsessions_total);
	bad |= ipc_get_u32(m, &st->nsessions);
	if (bad != 0 || st->nsessions > CTL_SESSIONS_MAX_COUNT ||
	    st->nsessions > st->nsessions_total)
		return -1;
	for (uint32_t i = 0; i < st->nsessions; i++) {
		struct ctl_session *s = &st->sess[i];

		if (ipc_get_u32(m, &s->service) == -1 || s->service >= SVC_MAX ||
		    ipc_get_u32(m, &s->pid) == -1 ||
		    ipc_get_u64(m, &s->seconds) == -1 ||
		    ipc_get_str(m, s->client, sizeof(s->client)) == -1 ||
		    ipc_get_str(m, s->account, sizeof(s->account)) == -1)
			return -1;
	}
	return ipc_end(m);
}
