/*
 * The configuration file parser (postern.conf(5)).
 * One directive a line, words separated by blanks, '#'
 * starts a comment that runs to the end of the line.  The parser is strict
 * and keeps going after an error, so that one run names every error in the
 * file as FILE:LINE.  Each key is a row in keywords[]: its type, the field
 * of struct conf it fills and, for numbers, the range it accepts.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../privsep/conf.h"
#include "../privsep/msg.h"
#include "../privsep/util.h"
#include "parse.h"

#define KIB  1024ULL
#define MIB  (1024ULL * KIB)
#define GIB  (1024ULL * MIB)
#define SEC  1000ULL            /* times are kept in milliseconds */
#define MIN  (60ULL * SEC)
#define HOUR (60ULL * MIN)

#define MAX_WORDS 8             /* words kept per line; more are "unexpected" */

enum ktype {
	KT_HOSTNAME,     /* a domain name */
	KT_DOMAIN,       /* repeatable: a local domain */
	KT_LISTEN,       /* repeatable: KIND ADDR:PORT */
	KT_PATH,         /* an absolute path */
	KT_USER,         /* a system user name */
	KT_ACCOUNT,      /* an account name (name_ok) */
	KT_FACILITY,     /* a syslog facility */
	KT_COUNT,        /* a plain number */
	KT_SIZE,         /* a number of bytes, K/M/G suffix */
	KT_TIME,         /* a duration, s/m/h suffix, kept in ms */
	KT_TIME_S,       /* a duration kept in seconds */
	KT_BOOL,         /* on/off, yes/no */
	KT_PLAINAUTH,    /* loopback | tls | always */
	KT_WORD,         /* any one word that fits the field */
	KT_SNI,          /* repeatable: DOMAIN CERT KEY (a per-domain certificate) */
	KT_CIDRS,        /* repeatable: NETWORK[/PREFIX] ..., or none */
	KT_GROUP,        /* a system group name */
	KT_MODE,         /* permission bits in octal, 0 to 0777 */
	KT_USES,         /* special uses: sent drafts trash junk archive, or none */
};

#define K_REPEAT  0x01   /* may appear more than once */
#define K_FILE    0x02   /* a path that must name an existing regular file */
#define K_JAIL    0x04   /* a path that must not be "/" */

struct keyword {
	const char *name;
	enum ktype type;
	size_t off;          /* the field in struct conf */
	size_t size;         /* its size: 1 bool, 4 uint32_t, 8 uint64_t, or a char array */
	uint64_t min, max;   /* numbers: the range, in bytes or ms for sizes and times */
	unsigned flags;
};

#define FIELD(f)  offsetof(struct conf, f), sizeof(((struct conf *)0)->f)
#define NOFIELD   0, 0

static const struct keyword keywords[] = {
	{ "hostname",          KT_HOSTNAME, FIELD(hostname), 0, 0, 0 },
	{ "domain",            KT_DOMAIN,   NOFIELD, 0, 0, K_REPEAT },
	{ "listen",            KT_LISTEN,   NOFIELD, 0, 0, K_REPEAT },
	{ "spool",             KT_PATH,     FIELD(spool), 0, 0, K_JAIL },
	{ "accounts",          KT_PATH,     FIELD(accounts), 0, 0, K_FILE },
	{ "aliases",           KT_PATH,     FIELD(aliases), 0, 0, K_FILE },
	{ "user",              KT_USER,     FIELD(user), 0, 0, 0 },
	{ "store-user",        KT_USER,     FIELD(store_user), 0, 0, 0 },
	{ "key-user",          KT_USER,     FIELD(key_user), 0, 0, 0 },
	{ "auth-user",         KT_USER,     FIELD(auth_user), 0, 0, 0 },
	{ "empty-dir",         KT_PATH,     FIELD(empty_dir), 0, 0, K_JAIL },
	{ "pidfile",           KT_PATH,     FIELD(pidfile), 0, 0, 0 },
	{ "postmaster",        KT_ACCOUNT,  FIELD(postmaster), 0, 0, 0 },
	{ "syslog-facility",   KT_FACILITY, FIELD(syslog_facility), 0, 0, 0 },

	{ "smtp-min-spare",           KT_COUNT, FIELD(pool[SVC_SMTP].min_spare), 0, 1000, 0 },
	{ "smtp-max",                 KT_COUNT, FIELD(pool[SVC_SMTP].max), 1, 1000, 0 },
	{ "smtp-sessions-per-worker", KT_COUNT, FIELD(pool[SVC_SMTP].sessions), 1, 1000000, 0 },
	{ "pop3-min-spare",           KT_COUNT, FIELD(pool[SVC_POP3].min_spare), 0, 1000, 0 },
	{ "pop3-max",                 KT_COUNT, FIELD(pool[SVC_POP3].max), 1, 1000, 0 },
	{ "pop3-sessions-per-worker", KT_COUNT, FIELD(pool[SVC_POP3].sessions), 1, 1000000, 0 },
	{ "imap-min-spare",           KT_COUNT, FIELD(pool[SVC_IMAP].min_spare), 0, 1000, 0 },
	{ "imap-max",                 KT_COUNT, FIELD(pool[SVC_IMAP].max), 1, 10000, 0 },
	{ "imap-sessions-per-worker", KT_COUNT, FIELD(pool[SVC_IMAP].sessions), 1, 1000000, 0 },

	{ "max-message-size",  KT_SIZE,  FIELD(max_message_size), KIB, 4 * GIB, 0 },
	{ "max-recipients",    KT_COUNT, FIELD(max_recipients), 1, 1000, 0 },
	{ "max-line-length",   KT_SIZE,  FIELD(max_line_length), 1000, 64 * KIB, 0 },
	{ "max-bad-commands",  KT_COUNT, FIELD(max_bad_commands), 1, 1000, 0 },
	{ "max-unknown-recipients", KT_COUNT, FIELD(max_unknown_recipients), 1, 100000, 0 },
	{ "vrfy",              KT_BOOL,  FIELD(vrfy), 0, 0, 0 },
	{ "expn",              KT_BOOL,  FIELD(expn), 0, 0, 0 },
	{ "verb",              KT_BOOL,  FIELD(verb), 0, 0, 0 },
	{ "smtp-timeout",      KT_TIME,  FIELD(smtp_timeout_ms), SEC, HOUR, 0 },
	{ "smtp-data-timeout", KT_TIME,  FIELD(smtp_data_timeout_ms), SEC, HOUR, 0 },
	{ "smtp-data-deadline", KT_TIME, FIELD(smtp_data_deadline_ms), SEC, 24 * HOUR, 0 },
	{ "smtp-command-deadline", KT_TIME, FIELD(smtp_command_deadline_ms), SEC, 24 * HOUR, 0 },

	{ "pop3-timeout",      KT_TIME,   FIELD(pop3_timeout_ms), SEC, HOUR, 0 },
	{ "max-auth-failures", KT_COUNT,  FIELD(max_auth_failures), 1, 100, 0 },
	{ "login-delay",       KT_TIME_S, FIELD(login_delay_s), 0, HOUR, 0 },
	{ "plaintext-auth",    KT_PLAINAUTH, FIELD(plaintext_auth), 0, 0, 0 },

	{ "imap-timeout",      KT_TIME,   FIELD(imap_timeout_ms), 30 * MIN, 24 * HOUR, 0 },
	{ "imap-max-sessions-per-ip", KT_COUNT, FIELD(imap_max_sessions_per_ip), 0, 100000, 0 },
	{ "max-sessions-per-user", KT_COUNT, FIELD(imap_max_sessions_per_user), 0, 10000, 0 },
	{ "imap-max-line-length", KT_SIZE, FIELD(imap_max_line_length),
	    IMAP_LINE_PRELOGIN_BYTES, CONN_INBUF_BYTES, 0 },

	{ "quota",             KT_SIZE,  FIELD(quota), 0, 1024 * GIB, 0 },
	{ "compact-min-size",  KT_SIZE,  FIELD(compact_min_size), 0, 1024 * GIB, 0 },

	/* IMAP folders: the store's folder tables */
	{ "imap-special-use",       KT_USES,  FIELD(imap_special_use), 0, 0, 0 },
	{ "max-folders",            KT_COUNT, FIELD(max_folders), 1, FOLDERS_CEIL_COUNT, 0 },
	{ "max-folder-name-length", KT_COUNT, FIELD(max_folder_name),
	  FOLDER_NAME_MIN_BYTES, FOLDER_NAME_CEIL_BYTES, 0 },
	{ "max-folder-depth",       KT_COUNT, FIELD(max_folder_depth), 1, FOLDER_DEPTH_CEIL_COUNT, 0 },
	{ "max-keywords",           KT_COUNT, FIELD(max_keywords), 1, FOLDER_KEYWORDS_MAX_COUNT, 0 },
	{ "pop3-sets-seen",         KT_BOOL,  FIELD(pop3_sets_seen), 0, 0, 0 },

	{ "max-sessions-per-ip",        KT_COUNT, FIELD(max_sessions_per_ip), 0, 10000, 0 },
	{ "max-conn-per-ip-per-minute", KT_COUNT, FIELD(max_conn_per_ip_per_min), 0, 100000, 0 },
	{ "limits-exempt",     KT_CIDRS, NOFIELD, 0, 0, K_REPEAT },
	{ "shutdown-grace",    KT_TIME,  FIELD(shutdown_grace_ms), 0, HOUR, 0 },

	{ "tls-cert",          KT_PATH,  FIELD(tls_cert), 0, 0, K_FILE },
	{ "tls-key",           KT_PATH,  FIELD(tls_key), 0, 0, K_FILE },
	{ "tls-ciphers",       KT_WORD,  FIELD(tls_ciphers), 0, 0, 0 },
	{ "tls-sni",           KT_SNI,   NOFIELD, 0, 0, K_REPEAT },

	{ "control-socket",    KT_PATH,  FIELD(control_socket), 0, 0, 0 },
	{ "control-group",     KT_GROUP, FIELD(control_group), 0, 0, 0 },
	{ "control-mode",      KT_MODE,  FIELD(control_mode), 0, 0777, 0 },
	{ "control-max-idle",  KT_TIME,  FIELD(control_max_idle_ms), SEC, 24 * HOUR, 0 },
};
#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

struct parser {
	const char *name;            /* the file, for messages */
	FILE *errs;
	struct conf *c;
	int line;                    /* the line being parsed */
	int nerr;
	int seen[NKEYWORDS];         /* line of the first occurrence, 0 = none */
	int domain_line[CONF_MAX_DOMAINS];
	int exempt_none;             /* line of "limits-exempt none", 0 = none */
};

static void perr(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
perr(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;

	p->nerr++;
	if (p->errs == NULL)
		return;
	fprintf(p->errs, "%s:%d: ", p->name, line);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

static const struct keyword *
keyword_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYWORDS; i++)
		if (strcmp(keywords[i].name, name) == 0)
			return &keywords[i];
	return NULL;
}

static int
keyword_index(const char *name)
{
	const struct keyword *k = keyword_find(name);

	return k ? (int)(k - keywords) : -1;
}

static int
seen_line(const struct parser *p, const char *name)
{
	int i = keyword_index(name);

	return i < 0 ? 0 : p->seen[i];
}

static void *
field(struct conf *c, const struct keyword *k)
{
	return (char *)c + k->off;
}

/* ---- values ---- */

/* Leading decimal digits into *v; the first byte after them, or NULL when
 * there is no digit or the number overflows. */
static const char *
scan_digits(const char *s, uint64_t *v)
{
	uint64_t n = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return NULL;
		n = n * 10 + d;
	}
	if (p == s)
		return NULL;
	*v = n;
	return p;
}

/* "25M" -> bytes.  0 ok, -1 not a size or overflow. */
static int
parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mult;
	const char *e = scan_digits(s, &v);

	if (e == NULL)
		return -1;
	switch (*e) {
	case '\0':           mult = 1; break;
	case 'K': case 'k':  mult = KIB; break;
	case 'M': case 'm':  mult = MIB; break;
	case 'G': case 'g':  mult = GIB; break;
	default:             return -1;
	}
	if (*e != '\0' && e[1] != '\0')
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/* "5m" -> milliseconds; a plain number is seconds.  0 ok, -1 bad. */
static int
parse_time(const char *s, uint64_t *out)
{
	uint64_t v, mult;
	const char *e = scan_digits(s, &v);

	if (e == NULL)
		return -1;
	switch (*e) {
	case '\0': case 's':  mult = SEC; break;
	case 'm':             mult = MIN; break;
	case 'h':             mult = HOUR; break;
	default:              return -1;
	}
	if (*e != '\0' && e[1] != '\0')
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static void
fmt_size(char *buf, size_t n, uint64_t v)
{
	if (v != 0 && v % GIB == 0)
		snprintf(buf, n, "%lluG", (unsigned long long)(v / GIB));
	else if (v != 0 && v % MIB == 0)
		snprintf(buf, n, "%lluM", (unsigned long long)(v / MIB));
	else if (v != 0 && v % KIB == 0)
		snprintf(buf, n, "%lluK", (unsigned long long)(v / KIB));
	else
		snprintf(buf, n, "%llu", (unsigned long long)v);
}

static void
fmt_time(char *buf, size_t n, uint64_t ms)
{
	if (ms != 0 && ms % HOUR == 0)
		snprintf(buf, n, "%lluh", (unsigned long long)(ms / HOUR));
	else if (ms != 0 && ms % MIN == 0)
		snprintf(buf, n, "%llum", (unsigned long long)(ms / MIN));
	else
		snprintf(buf, n, "%llus", (unsigned long long)(ms / SEC));
}

static void
store_number(struct conf *c, const struct keyword *k, uint64_t v)
{
	if (k->size == sizeof(uint64_t)) {
		uint64_t x = v;
		memcpy(field(c, k), &x, sizeof(x));
	} else {
		uint32_t x = (uint32_t)v;
		memcpy(field(c, k), &x, sizeof(x));
	}
}

/* A letter-digit-hyphen domain name: labels of 1..63, 253 at most. */
static int
domain_ok(const char *s)
{
	size_t len = strlen(s), label = 0, i;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.' || ch == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!(isascii(ch) && (isalnum(ch) || ch == '-')))
			return 0;
		if (label == 0 && ch == '-')
			return 0;
		label++;
	}
	return 1;
}

/* A system user name: [A-Za-z0-9._-], not starting with '-', not all digits. */
static int
user_ok(const char *s)
{
	size_t i;
	int alpha = 0;

	if (s[0] == '\0' || s[0] == '-')
		return 0;
	for (i = 0; s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!(isascii(ch) && (isalnum(ch) || ch == '.' || ch == '_' || ch == '-')))
			return 0;
		if (!isdigit(ch))
			alpha = 1;
	}
	return alpha;
}

/* No "." or ".." path components. */
static int
path_components_ok(const char *s)
{
	const char *p = s;

	while (*p) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		e = p;
		while (*e && *e != '/')
			e++;
		n = (size_t)(e - p);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p = e;
	}
	return 1;
}

/* ---- one handler per type ---- */

static void
do_string(struct parser *p, const struct keyword *k, const char *v)
{
	if (strlen(v) >= k->size) {
		perr(p, p->line, "%s: \"%s\" is too long (at most %zu characters)",
		    k->name, v, k->size - 1);
		return;
	}
	strlcpy_(field(p->c, k), v, k->size);
}

static void
do_hostname(struct parser *p, const struct keyword *k, const char *v)
{
	if (!domain_ok(v)) {
		perr(p, p->line, "%s: \"%s\" is not a valid domain name", k->name, v);
		return;
	}
	do_string(p, k, v);
}

static void
do_domain(struct parser *p, const struct keyword *k, const char *v)
{
	struct conf *c = p->c;
	char low[LIM_DOMAIN + 1];
	uint32_t i;

	if (!domain_ok(v)) {
		perr(p, p->line, "%s: \"%s\" is not a valid domain name", k->name, v);
		return;
	}
	for (i = 0; v[i]; i++)
		low[i] = (char)tolower((unsigned char)v[i]);
	low[i] = '\0';
	for (i = 0; i < c->ndomains; i++) {
		if (strcmp(c->domains[i], low) == 0) {
			perr(p, p->line, "%s: duplicate domain %s, first at line %d",
			    k->name, low, p->domain_line[i]);
			return;
		}
	}
	if (c->ndomains >= CONF_MAX_DOMAINS) {
		perr(p, p->line, "%s: too many domains (at most %d)", k->name,
		    CONF_MAX_DOMAINS);
		return;
	}
	strlcpy_(c->domains[c->ndomains], low, sizeof(c->domains[0]));
	p->domain_line[c->ndomains] = p->line;
	c->ndomains++;
}

static int
listen_kind_parse(const char *s, enum listen_kind *k)
{
	static const enum listen_kind all[] = { LK_SMTP, LK_POP3, LK_SMTPS, LK_POP3S,
	    LK_IMAP, LK_IMAPS };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, listen_kind_name(all[i])) == 0) {
			*k = all[i];
			return 0;
		}
	}
	return -1;
}

/* "1.2.3.4:25" or "[::1]:110" into *l.  0 ok; -1 and *why what is wrong. */
static int
listen_addr_parse(const char *s, struct listener *l, const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *h, *port, *end;
	uint64_t pn;
	int v6 = (s[0] == '[');

	if (v6) {
		h = s + 1;
		end = strchr(h, ']');
		if (end == NULL || end[1] != ':')
			return fail_why(why, "is not [IPv6]:PORT");
		port = end + 2;
	} else {
		h = s;
		end = strrchr(s, ':');
		if (end == NULL)
			return fail_why(why, "is not ADDRESS:PORT");
		if (memchr(s, ':', (size_t)(end - s)) != NULL)
			return fail_why(why, "is an IPv6 address without brackets ([::1]:PORT)");
		port = end + 1;
	}
	if ((size_t)(end - h) >= sizeof(host) || end == h)
		return fail_why(why, "is not a numeric IPv4 or IPv6 address");
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	if (parse_u64(port, 65535, &pn) == -1 || pn == 0)
		return fail_why(why, "has a bad port (1 to 65535)");

	memset(&l->ss, 0, sizeof(l->ss));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->ss;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return fail_why(why, "is not a numeric IPv6 address");
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)pn);
		l->sslen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&l->ss;
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return fail_why(why, "is not a numeric IPv4 address");
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)pn);
		l->sslen = sizeof(*sin);
	}
	if (strlen(s) >= sizeof(l->text))
		return fail_why(why, "is too long");
	strlcpy_(l->text, s, sizeof(l->text));
	return 0;
}

static int
same_sockaddr(const struct listener *a, const struct listener *b)
{
	return a->sslen == b->sslen && memcmp(&a->ss, &b->ss, a->sslen) == 0;
}

static void
do_listen(struct parser *p, const struct keyword *k, const char *kind, const char *addr)
{
	struct conf *c = p->c;
	struct listener l;
	const char *why;
	uint32_t i;

	memset(&l, 0, sizeof(l));
	if (listen_kind_parse(kind, &l.kind) == -1) {
		perr(p, p->line, "%s: unknown kind \"%s\" (smtp, pop3, smtps, pop3s, imap or imaps)",
		    k->name, kind);
		return;
	}
	if (listen_addr_parse(addr, &l, &why) == -1) {
		perr(p, p->line, "%s: \"%s\" %s", k->name, addr, why);
		return;
	}
	l.line = p->line;
	for (i = 0; i < c->nlisten; i++) {
		if (same_sockaddr(&c->listen[i], &l)) {
			perr(p, p->line, "%s: duplicate listener %s, first at line %d",
			    k->name, addr, c->listen[i].line);
			return;
		}
	}
	if (c->nlisten >= CONF_MAX_LISTEN) {
		perr(p, p->line, "%s: too many listeners (at most %d)", k->name,
		    CONF_MAX_LISTEN);
		return;
	}
	c->listen[c->nlisten++] = l;
}

/* A tls-sni file: absolute, an existing regular file, fits.  0 ok. */
static int
sni_file_ok(struct parser *p, const struct keyword *k, const char *v)
{
	struct stat st;

	if (v[0] != '/') {
		perr(p, p->line, "%s: \"%s\" is not an absolute path", k->name, v);
		return -1;
	}
	if (strlen(v) >= CONF_PATH) {
		perr(p, p->line, "%s: path too long (at most %d characters)", k->name,
		    CONF_PATH - 1);
		return -1;
	}
	if (stat(v, &st) == -1) {
		perr(p, p->line, "%s: %s: %s", k->name, v, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		perr(p, p->line, "%s: %s is not a regular file", k->name, v);
		return -1;
	}
	return 0;
}

/* tls-sni DOMAIN CERT KEY: the certificate for clients that ask for DOMAIN
 * (or, for "*.example.org", any one label below it) by SNI. */
static void
do_sni(struct parser *p, const struct keyword *k, const char *name,
    const char *cert, const char *key)
{
	struct conf *c = p->c;
	struct tls_sni *t;
	const char *base = strncmp(name, "*.", 2) == 0 ? name + 2 : name;
	uint32_t i;

	if (!domain_ok(base) || strlen(name) > LIM_DOMAIN) {
		perr(p, p->line, "%s: \"%s\" is not a valid domain name", k->name, name);
		return;
	}
	if (sni_file_ok(p, k, cert) == -1 || sni_file_ok(p, k, key) == -1)
		return;
	if (c->nsni >= CONF_MAX_SNI) {
		perr(p, p->line, "%s: too many (at most %d)", k->name, CONF_MAX_SNI);
		return;
	}
	t = &c->sni[c->nsni];
	for (i = 0; name[i]; i++)
		t->name[i] = (char)tolower((unsigned char)name[i]);
	t->name[i] = '\0';
	for (i = 0; i < c->nsni; i++)
		if (strcmp(c->sni[i].name, t->name) == 0) {
			perr(p, p->line, "%s: duplicate %s, first at line %d", k->name,
			    t->name, c->sni[i].line);
			memset(t, 0, sizeof(*t));
			return;
		}
	strlcpy_(t->cert, cert, sizeof(t->cert));
	strlcpy_(t->key, key, sizeof(t->key));
	t->line = p->line;
	c->nsni++;
}

static void
do_path(struct parser *p, const struct keyword *k, const char *v)
{
	struct stat st;

	if (v[0] != '/') {
		perr(p, p->line, "%s: \"%s\" is not an absolute path", k->name, v);
		return;
	}
	if (!path_components_ok(v)) {
		perr(p, p->line, "%s: \"%s\" has a . or .. component", k->name, v);
		return;
	}
	if ((k->flags & K_JAIL) && v[strspn(v, "/")] == '\0') {
		perr(p, p->line, "%s: \"%s\" cannot be the root directory", k->name, v);
		return;
	}
	if (strlen(v) >= k->size) {
		perr(p, p->line, "%s: path too long (at most %zu characters)",
		    k->name, k->size - 1);
		return;
	}
	if (k->flags & K_FILE) {
		if (stat(v, &st) == -1) {
			perr(p, p->line, "%s: %s: %s", k->name, v, strerror(errno));
			return;
		}
		if (!S_ISREG(st.st_mode)) {
			perr(p, p->line, "%s: %s is not a regular file", k->name, v);
			return;
		}
	}
	strlcpy_(field(p->c, k), v, k->size);
}

static void
do_user(struct parser *p, const struct keyword *k, const char *v)
{
	if (strlen(v) >= k->size) {
		perr(p, p->line, "%s: name \"%s\" too long (at most %zu characters)",
		    k->name, v, k->size - 1);
		return;
	}
	if (!user_ok(v)) {
		perr(p, p->line, "%s: \"%s\" is not a valid user name", k->name, v);
		return;
	}
	if (strcmp(v, "root") == 0) {
		perr(p, p->line, "%s: cannot be root", k->name);
		return;
	}
	strlcpy_(field(p->c, k), v, k->size);
}

/* A group: the same characters as a user name; root is allowed.  Whether
 * it exists is checked by posternd -n and at start (ctl_socket_check). */
static void
do_group(struct parser *p, const struct keyword *k, const char *v)
{
	if (strlen(v) >= k->size) {
		perr(p, p->line, "%s: name \"%s\" too long (at most %zu characters)",
		    k->name, v, k->size - 1);
		return;
	}
	if (!user_ok(v)) {
		perr(p, p->line, "%s: \"%s\" is not a valid group name", k->name, v);
		return;
	}
	strlcpy_(field(p->c, k), v, k->size);
}

/* Permission bits in octal ("0660", "660").  Writable by others is
 * refused: connecting to a Unix socket needs write permission, so o+w
 * would let every local user stop the daemon. */
static void
do_mode(struct parser *p, const struct keyword *k, const char *v)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < 5 && v[i] != '\0'; i++) {
		if (v[i] < '0' || v[i] > '7')
			break;
		n = n * 8 + (uint64_t)(v[i] - '0');
	}
	if (i == 0 || v[i] != '\0' || n > k->max) {
		perr(p, p->line, "%s: \"%s\" is not an octal mode (0 to 0777)", k->name, v);
		return;
	}
	if (n & 0002) {
		perr(p, p->line, "%s: %s lets every local user control the daemon; "
		    "use control-group instead", k->name, v);
		return;
	}
	store_number(p->c, k, n);
}

static void
do_account(struct parser *p, const struct keyword *k, const char *v)
{
	if (strlen(v) >= k->size) {
		perr(p, p->line, "%s: name \"%s\" too long (at most %zu characters)",
		    k->name, v, k->size - 1);
		return;
	}
	if (!name_ok(v)) {
		perr(p, p->line, "%s: \"%s\" is not a valid account name", k->name, v);
		return;
	}
	strlcpy_(field(p->c, k), v, k->size);
}

static void
do_facility(struct parser *p, const struct keyword *k, const char *v)
{
	static const struct { const char *name; int fac; } fac[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < sizeof(fac) / sizeof(fac[0]); i++) {
		if (strcmp(v, fac[i].name) == 0) {
			p->c->syslog_facility = fac[i].fac;
			return;
		}
	}
	perr(p, p->line, "%s: unknown facility \"%s\" (mail, daemon, local0 to local7)",
	    k->name, v);
}

static void
do_count(struct parser *p, const struct keyword *k, const char *v)
{
	uint64_t n;
	const char *e = scan_digits(v, &n);

	if (e == NULL || *e != '\0') {
		perr(p, p->line, "%s: \"%s\" is not a number", k->name, v);
		return;
	}
	if (n < k->min || n > k->max) {
		perr(p, p->line, "%s: %s is out of range (%llu to %llu)", k->name, v,
		    (unsigned long long)k->min, (unsigned long long)k->max);
		return;
	}
	store_number(p->c, k, n);
}

static void
do_size(struct parser *p, const struct keyword *k, const char *v)
{
	char lo[32], hi[32];
	uint64_t n;

	if (parse_size(v, &n) == -1) {
		perr(p, p->line, "%s: \"%s\" is not a size (a number with an optional "
		    "K, M or G suffix)", k->name, v);
		return;
	}
	if (n < k->min || n > k->max) {
		fmt_size(lo, sizeof(lo), k->min);
		fmt_size(hi, sizeof(hi), k->max);
		perr(p, p->line, "%s: %s is out of range (%s to %s)", k->name, v, lo, hi);
		return;
	}
	store_number(p->c, k, n);
}

static void
do_time(struct parser *p, const struct keyword *k, const char *v)
{
	char lo[32], hi[32];
	uint64_t ms;

	if (parse_time(v, &ms) == -1) {
		perr(p, p->line, "%s: \"%s\" is not a time (a number with an optional "
		    "s, m or h suffix)", k->name, v);
		return;
	}
	if (ms < k->min || ms > k->max) {
		fmt_time(lo, sizeof(lo), k->min);
		fmt_time(hi, sizeof(hi), k->max);
		perr(p, p->line, "%s: %s is out of range (%s to %s)", k->name, v, lo, hi);
		return;
	}
	store_number(p->c, k, k->type == KT_TIME_S ? ms / SEC : ms);
}

static void
do_bool(struct parser *p, const struct keyword *k, const char *v)
{
	bool b;

	if (strcmp(v, "on") == 0 || strcmp(v, "yes") == 0)
		b = true;
	else if (strcmp(v, "off") == 0 || strcmp(v, "no") == 0)
		b = false;
	else {
		perr(p, p->line, "%s: \"%s\" is not on or off", k->name, v);
		return;
	}
	memcpy(field(p->c, k), &b, sizeof(b));
}

static void
do_plainauth(struct parser *p, const struct keyword *k, const char *v)
{
	if (strcmp(v, "loopback") == 0)
		p->c->plaintext_auth = PA_LOOPBACK;
	else if (strcmp(v, "tls") == 0)
		p->c->plaintext_auth = PA_TLS;
	else if (strcmp(v, "always") == 0)
		p->c->plaintext_auth = PA_ALWAYS;
	else
		perr(p, p->line, "%s: \"%s\" is not loopback, tls or always", k->name, v);
}

/* "10.0.0.0/8", "192.0.2.7" (= /32), "2001:db8::/32", "::1" (= /128).
 * 0 ok; -1 and *why what is wrong. */
static int
cidr_parse(const char *s, struct cidr *out, const char **why)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max, bits;
	uint64_t pfx;

	if (hlen == 0 || hlen >= sizeof(host))
		return fail_why(why, "is not an IPv4 or IPv6 address");
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else
		return fail_why(why, "is not an IPv4 or IPv6 address");
	pfx = max;
	if (slash != NULL && (parse_u64(slash + 1, max, &pfx) == -1 || slash[1] == '\0'))
		return fail_why(why, max == 32 ? "has a bad prefix length (0 to 32)" :
		    "has a bad prefix length (0 to 128)");
	out->prefix = (uint8_t)pfx;
	for (bits = out->prefix; bits < max; bits++)
		if (out->addr[bits / 8] & (0x80 >> (bits % 8)))
			return fail_why(why, "has bits set beyond the prefix length");
	return 0;
}

/* limits-exempt NETWORK ...: the first line replaces the default
 * (loopback); "none" alone empties the list. */
static void
do_cidrs(struct parser *p, const struct keyword *k, char **v, int n, int first)
{
	struct conf *c = p->c;
	struct cidr x;
	const char *why;
	uint32_t j;

	if (first)
		c->nexempt = 0;
	if (strcmp(v[0], "none") == 0) {
		if (n > 1)
			perr(p, p->line, "%s: none stands alone (no networks after it)", k->name);
		else if (!first)
			perr(p, p->line, "%s: none, but networks are listed at line %d",
			    k->name, p->seen[keyword_index(k->name)]);
		else
			p->exempt_none = p->line;
		return;
	}
	if (p->exempt_none != 0) {
		perr(p, p->line, "%s: networks, but line %d says none", k->name,
		    p->exempt_none);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (cidr_parse(v[i], &x, &why) == -1) {
			perr(p, p->line, "%s: \"%s\" %s", k->name, v[i], why);
			continue;
		}
		for (j = 0; j < c->nexempt; j++)
			if (memcmp(&c->exempt[j], &x, sizeof(x)) == 0)
				break;
		if (j < c->nexempt)
			continue;   /* listed twice: harmless */
		if (c->nexempt >= CONF_MAX_EXEMPT) {
			perr(p, p->line, "%s: too many networks (at most %d)", k->name,
			    CONF_MAX_EXEMPT);
			return;
		}
		c->exempt[c->nexempt++] = x;
	}
}

/* imap-special-use WORD ...: the special-use folders (RFC 6154) every
 * account gets at its first IMAP login; "none" alone for none. */
static void
do_uses(struct parser *p, const struct keyword *k, char **v, int n)
{
	static const struct { const char *name; uint32_t bit; } uses[] = {
		{ "sent", FU_SENT }, { "drafts", FU_DRAFTS }, { "trash", FU_TRASH },
		{ "junk", FU_JUNK }, { "archive", FU_ARCHIVE },
	};
	uint32_t set = 0;

	if (strcmp(v[0], "none") == 0) {
		if (n > 1)
			perr(p, p->line, "%s: none stands alone (no uses after it)", k->name);
		else
			p->c->imap_special_use = 0;
		return;
	}
	for (int i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < sizeof(uses) / sizeof(uses[0]); j++)
			if (strcmp(v[i], uses[j].name) == 0)
				break;
		if (j == sizeof(uses) / sizeof(uses[0])) {
			perr(p, p->line, "%s: unknown use \"%s\" (sent, drafts, trash, junk, "
			    "archive, or none)", k->name, v[i]);
			return;
		}
		if (set & uses[j].bit) {
			perr(p, p->line, "%s: %s is listed twice", k->name, v[i]);
			return;
		}
		set |= uses[j].bit;
	}
	p->c->imap_special_use = set;
}

/* ---- lines ---- */

static void
directive(struct parser *p, char **w, int nw)
{
	const struct keyword *k = keyword_find(w[0]);
	int idx, want;

	if (k == NULL) {
		perr(p, p->line, "unknown keyword \"%s\"", w[0]);
		return;
	}
	idx = (int)(k - keywords);
	if (!(k->flags & K_REPEAT) && p->seen[idx] != 0) {
		perr(p, p->line, "%s: already set at line %d", k->name, p->seen[idx]);
		return;
	}
	if (p->seen[idx] == 0)
		p->seen[idx] = p->line;

	if (k->type == KT_CIDRS) {
		if (nw < 2)
			perr(p, p->line, "%s: missing value (%s NETWORK[/PREFIX] ..., or "
			    "none)", k->name, k->name);
		else if (nw > MAX_WORDS)
			perr(p, p->line, "%s: at most %d networks on one line (repeat the key)",
			    k->name, MAX_WORDS - 1);
		else
			do_cidrs(p, k, w + 1, nw - 1, p->seen[idx] == p->line);
		return;
	}
	if (k->type == KT_USES) {
		if (nw < 2)
			perr(p, p->line, "%s: missing value (%s USE ..., or none)", k->name,
			    k->name);
		else if (nw > MAX_WORDS)
			perr(p, p->line, "%s: at most %d uses", k->name, MAX_WORDS - 1);
		else
			do_uses(p, k, w + 1, nw - 1);
		return;
	}
	want = (k->type == KT_LISTEN) ? 3 : (k->type == KT_SNI) ? 4 : 2;
	if (nw < want) {
		if (k->type == KT_LISTEN)
			perr(p, p->line, "%s: missing value (listen KIND ADDRESS:PORT)", k->name);
		else if (k->type == KT_SNI)
			perr(p, p->line, "%s: missing value (tls-sni DOMAIN CERT KEY)", k->name);
		else
			perr(p, p->line, "%s: missing value", k->name);
		return;
	}
	if (nw > want) {
		perr(p, p->line, "%s: unexpected \"%s\" after the value", k->name, w[want]);
		return;
	}

	switch (k->type) {
	case KT_HOSTNAME:  do_hostname(p, k, w[1]); break;
	case KT_DOMAIN:    do_domain(p, k, w[1]); break;
	case KT_LISTEN:    do_listen(p, k, w[1], w[2]); break;
	case KT_PATH:      do_path(p, k, w[1]); break;
	case KT_USER:      do_user(p, k, w[1]); break;
	case KT_ACCOUNT:   do_account(p, k, w[1]); break;
	case KT_FACILITY:  do_facility(p, k, w[1]); break;
	case KT_COUNT:     do_count(p, k, w[1]); break;
	case KT_SIZE:      do_size(p, k, w[1]); break;
	case KT_TIME:
	case KT_TIME_S:    do_time(p, k, w[1]); break;
	case KT_BOOL:      do_bool(p, k, w[1]); break;
	case KT_PLAINAUTH: do_plainauth(p, k, w[1]); break;
	case KT_WORD:      do_string(p, k, w[1]); break;
	case KT_SNI:       do_sni(p, k, w[1], w[2], w[3]); break;
	case KT_CIDRS:
	case KT_USES:      break;   /* above */
	case KT_GROUP:     do_group(p, k, w[1]); break;
	case KT_MODE:      do_mode(p, k, w[1]); break;
	}
}

/* One line (without its LF): strip the comment, check the bytes, split. */
static void
parse_line(struct parser *p, const char *s, size_t len)
{
	char buf[CONF_LINE_MAX_BYTES];
	char *w[MAX_WORDS + 1];
	int nw = 0;
	size_t i;
	char *q;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len >= sizeof(buf)) {
		perr(p, p->line, "line too long (at most %d characters)", CONF_LINE_MAX_BYTES - 1);
		return;
	}
	for (i = 0; i < len && s[i] != '#'; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\0') {
			perr(p, p->line, "NUL byte in line");
			return;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			perr(p, p->line, "control character 0x%02x in line", ch);
			return;
		}
		buf[i] = (char)ch;
	}
	buf[i] = '\0';

	for (q = buf; ; ) {
		q += strspn(q, " \t");
		if (*q == '\0')
			break;
		if (nw <= MAX_WORDS)
			w[nw] = q;
		nw++;
		q += strcspn(q, " \t");
		if (*q != '\0')
			*q++ = '\0';
	}
	if (nw == 0)
		return;
	directive(p, w, nw > MAX_WORDS ? MAX_WORDS + 1 : nw);
}

/* ---- the file as a whole ---- */

static void
check_file_default(struct parser *p, const char *key, const char *path)
{
	struct stat st;

	if (seen_line(p, key) != 0)
		return;
	if (stat(path, &st) == -1)
		perr(p, 0, "%s: %s (the default): %s", key, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		perr(p, 0, "%s: %s (the default) is not a regular file", key, path);
}

static int
later(int a, int b)
{
	return a > b ? a : b;
}

static void
check_pool(struct parser *p, const char *svc, const struct pool_conf *pc)
{
	char kmin[32], kmax[32];

	snprintf(kmin, sizeof(kmin), "%s-min-spare", svc);
	snprintf(kmax, sizeof(kmax), "%s-max", svc);
	if (pc->min_spare > pc->max)
		perr(p, later(seen_line(p, kmin), seen_line(p, kmax)),
		    "%s %u is larger than %s %u", kmin, pc->min_spare, kmax, pc->max);
}

static void
check_whole(struct parser *p)
{
	struct conf *c = p->c;
	int lc = seen_line(p, "tls-cert"), lk = seen_line(p, "tls-key");
	bool tls = c->tls_cert[0] != '\0' && c->tls_key[0] != '\0';
	uint32_t i;

	if (seen_line(p, "domain") == 0)
		perr(p, 0, "no domain: at least one \"domain\" line is required");
	if (seen_line(p, "listen") == 0)
		perr(p, 0, "no listen: at least one \"listen\" line is required");
	check_file_default(p, "accounts", c->accounts);

	c->spool_line = seen_line(p, "spool");   /* conf_check_dirs names these */
	c->empty_dir_line = seen_line(p, "empty-dir");
	c->tls_cert_line = lc;   /* the keyholder names these in its errors */
	c->tls_key_line = lk;
	c->control_group_line = seen_line(p, "control-group");
	if (c->nsni > 0 && !tls)
		perr(p, c->sni[0].line, "tls-sni: needs tls-cert and tls-key (the default "
		    "certificate)");
	if (lc != 0 && lk == 0)
		perr(p, lc, "tls-cert: tls-key is missing");
	if (lk != 0 && lc == 0)
		perr(p, lk, "tls-key: tls-cert is missing");
	for (i = 0; i < c->nlisten; i++)
		if (listen_is_tls(c->listen[i].kind) && !tls && lc == 0 && lk == 0)
			perr(p, c->listen[i].line, "listen: %s %s needs tls-cert and tls-key",
			    listen_kind_name(c->listen[i].kind), c->listen[i].text);

	{
		/* INBOX and every special-use folder must fit */
		uint32_t need = 1 + (uint32_t)__builtin_popcount(c->imap_special_use);

		if (c->max_folders < need)
			perr(p, later(seen_line(p, "max-folders"), seen_line(p, "imap-special-use")),
			    "max-folders: %u leaves no room for INBOX and the %u imap-special-use "
			    "folders (at least %u)", c->max_folders, need - 1, need);
	}
	check_pool(p, "smtp", &c->pool[SVC_SMTP]);
	check_pool(p, "pop3", &c->pool[SVC_POP3]);
	check_pool(p, "imap", &c->pool[SVC_IMAP]);

	if (strcmp(c->user, c->store_user) == 0)
		perr(p, later(seen_line(p, "user"), seen_line(p, "store-user")),
		    "store-user: %s is also the workers' user (the store needs its own uid)",
		    c->store_user);
	if (strcmp(c->key_user, c->user) == 0 || strcmp(c->key_user, c->store_user) == 0)
		perr(p, seen_line(p, "key-user"),
		    "key-user: %s must differ from user and store-user", c->key_user);
	if (strcmp(c->auth_user, c->user) == 0 || strcmp(c->auth_user, c->store_user) == 0 ||
	    strcmp(c->auth_user, c->key_user) == 0)
		perr(p, later(seen_line(p, "auth-user"), later(seen_line(p, "key-user"),
		    later(seen_line(p, "user"), seen_line(p, "store-user")))),
		    "auth-user: %s must differ from user, store-user and key-user "
		    "(the password hashes have a uid of their own)", c->auth_user);
	if (strcmp(c->spool, c->empty_dir) == 0)
		perr(p, later(seen_line(p, "spool"), seen_line(p, "empty-dir")),
		    "empty-dir: %s is also the spool", c->empty_dir);
}

/* One directory the daemon needs: there, or creatable by one mkdir. */
static int
check_dir(const struct conf *c, FILE *errs, const char *key, const char *path,
    int line)
{
	char parent[CONF_PATH], *slash;
	const char *dflt = line == 0 ? " (the default)" : "", *why;
	struct stat st;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		fprintf(errs, "%s:%d: %s: %s%s is not a directory\n", c->path, line,
		    key, path, dflt);
		return 1;
	}
	if (errno != ENOENT) {
		fprintf(errs, "%s:%d: %s: %s%s: %s\n", c->path, line, key, path, dflt,
		    strerror(errno));
		return 1;
	}
	strlcpy_(parent, path, sizeof(parent));
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' && slash != parent)
		*slash = '\0';              /* "/a/b/" is /a/b */
	if ((slash = strrchr(parent, '/')) == NULL)
		return 0;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(parent, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;            /* posternd creates the last component */
		why = "is not a directory";
	} else
		why = errno == ENOENT ? "does not exist" : strerror(errno);
	fprintf(errs, "%s:%d: %s: %s%s: its parent %s %s (posternd creates %s, not its "
	    "parents: make install, or install -d -m 0755 %s)\n", c->path, line, key,
	    path, dflt, parent, why, key, parent);
	return 1;
}

int
conf_check_dirs(const struct conf *c, FILE *errs, bool as_root)
{
	int n = check_dir(c, errs, "spool", c->spool, c->spool_line);

	if (as_root)   /* the jail: unused when not started as root */
		n += check_dir(c, errs, "empty-dir", c->empty_dir, c->empty_dir_line);
	return n;
}

int
conf_parse_buf(const char *name, const char *text, size_t len, struct conf *c,
    FILE *errs)
{
	struct parser p;
	size_t pos = 0;

	conf_defaults(c);
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.errs = errs;
	p.c = c;
	if (strlen(name) >= sizeof(c->path))
		perr(&p, 0, "file name too long");
	else
		strlcpy_(c->path, name, sizeof(c->path));

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line++;
		parse_line(&p, text + pos, n);
		pos += n + (nl ? 1 : 0);
	}
	check_whole(&p);
	return p.nerr;
}

int
conf_parse_file(const char *path, struct conf *c)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	int fd, n;

	conf_defaults(c);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		fprintf(stderr, "%s:0: cannot open: %s\n", path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s:0: not a regular file\n", path);
		close(fd);
		return 1;
	}
	buf = xmalloc(CONF_FILE_MAX_BYTES + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, CONF_FILE_MAX_BYTES + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			fprintf(stderr, "%s:0: read: %s\n", path, strerror(errno));
			free(buf);
			close(fd);
			return 1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CONF_FILE_MAX_BYTES) {
			fprintf(stderr, "%s:0: file too large (more than %d bytes)\n",
			    path, CONF_FILE_MAX_BYTES);
			free(buf);
			close(fd);
			return 1;
		}
	}
	close(fd);
	n = conf_parse_buf(path, buf, len, c, stderr);
	free(buf);
	return n;
}
