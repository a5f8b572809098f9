/*
 * Modified UTF-7 (RFC 3501 5.1.3), the encoding of IMAP mailbox names on
 * the wire, to and from UTF-8.  Strict both ways, so that a name has one
 * wire form and decode-then-encode gives back the input byte for byte:
 *  - printable US-ASCII (0x20-0x7e) stands for itself, '&' as "&-";
 *  - anything else is a shifted run "&" modified-BASE64 "-" of UTF-16
 *    (alphabet A-Z a-z 0-9 + and ",", no padding), always closed by "-";
 *  - refused: a byte outside 0x20-0x7e, a run encoding printable ASCII, an
 *    empty run other than "&-", two runs back to back (one run is the
 *    canonical form), an unterminated run, a character outside the
 *    alphabet, a partial UTF-16 unit or non-zero left-over bits, an
 *    unpaired surrogate, U+0000;
 *  - encoding refuses invalid UTF-8 (overlongs, surrogates, > U+10FFFF,
 *    truncated sequences) and NUL.
 * No allocation: the output goes to out[outsz], NUL-terminated.
 */
#ifndef POSTERN_MUTF7_H
#define POSTERN_MUTF7_H

#include <stddef.h>

/* Decodes in[0..len) into out (UTF-8, NUL-terminated): the length without
 * the NUL, or -1 with *why (also when out is too small). */
long mutf7_decode(const char *in, size_t len, char *out, size_t outsz,
    const char **why);

/* Encodes UTF-8 in[0..len) into out (modified UTF-7, NUL-terminated): the
 * length without the NUL, or -1 with *why. */
long mutf7_encode(const char *in, size_t len, char *out, size_t outsz,
    const char **why);

#endif
