/* The worker side of the store channel: see storecli.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../privsep/ipc.h"
#include "../privsep/log.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "storecli.h"

/* How long we wait for the store, how many pipelined answers may be
 * owed, the snapshot size we accept: privsep/params.h.  One listing
 * record's size: u64 octets, u32 uid length, the uid. */
#define SC_LISTREC_MAX         (8 + 4 + LIM_UID)

/* The request being built and the answer being read (one at a time). */
static struct ipc_msg request, answer;
static int dead;
/* An unasked MSG_CHANGED came (IMAP): the view is worth a VIEW_SYNC */
static int changed;

/* DELE marks not sent yet: they go just before the next request; so do
 * the messages served from the read-ahead, for pop3-sets-seen. */
static uint32_t dele[LIM_DELE_BATCH];
static unsigned ndele;
static uint32_t seen[LIM_DELE_BATCH];
static unsigned nseen;

/* Answers owed to store_send(), oldest first. */
static struct {
	uint32_t id, type, expect;
} owed[STORE_OWED_MAX_COUNT];
static unsigned nowed;

int
store_dead(void)
{
	return dead;
}

static void
fail(struct session *s, const char *why, uint32_t type)
{
	dead = 1;
	nowed = 0;
	log_warnx("session %s: store %s for %s; temporary failure",
	    s->sessid, why, msg_name(type));
}

/* Sends req with the next id.  NULL, or why it failed. */
static const char *
send_req(struct session *s, struct ipc_msg *req, uint64_t deadline)
{
	req->hdr.id = ++s->next_id;
	while (ipc_send(s->store_fd, req) == -1) {
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    fd_wait(s->store_fd, POLLOUT, deadline) != 1)
			return "cannot send";
	}
	return NULL;
}

/* Receives the next answer; it must be of type expect with id.  NULL, or
 * why it failed (ans->fd closed then). */
static const char *
recv_ans(struct session *s, struct ipc_msg *ans, uint32_t expect, uint32_t id,
    uint64_t deadline)
{
	int r;

	for (;;) {
		/* an answer already there costs no poll */
		r = ipc_recv(s->store_fd, ans);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)) {
			if (fd_wait(s->store_fd, POLLIN, deadline) != 1)
				return "no answer in time";
			continue;
		}
		if (r == 0)
			return "channel closed";
		if (r == -1)
			return "bad answer";
		/* the store's one unasked message, wherever it falls */
		if (ans->hdr.type == MSG_CHANGED && ans->hdr.id == 0 &&
		    ans->fd < 0 && ans->hdr.len == 0) {
			changed = 1;
			continue;
		}
		break;
	}
	if (ans->hdr.type != expect || ans->hdr.id != id) {
		ipc_drop_fd(ans);
		return "unexpected answer";
	}
	return NULL;
}

/* Collects every owed answer before deadline.  0 / -1 (dead). */
static int
collect(struct session *s, uint64_t deadline)
{
	static struct ipc_msg a;
	const char *why;
	uint32_t st;

	while (nowed > 0) {
		uint32_t type = owed[0].type;

		why = recv_ans(s, &a, owed[0].expect, owed[0].id, deadline);
		if (why == NULL && (a.fd >= 0 || ipc_get_u32(&a, &st) == -1 ||
		    ipc_end(&a) == -1 || st != STORE_OK)) {
			ipc_drop_fd(&a);
			why = "refused a pipelined request";
		}
		if (why != NULL) {
			fail(s, why, type);
			return -1;
		}
		nowed--;
		for (unsigned i = 0; i < nowed; i++)
			owed[i] = owed[i + 1];
	}
	return 0;
}

/*
 * Pipelining for requests whose only good answer is a lone u32 STORE_OK
 * (MSG_DELE): sends req without waiting and remembers that an answer of
 * type expect with req's id is owed; collect() reads every owed answer, in
 * order, and checks each (type, id, STORE_OK, no fd, no trailing bytes).
 * Still one answer per request, in request order.  Any failure, including
 * a refusal, makes the channel dead.  At most STORE_OWED_MAX_COUNT answers are
 * owed at once (collected first when the window is full).  Every path that
 * ends a session (COMMIT, RELEASE) goes through store_call(), which
 * collects.
 */
static int
store_send(struct session *s, struct ipc_msg *req, uint32_t expect,
    int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	const char *why;

	if (dead)
		return -1;
	if (nowed == STORE_OWED_MAX_COUNT && collect(s, deadline) == -1)
		return -1;
	if ((why = send_req(s, req, deadline)) != NULL) {
		fail(s, why, req->hdr.type);
		return -1;
	}
	owed[nowed].id = req->hdr.id;
	owed[nowed].type = req->hdr.type;
	owed[nowed].expect = expect;
	nowed++;
	return 0;
}

/*
 * Sends req (its id is set here) and waits up to timeout_ms for the answer
 * of type expect with the same id.  0 with ans filled (ans.fd owned by the
 * caller); -1 when the store is gone, silent or answered out of turn: the
 * channel is dead.  Answers still owed to store_send() requests are
 * collected first (after req is sent, so the store can serve both in one
 * pass).
 */
static int
store_call(struct session *s, struct ipc_msg *req, struct ipc_msg *ans,
    uint32_t expect, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	const char *why;

	if (dead)
		return -1;
	if ((why = send_req(s, req, deadline)) != NULL) {
		fail(s, why, req->hdr.type);
		return -1;
	}
	/* the answers owed come before this one */
	if (collect(s, deadline) == -1)
		return -1;
	if ((why = recv_ans(s, ans, expect, req->hdr.id, deadline)) != NULL) {
		fail(s, why, req->hdr.type);
		return -1;
	}
	return 0;
}

/* ---- the typed requests ---- */

/* Every sc_* function hands the answer's descriptor over or closes it, so
 * there is none to close here. */
void
sc_forget(void)
{
	explicit_bzero(&request, sizeof(request));
	explicit_bzero(&answer, sizeof(answer));
	request.fd = answer.fd = -1;
	ndele = nseen = 0;
}

static int
malformed(struct session *s, uint32_t type)
{
	ipc_drop_fd(&answer);
	log_warnx("session %s: malformed %s from the store", s->sessid,
	    msg_name(type));
	return SC_MALFORMED;
}

/* Sends the numbers queued in q[0..*n) as one type request, without
 * waiting.  0 / SC_UNAVAILABLE. */
static int
flush_queue(struct session *s, uint32_t type, uint32_t expect, const uint32_t *q,
    unsigned *n)
{
	static struct ipc_msg dreq;
	unsigned k = *n;

	if (k == 0)
		return 0;
	*n = 0;
	ipc_init(&dreq, type, 0);
	ipc_put_u32(&dreq, k);
	for (unsigned i = 0; i < k; i++)
		ipc_put_u32(&dreq, q[i]);
	if (store_send(s, &dreq, expect, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	return 0;
}

/* The DELE marks and read-ahead RETRs queued since the last request. */
static int
flush_deles(struct session *s)
{
	if (flush_queue(s, MSG_SEEN, MSG_SEEN_R, seen, &nseen) < 0)
		return SC_UNAVAILABLE;
	return flush_queue(s, MSG_DELE, MSG_DELE_R, dele, &ndele);
}

/* request to the store after the queued DELE marks; the answer in answer.
 * 0 / SC_UNAVAILABLE. */
static int
call(struct session *s, uint32_t expect, int timeout_ms)
{
	if (flush_deles(s) < 0 ||
	    store_call(s, &request, &answer, expect, timeout_ms) < 0)
		return SC_UNAVAILABLE;
	return 0;
}

int
sc_lookup(struct session *s, const char *local,
    char accounts[LIM_ALIAS_EXPANSION][LIM_NAME + 1], uint32_t *n)
{
	uint32_t st;

	ipc_init(&request, MSG_LOOKUP, 0);
	ipc_put_str(&request, local);
	if (call(s, MSG_LOOKUP_R, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	/* u32 status, u32 n, n x str: n is there whatever the status */
	if (answer.fd >= 0 || ipc_get_u32(&answer, &st) < 0 || st > LOOKUP_TEMPFAIL ||
	    ipc_get_u32(&answer, n) < 0 ||
	    (st == LOOKUP_OK && (*n == 0 || *n > LIM_ALIAS_EXPANSION)) ||
	    (st != LOOKUP_OK && (*n != 0 || ipc_end(&answer) < 0)))
		return malformed(s, MSG_LOOKUP_R);
	if (st != LOOKUP_OK)
		return (int)st;
	for (uint32_t i = 0; i < *n; i++)
		if (ipc_get_str(&answer, accounts[i], LIM_NAME + 1) < 0 ||
		    !name_ok(accounts[i]))
			return malformed(s, MSG_LOOKUP_R);
	if (ipc_end(&answer) < 0)
		return malformed(s, MSG_LOOKUP_R);
	return LOOKUP_OK;
}

/* Each string travels as a u32 length and its bytes; then the u32 n. */
size_t
sc_append_base_len(const char *sessid, const char *sender)
{
	return 4 + strlen(sessid) + 4 + strlen(sender) + 4;
}

size_t
sc_append_account_len(const char *account)
{
	return 4 + strlen(account);
}

int
sc_append(struct session *s, int fd, const char *sessid, const char *sender,
    const char (*accounts)[LIM_NAME + 1], uint32_t n, uint32_t *status,
    char *text, size_t textsz)
{
	ipc_init(&request, MSG_APPEND, 0);
	ipc_set_fd(&request, fd);
	ipc_put_str(&request, sessid);
	ipc_put_str(&request, sender);
	ipc_put_u32(&request, n);
	for (uint32_t i = 0; i < n; i++)
		ipc_put_str(&request, accounts[i]);
	if (call(s, MSG_APPEND_R, STORE_COMMIT_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	if (answer.fd >= 0 || ipc_get_u32(&answer, status) < 0 ||
	    ipc_get_str(&answer, text, textsz) < 0 || ipc_end(&answer) < 0)
		return malformed(s, MSG_APPEND_R);
	return 0;
}

/* Reads fd's count listing records (octets in all) into a->list. */
static int
read_listing(struct sc_auth *a, int fd)
{
	struct ipc_reader r;
	struct stat st;
	unsigned char *buf = NULL;
	uint64_t sum = 0;
	size_t size;
	int rc = -1;

	if (a->count > POP3_SNAPSHOT_MAX_COUNT || fstat(fd, &st) < 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > (uint64_t)a->count * SC_LISTREC_MAX)
		return -1;
	size = (size_t)st.st_size;
	if (size > 0)
		buf = xmalloc(size);
	if (pread_full(fd, buf, size, 0) != (ssize_t)size)
		goto out;
	a->list = a->count ? xcalloc(a->count, sizeof(*a->list)) : NULL;
	rd_init(&r, buf, size);
	for (uint32_t i = 0; i < a->count; i++) {
		struct sc_listent *m = &a->list[i];
		size_t len;

		if (rd_u64(&r, &m->octets) < 0 ||
		    rd_str(&r, m->uid, sizeof(m->uid)) < 0)
			goto out;
		len = strlen(m->uid);
		if (len < 1 || len > LIM_UID)
			goto out;
		for (size_t j = 0; j < len; j++)
			if (m->uid[j] < 0x21 || m->uid[j] > 0x7e)
				goto out;
		if (m->octets > UINT64_MAX - sum)
			goto out;
		sum += m->octets;
	}
	if (rd_done(&r) && sum == a->octets)
		rc = 0;
out:
	free(buf);
	if (rc < 0) {
		free(a->list);
		a->list = NULL;
	}
	return rc;
}

/* The AUTH_OK part of a MSG_AUTH_R: account, count, octets, listing. */
static int
auth_ok(struct session *s, struct sc_auth *a)
{
	int fd = answer.fd;
	int rc = 0;

	answer.fd = -1;
	if (ipc_get_str(&answer, a->account, sizeof(a->account)) < 0 ||
	    ipc_get_u32(&answer, &a->count) < 0 ||
	    ipc_get_u64(&answer, &a->octets) < 0 || ipc_end(&answer) < 0 ||
	    fd < 0 || read_listing(a, fd) < 0)
		rc = malformed(s, MSG_AUTH_R);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
sc_auth(struct session *s, const char *user, char *pass, struct sc_auth *a)
{
	int r;

	memset(a, 0, sizeof(*a));
	a->status = AUTH_TEMP;
	ipc_init(&request, MSG_AUTH, 0);
	ipc_put_str(&request, user);
	ipc_put_str(&request, pass);
	ipc_put_str(&request, s->client);
	explicit_bzero(pass, strlen(pass));
	r = call(s, MSG_AUTH_R, STORE_REPLY_TIMEOUT_MS);
	explicit_bzero(request.data, sizeof(request.data));
	if (r < 0)
		return SC_UNAVAILABLE;
	if (ipc_get_u32(&answer, &a->status) < 0 ||
	    ipc_get_u32(&answer, &a->delay_ms) < 0) {
		a->status = AUTH_TEMP;
		return malformed(s, MSG_AUTH_R);
	}
	if (a->status == AUTH_OK)
		return auth_ok(s, a);
	if (answer.fd >= 0 || ipc_end(&answer) < 0)
		return malformed(s, MSG_AUTH_R);
	return 0;
}

/* The n x (u32 msgno, u64 length) and the memfd of a STORE_OK RETR_R. */
static int
retr_batch(uint32_t msgno, uint32_t ahead, uint32_t count,
    struct sc_batch *b)
{
	struct stat st;
	uint64_t off = 0;
	uint32_t n;

	if (ipc_get_u32(&answer, &n) < 0 || n == 0 || n > 1 + ahead ||
	    n > 1 + LIM_RETR_AHEAD)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t no;
		uint64_t len;

		if (ipc_get_u32(&answer, &no) < 0 || ipc_get_u64(&answer, &len) < 0 ||
		    (i == 0 && no != msgno) ||
		    (i > 0 && (no <= b->no[i - 1] || no > count)) ||
		    len > UINT64_MAX - off)
			return -1;
		b->no[i] = no;
		b->off[i] = off;
		b->len[i] = len;
		off += len;
	}
	if (ipc_end(&answer) < 0 || answer.fd < 0 || fstat(answer.fd, &st) < 0 ||
	    st.st_size < 0 || (uint64_t)st.st_size != off)
		return -1;
	b->fd = answer.fd;
	answer.fd = -1;
	b->n = n;
	return 0;
}

int
sc_retr(struct session *s, uint32_t msgno, uint32_t lines, uint32_t ahead,
    uint32_t count, uint32_t *status, struct sc_batch *b)
{
	b->fd = -1;
	b->n = 0;
	ipc_init(&request, MSG_RETR, 0);
	ipc_put_u32(&request, msgno);
	ipc_put_u32(&request, lines);
	ipc_put_u32(&request, ahead);
	if (call(s, MSG_RETR_R, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	if (ipc_get_u32(&answer, status) < 0)
		return malformed(s, MSG_RETR_R);
	if (*status != STORE_OK) {
		if (answer.fd >= 0 || ipc_end(&answer) < 0)
			return malformed(s, MSG_RETR_R);
		return 0;
	}
	if (retr_batch(msgno, ahead, count, b) < 0) {
		b->n = 0;
		return malformed(s, MSG_RETR_R);
	}
	return 0;
}

int
sc_seen(struct session *s, uint32_t msgno)
{
	if (dead || (nseen == LIM_DELE_BATCH &&
	    flush_queue(s, MSG_SEEN, MSG_SEEN_R, seen, &nseen) < 0))
		return SC_UNAVAILABLE;
	seen[nseen++] = msgno;
	return 0;
}

int
sc_dele(struct session *s, uint32_t msgno)
{
	if (dead || (ndele == LIM_DELE_BATCH && flush_deles(s) < 0))
		return SC_UNAVAILABLE;
	dele[ndele++] = msgno;
	return 0;
}

/* A request without payload answered by a u32 status (and, with
 * ndeleted, a u32 count). */
static int
simple(struct session *s, uint32_t type, uint32_t expect, int timeout_ms,
    uint32_t *status, uint32_t *ndeleted)
{
	ipc_init(&request, type, 0);
	if (call(s, expect, timeout_ms) < 0)
		return SC_UNAVAILABLE;
	if (answer.fd >= 0 || ipc_get_u32(&answer, status) < 0 ||
	    (ndeleted != NULL && ipc_get_u32(&answer, ndeleted) < 0) ||
	    ipc_end(&answer) < 0)
		return malformed(s, expect);
	return 0;
}

int
sc_undo(struct session *s, uint32_t *status)
{
	return simple(s, MSG_UNDO, MSG_UNDO_R, STORE_REPLY_TIMEOUT_MS, status,
	    NULL);
}

int
sc_release(struct session *s, uint32_t *status)
{
	return simple(s, MSG_RELEASE, MSG_RELEASE_R, STORE_REPLY_TIMEOUT_MS,
	    status, NULL);
}

int
sc_commit(struct session *s, uint32_t *status, uint32_t *ndeleted)
{
	return simple(s, MSG_COMMIT, MSG_COMMIT_R, STORE_COMMIT_TIMEOUT_MS, status,
	    ndeleted);
}

/* ---- IMAP ---- */

int
sc_imap_auth(struct session *s, const char *user, char *pass, uint32_t *status,
    uint32_t *delay_ms, char account[LIM_NAME + 1])
{
	int r;

	*status = AUTH_TEMP;
	*delay_ms = 0;
	account[0] = '\0';
	ipc_init(&request, MSG_IMAP_AUTH, 0);
	ipc_put_str(&request, user);
	ipc_put_str(&request, pass);
	ipc_put_str(&request, s->client);
	explicit_bzero(pass, strlen(pass));
	r = call(s, MSG_IMAP_AUTH_R, STORE_REPLY_TIMEOUT_MS);
	explicit_bzero(request.data, sizeof(request.data));
	if (r < 0)
		return SC_UNAVAILABLE;
	if (answer.fd >= 0 || ipc_get_u32(&answer, status) < 0 ||
	    ipc_get_u32(&answer, delay_ms) < 0 ||
	    (*status == AUTH_OK && (ipc_get_str(&answer, account, LIM_NAME + 1) < 0 ||
	    !name_ok(account))) || ipc_end(&answer) < 0) {
		*status = AUTH_TEMP;
		return malformed(s, MSG_IMAP_AUTH_R);
	}
	return 0;
}

void
sc_folders_free(struct sc_folders *f)
{
	free(f->v);
	free(f->names);
	memset(f, 0, sizeof(*f));
}

/* The n records of a folder listing memfd into *f. */
static int
read_folders(int fd, uint32_t n, struct sc_folders *f)
{
	struct ipc_reader r;
	struct stat st;
	unsigned char *buf = NULL;
	size_t size, used = 0;
	int rc = -1;

	if (n == 0 || n > FOLDERS_CEIL_COUNT || fstat(fd, &st) < 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > (uint64_t)n * (12 + FOLDER_NAME_CEIL_BYTES))
		return -1;
	size = (size_t)st.st_size;
	buf = xmalloc(size ? size : 1);
	if (pread_full(fd, buf, size, 0) != (ssize_t)size)
		goto out;
	f->v = xcalloc(n, sizeof(*f->v));
	f->names = xmalloc(size + 1);      /* each name is shorter than its record */
	rd_init(&r, buf, size);
	for (uint32_t i = 0; i < n; i++) {
		char *name = f->names + used;
		size_t len;

		if (rd_u32(&r, &f->v[i].attrs) < 0 || rd_u32(&r, &f->v[i].use) < 0 ||
		    rd_str(&r, name, size + 1 - used) < 0)
			goto out;
		len = strlen(name);
		if (len == 0 || len > FOLDER_NAME_CEIL_BYTES)
			goto out;
		f->v[i].name = name;
		used += len + 1;
	}
	if (rd_done(&r)) {
		f->n = n;
		rc = 0;
	}
out:
	free(buf);
	if (rc < 0)
		sc_folders_free(f);
	return rc;
}

int
sc_folder_list(struct session *s, uint32_t *status, char *text, size_t textsz,
    struct sc_folders *f)
{
	uint32_t n = 0;
	int fd, rc = 0;

	memset(f, 0, sizeof(*f));
	*status = STORE_TEMPFAIL;
	ipc_init(&request, MSG_FOLDER_LIST, 0);
	if (call(s, MSG_FOLDER_LIST_R, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	fd = answer.fd;
	answer.fd = -1;
	if (ipc_get_u32(&answer, status) < 0 || ipc_get_str(&answer, text, textsz) < 0 ||
	    (*status == STORE_OK && ipc_get_u32(&answer, &n) < 0) ||
	    ipc_end(&answer) < 0 || (*status == STORE_OK) != (fd >= 0) ||
	    (*status == STORE_OK && read_folders(fd, n, f) < 0)) {
		*status = STORE_TEMPFAIL;
		rc = malformed(s, MSG_FOLDER_LIST_R);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int
sc_folder_op(struct session *s, uint32_t type, const char *name, const char *name2,
    uint32_t on, uint32_t *status, char *text, size_t textsz)
{
	uint32_t expect = type + 1;   /* every _R follows its request */

	*status = STORE_TEMPFAIL;
	ipc_init(&request, type, 0);
	if (type == MSG_FOLDER_SUBSCRIBE)
		ipc_put_u32(&request, on);
	ipc_put_str(&request, name);
	if (type == MSG_FOLDER_RENAME)
		ipc_put_str(&request, name2);
	if (call(s, expect, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	if (answer.fd >= 0 || ipc_get_u32(&answer, status) < 0 ||
	    ipc_get_str(&answer, text, textsz) < 0 || ipc_end(&answer) < 0) {
		*status = STORE_TEMPFAIL;
		return malformed(s, expect);
	}
	return 0;
}

/* ---- IMAP views ---- */

int
sc_changed(struct session *s)
{
	static struct ipc_msg m;
	int r;

	if (dead)
		return changed;
	/* what is already there, without waiting */
	while ((r = ipc_recv(s->store_fd, &m)) > 0) {
		if (m.hdr.type == MSG_CHANGED && m.hdr.id == 0 && m.fd < 0 &&
		    m.hdr.len == 0) {
			changed = 1;
			continue;
		}
		ipc_drop_fd(&m);
		fail(s, "sent an unexpected message", m.hdr.type);
		return changed;
	}
	if (r == 0 || (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		fail(s, r == 0 ? "channel closed" : "bad message", MSG_CHANGED);
	return changed;
}

void
sc_view_free(struct sc_view *v)
{
	free(v->m);
	free(v->kwidx);
	free(v->kwtext);
	free(v->kw);
	memset(v, 0, sizeof(*v));
}

/* Reads nkw keywords and n message records from buf into v (appending to
 * what v has).  0 / -1. */
static int
read_records(struct ipc_reader *r, uint32_t nkw, uint32_t n, struct sc_view *v,
    uint32_t above)
{
	if (nkw > FOLDER_KEYWORDS_MAX_COUNT || n > SC_VIEW_MAX_COUNT ||
	    v->n > SC_VIEW_MAX_COUNT - n)
		return -1;
	if (nkw > 0) {
		/* the list is sent whole when it grew: it replaces ours */
		free(v->kw);
		free(v->kwtext);
		v->kw = xcalloc(nkw, sizeof(*v->kw));
		v->kwtext = xmalloc((size_t)nkw * (IMAP_KEYWORD_MAX_BYTES + 1));
		for (uint32_t i = 0; i < nkw; i++) {
			char *k = v->kwtext + (size_t)i * (IMAP_KEYWORD_MAX_BYTES + 1);

			if (rd_str(r, k, IMAP_KEYWORD_MAX_BYTES + 1) < 0 || k[0] == '\0')
				return -1;
			v->kw[i] = k;
		}
		v->nkw = nkw;
	}
	v->m = xreallocarray(v->m, (size_t)v->n + n + 1, sizeof(*v->m));
	for (uint32_t i = 0; i < n; i++) {
		struct sc_vmsg *m = &v->m[v->n];
		uint32_t k;

		if (rd_u32(r, &m->uid) < 0 || rd_u32(r, &m->flags) < 0 ||
		    rd_u64(r, &m->size) < 0 || rd_u64(r, &m->date) < 0 ||
		    rd_u32(r, &k) < 0 || k > v->nkw || m->uid == 0 || m->uid <= above ||
		    (v->n > 0 && m->uid <= v->m[v->n - 1].uid))
			return -1;
		m->kwoff = v->nkwidx;
		m->nkw = k;
		v->kwidx = xreallocarray(v->kwidx, (size_t)v->nkwidx + k + 1,
		    sizeof(*v->kwidx));
		for (uint32_t j = 0; j < k; j++) {
			uint32_t x;

			if (rd_u32(r, &x) < 0 || x >= v->nkw)
				return -1;
			v->kwidx[v->nkwidx++] = x;
		}
		v->n++;
	}
	return 0;
}

/* n flag records (u32 uid, u32 flags, u32 k, k x u32 keyword index) into
 * a new *out; their keyword indexes are appended to v->kwidx.  0 / -1. */
static int
read_flag_records(struct ipc_reader *r, uint32_t n, struct sc_view *v,
    struct sc_flagchange **out)
{
	*out = n ? xcalloc(n, sizeof(**out)) : NULL;
	for (uint32_t i = 0; i < n; i++) {
		struct sc_flagchange *c = &(*out)[i];
		uint32_t k;

		if (rd_u32(r, &c->uid) < 0 || rd_u32(r, &c->flags) < 0 ||
		    rd_u32(r, &k) < 0 || k > v->nkw)
			return -1;
		c->kwoff = v->nkwidx;
		c->nkw = k;
		v->kwidx = xreallocarray(v->kwidx, (size_t)v->nkwidx + k + 1,
		    sizeof(*v->kwidx));
		for (uint32_t j = 0; j < k; j++) {
			uint32_t x;

			if (rd_u32(r, &x) < 0 || x >= v->nkw)
				return -1;
			v->kwidx[v->nkwidx++] = x;
		}
	}
	return 0;
}

/* The memfd of an answer, read whole (at most max bytes). */
static unsigned char *
read_memfd(int fd, size_t max, size_t *len)
{
	struct stat st;
	unsigned char *buf;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size > max)
		return NULL;
	*len = (size_t)st.st_size;
	buf = xmalloc(*len ? *len : 1);
	if (pread_full(fd, buf, *len, 0) != (ssize_t)*len) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
sc_select(struct session *s, int readonly, const char *name, uint32_t *status,
    char *text, size_t textsz, struct sc_view *v)
{
	struct ipc_reader r;
	unsigned char *buf = NULL;
	uint32_t n = 0, nkw = 0;
	size_t len = 0;
	int fd, bad;

	memset(v, 0, sizeof(*v));
	*status = STORE_TEMPFAIL;
	ipc_init(&request, MSG_SELECT, 0);
	ipc_put_u32(&request, readonly ? 1 : 0);
	ipc_put_str(&request, name);
	if (call(s, MSG_SELECT_R, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	fd = answer.fd;
	answer.fd = -1;
	changed = 0;      /* the view is fresh */
	bad = ipc_get_u32(&answer, status) < 0 || ipc_get_str(&answer, text, textsz) < 0;
	if (!bad && *status == STORE_OK)
		bad = ipc_get_u32(&answer, &v->uidvalidity) < 0 ||
		    ipc_get_u32(&answer, &v->uidnext) < 0 ||
		    ipc_get_u32(&answer, &n) < 0 || ipc_get_u32(&answer, &nkw) < 0 ||
		    v->uidvalidity == 0 || v->uidnext == 0 ||
		    (buf = read_memfd(fd, SC_VIEW_MAX_BYTES, &len)) == NULL;
	if (!bad && ipc_end(&answer) < 0)
		bad = 1;
	if (!bad && *status == STORE_OK) {
		rd_init(&r, buf, len);
		bad = read_records(&r, nkw, n, v, 0) < 0 || !rd_done(&r) ||
		    (v->n > 0 && v->m[v->n - 1].uid >= v->uidnext);
	}
	if (!bad && *status != STORE_OK && fd >= 0)
		bad = 1;
	if (fd >= 0)
		close(fd);
	free(buf);
	if (bad) {
		sc_view_free(v);
		*status = STORE_TEMPFAIL;
		return malformed(s, MSG_SELECT_R);
	}
	return 0;
}

int
sc_fetch(struct session *s, uint32_t what, const uint32_t *uids, uint32_t n,
    uint32_t *status, char *text, size_t textsz, struct sc_fetched *f)
{
	struct stat st;
	uint64_t off = 0;
	uint32_t m = 0;
	int bad = 0;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	*status = STORE_TEMPFAIL;
	if (n == 0 || n > IMAP_FETCH_BATCH_MAX_COUNT)
		return SC_MALFORMED;
	ipc_init(&request, MSG_FETCH, 0);
	ipc_put_u32(&request, what);
	ipc_put_u32(&request, n);
	for (uint32_t i = 0; i < n; i++)
		ipc_put_u32(&request, uids[i]);
	if (call(s, MSG_FETCH_R, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	f->fd = answer.fd;
	answer.fd = -1;
	bad = ipc_get_u32(&answer, status) < 0 || ipc_get_str(&answer, text, textsz) < 0;
	if (!bad && *status == STORE_OK) {
		if (ipc_get_u32(&answer, &m) < 0 || m == 0 || m > n)
			bad = 1;
		for (uint32_t i = 0; !bad && i < m; i++) {
			uint32_t uid;
			uint64_t len;

			if (ipc_get_u32(&answer, &uid) < 0 || ipc_get_u64(&answer, &len) < 0 ||
			    uid != uids[i] || len > UINT64_MAX - off)
				bad = 1;
			else {
				f->off[i] = off;
				f->len[i] = len;
				off += len;
			}
		}
		if (!bad && (f->fd < 0 || fstat(f->fd, &st) < 0 || st.st_size < 0 ||
		    (uint64_t)st.st_size != off))
			bad = 1;
	} else if (!bad && f->fd >= 0)
		bad = 1;     /* a refusal carries no descriptor */
	if (!bad && ipc_end(&answer) < 0)
		bad = 1;
	if (bad) {
		if (f->fd >= 0)
			close(f->fd);
		f->fd = -1;
		*status = STORE_TEMPFAIL;
		return malformed(s, MSG_FETCH_R);
	}
	f->n = m;
	return 0;
}

int
sc_view_sync(struct session *s, uint32_t *status, char *text, size_t textsz,
    struct sc_view *v, struct sc_sync *y)
{
	struct ipc_reader r;
	unsigned char *buf = NULL;
	uint32_t nexp = 0, nnew = 0, nflag = 0, nkw = 0, uidnext = 0;
	size_t len = 0;
	int fd, bad;

	memset(y, 0, sizeof(*y));
	*status = STORE_TEMPFAIL;
	ipc_init(&request, MSG_VIEW_SYNC, 0);
	if (call(s, MSG_VIEW_SYNC_R, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	changed = 0;
	fd = answer.fd;
	answer.fd = -1;
	bad = ipc_get_u32(&answer, status) < 0 || ipc_get_str(&answer, text, textsz) < 0;
	if (!bad && *status == STORE_OK)
		bad = ipc_get_u32(&answer, &uidnext) < 0 || ipc_get_u32(&answer, &nexp) < 0 ||
		    ipc_get_u32(&answer, &nnew) < 0 || ipc_get_u32(&answer, &nflag) < 0 ||
		    ipc_get_u32(&answer, &nkw) < 0 || uidnext < v->uidnext ||
		    nexp > v->n || nflag > v->n;
	if (!bad && ipc_end(&answer) < 0)
		bad = 1;
	if (!bad && *status == STORE_OK && (nexp | nnew | nflag | nkw) != 0 &&
	    (buf = read_memfd(fd, SC_VIEW_MAX_BYTES, &len)) == NULL)
		bad = 1;
	if (!bad && *status == STORE_OK) {
		uint32_t above = v->n ? v->m[v->n - 1].uid : 0;

		rd_init(&r, buf, len);
		/* the keyword list first, when it grew: it replaces ours */
		if (nkw > 0)
			bad = read_records(&r, nkw, 0, v, 0) < 0;
		y->exp = nexp ? xcalloc(nexp, sizeof(*y->exp)) : NULL;
		for (uint32_t i = 0; !bad && i < nexp; i++)
			bad = rd_u32(&r, &y->exp[i]) < 0 ||
			    (i > 0 && y->exp[i] <= y->exp[i - 1]);
		y->nexp = nexp;
		y->first_new = v->n;
		if (!bad)
			bad = read_records(&r, 0, nnew, v, above) < 0;
		if (!bad)
			bad = read_flag_records(&r, nflag, v, &y->flag) < 0;
		y->nflag = nflag;
		if (!bad)
			bad = !rd_done(&r);
		if (!bad)
			v->uidnext = uidnext;
	}
	if (!bad && *status != STORE_OK && fd >= 0)
		bad = 1;
	if (fd >= 0)
		close(fd);
	free(buf);
	if (bad) {
		sc_sync_free(y);
		*status = STORE_TEMPFAIL;
		return malformed(s, MSG_VIEW_SYNC_R);
	}
	return 0;
}

void
sc_sync_free(struct sc_sync *y)
{
	free(y->exp);
	free(y->flag);
	memset(y, 0, sizeof(*y));
}

int
sc_unselect(struct session *s, uint32_t *status)
{
	*status = STORE_TEMPFAIL;
	ipc_init(&request, MSG_UNSELECT, 0);
	if (call(s, MSG_UNSELECT_R, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	changed = 0;
	if (answer.fd >= 0 || ipc_get_u32(&answer, status) < 0 || ipc_end(&answer) < 0) {
		*status = STORE_TEMPFAIL;
		return malformed(s, MSG_UNSELECT_R);
	}
	return 0;
}

int
sc_folder_status(struct session *s, const char *name, uint32_t *status, char *text,
    size_t textsz, struct sc_status *st)
{
	memset(st, 0, sizeof(*st));
	*status = STORE_TEMPFAIL;
	ipc_init(&request, MSG_FOLDER_STATUS, 0);
	ipc_put_str(&request, name);
	if (call(s, MSG_FOLDER_STATUS_R, STORE_REPLY_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	if (answer.fd >= 0 || ipc_get_u32(&answer, status) < 0 ||
	    ipc_get_str(&answer, text, textsz) < 0 ||
	    (*status == STORE_OK && (ipc_get_u32(&answer, &st->messages) < 0 ||
	    ipc_get_u32(&answer, &st->uidnext) < 0 ||
	    ipc_get_u32(&answer, &st->uidvalidity) < 0 ||
	    ipc_get_u32(&answer, &st->unseen) < 0 || ipc_get_u32(&answer, &st->recent) < 0 ||
	    ipc_get_u64(&answer, &st->size) < 0 || st->unseen > st->messages ||
	    st->recent > st->messages || st->uidnext == 0 || st->uidvalidity == 0)) ||
	    ipc_end(&answer) < 0) {
		*status = STORE_TEMPFAIL;
		return malformed(s, MSG_FOLDER_STATUS_R);
	}
	return 0;
}

int
sc_imap_append(struct session *s, int fd, const char *folder, uint32_t flags,
    const char *const *kw, uint32_t nkw, uint64_t date, uint32_t *status, char *text,
    size_t textsz, uint32_t *uidvalidity, uint32_t *uid)
{
	*status = STORE_TEMPFAIL;
	*uidvalidity = *uid = 0;
	ipc_init(&request, MSG_IMAP_APPEND, 0);
	ipc_set_fd(&request, fd);
	ipc_put_str(&request, folder);
	ipc_put_u32(&request, flags);
	ipc_put_u32(&request, nkw);
	for (uint32_t i = 0; i < nkw; i++)
		ipc_put_str(&request, kw[i]);
	ipc_put_u64(&request, date);
	/* an APPEND waits for its fsync, as SMTP's does */
	if (call(s, MSG_IMAP_APPEND_R, STORE_COMMIT_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	if (answer.fd >= 0 || ipc_get_u32(&answer, status) < 0 ||
	    ipc_get_str(&answer, text, textsz) < 0 ||
	    (*status == STORE_OK && (ipc_get_u32(&answer, uidvalidity) < 0 ||
	    ipc_get_u32(&answer, uid) < 0 || *uidvalidity == 0 || *uid == 0)) ||
	    ipc_end(&answer) < 0) {
		*status = STORE_TEMPFAIL;
		return malformed(s, MSG_IMAP_APPEND_R);
	}
	return 0;
}

int
sc_store_flags(struct session *s, uint32_t op, uint32_t flags, const char *const *kw,
    uint32_t nkw, const uint32_t *uids, uint32_t n, uint32_t *status, char *text,
    size_t textsz, struct sc_view *v, struct sc_flagchange **out, uint32_t *m)
{
	struct ipc_reader r;
	unsigned char *buf = NULL;
	uint32_t fkw = 0;
	size_t len = 0;
	int fd, bad;

	*out = NULL;
	*m = 0;
	*status = STORE_TEMPFAIL;
	if (n == 0 || n > IMAP_FETCH_BATCH_MAX_COUNT)
		return SC_MALFORMED;
	ipc_init(&request, MSG_STORE_FLAGS, 0);
	ipc_put_u32(&request, op);
	ipc_put_u32(&request, flags);
	ipc_put_u32(&request, nkw);
	for (uint32_t i = 0; i < nkw; i++)
		ipc_put_str(&request, kw[i]);
	ipc_put_u32(&request, n);
	for (uint32_t i = 0; i < n; i++)
		ipc_put_u32(&request, uids[i]);
	if (call(s, MSG_STORE_FLAGS_R, STORE_COMMIT_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	fd = answer.fd;
	answer.fd = -1;
	bad = ipc_get_u32(&answer, status) < 0 || ipc_get_str(&answer, text, textsz) < 0;
	if (!bad && *status == STORE_OK)
		bad = ipc_get_u32(&answer, &fkw) < 0 || ipc_get_u32(&answer, m) < 0 || *m > n ||
		    ((fkw | *m) != 0 && (buf = read_memfd(fd, SC_VIEW_MAX_BYTES, &len)) == NULL);
	if (!bad && ipc_end(&answer) < 0)
		bad = 1;
	if (!bad && *status == STORE_OK) {
		rd_init(&r, buf, len);
		bad = (fkw > 0 && read_records(&r, fkw, 0, v, 0) < 0) ||
		    read_flag_records(&r, *m, v, out) < 0 || !rd_done(&r);
	}
	if (!bad && *status != STORE_OK && fd >= 0)
		bad = 1;
	if (fd >= 0)
		close(fd);
	free(buf);
	if (bad) {
		free(*out);
		*out = NULL;
		*m = 0;
		*status = STORE_TEMPFAIL;
		return malformed(s, MSG_STORE_FLAGS_R);
	}
	return 0;
}

/* A u32 list memfd of m entries (m x each u32 of a record of per u32s). */
static int
read_u32s(int fd, uint32_t m, uint32_t per, uint32_t **out)
{
	unsigned char *buf;
	size_t len;

	*out = NULL;
	if (m == 0)
		return fd < 0 ? 0 : -1;
	if ((buf = read_memfd(fd, (size_t)m * per * 4, &len)) == NULL ||
	    len != (size_t)m * per * 4) {
		free(buf);
		return -1;
	}
	*out = xcalloc((size_t)m * per, sizeof(uint32_t));
	memcpy(*out, buf, len);
	free(buf);
	return 0;
}

int
sc_expunge(struct session *s, const uint32_t *uids, uint32_t n, uint32_t *status,
    char *text, size_t textsz, uint32_t **out, uint32_t *m)
{
	int fd, bad;

	*out = NULL;
	*m = 0;
	*status = STORE_TEMPFAIL;
	if (n > IMAP_FETCH_BATCH_MAX_COUNT)
		return SC_MALFORMED;
	ipc_init(&request, MSG_EXPUNGE, 0);
	ipc_put_u32(&request, n);
	for (uint32_t i = 0; i < n; i++)
		ipc_put_u32(&request, uids[i]);
	if (call(s, MSG_EXPUNGE_R, STORE_COMMIT_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	fd = answer.fd;
	answer.fd = -1;
	bad = ipc_get_u32(&answer, status) < 0 || ipc_get_str(&answer, text, textsz) < 0 ||
	    (*status == STORE_OK && (ipc_get_u32(&answer, m) < 0 || *m > SC_VIEW_MAX_COUNT ||
	    read_u32s(fd, *m, 1, out) < 0)) || ipc_end(&answer) < 0 ||
	    (*status != STORE_OK && fd >= 0);
	for (uint32_t i = 1; !bad && i < *m; i++)
		bad = (*out)[i] <= (*out)[i - 1];
	if (fd >= 0)
		close(fd);
	if (bad) {
		free(*out);
		*out = NULL;
		*m = 0;
		*status = STORE_TEMPFAIL;
		return malformed(s, MSG_EXPUNGE_R);
	}
	return 0;
}

int
sc_copy(struct session *s, int move, const char *target, const uint32_t *uids, uint32_t n,
    uint32_t *status, char *text, size_t textsz, uint32_t *uidvalidity, uint32_t **pairs,
    uint32_t *m)
{
	int fd, bad;

	*pairs = NULL;
	*m = 0;
	*uidvalidity = 0;
	*status = STORE_TEMPFAIL;
	if (n == 0 || n > IMAP_FETCH_BATCH_MAX_COUNT)
		return SC_MALFORMED;
	ipc_init(&request, MSG_COPY, 0);
	ipc_put_u32(&request, move ? 1 : 0);
	ipc_put_str(&request, target);
	ipc_put_u32(&request, n);
	for (uint32_t i = 0; i < n; i++)
		ipc_put_u32(&request, uids[i]);
	if (call(s, MSG_COPY_R, STORE_COMMIT_TIMEOUT_MS) < 0)
		return SC_UNAVAILABLE;
	fd = answer.fd;
	answer.fd = -1;
	bad = ipc_get_u32(&answer, status) < 0 || ipc_get_str(&answer, text, textsz) < 0 ||
	    (*status == STORE_OK && (ipc_get_u32(&answer, uidvalidity) < 0 ||
	    *uidvalidity == 0 || ipc_get_u32(&answer, m) < 0 || *m > n ||
	    read_u32s(fd, *m, 2, pairs) < 0)) || ipc_end(&answer) < 0 ||
	    (*status != STORE_OK && fd >= 0);
	if (fd >= 0)
		close(fd);
	if (bad) {
		free(*pairs);
		*pairs = NULL;
		*m = 0;
		*status = STORE_TEMPFAIL;
		return malformed(s, MSG_COPY_R);
	}
	return 0;
}
