/*
 * libFuzzer target for the IMAP command parser (workers/imap_parse.c).
 * The input is what a client sends: lines up to LF, literal bytes after a
 * {N} line, as the session would feed them (literals in two pieces,
 * APPEND's message taken "externally", discarded bytes skipped, an
 * overlong line as head and tail).  Two line limits, by the first byte.
 * Every command is checked for what the session relies on: a tag, a
 * reason on errors, strings that are NUL-free and NUL-terminated, ranges
 * without 0, links inside the node array.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workers/imap_parse.h"
#include "workers/mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct imap_cmd *C;

static void
check_node(const struct imap_cmd *c, int n, int depth)
{
	const struct imap_node *nd;

	if (n < 0 || n >= c->nodes_used || depth > IMAP_NEST_MAX_COUNT + 1)
		__builtin_trap();
	nd = &c->node[n];
	if (nd->kind == IT_LIST) {
		uint32_t count = 0;

		for (int k = nd->child; k >= 0; k = c->node[k].next) {
			if (k <= n)
				__builtin_trap();       /* links go forward */
			check_node(c, k, depth + 1);
			count++;
		}
		if (count != nd->len)
			__builtin_trap();
		return;
	}
	if (nd->kind == IT_LITERAL && nd->external)
		return;
	if (strlen(imap_text(c, n)) != nd->len)
		__builtin_trap();
}

static void
check_done(const struct imap_cmd *c)
{
	char name[IMAP_MAILBOX_MAX_BYTES];
	const char *why;

	check_node(c, 0, 0);
	if (c->verb == IV_NONE || c->tag[0] == '\0' || c->why != NULL)
		__builtin_trap();
	/* the verbs with a sequence set have one, of at least a range */
	if ((c->verb == IV_FETCH || c->verb == IV_STORE ||
	    c->verb == IV_COPY || c->verb == IV_MOVE ||
	    (c->verb == IV_EXPUNGE && c->uid)) &&
	    (c->a.nseq == 0 || c->a.seq == NULL))
		__builtin_trap();
	if (c->a.nseq > IMAP_SEQSET_MAX_COUNT ||
	    c->a.fetch.nsec > IMAP_FETCH_SECTIONS_MAX_COUNT)
		__builtin_trap();
	for (size_t i = 0; i < c->a.fetch.nsec; i++) {
		const struct imap_section *s = &c->a.fetch.sec[i];

		if (s->nparts > IMAP_SECTION_PARTS_MAX_COUNT ||
		    s->nfields > IMAP_FETCH_FIELDS_MAX_COUNT ||
		    (s->partial && s->count == 0) ||
		    (s->spec == IMAP_SEC_MIME && s->nparts == 0))
			__builtin_trap();
		for (size_t k = 0; k < s->nparts; k++)
			if (s->part[k] == 0)
				__builtin_trap();
	}
	if (c->a.mailbox != NULL) {
		if (strlen(c->a.mailbox) != c->a.mailbox_len)
			__builtin_trap();
		/* the names as the session would decode them */
		(void)mutf7_decode(c->a.mailbox, c->a.mailbox_len, name,
		    sizeof(name), &why);
	}
}

static void
check_error(const struct imap_cmd *c)
{
	if (c->why == NULL || c->why[0] == '\0' || c->err == IE_OK ||
	    c->tag[0] == '\0')
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t p = 1, line_max;
	int steps = 0;

	if (C == NULL && (C = imap_cmd_new()) == NULL)
		abort();
	if (size < 1)
		return 0;
	line_max = (data[0] & 1) ? 64 : IMAP_LINE_PRELOGIN_BYTES;
	while (p < size && steps++ < 10000) {
		enum imap_step r;
		const char *lf;
		size_t n;

		imap_cmd_reset(C, line_max);
		for (;;) {
			lf = memchr(in + p, '\n', size - p);
			n = lf != NULL ? (size_t)(lf - (in + p)) + 1 : size - p;
			if (n > C->line_max)
				r = imap_cmd_overlong(C, in + p, 16,
				    in + p + n - 16, 16);
			else
				r = imap_cmd_line(C, in + p, n);
			p += n;
			while (r == IMAP_LITERAL) {
				size_t have = size - p, k;

				if (C->lit_message && (data[0] & 2)) {
					/* refused: no bytes taken (a
					 * non-synchronising one is discarded) */
					r = imap_cmd_refuse(C, "TOOBIG", "no");
					break;
				}
				if (C->lit_message) {
					if (C->lit_size > have)
						return 0;
					r = imap_cmd_literal_external(C);
					p += C->lit_size;
					continue;
				}
				k = C->lit_size < have ? C->lit_size : have;
				r = imap_cmd_literal(C, in + p, k / 2);
				if (r == IMAP_LITERAL)
					r = imap_cmd_literal(C, in + p + k / 2,
					    k - k / 2);
				p += k;
				if (r == IMAP_LITERAL)
					return 0;       /* input ran out */
			}
			if (r == IMAP_DISCARD) {
				if (C->discard > size - p)
					return 0;
				p += (size_t)C->discard;
			}
			if (r == IMAP_DONE) {
				check_done(C);
				break;
			}
			if (r == IMAP_ERROR) {
				check_error(C);
				break;
			}
			if (p >= size)
				return 0;
		}
	}
	return 0;
}
