/*
 * libFuzzer: the folder table (store/foldertab.c).
 *
 * 1. The input as a table file: when it parses, serializing gives back
 *    exactly the input (the parser accepts only the canonical form), and
 *    that parses again.
 * 2. The input as a script of edits on a new table, one a line: a first
 *    byte picks the edit (c create, d delete, r rename "FROM\tTO",
 *    s subscribe, u unsubscribe, p special-use folders, x set use,
 *    n uidnext), the rest is the name.  After every edit that was done
 *    the table serializes to a file the parser accepts and that
 *    round-trips (no edit can make a table that would not load); an edit
 *    refused leaves the table as it was, byte for byte; a DELETE hands
 *    back a file id no entry has any more.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/foldertab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_saves(const struct foldertab *t)
{
	struct foldertab u;
	const char *why;
	size_t n1, n2;
	char *a = foldertab_serialize(t, &n1), *b;

	if (a == NULL || foldertab_parse(&u, a, n1, &why) != 0)
		abort();
	b = foldertab_serialize(&u, &n2);
	if (b == NULL || n1 != n2 || memcmp(a, b, n1) != 0 || u.n != t->n)
		abort();
	foldertab_free(&u);
	free(a);
	free(b);
}

static void
run_script(const char *p, size_t size)
{
	struct foldertab t;
	struct folder_limits lim = { 64, 6, 40 };
	const char *end = p + size, *why;
	uint32_t now = 1000, gone;
	int steps = 0;

	foldertab_new(&t, now);
	while (p < end && steps++ < 64) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *arg = p + 1, *tab;
		size_t len, bn, an;
		char *before = foldertab_serialize(&t, &bn), *after;
		int r = -1;

		if (nl == NULL)
			nl = end;
		len = nl > arg ? (size_t)(nl - arg) : 0;
		switch (*p) {
		case 'c':
			r = foldertab_create(&t, arg, len, &lim, now++, NULL, &why);
			break;
		case 'd':
			r = foldertab_delete(&t, arg, len, &gone, &why);
			for (size_t i = 0; r == 0 && i < t.n; i++)
				if (gone == 0 || t.v[i].id == gone)
					abort();
			break;
		case 'r':
			tab = memchr(arg, '\t', len);
			if (tab != NULL)
				r = foldertab_rename(&t, arg, (size_t)(tab - arg), tab + 1,
				    len - (size_t)(tab - arg) - 1, &lim, &why);
			break;
		case 's':
		case 'u':
			r = foldertab_subscribe(&t, arg, len, *p == 's', &why);
			break;
		case 'p':
			/* may have made some folders when it fails */
			(void)foldertab_add_special(&t, len > 0 ? (unsigned)arg[0] : FU_ALL, &lim, now,
			    &why);
			r = 0;
			break;
		case 'x':
			if (len > 0)
				r = foldertab_set_use(&t, arg + 1, len - 1, (unsigned char)arg[0], &why);
			break;
		case 'n':
			if (len > 0)
				r = foldertab_set_uidnext(&t, arg + 1, len - 1, (unsigned char)arg[0], &why);
			break;
		default:
			break;
		}
		if (r == 0)
			check_saves(&t);
		else {
			after = foldertab_serialize(&t, &an);
			if (after == NULL || before == NULL || an != bn || memcmp(after, before, an) != 0)
				abort();
			free(after);
		}
		free(before);
		p = nl + 1;
	}
	foldertab_free(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct foldertab t;
	const char *why = NULL;

	if (foldertab_parse(&t, (const char *)data, size, &why) == 0) {
		size_t n;
		char *s = foldertab_serialize(&t, &n);

		if (s == NULL || n != size || memcmp(s, data, size) != 0)
			abort();
		check_saves(&t);
		free(s);
		foldertab_free(&t);
	} else if (why == NULL || why[0] == '\0')
		abort();
	run_script((const char *)data, size);
	return 0;
}
