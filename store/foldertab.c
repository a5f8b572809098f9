/*
 * The per-account folder table: the file format, the checks and the edits
 * are described in foldertab.h.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/params.h"
#include "../privsep/util.h"
#include "foldertab.h"

static const char *const use_names[] = { "sent", "drafts", "trash", "junk", "archive" };
static const char *const use_folders[] = { "Sent", "Drafts", "Trash", "Junk", "Archive" };
#define USE_COUNT 5

/* The refusals foldertab_why_class() tells apart, written once. */
static const char why_nosuch[] = "does not exist";
static const char why_exists[] = "already exists";
static const char why_same_name[] = "already has that name";
static const char why_new_exists[] = "cannot be renamed: the new name exists";
static const char why_not_subscribed[] = "is not subscribed";
static const char why_too_many[] = "cannot be made: the account has too many folders";
static const char why_rename_many[] = "cannot be renamed: the account would have too many folders";
static const char why_below_long[] =
    "cannot be renamed: a name below it would be too long or too deep";

enum ft_class
foldertab_why_class(const char *why)
{
	if (why == why_nosuch || why == why_not_subscribed)
		return FTC_NOSUCH;
	if (why == why_exists || why == why_same_name || why == why_new_exists)
		return FTC_EXISTS;
	if (why == why_too_many || why == why_rename_many || why == why_below_long ||
	    foldername_why_is_limit(why))
		return FTC_LIMIT;
	return FTC_CANNOT;
}

/* Text with detail (a line number, errno): valid until the next call. */
static char why_buf[256];

static int fail_fmt(const char **why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail_fmt(const char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	return fail_why(why, why_buf);
}

static uint64_t
fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void
foldertab_init(struct foldertab *t)
{
	t->v = NULL;
	t->n = t->cap = 0;
	t->next_id = 1;
	t->next_uidvalidity = 1;
}

static void
ent_free(struct folder *f)
{
	free(f->name);
	f->name = f->key = NULL;
}

void
foldertab_free(struct foldertab *t)
{
	for (size_t i = 0; i < t->n; i++)
		ent_free(&t->v[i]);
	free(t->v);
	foldertab_init(t);
}

/* Gives f the canonical name and its key, in one block. */
static void
ent_set_name(struct folder *f, const char *canon)
{
	size_t n = strlen(canon);
	char *b = xmalloc(2 * (n + 1));

	memcpy(b, canon, n + 1);
	foldername_key(b, b + n + 1, n + 1);
	free(f->name);
	f->name = b;
	f->key = b + n + 1;
}

/* The first index whose key is >= key (the insertion point). */
static size_t
lower_bound(const struct foldertab *t, const char *key)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->v[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct folder *
find_key(const struct foldertab *t, const char *key)
{
	size_t i = lower_bound(t, key);

	return i < t->n && strcmp(t->v[i].key, key) == 0 ? &t->v[i] : NULL;
}

/* Is there an entry whose key starts with key[0..klen) + "/"? */
static int
has_children_key(const struct foldertab *t, const char *key, size_t klen)
{
	char *pre = xmalloc(klen + 2);
	size_t i;
	int r;

	memcpy(pre, key, klen);
	pre[klen] = '/';
	pre[klen + 1] = '\0';
	i = lower_bound(t, pre);
	r = i < t->n && strncmp(t->v[i].key, pre, klen + 1) == 0;
	free(pre);
	return r;
}

int
foldertab_has_children(const struct foldertab *t, const struct folder *f)
{
	return has_children_key(t, f->key, strlen(f->key));
}

int
foldertab_is_below(const struct folder *parent, const struct folder *f)
{
	size_t n = strlen(parent->key);

	return strncmp(f->key, parent->key, n) == 0 && f->key[n] == '/';
}

void
foldertab_file_name(uint32_t id, char out[FOLDERTAB_FILE_NAME_BYTES])
{
	snprintf(out, FOLDERTAB_FILE_NAME_BYTES, "f%08x", (unsigned)id);
}

/* Room for one more entry at index i (entries from i move up). */
static struct folder *
ent_insert_at(struct foldertab *t, size_t i)
{
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;

		t->v = xreallocarray(t->v, nc, sizeof(*t->v));
		t->cap = nc;
	}
	memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*t->v));
	t->n++;
	memset(&t->v[i], 0, sizeof(t->v[i]));
	return &t->v[i];
}

static void
ent_remove(struct foldertab *t, struct folder *f)
{
	size_t i = (size_t)(f - t->v);

	ent_free(f);
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
	t->n--;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct folder *)a)->key, ((const struct folder *)b)->key);
}

void
foldertab_new(struct foldertab *t, uint32_t now)
{
	struct folder *f;

	foldertab_init(t);
	f = ent_insert_at(t, 0);
	ent_set_name(f, "INBOX");
	f->uidvalidity = now == 0 ? 1 : now == UINT32_MAX ? UINT32_MAX - 1 : now;
	f->uidnext = 1;
	f->flags = FF_SUBSCRIBED;
	t->next_uidvalidity = f->uidvalidity + 1;
}

/* A new UIDVALIDITY: max(next, now); 0 when they are used up. */
static uint32_t
new_uidvalidity(struct foldertab *t, uint32_t now)
{
	uint32_t v = t->next_uidvalidity > now ? t->next_uidvalidity : now;

	if (v == 0 || v == UINT32_MAX)
		return 0;
	t->next_uidvalidity = v + 1;
	return v;
}

/* Makes f (no folder, or new) a folder with a new file id and
 * UIDVALIDITY.  0, or -1 with *why. */
static int
give_folder(struct foldertab *t, struct folder *f, uint32_t now, const char **why)
{
	uint32_t uv;

	if (t->next_id == UINT32_MAX)
		return fail_why(why, "cannot be made: the account's file ids are used up");
	if ((uv = new_uidvalidity(t, now)) == 0)
		return fail_why(why, "cannot be made: the account's UIDVALIDITY values are used up");
	f->id = t->next_id++;
	f->uidvalidity = uv;
	f->uidnext = 1;
	f->flags &= ~FF_NOFOLDER;
	return 0;
}

/* ---------------------------------------------------------- parsing */

/* A canonical decimal u32 at *p, followed by sep; advances past sep. */
static int
take_u32(const char **p, const char *end, char sep, uint32_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	size_t d = 0;

	while (s < end && *s >= '0' && *s <= '9' && d <= 10) {
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
		d++;
	}
	if (d == 0 || d > 10 || v > UINT32_MAX || (d > 1 && **p == '0') || s >= end || *s != sep)
		return -1;
	*out = (uint32_t)v;
	*p = s + 1;
	return 0;
}

/* Takes the literal word w at *p. */
static int
take_word(const char **p, const char *end, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(end - *p) < n || memcmp(*p, w, n) != 0)
		return -1;
	*p += n;
	return 0;
}

static int
take_flags(const char **p, const char *end, unsigned *flags)
{
	const char *s = *p;

	*flags = 0;
	if (s < end && *s == '-')
		s++;
	else {
		if (s < end && *s == 'n') {
			*flags |= FF_NOFOLDER;
			s++;
		}
		if (s < end && *s == 's') {
			*flags |= FF_SUBSCRIBED;
			s++;
		}
		if (*flags == 0)
			return -1;
	}
	if (s >= end || *s != ' ')
		return -1;
	*p = s + 1;
	return 0;
}

static int
take_use(const char **p, const char *end, unsigned *use)
{
	const char *s = *p;
	int last = -1;

	*use = 0;
	if (s < end && *s == '-')
		s++;
	else {
		for (;;) {
			int k;

			for (k = last + 1; k < USE_COUNT; k++)
				if (take_word(&s, end, use_names[k]) == 0)
					break;
			if (k == USE_COUNT)
				return -1;
			*use |= 1u << k;
			last = k;
			if (s < end && *s == ',')
				s++;
			else
				break;
		}
	}
	if (s >= end || *s != ' ')
		return -1;
	*p = s + 1;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Are the nonzero values of v[0..n) unique?  (sorts v) */
static int
unique_nonzero(uint32_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	for (size_t i = 1; i < n; i++)
		if (v[i] != 0 && v[i] == v[i - 1])
			return 0;
	return 1;
}

/* The checks of the whole table (foldertab.h); t is parsed and sorted. */
static int
check_table(const struct foldertab *t, const char **why)
{
	const struct folder *inbox = find_key(t, "inbox");
	uint32_t *ids, *uvs;
	int ok;

	if (inbox == NULL || strcmp(inbox->name, "INBOX") != 0)
		return fail_why(why, "has no INBOX entry");
	if (inbox->flags & FF_NOFOLDER)
		return fail_why(why, "has INBOX without a folder");
	for (size_t i = 0; i < t->n; i++) {
		const struct folder *f = &t->v[i];
		const char *slash = strrchr(f->name, '/');

		if (slash != NULL) {
			const char *kslash = strrchr(f->key, '/');
			char *pk = strndup(f->key, (size_t)(kslash - f->key));
			const struct folder *parent;

			if (pk == NULL)
				return fail_why(why, "cannot be checked: out of memory");
			parent = find_key(t, pk);
			free(pk);
			if (parent == NULL)
				return fail_fmt(why, "has entry %zu without its parent entry", i + 1);
			if (strlen(parent->name) != (size_t)(slash - f->name) ||
			    memcmp(parent->name, f->name, (size_t)(slash - f->name)) != 0)
				return fail_fmt(why, "has entry %zu spelling its parent otherwise", i + 1);
		}
		if ((f->flags & FF_NOFOLDER) && !(f->flags & FF_SUBSCRIBED) &&
		    !foldertab_has_children(t, f))
			return fail_fmt(why, "has entry %zu that is neither folder, subscription nor parent",
			    i + 1);
	}
	ids = xcalloc(t->n, sizeof(*ids));
	uvs = xcalloc(t->n, sizeof(*uvs));
	for (size_t i = 0; i < t->n; i++) {
		ids[i] = t->v[i].id;
		uvs[i] = t->v[i].uidvalidity;
	}
	ok = unique_nonzero(ids, t->n) && unique_nonzero(uvs, t->n);
	free(ids);
	free(uvs);
	if (!ok)
		return fail_why(why, "has a file id or UIDVALIDITY twice");
	return 0;
}

/* One entry line s[0..end) (its LF at end): appended to t, which must
 * stay in strictly ascending key order. */
static int
parse_entry(struct foldertab *t, const char *s, const char *end, size_t line,
    const char **why)
{
	struct folder e, *f;
	struct folder_limits ceil;
	const char *nwhy = NULL;
	char *canon;
	size_t nlen;
	int cl;

	memset(&e, 0, sizeof(e));
	if (take_word(&s, end, "f ") == -1 || take_u32(&s, end, ' ', &e.id) == -1 ||
	    take_u32(&s, end, ' ', &e.uidvalidity) == -1 ||
	    take_u32(&s, end, ' ', &e.uidnext) == -1 ||
	    take_flags(&s, end, &e.flags) == -1 || take_use(&s, end, &e.use) == -1)
		return fail_fmt(why, "line %zu is not a folder entry", line);
	nlen = (size_t)(end - s);
	folder_limits_ceil(&ceil);
	canon = xmalloc(nlen + 1);
	cl = foldername_canon(s, nlen, &ceil, canon, nlen + 1, &nwhy);
	if (cl < 0 || memcmp(canon, s, nlen) != 0) {
		free(canon);
		return fail_fmt(why, "line %zu: the name %s", line,
		    cl < 0 ? nwhy : "is not in canonical form");
	}
	if (foldername_is_inbox(canon)) {
		if (e.id != 0 || (e.flags & FF_NOFOLDER) || e.uidvalidity == 0 || e.uidnext == 0)
			cl = -1;
	} else if (e.flags & FF_NOFOLDER) {
		if (e.id != 0 || e.uidvalidity != 0 || e.uidnext != 0 || e.use != 0)
			cl = -1;
	} else if (e.id == 0 || e.id >= t->next_id || e.uidvalidity == 0 || e.uidnext == 0)
		cl = -1;
	if (e.uidvalidity != 0 && e.uidvalidity >= t->next_uidvalidity)
		cl = -1;
	if (cl < 0) {
		free(canon);
		return fail_fmt(why, "line %zu has values that do not fit its kind", line);
	}
	if (t->n >= FOLDERS_CEIL_COUNT) {
		free(canon);
		return fail_why(why, "has too many entries");
	}
	f = ent_insert_at(t, t->n);
	*f = e;
	f->name = f->key = NULL;
	ent_set_name(f, canon);
	free(canon);
	if (t->n > 1 && (cl = strcmp(t->v[t->n - 2].key, f->key)) >= 0)
		return fail_fmt(why, cl == 0 ? "line %zu: a second entry of one folder "
		    "(the names differ at most in case)" : "line %zu: the entries are out of order",
		    line);
	return 0;
}

int
foldertab_parse(struct foldertab *t, const char *buf, size_t n, const char **why)
{
	const char *p = buf, *end = buf + n, *last, *nl;
	uint32_t count, version;
	size_t line = 1;
	char hex[17];

	foldertab_init(t);
	if (n > FOLDERTAB_FILE_MAX_BYTES)
		return fail_why(why, "is too large");
	if (n == 0)
		return fail_why(why, "is empty (torn)");
	if (memchr(buf, '\0', n) != NULL)
		return fail_why(why, "holds a NUL byte (damaged)");
	if (buf[n - 1] != '\n')
		return fail_why(why, "does not end with a line end (torn)");
	/* the last line: "end COUNT SUM" over everything before it */
	for (last = end - 1; last > buf && last[-1] != '\n'; last--)
		;
	p = last;
	if (take_word(&p, end, "end ") == -1 || take_u32(&p, end, ' ', &count) == -1 ||
	    end - p != 17)
		return fail_why(why, "has no end line (torn)");
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)fnv1a(buf, (size_t)(last - buf)));
	if (memcmp(p, hex, 16) != 0)
		return fail_why(why, "fails its checksum (damaged or torn)");

	p = buf;
	if (take_word(&p, last, "postern-folders ") == -1 || take_u32(&p, last, '\n', &version) == -1)
		return fail_why(why, "does not start with \"postern-folders 1\"");
	if (version != FOLDERTAB_VERSION)
		return fail_fmt(why, "has version %u, which this postern does not read",
		    (unsigned)version);
	line++;
	if (take_word(&p, last, "next ") == -1 || take_u32(&p, last, ' ', &t->next_id) == -1 ||
	    take_u32(&p, last, '\n', &t->next_uidvalidity) == -1 || t->next_id == 0 ||
	    t->next_uidvalidity == 0)
		return fail_fmt(why, "line %zu is not \"next ID UIDVALIDITY\"", line);
	while (p < last) {
		line++;
		nl = memchr(p, '\n', (size_t)(last - p));   /* last[-1] is '\n' */
		if (parse_entry(t, p, nl, line, why) == -1) {
			foldertab_free(t);
			return -1;
		}
		p = nl + 1;
	}
	if (count != t->n) {
		foldertab_free(t);
		return fail_why(why, "has an end line whose count is not the entries' (damaged)");
	}
	if (check_table(t, why) == -1) {
		foldertab_free(t);
		return -1;
	}
	return 0;
}

char *
foldertab_serialize(const struct foldertab *t, size_t *len)
{
	size_t cap = 128, o = 0;
	char *b;
	int r;

	for (size_t i = 0; i < t->n; i++)
		cap += strlen(t->v[i].name) + FOLDERTAB_LINE_FIELDS_BYTES;
	if ((b = malloc(cap)) == NULL)
		return NULL;
	r = snprintf(b, cap, "postern-folders %d\nnext %u %u\n", FOLDERTAB_VERSION,
	    (unsigned)t->next_id, (unsigned)t->next_uidvalidity);
	o = (size_t)r;
	for (size_t i = 0; i < t->n; i++) {
		const struct folder *f = &t->v[i];
		char use[64];
		size_t u = 0;

		for (int k = 0; k < USE_COUNT; k++)
			if (f->use & (1u << k)) {
				size_t wl = strlen(use_names[k]);

				if (u)
					use[u++] = ',';
				memcpy(use + u, use_names[k], wl);
				u += wl;
			}
		use[u] = '\0';
		r = snprintf(b + o, cap - o, "f %u %u %u %s%s%s %s %s\n", (unsigned)f->id,
		    (unsigned)f->uidvalidity, (unsigned)f->uidnext,
		    (f->flags & FF_NOFOLDER) ? "n" : "", (f->flags & FF_SUBSCRIBED) ? "s" : "",
		    (f->flags & (FF_NOFOLDER | FF_SUBSCRIBED)) ? "" : "-", u ? use : "-", f->name);
		o += (size_t)r;
	}
	r = snprintf(b + o, cap - o, "end %zu %016llx\n", t->n,
	    (unsigned long long)fnv1a(b, o));
	o += (size_t)r;
	*len = o;
	return b;
}

/* ------------------------------------------------------------ edits */

struct folder *
foldertab_find(const struct foldertab *t, const char *name, size_t len, const char **why)
{
	struct folder_limits ceil;
	struct folder *f;
	char *canon, *key;

	folder_limits_ceil(&ceil);
	if (len > FOLDER_NAME_CEIL_BYTES) {
		fail_why(why, foldername_why_long());
		return NULL;
	}
	canon = xmalloc(2 * (len + 1));
	key = canon + len + 1;
	if (foldername_canon(name, len, &ceil, canon, len + 1, why) < 0) {
		free(canon);
		return NULL;
	}
	foldername_key(canon, key, len + 1);
	f = find_key(t, key);
	free(canon);
	if (f == NULL)
		fail_why(why, why_nosuch);
	return f;
}

/*
 * canon with each parent that has an entry spelled as that entry
 * ("work/x" under "Work" is "Work/x"; the spellings may differ in length:
 * U+017F and 's' have one key): a new malloc'ed string.  *missing counts
 * the parents with no entry.
 */
static char *
respell_parents(const struct foldertab *t, const char *canon, size_t *missing)
{
	char *s = xstrdup(canon), *key = xmalloc(strlen(canon) + 1);

	*missing = 0;
	for (size_t i = 0; s[i] != '\0'; i++) {
		const struct folder *p;
		size_t pl, rest;
		char *ns;

		if (s[i] != '/')
			continue;
		s[i] = '\0';
		foldername_key(s, key, i + 1);
		s[i] = '/';
		if ((p = find_key(t, key)) == NULL) {
			(*missing)++;
			continue;
		}
		pl = strlen(p->name);
		if (pl == i && memcmp(p->name, s, i) == 0)
			continue;
		rest = strlen(s + i);
		ns = xmalloc(pl + rest + 1);
		memcpy(ns, p->name, pl);
		memcpy(ns + pl, s + i, rest + 1);
		free(s);
		s = ns;
		i = pl;
		free(key);
		key = xmalloc(strlen(s) + 1);
	}
	free(key);
	return s;
}

/* Adds the missing parents of canon as FF_NOFOLDER entries. */
static void
add_parents(struct foldertab *t, char *canon)
{
	size_t n = strlen(canon);
	char *key = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		struct folder *p;

		if (canon[i] != '/')
			continue;
		canon[i] = '\0';
		foldername_key(canon, key, n + 1);
		if (find_key(t, key) == NULL) {
			p = ent_insert_at(t, lower_bound(t, key));
			ent_set_name(p, canon);
			p->flags = FF_NOFOLDER;
		}
		canon[i] = '/';
	}
	free(key);
}

/* Removes the FF_NOFOLDER ancestors of the name canon that are left with
 * neither a sub-folder nor a subscription, deepest first. */
static void
prune_parents(struct foldertab *t, const char *canon)
{
	char *s = xstrdup(canon), *slash, *key = xmalloc(strlen(canon) + 1);

	while ((slash = strrchr(s, '/')) != NULL) {
		struct folder *p;

		*slash = '\0';
		foldername_key(s, key, strlen(canon) + 1);
		p = find_key(t, key);
		if (p == NULL || !(p->flags & FF_NOFOLDER) || (p->flags & FF_SUBSCRIBED) ||
		    foldertab_has_children(t, p))
			break;
		ent_remove(t, p);
	}
	free(key);
	free(s);
}

/* canon = the canonical name[0..len) within lim, its parents respelled;
 * malloc'ed.  NULL with *why. */
static char *
canon_dup(const struct foldertab *t, const char *name, size_t len,
    const struct folder_limits *lim, size_t *missing, const char **why)
{
	char *canon = xmalloc(len + 1), *re;

	if (foldername_canon(name, len, lim, canon, len + 1, why) < 0) {
		free(canon);
		return NULL;
	}
	re = respell_parents(t, canon, missing);
	free(canon);
	if (strlen(re) > lim->name_max_bytes || strlen(re) > FOLDER_NAME_CEIL_BYTES) {
		free(re);
		fail_why(why, foldername_why_long());
		return NULL;
	}
	return re;
}

int
foldertab_create(struct foldertab *t, const char *name, size_t len,
    const struct folder_limits *lim, uint32_t now, struct folder **out, const char **why)
{
	size_t missing;
	char *canon, *key;
	struct folder *f;

	if ((canon = canon_dup(t, name, len, lim, &missing, why)) == NULL)
		return -1;
	key = xmalloc(strlen(canon) + 1);
	foldername_key(canon, key, strlen(canon) + 1);
	f = find_key(t, key);
	if (f != NULL && !(f->flags & FF_NOFOLDER)) {
		free(canon);
		free(key);
		return fail_why(why, why_exists);
	}
	if (t->n + missing + (f == NULL) > lim->folders_max_count) {
		free(canon);
		free(key);
		return fail_why(why, why_too_many);
	}
	if (f == NULL) {
		add_parents(t, canon);
		f = ent_insert_at(t, lower_bound(t, key));
		ent_set_name(f, canon);
		f->flags = FF_NOFOLDER;
	}
	free(canon);
	free(key);
	if (give_folder(t, f, now, why) == -1) {
		/* a new entry goes again; its parents stay only when wanted */
		char *nm = xstrdup(f->name);

		if (!(f->flags & FF_SUBSCRIBED) && !foldertab_has_children(t, f)) {
			ent_remove(t, f);
			prune_parents(t, nm);
		}
		free(nm);
		return -1;
	}
	if (out != NULL)
		*out = f;
	return 0;
}

int
foldertab_delete(struct foldertab *t, const char *name, size_t len, uint32_t *gone_id,
    const char **why)
{
	struct folder *f = foldertab_find(t, name, len, why);
	char *nm;

	*gone_id = 0;
	if (f == NULL)
		return -1;
	if (foldername_is_inbox(f->name))
		return fail_why(why, "is INBOX, which cannot be deleted");
	if (f->flags & FF_NOFOLDER)
		return fail_why(why, foldertab_has_children(t, f) ?
		    "has sub-folders and holds no mail itself (\\Noselect)" : why_nosuch);
	*gone_id = f->id;
	f->id = f->uidvalidity = f->uidnext = 0;
	f->use = 0;
	f->flags |= FF_NOFOLDER;
	if ((f->flags & FF_SUBSCRIBED) || foldertab_has_children(t, f))
		return 0;
	nm = xstrdup(f->name);
	ent_remove(t, f);
	prune_parents(t, nm);
	free(nm);
	return 0;
}

/* The depth of e once its ancestor-or-self f is named canon. */
static unsigned
depth_after(const char *canon, const struct folder *e, const struct folder *f)
{
	return foldername_depth(canon) + foldername_depth(e->name) - foldername_depth(f->name);
}

int
foldertab_rename(struct foldertab *t, const char *from, size_t flen,
    const char *to, size_t tlen, const struct folder_limits *lim, const char **why)
{
	struct folder *f, *dst;
	size_t missing, fnl, fkl, tnl;
	char *canon, *tkey, *oldname;
	unsigned take_sub = 0;

	if ((f = foldertab_find(t, from, flen, why)) == NULL)
		return -1;
	if (foldername_is_inbox(f->name))
		return fail_why(why, "is INBOX, whose RENAME moves its mail instead");
	if ((f->flags & FF_NOFOLDER) && !foldertab_has_children(t, f))
		return fail_why(why, why_nosuch);
	if ((canon = canon_dup(t, to, tlen, lim, &missing, why)) == NULL)
		return -1;
	tnl = strlen(canon);
	tkey = xmalloc(tnl + 1);
	foldername_key(canon, tkey, tnl + 1);
	fnl = strlen(f->name);
	fkl = strlen(f->key);
	dst = find_key(t, tkey);
	if (dst == f) {
		if (strcmp(canon, f->name) == 0) {
			free(canon);
			free(tkey);
			return fail_why(why, why_same_name);
		}
		dst = NULL;               /* the same folder, spelled otherwise */
	} else if (dst != NULL && (!(dst->flags & FF_NOFOLDER) || foldertab_has_children(t, dst))) {
		free(canon);
		free(tkey);
		return fail_why(why, why_new_exists);
	} else if (strncmp(tkey, f->key, fkl) == 0 && tkey[fkl] == '/') {
		free(canon);
		free(tkey);
		return fail_why(why, "cannot be renamed below itself");
	}
	/* every new name within the limits */
	for (size_t i = 0; i < t->n; i++) {
		const struct folder *e = &t->v[i];
		size_t nl;

		if (e != f && !foldertab_is_below(f, e))
			continue;
		nl = tnl + strlen(e->name) - fnl;
		if (nl > lim->name_max_bytes || nl > FOLDER_NAME_CEIL_BYTES ||
		    depth_after(canon, e, f) > lim->depth_max_count ||
		    depth_after(canon, e, f) > FOLDER_DEPTH_CEIL_COUNT) {
			free(canon);
			free(tkey);
			return fail_why(why, why_below_long);
		}
	}
	if (t->n + missing - (dst != NULL) > lim->folders_max_count) {
		free(canon);
		free(tkey);
		return fail_why(why, why_rename_many);
	}
	if (dst != NULL) {
		take_sub = dst->flags & FF_SUBSCRIBED;
		if (dst < f)
			f--;
		ent_remove(t, dst);
	}
	oldname = xstrdup(f->name);
	for (size_t i = 0; i < t->n; i++) {
		struct folder *e = &t->v[i];
		char *nn;
		size_t el;

		if (strcmp(e->name, oldname) != 0 &&
		    !(strncmp(e->name, oldname, fnl) == 0 && e->name[fnl] == '/'))
			continue;
		el = strlen(e->name);
		nn = xmalloc(tnl + el - fnl + 1);
		memcpy(nn, canon, tnl);
		memcpy(nn + tnl, e->name + fnl, el - fnl + 1);
		if (el == fnl)
			e->flags |= take_sub;
		ent_set_name(e, nn);
		free(nn);
	}
	qsort(t->v, t->n, sizeof(*t->v), cmp_key);
	add_parents(t, canon);
	prune_parents(t, oldname);
	free(oldname);
	free(canon);
	free(tkey);
	return 0;
}

int
foldertab_subscribe(struct foldertab *t, const char *name, size_t len, int on,
    const char **why)
{
	struct folder *f = foldertab_find(t, name, len, why);
	char *nm;

	if (f == NULL)
		return -1;
	if (on) {
		f->flags |= FF_SUBSCRIBED;
		return 0;
	}
	if (!(f->flags & FF_SUBSCRIBED))
		return fail_why(why, why_not_subscribed);
	f->flags &= ~FF_SUBSCRIBED;
	if (!(f->flags & FF_NOFOLDER) || foldertab_has_children(t, f))
		return 0;
	nm = xstrdup(f->name);
	ent_remove(t, f);
	prune_parents(t, nm);
	free(nm);
	return 0;
}

int
foldertab_set_use(struct foldertab *t, const char *name, size_t len, unsigned use,
    const char **why)
{
	struct folder *f = foldertab_find(t, name, len, why);

	if (f == NULL)
		return -1;
	if (use & ~FU_ALL)
		return fail_why(why, "cannot have that special use");
	if (f->flags & FF_NOFOLDER)
		return fail_why(why, "holds no mail (\\Noselect): no special use");
	f->use = use;
	return 0;
}

int
foldertab_set_uidnext(struct foldertab *t, const char *name, size_t len, uint32_t uidnext,
    const char **why)
{
	struct folder *f = foldertab_find(t, name, len, why);

	if (f == NULL)
		return -1;
	if (f->flags & FF_NOFOLDER)
		return fail_why(why, why_nosuch);
	if (uidnext < f->uidnext)
		return fail_why(why, "would get a lower UIDNEXT");
	f->uidnext = uidnext;
	return 0;
}

int
foldertab_add_special(struct foldertab *t, unsigned uses, const struct folder_limits *lim,
    uint32_t now, const char **why)
{
	int made = 0;

	for (int k = 0; k < USE_COUNT; k++) {
		unsigned bit = 1u << k;
		const char *nm = use_folders[k];
		struct folder *f;
		int held = 0;

		if (!(uses & bit))
			continue;
		for (size_t i = 0; i < t->n; i++)
			held |= (t->v[i].use & bit) != 0;
		if (held)
			continue;
		f = foldertab_find(t, nm, strlen(nm), NULL);
		if (f == NULL || (f->flags & FF_NOFOLDER)) {
			if (foldertab_create(t, nm, strlen(nm), lim, now, &f, why) == -1)
				return -1;
			f->flags |= FF_SUBSCRIBED;
			made++;
		}
		f->use |= bit;
	}
	return made;
}

/* ------------------------------------------------------------- files */

int
foldertab_load(int dirfd, struct foldertab *t, uint32_t now, const char **why)
{
	struct stat st;
	char *buf;
	ssize_t r;
	int fd, rc;

	foldertab_init(t);
	fd = openat(dirfd, FOLDERTAB_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		foldertab_new(t, now);
		return 1;
	}
	if (fd == -1)
		return fail_fmt(why, "cannot be opened: %s", strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > FOLDERTAB_FILE_MAX_BYTES) {
		close(fd);
		return fail_why(why, "is not a regular file of at most the table's size");
	}
	buf = xmalloc((size_t)st.st_size + 1);
	r = read_full(fd, buf, (size_t)st.st_size + 1);
	close(fd);
	if (r != (ssize_t)st.st_size) {
		free(buf);
		return fail_why(why, r < 0 ? "cannot be read" : "changed while it was read");
	}
	rc = foldertab_parse(t, buf, (size_t)r, why);
	free(buf);
	return rc;
}

int
foldertab_save(int dirfd, const struct foldertab *t, const char **why)
{
	size_t len;
	char *b = foldertab_serialize(t, &len);
	int fd;

	if (b == NULL)
		return fail_why(why, "cannot be written: out of memory");
	if (unlinkat(dirfd, FOLDERTAB_TMP, 0) == -1 && errno != ENOENT) {
		free(b);
		return fail_fmt(why, "cannot be written: remove " FOLDERTAB_TMP ": %s",
		    strerror(errno));
	}
	fd = openat(dirfd, FOLDERTAB_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		free(b);
		return fail_fmt(why, "cannot be written: create " FOLDERTAB_TMP ": %s",
		    strerror(errno));
	}
	if (write_all(fd, b, len) == -1 || fsync(fd) == -1) {
		int e = errno;

		close(fd);
		unlinkat(dirfd, FOLDERTAB_TMP, 0);
		free(b);
		return fail_fmt(why, "cannot be written: " FOLDERTAB_TMP ": %s", strerror(e));
	}
	free(b);
	if (close(fd) == -1 || renameat(dirfd, FOLDERTAB_TMP, dirfd, FOLDERTAB_FILE) == -1) {
		int e = errno;

		unlinkat(dirfd, FOLDERTAB_TMP, 0);
		return fail_fmt(why, "cannot be written: rename: %s", strerror(e));
	}
	if (fsync(dirfd) == -1)
		return fail_fmt(why, "was renamed but the directory fsync failed (%s): "
		    "the old or the new table may be on disk", strerror(errno));
	return 0;
}
