/*
 * The store's inside, as a stack.  Each file calls only files below it:
 *
 *   1. the loop          store.c     poll, read a request from each channel,
 *                                    look its row up and call its handler,
 *                                    the master's control channel, start-up
 *                        dispatch.c  the request table: kinds, states, sizes,
 *                                    fd rule, when to run, decoder, handler
 *   2. the handlers      store_smtp.c  LOOKUP, APPEND (group commit)
 *                        store_pop3.c  AUTH, RETR, DELE, UNDO, COMMIT, RELEASE
 *                        store_imap.c  IMAP_AUTH, FOLDER_LIST, _CREATE,
 *                                      _DELETE, _RENAME, _SUBSCRIBE: the
 *                                      account's folder area and table
 *                        store_view.c  SELECT, FETCH, VIEW_SYNC, UNSELECT,
 *                                      FOLDER_STATUS: a channel's view of
 *                                      one folder (the file it was made
 *                                      from kept open), through the table
 *                                      store_imap.c loads and saves
 *                        store_flags.c STORE_FLAGS (through flagstate.c)
 *                        store_expunge.c  EXPUNGE, COPY (and MOVE): the
 *                                      rewrites and copies of a view's
 *                                      messages (store_view.c's folder
 *                                      and view helpers below them)
 *                        store_append.c  IMAP_APPEND into any folder of
 *                                      the account (INBOX through the
 *                                      mailbox cache's UID state; its own
 *                                      fsync, after the group commit)
 *                        store_ctl.c   MBOX_STAT
 *                        store_login.c the login steps store_pop3.c and
 *                                      store_imap.c share (throttle, auth
 *                                      round trip, verdict, login-delay):
 *                                      below those two, called by them
 *   3. the services      authcli.c   the auth process's client: a verdict
 *                                    comes back through the callback given
 *                                    to authcli_submit(), not by name
 *                        throttle.c  login throttle tables
 *                        accounts.c  the accounts and aliases tables
 *                        mbcache.c   the mailbox layer: open + lock + verify
 *                                    (repair once since start), the cache of
 *                                    open mailboxes and the pass's fsyncs,
 *                                    the INBOX UID state deliveries use
 *                        flagstate.c the folders' flag journals, open, with
 *                                    each UID's net change: read by the
 *                                    views, appended by STORE, folded by
 *                                    every rewrite (struct mb_fold)
 *                        chan.c      the channels: the process state S and
 *                                    the two primitives a handler answers
 *                                    with, chan_send() and chan_drop(); and
 *                                    chan_changed(), the unasked
 *                                    MSG_CHANGED to a folder's views
 *                                    (coalesced, owed on a full socket)
 *   4. the files         mailbox.c   open, lock, scan, index, append, rewrite
 *                        foldertab.c an account's folder table: load, edit,
 *                                    save atomically (foldername.c: the
 *                                    names it takes)
 *                        flagjournal.c  a folder's flag journal: append,
 *                                    replay, reset after a fold
 *   5. the format        mbox.c      mboxrd records, From_ lines, UIDs
 *                        xpostern.c  the X-Postern line: UIDL, length, and
 *                                    the IMAP UID, flags and keywords
 *
 * A handler answers through chan_send()/chan_drop() of chan.c, which sit
 * below it: nothing in the loop is called back by name.  S (chan.c) is the
 * process state the loop fills and the handlers read.  The auth process
 * (another process, same library) is its own small stack: authd.c (its
 * loop) -> auth.c (the check) -> accounts.c -> pwcost.c.
 */
#ifndef POSTERN_STORE_INT_H
#define POSTERN_STORE_INT_H

#include <sys/types.h>
#include <stdint.h>

#include "../privsep/conf.h"
#include "../privsep/ipc.h"
#include "../privsep/msg.h"
#include "accounts.h"
#include "authcli.h"
#include "dispatch.h"
#include "mailbox.h"

struct chan {
	int fd;
	unsigned kind;               /* enum chan_kind, as the master said */
	pid_t pid;                   /* the worker, for logs */
	unsigned state;              /* enum chan_state (dispatch.h) */
	int dead;                    /* dropped: closed at the end of the pass */
	/* POP3 when bound, IMAP when logged in (CS_IMAP) */
	char account[LIM_NAME + 1];
	char addr[LIM_ADDR + 1];     /* IMAP: the client's, as the worker said */
	/* POP3, when bound */
	int mfd;                     /* the mailbox, for RETR (-1: none) */
	struct mbox_list snap;
	unsigned char *marks;
	uint64_t octets;
	/* IMAP, when selected (CS_SELECTED): the view (store_view.c) of
	 * folder view_fid (file id, 0 INBOX) of account; changed_told: a
	 * MSG_CHANGED went (or is owed) since the last VIEW_SYNC;
	 * changed_owed: it could not be sent yet (the socket was full):
	 * the loop sends it when the socket is writable */
	struct view *view;
	uint32_t view_fid;
	int changed_told, changed_owed;
};

struct store {
	struct conf conf;
	int spool;                   /* the spool directory */
	struct acctab tab;
	int have_tab;
	struct chan **ch;
	size_t nch;
	int shutdown;
};

/* ---- chan.c ---- */
extern struct store S;

const char *chan_kind_name(unsigned kind);
void chan_drop(struct chan *c, const char *why);
/* Sends an answer; a channel that cannot take it is dropped. */
void chan_send(struct chan *c, struct ipc_msg *m);
/* The answer "u32 status, str text" of request type - 1 (IMAP's _R). */
void chan_reply_text(struct chan *c, uint32_t type, uint32_t id, uint32_t st,
    const char *text);

/* A growing buffer for a memfd answer's records (host order, as ipc). */
struct obuf {
	unsigned char *p;
	size_t n, cap;
};
void ob_put(struct obuf *b, const void *p, size_t n);
void ob_u32(struct obuf *b, uint32_t v);
void ob_u64(struct obuf *b, uint64_t v);
void ob_str(struct obuf *b, const char *s);     /* u32 length, the bytes */
/* The folder fid (0 INBOX) of account changed (mail delivered, a
 * rewrite): every IMAP channel with a view of it, except except, that
 * was not told since its last VIEW_SYNC gets one MSG_CHANGED (id 0).
 * Never blocks and never drops a channel for a full socket: the notice
 * is then owed (changed_owed) and chan_changed_retry() sends it when the
 * loop sees the socket writable. */
void chan_changed(const char *account, uint32_t fid, const struct chan *except);
void chan_changed_retry(struct chan *c);

/* ---- mbcache.c: the mailbox layer ---- */
/* The spool directory every name is relative to. */
void mbc_init(int spool);
int mailbox_verified(const char *name);
void mailbox_set_verified(const char *name, int yes);
/* Opens (creating when asked), locks and, on the first open since start,
 * repairs a mailbox.  0 / 1 missing / -1 (logged). */
int mailbox_open_locked(struct mailbox *mb, const char *name, int create,
    struct mbox_list *l);
/* One pass of APPENDs: mbc_pass_begin(); mbc_touch() for each mailbox
 * written (open, both locks held, from the cache when it can); then
 * mbc_pass_fsync(), and mbc_pass_end() once the answers are out. */
void mbc_pass_begin(void);
/* The open, locked mailbox for name in this pass: an index for mbc_mb()
 * (stable for the pass), or -1 (logged). */
ssize_t mbc_touch(const char *name);
struct mailbox *mbc_mb(size_t i);
/* Fsyncs each mailbox written in the pass once; when one fails, truncates
 * every one back to its size before the pass.  0, or -1: nothing of the
 * pass is durable. */
int mbc_pass_fsync(void);
/* The mailboxes of this pass, mbc_mb(0..count): did i get mail in it
 * (its size grew, written without failure)? */
size_t mbc_pass_count(void);
int mbc_pass_grew(size_t i);
/* Unlocks what stays cached (closes everything after a failed pass). */
void mbc_pass_end(int failed);
/* Closes the idle cached descriptor of a mailbox, if any: before a COMMIT
 * locks and renames it.  Never inside the APPEND part of a pass. */
void mbc_forget(const char *name);
/*
 * IMAP UIDs at delivery.  When a mailbox enters the cache (and when its
 * file changed behind the cache) the cache learns its INBOX UID state
 * once: the account has a folder table (FOLDER_AREA/NAME/folders) and
 * every message has an IMAP UID, strictly ascending in file order ("UID-
 * complete").  mbc_uid_next() is then the UID for the next delivery to
 * mailbox i of this pass, max(the table's INBOX UIDNEXT, the last UID in
 * the file + 1, any UID this process gave it before), else 0: write none.
 * mbc_appended() after each record appended to it (uid the IMAP UID
 * written, or 0).  A UID once given is never given again by this process,
 * even when its record was truncated away (a gap, never a reuse).
 */
#define FOLDER_AREA ".folders"
uint32_t mbc_uid_next(size_t i);
void mbc_appended(size_t i, uint32_t uid);
/* The IMAP side calls this after it changed the account's folder table
 * (made it, raised INBOX's UIDNEXT, gave INBOX a new UIDVALIDITY): the
 * cache learns the state again at the next delivery.  (A rewrite of the
 * mbox itself goes through mbc_forget() first, as a COMMIT does.) */
void mbc_uidstate_forget(const char *name);
/* Before messages leave an INBOX (a POP3 COMMIT, an IMAP EXPUNGE): raises
 * INBOX's UIDNEXT in the account's folder table to at least uidnext (one
 * past the highest UID removed), durably, so that no UID is given again
 * once the message that had it is gone, even after a restart.  No table:
 * nothing to do.  0, or -1 with *why (then remove nothing). */
int mbc_inbox_floor_raise(const char *name, uint32_t uidnext, const char **why);

/* ---- flagstate.c: the folders' flag journals ---- */
/*
 * The flag state of folder fid (0 INBOX) of account under uidvalidity:
 * its journal (f%08x.flags, inbox.flags in the folder area) opened, made
 * when missing, replayed (emptied when of another UIDVALIDITY), kept open
 * with the net change of each UID.  NULL (logged unless the account has
 * no folder area): flags are the lines' alone.  fst_get_table() reads the
 * UIDVALIDITY from the account's folder table (POP3 COMMIT).
 */
struct fst;
struct fj_change;
struct xp_kw;
struct fst *fst_get(const char *account, uint32_t fid, uint32_t uidvalidity);
struct fst *fst_get_table(const char *account, uint32_t fid);
/* Does the journal change uid?  Its flags (MF_*) and keywords in/out
 * (kw NULL: flags only; room for FOLDER_KEYWORDS_MAX_COUNT). */
int fst_has(const struct fst *fs, uint32_t uid);
void fst_apply(const struct fst *fs, uint32_t uid, uint32_t *flags, struct xp_kw *kw,
    size_t *nkw);
/* Was uid expunged (FJ_EXPUNGED: hidden until the next rewrite drops
 * it)?  How many UIDs are?  fst_filter_hidden() takes the hidden messages
 * out of l (in place, order kept): how many went, *bytes (may be NULL)
 * their record bytes.  All take fs NULL. */
int fst_hidden(const struct fst *fs, uint32_t uid);
size_t fst_nhidden(const struct fst *fs);
size_t fst_filter_hidden(const struct fst *fs, struct mbox_list *l, uint64_t *bytes);
/* The fold a rewrite of the folder takes (mb->fold; NULL: nothing to
 * fold), and after the rewrite is durable, the reset (uidvalidity the
 * folder's now, 0: the same).  Both take fs NULL. */
const struct mb_fold *fst_fold(struct fst *fs);
void fst_folded(struct fst *fs, uint32_t uidvalidity);
/* Closes the folder's journal (a deleted folder). */
void fst_forget(const char *account, uint32_t fid);
/* The index of a keyword in the journal's table, made when make is set
 * (-1 with *why: not a keyword, the folder's limit); -1 when absent. */
int fst_keyword(struct fst *fs, const char *s, size_t n, int make, const char **why);
const char *fst_keyword_name(const struct fst *fs, uint32_t ix, size_t *n);
uint32_t fst_keywords(const struct fst *fs);
/* pop3-sets-seen: INBOX message uid (its line's flags mflags) was read
 * by a POP3 RETR: \Seen from now on, in the journal without an fsync of
 * its own (the IMAP views get MSG_CHANGED). */
void fst_pop3_seen(const char *account, uint32_t uid, uint32_t mflags);
/* Appends the changes ch[0..n) in one write and fsyncs: durable when 0;
 * -1 with *why (nothing applied). */
int fst_write(struct fst *fs, const struct fj_change *ch, size_t n, const char **why);

/* ---- store_login.c: the login steps POP3 and IMAP share ---- */
struct login_proto {
	const char *proto;       /* "pop3", "imap": for the log */
	/* A right password for an account the store knows: the protocol's
	 * part (lock, snapshot, folder table); the enum auth_status to
	 * answer, and *fd a descriptor the answer carries (or left -1) */
	uint32_t (*bind)(struct chan *c, const char *account, const char *addr,
	    uint64_t now, int *fd);
	/* The answer (fd -1: none), whatever the status */
	void (*reply)(struct chan *c, uint32_t reqid, uint32_t st, uint32_t delay, int fd);
};
/* The request r of channel c: throttle, then the check goes to the auth
 * process and c waits in CS_AUTHING until done() calls login_finish(). */
void login_begin(struct chan *c, const struct store_req *r, const struct login_proto *p,
    authcli_done *done);
/* The verdict: the delay, the log, p->bind() on a right password, the
 * answer. */
void login_finish(struct authwait *w, enum auth_verdict v, const struct login_proto *p);
/* login-delay (POP3): too soon since this account's last login? */
int login_too_soon(const char *name, uint64_t now);
void login_record(const char *name, uint64_t now);

/* ---- the handlers: the rows of dispatch.c ---- */
/* store_smtp.c */
void handle_lookup(struct chan *c, struct store_req *r);
void batch_begin(void);
void batch_append(struct chan *c, struct store_req *r);   /* MSG_APPEND */
void batch_finish(void);
/* The memfd of an APPEND (also IMAP's): sealed, a regular file, at
 * most max-message-size + slack; read or mapped into *p, *n bytes.  0,
 * 1 with *st (too big: STORE_BADMSG; unreadable: STORE_TEMPFAIL), -1
 * with c dropped.  unmap_message() lets it go. */
int map_message(struct chan *c, struct store_req *r, const unsigned char **p,
    size_t *n, uint32_t *st);
void unmap_message(const unsigned char *p, size_t n);
/* store_pop3.c */
void handle_auth(struct chan *c, struct store_req *r);
void handle_retr(struct chan *c, struct store_req *r);
void handle_dele(struct chan *c, struct store_req *r);
void handle_seen(struct chan *c, struct store_req *r);
void handle_undo(struct chan *c, struct store_req *r);
void handle_commit(struct chan *c, struct store_req *r);
void handle_release(struct chan *c, struct store_req *r);
/* Lets go of a POP3 channel's mailbox and snapshot (also when it closes). */
void chan_unbind(struct chan *c);
/* store_imap.c */
void handle_imap_auth(struct chan *c, struct store_req *r);
void handle_folder_list(struct chan *c, struct store_req *r);
void handle_folder_create(struct chan *c, struct store_req *r);
void handle_folder_delete(struct chan *c, struct store_req *r);
void handle_folder_rename(struct chan *c, struct store_req *r);
void handle_folder_subscribe(struct chan *c, struct store_req *r);
/* store_imap.c: the account's folder area and table, for store_view.c:
 * a directory descriptor or -1; load 0 / 1 new / -1; save 0 / -1 (each
 * logged) */
int imap_area_open(const char *account);
struct foldertab;
int imap_table_load(const char *account, int dirfd, struct foldertab *t);
int imap_table_save(const char *account, int dirfd, const struct foldertab *t);
/* store_view.c */
void handle_select(struct chan *c, struct store_req *r);
void handle_fetch(struct chan *c, struct store_req *r);
void handle_view_sync(struct chan *c, struct store_req *r);
void handle_unselect(struct chan *c, struct store_req *r);
void handle_folder_status(struct chan *c, struct store_req *r);
/* Drops the channel's view, if any (UNSELECT, a new SELECT, the channel
 * closing): back to CS_IMAP.  Never with a mailbox lock held (closing
 * the view's descriptor would drop the process's fcntl lock on it). */
void view_drop(struct chan *c);
/* store_view.c, for store_flags.c and store_expunge.c: the folder of a
 * file id (0 INBOX) in a table, or NULL; a folder's file opened, locked
 * and scanned (0, 1 missing, -1 logged); a view's parts */
struct foldertab;
struct folder *folder_by_id(const struct foldertab *t, uint32_t fid);
int folder_open(const char *account, int areafd, uint32_t fid, struct mailbox *mb,
    struct mbox_list *l);
/* The folder brought up to date (UIDs for the messages lacking one, the
 * table's UIDNEXT saved): *mb open (fd -1: no file) and unlocked, *l its
 * messages.  0 / -1 logged. */
int folder_state(struct chan *c, int areafd, struct foldertab *t, uint32_t fid,
    struct mailbox *mb, struct mbox_list *l, int *renumbered);
ssize_t view_find(const struct view *v, uint32_t uid);
int view_readonly(const struct view *v);
uint32_t view_uidvalidity(const struct view *v);
size_t view_count(const struct view *v);
const struct mbox_ent *view_ent(const struct view *v, size_t i);
int view_fd(const struct view *v);
/* message i: its flags (MF_* and VF_RECENT), keywords as names (out has
 * room for FOLDER_KEYWORDS_MAX_COUNT; valid until the view changes) or
 * as indexes of the view's list */
uint32_t view_flags(const struct view *v, size_t i);
size_t view_msg_kw(const struct view *v, size_t i, struct xp_kw *out);
const uint32_t *view_msg_kwidx(const struct view *v, size_t i, uint32_t *k);
size_t view_nkw(const struct view *v);
const char *view_kw(const struct view *v, size_t k);
/* This channel changed message i's flags: the view has them (its
 * keyword list may grow) */
void view_set_flags(struct view *v, size_t i, uint32_t flags, const struct xp_kw *kw,
    size_t nkw);
/* uids[0..n) (ascending) were expunged by this channel */
void view_remove(struct view *v, const uint32_t *uids, size_t n);
/* store_flags.c */
void handle_store_flags(struct chan *c, struct store_req *r);
/* store_expunge.c */
void handle_expunge(struct chan *c, struct store_req *r);
void handle_copy(struct chan *c, struct store_req *r);
/* The messages of c's view among uids[0..n) (n 0: all) that are \Deleted
 * (any, when !only_deleted) leave its folder by a crash-safe rewrite:
 * *out (malloc'ed, ascending) the UIDs removed.  STORE_OK or a status,
 * *text the reason. */
uint32_t expunge_uids(struct chan *c, const uint32_t *uids, size_t n, int only_deleted,
    uint32_t **out, size_t *nout, const char **text);
/* store_ctl.c */
void handle_mbox_stat(struct chan *c, struct store_req *r);

/* store_append.c */
void handle_imap_append(struct chan *c, struct store_req *r);
/*
 * Makes folder fid (0 INBOX) of account UID-complete: mb is open with
 * both locks held and l its messages as scanned (for INBOX, the mailbox
 * cache's entry was dropped first: mbc_forget(), no lock held then).
 * When a message lacks a UID, mb_assign_uids() gives them from the
 * table's UIDNEXT; when the UIDs are out of order every message is
 * renumbered after the folder's new UIDVALIDITY is saved in t (areafd
 * the account's folder directory), and *renumbered is set.  l is then
 * rescanned.  0, or -1 logged (the file kept whole).
 */
int folder_uids_complete(const char *account, int areafd, struct foldertab *t,
    uint32_t fid, struct mailbox *mb, struct mbox_list *l, int *renumbered);

#endif
