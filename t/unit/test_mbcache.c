/*
 * The INBOX UID state of the store's mailbox cache (store/mbcache.c):
 * learned once when a mailbox enters the cache, consecutive UIDs within a
 * pass, a truncated pass leaves a gap and never a reuse, and a change of
 * the folder table is seen only after mbc_uidstate_forget().
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store/foldertab.h"
#include "store/mbox.h"
#include "store/store_int.h"

static char dir[64];
static int dfd;

/* The folder table of NAME with INBOX's UIDNEXT set to uidnext. */
static void
put_table(const char *name, uint32_t uidnext)
{
	struct foldertab t;
	char sub[128];
	int d;

	mkdirat(dfd, FOLDER_AREA, 0700);
	snprintf(sub, sizeof(sub), "%s/%s", FOLDER_AREA, name);
	mkdirat(dfd, sub, 0700);
	d = openat(dfd, sub, O_RDONLY | O_DIRECTORY);
	foldertab_new(&t, 1764900000);
	if (uidnext > 1 && foldertab_set_uidnext(&t, "INBOX", 5, uidnext, NULL) == -1)
		exit(1);
	if (d == -1 || foldertab_save(d, &t, NULL) == -1)
		exit(1);
	foldertab_free(&t);
	close(d);
}

/* One delivery to NAME in the current pass, as store_smtp.c writes it;
 * the IMAP UID written (0 none), or -1. */
static long
deliver(const char *name, int n)
{
	char uid[MBOX_UID_MAX + 1], msg[64];
	unsigned char *rec;
	size_t rl;
	uint64_t w;
	uint32_t u;
	ssize_t t = mbc_touch(name);

	if (t == -1)
		return -1;
	u = mbc_uid_next((size_t)t);
	mbox_new_uid(uid);
	snprintf(msg, sizeof(msg), "Subject: %d\r\n\r\nbody %d\r\n", n, n);
	rec = mbox_encode((unsigned char *)msg, strlen(msg), "s@x", uid, u, 0, NULL, 0, time(NULL), &rl, &w);
	if (rec == NULL || mb_append(mbc_mb((size_t)t), rec, rl) == -1)
		return -1;
	free(rec);
	mbc_appended((size_t)t, u);
	return (long)u;
}

/* The IMAP UIDs in NAME, as "a b c" ("-" for none). */
static void
uids_of(const char *name, char *out, size_t outsz)
{
	struct mailbox mb;
	struct mbox_list l;
	uint64_t cut;
	size_t o = 0;

	out[0] = '\0';
	mbox_list_init(&l);
	mb_init(&mb, dfd, name);
	if (mb_open(&mb, 0, NULL) != 0 || mb_scan(&mb, &l, 1, &cut, NULL) == -1)
		return;
	for (size_t i = 0; i < l.n && o + 12 < outsz; i++) {
		int r = l.v[i].imapuid ? snprintf(out + o, outsz - o, "%s%u", i ? " " : "",
		    (unsigned)l.v[i].imapuid) : snprintf(out + o, outsz - o, "%s-", i ? " " : "");

		o += (size_t)r;
	}
	mb_close(&mb);
	mbox_list_free(&l);
}

int
main(void)
{
	char got[256];
	long a, b, c;

	snprintf(dir, sizeof(dir), "/tmp/test_mbcache.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	mbc_init(dfd);
	mb_set_owner(geteuid());

	/* no folder area: no UIDs */
	mbc_pass_begin();
	a = deliver("bob", 1);
	CHECK(a == 0 && mbc_pass_fsync() == 0, "no folder table: no IMAP UID");
	mbc_pass_end(0);

	/* a table, INBOX UIDNEXT 40, a new mailbox: 40, 41, 42 in one pass */
	put_table("alice", 40);
	mbc_pass_begin();
	a = deliver("alice", 1);
	b = deliver("alice", 2);
	c = deliver("alice", 3);
	CHECK(a == 40 && b == 41 && c == 42 && mbc_pass_fsync() == 0,
	    "three deliveries in one pass: 40 41 42 (%ld %ld %ld)", a, b, c);
	mbc_pass_end(0);
	uids_of("alice", got, sizeof(got));
	CHECK(strcmp(got, "40 41 42") == 0, "written: %s", got);

	/* the next pass reuses the cached state */
	mbc_pass_begin();
	a = deliver("alice", 4);
	CHECK(a == 43 && mbc_pass_fsync() == 0, "the next pass: 43 (%ld)", a);
	mbc_pass_end(0);

	/* a pass whose write is truncated back (as undo_writes() and a
	 * failed fsync do): the UID is burned, the file shows 40..43 again */
	mbc_pass_begin();
	{
		ssize_t t = mbc_touch("alice");
		uint64_t before = mbc_mb((size_t)t)->size;

		a = deliver("alice", 5);
		b = deliver("alice", 6);
		mb_truncate(mbc_mb((size_t)t), before);
	}
	CHECK(a == 44 && b == 45, "two more given, then truncated away (%ld %ld)", a, b);
	mbc_pass_fsync();
	mbc_pass_end(0);
	mbc_pass_begin();
	a = deliver("alice", 7);
	CHECK(a == 46, "after the truncation: 46, a gap, not 44 again (%ld)", a);
	mbc_pass_fsync();
	mbc_pass_end(1);     /* closes everything: the state is learned again */
	mbc_pass_begin();
	a = deliver("alice", 8);
	CHECK(a == 47, "learned again from the file: still no reuse (%ld)", a);
	mbc_pass_fsync();
	mbc_pass_end(0);
	uids_of("alice", got, sizeof(got));
	CHECK(strcmp(got, "40 41 42 43 46 47") == 0, "ascending with a gap: %s", got);

	/* the IMAP side raises the table's UIDNEXT: not seen until it says so */
	put_table("alice", 500);
	mbc_pass_begin();
	a = deliver("alice", 9);
	mbc_pass_fsync();
	mbc_pass_end(0);
	CHECK(a == 48, "the table is not read again on the cached path (%ld)", a);
	mbc_uidstate_forget("alice");
	mbc_pass_begin();
	a = deliver("alice", 10);
	mbc_pass_fsync();
	mbc_pass_end(0);
	CHECK(a == 500, "after mbc_uidstate_forget(): the table's 500 (%ld)", a);

	/* another tool appends a message without a UID behind the cache */
	{
		const char *f = "From x@y Mon Jan  1 00:00:00 2024\nSubject: f\n\nforeign\n\n";
		int fd = openat(dfd, "alice", O_WRONLY | O_APPEND);

		if (fd == -1 || write(fd, f, strlen(f)) != (ssize_t)strlen(f))
			return 1;
		close(fd);
	}
	mbc_pass_begin();
	a = deliver("alice", 11);
	mbc_pass_fsync();
	mbc_pass_end(0);
	CHECK(a == 0, "a message without a UID appended by another tool: no UID after it (%ld)", a);
	uids_of("alice", got, sizeof(got));
	CHECK(strcmp(got, "40 41 42 43 46 47 48 500 - -") == 0, "the file: %s", got);

	/* an INBOX delivered to before its account had IMAP: the IMAP side
	 * assigns UIDs (the cache entry dropped first, as for a COMMIT);
	 * the next delivery gets n + 1 */
	mbc_pass_begin();
	a = deliver("carol", 1);
	b = deliver("carol", 2);
	c = deliver("carol", 3);
	mbc_pass_fsync();
	mbc_pass_end(0);
	CHECK(a == 0 && b == 0 && c == 0, "no table yet: no UIDs");
	put_table("carol", 1);
	mbc_forget("carol");
	{
		struct mailbox mb;
		uint32_t next = 0;
		int renum = 1;

		mb_init(&mb, dfd, "carol");
		CHECK(mb_open(&mb, 0, NULL) == 0 && mb_lock(&mb, 1000, NULL) == 0 &&
		    mb_assign_uids(&mb, 1, 1, NULL, NULL, &next, &renum, NULL) == 0 &&
		    next == 4 && renum == 0, "UIDs 1..3 assigned, UIDNEXT 4");
		mb_close(&mb);
	}
	mbc_pass_begin();
	a = deliver("carol", 4);
	mbc_pass_fsync();
	mbc_pass_end(0);
	CHECK(a == 4, "the delivery after them: 4 (%ld)", a);
	uids_of("carol", got, sizeof(got));
	CHECK(strcmp(got, "1 2 3 4") == 0, "the file: %s", got);

	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return check_done();
}
