/*
 * BODY and BODYSTRUCTURE (RFC 3501 7.4.2, the body grammar of 9), written
 * as Dovecot writes them: parameters, disposition and language as parsed
 * from the part's own header, sizes as sent with CRLF (mime.h).
 */
#include <string.h>

#include "../privsep/util.h"
#include "mime_int.h"

/* What a multipart in which no boundary occurs shows as its one part. */
#define EMPTY_PART "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

struct bs_ctx {
	const struct mime_msg *m;
	struct ibuf *out;
	struct ibuf *tmp;
	int ext;
};

static int
has(const struct mime_part *p, enum mime_field f)
{
	return (p->have & (1u << f)) != 0;
}

/* The parameter list after l's position: ("name" "value" ...) or NIL.
 * add_charset: a text part that names no charset gets us-ascii. */
static void
put_params(struct bs_ctx *c, const struct lex *at, int add_charset)
{
	struct lex l = *at;
	struct mime_param prm;
	size_t n = 0;

	if (add_charset)
		while (lex_param(&l, &prm))
			if (text_is(&prm.name, "charset"))
				add_charset = 0;
	l = *at;
	while (lex_param(&l, &prm)) {
		ib_adds(c->out, n++ == 0 ? "(" : " ");
		ib_string(c->out, prm.name.t, prm.name.n);
		ib_addc(c->out, ' ');
		if (prm.quoted) {
			ib_reset(c->tmp);
			lex_unescape(&prm.val, c->tmp);
			ib_string(c->out, c->tmp->p, c->tmp->len);
		} else
			ib_string(c->out, prm.val.t, prm.val.n);
	}
	if (add_charset)
		ib_adds(c->out, n++ == 0 ? "(\"charset\" \"us-ascii\"" :
		    " \"charset\" \"us-ascii\"");
	ib_adds(c->out, n > 0 ? ")" : "NIL");
}

/* A lexer positioned after Content-Type's "type/subtype". */
static void
ctype_params_at(const struct mime_msg *m, const struct mime_part *p, struct lex *l)
{
	lex_init(l, m, p->field[MF_CONTENT_TYPE]);
	l->p = m->buf + p->subtype.off + p->subtype.len;
}

static void
put_unstructured(struct bs_ctx *c, const struct mime_part *p, enum mime_field f)
{
	if (!has(p, f)) {
		ib_adds(c->out, "NIL");
		return;
	}
	ib_reset(c->tmp);
	mime_unfold(c->m, p->field[f], c->tmp);
	ib_string(c->out, c->tmp->p, c->tmp->len);
}

/* Content-Transfer-Encoding: its token as written, "7bit" when absent or
 * not a token. */
static void
put_encoding(struct bs_ctx *c, const struct mime_part *p)
{
	struct lex l;
	struct lex_text t;

	if (has(p, MF_CONTENT_TRANSFER_ENCODING)) {
		lex_init(&l, c->m, p->field[MF_CONTENT_TRANSFER_ENCODING]);
		lex_cfws(&l, NULL);
		if (lex_token(&l, &t)) {
			lex_cfws(&l, NULL);
			if (l.p >= l.e) {
				ib_string(c->out, t.t, t.n);
				return;
			}
		}
	}
	ib_adds(c->out, "\"7bit\"");
}

/* body-fld-dsp: ("type" params) or NIL. */
static void
put_disposition(struct bs_ctx *c, const struct mime_part *p)
{
	struct lex l;
	struct lex_text t;

	if (has(p, MF_CONTENT_DISPOSITION)) {
		lex_init(&l, c->m, p->field[MF_CONTENT_DISPOSITION]);
		lex_cfws(&l, NULL);
		if (lex_token(&l, &t)) {
			ib_addc(c->out, '(');
			ib_string(c->out, t.t, t.n);
			ib_addc(c->out, ' ');
			put_params(c, &l, 0);
			ib_addc(c->out, ')');
			return;
		}
	}
	ib_adds(c->out, "NIL");
}

/* body-fld-lang: ("en" "fi") or NIL. */
static void
put_language(struct bs_ctx *c, const struct mime_part *p)
{
	struct lex l;
	struct lex_text t;
	size_t n = 0;

	if (has(p, MF_CONTENT_LANGUAGE)) {
		lex_init(&l, c->m, p->field[MF_CONTENT_LANGUAGE]);
		while (l.p < l.e) {
			lex_cfws(&l, NULL);
			if (lex_token(&l, &t)) {
				ib_adds(c->out, n++ == 0 ? "(" : " ");
				ib_string(c->out, t.t, t.n);
			} else if (l.p < l.e)
				l.p++;  /* ',' or junk */
		}
	}
	ib_adds(c->out, n > 0 ? ")" : "NIL");
}

/* disposition, language, location: the tail both kinds share. */
static void
put_ext_tail(struct bs_ctx *c, const struct mime_part *p)
{
	ib_addc(c->out, ' ');
	put_disposition(c, p);
	ib_addc(c->out, ' ');
	put_language(c, p);
	ib_addc(c->out, ' ');
	put_unstructured(c, p, MF_CONTENT_LOCATION);
}

static void put_part(struct bs_ctx *c, uint32_t i);

static void
put_multipart(struct bs_ctx *c, const struct mime_part *p)
{
	struct lex l;

	ib_addc(c->out, '(');
	if (p->child == MIME_NONE) {
		ib_adds(c->out, EMPTY_PART);
		ib_adds(c->out, c->ext ? " NIL NIL NIL NIL)" : ")");
	}
	for (uint32_t k = p->child; k != MIME_NONE; k = c->m->part[k].next)
		put_part(c, k);
	ib_addc(c->out, ' ');
	ib_string(c->out, c->m->buf + p->subtype.off, p->subtype.len);
	if (c->ext) {
		ib_addc(c->out, ' ');
		ctype_params_at(c->m, p, &l);
		put_params(c, &l, 0);
		put_ext_tail(c, p);
	}
	ib_addc(c->out, ')');
}

static void
put_basic(struct bs_ctx *c, const struct mime_part *p)
{
	struct lex l;

	ib_addc(c->out, '(');
	if ((p->flags & MP_PLAIN) != 0 || p->type.len == 0) {
		if ((p->flags & MP_MESSAGE) != 0)
			ib_adds(c->out, "\"message\" \"rfc822\" NIL");
		else
			ib_adds(c->out, "\"text\" \"plain\" (\"charset\" \"us-ascii\")");
	} else {
		ib_string(c->out, c->m->buf + p->type.off, p->type.len);
		ib_addc(c->out, ' ');
		ib_string(c->out, c->m->buf + p->subtype.off, p->subtype.len);
		ib_addc(c->out, ' ');
		ctype_params_at(c->m, p, &l);
		put_params(c, &l, (p->flags & MP_TEXT) != 0);
	}
	ib_addc(c->out, ' ');
	put_unstructured(c, p, MF_CONTENT_ID);
	ib_addc(c->out, ' ');
	put_unstructured(c, p, MF_CONTENT_DESCRIPTION);
	ib_addc(c->out, ' ');
	put_encoding(c, p);
	ib_addc(c->out, ' ');
	ib_addu64(c->out, p->body_octets);
	if ((p->flags & MP_MESSAGE) != 0 && p->child != MIME_NONE) {
		ib_addc(c->out, ' ');
		(void)mime_envelope(c->m, p->child, c->out, NULL);
		ib_addc(c->out, ' ');
		put_part(c, p->child);
		ib_addc(c->out, ' ');
		ib_addu64(c->out, p->body_lines);
	} else if ((p->flags & MP_TEXT) != 0) {
		ib_addc(c->out, ' ');
		ib_addu64(c->out, p->body_lines);
	}
	if (c->ext) {
		ib_addc(c->out, ' ');
		put_unstructured(c, p, MF_CONTENT_MD5);
		put_ext_tail(c, p);
	}
	ib_addc(c->out, ')');
}

static void
put_part(struct bs_ctx *c, uint32_t i)
{
	const struct mime_part *p = &c->m->part[i];

	if ((p->flags & MP_MULTIPART) != 0)
		put_multipart(c, p);
	else
		put_basic(c, p);
}

int
mime_bodystructure(const struct mime_msg *m, uint32_t part, int ext,
    struct ibuf *out, const char **why)
{
	struct ibuf tmp;
	struct bs_ctx c = { m, out, &tmp, ext };

	ib_init(&tmp, MIME_OUT_MAX_BYTES);
	put_part(&c, part);
	ib_free(&tmp);
	if (ib_failed(out))
		return fail_why(why, ext ? "BODYSTRUCTURE is too large" :
		    "BODY is too large");
	return 0;
}
