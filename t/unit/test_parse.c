/*
 * The config parser (master/parse.c): good files give the right values,
 * each bad line gives one "FILE:LINE: message" naming the key and value,
 * and a file with several errors reports every one of them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "master/parse.h"
#include "privsep/conf.h"
#include "privsep/msg.h"
#include "privsep/util.h"
#include "t/unit/check.h"

static char acc[] = "/tmp/postern-acc-XXXXXX";       /* a regular file */
static char dir[] = "/tmp/postern-dir-XXXXXX";       /* a directory */

/* Replaces @ACC@ and @DIR@; the result is malloc'ed. */
static char *
expand(const char *t)
{
	size_t n = strlen(t) * 2 + 4096, o = 0;
	char *out = malloc(n);

	while (*t && o + 128 < n) {
		if (strncmp(t, "@ACC@", 5) == 0) {
			o += (size_t)snprintf(out + o, n - o, "%s", acc);
			t += 5;
		} else if (strncmp(t, "@DIR@", 5) == 0) {
			o += (size_t)snprintf(out + o, n - o, "%s", dir);
			t += 5;
		} else
			out[o++] = *t++;
	}
	out[o] = '\0';
	return out;
}

/* Parses text as "t.conf"; the messages land in *errs (malloc'ed). */
static int
parse(const char *text, struct conf *c, char **errs)
{
	char *x = expand(text);
	size_t len;
	FILE *f = open_memstream(errs, &len);
	int n = conf_parse_buf("t.conf", x, strlen(x), c, f);

	fclose(f);
	free(x);
	return n;
}

#define BASE "domain example.org\nlisten smtp 127.0.0.1:2525\naccounts @ACC@\n"

static void
good_minimal(void)
{
	struct conf c;
	char *e;
	int n = parse(BASE, &c, &e);

	CHECK(n == 0 && e[0] == '\0', "minimal file: no errors (%s)", e);
	CHECK(c.ndomains == 1 && strcmp(c.domains[0], "example.org") == 0, "one domain");
	CHECK(c.nlisten == 1 && c.listen[0].kind == LK_SMTP && c.listen[0].line == 2,
	    "one listener at line 2");
	CHECK(c.max_message_size == 25u * 1024 * 1024, "default max-message-size 25M");
	CHECK(c.max_line_length == 65536 && c.max_recipients == 100, "default line/recipients");
	CHECK(c.pool[SVC_SMTP].min_spare == 2 && c.pool[SVC_SMTP].max == 50 &&
	    c.pool[SVC_SMTP].sessions == 100, "default smtp pool");
	CHECK(c.pool[SVC_POP3].sessions == 1, "default pop3 sessions per worker 1");
	CHECK(c.smtp_timeout_ms == 300000 && c.smtp_data_timeout_ms == 180000 &&
	    c.pop3_timeout_ms == 600000 && c.shutdown_grace_ms == 10000, "default timeouts");
	CHECK(!c.vrfy && !c.expn && c.verb, "default vrfy off, expn off, verb on");
	CHECK(strcmp(c.user, "_postern") == 0 && strcmp(c.store_user, "_postern-store") == 0 &&
	    strcmp(c.key_user, "_postern-key") == 0 && strcmp(c.auth_user, "_postern-auth") == 0,
	    "default users");
	CHECK(strcmp(c.spool, "/var/spool/postern") == 0 &&
	    strcmp(c.empty_dir, "/var/lib/postern/empty") == 0 &&
	    strcmp(c.pidfile, "/run/postern.pid") == 0, "default paths");
	CHECK(c.syslog_facility == LOG_MAIL && c.plaintext_auth == PA_LOOPBACK &&
	    c.quota == 0 && c.max_auth_failures == 3 && c.login_delay_s == 0, "other defaults");
	CHECK(c.max_sessions_per_ip == 25 && c.max_conn_per_ip_per_min == 600,
	    "default per-address limits: 25 sessions, 600 connections a minute");
	CHECK(c.nexempt == 2 && c.exempt[0].family == AF_INET && c.exempt[0].prefix == 8 &&
	    c.exempt[0].addr[0] == 127 && c.exempt[1].family == AF_INET6 &&
	    c.exempt[1].prefix == 128 && c.exempt[1].addr[15] == 1,
	    "default limits-exempt 127.0.0.0/8 ::1");
	CHECK(c.hostname[0] != '\0', "hostname defaults to gethostname (%s)", c.hostname);
	CHECK(strcmp(c.path, "t.conf") == 0, "path recorded");
	CHECK(conf_wire_ok(&c), "conf_wire_ok on a parsed file");
	free(e);
}

static const char full[] =
    "# a full file\n"
    "hostname   Mail.Example.ORG   # trailing comment\n"
    "\n"
    "domain\tExample.Org\n"
    "domain example.net\r\n"
    "listen smtp 127.0.0.1:2525\n"
    "listen pop3 [::1]:1110\n"
    "listen smtps 0.0.0.0:465\n"
    "listen pop3s [::]:995\n"
    "spool /var/tmp/spool\n"
    "accounts @ACC@\n"
    "aliases @ACC@\n"
    "user u1\n"
    "store-user u2\n"
    "key-user u3\n"
    "auth-user u4\n"
    "empty-dir /var/empty/postern\n"
    "pidfile /tmp/p.pid\n"
    "postmaster alice\n"
    "syslog-facility local3\n"
    "smtp-min-spare 1\n"
    "smtp-max 7\n"
    "smtp-sessions-per-worker 9\n"
    "pop3-min-spare 0\n"
    "pop3-max 3\n"
    "pop3-sessions-per-worker 2\n"
    "max-message-size 10M\n"
    "max-recipients 42\n"
    "max-line-length 2k\n"
    "max-bad-commands 5\n"
    "max-unknown-recipients 7\n"
    "smtp-command-deadline 20m\n"
    "vrfy yes\n"
    "expn on\n"
    "verb off\n"
    "smtp-timeout 90\n"
    "smtp-data-timeout 2m\n"
    "pop3-timeout 1h\n"
    "max-auth-failures 4\n"
    "login-delay 30s\n"
    "plaintext-auth tls\n"
    "quota 1G\n"
    "max-sessions-per-ip 0\n"
    "max-conn-per-ip-per-minute 120\n"
    "shutdown-grace 0\n"
    "tls-cert @ACC@\n"
    "tls-key @ACC@\n"
    "tls-ciphers HIGH:!aNULL\n";

static void
good_full(void)
{
	struct conf c;
	char *e;
	int n = parse(full, &c, &e);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&c.listen[0].ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&c.listen[1].ss;

	CHECK(n == 0, "full file: no errors (%s)", e);
	CHECK(strcmp(c.hostname, "Mail.Example.ORG") == 0, "hostname kept as written");
	CHECK(c.ndomains == 2 && strcmp(c.domains[0], "example.org") == 0 &&
	    strcmp(c.domains[1], "example.net") == 0, "domains lower case, CRLF tolerated");
	CHECK(conf_is_local_domain(&c, "EXAMPLE.net") && !conf_is_local_domain(&c, "example.com"),
	    "conf_is_local_domain ignores case");
	CHECK(c.nlisten == 4, "four listeners");
	CHECK(sin->sin_family == AF_INET && ntohs(sin->sin_port) == 2525 &&
	    sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && c.listen[0].sslen == sizeof(*sin),
	    "IPv4 listener 127.0.0.1:2525");
	CHECK(sin6->sin6_family == AF_INET6 && ntohs(sin6->sin6_port) == 1110 &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr) && c.listen[1].kind == LK_POP3,
	    "IPv6 listener [::1]:1110");
	CHECK(strcmp(c.listen[1].text, "[::1]:1110") == 0 && c.listen[1].line == 7, "listener text and line");
	CHECK(c.listen[2].kind == LK_SMTPS && listen_is_tls(c.listen[2].kind) &&
	    listen_service(c.listen[3].kind) == SVC_POP3, "smtps/pop3s kinds");
	CHECK(strcmp(c.spool, "/var/tmp/spool") == 0 && strcmp(c.aliases, acc) == 0, "paths");
	CHECK(strcmp(c.user, "u1") == 0 && strcmp(c.store_user, "u2") == 0 &&
	    strcmp(c.key_user, "u3") == 0 && strcmp(c.auth_user, "u4") == 0 &&
	    strcmp(c.postmaster, "alice") == 0, "users");
	CHECK(c.syslog_facility == LOG_LOCAL3, "syslog-facility local3");
	CHECK(c.pool[SVC_SMTP].min_spare == 1 && c.pool[SVC_SMTP].max == 7 &&
	    c.pool[SVC_SMTP].sessions == 9 && c.pool[SVC_POP3].min_spare == 0 &&
	    c.pool[SVC_POP3].max == 3 && c.pool[SVC_POP3].sessions == 2, "pools");
	CHECK(c.max_message_size == 10u * 1024 * 1024, "10M = 10485760");
	CHECK(c.max_line_length == 2048, "2k = 2048");
	CHECK(c.quota == 1024ull * 1024 * 1024, "1G");
	CHECK(c.max_recipients == 42 && c.max_bad_commands == 5 && c.max_auth_failures == 4,
	    "counts");
	CHECK(c.vrfy && c.expn && !c.verb, "booleans yes/on/off");
	CHECK(c.smtp_timeout_ms == 90000, "plain 90 = 90 s");
	CHECK(c.max_unknown_recipients == 7 && c.smtp_command_deadline_ms == 1200000,
	    "max-unknown-recipients 7, smtp-command-deadline 20m");
	CHECK(c.smtp_data_timeout_ms == 120000 && c.pop3_timeout_ms == 3600000, "2m, 1h");
	CHECK(c.login_delay_s == 30 && c.shutdown_grace_ms == 0, "login-delay 30s, grace 0");
	CHECK(c.plaintext_auth == PA_TLS, "plaintext-auth tls");
	CHECK(c.max_sessions_per_ip == 0 && c.max_conn_per_ip_per_min == 120, "per-ip limits");
	CHECK(strcmp(c.tls_ciphers, "HIGH:!aNULL") == 0, "tls-ciphers");
	CHECK(conf_wire_ok(&c), "conf_wire_ok");
	free(e);
}

/* One bad line after BASE (lines 1-3): one error at the given line. */
struct bad {
	const char *text;
	int line;
	const char *msg;
};

static const struct bad bads[] = {
	{ BASE "frobnicate on\n", 4, "unknown keyword \"frobnicate\"" },
	{ BASE "hostname\n", 4, "hostname: missing value" },
	{ BASE "hostname a.example b.example\n", 4, "hostname: unexpected \"b.example\"" },
	{ BASE "hostname bad_host\n", 4, "hostname: \"bad_host\" is not a valid domain name" },
	{ BASE "hostname x.org\nhostname y.org\n", 5, "hostname: already set at line 4" },
	{ BASE "max-message-size 25X\n", 4, "max-message-size: \"25X\" is not a size" },
	{ BASE "max-message-size 25MB\n", 4, "is not a size" },
	{ BASE "max-message-size -1\n", 4, "is not a size" },
	{ BASE "max-message-size 99999999999999999999\n", 4, "is not a size" },
	{ BASE "max-message-size 18014398509481984K\n", 4, "is not a size" },
	{ BASE "max-message-size 8G\n", 4, "max-message-size: 8G is out of range (1K to 4G)" },
	{ BASE "max-message-size 0\n", 4, "out of range" },
	{ BASE "max-line-length 999\n", 4, "max-line-length: 999 is out of range (1000 to 64K)" },
	{ BASE "max-recipients 10K\n", 4, "max-recipients: \"10K\" is not a number" },
	{ BASE "max-recipients 0\n", 4, "max-recipients: 0 is out of range (1 to 1000)" },
	{ BASE "smtp-timeout 5d\n", 4, "smtp-timeout: \"5d\" is not a time" },
	{ BASE "smtp-timeout 0\n", 4, "smtp-timeout: 0 is out of range (1s to 1h)" },
	{ BASE "pop3-timeout 2h\n", 4, "pop3-timeout: 2h is out of range" },
	{ BASE "smtp-timeout 1m30s\n", 4, "is not a time" },
	{ BASE "vrfy maybe\n", 4, "vrfy: \"maybe\" is not on or off" },
	{ BASE "plaintext-auth never\n", 4, "plaintext-auth: \"never\" is not loopback, tls or always" },
	{ BASE "syslog-facility kern\n", 4, "syslog-facility: unknown facility \"kern\"" },
	{ BASE "postmaster .hidden\n", 4, "postmaster: \".hidden\" is not a valid account name" },
	{ BASE "listen smtp 127.0.0.1:2525\n", 4, "listen: duplicate listener 127.0.0.1:2525, first at line 2" },
	{ BASE "listen pop3 127.0.0.1:2525\n", 4, "duplicate listener" },
	{ BASE "listen lmtp 127.0.0.1:143\n", 4, "listen: unknown kind \"lmtp\" (smtp, pop3, smtps, pop3s, imap or imaps)" },
	{ BASE "listen smtp\n", 4, "listen: missing value" },
	{ BASE "listen smtp 127.0.0.1:25 extra\n", 4, "listen: unexpected \"extra\"" },
	{ BASE "listen smtp 127.0.0.1:0\n", 4, "has a bad port" },
	{ BASE "listen smtp 127.0.0.1:65536\n", 4, "has a bad port" },
	{ BASE "listen smtp 127.0.0.1:\n", 4, "has a bad port" },
	{ BASE "listen smtp 127.0.0.1\n", 4, "is not ADDRESS:PORT" },
	{ BASE "listen smtp ::1:25\n", 4, "IPv6 address without brackets" },
	{ BASE "listen smtp [::1]25\n", 4, "is not [IPv6]:PORT" },
	{ BASE "listen smtp [::g]:25\n", 4, "is not a numeric IPv6 address" },
	{ BASE "listen smtp localhost:25\n", 4, "is not a numeric IPv4 address" },
	{ BASE "listen smtp 1.2.3.256:25\n", 4, "is not a numeric IPv4 address" },
	{ BASE "domain -bad.example\n", 4, "domain: \"-bad.example\" is not a valid domain name" },
	{ BASE "domain a..b\n", 4, "is not a valid domain name" },
	{ BASE "domain Example.ORG\n", 4, "domain: duplicate domain example.org, first at line 1" },
	{ "domain example.org\nlisten smtp 127.0.0.1:2525\naccounts /nonexistent/accounts\n",
	  3, "accounts: /nonexistent/accounts: No such file or directory" },
	{ "domain example.org\nlisten smtp 127.0.0.1:2525\naccounts @DIR@\n",
	  3, "is not a regular file" },
	{ BASE "aliases /nonexistent/aliases\n", 4, "aliases: /nonexistent/aliases: No such file" },
	{ BASE "spool var/spool\n", 4, "spool: \"var/spool\" is not an absolute path" },
	{ BASE "spool /var/../etc\n", 4, "has a . or .. component" },
	{ BASE "empty-dir /\n", 4, "empty-dir: \"/\" cannot be the root directory" },
	{ BASE "tls-cert @ACC@\n", 4, "tls-cert: tls-key is missing" },
	{ BASE "tls-key @ACC@\n", 4, "tls-key: tls-cert is missing" },
	{ BASE "listen pop3s 127.0.0.1:995\n", 4, "listen: pop3s 127.0.0.1:995 needs tls-cert and tls-key" },
	{ BASE "smtp-min-spare 9\nsmtp-max 4\n", 5, "smtp-min-spare 9 is larger than smtp-max 4" },
	{ BASE "pop3-max 0\n", 4, "pop3-max: 0 is out of range (1 to 1000)" },
	{ BASE "user _postern-store\n", 4, "store-user: _postern-store is also the workers' user" },
	{ BASE "key-user _postern\n", 4, "key-user: _postern must differ" },
	{ BASE "auth-user _postern-key\n", 4,
	  "auth-user: _postern-key must differ from user, store-user and key-user" },
	{ BASE "auth-user _postern\n", 4, "auth-user: _postern must differ" },
	{ BASE "auth-user root\n", 4, "auth-user: cannot be root" },
	{ BASE "user root\n", 4, "user: cannot be root" },
	{ BASE "user aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 4,
	  "too long (at most 64 characters)" },
	{ BASE "user -x\n", 4, "user: \"-x\" is not a valid user name" },
	{ BASE "tls-ciphers " "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789012345678901234567890123456789"
	  "01234567890123456789012345678901234567890123456789\n", 4,
	  "tls-ciphers: \"0123456789012345678901234567890123456789" },
	{ BASE "vrfy\x01 on\n", 4, "control character 0x01" },
	{ BASE "limits-exempt\n", 4, "limits-exempt: missing value" },
	{ BASE "limits-exempt 10.0.0.1/8\n", 4,
	  "limits-exempt: \"10.0.0.1/8\" has bits set beyond the prefix length" },
	{ BASE "limits-exempt 10.0.0.0/33\n", 4, "has a bad prefix length (0 to 32)" },
	{ BASE "limits-exempt 2001:db8::/129\n", 4, "has a bad prefix length (0 to 128)" },
	{ BASE "limits-exempt 10.0.0.0/\n", 4, "has a bad prefix length" },
	{ BASE "limits-exempt 10.0.0.0/x\n", 4, "has a bad prefix length" },
	{ BASE "limits-exempt 127.0.0.1 mail.example.org\n", 4,
	  "limits-exempt: \"mail.example.org\" is not an IPv4 or IPv6 address" },
	{ BASE "limits-exempt 1.2.3.256\n", 4, "is not an IPv4 or IPv6 address" },
	{ BASE "limits-exempt /8\n", 4, "is not an IPv4 or IPv6 address" },
	{ BASE "limits-exempt none 10.0.0.0/8\n", 4, "limits-exempt: none stands alone" },
	{ BASE "limits-exempt ::1\nlimits-exempt none\n", 5,
	  "limits-exempt: none, but networks are listed at line 4" },
	{ BASE "limits-exempt none\nlimits-exempt ::1\n", 5,
	  "limits-exempt: networks, but line 4 says none" },
	{ BASE "limits-exempt 1.0.0.0/8 2.0.0.0/8 3.0.0.0/8 4.0.0.0/8 5.0.0.0/8 6.0.0.0/8 "
	  "7.0.0.0/8 8.0.0.0/8\n", 4, "limits-exempt: at most 7 networks on one line" },
	{ "listen smtp 127.0.0.1:2525\naccounts @ACC@\n", 0, "no domain" },
	{ "domain example.org\naccounts @ACC@\n", 0, "no listen" },
};

static void
bad_one(const struct bad *b)
{
	struct conf c;
	char *e, want[64];
	const char *shown = b->text;
	int n = parse(b->text, &c, &e);

	if (strncmp(shown, BASE, strlen(BASE)) == 0)
		shown += strlen(BASE);
	snprintf(want, sizeof(want), "t.conf:%d: ", b->line);
	CHECK(n == 1 && strncmp(e, want, strlen(want)) == 0 && strstr(e, b->msg) != NULL &&
	    strchr(e, '\n') == e + strlen(e) - 1,
	    "bad: %.*s -> %s%s (got %d: %.*s)", (int)strcspn(shown, "\n"), shown,
	    want, b->msg, n, (int)strcspn(e, "\n"), e);
	free(e);
}

/* Parses BASE followed by len raw bytes. */
static int
parse_raw(const char *tail, size_t tlen, struct conf *c, char **errs)
{
	char *x = expand(BASE), *text;
	size_t blen = strlen(x), len;
	FILE *f = open_memstream(errs, &len);
	int n;

	text = malloc(blen + tlen);
	memcpy(text, x, blen);
	memcpy(text + blen, tail, tlen);
	n = conf_parse_buf("t.conf", text, blen + tlen, c, f);
	fclose(f);
	free(text);
	free(x);
	return n;
}

static void
nul_and_long_lines(void)
{
	static const char nul[] = "vrfy o\0n\n";
	char longline[5001];
	struct conf c;
	char *e;
	int n;

	n = parse_raw(nul, sizeof(nul) - 1, &c, &e);
	CHECK(n == 1 && strstr(e, "t.conf:4: NUL byte in line") != NULL, "NUL byte in a line is an error");
	free(e);

	memset(longline, 'a', 5000);
	longline[5000] = '\n';
	n = parse_raw(longline, sizeof(longline), &c, &e);
	CHECK(n == 1 && strstr(e, "t.conf:4: line too long") != NULL, "a 5000-character line is an error");
	free(e);

	n = parse_raw("vrfy on", 7, &c, &e);
	CHECK(n == 0 && c.vrfy, "last line without a newline");
	free(e);
}

static void
every_error_reported(void)
{
	struct conf c;
	char *e;
	int n = parse("hostname\n"                       /* 1 */
	    "# comment\n"                                /* 2 */
	    "listen smtp 127.0.0.1:25\n"                 /* 3 */
	    "max-message-size 10Q\n"                     /* 4 */
	    "listen pop3 127.0.0.1:25\n"                 /* 5 */
	    "bogus\n"                                    /* 6 */
	    "accounts @ACC@\n"                           /* 7 */
	    "smtp-timeout 0s\n",                         /* 8 */
	    &c, &e);

	CHECK(n == 6, "six errors counted (got %d)", n);
	CHECK(strstr(e, "t.conf:1: hostname: missing value\n") != NULL, "line 1 reported");
	CHECK(strstr(e, "t.conf:4: max-message-size: \"10Q\"") != NULL, "line 4 reported");
	CHECK(strstr(e, "t.conf:5: listen: duplicate listener 127.0.0.1:25, first at line 3\n") != NULL,
	    "line 5 reported");
	CHECK(strstr(e, "t.conf:6: unknown keyword \"bogus\"\n") != NULL, "line 6 reported");
	CHECK(strstr(e, "t.conf:8: smtp-timeout: 0s is out of range") != NULL, "line 8 reported");
	CHECK(strstr(e, "t.conf:0: no domain") != NULL, "no domain, at line 0");
	free(e);

	n = parse("", &c, &e);
	CHECK(n == 2 + (access("/etc/postern/accounts", F_OK) != 0),
	    "empty file: no domain, no listen, default accounts (%d)", n);
	CHECK(strstr(e, "t.conf:0: no domain") != NULL && strstr(e, "t.conf:0: no listen") != NULL,
	    "whole-file errors at line 0");
	free(e);
}

static void
limits_exempt(void)
{
	struct conf c;
	char *e;
	int n;

	n = parse(BASE "limits-exempt 192.0.2.0/24 10.0.0.0/8\n"
	    "limits-exempt 2001:db8::/32 ::1 192.0.2.7 0.0.0.0/0\n", &c, &e);
	CHECK(n == 0, "limits-exempt: two lines, IPv4 and IPv6 (%s)", e);
	CHECK(c.nexempt == 6, "the first line replaces the default, the next adds (%u)",
	    c.nexempt);
	CHECK(c.exempt[0].family == AF_INET && c.exempt[0].prefix == 24 &&
	    c.exempt[0].addr[0] == 192 && c.exempt[0].addr[2] == 2, "192.0.2.0/24");
	CHECK(c.exempt[2].family == AF_INET6 && c.exempt[2].prefix == 32 &&
	    c.exempt[2].addr[0] == 0x20 && c.exempt[2].addr[1] == 0x01, "2001:db8::/32");
	CHECK(c.exempt[3].prefix == 128 && c.exempt[4].prefix == 32 && c.exempt[5].prefix == 0,
	    "no prefix: one address (/128, /32); 0.0.0.0/0 is every IPv4 address");
	CHECK(conf_wire_ok(&c), "conf_wire_ok with limits-exempt");
	c.exempt[1].prefix = 33;
	CHECK(!conf_wire_ok(&c), "conf_wire_ok refuses an IPv4 prefix of 33");
	c.exempt[1].prefix = 8;
	c.nexempt = CONF_MAX_EXEMPT + 1;
	CHECK(!conf_wire_ok(&c), "conf_wire_ok refuses too many exempt networks");
	free(e);

	n = parse(BASE "limits-exempt none\n", &c, &e);
	CHECK(n == 0 && c.nexempt == 0, "limits-exempt none: an empty list");
	free(e);

	n = parse(BASE "limits-exempt ::1 ::1\n", &c, &e);
	CHECK(n == 0 && c.nexempt == 1, "a network listed twice is kept once");
	free(e);
}

/* conf_check_dirs: a missing directory is fine if its parent exists (the
 * daemon creates it); a missing parent is named with the key's line. */
static void
check_dirs(void)
{
	struct conf c;
	char *e, text[1024], want[1024];
	size_t len;
	FILE *f;
	int n;

	snprintf(text, sizeof(text), BASE "spool @DIR@/spool\nempty-dir @DIR@/empty\n");
	n = parse(text, &c, &e);
	free(e);
	f = open_memstream(&e, &len);
	CHECK(n == 0 && conf_check_dirs(&c, f, true) == 0,
	    "spool and empty-dir missing, their parent there: no error");
	fclose(f);
	free(e);

	snprintf(text, sizeof(text), BASE "spool @DIR@/no/spool\nempty-dir @ACC@/empty\n");
	n = parse(text, &c, &e);
	free(e);
	f = open_memstream(&e, &len);
	n += conf_check_dirs(&c, f, true);
	fclose(f);
	snprintf(want, sizeof(want), "t.conf:4: spool: %s/no/spool: its parent %s/no does "
	    "not exist (posternd creates spool, not its parents", dir, dir);
	CHECK(n == 2 && strstr(e, want) != NULL, "spool's missing parent at line 4");
	snprintf(want, sizeof(want), "t.conf:5: empty-dir: %s/empty: Not a directory", acc);
	CHECK(strstr(e, want) != NULL, "empty-dir under a file at line 5");
	free(e);

	f = open_memstream(&e, &len);
	n = conf_check_dirs(&c, f, false);
	fclose(f);
	CHECK(n == 1 && strstr(e, "empty-dir") == NULL,
	    "not as root: empty-dir (unused then) is not checked");
	free(e);

	snprintf(text, sizeof(text), BASE "spool @ACC@\n");
	n = parse(text, &c, &e);
	free(e);
	f = open_memstream(&e, &len);
	n += conf_check_dirs(&c, f, false);
	fclose(f);
	snprintf(want, sizeof(want), "t.conf:4: spool: %s is not a directory", acc);
	CHECK(n == 1 && strstr(e, want) != NULL, "a spool that is a file");
	free(e);

	n = parse(BASE, &c, &e);
	free(e);
	strlcpy_(c.empty_dir, "/nonexistent-postern/lib/empty", sizeof(c.empty_dir));
	f = open_memstream(&e, &len);
	n += conf_check_dirs(&c, f, true);
	fclose(f);
	CHECK(n == 1 && strstr(e, "t.conf:0: empty-dir: /nonexistent-postern/lib/empty "
	    "(the default): its parent /nonexistent-postern/lib does not exist") != NULL,
	    "a default is named at line 0");
	free(e);
}

static void
file_errors(void)
{
	struct conf c;
	char path[] = "/tmp/postern-conf-XXXXXX";
	int fd = mkstemp(path), n;
	char *x = expand(BASE);

	CHECK(fd != -1 && write(fd, x, strlen(x)) == (ssize_t)strlen(x), "temp config written");
	close(fd);
	n = conf_parse_file(path, &c);
	CHECK(n == 0 && strcmp(c.path, path) == 0, "conf_parse_file on a good file");
	unlink(path);
	CHECK(conf_parse_file(path, &c) == 1, "conf_parse_file on a missing file: 1 error");
	CHECK(conf_parse_file(dir, &c) == 1, "conf_parse_file on a directory: 1 error");
	free(x);
}

/* The IMAP folder keys: defaults, values, none, and what the store gets. */
static void
imap_folders(void)
{
	struct conf c;
	char *e;
	int n;

	n = parse(BASE, &c, &e);
	CHECK(n == 0 && c.imap_special_use == FU_ALL && c.max_folders == 1000 &&
	    c.max_folder_name == 1024 && c.max_folder_depth == 16,
	    "IMAP folder defaults: all five uses, 1000, 1024, 16");
	free(e);
	n = parse(BASE "imap-special-use trash sent\nmax-folders 3\n"
	    "max-folder-name-length 16\nmax-folder-depth 1\n", &c, &e);
	CHECK(n == 0 && c.imap_special_use == (FU_SENT | FU_TRASH) && c.max_folders == 3 &&
	    c.max_folder_name == 16 && c.max_folder_depth == 1 && conf_wire_ok(&c),
	    "imap-special-use trash sent, the smallest limits (%s)", e);
	free(e);
	n = parse(BASE "imap-special-use none\nmax-folders 1\nmax-folder-name-length 2048\n"
	    "max-folder-depth 64\n", &c, &e);
	CHECK(n == 0 && c.imap_special_use == 0 && c.max_folders == 1 &&
	    c.max_folder_name == 2048 && c.max_folder_depth == 64 && conf_wire_ok(&c),
	    "imap-special-use none, max-folders 1, the ceilings (%s)", e);
	free(e);
	n = parse(BASE "imap-special-use sent\nmax-folders 1\n", &c, &e);
	CHECK(n == 1 && strstr(e, "t.conf:5: max-folders: 1 leaves no room") != NULL,
	    "max-folders below INBOX + the special uses: an error at the later line (%s)", e);
	free(e);
	n = parse(BASE, &c, &e);
	free(e);
	c.max_folders = 0;
	CHECK(!conf_wire_ok(&c), "conf_wire_ok refuses max-folders 0");
	c.max_folders = 10;
	c.imap_special_use = 0x20;
	CHECK(!conf_wire_ok(&c), "conf_wire_ok refuses an unknown use bit");
	c.imap_special_use = 0;
	c.max_folder_name = 4096;
	CHECK(!conf_wire_ok(&c), "conf_wire_ok refuses a name length over the ceiling");
	c.max_folder_name = 100;
	c.max_folder_depth = 65;
	CHECK(!conf_wire_ok(&c), "conf_wire_ok refuses a depth over the ceiling");
}

int
main(void)
{
	size_t i;
	int fd;

	if ((fd = mkstemp(acc)) == -1 || mkdtemp(dir) == NULL) {
		CHECK(0, "temp files");
		return check_done();
	}
	close(fd);

	good_minimal();
	good_full();
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		bad_one(&bads[i]);
	nul_and_long_lines();
	every_error_reported();
	limits_exempt();
	check_dirs();
	file_errors();
	imap_folders();

	unlink(acc);
	rmdir(dir);
	return check_done();
}
