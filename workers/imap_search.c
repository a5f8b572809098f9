/*
 * IMAP SEARCH (imap_search.h): the keys of a parsed command compiled into a
 * tree of nodes, evaluated per message with the cheap keys first.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../privsep/msg.h"
#include "../privsep/params.h"
#include "../privsep/util.h"
#include "imap_search.h"
#include "imap_search_int.h"
#include "imap_str.h"
#include "mime.h"
#include "mime_int.h"

enum sop {
	SO_AND,         /* children: all (a list, and the whole program) */
	SO_OR,          /* two children */
	SO_NOT,         /* one child */
	SO_FLAGS,       /* flags set all of fset, none of fclr */
	SO_KEYWORD,     /* has keyword str (neg: has not) */
	SO_LARGER,
	SO_SMALLER,
	SO_DATE,        /* internal date's day vs num (cmp) */
	SO_SENT,        /* the Date: header's day vs num (cmp) */
	SO_SEQ,         /* sequence set */
	SO_UID,         /* UID set */
	SO_HEADER,      /* a header field str contains the needle */
	SO_BODY,
	SO_TEXT,
};

enum scmp { SC_BEFORE, SC_ON, SC_SINCE };

/* Non-"*" ranges sorted and merged; every range with "*" folds into one,
 * [min(star_lo, max), max] (imap_seq_resolve() of "x:*" is [x, max] or
 * [max, x], and nothing exists past max). */
struct sset {
	struct imap_seqrange *r;
	size_t n;
	int star;
	uint32_t star_lo;
};

struct snode {
	enum sop op;
	int neg;                /* SO_KEYWORD: UNKEYWORD */
	enum scmp cmp;
	uint32_t needs;         /* 0, FETCH_HEADER or FETCH_WHOLE */
	int child, next;        /* indexes, -1 ends */
	uint32_t fset, fclr;
	uint64_t num;
	char *str;              /* keyword or header name */
	struct snd nd;
	struct sset set;
};

struct imap_search {
	struct snode *k;
	size_t n, cap;
	int root;
	size_t nstr;
};

struct comp {
	const struct imap_cmd *c;
	struct imap_search *s;
	const char *why;
	const char *code;
};

/* -------------------------------------------------------------- compile */

static int
new_node(struct comp *cp, enum sop op)
{
	struct imap_search *s = cp->s;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->k = xreallocarray(s->k, s->cap, sizeof(*s->k));
	}
	memset(&s->k[s->n], 0, sizeof(s->k[0]));
	s->k[s->n].op = op;
	s->k[s->n].child = s->k[s->n].next = -1;
	return (int)s->n++;
}

static int
fail(struct comp *cp, const char *code, const char *why)
{
	cp->code = code;
	cp->why = why;
	return -1;
}

/* An argument node: a string (astring) with its bytes. */
static int
arg_string(struct comp *cp, int n, const char **t, size_t *len)
{
	if (n < 0 || !imap_is_astring(cp->c, n))
		return -1;
	*t = imap_text(cp->c, n);
	*len = cp->c->node[n].len;
	return 0;
}

static const char *const months[12] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec"
};

static int
month_of(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return i + 1;
	return 0;
}

static int
mdays(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

/* RFC 3501 date: "d-Mon-yyyy" or "dd-Mon-yyyy" (atom or quoted). */
static int
parse_date(const char *t, size_t n, uint64_t *days)
{
	int d = 0, y = 0, m, i = 0;

	while ((size_t)i < n && i < 2 && t[i] >= '0' && t[i] <= '9')
		d = d * 10 + (t[i++] - '0');
	if (i == 0 || (size_t)i + 9 != n || t[i] != '-' || t[i + 4] != '-')
		return -1;
	m = month_of(t + i + 1);
	for (int k = i + 5; k < i + 9; k++) {
		if (t[k] < '0' || t[k] > '9')
			return -1;
		y = y * 10 + (t[k] - '0');
	}
	if (m == 0 || d < 1 || d > mdays(y, m))
		return -1;
	*days = (uint64_t)(days_from_civil(y, m, d) + 1000000);   /* kept positive */
	return 0;
}

static int
parse_number(const char *t, uint64_t *v)
{
	return parse_u64(t, UINT32_MAX, v);
}

static int
cmp_range(const void *a, const void *b)
{
	const struct imap_seqrange *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int
compile_set(struct comp *cp, struct snode *k, const char *t, size_t len)
{
	struct imap_seqrange *r;
	size_t n = 0, w = 0;
	const char *why = NULL;

	r = xreallocarray(NULL, IMAP_SEQSET_MAX_COUNT, sizeof(*r));
	if (imap_parse_seqset(t, len, r, IMAP_SEQSET_MAX_COUNT, &n, &why) < 0) {
		free(r);
		return fail(cp, NULL, why ? why : "bad sequence set");
	}
	k->set.star_lo = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		uint32_t lo = r[i].lo, hi = r[i].hi;

		if (lo == IMAP_SEQ_STAR || hi == IMAP_SEQ_STAR) {
			uint32_t x = lo == IMAP_SEQ_STAR ? hi : lo;

			k->set.star = 1;
			if (x != IMAP_SEQ_STAR && x < k->set.star_lo)
				k->set.star_lo = x;
			continue;
		}
		r[w].lo = lo < hi ? lo : hi;
		r[w].hi = lo < hi ? hi : lo;
		w++;
	}
	qsort(r, w, sizeof(*r), cmp_range);
	n = 0;
	for (size_t i = 0; i < w; i++) {
		if (n > 0 && (uint64_t)r[i].lo <= (uint64_t)r[n - 1].hi + 1) {
			if (r[i].hi > r[n - 1].hi)
				r[n - 1].hi = r[i].hi;
		} else {
			r[n++] = r[i];
		}
	}
	k->set.n = n;
	k->set.r = n ? xreallocarray(r, n, sizeof(*r)) : NULL;
	if (n == 0)
		free(r);
	return 0;
}

static int
compile_string(struct comp *cp, struct snode *k, const char *t, size_t len)
{
	if (++cp->s->nstr > IMAP_SEARCH_STRKEYS_MAX_COUNT)
		return fail(cp, "LIMIT", "too many string keys in one SEARCH");
	snd_init(&k->nd, (const unsigned char *)t, len);
	return 0;
}

enum sarg { A_NONE, A_STR, A_HDR, A_DATE, A_NUM, A_KW, A_SET, A_KEY, A_KEY2 };

static const struct skey {
	const char *name;
	enum sop op;
	enum sarg arg;
	uint32_t fset, fclr;    /* SO_FLAGS; SO_DATE / SO_SENT: the scmp */
	const char *field;      /* header keys */
} keys[] = {
	{ "ALL", SO_FLAGS, A_NONE, 0, 0, NULL },
	{ "ANSWERED", SO_FLAGS, A_NONE, VF_ANSWERED, 0, NULL },
	{ "BCC", SO_HEADER, A_STR, 0, 0, "Bcc" },
	{ "BEFORE", SO_DATE, A_DATE, SC_BEFORE, 0, NULL },
	{ "BODY", SO_BODY, A_STR, 0, 0, NULL },
	{ "CC", SO_HEADER, A_STR, 0, 0, "Cc" },
	{ "DELETED", SO_FLAGS, A_NONE, VF_DELETED, 0, NULL },
	{ "DRAFT", SO_FLAGS, A_NONE, VF_DRAFT, 0, NULL },
	{ "FLAGGED", SO_FLAGS, A_NONE, VF_FLAGGED, 0, NULL },
	{ "FROM", SO_HEADER, A_STR, 0, 0, "From" },
	{ "HEADER", SO_HEADER, A_HDR, 0, 0, NULL },
	{ "KEYWORD", SO_KEYWORD, A_KW, 0, 0, NULL },
	{ "LARGER", SO_LARGER, A_NUM, 0, 0, NULL },
	{ "NEW", SO_FLAGS, A_NONE, VF_RECENT, VF_SEEN, NULL },
	{ "NOT", SO_NOT, A_KEY, 0, 0, NULL },
	{ "OLD", SO_FLAGS, A_NONE, 0, VF_RECENT, NULL },
	{ "ON", SO_DATE, A_DATE, SC_ON, 0, NULL },
	{ "OR", SO_OR, A_KEY2, 0, 0, NULL },
	{ "RECENT", SO_FLAGS, A_NONE, VF_RECENT, 0, NULL },
	{ "SEEN", SO_FLAGS, A_NONE, VF_SEEN, 0, NULL },
	{ "SENTBEFORE", SO_SENT, A_DATE, SC_BEFORE, 0, NULL },
	{ "SENTON", SO_SENT, A_DATE, SC_ON, 0, NULL },
	{ "SENTSINCE", SO_SENT, A_DATE, SC_SINCE, 0, NULL },
	{ "SINCE", SO_DATE, A_DATE, SC_SINCE, 0, NULL },
	{ "SMALLER", SO_SMALLER, A_NUM, 0, 0, NULL },
	{ "SUBJECT", SO_HEADER, A_STR, 0, 0, "Subject" },
	{ "TEXT", SO_TEXT, A_STR, 0, 0, NULL },
	{ "TO", SO_HEADER, A_STR, 0, 0, "To" },
	{ "UID", SO_UID, A_SET, 0, 0, NULL },
	{ "UNANSWERED", SO_FLAGS, A_NONE, 0, VF_ANSWERED, NULL },
	{ "UNDELETED", SO_FLAGS, A_NONE, 0, VF_DELETED, NULL },
	{ "UNDRAFT", SO_FLAGS, A_NONE, 0, VF_DRAFT, NULL },
	{ "UNFLAGGED", SO_FLAGS, A_NONE, 0, VF_FLAGGED, NULL },
	{ "UNKEYWORD", SO_KEYWORD, A_KW, 1, 0, NULL },
	{ "UNSEEN", SO_FLAGS, A_NONE, 0, VF_SEEN, NULL },
};

static int compile_key(struct comp *cp, int *pn, int depth);

/* The keys from node *pn on, up to the end of their list, as the children
 * of AND node a. */
static int
compile_list(struct comp *cp, int n, int a, int depth)
{
	int last = -1;

	while (n >= 0) {
		int k = compile_key(cp, &n, depth);

		if (k < 0)
			return -1;
		if (last < 0)
			cp->s->k[a].child = k;
		else
			cp->s->k[last].next = k;
		last = k;
		if (cp->s->k[k].needs > cp->s->k[a].needs)
			cp->s->k[a].needs = cp->s->k[k].needs;
	}
	return 0;
}

static int
compile_args(struct comp *cp, int ki, const struct skey *sk, int *pn,
    int depth)
{
	const struct imap_cmd *c = cp->c;
	struct snode *k = &cp->s->k[ki];
	const char *t, *t2;
	size_t len, len2;
	int n = *pn;

	switch (sk->arg) {
	case A_NONE:
		return 0;
	case A_STR:
		if (arg_string(cp, n, &t, &len) < 0)
			return fail(cp, NULL, "SEARCH: a string key needs a string");
		*pn = c->node[n].next;
		k->str = sk->field ? xstrdup(sk->field) : NULL;
		k->needs = k->op == SO_HEADER ? FETCH_HEADER : FETCH_WHOLE;
		return compile_string(cp, k, t, len);
	case A_HDR:
		if (arg_string(cp, n, &t, &len) < 0 ||
		    arg_string(cp, c->node[n].next, &t2, &len2) < 0)
			return fail(cp, NULL, "SEARCH HEADER takes a field name "
			    "and a string");
		*pn = c->node[c->node[n].next].next;
		if (len == 0 || strlen(t) != len)
			return fail(cp, NULL, "SEARCH HEADER: bad field name");
		k->str = xstrdup(t);
		k->needs = FETCH_HEADER;
		return compile_string(cp, k, t2, len2);
	case A_DATE:
		if (arg_string(cp, n, &t, &len) < 0 ||
		    parse_date(t, len, &k->num) < 0)
			return fail(cp, NULL, "SEARCH: a date is d-Mon-yyyy");
		*pn = c->node[n].next;
		k->cmp = (enum scmp)sk->fset;
		k->needs = k->op == SO_SENT ? FETCH_HEADER : 0;
		return 0;
	case A_NUM:
		if (n < 0 || c->node[n].kind != IT_ATOM ||
		    parse_number(imap_text(c, n), &k->num) < 0)
			return fail(cp, NULL, "SEARCH: a size is a number");
		*pn = c->node[n].next;
		return 0;
	case A_KW:
		if (n < 0 || !imap_is_atom(c, n))
			return fail(cp, NULL, "SEARCH: a keyword is an atom");
		*pn = c->node[n].next;
		k->str = xstrdup(imap_text(c, n));
		k->neg = (int)sk->fset;
		return 0;
	case A_SET:
		if (n < 0 || c->node[n].kind != IT_ATOM)
			return fail(cp, NULL, "SEARCH UID takes a UID set");
		*pn = c->node[n].next;
		return compile_set(cp, k, imap_text(c, n), c->node[n].len);
	case A_KEY:
	case A_KEY2: {
		int a, b = -1;

		if (n < 0)
			return fail(cp, NULL, sk->arg == A_KEY ?
			    "SEARCH NOT takes a key" : "SEARCH OR takes two keys");
		if ((a = compile_key(cp, pn, depth + 1)) < 0)
			return -1;
		if (sk->arg == A_KEY2) {
			if (*pn < 0)
				return fail(cp, NULL, "SEARCH OR takes two keys");
			if ((b = compile_key(cp, pn, depth + 1)) < 0)
				return -1;
		}
		k = &cp->s->k[ki];      /* the array may have moved */
		k->child = a;
		cp->s->k[a].next = b;
		k->needs = cp->s->k[a].needs;
		if (b >= 0 && cp->s->k[b].needs > k->needs)
			k->needs = cp->s->k[b].needs;
		return 0;
	}
	}
	return fail(cp, NULL, "SEARCH: internal error");
}

/* One key at node *pn (with its arguments, which follow it): its node
 * index, *pn moved past it; or -1. */
static int
compile_key(struct comp *cp, int *pn, int depth)
{
	const struct imap_cmd *c = cp->c;
	int n = *pn, k;
	const char *t;

	if (depth > IMAP_SEARCH_NEST_MAX_COUNT)
		return fail(cp, "LIMIT", "SEARCH keys nested too deep");
	if (c->node[n].kind == IT_LIST) {
		if (c->node[n].child < 0)
			return fail(cp, NULL, "SEARCH: an empty list");
		k = new_node(cp, SO_AND);
		*pn = c->node[n].next;
		return compile_list(cp, c->node[n].child, k, depth + 1) < 0 ?
		    -1 : k;
	}
	if (c->node[n].kind != IT_ATOM)
		return fail(cp, NULL, "SEARCH: a search key is expected");
	t = imap_text(c, n);
	*pn = c->node[n].next;
	if ((t[0] >= '0' && t[0] <= '9') || t[0] == '*') {
		k = new_node(cp, SO_SEQ);
		return compile_set(cp, &cp->s->k[k], t, c->node[n].len) < 0 ?
		    -1 : k;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcasecmp(t, keys[i].name) != 0)
			continue;
		k = new_node(cp, keys[i].op);
		if (keys[i].op == SO_FLAGS) {
			cp->s->k[k].fset = keys[i].fset;
			cp->s->k[k].fclr = keys[i].fclr;
		}
		return compile_args(cp, k, &keys[i], pn, depth) < 0 ? -1 : k;
	}
	return fail(cp, NULL, "SEARCH: unknown search key");
}

int
imap_search_compile(const struct imap_cmd *c, struct imap_search **out,
    const char **code, const char **why)
{
	struct comp cp = { c, NULL, NULL, NULL };
	const char *cs = c->a.charset;

	*out = NULL;
	*code = NULL;
	*why = NULL;
	if (cs != NULL && strcasecmp(cs, "US-ASCII") != 0 &&
	    strcasecmp(cs, "UTF-8") != 0) {
		*code = "BADCHARSET (US-ASCII UTF-8)";
		*why = "SEARCH: the charsets are US-ASCII and UTF-8";
		return -1;
	}
	if (c->a.search_key < 0) {
		*why = "SEARCH needs search keys";
		return -1;
	}
	cp.s = xcalloc(1, sizeof(*cp.s));
	cp.s->root = new_node(&cp, SO_AND);
	if (compile_list(&cp, c->a.search_key, cp.s->root, 1) < 0) {
		*code = cp.code;
		*why = cp.why;
		imap_search_free(cp.s);
		return -1;
	}
	*out = cp.s;
	return 0;
}

uint32_t
imap_search_needs(const struct imap_search *s)
{
	return s->k[s->root].needs;
}

void
imap_search_free(struct imap_search *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->k[i].str);
		free(s->k[i].set.r);
		snd_free(&s->k[i].nd);
	}
	free(s->k);
	free(s);
}

/* ----------------------------------------------------------- evaluation */

struct ectx {
	const struct imap_search *s;
	uint32_t seq, n;
	const struct sc_vmsg *m;
	const struct sc_view *v;
	const unsigned char *msg;
	size_t len;
	int parsed;
	struct mime_msg mm;
	struct ibuf tmp;
	int sent_known;         /* 1 parsed, -1 none */
	uint64_t sent;
};

static int
in_set(const struct sset *set, uint32_t x, uint32_t max)
{
	size_t lo = 0, hi = set->n;

	if (set->star && x <= max &&
	    x >= (set->star_lo < max ? set->star_lo : max))
		return 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x < set->r[mid].lo)
			hi = mid;
		else if (x > set->r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static int
has_keyword(const struct ectx *e, const char *kw)
{
	const struct sc_view *v = e->v;

	for (uint32_t i = 0; i < e->m->nkw; i++) {
		uint64_t j = (uint64_t)e->m->kwoff + i;

		if (j >= v->nkwidx || v->kwidx[j] >= v->nkw)
			continue;
		if (strcasecmp(v->kw[v->kwidx[j]], kw) == 0)
			return 1;
	}
	return 0;
}

static int
date_cmp(enum scmp cmp, uint64_t day, uint64_t key)
{
	switch (cmp) {
	case SC_BEFORE:
		return day < key;
	case SC_ON:
		return day == key;
	case SC_SINCE:
		return day >= key;
	}
	return 0;
}

static void
parse_msg(struct ectx *e)
{
	if (e->parsed)
		return;
	mime_parse(&e->mm, e->msg, e->len);
	ib_init(&e->tmp, MIME_HDR_MAX_BYTES + 16);
	e->parsed = 1;
}

/* A number of 1..digits digits at the lexer, or -1. */
static int64_t
lex_digits(struct lex *l, int maxd)
{
	int64_t v = 0;
	int d = 0;

	while (l->p < l->e && *l->p >= '0' && *l->p <= '9' && d < maxd) {
		v = v * 10 + (*l->p++ - '0');
		d++;
	}
	if (d == 0 || (l->p < l->e && *l->p >= '0' && *l->p <= '9'))
		return -1;
	return v;
}

/* The day of the Date: field (RFC 5322 3.3, with the obsolete forms of
 * 4.3: two- and three-digit years, comments anywhere). */
static int
sent_day(struct ectx *e, uint64_t *day)
{
	const struct mime_part *p;
	struct lex l;
	int64_t d, y;
	int mon;

	if (e->sent_known != 0) {
		*day = e->sent;
		return e->sent_known > 0 ? 0 : -1;
	}
	parse_msg(e);
	e->sent_known = -1;
	p = &e->mm.part[0];
	if ((p->have & (1u << MF_DATE)) == 0)
		return -1;
	lex_init(&l, &e->mm, p->field[MF_DATE]);
	lex_cfws(&l, NULL);
	/* [day-of-week ","] */
	if (l.p < l.e && ((*l.p | 0x20) >= 'a' && (*l.p | 0x20) <= 'z')) {
		while (l.p < l.e && ((*l.p | 0x20) >= 'a' && (*l.p | 0x20) <= 'z'))
			l.p++;
		lex_cfws(&l, NULL);
		if (l.p < l.e && *l.p == ',')
			l.p++;
		lex_cfws(&l, NULL);
	}
	if ((d = lex_digits(&l, 2)) < 1)
		return -1;
	lex_cfws(&l, NULL);
	if (l.e - l.p < 3)
		return -1;
	{
		char mname[4] = { (char)l.p[0], (char)l.p[1], (char)l.p[2], 0 };

		mon = month_of(mname);
	}
	if (mon == 0)
		return -1;
	l.p += 3;
	while (l.p < l.e && ((*l.p | 0x20) >= 'a' && (*l.p | 0x20) <= 'z'))
		l.p++;                  /* "December" */
	lex_cfws(&l, NULL);
	{
		const unsigned char *y0 = l.p;

		if ((y = lex_digits(&l, 4)) < 0)
			return -1;
		if (l.p - y0 == 2)
			y += y < 50 ? 2000 : 1900;
		else if (l.p - y0 == 3)
			y += 1900;
	}
	if (d > mdays((int)y, mon))
		return -1;
	e->sent = (uint64_t)(days_from_civil(y, mon, (int)d) + 1000000);
	e->sent_known = 1;
	*day = e->sent;
	return 0;
}

/* Feeds field f of the message as a segment: "Name: value" (with_name)
 * or the value, unfolded and decoded. */
static void
feed_field(struct ectx *e, struct smatch *sm, const struct mime_hdr_field *f,
    int with_name)
{
	ib_reset(&e->tmp);
	if (with_name) {
		ib_add(&e->tmp, e->mm.buf + f->name.off, f->name.len);
		ib_add(&e->tmp, ": ", 2);
	}
	mime_unfold(&e->mm, f->value, &e->tmp);
	sm_header_value(sm, e->tmp.p, e->tmp.len);
}

/* Header key: the fields named name of the message's header. */
static int
match_header(struct ectx *e, const struct snode *k)
{
	struct mime_hdr_iter it;
	struct mime_hdr_field f;
	struct smatch sm;
	size_t nl = strlen(k->str);

	parse_msg(e);
	sm_init(&sm, &k->nd);
	mime_hdr_iter_init(&e->mm, 0, &it);
	while (!sm.found && mime_hdr_next(&e->mm, &it, &f))
		if (f.name.len == nl && strncasecmp((const char *)e->mm.buf +
		    f.name.off, k->str, nl) == 0)
			feed_field(e, &sm, &f, 0);
	return sm.found;
}

static void
feed_all_fields(struct ectx *e, struct smatch *sm, uint32_t part)
{
	struct mime_hdr_iter it;
	struct mime_hdr_field f;

	mime_hdr_iter_init(&e->mm, part, &it);
	while (!sm->found && mime_hdr_next(&e->mm, &it, &f))
		feed_field(e, sm, &f, 1);
}

/* A text part's transfer encoding and charset. */
static void
part_coding(const struct mime_msg *mm, const struct mime_part *p,
    enum scte *cte, enum scs *cs)
{
	struct lex l;
	struct lex_text t;
	struct mime_param prm;

	*cte = SCTE_NONE;
	*cs = SCS_UTF8;
	if ((p->have & (1u << MF_CONTENT_TRANSFER_ENCODING)) != 0) {
		lex_init(&l, mm, p->field[MF_CONTENT_TRANSFER_ENCODING]);
		lex_cfws(&l, NULL);
		if (lex_token(&l, &t)) {
			if (text_is(&t, "quoted-printable"))
				*cte = SCTE_QP;
			else if (text_is(&t, "base64"))
				*cte = SCTE_BASE64;
		}
	}
	if ((p->have & (1u << MF_CONTENT_TYPE)) != 0 && p->subtype.len > 0) {
		struct mime_span f = p->field[MF_CONTENT_TYPE];
		size_t at = p->subtype.off + p->subtype.len;

		if (at < f.off || at > f.off + f.len)
			return;
		l.p = mm->buf + at;
		l.e = mm->buf + f.off + f.len;
		while (lex_param(&l, &prm))
			if (text_is(&prm.name, "charset")) {
				*cs = scs_of(prm.val.t, prm.val.n);
				break;
			}
	}
}

/* BODY: text parts decoded, headers of attached messages. */
static void
feed_body(struct ectx *e, struct smatch *sm)
{
	const struct mime_msg *mm = &e->mm;

	for (uint32_t i = 0; i < mm->nparts && !sm->found; i++) {
		const struct mime_part *p = &mm->part[i];
		enum scte cte;
		enum scs cs;

		if (i > 0 && p->parent != MIME_NONE &&
		    (mm->part[p->parent].flags & MP_MESSAGE) != 0)
			feed_all_fields(e, sm, i);
		if ((p->flags & MP_TEXT) == 0 ||
		    (p->flags & (MP_MULTIPART | MP_MESSAGE)) != 0)
			continue;
		part_coding(mm, p, &cte, &cs);
		sm_body(sm, mm->buf + p->body_off, p->body_len, cte, cs);
	}
}

static int
match_text(struct ectx *e, const struct snode *k)
{
	struct smatch sm;

	if (k->nd.m == 0)
		return 1;
	parse_msg(e);
	sm_init(&sm, &k->nd);
	if (k->op == SO_TEXT)
		feed_all_fields(e, &sm, 0);
	if (!sm.found)
		feed_body(e, &sm);
	return sm.found;
}

static int eval(struct ectx *e, int ki);

/* AND (all) or OR (any) of the children of k, view-only ones first;
 * -1 when the view does not decide and the bytes are missing. */
static int
eval_list(struct ectx *e, const struct snode *k, int any)
{
	int res = any ? 0 : 1;

	for (int pass = 0; pass < 2; pass++)
		for (int c = k->child; c >= 0; c = e->s->k[c].next) {
			int r;

			if ((e->s->k[c].needs != 0) != (pass == 1))
				continue;
			r = eval(e, c);
			if (r == any)
				return any;
			if (r < 0)
				res = -1;
		}
	return res;
}

static int
eval(struct ectx *e, int ki)
{
	const struct snode *k = &e->s->k[ki];
	uint64_t day;
	int r;

	if (k->needs != 0 && e->msg == NULL && k->op != SO_AND &&
	    k->op != SO_OR && k->op != SO_NOT)
		return -1;
	switch (k->op) {
	case SO_AND:
		return eval_list(e, k, 0);
	case SO_OR:
		return eval_list(e, k, 1);
	case SO_NOT:
		r = eval(e, k->child);
		return r < 0 ? -1 : !r;
	case SO_FLAGS:
		return (e->m->flags & k->fset) == k->fset &&
		    (e->m->flags & k->fclr) == 0;
	case SO_KEYWORD:
		return has_keyword(e, k->str) != k->neg;
	case SO_LARGER:
		return e->m->size > k->num;
	case SO_SMALLER:
		return e->m->size < k->num;
	case SO_DATE:
		return date_cmp(k->cmp, e->m->date / 86400 + 1000000, k->num);
	case SO_SENT:
		return sent_day(e, &day) == 0 && date_cmp(k->cmp, day, k->num);
	case SO_SEQ:
		return in_set(&k->set, e->seq, e->n);
	case SO_UID:
		return e->n > 0 && in_set(&k->set, e->m->uid,
		    e->v->m[e->n - 1].uid);
	case SO_HEADER:
		return match_header(e, k);
	case SO_BODY:
	case SO_TEXT:
		return match_text(e, k);
	}
	return 0;
}

int
imap_search_match(const struct imap_search *s, uint32_t seq, uint32_t n,
    const struct sc_vmsg *m, const struct sc_view *v,
    const unsigned char *msg, size_t len)
{
	struct ectx e;
	int r;

	memset(&e, 0, sizeof(e));
	e.s = s;
	e.seq = seq;
	e.n = n;
	e.m = m;
	e.v = v;
	e.msg = msg;
	e.len = msg ? len : 0;
	r = eval(&e, s->root);
	if (e.parsed) {
		mime_free(&e.mm);
		ib_free(&e.tmp);
	}
	return r;
}
