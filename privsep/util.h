/* Small helpers every process uses. */
#ifndef POSTERN_UTIL_H
#define POSTERN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* Is this a valid account/mailbox name: [A-Za-z0-9._+-], 1..LIM_NAME,
 * not starting with '.', no '/', no control bytes. */
int name_ok(const char *s);

void set_nonblock(int fd, int on);
void set_cloexec(int fd, int on);

#endif
