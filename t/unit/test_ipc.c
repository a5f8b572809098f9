/* IPC framing: round trips, typed readers, and every malformed frame. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "privsep/ipc.h"
#include "privsep/msg.h"
#include "t/unit/check.h"

static struct ipc_msg a, b;

static int
pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
}

/* Sends raw bytes with optional descriptors, bypassing ipc_send. */
static void
send_raw(int s, const void *p, size_t n, const int *fds, int nfds)
{
	struct msghdr mh;
	struct iovec iov = { (void *)p, n };
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *c;
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	sendmsg(s, &mh, 0);
}

static int
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

int
main(void)
{
	int sv[2], p[2];
	char s[16];
	uint32_t u;
	uint64_t q;
	const void *bp;
	size_t bn;

	CHECK(pair(sv) == 0, "socketpair");

	/* round trip with every type and a descriptor */
	ipc_init(&a, MSG_APPEND, 7);
	ipc_put_u32(&a, 42);
	ipc_put_u64(&a, 1ULL << 40);
	ipc_put_str(&a, "alice");
	ipc_put_bytes(&a, "\0\1\2", 3);
	CHECK(pipe(p) == 0, "pipe");
	ipc_set_fd(&a, p[0]);
	CHECK(ipc_send(sv[0], &a) == 0, "send a message with an fd");
	CHECK(ipc_recv(sv[1], &b) == 1, "receive it");
	CHECK(b.hdr.type == MSG_APPEND && b.hdr.id == 7, "type and id kept");
	CHECK(b.fd >= 0 && b.fd != p[0], "a new descriptor arrived");
	CHECK(ipc_get_u32(&b, &u) == 0 && u == 42, "u32");
	CHECK(ipc_get_u64(&b, &q) == 0 && q == (1ULL << 40), "u64");
	CHECK(ipc_get_str(&b, s, sizeof(s)) == 0 && strcmp(s, "alice") == 0, "str");
	CHECK(ipc_end(&b) == -1, "end fails with bytes left");
	CHECK(ipc_get_bytes(&b, &bp, &bn) == 0 && bn == 3 && memcmp(bp, "\0\1\2", 3) == 0,
	    "bytes may hold NUL");
	CHECK(ipc_end(&b) == 0, "end succeeds when all read");
	CHECK(ipc_get_u32(&b, &u) == -1, "short read fails");
	ipc_drop_fd(&b);
	close(p[0]);
	close(p[1]);

	/* strings: NUL inside and overlong are refused */
	ipc_init(&a, MSG_LOOKUP, 1);
	ipc_put_bytes(&a, "ab\0cd", 5);
	ipc_put_str(&a, "0123456789abcdef");
	CHECK(ipc_send(sv[0], &a) == 0 && ipc_recv(sv[1], &b) == 1, "strings sent");
	CHECK(ipc_get_str(&b, s, sizeof(s)) == -1, "a string with NUL is refused");
	CHECK(b.pos == 0, "a refused string consumes nothing");
	CHECK(ipc_get_bytes(&b, &bp, &bn) == 0, "skip it as bytes");
	CHECK(ipc_get_str(&b, s, sizeof(s)) == -1, "16 bytes do not fit 16 with NUL");

	/* a length prefix larger than the payload */
	ipc_init(&a, MSG_LOOKUP, 1);
	ipc_put_u32(&a, 1000);
	ipc_put_raw(&a, "xy", 2);
	CHECK(ipc_send(sv[0], &a) == 0 && ipc_recv(sv[1], &b) == 1, "lying length sent");
	CHECK(ipc_get_bytes(&b, &bp, &bn) == -1, "lying length refused");

	/* overflowing the payload is caught at send */
	ipc_init(&a, MSG_LOG, 0);
	for (int i = 0; i < 20000; i++)
		ipc_put_u32(&a, (uint32_t)i);
	CHECK(a.err == 1 && ipc_send(sv[0], &a) == -1 && errno == EMSGSIZE,
	    "oversize build refused with EMSGSIZE");

	/* malformed frames */
	{
		struct ipc_hdr h = { MSG_LOG, 10, 0, 0 };
		unsigned char buf[64];
		static unsigned char big[IPC_HDR_LEN + IPC_MAX_PAYLOAD + 100];
		int fds[2];

		send_raw(sv[0], "abc", 3, NULL, 0);
		CHECK(ipc_recv(sv[1], &b) == -1 && errno == EBADMSG, "truncated header");
		memcpy(buf, &h, sizeof(h));
		send_raw(sv[0], buf, sizeof(h) + 4, NULL, 0);
		CHECK(ipc_recv(sv[1], &b) == -1 && errno == EBADMSG, "length disagrees");
		h.len = 0;
		h.flags = 1;
		memcpy(buf, &h, sizeof(h));
		send_raw(sv[0], buf, sizeof(h), NULL, 0);
		CHECK(ipc_recv(sv[1], &b) == -1 && errno == EBADMSG, "flags set");
		h.flags = 0;
		h.len = IPC_MAX_PAYLOAD + 50;
		memcpy(big, &h, sizeof(h));
		send_raw(sv[0], big, sizeof(big), NULL, 0);
		CHECK(ipc_recv(sv[1], &b) == -1 && errno == EBADMSG, "oversize datagram");
		h.len = 0;
		memcpy(buf, &h, sizeof(h));
		CHECK(pipe(fds) == 0, "pipe");
		send_raw(sv[0], buf, sizeof(h), fds, 2);
		CHECK(ipc_recv(sv[1], &b) == -1 && errno == EBADMSG, "two descriptors refused");
		/* the received copies were closed: only our originals remain */
		close(fds[0]);
		close(fds[1]);
		CHECK(fd_open(0) && fd_open(1), "stdio intact");
		send_raw(sv[0], buf, sizeof(h), NULL, 0);
		CHECK(ipc_recv(sv[1], &b) == 1 && b.hdr.len == 0, "an empty payload is fine");
	}

	/* EOF */
	close(sv[0]);
	CHECK(ipc_recv(sv[1], &b) == 0, "EOF is 0");
	close(sv[1]);

	/* the buffer reader */
	{
		unsigned char rec[64];
		struct ipc_reader r;
		uint32_t l = 3;
		uint64_t sz = 99;

		memcpy(rec, &sz, 8);
		memcpy(rec + 8, &l, 4);
		memcpy(rec + 12, "uid", 3);
		rd_init(&r, rec, 15);
		CHECK(rd_u64(&r, &q) == 0 && q == 99, "rd_u64");
		CHECK(rd_str(&r, s, sizeof(s)) == 0 && strcmp(s, "uid") == 0, "rd_str");
		CHECK(rd_done(&r), "rd_done");
		rd_init(&r, rec, 14);
		CHECK(rd_u64(&r, &q) == 0 && rd_str(&r, s, sizeof(s)) == -1, "short rd_str");
	}
	return check_done();
}
