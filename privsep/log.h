/*
 * Logging.  The master writes (stderr in the foreground, syslog otherwise);
 * every child sends its lines to the master as MSG_LOG over FD_CONTROL, so
 * a jailed process can neither open a log nor forge another's lines.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

/* Master: foreground -> stderr, else syslog(facility).  Child: via fd. */
void log_init_master(int foreground, int facility);
void log_init_child(const char *tag, int control_fd);
/* Before either: stderr, used by -n and early errors. */
void log_set_verbose(int level);   /* 0 info, 1 debug */
int log_verbose(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));   /* with strerror(errno) */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));  /* with strerror */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Master only: write a line that came from a child, tagged by the master. */
void log_emit(int prio, const char *tag, const char *line);

/*
 * Master only: a line a child sent in an MSG_LOG, written as
 * "role[pid]: line" with the role and pid the master knows the child by,
 * control bytes escaped as \xNN (log_child_escape), the priority clamped
 * to LOG_ERR..LOG_DEBUG (log_child_prio); debug lines only with -v.
 */
void log_child(const char *role, int pid, uint32_t prio, const char *line);
void log_child_escape(const char *line, char *out, size_t outsz);
int log_child_prio(uint32_t prio);

#endif
