/*
 * The request table: one row a request, with its decoder and its handler
 * (see dispatch.h).  Part of the loop layer (store_int.h): the loop looks
 * a request's row up here and calls down into the row's handler.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/util.h"
#include "dispatch.h"
#include "store_int.h"

#define SMTP_K KIND_BIT(CHAN_SMTP)
#define POP3_K KIND_BIT(CHAN_POP3)
#define CONTROL_K KIND_BIT(CHAN_CONTROL)
#define IMAP_K KIND_BIT(CHAN_IMAP)
/* a folder name on the wire: u32 length + at most the ceiling's bytes */
#define FNAME_MAX (4 + FOLDER_NAME_CEIL_BYTES)
/* an IMAP channel logged in, with or without a view */
#define IMAP_S (CS_IMAP | CS_SELECTED)

/* ---- the decoders, one a row: every field checked ---- */

static int
decode_lookup(struct ipc_msg *m, struct store_req *r, const char **why)
{
	(void)why;
	return ipc_get_str(m, r->local, sizeof(r->local));
}

static int
decode_append(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (ipc_get_str(m, r->sessid, sizeof(r->sessid)) == -1 ||
	    ipc_get_str(m, r->sender, sizeof(r->sender)) == -1 ||
	    ipc_get_u32(m, &r->nacc) == -1) {
		*why = "malformed APPEND header";
		return -1;
	}
	if (r->nacc == 0 || r->nacc > LIM_APPEND_ACCOUNTS) {
		*why = "APPEND account count out of range";
		return -1;
	}
	r->acc = xcalloc(r->nacc, sizeof(*r->acc));
	for (uint32_t i = 0; i < r->nacc; i++)
		if (ipc_get_str(m, r->acc[i], sizeof(r->acc[i])) == -1) {
			*why = "malformed APPEND account";
			return -1;
		}
	return 0;
}

static int
decode_auth(struct ipc_msg *m, struct store_req *r, const char **why)
{
	(void)why;
	if (ipc_get_str(m, r->name, sizeof(r->name)) == -1 ||
	    ipc_get_str(m, r->password, sizeof(r->password)) == -1 ||
	    ipc_get_str(m, r->addr, sizeof(r->addr)) == -1)
		return -1;
	return 0;
}

static int
decode_retr(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (ipc_get_u32(m, &r->msgno) == -1 || ipc_get_u32(m, &r->lines) == -1 ||
	    ipc_get_u32(m, &r->ahead) == -1)
		return -1;
	if (r->ahead > LIM_RETR_AHEAD ||
	    (r->ahead > 0 && r->lines != LIM_ALL_LINES)) {
		*why = "RETR read-ahead out of range";
		return -1;
	}
	return 0;
}

static int
decode_dele(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (ipc_get_u32(m, &r->ndele) == -1)
		return -1;
	if (r->ndele == 0 || r->ndele > LIM_DELE_BATCH) {
		*why = "DELE count out of range";
		return -1;
	}
	r->dele = xcalloc(r->ndele, sizeof(*r->dele));
	for (uint32_t i = 0; i < r->ndele; i++)
		if (ipc_get_u32(m, &r->dele[i]) == -1) {
			*why = "malformed request";
			return -1;
		}
	return 0;
}

/* a valid string; the handler checks it is a mailbox name */
static int
decode_mbox_stat(struct ipc_msg *m, struct store_req *r, const char **why)
{
	(void)why;
	return ipc_get_str(m, r->name, sizeof(r->name));
}

/* IMAP_APPEND (the folder name is read by get_folder(), below): u32
 * flags, u32 nkw, nkw x str keyword, u64 internal date */
static int get_folder(struct ipc_msg *m, struct store_req *r, int i, const char **why);

static int
decode_imap_append(struct ipc_msg *m, struct store_req *r, const char **why)
{
	size_t total = 0;

	if (get_folder(m, r, 0, why) == -1 || ipc_get_u32(m, &r->aflags) == -1 ||
	    ipc_get_u32(m, &r->nkw) == -1)
		return -1;
	if (r->aflags & ~(uint32_t)(VF_SEEN | VF_ANSWERED | VF_FLAGGED | VF_DELETED |
	    VF_DRAFT)) {
		*why = "APPEND flags not VF_* (or \\Recent)";
		return -1;
	}
	if (r->nkw > IMAP_FLAG_KEYWORDS_MAX_COUNT) {
		*why = "APPEND keyword count out of range";
		return -1;
	}
	/* the payload holds them all: at most its size in bytes */
	r->kwbuf = xmalloc(m->hdr.len + 1);
	r->kwlen = xcalloc(r->nkw + 1, sizeof(*r->kwlen));
	for (uint32_t i = 0; i < r->nkw; i++) {
		const void *p;
		size_t n;

		if (ipc_get_bytes(m, &p, &n) == -1)
			return -1;
		memcpy(r->kwbuf + total, p, n);
		r->kwlen[i] = (uint32_t)n;
		total += n;
	}
	if (ipc_get_u64(m, &r->adate) == -1)
		return -1;
	if (r->adate > IMAP_APPEND_DATE_MAX) {
		*why = "APPEND internal date after the year 9999";
		return -1;
	}
	return 0;
}

/* One folder name into r->folder[i]: any bytes (NUL included) up to the
 * ceiling; foldername.h judges them in the handler, with a status. */
static int
get_folder(struct ipc_msg *m, struct store_req *r, int i, const char **why)
{
	const void *p;
	size_t n;

	if (ipc_get_bytes(m, &p, &n) == -1)
		return -1;
	if (n > FOLDER_NAME_CEIL_BYTES) {
		*why = "folder name longer than the ceiling";
		return -1;
	}
	r->folder[i] = xmalloc(n + 1);
	memcpy(r->folder[i], p, n);
	r->folder[i][n] = '\0';
	r->folderlen[i] = (uint32_t)n;
	return 0;
}

/* CREATE, DELETE: str name */
static int
decode_folder(struct ipc_msg *m, struct store_req *r, const char **why)
{
	return get_folder(m, r, 0, why);
}

/* RENAME: str from, str to */
static int
decode_folder_rename(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (get_folder(m, r, 0, why) == -1 || get_folder(m, r, 1, why) == -1)
		return -1;
	return 0;
}

/* SUBSCRIBE: u32 on (0 or 1), str name */
static int
decode_folder_subscribe(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (ipc_get_u32(m, &r->on) == -1)
		return -1;
	if (r->on > 1) {
		*why = "SUBSCRIBE neither on nor off";
		return -1;
	}
	return get_folder(m, r, 0, why);
}

/* SELECT: u32 readonly (0 SELECT, 1 EXAMINE), str name */
static int
decode_select(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (ipc_get_u32(m, &r->on) == -1)
		return -1;
	if (r->on > 1) {
		*why = "SELECT neither read-write nor read-only";
		return -1;
	}
	return get_folder(m, r, 0, why);
}

/* FETCH: u32 what, u32 n (1..IMAP_FETCH_BATCH_MAX_COUNT), n x u32 uid,
 * strictly ascending (the handler checks each is in the view) */
static int
decode_fetch(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (ipc_get_u32(m, &r->what) == -1 || ipc_get_u32(m, &r->nuid) == -1)
		return -1;
	if (r->what != FETCH_WHOLE && r->what != FETCH_HEADER) {
		*why = "FETCH of an unknown part";
		return -1;
	}
	if (r->nuid == 0 || r->nuid > IMAP_FETCH_BATCH_MAX_COUNT) {
		*why = "FETCH count out of range";
		return -1;
	}
	r->uids = xcalloc(r->nuid, sizeof(*r->uids));
	for (uint32_t i = 0; i < r->nuid; i++) {
		if (ipc_get_u32(m, &r->uids[i]) == -1)
			return -1;
		if (r->uids[i] == 0 || (i > 0 && r->uids[i] <= r->uids[i - 1])) {
			*why = "FETCH UIDs not strictly ascending";
			return -1;
		}
	}
	return 0;
}

/* n x u32 uid, strictly ascending, each >= 1, into r->uids */
static int
get_uids(struct ipc_msg *m, struct store_req *r, const char **why)
{
	r->uids = xcalloc(r->nuid ? r->nuid : 1, sizeof(*r->uids));
	for (uint32_t i = 0; i < r->nuid; i++) {
		if (ipc_get_u32(m, &r->uids[i]) == -1)
			return -1;
		if (r->uids[i] == 0 || (i > 0 && r->uids[i] <= r->uids[i - 1])) {
			*why = "UIDs not strictly ascending";
			return -1;
		}
	}
	return 0;
}

/* STORE_FLAGS: u32 op, u32 flags, u32 nkw, nkw x str keyword, u32 n
 * (1..IMAP_FETCH_BATCH_MAX_COUNT), n x u32 uid */
static int
decode_store_flags(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (ipc_get_u32(m, &r->fop) == -1 || ipc_get_u32(m, &r->fflags) == -1 ||
	    ipc_get_u32(m, &r->nfkw) == -1)
		return -1;
	if (r->fop != FLAGS_SET && r->fop != FLAGS_ADD && r->fop != FLAGS_REMOVE) {
		*why = "STORE of an unknown operation";
		return -1;
	}
	if (r->fflags & ~(uint32_t)(VF_SEEN | VF_ANSWERED | VF_FLAGGED | VF_DELETED | VF_DRAFT)) {
		*why = "STORE of unknown flag bits";
		return -1;
	}
	if (r->nfkw > IMAP_FLAG_KEYWORDS_MAX_COUNT) {
		*why = "STORE of too many keywords";
		return -1;
	}
	r->fkw = xcalloc(r->nfkw ? r->nfkw : 1, sizeof(*r->fkw));
	for (uint32_t i = 0; i < r->nfkw; i++) {
		const void *p;
		size_t n;

		if (ipc_get_bytes(m, &p, &n) == -1)
			return -1;
		if (n == 0 || n > IMAP_KEYWORD_MAX_BYTES || memchr(p, '\0', n) != NULL) {
			*why = "STORE keyword empty, too long or with a NUL";
			return -1;
		}
		memcpy(r->fkw[i], p, n);
		r->fkw[i][n] = '\0';
	}
	if (ipc_get_u32(m, &r->nuid) == -1)
		return -1;
	if (r->nuid == 0 || r->nuid > IMAP_FETCH_BATCH_MAX_COUNT) {
		*why = "STORE count out of range";
		return -1;
	}
	return get_uids(m, r, why);
}

/* EXPUNGE: u32 n (0..IMAP_FETCH_BATCH_MAX_COUNT), n x u32 uid */
static int
decode_expunge(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (ipc_get_u32(m, &r->nuid) == -1)
		return -1;
	if (r->nuid > IMAP_FETCH_BATCH_MAX_COUNT) {
		*why = "EXPUNGE count out of range";
		return -1;
	}
	return get_uids(m, r, why);
}

/* COPY: u32 move (0 or 1), str target, u32 n (1..IMAP_FETCH_BATCH_MAX_COUNT),
 * n x u32 uid */
static int
decode_copy(struct ipc_msg *m, struct store_req *r, const char **why)
{
	if (ipc_get_u32(m, &r->on) == -1)
		return -1;
	if (r->on > 1) {
		*why = "COPY neither copy nor move";
		return -1;
	}
	if (get_folder(m, r, 0, why) == -1 || ipc_get_u32(m, &r->nuid) == -1)
		return -1;
	if (r->nuid == 0 || r->nuid > IMAP_FETCH_BATCH_MAX_COUNT) {
		*why = "COPY count out of range";
		return -1;
	}
	return get_uids(m, r, why);
}

/* ---- the table ---- */

static const struct dispatch_row table[] = {
	{ MSG_LOOKUP,  SMTP_K, CS_OPEN,  4 + 1, 4 + LIM_PATH, FD_FORBIDDEN, MSG_LOOKUP_R,
	  RUN_NOW, decode_lookup, handle_lookup },
	{ MSG_APPEND,  SMTP_K, CS_OPEN,  4 + 4 + 4 + 4 + 1, IPC_MAX_PAYLOAD, FD_REQUIRED,
	  MSG_APPEND_R, RUN_NOW, decode_append, batch_append },
	{ MSG_AUTH,    POP3_K, CS_OPEN,  4 + 4 + 4, 12 + LIM_POP3_CMDLINE + LIM_PASSWORD + LIM_ADDR,
	  FD_FORBIDDEN, MSG_AUTH_R, RUN_AFTER_COMMIT, decode_auth, handle_auth },
	{ MSG_RETR,    POP3_K, CS_BOUND, 12, 12, FD_FORBIDDEN, MSG_RETR_R,
	  RUN_AFTER_COMMIT, decode_retr, handle_retr },
	{ MSG_DELE,    POP3_K, CS_BOUND, 8, 4 + 4 * LIM_DELE_BATCH, FD_FORBIDDEN, MSG_DELE_R,
	  RUN_AFTER_COMMIT_READ_ON, decode_dele, handle_dele },
	{ MSG_SEEN,    POP3_K, CS_BOUND, 8, 4 + 4 * LIM_DELE_BATCH, FD_FORBIDDEN, MSG_SEEN_R,
	  RUN_AFTER_COMMIT_READ_ON, decode_dele, handle_seen },
	{ MSG_UNDO,    POP3_K, CS_BOUND, 0, 0, FD_FORBIDDEN, MSG_UNDO_R,
	  RUN_AFTER_COMMIT, NULL, handle_undo },
	{ MSG_COMMIT,  POP3_K, CS_BOUND, 0, 0, FD_FORBIDDEN, MSG_COMMIT_R,
	  RUN_AFTER_COMMIT, NULL, handle_commit },
	{ MSG_RELEASE, POP3_K, CS_BOUND, 0, 0, FD_FORBIDDEN, MSG_RELEASE_R,
	  RUN_AFTER_COMMIT, NULL, handle_release },
	{ MSG_IMAP_AUTH, IMAP_K, CS_OPEN, 4 + 4 + 4,
	  12 + LIM_POP3_CMDLINE + LIM_PASSWORD + LIM_ADDR, FD_FORBIDDEN, MSG_IMAP_AUTH_R,
	  RUN_AFTER_COMMIT, decode_auth, handle_imap_auth },
	{ MSG_FOLDER_LIST, IMAP_K, IMAP_S, 0, 0, FD_FORBIDDEN, MSG_FOLDER_LIST_R,
	  RUN_AFTER_COMMIT, NULL, handle_folder_list },
	{ MSG_FOLDER_CREATE, IMAP_K, IMAP_S, 4, FNAME_MAX, FD_FORBIDDEN, MSG_FOLDER_CREATE_R,
	  RUN_AFTER_COMMIT, decode_folder, handle_folder_create },
	{ MSG_FOLDER_DELETE, IMAP_K, IMAP_S, 4, FNAME_MAX, FD_FORBIDDEN, MSG_FOLDER_DELETE_R,
	  RUN_AFTER_COMMIT, decode_folder, handle_folder_delete },
	{ MSG_FOLDER_RENAME, IMAP_K, IMAP_S, 4 + 4, 2 * FNAME_MAX, FD_FORBIDDEN,
	  MSG_FOLDER_RENAME_R, RUN_AFTER_COMMIT, decode_folder_rename, handle_folder_rename },
	{ MSG_FOLDER_SUBSCRIBE, IMAP_K, IMAP_S, 4 + 4, 4 + FNAME_MAX, FD_FORBIDDEN,
	  MSG_FOLDER_SUBSCRIBE_R, RUN_AFTER_COMMIT, decode_folder_subscribe,
	  handle_folder_subscribe },
	{ MSG_SELECT, IMAP_K, IMAP_S, 4 + 4, 4 + FNAME_MAX, FD_FORBIDDEN, MSG_SELECT_R,
	  RUN_AFTER_COMMIT, decode_select, handle_select },
	{ MSG_FETCH, IMAP_K, CS_SELECTED, 4 + 4 + 4, 4 + 4 + 4 * IMAP_FETCH_BATCH_MAX_COUNT,
	  FD_FORBIDDEN, MSG_FETCH_R, RUN_AFTER_COMMIT, decode_fetch, handle_fetch },
	{ MSG_VIEW_SYNC, IMAP_K, CS_SELECTED, 0, 0, FD_FORBIDDEN, MSG_VIEW_SYNC_R,
	  RUN_AFTER_COMMIT, NULL, handle_view_sync },
	{ MSG_UNSELECT, IMAP_K, CS_SELECTED, 0, 0, FD_FORBIDDEN, MSG_UNSELECT_R,
	  RUN_AFTER_COMMIT, NULL, handle_unselect },
	{ MSG_STORE_FLAGS, IMAP_K, CS_SELECTED, 4 * 5,
	  4 * 3 + IMAP_FLAG_KEYWORDS_MAX_COUNT * (4 + IMAP_KEYWORD_MAX_BYTES) + 4 +
	  4 * IMAP_FETCH_BATCH_MAX_COUNT, FD_FORBIDDEN, MSG_STORE_FLAGS_R,
	  RUN_AFTER_COMMIT, decode_store_flags, handle_store_flags },
	{ MSG_EXPUNGE, IMAP_K, CS_SELECTED, 4, 4 + 4 * IMAP_FETCH_BATCH_MAX_COUNT,
	  FD_FORBIDDEN, MSG_EXPUNGE_R, RUN_AFTER_COMMIT, decode_expunge, handle_expunge },
	{ MSG_COPY, IMAP_K, CS_SELECTED, 4 + 4 + 4 + 4,
	  4 + FNAME_MAX + 4 + 4 * IMAP_FETCH_BATCH_MAX_COUNT, FD_FORBIDDEN, MSG_COPY_R,
	  RUN_AFTER_COMMIT, decode_copy, handle_copy },
	{ MSG_FOLDER_STATUS, IMAP_K, IMAP_S, 4, FNAME_MAX, FD_FORBIDDEN,
	  MSG_FOLDER_STATUS_R, RUN_AFTER_COMMIT, decode_folder, handle_folder_status },
	{ MSG_MBOX_STAT, CONTROL_K, CS_OPEN, 4 + 1, 4 + LIM_NAME, FD_FORBIDDEN, MSG_MBOX_STAT_R,
	  RUN_AFTER_COMMIT, decode_mbox_stat, handle_mbox_stat },
	/* with a view too (the selected state, when there is one) */
	{ MSG_IMAP_APPEND, IMAP_K, IMAP_S, 4 + 4 + 4 + 8, IPC_MAX_PAYLOAD, FD_REQUIRED,
	  MSG_IMAP_APPEND_R, RUN_AFTER_COMMIT, decode_imap_append, handle_imap_append },
};

const struct dispatch_row *
dispatch_row(uint32_t type)
{
	const struct dispatch_row *row = NULL;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].type == type)
			row = &table[i];
	return row;
}

const struct dispatch_row *
dispatch_check(const struct ipc_msg *m, unsigned kind, unsigned state,
    const char **why)
{
	const struct dispatch_row *row = dispatch_row(m->hdr.type);

	if (row == NULL) {
		*why = "request type not allowed on a store channel";
		return NULL;
	}
	if (kind >= 32 || !(row->kinds & KIND_BIT(kind))) {
		*why = "request not allowed on this kind of channel";
		return NULL;
	}
	if (!(row->states & state)) {
		*why = state == CS_OPEN ? "request before authentication" :
		    "request not allowed in this state";
		return NULL;
	}
	if (m->hdr.len < row->minlen || m->hdr.len > row->maxlen) {
		*why = "payload size out of range";
		return NULL;
	}
	if ((row->fd == FD_REQUIRED) != (m->fd >= 0)) {
		*why = row->fd == FD_REQUIRED ? "descriptor missing" :
		    "unexpected descriptor";
		return NULL;
	}
	return row;
}

void
req_free(struct store_req *r)
{
	free(r->kwbuf);
	r->kwbuf = NULL;
	free(r->kwlen);
	r->kwlen = NULL;
	free(r->acc);
	r->acc = NULL;
	free(r->dele);
	r->dele = NULL;
	free(r->uids);
	r->uids = NULL;
	free(r->fkw);
	r->fkw = NULL;
	for (int i = 0; i < 2; i++) {
		free(r->folder[i]);
		r->folder[i] = NULL;
	}
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	explicit_bzero(r->password, sizeof(r->password));
}

int
req_decode(struct ipc_msg *m, struct store_req *r, const char **why)
{
	const struct dispatch_row *row = dispatch_row(m->hdr.type);

	memset(r, 0, sizeof(*r));
	r->type = m->hdr.type;
	r->id = m->hdr.id;
	r->fd = m->fd;
	m->fd = -1;
	m->pos = 0;
	*why = "malformed request";
	if (row == NULL) {
		*why = "unknown request";
		return -1;
	}
	if (row->decode != NULL && row->decode(m, r, why) == -1)
		return -1;
	if (ipc_end(m) == -1) {
		*why = "trailing bytes after the request";
		return -1;
	}
	return 0;
}
