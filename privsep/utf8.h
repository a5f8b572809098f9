/*
 * UTF-8, strictly (RFC 3629): the shortest form only, no surrogates,
 * nothing above U+10FFFF.  One decoder and one encoder for every parser
 * that checks text from a client (SMTPUTF8 addresses, IMAP quoted strings
 * and folder names, modified UTF-7).
 */
#ifndef POSTERN_UTF8_H
#define POSTERN_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (1..4) of the valid sequence at s[0..n), its code point in
 * *cp (cp may be NULL); 0 when there is none (n 0, a bad or truncated
 * sequence). */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Why s[0..n) does not start with a valid sequence, as text to follow a
 * subject ("is not valid UTF-8 (a surrogate)"). */
const char *utf8_error(const unsigned char *s, size_t n);

/* The bytes of code point cp (< 0x110000, not a surrogate: the caller
 * checks) into out; their count (1..4). */
size_t utf8_encode(uint32_t cp, unsigned char out[4]);

/* The count utf8_encode() would give. */
static inline size_t
utf8_len(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

#endif
