/*
 * conf_wire_ok (privsep/conf.c): every child checks the struct conf the
 * master sends before using it.  Each case breaks one field of a good
 * struct and expects a refusal: a string without its NUL, a count past
 * its array, a listener of an unknown kind or family, an empty pool.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "privsep/conf.h"
#include "privsep/util.h"

static struct conf good, c;

static void
good_conf(void)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&good.listen[0].ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&good.listen[1].ss;

	conf_defaults(&good);
	strlcpy_(good.domains[0], "example.org", sizeof(good.domains[0]));
	good.ndomains = 1;
	sin->sin_family = AF_INET;
	good.listen[0].sslen = sizeof(*sin);
	good.listen[0].kind = LK_SMTP;
	sin6->sin6_family = AF_INET6;
	good.listen[1].sslen = sizeof(*sin6);
	good.listen[1].kind = LK_POP3;
	good.nlisten = 2;
}

#define BREAK(what, stmt) do {                                        \
	c = good;                                                     \
	stmt;                                                         \
	CHECK(!conf_wire_ok(&c), "refused: %s", what);                 \
} while (0)

int
main(void)
{
	good_conf();
	c = good;
	CHECK(conf_wire_ok(&c), "a good struct conf passes");
	CHECK(conf_is_local_domain(&c, "EXAMPLE.org") && !conf_is_local_domain(&c, "example.net"),
	    "local domains, case-insensitive");
	c.ndomains = CONF_MAX_DOMAINS + 5;
	CHECK(!conf_is_local_domain(&c, "nowhere.example"), "a domain count past the array is clamped");

	BREAK("hostname without NUL", memset(c.hostname, 'a', sizeof(c.hostname)));
	BREAK("tls-ciphers without NUL", memset(c.tls_ciphers, 'a', sizeof(c.tls_ciphers)));
	BREAK("too many domains", c.ndomains = CONF_MAX_DOMAINS + 1);
	BREAK("too many listeners", c.nlisten = CONF_MAX_LISTEN + 1);
	BREAK("a domain without NUL", memset(c.domains[0], 'a', sizeof(c.domains[0])));
	BREAK("a listener of kind 9", c.listen[0].kind = (enum listen_kind)9);
	BREAK("a listener text without NUL", memset(c.listen[0].text, 'a', sizeof(c.listen[0].text)));
	BREAK("an IPv4 listener with a wrong length", c.listen[0].sslen = 3);
	BREAK("an IPv6 listener with a wrong length", c.listen[1].sslen = sizeof(struct sockaddr_in));
	BREAK("a listener of family AF_UNIX", c.listen[0].ss.ss_family = AF_UNIX);
	BREAK("too many SNI entries", c.nsni = CONF_MAX_SNI + 1);
	BREAK("an SNI key without NUL", (c.nsni = 1, memset(c.sni[0].key, 'a', sizeof(c.sni[0].key))));
	BREAK("plaintext-auth 7", c.plaintext_auth = 7);
	BREAK("a pool of max 0", c.pool[SVC_SMTP].max = 0);
	BREAK("min-spare above max", c.pool[SVC_POP3].min_spare = c.pool[SVC_POP3].max + 1);
	BREAK("a pool recycling after 0 sessions", c.pool[SVC_SMTP].sessions = 0);
	BREAK("max-line-length 0", c.max_line_length = 0);
	BREAK("max-recipients 0", c.max_recipients = 0);
	BREAK("control-socket without NUL", memset(c.control_socket, 'a', sizeof(c.control_socket)));
	BREAK("control-group without NUL", memset(c.control_group, 'a', sizeof(c.control_group)));
	return check_done();
}
