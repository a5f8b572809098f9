/*
 * The typed store client (workers/storecli.c): each sc_* function puts
 * its request on the wire as privsep/msg.h defines it, decodes the answer
 * into C values, and refuses an answer that breaks its definition
 * (trailing bytes, a bad name, a descriptor where none belongs, a batch
 * that disagrees with its memfd).  DELE marks travel pipelined: one
 * MSG_DELE for the marks queued, sent with the next request, no round
 * trip of their own.  The test is the store: the answers are queued on the
 * other end of the socketpair before the call (the request ids are
 * predictable), and the requests read back after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "privsep/ipc.h"
#include "privsep/msg.h"
#include "privsep/util.h"
#include "t/unit/check.h"
#include "workers/storecli.h"

static struct session s;
static int peer;
static struct ipc_msg q, a;

/* Starts the answer to the request the client sends next. */
static void
answer(uint32_t type, unsigned ahead)
{
	ipc_init(&a, type, s.next_id + 1 + ahead);
}

static void
queue(void)
{
	if (ipc_send(peer, &a) < 0)
		_exit(2);
	if (a.fd >= 0)
		close(a.fd);
	a.fd = -1;
}

/* The next request the client sent, or type 0 when there is none. */
static uint32_t
request(void)
{
	if (ipc_recv(peer, &q) != 1)
		return 0;
	return q.hdr.type;
}

static int
memfd_of(const void *p, size_t n)
{
	int fd = memfd_create("t", MFD_CLOEXEC);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		_exit(2);
	return fd;
}

static void
test_lookup(void)
{
	char acc[LIM_ALIAS_EXPANSION][LIM_NAME + 1], got[80];
	uint32_t n = 0;
	int r;

	answer(MSG_LOOKUP_R, 0);
	ipc_put_u32(&a, LOOKUP_OK);
	ipc_put_u32(&a, 2);
	ipc_put_str(&a, "alice");
	ipc_put_str(&a, "bob");
	queue();
	r = sc_lookup(&s, "team", acc, &n);
	CHECK(r == LOOKUP_OK && n == 2 && strcmp(acc[0], "alice") == 0 &&
	    strcmp(acc[1], "bob") == 0, "lookup: two accounts decoded");
	CHECK(request() == MSG_LOOKUP && ipc_get_str(&q, got, sizeof(got)) == 0 &&
	    strcmp(got, "team") == 0 && ipc_end(&q) == 0,
	    "lookup: the request is str local part");

	answer(MSG_LOOKUP_R, 0);
	ipc_put_u32(&a, LOOKUP_UNKNOWN);
	ipc_put_u32(&a, 0);
	queue();
	CHECK(sc_lookup(&s, "nobody", acc, &n) == LOOKUP_UNKNOWN &&
	    request() == MSG_LOOKUP, "lookup: unknown");

	answer(MSG_LOOKUP_R, 0);
	ipc_put_u32(&a, LOOKUP_OK);
	ipc_put_u32(&a, 1);
	ipc_put_str(&a, "alice");
	ipc_put_u32(&a, 7);
	queue();
	CHECK(sc_lookup(&s, "alice", acc, &n) == SC_MALFORMED &&
	    request() == MSG_LOOKUP, "lookup: trailing bytes refused");

	answer(MSG_LOOKUP_R, 0);
	ipc_put_u32(&a, LOOKUP_OK);
	ipc_put_u32(&a, 1);
	ipc_put_str(&a, "../etc");
	queue();
	CHECK(sc_lookup(&s, "x", acc, &n) == SC_MALFORMED &&
	    request() == MSG_LOOKUP, "lookup: a name that is no account refused");

	answer(MSG_LOOKUP_R, 0);
	ipc_put_u32(&a, LOOKUP_OK);
	ipc_put_u32(&a, 0);
	queue();
	CHECK(sc_lookup(&s, "x", acc, &n) == SC_MALFORMED &&
	    request() == MSG_LOOKUP, "lookup: OK with no account refused");
	CHECK(!store_dead(), "a malformed answer leaves the channel up");
}

static void
test_append(void)
{
	const char accs[2][LIM_NAME + 1] = { "alice", "bob" };
	char text[64], sess[32], from[64], n1[16], n2[16];
	uint32_t st = 99, n = 0;
	int fd = memfd_of("x\r\n", 3);

	answer(MSG_APPEND_R, 0);
	ipc_put_u32(&a, STORE_QUOTA);
	ipc_put_str(&a, "over quota");
	queue();
	CHECK(sc_append(&s, fd, "0123", "a@b", accs, 2, &st, text,
	    sizeof(text)) == 0 && st == STORE_QUOTA &&
	    strcmp(text, "over quota") == 0, "append: status and text");
	CHECK(request() == MSG_APPEND && q.fd >= 0 &&
	    ipc_get_str(&q, sess, sizeof(sess)) == 0 &&
	    ipc_get_str(&q, from, sizeof(from)) == 0 &&
	    ipc_get_u32(&q, &n) == 0 && n == 2 &&
	    ipc_get_str(&q, n1, sizeof(n1)) == 0 &&
	    ipc_get_str(&q, n2, sizeof(n2)) == 0 && ipc_end(&q) == 0 &&
	    strcmp(sess, "0123") == 0 && strcmp(from, "a@b") == 0 &&
	    strcmp(n2, "bob") == 0, "append: fd, session, sender, accounts");
	CHECK(q.hdr.len == sc_append_base_len("0123", "a@b") +
	    sc_append_account_len("alice") + sc_append_account_len("bob"),
	    "append: sc_append_*_len() give the payload's size");
	ipc_drop_fd(&q);

	answer(MSG_APPEND_R, 0);
	ipc_put_u32(&a, STORE_OK);
	ipc_put_str(&a, "ok");
	ipc_set_fd(&a, memfd_of("y", 1));
	queue();
	CHECK(sc_append(&s, fd, "0123", "", accs, 1, &st, text,
	    sizeof(text)) == SC_MALFORMED, "append: a descriptor in the answer refused");
	(void)request();
	ipc_drop_fd(&q);
	close(fd);
}

static void
put_listing(uint64_t o1, uint64_t o2)
{
	struct ipc_msg l;

	ipc_init(&l, 0, 0);
	ipc_put_u64(&l, o1);
	ipc_put_str(&l, "uid-1");
	ipc_put_u64(&l, o2);
	ipc_put_str(&l, "uid-2");
	ipc_set_fd(&a, memfd_of(l.data, l.hdr.len));
}

static void
test_auth(void)
{
	struct sc_auth au;
	char pass[] = "secret", u[16], p[16], c[32];

	answer(MSG_AUTH_R, 0);
	ipc_put_u32(&a, AUTH_OK);
	ipc_put_u32(&a, 250);
	ipc_put_str(&a, "alice");
	ipc_put_u32(&a, 2);
	ipc_put_u64(&a, 30);
	put_listing(10, 20);
	queue();
	CHECK(sc_auth(&s, "Alice", pass, &au) == 0 && au.status == AUTH_OK &&
	    au.delay_ms == 250 && strcmp(au.account, "alice") == 0 &&
	    au.count == 2 && au.octets == 30 && au.list != NULL &&
	    au.list[1].octets == 20 && strcmp(au.list[1].uid, "uid-2") == 0 &&
	    !au.list[0].deleted, "auth: status, delay, account, listing");
	CHECK(pass[0] == '\0' && pass[5] == '\0', "auth: the password is wiped");
	CHECK(request() == MSG_AUTH && ipc_get_str(&q, u, sizeof(u)) == 0 &&
	    ipc_get_str(&q, p, sizeof(p)) == 0 &&
	    ipc_get_str(&q, c, sizeof(c)) == 0 && ipc_end(&q) == 0 &&
	    strcmp(u, "Alice") == 0 && strcmp(p, "secret") == 0 &&
	    strcmp(c, "192.0.2.1") == 0, "auth: name, password, client");
	free(au.list);

	answer(MSG_AUTH_R, 0);
	ipc_put_u32(&a, AUTH_OK);
	ipc_put_u32(&a, 0);
	ipc_put_str(&a, "alice");
	ipc_put_u32(&a, 2);
	ipc_put_u64(&a, 31);
	put_listing(10, 20);
	queue();
	strlcpy_(pass, "secret", sizeof(pass));
	CHECK(sc_auth(&s, "alice", pass, &au) == SC_MALFORMED &&
	    au.status == AUTH_OK && au.list == NULL,
	    "auth: a listing that disagrees with its total: malformed, bound");
	(void)request();

	answer(MSG_AUTH_R, 0);
	ipc_put_u32(&a, AUTH_BAD);
	ipc_put_u32(&a, 1000);
	queue();
	strlcpy_(pass, "wrong", sizeof(pass));
	CHECK(sc_auth(&s, "alice", pass, &au) == 0 && au.status == AUTH_BAD &&
	    au.delay_ms == 1000, "auth: refused, with its delay");
	(void)request();

	answer(MSG_AUTH_R, 0);
	ipc_put_u32(&a, AUTH_BAD);
	ipc_put_u32(&a, 1000);
	ipc_put_u32(&a, 1);
	queue();
	strlcpy_(pass, "wrong", sizeof(pass));
	CHECK(sc_auth(&s, "alice", pass, &au) == SC_MALFORMED &&
	    au.status != AUTH_OK, "auth: trailing bytes refused, not bound");
	(void)request();
}

static void
test_retr(void)
{
	struct sc_batch b;
	uint32_t st, no, lines, ahead;

	answer(MSG_RETR_R, 0);
	ipc_put_u32(&a, STORE_OK);
	ipc_put_u32(&a, 2);
	ipc_put_u32(&a, 3);
	ipc_put_u64(&a, 4);
	ipc_put_u32(&a, 5);
	ipc_put_u64(&a, 6);
	ipc_set_fd(&a, memfd_of("abc\nabcde\n", 10));
	queue();
	CHECK(sc_retr(&s, 3, LIM_ALL_LINES, 4, 9, &st, &b) == 0 &&
	    st == STORE_OK && b.n == 2 && b.fd >= 0 && b.no[1] == 5 &&
	    b.off[1] == 4 && b.len[1] == 6, "retr: a batch of two");
	if (b.fd >= 0)
		close(b.fd);
	CHECK(request() == MSG_RETR && ipc_get_u32(&q, &no) == 0 &&
	    ipc_get_u32(&q, &lines) == 0 && ipc_get_u32(&q, &ahead) == 0 &&
	    ipc_end(&q) == 0 && no == 3 && lines == LIM_ALL_LINES && ahead == 4,
	    "retr: msgno, lines, ahead");

	answer(MSG_RETR_R, 0);
	ipc_put_u32(&a, STORE_OK);
	ipc_put_u32(&a, 1);
	ipc_put_u32(&a, 3);
	ipc_put_u64(&a, 5);
	ipc_set_fd(&a, memfd_of("abc\n", 4));
	queue();
	CHECK(sc_retr(&s, 3, LIM_ALL_LINES, 0, 9, &st, &b) == SC_MALFORMED &&
	    b.n == 0 && b.fd == -1, "retr: lengths that disagree with the memfd");
	(void)request();

	answer(MSG_RETR_R, 0);
	ipc_put_u32(&a, STORE_OK);
	ipc_put_u32(&a, 2);
	ipc_put_u32(&a, 3);
	ipc_put_u64(&a, 1);
	ipc_put_u32(&a, 4);
	ipc_put_u64(&a, 1);
	ipc_set_fd(&a, memfd_of("ab", 2));
	queue();
	CHECK(sc_retr(&s, 3, LIM_ALL_LINES, 0, 9, &st, &b) == SC_MALFORMED,
	    "retr: more messages than the read-ahead asked");
	(void)request();

	answer(MSG_RETR_R, 0);
	ipc_put_u32(&a, STORE_NOSUCH);
	queue();
	CHECK(sc_retr(&s, 3, 2, 0, 9, &st, &b) == 0 && st == STORE_NOSUCH &&
	    b.fd == -1, "retr: a refusal without a memfd");
	(void)request();
}

static void
test_dele_pipelined(void)
{
	uint32_t st, n, m1, m2, m3, ndel;
	struct ipc_msg extra;

	CHECK(sc_dele(&s, 2) == 0 && sc_dele(&s, 5) == 0 && sc_dele(&s, 7) == 0,
	    "dele: queued");
	CHECK(request() == 0, "dele: nothing on the wire yet");
	answer(MSG_DELE_R, 0);
	ipc_put_u32(&a, STORE_OK);
	queue();
	answer(MSG_UNDO_R, 1);
	ipc_put_u32(&a, STORE_OK);
	queue();
	CHECK(sc_undo(&s, &st) == 0 && st == STORE_OK, "dele then undo: ok");
	CHECK(request() == MSG_DELE && ipc_get_u32(&q, &n) == 0 && n == 3 &&
	    ipc_get_u32(&q, &m1) == 0 && ipc_get_u32(&q, &m2) == 0 &&
	    ipc_get_u32(&q, &m3) == 0 && ipc_end(&q) == 0 && m1 == 2 &&
	    m2 == 5 && m3 == 7, "dele: the three marks in one MSG_DELE");
	CHECK(request() == MSG_UNDO && request() == 0,
	    "dele: then the UNDO, and nothing else");

	CHECK(sc_dele(&s, 1) == 0, "dele: queued before COMMIT");
	answer(MSG_DELE_R, 0);
	ipc_put_u32(&a, STORE_OK);
	queue();
	answer(MSG_COMMIT_R, 1);
	ipc_put_u32(&a, STORE_OK);
	ipc_put_u32(&a, 1);
	queue();
	CHECK(sc_commit(&s, &st, &ndel) == 0 && st == STORE_OK && ndel == 1 &&
	    request() == MSG_DELE && request() == MSG_COMMIT && request() == 0,
	    "commit: the mark goes first, then COMMIT; status and count");

	/* a refused mark kills the channel: no COMMIT may follow */
	CHECK(sc_dele(&s, 1) == 0, "dele: queued before RELEASE");
	answer(MSG_DELE_R, 0);
	ipc_put_u32(&a, STORE_NOSUCH);
	queue();
	answer(MSG_RELEASE_R, 1);
	ipc_put_u32(&a, STORE_OK);
	queue();
	CHECK(sc_release(&s, &st) == SC_UNAVAILABLE && store_dead(),
	    "a refused pipelined mark: the channel is dead");
	CHECK(sc_commit(&s, &st, &ndel) == SC_UNAVAILABLE &&
	    sc_dele(&s, 3) == SC_UNAVAILABLE, "and stays dead");
	(void)request();
	(void)request();
	CHECK(ipc_recv(peer, &extra) != 1, "nothing sent after the channel died");
}

int
main(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 2;
	s.store_fd = sv[0];
	peer = sv[1];
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(sv[1], F_SETFL, O_NONBLOCK);
	strlcpy_(s.sessid, "0123456789abcdef", sizeof(s.sessid));
	strlcpy_(s.client, "192.0.2.1", sizeof(s.client));
	a.fd = q.fd = -1;

	test_lookup();
	test_append();
	test_auth();
	test_retr();
	test_dele_pipelined();
	return check_done();
}
