/*
 * Mailbox files: safe open, locking, append with truncate-back, torn-tail
 * repair, the sidecar index, reading a message, the COMMIT rewrite, and
 * IMAP UIDs for the messages that lack one (mb_assign_uids(), by the same
 * crash-safe rewrite).  An entry's identity (what a COMMIT deletes by and
 * RETR checks) is its UIDL and head hash (store/mbox.h), which no rewrite
 * of its X-Postern line changes.
 * Every path is relative to the spool directory descriptor (openat), and
 * every name has passed mailbox_name_ok() first.  No IPC: a function that
 * fails for a reason takes a last const char **why (may be NULL) and sets
 * *why on failure only, to a static buffer of mailbox.c that stays valid
 * until the next mb_* call (the convention of privsep/util.h); the caller
 * logs it.
 */
#ifndef POSTERN_MAILBOX_H
#define POSTERN_MAILBOX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../privsep/params.h"
#include "mbox.h"

#define MB_ERRSZ 256                  /* the longest reason, NUL included */

struct xp_kw;

/*
 * A rewrite's fold (store/flagstate.c): the flag journal's changes go
 * into the X-Postern lines of the messages the rewrite keeps.  has(arg,
 * imapuid): does the journal change that message?  apply(arg, imapuid,
 * *flags, kw, *nkw): its flags and keywords (in: the line's, out: the
 * folded ones; kw has room for FOLDER_KEYWORDS_MAX_COUNT, its names must
 * stay valid until the next call).  hidden(arg, imapuid): was that
 * message expunged (flagjournal.h FJ_EXPUNGED)?  A rewrite with a fold
 * drops it, as if it were one of the deleted.
 */
struct mb_fold {
	int (*has)(void *arg, uint32_t imapuid);
	int (*hidden)(void *arg, uint32_t imapuid);
	void (*apply)(void *arg, uint32_t imapuid, uint32_t *flags, struct xp_kw *kw,
	    size_t *nkw);
	void *arg;
};

struct mailbox {
	int dirfd;
	int fd;                       /* -1: not open */
	char name[72];
	int created;                  /* made by this open: fsync the directory */
	int fcntl_locked, dotlocked;
	uint64_t size;                /* current size, tracked across appends */
	uint64_t our_end;             /* size after our last append (ends in LF) */
	dev_t dev;                    /* the file opened (mb_open) */
	ino_t ino;
	const struct mb_fold *fold;   /* set by the caller before a rewrite,
	                               * NULL (mb_init): lines kept as they are */
};

/* name_ok() and not ending in ".lock" (the dotlock of another name). */
int mailbox_name_ok(const char *name);

/* The uid a mailbox must belong to (default: geteuid() at each open;
 * the store sets it before its seccomp filter is installed). */
void mb_set_owner(uid_t uid);

void mb_init(struct mailbox *mb, int dirfd, const char *name);

/*
 * Opens NAME (O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC; created 0600 with O_EXCL
 * when create is set and it is missing) and checks it is a regular file
 * with one link owned by our euid.  0 ok, 1 missing (create not set),
 * -1 refused or failed (*why says why).
 */
int mb_open(struct mailbox *mb, int create, const char **why);
void mb_close(struct mailbox *mb);   /* also unlocks */

/*
 * For a descriptor kept open between uses: does NAME still name the file
 * mb has open, as mb_open() would accept it (regular, one link, ours)?
 * Called with the locks held, so the answer holds until they are
 * released.  1 yes, 0 no (*why says why).
 */
int mb_still_named(struct mailbox *mb, const char **why);

/* fcntl write lock (retried up to timeout_ms, never blocking) and the
 * dotlock NAME.lock (stale after MB_DOTLOCK_STALE_S).  0 / -1 (*why). */
int mb_lock(struct mailbox *mb, int timeout_ms, const char **why);
void mb_unlock(struct mailbox *mb);

/*
 * Brings the message list up to date with the file: the index if valid,
 * else the index plus a parse of the tail, else a full parse.  When repair
 * is set a torn tail is cut away (ftruncate; *repaired gets the number of
 * bytes cut) and the index is rewritten.  -1 on error (*why).
 */
int mb_scan(struct mailbox *mb, struct mbox_list *l, int repair,
    uint64_t *repaired, const char **why);

/*
 * Appends rec[0..n) at the end.  On any error the file is truncated back
 * and -1 returned with errno (ENOSPC/EDQUOT kept).  No fsync here.
 */
int mb_append(struct mailbox *mb, const void *rec, size_t n);
int mb_truncate(struct mailbox *mb, uint64_t size);
int mb_fsync(struct mailbox *mb);     /* the file, and the dir if created */

/* Reads the messages ents[0..n) (in file order; each whole, or header +
 * lines body lines) unquoted, one after the other, into one malloc'ed
 * buffer; lens[i] is the length of the i-th.  0 / -1. */
int mb_read_msgs(int fd, const struct mbox_ent *const *ents, size_t n,
    uint32_t lines, unsigned char **out, size_t *outlen, uint64_t *lens);

/* The header and the blank line after it of ents[0..n) (in file order),
 * as mb_read_msgs() gives them with lines 0 (TOP 0), reading only each
 * message's first bytes (HEADER_READ_FIRST_BYTES, doubled until the blank
 * line is in them) and the bytes after its end, each checked as
 * mb_read_msgs() does; stops before a message that would take the output
 * past budget bytes (never before the first).  *done gets the number
 * read.  0 / -1 (errno: EIO, ESTALE as mb_read_msgs()). */
int mb_read_headers(int fd, const struct mbox_ent *const *ents, size_t n, size_t budget,
    unsigned char **out, size_t *outlen, uint64_t *lens, size_t *done);

/*
 * The COMMIT rewrite: with both locks held, rescans the file, writes every
 * message that is not one of del[0..ndel) (entries of the session's
 * snapshot: the same UID and the same first bytes; del is sorted here) to
 * .NAME.tmp (adding or fixing the X-Postern line of a message whose UID is
 * not in it), fsyncs, exchanges it with NAME, fsyncs the directory (undone
 * when that fails) and writes the index.  *deleted gets the count removed.
 * With mb->fold set, the messages it says are hidden go too (not counted
 * in *deleted), and a rewrite happens when any does.
 * mb stays open on the new file.  0 / -1 (*why; the old file kept).
 */
int mb_rewrite(struct mailbox *mb, struct mbox_ent *del, size_t ndel,
    uint32_t *deleted, const char **why);

/* mb_rewrite() deleting nothing, but rewriting whenever mb->fold is set:
 * the flag journal folded into the lines, the hidden messages dropped. */
int mb_compact(struct mailbox *mb, const char **why);

/*
 * IMAP UIDs for a mailbox that lacks some (written by another tool, or by
 * postern before IMAP, or delivered before its account had a folder
 * table).  With both locks held (and the mailbox's cache entry dropped
 * first, mbc_forget(), as for a COMMIT), rescans the file.  If the
 * messages that have an IMAP UID are a strictly ascending prefix and the
 * rest have none, gives the rest UIDs from max(floor, last + 1) up in file
 * order.  If not (UIDs repeated or out of order: another tool edited the
 * file), or if they would not fit below 2^32, every message is numbered
 * from start (0: 1) and *renumbered set: renumber(arg, why), when not
 * NULL, is called first, with the file still untouched, to save the
 * folder's new UIDVALIDITY (a failure there writes nothing); the caller
 * logs that UIDs were lost.  The UIDs are written by one crash-safe
 * rewrite (the path of mb_rewrite()) that keeps every UIDL (a derived one
 * written into its line) and drops the messages mb->fold says are hidden;
 * it keeps every UIDL (a derived one
 * written into its line) and every existing IMAP UID, flag and keyword;
 * when nothing lacks a UID nothing is written.  *uidnext gets the
 * folder's UIDNEXT as the file has it: one past the last UID, at least
 * floor (UINT32_MAX when no UID is left).  mb stays open on the new file.
 * 0 / -1 (*why; the old file kept whole).
 */
int mb_assign_uids(struct mailbox *mb, uint32_t floor, uint32_t start,
    int (*renumber)(void *arg, const char **why), void *arg,
    uint32_t *uidnext, int *renumbered, const char **why);

/* The index, exposed for tests.  A cache, so no reason to give: load
 * always returns 0 (*valid: 0 unusable, 1 a valid prefix, 2 current),
 * write returns -1 when it could not (the old index, if any, kept). */
int mb_index_load(struct mailbox *mb, const struct stat *st,
    struct mbox_list *l, int *valid);
int mb_index_write(struct mailbox *mb, const struct mbox_list *l);

#endif
