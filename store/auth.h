/*
 * Password checks for POP3 AUTH: crypt(3) against the accounts table, the
 * same work for an unknown name (dummy hashes, pwcost.h).  The delays
 * after failures are throttle.h's.
 */
#ifndef POSTERN_AUTH_H
#define POSTERN_AUTH_H

#include "accounts.h"

/* 1 when the password matches the account's hash, 0 otherwise (unknown
 * names cost the same crypt work). */
int auth_verify(const struct acctab *t, const char *name, const char *pw);

#endif
