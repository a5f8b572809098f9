/*
 * The seccomp filters: each case forks a child that installs a role's
 * filter (sandbox_seccomp) and makes one call; the parent checks how the
 * child ended.  A forbidden call kills the child with SIGSYS (or, built
 * with -DPOSTERN_SECCOMP_DEBUG, makes it exit 99 after naming the call).
 * As root, one case runs the whole sandbox_enter() with "nobody".
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privsep/conf.h"
#include "privsep/proc.h"
#include "privsep/sandbox.h"
#include "privsep/util.h"
#include "t/unit/check.h"

enum outcome { EXITED_0, EXITED_1, KILLED_SYS, OTHER };

static const char *outcome_name[] = { "exit 0", "exit 1", "killed by seccomp", "other" };

/* Runs fn in a child under role r's filter; how did the child end? */
static enum outcome
run_as(enum role r, int (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return OTHER;
	if (pid == 0) {
		if (r != ROLE_MASTER)      /* ROLE_MASTER: fn installs it itself */
			sandbox_seccomp(r);
		_exit(fn());
	}
	if (waitpid(pid, &status, 0) != pid)
		return OTHER;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		return KILLED_SYS;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 99)
		return KILLED_SYS;      /* the POSTERN_SECCOMP_DEBUG handler */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return EXITED_0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		return EXITED_1;
	return OTHER;
}

static int
do_getpid(void)
{
	return getpid() > 0 ? 0 : 1;
}

static int
do_socket(void)
{
	(void)socket(AF_INET, SOCK_STREAM, 0);
	return 0;
}

static int
do_execve(void)
{
	char *argv[] = { "/bin/true", NULL };

	execve("/bin/true", argv, environ);
	return 0;
}

static int
do_ptrace_like_kill(void)
{
	(void)kill(getppid(), 0);
	return 0;
}

static int
do_fork(void)
{
	(void)fork();
	return 0;
}

static int
do_open_eacces(void)
{
	int fd = open("/etc/passwd", O_RDONLY);

	return (fd == -1 && errno == EACCES) ? 0 : 1;
}

static int
do_stat_eacces(void)
{
	struct stat st;

	return (stat("/", &st) == -1 && errno == EACCES) ? 0 : 1;
}

static int
do_fstat(void)
{
	struct stat st;

	return fstat(1, &st) == 0 ? 0 : 1;
}

static int
do_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? 1 : 0;
}

static int
do_malloc(void)
{
	size_t sizes[] = { 16, 4096, 300000, 4 << 20 };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *p = malloc(sizes[i]);
		if (p == NULL)
			return 1;
		memset(p, 'x', sizes[i]);
		p = realloc(p, sizes[i] * 2);
		if (p == NULL)
			return 1;
		free(p);
	}
	return 0;
}

static int
do_memfd(void)
{
	char buf[5];
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd == -1 || write(fd, "hello", 5) != 5 || pread(fd, buf, 5, 0) != 5 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW) == -1)
		return 1;
	return memcmp(buf, "hello", 5) == 0 ? 0 : 1;
}

static int sp[2] = { -1, -1 };

/* sendmsg/recvmsg, as ipc.c does (send/recv are sendto/recvfrom: no
 * process of ours calls them, and they are not allowed). */
static int
do_seqpacket(void)
{
	char buf[8];
	struct iovec iov = { (void *)"ping", 4 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (sendmsg(sp[0], &mh, 0) != 4)
		return 1;
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	if (recvmsg(sp[1], &mh, 0) != 4)
		return 1;
	return memcmp(buf, "ping", 4) == 0 ? 0 : 1;
}

static int
do_send(void)
{
	(void)send(sp[0], "ping", 4, 0);
	return 0;
}

/* A worker's calls on the shared listener. */
static int
do_shutdown(void)
{
	(void)shutdown(sp[0], SHUT_RD);
	return 0;
}

static int
do_setsockopt(void)
{
	int one = 1;

	(void)setsockopt(sp[0], SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return 0;
}

static int
do_getsockopt(void)
{
	int v;
	socklen_t sl = sizeof(v);

	(void)getsockopt(sp[0], SOL_SOCKET, SO_TYPE, &v, &sl);
	return 0;
}

/* fcntl commands.  Each returns 0 when the call succeeded. */
static int
do_setown(void)
{
	return fcntl(sp[0], F_SETOWN, getpid()) == 0 ? 0 : 1;
}

static int
do_setsig(void)
{
	return fcntl(sp[0], F_SETSIG, SIGUSR1) == 0 ? 0 : 1;
}

static int
do_setfl_async(void)
{
	return fcntl(sp[0], F_SETFL, O_ASYNC | O_NONBLOCK) == 0 ? 0 : 1;
}

static int
do_setfl_nonblock(void)
{
	int fl = fcntl(sp[0], F_GETFL);

	return fl != -1 && fcntl(sp[0], F_SETFL, fl | O_NONBLOCK) == 0 ? 0 : 1;
}

static int
do_getfl(void)
{
	return fcntl(sp[0], F_GETFL) == -1 ? 1 : 0;
}

static int
do_flock(void)
{
	(void)syscall(__NR_flock, 0, LOCK_EX);
	return 0;
}

static int
do_epoll_create(void)
{
	(void)syscall(__NR_epoll_create1, 0);
	return 0;
}

static int
do_accept(void)
{
	(void)accept4(-1, NULL, NULL, 0);
	return 0;
}

static char store_dir[] = "/tmp/postern-sbx-XXXXXX";

static int
do_store_files(void)
{
	char path[128], path2[128];
	int fd;

	snprintf(path, sizeof(path), "%s/mbox", store_dir);
	snprintf(path2, sizeof(path2), "%s/mbox.new", store_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_APPEND, 0600);
	if (fd == -1 || write(fd, "From x\n", 7) != 7 || fsync(fd) == -1 || close(fd) == -1)
		return 1;
	/* the *at calls, as the store makes them (mailbox.c) */
	if (renameat(AT_FDCWD, path, AT_FDCWD, path2) == -1 ||
	    unlinkat(AT_FDCWD, path2, 0) == -1)
		return 1;
	return 0;
}

/* The value of "Key:" in /proc/PID/status, whitespace squeezed. */
static int
proc_status(pid_t pid, const char *key, char *out, size_t outsz)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char *v = line + kl + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, outsz, "%s", v);
			found = 1;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

static int
status_is(pid_t pid, const char *key, const char *want)
{
	char v[128];

	if (proc_status(pid, key, v, sizeof(v)) == -1) {
		printf("# %s: not found\n", key);
		return 0;
	}
	if (strcmp(v, want) != 0) {
		printf("# %s: \"%s\", want \"%s\"\n", key, v, want);
		return 0;
	}
	return 1;
}

/* "Max core file size  0  0  bytes" in /proc/PID/limits */
static int
core_limit_zero(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	int ok = 0;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long soft, hard;
		if (sscanf(line, "Max core file size %lu %lu", &soft, &hard) == 2)
			ok = (soft == 0 && hard == 0);
	}
	fclose(f);
	return ok;
}

/* As root: the whole sandbox_enter() for a POP3 worker, as "nobody",
 * checked from outside through /proc (the child may not ask itself:
 * capget, prctl and getrlimit are not in its allowlist). */
static void
enter_as_nobody(void)
{
	struct conf c;
	struct passwd *pw, *pw2;
	char jail[] = "/tmp/postern-jail-XXXXXX", want[64], root[256];
	int status, up[2], down[2];
	uid_t nobody = 0;
	gid_t nogroup = 0;
	ssize_t n;
	pid_t pid;

	if ((pw = getpwnam("nobody")) != NULL) {
		nobody = pw->pw_uid;
		nogroup = pw->pw_gid;
	}
	if (pw == NULL || (pw2 = getpwnam("daemon")) == NULL ||
	    nobody == pw2->pw_uid || nobody == 0 || nogroup == 0) {
		printf("ok %d # skip sandbox_enter as root: no nobody/daemon users\n", ++check_n);
		return;
	}
	if (mkdtemp(jail) == NULL || pipe(up) == -1 || pipe(down) == -1) {
		CHECK(0, "setup: %s", strerror(errno));
		return;
	}
	conf_defaults(&c);
	strlcpy_(c.user, "nobody", sizeof(c.user));
	strlcpy_(c.store_user, "daemon", sizeof(c.store_user));
	strlcpy_(c.empty_dir, jail, sizeof(c.empty_dir));

	fflush(stdout);
	if ((pid = fork()) == 0) {
		char b;

		sandbox_enter(ROLE_POP3, &c);
		if (write(up[1], "r", 1) != 1 || read(down[0], &b, 1) != 1)
			_exit(2);
		if (open("/etc/passwd", O_RDONLY) != -1 || errno != EACCES)
			_exit(3);
		_exit(0);
	}
	{
		char b;
		if (pid == -1 || read(up[0], &b, 1) != 1) {
			CHECK(0, "sandbox_enter child did not get ready");
			if (pid > 0)
				waitpid(pid, &status, 0);
			rmdir(jail);
			return;
		}
	}
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)nobody,
	    (unsigned)nobody, (unsigned)nobody, (unsigned)nobody);
	CHECK(status_is(pid, "Uid", want), "sandbox_enter: uid nobody everywhere");
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)nogroup,
	    (unsigned)nogroup, (unsigned)nogroup, (unsigned)nogroup);
	CHECK(status_is(pid, "Gid", want), "sandbox_enter: gid nogroup everywhere");
	CHECK(status_is(pid, "Groups", ""), "sandbox_enter: no supplementary groups");
	CHECK(status_is(pid, "CapInh", "0000000000000000") &&
	    status_is(pid, "CapPrm", "0000000000000000") &&
	    status_is(pid, "CapEff", "0000000000000000") &&
	    status_is(pid, "CapBnd", "0000000000000000") &&
	    status_is(pid, "CapAmb", "0000000000000000"), "sandbox_enter: every capability set empty");
	CHECK(status_is(pid, "NoNewPrivs", "1"), "sandbox_enter: NoNewPrivs 1");
	CHECK(status_is(pid, "Seccomp", "2"), "sandbox_enter: Seccomp 2 (filter)");
	snprintf(want, sizeof(want), "/proc/%d/root", (int)pid);
	n = readlink(want, root, sizeof(root) - 1);
	root[n > 0 ? n : 0] = '\0';
	CHECK(strcmp(root, jail) == 0, "sandbox_enter: root is the jail (%s)", root);
	CHECK(core_limit_zero(pid), "sandbox_enter: RLIMIT_CORE 0");
	if (write(down[1], "g", 1) != 1 || waitpid(pid, &status, 0) != pid)
		status = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "sandbox_enter: the jailed child gets EACCES from open (status %d)", status);
	rmdir(jail);
	close(up[0]); close(up[1]); close(down[0]); close(down[1]);
}

/* Not root: sandbox_enter skips the jail and keeps the filter. */
static int
do_enter_unprivileged(void)
{
	struct conf c;
	int fd;

	conf_defaults(&c);
	sandbox_enter(ROLE_POP3, &c);
	fd = open("/etc/passwd", O_RDONLY);
	return (fd == -1 && errno == EACCES) ? 0 : 1;
}

int
main(void)
{
	enum outcome o;

#define EXPECT(role, fn, want) do {                                              \
	o = run_as(role, fn);                                                    \
	CHECK(o == (want), "%s: %s -> %s (got %s)", role_name(role), #fn,        \
	    outcome_name[want], outcome_name[o]);                                \
} while (0)

	EXPECT(ROLE_POP3, do_getpid, EXITED_0);
	EXPECT(ROLE_POP3, do_socket, KILLED_SYS);
	EXPECT(ROLE_POP3, do_execve, KILLED_SYS);
	EXPECT(ROLE_POP3, do_fork, KILLED_SYS);
	EXPECT(ROLE_POP3, do_ptrace_like_kill, KILLED_SYS);
	EXPECT(ROLE_POP3, do_open_eacces, EXITED_0);
	EXPECT(ROLE_POP3, do_stat_eacces, EXITED_0);
	EXPECT(ROLE_POP3, do_fstat, EXITED_0);
	EXPECT(ROLE_POP3, do_mmap_exec, KILLED_SYS);
	EXPECT(ROLE_POP3, do_malloc, EXITED_0);
	EXPECT(ROLE_SMTP, do_memfd, EXITED_0);
	EXPECT(ROLE_SMTP, do_socket, KILLED_SYS);
	EXPECT(ROLE_KEYHOLDER, do_accept, KILLED_SYS);
	EXPECT(ROLE_KEYHOLDER, do_open_eacces, EXITED_0);
	EXPECT(ROLE_STORE, do_socket, KILLED_SYS);
	EXPECT(ROLE_STORE, do_execve, KILLED_SYS);
	EXPECT(ROLE_STORE, do_accept, KILLED_SYS);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == 0) {
		EXPECT(ROLE_POP3, do_seqpacket, EXITED_0);
		EXPECT(ROLE_STORE, do_seqpacket, EXITED_0);
		EXPECT(ROLE_POP3, do_send, KILLED_SYS);
		/* no worker call may act on the listener it shares */
		EXPECT(ROLE_SMTP, do_shutdown, KILLED_SYS);
		EXPECT(ROLE_POP3, do_shutdown, KILLED_SYS);
		EXPECT(ROLE_SMTP, do_setsockopt, KILLED_SYS);
		EXPECT(ROLE_POP3, do_setsockopt, KILLED_SYS);
		EXPECT(ROLE_SMTP, do_getsockopt, KILLED_SYS);
		/* fcntl: only the commands each role uses */
		EXPECT(ROLE_SMTP, do_setown, KILLED_SYS);
		EXPECT(ROLE_POP3, do_setown, KILLED_SYS);
		EXPECT(ROLE_SMTP, do_setsig, KILLED_SYS);
		EXPECT(ROLE_SMTP, do_setfl_async, KILLED_SYS);
		EXPECT(ROLE_SMTP, do_getfl, KILLED_SYS);
		EXPECT(ROLE_POP3, do_setfl_nonblock, KILLED_SYS);
		EXPECT(ROLE_KEYHOLDER, do_setfl_nonblock, EXITED_0);
		EXPECT(ROLE_KEYHOLDER, do_setfl_async, KILLED_SYS);
		EXPECT(ROLE_KEYHOLDER, do_setown, KILLED_SYS);
		EXPECT(ROLE_STORE, do_setfl_nonblock, EXITED_0);
		EXPECT(ROLE_STORE, do_setfl_async, KILLED_SYS);
		EXPECT(ROLE_STORE, do_setown, KILLED_SYS);
		EXPECT(ROLE_STORE, do_setsig, KILLED_SYS);
		/* calls the store used to be allowed and never made */
		EXPECT(ROLE_STORE, do_flock, KILLED_SYS);
		EXPECT(ROLE_STORE, do_epoll_create, KILLED_SYS);
	} else
		CHECK(0, "socketpair: %s", strerror(errno));

	if (mkdtemp(store_dir) != NULL) {
		EXPECT(ROLE_STORE, do_store_files, EXITED_0);
		EXPECT(ROLE_POP3, do_store_files, EXITED_1);
		rmdir(store_dir);
	} else
		CHECK(0, "mkdtemp: %s", strerror(errno));

	if (geteuid() != 0)
		EXPECT(ROLE_MASTER, do_enter_unprivileged, EXITED_0);
	else
		enter_as_nobody();

	return check_done();
}
