/* Unit tests: the SMTP DATA reader (workers/smtp_data.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/unit/check.h"
#include "workers/conn.h"
#include "workers/smtp_data.h"

static struct smtp_data d;
static struct conn cn;

/* What ended up in fd, NUL terminated (tests use small messages). */
static size_t
slurp(int fd, char *buf, size_t sz)
{
	ssize_t n;
	size_t len = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return 0;
	while (len + 1 < sz && (n = read(fd, buf + len, sz - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

struct res {
	bool done;
	int flags;
	size_t used;
	size_t outlen;
	char out[4096];
};

/* Feeds s in chunks of `chunk` octets (0 = all at once). */
static void
run(const char *s, size_t n, size_t chunk, uint64_t max_size, uint32_t max_line,
    struct res *r)
{
	int fd = smtp_data_memfd();
	size_t off = 0, k, used;

	smtp_data_init(&d, fd, max_size, max_line);
	r->used = 0;
	while (off < n && !d.done) {
		k = chunk == 0 || n - off < chunk ? n - off : chunk;
		used = smtp_data_feed(&d, (const unsigned char *)s + off, k);
		r->used += used;
		if (used < k && !d.done)
			break;   /* must not happen */
		off += used;
	}
	(void)smtp_data_flush(&d);
	r->done = d.done;
	r->flags = d.flags;
	r->outlen = slurp(fd, r->out, sizeof(r->out));
	close(fd);
}

#define S(x) x, sizeof(x) - 1

static bool
same(const struct res *r, const char *exp, size_t n)
{
	return r->outlen == n && memcmp(r->out, exp, n) == 0;
}

static void
test_basic(void)
{
	struct res r;

	run(S("Hello\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && r.flags == 0 && same(&r, S("Hello\r\n")) && r.used == 10, "simple message");
	run(S(".\r\n"), 0, 0, 0, &r);
	CHECK(r.done && r.flags == 0 && r.outlen == 0, "empty message: the first CRLF is DATA's");
	run(S("\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && r.flags == 0 && same(&r, S("\r\n")), "message of one empty line");
	run(S("..dot\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && same(&r, S(".dot\r\n")), "dot-unstuffing");
	run(S("a\r\n..\r\n...\r\n. x\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && r.flags == 0 && same(&r, S("a\r\n.\r\n..\r\n x\r\n")), "dot lines unstuffed");
	run(S("a\r\n.\r\nMAIL FROM:<x@y>\r\n"), 0, 0, 0, &r);
	CHECK(r.done && r.used == 6 && same(&r, S("a\r\n")), "stops right after the terminator");
	run(S("From me\r\n>From you\r\n\x80\xff\xfe\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && r.flags == 0 && same(&r, S("From me\r\n>From you\r\n\x80\xff\xfe\r\n")),
	    "From lines and 8-bit octets untouched");
	run(S("a\0b\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && r.flags == 0 && same(&r, S("a\0b\r\n")), "NUL passes through as data");
	run(S("no end\r\n"), 0, 0, 0, &r);
	CHECK(!r.done && r.used == 8, "no terminator: not done");
}

/* Every smuggling sequence: never an end, always a refusal. */
static void
test_smuggling(void)
{
	static const char *const seqs[] = { "\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r\n",
		"\r\n.\r", "\r.\n", "\n.\r" };
	char buf[512];
	struct res r;

	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		int n = snprintf(buf, sizeof(buf), "Subject: one\r\n\r\nbody%s"
		    "MAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
		    "smuggled\r\n.\r\nQUIT\r\n", seqs[i]);
		run(buf, (size_t)n, 0, 0, 0, &r);
		CHECK(r.done && (r.flags & DATA_BARE) &&
		    r.used == (size_t)n - strlen("QUIT\r\n"),
		    "smuggling sequence %zu ends only at the real CRLF.CRLF and is refused", i);
		for (size_t k = 1; k <= 3; k++) {
			run(buf, (size_t)n, k, 0, 0, &r);
			CHECK(r.done && (r.flags & DATA_BARE) &&
			    r.used == (size_t)n - strlen("QUIT\r\n"),
			    "smuggling sequence %zu fed %zu at a time", i, k);
		}
	}
	run(S("a\rb\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && (r.flags & DATA_BARE), "bare CR refused");
	run(S("a\nb\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && (r.flags & DATA_BARE), "bare LF refused");
	run(S("a\r\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && (r.flags & DATA_BARE), "CR CR LF refused");
	run(S("a\r\n.\r\r\n.\r\n"), 0, 0, 0, &r);
	CHECK(r.done && (r.flags & DATA_BARE) && r.used == 10, ". CR CR LF is not an end");
	run(S(".\n"), 0, 0, 0, &r);
	CHECK(!r.done && (r.flags & DATA_BARE), ".LF right after DATA is not an end");
}

static void
test_limits(void)
{
	struct res r;

	run(S("12345678\r\n.\r\n"), 0, 0, 10, &r);
	CHECK(r.done && r.flags == 0, "line of exactly max_line (CRLF included) accepted");
	run(S("123456789\r\n.\r\n"), 0, 0, 10, &r);
	CHECK(r.done && (r.flags & DATA_TOOLONG) && r.outlen == 0, "line of max_line + 1 refused");
	run(S("..2345678\r\n.\r\n"), 0, 0, 10, &r);
	CHECK(r.done && (r.flags & DATA_TOOLONG), "the stuffing dot counts in the line length");
	run(S("12345\r\n.\r\n"), 0, 7, 0, &r);
	CHECK(r.done && r.flags == 0 && r.outlen == 7, "message of exactly max_size");
	run(S("123456\r\n.\r\n"), 0, 7, 0, &r);
	CHECK(r.done && (r.flags & DATA_TOOBIG) && r.outlen == 0, "message of max_size + 1 refused");

	/* a big message: bounded buffer, streamed */
	{
		size_t n = 3 * DATA_BUF_BYTES + 100;
		char *m = malloc(n + 5);
		int fd = smtp_data_memfd();
		for (size_t i = 0; i < n; i++)
			m[i] = (i % 80 == 78) ? '\r' : (i % 80 == 79) ? '\n' : 'x';
		memcpy(m + n - 2, "\r\n", 2);
		memcpy(m + n, ".\r\n", 3);
		smtp_data_init(&d, fd, 0, 1000);
		size_t used = smtp_data_feed(&d, (unsigned char *)m, n + 3);
		(void)smtp_data_flush(&d);
		off_t end = lseek(fd, 0, SEEK_END);
		CHECK(d.done && d.flags == 0 && used == n + 3 && end == (off_t)n,
		    "message over several buffers written whole");
		CHECK(smtp_data_seal(fd) == 0, "sealed");
		CHECK(write(fd, "x", 1) == -1 && errno == EPERM, "sealed memfd refuses writes");
		CHECK(ftruncate(fd, 1) == -1, "sealed memfd refuses shrinking");
		CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
		    "all four seals");
		CHECK(lseek(fd, 0, SEEK_CUR) == 0, "rewound after sealing");
		close(fd);
		free(m);
	}
}

/* The same stream split at every offset gives the same result. */
static void
test_splits(void)
{
	static const char msg[] = "Subject: x\r\n\r\n..a\r\nb\r\n.\r\n";
	struct res whole, part;
	bool ok = true;

	run(S(msg), 0, 0, 0, &whole);
	for (size_t k = 1; k < sizeof(msg) - 1; k++) {
		run(S(msg), k, 0, 0, &part);
		if (!part.done || part.flags != whole.flags || part.outlen != whole.outlen ||
		    memcmp(part.out, whole.out, whole.outlen) != 0)
			ok = false;
	}
	CHECK(whole.done && ok, "every chunk size gives the same message");
}

/* Through a real connection: a socketpair and conn.c. */
static void
test_conn(void)
{
	int sv[2], fd;
	char out[256];
	size_t n;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		CHECK(0, "socketpair");
		return;
	}
	conn_init(&cn, sv[0], -1);
	(void)!write(sv[1], S("line 1\r\n..line 2\r\n.\r\nQUIT\r\n"));
	fd = smtp_data_memfd();
	smtp_data_init(&d, fd, 1000, 100);
	CHECK(smtp_data_read(&cn, &d, 2000) == CONN_OK, "read to the terminator");
	n = slurp(fd, out, sizeof(out));
	CHECK(n == 17 && memcmp(out, "line 1\r\n.line 2\r\n", 17) == 0, "message through conn");
	CHECK(conn_pending(&cn) == 6, "the next command stays buffered");
	close(fd);

	/* a message that never ends: EOF */
	cn.inpos = cn.inlen;
	fd = smtp_data_memfd();
	smtp_data_init(&d, fd, 1000, 100);
	(void)!write(sv[1], S("partial\r\n"));
	shutdown(sv[1], SHUT_WR);
	CHECK(smtp_data_read(&cn, &d, 2000) == CONN_EOF, "EOF before the terminator");
	close(fd);
	close(sv[0]);
	close(sv[1]);

	/* silence: timeout */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return;
	conn_init(&cn, sv[0], -1);
	fd = smtp_data_memfd();
	smtp_data_init(&d, fd, 1000, 100);
	CHECK(smtp_data_read(&cn, &d, 200) == CONN_TIMEOUT, "timeout while waiting for data");
	close(fd);
	close(sv[0]);
	close(sv[1]);

	/* 8 MB from another process, in odd-sized writes; size limit 1 MB */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return;
	if ((pid = fork()) == 0) {
		static char blk[7777];
		close(sv[0]);
		for (size_t i = 0; i < sizeof(blk); i++)
			blk[i] = (i % 100 == 98) ? '\r' : (i % 100 == 99) ? '\n' : 'y';
		for (int i = 0; i < 1100; i++)
			if (write(sv[1], blk, sizeof(blk)) < 0)
				_exit(1);
		(void)!write(sv[1], S("\r\n.\r\n"));
		_exit(0);
	}
	close(sv[1]);
	conn_init(&cn, sv[0], -1);
	fd = smtp_data_memfd();
	smtp_data_init(&d, fd, 1024 * 1024, 1000);
	CHECK(smtp_data_read(&cn, &d, 5000) == CONN_OK && (d.flags & DATA_TOOBIG) &&
	    !(d.flags & DATA_BARE), "8 MB message read to the end, refused as too big");
	CHECK(lseek(fd, 0, SEEK_END) <= 1024 * 1024, "no more than the limit was spooled");
	close(fd);
	close(sv[0]);
	waitpid(pid, NULL, 0);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_basic();
	test_smuggling();
	test_limits();
	test_splits();
	test_conn();
	return check_done();
}
