/* Unit tests: SMTP command, path and parameter parsing (workers/smtp_parse.c). */
#include <stdint.h>
#include <string.h>

#include "t/unit/check.h"
#include "workers/smtp_parse.h"

static enum smtp_verb
verb(const char *s, char *argout, size_t argsz)
{
	char line[600];
	char *arg = NULL;
	enum smtp_verb v;

	snprintf(line, sizeof(line), "%s", s);
	v = smtp_parse_verb(line, &arg);
	if (argout != NULL)
		snprintf(argout, argsz, "%s", v == V_NONE || arg == NULL ? "" : arg);
	return v;
}

static int
path(const char *arg, const char *kw, int flags, struct smtp_addr *a, char *params,
    size_t psz)
{
	char buf[1200];
	char *p = NULL;
	int r;

	snprintf(buf, sizeof(buf), "%s", arg);
	r = smtp_parse_path_arg(buf, kw, flags, a, &p);
	if (params != NULL)
		snprintf(params, psz, "%s", r == SP_OK ? p : "");
	return r;
}

static int
mail_ok(const char *arg)
{
	struct smtp_addr a;
	return path(arg, "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_OK;
}

static int
rcpt_ok(const char *arg)
{
	struct smtp_addr a;
	return path(arg, "TO:", PATH_POSTMASTER_OK, &a, NULL, 0) == SP_OK;
}

static int
mparams(const char *s, bool esmtp, struct smtp_mail_params *p)
{
	char buf[600];

	snprintf(buf, sizeof(buf), "%s", s);
	return smtp_parse_mail_params(buf, esmtp, p);
}

static void
test_verbs(void)
{
	char arg[600];

	CHECK(verb("HELO x.example", arg, sizeof(arg)) == V_HELO && strcmp(arg, "x.example") == 0,
	    "HELO with argument");
	CHECK(verb("ehlo  x.example  \t ", arg, sizeof(arg)) == V_EHLO && strcmp(arg, "x.example") == 0,
	    "ehlo lower case, extra spaces trimmed");
	CHECK(verb("MAIL FROM:<a@b>", arg, sizeof(arg)) == V_MAIL && strcmp(arg, "FROM:<a@b>") == 0,
	    "MAIL verb and argument");
	CHECK(verb("QUIT", arg, sizeof(arg)) == V_QUIT && arg[0] == '\0', "QUIT without argument");
	CHECK(verb("StartTLS", NULL, 0) == V_STARTTLS, "STARTTLS any case");
	CHECK(verb("MAILFROM:<a@b>", NULL, 0) == V_NONE, "MAILFROM: is unknown");
	CHECK(verb(" HELO x", NULL, 0) == V_NONE, "leading space is unknown");
	CHECK(verb("HELO\tx", NULL, 0) == V_NONE, "tab separator is unknown");
	CHECK(verb("", NULL, 0) == V_NONE, "empty line is unknown");
	CHECK(verb("FOO bar", NULL, 0) == V_NONE, "unknown verb");
	CHECK(verb("HEL", NULL, 0) == V_NONE, "prefix of a verb is unknown");
	CHECK(verb("HELOO x", NULL, 0) == V_NONE, "verb with extra letter is unknown");
	CHECK(verb("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, 0) == V_NONE, "long word unknown");
	CHECK(strcmp(smtp_verb_name(V_RCPT), "RCPT") == 0 && strcmp(smtp_verb_name(V_MAX), "?") == 0,
	    "verb names");
}

static void
test_paths(void)
{
	struct smtp_addr a;
	char params[600];
	char big[1200];

	CHECK(path("FROM:<alice@example.org>", "FROM:", PATH_NULL_OK, &a, params, sizeof(params)) == SP_OK &&
	    strcmp(a.local, "alice") == 0 && strcmp(a.domain, "example.org") == 0 &&
	    strcmp(a.text, "alice@example.org") == 0 && params[0] == '\0' && !a.null,
	    "plain mailbox");
	CHECK(path("from:<>", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_OK && a.null, "null sender");
	CHECK(path("TO:<>", "TO:", PATH_POSTMASTER_OK, &a, NULL, 0) == SP_BADADDR, "<> not a recipient");
	CHECK(path("FROM: <alice@example.org>", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_OK,
	    "space after colon tolerated");
	CHECK(path("FROM:alice@example.org", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_BADADDR,
	    "missing brackets refused");
	CHECK(path("FROM:<alice@example.org", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_BADADDR,
	    "missing closing bracket refused");
	CHECK(path("FRM:<alice@example.org>", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_SYNTAX,
	    "missing FROM: is a syntax error");
	CHECK(path("FROM:", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_SYNTAX, "FROM: alone");
	CHECK(path("FROM:<alice@example.org>x", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_BADADDR,
	    "junk after bracket");
	CHECK(path("FROM:<alice@example.org> SIZE=10 BODY=8BITMIME", "FROM:", PATH_NULL_OK, &a,
	    params, sizeof(params)) == SP_OK && strcmp(params, "SIZE=10 BODY=8BITMIME") == 0,
	    "parameters split off");
	CHECK(!mail_ok("FROM:<alice @example.org>"), "space in local part");
	CHECK(!mail_ok("FROM:<alice@ example.org>"), "space before domain");
	CHECK(!mail_ok("FROM:< alice@example.org>"), "space after <");
	CHECK(!mail_ok("FROM:<alice>"), "no domain in MAIL");
	CHECK(!mail_ok("FROM:<@example.org>"), "empty local part");
	CHECK(!mail_ok("FROM:<alice@>"), "empty domain");
	CHECK(!mail_ok("FROM:<.alice@example.org>"), "leading dot");
	CHECK(!mail_ok("FROM:<alice.@example.org>"), "trailing dot");
	CHECK(!mail_ok("FROM:<al..ice@example.org>"), "double dot");
	CHECK(mail_ok("FROM:<a.l+i_c-e@sub.example.org>"), "dotted local with + _ -");
	CHECK(!mail_ok("FROM:<alice@-example.org>"), "label starting with -");
	CHECK(!mail_ok("FROM:<alice@example-.org>"), "label ending with -");
	CHECK(!mail_ok("FROM:<alice@example..org>"), "empty label");
	CHECK(!mail_ok("FROM:<alice@example.org.>"), "trailing dot in domain");
	CHECK(!mail_ok("FROM:<alice@exa_mple.org>"), "underscore in domain");
	CHECK(!mail_ok("FROM:<alice@example.org@x.org>"), "two @");

	/* quoted local parts */
	CHECK(path("FROM:<\"john doe\"@example.org>", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_OK &&
	    strcmp(a.local, "john doe") == 0 && strcmp(a.text, "\"john doe\"@example.org") == 0,
	    "quoted local part unquoted");
	CHECK(path("TO:<\"a\\\"b\\\\c\"@example.org>", "TO:", 0, &a, NULL, 0) == SP_OK &&
	    strcmp(a.local, "a\"b\\c") == 0, "quoted pairs");
	CHECK(path("TO:<\"a>b\"@example.org>", "TO:", 0, &a, NULL, 0) == SP_OK &&
	    strcmp(a.local, "a>b") == 0, "> inside quotes");
	CHECK(path("TO:<\"alice\"@example.org>", "TO:", 0, &a, NULL, 0) == SP_OK &&
	    strcmp(a.local, "alice") == 0, "quoted plain name");
	CHECK(!rcpt_ok("TO:<\"abc@example.org>"), "unterminated quote");
	CHECK(!rcpt_ok("TO:<\"a\tb\"@example.org>"), "tab in quoted string");
	CHECK(!rcpt_ok("TO:<\"a\\\x01\"@example.org>"), "quoted pair of a control");
	CHECK(path("TO:<\"\"@example.org>", "TO:", 0, &a, NULL, 0) == SP_OK && a.local[0] == '\0',
	    "empty quoted local part parses (refused later)");

	/* source routes */
	CHECK(path("TO:<@a.example,@b.example:bob@example.org>", "TO:", 0, &a, NULL, 0) == SP_OK &&
	    strcmp(a.local, "bob") == 0 && strcmp(a.domain, "example.org") == 0 &&
	    strcmp(a.text, "bob@example.org") == 0, "source route ignored");
	CHECK(rcpt_ok("TO:<@a.example:bob@example.org>"), "one-hop source route");
	CHECK(!rcpt_ok("TO:<@a.example,bob@example.org>"), "source route without colon");
	CHECK(!rcpt_ok("TO:<@:bob@example.org>"), "empty source route domain");
	CHECK(!rcpt_ok("TO:<@a.example,:bob@example.org>"), "trailing comma in route");

	/* postmaster */
	CHECK(path("TO:<postmaster>", "TO:", PATH_POSTMASTER_OK, &a, NULL, 0) == SP_OK &&
	    a.bare_postmaster && strcmp(a.local, "postmaster") == 0, "bare <postmaster>");
	CHECK(path("TO:<PostMaster>", "TO:", PATH_POSTMASTER_OK, &a, NULL, 0) == SP_OK &&
	    a.bare_postmaster, "bare <PostMaster>");
	CHECK(path("FROM:<postmaster>", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_BADADDR,
	    "bare postmaster not a sender");
	CHECK(!rcpt_ok("TO:<bob>"), "bare name is not a recipient");

	/* address literals */
	CHECK(path("TO:<bob@[192.0.2.1]>", "TO:", 0, &a, NULL, 0) == SP_OK &&
	    strcmp(a.domain, "[192.0.2.1]") == 0, "IPv4 literal");
	CHECK(rcpt_ok("TO:<bob@[IPv6:2001:db8::1]>"), "IPv6 literal");
	CHECK(!rcpt_ok("TO:<bob@[300.0.0.1]>"), "bad IPv4 literal");
	CHECK(!rcpt_ok("TO:<bob@[IPv6:zz::1]>"), "bad IPv6 literal");
	CHECK(!rcpt_ok("TO:<bob@[]>"), "empty literal");
	CHECK(rcpt_ok("TO:<bob@[x-tag:stuff]>"), "general address literal");

	/* shell metacharacters */
	CHECK(!mail_ok("FROM:<;sleep 5;>"), "<;sleep 5;> refused");
	CHECK(!mail_ok("FROM:<;sleep 5;@example.org>"), "; in local part refused");
	CHECK(!mail_ok("FROM:<`touch /tmp/x`@example.org>"), "backquotes refused");
	CHECK(!mail_ok("FROM:<\"`id`\"@example.org>"), "backquotes refused inside quotes");
	CHECK(!mail_ok("FROM:<$(id)@example.org>"), "$( refused");
	CHECK(!mail_ok("FROM:<a|b@example.org>"), "| refused");
	CHECK(!mail_ok("FROM:<a@b.org;reboot>"), "; after domain refused");

	/* lengths */
	memset(big, 'a', 64);
	snprintf(big + 64, sizeof(big) - 64, "@example.org>");
	{
		char arg[1300];
		snprintf(arg, sizeof(arg), "TO:<%s", big);
		CHECK(rcpt_ok(arg), "64-octet local part accepted");
	}
	memset(big, 'a', 65);
	snprintf(big + 65, sizeof(big) - 65, "@example.org>");
	{
		char arg[1300];
		snprintf(arg, sizeof(arg), "TO:<%s", big);
		CHECK(!rcpt_ok(arg), "65-octet local part refused");
	}
	{
		/* a 64-octet local part and a domain of 4 labels of 60: > 256 */
		char arg[1300];
		int n = snprintf(arg, sizeof(arg), "TO:<%.64s@", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		for (int i = 0; i < 4; i++)
			n += snprintf(arg + n, sizeof(arg) - (size_t)n, "%.60s.",
			    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
		snprintf(arg + n, sizeof(arg) - (size_t)n, "org>");
		CHECK(!rcpt_ok(arg), "path over 256 octets refused");
	}
	{
		char arg[200];
		snprintf(arg, sizeof(arg), "TO:<a@%.64s.org>",
		    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
		CHECK(!rcpt_ok(arg), "64-octet label refused");
	}

	/* UTF-8 */
	CHECK(path("FROM:<j\xc3\xb6rg@example.org>", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_OK &&
	    a.utf8, "UTF-8 local part parsed and flagged");
	CHECK(path("FROM:<alice@b\xc3\xbc" "cher.example>", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_OK &&
	    a.utf8, "UTF-8 domain (U-label)");
	CHECK(path("FROM:<alice@example.org>", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_OK && !a.utf8,
	    "ASCII not flagged");
	CHECK(!mail_ok("FROM:<j\xc3rg@example.org>"), "truncated UTF-8 refused");
	CHECK(!mail_ok("FROM:<j\xc0\xafrg@example.org>"), "overlong UTF-8 refused");
	CHECK(!mail_ok("FROM:<j\xed\xa0\x80rg@example.org>"), "surrogate refused");
	CHECK(!mail_ok("FROM:<j\xf4\x90\x80\x80rg@example.org>"), "> U+10FFFF refused");
	CHECK(!mail_ok("FROM:<j\xffrg@example.org>"), "0xff refused");
	CHECK(path("FROM:<\"j\xc3\xb6 rg\"@example.org>", "FROM:", PATH_NULL_OK, &a, NULL, 0) == SP_OK &&
	    a.utf8, "UTF-8 in quoted string");
	CHECK(smtp_utf8_valid((const unsigned char *)"\xe2\x82\xac\xf0\x9f\x98\x80", 7), "valid UTF-8");
	CHECK(!smtp_utf8_valid((const unsigned char *)"\xe2\x82", 2), "short UTF-8");
	CHECK(!smtp_utf8_valid((const unsigned char *)"\xe0\x80\x80", 3), "overlong 3-byte");
}

static void
test_params(void)
{
	struct smtp_mail_params p;
	char buf[100];

	CHECK(mparams("", true, &p) == SP_OK && !p.has_size && p.body == BODY_NONE && !p.smtputf8,
	    "no parameters");
	CHECK(mparams("SIZE=12345", true, &p) == SP_OK && p.has_size && p.size == 12345, "SIZE");
	CHECK(mparams("size=0", true, &p) == SP_OK && p.has_size && p.size == 0, "size=0 lower case");
	CHECK(mparams("SIZE=99999999999999999999999", true, &p) == SP_OK && p.size == UINT64_MAX,
	    "huge SIZE saturates");
	CHECK(mparams("SIZE=", true, &p) == SP_BADPARAM, "SIZE= empty");
	CHECK(mparams("SIZE", true, &p) == SP_BADPARAM, "SIZE without value");
	CHECK(mparams("SIZE=12a", true, &p) == SP_BADPARAM, "SIZE not a number");
	CHECK(mparams("SIZE=-1", true, &p) == SP_BADPARAM, "SIZE negative");
	CHECK(mparams("SIZE=+1", true, &p) == SP_BADPARAM, "SIZE with sign");
	CHECK(mparams("SIZE=1 SIZE=2", true, &p) == SP_BADPARAM, "SIZE twice");
	CHECK(mparams("BODY=8BITMIME", true, &p) == SP_OK && p.body == BODY_8BITMIME, "BODY=8BITMIME");
	CHECK(mparams("BODY=7bit", true, &p) == SP_OK && p.body == BODY_7BIT, "BODY=7bit");
	CHECK(mparams("BODY=BINARYMIME", true, &p) == SP_BADPARAM, "BODY=BINARYMIME refused");
	CHECK(mparams("BODY", true, &p) == SP_BADPARAM, "BODY without value");
	CHECK(mparams("SMTPUTF8", true, &p) == SP_OK && p.smtputf8, "SMTPUTF8");
	CHECK(mparams("SMTPUTF8=yes", true, &p) == SP_BADPARAM, "SMTPUTF8 with value");
	CHECK(mparams("SMTPUTF8 SMTPUTF8", true, &p) == SP_BADPARAM, "SMTPUTF8 twice");
	CHECK(mparams("SIZE=10  BODY=8BITMIME SMTPUTF8", true, &p) == SP_OK && p.size == 10 &&
	    p.body == BODY_8BITMIME && p.smtputf8, "three parameters");
	CHECK(mparams("FOO=bar", true, &p) == SP_UNKNOWN, "unknown parameter 555");
	CHECK(mparams("AUTH=<>", true, &p) == SP_UNKNOWN, "AUTH= unknown (not advertised)");
	CHECK(mparams("ENVID=a+0D+0Ab", true, &p) == SP_UNKNOWN, "ENVID (no DSN) unknown");
	CHECK(mparams("SIZE=10", false, &p) == SP_UNKNOWN, "parameters after HELO unknown");
	CHECK(mparams("=x", true, &p) == SP_BADPARAM, "missing keyword");
	CHECK(mparams("-X=1", true, &p) == SP_BADPARAM, "keyword starting with -");
	CHECK(mparams("X=a=b", true, &p) == SP_BADPARAM, "= in value");
	CHECK(mparams("X=\x01", true, &p) == SP_BADPARAM, "control in value");
	CHECK(mparams("X!=1", true, &p) == SP_BADPARAM, "bad keyword char");
	buf[0] = '\0';
	CHECK(smtp_parse_rcpt_params(buf, true) == SP_OK, "RCPT without parameters");
	snprintf(buf, sizeof(buf), "NOTIFY=NEVER");
	CHECK(smtp_parse_rcpt_params(buf, true) == SP_UNKNOWN, "RCPT NOTIFY unknown (no DSN)");
	snprintf(buf, sizeof(buf), "ORCPT=rfc822;a+0Db");
	CHECK(smtp_parse_rcpt_params(buf, true) == SP_UNKNOWN, "RCPT ORCPT unknown");
	snprintf(buf, sizeof(buf), "=1");
	CHECK(smtp_parse_rcpt_params(buf, true) == SP_BADPARAM, "RCPT malformed parameter");
}

static void
test_vrfy_helo(void)
{
	struct smtp_addr a;

	CHECK(smtp_parse_vrfy_arg("alice", &a) == SP_OK && strcmp(a.local, "alice") == 0 &&
	    a.domain[0] == '\0', "VRFY bare name");
	CHECK(smtp_parse_vrfy_arg("alice@example.org", &a) == SP_OK &&
	    strcmp(a.domain, "example.org") == 0, "VRFY mailbox");
	CHECK(smtp_parse_vrfy_arg("<alice@example.org>", &a) == SP_OK, "VRFY path");
	CHECK(smtp_parse_vrfy_arg("<postmaster>", &a) == SP_OK, "VRFY <postmaster>");
	CHECK(smtp_parse_vrfy_arg("alice bob", &a) == SP_BADADDR, "VRFY two words");
	CHECK(smtp_parse_vrfy_arg("<alice@example.org> x", &a) == SP_BADADDR, "VRFY junk after path");
	CHECK(smtp_parse_vrfy_arg("`id`", &a) == SP_BADADDR, "VRFY backquotes");

	CHECK(smtp_parse_helo_arg("client.example.org") == SP_OK, "HELO name");
	CHECK(smtp_parse_helo_arg("my_host.local") == SP_OK, "HELO with underscore");
	CHECK(smtp_parse_helo_arg("[192.0.2.1]") == SP_OK, "HELO literal");
	CHECK(smtp_parse_helo_arg("[IPv6:::1]") == SP_OK, "HELO IPv6 literal");
	CHECK(smtp_parse_helo_arg("[999.1.1.1]") == SP_SYNTAX, "HELO bad literal");
	CHECK(smtp_parse_helo_arg("a b") == SP_SYNTAX, "HELO with space");
	CHECK(smtp_parse_helo_arg("a(b)") == SP_SYNTAX, "HELO with parentheses");
	CHECK(smtp_parse_helo_arg("a;b") == SP_SYNTAX, "HELO with ;");
	CHECK(smtp_parse_helo_arg("") == SP_SYNTAX, "HELO empty");
	{
		char big[300];
		memset(big, 'a', 256);
		big[256] = '\0';
		CHECK(smtp_parse_helo_arg(big) == SP_SYNTAX, "HELO over 255");
	}
}

int
main(void)
{
	test_verbs();
	test_paths();
	test_params();
	test_vrfy_helo();
	return check_done();
}
