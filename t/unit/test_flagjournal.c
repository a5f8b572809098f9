/* The flag journal (store/flagjournal.c). */
#include <sys/stat.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "privsep/params.h"
#include "store/flagjournal.h"

static char dir[64];
static int dfd = -1;

static void
fresh_dir(void)
{
	char cmd[128];

	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			exit(1);
		close(dfd);
	}
	snprintf(dir, sizeof(dir), "/tmp/test_flagjournal.XXXXXX");
	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		exit(1);
}

static int
open_file(const char *name)
{
	int fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd == -1)
		exit(1);
	return fd;
}

/* The whole file. */
static unsigned char *
slurp(const char *name, size_t *n)
{
	int fd = openat(dfd, name, O_RDONLY);
	struct stat sb;
	unsigned char *p;

	if (fd == -1 || fstat(fd, &sb) == -1)
		exit(1);
	p = malloc((size_t)sb.st_size + 1);
	if (p == NULL || read(fd, p, (size_t)sb.st_size) != sb.st_size)
		exit(1);
	close(fd);
	*n = (size_t)sb.st_size;
	return p;
}

static void
put_file(const char *name, const unsigned char *p, size_t n)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		exit(1);
	close(fd);
}

/* ---- a folder of messages, and the model the journal must match ---- */

#define NMSG 50

static struct fj_msg msgs[NMSG];
static struct fj_msgs view = { msgs, NMSG, 0 };

static void
view_reset(struct fj_msg *v, size_t n)
{
	memset(v, 0, n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i].uid = (uint32_t)(i * 2 + 1);    /* odd UIDs: gaps, as after expunges */
}

/* The changes the tests write: change k, and the model's state after the
 * first k of them. */
static uint16_t kidx[4][2] = { { 0, 2 }, { 1, 0 }, { 2, 0 }, { 0, 1 } };

static struct fj_change
change(size_t k)
{
	struct fj_change c;

	memset(&c, 0, sizeof(c));
	c.uid = (uint32_t)((k * 7 % NMSG) * 2 + 1);
	c.set = (uint8_t)((k % 5 == 0) ? MF_SEEN : (1u << (k % 5)));
	c.clr = (uint8_t)(k % 3 == 0 ? (MF_DRAFT & ~c.set) : 0);
	switch (k % 4) {
	case 0:
		c.kset = kidx[0];
		c.nkset = 2;    /* 0 and 2 */
		break;
	case 1:
		c.kclr = kidx[1];
		c.nkclr = 1;    /* 1 */
		break;
	case 2:
		c.kset = kidx[2];
		c.nkset = 1;    /* 2 */
		c.kclr = kidx[3];
		c.nkclr = 1;    /* 0 */
		break;
	default:
		break;
	}
	return c;
}

static void
model(struct fj_msg *v, size_t k)
{
	struct fj_msgs m = { v, NMSG, 0 };

	view_reset(v, NMSG);
	for (size_t i = 0; i < k; i++) {
		struct fj_change c = change(i);

		fj_apply_msgs(&m, &c);
	}
}

static int
view_is(size_t k)
{
	static struct fj_msg want[NMSG];

	model(want, k);
	return memcmp(want, msgs, sizeof(want)) == 0;
}

/* A journal "j" with three keywords and n changes; the offsets where each
 * record starts (recoff[n] the end). */
static uint64_t recoff[200];

static void
write_journal(uint32_t uv, size_t n)
{
	struct fj_journal j;
	struct fj_replay r;
	struct fj_batch b;
	int fd;

	unlinkat(dfd, "j", 0);
	fd = open_file("j");
	if (fj_open(&j, fd, uv, 64, NULL, NULL, &r, NULL) == -1 ||
	    fj_keyword_add(&j, "$Forwarded", 10, NULL) != 0 ||
	    fj_keyword_add(&j, "Junk", 4, NULL) != 1 ||
	    fj_keyword_add(&j, "todo", 4, NULL) != 2)
		exit(1);
	fj_batch_init(&b);
	for (size_t k = 0; k < n; k++) {
		struct fj_change c = change(k);

		recoff[k] = j.end + b.n;
		if (fj_batch_add(&b, &j, &c, NULL) == -1)
			exit(1);
	}
	recoff[n] = j.end + b.n;
	if (fj_append(&j, &b, NULL) == -1)
		exit(1);
	fj_batch_free(&b);
	close(j.fd);
}

static void
test_roundtrip(void)
{
	struct fj_journal j;
	struct fj_replay r;
	int fd;

	fresh_dir();
	fd = open_file("j");
	CHECK(fj_open(&j, fd, 77, 64, NULL, NULL, &r, NULL) == 0 && r.st == FJ_NOHEADER &&
	    j.end == FJ_HEADER_BYTES, "a new journal gets a header");
	close(fd);
	write_journal(77, 100);
	view_reset(msgs, NMSG);
	view.unknown = 0;
	fd = open_file("j");
	CHECK(fj_open(&j, fd, 77, 64, fj_apply_msgs, &view, &r, NULL) == 0 && r.st == FJ_OK &&
	    r.records == 103 && r.good_end == recoff[100] && j.end == recoff[100],
	    "reopened: 3 keywords + 100 changes replayed (%llu)", (unsigned long long)r.records);
	CHECK(view_is(100) && view.unknown == 0, "the state is the model's");
	CHECK(j.kw.n == 3 && strcmp(j.kw.name[0], "$Forwarded") == 0 &&
	    strcmp(j.kw.name[1], "Junk") == 0 && strcmp(j.kw.name[2], "todo") == 0,
	    "the keyword table is back, in order");
	CHECK(fj_keyword_find(&j.kw, "JUNK", 4) == 1 && fj_keyword_find(&j.kw, "Jun", 3) == -1,
	    "keywords are found ignoring case");
	/* replaying again over the result changes nothing (a fold that
	 * crashed before its reset) */
	{
		size_t n;
		unsigned char *p = slurp("j", &n);
		struct fj_kwtab kw;

		memset(&kw, 0, sizeof(kw));
		fj_replay_mem(p, n, 77, &kw, fj_apply_msgs, &view, &r);
		CHECK(r.st == FJ_OK && r.records == 103 && view_is(100),
		    "a second replay over the replayed state changes nothing");
		free(p);
	}
	/* a change to an expunged UID is counted, not applied */
	{
		struct fj_msgs few = { msgs, 3, 0 };
		struct fj_change c = change(40);   /* uid 81: beyond the first 3 */

		fj_apply_msgs(&few, &c);
		CHECK(few.unknown == 1, "a change of a UID not in the view is skipped");
	}
	close(j.fd);
}

/* Replays the first cut bytes of the file: status, records, state. */
static int
replay_prefix(const unsigned char *p, size_t cut, uint32_t uv, struct fj_replay *r)
{
	struct fj_kwtab kw;

	memset(&kw, 0, sizeof(kw));
	view_reset(msgs, NMSG);
	fj_replay_mem(p, cut, uv, &kw, fj_apply_msgs, &view, r);
	return 0;
}

static void
test_torn(void)
{
	size_t n, bad = 0, tried = 0;
	unsigned char *p;
	struct fj_replay r;
	const size_t N = 21;    /* the last record sets two keywords */

	fresh_dir();
	write_journal(5, N);
	p = slurp("j", &n);
	CHECK(n == recoff[N], "the journal is %zu bytes", n);
	/* cut at every byte of the last record */
	for (size_t cut = (size_t)recoff[N - 1]; cut < n; cut++) {
		replay_prefix(p, cut, 5, &r);
		tried++;
		if (!((cut == recoff[N - 1] ? r.st == FJ_OK : r.st == FJ_TORN) &&
		    r.records == 3 + N - 1 && r.good_end == recoff[N - 1] && view_is(N - 1)))
			bad++;
	}
	CHECK(bad == 0, "a torn last record, cut at each of its %zu bytes: ignored, "
	    "the changes before it kept (%zu wrong)", tried, bad);
	/* the same through the file: the tail is cut and appends go on */
	{
		struct fj_journal j;
		struct fj_batch b;
		struct fj_change c = change(N - 1);
		int fd;

		put_file("j", p, n - 3);
		fd = open_file("j");
		view_reset(msgs, NMSG);
		CHECK(fj_open(&j, fd, 5, 64, fj_apply_msgs, &view, &r, NULL) == 0 &&
		    r.st == FJ_TORN && j.end == recoff[N - 1] && view_is(N - 1),
		    "fj_open: a torn tail is reported and skipped");
		{
			struct stat sb;

			CHECK(fstat(fd, &sb) == 0 && (uint64_t)sb.st_size == recoff[N - 1],
			    "fj_open cut the torn tail off");
		}
		fj_batch_init(&b);
		CHECK(fj_batch_add(&b, &j, &c, NULL) == 0 && fj_append(&j, &b, NULL) == 0,
		    "an append after the cut");
		fj_batch_free(&b);
		close(fd);
		free(p);
		p = slurp("j", &n);
		replay_prefix(p, n, 5, &r);
		CHECK(r.st == FJ_OK && r.records == 3 + N && view_is(N),
		    "the appended record replays after the others");
	}
	/* a zero-filled tail (a crash after the size grew, before the data) */
	{
		unsigned char *z = calloc(1, n + 4096);

		memcpy(z, p, n);
		replay_prefix(z, n + 4096, 5, &r);
		CHECK(r.st == FJ_TORN && r.records == 3 + N && r.good_end == n && view_is(N),
		    "a tail of zeros is ignored");
		free(z);
	}
	free(p);
}

static void
test_generation(void)
{
	size_t n;
	unsigned char *p;
	struct fj_replay r;
	struct fj_journal j;
	int fd;

	fresh_dir();
	write_journal(1000, 10);
	p = slurp("j", &n);
	replay_prefix(p, n, 1001, &r);
	CHECK(r.st == FJ_OTHERGEN && r.records == 0 && view_is(0),
	    "a journal of another UIDVALIDITY is ignored");
	/* a record of another generation spliced after a good header */
	{
		unsigned char *q = malloc(n);
		unsigned char h[FJ_HEADER_BYTES];
		struct fj_journal j2;
		int fd2;

		unlinkat(dfd, "k", 0);
		fd2 = open_file("k");
		if (fj_open(&j2, fd2, 1001, 64, NULL, NULL, &r, NULL) == -1 ||
		    pread(fd2, h, sizeof(h), 0) != (ssize_t)sizeof(h))
			exit(1);
		close(fd2);
		memcpy(q, p, n);
		memcpy(q, h, sizeof(h));
		replay_prefix(q, n, 1001, &r);
		CHECK(r.st == FJ_TORN && r.records == 0 && r.good_end == FJ_HEADER_BYTES,
		    "records of another generation under a good header do not pass");
		free(q);
	}
	fd = open_file("j");
	CHECK(fj_open(&j, fd, 1001, 64, fj_apply_msgs, &view, &r, NULL) == 0 &&
	    r.st == FJ_OTHERGEN && j.end == FJ_HEADER_BYTES && j.kw.n == 0,
	    "fj_open of another generation starts afresh");
	close(fd);
	free(p);
	p = slurp("j", &n);
	replay_prefix(p, n, 1001, &r);
	CHECK(n == FJ_HEADER_BYTES && r.st == FJ_OK, "the file is now a header of the new one");
	free(p);
	/* not a journal at all */
	put_file("j", (const unsigned char *)"From a@b Mon Jan  1 00:00:00 2024\n", 34);
	fd = open_file("j");
	CHECK(fj_open(&j, fd, 3, 64, NULL, NULL, &r, NULL) == 0 && r.st == FJ_NOHEADER &&
	    j.end == FJ_HEADER_BYTES, "a file that is no journal: a fresh header");
	close(fd);
	put_file("j", (const unsigned char *)"PSTNFLJ1", 8);
	p = slurp("j", &n);
	replay_prefix(p, n, 3, &r);
	CHECK(r.st == FJ_NOHEADER && r.good_end == 0, "half a header is no header");
	free(p);
}

static void
test_bitflips(void)
{
	size_t n, bad = 0, tried = 0;
	unsigned char *p;
	struct fj_replay r;
	const size_t N = 13;    /* the last record sets two keywords */

	fresh_dir();
	write_journal(9, N);
	p = slurp("j", &n);
	/* every bit of the last record */
	for (size_t o = (size_t)recoff[N - 1]; o < n; o++)
		for (int bit = 0; bit < 8; bit++) {
			p[o] ^= (unsigned char)(1u << bit);
			replay_prefix(p, n, 9, &r);
			p[o] ^= (unsigned char)(1u << bit);
			tried++;
			if (!(r.st == FJ_TORN && r.records == 3 + N - 1 &&
			    r.good_end == recoff[N - 1] && view_is(N - 1)))
				bad++;
		}
	CHECK(bad == 0, "each of the %zu one-bit flips in the last record is detected (%zu missed)",
	    tried, bad);
	/* every bit of a record in the middle: the replay stops before it */
	bad = tried = 0;
	for (size_t o = (size_t)recoff[5]; o < recoff[6]; o++)
		for (int bit = 0; bit < 8; bit++) {
			p[o] ^= (unsigned char)(1u << bit);
			replay_prefix(p, n, 9, &r);
			p[o] ^= (unsigned char)(1u << bit);
			tried++;
			if (!(r.st == FJ_TORN && r.records == 3 + 5 && view_is(5)))
				bad++;
		}
	CHECK(bad == 0, "each of the %zu flips in record 6 of %zu stops the replay there (%zu missed)",
	    tried, N, bad);
	/* every bit of the header */
	bad = tried = 0;
	for (size_t o = 0; o < FJ_HEADER_BYTES; o++)
		for (int bit = 0; bit < 8; bit++) {
			p[o] ^= (unsigned char)(1u << bit);
			replay_prefix(p, n, 9, &r);
			p[o] ^= (unsigned char)(1u << bit);
			tried++;
			if (!(r.st == FJ_NOHEADER && r.records == 0 && view_is(0)))
				bad++;
		}
	CHECK(bad == 0, "each of the %zu flips in the header voids the journal (%zu missed)",
	    tried, bad);
	/* two flips, 2 bits apart, all through the keyword records */
	bad = tried = 0;
	for (size_t o = FJ_HEADER_BYTES; o + 1 < recoff[0]; o++) {
		p[o] ^= 0x81;
		p[o + 1] ^= 0x01;
		replay_prefix(p, n, 9, &r);
		p[o] ^= 0x81;
		p[o + 1] ^= 0x01;
		tried++;
		if (r.st != FJ_TORN || r.records >= 3)
			bad++;
	}
	CHECK(bad == 0, "%zu three-bit errors in the keyword records are detected (%zu missed)",
	    tried, bad);
	free(p);
}

static void
test_keywords(void)
{
	struct fj_journal j;
	struct fj_replay r;
	const char *why = NULL;
	char name[64];
	int fd, ok = 1;

	fresh_dir();
	fd = open_file("j");
	if (fj_open(&j, fd, 1, FOLDER_KEYWORDS_DEFAULT_COUNT, NULL, NULL, &r, NULL) == -1)
		exit(1);
	for (int i = 0; i < FOLDER_KEYWORDS_DEFAULT_COUNT; i++) {
		snprintf(name, sizeof(name), "kw%d", i);
		ok &= fj_keyword_add(&j, name, strlen(name), NULL) == i;
	}
	CHECK(ok, "%d keywords (the default limit) are made", FOLDER_KEYWORDS_DEFAULT_COUNT);
	CHECK(fj_keyword_add(&j, "one-more", 8, &why) == -1 && why != NULL,
	    "one more is refused: %s", why ? why : "");
	CHECK(fj_keyword_add(&j, "KW7", 3, &why) == 7, "an existing one (other case) is found, not made");
	CHECK(fj_keyword_add(&j, "a b", 3, &why) == -1 && fj_keyword_add(&j, "", 0, &why) == -1 &&
	    fj_keyword_add(&j, "\\Seen", 5, &why) == -1 &&
	    fj_keyword_add(&j, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 51, &why) == -1,
	    "no atom, empty, a system flag, 51 bytes: refused");
	close(fd);
	/* reopened with a lower limit: the table is kept whole, nothing cut,
	 * and no keyword is made */
	fd = open_file("j");
	CHECK(fj_open(&j, fd, 1, 8, NULL, NULL, &r, NULL) == 0 && r.st == FJ_OK &&
	    j.kw.n == FOLDER_KEYWORDS_DEFAULT_COUNT && r.records == FOLDER_KEYWORDS_DEFAULT_COUNT,
	    "a lower limit later: the journal's %u keywords are all kept", j.kw.n);
	CHECK(fj_keyword_add(&j, "new", 3, &why) == -1, "and no new one is made");
	close(fd);
	/* the hard ceiling */
	unlinkat(dfd, "j", 0);
	fd = open_file("j");
	if (fj_open(&j, fd, 1, 100000, NULL, NULL, &r, NULL) == -1)
		exit(1);
	ok = 1;
	for (int i = 0; i < FOLDER_KEYWORDS_MAX_COUNT; i++) {
		memset(name, 'k', IMAP_KEYWORD_MAX_BYTES);
		snprintf(name, sizeof(name), "%03d", i);
		name[3] = 'k';
		ok &= fj_keyword_add(&j, name, IMAP_KEYWORD_MAX_BYTES, NULL) == i;
	}
	CHECK(ok && fj_keyword_add(&j, "x", 1, NULL) == -1,
	    "a limit above %d is held to it", FOLDER_KEYWORDS_MAX_COUNT);
	/* the largest record: every keyword set or cleared */
	{
		static uint16_t s[FOLDER_KEYWORDS_MAX_COUNT], c[FOLDER_KEYWORDS_MAX_COUNT];
		struct fj_change ch = { 1, 0, 0, 128, 128, s, c };
		struct fj_batch b;
		static struct fj_msg one[1];
		struct fj_msgs m = { one, 1, 0 };
		int all = 1;

		for (int i = 0; i < 128; i++) {
			s[i] = (uint16_t)(2 * i);
			c[i] = (uint16_t)(2 * i + 1);
		}
		one[0].uid = 1;
		memset(one[0].kw, 0xff, sizeof(one[0].kw));
		size_t rl;

		fj_batch_init(&b);
		CHECK(fj_batch_add(&b, &j, &ch, &why) == 0 && (rl = b.n) == FJ_RECORD_MAX_BYTES &&
		    fj_append(&j, &b, &why) == 0, "the largest record (%d bytes)", FJ_RECORD_MAX_BYTES);
		(void)rl;
		fj_batch_free(&b);
		close(fd);
		fd = open_file("j");
		CHECK(fj_open(&j, fd, 1, 64, fj_apply_msgs, &m, &r, NULL) == 0 && r.st == FJ_OK &&
		    r.records == FOLDER_KEYWORDS_MAX_COUNT + 1, "it replays");
		for (int w = 0; w < FJ_KW_WORDS; w++)
			all &= one[0].kw[w] == 0x5555555555555555ull;
		CHECK(all, "even keywords set, odd cleared");
		close(fd);
	}
}

static void
test_batch_checks(void)
{
	struct fj_journal j;
	struct fj_replay r;
	struct fj_batch b;
	const char *why;
	uint16_t k01[] = { 0, 1 }, k10[] = { 1, 0 }, k00[] = { 0, 0 }, k3[] = { 3 }, k1[] = { 1 };
	struct fj_change bad[] = {
		{ 0, MF_SEEN, 0, 0, 0, NULL, NULL },          /* UID 0 */
		{ 1, 0x20, 0, 0, 0, NULL, NULL },             /* unknown bit */
		{ 1, 0, 0x40, 0, 0, NULL, NULL },
		{ 1, MF_SEEN, MF_SEEN, 0, 0, NULL, NULL },    /* set and cleared */
		{ 1, 0, 0, 0, 0, NULL, NULL },                /* nothing */
		{ 1, 0, 0, 1, 0, k3, NULL },                  /* no keyword 3 */
		{ 1, 0, 0, 2, 0, k10, NULL },                 /* not ascending */
		{ 1, 0, 0, 2, 0, k00, NULL },                 /* twice */
		{ 1, 0, 0, 1, 1, k1, k1 },                    /* set and cleared */
		{ 1, 0, FJ_EXPUNGED, 0, 0, NULL, NULL },      /* an expunge undone */
		{ 1, FJ_EXPUNGED | 0x20, 0, 0, 0, NULL, NULL },
	};
	int fd, refused = 0;

	fresh_dir();
	fd = open_file("j");
	if (fj_open(&j, fd, 1, 64, NULL, NULL, &r, NULL) == -1 ||
	    fj_keyword_add(&j, "a", 1, NULL) != 0 || fj_keyword_add(&j, "b", 1, NULL) != 1 ||
	    fj_keyword_add(&j, "c", 1, NULL) != 2)
		exit(1);
	fj_batch_init(&b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (fj_batch_add(&b, &j, &bad[i], &why) == -1 && why != NULL)
			refused++;
	}
	CHECK(refused == (int)(sizeof(bad) / sizeof(bad[0])) && b.n == 0,
	    "%d bad changes refused with a reason, nothing added", refused);
	{
		struct fj_change good = { 4294967295u, MF_ALL, 0, 2, 0, k01, NULL };

		CHECK(fj_batch_add(&b, &j, &good, &why) == 0 && b.records == 1,
		    "UID 4294967295 with every flag is fine");
	}
	fj_batch_free(&b);
	close(fd);
	/* an append that cannot be written nor cut: the journal refuses
	 * more until reopened */
	fd = openat(dfd, "j", O_RDONLY);
	j.fd = fd;
	j.broken = 0;
	fj_batch_init(&b);
	{
		struct fj_change c = { 1, MF_SEEN, 0, 0, 0, NULL, NULL };

		fj_batch_add(&b, &j, &c, NULL);
		CHECK(fj_append(&j, &b, &why) == -1 && j.broken, "a failed write: %s", why);
		CHECK(fj_append(&j, &b, &why) == -1, "then no more appends: %s", why);
	}
	fj_batch_free(&b);
	close(fd);
}

/* FJ_EXPUNGED (deferred compaction): a set bit of its own, written and
 * replayed like a flag, composed with the flags of the same UID. */
static uint32_t exp_seen[4];
static size_t exp_n;

static void
exp_apply(void *arg, const struct fj_change *c)
{
	(void)arg;
	if (exp_n < 4)
		exp_seen[exp_n++] = (uint32_t)c->uid << 8 | c->set;
}

static void
test_expunged(void)
{
	struct fj_journal j;
	struct fj_replay r;
	struct fj_batch b;
	struct fj_change c[] = {
		{ 5, MF_SEEN, 0, 0, 0, NULL, NULL },
		{ 5, FJ_EXPUNGED, 0, 0, 0, NULL, NULL },
		{ 9, FJ_EXPUNGED | MF_FLAGGED, MF_SEEN, 0, 0, NULL, NULL },
	};
	unsigned char *p;
	size_t n;
	struct fj_kwtab kw;
	int fd, ok = 1;

	fresh_dir();
	fd = open_file("j");
	if (fj_open(&j, fd, 3, 64, NULL, NULL, &r, NULL) == -1)
		exit(1);
	fj_batch_init(&b);
	for (size_t i = 0; i < 3; i++)
		ok &= fj_batch_add(&b, &j, &c[i], NULL) == 0;
	CHECK(ok && fj_append(&j, &b, NULL) == 0, "expunge records are taken");
	fj_batch_free(&b);
	close(fd);
	p = slurp("j", &n);
	memset(&kw, 0, sizeof(kw));
	exp_n = 0;
	fj_replay_mem(p, n, 3, &kw, exp_apply, NULL, &r);
	CHECK(r.st == FJ_OK && r.records == 3 && exp_n == 3 &&
	    exp_seen[0] == (5u << 8 | MF_SEEN) && exp_seen[1] == (5u << 8 | FJ_EXPUNGED) &&
	    exp_seen[2] == (9u << 8 | FJ_EXPUNGED | MF_FLAGGED),
	    "and replayed as written");
	free(p);
}

static void
test_reset(void)
{
	struct fj_journal j;
	struct fj_replay r;
	size_t n;
	unsigned char *p;
	struct fj_kwtab kw;
	int fd;

	fresh_dir();
	write_journal(50, 30);
	fd = open_file("j");
	if (fj_open(&j, fd, 50, 64, NULL, NULL, &r, NULL) == -1)
		exit(1);
	CHECK(fj_reset(&j, dfd, "j", "j.tmp", 50, NULL) == 0 && j.kw.n == 3,
	    "reset after a fold");
	CHECK(faccessat(dfd, "j.tmp", F_OK, 0) == -1, "no temporary file left");
	p = slurp("j", &n);
	memset(&kw, 0, sizeof(kw));
	view_reset(msgs, NMSG);
	fj_replay_mem(p, n, 50, &kw, fj_apply_msgs, &view, &r);
	CHECK(r.st == FJ_OK && r.records == 3 && kw.n == 3 && view_is(0) &&
	    strcmp(kw.name[1], "Junk") == 0 && j.end == n,
	    "the journal is its header and its keyword table: no change left");
	free(p);
	CHECK(fj_keyword_add(&j, "new", 3, NULL) == 3, "keyword indexes go on after a reset");
	CHECK(fj_reset(&j, dfd, "j", "j.tmp", 51, NULL) == 0 && j.uidvalidity == 51,
	    "reset to a new UIDVALIDITY");
	p = slurp("j", &n);
	memset(&kw, 0, sizeof(kw));
	fj_replay_mem(p, n, 51, &kw, NULL, NULL, &r);
	CHECK(r.st == FJ_OK && kw.n == 4, "the table moves to the new generation");
	free(p);
	close(j.fd);
}

/* Peak heap in use, sampled by the callback. */
static size_t heap_base, heap_peak;
static uint64_t applied;

static void
count_apply(void *arg, const struct fj_change *c)
{
	if (++applied % 1000 == 0) {
		struct mallinfo2 mi = mallinfo2();

		if (mi.uordblks + mi.hblkhd > heap_peak)
			heap_peak = mi.uordblks + mi.hblkhd;
	}
	fj_apply_msgs(arg, c);
}

static void
test_big(void)
{
	struct fj_journal j;
	struct fj_replay r;
	struct fj_batch b;
	static struct fj_msg big[100000];
	struct fj_msgs m = { big, 100000, 0 };
	struct timespec t0, t1;
	struct mallinfo2 mi;
	double ms;
	int fd, ok = 1;

	fresh_dir();
	fd = open_file("j");
	if (fj_open(&j, fd, 7, 64, NULL, NULL, &r, NULL) == -1 ||
	    fj_keyword_add(&j, "$Forwarded", 10, NULL) != 0)
		exit(1);
	fj_batch_init(&b);
	for (uint32_t i = 0; i < 100000; i++) {
		uint16_t k0 = 0;
		struct fj_change c = { i + 1, MF_SEEN, 0, (uint16_t)(i % 2), 0, &k0, NULL };

		ok &= fj_batch_add(&b, &j, &c, NULL) == 0;
	}
	CHECK(ok && fj_append(&j, &b, NULL) == 0, "100,000 records in one batch (%zu bytes)",
	    (size_t)j.end);
	fj_batch_free(&b);
	close(fd);
	for (uint32_t i = 0; i < 100000; i++)
		big[i].uid = i + 1;
	fd = open_file("j");
	mi = mallinfo2();
	heap_base = heap_peak = mi.uordblks + mi.hblkhd;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(fj_open(&j, fd, 7, 64, count_apply, &m, &r, NULL) == 0 && r.st == FJ_OK &&
	    r.records == 100001 && applied == 100000, "all replayed");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ok = 1;
	for (uint32_t i = 0; i < 100000; i++)
		ok &= big[i].flags == MF_SEEN && big[i].kw[0] == (i % 2 ? 1u : 0u);
	CHECK(ok, "every message has its flags");
	CHECK(heap_peak - heap_base <= FJ_READ_BUF_BYTES + 4096,
	    "the replay's heap stays within its read buffer (%zu bytes more at peak)",
	    heap_peak - heap_base);
	CHECK(ms < 2000, "replaying 100,000 records took %.1f ms", ms);
	printf("# replay of 100000 records (%llu bytes): %.1f ms\n",
	    (unsigned long long)r.good_end, ms);
	close(fd);
}

static void
test_garbage(void)
{
	static unsigned char buf[8192];
	unsigned char h[FJ_HEADER_BYTES];
	struct fj_replay r;
	struct fj_kwtab kw;
	struct fj_journal j;
	uint32_t seed = 12345;
	int fd, ok = 1;

	fresh_dir();
	fd = open_file("h");
	if (fj_open(&j, fd, 99, 64, NULL, NULL, &r, NULL) == -1 ||
	    pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		exit(1);
	close(fd);
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round * 37 % sizeof(buf));

		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (unsigned char)(seed >> 16);
			if (round % 3 == 0)
				buf[i] &= 0x1f;   /* small lengths, likely types */
		}
		if (round % 2 == 0 && n >= FJ_HEADER_BYTES)
			memcpy(buf, h, sizeof(h));
		memset(&kw, 0, sizeof(kw));
		view_reset(msgs, NMSG);
		fj_replay_mem(buf, n, 99, &kw, fj_apply_msgs, &view, &r);
		ok &= r.good_end <= n && kw.n <= FOLDER_KEYWORDS_MAX_COUNT &&
		    (r.st == FJ_OK ? r.good_end == n : 1);
	}
	CHECK(ok, "2000 random buffers (half with a good header) replay without harm");
}

int
main(void)
{
	test_roundtrip();
	test_torn();
	test_generation();
	test_bitflips();
	test_keywords();
	test_batch_checks();
	test_expunged();
	test_reset();
	test_big();
	test_garbage();
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return check_done();
}
