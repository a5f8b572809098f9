/*
 * crypt(3) verification (see auth.h).  The failure counts and delays are
 * in throttle.c.
 */
#include "auth.h"

int
auth_verify(const struct acctab *t, const char *name, const char *pw)
{
	const struct account *a = acct_find(t, name);

	/* one crypt per hash scheme in use, whatever the name (pwcost.h) */
	return pwcost_verify(&t->cost, a != NULL ? a->hash : NULL, pw) && a != NULL;
}
