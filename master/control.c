/*
 * The control process: see control.h.  One request a connection
 * (ctl_proto.h).  Every client has a bounded line buffer, a deadline for
 * its request and another for reading the answer; at most CTL_CLIENTS_MAX_COUNT
 * at a time, and one more is told so and closed, so a local client that
 * connects and stays silent (or sends a megabyte without a newline) holds
 * one slot for a few seconds and harms nobody else.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/proc.h"
#include "../privsep/sandbox.h"
#include "../privsep/util.h"
#include "control.h"
#include "ctl_proto.h"
#include "ctl_state.h"
#include "ctl_store.h"

enum cl_state { CL_FREE = 0, CL_READING, CL_WAITING, CL_WRITING };

struct client {
	enum cl_state state;
	int fd;
	uid_t uid;                   /* SO_PEERCRED, for the log */
	pid_t pid;
	uint32_t id;                 /* the request id it waits for */
	struct ctl_req req;
	uint64_t deadline;
	size_t inlen;
	char in[CTL_LINE_MAX_BYTES];
	struct ctl_buf out;
	size_t outpos;
};

static struct conf conf;
static struct client clients[CTL_CLIENTS_MAX_COUNT];
static uint32_t next_id = 1;
static int store_fd = FD_STORE;      /* -1 once the store channel is gone */
static int stopping;

static void
client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	ctl_buf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* The answer is ready: send it from now on. */
static void
client_answer(struct client *c)
{
	if (c->out.err) {
		ctl_buf_free(&c->out);
		ctl_printf(&c->out, "-ERR the answer is too long\n");
	}
	c->state = CL_WRITING;
	c->outpos = 0;
	c->deadline = now_ms() + CTL_WRITE_MS;
}

static void
client_error(struct client *c, const char *text)
{
	ctl_buf_free(&c->out);
	ctl_printf(&c->out, "-ERR %s\n", text);
	client_answer(c);
}

/* A request went out (r 0): wait for its answer; or tell the client. */
static void
request_sent(struct client *c, int r, const char *unreachable)
{
	if (r == -1) {
		client_error(c, unreachable);
		return;
	}
	c->state = CL_WAITING;
	c->deadline = now_ms() + CTL_ANSWER_MS;
}

static void
send_request(struct client *c, int fd, struct ipc_msg *m)
{
	request_sent(c, fd < 0 ? -1 : ipc_send(fd, m),
	    "the master is not reachable");
}

/* A whole request line came: ask whoever knows. */
static void
client_request(struct client *c, size_t len)
{
	static struct ipc_msg m;
	const char *err;

	if (ctl_parse_request(c->in, len, &c->req, &err) == -1) {
		log_info("control: uid %u: bad request: %s", (unsigned)c->uid, err);
		client_error(c, err);
		return;
	}
	c->id = next_id++;
	if (next_id == 0)
		next_id = 1;
	switch (c->req.cmd) {
	case CTL_MAILBOX:
		request_sent(c, store_fd < 0 ? -1 :
		    cs_mbox_stat_send(store_fd, c->id, c->req.name),
		    "the mail store is not reachable");
		return;
	case CTL_RELOAD:
	case CTL_STOP:
		ipc_init(&m, c->req.cmd == CTL_RELOAD ? MSG_CTL_RELOAD : MSG_CTL_STOP, c->id);
		ipc_put_u32(&m, (uint32_t)c->uid);
		break;
	default:
		ipc_init(&m, MSG_CTL_QUERY, c->id);
		break;
	}
	send_request(c, FD_CONTROL, &m);
}

static struct client *
client_waiting(uint32_t id)
{
	for (int i = 0; i < CTL_CLIENTS_MAX_COUNT; i++)
		if (clients[i].state == CL_WAITING && clients[i].id == id)
			return &clients[i];
	return NULL;
}

/* MSG_CTL_STATE for a status, who or stats request. */
static void
answer_state(struct client *c, struct ipc_msg *m)
{
	static struct ctl_state st;

	if (ctl_state_get(m, &st) == -1) {
		log_warnx("control: malformed MSG_CTL_STATE from the master");
		client_error(c, "internal error (bad state from the master)");
		return;
	}
	ctl_buf_free(&c->out);
	ctl_printf(&c->out, "+OK\n");
	switch (c->req.cmd) {
	case CTL_WHO:
		ctl_render_who(&c->out, &st);
		break;
	case CTL_STATS:
		ctl_render_stats(&c->out, &st);
		break;
	case CTL_STATS_PROM:
		ctl_render_prometheus(&c->out, &st);
		break;
	default:
		ctl_render_status(&c->out, &st);
		break;
	}
	client_answer(c);
}

static void
answer_done(struct client *c, struct ipc_msg *m)
{
	uint32_t ok;
	char text[LIM_LOGLINE];

	if (ipc_get_u32(m, &ok) == -1 || ipc_get_str(m, text, sizeof(text)) == -1 ||
	    ipc_end(m) == -1) {
		client_error(c, "internal error (bad answer from the master)");
		return;
	}
	ctl_buf_free(&c->out);
	ctl_printf(&c->out, ok ? "+OK %s\n" : "-ERR %s\n", text);
	client_answer(c);
}

static void
read_master(void)
{
	static struct ipc_msg m;
	struct client *c;
	uint32_t grace;

	for (int i = 0; i < CTL_READ_PASS_COUNT; i++) {
		int r = ipc_recv(FD_CONTROL, &m);

		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0)
			exit(0);   /* the master is gone */
		ipc_drop_fd(&m);
		if (m.hdr.type == MSG_SHUTDOWN && ipc_get_u32(&m, &grace) == 0 &&
		    ipc_end(&m) == 0) {
			stopping = 1;
			return;
		}
		if (m.hdr.type == MSG_CONF && m.hdr.len == sizeof(conf))
			continue;   /* a reload: nothing here depends on it */
		if ((m.hdr.type != MSG_CTL_STATE && m.hdr.type != MSG_CTL_DONE) ||
		    (c = client_waiting(m.hdr.id)) == NULL) {
			/* a late answer after a timeout is harmless */
			log_debug("control: %s id %u matches no request",
			    msg_name(m.hdr.type), m.hdr.id);
			continue;
		}
		if (m.hdr.type == MSG_CTL_STATE && c->req.cmd != CTL_RELOAD &&
		    c->req.cmd != CTL_STOP && c->req.cmd != CTL_MAILBOX)
			answer_state(c, &m);
		else if (m.hdr.type == MSG_CTL_DONE &&
		    (c->req.cmd == CTL_RELOAD || c->req.cmd == CTL_STOP))
			answer_done(c, &m);
		else
			client_error(c, "internal error (unexpected answer)");
	}
}

static const char *
index_state_name(uint32_t s)
{
	return s == MBX_INDEX_CURRENT ? "current" : s == MBX_INDEX_STALE ?
	    "partial (mail arrived since it was written; updated at the next login)" :
	    "none (built at the next login)";
}

static void
read_store(void)
{
	struct cs_mbox_stat st;
	struct client *c;
	uint32_t id;

	for (int i = 0; i < CTL_READ_PASS_COUNT && store_fd >= 0; i++) {
		int r = cs_mbox_stat_recv(store_fd, &id, &st);

		if (r == CS_AGAIN)
			return;
		if (r == CS_CLOSED) {
			/* the store died: the master restarts us with a new channel */
			close(store_fd);
			store_fd = -1;
			return;
		}
		if (r == CS_OTHER || (c = client_waiting(id)) == NULL ||
		    c->req.cmd != CTL_MAILBOX)
			continue;
		if (r == CS_ANSWER && st.status == STORE_NOSUCH) {
			client_error(c, "no such account");
			continue;
		}
		if (r != CS_ANSWER || st.status != STORE_OK) {
			client_error(c, r == CS_ANSWER && st.status == STORE_TEMPFAIL ?
			    "the mailbox cannot be read now (locked or an error; see the log)" :
			    "internal error (bad answer from the store)");
			continue;
		}
		ctl_buf_free(&c->out);
		ctl_printf(&c->out, "+OK\nmailbox: %s\nmessages: %llu\nbytes: %llu\n"
		    "last-delivery: %s\nindex: %s\n", c->req.name,
		    (unsigned long long)st.messages, (unsigned long long)st.bytes,
		    st.last[0] ? st.last : "never",
		    index_state_name(st.index));
		client_answer(c);
	}
}

/* One waiting connection: 0, or -1 when none is left. */
static int
accept_client(int lfd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct client *c = NULL;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return -1;
	for (int i = 0; i < CTL_CLIENTS_MAX_COUNT && c == NULL; i++)
		if (clients[i].state == CL_FREE)
			c = &clients[i];
	if (c == NULL || stopping) {
		static const char busy[] = "-ERR too many control connections, try again\n";
		(void)!write(fd, busy, sizeof(busy) - 1);
		close(fd);
		return 0;
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->state = CL_READING;
	c->deadline = now_ms() + CTL_READ_MS;
	c->uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
		c->uid = cred.uid;
		c->pid = cred.pid;
	}
	return 0;
}

static void
client_read(struct client *c)
{
	ssize_t n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	char *nl;

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->inlen += (size_t)n;
	if ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
		client_request(c, (size_t)(nl - c->in));
		return;
	}
	if (c->inlen == sizeof(c->in)) {
		log_info("control: uid %u: request line too long", (unsigned)c->uid);
		client_error(c, "request line too long");
	}
}

static void
client_write(struct client *c)
{
	ssize_t n = write(c->fd, c->out.p + c->outpos, c->out.len - c->outpos);

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->outpos += (size_t)n;
	if (c->outpos == c->out.len)
		client_close(c);
}

static void
expire_clients(void)
{
	uint64_t now = now_ms();

	for (int i = 0; i < CTL_CLIENTS_MAX_COUNT; i++) {
		struct client *c = &clients[i];

		if (c->state == CL_FREE || now < c->deadline)
			continue;
		if (c->state == CL_READING)
			client_error(c, "timeout waiting for the request");
		else if (c->state == CL_WAITING)
			client_error(c, "timeout: no answer from the daemon");
		else
			client_close(c);   /* a client that does not read */
	}
}

/*
 * Serves until told to stop, or until control-max-idle passes with no
 * client: the master starts the process again when the next one connects
 * (an exit with status 0 is that, for the master).
 */
static void
serve_loop(int lfd)
{
	struct pollfd pfd[3 + CTL_CLIENTS_MAX_COUNT];
	int who[3 + CTL_CLIENTS_MAX_COUNT];
	uint64_t last_busy = now_ms();

	for (;;) {
		nfds_t n = 0;
		int busy = 0;

		for (int i = 0; i < CTL_CLIENTS_MAX_COUNT; i++)
			busy += clients[i].state != CL_FREE;
		if (stopping && busy == 0)
			return;
		if (busy > 0)
			last_busy = now_ms();
		else if (now_ms() - last_busy >= conf.control_max_idle_ms) {
			log_debug("control: idle for %u s, exiting",
			    conf.control_max_idle_ms / 1000);
			return;
		}
		pfd[n].fd = FD_CONTROL;
		pfd[n].events = POLLIN;
		who[n++] = -1;
		pfd[n].fd = store_fd;
		pfd[n].events = POLLIN;
		who[n++] = -2;
		pfd[n].fd = stopping ? -1 : lfd;
		pfd[n].events = POLLIN;
		who[n++] = -3;
		for (int i = 0; i < CTL_CLIENTS_MAX_COUNT; i++) {
			struct client *c = &clients[i];

			if (c->state != CL_READING && c->state != CL_WRITING)
				continue;
			pfd[n].fd = c->fd;
			pfd[n].events = c->state == CL_READING ? POLLIN : POLLOUT;
			who[n++] = i;
		}
		if (poll(pfd, n, TICK_MS) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		for (nfds_t i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (who[i] == -1)
				read_master();
			else if (who[i] == -2)
				read_store();
			else if (who[i] == -3) {
				/* the backlog at once: a flood gets its
				 * refusals now, not one per poll */
				for (int k = 0; k < CTL_ACCEPT_BURST_COUNT; k++)
					if (accept_client(lfd) == -1)
						break;
			} else if (clients[who[i]].state == CL_READING)
				client_read(&clients[who[i]]);
			else if (clients[who[i]].state == CL_WRITING)
				client_write(&clients[who[i]]);
		}
		expire_clients();
	}
}

int
control_main(void)
{
	static struct ipc_msg m;
	struct stat st;
	int lfd = FD_LISTEN_FIRST;

	log_init_child(role_name(ROLE_CONTROL), FD_CONTROL);
	signal(SIGPIPE, SIG_IGN);
	conf_recv(FD_CONTROL, &conf);
	if (fstat(lfd, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("control socket missing");
	if (fstat(FD_STORE, &st) == -1 || !S_ISSOCK(st.st_mode))
		store_fd = -1;
	for (int i = 0; i < CTL_CLIENTS_MAX_COUNT; i++)
		clients[i].fd = -1;
	set_nonblock(lfd, 1);
	set_nonblock(FD_CONTROL, 1);
	if (store_fd >= 0)
		set_nonblock(store_fd, 1);
	sandbox_enter(ROLE_CONTROL, &conf);
	ipc_init(&m, MSG_READY, 0);
	if (ipc_send(FD_CONTROL, &m) == -1)
		return 0;
	log_debug("control: serving %s", conf.control_socket);
	serve_loop(lfd);
	log_debug("control exits");
	return 0;
}
