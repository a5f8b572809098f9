/*
 * Logging: see log.h.  In the master a line goes to stderr (foreground) or
 * syslog; in a child it becomes an MSG_LOG to the master, which tags it with
 * the role and pid it knows the sender by.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "params.h"

static int log_mode;        /* 0 stderr (early), 1 master, 2 child */
static int log_foreground = 1;
static int log_ctl = -1;
static int log_level;       /* 0 info, 1 debug */
static char log_tag[32] = "posternd";

void
log_init_master(int foreground, int facility)
{
	log_mode = 1;
	log_foreground = foreground;
	if (!foreground)
		openlog("postern", LOG_PID | LOG_NDELAY, facility);
}

void
log_init_child(const char *tag, int control_fd)
{
	log_mode = 2;
	log_ctl = control_fd;
	snprintf(log_tag, sizeof(log_tag), "%s", tag);
}

void
log_set_verbose(int level)
{
	log_level = level;
}

int
log_verbose(void)
{
	return log_level;
}

/* Replaces control bytes so one log line stays one line. */
static void
sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
log_emit(int prio, const char *tag, const char *line)
{
	if (log_mode != 1 || log_foreground) {
		char ts[32];
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s %s: %s\n", ts, tag, line);
		fflush(stderr);
	} else
		syslog(prio, "%s: %s", tag, line);
}

/*
 * A line from a child, made safe to write: bytes below 0x20 and 0x7f
 * become "\xNN", so one MSG_LOG is one line whatever a child put in it
 * (a newline cannot start a forged "store[1]: delivered" line, an escape
 * sequence cannot reach a terminal).  The child's own sanitize() already
 * did this; the master cannot rely on it.  out always ends in NUL; a
 * line too long is cut before an escape, never inside one.
 */
void
log_child_escape(const char *line, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outsz == 0)
		return;
	for (; *line != '\0'; line++) {
		unsigned char c = (unsigned char)*line;

		if (c < 0x20 || c == 0x7f) {
			if (outsz - o < 5)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		} else {
			if (outsz - o < 2)
				break;
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

/* A child's priority: LOG_ERR at most (EMERG, ALERT and CRIT are the
 * master's: a child cannot have syslog wall every terminal), anything
 * beyond LOG_DEBUG (a facility, garbage) is LOG_DEBUG. */
int
log_child_prio(uint32_t prio)
{
	if (prio > LOG_DEBUG)
		return LOG_DEBUG;
	if (prio < LOG_ERR)
		return LOG_ERR;
	return (int)prio;
}

void
log_child(const char *role, int pid, uint32_t prio, const char *line)
{
	char tag[48], safe[LIM_LOGLINE * 4];
	int p = log_child_prio(prio);

	if (p == LOG_DEBUG && log_level < 1)
		return;
	snprintf(tag, sizeof(tag), "%s[%d]", role, pid);
	log_child_escape(line, safe, sizeof(safe));
	log_emit(p, tag, safe);
}

static void
vlog(int prio, int with_errno, const char *fmt, va_list ap)
{
	char line[LIM_LOGLINE];
	int saved = errno;
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (with_errno) {
		n = strlen(line);
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
	}
	sanitize(line);
	if (log_mode == 2) {
		static struct ipc_msg m;

		ipc_init(&m, MSG_LOG, 0);
		ipc_put_u32(&m, (uint32_t)prio);
		ipc_put_str(&m, line);
		if (ipc_send(log_ctl, &m) == 0) {
			errno = saved;
			return;
		}
		/* the master is gone: say it where someone may see it */
	}
	if (log_mode == 0) {
		fprintf(stderr, "posternd: %s\n", line);
		fflush(stderr);
	} else
		log_emit(prio, log_tag, line);
	errno = saved;
}

#define LOGFN(name, prio, err, gate)                          \
void name(const char *fmt, ...)                               \
{                                                             \
	va_list ap;                                           \
	if (gate)                                             \
		return;                                       \
	va_start(ap, fmt);                                    \
	vlog(prio, err, fmt, ap);                             \
	va_end(ap);                                           \
}

LOGFN(log_warn, LOG_WARNING, 1, 0)
LOGFN(log_warnx, LOG_WARNING, 0, 0)
LOGFN(log_info, LOG_INFO, 0, 0)
LOGFN(log_debug, LOG_DEBUG, 0, log_level < 1)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
