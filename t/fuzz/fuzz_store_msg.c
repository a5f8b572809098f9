/*
 * libFuzzer: the store's request path over arbitrary bytes, without
 * touching files: the frame check (ipc_parse), the dispatch table for
 * every channel kind (IMAP included), state and fd presence, and the
 * decoders (the folder names: bytes up to the ceiling, NUL-terminated;
 * the IMAP views' SELECT and FETCH: a FETCH decoded has 1..the batch
 * count of strictly ascending UIDs; IMAP APPEND's flags, keywords and
 * internal date; STORE_FLAGS, EXPUNGE and COPY: counts, ascending
 * UIDs, keywords).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep/ipc.h"
#include "privsep/msg.h"
#include "store/dispatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ipc_msg m;
	static const unsigned kinds[] = { 0, CHAN_SMTP, CHAN_POP3, CHAN_CONTROL, CHAN_IMAP,
	    31, 77 };
	static const unsigned states[] = { CS_OPEN, CS_BOUND, CS_AUTHING, CS_IMAP, CS_SELECTED };
	struct store_req r;
	const char *why;

	if (ipc_parse(&m, data, size) == -1)
		return 0;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++)
			for (int fd = -1; fd <= 0; fd++) {
				const struct dispatch_row *row;

				m.fd = fd < 0 ? -1 : 100000;   /* only compared */
				row = dispatch_check(&m, kinds[k], states[s], &why);
				if (row != NULL && (row->type != m.hdr.type ||
				    m.hdr.len < row->minlen || m.hdr.len > row->maxlen))
					abort();
				if (row == NULL && why == NULL)
					abort();
				/* nothing is allowed while a login waits; the
				 * folder requests only on a logged-in IMAP channel */
				if (row != NULL && (states[s] == CS_AUTHING ||
				    (row->type >= MSG_FOLDER_LIST && row->type <= MSG_FOLDER_SUBSCRIBE_R &&
				    (kinds[k] != CHAN_IMAP ||
				    !(states[s] & (CS_IMAP | CS_SELECTED))))))
					abort();
				/* STORE, EXPUNGE, COPY only on a view */
				if (row != NULL && (row->type == MSG_STORE_FLAGS ||
				    row->type == MSG_EXPUNGE || row->type == MSG_COPY) &&
				    (kinds[k] != CHAN_IMAP || states[s] != CS_SELECTED))
					abort();
				/* IMAP APPEND: a logged-in IMAP channel (with a view
				 * or without), with its memfd */
				if (row != NULL && row->type == MSG_IMAP_APPEND &&
				    (kinds[k] != CHAN_IMAP || fd < 0 ||
				    (states[s] & (CS_OPEN | CS_BOUND | CS_AUTHING))))
					abort();
			}
	m.fd = -1;
	if (req_decode(&m, &r, &why) == 0) {
		if (r.type == MSG_APPEND && (r.nacc == 0 || r.nacc > LIM_APPEND_ACCOUNTS))
			abort();
		if (r.type == MSG_RETR && (r.ahead > LIM_RETR_AHEAD ||
		    (r.ahead > 0 && r.lines != LIM_ALL_LINES)))
			abort();
		if (r.type == MSG_DELE && (r.ndele == 0 || r.ndele > LIM_DELE_BATCH))
			abort();
		if (r.type == MSG_SELECT && (r.on > 1 || r.folder[0] == NULL ||
		    r.folderlen[0] > FOLDER_NAME_CEIL_BYTES))
			abort();
		if (r.type == MSG_FETCH) {
			if ((r.what != FETCH_WHOLE && r.what != FETCH_HEADER) || r.nuid == 0 ||
			    r.nuid > IMAP_FETCH_BATCH_MAX_COUNT || r.uids == NULL || r.uids[0] == 0)
				abort();
			for (uint32_t i = 1; i < r.nuid; i++)
				if (r.uids[i] <= r.uids[i - 1])
					abort();
		}
		if (strlen(r.local) > LIM_PATH || strlen(r.password) > LIM_PASSWORD)
			abort();
		if ((r.type == MSG_FOLDER_CREATE || r.type == MSG_FOLDER_DELETE ||
		    r.type == MSG_FOLDER_SUBSCRIBE) && (r.folder[0] == NULL || r.folder[1] != NULL))
			abort();
		if (r.type == MSG_FOLDER_RENAME && (r.folder[0] == NULL || r.folder[1] == NULL))
			abort();
		if (r.type == MSG_FOLDER_SUBSCRIBE && r.on > 1)
			abort();
		if (r.type == MSG_IMAP_APPEND) {
			uint64_t kwbytes = 0;

			if (r.folder[0] == NULL || r.folder[1] != NULL ||
			    (r.aflags & ~(uint32_t)(VF_SEEN | VF_ANSWERED | VF_FLAGGED |
			    VF_DELETED | VF_DRAFT)) != 0 || r.nkw > IMAP_FLAG_KEYWORDS_MAX_COUNT ||
			    r.adate > IMAP_APPEND_DATE_MAX || r.kwbuf == NULL || r.kwlen == NULL)
				abort();
			for (uint32_t i = 0; i < r.nkw; i++)
				kwbytes += r.kwlen[i];
			/* every keyword byte was in the payload; reading them all is
			 * in bounds (ASan checks) */
			if (kwbytes > m.hdr.len)
				abort();
			{
				volatile unsigned char sink = 0;

				for (uint64_t i = 0; i < kwbytes; i++)
					sink ^= (unsigned char)r.kwbuf[i];
				(void)sink;
			}
		}
		/* STORE, EXPUNGE, COPY: the UIDs ascend, within the batch */
		if ((r.type == MSG_STORE_FLAGS || r.type == MSG_COPY) &&
		    (r.nuid == 0 || r.nuid > IMAP_FETCH_BATCH_MAX_COUNT))
			abort();
		if (r.type == MSG_EXPUNGE && r.nuid > IMAP_FETCH_BATCH_MAX_COUNT)
			abort();
		for (uint32_t i = 1; i < r.nuid && r.uids != NULL; i++)
			if (r.uids[i] <= r.uids[i - 1] || r.uids[0] == 0)
				abort();
		if (r.type == MSG_STORE_FLAGS) {
			if (r.fop < FLAGS_SET || r.fop > FLAGS_REMOVE || (r.fflags & ~0x1fu) ||
			    r.nfkw > IMAP_FLAG_KEYWORDS_MAX_COUNT)
				abort();
			for (uint32_t i = 0; i < r.nfkw; i++) {
				size_t n = strlen(r.fkw[i]);

				if (n == 0 || n > IMAP_KEYWORD_MAX_BYTES)
					abort();
			}
		}
		if (r.type == MSG_COPY && (r.on > 1 || r.folder[0] == NULL))
			abort();
		for (int i = 0; i < 2; i++)
			if (r.folder[i] != NULL && (r.folderlen[i] > FOLDER_NAME_CEIL_BYTES ||
			    r.folder[i][r.folderlen[i]] != '\0'))
				abort();
	}
	req_free(&r);
	return 0;
}
