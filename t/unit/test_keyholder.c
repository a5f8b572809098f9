/*
 * The keyholder and the worker's forwarding key, without the daemon: a
 * forked keyholder serves one channel over a SEQPACKET socketpair, and a
 * forked TLS client does real handshakes against tls_start() whose private
 * key is the stand-in.  The test process unloads the real key after the
 * fork, so every signature must come from the keyholder.
 * Also: key/certificate checks, and malformed requests drop the channel.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
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
static const char *client_sni;       /* the client asks for this name */
static const char *client_groups;    /* the client's key exchange groups */

/* A forked keyholder serving one channel; exits 0 on EOF, 2 on a drop. */
static pid_t
start_keyholder(int *fd)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		int r;

		close(sv[0]);
		while ((r = keyholder_serve_one(sv[1], "test worker")) == 1) {
			struct pollfd p = { sv[1], POLLIN, 0 };
			poll(&p, 1, 10000);
		}
		_exit(r == 0 ? 0 : 2);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

static int
wait_exit(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * The client side, in a child: handshake with max version maxv (0 = any),
 * optional sigalgs, send "hello", expect "world".  Exit 0 when all went
 * well and the peer's certificate is ours; 3 when the handshake failed.
 */
static void __attribute__((noreturn))
client(int fd, int minv, int maxv, const char *sigalgs, const char *ciphers,
    const struct pem *p)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	SSL *s;
	char buf[64];
	BIO *b = BIO_new_mem_buf(p->cert, (int)p->certlen);
	X509 *mine = PEM_read_bio_X509(b, NULL, NULL, NULL), *peer;
	int n;

	if (minv)
		SSL_CTX_set_min_proto_version(c, minv);
	if (maxv)
		SSL_CTX_set_max_proto_version(c, maxv);
	if (sigalgs)
		SSL_CTX_set1_sigalgs_list(c, sigalgs);
	if (ciphers)
		SSL_CTX_set_cipher_list(c, ciphers);
	if (client_groups)
		SSL_CTX_set1_groups_list(c, client_groups);
	s = SSL_new(c);
	SSL_set_fd(s, fd);
	if (client_sni != NULL)
		SSL_set_tlsext_host_name(s, client_sni);
	if (SSL_connect(s) != 1)
		_exit(3);
	peer = SSL_get1_peer_certificate(s);
	if (peer == NULL || X509_cmp(peer, mine) != 0)
		_exit(4);
	if (SSL_write(s, "hello\r\n", 7) != 7)
		_exit(5);
	n = SSL_read(s, buf, sizeof(buf) - 1);
	if (n != 7 || memcmp(buf, "world\r\n", 7) != 0)
		_exit(6);
	SSL_shutdown(s);
	_exit(0);
}

/* One TLS session against tls_start(); returns the client's exit code
 * and sets *server_ok when the server side saw "hello". */
static int
session_round(int minv, int maxv, const char *sigalgs, const char *ciphers,
    const struct pem *p, int *server_ok, char *proto, size_t protosz)
{
	struct session s;
	char line[128];
	size_t len;
	int flags, sv[2];
	pid_t pid;

	*server_ok = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		client(sv[1], minv, maxv, sigalgs, ciphers, p);
	}
	close(sv[1]);
	tls_test_session(&s, &conn, &conf, sv[0], "test");
	if (tls_start(&s) == 0) {
		if (proto != NULL)
			snprintf(proto, protosz, "%s %s", tls_protocol(&conn), tls_cipher(&conn));
		if (conn_readline(&conn, line, sizeof(line), &len, &flags, 5000) == CONN_OK &&
		    strcmp(line, "hello") == 0) {
			*server_ok = s.tls;
			conn_printf(&conn, "world\r\n");
			conn_flush(&conn, 5000);
		}
		tls_end(&conn);
	}
	close(sv[0]);
	return wait_exit(pid);
}

/* Sends a raw MSG_SIGN / other request to a fresh keyholder: was it
 * dropped (exit 2)? */
static int
dropped_after(uint32_t type, int with_sign, uint32_t idx, uint32_t op,
    uint32_t md, size_t inlen)
{
	static struct ipc_msg m;
	static unsigned char in[4096];
	int fd, code;
	pid_t pid = start_keyholder(&fd);

	ipc_init(&m, type, 7);
	if (with_sign == 2)
		ipc_put_u32(&m, idx);
	else if (with_sign) {
		ipc_put_u32(&m, idx);
		ipc_put_u32(&m, op);
		ipc_put_u32(&m, md);
		ipc_put_bytes(&m, in, inlen);
	}
	ipc_send(fd, &m);
	shutdown(fd, SHUT_WR);   /* an answered request then ends with EOF: exit 0 */
	code = wait_exit(pid);
	close(fd);
	return code == 2;
}

static void
test_load_checks(const struct pem *rsa, const struct pem *ec)
{
	char err[512];
	static const char junk[] = "-----BEGIN CERTIFICATE-----\nnot base64 !!\n"
	    "-----END CERTIFICATE-----\n";

	CHECK(keyholder_load_into(0, "", rsa->cert, rsa->certlen, rsa->key, rsa->keylen,
	    "c.conf:3: tls-cert a", "c.conf:4: tls-key b", err, sizeof(err)) == 0,
	    "an RSA certificate and its key load");
	keyholder_unload();
	CHECK(keyholder_load_into(0, "", rsa->cert, rsa->certlen, ec->key, ec->keylen,
	    "c.conf:3: tls-cert a", "c.conf:4: tls-key b", err, sizeof(err)) == -1 &&
	    strncmp(err, "c.conf:4: tls-key b: ", 21) == 0 &&
	    strstr(err, "does not match") != NULL,
	    "a key that does not match is refused with FILE:LINE (%s)", err);
	CHECK(keyholder_load_into(0, "", "hello\n", 6, rsa->key, rsa->keylen,
	    "c.conf:3: tls-cert a", "c.conf:4: tls-key b", err, sizeof(err)) == -1 &&
	    strncmp(err, "c.conf:3: tls-cert a: ", 22) == 0,
	    "a file without a certificate is refused (%s)", err);
	CHECK(keyholder_load_into(0, "", junk, sizeof(junk) - 1, rsa->key, rsa->keylen,
	    "c.conf:3: tls-cert a", "c.conf:4: tls-key b", err, sizeof(err)) == -1 &&
	    strncmp(err, "c.conf:3: ", 10) == 0,
	    "a broken certificate is refused (%s)", err);
	CHECK(keyholder_load_into(0, "", rsa->cert, rsa->certlen, rsa->cert, rsa->certlen,
	    "c.conf:3: tls-cert a", "c.conf:4: tls-key b", err, sizeof(err)) == -1 &&
	    strncmp(err, "c.conf:4: ", 10) == 0,
	    "a key file without a key is refused (%s)", err);
	CHECK(keyholder_load_into(0, "", rsa->cert, rsa->certlen, rsa->key, 0,
	    "c.conf:3: tls-cert a", "c.conf:4: tls-key b", err, sizeof(err)) == -1,
	    "an empty key file is refused");
	keyholder_unload();
}

/* Handshakes with one key type; the real key lives only in the keyholder. */
static void
test_handshakes(const char *what, const struct pem *p, int rsa)
{
	char err[512], proto[128] = "";
	int kfd, ok, code;
	pid_t kh;

	CHECK(keyholder_load_into(0, "", p->cert, p->certlen, p->key, p->keylen, "c", "k",
	    err, sizeof(err)) == 0, "%s: loaded", what);
	kh = start_keyholder(&kfd);
	keyholder_unload();    /* from here on only the keyholder has the key */
	CHECK(tls_init(&conf, kfd) == 0 && tls_ready(), "%s: tls_init over MSG_CERTS", what);

	code = session_round(0, 0, NULL, NULL, p, &ok, proto, sizeof(proto));
	CHECK(code == 0 && ok && strncmp(proto, "TLSv1.3 ", 8) == 0,
	    "%s: TLS 1.3 round trip (%s, client %d)", what, proto, code);
	code = session_round(0, TLS1_2_VERSION, rsa ? "RSA+SHA256" : "ECDSA+SHA256",
	    NULL, p, &ok, proto, sizeof(proto));
	CHECK(code == 0 && ok && strncmp(proto, "TLSv1.2 ", 8) == 0,
	    "%s: TLS 1.2 round trip, %s signature (%s, client %d)", what,
	    rsa ? "PKCS#1 v1.5" : "ECDSA", proto, code);
	if (rsa) {
		code = session_round(0, TLS1_2_VERSION, "RSA-PSS+SHA256", NULL, p, &ok,
		    proto, sizeof(proto));
		CHECK(code == 0 && ok, "%s: TLS 1.2 with RSA-PSS (client %d)", what, code);
		code = session_round(0, TLS1_2_VERSION, NULL, "AES128-GCM-SHA256", p, &ok,
		    NULL, 0);
		CHECK(code == 3 && !ok, "%s: RSA key transport is not offered (client %d)",
		    what, code);
	}
	/* ECDHE on a NIST curve: the stand-in's methods leave EC key
	 * generation alone */
	client_groups = "P-256";
	code = session_round(0, 0, NULL, NULL, p, &ok, proto, sizeof(proto));
	CHECK(code == 0 && ok && strncmp(proto, "TLSv1.3 ", 8) == 0,
	    "%s: TLS 1.3 with a P-256 key share (%s, client %d)", what, proto, code);
	code = session_round(0, TLS1_2_VERSION, rsa ? "RSA+SHA384" : "ECDSA+SHA384",
	    NULL, p, &ok, proto, sizeof(proto));
	CHECK(code == 0 && ok && strncmp(proto, "TLSv1.2 ", 8) == 0,
	    "%s: TLS 1.2, ECDHE P-256, SHA-384 signature (%s, client %d)", what,
	    proto, code);
	client_groups = NULL;
	code = session_round(TLS1_1_VERSION, TLS1_1_VERSION, NULL,
	    "DEFAULT:@SECLEVEL=0", p, &ok, NULL, 0);
	CHECK(code == 3 && !ok, "%s: a TLS 1.1 client is refused (client %d)", what, code);

	/* without the keyholder nothing can be signed: the forwarding is real */
	kill(kh, SIGKILL);
	wait_exit(kh);
	code = session_round(0, 0, NULL, NULL, p, &ok, NULL, 0);
	CHECK(code == 3 && !ok, "%s: no handshake once the keyholder is gone (client %d)",
	    what, code);
	close(kfd);
}

/* The MSG_SIGN operation codes an older keyholder took:
 * a raw RSA private-key operation with the worker's padding, and PKCS#1
 * decryption.  Same wire layout (u32 index, u32 op, u32 padding, bytes). */
#define OLD_SIGN_RSA_PRIV_ENC 1
#define OLD_SIGN_RSA_PRIV_DEC 2

static void
test_bad_requests(const struct pem *rsa, const struct pem *ec)
{
	char err[512];

	keyholder_load_into(0, "", rsa->cert, rsa->certlen, rsa->key, rsa->keylen, "c", "k",
	    err, sizeof(err));
	CHECK(dropped_after(MSG_SIGN, 1, 0, OLD_SIGN_RSA_PRIV_ENC, RSA_NO_PADDING, 256),
	    "a raw RSA operation (no padding, a key-size block) is refused");
	CHECK(dropped_after(MSG_SIGN, 1, 0, OLD_SIGN_RSA_PRIV_ENC, RSA_PKCS1_PADDING, 51),
	    "a PKCS#1 private encryption of a worker-built block is refused");
	CHECK(dropped_after(MSG_SIGN, 1, 0, OLD_SIGN_RSA_PRIV_DEC, RSA_PKCS1_PADDING, 256),
	    "an RSA decryption is refused");
	CHECK(dropped_after(MSG_SIGN, 1, 1, SIGN_RSA_PKCS1, SIGN_MD_SHA256, 32),
	    "MSG_SIGN with an unknown key index drops the channel");
	CHECK(dropped_after(MSG_SIGN, 1, 0, SIGN_ECDSA, SIGN_MD_SHA256, 32),
	    "MSG_SIGN with an ECDSA operation on an RSA key drops the channel");
	CHECK(dropped_after(MSG_SIGN, 1, 0, 99, SIGN_MD_SHA256, 32),
	    "MSG_SIGN with an unknown operation drops the channel");
	CHECK(dropped_after(MSG_SIGN, 1, 0, SIGN_RSA_PSS, 0, 32) &&
	    dropped_after(MSG_SIGN, 1, 0, SIGN_RSA_PSS, 6, 32),
	    "MSG_SIGN with an unknown digest algorithm drops the channel");
	CHECK(dropped_after(MSG_SIGN, 1, 0, SIGN_RSA_PSS, SIGN_MD_SHA256, 33) &&
	    dropped_after(MSG_SIGN, 1, 0, SIGN_RSA_PKCS1, SIGN_MD_SHA256, 31) &&
	    dropped_after(MSG_SIGN, 1, 0, SIGN_RSA_PKCS1, SIGN_MD_SHA512, 256),
	    "MSG_SIGN with a digest of the wrong length drops the channel");
	CHECK(dropped_after(MSG_SIGN, 1, 0, SIGN_RSA_PKCS1, SIGN_MD_SHA256, 4000),
	    "MSG_SIGN with an oversized input drops the channel");
	CHECK(dropped_after(MSG_SIGN, 0, 0, 0, 0, 0),
	    "MSG_SIGN with an empty payload drops the channel");
	CHECK(dropped_after(MSG_LOOKUP, 0, 0, 0, 0, 0),
	    "a store message on the keyholder channel drops it");
	CHECK(dropped_after(MSG_CERTS, 1, 0, 0, 0, 0),
	    "MSG_CERTS with trailing bytes drops the channel");
	CHECK(dropped_after(MSG_CERTS, 0, 0, 0, 0, 0),
	    "MSG_CERTS without a slot drops the channel");
	CHECK(dropped_after(MSG_CERTS, 2, 1, 0, 0, 0) &&
	    dropped_after(MSG_CERTS, 2, UINT32_MAX, 0, 0, 0),
	    "MSG_CERTS for a slot that is not loaded drops the channel");
	CHECK(!dropped_after(MSG_CERTS, 2, 0, 0, 0, 0),
	    "MSG_CERTS for slot 0 is answered");
	keyholder_unload();
	keyholder_load_into(0, "", ec->cert, ec->certlen, ec->key, ec->keylen, "c", "k",
	    err, sizeof(err));
	CHECK(dropped_after(MSG_SIGN, 1, 0, SIGN_ECDSA, SIGN_MD_SHA256, 64) &&
	    dropped_after(MSG_SIGN, 1, 0, SIGN_RSA_PSS, SIGN_MD_SHA256, 32),
	    "EC key: a digest of the wrong length, or an RSA operation, is refused");
	keyholder_unload();
}

/* One MSG_SIGN to a fresh keyholder serving slot 0: the signature's
 * length, or -1 when it was refused. */
static long
sign_via(uint32_t op, uint32_t md, const unsigned char *dg, size_t dlen,
    unsigned char *sig, size_t sigsz)
{
	static struct ipc_msg m;
	const void *res;
	size_t rl;
	uint32_t st;
	long n = -1;
	int fd;
	pid_t pid = start_keyholder(&fd);

	ipc_init(&m, MSG_SIGN, 9);
	ipc_put_u32(&m, 0);
	ipc_put_u32(&m, op);
	ipc_put_u32(&m, md);
	ipc_put_bytes(&m, dg, dlen);
	if (ipc_send(fd, &m) == 0 && ipc_recv(fd, &m) == 1 &&
	    m.hdr.type == MSG_SIGN_R && m.hdr.id == 9 && ipc_get_u32(&m, &st) == 0 &&
	    ipc_get_bytes(&m, &res, &rl) == 0 && st == STORE_OK && rl <= sigsz) {
		memcpy(sig, res, rl);
		n = (long)rl;
	}
	close(fd);
	wait_exit(pid);
	return n;
}

/* Does sig verify over digest dg (SHA-256) with p's certificate key? */
static int
verifies(const struct pem *p, int pad, const unsigned char *sig, size_t siglen,
    const unsigned char *dg)
{
	BIO *b = BIO_new_mem_buf(p->cert, (int)p->certlen);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	EVP_PKEY_CTX *ctx = x != NULL ? EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL) : NULL;
	int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0;

	if (ok && pad != 0)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, pad) > 0 &&
		    (pad != RSA_PKCS1_PSS_PADDING ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0);
	ok = ok && EVP_PKEY_verify(ctx, sig, siglen, dg, 32) == 1;
	EVP_PKEY_CTX_free(ctx);
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
	return ok;
}

/* The keyholder pads: a SHA-256 digest in, a PSS / PKCS#1 / ECDSA
 * signature out that the certificate's public key verifies. */
static void
test_sign_digest(const struct pem *rsa, const struct pem *ec)
{
	unsigned char dg[32], sig[1024];
	char err[512];
	long n;

	SHA256((const unsigned char *)"postern", 7, dg);
	keyholder_load_into(0, "", rsa->cert, rsa->certlen, rsa->key, rsa->keylen, "c", "k",
	    err, sizeof(err));
	n = sign_via(SIGN_RSA_PSS, SIGN_MD_SHA256, dg, sizeof(dg), sig, sizeof(sig));
	CHECK(n == 256 && verifies(rsa, RSA_PKCS1_PSS_PADDING, sig, (size_t)n, dg),
	    "a PSS signature of a SHA-256 digest works and verifies (%ld bytes)", n);
	CHECK(!verifies(rsa, RSA_PKCS1_PADDING, sig, (size_t)n, dg),
	    "... and it is PSS, not PKCS#1 v1.5");
	n = sign_via(SIGN_RSA_PKCS1, SIGN_MD_SHA256, dg, sizeof(dg), sig, sizeof(sig));
	CHECK(n == 256 && verifies(rsa, RSA_PKCS1_PADDING, sig, (size_t)n, dg),
	    "a PKCS#1 v1.5 signature of a SHA-256 digest works and verifies (%ld)", n);
	keyholder_unload();
	keyholder_load_into(0, "", ec->cert, ec->certlen, ec->key, ec->keylen, "c", "k",
	    err, sizeof(err));
	n = sign_via(SIGN_ECDSA, SIGN_MD_SHA256, dg, sizeof(dg), sig, sizeof(sig));
	CHECK(n > 0 && verifies(ec, 0, sig, (size_t)n, dg),
	    "an ECDSA signature of a SHA-256 digest works and verifies (%ld)", n);
	keyholder_unload();
}

/* Two certificates: the default RSA one and an EC one for a domain and a
 * wildcard; the client's SNI picks the certificate. */
static void
test_sni(const struct pem *rsa, const struct pem *ec)
{
	static struct pem ec2;
	char err[512];
	int kfd, ok, code;
	pid_t kh;

	make_pem(0, &ec2);
	CHECK(keyholder_load_into(0, "", rsa->cert, rsa->certlen, rsa->key, rsa->keylen,
	    "c", "k", err, sizeof(err)) == 0 &&
	    keyholder_load_into(1, "mail.example.net", ec->cert, ec->certlen, ec->key,
	    ec->keylen, "c", "k", err, sizeof(err)) == 0 &&
	    keyholder_load_into(2, "*.example.com", ec2.cert, ec2.certlen, ec2.key,
	    ec2.keylen, "c", "k", err, sizeof(err)) == 0, "SNI: three slots loaded");
	kh = start_keyholder(&kfd);
	keyholder_unload();
	CHECK(tls_init(&conf, kfd) == 0, "SNI: tls_init with three certificates");
	client_sni = "MAIL.example.net";
	code = session_round(0, 0, NULL, NULL, ec, &ok, NULL, 0);
	CHECK(code == 0 && ok, "SNI: mail.example.net gets its EC certificate (client %d)", code);
	client_sni = "a.example.com";
	code = session_round(0, TLS1_2_VERSION, NULL, NULL, &ec2, &ok, NULL, 0);
	CHECK(code == 0 && ok, "SNI: a.example.com matches *.example.com (client %d)", code);
	client_sni = "a.b.example.com";
	code = session_round(0, 0, NULL, NULL, rsa, &ok, NULL, 0);
	CHECK(code == 0 && ok, "SNI: a.b.example.com gets the default (client %d)", code);
	client_sni = "example.com";
	code = session_round(0, 0, NULL, NULL, rsa, &ok, NULL, 0);
	CHECK(code == 0 && ok, "SNI: example.com gets the default (client %d)", code);
	client_sni = NULL;
	code = session_round(0, 0, NULL, NULL, rsa, &ok, NULL, 0);
	CHECK(code == 0 && ok, "SNI: no server name gets the default (client %d)", code);
	kill(kh, SIGKILL);
	wait_exit(kh);
	close(kfd);
}

/*
 * Eight certificates whose chains together are larger
 * than one IPC message (each 16 certificates, about 17 KB; 8 x 17 KB
 * > 64 KB).  Every slot travels in a message of its own: tls_init works
 * and the last SNI name is served its certificate.
 */
static void
test_many_chains(const struct pem *rsa)
{
	static struct pem leaf[KH_MAX_KEYS];
	static char chain[KH_MAX_KEYS][16 * 8192];
	static const char *names[KH_MAX_KEYS] = { "", "a.example.net", "b.example.net",
	    "c.example.net", "d.example.net", "e.example.net", "f.example.net",
	    "g.example.net" };
	char err[512];
	size_t total = 0;
	int kfd, ok, code, loaded = 1;
	pid_t kh;

	for (int i = 0; i < KH_MAX_KEYS; i++) {
		size_t len;

		if (make_pem(0, &leaf[i]) == -1) {
			CHECK(0, "many chains: test key %d made", i);
			return;
		}
		/* the leaf, then 15 unrelated certificates as the "chain" */
		memcpy(chain[i], leaf[i].cert, leaf[i].certlen);
		len = leaf[i].certlen;
		for (int j = 0; j < 15; j++) {
			memcpy(chain[i] + len, rsa->cert, rsa->certlen);
			len += rsa->certlen;
		}
		total += len;
		loaded &= keyholder_load_into((uint32_t)i, names[i], chain[i], len, leaf[i].key,
		    leaf[i].keylen, "c", "k", err, sizeof(err)) == 0;
	}
	CHECK(loaded && total > IPC_MAX_PAYLOAD,
	    "many chains: %d slots, %zu bytes of chains, loaded (%s)", KH_MAX_KEYS, total,
	    loaded ? "" : err);
	kh = start_keyholder(&kfd);
	keyholder_unload();
	CHECK(tls_init(&conf, kfd) == 0 && tls_ready(),
	    "many chains: tls_init takes them all");
	client_sni = "g.example.net";
	code = session_round(0, 0, NULL, NULL, &leaf[KH_MAX_KEYS - 1], &ok, NULL, 0);
	CHECK(code == 0 && ok, "many chains: the last SNI name gets its certificate "
	    "(client %d)", code);
	client_sni = NULL;
	code = session_round(0, 0, NULL, NULL, &leaf[0], &ok, NULL, 0);
	CHECK(code == 0 && ok, "many chains: the default certificate (client %d)", code);
	kill(kh, SIGKILL);
	wait_exit(kh);
	close(kfd);
}

static void
write_file(const char *path, const char *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

/* keyholder_check() (posternd -n) with its stderr in err: the first
 * problem it printed, "" for none.  Returns its count of problems. */
static int
check_quoted(const struct conf *c, char *err, size_t errsz)
{
	FILE *f = tmpfile();
	int saved, n;

	err[0] = '\0';
	if (f == NULL)
		return -1;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(f), STDERR_FILENO);
	n = keyholder_check(c);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	if (fgets(err, (int)errsz, f) != NULL)
		err[strcspn(err, "\n")] = '\0';
	fclose(f);
	return n;
}

/* keyholder_check(): the certificate, key and cipher checks of posternd -n. */
static void
test_verify(const struct pem *rsa, const struct pem *ec)
{
	static struct conf c;
	char dir[] = "/tmp/postern-kh.XXXXXX", err[LIM_LOGLINE];
	char cert[128], key[128], other[128];

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	snprintf(other, sizeof(other), "%s/o.pem", dir);
	write_file(cert, rsa->cert, rsa->certlen);
	write_file(key, rsa->key, rsa->keylen);
	write_file(other, ec->key, ec->keylen);
	conf_defaults(&c);
	strlcpy_(c.path, "/etc/p.conf", sizeof(c.path));
	strlcpy_(c.tls_cert, cert, sizeof(c.tls_cert));
	strlcpy_(c.tls_key, key, sizeof(c.tls_key));
	c.tls_cert_line = 7;
	c.tls_key_line = 8;
	CHECK(check_quoted(&c, err, sizeof(err)) == 0 && err[0] == '\0',
	    "keyholder_check: good files pass");
	strlcpy_(c.tls_key, other, sizeof(c.tls_key));
	CHECK(check_quoted(&c, err, sizeof(err)) == 1 &&
	    strncmp(err, "/etc/p.conf:8: tls-key ", 23) == 0,
	    "keyholder_check: a foreign key is one problem (%s)", err);
	strlcpy_(c.tls_key, key, sizeof(c.tls_key));
	strlcpy_(c.tls_ciphers, "NOSUCHCIPHER", sizeof(c.tls_ciphers));
	CHECK(check_quoted(&c, err, sizeof(err)) == 1 && strstr(err, "tls-ciphers") != NULL,
	    "keyholder_check: a cipher list that selects nothing (%s)", err);
	strlcpy_(c.tls_ciphers, "AES128-SHA256:AES256-GCM-SHA384", sizeof(c.tls_ciphers));
	CHECK(check_quoted(&c, err, sizeof(err)) == 1 &&
	    strstr(err, "RSA key transport") != NULL,
	    "keyholder_check: RSA key transport only is refused (%s)", err);
	strlcpy_(c.tls_ciphers, "AES128-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
	    sizeof(c.tls_ciphers));
	CHECK(check_quoted(&c, err, sizeof(err)) == 0,
	    "keyholder_check: a list with forward-secret ciphers passes (%s)", err);
	unlink(cert);
	unlink(key);
	unlink(other);
	rmdir(dir);
}

int
main(void)
{
	static struct pem rsa, ec;

	signal(SIGPIPE, SIG_IGN);
	conf_defaults(&conf);
	tls_preinit();
	CHECK(make_pem(1, &rsa) == 0 && make_pem(0, &ec) == 0, "test keys made");
	test_load_checks(&rsa, &ec);
	test_bad_requests(&rsa, &ec);
	test_sign_digest(&rsa, &ec);
	test_handshakes("RSA", &rsa, 1);
	test_handshakes("EC", &ec, 0);
	test_sni(&rsa, &ec);
	test_many_chains(&rsa);
	test_verify(&rsa, &ec);
	return check_done();
}
