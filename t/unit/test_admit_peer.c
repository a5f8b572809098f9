/*
 * The master's check of the client a worker reports (master/admit.c
 * admit_peer, admit_release): the address comes from the socket the
 * worker accepted, never from its word; anything but an accepted TCP
 * connection is a lie; a connection that is over (reset by its client,
 * or reported once and released) is not counted again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "master/admit.h"
#include "privsep/params.h"
#include "t/unit/check.h"

static void
pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* A listener on an ephemeral loopback port of family af; -1 if none. */
static int
listener(int af, struct sockaddr_storage *ss, socklen_t *sl)
{
	int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*sl = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		*sl = sizeof(*in6);
	}
	if (fd == -1 || bind(fd, (struct sockaddr *)ss, *sl) == -1 || listen(fd, 8) == -1 ||
	    getsockname(fd, (struct sockaddr *)ss, sl) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* One client connection: *c the client's end, returns the accepted end. */
static int
connection(int l, const struct sockaddr_storage *ss, socklen_t sl, int *c)
{
	*c = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*c == -1 || connect(*c, (const struct sockaddr *)ss, sl) == -1)
		return -1;
	return accept4(l, NULL, NULL, SOCK_CLOEXEC);
}

static void
family(int af, const char *want)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char out[LIM_ADDR];
	int l, c, s, c2, s2, held;
	struct linger lg = { 1, 0 };

	if ((l = listener(af, &ss, &sl)) == -1) {
		printf("ok %d # skip no %s loopback\n", ++check_n, want);
		return;
	}
	s = connection(l, &ss, sl, &c);
	CHECK(s != -1 && admit_peer(s, out, sizeof(out)) == 0 && strcmp(out, want) == 0,
	    "%s: an accepted connection gives its peer's address", want);
	CHECK(admit_peer(l, out, sizeof(out)) == -1, "%s: the listener is no client", want);

	/* the master holds the socket for the session and releases it at
	 * idle: the same connection reported again is over */
	held = dup(s);
	admit_release(held);
	pause_ms(20);
	CHECK(admit_peer(s, out, sizeof(out)) == 1,
	    "%s: a connection reported and released is not counted again", want);

	/* a client that resets before the worker says busy: over, uncounted,
	 * and no reason to kill the honest worker */
	s2 = connection(l, &ss, sl, &c2);
	if (s2 != -1 && setsockopt(c2, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0)
		close(c2);
	pause_ms(20);
	CHECK(s2 != -1 && admit_peer(s2, out, sizeof(out)) == 1,
	    "%s: a connection its client reset is over", want);
	if (s2 != -1)
		close(s2);
	close(s);
	close(c);
	close(l);
}

int
main(void)
{
	char out[LIM_ADDR];
	int sp[2], pp[2], mfd;

	family(AF_INET, "127.0.0.1");
	family(AF_INET6, "::1");

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0) {
		CHECK(admit_peer(sp[0], out, sizeof(out)) == -1,
		    "a unix channel (the store's, the master's) is no client");
		close(sp[0]);
		close(sp[1]);
	}
	if (pipe(pp) == 0) {
		CHECK(admit_peer(pp[0], out, sizeof(out)) == -1, "a pipe is no client");
		close(pp[0]);
		close(pp[1]);
	}
	if ((mfd = memfd_create("t", MFD_CLOEXEC)) != -1) {
		CHECK(admit_peer(mfd, out, sizeof(out)) == -1, "a memfd is no client");
		close(mfd);
	}
	CHECK(admit_peer(-1, out, sizeof(out)) == -1, "no descriptor is no client");
	admit_release(-1);   /* idle worker: nothing to release */
	return check_done();
}
