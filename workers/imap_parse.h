/*
 * IMAP command parsing (RFC 3501 9 formal syntax, RFC 7888 LITERAL-),
 * kept apart from the session so that every byte a client sends is checked
 * by code that the unit tests and the fuzz target drive directly.  No I/O.
 *
 * A command is fed to one struct imap_cmd in steps, as the session reads:
 *
 *   imap_cmd_reset(c, line_max)
 *   r = imap_cmd_line(c, line, len)        first line, CRLF included
 *   loop:
 *     IMAP_DONE     the command is complete and its arguments valid:
 *                   c->verb, c->uid, c->tag and c->a (struct imap_args)
 *     IMAP_LITERAL  the line ended with {N} or {N+}: c->lit_size,
 *                   c->lit_sync, c->lit_message (APPEND's message).  The
 *                   session checks N against its limits BEFORE any "+";
 *                   to refuse: r = imap_cmd_refuse(c, code, why).  To take
 *                   it: "+ ..." if c->lit_sync, then either
 *                   r = imap_cmd_literal(c, bytes, n) (in pieces if it
 *                   likes; the parser keeps them) or, for the message,
 *                   stream the N bytes elsewhere and
 *                   r = imap_cmd_literal_external(c)
 *     IMAP_NEXT_LINE  the literal is complete: read the next line and
 *                   r = imap_cmd_line(c, line, len)
 *     IMAP_DISCARD  the command is refused: read and throw away
 *                   c->discard bytes (a literal the client sends without
 *                   waiting; the session may hang up instead when that is
 *                   more than it cares to read), then read the next line
 *                   and r = imap_cmd_line(c, line, len): it belongs to the
 *                   refused command and is never run
 *     IMAP_ERROR    refused and over: "TAG BAD [c->code] c->why", TAG
 *                   being c->tag ("*" when the line had no valid tag)
 *
 * AUTHENTICATE's continuation lines (base64, or "*" to cancel) and IDLE's
 * "DONE" (imap_idle_done()) are read by the session, not fed here.
 *
 * A line longer than the limit is never passed whole: the session throws it
 * away up to its LF, keeping its first and last bytes, and calls
 * imap_cmd_overlong() (the tag comes from the head, a trailing literal
 * announcement from the tail, so a {N+} after a long line is discarded too,
 * never run as commands).
 *
 * Rules:
 *  - a line ends with CRLF; a NUL, a bare CR or a bare LF voids it;
 *  - tokens are separated by exactly one SP; no leading or trailing SP;
 *  - atoms are 7-bit; a quoted string takes the escapes \\ and \" only, and
 *    8-bit bytes only as valid UTF-8 (RFC 6855 style); literals are
 *    CHAR8 (no NUL) and end their line;
 *  - lists nest to IMAP_NEST_MAX_COUNT, a command has at most
 *    IMAP_TOKENS_MAX_COUNT tokens and IMAP_CMD_MAX_BYTES bytes;
 *  - BODY[...] and BODY.PEEK[...] are one atom, spaces and parentheses of
 *    the section included (a HEADER.FIELDS list); the FETCH parser reads it.
 */
#ifndef POSTERN_IMAP_PARSE_H
#define POSTERN_IMAP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "../privsep/params.h"

enum imap_verb {
	IV_NONE = 0,
	IV_CAPABILITY, IV_NOOP, IV_LOGOUT, IV_STARTTLS, IV_AUTHENTICATE,
	IV_LOGIN, IV_SELECT, IV_EXAMINE, IV_CREATE, IV_DELETE, IV_RENAME,
	IV_SUBSCRIBE, IV_UNSUBSCRIBE, IV_LIST, IV_LSUB, IV_STATUS, IV_APPEND,
	IV_CHECK, IV_CLOSE, IV_EXPUNGE, IV_SEARCH, IV_FETCH, IV_STORE,
	IV_COPY, IV_IDLE, IV_MOVE, IV_UNSELECT, IV_NAMESPACE, IV_ID,
	IV_ENABLE,
	IV_VERB_MAX
};

enum imap_step {
	IMAP_DONE = 0,
	IMAP_LITERAL,
	IMAP_NEXT_LINE,
	IMAP_DISCARD,
	IMAP_ERROR,
};

/* What went wrong, for the session's counting (max-bad-commands) and
 * logs; c->why says it for the client. */
enum imap_err {
	IE_OK = 0,
	IE_SYNTAX,       /* the grammar of RFC 3501 */
	IE_UNKNOWN,      /* not a command we know (or not under UID) */
	IE_ARGS,         /* the command's arguments: count or kind */
	IE_LINELONG,     /* a line over the limit */
	IE_TOOBIG,       /* a literal or the whole command over a limit */
	IE_LIMIT,        /* tokens, nesting, ranges, sections over a bound */
	IE_REFUSED,      /* the session refused the literal */
};

enum imap_tok {
	IT_ATOM = 1,     /* an atom, NIL, a flag (\Seen), BODY[...]<...> */
	IT_QUOTED,       /* a quoted string, unescaped */
	IT_LITERAL,      /* a literal: its bytes, or external (APPEND) */
	IT_LIST,         /* ( ... ) */
};

/*
 * One token.  Node 0 is the implicit list of the command's arguments (after
 * the command name, and the sub-command of UID); children are linked by
 * index (-1 ends).  A string's text is NUL-terminated and contains no NUL
 * (imap_text()); an external literal has no text, only its length.
 */
struct imap_node {
	uint8_t kind;             /* enum imap_tok */
	uint8_t external;         /* IT_LITERAL taken by the session */
	uint16_t depth;           /* 0 for node 0, 1 for an argument */
	uint32_t len;             /* string bytes; for a list, its children */
	uint32_t off;             /* the text in the arena */
	int32_t child;            /* a list's first child, or -1 */
	int32_t last;             /* a list's last child, or -1 */
	int32_t next;             /* the next sibling, or -1 */
};

/* A sequence set's range: lo and hi as written (4:1 stays 4:1), each a
 * number >= 1 or IMAP_SEQ_STAR for "*".  "5" is 5:5. */
#define IMAP_SEQ_STAR 0u
struct imap_seqrange {
	uint32_t lo, hi;
};

/* System flags (bits of struct imap_flags.sys). */
#define IMAP_F_ANSWERED 0x01u
#define IMAP_F_FLAGGED  0x02u
#define IMAP_F_DELETED  0x04u
#define IMAP_F_SEEN     0x08u
#define IMAP_F_DRAFT    0x10u

/* A flag list of STORE or APPEND: system flags and keywords (as written;
 * keywords compare case-insensitively). */
struct imap_flags {
	uint32_t sys;
	size_t nkw;
	const char *kw[IMAP_FLAG_KEYWORDS_MAX_COUNT];
};

enum imap_store_op { IMAP_STORE_SET = 1, IMAP_STORE_ADD, IMAP_STORE_REMOVE };

struct imap_store {
	enum imap_store_op op;    /* FLAGS, +FLAGS, -FLAGS */
	int silent;               /* .SILENT */
	struct imap_flags flags;
};

/* FETCH attributes without a section (bits of struct imap_fetch.atts). */
#define IMAP_FA_FLAGS          0x001u
#define IMAP_FA_INTERNALDATE   0x002u
#define IMAP_FA_RFC822_SIZE    0x004u
#define IMAP_FA_ENVELOPE       0x008u
#define IMAP_FA_BODY           0x010u   /* BODY: non-extensible structure */
#define IMAP_FA_BODYSTRUCTURE  0x020u
#define IMAP_FA_UID            0x040u
#define IMAP_FA_RFC822         0x080u   /* = BODY[], sets \Seen */
#define IMAP_FA_RFC822_HEADER  0x100u   /* = BODY.PEEK[HEADER] */
#define IMAP_FA_RFC822_TEXT    0x200u   /* = BODY[TEXT], sets \Seen */

enum imap_sec_spec {
	IMAP_SEC_ALL = 0,         /* BODY[] or BODY[1.2]: the whole part */
	IMAP_SEC_HEADER,
	IMAP_SEC_HEADER_FIELDS,
	IMAP_SEC_HEADER_FIELDS_NOT,
	IMAP_SEC_MIME,            /* only after a part number */
	IMAP_SEC_TEXT,
};

struct imap_str {
	const char *s;            /* not NUL-terminated */
	size_t len;
};

/* One BODY[section]<partial> or BODY.PEEK[...]. */
struct imap_section {
	int peek;
	size_t nparts;
	uint32_t part[IMAP_SECTION_PARTS_MAX_COUNT];  /* 1.2.3 */
	enum imap_sec_spec spec;
	size_t nfields;           /* HEADER.FIELDS[.NOT] names (ftext) */
	struct imap_str field[IMAP_FETCH_FIELDS_MAX_COUNT];
	int partial;              /* <origin.count> given */
	uint32_t origin, count;   /* count >= 1 */
	struct imap_str text;     /* between [ and ], for the response */
};

struct imap_fetch {
	uint32_t atts;            /* IMAP_FA_*; macros expanded */
	size_t nsec;
	struct imap_section sec[IMAP_FETCH_SECTIONS_MAX_COUNT];
};

/* STATUS items (bits of struct imap_args.status). */
#define IMAP_ST_MESSAGES    0x01u
#define IMAP_ST_RECENT      0x02u
#define IMAP_ST_UIDNEXT     0x04u
#define IMAP_ST_UIDVALIDITY 0x08u
#define IMAP_ST_UNSEEN      0x10u

/*
 * A command's arguments, checked for its shape.  Strings point into the
 * command (valid until the next imap_cmd_reset()) and are NUL-free and
 * NUL-terminated; node indexes are -1 when absent.
 */
struct imap_args {
	/* AUTHENTICATE: mechanism, SASL-IR initial response ("=" is empty) */
	const char *mech, *ir;
	/* LOGIN */
	const char *user, *pass;
	size_t user_len, pass_len;
	/* SELECT EXAMINE CREATE DELETE RENAME(from) SUBSCRIBE UNSUBSCRIBE
	 * STATUS APPEND COPY MOVE: the mailbox as sent (modified UTF-7) */
	const char *mailbox;
	size_t mailbox_len;
	const char *mailbox2;     /* RENAME: the new name */
	size_t mailbox2_len;
	/* LIST LSUB: reference and pattern(s) (node: an astring or, for
	 * LIST, a list of them), RFC 5258 selection and return options
	 * (list nodes of atoms) */
	const char *ref;
	int pattern;
	int list_select, list_return;
	/* STATUS */
	uint32_t status;
	/* APPEND: flags (all zero when absent), date (has_date, UTC seconds),
	 * the message literal node (external when the session took it) */
	struct imap_flags flags;
	int has_date;
	int64_t date;
	int message;
	/* SEARCH: the CHARSET (NULL when absent) and the first key node; the
	 * keys are siblings from there on */
	const char *charset;
	int search_key;
	/* FETCH STORE COPY MOVE, UID EXPUNGE */
	size_t nseq;
	const struct imap_seqrange *seq;
	/* FETCH */
	struct imap_fetch fetch;
	/* STORE */
	struct imap_store store;
	/* ID: the list node of field/value pairs, -1 for NIL */
	int id_list;
	/* ENABLE: the first capability atom (siblings follow) */
	int enable;
};

struct imap_cmd {
	/* results */
	char tag[IMAP_TAG_MAX_BYTES + 1];   /* "*" until a valid tag is seen */
	enum imap_verb verb;
	int uid;                  /* UID FETCH / STORE / ... */
	enum imap_err err;
	const char *why;          /* the reason, for BAD */
	const char *code;         /* a response code ("TOOBIG") or NULL */
	uint64_t discard;         /* IMAP_DISCARD: bytes to throw away */
	/* the pending literal (IMAP_LITERAL) */
	uint32_t lit_size;
	int lit_sync;
	int lit_message;          /* APPEND's message: the session takes it */
	struct imap_args a;

	/* parser state */
	size_t line_max;
	int phase;
	int nodes_used;
	int stack[IMAP_NEST_MAX_COUNT + 1];
	int depth;
	int need_sep;             /* after a token: SP, ) or the line end */
	int lit_node;
	uint32_t lit_have;
	size_t arena_used;
	char whybuf[128];
	struct imap_node node[IMAP_TOKENS_MAX_COUNT];
	struct imap_seqrange seqbuf[IMAP_SEQSET_MAX_COUNT];
	char arena[IMAP_CMD_MAX_BYTES];
};

/* A struct imap_cmd is big (about 900 KiB, touched as used): the session
 * allocates one and reuses it.  NULL when out of memory. */
struct imap_cmd *imap_cmd_new(void);
void imap_cmd_free(struct imap_cmd *c);

/* Starts a new command; line_max (CRLF included) is clamped to
 * [64, IMAP_CMD_MAX_BYTES]. */
void imap_cmd_reset(struct imap_cmd *c, size_t line_max);

/* Feeds a line, its CRLF included (the first, or one after a literal or a
 * discard). */
enum imap_step imap_cmd_line(struct imap_cmd *c, const char *line, size_t len);

/* A line over the limit: head and tail are its first and last bytes (the
 * tail with its CRLF; each may be short). */
enum imap_step imap_cmd_overlong(struct imap_cmd *c, const char *head,
    size_t headlen, const char *tail, size_t taillen);

/* Feeds (part of) the pending literal's bytes. */
enum imap_step imap_cmd_literal(struct imap_cmd *c, const char *data, size_t n);

/* The session took the pending literal's bytes itself (APPEND). */
enum imap_step imap_cmd_literal_external(struct imap_cmd *c);

/* The session refuses the pending literal (too big for it), before any
 * "+" for it: code may be NULL.  IMAP_ERROR for a synchronising literal
 * (nothing more comes), IMAP_DISCARD for a non-synchronising one or one
 * whose bytes were partly fed already (the rest is thrown away). */
enum imap_step imap_cmd_refuse(struct imap_cmd *c, const char *code,
    const char *why);

/* A node's text (NUL-terminated), "" for a list or an external literal. */
const char *imap_text(const struct imap_cmd *c, int node);

/* The i-th argument (0-based) of the command, or -1. */
int imap_arg(const struct imap_cmd *c, int i);

/* 1 when the node is an astring (atom of ASTRING-CHARs, quoted, inline
 * literal), a strict atom, NIL. */
int imap_is_astring(const struct imap_cmd *c, int node);
int imap_is_atom(const struct imap_cmd *c, int node);
int imap_is_nil(const struct imap_cmd *c, int node);

/* The keyword in upper case ("FETCH"), "?" when unknown. */
const char *imap_verb_name(enum imap_verb v);

/* A short text for an error class, for logs. */
const char *imap_err_text(enum imap_err e);

/*
 * A sequence set (RFC 3501 sequence-set): comma-separated numbers, "*" and
 * ranges "a:b" (either order), numbers 1..4294967295 without leading
 * zeros (nz-number).  Never expanded: up to cap ranges into out, *n gets
 * the count.  0 ok, -1 with *why.
 */
int imap_parse_seqset(const char *s, size_t len, struct imap_seqrange *out,
    size_t cap, size_t *n, const char **why);

/* A range made concrete for a mailbox whose largest number (message count
 * or largest UID) is max: "*" becomes max, and *lo <= *hi. */
void imap_seq_resolve(const struct imap_seqrange *r, uint32_t max,
    uint32_t *lo, uint32_t *hi);

/*
 * A FETCH argument: one item or macro (an atom node) or a list of items.
 * 0 ok, -1 with *why.  Section strings point into c.
 */
int imap_parse_fetch(const struct imap_cmd *c, int node, struct imap_fetch *f,
    const char **why);

/* One fetch item's text ("FLAGS", "BODY.PEEK[1.HEADER]<0.100>"). */
int imap_parse_fetch_att(const char *s, size_t len, struct imap_fetch *f,
    const char **why);

/* A flag list "(\Seen kw)" (a list node) or flags given as arguments from
 * node first on (STORE's form without parentheses).  \Recent and unknown
 * \flags are refused.  0 ok, -1 with *why. */
int imap_parse_flags(const struct imap_cmd *c, int node, int siblings,
    struct imap_flags *f, const char **why);

/* STORE's item: FLAGS +FLAGS -FLAGS, each with .SILENT.  0 ok, -1. */
int imap_parse_store_att(const char *s, struct imap_store *st);

/* An APPEND date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d") as
 * UTC seconds.  0 ok, -1. */
int imap_parse_datetime(const char *s, size_t len, int64_t *out);

/* 1 when the line (CRLF included) is IDLE's "DONE" (any case). */
int imap_idle_done(const char *line, size_t len);

#endif
