/* One FETCH response: see imap_fetch.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "imap_fetch.h"
#include "mime.h"

static const struct {
	uint32_t bit;
	const char *name;
} sysflags[] = {
	{ VF_SEEN, "\\Seen" }, { VF_ANSWERED, "\\Answered" },
	{ VF_FLAGGED, "\\Flagged" }, { VF_DELETED, "\\Deleted" },
	{ VF_DRAFT, "\\Draft" }, { VF_RECENT, "\\Recent" },
};

void
imap_flags_list(struct ibuf *out, uint32_t flags, const struct sc_view *v,
    uint32_t kwoff, uint32_t nkw)
{
	int first = 1;

	ib_addc(out, '(');
	for (size_t i = 0; i < sizeof(sysflags) / sizeof(sysflags[0]); i++) {
		if (!(flags & sysflags[i].bit))
			continue;
		if (!first)
			ib_addc(out, ' ');
		ib_adds(out, sysflags[i].name);
		first = 0;
	}
	for (uint32_t i = 0; i < nkw; i++) {
		uint32_t k = v->kwidx[kwoff + i];

		if (k >= v->nkw)
			continue;
		if (!first)
			ib_addc(out, ' ');
		ib_adds(out, v->kw[k]);
		first = 0;
	}
	ib_addc(out, ')');
}

void
imap_date_time(uint64_t t, char out[32])
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (t > (uint64_t)253402300799ull || gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm)), tm.tm_year = 70, tm.tm_mday = 1;
	(void)bsnprintf(out, 32, "%02d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday,
	    mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Is the section one that the header alone answers (of the message
 * itself, not of a part)? */
static int
header_only(const struct imap_section *s)
{
	return s->nparts == 0 && (s->spec == IMAP_SEC_HEADER ||
	    s->spec == IMAP_SEC_HEADER_FIELDS || s->spec == IMAP_SEC_HEADER_FIELDS_NOT);
}

int
imap_fetch_sets_seen(const struct imap_fetch *f)
{
	if (f->atts & (IMAP_FA_RFC822 | IMAP_FA_RFC822_TEXT))
		return 1;
	for (size_t i = 0; i < f->nsec; i++)
		if (!f->sec[i].peek)
			return 1;
	return 0;
}

uint32_t
imap_fetch_needs(const struct imap_fetch *f)
{
	uint32_t need = 0;

	if (f->atts & (IMAP_FA_BODY | IMAP_FA_BODYSTRUCTURE | IMAP_FA_RFC822 |
	    IMAP_FA_RFC822_TEXT))
		return FETCH_WHOLE;
	if (f->atts & (IMAP_FA_ENVELOPE | IMAP_FA_RFC822_HEADER))
		need = FETCH_HEADER;
	for (size_t i = 0; i < f->nsec; i++) {
		if (!header_only(&f->sec[i]))
			return FETCH_WHOLE;
		need = FETCH_HEADER;
	}
	return need;
}

/* " {n}\r\n" and the bytes p[0..n) (sent with CRLF line ends when crlf),
 * from origin (partial) for at most count octets. */
static void
add_literal(struct ibuf *out, const unsigned char *p, size_t n, int crlf,
    int partial, uint32_t origin, uint32_t count, struct ibuf *tmp)
{
	const unsigned char *b = p;
	size_t len = n;

	if (crlf) {
		ib_reset(tmp);
		ib_add_crlf(tmp, p, n);
		b = tmp->p;
		len = tmp->len;
	}
	if (partial) {
		if (origin >= len)
			len = 0;
		else {
			b += origin;
			len -= origin;
			if (len > count)
				len = count;
		}
	}
	ib_adds(out, " {");
	ib_addu64(out, len);
	ib_adds(out, "}\r\n");
	if (len > 0)
		ib_add(out, b, len);
}

/* BODY[section]<partial>: its name in the response and its bytes. */
static int
add_section(struct ibuf *out, const struct imap_section *s, const struct mime_msg *mm,
    struct ibuf *tmp, struct ibuf *synth, const char **why)
{
	struct mime_section ms;
	struct mime_range r;

	if (mime_section_parse(s->text.s, s->text.len, &ms, why) < 0)
		return -1;
	ib_reset(synth);
	if (mime_section_get(mm, &ms, synth, &r, why) < 0)
		return -1;
	/* the name as the client wrote the section, BODY even for PEEK, and
	 * only the origin of a partial (RFC 3501 7.4.2) */
	ib_adds(out, "BODY[");
	ib_add(out, s->text.s, s->text.len);
	ib_addc(out, ']');
	if (s->partial) {
		ib_addc(out, '<');
		ib_addu64(out, s->origin);
		ib_addc(out, '>');
	}
	if (r.synth)
		add_literal(out, synth->p + r.off, r.len, 0, s->partial, s->origin,
		    s->count, tmp);
	else
		add_literal(out, mm->buf + r.off, r.len, 1, s->partial, s->origin,
		    s->count, tmp);
	return 0;
}

int
imap_fetch_response(struct ibuf *out, uint32_t seq, const struct sc_vmsg *m,
    const struct sc_view *v, const struct imap_fetch *f, int uid_cmd, int flags_too,
    const unsigned char *msg, size_t len, const char **why)
{
	struct mime_msg mm;
	struct ibuf tmp, synth;
	char date[32];
	int rc = 0, sp = 0;

	memset(&mm, 0, sizeof(mm));
	ib_init(&tmp, MIME_OUT_MAX_BYTES + 2 * (size_t)len);
	ib_init(&synth, MIME_OUT_MAX_BYTES);
	if (msg != NULL)
		mime_parse(&mm, msg, len);
#define SEP() do { if (sp) ib_addc(out, ' '); sp = 1; } while (0)
	ib_adds(out, "* ");
	ib_addu64(out, seq);
	ib_adds(out, " FETCH (");
	if (uid_cmd || (f->atts & IMAP_FA_UID)) {
		SEP();
		ib_adds(out, "UID ");
		ib_addu64(out, m->uid);
	}
	if ((f->atts & IMAP_FA_FLAGS) || flags_too) {
		SEP();
		ib_adds(out, "FLAGS ");
		imap_flags_list(out, m->flags, v, m->kwoff, m->nkw);
	}
	if (f->atts & IMAP_FA_INTERNALDATE) {
		SEP();
		imap_date_time(m->date, date);
		ib_adds(out, "INTERNALDATE \"");
		ib_adds(out, date);
		ib_addc(out, '"');
	}
	if (f->atts & IMAP_FA_RFC822_SIZE) {
		SEP();
		ib_adds(out, "RFC822.SIZE ");
		ib_addu64(out, m->size);
	}
	if ((f->atts & IMAP_FA_ENVELOPE) && msg != NULL) {
		SEP();
		ib_adds(out, "ENVELOPE ");
		if (mime_envelope(&mm, 0, out, why) < 0)
			rc = -1;
	}
	if ((f->atts & IMAP_FA_BODY) && msg != NULL && rc == 0) {
		SEP();
		ib_adds(out, "BODY ");
		if (mime_bodystructure(&mm, 0, 0, out, why) < 0)
			rc = -1;
	}
	if ((f->atts & IMAP_FA_BODYSTRUCTURE) && msg != NULL && rc == 0) {
		SEP();
		ib_adds(out, "BODYSTRUCTURE ");
		if (mime_bodystructure(&mm, 0, 1, out, why) < 0)
			rc = -1;
	}
	if ((f->atts & IMAP_FA_RFC822_HEADER) && msg != NULL && rc == 0) {
		SEP();
		ib_adds(out, "RFC822.HEADER");
		add_literal(out, msg, mm.part[0].hdr_len, 1, 0, 0, 0, &tmp);
	}
	if ((f->atts & IMAP_FA_RFC822_TEXT) && msg != NULL && rc == 0) {
		SEP();
		ib_adds(out, "RFC822.TEXT");
		add_literal(out, msg + mm.part[0].body_off, mm.part[0].body_len, 1, 0, 0, 0,
		    &tmp);
	}
	if ((f->atts & IMAP_FA_RFC822) && msg != NULL && rc == 0) {
		SEP();
		ib_adds(out, "RFC822");
		add_literal(out, msg, len, 1, 0, 0, 0, &tmp);
	}
	for (size_t i = 0; i < f->nsec && rc == 0 && msg != NULL; i++) {
		SEP();
		if (add_section(out, &f->sec[i], &mm, &tmp, &synth, why) < 0)
			rc = -1;
	}
#undef SEP
	ib_adds(out, ")\r\n");
	if (rc == 0 && (ib_failed(out) || ib_failed(&tmp))) {
		*why = "response too large";
		rc = -1;
	}
	if (msg != NULL)
		mime_free(&mm);
	ib_free(&tmp);
	ib_free(&synth);
	return rc;
}
