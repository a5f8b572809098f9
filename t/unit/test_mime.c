/*
 * Unit tests for the IMAP worker's MIME layer (workers/mime*.c,
 * workers/imap_str.c): BODYSTRUCTURE and BODY compared with the exact text
 * of RFC 3501's examples and Dovecot's own test cases, ENVELOPE with
 * tricky addresses, BODY[section] bytes, and hostile messages (nesting
 * past the bound, 100,000 header lines, thousands of parts, missing
 * boundaries, NULs, one byte a line) that must parse in linear time and
 * still serve every byte.
 */
#include <stdlib.h>
#include <string.h>

#include "privsep/util.h"
#include "t/unit/check.h"
#include "workers/mime.h"

/* Converts LF to CRLF (tests write messages with \n). */
static char *
crlf(const char *s, size_t *len)
{
	size_t n = strlen(s), k = 0;
	char *o = xmalloc(2 * n + 1);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			o[k++] = '\r';
		o[k++] = s[i];
	}
	o[k] = '\0';
	*len = k;
	return o;
}

static char result[1 << 20];

static const char *
ibuf_text(struct ibuf *b)
{
	size_t n = b->len < sizeof(result) - 1 ? b->len : sizeof(result) - 1;

	if (n > 0)
		memcpy(result, b->p, n);
	result[n] = '\0';
	return result;
}

/* Every part lies inside its parent, headers and bodies line up. */
static int
tree_ok(const struct mime_msg *m)
{
	if (m->nparts == 0 || m->nparts > MIME_PARTS_MAX_COUNT)
		return 0;
	for (uint32_t i = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->part[i];

		if (p->off + p->hdr_len != p->body_off || p->body_off > m->len ||
		    p->body_len > m->len - p->body_off ||
		    p->depth > MIME_NEST_MAX_COUNT)
			return 0;
		if (i > 0) {
			const struct mime_part *q = &m->part[p->parent];

			if (p->parent >= i || p->off < q->body_off ||
			    p->body_off + p->body_len > q->body_off + q->body_len ||
			    p->depth != q->depth + 1)
				return 0;
		}
	}
	return 1;
}

/* BODYSTRUCTURE (ext 1) or BODY of buf[0..n). */
static const char *
bs_of(const char *buf, size_t n, int ext)
{
	struct mime_msg m;
	struct ibuf b;
	const char *why = NULL;

	mime_parse(&m, buf, n);
	ib_init(&b, MIME_OUT_MAX_BYTES);
	if (mime_bodystructure(&m, 0, ext, &b, &why) < 0 || !tree_ok(&m))
		snprintf(result, sizeof(result), "FAILED");
	else
		(void)ibuf_text(&b);
	ib_free(&b);
	mime_free(&m);
	return result;
}

/* The same for a message written with \n, sent as CRLF and as LF: both
 * must give the same answer (sizes count CRLF). */
static int
bs_is(const char *lf, int ext, const char *want)
{
	size_t n;
	char *c = crlf(lf, &n);
	int ok = strcmp(bs_of(c, n, ext), want) == 0;

	if (!ok)
		printf("# crlf got:  %s\n# want:      %s\n", result, want);
	if (ok && strcmp(bs_of(lf, strlen(lf), ext), want) != 0) {
		printf("# lf got:    %s\n# want:      %s\n", result, want);
		ok = 0;
	}
	free(c);
	return ok;
}

static int
env_is(const char *lf, const char *want)
{
	size_t n;
	char *c = crlf(lf, &n);
	struct mime_msg m;
	struct ibuf b;
	int ok;

	mime_parse(&m, c, n);
	ib_init(&b, MIME_OUT_MAX_BYTES);
	ok = mime_envelope(&m, 0, &b, NULL) == 0 &&
	    strcmp(ibuf_text(&b), want) == 0;
	if (!ok)
		printf("# got:  %s\n# want: %s\n", result, want);
	ib_free(&b);
	mime_free(&m);
	free(c);
	return ok;
}

/* BODY[spec] of the CRLF form of lf, compared with the CRLF form of
 * want; want NULL: the part must be missing. */
static int
sect_is(const char *lf, const char *spec, const char *want)
{
	size_t n, wn = 0;
	char *c = crlf(lf, &n), *w = want ? crlf(want, &wn) : NULL;
	struct mime_msg m;
	struct mime_section s;
	struct mime_range r;
	struct ibuf b;
	const char *why = NULL, *got;
	int ok;

	mime_parse(&m, c, n);
	ib_init(&b, MIME_OUT_MAX_BYTES);
	ok = mime_section_parse(spec, strlen(spec), &s, &why) == 0 &&
	    mime_section_get(&m, &s, &b, &r, &why) == 0;
	if (ok) {
		got = r.synth ? (const char *)b.p + r.off : c + r.off;
		if (w == NULL)
			ok = r.missing && r.len == 0;
		else
			ok = !r.missing && r.len == wn && memcmp(got, w, wn) == 0 &&
			    r.octets == wn;
		if (!ok)
			printf("# [%s] got %zu bytes: %.*s\n", spec, r.len,
			    (int)r.len, got);
	} else
		printf("# [%s] failed: %s\n", spec, why);
	ib_free(&b);
	mime_free(&m);
	free(c);
	free(w);
	return ok;
}

static int
spec_bad(const char *spec)
{
	struct mime_section s;
	const char *why = NULL;

	return mime_section_parse(spec, strlen(spec), &s, &why) < 0 && why != NULL;
}

/* ---------------------------------------------------------------- cases */

static const char dove_simple[] =
    "From: user@domain.org\n"
    "Date: Sat, 24 Mar 2017 23:00:00 +0200\n"
    "Mime-Version: 1.0\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "body\n";

static const char dove_rfc822[] =
    "From: user@domain.org\n"
    "Date: Sat, 24 Mar 2017 23:00:00 +0200\n"
    "Mime-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"foo bar\"\n"
    "\n"
    "--foo bar\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "See attached...\n"
    "\n"
    "--foo bar\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: user@domain.org\n"
    "Date: Sat, 24 Mar 2017 23:00:00 +0200\n"
    "Mime-Version: 1.0\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "body\n"
    "\n"
    "--foo bar--\n"
    "\n";

static const char dove_full[] =
    "From: user@domain.org\n"
    "Date: Sat, 24 Mar 2007 23:00:00 +0200\n"
    "Mime-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"foo\n"
    " bar\"\n"
    "\n"
    "Root MIME prologue\n"
    "\n"
    "--foo bar\n"
    "Content-Type: text/x-myown; charset=us-ascii; foo=\"quoted\\\"string\"\n"
    "Content-ID: <foo@example.com>\n"
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
    "Content-Disposition: inline; foo=bar\n"
    "Content-Description: hellodescription\n"
    "Content-Language: en, fi, se\n"
    "Content-Location: http://example.com/test.txt\n"
    "\n"
    "hello\n"
    "\n"
    "--foo bar\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: sub@domain.org\n"
    "To: sub-to1@domain.org, sub-to2@domain.org\n"
    "Date: Sun, 12 Aug 2012 12:34:56 +0300\n"
    "Subject: submsg\n"
    "Content-Type: multipart/alternative; boundary=\"sub1\"\n"
    "\n"
    "Sub MIME prologue\n"
    "--sub1\n"
    "Content-Type: text/html\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "<p>Hello world</p>\n"
    "\n"
    "--sub1\n"
    "Content-Type: text/plain\n"
    "Content-Transfer-Encoding: ?invalid\n"
    "\n"
    "Hello another world\n"
    "\n"
    "--sub1--\n"
    "Sub MIME epilogue\n"
    "\n"
    "--foo bar--\n"
    "Root MIME epilogue\n";

static void
test_dovecot_cases(void)
{
	CHECK(bs_is(dove_simple, 1, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL)"),
	    "simple text: BODYSTRUCTURE as Dovecot");
	CHECK(bs_is(dove_simple, 0, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1)"),
	    "simple text: BODY as Dovecot");
	CHECK(bs_is("From: user@domain.org\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\nbody\n\n", 1,
	    "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"8bit\" 8 2 NIL NIL NIL NIL)"),
	    "8bit text, two lines");
	CHECK(bs_is("Content-Type: multipart/mixed; boundary=\"foo\n bar\"\n\n"
	    "--foo bar\nContent-Type: text/x-myown; charset=us-ascii\n\nhello\n\n--foo bar--\n\n", 1,
	    "((\"text\" \"x-myown\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)"),
	    "folded boundary parameter, one part");
	CHECK(bs_is(dove_rfc822, 1,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 17 1 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 133 (\"Sat, 24 Mar 2017 23:00:00 +0200\" NIL ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)"),
	    "mixed with a message/rfc822 part: BODYSTRUCTURE");
	CHECK(bs_is(dove_rfc822, 0,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 17 1)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 133 (\"Sat, 24 Mar 2017 23:00:00 +0200\" NIL ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) ((NIL NIL \"user\" \"domain.org\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1) 6) \"mixed\")"),
	    "mixed with a message/rfc822 part: BODY");
	CHECK(bs_is(dove_full, 1,
	    "((\"text\" \"x-myown\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") \"<foo@example.com>\" \"hellodescription\" \"7bit\" 7 1 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"inline\" (\"foo\" \"bar\")) (\"en\" \"fi\" \"se\") \"http://example.com/test.txt\")(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 412 (\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) ((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"8bit\" 20 1 NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 1 NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"sub1\") NIL NIL NIL) 21 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo bar\") NIL NIL NIL)"),
	    "every extension field, nested alternative in an attached message");
	CHECK(bs_is(dove_full, 0,
	    "((\"text\" \"x-myown\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") \"<foo@example.com>\" \"hellodescription\" \"7bit\" 7 1)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 412 (\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub-to1\" \"domain.org\")(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) ((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"8bit\" 20 1)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 21 1) \"alternative\") 21) \"mixed\")"),
	    "the same as BODY");
	CHECK(bs_is("Content-Type: multipart/mixed; boundary=\"foo\"\n\n", 1,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"foo\") NIL NIL NIL)"),
	    "a multipart without any delimiter: one empty text/plain part");
	CHECK(bs_is("", 1, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"),
	    "an empty message");
}

/* RFC 3501 7.4.2's BODY example, rebuilt: sizes and line counts must
 * come out exactly. */
static void
test_rfc3501_body(void)
{
	static char msg[16384];
	size_t k = 0;

	k += (size_t)snprintf(msg + k, sizeof(msg) - k,
	    "MIME-Version: 1.0\r\nContent-Type: MULTIPART/MIXED; BOUNDARY=\"xyz\"\r\n\r\n"
	    "--xyz\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
	    "Content-Transfer-Encoding: 7BIT\r\n\r\n");
	for (int i = 0; i < 23; i++)    /* 22 x 50 + 52 = 1152 octets */
		k += (size_t)snprintf(msg + k, sizeof(msg) - k, "%.*s\r\n",
		    i < 22 ? 48 : 50, "................................................................");
	k += (size_t)snprintf(msg + k, sizeof(msg) - k,
	    "\r\n--xyz\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\n"
	    "Content-ID: <960723163407.20117h@cac.washington.edu>\r\n"
	    "Content-Description: Compiler diff\r\n"
	    "Content-Transfer-Encoding: BASE64\r\n\r\n");
	for (int i = 0; i < 73; i++)    /* 72 x 62 + 90 = 4554 octets */
		k += (size_t)snprintf(msg + k, sizeof(msg) - k, "%.*s\r\n",
		    i < 72 ? 60 : 88, "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB");
	k += (size_t)snprintf(msg + k, sizeof(msg) - k, "\r\n--xyz--\r\n");
	(void)bs_of(msg, k, 0);
	CHECK(strcmp(result,
	    "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)"
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") "
	    "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" "
	    "\"BASE64\" 4554 73) \"MIXED\")") == 0,
	    "RFC 3501 7.4.2 BODY example, byte for byte");
}

static void
test_envelope(void)
{
	/* RFC 3501 7.4.2's ENVELOPE example */
	CHECK(env_is("Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\n"
	    "From: Terry Gray <gray@cac.washington.edu>\n"
	    "Subject: IMAP4rev1 WG mtg summary and minutes\n"
	    "To: imap@cac.washington.edu\n"
	    "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\n"
	    "Message-Id: <B27397-0100000@cac.washington.edu>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\n\nbody\n",
	    "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" "
	    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	    "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	    "((NIL NIL \"imap\" \"cac.washington.edu\")) "
	    "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) "
	    "NIL NIL \"<B27397-0100000@cac.washington.edu>\")"),
	    "RFC 3501 7.4.2 ENVELOPE example");
	CHECK(env_is("Subject: x\n\n",
	    "(NIL \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)"), "missing fields are NIL");
	CHECK(env_is("", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"),
	    "empty message: all NIL");
	CHECK(env_is("From: a@b\nSender: s@t\nReply-To: r@u\n\n",
	    "(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"s\" \"t\")) ((NIL NIL \"r\" \"u\")) NIL NIL NIL NIL NIL)"),
	    "sender and reply-to given");
	CHECK(env_is("From: a@b\nSender:\nReply-To: ,\n\n",
	    "(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)"),
	    "empty sender and reply-to default to from");
	CHECK(env_is("To: undisclosed-recipients:;\n\n",
	    "(NIL NIL NIL NIL NIL ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)"),
	    "empty group");
	CHECK(env_is("Cc: Friends: a@b, \"Q, Name\" <c@d>; e@f\n\n",
	    "(NIL NIL NIL NIL NIL NIL ((NIL NIL \"Friends\" NIL)(NIL NIL \"a\" \"b\")(\"Q, Name\" NIL \"c\" \"d\")(NIL NIL NIL NIL)(NIL NIL \"e\" \"f\")) NIL NIL NIL)"),
	    "group with members, quoted name with a comma, then an address");
	CHECK(env_is("From: \"Doe, \\\"JD\\\" John\" <jd@x.org>\n\n",
	    "(NIL NIL ((\"Doe, \\\"JD\\\" John\" NIL \"jd\" \"x.org\")) ((\"Doe, \\\"JD\\\" John\" NIL \"jd\" \"x.org\")) ((\"Doe, \\\"JD\\\" John\" NIL \"jd\" \"x.org\")) NIL NIL NIL NIL NIL)"),
	    "quoted-pairs in a display name, re-escaped");
	CHECK(env_is("To: jd@x.org (John Doe), Jane (the boss) Roe <jr@y.org (work)>\n\n",
	    "(NIL NIL NIL NIL NIL ((\"John Doe\" NIL \"jd\" \"x.org\")(\"Jane Roe\" NIL \"jr\" \"y.org\")) NIL NIL NIL NIL)"),
	    "comments: a name when there is none, skipped otherwise");
	CHECK(env_is("To: <@r1.org,@r2.org:u@h.org>, user, <>, @nolocal.org\n\n",
	    "(NIL NIL NIL NIL NIL ((NIL \"@r1.org,@r2.org\" \"u\" \"h.org\")(NIL NIL \"user\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MAILBOX\" \"nolocal.org\")) NIL NIL NIL NIL)"),
	    "source route as adl; missing local part and domain filled");
	CHECK(env_is("To: \"john doe\"@x.org, a.b.c@[1.2.3.4]\n\n",
	    "(NIL NIL NIL NIL NIL ((NIL NIL \"\\\"john doe\\\"\" \"x.org\")(NIL NIL \"a.b.c\" \"[1.2.3.4]\")) NIL NIL NIL NIL)"),
	    "quoted local part kept as written; domain literal");
	CHECK(env_is("From: =?utf-8?q?J=C3=B6rg?= <j@x.org>\nSubject: =?utf-8?b?w7Zsw7Y=?=\n\n",
	    "(NIL \"=?utf-8?b?w7Zsw7Y=?=\" ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.org\")) ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.org\")) ((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.org\")) NIL NIL NIL NIL NIL)"),
	    "encoded words passed through as they are");
	CHECK(env_is("Subject: J\xc3\xb6rg's \"mail\"\n\n",
	    "(NIL {14}\r\nJ\xc3\xb6rg's \"mail\" NIL NIL NIL NIL NIL NIL NIL NIL)"),
	    "8-bit subject as a literal");
	CHECK(env_is("Subject: a \"quoted\" \\ word\n\n",
	    "(NIL \"a \\\"quoted\\\" \\\\ word\" NIL NIL NIL NIL NIL NIL NIL NIL)"),
	    "quotes and backslashes escaped in a quoted string");
	CHECK(env_is("Subject: folded\n  over\n\tlines\nIn-Reply-To: <a@b>\nMessage-ID:  <c@d> \n\n",
	    "(NIL \"folded  over\tlines\" NIL NIL NIL NIL NIL NIL \"<a@b>\" \"<c@d>\")"),
	    "unfolding keeps the blanks, trims the ends");
	CHECK(env_is("To: ,,a@b,,<c@d>>>, ;;; :\n\n",
	    "(NIL NIL NIL NIL NIL ((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")(NIL NIL \"\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)"),
	    "junk between addresses skipped");
	CHECK(env_is("Subject: first\nSubject: second\n\n",
	    "(NIL \"first\" NIL NIL NIL NIL NIL NIL NIL NIL)"), "the first of two Subject fields");
}

static void
test_address_bound(void)
{
	struct ibuf in, out;
	struct mime_msg m;
	size_t tuples = 0;

	ib_init(&in, 1 << 24);
	ib_init(&out, MIME_OUT_MAX_BYTES);
	ib_adds(&in, "To: ");
	for (int i = 0; i < 3000; i++)
		ib_adds(&in, "a@b, ");
	ib_adds(&in, "\r\n\r\n");
	mime_parse(&m, in.p, in.len);
	CHECK(mime_envelope(&m, 0, &out, NULL) == 0, "3000 addresses: ENVELOPE written");
	for (size_t i = 0; i + 1 < out.len; i++)
		if (out.len - i > 12 && memcmp(out.p + i, "(NIL NIL \"a\"", 12) == 0)
			tuples++;
	CHECK(tuples == MIME_ADDR_MAX_COUNT, "only %d listed (got %zu)",
	    MIME_ADDR_MAX_COUNT, tuples);
	mime_free(&m);
	ib_free(&in);
	ib_free(&out);
}

static void
test_sections(void)
{
	static const char simple[] = "Subject: hi\nX-Folded: a\n b\nFrom: x@y\n\nline 1\nline 2\n";

	CHECK(sect_is(simple, "", simple), "BODY[] is the whole message");
	CHECK(sect_is(simple, "HEADER", "Subject: hi\nX-Folded: a\n b\nFrom: x@y\n\n"),
	    "HEADER ends with the blank line");
	CHECK(sect_is(simple, "TEXT", "line 1\nline 2\n"), "TEXT");
	CHECK(sect_is(simple, "1", "line 1\nline 2\n"), "part 1 of a non-multipart is its body");
	CHECK(sect_is(simple, "2", NULL), "part 2 of a non-multipart: missing");
	CHECK(sect_is(simple, "header.fields (FROM x-folded)",
	    "X-Folded: a\n b\nFrom: x@y\n\n"),
	    "HEADER.FIELDS: original lines, folding kept, blank line added");
	CHECK(sect_is(simple, "HEADER.FIELDS.NOT (\"X-Folded\")",
	    "Subject: hi\nFrom: x@y\n\n"), "HEADER.FIELDS.NOT");
	CHECK(sect_is(simple, "HEADER.FIELDS (Nope)", "\n"),
	    "HEADER.FIELDS with no match: only the blank line");
	CHECK(sect_is("Subject: no body", "HEADER.FIELDS (Subject)",
	    "Subject: no body\n\n"), "a last line without its line end gets one");

	CHECK(sect_is(dove_rfc822, "1", "See attached...\n"), "mixed: part 1");
	CHECK(sect_is(dove_rfc822, "1.MIME", "Content-Type: text/plain; charset=us-ascii\n\n"),
	    "mixed: 1.MIME is the part's header");
	CHECK(sect_is(dove_rfc822, "2",
	    "From: user@domain.org\nDate: Sat, 24 Mar 2017 23:00:00 +0200\n"
	    "Mime-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nbody\n"),
	    "message/rfc822 part: the whole attached message");
	CHECK(sect_is(dove_rfc822, "2.HEADER",
	    "From: user@domain.org\nDate: Sat, 24 Mar 2017 23:00:00 +0200\n"
	    "Mime-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n"),
	    "2.HEADER: the attached message's header");
	CHECK(sect_is(dove_rfc822, "2.TEXT", "body\n"), "2.TEXT");
	CHECK(sect_is(dove_rfc822, "2.1", "body\n"), "2.1: the attached message's body");
	CHECK(sect_is(dove_rfc822, "2.MIME", "Content-Type: message/rfc822\n\n"), "2.MIME");
	CHECK(sect_is(dove_rfc822, "2.HEADER.FIELDS (date)",
	    "Date: Sat, 24 Mar 2017 23:00:00 +0200\n\n"), "2.HEADER.FIELDS");
	CHECK(sect_is(dove_rfc822, "1.HEADER", NULL), "HEADER of a text part: missing");
	CHECK(sect_is(dove_rfc822, "3", NULL), "part 3 of two: missing");
	CHECK(sect_is(dove_rfc822, "1.1", "See attached...\n"), "1.1 of a text part: itself");
	CHECK(sect_is(dove_full, "2.2", "Hello another world\n"),
	    "2.2: the second part of an attached multipart (RFC 3501 6.4.5 4.2.2)");
	CHECK(sect_is(dove_full, "2.1.MIME",
	    "Content-Type: text/html\nContent-Transfer-Encoding: 8bit\n\n"), "2.1.MIME");
	CHECK(sect_is(dove_full, "2.1.1", "<p>Hello world</p>\n"), "2.1.1: a text part's part 1");
	CHECK(sect_is(dove_full, "2.1.2", NULL) && sect_is(dove_full, "2.3", NULL),
	    "2.1.2 and 2.3 missing");

	CHECK(spec_bad("0") && spec_bad("01") && spec_bad("1.") && spec_bad(".1") &&
	    spec_bad("1..2") && spec_bad("4294967296"), "bad part numbers refused");
	CHECK(spec_bad("MIME") && spec_bad("HEADERS") && spec_bad("1.FOO") &&
	    spec_bad("TEXT "), "bad section texts refused");
	CHECK(spec_bad("HEADER.FIELDS") && spec_bad("HEADER.FIELDS ()") &&
	    spec_bad("HEADER.FIELDS (a") && spec_bad("HEADER.FIELDS (a) x") &&
	    spec_bad("HEADER.FIELDS(a)") && spec_bad("HEADER.FIELDS (\"a\\b\")") &&
	    spec_bad("HEADER.FIELDS (a{b)"), "bad field lists refused");
	{
		struct mime_section s;

		static const char spec[] = "4294967295.3.HEADER.FIELDS.NOT (a \"b c\")";

		CHECK(mime_section_parse(spec, strlen(spec), &s, NULL) == 0 && s.nparts == 2 && s.part[0] == 4294967295u &&
		    s.text == MS_FIELDS_NOT && s.nfields == 2 && s.field[1].len == 3,
		    "a full spec parses");
	}
}

/* RFC 3501 6.4.5's example of part numbers, built as a message (sizes
 * counted by hand: a part ends before the CRLF of the next delimiter). */
static const char rfc_parts[] =
    "Subject: top\nContent-Type: MULTIPART/MIXED; boundary=A\n\n"
    "--A\nContent-Type: TEXT/PLAIN\n\np1\n"
    "--A\nContent-Type: APPLICATION/OCTET-STREAM\n\np2\n"
    "--A\nContent-Type: MESSAGE/RFC822\n\n"
    "Subject: three\nContent-Type: MULTIPART/MIXED; boundary=B\n\n"
    "--B\nContent-Type: TEXT/PLAIN\n\np3.1\n"
    "--B\nContent-Type: APPLICATION/OCTET-STREAM\n\np3.2\n"
    "--B--\n"
    "--A\nContent-Type: MULTIPART/MIXED; boundary=C\n\n"
    "--C\nContent-Type: IMAGE/GIF\n\np4.1\n"
    "--C\nContent-Type: MESSAGE/RFC822\n\n"
    "Subject: four-two\nContent-Type: MULTIPART/MIXED; boundary=D\n\n"
    "--D\nContent-Type: TEXT/PLAIN\n\np4.2.1\n"
    "--D\nContent-Type: MULTIPART/ALTERNATIVE; boundary=E\n\n"
    "--E\nContent-Type: TEXT/PLAIN\n\np4.2.2.1\n"
    "--E\nContent-Type: TEXT/RICHTEXT\n\np4.2.2.2\n"
    "--E--\n"
    "--D--\n"
    "--C--\n"
    "--A--\n";

static void
test_rfc3501_parts(void)
{
	CHECK(sect_is(rfc_parts, "HEADER",
	    "Subject: top\nContent-Type: MULTIPART/MIXED; boundary=A\n\n"), "HEADER");
	CHECK(sect_is(rfc_parts, "1", "p1") && sect_is(rfc_parts, "2", "p2"), "1, 2");
	CHECK(sect_is(rfc_parts, "3.HEADER",
	    "Subject: three\nContent-Type: MULTIPART/MIXED; boundary=B\n\n"), "3.HEADER");
	CHECK(sect_is(rfc_parts, "3.TEXT",
	    "--B\nContent-Type: TEXT/PLAIN\n\np3.1\n"
	    "--B\nContent-Type: APPLICATION/OCTET-STREAM\n\np3.2\n--B--"), "3.TEXT");
	CHECK(sect_is(rfc_parts, "3.1", "p3.1") && sect_is(rfc_parts, "3.2", "p3.2"),
	    "3.1, 3.2");
	CHECK(sect_is(rfc_parts, "4.1", "p4.1") &&
	    sect_is(rfc_parts, "4.1.MIME", "Content-Type: IMAGE/GIF\n\n"), "4.1, 4.1.MIME");
	CHECK(sect_is(rfc_parts, "4.2.HEADER",
	    "Subject: four-two\nContent-Type: MULTIPART/MIXED; boundary=D\n\n"), "4.2.HEADER");
	CHECK(sect_is(rfc_parts, "4.2.1", "p4.2.1") &&
	    sect_is(rfc_parts, "4.2.2.1", "p4.2.2.1") &&
	    sect_is(rfc_parts, "4.2.2.2", "p4.2.2.2"), "4.2.1, 4.2.2.1, 4.2.2.2");
	CHECK(sect_is(rfc_parts, "4.2.2.3", NULL) && sect_is(rfc_parts, "5", NULL) &&
	    sect_is(rfc_parts, "4.1.HEADER", NULL), "missing parts");
	CHECK(bs_is(rfc_parts, 0,
	    "((\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 0)"
	    "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"7bit\" 2)"
	    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7bit\" 158 (NIL \"three\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "((\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 0)"
	    "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"7bit\" 4) \"MIXED\") 11)"
	    "((\"IMAGE\" \"GIF\" NIL NIL NIL \"7bit\" 4)"
	    "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7bit\" 262 (NIL \"four-two\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "((\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 0)"
	    "((\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 0)"
	    "(\"TEXT\" \"RICHTEXT\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 0) \"ALTERNATIVE\") \"MIXED\") 19)"
	    " \"MIXED\") \"MIXED\")"),
	    "its BODY");
}

static void
test_rfc2231(void)
{
	CHECK(bs_is("Content-Type: application/x-stuff;\n"
	    " title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
	    " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n"
	    " title*2=\"isn't it!\"\n\nx", 0,
	    "(\"application\" \"x-stuff\" (\"title*\" \"us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!\") NIL NIL \"7bit\" 1)"),
	    "RFC 2231 3's example: segments joined, extended value kept encoded");
	CHECK(bs_is("Content-Type: text/plain; name*1=\"b%c\"; charset=utf-8; name*0=a\n"
	    "Content-Disposition: attachment; filename*=utf-8''%C3%A4.txt\n\nx", 1,
	    "(\"text\" \"plain\" (\"charset\" \"utf-8\" \"name\" \"ab%c\") NIL NIL \"7bit\" 1 0 NIL (\"attachment\" (\"filename*\" \"utf-8''%C3%A4.txt\")) NIL NIL)"),
	    "plain continuations sorted and joined after the plain parameters; filename*");
	CHECK(bs_is("Content-Type: image/png; a*0=x; a*2=z; b*=y; c*01=q; d*x=1\n\nx", 0,
	    "(\"image\" \"png\" (\"c*01\" \"q\" \"d*x\" \"1\" \"a*0\" \"x\" \"a*2\" \"z\" \"b*\" \"y\") NIL NIL \"7bit\" 1)"),
	    "a missing index keeps the segments as written; odd names are plain");
	CHECK(bs_is("Content-Type: text/plain; t*0*=a%25; t*1=5%\n\nx", 0,
	    "(\"text\" \"plain\" (\"t*\" \"a%255%25\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0)"),
	    "a plain segment in an extended value gets its %% escaped");
}

static void
test_broken_mime(void)
{
	CHECK(bs_is("Content-Type: multipart/mixed\n\nno boundary\n", 0,
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 13 1)"),
	    "multipart without a boundary parameter: text/plain");
	CHECK(bs_is("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nunterminated\n", 0,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 1) \"mixed\")"),
	    "missing close delimiter: the last part runs to the end");
	CHECK(bs_is("Content-Type: text\n\nx\n", 0,
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)"),
	    "invalid Content-Type: text/plain (RFC 2045 5.2)");
	CHECK(bs_is("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b\n"
	    "X: y\n\nsecond\n--b--\n", 0,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 0) \"mixed\")"),
	    "a delimiter inside a part's header ends that part");
	CHECK(bs_is("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: s\n\nb\n--d--\n", 0,
	    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 15 (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0) 2) \"digest\")"),
	    "multipart/digest: parts default to message/rfc822");
	{
		char big[400];
		char msg[1400];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		snprintf(msg, sizeof(msg),
		    "Content-Type: multipart/mixed; boundary=%s\n\n--%s\n\na\n--%s--\n", big, big, big);
		(void)bs_of(msg, strlen(msg), 0);
		CHECK(strstr(result, "\"text\" \"plain\"") == result + 1 &&
		    strstr(result, "mixed") == NULL,
		    "a boundary over %d bytes: text/plain", MIME_BOUNDARY_MAX_BYTES);
	}
	{
		static const char nul[] = "Subject: a\0b\nContent-Type: multipart/mixed; boundary=\"x\0y\"\n\nbody\0\n";
		struct mime_msg m;
		struct ibuf b;

		mime_parse(&m, nul, sizeof(nul) - 1);
		ib_init(&b, MIME_OUT_MAX_BYTES);
		CHECK(mime_envelope(&m, 0, &b, NULL) == 0 &&
		    strcmp(ibuf_text(&b), "(NIL \"ab\" NIL NIL NIL NIL NIL NIL NIL NIL)") == 0,
		    "NUL in a header value: left out of the string");
		ib_reset(&b);
		(void)mime_bodystructure(&m, 0, 0, &b, NULL);
		CHECK(strcmp(ibuf_text(&b), "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1)") == 0,
		    "NUL in a boundary: text/plain; NUL in the body counted");
		ib_free(&b);
		mime_free(&m);
	}
}

/* ------------------------------------------------------------- hostile */

static int
parse_timed(const void *buf, size_t n, struct mime_msg *m, uint64_t *ms)
{
	uint64_t t0 = now_ms();
	struct ibuf b;
	int ok;

	mime_parse(m, buf, n);
	ib_init(&b, MIME_OUT_MAX_BYTES);
	ok = mime_bodystructure(m, 0, 1, &b, NULL) == 0 &&
	    mime_envelope(m, 0, &b, NULL) == 0 && tree_ok(m);
	ib_free(&b);
	*ms = now_ms() - t0;
	return ok;
}

static void
test_deep_nesting(void)
{
	struct ibuf in;
	struct mime_msg m;
	uint64_t ms;
	uint32_t maxd = 0;
	int levels = 5000;

	ib_init(&in, 1 << 26);
	for (int i = 0; i < levels; i++) {
		char line[128];

		snprintf(line, sizeof(line),
		    "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
		ib_adds(&in, line);
	}
	ib_adds(&in, "\r\ninnermost\r\n");
	for (int i = levels - 1; i >= 0; i--) {
		char line[64];

		snprintf(line, sizeof(line), "--b%d--\r\n", i);
		ib_adds(&in, line);
	}
	CHECK(parse_timed(in.p, in.len, &m, &ms), "5000 nested multiparts parse");
	for (uint32_t i = 0; i < m.nparts; i++)
		if (m.part[i].depth > maxd)
			maxd = m.part[i].depth;
	CHECK(m.nparts == MIME_NEST_MAX_COUNT + 1 && maxd == MIME_NEST_MAX_COUNT &&
	    (m.flags & MM_DEPTH_CAPPED) != 0,
	    "nesting stops at depth %d (%u parts, depth %u)", MIME_NEST_MAX_COUNT,
	    m.nparts, maxd);
	CHECK((m.part[m.nparts - 1].flags & MP_PLAIN) != 0,
	    "the deepest container is shown as text/plain");
	CHECK(ms < 2000, "in %llu ms", (unsigned long long)ms);
	mime_free(&m);

	ib_reset(&in);
	for (int i = 0; i < levels; i++)
		ib_adds(&in, "Content-Type: message/rfc822\r\n\r\n");
	ib_adds(&in, "Subject: deep\r\n\r\nbody\r\n");
	CHECK(parse_timed(in.p, in.len, &m, &ms) && m.nparts == MIME_NEST_MAX_COUNT + 1 &&
	    ms < 2000, "5000 nested message/rfc822: depth capped, %llu ms",
	    (unsigned long long)ms);
	mime_free(&m);
	ib_free(&in);
}

static void
test_many_header_lines(void)
{
	struct ibuf in, b;
	struct mime_msg m;
	struct mime_section s;
	struct mime_range r;
	uint64_t ms;
	size_t hdr_end;

	ib_init(&in, 1 << 26);
	ib_init(&b, MIME_OUT_MAX_BYTES);
	ib_adds(&in, "Subject: first\r\n");
	for (int i = 0; i < 100000; i++)
		ib_adds(&in, "X-Junk: 0123456789\r\n");
	ib_adds(&in, "From: late@x\r\n\r\nbody\r\n");
	CHECK(parse_timed(in.p, in.len, &m, &ms), "100,000 header lines parse");
	CHECK(m.part[0].hdr_lines == MIME_HDR_LINES_MAX_COUNT &&
	    (m.part[0].flags & MP_HDR_CUT) != 0 && (m.flags & MM_HDR_CAPPED) != 0,
	    "header cut at %d lines", MIME_HDR_LINES_MAX_COUNT);
	CHECK(ms < 2000, "in %llu ms", (unsigned long long)ms);
	hdr_end = m.part[0].hdr_len;
	CHECK(m.part[0].body_off == hdr_end && hdr_end + m.part[0].body_len == in.len,
	    "header and body still cover every byte");
	CHECK((m.part[0].have & (1u << MF_SUBJECT)) != 0 &&
	    (m.part[0].have & (1u << MF_FROM)) == 0,
	    "fields before the cut seen, after it not");
	(void)mime_section_parse("HEADER.FIELDS.NOT (X-Junk)", 26, &s, NULL);
	CHECK(mime_section_get(&m, &s, &b, &r, NULL) == 0 && r.synth &&
	    r.len == 18 && memcmp(b.p + r.off, "Subject: first\r\n\r\n", 18) == 0,
	    "HEADER.FIELDS.NOT over the cut header");
	mime_free(&m);

	/* one 2 MB header line: past the byte bound, so it is body */
	ib_reset(&in);
	ib_adds(&in, "Date: d\r\nSubject: ");
	for (int i = 0; i < 200000; i++)
		ib_adds(&in, "0123456789");
	ib_adds(&in, "\r\n\r\nbody\r\n");
	CHECK(parse_timed(in.p, in.len, &m, &ms) && m.part[0].hdr_len == 9 &&
	    (m.part[0].flags & MP_HDR_CUT) != 0 &&
	    (m.part[0].have & (1u << MF_SUBJECT)) == 0 && m.part[0].body_lines == 3,
	    "a header line over %d bytes ends the header before it",
	    MIME_HDR_MAX_BYTES);
	mime_free(&m);

	/* one byte a line, no header: the bound, then the rest is body */
	ib_reset(&in);
	for (int i = 0; i < 1000000; i++)
		ib_adds(&in, "x\n");
	CHECK(parse_timed(in.p, in.len, &m, &ms) && m.part[0].body_lines ==
	    1000000 - MIME_HDR_LINES_MAX_COUNT && ms < 2000,
	    "1,000,000 one-byte lines: %llu ms", (unsigned long long)ms);
	CHECK(m.part[0].hdr_octets + m.part[0].body_octets == 3000000,
	    "their size counts CRLF");
	mime_free(&m);
	ib_free(&b);
	ib_free(&in);
}

static void
test_many_parts(void)
{
	struct ibuf in;
	struct mime_msg m;
	uint64_t ms;
	uint64_t ms1 = 0;

	ib_init(&in, 1 << 26);
	ib_adds(&in, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (int i = 0; i < 50000; i++)
		ib_adds(&in, "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n");
	ib_adds(&in, "--p--\r\n");
	CHECK(parse_timed(in.p, in.len, &m, &ms) && m.nparts == MIME_PARTS_MAX_COUNT &&
	    (m.flags & MM_PARTS_CAPPED) != 0 && m.part[0].nchildren == MIME_PARTS_MAX_COUNT - 1,
	    "50,000 parts: %d listed", MIME_PARTS_MAX_COUNT);
	CHECK(ms < 2000, "in %llu ms", (unsigned long long)ms);
	mime_free(&m);

	/* linear: 1-byte lines inside 16 levels, 1 MB and 8 MB */
	for (int round = 0; round < 2; round++) {
		int lines = round == 0 ? 100000 : 800000;

		ib_reset(&in);
		for (int i = 0; i < MIME_NEST_MAX_COUNT; i++) {
			char line[96];

			snprintf(line, sizeof(line),
			    "Content-Type: multipart/mixed; boundary=q%d\r\n\r\n--q%d\r\n", i, i);
			ib_adds(&in, line);
		}
		ib_adds(&in, "\r\n");
		for (int i = 0; i < lines; i++)
			ib_adds(&in, i % 2 ? "-\r\n" : "x\r\n");
		CHECK(parse_timed(in.p, in.len, &m, &ms), "%d short lines, 16 levels", lines);
		if (round == 0)
			ms1 = ms;
		else
			CHECK(ms < 5000 && ms <= 16 * ms1 + 500,
			    "8x the bytes: %llu ms vs %llu ms (linear)",
			    (unsigned long long)ms, (unsigned long long)ms1);
		mime_free(&m);
	}
	ib_free(&in);
}

/* Random and mutated messages: the tree stays consistent, output bounded. */
static void
test_random(void)
{
	static const char *const seeds[] = { dove_simple, dove_rfc822, dove_full };
	unsigned seed = 12345;
	int bad = 0;

	for (int round = 0; round < 3000; round++) {
		const char *s = seeds[round % 3];
		size_t n = strlen(s);
		char *buf = xmalloc(n + 1);
		struct mime_msg m;
		struct ibuf b;

		memcpy(buf, s, n);
		for (int k = 0; k < 1 + round % 8; k++) {
			seed = seed * 1103515245u + 12345u;
			buf[(seed >> 8) % n] = "-\n\r:;\"()<>@,\\ x\0b"[(seed >> 20) % 17];
		}
		seed = seed * 1103515245u + 12345u;
		n -= (seed >> 8) % (round % 5 == 0 ? n : 1);
		mime_parse(&m, buf, n);
		ib_init(&b, MIME_OUT_MAX_BYTES);
		if (!tree_ok(&m) || mime_bodystructure(&m, 0, 1, &b, NULL) < 0 ||
		    mime_envelope(&m, 0, &b, NULL) < 0)
			bad++;
		ib_free(&b);
		mime_free(&m);
		free(buf);
	}
	CHECK(bad == 0, "3000 mutated messages: consistent trees");
}

static void
test_imap_str(void)
{
	struct ibuf b;

	ib_init(&b, 64);
	ib_string(&b, "a\"b\\c", 5);
	CHECK(strcmp(ibuf_text(&b), "\"a\\\"b\\\\c\"") == 0, "quoted with escapes");
	ib_reset(&b);
	ib_string(&b, "x\r\ny", 4);
	CHECK(strcmp(ibuf_text(&b), "{4}\r\nx\r\ny") == 0, "CRLF: literal");
	ib_reset(&b);
	ib_string(&b, "a\0\xff", 3);
	CHECK(b.len == 7 && memcmp(b.p, "{2}\r\na\xff", 7) == 0, "8-bit literal, NUL left out");
	ib_reset(&b);
	ib_nstring(&b, NULL, 0);
	ib_string(&b, "", 0);
	CHECK(strcmp(ibuf_text(&b), "NIL\"\"") == 0, "NIL and the empty string");
	ib_reset(&b);
	ib_add_crlf(&b, "a\nb\r\n\n", 6);
	CHECK(b.len == 8 && memcmp(b.p, "a\r\nb\r\n\r\n", 8) == 0 &&
	    crlf_octets("a\nb\r\n\n", 6) == 8, "bare LF made CRLF, octets counted");
	ib_reset(&b);
	for (int i = 0; i < 100; i++)
		ib_adds(&b, "0123456789");
	CHECK(ib_failed(&b) && b.len <= 64, "the bound holds: err set, len %zu", b.len);
	ib_free(&b);
}

int
main(void)
{
	test_imap_str();
	test_dovecot_cases();
	test_rfc3501_body();
	test_envelope();
	test_address_bound();
	test_sections();
	test_rfc3501_parts();
	test_rfc2231();
	test_broken_mime();
	test_deep_nesting();
	test_many_header_lines();
	test_many_parts();
	test_random();
	return check_done();
}
