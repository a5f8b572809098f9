/* IMAP folder names: refusals, canonical form, comparison key
 * (store/foldername.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "privsep/params.h"
#include "store/foldername.h"

static struct folder_limits lim;

/* The canonical form of s (len bytes), or NULL; *why set on refusal. */
static const char *
canon_n(const char *s, size_t len, const char **why)
{
	static char out[FOLDER_NAME_CEIL_BYTES + 16];

	*why = NULL;
	if (foldername_canon(s, len, &lim, out, sizeof(out), why) < 0)
		return NULL;
	return out;
}

static const char *
canon(const char *s, const char **why)
{
	return canon_n(s, strlen(s), why);
}

static void
refused(const char *s, size_t len, const char *label)
{
	const char *why = NULL;
	const char *c = canon_n(s, len, &why);

	CHECK(c == NULL && why != NULL && why[0] != '\0', "refused: %s (%s)", label,
	    why ? why : "accepted");
}

static void
accepted(const char *s, const char *want)
{
	const char *why = NULL;
	const char *c = canon(s, &why);

	CHECK(c != NULL && strcmp(c, want) == 0, "accepted: \"%s\" -> \"%s\" (%s)", s, want,
	    c ? c : why);
}

/* Do a and b have one key? */
static int
same_key(const char *a, const char *b)
{
	char ca[512], cb[512], ka[512], kb[512];
	const char *why;

	if (foldername_canon(a, strlen(a), &lim, ca, sizeof(ca), &why) < 0 ||
	    foldername_canon(b, strlen(b), &lim, cb, sizeof(cb), &why) < 0)
		return -1;
	foldername_key(ca, ka, sizeof(ka));
	foldername_key(cb, kb, sizeof(kb));
	return strcmp(ka, kb) == 0;
}

static void
test_refusals(void)
{
	char *big;

	refused("", 0, "empty");
	refused("../x", 4, "../x");
	refused("a/../../b", 9, "a/../../b");
	refused("..", 2, "..");
	refused(".", 1, ".");
	refused("a/./b", 5, "a/./b");
	refused("a/..", 4, "a/.. at the end");
	refused(".hidden", 7, "leading dot");
	refused("a/.b", 4, "component with a leading dot");
	refused("a//b", 4, "empty component");
	refused("/a", 2, "leading /");
	refused("a/", 2, "trailing /");
	refused("/", 1, "/ alone");
	refused("a\0b", 3, "NUL inside");
	refused("a\0", 2, "NUL at the end");
	refused("a%b", 3, "%");
	refused("a*", 2, "*");
	refused("a\tb", 3, "tab");
	refused("a\nb", 3, "LF");
	refused("a\rb", 3, "CR");
	refused("a\x7f", 2, "DEL");
	refused("a\xc2\x85", 3, "C1 control NEL");
	refused("a\xe2\x80\xae" "b", 5, "RIGHT-TO-LEFT OVERRIDE");
	refused("a\xe2\x81\xa6" "b", 5, "LEFT-TO-RIGHT ISOLATE");
	refused("a\xe2\x80\xa8", 4, "LINE SEPARATOR");
	refused("\xef\xbb\xbf" "a", 4, "BOM");
	refused("a\xef\xbf\xbf", 4, "U+FFFF");
	refused("a\xef\xb7\x90", 4, "U+FDD0");
	/* UTF-8 */
	refused("\xc0\xaf", 2, "overlong '/' (C0 AF)");
	refused("\xe0\x80\xaf", 3, "overlong '/' (E0 80 AF)");
	refused("\xf0\x80\x80\xaf", 4, "overlong '/' (F0 80 80 AF)");
	refused("\xc0\xae\xc0\xae", 4, "overlong '..'");
	refused("\xed\xa0\x80", 3, "surrogate U+D800");
	refused("\xed\xbf\xbf", 3, "surrogate U+DFFF");
	refused("\xf4\x90\x80\x80", 4, "beyond U+10FFFF");
	refused("\xf8\x88\x80\x80\x80", 5, "5-byte form");
	refused("\xff", 1, "byte FF");
	refused("a\x80", 2, "stray continuation");
	refused("\xc3", 1, "truncated sequence");
	refused("\xe2\x82", 2, "truncated 3-byte sequence");
	refused("\xc3(", 2, "missing continuation");
	/* normalization */
	refused("Caf" "e\xcc\x81", 6, "combining acute U+0301 (NFD e-acute)");
	refused("a\xe1\xaa\xb0", 4, "combining U+1AB0");
	refused("a\xe1\xb7\x80", 4, "combining U+1DC0");
	refused("a\xe2\x83\x90", 4, "combining U+20D0");
	refused("a\xef\xb8\xa0", 4, "combining U+FE20");
	refused("\xe1\x84\x80\xe1\x85\xa1", 6, "Hangul conjoining jamo");
	refused("\xe2\x84\xaa", 3, "KELVIN SIGN");
	refused("\xe2\x84\xab", 3, "ANGSTROM SIGN");
	refused("\xe2\x84\xa6", 3, "OHM SIGN");
	refused("\xef\xa4\x80", 3, "CJK compatibility ideograph U+F900");
	refused("\xe0\xa5\x98", 3, "Devanagari U+0958 (composition exclusion)");
	refused("\xef\xac\xaa", 3, "Hebrew presentation form U+FB2A");
	refused("a;\xcd\xbe", 4, "GREEK QUESTION MARK U+037E");
	/* sizes */
	big = malloc(10000);
	memset(big, 'a', 10000);
	refused(big, 10000, "10,000 bytes");
	refused(big, FOLDER_NAME_DEFAULT_BYTES + 1, "default limit + 1 bytes");
	refused(big, 256, "a 256-byte component");
	for (size_t i = 1; i < 17 * 2; i += 2)
		big[i] = '/';
	refused(big, 17 * 2 - 1, "17 components");
	big[33] = 'a';
	{
		const char *why;

		CHECK(canon_n(big, 16 * 2 - 1, &why) != NULL, "16 components accepted");
	}
	free(big);
}

static void
test_accepted(void)
{
	char name[FOLDER_NAME_DEFAULT_BYTES + 1];
	const char *why;

	accepted("INBOX", "INBOX");
	accepted("inbox", "INBOX");
	accepted("InBoX", "INBOX");
	accepted("inbox/Sub", "INBOX/Sub");
	accepted("Inbox/inbox", "INBOX/inbox");
	accepted("inboxes", "inboxes");
	accepted("My INBOX", "My INBOX");
	accepted("a/inbox", "a/inbox");
	accepted("Sent Items", "Sent Items");
	accepted("~bob", "~bob");
	accepted("a.b", "a.b");
	accepted("a..b", "a..b");
	accepted("a/b./c", "a/b./c");
	accepted("Caf\xc3\xa9", "Caf\xc3\xa9");                  /* NFC e-acute */
	accepted("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");
	accepted("\xf0\x9f\x93\xa7 mail", "\xf0\x9f\x93\xa7 mail");  /* emoji */
	accepted("\xef\xa8\x8e", "\xef\xa8\x8e");                /* U+FA0E, unified */
	accepted("&Work", "&Work");
	accepted("Archive/2026/Q1", "Archive/2026/Q1");
	memset(name, 'x', sizeof(name));
	for (size_t i = 200; i < sizeof(name); i += 201)
		name[i] = '/';
	CHECK(canon_n(name, FOLDER_NAME_DEFAULT_BYTES, &why) != NULL,
	    "a name of exactly the default limit accepted (%s)", why ? why : "ok");
	memset(name, 'y', 255);
	CHECK(canon_n(name, 255, &why) != NULL, "a 255-byte component accepted");
	{
		char small[8];

		CHECK(foldername_canon("abcdefgh", 8, &lim, small, sizeof(small), &why) == -1,
		    "an output buffer too small is refused, not overrun");
	}
}

static void
test_keys(void)
{
	char k[64];

	CHECK(same_key("Work", "WORK") == 1, "case: Work = WORK");
	CHECK(same_key("inbox", "INBOX") == 1, "case: inbox = INBOX");
	CHECK(same_key("INBOX/Sub", "inbox/sub") == 1, "case: INBOX/Sub = inbox/sub");
	CHECK(same_key("Caf\xc3\xa9", "CAF\xc3\x89") == 1, "Latin-1: Cafe-acute = CAFE-ACUTE");
	CHECK(same_key("\xc5\x81\xc3\xb3\x64\xc5\xba", "\xc5\x82\xc3\x93\x44\xc5\xb9") == 1,
	    "Latin Extended-A: Lodz in two cases");
	CHECK(same_key("\xce\x88\xce\xa1\xce\x93\xce\x91", "\xce\xad\xcf\x81\xce\xb3\xce\xb1") == 1,
	    "Greek with tonos: ERGA = erga");
	CHECK(same_key("\xce\xa3", "\xcf\x82") == 1, "Greek: capital sigma = final sigma");
	CHECK(same_key("\xd0\x9f\xd0\x9e\xd0\xa7\xd0\xa2\xd0\x90",
	    "\xd0\xbf\xd0\xbe\xd1\x87\xd1\x82\xd0\xb0") == 1, "Cyrillic: POCHTA = pochta");
	CHECK(same_key("\xd0\x81", "\xd1\x91") == 1, "Cyrillic: YO = yo");
	CHECK(same_key("\xe1\xba\xa0", "\xe1\xba\xa1") == 1, "Vietnamese: A dot below");
	CHECK(same_key("\xef\xbc\xa1", "\xef\xbd\x81") == 1, "fullwidth A = fullwidth a");
	CHECK(same_key("\xc5\xbf", "S") == 1, "long s = S");
	CHECK(same_key("\xc3\x9f", "\xe1\xba\x9e") == 1, "sharp s = capital sharp s");
	CHECK(same_key("Work", "Works") == 0, "different names: different keys");
	CHECK(same_key("\xc4\xb0", "i") == 0, "dotted capital I is not i (no Turkic folding)");
	CHECK(same_key("a/b", "a-b") == 0, "the separator is kept");
	CHECK(foldername_key("\xc5\xbf\xe1\xba\x9e", k, sizeof(k)) == 3 &&
	    strcmp(k, "s\xc3\x9f") == 0, "a key may be shorter than its name");
	CHECK(foldername_key("ABCDEF", k, 4) == 3 && strcmp(k, "abc") == 0,
	    "the key is cut to its buffer, NUL-terminated");
	CHECK(foldername_is_inbox("INBOX") && !foldername_is_inbox("INBOX/a") &&
	    !foldername_is_inbox("inbox"), "foldername_is_inbox on canonical names");
	CHECK(foldername_depth("a") == 1 && foldername_depth("a/b/c") == 3, "depth");
}

static void
test_limits(void)
{
	struct folder_limits small = { 10, 2, 5 };
	char out[64];
	const char *why;

	CHECK(foldername_canon("abcdefghij", 10, &small, out, sizeof(out), &why) == 10,
	    "configured name limit: 10 bytes accepted");
	CHECK(foldername_canon("abcdefghijk", 11, &small, out, sizeof(out), &why) == -1,
	    "configured name limit: 11 bytes refused");
	CHECK(foldername_canon("a/b", 3, &small, out, sizeof(out), &why) == 3 &&
	    foldername_canon("a/b/c", 5, &small, out, sizeof(out), &why) == -1,
	    "configured depth limit 2");
}

int
main(void)
{
	folder_limits_default(&lim);
	test_refusals();
	test_accepted();
	test_keys();
	test_limits();
	return check_done();
}
