/*
 * libFuzzer: the mbox parser over arbitrary bytes (the repair/index
 * rebuild path of store/mailbox.c runs exactly this on a mailbox file),
 * plus the encode -> parse -> unquote round trip of a delivery.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/mbox.h"
#include "store/xpostern.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_list(const uint8_t *data, size_t size, const struct mbox_list *l, size_t good)
{
	uint64_t off = 0;

	if (good > size)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const struct mbox_ent *e = &l->v[i];
		unsigned char *out;
		size_t n;
		uint64_t lf = 0;

		if (e->off != off || e->len == 0 || e->off + e->len > size ||
		    e->skip + e->clen > e->len || memcmp(data + e->off, "From ", 5) != 0 ||
		    strnlen(e->uid, sizeof(e->uid)) > MBOX_UID_MAX || e->uid[0] == '\0' ||
		    e->head != mbox_head_hash(data + e->off, e->len, e->skip))
			abort();
		off += e->len;
		out = malloc(e->clen + 1);
		n = mbox_unquote(data + e->off + e->skip, e->clen, UINT32_MAX, out);
		if (n > e->clen + 1)
			abort();
		for (size_t k = 0; k < n; k++)
			lf += out[k] == '\n';
		if (e->wire != n + lf)
			abort();
		mbox_unquote(data + e->off + e->skip, e->clen, 3, out);
		free(out);
	}
	if (off != good)
		abort();
	for (size_t i = 0; i < l->n; i++)
		for (size_t j = i + 1; j < l->n && j < i + 64; j++)
			if (strcmp(l->v[i].uid, l->v[j].uid) == 0)
				abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbox_list l, again;
	enum mbox_parse_status st, st2;
	size_t good, good2, rl;
	unsigned char *rec;
	uint64_t wire;

	mbox_list_init(&l);
	if (mbox_parse(data, size, 0, &l, &good, &st) == 0 && mbox_unique_uids(&l) == 0) {
		check_list(data, size, &l, good);
		/* what repair keeps parses clean to the same messages */
		if (st != MBP_NOTMBOX) {
			mbox_list_init(&again);
			if (mbox_parse(data, good, 0, &again, &good2, &st2) == 0 &&
			    (st2 != MBP_OK || good2 != good || again.n != l.n))
				abort();
			mbox_list_free(&again);
		}
	}
	mbox_list_free(&l);

	/* the input as a message: it must come back as itself (LF form), as
	 * an SMTP delivery (Return-Path) and as an IMAP APPEND (no
	 * Return-Path; IMAP UID, flags and keywords on the X-Postern line) */
	for (int imap = 0; imap <= 1; imap++) {
		static const struct xp_kw kw[] = { { "Junk", 4 }, { "$Forwarded", 10 } };
		const char *rpl = imap ? "" : "Return-Path: <fuzz@example.org>\n";

		rec = mbox_encode(data, size, imap ? NULL : "fuzz@example.org", "0123456789abcdef",
		    imap ? 7 : 0, imap ? MF_SEEN | MF_DRAFT : 0, imap ? kw : NULL, imap ? 2 : 0, 0,
		    &rl, &wire);
		if (rec == NULL)
			continue;
		mbox_list_init(&l);
		if (mbox_parse(rec, rl, 0, &l, &good, &st) != 0 || st != MBP_OK || l.n != 1 ||
		    good != rl || l.v[0].wire != wire || !(l.v[0].flags & MBE_POSTERN) ||
		    l.v[0].imapuid != (imap ? 7u : 0u) ||
		    l.v[0].mflags != (imap ? MF_SEEN | MF_DRAFT : 0u))
			abort();
		{
			unsigned char *out = malloc(l.v[0].clen + 1);
			size_t n = mbox_unquote(rec + l.v[0].skip, l.v[0].clen, UINT32_MAX, out);
			size_t rp = strlen(rpl), o = rp;

			if (n < rp || memcmp(out, rpl, rp) != 0)
				abort();
			for (size_t i = 0; i < size; i++) {
				if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
					continue;
				if (o >= n || out[o++] != data[i])
					abort();
			}
			if (size > 0 && data[size - 1] != '\n' && (o >= n || out[o++] != '\n'))
				abort();
			if (o != n)
				abort();
			free(out);
		}
		mbox_list_free(&l);
		free(rec);
	}
	return 0;
}
