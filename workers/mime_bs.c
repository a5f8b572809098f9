/*
 * BODY and BODYSTRUCTURE (RFC 3501 7.4.2, the body grammar of 9), written
 * as Dovecot writes them: parameters, disposition and language as parsed
 * from the part's own header, sizes as sent with CRLF (mime.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* One RFC 2231 segment: "key*idx", "key*idx*" or "key*" (idx 0). */
struct seg {
	struct lex_text key;
	uint32_t idx;
	int ext;
	struct mime_param prm;
};

/* Is name an RFC 2231 segment name?  Fills key, idx, ext. */
static int
split_segment(const struct lex_text *name, struct seg *g)
{
	const unsigned char *star = memchr(name->t, '*', name->n);
	const unsigned char *q, *e = name->t + name->n;

	if (star == NULL || star == name->t)
		return 0;
	g->key.t = name->t;
	g->key.n = (size_t)(star - name->t);
	g->idx = 0;
	g->ext = 0;
	q = star + 1;
	if (q == e) {
		g->ext = 1;             /* "key*": one extended value */
		return 1;
	}
	if (*q == '0' && q + 1 < e && q[1] != '*')
		return 0;               /* a leading zero */
	for (; q < e && *q >= '0' && *q <= '9'; q++) {
		if (g->idx > 99999)
			return 0;
		g->idx = g->idx * 10 + (uint32_t)(*q - '0');
	}
	if (q == star + 1)
		return 0;
	if (q < e && *q == '*') {
		g->ext = 1;
		q++;
	}
	return q == e;
}

static int
seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	size_t n = x->key.n < y->key.n ? x->key.n : y->key.n;
	int r = strncasecmp((const char *)x->key.t, (const char *)y->key.t, n);

	if (r != 0)
		return r;
	if (x->key.n != y->key.n)
		return x->key.n < y->key.n ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
same_key(const struct seg *x, const struct seg *y)
{
	return x->key.n == y->key.n &&
	    strncasecmp((const char *)x->key.t, (const char *)y->key.t, x->key.n) == 0;
}

static void
put_value(struct bs_ctx *c, const struct mime_param *prm)
{
	if (prm->quoted) {
		ib_reset(c->tmp);
		lex_unescape(&prm->val, c->tmp);
		ib_string(c->out, c->tmp->p, c->tmp->len);
	} else
		ib_string(c->out, prm->val.t, prm->val.n);
}

/* A segment's value into tmp; '%' escaped when the joined value is
 * extended but this segment is not (as Dovecot). */
static void
add_segment(struct bs_ctx *c, const struct seg *g, int escape)
{
	struct ibuf v;

	ib_init(&v, MIME_OUT_MAX_BYTES);
	if (g->prm.quoted)
		lex_unescape(&g->prm.val, &v);
	else
		ib_add(&v, g->prm.val.t, g->prm.val.n);
	for (size_t i = 0; i < v.len; i++) {
		if (escape && v.p[i] == '%')
			ib_adds(c->tmp, "%25");
		else
			ib_addc(c->tmp, v.p[i]);
	}
	ib_free(&v);
}

/*
 * The RFC 2231 segments g[0..n), sorted: each key's segments 0..k joined
 * into one "key" (or "key*" when any is extended) parameter, as Dovecot;
 * a key with a missing index keeps its segments as written.
 */
static void
put_segments(struct bs_ctx *c, struct seg *g, size_t n, size_t *count)
{
	size_t i, j, next;

	qsort(g, n, sizeof(*g), seg_cmp);
	for (i = 0; i < n; i = next) {
		int ok = 1, ext = 0;

		for (j = i; j < n && same_key(&g[i], &g[j]); j++) {
			if (g[j].idx != j - i)
				ok = 0;
			ext |= g[j].ext;
		}
		next = j;
		if (!ok) {
			for (j = i; j < next; j++) {
				ib_adds(c->out, (*count)++ == 0 ? "(" : " ");
				ib_string(c->out, g[j].prm.name.t, g[j].prm.name.n);
				ib_addc(c->out, ' ');
				put_value(c, &g[j].prm);
			}
			continue;
		}
		ib_reset(c->tmp);
		ib_add(c->tmp, g[i].key.t, g[i].key.n);
		if (ext)
			ib_addc(c->tmp, '*');
		ib_adds(c->out, (*count)++ == 0 ? "(" : " ");
		ib_string(c->out, c->tmp->p, c->tmp->len);
		ib_addc(c->out, ' ');
		ib_reset(c->tmp);
		if (ext && !g[i].ext)
			ib_adds(c->tmp, "''");
		for (j = i; j < next; j++)
			add_segment(c, &g[j], ext && !g[j].ext);
		ib_string(c->out, c->tmp->p, c->tmp->len);
	}
}

/* The parameter list after l's position: ("name" "value" ...) or NIL;
 * RFC 2231 continuations joined after the plain ones (as Dovecot).
 * add_charset: a text part that names no charset gets us-ascii. */
static void
put_params(struct bs_ctx *c, const struct lex *at, int add_charset)
{
	struct lex l = *at;
	struct mime_param prm;
	struct seg *g = NULL, one;
	size_t n = 0, ng = 0, capg = 0;

	if (add_charset)
		while (lex_param(&l, &prm))
			if (text_is(&prm.name, "charset"))
				add_charset = 0;
	l = *at;
	while (lex_param(&l, &prm)) {
		if (ng < MIME_RFC2231_SEGMENTS_MAX_COUNT &&
		    split_segment(&prm.name, &one)) {
			if (ng == capg) {
				capg = capg == 0 ? 8 : capg * 2;
				g = xreallocarray(g, capg, sizeof(*g));
			}
			one.prm = prm;
			g[ng++] = one;
			continue;
		}
		ib_adds(c->out, n++ == 0 ? "(" : " ");
		ib_string(c->out, prm.name.t, prm.name.n);
		ib_addc(c->out, ' ');
		put_value(c, &prm);
	}
	if (ng > 0)
		put_segments(c, g, ng, &n);
	free(g);
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
