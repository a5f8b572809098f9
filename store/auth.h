/*
 * Password checks for POP3 AUTH: crypt(3) against the accounts table, the
 * same work for an unknown name (dummy hashes, pwcost.h), and a
 * delay that grows with recent failures per account name and per client
 * address (bounded tables, oldest evicted, counts decaying with time).
 */
#ifndef POSTERN_AUTH_H
#define POSTERN_AUTH_H

#include <stdint.h>
#include "accounts.h"

#define AUTH_TAB_SIZE     1024      /* entries per table */
#define AUTH_DECAY_MS     120000u   /* one failure forgotten per 2 minutes */
#define AUTH_MAX_DELAY_MS 10000u

/* The delay the answer carries: 0 with no recent failure, then 1 s, 2 s,
 * 4 s ... at most AUTH_MAX_DELAY_MS, from the worse of name and address. */
uint32_t auth_delay(const char *name, const char *addr, uint64_t now);
/* Counts a failure for both, or resets the name's count on success. */
void auth_record(const char *name, const char *addr, int ok, uint64_t now);
/* 1 when the password matches the account's hash, 0 otherwise (unknown
 * names cost the same crypt work). */
int auth_verify(const struct acctab *t, const char *name, const char *pw);
/* Forgets every count (tests). */
void auth_reset(void);

#endif
