/*
 * Accounts and aliases files: parse, check, expand (see accounts.h).
 */
#include <sys/stat.h>
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../privsep/util.h"
#include "accounts.h"
#include "mailbox.h"

struct errbuf {
	char *buf;
	size_t size, used;
	int n;
};

static void
err_add(struct errbuf *e, const char *path, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int r;

	e->n++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->size == 0 || e->used >= e->size - 1)
		return;
	r = snprintf(e->buf + e->used, e->size - e->used, "%s%s:%d: %s",
	    e->used ? "\n" : "", path, line, msg);
	if (r > 0)
		e->used += (size_t)r < e->size - e->used ? (size_t)r : e->size - e->used - 1;
}

void
name_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Reads a whole file from fd (at most ACC_FILE_MAX_BYTES bytes). */
static char *
slurp(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap + 1);

	if (b == NULL)
		return NULL;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			/* not realloc: the old block (hashes) is wiped, not
			 * left behind in the heap */
			if (cap >= ACC_FILE_MAX_BYTES || (nb = malloc(cap * 2 + 1)) == NULL) {
				explicit_bzero(b, n);
				free(b);
				errno = EFBIG;
				return NULL;
			}
			memcpy(nb, b, n);
			explicit_bzero(b, n);
			free(b);
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			explicit_bzero(b, n);
			free(b);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Calls fn for every meaningful line: comments and blank lines skipped,
 * a NUL byte an error. */
typedef void (*line_fn)(void *ctx, char *line, int lineno);

static void
each_line(char *buf, size_t len, const char *path, struct errbuf *e,
    line_fn fn, void *ctx)
{
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		char *line = buf + pos, *t;

		lineno++;
		pos += ll + (nl ? 1 : 0);
		if (memchr(line, '\0', ll) != NULL) {
			err_add(e, path, lineno, "NUL byte in line");
			continue;
		}
		line[ll] = '\0';
		t = trim(line);
		if (*t == '\0' || *t == '#')
			continue;
		fn(ctx, t, lineno);
	}
}

struct acc_ctx {
	struct acctab *t;
	struct errbuf *e;
	const char *path;
	size_t cap;
};

static int
cmp_acc(const void *a, const void *b)
{
	return strcmp(((const struct account *)a)->name, ((const struct account *)b)->name);
}

static int
cmp_al(const void *a, const void *b)
{
	return strcmp(((const struct alias *)a)->name, ((const struct alias *)b)->name);
}

static int
name_checked(const char *s, char *out, const char *path, int line,
    struct errbuf *e, const char *what)
{
	if (strlen(s) > LIM_NAME) {
		err_add(e, path, line, "%s name too long", what);
		return -1;
	}
	strlcpy_(out, s, LIM_NAME + 1);
	name_lower(out);
	if (!mailbox_name_ok(out)) {
		err_add(e, path, line, "invalid %s name \"%s\" (letters, digits, . _ + - only, "
		    "not starting with '.', not ending in \".lock\")", what, out);
		return -1;
	}
	return 0;
}

static void
acc_line(void *vctx, char *line, int lineno)
{
	struct acc_ctx *c = vctx;
	struct account a;
	char *colon = strchr(line, ':'), *hash;

	memset(&a, 0, sizeof(a));
	if (colon == NULL) {
		err_add(c->e, c->path, lineno, "expected name:hash");
		return;
	}
	*colon = '\0';
	hash = trim(colon + 1);
	if (name_checked(trim(line), a.name, c->path, lineno, c->e, "account") == -1)
		return;
	if (*hash == '\0' || strpbrk(hash, ": \t") != NULL) {
		err_add(c->e, c->path, lineno, "account %s: bad or missing password hash", a.name);
		return;
	}
	for (size_t i = 0; i < c->t->nacc; i++)
		if (strcmp(c->t->acc[i].name, a.name) == 0) {
			err_add(c->e, c->path, lineno, "duplicate account %s (first at line %d)",
			    a.name, c->t->acc[i].line);
			return;
		}
	if (c->t->nacc == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->t->acc = xreallocarray(c->t->acc, c->cap, sizeof(*c->t->acc));
	}
	a.hash = xstrdup(hash);
	a.line = lineno;
	if (c->t->nacc == 0)
		strlcpy_(c->t->first, a.name, sizeof(c->t->first));
	c->t->acc[c->t->nacc++] = a;
}

static void
al_line(void *vctx, char *line, int lineno)
{
	struct acc_ctx *c = vctx;
	struct alias a;
	char *colon = strchr(line, ':'), *p, *tok, *save = NULL;
	int bad = 0;

	memset(&a, 0, sizeof(a));
	if (colon == NULL) {
		err_add(c->e, c->path, lineno, "expected alias: name, name, ...");
		return;
	}
	*colon = '\0';
	if (name_checked(trim(line), a.name, c->path, lineno, c->e, "alias") == -1)
		return;
	p = colon + 1;
	for (tok = strtok_r(p, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *t = trim(tok), nm[LIM_NAME + 1];

		if (*t == '\0')
			continue;
		if (*t == '/' || *t == '|' || *t == '"' || strncmp(t, ":include:", 9) == 0 ||
		    strchr(t, '@') != NULL || strchr(t, ' ') != NULL || strchr(t, '\t') != NULL) {
			err_add(c->e, c->path, lineno,
			    "alias %s: \"%s\" is not a local name (files, programs and "
			    "remote addresses are not allowed)", a.name, t);
			bad = 1;
			continue;
		}
		if (name_checked(t, nm, c->path, lineno, c->e, "alias target") == -1) {
			bad = 1;
			continue;
		}
		if (a.ntargets >= LIM_ALIAS_EXPANSION) {
			err_add(c->e, c->path, lineno, "alias %s: too many names", a.name);
			bad = 1;
			break;
		}
		a.targets = xreallocarray(a.targets, a.ntargets + 1, sizeof(*a.targets));
		strlcpy_(a.targets[a.ntargets++], nm, LIM_NAME + 1);
	}
	if (!bad && a.ntargets == 0) {
		err_add(c->e, c->path, lineno, "alias %s: no names", a.name);
		bad = 1;
	}
	for (size_t i = 0; !bad && i < c->t->nal; i++)
		if (strcmp(c->t->al[i].name, a.name) == 0) {
			err_add(c->e, c->path, lineno, "duplicate alias %s (first at line %d)",
			    a.name, c->t->al[i].line);
			bad = 1;
		}
	if (bad) {
		free(a.targets);
		return;
	}
	a.line = lineno;
	if (c->t->nal == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->t->al = xreallocarray(c->t->al, c->cap, sizeof(*c->t->al));
	}
	c->t->al[c->t->nal++] = a;
}

const struct account *
acct_find(const struct acctab *t, const char *name)
{
	struct account k = { 0 };

	if (t->nacc == 0 || strlen(name) > LIM_NAME)
		return NULL;
	strlcpy_(k.name, name, sizeof(k.name));
	return bsearch(&k, t->acc, t->nacc, sizeof(k), cmp_acc);
}

const struct alias *
alias_find(const struct acctab *t, const char *name)
{
	struct alias k = { 0 };

	if (t->nal == 0 || strlen(name) > LIM_NAME)
		return NULL;
	strlcpy_(k.name, name, sizeof(k.name));
	return bsearch(&k, t->al, t->nal, sizeof(k), cmp_al);
}

/* Depth-first expansion with loop detection.  color: 0 new, 1 on the
 * path, 2 done.  stamp[] dedups accounts per expansion. */
struct expand {
	struct acctab *t;
	struct errbuf *e;
	const char *path;
	unsigned char *color;
	unsigned *stamp;
	unsigned *al_stamp;
	unsigned gen;
	struct alias *root;
	int failed;
};

static void
expand_alias(struct expand *x, size_t ai, int depth)
{
	struct alias *a = &x->t->al[ai];

	if (x->failed)
		return;
	if (x->color[ai] == 1) {
		err_add(x->e, x->path, x->root->line, "alias loop: %s reaches %s again",
		    x->root->name, a->name);
		x->failed = 1;
		return;
	}
	if (x->al_stamp[ai] == x->gen)
		return;             /* reached twice without a loop: done */
	x->al_stamp[ai] = x->gen;
	x->color[ai] = 1;
	for (size_t i = 0; i < a->ntargets && !x->failed; i++) {
		const struct account *ac = acct_find(x->t, a->targets[i]);
		const struct alias *sub;

		if (ac != NULL) {
			size_t k = (size_t)(ac - x->t->acc);

			if (x->stamp[k] == x->gen)
				continue;
			x->stamp[k] = x->gen;
			if (x->root->nexp >= LIM_ALIAS_EXPANSION) {
				err_add(x->e, x->path, x->root->line,
				    "alias %s expands to more than %d accounts",
				    x->root->name, LIM_ALIAS_EXPANSION);
				x->failed = 1;
				break;
			}
			x->root->exp = xreallocarray(x->root->exp, x->root->nexp + 1,
			    sizeof(*x->root->exp));
			x->root->exp[x->root->nexp++] = k;
		} else if ((sub = alias_find(x->t, a->targets[i])) != NULL) {
			expand_alias(x, (size_t)(sub - x->t->al), depth + 1);
		} else {
			err_add(x->e, x->path, a->line, "alias %s: unknown name %s",
			    a->name, a->targets[i]);
			x->failed = 1;
		}
	}
	x->color[ai] = 0;
}

/* The dummy hashes for unknown names and unusable entries (pwcost.h). */
static void
make_dummy(struct acctab *t)
{
	const char **h = xcalloc(t->nacc ? t->nacc : 1, sizeof(*h));

	for (size_t i = 0; i < t->nacc; i++)
		h[i] = t->acc[i].hash;
	pwcost_build(&t->cost, h, t->nacc);
	free(h);
}

int
acctab_load(struct acctab *t, int accfd, const char *accpath, int alfd,
    const char *alpath, const char **why)
{
	static char err[ACCOUNTS_ERR_MAX_BYTES];
	const size_t errsz = sizeof(err);
	struct errbuf e = { err, errsz, 0, 0 };
	struct acc_ctx c = { t, &e, accpath, 0 };
	char *buf;
	size_t len;

	memset(t, 0, sizeof(*t));
	if (errsz)
		err[0] = '\0';
	if ((buf = slurp(accfd, &len)) == NULL) {
		err_add(&e, accpath, 0, "read: %s", strerror(errno));
		return fail_why(why, err);
	}
	each_line(buf, len, accpath, &e, acc_line, &c);
	explicit_bzero(buf, len);
	free(buf);
	if (t->nacc > 1)
		qsort(t->acc, t->nacc, sizeof(*t->acc), cmp_acc);
	if (alfd >= 0) {
		c.path = alpath;
		c.cap = 0;
		if ((buf = slurp(alfd, &len)) == NULL)
			err_add(&e, alpath, 0, "read: %s", strerror(errno));
		else {
			each_line(buf, len, alpath, &e, al_line, &c);
			free(buf);
		}
		if (t->nal > 1)
			qsort(t->al, t->nal, sizeof(*t->al), cmp_al);
		for (size_t i = 0; i < t->nal; i++)
			if (acct_find(t, t->al[i].name) != NULL)
				err_add(&e, alpath, t->al[i].line,
				    "alias %s has the name of an account", t->al[i].name);
		if (e.n == 0 && t->nal > 0) {
			struct expand x = { t, &e, alpath, NULL, NULL, NULL, 0, NULL, 0 };

			x.color = xcalloc(t->nal, 1);
			x.al_stamp = xcalloc(t->nal, sizeof(*x.al_stamp));
			x.stamp = xcalloc(t->nacc ? t->nacc : 1, sizeof(*x.stamp));
			for (size_t i = 0; i < t->nal; i++) {
				x.root = &t->al[i];
				x.gen++;
				x.failed = 0;
				expand_alias(&x, i, 0);
			}
			free(x.color);
			free(x.stamp);
			free(x.al_stamp);
		}
	}
	if (e.n > 0) {
		acctab_free(t);
		return fail_why(why, err);
	}
	make_dummy(t);
	return 0;
}

void
acctab_free(struct acctab *t)
{
	acctab_drop_hashes(t);
	free(t->acc);
	for (size_t i = 0; i < t->nal; i++) {
		free(t->al[i].targets);
		free(t->al[i].exp);
	}
	free(t->al);
	memset(t, 0, sizeof(*t));
}

void
acctab_drop_hashes(struct acctab *t)
{
	for (size_t i = 0; i < t->nacc; i++)
		if (t->acc[i].hash != NULL) {
			explicit_bzero(t->acc[i].hash, strlen(t->acc[i].hash));
			free(t->acc[i].hash);
			t->acc[i].hash = NULL;
		}
	pwcost_free(&t->cost);   /* the dummies are the auth process's business */
}

int
acct_resolve(const struct acctab *t, const char *name, const char **one,
    const struct alias **al)
{
	const struct account *a;

	*one = NULL;
	*al = NULL;
	if ((a = acct_find(t, name)) != NULL) {
		*one = a->name;
		return 0;
	}
	if ((*al = alias_find(t, name)) != NULL)
		return 0;
	return -1;
}
