/* Unit tests for the POP3 command parser (workers/pop3_parse.c). */
#include <string.h>

#include "t/unit/check.h"
#include "workers/pop3_parse.h"

static enum pop3_perr
parse(const char *s, struct pop3_cmd *c)
{
	return pop3_parse_line(s, strlen(s), c);
}

/* The line parses, and its number argument i is valid in [min, max]. */
static int
num_ok(const char *line, int i, uint32_t min, uint32_t max, uint32_t *v)
{
	struct pop3_cmd c;

	if (parse(line, &c) != P3E_OK || c.nargs <= i)
		return 0;
	return pop3_parse_num(c.arg[i], min, max, v) == 0;
}

static void
test_keywords(void)
{
	struct pop3_cmd c;
	static const char *ok[] = { "STAT", "stat", "StAt", "QUIT", "quit",
	    "NOOP", "rset", "CAPA", "capa", "STLS", "LIST", "UIDL", "AUTH" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(parse(ok[i], &c) == P3E_OK && c.nargs == 0,
		    "'%s' parses without arguments", ok[i]);
	CHECK(parse("retr 1", &c) == P3E_OK && c.verb == P3_RETR &&
	    c.nargs == 1 && strcmp(c.arg[0], "1") == 0, "lower-case retr 1");
	CHECK(parse("Top 1 10", &c) == P3E_OK && c.verb == P3_TOP &&
	    c.nargs == 2 && strcmp(c.arg[1], "10") == 0, "Top 1 10");
	CHECK(parse("user Alice", &c) == P3E_OK && c.verb == P3_USER &&
	    strcmp(c.arg[0], "Alice") == 0, "argument case kept");
	CHECK(parse("XTND", &c) == P3E_UNKNOWN, "unknown keyword");
	CHECK(parse("RETRR 1", &c) == P3E_UNKNOWN, "5-letter keyword");
	CHECK(parse("RE 1", &c) == P3E_UNKNOWN, "2-letter keyword");
	CHECK(parse("", &c) == P3E_EMPTY, "empty line");
	CHECK(parse(" STAT", &c) == P3E_UNKNOWN, "leading space");
	CHECK(parse("HELO x", &c) == P3E_UNKNOWN, "SMTP verb");
	CHECK(strcmp(pop3_verb_name(P3_UIDL), "UIDL") == 0, "verb name");
}

static void
test_arity(void)
{
	struct pop3_cmd c;

	CHECK(parse("STAT 1", &c) == P3E_SYNTAX, "STAT takes no argument");
	CHECK(parse("RETR", &c) == P3E_SYNTAX && c.verb == P3_RETR,
	    "RETR needs one");
	CHECK(parse("RETR 1 2", &c) == P3E_SYNTAX, "RETR takes one");
	CHECK(parse("TOP 1", &c) == P3E_SYNTAX, "TOP needs two");
	CHECK(parse("TOP 1 2 3", &c) == P3E_SYNTAX, "TOP takes two");
	CHECK(parse("LIST 1 2", &c) == P3E_SYNTAX, "LIST at most one");
	CHECK(parse("LIST ", &c) == P3E_SYNTAX, "trailing space");
	CHECK(parse("RETR  1", &c) == P3E_SYNTAX, "double space");
	CHECK(parse("TOP 1  2", &c) == P3E_SYNTAX, "double space between args");
	CHECK(parse("TOP 1 2 ", &c) == P3E_SYNTAX, "trailing space after args");
	CHECK(parse("USER", &c) == P3E_SYNTAX, "USER needs a name");
	CHECK(parse("PASS", &c) == P3E_SYNTAX, "PASS needs a password");
	CHECK(parse("PASS ", &c) == P3E_SYNTAX, "PASS empty");
	CHECK(parse("PASS my secret pw", &c) == P3E_OK && c.nargs == 1 &&
	    strcmp(c.arg[0], "my secret pw") == 0, "PASS keeps spaces");
	CHECK(parse("USER a b", &c) == P3E_SYNTAX, "USER takes one");
	CHECK(parse("AUTH PLAIN", &c) == P3E_OK && c.nargs == 1, "AUTH PLAIN");
	CHECK(parse("AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", &c) == P3E_OK &&
	    c.nargs == 2 && strcmp(c.arg[1], "AGFsaWNlAGFsaWNlcHc=") == 0,
	    "AUTH PLAIN initial response");
	CHECK(parse("AUTH PLAIN a b", &c) == P3E_SYNTAX, "AUTH 3 args");
	CHECK(parse("APOP a b", &c) == P3E_OK && c.verb == P3_APOP,
	    "APOP parses (and is refused by the session)");
}

static void
test_lengths(void)
{
	struct pop3_cmd c;
	char line[600];
	char arg[100];

	memset(arg, 'a', 40);
	arg[40] = '\0';
	snprintf(line, sizeof(line), "USER %s", arg);
	CHECK(parse(line, &c) == P3E_OK && strlen(c.arg[0]) == 40,
	    "40-octet argument accepted");
	memset(arg, 'a', 41);
	arg[41] = '\0';
	snprintf(line, sizeof(line), "USER %s", arg);
	CHECK(parse(line, &c) == P3E_ARGLONG && c.verb == P3_USER,
	    "41-octet argument refused");
	memset(arg, '0', 40);
	arg[40] = '1';
	arg[41] = '\0';
	snprintf(line, sizeof(line), "RETR %s", arg);
	CHECK(parse(line, &c) == P3E_ARGLONG, "41-digit number refused");

	/* 253 octets + CRLF = 255: the limit */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PASS ", 5);
	line[253] = '\0';
	CHECK(parse(line, &c) == P3E_OK && strlen(c.arg[0]) == 248,
	    "253-octet line (255 with CRLF) accepted");
	line[253] = 'x';
	line[254] = '\0';
	CHECK(parse(line, &c) == P3E_LINELONG, "254-octet line refused");
	memcpy(line, "AUTH PLAIN ", 11);
	line[253] = '\0';
	CHECK(parse(line, &c) == P3E_OK && strlen(c.arg[1]) == 242,
	    "AUTH initial response may exceed 40 octets");
	memset(line, 'x', sizeof(line));
	memcpy(line, "USER ", 5);
	line[253] = '\0';
	CHECK(parse(line, &c) == P3E_ARGLONG, "USER 248 octets refused");
}

static void
test_control(void)
{
	struct pop3_cmd c;

	CHECK(pop3_parse_line("STAT\0", 5, &c) == P3E_CTRL, "NUL at end voids");
	CHECK(pop3_parse_line("RETR \0001", 7, &c) == P3E_CTRL, "NUL inside voids");
	CHECK(pop3_parse_line("\0STAT", 5, &c) == P3E_CTRL, "NUL first voids");
	CHECK(pop3_parse_line("PASS a\0b", 8, &c) == P3E_CTRL,
	    "NUL in password voids");
	CHECK(parse("STAT\r", &c) == P3E_CTRL, "bare CR voids");
	CHECK(parse("RETR\t1", &c) == P3E_CTRL, "TAB voids");
	CHECK(parse("NOOP\x7f", &c) == P3E_CTRL, "DEL voids");
	CHECK(parse("PASS p\xc3\xa4ss", &c) == P3E_OK, "8-bit password ok");
}

static void
test_numbers(void)
{
	uint32_t v = 99;

	CHECK(num_ok("RETR 1", 0, 1, UINT32_MAX, &v) && v == 1, "RETR 1");
	CHECK(num_ok("LIST 4294967295", 0, 1, UINT32_MAX, &v) &&
	    v == 4294967295u, "LIST 4294967295 in range");
	CHECK(!num_ok("LIST 4294967296", 0, 1, UINT32_MAX, &v), "LIST 4294967296");
	CHECK(!num_ok("LIST 4294967297", 0, 1, UINT32_MAX, &v), "LIST 4294967297");
	CHECK(!num_ok("LIST 99999999999999999999", 0, 1, UINT32_MAX, &v),
	    "20 digits");
	CHECK(!num_ok("RETR 0", 0, 1, UINT32_MAX, &v), "RETR 0");
	CHECK(!num_ok("RETR -1", 0, 1, UINT32_MAX, &v), "RETR -1");
	CHECK(!num_ok("RETR +1", 0, 1, UINT32_MAX, &v), "RETR +1");
	CHECK(!num_ok("RETR 1x", 0, 1, UINT32_MAX, &v), "RETR 1x");
	CHECK(!num_ok("RETR x", 0, 1, UINT32_MAX, &v), "RETR x");
	CHECK(!num_ok("RETR 0x1", 0, 1, UINT32_MAX, &v), "RETR 0x1");
	CHECK(!num_ok("RETR 1.0", 0, 1, UINT32_MAX, &v), "RETR 1.0");
	CHECK(!num_ok("RETR 1e3", 0, 1, UINT32_MAX, &v), "RETR 1e3");
	CHECK(num_ok("RETR 007", 0, 1, UINT32_MAX, &v) && v == 7,
	    "leading zeros within 40 octets");
	CHECK(!num_ok("TOP 1 x", 1, 0, UINT32_MAX, &v), "TOP 1 x");
	CHECK(!num_ok("TOP 1 -1", 1, 0, UINT32_MAX, &v), "TOP 1 -1");
	CHECK(num_ok("TOP 1 0", 1, 0, UINT32_MAX, &v) && v == 0, "TOP 1 0");
	CHECK(pop3_parse_num("5", 1, 4, &v) < 0, "above max");
	CHECK(pop3_parse_num("", 0, 4, &v) < 0, "empty");
	CHECK(pop3_parse_num(" 1", 0, 4, &v) < 0, "leading space");
}

static void
test_base64(void)
{
	unsigned char out[64];
	long n;

	n = pop3_b64_decode("AGFsaWNlAGFsaWNlcHc=", 20, out, sizeof(out));
	CHECK(n == 14 && memcmp(out, "\0alice\0alicepw", 14) == 0,
	    "PLAIN blob decodes");
	CHECK(pop3_b64_decode("TWFu", 4, out, sizeof(out)) == 3 &&
	    memcmp(out, "Man", 3) == 0, "no padding");
	CHECK(pop3_b64_decode("TWE=", 4, out, sizeof(out)) == 2, "one pad");
	CHECK(pop3_b64_decode("TQ==", 4, out, sizeof(out)) == 1, "two pads");
	CHECK(pop3_b64_decode("=", 1, out, sizeof(out)) == 0, "'=' is empty");
	CHECK(pop3_b64_decode("TWE", 3, out, sizeof(out)) < 0, "not multiple of 4");
	CHECK(pop3_b64_decode("TW=E", 4, out, sizeof(out)) < 0, "pad inside");
	CHECK(pop3_b64_decode("T===", 4, out, sizeof(out)) < 0, "three pads");
	CHECK(pop3_b64_decode("TQ==TWFu", 8, out, sizeof(out)) < 0,
	    "data after pad");
	CHECK(pop3_b64_decode("TR==", 4, out, sizeof(out)) < 0,
	    "non-zero unused bits");
	CHECK(pop3_b64_decode("TWF u", 5, out, sizeof(out)) < 0, "space");
	CHECK(pop3_b64_decode("TW-u", 4, out, sizeof(out)) < 0, "url alphabet");
	CHECK(pop3_b64_decode("", 0, out, sizeof(out)) < 0, "empty string");
	CHECK(pop3_b64_decode("TWFuTWFu", 8, out, 5) < 0, "output overflow");
}

static void
test_plain(void)
{
	char user[LIM_NAME + 1], pass[LIM_PASSWORD];
	unsigned char big[400];

	CHECK(pop3_sasl_plain((const unsigned char *)"\0alice\0pw", 9, user, pass)
	    == 0 && strcmp(user, "alice") == 0 && strcmp(pass, "pw") == 0,
	    "empty authzid");
	CHECK(pop3_sasl_plain((const unsigned char *)"alice\0alice\0pw", 14,
	    user, pass) == 0 && strcmp(user, "alice") == 0,
	    "authzid == authcid");
	CHECK(pop3_sasl_plain((const unsigned char *)"bob\0alice\0pw", 12,
	    user, pass) < 0, "authzid != authcid refused");
	CHECK(pop3_sasl_plain((const unsigned char *)"\0alice\0", 7, user, pass)
	    < 0, "empty password");
	CHECK(pop3_sasl_plain((const unsigned char *)"\0\0pw", 4, user, pass)
	    < 0, "empty authcid");
	CHECK(pop3_sasl_plain((const unsigned char *)"\0alice", 6, user, pass)
	    < 0, "one NUL only");
	CHECK(pop3_sasl_plain((const unsigned char *)"alice", 5, user, pass)
	    < 0, "no NUL");
	CHECK(pop3_sasl_plain((const unsigned char *)"\0alice\0p\0w", 10,
	    user, pass) < 0, "NUL in password");
	memset(big, 'a', sizeof(big));
	big[0] = '\0';
	big[66] = '\0';     /* authcid of 65 octets */
	CHECK(pop3_sasl_plain(big, 80, user, pass) < 0, "authcid too long");
	big[66] = 'a';
	big[5] = '\0';
	CHECK(pop3_sasl_plain(big, sizeof(big), user, pass) < 0,
	    "password too long");
	CHECK(pop3_sasl_plain(big, 5 + 1 + 255, user, pass) == 0 &&
	    strlen(pass) == 255, "255-octet password ok");
}

int
main(void)
{
	test_keywords();
	test_arity();
	test_lengths();
	test_control();
	test_numbers();
	test_base64();
	test_plain();
	return check_done();
}
