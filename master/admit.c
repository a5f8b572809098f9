/* Connection admission: see admit.h. */
#include <string.h>

#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "admit.h"

#define RATE_SLOTS   4096      /* client addresses remembered per service */
#define RATE_WINDOW  60000     /* ms: the "per minute" */

struct rate {
	char addr[LIM_ADDR];
	uint64_t window_start;
	uint32_t count;
};

static struct rate rates[SVC_MAX][RATE_SLOTS];

static uint32_t
addr_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot for addr: its own, else the emptiest or oldest of 8 probes. */
static struct rate *
rate_slot(enum service svc, const char *addr, uint64_t now)
{
	uint32_t h = addr_hash(addr);
	struct rate *victim = NULL;

	for (uint32_t i = 0; i < 8; i++) {
		struct rate *r = &rates[svc][(h + i) % RATE_SLOTS];

		if (strcmp(r->addr, addr) == 0)
			return r;
		if (victim == NULL || r->window_start < victim->window_start)
			victim = r;   /* an empty slot has window_start 0 */
	}
	strlcpy_(victim->addr, addr, sizeof(victim->addr));
	victim->window_start = now;
	victim->count = 0;
	return victim;
}

uint32_t
admit_check(const struct conf *c, enum service svc, const char *addr,
    uint32_t concurrent, uint32_t busy, uint64_t now)
{
	struct rate *r = rate_slot(svc, addr, now);

	if (now - r->window_start >= RATE_WINDOW) {
		r->window_start = now;
		r->count = 0;
	}
	r->count++;
	if (busy > c->pool[svc].max)
		return ADMIT_FULL;
	if (c->max_sessions_per_ip != 0 && concurrent >= c->max_sessions_per_ip)
		return ADMIT_PER_IP;
	if (c->max_conn_per_ip_per_min != 0 && r->count > c->max_conn_per_ip_per_min)
		return ADMIT_RATE;
	return ADMIT_OK;
}
