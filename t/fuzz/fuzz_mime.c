/*
 * libFuzzer target for the IMAP worker's MIME layer (workers/mime.h): the
 * input is a message.  It is parsed, and every view is written: ENVELOPE
 * of the message and of every attached message, BODY and BODYSTRUCTURE,
 * and a set of sections; the input's first line is also tried as a
 * section spec.  Checks: the part tree lies inside the message, every
 * range inside its buffer, and the ENVELOPE/BODYSTRUCTURE text is well
 * formed IMAP (balanced parentheses, valid quoted strings and literals).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "workers/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is b[0..n) one parenthesised IMAP list of NIL, numbers, atoms, quoted
 * strings and literals? */
static int
imap_wellformed(const unsigned char *b, size_t n)
{
	size_t i = 0;
	long depth = 0;

	while (i < n) {
		unsigned char c = b[i];

		if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			if (--depth < 0)
				return 0;
			i++;
		} else if (c == ' ') {
			i++;
		} else if (c == '"') {
			for (i++; i < n && b[i] != '"'; i++) {
				if (b[i] == '\\') {
					if (++i >= n || (b[i] != '"' && b[i] != '\\'))
						return 0;
				} else if (b[i] == '\r' || b[i] == '\n' || b[i] == '\0' ||
				    b[i] >= 0x80)
					return 0;
			}
			if (i >= n)
				return 0;
			i++;
		} else if (c == '{') {
			size_t len = 0;

			for (i++; i < n && b[i] >= '0' && b[i] <= '9'; i++)
				len = len * 10 + (size_t)(b[i] - '0');
			if (n - i < 3 || memcmp(b + i, "}\r\n", 3) != 0)
				return 0;
			i += 3;
			if (n - i < len || memchr(b + i, '\0', len) != NULL)
				return 0;
			i += len;
		} else if ((c >= '0' && c <= '9') || c == 'N' || c == 'I' || c == 'L') {
			i++;
		} else
			return 0;
		if (depth == 0 && i < n)
			return 0;       /* one list only */
	}
	return depth == 0;
}

static const char *const specs[] = {
	"", "HEADER", "TEXT", "1", "2", "1.MIME", "2.MIME", "1.1", "2.1",
	"1.2.3", "2.HEADER", "2.TEXT", "HEADER.FIELDS (From Subject To)",
	"1.HEADER.FIELDS.NOT (Content-Type)", "2.1.HEADER.FIELDS (date)",
};

static void
check_range(const struct mime_msg *m, const struct ibuf *out,
    const struct mime_range *r)
{
	size_t lim = r->synth ? out->len : m->len;

	if (r->off > lim || r->len > lim - r->off)
		__builtin_trap();
	if (r->synth && (r->len < 2 || memcmp(out->p + r->off + r->len - 2, "\r\n", 2) != 0))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_msg m;
	struct mime_section s;
	struct mime_range r;
	struct ibuf out;
	const uint8_t *nl;

	mime_parse(&m, data, size);
	if (m.nparts < 1 || m.nparts > MIME_PARTS_MAX_COUNT)
		__builtin_trap();
	for (uint32_t i = 0; i < m.nparts; i++) {
		const struct mime_part *p = &m.part[i];

		if (p->off + p->hdr_len != p->body_off || p->body_off > size ||
		    p->body_len > size - p->body_off || p->depth > MIME_NEST_MAX_COUNT)
			__builtin_trap();
		if (i > 0 && (p->parent >= i ||
		    p->off < m.part[p->parent].body_off ||
		    p->body_off + p->body_len > m.part[p->parent].body_off +
		    m.part[p->parent].body_len))
			__builtin_trap();
	}
	ib_init(&out, MIME_OUT_MAX_BYTES);
	for (uint32_t i = 0; i < m.nparts; i++) {
		if (i != 0 && (m.part[m.part[i].parent].flags & MP_MESSAGE) == 0)
			continue;
		ib_reset(&out);
		if (mime_envelope(&m, i, &out, NULL) == 0 &&
		    !imap_wellformed(out.p, out.len))
			__builtin_trap();
	}
	for (int ext = 0; ext < 2; ext++) {
		ib_reset(&out);
		if (mime_bodystructure(&m, 0, ext, &out, NULL) == 0 &&
		    !imap_wellformed(out.p, out.len))
			__builtin_trap();
	}
	ib_reset(&out);
	for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
		if (mime_section_parse(specs[k], strlen(specs[k]), &s, NULL) < 0)
			__builtin_trap();
		if (mime_section_get(&m, &s, &out, &r, NULL) == 0)
			check_range(&m, &out, &r);
	}
	/* the first line as a section spec */
	nl = memchr(data, '\n', size < 256 ? size : 256);
	if (nl != NULL &&
	    mime_section_parse((const char *)data, (size_t)(nl - data), &s, NULL) == 0 &&
	    mime_section_get(&m, &s, &out, &r, NULL) == 0)
		check_range(&m, &out, &r);
	ib_free(&out);
	mime_free(&m);
	return 0;
}
