/*
 * The MIME layer's parser: bounded headers, Content-Type, multipart
 * boundaries, message/rfc822 (see mime.h), and the shared value lexer
 * (mime_int.h).
 *
 * The tree is built top down: a part's header is read, its Content-Type
 * decides; a multipart's body is cut at its own delimiter lines (RFC 2046
 * 5.1.1) and each piece parsed as a part; a message/rfc822 body is parsed
 * as a message.  Each level reads only its own bytes once, so a message
 * costs at most (MIME_NEST_MAX_COUNT + 1) passes over its bytes.  Parts
 * live in one array and refer to each other by index: the array grows
 * while children are parsed, so no pointer into it is kept across a call
 * that may add a part.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../privsep/util.h"
#include "mime_int.h"

/* ------------------------------------------------------------ the lexer */

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void
lex_cfws(struct lex *l, struct lex_text *cmt)
{
	if (cmt != NULL)
		cmt->t = NULL;
	for (;;) {
		const unsigned char *start;
		size_t depth = 1;

		while (l->p < l->e && is_blank(*l->p))
			l->p++;
		if (l->p >= l->e || *l->p != '(')
			return;
		start = ++l->p;
		while (l->p < l->e && depth > 0) {
			if (*l->p == '\\' && l->e - l->p > 1)
				l->p++;
			else if (*l->p == '(')
				depth++;
			else if (*l->p == ')')
				depth--;
			l->p++;
		}
		if (cmt != NULL) {
			cmt->t = start;
			cmt->n = (size_t)(l->p - start) - (depth == 0 ? 1 : 0);
		}
	}
}

static int
is_tokc(int c)
{
	return c > 0x20 && c != 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

int
lex_token(struct lex *l, struct lex_text *t)
{
	t->t = l->p;
	while (l->p < l->e && is_tokc(*l->p))
		l->p++;
	t->n = (size_t)(l->p - t->t);
	return t->n > 0;
}

int
lex_quoted(struct lex *l, struct lex_text *t)
{
	if (l->p >= l->e || *l->p != '"')
		return 0;
	t->t = ++l->p;
	while (l->p < l->e && *l->p != '"') {
		if (*l->p == '\\' && l->e - l->p > 1)
			l->p++;
		l->p++;
	}
	t->n = (size_t)(l->p - t->t);
	if (l->p < l->e)
		l->p++;
	return 1;
}

void
lex_unescape(const struct lex_text *t, struct ibuf *out)
{
	for (size_t i = 0; i < t->n; i++) {
		unsigned char c = t->t[i];

		if (c == '\\' && i + 1 < t->n)
			c = t->t[++i];
		if (c != '\r' && c != '\n' && c != '\0')
			ib_addc(out, c);
	}
}

/* Past junk to the next ';' (quoted strings skipped whole). */
static void
lex_skip_param(struct lex *l)
{
	struct lex_text q;

	while (l->p < l->e && *l->p != ';') {
		if (*l->p == '"')
			(void)lex_quoted(l, &q);
		else
			l->p++;
	}
}

int
lex_param(struct lex *l, struct mime_param *p)
{
	for (;;) {
		lex_cfws(l, NULL);
		if (l->p >= l->e)
			return 0;
		if (*l->p != ';') {
			lex_skip_param(l);
			continue;
		}
		l->p++;
		lex_cfws(l, NULL);
		if (!lex_token(l, &p->name))
			continue;
		lex_cfws(l, NULL);
		if (l->p >= l->e || *l->p != '=')
			continue;
		l->p++;
		lex_cfws(l, NULL);
		if (lex_quoted(l, &p->val)) {
			p->quoted = 1;
			return 1;
		}
		if (lex_token(l, &p->val)) {
			p->quoted = 0;
			return 1;
		}
	}
}

int
text_is(const struct lex_text *t, const char *s)
{
	size_t n = strlen(s);

	return t->t != NULL && t->n == n && strncasecmp((const char *)t->t, s, n) == 0;
}

/* ------------------------------------------------------------ headers */

static const char *const field_names[MF_COUNT] = {
	[MF_DATE] = "Date", [MF_SUBJECT] = "Subject", [MF_FROM] = "From",
	[MF_SENDER] = "Sender", [MF_REPLY_TO] = "Reply-To", [MF_TO] = "To",
	[MF_CC] = "Cc", [MF_BCC] = "Bcc", [MF_IN_REPLY_TO] = "In-Reply-To",
	[MF_MESSAGE_ID] = "Message-ID", [MF_CONTENT_TYPE] = "Content-Type",
	[MF_CONTENT_TRANSFER_ENCODING] = "Content-Transfer-Encoding",
	[MF_CONTENT_ID] = "Content-ID",
	[MF_CONTENT_DESCRIPTION] = "Content-Description",
	[MF_CONTENT_DISPOSITION] = "Content-Disposition",
	[MF_CONTENT_LANGUAGE] = "Content-Language",
	[MF_CONTENT_LOCATION] = "Content-Location",
	[MF_CONTENT_MD5] = "Content-MD5",
};

static int
field_lookup(const unsigned char *name, size_t n)
{
	for (int i = 0; i < MF_COUNT; i++)
		if (strlen(field_names[i]) == n &&
		    strncasecmp((const char *)name, field_names[i], n) == 0)
			return i;
	return -1;
}

/* One line of b[pos..end): *next after its LF (or end), *cend the end of
 * its content (before LF and a CR just before it). */
static void
line_at(const unsigned char *b, size_t pos, size_t end, size_t *next, size_t *cend)
{
	const unsigned char *lf = memchr(b + pos, '\n', end - pos);

	*next = lf != NULL ? (size_t)(lf - b) + 1 : end;
	*cend = lf != NULL ? (size_t)(lf - b) : end;
	if (*cend > pos && b[*cend - 1] == '\r')
		(*cend)--;
}

/* The name of the field line b[pos..cend): its colon, or 0 when it has
 * none (*nlen: the name without trailing blanks). */
static size_t
field_colon(const unsigned char *b, size_t pos, size_t cend, size_t *nlen)
{
	const unsigned char *colon = memchr(b + pos, ':', cend - pos);
	size_t n;

	if (colon == NULL)
		return 0;
	n = (size_t)(colon - (b + pos));
	while (n > 0 && (b[pos + n - 1] == ' ' || b[pos + n - 1] == '\t'))
		n--;
	*nlen = n;
	return (size_t)(colon - b);
}

static void
count_lines(const unsigned char *b, size_t n, uint64_t *octets, uint64_t *lines)
{
	const unsigned char *end = b + n, *lf;
	uint64_t w = n, k = 0;

	for (const unsigned char *q = b; (lf = memchr(q, '\n', (size_t)(end - q))) != NULL;
	    q = lf + 1) {
		k++;
		if (lf == b || lf[-1] != '\r')
			w++;
	}
	*octets = w;
	*lines = k;
}

struct ctx {
	struct mime_msg *m;
};

/* Reads the header of part i at start (the part ends at end). */
static void
parse_header(struct ctx *c, uint32_t i, size_t start, size_t end)
{
	const unsigned char *b = c->m->buf;
	struct mime_part *p = &c->m->part[i];
	size_t pos = start, next, cend, nlen, colon;
	uint32_t lines = 0;
	int cur = -1;       /* the field whose continuation lines extend it */
	uint64_t dummy;

	p->flags |= MP_NOHDR_END;
	while (pos < end) {
		line_at(b, pos, end, &next, &cend);
		if (lines + 1 > MIME_HDR_LINES_MAX_COUNT ||
		    next - start > MIME_HDR_MAX_BYTES) {
			p->flags |= MP_HDR_CUT;
			c->m->flags |= MM_HDR_CAPPED;
			break;
		}
		lines++;
		if (cend == pos) {          /* the blank line */
			pos = next;
			p->flags &= ~(uint32_t)MP_NOHDR_END;
			break;
		}
		if (b[pos] == ' ' || b[pos] == '\t') {
			if (cur >= 0)
				p->field[cur].len = cend - p->field[cur].off;
		} else if ((colon = field_colon(b, pos, cend, &nlen)) != 0 ||
		    (cend > pos && b[pos] == ':')) {
			cur = field_lookup(b + pos, colon == 0 ? 0 : nlen);
			if (cur >= 0 && (p->have & (1u << cur)) != 0)
				cur = -1;
			if (cur >= 0) {
				p->have |= 1u << cur;
				p->field[cur].off = colon + 1;
				p->field[cur].len = cend - (colon + 1);
			}
		} else
			cur = -1;   /* no colon: not a field, skipped */
		pos = next;
	}
	p->hdr_len = pos - start;
	p->hdr_lines = lines;
	count_lines(b + start, p->hdr_len, &p->hdr_octets, &dummy);
	p->body_off = pos;
	p->body_len = end - pos;
	count_lines(b + pos, end - pos, &p->body_octets, &p->body_lines);
}

/* Content-Type: the type flags of part i; the boundary into bnd (len 0
 * when there is none usable).  dflt_msg: the default is message/rfc822
 * (a part of multipart/digest). */
static void
parse_ctype(struct ctx *c, uint32_t i, int dflt_msg, struct ibuf *bnd)
{
	struct mime_part *p = &c->m->part[i];
	struct lex l;
	struct lex_text type, sub;
	struct mime_param prm;

	if ((p->have & (1u << MF_CONTENT_TYPE)) == 0) {
		p->flags |= dflt_msg ? MP_MESSAGE : MP_TEXT;
		return;
	}
	lex_init(&l, c->m, p->field[MF_CONTENT_TYPE]);
	lex_cfws(&l, NULL);
	if (!lex_token(&l, &type))
		goto invalid;
	lex_cfws(&l, NULL);
	if (l.p >= l.e || *l.p != '/')
		goto invalid;
	l.p++;
	lex_cfws(&l, NULL);
	if (!lex_token(&l, &sub))
		goto invalid;
	p->type.off = (size_t)(type.t - c->m->buf);
	p->type.len = type.n;
	p->subtype.off = (size_t)(sub.t - c->m->buf);
	p->subtype.len = sub.n;
	if (text_is(&type, "text"))
		p->flags |= MP_TEXT;
	else if (text_is(&type, "message") && text_is(&sub, "rfc822"))
		p->flags |= MP_MESSAGE;
	else if (text_is(&type, "multipart")) {
		while (lex_param(&l, &prm))
			if (text_is(&prm.name, "boundary")) {
				if (memchr(prm.val.t, '\0', prm.val.n) != NULL)
					break;          /* unusable */
				if (prm.quoted)
					lex_unescape(&prm.val, bnd);
				else
					ib_add(bnd, prm.val.t, prm.val.n);
				break;
			}
		if (bnd->len == 0 || ib_failed(bnd))
			p->flags |= MP_PLAIN | MP_TEXT;   /* no usable boundary */
		else
			p->flags |= MP_MULTIPART;
	}
	return;
invalid:
	/* RFC 2045 5.2: an invalid Content-Type means text/plain */
	p->flags |= MP_PLAIN | MP_TEXT;
}

/* A new part, child of parent starting at off; MIME_NONE past the bound. */
static uint32_t
new_part(struct ctx *c, uint32_t parent, uint32_t prev)
{
	struct mime_msg *m = c->m;
	struct mime_part *p;
	uint32_t i;

	if (m->nparts >= MIME_PARTS_MAX_COUNT) {
		m->flags |= MM_PARTS_CAPPED;
		return MIME_NONE;
	}
	if (m->nparts == m->cap) {
		m->cap = m->cap == 0 ? 8 : m->cap * 2;
		if (m->cap > MIME_PARTS_MAX_COUNT)
			m->cap = MIME_PARTS_MAX_COUNT;
		m->part = xreallocarray(m->part, m->cap, sizeof(*m->part));
	}
	i = m->nparts++;
	p = &m->part[i];
	memset(p, 0, sizeof(*p));
	p->parent = parent;
	p->child = p->next = MIME_NONE;
	if (parent != MIME_NONE) {
		p->depth = m->part[parent].depth + 1;
		m->part[parent].nchildren++;
		if (prev == MIME_NONE)
			m->part[parent].child = i;
		else
			m->part[prev].next = i;
	}
	return i;
}

static void parse_part(struct ctx *c, uint32_t i, size_t start, size_t end,
    int dflt_msg);

/* Cuts multipart i's body at its delimiter lines ("--" bnd). */
static void
split_multipart(struct ctx *c, uint32_t i, const unsigned char *bnd, size_t blen,
    int digest)
{
	const unsigned char *b = c->m->buf;
	size_t pos = c->m->part[i].body_off;
	size_t be = pos + c->m->part[i].body_len;
	size_t next, cend, q, pstart = 0, pend;
	int open = 0, close;
	uint32_t prev = MIME_NONE, k;

	for (; pos < be; pos = next) {
		line_at(b, pos, be, &next, &cend);
		if (cend - pos < 2 + blen || b[pos] != '-' || b[pos + 1] != '-' ||
		    memcmp(b + pos + 2, bnd, blen) != 0)
			continue;
		q = pos + 2 + blen;
		close = cend - q >= 2 && b[q] == '-' && b[q + 1] == '-';
		if (!close) {
			while (q < cend && (b[q] == ' ' || b[q] == '\t'))
				q++;
			if (q != cend)
				continue;       /* "--bnd" and more: not ours */
		}
		if (open) {
			/* the line end before a delimiter belongs to it */
			pend = pos;
			if (pend > pstart && b[pend - 1] == '\n')
				pend--;
			if (pend > pstart && b[pend - 1] == '\r')
				pend--;
			if ((k = new_part(c, i, prev)) == MIME_NONE)
				return;
			parse_part(c, k, pstart, pend, digest);
			prev = k;
		}
		if (close) {
			open = 0;
			break;
		}
		open = 1;
		pstart = next;
	}
	if (open && (k = new_part(c, i, prev)) != MIME_NONE) {
		parse_part(c, k, pstart, be, digest);   /* no close delimiter */
		prev = k;
	}
	if (prev == MIME_NONE)
		c->m->part[i].flags |= MP_EMPTY;
}

static void
parse_part(struct ctx *c, uint32_t i, size_t start, size_t end, int dflt_msg)
{
	struct ibuf bnd;
	uint32_t flags, k;

	c->m->part[i].off = start;
	parse_header(c, i, start, end);
	ib_init(&bnd, MIME_BOUNDARY_MAX_BYTES);
	parse_ctype(c, i, dflt_msg, &bnd);
	flags = c->m->part[i].flags;
	if ((flags & (MP_MULTIPART | MP_MESSAGE)) != 0 &&
	    c->m->part[i].depth >= MIME_NEST_MAX_COUNT) {
		c->m->part[i].flags = (flags & ~(uint32_t)(MP_MULTIPART | MP_MESSAGE)) |
		    MP_PLAIN | MP_TEXT;
		c->m->flags |= MM_DEPTH_CAPPED;
	} else if ((flags & MP_MULTIPART) != 0) {
		const struct mime_part *p = &c->m->part[i];
		struct lex_text sub = { c->m->buf + p->subtype.off, p->subtype.len };

		split_multipart(c, i, bnd.p, bnd.len, text_is(&sub, "digest"));
	} else if ((flags & MP_MESSAGE) != 0) {
		k = new_part(c, i, MIME_NONE);
		if (k == MIME_NONE)
			c->m->part[i].flags = (flags & ~(uint32_t)MP_MESSAGE) |
			    MP_PLAIN | MP_TEXT;
		else
			parse_part(c, k, c->m->part[i].body_off, end, 0);
	}
	ib_free(&bnd);
}

void
mime_parse(struct mime_msg *m, const void *buf, size_t len)
{
	struct ctx c = { m };

	memset(m, 0, sizeof(*m));
	m->buf = buf;
	m->len = len;
	(void)new_part(&c, MIME_NONE, MIME_NONE);
	parse_part(&c, 0, 0, len, 0);
}

void
mime_free(struct mime_msg *m)
{
	free(m->part);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------ header fields, values */

void
mime_hdr_iter_init(const struct mime_msg *m, uint32_t part,
    struct mime_hdr_iter *it)
{
	it->pos = m->part[part].off;
	it->end = it->pos + m->part[part].hdr_len;
}

int
mime_hdr_next(const struct mime_msg *m, struct mime_hdr_iter *it,
    struct mime_hdr_field *f)
{
	const unsigned char *b = m->buf;
	size_t next, cend, colon, nlen;

	while (it->pos < it->end) {
		size_t pos = it->pos;

		line_at(b, pos, it->end, &next, &cend);
		it->pos = next;
		if (cend == pos || b[pos] == ' ' || b[pos] == '\t')
			continue;       /* blank, or an orphan continuation */
		colon = field_colon(b, pos, cend, &nlen);
		if (colon == 0 && b[pos] != ':')
			continue;
		if (colon == 0)
			nlen = 0;
		f->name.off = pos;
		f->name.len = nlen;
		f->value.off = colon + 1;
		f->value.len = cend - (colon + 1);
		/* continuation lines */
		while (it->pos < it->end &&
		    (b[it->pos] == ' ' || b[it->pos] == '\t')) {
			line_at(b, it->pos, it->end, &next, &cend);
			f->value.len = cend - f->value.off;
			it->pos = next;
		}
		f->whole.off = pos;
		f->whole.len = it->pos - pos;
		return 1;
	}
	return 0;
}

void
mime_unfold(const struct mime_msg *m, struct mime_span v, struct ibuf *out)
{
	const unsigned char *s = m->buf + v.off, *e = s + v.len;

	while (s < e && is_blank(*s))
		s++;
	while (e > s && is_blank(e[-1]))
		e--;
	for (const unsigned char *q = s; q < e; q++)
		if (*q != '\r' && *q != '\n' && *q != '\0')
			ib_addc(out, *q);
}
