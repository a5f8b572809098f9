/*
 * Inside SEARCH (imap_search.h): the text matcher that imap_search.c
 * drives.  A key's string becomes a needle of case-folded code points; the
 * message's text is pushed through decoders (transfer encoding, RFC 2047,
 * charset, UTF-8, folding) into a Knuth-Morris-Pratt automaton, one byte at
 * a time, never looking back: linear in the bytes pushed.
 */
#ifndef POSTERN_IMAP_SEARCH_INT_H
#define POSTERN_IMAP_SEARCH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mime.h"

struct snd {
	uint32_t *pat;      /* folded code points */
	uint32_t *fail;     /* KMP failure function */
	size_t m;
};

/* Builds the needle of key[0..n) (UTF-8; invalid bytes stand for
 * themselves).  Memory from xmalloc. */
void snd_init(struct snd *nd, const unsigned char *key, size_t n);
void snd_free(struct snd *nd);

/* Charsets the matcher converts (anything else is read as UTF-8). */
enum scs { SCS_UTF8 = 0, SCS_1252 };
enum scs scs_of(const unsigned char *name, size_t n);

/* One text key being matched: push segments of text, read found. */
struct smatch {
	const struct snd *nd;
	size_t q;               /* needle code points matched so far */
	int found;
	enum scs cs;
	/* a UTF-8 sequence under way */
	uint32_t cp;
	unsigned need, npend;
	unsigned char pend[4];
};

void sm_init(struct smatch *sm, const struct snd *nd);
/* A segment starts: no match spans two segments. */
void sm_begin(struct smatch *sm, enum scs cs);
/* Bytes of text in the current charset. */
void sm_bytes(struct smatch *sm, const unsigned char *p, size_t n);
/* The segment ends. */
void sm_end(struct smatch *sm);

/* An unfolded header value with its RFC 2047 encoded words decoded. */
void sm_header_value(struct smatch *sm, const unsigned char *p, size_t n);

/* A part's body decoded from its Content-Transfer-Encoding (cte 0 none,
 * 1 quoted-printable, 2 base64) in charset cs. */
enum scte { SCTE_NONE = 0, SCTE_QP, SCTE_BASE64 };
void sm_body(struct smatch *sm, const unsigned char *p, size_t n,
    enum scte cte, enum scs cs);

/* The simple case folding of one code point. */
uint32_t sfold(uint32_t cp);

#endif
