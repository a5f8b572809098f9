/* Unit tests for modified UTF-7 (workers/mutf7.c, RFC 3501 5.1.3). */
#include <string.h>

#include "t/unit/check.h"
#include "workers/mutf7.h"

static char out[256];
static const char *why;

/* wire decodes to utf8 and utf8 encodes back to wire. */
static int
pair(const char *wire, const char *utf8)
{
	long n;

	n = mutf7_decode(wire, strlen(wire), out, sizeof(out), &why);
	if (n < 0 || (size_t)n != strlen(utf8) || strcmp(out, utf8) != 0) {
		printf("# decode %s: %ld %s\n", wire, n, n < 0 ? why : out);
		return 0;
	}
	n = mutf7_encode(utf8, strlen(utf8), out, sizeof(out), &why);
	if (n < 0 || (size_t)n != strlen(wire) || strcmp(out, wire) != 0) {
		printf("# encode: %ld %s\n", n, n < 0 ? why : out);
		return 0;
	}
	return 1;
}

/* wire is refused by the decoder with a reason containing what. */
static int
refused(const char *wire, size_t len, const char *what)
{
	why = NULL;
	if (mutf7_decode(wire, len, out, sizeof(out), &why) >= 0)
		return 0;
	if (why == NULL || strstr(why, what) == NULL) {
		printf("# reason: %s\n", why != NULL ? why : "(none)");
		return 0;
	}
	return 1;
}

static int
enc_refused(const char *utf8, size_t len, const char *what)
{
	why = NULL;
	if (mutf7_encode(utf8, len, out, sizeof(out), &why) >= 0)
		return 0;
	if (why == NULL || strstr(why, what) == NULL) {
		printf("# reason: %s\n", why != NULL ? why : "(none)");
		return 0;
	}
	return 1;
}

static void
test_examples(void)
{
	/* RFC 3501 5.1.3 */
	CHECK(pair("~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	    "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), "RFC 3501 example");
	CHECK(refused("&Jjo!", 5, "bad character"), "RFC 3501: &Jjo! is invalid");
	CHECK(refused("&U,BTFw-&ZeVnLIqe-", 18, "back to back"),
	    "RFC 3501: two runs back to back are not canonical");
	CHECK(pair("INBOX", "INBOX"), "plain ASCII");
	CHECK(pair("", ""), "empty");
	CHECK(pair("&-", "&"), "&- is &");
	CHECK(pair("A&-B&-&-", "A&B&&"), "several &");
	CHECK(pair("Entw&APw-rfe", "Entw\xc3\xbcrfe"), "Entwuerfe");
	CHECK(pair("&AOkA6QDp-", "\xc3\xa9\xc3\xa9\xc3\xa9"), "one run, 3 units");
	CHECK(pair("&AOk-&-", "\xc3\xa9&"), "a run then a literal &");
	CHECK(pair("&-&AOk-", "&\xc3\xa9"), "a literal & then a run");
	CHECK(pair("&2D3eAA-", "\xf0\x9f\x98\x80"), "surrogate pair (U+1F600)");
	CHECK(pair("&2D3eAA-x&2D3eAA-", "\xf0\x9f\x98\x80x\xf0\x9f\x98\x80"),
	    "two pairs split by ASCII");
	CHECK(pair("&1,8-", "\xed\x9f\xbf"), "U+D7FF");
	CHECK(pair("&,,8-", "\xef\xbf\xbf"), "U+FFFF (the , digit)");
	CHECK(pair("&AAE-", "\x01"), "a control character is encoded");
	CHECK(pair("&AH8-", "\x7f"), "DEL is encoded");
	CHECK(pair("~ !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}",
	    "~ !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}"), "printable ASCII");
}

static void
test_refusals(void)
{
	CHECK(refused("&AEE-", 5, "printable ASCII"), "A encoded");
	CHECK(refused("&ACY-", 5, "printable ASCII"), "& encoded");
	CHECK(refused("&ACA-", 5, "printable ASCII"), "space encoded");
	CHECK(refused("&AOk", 4, "unterminated"), "unterminated run");
	CHECK(refused("&", 1, "unterminated"), "& at the end");
	CHECK(refused("&AO/-", 5, "bad character"), "/ is not modified base64");
	CHECK(refused("&AOk=-", 6, "bad character"), "no = padding");
	CHECK(refused("&AOl-", 5, "padding bits"), "non-zero left-over bits");
	CHECK(refused("&AO-", 4, "padding bits"), "a partial unit (12 bits)");
	CHECK(refused("&AOkA-", 6, "padding bits"), "a partial unit (8 bits)");
	CHECK(refused("&2AA-", 5, "surrogate"), "lone high surrogate");
	CHECK(refused("&3AA-", 5, "surrogate"), "lone low surrogate");
	CHECK(refused("&2D0AQQ-", 8, "surrogate"), "high then not low");
	CHECK(refused("&2D3eAA-&2D3eAA-", 16, "back to back"), "adjacent runs");
	CHECK(refused("&AAA-", 5, "NUL"), "U+0000");
	CHECK(refused("caf\xc3\xa9", 5, "8-bit"), "raw UTF-8");
	CHECK(refused("a\tb", 3, "control"), "raw TAB");
	CHECK(refused("a\0b", 3, "control"), "raw NUL");
	CHECK(refused("a\x7f", 2, "control"), "raw DEL");
	/* bounded output */
	why = NULL;
	CHECK(mutf7_decode("abcd", 4, out, 4, &why) < 0 &&
	    strstr(why, "too long") != NULL &&
	    mutf7_decode("abcd", 4, out, 5, &why) == 4, "decode output bound");
	CHECK(mutf7_decode("&2D3eAA-", 8, out, 4, &why) < 0 &&
	    mutf7_decode("&2D3eAA-", 8, out, 5, &why) == 4,
	    "decode bound inside a run");
	CHECK(mutf7_decode("&-", 2, out, 1, &why) < 0, "decode bound on &-");
	CHECK(mutf7_decode("", 0, out, 0, &why) < 0, "no room for the NUL");
	CHECK(mutf7_encode("\xc3\xa9", 2, out, 5, &why) < 0 &&
	    mutf7_encode("\xc3\xa9", 2, out, 6, &why) == 5,
	    "encode output bound");
	CHECK(mutf7_encode("&", 1, out, 2, &why) < 0 &&
	    mutf7_encode("&", 1, out, 3, &why) == 2, "encode bound on &");
	/* the encoder refuses what is not UTF-8 */
	CHECK(enc_refused("\xff", 1, "UTF-8"), "0xff");
	CHECK(enc_refused("\xc0\xaf", 2, "UTF-8"), "overlong");
	CHECK(enc_refused("\xe0\x80\xaf", 3, "UTF-8"), "overlong 3-byte");
	CHECK(enc_refused("\xed\xa0\x80", 3, "UTF-8"), "a surrogate");
	CHECK(enc_refused("\xf4\x90\x80\x80", 4, "UTF-8"), "above U+10FFFF");
	CHECK(enc_refused("a\xc3", 2, "UTF-8"), "truncated");
	CHECK(enc_refused("\xc3(", 2, "UTF-8"), "bad continuation");
	CHECK(enc_refused("a\0b", 3, "NUL"), "NUL");
}

static void
test_round_trips(void)
{
	static const char *names[] = { "INBOX", "Sent Items", "&",
	    "a&b", "\xc3\xa9t\xc3\xa9", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2",
	    "\xe4\xb8\xad\xe6\x96\x87/\xe6\x97\xa5", "\xf0\x9f\x93\xa7 mail",
	    "x\x01y", "\xc2\x80", "\xf4\x8f\xbf\xbf", "&\xc3\xa9&",
	    "\xc3\xa9\xc3\xa9", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" };
	char wire[256];
	long n, m;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = mutf7_encode(names[i], strlen(names[i]), wire, sizeof(wire),
		    &why);
		m = n < 0 ? -1 : mutf7_decode(wire, (size_t)n, out,
		    sizeof(out), &why);
		CHECK(m == (long)strlen(names[i]) && strcmp(out, names[i]) == 0,
		    "round trip %zu (%s)", i, n < 0 ? "?" : wire);
	}
	/* every BMP code point but surrogates and NUL, one at a time */
	{
		int bad = 0;

		for (unsigned cp = 1; cp < 0x10000 && bad < 5; cp++) {
			char u[4];
			size_t k;

			if (cp >= 0xd800 && cp <= 0xdfff)
				continue;
			if (cp < 0x80) {
				u[0] = (char)cp;
				k = 1;
			} else if (cp < 0x800) {
				u[0] = (char)(0xc0 | cp >> 6);
				u[1] = (char)(0x80 | (cp & 0x3f));
				k = 2;
			} else {
				u[0] = (char)(0xe0 | cp >> 12);
				u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
				u[2] = (char)(0x80 | (cp & 0x3f));
				k = 3;
			}
			n = mutf7_encode(u, k, wire, sizeof(wire), &why);
			m = n < 0 ? -1 : mutf7_decode(wire, (size_t)n, out,
			    sizeof(out), &why);
			if (m != (long)k || memcmp(out, u, k) != 0)
				bad++;
		}
		CHECK(bad == 0, "every BMP code point round-trips");
	}
}

int
main(void)
{
	test_examples();
	test_refusals();
	test_round_trips();
	return check_done();
}
