/*
 * The control channel's one request (posternctl mailbox NAME): how many
 * messages and bytes a mailbox holds, when the last one came, and whether
 * its sidecar index is current.  The mailbox is read the way AUTH reads
 * it (locked, scanned, a torn tail repaired); nothing is sent but numbers
 * and the date text of the last From_ line.
 */
#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "store_int.h"

/* "From sender Fri Dec  4 23:20:14 2026" -> the date, after the sender. */
static void
from_line_date(int fd, const struct mbox_ent *e, char *out, size_t outsz)
{
	char buf[FROM_LINE_MAX_BYTES + 1];
	ssize_t n = pread(fd, buf, FROM_LINE_MAX_BYTES, (off_t)e->off);
	char *nl, *sp;

	out[0] = '\0';
	if (n <= 5)
		return;
	buf[n] = '\0';
	if ((nl = memchr(buf, '\n', (size_t)n)) != NULL)
		*nl = '\0';
	if (strncmp(buf, "From ", 5) != 0 || (sp = strchr(buf + 5, ' ')) == NULL)
		return;
	sp += strspn(sp, " ");
	for (char *q = sp; *q; q++)
		if (!isprint((unsigned char)*q))
			*q = '?';
	strlcpy_(out, sp, outsz);
}

static uint32_t
index_state(const char *name)
{
	struct mailbox mb;
	struct mbox_list l;
	struct stat st;
	int valid = 0;

	mb_init(&mb, S.spool, name);
	if (mb_open(&mb, 0, NULL) != 0)
		return MBX_INDEX_NONE;
	mbox_list_init(&l);
	if (fstat(mb.fd, &st) == 0)
		mb_index_load(&mb, &st, &l, &valid);
	mbox_list_free(&l);
	mb_close(&mb);
	return valid == 2 ? MBX_INDEX_CURRENT : valid == 1 ? MBX_INDEX_STALE :
	    MBX_INDEX_NONE;
}

void
handle_mbox_stat(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	char name[LIM_NAME + 1], last[64] = "";
	struct mailbox mb;
	struct mbox_list l;
	uint32_t idx;
	uint64_t bytes = 0;
	size_t i;
	int rc;

	ipc_init(&m, MSG_MBOX_STAT_R, r->id);
	for (i = 0; i < LIM_NAME && r->name[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)r->name[i]);
	name[i] = '\0';
	if (r->name[i] != '\0' || !mailbox_name_ok(name) || acct_find(&S.tab, name) == NULL) {
		ipc_put_u32(&m, STORE_NOSUCH);
		chan_send(c, &m);
		return;
	}
	idx = index_state(name);
	mbox_list_init(&l);
	rc = mailbox_open_locked(&mb, name, 0, &l);
	if (rc == -1) {
		mbox_list_free(&l);
		ipc_put_u32(&m, STORE_TEMPFAIL);
		chan_send(c, &m);
		return;
	}
	if (rc == 0) {
		bytes = mb.size;
		if (l.n > 0)
			from_line_date(mb.fd, &l.v[l.n - 1], last, sizeof(last));
		mb_close(&mb);
	}
	log_debug("store: mailbox %s statistics for the control process", name);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_u64(&m, (uint64_t)l.n);
	ipc_put_u64(&m, bytes);
	ipc_put_str(&m, last);
	ipc_put_u32(&m, idx);
	mbox_list_free(&l);
	chan_send(c, &m);
}
