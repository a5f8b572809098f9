/*
 * The state the master hands the control process for posternctl status,
 * who and stats (MSG_CTL_STATE): pools, helpers, sessions now and the
 * counters since start.  One definition, with the encoder the master uses
 * and the checked decoder the control process uses.
 */
#ifndef POSTERN_CTL_STATE_H
#define POSTERN_CTL_STATE_H

#include <stdint.h>
#include "../privsep/conf.h"
#include "../privsep/event.h"
#include "../privsep/ipc.h"
#include "../privsep/params.h"

enum ctl_helper_state {
	HS_UNUSED = 0,       /* keyholder without tls-cert */
	HS_STARTING = 1,     /* started, not ready yet */
	HS_RUNNING = 2,
	HS_DOWN = 3,         /* dead, waiting for its restart */
	HS_MAX
};

enum ctl_helper_idx { CH_STORE = 0, CH_KEYHOLDER = 1, CH_AUTH = 2, CH_MAX };

struct ctl_session {
	uint32_t service;                /* enum service */
	uint32_t pid;                    /* the worker */
	uint64_t seconds;                /* since the session began */
	char client[LIM_ADDR];
	char account[LIM_NAME + 1];      /* "" until logged in (POP3) */
};

struct ctl_counters {
	uint64_t sessions[SVC_MAX];      /* admitted sessions */
	uint64_t delivered;              /* messages appended */
	uint64_t delivered_rcpts;        /* their recipients (mailboxes) */
	uint64_t refused[RF_MAX];
	uint64_t tempfail[TF_MAX];
	uint64_t login_ok, login_fail;
};

struct ctl_state {
	uint64_t started;                /* unix seconds */
	uint64_t now;                    /* unix seconds */
	uint32_t master_pid;
	char conf_path[CONF_PATH];
	struct {
		uint32_t min_spare, max, busy, idle, listening;
	} pool[SVC_MAX];
	struct {
		uint32_t state;          /* enum ctl_helper_state */
		uint32_t pid;            /* 0 when not running */
		uint32_t restarts;       /* deaths since start */
	} helper[CH_MAX];
	struct ctl_counters c;
	uint32_t nsessions_total;        /* sessions now; the first nsessions listed */
	uint32_t nsessions;
	struct ctl_session sess[CTL_SESSIONS_MAX_COUNT];
};

/* Appends st to m (MSG_CTL_STATE payload); m->err says when it overflowed. */
void ctl_state_put(struct ipc_msg *m, const struct ctl_state *st);
/* Reads the payload into *st: every count in range, every string fitting,
 * nothing left over.  0 ok, -1 malformed. */
int ctl_state_get(struct ipc_msg *m, struct ctl_state *st);

const char *ctl_helper_state_name(uint32_t s);
/* "store", "keyholder", "auth" (enum ctl_helper_idx). */
const char *ctl_helper_name(int h);
const char *ctl_service_name(uint32_t svc);   /* "smtp", "pop3", "?" */

#endif
