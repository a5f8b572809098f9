/*
 * Login throttling (see throttle.h).
 */
#include <stdio.h>
#include <string.h>

#include "../privsep/params.h"
#include "../privsep/util.h"
#include "throttle.h"

struct failent {
	char key[LIM_ADDR + LIM_NAME + 2];
	uint32_t count;
	uint64_t last;
	uint64_t busy[THR_ACCT_GUESSES_COUNT];   /* accounts: failed answers' delay ends */
};

/* per (account, address), per address, per account */
static struct failent pairs[THR_TAB_COUNT], addrs[THR_TAB_COUNT], accts[THR_TAB_COUNT];

void
throttle_reset(void)
{
	memset(pairs, 0, sizeof(pairs));
	memset(addrs, 0, sizeof(addrs));
	memset(accts, 0, sizeof(accts));
}

/* Applies the decay to e at time now. */
static void
decay(struct failent *e, uint64_t now)
{
	uint64_t steps;

	if (e->count == 0 || now <= e->last)
		return;
	steps = (now - e->last) / THR_DECAY_MS;
	if (steps >= e->count)
		e->count = 0;
	else if (steps > 0) {
		e->count -= (uint32_t)steps;
		e->last += steps * THR_DECAY_MS;
	}
}

/* The entry for key (decayed), or with create a new one in the first free
 * or least recently used slot; NULL when absent and !create. */
static struct failent *
lookup(struct failent *tab, const char *key, int create, uint64_t now)
{
	struct failent *victim = NULL;

	for (size_t i = 0; i < THR_TAB_COUNT; i++) {
		struct failent *e = &tab[i];

		if (e->key[0] != '\0' && strcmp(e->key, key) == 0) {
			decay(e, now);
			return e;
		}
		if (e->key[0] == '\0') {
			if (victim == NULL || victim->key[0] != '\0')
				victim = e;
		} else if (victim == NULL ||
		    (victim->key[0] != '\0' && e->last < victim->last))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	strlcpy_(victim->key, key, sizeof(victim->key));
	victim->last = now;
	return victim;
}

/* The pair key: name and addr joined by a newline, which neither holds
 * (both come from a protocol line). */
static void
pair_key(char *key, size_t keysz, const char *name, const char *addr)
{
	(void)snprintf(key, keysz, "%s\n%s", name, addr);
}

static uint32_t
count_of(struct failent *tab, const char *key, uint64_t now)
{
	struct failent *e = lookup(tab, key, 0, now);

	return e != NULL ? e->count : 0;
}

static uint32_t
delay_for(uint32_t fails)
{
	uint64_t d;

	if (fails == 0)
		return 0;
	if (fails > 16)
		return THR_MAX_DELAY_MS;
	d = (uint64_t)THR_FIRST_DELAY_MS << (fails - 1);
	return d > THR_MAX_DELAY_MS ? THR_MAX_DELAY_MS : (uint32_t)d;
}

static void
count_failure(struct failent *tab, const char *key, uint64_t now)
{
	struct failent *e = lookup(tab, key, 1, now);

	if (e->count < THR_FAILS_MAX_COUNT)
		e->count++;
	e->last = now;
}

int
throttle_may_check(const char *name, const char *addr, uint64_t now)
{
	char key[sizeof(pairs[0].key)];
	struct failent *a = lookup(accts, name, 0, now);
	size_t busy = 0;

	if (a == NULL)
		return 1;
	for (size_t i = 0; i < THR_ACCT_GUESSES_COUNT; i++)
		busy += a->busy[i] > now;
	if (busy < THR_ACCT_GUESSES_COUNT)
		return 1;
	pair_key(key, sizeof(key), name, addr);
	return count_of(pairs, key, now) < THR_PAIR_SUSPECT_COUNT;
}

uint32_t
throttle_answer(const char *name, const char *addr, int ok, uint64_t now)
{
	char key[sizeof(pairs[0].key)];
	uint32_t p, d, n;
	struct failent *e;

	pair_key(key, sizeof(key), name, addr);
	p = count_of(pairs, key, now);
	n = count_of(addrs, addr, now);
	d = delay_for(p > n ? p : n);
	if (ok) {
		/* the owner is back: this address's guesses on it are forgiven;
		 * the account's count stays (other addresses may be guessing) */
		if ((e = lookup(pairs, key, 0, now)) != NULL)
			memset(e, 0, sizeof(*e));
		return d;
	}
	e = lookup(accts, name, 1, now);
	if (delay_for(e->count) > d)
		d = delay_for(e->count);
	e->count += e->count < THR_FAILS_MAX_COUNT;
	e->last = now;
	/* the failed answer holds one of the account's guess slots until its
	 * delay ends (at least a second, so an undelayed flood counts too) */
	{
		size_t oldest = 0;

		for (size_t i = 1; i < THR_ACCT_GUESSES_COUNT; i++)
			if (e->busy[i] < e->busy[oldest])
				oldest = i;
		e->busy[oldest] = now + (d > THR_SLOT_MIN_MS ? d : THR_SLOT_MIN_MS);
	}
	count_failure(pairs, key, now);
	count_failure(addrs, addr, now);
	return d;
}
