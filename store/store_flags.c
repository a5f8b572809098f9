/*
 * IMAP STORE (issue 13; privsep/msg.h MSG_STORE_FLAGS): the flags and
 * keywords of messages of the channel's view change, durably, through the
 * folder's flag journal (store/flagstate.c, store/flagjournal.h): one
 * batch of records a request, fsync'ed before the answer.  The mbox is
 * not written; the next rewrite of the folder folds the journal in.
 *
 * The records do not depend on what the store believes the flags are
 * now, so a view older than another session's change or rewrite cannot
 * make them wrong: +FLAGS sets what it names, -FLAGS clears it, FLAGS
 * sets what it names and clears every other system flag and every other
 * keyword of the folder's table (the message's own keywords are put in
 * the table first).  The answer gives the flags each message named has
 * in this channel's view after the change; the other views of the folder
 * get MSG_CHANGED and learn the change at their VIEW_SYNC.
 *
 * Keywords: each must be an IMAP atom of 1..50 characters
 * (xp_keyword_ok()); a folder has at most max-keywords (default
 * FOLDER_KEYWORDS_DEFAULT_COUNT) of them (its journal's table: every keyword set in it since it was
 * made), one more is refused with STORE_LIMIT ([LIMIT]) and nothing is
 * changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "flagjournal.h"
#include "foldertab.h"
#include "store_int.h"
#include "xpostern.h"

static int
cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return x < y ? -1 : x > y;
}

/* Is keyword s[0..n) among kw[0..nkw) (ASCII case ignored)? */
static int
kw_in(const struct xp_kw *kw, size_t nkw, const char *s, size_t n)
{
	for (size_t i = 0; i < nkw; i++)
		if (xp_keyword_cmp(kw[i].s, kw[i].n, s, n) == 0)
			return 1;
	return 0;
}

void
handle_store_flags(struct chan *c, struct store_req *r)
{
	static struct ipc_msg m;
	static struct xp_kw cur[FOLDER_KEYWORDS_MAX_COUNT], nxt[FOLDER_KEYWORDS_MAX_COUNT];
	static uint16_t given[IMAP_FLAG_KEYWORDS_MAX_COUNT], others[FOLDER_KEYWORDS_MAX_COUNT];
	struct view *v = c->view;
	struct fst *fs;
	struct fj_change *ch = NULL;
	size_t *idx = NULL, nch = 0, ngiven = 0, nothers = 0, nkw0;
	struct obuf b = { NULL, 0, 0 };
	const char *why = NULL;
	uint8_t fl = (uint8_t)(r->fflags & MF_ALL);
	int fd = -1;

	if (view_readonly(v)) {
		chan_reply_text(c, MSG_STORE_FLAGS_R, r->id, STORE_CANNOT, "The folder is read-only (EXAMINE)");
		return;
	}
	idx = xcalloc(r->nuid, sizeof(*idx));
	for (uint32_t i = 0; i < r->nuid; i++) {
		ssize_t k = view_find(v, r->uids[i]);

		if (k < 0) {
			char t[96];

			snprintf(t, sizeof(t), "STORE of UID %u, not in the view", r->uids[i]);
			chan_drop(c, t);
			goto out;
		}
		idx[i] = (size_t)k;
	}
	for (uint32_t i = 0; i < r->nfkw; i++)
		if (!xp_keyword_ok(r->fkw[i], strlen(r->fkw[i]))) {
			chan_reply_text(c, MSG_STORE_FLAGS_R, r->id, STORE_BADMSG, "Not a keyword this server stores");
			goto out;
		}
	if ((fs = fst_get(c->account, c->view_fid, view_uidvalidity(v))) == NULL) {
		chan_reply_text(c, MSG_STORE_FLAGS_R, r->id, STORE_TEMPFAIL, "The flags cannot be changed now");
		goto out;
	}
	/* the table first: the keywords named (made for FLAGS and +FLAGS),
	 * and for FLAGS each message's own, so that every other one can be
	 * named to clear */
	for (uint32_t i = 0; i < r->nfkw; i++) {
		int make = r->fop != FLAGS_REMOVE, ix;

		/* -FLAGS of a keyword only a message's line has (an APPEND
		 * wrote it): into the table, so that it can be cleared */
		for (uint32_t q = 0; q < r->nuid && !make; q++) {
			size_t n = view_msg_kw(v, idx[q], cur);

			make = kw_in(cur, n, r->fkw[i], strlen(r->fkw[i]));
		}
		ix = fst_keyword(fs, r->fkw[i], strlen(r->fkw[i]), make, &why);

		if (ix < 0 && r->fop != FLAGS_REMOVE) {
			char t[160];

			snprintf(t, sizeof(t), "Keyword %s: %s", r->fkw[i], why);
			chan_reply_text(c, MSG_STORE_FLAGS_R, r->id, fst_keywords(fs) >= S.conf.max_keywords ?
			    STORE_LIMIT : STORE_TEMPFAIL, t);
			goto out;
		}
		if (ix >= 0) {
			size_t k;

			for (k = 0; k < ngiven && given[k] != ix; k++)
				;
			if (k == ngiven)
				given[ngiven++] = (uint16_t)ix;
		}
	}
	qsort(given, ngiven, sizeof(*given), cmp_u16);
	if (r->fop == FLAGS_SET)
		for (uint32_t i = 0; i < r->nuid; i++) {
			size_t n = view_msg_kw(v, idx[i], cur);

			for (size_t k = 0; k < n; k++)
				(void)fst_keyword(fs, cur[k].s, cur[k].n, 1, &why);
		}
	for (uint32_t ix = 0; ix < fst_keywords(fs); ix++)
		if (bsearch(&(uint16_t){ (uint16_t)ix }, given, ngiven, sizeof(*given),
		    cmp_u16) == NULL)
			others[nothers++] = (uint16_t)ix;
	/* one record a message */
	ch = xcalloc(r->nuid, sizeof(*ch));
	for (uint32_t i = 0; i < r->nuid; i++) {
		struct fj_change *x = &ch[nch];

		x->uid = r->uids[i];
		switch (r->fop) {
		case FLAGS_ADD:
			x->set = fl;
			x->nkset = (uint16_t)ngiven;
			x->kset = given;
			break;
		case FLAGS_REMOVE:
			x->clr = fl;
			x->nkclr = (uint16_t)ngiven;
			x->kclr = given;
			break;
		default:
			x->set = fl;
			x->clr = (uint8_t)(MF_ALL & ~fl);
			x->nkset = (uint16_t)ngiven;
			x->kset = given;
			x->nkclr = (uint16_t)nothers;
			x->kclr = others;
			break;
		}
		if (x->set | x->clr | x->nkset | x->nkclr)
			nch++;
	}
	if (nch > 0 && fst_write(fs, ch, nch, &why) == -1) {
		log_warnx("store: imap worker %d: %s: flag journal: %s", (int)c->pid, c->account,
		    why);
		chan_reply_text(c, MSG_STORE_FLAGS_R, r->id, STORE_TEMPFAIL, "The flags cannot be changed now");
		goto out;
	}
	/* this view has the change; the answer says what each has now */
	nkw0 = view_nkw(v);
	for (uint32_t i = 0; i < r->nuid && nch > 0; i++) {
		uint32_t f = view_flags(v, idx[i]) & MF_ALL;
		size_t n = view_msg_kw(v, idx[i], cur), nn = 0;

		if (r->fop == FLAGS_SET) {
			f = fl;
			for (uint32_t k = 0; k < r->nfkw; k++) {
				nxt[nn].s = r->fkw[k];
				nxt[nn++].n = strlen(r->fkw[k]);
			}
		} else if (r->fop == FLAGS_ADD) {
			f |= fl;
			for (size_t k = 0; k < n; k++)
				nxt[nn++] = cur[k];
			for (uint32_t k = 0; k < r->nfkw && nn < FOLDER_KEYWORDS_MAX_COUNT; k++)
				if (!kw_in(nxt, nn, r->fkw[k], strlen(r->fkw[k]))) {
					nxt[nn].s = r->fkw[k];
					nxt[nn++].n = strlen(r->fkw[k]);
				}
		} else {
			f &= ~(uint32_t)fl;
			for (size_t k = 0; k < n; k++) {
				int gone = 0;

				for (uint32_t q = 0; q < r->nfkw && !gone; q++)
					gone = xp_keyword_cmp(cur[k].s, cur[k].n, r->fkw[q],
					    strlen(r->fkw[q])) == 0;
				if (!gone)
					nxt[nn++] = cur[k];
			}
		}
		/* a keyword named twice by FLAGS: once */
		for (size_t k = 1; k < nn; k++)
			if (kw_in(nxt, k, nxt[k].s, nxt[k].n)) {
				nxt[k--] = nxt[--nn];
			}
		view_set_flags(v, idx[i], f, nxt, nn);
	}
	if (view_nkw(v) > nkw0)
		for (size_t k = 0; k < view_nkw(v); k++) {
			const char *s = view_kw(v, k);

			ob_u32(&b, (uint32_t)strlen(s));
			ob_put(&b, s, strlen(s));
		}
	for (uint32_t i = 0; i < r->nuid; i++) {
		uint32_t k;
		const uint32_t *ki = view_msg_kwidx(v, idx[i], &k);

		ob_u32(&b, r->uids[i]);
		ob_u32(&b, view_flags(v, idx[i]));
		ob_u32(&b, k);
		ob_put(&b, ki, 4 * (size_t)k);
	}
	if ((fd = sealed_memfd("postern-store", b.p, b.n)) == -1) {
		log_warn("store: store memfd");
		chan_reply_text(c, MSG_STORE_FLAGS_R, r->id, STORE_TEMPFAIL, "The flags cannot be changed now");
		goto out;
	}
	if (nch > 0) {
		log_debug("store: imap worker %d: %s: flags of %zu messages changed",
		    (int)c->pid, c->account, nch);
		chan_changed(c->account, c->view_fid, c);
	}
	ipc_init(&m, MSG_STORE_FLAGS_R, r->id);
	ipc_put_u32(&m, STORE_OK);
	ipc_put_str(&m, "");
	ipc_put_u32(&m, view_nkw(v) > nkw0 ? (uint32_t)view_nkw(v) : 0);
	ipc_put_u32(&m, r->nuid);
	ipc_set_fd(&m, fd);
	chan_send(c, &m);
	close(fd);
out:
	free(b.p);
	free(idx);
	free(ch);
}
