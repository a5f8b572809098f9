/* LIST / LSUB pattern matching (workers/imap_list.c). */
#include <string.h>
#include <time.h>

#include "check.h"
#include "workers/imap_list.h"

static int
m(const char *pat, const char *name)
{
	return imap_list_match(pat, strlen(pat), name, strlen(name));
}

int
main(void)
{
	char full[IMAP_LIST_PATTERN_MAX + 1], big[IMAP_LIST_PATTERN_MAX + 2];
	size_t n;

	CHECK(m("*", "INBOX") && m("*", "a/b/c"), "* matches everything");
	CHECK(m("%", "Work") && !m("%", "Work/2026"), "%% stops at the separator");
	CHECK(m("Work/%", "Work/2026") && !m("Work/%", "Work/2026/q1"),
	    "a level below a parent with %%");
	CHECK(m("Work/*", "Work/2026/q1") && !m("Work/*", "Work"),
	    "* below a parent reaches every depth, not the parent");
	CHECK(m("*/%", "a/b/c"), "* then %% needs the * to reach over a separator");
	CHECK(m("%/%", "a/b") && !m("%/%", "a/b/c") && !m("%/%", "a"),
	    "%%/%% is exactly two levels");
	CHECK(m("inbox", "INBOX") && m("InBoX", "INBOX") && m("inbox/%", "INBOX/x"),
	    "INBOX in any case, also as a parent");
	CHECK(!m("work", "Work"), "other names are case-sensitive (the table's spelling)");
	CHECK(m("W*k", "Work") && m("W*k", "Wk") && !m("W*k", "Works"),
	    "a wildcard inside the pattern");
	CHECK(m("", "") && !m("", "a"), "the empty pattern matches the empty name only");
	CHECK(m("a%", "a") && m("a*", "a"), "a wildcard matches nothing too");
	CHECK(m("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9") && m("%t%", "\xc3\xa9t\xc3\xa9"),
	    "UTF-8 bytes compare as bytes");

	/* a hostile pattern: many wildcards against a long name, bounded */
	{
		char pat[2049], name[2049];
		clock_t t0 = clock();

		for (int i = 0; i < 2048; i++)
			pat[i] = i % 2 ? '%' : '*';
		pat[2047] = 'x';
		pat[2048] = '\0';
		memset(name, 'a', 2048);
		name[2048] = '\0';
		CHECK(!m(pat, name), "*%%*%%...x does not match a name without x");
		CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0,
		    "and costs no more than pattern x name steps (%.3f s)",
		    (double)(clock() - t0) / CLOCKS_PER_SEC);
	}

	CHECK(imap_list_canon("Work/", 5, "%", 1, full, sizeof(full), &n) == 0 &&
	    strcmp(full, "Work/%") == 0 && n == 6, "the reference is prepended");
	CHECK(imap_list_canon("Work/", 5, "/x", 2, full, sizeof(full), &n) == 0 &&
	    strcmp(full, "/x") == 0, "a pattern from the root ignores the reference");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(imap_list_canon(big, IMAP_LIST_PATTERN_MAX, "x", 1, full, sizeof(full), &n) == -1,
	    "a reference + pattern over the limit is refused");
	CHECK(!imap_list_match(big, IMAP_LIST_PATTERN_MAX + 1, "a", 1),
	    "a pattern over the limit matches nothing");
	return check_done();
}
