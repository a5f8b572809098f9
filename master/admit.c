/* Connection admission: see admit.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "admit.h"

struct rate {
	char addr[LIM_ADDR];
	uint64_t window_start;
	uint32_t count;
};

static struct rate rates[SVC_MAX][ADMIT_RATE_SLOTS_COUNT];

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
		struct rate *r = &rates[svc][(h + i) % ADMIT_RATE_SLOTS_COUNT];

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

/* A client address as written by the worker ("192.0.2.7", "2001:db8::5",
 * "::ffff:192.0.2.7", which is IPv4).  0 ok, -1 not an address. */
static int
addr_parse(const char *s, struct cidr *a)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->addr) == 1) {
		a->family = AF_INET;
		a->prefix = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->addr) != 1)
		return -1;
	if (memcmp(a->addr, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(a->addr, a->addr + 12, 4);
		memset(a->addr + 4, 0, 12);
		a->family = AF_INET;
		a->prefix = 32;
		return 0;
	}
	a->family = AF_INET6;
	a->prefix = 128;
	return 0;
}

static int
cidr_contains(const struct cidr *net, const struct cidr *a)
{
	unsigned whole = net->prefix / 8, rest = net->prefix % 8;

	if (net->family != a->family)
		return 0;
	if (memcmp(net->addr, a->addr, whole) != 0)
		return 0;
	return rest == 0 ||
	    ((net->addr[whole] ^ a->addr[whole]) & (uint8_t)(0xff00 >> rest)) == 0;
}

bool
admit_exempt(const struct conf *c, const char *addr)
{
	struct cidr a;
	uint32_t n = c->nexempt < CONF_MAX_EXEMPT ? c->nexempt : CONF_MAX_EXEMPT;

	if (addr_parse(addr, &a) == -1)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (cidr_contains(&c->exempt[i], &a))
			return true;
	return false;
}

void
admit_key(const char *addr, char *key, size_t size)
{
	struct cidr a;
	char text[INET6_ADDRSTRLEN];

	if (addr_parse(addr, &a) == -1) {
		strlcpy_(key, addr, size);
		return;
	}
	if (a.family == AF_INET6)
		memset(a.addr + 8, 0, 8);   /* the /64 */
	if (inet_ntop(a.family, a.addr, text, sizeof(text)) == NULL) {
		strlcpy_(key, addr, size);
		return;
	}
	if (a.family == AF_INET6)
		snprintf(key, size, "%s/64", text);
	else
		strlcpy_(key, text, size);
}

bool
admit_same_client(const char *a, const char *b)
{
	char ka[LIM_ADDR], kb[LIM_ADDR];

	admit_key(a, ka, sizeof(ka));
	admit_key(b, kb, sizeof(kb));
	return strcmp(ka, kb) == 0;
}

uint32_t
admit_sessions_limit(const struct conf *c, enum service svc)
{
	return svc == SVC_IMAP ? c->imap_max_sessions_per_ip : c->max_sessions_per_ip;
}

uint32_t
admit_check(const struct conf *c, enum service svc, const char *addr,
    uint32_t concurrent, uint32_t busy, uint64_t now)
{
	char key[LIM_ADDR];
	struct rate *r;

	admit_key(addr, key, sizeof(key));
	r = rate_slot(svc, key, now);

	if (now - r->window_start >= ADMIT_RATE_WINDOW_MS) {
		r->window_start = now;
		r->count = 0;
	}
	r->count++;
	if (busy > c->pool[svc].max)
		return ADMIT_FULL;
	if (admit_exempt(c, addr))
		return ADMIT_OK;
	if (admit_sessions_limit(c, svc) != 0 && concurrent >= admit_sessions_limit(c, svc))
		return ADMIT_PER_IP;
	if (c->max_conn_per_ip_per_min != 0 && r->count > c->max_conn_per_ip_per_min)
		return ADMIT_RATE;
	return ADMIT_OK;
}

int
admit_peer(int fd, char *out, size_t outsz)
{
	struct sockaddr_storage ss;
	struct tcp_info ti;
	socklen_t sl = sizeof(int);
	int proto = -1;

	/* a TCP socket, not a channel, a memfd or a listener */
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &sl) == -1 ||
	    proto != IPPROTO_TCP)
		return -1;
	memset(&ti, 0, sizeof(ti));
	sl = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &sl) == -1 ||
	    ti.tcpi_state == TCP_LISTEN)
		return -1;
	/* connected, and not yet shut down by the master: a socket reported
	 * for an earlier session is in FIN_WAIT or CLOSE by now, and so is
	 * one whose client reset it before the worker said busy (an honest
	 * worker: not a reason to kill it, nor an address to count) */
	if (ti.tcpi_state != TCP_ESTABLISHED && ti.tcpi_state != TCP_CLOSE_WAIT)
		return 1;
	memset(&ss, 0, sizeof(ss));
	sl = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	/* the worker's own text for its log (workers/worker.c client_text) */
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;
		if (inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)outsz) == NULL)
			return -1;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)&ss;
		if (inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)outsz) == NULL)
			return -1;
	} else
		return -1;
	return 0;
}

void
admit_release(int fd)
{
	if (fd < 0)
		return;
	(void)shutdown(fd, SHUT_RDWR);
	close(fd);
}
