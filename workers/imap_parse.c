/*
 * IMAP command parsing: see imap_parse.h for the protocol between the
 * session and the parser, and the rules.  Nothing here does I/O; every
 * function is total over arbitrary input.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parse.h"
#include "../privsep/util.h"
#include "../privsep/utf8.h"

#define STR_(x) #x
#define STR(x) STR_(x)

enum phase {
	PH_FIRST = 0,   /* waiting for the command's first line */
	PH_ARGS,        /* waiting for the line after a literal */
	PH_LITERAL,     /* waiting for a literal's bytes */
	PH_DISCARD,     /* refused: waiting for the line after a discard */
	PH_OVER,        /* IMAP_DONE or IMAP_ERROR given */
};

/* Where a verb may appear. */
#define VF_UID  0x1     /* also as UID <verb> */
#define VF_PLAIN 0x2    /* on its own */

static const struct {
	const char *name;
	enum imap_verb verb;
	int flags;
} verbs[] = {
	{ "CAPABILITY", IV_CAPABILITY, VF_PLAIN },
	{ "NOOP", IV_NOOP, VF_PLAIN },
	{ "LOGOUT", IV_LOGOUT, VF_PLAIN },
	{ "STARTTLS", IV_STARTTLS, VF_PLAIN },
	{ "AUTHENTICATE", IV_AUTHENTICATE, VF_PLAIN },
	{ "LOGIN", IV_LOGIN, VF_PLAIN },
	{ "SELECT", IV_SELECT, VF_PLAIN },
	{ "EXAMINE", IV_EXAMINE, VF_PLAIN },
	{ "CREATE", IV_CREATE, VF_PLAIN },
	{ "DELETE", IV_DELETE, VF_PLAIN },
	{ "RENAME", IV_RENAME, VF_PLAIN },
	{ "SUBSCRIBE", IV_SUBSCRIBE, VF_PLAIN },
	{ "UNSUBSCRIBE", IV_UNSUBSCRIBE, VF_PLAIN },
	{ "LIST", IV_LIST, VF_PLAIN },
	{ "LSUB", IV_LSUB, VF_PLAIN },
	{ "STATUS", IV_STATUS, VF_PLAIN },
	{ "APPEND", IV_APPEND, VF_PLAIN },
	{ "CHECK", IV_CHECK, VF_PLAIN },
	{ "CLOSE", IV_CLOSE, VF_PLAIN },
	{ "EXPUNGE", IV_EXPUNGE, VF_PLAIN | VF_UID },
	{ "SEARCH", IV_SEARCH, VF_PLAIN | VF_UID },
	{ "FETCH", IV_FETCH, VF_PLAIN | VF_UID },
	{ "STORE", IV_STORE, VF_PLAIN | VF_UID },
	{ "COPY", IV_COPY, VF_PLAIN | VF_UID },
	{ "IDLE", IV_IDLE, VF_PLAIN },
	{ "MOVE", IV_MOVE, VF_PLAIN | VF_UID },
	{ "UNSELECT", IV_UNSELECT, VF_PLAIN },
	{ "NAMESPACE", IV_NAMESPACE, VF_PLAIN },
	{ "ID", IV_ID, VF_PLAIN },
	{ "ENABLE", IV_ENABLE, VF_PLAIN },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

const char *
imap_verb_name(enum imap_verb v)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "?";
}

const char *
imap_err_text(enum imap_err e)
{
	switch (e) {
	case IE_OK:       return "ok";
	case IE_SYNTAX:   return "syntax error";
	case IE_UNKNOWN:  return "unknown command";
	case IE_ARGS:     return "bad arguments";
	case IE_LINELONG: return "line too long";
	case IE_TOOBIG:   return "too big";
	case IE_LIMIT:    return "over a limit";
	case IE_REFUSED:  return "literal refused";
	}
	return "error";
}

/* ------------------------------------------------------------ characters */

static int
upper(int ch)
{
	return (ch >= 'a' && ch <= 'z') ? ch - 'a' + 'A' : ch;
}

/* s[0..n) equals the upper-case word w, ignoring case. */
static int
word_eq(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i] == '\0' || upper((unsigned char)s[i]) != w[i])
			return 0;
	return w[i] == '\0';
}

/* s starts with the upper-case word w, ignoring case. */
static int
word_prefix(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	return n >= k && word_eq(s, k, w);
}

/* A byte the tokenizer takes into an atom: any CHAR but SP, CTL and
 * ( ) { " \ (the validators below narrow it per argument kind). */
static int
atomish(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '(' && ch != ')' &&
	    ch != '{' && ch != '"' && ch != '\\';
}

/* ATOM-CHAR (RFC 3501 9). */
static int
atom_char(unsigned char ch)
{
	return atomish(ch) && ch != '%' && ch != '*' && ch != ']';
}

/* ASTRING-CHAR = ATOM-CHAR / "]". */
static int
astring_char(unsigned char ch)
{
	return atom_char(ch) || ch == ']';
}

/* tag = 1*<any ASTRING-CHAR except "+">. */
static int
tag_char(unsigned char ch)
{
	return astring_char(ch) && ch != '+';
}

/* ------------------------------------------------------------ lifecycle */

struct imap_cmd *
imap_cmd_new(void)
{
	struct imap_cmd *c = calloc(1, sizeof(*c));

	if (c != NULL)
		imap_cmd_reset(c, IMAP_LINE_PRELOGIN_BYTES);
	return c;
}

void
imap_cmd_free(struct imap_cmd *c)
{
	free(c);
}

void
imap_cmd_reset(struct imap_cmd *c, size_t line_max)
{
	/* not a memset of the whole: the big arrays are touched as used */
	memset(&c->a, 0, sizeof(c->a));
	c->tag[0] = '*';
	c->tag[1] = '\0';
	c->verb = IV_NONE;
	c->uid = 0;
	c->err = IE_OK;
	c->why = NULL;
	c->code = NULL;
	c->discard = 0;
	c->lit_size = 0;
	c->lit_sync = 0;
	c->lit_message = 0;
	if (line_max < 64)
		line_max = 64;
	if (line_max > IMAP_CMD_MAX_BYTES)
		line_max = IMAP_CMD_MAX_BYTES;
	c->line_max = line_max;
	c->phase = PH_FIRST;
	c->depth = 0;
	c->need_sep = 0;
	c->lit_node = -1;
	c->lit_have = 0;
	c->arena_used = 1;              /* offset 0 is the empty text */
	c->arena[0] = '\0';
	c->node[0].kind = IT_LIST;
	c->node[0].external = 0;
	c->node[0].depth = 0;
	c->node[0].len = 0;
	c->node[0].off = 0;
	c->node[0].child = -1;
	c->node[0].last = -1;
	c->node[0].next = -1;
	c->nodes_used = 1;
	c->stack[0] = 0;
	c->a.pattern = c->a.list_select = c->a.list_return = -1;
	c->a.message = c->a.search_key = c->a.id_list = c->a.enable = -1;
}

/* -------------------------------------------------------------- errors */

/*
 * The line ends with a literal announcement {N} or {N+} (CRLF or LF
 * after it): 1 with *size (saturated) and *sync, else 0.
 */
static int
trailing_literal(const char *s, size_t n, uint64_t *size, int *sync)
{
	size_t i, start;
	uint64_t v = 0;

	if (n > 0 && s[n - 1] == '\n')
		n--;
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (n < 3 || s[n - 1] != '}')
		return 0;
	i = n - 1;
	*sync = 1;
	if (s[i - 1] == '+') {
		*sync = 0;
		i--;
	}
	start = i;
	while (start > 0 && s[start - 1] >= '0' && s[start - 1] <= '9')
		start--;
	if (start == i || start == 0 || s[start - 1] != '{')
		return 0;
	for (size_t k = start; k < i; k++) {
		uint64_t d = (uint64_t)(s[k] - '0');

		if (v > (UINT64_MAX - d) / 10) {
			v = UINT64_MAX;         /* saturated: hang up */
			break;
		}
		v = v * 10 + d;
	}
	*size = v;
	return 1;
}

/* Records the reason; the caller returns through refuse_line(). */
static void
set_err(struct imap_cmd *c, enum imap_err e, const char *code, const char *why)
{
	if (c->err != IE_OK)
		return;                 /* the first reason is the one given */
	c->err = e;
	c->code = code;
	c->why = why;
}

static void set_errf(struct imap_cmd *c, enum imap_err e, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_errf(struct imap_cmd *c, enum imap_err e, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	if (c->err != IE_OK)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(c->whybuf, sizeof(c->whybuf), fmt, ap);
	va_end(ap);
	set_err(c, e, code, c->whybuf);
}

/*
 * The command is refused; this line (or its tail) may announce a literal
 * that belongs to it: a non-synchronising one comes anyway and must be
 * thrown away, after which its next line belongs to the command too.
 */
static enum imap_step
refuse_tail(struct imap_cmd *c, const char *tail, size_t n)
{
	uint64_t size;
	int sync;

	if (trailing_literal(tail, n, &size, &sync) && !sync) {
		c->discard = size;
		c->phase = PH_DISCARD;
		return IMAP_DISCARD;
	}
	c->discard = 0;
	c->phase = PH_OVER;
	return IMAP_ERROR;
}

/* ----------------------------------------------------------- the tokens */

static int
new_node(struct imap_cmd *c, enum imap_tok kind)
{
	struct imap_node *parent = &c->node[c->stack[c->depth]];
	int idx;

	if (c->nodes_used >= IMAP_TOKENS_MAX_COUNT) {
		set_err(c, IE_LIMIT, NULL, "too many arguments (more than "
		    STR(IMAP_TOKENS_MAX_COUNT) " tokens)");
		return -1;
	}
	idx = c->nodes_used++;
	c->node[idx].kind = (uint8_t)kind;
	c->node[idx].external = 0;
	c->node[idx].depth = (uint16_t)(c->depth + 1);
	c->node[idx].len = 0;
	c->node[idx].off = 0;
	c->node[idx].child = -1;
	c->node[idx].last = -1;
	c->node[idx].next = -1;
	if (parent->child < 0)
		parent->child = idx;
	else
		c->node[parent->last].next = idx;
	parent->last = idx;
	parent->len++;
	return idx;
}

/* Room for n more arena bytes, else the command is too big. */
static int
arena_room(struct imap_cmd *c, size_t n)
{
	if (n > sizeof(c->arena) - c->arena_used) {
		set_errf(c, IE_TOOBIG, "TOOBIG", "command too long (more than "
		    "%u bytes)", (unsigned)IMAP_CMD_MAX_BYTES);
		return 0;
	}
	return 1;
}

/* Text s[0..n) as a new string node of the given kind. */
static int
put_string(struct imap_cmd *c, enum imap_tok kind, const char *s, size_t n)
{
	int idx;

	if (!arena_room(c, n + 1) || (idx = new_node(c, kind)) < 0)
		return -1;
	memcpy(c->arena + c->arena_used, s, n);
	c->arena[c->arena_used + n] = '\0';
	c->node[idx].off = (uint32_t)c->arena_used;
	c->node[idx].len = (uint32_t)n;
	c->arena_used += n + 1;
	return idx;
}

/* What a byte that cannot start or continue a token is, for the reason. */
static const char *
bad_byte(unsigned char ch)
{
	if (ch >= 0x80)
		return "8-bit byte outside a quoted string or literal";
	if (ch < 0x20 || ch == 0x7f)
		return "control character in command";
	if (ch == '\\')
		return "unexpected backslash";
	if (ch == '{')
		return "a literal must end its line";
	if (ch == ')')
		return "unexpected )";
	return "syntax error";
}

/* "BODY" and "BODY.PEEK" take a [section] with spaces and parentheses. */
static int
section_prefix(const char *s, size_t n)
{
	return word_eq(s, n, "BODY") || word_eq(s, n, "BODY.PEEK");
}

/* s[p] is '['; the index past the matching ']', or 0 with the error. */
static size_t
scan_section(struct imap_cmd *c, const char *s, size_t p, size_t e)
{
	int quoted = 0;

	for (p++; p < e; p++) {
		unsigned char ch = (unsigned char)s[p];

		if (ch == '"') {
			quoted = !quoted;
		} else if (ch == ']' && !quoted) {
			return p + 1;
		} else if (ch < 0x20 || ch >= 0x7f || ch == '{' || ch == '\\' ||
		    (ch == '[' && !quoted)) {
			set_err(c, IE_SYNTAX, NULL, ch >= 0x80 ?
			    "8-bit byte in a fetch section" :
			    "bad character in a fetch section");
			return 0;
		}
	}
	set_err(c, IE_SYNTAX, NULL, "unterminated [ in a fetch item");
	return 0;
}

/* An atom (or a \flag, or BODY[...]<...>) at s[p]; the index past it. */
static size_t
take_atom(struct imap_cmd *c, const char *s, size_t p, size_t e)
{
	size_t q = p;

	if (s[q] == '\\')
		q++;
	while (q < e && atomish((unsigned char)s[q])) {
		if (s[q] == '[' && section_prefix(s + p, q - p)) {
			if ((q = scan_section(c, s, q, e)) == 0)
				return 0;
			continue;
		}
		q++;
	}
	if (q == p || (s[p] == '\\' && q == p + 1)) {
		set_err(c, IE_SYNTAX, NULL, bad_byte((unsigned char)s[q < e ? q : p]));
		return 0;
	}
	if (put_string(c, IT_ATOM, s + p, q - p) < 0)
		return 0;
	return q;
}

/* A quoted string at s[p] == '"'; the index past it. */
static size_t
take_quoted(struct imap_cmd *c, const char *s, size_t p, size_t e)
{
	size_t q = p + 1, o;
	char *out;
	int idx;

	if (!arena_room(c, e - p))
		return 0;
	out = c->arena + c->arena_used;
	o = 0;
	while (q < e) {
		unsigned char ch = (unsigned char)s[q];
		size_t k;

		if (ch == '"') {
			if ((idx = new_node(c, IT_QUOTED)) < 0)
				return 0;
			out[o] = '\0';
			c->node[idx].off = (uint32_t)c->arena_used;
			c->node[idx].len = (uint32_t)o;
			c->arena_used += o + 1;
			return q + 1;
		}
		if (ch == '\\') {
			if (q + 1 >= e || (s[q + 1] != '\\' && s[q + 1] != '"')) {
				set_err(c, IE_SYNTAX, NULL, "bad escape in a quoted "
				    "string (only \\\\ and \\\")");
				return 0;
			}
			out[o++] = s[q + 1];
			q += 2;
			continue;
		}
		if ((k = utf8_decode((const unsigned char *)s + q, e - q, NULL)) == 0) {
			set_err(c, IE_SYNTAX, NULL,
			    "invalid UTF-8 in a quoted string");
			return 0;
		}
		memcpy(out + o, s + q, k);
		o += k;
		q += k;
	}
	set_err(c, IE_SYNTAX, NULL, "unterminated quoted string");
	return 0;
}

/*
 * A literal announcement {N} or {N+} at s[p] == '{', which must end the
 * line.  1 when it is valid and the parser now waits for its bytes.
 */
static int
take_literal(struct imap_cmd *c, const char *s, size_t p, size_t e)
{
	uint64_t v = 0;
	size_t q = p + 1, digits = 0;
	int sync = 1, idx, message;

	while (q < e && s[q] >= '0' && s[q] <= '9') {
		if (++digits > 10) {
			set_err(c, IE_SYNTAX, NULL, "literal size out of range");
			return 0;
		}
		v = v * 10 + (uint64_t)(s[q] - '0');
		q++;
	}
	if (q < e && s[q] == '+') {
		sync = 0;
		q++;
	}
	if (digits == 0 || q >= e || s[q] != '}') {
		set_err(c, IE_SYNTAX, NULL, "bad literal announcement");
		return 0;
	}
	if (q + 1 != e) {
		set_err(c, IE_SYNTAX, NULL, "a literal must end its line");
		return 0;
	}
	if (v > UINT32_MAX) {
		set_err(c, IE_TOOBIG, "TOOBIG", "literal size out of range");
		return 0;
	}
	/* APPEND's message: a literal argument after the mailbox */
	message = c->verb == IV_APPEND && c->depth == 0 && c->node[0].len >= 1;
	if (!sync && v > IMAP_LITERAL_NONSYNC_MAX_BYTES) {
		set_err(c, IE_TOOBIG, "TOOBIG", "non-synchronising literal over "
		    STR(IMAP_LITERAL_NONSYNC_MAX_BYTES) " bytes");
		return 0;
	}
	if (!message && v > IMAP_LITERAL_INLINE_MAX_BYTES) {
		set_errf(c, IE_TOOBIG, "TOOBIG", "literal of %llu bytes is over "
		    "the limit of %u", (unsigned long long)v,
		    (unsigned)IMAP_LITERAL_INLINE_MAX_BYTES);
		return 0;
	}
	if (!message && !arena_room(c, (size_t)v + 1))
		return 0;
	if ((idx = new_node(c, IT_LITERAL)) < 0)
		return 0;
	if (!message) {
		c->node[idx].off = (uint32_t)c->arena_used;
		c->arena_used += (size_t)v + 1;
	}
	c->lit_node = idx;
	c->lit_size = (uint32_t)v;
	c->lit_sync = sync;
	c->lit_message = message;
	c->lit_have = 0;
	return 1;
}

static enum imap_step check_args(struct imap_cmd *c);

/*
 * Tokenizes s[p..e) (the line without CRLF) into the command.  IMAP_DONE
 * when the command is complete, IMAP_LITERAL when the line ends with a
 * literal, IMAP_ERROR with the reason set.
 */
static enum imap_step
tokenize(struct imap_cmd *c, const char *s, size_t p, size_t e)
{
	while (p < e) {
		unsigned char ch = (unsigned char)s[p];

		if (c->need_sep) {
			if (ch == ')') {
				if (c->depth == 0) {
					set_err(c, IE_SYNTAX, NULL, "unexpected )");
					return IMAP_ERROR;
				}
				c->depth--;
				p++;
				continue;
			}
			if (ch != ' ') {
				set_err(c, IE_SYNTAX, NULL, ch >= 0x80 || ch < 0x20 ||
				    ch == 0x7f ? bad_byte(ch) :
				    "expected a space between arguments");
				return IMAP_ERROR;
			}
			p++;
			if (p == e || s[p] == ' ' || s[p] == ')') {
				set_err(c, IE_SYNTAX, NULL, p == e ?
				    "trailing space" : s[p] == ' ' ?
				    "two spaces between arguments" :
				    "space before )");
				return IMAP_ERROR;
			}
			c->need_sep = 0;
			continue;
		}
		switch (ch) {
		case '(': {
			int idx;

			if (c->depth >= IMAP_NEST_MAX_COUNT) {
				set_err(c, IE_LIMIT, NULL, "lists nested too deep "
				    "(more than " STR(IMAP_NEST_MAX_COUNT) ")");
				return IMAP_ERROR;
			}
			if ((idx = new_node(c, IT_LIST)) < 0)
				return IMAP_ERROR;
			c->stack[++c->depth] = idx;
			p++;
			if (p < e && s[p] == ')') {     /* () */
				c->depth--;
				p++;
				c->need_sep = 1;
			} else if (p < e && s[p] == ' ') {
				set_err(c, IE_SYNTAX, NULL, "space after (");
				return IMAP_ERROR;
			}
			continue;
		}
		case '"':
			p = take_quoted(c, s, p, e);
			break;
		case '{':
			if (!take_literal(c, s, p, e))
				return IMAP_ERROR;
			c->phase = PH_LITERAL;
			return IMAP_LITERAL;
		case ')':
			set_err(c, IE_SYNTAX, NULL, "unexpected )");
			return IMAP_ERROR;
		default:
			p = take_atom(c, s, p, e);
			break;
		}
		if (p == 0)
			return IMAP_ERROR;
		c->need_sep = 1;
	}
	if (c->depth > 0) {
		set_err(c, IE_SYNTAX, NULL, "unterminated list: missing )");
		return IMAP_ERROR;
	}
	return check_args(c);
}

/* ------------------------------------------------------------- the lines */

/* A line's ending and bytes: 0 ok, else the reason is set. */
static int
check_line(struct imap_cmd *c, const char *line, size_t len)
{
	if (len < 2 || line[len - 2] != '\r' || line[len - 1] != '\n') {
		set_err(c, IE_SYNTAX, NULL, len > 0 && line[len - 1] == '\n' ?
		    "bare LF: a line ends with CRLF" : "line without CRLF");
		return -1;
	}
	if (memchr(line, '\0', len - 2) != NULL) {
		set_err(c, IE_SYNTAX, NULL, "NUL in command line");
		return -1;
	}
	if (memchr(line, '\r', len - 2) != NULL ||
	    memchr(line, '\n', len - 2) != NULL) {
		set_err(c, IE_SYNTAX, NULL, "bare CR or LF in command line");
		return -1;
	}
	return 0;
}

/* The tag at the start of a first line: its length when valid (followed by
 * SP or the line end), else 0. */
static size_t
scan_tag(const char *s, size_t e)
{
	size_t n = 0;

	while (n < e && tag_char((unsigned char)s[n]))
		n++;
	if (n == 0 || n > IMAP_TAG_MAX_BYTES || (n < e && s[n] != ' '))
		return 0;
	return n;
}

static int
find_verb(const char *s, size_t n, int flag)
{
	for (size_t i = 0; i < NVERBS; i++)
		if ((verbs[i].flags & flag) && word_eq(s, n, verbs[i].name))
			return (int)i;
	return -1;
}

/* The tag, the command name (and UID's), then the arguments. */
static enum imap_step
first_line(struct imap_cmd *c, const char *s, size_t e)
{
	size_t t, p, k;
	int v;

	if ((t = scan_tag(s, e)) == 0) {
		set_err(c, IE_SYNTAX, NULL, "missing or invalid tag");
		return IMAP_ERROR;
	}
	memcpy(c->tag, s, t);
	c->tag[t] = '\0';
	if (t == e) {
		set_err(c, IE_SYNTAX, NULL, "missing command");
		return IMAP_ERROR;
	}
	p = t + 1;
	for (k = p; k < e && s[k] != ' '; k++)
		;
	if (k == p) {
		set_err(c, IE_SYNTAX, NULL, "missing command");
		return IMAP_ERROR;
	}
	if (word_eq(s + p, k - p, "UID")) {
		c->uid = 1;
		if (k == e) {
			set_err(c, IE_ARGS, NULL, "UID needs a command");
			return IMAP_ERROR;
		}
		p = k + 1;
		for (k = p; k < e && s[k] != ' '; k++)
			;
		if ((v = find_verb(s + p, k - p, VF_UID)) < 0) {
			set_err(c, IE_UNKNOWN, NULL, "unknown UID command");
			return IMAP_ERROR;
		}
	} else if ((v = find_verb(s + p, k - p, VF_PLAIN)) < 0) {
		set_err(c, IE_UNKNOWN, NULL, "unknown command");
		return IMAP_ERROR;
	}
	c->verb = verbs[v].verb;
	if (k < e) {
		k++;                    /* the space before the arguments */
		if (k == e || s[k] == ' ') {
			set_err(c, IE_SYNTAX, NULL, k == e ? "trailing space" :
			    "two spaces between arguments");
			return IMAP_ERROR;
		}
	}
	c->need_sep = 0;
	return tokenize(c, s, k, e);
}

/* An overlong line: the tag from head, a literal from tail. */
static enum imap_step
overlong(struct imap_cmd *c, const char *head, size_t headlen,
    const char *tail, size_t taillen)
{
	if (c->phase == PH_FIRST) {
		size_t t = scan_tag(head, headlen);

		if (t > 0) {
			memcpy(c->tag, head, t);
			c->tag[t] = '\0';
		}
	}
	if (c->phase != PH_DISCARD)
		set_errf(c, IE_LINELONG, NULL, "command line too long (more "
		    "than %zu bytes)", c->line_max);
	return refuse_tail(c, tail, taillen);
}

static enum imap_step
misuse(struct imap_cmd *c)
{
	set_err(c, IE_SYNTAX, NULL, "internal error: parser misuse");
	c->phase = PH_OVER;
	return IMAP_ERROR;
}

enum imap_step
imap_cmd_line(struct imap_cmd *c, const char *line, size_t len)
{
	enum imap_step r;

	switch (c->phase) {
	case PH_FIRST:
	case PH_ARGS:
		break;
	case PH_DISCARD:
		return refuse_tail(c, line, len);
	default:
		return misuse(c);
	}
	if (len > c->line_max)
		return overlong(c, line, len, line, len);
	if (c->phase == PH_FIRST) {
		size_t t = scan_tag(line, len >= 2 ? len - 2 : 0);

		/* the tag for the answer, before the line's checks */
		if (t > 0) {
			memcpy(c->tag, line, t);
			c->tag[t] = '\0';
		}
	}
	if (check_line(c, line, len) < 0)
		return refuse_tail(c, line, len);
	if (c->phase == PH_FIRST)
		r = first_line(c, line, len - 2);
	else
		r = tokenize(c, line, 0, len - 2);
	switch (r) {
	case IMAP_ERROR:
		return refuse_tail(c, line, len);
	case IMAP_DONE:
		c->phase = PH_OVER;
		return IMAP_DONE;
	default:
		return r;
	}
}

enum imap_step
imap_cmd_overlong(struct imap_cmd *c, const char *head, size_t headlen,
    const char *tail, size_t taillen)
{
	if (c->phase != PH_FIRST && c->phase != PH_ARGS &&
	    c->phase != PH_DISCARD)
		return misuse(c);
	return overlong(c, head, headlen, tail, taillen);
}

enum imap_step
imap_cmd_literal(struct imap_cmd *c, const char *data, size_t n)
{
	struct imap_node *nd;

	if (c->phase != PH_LITERAL || c->lit_message ||
	    n > (size_t)(c->lit_size - c->lit_have))
		return misuse(c);
	nd = &c->node[c->lit_node];
	if (n > 0 && memchr(data, '\0', n) != NULL) {
		set_err(c, IE_SYNTAX, NULL, "NUL in a literal");
		c->discard = c->lit_size - c->lit_have - n;
		c->phase = PH_DISCARD;
		return IMAP_DISCARD;
	}
	if (n > 0)
		memcpy(c->arena + nd->off + c->lit_have, data, n);
	c->lit_have += (uint32_t)n;
	if (c->lit_have < c->lit_size)
		return IMAP_LITERAL;
	c->arena[nd->off + c->lit_size] = '\0';
	nd->len = c->lit_size;
	c->phase = PH_ARGS;
	c->need_sep = 1;
	return IMAP_NEXT_LINE;
}

enum imap_step
imap_cmd_literal_external(struct imap_cmd *c)
{
	struct imap_node *nd;

	if (c->phase != PH_LITERAL || !c->lit_message || c->lit_have != 0)
		return misuse(c);
	nd = &c->node[c->lit_node];
	nd->external = 1;
	nd->len = c->lit_size;
	nd->off = 0;
	c->phase = PH_ARGS;
	c->need_sep = 1;
	return IMAP_NEXT_LINE;
}

enum imap_step
imap_cmd_refuse(struct imap_cmd *c, const char *code, const char *why)
{
	if (c->phase != PH_LITERAL)
		return misuse(c);
	set_err(c, IE_REFUSED, code, why != NULL ? why : "literal refused");
	if (c->lit_sync && c->lit_have == 0) {
		c->phase = PH_OVER;
		return IMAP_ERROR;
	}
	c->discard = c->lit_size - c->lit_have;
	c->phase = PH_DISCARD;
	return IMAP_DISCARD;
}

int
imap_idle_done(const char *line, size_t len)
{
	return len == 6 && word_eq(line, 4, "DONE") && line[4] == '\r' &&
	    line[5] == '\n';
}

/* ------------------------------------------------------------ the nodes */

const char *
imap_text(const struct imap_cmd *c, int node)
{
	if (node < 0 || node >= c->nodes_used)
		return "";
	return c->arena + c->node[node].off;
}

int
imap_arg(const struct imap_cmd *c, int i)
{
	int n = c->node[0].child;

	while (n >= 0 && i-- > 0)
		n = c->node[n].next;
	return n;
}

/* Every byte of an atom node passes ok(). */
static int
atom_all(const struct imap_cmd *c, int node, int (*ok)(unsigned char))
{
	const struct imap_node *nd;
	const char *s;

	if (node < 0 || node >= c->nodes_used)
		return 0;
	nd = &c->node[node];
	if (nd->kind != IT_ATOM)
		return 0;
	s = c->arena + nd->off;
	for (uint32_t i = 0; i < nd->len; i++)
		if (!ok((unsigned char)s[i]))
			return 0;
	return nd->len > 0;
}

int
imap_is_atom(const struct imap_cmd *c, int node)
{
	return atom_all(c, node, atom_char);
}

static int
is_string(const struct imap_cmd *c, int node)
{
	return node >= 0 && node < c->nodes_used &&
	    (c->node[node].kind == IT_QUOTED ||
	    (c->node[node].kind == IT_LITERAL && !c->node[node].external));
}

int
imap_is_astring(const struct imap_cmd *c, int node)
{
	return is_string(c, node) || atom_all(c, node, astring_char);
}

int
imap_is_nil(const struct imap_cmd *c, int node)
{
	return node >= 0 && node < c->nodes_used &&
	    c->node[node].kind == IT_ATOM &&
	    word_eq(imap_text(c, node), c->node[node].len, "NIL");
}

/* list-mailbox = 1*list-char / string; list-char adds % * ] to ATOM-CHAR. */
static int
is_list_mailbox(const struct imap_cmd *c, int node)
{
	return is_string(c, node) || atom_all(c, node, atomish);
}

/* ------------------------------------------------------- sequence sets */

/* seq-number at s[*i]: '*' or an nz-number. */
static int
seq_number(const char *s, size_t len, size_t *i, uint32_t *out,
    const char **why)
{
	uint64_t v = 0;
	size_t k = *i;

	if (k < len && s[k] == '*') {
		*out = IMAP_SEQ_STAR;
		*i = k + 1;
		return 0;
	}
	if (k >= len || s[k] < '0' || s[k] > '9') {
		*why = "bad sequence set";
		return -1;
	}
	if (s[k] == '0') {
		*why = (k + 1 < len && s[k + 1] >= '0' && s[k + 1] <= '9') ?
		    "leading zero in a sequence set" :
		    "0 is not a message number";
		return -1;
	}
	while (k < len && s[k] >= '0' && s[k] <= '9') {
		v = v * 10 + (uint64_t)(s[k] - '0');
		if (v > UINT32_MAX) {
			*why = "number out of range in a sequence set";
			return -1;
		}
		k++;
	}
	*out = (uint32_t)v;
	*i = k;
	return 0;
}

int
imap_parse_seqset(const char *s, size_t len, struct imap_seqrange *out,
    size_t cap, size_t *n, const char **why)
{
	size_t i = 0, k = 0;

	*n = 0;
	if (len == 0) {
		*why = "empty sequence set";
		return -1;
	}
	for (;;) {
		uint32_t a, b;

		if (seq_number(s, len, &i, &a, why) < 0)
			return -1;
		b = a;
		if (i < len && s[i] == ':') {
			i++;
			if (seq_number(s, len, &i, &b, why) < 0)
				return -1;
		}
		if (k >= cap) {
			*why = "too many ranges in a sequence set (the limit "
			    "is " STR(IMAP_SEQSET_MAX_COUNT) ")";
			return -1;
		}
		out[k].lo = a;
		out[k].hi = b;
		k++;
		if (i == len)
			break;
		if (s[i] != ',') {
			*why = "bad character in a sequence set";
			return -1;
		}
		if (++i == len) {
			*why = "sequence set ends with a comma";
			return -1;
		}
	}
	*n = k;
	return 0;
}

void
imap_seq_resolve(const struct imap_seqrange *r, uint32_t max, uint32_t *lo,
    uint32_t *hi)
{
	uint32_t a = r->lo == IMAP_SEQ_STAR ? max : r->lo;
	uint32_t b = r->hi == IMAP_SEQ_STAR ? max : r->hi;

	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
}

/* --------------------------------------------------------------- FETCH */

/* An nz-number (or, with zero_ok, a number) at s[*i] up to end. */
static int
take_num(const char *s, size_t end, size_t *i, int zero_ok, uint32_t *out)
{
	uint64_t v = 0;
	size_t k = *i;

	if (k >= end || s[k] < '0' || s[k] > '9')
		return -1;
	if (s[k] == '0' && !zero_ok)
		return -1;
	while (k < end && s[k] >= '0' && s[k] <= '9') {
		v = v * 10 + (uint64_t)(s[k] - '0');
		if (v > UINT32_MAX)
			return -1;
		k++;
	}
	*out = (uint32_t)v;
	*i = k;
	return 0;
}

/* ftext of RFC 5322: printable ASCII but ':'. */
static int
ftext(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != ':';
}

/* " (name name ...)" at s[*i] up to end: the header-list of a section. */
static int
take_header_list(const char *s, size_t end, size_t *i, struct imap_section *sec,
    const char **why)
{
	size_t k = *i;

	if (k + 1 >= end || s[k] != ' ' || s[k + 1] != '(') {
		*why = "HEADER.FIELDS needs a list of header names";
		return -1;
	}
	k += 2;
	for (;;) {
		size_t start, stop;

		if (k < end && s[k] == '"') {
			start = ++k;
			while (k < end && s[k] != '"')
				k++;
			if (k >= end) {
				*why = "unterminated quoted header name";
				return -1;
			}
			stop = k++;
		} else {
			start = k;
			while (k < end && astring_char((unsigned char)s[k]))
				k++;
			stop = k;
		}
		if (stop == start) {
			*why = "empty header name in HEADER.FIELDS";
			return -1;
		}
		for (size_t j = start; j < stop; j++)
			if (!ftext((unsigned char)s[j])) {
				*why = "bad header name in HEADER.FIELDS";
				return -1;
			}
		if (sec->nfields >= IMAP_FETCH_FIELDS_MAX_COUNT) {
			*why = "too many header names (the limit is "
			    STR(IMAP_FETCH_FIELDS_MAX_COUNT) ")";
			return -1;
		}
		sec->field[sec->nfields].s = s + start;
		sec->field[sec->nfields].len = stop - start;
		sec->nfields++;
		if (k < end && s[k] == ')') {
			*i = k + 1;
			return 0;
		}
		if (k + 1 >= end || s[k] != ' ' || s[k + 1] == ' ' ||
		    s[k + 1] == ')') {
			*why = "bad header list in HEADER.FIELDS";
			return -1;
		}
		k++;
	}
}

/* The section-spec s[0..end) (between the brackets). */
static int
take_section_spec(const char *s, size_t end, struct imap_section *sec,
    const char **why)
{
	size_t i = 0;

	sec->spec = IMAP_SEC_ALL;
	while (i < end && s[i] >= '0' && s[i] <= '9') {
		uint32_t v;

		if (take_num(s, end, &i, 0, &v) < 0) {
			*why = "bad part number in a section";
			return -1;
		}
		if (sec->nparts >= IMAP_SECTION_PARTS_MAX_COUNT) {
			*why = "section part numbers nested too deep (the "
			    "limit is " STR(IMAP_SECTION_PARTS_MAX_COUNT) ")";
			return -1;
		}
		sec->part[sec->nparts++] = v;
		if (i == end)
			return 0;
		if (s[i] != '.') {
			*why = "bad section";
			return -1;
		}
		i++;
		if (i == end) {
			*why = "section ends with a dot";
			return -1;
		}
	}
	if (i == end)
		return 0;       /* BODY[] */
	if (word_prefix(s + i, end - i, "HEADER.FIELDS.NOT")) {
		sec->spec = IMAP_SEC_HEADER_FIELDS_NOT;
		i += strlen("HEADER.FIELDS.NOT");
		if (take_header_list(s, end, &i, sec, why) < 0)
			return -1;
	} else if (word_prefix(s + i, end - i, "HEADER.FIELDS")) {
		sec->spec = IMAP_SEC_HEADER_FIELDS;
		i += strlen("HEADER.FIELDS");
		if (take_header_list(s, end, &i, sec, why) < 0)
			return -1;
	} else if (word_prefix(s + i, end - i, "HEADER")) {
		sec->spec = IMAP_SEC_HEADER;
		i += strlen("HEADER");
	} else if (word_prefix(s + i, end - i, "TEXT")) {
		sec->spec = IMAP_SEC_TEXT;
		i += strlen("TEXT");
	} else if (word_prefix(s + i, end - i, "MIME") && sec->nparts > 0) {
		sec->spec = IMAP_SEC_MIME;
		i += strlen("MIME");
	} else {
		*why = "unknown section (HEADER, HEADER.FIELDS, "
		    "HEADER.FIELDS.NOT, MIME, TEXT or part numbers)";
		return -1;
	}
	if (i != end) {
		*why = "bad section";
		return -1;
	}
	return 0;
}

/* BODY[...] / BODY.PEEK[...] with an optional <origin.count>. */
static int
take_section(const char *s, size_t len, size_t open, int peek,
    struct imap_fetch *f, const char **why)
{
	struct imap_section *sec;
	size_t close, i;
	int quoted = 0;

	if (f->nsec >= IMAP_FETCH_SECTIONS_MAX_COUNT) {
		*why = "too many sections in one FETCH (the limit is "
		    STR(IMAP_FETCH_SECTIONS_MAX_COUNT) ")";
		return -1;
	}
	for (close = open + 1; close < len; close++) {
		if (s[close] == '"')
			quoted = !quoted;
		else if (s[close] == ']' && !quoted)
			break;
	}
	if (close >= len) {
		*why = "unterminated [ in a fetch item";
		return -1;
	}
	sec = &f->sec[f->nsec];
	sec->peek = peek;
	sec->nparts = 0;
	sec->nfields = 0;
	sec->partial = 0;
	sec->origin = sec->count = 0;
	sec->text.s = s + open + 1;
	sec->text.len = close - open - 1;
	if (take_section_spec(s + open + 1, close - open - 1, sec, why) < 0)
		return -1;
	i = close + 1;
	if (i < len) {
		/* "<" number "." nz-number ">" */
		if (s[i] != '<' || (i++, take_num(s, len, &i, 1,
		    &sec->origin) < 0) || i >= len || s[i] != '.' ||
		    (i++, take_num(s, len, &i, 0, &sec->count) < 0) ||
		    i + 1 != len || s[i] != '>') {
			*why = "bad partial <origin.count> in a fetch item";
			return -1;
		}
		sec->partial = 1;
	}
	f->nsec++;
	return 0;
}

int
imap_parse_fetch_att(const char *s, size_t len, struct imap_fetch *f,
    const char **why)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} simple[] = {
		{ "FLAGS", IMAP_FA_FLAGS },
		{ "INTERNALDATE", IMAP_FA_INTERNALDATE },
		{ "RFC822.SIZE", IMAP_FA_RFC822_SIZE },
		{ "ENVELOPE", IMAP_FA_ENVELOPE },
		{ "BODY", IMAP_FA_BODY },
		{ "BODYSTRUCTURE", IMAP_FA_BODYSTRUCTURE },
		{ "UID", IMAP_FA_UID },
		{ "RFC822", IMAP_FA_RFC822 },
		{ "RFC822.HEADER", IMAP_FA_RFC822_HEADER },
		{ "RFC822.TEXT", IMAP_FA_RFC822_TEXT },
	};

	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (word_eq(s, len, simple[i].name)) {
			f->atts |= simple[i].bit;
			return 0;
		}
	if (word_prefix(s, len, "BODY["))
		return take_section(s, len, 4, 0, f, why);
	if (word_prefix(s, len, "BODY.PEEK["))
		return take_section(s, len, 9, 1, f, why);
	*why = "unknown FETCH item";
	return -1;
}

int
imap_parse_fetch(const struct imap_cmd *c, int node, struct imap_fetch *f,
    const char **why)
{
	const struct imap_node *nd;
	int n;

	f->atts = 0;
	f->nsec = 0;
	if (node < 0 || node >= c->nodes_used) {
		*why = "FETCH needs items";
		return -1;
	}
	nd = &c->node[node];
	if (nd->kind == IT_ATOM) {
		const char *s = imap_text(c, node);

		if (word_eq(s, nd->len, "ALL")) {
			f->atts = IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE |
			    IMAP_FA_RFC822_SIZE | IMAP_FA_ENVELOPE;
			return 0;
		}
		if (word_eq(s, nd->len, "FAST")) {
			f->atts = IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE |
			    IMAP_FA_RFC822_SIZE;
			return 0;
		}
		if (word_eq(s, nd->len, "FULL")) {
			f->atts = IMAP_FA_FLAGS | IMAP_FA_INTERNALDATE |
			    IMAP_FA_RFC822_SIZE | IMAP_FA_ENVELOPE |
			    IMAP_FA_BODY;
			return 0;
		}
		return imap_parse_fetch_att(s, nd->len, f, why);
	}
	if (nd->kind != IT_LIST || nd->len == 0) {
		*why = nd->kind == IT_LIST ? "empty FETCH item list" :
		    "FETCH items are atoms or a list of them";
		return -1;
	}
	for (n = nd->child; n >= 0; n = c->node[n].next) {
		if (c->node[n].kind != IT_ATOM) {
			*why = "FETCH items are atoms";
			return -1;
		}
		if (imap_parse_fetch_att(imap_text(c, n), c->node[n].len, f,
		    why) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- flags, STORE */

static int
take_flag(const struct imap_cmd *c, int n, struct imap_flags *f,
    const char **why)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} sys[] = {
		{ "\\ANSWERED", IMAP_F_ANSWERED },
		{ "\\FLAGGED", IMAP_F_FLAGGED },
		{ "\\DELETED", IMAP_F_DELETED },
		{ "\\SEEN", IMAP_F_SEEN },
		{ "\\DRAFT", IMAP_F_DRAFT },
	};
	const char *s = imap_text(c, n);
	size_t len = c->node[n].len;

	if (c->node[n].kind != IT_ATOM) {
		*why = "a flag is an atom";
		return -1;
	}
	if (s[0] == '\\') {
		for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
			if (word_eq(s, len, sys[i].name)) {
				f->sys |= sys[i].bit;
				return 0;
			}
		for (size_t i = 1; i < len; i++)
			if (!atom_char((unsigned char)s[i])) {
				*why = "bad flag";
				return -1;
			}
		*why = word_eq(s, len, "\\RECENT") ?
		    "\\Recent cannot be set by a client" :
		    "unknown system flag";
		return -1;
	}
	if (!imap_is_atom(c, n)) {
		*why = "bad keyword";
		return -1;
	}
	if (f->nkw >= IMAP_FLAG_KEYWORDS_MAX_COUNT) {
		*why = "too many keywords (the limit is "
		    STR(IMAP_FLAG_KEYWORDS_MAX_COUNT) ")";
		return -1;
	}
	f->kw[f->nkw++] = s;
	return 0;
}

int
imap_parse_flags(const struct imap_cmd *c, int node, int siblings,
    struct imap_flags *f, const char **why)
{
	int n;

	f->sys = 0;
	f->nkw = 0;
	if (node < 0 || node >= c->nodes_used) {
		*why = "missing flags";
		return -1;
	}
	if (!siblings) {
		if (c->node[node].kind != IT_LIST) {
			*why = "a flag list is in parentheses";
			return -1;
		}
		n = c->node[node].child;
	} else {
		n = node;
	}
	for (; n >= 0; n = c->node[n].next)
		if (take_flag(c, n, f, why) < 0)
			return -1;
	return 0;
}

int
imap_parse_store_att(const char *s, struct imap_store *st)
{
	size_t len = strlen(s);

	st->op = IMAP_STORE_SET;
	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		st->op = s[0] == '+' ? IMAP_STORE_ADD : IMAP_STORE_REMOVE;
		s++;
		len--;
	}
	st->silent = 0;
	if (word_eq(s, len, "FLAGS"))
		return 0;
	if (word_eq(s, len, "FLAGS.SILENT")) {
		st->silent = 1;
		return 0;
	}
	return -1;
}

/* ------------------------------------------------------------ date-time */

static int
digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
imap_parse_datetime(const char *s, size_t len, int64_t *out)
{
	static const char *months[] = { "JAN", "FEB", "MAR", "APR", "MAY",
	    "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int day, mon = -1, year, hh, mm, ss, zh, zm, leap;
	int64_t t;

	/* "dd-Mon-yyyy hh:mm:ss +zzzz" */
	if (len != 26 || s[2] != '-' || s[6] != '-' || s[11] != ' ' ||
	    s[14] != ':' || s[17] != ':' || s[20] != ' ' ||
	    (s[21] != '+' && s[21] != '-'))
		return -1;
	if (s[0] == ' ') {
		if (digits(s + 1, 1, &day) < 0)
			return -1;
	} else if (digits(s, 2, &day) < 0) {
		return -1;
	}
	for (int i = 0; i < 12; i++)
		if (word_eq(s + 3, 3, months[i]))
			mon = i;
	if (mon < 0 || digits(s + 7, 4, &year) < 0 ||
	    digits(s + 12, 2, &hh) < 0 || digits(s + 15, 2, &mm) < 0 ||
	    digits(s + 18, 2, &ss) < 0 || digits(s + 22, 2, &zh) < 0 ||
	    digits(s + 24, 2, &zm) < 0)
		return -1;
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day < 1 || day > mdays[mon] || (mon == 1 && day == 29 && !leap) ||
	    hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59)
		return -1;
	t = days_from_civil(year, mon + 1, day) * 86400 + hh * 3600 +
	    mm * 60 + ss;
	t -= (s[21] == '-' ? -1 : 1) * (int64_t)(zh * 3600 + zm * 60);
	*out = t;
	return 0;
}

/* ------------------------------------------------- the command's shapes */

static enum imap_step
bad_args(struct imap_cmd *c, const char *why)
{
	set_err(c, IE_ARGS, NULL, why);
	return IMAP_ERROR;
}

/* Argument i as an astring into *s, *len. */
static int
get_astring(struct imap_cmd *c, int i, const char **s, size_t *len)
{
	int n = imap_arg(c, i);

	if (!imap_is_astring(c, n))
		return -1;
	*s = imap_text(c, n);
	if (len != NULL)
		*len = c->node[n].len;
	return 0;
}

static int
get_seqset(struct imap_cmd *c, int i)
{
	int n = imap_arg(c, i);
	const char *why = "bad sequence set";

	if (n < 0 || c->node[n].kind != IT_ATOM ||
	    imap_parse_seqset(imap_text(c, n), c->node[n].len, c->seqbuf,
	    IMAP_SEQSET_MAX_COUNT, &c->a.nseq, &why) < 0) {
		set_err(c, IE_ARGS, NULL, why);
		return -1;
	}
	c->a.seq = c->seqbuf;
	return 0;
}

/* SASL-IR initial response: base64 characters, or "=". */
static int
is_b64_atom(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' ||
		    ch == '='))
			return 0;
	}
	return len > 0;
}

static enum imap_step
args_list(struct imap_cmd *c, int nargs)
{
	int i = 0, n = imap_arg(c, 0);

	/* LIST [(selection options)] ref pattern(s) [RETURN (options)] */
	if (n >= 0 && c->node[n].kind == IT_LIST) {
		for (int k = c->node[n].child; k >= 0; k = c->node[k].next)
			if (!imap_is_atom(c, k))
				return bad_args(c, "LIST selection options "
				    "are atoms");
		c->a.list_select = n;
		i++;
	}
	if (nargs != i + 2 && nargs != i + 4)
		return bad_args(c, "LIST takes a reference and a mailbox "
		    "pattern");
	if (get_astring(c, i, &c->a.ref, NULL) < 0)
		return bad_args(c, "the LIST reference is a string");
	n = imap_arg(c, i + 1);
	if (c->node[n].kind == IT_LIST && c->a.list_select >= 0) {
		if (c->node[n].len == 0)
			return bad_args(c, "empty LIST pattern list");
		for (int k = c->node[n].child; k >= 0; k = c->node[k].next)
			if (!is_list_mailbox(c, k))
				return bad_args(c, "bad LIST pattern");
	} else if (!is_list_mailbox(c, n)) {
		return bad_args(c, "bad LIST pattern");
	}
	c->a.pattern = n;
	if (nargs == i + 4) {
		int r = imap_arg(c, i + 2), o = imap_arg(c, i + 3);

		if (c->node[r].kind != IT_ATOM ||
		    !word_eq(imap_text(c, r), c->node[r].len, "RETURN") ||
		    c->node[o].kind != IT_LIST)
			return bad_args(c, "LIST takes RETURN (options) last");
		for (int k = c->node[o].child; k >= 0; k = c->node[k].next)
			if (!imap_is_atom(c, k))
				return bad_args(c, "LIST return options are "
				    "atoms");
		c->a.list_return = o;
	}
	return IMAP_DONE;
}

static enum imap_step
args_status(struct imap_cmd *c, int nargs)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} items[] = {
		{ "MESSAGES", IMAP_ST_MESSAGES },
		{ "RECENT", IMAP_ST_RECENT },
		{ "UIDNEXT", IMAP_ST_UIDNEXT },
		{ "UIDVALIDITY", IMAP_ST_UIDVALIDITY },
		{ "UNSEEN", IMAP_ST_UNSEEN },
	};
	int n = imap_arg(c, 1);

	if (nargs != 2 ||
	    get_astring(c, 0, &c->a.mailbox, &c->a.mailbox_len) < 0 ||
	    c->node[n].kind != IT_LIST || c->node[n].len == 0)
		return bad_args(c, "STATUS takes a mailbox and a list of "
		    "items");
	for (int k = c->node[n].child; k >= 0; k = c->node[k].next) {
		size_t i;

		for (i = 0; i < sizeof(items) / sizeof(items[0]); i++)
			if (c->node[k].kind == IT_ATOM &&
			    word_eq(imap_text(c, k), c->node[k].len,
			    items[i].name))
				break;
		if (i == sizeof(items) / sizeof(items[0]))
			return bad_args(c, "unknown STATUS item");
		c->a.status |= items[i].bit;
	}
	return IMAP_DONE;
}

static enum imap_step
args_append(struct imap_cmd *c, int nargs)
{
	static const char shape[] = "APPEND takes a mailbox, [flags], [date] "
	    "and a message literal";
	const char *why = NULL;
	int i = 1, n;

	if (nargs < 2 || nargs > 4 ||
	    get_astring(c, 0, &c->a.mailbox, &c->a.mailbox_len) < 0)
		return bad_args(c, shape);
	n = imap_arg(c, i);
	if (i < nargs - 1 && n >= 0 && c->node[n].kind == IT_LIST) {
		if (imap_parse_flags(c, n, 0, &c->a.flags, &why) < 0)
			return bad_args(c, why);
		n = imap_arg(c, ++i);
	}
	if (i < nargs - 1 && n >= 0 && c->node[n].kind == IT_QUOTED) {
		if (imap_parse_datetime(imap_text(c, n), c->node[n].len,
		    &c->a.date) < 0)
			return bad_args(c, "bad APPEND date-time");
		c->a.has_date = 1;
		n = imap_arg(c, ++i);
	}
	if (i != nargs - 1 || n < 0 || c->node[n].kind != IT_LITERAL)
		return bad_args(c, shape);
	c->a.message = n;
	return IMAP_DONE;
}

static enum imap_step
args_search(struct imap_cmd *c, int nargs)
{
	int n = imap_arg(c, 0);

	if (nargs >= 1 && c->node[n].kind == IT_ATOM &&
	    word_eq(imap_text(c, n), c->node[n].len, "CHARSET")) {
		if (nargs < 3 || get_astring(c, 1, &c->a.charset, NULL) < 0)
			return bad_args(c, "SEARCH CHARSET takes a charset "
			    "and search keys");
		c->a.search_key = imap_arg(c, 2);
		return IMAP_DONE;
	}
	if (nargs < 1)
		return bad_args(c, "SEARCH needs search keys");
	c->a.search_key = n;
	return IMAP_DONE;
}

static enum imap_step
args_store(struct imap_cmd *c, int nargs)
{
	const char *why = NULL;
	int n = imap_arg(c, 1), f = imap_arg(c, 2);

	if (nargs < 3)
		return bad_args(c, "STORE takes a sequence set, an item and "
		    "flags");
	if (get_seqset(c, 0) < 0)
		return IMAP_ERROR;
	if (c->node[n].kind != IT_ATOM ||
	    imap_parse_store_att(imap_text(c, n), &c->a.store) < 0)
		return bad_args(c, "unknown STORE item (FLAGS, +FLAGS, -FLAGS, "
		    "with .SILENT)");
	if (c->node[f].kind == IT_LIST) {
		if (nargs != 3)
			return bad_args(c, "STORE takes one flag list");
		if (imap_parse_flags(c, f, 0, &c->a.store.flags, &why) < 0)
			return bad_args(c, why);
	} else if (imap_parse_flags(c, f, 1, &c->a.store.flags, &why) < 0) {
		return bad_args(c, why);
	}
	return IMAP_DONE;
}

static enum imap_step
args_id(struct imap_cmd *c, int nargs)
{
	int n = imap_arg(c, 0), pairs = 0;

	if (nargs != 1)
		return bad_args(c, "ID takes NIL or a list");
	if (imap_is_nil(c, n))
		return IMAP_DONE;
	if (c->node[n].kind != IT_LIST || c->node[n].len % 2 != 0)
		return bad_args(c, "ID takes NIL or a list of field-value "
		    "pairs");
	for (int k = c->node[n].child; k >= 0; ) {
		int v = c->node[k].next;       /* the list's length is even */

		if (++pairs > IMAP_ID_PAIRS_MAX_COUNT)
			return bad_args(c, "more than " STR(IMAP_ID_PAIRS_MAX_COUNT)
			    " ID pairs");
		if (!is_string(c, k) || c->node[k].len > IMAP_ID_FIELD_MAX_BYTES)
			return bad_args(c, "an ID field is a string of at most "
			    STR(IMAP_ID_FIELD_MAX_BYTES) " bytes");
		if (v < 0 || (!imap_is_nil(c, v) && (!is_string(c, v) ||
		    c->node[v].len > IMAP_ID_VALUE_MAX_BYTES)))
			return bad_args(c, "an ID value is NIL or a string of "
			    "at most " STR(IMAP_ID_VALUE_MAX_BYTES) " bytes");
		k = c->node[v].next;
	}
	c->a.id_list = n;
	return IMAP_DONE;
}

static enum imap_step
check_args(struct imap_cmd *c)
{
	int nargs = (int)c->node[0].len;
	const char *why = NULL;

	switch (c->verb) {
	case IV_CAPABILITY: case IV_NOOP: case IV_LOGOUT: case IV_STARTTLS:
	case IV_CHECK: case IV_CLOSE: case IV_IDLE: case IV_UNSELECT:
	case IV_NAMESPACE:
		if (nargs != 0)
			return bad_args(c, "this command takes no arguments");
		return IMAP_DONE;
	case IV_EXPUNGE:
		if (!c->uid)
			return nargs == 0 ? IMAP_DONE :
			    bad_args(c, "EXPUNGE takes no arguments");
		if (nargs != 1)
			return bad_args(c, "UID EXPUNGE takes a sequence set");
		return get_seqset(c, 0) < 0 ? IMAP_ERROR : IMAP_DONE;
	case IV_AUTHENTICATE:
		if (nargs < 1 || nargs > 2 || !imap_is_atom(c, imap_arg(c, 0)))
			return bad_args(c, "AUTHENTICATE takes a mechanism and "
			    "an optional initial response");
		c->a.mech = imap_text(c, imap_arg(c, 0));
		if (nargs == 2) {
			int n = imap_arg(c, 1);

			if (c->node[n].kind != IT_ATOM ||
			    !is_b64_atom(imap_text(c, n), c->node[n].len))
				return bad_args(c, "the initial response is "
				    "base64 or =");
			c->a.ir = imap_text(c, n);
		}
		return IMAP_DONE;
	case IV_LOGIN:
		if (nargs != 2 ||
		    get_astring(c, 0, &c->a.user, &c->a.user_len) < 0 ||
		    get_astring(c, 1, &c->a.pass, &c->a.pass_len) < 0)
			return bad_args(c, "LOGIN takes a user name and a "
			    "password");
		return IMAP_DONE;
	case IV_SELECT: case IV_EXAMINE: case IV_CREATE: case IV_DELETE:
	case IV_SUBSCRIBE: case IV_UNSUBSCRIBE:
		if (nargs != 1 ||
		    get_astring(c, 0, &c->a.mailbox, &c->a.mailbox_len) < 0)
			return bad_args(c, "this command takes one mailbox "
			    "name");
		return IMAP_DONE;
	case IV_RENAME:
		if (nargs != 2 ||
		    get_astring(c, 0, &c->a.mailbox, &c->a.mailbox_len) < 0 ||
		    get_astring(c, 1, &c->a.mailbox2, &c->a.mailbox2_len) < 0)
			return bad_args(c, "RENAME takes two mailbox names");
		return IMAP_DONE;
	case IV_LIST:
		return args_list(c, nargs);
	case IV_LSUB:
		if (nargs != 2 || get_astring(c, 0, &c->a.ref, NULL) < 0 ||
		    !is_list_mailbox(c, imap_arg(c, 1)))
			return bad_args(c, "LSUB takes a reference and a "
			    "mailbox pattern");
		c->a.pattern = imap_arg(c, 1);
		return IMAP_DONE;
	case IV_STATUS:
		return args_status(c, nargs);
	case IV_APPEND:
		return args_append(c, nargs);
	case IV_SEARCH:
		return args_search(c, nargs);
	case IV_FETCH:
		if (nargs != 2)
			return bad_args(c, "FETCH takes a sequence set and "
			    "items");
		if (get_seqset(c, 0) < 0)
			return IMAP_ERROR;
		if (imap_parse_fetch(c, imap_arg(c, 1), &c->a.fetch, &why) < 0)
			return bad_args(c, why);
		return IMAP_DONE;
	case IV_STORE:
		return args_store(c, nargs);
	case IV_COPY: case IV_MOVE:
		if (nargs != 2)
			return bad_args(c, "this command takes a sequence set "
			    "and a mailbox name");
		if (get_seqset(c, 0) < 0)
			return IMAP_ERROR;
		if (get_astring(c, 1, &c->a.mailbox, &c->a.mailbox_len) < 0)
			return bad_args(c, "bad mailbox name");
		return IMAP_DONE;
	case IV_ID:
		return args_id(c, nargs);
	case IV_ENABLE:
		if (nargs < 1)
			return bad_args(c, "ENABLE takes capability names");
		for (int k = imap_arg(c, 0); k >= 0; k = c->node[k].next)
			if (!imap_is_atom(c, k))
				return bad_args(c, "ENABLE takes capability "
				    "names");
		c->a.enable = imap_arg(c, 0);
		return IMAP_DONE;
	case IV_NONE:
	case IV_VERB_MAX:
		break;
	}
	return bad_args(c, "unknown command");
}
