/*
 * The worker side of the store channel: one typed function per request
 * (OpenSSH monitor_wrap.c's mm_* wrappers).  Each builds its request,
 * waits for the answer and decodes it completely (type, id, every field,
 * no trailing bytes, a descriptor only where the message has one) before
 * it hands back C values: the session code never touches the wire format.
 *
 * Every function returns 0 with the answer decoded, or
 *   SC_UNAVAILABLE  the store is gone, silent, or answered out of turn;
 *                   the channel is dead for the rest of this worker's life
 *                   (the master recycles it), or
 *   SC_MALFORMED    the answer came but broke its definition (logged).
 * Either way the caller answers the client with a temporary error.
 */
#ifndef POSTERN_STORECLI_H
#define POSTERN_STORECLI_H

#include <stdbool.h>
#include <stdint.h>

#include "../privsep/ipc.h"
#include "../privsep/params.h"
#include "worker.h"

#define SC_UNAVAILABLE  (-1)
#define SC_MALFORMED    (-2)

/* Has the store channel failed? */
int store_dead(void);

/* Wipes the last request and answer: nothing of a session stays in the
 * worker's memory for the next. */
void sc_forget(void);

/* ---- SMTP ---- */

/*
 * MSG_LOOKUP of a local part.  Returns the enum lookup_status, with the
 * *n (1..LIM_ALIAS_EXPANSION) account names, each name_ok(), in
 * accounts[] when LOOKUP_OK; or SC_UNAVAILABLE, SC_MALFORMED.
 */
int sc_lookup(struct session *s, const char *local,
    char accounts[LIM_ALIAS_EXPANSION][LIM_NAME + 1], uint32_t *n);

/*
 * The size of a MSG_APPEND's payload: the part for the session id and the
 * sender, plus one part per account.  A transaction whose accounts would
 * take it over SC_APPEND_MAX cannot be sent.
 */
#define SC_APPEND_MAX   IPC_MAX_PAYLOAD
size_t sc_append_base_len(const char *sessid, const char *sender);
size_t sc_append_account_len(const char *account);

/*
 * MSG_APPEND of the sealed memfd fd (still the caller's) for the n
 * accounts.  0 with *status (enum store_status) and the store's text for
 * the log in text[textsz].
 */
int sc_append(struct session *s, int fd, const char *sessid,
    const char *sender, const char (*accounts)[LIM_NAME + 1], uint32_t n,
    uint32_t *status, char *text, size_t textsz);

/* ---- POP3 ---- */

/* One message of the snapshot a POP3 login takes. */
struct sc_listent {
	uint64_t octets;           /* on the wire, CRLF and dot-stuffed */
	bool deleted;              /* the session's own mark: false as listed */
	char uid[LIM_UID + 1];     /* printable ASCII, 1..LIM_UID */
};

struct sc_auth {
	uint32_t status;           /* enum auth_status */
	uint32_t delay_ms;         /* to wait before answering, any status */
	/* AUTH_OK: the store holds the maildrop for this channel */
	char account[LIM_NAME + 1];
	uint32_t count;
	uint64_t octets;
	struct sc_listent *list;   /* count entries (malloc'd, the caller's) */
};

/*
 * MSG_AUTH for user and pass; wipes pass and every copy of it.  0 with *a
 * filled.  SC_MALFORMED with a->status AUTH_OK means the store bound the
 * maildrop but its answer or listing was bad: the caller must release.
 */
int sc_auth(struct session *s, const char *user, char *pass,
    struct sc_auth *a);

/* The messages of one MSG_RETR_R, one after the other in a sealed memfd. */
struct sc_batch {
	int fd;                            /* -1: none */
	uint32_t n;
	uint32_t no[1 + LIM_RETR_AHEAD];   /* no[0] is the one asked for */
	uint64_t off[1 + LIM_RETR_AHEAD], len[1 + LIM_RETR_AHEAD];
};

/*
 * MSG_RETR of msgno (lines: LIM_ALL_LINES, or TOP's count) with up to
 * ahead of the following messages of the count in the snapshot.  0 with
 * *status; when STORE_OK, *b holds the messages (b->fd the caller's).
 */
int sc_retr(struct session *s, uint32_t msgno, uint32_t lines,
    uint32_t ahead, uint32_t count, uint32_t *status, struct sc_batch *b);

/*
 * Marks msgno for deletion without a round trip: the marks are queued and
 * go, as one MSG_DELE, just before the next request (or when
 * LIM_DELE_BATCH are queued); the store's answers are checked before that
 * request's.  A refused or lost mark kills the channel.  0 / SC_UNAVAILABLE.
 */
int sc_dele(struct session *s, uint32_t msgno);
/* Queues a message the session sent from its read-ahead (pop3-sets-seen:
 * the store marks it \Seen), sent like the DELE marks.  0 / SC_UNAVAILABLE. */
int sc_seen(struct session *s, uint32_t msgno);

/* MSG_UNDO (RSET), MSG_RELEASE, MSG_COMMIT: 0 with *status. */
int sc_undo(struct session *s, uint32_t *status);
int sc_release(struct session *s, uint32_t *status);
int sc_commit(struct session *s, uint32_t *status, uint32_t *ndeleted);

/* ---- IMAP ---- */

/*
 * MSG_IMAP_AUTH for user and pass; wipes pass and every copy of it.  0
 * with *status (enum auth_status), *delay_ms and, when AUTH_OK, the
 * store's account name in account[LIM_NAME + 1].
 */
int sc_imap_auth(struct session *s, const char *user, char *pass,
    uint32_t *status, uint32_t *delay_ms, char account[LIM_NAME + 1]);

/* One folder of MSG_FOLDER_LIST_R. */
struct sc_folder {
	uint32_t attrs;            /* enum folder_attr bits */
	uint32_t use;              /* FU_* special use */
	char *name;                /* UTF-8, NUL-free, in names[] */
};

struct sc_folders {
	uint32_t n;
	struct sc_folder *v;       /* malloc'd */
	char *names;               /* malloc'd, every name NUL-terminated */
};

/*
 * MSG_FOLDER_LIST.  0 with *status (enum store_status), the store's text
 * in text[textsz] and, when STORE_OK, the folders in *f (free with
 * sc_folders_free()).
 */
int sc_folder_list(struct session *s, uint32_t *status, char *text, size_t textsz,
    struct sc_folders *f);
void sc_folders_free(struct sc_folders *f);

/*
 * MSG_FOLDER_CREATE, _DELETE, _SUBSCRIBE (on 1) / unsubscribe (on 0) of
 * name, and _RENAME of name to name2: type is the request.  0 with *status
 * and the store's text (the reason of a refusal).
 */
int sc_folder_op(struct session *s, uint32_t type, const char *name,
    const char *name2, uint32_t on, uint32_t *status, char *text, size_t textsz);

/* ---- IMAP views (the selected folder) ---- */

/* The most messages and bytes a SELECT / VIEW_SYNC answer may describe. */
#define SC_VIEW_MAX_COUNT  (4u * 1024u * 1024u)
#define SC_VIEW_MAX_BYTES  ((size_t)1 << 30)

/* One message of a view: UID order is sequence order. */
struct sc_vmsg {
	uint32_t uid;
	uint32_t flags;            /* MF_* of store/xpostern.h, VF_RECENT */
	uint64_t size;             /* RFC822.SIZE */
	uint64_t date;             /* internal date, Unix seconds (0: unknown) */
	uint32_t kwoff, nkw;       /* its keywords: kwidx[kwoff..kwoff+nkw) */
};

struct sc_view {
	uint32_t uidvalidity, uidnext;
	uint32_t n;
	struct sc_vmsg *m;
	uint32_t nkw;              /* the folder's keywords */
	char **kw;                 /* kw[i] in kwtext */
	char *kwtext;
	uint32_t *kwidx;           /* keyword indexes of every message */
	uint32_t nkwidx;
};

/* A flag change another session made (VIEW_SYNC). */
struct sc_flagchange {
	uint32_t uid, flags;
	uint32_t kwoff, nkw;       /* in the view's kwidx[] */
};

struct sc_sync {
	uint32_t nexp;
	uint32_t *exp;             /* UIDs expunged, ascending */
	uint32_t first_new;        /* the new messages are v->m[first_new..v->n) */
	uint32_t nflag;
	struct sc_flagchange *flag;
};

/* The messages of one MSG_FETCH_R, one after the other in a sealed memfd:
 * the i-th is the i-th UID asked. */
struct sc_fetched {
	int fd;                    /* -1: none */
	uint32_t n;
	uint64_t off[IMAP_FETCH_BATCH_MAX_COUNT], len[IMAP_FETCH_BATCH_MAX_COUNT];
};

/*
 * MSG_SELECT (readonly: EXAMINE) of the folder name (UTF-8).  0 with
 * *status, the store's text, and when STORE_OK the view in *v (free with
 * sc_view_free()).  The view replaces any earlier one of this channel.
 */
int sc_select(struct session *s, int readonly, const char *name, uint32_t *status,
    char *text, size_t textsz, struct sc_view *v);
void sc_view_free(struct sc_view *v);

/*
 * MSG_FETCH of uids[0..n) (in the view, ascending, 1..IMAP_FETCH_BATCH_MAX
 * _COUNT), what an enum fetch_what.  0 with *status and, when STORE_OK, the
 * first f->n of them in *f (the caller closes f->fd).
 */
int sc_fetch(struct session *s, uint32_t what, const uint32_t *uids, uint32_t n,
    uint32_t *status, char *text, size_t textsz, struct sc_fetched *f);

/*
 * MSG_VIEW_SYNC: what changed since the view was told.  0 with *status
 * and, when STORE_OK, the changes in *y (free with sc_sync_free()); the
 * new messages and keywords are already appended to *v, the expunged ones
 * are still in it (the caller removes them as it tells the client).
 */
int sc_view_sync(struct session *s, uint32_t *status, char *text, size_t textsz,
    struct sc_view *v, struct sc_sync *y);
void sc_sync_free(struct sc_sync *y);

/* MSG_UNSELECT. */
int sc_unselect(struct session *s, uint32_t *status);

/*
 * MSG_IMAP_APPEND of the sealed memfd fd (still the caller's) to folder
 * (UTF-8) with flags (VF_*), keywords kw[0..nkw) and the internal date
 * (0: now).  0 with *status, the store's text and, when STORE_OK, the
 * message's UIDVALIDITY and UID.
 */
int sc_imap_append(struct session *s, int fd, const char *folder, uint32_t flags,
    const char *const *kw, uint32_t nkw, uint64_t date, uint32_t *status, char *text,
    size_t textsz, uint32_t *uidvalidity, uint32_t *uid);

/*
 * MSG_STORE_FLAGS: op (enum flags_op) of flags (VF_*) and keywords kw on
 * uids[0..n) of the view (ascending, 1..IMAP_FETCH_BATCH_MAX_COUNT).  0
 * with *status and, when STORE_OK, *m changes in a new *out (free it):
 * the flags each message has now; new keywords are added to v's list.
 */
int sc_store_flags(struct session *s, uint32_t op, uint32_t flags, const char *const *kw,
    uint32_t nkw, const uint32_t *uids, uint32_t n, uint32_t *status, char *text,
    size_t textsz, struct sc_view *v, struct sc_flagchange **out, uint32_t *m);

/* MSG_EXPUNGE of the \Deleted messages among uids[0..n) (n 0: all of
 * them): *m UIDs expunged, ascending, in a new *out (free it). */
int sc_expunge(struct session *s, const uint32_t *uids, uint32_t n, uint32_t *status,
    char *text, size_t textsz, uint32_t **out, uint32_t *m);

/* MSG_COPY (move 1: MOVE) of uids[0..n) to target (UTF-8): the target's
 * UIDVALIDITY and *m (source, target) UID pairs in a new *pairs. */
int sc_copy(struct session *s, int move, const char *target, const uint32_t *uids,
    uint32_t n, uint32_t *status, char *text, size_t textsz, uint32_t *uidvalidity,
    uint32_t **pairs, uint32_t *m);

/* MSG_FOLDER_STATUS of name (UTF-8). */
struct sc_status {
	uint32_t messages, uidnext, uidvalidity, unseen, recent;
	uint64_t size;
};
int sc_folder_status(struct session *s, const char *name, uint32_t *status, char *text,
    size_t textsz, struct sc_status *st);

/* Has an unasked MSG_CHANGED come since the last SELECT / VIEW_SYNC?
 * Reads what the store sent meanwhile without waiting. */
int sc_changed(struct session *s);

#endif
