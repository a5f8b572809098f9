/*
 * SMTP command-line parsing: the verb, RFC 5321 paths and mailboxes
 * (4.1.2: quoted local parts, source routes accepted and ignored, address
 * literals), RFC 6531 UTF-8 addresses, and the ESMTP parameters of MAIL
 * (SIZE, BODY, SMTPUTF8) and RCPT (none).  Pure functions over a NUL
 * terminated line: no I/O, no allocation, so the fuzz target drives them
 * directly.
 *
 * Policy beyond the RFC (documented in smtp(8)-style terms here):
 *  - The characters ` | $ are refused anywhere in a path, quoted or not,
 *    although RFC 5322 atext allows them: no legitimate mail needs them
 *    and they are what shell-injection probes are made of (Exim's default
 *    ACL refuses '|' in local parts for the same reason).
 *  - Non-ASCII (UTF-8) addresses are parsed always and must be valid UTF-8
 *    (no overlongs, no surrogates, <= U+10FFFF); the session accepts them
 *    only in a transaction whose MAIL carried SMTPUTF8 (RFC 6531 3.4),
 *    otherwise 553 5.6.7.
 *  - "MAIL FROM: <a@b>" (spaces after the colon) is tolerated; the angle
 *    brackets are not optional.
 */
#ifndef POSTERN_SMTP_PARSE_H
#define POSTERN_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../privsep/params.h"

enum smtp_verb {
	V_NONE = 0,     /* unknown */
	V_HELO, V_EHLO, V_MAIL, V_RCPT, V_DATA, V_RSET, V_NOOP, V_QUIT,
	V_HELP, V_VRFY, V_EXPN, V_VERB, V_STARTTLS,
	V_MAX
};

const char *smtp_verb_name(enum smtp_verb v);

/*
 * Splits a command line (NUL terminated, no line ending) into its verb and
 * argument.  The verb is case-insensitive letters followed by SP or the end;
 * *arg points into line past the separating spaces, with trailing SP/HTAB
 * removed (line is modified); "" when there is none.  V_NONE when unknown.
 */
enum smtp_verb smtp_parse_verb(char *line, char **arg);

/* A parsed path. */
struct smtp_addr {
	bool null;                        /* <> */
	bool bare_postmaster;             /* <postmaster> without a domain */
	bool utf8;                        /* contains non-ASCII octets */
	char local[LIM_LOCAL + 1];        /* unquoted local part */
	char domain[LIM_DOMAIN + 1];      /* as written; "[...]" for literals */
	char text[LIM_PATH + 1];          /* local@domain as written, no <> */
};

/* Results of the address and parameter parsers. */
#define SP_OK          0
#define SP_SYNTAX     -1   /* the command's shape: 501 5.5.4 */
#define SP_BADADDR    -2   /* the address: 501 5.1.7 (MAIL) / 5.1.3 (RCPT) */
#define SP_UNKNOWN    -3   /* unknown parameter: 555 5.5.4 */
#define SP_BADPARAM   -4   /* malformed parameter: 501 5.5.4 */

/* smtp_parse_path_arg() flags */
#define PATH_NULL_OK        0x01   /* <> is allowed (MAIL) */
#define PATH_POSTMASTER_OK  0x02   /* <postmaster> is allowed (RCPT) */

/*
 * Parses "FROM:<path> [params]" (kw "FROM:") or "TO:<path> [params]"
 * (kw "TO:").  On SP_OK, *a is filled and *params points at the parameters
 * ("" when none).  SP_SYNTAX when the keyword is missing, SP_BADADDR when
 * the path is not an RFC 5321 path (or too long, or policy-refused).
 */
int smtp_parse_path_arg(char *arg, const char *kw, int flags,
    struct smtp_addr *a, char **params);

/* Parses "<path>" exactly (nothing after it). */
int smtp_parse_path(const char *s, int flags, struct smtp_addr *a, const char **end);

/*
 * VRFY / EXPN argument: "<path>", "local@domain" or a bare local part.
 * SP_OK with *a filled (domain "" for a bare local part) or SP_BADADDR.
 */
int smtp_parse_vrfy_arg(const char *s, struct smtp_addr *a);

/* HELO/EHLO argument: a domain or address literal, 1..255 printable
 * octets without spaces.  SP_OK or SP_SYNTAX. */
int smtp_parse_helo_arg(const char *s);

/* Parameters of MAIL FROM. */
enum smtp_body { BODY_NONE = 0, BODY_7BIT, BODY_8BITMIME };
struct smtp_mail_params {
	bool has_size;
	uint64_t size;                    /* UINT64_MAX when it overflowed */
	enum smtp_body body;
	bool smtputf8;
};

/*
 * Space-separated esmtp-params (RFC 5321 4.1.2).  SP_OK, SP_UNKNOWN for a
 * well-formed parameter we do not know (555), SP_BADPARAM for a malformed
 * one, a bad value, or a repeated one (501).  esmtp must be true when the
 * session started with EHLO; after HELO every parameter is SP_UNKNOWN.
 */
int smtp_parse_mail_params(char *s, bool esmtp, struct smtp_mail_params *p);
/* RCPT TO takes no parameters here (no DSN): "" is SP_OK. */
int smtp_parse_rcpt_params(char *s, bool esmtp);

/* Is s[0..n) valid UTF-8 (RFC 3629)? */
bool smtp_utf8_valid(const unsigned char *s, size_t n);

#endif
