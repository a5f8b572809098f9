/*
 * libFuzzer target for modified UTF-7 (workers/mutf7.c): whatever the
 * decoder accepts must encode back to the same bytes (one wire form per
 * name), and whatever the encoder accepts must decode back to its input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "workers/mutf7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char utf8[4096], wire[8192], back[8192];
	const char *in = (const char *)data, *why;
	long n, m;

	if (size > 1024)
		return 0;
	/* decode, then encode: the same bytes */
	n = mutf7_decode(in, size, utf8, sizeof(utf8), &why);
	if (n >= 0) {
		if ((size_t)n >= sizeof(utf8) || utf8[n] != '\0' ||
		    memchr(utf8, '\0', (size_t)n) != NULL)
			__builtin_trap();
		m = mutf7_encode(utf8, (size_t)n, back, sizeof(back), &why);
		if (m < 0 || (size_t)m != size || memcmp(back, in, size) != 0)
			__builtin_trap();
	} else if (why == NULL) {
		__builtin_trap();
	}
	/* encode, then decode: the same bytes */
	n = mutf7_encode(in, size, wire, sizeof(wire), &why);
	if (n >= 0) {
		for (long i = 0; i < n; i++)
			if (wire[i] < 0x20 || wire[i] > 0x7e)
				__builtin_trap();
		m = mutf7_decode(wire, (size_t)n, back, sizeof(back), &why);
		if (m < 0 || (size_t)m != size || memcmp(back, in, size) != 0)
			__builtin_trap();
	} else if (why == NULL) {
		__builtin_trap();
	}
	return 0;
}
