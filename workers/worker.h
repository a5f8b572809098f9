/*
 * The worker frame shared by the SMTP and POP3 roles: receive the config,
 * enter the sandbox, accept one client at a time on the inherited listening
 * sockets, report busy/idle to the master, serve, recycle.
 */
#ifndef POSTERN_WORKER_H
#define POSTERN_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include "../privsep/conf.h"
#include "../privsep/params.h"
#include "conn.h"

struct session {
	const struct conf *conf;
	struct conn *conn;
	int store_fd;                 /* FD_STORE */
	int key_fd;                   /* FD_KEYHOLDER or -1 */
	enum listen_kind kind;        /* which listener accepted it */
	char sessid[LIM_SESSID];      /* 16 hex digits, unique per session */
	char client[LIM_ADDR];        /* "192.0.2.1" or "2001:db8::1" */
	bool loopback;                /* the client is on 127/8 or ::1 */
	bool tls;                     /* TLS is up on this session */
	uint32_t next_id;             /* request ids on the store channel */
};

/* May this session send a password in the clear (plaintext-auth)? */
bool session_plaintext_ok(const struct session *s);

/*
 * STARTTLS / STLS: refused (the unavailable line sent, -1) when TLS cannot
 * start; else go_ahead is sent and flushed, every byte the client sent
 * after the command is thrown away (CVE-2011-0411: never run as if it came
 * over TLS) and the handshake runs.  0 with TLS up; -1 when it failed
 * (the session is then over: conn->error is set).  what names the
 * command in the log.
 */
int session_starttls(struct session *s, const char *what, const char *unavailable,
    const char *go_ahead);

/* Session entry points, one per protocol. */
void smtp_session(struct session *s);
void pop3_session(struct session *s);
void imap_session(struct session *s);

/* Worker main for ROLE_SMTP / ROLE_POP3 / ROLE_IMAP. */
int worker_main(int role);

#endif
