/*
 * Privilege drop and seccomp for every child, one routine driven by the
 * roles[] table (relayd proc_run): which user a role runs as, where it is
 * jailed, and which system calls it may make.
 *
 * Order (sandbox_enter):
 *   1. resolve the user (getpwnam, while /etc/passwd is still reachable)
 *   2. check the jail, chroot into it, chdir("/")
 *   3. empty the capability bounding set (this needs CAP_SETPCAP, which is
 *      gone once the uid changes, so it comes before setresuid)
 *   4. setgroups(0), setresgid, setresuid
 *   5. prove the old ids cannot be regained (OpenSSH permanently_set_uid)
 *   6. clear the effective/permitted/inheritable and ambient sets, then
 *      check that every set is empty
 *   7. PR_SET_NO_NEW_PRIVS, not dumpable, RLIMIT_CORE 0
 *   8. the role's seccomp filter (sandbox_seccomp)
 * Started by a normal user, steps 1-5 are skipped (and logged); the rest
 * is kept.  Any failure is fatal: a child that cannot be jailed never runs.
 *
 * The seccomp filter is classic BPF written out by hand (OpenSSH
 * sandbox-seccomp-filter.c): check the architecture, load the syscall
 * number, one comparison per rule, and kill the process by default.
 * Workers and the keyholder get EACCES for open/stat probes so that libc
 * and OpenSSL fall back gracefully instead of dying.
 *
 * Build options:
 *   -DPOSTERN_SECCOMP_DEBUG  a forbidden call raises SIGSYS instead of
 *       killing outright; the handler writes "seccomp: ROLE killed by
 *       syscall N" to fd 2 and exits 99 (find N in <asm/unistd_64.h>).
 *   -DPOSTERN_SANITIZE  (make asan) adds what the ASan/UBSan runtimes need
 *       while the process runs, and runs LeakSanitizer's check before the
 *       jail: LSan's own exit-time check needs /proc and ptrace, which a
 *       jailed process has not got, so it is done early and then disabled.
 *   -DPOSTERN_COVERAGE  (make coverage) lets a jailed process write its gcov
 *       counters at exit: see coverage_prepare().  A test build only: it
 *       keeps a descriptor of the real root and widens the filters.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#ifdef POSTERN_SANITIZE
#include <sys/ioctl.h>
#endif
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>

#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "proc.h"
#include "sandbox.h"
#include "util.h"

#if defined(__x86_64__)
#define SC_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SC_ARCH AUDIT_ARCH_AARCH64
#else
#error "postern's seccomp filter knows x86_64 and aarch64 only"
#endif
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the seccomp argument checks assume a little-endian machine"
#endif

#ifdef POSTERN_SECCOMP_DEBUG
#define SC_DENY  SECCOMP_RET_TRAP
#else
#define SC_DENY  SECCOMP_RET_KILL_PROCESS
#endif

enum sc_action {
	SC_ALLOW,      /* allowed */
	SC_EACCES,     /* fails with EACCES: a probe answered, not a kill */
	SC_NOEXEC,     /* allowed unless argument 2 (prot) asks for PROT_EXEC */
	SC_FDSTAT,     /* allowed with AT_EMPTY_PATH in argument 3 (fstat on a
			  descriptor), else EACCES */
	/* allowed when argument 1 (fcntl's or ioctl's command) is in the
	 * list (sc_cmds()), F_SETFL only without O_ASYNC in argument 2;
	 * anything else is denied */
	SC_CMDS_SMTP,
	SC_CMDS_KEYHOLDER,
	SC_CMDS_STORE,
	SC_CMDS_TTY,
};

struct sc_rule {
	int nr;
	enum sc_action act;
};

#define CMDS_END UINT32_MAX
#define RULES_END { -1, SC_ALLOW }

/*
 * fcntl commands, per role: no F_SETOWN/F_SETOWN_EX/F_SETSIG (a worker
 * would have SIGIO sent to the others, which share its uid), no F_NOTIFY,
 * no F_SETLEASE, no O_ASYNC through F_SETFL; workers get no F_SETFL at all
 * (the listening sockets' flags are shared with the whole pool).
 */
static const uint32_t smtp_fcntl[] = {
	F_ADD_SEALS,          /* smtp_data.c seal_spool(): the DATA memfd */
	CMDS_END
};
static const uint32_t keyholder_fcntl[] = {
	F_GETFL, F_SETFL,     /* util.c set_nonblock() on a new worker channel */
	CMDS_END
};
static const uint32_t store_fcntl[] = {
	F_GETFL, F_SETFL,     /* util.c set_nonblock(): channels, mailbox files */
	F_GETFD, F_SETFD,     /* util.c set_cloexec() */
	F_SETLK,              /* mailbox.c fcntl_lock(): the mbox lock */
	F_ADD_SEALS,          /* store.c: answers travel as sealed memfds */
	F_GET_SEALS,          /* store_smtp.c: an APPEND's memfd must be sealed */
	CMDS_END
};

/* Every role: I/O on descriptors it was given, memory, time, signals. */
static const struct sc_rule common_rules[] = {
	{ __NR_read, SC_ALLOW },            /* channels, sockets, memfds */
	{ __NR_write, SC_ALLOW },           /* the same, and stderr */
	{ __NR_writev, SC_ALLOW },          /* glibc stdio: log.c's stderr when the master is gone */
	{ __NR_close, SC_ALLOW },           /* descriptors we own */
	{ __NR_exit, SC_ALLOW },            /* thread exit */
	{ __NR_exit_group, SC_ALLOW },      /* exit(), _exit() */
	{ __NR_rt_sigreturn, SC_ALLOW },    /* return from a signal handler */
	{ __NR_rt_sigprocmask, SC_ALLOW },  /* glibc masks signals around some calls */
	{ __NR_rt_sigaction, SC_ALLOW },    /* SIGPIPE ignored, SIGTERM handled */
	{ __NR_restart_syscall, SC_ALLOW }, /* the kernel restarts an interrupted sleep */
	{ __NR_clock_gettime, SC_ALLOW },   /* deadlines, log time stamps (vDSO fallback) */
	{ __NR_gettimeofday, SC_ALLOW },    /* time() fallback when the vDSO is absent */
#ifdef __NR_time
	{ __NR_time, SC_ALLOW },            /* the same, x86_64 */
#endif
#ifdef __NR_poll
	{ __NR_poll, SC_ALLOW },            /* waiting with a deadline (x86_64) */
#endif
	{ __NR_ppoll, SC_ALLOW },           /* the same (aarch64 poll()) */
	{ __NR_brk, SC_ALLOW },             /* malloc */
	{ __NR_mmap, SC_NOEXEC },           /* malloc, large buffers; never executable */
	{ __NR_mprotect, SC_NOEXEC },       /* malloc arenas; never executable */
	{ __NR_munmap, SC_ALLOW },          /* free */
	{ __NR_mremap, SC_ALLOW },          /* realloc of large blocks */
	{ __NR_madvise, SC_ALLOW },         /* free gives pages back */
	{ __NR_getpid, SC_ALLOW },          /* log lines, OpenSSL fork check */
	{ __NR_gettid, SC_ALLOW },          /* glibc internals (abort, raise) */
	{ __NR_sendmsg, SC_ALLOW },         /* ipc.c ipc_send(), with a descriptor */
	{ __NR_recvmsg, SC_ALLOW },         /* ipc.c ipc_recv(), with a descriptor */
	{ __NR_lseek, SC_ALLOW },           /* smtp_data.c rewinds the memfd; store memfds */
	{ __NR_getrandom, SC_ALLOW },       /* OpenSSL's RNG, session ids */
	{ __NR_futex, SC_ALLOW },           /* glibc locks (stdio, malloc) */
	RULES_END
};

/* Workers and the keyholder may not open or look at any file: the probes
 * glibc and OpenSSL make fail quietly with EACCES. */
static const struct sc_rule probe_rules[] = {
#ifdef __NR_open
	{ __NR_open, SC_EACCES },           /* config/locale probes */
#endif
	{ __NR_openat, SC_EACCES },         /* the same (glibc open()) */
#ifdef __NR_openat2
	{ __NR_openat2, SC_EACCES },        /* the same, newer interface */
#endif
#ifdef __NR_stat
	{ __NR_stat, SC_EACCES },           /* file probes */
#endif
#ifdef __NR_lstat
	{ __NR_lstat, SC_EACCES },          /* file probes */
#endif
#ifdef __NR_newfstatat
	{ __NR_newfstatat, SC_FDSTAT },     /* glibc fstat() = fstatat(fd, "", AT_EMPTY_PATH) */
#endif
#ifdef __NR_statx
	{ __NR_statx, SC_EACCES },          /* file probes */
#endif
#ifdef __NR_access
	{ __NR_access, SC_EACCES },         /* file probes */
#endif
	{ __NR_faccessat, SC_EACCES },      /* file probes */
#ifdef __NR_faccessat2
	{ __NR_faccessat2, SC_EACCES },     /* file probes */
#endif
#ifdef __NR_readlink
	{ __NR_readlink, SC_EACCES },       /* /proc/self/exe probes */
#endif
	{ __NR_readlinkat, SC_EACCES },     /* the same */
	RULES_END
};

/* SMTP and POP3 workers: one client socket at a time. */
static const struct sc_rule worker_rules[] = {
	/* No shutdown, setsockopt, getsockopt or F_SETFL: a worker shares the
	 * listening sockets with the pool and the master, and these would
	 * act on them for everyone (stop listening, attach a filter that
	 * drops every connection); its own client needs none of them. */
	{ __NR_accept4, SC_ALLOW },         /* worker.c: a client, on the inherited listener */
	{ __NR_pread64, SC_ALLOW },         /* pop3.c, pop3_out.c read the store's memfds */
	/* idle wait on the listeners (EPOLLEXCLUSIVE: one worker woken per
	 * connection); the set is made before the jail, so no epoll_create1 */
	{ __NR_epoll_ctl, SC_ALLOW },       /* re-queueing the listeners after a session */
#ifdef __NR_epoll_wait
	{ __NR_epoll_wait, SC_ALLOW },      /* glibc epoll_wait() on x86_64 */
#endif
	{ __NR_epoll_pwait, SC_ALLOW },     /* the same (aarch64, newer glibc) */
	RULES_END
};

/* SMTP workers only: the DATA spool. */
static const struct sc_rule smtp_rules[] = {
	{ __NR_memfd_create, SC_ALLOW },    /* smtp_data.c spools DATA, imap.c an
					       APPEND's message, into a memfd */
	{ __NR_fcntl, SC_CMDS_SMTP },       /* and seals it (smtp_fcntl) */
	RULES_END
};

/* The keyholder: its worker channels. */
static const struct sc_rule keyholder_rules[] = {
	{ __NR_fcntl, SC_CMDS_KEYHOLDER },  /* keyholder_fcntl */
	RULES_END
};

/* The control process: local posternctl clients on the control socket the
 * master bound and handed over. */
static const struct sc_rule control_rules[] = {
	{ __NR_accept4, SC_ALLOW },         /* control.c accept_client(): a posternctl client */
#ifdef __NR_accept
	{ __NR_accept, SC_ALLOW },          /* the same */
#endif
	{ __NR_getsockopt, SC_ALLOW },      /* accept_client(): SO_PEERCRED, the client's uid for the log */
	RULES_END
};

/* The auth process: crypt(3) and its channels. */
static const struct sc_rule auth_rules[] = {
	{ __NR_sysinfo, SC_ALLOW },         /* accounts.c acctab_load(): glibc qsort() */
	RULES_END
};

/* The store: files, but only inside its jail (the spool).  glibc 2.33+
 * makes open/stat/unlink/rename/link the *at calls on every architecture. */
static const struct sc_rule store_rules[] = {
	{ __NR_openat, SC_ALLOW },          /* mailbox.c: mailboxes, indexes, dotlocks */
#ifdef __NR_newfstatat
	{ __NR_newfstatat, SC_ALLOW },      /* mailbox.c fstat/fstatat: mailboxes and locks */
#endif
	{ __NR_unlinkat, SC_ALLOW },        /* mailbox.c: dotlocks, temporary files */
	{ __NR_renameat, SC_ALLOW },        /* mailbox.c: atomic mailbox rewrite */
	{ __NR_renameat2, SC_ALLOW },       /* mailbox.c mb_rewrite: RENAME_EXCHANGE, undone
					       when the directory fsync fails */
	{ __NR_linkat, SC_ALLOW },          /* mailbox.c: dotlock by link(2) */
	{ __NR_mkdirat, SC_ALLOW },         /* store_imap.c: an account's folder area */
	{ __NR_fsync, SC_ALLOW },           /* mailbox.c: 250 only after fsync */
	{ __NR_ftruncate, SC_ALLOW },       /* mailbox.c: undoing a torn append */
	{ __NR_memfd_create, SC_ALLOW },    /* store.c: RETR/listing answers travel as memfds */
	{ __NR_pread64, SC_ALLOW },         /* mbox.c, mailbox.c: reading messages and memfds */
	{ __NR_pwrite64, SC_ALLOW },        /* mbox.c: writing indexes */
	{ __NR_fcntl, SC_CMDS_STORE },      /* store_fcntl */
	{ __NR_clock_nanosleep, SC_ALLOW }, /* mailbox.c: waiting for a dotlock (nanosleep) */
	{ __NR_sysinfo, SC_ALLOW },         /* accounts.c, mailbox.c, mbox.c: glibc qsort() */
	RULES_END
};

#ifdef POSTERN_SANITIZE
/* What the ASan/UBSan/LSan runtimes call while the process runs. */
static const struct sc_rule sanitize_rules[] = {
	{ __NR_sigaltstack, SC_ALLOW },     /* runtime's stack-overflow handler */
	{ __NR_sched_yield, SC_ALLOW },     /* runtime spin locks */
	{ __NR_prctl, SC_ALLOW },           /* PR_GET_DUMPABLE / PR_SET_VMA in reports */
	{ __NR_prlimit64, SC_ALLOW },       /* getrlimit() in reports */
#ifdef __NR_getrlimit
	{ __NR_getrlimit, SC_ALLOW },       /* the same */
#endif
	{ __NR_pipe2, SC_ALLOW },           /* IsAccessibleMemoryRange() probe */
#ifdef __NR_pipe
	{ __NR_pipe, SC_ALLOW },            /* the same */
#endif
	{ __NR_mincore, SC_ALLOW },         /* memory probes */
	{ __NR_uname, SC_ALLOW },           /* kernel version check in reports */
	{ __NR_tgkill, SC_ALLOW },          /* abort() after a report */
	{ __NR_getuid, SC_ALLOW },          /* report headers */
	{ __NR_ioctl, SC_CMDS_TTY },        /* isatty(2) for coloured reports: TCGETS */
	RULES_END
};
#endif

#ifdef POSTERN_COVERAGE
/* What the gcov runtime calls at exit to merge its .gcda files.  First in
 * every filter, so that openat wins over a worker's EACCES probe rule. */
static const struct sc_rule coverage_rules[] = {
	{ __NR_fchdir, SC_ALLOW },          /* back to the real root, at exit */
	{ __NR_fcntl, SC_ALLOW },           /* gcov locks each .gcda file */
	{ __NR_openat, SC_ALLOW },          /* the .gcda files */
#ifdef __NR_open
	{ __NR_open, SC_ALLOW },            /* the same */
#endif
#ifdef __NR_mkdir
	{ __NR_mkdir, SC_ALLOW },           /* a missing object directory */
#endif
	{ __NR_mkdirat, SC_ALLOW },         /* the same */
#ifdef __NR_newfstatat
	{ __NR_newfstatat, SC_ALLOW },      /* stdio on the .gcda file */
#endif
	RULES_END
};
#endif

/* The table of roles. */
struct role_sandbox {
	enum role role;
	size_t user;                 /* offsetof(struct conf, ...) of the user name */
	size_t jail;                 /* offsetof(struct conf, ...) of the jail */
	int empty_jail;              /* the jail must be an empty root-owned dir */
	const struct sc_rule *rules[3];
};

static const struct role_sandbox roles[] = {
	{ ROLE_STORE, offsetof(struct conf, store_user), offsetof(struct conf, spool), 0,
	  { store_rules, NULL, NULL } },
	{ ROLE_SMTP, offsetof(struct conf, user), offsetof(struct conf, empty_dir), 1,
	  { probe_rules, worker_rules, smtp_rules } },
	{ ROLE_POP3, offsetof(struct conf, user), offsetof(struct conf, empty_dir), 1,
	  { probe_rules, worker_rules, NULL } },
	{ ROLE_IMAP, offsetof(struct conf, user), offsetof(struct conf, empty_dir), 1,
	  { probe_rules, worker_rules, smtp_rules } },
	{ ROLE_KEYHOLDER, offsetof(struct conf, key_user), offsetof(struct conf, empty_dir), 1,
	  { probe_rules, keyholder_rules, NULL } },
	/* the workers' user: it holds no secret (the master's snapshot of
	 * sessions and counters), and seccomp keeps both from kill/ptrace */
	{ ROLE_CONTROL, offsetof(struct conf, user), offsetof(struct conf, empty_dir), 1,
	  { probe_rules, control_rules, NULL } },
	/* the auth process: crypt(3) over the accounts file the master hands
	 * it, and its two channels */
	{ ROLE_AUTH, offsetof(struct conf, auth_user), offsetof(struct conf, empty_dir), 1,
	  { probe_rules, auth_rules, NULL } },
};

static const struct role_sandbox *
role_find(enum role r)
{
	size_t i;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].role == r)
			return &roles[i];
	fatalx("sandbox: no sandbox for role %s", role_name(r));
}

static const char *
conf_str(const struct conf *c, size_t off)
{
	return (const char *)c + off;
}

/* ---- seccomp ---- */

#define SC_MAX_INSNS 512
#define SC_NR      offsetof(struct seccomp_data, nr)
#define SC_ARCHOFF offsetof(struct seccomp_data, arch)
#define SC_ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(uint64_t))

struct sc_prog {
	struct sock_filter insn[SC_MAX_INSNS];
	size_t n;
};

static void
emit(struct sc_prog *p, struct sock_filter f)
{
	if (p->n >= SC_MAX_INSNS)
		fatalx("sandbox: seccomp program too long");
	p->insn[p->n++] = f;
}

/*
 * nr?  load the command; one comparison per allowed command; F_SETFL
 * (last) also loads the flags and refuses O_ASYNC.  Every path after the
 * load returns, so A being clobbered does not matter.
 */
static const uint32_t *
sc_cmds(enum sc_action act)
{
#ifdef POSTERN_SANITIZE
	static const uint32_t tty_ioctl[] = { TCGETS, CMDS_END };
#else
	static const uint32_t tty_ioctl[] = { CMDS_END };
#endif

	switch (act) {
	case SC_CMDS_SMTP:
		return smtp_fcntl;
	case SC_CMDS_KEYHOLDER:
		return keyholder_fcntl;
	case SC_CMDS_STORE:
		return store_fcntl;
	case SC_CMDS_TTY:
		return tty_ioctl;
	default:
		fatalx("sandbox: no command list for action %d", (int)act);
	}
}

static void
emit_cmds(struct sc_prog *p, const struct sc_rule *r)
{
	const uint32_t *cmds = sc_cmds(r->act);
	size_t n = 0, setfl = 0, len;

	for (const uint32_t *c = cmds; *c != CMDS_END; c++) {
		if (*c == F_SETFL)
			setfl = 1;
		else
			n++;
	}
	len = 1 + 2 * n + (setfl ? 4 : 0) + 1;
	if (len > 255)
		fatalx("sandbox: too many commands for syscall %d", r->nr);
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, (uint8_t)len));
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(1)));
	for (const uint32_t *c = cmds; *c != CMDS_END; c++) {
		if (*c == F_SETFL)
			continue;
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, *c, 0, 1));
		emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	}
	if (setfl) {
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_SETFL, 0, 3));
		emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(2)));
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_ASYNC, 1, 0));
		emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	}
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SC_DENY));
}

static void
emit_rule(struct sc_prog *p, const struct sc_rule *r)
{
	const uint32_t eacces = SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA);

	switch (r->act) {
	case SC_ALLOW:
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 1));
		emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
		break;
	case SC_EACCES:
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 1));
		emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, eacces));
		break;
	case SC_NOEXEC:
		/* nr?  load prot; PROT_EXEC? deny : allow.  A is clobbered,
		 * but both branches return. */
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 4));
		emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(2)));
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1));
		emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SC_DENY));
		emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
		break;
	case SC_FDSTAT:
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 4));
		emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG_LO(3)));
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 0, 1));
		emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
		emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, eacces));
		break;
	case SC_CMDS_SMTP:
	case SC_CMDS_KEYHOLDER:
	case SC_CMDS_STORE:
	case SC_CMDS_TTY:
		emit_cmds(p, r);
		break;
	}
}

static void
emit_rules(struct sc_prog *p, const struct sc_rule *r)
{
	for (; r != NULL && r->nr != -1; r++)
		emit_rule(p, r);
}

static void
build_filter(struct sc_prog *p, const struct role_sandbox *rs)
{
	size_t i;

	p->n = 0;
	/* The architecture first: a syscall number means nothing without it. */
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARCHOFF));
	emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SC_ARCH, 1, 0));
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SC_DENY));
	/* Then the number.  x32 calls (bit 30 set) match no rule: denied. */
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_NR));
	/* Role rules first: the store's openat must win over nothing else,
	 * and a probe answer must win over nothing in common_rules. */
#ifdef POSTERN_COVERAGE
	emit_rules(p, coverage_rules);
#endif
	for (i = 0; i < sizeof(rs->rules) / sizeof(rs->rules[0]); i++)
		emit_rules(p, rs->rules[i]);
	emit_rules(p, common_rules);
#ifdef POSTERN_SANITIZE
	emit_rules(p, sanitize_rules);
#endif
	emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SC_DENY));
}

#ifdef POSTERN_SECCOMP_DEBUG
static char sc_role[16];

/* Async-signal-safe: write(2) and _exit only. */
static void
sigsys_handler(int sig, siginfo_t *si, void *ctx)
{
	char buf[96], num[16];
	size_t n = 0, k = 0, i;
	unsigned v = (unsigned)si->si_syscall;
	const char *a = "seccomp: ", *b = " killed by syscall ";

	for (i = 0; a[i]; i++) buf[n++] = a[i];
	for (i = 0; sc_role[i] && n < 40; i++) buf[n++] = sc_role[i];
	for (i = 0; b[i]; i++) buf[n++] = b[i];
	do { num[k++] = (char)('0' + v % 10); v /= 10; } while (v && k < sizeof(num));
	while (k > 0) buf[n++] = num[--k];
	buf[n++] = '\n';
	(void)!write(2, buf, n);
	_exit(99);
}

static void
install_sigsys_handler(enum role r)
{
	struct sigaction sa;

	strlcpy_(sc_role, role_name(r), sizeof(sc_role));
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sandbox: sigaction SIGSYS");
}
#endif

#ifdef POSTERN_SANITIZE
extern void __lsan_do_leak_check(void) __attribute__((weak));

/* LSan's exit-time check needs /proc and ptrace: run it now, which also
 * turns the exit-time check off. */
static void
sanitizer_leak_check_now(void)
{
	if (__lsan_do_leak_check != NULL)
		__lsan_do_leak_check();
}
#endif

void
sandbox_seccomp(enum role r)
{
	static struct sc_prog prog;
	struct sock_fprog fprog;

#ifdef POSTERN_SANITIZE
	sanitizer_leak_check_now();
#endif
	build_filter(&prog, role_find(r));
	fprog.len = (unsigned short)prog.n;
	fprog.filter = prog.insn;
#ifdef POSTERN_SECCOMP_DEBUG
	install_sigsys_handler(r);
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("sandbox: PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == -1)
		fatal("sandbox: installing the seccomp filter for %s", role_name(r));
}

/* ---- users and capabilities ---- */

static void
resolve_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		if (errno != 0)
			fatal("sandbox: getpwnam %s", name);
		fatalx("sandbox: user %s does not exist", name);
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		fatalx("sandbox: user %s has uid or gid 0", name);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	endpwent();
}

/* The store and the workers must never share a uid, nor the
 * keyholder and the workers; the auth process shares it with none of the
 * workers, the store and the keyholder. */
static void
check_own_uid(enum role r, const struct conf *c, uid_t uid)
{
	const char *names[3] = {
		(r == ROLE_SMTP || r == ROLE_POP3 || r == ROLE_IMAP || r == ROLE_CONTROL) ?
		    c->store_user : c->user,
		r == ROLE_AUTH ? c->store_user : NULL,
		r == ROLE_AUTH ? c->key_user : NULL,
	};

	for (size_t i = 0; i < 3 && names[i] != NULL; i++) {
		uid_t other;
		gid_t g;

		resolve_user(names[i], &other, &g);
		if (other == uid)
			fatalx("sandbox: %s runs with the same uid as %s (%u)", role_name(r),
			    names[i], (unsigned)uid);
	}
}

static void
check_jail(const char *dir, int empty)
{
	struct stat st;
	struct dirent *de;
	DIR *d;

	if (lstat(dir, &st) == -1)
		fatal("sandbox: jail %s", dir);
	if (!S_ISDIR(st.st_mode))
		fatalx("sandbox: jail %s is not a directory", dir);
	if (!empty)
		return;
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		fatalx("sandbox: jail %s must be owned by root and writable by root only", dir);
	if ((d = opendir(dir)) == NULL)
		fatal("sandbox: opendir %s", dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			fatalx("sandbox: jail %s is not empty (%s)", dir, de->d_name);
	closedir(d);
}

static void
drop_bounding_set(void)
{
	cap_value_t i, max = cap_max_bits();

	for (i = 0; i < max; i++)
		if (cap_drop_bound(i) == -1)
			fatal("sandbox: cap_drop_bound %d", (int)i);
}

static void
switch_ids(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) == -1)
		fatal("sandbox: setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("sandbox: setresgid %u", (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("sandbox: setresuid %u", (unsigned)uid);
}

/* OpenSSH permanently_set_uid: getting the old ids back must fail. */
static void
verify_ids(uid_t uid, gid_t gid, uid_t old_uid, gid_t old_gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || ru != uid || eu != uid || su != uid)
		fatalx("sandbox: uid is not %u everywhere", (unsigned)uid);
	if (getresgid(&rg, &eg, &sg) == -1 || rg != gid || eg != gid || sg != gid)
		fatalx("sandbox: gid is not %u everywhere", (unsigned)gid);
	if (getgroups(0, NULL) != 0)
		fatalx("sandbox: supplementary groups remain");
	if (setgid(old_gid) != -1 || setegid(old_gid) != -1)
		fatalx("sandbox: could regain gid %u", (unsigned)old_gid);
	if (setuid(old_uid) != -1 || seteuid(old_uid) != -1)
		fatalx("sandbox: could regain uid %u", (unsigned)old_uid);
	if (setresuid(old_uid, old_uid, old_uid) != -1)
		fatalx("sandbox: setresuid back to %u succeeded", (unsigned)old_uid);
}

static void
drop_capabilities(void)
{
	cap_t none;

	if ((none = cap_init()) == NULL)
		fatal("sandbox: cap_init");
	if (cap_set_proc(none) == -1)
		fatal("sandbox: cap_set_proc");
	cap_free(none);
	if (cap_reset_ambient() == -1)
		fatal("sandbox: cap_reset_ambient");
}

static void
verify_capabilities(int bounding)
{
	cap_t now, none;
	cap_value_t i, max = cap_max_bits();

	if ((now = cap_get_proc()) == NULL || (none = cap_init()) == NULL)
		fatal("sandbox: cap_get_proc");
	if (cap_compare(now, none) != 0)
		fatalx("sandbox: capabilities remain after the drop");
	cap_free(now);
	cap_free(none);
	for (i = 0; i < max; i++) {
		if (bounding && cap_get_bound(i) != 0)
			fatalx("sandbox: capability %d still in the bounding set", (int)i);
		if (cap_get_ambient(i) > 0)
			fatalx("sandbox: capability %d still in the ambient set", (int)i);
	}
}

static void
limit_process(void)
{
	struct rlimit rl = { 0, 0 };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("sandbox: PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("sandbox: PR_SET_DUMPABLE");
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("sandbox: RLIMIT_CORE");
}

#ifdef POSTERN_COVERAGE
/*
 * gcov writes a process's counters at exit, to the absolute path of each
 * object's .gcda file: a path that a chrooted process cannot reach.  So,
 * before the chroot, keep a descriptor of the real root; at exit, before
 * the gcov runtime's destructor (atexit handlers registered after main
 * started run first), fchdir(2) to it and make gcov's paths relative
 * (GCOV_PREFIX "." + "/abs/path/x.gcda").  The .gcda files must be
 * writable by every role's uid: t/coverage.sh creates them empty, mode
 * 0666, before the suite runs.  This is a deliberate hole in the jail:
 * build-cov is a test build and is never installed.
 */
static int coverage_root = -1;

static void
coverage_at_exit(void)
{
	if (coverage_root != -1 && fchdir(coverage_root) == 0)
		setenv("GCOV_PREFIX", ".", 1);
}

static void
coverage_prepare(void)
{
	if (coverage_root != -1)
		return;
	coverage_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (coverage_root == -1)
		fatal("sandbox: coverage: open /");
	if (atexit(coverage_at_exit) != 0)
		fatalx("sandbox: coverage: atexit");
}
#endif

#ifdef POSTERN_SECCOMP_PROBE
/*
 * The test hook behind t/seccomp.bats and t/compromised_worker.bats: a
 * process whose role is named in POSTERN_SECCOMP_PROBE acts, right after
 * its filter is in place, as an attacker who has taken it over.
 * "ROLE" or "ROLE:socket" calls socket(2), which is in no role's
 * allowlist, sanitizer builds included (no process of ours makes a socket
 * after the jail, and a new socket is the first thing an attacker would
 * want).  The other actions, "ROLE:ACTION" (workers):
 *   shutdown  shutdown(2) of the shared listening socket (SHUT_RD)
 *   filter    setsockopt(SO_ATTACH_FILTER) dropping every packet on it
 *   setown    fcntl F_SETOWN of the listener to our process group, then
 *             F_SETFL O_ASYNC: SIGIO to every worker at each connection
 *   log       an MSG_LOG at LOG_EMERG with a newline and a forged line
 *   empty     a zero-length datagram on the control channel
 *   status    MSG_STATUS busy/idle 20 times naming 127.0.0.1 (the format
 *             of before the master read the address from the socket)
 *   status-fd MSG_STATUS busy with the store channel as the "client"
 *   status-reuse  accept one real client and report it busy and idle 20
 *             times
 * The calls go through syscall(2) so that no libc wrapper answers them.
 * A call that returns is reported with "the filter let it through".
 * log, empty and the status actions then go on as a normal process.
 * POSTERN_SECCOMP_PROBE_UNTIL (seconds since the epoch), when set, limits
 * the probe to processes started before then: their replacements serve.
 */
static void
probe_send(struct ipc_msg *m)
{
	if (ipc_send(FD_CONTROL, m) == -1)
		fatal("seccomp probe: sending to the master");
}

static void
probe_status(uint32_t busy, int fd, const char *client)
{
	static struct ipc_msg m;

	ipc_init(&m, MSG_STATUS, 0);
	ipc_put_u32(&m, busy);
	ipc_put_u32(&m, 0);
	if (client != NULL)
		ipc_put_str(&m, client);
	ipc_set_fd(&m, fd);
	probe_send(&m);
}

static void
probe_reuse(void)
{
	struct pollfd p = { .fd = FD_LISTEN_FIRST, .events = POLLIN };
	static struct ipc_msg m;
	int fd = -1;

	/* another spare may take the client first: wait for the next */
	for (int i = 0; i < 200 && fd == -1; i++)
		if (poll(&p, 1, 100) == 1)
			fd = accept4(FD_LISTEN_FIRST, NULL, NULL, SOCK_CLOEXEC);
	if (fd == -1)
		fatalx("seccomp probe: no client to report");
	for (int i = 0; i < 20; i++) {
		probe_status(1, fd, NULL);
		if (ipc_recv(FD_CONTROL, &m) != 1 || m.hdr.type != MSG_ADMIT)
			fatalx("seccomp probe: no MSG_ADMIT");
		probe_status(0, -1, NULL);
	}
	log_info("seccomp probe: reported one client socket 20 times");
	close(fd);
}

static void
seccomp_probe(enum role r)
{
	const char *want = getenv("POSTERN_SECCOMP_PROBE");
	const char *until = getenv("POSTERN_SECCOMP_PROBE_UNTIL");
	const char *name = role_name(r), *act;
	size_t nl = strlen(name);
	static struct ipc_msg m;
	long rc = 0;

	if (want == NULL || strncmp(want, name, nl) != 0 ||
	    (want[nl] != '\0' && want[nl] != ':'))
		return;
	if (until != NULL && time(NULL) >= strtoll(until, NULL, 10))
		return;
	act = want[nl] == ':' ? want + nl + 1 : "socket";
	log_info("seccomp probe: %s tries %s", name, act);
	if (strcmp(act, "socket") == 0) {
		log_info("seccomp probe: %s calls socket(2), which its filter forbids", name);
		rc = syscall(__NR_socket, AF_INET, SOCK_STREAM, 0);
	} else if (strcmp(act, "shutdown") == 0)
		rc = syscall(__NR_shutdown, FD_LISTEN_FIRST, SHUT_RD);
	else if (strcmp(act, "filter") == 0) {
		struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
		struct sock_fprog fp = { 1, &drop };

		rc = syscall(__NR_setsockopt, FD_LISTEN_FIRST, SOL_SOCKET,
		    SO_ATTACH_FILTER, &fp, sizeof(fp));
	} else if (strcmp(act, "setown") == 0) {
		/* the master leads the process group in the test */
		rc = syscall(__NR_fcntl, FD_LISTEN_FIRST, F_SETOWN, -(long)getppid());
		rc |= syscall(__NR_fcntl, FD_LISTEN_FIRST, F_SETFL, O_ASYNC | O_NONBLOCK | O_RDWR);
	} else if (strcmp(act, "log") == 0) {
		ipc_init(&m, MSG_LOG, 0);
		ipc_put_u32(&m, LOG_EMERG);
		ipc_put_str(&m, "x\n2026-01-01 00:00:00 store[1]: delivered to alice");
		probe_send(&m);
		return;
	} else if (strcmp(act, "empty") == 0) {
		struct iovec iov = { (void *)"", 0 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (sendmsg(FD_CONTROL, &mh, 0) != 0)
			fatal("seccomp probe: empty datagram");
		log_info("seccomp probe: sent an empty datagram");
		return;
	} else if (strcmp(act, "status") == 0) {
		for (int i = 0; i < 20; i++) {
			probe_status(1, -1, "127.0.0.1");
			probe_status(0, -1, "");
		}
		log_info("seccomp probe: reported 20 clients from 127.0.0.1");
		return;
	} else if (strcmp(act, "status-fd") == 0) {
		probe_status(1, FD_STORE, NULL);
		log_info("seccomp probe: reported the store channel as a client");
		return;
	} else if (strcmp(act, "status-reuse") == 0) {
		probe_reuse();
		return;
	} else
		fatalx("seccomp probe: unknown action %s", act);
	fatalx("seccomp probe: %s returned %ld in %s: the filter let it through",
	    act, rc, name);
}
#endif

void
sandbox_enter(enum role r, const struct conf *c)
{
	const struct role_sandbox *rs = role_find(r);
	const char *user = conf_str(c, rs->user);
	const char *jail = conf_str(c, rs->jail);
	uid_t uid, old_uid = getuid();
	gid_t gid, old_gid = getgid();

#ifdef POSTERN_SANITIZE
	sanitizer_leak_check_now();
#endif
#ifdef POSTERN_COVERAGE
	coverage_prepare();
#endif
	if (geteuid() == 0) {
		resolve_user(user, &uid, &gid);
		check_own_uid(r, c, uid);
		check_jail(jail, rs->empty_jail);
		if (chroot(jail) == -1)
			fatal("sandbox: chroot %s", jail);
		if (chdir("/") == -1)
			fatal("sandbox: chdir / in %s", jail);
		drop_bounding_set();
		switch_ids(uid, gid);
		verify_ids(uid, gid, old_uid, old_gid);
		drop_capabilities();
		verify_capabilities(1);
		log_debug("sandbox: %s jailed in %s as %s (uid %u gid %u)",
		    role_name(r), jail, user, (unsigned)uid, (unsigned)gid);
	} else {
		log_info("not root: no chroot, no user switch for %s", role_name(r));
		drop_capabilities();
		verify_capabilities(0);
	}
	limit_process();
	sandbox_seccomp(r);
#ifdef POSTERN_SECCOMP_PROBE
	seccomp_probe(r);
#endif
}
