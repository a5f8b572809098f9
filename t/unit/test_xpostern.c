/* The X-Postern line (store/xpostern.c) and its use by store/mbox.c and
 * store/mailbox.c. */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "privsep/params.h"
#include "store/mailbox.h"
#include "store/mbox.h"
#include "store/xpostern.h"

#include "xpostern_old.h"

static struct xpostern xp;

static int
parse(const char *s)
{
	const char *why = NULL;
	int r = xpostern_parse((const unsigned char *)s, strlen(s), &xp, &why);

	if (r == -1 && why == NULL)
		return -2;   /* a failure must say why */
	return r;
}

/* Does the new parser agree with the old one on line[0..n)? */
static int
agrees(const unsigned char *line, size_t n)
{
	char ou[MBOX_UID_MAX + 1];
	uint64_t ol = 0;
	int o = old_parse(line, n, ou, &ol);
	int r = xpostern_parse(line, n, &xp, NULL);

	if (o == 0)
		return r == 0 && strcmp(ou, xp.uid) == 0 && ol == xp.len &&
		    xp.imapuid == 0 && xp.flags == 0 && xp.nkw == 0;
	/* the old parser refused it: the new one takes it only with a
	 * new field */
	return r == -1 || xp.imapuid != 0 || xp.flags != 0 || xp.nkw != 0;
}

static void
test_old_lines(void)
{
	static const char *const lines[] = {
		"X-Postern: uid=0000018c2b3a4d5e0000000a1234 len=1234\n",
		"X-Postern: uid=h0123456789abcdef len=7\n",
		"X-Postern: uid=abc-1 len=0\n",
		"X-Postern: uid=x0123456789abcdef len=00012\n",
		"X-Postern: uid=0123456789abcdef0123456789abcdef0123456789abcde len=9999999999999999999\n",
		"X-Postern: uid=A-Z len=1\n",
	};
	size_t mutations = 0, disagree = 0;
	static const unsigned char bytes[] = { ' ', '\n', '\r', '\0', '0', '9', 'a',
	    '-', '=', 'x', 0x80, 0xff, '(' };

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char ou[MBOX_UID_MAX + 1];
		uint64_t ol;
		const unsigned char *l = (const unsigned char *)lines[i];
		size_t n = strlen(lines[i]);

		CHECK(old_parse(l, n, ou, &ol) == 0 && xpostern_parse(l, n, &xp, NULL) == 0 &&
		    strcmp(ou, xp.uid) == 0 && ol == xp.len && xp.imapuid == 0 &&
		    xp.flags == 0 && xp.nkw == 0,
		    "an old line reads as before: %.*s", (int)n - 1, lines[i]);
	}
	/* every one-byte change, insertion and cut of those lines: the two
	 * parsers agree (an old line that was postern's still is, with the
	 * same UIDL and length; one that was not, is not) */
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t n = strlen(lines[i]);
		unsigned char buf[200];

		for (size_t p = 0; p <= n; p++) {
			for (size_t b = 0; b < sizeof(bytes); b++) {
				/* replace */
				if (p < n) {
					memcpy(buf, lines[i], n);
					buf[p] = bytes[b];
					mutations++;
					disagree += !agrees(buf, n);
				}
				/* insert */
				memcpy(buf, lines[i], p);
				buf[p] = bytes[b];
				memcpy(buf + p + 1, lines[i] + p, n - p);
				mutations++;
				disagree += !agrees(buf, n + 1);
			}
			/* cut at p */
			mutations++;
			disagree += !agrees((const unsigned char *)lines[i], p);
		}
	}
	CHECK(disagree == 0, "old and new parser agree on %zu mutated old lines (%zu differ)",
	    mutations, disagree);
}

static void
test_new_fields(void)
{
	CHECK(parse("X-Postern: uid=abc len=99 imapuid=1\n") == 0 && xp.imapuid == 1 &&
	    xp.len == 99 && strcmp(xp.uid, "abc") == 0 && xp.flags == 0 && xp.nkw == 0,
	    "imapuid=1");
	CHECK(parse("X-Postern: uid=abc len=99 imapuid=4294967295\n") == 0 &&
	    xp.imapuid == 4294967295u, "imapuid=4294967295 (u32 max)");
	CHECK(parse("X-Postern: uid=abc len=99 flags=DFRST\n") == 0 && xp.flags == MF_ALL &&
	    xp.imapuid == 0, "flags=DFRST is all five");
	CHECK(parse("X-Postern: uid=abc len=99 flags=S\n") == 0 && xp.flags == MF_SEEN,
	    "S is \\Seen");
	CHECK(parse("X-Postern: uid=abc len=99 flags=R\n") == 0 && xp.flags == MF_ANSWERED,
	    "R is \\Answered");
	CHECK(parse("X-Postern: uid=abc len=99 flags=D\n") == 0 && xp.flags == MF_DRAFT,
	    "D is \\Draft");
	CHECK(parse("X-Postern: uid=abc len=99 flags=T\n") == 0 && xp.flags == MF_DELETED,
	    "T is \\Deleted");
	CHECK(parse("X-Postern: uid=abc len=99 flags=F\n") == 0 && xp.flags == MF_FLAGGED,
	    "F is \\Flagged");
	{
		const char *l = "X-Postern: uid=abc len=99 imapuid=42 flags=FS kw=($Forwarded Junk todo)\n";

		CHECK(parse(l) == 0 && xp.imapuid == 42 && xp.flags == (MF_FLAGGED | MF_SEEN) &&
		    xp.nkw == 3 && xp.kw_len[0] == 10 &&
		    memcmp(l + xp.kw_off[0], "$Forwarded", 10) == 0 &&
		    memcmp(l + xp.kw_off[1], "Junk", 4) == 0 && xp.kw_len[1] == 4 &&
		    memcmp(l + xp.kw_off[2], "todo", 4) == 0 && xp.kw_len[2] == 4,
		    "all three fields, keywords as spans of the line");
	}
	CHECK(parse("X-Postern: uid=abc len=99 kw=(a)\n") == 0 && xp.nkw == 1, "kw alone");
	CHECK(parse("X-Postern: uid=abc len=99 imapuid=7 kw=(a b)\n") == 0 && xp.nkw == 2 &&
	    xp.imapuid == 7 && xp.flags == 0, "imapuid and kw without flags");
	CHECK(parse("X-Postern: uid=abc len=99 kw=(a!#$&'+,-./:;<=>?@[^_`|}~ B)\n") == 0 &&
	    xp.nkw == 2, "every atom-char is a keyword byte");
	/* the largest line: 256 keywords of 50 bytes */
	{
		static char l[XPOSTERN_LINE_MAX_BYTES + 64];
		size_t o = 0;

		o += (size_t)snprintf(l, sizeof(l),
		    "X-Postern: uid=0123456789abcdef0123456789abcdef0123456789abcde "
		    "len=1234567890123456789 imapuid=4294967295 flags=DFRST kw=(");
		for (int k = 0; k < FOLDER_KEYWORDS_MAX_COUNT; k++) {
			o += (size_t)snprintf(l + o, sizeof(l) - o, "%s%03d", k ? " " : "", k);
			memset(l + o, 'k', 47);
			o += 47;
		}
		o += (size_t)snprintf(l + o, sizeof(l) - o, ")\n");
		CHECK(o == XPOSTERN_LINE_MAX_BYTES && parse(l) == 0 &&
		    xp.nkw == FOLDER_KEYWORDS_MAX_COUNT,
		    "the longest line (%zu bytes, max %d) parses", o, XPOSTERN_LINE_MAX_BYTES);
		/* one keyword more: too many (and too long) */
		l[o - 2] = ' ';
		o--;
		o += (size_t)snprintf(l + o, sizeof(l) - o, "zzz)\n");
		CHECK(parse(l) == -1, "%d keywords are too many", FOLDER_KEYWORDS_MAX_COUNT + 1);
	}
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		/* imapuid */
		"X-Postern: uid=abc len=9 imapuid=0\n",
		"X-Postern: uid=abc len=9 imapuid=01\n",
		"X-Postern: uid=abc len=9 imapuid=4294967296\n",
		"X-Postern: uid=abc len=9 imapuid=99999999999\n",
		"X-Postern: uid=abc len=9 imapuid=18446744073709551617\n",
		"X-Postern: uid=abc len=9 imapuid=\n",
		"X-Postern: uid=abc len=9 imapuid=-1\n",
		"X-Postern: uid=abc len=9 imapuid=+1\n",
		"X-Postern: uid=abc len=9 imapuid=1a\n",
		"X-Postern: uid=abc len=9 imapuid= 1\n",
		"X-Postern: uid=abc len=9 imapuid=1 imapuid=2\n",
		"X-Postern: uid=abc len=9 imapuid=1 imapuid=1\n",
		"X-Postern: uid=abc len=9 IMAPUID=1\n",
		"X-Postern: uid=abc len=9 imapuid=0x10\n",
		/* flags */
		"X-Postern: uid=abc len=9 flags=\n",
		"X-Postern: uid=abc len=9 flags=SS\n",
		"X-Postern: uid=abc len=9 flags=SD\n",
		"X-Postern: uid=abc len=9 flags=s\n",
		"X-Postern: uid=abc len=9 flags=X\n",
		"X-Postern: uid=abc len=9 flags=S flags=D\n",
		"X-Postern: uid=abc len=9 flags=DFRSTD\n",
		"X-Postern: uid=abc len=9 flags=P\n",
		"X-Postern: uid=abc len=9 flags=\\Seen\n",
		/* keywords */
		"X-Postern: uid=abc len=9 kw=()\n",
		"X-Postern: uid=abc len=9 kw=(a\n",
		"X-Postern: uid=abc len=9 kw=(a b\n",
		"X-Postern: uid=abc len=9 kw=a\n",
		"X-Postern: uid=abc len=9 kw=(b a)\n",
		"X-Postern: uid=abc len=9 kw=(a a)\n",
		"X-Postern: uid=abc len=9 kw=(Junk junk)\n",
		"X-Postern: uid=abc len=9 kw=(a  b)\n",
		"X-Postern: uid=abc len=9 kw=( a)\n",
		"X-Postern: uid=abc len=9 kw=(a )\n",
		"X-Postern: uid=abc len=9 kw=(\\Seen)\n",
		"X-Postern: uid=abc len=9 kw=(a*)\n",
		"X-Postern: uid=abc len=9 kw=(a%)\n",
		"X-Postern: uid=abc len=9 kw=(a])\n",
		"X-Postern: uid=abc len=9 kw=(a{)\n",
		"X-Postern: uid=abc len=9 kw=(a\"b)\n",
		"X-Postern: uid=abc len=9 kw=(a(b)\n",
		"X-Postern: uid=abc len=9 kw=(a\tb)\n",
		"X-Postern: uid=abc len=9 kw=(\xc3\xa9)\n",
		"X-Postern: uid=abc len=9 kw=(a) kw=(b)\n",
		"X-Postern: uid=abc len=9 kw=(a)x\n",
		"X-Postern: uid=abc len=9 kw=(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)\n",
		/* order, unknown fields, spacing */
		"X-Postern: uid=abc len=9 flags=S imapuid=1\n",
		"X-Postern: uid=abc len=9 kw=(a) flags=S\n",
		"X-Postern: uid=abc len=9 kw=(a) imapuid=1\n",
		"X-Postern: uid=abc imapuid=1 len=9\n",
		"X-Postern: uid=abc len=9 modseq=5\n",
		"X-Postern: uid=abc len=9 \n",
		"X-Postern: uid=abc len=9  imapuid=1\n",
		"X-Postern: uid=abc len=9 imapuid=1 \n",
		"X-Postern: uid=abc len=9 imapuid=1\r\n",
		"X-Postern: uid=abc len=9 imapuid=1",
		"X-Postern: uid=abc len=9 imapuid=1\n\n",
		"X-Postern: uid=abc len=9\timapuid=1\n",
		/* the old fields */
		"X-Postern: uid= len=9\n",
		"X-Postern: uid=a_b len=9\n",
		"X-Postern: uid=abc len=\n",
		"X-Postern: uid=abc len=12345678901234567890\n",
		"X-Postern: uid=abc\n",
		"X-Postern: uid=abc len=9 len=9\n",
		"X-Postern:  uid=abc len=9\n",
		"x-postern: uid=abc len=9\n",
		"",
		"\n",
	};
	size_t ok = 0, n = sizeof(bad) / sizeof(bad[0]);

	for (size_t i = 0; i < n; i++) {
		int r = parse(bad[i]);

		if (r != -1)
			printf("# accepted or no reason: %s", bad[i]);
		ok += r == -1;
	}
	CHECK(ok == n, "%zu malformed lines refused, each with a reason (%zu refused)", n, ok);
	/* a NUL inside */
	{
		static const unsigned char l[] = "X-Postern: uid=abc len=9 flags=S\0\n";

		CHECK(xpostern_parse(l, sizeof(l) - 1, &xp, NULL) == -1, "a NUL in the fields");
	}
	/* longer than the longest line */
	{
		static char l[XPOSTERN_LINE_MAX_BYTES + 2];

		memset(l, 'a', sizeof(l) - 1);
		memcpy(l, "X-Postern: uid=abc len=9 kw=(", 29);
		l[sizeof(l) - 2] = '\n';
		l[sizeof(l) - 1] = '\0';
		CHECK(parse(l) == -1, "a line over XPOSTERN_LINE_MAX_BYTES");
	}
}

static void
test_format(void)
{
	char out[XPOSTERN_LINE_MAX_BYTES + 1];
	uint64_t total = 0;
	const char *why = NULL;
	int n;

	/* no IMAP field: byte for byte the line mbox_encode writes */
	{
		unsigned char *rec;
		size_t rl;
		uint64_t wire;
		const char *msg = "Subject: x\r\n\r\nbody\r\n";
		const unsigned char *l2, *e2;

		rec = mbox_encode((const unsigned char *)msg, strlen(msg), "a@b",
		    "0123456789abcdef", 0, 0, NULL, 0, 0, &rl, &wire);
		l2 = (const unsigned char *)memchr(rec, '\n', rl) + 1;
		e2 = (const unsigned char *)memchr(l2, '\n', rl - (size_t)(l2 - rec)) + 1;
		n = xpostern_format(out, sizeof(out), "0123456789abcdef", 0, 0, NULL, 0,
		    rl - (size_t)(e2 - l2), &total, &why);
		CHECK(n == e2 - l2 && memcmp(out, l2, (size_t)n) == 0 && total == rl,
		    "no IMAP fields: the line mbox_encode writes (%.*s)",
		    n > 0 ? n - 1 : 0, out);
		free(rec);
	}
	/* all fields, keywords sorted ignoring case */
	{
		struct xp_kw kw[] = { { "todo", 4 }, { "$Forwarded", 10 }, { "Junk", 4 } };

		n = xpostern_format(out, sizeof(out), "abc", 42, MF_SEEN | MF_FLAGGED, kw, 3,
		    1000, &total, &why);
		CHECK(n > 0 && strcmp(out,
		    "X-Postern: uid=abc len=1074 imapuid=42 flags=FS kw=($Forwarded Junk todo)\n") == 0 &&
		    total == 1000 + (uint64_t)n, "all fields: %.*s",
		    n > 0 ? n - 1 : (int)strlen(why), n > 0 ? out : why);
		CHECK(parse(out) == 0 && xp.imapuid == 42 && xp.flags == (MF_SEEN | MF_FLAGGED) &&
		    xp.nkw == 3 && xp.len == total, "what format writes parses back");
	}
	/* every flag set, one at a time: parse(format(f)) == f */
	{
		int same = 1;

		for (uint32_t f = 0; f <= MF_ALL; f++) {
			n = xpostern_format(out, sizeof(out), "u", 1, f, NULL, 0, 50, &total, NULL);
			same &= n > 0 && parse(out) == 0 && xp.flags == f && xp.imapuid == 1 &&
			    xp.len == total;
		}
		CHECK(same, "the 32 flag sets round-trip");
	}
	/* the length counts itself across a digit boundary */
	{
		int same = 1;

		for (uint64_t rest = 0; rest < 1200; rest++) {
			n = xpostern_format(out, sizeof(out), "u", 7, MF_SEEN, NULL, 0, rest,
			    &total, NULL);
			same &= n > 0 && total == rest + (uint64_t)n && parse(out) == 0 &&
			    xp.len == total;
		}
		CHECK(same, "len is the record's length for every rest 0..1199");
	}
	CHECK(xpostern_format(out, sizeof(out), "u", 0, 0x20, NULL, 0, 9, &total, &why) == -1,
	    "an unknown flag bit is refused");
	CHECK(xpostern_format(out, sizeof(out), "a b", 0, 0, NULL, 0, 9, &total, &why) == -1,
	    "a bad UIDL is refused");
	{
		struct xp_kw dup[] = { { "Junk", 4 }, { "JUNK", 4 } };
		struct xp_kw sp[] = { { "a b", 3 } };
		struct xp_kw empty[] = { { "", 0 } };
		struct xp_kw slash[] = { { "\\Seen", 5 } };

		CHECK(xpostern_format(out, sizeof(out), "u", 0, 0, dup, 2, 9, &total, &why) == -1,
		    "a keyword twice (case aside) is refused: %s", why);
		CHECK(xpostern_format(out, sizeof(out), "u", 0, 0, sp, 1, 9, &total, &why) == -1 &&
		    xpostern_format(out, sizeof(out), "u", 0, 0, empty, 1, 9, &total, &why) == -1 &&
		    xpostern_format(out, sizeof(out), "u", 0, 0, slash, 1, 9, &total, &why) == -1,
		    "keywords that are no atoms are refused");
	}
	CHECK(xpostern_format(out, 20, "abc", 1, 0, NULL, 0, 9, &total, &why) == -1 &&
	    out[0] == '\0', "a short buffer is refused, nothing half-written");
	n = xpostern_format(out, sizeof(out), "x", 0, 0, NULL, 0,
	    2940929667296667ull - 38, &total, &why);
	CHECK(n == 38 && total == 2940929667296667ull &&
	    strcmp(out, "X-Postern: uid=x len=2940929667296667\n") == 0,
	    "a 16-digit length (found by fuzz_xpostern)");
	n = xpostern_format(out, sizeof(out), "x", 0, 0, NULL, 0,
	    9999999999999999999ull - 41, &total, &why);
	CHECK(n == 41 && total == 9999999999999999999ull,
	    "the largest length: 19 digits");
	CHECK(xpostern_format(out, sizeof(out), "x", 0, 0, NULL, 0,
	    9999999999999999999ull - 40, &total, &why) == -1 &&
	    xpostern_format(out, sizeof(out), "abc", 1, 0, NULL, 0,
	    10000000000000000000ull, &total, &why) == -1 &&
	    xpostern_format(out, sizeof(out), "abc", 1, 0, NULL, 0,
	    UINT64_MAX, &total, &why) == -1, "a length beyond 19 digits is refused");
}

/* ---- in a mailbox ---- */

static char dir[64];
static int dfd = -1;

static unsigned char *
record(const char *uid, const char *fields, size_t *rl)
{
	const char *from = "From a@b Thu Jan  1 00:00:00 1970\n";
	const char *body = "Return-Path: <a@b>\nSubject: x\n\nbody\n\n";
	char line[512];
	size_t base = strlen(from) + strlen(body), fl;
	uint64_t total = 0;
	unsigned char *r;

	/* the line's length with a len of d digits: find the fixed point */
	for (int d = 1; d < 20; d++) {
		snprintf(line, sizeof(line), "X-Postern: uid=%s len=%0*d%s\n", uid, d, 0, fields);
		total = base + strlen(line);
		if ((size_t)snprintf(NULL, 0, "%llu", (unsigned long long)total) == (size_t)d)
			break;
	}
	snprintf(line, sizeof(line), "X-Postern: uid=%s len=%llu%s\n", uid,
	    (unsigned long long)total, fields);
	fl = strlen(line);
	*rl = base + fl;
	r = malloc(*rl);
	memcpy(r, from, strlen(from));
	memcpy(r + strlen(from), line, fl);
	memcpy(r + strlen(from) + fl, body, strlen(body));
	return r;
}

static void
test_in_mbox(void)
{
	struct mbox_list l;
	enum mbox_parse_status st;
	size_t good, rl1, rl2, rl3;
	unsigned char *r1 = record("abc", " imapuid=5 flags=RS kw=($Forwarded)", &rl1);
	unsigned char *r2 = record("abc", " imapuid=6 flags=T kw=(Junk)", &rl2);
	unsigned char *r3 = record("zz", "", &rl3);
	unsigned char all[2048];
	size_t n = rl1 + rl2 + rl3;

	memcpy(all, r1, rl1);
	memcpy(all + rl1, r2, rl2);
	memcpy(all + rl1 + rl2, r3, rl3);
	mbox_list_init(&l);
	CHECK(mbox_parse(all, n, 0, &l, &good, &st) == 0 && st == MBP_OK && good == n &&
	    l.n == 3 && (l.v[0].flags & MBE_POSTERN) && (l.v[1].flags & MBE_POSTERN) &&
	    strcmp(l.v[0].uid, "abc") == 0 && strcmp(l.v[2].uid, "zz") == 0 &&
	    l.v[0].len == rl1, "extended lines are postern's: declared lengths, UIDLs kept");
	mbox_list_free(&l);
	/* a bad field makes it a message of another tool, as a bad old line did */
	{
		size_t rl;
		unsigned char *rb = record("abc", " imapuid=0", &rl);

		mbox_list_init(&l);
		CHECK(mbox_parse(rb, rl, 0, &l, &good, &st) == 0 && l.n == 1 &&
		    !(l.v[0].flags & MBE_POSTERN) && l.v[0].uid[0] == 'h',
		    "a malformed field: read as a foreign message (%s)", l.n ? l.v[0].uid : "");
		mbox_list_free(&l);
		free(rb);
	}

	/* a COMMIT that writes a duplicate's "-N" into its line keeps the
	 * IMAP UID, flags and keywords on that line */
	snprintf(dir, sizeof(dir), "/tmp/test_xpostern.XXXXXX");
	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		exit(1);
	{
		int fd = openat(dfd, "x", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		struct mailbox mb;
		struct mbox_ent del[1];
		uint32_t deleted = 0;
		uint64_t cut;
		unsigned char *back;
		ssize_t got;

		if (fd == -1 || write(fd, all, n) != (ssize_t)n)
			exit(1);
		close(fd);
		mbox_list_init(&l);
		mb_init(&mb, dfd, "x");
		CHECK(mb_open(&mb, 0, NULL) == 0 && mb_lock(&mb, 1000, NULL) == 0 &&
		    mb_scan(&mb, &l, 1, &cut, NULL) == 0 && l.n == 3 &&
		    strcmp(l.v[1].uid, "abc-1") == 0, "the duplicate is listed as abc-1");
		del[0] = l.v[2];
		CHECK(mb_rewrite(&mb, del, 1, &deleted, NULL) == 0 && deleted == 1,
		    "COMMIT deletes the third");
		mb_close(&mb);
		mbox_list_free(&l);
		back = malloc(4096);
		fd = openat(dfd, "x", O_RDONLY);
		got = read(fd, back, 4096);
		close(fd);
		CHECK(got == (ssize_t)(rl1 + rl2 + 2) && memcmp(back, r1, rl1) == 0,
		    "the first message is copied as it was");
		if (got > (ssize_t)rl1) {
			const unsigned char *l2 = memchr(back + rl1, '\n', (size_t)got - rl1);
			const unsigned char *e2 = l2 ? memchr(l2 + 1, '\n',
			    (size_t)(back + got - (l2 + 1))) : NULL;

			CHECK(e2 != NULL && xpostern_parse(l2 + 1, (size_t)(e2 - l2), &xp, NULL) == 0 &&
			    strcmp(xp.uid, "abc-1") == 0 && xp.imapuid == 6 &&
			    xp.flags == MF_DELETED && xp.nkw == 1 && xp.len == rl2 + 2,
			    "the second's new line: uid=abc-1, imapuid, flags and keyword kept");
		}
		unlinkat(dfd, ".x.idx", 0);
		mbox_list_init(&l);
		mb_init(&mb, dfd, "x");
		CHECK(mb_open(&mb, 0, NULL) == 0 && mb_scan(&mb, &l, 1, &cut, NULL) == 0 && l.n == 2 &&
		    strcmp(l.v[0].uid, "abc") == 0 && strcmp(l.v[1].uid, "abc-1") == 0 &&
		    (l.v[1].flags & MBE_POSTERN), "the file alone gives the same UIDLs");
		mb_close(&mb);
		mbox_list_free(&l);
		free(back);
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			exit(1);
	}
	free(r1);
	free(r2);
	free(r3);
}

int
main(void)
{
	test_old_lines();
	test_new_fields();
	test_malformed();
	test_format();
	test_in_mbox();
	return check_done();
}
