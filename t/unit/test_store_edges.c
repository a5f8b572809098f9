/*
 * The store's error paths that no honest peer reaches: malformed requests
 * after the table check (store/dispatch.c), and broken accounts/aliases
 * files (store/accounts.c): every one must be an error with a reason,
 * never a crash or a half-loaded table.  Written for COVERAGE.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "privsep/ipc.h"
#include "privsep/msg.h"
#include "privsep/params.h"
#include "store/accounts.h"
#include "store/dispatch.h"
#include "privsep/util.h"

#include "acctab_into.h"

/* ---- dispatch ---- */

static struct ipc_msg m;

/* ipc_put_* fills the payload; hdr.len follows it (as ipc_send would). */
static void
start(uint32_t type)
{
	ipc_init(&m, type, 7);
}

static int
decode(const char **why)
{
	struct store_req r;
	int rc;

	m.pos = 0;
	rc = req_decode(&m, &r, why);
	req_free(&r);
	return rc;
}

static void
test_dispatch(void)
{
	const char *why = NULL;

	/* the table: a RETR of the wrong size */
	start(MSG_RETR);
	ipc_put_u32(&m, 1);
	CHECK(dispatch_check(&m, CHAN_POP3, CS_BOUND, &why) == NULL &&
	    strcmp(why, "payload size out of range") == 0, "RETR of 4 bytes: %s", why);
	start(MSG_LOOKUP);
	ipc_put_str(&m, "alice");
	CHECK(dispatch_check(&m, CHAN_SMTP, CS_OPEN, &why) != NULL, "a good LOOKUP passes the table");
	CHECK(dispatch_check(&m, 40, CS_OPEN, &why) == NULL &&
	    strcmp(why, "request not allowed on this kind of channel") == 0,
	    "a channel kind out of range: %s", why);

	/* APPEND: header, count, accounts */
	start(MSG_APPEND);
	ipc_put_str(&m, "sess");
	CHECK(decode(&why) == -1 && strcmp(why, "malformed APPEND header") == 0,
	    "APPEND without sender and count: %s", why);
	start(MSG_APPEND);
	ipc_put_str(&m, "sess");
	ipc_put_str(&m, "a@b");
	ipc_put_u32(&m, 0);
	CHECK(decode(&why) == -1 && strcmp(why, "APPEND account count out of range") == 0,
	    "APPEND for 0 accounts: %s", why);
	start(MSG_APPEND);
	ipc_put_str(&m, "sess");
	ipc_put_str(&m, "a@b");
	ipc_put_u32(&m, LIM_APPEND_ACCOUNTS + 1);
	CHECK(decode(&why) == -1 && strcmp(why, "APPEND account count out of range") == 0,
	    "APPEND for %u accounts: %s", LIM_APPEND_ACCOUNTS + 1, why);
	start(MSG_APPEND);
	ipc_put_str(&m, "sess");
	ipc_put_str(&m, "a@b");
	ipc_put_u32(&m, 2);
	ipc_put_str(&m, "alice");
	CHECK(decode(&why) == -1 && strcmp(why, "malformed APPEND account") == 0,
	    "APPEND naming 1 of 2 accounts: %s", why);
	start(MSG_APPEND);
	ipc_put_str(&m, "sess");
	ipc_put_str(&m, "a@b");
	ipc_put_u32(&m, 1);
	ipc_put_str(&m, "alice");
	CHECK(decode(&why) == 0, "a whole APPEND decodes");

	/* the others, one field short */
	start(MSG_LOOKUP);
	ipc_put_u32(&m, 1000);     /* a string length past the payload */
	CHECK(decode(&why) == -1 && strcmp(why, "malformed request") == 0, "LOOKUP with a bad length");
	start(MSG_AUTH);
	ipc_put_str(&m, "alice");
	ipc_put_str(&m, "pw");
	CHECK(decode(&why) == -1 && strcmp(why, "malformed request") == 0, "AUTH without the address");
	start(MSG_RETR);
	ipc_put_u32(&m, 1);
	CHECK(decode(&why) == -1 && strcmp(why, "malformed request") == 0, "RETR without the line count");
	start(MSG_RETR);
	ipc_put_u32(&m, 1);
	ipc_put_u32(&m, LIM_ALL_LINES);
	CHECK(decode(&why) == -1 && strcmp(why, "malformed request") == 0, "RETR without the read-ahead");
	ipc_put_u32(&m, LIM_RETR_AHEAD);
	CHECK(decode(&why) == 0, "RETR with the most read-ahead decodes");
	start(MSG_RETR);
	ipc_put_u32(&m, 1);
	ipc_put_u32(&m, LIM_ALL_LINES);
	ipc_put_u32(&m, LIM_RETR_AHEAD + 1);
	CHECK(decode(&why) == -1 && strcmp(why, "RETR read-ahead out of range") == 0,
	    "RETR reading too far ahead: %s", why);
	start(MSG_RETR);
	ipc_put_u32(&m, 1);
	ipc_put_u32(&m, 5);
	ipc_put_u32(&m, 1);
	CHECK(decode(&why) == -1 && strcmp(why, "RETR read-ahead out of range") == 0,
	    "TOP with a read-ahead: %s", why);
	start(MSG_DELE);
	CHECK(decode(&why) == -1 && strcmp(why, "malformed request") == 0, "DELE without a count");
	start(MSG_DELE);
	ipc_put_u32(&m, 0);
	ipc_put_u32(&m, 1);
	CHECK(decode(&why) == -1 && strcmp(why, "DELE count out of range") == 0,
	    "DELE of no message: %s", why);
	start(MSG_DELE);
	ipc_put_u32(&m, LIM_DELE_BATCH + 1);
	ipc_put_u32(&m, 1);
	CHECK(decode(&why) == -1 && strcmp(why, "DELE count out of range") == 0,
	    "DELE of too many messages: %s", why);
	start(MSG_DELE);
	ipc_put_u32(&m, 2);
	ipc_put_u32(&m, 1);
	CHECK(decode(&why) == -1 && strcmp(why, "malformed request") == 0,
	    "DELE of 2 naming 1: %s", why);
	ipc_put_u32(&m, 3);
	CHECK(decode(&why) == 0, "DELE of 2 naming 2 decodes");
	start(MSG_READY);
	CHECK(decode(&why) == -1 && strcmp(why, "unknown request") == 0, "MSG_READY is no request: %s", why);
	start(MSG_COMMIT);
	ipc_put_u32(&m, 1);
	CHECK(decode(&why) == -1 && strcmp(why, "trailing bytes after the request") == 0,
	    "COMMIT with a payload: %s", why);
}

/* ---- accounts and aliases ---- */

static int
memfile(const char *text, size_t n)
{
	int fd = memfd_create("t", 0);

	if (fd == -1 || write(fd, text, n) != (ssize_t)n)
		exit(1);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static char err[65536];

static int
load(const char *acc, const char *al)
{
	struct acctab t;
	int a = memfile(acc, strlen(acc)), b = al ? memfile(al, strlen(al)) : -1, r;

	r = acctab_load_into(&t, a, "accounts", b, "aliases", err, sizeof(err));
	close(a);
	if (b != -1)
		close(b);
	if (r == 0)
		acctab_free(&t);
	return r;
}

#define ACCS "alice:$6$x$y\nbob:$6$x$y\r\ncarol:$6$x$y\n"

/* A buffer of n accounts u0..u(n-1), and an alias line naming [from, to). */
static char *
many_accounts(int n)
{
	size_t cap = (size_t)n * 32 + 64, len = 0;
	char *b = malloc(cap);

	if (b == NULL)
		exit(1);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(b + len, cap - len, "u%d:$6$x$y\n", i);
	return b;
}

static char *
alias_range(const char *name, int from, int to)
{
	size_t cap = (size_t)(to - from) * 16 + 64, len;
	char *b = malloc(cap);

	if (b == NULL)
		exit(1);
	len = (size_t)snprintf(b, cap, "%s:", name);
	for (int i = from; i < to; i++)
		len += (size_t)snprintf(b + len, cap - len, "%s u%d", i > from ? "," : "", i);
	snprintf(b + len, cap - len, "\n");
	return b;
}

static void
test_accounts(void)
{
	char name[LIM_NAME + 40], *big, *accs, *a1, *a2, *al;
	struct acctab t;
	size_t n;
	int fd;

	CHECK(load(ACCS, NULL) == 0, "accounts with a CRLF line load");
	CHECK(load("alice:$6$x$y\njustaname\n", NULL) == -1 &&
	    strstr(err, "accounts:2: expected name:hash") != NULL, "a line without a colon: %s", err);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	{
		char line[sizeof(name) + 16];

		snprintf(line, sizeof(line), "%s:$6$x$y\n", name);
		CHECK(load(line, NULL) == -1 && strstr(err, "name too long") != NULL,
		    "a %zu-byte account name: %s", strlen(name), err);
	}
	{
		static const char nul[] = "alice:$6$x$y\nbo\0b:$6$x$y\n";
		struct acctab tt;
		int a = memfile(nul, sizeof(nul) - 1);

		CHECK(acctab_load_into(&tt, a, "accounts", -1, NULL, err, sizeof(err)) == -1 &&
		    strstr(err, "accounts:2: NUL byte in line") != NULL, "a NUL byte in a line: %s", err);
		close(a);
	}

	/* aliases */
	CHECK(load(ACCS, "team alice bob\n") == -1 &&
	    strstr(err, "aliases:1: expected alias: name, name, ...") != NULL,
	    "an alias line without a colon: %s", err);
	CHECK(load(ACCS, "team: , ,\n") == -1 && strstr(err, "alias team: no names") != NULL,
	    "an alias of no names: %s", err);
	CHECK(load(ACCS, "team: alice, bad/name\n") == -1 && strstr(err, "aliases:1:") != NULL,
	    "an alias target that is no name: %s", err);
	CHECK(load(ACCS, "all: x, y\nx: z\ny: z\nz: alice\n") == 0,
	    "two ways to one alias (no loop) load");

	/* limits: 1001 targets in one alias, 1001 accounts through two */
	accs = many_accounts(LIM_ALIAS_EXPANSION + 1);
	al = alias_range("big", 0, LIM_ALIAS_EXPANSION + 1);
	CHECK(load(accs, al) == -1 && strstr(err, "alias big: too many names") != NULL,
	    "an alias of %d names: %.80s", LIM_ALIAS_EXPANSION + 1, err);
	free(al);
	a1 = alias_range("lo", 0, 600);
	a2 = alias_range("hi", 600, LIM_ALIAS_EXPANSION + 1);
	n = strlen(a1) + strlen(a2) + 32;
	al = malloc(n);
	if (al == NULL)
		exit(1);
	snprintf(al, n, "%s%sall: lo, hi\n", a1, a2);
	CHECK(load(accs, al) == -1 && strstr(err, "alias all expands to more than") != NULL,
	    "an alias reaching %d accounts: %.80s", LIM_ALIAS_EXPANSION + 1, err);
	free(a1);
	free(a2);
	free(al);
	free(accs);

	/* a file larger than the first read buffer (64 KiB) */
	n = 200000;
	big = malloc(n + 64);
	if (big == NULL)
		exit(1);
	memset(big, '#', n);
	big[n] = '\0';
	for (size_t i = 79; i < n; i += 80)
		big[i] = '\n';
	memcpy(big + n, "\nalice:$6$x$y\n", sizeof("\nalice:$6$x$y\n"));
	CHECK(load(big, NULL) == 0, "a 200 KB accounts file (mostly comments) loads");
	free(big);

	/* unreadable files: a directory gives EISDIR on read */
	fd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(acctab_load_into(&t, fd, "accounts", -1, NULL, err, sizeof(err)) == -1 &&
	    strstr(err, "accounts:0: read:") != NULL, "an accounts fd that cannot be read: %s", err);
	{
		int a = memfile(ACCS, strlen(ACCS));

		CHECK(acctab_load_into(&t, a, "accounts", fd, "aliases", err, sizeof(err)) == -1 &&
		    strstr(err, "aliases:0: read:") != NULL, "an aliases fd that cannot be read: %s", err);
		close(a);
	}
	close(fd);
}

/* Every row has its handler, and runs when the loop always ran it: LOOKUP
 * and APPEND inside the pass, the rest after the group commit, DELE
 * letting the loop read on. */
static void
test_rows(void)
{
	static const struct { uint32_t type; enum run_rule run; } want[] = {
		{ MSG_LOOKUP, RUN_NOW }, { MSG_APPEND, RUN_NOW },
		{ MSG_AUTH, RUN_AFTER_COMMIT }, { MSG_RETR, RUN_AFTER_COMMIT },
		{ MSG_DELE, RUN_AFTER_COMMIT_READ_ON }, { MSG_UNDO, RUN_AFTER_COMMIT },
		{ MSG_COMMIT, RUN_AFTER_COMMIT }, { MSG_RELEASE, RUN_AFTER_COMMIT },
		{ MSG_MBOX_STAT, RUN_AFTER_COMMIT },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct dispatch_row *row = dispatch_row(want[i].type);

		CHECK(row != NULL && row->handle != NULL && row->run == want[i].run,
		    "%s: a row with its handler, run rule %d", msg_name(want[i].type),
		    (int)want[i].run);
		CHECK(row == NULL || (row->decode == NULL) == (row->maxlen == 0),
		    "%s: a decoder exactly when it has a payload", msg_name(want[i].type));
	}
	CHECK(dispatch_row(MSG_ACCOUNTS) == NULL, "a master message has no row");
}

int
main(void)
{
	test_dispatch();
	test_rows();
	test_accounts();
	return check_done();
}
