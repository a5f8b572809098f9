/*
 * For the TLS unit tests: a self-signed certificate and its private key,
 * made in memory, PEM encoded; the server side of an SMTPS session on a
 * socketpair end.
 */
#ifndef POSTERN_PEMTEST_H
#define POSTERN_PEMTEST_H

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "master/keyholder.h"
#include "privsep/util.h"

struct pem {
	char cert[8192], key[8192];
	size_t certlen, keylen;
};

static size_t
bio_take(BIO *b, char *out, size_t outsz)
{
	char *p;
	long n = BIO_get_mem_data(b, &p);

	if (n <= 0 || (size_t)n >= outsz)
		return 0;
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	return (size_t)n;
}

/* An RSA 2048 (rsa set) or EC P-256 key and a certificate for
 * mail.example.org valid for a day.  0 / -1. */
static int
make_pem(int rsa, struct pem *o)
{
	EVP_PKEY *k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *nm;
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
	int ok;

	if (k == NULL || x == NULL || cb == NULL || kb == NULL)
		return -1;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"mail.example.org", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	ok = X509_sign(x, k, EVP_sha256()) > 0 && PEM_write_bio_X509(cb, x) == 1 &&
	    PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL) == 1;
	o->certlen = bio_take(cb, o->cert, sizeof(o->cert));
	o->keylen = bio_take(kb, o->key, sizeof(o->key));
	BIO_free(cb);
	BIO_free(kb);
	X509_free(x);
	EVP_PKEY_free(k);
	return ok && o->certlen && o->keylen ? 0 : -1;
}

/* *s and *conn: an SMTPS session named id on fd (made non-blocking), for
 * tls_start(). */
static void
tls_test_session(struct session *s, struct conn *conn, struct conf *conf,
    int fd, const char *id)
{
	set_nonblock(fd, 1);
	memset(s, 0, sizeof(*s));
	s->conf = conf;
	s->conn = conn;
	s->kind = LK_SMTPS;
	strlcpy_(s->sessid, id, sizeof(s->sessid));
	strlcpy_(s->client, "socketpair", sizeof(s->client));
	conn_init(conn, fd, -1);
}

/* keyholder_load() with its reason copied into the test's buffer */
static inline int
keyholder_load_into(uint32_t idx, const char *name, const void *cert, size_t certlen,
    const void *key, size_t keylen, const char *cw, const char *kw, char *err, size_t errsz)
{
	const char *why = "";
	int r = keyholder_load(idx, name, cert, certlen, key, keylen, cw, kw, &why);

	strlcpy_(err, r == 0 ? "" : why, errsz);
	return r;
}

#endif
