/*
 * Modified UTF-7 (RFC 3501 5.1.3): see mutf7.h for the rules.
 */
#include <stdint.h>

#include "../privsep/util.h"
#include "mutf7.h"
#include "../privsep/utf8.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Appends cp as UTF-8; -1 when out is full (room kept for the NUL). */
static int
put_utf8(char *out, size_t outsz, size_t *o, uint32_t cp)
{
	unsigned char b[4];
	size_t n = utf8_encode(cp, b);

	if (outsz == 0 || n > outsz - 1 - *o)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[(*o)++] = (char)b[i];
	return 0;
}

/*
 * The shifted run in[*i..) (just after '&', not "&-"): base64 up to '-',
 * UTF-16 decoded to UTF-8.
 */
static int
decode_run(const char *in, size_t len, size_t *i, char *out, size_t outsz,
    size_t *o, const char **why)
{
	uint32_t bits = 0, high = 0;
	int nbits = 0;
	size_t k = *i;

	for (;;) {
		int v;

		if (k >= len) {
			*why = "unterminated & run in a mailbox name";
			return -1;
		}
		if (in[k] == '-')
			break;
		if ((v = base64_value((unsigned char)in[k], ',')) < 0) {
			*why = "bad character in an & run of a mailbox name";
			return -1;
		}
		k++;
		bits = (bits << 6 | (uint32_t)v) & 0x3fffff;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		{
			uint32_t u = (bits >> nbits) & 0xffff;

			if (high != 0) {
				if (u < 0xdc00 || u > 0xdfff) {
					*why = "unpaired surrogate in a mailbox "
					    "name";
					return -1;
				}
				u = 0x10000 + ((high - 0xd800) << 10) +
				    (u - 0xdc00);
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				high = u;
				continue;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				*why = "unpaired surrogate in a mailbox name";
				return -1;
			} else if (u >= 0x20 && u <= 0x7e) {
				*why = "printable ASCII encoded in an & run "
				    "of a mailbox name";
				return -1;
			} else if (u == 0) {
				*why = "NUL in a mailbox name";
				return -1;
			}
			if (put_utf8(out, outsz, o, u) < 0) {
				*why = "mailbox name too long";
				return -1;
			}
		}
	}
	if (k == *i) {
		*why = "empty & run in a mailbox name";
		return -1;
	}
	if (high != 0) {
		*why = "unpaired surrogate in a mailbox name";
		return -1;
	}
	if (nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0) {
		*why = "bad padding bits in an & run of a mailbox name";
		return -1;
	}
	*i = k + 1;
	return 0;
}

long
mutf7_decode(const char *in, size_t len, char *out, size_t outsz,
    const char **why)
{
	size_t i = 0, o = 0;
	int after_run = 0;

	if (outsz == 0) {
		*why = "mailbox name too long";
		return -1;
	}
	while (i < len) {
		unsigned char ch = (unsigned char)in[i];

		if (ch < 0x20 || ch > 0x7e) {
			*why = ch >= 0x80 ? "8-bit byte in a mailbox name "
			    "(names are modified UTF-7)" :
			    "control character in a mailbox name";
			return -1;
		}
		if (ch == '&' && i + 1 < len && in[i + 1] == '-') {
			if (o + 1 >= outsz) {
				*why = "mailbox name too long";
				return -1;
			}
			out[o++] = '&';
			i += 2;
			after_run = 0;
			continue;
		}
		if (ch == '&') {
			if (after_run) {
				*why = "two & runs back to back in a mailbox "
				    "name";
				return -1;
			}
			i++;
			if (decode_run(in, len, &i, out, outsz, &o, why) < 0)
				return -1;
			after_run = 1;
			continue;
		}
		if (o + 1 >= outsz) {
			*why = "mailbox name too long";
			return -1;
		}
		out[o++] = (char)ch;
		i++;
		after_run = 0;
	}
	out[o] = '\0';
	return (long)o;
}

/* The code point of the UTF-8 sequence at in[*i], strictly; -1 if bad. */
static long
next_utf8(const unsigned char *in, size_t len, size_t *i)
{
	uint32_t cp;
	size_t n = utf8_decode(in + *i, len - *i, &cp);

	if (n == 0)
		return -1;
	*i += n;
	return (long)cp;
}

/* Appends one byte; -1 when out is full (room kept for the NUL). */
static int
put_byte(char *out, size_t outsz, size_t *o, char ch)
{
	if (*o + 1 >= outsz)
		return -1;
	out[(*o)++] = ch;
	return 0;
}

/* Appends the 16 bits of u to the run's bit buffer, flushing sextets. */
static int
put_unit(char *out, size_t outsz, size_t *o, uint32_t *bits, int *nbits,
    uint32_t u)
{
	*bits = (*bits << 16 | u) & 0x3fffff;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		if (put_byte(out, outsz, o, b64[(*bits >> *nbits) & 0x3f]) < 0)
			return -1;
	}
	return 0;
}

long
mutf7_encode(const char *in, size_t len, char *out, size_t outsz,
    const char **why)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t i = 0, o = 0;

	if (outsz == 0) {
		*why = "mailbox name too long";
		return -1;
	}
	while (i < len) {
		uint32_t bits = 0;
		int nbits = 0;

		if (u[i] >= 0x20 && u[i] <= 0x7e) {
			if (put_byte(out, outsz, &o, (char)u[i]) < 0 ||
			    (u[i] == '&' && put_byte(out, outsz, &o, '-') < 0))
				goto toolong;
			i++;
			continue;
		}
		/* a run of everything up to the next printable ASCII */
		if (put_byte(out, outsz, &o, '&') < 0)
			goto toolong;
		while (i < len && !(u[i] >= 0x20 && u[i] <= 0x7e)) {
			long cp = next_utf8(u, len, &i);

			if (cp < 0) {
				*why = "invalid UTF-8 in a mailbox name";
				return -1;
			}
			if (cp == 0) {
				*why = "NUL in a mailbox name";
				return -1;
			}
			if (cp >= 0x10000) {
				uint32_t v = (uint32_t)cp - 0x10000;

				if (put_unit(out, outsz, &o, &bits, &nbits,
				    0xd800 + (v >> 10)) < 0 ||
				    put_unit(out, outsz, &o, &bits, &nbits,
				    0xdc00 + (v & 0x3ff)) < 0)
					goto toolong;
			} else if (put_unit(out, outsz, &o, &bits, &nbits,
			    (uint32_t)cp) < 0) {
				goto toolong;
			}
		}
		if (nbits > 0 && put_byte(out, outsz, &o,
		    b64[(bits << (6 - nbits)) & 0x3f]) < 0)
			goto toolong;
		if (put_byte(out, outsz, &o, '-') < 0)
			goto toolong;
	}
	out[o] = '\0';
	return (long)o;
toolong:
	*why = "mailbox name too long";
	return -1;
}
