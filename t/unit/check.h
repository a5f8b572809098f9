/*
 * A tiny TAP producer for the C unit tests.  Each CHECK is one test point:
 * "ok N - text" or "not ok N - text" on stdout; t/run-tests.sh counts them.
 * A test file's main() ends with `return check_done();`.
 */
#ifndef POSTERN_CHECK_H
#define POSTERN_CHECK_H

#include <stdio.h>

static int check_n, check_failed;

#define CHECK(cond, ...) do {                                         \
	int ok_ = !!(cond);                                           \
	check_n++;                                                    \
	if (!ok_) check_failed++;                                     \
	printf("%s %d - ", ok_ ? "ok" : "not ok", check_n);           \
	printf(__VA_ARGS__);                                          \
	printf("\n");                                                 \
	if (!ok_) printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	fflush(stdout);                                               \
} while (0)

static inline int check_done(void)
{
	printf("1..%d\n", check_n);
	return check_failed ? 1 : 0;
}

#endif
