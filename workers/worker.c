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
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../privsep/conf.h"
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
	fatalx("unexpected %s from the master", msg_name(m.hdr.type));
}

/*
 * Waits for the master's MSG_ADMIT after a busy status.  Shutdown requests
 * that come first are noted.  No answer in 5 s (a master that is busy)
 * admits: the limits are a defence, not a reason to fail a client.
 */
#define ADMIT_WAIT_MS 5000
static uint32_t
wait_admit(void)
{
	static struct ipc_msg m;
	uint64_t deadline = now_ms() + ADMIT_WAIT_MS;
	uint32_t verdict, grace;

	for (;;) {
		struct pollfd p = { .fd = FD_CONTROL, .events = POLLIN };
		uint64_t now = now_ms();
		int r;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0)
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
	else
		conn_printf(s->conn, "-ERR [SYS/TEMP] %s\r\n", why);
}

static void
control_hook(struct conn *c)
{
	control_read(c);
}

static void
send_status(int busy, uint32_t sessions, const char *client)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_STATUS, 0);
	ipc_put_u32(&m, (uint32_t)busy);
	ipc_put_u32(&m, sessions);
	ipc_put_str(&m, client);
	if (ipc_send(FD_CONTROL, &m) == -1)
		exit(0);   /* the master is gone */
}

static void
recv_conf(void)
{
	static struct ipc_msg m;

	if (ipc_recv(FD_CONTROL, &m) != 1 || m.hdr.type != MSG_CONF ||
	    m.hdr.len != sizeof(conf) || m.fd != -1)
		fatalx("no valid configuration from the master");
	memcpy(&conf, m.data, sizeof(conf));
	if (!conf_wire_ok(&conf))
		fatalx("configuration from the master fails its checks");
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
	send_status(1, *sessions, s.client);
	verdict = wait_admit();
	log_debug("session %s: connection from %s on %s", s.sessid, s.client,
	    listen_kind_name(kind));
	if (verdict != ADMIT_OK) {
		if (!listen_is_tls(kind))   /* a TLS client could not read it */
			refuse(role, &s, verdict);
	} else if (listen_is_tls(kind) && tls_start(&s) == -1)
		;   /* implicit TLS failed: logged, nothing can be said */
	else if (role == ROLE_SMTP)
		smtp_session(&s);
	else
		pop3_session(&s);
	conn_flush(&conn, 10000);
	tls_end(&conn);
	close(fd);
	(*sessions)++;
}

int
worker_main(int role)
{
	enum service svc = role == ROLE_SMTP ? SVC_SMTP : SVC_POP3;
	uint32_t sessions = 0;

	log_init_child(role_name(role), FD_CONTROL);
	signal(SIGPIPE, SIG_IGN);
	recv_conf();
	collect_listeners(svc);
	set_nonblock(FD_STORE, 1);
	if (conf.tls_cert[0] != '\0')
		tls_preinit();      /* OpenSSL's config while files are visible */
	sandbox_enter(role, &conf);
	/* the public chain from the keyholder; the key stays there */
	if (conf.tls_cert[0] != '\0' && tls_init(&conf, FD_KEYHOLDER) == -1)
		fatalx("TLS is configured but no certificate came from the keyholder");
	conn_control_hook = control_hook;
	send_status(0, 0, "");

	while (!retiring && sessions < conf.pool[svc].sessions) {
		struct pollfd pfd[CONF_MAX_LISTEN + 1];
		int n;

		pfd[0].fd = FD_CONTROL;
		pfd[0].events = POLLIN;
		for (int i = 0; i < nlisten; i++) {
			pfd[i + 1].fd = listen_fd[i];
			pfd[i + 1].events = POLLIN;
		}
		n = poll(pfd, (nfds_t)nlisten + 1, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents) {
			if (control_read(NULL) == -1)
				break;
			continue;
		}
		for (int i = 0; i < nlisten; i++) {
			struct sockaddr_storage ss = { .ss_family = AF_UNSPEC };
			socklen_t sl = sizeof(ss);
			int fd;

			if (!pfd[i + 1].revents)
				continue;
			fd = accept4(listen_fd[i], (struct sockaddr *)&ss, &sl,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd == -1)
				continue;   /* another worker took it, or it left */
			serve(role, fd, listen_kind_of[i], &ss, &sessions);
			send_status(0, sessions, "");
			break;
		}
		if (store_dead())
			break;
	}
	log_debug("worker exits after %u sessions", sessions);
	return 0;
}
