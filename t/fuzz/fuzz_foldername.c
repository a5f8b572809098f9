/*
 * libFuzzer: the folder name check (store/foldername.c) over arbitrary
 * bytes, as a client's name after modified UTF-7 decoding.  What it
 * accepts must be a name that can never be read as a path or a LIST
 * pattern, its canonical form must be stable, and its comparison key
 * stable and no longer than the name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep/params.h"
#include "store/foldername.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct folder_limits lim;
	char *c1, *c2, *k1, *k2, *c3, *k3;
	const char *why = NULL;
	int n1;

	folder_limits_default(&lim);
	c1 = malloc(size + 1);
	n1 = foldername_canon((const char *)data, size, &lim, c1, size + 1, &why);
	if (n1 < 0) {
		if (why == NULL || why[0] == '\0')
			abort();
		free(c1);
		return 0;
	}
	if ((size_t)n1 != size || strlen(c1) != size || size == 0 || size > lim.name_max_bytes)
		abort();
	/* never a path or a pattern */
	if (c1[0] == '/' || c1[0] == '.' || c1[size - 1] == '/' || strstr(c1, "//") ||
	    strstr(c1, "/.") || strchr(c1, '%') || strchr(c1, '*') ||
	    foldername_depth(c1) > lim.depth_max_count)
		abort();
	for (size_t i = 0; i < size; i++)
		if ((unsigned char)c1[i] < 0x20 || c1[i] == 0x7f)
			abort();
	/* INBOX in any case is "INBOX"; other bytes are the client's */
	if (strncasecmp(c1, "inbox", 5) == 0 && (size == 5 || c1[5] == '/')) {
		if (memcmp(c1, "INBOX", 5) != 0 || memcmp(c1 + 5, data + 5, size - 5) != 0)
			abort();
	} else if (memcmp(c1, data, size) != 0)
		abort();
	/* canonical is stable */
	c2 = malloc(size + 1);
	if (foldername_canon(c1, size, &lim, c2, size + 1, &why) != n1 || memcmp(c1, c2, size) != 0)
		abort();
	/* the key: no longer than the name, stable under folding again */
	k1 = malloc(size + 1);
	k2 = malloc(size + 1);
	if (foldername_key(c1, k1, size + 1) > size)
		abort();
	c3 = malloc(size + 1);
	k3 = malloc(size + 1);
	if (foldername_canon(k1, strlen(k1), &lim, c3, size + 1, &why) >= 0) {
		foldername_key(c3, k3, size + 1);
		if (strcmp(k1, k3) != 0)
			abort();
	}
	foldername_key(k1, k2, size + 1);
	if (strcmp(k1, k2) != 0)
		abort();
	free(c1);
	free(c2);
	free(c3);
	free(k1);
	free(k2);
	free(k3);
	return 0;
}
