/*
 * The store's side of the auth channel: password checks never stall
 * the store's delivery loop.  A POP3 AUTH is queued here and sent
 * to the auth process, which alone holds the hashes; the POP3 channel
 * waits in CS_AUTHING while the loop goes on serving deliveries, and the
 * verdict comes back through authcli_io() to the callback the check was
 * submitted with (store_pop3.c binds the mailbox there).  No auth process (not started yet, dead, being
 * restarted): the login gets a temporary error at once; one that dies
 * with checks pending: each of them gets a temporary error.
 */
#ifndef POSTERN_AUTHCLI_H
#define POSTERN_AUTHCLI_H

#include <stdint.h>
#include "../privsep/params.h"

struct chan;

enum auth_verdict {
	AV_OK,         /* the password matches */
	AV_BAD,        /* it does not, or no such account */
	AV_TEMP,       /* no answer: the auth process is gone */
};

struct authwait;
/* The verdict for w (w->c may be NULL: the channel is gone). */
typedef void authcli_done(struct authwait *w, enum auth_verdict v);

struct authwait {
	uint32_t seq;                        /* the id on the auth channel */
	authcli_done *done;
	struct chan *c;                      /* NULL: the channel is gone */
	uint32_t reqid;                      /* the worker's request id */
	int sent;
	uint32_t delay;                      /* the answer's delay: throttle_answer() with the verdict */
	uint64_t at;                         /* when it came */
	char name[LIM_POP3_CMDLINE + 1];     /* lower case, as the client wrote it */
	char addr[LIM_ADDR + 1];
	char password[LIM_PASSWORD + 1];     /* wiped once sent */
};

/* A new channel to the auth process (MSG_AUTH_CHANNEL); checks still
 * waiting on the old one get AV_TEMP. */
void authcli_set_channel(int fd);
/* For poll: the descriptor (-1: none) and the events wanted. */
int authcli_fd(void);
short authcli_events(void);
/* Queues a check for channel c, its verdict for done(); 0, or -1 when
 * there is no auth process or too many checks wait (the caller answers
 * AUTH_TEMP). */
int authcli_submit(struct chan *c, uint32_t reqid, const char *name,
    const char *password, const char *addr, uint32_t delay, uint64_t at,
    authcli_done *done);
/* Sends what is queued and takes the verdicts that came (revents from
 * poll, 0 when the auth channel was not polled). */
void authcli_io(short revents);
/* c is being freed: its checks finish without it (a queued one is never
 * sent: a client that left costs no crypt). */
void authcli_forget(const struct chan *c);

#endif
