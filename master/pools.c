/*
 * The worker pools: starting a worker with its channels, keeping each
 * service between min-spare idle workers and max, growing by the length
 * of the listen queue, shrinking idle extras, and backing off a service
 * whose workers die before serving.
 */
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "master_int.h"


static uint64_t next_spawn[SVC_MAX];
static uint32_t spawn_failures[SVC_MAX];
/* when the pool last turned a client away as full (pool_full()) */
static uint64_t last_full[SVC_MAX];
/* a watched listening socket of the service was readable (pool_watch()) */
static int listen_ready[SVC_MAX];

/* The listening sockets of svc, in config order; returns how many. */
static int
service_listeners(enum service svc, int *lfds)
{
	int nl = 0;

	for (uint32_t i = 0; i < master.conf.nlisten; i++)
		if (listen_service(master.conf.listen[i].kind) == svc)
			lfds[nl++] = master.listen_fds[i];
	return nl;
}

static void
close_pair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

/* The new worker's entry in the child table, and its configuration. */
static void
worker_add(enum role role, pid_t pid, int ctl)
{
	struct child *k;

	set_nonblock(ctl, 1);
	k = child_add();
	k->pid = pid;
	k->role = role;
	k->ctl = ctl;
	k->started = k->idle_since = now_ms();
	if (send_conf(k->ctl) == -1)
		log_warn("sending the configuration to %s worker %d",
		    role_name(role), (int)pid);
}

/*
 * Starts one worker for svc with fresh channels to the store (and the
 * keyholder).  Whatever the worker sends before the helper has taken its
 * end waits in the socket.  -1 (logged) when the channels or the process
 * cannot be made: the pool then backs off as after an early death.
 */
static int
worker_start(enum service svc)
{
	enum role role = service_role(svc);
	int ctl[2], st[2] = { -1, -1 }, kc[2] = { -1, -1 }, lfds[CONF_MAX_LISTEN];
	int nl = service_listeners(svc, lfds);
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) == -1) {
		log_warn("cannot start a %s worker: socketpair", role_name(role));
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, st) == -1 ||
	    (tls_wanted() && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, kc) == -1)) {
		log_warn("cannot start a %s worker: socketpair", role_name(role));
		close_pair(st);
		close_pair(ctl);
		return -1;
	}
	pid = spawn(role, ctl[1], st[1], kc[1], lfds, nl);
	close(ctl[1]);
	close(st[1]);
	if (kc[1] >= 0)
		close(kc[1]);
	if (pid == -1) {
		close(ctl[0]);
		close(st[0]);
		if (kc[0] >= 0)
			close(kc[0]);
		return -1;
	}
	helper_channel(&master.store, svc, pid, st[0]);
	if (kc[0] >= 0)
		helper_channel(&master.keyh, svc, pid, kc[0]);
	worker_add(role, pid, ctl[0]);
	return 0;
}

int
service_has_listeners(enum service svc)
{
	return service_listens(&master.conf, svc);
}

/* A service's workers that are not retiring, and how many of them are idle
 * (a worker just started counts as idle: it is about to accept). */
void
pool_count(enum service svc, uint32_t *idle, uint32_t *total)
{
	*idle = *total = 0;
	for (size_t i = 0; i < master.nkids; i++) {
		const struct child *k = &master.kids[i];

		if (!is_worker(k) || role_service(k->role) != svc || k->retiring)
			continue;
		(*total)++;
		if (!k->busy)
			(*idle)++;
	}
}

/*
 * Connections waiting in a service's accept queues.  On Linux TCP_INFO of
 * a listening socket gives the queue's length in tcpi_unacked (and its
 * limit in tcpi_sacked); the master reads no byte of them.
 */
static uint32_t
pool_waiting(enum service svc)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < master.conf.nlisten; i++) {
		struct tcp_info ti;
		socklen_t sl = sizeof(ti);

		if (listen_service(master.conf.listen[i].kind) != svc ||
		    master.listen_fds[i] < 0)
			continue;
		memset(&ti, 0, sizeof(ti));
		if (getsockopt(master.listen_fds[i], IPPROTO_TCP, TCP_INFO, &ti, &sl) == 0 &&
		    ti.tcpi_state == TCP_LISTEN && ti.tcpi_unacked < 100000)
			n += ti.tcpi_unacked;
	}
	return n;
}

/* POP3 and IMAP workers wait for the auth process's first start (a
 * login before it could only get a temporary error); SMTP never waits
 * for it. */
static int
pool_helpers_ready(enum service svc)
{
	return svc == SVC_SMTP || master.auth_was_ready;
}

/* May the pool of svc start a worker now? */
static int
pool_may_grow(enum service svc, uint32_t total, uint64_t now)
{
	return total < master.conf.pool[svc].max + 1 && now >= next_spawn[svc];
}

/* Retires idle workers of svc beyond want that idled long enough (one
 * started in this pass has idle_since > now). */
static void
pool_shrink(enum service svc, uint32_t idle, uint32_t want, uint64_t now)
{
	for (size_t i = 0; i < master.nkids && idle > want; i++) {
		struct child *k = &master.kids[i];
		if (!is_worker(k) || role_service(k->role) != svc ||
		    k->retiring || k->busy || k->idle_since > now ||
		    now - k->idle_since < POOL_IDLE_MS)
			continue;
		child_retire(k, UINT32_MAX);
		idle--;
	}
}

/* One service's pass of pool_maintain(). */
static void
pool_adjust(enum service svc, uint64_t now)
{
	const struct pool_conf *p = &master.conf.pool[svc];
	uint32_t idle, total, want, waiting;

	pool_count(svc, &idle, &total);
	waiting = pool_waiting(svc);
	/* a readable listener is one client at least, whatever
	 * TCP_INFO said: the master must not poll it again for nothing */
	if (listen_ready[svc] && waiting == 0)
		waiting = 1;
	listen_ready[svc] = 0;
	want = p->min_spare + (waiting < p->max + 1 ? waiting : p->max + 1);
	if (idle < want && pool_may_grow(svc, total, now) && waiting > 0)
		log_debug("%s pool: %u connections waiting, %u idle workers, starting up to %u",
		    service_name(svc), waiting, idle, want - idle);
	/* max serving workers, plus one that turns clients away with
	 * 421 / -ERR [SYS/TEMP] instead of leaving them in the backlog */
	while (idle < want && pool_may_grow(svc, total, now)) {
		if (worker_start(svc) == -1) {
			spawn_failures[svc]++;
			next_spawn[svc] = now + backoff(spawn_failures[svc]);
			break;
		}
		idle++;
		total++;
		/* a full pool: one start at a time (POOL_FULL_START_GAP_MS) */
		if (last_full[svc] != 0 && now - last_full[svc] < POOL_FULL_PACE_MS) {
			next_spawn[svc] = now + POOL_FULL_START_GAP_MS;
			break;
		}
	}
	pool_shrink(svc, idle, want, now);
}

/*
 * Keeps each pool between min-spare idle workers and max workers, plus one
 * idle worker for every connection waiting in the listen queue: a burst
 * gets its workers started together, not min-spare at a time, and with
 * min-spare 0 workers are started on demand only (the event loop watches
 * the listening sockets of a pool without an idle worker).  The helpers
 * come first: no worker starts before they are ready.
 */
void
pool_maintain(void)
{
	uint64_t now = now_ms();

	if (master.stopping)
		return;
	helpers_maintain(now);
	if (!helpers_ready())
		return;
	for (int svc = 0; svc < SVC_MAX; svc++)
		if (service_has_listeners(svc) && pool_helpers_ready(svc))
			pool_adjust(svc, now);
}

/*
 * Adds to pfd the listening sockets of every pool that has no idle worker
 * and may grow: a connection there wakes the master, which starts a
 * worker for it (pool_maintain()).  Returns the new count.
 */
size_t
pool_watch(struct pollfd *pfd, size_t n)
{
	uint64_t now = now_ms();

	if (master.stopping || !helpers_ready())
		return n;
	for (int svc = 0; svc < SVC_MAX; svc++) {
		uint32_t idle, total;

		if (!pool_helpers_ready(svc))
			continue;
		pool_count(svc, &idle, &total);
		if (idle > 0 || !pool_may_grow(svc, total, now))
			continue;
		for (uint32_t i = 0; i < master.conf.nlisten; i++)
			if (listen_service(master.conf.listen[i].kind) == (enum service)svc &&
			    master.listen_fds[i] >= 0) {
				pfd[n].fd = master.listen_fds[i];
				pfd[n++].events = POLLIN;
			}
	}
	return n;
}

/* A watched listening socket was readable: the next pool_maintain()
 * starts a worker for it. */
void
pool_listener_ready(int fd)
{
	for (uint32_t l = 0; l < master.conf.nlisten; l++)
		if (master.listen_fds[l] == fd)
			listen_ready[listen_service(master.conf.listen[l].kind)] = 1;
}

/* The pool of svc turned a client away because every worker was busy:
 * for POOL_FULL_PACE_MS its workers start one at a time. */
void
pool_full(enum service svc, uint64_t now)
{
	last_full[svc] = now;
}

/*
 * How long the master may sleep before a pool has something to do: a
 * paced or backed-off start that is due, at most TICK_MS (the other
 * timers: idle retirement, helper restarts).
 */
int
pool_sleep_ms(uint64_t now)
{
	uint64_t t = TICK_MS;

	for (int svc = 0; svc < SVC_MAX; svc++)
		if (next_spawn[svc] > now && next_spawn[svc] - now < t)
			t = next_spawn[svc] - now;
	return (int)t;
}

/* A worker of svc got a client: its workers start fine, no back-off. */
void
pool_served(enum service svc)
{
	spawn_failures[svc] = 0;
}

/* A reaped worker: one that died before serving anything slows its
 * pool's next start (Postfix's throttle), instead of a respawn loop. */
void
pool_worker_died(const struct child *k, uint64_t now)
{
	enum service svc = role_service(k->role);

	if (k->retiring || k->sessions != 0 || k->busy)
		return;
	spawn_failures[svc]++;
	next_spawn[svc] = now + backoff(spawn_failures[svc]);
	log_warnx("%s worker died before serving; next start in %llu ms",
	    role_name(k->role), (unsigned long long)(next_spawn[svc] - now));
}

/* After a reload: the new configuration's pools start at once. */
void
pool_reset_backoff(void)
{
	for (int svc = 0; svc < SVC_MAX; svc++) {
		spawn_failures[svc] = 0;
		next_spawn[svc] = 0;
		last_full[svc] = 0;
	}
}
