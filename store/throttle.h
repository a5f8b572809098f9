/*
 * Login throttling: slow the guesser, not the owner.
 *
 * Failures are counted three ways, each count decaying by one every
 * THR_DECAY_MS: per (account, client address), per client address, and
 * per account.  The delay an answer carries (1 s after one failure, then
 * 2, 4, 8, at most THR_MAX_DELAY_MS) comes from:
 *   - the (account, address) and address counts, for every answer, a
 *     right password included: an address that has been guessing gets
 *     its answers late, whatever they are, so it learns nothing sooner by
 *     timing;
 *   - the account count as well, for a wrong password only: many
 *     addresses guessing one account slow each other down, and the owner
 *     logging in from an address with no failures is answered at once.
 * Per account at most THR_ACCT_GUESSES_COUNT failed answers may be in their
 * delay at the same time; beyond that, an address that has already failed
 * THR_PAIR_SUSPECT_COUNT times on the account gets a failure without its
 * password being checked (same answer, same delay, no crypt), so a flood
 * from known addresses costs neither guesses nor crypt time.  An address
 * new to the account is always checked.
 *
 * Bounded tables (THR_TAB_COUNT entries each, the least recently used
 * evicted).  Self-contained (names and address strings only), so it moves
 * with the password checks to wherever crypt runs.
 */
#ifndef POSTERN_THROTTLE_H
#define POSTERN_THROTTLE_H

#include <stdint.h>
#include "../privsep/params.h"

/*
 * Before the check: 1 when the password is to be checked; 0 when the
 * account's guesses are at their cap and this address has failed on it
 * THR_PAIR_SUSPECT_COUNT times or more (answer as a failure, without checking).
 */
int throttle_may_check(const char *name, const char *addr, uint64_t now);
/* After the check (ok 0 also when not checked): counts the outcome and
 * returns the delay in ms the answer is to carry. */
uint32_t throttle_answer(const char *name, const char *addr, int ok, uint64_t now);
/* Forgets every count (tests). */
void throttle_reset(void);

#endif
