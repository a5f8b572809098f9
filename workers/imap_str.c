/*
 * The bounded output buffer and IMAP strings (see imap_str.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../privsep/util.h"
#include "imap_str.h"

void
ib_init(struct ibuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
ib_free(struct ibuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
ib_reset(struct ibuf *b)
{
	b->len = 0;
	b->err = 0;
}

/* Room for n more bytes: 0, or -1 (err set) past max. */
static int
ib_room(struct ibuf *b, size_t n)
{
	size_t want;

	if (b->err)
		return -1;
	if (n > b->max || b->len > b->max - n) {
		b->err = 1;
		return -1;
	}
	if (b->len + n <= b->cap)
		return 0;
	want = b->cap < 256 ? 256 : b->cap;
	while (want < b->len + n)
		want = want > b->max / 2 ? b->max : want * 2;
	b->p = xreallocarray(b->p, want, 1);
	b->cap = want;
	return 0;
}

void
ib_add(struct ibuf *b, const void *p, size_t n)
{
	if (n == 0 || ib_room(b, n) < 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
ib_addc(struct ibuf *b, int c)
{
	unsigned char ch = (unsigned char)c;

	ib_add(b, &ch, 1);
}

void
ib_adds(struct ibuf *b, const char *s)
{
	ib_add(b, s, strlen(s));
}

void
ib_addu64(struct ibuf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	ib_add(b, tmp + i, sizeof(tmp) - i);
}

void
ib_string(struct ibuf *b, const void *sv, size_t n)
{
	const unsigned char *s = sv;
	size_t nul = 0, i, run;
	int literal = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\0')
			nul++;
		else if (s[i] >= 0x80 || s[i] == '\r' || s[i] == '\n' ||
		    (s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			literal = 1;
	}
	if (literal) {
		ib_addc(b, '{');
		ib_addu64(b, n - nul);
		ib_adds(b, "}\r\n");
		for (i = 0; i < n; i += run) {
			const unsigned char *z = memchr(s + i, '\0', n - i);

			run = z != NULL ? (size_t)(z - (s + i)) : n - i;
			ib_add(b, s + i, run);
			if (z != NULL)
				run++;
		}
		return;
	}
	ib_addc(b, '"');
	for (i = 0; i < n; i++) {
		if (s[i] == '\0')
			continue;
		if (s[i] == '"' || s[i] == '\\')
			ib_addc(b, '\\');
		ib_addc(b, s[i]);
	}
	ib_addc(b, '"');
}

void
ib_nstring(struct ibuf *b, const void *s, size_t n)
{
	if (s == NULL)
		ib_adds(b, "NIL");
	else
		ib_string(b, s, n);
}

void
ib_add_crlf(struct ibuf *b, const void *pv, size_t n)
{
	const unsigned char *p = pv, *lf;
	size_t i = 0, run;

	while (i < n) {
		lf = memchr(p + i, '\n', n - i);
		if (lf == NULL) {
			ib_add(b, p + i, n - i);
			return;
		}
		run = (size_t)(lf - (p + i));
		ib_add(b, p + i, run);
		if (lf == p || lf[-1] != '\r')
			ib_addc(b, '\r');
		ib_addc(b, '\n');
		i += run + 1;
	}
}

uint64_t
crlf_octets(const void *pv, size_t n)
{
	const unsigned char *p = pv, *lf, *end = p + n;
	uint64_t w = n;

	for (const unsigned char *q = p; (lf = memchr(q, '\n', (size_t)(end - q))) != NULL;
	    q = lf + 1)
		if (lf == p || lf[-1] != '\r')
			w++;
	return w;
}
