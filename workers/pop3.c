/*
 * The POP3 session (RFC 1939, RFC 2449 CAPA and response codes, RFC 5034
 * AUTH PLAIN, RFC 2595 STLS hook).  One session per call; the worker frame
 * (worker.c) accepts, hands us the connection and recycles the process.
 *
 * The worker never sees a mailbox file or a password hash: it asks the
 * store to verify a password (MSG_AUTH), gets back a snapshot listing in a
 * memfd, and asks for each message (MSG_RETR) as a sealed memfd that it
 * streams to the client with CRLF line ends and dot-stuffing (pop3_out.c).
 *
 * A session is a state (AUTHORIZATION, TRANSACTION, UPDATE) plus a command
 * table: each row says in which states the command may run, an optional
 * check (arguments in range, policy) that answers -ERR by itself, and the
 * action (OpenSMTPD smtp_session.c).
 *
 * Decisions worth knowing:
 *  - USER always answers +OK; the name is checked at PASS, so an unknown
 *    name and a wrong password look the same (text, and timing: the store
 *    returns the delay for both).
 *  - Plaintext policy (conf->plaintext_auth): when USER/PASS and AUTH PLAIN
 *    are not allowed on this connection, CAPA lists neither USER nor SASL
 *    (as Dovecot does) and the commands answer
 *    "-ERR [AUTH] plaintext authentication disallowed on non-TLS
 *    connections; use STLS".
 *  - USER, SASL PLAIN are listed in CAPA in both states when allowed; STLS
 *    only in AUTHORIZATION, when a certificate is configured and TLS is
 *    not up yet.
 *  - The password of PASS is the rest of the line (spaces allowed,
 *    RFC 1939 7), up to the command line limit; every other argument is
 *    at most 40 octets.
 *  - A message number outside the snapshot is answered by the worker and
 *    never sent to the store; so is a message marked deleted.
 *  - DELE is pipelined to the store (sc_dele) with the next request:
 *    +OK without a round trip; the marks queued since the last request go
 *    in one message, and the store's answer is checked before that
 *    request's.
 *  - RETR reads ahead: a client that reads its messages in order gets
 *    them from the memfd of an earlier answer, which holds up to
 *    1 + LIM_RETR_AHEAD messages (send_message()).  The memfd is closed at
 *    the end of the session.
 *  - After POP3_BAD_COMMANDS_MAX_COUNT unparseable/invalid commands the
 *    session is closed.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../privsep/event.h"
#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/params.h"
#include "../privsep/util.h"
#include "conn.h"
#include "pop3_out.h"
#include "pop3_parse.h"
#include "storecli.h"
#include "tls.h"
#include "worker.h"

#define P3_GREETING          "+OK postern ready"

enum pop3_state {
	ST_AUTH   = 0x01,   /* AUTHORIZATION */
	ST_TRANS  = 0x02,   /* TRANSACTION */
	ST_UPDATE = 0x04,   /* QUIT received in TRANSACTION */
};

struct pop3 {
	struct session *s;
	struct conn *c;
	enum pop3_state state;
	int timeout;                    /* autologout, ms */
	bool done;                      /* the session is over */
	const char *end;                /* how it ended, for the log */

	bool have_user;
	char user[LIM_NAME + 1];        /* from USER, checked at PASS */
	char account[LIM_NAME + 1];     /* the store's name, once in */
	bool bound;                     /* the store holds the maildrop for us */

	uint32_t count;
	uint64_t total;
	struct sc_listent *msgs;

	uint32_t auth_failures, bad_commands;
	uint32_t retrieved, deleted;
	uint32_t last_delay_ms;

	/* read-ahead: the messages of the last RETR answer, in one memfd */
	struct sc_batch ra;
	uint32_t ra_ahead;              /* how many more the last RETR asked */
	uint32_t ra_next;               /* what a sequential reader asks next */

	/* arguments checked by the check functions */
	uint32_t msgno, lines;
	bool has_msgno;
};

/* ---------------------------------------------------------------- output */

static void reply(struct pop3 *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queues one response line with CRLF; failures stick in c->error. */
static void
reply(struct pop3 *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vline(p->c, p->timeout, fmt, ap);
	va_end(ap);
}

static void
set_state(struct pop3 *p, enum pop3_state st)
{
	static const char *names[] = { "", "AUTHORIZATION", "TRANSACTION", "", "UPDATE" };

	log_debug("pop3 %s: state %s -> %s", p->s->sessid, names[p->state],
	    names[st]);
	p->state = st;
}

static void
finish(struct pop3 *p, const char *how)
{
	if (!p->done) {
		p->done = true;
		p->end = how;
	}
}

/* ------------------------------------------------------------ the store */

/* Session over without UPDATE: the store keeps every message. */
static void
release(struct pop3 *p)
{
	uint32_t status;

	if (!p->bound || store_dead())
		return;
	p->bound = false;
	if (sc_release(p->s, &status) < 0 || status != STORE_OK)
		log_warnx("pop3 %s: release of %s failed", p->s->sessid,
		    p->account);
}

/* ----------------------------------------------------- connection events */

/* A conn_* failure ends the session with the answer the brief asks for. */
static void
conn_failed(struct pop3 *p, int r)
{
	switch (r) {
	case CONN_SHUTDOWN:
		reply(p, "-ERR [SYS/TEMP] server shutting down");
		finish(p, "shutdown");
		break;
	case CONN_TIMEOUT:
		reply(p, "-ERR autologout; idle for too long");
		finish(p, "timeout");
		break;
	case CONN_EOF:
		finish(p, "disconnected");
		break;
	default:
		finish(p, "i/o error");
		break;
	}
}

/*
 * Waits ms milliseconds before an authentication answer, watching the
 * master's control channel; false when the shutdown deadline came first.
 */
static bool
login_delay(struct pop3 *p, uint32_t ms)
{
	if (ms > POP3_LOGIN_DELAY_MAX_MS)
		ms = POP3_LOGIN_DELAY_MAX_MS;
	p->last_delay_ms = ms;
	return conn_pause(p->c, ms, p->timeout);
}

/* --------------------------------------------------------- authorization */

static bool
plaintext_ok(const struct pop3 *p)
{
	return session_plaintext_ok(p->s);
}

static bool
stls_offered(const struct pop3 *p)
{
	return p->s->conf->tls_cert[0] != '\0' && !p->s->tls &&
	    p->state == ST_AUTH;
}

static void
reply_plaintext_refused(struct pop3 *p)
{
	reply(p, "-ERR [AUTH] plaintext authentication disallowed on "
	    "non-TLS connections; use STLS");
}

static void
auth_failed(struct pop3 *p)
{
	uint32_t max = p->s->conf->max_auth_failures;

	p->auth_failures++;
	ev_send(EV_LOGIN_FAIL, 0, 1, NULL);
	if (max > 0 && p->auth_failures >= max) {
		reply(p, "-ERR [AUTH] too many failures");
		finish(p, "too many auth failures");
		return;
	}
	reply(p, "-ERR [AUTH] invalid user name or password");
}

/* A login the store accepted (a->status AUTH_OK): TRANSACTION. */
static void
auth_ok(struct pop3 *p, struct sc_auth *a)
{
	strlcpy_(p->account, a->account, sizeof(p->account));
	p->count = a->count;
	p->total = a->octets;
	p->msgs = a->list;
	if (!login_delay(p, a->delay_ms)) {
		release(p);
		conn_failed(p, CONN_SHUTDOWN);
		return;
	}
	set_state(p, ST_TRANS);
	ev_send(EV_LOGIN_OK, 0, 1, p->account);
	log_debug("pop3 %s: %s logged in, %u messages, %" PRIu64 " octets",
	    p->s->sessid, p->account, p->count, p->total);
	reply(p, "+OK maildrop has %u messages (%" PRIu64 " octets)",
	    p->count, p->total);
}

/* A login the store refused (a->status not AUTH_OK). */
static void
auth_refused(struct pop3 *p, const char *user, const struct sc_auth *a)
{
	if (!login_delay(p, a->delay_ms)) {
		conn_failed(p, CONN_SHUTDOWN);
		return;
	}
	switch (a->status) {
	case AUTH_BAD:
		log_info("pop3 %s: client=%s user=%s login failed",
		    p->s->sessid, p->s->client, user);
		auth_failed(p);
		break;
	case AUTH_INUSE:
		log_info("pop3 %s: client=%s user=%s maildrop in use",
		    p->s->sessid, p->s->client, user);
		reply(p, "-ERR [IN-USE] maildrop is locked by another session");
		break;
	case AUTH_LOGIN_DELAY:
		log_info("pop3 %s: client=%s user=%s login-delay not over",
		    p->s->sessid, p->s->client, user);
		reply(p, "-ERR [LOGIN-DELAY] wait %u seconds between logins",
		    p->s->conf->login_delay_s);
		break;
	case AUTH_TEMP:
	default:
		ev_send(EV_TEMPFAIL, TF_STORE_ERROR, 1, NULL);
		reply(p, "-ERR [SYS/TEMP] temporary failure, try again later");
		break;
	}
}

/*
 * Asks the store to verify user/pass and answers the client.  Wipes pass.
 */
static void
login(struct pop3 *p, const char *user, char *pass)
{
	struct sc_auth a;
	int r;

	p->have_user = false;
	if (user[0] == '\0' || pass[0] == '\0') {
		/* cannot be an account: never reaches the store */
		explicit_bzero(pass, strlen(pass));
		if (!login_delay(p, p->last_delay_ms)) {
			conn_failed(p, CONN_SHUTDOWN);
			return;
		}
		auth_failed(p);
		return;
	}
	/*
	 * Any other name goes to the store, even one that cannot be an
	 * account ("../x"): the store spends the same crypt work on it and
	 * counts the failure, so text and timing are those of any unknown
	 * name.
	 */
	r = sc_auth(p->s, user, pass, &a);
	if (r == SC_UNAVAILABLE) {
		log_warnx("pop3 %s: store unavailable for AUTH", p->s->sessid);
		reply(p, "-ERR [SYS/TEMP] mail store unavailable, try again later");
		ev_send(EV_TEMPFAIL, TF_STORE_UNAVAILABLE, 1, NULL);
		finish(p, "store unavailable");
	} else if (r < 0) {
		p->bound = a.status == AUTH_OK;   /* the store holds it: let go */
		strlcpy_(p->account, a.account, sizeof(p->account));
		release(p);
		reply(p, "-ERR [SYS/TEMP] mail store error, try again later");
		finish(p, "store error");
	} else if (a.status == AUTH_OK) {
		p->bound = true;
		auth_ok(p, &a);
	} else
		auth_refused(p, user, &a);
	explicit_bzero(&a, sizeof(a));
}

/* -------------------------------------------------------------- checks */

static int
check_plaintext(struct pop3 *p, struct pop3_cmd *cmd)
{
	if (plaintext_ok(p))
		return 0;
	reply_plaintext_refused(p);
	return -1;
}

static int
check_pass(struct pop3 *p, struct pop3_cmd *cmd)
{
	if (!p->have_user) {
		reply(p, "-ERR USER first");
		return -1;
	}
	return check_plaintext(p, cmd);
}

static int
check_stls(struct pop3 *p, struct pop3_cmd *cmd)
{
	if (stls_offered(p))
		return 0;
	reply(p, "-ERR STLS not available");
	return -1;
}

/* A message number of the snapshot that is not deleted. */
static int
msgno_arg(struct pop3 *p, const char *arg)
{
	if (pop3_parse_num(arg, 1, UINT32_MAX, &p->msgno) < 0) {
		reply(p, "-ERR invalid message number");
		return -1;
	}
	if (p->msgno > p->count) {
		reply(p, "-ERR no such message");
		return -1;
	}
	if (p->msgs[p->msgno - 1].deleted) {
		reply(p, "-ERR message %u already deleted", p->msgno);
		return -1;
	}
	return 0;
}

static int
check_msg(struct pop3 *p, struct pop3_cmd *cmd)
{
	p->has_msgno = true;
	return msgno_arg(p, cmd->arg[0]);
}

static int
check_msg_opt(struct pop3 *p, struct pop3_cmd *cmd)
{
	p->has_msgno = cmd->nargs == 1;
	return p->has_msgno ? msgno_arg(p, cmd->arg[0]) : 0;
}

static int
check_top(struct pop3 *p, struct pop3_cmd *cmd)
{
	if (pop3_parse_num(cmd->arg[1], 0, UINT32_MAX, &p->lines) < 0) {
		reply(p, "-ERR invalid number of lines");
		return -1;
	}
	return check_msg(p, cmd);
}

/* ------------------------------------------------ AUTHORIZATION actions */

static void
do_user(struct pop3 *p, struct pop3_cmd *cmd)
{
	strlcpy_(p->user, cmd->arg[0], sizeof(p->user));
	/* a name longer than any account still gets +OK; PASS fails it */
	if (strlen(cmd->arg[0]) > LIM_NAME)
		p->user[0] = '\0';
	p->have_user = true;
	reply(p, "+OK send PASS");
}

static void
do_pass(struct pop3 *p, struct pop3_cmd *cmd)
{
	char user[LIM_NAME + 1];

	strlcpy_(user, p->user, sizeof(user));
	login(p, user, cmd->arg[0]);
}

static void
do_apop(struct pop3 *p, struct pop3_cmd *cmd)
{
	reply(p, "-ERR APOP not supported");
}

/* Reads the client's response to "+ " for AUTH PLAIN; -1 when over. */
static int
sasl_read(struct pop3 *p, char *buf, size_t size)
{
	size_t len;
	int flags, r;

	reply(p, "+ ");
	if (conn_flush(p->c, p->timeout) != CONN_OK) {
		finish(p, "i/o error");
		return -1;
	}
	r = conn_readline(p->c, buf, size, &len, &flags, p->timeout);
	if (r == CONN_TOOLONG) {
		reply(p, "-ERR [AUTH] response too long");
		return -1;
	}
	if (r != CONN_OK) {
		conn_failed(p, r);
		return -1;
	}
	if (flags & (LINE_NUL | LINE_BARE_CR) || len != strlen(buf)) {
		reply(p, "-ERR [AUTH] malformed response");
		return -1;
	}
	if (strcmp(buf, "*") == 0) {
		reply(p, "-ERR authentication cancelled");
		return -1;
	}
	return 0;
}

static void
do_auth(struct pop3 *p, struct pop3_cmd *cmd)
{
	char line[P3_SASL_LINE];
	unsigned char dec[P3_SASL_LINE];
	char user[LIM_NAME + 1], pass[LIM_PASSWORD];
	const char *resp;
	long n;

	if (cmd->nargs == 0) {          /* RFC 1734 style mechanism list */
		reply(p, "+OK");
		if (plaintext_ok(p))
			reply(p, "PLAIN");
		reply(p, ".");
		return;
	}
	if (strcasecmp(cmd->arg[0], "PLAIN") != 0) {
		reply(p, "-ERR unsupported authentication mechanism");
		return;
	}
	if (!plaintext_ok(p)) {
		reply_plaintext_refused(p);
		return;
	}
	if (cmd->nargs == 2)
		resp = cmd->arg[1];
	else {
		if (sasl_read(p, line, sizeof(line)) < 0)
			goto out;
		resp = line;
	}
	n = pop3_b64_decode(resp, strlen(resp), dec, sizeof(dec));
	if (n < 0 || pop3_sasl_plain(dec, (size_t)n, user, pass) < 0) {
		reply(p, "-ERR [AUTH] malformed PLAIN response");
		goto out;
	}
	login(p, user, pass);
out:
	explicit_bzero(line, sizeof(line));
	explicit_bzero(dec, sizeof(dec));
	explicit_bzero(pass, sizeof(pass));
}

/*
 * STLS (RFC 2595).  HOOK FOR THE TLS WORK: answer "+OK begin TLS
 * negotiation", flush, call conn_discard_input() (commands pipelined
 * before the handshake must never be executed), run the handshake, set
 * p->s->tls, forget any USER given so far, and stay in AUTHORIZATION.
 * Until then it refuses.
 */
static int
pop3_stls(struct session *s)
{
	return session_starttls(s, "STLS", "-ERR [SYS/TEMP] TLS not available\r\n",
	    "+OK begin TLS negotiation\r\n");
}

static void
do_stls(struct pop3 *p, struct pop3_cmd *cmd)
{
	if (pop3_stls(p->s) == 0)
		p->have_user = false;
}

static void
do_capa(struct pop3 *p, struct pop3_cmd *cmd)
{
	const struct conf *cf = p->s->conf;

	reply(p, "+OK capability list follows");
	if (plaintext_ok(p)) {
		reply(p, "USER");
		reply(p, "SASL PLAIN");
	}
	if (stls_offered(p))
		reply(p, "STLS");
	reply(p, "TOP");
	reply(p, "UIDL");
	reply(p, "RESP-CODES");
	reply(p, "AUTH-RESP-CODE");
	reply(p, "PIPELINING");
	reply(p, "EXPIRE NEVER");
	if (cf->login_delay_s > 0)
		reply(p, "LOGIN-DELAY %u", cf->login_delay_s);
	reply(p, "IMPLEMENTATION postern");
	reply(p, ".");
}

static void
do_quit(struct pop3 *p, struct pop3_cmd *cmd)
{
	uint32_t status = STORE_TEMPFAIL, ndel = 0;
	int r;

	if (p->state == ST_AUTH) {
		reply(p, "+OK postern signing off");
		finish(p, "quit");
		return;
	}
	set_state(p, ST_UPDATE);
	p->bound = false;    /* after COMMIT the store has let go either way */
	r = sc_commit(p->s, &status, &ndel);
	if (r == SC_UNAVAILABLE) {
		reply(p, "-ERR [SYS/TEMP] mail store unavailable; the update "
		    "may not have happened");
		finish(p, "commit failed");
		return;
	}
	if (r < 0)
		status = STORE_TEMPFAIL;
	if (status != STORE_OK) {
		reply(p, "-ERR [SYS/TEMP] could not update the maildrop; "
		    "nothing was deleted");
		finish(p, "commit failed");
		return;
	}
	p->deleted = ndel;
	reply(p, "+OK postern signing off (%u messages deleted)", ndel);
	finish(p, "quit");
}

/* -------------------------------------------------- TRANSACTION actions */

static void
live_totals(const struct pop3 *p, uint32_t *n, uint64_t *octets)
{
	*n = 0;
	*octets = 0;
	for (uint32_t i = 0; i < p->count; i++)
		if (!p->msgs[i].deleted) {
			(*n)++;
			*octets += p->msgs[i].octets;
		}
}

static void
do_stat(struct pop3 *p, struct pop3_cmd *cmd)
{
	uint32_t n;
	uint64_t o;

	live_totals(p, &n, &o);
	reply(p, "+OK %u %" PRIu64, n, o);
}

static void
do_list(struct pop3 *p, struct pop3_cmd *cmd)
{
	uint32_t n;
	uint64_t o;

	if (p->has_msgno) {
		reply(p, "+OK %u %" PRIu64, p->msgno,
		    p->msgs[p->msgno - 1].octets);
		return;
	}
	live_totals(p, &n, &o);
	reply(p, "+OK %u messages (%" PRIu64 " octets)", n, o);
	for (uint32_t i = 0; i < p->count && !p->c->error; i++)
		if (!p->msgs[i].deleted)
			reply(p, "%u %" PRIu64, i + 1, p->msgs[i].octets);
	reply(p, ".");
}

static void
do_uidl(struct pop3 *p, struct pop3_cmd *cmd)
{
	if (p->has_msgno) {
		reply(p, "+OK %u %s", p->msgno, p->msgs[p->msgno - 1].uid);
		return;
	}
	reply(p, "+OK unique-id listing follows");
	for (uint32_t i = 0; i < p->count && !p->c->error; i++)
		if (!p->msgs[i].deleted)
			reply(p, "%u %s", i + 1, p->msgs[i].uid);
	reply(p, ".");
}

/* ----------------------------------------------------- RETR and TOP */

static void
ra_drop(struct pop3 *p)
{
	if (p->ra.fd >= 0)
		close(p->ra.fd);
	p->ra.fd = -1;
	p->ra.n = 0;
}

/* The read-ahead slot that holds message no, or -1. */
static int
ra_find(const struct pop3 *p, uint32_t no)
{
	for (uint32_t i = 0; i < p->ra.n; i++)
		if (p->ra.no[i] == no)
			return (int)i;
	return -1;
}

/*
 * Asks the store for message p->msgno (whole, or its header and lines
 * body lines for TOP) and, for a RETR, up to ahead of the messages after
 * it; the answer replaces the read-ahead slots (p->msgno in slot 0).
 * 0 ok; 1 the store could not read it (the client was told); -1 the
 * session is over (the client was told).
 */
static int
fetch(struct pop3 *p, uint32_t lines, uint32_t ahead)
{
	uint32_t status;
	int r;

	ra_drop(p);
	r = sc_retr(p->s, p->msgno, lines, ahead, p->count, &status, &p->ra);
	if (r == SC_UNAVAILABLE) {
		log_warnx("pop3 %s: store request %s failed", p->s->sessid,
		    msg_name(MSG_RETR));
		reply(p, "-ERR [SYS/TEMP] mail store unavailable");
		finish(p, "store unavailable");
		return -1;
	}
	if (r < 0) {
		reply(p, "-ERR [SYS/TEMP] mail store error");
		finish(p, "store error");
		return -1;
	}
	if (status != STORE_OK) {
		reply(p, "-ERR [SYS/TEMP] cannot read message %u", p->msgno);
		return 1;
	}
	return 0;
}

/*
 * RETR (lines == LIM_ALL_LINES) and TOP.  A RETR is served from the
 * read-ahead slots when the message is there; otherwise it is fetched,
 * with a read-ahead that doubles (up to LIM_RETR_AHEAD) while the client
 * reads the messages in order and starts again at 0 when it jumps, as a
 * file system's read-ahead does.  TOP fetches just the lines it needs.
 */
static void
send_message(struct pop3 *p, uint32_t lines)
{
	bool top = lines != LIM_ALL_LINES, from_ra = false;
	uint64_t wire;
	int i, r;

	if (!top && (i = ra_find(p, p->msgno)) >= 0)
		from_ra = true;
	else {
		uint32_t ahead = 0;

		if (!top) {
			if (p->msgno == p->ra_next)
				ahead = p->ra_ahead >= LIM_RETR_AHEAD / 2 ?
				    LIM_RETR_AHEAD : 2 * p->ra_ahead + 1;
			p->ra_ahead = ahead;
		}
		if (fetch(p, lines, ahead) != 0)
			return;
		i = 0;
	}
	if (top)
		reply(p, "+OK top of message follows");
	else {
		if (pop3_wire_octets(p->ra.fd, p->ra.off[i], p->ra.len[i], &wire) < 0) {
			r = P3_OUT_READERR;
			goto failed;
		}
		if (wire != p->msgs[p->msgno - 1].octets)
			log_warnx("pop3 %s: message %u is %" PRIu64 " octets, "
			    "listed as %" PRIu64, p->s->sessid, p->msgno, wire,
			    p->msgs[p->msgno - 1].octets);
		reply(p, "+OK %" PRIu64 " octets", wire);
	}
	r = pop3_send_message(p->c, p->ra.fd, p->ra.off[i], p->ra.len[i], p->timeout);
	if (top)
		ra_drop(p);     /* cut short: never served to a RETR */
	if (r == 0) {
		if (!top) {
			p->retrieved++;
			p->ra_next = p->msgno + 1;
			/* the store marked the one it was asked for; this one
			 * it learns with the next request (pop3-sets-seen) */
			if (from_ra && p->s->conf->pop3_sets_seen &&
			    sc_seen(p->s, p->msgno) < 0)
				log_warnx("pop3 %s: store unavailable for \\Seen of %u",
				    p->s->sessid, p->msgno);
		}
		return;
	}
failed:
	if (r == P3_OUT_READERR) {
		log_warn("pop3 %s: reading message %u", p->s->sessid, p->msgno);
		finish(p, "store error");
		return;
	}
	conn_failed(p, r);
}

static void
do_retr(struct pop3 *p, struct pop3_cmd *cmd)
{
	send_message(p, LIM_ALL_LINES);
}

static void
do_top(struct pop3 *p, struct pop3_cmd *cmd)
{
	/* LIM_ALL_LINES is also "more lines than any body": same answer */
	send_message(p, p->lines);
}

/*
 * DELE does not wait for the store: the number was checked against the
 * snapshot (msgno_arg), and the mark is queued and sent, pipelined, just
 * before the next request (RETR, TOP, RSET's UNDO, COMMIT, RELEASE), so
 * that the store reads the marks and that request in one pass; their
 * answers are checked (STORE_OK, in order) before that request's.  A
 * refused or lost mark kills the channel, so the session can only end
 * without a COMMIT (nothing deleted) or with -ERR [SYS/TEMP].
 */
static void
do_dele(struct pop3 *p, struct pop3_cmd *cmd)
{
	if (sc_dele(p->s, p->msgno) < 0) {
		reply(p, "-ERR [SYS/TEMP] mail store unavailable");
		finish(p, "store unavailable");
		return;
	}
	p->msgs[p->msgno - 1].deleted = true;
	reply(p, "+OK message %u deleted", p->msgno);
}

static void
do_noop(struct pop3 *p, struct pop3_cmd *cmd)
{
	reply(p, "+OK");
}

static void
do_rset(struct pop3 *p, struct pop3_cmd *cmd)
{
	uint32_t status;

	if (sc_undo(p->s, &status) < 0) {
		reply(p, "-ERR [SYS/TEMP] mail store unavailable");
		finish(p, "store unavailable");
		return;
	}
	if (status != STORE_OK) {
		reply(p, "-ERR [SYS/TEMP] cannot undelete");
		return;
	}
	for (uint32_t i = 0; i < p->count; i++)
		p->msgs[i].deleted = false;
	reply(p, "+OK maildrop has %u messages (%" PRIu64 " octets)",
	    p->count, p->total);
}

/* ------------------------------------------------------- command table */

static const struct pop3_cmdtab {
	enum pop3_verb verb;
	int states;
	int (*check)(struct pop3 *, struct pop3_cmd *);
	void (*action)(struct pop3 *, struct pop3_cmd *);
} cmdtab[] = {
	{ P3_USER, ST_AUTH,            check_plaintext, do_user },
	{ P3_PASS, ST_AUTH,            check_pass,      do_pass },
	{ P3_APOP, ST_AUTH,            NULL,            do_apop },
	{ P3_AUTH, ST_AUTH,            NULL,            do_auth },
	{ P3_STLS, ST_AUTH,            check_stls,      do_stls },
	{ P3_CAPA, ST_AUTH | ST_TRANS, NULL,            do_capa },
	{ P3_QUIT, ST_AUTH | ST_TRANS, NULL,            do_quit },
	{ P3_STAT, ST_TRANS,           NULL,            do_stat },
	{ P3_LIST, ST_TRANS,           check_msg_opt,   do_list },
	{ P3_RETR, ST_TRANS,           check_msg,       do_retr },
	{ P3_DELE, ST_TRANS,           check_msg,       do_dele },
	{ P3_NOOP, ST_TRANS,           NULL,            do_noop },
	{ P3_RSET, ST_TRANS,           NULL,            do_rset },
	{ P3_TOP,  ST_TRANS,           check_top,       do_top },
	{ P3_UIDL, ST_TRANS,           check_msg_opt,   do_uidl },
};

/* Answers "-ERR text", counting toward POP3_BAD_COMMANDS_MAX_COUNT. */
static void
bad_command(struct pop3 *p, const char *text)
{
	if (++p->bad_commands >= POP3_BAD_COMMANDS_MAX_COUNT) {
		reply(p, "-ERR too many bad commands");
		finish(p, "too many bad commands");
		return;
	}
	reply(p, "-ERR %s", text);
}

static void
handle_line(struct pop3 *p, char *line, size_t len)
{
	struct pop3_cmd cmd;
	enum pop3_perr e;
	const struct pop3_cmdtab *row = NULL;

	e = pop3_parse_line(line, len, &cmd);
	explicit_bzero(line, len);
	if (e != P3E_OK) {
		if (e == P3E_SYNTAX || e == P3E_ARGLONG)
			log_debug("pop3 %s: %s: %s", p->s->sessid,
			    pop3_verb_name(cmd.verb), pop3_perr_text(e));
		bad_command(p, pop3_perr_text(e));
		goto out;
	}
	for (size_t i = 0; i < sizeof(cmdtab) / sizeof(cmdtab[0]); i++)
		if (cmdtab[i].verb == cmd.verb)
			row = &cmdtab[i];
	if (row == NULL)
		fatalx("pop3: verb %d missing from the command table", cmd.verb);
	log_debug("pop3 %s: command %s", p->s->sessid, pop3_verb_name(cmd.verb));
	if (!(row->states & (int)p->state)) {
		char text[64];

		(void)bsnprintf(text, sizeof(text), "%s not valid in this state",
		    pop3_verb_name(cmd.verb));
		bad_command(p, text);
		goto out;
	}
	if (row->check != NULL && row->check(p, &cmd) < 0)
		goto out;
	row->action(p, &cmd);
out:
	explicit_bzero(&cmd, sizeof(cmd));
}

/* --------------------------------------------------------- the session */

static void
run(struct pop3 *p)
{
	struct conn *c = p->c;
	char line[LIM_POP3_CMDLINE];
	uint64_t deadline = now_ms() + (uint64_t)p->timeout;

	reply(p, P3_GREETING);
	while (!p->done) {
		size_t len = 0;
		int flags = 0, r;

		r = conn_getline(c, line, sizeof(line), &len, &flags);
		if (r == CONN_AGAIN) {
			uint64_t now;

			/* nothing complete buffered: answers go out now */
			if ((r = conn_flush(c, p->timeout)) != CONN_OK) {
				conn_failed(p, r);
				break;
			}
			now = now_ms();
			r = now >= deadline ? CONN_TIMEOUT :
			    conn_fill(c, (int)(deadline - now));
			if (r != CONN_OK)
				conn_failed(p, r);
			continue;
		}
		deadline = now_ms() + (uint64_t)p->timeout;
		if (r == CONN_TOOLONG)
			bad_command(p, pop3_perr_text(P3E_LINELONG));
		else if (r == CONN_OK) {
			handle_line(p, line, len);
			/* a long RETR to a slow reader is not idleness */
			deadline = now_ms() + (uint64_t)p->timeout;
		} else
			conn_failed(p, r);
		if (c->error)
			finish(p, "i/o error");
	}
	(void)conn_flush(c, POP3_FINAL_FLUSH_MS);
}

void
pop3_session(struct session *s)
{
	struct pop3 *p = xcalloc(1, sizeof(*p));

	p->s = s;
	p->c = s->conn;
	p->state = ST_AUTH;
	p->timeout = s->conf->pop3_timeout_ms > 0 &&
	    s->conf->pop3_timeout_ms < (uint32_t)INT32_MAX ?
	    (int)s->conf->pop3_timeout_ms : (int)POP3_TIMEOUT_DEFAULT_MS;
	p->ra.fd = -1;
	p->ra_next = 1;
	p->end = "unknown";
	log_debug("pop3 %s: session from %s", s->sessid, s->client);

	run(p);
	release(p);
	ra_drop(p);

	log_info("pop3 session %s: client=%s account=%s retrieved=%u "
	    "deleted=%u sent=%" PRIu64 " end=%s", s->sessid, s->client,
	    p->account[0] ? p->account : "-", p->retrieved, p->deleted,
	    p->c->bytes_out, p->end);
	free(p->msgs);
	sc_forget();
	explicit_bzero(p, sizeof(*p));
	free(p);
}
