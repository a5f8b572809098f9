/* Small helpers every process uses: see util.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "params.h"
#include "util.h"

size_t
strlcpy_(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int
bsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("malloc %zu", n);
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		fatal("calloc %zu x %zu", n, m);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t m)
{
	void *q = reallocarray(p, n ? n : 1, m ? m : 1);

	if (q == NULL)
		fatal("reallocarray %zu x %zu", n, m);
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int
write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
read_full(int fd, void *p, size_t n)
{
	char *b = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

ssize_t
pread_full(int fd, void *p, size_t n, off_t off)
{
	unsigned char *b = p;
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, b + got, n - got, off + (off_t)got);

		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
pwrite_full(int fd, const void *p, size_t n, uint64_t off)
{
	const unsigned char *b = p;
	size_t done = 0;

	while (done < n) {
		ssize_t w = pwrite(fd, b + done, n - done, (off_t)(off + done));

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

int
fd_wait(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		uint64_t now = now_ms();
		int n;

		if (now >= deadline)
			return 0;
		n = poll(&p, 1, (int)(deadline - now));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 1)
			return 1;
	}
}

int
memfd_new(const char *name)
{
	return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

int
memfd_seal(int fd)
{
	return fcntl(fd, F_ADD_SEALS, MEMFD_SEALS_NEEDED | F_SEAL_SEAL) == -1 ?
	    -1 : 0;
}

int
sealed_memfd(const char *name, const void *buf, size_t n)
{
	int fd = memfd_new(name);

	if (fd == -1)
		return -1;
	if ((n > 0 && write_all(fd, buf, n) == -1) || memfd_seal(fd) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
memfd_is_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	return seals != -1 && (seals & MEMFD_SEALS_NEEDED) == MEMFD_SEALS_NEEDED;
}

int
name_ok(const char *s)
{
	size_t n = 0;

	if (s[0] == '\0' || s[0] == '.')
		return 0;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (n >= LIM_NAME)
			return 0;
		if (!(isalnum(c) || c == '.' || c == '_' || c == '-' || c == '+'))
			return 0;
		if (c >= 0x80)
			return 0;
	}
	return 1;
}

void
set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == -1)
		fatal("fcntl O_NONBLOCK");
}

void
set_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1 || fcntl(fd, F_SETFD, on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC) == -1)
		fatal("fcntl FD_CLOEXEC");
}
