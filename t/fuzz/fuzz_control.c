/*
 * libFuzzer: the control protocol parser (master/ctl_proto.c) over the
 * bytes a local client of the control socket may send, and the decoder of
 * the master's state snapshot (master/ctl_state.c).  The first byte picks
 * the target.  Invariants: an accepted request names a known command and,
 * for mailbox, a valid name; a decoded snapshot renders within the answer
 * bound and encodes back to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "master/ctl_proto.h"
#include "master/ctl_state.h"
#include "privsep/ipc.h"
#include "privsep/msg.h"
#include "privsep/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As control.c client_read(): the line up to the first LF within the
 * CTL_LINE_MAX_BYTES bytes the buffer holds. */
static void
fuzz_request(const uint8_t *data, size_t size)
{
	struct ctl_req r;
	const char *err = NULL;
	size_t n = size < CTL_LINE_MAX_BYTES ? size : CTL_LINE_MAX_BYTES;
	const uint8_t *nl = memchr(data, '\n', n);

	if (nl == NULL)
		return;   /* the control process answers "too long" or waits */
	if (ctl_parse_request((const char *)data, (size_t)(nl - data), &r, &err) == -1) {
		if (err == NULL || err[0] == '\0')
			abort();
		return;
	}
	if (r.cmd < CTL_STATUS || r.cmd > CTL_MAILBOX)
		abort();
	if (r.cmd == CTL_MAILBOX && !name_ok(r.name))
		abort();
	if (r.cmd != CTL_MAILBOX && r.name[0] != '\0')
		abort();
}

static void
fuzz_state(const uint8_t *data, size_t size)
{
	static struct ipc_msg m, again;
	static struct ctl_state st;
	struct ctl_buf b;

	if (size > IPC_MAX_PAYLOAD)
		return;
	ipc_init(&m, MSG_CTL_STATE, 1);
	ipc_put_raw(&m, data, size);
	m.pos = 0;
	if (ctl_state_get(&m, &st) == -1)
		return;
	ctl_buf_init(&b);
	ctl_render_status(&b, &st);
	ctl_render_who(&b, &st);
	ctl_render_stats(&b, &st);
	ctl_render_prometheus(&b, &st);
	if (b.len > CTL_OUT_MAX_BYTES)
		abort();
	ctl_buf_free(&b);
	ipc_init(&again, MSG_CTL_STATE, 1);
	ctl_state_put(&again, &st);
	if (again.err || again.hdr.len != size || memcmp(again.data, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_state(data + 1, size - 1);
	else
		fuzz_request(data + 1, size - 1);
	return 0;
}
