/*
 * BODY[section] (RFC 3501 6.4.5): the section spec's grammar, and where
 * its bytes are in a parsed message (see mime.h).
 *
 *   section-spec = section-msgtext / (section-part ["." section-text])
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
 *                     "TEXT"
 *   section-text = section-msgtext / "MIME"
 *
 * Part numbers as Dovecot reads them: part N of a multipart is its Nth
 * part; part 1 of anything else is that part itself (its body); a
 * message/rfc822 part followed by more numbers, or by HEADER/TEXT, stands
 * for the message inside it.
 */
#include <string.h>
#include <strings.h>

#include "../privsep/util.h"
#include "mime_int.h"

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* ASTRING-CHAR but ']' (which ends the section). */
static int
is_namec(int c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

static int
kw_is(const char *s, size_t n, const char *kw)
{
	return n == strlen(kw) && strncasecmp(s, kw, n) == 0;
}

/* "(name name ...)" at spec[i..n), to the end. */
static int
parse_fields(const char *spec, size_t i, size_t n, struct mime_section *s,
    const char **why)
{
	if (i >= n || spec[i] != ' ')
		return fail_why(why, "HEADER.FIELDS needs a space and a list");
	i++;
	if (i >= n || spec[i] != '(')
		return fail_why(why, "HEADER.FIELDS needs a list in parentheses");
	i++;
	for (;;) {
		size_t start;

		while (i < n && spec[i] == ' ')
			i++;
		if (i < n && spec[i] == ')' && s->nfields > 0)
			break;
		if (s->nfields == MIME_SECTION_FIELDS_MAX_COUNT)
			return fail_why(why, "too many header field names");
		if (i < n && spec[i] == '"') {
			start = ++i;
			while (i < n && spec[i] != '"' && spec[i] != '\\' &&
			    spec[i] != '\r' && spec[i] != '\n' && spec[i] != '\0')
				i++;
			if (i >= n || spec[i] != '"' || i == start)
				return fail_why(why, "bad quoted header field name");
			s->field[s->nfields].off = start;
			s->field[s->nfields++].len = i - start;
			i++;
		} else {
			start = i;
			while (i < n && is_namec((unsigned char)spec[i]))
				i++;
			if (i == start)
				return fail_why(why, "bad header field name list");
			s->field[s->nfields].off = start;
			s->field[s->nfields++].len = i - start;
		}
		if (i < n && spec[i] != ' ' && spec[i] != ')')
			return fail_why(why, "bad header field name list");
	}
	if (i + 1 != n)
		return fail_why(why, "junk after the header field list");
	return 0;
}

int
mime_section_parse(const char *spec, size_t n, struct mime_section *s,
    const char **why)
{
	size_t i = 0;
	const char *kw;

	memset(s, 0, sizeof(*s));
	s->text = MS_NONE;
	s->spec = spec;
	while (i < n && is_digit((unsigned char)spec[i])) {
		uint64_t v = 0;

		if (spec[i] == '0')
			return fail_why(why, "a part number is 1 or more, without a leading zero");
		while (i < n && is_digit((unsigned char)spec[i])) {
			v = v * 10 + (uint64_t)(spec[i++] - '0');
			if (v > UINT32_MAX)
				return fail_why(why, "part number too large");
		}
		if (s->nparts == MIME_SECTION_PARTS_MAX_COUNT)
			return fail_why(why, "too many part numbers");
		s->part[s->nparts++] = (uint32_t)v;
		if (i == n)
			return 0;
		if (spec[i] != '.' || ++i == n)
			return fail_why(why, "bad section part");
	}
	if (i == n)
		return 0;               /* "": the whole message */
	kw = spec + i;
	if (kw_is(kw, n - i, "HEADER"))
		s->text = MS_HEADER;
	else if (kw_is(kw, n - i, "TEXT"))
		s->text = MS_TEXT;
	else if (kw_is(kw, n - i, "MIME")) {
		if (s->nparts == 0)
			return fail_why(why, "MIME needs a part number");
		s->text = MS_MIME;
	} else if (n - i >= 17 && strncasecmp(kw, "HEADER.FIELDS.NOT", 17) == 0) {
		s->text = MS_FIELDS_NOT;
		return parse_fields(spec, i + 17, n, s, why);
	} else if (n - i >= 13 && strncasecmp(kw, "HEADER.FIELDS", 13) == 0) {
		s->text = MS_FIELDS;
		return parse_fields(spec, i + 13, n, s, why);
	} else
		return fail_why(why, "unknown section text");
	return 0;
}

/* The part the numbers of s name: its index, or MIME_NONE. */
static uint32_t
find_part(const struct mime_msg *m, const struct mime_section *s)
{
	uint32_t cur = 0;

	for (uint32_t k = 0; k < s->nparts; k++) {
		const struct mime_part *p = &m->part[cur];
		uint32_t n = s->part[k];

		if ((p->flags & MP_MULTIPART) != 0) {
			cur = p->child;
			while (cur != MIME_NONE && --n > 0)
				cur = m->part[cur].next;
			if (cur == MIME_NONE)
				return MIME_NONE;
		} else if (n != 1)
			return MIME_NONE;
		if (k + 1 < s->nparts && (m->part[cur].flags & MP_MESSAGE) != 0 &&
		    m->part[cur].child != MIME_NONE)
			cur = m->part[cur].child;
	}
	return cur;
}

static int
field_listed(const struct mime_msg *m, const struct mime_section *s,
    struct mime_span name)
{
	for (uint32_t k = 0; k < s->nfields; k++)
		if (s->field[k].len == name.len &&
		    strncasecmp(s->spec + s->field[k].off,
		    (const char *)m->buf + name.off, name.len) == 0)
			return 1;
	return 0;
}

static void
set_range(const struct mime_msg *m, struct mime_range *r, size_t off, size_t len)
{
	r->off = off;
	r->len = len;
	r->octets = crlf_octets(m->buf + off, len);
}

/* HEADER.FIELDS[.NOT] of part i, appended to out. */
static int
synth_fields(const struct mime_msg *m, const struct mime_section *s, uint32_t i, struct ibuf *out, struct mime_range *r,
    const char **why)
{
	struct mime_hdr_iter it;
	struct mime_hdr_field f;
	size_t mark = out->len;

	mime_hdr_iter_init(m, i, &it);
	while (mime_hdr_next(m, &it, &f)) {
		if (field_listed(m, s, f.name) == (s->text == MS_FIELDS_NOT))
			continue;
		ib_add_crlf(out, m->buf + f.whole.off, f.whole.len);
		if (m->buf[f.whole.off + f.whole.len - 1] != '\n')
			ib_adds(out, "\r\n");
	}
	ib_adds(out, "\r\n");
	if (ib_failed(out))
		return fail_why(why, "header section is too large");
	r->synth = 1;
	r->off = mark;
	r->len = out->len - mark;
	r->octets = r->len;
	return 0;
}

int
mime_section_get(const struct mime_msg *m, const struct mime_section *s,
    struct ibuf *out, struct mime_range *r, const char **why)
{
	uint32_t i;
	const struct mime_part *p;

	memset(r, 0, sizeof(*r));
	if (s->nparts == 0 && s->text == MS_NONE) {
		set_range(m, r, 0, m->len);
		return 0;
	}
	if ((i = find_part(m, s)) == MIME_NONE)
		goto missing;
	if (s->nparts > 0 && s->text != MS_NONE && s->text != MS_MIME) {
		/* HEADER, TEXT, FIELDS after numbers: the message in the part */
		if ((m->part[i].flags & MP_MESSAGE) == 0 ||
		    m->part[i].child == MIME_NONE)
			goto missing;
		i = m->part[i].child;
	}
	p = &m->part[i];
	switch (s->text) {
	case MS_NONE:
	case MS_TEXT:
		set_range(m, r, p->body_off, p->body_len);
		return 0;
	case MS_HEADER:
	case MS_MIME:
		set_range(m, r, p->off, p->hdr_len);
		return 0;
	case MS_FIELDS:
	case MS_FIELDS_NOT:
		return synth_fields(m, s, i, out, r, why);
	}
missing:
	r->missing = 1;
	return 0;
}
