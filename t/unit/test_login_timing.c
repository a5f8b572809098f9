/*
 * An unknown name costs the same crypt work as a wrong
 * password on an account, whatever the accounts file holds: a locked or
 * unusable first hash ("!", "*", "!$6$..."), accounts on several schemes.
 * Measured through auth_verify() (the function the store's AUTH runs):
 * the median of many interleaved attempts per kind, within 10 %.  The
 * check is on the thread's CPU time (the crypt work, which is what is made
 * equal); the wall-clock medians are printed beside it, and on this
 * shared test machine they wander with the other processes' load.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store/accounts.h"
#include "store/auth.h"
#include "privsep/util.h"

#include "acctab_into.h"

#define ROUNDS 31

static int
memfile(const char *text)
{
	int fd = memfd_create("t", 0);

	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		exit(1);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int
load(struct acctab *t, const char *acc)
{
	char err[1024];
	int fd = memfile(acc), r = acctab_load_into(t, fd, "accounts", -1, NULL, err, sizeof(err));

	close(fd);
	if (r == -1)
		fprintf(stderr, "load: %s\n", err);
	return r;
}

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median CPU seconds (and wall seconds, in wall) of auth_verify(name,
 * "wrong") for each of n names, the attempts interleaved so that load on
 * the machine hits all alike. */
static void
medians(const struct acctab *t, const char *const *names, size_t n, double *med,
    double *wall)
{
	static double s[8][ROUNDS], w[8][ROUNDS];

	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < n; i++) {
			double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);

			if (auth_verify(t, names[i], "wrong password") != 0)
				exit(2);
			s[i][r] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
			w[i][r] = clock_s(CLOCK_MONOTONIC) - w0;
		}
	for (size_t i = 0; i < n; i++) {
		qsort(s[i], ROUNDS, sizeof(double), cmp_d);
		qsort(w[i], ROUNDS, sizeof(double), cmp_d);
		med[i] = s[i][ROUNDS / 2];
		wall[i] = w[i][ROUNDS / 2];
	}
}

/* Are all CPU medians within 10 % of the largest?  Prints them. */
static int
alike(const char *what, const char *const *names, const double *med,
    const double *wall, size_t n)
{
	double hi = 0, lo = 1e9;

	for (size_t i = 0; i < n; i++) {
		printf("# %s: %-10s p50 %.3f ms CPU, %.3f ms wall\n", what, names[i],
		    med[i] * 1e3, wall[i] * 1e3);
		hi = med[i] > hi ? med[i] : hi;
		lo = med[i] < lo ? med[i] : lo;
	}
	return hi > 0 && (hi - lo) / hi <= 0.10;
}

static void
hash(char *out, size_t outsz, const char *pw, const char *setting)
{
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pw, setting, &cd);
	snprintf(out, outsz, "%s", h != NULL ? h : "*");
}

int
main(void)
{
	static char acc[4096], sha[256], sha_slow[256], yes[256], yset[128];
	struct acctab t;
	double med[8], wall[8];

	hash(sha, sizeof(sha), "alicepw", "$6$saltsalt$");
	hash(sha_slow, sizeof(sha_slow), "carolpw", "$6$rounds=40000$pepperpepper$");
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, yset, sizeof(yset)) == NULL)
		exit(1);
	hash(yes, sizeof(yes), "bobpw", yset);

	/* the first entries locked or unusable: no dummy from them */
	snprintf(acc, sizeof(acc), "root:!\ndaemon:*\nold:!%s\nalice:%s\n", sha, sha);
	CHECK(load(&t, acc) == 0, "accounts with locked first hashes load");
	{
		const char *n[] = { "nosuchuser", "alice", "root", "old" };

		medians(&t, n, 4, med, wall);
		CHECK(alike("locked first", n, med, wall, 4),
		    "locked first hash: unknown, wrong password, locked entries: p50 within 10 %%");
	}
	acctab_free(&t);

	/* three schemes / costs: an unknown name must not be faster or slower
	 * than a wrong password on any of them */
	snprintf(acc, sizeof(acc), "locked:!\nalice:%s\nbob:%s\ncarol:%s\n", sha, yes,
	    sha_slow);
	CHECK(load(&t, acc) == 0, "accounts on three schemes load");
	{
		const char *n[] = { "nosuchuser", "alice", "bob", "carol", "locked" };

		medians(&t, n, 5, med, wall);
		CHECK(alike("three schemes", n, med, wall, 5),
		    "SHA-512, SHA-512 rounds=40000, yescrypt: unknown and wrong passwords "
		    "p50 within 10 %%");
	}
	CHECK(auth_verify(&t, "bob", "bobpw") == 1 && auth_verify(&t, "alice", "alicepw") == 1 &&
	    auth_verify(&t, "carol", "carolpw") == 1, "the right passwords still work");
	CHECK(auth_verify(&t, "locked", "") == 0 && auth_verify(&t, "nosuchuser", "bobpw") == 0,
	    "a locked entry and an unknown name never log in");
	acctab_free(&t);

	/* nothing usable at all: unknown names still pay a real crypt */
	CHECK(load(&t, "root:!\nnobody:*\n") == 0, "only locked entries load");
	{
		const char *n[] = { "nosuchuser", "root" };

		medians(&t, n, 2, med, wall);
		CHECK(alike("only locked", n, med, wall, 2) && med[0] > 0.0005,
		    "only locked entries: unknown names still cost a crypt (%.3f ms)",
		    med[0] * 1e3);
	}
	acctab_free(&t);
	return check_done();
}
