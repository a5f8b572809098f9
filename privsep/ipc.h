/*
 * IPC framing between postern's processes.
 *
 * Every channel is an AF_UNIX SOCK_SEQPACKET socket: one recvmsg() is one
 * message, so a passed descriptor always belongs to its message.  A message
 * is a fixed header followed by at most IPC_MAX_PAYLOAD bytes, and carries
 * at most one file descriptor.  Payloads are built and read with the typed
 * put/get helpers below; readers fail on short input and ipc_end() fails
 * when bytes are left over (the OpenSMTPD m_get_* / m_end discipline).
 *
 * Both ends of every channel are the same binary on the same host, so
 * integers travel in host byte order.
 */
#ifndef POSTERN_IPC_H
#define POSTERN_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_HDR_LEN      16u
#define IPC_MAX_PAYLOAD  65536u   /* bytes after the header, hard cap */

struct ipc_hdr {
	uint32_t type;   /* enum msg_type */
	uint32_t len;    /* payload length, <= IPC_MAX_PAYLOAD */
	uint32_t id;     /* request id, echoed in the answer */
	uint32_t flags;  /* reserved, must be 0 */
};

struct ipc_msg {
	struct ipc_hdr hdr;
	int fd;                 /* received/attached descriptor, -1 if none */
	size_t pos;             /* read cursor into data */
	int err;                /* sticky: a put overflowed the payload */
	unsigned char data[IPC_MAX_PAYLOAD];
};

/* Building. */
void ipc_init(struct ipc_msg *m, uint32_t type, uint32_t id);
void ipc_put_u32(struct ipc_msg *m, uint32_t v);
void ipc_put_u64(struct ipc_msg *m, uint64_t v);
void ipc_put_bytes(struct ipc_msg *m, const void *p, size_t n);  /* u32 len + bytes */
void ipc_put_str(struct ipc_msg *m, const char *s);              /* u32 len + bytes, no NUL */
void ipc_put_raw(struct ipc_msg *m, const void *p, size_t n);    /* bytes only */
void ipc_set_fd(struct ipc_msg *m, int fd);  /* sent with the message; caller still owns it */

/*
 * Sending: returns 0, or -1 with errno (EMSGSIZE when a put overflowed).
 * The socket may be blocking or not; on EAGAIN the caller retries.
 */
int ipc_send(int sock, struct ipc_msg *m);

/*
 * Receiving one message.  Returns 1 with *m filled (m->fd is a descriptor
 * the caller now owns, or -1), 0 on orderly EOF, -1 with errno on error.
 * errno EBADMSG means the peer sent something malformed (truncated frame,
 * header length disagreeing with the datagram, non-zero flags, more than one
 * descriptor, unexpected control data): any descriptors that came with it
 * are already closed, and the caller must drop the peer.
 */
int ipc_recv(int sock, struct ipc_msg *m);

/*
 * Validates a raw datagram (header + payload) and loads it into *m.  This
 * is the part of ipc_recv() that sees untrusted bytes; the fuzz target and
 * the unit tests call it directly.  0 ok, -1 malformed.
 */
int ipc_parse(struct ipc_msg *m, const void *buf, size_t n);

/* Reading: each returns 0, or -1 when the payload is short or invalid. */
int ipc_get_u32(struct ipc_msg *m, uint32_t *v);
int ipc_get_u64(struct ipc_msg *m, uint64_t *v);
/* A length-prefixed string copied NUL-terminated into out[outsz]; fails
 * when it contains a NUL byte or does not fit (len >= outsz). */
int ipc_get_str(struct ipc_msg *m, char *out, size_t outsz);
/* A length-prefixed byte run, returned in place (no copy, no NUL check). */
int ipc_get_bytes(struct ipc_msg *m, const void **p, size_t *n);
/* 0 when the whole payload was consumed, -1 when bytes are left over. */
int ipc_end(const struct ipc_msg *m);

/* Close and forget m->fd if set. */
void ipc_drop_fd(struct ipc_msg *m);

/*
 * A standalone reader over an arbitrary buffer, with the same typed getters:
 * used for records that travel inside a memfd (the POP3 listing).
 */
struct ipc_reader {
	const unsigned char *p;
	size_t len, pos;
};
void rd_init(struct ipc_reader *r, const void *p, size_t len);
int rd_u32(struct ipc_reader *r, uint32_t *v);
int rd_u64(struct ipc_reader *r, uint64_t *v);
int rd_str(struct ipc_reader *r, char *out, size_t outsz);
int rd_done(const struct ipc_reader *r);   /* 1 when every byte was read */

#endif
