/*
 * The control protocol between posternctl and the control process, over
 * the control socket (a Unix stream socket).  One request a connection:
 * the client sends one line of at most CTL_LINE_MAX_BYTES bytes, LF-terminated
 * (a CR before the LF is allowed), of printable ASCII:
 *
 *     status | who | stats | stats prometheus | reload | stop | mailbox NAME
 *
 * The answer is "+OK" or "-ERR text" on the first line, then (after +OK)
 * the body, and the server closes the connection.  The parser and the
 * renderers are here, apart from the process, so that the fuzz target and
 * the unit test run them without a daemon.
 */
#ifndef POSTERN_CTL_PROTO_H
#define POSTERN_CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "../privsep/params.h"
#include "ctl_state.h"

enum ctl_cmd {
	CTL_STATUS = 1,
	CTL_WHO,
	CTL_STATS,
	CTL_STATS_PROM,
	CTL_RELOAD,
	CTL_STOP,
	CTL_MAILBOX,
};

struct ctl_req {
	enum ctl_cmd cmd;
	char name[LIM_NAME + 1];     /* CTL_MAILBOX */
};

/*
 * Parses one request line of len bytes, without its LF (a trailing CR is
 * dropped).  0 with *r filled, or -1 with *err a message for the client.
 */
int ctl_parse_request(const char *line, size_t len, struct ctl_req *r,
    const char **err);

/* A growing answer, capped at CTL_OUT_MAX_BYTES (err set when it overflowed). */
struct ctl_buf {
	char *p;
	size_t len, cap;
	int err;
};
void ctl_buf_init(struct ctl_buf *b);
void ctl_buf_free(struct ctl_buf *b);
void ctl_printf(struct ctl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The bodies (after "+OK\n"). */
void ctl_render_status(struct ctl_buf *b, const struct ctl_state *st);
void ctl_render_who(struct ctl_buf *b, const struct ctl_state *st);
void ctl_render_stats(struct ctl_buf *b, const struct ctl_state *st);
void ctl_render_prometheus(struct ctl_buf *b, const struct ctl_state *st);

#endif
