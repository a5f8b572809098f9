/*
 * The control protocol (master/ctl_proto.c) and the state snapshot
 * (master/ctl_state.c): the request parser accepts exactly the commands
 * and refuses everything else with a message; the snapshot survives the
 * trip through an ipc_msg and a damaged one is refused; the renderers
 * stay within their bound.
 */
#include <string.h>

#include "check.h"
#include "master/ctl_proto.h"
#include "master/ctl_state.h"
#include "privsep/msg.h"
#include "privsep/util.h"

static struct ctl_state st, back;
static struct ipc_msg m;

static int
parses(const char *line, enum ctl_cmd want)
{
	struct ctl_req r;
	const char *err = NULL;

	return ctl_parse_request(line, strlen(line), &r, &err) == 0 && r.cmd == want;
}

static const char *
refusal(const char *line, size_t len)
{
	struct ctl_req r;
	const char *err = NULL;

	return ctl_parse_request(line, len, &r, &err) == -1 ? err : NULL;
}

static void
test_parser(void)
{
	struct ctl_req r;
	const char *err, *e;
	char big[CTL_LINE_MAX_BYTES + 10];

	CHECK(parses("status", CTL_STATUS), "status");
	CHECK(parses("status\r", CTL_STATUS), "a CR before the LF is dropped");
	CHECK(parses("who", CTL_WHO), "who");
	CHECK(parses("stats", CTL_STATS), "stats");
	CHECK(parses("stats prometheus", CTL_STATS_PROM), "stats prometheus");
	CHECK(parses("reload", CTL_RELOAD) && parses("stop", CTL_STOP), "reload, stop");
	CHECK(ctl_parse_request("mailbox alice", 13, &r, &err) == 0 && r.cmd == CTL_MAILBOX &&
	    strcmp(r.name, "alice") == 0, "mailbox NAME keeps the name");
	CHECK((e = refusal("", 0)) != NULL && strstr(e, "empty"), "an empty line");
	CHECK((e = refusal("STATUS", 6)) != NULL && strstr(e, "unknown"), "commands are lower case");
	CHECK(refusal("status x", 8) != NULL, "an argument to status");
	CHECK(refusal("stats json", 10) != NULL, "stats with another argument");
	CHECK(refusal("mailbox", 7) != NULL && refusal("mailbox ", 8) != NULL, "mailbox without a name");
	CHECK(refusal("mailbox ../x", 12) != NULL, "a name with a slash");
	CHECK(refusal("mailbox .x", 10) != NULL, "a name with a leading dot");
	CHECK(refusal("mailbox a b", 11) != NULL, "a name with a space");
	CHECK((e = refusal("stat\0us", 7)) != NULL && strstr(e, "control"), "a NUL byte");
	CHECK(refusal("status\xff", 7) != NULL, "a non-ASCII byte");
	memset(big, 'a', sizeof(big));
	CHECK((e = refusal(big, sizeof(big))) != NULL && strstr(e, "too long"), "a line past the bound");
	memcpy(big, "mailbox ", 8);
	CHECK(refusal(big, 8 + LIM_NAME + 1) != NULL, "a name past LIM_NAME");
	CHECK(refusal(big, 8 + LIM_NAME) == NULL, "a name of LIM_NAME bytes");
}

static void
fill(void)
{
	memset(&st, 0, sizeof(st));
	st.started = 1700000000;
	st.now = 1700003723;
	st.master_pid = 42;
	strlcpy_(st.conf_path, "/etc/postern/postern.conf", sizeof(st.conf_path));
	st.pool[SVC_SMTP].min_spare = 2;
	st.pool[SVC_SMTP].max = 50;
	st.pool[SVC_POP3].busy = 3;
	st.helper[CH_STORE].state = HS_RUNNING;
	st.helper[CH_STORE].pid = 43;
	st.helper[CH_STORE].restarts = 1;
	st.c.sessions[SVC_POP3] = 7;
	st.c.delivered = 5;
	st.c.delivered_rcpts = 9;
	st.c.refused[RF_RELAY] = 2;
	st.c.tempfail[TF_NO_SPACE] = 1;
	st.c.login_ok = 4;
	st.c.login_fail = 6;
	st.nsessions_total = st.nsessions = CTL_SESSIONS_MAX_COUNT;
	for (uint32_t i = 0; i < st.nsessions; i++) {
		st.sess[i].service = i % 2;
		st.sess[i].pid = 1000 + i;
		st.sess[i].seconds = i;
		memset(st.sess[i].client, '1', sizeof(st.sess[i].client) - 1);
		memset(st.sess[i].account, 'a', sizeof(st.sess[i].account) - 1);
	}
}

static void
test_state(void)
{
	struct ctl_buf b;

	fill();
	ipc_init(&m, MSG_CTL_STATE, 7);
	ctl_state_put(&m, &st);
	CHECK(m.err == 0, "a full snapshot (%u sessions, longest strings) fits one message",
	    CTL_SESSIONS_MAX_COUNT);
	m.pos = 0;
	CHECK(ctl_state_get(&m, &back) == 0 && memcmp(&st, &back, sizeof(st)) == 0,
	    "the snapshot comes back the same");

	m.hdr.len -= 1;
	m.pos = 0;
	CHECK(ctl_state_get(&m, &back) == -1, "a truncated snapshot is refused");
	m.hdr.len += 1;
	ipc_put_u32(&m, 0);
	m.pos = 0;
	CHECK(ctl_state_get(&m, &back) == -1, "trailing bytes are refused");

	st.nsessions = 3;
	st.nsessions_total = 2;
	ipc_init(&m, MSG_CTL_STATE, 7);
	ctl_state_put(&m, &st);
	m.pos = 0;
	CHECK(ctl_state_get(&m, &back) == -1, "more sessions listed than counted is refused");

	fill();
	st.helper[CH_KEYHOLDER].state = HS_MAX;
	ipc_init(&m, MSG_CTL_STATE, 7);
	ctl_state_put(&m, &st);
	m.pos = 0;
	CHECK(ctl_state_get(&m, &back) == -1, "an unknown helper state is refused");

	fill();
	st.nsessions = 1;
	st.nsessions_total = 300;
	st.sess[0].service = SVC_POP3;
	strlcpy_(st.sess[0].client, "192.0.2.7", sizeof(st.sess[0].client));
	strlcpy_(st.sess[0].account, "alice", sizeof(st.sess[0].account));
	ctl_buf_init(&b);
	ctl_render_status(&b, &st);
	CHECK(!b.err && strstr(b.p, "up-since: 2023-11-14T22:13:20Z (1h2m)") != NULL,
	    "status: start time in UTC and the uptime");
	CHECK(strstr(b.p, "store: running pid=43 restarts=1\n") != NULL, "status: the store");
	CHECK(strstr(b.p, "sessions-now: 300\n") != NULL &&
	    strstr(b.p, "(299 more not listed)") != NULL, "status: sessions past the list are counted");
	CHECK(strstr(b.p, "delivered: messages=5 recipients=9\n") != NULL &&
	    strstr(b.p, " relay=2 ") != NULL && strstr(b.p, " no-space=1 ") != NULL &&
	    strstr(b.p, "logins: ok=4 failed=6\n") != NULL, "status: the counters");
	ctl_buf_free(&b);
	ctl_render_who(&b, &st);
	CHECK(!b.err && strstr(b.p, "pop3    192.0.2.7") != NULL && strstr(b.p, "alice") != NULL,
	    "who: service, client and account");
	ctl_buf_free(&b);
	ctl_render_prometheus(&b, &st);
	CHECK(!b.err && strstr(b.p, "# TYPE postern_refused_total counter\n") != NULL &&
	    strstr(b.p, "postern_refused_total{reason=\"relay\"} 2\n") != NULL &&
	    strstr(b.p, "postern_logins_total{result=\"failed\"} 6\n") != NULL,
	    "prometheus: TYPE lines and labelled samples");
	ctl_buf_free(&b);
	for (int i = 0; i < 100000 && !b.err; i++)
		ctl_printf(&b, "%0200d\n", i);
	CHECK(b.err && b.len <= CTL_OUT_MAX_BYTES, "an answer stops at CTL_OUT_MAX_BYTES");
	ctl_buf_free(&b);
}

int
main(void)
{
	test_parser();
	test_state();
	return check_done();
}
