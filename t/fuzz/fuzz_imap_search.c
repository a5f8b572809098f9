/*
 * libFuzzer target for IMAP SEARCH (workers/imap_search.c and its text
 * matcher).  The input is "SEARCH-ARGUMENTS LF MESSAGE": the first line
 * becomes "a SEARCH <line>" CRLF (a {N} literal at its end takes the next
 * N bytes, then the next line continues the command), the rest is the
 * message, matched as each message of a small view.  Checked: a compiled
 * search's answers are 0 or 1 with the bytes; without them -1 only when
 * it needs bytes, and a 0 or 1 given without them agrees with the answer
 * given with them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep/msg.h"
#include "workers/imap_parse.h"
#include "workers/imap_search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct imap_cmd *C;

/* Feeds the command from data; the bytes used, or 0 when it is not a
 * complete valid command. */
static size_t
feed(const uint8_t *data, size_t size)
{
	static char line[IMAP_CMD_MAX_BYTES];
	size_t p = 0;
	enum imap_step r = IMAP_NEXT_LINE;
	int first = 1;

	imap_cmd_reset(C, sizeof(line));
	for (int steps = 0; steps < 16 && r == IMAP_NEXT_LINE; steps++) {
		const uint8_t *lf = memchr(data + p, '\n', size - p);
		size_t n = lf ? (size_t)(lf - (data + p)) : size - p, o = 0;

		if (first) {
			memcpy(line, "a SEARCH ", 9);
			o = 9;
			first = 0;
		}
		if (n + o + 2 > sizeof(line))
			return 0;
		memcpy(line + o, data + p, n);
		memcpy(line + o + n, "\r\n", 2);
		p += n + (lf != NULL);
		r = imap_cmd_line(C, line, o + n + 2);
		if (r == IMAP_LITERAL) {
			if (C->lit_size > size - p)
				return 0;
			r = imap_cmd_literal(C, (const char *)data + p, C->lit_size);
			p += C->lit_size;
		}
	}
	return r == IMAP_DONE ? p : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sc_vmsg m[3];
	static char *kw[] = { "Work", "$Junk" };
	static uint32_t kwidx[] = { 0, 1, 0 };
	struct sc_view v = { 1, 100, 3, m, 2, kw, NULL, kwidx, 3 };
	struct imap_search *s = NULL;
	const char *code, *why;
	size_t used;

	if (C == NULL && (C = imap_cmd_new()) == NULL)
		abort();
	if (size > 1u << 20)
		return 0;
	m[0] = (struct sc_vmsg){ 7, VF_SEEN | VF_RECENT, 1234, 1796169599u, 0, 2 };
	m[1] = (struct sc_vmsg){ 8, VF_FLAGGED, 10, 0, 2, 1 };
	m[2] = (struct sc_vmsg){ 99, VF_DELETED | VF_DRAFT | VF_ANSWERED,
	    (uint64_t)size, 4102444800u, 0, 0 };
	if ((used = feed(data, size)) == 0)
		return 0;
	if (imap_search_compile(C, &s, &code, &why) < 0) {
		if (s != NULL || why == NULL)
			__builtin_trap();
		return 0;
	}
	for (uint32_t i = 0; i < 3; i++) {
		int a = imap_search_match(s, i + 1, 3, &m[i], &v, NULL, 0);
		int b = imap_search_match(s, i + 1, 3, &m[i], &v, data + used,
		    size - used);

		if (b != 0 && b != 1)
			__builtin_trap();
		if (a < -1 || a > 1 || (a == -1 && imap_search_needs(s) == 0))
			__builtin_trap();
		if (a != -1 && a != b)
			__builtin_trap();
	}
	imap_search_free(s);
	return 0;
}
