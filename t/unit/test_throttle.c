/* Login throttling (store/throttle.c): the guesser is slowed, not the owner. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "store/throttle.h"

/* One attempt as the store makes it: the delay answered, or -1 when the
 * password was not checked. */
static long
attempt(const char *name, const char *addr, int right, uint64_t now)
{
	int checked = throttle_may_check(name, addr, now);
	uint32_t d = throttle_answer(name, addr, checked && right, now);

	return checked ? (long)d : -1;
}

int
main(void)
{
	long d;

	throttle_reset();
	CHECK(attempt("alice", "1.2.3.4", 0, 1000) == 0, "no delay before failures");
	CHECK(attempt("alice", "1.2.3.4", 0, 1000) == 1000,
	    "1 s after one failure, same address and account");
	CHECK(attempt("bob", "1.2.3.4", 1, 1000) == 2000,
	    "the guessing address waits on another account too, even when right");
	CHECK(attempt("alice", "9.9.9.9", 1, 1000) == 0,
	    "the owner's right password from another address: no delay");
	throttle_reset();
	attempt("alice", "1.2.3.4", 0, 1000);
	CHECK(attempt("alice", "9.9.9.9", 0, 1000) == 1000,
	    "a wrong password from another address waits for the account's failures");
	throttle_reset();
	for (int i = 0; i < 3; i++)
		attempt("alice", "1.2.3.4", 0, 1000);
	CHECK(attempt("alice", "1.2.3.4", 1, 1000) == 4000,
	    "4 s after three failures, a right password from that address included");
	CHECK(attempt("alice", "1.2.3.4", 0, 1000) == 4000,
	    "... the address's count stays after a success (it may guess others)");
	throttle_reset();
	for (int i = 0; i < 12; i++)
		attempt("alice", "1.2.3.4", 0, 1000);
	CHECK(attempt("alice", "1.2.3.5", 0, 1000) == 10000, "capped at 10 s");
	CHECK(attempt("alice", "1.2.3.4", 1, 1000 + 60ull * 60 * 1000) == 0,
	    "decays after an hour");

	/* a flood: 40 addresses guessing one account */
	throttle_reset();
	{
		int unchecked = 0;
		uint64_t now = 10000;

		for (int r = 0; r < 10; r++)
			for (int i = 0; i < 40; i++) {
				char a[32];

				snprintf(a, sizeof(a), "127.0.1.%d", i + 1);
				unchecked += attempt("alice", a, 0, now) == -1;
				now += 25;
			}
		d = attempt("alice", "127.0.0.2", 1, now);
		CHECK(d == 0, "40 addresses flooding alice: her right password from "
		    "127.0.0.2 has no delay (%ld)", d);
		CHECK(unchecked > 200, "the flood's repeat guesses past the cap were not "
		    "checked (%d of 400)", unchecked);
		d = attempt("alice", "127.0.0.3", 0, now);
		CHECK(d == 10000, "a wrong password from a fresh address waits 10 s (%ld)", d);
		CHECK(attempt("alice", "127.0.1.1", 1, now) == -1,
		    "a flooding address is refused unchecked while the guesses are at the cap");
		CHECK(attempt("alice", "127.0.1.1", 1, now + 20000) >= 0,
		    "... and checked again once the held answers are over");
	}

	/* the cap: THR_ACCT_GUESSES_COUNT failed answers in their delay at once */
	throttle_reset();
	{
		int first = 1;

		for (int i = 0; i < 3; i++)
			attempt("carol", "5.5.5.5", 0, 1000);
		for (int i = 0; i < THR_ACCT_GUESSES_COUNT; i++) {
			char a[32];

			snprintf(a, sizeof(a), "6.6.6.%d", i);
			first &= attempt("carol", a, 0, 1000) >= 0;
		}
		CHECK(first, "fresh addresses are always checked");
		CHECK(!throttle_may_check("carol", "5.5.5.5", 1000),
		    "at the cap, an address with %d failures is not checked", THR_PAIR_SUSPECT_COUNT);
		CHECK(throttle_may_check("carol", "7.7.7.7", 1000),
		    "at the cap, a fresh address is checked");
		CHECK(throttle_may_check("dave", "5.5.5.5", 1000),
		    "another account is not capped");
	}
	throttle_reset();
	{
		for (int i = 0; i < 3; i++)
			attempt("carol", "5.5.5.5", 0, 1000);
		attempt("carol", "5.5.5.5", 1, 1000);
		for (int i = 0; i < THR_ACCT_GUESSES_COUNT; i++) {
			char a[32];

			snprintf(a, sizeof(a), "6.6.6.%d", i);
			attempt("carol", a, 0, 1000);
		}
		CHECK(throttle_may_check("carol", "5.5.5.5", 1000),
		    "a success forgives that address's failures on the account: checked "
		    "even at the cap");
	}

	/* bounded tables: the newest kept, the oldest evicted */
	throttle_reset();
	for (int i = 0; i < 3000; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.%d.%d", i / 256, i % 256);
		attempt("mallory", a, 0, 2000 + (uint64_t)i);
	}
	CHECK(attempt("zz", "10.0.11.183", 1, 6000) == 1000 &&
	    attempt("zz", "10.0.0.1", 1, 6000) == 0, "bounded table: newest kept, oldest evicted");
	return check_done();
}
