/*
 * The parsed configuration.  The master parses the file (master/parse.c);
 * children receive this struct whole in MSG_CONF and check it with
 * conf_wire_ok() before use.  It holds no pointers, so it travels as bytes.
 */
#ifndef POSTERN_CONF_H
#define POSTERN_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "params.h"

#define CONF_PATH         1024
#define CONF_MAX_DOMAINS  32
#define CONF_MAX_LISTEN   16
/* Appended to every TLS 1.2 cipher list (tls-ciphers or OpenSSL's
 * DEFAULT): RSA key transport is never offered.  It has no forward
 * secrecy, and it would need the keyholder to decrypt for the workers, a
 * power it does not give (master/keyholder.c). */
#define CONF_TLS_CIPHERS_NEVER ":!kRSA"
#define CONF_MAX_SNI      7    /* tls-sni certificates besides the default */
#define CONF_MAX_EXEMPT   32   /* limits-exempt networks */

enum listen_kind { LK_SMTP = 0, LK_POP3, LK_SMTPS, LK_POP3S, LK_IMAP, LK_IMAPS };
enum service { SVC_SMTP = 0, SVC_POP3 = 1, SVC_IMAP = 2, SVC_MAX };
enum plaintext_auth {
	PA_LOOPBACK = 0,  /* allowed on loopback connections only (default) */
	PA_TLS,           /* only after STLS / on pop3s, even on loopback */
	PA_ALWAYS,        /* allowed everywhere (not advised without TLS) */
};

struct listener {
	enum listen_kind kind;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char text[80];           /* as written: "127.0.0.1:2525", "[::1]:110" */
	int line;                /* config line, for messages */
};

/* An address block: limits-exempt 127.0.0.0/8 ::1 ... */
struct cidr {
	uint8_t family;          /* AF_INET or AF_INET6 */
	uint8_t prefix;          /* 0..32 or 0..128 */
	uint8_t addr[16];        /* network byte order; 4 bytes for AF_INET */
};

struct pool_conf {
	uint32_t min_spare;      /* idle workers kept ready */
	uint32_t max;            /* workers at most (= concurrent sessions) */
	uint32_t sessions;       /* sessions a worker serves before it is recycled */
};

struct conf {
	char path[CONF_PATH];               /* the file it came from */
	char hostname[LIM_DOMAIN + 1];
	uint32_t ndomains;
	char domains[CONF_MAX_DOMAINS][LIM_DOMAIN + 1];   /* lower case */
	uint32_t nlisten;
	struct listener listen[CONF_MAX_LISTEN];

	char spool[CONF_PATH];
	char accounts[CONF_PATH];
	char aliases[CONF_PATH];            /* "" = none */
	char user[LIM_NAME + 1];
	char store_user[LIM_NAME + 1];
	char key_user[LIM_NAME + 1];
	char auth_user[LIM_NAME + 1];       /* the auth process, holds the hashes */
	char empty_dir[CONF_PATH];          /* the workers' chroot */
	int spool_line, empty_dir_line;     /* where they were set (0 = default) */
	char pidfile[CONF_PATH];
	char postmaster[LIM_NAME + 1];      /* "" = the first account */
	int syslog_facility;                /* LOG_MAIL ... */

	struct pool_conf pool[SVC_MAX];

	/* SMTP */
	uint64_t max_message_size;
	uint32_t max_recipients;
	uint32_t max_line_length;           /* DATA text line, CRLF included */
	uint32_t max_bad_commands;
	uint32_t max_unknown_recipients;    /* per session, then 421 and close */
	bool vrfy, expn, verb;
	uint32_t smtp_timeout_ms;           /* waiting for a command */
	uint32_t smtp_data_timeout_ms;      /* waiting for the next DATA block */
	uint32_t smtp_data_deadline_ms;     /* the whole DATA phase, at most */
	uint32_t smtp_command_deadline_ms;  /* a session's command phase, in all */

	/* POP3 */
	uint32_t pop3_timeout_ms;           /* the autologout timer */
	uint32_t max_auth_failures;         /* then the connection is closed */
	uint32_t login_delay_s;             /* LOGIN-DELAY capability, 0 = none */
	enum plaintext_auth plaintext_auth;

	/* IMAP */
	uint32_t imap_timeout_ms;           /* the autologout timer (RFC 3501 5.4) */
	uint32_t imap_max_sessions_per_user; /* IMAP sessions of one account
					       from one address (0: no limit) */
	uint32_t imap_max_sessions_per_ip;  /* max-sessions-per-ip of IMAP, whose
					       clients hold sessions for hours */
	uint32_t imap_max_line_length;      /* a command line after login, CRLF
					       included (IMAP_LINE_PRELOGIN_BYTES
					       before) */

	/* store */
	uint64_t quota;                     /* per mailbox, 0 = none */
	uint64_t compact_min_size;          /* an EXPUNGE in a folder file this
					       big or bigger hides the messages
					       (flag journal) and leaves the
					       rewrite for later; smaller: at once */

	/* IMAP folders (the store's folder tables) */
	uint32_t imap_special_use;          /* enum folder_use bits (msg.h) made at
					       an account's first IMAP login */
	uint32_t max_folders;               /* table entries per account */
	uint32_t max_folder_name;           /* bytes of a folder name */
	uint32_t max_folder_depth;          /* components of a folder name */
	uint32_t max_keywords;              /* keywords a folder may have */
	bool pop3_sets_seen;                /* a POP3 RETR sets the message's
					       IMAP \Seen flag */

	/* connection limits (per service) */
	uint32_t max_sessions_per_ip;
	uint32_t max_conn_per_ip_per_min;
	uint32_t nexempt;                   /* limits-exempt: no per-address limits */
	struct cidr exempt[CONF_MAX_EXEMPT];

	/* master */
	uint32_t shutdown_grace_ms;

	/* TLS */
	char tls_cert[CONF_PATH];           /* "" = no TLS */
	char tls_key[CONF_PATH];
	char tls_ciphers[256];              /* "" = OpenSSL defaults */
	int tls_cert_line, tls_key_line;    /* where they were set, for messages */
	uint32_t nsni;                      /* tls-sni DOMAIN CERT KEY lines */
	struct tls_sni {
		char name[LIM_DOMAIN + 1];  /* lower case; "*.example.org" = one label */
		char cert[CONF_PATH];
		char key[CONF_PATH];
		int line;
	} sni[CONF_MAX_SNI];                /* keyholder index i + 1 */

	/* control socket (posternctl, master/control.c) */
	char control_socket[CONF_PATH];
	char control_group[LIM_NAME + 1];   /* "" = gid 0 */
	uint32_t control_mode;              /* permission bits, o+w refused */
	uint32_t control_max_idle_ms;       /* the control process exits after */
	int control_group_line;             /* where it was set, for messages */
};

/* Fills *c with every default (postern.conf(5)). */
void conf_defaults(struct conf *c);

/* Checks a struct received over IPC: every string NUL-terminated inside
 * its array, every count within its array, enums in range.  1 ok, 0 not. */
int conf_wire_ok(const struct conf *c);

/* A received MSG_CONF's struct into *c, checked with conf_wire_ok():
 * 0, or -1 when it is no MSG_CONF or fails the checks. */
struct ipc_msg;
int conf_from_msg(const struct ipc_msg *m, struct conf *c);

/* A child's first message from the master on fd: MSG_CONF, into *c and
 * checked with conf_wire_ok().  Anything else is fatal (the child cannot
 * run without it; the master sees it exit and restarts it with back-off). */
void conf_recv(int fd, struct conf *c);

/* Is this domain (any case) one of ours? */
bool conf_is_local_domain(const struct conf *c, const char *domain);

const char *listen_kind_name(enum listen_kind k);
/* Has the configuration a listener of this service? */
bool service_listens(const struct conf *c, enum service svc);
/* "smtp", "pop3", "imap": the service's name in logs and posternctl. */
const char *service_name(enum service svc);
enum service listen_service(enum listen_kind k);
bool listen_is_tls(enum listen_kind k);

#endif
