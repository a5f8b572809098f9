/* Small helpers every process uses. */
#ifndef POSTERN_UTIL_H
#define POSTERN_UTIL_H

/*
 * Saying why something failed, the one convention:
 *
 *	int thing_do(..., const char **why);
 *
 * returns 0 (or a documented count or verdict) on success and -1 on
 * failure; on failure, and only then, *why points at text saying what went
 * wrong, written to follow a subject in a log line or a config error
 * ("\"%s\" %s", value, why).  The text is a string constant, or, when it
 * must carry detail (a path, a number, errno or OpenSSL text), a static
 * buffer of the failing module that stays valid until the next call into
 * that module (every process is single-threaded).  The caller never frees
 * or sizes it.  why may be NULL when the caller does not care: use
 * fail_why().  A function whose failure needs no reason (a lost channel,
 * a closed descriptor) returns -1 and sets errno as the system call did.
 */

#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/types.h>

/* Sets *why (when why is not NULL) to text and returns -1: for
 * "return fail_why(why, "is not a number");". */
static inline int
fail_why(const char **why, const char *text)
{
	if (why != NULL)
		*why = text;
	return -1;
}

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12;
 * H. Hinnant's days_from_civil). */
static inline int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The value of a base64 digit (RFC 4648; with slash63 ',' for modified
 * UTF-7's alphabet, RFC 3501 5.1.3), or -1. */
static inline int
base64_value(unsigned char c, unsigned char slash63)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == slash63)
		return 63;
	return -1;
}

/* The count of decimal digits of v (1 for 0). */
static inline size_t
u64_digits(uint64_t v)
{
	size_t d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

/* Copy with truncation; always NUL-terminates; returns strlen(src). */
size_t strlcpy_(char *dst, const char *src, size_t size);
/* snprintf that reports truncation: 0 ok, -1 truncated or error. */
int bsnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xreallocarray(void *p, size_t n, size_t m);
char *xstrdup(const char *s);

/* Monotonic milliseconds. */
uint64_t now_ms(void);

/* Strict unsigned decimal: digits only, no sign, no spaces, <= max. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);

/* write()/read() the whole buffer, retrying on EINTR. */
int write_all(int fd, const void *p, size_t n);
ssize_t read_full(int fd, void *p, size_t n);
/* pread() n bytes at off, retrying on EINTR and short reads: the bytes read
 * (fewer than n only at end of file), or -1. */
ssize_t pread_full(int fd, void *p, size_t n, off_t off);
/* pwrite(2) of all n bytes at off, EINTR retried: 0, or -1 with errno
 * (EIO for a write of 0 bytes). */
int pwrite_full(int fd, const void *p, size_t n, uint64_t off);

/* poll() one descriptor for events until the monotonic deadline (now_ms()
 * scale), retrying on EINTR: 1 ready (revents set, including POLLHUP or
 * POLLERR), 0 the deadline passed, -1 poll failed (errno set). */
int fd_wait(int fd, short events, uint64_t deadline);

/*
 * Bodies and answers travel between processes as sealed memfds.  The seals
 * a receiver insists on: nobody can change the contents under it.
 */
#define MEMFD_SEALS_NEEDED  (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)
/* A new empty memfd that may be sealed (close-on-exec); -1. */
int memfd_new(const char *name);
/* Seals fd: MEMFD_SEALS_NEEDED and F_SEAL_SEAL.  0 / -1. */
int memfd_seal(int fd);
/* A sealed memfd holding buf[0..n); -1 (nothing left open). */
int sealed_memfd(const char *name, const void *buf, size_t n);
/* Does the received fd carry MEMFD_SEALS_NEEDED?  1 yes, 0 no. */
int memfd_is_sealed(int fd);

/* Is this a valid account/mailbox name: [A-Za-z0-9._+-], 1..LIM_NAME,
 * not starting with '.', no '/', no control bytes. */
int name_ok(const char *s);

void set_nonblock(int fd, int on);
void set_cloexec(int fd, int on);

#endif
