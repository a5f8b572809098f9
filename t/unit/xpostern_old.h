/*
 * The X-Postern parser as it was before the IMAP fields (store/mbox.c
 * parse_xpostern() at a2a7438), for the unit test and the fuzz target that
 * check every line it took still reads the same (t/unit/test_xpostern.c,
 * t/fuzz/fuzz_xpostern.c).
 */
#ifndef POSTERN_XPOSTERN_OLD_H
#define POSTERN_XPOSTERN_OLD_H

#include <stdint.h>
#include <string.h>

#include "store/mbox.h"

static inline int
old_parse(const unsigned char *line, size_t n, char *uid, uint64_t *len)
{
	size_t i = 15, u0;
	uint64_t v = 0;
	size_t digits = 0;

	if (n < 15 || memcmp(line, "X-Postern: uid=", 15) != 0)
		return -1;
	u0 = i;
	while (i < n && line[i] != ' ' && line[i] != '\n')
		i++;
	if (!mbox_uid_ok((const char *)line + u0, i - u0))
		return -1;
	memcpy(uid, line + u0, i - u0);
	uid[i - u0] = '\0';
	if (n - i < 5 || memcmp(line + i, " len=", 5) != 0)
		return -1;
	for (i += 5; i < n && line[i] >= '0' && line[i] <= '9'; i++) {
		if (++digits > 19)
			return -1;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (digits == 0 || i != n - 1 || line[i] != '\n')
		return -1;
	*len = v;
	return 0;
}

#endif
