/*
 * The POP3 session (workers/pop3.c) against a fake store: every command
 * and answer, pipelining, bad arguments, the store's codes, what the worker
 * sends to the store (never a number outside the snapshot; COMMIT only
 * after QUIT; RELEASE otherwise).  The client side sends a whole batch,
 * half-closes, and reads the transcript to EOF.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "t/unit/check.h"
#include "privsep/conf.h"
#include "privsep/ipc.h"
#include "privsep/msg.h"
#include "workers/conn.h"
#include "workers/worker.h"

static const char *msgs[] = {
	"Subject: one\n\nhello\n.\nworld\n",
	"Subject: two\nX: y\n\n..dots\nFrom me\n",
	"Subject: three\n\nl1\nl2\nl3\n",
};
#define NMSGS 3

static char events[8192];       /* what the fake store saw, "A R1 D2 C " */
static int hostile_retr;        /* > 0: the fake store's RETR_R is bad (test_hostile_retr) */
static int ev_pipe[2];

static uint64_t
wire_of(const char *m)
{
	uint64_t w = 0;

	for (; *m; m++)
		w += *m == '\n' ? 2 : 1;
	return w;
}

static int
memfd_of(const void *p, size_t n)
{
	int fd = memfd_create("fake", MFD_CLOEXEC);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		abort();
	return fd;
}

static void
ev(const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(ev_pipe[1], buf, (size_t)n) != n)
		abort();
}

/* The header, the blank line and k body lines of message m. */
static size_t
top_of(const char *m, uint32_t k, char *out)
{
	const char *b = strstr(m, "\n\n");
	size_t n;

	if (b == NULL)
		return 0;
	b += 2;
	while (k > 0 && *b) {
		const char *e = strchr(b, '\n');
		b = e ? e + 1 : b + strlen(b);
		k--;
	}
	n = (size_t)(b - m);
	memcpy(out, m, n);
	return n;
}

/* A broken RETR_R for message no (after STORE_OK), by hostile_retr. */
static void
hostile_answer(struct ipc_msg *ans, uint32_t no, uint32_t ahead)
{
	const char *m = msgs[no - 1];
	size_t l = strlen(m);

	switch (hostile_retr) {
	case 1:                 /* no message at all */
		ipc_put_u32(ans, 0);
		ipc_set_fd(ans, memfd_of(m, l));
		break;
	case 2:                 /* more messages than asked for */
		ipc_put_u32(ans, ahead + 2);
		for (uint32_t k = 0; k < ahead + 2; k++) {
			ipc_put_u32(ans, no);
			ipc_put_u64(ans, 0);
		}
		ipc_set_fd(ans, memfd_of(m, 0));
		break;
	case 3:                 /* another message than the one asked */
		ipc_put_u32(ans, 1);
		ipc_put_u32(ans, no == 1 ? 2 : 1);
		ipc_put_u64(ans, l);
		ipc_set_fd(ans, memfd_of(m, l));
		break;
	case 4:                 /* lengths that do not add up to the memfd */
		ipc_put_u32(ans, 1);
		ipc_put_u32(ans, no);
		ipc_put_u64(ans, l + 1);
		ipc_set_fd(ans, memfd_of(m, l));
		break;
	case 5:                 /* a length that overflows the offsets */
		ipc_put_u32(ans, 2);
		ipc_put_u32(ans, no);
		ipc_put_u64(ans, UINT64_MAX);
		ipc_put_u32(ans, no + 1);
		ipc_put_u64(ans, 2);
		ipc_set_fd(ans, memfd_of(m, 1));
		break;
	case 6:                 /* read-ahead out of order, or past the snapshot */
		ipc_put_u32(ans, 2);
		ipc_put_u32(ans, no);
		ipc_put_u64(ans, l);
		ipc_put_u32(ans, NMSGS + 1);
		ipc_put_u64(ans, 0);
		ipc_set_fd(ans, memfd_of(m, l));
		break;
	case 7:                 /* no descriptor */
		ipc_put_u32(ans, 1);
		ipc_put_u32(ans, no);
		ipc_put_u64(ans, l);
		break;
	default:                /* trailing bytes */
		ipc_put_u32(ans, 1);
		ipc_put_u32(ans, no);
		ipc_put_u64(ans, l);
		ipc_put_u32(ans, 0);
		ipc_set_fd(ans, memfd_of(m, l));
		break;
	}
}

static void
fake_store(int sock, uint32_t delay_ms)
{
	static struct ipc_msg req, ans;
	int bound = 0;

	for (;;) {
		char name[300], pw[300], addr[100], buf[512];
		uint32_t no, lines, ahead, ndel = 0;
		static int del[NMSGS];
		int r = ipc_recv(sock, &req);

		if (r <= 0)
			_exit(0);
		ipc_init(&ans, req.hdr.type + 1, req.hdr.id);
		switch (req.hdr.type) {
		case MSG_AUTH:
			if (ipc_get_str(&req, name, sizeof(name)) < 0 ||
			    ipc_get_str(&req, pw, sizeof(pw)) < 0 ||
			    ipc_get_str(&req, addr, sizeof(addr)) < 0 || bound)
				_exit(3);
			ev("A:%s ", name);
			if (strcmp(name, "busy") == 0) {
				ipc_put_u32(&ans, AUTH_INUSE);
				ipc_put_u32(&ans, 0);
			} else if (strcmp(name, "temp") == 0) {
				ipc_put_u32(&ans, AUTH_TEMP);
				ipc_put_u32(&ans, 0);
			} else if (strcmp(name, "alice") == 0 &&
			    strcmp(pw, "alice pw") == 0) {
				struct ipc_msg *l = calloc(1, sizeof(*l));
				uint64_t tot = 0;
				int fd;

				ipc_init(l, 0, 0);
				for (int i = 0; i < NMSGS; i++) {
					char uid[32];
					snprintf(uid, sizeof(uid), "uid-%d", i + 1);
					ipc_put_u64(l, wire_of(msgs[i]));
					ipc_put_str(l, uid);
					tot += wire_of(msgs[i]);
				}
				fd = memfd_of(l->data, l->hdr.len);
				ipc_put_u32(&ans, AUTH_OK);
				ipc_put_u32(&ans, delay_ms);
				ipc_put_str(&ans, "alice");
				ipc_put_u32(&ans, NMSGS);
				ipc_put_u64(&ans, tot);
				ipc_set_fd(&ans, fd);
				bound = 1;
			} else {
				ipc_put_u32(&ans, AUTH_BAD);
				ipc_put_u32(&ans, delay_ms);
			}
			break;
		case MSG_RETR:
			if (!bound || ipc_get_u32(&req, &no) < 0 ||
			    ipc_get_u32(&req, &lines) < 0 ||
			    ipc_get_u32(&req, &ahead) < 0 ||
			    ahead > LIM_RETR_AHEAD ||
			    (ahead > 0 && lines != LIM_ALL_LINES))
				_exit(3);
			if (no < 1 || no > NMSGS) {
				ev("OUT-OF-RANGE:%u ", no);
				_exit(4);   /* the real store drops the channel */
			}
			if (ahead > 0)
				ev("R%u/-1+%u ", no, ahead);
			else
				ev("R%u/%d ", no, lines == LIM_ALL_LINES ? -1 : (int)lines);
			if (lines != LIM_ALL_LINES) {
				size_t n = top_of(msgs[no - 1], lines, buf);

				ipc_put_u32(&ans, STORE_OK);
				ipc_put_u32(&ans, 1);
				ipc_put_u32(&ans, no);
				ipc_put_u64(&ans, n);
				ipc_set_fd(&ans, memfd_of(buf, n));
			} else {
				/* as the real store: no, then the unmarked ones after it */
				char all[512];
				size_t n = 0;
				uint32_t pick[NMSGS], np = 0;

				pick[np++] = no;
				for (uint32_t k = no + 1; k <= NMSGS && np < 1 + ahead; k++)
					if (!del[k - 1])
						pick[np++] = k;
				ipc_put_u32(&ans, STORE_OK);
				if (hostile_retr > 0) {
					hostile_answer(&ans, no, ahead);
					break;
				}
				ipc_put_u32(&ans, np);
				for (uint32_t k = 0; k < np; k++) {
					size_t l = strlen(msgs[pick[k] - 1]);

					memcpy(all + n, msgs[pick[k] - 1], l);
					n += l;
					ipc_put_u32(&ans, pick[k]);
					ipc_put_u64(&ans, l);
				}
				ipc_set_fd(&ans, memfd_of(all, n));
			}
			break;
		case MSG_DELE:
			if (!bound || ipc_get_u32(&req, &ndel) < 0 || ndel == 0 ||
			    ndel > LIM_DELE_BATCH)
				_exit(3);
			for (uint32_t k = 0; k < ndel; k++) {
				if (ipc_get_u32(&req, &no) < 0)
					_exit(3);
				if (no < 1 || no > NMSGS) {
					ev("OUT-OF-RANGE:%u ", no);
					_exit(4);
				}
				ev("D%u ", no);
				del[no - 1] = 1;
			}
			ndel = 0;
			ipc_put_u32(&ans, STORE_OK);
			break;
		case MSG_SEEN:
			/* pop3-sets-seen: the RETRs served from the read-ahead */
			if (!bound || ipc_get_u32(&req, &ndel) < 0 || ndel == 0 ||
			    ndel > LIM_DELE_BATCH)
				_exit(3);
			for (uint32_t k = 0; k < ndel; k++) {
				if (ipc_get_u32(&req, &no) < 0 || no < 1 || no > NMSGS)
					_exit(3);
				ev("S%u ", no);
			}
			ndel = 0;
			ipc_put_u32(&ans, STORE_OK);
			break;
		case MSG_UNDO:
			ev("U ");
			memset(del, 0, sizeof(del));
			ipc_put_u32(&ans, STORE_OK);
			break;
		case MSG_COMMIT:
			for (int i = 0; i < NMSGS; i++)
				ndel += (uint32_t)del[i];
			ev("C%u ", ndel);
			ipc_put_u32(&ans, STORE_OK);
			ipc_put_u32(&ans, ndel);
			bound = 0;
			break;
		case MSG_RELEASE:
			ev("L ");
			ipc_put_u32(&ans, STORE_OK);
			bound = 0;
			break;
		default:
			_exit(5);
		}
		if (ipc_send(sock, &ans) < 0)
			_exit(6);
		ipc_drop_fd(&ans);
	}
}

struct opts {
	enum plaintext_auth pa;
	bool loopback;
	uint32_t timeout_ms;
	uint32_t delay_ms;
	uint32_t max_fail;
	uint32_t login_delay_s;
	bool tls_cert;
	bool no_shut;          /* keep the client side open (timeout test) */
};

static char transcript[1 << 20];

/* Runs one session with input as the client's batch; fills transcript. */
static void
session(const char *input, size_t inlen, const struct opts *o)
{
	int cs[2], ss[2];
	pid_t worker, store;
	size_t got = 0;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, cs) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ss) < 0 || pipe(ev_pipe) < 0)
		abort();
	if ((store = fork()) == 0) {
		close(cs[0]); close(cs[1]); close(ss[0]); close(ev_pipe[0]);
		fake_store(ss[1], o->delay_ms);
		_exit(0);
	}
	close(ss[1]);
	if ((worker = fork()) == 0) {
		static struct conn c;
		static struct conf cf;
		struct session s;

		close(cs[0]); close(ev_pipe[0]); close(ev_pipe[1]);
		conf_defaults(&cf);
		cf.plaintext_auth = o->pa;
		if (o->timeout_ms)
			cf.pop3_timeout_ms = o->timeout_ms;
		cf.max_auth_failures = o->max_fail ? o->max_fail : 3;
		cf.login_delay_s = o->login_delay_s;
		if (o->tls_cert)
			snprintf(cf.tls_cert, sizeof(cf.tls_cert), "/x.pem");
		memset(&s, 0, sizeof(s));
		conn_init(&c, cs[1], -1);
		s.conf = &cf;
		s.conn = &c;
		s.store_fd = ss[0];
		s.key_fd = -1;
		s.kind = LK_POP3;
		snprintf(s.sessid, sizeof(s.sessid), "0123456789abcdef");
		snprintf(s.client, sizeof(s.client), "%s", o->loopback ? "127.0.0.1" : "192.0.2.1");
		s.loopback = o->loopback;
		pop3_session(&s);
		_exit(0);
	}
	close(cs[1]);
	close(ss[0]);
	close(ev_pipe[1]);
	if (inlen > 0 && write(cs[0], input, inlen) != (ssize_t)inlen)
		abort();
	if (!o->no_shut)
		shutdown(cs[0], SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = cs[0], .events = POLLIN };

		if (poll(&p, 1, 10000) <= 0)
			break;
		n = read(cs[0], transcript + got, sizeof(transcript) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	transcript[got] = '\0';
	close(cs[0]);
	kill(worker, SIGKILL);
	waitpid(worker, NULL, 0);
	waitpid(store, NULL, 0);   /* exits on EOF of the store channel */
	n = read(ev_pipe[0], events, sizeof(events) - 1);
	events[n > 0 ? n : 0] = '\0';
	close(ev_pipe[0]);
}

static const struct opts dflt = { .pa = PA_LOOPBACK, .loopback = true };

static void
run(const char *input)
{
	session(input, strlen(input), &dflt);
}

#define LOGIN "USER alice\r\nPASS alice pw\r\n"

static int
has(const char *needle)
{
	return strstr(transcript, needle) != NULL;
}

/* The n-th line (0-based) of the transcript equals want (without CRLF). */
static int
line_is(int n, const char *want)
{
	const char *p = transcript;

	while (n-- > 0 && (p = strstr(p, "\r\n")) != NULL)
		p += 2;
	if (p == NULL)
		return 0;
	return strncmp(p, want, strlen(want)) == 0 &&
	    strncmp(p + strlen(want), "\r\n", 2) == 0;
}

static void
test_greeting_capa(void)
{
	run("CAPA\r\nQUIT\r\n");
	CHECK(strncmp(transcript, "+OK postern ready", 17) == 0, "greeting");
	CHECK(has("\r\nUSER\r\n") && has("\r\nSASL PLAIN\r\n") &&
	    has("\r\nTOP\r\n") && has("\r\nUIDL\r\n") &&
	    has("\r\nRESP-CODES\r\n") && has("\r\nAUTH-RESP-CODE\r\n") &&
	    has("\r\nPIPELINING\r\n") && has("\r\nEXPIRE NEVER\r\n") &&
	    has("\r\nIMPLEMENTATION postern\r\n"), "CAPA lists everything");
	CHECK(!has("STLS") && !has("LOGIN-DELAY"), "no STLS, no LOGIN-DELAY");
	CHECK(has("\r\n.\r\n+OK postern signing off\r\n"), "QUIT in AUTHORIZATION");
	CHECK(strcmp(events, "") == 0, "the store was not asked anything");

	{
		struct opts o = dflt;
		o.login_delay_s = 30;
		o.tls_cert = true;
		session("CAPA\r\n" LOGIN "CAPA\r\nQUIT\r\n",
		    strlen("CAPA\r\n" LOGIN "CAPA\r\nQUIT\r\n"), &o);
		CHECK(has("\r\nLOGIN-DELAY 30\r\n"), "LOGIN-DELAY when configured");
		{
			char *second = strstr(transcript, "maildrop has");
			CHECK(has("\r\nSTLS\r\n") && second &&
			    strstr(second, "STLS") == NULL,
			    "STLS before login, not after");
		}
	}
}

static void
test_login(void)
{
	run(LOGIN "STAT\r\nQUIT\r\n");
	CHECK(line_is(1, "+OK send PASS"), "USER +OK");
	CHECK(has("+OK maildrop has 3 messages ("), "PASS +OK");
	{
		char want[64];
		snprintf(want, sizeof(want), "+OK 3 %llu", (unsigned long long)
		    (wire_of(msgs[0]) + wire_of(msgs[1]) + wire_of(msgs[2])));
		CHECK(line_is(3, want), "STAT %s", want);
	}
	CHECK(has("+OK postern signing off (0 messages deleted)"), "QUIT commits");
	CHECK(strcmp(events, "A:alice C0 ") == 0, "store saw AUTH, COMMIT: %s", events);

	run("USER nobody\r\nPASS alice pw\r\nUSER alice\r\nPASS wrong\r\nQUIT\r\n");
	CHECK(line_is(1, "+OK send PASS") && line_is(3, "+OK send PASS"),
	    "USER answers +OK for unknown and known names alike");
	CHECK(line_is(2, "-ERR [AUTH] invalid user name or password") &&
	    line_is(4, "-ERR [AUTH] invalid user name or password"),
	    "unknown user and wrong password answer identically");

	run("PASS alice pw\r\nSTAT\r\nQUIT\r\n");
	CHECK(line_is(1, "-ERR USER first") &&
	    line_is(2, "-ERR STAT not valid in this state"),
	    "PASS without USER; STAT before login");

	run("USER busy\r\nPASS x\r\nUSER temp\r\nPASS x\r\nQUIT\r\n");
	CHECK(line_is(2, "-ERR [IN-USE] maildrop is locked by another session"),
	    "AUTH_INUSE -> [IN-USE]");
	CHECK(line_is(4, "-ERR [SYS/TEMP] temporary failure, try again later"),
	    "AUTH_TEMP -> [SYS/TEMP]");

	run("USER a\r\nPASS 1\r\nUSER a\r\nPASS 2\r\nUSER a\r\nPASS 3\r\nUSER a\r\nPASS 4\r\n");
	CHECK(has("-ERR [AUTH] too many failures\r\n") && !has("PASS 4") &&
	    strstr(strstr(transcript, "too many failures"), "\r\n")[2] == '\0',
	    "third failure closes the connection");

	run("USER ../etc\r\nPASS x\r\nQUIT\r\n");
	CHECK(line_is(2, "-ERR [AUTH] invalid user name or password") &&
	    strcmp(events, "A:../etc ") == 0,
	    "an impossible name is answered like any unknown one (%s)", events);

	run("APOP alice 0123456789abcdef0123456789abcdef\r\nQUIT\r\n");
	CHECK(line_is(1, "-ERR APOP not supported"), "APOP refused");

	{
		struct opts o = dflt;
		o.delay_ms = 400;
		uint64_t t0;
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		t0 = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		session("USER alice\r\nPASS bad\r\nQUIT\r\n", 29, &o);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		CHECK((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000
		    - t0 >= 400, "the store's delay is applied");
	}
}

static void
test_plaintext_policy(void)
{
	struct opts o = dflt;
	const char *in = "CAPA\r\nUSER alice\r\nAUTH PLAIN\r\nAUTH\r\nQUIT\r\n";

	o.loopback = false;
	session(in, strlen(in), &o);
	CHECK(!has("\r\nUSER\r\n") && !has("SASL"), "not advertised off loopback");
	CHECK(has("\r\n-ERR [AUTH] plaintext authentication disallowed on "
	    "non-TLS connections; use STLS\r\n-ERR [AUTH] plaintext"),
	    "USER and AUTH PLAIN refused off loopback");
	CHECK(has("\r\n+OK\r\n.\r\n"), "AUTH lists no mechanism");
	CHECK(strcmp(events, "") == 0, "store not asked");

	o.pa = PA_ALWAYS;
	session(LOGIN "QUIT\r\n", strlen(LOGIN "QUIT\r\n"), &o);
	CHECK(has("+OK maildrop has 3"), "PA_ALWAYS allows it off loopback");

	o.pa = PA_TLS;
	o.loopback = true;
	session(LOGIN "QUIT\r\n", strlen(LOGIN "QUIT\r\n"), &o);
	CHECK(line_is(1, "-ERR [AUTH] plaintext authentication disallowed on "
	    "non-TLS connections; use STLS"), "PA_TLS refuses even loopback");
}

static void
test_auth_plain(void)
{
	/* base64("\0alice\0alice pw") */
	run("AUTH PLAIN AGFsaWNlAGFsaWNlIHB3\r\nSTAT\r\nQUIT\r\n");
	CHECK(line_is(1, "+OK maildrop has 3 messages (84 octets)") ||
	    has("+OK maildrop has 3"), "AUTH PLAIN with initial response");
	run("AUTH PLAIN\r\nAGFsaWNlAGFsaWNlIHB3\r\nQUIT\r\n");
	CHECK(line_is(1, "+ ") && has("+OK maildrop has 3"),
	    "AUTH PLAIN with continuation");
	run("auth plain\r\n*\r\nQUIT\r\n");
	CHECK(line_is(1, "+ ") && line_is(2, "-ERR authentication cancelled"),
	    "* cancels");
	run("AUTH PLAIN AGFsaWNlAGFsaWNlIHB3=\r\nAUTH PLAIN !!!!\r\nQUIT\r\n");
	CHECK(line_is(1, "-ERR [AUTH] malformed PLAIN response") &&
	    line_is(2, "-ERR [AUTH] malformed PLAIN response"), "bad base64");
	/* base64("bob\0alice\0alice pw") */
	run("AUTH PLAIN Ym9iAGFsaWNlAGFsaWNlIHB3\r\nQUIT\r\n");
	CHECK(line_is(1, "-ERR [AUTH] malformed PLAIN response"),
	    "authzid other than authcid refused");
	/* base64("alice\0alice\0alice pw") */
	run("AUTH PLAIN YWxpY2UAYWxpY2UAYWxpY2UgcHc=\r\nQUIT\r\n");
	CHECK(has("+OK maildrop has 3"), "authzid equal to authcid");
	run("AUTH CRAM-MD5\r\nAUTH\r\nQUIT\r\n");
	CHECK(line_is(1, "-ERR unsupported authentication mechanism") &&
	    line_is(2, "+OK") && line_is(3, "PLAIN") && line_is(4, "."),
	    "unknown mechanism; AUTH lists PLAIN");
}

static void
test_transaction(void)
{
	char want[128];

	run(LOGIN "LIST\r\nLIST 2\r\nUIDL\r\nUIDL 3\r\nNOOP\r\nQUIT\r\n");
	snprintf(want, sizeof(want), "+OK 3 messages (%llu octets)",
	    (unsigned long long)(wire_of(msgs[0]) + wire_of(msgs[1]) +
	    wire_of(msgs[2])));
	CHECK(line_is(3, want), "LIST header");
	snprintf(want, sizeof(want), "1 %llu", (unsigned long long)wire_of(msgs[0]));
	CHECK(line_is(4, want), "LIST line 1");
	CHECK(line_is(7, "."), "LIST end");
	snprintf(want, sizeof(want), "+OK 2 %llu", (unsigned long long)wire_of(msgs[1]));
	CHECK(line_is(8, want), "LIST 2");
	CHECK(line_is(9, "+OK unique-id listing follows") &&
	    line_is(10, "1 uid-1") && line_is(12, "3 uid-3") && line_is(13, "."),
	    "UIDL");
	CHECK(line_is(14, "+OK 3 uid-3"), "UIDL 3");
	CHECK(line_is(15, "+OK"), "NOOP");

	run(LOGIN "RETR 1\r\nRETR 2\r\nQUIT\r\n");
	snprintf(want, sizeof(want), "+OK %llu octets\r\nSubject: one\r\n\r\n"
	    "hello\r\n..\r\nworld\r\n.\r\n", (unsigned long long)wire_of(msgs[0]));
	CHECK(has(want), "RETR 1 CRLF and dot-stuffed");
	CHECK(has("\r\n\r\n...dots\r\nFrom me\r\n.\r\n"), "RETR 2 dot-stuffed");
	/* RETR 1 reads one message ahead, so RETR 2 asks the store nothing;
	 * the store learns it was read (pop3-sets-seen) before the COMMIT */
	CHECK(strcmp(events, "A:alice R1/-1+1 S2 C0 ") == 0, "events %s", events);

	/* in order: the read-ahead doubles while the client reads on */
	run(LOGIN "RETR 1\r\nRETR 2\r\nRETR 3\r\nQUIT\r\n");
	CHECK(has("\r\n\r\n...dots\r\nFrom me\r\n.\r\n") &&
	    has("Subject: three\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n"),
	    "RETR 2 and 3 from the read-ahead");
	CHECK(strcmp(events, "A:alice R1/-1+1 S2 R3/-1+3 C0 ") == 0, "events %s", events);

	/* out of order: no read-ahead */
	run(LOGIN "RETR 3\r\nRETR 2\r\nQUIT\r\n");
	CHECK(has("Subject: three\r\n") && has("\r\n...dots\r\n"), "RETR 3, 2");
	CHECK(strcmp(events, "A:alice R3/-1 R2/-1 C0 ") == 0, "events %s", events);

	/* the marks go first, in one request; the read-ahead skips them */
	run(LOGIN "DELE 2\r\nDELE 3\r\nRETR 1\r\nRETR 2\r\nRSET\r\nRETR 2\r\n"
	    "RETR 3\r\nQUIT\r\n");
	CHECK(has("-ERR message 2 already deleted"), "RETR of a marked message");
	CHECK(strcmp(events, "A:alice D2 D3 R1/-1+1 U R2/-1+3 S3 C0 ") == 0,
	    "events %s", events);
	CHECK(has("Subject: three\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n"),
	    "RETR 3 after RSET");

	/* TOP is never read ahead, and leaves nothing for a RETR */
	run(LOGIN "RETR 1\r\nTOP 2 0\r\nRETR 2\r\nQUIT\r\n");
	CHECK(has("+OK top of message follows\r\nSubject: two\r\nX: y\r\n\r\n.\r\n") &&
	    has("\r\n...dots\r\nFrom me\r\n.\r\n"), "TOP 2 0 then RETR 2");
	CHECK(strcmp(events, "A:alice R1/-1+1 R2/0 R2/-1+3 C0 ") == 0, "events %s", events);

	run(LOGIN "TOP 1 0\r\nTOP 1 1\r\nTOP 3 100\r\nQUIT\r\n");
	CHECK(has("+OK top of message follows\r\nSubject: one\r\n\r\n.\r\n"),
	    "TOP 1 0: header and blank line");
	CHECK(has("+OK top of message follows\r\nSubject: one\r\n\r\nhello\r\n.\r\n"),
	    "TOP 1 1");
	CHECK(has("Subject: three\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n"),
	    "TOP with more lines than the body");

	run(LOGIN "DELE 1\r\nDELE 1\r\nRETR 1\r\nLIST 1\r\nUIDL 1\r\nTOP 1 0\r\n"
	    "LIST\r\nSTAT\r\nQUIT\r\n");
	CHECK(line_is(3, "+OK message 1 deleted"), "DELE");
	CHECK(line_is(4, "-ERR message 1 already deleted") &&
	    line_is(5, "-ERR message 1 already deleted") &&
	    line_is(6, "-ERR message 1 already deleted") &&
	    line_is(7, "-ERR message 1 already deleted") &&
	    line_is(8, "-ERR message 1 already deleted"),
	    "a deleted message is -ERR for DELE RETR LIST UIDL TOP");
	CHECK(line_is(9, "+OK 2 messages (") || has("+OK 2 messages ("),
	    "LIST skips the deleted message");
	CHECK(!has("\r\n1 ") , "no line for message 1");
	CHECK(has("+OK postern signing off (1 messages deleted)"), "QUIT deletes");
	CHECK(strcmp(events, "A:alice D1 C1 ") == 0, "events %s", events);

	run(LOGIN "DELE 2\r\nRSET\r\nRETR 2\r\nQUIT\r\n");
	CHECK(has("+OK maildrop has 3 messages") && has("\r\n...dots"),
	    "RSET undeletes");
	CHECK(strcmp(events, "A:alice D2 U R2/-1 C0 ") == 0, "events %s", events);

	/* dropped connection: RELEASE, nothing deleted */
	run(LOGIN "DELE 1\r\n");
	CHECK(strcmp(events, "A:alice D1 L ") == 0,
	    "DELE then drop: RELEASE, no COMMIT (%s)", events);
}

/* A store whose RETR answer is malformed: -ERR [SYS/TEMP], session over,
 * nothing of the memfd sent as a message. */
static void
test_hostile_retr(void)
{
	for (hostile_retr = 1; hostile_retr <= 8; hostile_retr++) {
		run(LOGIN "RETR 1\r\nNOOP\r\n");
		const char *end = "\r\n-ERR [SYS/TEMP] mail store error\r\n";
		size_t tl = strlen(transcript);

		CHECK(line_is(3, "-ERR [SYS/TEMP] mail store error") && !has("Subject") &&
		    tl >= strlen(end) && strcmp(transcript + tl - strlen(end), end) == 0,
		    "malformed RETR answer %d: -ERR, session over", hostile_retr);
	}
	hostile_retr = 0;
}

static void
test_bad_arguments(void)
{
	run(LOGIN "LIST 4294967297\r\nRETR 0\r\nRETR -1\r\nRETR +1\r\nRETR 1x\r\n"
	    "TOP 1 x\r\nRETR 4\r\nDELE 4294967295\r\nLIST 99\r\nUIDL 0\r\n"
	    "TOP 1\r\nRETR\r\nRETR  1\r\nSTAT x\r\nXTND\r\nretr 0001\r\n"
	    "RETR 11111111111111111111111111111111111111111\r\nQUIT\r\n");
	CHECK(line_is(3, "-ERR invalid message number"), "LIST 4294967297");
	CHECK(line_is(4, "-ERR invalid message number"), "RETR 0");
	CHECK(line_is(5, "-ERR invalid message number"), "RETR -1");
	CHECK(line_is(6, "-ERR invalid message number"), "RETR +1");
	CHECK(line_is(7, "-ERR invalid message number"), "RETR 1x");
	CHECK(line_is(8, "-ERR invalid number of lines"), "TOP 1 x");
	CHECK(line_is(9, "-ERR no such message"), "RETR 4");
	CHECK(line_is(10, "-ERR no such message"), "DELE 4294967295");
	CHECK(line_is(11, "-ERR no such message"), "LIST 99");
	CHECK(line_is(12, "-ERR invalid message number"), "UIDL 0");
	CHECK(line_is(13, "-ERR syntax error"), "TOP 1");
	CHECK(line_is(14, "-ERR syntax error"), "RETR");
	CHECK(line_is(15, "-ERR syntax error"), "RETR  1");
	CHECK(line_is(16, "-ERR syntax error"), "STAT x");
	CHECK(line_is(17, "-ERR unknown command"), "XTND");
	CHECK(line_is(18, "+OK 28 octets") || has("hello\r\n..\r\n"),
	    "retr 0001 works");
	CHECK(has("-ERR argument too long"), "41-octet argument");
	CHECK(strstr(events, "OUT-OF-RANGE") == NULL &&
	    strcmp(events, "A:alice R1/-1+1 C0 ") == 0,
	    "no bad number reached the store (%s)", events);

	{
		static const char in[] = "NOOP\0\r\nUSER al\0ice\r\nQUIT\r\n";
		session(in, sizeof(in) - 1, &dflt);
		CHECK(line_is(1, "-ERR control character in command line") &&
		    line_is(2, "-ERR control character in command line") &&
		    line_is(3, "+OK postern signing off"), "NUL voids the line");
	}
	{
		char in[1200];
		memset(in, 'a', sizeof(in));
		memcpy(in, "USER ", 5);
		memcpy(in + 1000, "\r\nQUIT\r\n", 8);
		session(in, 1008, &dflt);
		CHECK(line_is(1, "-ERR command line too long") &&
		    line_is(2, "+OK postern signing off"), "1000-octet line");
		memset(in, 'a', sizeof(in));
		memcpy(in, "PASS ", 5);
		memcpy(in, "NOOP\r\nUSER ", 11);
		memcpy(in + 11 + 240, "\r\nQUIT\r\n", 8);
		session(in, 11 + 248, &dflt);
		CHECK(line_is(1, "-ERR NOOP not valid in this state") &&
		    line_is(2, "-ERR argument too long"), "USER 240 octets");
	}
	run("USER alice\nPASS alice pw\nSTAT\nQUIT\n");
	CHECK(has("+OK maildrop has 3") && has("+OK 3 "), "bare LF line ends");
	run("user alice\r\npass alice pw\r\nstat\r\nlist 1\r\nuidl 1\r\nquit\r\n");
	CHECK(has("+OK 1 ") && has("+OK 1 uid-1") && has("signing off (0"),
	    "lower-case keywords");
}

static void
test_pipelining_and_ends(void)
{
	char in[20000];
	size_t n = 0;
	int ok = 1;

	n += (size_t)snprintf(in + n, sizeof(in) - n, LOGIN);
	for (int i = 0; i < 300; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "LIST %d\r\n", i % 3 + 1);
	n += (size_t)snprintf(in + n, sizeof(in) - n, "QUIT\r\n");
	session(in, n, &dflt);
	for (int i = 0; i < 300 && ok; i++) {
		char want[64];
		snprintf(want, sizeof(want), "+OK %d %llu", i % 3 + 1,
		    (unsigned long long)wire_of(msgs[i % 3]));
		ok = line_is(3 + i, want);
	}
	CHECK(ok, "300 pipelined LIST answered in order");
	CHECK(line_is(303, "+OK postern signing off (0 messages deleted)"),
	    "then QUIT");

	{
		struct opts o = dflt;
		o.timeout_ms = 300;
		o.no_shut = true;
		session(LOGIN, strlen(LOGIN), &o);
		CHECK(has("\r\n-ERR autologout; idle for too long\r\n"),
		    "autologout");
		CHECK(strcmp(events, "A:alice L ") == 0, "autologout releases (%s)",
		    events);
	}
	run(LOGIN "STLS\r\nQUIT\r\n");
	CHECK(line_is(3, "-ERR STLS not valid in this state"), "STLS after login");
	run("STLS\r\nQUIT\r\n");
	CHECK(line_is(1, "-ERR STLS not available"), "STLS without cert");
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_greeting_capa();
	test_login();
	test_plaintext_policy();
	test_auth_plain();
	test_transaction();
	test_bad_arguments();
	test_hostile_retr();
	test_pipelining_and_ends();
	return check_done();
}
