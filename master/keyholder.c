/*
 * The keyholder (see keyholder.h), after OpenSMTPD's ca process.
 *
 * Entry order: take the config from the master, take the certificate and
 * key descriptors the master opened and read them into memory, enter the
 * sandbox (its own uid, the empty jail, a seccomp allowlist without open),
 * parse and check them there, tell the master the result, then answer the
 * workers: MSG_CERTS with the public chain, MSG_SIGN with one signature of
 * a digest (padded here).  Every request is checked (type, size, key index, operation,
 * digest algorithm and length) and a worker that sends anything else loses
 * its channel.
 *
 * Shutdown: MSG_SHUTDOWN with grace UINT32_MAX means "a new keyholder took
 * over; leave once every worker you serve has closed its channel" (SIGHUP
 * keeps sessions in progress).  Any other grace, or EOF on the control
 * channel, means exit now.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../privsep/conf.h"
#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/ossl.h"
#include "../privsep/proc.h"
#include "../privsep/sandbox.h"
#include "../privsep/util.h"
#include "keyholder.h"

#define KH_MAX_DIGEST    64     /* SHA-512, the largest digest ECDSA signs */

struct kh_key {
	EVP_PKEY *pkey;
	int rsa;                 /* 1 RSA, 0 EC */
	size_t size;             /* EVP_PKEY_get_size: the largest output */
	char name[LIM_DOMAIN + 1];
	char *chain;             /* PEM, certificates only, leaf first */
	size_t chainlen;
};

static struct kh_key keys[KH_MAX_KEYS];
static uint32_t nkeys;

/* ------------------------------------------------------------ loading */

/* Never prompt for a pass phrase: encrypted keys are refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Reads the PEM certificates from mem: the chain re-encoded (nothing but
 * certificates leaves), and the leaf.  0 ok, -1 with err. */
static int
load_chain(const void *mem, size_t len, X509 **leafp, char **chainp,
    size_t *chainlenp, char *err, size_t errsz, const char *where)
{
	BIO *in = BIO_new_mem_buf(mem, (int)len), *out = BIO_new(BIO_s_mem());
	X509 *x;
	int n = 0, rc = -1;
	BUF_MEM *bm;

	*leafp = NULL;
	if (in == NULL || out == NULL) {
		(void)bsnprintf(err, errsz, "%s: out of memory", where);
		goto done;
	}
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(in, NULL, no_passphrase, NULL)) != NULL) {
		if (PEM_write_bio_X509(out, x) != 1) {
			X509_free(x);
			(void)bsnprintf(err, errsz, "%s: %s", where, ossl_reason());
			goto done;
		}
		if (n++ == 0)
			*leafp = x;
		else
			X509_free(x);
		if (n > 16) {
			(void)bsnprintf(err, errsz, "%s: more than 16 certificates", where);
			goto done;
		}
	}
	/* the loop ends on "no start line" at the end of the file; anything
	 * else is a broken certificate */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || n == 0) {
		if (n == 0)
			(void)bsnprintf(err, errsz, "%s: no PEM certificate in the file", where);
		else
			(void)bsnprintf(err, errsz, "%s: certificate %d is not valid PEM (%s)",
			    where, n + 1, ossl_reason());
		goto done;
	}
	ERR_clear_error();
	BIO_get_mem_ptr(out, &bm);
	/* each chain travels in a MSG_CERTS_R of its own, beside its name */
	if (bm->length > KH_MAX_CHAIN) {
		(void)bsnprintf(err, errsz, "%s: the chain is too large (%zu bytes)", where,
		    bm->length);
		goto done;
	}
	*chainp = xmalloc(bm->length);
	memcpy(*chainp, bm->data, bm->length);
	*chainlenp = bm->length;
	rc = 0;
done:
	if (rc == -1) {
		X509_free(*leafp);
		*leafp = NULL;
	}
	BIO_free(in);
	BIO_free(out);
	return rc;
}

/* Warns (does not refuse) about a certificate outside its validity. */
static void
check_validity(X509 *leaf, const char *where)
{
	if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
		log_warnx("%s: the certificate has expired", where);
	else if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0)
		log_warnx("%s: the certificate is not valid yet", where);
}

int
keyholder_load(uint32_t idx, const char *name, const void *cert, size_t certlen,
    const void *key, size_t keylen, const char *cert_where, const char *key_where,
    const char **why)
{
	static char err[LIM_LOGLINE];
	const size_t errsz = sizeof(err);
	struct kh_key k;
	X509 *leaf = NULL;
	EVP_PKEY *pk = NULL;
	BIO *in = NULL;
	int rc = -1;

	memset(&k, 0, sizeof(k));
	if (idx >= KH_MAX_KEYS || keys[idx].pkey != NULL) {
		(void)bsnprintf(err, errsz, "%s: certificate slot %u is not free", cert_where, idx);
		return fail_why(why, err);
	}
	if (certlen == 0 || certlen > KH_FILE_MAX_BYTES) {
		(void)bsnprintf(err, errsz, "%s: %s", cert_where, certlen == 0 ?
		    "the file is empty" : "the file is too large");
		return fail_why(why, err);
	}
	if (keylen == 0 || keylen > KH_FILE_MAX_BYTES) {
		(void)bsnprintf(err, errsz, "%s: %s", key_where, keylen == 0 ?
		    "the file is empty" : "the file is too large");
		return fail_why(why, err);
	}
	if (load_chain(cert, certlen, &leaf, &k.chain, &k.chainlen, err, errsz,
	    cert_where) == -1)
		return fail_why(why, err);
	check_validity(leaf, cert_where);

	ERR_clear_error();
	if ((in = BIO_new_mem_buf(key, (int)keylen)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(in, NULL, no_passphrase, NULL)) == NULL) {
		(void)bsnprintf(err, errsz, "%s: no usable PEM private key (%s)", key_where,
		    ossl_reason());
		goto done;
	}
	if (EVP_PKEY_is_a(pk, "RSA"))
		k.rsa = 1;
	else if (EVP_PKEY_is_a(pk, "EC"))
		k.rsa = 0;
	else {
		(void)bsnprintf(err, errsz, "%s: key type %s is not supported (RSA or EC)",
		    key_where, EVP_PKEY_get0_type_name(pk));
		goto done;
	}
	if (X509_check_private_key(leaf, pk) != 1) {
		ERR_clear_error();
		(void)bsnprintf(err, errsz, "%s: the key does not match the certificate %s",
		    key_where, cert_where);
		goto done;
	}
	k.size = (size_t)EVP_PKEY_get_size(pk);
	if (k.size == 0 || k.size > 2048) {
		(void)bsnprintf(err, errsz, "%s: unusable key size", key_where);
		goto done;
	}
	k.pkey = pk;
	pk = NULL;
	strlcpy_(k.name, name != NULL ? name : "", sizeof(k.name));
	keys[idx] = k;
	if (idx + 1 > nkeys)
		nkeys = idx + 1;
	k.chain = NULL;
	rc = 0;
done:
	if (rc == -1)
		(void)fail_why(why, err);
	free(k.chain);
	EVP_PKEY_free(pk);
	BIO_free(in);
	X509_free(leaf);
	return rc;
}

void
keyholder_unload(void)
{
	for (uint32_t i = 0; i < KH_MAX_KEYS; i++) {
		EVP_PKEY_free(keys[i].pkey);
		free(keys[i].chain);
		memset(&keys[i], 0, sizeof(keys[i]));
	}
	nkeys = 0;
}

/* Reads a whole (regular, bounded) file from fd into *buf.  0 ok. */
static int
slurp_fd(int fd, unsigned char **buf, size_t *len, char *why, size_t whysz)
{
	unsigned char *b = xmalloc(KH_FILE_MAX_BYTES + 1);
	ssize_t r;
	size_t n;

	set_nonblock(fd, 0);
	if ((r = read_full(fd, b, KH_FILE_MAX_BYTES + 1)) == -1) {
		(void)bsnprintf(why, whysz, "cannot read: %s", strerror(errno));
		goto fail;
	}
	n = (size_t)r;
	if (n > KH_FILE_MAX_BYTES) {
		(void)bsnprintf(why, whysz, "larger than %u bytes", (unsigned)KH_FILE_MAX_BYTES);
		goto fail;
	}
	*buf = b;
	*len = n;
	return 0;
fail:
	explicit_bzero(b, KH_FILE_MAX_BYTES + 1);
	free(b);
	return -1;
}

static void
free_secret(unsigned char *b)
{
	if (b != NULL) {
		explicit_bzero(b, KH_FILE_MAX_BYTES + 1);
		free(b);
	}
}

/* What the config says about key slot i: 0 = tls-cert/tls-key, i > 0 =
 * tls-sni line i - 1.  The texts prefix every error: "conf:12: tls-cert FILE". */
struct slot {
	const char *name, *cert, *key;
	char cert_where[CONF_PATH * 2 + LIM_DOMAIN + 48];
	char key_where[CONF_PATH * 2 + LIM_DOMAIN + 48];
};

_Static_assert(CONF_MAX_SNI + 1 <= KH_MAX_KEYS, "a keyholder slot per certificate");

/* Number of slots the config names; -1 when the sni table is malformed
 * (conf_wire_ok() predates it, so it is checked here). */
static int
slot_count(const struct conf *c)
{
	if (c->tls_cert[0] == '\0')
		return 0;
	if (c->nsni > CONF_MAX_SNI)
		return -1;
	for (uint32_t i = 0; i < c->nsni; i++)
		if (memchr(c->sni[i].name, '\0', sizeof(c->sni[i].name)) == NULL ||
		    memchr(c->sni[i].cert, '\0', sizeof(c->sni[i].cert)) == NULL ||
		    memchr(c->sni[i].key, '\0', sizeof(c->sni[i].key)) == NULL)
			return -1;
	return (int)c->nsni + 1;
}

static void
slot_describe(const struct conf *c, uint32_t i, struct slot *sl)
{
	if (i == 0) {
		sl->name = "";
		sl->cert = c->tls_cert;
		sl->key = c->tls_key;
		if (bsnprintf(sl->cert_where, sizeof(sl->cert_where), "%s:%d: tls-cert %s",
		    c->path, c->tls_cert_line, c->tls_cert) == -1)
			strlcpy_(sl->cert_where, "tls-cert", sizeof(sl->cert_where));
		if (bsnprintf(sl->key_where, sizeof(sl->key_where), "%s:%d: tls-key %s",
		    c->path, c->tls_key_line, c->tls_key) == -1)
			strlcpy_(sl->key_where, "tls-key", sizeof(sl->key_where));
		return;
	}
	sl->name = c->sni[i - 1].name;
	sl->cert = c->sni[i - 1].cert;
	sl->key = c->sni[i - 1].key;
	if (bsnprintf(sl->cert_where, sizeof(sl->cert_where), "%s:%d: tls-sni %s %s",
	    c->path, c->sni[i - 1].line, sl->name, sl->cert) == -1)
		strlcpy_(sl->cert_where, "tls-sni", sizeof(sl->cert_where));
	if (bsnprintf(sl->key_where, sizeof(sl->key_where), "%s:%d: tls-sni %s %s",
	    c->path, c->sni[i - 1].line, sl->name, sl->key) == -1)
		strlcpy_(sl->key_where, "tls-sni", sizeof(sl->key_where));
}

/* --------------------------------------------------------- -n check */

/* Where check problems go (posternd -n), and how many there were. */
struct report {
	FILE *out;
	int n;
};

static void report(struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
report(struct report *r, const char *fmt, ...)
{
	char line[LIM_LOGLINE];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(r->out, "%s\n", line);
	r->n++;
}

/* tls-ciphers must select something, or every worker would fail to start. */
static void
check_ciphers(const struct conf *c, struct report *r)
{
	char list[sizeof(c->tls_ciphers) + 32];
	SSL_CTX *ctx;
	int bad;

	if (c->tls_ciphers[0] == '\0')
		return;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		report(r, "%s: tls-ciphers: %s", c->path, ossl_reason());
		return;
	}
	bad = SSL_CTX_set_cipher_list(ctx, c->tls_ciphers) != 1;
	ERR_clear_error();
	/* what the workers use: the list without RSA key transport */
	if (!bad && (bsnprintf(list, sizeof(list), "%s%s", c->tls_ciphers,
	    CONF_TLS_CIPHERS_NEVER) == -1 || SSL_CTX_set_cipher_list(ctx, list) != 1))
		bad = 2;
	ERR_clear_error();
	SSL_CTX_free(ctx);
	if (bad == 1)
		report(r, "%s: tls-ciphers \"%s\": no cipher matches", c->path,
		    c->tls_ciphers);
	else if (bad == 2)
		report(r, "%s: tls-ciphers \"%s\": only RSA key transport ciphers, "
		    "which postern never offers (no forward secrecy, and the keyholder "
		    "does not decrypt)", c->path, c->tls_ciphers);
}

/* Reads one file the way the master opens it.  0 ok. */
static int
check_read(const char *path, const char *where, unsigned char **buf, size_t *len,
    struct report *r)
{
	char why[128];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), rc;

	if (fd == -1) {
		report(r, "%s: %s", where, strerror(errno));
		return -1;
	}
	rc = slurp_fd(fd, buf, len, why, sizeof(why));
	close(fd);
	if (rc == -1)
		report(r, "%s: %s", where, why);
	return rc;
}

static int
check_all(const struct conf *c, struct report *r)
{
	static struct slot sl;
	const char *why;
	int n = slot_count(c);

	if (n == 0)
		return 0;
	if (n < 0) {
		report(r, "%s: malformed tls-sni table", c->path);
		return r->n;
	}
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	for (uint32_t i = 0; i < (uint32_t)n; i++) {
		unsigned char *cb = NULL, *kb = NULL;
		size_t cl = 0, kl = 0;
		int bad = 0;

		slot_describe(c, i, &sl);
		bad += check_read(sl.cert, sl.cert_where, &cb, &cl, r) == -1;
		bad += check_read(sl.key, sl.key_where, &kb, &kl, r) == -1;
		if (bad == 0 && keyholder_load(i, sl.name, cb, cl, kb, kl, sl.cert_where,
		    sl.key_where, &why) == -1)
			report(r, "%s", why);
		free_secret(cb);
		free_secret(kb);
	}
	keyholder_unload();
	check_ciphers(c, r);
	return r->n;
}

int
keyholder_check(const struct conf *c)
{
	struct report r = { stderr, 0 };

	return check_all(c, &r);
}

/* ------------------------------------------------------ serving */

static int
send_or_drop(int fd, struct ipc_msg *m, const char *tag)
{
	if (ipc_send(fd, m) == 0)
		return 1;
	/* a worker that does not read its answers loses the channel */
	log_warn("keyholder: %s: cannot answer", tag);
	return -1;
}

/* One certificate chain: slot idx, the name it answers to and the PEM.
 * One slot a message, so any number of slots of up to KH_MAX_CHAIN bytes
 * each fits (eight long chains in one message would overflow it and
 * every TLS worker would fail to start). */
static int
answer_certs(int fd, struct ipc_msg *req, const char *tag)
{
	static struct ipc_msg m;
	uint32_t idx;

	if (ipc_get_u32(req, &idx) == -1 || ipc_end(req) == -1) {
		log_warnx("keyholder: %s: malformed MSG_CERTS; dropping it", tag);
		return -1;
	}
	if (idx >= nkeys || keys[idx].pkey == NULL) {
		log_warnx("keyholder: %s: MSG_CERTS for slot %u of %u; dropping it", tag,
		    idx, nkeys);
		return -1;
	}
	ipc_init(&m, MSG_CERTS_R, req->hdr.id);
	ipc_put_u32(&m, nkeys);
	ipc_put_u32(&m, idx);
	ipc_put_str(&m, keys[idx].name);
	ipc_put_bytes(&m, keys[idx].chain, keys[idx].chainlen);
	return send_or_drop(fd, &m, tag);
}

/*
 * What a worker may ask: a signature of a digest, nothing else.
 *
 * The worker's stand-in key (workers/tls.c) hands over the digest and
 * names its algorithm and the padding; the keyholder pads and signs with
 * EVP_PKEY_sign itself.  So there is no request that applies the private
 * key to a block the worker chose: no RSA without padding (which would
 * sign anything and decrypt any recorded RSA key exchange) and no
 * decryption at all (postern never offers RSA key transport; see
 * keyholder_ciphers()).  What a compromised worker can still get is a
 * signature over a digest of its choice, the same power the handshake
 * needs, for as long as it runs.
 */
static const EVP_MD *
sign_md(uint32_t md)
{
	switch (md) {
	case SIGN_MD_SHA1:
		return EVP_sha1();
	case SIGN_MD_SHA224:
		return EVP_sha224();
	case SIGN_MD_SHA256:
		return EVP_sha256();
	case SIGN_MD_SHA384:
		return EVP_sha384();
	case SIGN_MD_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* Is (op, digest algorithm, digest length) a request this key may be asked? */
static int
sign_request_ok(const struct kh_key *k, uint32_t op, uint32_t md, size_t inlen)
{
	const EVP_MD *m = sign_md(md);

	if (m == NULL || inlen != (size_t)EVP_MD_get_size(m))
		return 0;
	switch (op) {
	case SIGN_RSA_PKCS1:
	case SIGN_RSA_PSS:
		return k->rsa;
	case SIGN_ECDSA:
		return !k->rsa;
	default:
		return 0;
	}
}

/* One signature of a digest.  Output length, or -1 when it failed. */
static long
do_sign(const struct kh_key *k, uint32_t op, uint32_t md,
    const unsigned char *in, size_t inlen, unsigned char *out, size_t outsz)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	const EVP_MD *m = sign_md(md);
	size_t outlen = outsz;
	int ok;

	if (ctx == NULL || m == NULL) {
		EVP_PKEY_CTX_free(ctx);
		return -1;
	}
	ok = EVP_PKEY_sign_init(ctx) == 1 && EVP_PKEY_CTX_set_signature_md(ctx, m) > 0;
	if (ok && op == SIGN_RSA_PKCS1)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
	else if (ok && op == SIGN_RSA_PSS)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, m) > 0 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0;
	ok = ok && EVP_PKEY_sign(ctx, out, &outlen, in, inlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		log_debug("keyholder: operation %u failed: %s", op, ossl_reason());
		return -1;
	}
	return (long)outlen;
}

static int
answer_sign(int fd, struct ipc_msg *req, const char *tag)
{
	static struct ipc_msg m;
	unsigned char out[2048 + 64];
	uint32_t idx, op, md;
	const void *in;
	size_t inlen;
	long n;

	if (ipc_get_u32(req, &idx) == -1 || ipc_get_u32(req, &op) == -1 ||
	    ipc_get_u32(req, &md) == -1 || ipc_get_bytes(req, &in, &inlen) == -1 ||
	    ipc_end(req) == -1) {
		log_warnx("keyholder: %s: malformed MSG_SIGN; dropping it", tag);
		return -1;
	}
	if (idx >= nkeys || keys[idx].pkey == NULL ||
	    !sign_request_ok(&keys[idx], op, md, inlen)) {
		log_warnx("keyholder: %s: refused MSG_SIGN (key %u, operation %u, "
		    "digest %u, %zu bytes); dropping it", tag, idx, op, md, inlen);
		return -1;
	}
	n = do_sign(&keys[idx], op, md, in, inlen, out, sizeof(out));
	ipc_init(&m, MSG_SIGN_R, req->hdr.id);
	if (n < 0) {
		ipc_put_u32(&m, STORE_TEMPFAIL);
		ipc_put_bytes(&m, "", 0);
	} else {
		ipc_put_u32(&m, STORE_OK);
		ipc_put_bytes(&m, out, (size_t)n);
	}
	explicit_bzero(out, sizeof(out));
	return send_or_drop(fd, &m, tag);
}

int
keyholder_serve_one(int fd, const char *tag)
{
	static struct ipc_msg m;
	int r = ipc_recv(fd, &m);

	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 1;
	if (r == 0)
		return 0;
	if (r == -1) {
		log_warnx("keyholder: %s: malformed message; dropping it", tag);
		return -1;
	}
	if (m.fd != -1) {
		ipc_drop_fd(&m);
		log_warnx("keyholder: %s: sent a descriptor; dropping it", tag);
		return -1;
	}
	switch (m.hdr.type) {
	case MSG_CERTS:
		return answer_certs(fd, &m, tag);
	case MSG_SIGN:
		return answer_sign(fd, &m, tag);
	default:
		log_warnx("keyholder: %s: unexpected %s; dropping it", tag,
		    msg_name(m.hdr.type));
		return -1;
	}
}

/* ------------------------------------------------------ the process */

struct channel {
	int fd;
	uint32_t kind;
	uint32_t pid;
	char tag[32];
};

static struct channel *chans;
static size_t nchans;
static int draining;     /* exit once nchans == 0 */

/* The files the master opened for us, read before the jail. */
struct tls_files {
	unsigned char *cert[KH_MAX_KEYS], *key[KH_MAX_KEYS];
	size_t certlen[KH_MAX_KEYS], keylen[KH_MAX_KEYS];
	char why[KH_MAX_KEYS][2][128];   /* a read problem, "" if none */
};

static void
recv_tls_files(struct tls_files *f)
{
	static struct ipc_msg m;

	for (int i = 0; i < 4 * KH_MAX_KEYS + 1; i++) {
		uint32_t idx;
		int is_key;

		if (ipc_recv(FD_CONTROL, &m) != 1)
			fatalx("the master went away before sending the certificates");
		if (m.hdr.type == MSG_TLS_DONE && m.fd == -1 && ipc_end(&m) == 0)
			return;
		if (m.hdr.type == MSG_SHUTDOWN) {
			ipc_drop_fd(&m);
			exit(0);
		}
		if ((m.hdr.type != MSG_TLS_CERT && m.hdr.type != MSG_TLS_KEY) ||
		    m.fd == -1 || ipc_get_u32(&m, &idx) == -1 || ipc_end(&m) == -1 ||
		    idx >= KH_MAX_KEYS)
			fatalx("unexpected %s from the master", msg_name(m.hdr.type));
		is_key = m.hdr.type == MSG_TLS_KEY;
		if ((is_key ? f->key[idx] : f->cert[idx]) != NULL)
			fatalx("%s %u sent twice", msg_name(m.hdr.type), idx);
		if (slurp_fd(m.fd, is_key ? &f->key[idx] : &f->cert[idx],
		    is_key ? &f->keylen[idx] : &f->certlen[idx], f->why[idx][is_key],
		    sizeof(f->why[idx][is_key])) == -1)
			log_debug("keyholder: file %u/%d: %s", idx, is_key, f->why[idx][is_key]);
		ipc_drop_fd(&m);
	}
	fatalx("too many TLS files from the master");
}

/* Loads what arrived; the first problem as "FILE:LINE: message" in err. */
static int
load_files(const struct conf *c, struct tls_files *f, char *err, size_t errsz)
{
	static struct slot sl;
	int rc = 0, n = slot_count(c);

	if (n <= 0) {
		(void)bsnprintf(err, errsz, "%s: %s", c->path, n == 0 ?
		    "no tls-cert configured" : "malformed tls-sni table");
		rc = -1;
	}
	for (uint32_t i = 0; rc == 0 && i < (uint32_t)n; i++) {
		slot_describe(c, i, &sl);
		if (f->cert[i] == NULL) {
			(void)bsnprintf(err, errsz, "%s: %s", sl.cert_where,
			    f->why[i][0][0] ? f->why[i][0] :
			    "not handed over by the master (unreadable?)");
			rc = -1;
		} else if (f->key[i] == NULL) {
			(void)bsnprintf(err, errsz, "%s: %s", sl.key_where,
			    f->why[i][1][0] ? f->why[i][1] :
			    "not handed over by the master (unreadable?)");
			rc = -1;
		} else {
			const char *why;

			rc = keyholder_load(i, sl.name, f->cert[i], f->certlen[i],
			    f->key[i], f->keylen[i], sl.cert_where, sl.key_where, &why);
			if (rc == -1)
				strlcpy_(err, why, errsz);
		}
	}
	for (int i = 0; i < KH_MAX_KEYS; i++) {
		free_secret(f->cert[i]);
		free_secret(f->key[i]);
		f->cert[i] = f->key[i] = NULL;
	}
	return rc;
}

static void
send_tls_r(int ok, const char *err)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_TLS_R, 0);
	ipc_put_u32(&m, (uint32_t)ok);
	ipc_put_str(&m, err);
	if (ipc_send(FD_CONTROL, &m) == -1)
		fatal("talking to the master");
	if (ok) {
		ipc_init(&m, MSG_READY, 0);
		if (ipc_send(FD_CONTROL, &m) == -1)
			fatal("talking to the master");
	}
}

static void
channel_add(int fd, uint32_t kind, uint32_t pid)
{
	static size_t cap;
	struct channel *ch;

	if (nchans >= KH_CHANNELS_MAX_COUNT) {
		log_warnx("keyholder: too many channels; refusing worker %u", pid);
		close(fd);
		return;
	}
	if (nchans == cap) {
		cap = cap ? cap * 2 : 64;
		chans = xreallocarray(chans, cap, sizeof(*chans));
	}
	set_nonblock(fd, 1);
	ch = &chans[nchans++];
	ch->fd = fd;
	ch->kind = kind;
	ch->pid = pid;
	(void)bsnprintf(ch->tag, sizeof(ch->tag), "%s worker %u",
	    kind == CHAN_SMTP ? "smtp" : "pop3", pid);
}

static void
channel_drop(size_t i)
{
	close(chans[i].fd);
	chans[i] = chans[--nchans];
}

/* One message from the master.  -1: exit now. */
static int
control_one(void)
{
	static struct ipc_msg m;
	uint32_t kind, pid, grace;
	int r = ipc_recv(FD_CONTROL, &m);

	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r == -1 && errno == EBADMSG) {
		/* a channel that came without its descriptor (out of them):
		 * that worker cannot do TLS; the keyholder serves on */
		log_warnx("keyholder: a message from the master came without its "
		    "descriptor (descriptor limit reached?); dropped");
		return 0;
	}
	if (r <= 0)
		return -1;     /* the master is gone */
	switch (m.hdr.type) {
	case MSG_CHANNEL:
		if (m.fd != -1 && ipc_get_u32(&m, &kind) == 0 &&
		    ipc_get_u32(&m, &pid) == 0 && ipc_end(&m) == 0 &&
		    (kind == CHAN_SMTP || kind == CHAN_POP3 || kind == CHAN_IMAP)) {
			channel_add(m.fd, kind, pid);
			return 0;
		}
		break;
	case MSG_SHUTDOWN:
		if (m.fd == -1 && ipc_get_u32(&m, &grace) == 0 && ipc_end(&m) == 0) {
			if (grace != UINT32_MAX)
				return -1;
			draining = 1;
			log_debug("keyholder: retiring after %zu channel%s close",
			    nchans, nchans == 1 ? "" : "s");
			return 0;
		}
		break;
	default:
		break;
	}
	ipc_drop_fd(&m);
	fatalx("unexpected %s from the master", msg_name(m.hdr.type));
}

static void
serve_loop(void)
{
	struct pollfd *pfd = NULL;
	size_t pcap = 0;

	set_nonblock(FD_CONTROL, 1);
	for (;;) {
		size_t n = 0;

		if (draining && nchans == 0)
			return;
		if (pfd == NULL || pcap < nchans + 1) {
			pcap = nchans + 64;
			pfd = xreallocarray(pfd, pcap, sizeof(*pfd));
		}
		pfd[n].fd = FD_CONTROL;
		pfd[n++].events = POLLIN;
		for (size_t i = 0; i < nchans; i++) {
			pfd[n].fd = chans[i].fd;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents && control_one() == -1)
			return;
		/* walk backwards: a drop moves the last channel into slot i */
		for (size_t i = n - 1; i >= 1; i--) {
			size_t c = i - 1;
			int r;

			if (pfd[i].revents == 0 || c >= nchans || chans[c].fd != pfd[i].fd)
				continue;
			r = keyholder_serve_one(chans[c].fd, chans[c].tag);
			if (r <= 0) {
				if (r == 0)
					log_debug("keyholder: %s closed its channel", chans[c].tag);
				channel_drop(c);
			}
		}
	}
}

int
keyholder_main(void)
{
	static struct conf conf;
	static struct tls_files files;
	char err[LIM_LOGLINE - 64];

	log_init_child(role_name(ROLE_KEYHOLDER), FD_CONTROL);
	signal(SIGPIPE, SIG_IGN);
	conf_recv(FD_CONTROL, &conf);
	recv_tls_files(&files);
	/* configuration and algorithm tables while files are still reachable;
	 * after this the key files are parsed from memory only */
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_ADD_ALL_CIPHERS |
	    OPENSSL_INIT_ADD_ALL_DIGESTS, NULL);
	sandbox_enter(ROLE_KEYHOLDER, &conf);
	if (load_files(&conf, &files, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		send_tls_r(0, err);
		/* the master acts on the answer (it stops, or it kills this
		 * reload's keyholder and keeps the running one): an exit right
		 * now could be reaped before the answer is read, and the
		 * failure would go unreported.  Bounded: the master's end
		 * closing wakes us too. */
		(void)fd_wait(FD_CONTROL, POLLIN, now_ms() + KEYHOLDER_FAIL_WAIT_MS);
		return 1;
	}
	log_info("keyholder: %u certificate%s loaded (%s key)", nkeys,
	    nkeys == 1 ? "" : "s", keys[0].rsa ? "RSA" : "EC");
	send_tls_r(1, "");
	serve_loop();
	log_debug("keyholder exits");
	keyholder_unload();
	return 0;
}
