/*
 * The per-account folder table (issue 13; DESIGN.md "Folders, UIDs and
 * flags"): which folders an account has, the file that holds each, its
 * UIDVALIDITY and UIDNEXT, whether it is subscribed, its special use
 * (RFC 6154).  Parse, serialize and edit in memory; load and save with
 * an atomic rewrite.  The store's IMAP handlers (store_imap.c) call it.
 *
 * The file, "folders" in the account's folder directory, is text, one
 * entry a line, sorted by comparison key (foldername_key()):
 *
 *	postern-folders 1
 *	next 7 1764900007
 *	f 5 1764900005 1 s archive Archive
 *	f 2 1764900002 1 s drafts Drafts
 *	f 0 1764900000 58 s - INBOX
 *	f 4 1764900004 1 s junk Junk
 *	f 1 1764900001 1 s sent Sent
 *	f 3 1764900003 1 s trash Trash
 *	f 0 0 0 n - Work
 *	f 6 1764900006 1 - - Work/2026
 *	end 8 1868b5e916b8a852
 *
 * "next ID UIDVALIDITY": the next file id and the next UIDVALIDITY to
 * give (both only ever grow).  "f ID UIDVALIDITY UIDNEXT FLAGS USE NAME":
 * ID the file id (file name foldertab_file_name(ID)); 0 for INBOX, which
 * is the account's mbox in the spool, and for a name with no folder;
 * FLAGS "-" or letters in this order: "n" no folder here (a \Noselect
 * parent kept for its sub-folders, or a deleted folder's name kept for
 * its subscription, RFC 3501 6.3.4 and 6.3.6), "s" subscribed; USE "-" or
 * a comma list in the order sent,drafts,trash,junk,archive; NAME the
 * canonical name to the end of the line.  "end COUNT SUM": COUNT entry
 * lines, SUM 16 lowercase hex digits of the 64-bit FNV-1a hash of every
 * byte before the "end" line (it finds every torn file and every changed
 * byte, as each step of FNV-1a is a bijection of its state; it guards
 * against accidents, not an attacker: only the store writes the file).
 *
 * The parser is strict: exactly this form (decimal without leading zeros,
 * one space between fields, LF line ends, the last line ended), so that
 * serializing a parsed table gives back the same bytes; a torn or
 * damaged file fails the sum or the form and is an error with a reason,
 * never reset (a reset would change UIDVALIDITY while the UIDs are not
 * lost).  It checks what the rest of the store relies on: INBOX present,
 * names valid and canonical within the ceilings (FOLDER_*_CEIL_*, not the
 * configured limits: lowering a limit never makes a table unreadable),
 * keys strictly ascending (so no two names are one folder), every
 * parent present and spelled as its entry, file ids and UIDVALIDITYs
 * unique and below "next", no entry with neither folder, subscription
 * nor sub-folder.
 *
 * UIDVALIDITY: a new folder gets max(next, now) (now in seconds), so a
 * table made afresh after the old one was removed does not give again a
 * value an old client remembers.  A renamed folder keeps its UIDVALIDITY
 * and its file: every value is given once per account, so the name it
 * moves to never had it.
 *
 * Hierarchy: CREATE and RENAME make the missing parents of a name as
 * "n" entries (\Noselect); DELETE of a folder with sub-folders keeps its
 * name as such an entry (RFC 3501 6.3.4), and a "n" entry that has
 * neither a sub-folder nor a subscription left is removed.
 */
#ifndef POSTERN_FOLDERTAB_H
#define POSTERN_FOLDERTAB_H

#include <stddef.h>
#include <stdint.h>

#include "../privsep/msg.h"
#include "foldername.h"

#define FOLDERTAB_FILE     "folders"
#define FOLDERTAB_TMP      ".folders.tmp"
#define FOLDERTAB_VERSION  1

/* struct folder flags */
#define FF_SUBSCRIBED  0x1u
#define FF_NOFOLDER    0x2u   /* a name only: no file, no messages */

/* special use, RFC 6154: enum folder_use of privsep/msg.h (FU_SENT,
 * FU_DRAFTS, FU_TRASH, FU_JUNK, FU_ARCHIVE: the file's order) */

/* "f" + 8 hex digits and the NUL */
#define FOLDERTAB_FILE_NAME_BYTES 10

struct folder {
	char *name;            /* canonical; the key follows it in one block */
	char *key;             /* foldername_key(name) */
	uint32_t id;           /* file id; 0 INBOX or FF_NOFOLDER */
	uint32_t uidvalidity;  /* 0 only with FF_NOFOLDER */
	uint32_t uidnext;      /* 1.., 0 only with FF_NOFOLDER */
	unsigned flags;        /* FF_* */
	unsigned use;          /* FU_* */
};

struct foldertab {
	struct folder *v;      /* sorted by key */
	size_t n, cap;
	uint32_t next_id;
	uint32_t next_uidvalidity;
};

void foldertab_init(struct foldertab *t);
void foldertab_free(struct foldertab *t);

/* A new table of an account: INBOX only, subscribed, UIDVALIDITY
 * max(1, now), UIDNEXT 1.  This is what a missing table means. */
void foldertab_new(struct foldertab *t, uint32_t now);

/* Parses buf[0..n) into t (initialized here; freed on failure).  0, or
 * -1 with *why. */
int foldertab_parse(struct foldertab *t, const char *buf, size_t n, const char **why);

/* The file's bytes, malloc'ed, *len set; NULL only on ENOMEM. */
char *foldertab_serialize(const struct foldertab *t, size_t *len);

/* The entry named name[0..len) (any case or spelling of it), or NULL:
 * *why is the name's refusal or "does not exist".  Entries with
 * FF_NOFOLDER are found too. */
struct folder *foldertab_find(const struct foldertab *t, const char *name, size_t len,
    const char **why);

/* Has the entry a sub-folder entry ("a/..." for "a")? */
int foldertab_has_children(const struct foldertab *t, const struct folder *f);

/* Is f below parent ("a/b" and "a/b/c" are below "a")?  The entries
 * below one are not contiguous in t->v: test each. */
int foldertab_is_below(const struct folder *parent, const struct folder *f);

/* The file name of file id id: "f" + 8 lowercase hex digits. */
void foldertab_file_name(uint32_t id, char out[FOLDERTAB_FILE_NAME_BYTES]);

/*
 * CREATE name[0..len) with limits lim, now in seconds (UIDVALIDITY).
 * Missing parents become FF_NOFOLDER entries; a parent's spelling is the
 * existing entry's ("work/x" under "Work" is "Work/x").  An FF_NOFOLDER
 * entry of that name becomes a folder.  0 and *out (may be NULL) the new
 * folder, or -1 with *why.  Pointers into t are void after any change.
 */
int foldertab_create(struct foldertab *t, const char *name, size_t len,
    const struct folder_limits *lim, uint32_t now, struct folder **out, const char **why);

/*
 * DELETE: INBOX never; a folder with sub-folders keeps its name as an
 * FF_NOFOLDER entry, one without goes (its name stays, FF_NOFOLDER, while
 * it is subscribed); an FF_NOFOLDER name with sub-folders is refused
 * (RFC 3501 6.3.4).  *gone_id gets the file id whose file the caller
 * removes once the table is saved (a crash in between leaves an unused
 * file, never a table naming a missing one).  0, or -1 with *why.
 */
int foldertab_delete(struct foldertab *t, const char *name, size_t len,
    uint32_t *gone_id, const char **why);

/*
 * RENAME from to: the folder and every name below it move ("a/x" ->
 * "b/x"), keeping file ids, UIDVALIDITY, UIDNEXT, subscription and use;
 * missing parents of the new name are made.  Refused: INBOX (its RENAME
 * moves its mail, RFC 3501 6.3.5: the handler does that with CREATE and
 * a move), a from that does not exist, a to that exists (unless it is a
 * name kept only for its subscription, which the folder takes over, or
 * the same folder spelled otherwise: "work" -> "Work" respells it), a to
 * below from, any new name over lim, more entries than lim allows.  0, or
 * -1 with *why.
 */
int foldertab_rename(struct foldertab *t, const char *from, size_t flen,
    const char *to, size_t tlen, const struct folder_limits *lim, const char **why);

/* SUBSCRIBE (the entry must exist: RFC 3501 6.3.6 lets us check) and
 * UNSUBSCRIBE (it must be subscribed).  0, or -1 with *why. */
int foldertab_subscribe(struct foldertab *t, const char *name, size_t len, int on,
    const char **why);

/* Sets the special use of a folder (FU_* bits, not on an FF_NOFOLDER
 * name).  0, or -1 with *why. */
int foldertab_set_use(struct foldertab *t, const char *name, size_t len, unsigned use,
    const char **why);

/* Raises a folder's UIDNEXT to uidnext (never lowers it).  0, or -1 with
 * *why (no such folder, lower than now, 0). */
int foldertab_set_uidnext(struct foldertab *t, const char *name, size_t len,
    uint32_t uidnext, const char **why);

/*
 * The special-use folders of an account's first IMAP login: for each use
 * in uses (FU_*) that no folder has yet, the folder of its usual name
 * (Sent, Drafts, Trash, Junk, Archive) gets it, made and subscribed when
 * missing.  The number of folders made, or -1 with *why (t may then hold
 * some of them: save only on success).
 */
int foldertab_add_special(struct foldertab *t, unsigned uses,
    const struct folder_limits *lim, uint32_t now, const char **why);

/*
 * What kind of refusal a *why of the edits above is (RFC 5530 codes):
 * the texts are this file's and foldername.c's own, compared by pointer.
 * Reasons of load and save are none of these (FTC_CANNOT): a caller
 * tells them apart by the function that failed.
 */
enum ft_class {
	FTC_CANNOT,     /* never possible: a name that cannot be a folder, INBOX */
	FTC_LIMIT,      /* a limit: too long, too deep, too many folders */
	FTC_NOSUCH,     /* no such folder (or not subscribed, for UNSUBSCRIBE) */
	FTC_EXISTS,     /* the name is taken */
};
enum ft_class foldertab_why_class(const char *why);

/*
 * The file FOLDERTAB_FILE in directory dirfd: load reads and parses it
 * (O_NOFOLLOW, a regular file, at most FOLDERTAB_FILE_MAX_BYTES); 0
 * loaded, 1 missing (t is then foldertab_new(now)), -1 with *why
 * (unreadable or damaged: the caller must not make a new one).
 */
int foldertab_load(int dirfd, struct foldertab *t, uint32_t now, const char **why);

/*
 * Saves t atomically: FOLDERTAB_TMP written, fsync'ed, renamed over
 * FOLDERTAB_FILE, the directory fsync'ed.  0, or -1 with *why: the old
 * file is then whole and in place, unless the last directory fsync failed
 * (why says so), after which either file may be the one on disk.  After a
 * failure the caller reloads before its next change.
 */
int foldertab_save(int dirfd, const struct foldertab *t, const char **why);

#endif
