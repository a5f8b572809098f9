/*
 * The worker's side of the keyholder channel against a keyholder that
 * misbehaves: garbage certificate lists, a descriptor riding along, a
 * closed channel, failed or malformed signatures, answers with the wrong
 * id.  Each must end in a clean refusal (tls_init -1, or a failed
 * handshake with tls_start -1) and never in a crash or a hang.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "master/keyholder.h"
#include "privsep/conf.h"
#include "privsep/ipc.h"
#include "privsep/msg.h"
#include "privsep/util.h"
#include "workers/conn.h"
#include "workers/tls.h"
#include "workers/worker.h"
#include "t/unit/check.h"
#include "t/unit/pemtest.h"

static struct conf conf;
static struct conn conn;
static struct pem pem;

enum misbehave {
	MB_CERTS_GARBAGE,       /* MSG_CERTS_R that is not a certificate list */
	MB_CERTS_COUNT,         /* a count of 0 */
	MB_CERTS_FD,            /* an honest answer with a descriptor attached */
	MB_CERTS_BADPEM,        /* a list whose PEM is not a certificate */
	MB_CLOSE,               /* closes the channel at once */
	MB_SIGN_FAIL,           /* honest certificates, every signature refused */
	MB_SIGN_GARBAGE,        /* honest certificates, malformed MSG_SIGN_R */
	MB_SIGN_WRONG_ID,       /* honest certificates, answers under another id */
};

/* The type of the next message on fd, without taking it; 0 on EOF. */
static uint32_t
peek_type(int fd)
{
	struct ipc_hdr h;
	struct pollfd p = { fd, POLLIN, 0 };

	if (poll(&p, 1, 15000) <= 0)
		return 0;
	if (recv(fd, &h, sizeof(h), MSG_PEEK) != (ssize_t)sizeof(h))
		return 0;
	return h.type;
}

static void __attribute__((noreturn))
fake_keyholder(int fd, enum misbehave how)
{
	static struct ipc_msg m, a;
	char err[256];

	if (keyholder_load_into(0, "", pem.cert, pem.certlen, pem.key, pem.keylen, "t:1: tls-cert c",
	    "t:2: tls-key k", err, sizeof(err)) == -1)
		_exit(9);
	for (;;) {
		uint32_t type = peek_type(fd);

		if (type == 0)
			_exit(0);
		if (how == MB_CLOSE)
			_exit(0);
		if ((type == MSG_CERTS && how <= MB_CERTS_BADPEM) ||
		    (type == MSG_SIGN && how >= MB_SIGN_FAIL)) {
			if (ipc_recv(fd, &m) != 1)
				_exit(0);
			ipc_init(&a, type == MSG_CERTS ? MSG_CERTS_R : MSG_SIGN_R,
			    how == MB_SIGN_WRONG_ID ? m.hdr.id + 1000 : m.hdr.id);
			switch (how) {
			case MB_CERTS_GARBAGE:
				ipc_put_raw(&a, "garbage", 7);
				break;
			case MB_CERTS_COUNT:
				ipc_put_u32(&a, 0);
				break;
			case MB_CERTS_FD:
				ipc_put_u32(&a, 1);
				ipc_put_u32(&a, 0);
				ipc_put_str(&a, "");
				ipc_put_bytes(&a, pem.cert, pem.certlen);
				ipc_set_fd(&a, 0);
				break;
			case MB_CERTS_BADPEM:
				ipc_put_u32(&a, 1);
				ipc_put_u32(&a, 0);
				ipc_put_str(&a, "");
				ipc_put_bytes(&a, "-----BEGIN CERTIFICATE-----\n!!\n", 31);
				break;
			case MB_SIGN_FAIL:
				ipc_put_u32(&a, STORE_TEMPFAIL);
				ipc_put_bytes(&a, "", 0);
				break;
			case MB_SIGN_GARBAGE:
				ipc_put_u32(&a, STORE_OK);
				ipc_put_u32(&a, 123456);   /* a length with nothing behind */
				break;
			case MB_SIGN_WRONG_ID:
				ipc_put_u32(&a, STORE_OK);
				ipc_put_bytes(&a, "sig", 3);
				break;
			default:
				break;
			}
			ipc_send(fd, &a);
			continue;
		}
		if (keyholder_serve_one(fd, "hostile test") != 1)
			_exit(0);
	}
}

static pid_t
start_fake(enum misbehave how, int *fd)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		fake_keyholder(sv[1], how);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

static void
reap(pid_t pid, int fd)
{
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A client handshake in a child; its exit status: 0 ok, 3 failed. */
static pid_t
start_client(int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		SSL_CTX *c = SSL_CTX_new(TLS_client_method());
		SSL *s = SSL_new(c);

		SSL_set_fd(s, fd);
		_exit(SSL_connect(s) == 1 ? 0 : 3);
	}
	return pid;
}

static void
init_refused(enum misbehave how, const char *what)
{
	int fd;
	pid_t pid = start_fake(how, &fd);
	uint64_t t0 = now_ms();

	CHECK(tls_init(&conf, fd) == -1 && !tls_ready() && now_ms() - t0 < 5000,
	    "tls_init refuses a keyholder that %s", what);
	reap(pid, fd);
}

static void
handshake_fails(enum misbehave how, const char *what)
{
	struct session s;
	int fd, sv[2], st = -1;
	pid_t kh = start_fake(how, &fd), cl;
	uint64_t t0;

	CHECK(tls_init(&conf, fd) == 0 && tls_ready(), "certificates from a keyholder that %s",
	    what);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return;
	cl = start_client(sv[1]);
	close(sv[1]);
	tls_test_session(&s, &conn, &conf, sv[0], "hostile");
	t0 = now_ms();
	CHECK(tls_start(&s) == -1 && conn.tls == NULL && !s.tls,
	    "the handshake fails cleanly when the keyholder %s", what);
	CHECK(now_ms() - t0 < TLS_KEYHOLDER_MS + 5000, "and within the keyholder timeout");
	close(sv[0]);
	waitpid(cl, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "the client saw the handshake fail");
	reap(kh, fd);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	conf_defaults(&conf);
	strlcpy_(conf.tls_cert, "/nonexistent/c", sizeof(conf.tls_cert));
	strlcpy_(conf.tls_key, "/nonexistent/k", sizeof(conf.tls_key));
	tls_preinit();
	CHECK(make_pem(0, &pem) == 0, "a test certificate");
	init_refused(MB_CERTS_GARBAGE, "sends a malformed certificate list");
	init_refused(MB_CERTS_COUNT, "sends no certificate");
	init_refused(MB_CERTS_FD, "attaches a descriptor");
	init_refused(MB_CERTS_BADPEM, "sends something that is not a certificate");
	init_refused(MB_CLOSE, "closes the channel");
	handshake_fails(MB_SIGN_FAIL, "refuses to sign");
	handshake_fails(MB_SIGN_GARBAGE, "answers a malformed signature");
	handshake_fails(MB_SIGN_WRONG_ID, "answers under another id");
	return check_done();
}
