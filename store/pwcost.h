/*
 * The same crypt(3) work for every login, whatever the name:
 * an unknown name, a locked or unusable hash ("!", "*",
 * "!$6$..."), and an account on any scheme all cost one crypt per hash
 * scheme in use, so the answer's timing does not tell them apart.
 *
 * At load, the accounts' hashes are grouped into schemes (the part before
 * the salt: "$6$", "$6$rounds=10000$", "$y$j9T$", "$2b$12$"); each usable
 * scheme gets a dummy hash (a random password crypted with one of its
 * hashes as the setting).  With no usable hash at all, the dummy is of
 * libxcrypt's default scheme (crypt_gensalt with no prefix: yescrypt).
 * A check runs the account's own hash, when it is usable, and the dummy
 * of every other scheme.  Self-contained: it needs only the hashes, so it
 * moves with the password checks to wherever crypt runs.
 */
#ifndef POSTERN_PWCOST_H
#define POSTERN_PWCOST_H

#include <stddef.h>

#define PWCOST_MAX_SCHEMES 4     /* beyond: logged, those cost their own */
#define PWCOST_KEY         64

struct pwcost {
	size_t n;                               /* >= 1 once built */
	char key[PWCOST_MAX_SCHEMES][PWCOST_KEY];   /* "" for the default */
	char *dummy[PWCOST_MAX_SCHEMES];
	size_t overflow;                        /* hashes of schemes not kept */
};

/* The scheme part of a hash ("$6$", "$y$j9T$", ...), in key. */
void pwcost_scheme(const char *hash, char *key, size_t keysz);
/* Builds the dummies from n hashes (NULL entries skipped).  Never fails:
 * at worst a dummy of the default scheme. */
void pwcost_build(struct pwcost *pc, const char *const *hashes, size_t n);
void pwcost_free(struct pwcost *pc);
/*
 * 1 when pw matches hash; 0 otherwise, and for hash NULL (an unknown
 * name).  Costs one crypt per scheme of pc whatever the input.
 */
int pwcost_verify(const struct pwcost *pc, const char *hash, const char *pw);

#endif
