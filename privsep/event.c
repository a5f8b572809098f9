/* Worker events for the master's counters: see event.h. */
#include <stddef.h>

#include "event.h"
#include "ipc.h"
#include "msg.h"

static const char *const refusal_names[RF_MAX] = {
	[RF_PER_IP] = "per-ip",
	[RF_RATE] = "rate",
	[RF_POOL_FULL] = "pool-full",
	[RF_RELAY] = "relay",
	[RF_UNKNOWN_RCPT] = "unknown-recipient",
	[RF_TOO_BIG] = "too-big",
	[RF_BARE_LF] = "bare-cr-lf",
	[RF_LINE_TOO_LONG] = "line-too-long",
	[RF_QUOTA] = "quota",
};

static const char *const tempfail_names[TF_MAX] = {
	[TF_STORE_UNAVAILABLE] = "store-unavailable",
	[TF_STORE_ERROR] = "store-error",
	[TF_NO_SPACE] = "no-space",
	[TF_LOOKUP] = "lookup",
	[TF_SPOOL] = "spool",
};

const char *
ev_refusal_name(uint32_t r)
{
	return r < RF_MAX ? refusal_names[r] : NULL;
}

const char *
ev_tempfail_name(uint32_t r)
{
	return r < TF_MAX ? tempfail_names[r] : NULL;
}

static int ev_fd = -1;

void
ev_init(int control_fd)
{
	ev_fd = control_fd;
}

void
ev_send(enum ev_kind kind, uint32_t reason, uint32_t count,
    const char *account)
{
	static struct ipc_msg m;

	if (ev_fd < 0)
		return;
	ipc_init(&m, MSG_EVENT, 0);
	ipc_put_u32(&m, (uint32_t)kind);
	ipc_put_u32(&m, reason);
	ipc_put_u32(&m, count);
	ipc_put_str(&m, account != NULL ? account : "");
	(void)ipc_send(ev_fd, &m);
}
