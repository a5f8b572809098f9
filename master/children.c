/*
 * The child table: every process the master started, found by pid, told
 * to go, or removed once reaped; and the two short messages the master
 * sends any child (its configuration, a u32 order).
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "admit.h"
#include "master_int.h"

/* The whole struct travels in one MSG_CONF. */
_Static_assert(sizeof(struct conf) <= IPC_MAX_PAYLOAD, "struct conf outgrew one message");

struct child *
child_add(void)
{
	if (master.nkids == master.kids_cap) {
		master.kids_cap = master.kids_cap ? master.kids_cap * 2 : 32;
		master.kids = xreallocarray(master.kids, master.kids_cap, sizeof(*master.kids));
	}
	memset(&master.kids[master.nkids], 0, sizeof(*master.kids));
	master.kids[master.nkids].client_fd = -1;
	return &master.kids[master.nkids++];
}

struct child *
child_by_pid(pid_t pid)
{
	for (size_t i = 0; i < master.nkids; i++)
		if (master.kids[i].pid == pid)
			return &master.kids[i];
	return NULL;
}

void
child_remove(struct child *k)
{
	if (k->ctl >= 0)
		close(k->ctl);
	admit_release(k->client_fd);
	*k = master.kids[--master.nkids];
}

enum service
role_service(enum role r)
{
	return r == ROLE_SMTP ? SVC_SMTP : r == ROLE_IMAP ? SVC_IMAP : SVC_POP3;
}

enum role
service_role(enum service svc)
{
	return svc == SVC_SMTP ? ROLE_SMTP : svc == SVC_IMAP ? ROLE_IMAP : ROLE_POP3;
}

int
is_worker(const struct child *k)
{
	return k->role == ROLE_SMTP || k->role == ROLE_POP3 || k->role == ROLE_IMAP;
}

int
send_conf(int fd)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_CONF, 0);
	ipc_put_raw(&m, &master.conf, sizeof(master.conf));
	return ipc_send(fd, &m);
}

int
send_u32(int fd, uint32_t type, uint32_t v)
{
	static struct ipc_msg m;

	ipc_init(&m, type, 0);
	ipc_put_u32(&m, v);
	return ipc_send(fd, &m);
}

/*
 * Tells a child to go.  UINT32_MAX: after the session in progress, if any
 * (an idle worker leaves at once, and one that has just accepted a client
 * the master did not know of yet still serves it); another value: the
 * session in progress has that long (SIGTERM).
 */
void
child_retire(struct child *k, uint32_t grace_ms)
{
	if (k->retiring && grace_ms == UINT32_MAX)
		return;
	k->retiring = 1;
	send_u32(k->ctl, MSG_SHUTDOWN, grace_ms);
}

/* Every worker finishes its session in progress and leaves; new ones,
 * with new channels or a new configuration, take over. */
void
workers_retire(void)
{
	for (size_t i = 0; i < master.nkids; i++)
		if (is_worker(&master.kids[i]))
			child_retire(&master.kids[i], UINT32_MAX);
}

/*
 * A child that breaks the control protocol is not trusted further: it is
 * killed, and the master stops reading it (reap() and the pool replace
 * it).  Its channel is closed here, so nothing more it sent is acted on.
 */
void
child_misbehaved(struct child *k, const char *what)
{
	log_warnx("%s[%d] %s; killing it", role_name(k->role), (int)k->pid, what);
	kill(k->pid, SIGKILL);
	if (k->ctl >= 0)
		close(k->ctl);
	k->ctl = -1;
}
