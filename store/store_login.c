/*
 * The login steps POP3 (MSG_AUTH, store_pop3.c) and IMAP (MSG_IMAP_AUTH,
 * store_imap.c) share, written once: the throttle before the check, the
 * round trip to the auth process (authcli.c: crypt never runs in the
 * store's loop), the verdict (a yes counts only for an account the store
 * knows), the delay every answer carries (throttle.h), the log lines, and
 * the login-delay table.  What a right password then does is the
 * protocol's (struct login_proto): POP3 locks and snapshots the mailbox,
 * IMAP only makes sure the account's folder table is there.
 * Below the two handler files in the store's stack (store_int.h).
 */
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "authcli.h"
#include "throttle.h"
#include "store_int.h"

/*
 * login-delay (RFC 2449 LOGIN-DELAY): when each account last logged in.
 * Bounded; an evicted entry only means one login is not delayed.
 */
static struct {
	char name[LIM_NAME + 1];
	uint64_t at;
} logins[LOGIN_SLOTS_COUNT];

static size_t
login_slot(const char *name)
{
	uint32_t h = 2166136261u;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % LOGIN_SLOTS_COUNT;
}

int
login_too_soon(const char *name, uint64_t now)
{
	size_t i = login_slot(name);

	return S.conf.login_delay_s > 0 && strcmp(logins[i].name, name) == 0 &&
	    now - logins[i].at < (uint64_t)S.conf.login_delay_s * 1000;
}

void
login_record(const char *name, uint64_t now)
{
	size_t i = login_slot(name);

	strlcpy_(logins[i].name, name, sizeof(logins[i].name));
	logins[i].at = now;
}

void
login_begin(struct chan *c, const struct store_req *r, const struct login_proto *p,
    authcli_done *done)
{
	char name[LIM_POP3_CMDLINE + 1];
	uint32_t delay;
	uint64_t now = now_ms();

	strlcpy_(name, r->name, sizeof(name));
	name_lower(name);
	/* an address flooding an account is answered unchecked (throttle.h) */
	if (!throttle_may_check(name, r->addr, now)) {
		delay = throttle_answer(name, r->addr, 0, now);
		log_info("store: %s worker %d: authentication failed for %s from %s "
		    "(not checked: guesses on this account at their cap)", p->proto,
		    (int)c->pid, mailbox_name_ok(name) ? name : "(invalid name)", r->addr);
		p->reply(c, r->id, AUTH_BAD, delay, -1);
		return;
	}
	/* the delay comes with the verdict (throttle_answer in login_finish) */
	if (authcli_submit(c, r->id, name, r->password, r->addr, 0, now, done) == 0) {
		c->state = CS_AUTHING;
		return;
	}
	log_warnx("store: %s worker %d: %s from %s: no auth process to check the password",
	    p->proto, (int)c->pid, mailbox_name_ok(name) ? name : "(invalid name)", r->addr);
	p->reply(c, r->id, AUTH_TEMP, 0, -1);
}

void
login_finish(struct authwait *w, enum auth_verdict v, const struct login_proto *p)
{
	struct chan *c = w->c;
	const char *name = w->name;
	int valid = mailbox_name_ok(name), fd = -1;
	uint32_t st;
	uint64_t now = now_ms();

	/* the store believes a yes only for an account it knows */
	if (v == AV_OK && (!valid || acct_find(&S.tab, name) == NULL)) {
		log_warnx("store: the auth process accepted %s, which is not in the accounts "
		    "table (a reload in between?)", valid ? name : "(invalid name)");
		v = AV_TEMP;
	}
	if (v != AV_TEMP)
		w->delay = throttle_answer(name, w->addr, v == AV_OK, now);
	if (c == NULL || c->dead) {
		if (v == AV_BAD)
			log_info("store: authentication failed for %s from %s (the client left)",
			    valid ? name : "(invalid name)", w->addr);
		return;
	}
	c->state = CS_OPEN;
	if (v == AV_TEMP) {
		st = AUTH_TEMP;
		log_warnx("store: %s worker %d: %s from %s: no verdict from the auth process",
		    p->proto, (int)c->pid, valid ? name : "(invalid name)", w->addr);
	} else if (v == AV_BAD) {
		st = AUTH_BAD;
		log_info("store: %s worker %d: authentication failed for %s from %s",
		    p->proto, (int)c->pid, valid ? name : "(invalid name)", w->addr);
	} else
		st = p->bind(c, name, w->addr, now, &fd);
	p->reply(c, w->reqid, st, w->delay, fd);
	if (fd != -1)
		close(fd);
}
