/*
 * crypt(3) verification and the failure tables (see auth.h).
 */
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include "../privsep/util.h"
#include "auth.h"

struct failent {
	char key[LIM_ADDR + LIM_NAME + 2];
	uint32_t count;
	uint64_t last;
};

static struct failent names[AUTH_TAB_SIZE], addrs[AUTH_TAB_SIZE];

void
auth_reset(void)
{
	memset(names, 0, sizeof(names));
	memset(addrs, 0, sizeof(addrs));
}

/* Applies the decay to e at time now. */
static void
decay(struct failent *e, uint64_t now)
{
	uint64_t steps;

	if (e->count == 0 || now <= e->last)
		return;
	steps = (now - e->last) / AUTH_DECAY_MS;
	if (steps >= e->count)
		e->count = 0;
	else if (steps > 0) {
		e->count -= (uint32_t)steps;
		e->last += steps * AUTH_DECAY_MS;
	}
}

static struct failent *
lookup(struct failent *tab, const char *key, int create, uint64_t now)
{
	struct failent *victim = NULL;

	for (size_t i = 0; i < AUTH_TAB_SIZE; i++) {
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

static uint32_t
delay_for(uint32_t fails)
{
	uint64_t d;

	if (fails == 0)
		return 0;
	if (fails > 16)
		return AUTH_MAX_DELAY_MS;
	d = 1000ull << (fails - 1);
	return d > AUTH_MAX_DELAY_MS ? AUTH_MAX_DELAY_MS : (uint32_t)d;
}

uint32_t
auth_delay(const char *name, const char *addr, uint64_t now)
{
	struct failent *n = lookup(names, name, 0, now);
	struct failent *a = lookup(addrs, addr, 0, now);
	uint32_t f = 0;

	if (n && n->count > f)
		f = n->count;
	if (a && a->count > f)
		f = a->count;
	return delay_for(f);
}

void
auth_record(const char *name, const char *addr, int ok, uint64_t now)
{
	struct failent *e;

	if (ok) {
		if ((e = lookup(names, name, 0, now)) != NULL)
			memset(e, 0, sizeof(*e));
		return;
	}
	e = lookup(names, name, 1, now);
	if (e->count < 1000)
		e->count++;
	e->last = now;
	e = lookup(addrs, addr, 1, now);
	if (e->count < 1000)
		e->count++;
	e->last = now;
}

int
auth_verify(const struct acctab *t, const char *name, const char *pw)
{
	const struct account *a = acct_find(t, name);

	/* one crypt per hash scheme in use, whatever the name (pwcost.h) */
	return pwcost_verify(&t->cost, a != NULL ? a->hash : NULL, pw) && a != NULL;
}
