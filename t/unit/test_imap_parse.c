/* Unit tests for the IMAP command parser (workers/imap_parse.c). */
#include <stdlib.h>
#include <string.h>

#include "t/unit/check.h"
#include "workers/imap_parse.h"

static struct imap_cmd *C;

/*
 * Feeds in[0..len) as a session would: lines up to LF, literals fed in
 * two pieces (or taken "externally" for APPEND's message), discarded
 * bytes skipped, an overlong line given as head and tail.  Returns the
 * final step (IMAP_DONE or IMAP_ERROR), or -1 when the input ran out;
 * *used gets the bytes consumed, *plus the "+" a session would send.
 */
static int
feed_n(const char *in, size_t len, size_t line_max, size_t *used, int *plus)
{
	size_t p = 0;
	enum imap_step r;
	int steps = 0;

	*plus = 0;
	imap_cmd_reset(C, line_max);
	goto line;
	for (;;) {
		if (++steps > 1000)
			return -1;
		switch (r) {
		case IMAP_DONE:
		case IMAP_ERROR:
			*used = p;
			return (int)r;
		case IMAP_LITERAL:
			if (p + C->lit_size > len)
				return -1;
			if (C->lit_sync)
				(*plus)++;
			if (C->lit_message) {
				p += C->lit_size;
				r = imap_cmd_literal_external(C);
			} else {
				size_t half = C->lit_size / 2;

				r = imap_cmd_literal(C, in + p, half);
				p += half;
				if (r == IMAP_LITERAL) {
					r = imap_cmd_literal(C, in + p,
					    C->lit_size - half);
					p += C->lit_size - half;
				}
			}
			continue;
		case IMAP_DISCARD:
			if (C->discard > len - p)
				return -1;
			p += (size_t)C->discard;
			break;      /* then the next line */
		case IMAP_NEXT_LINE:
			break;
		}
line:
		{
			const char *lf = memchr(in + p, '\n', len - p);
			size_t n;

			if (lf == NULL)
				return -1;
			n = (size_t)(lf - (in + p)) + 1;
			if (n > C->line_max)
				r = imap_cmd_overlong(C, in + p, 40,
				    in + p + n - 20, 20);
			else
				r = imap_cmd_line(C, in + p, n);
			p += n;
		}
	}
}

static int
feed(const char *in)
{
	size_t used;
	int plus;

	return feed_n(in, strlen(in), IMAP_LINE_DEFAULT_BYTES, &used, &plus);
}

/* The command parses; its verb is v. */
static int
ok(const char *in, enum imap_verb v)
{
	return feed(in) == IMAP_DONE && C->verb == v;
}

/* The command is refused and the reason contains why. */
static int
bad(const char *in, const char *why)
{
	if (feed(in) != IMAP_ERROR || C->why == NULL)
		return 0;
	if (strstr(C->why, why) == NULL) {
		printf("# reason: %s\n", C->why);
		return 0;
	}
	return 1;
}

static int
arg_is(int i, enum imap_tok kind, const char *text)
{
	int n = imap_arg(C, i);

	return n >= 0 && C->node[n].kind == kind &&
	    strcmp(imap_text(C, n), text) == 0 &&
	    C->node[n].len == strlen(text);
}

static void
test_tokens(void)
{
	int n, m;

	CHECK(ok("a1 NOOP\r\n", IV_NOOP) && strcmp(C->tag, "a1") == 0,
	    "tag and verb");
	CHECK(ok("x.y]z capability\r\n", IV_CAPABILITY) &&
	    strcmp(C->tag, "x.y]z") == 0, "tag with ] and lower-case verb");
	CHECK(ok("a LOGIN alice \"se\\\"c\\\\ret\"\r\n", IV_LOGIN) &&
	    arg_is(0, IT_ATOM, "alice") &&
	    arg_is(1, IT_QUOTED, "se\"c\\ret") &&
	    strcmp(C->a.pass, "se\"c\\ret") == 0 && C->a.pass_len == 8,
	    "atom and quoted string with both escapes");
	CHECK(ok("a LOGIN \"\" \"\"\r\n", IV_LOGIN) && C->a.user_len == 0,
	    "empty quoted strings");
	CHECK(ok("a LOGIN {5}\r\nalice {6}\r\nsecret\r\n", IV_LOGIN) &&
	    arg_is(0, IT_LITERAL, "alice") && arg_is(1, IT_LITERAL, "secret"),
	    "two synchronising literals");
	CHECK(ok("a LOGIN {5+}\r\nalice \"pw\"\r\n", IV_LOGIN) &&
	    !C->lit_sync && arg_is(0, IT_LITERAL, "alice"),
	    "a non-synchronising literal");
	CHECK(ok("a LOGIN {0}\r\n {0}\r\n\r\n", IV_LOGIN) &&
	    C->a.user_len == 0 && C->a.pass_len == 0, "empty literals");
	CHECK(ok("a SEARCH CHARSET UTF-8 BODY {4}\r\na\r\nb\r\n",
	    IV_SEARCH) && arg_is(3, IT_LITERAL, "a\r\nb"),
	    "a literal keeps CR and LF bytes");
	CHECK(ok("a LOGIN \"h\xc3\xa9llo\" x\r\n", IV_LOGIN),
	    "UTF-8 in a quoted string");
	CHECK(ok("a ID NIL\r\n", IV_ID) && imap_is_nil(C, imap_arg(C, 0)) &&
	    C->a.id_list == -1, "NIL");
	CHECK(ok("a SELECT NIL\r\n", IV_SELECT) &&
	    strcmp(C->a.mailbox, "NIL") == 0, "NIL is an astring too");
	CHECK(ok("a FETCH 1 (FLAGS (UID) ())\r\n", IV_FETCH) == 0 &&
	    C->err == IE_ARGS, "nested lists tokenize (and FETCH refuses them)");
	n = imap_arg(C, 1);
	m = n >= 0 ? C->node[n].child : -1;
	CHECK(n >= 0 && C->node[n].kind == IT_LIST && C->node[n].len == 3 &&
	    m >= 0 && C->node[C->node[m].next].kind == IT_LIST &&
	    C->node[C->node[C->node[m].next].next].len == 0,
	    "list children linked, () empty");
	CHECK(ok("a STORE 1 +FLAGS (\\Seen $Junk)\r\n", IV_STORE) &&
	    arg_is(1, IT_ATOM, "+FLAGS"), "\\flags are atoms");
	CHECK(ok("a LIST \"\" %\r\n", IV_LIST) && ok("a LIST \"\" *\r\n",
	    IV_LIST) && ok("a LIST foo/] a*b%\r\n", IV_LIST),
	    "list wildcards and ] in patterns");
	CHECK(ok("a SELECT {6}\r\nIN BOX\r\n", IV_SELECT) &&
	    strcmp(C->a.mailbox, "IN BOX") == 0, "literal mailbox");
	CHECK(imap_idle_done("DONE\r\n", 6) && imap_idle_done("done\r\n", 6) &&
	    !imap_idle_done("DONE\n", 5) && !imap_idle_done("DONE \r\n", 7),
	    "IDLE's DONE");
	CHECK(strcmp(imap_verb_name(IV_UNSELECT), "UNSELECT") == 0 &&
	    strcmp(imap_verb_name(IV_NONE), "?") == 0, "verb names");
}

static void
test_hostile(void)
{
	static const char nul[] = "a LOGIN \"x\0y\" z\r\nb NOOP\r\n";
	static const char nul_lit[] = "a LOGIN {3}\r\nx\0y z\r\nb NOOP\r\n";
	size_t used;
	int plus, r;
	char *big;

	r = feed_n(nul, sizeof(nul) - 1, 8192, &used, &plus);
	CHECK(r == IMAP_ERROR && strstr(C->why, "NUL") != NULL &&
	    strcmp(C->tag, "a") == 0 && used == 17,
	    "NUL in a quoted string: BAD with the tag, line consumed");
	r = feed_n(nul_lit, sizeof(nul_lit) - 1, 8192, &used, &plus);
	CHECK(r == IMAP_ERROR && strstr(C->why, "NUL in a literal") != NULL &&
	    used == 20, "NUL in a literal: the rest of the command thrown away");
	CHECK(bad("a LOGIN \"x\ry\" z\r\n", "bare CR"), "bare CR in quoted");
	CHECK(bad("a LOGIN \"x\ny\" z\r\n", "bare LF"),
	    "bare LF in quoted: the session's line ends there");
	imap_cmd_reset(C, 8192);
	CHECK(imap_cmd_line(C, "a LOGIN \"x\ny\" z\r\n", 17) == IMAP_ERROR &&
	    strstr(C->why, "bare CR or LF") != NULL,
	    "an LF inside a line given whole");
	CHECK(bad("a NOOP\n", "bare LF"), "a line ending in LF alone");
	CHECK(bad("a NO\rOP\r\n", "bare CR"), "bare CR in the command name");
	CHECK(bad("a LOGIN \"abc\r\n", "unterminated quoted"),
	    "unterminated quoted string");
	CHECK(bad("a LOGIN \"a\\b\" x\r\n", "bad escape"), "bad escape");
	CHECK(bad("a LOGIN \"\xff\" x\r\n", "invalid UTF-8"), "invalid UTF-8");
	CHECK(bad("a LOGIN \"\xc0\xaf\" x\r\n", "invalid UTF-8"), "overlong UTF-8");
	CHECK(bad("a LOGIN \"\xed\xa0\x80\" x\r\n", "invalid UTF-8"),
	    "surrogate in UTF-8");
	CHECK(bad("a LOGIN al\xc3\xa9 x\r\n", "8-bit"), "8-bit in an atom");
	CHECK(bad("a LOGIN a\x01 x\r\n", "control character"), "CTL in an atom");

	/* {4294967295}: refused before any "+", nothing more is read */
	r = feed_n("a APPEND INBOX {4294967295}\r\nb NOOP\r\n", 37, 8192,
	    &used, &plus);
	CHECK(r == -1 && C->lit_size == 4294967295u && C->lit_sync &&
	    C->lit_message, "{4294967295}: announced to the session");
	CHECK(imap_cmd_refuse(C, "TOOBIG", "message too large") == IMAP_ERROR &&
	    strcmp(C->code, "TOOBIG") == 0 && C->err == IE_REFUSED,
	    "refusing a synchronising literal ends the command, no discard");
	CHECK(bad("a LOGIN {4294967296}\r\n", "out of range"),
	    "{4294967296} is out of range");
	CHECK(bad("a LOGIN {99999999999999999999}\r\n", "out of range"),
	    "a 20-digit literal size");
	CHECK(bad("a LOGIN {65537}\r\n", "over the limit"),
	    "an inline literal over its cap, before any +");
	r = feed_n("a LOGIN {65537}\r\n", 17, 8192, &used, &plus);
	CHECK(r == IMAP_ERROR && plus == 0 && strcmp(C->code, "TOOBIG") == 0,
	    "no + for a refused literal, code TOOBIG");

	/* LITERAL-: up to 4096; over it, the bytes come anyway and are
	 * thrown away with the rest of the command, never run */
	big = malloc(8200);
	if (big == NULL)
		abort();
	memcpy(big, "a LOGIN {4097+}\r\n", 17);
	memset(big + 17, 'x', 4097);
	memcpy(big + 17 + 4097, "b LOGOUT {3+}\r\nc\r\n\r\nd NOOP\r\n", 28);
	r = feed_n(big, 17 + 4097 + 28, 8192, &used, &plus);
	CHECK(r == IMAP_ERROR && strstr(C->why, "4096") != NULL &&
	    used == 17 + 4097 + 15 + 5, "{4097+}: BAD, its bytes and its "
	    "chained literal thrown away");
	r = feed_n(big + used, 17 + 4097 + 28 - used, 8192, &used, &plus);
	CHECK(r == IMAP_DONE && C->verb == IV_NOOP && strcmp(C->tag, "d") == 0,
	    "the session is in step after it");
	memcpy(big, "a LOGIN {4096+}\r\n", 17);
	memset(big + 17, 'y', 4096);
	memcpy(big + 17 + 4096, " p\r\n", 4);
	r = feed_n(big, 17 + 4096 + 4, 8192, &used, &plus);
	CHECK(r == IMAP_DONE && C->a.user_len == 4096 && plus == 0,
	    "{4096+} is accepted");
	free(big);

	/* a refused non-synchronising literal (session's choice) */
	r = feed_n("a APPEND INBOX {3+}\r\n", 21, 8192, &used, &plus);
	CHECK(r == -1 && !C->lit_sync && C->lit_size == 3,
	    "APPEND {3+} announced");
	CHECK(imap_cmd_refuse(C, "TOOBIG", "no") == IMAP_DISCARD &&
	    C->discard == 3, "refusing {3+}: discard its 3 bytes");
	CHECK(imap_cmd_line(C, "\r\n", 2) == IMAP_ERROR, "then its last line");
	imap_cmd_reset(C, 8192);
	CHECK(imap_cmd_line(C, "a LOGIN {4}\r\n", 13) == IMAP_LITERAL &&
	    imap_cmd_literal(C, "ab", 2) == IMAP_LITERAL &&
	    imap_cmd_refuse(C, NULL, NULL) == IMAP_DISCARD && C->discard == 2 &&
	    strcmp(C->why, "literal refused") == 0,
	    "refusing a literal half fed: the rest is discarded");

	/* an error earlier in a line that announces a literal */
	CHECK(bad("a LOGIN \"x {3+}\r\nabc\r\n", "unterminated"),
	    "error before a trailing {3+}: its bytes are discarded");
	r = feed_n("a FOO {3+}\r\nb C\r\nz NOOP\r\n", 25, 8192, &used, &plus);
	CHECK(r == IMAP_ERROR && C->err == IE_UNKNOWN && used == 17,
	    "unknown command with {3+}: literal and next line thrown away");
	CHECK(bad("a LOGIN {3} x\r\n", "end its line"), "literal mid-line");
	CHECK(bad("a LOGIN {} x\r\n", "literal"), "empty literal size");
	CHECK(bad("a LOGIN {-1}\r\n", "literal"), "negative literal size");
}

static void
test_lines(void)
{
	char *line;
	size_t used, n;
	int plus, r;

	line = malloc(70000);
	if (line == NULL)
		abort();
	/* over 8 KiB before login */
	memcpy(line, "t1 LOGIN ", 9);
	memset(line + 9, 'a', 8200);
	memcpy(line + 8209, " b\r\nt2 NOOP\r\n", 13);
	r = feed_n(line, 8209 + 13, IMAP_LINE_PRELOGIN_BYTES, &used, &plus);
	CHECK(r == IMAP_ERROR && C->err == IE_LINELONG &&
	    strcmp(C->tag, "t1") == 0 && used == 8213,
	    "a line over 8 KiB before login: BAD with its tag");
	r = feed_n(line, 8209 + 13, IMAP_LINE_DEFAULT_BYTES, &used, &plus);
	CHECK(r == IMAP_DONE && C->a.user_len == 8200,
	    "the same line after login (64 KiB)");
	/* an overlong line ending in {N+}: its literal is thrown away */
	n = 9 + 8200;
	memcpy(line + n, " {6+}\r\nt3 X\r\n\r\nt4 NOOP\r\n", 24);
	r = feed_n(line, n + 24, IMAP_LINE_PRELOGIN_BYTES, &used, &plus);
	CHECK(r == IMAP_ERROR && used == n + 7 + 6 + 2,
	    "overlong line with {6+}: literal discarded, never run");
	/* over 64 KiB after login */
	memcpy(line, "t5 LOGIN ", 9);
	memset(line + 9, 'a', 65600);
	memcpy(line + 65609, " b\r\n", 4);
	r = feed_n(line, 65613, IMAP_LINE_DEFAULT_BYTES, &used, &plus);
	CHECK(r == IMAP_ERROR && C->err == IE_LINELONG &&
	    strstr(C->why, "65536") != NULL, "a line over 64 KiB");
	free(line);

	CHECK(bad("\r\n", "tag"), "empty line");
	CHECK(bad(" a NOOP\r\n", "tag") && strcmp(C->tag, "*") == 0,
	    "leading space: untagged BAD");
	CHECK(bad("a+ NOOP\r\n", "tag") && strcmp(C->tag, "*") == 0, "+ in tag");
	CHECK(bad("a* NOOP\r\n", "tag"), "* in tag");
	CHECK(bad("a\r\n", "missing command") && strcmp(C->tag, "a") == 0,
	    "tag alone");
	CHECK(bad("a  NOOP\r\n", "missing command"), "two spaces after tag");
	CHECK(bad("a NOOP \r\n", "trailing space"), "trailing space");
	CHECK(bad("a XYZZY\r\n", "unknown command") && C->err == IE_UNKNOWN,
	    "unknown command");
	CHECK(bad("a UID NOOP\r\n", "unknown UID command"), "UID NOOP");
	CHECK(bad("a UID\r\n", "UID needs"), "UID alone");
	CHECK(bad("a LOGIN a  b\r\n", "two spaces"), "two spaces");
	CHECK(bad("a FETCH 1 ( FLAGS)\r\n", "space after ("), "space after (");
	CHECK(bad("a FETCH 1 (FLAGS )\r\n", "space before )"), "space before )");
	CHECK(bad("a FETCH 1 (FLAGS\r\n", "unterminated list"), "missing )");
	CHECK(bad("a FETCH 1 FLAGS)\r\n", "unexpected )"), "extra )");
	CHECK(bad("a LOGIN a\"b\" c\r\n", "space"), "quoted glued to an atom");
	CHECK(bad("a NOOP x\r\n", "no arguments") && C->err == IE_ARGS,
	    "NOOP takes nothing");
}

static void
test_nesting(void)
{
	char buf[256];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "a SEARCH ");
	for (int i = 0; i < IMAP_NEST_MAX_COUNT; i++)
		buf[n++] = '(';
	buf[n++] = 'A';
	buf[n++] = 'L';
	buf[n++] = 'L';
	for (int i = 0; i < IMAP_NEST_MAX_COUNT; i++)
		buf[n++] = ')';
	memcpy(buf + n, "\r\n", 3);
	CHECK(ok(buf, IV_SEARCH), "lists nested 16 deep");
	n = (size_t)snprintf(buf, sizeof(buf), "a SEARCH ");
	for (int i = 0; i <= IMAP_NEST_MAX_COUNT; i++)
		buf[n++] = '(';
	buf[n++] = 'A';
	for (int i = 0; i <= IMAP_NEST_MAX_COUNT; i++)
		buf[n++] = ')';
	memcpy(buf + n, "\r\n", 3);
	CHECK(bad(buf, "nested too deep") && C->err == IE_LIMIT,
	    "17 deep is refused");
	CHECK(ok("a SEARCH (OR {1}\r\nA (B {1}\r\nC)) ALL\r\n", IV_SEARCH),
	    "a list continues across literals");
}

static void
test_seqset(void)
{
	struct imap_seqrange r[8];
	size_t n;
	const char *why = NULL;
	uint32_t lo, hi;
	char *big;
	size_t len = 0;

#define SEQ(s) imap_parse_seqset(s, strlen(s), r, 8, &n, &why)
	CHECK(SEQ("1") == 0 && n == 1 && r[0].lo == 1 && r[0].hi == 1, "1");
	CHECK(SEQ("1:4") == 0 && n == 1 && r[0].lo == 1 && r[0].hi == 4, "1:4");
	CHECK(SEQ("4:1") == 0 && r[0].lo == 4 && r[0].hi == 1,
	    "4:1 kept as written");
	imap_seq_resolve(&r[0], 10, &lo, &hi);
	CHECK(lo == 1 && hi == 4, "4:1 resolves to 1..4");
	CHECK(SEQ("*") == 0 && n == 1 && r[0].lo == IMAP_SEQ_STAR, "*");
	CHECK(SEQ("1:*") == 0 && r[0].lo == 1 && r[0].hi == IMAP_SEQ_STAR,
	    "1:*");
	imap_seq_resolve(&r[0], 7, &lo, &hi);
	CHECK(lo == 1 && hi == 7, "1:* resolves to 1..7");
	imap_seq_resolve(&r[0], 0, &lo, &hi);
	CHECK(lo == 0 && hi == 1, "1:* on an empty folder resolves to 0..1 "
	    "(the session answers with nothing)");
	CHECK(SEQ("*:5") == 0 && r[0].lo == IMAP_SEQ_STAR && r[0].hi == 5, "*:5");
	CHECK(SEQ("1,3:5,7,9:*") == 0 && n == 4 && r[1].lo == 3 &&
	    r[3].hi == IMAP_SEQ_STAR, "comma list");
	CHECK(SEQ("4294967295") == 0 && r[0].lo == 4294967295u, "u32 max");
	CHECK(SEQ("4294967296") < 0 && strstr(why, "range"), "u32 max + 1");
	CHECK(SEQ("99999999999999999999") < 0, "20 digits");
	CHECK(SEQ("0") < 0 && strstr(why, "0 is not"), "0 refused");
	CHECK(SEQ("1:0") < 0, "1:0 refused");
	CHECK(SEQ("01") < 0 && strstr(why, "leading zero"), "leading zero");
	CHECK(SEQ("") < 0, "empty");
	CHECK(SEQ("1,") < 0 && strstr(why, "comma"), "trailing comma");
	CHECK(SEQ(",1") < 0, "leading comma");
	CHECK(SEQ("1,,2") < 0, "double comma");
	CHECK(SEQ("1:") < 0, "open range");
	CHECK(SEQ("1:2:3") < 0, "1:2:3");
	CHECK(SEQ("-1") < 0 && SEQ("1-3") < 0 && SEQ("a") < 0, "junk");
	CHECK(SEQ("1,2,3,4,5,6,7,8") == 0 && n == 8, "8 ranges fit 8");
	CHECK(SEQ("1,2,3,4,5,6,7,8,9") < 0 && strstr(why, "too many ranges"),
	    "9 ranges do not fit 8");
#undef SEQ
	/* 100,000 elements: a clear error, no expansion, bounded memory */
	big = malloc(700000);
	if (big == NULL)
		abort();
	for (int i = 1; i <= 100000; i++)
		len += (size_t)snprintf(big + len, 700000 - len, "%d,", i * 2);
	len--;
	CHECK(imap_parse_seqset(big, len, C->seqbuf, IMAP_SEQSET_MAX_COUNT, &n,
	    &why) < 0 && strstr(why, "too many ranges") != NULL,
	    "a 100,000-element set: refused past " "IMAP_SEQSET_MAX_COUNT");
	memmove(big, "a FETCH ", 8);
	len = 8;
	for (int i = 1; i <= 100000; i++)
		len += (size_t)snprintf(big + len, 700000 - len, "%d,", i);
	memcpy(big + len - 1, " FLAGS\r\n", 9);
	len += 7;
	{
		size_t used;
		int plus;

		CHECK(feed_n(big, len, IMAP_LINE_DEFAULT_BYTES, &used, &plus) ==
		    IMAP_ERROR && C->err == IE_LINELONG && used == len,
		    "FETCH with 100,000 elements: line too long, consumed");
		/* 40,000 elements of 2 bytes fit the largest line limit */
		memcpy(big, "a FETCH ", 8);
		len = 8;
		for (int i = 0; i < 40000; i++) {
			big[len++] = '7';
			big[len++] = ',';
		}
		memcpy(big + len - 1, " FLAGS\r\n", 9);
		len += 7;
		CHECK(feed_n(big, len, IMAP_CMD_MAX_BYTES, &used, &plus) ==
		    IMAP_ERROR && C->err == IE_ARGS &&
		    strstr(C->why, "too many ranges") != NULL,
		    "40,000 elements under the largest line limit: too many "
		    "ranges");
	}
	free(big);
	CHECK(ok("a FETCH 1:* FLAGS\r\n", IV_FETCH) && C->a.nseq == 1 &&
	    C->a.seq[0].hi == IMAP_SEQ_STAR, "FETCH 1:*");
	CHECK(ok("a UID FETCH 4:1,* UID\r\n", IV_FETCH) && C->uid &&
	    C->a.nseq == 2, "UID FETCH 4:1,*");
	CHECK(bad("a FETCH 0 FLAGS\r\n", "0 is not"), "FETCH 0");
	CHECK(bad("a FETCH \"1\" FLAGS\r\n", "sequence set"), "quoted set");
	CHECK(ok("a UID EXPUNGE 3:5\r\n", IV_EXPUNGE) && C->a.nseq == 1,
	    "UID EXPUNGE");
	CHECK(bad("a EXPUNGE 3:5\r\n", "no arguments"), "EXPUNGE 3:5");
}

static struct imap_fetch F;

static int
fa(const char *s)
{
	const char *why = NULL;

	F.atts = 0;
	F.nsec = 0;
	return imap_parse_fetch_att(s, strlen(s), &F, &why) == 0;
}

static void
test_fetch(void)
{
	struct imap_section *s = &F.sec[0];
	static const char *simple[] = { "FLAGS", "internaldate",
	    "RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE", "UID",
	    "RFC822", "RFC822.HEADER", "RFC822.TEXT" };
	uint32_t all = 0;

	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		CHECK(fa(simple[i]) && F.nsec == 0 && F.atts != 0 &&
		    (F.atts & all) == 0, "fetch item %s", simple[i]);
		all |= F.atts;
	}
	CHECK(fa("BODY[]") && F.nsec == 1 && !s->peek && s->nparts == 0 &&
	    s->spec == IMAP_SEC_ALL && !s->partial, "BODY[]");
	CHECK(fa("BODY.PEEK[]<0.1024>") && s->peek && s->partial &&
	    s->origin == 0 && s->count == 1024, "BODY.PEEK[]<0.1024>");
	CHECK(fa("body.peek[header]") && s->spec == IMAP_SEC_HEADER,
	    "lower case");
	CHECK(fa("BODY[TEXT]") && s->spec == IMAP_SEC_TEXT, "TEXT");
	CHECK(fa("BODY[1.2.3]") && s->nparts == 3 && s->part[0] == 1 &&
	    s->part[2] == 3 && s->spec == IMAP_SEC_ALL, "1.2.3");
	CHECK(fa("BODY[1.2.MIME]") && s->nparts == 2 && s->spec == IMAP_SEC_MIME,
	    "1.2.MIME");
	CHECK(fa("BODY[2.HEADER]") && s->spec == IMAP_SEC_HEADER, "2.HEADER");
	CHECK(fa("BODY[3.TEXT]<10.20>") && s->spec == IMAP_SEC_TEXT &&
	    s->origin == 10 && s->count == 20, "3.TEXT<10.20>");
	CHECK(fa("BODY.PEEK[HEADER.FIELDS (From To \"Subject\")]") &&
	    s->spec == IMAP_SEC_HEADER_FIELDS && s->nfields == 3 &&
	    s->field[0].len == 4 && memcmp(s->field[0].s, "From", 4) == 0 &&
	    s->field[2].len == 7 && memcmp(s->field[2].s, "Subject", 7) == 0,
	    "HEADER.FIELDS with a quoted name");
	CHECK(fa("BODY[1.HEADER.FIELDS.NOT (X-Spam)]<0.5>") &&
	    s->spec == IMAP_SEC_HEADER_FIELDS_NOT && s->nfields == 1 &&
	    s->nparts == 1 && s->partial, "1.HEADER.FIELDS.NOT");
	CHECK(fa("BODY[HEADER.FIELDS (A)]") && s->text.len == 17 &&
	    memcmp(s->text.s, "HEADER.FIELDS (A)", 17) == 0,
	    "section text kept for the response");
	CHECK(!fa("BODY[MIME]"), "MIME needs a part");
	CHECK(!fa("BODY[0]") && !fa("BODY[01]"), "part 0 / leading zero");
	CHECK(!fa("BODY[1.]") && !fa("BODY[.1]") && !fa("BODY[1..2]"),
	    "bad dots");
	CHECK(!fa("BODY[HEADER.FIELDS]") && !fa("BODY[HEADER.FIELDS ()]"),
	    "HEADER.FIELDS needs names");
	CHECK(!fa("BODY[HEADER.FIELDS (A  B)]") &&
	    !fa("BODY[HEADER.FIELDS (A:B)]") &&
	    !fa("BODY[HEADER.FIELDS (A B )]"), "bad header lists");
	CHECK(!fa("BODY[HEADER.FIELDS (A)] ") && !fa("BODY[HEADERX]") &&
	    !fa("BODY[TEXT]x"), "junk after a section");
	CHECK(!fa("BODY[]<0>") && !fa("BODY[]<0.0>") && !fa("BODY[]<.5>") &&
	    !fa("BODY[]<0.5") && !fa("BODY[]<4294967296.1>"), "bad partials");
	CHECK(!fa("BODY<0.5>") && !fa("BODY[") && !fa("FLAG") &&
	    !fa("BINARY[1]") && !fa("RFC822.PEEK"), "unknown items");
	CHECK(fa("BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21."
	    "22.23.24.25.26.27.28.29.30.31.32]") && s->nparts == 32 &&
	    !fa("BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21."
	    "22.23.24.25.26.27.28.29.30.31.32.33]"), "part depth bound");

	CHECK(ok("a FETCH 1 ALL\r\n", IV_FETCH) && C->a.fetch.atts ==
	    (IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE | IMAP_FA_RFC822_SIZE |
	    IMAP_FA_ENVELOPE), "ALL");
	CHECK(ok("a FETCH 1 fast\r\n", IV_FETCH) && C->a.fetch.atts ==
	    (IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE | IMAP_FA_RFC822_SIZE), "FAST");
	CHECK(ok("a FETCH 1 FULL\r\n", IV_FETCH) &&
	    (C->a.fetch.atts & IMAP_FA_BODY), "FULL");
	CHECK(bad("a FETCH 1 (ALL)\r\n", "unknown FETCH item"),
	    "a macro inside a list");
	CHECK(ok("a UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER."
	    "FIELDS (From To Cc Bcc Subject Date Message-ID Priority "
	    "X-Priority References Newsgroups In-Reply-To Content-Type "
	    "Reply-To)])\r\n", IV_FETCH) && C->a.fetch.nsec == 1 &&
	    C->a.fetch.sec[0].nfields == 14 && (C->a.fetch.atts & IMAP_FA_UID),
	    "Thunderbird's FETCH");
	CHECK(ok("a FETCH 2 (BODY[1] BODY.PEEK[2.MIME] BODY[]<0.100>)\r\n",
	    IV_FETCH) && C->a.fetch.nsec == 3, "three sections");
	CHECK(bad("a FETCH 1 ()\r\n", "empty"), "empty item list");
	CHECK(bad("a FETCH 1 BODY[HEADER.FIELDS (A\r\n", "unterminated ["),
	    "unterminated section");
	CHECK(bad("a FETCH 1 BODY[HEADER.FIELDS {3}\r\n", "section"),
	    "no literal inside a section");
	CHECK(bad("a FETCH 1\r\n", "FETCH takes"), "FETCH without items");
}

static void
test_store_flags(void)
{
	struct imap_store st;
	struct imap_flags *fl = &C->a.store.flags;

	CHECK(imap_parse_store_att("FLAGS", &st) == 0 &&
	    st.op == IMAP_STORE_SET && !st.silent, "FLAGS");
	CHECK(imap_parse_store_att("+flags.silent", &st) == 0 &&
	    st.op == IMAP_STORE_ADD && st.silent, "+FLAGS.SILENT");
	CHECK(imap_parse_store_att("-FLAGS", &st) == 0 &&
	    st.op == IMAP_STORE_REMOVE, "-FLAGS");
	CHECK(imap_parse_store_att("FLAGS.", &st) < 0 &&
	    imap_parse_store_att("*FLAGS", &st) < 0 &&
	    imap_parse_store_att("+-FLAGS", &st) < 0 &&
	    imap_parse_store_att("", &st) < 0, "bad STORE items");
	CHECK(ok("a STORE 1:3 +FLAGS (\\Seen \\answered \\Flagged \\Deleted "
	    "\\Draft $Forwarded)\r\n", IV_STORE) &&
	    fl->sys == (IMAP_F_SEEN | IMAP_F_ANSWERED | IMAP_F_FLAGGED |
	    IMAP_F_DELETED | IMAP_F_DRAFT) && fl->nkw == 1 &&
	    strcmp(fl->kw[0], "$Forwarded") == 0, "STORE system flags, keyword");
	CHECK(ok("a STORE 1 -FLAGS.SILENT \\Seen junk\r\n", IV_STORE) &&
	    C->a.store.op == IMAP_STORE_REMOVE && C->a.store.silent &&
	    fl->sys == IMAP_F_SEEN && fl->nkw == 1,
	    "flags without parentheses");
	CHECK(ok("a STORE 1 FLAGS ()\r\n", IV_STORE) && fl->sys == 0 &&
	    fl->nkw == 0, "FLAGS () clears");
	CHECK(bad("a STORE 1 +FLAGS (\\Recent)\r\n", "\\Recent"), "\\Recent");
	CHECK(bad("a STORE 1 +FLAGS (\\Foo)\r\n", "unknown system flag"),
	    "\\Foo");
	CHECK(bad("a STORE 1 +FLAGS (\\*)\r\n", "bad flag"), "\\*");
	CHECK(bad("a STORE 1 +FLAGS (a]b)\r\n", "bad keyword"), "] in keyword");
	CHECK(bad("a STORE 1 +FLAGS (\"x\")\r\n", "atom"), "quoted flag");
	CHECK(bad("a STORE 1 +FLAGS (a (b))\r\n", "atom"), "list in flags");
	CHECK(bad("a STORE 1 +FLAGS (a) (b)\r\n", "one flag list"),
	    "two lists");
	CHECK(bad("a STORE 1 XFLAGS (a)\r\n", "unknown STORE item"),
	    "XFLAGS");
	CHECK(bad("a STORE 1 FLAGS\r\n", "STORE takes"), "no flags");
	CHECK(bad("a STORE 1 FLAGS \\\r\n", "backslash"), "a lone backslash");
}

static void
test_commands(void)
{
	int64_t t;

	CHECK(ok("a CAPABILITY\r\n", IV_CAPABILITY) && ok("a LOGOUT\r\n",
	    IV_LOGOUT) && ok("a STARTTLS\r\n", IV_STARTTLS) &&
	    ok("a CHECK\r\n", IV_CHECK) && ok("a CLOSE\r\n", IV_CLOSE) &&
	    ok("a EXPUNGE\r\n", IV_EXPUNGE) && ok("a IDLE\r\n", IV_IDLE) &&
	    ok("a UNSELECT\r\n", IV_UNSELECT) &&
	    ok("a NAMESPACE\r\n", IV_NAMESPACE), "commands without arguments");
	CHECK(ok("a AUTHENTICATE PLAIN\r\n", IV_AUTHENTICATE) &&
	    strcmp(C->a.mech, "PLAIN") == 0 && C->a.ir == NULL,
	    "AUTHENTICATE PLAIN");
	CHECK(ok("a AUTHENTICATE PLAIN AGFsaWNlAHB3\r\n", IV_AUTHENTICATE) &&
	    strcmp(C->a.ir, "AGFsaWNlAHB3") == 0, "SASL-IR");
	CHECK(ok("a AUTHENTICATE PLAIN =\r\n", IV_AUTHENTICATE) &&
	    strcmp(C->a.ir, "=") == 0, "SASL-IR empty");
	CHECK(bad("a AUTHENTICATE PLAIN a*b\r\n", "base64"), "bad IR");
	CHECK(bad("a AUTHENTICATE\r\n", "mechanism"), "no mechanism");
	CHECK(bad("a AUTHENTICATE \"PLAIN\"\r\n", "mechanism"), "quoted mech");
	CHECK(bad("a LOGIN alice\r\n", "LOGIN takes"), "LOGIN one arg");
	CHECK(bad("a LOGIN (a) b\r\n", "LOGIN takes"), "LOGIN list");
	CHECK(bad("a LOGIN a% b\r\n", "LOGIN takes"), "%% is not an astring");
	CHECK(ok("a SELECT INBOX\r\n", IV_SELECT) && ok("a EXAMINE \"A B\"\r\n",
	    IV_EXAMINE) && ok("a CREATE &AOk-t&AOk-\r\n", IV_CREATE) &&
	    ok("a DELETE x\r\n", IV_DELETE) && ok("a SUBSCRIBE x\r\n",
	    IV_SUBSCRIBE) && ok("a UNSUBSCRIBE x\r\n", IV_UNSUBSCRIBE),
	    "mailbox commands");
	CHECK(bad("a SELECT\r\n", "one mailbox") &&
	    bad("a SELECT a b\r\n", "one mailbox") &&
	    bad("a SELECT a*\r\n", "one mailbox"), "mailbox arity and kind");
	CHECK(ok("a RENAME a \"b c\"\r\n", IV_RENAME) &&
	    strcmp(C->a.mailbox2, "b c") == 0, "RENAME");
	CHECK(bad("a RENAME a\r\n", "RENAME"), "RENAME one");
	CHECK(ok("a LIST \"\" \"*\"\r\n", IV_LIST) && C->a.list_select < 0 &&
	    C->a.pattern > 0, "LIST");
	CHECK(ok("a LIST (SPECIAL-USE) \"\" (* %) RETURN (CHILDREN)\r\n",
	    IV_LIST) && C->a.list_select > 0 && C->a.list_return > 0 &&
	    C->node[C->a.pattern].kind == IT_LIST, "extended LIST");
	CHECK(bad("a LIST \"\" (*)\r\n", "pattern"),
	    "pattern list needs selection options");
	CHECK(bad("a LIST \"\"\r\n", "LIST takes"), "LIST arity");
	CHECK(bad("a LIST \"\" * RETURN\r\n", "LIST takes"), "LIST RETURN");
	CHECK(bad("a LIST \"\" * FOO (x)\r\n", "RETURN"), "LIST junk");
	CHECK(ok("a LSUB \"\" %\r\n", IV_LSUB), "LSUB");
	CHECK(ok("a STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY unseen)"
	    "\r\n", IV_STATUS) && C->a.status == 0x1f, "STATUS");
	CHECK(bad("a STATUS INBOX (SIZE)\r\n", "unknown STATUS item"),
	    "STATUS SIZE");
	CHECK(bad("a STATUS INBOX ()\r\n", "STATUS takes") &&
	    bad("a STATUS INBOX MESSAGES\r\n", "STATUS takes"), "STATUS shape");
	CHECK(ok("a APPEND INBOX {5}\r\nhello\r\n", IV_APPEND) &&
	    C->a.message > 0 && C->node[C->a.message].external &&
	    C->node[C->a.message].len == 5 && !C->a.has_date &&
	    C->a.flags.sys == 0, "APPEND: the message is taken by the session");
	CHECK(ok("a APPEND INBOX (\\Seen kw) \" 5-Dec-2026 01:02:03 +0100\" "
	    "{3+}\r\nabc\r\n", IV_APPEND) && C->a.has_date &&
	    C->a.date == 1796428923 && C->a.flags.sys == IMAP_F_SEEN &&
	    C->a.flags.nkw == 1, "APPEND with flags and date");
	CHECK(ok("a APPEND {5}\r\nINBOX {2}\r\nhi\r\n", IV_APPEND) &&
	    strcmp(C->a.mailbox, "INBOX") == 0 &&
	    C->node[C->a.message].external, "APPEND: literal mailbox inline, "
	    "message external");
	CHECK(bad("a APPEND INBOX\r\n", "APPEND takes") &&
	    bad("a APPEND INBOX \"x\"\r\n", "APPEND takes") &&
	    bad("a APPEND INBOX {1}\r\nx (x)\r\n", "APPEND takes"),
	    "APPEND shape");
	CHECK(bad("a APPEND INBOX \"32-Jan-2020 00:00:00 +0000\" {1}\r\nx\r\n",
	    "date-time"), "bad APPEND date");
	CHECK(imap_parse_datetime("01-Jan-1970 00:00:00 +0000", 26, &t) == 0 &&
	    t == 0, "epoch");
	CHECK(imap_parse_datetime("29-Feb-2024 23:59:59 -0130", 26, &t) == 0 &&
	    t == 1709251199 + 5400, "leap day, negative zone");
	CHECK(imap_parse_datetime("29-Feb-2023 00:00:00 +0000", 26, &t) < 0 &&
	    imap_parse_datetime("01-Foo-2023 00:00:00 +0000", 26, &t) < 0 &&
	    imap_parse_datetime("01-Jan-2023 24:00:00 +0000", 26, &t) < 0 &&
	    imap_parse_datetime("01-Jan-2023 00:00:00 0000", 25, &t) < 0 &&
	    imap_parse_datetime("1-Jan-2023 00:00:00 +0000", 25, &t) < 0,
	    "bad dates");
	CHECK(ok("a SEARCH UNSEEN\r\n", IV_SEARCH) && C->a.charset == NULL &&
	    C->a.search_key == imap_arg(C, 0), "SEARCH");
	CHECK(ok("a UID SEARCH CHARSET UTF-8 SUBJECT \"caf\xc3\xa9\"\r\n",
	    IV_SEARCH) && strcmp(C->a.charset, "UTF-8") == 0 &&
	    C->a.search_key == imap_arg(C, 2), "UID SEARCH CHARSET");
	CHECK(bad("a SEARCH\r\n", "search keys") &&
	    bad("a SEARCH CHARSET UTF-8\r\n", "CHARSET"), "SEARCH shape");
	CHECK(ok("a COPY 1:2 Trash\r\n", IV_COPY) && ok("a UID MOVE 5 "
	    "\"Sent Items\"\r\n", IV_MOVE) && strcmp(C->a.mailbox,
	    "Sent Items") == 0, "COPY, UID MOVE");
	CHECK(bad("a COPY 1:2\r\n", "sequence set and a mailbox"), "COPY arity");
	CHECK(ok("a ID (\"name\" \"Thunderbird\" \"version\" NIL)\r\n", IV_ID) &&
	    C->a.id_list > 0, "ID");
	CHECK(bad("a ID (\"name\")\r\n", "pairs") &&
	    bad("a ID (name \"x\")\r\n", "field") &&
	    bad("a ID (\"0123456789012345678901234567890\" \"x\")\r\n", "field"),
	    "bad ID");
	CHECK(ok("a ENABLE UTF8=ACCEPT CONDSTORE\r\n", IV_ENABLE) &&
	    C->a.enable > 0, "ENABLE");
	CHECK(bad("a ENABLE\r\n", "ENABLE") && bad("a ENABLE \"x\"\r\n",
	    "ENABLE"), "bad ENABLE");
	CHECK(strcmp(imap_err_text(IE_LINELONG), "line too long") == 0,
	    "error texts");
}

static void
test_limits(void)
{
	char *buf = malloc(IMAP_CMD_MAX_BYTES);
	size_t n, used;
	int plus;

	if (buf == NULL)
		abort();
	/* more tokens than IMAP_TOKENS_MAX_COUNT in a legal line */
	n = (size_t)snprintf(buf, 64, "a SEARCH");
	for (int i = 0; i < IMAP_TOKENS_MAX_COUNT + 1; i++) {
		buf[n++] = ' ';
		buf[n++] = 'X';
	}
	memcpy(buf + n, "\r\n", 2);
	CHECK(feed_n(buf, n + 2, IMAP_LINE_DEFAULT_BYTES, &used, &plus) ==
	    IMAP_ERROR && C->err == IE_LIMIT, "too many tokens");
	/* many inline literals: the command's total is bounded */
	{
		static char lit[40000];
		size_t used2 = 0;
		int r;

		memset(lit, 'q', sizeof(lit));
		imap_cmd_reset(C, IMAP_LINE_DEFAULT_BYTES);
		r = imap_cmd_line(C, "a SEARCH TEXT {40000}\r\n", 23);
		for (int i = 0; i < 10 && r == IMAP_LITERAL; i++) {
			r = imap_cmd_literal(C, lit, sizeof(lit));
			used2++;
			if (r == IMAP_NEXT_LINE)
				r = imap_cmd_line(C, " TEXT {40000}\r\n", 15);
		}
		CHECK(r == IMAP_ERROR && C->err == IE_TOOBIG && used2 == 6,
		    "a command's literals are bounded in total");
	}
	free(buf);
}

static void
test_misuse(void)
{
	imap_cmd_reset(C, IMAP_LINE_DEFAULT_BYTES);
	CHECK(imap_cmd_literal(C, "x", 1) == IMAP_ERROR, "literal without one");
	imap_cmd_reset(C, IMAP_LINE_DEFAULT_BYTES);
	CHECK(imap_cmd_line(C, "a LOGIN {2}\r\n", 13) == IMAP_LITERAL &&
	    imap_cmd_literal(C, "abc", 3) == IMAP_ERROR, "too many bytes");
	imap_cmd_reset(C, IMAP_LINE_DEFAULT_BYTES);
	CHECK(imap_cmd_line(C, "a LOGIN {2}\r\n", 13) == IMAP_LITERAL &&
	    imap_cmd_literal_external(C) == IMAP_ERROR,
	    "an external literal only for APPEND's message");
	imap_cmd_reset(C, IMAP_LINE_DEFAULT_BYTES);
	CHECK(imap_cmd_line(C, "a NOOP\r\n", 8) == IMAP_DONE &&
	    imap_cmd_line(C, "a NOOP\r\n", 8) == IMAP_ERROR,
	    "a line after the end without a reset");
}

int
main(void)
{
	C = imap_cmd_new();
	if (C == NULL)
		return 1;
	test_tokens();
	test_hostile();
	test_lines();
	test_nesting();
	test_seqset();
	test_fetch();
	test_store_flags();
	test_commands();
	test_limits();
	test_misuse();
	imap_cmd_free(C);
	return check_done();
}
