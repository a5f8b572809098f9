/*
 * Unit tests for the POP3 message writer (workers/pop3_out.c): CRLF line
 * ends, dot-stuffing, the terminator, octet counts, and streaming a 20 MB
 * message through a real conn with bounded memory.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/unit/check.h"
#include "workers/conn.h"
#include "workers/pop3_out.h"

/* Whole-buffer conversion with the streaming API, in chunks of step. */
static size_t
convert(const char *in, size_t n, size_t step, unsigned char *out,
    uint64_t *wire)
{
	struct dotstuff d;
	size_t o = 0;

	dotstuff_init(&d);
	for (size_t i = 0; i < n; i += step) {
		size_t k = n - i < step ? n - i : step;
		o += dotstuff_chunk(&d, (const unsigned char *)in + i, k, out + o);
	}
	*wire = d.wire;
	o += dotstuff_end(&d, out + o);
	return o;
}

static int
conv_is(const char *in, const char *want, uint64_t want_wire)
{
	unsigned char out[1024];
	size_t steps[] = { 1, 2, 3, 7, 1000 };

	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		uint64_t wire;
		size_t n = convert(in, strlen(in), steps[s], out, &wire);

		if (n != strlen(want) || memcmp(out, want, n) != 0 ||
		    wire != want_wire)
			return 0;
	}
	return 1;
}

static void
test_convert(void)
{
	CHECK(conv_is("", ".\r\n", 0), "empty message: only the terminator");
	CHECK(conv_is("a\n", "a\r\n.\r\n", 3), "one line");
	CHECK(conv_is("a\nb\n", "a\r\nb\r\n.\r\n", 6), "two lines");
	CHECK(conv_is("a", "a\r\n.\r\n", 1), "no final LF: CRLF added, not counted");
	CHECK(conv_is(".\n", "..\r\n.\r\n", 3), "lone dot line stuffed");
	CHECK(conv_is("a\n.\nb\n", "a\r\n..\r\nb\r\n.\r\n", 9), "dot line inside");
	CHECK(conv_is("..x\n", "...x\r\n.\r\n", 5), "double dot gets a third");
	CHECK(conv_is("a.b\n.", "a.b\r\n..\r\n.\r\n", 6), "mid-line dot kept, last dot line");
	CHECK(conv_is("\n\n", "\r\n\r\n.\r\n", 4), "empty lines");
	CHECK(conv_is("From x\n>From y\n", "From x\r\n>From y\r\n.\r\n", 17),
	    "From lines untouched");
	CHECK(conv_is("\xff\x80\n", "\xff\x80\r\n.\r\n", 4), "8-bit bytes");
	CHECK(conv_is("h: v\n\n.\n..\n", "h: v\r\n\r\n..\r\n...\r\n.\r\n", 15),
	    "header, blank, dots");
}

/* RFC 1939 3 a byte at a time: the model the line-wise writer must match. */
static size_t
model(const unsigned char *in, size_t n, unsigned char *out, uint64_t *wire)
{
	size_t o = 0;
	int bol = 1;

	*wire = 0;
	for (size_t i = 0; i < n; i++) {
		if (bol && in[i] == '.')
			out[o++] = '.';
		if (in[i] == '\n') {
			out[o++] = '\r';
			*wire += 1;
		}
		out[o++] = in[i];
		*wire += 1;
		bol = in[i] == '\n';
	}
	if (!bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

/* Random messages of '.', 'a', LF, in random chunk sizes, against the model. */
static void
test_convert_random(void)
{
	static const char alphabet[] = "..a\n";
	static char in[600];
	static unsigned char want[2000], got[2000];
	unsigned seed = 12345, bad = 0;

	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof(in)), o = 0, step;
		uint64_t ww, gw;
		struct dotstuff d;

		for (size_t i = 0; i < n; i++)
			in[i] = alphabet[rand_r(&seed) % 4];
		step = 1 + (size_t)(rand_r(&seed) % 64);
		dotstuff_init(&d);
		for (size_t i = 0; i < n; i += step) {
			size_t k = n - i < step ? n - i : step;
			o += dotstuff_chunk(&d, (const unsigned char *)in + i, k, got + o);
		}
		gw = d.wire;
		o += dotstuff_end(&d, got + o);
		if (model((const unsigned char *)in, n, want, &ww) != o ||
		    memcmp(want, got, o) != 0 || ww != gw)
			bad++;
	}
	CHECK(bad == 0, "2000 random messages in random chunks match the byte model (%u differ)", bad);
}

static int
memfd_with(const void *p, size_t n)
{
	int fd = memfd_create("t", MFD_CLOEXEC);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		return -1;
	return fd;   /* the offset is at the end, as the store leaves it */
}

static void
test_wire_octets(void)
{
	uint64_t w = 0;
	int fd = memfd_with("a\nbb\n\nc", 7);

	CHECK(fd >= 0 && pop3_wire_octets(fd, 0, 7, &w) == 0 && w == 10,
	    "wire octets count one CR per LF (pread, file offset ignored)");
	CHECK(pop3_wire_octets(fd, 0, 8, &w) < 0, "short file is an error");
	CHECK(pop3_wire_octets(fd, 2, 4, &w) == 0 && w == 6,
	    "wire octets of a part (a message of a read-ahead memfd)");
	CHECK(pop3_wire_octets(fd, 4, 4, &w) < 0, "a part past the end is an error");
	CHECK(pop3_wire_octets(fd, UINT64_MAX, 2, &w) < 0, "offset overflow is an error");
	close(fd);
}

/* Receives from sock until ".\r\n", undoes the stuffing; compares. */
static int
receive_and_compare(int sock, const unsigned char *orig, size_t n)
{
	static unsigned char buf[65536];
	unsigned char line[4096];
	size_t ll = 0, pos = 0;
	ssize_t r;
	int ended = 0, bad = 0;

	while (!ended && (r = read(sock, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r && !ended; i++) {
			if (ll >= sizeof(line)) { bad = 1; ll = 0; }
			line[ll++] = buf[i];
			if (buf[i] != '\n')
				continue;
			if (ll < 2 || line[ll - 2] != '\r') { bad = 1; ll = 0; continue; }
			if (ll == 3 && line[0] == '.') { ended = 1; break; }
			{
				size_t s = (line[0] == '.') ? 1 : 0;
				size_t k = ll - 2 - s;

				if (line[0] == '.' && !(ll > 3 && line[1] == '.'))
					bad = 1;   /* unstuffed dot line */
				if (pos + k + 1 > n || memcmp(orig + pos, line + s, k) != 0 ||
				    orig[pos + k] != '\n')
					bad = 1;
				pos += k + 1;
			}
			ll = 0;
		}
	}
	return ended && !bad && pos == n;
}

/* One message out of a memfd holding several (RETR read-ahead). */
static void
test_stream_part(void)
{
	static const char all[] = "Subject: a\n\none\nSubject: b\n\n.dot\nend\n";
	static const unsigned char want[] = "Subject: b\n\n.dot\nend\n";
	static struct conn c;
	int sv[2], fd = memfd_with(all, sizeof(all) - 1);

	CHECK(fd >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "memfd, socketpair");
	conn_init(&c, sv[1], -1);
	CHECK(pop3_send_message(&c, fd, 16, sizeof(want) - 1, 10000) == 0 &&
	    conn_flush(&c, 10000) == CONN_OK, "the second message sent");
	CHECK(receive_and_compare(sv[0], want, sizeof(want) - 1),
	    "exactly the second message, dot-stuffed, then the end line");
	CHECK(pop3_send_message(&c, fd, 30, 20, 10000) == P3_OUT_READERR,
	    "a part past the end of the memfd is a read error");
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

static void
test_stream_big(void)
{
	size_t n = 20u * 1024 * 1024, i = 0;
	unsigned char *msg;
	int sv[2], go[2], fd, status = -1;
	pid_t pid;
	struct rusage ru;
	char b;

	/* the sender is forked before the 20 MB exist, so its RSS is its own */
	fd = memfd_create("t", MFD_CLOEXEC);
	CHECK(fd >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 &&
	    pipe(go) == 0, "memfd, socketpair, pipe");
	pid = fork();
	if (pid == 0) {
		static struct conn c;
		int r;

		close(sv[0]);
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(2);
		conn_init(&c, sv[1], -1);
		r = pop3_send_message(&c, fd, 0, n, 10000);
		if (r == 0)
			r = conn_flush(&c, 10000) == CONN_OK ? 0 : 1;
		_exit(r == 0 ? 0 : 1);
	}
	close(sv[1]);
	close(go[0]);
	msg = malloc(n);
	/* lines of varying length, some leading dots, some 8-bit */
	while (i < n) {
		size_t len = 1 + (i * 7919) % 997;
		for (size_t k = 0; k < len && i < n - 1; k++, i++)
			msg[i] = (unsigned char)(k == 0 && (i % 5) == 0 ? '.' :
			    'a' + (i % 26) + ((i % 97) == 0 ? 100 : 0));
		msg[i++] = '\n';
	}
	CHECK(write(fd, msg, n) == (ssize_t)n && write(go[1], "g", 1) == 1,
	    "20 MB message written");
	CHECK(receive_and_compare(sv[0], msg, n),
	    "20 MB message comes back identical after unstuffing");
	close(sv[0]);
	close(go[1]);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sender succeeded");
	getrusage(RUSAGE_CHILDREN, &ru);
	CHECK(ru.ru_maxrss < 8 * 1024, "sender max RSS %ld KB (< 8 MB)",
	    ru.ru_maxrss);
	close(fd);
	free(msg);
}

int
main(void)
{
	test_convert();
	test_convert_random();
	test_wire_octets();
	test_stream_part();
	test_stream_big();
	return check_done();
}
