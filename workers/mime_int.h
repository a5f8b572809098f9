/*
 * Inside the MIME layer: the lexer of structured header values (RFC 5322
 * 3.2, RFC 2045 5.1) that mime.c, mime_env.c and mime_bs.c share.  Every
 * function moves forward only, so a value is read in linear time.
 */
#ifndef POSTERN_MIME_INT_H
#define POSTERN_MIME_INT_H

#include <stddef.h>
#include "mime.h"

/* The unread bytes of a value: p[0..e-p).  CR and LF read as blanks. */
struct lex {
	const unsigned char *p;
	const unsigned char *e;
};

static inline void
lex_init(struct lex *l, const struct mime_msg *m, struct mime_span v)
{
	l->p = m->buf + v.off;
	l->e = l->p + v.len;
}

/* Skips blanks, line ends and (nested) comments.  When cmt is not NULL it
 * gets the inner bytes of the last comment skipped (t NULL when none). */
struct lex_text {
	const unsigned char *t;
	size_t n;
};
void lex_cfws(struct lex *l, struct lex_text *cmt);

/* An RFC 2045 token (any byte above SP but tspecials and DEL): 1, or 0
 * when none is there (nothing read). */
int lex_token(struct lex *l, struct lex_text *t);

/* At '"': the inner bytes of a quoted string, quoted-pairs still escaped;
 * an unterminated one runs to the end.  1, or 0 when not at '"'. */
int lex_quoted(struct lex *l, struct lex_text *t);

/* t with its quoted-pairs undone (and NUL, CR, LF left out), to out. */
void lex_unescape(const struct lex_text *t, struct ibuf *out);

/* One "; name=value" of a parameter list.  val is a token, or the inner
 * bytes of a quoted string (quoted 1).  Malformed ones are skipped. */
struct mime_param {
	struct lex_text name;
	struct lex_text val;
	int quoted;
};
int lex_param(struct lex *l, struct mime_param *p);

/* Case-insensitive comparison of t with the NUL terminated s. */
int text_is(const struct lex_text *t, const char *s);

#endif
