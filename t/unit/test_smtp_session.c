/*
 * Unit tests: the SMTP session (workers/smtp.c) end to end, without the
 * master: the session runs in a child on a socketpair, a fake store answers
 * on a SEQPACKET pair, and this process is the client.
 *
 * Fake store: alice bob carol are accounts, team = alice,bob, postmaster =
 * alice, "slow" = tempfail, "die" closes the channel; APPEND from
 * quota@... -> STORE_QUOTA, nospace@... -> STORE_NOSPACE, temp@... ->
 * STORE_TEMPFAIL.  Each delivered message is written to a file in a
 * temporary directory: "from=S\nto=A,B\n\n" followed by the memfd contents.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "privsep/conf.h"
#include "privsep/ipc.h"
#include "privsep/msg.h"
#include "privsep/util.h"
#include "t/unit/check.h"
#include "workers/conn.h"
#include "workers/worker.h"

static char spool[64];
static struct conf conf;
static struct conn cn;
static struct ipc_msg m, a;
static pid_t pid_sess, pid_store;
static int nmsg_file;

/* ---- the fake store ---- */

static void
store_lookup(int fd)
{
	char name[128];
	const char *acc[2] = { NULL, NULL };
	uint32_t st = LOOKUP_OK, n = 0;

	if (ipc_get_str(&m, name, sizeof(name)) < 0 || ipc_end(&m) < 0)
		_exit(2);
	if (strcmp(name, "die") == 0)
		_exit(0);
	if (strcmp(name, "alice") == 0 || strcmp(name, "bob") == 0 ||
	    strcmp(name, "carol") == 0) {
		acc[0] = name;
		n = 1;
	} else if (strcmp(name, "team") == 0) {
		acc[0] = "alice";
		acc[1] = "bob";
		n = 2;
	} else if (strcmp(name, "postmaster") == 0) {
		acc[0] = "alice";
		n = 1;
	} else if (strcmp(name, "slow") == 0)
		st = LOOKUP_TEMPFAIL;
	else
		st = LOOKUP_UNKNOWN;
	ipc_init(&a, MSG_LOOKUP_R, m.hdr.id);
	ipc_put_u32(&a, st);
	ipc_put_u32(&a, n);
	for (uint32_t i = 0; i < n; i++)
		ipc_put_str(&a, acc[i]);
	if (ipc_send(fd, &a) < 0)
		_exit(2);
}

static void
store_append(int fd)
{
	char sess[64], from[300], name[80], path[128], to[4096] = "", buf[8192];
	uint32_t n, st = STORE_OK;
	int out, seals;
	ssize_t k;
	off_t off = 0;

	if (m.fd < 0 || ipc_get_str(&m, sess, sizeof(sess)) < 0 ||
	    ipc_get_str(&m, from, sizeof(from)) < 0 || ipc_get_u32(&m, &n) < 0)
		_exit(2);
	for (uint32_t i = 0; i < n; i++) {
		if (ipc_get_str(&m, name, sizeof(name)) < 0)
			_exit(2);
		if (i > 0)
			strncat(to, ",", sizeof(to) - strlen(to) - 1);
		strncat(to, name, sizeof(to) - strlen(to) - 1);
	}
	if (ipc_end(&m) < 0)
		_exit(2);
	seals = fcntl(m.fd, F_GET_SEALS);
	if (strncmp(from, "quota@", 6) == 0)
		st = STORE_QUOTA;
	else if (strncmp(from, "nospace@", 8) == 0)
		st = STORE_NOSPACE;
	else if (strncmp(from, "temp@", 5) == 0)
		st = STORE_TEMPFAIL;
	else if (seals != (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		st = STORE_BADMSG;
	if (st == STORE_OK) {
		snprintf(path, sizeof(path), "%s/m-%d-%d", spool, (int)getpid(), nmsg_file++);
		if ((out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0)
			_exit(2);
		dprintf(out, "from=%s\nto=%s\n\n", from, to);
		while ((k = pread(m.fd, buf, sizeof(buf), off)) > 0) {
			(void)!write(out, buf, (size_t)k);
			off += k;
		}
		close(out);
	}
	ipc_drop_fd(&m);
	ipc_init(&a, MSG_APPEND_R, m.hdr.id);
	ipc_put_u32(&a, st);
	ipc_put_str(&a, "fake");
	if (ipc_send(fd, &a) < 0)
		_exit(2);
}

static void __attribute__((noreturn))
fake_store(int fd)
{
	for (;;) {
		int r = ipc_recv(fd, &m);
		if (r <= 0)
			_exit(r == 0 ? 0 : 2);
		if (m.hdr.type == MSG_LOOKUP)
			store_lookup(fd);
		else if (m.hdr.type == MSG_APPEND)
			store_append(fd);
		else
			_exit(2);
	}
}

/* ---- session and client ---- */

static void
conf_init(void)
{
	conf_defaults(&conf);
	snprintf(conf.hostname, sizeof(conf.hostname), "mail.example.org");
	conf.ndomains = 2;
	snprintf(conf.domains[0], sizeof(conf.domains[0]), "example.org");
	snprintf(conf.domains[1], sizeof(conf.domains[1]), "example.net");
	conf.smtp_timeout_ms = 5000;
	conf.smtp_data_timeout_ms = 5000;
}

/* Starts a session; returns the client's socket. */
static int
start(void)
{
	int cs[2], ss[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, cs) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ss) < 0)
		abort();
	if ((pid_store = fork()) == 0) {
		close(cs[0]);
		close(cs[1]);
		close(ss[0]);
		fake_store(ss[1]);
	}
	if ((pid_sess = fork()) == 0) {
		struct session s;

		close(cs[0]);
		close(ss[1]);
		if (getenv("TEST_VERBOSE") == NULL) {
			int nul = open("/dev/null", O_WRONLY);
			if (nul >= 0)
				dup2(nul, 2);
		}
		memset(&s, 0, sizeof(s));
		conn_init(&cn, cs[1], -1);
		s.conf = &conf;
		s.conn = &cn;
		s.store_fd = ss[0];
		s.key_fd = -1;
		s.kind = LK_SMTP;
		snprintf(s.sessid, sizeof(s.sessid), "0123456789abcdef");
		snprintf(s.client, sizeof(s.client), "192.0.2.7");
		smtp_session(&s);
		_exit(0);
	}
	close(cs[1]);
	close(ss[0]);
	close(ss[1]);
	return cs[0];
}

static void
finish(int fd)
{
	close(fd);
	waitpid(pid_sess, NULL, 0);
	kill(pid_store, SIGTERM);
	waitpid(pid_store, NULL, 0);
}

static void
csend(int fd, const char *s, size_t n)
{
	if (write_all(fd, s, n) < 0)
		abort();
}

#define SEND(fd, s) csend(fd, s, strlen(s))

/*
 * Reads until `want` final reply lines ("ddd " or "ddd\r") arrived, the
 * peer closed, or 3 s passed.  Returns the text.
 */
static char rbuf[1 << 17];

static const char *
replies(int fd, int want)
{
	size_t len = 0;
	int got = 0;
	time_t end = time(NULL) + 3;

	rbuf[0] = '\0';
	while (got < want && time(NULL) <= end) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fd, rbuf + len, sizeof(rbuf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		rbuf[len] = '\0';
		got = 0;
		for (char *l = rbuf; (l = strstr(l, "\r\n")) != NULL; l += 2) {
			/* the line that ends here */
			char *b = l;
			while (b > rbuf && b[-1] != '\n')
				b--;
			if (l - b >= 4 && b[3] == ' ')
				got++;
			else if (l - b == 3)
				got++;
		}
	}
	return rbuf;
}

/* The reply codes in order, "250 250 550". */
static const char *
codes(const char *r)
{
	static char out[4096];
	size_t n = 0;

	out[0] = '\0';
	for (const char *l = r; *l != '\0' && n + 5 < sizeof(out);) {
		const char *e = strstr(l, "\r\n");
		if (e == NULL)
			break;
		if (e - l >= 4 && l[3] == ' ') {
			if (n > 0)
				out[n++] = ' ';
			memcpy(out + n, l, 3);
			n += 3;
			out[n] = '\0';
		}
		l = e + 2;
	}
	return out;
}

static int
count_msgs(void)
{
	DIR *d = opendir(spool);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == 'm')
			n++;
	closedir(d);
	return n;
}

/* Contents of the only message file, removed afterwards. */
static char msgbuf[1 << 16];

static const char *
take_msg(void)
{
	DIR *d = opendir(spool);
	struct dirent *e;
	char path[512];
	int fd;
	ssize_t n = 0;

	msgbuf[0] = '\0';
	if (d == NULL)
		return msgbuf;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != 'm')
			continue;
		snprintf(path, sizeof(path), "%s/%s", spool, e->d_name);
		if ((fd = open(path, O_RDONLY)) >= 0) {
			n = read(fd, msgbuf, sizeof(msgbuf) - 1);
			close(fd);
			msgbuf[n > 0 ? n : 0] = '\0';
		}
		unlink(path);
	}
	closedir(d);
	return msgbuf;
}

static void
clear_msgs(void)
{
	while (count_msgs() > 0)
		(void)take_msg();
}

/* ---- tests ---- */

static void
test_greeting_ehlo(void)
{
	int fd = start();
	const char *r;

	r = replies(fd, 1);
	CHECK(strcmp(r, "220 mail.example.org ESMTP postern\r\n") == 0, "greeting");
	SEND(fd, "EHLO client.example\r\n");
	r = replies(fd, 1);
	CHECK(strncmp(r, "250-mail.example.org", 20) == 0 && strstr(r, "250-PIPELINING\r\n") &&
	    strstr(r, "250-SIZE 26214400\r\n") && strstr(r, "250-8BITMIME\r\n") &&
	    strstr(r, "250-ENHANCEDSTATUSCODES\r\n") && strstr(r, "250-SMTPUTF8\r\n") &&
	    !strstr(r, "STARTTLS") && strstr(r, "250 HELP\r\n"), "EHLO extensions");
	SEND(fd, "HELO client.example\r\n");
	r = replies(fd, 1);
	CHECK(strcmp(r, "250 mail.example.org\r\n") == 0, "HELO");
	SEND(fd, "EHLO\r\n");
	CHECK(strncmp(replies(fd, 1), "501 5.5.4", 9) == 0, "EHLO without a name");
	SEND(fd, "EHLO bad(name)\r\n");
	CHECK(strncmp(replies(fd, 1), "501 5.5.4", 9) == 0, "EHLO with a bad name");
	SEND(fd, "HELP\r\n");
	r = replies(fd, 1);
	CHECK(strncmp(r, "214-2.0.0", 9) == 0 && strstr(r, "VRFY") && strstr(r, "\r\n214 2.0.0"),
	    "HELP is 214 multiline");
	SEND(fd, "NOOP\r\nNOOP whatever\r\n");
	CHECK(strcmp(codes(replies(fd, 2)), "250 250") == 0, "NOOP with and without argument");
	SEND(fd, "STARTTLS\r\n");
	CHECK(strncmp(replies(fd, 1), "454 4.7.0", 9) == 0, "STARTTLS without TLS: 454");
	SEND(fd, "QUIT\r\n");
	r = replies(fd, 1);
	CHECK(strcmp(r, "221 2.0.0 mail.example.org Bye\r\n") == 0, "QUIT");
	CHECK(read(fd, rbuf, 1) == 0, "closed after QUIT");
	finish(fd);

	snprintf(conf.tls_cert, sizeof(conf.tls_cert), "/nonexistent/cert.pem");
	fd = start();
	(void)replies(fd, 1);
	SEND(fd, "EHLO c\r\n");
	CHECK(strstr(replies(fd, 1), "250-STARTTLS\r\n") != NULL, "STARTTLS advertised with a cert");
	SEND(fd, "STARTTLS\r\n");
	CHECK(strncmp(replies(fd, 1), "454 4.7.0", 9) == 0, "STARTTLS hook answers 454 for now");
	conf.tls_cert[0] = '\0';
	finish(fd);
}

static void
test_delivery(void)
{
	int fd = start();
	const char *r, *msg;

	clear_msgs();
	(void)replies(fd, 1);
	SEND(fd, "EHLO client.example\r\n");
	(void)replies(fd, 1);
	SEND(fd, "MAIL FROM:<sender@remote.example> SIZE=100 BODY=8BITMIME\r\n");
	CHECK(strncmp(replies(fd, 1), "250 2.1.0", 9) == 0, "MAIL FROM");
	SEND(fd, "RCPT TO:<alice@example.org>\r\n");
	CHECK(strncmp(replies(fd, 1), "250 2.1.5", 9) == 0, "RCPT TO local account");
	SEND(fd, "DATA\r\n");
	CHECK(strncmp(replies(fd, 1), "354 ", 4) == 0, "DATA 354");
	SEND(fd, "Subject: hi\r\n\r\n..dotted\r\nFrom here\r\n\xe9t\xe9\r\n.\r\n");
	r = replies(fd, 1);
	CHECK(strncmp(r, "250 2.0.0 Ok: queued as 0123456789abcdef.1", 42) == 0, "250 after DATA");
	msg = take_msg();
	CHECK(strncmp(msg, "from=sender@remote.example\nto=alice\n\nReceived: from client.example "
	    "([192.0.2.7])\r\n\tby mail.example.org (postern) with ESMTP id 0123456789abcdef.1\r\n"
	    "\tfor <alice@example.org>; ", 160) == 0, "Received header (one recipient)");
	CHECK(strstr(msg, " +0000\r\nSubject: hi\r\n\r\n.dotted\r\nFrom here\r\n\xe9t\xe9\r\n") != NULL &&
	    msg[strlen(msg) - 1] == '\n' && strstr(msg, "\r\n.\r\n") == NULL,
	    "body unstuffed, 8-bit kept, terminator not stored");

	/* dedup: alice, team (alice, bob), bob, postmaster (alice) */
	SEND(fd, "MAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<team@example.net>\r\n"
	    "RCPT TO:<bob@EXAMPLE.ORG>\r\nRCPT TO:<postmaster>\r\nRCPT TO:<PostMaster@example.org>\r\n"
	    "DATA\r\n");
	CHECK(strcmp(codes(replies(fd, 7)), "250 250 250 250 250 250 354") == 0,
	    "null sender, alias, postmaster, pipelined up to DATA");
	SEND(fd, "x\r\n.\r\n");
	CHECK(strncmp(replies(fd, 1), "250 2.0.0 Ok: queued as 0123456789abcdef.2", 42) == 0,
	    "second message");
	msg = take_msg();
	CHECK(strncmp(msg, "from=\nto=alice,bob\n\n", 20) == 0, "each account once");
	CHECK(strstr(msg, "id 0123456789abcdef.2;\r\n\t") != NULL && strstr(msg, "for <") == NULL,
	    "no 'for' with several recipients");

	/* refusals */
	SEND(fd, "MAIL FROM:<s@remote.example>\r\nRCPT TO:<nobody@example.org>\r\n"
	    "RCPT TO:<alice@elsewhere.example>\r\nRCPT TO:<alice@[127.0.0.1]>\r\n"
	    "RCPT TO:<slow@example.org>\r\nRCPT TO:<\"\"@example.org>\r\nDATA\r\n");
	r = replies(fd, 7);
	CHECK(strcmp(codes(r), "250 550 550 550 451 550 554") == 0 && strstr(r, "550 5.1.1 <nobody") &&
	    strstr(r, "550 5.7.1 <alice@elsewhere.example>: Relaying denied") &&
	    strstr(r, "451 4.3.0"), "unknown, relay, literal, tempfail, empty; DATA 554");
	SEND(fd, "RSET\r\nQUIT\r\n");
	(void)replies(fd, 2);
	finish(fd);
	CHECK(count_msgs() == 0, "nothing else delivered");
}

static void
test_sequence_and_errors(void)
{
	int fd = start();
	const char *r;
	char big[70000];

	(void)replies(fd, 1);
	SEND(fd, "MAIL FROM:<a@b.example>\r\n");
	CHECK(strncmp(replies(fd, 1), "503 5.5.1", 9) == 0, "MAIL before HELO: 503");
	SEND(fd, "EHLO c\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
	CHECK(strcmp(codes(replies(fd, 3)), "250 503 503") == 0, "RCPT/DATA before MAIL: 503");
	SEND(fd, "MAIL FROM:<a@b.example>\r\nMAIL FROM:<a@b.example>\r\nRSET x\r\nQUIT now\r\n");
	CHECK(strcmp(codes(replies(fd, 4)), "250 503 501 501") == 0, "nested MAIL, RSET/QUIT args");
	SEND(fd, "FOO\r\nmail from:<a@b.example>\r\n");
	r = replies(fd, 2);
	CHECK(strncmp(r, "500 5.5.2", 9) == 0, "unknown command 500 5.5.2");
	CHECK(strstr(r, "\r\n503 5.5.1") != NULL, "still in MAIL state after errors");
	SEND(fd, "RSET\r\n");
	(void)replies(fd, 1);
	csend(fd, "NOOP\0x\r\n", 8);
	CHECK(strncmp(replies(fd, 1), "500 5.5.2", 9) == 0, "NUL in command voids it");
	SEND(fd, "NOOP\rx\r\n");
	CHECK(strncmp(replies(fd, 1), "500 5.5.2", 9) == 0, "bare CR in command");
	memset(big, 'A', sizeof(big));
	memcpy(big, "NOOP ", 5);
	csend(fd, big, sizeof(big));
	SEND(fd, "\r\nNOOP\r\n");
	CHECK(strcmp(codes(replies(fd, 2)), "500 250") == 0, "64 KiB line: 500, session goes on");
	memset(big, 'A', 511);
	memcpy(big, "NOOP ", 5);
	memcpy(big + 510, "\r\n", 2);
	csend(fd, big, 512);
	CHECK(strcmp(codes(replies(fd, 1)), "250") == 0, "512-octet command line accepted");
	memcpy(big + 510, "A\r\n", 3);
	csend(fd, big, 513);
	CHECK(strcmp(codes(replies(fd, 1)), "500") == 0, "513-octet command line refused");
	SEND(fd, "NOOP\n");
	CHECK(strcmp(codes(replies(fd, 1)), "250") == 0, "bare LF ends a command line");
	SEND(fd, "MAIL FROM:<;sleep 5;>\r\nMAIL FROM:<`touch /tmp/postern-pwned`@example.org>\r\n");
	r = replies(fd, 2);
	CHECK(strcmp(codes(r), "501 501") == 0 && strstr(r, "501 5.1.7"), "shell metacharacters refused");
	CHECK(access("/tmp/postern-pwned", F_OK) != 0, "nothing executed");
	SEND(fd, "MAIL FROM:<a@b.example> FOO=1\r\nMAIL FROM:<a@b.example> SIZE=x\r\n"
	    "MAIL FROM:<a@b.example> SIZE=999999999999\r\n");
	r = replies(fd, 3);
	CHECK(strcmp(codes(r), "555 501 552") == 0 && strstr(r, "555 5.5.4") && strstr(r, "552 5.3.4"),
	    "unknown param 555, bad 501, SIZE over limit 552");
	SEND(fd, "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org> NOTIFY=NEVER\r\n"
	    "RCPT TO:alice@example.org\r\nRCPT <alice@example.org>\r\n");
	r = replies(fd, 4);
	CHECK(strcmp(codes(r), "250 555 501 501") == 0 && strstr(r, "501 5.1.3") && strstr(r, "501 5.5.4"),
	    "RCPT params 555, missing brackets 5.1.3, missing TO: 5.5.4");
	finish(fd);

	/* too many bad commands */
	conf.max_bad_commands = 3;
	fd = start();
	(void)replies(fd, 1);
	SEND(fd, "X\r\nY\r\nZ\r\nNOOP\r\n");
	r = replies(fd, 4);
	CHECK(strcmp(codes(r), "500 500 500 421") == 0 && strstr(r, "421 4.7.0"),
	    "421 4.7.0 after max-bad-commands");
	CHECK(read(fd, rbuf, 1) == 0, "closed after 421");
	finish(fd);
	conf.max_bad_commands = 20;

	/* timeout */
	conf.smtp_timeout_ms = 300;
	fd = start();
	r = replies(fd, 2);
	CHECK(strstr(r, "421 4.4.2 mail.example.org Timeout\r\n") != NULL, "command timeout 421 4.4.2");
	finish(fd);
	conf.smtp_timeout_ms = 5000;
}

static void
test_data_refusals(void)
{
	int fd;
	const char *r;
	char line[3000];

	conf.max_message_size = 2000;
	conf.max_line_length = 1000;
	fd = start();

	clear_msgs();
	(void)replies(fd, 1);
	SEND(fd, "EHLO c\r\n");
	(void)replies(fd, 1);
	/* smuggling */
	SEND(fd, "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
	(void)replies(fd, 3);
	SEND(fd, "one\r\n\n.\nMAIL FROM:<evil@b.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
	    "smuggled\r\n.\r\n");
	r = replies(fd, 2);
	CHECK(strcmp(codes(r), "554") == 0 && strstr(r, "554 5.6.0"), "bare LF: one reply, 554 5.6.0");
	SEND(fd, "NOOP\r\n");
	CHECK(strcmp(codes(replies(fd, 1)), "250") == 0, "session goes on after 554");
	/* long line */
	SEND(fd, "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
	(void)replies(fd, 3);
	memset(line, 'x', sizeof(line));
	memcpy(line + 1500, "\r\n.\r\n", 5);
	csend(fd, line, 1505);
	r = replies(fd, 1);
	CHECK(strncmp(r, "500 5.5.2", 9) == 0, "line over max-line-length refused (5xx)");
	/* size */
	SEND(fd, "MAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
	(void)replies(fd, 3);
	for (int i = 0; i < 30; i++)
		SEND(fd, "0123456789012345678901234567890123456789012345678901234567890123456789012345678\r\n");
	SEND(fd, ".\r\n");
	r = replies(fd, 1);
	CHECK(strncmp(r, "552 5.3.4", 9) == 0, "undeclared size over the limit: 552 5.3.4");
	/* store answers */
	SEND(fd, "MAIL FROM:<quota@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
	(void)replies(fd, 3);
	SEND(fd, "x\r\n.\r\n");
	CHECK(strncmp(replies(fd, 1), "552 5.2.2", 9) == 0, "STORE_QUOTA: 552 5.2.2");
	SEND(fd, "MAIL FROM:<nospace@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
	(void)replies(fd, 3);
	SEND(fd, "x\r\n.\r\n");
	CHECK(strncmp(replies(fd, 1), "452 4.3.1", 9) == 0, "STORE_NOSPACE: 452 4.3.1");
	SEND(fd, "MAIL FROM:<temp@b.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
	(void)replies(fd, 3);
	SEND(fd, "x\r\n.\r\n");
	CHECK(strncmp(replies(fd, 1), "451 4.3.0", 9) == 0, "STORE_TEMPFAIL: 451 4.3.0");
	CHECK(count_msgs() == 0, "nothing delivered");
	/* the store dies */
	SEND(fd, "MAIL FROM:<a@b.example>\r\nRCPT TO:<die@example.org>\r\n");
	r = replies(fd, 2);
	CHECK(strstr(r, "451 4.4.3") != NULL, "store gone at RCPT: 451 4.4.3");
	SEND(fd, "RCPT TO:<alice@example.org>\r\n");
	CHECK(strncmp(replies(fd, 1), "451 4.4.3", 9) == 0, "and stays gone");
	finish(fd);
	conf.max_message_size = 25 * 1024 * 1024;
	conf.max_line_length = 64 * 1024;
}

static void
test_limits_utf8(void)
{
	int fd;
	const char *r;

	conf.max_recipients = 3;
	fd = start();
	(void)replies(fd, 1);
	SEND(fd, "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n"
	    "RCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\n");
	r = replies(fd, 6);
	CHECK(strcmp(codes(r), "250 250 250 250 250 452") == 0 && strstr(r, "452 4.5.3"),
	    "452 4.5.3 beyond max-recipients");
	finish(fd);
	conf.max_recipients = 100;

	clear_msgs();
	fd = start();
	(void)replies(fd, 1);
	SEND(fd, "EHLO c\r\nMAIL FROM:<j\xc3\xb6rg@example.net>\r\n"
	    "MAIL FROM:<j\xc3\xb6rg@example.net> SMTPUTF8\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
	r = replies(fd, 5);
	CHECK(strcmp(codes(r), "250 553 250 250 354") == 0 && strstr(r, "553 5.6.7"),
	    "UTF-8 sender needs SMTPUTF8");
	SEND(fd, "Subject: \xc3\xa9\r\n\r\nx\r\n.\r\n");
	CHECK(strncmp(replies(fd, 1), "250 2.0.0", 9) == 0, "UTF-8 message delivered");
	r = take_msg();
	CHECK(strncmp(r, "from=j\xc3\xb6rg@example.net\n", 20) == 0 && strstr(r, "with UTF8SMTP id"),
	    "UTF-8 sender passed on, with UTF8SMTP");
	SEND(fd, "MAIL FROM:<a@b.example>\r\nRCPT TO:<j\xc3\xb6rg@example.org>\r\n"
	    "RCPT TO:<j\xc3rg@example.org>\r\n");
	r = replies(fd, 3);
	CHECK(strcmp(codes(r), "250 553 501") == 0, "UTF-8 recipient without SMTPUTF8; bad UTF-8");
	finish(fd);
}

static void
test_vrfy_expn_verb(void)
{
	int fd = start();
	const char *r;

	(void)replies(fd, 1);
	SEND(fd, "VRFY alice\r\nEXPN team\r\nVRFY\r\n");
	r = replies(fd, 3);
	CHECK(strcmp(codes(r), "252 502 501") == 0 && strstr(r, "252 2.5.2"),
	    "VRFY/EXPN off: 252 / 502");
	SEND(fd, "VERB\r\n");
	CHECK(strncmp(replies(fd, 1), "250 2.0.0", 9) == 0, "VERB on (default): 250");
	finish(fd);

	conf.vrfy = conf.expn = true;
	conf.verb = false;
	fd = start();
	(void)replies(fd, 1);
	SEND(fd, "VRFY alice\r\nVRFY <bob@example.net>\r\nVRFY nobody\r\nVRFY x@elsewhere.example\r\n");
	r = replies(fd, 4);
	CHECK(strcmp(codes(r), "250 250 550 550") == 0 && strstr(r, "250 2.1.5 <alice@example.org>") &&
	    strstr(r, "250 2.1.5 <bob@example.net>") && strstr(r, "550 5.1.1"), "VRFY on");
	SEND(fd, "EXPN team\r\nEXPN nobody\r\nVERB\r\n");
	r = replies(fd, 3);
	CHECK(strstr(r, "250-2.1.5 <alice@example.org>\r\n250 2.1.5 <bob@example.org>\r\n") != NULL &&
	    strstr(r, "550 5.1.1") && strstr(r, "502 5.5.1"), "EXPN on, VERB off");
	finish(fd);
	conf.vrfy = conf.expn = false;
	conf.verb = true;
}

/* A pipelined batch split into two writes at every offset: same replies. */
static void
test_pipelining_splits(void)
{
	static const char batch[] = "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n"
	    "RCPT TO:<nobody@example.org>\r\nNOOP\r\nRSET\r\nFOO\r\nQUIT\r\n";
	const size_t n = sizeof(batch) - 1;
	int bad = 0;

	for (size_t k = 1; k < n; k++) {
		int fd = start();
		struct timespec ts = { 0, 2 * 1000 * 1000 };

		(void)replies(fd, 1);
		csend(fd, batch, k);
		nanosleep(&ts, NULL);
		csend(fd, batch + k, n - k);
		if (strcmp(codes(replies(fd, 8)), "250 250 250 550 250 250 500 221") != 0)
			bad++;
		finish(fd);
	}
	CHECK(bad == 0, "pipelined batch split at every offset (%zu): replies complete, in order", n);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(spool, sizeof(spool), "/tmp/test_smtp_session.XXXXXX");
	if (mkdtemp(spool) == NULL)
		return 1;
	conf_init();
	test_greeting_ehlo();
	test_delivery();
	test_sequence_and_errors();
	test_data_refusals();
	test_limits_utf8();
	test_vrfy_expn_verb();
	test_pipelining_splits();
	clear_msgs();
	rmdir(spool);
	return check_done();
}
