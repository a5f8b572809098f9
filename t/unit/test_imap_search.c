/* Unit tests for IMAP SEARCH (workers/imap_search.c, imap_search_text.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "t/unit/check.h"
#include "privsep/msg.h"
#include "privsep/params.h"
#include "workers/imap_parse.h"
#include "workers/imap_search.h"

static struct imap_cmd *C;
static const char *CODE, *WHY;

/* Parses "a SEARCH <keys>" (CRLF-separated lines, literals {N} fed as a
 * session would) and compiles it: the search, or NULL (CODE, WHY set;
 * WHY "parse" when the parser refused the line). */
static struct imap_search *
compile(const char *keys)
{
	size_t len = strlen(keys) + 16, p = 0, n;
	char *in = malloc(len + 1);
	struct imap_search *s = NULL;
	enum imap_step r;

	n = (size_t)snprintf(in, len + 1, "a SEARCH %s\r\n", keys);
	imap_cmd_reset(C, IMAP_CMD_MAX_BYTES);
	CODE = WHY = NULL;
	for (int steps = 0; steps < 100; steps++) {
		const char *lf = memchr(in + p, '\n', n - p);

		if (lf == NULL)
			break;
		r = imap_cmd_line(C, in + p, (size_t)(lf - (in + p)) + 1);
		p = (size_t)(lf - in) + 1;
		while (r == IMAP_LITERAL && p + C->lit_size <= n) {
			size_t k = C->lit_size;

			r = imap_cmd_literal(C, in + p, k);
			p += k;
		}
		if (r == IMAP_NEXT_LINE)
			continue;
		if (r != IMAP_DONE) {
			WHY = "parse";
			break;
		}
		if (imap_search_compile(C, &s, &CODE, &WHY) < 0)
			s = NULL;
		break;
	}
	free(in);
	return s;
}

/* A view of five messages: UIDs 10..50. */
static struct sc_vmsg M[5];
static char *KW[] = { "$Forwarded", "Work", "Unused" };
static uint32_t KWIDX[] = { 0, 1, 1 };
static struct sc_view V;

static void
setup_view(void)
{
	static const uint32_t fl[5] = {
		VF_SEEN | VF_ANSWERED,
		VF_RECENT,
		VF_RECENT | VF_SEEN | VF_FLAGGED,
		VF_DELETED | VF_DRAFT,
		0,
	};

	for (uint32_t i = 0; i < 5; i++) {
		M[i].uid = (i + 1) * 10;
		M[i].flags = fl[i];
		M[i].size = 1000 * (i + 1);
		/* 2026-12-01 + i days, 23:59:59 UTC */
		M[i].date = 1796169599ull + i * 86400ull;
	}
	M[0].kwoff = 0;         /* $Forwarded Work */
	M[0].nkw = 2;
	M[2].kwoff = 2;         /* Work */
	M[2].nkw = 1;
	V.n = 5;
	V.m = M;
	V.nkw = 3;
	V.kw = KW;
	V.nkwidx = 3;
	V.kwidx = KWIDX;
	V.uidvalidity = 1;
	V.uidnext = 51;
}

/* The sequence numbers (1..5) that match, as "1 3 5"; message bytes for
 * all of them msg (NULL: none, the view-only answer; -1 shows as "?"). */
static const char *
seqs(const char *keys, const char *msg)
{
	static char out[64];
	struct imap_search *s = compile(keys);
	size_t o = 0;

	if (s == NULL) {
		snprintf(out, sizeof(out), "ERR %s", CODE ? CODE : "BAD");
		return out;
	}
	out[0] = '\0';
	for (uint32_t i = 0; i < 5; i++) {
		int r = imap_search_match(s, i + 1, 5, &M[i], &V,
		    (const unsigned char *)msg, msg ? strlen(msg) : 0);

		if (r != 0)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
			    o ? " " : "", r < 0 ? "?" : (const char[]){ (char)('1' + i), 0 });
	}
	imap_search_free(s);
	return out;
}

static int
seq_is(const char *keys, const char *want)
{
	const char *got = seqs(keys, NULL);
	int ok = strcmp(got, want) == 0;

	if (!ok)
		printf("# SEARCH %s: got \"%s\" want \"%s\"\n", keys, got, want);
	return ok;
}

/* Does message msg (as message 1) match keys?  1, 0, -1 (compile error). */
static int
hit(const char *keys, const char *msg)
{
	struct imap_search *s = compile(keys);
	int r;

	if (s == NULL)
		return -1;
	r = imap_search_match(s, 1, 5, &M[0], &V, (const unsigned char *)msg,
	    strlen(msg));
	imap_search_free(s);
	return r;
}

static void
test_flags(void)
{
	CHECK(seq_is("ALL", "1 2 3 4 5"), "ALL");
	CHECK(seq_is("ANSWERED", "1"), "ANSWERED");
	CHECK(seq_is("UNANSWERED", "2 3 4 5"), "UNANSWERED");
	CHECK(seq_is("DELETED", "4"), "DELETED");
	CHECK(seq_is("UNDELETED", "1 2 3 5"), "UNDELETED");
	CHECK(seq_is("DRAFT", "4"), "DRAFT");
	CHECK(seq_is("UNDRAFT", "1 2 3 5"), "UNDRAFT");
	CHECK(seq_is("FLAGGED", "3"), "FLAGGED");
	CHECK(seq_is("UNFLAGGED", "1 2 4 5"), "UNFLAGGED");
	CHECK(seq_is("SEEN", "1 3"), "SEEN");
	CHECK(seq_is("UNSEEN", "2 4 5"), "UNSEEN");
	CHECK(seq_is("RECENT", "2 3"), "RECENT");
	CHECK(seq_is("NEW", "2"), "NEW is RECENT UNSEEN");
	CHECK(seq_is("OLD", "1 4 5"), "OLD is NOT RECENT");
	CHECK(seq_is("unseen", "2 4 5"), "keys are case-insensitive");
	CHECK(seq_is("KEYWORD Work", "1 3"), "KEYWORD");
	CHECK(seq_is("KEYWORD work", "1 3"), "KEYWORD is case-insensitive");
	CHECK(seq_is("KEYWORD $Forwarded", "1"), "KEYWORD $Forwarded");
	CHECK(seq_is("KEYWORD Unused", ""), "a keyword no message has");
	CHECK(seq_is("KEYWORD Nowhere", ""), "a keyword the folder lacks");
	CHECK(seq_is("UNKEYWORD Work", "2 4 5"), "UNKEYWORD");
	CHECK(seq_is("UNKEYWORD Nowhere", "1 2 3 4 5"),
	    "UNKEYWORD of a keyword the folder lacks");
	CHECK(seq_is("LARGER 2000", "3 4 5"), "LARGER is strictly larger");
	CHECK(seq_is("SMALLER 2000", "1"), "SMALLER is strictly smaller");
	CHECK(seq_is("LARGER 0", "1 2 3 4 5"), "LARGER 0");
	CHECK(seq_is("SMALLER 4294967295", "1 2 3 4 5"), "SMALLER 2^32-1");
}

static void
test_dates(void)
{
	/* internal dates: 1..5 Dec 2026, 23:59:59 UTC */
	CHECK(seq_is("BEFORE 3-Dec-2026", "1 2"), "BEFORE (day only)");
	CHECK(seq_is("ON 3-Dec-2026", "3"), "ON");
	CHECK(seq_is("ON \"03-dec-2026\"", "3"), "ON, quoted, dd, month any case");
	CHECK(seq_is("SINCE 3-Dec-2026", "3 4 5"), "SINCE includes the day");
	CHECK(seq_is("SINCE 1-Jan-2027", ""), "SINCE the future");
	CHECK(seq_is("BEFORE 1-Jan-1970", ""), "BEFORE 1970");
	CHECK(seq_is("ON 31-Feb-2026", "ERR BAD"), "a day that does not exist");
	CHECK(seq_is("ON 29-Feb-2024", ""), "a leap day");
	CHECK(seq_is("ON 3-Foo-2026", "ERR BAD"), "a bad month");
	CHECK(seq_is("ON 3-Dec-26", "ERR BAD"), "a two-digit year");
	CHECK(seq_is("ON 3-Dec-2026x", "ERR BAD"), "trailing junk");

	static const char d1[] = "Date: Thu, 3 Dec 2026 01:00:00 +1400\n\nx\n";
	static const char d2[] = "Date: (c) 03 (c) dec 26 10:00 GMT\n\nx\n";
	static const char d3[] = "Date: yesterday\n\nx\n";
	static const char d4[] = "Subject: none\n\nx\n";
	static const char d5[] = "Date: 3 December 2026\n\nx\n";

	CHECK(hit("SENTON 3-Dec-2026", d1) == 1, "SENTON: the day as written");
	CHECK(hit("SENTBEFORE 3-Dec-2026", d1) == 0, "SENTBEFORE");
	CHECK(hit("SENTBEFORE 4-Dec-2026", d1) == 1, "SENTBEFORE the day after");
	CHECK(hit("SENTSINCE 3-Dec-2026", d1) == 1, "SENTSINCE the day");
	CHECK(hit("SENTSINCE 4-Dec-2026", d1) == 0, "SENTSINCE the day after");
	CHECK(hit("SENTON 3-Dec-2026", d2) == 1,
	    "SENTON: comments, no weekday, a two-digit year");
	CHECK(hit("SENTON 3-Dec-2026", d5) == 1, "SENTON: a full month name");
	CHECK(hit("SENTBEFORE 1-Jan-2100", d3) == 0 &&
	    hit("NOT SENTBEFORE 1-Jan-2100", d3) == 1,
	    "an unparseable Date: matches no SENT key");
	CHECK(hit("SENTSINCE 1-Jan-1900", d4) == 0, "no Date: matches no SENT key");
}

static void
test_sets(void)
{
	CHECK(seq_is("2:4", "2 3 4"), "a sequence range");
	CHECK(seq_is("4:2", "2 3 4"), "a reversed range");
	CHECK(seq_is("1,3,5", "1 3 5"), "a list");
	CHECK(seq_is("*", "5"), "*");
	CHECK(seq_is("4:*", "4 5"), "4:*");
	CHECK(seq_is("9:*", "5"), "x:* past the end is the last");
	CHECK(seq_is("*:9", "5"), "*:x past the end is the last");
	CHECK(seq_is("6", ""), "a number past the end");
	CHECK(seq_is("1:2,2:3,5", "1 2 3 5"), "overlapping ranges");
	CHECK(seq_is("UID 20:40", "2 3 4"), "UID range");
	CHECK(seq_is("UID *", "5"), "UID *");
	CHECK(seq_is("UID 30:*", "3 4 5"), "UID 30:*");
	CHECK(seq_is("UID 60:*", "5"), "UID past the last UID: the last");
	CHECK(seq_is("UID 11:19", ""), "UID between messages");
	CHECK(seq_is("UID 1,10,50", "1 5"), "UID list");
	CHECK(seq_is("UID 0", "ERR BAD"), "UID 0 is BAD");
	CHECK(seq_is("UID", "ERR BAD"), "UID without a set");
	CHECK(seq_is("1:*", "1 2 3 4 5"), "1:*");

	/* "*" is message n of the view the client knows */
	{
		struct imap_search *s = compile("UID *");

		CHECK(s != NULL && imap_search_match(s, 3, 3, &M[2], &V, NULL, 0) == 1 &&
		    imap_search_match(s, 2, 3, &M[1], &V, NULL, 0) == 0,
		    "UID * is the UID of message n");
		imap_search_free(s);
	}
}

static void
test_logic(void)
{
	CHECK(seq_is("SEEN ANSWERED", "1"), "keys are ANDed");
	CHECK(seq_is("OR SEEN DELETED", "1 3 4"), "OR");
	CHECK(seq_is("NOT SEEN", "2 4 5"), "NOT");
	CHECK(seq_is("NOT NOT SEEN", "1 3"), "NOT NOT");
	CHECK(seq_is("(SEEN FLAGGED)", "3"), "a list");
	CHECK(seq_is("OR (SEEN FLAGGED) (DELETED DRAFT)", "3 4"), "OR of lists");
	CHECK(seq_is("NOT (SEEN RECENT) UNDELETED", "1 2 5"), "NOT of a list");
	CHECK(seq_is("OR OR 1 2 3", "1 2 3"), "nested OR");
	CHECK(seq_is("((((SEEN))))", "1 3"), "nested lists");
	CHECK(seq_is("OR SEEN", "ERR BAD"), "OR with one key");
	CHECK(seq_is("NOT", "ERR BAD"), "NOT alone");
	CHECK(seq_is("SEEN FOO", "ERR BAD"), "an unknown key");
	CHECK(seq_is("LARGER", "ERR BAD"), "LARGER without a number");
	CHECK(seq_is("LARGER -1", "ERR BAD"), "LARGER -1");
	CHECK(seq_is("LARGER 4294967296", "ERR BAD"), "LARGER 2^32");
	CHECK(seq_is("\"SEEN\"", "ERR BAD"), "a key as a quoted string");
	CHECK(seq_is("SUBJECT", "ERR BAD"), "SUBJECT without a string");
	CHECK(seq_is("HEADER Subject", "ERR BAD"), "HEADER without a string");
	CHECK(seq_is("KEYWORD \"a b\"", "ERR BAD"), "KEYWORD of a non-atom");
}

static void
test_charset(void)
{
	CHECK(seq_is("CHARSET UTF-8 SEEN", "1 3"), "CHARSET UTF-8");
	CHECK(seq_is("CHARSET us-ascii SEEN", "1 3"), "CHARSET us-ascii");
	CHECK(seq_is("CHARSET \"utf-8\" SEEN", "1 3"), "CHARSET quoted");
	CHECK(seq_is("CHARSET ISO-8859-1 SEEN", "ERR BADCHARSET (US-ASCII UTF-8)"),
	    "CHARSET ISO-8859-1: NO [BADCHARSET (US-ASCII UTF-8)]");
	CHECK(compile("CHARSET KOI8-R TEXT x") == NULL && CODE != NULL &&
	    strncmp(CODE, "BADCHARSET", 10) == 0 && WHY != NULL,
	    "another charset: BADCHARSET with a reason");
}

static const char MSG[] =
    "From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <jorg@example.org>\n"
    "To: Bob <bob@example.org>,\n"
    " Carol <carol@example.org>\n"
    "Cc: dave@example.org\n"
    "Bcc: eve@example.org\n"
    "Subject: =?UTF-8?B?zprOsc67zrfOvM6tz4HOsQ==?= =?UTF-8?Q?_and_?=\n"
    " =?utf-8?q?=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82?= friends\n"
    "X-Mailer: Hand Made 1.0\n"
    "Date: Thu, 3 Dec 2026 01:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"BND\"\n"
    "\n"
    "preamble text NOTSEARCHED\n"
    "--BND\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "The meeting is on Tues=\n"
    "day at caf=C3=A9 Stra=C3=9Fe.  =E2=82=AC 5=\n"
    "\n"
    "--BND\n"
    "Content-Type: text/html; charset=\"windows-1252\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    /* "<p>Na\xefve \x80 price</p>" in Windows-1252 */
    "PHA+TmHvdmUggCBwcmljZTwvcD4=\n"
    "--BND\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "QklOQVJZU0VDUkVU\n"      /* "BINARYSECRET" */
    "--BND\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: forwarded note\n"
    "From: frank@example.org\n"
    "\n"
    "inner body words\n"
    "--BND--\n"
    "epilogue NOTSEARCHED\n";

static void
test_strings(void)
{
	CHECK(hit("FROM jorg@EXAMPLE", MSG) == 1, "FROM, ASCII case folding");
	CHECK(hit("FROM \"J\xc3\xb6rg M\xc3\xbcller\"", MSG) == 1,
	    "FROM: an RFC 2047 Q word in ISO-8859-1 against a UTF-8 key");
	CHECK(hit("FROM \"J\xc3\x96RG\"", MSG) == 1, "FROM: Latin-1 case folding");
	CHECK(hit("FROM bob", MSG) == 0, "FROM does not look at To");
	CHECK(hit("TO carol", MSG) == 1, "TO, a folded field");
	CHECK(hit("TO \"Bob <bob@example.org>, Carol\"", MSG) == 1,
	    "TO: the value unfolded");
	CHECK(hit("CC dave", MSG) == 1 && hit("CC eve", MSG) == 0, "CC");
	CHECK(hit("BCC eve", MSG) == 1, "BCC");
	CHECK(hit("SUBJECT \"\xce\xba\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1 and \xd0\xbf\xd1\x80\xd0\xb8\"",
	    MSG) == 1, "SUBJECT: B and Q words in UTF-8 joined, Greek, "
	    "Cyrillic folding, blanks between words dropped");
	CHECK(hit("SUBJECT \"\xce\x9a\xce\x91\xce\x9b\xce\x97\"", MSG) == 1,
	    "SUBJECT: Greek capitals fold");
	CHECK(hit("SUBJECT \"\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2 FRIENDS\"",
	    MSG) == 1, "SUBJECT: Cyrillic capitals and the plain text after");
	CHECK(hit("SUBJECT forwarded", MSG) == 0,
	    "SUBJECT does not look into attached messages");
	CHECK(hit("SUBJECT \"\"", MSG) == 1, "SUBJECT \"\": the field exists");
	CHECK(hit("HEADER X-Mailer \"made 1\"", MSG) == 1, "HEADER");
	CHECK(hit("HEADER x-mailer \"\"", MSG) == 1, "HEADER name \"\": present");
	CHECK(hit("HEADER X-Other \"\"", MSG) == 0, "HEADER name \"\": absent");
	CHECK(hit("HEADER Content-Type boundary", MSG) == 1, "HEADER Content-Type");
	CHECK(hit("BODY tuesday", MSG) == 1,
	    "BODY: quoted-printable soft line break undone");
	CHECK(hit("BODY \"CAF\xc3\x89 STRASSE\"", MSG) == 0,
	    "BODY: simple folding only (no sharp s expansion)");
	CHECK(hit("BODY \"caf\xc3\xa9 stra\xc3\x9f" "e\"", MSG) == 1,
	    "BODY: quoted-printable UTF-8");
	CHECK(hit("BODY \"\xe2\x82\xac 5\"", MSG) == 1, "BODY: euro sign");
	CHECK(hit("BODY \"na\xc3\xafve \xe2\x82\xac price\"", MSG) == 1,
	    "BODY: base64 text part in Windows-1252");
	CHECK(hit("BODY BINARYSECRET", MSG) == 0 && hit("TEXT QklOQVJZ", MSG) == 0,
	    "BODY: non-text parts are not searched");
	CHECK(hit("BODY NOTSEARCHED", MSG) == 0, "BODY: preamble and epilogue not searched");
	CHECK(hit("BODY \"forwarded note\"", MSG) == 1,
	    "BODY: the header of an attached message");
	CHECK(hit("BODY \"inner body\"", MSG) == 1, "BODY: an attached message's body");
	CHECK(hit("BODY carol", MSG) == 0, "BODY does not look at the header");
	CHECK(hit("TEXT carol", MSG) == 1, "TEXT looks at the header");
	CHECK(hit("TEXT \"x-mailer: hand\"", MSG) == 1, "TEXT: field name and value");
	CHECK(hit("TEXT tuesday", MSG) == 1, "TEXT looks at the body");
	CHECK(hit("TEXT \"\"", MSG) == 1 && hit("BODY \"\"", MSG) == 1,
	    "an empty string matches");
	CHECK(hit("BODY {5}\r\nMEETI", MSG) == 1, "a literal key");
	CHECK(hit("CHARSET UTF-8 BODY {5}\r\nCAF\xc3\x89", MSG) == 1,
	    "a UTF-8 literal key, case-folded");
	CHECK(hit("BODY \"day at\"", MSG) == 1, "a match across a soft break");
	CHECK(hit("BODY \"Tues day\"", MSG) == 0, "no match of what is not there");

	static const char plain[] = "Subject: hi\n\nline one\nline two\n";
	static const char broken[] = "Subject: =?utf-8?q?bro=ken?= =?x?b?===?=\n"
	    "Content-Transfer-Encoding: base64\n\n!!!aGVsbG8=@@@\n";
	static const char raw8[] = "Subject: caf\xe9 \xff\n\nbody caf\xc3\n";

	CHECK(hit("BODY \"one line\"", plain) == 0 && hit("BODY \"line two\"", plain) == 1,
	    "a plain message without MIME headers");
	CHECK(hit("SUBJECT \"bro=ken\"", broken) == 1,
	    "a Q word with a bad escape keeps the '='");
	CHECK(hit("BODY hello", broken) == 1, "base64 with junk around it");

	static const char chunks[] = "Content-Transfer-Encoding: base64\n\n"
	    "aGk=\naGVsbG8=\nd29ybGQ=\n";     /* "hi" "hello" "world" */
	static const char folds[] = "Subject: \xc5\x8a\xc4\xb0 \xd3\x81 \xc3\x9f\n\nx\n";

	CHECK(hit("SUBJECT \"caf\xc3\xa9!\"",
	    "Subject: =?utf-8?q?caf=C3?= =?utf-8?q?=A9!?=\n\n") == 1,
	    "a UTF-8 character split over two encoded words");
	CHECK(hit("SUBJECT \"a\xc3\xa9 b\"",
	    "Subject: =?iso-8859-1?q?a=E9?= b\n\n") == 1,
	    "a Latin-1 word, then plain text");
	CHECK(hit("BODY hihelloworld", chunks) == 1,
	    "base64 chunks, each padded, one after the other");
	CHECK(hit("SUBJECT \"\xc5\x8b\xc4\xb0\"", folds) == 1 &&
	    hit("SUBJECT \"\xc5\x8b\xc4\xb1\"", folds) == 0,
	    "Latin Extended-A folds; dotted I is not dotless i");
	CHECK(hit("SUBJECT \"\xd3\x82\"", folds) == 1, "Cyrillic Extended folds");
	CHECK(hit("SUBJECT \"\xc3\x9f\"", folds) == 1 &&
	    hit("SUBJECT ss", folds) == 0, "sharp s is itself (simple folding)");
	CHECK(hit("SUBJECT {6}\r\ncaf\xe9 \xff", raw8) == 1,
	    "8-bit bytes that are not UTF-8 match themselves");
	CHECK(hit("SUBJECT \"caf\xc3\xa9\"", raw8) == 0,
	    "... and not the UTF-8 of their Latin-1 reading");
	CHECK(hit("BODY {4}\r\ncaf\xc3", raw8) == 1, "a cut UTF-8 sequence at the end");
}

static void
test_needs(void)
{
	struct imap_search *s;

	s = compile("UNSEEN");
	CHECK(s && imap_search_needs(s) == 0, "UNSEEN needs the view only");
	imap_search_free(s);
	s = compile("UID 1:* SINCE 1-Jan-2000 LARGER 5 KEYWORD a");
	CHECK(s && imap_search_needs(s) == 0, "view keys need the view only");
	imap_search_free(s);
	s = compile("SUBJECT x SENTON 1-Jan-2000");
	CHECK(s && imap_search_needs(s) == FETCH_HEADER, "header keys: FETCH_HEADER");
	imap_search_free(s);
	s = compile("OR SEEN NOT (BODY x)");
	CHECK(s && imap_search_needs(s) == FETCH_WHOLE, "BODY: FETCH_WHOLE");
	imap_search_free(s);
	s = compile("TEXT x");
	CHECK(s && imap_search_needs(s) == FETCH_WHOLE, "TEXT: FETCH_WHOLE");
	imap_search_free(s);

	/* the view decides when it can */
	CHECK(strcmp(seqs("UNSEEN BODY x", NULL), "? ? ?") == 0 &&
	    strcmp(seqs("SEEN BODY x", NULL), "? ?") == 0,
	    "AND: a false cheap key decides, else -1");
	CHECK(strcmp(seqs("OR SEEN BODY x", NULL), "1 ? 3 ? ?") == 0,
	    "OR: a true cheap key decides, else -1");
	CHECK(strcmp(seqs("NOT SUBJECT x", NULL), "? ? ? ? ?") == 0,
	    "NOT of an undecided key is undecided");

	/* given the header only */
	CHECK(hit("SUBJECT hi", "Subject: hi\n\n") == 1 &&
	    hit("SUBJECT hi", "Subject: hi\n") == 1, "a header alone");
}

static double
secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
test_hostile(void)
{
	size_t big = 100 * 1024;
	char *keys = malloc(512 * 1024), *msg;
	struct timespec t0;
	size_t o = 0;

	/* NOT chains: 63 levels below the top are fine, 80 are NO [LIMIT] */
	for (int i = 0; i < 62; i++)
		o += (size_t)snprintf(keys + o, 8, "NOT ");
	snprintf(keys + o, 8, "SEEN");
	CHECK(seq_is(keys, "1 3"), "62 NOTs");
	o = 0;
	for (int i = 0; i < 80; i++)
		o += (size_t)snprintf(keys + o, 8, "OR ");
	for (int i = 0; i < 81; i++)
		o += (size_t)snprintf(keys + o, 8, "SEEN ");
	keys[o - 1] = '\0';
	CHECK(compile(keys) == NULL && CODE != NULL && strcmp(CODE, "LIMIT") == 0,
	    "80 nested ORs: NO [LIMIT]");
	o = 0;
	for (int i = 0; i < 8000; i++)
		o += (size_t)snprintf(keys + o, 8, "NOT ");
	snprintf(keys + o, 8, "SEEN");
	CHECK(compile(keys) == NULL && CODE != NULL && strcmp(CODE, "LIMIT") == 0,
	    "8000 NOTs: NO [LIMIT], no stack overflow");
	o = 0;
	for (int i = 0; i < IMAP_SEARCH_STRKEYS_MAX_COUNT + 1; i++)
		o += (size_t)snprintf(keys + o, 16, "BODY x ");
	keys[o - 1] = '\0';
	CHECK(compile(keys) == NULL && CODE != NULL && strcmp(CODE, "LIMIT") == 0,
	    "too many string keys: NO [LIMIT]");

	/* a 100 KiB key of 'a's ending in 'b' against 1 MiB of 'a's: the
	 * worst case of a naive search, linear for KMP */
	memcpy(keys, "BODY \"", 6);
	memset(keys + 6, 'a', big - 1);
	keys[6 + big - 1] = 'b';
	memcpy(keys + 6 + big, "\"", 2);
	msg = malloc(4u << 20);
	memcpy(msg, "Subject: x\n\n", 12);
	memset(msg + 12, 'a', (1u << 20));
	msg[12 + (1u << 20)] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(hit(keys, msg) == 0 && secs_since(&t0) < 2.0,
	    "a 100 KiB key against 1 MiB of near-matches: no match, %.3f s",
	    secs_since(&t0));
	msg[12 + (1u << 20) - 1] = 'b';
	CHECK(hit(keys, msg) == 1, "... and its match at the very end");

	/* 100,000 header lines, a huge folded field, many encoded words */
	o = 0;
	for (int i = 0; i < 100000; i++)
		o += (size_t)snprintf(msg + o, 32, "X-H%d: =?a?q?=3D?=\n", i);
	memcpy(msg + o, "Subject: late\n\nbody\n", 21);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(hit("OR HEADER X-H99999 zzz OR SUBJECT late TEXT zzz", msg) == 0 &&
	    secs_since(&t0) < 2.0,
	    "100,000 header lines: bounded by the MIME layer, %.3f s",
	    secs_since(&t0));
	o = 0;
	memcpy(msg, "Subject: ", 9);
	o = 9;
	for (int i = 0; i < 90000; i++)
		o += (size_t)snprintf(msg + o, 16, "=?x?q?a =?");
	memcpy(msg + o, "zzz\n\nbody\n", 11);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(hit("SUBJECT zzy", msg) == 0 && hit("SUBJECT \"=?zzz\"", msg) == 1 &&
	    secs_since(&t0) < 2.0,
	    "900 KB of broken encoded words, read to the end: %.3f s",
	    secs_since(&t0));
	o = 0;
	memcpy(msg, "Content-Transfer-Encoding: quoted-printable\n\n", 45);
	o = 45;
	for (int i = 0; i < 500000; i++)
		o += (size_t)snprintf(msg + o, 8, "=   ");
	msg[o] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(hit("BODY zzz", msg) == 0 && secs_since(&t0) < 2.0,
	    "2 MB of broken quoted-printable: %.3f s", secs_since(&t0));

	/* a UID set of 30,000 ranges */
	o = (size_t)snprintf(keys, 8, "UID ");
	for (int i = 0; i < 30000; i++)
		o += (size_t)snprintf(keys + o, 16, "%d,", 60 + 2 * i);
	snprintf(keys + o, 8, "30");
	CHECK(seq_is(keys, "3"), "a UID set of 30,001 ranges");
	free(msg);
	free(keys);
}

int
main(void)
{
	C = imap_cmd_new();
	setup_view();
	test_flags();
	test_dates();
	test_sets();
	test_logic();
	test_charset();
	test_strings();
	test_needs();
	test_hostile();
	imap_cmd_free(C);
	return check_done();
}
