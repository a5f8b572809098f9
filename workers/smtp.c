/*
 * The SMTP session (RFC 5321 server side): one client, from the greeting to
 * QUIT.  A session is a state plus a command table whose rows separate the
 * check (may this command run now, is its argument well formed?) from the
 * action (OpenSMTPD smtp_session.c).  Every reply carries an enhanced status
 * code (RFC 2034/3463) except the greeting, the HELO/EHLO answers and 354.
 *
 * Pipelining (RFC 2920): commands are taken from the input buffer one line at
 * a time, replies are buffered in order, and the output is flushed only when
 * no complete command line is left in the buffer (and before every wait for
 * DATA), so replies are never lost or reordered however the client's bytes
 * are split.
 *
 * Recipients: local domains only (conf_is_local_domain), never relay; the
 * store resolves the local part (accounts, aliases, postmaster) and answers
 * with account names, which are kept deduplicated: an account reached twice
 * gets the message once.  The recipient limit counts accepted RCPT commands.
 *
 * SMTPUTF8 (RFC 6531): advertised; a non-ASCII address is accepted only in a
 * transaction whose MAIL FROM carried the SMTPUTF8 parameter (otherwise
 * 553 5.6.7), and must be valid UTF-8.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/conf.h"
#include "../privsep/event.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/params.h"
#include "../privsep/util.h"
#include "conn.h"
#include "smtp_data.h"
#include "smtp_parse.h"
#include "storecli.h"
#include "tls.h"
#include "worker.h"

/* read_command(): smtp-command-deadline reached (beside conn.h's codes) */
#define CONN_DEADLINE           (-100)

enum smtp_state {
	SS_INIT = 0,   /* greeted, no HELO/EHLO yet */
	SS_HELO,       /* HELO/EHLO done, no transaction */
	SS_MAIL,       /* MAIL accepted, no recipient yet */
	SS_RCPT,       /* at least one recipient accepted */
	SS_MAX
};

static const char *const state_names[SS_MAX] = {
	"INIT", "HELO", "MAIL", "RCPT",
};

struct smtp {
	struct session *s;
	struct conn *c;
	const struct conf *conf;
	enum smtp_state state;
	bool esmtp;                       /* the client said EHLO */
	bool verbose;                     /* VERB: log detail raised */
	bool quit;                        /* end the session */
	int cmd_timeout, data_timeout;    /* ms */
	char helo[LIM_DOMAIN + 1];
	unsigned bad;                     /* bad commands so far */
	unsigned unknown;                 /* unknown recipients so far */
	uint64_t cmd_used;                /* ms spent waiting for commands */
	unsigned nmsg;                    /* DATA transactions so far */

	/* the transaction */
	struct smtp_addr from;
	struct smtp_mail_params mp;
	uint32_t nrcpt;                   /* accepted RCPT commands */
	char first_rcpt[LIM_PATH + 1];
	uint32_t naccounts;               /* distinct accounts */
	size_t append_len;                /* payload size of the MSG_APPEND */
	uint64_t data_start;              /* ms: DATA, for the delivery lines' delay= */
};

/* Per-worker storage, reused by each session (a worker serves one at a time). */
static char accounts[LIM_APPEND_ACCOUNTS][LIM_NAME + 1];
/* For each of accounts[]: the RCPT address that brought it, and whether
 * that was an alias (or postmaster) rather than the account itself. */
static char rcpt_of[LIM_APPEND_ACCOUNTS][LIM_PATH + 1];
static bool via_alias[LIM_APPEND_ACCOUNTS];
/* The accounts the store found for one RCPT. */
static char found[LIM_ALIAS_EXPANSION][LIM_NAME + 1];
static struct smtp_data data;

struct smtp_cmd {
	enum smtp_verb verb;
	int (*check)(struct smtp *, const char *);   /* 0: may run */
	void (*action)(struct smtp *, char *);
};

/* ---- replies and logs ---- */

static void detail(struct smtp *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void reply(struct smtp *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void bad(struct smtp *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Debug detail, raised to info level for a session that said VERB. */
static void
detail(struct smtp *sm, const char *fmt, ...)
{
	char buf[LIM_LOGLINE];
	va_list ap;

	if (!sm->verbose && !log_verbose())
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (sm->verbose)
		log_info("smtp %s: %s", sm->s->sessid, buf);
	else
		log_debug("smtp %s: %s", sm->s->sessid, buf);
}

static void
vreply(struct smtp *sm, const char *fmt, va_list ap)
{
	char buf[SMTP_REPLY_MAX_BYTES];
	int n;

	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	if (n < 0)
		fatalx("smtp reply format");
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	detail(sm, ">>> %.*s", n, buf);
	buf[n++] = '\r';
	buf[n++] = '\n';
	(void)conn_write(sm->c, buf, (size_t)n);
}

static void
reply(struct smtp *sm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(sm, fmt, ap);
	va_end(ap);
}

/* A reply to a bad command; too many of them end the session. */
static void
bad(struct smtp *sm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(sm, fmt, ap);
	va_end(ap);
	sm->bad++;
	if (sm->conf->max_bad_commands != 0 &&
	    sm->bad >= sm->conf->max_bad_commands) {
		log_info("smtp %s: %s: too many bad commands (%u), closing",
		    sm->s->sessid, sm->s->client, sm->bad);
		reply(sm, "421 4.7.0 %s Too many errors, closing connection",
		    sm->conf->hostname);
		sm->quit = true;
	}
}

/*
 * After the 550 for a name that is no account (RCPT, VRFY, EXPN): the
 * max-unknown-recipients-th of them in one session gets 421 and the
 * connection is closed, so that one connection cannot walk a dictionary
 * through the store (RCPT harvesting).  Counted for the whole session:
 * RSET does not reset it.
 */
static void
count_unknown(struct smtp *sm)
{
	sm->unknown++;
	if (sm->conf->max_unknown_recipients != 0 &&
	    sm->unknown >= sm->conf->max_unknown_recipients) {
		log_info("smtp %s: %s: too many unknown recipients (%u), closing",
		    sm->s->sessid, sm->s->client, sm->unknown);
		reply(sm, "421 4.7.0 %s Too many unknown recipients, closing connection",
		    sm->conf->hostname);
		sm->quit = true;
	}
}

static void
unknown_rcpt(struct smtp *sm, const char *what)
{
	reply(sm, "550 5.1.1 <%s>: Recipient address rejected: User unknown", what);
	count_unknown(sm);
}

static void
enter(struct smtp *sm, enum smtp_state st)
{
	if (sm->state != st)
		detail(sm, "state %s -> %s", state_names[sm->state], state_names[st]);
	sm->state = st;
}

/* Forget the transaction (RSET, HELO/EHLO, after DATA). */
static void
reset_transaction(struct smtp *sm)
{
	memset(&sm->from, 0, sizeof(sm->from));
	memset(&sm->mp, 0, sizeof(sm->mp));
	sm->nrcpt = 0;
	sm->first_rcpt[0] = '\0';
	sm->naccounts = 0;
	sm->append_len = 0;
	if (sm->state > SS_HELO)
		enter(sm, SS_HELO);
}

/* ---- helpers ---- */

/* The domain part of an answer: the client's, or our first domain. */
static const char *
answer_domain(struct smtp *sm, const struct smtp_addr *a)
{
	if (a->domain[0] != '\0')
		return a->domain;
	return sm->conf->ndomains > 0 ? sm->conf->domains[0] : sm->conf->hostname;
}

/* The local part as the store sees it: postmaster in any case is
 * "postmaster" (RFC 5321 4.5.1). */
static const char *
lookup_name(const struct smtp_addr *a)
{
	if (strcasecmp(a->local, "postmaster") == 0)
		return "postmaster";
	return a->local;
}

static int
add_account(struct smtp *sm, const char *name)
{
	size_t len = strlen(name);

	for (uint32_t i = 0; i < sm->naccounts; i++)
		if (strcmp(accounts[i], name) == 0)
			return 0;
	if (sm->naccounts >= LIM_APPEND_ACCOUNTS ||
	    sm->append_len + sc_append_account_len(name) > SC_APPEND_MAX)
		return -1;
	memcpy(accounts[sm->naccounts++], name, len + 1);
	sm->append_len += sc_append_account_len(name);
	return 0;
}

/* ---- checks: may the command run now?  0 yes; else replied. ---- */

static int
check_any(struct smtp *sm, const char *arg)
{
	return 0;
}

static int
check_noarg(struct smtp *sm, const char *arg)
{
	if (*arg != '\0') {
		bad(sm, "501 5.5.4 Syntax error: no parameters allowed");
		return -1;
	}
	return 0;
}

static int
check_arg(struct smtp *sm, const char *arg)
{
	if (*arg == '\0') {
		bad(sm, "501 5.5.4 Syntax error: argument required");
		return -1;
	}
	return 0;
}

static int
check_helo(struct smtp *sm, const char *arg)
{
	if (*arg == '\0') {
		bad(sm, "501 5.5.4 Syntax: HELO/EHLO hostname");
		return -1;
	}
	if (smtp_parse_helo_arg(arg) != SP_OK) {
		bad(sm, "501 5.5.4 Invalid domain name");
		return -1;
	}
	return 0;
}

static int
check_mail(struct smtp *sm, const char *arg)
{
	if (sm->state == SS_INIT) {
		bad(sm, "503 5.5.1 Error: send HELO/EHLO first");
		return -1;
	}
	if (sm->state != SS_HELO) {
		bad(sm, "503 5.5.1 Error: nested MAIL command");
		return -1;
	}
	return 0;
}

static int
check_rcpt(struct smtp *sm, const char *arg)
{
	if (sm->state != SS_MAIL && sm->state != SS_RCPT) {
		bad(sm, "503 5.5.1 Error: need MAIL command");
		return -1;
	}
	return 0;
}

static int
check_data(struct smtp *sm, const char *arg)
{
	if (check_noarg(sm, arg) < 0)
		return -1;
	if (sm->state == SS_MAIL) {
		bad(sm, "554 5.5.1 Error: no valid recipients");
		return -1;
	}
	if (sm->state != SS_RCPT) {
		bad(sm, "503 5.5.1 Error: need RCPT command");
		return -1;
	}
	return 0;
}

static int
check_starttls(struct smtp *sm, const char *arg)
{
	if (check_noarg(sm, arg) < 0)
		return -1;
	if (sm->s->tls) {
		bad(sm, "503 5.5.1 Error: TLS already active");
		return -1;
	}
	if (sm->state > SS_HELO) {
		bad(sm, "503 5.5.1 Error: STARTTLS inside a mail transaction");
		return -1;
	}
	return 0;
}

/* ---- actions ---- */

static void
do_helo(struct smtp *sm, char *arg, bool esmtp)
{
	const char *ext[8];
	size_t n = 0;
	char sizebuf[32];

	reset_transaction(sm);
	strlcpy_(sm->helo, arg, sizeof(sm->helo));
	sm->esmtp = esmtp;
	enter(sm, SS_HELO);
	if (!esmtp) {
		reply(sm, "250 %s", sm->conf->hostname);
		return;
	}
	reply(sm, "250-%s Hello %s [%s]", sm->conf->hostname, sm->helo,
	    sm->s->client);
	ext[n++] = "PIPELINING";
	if (sm->conf->max_message_size != 0) {
		(void)bsnprintf(sizebuf, sizeof(sizebuf), "SIZE %llu",
		    (unsigned long long)sm->conf->max_message_size);
		ext[n++] = sizebuf;
	} else
		ext[n++] = "SIZE";
	ext[n++] = "8BITMIME";
	ext[n++] = "ENHANCEDSTATUSCODES";
	ext[n++] = "SMTPUTF8";
	if (sm->conf->tls_cert[0] != '\0' && !sm->s->tls)
		ext[n++] = "STARTTLS";
	ext[n++] = "HELP";
	for (size_t i = 0; i < n; i++)
		reply(sm, "250%c%s", i + 1 < n ? '-' : ' ', ext[i]);
}

static void
act_helo(struct smtp *sm, char *arg)
{
	do_helo(sm, arg, false);
}

static void
act_ehlo(struct smtp *sm, char *arg)
{
	do_helo(sm, arg, true);
}

static void
act_mail(struct smtp *sm, char *arg)
{
	struct smtp_addr a;
	struct smtp_mail_params mp;
	char *params;
	int r;

	r = smtp_parse_path_arg(arg, "FROM:", PATH_NULL_OK, &a, &params);
	if (r == SP_SYNTAX) {
		bad(sm, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (r != SP_OK) {
		bad(sm, "501 5.1.7 Bad sender address syntax");
		return;
	}
	r = smtp_parse_mail_params(params, sm->esmtp, &mp);
	if (r == SP_UNKNOWN) {
		bad(sm, "555 5.5.4 Unsupported MAIL parameter");
		return;
	}
	if (r != SP_OK) {
		bad(sm, "501 5.5.4 Invalid MAIL parameter");
		return;
	}
	if (a.utf8 && !mp.smtputf8) {
		reply(sm, "553 5.6.7 Non-ASCII sender address needs SMTPUTF8");
		return;
	}
	if (mp.has_size && sm->conf->max_message_size != 0 &&
	    mp.size > sm->conf->max_message_size) {
		reply(sm, "552 5.3.4 Message size exceeds fixed maximum message size");
		return;
	}
	sm->from = a;
	sm->mp = mp;
	sm->append_len = sc_append_base_len(sm->s->sessid, a.text);
	enter(sm, SS_MAIL);
	reply(sm, "250 2.1.0 Ok");
}

/* The RCPT argument, and the policy before the store is asked: 0 with *a
 * filled, -1 when the client was answered. */
static int
rcpt_check(struct smtp *sm, char *arg, struct smtp_addr *a)
{
	char *params;
	int r;

	r = smtp_parse_path_arg(arg, "TO:", PATH_POSTMASTER_OK, a, &params);
	if (r == SP_SYNTAX) {
		bad(sm, "501 5.5.4 Syntax: RCPT TO:<address>");
		return -1;
	}
	if (r != SP_OK) {
		bad(sm, "501 5.1.3 Bad recipient address syntax");
		return -1;
	}
	r = smtp_parse_rcpt_params(params, sm->esmtp);
	if (r == SP_UNKNOWN) {
		bad(sm, "555 5.5.4 Unsupported RCPT parameter");
		return -1;
	}
	if (r != SP_OK) {
		bad(sm, "501 5.5.4 Invalid RCPT parameter");
		return -1;
	}
	if (a->utf8 && !sm->mp.smtputf8) {
		reply(sm, "553 5.6.7 Non-ASCII recipient address needs SMTPUTF8");
		return -1;
	}
	if (sm->nrcpt >= sm->conf->max_recipients) {
		reply(sm, "452 4.5.3 Too many recipients");
		return -1;
	}
	if (!a->bare_postmaster && !conf_is_local_domain(sm->conf, a->domain)) {
		log_info("smtp %s: %s: relay denied: from=<%s> to=<%s>",
		    sm->s->sessid, sm->s->client, sm->from.text, a->text);
		ev_send(EV_REFUSED, RF_RELAY, 1, NULL);
		reply(sm, "550 5.7.1 <%s>: Relaying denied", a->text);
		return -1;
	}
	if (a->local[0] == '\0') {
		ev_send(EV_REFUSED, RF_UNKNOWN_RCPT, 1, NULL);
		unknown_rcpt(sm, a->text);
		return -1;
	}
	return 0;
}

/* Asks the store for a's accounts (into found[]): 0 with *n, or -1 when
 * the client was answered. */
static int
rcpt_lookup(struct smtp *sm, const struct smtp_addr *a, uint32_t *n)
{
	switch (sc_lookup(sm->s, lookup_name(a), found, n)) {
	case LOOKUP_OK:
		return 0;
	case LOOKUP_UNKNOWN:
		detail(sm, "unknown recipient <%s>", a->text);
		ev_send(EV_REFUSED, RF_UNKNOWN_RCPT, 1, NULL);
		unknown_rcpt(sm, a->text);
		return -1;
	case LOOKUP_TEMPFAIL:
	case SC_MALFORMED:      /* logged by the store client */
		ev_send(EV_TEMPFAIL, TF_LOOKUP, 1, NULL);
		reply(sm, "451 4.3.0 <%s>: Temporary lookup failure, try again later",
		    a->text);
		return -1;
	default:
		ev_send(EV_TEMPFAIL, TF_LOOKUP, 1, NULL);
		reply(sm, "451 4.4.3 <%s>: Temporary lookup failure, try again later",
		    a->text);
		return -1;
	}
}

/* Adds the n accounts found for a to the transaction: 0, or -1 when the
 * client was answered (and none was added). */
static int
rcpt_add(struct smtp *sm, const struct smtp_addr *a, uint32_t n)
{
	uint32_t before = sm->naccounts;
	size_t before_len = sm->append_len;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t had = sm->naccounts;

		if (add_account(sm, found[i]) < 0) {
			sm->naccounts = before;
			sm->append_len = before_len;
			reply(sm, "452 4.5.3 Too many recipients");
			return -1;
		}
		if (sm->naccounts > had) {   /* a new account: who brought it */
			strlcpy_(rcpt_of[had], a->text, sizeof(rcpt_of[had]));
			via_alias[had] = n != 1 || a->bare_postmaster ||
			    strcasecmp(found[i], a->local) != 0;
		}
	}
	return 0;
}

static void
act_rcpt(struct smtp *sm, char *arg)
{
	struct smtp_addr a;
	uint32_t n;

	if (rcpt_check(sm, arg, &a) < 0 || rcpt_lookup(sm, &a, &n) < 0 ||
	    rcpt_add(sm, &a, n) < 0)
		return;
	if (sm->nrcpt++ == 0)
		strlcpy_(sm->first_rcpt, a.text, sizeof(sm->first_rcpt));
	enter(sm, SS_RCPT);
	reply(sm, "250 2.1.5 Ok");
}

/* RFC 5322 date-time, in UTC (a jailed worker has no zone files). */
static void
rfc5322_date(char *buf, size_t sz)
{
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sz, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		strlcpy_(buf, "Thu, 01 Jan 1970 00:00:00 +0000", sz);
}

/* The trace header (RFC 5321 4.4), written first into the spool. */
static int
write_received(struct smtp *sm, int fd, const char *msgid)
{
	char buf[2048], date[64], tlsline[256] = "";
	const char *proto;
	bool v6 = strchr(sm->s->client, ':') != NULL;
	int r;

	if (sm->mp.smtputf8)
		proto = sm->s->tls ? "UTF8SMTPS" : "UTF8SMTP";
	else if (sm->esmtp)
		proto = sm->s->tls ? "ESMTPS" : "ESMTP";
	else
		proto = sm->s->tls ? "SMTPS" : "SMTP";
	/* Postfix style: the TLS protocol and cipher in a comment line */
	if (sm->s->tls) {
		char t[200];

		if (bsnprintf(tlsline, sizeof(tlsline), "\t%s\r\n",
		    tls_received_text(sm->s->conn, t, sizeof(t))) < 0)
			tlsline[0] = '\0';
	}
	rfc5322_date(date, sizeof(date));
	if (sm->nrcpt == 1)
		r = bsnprintf(buf, sizeof(buf),
		    "Received: from %s ([%s%s])\r\n%s"
		    "\tby %s (postern) with %s id %s\r\n"
		    "\tfor <%s>; %s\r\n",
		    sm->helo, v6 ? "IPv6:" : "", sm->s->client, tlsline,
		    sm->conf->hostname, proto, msgid, sm->first_rcpt, date);
	else
		r = bsnprintf(buf, sizeof(buf),
		    "Received: from %s ([%s%s])\r\n%s"
		    "\tby %s (postern) with %s id %s;\r\n"
		    "\t%s\r\n",
		    sm->helo, v6 ? "IPv6:" : "", sm->s->client, tlsline,
		    sm->conf->hostname, proto, msgid, date);
	if (r < 0)
		return -1;
	return write_all(fd, buf, strlen(buf));
}

/* The recipients for the log line, bounded. */
static void
log_rcpts(struct smtp *sm, char *buf, size_t sz)
{
	size_t len = 0;
	uint32_t i;

	buf[0] = '\0';
	for (i = 0; i < sm->naccounts; i++) {
		size_t l = strlen(accounts[i]);
		if (len + l + 2 > SMTP_LOG_RCPTS_MAX_BYTES || len + l + 2 > sz)
			break;
		if (i > 0)
			buf[len++] = ',';
		memcpy(buf + len, accounts[i], l + 1);
		len += l;
	}
	if (i < sm->naccounts)
		(void)bsnprintf(buf + len, sz - len, ",+%u more",
		    (unsigned)(sm->naccounts - i));
}

/* The line for a message that never reached the store (refused, aborted);
 * one the store answered for has log_deliveries()'s lines instead. */
static void
log_message(struct smtp *sm, const char *msgid, uint64_t size,
    const char *outcome)
{
	char rc[SMTP_LOG_RCPTS_MAX_BYTES + 32];

	log_rcpts(sm, rc, sizeof(rc));
	log_info("smtp %s: msgid=%s client=%s from=<%s> to=%s nrcpt=%u "
	    "size=%llu outcome=%s", sm->s->sessid, msgid, sm->s->client,
	    sm->from.text, rc, sm->nrcpt, (unsigned long long)size, outcome);
}

/*
 * One line per recipient account of a delivery, as Postfix's status=
 * lines (posternd(8) "LOGS"):
 *   smtp SESSID: delivery msgid=ID from=<S> to=<R> [orig_to=<ALIAS>]
 *     account=NAME size=N delay=SECONDS dsn=X.Y.Z status=sent|deferred|bounced (REASON)
 * to= is the address as given in RCPT TO, or for an account reached
 * through an alias (or postmaster) the account at the alias's domain, with
 * the alias in orig_to=.
 */
static void
log_deliveries(struct smtp *sm, const char *msgid, uint64_t size,
    const char *dsn, const char *status, const char *reason)
{
	uint64_t ms = now_ms() - sm->data_start;

	for (uint32_t i = 0; i < sm->naccounts; i++) {
		const char *at = strrchr(rcpt_of[i], '@');
		char to[LIM_PATH + LIM_NAME + 8], orig[LIM_PATH + 16] = "";

		if (via_alias[i]) {
			(void)bsnprintf(to, sizeof(to), "%s@%s", accounts[i],
			    at ? at + 1 : sm->conf->ndomains > 0 ?
			    sm->conf->domains[0] : sm->conf->hostname);
			(void)bsnprintf(orig, sizeof(orig), " orig_to=<%s>", rcpt_of[i]);
		} else
			strlcpy_(to, rcpt_of[i], sizeof(to));
		log_info("smtp %s: delivery msgid=%s from=<%s> to=<%s>%s account=%s "
		    "size=%llu delay=%llu.%03llu dsn=%s status=%s (%s)", sm->s->sessid,
		    msgid, sm->from.text, to, orig, accounts[i], (unsigned long long)size,
		    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
		    dsn, status, reason);
	}
}

/* Hands the sealed message to the store; replies to the client. */
static void
deliver(struct smtp *sm, int fd, const char *msgid, uint64_t size)
{
	uint32_t st;
	char text[256];
	int r;

	r = sc_append(sm->s, fd, sm->s->sessid, sm->from.null ? "" : sm->from.text,
	    (const char (*)[LIM_NAME + 1])accounts, sm->naccounts, &st, text,
	    sizeof(text));
	if (r == SC_UNAVAILABLE) {
		reply(sm, "451 4.3.0 Error: queue file write error, try again later");
		log_deliveries(sm, msgid, size, "4.3.0", "deferred", "store unavailable");
		ev_send(EV_TEMPFAIL, TF_STORE_UNAVAILABLE, 1, NULL);
		return;
	}
	if (r < 0) {
		reply(sm, "451 4.3.0 Error: local error in processing");
		log_deliveries(sm, msgid, size, "4.3.0", "deferred", "bad store answer");
		ev_send(EV_TEMPFAIL, TF_STORE_ERROR, 1, NULL);
		return;
	}
	switch (st) {
	case STORE_OK:
		reply(sm, "250 2.0.0 Ok: queued as %s", msgid);
		log_deliveries(sm, msgid, size, "2.0.0", "sent", "delivered to mailbox");
		ev_send(EV_DELIVERED, 0, sm->naccounts, NULL);
		break;
	case STORE_NOSPACE:
		reply(sm, "452 4.3.1 Insufficient system storage");
		log_deliveries(sm, msgid, size, "4.3.1", "deferred", text);
		ev_send(EV_TEMPFAIL, TF_NO_SPACE, 1, NULL);
		break;
	case STORE_QUOTA:
		reply(sm, "552 5.2.2 Mailbox full");
		log_deliveries(sm, msgid, size, "5.2.2", "bounced", text);
		ev_send(EV_REFUSED, RF_QUOTA, 1, NULL);
		break;
	default:
		reply(sm, "451 4.3.0 Error: local error in processing");
		log_deliveries(sm, msgid, size, "4.3.0", "deferred", text);
		ev_send(EV_TEMPFAIL, TF_STORE_ERROR, 1, NULL);
		break;
	}
}

/* After the terminator: the reply for a refused message, or NULL. */
static const char *
data_refusal(struct smtp *sm, const char **outcome)
{
	if (data.flags & DATA_BARE) {
		*outcome = "rejected (bare CR or LF)";
		ev_send(EV_REFUSED, RF_BARE_LF, 1, NULL);
		return "554 5.6.0 Message refused: bare CR or LF in message "
		    "(lines must end in CRLF)";
	}
	if (data.flags & DATA_TOOBIG) {
		*outcome = "rejected (too big)";
		ev_send(EV_REFUSED, RF_TOO_BIG, 1, NULL);
		return "552 5.3.4 Message size exceeds fixed maximum message size";
	}
	if (data.flags & DATA_TOOLONG) {
		*outcome = "rejected (line too long)";
		ev_send(EV_REFUSED, RF_LINE_TOO_LONG, 1, NULL);
		return "500 5.5.2 Message refused: line too long";
	}
	if (data.flags & DATA_IOERR) {
		*outcome = "tempfail (spool write)";
		ev_send(EV_TEMPFAIL, TF_SPOOL, 1, NULL);
		return "451 4.3.0 Error: queue file write error";
	}
	return NULL;
}

static void conn_ended(struct smtp *, int, const char *);

static void
act_data(struct smtp *sm, char *arg)
{
	char msgid[LIM_SESSID + 16];
	const char *refusal, *outcome = NULL;
	int fd, r;

	sm->nmsg++;
	sm->data_start = now_ms();
	(void)bsnprintf(msgid, sizeof(msgid), "%s.%u", sm->s->sessid, sm->nmsg);
	if ((fd = smtp_data_memfd()) < 0 || write_received(sm, fd, msgid) < 0) {
		log_warn("smtp %s: message spool", sm->s->sessid);
		if (fd >= 0)
			close(fd);
		reply(sm, "451 4.3.0 Error: local error in processing");
		ev_send(EV_TEMPFAIL, TF_SPOOL, 1, NULL);
		return;
	}
	reply(sm, "354 End data with <CR><LF>.<CR><LF>");
	smtp_data_init(&data, fd, sm->conf->max_message_size,
	    sm->conf->max_line_length);
	data.deadline = now_ms() + sm->conf->smtp_data_deadline_ms;
	r = smtp_data_read(sm->c, &data, sm->data_timeout);
	if (r != CONN_OK) {
		close(fd);
		log_message(sm, msgid, data.size, "aborted (connection)");
		conn_ended(sm, r, "DATA");
		return;
	}
	if ((refusal = data_refusal(sm, &outcome)) != NULL) {
		close(fd);
		reply(sm, "%s", refusal);
		log_message(sm, msgid, data.size, outcome);
	} else if (smtp_data_seal(fd) < 0) {
		log_warn("smtp %s: sealing the message", sm->s->sessid);
		close(fd);
		reply(sm, "451 4.3.0 Error: local error in processing");
		log_message(sm, msgid, data.size, "tempfail (seal)");
		ev_send(EV_TEMPFAIL, TF_SPOOL, 1, NULL);
	} else {
		deliver(sm, fd, msgid, data.size);
		close(fd);
	}
	reset_transaction(sm);
}

static void
act_rset(struct smtp *sm, char *arg)
{
	reset_transaction(sm);
	reply(sm, "250 2.0.0 Ok");
}

static void
act_noop(struct smtp *sm, char *arg)
{
	reply(sm, "250 2.0.0 Ok");
}

static void
act_quit(struct smtp *sm, char *arg)
{
	reply(sm, "221 2.0.0 %s Bye", sm->conf->hostname);
	sm->quit = true;
}

static void
act_help(struct smtp *sm, char *arg)
{
	reply(sm, "214-2.0.0 postern ESMTP, commands:");
	reply(sm, "214-2.0.0   HELO EHLO MAIL RCPT DATA RSET NOOP QUIT");
	reply(sm, "214-2.0.0   HELP VRFY EXPN VERB%s",
	    sm->conf->tls_cert[0] != '\0' ? " STARTTLS" : "");
	reply(sm, "214 2.0.0 End of HELP info");
}

/* VRFY/EXPN with the feature on: the parsed, local argument or a reply. */
static int
lookup_arg(struct smtp *sm, const char *arg, struct smtp_addr *a, uint32_t *n)
{
	if (smtp_parse_vrfy_arg(arg, a) != SP_OK) {
		bad(sm, "501 5.1.3 Bad address syntax");
		return -1;
	}
	if (a->domain[0] != '\0' && !conf_is_local_domain(sm->conf, a->domain)) {
		reply(sm, "550 5.1.2 <%s>: Not a local domain", a->text);
		return -1;
	}
	switch (sc_lookup(sm->s, lookup_name(a), found, n)) {
	case LOOKUP_OK:
		return 0;
	case LOOKUP_UNKNOWN:
		reply(sm, "550 5.1.1 <%s>: User unknown", a->text);
		count_unknown(sm);
		return -1;
	default:
		reply(sm, "451 4.3.0 Temporary lookup failure, try again later");
		return -1;
	}
}

static void
act_vrfy(struct smtp *sm, char *arg)
{
	struct smtp_addr a;
	uint32_t n;

	if (!sm->conf->vrfy) {
		reply(sm, "252 2.5.2 Cannot VRFY user, but will accept message "
		    "and attempt delivery");
		return;
	}
	if (lookup_arg(sm, arg, &a, &n) < 0)
		return;
	if (a.domain[0] != '\0')
		reply(sm, "250 2.1.5 <%s>", a.text);
	else
		reply(sm, "250 2.1.5 <%s@%s>", a.text, answer_domain(sm, &a));
}

static void
act_expn(struct smtp *sm, char *arg)
{
	struct smtp_addr a;
	uint32_t n;

	if (!sm->conf->expn) {
		reply(sm, "502 5.5.1 EXPN not available");
		return;
	}
	if (lookup_arg(sm, arg, &a, &n) < 0)
		return;
	for (uint32_t i = 0; i < n; i++)
		reply(sm, "250%c2.1.5 <%s@%s>", i + 1 < n ? '-' : ' ', found[i],
		    answer_domain(sm, &a));
}

static void
act_verb(struct smtp *sm, char *arg)
{
	if (!sm->conf->verb) {
		reply(sm, "502 5.5.1 VERB not available");
		return;
	}
	sm->verbose = true;
	reply(sm, "250 2.0.0 Verbose logging enabled for this session");
}

/*
 * STARTTLS (RFC 3207) -- HOOK FOR THE TLS WORK.
 *
 * Called when STARTTLS is allowed now (no TLS yet, no transaction, no
 * argument).  A full implementation must: reply "220 2.0.0 Ready to start
 * TLS" and flush it; conn_discard_input(s->conn) BEFORE the handshake, so
 * that nothing the client pipelined in plaintext is read as if it came over
 * TLS; run the handshake; set s->tls.
 * Returns 1 when TLS is up (the caller then resets the session to its initial
 * state: HELO/EHLO needed again, the Received header says ESMTPS), 0 when
 * it answered an error and the session goes on, -1 when the session must
 * end (handshake failure: no reply is possible).
 */
static int
smtp_starttls(struct session *s)
{
	size_t injected;

	if (!tls_ready()) {
		(void)conn_printf(s->conn, "454 4.7.0 TLS not available due to "
		    "temporary reason\r\n");
		return 0;
	}
	(void)conn_printf(s->conn, "220 2.0.0 Ready to start TLS\r\n");
	if (conn_flush(s->conn, (int)s->conf->smtp_timeout_ms) != CONN_OK)
		return -1;
	/* CVE-2011-0411: what the client pipelined after STARTTLS came in
	 * plaintext and must never be read as if it came over TLS */
	if ((injected = conn_pending(s->conn)) > 0)
		log_info("session %s: %zu bytes sent after STARTTLS discarded",
		    s->sessid, injected);
	conn_discard_input(s->conn);
	if (tls_start(s) == -1)
		return -1;
	return 1;
}

static void
act_starttls(struct smtp *sm, char *arg)
{
	switch (smtp_starttls(sm->s)) {
	case 1:
		reset_transaction(sm);
		sm->helo[0] = '\0';
		sm->esmtp = false;
		enter(sm, SS_INIT);
		detail(sm, "TLS started");
		break;
	case 0:
		break;
	default:
		sm->quit = true;
		break;
	}
}

static const struct smtp_cmd commands[V_MAX] = {
	[V_HELO] = { V_HELO, check_helo, act_helo },
	[V_EHLO] = { V_EHLO, check_helo, act_ehlo },
	[V_MAIL] = { V_MAIL, check_mail, act_mail },
	[V_RCPT] = { V_RCPT, check_rcpt, act_rcpt },
	[V_DATA] = { V_DATA, check_data, act_data },
	[V_RSET] = { V_RSET, check_noarg, act_rset },
	[V_NOOP] = { V_NOOP, check_any, act_noop },
	[V_QUIT] = { V_QUIT, check_noarg, act_quit },
	[V_HELP] = { V_HELP, check_any, act_help },
	[V_VRFY] = { V_VRFY, check_arg, act_vrfy },
	[V_EXPN] = { V_EXPN, check_arg, act_expn },
	[V_VERB] = { V_VERB, check_any, act_verb },
	[V_STARTTLS] = { V_STARTTLS, check_starttls, act_starttls },
};

/* ---- the loop ---- */

/* The connection ended or must end: say so when we still can. */
static void
conn_ended(struct smtp *sm, int r, const char *where)
{
	switch (r) {
	case CONN_SHUTDOWN:
		reply(sm, "421 4.3.2 %s Service shutting down", sm->conf->hostname);
		log_info("smtp %s: %s: shutdown during %s", sm->s->sessid,
		    sm->s->client, where);
		break;
	case CONN_TIMEOUT:
		reply(sm, "421 4.4.2 %s Timeout", sm->conf->hostname);
		log_info("smtp %s: %s: timeout during %s", sm->s->sessid,
		    sm->s->client, where);
		break;
	case CONN_DEADLINE:
		reply(sm, "421 4.4.2 %s Session time limit reached, closing connection",
		    sm->conf->hostname);
		log_info("smtp %s: %s: command phase over its deadline (%u s in all), "
		    "closing", sm->s->sessid, sm->s->client,
		    sm->conf->smtp_command_deadline_ms / 1000);
		break;
	case CONN_EOF:
		detail(sm, "client closed during %s", where);
		break;
	default:
		detail(sm, "connection error during %s", where);
		break;
	}
	sm->quit = true;
}

/*
 * The next command line.  Complete lines already buffered are taken
 * without flushing (pipelining); only when none is left do we flush the
 * replies and wait.  Besides the per-command timeout, the time spent
 * waiting here (flushing replies, reading command lines) adds up over the
 * session to at most smtp-command-deadline.  The DATA phase is not
 * counted: it has its own (smtp-data-deadline).
 */
static int
read_command(struct smtp *sm, char *line, size_t *len, int *flags)
{
	uint64_t start, left;
	int r, wait;

	r = conn_getline(sm->c, line, LIM_SMTP_CMDLINE, len, flags);
	if (r != CONN_AGAIN)
		return r;
	if (sm->cmd_used >= sm->conf->smtp_command_deadline_ms)
		return CONN_DEADLINE;
	left = sm->conf->smtp_command_deadline_ms - sm->cmd_used;
	wait = left < (uint64_t)sm->cmd_timeout ? (int)left : sm->cmd_timeout;
	start = now_ms();
	r = conn_flush(sm->c, wait) < 0 ? CONN_ERROR : CONN_OK;
	if (r == CONN_OK) {
		uint64_t spent = now_ms() - start;

		wait = spent >= (uint64_t)wait ? 0 : wait - (int)spent;
		r = conn_readline(sm->c, line, LIM_SMTP_CMDLINE, len, flags, wait);
	}
	sm->cmd_used += now_ms() - start;
	if (r == CONN_TIMEOUT && sm->cmd_used >= sm->conf->smtp_command_deadline_ms)
		return CONN_DEADLINE;
	return r;
}

static void
handle_line(struct smtp *sm, char *line, size_t len, int flags)
{
	enum smtp_verb v;
	char *arg;

	if (flags & LINE_NUL) {
		bad(sm, "500 5.5.2 Error: NUL character in command");
		return;
	}
	if ((flags & LINE_BARE_CR) || memchr(line, '\r', len) != NULL) {
		bad(sm, "500 5.5.2 Error: bare CR in command");
		return;
	}
	v = smtp_parse_verb(line, &arg);
	if (v == V_NONE) {
		bad(sm, "500 5.5.2 Error: command not recognized");
		return;
	}
	detail(sm, "<<< %s", smtp_verb_name(v));
	if (commands[v].check(sm, arg) == 0)
		commands[v].action(sm, arg);
}

static int
clamp_ms(uint32_t ms)
{
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

void
smtp_session(struct session *s)
{
	struct smtp sm;
	char line[LIM_SMTP_CMDLINE + 1];
	size_t len;
	int flags, r;

	memset(&sm, 0, sizeof(sm));
	sm.s = s;
	sm.c = s->conn;
	sm.conf = s->conf;
	sm.cmd_timeout = clamp_ms(s->conf->smtp_timeout_ms);
	sm.data_timeout = clamp_ms(s->conf->smtp_data_timeout_ms);
	sm.state = SS_INIT;
	detail(&sm, "connect from %s%s", s->client, s->tls ? " (TLS)" : "");

	reply(&sm, "220 %s ESMTP postern", s->conf->hostname);
	while (!sm.quit) {
		len = 0;
		flags = 0;
		r = read_command(&sm, line, &len, &flags);
		if (r == CONN_OK) {
			if (len >= sizeof(line))
				len = sizeof(line) - 1;
			line[len] = '\0';
			handle_line(&sm, line, len, flags);
		} else if (r == CONN_TOOLONG)
			bad(&sm, "500 5.5.2 Error: line too long");
		else
			conn_ended(&sm, r, "command");
	}
	(void)conn_flush(sm.c, sm.cmd_timeout);
	log_info("smtp %s: disconnect from %s: messages=%u bad=%u",
	    s->sessid, s->client, sm.nmsg, sm.bad);
	/* nothing of this session stays in the worker's memory */
	explicit_bzero(accounts, sizeof(accounts));
	explicit_bzero(&data, sizeof(data));
	explicit_bzero(found, sizeof(found));
	sc_forget();
	explicit_bzero(&sm, sizeof(sm));
}
