/*
 * ipcpeer: plays the master and any number of workers against a real
 * store process, for the store's bats tests (t/store_*.bats).
 *
 *   ipcpeer [-u store-user] [-w worker-user] [-q quota] [-m max-message-size] [-A aliases]
 *           [-N nofile]   (the store's RLIMIT_NOFILE, soft and hard)
 *           [-F max-folders] [-L max-folder-name-length] [-D max-folder-depth]
 *           [-U imap-special-use bits (enum folder_use, e.g. 0x1f)]
 *           [-k max-keywords] [-S (pop3-sets-seen off)]
 *           [-C compact-min-size (bytes; 0: every EXPUNGE deferred)]
 *           [-l logfile] SPOOL ACCOUNTS  < script
 *
 * It starts "$POSTERND -X store" the way the master does (fork + exec,
 * FD_CONTROL a SEQPACKET socketpair, MSG_CONF, MSG_ACCOUNTS [+ MSG_ALIASES],
 * then MSG_CHANNEL for every channel it opens), and "$POSTERND -X auth"
 * once, linked to every store it starts by MSG_AUTH_CHANNEL (root: jailed
 * in a temporary empty directory), then runs the script, one
 * command a line, printing one result line per command on stdout.  The
 * store's log lines (MSG_LOG) go to the log file (default stderr).
 *
 * Commands:
 *   start | kill | restart | stop | hup | sleep MS | sh SHELL-COMMAND
 *   chan NAME smtp|pop3|imap     close NAME          alive NAME
 *   lookup NAME LOCAL
 *   append NAME SENDER RCPT[,RCPT...] FILE|@N      (FILE: LF or CRLF lines;
 *                                   @N: a generated message number N)
 *   unsealed NAME RCPT           (APPEND with a memfd that is not sealed)
 *   auth NAME USER PASS [ADDR]   list NAME
 *   retr NAME N [LINES [FILE]]   dele NAME N   undo NAME
 *   ahead NAME N AHEAD [FILE]    (RETR N reading AHEAD more: "ahead 0 n=K
 *                                 NO:LEN ...")
 *   deles NAME N...              (one DELE request with every N)
 *   commit NAME                  release NAME
 *   raw NAME TYPE LEN [memfd]    (a request of LEN zero bytes)
 *   ctlraw TYPE LEN [memfd]      (the same on the master's control channel)
 *   trunc NAME | badlen NAME | oversize NAME | twofds NAME
 *   imapauth NAME USER PASS [ADDR]   ("imapauth ST delay=D [account=A]")
 *   flist NAME                   (one "folder NAME ATTRS USE" line a folder,
 *                                 ATTRS a comma list of noselect, sub,
 *                                 children or "-", USE of sent, drafts,
 *                                 trash, junk, archive or "-"; then
 *                                 "flist ST n=N", or "flist ST TEXT")
 *   fcreate NAME F   fdelete NAME F   frename NAME F TO   fsub NAME F
 *   funsub NAME F                ("fcreate ST TEXT", or "fcreate eof")
 *       a folder name F: \xHH a byte, \s a space, \\ a backslash;
 *       "@empty" the empty name; "@name:N" N bytes in 200-byte components
 *       ("aaa.../aaa..."); "@comp:N" one component of N bytes; a name
 *       printed by flist is escaped the same way
 *   iappend NAME FOLDER FLAGS DATE FILE|@N [KW,KW...]
 *                                (MSG_IMAP_APPEND: FLAGS a comma list of
 *                                 seen, answered, flagged, deleted, draft,
 *                                 or "-"; DATE Unix seconds, 0 now; FILE
 *                                 bytes as they are, LF made CRLF; @N a
 *                                 generated message: "iappend ST
 *                                 uidvalidity=V uid=U", "iappend ST TEXT"
 *                                 or "iappend eof")
 *   burst smtp|imap ROUNDS K ACCOUNT  (ROUNDS x K APPENDs, K at once on
 *                                 K channels: "burst KIND ok=N of M in
 *                                 MS ms (R a second)")
 *   iboth SMTP IMAP ACCOUNT N    (N times: an SMTP APPEND to ACCOUNT and
 *                                 an IMAP APPEND to its INBOX sent
 *                                 together, so that the store reads both
 *                                 in one pass, then both answers:
 *                                 "iboth ok=K of N")
 *   killafter US                 (SIGKILL to the store US microseconds
 *                                 from now, from a child: the next
 *                                 request may be cut anywhere)
 *   select NAME F | examine NAME F   (one "msg UID FLAGS SIZE DATE KW" line
 *                                 a message, FLAGS a comma list of seen,
 *                                 answered, flagged, deleted, draft, recent
 *                                 or "-", KW its keywords or "-"; then
 *                                 "select 0 uidvalidity=V uidnext=N n=N
 *                                 nkw=K", or "select ST TEXT", "select eof")
 *   fetch NAME whole|header|N LIST [FILE]   (LIST "1,3,7-9" UIDs as given,
 *                                 "-" none: "fetch 0 m=M UID:LEN ...", the
 *                                 bytes saved to FILE)
 *   sync NAME                    ("exp UID", "new ..." as "msg", "flag UID
 *                                 FLAGS KW" lines, then "sync 0 uidnext=N
 *                                 exp=E new=W flag=F nkw=K")
 *   unselect NAME                ("unselect ST")
 *   store NAME set|add|remove FLAGS KW LIST   (MSG_STORE_FLAGS: FLAGS a
 *                                 comma list as select prints or "-", KW
 *                                 keywords "a,b" or "-", LIST as fetch:
 *                                 "flag UID FLAGS KW" a message, then
 *                                 "store 0 m=M nkw=K", or "store ST TEXT")
 *   fstatus NAME F               (MSG_FOLDER_STATUS: "fstatus 0 messages=N
 *                                 uidnext=N uidvalidity=V unseen=U recent=R
 *                                 size=S")
 *   expunge NAME [LIST]          (MSG_EXPUNGE, of LIST or every \Deleted:
 *                                 "expunge 0 m=M UID...", "expunge ST TEXT")
 *   copy NAME F LIST | move NAME F LIST   ("copy 0 uidvalidity=V m=M
 *                                 SRC:DST ...", or "copy ST TEXT")
 *   changed NAME [MS]            (MSG_CHANGED seen on NAME since the last
 *                                 "changed", waiting MS (500) for more:
 *                                 "changed N")
 *   faults appends KILLS SECONDS RCPT
 *   faults commit KILLS SECONDS RCPT
 *   faults iappends KILLS SECONDS RCPT   (IMAP APPENDs to RCPT's INBOX,
 *                                 the store killed at random moments;
 *                                 checked through POP3 as "appends")
 *   faults flags|expunge|move KILLS SECONDS alice   (IMAP STORE, EXPUNGE
 *                                 or MOVE to "Target" under random kills;
 *                                 each restart checks every message is
 *                                 where it should be, once, whole, with
 *                                 its UID and acknowledged flags)
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "privsep/conf.h"
#include "privsep/ipc.h"
#include "privsep/msg.h"
#include "privsep/proc.h"
#include "privsep/util.h"

#define MAXCHAN 64

struct pchan {
	char name[32];
	int fd;
	unsigned kind;
	uint32_t count;
	uint64_t *wire;
	char (*uid)[72];
	unsigned changed;          /* MSG_CHANGED seen, not yet printed */
};

static struct pchan chans[MAXCHAN];
static int nchans;
static pid_t store_pid = -1;
static int ctl = -1;
static FILE *logfp;
static struct conf conf;
static const char *posternd, *accounts_path, *aliases_path;
static uint32_t next_id = 1;
static int worker_pid_seq = 1000;
static struct ipc_msg M, A;
static pid_t auth_pid = -1;
static int actl = -1;
static char auth_jail[64];

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ipcpeer: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (store_pid > 0)
		kill(store_pid, SIGKILL);
	if (auth_pid > 0)
		kill(auth_pid, SIGKILL);
	exit(2);
}

/* Handles one control message from the store: logs, READY, ACCOUNTS_R. */
static int
control_one(uint32_t *type, char *text, size_t textsz)
{
	static struct ipc_msg m;
	int r = ipc_recv(ctl, &m);

	if (r != 1)
		return -1;
	*type = m.hdr.type;
	if (m.hdr.type == MSG_LOG) {
		uint32_t prio;
		char line[LIM_LOGLINE + 1];

		if (ipc_get_u32(&m, &prio) == 0 && ipc_get_str(&m, line, sizeof(line)) == 0) {
			fprintf(logfp, "store[%d]: %s\n", (int)store_pid, line);
			fflush(logfp);
		}
	} else if (m.hdr.type == MSG_ACCOUNTS_R && text) {
		uint32_t ok;

		text[0] = '\0';
		if (ipc_get_u32(&m, &ok) == 0 && ipc_get_str(&m, text, textsz) == 0 && ok)
			text[0] = '\0';
		else if (text[0] == '\0')
			strlcpy_(text, "malformed", textsz);
	}
	ipc_drop_fd(&m);
	return 0;
}

/* Drains log lines for up to ms. */
static void
control_drain(int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (ctl != -1) {
		struct pollfd p = { ctl, POLLIN, 0 };
		uint64_t now = now_ms();
		uint32_t t;

		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			return;
		if (control_one(&t, NULL, 0) == -1)
			return;
	}
}

/* Waits for a control message of type want (logs pass by). */
static int
control_wait(uint32_t want, char *text, size_t textsz, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd p = { ctl, POLLIN, 0 };
		uint64_t now = now_ms();
		uint32_t t;

		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			return -1;
		if (control_one(&t, text, textsz) == -1)
			return -1;
		if (t == want)
			return 0;
	}
}

static int
open_ro(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		die("%s: %s", path, strerror(errno));
	return fd;
}

static int
send_accounts(char *err, size_t errsz)
{
	int afd = open_ro(accounts_path), lfd = -1;

	ipc_init(&M, MSG_ACCOUNTS, 0);
	ipc_put_u32(&M, aliases_path ? 1 : 0);
	ipc_set_fd(&M, afd);
	if (ipc_send(ctl, &M) == -1)
		die("send accounts: %s", strerror(errno));
	close(afd);
	if (aliases_path) {
		lfd = open_ro(aliases_path);
		ipc_init(&M, MSG_ALIASES, 0);
		ipc_set_fd(&M, lfd);
		if (ipc_send(ctl, &M) == -1)
			die("send aliases: %s", strerror(errno));
		close(lfd);
	}
	if (control_wait(MSG_ACCOUNTS_R, err, errsz, 10000) == -1) {
		strlcpy_(err, "no answer", errsz);
		return -1;
	}
	return err[0] ? -1 : 0;
}

static rlim_t store_nofile;   /* -N: the store's descriptor limit; 0 = inherit ours */

/* fork + exec of posternd -X ROLE with FD_CONTROL = the returned end's
 * peer; its stderr goes to the log. */
static pid_t
spawn_role(const char *role, int *ctlfd)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair: %s", strerror(errno));
	pid = fork();
	if (pid == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int hi = fcntl(sv[1], F_DUPFD, 20);

		if (hi == -1 || dup2(hi, FD_CONTROL) == -1)
			_exit(127);
		for (int fd = FD_CONTROL + 1; fd < 1024; fd++)
			if (fd != fileno(logfp))
				close(fd);
		if (fileno(logfp) != 2)
			dup2(fileno(logfp), 2);
		if (store_nofile != 0 && strcmp(role, "store") == 0) {
			struct rlimit rl = { store_nofile, store_nofile };

			if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
				_exit(127);
		}
		execl(posternd, posternd, "-X", role, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	*ctlfd = sv[0];
	return pid;
}

/* Waits for a message of type want from the auth process, logging its
 * log lines; -1 on timeout, EOF or a failed MSG_ACCOUNTS_R. */
static int
auth_wait(uint32_t want, int ms)
{
	static struct ipc_msg m;
	uint64_t end = now_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd p = { actl, POLLIN, 0 };
		uint64_t now = now_ms();
		uint32_t v;
		char line[LIM_LOGLINE + 1];

		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0 || ipc_recv(actl, &m) != 1)
			return -1;
		ipc_drop_fd(&m);
		if (m.hdr.type == MSG_LOG && ipc_get_u32(&m, &v) == 0 &&
		    ipc_get_str(&m, line, sizeof(line)) == 0) {
			fprintf(logfp, "auth[%d]: %s\n", (int)auth_pid, line);
			fflush(logfp);
		}
		if (m.hdr.type == want)
			return want == MSG_ACCOUNTS_R && (ipc_get_u32(&m, &v) == -1 || !v) ? -1 : 0;
	}
}

static int
auth_send_accounts(void)
{
	int afd = open_ro(accounts_path);

	ipc_init(&M, MSG_ACCOUNTS, 0);
	ipc_put_u32(&M, 0);
	ipc_set_fd(&M, afd);
	if (ipc_send(actl, &M) == -1)
		die("send accounts to auth: %s", strerror(errno));
	close(afd);
	return auth_wait(MSG_ACCOUNTS_R, 10000);
}

/* The auth process, started once, and a fresh channel between it and the
 * store just started (the master's auth_link). */
static void
auth_link(void)
{
	int sv[2];

	if (auth_pid <= 0) {
		auth_pid = spawn_role("auth", &actl);
		ipc_init(&M, MSG_CONF, 0);
		ipc_put_raw(&M, &conf, sizeof(conf));
		if (ipc_send(actl, &M) == -1)
			die("send conf to auth: %s", strerror(errno));
		if (auth_send_accounts() == -1 || auth_wait(MSG_READY, 10000) == -1)
			die("the auth process did not start (see the log)");
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair: %s", strerror(errno));
	ipc_init(&M, MSG_AUTH_CHANNEL, 0);
	ipc_set_fd(&M, sv[0]);
	if (ipc_send(ctl, &M) == -1)
		die("auth channel to the store: %s", strerror(errno));
	ipc_init(&M, MSG_AUTH_CHANNEL, 0);
	ipc_set_fd(&M, sv[1]);
	if (ipc_send(actl, &M) == -1)
		die("auth channel to auth: %s", strerror(errno));
	close(sv[0]);
	close(sv[1]);
}

static void
auth_stop(void)
{
	if (auth_pid > 0) {
		kill(auth_pid, SIGKILL);
		waitpid(auth_pid, NULL, 0);
	}
	auth_pid = -1;
	if (actl != -1)
		close(actl);
	actl = -1;
	if (auth_jail[0] != '\0')
		rmdir(auth_jail);
}

/* Starts the store the way the master does.  0 ready, -1 not. */
static int
store_start(char *err, size_t errsz)
{
	store_pid = spawn_role("store", &ctl);
	ipc_init(&M, MSG_CONF, 0);
	ipc_put_raw(&M, &conf, sizeof(conf));
	if (ipc_send(ctl, &M) == -1)
		die("send conf: %s", strerror(errno));
	if (send_accounts(err, errsz) == -1)
		return -1;
	if (control_wait(MSG_READY, NULL, 0, 10000) == -1) {
		strlcpy_(err, "no MSG_READY", errsz);
		return -1;
	}
	auth_link();
	return 0;
}

static pid_t killer_pid = -1;   /* killafter's child */

static void
store_kill(void)
{
	if (killer_pid > 0)
		waitpid(killer_pid, NULL, 0);
	killer_pid = -1;
	if (store_pid > 0) {
		kill(store_pid, SIGKILL);
		waitpid(store_pid, NULL, 0);
	}
	store_pid = -1;
	if (ctl != -1)
		close(ctl);
	ctl = -1;
	for (int i = 0; i < nchans; i++) {
		close(chans[i].fd);
		free(chans[i].wire);
		free(chans[i].uid);
	}
	nchans = 0;
}

static void
store_stop(void)
{
	int st;

	if (ctl != -1)
		close(ctl);
	ctl = -1;
	for (int i = 0; i < 200 && store_pid > 0; i++) {
		if (waitpid(store_pid, &st, WNOHANG) == store_pid) {
			store_pid = -1;
			break;
		}
		usleep(10000);
	}
	store_kill();
}

static struct pchan *
chan_get(const char *name)
{
	for (int i = 0; i < nchans; i++)
		if (strcmp(chans[i].name, name) == 0)
			return &chans[i];
	die("no channel %s", name);
	return NULL;
}

static struct pchan *
chan_open(const char *name, unsigned kind)
{
	int sv[2];
	struct pchan *c;

	if (nchans == MAXCHAN)
		die("too many channels");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		die("socketpair: %s", strerror(errno));
	ipc_init(&M, MSG_CHANNEL, 0);
	ipc_put_u32(&M, kind);
	ipc_put_u32(&M, (uint32_t)worker_pid_seq++);
	ipc_set_fd(&M, sv[1]);
	if (ipc_send(ctl, &M) == -1)
		die("send channel: %s", strerror(errno));
	close(sv[1]);
	c = &chans[nchans++];
	memset(c, 0, sizeof(*c));
	strlcpy_(c->name, name, sizeof(c->name));
	c->fd = sv[0];
	c->kind = kind;
	return c;
}

/* Sends M on c and waits for the answer (logs drained meanwhile).
 * 1 answer in A, 0 EOF, -1 timeout or error. */
static int
call(struct pchan *c, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	M.hdr.id = next_id++;
	if (ipc_send(c->fd, &M) == -1)
		return errno == EPIPE || errno == ECONNRESET ? 0 : -1;
	for (;;) {
		struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { ctl, POLLIN, 0 } };
		uint64_t now = now_ms();
		int r;

		if (now >= end)
			return -1;
		if (poll(p, ctl == -1 ? 1 : 2, (int)(end - now)) <= 0)
			continue;
		if (p[1].revents & POLLIN) {
			uint32_t t;
			control_one(&t, NULL, 0);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = ipc_recv(c->fd, &A);
			if (r == 1 && A.hdr.type == MSG_CHANGED && A.hdr.id == 0) {
				c->changed++;
				ipc_drop_fd(&A);
				continue;
			}
			if (r == 1 && A.hdr.id != M.hdr.id) {
				ipc_drop_fd(&A);
				continue;
			}
			return r == 1 ? 1 : r == 0 ? 0 : -1;
		}
	}
}

/* Is the channel closed by the store within ms? */
static int
chan_eof(struct pchan *c, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { ctl, POLLIN, 0 } };
		uint64_t now = now_ms();

		if (now >= end)
			return 0;
		if (poll(p, 2, (int)(end - now)) <= 0)
			continue;
		if (p[1].revents & POLLIN) {
			uint32_t t;
			control_one(&t, NULL, 0);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int r = ipc_recv(c->fd, &A);

			if (r <= 0)
				return 1;
			ipc_drop_fd(&A);
		}
	}
}

/* A memfd with text (LF lines turned into CRLF), sealed when asked. */
static int
make_memfd(const char *text, size_t n, int seal)
{
	int fd = memfd_create("ipcpeer", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd == -1)
		die("memfd: %s", strerror(errno));
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			write_all(fd, "\r", 1);
		write_all(fd, text + i, 1);
	}
	if (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) == -1)
		die("seal: %s", strerror(errno));
	return fd;
}

static char *
gen_message(unsigned long n, size_t *len)
{
	char *b = xmalloc(512);
	int r = snprintf(b, 512, "Received: from ipcpeer\nSubject: message %lu\n\n"
	    "body of message %lu\nFrom the ipcpeer tool\n.\nend %lu\n", n, n, n);

	*len = (size_t)r;
	return b;
}

static char *
read_file(const char *path, size_t *len)
{
	int fd = open_ro(path);
	struct stat st;
	char *b;

	if (fstat(fd, &st) == -1)
		die("%s: %s", path, strerror(errno));
	b = xmalloc((size_t)st.st_size + 1);
	if (read_full(fd, b, (size_t)st.st_size) != st.st_size)
		die("%s: short read", path);
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

/* APPEND; returns the status, or -1 timeout / -2 EOF. */
static int
do_append(struct pchan *c, const char *sender, const char *rcpts,
    const char *text, size_t n, int seal, char *out, size_t outsz)
{
	char list[4096], *save = NULL, *tok;
	uint32_t cnt = 0, st;
	int fd = make_memfd(text, n, seal), r;

	strlcpy_(list, rcpts, sizeof(list));
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		cnt++;
	ipc_init(&M, MSG_APPEND, 0);
	ipc_put_str(&M, "ipcpeer");
	ipc_put_str(&M, sender);
	ipc_put_u32(&M, cnt);
	strlcpy_(list, rcpts, sizeof(list));
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		ipc_put_str(&M, tok);
	ipc_set_fd(&M, fd);
	r = call(c, 10000);
	close(fd);
	if (r != 1)
		return r == 0 ? -2 : -1;
	if (A.hdr.type != MSG_APPEND_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, out, outsz) == -1)
		return -1;
	return (int)st;
}

static int
do_auth(struct pchan *c, const char *user, const char *pass, const char *addr,
    uint32_t *delay)
{
	uint32_t st, count;
	uint64_t oct;
	char acc[LIM_NAME + 1];

	ipc_init(&M, MSG_AUTH, 0);
	ipc_put_str(&M, user);
	ipc_put_str(&M, pass);
	ipc_put_str(&M, addr);
	if (call(c, 30000) != 1 || A.hdr.type != MSG_AUTH_R ||
	    ipc_get_u32(&A, &st) == -1 || ipc_get_u32(&A, delay) == -1)
		return -1;
	if (st != AUTH_OK)
		return (int)st;
	if (ipc_get_str(&A, acc, sizeof(acc)) == -1 || ipc_get_u32(&A, &count) == -1 ||
	    ipc_get_u64(&A, &oct) == -1 || A.fd < 0)
		return -1;
	{
		struct stat sb;
		unsigned char *p = NULL;
		struct ipc_reader rd;

		fstat(A.fd, &sb);
		if (sb.st_size > 0) {
			p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, A.fd, 0);
			if (p == MAP_FAILED)
				return -1;
		}
		rd_init(&rd, p, (size_t)sb.st_size);
		free(c->wire);
		free(c->uid);
		c->wire = xcalloc(count + 1, sizeof(*c->wire));
		c->uid = xcalloc(count + 1, sizeof(*c->uid));
		c->count = count;
		for (uint32_t i = 0; i < count; i++)
			if (rd_u64(&rd, &c->wire[i]) == -1 ||
			    rd_str(&rd, c->uid[i], sizeof(c->uid[i])) == -1)
				return -1;
		if (p)
			munmap(p, (size_t)sb.st_size);
		ipc_drop_fd(&A);
	}
	return 0;
}

/*
 * RETR with read-ahead: the messages in *buf one after the other, their
 * numbers and lengths in no[]/lens[] (*n of them, at most 1 + ahead).
 * Status or -1/-2.
 */
static int
do_retr_ahead(struct pchan *c, uint32_t first, uint32_t lines, uint32_t ahead,
    char **buf, size_t *len, uint32_t *no, uint64_t *lens, uint32_t *n)
{
	struct stat sb;
	uint64_t tot = 0;
	uint32_t st;
	int r, seals;

	ipc_init(&M, MSG_RETR, 0);
	ipc_put_u32(&M, first);
	ipc_put_u32(&M, lines);
	ipc_put_u32(&M, ahead);
	r = call(c, 10000);
	if (r != 1)
		return r == 0 ? -2 : -1;
	if (ipc_get_u32(&A, &st) == -1)
		return -1;
	if (st != STORE_OK)
		return (int)st;
	if (ipc_get_u32(&A, n) == -1 || *n == 0 || *n > 1 + ahead ||
	    *n > 1 + LIM_RETR_AHEAD || A.fd < 0)
		return -1;
	for (uint32_t i = 0; i < *n; i++) {
		if (ipc_get_u32(&A, &no[i]) == -1 || ipc_get_u64(&A, &lens[i]) == -1)
			return -1;
		tot += lens[i];
	}
	if (ipc_end(&A) == -1 || fstat(A.fd, &sb) == -1 || (uint64_t)sb.st_size != tot)
		return -1;
	/* the store never hands a worker a mailbox file's descriptor;
	 * a message comes in a memfd sealed against every change */
	seals = fcntl(A.fd, F_GET_SEALS);
	if (seals == -1 || (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) !=
	    (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		fprintf(stderr, "ipcpeer: RETR answer fd is not a sealed memfd\n");
		return -1;
	}
	*buf = xmalloc((size_t)tot + 1);
	if (pread(A.fd, *buf, (size_t)tot, 0) != (ssize_t)tot)
		return -1;
	(*buf)[tot] = '\0';
	*len = (size_t)tot;
	ipc_drop_fd(&A);
	return 0;
}

/* Writes buf[0..len) to path (a test's check reads it back). */
static void
save_file(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "w");
	int ok = f != NULL && fwrite(buf, 1, len, f) == len;

	if ((f != NULL && fclose(f) != 0) || !ok)
		fprintf(stderr, "ipcpeer: cannot write %s\n", path);
}

/* RETR (no read-ahead) into a malloc'ed buffer; status or -1/-2. */
static int
do_retr(struct pchan *c, uint32_t n, uint32_t lines, char **buf, size_t *len)
{
	uint32_t no[1], k;
	uint64_t lens[1];

	return do_retr_ahead(c, n, lines, 0, buf, len, no, lens, &k);
}

static int
simple(struct pchan *c, uint32_t type, int has_no, uint32_t no, uint32_t *extra)
{
	uint32_t st;
	int r;

	ipc_init(&M, type, 0);
	if (has_no) {
		ipc_put_u32(&M, 1);    /* DELE: one mark */
		ipc_put_u32(&M, no);
	}
	r = call(c, 30000);
	if (r != 1)
		return r == 0 ? -2 : -1;
	if (ipc_get_u32(&A, &st) == -1)
		return -1;
	if (extra && ipc_get_u32(&A, extra) == -1)
		return -1;
	return (int)st;
}

static void
send_raw_dgram(struct pchan *c, const void *buf, size_t n, int fd1, int fd2)
{
	struct msghdr mh;
	struct iovec iov = { (void *)(uintptr_t)buf, n };
	union { struct cmsghdr a; char b[CMSG_SPACE(2 * sizeof(int))]; } cm;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd1 >= 0) {
		struct cmsghdr *h;
		int fds[2] = { fd1, fd2 };
		size_t nfd = fd2 >= 0 ? 2 : 1;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(h), fds, nfd * sizeof(int));
	}
	if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) == -1)
		printf("# sendmsg: %s\n", strerror(errno));
}

/* ---- the fault loops ---- */

static const char *
pass(void)
{
	return getenv("IPCPEER_PASS") ? getenv("IPCPEER_PASS") : "x";
}

static size_t
count_lf(const char *b, size_t n)
{
	size_t lf = 0;

	for (size_t k = 0; k < n; k++)
		lf += b[k] == '\n';
	return lf;
}

static uint64_t
rnd(uint64_t n)
{
	return n ? (uint64_t)random() % n : 0;
}

/* Checks the mailbox through a POP3 channel: every acked message present
 * exactly once, each whole.  Prints a summary; returns 0 when good. */
/* Messages marked by a COMMIT whose answer never came (the store was
 * killed): group g's messages must be all present or all gone. */
static int verify_no_rp;       /* the messages came by IMAP APPEND */
static int do_imap_auth(struct pchan *c, const char *user, const char *pass,
    const char *addr, uint32_t *delay, char *acc, size_t accsz);
static int do_iappend(struct pchan *c, const char *folder, uint32_t flags, uint64_t date,
    const char *text, size_t n, const char *kws, char *out, size_t outsz,
    uint32_t *uidvalidity, uint32_t *uid);
static unsigned *grp;          /* per message number: its group, 0 none */
static unsigned ngrp;

static int
verify(const char *rcpt, const unsigned char *acked, unsigned long max,
    const unsigned char *gone, int *present_out)
{
	unsigned *gsize = xcalloc(ngrp + 1, sizeof(unsigned));
	unsigned *gseen = xcalloc(ngrp + 1, sizeof(unsigned));

	struct pchan *c = chan_open("verify", CHAN_POP3);
	unsigned char *seen = xcalloc(max + 1, 1);
	uint32_t delay;
	int bad = 0, present = 0;

	if (do_auth(c, rcpt, pass(), "127.0.0.1", &delay) != 0) {
		printf("verify auth failed\n");
		return -1;
	}
	for (uint32_t i = 1; i <= c->count; i++) {
		char *b = NULL, *p, want[512];
		size_t len = 0, wl;
		unsigned long n;
		int st = do_retr(c, i, LIM_ALL_LINES, &b, &len);

		if (st != 0) {
			printf("verify: retr %u failed (%d)\n", i, st);
			bad++;
			continue;
		}
		p = strstr(b, "Subject: message ");
		if (p == NULL || sscanf(p, "Subject: message %lu", &n) != 1 || n > max) {
			printf("verify: message %u unrecognised\n", i);
			bad++;
		} else {
			char *g = gen_message(n, &wl);
			/* expected: Return-Path line + the generated text (an
			 * IMAP APPEND has no Return-Path) */
			snprintf(want, sizeof(want), "%s%s", verify_no_rp ? "" :
			    "Return-Path: <s@example.org>\n", g);
			free(g);
			if (strcmp(b, want) != 0) {
				printf("verify: message %u (n=%lu) is not whole\n", i, n);
				bad++;
			}
			if (seen[n]++)
				printf("verify: message n=%lu seen twice\n", n), bad++;
			if (gone && gone[n])
				printf("verify: message n=%lu deleted by an acked COMMIT is back\n", n), bad++;
			if (grp && grp[n])
				gseen[grp[n]]++;
		}
		if (c->wire[i - 1] != len + count_lf(b, len)) {
			printf("verify: message %u wire octets %llu disagree\n", i,
			    (unsigned long long)c->wire[i - 1]);
			bad++;
		}
		free(b);
		present++;
	}
	for (unsigned long n = 1; grp && n <= max; n++)
		if (grp[n])
			gsize[grp[n]]++;
	for (unsigned g = 1; g <= ngrp; g++)
		if (gseen[g] != 0 && gseen[g] != gsize[g]) {
			printf("verify: interrupted COMMIT %u half done (%u of %u left)\n", g,
			    gseen[g], gsize[g]);
			bad++;
		}
	free(gsize);
	free(gseen);
	for (unsigned long n = 1; n <= max; n++)
		if (acked[n] && !seen[n] && !(gone && gone[n]) && !(grp && grp[n])) {
			printf("verify: acked message n=%lu missing\n", n);
			bad++;
		}
	simple(c, MSG_RELEASE, 0, 0, NULL);
	free(seen);
	*present_out = present;
	return bad ? -1 : 0;
}

static void
faults(const char *mode, int kills, int seconds, const char *rcpt)
{
	uint64_t end = now_ms() + (uint64_t)seconds * 1000;
	unsigned long max = 200000, next = 1, nacked = 0;
	unsigned char *acked = xcalloc(max + 1, 1), *gone = xcalloc(max + 1, 1);
	int done = 0, commits = 0, committed = 0, present = 0;
	char err[512], text[512];
	int commit_mode = strcmp(mode, "commit") == 0;

	grp = commit_mode ? xcalloc(max + 1, sizeof(*grp)) : NULL;

	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	while (done < kills && now_ms() < end && next < max - 100) {
		struct pchan *c;
		pid_t child;
		uint64_t kill_after = 1 + rnd(25);

		if (store_start(err, sizeof(err)) == -1)
			die("store start: %s", err);
		if (commit_mode) {
			/* a few appends, then delete some and commit, killed
			 * at a random moment */
			c = chan_open("w", CHAN_SMTP);
			for (int k = 0; k < 3; k++) {
				size_t len;
				char *g = gen_message(next, &len);

				if (do_append(c, "s@example.org", rcpt, g, len, 1, text,
				    sizeof(text)) == STORE_OK) {
					acked[next] = 1;
					nacked++;
				}
				free(g);
				next++;
			}
			c = chan_open("p", CHAN_POP3);
			{
				uint32_t delay, deleted = 0;
				unsigned long marked[64];
				int nm = 0;

				if (do_auth(c, rcpt, pass(), "127.0.0.1", &delay) == 0) {
					for (uint32_t i = 1; i <= c->count && nm < 64; i++)
						if (rnd(3) == 0) {
							/* learn its number n */
							char *b;
							size_t len;
							unsigned long n;

							if (do_retr(c, i, 0, &b, &len) == 0) {
								char *s = strstr(b, "Subject: message ");
								if (s && sscanf(s, "Subject: message %lu", &n) == 1 &&
								    simple(c, MSG_DELE, 1, i, NULL) == 0)
									marked[nm++] = n;
								free(b);
							}
						}
					commits++;
					/* the killer: SIGKILL at a random point */
					{
						pid_t k = fork();
						if (k == 0) {
							usleep((useconds_t)(rnd(3000)));
							kill(store_pid, SIGKILL);
							_exit(0);
						}
						if (simple(c, MSG_COMMIT, 0, 0, &deleted) == STORE_OK) {
							committed++;
							/* a message of an earlier interrupted
							 * COMMIT that this one deletes leaves
							 * that group: judge it on the rest */
							for (int j = 0; j < nm; j++) {
								gone[marked[j]] = 1;
								grp[marked[j]] = 0;
							}
						} else if (nm > 0) {
							ngrp++;
							for (int j = 0; j < nm; j++)
								grp[marked[j]] = ngrp;
						}
						waitpid(k, NULL, 0);
					}
				}
			}
		} else if (strcmp(mode, "iappends") == 0) {
			uint32_t delay, uv, uid;
			char acc[LIM_NAME + 1];

			c = chan_open("i", CHAN_IMAP);
			if (do_imap_auth(c, rcpt, pass(), "127.0.0.1", &delay, acc,
			    sizeof(acc)) != AUTH_OK)
				die("faults: imap login failed");
			child = fork();
			if (child == 0) {
				usleep((useconds_t)(kill_after * 1000));
				kill(store_pid, SIGKILL);
				_exit(0);
			}
			for (;;) {
				size_t len;
				char *g = gen_message(next, &len);
				int st = do_iappend(c, "INBOX", 0, 0, g, len, NULL, text,
				    sizeof(text), &uv, &uid);

				free(g);
				if (st == STORE_OK) {
					acked[next] = 1;
					nacked++;
				}
				next++;
				if (st < 0 || next >= max - 100)
					break;
			}
			waitpid(child, NULL, 0);
		} else {
			c = chan_open("w", CHAN_SMTP);
			child = fork();
			if (child == 0) {
				usleep((useconds_t)(kill_after * 1000));
				kill(store_pid, SIGKILL);
				_exit(0);
			}
			for (;;) {
				size_t len;
				char *g = gen_message(next, &len);
				int st = do_append(c, "s@example.org", rcpt, g, len, 1, text,
				    sizeof(text));

				free(g);
				if (st == STORE_OK) {
					acked[next] = 1;
					nacked++;
				}
				next++;
				if (st < 0 || next >= max - 100)
					break;
			}
			waitpid(child, NULL, 0);
		}
		store_kill();
		done++;
	}
	if (store_start(err, sizeof(err)) == -1)
		die("store start: %s", err);
	verify_no_rp = strcmp(mode, "iappends") == 0;
	if (verify(rcpt, acked, next, commit_mode ? gone : NULL, &present) == 0)
		printf("faults ok kills=%d acked=%lu present=%d commits=%d committed=%d\n",
		    done, nacked, present, commits, committed);
	else
		printf("faults FAILED kills=%d acked=%lu present=%d\n", done, nacked, present);
	free(acked);
	free(gone);
}

/* ---- IMAP folders ---- */

/* A folder name argument into a malloc'ed buffer (see the commands). */
static char *
folder_arg(const char *a, size_t *len)
{
	size_t n = 0, cap = strlen(a) + 1;
	char *b;

	if (strcmp(a, "@empty") == 0) {
		*len = 0;
		return xcalloc(1, 1);
	}
	if (strncmp(a, "@name:", 6) == 0 || strncmp(a, "@comp:", 6) == 0) {
		size_t want = strtoul(a + 6, NULL, 10);

		b = xmalloc(want + 1);
		for (size_t i = 0; i < want; i++)
			b[i] = a[1] == 'n' && i % 201 == 200 && i + 1 < want ? '/' : 'a';
		*len = want;
		return b;
	}
	b = xmalloc(cap);
	for (size_t i = 0; a[i] != '\0'; i++) {
		if (a[i] == '\\' && a[i + 1] == 'x' && a[i + 2] && a[i + 3]) {
			char hex[3] = { a[i + 2], a[i + 3], '\0' };

			b[n++] = (char)strtoul(hex, NULL, 16);
			i += 3;
		} else if (a[i] == '\\' && a[i + 1] == 's') {
			b[n++] = ' ';
			i++;
		} else if (a[i] == '\\' && a[i + 1] == '\\') {
			b[n++] = '\\';
			i++;
		} else
			b[n++] = a[i];
	}
	*len = n;
	return b;
}

/* Prints a name with the escapes folder_arg() reads. */
static void
print_folder(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ')
			printf("\\s");
		else if (p[i] == '\\')
			printf("\\\\");
		else if (p[i] < 0x21 || p[i] == 0x7f)
			printf("\\x%02x", p[i]);
		else
			putchar(p[i]);
	}
}

static int
do_imap_auth(struct pchan *c, const char *user, const char *pass, const char *addr,
    uint32_t *delay, char *acc, size_t accsz)
{
	uint32_t st;

	acc[0] = '\0';
	ipc_init(&M, MSG_IMAP_AUTH, 0);
	ipc_put_str(&M, user);
	ipc_put_str(&M, pass);
	ipc_put_str(&M, addr);
	if (call(c, 30000) != 1)
		return -2;
	if (A.hdr.type != MSG_IMAP_AUTH_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_u32(&A, delay) == -1)
		return -1;
	if (st == AUTH_OK && ipc_get_str(&A, acc, accsz) == -1)
		return -1;
	if (ipc_end(&A) == -1 || A.fd >= 0)
		return -1;
	return (int)st;
}

/* One folder request; prints "CMD ST TEXT" or "CMD eof". */
static void
do_folder(const char *cmd, struct pchan *c, uint32_t type, int on, const char *a,
    const char *b)
{
	char *n1, *n2 = NULL, text[512];
	size_t l1, l2 = 0;
	uint32_t st;
	int r;

	n1 = folder_arg(a, &l1);
	if (b != NULL)
		n2 = folder_arg(b, &l2);
	ipc_init(&M, type, 0);
	if (type == MSG_FOLDER_SUBSCRIBE)
		ipc_put_u32(&M, (uint32_t)on);
	if (l1 + l2 + 16 > IPC_MAX_PAYLOAD)
		die("%s: names too long for one message", cmd);
	ipc_put_bytes(&M, n1, l1);
	if (n2 != NULL)
		ipc_put_bytes(&M, n2, l2);
	free(n1);
	free(n2);
	r = call(c, 10000);
	if (r == 0) {
		printf("%s eof\n", cmd);
		return;
	}
	if (r != 1 || A.hdr.type != type + 1 || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1 || ipc_end(&A) == -1 || A.fd >= 0) {
		printf("%s malformed answer\n", cmd);
		ipc_drop_fd(&A);
		return;
	}
	if (text[0] != '\0')
		printf("%s %u %s\n", cmd, st, text);
	else
		printf("%s %u\n", cmd, st);
}

static void
do_flist(struct pchan *c)
{
	static const char *const uses[] = { "sent", "drafts", "trash", "junk", "archive" };
	char text[512];
	uint32_t st, n;
	struct stat sb;
	unsigned char *p = NULL;
	struct ipc_reader rd;
	int r, seals;

	ipc_init(&M, MSG_FOLDER_LIST, 0);
	r = call(c, 10000);
	if (r == 0) {
		printf("flist eof\n");
		return;
	}
	if (r != 1 || A.hdr.type != MSG_FOLDER_LIST_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1) {
		printf("flist malformed answer\n");
		ipc_drop_fd(&A);
		return;
	}
	if (st != STORE_OK) {
		printf("flist %u %s\n", st, text);
		ipc_drop_fd(&A);
		return;
	}
	seals = A.fd >= 0 ? fcntl(A.fd, F_GET_SEALS) : -1;
	if (ipc_get_u32(&A, &n) == -1 || ipc_end(&A) == -1 || A.fd < 0 ||
	    fstat(A.fd, &sb) == -1 || seals == -1 ||
	    (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) !=
	    (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		printf("flist malformed answer (not a sealed memfd)\n");
		ipc_drop_fd(&A);
		return;
	}
	if (sb.st_size > 0 && (p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
	    A.fd, 0)) == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	rd_init(&rd, p, (size_t)sb.st_size);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t attrs, use, len;
		int any = 0;

		if (rd_u32(&rd, &attrs) == -1 || rd_u32(&rd, &use) == -1 ||
		    rd_u32(&rd, &len) == -1 || len > rd.len - rd.pos) {
			printf("flist malformed listing at %u\n", i);
			break;
		}
		printf("folder ");
		print_folder(rd.p + rd.pos, len);
		rd.pos += len;
		printf(" ");
		if (attrs & FA_NOSELECT)
			printf("%snoselect", any++ ? "," : "");
		if (attrs & FA_SUBSCRIBED)
			printf("%ssub", any++ ? "," : "");
		if (attrs & FA_HASCHILDREN)
			printf("%schildren", any++ ? "," : "");
		printf("%s ", any ? "" : "-");
		any = 0;
		for (int k = 0; k < 5; k++)
			if (use & (1u << k))
				printf("%s%s", any++ ? "," : "", uses[k]);
		printf("%s\n", any ? "" : "-");
	}
	if (!rd_done(&rd))
		printf("flist trailing bytes in the listing\n");
	printf("flist 0 n=%u\n", n);
	if (p != NULL)
		munmap(p, (size_t)sb.st_size);
	ipc_drop_fd(&A);
}

/* ---- IMAP views ---- */

/* The memfd of an answer, mapped (NULL and *n 0 when empty); checks the
 * seals.  -1: not a sealed memfd. */
static int
map_sealed(int fd, unsigned char **p, size_t *n)
{
	struct stat sb;
	int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;

	*p = NULL;
	*n = 0;
	if (fd < 0 || fstat(fd, &sb) == -1 || seals == -1 ||
	    (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) !=
	    (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return -1;
	if (sb.st_size > 0 && (*p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
	    fd, 0)) == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	*n = (size_t)sb.st_size;
	return 0;
}

static char vkw[1024][64];      /* the view's keywords, as last told */
static uint32_t nvkw;

static int
read_kwlist(struct ipc_reader *rd, uint32_t nkw)
{
	if (nkw > 1024)
		return -1;
	for (uint32_t i = 0; i < nkw; i++)
		if (rd_str(rd, vkw[i], sizeof(vkw[i])) == -1)
			return -1;
	nvkw = nkw;
	return 0;
}

static void
print_flags(uint32_t f)
{
	static const char *const names[] = { "seen", "answered", "flagged", "deleted", "draft" };
	int any = 0;

	for (int k = 0; k < 5; k++)
		if (f & (1u << k))
			printf("%s%s", any++ ? "," : "", names[k]);
	if (f & VF_RECENT)
		printf("%srecent", any++ ? "," : "");
	if (f & ~(0x1fu | VF_RECENT))
		printf("%sbits=0x%x", any++ ? "," : "", f & ~(0x1fu | VF_RECENT));
	printf("%s", any ? "" : "-");
}

/* k keyword indexes, printed as names ("-" none).  -1 malformed. */
static int
print_kws(struct ipc_reader *rd)
{
	uint32_t k, ix;

	if (rd_u32(rd, &k) == -1 || k > 1024)
		return -1;
	for (uint32_t i = 0; i < k; i++) {
		if (rd_u32(rd, &ix) == -1 || ix >= nvkw)
			return -1;
		printf("%s%s", i ? "," : " ", vkw[ix]);
	}
	printf("%s\n", k ? "" : " -");
	return 0;
}

/* One message record (privsep/msg.h), printed after tag.  -1 malformed. */
static int
print_record(struct ipc_reader *rd, const char *tag)
{
	uint32_t uid, flags;
	uint64_t size, date;

	if (rd_u32(rd, &uid) == -1 || rd_u32(rd, &flags) == -1 || rd_u64(rd, &size) == -1 ||
	    rd_u64(rd, &date) == -1)
		return -1;
	printf("%s %u ", tag, uid);
	print_flags(flags);
	printf(" %llu %llu", (unsigned long long)size, (unsigned long long)date);
	return print_kws(rd);
}

static void
do_select(struct pchan *c, const char *cmd, int readonly, const char *a)
{
	char text[512];
	uint32_t st, uv, next, n, nkw;
	unsigned char *p = NULL;
	size_t plen = 0, len;
	struct ipc_reader rd;
	char *name = folder_arg(a, &len);
	int r;

	ipc_init(&M, MSG_SELECT, 0);
	ipc_put_u32(&M, (uint32_t)readonly);
	ipc_put_bytes(&M, name, len);
	free(name);
	r = call(c, 60000);
	if (r == 0) {
		printf("%s eof\n", cmd);
		return;
	}
	if (r != 1 || A.hdr.type != MSG_SELECT_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1) {
		printf("%s malformed answer\n", cmd);
		ipc_drop_fd(&A);
		return;
	}
	if (st != STORE_OK) {
		printf("%s %u %s%s\n", cmd, st, text, ipc_end(&A) == -1 || A.fd >= 0 ?
		    " (malformed)" : "");
		ipc_drop_fd(&A);
		return;
	}
	if (ipc_get_u32(&A, &uv) == -1 || ipc_get_u32(&A, &next) == -1 ||
	    ipc_get_u32(&A, &n) == -1 || ipc_get_u32(&A, &nkw) == -1 || ipc_end(&A) == -1 ||
	    map_sealed(A.fd, &p, &plen) == -1) {
		printf("%s malformed answer (no sealed memfd)\n", cmd);
		ipc_drop_fd(&A);
		return;
	}
	rd_init(&rd, p, plen);
	if (read_kwlist(&rd, nkw) == -1)
		printf("%s malformed keyword list\n", cmd);
	else
		for (uint32_t i = 0; i < n; i++)
			if (print_record(&rd, "msg") == -1) {
				printf("%s malformed record %u\n", cmd, i);
				break;
			}
	if (!rd_done(&rd))
		printf("%s trailing bytes\n", cmd);
	printf("%s 0 uidvalidity=%u uidnext=%u n=%u nkw=%u\n", cmd, uv, next, n, nkw);
	if (p != NULL)
		munmap(p, plen);
	ipc_drop_fd(&A);
}

static void
do_fetch(struct pchan *c, const char *what, const char *list, const char *file)
{
	char text[512];
	uint32_t st, m, n = 0;
	unsigned char *p = NULL;
	size_t plen = 0;
	uint64_t total = 0;
	int r;

	ipc_init(&M, MSG_FETCH, 0);
	ipc_put_u32(&M, strcmp(what, "whole") == 0 ? FETCH_WHOLE :
	    strcmp(what, "header") == 0 ? FETCH_HEADER : (uint32_t)strtoul(what, NULL, 0));
	/* the count, then the UIDs: counted first */
	for (const char *q = list; strcmp(list, "-") != 0 && *q;) {
		char *e;
		unsigned long a = strtoul(q, &e, 10), b = a;

		if (*e == '-')
			b = strtoul(e + 1, &e, 10);
		n += (uint32_t)(b - a + 1);
		q = *e == ',' ? e + 1 : e;
		if (*e != ',' && *e != '\0')
			die("fetch: bad list %s", list);
	}
	ipc_put_u32(&M, n);
	for (const char *q = list; strcmp(list, "-") != 0 && *q;) {
		char *e;
		unsigned long a = strtoul(q, &e, 10), b = a;

		if (*e == '-')
			b = strtoul(e + 1, &e, 10);
		for (unsigned long u = a; u <= b; u++)
			ipc_put_u32(&M, (uint32_t)u);
		q = *e == ',' ? e + 1 : e;
	}
	r = call(c, 60000);
	if (r == 0) {
		printf("fetch eof\n");
		return;
	}
	if (r != 1 || A.hdr.type != MSG_FETCH_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1) {
		printf("fetch malformed answer\n");
		ipc_drop_fd(&A);
		return;
	}
	if (st != STORE_OK) {
		printf("fetch %u %s\n", st, text);
		ipc_drop_fd(&A);
		return;
	}
	if (ipc_get_u32(&A, &m) == -1 || m == 0 || m > n) {
		printf("fetch malformed answer (count)\n");
		ipc_drop_fd(&A);
		return;
	}
	printf("fetch 0 m=%u", m);
	for (uint32_t i = 0; i < m; i++) {
		uint32_t uid;
		uint64_t len;

		if (ipc_get_u32(&A, &uid) == -1 || ipc_get_u64(&A, &len) == -1)
			break;
		printf(" %u:%llu", uid, (unsigned long long)len);
		total += len;
	}
	if (ipc_end(&A) == -1 || map_sealed(A.fd, &p, &plen) == -1 || plen != total)
		printf(" (malformed: %zu bytes for %llu)", plen, (unsigned long long)total);
	else if (file != NULL)
		save_file(file, (const char *)p, plen);
	printf("\n");
	if (p != NULL)
		munmap(p, plen);
	ipc_drop_fd(&A);
}

static void
do_sync(struct pchan *c)
{
	char text[512];
	uint32_t st, next, nexp, nnew, nflag, nkw;
	unsigned char *p = NULL;
	size_t plen = 0;
	struct ipc_reader rd;
	int r;

	ipc_init(&M, MSG_VIEW_SYNC, 0);
	r = call(c, 60000);
	if (r == 0) {
		printf("sync eof\n");
		return;
	}
	if (r != 1 || A.hdr.type != MSG_VIEW_SYNC_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1) {
		printf("sync malformed answer\n");
		ipc_drop_fd(&A);
		return;
	}
	if (st != STORE_OK) {
		printf("sync %u %s\n", st, text);
		ipc_drop_fd(&A);
		return;
	}
	if (ipc_get_u32(&A, &next) == -1 || ipc_get_u32(&A, &nexp) == -1 ||
	    ipc_get_u32(&A, &nnew) == -1 || ipc_get_u32(&A, &nflag) == -1 ||
	    ipc_get_u32(&A, &nkw) == -1 || ipc_end(&A) == -1 ||
	    ((nexp | nnew | nflag | nkw) != 0 && map_sealed(A.fd, &p, &plen) == -1) ||
	    ((nexp | nnew | nflag | nkw) == 0 && A.fd >= 0)) {
		printf("sync malformed answer\n");
		ipc_drop_fd(&A);
		return;
	}
	rd_init(&rd, p, plen);
	if (nkw > 0 && read_kwlist(&rd, nkw) == -1)
		printf("sync malformed keyword list\n");
	for (uint32_t i = 0; i < nexp; i++) {
		uint32_t uid;

		if (rd_u32(&rd, &uid) == -1)
			break;
		printf("exp %u\n", uid);
	}
	for (uint32_t i = 0; i < nnew; i++)
		if (print_record(&rd, "new") == -1) {
			printf("sync malformed record\n");
			break;
		}
	for (uint32_t i = 0; i < nflag; i++) {
		uint32_t uid, fl;

		if (rd_u32(&rd, &uid) == -1 || rd_u32(&rd, &fl) == -1)
			break;
		printf("flag %u ", uid);
		print_flags(fl);
		if (print_kws(&rd) == -1)
			break;
	}
	if (!rd_done(&rd))
		printf("sync trailing bytes\n");
	printf("sync 0 uidnext=%u exp=%u new=%u flag=%u nkw=%u\n", next, nexp, nnew, nflag, nkw);
	if (p != NULL)
		munmap(p, plen);
	ipc_drop_fd(&A);
}

/* MSG_CHANGED seen on c, waiting ms for more (any other message is a
 * protocol error of the store: printed). */
static void
do_changed(struct pchan *c, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd pf[2] = { { c->fd, POLLIN, 0 }, { ctl, POLLIN, 0 } };
		uint64_t now = now_ms();

		if (now >= end)
			break;
		if (poll(pf, 2, (int)(end - now)) <= 0)
			continue;
		if (pf[1].revents & POLLIN) {
			uint32_t t;
			control_one(&t, NULL, 0);
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			int r = ipc_recv(c->fd, &A);

			if (r <= 0) {
				printf("changed eof\n");
				return;
			}
			if (A.hdr.type == MSG_CHANGED && A.hdr.id == 0 && A.hdr.len == 0 &&
			    A.fd < 0)
				c->changed++;
			else
				printf("changed unexpected %s id=%u\n", msg_name(A.hdr.type),
				    A.hdr.id);
			ipc_drop_fd(&A);
		}
	}
	printf("changed %u\n", c->changed);
	c->changed = 0;
}

/* ---- IMAP flags, expunge, copy ---- */

/* UIDs of a list "1,3,7-9" ("-": none) into M: the count, then each. */
static uint32_t
put_uid_list(const char *list)
{
	uint32_t n = 0;

	for (int pass_ = 0; pass_ < 2; pass_++) {
		if (pass_ == 1)
			ipc_put_u32(&M, n);
		for (const char *q = list; strcmp(list, "-") != 0 && *q;) {
			char *e;
			unsigned long a = strtoul(q, &e, 10), b = a;

			if (*e == '-')
				b = strtoul(e + 1, &e, 10);
			if (*e != ',' && *e != '\0')
				die("bad UID list %s", list);
			if (pass_ == 0)
				n += (uint32_t)(b - a + 1);
			else
				for (unsigned long u = a; u <= b; u++)
					ipc_put_u32(&M, (uint32_t)u);
			q = *e == ',' ? e + 1 : e;
		}
	}
	return n;
}

static uint32_t
flags_from(const char *s)
{
	static const char *const names[] = { "seen", "answered", "flagged", "deleted", "draft" };
	uint32_t f = 0;
	char buf[256], *save = NULL;

	if (strcmp(s, "-") == 0)
		return 0;
	strlcpy_(buf, s, sizeof(buf));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k;

		for (k = 0; k < 5 && strcmp(t, names[k]) != 0; k++)
			;
		f |= k < 5 ? 1u << k : (uint32_t)strtoul(t, NULL, 0);
	}
	return f;
}

static void
do_store(struct pchan *c, const char *op, const char *fl, const char *kw, const char *list)
{
	char text[512], buf[4096], *save = NULL;
	uint32_t st, nkw = 0, m;
	unsigned char *p = NULL;
	size_t plen = 0;
	struct ipc_reader rd;
	int r;

	ipc_init(&M, MSG_STORE_FLAGS, 0);
	ipc_put_u32(&M, strcmp(op, "set") == 0 ? FLAGS_SET : strcmp(op, "add") == 0 ?
	    FLAGS_ADD : strcmp(op, "remove") == 0 ? FLAGS_REMOVE : (uint32_t)strtoul(op, NULL, 0));
	ipc_put_u32(&M, flags_from(fl));
	if (strcmp(kw, "-") != 0) {
		strlcpy_(buf, kw, sizeof(buf));
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
			nkw++;
	}
	ipc_put_u32(&M, nkw);
	if (nkw > 0) {
		strlcpy_(buf, kw, sizeof(buf));
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
			ipc_put_str(&M, t);
	}
	put_uid_list(list);
	r = call(c, 30000);
	if (r == 0) {
		printf("store eof\n");
		return;
	}
	if (r != 1 || A.hdr.type != MSG_STORE_FLAGS_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1) {
		printf("store malformed answer\n");
		ipc_drop_fd(&A);
		return;
	}
	if (st != STORE_OK) {
		printf("store %u %s\n", st, text);
		ipc_drop_fd(&A);
		return;
	}
	if (ipc_get_u32(&A, &nkw) == -1 || ipc_get_u32(&A, &m) == -1 || ipc_end(&A) == -1 ||
	    ((nkw | m) != 0 && map_sealed(A.fd, &p, &plen) == -1)) {
		printf("store malformed answer\n");
		ipc_drop_fd(&A);
		return;
	}
	rd_init(&rd, p, plen);
	if (nkw > 0 && read_kwlist(&rd, nkw) == -1)
		printf("store malformed keyword list\n");
	for (uint32_t i = 0; i < m; i++) {
		uint32_t uid, f;

		if (rd_u32(&rd, &uid) == -1 || rd_u32(&rd, &f) == -1)
			break;
		printf("flag %u ", uid);
		print_flags(f);
		if (print_kws(&rd) == -1)
			break;
	}
	if (!rd_done(&rd))
		printf("store trailing bytes\n");
	printf("store 0 m=%u nkw=%u\n", m, nkw);
	if (p != NULL)
		munmap(p, plen);
	ipc_drop_fd(&A);
}

static void
do_expunge(struct pchan *c, const char *list)
{
	char text[512];
	uint32_t st, m;
	unsigned char *p = NULL;
	size_t plen = 0;
	struct ipc_reader rd;
	int r;

	ipc_init(&M, MSG_EXPUNGE, 0);
	put_uid_list(list);
	r = call(c, 60000);
	if (r == 0) {
		printf("expunge eof\n");
		return;
	}
	if (r != 1 || A.hdr.type != MSG_EXPUNGE_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1) {
		printf("expunge malformed answer\n");
		ipc_drop_fd(&A);
		return;
	}
	if (st != STORE_OK) {
		printf("expunge %u %s\n", st, text);
		ipc_drop_fd(&A);
		return;
	}
	if (ipc_get_u32(&A, &m) == -1 || ipc_end(&A) == -1 ||
	    (m != 0 && map_sealed(A.fd, &p, &plen) == -1) || (m == 0 && A.fd >= 0) ||
	    plen != 4 * (size_t)m) {
		printf("expunge malformed answer\n");
		ipc_drop_fd(&A);
		return;
	}
	rd_init(&rd, p, plen);
	printf("expunge 0 m=%u", m);
	for (uint32_t i = 0; i < m; i++) {
		uint32_t uid;

		if (rd_u32(&rd, &uid) == -1)
			break;
		printf(" %u", uid);
	}
	printf("\n");
	if (p != NULL)
		munmap(p, plen);
	ipc_drop_fd(&A);
}

static void
do_copy(struct pchan *c, const char *cmd, int move, const char *f, const char *list)
{
	char text[512], *name;
	uint32_t st, uv, m;
	unsigned char *p = NULL;
	size_t plen = 0, len;
	struct ipc_reader rd;
	int r;

	ipc_init(&M, MSG_COPY, 0);
	ipc_put_u32(&M, (uint32_t)move);
	name = folder_arg(f, &len);
	ipc_put_bytes(&M, name, len);
	free(name);
	put_uid_list(list);
	r = call(c, 60000);
	if (r == 0) {
		printf("%s eof\n", cmd);
		return;
	}
	if (r != 1 || A.hdr.type != MSG_COPY_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1) {
		printf("%s malformed answer\n", cmd);
		ipc_drop_fd(&A);
		return;
	}
	if (st != STORE_OK) {
		printf("%s %u %s\n", cmd, st, text);
		ipc_drop_fd(&A);
		return;
	}
	if (ipc_get_u32(&A, &uv) == -1 || ipc_get_u32(&A, &m) == -1 || ipc_end(&A) == -1 ||
	    map_sealed(A.fd, &p, &plen) == -1 || plen != 8 * (size_t)m) {
		printf("%s malformed answer\n", cmd);
		ipc_drop_fd(&A);
		return;
	}
	rd_init(&rd, p, plen);
	printf("%s 0 uidvalidity=%u m=%u", cmd, uv, m);
	for (uint32_t i = 0; i < m; i++) {
		uint32_t a, b;

		if (rd_u32(&rd, &a) == -1 || rd_u32(&rd, &b) == -1)
			break;
		printf(" %u:%u", a, b);
	}
	printf("\n");
	if (p != NULL)
		munmap(p, plen);
	ipc_drop_fd(&A);
}

/* ---- IMAP fault loops: kill -9 of the store during STORE, EXPUNGE, MOVE ---- */

#define IF_MAX 20000
#define MF_SEEN_ 0x01u
#define MF_ANSWERED_ 0x02u
#define MF_FLAGGED_ 0x04u
#define MF_DELETED_ 0x08u
#define MF_DRAFT_ 0x10u
#define KW_SHIFT 8          /* expected flags: MF bits, then Kw1, Kw2 */
enum { IS_NONE, IS_MAYBE, IS_INBOX, IS_GONE, IS_MAYBEGONE, IS_TARGET, IS_MOVING, IS_BOTH };
static unsigned char ist[IF_MAX];
static uint32_t iuid[IF_MAX], ituid[IF_MAX], ief[IF_MAX], ipf[IF_MAX];
static unsigned char ipend[IF_MAX];
static uint32_t iuv, ituv;
static int ibad;

struct imsg { uint32_t uid, flags; unsigned long n; };

/* SELECT of folder f on c, then a FETCH of every message: *out (malloc'ed)
 * uid, flags (VF_RECENT dropped, Kw1/Kw2 as bits KW_SHIFT..) and the
 * message's number.  Count, or -1 (the store is gone or answered wrong). */
static int
iselect(struct pchan *c, const char *f, struct imsg **out, uint32_t *uvout)
{
	char text[512];
	uint32_t st, uv, next, n, nkw;
	unsigned char *p;
	size_t plen;
	struct ipc_reader rd;
	struct imsg *v;
	char kws[1024][64];

	*out = NULL;
	ipc_init(&M, MSG_SELECT, 0);
	ipc_put_u32(&M, 0);
	ipc_put_bytes(&M, f, strlen(f));
	if (call(c, 30000) != 1 || A.hdr.type != MSG_SELECT_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1 || st != STORE_OK ||
	    ipc_get_u32(&A, &uv) == -1 || ipc_get_u32(&A, &next) == -1 ||
	    ipc_get_u32(&A, &n) == -1 || ipc_get_u32(&A, &nkw) == -1 || nkw > 1024 ||
	    map_sealed(A.fd, &p, &plen) == -1) {
		ipc_drop_fd(&A);
		return -1;
	}
	*uvout = uv;
	rd_init(&rd, p, plen);
	for (uint32_t i = 0; i < nkw; i++)
		if (rd_str(&rd, kws[i], sizeof(kws[i])) == -1)
			return -1;
	v = xcalloc(n + 1, sizeof(*v));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t size, date;
		uint32_t k, ix;

		if (rd_u32(&rd, &v[i].uid) == -1 || rd_u32(&rd, &v[i].flags) == -1 ||
		    rd_u64(&rd, &size) == -1 || rd_u64(&rd, &date) == -1 || rd_u32(&rd, &k) == -1)
			return -1;
		v[i].flags &= 0x1f;
		for (uint32_t q = 0; q < k; q++) {
			if (rd_u32(&rd, &ix) == -1 || ix >= nkw)
				return -1;
			if (strcmp(kws[ix], "Kw1") == 0)
				v[i].flags |= 1u << KW_SHIFT;
			else if (strcmp(kws[ix], "Kw2") == 0)
				v[i].flags |= 2u << KW_SHIFT;
		}
	}
	if (p != NULL)
		munmap(p, plen);
	ipc_drop_fd(&A);
	/* the messages, one FETCH each (small) */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t m, u;
		uint64_t len;
		char *s, want[600];
		size_t wl;

		ipc_init(&M, MSG_FETCH, 0);
		ipc_put_u32(&M, FETCH_WHOLE);
		ipc_put_u32(&M, 1);
		ipc_put_u32(&M, v[i].uid);
		if (call(c, 30000) != 1 || ipc_get_u32(&A, &st) == -1 || st != STORE_OK ||
		    ipc_get_str(&A, text, sizeof(text)) == -1 || ipc_get_u32(&A, &m) == -1 ||
		    ipc_get_u32(&A, &u) == -1 || ipc_get_u64(&A, &len) == -1 ||
		    map_sealed(A.fd, &p, &plen) == -1 || plen != len) {
			ipc_drop_fd(&A);
			free(v);
			return -1;
		}
		s = xmalloc(plen + 1);
		if (p != NULL)
			memcpy(s, p, plen);
		s[plen] = '\0';
		if (p != NULL)
			munmap(p, plen);
		ipc_drop_fd(&A);
		if (strstr(s, "Subject: message ") == NULL ||
		    sscanf(strstr(s, "Subject: message "), "Subject: message %lu", &v[i].n) != 1 ||
		    v[i].n >= IF_MAX) {
			printf("iverify: %s UID %u unrecognised\n", f, v[i].uid);
			ibad++;
			v[i].n = 0;
		} else {
			char *g = gen_message(v[i].n, &wl);

			snprintf(want, sizeof(want), "Return-Path: <s@example.org>\n%s", g);
			free(g);
			if (strcmp(s, want) != 0) {
				printf("iverify: %s UID %u (n=%lu) is not whole\n", f, v[i].uid, v[i].n);
				ibad++;
			}
		}
		free(s);
	}
	*out = v;
	return (int)n;
}

/* Every message where it should be, once, whole, its UID and flags as
 * acknowledged (or as an interrupted request would have left them). */
static void
iverify(int with_target)
{
	struct pchan *c = chan_open("v", CHAN_IMAP);
	static unsigned char inb[IF_MAX], intg[IF_MAX];
	struct imsg *v = NULL, *w = NULL;
	uint32_t delay, uv = 0, tuv = 0;
	char acc[LIM_NAME + 1];
	int n, nt = 0;

	memset(inb, 0, sizeof(inb));
	memset(intg, 0, sizeof(intg));
	if (do_imap_auth(c, "alice", pass(), "127.0.0.1", &delay, acc, sizeof(acc)) != 0 ||
	    (n = iselect(c, "INBOX", &v, &uv)) < 0 ||
	    (with_target && (nt = iselect(c, "Target", &w, &tuv)) < 0)) {
		printf("iverify: the store does not answer\n");
		ibad++;
		return;
	}
	if (iuv != 0 && uv != iuv) {
		printf("iverify: INBOX UIDVALIDITY %u -> %u\n", iuv, uv);
		ibad++;
	}
	if (ituv != 0 && tuv != ituv) {
		printf("iverify: Target UIDVALIDITY %u -> %u\n", ituv, tuv);
		ibad++;
	}
	iuv = uv;
	ituv = tuv;
	for (int t = 0; t < 1 + with_target; t++) {
		struct imsg *x = t ? w : v;
		unsigned char *in = t ? intg : inb;
		uint32_t *uids = t ? ituid : iuid;

		for (int i = 0; i < (t ? nt : n); i++) {
			unsigned long k = x[i].n;

			if (k == 0)
				continue;
			if (in[k]++) {
				printf("iverify: n=%lu twice in %s\n", k, t ? "Target" : "INBOX");
				ibad++;
			}
			if (uids[k] != 0 && uids[k] != x[i].uid) {
				printf("iverify: n=%lu UID %u -> %u\n", k, uids[k], x[i].uid);
				ibad++;
			}
			uids[k] = x[i].uid;
			if (x[i].flags != ief[k] && !(ipend[k] && x[i].flags == ipf[k])) {
				printf("iverify: n=%lu flags 0x%x, acked 0x%x%s\n", k, x[i].flags,
				    ief[k], ipend[k] ? " (or the pending)" : "");
				ibad++;
			}
		}
	}
	for (unsigned long k = 1; k < IF_MAX; k++) {
		int a = inb[k] != 0, b = intg[k] != 0, ok;

		switch (ist[k]) {
		case IS_NONE: ok = !a && !b; break;
		case IS_MAYBE: ok = !b; break;
		case IS_INBOX: ok = a && !b; break;
		case IS_GONE: ok = !a && !b; break;
		case IS_MAYBEGONE: ok = !b; break;
		case IS_TARGET: ok = !a && b; break;
		case IS_MOVING: ok = a || b; break;
		default: ok = a && b; break;
		}
		if (!ok) {
			printf("iverify: n=%lu state %d but inbox=%d target=%d\n", k, ist[k], a, b);
			ibad++;
		}
		/* what the file shows is the truth from now on */
		ist[k] = a && b ? IS_BOTH : a ? IS_INBOX : b ? IS_TARGET :
		    ist[k] == IS_NONE || ist[k] == IS_MAYBE ? IS_NONE : IS_GONE;
		if (a || b) {
			struct imsg *x = a ? v : w;
			int cnt = a ? n : nt;

			for (int i = 0; i < cnt; i++)
				if (x[i].n == k)
					ief[k] = x[i].flags;
		}
		ipend[k] = 0;
	}
	free(v);
	free(w);
}

static uint32_t
rnd_flags(void)
{
	static const uint32_t pick[] = { MF_SEEN_, MF_FLAGGED_, MF_ANSWERED_, MF_DRAFT_,
	    1u << KW_SHIFT, 2u << KW_SHIFT };
	uint32_t f = 0;

	for (int i = 0, k = 1 + (int)rnd(2); i < k; i++)
		f |= pick[rnd(6)];
	return f;
}

/* One STORE of f (flags and Kw bits) on uids[0..n) of numbers ns[]. */
static int
istore(struct pchan *c, uint32_t op, uint32_t f, const uint32_t *uids,
    const unsigned long *ns, int n)
{
	uint32_t st, nk = ((f >> KW_SHIFT) & 1) + ((f >> KW_SHIFT) >> 1 & 1);
	char text[512];

	for (int i = 0; i < n; i++) {
		uint32_t e = ief[ns[i]];

		ipf[ns[i]] = op == FLAGS_ADD ? e | f : op == FLAGS_REMOVE ? e & ~f : f;
		ipend[ns[i]] = 1;
	}
	ipc_init(&M, MSG_STORE_FLAGS, 0);
	ipc_put_u32(&M, op);
	ipc_put_u32(&M, f & 0x1f);
	ipc_put_u32(&M, nk);
	if (f & (1u << KW_SHIFT))
		ipc_put_str(&M, "Kw1");
	if (f & (2u << KW_SHIFT))
		ipc_put_str(&M, "Kw2");
	ipc_put_u32(&M, (uint32_t)n);
	for (int i = 0; i < n; i++)
		ipc_put_u32(&M, uids[i]);
	if (call(c, 10000) != 1 || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, text, sizeof(text)) == -1) {
		ipc_drop_fd(&A);
		return -1;
	}
	ipc_drop_fd(&A);
	if (st != STORE_OK) {
		printf("ifaults: store %u %s\n", st, text);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		ief[ns[i]] = ipf[ns[i]];
		ipend[ns[i]] = 0;
	}
	return 0;
}

static void
ifaults(const char *mode, int kills, int seconds)
{
	uint64_t end = now_ms() + (uint64_t)seconds * 1000;
	int move = strcmp(mode, "move") == 0, expunge = strcmp(mode, "expunge") == 0;
	int done = 0, acked_ops = 0;
	unsigned long next = 1;
	char err[512], text[512];

	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	/* the first messages, and the target folder */
	if (store_start(err, sizeof(err)) == -1)
		die("store start: %s", err);
	{
		struct pchan *c = chan_open("i", CHAN_IMAP);
		uint32_t delay;
		char acc[LIM_NAME + 1];

		if (do_imap_auth(c, "alice", pass(), "127.0.0.1", &delay, acc, sizeof(acc)) != 0)
			die("ifaults: imap auth");
		if (move)
			do_folder("fcreate", c, MSG_FOLDER_CREATE, 0, "Target", NULL);
	}
	iverify(move);
	store_kill();
	while (done < kills && now_ms() < end && next < IF_MAX - 10) {
		struct pchan *c, *s;
		struct imsg *v = NULL;
		uint32_t delay, uv;
		char acc[LIM_NAME + 1];
		pid_t k;
		int n = 0;

		if (store_start(err, sizeof(err)) == -1)
			die("store start: %s", err);
		iverify(move);
		s = chan_open("s", CHAN_SMTP);
		for (int j = 0; j < 3; j++, next++) {
			size_t len;
			char *g = gen_message(next, &len);

			ist[next] = IS_MAYBE;
			if (do_append(s, "s@example.org", "alice", g, len, 1, text, sizeof(text)) ==
			    STORE_OK)
				ist[next] = IS_INBOX;
			free(g);
		}
		c = chan_open("i", CHAN_IMAP);
		if (do_imap_auth(c, "alice", pass(), "127.0.0.1", &delay, acc, sizeof(acc)) != 0 ||
		    (n = iselect(c, "INBOX", &v, &uv)) < 0)
			die("ifaults: select");
		for (int i = 0; i < n; i++)
			if (v[i].n != 0) {
				iuid[v[i].n] = v[i].uid;
				if (ist[v[i].n] == IS_MAYBE)
					ist[v[i].n] = IS_INBOX;
			}
		k = fork();
		if (k == 0) {
			usleep((useconds_t)rnd(40000));
			kill(store_pid, SIGKILL);
			_exit(0);
		}
		for (int ops = 0; ops < 200 && n > 0; ops++) {
			uint32_t uids[3];
			unsigned long ns[3];
			int m = 0, r = (int)rnd(10);

			/* up to three distinct messages of the view, ascending,
			 * only those solely in INBOX */
			for (int i = (int)rnd((uint64_t)n); i < n && m < 1 + (int)rnd(3); i++)
				if (v[i].n != 0 && ist[v[i].n] == IS_INBOX) {
					uids[m] = v[i].uid;
					ns[m++] = v[i].n;
				}
			if (m == 0)
				continue;
			if (expunge && r < 3) {
				/* mark one \Deleted, then expunge every marked one */
				if (istore(c, FLAGS_ADD, MF_DELETED_, uids, ns, 1) == -1)
					break;
				for (int i = 0; i < n; i++)
					if (v[i].n != 0 && ist[v[i].n] == IS_INBOX &&
					    (ief[v[i].n] & MF_DELETED_))
						ist[v[i].n] = IS_MAYBEGONE;
				ipc_init(&M, MSG_EXPUNGE, 0);
				ipc_put_u32(&M, 0);
				if (call(c, 10000) != 1)
					break;
				{
					uint32_t st, cnt, u;
					unsigned char *p;
					size_t plen;
					struct ipc_reader rd;

					if (ipc_get_u32(&A, &st) == -1 || st != STORE_OK ||
					    ipc_get_str(&A, text, sizeof(text)) == -1 ||
					    ipc_get_u32(&A, &cnt) == -1 ||
					    (cnt > 0 && map_sealed(A.fd, &p, &plen) == -1)) {
						ipc_drop_fd(&A);
						break;
					}
					if (cnt > 0) {
						rd_init(&rd, p, plen);
						while (rd_u32(&rd, &u) == 0)
							for (int i = 0; i < n; i++)
								if (v[i].uid == u && v[i].n != 0)
									ist[v[i].n] = IS_GONE;
						munmap(p, plen);
					}
					ipc_drop_fd(&A);
					for (int i = 0; i < n; i++)
						if (v[i].n != 0 && ist[v[i].n] == IS_MAYBEGONE) {
							printf("ifaults: n=%lu \\Deleted not expunged\n",
							    v[i].n);
							ibad++;
							ist[v[i].n] = IS_INBOX;
						}
				}
				{
					/* the view now lacks them */
					int w = 0;

					for (int i = 0; i < n; i++)
						if (v[i].n == 0 || ist[v[i].n] != IS_GONE)
							v[w++] = v[i];
					n = w;
				}
			} else if (move && r < 5) {
				uint32_t st, uvt, cnt;

				for (int i = 0; i < m; i++)
					ist[ns[i]] = IS_MOVING;
				ipc_init(&M, MSG_COPY, 0);
				ipc_put_u32(&M, 1);
				ipc_put_bytes(&M, "Target", 6);
				ipc_put_u32(&M, (uint32_t)m);
				for (int i = 0; i < m; i++)
					ipc_put_u32(&M, uids[i]);
				if (call(c, 10000) != 1 || ipc_get_u32(&A, &st) == -1 ||
				    ipc_get_str(&A, text, sizeof(text)) == -1 || st != STORE_OK ||
				    ipc_get_u32(&A, &uvt) == -1 || ipc_get_u32(&A, &cnt) == -1 ||
				    cnt != (uint32_t)m) {
					ipc_drop_fd(&A);
					break;
				}
				ipc_drop_fd(&A);
				for (int i = 0; i < m; i++)
					ist[ns[i]] = IS_TARGET;
				{
					int w = 0;

					for (int i = 0; i < n; i++)
						if (v[i].n == 0 || ist[v[i].n] != IS_TARGET)
							v[w++] = v[i];
					n = w;
				}
			} else {
				uint32_t op = 1 + (uint32_t)rnd(3), f = rnd_flags();

				if (op == FLAGS_SET)
					f |= ief[ns[0]] & MF_DELETED_;
				if (expunge || move)
					f &= ~(uint32_t)MF_DELETED_;
				if (istore(c, op, f, uids, ns, m) == -1)
					break;
			}
			acked_ops++;
		}
		waitpid(k, NULL, 0);
		free(v);
		store_kill();
		done++;
	}
	if (store_start(err, sizeof(err)) == -1)
		die("store start: %s", err);
	iverify(move);
	printf("faults %s kills=%d ops=%d messages=%lu\n", ibad ? "FAILED" : "ok", done,
	    acked_ops, next - 1);
}

/* ---- the script ---- */

static uint32_t
type_from(const char *s)
{
	for (uint32_t t = 0; t < MSG_TYPE_MAX; t++)
		if (strcmp(msg_name(t), s) == 0)
			return t;
	return (uint32_t)strtoul(s, NULL, 0);
}

/* ---- IMAP APPEND ---- */

/* The flags argument of iappend: a comma list, or "-". */
static uint32_t
flags_arg(const char *a)
{
	static const struct { const char *n; uint32_t bit; } fl[] = {
		{ "seen", VF_SEEN }, { "answered", VF_ANSWERED }, { "flagged", VF_FLAGGED },
		{ "deleted", VF_DELETED }, { "draft", VF_DRAFT }, { "recent", VF_RECENT },
		{ "bad", 0x80000000u },
	};
	char b[256], *save = NULL, *tok;
	uint32_t f = 0;

	if (strcmp(a, "-") == 0)
		return 0;
	strlcpy_(b, a, sizeof(b));
	for (tok = strtok_r(b, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
			if (strcmp(tok, fl[i].n) == 0)
				break;
		if (i == sizeof(fl) / sizeof(fl[0]))
			die("iappend: unknown flag %s", tok);
		f |= fl[i].bit;
	}
	return f;
}

/* Puts an MSG_IMAP_APPEND of text in M (fd: the caller closes it).  kws
 * a comma list or NULL; a keyword "@long" is 60 bytes. */
static int
put_iappend(const char *folder, uint32_t flags, uint64_t date, const char *text,
    size_t n, const char *kws)
{
	int fd = make_memfd(text, n, 1);
	char b[8192], *save = NULL, *tok, *name;
	uint32_t nkw = 0;
	size_t nl;

	name = folder_arg(folder, &nl);
	ipc_init(&M, MSG_IMAP_APPEND, 0);
	ipc_put_bytes(&M, name, nl);
	free(name);
	ipc_put_u32(&M, flags);
	if (kws != NULL && strcmp(kws, "-") != 0) {
		strlcpy_(b, kws, sizeof(b));
		for (tok = strtok_r(b, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			nkw++;
	}
	ipc_put_u32(&M, nkw);
	if (nkw > 0) {
		strlcpy_(b, kws, sizeof(b));
		for (tok = strtok_r(b, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			ipc_put_str(&M, strcmp(tok, "@long") == 0 ?
			    "k123456789k123456789k123456789k123456789k123456789k123456789" : tok);
	}
	ipc_put_u64(&M, date);
	ipc_set_fd(&M, fd);
	return fd;
}

/* The MSG_IMAP_APPEND_R in A: the status, or -1 malformed. */
static int
get_iappend_r(char *out, size_t outsz, uint32_t *uidvalidity, uint32_t *uid)
{
	uint32_t st;

	*uidvalidity = *uid = 0;
	if (A.hdr.type != MSG_IMAP_APPEND_R || ipc_get_u32(&A, &st) == -1 ||
	    ipc_get_str(&A, out, outsz) == -1)
		return -1;
	if (st == STORE_OK && (ipc_get_u32(&A, uidvalidity) == -1 ||
	    ipc_get_u32(&A, uid) == -1))
		return -1;
	if (ipc_end(&A) == -1 || A.fd >= 0)
		return -1;
	return (int)st;
}

/* MSG_IMAP_APPEND; the status, or -1 timeout or malformed, -2 EOF. */
static int
do_iappend(struct pchan *c, const char *folder, uint32_t flags, uint64_t date,
    const char *text, size_t n, const char *kws, char *out, size_t outsz,
    uint32_t *uidvalidity, uint32_t *uid)
{
	int fd = put_iappend(folder, flags, date, text, n, kws), r;

	r = call(c, 10000);
	close(fd);
	if (r != 1)
		return r == 0 ? -2 : -1;
	return get_iappend_r(out, outsz, uidvalidity, uid);
}

/* The answer of id on c (logs drained meanwhile): 1 in A, 0 EOF, -1. */
static int
wait_answer(struct pchan *c, uint32_t id, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	for (;;) {
		struct pollfd p[2] = { { c->fd, POLLIN, 0 }, { ctl, POLLIN, 0 } };
		uint64_t now = now_ms();
		int r;

		if (now >= end)
			return -1;
		if (poll(p, ctl == -1 ? 1 : 2, (int)(end - now)) <= 0)
			continue;
		if (p[1].revents & POLLIN) {
			uint32_t t;
			control_one(&t, NULL, 0);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = ipc_recv(c->fd, &A);
			if (r == 1 && A.hdr.id != id) {
				ipc_drop_fd(&A);
				continue;
			}
			return r == 1 ? 1 : r == 0 ? 0 : -1;
		}
	}
}

/* burst: R rounds of K APPENDs (smtp: MSG_APPEND, imap: MSG_IMAP_APPEND to
 * INBOX) sent on K channels before any answer: what the store's passes
 * make of concurrent requests.  Prints the rate. */
static void
do_burst(const char *kind, int rounds, int k, const char *account)
{
	struct pchan *ch[MAXCHAN];
	uint32_t ids[MAXCHAN];
	int imap = strcmp(kind, "imap") == 0, ok = 0;
	uint64_t t0;

	if (k < 1 || k > MAXCHAN - 8)
		die("burst: 1..%d channels", MAXCHAN - 8);
	for (int j = 0; j < k; j++) {
		char name[32], acc[LIM_NAME + 1];
		uint32_t delay;

		snprintf(name, sizeof(name), "burst%d", j);
		ch[j] = chan_open(name, imap ? CHAN_IMAP : CHAN_SMTP);
		if (imap && do_imap_auth(ch[j], account, pass(), "127.0.0.1", &delay, acc,
		    sizeof(acc)) != AUTH_OK)
			die("burst: imap login failed");
	}
	t0 = now_ms();
	for (int r = 0; r < rounds; r++) {
		for (int j = 0; j < k; j++) {
			size_t len;
			char *g = gen_message((unsigned long)r * (unsigned long)k + (unsigned long)j + 1,
			    &len);
			int fd;

			if (imap)
				fd = put_iappend("INBOX", 0, 0, g, len, NULL);
			else {
				fd = make_memfd(g, len, 1);
				ipc_init(&M, MSG_APPEND, 0);
				ipc_put_str(&M, "ipcpeer");
				ipc_put_str(&M, "s@example.org");
				ipc_put_u32(&M, 1);
				ipc_put_str(&M, account);
				ipc_set_fd(&M, fd);
			}
			M.hdr.id = ids[j] = next_id++;
			if (ipc_send(ch[j]->fd, &M) == -1)
				die("burst: send: %s", strerror(errno));
			close(fd);
			free(g);
		}
		for (int j = 0; j < k; j++) {
			uint32_t st;

			if (wait_answer(ch[j], ids[j], 30000) == 1 && ipc_get_u32(&A, &st) == 0 &&
			    st == STORE_OK)
				ok++;
			ipc_drop_fd(&A);
		}
	}
	{
		uint64_t ms = now_ms() - t0;

		printf("burst %s ok=%d of %d in %llu ms (%.0f a second)\n", kind, ok, rounds * k,
		    (unsigned long long)ms, ms ? ok * 1000.0 / (double)ms : 0.0);
	}
}

/* iboth: an SMTP APPEND and an IMAP APPEND sent before either answer. */
static void
do_iboth(struct pchan *s, struct pchan *i, const char *account, int n)
{
	int ok = 0;

	for (int k = 0; k < n; k++) {
		char text[512];
		size_t len;
		char *g = gen_message((unsigned long)k + 1, &len);
		uint32_t sid, iid, st, uv, uid;
		int sfd = make_memfd(g, len, 1), ifd, good = 1;

		ipc_init(&M, MSG_APPEND, 0);
		ipc_put_str(&M, "ipcpeer");
		ipc_put_str(&M, "s@example.org");
		ipc_put_u32(&M, 1);
		ipc_put_str(&M, account);
		ipc_set_fd(&M, sfd);
		M.hdr.id = sid = next_id++;
		if (ipc_send(s->fd, &M) == -1)
			die("iboth: send: %s", strerror(errno));
		close(sfd);
		ifd = put_iappend("INBOX", VF_SEEN, 0, g, len, NULL);
		M.hdr.id = iid = next_id++;
		if (ipc_send(i->fd, &M) == -1)
			die("iboth: send: %s", strerror(errno));
		close(ifd);
		free(g);
		if (wait_answer(s, sid, 10000) != 1 || A.hdr.type != MSG_APPEND_R ||
		    ipc_get_u32(&A, &st) == -1 || st != STORE_OK)
			good = 0;
		if (wait_answer(i, iid, 10000) != 1 ||
		    get_iappend_r(text, sizeof(text), &uv, &uid) != STORE_OK)
			good = 0;
		ok += good;
	}
	printf("iboth ok=%d of %d\n", ok, n);
}

static void
run_line(char *line)
{
	char *av[16];
	int ac = 0;
	char *save = NULL, *tok;
	char err[1024], text[512];

	if (strncmp(line, "sh ", 3) == 0) {
		int r = system(line + 3);
		printf("sh %d\n", r);
		fflush(stdout);
		return;
	}
	for (tok = strtok_r(line, " \t\n", &save); tok && ac < 16; tok = strtok_r(NULL, " \t\n", &save))
		av[ac++] = tok;
	if (ac == 0 || av[0][0] == '#')
		return;
#define NEED(n) do { if (ac < (n)) die("%s: missing arguments", av[0]); } while (0)
	if (strcmp(av[0], "start") == 0) {
		if (store_start(err, sizeof(err)) == 0)
			printf("started\n");
		else
			printf("start failed: %s\n", err);
	} else if (strcmp(av[0], "kill") == 0) {
		store_kill();
		printf("killed\n");
	} else if (strcmp(av[0], "restart") == 0) {
		store_kill();
		printf(store_start(err, sizeof(err)) == 0 ? "started\n" : "start failed\n");
	} else if (strcmp(av[0], "stop") == 0) {
		store_stop();
		printf("stopped\n");
	} else if (strcmp(av[0], "hup") == 0) {
		if (auth_pid > 0)
			(void)auth_send_accounts();   /* it keeps its tables on error too */
		if (send_accounts(err, sizeof(err)) == 0)
			printf("accounts ok\n");
		else {
			for (char *nl = err; (nl = strchr(nl, '\n')) != NULL;)
				*nl = '|';
			printf("accounts error: %s\n", err);
		}
	} else if (strcmp(av[0], "sleep") == 0) {
		NEED(2);
		control_drain(atoi(av[1]));
		printf("slept\n");
	} else if (strcmp(av[0], "chan") == 0) {
		NEED(3);
		chan_open(av[1], strcmp(av[2], "pop3") == 0 ? CHAN_POP3 :
		    strcmp(av[2], "imap") == 0 ? CHAN_IMAP : CHAN_SMTP);
		printf("chan %s\n", av[1]);
	} else if (strcmp(av[0], "close") == 0) {
		struct pchan *c;
		NEED(2);
		c = chan_get(av[1]);
		close(c->fd);
		c->fd = -1;
		control_drain(100);
		printf("closed %s\n", av[1]);
	} else if (strcmp(av[0], "alive") == 0) {
		NEED(2);
		printf("%s %s\n", chan_eof(chan_get(av[1]), 1500) ? "eof" : "alive", av[1]);
	} else if (strcmp(av[0], "lookup") == 0) {
		uint32_t st, n;
		NEED(3);
		ipc_init(&M, MSG_LOOKUP, 0);
		ipc_put_str(&M, av[2]);
		if (call(chan_get(av[1]), 5000) != 1 || ipc_get_u32(&A, &st) == -1 ||
		    ipc_get_u32(&A, &n) == -1) {
			printf("lookup eof\n");
			return;
		}
		printf("lookup %u", st);
		for (uint32_t i = 0; i < n; i++) {
			char nm[LIM_NAME + 1];
			if (ipc_get_str(&A, nm, sizeof(nm)) == 0)
				printf(" %s", nm);
		}
		printf("\n");
	} else if (strcmp(av[0], "append") == 0 || strcmp(av[0], "unsealed") == 0) {
		int sealed = strcmp(av[0], "append") == 0, st;
		char *body;
		size_t len;
		NEED(sealed ? 5 : 3);
		if (!sealed)
			body = gen_message(0, &len);
		else if (av[4][0] == '@')
			body = gen_message(strtoul(av[4] + 1, NULL, 10), &len);
		else
			body = read_file(av[4], &len);
		st = do_append(chan_get(av[1]), sealed ? av[2] : "s@example.org",
		    sealed ? av[3] : av[2], body, len, sealed, text, sizeof(text));
		free(body);
		if (st == -2)
			printf("append eof\n");
		else if (st == -1)
			printf("append timeout\n");
		else
			printf("append %d %s\n", st, text);
	} else if (strcmp(av[0], "auth") == 0) {
		uint32_t delay = 0;
		struct pchan *c;
		int st;
		NEED(4);
		c = chan_get(av[1]);
		st = do_auth(c, av[2], av[3], ac > 4 ? av[4] : "127.0.0.1", &delay);
		if (st == 0) {
			uint64_t o = 0;
			for (uint32_t i = 0; i < c->count; i++)
				o += c->wire[i];
			printf("auth 0 delay=%u count=%u octets=%llu\n", delay, c->count,
			    (unsigned long long)o);
		} else
			printf("auth %d delay=%u\n", st, delay);
	} else if (strcmp(av[0], "killafter") == 0) {
		NEED(2);
		if (killer_pid > 0)
			waitpid(killer_pid, NULL, 0);
		killer_pid = fork();
		if (killer_pid == 0) {
			usleep((useconds_t)strtoul(av[1], NULL, 10));
			kill(store_pid, SIGKILL);
			_exit(0);
		}
		printf("killafter %s\n", killer_pid > 0 ? "armed" : "failed");
	} else if (strcmp(av[0], "imapauth") == 0) {
		uint32_t delay = 0;
		char acc[LIM_NAME + 1];
		int st;
		NEED(4);
		st = do_imap_auth(chan_get(av[1]), av[2], av[3], ac > 4 ? av[4] : "127.0.0.1",
		    &delay, acc, sizeof(acc));
		if (st == -2)
			printf("imapauth eof\n");
		else if (st == AUTH_OK)
			printf("imapauth 0 delay=%u account=%s\n", delay, acc);
		else
			printf("imapauth %d delay=%u\n", st, delay);
	} else if (strcmp(av[0], "flist") == 0) {
		NEED(2);
		do_flist(chan_get(av[1]));
	} else if (strcmp(av[0], "fcreate") == 0 || strcmp(av[0], "fdelete") == 0 ||
	    strcmp(av[0], "fsub") == 0 || strcmp(av[0], "funsub") == 0) {
		NEED(3);
		do_folder(av[0], chan_get(av[1]), av[0][1] == 'c' ? MSG_FOLDER_CREATE :
		    av[0][1] == 'd' ? MSG_FOLDER_DELETE : MSG_FOLDER_SUBSCRIBE,
		    av[0][1] == 's', av[2], NULL);
	} else if (strcmp(av[0], "frename") == 0) {
		NEED(4);
		do_folder(av[0], chan_get(av[1]), MSG_FOLDER_RENAME, 0, av[2], av[3]);
	} else if (strcmp(av[0], "select") == 0 || strcmp(av[0], "examine") == 0) {
		NEED(3);
		do_select(chan_get(av[1]), av[0], av[0][0] == 'e', av[2]);
	} else if (strcmp(av[0], "fetch") == 0) {
		NEED(4);
		do_fetch(chan_get(av[1]), av[2], av[3], ac > 4 ? av[4] : NULL);
	} else if (strcmp(av[0], "sync") == 0) {
		NEED(2);
		do_sync(chan_get(av[1]));
	} else if (strcmp(av[0], "unselect") == 0) {
		uint32_t st;
		int r;
		NEED(2);
		ipc_init(&M, MSG_UNSELECT, 0);
		r = call(chan_get(av[1]), 10000);
		if (r == 0)
			printf("unselect eof\n");
		else if (r != 1 || A.hdr.type != MSG_UNSELECT_R || ipc_get_u32(&A, &st) == -1 ||
		    ipc_end(&A) == -1)
			printf("unselect malformed answer\n");
		else
			printf("unselect %u\n", st);
	} else if (strcmp(av[0], "store") == 0) {
		NEED(6);
		do_store(chan_get(av[1]), av[2], av[3], av[4], av[5]);
	} else if (strcmp(av[0], "fstatus") == 0) {
		char *name;
		size_t len;
		uint32_t st, n, next, uv, unseen, recent;
		uint64_t size;
		NEED(3);
		name = folder_arg(av[2], &len);
		ipc_init(&M, MSG_FOLDER_STATUS, 0);
		ipc_put_bytes(&M, name, len);
		free(name);
		if (call(chan_get(av[1]), 30000) != 1 || ipc_get_u32(&A, &st) == -1 ||
		    ipc_get_str(&A, text, sizeof(text)) == -1)
			printf("fstatus eof\n");
		else if (st != STORE_OK)
			printf("fstatus %u %s\n", st, text);
		else if (ipc_get_u32(&A, &n) == -1 || ipc_get_u32(&A, &next) == -1 ||
		    ipc_get_u32(&A, &uv) == -1 || ipc_get_u32(&A, &unseen) == -1 ||
		    ipc_get_u32(&A, &recent) == -1 || ipc_get_u64(&A, &size) == -1)
			printf("fstatus malformed answer\n");
		else
			printf("fstatus 0 messages=%u uidnext=%u uidvalidity=%u unseen=%u recent=%u "
			    "size=%llu\n", n, next, uv, unseen, recent, (unsigned long long)size);
	} else if (strcmp(av[0], "expunge") == 0) {
		NEED(2);
		do_expunge(chan_get(av[1]), ac > 2 ? av[2] : "-");
	} else if (strcmp(av[0], "copy") == 0 || strcmp(av[0], "move") == 0) {
		NEED(4);
		do_copy(chan_get(av[1]), av[0], av[0][0] == 'm', av[2], av[3]);
	} else if (strcmp(av[0], "changed") == 0) {
		NEED(2);
		do_changed(chan_get(av[1]), ac > 2 ? atoi(av[2]) : 500);
	} else if (strcmp(av[0], "list") == 0) {
		struct pchan *c;
		NEED(2);
		c = chan_get(av[1]);
		for (uint32_t i = 0; i < c->count; i++)
			printf("msg %u %llu %s\n", i + 1, (unsigned long long)c->wire[i], c->uid[i]);
		printf("list end\n");
	} else if (strcmp(av[0], "retr") == 0) {
		char *b = NULL;
		size_t len = 0;
		int st;
		NEED(3);
		st = do_retr(chan_get(av[1]), (uint32_t)strtoul(av[2], NULL, 10),
		    ac > 3 ? (uint32_t)strtoul(av[3], NULL, 10) : LIM_ALL_LINES, &b, &len);
		if (st == 0 && ac > 4)
			save_file(av[4], b, len);
		if (st == -2)
			printf("retr eof\n");
		else
			printf("retr %d len=%zu\n", st, len);
		free(b);
	} else if (strcmp(av[0], "ahead") == 0) {
		uint32_t no[1 + LIM_RETR_AHEAD + 8], n = 0;
		uint64_t lens[1 + LIM_RETR_AHEAD + 8];
		char *b = NULL;
		size_t len = 0;
		int st;
		NEED(4);
		st = do_retr_ahead(chan_get(av[1]), (uint32_t)strtoul(av[2], NULL, 10),
		    LIM_ALL_LINES, (uint32_t)strtoul(av[3], NULL, 10), &b, &len, no, lens, &n);
		if (st == 0 && ac > 4)
			save_file(av[4], b, len);
		if (st == -2)
			printf("ahead eof\n");
		else {
			printf("ahead %d n=%u", st, st == 0 ? n : 0);
			for (uint32_t i = 0; st == 0 && i < n; i++)
				printf(" %u:%llu", no[i], (unsigned long long)lens[i]);
			printf("\n");
		}
		free(b);
	} else if (strcmp(av[0], "deles") == 0) {
		struct pchan *c;
		uint32_t st;
		int r;
		NEED(3);
		c = chan_get(av[1]);
		ipc_init(&M, MSG_DELE, 0);
		ipc_put_u32(&M, (uint32_t)(ac - 2));
		for (int i = 2; i < ac; i++)
			ipc_put_u32(&M, (uint32_t)strtoul(av[i], NULL, 10));
		r = call(c, 10000);
		if (r == 0)
			printf("deles eof\n");
		else if (r != 1 || ipc_get_u32(&A, &st) == -1)
			printf("deles -1\n");
		else
			printf("deles %u\n", st);
	} else if (strcmp(av[0], "dele") == 0 || strcmp(av[0], "undo") == 0 ||
	    strcmp(av[0], "release") == 0 || strcmp(av[0], "commit") == 0) {
		uint32_t t = av[0][0] == 'd' ? MSG_DELE : av[0][0] == 'u' ? MSG_UNDO :
		    av[0][0] == 'r' ? MSG_RELEASE : MSG_COMMIT, extra = 0;
		int st;
		NEED(2);
		st = simple(chan_get(av[1]), t, t == MSG_DELE, ac > 2 ?
		    (uint32_t)strtoul(av[2], NULL, 10) : 0, t == MSG_COMMIT ? &extra : NULL);
		if (st == -2)
			printf("%s eof\n", av[0]);
		else if (t == MSG_COMMIT)
			printf("commit %d %u\n", st, extra);
		else
			printf("%s %d\n", av[0], st);
	} else if (strcmp(av[0], "ctlraw") == 0) {
		int fd = -1, r;
		NEED(3);
		ipc_init(&M, type_from(av[1]), 0);
		for (unsigned long i = 0; i < strtoul(av[2], NULL, 10) && i < IPC_MAX_PAYLOAD; i++)
			ipc_put_raw(&M, "", 1);
		if (ac > 3) {
			fd = make_memfd("x\n", 2, 1);
			ipc_set_fd(&M, fd);
		}
		r = ipc_send(ctl, &M);
		if (fd != -1)
			close(fd);
		control_drain(200);
		printf("ctlraw %s\n", r == 0 ? "sent" : "failed");
	} else if (strcmp(av[0], "raw") == 0) {
		struct pchan *c;
		int fd = -1, r;
		NEED(4);
		c = chan_get(av[1]);
		ipc_init(&M, type_from(av[2]), 0);
		for (unsigned long i = 0; i < strtoul(av[3], NULL, 10) && i < IPC_MAX_PAYLOAD; i++)
			ipc_put_raw(&M, "", 1);
		if (ac > 4) {
			fd = make_memfd("x\n", 2, 1);
			ipc_set_fd(&M, fd);
		}
		r = call(c, 1500);
		if (fd != -1)
			close(fd);
		printf("raw %s\n", r == 1 ? "answered" : r == 0 ? "eof" : "noanswer");
	} else if (strcmp(av[0], "trunc") == 0 || strcmp(av[0], "badlen") == 0 ||
	    strcmp(av[0], "oversize") == 0 || strcmp(av[0], "twofds") == 0) {
		static unsigned char big[IPC_HDR_LEN + IPC_MAX_PAYLOAD + 64];
		struct ipc_hdr h = { MSG_LOOKUP, 8, 1, 0 };
		struct pchan *c;
		NEED(2);
		c = chan_get(av[1]);
		memset(big, 'a', sizeof(big));
		if (av[0][0] == 't' && av[0][1] == 'r') {
			send_raw_dgram(c, &h, 8, -1, -1);
		} else if (av[0][0] == 'b') {
			h.len = 40;
			memcpy(big, &h, sizeof(h));
			send_raw_dgram(c, big, IPC_HDR_LEN + 8, -1, -1);
		} else if (av[0][0] == 'o') {
			h.len = IPC_MAX_PAYLOAD + 32;
			memcpy(big, &h, sizeof(h));
			send_raw_dgram(c, big, sizeof(big), -1, -1);
		} else {
			int f1 = make_memfd("x", 1, 1), f2 = make_memfd("y", 1, 1);
			h.len = 0;
			send_raw_dgram(c, &h, IPC_HDR_LEN, f1, f2);
			close(f1);
			close(f2);
		}
		printf("%s sent\n", av[0]);
	} else if (strcmp(av[0], "iappend") == 0) {
		uint32_t uv, uid;
		size_t len;
		char *b;
		int st;
		NEED(6);
		if (av[5][0] == '@') {
			b = gen_message(strtoul(av[5] + 1, NULL, 10), &len);
		} else
			b = read_file(av[5], &len);
		st = do_iappend(chan_get(av[1]), av[2], flags_arg(av[3]),
		    strtoull(av[4], NULL, 10), b, len, ac > 6 ? av[6] : NULL, text,
		    sizeof(text), &uv, &uid);
		free(b);
		if (st == -2)
			printf("iappend eof\n");
		else if (st == STORE_OK)
			printf("iappend 0 uidvalidity=%u uid=%u\n", uv, uid);
		else
			printf("iappend %d %s\n", st, text);
	} else if (strcmp(av[0], "burst") == 0) {
		NEED(5);
		do_burst(av[1], atoi(av[2]), atoi(av[3]), av[4]);
	} else if (strcmp(av[0], "iboth") == 0) {
		NEED(5);
		do_iboth(chan_get(av[1]), chan_get(av[2]), av[3], atoi(av[4]));
	} else if (strcmp(av[0], "faults") == 0) {
		NEED(5);
		if (strcmp(av[1], "flags") == 0 || strcmp(av[1], "expunge") == 0 ||
		    strcmp(av[1], "move") == 0)
			ifaults(av[1], atoi(av[2]), atoi(av[3]));
		else
			faults(av[1], atoi(av[2]), atoi(av[3]), av[4]);
	} else
		die("unknown command %s", av[0]);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	const char *user = NULL, *wuser = NULL, *logpath = NULL;
	char line[4096];
	int ch;

	signal(SIGPIPE, SIG_IGN);
	conf_defaults(&conf);
	while ((ch = getopt(argc, argv, "u:w:q:m:A:l:N:F:L:D:U:k:SC:")) != -1) {
		switch (ch) {
		case 'u': user = optarg; break;
		case 'w': wuser = optarg; break;
		case 'q': conf.quota = strtoull(optarg, NULL, 10); break;
		case 'm': conf.max_message_size = strtoull(optarg, NULL, 10); break;
		case 'A': aliases_path = optarg; break;
		case 'l': logpath = optarg; break;
		case 'N': store_nofile = (rlim_t)strtoull(optarg, NULL, 10); break;
		case 'F': conf.max_folders = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'L': conf.max_folder_name = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'D': conf.max_folder_depth = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'U': conf.imap_special_use = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'k': conf.max_keywords = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'S': conf.pop3_sets_seen = false; break;
		case 'C': conf.compact_min_size = strtoull(optarg, NULL, 10); break;
		default: die("usage: ipcpeer [-u user] [-q quota] [-m max] [-A aliases] "
		    "[-l log] SPOOL ACCOUNTS < script");
		}
	}
	if (argc - optind != 2)
		die("usage: ipcpeer [options] SPOOL ACCOUNTS < script");
	if ((posternd = getenv("POSTERND")) == NULL)
		die("POSTERND is not set");
	logfp = logpath ? fopen(logpath, "a") : stderr;
	if (logfp == NULL)
		die("%s: %s", logpath, strerror(errno));
	{
		char *rp = realpath(argv[optind], NULL);

		if (rp == NULL)
			die("%s: %s", argv[optind], strerror(errno));
		if (strlcpy_(conf.spool, rp, sizeof(conf.spool)) >= sizeof(conf.spool))
			die("%s: path too long", rp);
		free(rp);
	}
	accounts_path = argv[optind + 1];
	strlcpy_(conf.accounts, accounts_path, sizeof(conf.accounts));
	if (aliases_path)
		strlcpy_(conf.aliases, aliases_path, sizeof(conf.aliases));
	if (user)
		strlcpy_(conf.store_user, user, sizeof(conf.store_user));
	if (wuser)
		strlcpy_(conf.user, wuser, sizeof(conf.user));
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(conf.store_user);

		if (pw == NULL)
			die("store user %s does not exist (use -u)", conf.store_user);
		if (chown(conf.spool, pw->pw_uid, pw->pw_gid) == -1)
			die("chown %s: %s", conf.spool, strerror(errno));
		chmod(conf.spool, 0700);
	}
	if (geteuid() == 0) {
		/* the auth process's jail: an empty directory of root's */
		strlcpy_(auth_jail, "/tmp/ipcpeer-empty.XXXXXX", sizeof(auth_jail));
		if (mkdtemp(auth_jail) == NULL)
			die("mkdtemp: %s", strerror(errno));
		strlcpy_(conf.empty_dir, auth_jail, sizeof(conf.empty_dir));
	}
	while (fgets(line, sizeof(line), stdin) != NULL)
		run_line(line);
	store_stop();
	auth_stop();
	return 0;
}
