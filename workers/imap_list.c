/* LIST and LSUB patterns: see imap_list.h. */
#include <string.h>
#include <strings.h>

#include "imap_list.h"

/* Is name[0..5) "INBOX" in any case, followed by the end or a "/"? */
static int
inbox_prefix(const char *s, size_t n)
{
	return n >= 5 && strncasecmp(s, "INBOX", 5) == 0 && (n == 5 || s[5] == '/');
}

/* Adds position i to the set, with the positions a wildcard lets it skip
 * to (a wildcard also matches nothing).  A position already in the set
 * has its run added already: each is visited once a byte. */
static void
add(unsigned char *set, const char *p, size_t pn, size_t i)
{
	while (!set[i]) {
		set[i] = 1;
		if (i == pn || (p[i] != '*' && p[i] != '%'))
			break;
		i++;
	}
}

/*
 * The pattern as a set of positions (an NFA without backtracking): each
 * byte of the name moves every live position once, so the work is at most
 * (pn + 1) * nn steps whatever the pattern ("*%*%*%" included).
 */
static int
glob(const char *p, size_t pn, const char *s, size_t sn)
{
	unsigned char cur[IMAP_LIST_PATTERN_MAX + 1], nxt[IMAP_LIST_PATTERN_MAX + 1];
	int live;

	memset(cur, 0, pn + 1);
	add(cur, p, pn, 0);
	for (size_t si = 0; si < sn; si++) {
		memset(nxt, 0, pn + 1);
		live = 0;
		for (size_t i = 0; i < pn; i++) {
			if (!cur[i])
				continue;
			if (p[i] == '*' || (p[i] == '%' && s[si] != '/')) {
				add(nxt, p, pn, i);   /* the wildcard takes this byte too */
				live = 1;
			} else if (p[i] == s[si]) {
				add(nxt, p, pn, i + 1);
				live = 1;
			}
		}
		if (!live)
			return 0;
		memcpy(cur, nxt, pn + 1);
	}
	return cur[pn];
}

int
imap_list_match(const char *pat, size_t pn, const char *name, size_t nn)
{
	/* INBOX is case-insensitive (RFC 3501 5.1), also as a parent: match
	 * both against their canonical spelling */
	char pbuf[IMAP_LIST_PATTERN_MAX + 1];

	if (pn > IMAP_LIST_PATTERN_MAX)
		return 0;
	memcpy(pbuf, pat, pn);
	if (inbox_prefix(pbuf, pn) && inbox_prefix(name, nn))
		memcpy(pbuf, name, 5);
	return glob(pbuf, pn, name, nn);
}

int
imap_list_canon(const char *ref, size_t rn, const char *pat, size_t pn,
    char *out, size_t outsz, size_t *outlen)
{
	size_t n;

	/* RFC 3501 6.3.8: the reference is prepended; a pattern that starts
	 * with the separator is absolute here (one namespace, root "") */
	if (pn > 0 && pat[0] == '/')
		rn = 0;
	n = rn + pn;
	if (n >= outsz)
		return -1;
	memcpy(out, ref, rn);
	memcpy(out + rn, pat, pn);
	out[n] = '\0';
	*outlen = n;
	return 0;
}
