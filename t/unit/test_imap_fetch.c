/* One FETCH response (workers/imap_fetch.c) from a parsed FETCH command. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "privsep/msg.h"
#include "workers/imap_fetch.h"
#include "workers/imap_parse.h"

static const char MSG[] =
    "From: Alice <alice@example.org>\n"
    "To: bob@example.org\n"
    "Subject: hello\n"
    "Date: Sat, 05 Dec 2026 05:49:47 +0000\n"
    "Message-ID: <1@example.org>\n"
    "\n"
    "line one\n"
    "line two\n";

static struct imap_cmd *cmd;

/* The response to "a FETCH 1 ITEMS" for the message above. */
static char *
fetch(const char *items, int uid_cmd, const struct sc_view *v, int with_msg)
{
	static char line[4096];
	struct ibuf out;
	const char *why = NULL;
	char *s;
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "a %sFETCH 1 %s\r\n", uid_cmd ? "UID " : "",
	    items);
	imap_cmd_reset(cmd, sizeof(line));
	if (imap_cmd_line(cmd, line, n) != IMAP_DONE)
		return strdup("PARSE ERROR");
	ib_init(&out, 1 << 20);
	if (with_msg && imap_fetch_needs(&cmd->a.fetch) == 0)
		with_msg = 0;
	if (imap_fetch_response(&out, 1, &v->m[0], v, &cmd->a.fetch, uid_cmd, 0,
	    with_msg ? (const unsigned char *)MSG : NULL, with_msg ? strlen(MSG) : 0,
	    &why) < 0) {
		ib_free(&out);
		return strdup("FAILED");
	}
	s = malloc(out.len + 1);
	memcpy(s, out.p, out.len);
	s[out.len] = '\0';
	ib_free(&out);
	return s;
}

static int
eq(const char *items, int uid_cmd, const struct sc_view *v, const char *want)
{
	char *got = fetch(items, uid_cmd, v, 1);
	int ok = strcmp(got, want) == 0;

	if (!ok)
		printf("# %s\n#   got:  %s#   want: %s", items, got, want);
	free(got);
	return ok;
}

int
main(void)
{
	struct sc_vmsg m = { .uid = 7, .flags = VF_SEEN | VF_FLAGGED | VF_RECENT,
	    .size = 0, .date = 1796449787, .kwoff = 0, .nkw = 1 };
	char *kw[] = { "$Forwarded" };
	uint32_t kwidx[] = { 0 };
	struct sc_view v = { .uidvalidity = 1, .uidnext = 8, .n = 1, .m = &m, .nkw = 1,
	    .kw = kw, .kwidx = kwidx, .nkwidx = 1 };

	m.size = strlen(MSG) + 8;      /* eight LFs sent as CRLF */
	cmd = imap_cmd_new();

	CHECK(imap_fetch_needs(&(struct imap_fetch){ .atts = IMAP_FA_FLAGS }) == 0,
	    "FLAGS needs no bytes");
	CHECK(eq("(FLAGS UID)", 0, &v,
	    "* 1 FETCH (UID 7 FLAGS (\\Seen \\Flagged \\Recent $Forwarded))\r\n"),
	    "FLAGS: system flags, \\Recent, keywords");
	CHECK(eq("FLAGS", 1, &v, "* 1 FETCH (UID 7 FLAGS (\\Seen \\Flagged \\Recent $Forwarded))\r\n"),
	    "UID FETCH always says the UID");
	CHECK(eq("(INTERNALDATE RFC822.SIZE)", 0, &v,
	    "* 1 FETCH (INTERNALDATE \"05-Dec-2026 05:49:47 +0000\" RFC822.SIZE 160)\r\n"),
	    "INTERNALDATE and RFC822.SIZE from the view");
	CHECK(eq("BODY.PEEK[HEADER.FIELDS (Subject)]", 0, &v,
	    "* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {18}\r\nSubject: hello\r\n\r\n)\r\n"),
	    "HEADER.FIELDS: the field and a blank line, CRLF");
	CHECK(eq("BODY[TEXT]", 0, &v,
	    "* 1 FETCH (BODY[TEXT] {20}\r\nline one\r\nline two\r\n)\r\n"),
	    "BODY[TEXT] with CRLF line ends");
	CHECK(eq("BODY.PEEK[]<5.6>", 0, &v,
	    "* 1 FETCH (BODY[]<5> {6}\r\n Alice)\r\n"),
	    "a partial: the origin in the name, count bytes");
	CHECK(eq("BODY.PEEK[]<9999.10>", 0, &v, "* 1 FETCH (BODY[]<9999> {0}\r\n)\r\n"),
	    "a partial past the end is empty");
	{
		char *got = fetch("RFC822", 0, &v, 1);
		char want[64];

		snprintf(want, sizeof(want), "* 1 FETCH (RFC822 {%zu}\r\nFrom: Alice",
		    strlen(MSG) + 8);
		CHECK(strncmp(got, want, strlen(want)) == 0 &&
		    strlen(got) == strlen(want) - strlen("From: Alice") + strlen(MSG) + 8 + 3,
		    "RFC822: the whole message, its size the view's RFC822.SIZE");
		free(got);
	}
	{
		char *got = fetch("ENVELOPE", 0, &v, 1);

		CHECK(strncmp(got, "* 1 FETCH (ENVELOPE (\"Sat, 05 Dec 2026 05:49:47 +0000\" \"hello\" "
		    "((\"Alice\" NIL \"alice\" \"example.org\"))", 91) == 0, "ENVELOPE: %s", got);
		free(got);
	}
	{
		char *got = fetch("BODYSTRUCTURE", 0, &v, 1);

		CHECK(strstr(got, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 20 2")
		    != NULL, "BODYSTRUCTURE: %s", got);
		free(got);
	}
	{
		char *got = fetch("BODY.PEEK[1.MIME]", 0, &v, 1);

		CHECK(strncmp(got, "* 1 FETCH (BODY[1.MIME] {140}\r\nFrom: Alice", 42) == 0,
		    "1.MIME of a single-part message is its header, as Dovecot answers");
		free(got);
	}
	CHECK(eq("BODY.PEEK[2]", 0, &v, "* 1 FETCH (BODY[2] {0}\r\n)\r\n"),
	    "a part that does not exist is an empty string");
	imap_cmd_free(cmd);
	return check_done();
}
