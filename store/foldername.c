/*
 * IMAP folder names: validation, canonical form, comparison key (the
 * rules are the first comment of foldername.h).
 */
#include <stdint.h>
#include <string.h>

#include "../privsep/params.h"
#include "../privsep/util.h"
#include "foldername.h"
#include "../privsep/utf8.h"

/* The refusals that are limits (foldername_why_is_limit), written once. */
static const char why_long[] = "is too long";
static const char why_deep[] = "is nested too deep";
static const char why_component[] = "has a component longer than 255 bytes";

const char *
foldername_why_long(void)
{
	return why_long;
}

int
foldername_why_is_limit(const char *why)
{
	return why == why_long || why == why_deep || why == why_component;
}

void
folder_limits_default(struct folder_limits *lim)
{
	lim->name_max_bytes = FOLDER_NAME_DEFAULT_BYTES;
	lim->depth_max_count = FOLDER_DEPTH_DEFAULT_COUNT;
	lim->folders_max_count = FOLDERS_DEFAULT_COUNT;
}

void
folder_limits_ceil(struct folder_limits *lim)
{
	lim->name_max_bytes = FOLDER_NAME_CEIL_BYTES;
	lim->depth_max_count = FOLDER_DEPTH_CEIL_COUNT;
	lim->folders_max_count = FOLDERS_CEIL_COUNT;
}

/* One UTF-8 sequence at s[0..n), n >= 1: its length (1..4) and *cp, or
 * -1 with *why (privsep/utf8.h: strict). */
static int
utf8_next(const unsigned char *s, size_t n, uint32_t *cp, const char **why)
{
	size_t len = utf8_decode(s, n, cp);

	if (len == 0)
		return fail_why(why, utf8_error(s, n));
	return (int)len;
}

/* Code points that hide, reorder or break text: refused everywhere. */
static const char *
cp_refused(uint32_t c)
{
	if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f))
		return c == 0 ? "holds a NUL byte" : "holds a control character";
	if (c == '%' || c == '*')
		return "holds a LIST wildcard ('%' or '*')";
	if (c == 0x2028 || c == 0x2029)
		return "holds a line or paragraph separator";
	if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
		return "holds a bidirectional control";
	if (c == 0xfeff)
		return "holds a byte order mark";
	if ((c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
		return "holds a Unicode noncharacter";
	return NULL;
}

/* The CJK compatibility ideographs in U+FA0E..U+FA29 that are unified
 * ideographs, with no decomposition: accepted. */
static int
cjk_compat_unified(uint32_t c)
{
	static const uint16_t ok[] = {
		0xfa0e, 0xfa0f, 0xfa11, 0xfa13, 0xfa14, 0xfa1f, 0xfa21,
		0xfa23, 0xfa24, 0xfa27, 0xfa28, 0xfa29,
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (c == ok[i])
			return 1;
	return 0;
}

/*
 * Code points that would give a second spelling of a name (foldername.h):
 * combining marks of the generic blocks, conjoining jamo, and what NFC
 * replaces by something else.
 */
static const char *
cp_unnormal(uint32_t c)
{
	static const uint16_t singletons[] = {
		0x0374, 0x037e, 0x0387,
		0x09dc, 0x09dd, 0x09df, 0x0a33, 0x0a36, 0x0a59, 0x0a5a, 0x0a5b,
		0x0a5e, 0x0b5c, 0x0b5d,
		0x1f71, 0x1f73, 0x1f75, 0x1f77, 0x1f79, 0x1f7b, 0x1f7d, 0x1fbb,
		0x1fbe, 0x1fc9, 0x1fcb, 0x1fd3, 0x1fdb, 0x1fe3, 0x1feb, 0x1fee,
		0x1fef, 0x1ff9, 0x1ffb, 0x1ffd,
		0x2000, 0x2001, 0x2126, 0x212a, 0x212b, 0x2329, 0x232a,
	};

	if ((c >= 0x0300 && c <= 0x036f) || (c >= 0x1ab0 && c <= 0x1aff) ||
	    (c >= 0x1dc0 && c <= 0x1dff) || (c >= 0x20d0 && c <= 0x20ff) ||
	    (c >= 0xfe20 && c <= 0xfe2f))
		return "holds a combining mark (use the precomposed letter)";
	if ((c >= 0x1100 && c <= 0x11ff) || (c >= 0xa960 && c <= 0xa97f) ||
	    (c >= 0xd7b0 && c <= 0xd7ff))
		return "holds a Hangul conjoining jamo (use the syllable)";
	if ((c >= 0xf900 && c <= 0xfaff && !cjk_compat_unified(c)) ||
	    (c >= 0x2f800 && c <= 0x2fa1f))
		return "holds a CJK compatibility ideograph (use the unified one)";
	if ((c >= 0x0958 && c <= 0x095f) || (c >= 0xfb1d && c <= 0xfb4f))
		return "holds a letter Unicode normalization decomposes";
	for (size_t i = 0; i < sizeof(singletons) / sizeof(singletons[0]); i++)
		if (c == singletons[i])
			return "holds a sign Unicode normalization replaces";
	return NULL;
}

/* Unicode simple case folding, for the scripts foldername.h lists; any
 * other code point is its own fold. */
static uint32_t
fold_cp(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c < 0x100) {
		if (c == 0xb5)
			return 0x3bc;            /* micro sign -> mu */
		if (c >= 0xc0 && c <= 0xde && c != 0xd7)
			return c + 32;
		return c;
	}
	if (c < 0x180) {
		if ((c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
			return c + !(c & 1);     /* even capital, odd small */
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return c + (c & 1);      /* odd capital, even small */
		if (c == 0x178)
			return 0xff;
		if (c == 0x17f)
			return 's';              /* long s */
		return c;                        /* U+0130, U+0131, U+0138, U+0149 */
	}
	if (c >= 0x386 && c <= 0x3ab) {
		if (c == 0x386)
			return 0x3ac;
		if (c >= 0x388 && c <= 0x38a)
			return c + 37;
		if (c == 0x38c)
			return 0x3cc;
		if (c == 0x38e || c == 0x38f)
			return c + 63;
		if (c >= 0x391 && c != 0x3a2)
			return c + 32;
		return c;
	}
	if (c == 0x3c2)
		return 0x3c3;                    /* final sigma */
	if (c >= 0x3d8 && c <= 0x3ef)
		return c + !(c & 1);
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
	    (c >= 0x4d0 && c <= 0x52f))
		return c + !(c & 1);
	if (c == 0x4c0)
		return 0x4cf;
	if (c >= 0x4c1 && c <= 0x4ce)
		return c + (c & 1);
	if (c >= 0x531 && c <= 0x556)
		return c + 48;                   /* Armenian */
	if ((c >= 0x1e00 && c <= 0x1e95) || (c >= 0x1ea0 && c <= 0x1eff))
		return c + !(c & 1);
	if (c == 0x1e9e)
		return 0xdf;                     /* capital sharp s */
	if (c >= 0xff21 && c <= 0xff3a)
		return c + 32;                   /* fullwidth Latin */
	return c;
}

/* One component s[0..n), n > 0 known. */
static int
component_ok(const char *s, size_t n, const char **why)
{
	if (n == 0)
		return fail_why(why, "has an empty component ('//', or '/' at an end)");
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return fail_why(why, "has a '.' or '..' component");
	if (s[0] == '.')
		return fail_why(why, "has a component starting with '.'");
	if (n > FOLDER_COMPONENT_MAX_BYTES)
		return fail_why(why, why_component);
	return 0;
}

int
foldername_canon(const char *name, size_t len, const struct folder_limits *lim,
    char *out, size_t outsz, const char **why)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i = 0, comp = 0;
	unsigned depth = 1;

	if (len == 0)
		return fail_why(why, "is empty");
	if (len > lim->name_max_bytes || len > FOLDER_NAME_CEIL_BYTES)
		return fail_why(why, why_long);
	if (outsz < len + 1)
		return fail_why(why, "is too long for the buffer");
	while (i < len) {
		uint32_t c;
		const char *bad;
		int l = utf8_next((const unsigned char *)s + i, len - i, &c, why);

		if (l < 0)
			return -1;
		if ((bad = cp_refused(c)) != NULL || (bad = cp_unnormal(c)) != NULL)
			return fail_why(why, bad);
		if (c == '/') {
			if (component_ok(name + comp, i - comp, why) == -1)
				return -1;
			if (++depth > lim->depth_max_count || depth > FOLDER_DEPTH_CEIL_COUNT)
				return fail_why(why, why_deep);
			comp = i + 1;
		}
		i += (size_t)l;
	}
	if (component_ok(name + comp, len - comp, why) == -1)
		return -1;
	memcpy(out, name, len);
	out[len] = '\0';
	if ((len == 5 || (len > 5 && out[5] == '/')) && strncasecmp(out, "INBOX", 5) == 0)
		memcpy(out, "INBOX", 5);
	return (int)len;
}

size_t
foldername_key(const char *canon, char *key, size_t keysz)
{
	const unsigned char *s = (const unsigned char *)canon;
	size_t n = strlen(canon), i = 0, o = 0;

	while (i < n) {
		uint32_t c, f;
		int l = utf8_next((const unsigned char *)s + i, n - i, &c, NULL);

		if (l < 0) {              /* not from foldername_canon: as bytes */
			if (o + 1 >= keysz)
				break;
			key[o++] = (char)s[i++];
			continue;
		}
		f = fold_cp(c);
		if (o + utf8_len(f) >= keysz)
			break;
		o += utf8_encode(f, (unsigned char *)key + o);
		i += (size_t)l;
	}
	if (keysz > 0)
		key[o < keysz ? o : keysz - 1] = '\0';
	return o;
}

int
foldername_is_inbox(const char *canon)
{
	return strcmp(canon, "INBOX") == 0;
}

unsigned
foldername_depth(const char *canon)
{
	unsigned d = 1;

	for (; *canon; canon++)
		d += *canon == '/';
	return d;
}
