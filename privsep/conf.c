/*
 * The configuration every process shares: defaults (postern.conf(5)), the
 * check a child runs on the struct it receives over IPC, and small lookups.
 * The file parser is master/parse.c; only the master reads the file.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "ipc.h"
#include "log.h"
#include "msg.h"
#include "util.h"

#define KIB 1024ULL
#define MIB (1024ULL * KIB)

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));

	if (gethostname(c->hostname, sizeof(c->hostname)) == -1)
		strlcpy_(c->hostname, "localhost", sizeof(c->hostname));
	c->hostname[sizeof(c->hostname) - 1] = '\0';

	strlcpy_(c->spool, "/var/spool/postern", sizeof(c->spool));
	strlcpy_(c->accounts, "/etc/postern/accounts", sizeof(c->accounts));
	strlcpy_(c->user, "_postern", sizeof(c->user));
	strlcpy_(c->store_user, "_postern-store", sizeof(c->store_user));
	strlcpy_(c->key_user, "_postern-key", sizeof(c->key_user));
	strlcpy_(c->auth_user, "_postern-auth", sizeof(c->auth_user));
	strlcpy_(c->empty_dir, "/var/lib/postern/empty", sizeof(c->empty_dir));
	strlcpy_(c->pidfile, "/run/postern.pid", sizeof(c->pidfile));
	c->syslog_facility = LOG_MAIL;

	c->pool[SVC_SMTP] = (struct pool_conf){ .min_spare = 2, .max = 50, .sessions = 100 };
	c->pool[SVC_POP3] = (struct pool_conf){ .min_spare = 2, .max = 50, .sessions = 1 };
	/* one process a session, kept for hours (Thunderbird holds up to 5 an
	 * account): Dovecot's imap service allows 1024 such processes */
	/* no spare IMAP worker at idle: clients connect rarely and stay for
	 * hours, so the idle pool would mostly cost memory (BENCH.md) */
	c->pool[SVC_IMAP] = (struct pool_conf){ .min_spare = 0, .max = 1024, .sessions = 1 };

	c->max_message_size = 25 * MIB;
	c->max_recipients = 100;
	c->max_line_length = 64 * KIB;
	c->max_bad_commands = 20;
	c->max_unknown_recipients = 20;
	c->vrfy = false;
	c->expn = false;
	c->verb = true;
	c->smtp_timeout_ms = 5 * 60 * 1000;
	c->smtp_data_timeout_ms = 3 * 60 * 1000;
	c->smtp_data_deadline_ms = 30 * 60 * 1000;
	c->smtp_command_deadline_ms = 15 * 60 * 1000;
	c->control_max_idle_ms = 60 * 1000;

	c->pop3_timeout_ms = 10 * 60 * 1000;
	c->max_auth_failures = 3;
	c->login_delay_s = 0;
	c->plaintext_auth = PA_LOOPBACK;

	/* RFC 3501 5.4: at least 30 minutes; IDLE keeps a session alive */
	c->imap_timeout_ms = 30 * 60 * 1000;
	c->imap_max_line_length = IMAP_LINE_DEFAULT_BYTES;
	/* half the pool, as for the others: a mail client keeps up to 5
	 * sessions an account open all day, so an office of 100 behind one
	 * NAT address is normal load */
	c->imap_max_sessions_per_ip = 512;
	/* Dovecot's mail_max_userip_connections: one person's devices */
	c->imap_max_sessions_per_user = 10;

	c->quota = 0;
	c->compact_min_size = COMPACT_MIN_SIZE_DEFAULT;

	c->imap_special_use = FU_ALL;
	c->max_folders = FOLDERS_DEFAULT_COUNT;
	c->max_folder_name = FOLDER_NAME_DEFAULT_BYTES;
	c->max_folder_depth = FOLDER_DEPTH_DEFAULT_COUNT;
	c->max_keywords = FOLDER_KEYWORDS_DEFAULT_COUNT;
	/* as Dovecot (pop3_no_flag_updates = no): a message read by POP3 is
	 * not new to the IMAP client on the same mailbox */
	c->pop3_sets_seen = true;
	/* half the pool per address, as Postfix's anvil count limit is half
	 * its process limit; a rate an office behind one NAT address polling
	 * every minute does not reach (postern.conf(5)); loopback exempt, as
	 * Postfix exempts $mynetworks */
	c->max_sessions_per_ip = 25;
	c->max_conn_per_ip_per_min = 600;
	c->nexempt = 2;
	c->exempt[0] = (struct cidr){ .family = AF_INET, .prefix = 8, .addr = { 127 } };
	c->exempt[1] = (struct cidr){ .family = AF_INET6, .prefix = 128,
	    .addr = { [15] = 1 } };
	c->shutdown_grace_ms = 10 * 1000;

	strlcpy_(c->control_socket, "/run/postern/control.sock", sizeof(c->control_socket));
	c->control_mode = 0660;
}

/* Is the string NUL-terminated inside its array? */
static int
str_in(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static int
listener_wire_ok(const struct listener *l)
{
	if ((unsigned)l->kind > LK_IMAPS)
		return 0;
	if (!str_in(l->text, sizeof(l->text)))
		return 0;
	if (l->ss.ss_family == AF_INET)
		return l->sslen == sizeof(struct sockaddr_in);
	if (l->ss.ss_family == AF_INET6)
		return l->sslen == sizeof(struct sockaddr_in6);
	return 0;
}

int
conf_wire_ok(const struct conf *c)
{
	uint32_t i;

	if (!str_in(c->path, sizeof(c->path)) ||
	    !str_in(c->hostname, sizeof(c->hostname)) ||
	    !str_in(c->spool, sizeof(c->spool)) ||
	    !str_in(c->accounts, sizeof(c->accounts)) ||
	    !str_in(c->aliases, sizeof(c->aliases)) ||
	    !str_in(c->user, sizeof(c->user)) ||
	    !str_in(c->store_user, sizeof(c->store_user)) ||
	    !str_in(c->key_user, sizeof(c->key_user)) ||
	    !str_in(c->auth_user, sizeof(c->auth_user)) ||
	    !str_in(c->empty_dir, sizeof(c->empty_dir)) ||
	    !str_in(c->pidfile, sizeof(c->pidfile)) ||
	    !str_in(c->postmaster, sizeof(c->postmaster)) ||
	    !str_in(c->tls_cert, sizeof(c->tls_cert)) ||
	    !str_in(c->tls_key, sizeof(c->tls_key)) ||
	    !str_in(c->tls_ciphers, sizeof(c->tls_ciphers)) ||
	    !str_in(c->control_socket, sizeof(c->control_socket)) ||
	    !str_in(c->control_group, sizeof(c->control_group)))
		return 0;

	if (c->ndomains > CONF_MAX_DOMAINS || c->nlisten > CONF_MAX_LISTEN)
		return 0;
	for (i = 0; i < c->ndomains; i++)
		if (!str_in(c->domains[i], sizeof(c->domains[i])))
			return 0;
	for (i = 0; i < c->nlisten; i++)
		if (!listener_wire_ok(&c->listen[i]))
			return 0;
	if (c->nsni > CONF_MAX_SNI)
		return 0;
	for (i = 0; i < c->nsni; i++)
		if (!str_in(c->sni[i].name, sizeof(c->sni[i].name)) ||
		    !str_in(c->sni[i].cert, sizeof(c->sni[i].cert)) ||
		    !str_in(c->sni[i].key, sizeof(c->sni[i].key)))
			return 0;

	if (c->nexempt > CONF_MAX_EXEMPT)
		return 0;
	for (i = 0; i < c->nexempt; i++)
		if (!((c->exempt[i].family == AF_INET && c->exempt[i].prefix <= 32) ||
		    (c->exempt[i].family == AF_INET6 && c->exempt[i].prefix <= 128)))
			return 0;
	if ((unsigned)c->plaintext_auth > PA_ALWAYS)
		return 0;
	for (i = 0; i < SVC_MAX; i++)
		if (c->pool[i].max == 0 || c->pool[i].min_spare > c->pool[i].max ||
		    c->pool[i].sessions == 0)
			return 0;
	if (c->max_line_length == 0 || c->max_recipients == 0 ||
	    c->imap_max_line_length < IMAP_LINE_PRELOGIN_BYTES ||
	    c->imap_max_line_length > CONN_INBUF_BYTES || c->imap_timeout_ms == 0)
		return 0;
	if ((c->imap_special_use & ~(uint32_t)FU_ALL) != 0 ||
	    c->max_folders < 1 || c->max_folders > FOLDERS_CEIL_COUNT ||
	    c->max_folder_name < FOLDER_NAME_MIN_BYTES ||
	    c->max_folder_name > FOLDER_NAME_CEIL_BYTES ||
	    c->max_folder_depth < 1 || c->max_folder_depth > FOLDER_DEPTH_CEIL_COUNT ||
	    c->max_keywords < 1 || c->max_keywords > FOLDER_KEYWORDS_MAX_COUNT)
		return 0;
	return 1;
}

bool
conf_is_local_domain(const struct conf *c, const char *domain)
{
	uint32_t i, n = c->ndomains;

	if (n > CONF_MAX_DOMAINS)
		n = CONF_MAX_DOMAINS;
	for (i = 0; i < n; i++)
		if (strcasecmp(c->domains[i], domain) == 0)
			return true;
	return false;
}

const char *
listen_kind_name(enum listen_kind k)
{
	switch (k) {
	case LK_SMTP:  return "smtp";
	case LK_POP3:  return "pop3";
	case LK_SMTPS: return "smtps";
	case LK_POP3S: return "pop3s";
	case LK_IMAP:  return "imap";
	case LK_IMAPS: return "imaps";
	}
	return "unknown";
}

bool
service_listens(const struct conf *c, enum service svc)
{
	for (uint32_t i = 0; i < c->nlisten && i < CONF_MAX_LISTEN; i++)
		if (listen_service(c->listen[i].kind) == svc)
			return true;
	return false;
}

const char *
service_name(enum service svc)
{
	switch (svc) {
	case SVC_SMTP: return "smtp";
	case SVC_POP3: return "pop3";
	case SVC_IMAP: return "imap";
	case SVC_MAX:  break;
	}
	return "?";
}

enum service
listen_service(enum listen_kind k)
{
	return (k == LK_POP3 || k == LK_POP3S) ? SVC_POP3 :
	    (k == LK_IMAP || k == LK_IMAPS) ? SVC_IMAP : SVC_SMTP;
}

bool
listen_is_tls(enum listen_kind k)
{
	return k == LK_SMTPS || k == LK_POP3S || k == LK_IMAPS;
}

int
conf_from_msg(const struct ipc_msg *m, struct conf *c)
{
	if (m->hdr.type != MSG_CONF || m->hdr.len != sizeof(*c) || m->fd >= 0)
		return -1;
	memcpy(c, m->data, sizeof(*c));
	return conf_wire_ok(c) ? 0 : -1;
}

void
conf_recv(int fd, struct conf *c)
{
	static struct ipc_msg m;

	if (ipc_recv(fd, &m) != 1)
		fatalx("no configuration from the master");
	if (conf_from_msg(&m, c) == -1)
		fatalx("no valid configuration from the master: %s (%u bytes%s)",
		    msg_name(m.hdr.type), m.hdr.len, m.fd >= 0 ? ", a descriptor" : "");
}
