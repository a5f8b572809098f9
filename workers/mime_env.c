/*
 * ENVELOPE (RFC 3501 7.4.2) and the address lists in it: RFC 5322 3.4
 * mailboxes and groups, read leniently (obsolete routes, comments, junk
 * skipped to the next comma), at most MIME_ADDR_MAX_COUNT addresses a
 * field.  Each address is (name adl mailbox host); a group is
 * (NIL NIL name NIL) ... (NIL NIL NIL NIL).  Policy as Dovecot: see
 * mime.h.
 */
#include <string.h>

#include "../privsep/util.h"
#include "mime_int.h"

#define MISSING_MAILBOX "MISSING_MAILBOX"
#define MISSING_DOMAIN  "MISSING_DOMAIN"

/* An atom of a phrase or a local part (dots included: obs-phrase). */
static int
is_atomc(int c)
{
	return c > 0x20 && c != 0x7f && strchr("()<>[]:;@\\,\"", c) == NULL;
}

struct addr_ctx {
	const struct mime_msg *m;
	struct ibuf *out;
	struct ibuf *name;      /* the display name being read */
	size_t count;           /* addresses written for this field */
};

/*
 * Words (atoms and quoted strings) up to the next special: their text
 * joined by single spaces into name (quoted strings undone), their raw
 * extent in *raw (t NULL when none); the last comment seen in *cmt.
 */
static size_t
read_phrase(struct lex *l, struct ibuf *name, struct lex_text *raw,
    struct lex_text *cmt)
{
	struct lex_text c, q;
	size_t words = 0;

	raw->t = NULL;
	raw->n = 0;
	for (;;) {
		const unsigned char *s;

		lex_cfws(l, &c);
		if (c.t != NULL)
			*cmt = c;
		if (l->p >= l->e)
			break;
		s = l->p;
		if (*l->p == '"') {
			(void)lex_quoted(l, &q);
			if (words > 0)
				ib_addc(name, ' ');
			lex_unescape(&q, name);
		} else if (is_atomc(*l->p)) {
			while (l->p < l->e && is_atomc(*l->p))
				l->p++;
			if (words > 0)
				ib_addc(name, ' ');
			ib_add(name, s, (size_t)(l->p - s));
		} else
			break;
		if (raw->t == NULL)
			raw->t = s;
		raw->n = (size_t)(l->p - raw->t);
		words++;
	}
	return words;
}

/* A local part as written: words and dots, quoted strings kept quoted. */
static void
read_local(struct lex *l, struct lex_text *raw)
{
	struct lex_text q;

	raw->t = NULL;
	raw->n = 0;
	for (;;) {
		const unsigned char *s;

		lex_cfws(l, NULL);
		if (l->p >= l->e)
			return;
		s = l->p;
		if (*l->p == '"')
			(void)lex_quoted(l, &q);
		else if (is_atomc(*l->p))
			while (l->p < l->e && is_atomc(*l->p))
				l->p++;
		else
			return;
		if (raw->t == NULL)
			raw->t = s;
		raw->n = (size_t)(l->p - raw->t);
	}
}

/* After '@': a dot-atom or a domain literal, as written. */
static void
read_domain(struct lex *l, struct lex_text *d)
{
	lex_cfws(l, NULL);
	d->t = l->p;
	if (l->p < l->e && *l->p == '[') {
		while (l->p < l->e && *l->p != ']')
			l->p++;
		if (l->p < l->e)
			l->p++;
	} else
		while (l->p < l->e && is_atomc(*l->p))
			l->p++;
	d->n = (size_t)(l->p - d->t);
}

static void
put_text(struct ibuf *out, const struct lex_text *t, const char *dflt)
{
	if (t != NULL && t->t != NULL && t->n > 0)
		ib_string(out, t->t, t->n);
	else if (dflt != NULL)
		ib_string(out, dflt, strlen(dflt));
	else
		ib_adds(out, "NIL");
}

/* One (name adl mailbox host). */
static void
put_addr(struct addr_ctx *a, int have_name, const struct lex_text *cmt,
    const struct lex_text *adl, const struct lex_text *local,
    const struct lex_text *domain)
{
	struct ibuf *out = a->out;

	ib_addc(out, '(');
	if (have_name)
		ib_string(out, a->name->p, a->name->len);
	else if (cmt->t != NULL && cmt->n > 0) {
		struct lex_text c = *cmt;

		ib_reset(a->name);
		lex_unescape(&c, a->name);
		ib_string(out, a->name->p, a->name->len);
	} else
		ib_adds(out, "NIL");
	ib_addc(out, ' ');
	put_text(out, adl, NULL);
	ib_addc(out, ' ');
	put_text(out, local, MISSING_MAILBOX);
	ib_addc(out, ' ');
	put_text(out, domain, MISSING_DOMAIN);
	ib_addc(out, ')');
	a->count++;
}

/* "<[route:]local@domain>", l at '<'. */
static void
read_angle(struct lex *l, struct lex_text *adl, struct lex_text *local,
    struct lex_text *domain)
{
	const unsigned char *s;

	l->p++;
	lex_cfws(l, NULL);
	adl->t = NULL;
	if (l->p < l->e && *l->p == '@') {
		s = l->p;
		while (l->p < l->e && *l->p != ':' && *l->p != '>')
			l->p++;
		if (l->p < l->e && *l->p == ':') {
			adl->t = s;
			adl->n = (size_t)(l->p - s);
			l->p++;
		} else
			l->p = s;   /* "<@host>": no route, no local part */
	}
	read_local(l, local);
	domain->t = NULL;
	if (l->p < l->e && *l->p == '@') {
		l->p++;
		read_domain(l, domain);
	}
	while (l->p < l->e && *l->p != '>' && *l->p != ',')
		l->p++;
	if (l->p < l->e && *l->p == '>')
		l->p++;
}

/* Junk after an address, up to the next ',' or ';'. */
static void
skip_junk(struct lex *l, struct lex_text *cmt)
{
	struct lex_text c, q;

	for (;;) {
		lex_cfws(l, &c);
		if (c.t != NULL)
			*cmt = c;
		if (l->p >= l->e || *l->p == ',' || *l->p == ';')
			return;
		if (*l->p == '"')
			(void)lex_quoted(l, &q);
		else
			l->p++;
	}
}

/* The addresses of value v into a->out; returns how many. */
static size_t
addr_list(struct addr_ctx *a, struct mime_span v)
{
	struct lex l;
	int in_group = 0;

	a->count = 0;
	lex_init(&l, a->m, v);
	while (a->count < MIME_ADDR_MAX_COUNT) {
		struct lex_text raw, cmt = { NULL, 0 }, adl = { NULL, 0 };
		struct lex_text local = { NULL, 0 }, domain = { NULL, 0 };
		size_t words;

		lex_cfws(&l, NULL);
		if (l.p >= l.e)
			break;
		if (*l.p == ',') {
			l.p++;
			continue;
		}
		if (*l.p == ';') {
			l.p++;
			if (in_group) {
				ib_adds(a->out, "(NIL NIL NIL NIL)");
				a->count++;
				in_group = 0;
			}
			continue;
		}
		ib_reset(a->name);
		words = read_phrase(&l, a->name, &raw, &cmt);
		if (l.p < l.e && *l.p == ':' && !in_group) {
			l.p++;
			ib_adds(a->out, "(NIL NIL ");
			ib_string(a->out, a->name->p, a->name->len);
			ib_adds(a->out, " NIL)");
			a->count++;
			in_group = 1;
			continue;
		}
		if (l.p < l.e && *l.p == '<') {
			read_angle(&l, &adl, &local, &domain);
			skip_junk(&l, &cmt);
			put_addr(a, words > 0, &cmt, &adl, &local, &domain);
			continue;
		}
		if (l.p < l.e && *l.p == '@') {
			l.p++;
			read_domain(&l, &domain);
			skip_junk(&l, &cmt);
			put_addr(a, 0, &cmt, &adl, &raw, &domain);
			continue;
		}
		if (words > 0) {
			skip_junk(&l, &cmt);
			put_addr(a, 0, &cmt, &adl, &raw, &domain);
			continue;
		}
		l.p++;          /* a stray special: step over it */
	}
	if (in_group) {
		ib_adds(a->out, "(NIL NIL NIL NIL)");
		a->count++;
	}
	return a->count;
}

/* An address field, NIL when it is absent or holds no address.  0 when
 * it wrote NIL. */
static int
put_addr_field(struct addr_ctx *a, const struct mime_part *p, enum mime_field f)
{
	size_t mark = a->out->len;

	if ((p->have & (1u << f)) != 0) {
		ib_addc(a->out, '(');
		if (addr_list(a, p->field[f]) > 0) {
			ib_addc(a->out, ')');
			return 1;
		}
		if (!ib_failed(a->out))
			a->out->len = mark;
	}
	ib_adds(a->out, "NIL");
	return 0;
}

static void
put_unstructured(const struct mime_msg *m, const struct mime_part *p,
    enum mime_field f, struct ibuf *out, struct ibuf *tmp)
{
	if ((p->have & (1u << f)) == 0) {
		ib_adds(out, "NIL");
		return;
	}
	ib_reset(tmp);
	mime_unfold(m, p->field[f], tmp);
	ib_string(out, tmp->p, tmp->len);
}

int
mime_envelope(const struct mime_msg *m, uint32_t msg, struct ibuf *out,
    const char **why)
{
	const struct mime_part *p = &m->part[msg];
	struct ibuf tmp;
	struct addr_ctx a = { m, out, &tmp, 0 };
	size_t mark;

	ib_init(&tmp, MIME_OUT_MAX_BYTES);
	ib_addc(out, '(');
	put_unstructured(m, p, MF_DATE, out, &tmp);
	ib_addc(out, ' ');
	put_unstructured(m, p, MF_SUBJECT, out, &tmp);
	ib_addc(out, ' ');
	(void)put_addr_field(&a, p, MF_FROM);
	/* sender and reply-to default to from (RFC 3501 7.4.2) */
	ib_addc(out, ' ');
	mark = out->len;
	if (!put_addr_field(&a, p, MF_SENDER)) {
		if (!ib_failed(out))
			out->len = mark;
		(void)put_addr_field(&a, p, MF_FROM);
	}
	ib_addc(out, ' ');
	mark = out->len;
	if (!put_addr_field(&a, p, MF_REPLY_TO)) {
		if (!ib_failed(out))
			out->len = mark;
		(void)put_addr_field(&a, p, MF_FROM);
	}
	ib_addc(out, ' ');
	(void)put_addr_field(&a, p, MF_TO);
	ib_addc(out, ' ');
	(void)put_addr_field(&a, p, MF_CC);
	ib_addc(out, ' ');
	(void)put_addr_field(&a, p, MF_BCC);
	ib_addc(out, ' ');
	put_unstructured(m, p, MF_IN_REPLY_TO, out, &tmp);
	ib_addc(out, ' ');
	put_unstructured(m, p, MF_MESSAGE_ID, out, &tmp);
	ib_addc(out, ')');
	ib_free(&tmp);
	if (ib_failed(out))
		return fail_why(why, "ENVELOPE is too large");
	return 0;
}
