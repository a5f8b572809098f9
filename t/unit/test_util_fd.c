/* privsep/util.c descriptor helpers: sealed memfds, fd_wait, pread_full,
 * and the fail_why() convention. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "privsep/util.h"
#include "t/unit/check.h"

static void
test_memfd(void)
{
	static const char body[] = "From a@b\nhello\n";
	char back[sizeof(body)];
	int fd, plain, seals;

	fd = sealed_memfd("test", body, sizeof(body) - 1);
	CHECK(fd >= 0, "sealed_memfd gives a descriptor");
	seals = fcntl(fd, F_GET_SEALS);
	CHECK(seals == (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
	    "sealed_memfd seals write, shrink, grow and seal (got %#x)", seals);
	CHECK(memfd_is_sealed(fd) == 1, "memfd_is_sealed accepts it");
	CHECK(write(fd, "x", 1) == -1 && errno == EPERM, "a sealed memfd refuses writes");
	CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "the memfd is close-on-exec");
	memset(back, 0, sizeof(back));
	CHECK(pread_full(fd, back, sizeof(body) - 1, 0) == (ssize_t)sizeof(body) - 1 &&
	    memcmp(back, body, sizeof(body) - 1) == 0, "its contents read back whole");
	close(fd);

	fd = sealed_memfd("empty", NULL, 0);
	CHECK(fd >= 0 && memfd_is_sealed(fd) == 1, "an empty sealed memfd is fine");
	close(fd);

	plain = memfd_new("plain");
	CHECK(plain >= 0 && memfd_is_sealed(plain) == 0, "an unsealed memfd is refused");
	CHECK(fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK) == 0 &&
	    memfd_is_sealed(plain) == 0, "a memfd missing F_SEAL_GROW is refused");
	CHECK(fcntl(plain, F_ADD_SEALS, F_SEAL_GROW) == 0 && memfd_is_sealed(plain) == 1,
	    "write, shrink and grow are enough (F_SEAL_SEAL is not required)");
	close(plain);

	plain = memfd_new("seal-me");
	CHECK(plain >= 0 && write(plain, "ab", 2) == 2 && memfd_seal(plain) == 0 &&
	    memfd_is_sealed(plain) == 1 && memfd_seal(plain) == -1,
	    "memfd_seal seals a written memfd, and F_SEAL_SEAL stops a second seal");
	close(plain);

	CHECK(memfd_is_sealed(-1) == 0, "a bad descriptor is not sealed");
}

static void
test_pread_full(void)
{
	char buf[16];
	int fd = memfd_new("pread");

	CHECK(fd >= 0 && write(fd, "0123456789", 10) == 10, "a 10-byte file");
	memset(buf, 0, sizeof(buf));
	CHECK(pread_full(fd, buf, 4, 3) == 4 && memcmp(buf, "3456", 4) == 0,
	    "pread_full reads at the offset");
	CHECK(pread_full(fd, buf, 8, 6) == 4 && memcmp(buf, "6789", 4) == 0,
	    "pread_full is short only at end of file");
	CHECK(pread_full(fd, buf, 4, 10) == 0, "at end of file it reads nothing");
	CHECK(pread_full(fd, buf, 0, 0) == 0, "zero bytes is zero");
	close(fd);
	CHECK(pread_full(fd, buf, 4, 0) == -1 && errno == EBADF, "a closed descriptor is -1");
}

static void
test_fd_wait(void)
{
	int sv[2];
	uint64_t t0;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "a socketpair");
	t0 = now_ms();
	CHECK(fd_wait(sv[0], POLLIN, t0 + 50) == 0, "nothing to read: 0 at the deadline");
	CHECK(now_ms() - t0 >= 50 && now_ms() - t0 < 2000,
	    "it waited until the deadline (%llu ms)", (unsigned long long)(now_ms() - t0));
	CHECK(fd_wait(sv[0], POLLIN, t0) == 0, "a deadline in the past: 0 at once");
	CHECK(fd_wait(sv[0], POLLOUT, now_ms() + 1000) == 1, "writable: 1");
	CHECK(write(sv[1], "x", 1) == 1 && fd_wait(sv[0], POLLIN, now_ms() + 1000) == 1,
	    "readable: 1");
	close(sv[1]);
	CHECK(read(sv[0], &(char){ 0 }, 1) == 1 && fd_wait(sv[0], POLLIN, now_ms() + 1000) == 1,
	    "the peer gone (POLLHUP): 1, for the read to see it");
	close(sv[0]);
}

static int
parse_even(int v, const char **why)
{
	if (v % 2 != 0)
		return fail_why(why, "is odd");
	return 0;
}

static void
test_fail_why(void)
{
	const char *why = NULL;

	CHECK(parse_even(2, &why) == 0 && why == NULL, "success leaves *why alone");
	CHECK(parse_even(3, &why) == -1 && why != NULL && strcmp(why, "is odd") == 0,
	    "failure: -1 and *why says why");
	CHECK(parse_even(3, NULL) == -1, "why may be NULL");
}

int
main(void)
{
	test_memfd();
	test_pread_full();
	test_fd_wait();
	test_fail_why();
	return check_done();
}
