/* For the accounts-table unit tests: acctab_load() with its reason
 * copied into the test's own buffer, as the tests were written. */
#ifndef POSTERN_ACCTAB_INTO_H
#define POSTERN_ACCTAB_INTO_H

#include "privsep/util.h"
#include "store/accounts.h"

static inline int
acctab_load_into(struct acctab *t, int a, const char *ap, int b, const char *bp,
    char *err, size_t errsz)
{
	const char *why = "";
	int r = acctab_load(t, a, ap, b, bp, &why);

	strlcpy_(err, r == 0 ? "" : why, errsz);
	return r;
}

#endif
