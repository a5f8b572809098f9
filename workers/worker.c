/*
 * The worker frame: see worker.h.  Entry order (OpenSMTPD queue()): take
 * the config from the master, check the inherited descriptors, enter the
 * sandbox, then serve one session at a time until recycled.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../privsep/conf.h"
#include "../privsep/event.h"
#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/proc.h"
#include "../privsep/sandbox.h"
#include "../privsep/util.h"
#include "conn.h"
#include "storecli.h"
#include "tls.h"
#include "worker.h"

static struct conf conf;
static struct conn conn;
static int nlisten;
static int listen_fd[CONF_MAX_LISTEN];
static enum listen_kind listen_kind_of[CONF_MAX_LISTEN];
static int retiring;            /* exit after the session in progress */
static int epfd = -1;           /* the listeners (exclusive) + control */

#define EP_CONTROL UINT32_MAX   /* epoll data of the control channel */

/* Reads one control message; acts on MSG_SHUTDOWN.  -1 on EOF/error. */
static int
control_read(struct conn *c)
{
	static struct ipc_msg m;
	uint32_t grace;
	int r = ipc_recv(FD_CONTROL, &m);

	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0) {
		/* the master is gone: finish now */
		if (c != NULL)
			c->shutdown_at = now_ms();
		retiring = 1;
		return -1;
	}
	ipc_drop_fd(&m);
	if (m.hdr.type == MSG_SHUTDOWN && ipc_get_u32(&m, &grace) == 0 &&
	    ipc_end(&m) == 0) {
		retiring = 1;
		if (c != NULL && grace != UINT32_MAX)
			c->shutdown_at = now_ms() + grace;
		return 0;
	}
	/* the answer to a busy status that came after wait_admit() gave up
	 * (a master slowed by many workers starting): the session already
	 * runs, admitted */
	if (m.hdr.type == MSG_ADMIT)
		return 0;
	fatalx("unexpected %s from the master", msg_name(m.hdr.type));
}

/*
 * Waits for the master's MSG_ADMIT after a busy status.  Shutdown requests
 * that come first are noted.  No answer in 5 s (a master that is busy)
 * admits: the limits are a defence, not a reason to fail a client.
 */
static uint32_t
wait_admit(void)
{
	static struct ipc_msg m;
	uint64_t deadline = now_ms() + ADMIT_WAIT_MS;
	uint32_t verdict, grace;

	for (;;) {
		int r;

		if (fd_wait(FD_CONTROL, POLLIN, deadline) != 1)
			return ADMIT_OK;
		r = ipc_recv(FD_CONTROL, &m);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			retiring = 1;
			conn.shutdown_at = now_ms();
			return ADMIT_OK;
		}
		ipc_drop_fd(&m);
		if (m.hdr.type == MSG_ADMIT && ipc_get_u32(&m, &verdict) == 0 &&
		    ipc_end(&m) == 0)
			return verdict;
		if (m.hdr.type == MSG_SHUTDOWN && ipc_get_u32(&m, &grace) == 0 &&
		    ipc_end(&m) == 0) {
			retiring = 1;
			if (grace != UINT32_MAX)
				conn.shutdown_at = now_ms() + grace;
			continue;
		}
		fatalx("unexpected %s from the master", msg_name(m.hdr.type));
	}
}

/* Turns a client away in its own protocol, without reading from it. */
static void
refuse(int role, struct session *s, uint32_t verdict)
{
	const char *why = verdict == ADMIT_FULL ? "too busy, try again later" :
	    "too many connections from your address";

	if (role == ROLE_SMTP)
		conn_printf(s->conn, "421 4.7.0 %s %s\r\n", conf.hostname, why);
	else if (role == ROLE_IMAP)   /* RFC 3501 7.1.5: BYE as the greeting */
		conn_printf(s->conn, "* BYE [UNAVAILABLE] %s\r\n", why);
	else
		conn_printf(s->conn, "-ERR [SYS/TEMP] %s\r\n", why);
}

/*
 * The store's end of our channel is gone before the session starts: the
 * store could not take it (out of descriptors) or died.  Nothing could be
 * delivered or read: the client is told to come back later.
 */
static int
store_gone(void)
{
	struct pollfd p = { .fd = FD_STORE, .events = POLLIN };

	return store_dead() ||
	    (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)) != 0);
}

static void
refuse_nostore(int role, struct session *s)
{
	if (role == ROLE_SMTP)
		conn_printf(s->conn, "421 4.3.0 %s Service temporarily unavailable, "
		    "try again later\r\n", conf.hostname);
	else if (role == ROLE_IMAP)
		conn_printf(s->conn, "* BYE [UNAVAILABLE] Service temporarily unavailable\r\n");
	else
		conn_printf(s->conn, "-ERR [SYS/TEMP] Service temporarily unavailable\r\n");
}

static void
control_hook(struct conn *c)
{
	control_read(c);
}

/* Busy with the client on fd (the master reads its address from the
 * socket itself, master/admit.h), or idle (fd -1). */
static void
send_status(int busy, uint32_t sessions, int fd)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_STATUS, 0);
	ipc_put_u32(&m, (uint32_t)busy);
	ipc_put_u32(&m, sessions);
	ipc_set_fd(&m, fd);
	if (ipc_send(FD_CONTROL, &m) == -1)
		exit(0);   /* the master is gone */
}

/* The listening sockets this service inherited, in config order. */
static void
collect_listeners(enum service svc)
{
	for (uint32_t i = 0; i < conf.nlisten; i++) {
		struct stat st;
		int fd;

		if (listen_service(conf.listen[i].kind) != svc)
			continue;
		fd = FD_LISTEN_FIRST + nlisten;
		if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
			fatalx("listening socket for %s missing", conf.listen[i].text);
		set_nonblock(fd, 1);
		listen_fd[nlisten] = fd;
		listen_kind_of[nlisten] = conf.listen[i].kind;
		nlisten++;
	}
	if (nlisten == 0)
		fatalx("no listening sockets");
}

/*
 * The idle wait: one epoll set per worker with the listening sockets
 * registered EPOLLEXCLUSIVE, so a new connection wakes one idle worker of
 * the pool instead of all of them (each poll()er used to wake and all but
 * one got EAGAIN from accept4).  The kernel passes an exclusive wake-up
 * on past a worker that is busy (not in epoll_wait), so a connection
 * never waits for a session to end.  The control channel is registered
 * without it.  Built before the jail: epoll_ctl (requeue_listeners) and
 * epoll_wait/epoll_pwait are in the workers' seccomp allowlist, not
 * epoll_create1.
 */
static void
add_listeners(void)
{
	struct epoll_event ev;

	for (int i = 0; i < nlisten; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd[i], &ev) == -1)
			fatal("epoll_ctl listener");
	}
}

static void
setup_epoll(void)
{
	struct epoll_event ev;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = EP_CONTROL;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, FD_CONTROL, &ev) == -1)
		fatal("epoll_ctl control");
	add_listeners();
}

/*
 * After a session: to the back of the listeners' wait queues.  The kernel
 * hands an exclusive wake-up to the first idle waiter in queue order, so
 * without this the oldest idle worker would take every connection while
 * the others idle until the master retires them; re-registering makes
 * the idle workers take turns, as they did when all of them raced.
 */
static void
requeue_listeners(void)
{
	for (int i = 0; i < nlisten; i++)
		if (epoll_ctl(epfd, EPOLL_CTL_DEL, listen_fd[i], NULL) == -1)
			fatal("epoll_ctl del listener");
	add_listeners();
}

static void
client_text(const struct sockaddr_storage *ss, char *out, size_t outsz, bool *loop)
{
	*loop = false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)outsz);
		*loop = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		const uint8_t *a = in6->sin6_addr.s6_addr;
		inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)outsz);
		*loop = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127);
	} else
		strlcpy_(out, "unknown", outsz);
}

static void
new_sessid(char *out, size_t outsz)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		fatal("getrandom");
	snprintf(out, outsz, "%016llx", (unsigned long long)r);
}

static void
serve(int role, int fd, enum listen_kind kind, const struct sockaddr_storage *ss,
    uint32_t *sessions)
{
	struct session s;
	uint32_t verdict;

	memset(&s, 0, sizeof(s));
	s.conf = &conf;
	s.conn = &conn;
	s.store_fd = FD_STORE;
	s.key_fd = FD_KEYHOLDER;
	s.kind = kind;
	new_sessid(s.sessid, sizeof(s.sessid));
	client_text(ss, s.client, sizeof(s.client), &s.loopback);
	conn_init(&conn, fd, FD_CONTROL);
	send_status(1, *sessions, fd);
	verdict = wait_admit();
	log_debug("session %s: connection from %s on %s", s.sessid, s.client,
	    listen_kind_name(kind));
	if (verdict != ADMIT_OK) {
		if (!listen_is_tls(kind))   /* a TLS client could not read it */
			refuse(role, &s, verdict);
	} else if (store_gone()) {
		log_warnx("session %s: no channel to the store; refusing %s, "
		    "this worker exits", s.sessid, s.client);
		retiring = 1;
		if (!listen_is_tls(kind))
			refuse_nostore(role, &s);
	} else if (listen_is_tls(kind) && tls_start(&s) == -1)
		;   /* implicit TLS failed: logged, nothing can be said */
	else if (role == ROLE_SMTP)
		smtp_session(&s);
	else if (role == ROLE_IMAP)
		imap_session(&s);
	else
		pop3_session(&s);
	conn_flush(&conn, SESSION_FINAL_FLUSH_MS);
	tls_end(&conn);
	close(fd);
	/* a client turned away by admission was no session: it read nothing
	 * of anyone's mail, so it does not bring the worker nearer its
	 * recycling (a refused flood would otherwise cost a fork + exec a
	 * client) */
	if (verdict == ADMIT_OK)
		(*sessions)++;
}

bool
session_plaintext_ok(const struct session *s)
{
	switch (s->conf->plaintext_auth) {
	case PA_LOOPBACK:
		return s->loopback || s->tls;
	case PA_TLS:
		return s->tls;
	case PA_ALWAYS:
		return true;
	}
	return false;
}

int
session_starttls(struct session *s, const char *what, const char *unavailable,
    const char *go_ahead)
{
	size_t injected;

	if (!tls_ready()) {
		conn_printf(s->conn, "%s", unavailable);
		return -1;
	}
	conn_printf(s->conn, "%s", go_ahead);
	if (conn_flush(s->conn, TLS_HANDSHAKE_MS) != CONN_OK) {
		s->conn->error = 1;
		return -1;
	}
	if ((injected = conn_pending(s->conn)) > 0)
		log_info("session %s: %zu bytes sent after %s discarded",
		    s->sessid, injected, what);
	conn_discard_input(s->conn);
	if (tls_start(s) == -1) {
		s->conn->error = 1;   /* nothing more can be said: the session ends */
		return -1;
	}
	return 0;
}

int
worker_main(int role)
{
	enum service svc = role == ROLE_SMTP ? SVC_SMTP : role == ROLE_IMAP ? SVC_IMAP :
	    SVC_POP3;
	uint32_t sessions = 0;

	log_init_child(role_name(role), FD_CONTROL);
	ev_init(FD_CONTROL);
	signal(SIGPIPE, SIG_IGN);
	conf_recv(FD_CONTROL, &conf);
	collect_listeners(svc);
	setup_epoll();
	set_nonblock(FD_STORE, 1);
	if (conf.tls_cert[0] != '\0')
		tls_preinit();      /* OpenSSL's config while files are visible */
	sandbox_enter(role, &conf);
	/* the public chain from the keyholder; the key stays there */
	if (conf.tls_cert[0] != '\0' && tls_init(&conf, FD_KEYHOLDER) == -1)
		fatalx("TLS is configured but no certificate came from the keyholder");
	conn_control_hook = control_hook;
	send_status(0, 0, -1);

	while (!retiring && sessions < conf.pool[svc].sessions) {
		struct epoll_event ev[CONF_MAX_LISTEN + 1];
		int n, ctl = 0;

		n = epoll_wait(epfd, ev, CONF_MAX_LISTEN + 1, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (int i = 0; i < n; i++)
			if (ev[i].data.u32 == EP_CONTROL)
				ctl = 1;
		/*
		 * The control message first; a shutdown's grace is kept in
		 * conn for a session accepted now.  A connection whose
		 * exclusive wake-up came in the same batch is still taken,
		 * even when retiring: no other worker was woken for it.
		 */
		if (ctl && control_read(&conn) == -1)
			break;
		for (int i = 0; i < n; i++) {
			struct sockaddr_storage ss = { .ss_family = AF_UNSPEC };
			socklen_t sl = sizeof(ss);
			uint32_t k = ev[i].data.u32;
			int fd;

			if (k >= (uint32_t)nlisten)
				continue;
			fd = accept4(listen_fd[k], (struct sockaddr *)&ss, &sl,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd == -1)
				continue;   /* another worker took it, or it left */
			serve(role, fd, listen_kind_of[k], &ss, &sessions);
			send_status(0, sessions, -1);
			if (!retiring && sessions < conf.pool[svc].sessions)
				requeue_listeners();
			break;
		}
		if (store_dead())
			break;
	}
	log_debug("worker exits after %u sessions", sessions);
	return 0;
}
