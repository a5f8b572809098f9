/*
 * The X-Postern line: the second line of every message postern writes,
 * right after its From_ line (store/mbox.c says where it is looked for).
 *
 * Grammar (ABNF, RFC 5234; every byte US-ASCII, one line ended by LF):
 *
 *   xpostern-line = "X-Postern: uid=" uidl " len=" len
 *                   [" imapuid=" imapuid] [" flags=" flags]
 *                   [" kw=(" keyword *(" " keyword) ")"] LF
 *   uidl          = 1*47(ALPHA / DIGIT / "-")   ; the POP3 UIDL (mbox_uid_ok)
 *   len           = 1*19DIGIT     ; the record's bytes, From_ line to the end
 *                                 ; of its separator, this line included
 *   imapuid       = %x31-39 *9DIGIT             ; 1..4294967295
 *   flags         = 1*5flag       ; strictly ascending: D F R S T
 *   flag          = "D" / "F" / "R" / "S" / "T"
 *                   ; \Draft \Flagged \Answered (Replied) \Seen
 *                   ; \Deleted (Trashed): the maildir info letters
 *   keyword       = 1*50atom-char ; RFC 9051 atom-char: %x21-7E except
 *                                 ; ( ) { % * " \ ]
 *
 * The lines postern wrote before IMAP, "X-Postern: uid=U len=N" LF, are
 * this grammar with no optional field and read exactly as they always
 * did: same UIDL, same length.  The optional fields are strict: in this
 * order, each at most once, none empty (a message without flags has no
 * "flags="), numbers without sign, space or leading zero and within u32,
 * flag letters and keywords in strictly ascending order (keywords compared
 * ignoring ASCII case, so no keyword appears twice in any spelling), at most
 * FOLDER_KEYWORDS_MAX_COUNT keywords.  A line that breaks any rule is not
 * postern's, exactly as an old line with a typo never was: mbox.c then
 * reads the message as one another tool wrote.  Each state has one
 * spelling, so a rewrite that changes nothing writes the same bytes.
 *
 * Keywords are written by name, not as indexes into the flag journal's
 * table: the mbox alone says everything about its messages, and losing
 * the journal loses only the changes since the last rewrite.
 *
 * A version that adds a field must teach this parser the field one release
 * before any writer uses it, or a downgrade would read the new lines as
 * foreign messages and change their UIDLs.
 */
#include <stdio.h>
#include <string.h>

#include "privsep/util.h"
#include "store/xpostern.h"

static const char flag_letters[] = "DFRST";
static const uint32_t flag_bits[] = { MF_DRAFT, MF_FLAGGED, MF_ANSWERED,
    MF_SEEN, MF_DELETED };

int
xp_keyword_ok(const char *s, size_t n)
{
	if (n == 0 || n > IMAP_KEYWORD_MAX_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || strchr("(){%*\"\\]", c) != NULL)
			return 0;
	}
	return 1;
}

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

int
xp_keyword_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;

	for (size_t i = 0; i < n; i++) {
		unsigned char x = lower((unsigned char)a[i]);
		unsigned char y = lower((unsigned char)b[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return an < bn ? -1 : an > bn;
}

/* Does line[*i..) start with the field name f?  Then *i is past it. */
static int
field(const unsigned char *line, size_t n, size_t *i, const char *f)
{
	size_t fl = strlen(f);

	if (n - *i < fl || memcmp(line + *i, f, fl) != 0)
		return 0;
	*i += fl;
	return 1;
}

static int
parse_imapuid(const unsigned char *line, size_t n, size_t *i, uint32_t *out)
{
	uint64_t v = 0;
	size_t d = 0;

	if (*i >= n || line[*i] < '1' || line[*i] > '9')
		return -1;
	for (; *i < n && line[*i] >= '0' && line[*i] <= '9'; (*i)++) {
		if (++d > 10)
			return -1;
		v = v * 10 + (uint64_t)(line[*i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_flags(const unsigned char *line, size_t n, size_t *i, uint32_t *out)
{
	size_t last = 0;   /* one past the index of the last letter seen */
	uint32_t f = 0;

	while (*i < n) {
		const char *p;
		size_t k;

		if (line[*i] == '\0' || (p = strchr(flag_letters, line[*i])) == NULL)
			break;
		k = (size_t)(p - flag_letters);
		if (k + 1 <= last)
			return -1;     /* not strictly ascending */
		last = k + 1;
		f |= flag_bits[k];
		(*i)++;
	}
	if (f == 0)
		return -1;
	*out = f;
	return 0;
}

static int
parse_keywords(const unsigned char *line, size_t n, size_t *i,
    struct xpostern *xp)
{
	for (;;) {
		size_t k0 = *i;

		while (*i < n && line[*i] != ' ' && line[*i] != ')')
			(*i)++;
		if (*i >= n || !xp_keyword_ok((const char *)line + k0, *i - k0))
			return -1;
		if (xp->nkw == FOLDER_KEYWORDS_MAX_COUNT)
			return -1;
		if (xp->nkw > 0 && xp_keyword_cmp((const char *)line +
		    xp->kw_off[xp->nkw - 1], xp->kw_len[xp->nkw - 1],
		    (const char *)line + k0, *i - k0) >= 0)
			return -1;     /* not strictly ascending */
		xp->kw_off[xp->nkw] = (uint16_t)k0;
		xp->kw_len[xp->nkw] = (uint8_t)(*i - k0);
		xp->nkw++;
		if (line[(*i)++] == ')')
			return 0;
	}
}

int
xpostern_parse(const unsigned char *line, size_t n, struct xpostern *xp,
    const char **why)
{
	size_t i = XPOSTERN_PREFIX_LEN, u0, digits = 0;
	uint64_t v = 0;

	xp->imapuid = xp->flags = xp->nkw = 0;
	if (n > XPOSTERN_LINE_MAX_BYTES)
		return fail_why(why, "is too long");
	if (n == 0 || line[n - 1] != '\n')
		return fail_why(why, "has no line end");
	n--;    /* the LF: from here on, line[0..n) */
	if (n < XPOSTERN_PREFIX_LEN ||
	    memcmp(line, XPOSTERN_PREFIX, XPOSTERN_PREFIX_LEN) != 0)
		return fail_why(why, "does not start with \"" XPOSTERN_PREFIX "\"");
	u0 = i;
	while (i < n && line[i] != ' ')
		i++;
	if (!mbox_uid_ok((const char *)line + u0, i - u0))
		return fail_why(why, "has a bad uid");
	memcpy(xp->uid, line + u0, i - u0);
	xp->uid[i - u0] = '\0';
	if (!field(line, n, &i, " len="))
		return fail_why(why, "has no len");
	for (; i < n && line[i] >= '0' && line[i] <= '9'; i++) {
		if (++digits > 19)
			return fail_why(why, "has a bad len");
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (digits == 0)
		return fail_why(why, "has a bad len");
	xp->len = v;
	if (field(line, n, &i, " imapuid=") &&
	    parse_imapuid(line, n, &i, &xp->imapuid) == -1)
		return fail_why(why, "has a bad imapuid");
	if (field(line, n, &i, " flags=") &&
	    parse_flags(line, n, &i, &xp->flags) == -1)
		return fail_why(why, "has bad flags");
	if (field(line, n, &i, " kw=(") &&
	    parse_keywords(line, n, &i, xp) == -1)
		return fail_why(why, "has bad keywords");
	if (i != n)
		return fail_why(why, "has bytes after its fields");
	return 0;
}

/* ---- formatting ---- */

/* Appends s[0..sn) at out + *o when it fits (with the final NUL). */
static int
put(char *out, size_t outsz, size_t *o, const char *s, size_t sn)
{
	if (sn >= outsz - *o)
		return -1;
	memcpy(out + *o, s, sn);
	*o += sn;
	out[*o] = '\0';
	return 0;
}

static void
sort_keywords(const struct xp_kw *kw, size_t nkw, uint16_t *idx)
{
	/* insertion sort: at most FOLDER_KEYWORDS_MAX_COUNT entries */
	for (size_t i = 0; i < nkw; i++) {
		size_t j = i;

		while (j > 0 && xp_keyword_cmp(kw[idx[j - 1]].s, kw[idx[j - 1]].n,
		    kw[i].s, kw[i].n) > 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = (uint16_t)i;
	}
}

int
xpostern_format(char *out, size_t outsz, const char *uid, uint32_t imapuid,
    uint32_t flags, const struct xp_kw *kw, size_t nkw, uint64_t rest,
    uint64_t *total, const char **why)
{
	char num[32], tail[24];
	uint16_t idx[FOLDER_KEYWORDS_MAX_COUNT];
	size_t o = 0, ul = strlen(uid), fields = 0, base;
	uint64_t t = 0;

	if (outsz == 0)
		return fail_why(why, "no room for the line");
	out[0] = '\0';
	if (!mbox_uid_ok(uid, ul))
		return fail_why(why, "bad uid");
	if (flags & ~MF_ALL)
		return fail_why(why, "unknown flag bits");
	if (nkw > FOLDER_KEYWORDS_MAX_COUNT)
		return fail_why(why, "too many keywords");
	for (size_t i = 0; i < nkw; i++)
		if (!xp_keyword_ok(kw[i].s, kw[i].n))
			return fail_why(why, "bad keyword");
	sort_keywords(kw, nkw, idx);
	for (size_t i = 1; i < nkw; i++)
		if (xp_keyword_cmp(kw[idx[i - 1]].s, kw[idx[i - 1]].n,
		    kw[idx[i]].s, kw[idx[i]].n) == 0)
			return fail_why(why, "duplicate keyword");
	/* the optional fields go after the length: write them first into
	 * out past room for the rest, then compute the length with itself */
	if (imapuid != 0) {
		int r = snprintf(num, sizeof(num), " imapuid=%u", (unsigned)imapuid);

		if (r < 0 || (size_t)r >= sizeof(num))
			return fail_why(why, "no room for the line");
		fields += (size_t)r;
	}
	if (flags != 0) {
		fields += 7;
		for (size_t k = 0; k < 5; k++)
			fields += (flags & flag_bits[k]) != 0;
	}
	if (nkw > 0) {
		fields += 5 + 1;
		for (size_t i = 0; i < nkw; i++)
			fields += kw[i].n + (i > 0);
	}
	base = XPOSTERN_PREFIX_LEN + ul + 5 + fields + 1;
	if (rest >= 10000000000000000000ull)    /* len= has at most 19 digits */
		return fail_why(why, "record too long");
	for (size_t d = 1; d <= 19; d++)
		if (u64_digits(rest + base + d) == d) {
			t = rest + base + d;
			break;
		}
	if (t == 0)
		return fail_why(why, "record too long");
	{
		int r = snprintf(tail, sizeof(tail), "%llu", (unsigned long long)t);

		if (r < 0 || (size_t)r >= sizeof(tail) ||
		    put(out, outsz, &o, XPOSTERN_PREFIX, XPOSTERN_PREFIX_LEN) == -1 ||
		    put(out, outsz, &o, uid, ul) == -1 ||
		    put(out, outsz, &o, " len=", 5) == -1 ||
		    put(out, outsz, &o, tail, (size_t)r) == -1)
			goto room;
	}
	if (imapuid != 0 && put(out, outsz, &o, num, strlen(num)) == -1)
		goto room;
	if (flags != 0) {
		if (put(out, outsz, &o, " flags=", 7) == -1)
			goto room;
		for (size_t k = 0; k < 5; k++)
			if ((flags & flag_bits[k]) &&
			    put(out, outsz, &o, flag_letters + k, 1) == -1)
				goto room;
	}
	if (nkw > 0) {
		if (put(out, outsz, &o, " kw=(", 5) == -1)
			goto room;
		for (size_t i = 0; i < nkw; i++)
			if ((i > 0 && put(out, outsz, &o, " ", 1) == -1) ||
			    put(out, outsz, &o, kw[idx[i]].s, kw[idx[i]].n) == -1)
				goto room;
		if (put(out, outsz, &o, ")", 1) == -1)
			goto room;
	}
	if (put(out, outsz, &o, "\n", 1) == -1)
		goto room;
	if (rest + o != t)
		return fail_why(why, "line length mismatch");   /* a bug */
	*total = t;
	return (int)o;
room:
	out[0] = '\0';
	return fail_why(why, "no room for the line");
}
