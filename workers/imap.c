/*
 * The IMAP session (RFC 3501 IMAP4rev1; RFC 2595 STARTTLS and
 * LOGINDISABLED, RFC 4959 SASL-IR, RFC 7888 LITERAL-, RFC 2971 ID, RFC
 * 5161 ENABLE, RFC 2342 NAMESPACE, RFC 3348 CHILDREN, RFC 6154
 * SPECIAL-USE, RFC 5530 response codes).  One session per call; the worker
 * frame (worker.c) accepts, hands us the connection and recycles the
 * process.
 *
 * Like POP3 the worker never sees a mailbox file or a password hash: the
 * store verifies the password (MSG_IMAP_AUTH) and keeps the account's
 * folder table; the worker turns folder names between modified UTF-7 on
 * the wire and UTF-8 in the store (mutf7.c) and matches LIST patterns
 * over the table the store lists (imap_list.c).
 *
 * Every byte a client sends goes through imap_parse.c first: the session
 * reads a line (the limit is 8 KiB before login, imap-max-line-length
 * after), feeds it to the parser and acts on its step: a literal is
 * checked before any "+", a refused command's literal is read and thrown
 * away (never run), an over-long line is skipped to its end with its tag
 * and a trailing literal announcement kept (conn.c), so nothing a client
 * sends can desynchronise the session.
 *
 * The selected state is a view the store keeps for this channel (msg.h
 * "IMAP views"): SELECT/EXAMINE copy its messages' UIDs, flags, sizes and
 * dates into im->view; FETCH asks the store for the bytes it needs
 * (headers only when the items allow) in batches and builds each
 * response in imap_fetch.c; NOOP, CHECK and IDLE ask for what changed
 * (VIEW_SYNC) and send EXPUNGE / EXISTS / FETCH FLAGS, never during
 * FETCH (RFC 3501 7.4.1).  IDLE waits on the client and on the store's
 * unasked MSG_CHANGED at once.
 *
 * STORE, EXPUNGE, COPY and MOVE go to the store by UID, in batches of
 * IMAP_FETCH_BATCH_MAX_COUNT; the view is updated from the store's
 * answers (the flags each message has now, the UIDs expunged).  SEARCH
 * compiles its keys once (imap_search.c) and asks the store only for the
 * messages the view cannot decide.  A FETCH of a body (not PEEK) in a
 * read-write view sets \Seen first, and says so with FLAGS.
 */
#include <errno.h>
#include <poll.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../privsep/event.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/params.h"
#include "../privsep/util.h"
#include "conn.h"
#include "imap_fetch.h"
#include "imap_list.h"
#include "imap_parse.h"
#include "imap_search.h"
#include "mutf7.h"
#include "pop3_parse.h"
#include "storecli.h"
#include "tls.h"
#include "tlsio.h"
#include "worker.h"

/* RFC 6154 special uses, in the bit order of store/foldertab.h FU_* */
static const char *const use_attr[] = {
	"\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive",
};

/* A folder name decoded to UTF-8, NUL included: the longest the store's
 * table may hold (max-folder-name-length at most) */
#define IMAP_NAME_BUF (FOLDER_NAME_CEIL_BYTES + 1)

enum imap_state {
	IS_NOTAUTH = 0x1,
	IS_AUTH = 0x2,
	IS_SELECTED = 0x4,
};

struct imap {
	struct session *s;
	struct conn *c;
	struct imap_cmd *cmd;
	enum imap_state state;
	int timeout;                    /* autologout, ms */
	bool done;
	const char *end;                /* how it ended, for the log */
	char account[LIM_NAME + 1];
	uint32_t auth_failures, bad_commands, last_delay_ms;
	uint32_t commands;
	char *line;                     /* one command line, CRLF included */
	size_t linesz;
	/* the selected folder */
	struct sc_view view;
	bool readonly;
	char selected[IMAP_NAME_BUF];   /* UTF-8, for logs */
	uint32_t fetched;
	int append_fd;                  /* APPEND's message, sealed; -1 none */
	bool refused_no;                /* the refused literal is a NO, not BAD */
};

/* ---------------------------------------------------------------- output */

static void out(struct imap *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queues one response line, CRLF added; failures stick in c->error. */
static void
out(struct imap *im, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vline(im->c, im->timeout, fmt, ap);
	va_end(ap);
}

/* Raw bytes (a long LIST line is written in pieces). */
static void
out_raw(struct imap *im, const char *p, size_t n)
{
	conn_queue(im->c, im->timeout, p, n);
}

/* A folder name (UTF-8) as the client sees it: modified UTF-7 in a quoted
 * string.  -1 (logged) when it cannot be encoded. */
static int
add_mailbox(struct imap *im, struct ibuf *b, const char *name)
{
	char wire[FOLDER_NAME_CEIL_BYTES * 3 + 1];
	const char *why = NULL;

	if (mutf7_encode(name, strlen(name), wire, sizeof(wire), &why) < 0) {
		log_warnx("imap %s: folder name not encodable: %s", im->s->sessid,
		    why ? why : "?");
		return -1;
	}
	ib_string(b, wire, strlen(wire));   /* printable ASCII: always quoted */
	return 0;
}

/* Sends what b holds, unless it passed its bound; frees it. */
static void
out_ibuf(struct imap *im, struct ibuf *b)
{
	if (!ib_failed(b))
		out_raw(im, (const char *)b->p, b->len);
	ib_free(b);
}

static void
finish(struct imap *im, const char *how)
{
	if (!im->done) {
		im->done = true;
		im->end = how;
	}
}

/* The store's text for a NO, made safe for a response line. */
static void
clean_text(char *t)
{
	for (char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	if (t[0] == '\0')
		strlcpy_(t, "failed", 8);
}

/* ---------------------------------------------------------- capabilities */

static bool
starttls_offered(const struct imap *im)
{
	return im->s->conf->tls_cert[0] != '\0' && !im->s->tls &&
	    im->state == IS_NOTAUTH;
}

/* The capability list as this state has it (RFC 3501 7.2.1: it may change
 * at login and after STARTTLS). */
static void
capabilities(const struct imap *im, char *buf, size_t size)
{
	bool pre = im->state == IS_NOTAUTH;
	bool plain = session_plaintext_ok(im->s);

	(void)bsnprintf(buf, size, "IMAP4rev1 LITERAL- ID ENABLE%s%s%s%s",
	    pre && starttls_offered(im) ? " STARTTLS" : "",
	    pre && !plain ? " LOGINDISABLED" : "",
	    pre && plain ? " AUTH=PLAIN SASL-IR" : "",
	    pre ? "" : " NAMESPACE CHILDREN SPECIAL-USE IDLE UNSELECT UIDPLUS MOVE");
}

/* ----------------------------------------------------- connection events */

static void
conn_failed(struct imap *im, int r)
{
	switch (r) {
	case CONN_SHUTDOWN:
		out(im, "* BYE [UNAVAILABLE] Server shutting down");
		finish(im, "shutdown");
		break;
	case CONN_TIMEOUT:
		out(im, "* BYE Autologout; idle for too long");
		finish(im, "timeout");
		break;
	case CONN_EOF:
		finish(im, "disconnected");
		break;
	default:
		finish(im, "i/o error");
		break;
	}
}

/* BAD, counted toward max-bad-commands. */
static void
bad(struct imap *im, const char *tag, const char *code, const char *text)
{
	out(im, "%s BAD %s%s%s%s", tag, code ? "[" : "", code ? code : "",
	    code ? "] " : "", text);
	if (++im->bad_commands >= im->s->conf->max_bad_commands) {
		out(im, "* BYE Too many invalid commands");
		finish(im, "too many bad commands");
	}
}

/* ------------------------------------------------------------------ login */

static bool
login_delay(struct imap *im, uint32_t ms)
{
	if (ms > POP3_LOGIN_DELAY_MAX_MS)
		ms = POP3_LOGIN_DELAY_MAX_MS;
	im->last_delay_ms = ms;
	return conn_pause(im->c, ms, im->timeout);
}

static void
auth_failed(struct imap *im, const char *tag)
{
	uint32_t max = im->s->conf->max_auth_failures;

	im->auth_failures++;
	ev_send(EV_LOGIN_FAIL, 0, 1, NULL);
	out(im, "%s NO [AUTHENTICATIONFAILED] Authentication failed.", tag);
	if (max > 0 && im->auth_failures >= max) {
		out(im, "* BYE Too many invalid authentication attempts");
		finish(im, "too many auth failures");
	}
}

/* Asks the store to verify user/pass (wiped here) and answers. */
static void
login(struct imap *im, const char *tag, const char *user, char *pass)
{
	char account[LIM_NAME + 1], caps[256];
	uint32_t status, delay;
	int r;

	if (user[0] == '\0' || pass[0] == '\0' || strlen(user) > LIM_NAME ||
	    strlen(pass) > LIM_PASSWORD) {
		/* cannot be an account: the store's last delay, its text */
		explicit_bzero(pass, strlen(pass));
		if (!login_delay(im, im->last_delay_ms)) {
			conn_failed(im, CONN_SHUTDOWN);
			return;
		}
		auth_failed(im, tag);
		return;
	}
	r = sc_imap_auth(im->s, user, pass, &status, &delay, account);
	if (r == SC_UNAVAILABLE) {
		log_warnx("imap %s: store unavailable for LOGIN", im->s->sessid);
		ev_send(EV_TEMPFAIL, TF_STORE_UNAVAILABLE, 1, NULL);
		out(im, "* BYE [UNAVAILABLE] Mail store unavailable, try again later");
		finish(im, "store unavailable");
		return;
	}
	if (!login_delay(im, delay)) {
		conn_failed(im, CONN_SHUTDOWN);
		return;
	}
	if (r < 0 || status == AUTH_TEMP || status == AUTH_INUSE) {
		ev_send(EV_TEMPFAIL, TF_STORE_ERROR, 1, NULL);
		out(im, "%s NO [UNAVAILABLE] Temporary authentication failure, "
		    "try again later", tag);
		return;
	}
	if (status == AUTH_TOO_MANY) {
		log_info("imap %s: client=%s user=%s too many sessions", im->s->sessid,
		    im->s->client, user);
		out(im, "%s NO [UNAVAILABLE] Maximum number of connections from user+IP "
		    "exceeded (max-sessions-per-user=%u)", tag,
		    im->s->conf->imap_max_sessions_per_user);
		return;
	}
	if (status == AUTH_LOGIN_DELAY) {
		log_info("imap %s: client=%s user=%s login-delay not over",
		    im->s->sessid, im->s->client, user);
		out(im, "%s NO [UNAVAILABLE] Wait %u seconds between logins", tag,
		    im->s->conf->login_delay_s);
		return;
	}
	if (status != AUTH_OK) {
		log_info("imap %s: client=%s user=%s login failed",
		    im->s->sessid, im->s->client, user);
		auth_failed(im, tag);
		return;
	}
	strlcpy_(im->account, account, sizeof(im->account));
	im->state = IS_AUTH;
	ev_send(EV_LOGIN_OK, 0, 1, im->account);
	log_debug("imap %s: %s logged in", im->s->sessid, im->account);
	capabilities(im, caps, sizeof(caps));
	out(im, "%s OK [CAPABILITY %s] Logged in", tag, caps);
}

/* The client's line after a "+" (AUTHENTICATE), without its CRLF, into
 * buf.  0, or -1 when the command is over (answered, or the session). */
static int
sasl_read(struct imap *im, const char *tag, char *buf, size_t size)
{
	size_t len;
	int flags, r;

	out(im, "+ ");
	if ((r = conn_flush(im->c, im->timeout)) != CONN_OK) {
		conn_failed(im, r);
		return -1;
	}
	r = conn_readline(im->c, buf, size, &len, &flags, im->timeout);
	if (r == CONN_TOOLONG) {
		bad(im, tag, NULL, "Authentication response too long");
		return -1;
	}
	if (r != CONN_OK) {
		conn_failed(im, r);
		return -1;
	}
	if (!(flags & LINE_CRLF) || (flags & (LINE_NUL | LINE_BARE_CR)) ||
	    len != strlen(buf)) {
		bad(im, tag, NULL, "Malformed authentication response");
		return -1;
	}
	if (strcmp(buf, "*") == 0) {   /* RFC 3501 6.2.2: BAD */
		bad(im, tag, NULL, "Authentication cancelled");
		return -1;
	}
	return 0;
}

static bool
plaintext_refused(struct imap *im, const char *tag)
{
	if (session_plaintext_ok(im->s))
		return false;
	out(im, "%s NO [PRIVACYREQUIRED] Plaintext authentication disallowed on "
	    "non-TLS connections; use STARTTLS", tag);
	return true;
}

static void
do_login(struct imap *im, struct imap_cmd *c)
{
	char user[LIM_NAME + 2], pass[LIM_PASSWORD + 2];

	if (plaintext_refused(im, c->tag))
		return;
	/* one byte more than allowed: login() sees the excess and fails it */
	strlcpy_(user, c->a.user, sizeof(user));
	strlcpy_(pass, c->a.pass, sizeof(pass));
	explicit_bzero((char *)c->a.pass, c->a.pass_len);
	login(im, c->tag, user, pass);
	explicit_bzero(pass, sizeof(pass));
}

static void
do_authenticate(struct imap *im, struct imap_cmd *c)
{
	char line[P3_SASL_LINE];
	unsigned char dec[P3_SASL_LINE];
	char user[LIM_NAME + 1], pass[LIM_PASSWORD];
	const char *resp;
	long n;

	if (strcasecmp(c->a.mech, "PLAIN") != 0) {
		out(im, "%s NO [CANNOT] Unsupported authentication mechanism", c->tag);
		return;
	}
	if (plaintext_refused(im, c->tag))
		return;
	if (c->a.ir != NULL)
		resp = c->a.ir;
	else {
		if (sasl_read(im, c->tag, line, sizeof(line)) < 0)
			goto out;
		resp = line;
	}
	n = pop3_b64_decode(resp, strlen(resp), dec, sizeof(dec));
	if (n < 0 || pop3_sasl_plain(dec, (size_t)n, user, pass) < 0) {
		bad(im, c->tag, NULL, "Malformed PLAIN response");
		goto out;
	}
	login(im, c->tag, user, pass);
out:
	if (c->a.ir != NULL)
		explicit_bzero((char *)c->a.ir, strlen(c->a.ir));
	explicit_bzero(line, sizeof(line));
	explicit_bzero(dec, sizeof(dec));
	explicit_bzero(pass, sizeof(pass));
}

static void
do_starttls(struct imap *im, struct imap_cmd *c)
{
	char ok[IMAP_TAG_MAX_BYTES + 40], no[IMAP_TAG_MAX_BYTES + 64];

	if (!starttls_offered(im)) {
		bad(im, c->tag, NULL, "STARTTLS not available");
		return;
	}
	(void)bsnprintf(ok, sizeof(ok), "%s OK Begin TLS negotiation now\r\n", c->tag);
	(void)bsnprintf(no, sizeof(no), "%s NO [UNAVAILABLE] TLS not available\r\n",
	    c->tag);
	/* commands pipelined after STARTTLS are thrown away (RFC 3501 6.2.1) */
	(void)session_starttls(im->s, "STARTTLS", no, ok);
}

/* ----------------------------------------------------- any-state commands */

static void
do_capability(struct imap *im, struct imap_cmd *c)
{
	char caps[256];

	capabilities(im, caps, sizeof(caps));
	out(im, "* CAPABILITY %s", caps);
	out(im, "%s OK CAPABILITY completed", c->tag);
}

static void
do_logout(struct imap *im, struct imap_cmd *c)
{
	out(im, "* BYE Logging out");
	out(im, "%s OK LOGOUT completed", c->tag);
	finish(im, "logout");
}

static void
do_id(struct imap *im, struct imap_cmd *c)
{
	/* RFC 2971: the server's name only; no version for a scanner */
	out(im, "* ID (\"name\" \"postern\")");
	out(im, "%s OK ID completed", c->tag);
}

static void
do_enable(struct imap *im, struct imap_cmd *c)
{
	/* nothing of RFC 5161's list is served yet (CONDSTORE, UTF8=ACCEPT):
	 * an empty ENABLED says so, as the RFC asks */
	out(im, "* ENABLED");
	out(im, "%s OK ENABLE completed", c->tag);
}

static void
do_namespace(struct imap *im, struct imap_cmd *c)
{
	out(im, "* NAMESPACE ((\"\" \"/\")) NIL NIL");
	out(im, "%s OK NAMESPACE completed", c->tag);
}

/* --------------------------------------------------------------- folders */

/* The client's mailbox name (modified UTF-7) as UTF-8 in out; INBOX in
 * any case is "INBOX".  0, or -1 answered (BAD). */
static int
folder_arg(struct imap *im, const char *tag, const char *name, size_t len,
    char *outbuf, size_t outsz)
{
	const char *why = NULL;

	if (mutf7_decode(name, len, outbuf, outsz, &why) < 0) {
		char text[160];

		(void)bsnprintf(text, sizeof(text), "Invalid mailbox name: %s",
		    why ? why : "not modified UTF-7");
		bad(im, tag, NULL, text);
		return -1;
	}
	return 0;
}

/* The NO / OK of a store status for a folder command. */
static void
folder_answer(struct imap *im, const char *tag, const char *what, int r,
    uint32_t status, char *text)
{
	const char *code;

	if (r == SC_UNAVAILABLE) {
		ev_send(EV_TEMPFAIL, TF_STORE_UNAVAILABLE, 1, NULL);
		out(im, "* BYE [UNAVAILABLE] Mail store unavailable, try again later");
		finish(im, "store unavailable");
		return;
	}
	if (r < 0)
		status = STORE_TEMPFAIL;
	switch (status) {
	case STORE_OK:
		out(im, "%s OK %s completed", tag, what);
		return;
	case STORE_NOSUCH:   code = "NONEXISTENT"; break;
	case STORE_EXISTS:   code = "ALREADYEXISTS"; break;
	case STORE_LIMIT:    code = "LIMIT"; break;
	case STORE_QUOTA:    code = "OVERQUOTA"; break;
	case STORE_CANNOT:
	case STORE_BADMSG:   code = "CANNOT"; break;
	default:
		ev_send(EV_TEMPFAIL, TF_STORE_ERROR, 1, NULL);
		strlcpy_(text, "Temporary failure, try again later", 64);
		code = "UNAVAILABLE";
		break;
	}
	clean_text(text);
	out(im, "%s NO [%s] %s", tag, code, text);
}

static void
folder_op(struct imap *im, struct imap_cmd *c, uint32_t type, const char *what,
    uint32_t on)
{
	char name[IMAP_NAME_BUF], name2[IMAP_NAME_BUF];
	char text[LIM_LOGLINE];
	uint32_t status = STORE_TEMPFAIL;
	size_t n;
	int r;

	if (folder_arg(im, c->tag, c->a.mailbox, c->a.mailbox_len, name, sizeof(name)) < 0)
		return;
	name2[0] = '\0';
	if (type == MSG_FOLDER_RENAME && folder_arg(im, c->tag, c->a.mailbox2,
	    c->a.mailbox2_len, name2, sizeof(name2)) < 0)
		return;
	/* RFC 3501 6.3.3: a trailing separator says the name will have
	 * children; the folder made is the name without it */
	if (type == MSG_FOLDER_CREATE && (n = strlen(name)) > 1 && name[n - 1] == '/')
		name[n - 1] = '\0';
	text[0] = '\0';
	r = sc_folder_op(im->s, type, name, name2, on, &status, text, sizeof(text));
	folder_answer(im, c->tag, what, r, status, text);
}

static void
do_create(struct imap *im, struct imap_cmd *c)
{
	folder_op(im, c, MSG_FOLDER_CREATE, "CREATE", 0);
}

static void
do_delete(struct imap *im, struct imap_cmd *c)
{
	folder_op(im, c, MSG_FOLDER_DELETE, "DELETE", 0);
}

static void
do_rename(struct imap *im, struct imap_cmd *c)
{
	folder_op(im, c, MSG_FOLDER_RENAME, "RENAME", 0);
}

static void
do_subscribe(struct imap *im, struct imap_cmd *c)
{
	folder_op(im, c, MSG_FOLDER_SUBSCRIBE, "SUBSCRIBE", 1);
}

static void
do_unsubscribe(struct imap *im, struct imap_cmd *c)
{
	folder_op(im, c, MSG_FOLDER_SUBSCRIBE, "UNSUBSCRIBE", 0);
}

static void
attr_add(char *attrs, size_t size, const char *a)
{
	size_t n = strlen(attrs);

	(void)bsnprintf(attrs + n, size - n, "%s%s", n ? " " : "", a);
}

/* One "* LIST (attrs) "/" name" line. */
static void
list_line(struct imap *im, const char *verb, const struct sc_folder *f, bool lsub)
{
	char attrs[128];
	struct ibuf b;

	/* at most four attributes of at most 15 bytes: attrs cannot overflow */
	attrs[0] = '\0';
	if (f->attrs & FA_NOSELECT)
		attr_add(attrs, sizeof(attrs), "\\Noselect");
	if (!lsub)
		attr_add(attrs, sizeof(attrs),
		    (f->attrs & FA_HASCHILDREN) ? "\\HasChildren" : "\\HasNoChildren");
	for (size_t i = 0; i < sizeof(use_attr) / sizeof(use_attr[0]); i++)
		if (f->use & (1u << i))
			attr_add(attrs, sizeof(attrs), use_attr[i]);
	ib_init(&b, 2 * FOLDER_NAME_CEIL_BYTES * 3 + 256);
	ib_adds(&b, "* ");
	ib_adds(&b, verb);
	ib_adds(&b, " (");
	ib_adds(&b, attrs);
	ib_adds(&b, ") \"/\" ");
	if (add_mailbox(im, &b, f->name) < 0) {
		ib_free(&b);
		return;
	}
	ib_adds(&b, "\r\n");
	out_ibuf(im, &b);
}

static void
do_list(struct imap *im, struct imap_cmd *c)
{
	bool lsub = c->verb == IV_LSUB;
	const char *verb = lsub ? "LSUB" : "LIST";
	char ref[IMAP_NAME_BUF], pat[IMAP_NAME_BUF];
	char full[IMAP_LIST_PATTERN_MAX + 1], text[LIM_LOGLINE];
	const char *patw;
	struct sc_folders f;
	uint32_t status = STORE_TEMPFAIL;
	size_t fulllen;
	int r;

	if (c->a.list_select >= 0 || c->a.list_return >= 0 ||
	    imap_arg(c, 1) < 0 || c->node[imap_arg(c, 1)].kind == IT_LIST) {
		bad(im, c->tag, NULL, "LIST-EXTENDED is not supported");
		return;
	}
	patw = imap_text(c, c->a.pattern);
	if (folder_arg(im, c->tag, c->a.ref, strlen(c->a.ref), ref, sizeof(ref)) < 0 ||
	    folder_arg(im, c->tag, patw, strlen(patw), pat, sizeof(pat)) < 0)
		return;
	if (!lsub && pat[0] == '\0') {
		/* RFC 3501 6.3.8: the hierarchy delimiter and the root */
		out(im, "* LIST (\\Noselect) \"/\" \"\"");
		out(im, "%s OK LIST completed", c->tag);
		return;
	}
	if (imap_list_canon(ref, strlen(ref), pat, strlen(pat), full, sizeof(full),
	    &fulllen) < 0) {
		bad(im, c->tag, NULL, "Reference and pattern too long");
		return;
	}
	text[0] = '\0';
	r = sc_folder_list(im->s, &status, text, sizeof(text), &f);
	if (r < 0 || status != STORE_OK) {
		folder_answer(im, c->tag, verb, r, status, text);
		return;
	}
	for (uint32_t i = 0; i < f.n && !im->c->error; i++) {
		if (lsub && !(f.v[i].attrs & FA_SUBSCRIBED))
			continue;
		if (imap_list_match(full, fulllen, f.v[i].name, strlen(f.v[i].name)))
			list_line(im, verb, &f.v[i], lsub);
	}
	sc_folders_free(&f);
	out(im, "%s OK %s completed", c->tag, verb);
}

/* ------------------------------------------------------ the selected folder */

/* The store is gone or answered out of turn: the session cannot go on. */
static void
store_lost(struct imap *im)
{
	ev_send(EV_TEMPFAIL, TF_STORE_UNAVAILABLE, 1, NULL);
	out(im, "* BYE [UNAVAILABLE] Mail store unavailable, try again later");
	finish(im, "store unavailable");
}

static void
view_drop(struct imap *im)
{
	sc_view_free(&im->view);
	im->state = IS_AUTH;
	im->selected[0] = '\0';
}

/* The FLAGS and PERMANENTFLAGS lists of the view (RFC 3501 7.2.6). */
static void
flags_lines(struct imap *im)
{
	struct ibuf b;

	ib_init(&b, 64 * 1024);
	ib_adds(&b, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (uint32_t i = 0; i < im->view.nkw; i++) {
		ib_addc(&b, ' ');
		ib_adds(&b, im->view.kw[i]);
	}
	ib_adds(&b, ")\r\n");
	if (im->readonly)
		ib_adds(&b, "* OK [PERMANENTFLAGS ()] Read-only folder\r\n");
	else {
		/* the flags, the folder's keywords, and new ones (\\*) */
		ib_adds(&b, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
		for (uint32_t i = 0; i < im->view.nkw; i++) {
			ib_addc(&b, ' ');
			ib_adds(&b, im->view.kw[i]);
		}
		ib_adds(&b, " \\*)] Flags permitted\r\n");
	}
	out_ibuf(im, &b);
}

static void
do_select(struct imap *im, struct imap_cmd *c)
{
	char name[IMAP_NAME_BUF], text[LIM_LOGLINE];
	uint32_t status = STORE_TEMPFAIL, recent = 0, unseen = 0;
	int r;

	if (folder_arg(im, c->tag, c->a.mailbox, c->a.mailbox_len, name, sizeof(name)) < 0)
		return;
	/* RFC 3501 6.3.1: a SELECT, failed or not, deselects first */
	if (im->state == IS_SELECTED)
		view_drop(im);
	text[0] = '\0';
	r = sc_select(im->s, c->verb == IV_EXAMINE, name, &status, text, sizeof(text),
	    &im->view);
	if (r == SC_UNAVAILABLE) {
		store_lost(im);
		return;
	}
	if (r < 0 || status != STORE_OK) {
		folder_answer(im, c->tag, imap_verb_name(c->verb), r, status, text);
		return;
	}
	im->state = IS_SELECTED;
	im->readonly = c->verb == IV_EXAMINE;
	strlcpy_(im->selected, name, sizeof(im->selected));
	for (uint32_t i = 0; i < im->view.n; i++) {
		if (im->view.m[i].flags & VF_RECENT)
			recent++;
		if (unseen == 0 && !(im->view.m[i].flags & VF_SEEN))
			unseen = i + 1;
	}
	flags_lines(im);
	out(im, "* %u EXISTS", im->view.n);
	out(im, "* %u RECENT", recent);
	if (unseen)
		out(im, "* OK [UNSEEN %u] First unseen", unseen);
	out(im, "* OK [UIDVALIDITY %u] UIDs valid", im->view.uidvalidity);
	out(im, "* OK [UIDNEXT %u] Predicted next UID", im->view.uidnext);
	out(im, "%s OK [%s] %s completed", c->tag, im->readonly ? "READ-ONLY" : "READ-WRITE",
	    imap_verb_name(c->verb));
}

/* Sends the untagged responses of what changed in the folder (RFC 3501
 * 7.4.1: never during FETCH, STORE or SEARCH; the callers know).  0, or
 * -1 when the session is over. */
static int
view_sync(struct imap *im, bool always)
{
	struct sc_sync y;
	char text[LIM_LOGLINE];
	uint32_t status = STORE_TEMPFAIL, recent = 0;
	struct sc_view *v = &im->view;
	int r;

	if (im->state != IS_SELECTED || (!always && !sc_changed(im->s)))
		return 0;
	r = sc_view_sync(im->s, &status, text, sizeof(text), v, &y);
	if (r == 0 && status == STORE_NOSUCH) {
		/* the folder was deleted, or its UIDs lost (a new UIDVALIDITY):
		 * nothing this session was told holds; the client starts over */
		log_info("imap %s: view of %s lost: %s", im->s->sessid, im->selected, text);
		clean_text(text);
		out(im, "* BYE [UNAVAILABLE] %s", text);
		finish(im, "folder gone");
		return -1;
	}
	if (r == SC_UNAVAILABLE || r < 0 || status != STORE_OK) {
		if (r == 0)
			log_warnx("imap %s: view of %s: %s", im->s->sessid, im->selected, text);
		store_lost(im);
		return -1;
	}
	/* expunges first, each with the sequence number it has now */
	for (uint32_t i = 0, j = 0; i < y.nexp; i++) {
		while (j < v->n && v->m[j].uid < y.exp[i])
			j++;
		if (j == v->n || v->m[j].uid != y.exp[i])
			continue;        /* not ours: the store keeps to the view */
		out(im, "* %u EXPUNGE", j + 1);
		memmove(&v->m[j], &v->m[j + 1], (size_t)(v->n - j - 1) * sizeof(v->m[0]));
		v->n--;
		if (y.first_new > j)
			y.first_new--;
	}
	for (uint32_t i = y.first_new; i < v->n; i++)
		if (v->m[i].flags & VF_RECENT)
			recent++;
	if (y.first_new < v->n) {
		out(im, "* %u EXISTS", v->n);
		out(im, "* %u RECENT", recent);
	}
	for (uint32_t i = 0; i < y.nflag; i++) {
		const struct sc_flagchange *fc = &y.flag[i];
		struct ibuf b;
		uint32_t lo = 0, hi = v->n;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (v->m[mid].uid < fc->uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == v->n || v->m[lo].uid != fc->uid)
			continue;
		v->m[lo].flags = fc->flags | (v->m[lo].flags & VF_RECENT);
		v->m[lo].kwoff = fc->kwoff;
		v->m[lo].nkw = fc->nkw;
		ib_init(&b, 64 * 1024);
		ib_adds(&b, "* ");
		ib_addu64(&b, lo + 1);
		ib_adds(&b, " FETCH (UID ");
		ib_addu64(&b, fc->uid);
		ib_adds(&b, " FLAGS ");
		imap_flags_list(&b, v->m[lo].flags, v, fc->kwoff, fc->nkw);
		ib_adds(&b, ")\r\n");
		out_ibuf(im, &b);
	}
	sc_sync_free(&y);
	return 0;
}

static void
do_noop(struct imap *im, struct imap_cmd *c)
{
	if (view_sync(im, true) < 0)
		return;
	out(im, "%s OK %s completed", c->tag, imap_verb_name(c->verb));
}

static void
unselect(struct imap *im, struct imap_cmd *c)
{
	uint32_t status;
	int r = sc_unselect(im->s, &status);

	view_drop(im);
	if (r == SC_UNAVAILABLE || r < 0 || status != STORE_OK) {
		store_lost(im);
		return;
	}
	out(im, "%s OK %s completed", c->tag, imap_verb_name(c->verb));
}

/*
 * A sequence set into the view's indexes: sel[i] set for each message
 * named.  By sequence number (a number past the last is an error, RFC
 * 3501 6.4.8 lets a UID set name nothing) or by UID ("*" is the last
 * message's).  0, or -1 (BAD answered).
 */
static int
resolve_set(struct imap *im, const char *tag, const struct imap_seqrange *set,
    size_t nset, int by_uid, unsigned char *sel)
{
	const struct sc_view *v = &im->view;
	uint32_t n = v->n, last_uid = n ? v->m[n - 1].uid : 0;

	for (size_t i = 0; i < nset; i++) {
		uint32_t lo = set[i].lo, hi = set[i].hi, a, b;

		if (by_uid) {
			lo = lo == IMAP_SEQ_STAR ? last_uid : lo;
			hi = hi == IMAP_SEQ_STAR ? last_uid : hi;
		} else {
			lo = lo == IMAP_SEQ_STAR ? n : lo;
			hi = hi == IMAP_SEQ_STAR ? n : hi;
		}
		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		if (!by_uid) {
			if (lo == 0 || hi > n) {
				bad(im, tag, NULL, "Invalid message sequence number");
				return -1;
			}
			memset(sel + lo - 1, 1, (size_t)hi - lo + 1);
			continue;
		}
		/* the first index with uid >= lo, then every one up to hi */
		a = 0;
		b = n;
		while (a < b) {
			uint32_t mid = a + (b - a) / 2;

			if (v->m[mid].uid < lo)
				a = mid + 1;
			else
				b = mid;
		}
		for (; a < n && v->m[a].uid <= hi; a++)
			sel[a] = 1;
	}
	return 0;
}

static void flags_changed(struct imap *im, const struct sc_flagchange *fc, uint32_t m,
    bool silent, bool uid_cmd);

/* Sets \\Seen on the messages idx[0..n) of the view that lack it;
 * seen_now[k] for each that changed.  false when the command is over
 * (answered). */
static bool
mark_seen(struct imap *im, struct imap_cmd *c, const uint32_t *idx, uint32_t n,
    unsigned char *seen_now)
{
	struct sc_view *v = &im->view;
	struct sc_flagchange *fc = NULL;
	uint32_t uids[IMAP_FETCH_BATCH_MAX_COUNT], k = 0, status = STORE_TEMPFAIL, m = 0;
	char text[LIM_LOGLINE];
	int r;

	for (uint32_t i = 0; i < n; i++)
		if (!(v->m[idx[i]].flags & VF_SEEN)) {
			uids[k++] = v->m[idx[i]].uid;
			seen_now[i] = 1;
		}
	if (k == 0)
		return true;
	text[0] = '\0';
	r = sc_store_flags(im->s, FLAGS_ADD, VF_SEEN, NULL, 0, uids, k, &status, text,
	    sizeof(text), v, &fc, &m);
	if (r == SC_UNAVAILABLE || r < 0) {
		store_lost(im);
		return false;
	}
	if (status != STORE_OK) {
		/* the bodies are still served; \\Seen stays unset */
		log_warnx("imap %s: setting \\Seen: %s", im->s->sessid, text);
		memset(seen_now, 0, n);
		return true;
	}
	flags_changed(im, fc, m, true, false);
	free(fc);
	return true;
}

/* The bytes of one fetched message out of the answer's memfd. */
static unsigned char *
fetched_bytes(const struct sc_fetched *f, uint32_t i, size_t *len)
{
	unsigned char *buf;

	if (f->len[i] > SIZE_MAX - 1)
		return NULL;
	*len = (size_t)f->len[i];
	buf = xmalloc(*len + 1);
	if (pread_full(f->fd, buf, *len, (off_t)f->off[i]) != (ssize_t)*len) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
do_fetch(struct imap *im, struct imap_cmd *c)
{
	const struct sc_view *v = &im->view;
	uint32_t need = imap_fetch_needs(&c->a.fetch), *batch = NULL;
	bool sets_seen = !im->readonly && imap_fetch_sets_seen(&c->a.fetch);
	unsigned char *sel;
	struct ibuf resp;
	const char *why = NULL;
	int failed = 0;

	sel = xcalloc(v->n + 1, 1);
	if (resolve_set(im, c->tag, c->a.seq, c->a.nseq, c->uid, sel) < 0) {
		free(sel);
		return;
	}
	ib_init(&resp, 2 * (size_t)im->s->conf->max_message_size + MIME_OUT_MAX_BYTES);
	batch = xcalloc(IMAP_FETCH_BATCH_MAX_COUNT, sizeof(*batch));
	for (uint32_t i = 0; i < v->n && !failed && !im->c->error; ) {
		struct sc_fetched f;
		uint32_t idx[IMAP_FETCH_BATCH_MAX_COUNT] = { 0 }, nb = 0, status = STORE_OK;
		unsigned char seen_now[IMAP_FETCH_BATCH_MAX_COUNT];
		char text[LIM_LOGLINE];

		/* the next batch of selected messages */
		for (; i < v->n && nb < IMAP_FETCH_BATCH_MAX_COUNT; i++)
			if (sel[i]) {
				idx[nb] = i;
				batch[nb++] = v->m[i].uid;
			}
		if (nb == 0)
			break;
		memset(&f, 0, sizeof(f));
		f.fd = -1;
		f.n = nb;
		if (need != 0) {
			int r = sc_fetch(im->s, need, batch, nb, &status, text, sizeof(text), &f);

			if (r == SC_UNAVAILABLE || r < 0) {
				free(sel);
				free(batch);
				ib_free(&resp);
				store_lost(im);
				return;
			}
			if (status != STORE_OK) {
				clean_text(text);
				out(im, "%s NO [UNAVAILABLE] %s", c->tag, text);
				failed = 1;
				break;
			}
			/* the store may answer fewer (a byte bound): ask again
			 * from the first it did not answer */
			if (f.n < nb)
				i = idx[f.n];
		}
		/* the implicit \\Seen of a read-write view, stored before the
		 * bytes go out (a client that sees the body sees it read) */
		memset(seen_now, 0, sizeof(seen_now));
		if (sets_seen && !mark_seen(im, c, idx, f.n, seen_now)) {
			if (f.fd >= 0)
				close(f.fd);
			free(sel);
			free(batch);
			ib_free(&resp);
			return;
		}
		for (uint32_t k = 0; k < f.n && !failed; k++) {
			unsigned char *msg = NULL;
			size_t len = 0;

			if (need != 0 && (msg = fetched_bytes(&f, k, &len)) == NULL) {
				out(im, "%s NO [SERVERBUG] Cannot read a message", c->tag);
				failed = 1;
				break;
			}
			ib_reset(&resp);
			if (imap_fetch_response(&resp, idx[k] + 1, &v->m[idx[k]], v,
			    &c->a.fetch, c->uid, seen_now[k], msg, len, &why) < 0) {
				out(im, "%s NO [LIMIT] %s", c->tag, why ? why : "response too large");
				failed = 1;
			} else
				out_raw(im, (const char *)resp.p, resp.len);
			if (msg != NULL) {
				explicit_bzero(msg, len);
				free(msg);
			}
			im->fetched++;
		}
		if (f.fd >= 0)
			close(f.fd);
	}
	free(sel);
	free(batch);
	ib_free(&resp);
	if (!failed)
		out(im, "%s OK %sFETCH completed", c->tag, c->uid ? "UID " : "");
}

/* IDLE (RFC 2177): changes as they come, a keep-alive before a client's
 * usual 29-minute timer, until DONE. */
static void
do_idle(struct imap *im, struct imap_cmd *c)
{
	struct conn *cn = im->c;
	uint64_t end = now_ms() + (uint64_t)im->timeout;
	uint64_t next_ping = now_ms() + IMAP_IDLE_KEEPALIVE_MS;

	if (view_sync(im, false) < 0)
		return;
	out(im, "+ idling");
	for (;;) {
		struct pollfd pfd[2];
		uint64_t now;
		size_t len;
		int flags = 0, r, wait;

		if (conn_flush(cn, im->timeout) != CONN_OK) {
			finish(im, "i/o error");
			return;
		}
		r = conn_getline(cn, im->line, IMAP_TAG_MAX_BYTES + 16, &len, &flags);
		if (r == CONN_OK || r == CONN_TOOLONG) {
			if (r == CONN_OK && len == 4 && strncasecmp(im->line, "DONE", 4) == 0 &&
			    (flags & LINE_CRLF)) {
				out(im, "%s OK IDLE terminated", c->tag);
				return;
			}
			bad(im, c->tag, NULL, "Expected DONE");
			return;
		}
		now = now_ms();
		if (now >= end) {
			conn_failed(im, CONN_TIMEOUT);
			return;
		}
		if (now >= next_ping) {
			out(im, "* OK Still here");
			next_ping = now + IMAP_IDLE_KEEPALIVE_MS;
			continue;
		}
		wait = (int)((next_ping < end ? next_ping : end) - now);
		/* the client, the store's MSG_CHANGED, the master's control */
		pfd[0] = (struct pollfd){ .fd = cn->fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = im->s->store_fd, .events = POLLIN };
		if (cn->tls != NULL && tlsio_pending(cn))
			wait = 0;
		r = poll(pfd, 2, wait);
		if (r < 0 && errno != EINTR) {
			finish(im, "i/o error");
			return;
		}
		if (pfd[1].revents) {
			if (view_sync(im, false) < 0)
				return;
			if (store_dead()) {
				store_lost(im);
				return;
			}
		}
		if (pfd[0].revents || wait == 0) {
			r = conn_fill(cn, 1);
			if (r != CONN_OK && r != CONN_TIMEOUT) {
				conn_failed(im, r);
				return;
			}
		}
		if (cn->shutdown_at != 0 && now_ms() >= cn->shutdown_at) {
			conn_failed(im, CONN_SHUTDOWN);
			return;
		}
	}
}

static void
do_append(struct imap *im, struct imap_cmd *c)
{
	static const struct { uint32_t imap, vf; } fl[] = {
		{ IMAP_F_SEEN, VF_SEEN }, { IMAP_F_ANSWERED, VF_ANSWERED },
		{ IMAP_F_FLAGGED, VF_FLAGGED }, { IMAP_F_DELETED, VF_DELETED },
		{ IMAP_F_DRAFT, VF_DRAFT },
	};
	char name[IMAP_NAME_BUF], text[LIM_LOGLINE];
	uint32_t status = STORE_TEMPFAIL, flags = 0, uidvalidity, uid;
	int r;

	if (im->append_fd < 0) {
		out(im, "%s NO [SERVERBUG] The message could not be taken", c->tag);
		return;
	}
	if (folder_arg(im, c->tag, c->a.mailbox, c->a.mailbox_len, name, sizeof(name)) < 0)
		return;
	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
		if (c->a.flags.sys & fl[i].imap)
			flags |= fl[i].vf;
	text[0] = '\0';
	r = sc_imap_append(im->s, im->append_fd, name, flags, c->a.flags.kw,
	    (uint32_t)c->a.flags.nkw, c->a.has_date && c->a.date > 0 ? (uint64_t)c->a.date : 0,
	    &status, text, sizeof(text), &uidvalidity, &uid);
	close(im->append_fd);
	im->append_fd = -1;
	if (r == 0 && status == STORE_OK) {
		log_info("imap %s: %s: appended to %s, uid %u", im->s->sessid, im->account,
		    name, uid);
		out(im, "%s OK [APPENDUID %u %u] APPEND completed", c->tag, uidvalidity, uid);
		return;
	}
	if (r == 0 && status == STORE_NOSUCH) {
		clean_text(text);
		out(im, "%s NO [TRYCREATE] %s", c->tag, text);
		return;
	}
	folder_answer(im, c->tag, "APPEND", r, status, text);
}

static void
do_status(struct imap *im, struct imap_cmd *c)
{
	char name[IMAP_NAME_BUF], text[LIM_LOGLINE];
	uint32_t status = STORE_TEMPFAIL, items = c->a.status;
	struct sc_status st;
	struct ibuf b;
	int r, sp = 0;

	if (folder_arg(im, c->tag, c->a.mailbox, c->a.mailbox_len, name, sizeof(name)) < 0)
		return;
	text[0] = '\0';
	r = sc_folder_status(im->s, name, &status, text, sizeof(text), &st);
	if (r < 0 || status != STORE_OK) {
		folder_answer(im, c->tag, "STATUS", r, status, text);
		return;
	}
	ib_init(&b, 4096);
	ib_adds(&b, "* STATUS ");
	if (add_mailbox(im, &b, name) < 0)
		ib_string(&b, c->a.mailbox, c->a.mailbox_len);
	ib_adds(&b, " (");
#define ITEM(bit, name, val) if (items & (bit)) { if (sp) ib_addc(&b, ' '); \
	ib_adds(&b, name " "); ib_addu64(&b, (val)); sp = 1; }
	ITEM(IMAP_ST_MESSAGES, "MESSAGES", st.messages);
	ITEM(IMAP_ST_RECENT, "RECENT", st.recent);
	ITEM(IMAP_ST_UIDNEXT, "UIDNEXT", st.uidnext);
	ITEM(IMAP_ST_UIDVALIDITY, "UIDVALIDITY", st.uidvalidity);
	ITEM(IMAP_ST_UNSEEN, "UNSEEN", st.unseen);
#undef ITEM
	ib_adds(&b, ")\r\n");
	out_ibuf(im, &b);
	out(im, "%s OK STATUS completed", c->tag);
}

/* The index of uid in the view, or v->n. */
static uint32_t
view_index(const struct sc_view *v, uint32_t uid)
{
	uint32_t lo = 0, hi = v->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->m[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->n && v->m[lo].uid == uid ? lo : v->n;
}

/* Removes the expunged uids[0..n) (ascending) from the view, each told
 * with the sequence number it has at that moment (unless silent). */
static void
view_expunged(struct imap *im, const uint32_t *uids, uint32_t n, bool silent)
{
	struct sc_view *v = &im->view;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = view_index(v, uids[i]);

		if (j == v->n)
			continue;
		if (!silent)
			out(im, "* %u EXPUNGE", j + 1);
		memmove(&v->m[j], &v->m[j + 1], (size_t)(v->n - j - 1) * sizeof(v->m[0]));
		v->n--;
	}
}

/* The selected messages' UIDs, ascending, into a new array (*n of them). */
static uint32_t *
selected_uids(const struct sc_view *v, const unsigned char *sel, uint32_t *n)
{
	uint32_t *u = xcalloc(v->n + 1, sizeof(*u)), k = 0;

	for (uint32_t i = 0; i < v->n; i++)
		if (sel[i])
			u[k++] = v->m[i].uid;
	*n = k;
	return u;
}

static const struct { uint32_t imap, vf; } flag_map[] = {
	{ IMAP_F_SEEN, VF_SEEN }, { IMAP_F_ANSWERED, VF_ANSWERED },
	{ IMAP_F_FLAGGED, VF_FLAGGED }, { IMAP_F_DELETED, VF_DELETED },
	{ IMAP_F_DRAFT, VF_DRAFT },
};

static uint32_t
vflags(uint32_t imap_sys)
{
	uint32_t f = 0;

	for (size_t i = 0; i < sizeof(flag_map) / sizeof(flag_map[0]); i++)
		if (imap_sys & flag_map[i].imap)
			f |= flag_map[i].vf;
	return f;
}

/* Applies the store's answer to the view; sends FETCH FLAGS unless silent. */
static void
flags_changed(struct imap *im, const struct sc_flagchange *fc, uint32_t m, bool silent,
    bool uid_cmd)
{
	struct sc_view *v = &im->view;

	for (uint32_t i = 0; i < m; i++) {
		uint32_t j = view_index(v, fc[i].uid);
		struct ibuf b;

		if (j == v->n)
			continue;
		v->m[j].flags = fc[i].flags | (v->m[j].flags & VF_RECENT);
		v->m[j].kwoff = fc[i].kwoff;
		v->m[j].nkw = fc[i].nkw;
		if (silent)
			continue;
		ib_init(&b, 64 * 1024);
		ib_adds(&b, "* ");
		ib_addu64(&b, j + 1);
		ib_adds(&b, " FETCH (");
		if (uid_cmd) {
			ib_adds(&b, "UID ");
			ib_addu64(&b, fc[i].uid);
			ib_addc(&b, ' ');
		}
		ib_adds(&b, "FLAGS ");
		imap_flags_list(&b, v->m[j].flags, v, fc[i].kwoff, fc[i].nkw);
		ib_adds(&b, ")\r\n");
		out_ibuf(im, &b);
	}
}

static bool
refuse_readonly(struct imap *im, const char *tag)
{
	if (!im->readonly)
		return false;
	out(im, "%s NO [READ-ONLY] The folder is selected read-only (EXAMINE)", tag);
	return true;
}

/* One STORE request for uids[0..n); false when the command is over
 * (answered). */
static bool
store_batch(struct imap *im, struct imap_cmd *c, uint32_t op, uint32_t flags,
    const uint32_t *uids, uint32_t n, bool silent)
{
	struct sc_flagchange *fc = NULL;
	char text[LIM_LOGLINE];
	uint32_t status = STORE_TEMPFAIL, m = 0;
	int r;

	text[0] = '\0';
	r = sc_store_flags(im->s, op, flags, c->a.store.flags.kw,
	    (uint32_t)c->a.store.flags.nkw, uids, n, &status, text, sizeof(text),
	    &im->view, &fc, &m);
	if (r == SC_UNAVAILABLE || r < 0) {
		store_lost(im);
		return false;
	}
	if (status != STORE_OK) {
		folder_answer(im, c->tag, "STORE", r, status, text);
		return false;
	}
	flags_changed(im, fc, m, silent, c->uid);
	free(fc);
	return true;
}

static void
do_store(struct imap *im, struct imap_cmd *c)
{
	const struct imap_store *st = &c->a.store;
	uint32_t op = st->op == IMAP_STORE_SET ? FLAGS_SET : st->op == IMAP_STORE_ADD ?
	    FLAGS_ADD : FLAGS_REMOVE, n = 0, *uids;
	unsigned char *sel;

	if (refuse_readonly(im, c->tag))
		return;
	sel = xcalloc(im->view.n + 1, 1);
	if (resolve_set(im, c->tag, c->a.seq, c->a.nseq, c->uid, sel) < 0) {
		free(sel);
		return;
	}
	uids = selected_uids(&im->view, sel, &n);
	free(sel);
	for (uint32_t i = 0; i < n; i += IMAP_FETCH_BATCH_MAX_COUNT) {
		uint32_t k = n - i < IMAP_FETCH_BATCH_MAX_COUNT ? n - i :
		    IMAP_FETCH_BATCH_MAX_COUNT;

		if (!store_batch(im, c, op, vflags(st->flags.sys), uids + i, k, st->silent)) {
			free(uids);
			return;
		}
	}
	free(uids);
	out(im, "%s OK %sSTORE completed", c->tag, c->uid ? "UID " : "");
}

/* EXPUNGE / UID EXPUNGE / CLOSE's silent one.  false when answered. */
static bool
expunge(struct imap *im, struct imap_cmd *c, const uint32_t *uids, uint32_t n,
    bool silent)
{
	char text[LIM_LOGLINE];
	uint32_t status = STORE_TEMPFAIL, m = 0, *gone = NULL;
	int r;

	text[0] = '\0';
	r = sc_expunge(im->s, uids, n, &status, text, sizeof(text), &gone, &m);
	if (r == SC_UNAVAILABLE || r < 0) {
		store_lost(im);
		return false;
	}
	if (status != STORE_OK) {
		folder_answer(im, c->tag, "EXPUNGE", r, status, text);
		return false;
	}
	view_expunged(im, gone, m, silent);
	free(gone);
	return true;
}

static void
do_expunge(struct imap *im, struct imap_cmd *c)
{
	uint32_t n = 0, *uids = NULL;

	if (refuse_readonly(im, c->tag))
		return;
	if (!c->uid) {
		if (!expunge(im, c, NULL, 0, false))
			return;
	} else {
		unsigned char *sel = xcalloc(im->view.n + 1, 1);

		if (resolve_set(im, c->tag, c->a.seq, c->a.nseq, 1, sel) < 0) {
			free(sel);
			return;
		}
		uids = selected_uids(&im->view, sel, &n);
		free(sel);
		for (uint32_t done = 0; done < n; ) {
			uint32_t k = n - done < IMAP_FETCH_BATCH_MAX_COUNT ? n - done :
			    IMAP_FETCH_BATCH_MAX_COUNT;

			if (!expunge(im, c, uids + done, k, false)) {
				free(uids);
				return;
			}
			done += k;
		}
		free(uids);
	}
	out(im, "%s OK %sEXPUNGE completed", c->tag, c->uid ? "UID " : "");
}

/* "1:3,7" of uids[0..n) (ascending runs compressed) into b. */
static void
add_uidset(struct ibuf *b, const uint32_t *u, uint32_t n, uint32_t stride)
{
	for (uint32_t i = 0; i < n; ) {
		uint32_t j = i;

		while (j + 1 < n && u[(j + 1) * stride] == u[j * stride] + 1)
			j++;
		if (i > 0)
			ib_addc(b, ',');
		ib_addu64(b, u[i * stride]);
		if (j > i) {
			ib_addc(b, ':');
			ib_addu64(b, u[j * stride]);
		}
		i = j + 1;
	}
}

static void
do_copy(struct imap *im, struct imap_cmd *c)
{
	bool move = c->verb == IV_MOVE;
	char name[IMAP_NAME_BUF], text[LIM_LOGLINE];
	uint32_t n = 0, *uids, *all = NULL, nall = 0, uidvalidity = 0;
	unsigned char *sel;
	struct ibuf b;

	if (move && refuse_readonly(im, c->tag))
		return;
	if (folder_arg(im, c->tag, c->a.mailbox, c->a.mailbox_len, name, sizeof(name)) < 0)
		return;
	sel = xcalloc(im->view.n + 1, 1);
	if (resolve_set(im, c->tag, c->a.seq, c->a.nseq, c->uid, sel) < 0) {
		free(sel);
		return;
	}
	uids = selected_uids(&im->view, sel, &n);
	free(sel);
	all = xcalloc(2 * (size_t)n + 2, sizeof(*all));
	for (uint32_t done = 0; done < n; ) {
		uint32_t k = n - done < IMAP_FETCH_BATCH_MAX_COUNT ? n - done :
		    IMAP_FETCH_BATCH_MAX_COUNT, status = STORE_TEMPFAIL, m = 0, *pairs = NULL;
		int r;

		text[0] = '\0';
		r = sc_copy(im->s, move, name, uids + done, k, &status, text, sizeof(text),
		    &uidvalidity, &pairs, &m);
		if (r == SC_UNAVAILABLE || r < 0) {
			store_lost(im);
			goto out;
		}
		if (status != STORE_OK) {
			clean_text(text);
			if (status == STORE_NOSUCH)
				out(im, "%s NO [TRYCREATE] %s", c->tag, text);
			else
				folder_answer(im, c->tag, move ? "MOVE" : "COPY", r, status, text);
			goto out;
		}
		memcpy(all + 2 * (size_t)nall, pairs, 2 * (size_t)m * sizeof(*pairs));
		nall += m;
		free(pairs);
		done += k;
	}
	ib_init(&b, 64 + 24 * (size_t)nall);
	if (nall > 0) {
		ib_adds(&b, "[COPYUID ");
		ib_addu64(&b, uidvalidity);
		ib_addc(&b, ' ');
		add_uidset(&b, all, nall, 2);
		ib_addc(&b, ' ');
		add_uidset(&b, all + 1, nall, 2);
		ib_adds(&b, "] ");
	}
	ib_addc(&b, '\0');
	if (ib_failed(&b))
		b.len = 0;
	if (move) {
		uint32_t *src = xcalloc(nall + 1, sizeof(*src));

		/* RFC 6851 4.3: COPYUID untagged, then the EXPUNGEs */
		if (nall > 0 && b.len > 0)
			out(im, "* OK %sMoved", (const char *)b.p);
		for (uint32_t i = 0; i < nall; i++)
			src[i] = all[2 * i];
		view_expunged(im, src, nall, false);
		free(src);
		out(im, "%s OK %sMOVE completed", c->tag, c->uid ? "UID " : "");
	} else
		out(im, "%s OK %s%sCOPY completed", c->tag, b.len > 0 ? (const char *)b.p : "",
		    c->uid ? "UID " : "");
	ib_free(&b);
out:
	free(uids);
	free(all);
}

/*
 * SEARCH / UID SEARCH: the keys compiled once (imap_search.c); each
 * message first against what the view knows, and only the ones the view
 * cannot decide are fetched from the store, in batches, headers only when
 * the keys allow.  No untagged EXPUNGE may come during it (RFC 3501
 * 7.4.1): the view is not synced.
 */
static void
do_search(struct imap *im, struct imap_cmd *c)
{
	const struct sc_view *v = &im->view;
	struct imap_search *prog = NULL;
	const char *code = NULL, *why = NULL;
	uint32_t need, n = v->n, *batch, nb = 0;
	uint32_t idx[IMAP_FETCH_BATCH_MAX_COUNT] = { 0 };
	unsigned char *hit;
	struct ibuf b;

	if (imap_search_compile(c, &prog, &code, &why) < 0) {
		if (code != NULL)
			out(im, "%s NO [%s] %s", c->tag, code, why ? why : "Cannot search");
		else
			bad(im, c->tag, NULL, why ? why : "Invalid search");
		return;
	}
	need = imap_search_needs(prog);
	hit = xcalloc(n + 1, 1);
	batch = xcalloc(IMAP_FETCH_BATCH_MAX_COUNT, sizeof(*batch));
	for (uint32_t i = 0; i <= n; i++) {
		int r = -1;

		if (i < n) {
			r = imap_search_match(prog, i + 1, n, &v->m[i], v, NULL, 0);
			if (r >= 0)
				hit[i] = (unsigned char)r;
			else {
				idx[nb] = i;
				batch[nb++] = v->m[i].uid;
			}
		}
		/* a full batch, or the end: the undecided ones with their bytes */
		while (nb > 0 && (nb == IMAP_FETCH_BATCH_MAX_COUNT || i == n)) {
			struct sc_fetched f;
			char text[LIM_LOGLINE];
			uint32_t status = STORE_TEMPFAIL;
			int rr = sc_fetch(im->s, need ? need : FETCH_WHOLE, batch, nb, &status,
			    text, sizeof(text), &f);

			if (rr < 0 || status != STORE_OK) {
				if (rr == SC_UNAVAILABLE || rr < 0)
					store_lost(im);
				else {
					clean_text(text);
					out(im, "%s NO [UNAVAILABLE] %s", c->tag, text);
				}
				goto out;
			}
			for (uint32_t k = 0; k < f.n; k++) {
				size_t len = 0;
				unsigned char *msg = fetched_bytes(&f, k, &len);

				if (msg == NULL) {
					close(f.fd);
					out(im, "%s NO [SERVERBUG] Cannot read a message", c->tag);
					goto out;
				}
				hit[idx[k]] = imap_search_match(prog, idx[k] + 1, n, &v->m[idx[k]],
				    v, msg, len) == 1;
				explicit_bzero(msg, len);
				free(msg);
			}
			close(f.fd);
			/* the store may answer fewer (its byte bound): the rest again */
			memmove(batch, batch + f.n, (size_t)(nb - f.n) * sizeof(*batch));
			memmove(idx, idx + f.n, (size_t)(nb - f.n) * sizeof(*idx));
			nb -= f.n;
		}
	}
	ib_init(&b, 16 + 11 * (size_t)n);
	ib_adds(&b, "* SEARCH");
	for (uint32_t i = 0; i < n; i++)
		if (hit[i]) {
			ib_addc(&b, ' ');
			ib_addu64(&b, c->uid ? v->m[i].uid : i + 1);
		}
	ib_adds(&b, "\r\n");
	out_ibuf(im, &b);
	out(im, "%s OK %sSEARCH completed", c->tag, c->uid ? "UID " : "");
out:
	imap_search_free(prog);
	free(hit);
	free(batch);
}

/* CLOSE: the silent expunge of the \\Deleted messages of a read-write
 * view (RFC 3501 6.4.2), then UNSELECT. */
static void
do_close(struct imap *im, struct imap_cmd *c)
{
	if (!im->readonly && !expunge(im, c, NULL, 0, true))
		return;
	unselect(im, c);
}

/* ------------------------------------------------------- command table */

#define ANY (IS_NOTAUTH | IS_AUTH | IS_SELECTED)
#define IN  (IS_AUTH | IS_SELECTED)

static const struct imap_cmdtab {
	enum imap_verb verb;
	int states;
	void (*action)(struct imap *, struct imap_cmd *);
} cmdtab[] = {
	{ IV_CAPABILITY,   ANY,        do_capability },
	{ IV_NOOP,         ANY,        do_noop },
	{ IV_LOGOUT,       ANY,        do_logout },
	{ IV_ID,           ANY,        do_id },
	{ IV_STARTTLS,     IS_NOTAUTH, do_starttls },
	{ IV_AUTHENTICATE, IS_NOTAUTH, do_authenticate },
	{ IV_LOGIN,        IS_NOTAUTH, do_login },
	{ IV_ENABLE,       IS_AUTH,    do_enable },
	{ IV_NAMESPACE,    IN,         do_namespace },
	{ IV_LIST,         IN,         do_list },
	{ IV_LSUB,         IN,         do_list },
	{ IV_CREATE,       IN,         do_create },
	{ IV_DELETE,       IN,         do_delete },
	{ IV_RENAME,       IN,         do_rename },
	{ IV_SUBSCRIBE,    IN,         do_subscribe },
	{ IV_UNSUBSCRIBE,  IN,         do_unsubscribe },
	{ IV_SELECT,       IN,         do_select },
	{ IV_EXAMINE,      IN,         do_select },
	{ IV_STATUS,       IN,         do_status },
	{ IV_APPEND,       IN,         do_append },
	{ IV_IDLE,         IS_SELECTED, do_idle },
	{ IV_CHECK,        IS_SELECTED, do_noop },
	{ IV_CLOSE,        IS_SELECTED, do_close },
	{ IV_UNSELECT,     IS_SELECTED, unselect },
	{ IV_FETCH,        IS_SELECTED, do_fetch },
	{ IV_EXPUNGE,      IS_SELECTED, do_expunge },
	{ IV_SEARCH,       IS_SELECTED, do_search },
	{ IV_STORE,        IS_SELECTED, do_store },
	{ IV_COPY,         IS_SELECTED, do_copy },
	{ IV_MOVE,         IS_SELECTED, do_copy },
};

static void
dispatch(struct imap *im, struct imap_cmd *c)
{
	const struct imap_cmdtab *row = NULL;

	for (size_t i = 0; i < sizeof(cmdtab) / sizeof(cmdtab[0]); i++)
		if (cmdtab[i].verb == c->verb)
			row = &cmdtab[i];
	if (row == NULL)
		fatalx("imap: verb %d missing from the command table", c->verb);
	im->commands++;
	log_debug("imap %s: command %s%s", im->s->sessid, c->uid ? "UID " : "",
	    imap_verb_name(c->verb));
	if (!(row->states & (int)im->state)) {
		if (row->states == IS_SELECTED && im->state == IS_AUTH)
			bad(im, c->tag, NULL, "No mailbox selected");
		else if (im->state == IS_NOTAUTH)
			bad(im, c->tag, NULL, "Log in first");
		else
			bad(im, c->tag, NULL, "Not valid in this state");
		return;
	}
	/* what others changed, told before the command's own answer (RFC
	 * 3501 7.4.1: never during FETCH, STORE or SEARCH; their UID forms
	 * may); NOOP, CHECK and IDLE sync themselves, SELECT starts afresh */
	if (im->state == IS_SELECTED && c->verb != IV_NOOP && c->verb != IV_CHECK &&
	    c->verb != IV_IDLE && c->verb != IV_SELECT && c->verb != IV_EXAMINE &&
	    c->verb != IV_LOGOUT && (c->uid || (c->verb != IV_FETCH &&
	    c->verb != IV_STORE && c->verb != IV_SEARCH)) && view_sync(im, false) < 0)
		return;
	row->action(im, c);
}

/* -------------------------------------------------------- reading input */

/*
 * The next line, its CRLF (or bare LF) put back, into im->line; an
 * over-long one is skipped (conn.c keeps its head and tail).  CONN_OK,
 * CONN_TOOLONG, or a negative conn code (answered and finished here).
 */
static int
read_line(struct imap *im, size_t max, size_t *len)
{
	struct conn *c = im->c;
	uint64_t deadline = now_ms() + (uint64_t)im->timeout;

	for (;;) {
		int flags = 0, r;
		uint64_t now;

		r = conn_getline(c, im->line, max, len, &flags);
		if (r == CONN_OK) {
			if (flags & LINE_CRLF)
				im->line[(*len)++] = '\r';
			im->line[(*len)++] = '\n';
			return CONN_OK;
		}
		if (r == CONN_TOOLONG)
			return r;
		/* nothing complete buffered: answers go out now */
		if ((r = conn_flush(c, im->timeout)) != CONN_OK) {
			conn_failed(im, r);
			return r;
		}
		now = now_ms();
		r = now >= deadline ? CONN_TIMEOUT : conn_fill(c, (int)(deadline - now));
		if (r != CONN_OK) {
			conn_failed(im, r);
			return r;
		}
	}
}

/* The limit of a command line now (CRLF included). */
static size_t
line_limit(const struct imap *im)
{
	return im->state == IS_NOTAUTH ? IMAP_LINE_PRELOGIN_BYTES :
	    im->s->conf->imap_max_line_length;
}

/* Feeds the parser the next line (or the skipped line's ends). */
static enum imap_step
feed_line(struct imap *im, int *over)
{
	size_t len = 0;
	int r = read_line(im, line_limit(im), &len);

	*over = 0;
	if (r == CONN_OK)
		return imap_cmd_line(im->cmd, im->line, len);
	if (r == CONN_TOOLONG)
		return imap_cmd_overlong(im->cmd, (const char *)im->c->ol_head,
		    im->c->ol_headlen, (const char *)im->c->ol_tail, im->c->ol_taillen);
	*over = 1;
	return IMAP_ERROR;
}

/* A literal's bytes into the parser, in pieces. */
static enum imap_step
take_literal(struct imap *im, int *over)
{
	struct imap_cmd *c = im->cmd;
	uint32_t left = c->lit_size;
	enum imap_step st = IMAP_NEXT_LINE;
	char buf[16384];

	*over = 0;
	if (c->lit_sync) {
		int r;

		out(im, "+ Ready for literal data");
		if ((r = conn_flush(im->c, im->timeout)) != CONN_OK) {
			conn_failed(im, r);
			*over = 1;
			return IMAP_ERROR;
		}
	}
	if (left == 0)
		return imap_cmd_literal(c, buf, 0);
	while (left > 0) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);
		int r = conn_readbytes(im->c, buf, n, im->timeout);

		if (r != CONN_OK) {
			conn_failed(im, r);
			*over = 1;
			return IMAP_ERROR;
		}
		st = imap_cmd_literal(c, buf, n);
		left -= (uint32_t)n;
		if (st != IMAP_NEXT_LINE && left > 0)
			break;
	}
	explicit_bzero(buf, sizeof(buf));
	return st;
}

/* APPEND's message literal, streamed into a sealed memfd (never kept in
 * the parser's arena). */
static enum imap_step
take_message(struct imap *im, int *over)
{
	struct imap_cmd *c = im->cmd;
	uint32_t left = c->lit_size;
	char buf[16384];
	int fd, r;

	*over = 0;
	if ((fd = memfd_new("postern-append")) == -1) {
		log_warn("imap %s: memfd for APPEND", im->s->sessid);
		im->refused_no = true;
		return imap_cmd_refuse(c, "SERVERBUG", "cannot take the message now");
	}
	if (c->lit_sync) {
		out(im, "+ Ready for literal data");
		if ((r = conn_flush(im->c, im->timeout)) != CONN_OK) {
			close(fd);
			conn_failed(im, r);
			*over = 1;
			return IMAP_ERROR;
		}
	}
	while (left > 0) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);

		if ((r = conn_readbytes(im->c, buf, n, im->timeout)) != CONN_OK) {
			close(fd);
			conn_failed(im, r);
			*over = 1;
			return IMAP_ERROR;
		}
		if (write_all(fd, buf, n) == -1) {
			/* the rest of the literal is still read, and dropped */
			log_warn("imap %s: writing the APPEND memfd", im->s->sessid);
			close(fd);
			fd = -1;
			left -= (uint32_t)n;
			if (left > 0 && conn_readbytes(im->c, NULL, left, im->timeout) != CONN_OK) {
				conn_failed(im, CONN_ERROR);
				*over = 1;
				return IMAP_ERROR;
			}
			break;
		}
		left -= (uint32_t)n;
	}
	explicit_bzero(buf, sizeof(buf));
	if (fd >= 0 && memfd_seal(fd) == -1) {
		close(fd);
		fd = -1;
	}
	im->append_fd = fd;     /* -1: do_append answers NO */
	return imap_cmd_literal_external(c);
}

/* Reads, checks and runs one command. */
static void
command(struct imap *im)
{
	struct imap_cmd *c = im->cmd;
	enum imap_step st;
	int over;

	imap_cmd_reset(c, line_limit(im));
	im->refused_no = false;
	if (im->append_fd >= 0)
		close(im->append_fd);
	im->append_fd = -1;
	st = feed_line(im, &over);
	for (;;) {
		if (over || im->done)
			return;
		switch (st) {
		case IMAP_DONE:
			dispatch(im, c);
			return;
		case IMAP_LITERAL:
			/* APPEND's message: its size is checked before any
			 * "+" (RFC 7888: a LITERAL- one over 4 KiB, or a
			 * refused one, is read and thrown away) */
			if (c->lit_message) {
				if (im->state == IS_NOTAUTH) {
					st = imap_cmd_refuse(c, NULL, "Log in first");
					continue;
				}
				if (c->lit_size == 0 ||
				    c->lit_size > im->s->conf->max_message_size) {
					im->refused_no = true;
					st = imap_cmd_refuse(c, "TOOBIG", c->lit_size == 0 ?
					    "Empty message" : "Message larger than the "
					    "server accepts (max-message-size)");
					continue;
				}
				st = take_message(im, &over);
				continue;
			}
			st = take_literal(im, &over);
			continue;
		case IMAP_NEXT_LINE:
			st = feed_line(im, &over);
			continue;
		case IMAP_DISCARD:
			/* a literal the client sends without waiting: thrown
			 * away, up to the largest message we would take */
			if (c->discard > im->s->conf->max_message_size) {
				out(im, "* BYE [TOOBIG] Literal too large");
				finish(im, "literal too large");
				return;
			}
			if (c->discard > 0) {
				int r = conn_readbytes(im->c, NULL, (size_t)c->discard,
				    im->timeout);

				if (r != CONN_OK) {
					conn_failed(im, r);
					return;
				}
			}
			st = feed_line(im, &over);
			continue;
		case IMAP_ERROR:
			log_debug("imap %s: %s: %s", im->s->sessid,
			    imap_err_text(c->err), c->why ? c->why : "?");
			if (im->refused_no && c->err == IE_REFUSED)
				out(im, "%s NO [%s] %s", c->tag, c->code ? c->code : "CANNOT",
				    c->why ? c->why : "Refused");
			else
				bad(im, c->tag, c->code, c->why ? c->why : "Invalid command");
			return;
		}
	}
}

/* --------------------------------------------------------- the session */

void
imap_session(struct session *s)
{
	struct imap *im = xcalloc(1, sizeof(*im));
	char caps[256];

	im->s = s;
	im->c = s->conn;
	im->state = IS_NOTAUTH;
	im->timeout = s->conf->imap_timeout_ms > 0 &&
	    s->conf->imap_timeout_ms < (uint32_t)INT32_MAX ?
	    (int)s->conf->imap_timeout_ms : 30 * 60 * 1000;
	im->end = "unknown";
	im->append_fd = -1;
	im->linesz = IMAP_CMD_MAX_BYTES + 2;
	im->line = xmalloc(im->linesz);
	if ((im->cmd = imap_cmd_new()) == NULL) {
		out(im, "* BYE [UNAVAILABLE] Out of memory");
		finish(im, "out of memory");
	} else {
		capabilities(im, caps, sizeof(caps));
		out(im, "* OK [CAPABILITY %s] postern ready", caps);
	}
	while (!im->done) {
		command(im);
		if (im->c->error)
			finish(im, "i/o error");
	}
	(void)conn_flush(im->c, POP3_FINAL_FLUSH_MS);
	log_info("imap session %s: client=%s account=%s commands=%u sent=%" PRIu64
	    " end=%s", s->sessid, s->client, im->account[0] ? im->account : "-",
	    im->commands, im->c->bytes_out, im->end);
	sc_view_free(&im->view);
	if (im->append_fd >= 0)
		close(im->append_fd);
	imap_cmd_free(im->cmd);
	explicit_bzero(im->line, im->linesz);
	free(im->line);
	sc_forget();
	explicit_bzero(im, sizeof(*im));
	free(im);
}
