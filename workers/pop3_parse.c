/*
 * POP3 command parsing: see pop3_parse.h for the rules.  Nothing here does
 * I/O or keeps state; every function is total over arbitrary input.
 */
#include <string.h>

#include "../privsep/util.h"
#include "pop3_parse.h"

/* How a verb's arguments are split. */
enum argkind {
	AK_WORDS,   /* min..max space-separated arguments of <= LIM_POP3_ARG */
	AK_REST,    /* one argument: the rest of the line (PASS) */
	AK_AUTH,    /* mechanism (<= LIM_POP3_ARG) [initial response (<= line)] */
};

static const struct {
	const char *name;
	enum pop3_verb verb;
	enum argkind kind;
	int min, max;
} verbs[] = {
	{ "USER", P3_USER, AK_WORDS, 1, 1 },
	{ "PASS", P3_PASS, AK_REST, 1, 1 },
	{ "APOP", P3_APOP, AK_WORDS, 2, 2 },
	{ "AUTH", P3_AUTH, AK_AUTH, 0, 2 },
	{ "STLS", P3_STLS, AK_WORDS, 0, 0 },
	{ "CAPA", P3_CAPA, AK_WORDS, 0, 0 },
	{ "QUIT", P3_QUIT, AK_WORDS, 0, 0 },
	{ "STAT", P3_STAT, AK_WORDS, 0, 0 },
	{ "LIST", P3_LIST, AK_WORDS, 0, 1 },
	{ "RETR", P3_RETR, AK_WORDS, 1, 1 },
	{ "DELE", P3_DELE, AK_WORDS, 1, 1 },
	{ "NOOP", P3_NOOP, AK_WORDS, 0, 0 },
	{ "RSET", P3_RSET, AK_WORDS, 0, 0 },
	{ "TOP",  P3_TOP,  AK_WORDS, 2, 2 },
	{ "UIDL", P3_UIDL, AK_WORDS, 0, 1 },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

const char *
pop3_verb_name(enum pop3_verb v)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (verbs[i].verb == v)
			return verbs[i].name;
	return "?";
}

const char *
pop3_perr_text(enum pop3_perr e)
{
	switch (e) {
	case P3E_OK:       return "ok";
	case P3E_EMPTY:    return "empty command";
	case P3E_CTRL:     return "control character in command line";
	case P3E_UNKNOWN:  return "unknown command";
	case P3E_SYNTAX:   return "syntax error";
	case P3E_ARGLONG:  return "argument too long";
	case P3E_LINELONG: return "command line too long";
	}
	return "error";
}

static int
upper(int c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

/* Case-insensitive match of the keyword kw[0..n) against the table. */
static int
find_verb(const char *kw, size_t n)
{
	for (size_t i = 0; i < NVERBS; i++) {
		const char *name = verbs[i].name;
		size_t j;

		if (strlen(name) != n)
			continue;
		for (j = 0; j < n; j++)
			if (upper((unsigned char)kw[j]) != name[j])
				break;
		if (j == n)
			return (int)i;
	}
	return -1;
}

/* Copies s[0..n) into cmd->arg[i]; -1 when it is empty or too long. */
static enum pop3_perr
put_arg(struct pop3_cmd *cmd, const char *s, size_t n, size_t max)
{
	if (n == 0)
		return P3E_SYNTAX;
	if (n > max || n >= sizeof(cmd->arg[0]))
		return P3E_ARGLONG;
	memcpy(cmd->arg[cmd->nargs], s, n);
	cmd->arg[cmd->nargs][n] = '\0';
	cmd->nargs++;
	return P3E_OK;
}

/* Splits p[0..n) at single spaces into at most max arguments. */
static enum pop3_perr
split_words(struct pop3_cmd *cmd, const char *p, size_t n, int max, int last_rest)
{
	while (n > 0) {
		const char *sp;
		size_t k, lim = LIM_POP3_ARG;
		enum pop3_perr e;

		if (cmd->nargs >= max)
			return P3E_SYNTAX;
		if (last_rest && cmd->nargs == max - 1) {
			k = n;          /* AUTH initial response: the rest */
			lim = LIM_POP3_CMDLINE;
			if (memchr(p, ' ', n) != NULL)
				return P3E_SYNTAX;
		} else {
			sp = memchr(p, ' ', n);
			k = sp != NULL ? (size_t)(sp - p) : n;
		}
		if ((e = put_arg(cmd, p, k, lim)) != P3E_OK)
			return e;
		p += k;
		n -= k;
		if (n > 0) {            /* skip the one separating space */
			p++;
			n--;
			if (n == 0)
				return P3E_SYNTAX;   /* trailing space */
		}
	}
	return P3E_OK;
}

enum pop3_perr
pop3_parse_line(const char *line, size_t len, struct pop3_cmd *cmd)
{
	size_t kwlen, i;
	int v;
	enum pop3_perr e;

	memset(cmd, 0, sizeof(*cmd));
	cmd->verb = P3_NONE;
	if (len + 2 > LIM_POP3_CMDLINE)
		return P3E_LINELONG;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x20 || c == 0x7f)
			return P3E_CTRL;
	}
	if (len == 0)
		return P3E_EMPTY;
	for (kwlen = 0; kwlen < len && line[kwlen] != ' '; kwlen++)
		;
	if (kwlen < 3 || kwlen > 4 || (v = find_verb(line, kwlen)) < 0)
		return P3E_UNKNOWN;
	cmd->verb = verbs[v].verb;
	if (kwlen == len) {
		if (verbs[v].min > 0)
			return P3E_SYNTAX;
		return P3E_OK;
	}
	/* line[kwlen] is the separating space */
	line += kwlen + 1;
	len -= kwlen + 1;
	if (len == 0)
		return P3E_SYNTAX;          /* "LIST " */
	switch (verbs[v].kind) {
	case AK_REST:
		e = put_arg(cmd, line, len, LIM_PASSWORD - 1);
		break;
	case AK_AUTH:
		e = split_words(cmd, line, len, verbs[v].max, 1);
		break;
	case AK_WORDS:
	default:
		e = split_words(cmd, line, len, verbs[v].max, 0);
		break;
	}
	if (e != P3E_OK)
		return e;
	if (cmd->nargs < verbs[v].min || cmd->nargs > verbs[v].max)
		return P3E_SYNTAX;
	return P3E_OK;
}

int
pop3_parse_num(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= LIM_POP3_ARG)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > 0xffffffffu)
			return -1;
	}
	if (v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

long
pop3_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outsz)
{
	size_t i, o = 0;

	if (inlen == 1 && in[0] == '=')
		return 0;
	if (inlen == 0 || inlen % 4 != 0)
		return -1;
	for (i = 0; i < inlen; i += 4) {
		int v[4], pad = 0;
		uint32_t w;

		for (int j = 0; j < 4; j++) {
			unsigned char c = (unsigned char)in[i + j];

			if (c == '=') {
				/* only in the last quantum, only at its end */
				if (i + 4 != inlen || j < 2)
					return -1;
				pad++;
				v[j] = 0;
				continue;
			}
			if (pad > 0)
				return -1;      /* data after '=' */
			if ((v[j] = base64_value(c, '/')) < 0)
				return -1;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* unused bits must be zero (canonical encoding) */
		if ((pad == 1 && (w & 0xff) != 0) ||
		    (pad == 2 && (w & 0xffff) != 0))
			return -1;
		if (o + (size_t)(3 - pad) > outsz)
			return -1;
		out[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)w;
	}
	return (long)o;
}

int
pop3_sasl_plain(const unsigned char *msg, size_t len,
    char user[LIM_NAME + 1], char pass[LIM_PASSWORD])
{
	const unsigned char *z1, *z2, *authcid, *pw;
	size_t zlen, clen, plen;

	if ((z1 = memchr(msg, '\0', len)) == NULL)
		return -1;
	zlen = (size_t)(z1 - msg);
	authcid = z1 + 1;
	if ((z2 = memchr(authcid, '\0', len - zlen - 1)) == NULL)
		return -1;
	clen = (size_t)(z2 - authcid);
	pw = z2 + 1;
	plen = len - zlen - 1 - clen - 1;
	if (clen == 0 || clen > LIM_NAME)
		return -1;
	if (plen == 0 || plen > LIM_PASSWORD - 1 || memchr(pw, '\0', plen) != NULL)
		return -1;
	if (zlen != 0 && (zlen != clen || memcmp(msg, authcid, clen) != 0))
		return -1;
	memcpy(user, authcid, clen);
	user[clen] = '\0';
	memcpy(pass, pw, plen);
	pass[plen] = '\0';
	return 0;
}
