/*
 * The IMAP side of the store (issue 13; DESIGN.md "Folders, UIDs and
 * flags").  MSG_IMAP_AUTH logs a channel in to one account with the
 * checks POP3 uses (store_login.c) and locks nothing: IMAP sessions share
 * the mailbox, and POP3's [IN-USE] is between POP3 sessions only.  The
 * first login of an account makes its folder area and folder table with
 * the configured special-use folders; the MSG_FOLDER_* requests list and
 * edit that table (store/foldertab.h).  Handlers (store_int.h layer 2),
 * one a row of dispatch.c; they answer through chan.c.
 *
 * The folder area is SPOOL/.folders/ACCOUNT (both 0700): the table
 * "folders" and one mbox file per folder, named by its file id (f%08x).
 * Only the account name, which passed mailbox_name_ok() ('.'-led names
 * never do, so no account is ".folders"), becomes a path component; a
 * client's folder name is only ever a key of the table.
 *
 * Order of the writes, so that a crash between any two leaves a table
 * that names only files that exist:
 *   CREATE (and the special-use folders): the empty file, fsync'ed, the
 *     directory fsync'ed, then the table naming it.  A crash in between
 *     leaves an unused file, whose id the next CREATE gives again (ids
 *     grow only in a saved table) with a new empty file.
 *   DELETE: the table without the folder, then the file removed.  A crash
 *     in between leaves an unused file, never a table naming a missing one.
 *   RENAME: the table only; a folder keeps its file and UIDVALIDITY.
 *   RENAME of INBOX: INBOX's mail copied into the new folder's file,
 *     fsync'ed, the table saved, then INBOX emptied (rename_inbox).
 * The table is read afresh for every request: the account's IMAP channels
 * share it, and the store runs one request at a time.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "foldertab.h"
#include "store_int.h"

#define FOLDER_AREA ".folders"

/* The answer when the table cannot be read or written (the log says why). */
static const char text_temp[] = "The folder list cannot be read or written now";

static uint32_t
now_s(void)
{
	time_t t = time(NULL);

	return t <= 0 ? 1 : (uint64_t)t >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)t;
}

/* What a client may create: the config's limits. */
static void
limits(struct folder_limits *lim)
{
	lim->name_max_bytes = S.conf.max_folder_name;
	lim->depth_max_count = S.conf.max_folder_depth;
	lim->folders_max_count = S.conf.max_folders;
}

/* ---- the folder area ---- */

/* Directory name in parent, made (0700, the parent fsync'ed) when missing.
 * A descriptor, or -1 with errno. */
static int
subdir(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd != -1 || errno != ENOENT)
		return fd;
	if (mkdirat(parent, name, 0700) == -1 && errno != EEXIST)
		return -1;
	if (fsync(parent) == -1)
		return -1;
	return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The account's folder directory, made when missing: a descriptor, or -1
 * (logged). */
static int
area_open(const char *account)
{
	int top, fd;

	if (!mailbox_name_ok(account)) {
		log_warnx("store: no folder area for an invalid account name");
		return -1;
	}
	if ((top = subdir(S.spool, FOLDER_AREA)) == -1) {
		log_warn("store: folder area %s/%s", S.conf.spool, FOLDER_AREA);
		return -1;
	}
	fd = subdir(top, account);
	if (fd == -1)
		log_warn("store: folder area %s/%s/%s", S.conf.spool, FOLDER_AREA, account);
	close(top);
	return fd;
}

/* Loads the account's table: 0, 1 when there was none (t is new), or -1
 * logged (t empty).  A damaged table is left as it is: a new one would
 * give INBOX and every folder a new UIDVALIDITY. */
static int
table_load(const char *account, int dirfd, struct foldertab *t)
{
	const char *why = "cannot be read";
	int r = foldertab_load(dirfd, t, now_s(), &why);

	if (r == -1)
		log_warnx("store: folder table %s/%s/%s/%s %s: left as it is, the account's "
		    "IMAP logins and folder requests fail until it is mended or restored",
		    S.conf.spool, FOLDER_AREA, account, FOLDERTAB_FILE, why);
	return r;
}

static int
table_save(const char *account, int dirfd, const struct foldertab *t)
{
	const char *why = "cannot be written";

	if (foldertab_save(dirfd, t, &why) == 0)
		return 0;
	log_warnx("store: folder table %s/%s/%s/%s %s", S.conf.spool, FOLDER_AREA, account,
	    FOLDERTAB_FILE, why);
	return -1;
}

/* The empty mbox of file id id, 0600, fsync'ed.  A file of that id can
 * only be left over by a CREATE whose table was never saved (ids grow only
 * in a saved table): it is replaced.  0, or -1 logged. */
static int
file_make(const char *account, int dirfd, uint32_t id)
{
	char fn[FOLDERTAB_FILE_NAME_BYTES];
	int fd;

	foldertab_file_name(id, fn);
	if (unlinkat(dirfd, fn, 0) == -1 && errno != ENOENT)
		fd = -1;
	else
		fd = openat(dirfd, fn, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || fsync(fd) == -1) {
		log_warn("store: folder file %s/%s/%s/%s", S.conf.spool, FOLDER_AREA, account, fn);
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The files of every folder of t whose id is from_id or more (made since
 * the table was loaded), then the directory fsync'ed: before the table
 * naming them is saved.  0, or -1 logged. */
static int
files_make(const char *account, int dirfd, const struct foldertab *t, uint32_t from_id)
{
	int made = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct folder *f = &t->v[i];

		if ((f->flags & FF_NOFOLDER) || f->id == 0 || f->id < from_id)
			continue;
		if (file_make(account, dirfd, f->id) == -1)
			return -1;
		made++;
	}
	if (made > 0 && fsync(dirfd) == -1) {
		log_warn("store: folder area %s/%s/%s", S.conf.spool, FOLDER_AREA, account);
		return -1;
	}
	return 0;
}

/* The bytes [0, end) of src into a new file of id id (0600), fsync'ed,
 * the directory fsync'ed: RENAME INBOX's copy.  A file of that id left by
 * a crash is replaced (file_make).  0, or -1 logged (no file left). */
static int
file_copy(const char *account, int dirfd, uint32_t id, int src, uint64_t end)
{
	static unsigned char buf[64 * 1024];
	char fn[FOLDERTAB_FILE_NAME_BYTES];
	uint64_t off = 0;
	int fd;

	foldertab_file_name(id, fn);
	if (unlinkat(dirfd, fn, 0) == -1 && errno != ENOENT)
		fd = -1;
	else
		fd = openat(dirfd, fn, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("store: folder file %s/%s/%s/%s", S.conf.spool, FOLDER_AREA, account, fn);
		return -1;
	}
	while (off < end) {
		size_t want = end - off < sizeof(buf) ? (size_t)(end - off) : sizeof(buf);
		ssize_t n = pread(src, buf, want, (off_t)off);

		if (n <= 0) {
			if (n == 0)
				errno = EIO;        /* INBOX shrank under its locks */
			break;
		}
		if (write_all(fd, buf, (size_t)n) == -1)
			break;
		off += (uint64_t)n;
	}
	{
		int bad = off < end || fsync(fd) == -1, e = errno;

		if (close(fd) == -1 && !bad) {
			bad = 1;
			e = errno;
		}
		if (!bad && fsync(dirfd) == -1) {
			bad = 1;
			e = errno;
		}
		if (!bad)
			return 0;
		unlinkat(dirfd, fn, 0);
		errno = e;
		log_warn("store: copying INBOX of %s into %s/%s/%s/%s", account, S.conf.spool,
		    FOLDER_AREA, account, fn);
		return -1;
	}
}

/* ---- MSG_IMAP_AUTH ---- */

static void
imap_auth_reply(struct chan *c, uint32_t reqid, uint32_t st, uint32_t delay, int fd)
{
	static struct ipc_msg m;

	(void)fd;
	ipc_init(&m, MSG_IMAP_AUTH_R, reqid);
	ipc_put_u32(&m, st);
	ipc_put_u32(&m, delay);
	if (st == AUTH_OK)
		ipc_put_str(&m, c->account);
	chan_send(c, &m);
}

/* The IMAP channels logged in to account from addr (the worker's word for
 * the address: a worker that lies can only lock its own account out). */
static uint32_t
sessions_of(const char *account, const char *addr)
{
	uint32_t n = 0;

	for (size_t i = 0; i < S.nch; i++) {
		const struct chan *o = S.ch[i];

		if (!o->dead && o->kind == CHAN_IMAP && (o->state & (CS_IMAP | CS_SELECTED)) &&
		    strcmp(o->account, account) == 0 && strcmp(o->addr, addr) == 0)
			n++;
	}
	return n;
}

/*
 * A right password (store_login.c): the folder area, the table (made when
 * missing), the configured special-use folders that are missing (their
 * files first, then the table).  Nothing is locked and no login-delay
 * applies: an IMAP client opens several connections at once.
 */
static uint32_t
imap_bind(struct chan *c, const char *name, const char *addr, uint64_t now, int *fd)
{
	struct folder_limits lim;
	struct foldertab t;
	const char *why = NULL;
	uint32_t from_id;
	int dirfd, r, made;

	(void)now;
	(void)fd;
	if (S.conf.imap_max_sessions_per_user != 0 &&
	    sessions_of(name, addr) >= S.conf.imap_max_sessions_per_user) {
		log_info("store: imap worker %d: %s from %s: refused, %u sessions of the "
		    "account from this address already (max-sessions-per-user)", (int)c->pid,
		    name, addr, S.conf.imap_max_sessions_per_user);
		return AUTH_TOO_MANY;
	}
	if ((dirfd = area_open(name)) == -1)
		return AUTH_TEMP;
	if ((r = table_load(name, dirfd, &t)) == -1) {
		close(dirfd);
		return AUTH_TEMP;
	}
	limits(&lim);
	from_id = t.next_id;
	made = foldertab_add_special(&t, S.conf.imap_special_use, &lim, now_s(), &why);
	if (made < 0) {
		/* a login never fails for it: the folders come at a later one */
		log_warnx("store: imap worker %d: %s: special-use folders not made: %s",
		    (int)c->pid, name, why);
		foldertab_free(&t);
		if ((r = table_load(name, dirfd, &t)) == -1) {
			close(dirfd);
			return AUTH_TEMP;
		}
		made = 0;
	}
	if ((made > 0 || r == 1) && (files_make(name, dirfd, &t, from_id) == -1 ||
	    table_save(name, dirfd, &t) == -1)) {
		foldertab_free(&t);
		close(dirfd);
		return AUTH_TEMP;
	}
	strlcpy_(c->account, name, sizeof(c->account));
	strlcpy_(c->addr, addr, sizeof(c->addr));
	c->state = CS_IMAP;
	log_info("store: imap worker %d: %s from %s: logged in, %zu folder names%s",
	    (int)c->pid, name, addr, t.n, r == 1 ? " (folder table made)" :
	    made > 0 ? " (special-use folders made)" : "");
	foldertab_free(&t);
	close(dirfd);
	return AUTH_OK;
}

static const struct login_proto imap_login = { "imap", imap_bind, imap_auth_reply };

static void
imap_auth_finish(struct authwait *w, enum auth_verdict v)
{
	login_finish(w, v, &imap_login);
}

void
handle_imap_auth(struct chan *c, struct store_req *r)
{
	login_begin(c, r, &imap_login, imap_auth_finish);
}

/* ---- the folder requests ---- */


/* A refusal of the table's edits: its status (RFC 5530 code) and
 * "<what> <why>" for the client's NO. */
static void
refuse(struct chan *c, struct store_req *r, const char *what, const char *why)
{
	static const uint32_t status[] = {
		[FTC_CANNOT] = STORE_CANNOT, [FTC_LIMIT] = STORE_LIMIT,
		[FTC_NOSUCH] = STORE_NOSUCH, [FTC_EXISTS] = STORE_EXISTS,
	};
	char text[256];

	snprintf(text, sizeof(text), "%s %s", what, why);
	chan_reply_text(c, r->type + 1, r->id, status[foldertab_why_class(why)], text);
}

/* The channel's account's table: 0 with *dirfd and *t, or -1 answered
 * (STORE_TEMPFAIL). */
static int
req_table(struct chan *c, struct store_req *r, int *dirfd, struct foldertab *t)
{
	int rc;

	if ((*dirfd = area_open(c->account)) == -1) {
		chan_reply_text(c, r->type + 1, r->id, STORE_TEMPFAIL, text_temp);
		return -1;
	}
	if ((rc = table_load(c->account, *dirfd, t)) == -1) {
		close(*dirfd);
		chan_reply_text(c, r->type + 1, r->id, STORE_TEMPFAIL, text_temp);
		return -1;
	}
	if (rc == 1)
		log_warnx("store: imap worker %d: %s: the folder table is gone since the "
		    "login: a new one is used", (int)c->pid, c->account);
	return 0;
}

/* Saves t and answers OK, or TEMPFAIL; frees t and closes dirfd. */
static int
save_and_answer(struct chan *c, struct store_req *r, int dirfd, struct foldertab *t)
{
	int rc = table_save(c->account, dirfd, t);

	chan_reply_text(c, r->type + 1, r->id, rc == 0 ? STORE_OK : STORE_TEMPFAIL,
	    rc == 0 ? "" : text_temp);
	foldertab_free(t);
	return rc;
}

/* MSG_FOLDER_LIST: the whole table in a sealed memfd, in its order. */
void
handle_folder_list(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	struct foldertab t;
	unsigned char *buf;
	size_t cap = 0, o = 0;
	int dirfd, fd;

	if (req_table(c, r, &dirfd, &t) == -1)
		return;
	close(dirfd);
	for (size_t i = 0; i < t.n; i++)
		cap += 12 + strlen(t.v[i].name);
	buf = xmalloc(cap ? cap : 1);
	for (size_t i = 0; i < t.n; i++) {
		const struct folder *f = &t.v[i];
		uint32_t attrs = 0, use = f->use, len = (uint32_t)strlen(f->name);

		if (f->flags & FF_NOFOLDER)
			attrs |= FA_NOSELECT;
		if (f->flags & FF_SUBSCRIBED)
			attrs |= FA_SUBSCRIBED;
		if (foldertab_has_children(&t, f))
			attrs |= FA_HASCHILDREN;
		memcpy(buf + o, &attrs, 4);
		memcpy(buf + o + 4, &use, 4);
		memcpy(buf + o + 8, &len, 4);
		memcpy(buf + o + 12, f->name, len);
		o += 12 + len;
	}
	fd = sealed_memfd("postern-folders", buf, o);
	free(buf);
	if (fd == -1) {
		log_warn("store: folder list memfd");
		chan_reply_text(c, MSG_FOLDER_LIST_R, r->id, STORE_TEMPFAIL, text_temp);
		foldertab_free(&t);
		return;
	}
	ipc_init(&m, MSG_FOLDER_LIST_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_str(&m, "");
	ipc_put_u32(&m, (uint32_t)t.n);
	ipc_set_fd(&m, fd);
	chan_send(c, &m);
	close(fd);
	foldertab_free(&t);
}

/* MSG_FOLDER_CREATE: the file first, then the table. */
void
handle_folder_create(struct chan *c, struct store_req *r)
{
	struct folder_limits lim;
	struct foldertab t;
	struct folder *f = NULL;
	const char *why = NULL;
	uint32_t from_id, id;
	int dirfd;

	if (req_table(c, r, &dirfd, &t) == -1)
		return;
	limits(&lim);
	from_id = t.next_id;
	if (foldertab_create(&t, r->folder[0], r->folderlen[0], &lim, now_s(), &f, &why) == -1) {
		refuse(c, r, "Folder", why);
		foldertab_free(&t);
		close(dirfd);
		return;
	}
	id = f->id;
	if (files_make(c->account, dirfd, &t, from_id) == -1) {
		chan_reply_text(c, r->type + 1, r->id, STORE_TEMPFAIL, text_temp);
		foldertab_free(&t);
		close(dirfd);
		return;
	}
	if (save_and_answer(c, r, dirfd, &t) == 0)
		log_info("store: imap worker %d: %s: folder f%08x created", (int)c->pid,
		    c->account, (unsigned)id);
	close(dirfd);
}

/* MSG_FOLDER_DELETE: the table first, then the file. */
void
handle_folder_delete(struct chan *c, struct store_req *r)
{
	struct foldertab t;
	const char *why = NULL;
	uint32_t gone = 0;
	int dirfd;

	if (req_table(c, r, &dirfd, &t) == -1)
		return;
	if (foldertab_delete(&t, r->folder[0], r->folderlen[0], &gone, &why) == -1) {
		refuse(c, r, "Folder", why);
		foldertab_free(&t);
		close(dirfd);
		return;
	}
	if (save_and_answer(c, r, dirfd, &t) == 0 && gone != 0) {
		char fn[FOLDERTAB_FILE_NAME_BYTES];

		/* a failure leaves an unused file: nothing names it any more */
		foldertab_file_name(gone, fn);
		if (unlinkat(dirfd, fn, 0) == -1 && errno != ENOENT)
			log_warn("store: removing the deleted folder's file %s/%s/%s/%s",
			    S.conf.spool, FOLDER_AREA, c->account, fn);
		/* and its flag journal (store/flagstate.c) */
		fst_forget(c->account, gone);
		{
			char jn[FOLDERTAB_FILE_NAME_BYTES + 8];

			snprintf(jn, sizeof(jn), "%s.flags", fn);
			if (unlinkat(dirfd, jn, 0) == -1 && errno != ENOENT)
				log_warn("store: removing %s/%s/%s/%s", S.conf.spool, FOLDER_AREA,
				    c->account, jn);
		}
		log_info("store: imap worker %d: %s: folder %s deleted", (int)c->pid,
		    c->account, fn);
	}
	close(dirfd);
}

/*
 * RENAME INBOX to (RFC 3501 6.3.5): INBOX's mail moves to a new folder
 * to, INBOX stays, empty.  With INBOX locked (no delivery in between):
 * its messages are copied into the new folder's file, fsync'ed, then the
 * table naming the folder is saved, then INBOX is rewritten empty through
 * the mailbox layer (as a POP3 COMMIT deleting everything).  INBOX's flag
 * journal is folded in first (mb_compact(): the flags go with the mail,
 * what an EXPUNGE hid goes nowhere).  A crash at
 * any point leaves each message in INBOX, in the new folder or in both,
 * never in neither.  A POP3 session's snapshot keeps its old file.
 */
static void
rename_inbox(struct chan *c, struct store_req *r, int dirfd, struct foldertab *t,
    const struct folder_limits *lim)
{
	const struct folder *inbox = foldertab_find(t, "INBOX", 5, NULL);
	struct mailbox mb;
	struct mbox_list l;
	struct folder *f = NULL;
	struct fst *fs;
	const char *why = NULL;
	uint32_t id, inbox_next = inbox != NULL ? inbox->uidnext : 1, deleted = 0;
	uint64_t end = 0;
	int rc;

	if (foldertab_create(t, r->folder[1], r->folderlen[1], lim, now_s(), &f, &why) == -1) {
		refuse(c, r, "New name", why);
		return;
	}
	id = f->id;
	/* UIDs the messages keep stay below the new folder's UIDNEXT */
	if (inbox_next > f->uidnext && foldertab_set_uidnext(t, f->name, strlen(f->name),
	    inbox_next, &why) == -1) {
		log_warnx("store: imap worker %d: %s: RENAME INBOX: %s", (int)c->pid, c->account,
		    why);
		chan_reply_text(c, MSG_FOLDER_RENAME_R, r->id, STORE_TEMPFAIL, text_temp);
		return;
	}
	mbox_list_init(&l);
	mbc_forget(c->account);       /* its close would drop the lock below */
	if ((rc = mailbox_open_locked(&mb, c->account, 0, &l)) == -1) {
		chan_reply_text(c, MSG_FOLDER_RENAME_R, r->id, STORE_TEMPFAIL,
		    "INBOX cannot be read now");
		return;
	}
	if (rc == 0 && l.n > 0 && (fs = inbox != NULL ? fst_get(c->account, 0,
	    inbox->uidvalidity) : fst_get_table(c->account, 0)) != NULL &&
	    (mb.fold = fst_fold(fs)) != NULL) {
		/* INBOX's flag journal first: the flags it holds go with the
		 * mail, the messages an EXPUNGE hid do not */
		uint64_t cut;
		int bad = mb_compact(&mb, &why) == -1;

		if (!bad) {
			mbox_list_truncate(&l, 0);
			bad = mb_scan(&mb, &l, 1, &cut, &why) == -1;
		}
		if (bad) {
			mb.fold = NULL;
			log_warnx("store: imap worker %d: %s: RENAME INBOX: %s", (int)c->pid,
			    c->account, why);
			chan_reply_text(c, MSG_FOLDER_RENAME_R, r->id, STORE_TEMPFAIL, text_temp);
			goto out;
		}
		mb.fold = NULL;
		fst_folded(fs, 0);
	}
	if (rc == 0 && l.n > 0)
		end = l.v[l.n - 1].off + l.v[l.n - 1].len;
	if ((rc == 0 ? file_copy(c->account, dirfd, id, mb.fd, end) :
	    files_make(c->account, dirfd, t, id)) == -1 ||
	    table_save(c->account, dirfd, t) == -1) {
		chan_reply_text(c, MSG_FOLDER_RENAME_R, r->id, STORE_TEMPFAIL, text_temp);
		goto out;
	}
	if (rc == 0 && l.n > 0 && mb_rewrite(&mb, l.v, l.n, &deleted, &why) == -1) {
		log_warnx("store: imap worker %d: %s: RENAME INBOX copied %zu messages to "
		    "folder f%08x but could not empty INBOX: %s", (int)c->pid, c->account, l.n,
		    (unsigned)id, why);
		chan_reply_text(c, MSG_FOLDER_RENAME_R, r->id, STORE_TEMPFAIL,
		    "INBOX's mail was copied to the new folder, but INBOX could not be emptied");
		goto out;
	}
	log_info("store: imap worker %d: %s: INBOX renamed: %zu messages moved to folder "
	    "f%08x", (int)c->pid, c->account, rc == 0 ? l.n : (size_t)0, (unsigned)id);
	chan_reply_text(c, MSG_FOLDER_RENAME_R, r->id, STORE_OK, "");
out:
	if (rc == 0)
		mb_close(&mb);
	mbox_list_free(&l);
}

/* MSG_FOLDER_RENAME: the table only (a folder keeps its file); INBOX's
 * mail moves (rename_inbox). */
void
handle_folder_rename(struct chan *c, struct store_req *r)
{
	struct folder_limits lim;
	struct foldertab t;
	const struct folder *f;
	const char *why = NULL, *what = "Folder";
	char *canon;
	int dirfd;

	if (req_table(c, r, &dirfd, &t) == -1)
		return;
	limits(&lim);
	canon = xmalloc((size_t)r->folderlen[1] + 1);
	f = foldertab_find(&t, r->folder[0], r->folderlen[0], &why);
	if (f != NULL && foldername_canon(r->folder[1], r->folderlen[1], &lim, canon,
	    (size_t)r->folderlen[1] + 1, &why) < 0) {
		what = "New name";
		f = NULL;
	}
	if (f == NULL)
		refuse(c, r, what, why);
	else if (foldername_is_inbox(f->name))
		rename_inbox(c, r, dirfd, &t, &lim);
	else if (foldertab_rename(&t, r->folder[0], r->folderlen[0], r->folder[1],
	    r->folderlen[1], &lim, &why) == -1)
		refuse(c, r, "Folder", why);
	else {
		free(canon);
		if (save_and_answer(c, r, dirfd, &t) == 0)
			log_info("store: imap worker %d: %s: folder renamed", (int)c->pid,
			    c->account);
		close(dirfd);
		return;
	}
	free(canon);
	foldertab_free(&t);
	close(dirfd);
}

/* MSG_FOLDER_SUBSCRIBE: on or off; SUBSCRIBE of a subscribed name is OK
 * and writes nothing. */
void
handle_folder_subscribe(struct chan *c, struct store_req *r)
{
	struct foldertab t;
	const struct folder *f;
	const char *why = NULL;
	int dirfd;

	if (req_table(c, r, &dirfd, &t) == -1)
		return;
	f = foldertab_find(&t, r->folder[0], r->folderlen[0], &why);
	if (f != NULL && r->on && (f->flags & FF_SUBSCRIBED)) {
		chan_reply_text(c, MSG_FOLDER_SUBSCRIBE_R, r->id, STORE_OK, "");
		foldertab_free(&t);
	} else if (f == NULL ||
	    foldertab_subscribe(&t, r->folder[0], r->folderlen[0], (int)r->on, &why) == -1) {
		refuse(c, r, "Folder", why);
		foldertab_free(&t);
	} else
		save_and_answer(c, r, dirfd, &t);
	close(dirfd);
}

/* ---- for store_view.c (store_int.h) ---- */

int
imap_area_open(const char *account)
{
	return area_open(account);
}

int
imap_table_load(const char *account, int dirfd, struct foldertab *t)
{
	return table_load(account, dirfd, t);
}

int
imap_table_save(const char *account, int dirfd, const struct foldertab *t)
{
	return table_save(account, dirfd, t);
}
