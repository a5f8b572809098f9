/*
 * TLS for the workers: see tls.h.
 *
 * The stand-in key is the certificate's public key; signing with it asks
 * the keyholder over FD_KEYHOLDER (after OpenSMTPD's ca.c), which holds
 * the private key.  What crosses is (digest algorithm, padding, digest),
 * never a block to apply the private key to: the keyholder builds the
 * PKCS#1 v1.5 DigestInfo or the PSS encoding itself, so a compromised
 * worker cannot use it as a raw RSA oracle (decrypting recorded RSA key
 * exchanges, signing arbitrary blocks).
 *
 * How the digest is caught.  RSA: libssl signs with EVP_DigestSign, which
 * ends in the key type's EVP_PKEY_METHOD sign() with the digest, and the
 * digest algorithm and padding in the context.  The stand-in carries an
 * RSA_METHOD of its own, which makes OpenSSL 3 treat it as a "foreign"
 * legacy key and take the EVP_PKEY_METHOD an application added
 * (EVP_PKEY_meth_add0) before the built-in one; ours is the built-in one
 * with sign() sending (PKCS#1 or PSS, digest algorithm, digest) to the
 * keyholder for the stand-in, and the built-in sign() for any other RSA
 * key.  The RSA_METHOD's raw private operations, which that path never
 * reaches, and decryption refuse.  EC: ECDSA has no padding, the digest is
 * what is signed; the EC_KEY_METHOD's sign() is given the digest and its
 * algorithm's NID and sends both.  A provider would be the non-deprecated
 * way; this is a fraction of the code for the same wire, and
 * t/unit/test_keyholder.c proves the handshakes (TLS 1.2 PKCS#1 and PSS,
 * TLS 1.3 PSS, ECDSA, ECDHE on P-256) on the OpenSSL the tree builds
 * against.  The interfaces are deprecated in OpenSSL 3: this file is built
 * with -Wno-deprecated-declarations (GNUmakefile).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/ossl.h"
#include "../privsep/util.h"
#include "conn.h"
#include "tls.h"
#include "worker.h"

static SSL_CTX *ctx;                   /* the default certificate */
static SSL_CTX *sni_ctx[KH_SLOTS];      /* [i]: keyholder slot i, i >= 1 */
static char sni_name[KH_SLOTS][LIM_DOMAIN + 1];
static uint32_t nslots;
static int kh_fd = -1;
static uint32_t kh_id;
static RSA_METHOD *rsa_meth;
static EC_KEY_METHOD *ec_meth;
static EVP_PKEY_METHOD *rsa_pmeth;
typedef int pm_op_fn(EVP_PKEY_CTX *, unsigned char *, size_t *,
    const unsigned char *, size_t);
static pm_op_fn *rsa_orig_sign, *rsa_orig_decrypt;
static int rsa_ex = -1, ec_ex = -1;   /* ex_data slot: key index + 1 */

/* ----------------------------------------------- talking to the keyholder */

/* Waits up to deadline for the answer to request id of type want. */
static int
kh_wait(struct ipc_msg *m, uint32_t want, uint32_t id, uint64_t deadline)
{
	for (;;) {
		int r = fd_wait(kh_fd, POLLIN, deadline);

		if (r == 0) {
			log_warnx("tls: the keyholder did not answer in time");
			return -1;
		}
		if (r == -1) {
			log_warn("tls: poll on the keyholder channel");
			return -1;
		}
		r = ipc_recv(kh_fd, m);
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0) {
			log_warnx("tls: the keyholder channel is closed");
			return -1;
		}
		if (m->fd != -1) {
			ipc_drop_fd(m);
			log_warnx("tls: the keyholder sent a descriptor");
			return -1;
		}
		if (m->hdr.type == want && m->hdr.id == id)
			return 0;
		/* a late answer to a request we gave up on: skip it */
		log_debug("tls: skipping %s id %u", msg_name(m->hdr.type), m->hdr.id);
	}
}

/* One signature of a digest done by the keyholder.  Output length, or -1. */
static long
kh_call(uint32_t idx, uint32_t op, uint32_t md, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t outsz)
{
	static struct ipc_msg m;
	uint32_t id = ++kh_id, status;
	const void *res;
	size_t reslen;

	if (kh_fd < 0)
		return -1;
	ipc_init(&m, MSG_SIGN, id);
	ipc_put_u32(&m, idx);
	ipc_put_u32(&m, op);
	ipc_put_u32(&m, md);
	ipc_put_bytes(&m, in, inlen);
	if (ipc_send(kh_fd, &m) == -1) {
		log_warn("tls: asking the keyholder to sign");
		return -1;
	}
	if (kh_wait(&m, MSG_SIGN_R, id, now_ms() + TLS_KEYHOLDER_MS) == -1)
		return -1;
	if (ipc_get_u32(&m, &status) == -1 || ipc_get_bytes(&m, &res, &reslen) == -1 ||
	    ipc_end(&m) == -1 || reslen > outsz) {
		log_warnx("tls: malformed MSG_SIGN_R from the keyholder");
		return -1;
	}
	if (status != STORE_OK) {
		log_warnx("tls: the keyholder could not do operation %u", op);
		return -1;
	}
	memcpy(out, res, reslen);
	return (long)reslen;
}

/* ------------------------------------------------ the stand-in key */

static uint32_t
key_index(void *ex)
{
	uintptr_t v = (uintptr_t)ex;

	return v == 0 ? UINT32_MAX : (uint32_t)(v - 1);
}

/* The raw private-key operations of the stand-in's RSA_METHOD and
 * EC_KEY_METHOD: never reached when signing goes through pm_sign(), and
 * refused if anything else asks. */
static int
rsa_refuse(int flen, const unsigned char *from, unsigned char *to, RSA *rsa,
    int padding)
{
	log_warnx("tls: a raw RSA private-key operation was asked of the stand-in "
	    "key; refused");
	return -1;
}

/* The MSG_SIGN code of a digest algorithm; 0 for one the keyholder does
 * not sign. */
static uint32_t
md_code(int nid)
{
	switch (nid) {
	case NID_sha1:
		return SIGN_MD_SHA1;
	case NID_sha224:
		return SIGN_MD_SHA224;
	case NID_sha256:
		return SIGN_MD_SHA256;
	case NID_sha384:
		return SIGN_MD_SHA384;
	case NID_sha512:
		return SIGN_MD_SHA512;
	default:
		return 0;
	}
}

/* The MSG_SIGN operation for an RSA signing context: PKCS#1 v1.5, or PSS
 * with MGF1 of the same digest and a digest-long salt (what TLS uses);
 * 0 for anything else. */
static uint32_t
rsa_sign_op(EVP_PKEY_CTX *pctx, const EVP_MD *md)
{
	const EVP_MD *mgf1 = NULL;
	int pad = 0, salt = 0;

	if (EVP_PKEY_CTX_get_rsa_padding(pctx, &pad) <= 0)
		return 0;
	if (pad == RSA_PKCS1_PADDING)
		return SIGN_RSA_PKCS1;
	if (pad != RSA_PKCS1_PSS_PADDING ||
	    EVP_PKEY_CTX_get_rsa_mgf1_md(pctx, &mgf1) <= 0 ||
	    EVP_PKEY_CTX_get_rsa_pss_saltlen(pctx, &salt) <= 0)
		return 0;
	if (mgf1 != NULL && EVP_MD_get_type(mgf1) != EVP_MD_get_type(md))
		return 0;
	if (salt != RSA_PSS_SALTLEN_DIGEST && salt != EVP_MD_get_size(md))
		return 0;
	return SIGN_RSA_PSS;
}

/* Is pk one of our stand-in RSA keys? */
static int
is_standin(EVP_PKEY *pk)
{
	const RSA *r = EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ?
	    EVP_PKEY_get0_RSA(pk) : NULL;

	return r != NULL && RSA_get_method(r) == rsa_meth;
}

/* EVP_PKEY_METHOD sign() of the stand-in key: tbs is the digest.  The
 * other keys of the process (none in a worker; the unit tests' real keys)
 * keep the built-in sign(). */
static int
pm_sign(EVP_PKEY_CTX *pctx, unsigned char *sig, size_t *siglen,
    const unsigned char *tbs, size_t tbslen)
{
	EVP_PKEY *pk = EVP_PKEY_CTX_get0_pkey(pctx);
	const EVP_MD *md = NULL;
	uint32_t op, mdc, idx;
	long n;

	if (pk != NULL && !is_standin(pk))
		/* a real key: the built-in method (OpenSSL now routes every RSA
		 * key of this process through ours) */
		return rsa_orig_sign != NULL ? rsa_orig_sign(pctx, sig, siglen, tbs,
		    tbslen) : -1;
	if (pk == NULL || EVP_PKEY_CTX_get_signature_md(pctx, &md) <= 0 || md == NULL ||
	    (mdc = md_code(EVP_MD_get_type(md))) == 0 || tbslen != (size_t)EVP_MD_get_size(md)) {
		log_warnx("tls: the stand-in key signs only SHA-1/SHA-2 digests");
		return -1;
	}
	idx = key_index(RSA_get_ex_data(EVP_PKEY_get0_RSA(pk), rsa_ex));
	op = rsa_sign_op(pctx, md);
	if (op == 0) {
		log_warnx("tls: the stand-in key signs only with PKCS#1 v1.5 or PSS "
		    "padding");
		return -1;
	}
	if (sig == NULL) {
		*siglen = (size_t)EVP_PKEY_get_size(pk);
		return 1;
	}
	if ((n = kh_call(idx, op, mdc, tbs, tbslen, sig, *siglen)) < 0)
		return -1;
	*siglen = (size_t)n;
	return 1;
}

static int
pm_refuse_decrypt(EVP_PKEY_CTX *pctx, unsigned char *out, size_t *outlen,
    const unsigned char *in, size_t inlen)
{
	EVP_PKEY *pk = EVP_PKEY_CTX_get0_pkey(pctx);

	if (pk != NULL && !is_standin(pk) && rsa_orig_decrypt != NULL)
		return rsa_orig_decrypt(pctx, out, outlen, in, inlen);
	log_warnx("tls: decryption was asked of the stand-in key; refused");
	return -1;
}

/* The built-in EVP_PKEY_METHOD of key type id, signing through the
 * keyholder; added to OpenSSL's list for the stand-in (foreign) keys. */
static EVP_PKEY_METHOD *
pmeth_new(int id, pm_op_fn **orig_sign, pm_op_fn **orig_decrypt)
{
	const EVP_PKEY_METHOD *def = EVP_PKEY_meth_find(id);
	EVP_PKEY_METHOD *m;

	if (def == NULL || (m = EVP_PKEY_meth_new(id, EVP_PKEY_FLAG_AUTOARGLEN)) == NULL)
		return NULL;
	EVP_PKEY_meth_copy(m, def);
	EVP_PKEY_meth_get_sign(def, NULL, orig_sign);
	EVP_PKEY_meth_get_decrypt(def, NULL, orig_decrypt);
	EVP_PKEY_meth_set_sign(m, NULL, pm_sign);
	EVP_PKEY_meth_set_signctx(m, NULL, NULL);
	EVP_PKEY_meth_set_digestsign(m, NULL);
	EVP_PKEY_meth_set_decrypt(m, NULL, pm_refuse_decrypt);
	if (EVP_PKEY_meth_add0(m) != 1) {
		EVP_PKEY_meth_free(m);
		return NULL;
	}
	return m;
}

/*
 * ECDSA of the stand-in EC key.  ECDSA has no padding: the digest is what
 * is signed.  OpenSSL's EC EVP_PKEY_METHOD hands ECDSA_sign() the digest
 * algorithm's NID as type; it goes to the keyholder, which refuses a
 * digest of another length.  (An EVP_PKEY_METHOD of our own for EC, as for
 * RSA, would route every EC key of the process through the legacy code,
 * where generating an ECDHE key by group name fails.)
 */
static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
	uint32_t mdc = md_code(type);
	long n;

	if (dlen < 0 || mdc == 0) {
		log_warnx("tls: the stand-in key signs only SHA-1/SHA-2 digests");
		return 0;
	}
	n = kh_call(key_index(EC_KEY_get_ex_data(eckey, ec_ex)), SIGN_ECDSA, mdc,
	    dgst, (size_t)dlen, sig, (size_t)ECDSA_size(eckey));
	if (n < 0)
		return 0;
	*siglen = (unsigned int)n;
	return 1;
}

/* ECDSA_do_sign() carries no digest algorithm: refused (libssl signs
 * through EVP, which calls ec_sign()). */
static ECDSA_SIG *
ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *eckey)
{
	log_warnx("tls: ECDSA_do_sign was asked of the stand-in key; refused");
	return NULL;
}

static int
methods_init(void)
{
	if (rsa_meth != NULL)
		return 0;
	rsa_ex = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ec_ex = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (rsa_ex < 0 || ec_ex < 0)
		return -1;
	if ((rsa_pmeth = pmeth_new(EVP_PKEY_RSA, &rsa_orig_sign,
	    &rsa_orig_decrypt)) == NULL)
		return -1;
	if ((rsa_meth = RSA_meth_dup(RSA_get_default_method())) == NULL ||
	    RSA_meth_set1_name(rsa_meth, "postern keyholder RSA") != 1 ||
	    RSA_meth_set_priv_enc(rsa_meth, rsa_refuse) != 1 ||
	    RSA_meth_set_priv_dec(rsa_meth, rsa_refuse) != 1)
		return -1;
	RSA_meth_set_flags(rsa_meth, RSA_meth_get_flags(rsa_meth) | RSA_FLAG_EXT_PKEY);
	if ((ec_meth = EC_KEY_METHOD_new(EC_KEY_get_default_method())) == NULL)
		return -1;
	EC_KEY_METHOD_set_sign(ec_meth, ec_sign, NULL, ec_sign_sig);
	return 0;
}

/* The certificate's public key, signing through the keyholder. */
static EVP_PKEY *
standin_key(X509 *leaf, uint32_t idx)
{
	EVP_PKEY *pub = X509_get0_pubkey(leaf), *pk = EVP_PKEY_new();
	void *ex = (void *)(uintptr_t)(idx + 1);

	if (pub == NULL || pk == NULL)
		goto fail;
	if (EVP_PKEY_is_a(pub, "RSA")) {
		RSA *r = RSAPublicKey_dup(EVP_PKEY_get0_RSA(pub));

		if (r == NULL || RSA_set_method(r, rsa_meth) != 1 ||
		    RSA_set_ex_data(r, rsa_ex, ex) != 1 || EVP_PKEY_assign_RSA(pk, r) != 1) {
			RSA_free(r);
			goto fail;
		}
		return pk;
	}
	if (EVP_PKEY_is_a(pub, "EC")) {
		EC_KEY *e = EC_KEY_dup(EVP_PKEY_get0_EC_KEY(pub));

		if (e == NULL || EC_KEY_set_method(e, ec_meth) != 1 ||
		    EC_KEY_set_ex_data(e, ec_ex, ex) != 1 ||
		    EVP_PKEY_assign_EC_KEY(pk, e) != 1) {
			EC_KEY_free(e);
			goto fail;
		}
		return pk;
	}
	log_warnx("tls: certificate key type %s is not supported",
	    pub != NULL ? EVP_PKEY_get0_type_name(pub) : "?");
fail:
	EVP_PKEY_free(pk);
	return NULL;
}

/* ------------------------------------------------ the context */

/* Loads a PEM chain (leaf first) and the stand-in key into ctx. */
static int
ctx_use_chain(SSL_CTX *c, const void *pem, size_t len, uint32_t idx)
{
	BIO *in = BIO_new_mem_buf(pem, (int)len);
	X509 *leaf = NULL, *x;
	EVP_PKEY *pk = NULL;
	int rc = -1;

	if (in == NULL || (leaf = PEM_read_bio_X509(in, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(c, leaf) != 1)
		goto done;
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(c, x) != 1) {
			X509_free(x);
			goto done;
		}
	ERR_clear_error();     /* the end of the chain */
	if ((pk = standin_key(leaf, idx)) == NULL ||
	    SSL_CTX_use_PrivateKey(c, pk) != 1 || SSL_CTX_check_private_key(c) != 1)
		goto done;
	rc = 0;
done:
	EVP_PKEY_free(pk);
	X509_free(leaf);
	BIO_free(in);
	return rc;
}

static SSL_CTX *
ctx_new(const struct conf *c)
{
	SSL_CTX *n = SSL_CTX_new(TLS_server_method());
	char ciphers[sizeof(c->tls_ciphers) + 32];

	if (n == NULL)
		return NULL;
	if (bsnprintf(ciphers, sizeof(ciphers), "%s%s", c->tls_ciphers[0] != '\0' ?
	    c->tls_ciphers : "DEFAULT", CONF_TLS_CIPHERS_NEVER) == -1) {
		SSL_CTX_free(n);
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(n, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(n, ciphers) != 1) {
		log_warnx("tls: tls-ciphers \"%s\": %s", ciphers, ossl_reason());
		SSL_CTX_free(n);
		return NULL;
	}
	SSL_CTX_set_options(n, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(n, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(n, 0);
	SSL_CTX_set_mode(n, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return n;
}

void
tls_preinit(void)
{
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
}

/* Is host (from the client) matched by name: equal, or "*.d" and host is
 * one label followed by ".d"?  Both compared without case. */
static int
sni_match(const char *name, const char *host)
{
	const char *dot;

	if (strcasecmp(name, host) == 0)
		return 1;
	if (strncmp(name, "*.", 2) != 0 || (dot = strchr(host, '.')) == NULL ||
	    dot == host)
		return 0;
	return strcasecmp(dot + 1, name + 2) == 0;
}

/* The client named a server: switch to that certificate if we have one;
 * otherwise the default one answers. */
static int
servername_cb(SSL *ssl, int *alert, void *arg)
{
	const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	if (host == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (uint32_t i = 1; i < nslots; i++)
		if (sni_ctx[i] != NULL && sni_match(sni_name[i], host)) {
			if (SSL_set_SSL_CTX(ssl, sni_ctx[i]) == NULL)
				return SSL_TLSEXT_ERR_ALERT_FATAL;
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_NOACK;
}

/* A name the keyholder sent for a slot: "" for 0, a domain (maybe "*.")
 * for the others. */
static int
sni_name_ok(uint32_t i, const char *name)
{
	if (i == 0)
		return name[0] == '\0';
	if (name[0] == '\0')
		return 0;
	for (const char *q = name; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		    (*q >= '0' && *q <= '9') || *q == '.' || *q == '-' ||
		    (*q == '*' && q == name)))
			return 0;
	return 1;
}

/* Asks the keyholder for the chain of slot i: *n the number of slots,
 * *name and *pem (pointing into m) its name and PEM.  0 ok, -1 logged. */
static int
kh_certs(struct ipc_msg *m, uint32_t i, uint32_t *n, char *name, size_t namesz,
    const void **pem, size_t *len)
{
	uint32_t id = ++kh_id, slot;

	ipc_init(m, MSG_CERTS, id);
	ipc_put_u32(m, i);
	if (ipc_send(kh_fd, m) == -1) {
		log_warn("tls: asking the keyholder for the certificates");
		return -1;
	}
	if (kh_wait(m, MSG_CERTS_R, id, now_ms() + TLS_KEYHOLDER_MS) == -1)
		return -1;
	if (ipc_get_u32(m, n) == -1 || *n == 0 || *n > KH_SLOTS ||
	    ipc_get_u32(m, &slot) == -1 || slot != i ||
	    ipc_get_str(m, name, namesz) == -1 || ipc_get_bytes(m, pem, len) == -1 ||
	    ipc_end(m) == -1 || !sni_name_ok(i, name)) {
		log_warnx("tls: malformed MSG_CERTS_R from the keyholder");
		return -1;
	}
	return 0;
}

int
tls_init(const struct conf *c, int key_fd)
{
	static struct ipc_msg m;
	uint32_t n = 1;
	SSL_CTX *nc;

	kh_fd = key_fd;
	if (methods_init() == -1) {
		log_warnx("tls: cannot set up the key methods: %s", ossl_reason());
		return -1;
	}
	if ((nc = ctx_new(c)) == NULL)
		return -1;
	/* one chain a message: slot 0 says how many there are */
	for (uint32_t i = 0; i < n; i++) {
		char name[LIM_DOMAIN + 1];
		const void *pem;
		size_t len;
		uint32_t total = 0;
		SSL_CTX *use = nc;

		if (kh_certs(&m, i, &total, name, sizeof(name), &pem, &len) == -1) {
			SSL_CTX_free(nc);
			return -1;
		}
		if (i > 0 && total != n) {
			log_warnx("tls: malformed MSG_CERTS_R from the keyholder "
			    "(the number of slots changed)");
			SSL_CTX_free(nc);
			return -1;
		}
		n = total;
		/* slot 0 is the default certificate, the others answer by SNI */
		if (i > 0) {
			SSL_CTX_free(sni_ctx[i]);
			if ((sni_ctx[i] = use = ctx_new(c)) == NULL) {
				SSL_CTX_free(nc);
				return -1;
			}
			strlcpy_(sni_name[i], name, sizeof(sni_name[i]));
		}
		if (ctx_use_chain(use, pem, len, i) == -1) {
			log_warnx("tls: cannot use the certificate%s%s: %s", i ? " for " : "",
			    name, ossl_reason());
			SSL_CTX_free(nc);
			return -1;
		}
	}
	nslots = n;
	if (n > 1)
		SSL_CTX_set_tlsext_servername_callback(nc, servername_cb);
	SSL_CTX_free(ctx);
	ctx = nc;
	return 0;
}

int
tls_ready(void)
{
	return ctx != NULL;
}

/* ------------------------------------------------ the handshake */

/* Waits for events on the client socket, watching the master's channel.
 * 0 ready, -1 with *why set. */
static int
hs_wait(struct conn *c, short events, uint64_t deadline, const char **why)
{
	for (;;) {
		struct pollfd pfd[2];
		uint64_t now = now_ms(), end = deadline;
		nfds_t nfds = 1;
		int r;

		if (c->shutdown_at != 0 && c->shutdown_at < end)
			end = c->shutdown_at;
		if (now >= end) {
			*why = end == deadline ? "timed out" : "shutting down";
			return -1;
		}
		pfd[0].fd = c->fd;
		pfd[0].events = events;
		pfd[0].revents = 0;
		if (c->ctl_fd >= 0 && conn_control_hook != NULL) {
			pfd[1].fd = c->ctl_fd;
			pfd[1].events = POLLIN;
			pfd[1].revents = 0;
			nfds = 2;
		}
		r = poll(pfd, nfds, (int)(end - now));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*why = "poll failed";
			return -1;
		}
		if (nfds == 2 && pfd[1].revents)
			conn_control_hook(c);
		if (pfd[0].revents)
			return 0;
	}
}

static uint32_t
session_timeout(const struct session *s)
{
	enum service svc = listen_service(s->kind);
	uint32_t t = svc == SVC_SMTP ? s->conf->smtp_timeout_ms :
	    svc == SVC_IMAP ? s->conf->imap_timeout_ms : s->conf->pop3_timeout_ms;

	return t != 0 && t < TLS_HANDSHAKE_MS ? t : TLS_HANDSHAKE_MS;
}

int
tls_start(struct session *s)
{
	struct conn *c = s->conn;
	uint64_t deadline = now_ms() + session_timeout(s);
	const char *why = NULL;
	SSL *ssl;

	if (ctx == NULL) {
		log_warnx("session %s: TLS from %s: no certificate loaded", s->sessid,
		    s->client);
		return -1;
	}
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, c->fd) != 1) {
		log_warnx("session %s: TLS: %s", s->sessid, ossl_reason());
		SSL_free(ssl);
		return -1;
	}
	SSL_set_accept_state(ssl);
	for (;;) {
		int r, e;

		ERR_clear_error();
		errno = 0;
		r = SSL_do_handshake(ssl);
		if (r == 1)
			break;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (hs_wait(c, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			    deadline, &why) == 0)
				continue;
		} else if (e == SSL_ERROR_SSL)
			why = ossl_reason();
		else if (e == SSL_ERROR_SYSCALL)
			why = errno != 0 ? strerror(errno) : "connection closed";
		else if (e == SSL_ERROR_ZERO_RETURN)
			why = "connection closed";
		else
			why = "handshake failed";
		break;
	}
	if (why != NULL) {
		log_info("session %s: TLS handshake with %s failed: %s", s->sessid,
		    s->client, why);
		SSL_free(ssl);
		ERR_clear_error();
		return -1;
	}
	c->tls = ssl;
	s->tls = true;
	log_info("session %s: TLS established with %s: %s %s (%d bits)", s->sessid,
	    s->client, SSL_get_version(ssl), SSL_get_cipher_name(ssl),
	    SSL_get_cipher_bits(ssl, NULL));
	return 0;
}

void
tls_end(struct conn *c)
{
	SSL *ssl = c->tls;

	if (ssl == NULL)
		return;
	if (!c->error) {
		ERR_clear_error();
		(void)SSL_shutdown(ssl);   /* one close_notify; no waiting */
	}
	SSL_free(ssl);
	ERR_clear_error();
	c->tls = NULL;
}

const char *
tls_protocol(const struct conn *c)
{
	return c->tls != NULL ? SSL_get_version(c->tls) : "";
}

const char *
tls_cipher(const struct conn *c)
{
	return c->tls != NULL ? SSL_get_cipher_name((SSL *)c->tls) : "";
}

int
tls_cipher_bits(const struct conn *c)
{
	return c->tls != NULL ? SSL_get_cipher_bits((SSL *)c->tls, NULL) : 0;
}

const char *
tls_received_text(const struct conn *c, char *buf, size_t bufsz)
{
	int bits = tls_cipher_bits(c);

	if (c->tls == NULL || bufsz == 0) {
		if (bufsz > 0)
			buf[0] = '\0';
		return buf;
	}
	if (bsnprintf(buf, bufsz, "(using %s with cipher %s (%d/%d bits))",
	    tls_protocol(c), tls_cipher(c), bits, bits) == -1)
		buf[0] = '\0';
	return buf;
}
