/*
 * SEARCH's text matcher (imap_search_int.h): decoders feeding a KMP
 * automaton over case-folded code points.  Every function reads its input
 * once, forward; the only look-ahead (RFC 2047 words, quoted-printable
 * soft breaks) stops at a byte that a later scan never revisits.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../privsep/util.h"
#include "imap_search_int.h"

/* An invalid UTF-8 byte b stands for itself as code point BYTE_CP + b,
 * outside Unicode, so it only ever matches the same byte. */
#define BYTE_CP 0x110000u

/* ------------------------------------------------------------- folding */

uint32_t
sfold(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c < 0x100) {
		if (c == 0xb5)
			return 0x3bc;                   /* micro sign: mu */
		if (c >= 0xc0 && c <= 0xde && c != 0xd7)
			return c + 32;
		return c;
	}
	if (c < 0x180) {                        /* Latin Extended-A */
		if (c == 0x130 || c == 0x131)
			return c;                       /* dotted and dotless i */
		if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
			return c | 1u;
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1u) ? c + 1 : c;
		if (c == 0x178)
			return 0xff;
		if (c == 0x17f)
			return 's';
		return c;
	}
	if (c >= 0x370 && c < 0x400) {          /* Greek */
		if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
			return c + 32;
		if (c == 0x386)
			return 0x3ac;
		if (c >= 0x388 && c <= 0x38a)
			return c + 37;
		if (c == 0x38c)
			return 0x3cc;
		if (c == 0x38e || c == 0x38f)
			return c + 63;
		if (c == 0x3c2)
			return 0x3c3;                   /* final sigma */
		return c;
	}
	if (c >= 0x400 && c < 0x500) {          /* Cyrillic */
		if (c <= 0x40f)
			return c + 80;
		if (c <= 0x42f)
			return c + 32;
		if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
		    (c >= 0x4d0 && c <= 0x4ff))
			return c | 1u;
		if (c == 0x4c0)
			return 0x4cf;
		if (c >= 0x4c1 && c <= 0x4ce)
			return (c & 1u) ? c + 1 : c;
		return c;
	}
	return c;
}

/* --------------------------------------------------------------- needle */

/* UTF-8 decoding shared by the needle and the text: push a byte, get 0..4
 * code points out (an invalid sequence gives its bytes back). */
struct u8 {
	uint32_t cp;
	unsigned need, npend;
	unsigned char pend[4];
};

static unsigned
u8_flush(struct u8 *d, uint32_t *out)
{
	unsigned k = d->npend;

	for (unsigned i = 0; i < k; i++)
		out[i] = BYTE_CP + d->pend[i];
	d->npend = d->need = 0;
	return k;
}

/* out has room for 5. */
static unsigned
u8_push(struct u8 *d, unsigned char b, uint32_t *out)
{
	unsigned k = 0;

	if (d->need > 0) {
		if ((b & 0xc0) == 0x80) {
			d->pend[d->npend++] = b;
			d->cp = (d->cp << 6) | (b & 0x3fu);
			if (--d->need > 0)
				return 0;
			/* overlong, surrogate or past U+10FFFF: invalid */
			if ((d->npend == 3 && d->cp < 0x800) ||
			    (d->npend == 4 && (d->cp < 0x10000 || d->cp > 0x10ffff)) ||
			    (d->cp >= 0xd800 && d->cp <= 0xdfff))
				return u8_flush(d, out);
			out[0] = d->cp;
			d->npend = 0;
			return 1;
		}
		k = u8_flush(d, out);
	}
	if (b < 0x80) {
		out[k++] = b;
	} else if (b >= 0xc2 && b <= 0xf4) {
		d->need = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
		d->cp = b & (b < 0xe0 ? 0x1fu : b < 0xf0 ? 0x0fu : 0x07u);
		d->pend[0] = b;
		d->npend = 1;
	} else {
		out[k++] = BYTE_CP + b;
	}
	return k;
}

void
snd_init(struct snd *nd, const unsigned char *key, size_t n)
{
	struct u8 d = { 0 };
	uint32_t cp[5];
	size_t m = 0;

	nd->pat = xreallocarray(NULL, n + 1, sizeof(*nd->pat));
	nd->fail = xreallocarray(NULL, n + 1, sizeof(*nd->fail));
	for (size_t i = 0; i < n; i++) {
		unsigned k = u8_push(&d, key[i], cp);

		for (unsigned j = 0; j < k; j++)
			nd->pat[m++] = sfold(cp[j]);
	}
	{
		unsigned k = u8_flush(&d, cp);

		for (unsigned j = 0; j < k; j++)
			nd->pat[m++] = sfold(cp[j]);
	}
	nd->m = m;
	/* fail[i]: the longest proper border of pat[0..i] */
	if (m > 0)
		nd->fail[0] = 0;
	for (size_t i = 1, b = 0; i < m; i++) {
		while (b > 0 && nd->pat[i] != nd->pat[b])
			b = nd->fail[b - 1];
		if (nd->pat[i] == nd->pat[b])
			b++;
		nd->fail[i] = (uint32_t)b;
	}
}

void
snd_free(struct snd *nd)
{
	free(nd->pat);
	free(nd->fail);
	nd->pat = nd->fail = NULL;
	nd->m = 0;
}

/* ------------------------------------------------------------ charsets */

static const uint16_t cp1252_80[32] = {
	0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
};

enum scs
scs_of(const unsigned char *name, size_t n)
{
	static const char *const w1252[] = {
		"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1",
		"iso-8859-15", "iso8859-15", "latin-9", "windows-1252",
		"cp1252", "x-cp1252",
	};
	/* RFC 2231 5: "charset*language" */
	const unsigned char *star = memchr(name, '*', n);

	if (star != NULL)
		n = (size_t)(star - name);
	for (size_t i = 0; i < sizeof(w1252) / sizeof(w1252[0]); i++)
		if (strlen(w1252[i]) == n &&
		    strncasecmp((const char *)name, w1252[i], n) == 0)
			return SCS_1252;
	return SCS_UTF8;
}

/* ------------------------------------------------------------ matching */

void
sm_init(struct smatch *sm, const struct snd *nd)
{
	memset(sm, 0, sizeof(*sm));
	sm->nd = nd;
}

static void
sm_cp(struct smatch *sm, uint32_t c)
{
	const struct snd *nd = sm->nd;
	size_t q = sm->q;

	if (sm->found)
		return;
	c = c < 0x80 ? (c >= 'A' && c <= 'Z' ? c + 32 : c) : sfold(c);
	while (q > 0 && nd->pat[q] != c)
		q = nd->fail[q - 1];
	if (nd->pat[q] == c)
		q++;
	if (q == nd->m) {
		sm->found = 1;
		q = 0;
	}
	sm->q = q;
}

/* Ends a UTF-8 run: bytes of an unfinished sequence stand for themselves. */
static void
sm_flush(struct smatch *sm)
{
	struct u8 d = { sm->cp, sm->need, sm->npend, { 0 } };
	uint32_t cp[5];
	unsigned k;

	memcpy(d.pend, sm->pend, sizeof(d.pend));
	k = u8_flush(&d, cp);
	for (unsigned j = 0; j < k; j++)
		sm_cp(sm, cp[j]);
	sm->need = sm->npend = 0;
}

/* Switches charsets; a UTF-8 sequence under way ends unless it goes on
 * in the same charset. */
static void
sm_charset(struct smatch *sm, enum scs cs)
{
	if (sm->cs != cs)
		sm_flush(sm);
	sm->cs = cs;
}

static void
sm_byte(struct smatch *sm, unsigned char b)
{
	struct u8 d;
	uint32_t cp[5];
	unsigned k;

	if (sm->cs == SCS_1252) {
		sm_cp(sm, b >= 0x80 && b < 0xa0 ? cp1252_80[b - 0x80] : b);
		return;
	}
	d.cp = sm->cp;
	d.need = sm->need;
	d.npend = sm->npend;
	memcpy(d.pend, sm->pend, sizeof(d.pend));
	k = u8_push(&d, b, cp);
	sm->cp = d.cp;
	sm->need = d.need;
	sm->npend = d.npend;
	memcpy(sm->pend, d.pend, sizeof(d.pend));
	for (unsigned j = 0; j < k; j++)
		sm_cp(sm, cp[j]);
}

void
sm_begin(struct smatch *sm, enum scs cs)
{
	sm->q = 0;
	sm->need = sm->npend = 0;
	sm->cs = cs;
	if (sm->nd->m == 0)
		sm->found = 1;
}

/* The hot loop: ASCII outside a UTF-8 sequence goes straight to the
 * automaton; at its start state, bytes that cannot begin a match are
 * skipped (an ASCII first code point matches only itself in either case,
 * or a non-ASCII one like U+017F, so only ASCII is skipped). */
void
sm_bytes(struct smatch *sm, const unsigned char *p, size_t n)
{
	const struct snd *nd = sm->nd;
	size_t i = 0;
	uint32_t p0 = nd->m > 0 ? nd->pat[0] : 0;
	unsigned char lo = p0 < 0x80 ? (unsigned char)p0 : 0;
	unsigned char up = lo >= 'a' && lo <= 'z' ? (unsigned char)(lo - 32) : lo;

	while (i < n && !sm->found) {
		unsigned char b = p[i];

		if (b >= 0x80 || sm->need != 0) {
			sm_byte(sm, b);
			i++;
			continue;
		}
		if (sm->q == 0 && lo != 0) {
			while (i < n && p[i] < 0x80 && p[i] != lo && p[i] != up)
				i++;
			if (i == n || p[i] >= 0x80)
				continue;
			b = p[i];
		}
		sm_cp(sm, b);
		i++;
	}
}

void
sm_end(struct smatch *sm)
{
	sm_flush(sm);
	sm->q = 0;
}

/* ------------------------------------------------------------ decoders */

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Base64 bytes decoded, anything outside the alphabet skipped; padding
 * ends a quantum (so that base64 chunks written one after the other, each
 * padded, decode as each would alone). */
static void
sm_base64(struct smatch *sm, const unsigned char *p, size_t n)
{
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < n && !sm->found; i++) {
		int v = base64_value(p[i], '/');

		if (p[i] == '=') {
			acc = 0;
			bits = 0;
		}
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			sm_byte(sm, (unsigned char)(acc >> bits));
			acc &= (1u << bits) - 1;
		}
	}
}

/* Quoted-printable (RFC 2045 6.7); in a header word (RFC 2047 4.2) "_"
 * is a space and there are no line breaks. */
static void
sm_qp(struct smatch *sm, const unsigned char *p, size_t n, int word)
{
	size_t i = 0;

	while (i < n && !sm->found) {
		unsigned char c = p[i];

		if (c == '_' && word) {
			sm_byte(sm, ' ');
			i++;
		} else if (c != '=') {
			sm_byte(sm, c);
			i++;
		} else if (i + 2 < n && hexval(p[i + 1]) >= 0 &&
		    hexval(p[i + 2]) >= 0) {
			sm_byte(sm, (unsigned char)(hexval(p[i + 1]) * 16 +
			    hexval(p[i + 2])));
			i += 3;
		} else {
			/* a soft line break: "=", blanks, line end */
			size_t j = i + 1;

			while (j < n && (p[j] == ' ' || p[j] == '\t'))
				j++;
			if (j < n && p[j] == '\r')
				j++;
			if (!word && j < n && p[j] == '\n') {
				i = j + 1;
			} else {
				sm_byte(sm, '=');
				i++;
			}
		}
	}
}

void
sm_body(struct smatch *sm, const unsigned char *p, size_t n, enum scte cte,
    enum scs cs)
{
	sm_begin(sm, cs);
	if (cte == SCTE_QP)
		sm_qp(sm, p, n, 0);
	else if (cte == SCTE_BASE64)
		sm_base64(sm, p, n);
	else
		sm_bytes(sm, p, n);
	sm_end(sm);
}

static int
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* At p[0..n) starting with "=?": an encoded word "=?cs?E?text?=" (cs
 * without blanks or "?", at most 64 bytes; E is Q or B; text without
 * blanks or "?").  Its length, or 0. */
struct eword {
	const unsigned char *cs, *text;
	size_t cslen, textlen;
	int b64;
};

static size_t
eword(const unsigned char *p, size_t n, struct eword *w)
{
	size_t i = 2, j;

	while (i < n && i < 2 + 64 && p[i] != '?' && !is_blank(p[i]))
		i++;
	if (i == 2 || i + 2 >= n || p[i] != '?' || p[i + 2] != '?')
		return 0;
	w->cs = p + 2;
	w->cslen = i - 2;
	switch (p[i + 1]) {
	case 'q': case 'Q':
		w->b64 = 0;
		break;
	case 'b': case 'B':
		w->b64 = 1;
		break;
	default:
		return 0;
	}
	j = i + 3;
	w->text = p + j;
	while (j < n && p[j] != '?' && !is_blank(p[j]))
		j++;
	if (j + 1 >= n || p[j] != '?' || p[j + 1] != '=')
		return 0;
	w->textlen = (size_t)(p + j - w->text);
	return j + 2;
}

void
sm_header_value(struct smatch *sm, const unsigned char *p, size_t n)
{
	size_t i = 0, blank = 0, blank_at = 0;
	int after_word = 0;

	sm_begin(sm, SCS_UTF8);
	while (i < n && !sm->found) {
		struct eword w;
		size_t wl;

		if (is_blank(p[i])) {
			if (blank == 0)
				blank_at = i;
			blank++;
			i++;
			continue;
		}
		wl = p[i] == '=' && i + 1 < n && p[i + 1] == '?' ?
		    eword(p + i, n - i, &w) : 0;
		/* blanks between two encoded words are dropped */
		if (blank > 0 && !(wl > 0 && after_word))
			sm_bytes(sm, p + blank_at, blank);
		blank = 0;
		if (wl == 0) {
			sm_charset(sm, SCS_UTF8);
			after_word = 0;
			wl = i + 1;     /* a run of plain text */
			while (wl < n && !is_blank(p[wl]) && p[wl] != '=')
				wl++;
			sm_bytes(sm, p + i, wl - i);
			i = wl;
			continue;
		}
		/* a character split over two words of one charset (RFC 2047
		 * 5 forbids it; some mailers do it) still decodes */
		sm_charset(sm, scs_of(w.cs, w.cslen));
		if (w.b64)
			sm_base64(sm, w.text, w.textlen);
		else
			sm_qp(sm, w.text, w.textlen, 1);
		after_word = 1;
		i += wl;
	}
	sm_end(sm);
}
