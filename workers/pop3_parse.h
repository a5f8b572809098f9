/*
 * POP3 command parsing (RFC 1939, RFC 2449 section 4, RFC 5034), kept apart
 * from the session so that every byte a client sends is checked by code
 * that the unit tests and the fuzz target drive directly.
 *
 * Rules (popa3d protocol.c, RFC 2449 4):
 *  - a command line is at most LIM_POP3_CMDLINE octets with its CRLF; a
 *    bare LF ending is accepted (people type commands by hand);
 *  - a NUL, a bare CR or any other control byte voids the line;
 *  - the keyword is 3 or 4 letters, matched case-insensitively;
 *  - keyword and arguments are separated by single spaces; an empty
 *    argument (two spaces, a trailing space) is a syntax error;
 *  - an argument is at most LIM_POP3_ARG octets, except the password of
 *    PASS (the rest of the line, spaces included, RFC 1939 7) and the
 *    initial response of AUTH (RFC 5034 4: up to the line limit);
 *  - numbers are decimal digits only, no sign, no spaces, in range.
 */
#ifndef POSTERN_POP3_PARSE_H
#define POSTERN_POP3_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "../privsep/params.h"

enum pop3_verb {
	P3_NONE = 0,
	P3_USER, P3_PASS, P3_APOP, P3_AUTH, P3_STLS, P3_CAPA, P3_QUIT,
	P3_STAT, P3_LIST, P3_RETR, P3_DELE, P3_NOOP, P3_RSET, P3_TOP,
	P3_UIDL,
	P3_VERB_MAX
};

/* pop3_parse_line() results */
enum pop3_perr {
	P3E_OK = 0,
	P3E_EMPTY,       /* nothing on the line */
	P3E_CTRL,        /* NUL, bare CR or another control byte */
	P3E_UNKNOWN,     /* not a keyword we know */
	P3E_SYNTAX,      /* wrong number of arguments, empty argument */
	P3E_ARGLONG,     /* an argument longer than allowed */
	P3E_LINELONG,    /* the line is longer than LIM_POP3_CMDLINE */
};

#define P3_MAXARGS   2
/* The longest single argument we keep: the AUTH initial response and the
 * PASS password may use the whole line. */
#define P3_ARGBUF    LIM_POP3_CMDLINE

/* An AUTH continuation line (base64 of authzid NUL authcid NUL password). */
#define P3_SASL_LINE 1024

struct pop3_cmd {
	enum pop3_verb verb;
	int nargs;
	char arg[P3_MAXARGS][P3_ARGBUF];
};

/*
 * Parses one command line (without its line ending; len may count NUL
 * bytes inside).  On P3E_OK *cmd is filled.  For P3E_SYNTAX and
 * P3E_ARGLONG cmd->verb is already set, so the session can name the
 * command in its answer.
 */
enum pop3_perr pop3_parse_line(const char *line, size_t len, struct pop3_cmd *cmd);

/* The keyword of a verb in upper case ("RETR"), "?" when unknown. */
const char *pop3_verb_name(enum pop3_verb v);

/* A short text for a parse error, for the -ERR line. */
const char *pop3_perr_text(enum pop3_perr e);

/*
 * A strict decimal number: 1..10 digits (leading zeros allowed within the
 * argument length), no sign, no space, value in [min, max].  0 ok, -1 not.
 */
int pop3_parse_num(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/*
 * Strict base64 (RFC 4648 4): the standard alphabet, length a multiple of
 * 4, '=' only as the final one or two characters, unused bits zero, no
 * whitespace.  Decodes into out[outsz]; returns the decoded length, or -1.
 * "=" alone is the empty response of RFC 5034 and decodes to 0 bytes.
 */
long pop3_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outsz);

/*
 * A SASL PLAIN message (RFC 4616): authzid NUL authcid NUL passwd.
 * authcid 1..LIM_NAME octets, passwd 1..LIM_PASSWORD-1 octets, neither
 * with a NUL; authzid empty or equal to authcid (we do not let one user
 * act as another).  0 ok, -1 malformed.
 */
int pop3_sasl_plain(const unsigned char *msg, size_t len,
    char user[LIM_NAME + 1], char pass[LIM_PASSWORD]);

#endif
