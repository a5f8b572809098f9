/*
 * The master's handling of a child's log line (privsep/log.c): whatever a
 * child puts in an MSG_LOG, the master writes one line, tagged with the
 * role and pid it knows the child by, at a priority no higher than
 * LOG_ERR.  The last cases run log_child() itself with stderr on a pipe.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privsep/log.h"
#include "privsep/params.h"
#include "t/unit/check.h"

static void
escapes(const char *in, const char *want)
{
	char out[256];

	log_child_escape(in, out, sizeof(out));
	CHECK(strcmp(out, want) == 0, "escape \"%s\" (got \"%s\")", want, out);
}

/* Runs log_child() with fd 2 on a pipe; returns what it wrote. */
static void
captured(const char *role, int pid, uint32_t prio, const char *line, char *out, size_t outsz)
{
	int p[2], saved = dup(2);
	ssize_t n;

	out[0] = '\0';
	if (saved == -1 || pipe(p) == -1) {
		CHECK(0, "pipe");
		return;
	}
	fflush(stderr);
	dup2(p[1], 2);
	close(p[1]);
	log_child(role, pid, prio, line);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = read(p[0], out, outsz - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
}

int
main(void)
{
	char out[8], big[LIM_LOGLINE + 1], res[LIM_LOGLINE * 4 + 64];
	const char *nl;

	escapes("plain line: 250 2.0.0 ok", "plain line: 250 2.0.0 ok");
	escapes("x\n... store[1]: delivered", "x\\x0a... store[1]: delivered");
	escapes("a\rb\tc\x1b[2Jd\x7f", "a\\x0db\\x09c\\x1b[2Jd\\x7f");
	escapes("caf\xc3\xa9", "caf\xc3\xa9");      /* UTF-8 passes */
	escapes("", "");

	/* cut before an escape, never inside one; always terminated */
	log_child_escape("abcd\nef", out, sizeof(out));
	CHECK(strcmp(out, "abcd") == 0, "a long line is cut before an escape (got \"%s\")", out);
	log_child_escape("abcdefghij", out, sizeof(out));
	CHECK(strcmp(out, "abcdefg") == 0, "a long line is cut to the buffer (got \"%s\")", out);

	/* a whole line of control bytes still fits the master's buffer */
	memset(big, '\n', LIM_LOGLINE - 1);
	big[LIM_LOGLINE - 1] = '\0';
	log_child_escape(big, res, sizeof(res));
	CHECK(strlen(res) == (LIM_LOGLINE - 1) * 4 && strchr(res, '\n') == NULL,
	    "LIM_LOGLINE newlines: all escaped, nothing cut (%zu)", strlen(res));

	CHECK(log_child_prio(LOG_EMERG) == LOG_ERR, "EMERG from a child becomes ERR");
	CHECK(log_child_prio(LOG_ALERT) == LOG_ERR, "ALERT from a child becomes ERR");
	CHECK(log_child_prio(LOG_CRIT) == LOG_ERR, "CRIT from a child becomes ERR");
	CHECK(log_child_prio(LOG_ERR) == LOG_ERR, "ERR stays");
	CHECK(log_child_prio(LOG_WARNING) == LOG_WARNING, "WARNING stays");
	CHECK(log_child_prio(LOG_INFO) == LOG_INFO, "INFO stays");
	CHECK(log_child_prio(LOG_DEBUG) == LOG_DEBUG, "DEBUG stays");
	CHECK(log_child_prio(LOG_MAIL | LOG_EMERG) == LOG_DEBUG,
	    "a facility in the priority does not make EMERG");
	CHECK(log_child_prio(0xffffffffu) == LOG_DEBUG, "garbage is DEBUG");

	/* the whole function: one line, the master's tag first */
	log_init_master(1, LOG_MAIL);
	captured("smtp", 4242, LOG_EMERG, "x\n2026-01-01 00:00:00 store[1]: delivered", res, sizeof(res));
	nl = strchr(res, '\n');
	CHECK(nl != NULL && nl[1] == '\0', "log_child writes exactly one line (\"%s\")", res);
	CHECK(strstr(res, " smtp[4242]: x\\x0a2026-01-01 00:00:00 store[1]: delivered\n") != NULL,
	    "tagged with the role and pid the master knows, newline escaped");
	captured("pop3", 7, LOG_DEBUG, "debug detail", res, sizeof(res));
	CHECK(res[0] == '\0', "a child's debug line is dropped without -v (\"%s\")", res);
	log_set_verbose(1);
	captured("pop3", 7, LOG_DEBUG, "debug detail", res, sizeof(res));
	CHECK(strstr(res, " pop3[7]: debug detail\n") != NULL, "and written with -v");
	return check_done();
}
