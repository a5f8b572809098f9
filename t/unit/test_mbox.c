/* The mbox format and mailbox files (store/mbox.c, store/mailbox.c). */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "privsep/params.h"
#include "store/mailbox.h"
#include "store/mbox.h"
#include "store/xpostern.h"

/*
 * The rename of a rewrite, interposed (this file's definitions win over
 * libc's for the library linked in): 0 renames, 1 fails with EIO, 2 dies
 * as a crash would, after the temporary file was written and fsync'ed and
 * before it takes the mailbox's name.
 */
static int rename_mode;

int renameat2(int od, const char *op, int nd, const char *np, unsigned int fl);
int renameat(int od, const char *op, int nd, const char *np);

int
renameat2(int od, const char *op, int nd, const char *np, unsigned int fl)
{
	if (rename_mode == 2 && strstr(op, ".tmp") && !strstr(op, ".idx"))
		_exit(42);
	if (rename_mode == 1 && strstr(op, ".tmp") && !strstr(op, ".idx")) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_renameat2, od, op, nd, np, fl);
}

int
renameat(int od, const char *op, int nd, const char *np)
{
	return renameat2(od, op, nd, np, 0);
}

static char dir[256];
static int dfd;

static void
fresh_dir(void)
{
	char cmd[300];

	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			exit(1);
	}
	snprintf(dir, sizeof(dir), "/tmp/test_mbox.XXXXXX");
	if (mkdtemp(dir) == NULL)
		exit(1);
	if (dfd > 0)
		close(dfd);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
}

/* Appends msg (CRLF form) to NAME through the real code; 0 ok. */
static int
deliver(const char *name, const void *msg, size_t n, char *uid_out)
{
	struct mailbox mb;
	struct mbox_list l;
	char uid[MBOX_UID_MAX + 1];
	unsigned char *rec;
	size_t rl;
	uint64_t wire, cut;
	int r;

	mb_init(&mb, dfd, name);
	if (mb_open(&mb, 1, NULL) != 0 || mb_lock(&mb, 1000, NULL) != 0)
		return -1;
	mbox_list_init(&l);
	mb_scan(&mb, &l, 1, &cut, NULL);
	mbox_list_free(&l);
	mbox_new_uid(uid);
	if (uid_out)
		memcpy(uid_out, uid, strlen(uid) + 1);   /* MBOX_UID_MAX + 1 */
	rec = mbox_encode(msg, n, "s@example.org", uid, 0, 0, NULL, 0, time(NULL), &rl, &wire);
	r = rec ? mb_append(&mb, rec, rl) : -1;
	if (r == 0)
		r = mb_fsync(&mb);
	free(rec);
	mb_close(&mb);
	return r;
}

static int
scan(const char *name, struct mbox_list *l, uint64_t *cut)
{
	struct mailbox mb;
	int r;

	mbox_list_init(l);
	mb_init(&mb, dfd, name);
	if (mb_open(&mb, 0, NULL) != 0)
		return -1;
	r = mb_scan(&mb, l, 1, cut, NULL);
	mb_close(&mb);
	return r;
}

static unsigned char *
retr(const char *name, const struct mbox_ent *e, uint32_t lines, size_t *n)
{
	struct mailbox mb;
	unsigned char *out = NULL;
	uint64_t len = 0;

	mb_init(&mb, dfd, name);
	if (mb_open(&mb, 0, NULL) != 0)
		return NULL;
	if (mb_read_msgs(mb.fd, &e, 1, lines, &out, n, &len) == -1 || len != *n)
		out = NULL;
	mb_close(&mb);
	return out;
}

/* The messages pick[0..k) of l read in one call: the same bytes as one by
 * one, lengths included. */
static int
retr_many_same(const char *name, const struct mbox_list *l, const size_t *pick,
    size_t k)
{
	const struct mbox_ent *ents[16];
	uint64_t lens[16];
	struct mailbox mb;
	unsigned char *all = NULL;
	size_t n = 0, at = 0;
	int ok;

	mb_init(&mb, dfd, name);
	if (k > 16 || mb_open(&mb, 0, NULL) != 0)
		return 0;
	for (size_t i = 0; i < k; i++)
		ents[i] = &l->v[pick[i]];
	ok = mb_read_msgs(mb.fd, ents, k, LIM_ALL_LINES, &all, &n, lens) == 0;
	mb_close(&mb);
	for (size_t i = 0; ok && i < k; i++) {
		size_t gl = 0;
		unsigned char *g = retr(name, &l->v[pick[i]], LIM_ALL_LINES, &gl);

		ok = g != NULL && lens[i] == gl && at + gl <= n && memcmp(all + at, g, gl) == 0;
		at += gl;
		free(g);
	}
	free(all);
	return ok && at == n;
}

static off_t
fsize(const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, 0) == 0 ? st.st_size : -1;
}

/* What RETR must give back for a CRLF message: LF lines, Return-Path first,
 * a final line end added. */
static char *
expected(const char *msg, size_t n, size_t *outlen)
{
	static const char rp[] = "Return-Path: <s@example.org>\n";
	char *o = malloc(n + 64), *p = o;

	memcpy(p, rp, sizeof(rp) - 1);
	p += sizeof(rp) - 1;
	for (size_t i = 0; i < n; i++) {
		if (msg[i] == '\r' && i + 1 < n && msg[i + 1] == '\n')
			continue;
		*p++ = msg[i];
	}
	if (n > 0 && msg[n - 1] != '\n')
		*p++ = '\n';
	*outlen = (size_t)(p - o);
	return o;
}

static void
test_roundtrip(void)
{
	static const char *bodies[] = {
		"Subject: a\r\n\r\nFrom me\r\n>From you\r\n>>From them\r\nFrom\r\n",
		"Subject: b\r\n\r\nno final line end",
		"Subject: c\r\n\r\n\r\n\r\n",
		"From start\r\n\r\n>>>From x\r\nFrom  two spaces\r\n",
		"Subject: bare\r\n\r\nbare\rCR and LF\nhere\r\n",
	};
	struct mbox_list l;
	uint64_t cut;
	size_t nb = sizeof(bodies) / sizeof(bodies[0]);
	char *big;
	size_t biglen = 1024 * 1024 + 100;

	fresh_dir();
	for (size_t i = 0; i < nb; i++)
		CHECK(deliver("rt", bodies[i], strlen(bodies[i]), NULL) == 0, "deliver body %zu", i);
	/* NUL bytes */
	CHECK(deliver("rt", "Subject: nul\r\n\r\na\0b\0\r\nFrom \0\r\n", 29, NULL) == 0,
	    "deliver body with NUL bytes");
	/* a 1 MB line starting "From " */
	big = malloc(biglen);
	memcpy(big, "Subject: big\r\n\r\nFrom ", 21);
	memset(big + 21, 'x', biglen - 23);
	memcpy(big + biglen - 2, "\r\n", 2);
	CHECK(deliver("rt", big, biglen, NULL) == 0, "deliver a 1 MB line");
	CHECK(scan("rt", &l, &cut) == 0 && l.n == nb + 2 && cut == 0, "scan finds %zu messages", nb + 2);
	for (size_t i = 0; i < l.n && i < nb + 2; i++) {
		const char *m = i < nb ? bodies[i] : i == nb ? "Subject: nul\r\n\r\na\0b\0\r\nFrom \0\r\n" : big;
		size_t ml = i < nb ? strlen(bodies[i]) : i == nb ? 29 : biglen, el, gl = 0;
		char *e = expected(m, ml, &el);
		unsigned char *g = retr("rt", &l.v[i], LIM_ALL_LINES, &gl);
		size_t lf = 0;

		for (size_t k = 0; k < el; k++)
			lf += e[k] == '\n';
		CHECK(g && gl == el && memcmp(g, e, el) == 0, "message %zu comes back byte for byte", i);
		CHECK(l.v[i].wire == el + lf, "message %zu wire octets %llu == %zu", i,
		    (unsigned long long)l.v[i].wire, el + lf);
		free(e);
		free(g);
	}
	/* several in one read (POP3 read-ahead): adjacent, with gaps, all */
	{
		static const size_t adj[] = { 1, 2, 3 }, gaps[] = { 0, 2, 4, 6 };
		size_t every[16];

		for (size_t i = 0; i < l.n && i < 16; i++)
			every[i] = i;
		CHECK(retr_many_same("rt", &l, adj, 3), "3 adjacent messages in one read");
		CHECK(retr_many_same("rt", &l, gaps, 4), "4 messages with gaps in one read");
		CHECK(retr_many_same("rt", &l, every, l.n), "all %zu messages in one read", l.n);
	}
	/* entries that do not match the file: an error, never other bytes */
	{
		struct mbox_ent bad = l.v[1];
		const struct mbox_ent *be = &bad;
		struct mailbox mb;
		unsigned char *o = NULL;
		size_t ol = 0;
		uint64_t bl;

		mb_init(&mb, dfd, "rt");
		CHECK(mb_open(&mb, 0, NULL) == 0, "open rt");
		bad.off += 1;                   /* not at a From_ line */
		errno = 0;
		CHECK(mb_read_msgs(mb.fd, &be, 1, LIM_ALL_LINES, &o, &ol, &bl) == -1 &&
		    errno == EIO, "an entry off its From_ line is EIO");
		bad = l.v[l.n - 1];
		bad.off = (uint64_t)fsize("rt") - 3;   /* runs past the end */
		CHECK(mb_read_msgs(mb.fd, &be, 1, LIM_ALL_LINES, &o, &ol, &bl) == -1 &&
		    errno == EIO, "an entry past the end of the file is EIO");
		bad = l.v[0];
		bad.skip = 0;
		bad.clen = 0;
		CHECK(mb_read_msgs(mb.fd, &be, 1, LIM_ALL_LINES, &o, &ol, &bl) == -1 &&
		    errno == EIO, "an entry shorter than \"From \" is EIO");
		bad.clen = SIZE_MAX / 2;
		CHECK(mb_read_msgs(mb.fd, &be, 1, LIM_ALL_LINES, &o, &ol, &bl) == -1 &&
		    errno == EFBIG, "an entry too large to hold is EFBIG");
		mb_close(&mb);
	}
	/* TOP 1 of message 0: Return-Path, Subject, blank, one line */
	{
		size_t gl;
		unsigned char *g = retr("rt", &l.v[0], 1, &gl);
		const char *w = "Return-Path: <s@example.org>\nSubject: a\n\nFrom me\n";
		CHECK(g && gl == strlen(w) && memcmp(g, w, gl) == 0, "TOP n 1 gives header + 1 line");
		free(g);
	}
	mbox_list_free(&l);
	free(big);
}

static void
test_torn(void)
{
	struct mbox_list l;
	uint64_t cut;
	off_t full, two;
	char path[300];
	int bad = 0, tried = 0;

	fresh_dir();
	deliver("t", "Subject: 1\r\n\r\none\r\n", 20, NULL);
	deliver("t", "Subject: 2\r\n\r\ntwo\r\n", 20, NULL);
	two = fsize("t");
	deliver("t", "Subject: 3\r\n\r\nthree\r\nFrom x\r\n", 29, NULL);
	full = fsize("t");
	snprintf(path, sizeof(path), "%s/t", dir);
	for (off_t cutat = two + 1; cutat < full; cutat++) {
		char cmd[400];
		int fd;

		/* restore the full file, then cut it */
		unlinkat(dfd, ".t.idx", 0);
		fd = openat(dfd, "t", O_RDWR);
		if (fd == -1 || ftruncate(fd, cutat) == -1)
			bad++;
		close(fd);
		tried++;
		if (scan("t", &l, &cut) != 0 || l.n != 2 || fsize("t") != two) {
			bad++;
			printf("# cut at %lld: n=%zu size=%lld\n", (long long)cutat, l.n,
			    (long long)fsize("t"));
		}
		mbox_list_free(&l);
		/* rebuild the third message for the next round */
		snprintf(cmd, sizeof(cmd), "true");
		if (deliver("t", "Subject: 3\r\n\r\nthree\r\nFrom x\r\n", 29, NULL) != 0 ||
		    fsize("t") != full)
			bad++;
	}
	CHECK(tried > 50 && bad == 0, "torn tail cut at %d offsets leaves exactly the 2 whole messages", tried);
	/* garbage after the last message */
	{
		int fd = openat(dfd, "t", O_WRONLY | O_APPEND);
		(void)!write(fd, "garbage\n", 8);
		close(fd);
		CHECK(scan("t", &l, &cut) == 0 && l.n == 3 && cut == 8 && fsize("t") == full,
		    "garbage after the last message is cut");
		mbox_list_free(&l);
	}
	/* not an mbox: refused, never truncated */
	{
		int fd = openat(dfd, "notmbox", O_WRONLY | O_CREAT, 0600);
		(void)!write(fd, "hello world\n", 12);
		close(fd);
		CHECK(scan("notmbox", &l, &cut) == -1 && fsize("notmbox") == 12,
		    "a file not starting with From_ is refused and left alone");
		mbox_list_free(&l);
	}
}

static void
test_uids(void)
{
	struct mbox_list a, b;
	uint64_t cut;
	int distinct = 1, same = 1;

	fresh_dir();
	for (int i = 0; i < 20; i++)
		deliver("u", "Subject: same\r\n\r\nsame\r\n", 24, NULL);
	scan("u", &a, &cut);
	for (size_t i = 0; i < a.n; i++)
		for (size_t j = i + 1; j < a.n; j++)
			if (strcmp(a.v[i].uid, a.v[j].uid) == 0)
				distinct = 0;
	CHECK(a.n == 20 && distinct, "identical messages get distinct UIDs");
	unlinkat(dfd, ".u.idx", 0);
	scan("u", &b, &cut);
	for (size_t i = 0; i < a.n && i < b.n; i++)
		if (strcmp(a.v[i].uid, b.v[i].uid) != 0)
			same = 0;
	CHECK(b.n == 20 && same, "UIDs stable after the index is deleted");
	mbox_list_free(&a);
	mbox_list_free(&b);

	/* foreign messages (no X-Postern line): derived, distinct, stable */
	{
		const char *f = "From x@y Mon Jan  1 00:00:00 2024\nSubject: f\n\nbody\n\n"
		    "From x@y Mon Jan  1 00:00:00 2024\nSubject: f\n\nbody\n\n";
		int fd = openat(dfd, "f", O_WRONLY | O_CREAT, 0600);
		(void)!write(fd, f, strlen(f));
		close(fd);
		scan("f", &a, &cut);
		unlinkat(dfd, ".f.idx", 0);
		scan("f", &b, &cut);
		CHECK(a.n == 2 && strcmp(a.v[0].uid, a.v[1].uid) != 0 &&
		    strcmp(a.v[0].uid, b.v[0].uid) == 0 && strcmp(a.v[1].uid, b.v[1].uid) == 0,
		    "foreign duplicates get distinct, stable UIDs (%s %s)", a.v[0].uid,
		    a.n > 1 ? a.v[1].uid : "");
		mbox_list_free(&a);
		mbox_list_free(&b);
	}
}

/* Writes a mailbox of records with the given X-Postern UIDs, message i
 * saying "Subject: m<i>". */
static void
write_uids(const char *name, const char *const *uids, size_t n)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	for (size_t i = 0; i < n; i++) {
		char msg[64];
		size_t rl;
		uint64_t w;
		int ml = snprintf(msg, sizeof(msg), "Subject: m%zu\r\n\r\nbody %zu\r\n", i, i);
		unsigned char *rec = mbox_encode((unsigned char *)msg, (size_t)ml, "s@x",
		    uids[i], 0, 0, NULL, 0, 0, &rl, &w);

		if (rec == NULL || write(fd, rec, rl) != (ssize_t)rl)
			exit(1);
		free(rec);
	}
	close(fd);
	unlinkat(dfd, ".d.idx", 0);
}

static int
all_distinct(const struct mbox_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = i + 1; j < l->n; j++)
			if (strcmp(l->v[i].uid, l->v[j].uid) == 0)
				return 0;
	return 1;
}

/* Deletes the messages of l whose numbers (0-based) are in dn[0..k). */
static int
commit_del(const char *name, const struct mbox_list *l, const size_t *dn, size_t k)
{
	struct mailbox mb;
	struct mbox_ent del[8];
	uint32_t deleted = 0;
	int r;

	for (size_t i = 0; i < k && i < 8; i++)
		del[i] = l->v[dn[i]];
	mb_init(&mb, dfd, name);
	if (mb_open(&mb, 0, NULL) != 0 || mb_lock(&mb, 1000, NULL) != 0)
		return -1;
	r = mb_rewrite(&mb, del, k, &deleted, NULL);
	mb_close(&mb);
	return r == 0 ? (int)deleted : -1;
}

static void
test_dup_uids(void)
{
	static const char u40[] = "0123456789abcdef0123456789abcdef01234567";
	static const char u47[] = "0123456789abcdef0123456789abcdef0123456789abcde";
	struct mbox_list l, again;
	uint64_t cut;

	fresh_dir();
	/* "U", "U", "U-1": the second is not given the third's own UID */
	{
		const char *u[] = { "abc", "abc", "abc-1", "abc" };

		write_uids("d", u, 4);
		CHECK(scan("d", &l, &cut) == 0 && l.n == 4 && all_distinct(&l),
		    "U U U-1 U: four distinct UIDs");
		CHECK(l.n == 4 && strcmp(l.v[0].uid, "abc") == 0 &&
		    strcmp(l.v[1].uid, "abc-2") == 0 && strcmp(l.v[2].uid, "abc-1") == 0 &&
		    strcmp(l.v[3].uid, "abc-3") == 0, "U U U-1 U: U, U-2, U-1, U-3 (%s %s %s %s)",
		    l.n > 0 ? l.v[0].uid : "", l.n > 1 ? l.v[1].uid : "",
		    l.n > 2 ? l.v[2].uid : "", l.n > 3 ? l.v[3].uid : "");
		/* the same from the index, and from the file alone */
		CHECK(scan("d", &again, &cut) == 0 && again.n == 4 &&
		    strcmp(again.v[1].uid, "abc-2") == 0 && strcmp(again.v[3].uid, "abc-3") == 0,
		    "the index gives the same UIDs");
		mbox_list_free(&again);
		/* DELE of "abc-2" removes that message only, and the survivors
		 * keep their UIDs with the sibling gone */
		{
			size_t dn[] = { 0, 1 };

			CHECK(commit_del("d", &l, dn, 2) == 2, "COMMIT deletes exactly two");
		}
		unlinkat(dfd, ".d.idx", 0);
		CHECK(scan("d", &again, &cut) == 0 && again.n == 2 &&
		    strcmp(again.v[0].uid, "abc-1") == 0 && strcmp(again.v[1].uid, "abc-3") == 0,
		    "after DELE 1 2 + COMMIT the survivors keep abc-1 and abc-3 (%s %s)",
		    again.n > 0 ? again.v[0].uid : "", again.n > 1 ? again.v[1].uid : "");
		mbox_list_free(&again);
		mbox_list_free(&l);
	}
	/* two 40-character UIDs: the second is longer than 40, kept as it is */
	{
		const char *u[] = { u40, u40 };
		size_t dn[] = { 0 };
		char want[64];

		snprintf(want, sizeof(want), "%s-1", u40);
		write_uids("d", u, 2);
		CHECK(scan("d", &l, &cut) == 0 && l.n == 2 && strcmp(l.v[1].uid, want) == 0,
		    "a duplicated 40-character UID: the second is UID-1");
		CHECK(commit_del("d", &l, dn, 1) == 1, "DELE 1 + COMMIT");
		unlinkat(dfd, ".d.idx", 0);
		CHECK(scan("d", &again, &cut) == 0 && again.n == 1 &&
		    strcmp(again.v[0].uid, want) == 0,
		    "the survivor keeps UID-1, not UID");
		mbox_list_free(&again);
		mbox_list_free(&l);
	}
	/* another tool removes the first of two duplicates during the
	 * session; the client marked that one: the second (now plain "U")
	 * is not deleted in its place */
	{
		const char *u[] = { "dup", "dup" };
		size_t dn[] = { 0 };

		write_uids("d", u, 2);
		CHECK(scan("d", &l, &cut) == 0 && l.n == 2, "two duplicates");
		{
			struct mbox_list now;
			int fd;

			/* rewritten in place: the file holds the second only */
			fd = openat(dfd, "d", O_RDWR);
			{
				unsigned char b[4096];
				ssize_t n = pread(fd, b, (size_t)l.v[1].len, (off_t)l.v[1].off);

				if (n != (ssize_t)l.v[1].len || pwrite(fd, b, (size_t)n, 0) != n ||
				    ftruncate(fd, n) != 0)
					exit(1);
			}
			close(fd);
			CHECK(commit_del("d", &l, dn, 1) == 0, "DELE of the first, gone meanwhile: nothing deleted");
			CHECK(scan("d", &now, &cut) == 0 && now.n == 1, "the second is kept");
			mbox_list_free(&now);
		}
		mbox_list_free(&l);
	}
	/* 47 characters: no room for "-N", the fallback is still unique */
	{
		const char *u[] = { u47, u47, u47 };

		write_uids("d", u, 3);
		CHECK(scan("d", &l, &cut) == 0 && l.n == 3 && all_distinct(&l) &&
		    strcmp(l.v[0].uid, u47) == 0 && strlen(l.v[1].uid) <= MBOX_UID_MAX &&
		    strlen(l.v[2].uid) <= MBOX_UID_MAX,
		    "a duplicated 47-character UID gets distinct UIDs that fit (%s %s)",
		    l.n > 1 ? l.v[1].uid : "", l.n > 2 ? l.v[2].uid : "");
		mbox_list_free(&l);
	}
	/* 300 duplicates of a 40-character UID (the store died of this) */
	{
		const char *u[300];
		int fit = 1;

		for (size_t i = 0; i < 300; i++)
			u[i] = u40;
		write_uids("d", u, 300);
		CHECK(scan("d", &l, &cut) == 0 && l.n == 300 && all_distinct(&l),
		    "300 copies of a 40-character UID: 300 distinct UIDs");
		for (size_t i = 0; i < l.n; i++)
			fit &= strlen(l.v[i].uid) <= MBOX_UID_MAX;
		CHECK(fit, "every one at most %d characters", MBOX_UID_MAX);
		/* running it again over its own result changes nothing */
		mbox_list_init(&again);
		for (size_t i = 0; i < l.n; i++)
			mbox_list_push(&again, &l.v[i]);
		mbox_unique_uids(&again);
		fit = again.n == l.n;
		for (size_t i = 0; fit && i < l.n; i++)
			fit = strcmp(again.v[i].uid, l.v[i].uid) == 0;
		CHECK(fit, "mbox_unique_uids is stable over its own result");
		mbox_list_free(&again);
		mbox_list_free(&l);
	}
}

/* Swaps the first two messages of NAME in place (same inode), as a local
 * tool that sorts a mailbox would. */
static void
swap_first_two(const char *name, const struct mbox_list *l)
{
	size_t a = (size_t)l->v[0].len, b = (size_t)l->v[1].len;
	unsigned char *buf = malloc(a + b), *sw = malloc(a + b);
	int fd = openat(dfd, name, O_RDWR);

	if (buf == NULL || sw == NULL || fd == -1 || pread(fd, buf, a + b, 0) != (ssize_t)(a + b))
		exit(1);
	memcpy(sw, buf + a, b);
	memcpy(sw + b, buf, a);
	if (pwrite(fd, sw, a + b, 0) != (ssize_t)(a + b))
		exit(1);
	close(fd);
	free(buf);
	free(sw);
}

/* Appends a record to NAME as a delivery does, without a scan first (the
 * store scans a mailbox once after start, not before every delivery). */
static void
append_noscan(const char *name, const char *msg)
{
	char uid[MBOX_UID_MAX + 1];
	size_t rl;
	uint64_t w;
	unsigned char *rec;
	int fd = openat(dfd, name, O_WRONLY | O_APPEND);

	mbox_new_uid(uid);
	rec = mbox_encode((const unsigned char *)msg, strlen(msg), "s@example.org", uid,
	    0, 0, NULL, 0, time(NULL), &rl, &w);
	if (fd == -1 || rec == NULL || write(fd, rec, rl) != (ssize_t)rl)
		exit(1);
	free(rec);
	close(fd);
}

/* Does message i of l read back as "Subject: <subj>"? */
static int
reads_as(const char *name, const struct mbox_ent *e, const char *subj)
{
	size_t gl = 0;
	unsigned char *g = retr(name, e, LIM_ALL_LINES, &gl);
	char want[64];
	int ok;

	snprintf(want, sizeof(want), "Return-Path: <s@example.org>\nSubject: %s\n", subj);
	ok = g != NULL && gl > strlen(want) && memcmp(g, want, strlen(want)) == 0;
	free(g);
	return ok;
}

static void
test_rewritten(void)
{
	struct mbox_list l, snap;
	uint64_t cut;

	/* between sessions: the index says m1 m2 m3, the file now holds
	 * m2 m1 m3 and has grown since */
	fresh_dir();
	deliver("r", "Subject: m1\r\n\r\nshort\r\n", 22, NULL);
	deliver("r", "Subject: m2\r\n\r\na longer body than m1\r\n", 39, NULL);
	deliver("r", "Subject: m3\r\n\r\nthree\r\n", 22, NULL);
	CHECK(scan("r", &snap, &cut) == 0 && snap.n == 3, "three messages, index written");
	swap_first_two("r", &snap);
	append_noscan("r", "Subject: m4\r\n\r\nfour\r\n");
	CHECK(scan("r", &l, &cut) == 0 && l.n == 4, "four messages after the rewrite and a delivery");
	CHECK(l.n == 4 && reads_as("r", &l.v[0], "m2") && reads_as("r", &l.v[1], "m1") &&
	    reads_as("r", &l.v[2], "m3") && reads_as("r", &l.v[3], "m4"),
	    "the index entries that moved are not trusted: m2 m1 m3 m4");
	CHECK(l.n == 4 && strcmp(l.v[0].uid, snap.v[1].uid) == 0 &&
	    strcmp(l.v[1].uid, snap.v[0].uid) == 0, "each UID goes with its message");
	mbox_list_free(&l);

	/* during a session: the snapshot is older than the file */
	{
		const struct mbox_ent *e;
		struct mailbox mb;
		unsigned char *o = NULL;
		size_t ol = 0;
		uint64_t lens[2];

		CHECK(scan("r", &l, &cut) == 0 && l.n == 4, "snapshot of four");
		swap_first_two("r", &l);
		mb_init(&mb, dfd, "r");
		CHECK(mb_open(&mb, 0, NULL) == 0, "open r");
		e = &l.v[0];
		errno = 0;
		CHECK(mb_read_msgs(mb.fd, &e, 1, LIM_ALL_LINES, &o, &ol, lens) == -1 &&
		    errno == ESTALE, "a message another tool moved is ESTALE, not other bytes");
		e = &l.v[2];
		CHECK(mb_read_msgs(mb.fd, &e, 1, LIM_ALL_LINES, &o, &ol, lens) == 0,
		    "a message still in place reads");
		free(o);
		o = NULL;
		mb_close(&mb);
		/* mail appended after the last one does not disturb it */
		append_noscan("r", "Subject: m5\r\n\r\nfive\r\n");
		CHECK(reads_as("r", &l.v[3], "m4"), "the last message reads after a delivery");
		/* the last message grown in place (a header added): ESTALE */
		{
			int fd = openat(dfd, "r", O_RDWR);
			char pad[8] = "XXXXXXX";
			off_t at = (off_t)(l.v[3].off + l.v[3].skip);
			struct stat st;
			unsigned char *rest;

			fstat(fd, &st);
			rest = malloc((size_t)(st.st_size - at));
			(void)!pread(fd, rest, (size_t)(st.st_size - at), at);
			(void)!pwrite(fd, pad, 7, at);
			(void)!pwrite(fd, rest, (size_t)(st.st_size - at), at + 7);
			close(fd);
			free(rest);
			mb_init(&mb, dfd, "r");
			mb_open(&mb, 0, NULL);
			e = &l.v[3];
			errno = 0;
			CHECK(mb_read_msgs(mb.fd, &e, 1, LIM_ALL_LINES, &o, &ol, lens) == -1 &&
			    errno == ESTALE, "a message that grew in place is ESTALE, not cut short");
			mb_close(&mb);
		}
		mbox_list_free(&l);
	}
	mbox_list_free(&snap);
}

static void
test_index(void)
{
	struct mailbox mb;
	struct mbox_list l;
	struct stat st;
	uint64_t cut;
	int valid;

	fresh_dir();
	for (int i = 0; i < 5; i++)
		deliver("i", "Subject: x\r\n\r\nx\r\n", 18, NULL);
	scan("i", &l, &cut);
	mbox_list_free(&l);
	mb_init(&mb, dfd, "i");
	mb_open(&mb, 0, NULL);
	fstat(mb.fd, &st);
	mbox_list_init(&l);
	mb_index_load(&mb, &st, &l, &valid);
	CHECK(valid == 2 && l.n == 5, "index valid after a scan");
	mb_close(&mb);
	mbox_list_free(&l);

	deliver("i", "Subject: y\r\n\r\ny\r\n", 18, NULL);
	mb_open(&mb, 0, NULL);
	fstat(mb.fd, &st);
	mbox_list_init(&l);
	mb_index_load(&mb, &st, &l, &valid);
	CHECK(valid == 1 && l.n == 5, "grown mailbox: index usable for a tail parse");
	mbox_list_free(&l);
	mb_scan(&mb, &l, 1, &cut, NULL);
	CHECK(l.n == 6, "incremental scan finds the new message");
	mb_close(&mb);
	mbox_list_free(&l);

	/* same size, other mtime: full rebuild */
	{
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000, 0 } };
		utimensat(dfd, "i", ts, 0);
		mb_open(&mb, 0, NULL);
		fstat(mb.fd, &st);
		mbox_list_init(&l);
		mb_index_load(&mb, &st, &l, &valid);
		CHECK(valid == 0, "index refused when the mtime disagrees");
		mbox_list_free(&l);
		mb_scan(&mb, &l, 1, &cut, NULL);
		CHECK(l.n == 6, "rebuilt index has every message");
		mb_close(&mb);
		mbox_list_free(&l);
	}
	/* a garbage index is ignored */
	{
		int fd = openat(dfd, ".i.idx", O_WRONLY | O_TRUNC);
		(void)!write(fd, "PSTNIDX1garbage", 15);
		close(fd);
		CHECK(scan("i", &l, &cut) == 0 && l.n == 6, "garbage index ignored");
		mbox_list_free(&l);
	}
}

/* Writes bytes to NAME (created or emptied). */
static void
put_file(const char *name, const void *p, size_t n)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write(fd, p, n) != (ssize_t)n)
		exit(1);
	close(fd);
}

/* A record as another postern would write it: UIDL uid, IMAP UID imapuid
 * (0 none), flags (MF_*), one keyword when kw is set.  malloc'ed. */
static char *
xrec(const char *uid, uint32_t imapuid, uint32_t flags, const char *kw,
    const char *subj, size_t *len)
{
	char rest[256], line[256], *out;
	uint64_t total;
	struct xp_kw k = { kw, kw ? strlen(kw) : 0 };
	int rl = snprintf(rest, sizeof(rest), "From s@x Mon Jan  1 00:00:00 2024\n"
	    "Subject: %s\n\nbody of %s\n\n", subj, subj);
	int xl = xpostern_format(line, sizeof(line), uid, imapuid, flags, &k,
	    kw ? 1 : 0, (uint64_t)rl, &total, NULL);
	size_t fl = strlen("From s@x Mon Jan  1 00:00:00 2024\n");

	if (rl < 0 || xl < 0 || (out = malloc(total + 1)) == NULL)
		exit(1);
	memcpy(out, rest, fl);
	memcpy(out + fl, line, (size_t)xl);
	memcpy(out + fl + (size_t)xl, rest + fl, (size_t)rl - fl);
	out[total] = '\0';
	*len = (size_t)total;
	return out;
}

/* The mailbox "o": postern messages with and without IMAP fields, two of
 * one UIDL, and foreign ones; returns its UIDLs listed by a parse. */
static void
write_mixed(struct mbox_list *l)
{
	char buf[4096];
	size_t o = 0, n;
	char *r;
	uint64_t cut;

	r = xrec("aaaa", 0, 0, NULL, "old", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	r = xrec("bbbb", 7, MF_SEEN | MF_FLAGGED, "$Work", "imap", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	r = xrec("bbbb", 9, MF_DELETED, NULL, "dup", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	n = (size_t)snprintf(buf + o, sizeof(buf) - o,
	    "From t@y Tue Jan  2 00:00:00 2024\nSubject: foreign\n\nhi\n\n"
	    "From t@y Tue Jan  2 00:00:00 2024\nX-Postern: uid=cccc len=9\nSubject: lies\n\n");
	o += n;
	put_file("o", buf, o);
	unlinkat(dfd, ".o.idx", 0);
	scan("o", l, &cut);
}

/*
 * Index format 3: entries carry the IMAP UID and flags of the X-Postern
 * line.  An index of format 2 (what postern wrote before) is ignored and
 * rebuilt from the file by one parse: every UIDL stays what it was.
 */
static void
test_index_version(void)
{
	struct old_ent {       /* format 2's entry */
		uint64_t off, len, wire, clen;
		uint32_t skip, flags;
		char uid[MBOX_UID_MAX + 1];
		uint64_t head;
	};
	struct {
		char magic[8];
		uint32_t version, entsize;
		uint64_t count, size, mtime_ns, ino;
	} h;
	struct mbox_list l, again;
	struct stat st;
	unsigned char *idx;
	size_t il;
	uint64_t cut;
	int same = 1, fd;

	fresh_dir();
	write_mixed(&l);
	CHECK(l.n == 5, "five messages (%zu)", l.n);
	if (l.n != 5)
		return;
	CHECK(l.v[0].imapuid == 0 && l.v[0].mflags == 0 && (l.v[0].flags & MBE_POSTERN),
	    "an old X-Postern line: no IMAP UID, no flags");
	CHECK(l.v[1].imapuid == 7 && l.v[1].mflags == (MF_SEEN | MF_FLAGGED) &&
	    strcmp(l.v[1].uid, "bbbb") == 0, "IMAP UID 7 and \\Seen \\Flagged read (%u %#x)",
	    l.v[1].imapuid, l.v[1].mflags);
	CHECK(l.v[2].imapuid == 9 && l.v[2].mflags == MF_DELETED &&
	    strcmp(l.v[2].uid, "bbbb-1") == 0, "a duplicate UIDL keeps its IMAP fields");
	CHECK(l.v[3].imapuid == 0 && l.v[3].mflags == 0 && !(l.v[3].flags & MBE_POSTERN),
	    "a foreign message has none");
	CHECK(l.v[4].imapuid == 0 && strcmp(l.v[4].uid, "cccc") == 0,
	    "a wrong declared length: read as foreign, UIDL kept");
	/* format 5: the From_ line's date and the line's keyword count, so
	 * that a SELECT needs only the index */
	CHECK(l.v[0].date == 1704067200 && l.v[3].date == 1704153600 &&
	    l.v[4].date == 1704153600, "the From_ lines' dates (%llu %llu)",
	    (unsigned long long)l.v[0].date, (unsigned long long)l.v[3].date);
	CHECK(l.v[0].nkw == 0 && l.v[1].nkw == 1 && l.v[2].nkw == 0 && l.v[3].nkw == 0 &&
	    l.v[4].nkw == 0, "one keyword on the second line only");
	{
		struct mbox_list k;
		uint64_t c2;

		mbox_list_init(&k);
		scan("o", &k, &c2);    /* from the index this time */
		CHECK(k.n == 5 && k.v[1].nkw == 1 && k.v[1].date == 1704067200 &&
		    k.v[3].date == 1704153600, "and the index keeps them");
		mbox_list_free(&k);
	}
	CHECK(mbox_from_date("From a@b Thu Feb 29 23:59:60 2024 +0000", 39) == 1709251200 &&
	    mbox_from_date("From a b c Sun Dec  1 12:00:00 2030", 35) != 0 &&
	    mbox_from_date("From a@b Thu Feb 29 23:59:60", 28) == 0 &&
	    mbox_from_date("From a@b Xyz Feb 29 23:59:00 2024", 33) == 0,
	    "dates: a zone after, spaces in the sender, none, a bad day name");

	/* format 2's index of this very file, as the old store left it,
	 * but with other UIDLs: used, it would list those */
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, "PSTNIDX1", 8);
	h.version = 2;
	h.entsize = sizeof(struct old_ent);
	h.count = l.n;
	fstatat(dfd, "o", &st, 0);
	h.size = (uint64_t)st.st_size;
	h.mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	h.ino = (uint64_t)st.st_ino;
	il = sizeof(h) + l.n * sizeof(struct old_ent);
	idx = calloc(1, il);
	memcpy(idx, &h, sizeof(h));
	for (size_t i = 0; i < l.n; i++) {
		struct old_ent oe;

		memset(&oe, 0, sizeof(oe));
		oe.off = l.v[i].off;
		oe.len = l.v[i].len;
		oe.wire = l.v[i].wire;
		oe.clen = l.v[i].clen;
		oe.skip = l.v[i].skip;
		oe.flags = l.v[i].flags;
		memcpy(oe.uid, l.v[i].uid, sizeof(oe.uid));
		oe.uid[0] = oe.uid[0] == 'z' ? 'y' : 'z';
		oe.head = l.v[i].head;
		memcpy(idx + sizeof(h) + i * sizeof(oe), &oe, sizeof(oe));
	}
	put_file(".o.idx", idx, il);
	CHECK(scan("o", &again, &cut) == 0 && again.n == l.n, "an old index: scanned");
	for (size_t i = 0; i < l.n && i < again.n; i++)
		same &= strcmp(l.v[i].uid, again.v[i].uid) == 0 &&
		    l.v[i].imapuid == again.v[i].imapuid && l.v[i].mflags == again.v[i].mflags;
	CHECK(same, "the old index is ignored: every UIDL and IMAP UID from the file");
	mbox_list_free(&again);

	/* the same bytes but the header of format 2 and the entry size of
	 * format 3: still ignored */
	h.entsize = sizeof(struct mbox_ent);
	il = sizeof(h) + l.n * sizeof(struct mbox_ent);
	free(idx);
	idx = calloc(1, il);
	memcpy(idx, &h, sizeof(h));
	for (size_t i = 0; i < l.n; i++) {
		struct mbox_ent e = l.v[i];

		e.uid[0] = e.uid[0] == 'z' ? 'y' : 'z';   /* another UIDL, same length */
		memcpy(idx + sizeof(h) + i * sizeof(e), &e, sizeof(e));
	}
	put_file(".o.idx", idx, il);
	CHECK(scan("o", &again, &cut) == 0 && again.n == l.n &&
	    strcmp(again.v[0].uid, "aaaa") == 0 && strcmp(again.v[3].uid, l.v[3].uid) == 0,
	    "format 2 with entries of the new size: ignored too");
	mbox_list_free(&again);
	free(idx);

	/* the rebuilt index is of the new format and is used as it is */
	fd = openat(dfd, ".o.idx", O_RDONLY);
	CHECK(fd != -1 && read(fd, &h, sizeof(h)) == (ssize_t)sizeof(h) && h.version == 5 &&
	    h.entsize == sizeof(struct mbox_ent), "the index is rewritten in the current format (5)");
	if (fd != -1)
		close(fd);
	{
		struct mailbox mb;
		int valid = 0;

		mb_init(&mb, dfd, "o");
		mb_open(&mb, 0, NULL);
		fstat(mb.fd, &st);
		mbox_list_init(&again);
		mb_index_load(&mb, &st, &again, &valid);
		CHECK(valid == 2 && again.n == 5 && again.v[1].imapuid == 7 &&
		    again.v[1].mflags == (MF_SEEN | MF_FLAGGED), "the new index keeps IMAP UID and flags");
		mb_close(&mb);
		mbox_list_free(&again);
	}
	mbox_list_free(&l);
}

/*
 * A POP3 session's snapshot outlives a rewrite of every X-Postern line
 * (what an IMAP expunge, a flag fold or a UID assignment writes): the
 * session's COMMIT deletes exactly the messages it marked, by UIDL and
 * head hash, and its RETR through the descriptor it kept still reads the
 * others.
 */
static void
test_identity_across_line_rewrite(void)
{
	struct mbox_list snap, after, fin;
	struct mailbox old;
	uint64_t cut;
	size_t dn[2] = { 0, 3 }, o = 0;
	unsigned char *nb = malloc(8192), *m;
	int same = 1, fd, reads = 1, deleted;

	fresh_dir();
	write_mixed(&snap);
	CHECK(snap.n == 5, "the snapshot: five messages");
	if (snap.n != 5 || nb == NULL)
		return;
	mb_init(&old, dfd, "o");
	CHECK(mb_open(&old, 0, NULL) == 0, "the session keeps the file open");
	/* another writer gives every message an IMAP UID, flags and a
	 * keyword, and a line to those without one, then renames over */
	m = malloc(8192);
	fd = openat(dfd, "o", O_RDONLY);
	if (m == NULL || fd == -1 || read(fd, m, 8192) <= 0)
		exit(1);
	close(fd);
	for (size_t i = 0; i < snap.n; i++) {
		const struct mbox_ent *e = &snap.v[i];
		const unsigned char *p = m + e->off;
		size_t fl = (size_t)((const unsigned char *)memchr(p, '\n', e->skip) - p) + 1;
		char line[256];
		uint64_t total;
		struct xp_kw kw = { "$Seen2", 6 };
		int xl = xpostern_format(line, sizeof(line), e->uid, (uint32_t)(100 + i),
		    MF_SEEN | MF_ANSWERED, &kw, 1, fl + (e->len - e->skip), &total, NULL);

		if (xl < 0)
			exit(1);
		memcpy(nb + o, p, fl);
		memcpy(nb + o + fl, line, (size_t)xl);
		memcpy(nb + o + fl + (size_t)xl, p + e->skip, (size_t)(e->len - e->skip));
		o += (size_t)total;
	}
	put_file(".o.new", nb, o);
	renameat(dfd, ".o.new", dfd, "o");
	CHECK(scan("o", &after, &cut) == 0 && after.n == 5, "the rewritten file: five messages");
	for (size_t i = 0; i < after.n && i < 5; i++)
		same &= strcmp(after.v[i].uid, snap.v[i].uid) == 0 &&
		    after.v[i].head == snap.v[i].head && after.v[i].imapuid == 100 + i &&
		    after.v[i].mflags == (MF_SEEN | MF_ANSWERED);
	CHECK(same, "every UIDL and head hash as before the rewrite, the new IMAP fields read");
	deleted = commit_del("o", &snap, dn, 2);
	CHECK(deleted == 2, "the snapshot's COMMIT deletes the two marked (%d)", deleted);
	CHECK(scan("o", &fin, &cut) == 0 && fin.n == 3 &&
	    strcmp(fin.v[0].uid, snap.v[1].uid) == 0 && strcmp(fin.v[1].uid, snap.v[2].uid) == 0 &&
	    strcmp(fin.v[2].uid, snap.v[4].uid) == 0 && fin.v[0].imapuid == 101 &&
	    fin.v[2].imapuid == 104, "exactly the unmarked stay, with their IMAP UIDs");
	for (size_t i = 1; i < 5; i++) {
		const struct mbox_ent *e = &snap.v[i];
		unsigned char *g = NULL;
		size_t gl = 0;
		uint64_t lens[1];
		char want[64];

		if (i == 3)
			continue;
		snprintf(want, sizeof(want), "Subject: %s\n", i == 1 ? "imap" : i == 2 ? "dup" : "lies");
		if (mb_read_msgs(old.fd, &e, 1, LIM_ALL_LINES, &g, &gl, lens) != 0 ||
		    gl < strlen(want) || memcmp(g, want, strlen(want)) != 0)
			reads = 0;
		free(g);
	}
	CHECK(reads, "RETR of the snapshot's other messages still reads them");
	mb_close(&old);
	free(m);
	free(nb);
	mbox_list_free(&snap);
	mbox_list_free(&after);
	mbox_list_free(&fin);
}

/* ---- mb_assign_uids ---- */

static int renumber_calls;
static ino_t renumber_saw;

/* The caller's "save a new UIDVALIDITY": sees the file still untouched. */
static int
renumber_cb(void *arg, const char **why)
{
	struct stat st;

	renumber_calls++;
	if (fstatat(dfd, (const char *)arg, &st, 0) == 0)
		renumber_saw = st.st_ino;
	return 0;
}

static int
renumber_fails(void *arg, const char **why)
{
	*why = "the folder table cannot be saved";
	return -1;
}

/* mb_assign_uids on NAME: 0 / -1; *next, *renum. */
static int
assign(const char *name, uint32_t floor, uint32_t start, int (*cb)(void *, const char **),
    uint32_t *next, int *renum, const char **why)
{
	struct mailbox mb;
	int r;

	mb_init(&mb, dfd, name);
	if (mb_open(&mb, 0, why) != 0 || mb_lock(&mb, 1000, why) != 0)
		return -1;
	r = mb_assign_uids(&mb, floor, start, cb, (void *)(uintptr_t)name, next, renum, why);
	mb_close(&mb);
	return r;
}

/* Does l list the same messages as ref (UIDL and wire octets, the POP3
 * listing) with IMAP UIDs from first up, one by one? */
static int
same_listing_uids(const struct mbox_list *ref, const struct mbox_list *l, uint32_t first)
{
	if (ref->n != l->n)
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(ref->v[i].uid, l->v[i].uid) != 0 || ref->v[i].wire != l->v[i].wire ||
		    ref->v[i].head != l->v[i].head || l->v[i].imapuid != first + i)
			return 0;
	return 1;
}

static void
file_state(const char *name, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	fstatat(dfd, name, st, 0);
}

static unsigned char *
slurp(const char *name, size_t *n)
{
	unsigned char *b = malloc(1 << 16);
	int fd = openat(dfd, name, O_RDONLY);
	ssize_t r = fd == -1 ? -1 : read(fd, b, 1 << 16);

	if (fd != -1)
		close(fd);
	*n = r > 0 ? (size_t)r : 0;
	return b;
}

static void
test_assign_foreign(void)
{
	/* another tool's mbox: two identical messages, one without a final
	 * line end on the last line, a quoted From */
	const char *f =
	    "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n>From me\n\n"
	    "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n>From me\n\n"
	    "From b@x Tue Jan  2 00:00:00 2024\nSubject: two\n\n2\n\n"
	    "From c@x Wed Jan  3 00:00:00 2024\nX-Postern: not ours\nSubject: three\n\n3";
	struct mbox_list before, after, again;
	struct stat s1, s2;
	uint32_t next = 0;
	int renum = 9, ok = 1;
	const char *why = "";
	uint64_t cut;

	fresh_dir();
	put_file("f", f, strlen(f));
	scan("f", &before, &cut);
	CHECK(before.n == 4 && before.v[0].imapuid == 0, "a foreign mbox: four messages, no IMAP UID");
	CHECK(assign("f", 1, 1, renumber_cb, &next, &renum, &why) == 0 && next == 5 && renum == 0,
	    "UIDs given: UIDNEXT 5, no renumbering (%u %d %s)", next, renum, why);
	unlinkat(dfd, ".f.idx", 0);
	CHECK(scan("f", &after, &cut) == 0 && same_listing_uids(&before, &after, 1),
	    "UIDs 1..4 in the file, every UIDL, size and head as before");
	for (size_t i = 0; i < after.n; i++)
		ok &= (after.v[i].flags & MBE_POSTERN) != 0;
	CHECK(ok, "every message now has its X-Postern line");
	{
		size_t gl = 0;
		unsigned char *g = after.n == 4 ? retr("f", &after.v[3], LIM_ALL_LINES, &gl) : NULL;

		CHECK(g && gl == strlen("X-Postern: not ours\nSubject: three\n\n3\n") &&
		    memcmp(g, "X-Postern: not ours\nSubject: three\n\n3\n", gl) == 0,
		    "a message's own X-Postern-like header stays its text");
		free(g);
	}
	file_state("f", &s1);
	CHECK(assign("f", 1, 1, renumber_cb, &next, &renum, &why) == 0 && next == 5 && renum == 0,
	    "a second call: UIDNEXT 5");
	file_state("f", &s2);
	CHECK(s1.st_ino == s2.st_ino && s1.st_mtim.tv_nsec == s2.st_mtim.tv_nsec &&
	    s1.st_size == s2.st_size, "and writes nothing");
	CHECK(assign("f", 9, 1, NULL, &next, &renum, &why) == 0 && next == 9,
	    "a higher floor is the UIDNEXT (%u)", next);
	/* a delivery afterwards, with that UIDNEXT */
	{
		char uid[MBOX_UID_MAX + 1];
		size_t rl;
		uint64_t w;
		unsigned char *rec;
		struct mailbox mb;

		assign("f", 1, 1, NULL, &next, &renum, &why);
		mbox_new_uid(uid);
		rec = mbox_encode((const unsigned char *)"S: 5\r\n\r\n5\r\n", 11, "s@x", uid, next, 0, NULL, 0,
		    0, &rl, &w);
		/* as a delivery appends: a line end first where the file lacks one */
		mb_init(&mb, dfd, "f");
		if (rec == NULL || mb_open(&mb, 0, NULL) != 0 || mb_lock(&mb, 1000, NULL) != 0 ||
		    mb_append(&mb, rec, rl) != 0)
			exit(1);
		mb_close(&mb);
		free(rec);
		CHECK(scan("f", &again, &cut) == 0 && again.n == 5 && again.v[4].imapuid == 5 &&
		    assign("f", 1, 1, NULL, &next, &renum, &why) == 0 && next == 6,
		    "a delivery after them gets 5; UIDNEXT 6");
		mbox_list_free(&again);
	}
	CHECK(renumber_calls == 0, "no renumbering was asked");
	mbox_list_free(&before);
	mbox_list_free(&after);
}

static void
test_assign_old_postern(void)
{
	static const char *const uids[] = { "u1", "u2", "u2", "u3", "u4" };
	struct mbox_list before, after;
	uint32_t next = 0;
	int renum = 9;
	const char *why = "";
	uint64_t cut;

	fresh_dir();
	write_uids("d", uids, 5);
	scan("d", &before, &cut);
	CHECK(before.n == 5 && strcmp(before.v[2].uid, "u2-1") == 0,
	    "an old postern mbox, a duplicate UIDL listed as u2-1");
	CHECK(assign("d", 1, 1, NULL, &next, &renum, &why) == 0 && next == 6 && !renum,
	    "UIDs 1..5 given (%s)", why);
	unlinkat(dfd, ".d.idx", 0);
	CHECK(scan("d", &after, &cut) == 0 && same_listing_uids(&before, &after, 1),
	    "the POP3 listing unchanged, UIDs 1..5");
	mbox_list_free(&after);
	/* part of it with UIDs, the rest without: only the rest gets some */
	{
		size_t n;
		unsigned char *b = slurp("d", &n);
		char uid[MBOX_UID_MAX + 1];
		size_t rl;
		uint64_t w;
		unsigned char *rec;
		int fd = openat(dfd, "d", O_WRONLY | O_APPEND);

		mbox_new_uid(uid);
		rec = mbox_encode((const unsigned char *)"S: 6\r\n\r\n6\r\n", 11, "s@x", uid, 0, 0, NULL, 0,
		    0, &rl, &w);
		if (fd == -1 || rec == NULL || write(fd, rec, rl) != (ssize_t)rl)
			exit(1);
		close(fd);
		free(rec);
		free(b);
		CHECK(assign("d", 40, 1, NULL, &next, &renum, &why) == 0 && next == 41 && !renum,
		    "one new message after 1..5 with the floor 40: it gets 40 (%u)", next);
		CHECK(scan("d", &after, &cut) == 0 && after.n == 6 && after.v[4].imapuid == 5 &&
		    after.v[5].imapuid == 40, "1..5 kept, the new one 40");
		mbox_list_free(&after);
	}
	mbox_list_free(&before);
}

/* UIDs another tool left out of order: every message renumbered, after
 * the caller saved a new UIDVALIDITY. */
static void
test_assign_renumber(void)
{
	struct mbox_list before, after;
	struct stat s0, s1;
	uint32_t next = 0;
	int renum = 0;
	const char *why = "";
	uint64_t cut;
	char *r;
	size_t n, o = 0;
	char buf[2048];

	fresh_dir();
	r = xrec("aaaa", 7, MF_SEEN, "$Done", "a", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	r = xrec("bbbb", 5, 0, NULL, "b", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	r = xrec("cccc", 0, 0, NULL, "c", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	put_file("r", buf, o);
	scan("r", &before, &cut);
	CHECK(assign("r", 8, 1, renumber_fails, &next, &renum, &why) == -1 &&
	    strstr(why, "cannot be saved") != NULL, "a failed UIDVALIDITY save: -1 (%s)", why);
	file_state("r", &s0);
	CHECK(s0.st_size == (off_t)o, "and nothing written");
	renumber_calls = 0;
	CHECK(assign("r", 8, 1, renumber_cb, &next, &renum, &why) == 0 && renum == 1 && next == 4,
	    "UIDs 7 5 -: renumbered from 1, UIDNEXT 4 (%d %u)", renum, next);
	CHECK(renumber_calls == 1 && renumber_saw == s0.st_ino,
	    "the new UIDVALIDITY was asked for once, before the rewrite");
	file_state("r", &s1);
	unlinkat(dfd, ".r.idx", 0);
	CHECK(s1.st_ino != s0.st_ino && scan("r", &after, &cut) == 0 &&
	    same_listing_uids(&before, &after, 1), "1 2 3, UIDLs unchanged");
	CHECK(after.n == 3 && after.v[0].mflags == MF_SEEN, "flags kept");
	{
		size_t bn;
		unsigned char *b = slurp("r", &bn);

		CHECK(bn > 0 && memmem(b, bn, " imapuid=1 flags=S kw=($Done)\n", 30) != NULL,
		    "keywords kept in the line");
		free(b);
	}
	mbox_list_free(&after);
	/* repeated UIDs are out of order too; renumbered from the given start */
	fresh_dir();
	o = 0;
	r = xrec("aaaa", 3, 0, NULL, "a", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	r = xrec("bbbb", 3, 0, NULL, "b", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	put_file("r", buf, o);
	CHECK(assign("r", 1, 1, NULL, &next, &renum, &why) == 0 && renum == 1 && next == 3,
	    "a repeated UID: renumbered");
	/* a gap in the middle (a UID after one without) is out of order */
	fresh_dir();
	o = 0;
	r = xrec("aaaa", 0, 0, NULL, "a", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	r = xrec("bbbb", 9, 0, NULL, "b", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	put_file("r", buf, o);
	CHECK(assign("r", 1, 1, NULL, &next, &renum, &why) == 0 && renum == 1 && next == 3,
	    "a UID after a message without one: renumbered");
	/* UIDs that would pass 2^32: renumbered */
	fresh_dir();
	o = 0;
	r = xrec("aaaa", 4294967295u, 0, NULL, "a", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	r = xrec("bbbb", 0, 0, NULL, "b", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	put_file("r", buf, o);
	CHECK(assign("r", 1, 1, NULL, &next, &renum, &why) == 0 && renum == 1 && next == 3,
	    "no UID left after 4294967295: renumbered");
	mbox_list_free(&before);
}

/* A crash between writing the temporary file and the rename leaves the
 * old file whole; so does a failed rename. */
static void
test_assign_crash(void)
{
	static const char *const uids[] = { "u1", "u2", "u3" };
	unsigned char *b0, *b1;
	size_t n0, n1;
	uint32_t next = 0;
	int renum = 0, status = 0;
	const char *why = "";
	struct mbox_list l;
	uint64_t cut;
	pid_t pid;

	fresh_dir();
	write_uids("d", uids, 3);
	b0 = slurp("d", &n0);
	rename_mode = 1;
	CHECK(assign("d", 1, 1, NULL, &next, &renum, &why) == -1 && strstr(why, "rename"),
	    "a failed rename: -1 (%s)", why);
	rename_mode = 0;
	b1 = slurp("d", &n1);
	CHECK(n1 == n0 && memcmp(b0, b1, n0) == 0, "the old file whole");
	CHECK(faccessat(dfd, ".d.tmp", F_OK, 0) == -1, "no temporary file left");
	free(b1);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		rename_mode = 2;
		assign("d", 1, 1, NULL, &next, &renum, &why);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42, "the store died before the rename");
	b1 = slurp("d", &n1);
	CHECK(n1 == n0 && memcmp(b0, b1, n0) == 0, "the old file whole after the crash");
	free(b1);
	CHECK(faccessat(dfd, "d.lock", F_OK, 0) == 0, "(its dotlock left behind)");
	CHECK(assign("d", 1, 1, NULL, &next, &renum, &why) == 0 && next == 4,
	    "the next call takes the lock and assigns 1..3 (%s)", why);
	CHECK(faccessat(dfd, ".d.tmp", F_OK, 0) == -1, "the dead rewrite's temporary file gone");
	unlinkat(dfd, ".d.idx", 0);
	CHECK(scan("d", &l, &cut) == 0 && l.n == 3 && l.v[2].imapuid == 3 &&
	    strcmp(l.v[2].uid, "u3") == 0, "UIDs in the file");
	mbox_list_free(&l);
	free(b0);
}

/* A POP3 snapshot across a UID assignment: its COMMIT deletes by identity. */
static void
test_assign_pop3_snapshot(void)
{
	struct mbox_list snap, fin;
	uint32_t next = 0;
	int renum = 0;
	const char *why = "";
	uint64_t cut;
	size_t dn[1] = { 1 };

	fresh_dir();
	write_mixed(&snap);
	CHECK(assign("o", 1, 1, NULL, &next, &renum, &why) == 0 && renum == 1,
	    "the mixed mailbox (7 9 - - -) renumbered 1..5");
	CHECK(commit_del("o", &snap, dn, 1) == 1, "the older snapshot's COMMIT deletes its mark");
	CHECK(scan("o", &fin, &cut) == 0 && fin.n == 4 && strcmp(fin.v[0].uid, snap.v[0].uid) == 0 &&
	    strcmp(fin.v[1].uid, snap.v[2].uid) == 0 && fin.v[1].imapuid == 3,
	    "exactly that one gone, the others with their new UIDs");
	mbox_list_free(&snap);
	mbox_list_free(&fin);
}

/* The index is a valid prefix when the file only grew; a message whose
 * X-Postern line another tool changed in place (same length) is not taken
 * from it: the head hash leaves that line out, so the line is checked. */
static void
test_index_line_changed(void)
{
	struct mbox_list l;
	uint64_t cut;
	char *r;
	size_t n, o = 0, bn;
	char buf[2048];
	unsigned char *b, *at;
	int fd;

	fresh_dir();
	r = xrec("aaaa", 10, 0, NULL, "a", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	r = xrec("bbbb", 11, 0, NULL, "b", &n);
	memcpy(buf + o, r, n), o += n, free(r);
	put_file("e", buf, o);
	CHECK(scan("e", &l, &cut) == 0 && l.n == 2 && l.v[0].imapuid == 10, "indexed: 10 11");
	mbox_list_free(&l);
	b = slurp("e", &bn);
	at = memmem(b, bn, "imapuid=10", 10);
	if (at == NULL)
		exit(1);
	/* in place (the same inode), and a message appended: the index is
	 * a valid prefix of the file */
	fd = openat(dfd, "e", O_WRONLY);
	r = xrec("cccc", 0, 0, NULL, "c", &n);
	if (fd == -1 || pwrite(fd, "2", 1, (off_t)(at + 9 - b)) != 1 ||
	    pwrite(fd, r, n, (off_t)bn) != (ssize_t)n)
		exit(1);
	close(fd);
	free(b);
	free(r);
	CHECK(scan("e", &l, &cut) == 0 && l.n == 3 && l.v[0].imapuid == 12 &&
	    l.v[1].imapuid == 11 && l.v[2].imapuid == 0, "the changed line is read: %u",
	    l.n ? l.v[0].imapuid : 0);
	mbox_list_free(&l);
}

static void
test_commit(void)
{
	struct mbox_list l, after;
	struct mailbox mb;
	uint64_t cut;
	struct mbox_ent del[2];
	uint32_t deleted = 0;
	char uid3[MBOX_UID_MAX + 1];

	fresh_dir();
	deliver("c", "Subject: 1\r\n\r\n1\r\n", 17, NULL);
	deliver("c", "Subject: 2\r\n\r\n2\r\n", 17, NULL);
	scan("c", &l, &cut);   /* the snapshot */
	deliver("c", "Subject: 3\r\n\r\n3\r\n", 17, uid3);   /* arrives meanwhile */
	del[0] = l.v[0];
	mb_init(&mb, dfd, "c");
	mb_open(&mb, 0, NULL);
	mb_lock(&mb, 1000, NULL);
	CHECK(mb_rewrite(&mb, del, 1, &deleted, NULL) == 0 && deleted == 1, "commit deletes one");
	mb_close(&mb);
	scan("c", &after, &cut);
	CHECK(after.n == 2 && strcmp(after.v[0].uid, l.v[1].uid) == 0 &&
	    strcmp(after.v[1].uid, uid3) == 0, "the kept and the newly arrived remain, UIDs kept");
	CHECK(faccessat(dfd, ".c.tmp", F_OK, 0) == -1, "no temporary file left");
	mbox_list_free(&l);
	mbox_list_free(&after);
}

/* COMMIT when the spool directory cannot be fsync'ed (a descriptor opened
 * O_PATH: fsync fails with EBADF, the rest works): -1, the old file kept. */
static void
test_commit_dirsync_fails(void)
{
	struct mbox_list l, after;
	struct mailbox mb;
	uint64_t cut;
	struct mbox_ent del[1];
	uint32_t deleted = 9;
	const char *why = "(none)";
	off_t before;
	int pfd;

	fresh_dir();
	deliver("c", "Subject: 1\r\n\r\n1\r\n", 17, NULL);
	deliver("c", "Subject: 2\r\n\r\n2\r\n", 17, NULL);
	scan("c", &l, &cut);
	before = fsize("c");
	del[0] = l.v[0];
	pfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	mb_init(&mb, pfd, "c");
	CHECK(mb_open(&mb, 0, NULL) == 0 && mb_lock(&mb, 1000, NULL) == 0, "open and lock through an O_PATH directory");
	CHECK(mb_rewrite(&mb, del, 1, &deleted, &why) == -1 && strstr(why, "fsync spool directory"),
	    "a failed directory fsync fails the COMMIT: %s", why);
	mb_close(&mb);
	close(pfd);
	CHECK(fsize("c") == before, "the old mailbox keeps its name and size");
	unlinkat(dfd, ".c.idx", 0);
	CHECK(scan("c", &after, &cut) == 0 && after.n == 2 &&
	    strcmp(after.v[0].uid, l.v[0].uid) == 0, "both messages still there");
	CHECK(faccessat(dfd, ".c.tmp", F_OK, 0) == -1, "no temporary file left");
	mbox_list_free(&l);
	mbox_list_free(&after);
}

static void
test_refused(void)
{
	struct mailbox mb;
	const char *why;

	fresh_dir();
	deliver("real", "Subject: r\r\n\r\nr\r\n", 17, NULL);
	CHECK(symlinkat("real", dfd, "sym") == 0, "make a symlink mailbox");
	CHECK(linkat(dfd, "real", dfd, "hard", 0) == 0, "make a hardlinked mailbox");
	CHECK(mkfifoat(dfd, "fifo", 0600) == 0, "make a FIFO mailbox");
	mb_init(&mb, dfd, "sym");
	why = "(none)";
	CHECK(mb_open(&mb, 1, &why) == -1 && strstr(why, "symbolic link"), "symlink refused: %s", why);
	mb_init(&mb, dfd, "hard");
	why = "(none)";
	CHECK(mb_open(&mb, 1, &why) == -1 && strstr(why, "link"), "hardlink refused: %s", why);
	mb_init(&mb, dfd, "fifo");
	why = "(none)";
	CHECK(mb_open(&mb, 1, &why) == -1 && strstr(why, "regular"), "FIFO refused without blocking: %s", why);
	mb_init(&mb, dfd, ".hidden");
	CHECK(mb_open(&mb, 1, NULL) == -1, "name with a leading dot refused (why may be NULL)");
	why = "(none)";
	CHECK(mb_open(&mb, 1, &why) == -1 && strcmp(why, "invalid mailbox name") == 0,
	    "and says why: %s", why);
	deliver("plain", "Subject: p\r\n\r\np\r\n", 17, NULL);
	mb_init(&mb, dfd, "plain");
	why = "untouched";
	CHECK(mb_open(&mb, 0, &why) == 0 && strcmp(why, "untouched") == 0,
	    "a good open leaves *why alone");
	mb_close(&mb);
	mb_init(&mb, dfd, "x.lock");
	CHECK(mb_open(&mb, 1, NULL) == -1, "name ending in .lock refused");
}

static void
test_big(void)
{
	struct mbox_list l;
	uint64_t cut;
	struct timespec t0, t1, t2;
	const size_t N = 100000;
	char uid[MBOX_UID_MAX + 1];
	FILE *f;
	char path[300];

	fresh_dir();
	snprintf(path, sizeof(path), "%s/big", dir);
	f = fopen(path, "w");
	for (size_t i = 0; i < N; i++) {
		char msg[64];
		size_t rl;
		uint64_t w;
		unsigned char *rec;
		int n = snprintf(msg, sizeof(msg), "Subject: %zu\r\n\r\nbody %zu\r\n", i, i);

		mbox_new_uid(uid);
		rec = mbox_encode((unsigned char *)msg, (size_t)n, "s@x", uid, 0, 0, NULL, 0, 0, &rl, &w);
		fwrite(rec, 1, rl, f);
		free(rec);
	}
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(scan("big", &l, &cut) == 0 && l.n == N, "100000 messages parsed");
	mbox_list_free(&l);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(scan("big", &l, &cut) == 0 && l.n == N, "100000 messages listed via the index");
	clock_gettime(CLOCK_MONOTONIC, &t2);
	printf("# full parse %.1f ms, index load %.1f ms\n",
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	    (double)(t2.tv_sec - t1.tv_sec) * 1e3 + (double)(t2.tv_nsec - t1.tv_nsec) / 1e6);
	mbox_list_free(&l);
	/* grown since the index: every entry checked, the new tail parsed */
	append_noscan("big", "Subject: new\r\n\r\nnew\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(scan("big", &l, &cut) == 0 && l.n == N + 1, "grown by one: index checked, tail parsed");
	clock_gettime(CLOCK_MONOTONIC, &t2);
	printf("# index check of 100000 entries + tail %.1f ms\n",
	    (double)(t2.tv_sec - t1.tv_sec) * 1e3 + (double)(t2.tv_nsec - t1.tv_nsec) / 1e6);
	mbox_list_free(&l);
}

int
main(void)
{
	test_roundtrip();
	test_torn();
	test_uids();
	test_dup_uids();
	test_rewritten();
	test_index();
	test_index_version();
	test_identity_across_line_rewrite();
	test_assign_foreign();
	test_assign_old_postern();
	test_assign_renumber();
	test_assign_crash();
	test_assign_pop3_snapshot();
	test_index_line_changed();
	test_commit();
	test_commit_dirsync_fails();
	test_refused();
	test_big();
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return check_done();
}
