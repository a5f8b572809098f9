/*
 * Events a worker reports to the master (MSG_EVENT), which counts them for
 * posternctl status / stats.  One definition, shared by the sender and the
 * master that checks and counts them.  A worker is untrusted: the master
 * takes each event only from a worker of the service it belongs to, only
 * while that worker is busy with a session, and an event that fails the
 * checks kills the worker.  A compromised worker can at most make the
 * counters of its own sessions lie (SECURITY.md).
 */
#ifndef POSTERN_EVENT_H
#define POSTERN_EVENT_H

#include <stdint.h>

enum ev_kind {
	EV_DELIVERED = 1,    /* smtp: a message appended for count recipients */
	EV_REFUSED = 2,      /* smtp: a recipient or message refused, reason */
	EV_TEMPFAIL = 3,     /* smtp, pop3: a temporary failure, reason */
	EV_LOGIN_OK = 4,     /* pop3: logged in as account */
	EV_LOGIN_FAIL = 5,   /* pop3: a wrong name or password */
	EV_KIND_MAX
};

/* Why a client was refused.  The first three are the master's own
 * admission verdicts (enum admit_verdict); the rest come from SMTP. */
enum ev_refusal {
	RF_PER_IP = 0,       /* max-sessions-per-ip */
	RF_RATE,             /* max-conn-per-ip-per-minute */
	RF_POOL_FULL,        /* every worker busy */
	RF_RELAY,            /* 550 5.7.1 relaying denied */
	RF_UNKNOWN_RCPT,     /* 550 5.1.1 user unknown */
	RF_TOO_BIG,          /* 552 5.3.4 max-message-size */
	RF_BARE_LF,          /* 554 5.6.0 bare CR or LF (smuggling) */
	RF_LINE_TOO_LONG,    /* 500 5.5.2 max-line-length */
	RF_QUOTA,            /* 552 5.2.2 mailbox full */
	RF_MAX
};

/* Why a client got a temporary failure (4xx, -ERR [SYS/TEMP]). */
enum ev_tempfail {
	TF_STORE_UNAVAILABLE = 0,  /* no answer from the store */
	TF_STORE_ERROR,            /* the store failed or answered badly */
	TF_NO_SPACE,               /* 452 4.3.1 disk full */
	TF_LOOKUP,                 /* 451 recipient lookup failed */
	TF_SPOOL,                  /* the worker's memfd spool failed */
	TF_MAX
};

/* Names for status and Prometheus labels ("unknown-recipient"); NULL when
 * out of range. */
const char *ev_refusal_name(uint32_t r);
const char *ev_tempfail_name(uint32_t r);

/* Worker side: ev_init(FD_CONTROL) once; ev_send() then sends one
 * MSG_EVENT there.  Before ev_init (unit tests, fuzz targets) it sends
 * nothing.  Errors are ignored: a master that is gone ends the worker
 * elsewhere. */
void ev_init(int control_fd);
void ev_send(enum ev_kind kind, uint32_t reason, uint32_t count,
    const char *account);

#endif
