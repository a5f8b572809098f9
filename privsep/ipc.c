/* IPC framing: see ipc.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ipc.h"

void
ipc_init(struct ipc_msg *m, uint32_t type, uint32_t id)
{
	m->hdr.type = type;
	m->hdr.len = 0;
	m->hdr.id = id;
	m->hdr.flags = 0;
	m->fd = -1;
	m->pos = 0;
	m->err = 0;
}

void
ipc_put_raw(struct ipc_msg *m, const void *p, size_t n)
{
	if (m->err || n > IPC_MAX_PAYLOAD - m->hdr.len) {
		m->err = 1;
		return;
	}
	if (n)
		memcpy(m->data + m->hdr.len, p, n);
	m->hdr.len += (uint32_t)n;
}

void
ipc_put_u32(struct ipc_msg *m, uint32_t v)
{
	ipc_put_raw(m, &v, sizeof(v));
}

void
ipc_put_u64(struct ipc_msg *m, uint64_t v)
{
	ipc_put_raw(m, &v, sizeof(v));
}

void
ipc_put_bytes(struct ipc_msg *m, const void *p, size_t n)
{
	if (n > IPC_MAX_PAYLOAD) {
		m->err = 1;
		return;
	}
	ipc_put_u32(m, (uint32_t)n);
	ipc_put_raw(m, p, n);
}

void
ipc_put_str(struct ipc_msg *m, const char *s)
{
	ipc_put_bytes(m, s, strlen(s));
}

void
ipc_set_fd(struct ipc_msg *m, int fd)
{
	m->fd = fd;
}

int
ipc_send(int sock, struct ipc_msg *m)
{
	struct msghdr mh;
	struct iovec iov[2];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	ssize_t n;

	if (m->err) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = &m->hdr;
	iov[0].iov_len = IPC_HDR_LEN;
	iov[1].iov_base = m->data;
	iov[1].iov_len = m->hdr.len;
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (m->fd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &m->fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != IPC_HDR_LEN + m->hdr.len) {
		errno = EMSGSIZE;   /* SEQPACKET is all or nothing; be sure */
		return -1;
	}
	return 0;
}

int
ipc_parse(struct ipc_msg *m, const void *buf, size_t n)
{
	struct ipc_hdr h;

	if (n < IPC_HDR_LEN || n > IPC_HDR_LEN + IPC_MAX_PAYLOAD)
		return -1;
	memcpy(&h, buf, IPC_HDR_LEN);
	if (h.flags != 0 || h.len > IPC_MAX_PAYLOAD || h.len != n - IPC_HDR_LEN)
		return -1;
	m->hdr = h;
	memcpy(m->data, (const unsigned char *)buf + IPC_HDR_LEN, h.len);
	m->pos = 0;
	m->err = 0;
	return 0;
}

/* Closes every descriptor in a control message. */
static void
close_passed_fds(struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
		}
	}
}

int
ipc_recv(int sock, struct ipc_msg *m)
{
	/* header + payload + one spare byte so an oversize datagram shows */
	static unsigned char buf[IPC_HDR_LEN + IPC_MAX_PAYLOAD + 1];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t n;
	int fd = -1, bad = 0;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (n == 0 && mh.msg_controllen == 0)
		return 0;
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		bad = 1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL && !bad; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len != CMSG_LEN(sizeof(int)) || fd != -1) {
			bad = 1;
			break;
		}
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	}
	if (bad) {
		close_passed_fds(&mh);
		errno = EBADMSG;
		return -1;
	}
	if (ipc_parse(m, buf, (size_t)n) == -1) {
		if (fd != -1)
			close(fd);
		errno = EBADMSG;
		return -1;
	}
	m->fd = fd;
	return 1;
}

static int
get_raw(struct ipc_msg *m, void *out, size_t n)
{
	if (m->hdr.len - m->pos < n)
		return -1;
	memcpy(out, m->data + m->pos, n);
	m->pos += n;
	return 0;
}

int
ipc_get_u32(struct ipc_msg *m, uint32_t *v)
{
	return get_raw(m, v, sizeof(*v));
}

int
ipc_get_u64(struct ipc_msg *m, uint64_t *v)
{
	return get_raw(m, v, sizeof(*v));
}

int
ipc_get_bytes(struct ipc_msg *m, const void **p, size_t *n)
{
	uint32_t len;

	if (ipc_get_u32(m, &len) == -1 || m->hdr.len - m->pos < len)
		return -1;
	*p = m->data + m->pos;
	*n = len;
	m->pos += len;
	return 0;
}

int
ipc_get_str(struct ipc_msg *m, char *out, size_t outsz)
{
	const void *p;
	size_t n;
	size_t save = m->pos;

	if (ipc_get_bytes(m, &p, &n) == -1)
		return -1;
	if (n >= outsz || memchr(p, '\0', n) != NULL) {
		m->pos = save;
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
ipc_end(const struct ipc_msg *m)
{
	return m->pos == m->hdr.len ? 0 : -1;
}

void
ipc_drop_fd(struct ipc_msg *m)
{
	if (m->fd >= 0) {
		close(m->fd);
		m->fd = -1;
	}
}

void
rd_init(struct ipc_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
}

static int
rd_raw(struct ipc_reader *r, void *out, size_t n)
{
	if (r->len - r->pos < n)
		return -1;
	memcpy(out, r->p + r->pos, n);
	r->pos += n;
	return 0;
}

int
rd_u32(struct ipc_reader *r, uint32_t *v)
{
	return rd_raw(r, v, sizeof(*v));
}

int
rd_u64(struct ipc_reader *r, uint64_t *v)
{
	return rd_raw(r, v, sizeof(*v));
}

int
rd_str(struct ipc_reader *r, char *out, size_t outsz)
{
	uint32_t n;
	size_t save = r->pos;

	if (rd_u32(r, &n) == -1)
		return -1;
	if (n >= outsz || r->len - r->pos < n ||
	    memchr(r->p + r->pos, '\0', n) != NULL) {
		r->pos = save;
		return -1;
	}
	memcpy(out, r->p + r->pos, n);
	out[n] = '\0';
	r->pos += n;
	return 0;
}

int
rd_done(const struct ipc_reader *r)
{
	return r->pos == r->len;
}
