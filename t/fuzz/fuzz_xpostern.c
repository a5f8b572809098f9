/*
 * libFuzzer: the X-Postern line parser (store/xpostern.c) over arbitrary
 * bytes.  It must agree with the parser of the lines written before the
 * IMAP fields (a copy below) on every line that one took, and what it
 * takes must format back to a line that parses to the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/xpostern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "t/unit/xpostern_old.h"

static struct xpostern xp, again;
static struct xp_kw kw[FOLDER_KEYWORDS_MAX_COUNT];
static char out[XPOSTERN_LINE_MAX_BYTES + 1];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ou[MBOX_UID_MAX + 1];
	uint64_t ol = 0, total = 0, rest;
	const char *why = NULL;
	int o, r, n;

	o = old_parse(data, size, ou, &ol);
	r = xpostern_parse(data, size, &xp, &why);
	if (r == -1 && why == NULL)
		abort();
	if (o == 0 && (r != 0 || strcmp(ou, xp.uid) != 0 || ol != xp.len ||
	    xp.imapuid != 0 || xp.flags != 0 || xp.nkw != 0))
		abort();    /* an old line reads differently */
	if (o != 0 && r == 0 && xp.imapuid == 0 && xp.flags == 0 && xp.nkw == 0)
		abort();    /* taken without a new field, refused before */
	if (r != 0)
		return 0;
	if ((xp.flags & ~MF_ALL) || xp.nkw > FOLDER_KEYWORDS_MAX_COUNT)
		abort();
	for (uint32_t i = 0; i < xp.nkw; i++) {
		if ((size_t)xp.kw_off[i] + xp.kw_len[i] > size ||
		    !xp_keyword_ok((const char *)data + xp.kw_off[i], xp.kw_len[i]))
			abort();
		kw[i].s = (const char *)data + xp.kw_off[i];
		kw[i].n = xp.kw_len[i];
	}
	/* format it again, for a record of the length it declared */
	rest = xp.len > size ? xp.len - size : 0;
	n = xpostern_format(out, sizeof(out), xp.uid, xp.imapuid, xp.flags, kw, xp.nkw,
	    rest, &total, &why);
	if (n == -1) {
		if (rest <= UINT64_MAX / 4)
			abort();    /* only a record too long may be refused */
		return 0;
	}
	if (total != rest + (uint64_t)n ||
	    xpostern_parse((const unsigned char *)out, (size_t)n, &again, &why) != 0 ||
	    strcmp(again.uid, xp.uid) != 0 || again.len != total ||
	    again.imapuid != xp.imapuid || again.flags != xp.flags || again.nkw != xp.nkw)
		abort();
	for (uint32_t i = 0; i < xp.nkw; i++)
		if (again.kw_len[i] != xp.kw_len[i] ||
		    memcmp(out + again.kw_off[i], data + xp.kw_off[i], xp.kw_len[i]) != 0)
			abort();    /* the parser took them sorted: same order */
	return 0;
}
