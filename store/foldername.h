/*
 * IMAP folder names as the store accepts them (issue 13; DESIGN.md
 * "Folders, UIDs and flags").  Pure functions over memory: no files, no
 * IPC.  The store's IMAP handlers (store_imap.c) judge names with it.
 *
 * The name is UTF-8, as the worker hands it after decoding modified UTF-7
 * (RFC 3501 5.1.3).  The hierarchy separator is '/'.  A name never
 * becomes a path: the folder table (store/foldertab.h) maps it to a
 * generated file name.  These rules keep names unambiguous and harmless
 * in logs and listings, not safe as paths.
 *
 * Refused, each with its reason:
 *   - an empty name, an empty component ("a//b", a leading or trailing
 *     '/'), a component "." or "..", a component starting with '.';
 *   - '%' and '*' (LIST wildcards, RFC 3501 6.3.8);
 *   - invalid UTF-8: a stray or missing continuation byte, an overlong
 *     form, a surrogate (U+D800..U+DFFF), beyond U+10FFFF;
 *   - C0 controls and NUL, DEL, C1 controls (U+0080..U+009F), U+2028 and
 *     U+2029, the bidirectional embeddings, overrides and isolates
 *     (U+202A..U+202E, U+2066..U+2069), U+FEFF, and the noncharacters
 *     (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF): they hide or reorder text in
 *     a client's folder list and in the logs;
 *   - more than lim->name_max_bytes bytes, a component over
 *     FOLDER_COMPONENT_MAX_BYTES, more than lim->depth_max_count
 *     components;
 *   - the normalization refusals below.
 *
 * Canonical form: the name as given, except that a first component equal
 * to "INBOX" in any ASCII case is written "INBOX" (RFC 3501 5.1: INBOX is
 * case-insensitive; "inbox/Sub" is "INBOX/Sub").
 *
 * One folder per name, whatever its case or Unicode spelling: two names
 * with the same comparison key (foldername_key) are the same folder.
 *
 *   Case: the key applies Unicode simple case folding (CaseFolding.txt,
 *   status C and S) for ASCII, Latin-1, Latin Extended-A, Latin Extended
 *   Additional (Vietnamese), basic Greek (final sigma folds to sigma),
 *   Cyrillic U+0400..U+052F, Armenian and the fullwidth Latin letters:
 *   "Rechnungen", "RECHNUNGEN", "ΈΡΓΑ" and "έργα", "ПОЧТА" and "почта" are
 *   one folder each.  Other scripts (Latin Extended-B, Greek Extended,
 *   Georgian, Cherokee, Deseret ...) compare case-sensitively: two
 *   spellings there are two folders, which loses nothing.
 *
 *   Normalization: we keep no composition table.  Instead only one
 *   spelling of a letter can exist: names holding a generic combining
 *   mark (U+0300..U+036F, U+1AB0..U+1AFF, U+1DC0..U+1DFF, U+20D0..U+20FF,
 *   U+FE20..U+FE2F) are refused, so "é" exists only as U+00E9, never as
 *   "e" + U+0301 (clients send NFC: what a keyboard types); so are Hangul
 *   conjoining jamo (U+1100..U+11FF, U+A960..U+A97F, U+D7B0..U+D7FF: NFC
 *   makes syllables of them), and the code points NFC replaces by another
 *   (singletons and composition exclusions): the Ohm, Kelvin and Angstrom
 *   signs, Greek U+0374, U+037E, U+0387 and the Greek Extended oxia
 *   letters, the Indic nukta letters (U+0958..U+095F and the like), the
 *   Hebrew presentation forms U+FB1D..U+FB4F and the CJK compatibility
 *   ideographs.  Known limit: marks of their own blocks (Hebrew points,
 *   Arabic harakat, Indic signs) are accepted and not reordered, so a
 *   name with two such marks on one letter typed in both orders is two
 *   folders.
 */
#ifndef POSTERN_FOLDERNAME_H
#define POSTERN_FOLDERNAME_H

#include <stddef.h>
#include <stdint.h>

/* What a client may create (the defaults are in privsep/params.h). */
struct folder_limits {
	size_t name_max_bytes;        /* a whole name, <= FOLDER_NAME_CEIL_BYTES */
	unsigned depth_max_count;     /* components, <= FOLDER_DEPTH_CEIL_COUNT */
	size_t folders_max_count;     /* table entries, <= FOLDERS_CEIL_COUNT */
};

/* The defaults: FOLDER_NAME_DEFAULT_BYTES, FOLDER_DEPTH_DEFAULT_COUNT,
 * FOLDERS_DEFAULT_COUNT. */
void folder_limits_default(struct folder_limits *lim);
/* The ceilings: what the table parser accepts. */
void folder_limits_ceil(struct folder_limits *lim);

/*
 * Checks the client name name[0..len) (no NUL terminator needed; a NUL
 * inside is refused) and writes its canonical form, NUL-terminated, to
 * out (outsz >= len + 1).  Returns the canonical length (== len), or -1
 * with *why.
 */
int foldername_canon(const char *name, size_t len, const struct folder_limits *lim,
    char *out, size_t outsz, const char **why);

/*
 * The comparison key of a canonical name (case-folded, see above), into
 * key (keysz >= strlen(canon) + 1: a key is never longer than its name).
 * Returns the key's length.  The key of a name's parent is the key's
 * prefix up to its last '/'.
 */
size_t foldername_key(const char *canon, char *key, size_t keysz);

/*
 * Is why (from foldername_canon) a limit (too long, too deep, a component
 * too long: RFC 5530 [LIMIT]) rather than a name that can never be a
 * folder?  It compares the pointer: only texts of this file match.
 */
int foldername_why_is_limit(const char *why);
/* The "too long" refusal, for the table's checks of respelled names. */
const char *foldername_why_long(void);

/* Is the canonical name INBOX itself? */
int foldername_is_inbox(const char *canon);

/* Components of a valid name ("a/b/c" is 3). */
unsigned foldername_depth(const char *canon);

#endif
