/* The control process's store requests: see ctl_store.h. */
#include <errno.h>

#include "../privsep/ipc.h"
#include "../privsep/msg.h"
#include "ctl_store.h"

/* One request or answer at a time: the process is single-threaded. */
static struct ipc_msg m;

int
cs_mbox_stat_send(int fd, uint32_t id, const char *name)
{
	ipc_init(&m, MSG_MBOX_STAT, id);
	ipc_put_str(&m, name);
	return ipc_send(fd, &m);
}

int
cs_mbox_stat_recv(int fd, uint32_t *id, struct cs_mbox_stat *st)
{
	int r = ipc_recv(fd, &m);

	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return CS_AGAIN;
	if (r <= 0)
		return CS_CLOSED;
	if (m.hdr.type != MSG_MBOX_STAT_R) {
		ipc_drop_fd(&m);
		return CS_OTHER;
	}
	*id = m.hdr.id;
	if (m.fd >= 0) {
		ipc_drop_fd(&m);
		return CS_MALFORMED;
	}
	if (ipc_get_u32(&m, &st->status) == -1)
		return CS_MALFORMED;
	if (st->status != STORE_OK)
		return ipc_end(&m) == 0 ? CS_ANSWER : CS_MALFORMED;
	if (ipc_get_u64(&m, &st->messages) == -1 ||
	    ipc_get_u64(&m, &st->bytes) == -1 ||
	    ipc_get_str(&m, st->last, sizeof(st->last)) == -1 ||
	    ipc_get_u32(&m, &st->index) == -1 || ipc_end(&m) == -1)
		return CS_MALFORMED;
	return CS_ANSWER;
}
