/*
 * libFuzzer: the flag journal's replay (store/flagjournal.c) over
 * arbitrary bytes.  The first byte picks a mode: bit 0 puts a good header
 * (UIDVALIDITY 1) in front of the rest, bit 1 fixes up the checksum of
 * every record whose length is in range, so that the checks behind the
 * checksum are reached too.  Whatever the bytes, the replay ends, stays in
 * bounds, and what it kept replays again to the same, cleanly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/flagjournal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NMSG 16

static struct fj_msg m1[NMSG], m2[NMSG];
static struct fj_kwtab kw1, kw2;

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
check_change(void *arg, const struct fj_change *c)
{
	/* set: flags and the journal-only FJ_EXPUNGED; clr: flags only */
	if (c->uid == 0 || (c->set & c->clr) || (c->set & ~(MF_ALL | FJ_EXPUNGED)) ||
	    (c->clr & ~MF_ALL))
		abort();
	for (size_t i = 0; i < c->nkset; i++)
		if (c->kset[i] >= FOLDER_KEYWORDS_MAX_COUNT)
			abort();
	for (size_t i = 0; i < c->nkclr; i++)
		if (c->kclr[i] >= FOLDER_KEYWORDS_MAX_COUNT)
			abort();
	fj_apply_msgs(arg, c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fj_msgs v1 = { m1, NMSG, 0 }, v2 = { m2, NMSG, 0 };
	struct fj_replay r1, r2;
	unsigned char *p;
	size_t n, o;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	if ((p = malloc(size + FJ_HEADER_BYTES + 1)) == NULL)
		return 0;
	n = 0;
	if (mode & 1) {
		static const unsigned char h[4] = { 1, 0, 0, 0 };

		memcpy(p, "PSTNFLJ1", 8);
		memcpy(p + 8, h, 4);
		put32(p + 12, fj_crc32c(0, p, 12));
		n = FJ_HEADER_BYTES;
	}
	memcpy(p + n, data, size);
	n += size;
	if ((mode & 2) && n >= FJ_HEADER_BYTES) {
		static const unsigned char uv[4] = { 1, 0, 0, 0 };
		uint32_t seed = fj_crc32c(0, uv, 4);

		for (o = FJ_HEADER_BYTES; n - o >= 8;) {
			uint32_t len = get32(p + o);

			if (len < 8 || len > FJ_RECORD_MAX_BYTES || len > n - o)
				break;
			put32(p + o + len - 4, fj_crc32c(seed, p + o, len - 4));
			o += len;
		}
	}
	for (uint32_t i = 0; i < NMSG; i++)
		m1[i].uid = m2[i].uid = i * 3 + 1;
	memset(&kw1, 0, sizeof(kw1));
	fj_replay_mem(p, n, 1, &kw1, check_change, &v1, &r1);
	if (r1.good_end > n || kw1.n > FOLDER_KEYWORDS_MAX_COUNT ||
	    (r1.st == FJ_OK && r1.good_end != n) ||
	    (r1.st != FJ_OK && r1.st != FJ_TORN && r1.records != 0))
		abort();
	for (uint32_t i = 0; i < kw1.n; i++)
		if (!xp_keyword_ok(kw1.name[i], kw1.len[i]) ||
		    strlen(kw1.name[i]) != kw1.len[i])
			abort();
	if (r1.st == FJ_OK || r1.st == FJ_TORN) {
		/* what a reopen keeps replays cleanly to the same state */
		memset(&kw2, 0, sizeof(kw2));
		fj_replay_mem(p, (size_t)r1.good_end, 1, &kw2, check_change, &v2, &r2);
		if (r2.st != FJ_OK || r2.records != r1.records || r2.good_end != r1.good_end ||
		    kw2.n != kw1.n || memcmp(m1, m2, sizeof(m1)) != 0)
			abort();
	}
	free(p);
	return 0;
}
