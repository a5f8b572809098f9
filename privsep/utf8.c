/* Strict UTF-8 decoding and encoding (utf8.h). */
#include "utf8.h"

/* The sequence at s[0..n): 0 and *cp, or the reason it is not valid. */
static const char *
decode(const unsigned char *s, size_t n, uint32_t *cp, size_t *len)
{
	uint32_t c, min;
	size_t l;

	if (n == 0)
		return "is not valid UTF-8 (a truncated sequence)";
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		*len = 1;
		return NULL;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		l = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		l = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		l = 4;
		c &= 0x07;
		min = 0x10000;
	} else
		return c == 0xc0 || c == 0xc1 ?
		    "is not valid UTF-8 (an overlong form)" : "is not valid UTF-8";
	if (l > n)
		return "is not valid UTF-8 (a truncated sequence)";
	for (size_t i = 1; i < l; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return "is not valid UTF-8 (a missing continuation byte)";
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if (c < min)
		return "is not valid UTF-8 (an overlong form)";
	if (c >= 0xd800 && c <= 0xdfff)
		return "is not valid UTF-8 (a surrogate)";
	if (c > 0x10ffff)
		return "is not valid UTF-8 (beyond U+10FFFF)";
	*cp = c;
	*len = l;
	return NULL;
}

size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len;

	if (decode(s, n, &c, &len) != NULL)
		return 0;
	if (cp != NULL)
		*cp = c;
	return len;
}

const char *
utf8_error(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t len;
	const char *why = decode(s, n, &c, &len);

	return why != NULL ? why : "is valid UTF-8";
}

size_t
utf8_encode(uint32_t c, unsigned char out[4])
{
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (unsigned char)(0xc0 | (c >> 6));
		out[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (c >> 12));
		out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (c >> 18));
	out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}
