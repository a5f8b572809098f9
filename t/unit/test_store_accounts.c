/* Accounts and aliases files, password checks (store/accounts.c, auth.c). */
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/accounts.h"
#include "store/auth.h"

#include <crypt.h>
#include "privsep/util.h"

#include "acctab_into.h"

static char ALICE[256];

static int
memfile(const char *text)
{
	int fd = memfd_create("t", 0);

	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		exit(1);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int
load(struct acctab *t, const char *acc, const char *al, char *err, size_t errsz)
{
	int a = memfile(acc), b = al ? memfile(al) : -1, r;

	r = acctab_load_into(t, a, "accounts", b, "aliases", err, errsz);
	close(a);
	if (b != -1)
		close(b);
	return r;
}

int
main(void)
{
	struct acctab t;
	char err[4096];
	const char *one;
	const struct alias *al;

	char accs[512];
	struct crypt_data cd;

	memset(&cd, 0, sizeof(cd));
	snprintf(ALICE, sizeof(ALICE), "%s", crypt_r("alicepw", "$6$saltsalt$", &cd));
	snprintf(accs, sizeof(accs), "Alice:%s\nbob:$6$x$y\n", ALICE);
	CHECK(load(&t, accs, "team: alice, Bob\nall: team, carol_x\n", err, sizeof(err)) == -1 &&
	    strstr(err, "aliases:2: alias all: unknown name carol_x") != NULL, "unknown alias target: %s", err);
	CHECK(load(&t, accs, "team: alice, Bob\nall: team, bob\n", err, sizeof(err)) == 0,
	    "accounts and nested aliases load");
	CHECK(acct_resolve(&t, "alice", &one, &al) == 0 && one && strcmp(one, "alice") == 0, "account lower-cased");
	CHECK(acct_resolve(&t, "all", &one, &al) == 0 && al && al->nexp == 2, "nested alias expands deduplicated (%zu)", al ? al->nexp : 0);
	CHECK(acct_resolve(&t, "nobody", &one, &al) == -1, "unknown name");
	CHECK(strcmp(t.first, "alice") == 0, "first account remembered");
	CHECK(auth_verify(&t, "alice", "alicepw") == 1, "right password accepted");
	CHECK(auth_verify(&t, "alice", "wrong") == 0, "wrong password refused");
	CHECK(auth_verify(&t, "nobody", "alicepw") == 0 && t.cost.n == 1 &&
	    strncmp(t.cost.dummy[0], "$6$", 3) == 0, "unknown name verified against a dummy of the same scheme");
	/* the store keeps the names only (the auth process has the hashes) */
	acctab_drop_hashes(&t);
	CHECK(t.cost.n == 0 && acct_find(&t, "alice") != NULL &&
	    acct_find(&t, "alice")->hash == NULL && acct_find(&t, "bob")->hash == NULL,
	    "hashes and dummies dropped, names kept");
	CHECK(acct_resolve(&t, "all", &one, &al) == 0 && al && al->nexp == 2,
	    "aliases still resolve without the hashes");
	CHECK(auth_verify(&t, "alice", "alicepw") == 0 && auth_verify(&t, "nobody", "x") == 0,
	    "no hash: no password matches");
	acctab_drop_hashes(&t);      /* twice is harmless */
	acctab_free(&t);             /* and freeing after it too */

	{
		static const char *const h[][2] = {
			{ "$6$salt$hash", "$6$" },
			{ "$6$rounds=10000$salt$hash", "$6$rounds=10000$" },
			{ "$y$j9T$salt$hash", "$y$j9T$" },
			{ "$2b$12$abcdefghijklmnopqrstuv", "$2b$12$" },
			{ "abcdefghijklm", "des" },
			{ "!$6$salt$hash", "!" },
			{ "*", "!" },
			{ "", "!" },
		};
		char key[PWCOST_KEY];
		int good = 1;

		for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
			pwcost_scheme(h[i][0], key, sizeof(key));
			if (strcmp(key, h[i][1]) != 0) {
				printf("# scheme of %s: %s, not %s\n", h[i][0], key, h[i][1]);
				good = 0;
			}
		}
		CHECK(good, "pwcost_scheme: the part of a hash before the salt");
	}

	CHECK(load(&t, "alice:x\n.bad:x\nc/d:x\nalice:y\nnohash:\nlong:a b\n", NULL, err, sizeof(err)) == -1 &&
	    strstr(err, "accounts:2:") && strstr(err, "accounts:3:") &&
	    strstr(err, "accounts:4: duplicate account alice (first at line 1)") &&
	    strstr(err, "accounts:5:") && strstr(err, "accounts:6:"), "account errors at the right lines");
	CHECK(load(&t, "a:x\nb:x\n", "l1: l2\nl2: l3\nl3: l1\n", err, sizeof(err)) == -1 &&
	    strstr(err, "alias loop"), "alias loop detected");
	CHECK(load(&t, "a:x\n", "self: self\n", err, sizeof(err)) == -1 && strstr(err, "alias loop"),
	    "self loop detected");
	CHECK(load(&t, "a:x\n", "f: /etc/passwd\np: |/bin/sh\nr: x@example.com\ni: :include:/x\n", err, sizeof(err)) == -1 &&
	    strstr(err, "aliases:1:") && strstr(err, "aliases:2:") && strstr(err, "aliases:3:") &&
	    strstr(err, "aliases:4:"), "files, programs, remote addresses refused");
	CHECK(load(&t, "a:x\n", "a: a\n", err, sizeof(err)) == -1 && strstr(err, "name of an account"),
	    "alias shadowing an account refused");
	CHECK(load(&t, "a:x\n", "d: a\nd: a\n", err, sizeof(err)) == -1 && strstr(err, "aliases:2: duplicate alias"),
	    "duplicate alias refused");
	CHECK(load(&t, "a:x\nx.lock:y\n", NULL, err, sizeof(err)) == -1 && strstr(err, "accounts:2:"),
	    "name ending in .lock refused");
	{
		int fd = memfd_create("nul", 0), r;

		if (write(fd, "a:x\nb\0:y\n", 9) != 9)
			return 1;
		lseek(fd, 0, SEEK_SET);
		r = acctab_load_into(&t, fd, "accounts", -1, "aliases", err, sizeof(err));
		close(fd);
		CHECK(r == -1 && strstr(err, "accounts:2: NUL byte"), "NUL byte refused at its line: %s", err);
	}

	return check_done();
}
