/*
 * SMTP command-line parsing (see smtp_parse.h).  Grammar references are to
 * RFC 5321 4.1.2 and RFC 6531 3.3.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "smtp_parse.h"
#include "../privsep/utf8.h"

static const char *const verb_names[V_MAX] = {
	[V_NONE] = "?", [V_HELO] = "HELO", [V_EHLO] = "EHLO", [V_MAIL] = "MAIL",
	[V_RCPT] = "RCPT", [V_DATA] = "DATA", [V_RSET] = "RSET",
	[V_NOOP] = "NOOP", [V_QUIT] = "QUIT", [V_HELP] = "HELP",
	[V_VRFY] = "VRFY", [V_EXPN] = "EXPN", [V_VERB] = "VERB",
	[V_STARTTLS] = "STARTTLS",
};

const char *
smtp_verb_name(enum smtp_verb v)
{
	return (v > V_NONE && v < V_MAX) ? verb_names[v] : "?";
}

static bool
is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_sp(int c)
{
	return c == ' ' || c == '\t';
}

enum smtp_verb
smtp_parse_verb(char *line, char **arg)
{
	size_t n = 0, end;
	int v;

	while (n < 16 && is_alpha((unsigned char)line[n]))
		n++;
	if (n == 0 || (line[n] != '\0' && line[n] != ' '))
		return V_NONE;
	/* trailing white space is not part of the argument */
	end = strlen(line);
	while (end > n && is_sp((unsigned char)line[end - 1]))
		end--;
	line[end] = '\0';
	*arg = line + n;
	while (**arg == ' ')
		(*arg)++;
	for (v = V_NONE + 1; v < V_MAX; v++)
		if (strlen(verb_names[v]) == n &&
		    strncasecmp(line, verb_names[v], n) == 0)
			return (enum smtp_verb)v;
	return V_NONE;
}

bool
smtp_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		if ((k = utf8_decode(s + i, n - i, NULL)) == 0)
			return false;
		i += k;
	}
	return true;
}

/* Characters refused in a path by policy (see smtp_parse.h). */
static bool
is_refused(int c)
{
	return c == '`' || c == '|' || c == '$';
}

/* RFC 5322 atext, ASCII part. */
static bool
is_atext(int c)
{
	return is_alpha(c) || is_digit(c) ||
	    (c != 0 && strchr("!#%&'*+-/=?^_{}~", c) != NULL);
}

/* A parse cursor over a NUL-terminated string. */
struct cur {
	const unsigned char *p;
	bool utf8;        /* saw a non-ASCII octet */
};

/*
 * Consumes one UTF-8 non-ASCII character if there is one; 1 done, 0 not
 * there, -1 invalid.
 */
static int
take_utf8(struct cur *c)
{
	size_t k;

	if (*c->p < 0x80)
		return 0;
	if ((k = utf8_decode(c->p, strnlen((const char *)c->p, 4), NULL)) == 0)
		return -1;
	c->p += k;
	c->utf8 = true;
	return 1;
}

/* Dot-string = Atom *("." Atom); appends the octets to out. */
static int
parse_dot_string(struct cur *c, char *out, size_t outsz, size_t *olen)
{
	const unsigned char *start = c->p;
	bool need_atext = true;
	int r;

	for (;;) {
		if (is_atext(*c->p)) {
			c->p++;
			need_atext = false;
		} else if ((r = take_utf8(c)) != 0) {
			if (r < 0)
				return -1;
			need_atext = false;
		} else if (*c->p == '.' && !need_atext) {
			c->p++;
			need_atext = true;
		} else
			break;
	}
	if (need_atext)
		return -1;
	if ((size_t)(c->p - start) >= outsz)
		return -1;
	memcpy(out, start, (size_t)(c->p - start));
	*olen = (size_t)(c->p - start);
	out[*olen] = '\0';
	return 0;
}

/* Quoted-string; the unquoted content goes to out. */
static int
parse_quoted(struct cur *c, char *out, size_t outsz, size_t *olen)
{
	size_t n = 0;
	const unsigned char *start;

	if (*c->p != '"')
		return -1;
	c->p++;
	for (;;) {
		start = c->p;
		if (*c->p == '"') {
			c->p++;
			break;
		} else if (*c->p == '\\') {
			if (c->p[1] < 32 || c->p[1] > 126)
				return -1;
			start = c->p + 1;
			c->p += 2;
		} else if (*c->p >= 32 && *c->p <= 126) {
			c->p++;
		} else if (take_utf8(c) <= 0)
			return -1;
		if (n + (size_t)(c->p - start) >= outsz)
			return -1;
		memcpy(out + n, start, (size_t)(c->p - start));
		n += (size_t)(c->p - start);
	}
	out[n] = '\0';
	*olen = n;
	return 0;
}

/* sub-domain = Let-dig [Ldh-str] (U-labels allowed); Domain = sub *("." sub) */
static int
parse_domain(struct cur *c)
{
	const unsigned char *start = c->p, *label;
	int r;
	bool last_hyphen;

	for (;;) {
		label = c->p;
		last_hyphen = false;
		for (;;) {
			if (is_alpha(*c->p) || is_digit(*c->p)) {
				c->p++;
				last_hyphen = false;
			} else if (*c->p == '-' && c->p != label) {
				c->p++;
				last_hyphen = true;
			} else if ((r = take_utf8(c)) != 0) {
				if (r < 0)
					return -1;
				last_hyphen = false;
			} else
				break;
		}
		if (c->p == label || last_hyphen || c->p - label > 63)
			return -1;
		if (*c->p != '.')
			break;
		c->p++;
	}
	if (c->p - start > LIM_DOMAIN)
		return -1;
	return 0;
}

/* address-literal = "[" ( IPv4 / "IPv6:" IPv6 / tag ":" 1*dcontent ) "]" */
static int
parse_addr_literal(struct cur *c)
{
	const unsigned char *start, *colon = NULL;
	char buf[LIM_DOMAIN + 1];
	unsigned char bin[16];
	size_t n;

	if (*c->p != '[')
		return -1;
	start = ++c->p;
	while (*c->p >= 33 && *c->p <= 126 && *c->p != '[' && *c->p != ']' &&
	    *c->p != '\\') {
		if (*c->p == ':' && colon == NULL)
			colon = c->p;
		c->p++;
	}
	if (*c->p != ']')
		return -1;
	n = (size_t)(c->p - start);
	c->p++;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, start, n);
	buf[n] = '\0';
	if (colon == NULL)
		return inet_pton(AF_INET, buf, bin) == 1 ? 0 : -1;
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, bin) == 1 ? 0 : -1;
	/* General-address-literal: Standardized-tag ":" 1*dcontent */
	if (colon == start || colon[1] == ']')
		return -1;
	for (const unsigned char *t = start; t < colon; t++)
		if (!is_alpha(*t) && !is_digit(*t) && *t != '-')
			return -1;
	return 0;
}

/* A-d-l = At-domain *( "," At-domain ) ":"  -- parsed and ignored */
static int
parse_source_route(struct cur *c)
{
	for (;;) {
		if (*c->p != '@')
			return -1;
		c->p++;
		if (parse_domain(c) < 0)
			return -1;
		if (*c->p == ':') {
			c->p++;
			return 0;
		}
		if (*c->p != ',')
			return -1;
		c->p++;
	}
}

/* Local-part into a->local, its written form into a->text. */
static int
parse_local_part(struct cur *c, struct smtp_addr *a)
{
	const unsigned char *start = c->p;
	size_t olen;
	int r;

	if (*c->p == '"')
		r = parse_quoted(c, a->local, sizeof(a->local), &olen);
	else
		r = parse_dot_string(c, a->local, sizeof(a->local), &olen);
	if (r < 0 || c->p - start > LIM_LOCAL)
		return -1;
	memcpy(a->text, start, (size_t)(c->p - start));
	a->text[c->p - start] = '\0';
	return 0;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static int
parse_mailbox(struct cur *c, struct smtp_addr *a, bool domain_optional)
{
	const unsigned char *dstart;
	size_t tl, dl;

	if (parse_local_part(c, a) < 0)
		return -1;
	if (*c->p != '@')
		return domain_optional ? 0 : -1;
	c->p++;
	dstart = c->p;
	if (*c->p == '[') {
		if (parse_addr_literal(c) < 0)
			return -1;
	} else if (parse_domain(c) < 0)
		return -1;
	dl = (size_t)(c->p - dstart);
	tl = strlen(a->text);
	if (dl > LIM_DOMAIN || tl + 1 + dl + 2 > LIM_PATH)
		return -1;
	memcpy(a->domain, dstart, dl);
	a->domain[dl] = '\0';
	a->text[tl] = '@';
	memcpy(a->text + tl + 1, dstart, dl);
	a->text[tl + 1 + dl] = '\0';
	return 0;
}

static bool
has_refused(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_refused((unsigned char)s[i]))
			return true;
	return false;
}

int
smtp_parse_path(const char *s, int flags, struct smtp_addr *a, const char **end)
{
	struct cur c = { (const unsigned char *)s, false };

	memset(a, 0, sizeof(*a));
	if (*c.p != '<')
		return SP_BADADDR;
	c.p++;
	if (*c.p == '>') {
		if (!(flags & PATH_NULL_OK))
			return SP_BADADDR;
		a->null = true;
		*end = (const char *)c.p + 1;
		return SP_OK;
	}
	if (*c.p == '@' && parse_source_route(&c) < 0)
		return SP_BADADDR;
	if ((flags & PATH_POSTMASTER_OK) &&
	    strncasecmp((const char *)c.p, "postmaster>", 11) == 0) {
		memcpy(a->local, "postmaster", 11);
		memcpy(a->text, "postmaster", 11);
		a->bare_postmaster = true;
		c.p += 10;
	} else if (parse_mailbox(&c, a, false) < 0)
		return SP_BADADDR;
	if (*c.p != '>')
		return SP_BADADDR;
	c.p++;
	if ((const char *)c.p - s > LIM_PATH)
		return SP_BADADDR;
	if (has_refused(s, (size_t)((const char *)c.p - s)))
		return SP_BADADDR;
	a->utf8 = c.utf8;
	*end = (const char *)c.p;
	return SP_OK;
}

int
smtp_parse_path_arg(char *arg, const char *kw, int flags,
    struct smtp_addr *a, char **params)
{
	size_t kl = strlen(kw);
	const char *end;
	char *p;
	int r;

	if (strncasecmp(arg, kw, kl) != 0)
		return SP_SYNTAX;
	p = arg + kl;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return SP_SYNTAX;
	if ((r = smtp_parse_path(p, flags, a, &end)) != SP_OK)
		return r;
	p = (char *)(uintptr_t)end;
	if (*p != '\0' && *p != ' ')
		return SP_BADADDR;
	while (*p == ' ')
		p++;
	*params = p;
	return SP_OK;
}

int
smtp_parse_vrfy_arg(const char *s, struct smtp_addr *a)
{
	struct cur c = { (const unsigned char *)s, false };
	const char *end;

	if (*s == '<') {
		if (smtp_parse_path(s, PATH_POSTMASTER_OK, a, &end) != SP_OK ||
		    *end != '\0')
			return SP_BADADDR;
		return SP_OK;
	}
	memset(a, 0, sizeof(*a));
	if (parse_mailbox(&c, a, true) < 0 || *c.p != '\0' ||
	    has_refused(s, strlen(s)))
		return SP_BADADDR;
	a->utf8 = c.utf8;
	return SP_OK;
}

int
smtp_parse_helo_arg(const char *s)
{
	struct cur c = { (const unsigned char *)s, false };

	if (*s == '[')
		return parse_addr_literal(&c) == 0 && *c.p == '\0' ? SP_OK : SP_SYNTAX;
	/* Real clients send underscores and trailing dots; accept the
	 * characters of host names, nothing that could bend a header. */
	for (size_t i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!is_alpha(ch) && !is_digit(ch) && ch != '.' && ch != '-' &&
		    ch != '_')
			return SP_SYNTAX;
		if (i >= LIM_DOMAIN)
			return SP_SYNTAX;
	}
	return *s != '\0' ? SP_OK : SP_SYNTAX;
}

/*
 * Splits the next esmtp-param off *sp: keyword into kw, value (or NULL).
 * 1 got one, 0 none left, SP_BADPARAM malformed.
 */
static int
next_param(char **sp, char **kw, char **val, bool utf8_ok)
{
	char *p = *sp, *q;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	*kw = p;
	if (!is_alpha((unsigned char)*p) && !is_digit((unsigned char)*p))
		return SP_BADPARAM;
	while (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) || *p == '-')
		p++;
	*val = NULL;
	if (*p == '=') {
		*p++ = '\0';
		*val = q = p;
		while (*p != '\0' && *p != ' ') {
			unsigned char ch = (unsigned char)*p;
			if (ch >= 0x80 && utf8_ok) {
				size_t k = utf8_decode((unsigned char *)p, strnlen(p, 4), NULL);
				if (k == 0)
					return SP_BADPARAM;
				p += k;
				continue;
			}
			/* esmtp-value = 1*(%d33-60 / %d62-126) */
			if (ch < 33 || ch > 126 || ch == '=')
				return SP_BADPARAM;
			p++;
		}
		if (p == q)
			return SP_BADPARAM;
	}
	if (*p != '\0' && *p != ' ')
		return SP_BADPARAM;
	if (*p == ' ')
		*p++ = '\0';
	*sp = p;
	return 1;
}

/* Strict decimal; overflow saturates at UINT64_MAX. */
static int
parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0' || strlen(s) > 40)
		return -1;
	for (; *s != '\0'; s++) {
		if (!is_digit((unsigned char)*s))
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int
smtp_parse_mail_params(char *s, bool esmtp, struct smtp_mail_params *p)
{
	char *kw, *val;
	int r;
	bool seen_body = false;

	memset(p, 0, sizeof(*p));
	while ((r = next_param(&s, &kw, &val, true)) == 1) {
		if (!esmtp)
			return SP_UNKNOWN;
		if (strcasecmp(kw, "SIZE") == 0) {
			if (p->has_size || val == NULL || parse_size(val, &p->size) < 0)
				return SP_BADPARAM;
			p->has_size = true;
		} else if (strcasecmp(kw, "BODY") == 0) {
			if (seen_body || val == NULL)
				return SP_BADPARAM;
			if (strcasecmp(val, "7BIT") == 0)
				p->body = BODY_7BIT;
			else if (strcasecmp(val, "8BITMIME") == 0)
				p->body = BODY_8BITMIME;
			else
				return SP_BADPARAM;
			seen_body = true;
		} else if (strcasecmp(kw, "SMTPUTF8") == 0) {
			if (p->smtputf8 || val != NULL)
				return SP_BADPARAM;
			p->smtputf8 = true;
		} else
			return SP_UNKNOWN;
	}
	return r == 0 ? SP_OK : r;
}

int
smtp_parse_rcpt_params(char *s, bool esmtp)
{
	char *kw, *val;
	int r;

	if ((r = next_param(&s, &kw, &val, true)) == 1)
		return SP_UNKNOWN;
	return r == 0 ? SP_OK : r;
}
