/*
 * Every message type postern's processes exchange, one definition each,
 * shared by sender and receiver.  The payload layout of each type is given
 * beside it; u32/u64 are host-order integers, str is a u32 length followed
 * by that many bytes without NUL (ipc_put_str / ipc_get_str).
 *
 * Channels (fixed descriptor numbers are in proc.h):
 *   control  master <-> every child       (FD_CONTROL in the child)
 *   store    worker  <-> store            (FD_STORE in a worker; the store
 *                                          receives its end via MSG_CHANNEL)
 *   key      worker  <-> keyholder        (FD_KEYHOLDER in a worker)
 *   store    control <-> store            (FD_STORE in the control process,
 *                                          kind CHAN_CONTROL)
 *   auth     store   <-> auth process     (both ends handed over by the
 *                                          master in MSG_AUTH_CHANNEL)
 */
#ifndef POSTERN_MSG_H
#define POSTERN_MSG_H

#include <stdint.h>
#include "ipc.h"
#include "params.h"

enum msg_type {
	MSG_NONE = 0,

	/* ---- control channel ---- */
	MSG_CONF = 1,     /* master->child: raw struct conf (conf.h), fd: none */
	MSG_READY,        /* child->master: jailed and serving. empty */
	MSG_LOG,          /* child->master: u32 priority (LOG_*), str line */
	MSG_STATUS,       /* worker->master: u32 busy (0 idle, 1 busy), u32 sessions;
			     fd = the client socket just accepted when busy,
			     none when idle (the master reads the address) */
	MSG_SHUTDOWN,     /* master->child: u32 grace_ms. Finish the session in
			     progress within grace_ms, then exit */
	MSG_CHANNEL,      /* master->store: fd = store end of a worker channel;
			     u32 kind (enum chan_kind), u32 worker pid */
	MSG_ACCOUNTS,     /* master->store: fd = accounts file opened O_RDONLY;
			     u32 has_aliases. When has_aliases is 1 an
			     MSG_ALIASES follows at once */
	MSG_ALIASES,      /* master->store: fd = aliases file opened O_RDONLY */
	MSG_ACCOUNTS_R,   /* store->master: u32 ok (1/0), str error ("" if ok) */
	MSG_ADMIT,        /* master->worker, the answer to MSG_STATUS busy:
			     u32 enum admit_verdict for that client */

	/* ---- control channel: events, and the control process ---- */
	MSG_EVENT = 60,   /* worker->master: u32 enum ev_kind, u32 reason (enum
			     ev_refusal for EV_REFUSED, enum ev_tempfail for
			     EV_TEMPFAIL, else 0), u32 count (recipients for
			     EV_DELIVERED, else 1), str account (EV_LOGIN_OK,
			     else ""): counted by the master (privsep/event.h) */
	MSG_CTL_QUERY,    /* control->master: empty: asks for the state */
	MSG_CTL_STATE,    /* master->control, same id: the state snapshot,
			     layout in master/ctl_state.h */
	MSG_CTL_RELOAD,   /* control->master: u32 uid of the posternctl user */
	MSG_CTL_STOP,     /* control->master: u32 uid of the posternctl user */
	MSG_CTL_DONE,     /* master->control, same id: u32 ok, str text */

	/* ---- control channel: the auth process ---- */
	MSG_AUTH_CHANNEL = 80, /* master->store and master->auth: fd = this
			     side's end of a fresh store<->auth channel (it
			     replaces any previous one). empty.  The auth
			     process also takes MSG_CONF, MSG_ACCOUNTS (never
			     with aliases), MSG_SHUTDOWN, and answers
			     MSG_ACCOUNTS_R and MSG_READY like the store */

	/* ---- store channel: SMTP side ---- */
	MSG_LOOKUP = 100, /* str local part (as the client wrote it, unquoted) */
	MSG_LOOKUP_R,     /* u32 enum lookup_status, u32 n, n x str account */
	MSG_APPEND,       /* fd = sealed memfd with the message (CRLF lines,
			     dot-unstuffed, Received: already prepended);
			     str session id, str sender ("" for <>),
			     u32 n, n x str account (1 <= n <= LIM_APPEND_ACCOUNTS) */
	MSG_APPEND_R,     /* u32 enum store_status, str text for the log */

	/* ---- store channel: POP3 side ---- */
	MSG_AUTH = 120,   /* str name, str password, str client address */
	MSG_AUTH_R,       /* u32 enum auth_status, u32 delay_ms (the worker waits
			     this long before answering the client, whatever the
			     status), then when AUTH_OK: str account, u32 count,
			     u64 octets, fd = memfd of the listing:
			     count x (u64 wire octets, str uid) */
	MSG_RETR,         /* u32 msgno (1-based, within the snapshot),
			     u32 body lines (LIM_ALL_LINES = whole message: RETR;
			     otherwise TOP n lines), u32 ahead (0..LIM_RETR_AHEAD,
			     0 with TOP): how many of the following messages the
			     worker would also like (read-ahead) */
	MSG_RETR_R,       /* u32 enum store_status; when STORE_OK: u32 n
			     (1..1 + ahead), n x (u32 msgno, u64 length), fd =
			     sealed memfd with the n messages one after the other,
			     LF line ends, unquoted, without postern's internal
			     header.  The first is msgno; the others follow it in
			     order, skipping those marked deleted, and add at most
			     LIM_RETR_AHEAD_BYTES */
	MSG_DELE,         /* u32 n (1..LIM_DELE_BATCH), n x u32 msgno: mark for
			     deletion at COMMIT; all or none */
	MSG_DELE_R,       /* u32 enum store_status (STORE_NOSUCH: one was marked
			     already, none marked by this request) */
	MSG_UNDO,         /* empty: unmark everything (POP3 RSET) */
	MSG_UNDO_R,       /* u32 enum store_status */
	MSG_COMMIT,       /* empty: the UPDATE state; expunge marked, release */
	MSG_COMMIT_R,     /* u32 enum store_status, u32 messages deleted */
	MSG_RELEASE,      /* empty: session over without QUIT; nothing deleted */
	MSG_RELEASE_R,    /* u32 enum store_status */
	MSG_SEEN,         /* u32 n (1..LIM_DELE_BATCH), n x u32 msgno: messages
			     the worker sent to the client from its read-ahead
			     (pop3-sets-seen: the store marks what it is asked
			     for by MSG_RETR itself); pipelined as MSG_DELE */
	MSG_SEEN_R,       /* u32 enum store_status (STORE_OK) */

	/* ---- store channel: IMAP side (CHAN_IMAP) ----
	 * Folder names are UTF-8 as foldername.h takes them (the worker decodes
	 * modified UTF-7 first); the store maps them to files through the
	 * account's folder table (store/foldertab.h) and refuses, with text,
	 * any it cannot take.  A name is a str of 0..FOLDER_NAME_CEIL_BYTES
	 * bytes (any bytes: NUL and invalid UTF-8 are refused with a status,
	 * not as malformed); a longer one is a malformed request and drops
	 * the channel (the worker refuses such a name itself).  Every _R
	 * starts with u32 enum store_status and str text: "" when STORE_OK,
	 * else the reason for the client's NO (printable ASCII, without the
	 * name: "Folder does not exist"). */
	MSG_IMAP_AUTH = 140, /* str name, str password, str client address: the
			     same check, delays and throttle as MSG_AUTH, but
			     nothing is locked (IMAP sessions share mailboxes)
			     and login-delay is POP3's only */
	MSG_IMAP_AUTH_R,  /* u32 enum auth_status (AUTH_OK, AUTH_BAD or
			     AUTH_TEMP: never AUTH_INUSE nor AUTH_LOGIN_DELAY),
			     u32 delay_ms (as MSG_AUTH_R), then when AUTH_OK:
			     str account.  The first login of an account makes
			     its folder table and the configured special-use
			     folders; a damaged table is AUTH_TEMP */
	MSG_FOLDER_LIST,  /* empty: the account's folder table */
	MSG_FOLDER_LIST_R, /* u32 status, str text; when STORE_OK: u32 n, fd =
			     sealed memfd: n x (u32 attrs (enum folder_attr
			     bits), u32 use (enum folder_use bits), str
			     name), in the table's order (parents first) */
	MSG_FOLDER_CREATE, /* str name */
	MSG_FOLDER_CREATE_R, /* u32 status, str text */
	MSG_FOLDER_DELETE, /* str name (never INBOX) */
	MSG_FOLDER_DELETE_R, /* u32 status, str text */
	MSG_FOLDER_RENAME, /* str from, str to (from INBOX: its mail moves to a
			     new folder `to`, INBOX stays, empty) */
	MSG_FOLDER_RENAME_R, /* u32 status, str text */
	MSG_FOLDER_SUBSCRIBE, /* u32 on (1 SUBSCRIBE, 0 UNSUBSCRIBE), str name */
	MSG_FOLDER_SUBSCRIBE_R, /* u32 status, str text */

	/* ---- store channel: control side (posternctl mailbox NAME) ---- */
	MSG_MBOX_STAT = 160, /* str mailbox name (mailbox_name_ok) */
	MSG_MBOX_STAT_R,     /* u32 enum store_status (STORE_NOSUCH: no such
				account); when STORE_OK: u64 messages, u64 bytes
				(the mbox file), str last delivery (the date of
				the last message's From_ line, "" = none), u32
				enum mbox_index_state */

	/* ---- auth channel (store <-> auth process) ---- */
	MSG_AUTH_CHECK = 170, /* store->auth: str name (lower case; "" for a
			     name that cannot be an account: the same crypt
			     work as an unknown one), str password.  The
			     header's id is the store's, echoed back */
	MSG_AUTH_CHECK_R, /* auth->store: u32 1 the password matches the
			     account's hash, 0 it does not (or no account) */

	/* ---- keyholder: control channel from the master ---- */
	MSG_TLS_CERT = 190, /* master->keyholder: fd = tls-cert file (O_RDONLY);
			       u32 index (0 = the default certificate) */
	MSG_TLS_KEY,        /* master->keyholder: fd = tls-key file; u32 index.
			       Follows its MSG_TLS_CERT */
	MSG_TLS_DONE,       /* master->keyholder: every file sent; load them */
	MSG_TLS_R,          /* keyholder->master: u32 ok, str error ("" if ok) */

	/* ---- keyholder channel (worker <-> keyholder) ---- */
	MSG_SIGN = 200,   /* u32 key index (< the n of MSG_CERTS_R),
			     u32 enum sign_op, u32 enum sign_md (the digest
			     algorithm), bytes digest (exactly that
			     algorithm's length).  The keyholder does the
			     padding itself: there is no raw RSA operation
			     and no decryption */
	MSG_SIGN_R,       /* u32 enum store_status (STORE_OK, or STORE_TEMPFAIL
			     when the operation failed), bytes output (the
			     signature, DER for ECDSA; empty unless STORE_OK) */
	MSG_CERTS,        /* worker->keyholder: u32 slot: ask for one
			     certificate chain (0 = the default; the answer
			     says how many there are) */
	MSG_CERTS_R,      /* u32 n (slots), u32 slot, str sni name ("" for
			     slot 0), bytes PEM chain, leaf first,
			     certificates only */

	/* ---- store channel: IMAP views (the selected folder) ----
	 * A view is what a channel was told of its selected folder: its
	 * messages by UID, in file order.  The store keeps, per channel, the
	 * file the view was made from open: a message the channel can still
	 * name stays readable by it (MSG_FETCH) until MSG_VIEW_SYNC tells it
	 * the message was expunged, even after another session's rewrite.
	 *
	 * A message record (SELECT, SYNC) is: u32 uid, u32 flags (MF_* of
	 * store/xpostern.h, plus VF_RECENT), u64 size (RFC822.SIZE: the
	 * message with CRLF line ends), u64 internal date (Unix seconds, from
	 * the From_ line), u32 k, k x u32 keyword index (into the keyword
	 * list sent with it). */
	MSG_SELECT = 220,  /* u32 readonly (EXAMINE), str name: the channel's
			     view of that folder (any previous view dropped,
			     also when the SELECT fails: STORE_NOSUCH for a
			     missing name, STORE_CANNOT for a \Noselect or
			     invalid one, STORE_TEMPFAIL) */
	MSG_SELECT_R,      /* u32 status, str text; when STORE_OK: u32
			     uidvalidity, u32 uidnext, u32 n messages, u32
			     nkw keywords, fd = sealed memfd: nkw x str keyword
			     (the folder's keywords, in index order), then n
			     message records in UID order */
	MSG_FETCH,         /* u32 what (enum fetch_what), u32 n
			     (1..IMAP_FETCH_BATCH_MAX_COUNT), n x u32 uid, each
			     in the view, strictly ascending */
	MSG_FETCH_R,       /* u32 status, str text; when STORE_OK: u32 m
			     (1..n: the first m uids asked; the store stops
			     after IMAP_FETCH_BATCH_MAX_BYTES, at least one),
			     (the budget counts the message bytes read for
			     FETCH_WHOLE, the header bytes sent for
			     FETCH_HEADER),
			     m x (u32 uid, u64 length), fd = sealed memfd with
			     the m messages (or headers) one after the other,
			     LF line ends, unquoted, without postern's internal
			     lines (as MSG_RETR_R) */
	MSG_VIEW_SYNC,     /* empty: what changed since the view was last
			     told (NOOP, IDLE, after a command) */
	MSG_VIEW_SYNC_R,   /* u32 status, str text; when STORE_OK: u32 uidnext,
			     u32 nexp, u32 nnew, u32 nflag, u32 nkw, fd =
			     sealed memfd (none when all four are 0): nkw x str
			     keyword (the folder's list, when it grew; else 0),
			     nexp x u32 uid expunged (ascending), nnew message
			     records (new messages, ascending UIDs above every
			     one the view had), nflag x (u32 uid, u32 flags, u32
			     k, k x u32 keyword index): flags changed by
			     another session.  The view is then up to date.
			     STORE_NOSUCH (text says why): the folder was
			     deleted or its UIDVALIDITY changed; the view is
			     dropped (the channel is back to no view) */
	MSG_UNSELECT,      /* empty: drop the view (CLOSE, UNSELECT) */
	MSG_UNSELECT_R,    /* u32 status */
	MSG_IMAP_APPEND,   /* fd = sealed memfd with the message as the client
			     sent it (CRLF lines; 1..max-message-size bytes);
			     str folder, u32 flags (VF_* without VF_RECENT),
			     u32 nkw (0..IMAP_FLAG_KEYWORDS_MAX_COUNT), nkw x str
			     keyword, u64 internal date (Unix seconds, 0 =
			     now).  Answered once durable */
	MSG_IMAP_APPEND_R, /* u32 status (STORE_NOSUCH: no such folder, the
			     client may CREATE it: [TRYCREATE]; STORE_CANNOT:
			     a name that cannot be a folder; STORE_QUOTA;
			     STORE_NOSPACE; STORE_LIMIT: the folder would
			     have too many keywords, or no UID is left;
			     STORE_BADMSG: the message cannot be stored (a
			     NUL, empty, too big, an invalid keyword);
			     STORE_TEMPFAIL), str text; when STORE_OK: u32
			     uidvalidity, u32 uid (RFC 4315 APPENDUID) */
	MSG_STORE_FLAGS,   /* u32 op (enum flags_op), u32 flags (VF_* without
			     VF_RECENT), u32 nkw (0..IMAP_FLAG_KEYWORDS_MAX_COUNT),
			     nkw x str keyword, u32 n (1..IMAP_FETCH_BATCH_MAX
			     _COUNT), n x u32 uid (in the view, ascending).
			     Refused on a read-only view */
	MSG_STORE_FLAGS_R, /* u32 status, str text; when STORE_OK: u32 nkw (the
			     folder's keyword list when it grew, else 0), u32
			     m, fd = sealed memfd (none when both are 0): nkw x
			     str keyword, m x (u32 uid, u32 flags, u32 k, k x u32
			     keyword index): the flags each message named has
			     now.  Durable as the flag journal is (DESIGN.md) */
	MSG_EXPUNGE,       /* u32 n (0..IMAP_FETCH_BATCH_MAX_COUNT), n x u32
			     uid: the \Deleted messages of the view among
			     those (n = 0: every one) go, as crash-safe as POP3
			     UPDATE.  Refused on a read-only view */
	MSG_EXPUNGE_R,     /* u32 status, str text; when STORE_OK: u32 m, fd =
			     sealed memfd (none when m is 0): m x u32 uid
			     expunged, ascending; the view no longer has them */
	MSG_COPY,          /* u32 move (0 COPY, 1 MOVE), str target folder, u32 n
			     (1..IMAP_FETCH_BATCH_MAX_COUNT), n x u32 uid (in
			     the view, ascending).  MOVE: the source messages
			     go from the source after the copies are durable
			     (a crash leaves a message in the source, the target
			     or both, never neither) */
	MSG_COPY_R,        /* u32 status (STORE_NOSUCH: no such target,
			     [TRYCREATE]), str text; when STORE_OK: u32
			     uidvalidity (the target's), u32 m, fd = sealed
			     memfd: m x (u32 source uid, u32 target uid) (RFC
			     4315 COPYUID); for MOVE the view no longer has the
			     source ones */
	MSG_FOLDER_STATUS, /* str name: STATUS (RFC 3501 6.3.10), no view made */
	MSG_FOLDER_STATUS_R, /* u32 status, str text; when STORE_OK: u32
			     messages, u32 uidnext, u32 uidvalidity, u32
			     unseen, u32 recent, u64 size (the sum of the
			     messages' RFC822.SIZE, RFC 8438) */
	MSG_CHANGED = 250, /* store->worker, unasked, id 0, empty: the selected
			     folder changed (new mail, flags or expunges by
			     another session), coalesced: one until the channel
			     next sends MSG_VIEW_SYNC.  The only message the
			     store sends without a request; the worker reads it
			     wherever it waits for an answer.  Never blocks the
			     store: on a full socket it is sent when there is
			     room, never dropped and never twice */

	MSG_TYPE_MAX
};

enum admit_verdict {
	ADMIT_OK = 0,
	ADMIT_PER_IP = 1,     /* max-sessions-per-ip reached */
	ADMIT_RATE = 2,       /* max-conn-per-ip-per-minute reached */
	ADMIT_FULL = 3,       /* every worker of the pool is busy */
};

/* MSG_SIGN operations: a signature of a digest, padded by the keyholder.
 * Values 1 and 2 were raw RSA private-key operations (encryption without
 * padding, PKCS#1 decryption); they are retired and refused. */
enum sign_op {
	SIGN_ECDSA = 3,          /* ECDSA over the digest; DER signature back */
	SIGN_RSA_PKCS1 = 4,      /* RSASSA-PKCS1-v1_5 (the keyholder builds the
				    DigestInfo) */
	SIGN_RSA_PSS = 5,        /* RSASSA-PSS, MGF1 with the same digest, salt
				    as long as the digest (RFC 8446 4.2.3) */
};

/* MSG_SIGN digest algorithms: the digests TLS 1.2 and 1.3 sign. */
enum sign_md {
	SIGN_MD_SHA1 = 1,        /* TLS 1.2 at @SECLEVEL=0 only */
	SIGN_MD_SHA224 = 2,
	SIGN_MD_SHA256 = 3,
	SIGN_MD_SHA384 = 4,
	SIGN_MD_SHA512 = 5,
};

enum chan_kind {
	CHAN_SMTP = 1,
	CHAN_POP3 = 2,
	CHAN_CONTROL = 3,     /* the control process: mailbox statistics only */
	CHAN_IMAP = 4,        /* an IMAP worker: login, folders, views, flags */
};

/* MSG_STORE_FLAGS: how the flags given change the message's */
enum flags_op {
	FLAGS_SET = 1,            /* FLAGS */
	FLAGS_ADD = 2,            /* +FLAGS */
	FLAGS_REMOVE = 3,         /* -FLAGS */
};

/* MSG_FETCH: what of each message */
enum fetch_what {
	FETCH_WHOLE = 1,          /* the whole message */
	FETCH_HEADER = 2,         /* the header and the blank line after it */
};

/* MSG_SELECT_R / MSG_VIEW_SYNC_R message flags: the bits of MF_* in
 * store/xpostern.h (the store checks they agree), and VF_RECENT: the
 * session is the one that sees this message as new (RFC 3501 \Recent) */
#define VF_SEEN      0x01u
#define VF_ANSWERED  0x02u
#define VF_FLAGGED   0x04u
#define VF_DELETED   0x08u
#define VF_DRAFT     0x10u
#define VF_RECENT    0x100u

/* MSG_FOLDER_LIST_R attributes of one folder (RFC 3501 7.2.2, RFC 3348) */
enum folder_attr {
	FA_NOSELECT = 0x1,        /* a name kept for its sub-folders or its
				     subscription: no messages */
	FA_SUBSCRIBED = 0x2,
	FA_HASCHILDREN = 0x4,     /* else \HasNoChildren */
};

/* MSG_FOLDER_LIST_R special uses of a folder (RFC 6154), bits; also the
 * store's in-memory folder table (store/foldertab.h) and the config's
 * imap-special-use (struct conf) */
enum folder_use {
	FU_SENT = 0x01,
	FU_DRAFTS = 0x02,
	FU_TRASH = 0x04,
	FU_JUNK = 0x08,
	FU_ARCHIVE = 0x10,
	FU_ALL = 0x1f,
};

/* MSG_MBOX_STAT_R: the sidecar index against its mbox. */
enum mbox_index_state {
	MBX_INDEX_NONE = 0,      /* no usable index (none yet, or another file's) */
	MBX_INDEX_CURRENT = 1,   /* the index describes the mbox as it is */
	MBX_INDEX_STALE = 2,     /* mail arrived since: the rest is scanned */
};

enum lookup_status {
	LOOKUP_OK = 0,        /* accounts follow */
	LOOKUP_UNKNOWN = 1,   /* no such account or alias */
	LOOKUP_TEMPFAIL = 2,  /* try again later */
};

enum store_status {
	STORE_OK = 0,
	STORE_TEMPFAIL = 1,   /* 451 4.3.0 / -ERR [SYS/TEMP] */
	STORE_NOSPACE = 2,    /* 452 4.3.1: disk full */
	STORE_QUOTA = 3,      /* 552 5.2.2: account over quota */
	STORE_BADMSG = 4,     /* the request was refused */
	STORE_NOSUCH = 5,     /* no such account / message / folder
				 (IMAP: [NONEXISTENT]) */
	STORE_EXISTS = 6,     /* IMAP: the folder exists ([ALREADYEXISTS]) */
	STORE_LIMIT = 7,      /* IMAP: a configured limit (folders per account,
				 name length, depth) refuses it ([LIMIT]) */
	STORE_CANNOT = 8,     /* IMAP: never possible ([CANNOT], e.g. DELETE
				 INBOX, a name that cannot be a folder) */
};

enum auth_status {
	AUTH_OK = 0,
	AUTH_BAD = 1,         /* -ERR [AUTH] */
	AUTH_INUSE = 2,       /* -ERR [IN-USE] */
	AUTH_TEMP = 3,        /* -ERR [SYS/TEMP] */
	AUTH_LOGIN_DELAY = 4, /* -ERR [LOGIN-DELAY]: logged in less than
				 login-delay seconds ago (RFC 2449 8.1.1) */
	AUTH_TOO_MANY = 5,    /* IMAP: the account has max-sessions-per-user
				 sessions from this address already */
};

/* Printable name of a message type, for logs ("MSG_APPEND"). */
const char *msg_name(uint32_t type);

#endif
