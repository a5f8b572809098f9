/* The control protocol: parser and renderers (see ctl_proto.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../privsep/util.h"
#include "ctl_proto.h"

/* ---- requests ---- */

int
ctl_parse_request(const char *line, size_t len, struct ctl_req *r,
    const char **err)
{
	char buf[CTL_LINE_MAX_BYTES];
	char *arg;

	memset(r, 0, sizeof(*r));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0) {
		*err = "empty request";
		return -1;
	}
	if (len >= sizeof(buf)) {
		*err = "request line too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f) {
			*err = "request has a control or non-ASCII byte";
			return -1;
		}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if ((arg = strchr(buf, ' ')) != NULL)
		*arg++ = '\0';
	if (strcmp(buf, "mailbox") == 0) {
		if (arg == NULL || *arg == '\0') {
			*err = "mailbox needs a name";
			return -1;
		}
		if (strlen(arg) > LIM_NAME || !name_ok(arg)) {
			*err = "not a valid mailbox name";
			return -1;
		}
		strlcpy_(r->name, arg, sizeof(r->name));
		r->cmd = CTL_MAILBOX;
		return 0;
	}
	if (strcmp(buf, "stats") == 0 && arg != NULL && strcmp(arg, "prometheus") == 0) {
		r->cmd = CTL_STATS_PROM;
		return 0;
	}
	if (arg != NULL) {
		*err = "unexpected argument";
		return -1;
	}
	if (strcmp(buf, "status") == 0)
		r->cmd = CTL_STATUS;
	else if (strcmp(buf, "who") == 0)
		r->cmd = CTL_WHO;
	else if (strcmp(buf, "stats") == 0)
		r->cmd = CTL_STATS;
	else if (strcmp(buf, "reload") == 0)
		r->cmd = CTL_RELOAD;
	else if (strcmp(buf, "stop") == 0)
		r->cmd = CTL_STOP;
	else {
		*err = "unknown command (status, who, stats, reload, stop, mailbox NAME)";
		return -1;
	}
	return 0;
}

/* ---- the answer buffer ---- */

void
ctl_buf_init(struct ctl_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
ctl_buf_free(struct ctl_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
ctl_printf(struct ctl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		if (b->len + (size_t)n + 1 > CTL_OUT_MAX_BYTES) {
			b->err = 1;
			return;
		}
		b->cap = b->cap * 2 > b->len + (size_t)n + 1 ? b->cap * 2 :
		    b->len + (size_t)n + 256;
		if (b->cap > CTL_OUT_MAX_BYTES)
			b->cap = CTL_OUT_MAX_BYTES;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
}

/* ---- renderers ---- */

static void
fmt_duration(char *out, size_t n, uint64_t s)
{
	if (s >= 86400)
		snprintf(out, n, "%llud%lluh", (unsigned long long)(s / 86400),
		    (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, n, "%lluh%llum", (unsigned long long)(s / 3600),
		    (unsigned long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, n, "%llum%llus", (unsigned long long)(s / 60),
		    (unsigned long long)(s % 60));
	else
		snprintf(out, n, "%llus", (unsigned long long)s);
}

static void
fmt_time(char *out, size_t n, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "%llu", (unsigned long long)t);
}

static void
render_sessions(struct ctl_buf *b, const struct ctl_state *st, const char *prefix)
{
	char dur[32];

	for (uint32_t i = 0; i < st->nsessions; i++) {
		const struct ctl_session *s = &st->sess[i];

		fmt_duration(dur, sizeof(dur), s->seconds);
		ctl_printf(b, "%s%-7s %-39s %-20s %-8s %u\n", prefix,
		    ctl_service_name(s->service), s->client,
		    s->account[0] ? s->account : "-", dur, s->pid);
	}
	if (st->nsessions < st->nsessions_total)
		ctl_printf(b, "%s(%u more not listed)\n", prefix,
		    st->nsessions_total - st->nsessions);
}

void
ctl_render_status(struct ctl_buf *b, const struct ctl_state *st)
{
	char when[48], dur[32];

	fmt_time(when, sizeof(when), st->started);
	fmt_duration(dur, sizeof(dur), st->now >= st->started ? st->now - st->started : 0);
	ctl_printf(b, "up-since: %s (%s)\n", when, dur);
	ctl_printf(b, "master-pid: %u\n", st->master_pid);
	ctl_printf(b, "config: %s\n", st->conf_path);
	for (int h = 0; h < CH_MAX; h++)
		ctl_printf(b, "%s: %s pid=%u restarts=%u\n", ctl_helper_name(h),
		    ctl_helper_state_name(st->helper[h].state), st->helper[h].pid,
		    st->helper[h].restarts);
	for (int s = 0; s < SVC_MAX; s++)
		ctl_printf(b, "pool %s: busy=%u idle=%u min-spare=%u max=%u%s\n",
		    ctl_service_name((uint32_t)s), st->pool[s].busy, st->pool[s].idle,
		    st->pool[s].min_spare, st->pool[s].max,
		    st->pool[s].listening ? "" : " (no listen line)");
	ctl_printf(b, "sessions-now: %u\n", st->nsessions_total);
	render_sessions(b, st, "  ");
	ctl_printf(b, "sessions-total: smtp=%llu pop3=%llu\n",
	    (unsigned long long)st->c.sessions[SVC_SMTP],
	    (unsigned long long)st->c.sessions[SVC_POP3]);
	ctl_printf(b, "delivered: messages=%llu recipients=%llu\n",
	    (unsigned long long)st->c.delivered, (unsigned long long)st->c.delivered_rcpts);
	ctl_printf(b, "refused:");
	for (uint32_t r = 0; r < RF_MAX; r++)
		ctl_printf(b, " %s=%llu", ev_refusal_name(r),
		    (unsigned long long)st->c.refused[r]);
	ctl_printf(b, "\ntempfail:");
	for (uint32_t r = 0; r < TF_MAX; r++)
		ctl_printf(b, " %s=%llu", ev_tempfail_name(r),
		    (unsigned long long)st->c.tempfail[r]);
	ctl_printf(b, "\nlogins: ok=%llu failed=%llu\n",
	    (unsigned long long)st->c.login_ok, (unsigned long long)st->c.login_fail);
}

void
ctl_render_who(struct ctl_buf *b, const struct ctl_state *st)
{
	ctl_printf(b, "%-7s %-39s %-20s %-8s %s\n", "SERVICE", "CLIENT", "ACCOUNT",
	    "DURATION", "PID");
	render_sessions(b, st, "");
}

void
ctl_render_stats(struct ctl_buf *b, const struct ctl_state *st)
{
	for (int s = 0; s < SVC_MAX; s++)
		ctl_printf(b, "sessions.%s %llu\n", ctl_service_name((uint32_t)s),
		    (unsigned long long)st->c.sessions[s]);
	ctl_printf(b, "delivered.messages %llu\n", (unsigned long long)st->c.delivered);
	ctl_printf(b, "delivered.recipients %llu\n",
	    (unsigned long long)st->c.delivered_rcpts);
	for (uint32_t r = 0; r < RF_MAX; r++)
		ctl_printf(b, "refused.%s %llu\n", ev_refusal_name(r),
		    (unsigned long long)st->c.refused[r]);
	for (uint32_t r = 0; r < TF_MAX; r++)
		ctl_printf(b, "tempfail.%s %llu\n", ev_tempfail_name(r),
		    (unsigned long long)st->c.tempfail[r]);
	ctl_printf(b, "logins.ok %llu\nlogins.failed %llu\n",
	    (unsigned long long)st->c.login_ok, (unsigned long long)st->c.login_fail);
}

static void
prom_head(struct ctl_buf *b, const char *name, const char *type, const char *help)
{
	ctl_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The text exposition format, version 0.0.4: every label value here is
 * one of our own fixed names, so none needs escaping. */
void
ctl_render_prometheus(struct ctl_buf *b, const struct ctl_state *st)
{
	prom_head(b, "postern_start_time_seconds", "gauge",
	    "Start time of the postern master since the Unix epoch in seconds.");
	ctl_printf(b, "postern_start_time_seconds %llu\n", (unsigned long long)st->started);
	prom_head(b, "postern_sessions_total", "counter",
	    "Client sessions admitted since start.");
	for (int s = 0; s < SVC_MAX; s++)
		ctl_printf(b, "postern_sessions_total{service=\"%s\"} %llu\n",
		    ctl_service_name((uint32_t)s), (unsigned long long)st->c.sessions[s]);
	prom_head(b, "postern_messages_delivered_total", "counter",
	    "Messages appended to local mailboxes since start.");
	ctl_printf(b, "postern_messages_delivered_total %llu\n",
	    (unsigned long long)st->c.delivered);
	prom_head(b, "postern_recipients_delivered_total", "counter",
	    "Mailboxes the delivered messages were appended to since start.");
	ctl_printf(b, "postern_recipients_delivered_total %llu\n",
	    (unsigned long long)st->c.delivered_rcpts);
	prom_head(b, "postern_refused_total", "counter",
	    "Connections, recipients and messages refused since start, by reason.");
	for (uint32_t r = 0; r < RF_MAX; r++)
		ctl_printf(b, "postern_refused_total{reason=\"%s\"} %llu\n",
		    ev_refusal_name(r), (unsigned long long)st->c.refused[r]);
	prom_head(b, "postern_tempfail_total", "counter",
	    "Temporary failures given to clients since start, by reason.");
	for (uint32_t r = 0; r < TF_MAX; r++)
		ctl_printf(b, "postern_tempfail_total{reason=\"%s\"} %llu\n",
		    ev_tempfail_name(r), (unsigned long long)st->c.tempfail[r]);
	prom_head(b, "postern_logins_total", "counter",
	    "POP3 logins since start, by result.");
	ctl_printf(b, "postern_logins_total{result=\"ok\"} %llu\n",
	    (unsigned long long)st->c.login_ok);
	ctl_printf(b, "postern_logins_total{result=\"failed\"} %llu\n",
	    (unsigned long long)st->c.login_fail);
	prom_head(b, "postern_workers", "gauge", "Worker processes now, by service and state.");
	for (int s = 0; s < SVC_MAX; s++) {
		ctl_printf(b, "postern_workers{service=\"%s\",state=\"busy\"} %u\n",
		    ctl_service_name((uint32_t)s), st->pool[s].busy);
		ctl_printf(b, "postern_workers{service=\"%s\",state=\"idle\"} %u\n",
		    ctl_service_name((uint32_t)s), st->pool[s].idle);
	}
	prom_head(b, "postern_workers_max", "gauge", "The configured maximum of workers, by service.");
	for (int s = 0; s < SVC_MAX; s++)
		ctl_printf(b, "postern_workers_max{service=\"%s\"} %u\n",
		    ctl_service_name((uint32_t)s), st->pool[s].max);
	prom_head(b, "postern_sessions_active", "gauge", "Client sessions in progress.");
	ctl_printf(b, "postern_sessions_active %u\n", st->nsessions_total);
	prom_head(b, "postern_process_up", "gauge",
	    "1 when the helper process is running and ready, else 0.");
	for (int h = 0; h < CH_MAX; h++)
		if (st->helper[h].state != HS_UNUSED)
			ctl_printf(b, "postern_process_up{process=\"%s\"} %d\n", ctl_helper_name(h),
			    st->helper[h].state == HS_RUNNING);
	prom_head(b, "postern_process_restarts_total", "counter",
	    "Deaths of the helper process since start (each followed by a restart).");
	for (int h = 0; h < CH_MAX; h++)
		ctl_printf(b, "postern_process_restarts_total{process=\"%s\"} %u\n", ctl_helper_name(h),
		    st->helper[h].restarts);
}
