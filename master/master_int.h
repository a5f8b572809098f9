/*
 * Inside the master: the state its files share (one struct, struct
 * master_state) and the functions one file offers another.  Nothing
 * outside master/ includes this; posternd's entry is master.h.
 *
 *   master.c    master_main, the event loop, signals, stopping
 *   children.c  the child table: add, find, retire, what the master tells a child
 *   spawn.c     fork + exec of posternd as a role with fixed descriptors
 *   pools.c     worker pools: min-spare/max, growth by listen queue, shrink, back-off
 *   helpers.c   store, keyholder, auth, control: start, channels, files, restarts
 *   status.c    a worker's busy/idle report and its admission verdict
 *   child_msg.c reading the children's channels and routing each message
 *   reap.c      reaping dead children, describing their exit, back-off delays
 *   reload.c    SIGHUP: parse, descriptor budget, rebind, hand over
 *   ctl_master.c posternctl's side in the master: counters, snapshot, requests
 *   daemon.c    directories, daemonizing, the pidfile
 *   listen.c    binding the listening sockets
 */
#ifndef POSTERN_MASTER_INT_H
#define POSTERN_MASTER_INT_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../privsep/conf.h"
#include "../privsep/ipc.h"
#include "../privsep/params.h"
#include "../privsep/proc.h"
#include "ctl_state.h"

/* One process the master started. */
struct child {
	pid_t pid;
	enum role role;
	int ctl;                 /* our end of its control channel */
	int busy;
	int admitted;            /* busy with a session admit() let in (not a refusal) */
	int retiring;            /* told to exit; not counted in the pool */
	int stop_sent;           /* the final MSG_SHUTDOWN went out */
	uint32_t sessions;
	uint64_t started, idle_since;
	char client[LIM_ADDR];   /* read from client_fd, never the worker's word */
	int client_fd;           /* the busy worker's client socket (admit.h) */
	uint64_t busy_since;             /* when the session in progress began */
	char account[LIM_NAME + 1];      /* its account once logged in (MSG_EVENT) */
};

/* A helper process: the store and the keyholder, which every worker has a
 * channel to, the auth process, which only the store talks to, and the
 * control process (posternctl). */
struct helper {
	enum role role;
	pid_t pid;               /* 0: not running */
	int ctl;
	int ready;
	int first_pending;       /* its first load decides whether we start */
	uint64_t next_start;
	uint32_t failures;
	uint32_t restarts;       /* deaths since start (posternctl status) */
};

/* What several of the master's files share; a file's private state stays
 * static in that file. */
struct master_state {
	struct conf conf;
	const char *conf_path;
	int listen_fds[CONF_MAX_LISTEN];

	struct child *kids;      /* the child table (children.c) */
	size_t nkids, kids_cap;

	struct helper store, keyh, authh;
	/* After SIGHUP: the keyholder with the new certificates, until it has
	 * loaded them.  The running one serves until then, and stays if the
	 * new files are bad. */
	struct helper keyh_next;
	/* Started once the store is ready, with the control socket and a
	 * channel to the store; restarted with back-off. */
	struct helper ctlh;
	int ctl_listen_fd;
	/* A client waits on the control socket (or the control process died
	 * and is due a restart): start it.  Otherwise the master watches the
	 * socket; the process exits after control-max-idle. */
	int ctl_demand;
	/* the auth process has been ready once: the POP3 pool waits for that,
	 * and nothing waits for a restart (pool_helpers_ready) */
	int auth_was_ready;

	/* posternctl status / stats: counted from admission verdicts and the
	 * workers' MSG_EVENTs (privsep/event.h). */
	struct ctl_counters counters;
	uint64_t started_unix;

	int stopping;            /* SIGTERM or posternctl stop came */
	/* Something the pools depend on may have changed (a child's state,
	 * a signal, a waiting listener): pool_maintain() runs at the next
	 * pass of the loop; otherwise once a TICK_MS.  Log lines and
	 * counted events, most of the master's wake-ups under load, leave
	 * it clear. */
	int pool_dirty;
};

extern struct master_state master;

/* children.c */
struct child *child_add(void);
struct child *child_by_pid(pid_t pid);
void child_remove(struct child *k);
void child_retire(struct child *k, uint32_t grace_ms);
void child_misbehaved(struct child *k, const char *what);
void workers_retire(void);
enum service role_service(enum role r);
enum role service_role(enum service svc);
int is_worker(const struct child *k);
int send_conf(int fd);
int send_u32(int fd, uint32_t type, uint32_t v);

/* spawn.c */
void spawn_init(int exe_fd, int verbose);
pid_t spawn(enum role role, int ctl, int storefd, int keyfd, const int *lfds, int nl);

/* pools.c */
void pool_maintain(void);
size_t pool_watch(struct pollfd *pfd, size_t n);
void pool_listener_ready(int fd);
void pool_count(enum service svc, uint32_t *idle, uint32_t *total);
int service_has_listeners(enum service svc);
void pool_served(enum service svc);
void pool_full(enum service svc, uint64_t now);
int pool_sleep_ms(uint64_t now);
void pool_worker_died(const struct child *k, uint64_t now);
void pool_reset_backoff(void);

/* helpers.c */
int tls_wanted(void);
void helpers_maintain(uint64_t now);
size_t control_watch(struct pollfd *pfd, size_t n);
int helpers_ready(void);
struct helper *helper_of(const struct child *k);
void helper_start(struct helper *h);
void helper_channel(struct helper *h, enum service svc, pid_t pid, int hend);
void helper_is_ready(struct child *k, struct helper *h);
void helper_loaded(struct child *k, struct helper *h, uint32_t ok, const char *why);
void helper_died(struct helper *h, struct child *k, uint64_t now);
void send_accounts_to(const struct helper *h);

/* status.c */
int worker_status(struct child *k, struct ipc_msg *m);
void refusal_log_tick(uint64_t now);

/* child_msg.c */
void read_child(struct child *k);
void drain_logs(struct child *k);

/* reap.c */
void reap(void);
uint64_t backoff(uint32_t failures);

/* reload.c */
int reload(void);

/* listen.c */
int bind_all(const struct conf *c, int *fds, const struct conf *old, const int *oldfds);

/* ctl_master.c */
void count_admission(enum service svc, uint32_t verdict);
int count_event(struct child *k, struct ipc_msg *m);
int control_request(struct child *k, struct ipc_msg *m);

/* daemon.c */
void prepare_dirs(void);
void daemonize(void);
void write_pidfile(void);

/* master.c */
void begin_stop(void);

#endif
