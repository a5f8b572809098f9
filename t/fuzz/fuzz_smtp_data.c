/*
 * libFuzzer target: the SMTP DATA reader (workers/smtp_data.c).  The first
 * input byte picks a chunk size; the rest is the client's stream.  Checks:
 * the message ends exactly at the first CR LF "." CR LF of "\r\n" + stream
 * (never earlier, never later), however the stream is split, and the
 * result flags and size do not depend on the split.
 */
#include <stdint.h>
#include <string.h>

#include "workers/smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smtp_data d1, d2;

/* Where the reference terminator ends in data (bytes consumed), or 0. */
static size_t
reference_end(const uint8_t *p, size_t n)
{
	/* virtual "\r\n" before the stream */
	if (n >= 3 && memcmp(p, ".\r\n", 3) == 0)
		return 3;
	for (size_t i = 0; i + 5 <= n; i++)
		if (memcmp(p + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

static size_t
feed(struct smtp_data *d, const uint8_t *p, size_t n, size_t chunk)
{
	size_t off = 0, k;

	while (off < n && !d->done) {
		k = n - off < chunk ? n - off : chunk;
		off += smtp_data_feed(d, p + off, k);
	}
	return off;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk, used1, used2, ref;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 17 + 1;
	data++;
	size--;
	smtp_data_init(&d1, -1, 4096, 100);
	smtp_data_init(&d2, -1, 4096, 100);
	used1 = feed(&d1, data, size, size == 0 ? 1 : size);
	used2 = feed(&d2, data, size, chunk);
	ref = reference_end(data, size);
	if (d1.done != (ref != 0) || (ref != 0 && used1 != ref))
		__builtin_trap();
	if (used1 != used2 || d1.done != d2.done || d1.flags != d2.flags ||
	    d1.size != d2.size)
		__builtin_trap();
	if (d1.size > d1.raw)
		__builtin_trap();
	return 0;
}
