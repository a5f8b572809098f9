/*
 * Connection admission (master/admit.c): the per-address limits skip the
 * limits-exempt networks (default loopback), key IPv6 clients by their
 * /64 and IPv4-mapped ones as IPv4, and the pool's total applies to all.
 */
#include <string.h>

#include "master/admit.h"
#include "privsep/conf.h"
#include "privsep/msg.h"
#include "t/unit/check.h"

static struct conf c;

/* n connections from addr at time now (no concurrent sessions, pool free):
 * how many were admitted. */
static int
admitted(enum service svc, const char *addr, int n, uint64_t now)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += admit_check(&c, svc, addr, 0, 1, now) == ADMIT_OK;
	return ok;
}

static void
keys(void)
{
	char k[LIM_ADDR];

	admit_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k, sizeof(k));
	CHECK(strcmp(k, "2001:db8:1:2::/64") == 0, "IPv6 keyed by its /64 (%s)", k);
	admit_key("::ffff:192.0.2.7", k, sizeof(k));
	CHECK(strcmp(k, "192.0.2.7") == 0, "IPv4-mapped IPv6 keyed as IPv4 (%s)", k);
	admit_key("192.0.2.7", k, sizeof(k));
	CHECK(strcmp(k, "192.0.2.7") == 0, "IPv4 keyed by its address");
	admit_key("garbage", k, sizeof(k));
	CHECK(strcmp(k, "garbage") == 0, "not an address: itself");
	CHECK(admit_same_client("2001:db8:1:2::1", "2001:db8:1:2:ffff::9"),
	    "two addresses in one /64 are one client");
	CHECK(!admit_same_client("2001:db8:1:2::1", "2001:db8:1:3::1"),
	    "the next /64 is another client");
	CHECK(!admit_same_client("192.0.2.7", "192.0.2.8"), "IPv4: each address its own");
	CHECK(admit_same_client("::ffff:192.0.2.7", "192.0.2.7"), "mapped and plain IPv4: one");
}

static void
exempt(void)
{
	conf_defaults(&c);
	CHECK(admit_exempt(&c, "127.0.0.1") && admit_exempt(&c, "127.255.0.9") &&
	    admit_exempt(&c, "::1") && admit_exempt(&c, "::ffff:127.0.0.1"),
	    "default: loopback (127.0.0.0/8, ::1, mapped) is exempt");
	CHECK(!admit_exempt(&c, "128.0.0.1") && !admit_exempt(&c, "::2") &&
	    !admit_exempt(&c, "192.0.2.7") && !admit_exempt(&c, "x"),
	    "default: other addresses are not");

	c.nexempt = 2;
	c.exempt[0] = (struct cidr){ .family = AF_INET, .prefix = 20, .addr = { 10, 1, 16 } };
	c.exempt[1] = (struct cidr){ .family = AF_INET6, .prefix = 48,
	    .addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 7 } };
	CHECK(admit_exempt(&c, "10.1.16.1") && admit_exempt(&c, "10.1.31.255") &&
	    !admit_exempt(&c, "10.1.32.0") && !admit_exempt(&c, "10.1.15.255"),
	    "10.1.16.0/20: its edges");
	CHECK(admit_exempt(&c, "2001:db8:7:ffff::1") && !admit_exempt(&c, "2001:db8:8::1"),
	    "2001:db8:7::/48");
	CHECK(!admit_exempt(&c, "127.0.0.1"), "a list without loopback: loopback not exempt");
}

static void
limits(void)
{
	conf_defaults(&c);
	c.max_conn_per_ip_per_min = 5;
	c.max_sessions_per_ip = 3;
	CHECK(admitted(SVC_POP3, "127.0.0.1", 50, 1000) == 50,
	    "loopback exempt from the rate: 50 of 50 admitted");
	CHECK(admit_check(&c, SVC_POP3, "::1", 7, 1, 1000) == ADMIT_OK,
	    "loopback exempt from the sessions limit");
	CHECK(admit_check(&c, SVC_POP3, "::1", 0, c.pool[SVC_POP3].max + 1, 1000) == ADMIT_FULL,
	    "the pool's total applies to loopback too");
	CHECK(admitted(SVC_POP3, "192.0.2.7", 6, 1000) == 5, "192.0.2.7: 5 of 6 admitted");
	CHECK(admit_check(&c, SVC_POP3, "192.0.2.7", 3, 1, 1000) == ADMIT_PER_IP,
	    "a 4th concurrent session is refused");
	CHECK(admitted(SVC_POP3, "192.0.2.7", 1, 1000 + 60000) == 1, "admitted a minute later");

	CHECK(admitted(SVC_SMTP, "2001:db8:1:2::1", 3, 5000) == 3 &&
	    admitted(SVC_SMTP, "2001:db8:1:2::2", 3, 5000) == 2 &&
	    admitted(SVC_SMTP, "2001:db8:1:2:ffff:ffff:ffff:ffff", 1, 5000) == 0,
	    "IPv6: rotating addresses within one /64 shares one rate");
	CHECK(admitted(SVC_SMTP, "2001:db8:1:3::1", 5, 5000) == 5, "the next /64 has its own");

	c.nexempt = 0;
	CHECK(admitted(SVC_SMTP, "127.0.0.9", 6, 9000) == 5,
	    "limits-exempt none: loopback is limited too");

	conf_defaults(&c);
	CHECK(admitted(SVC_POP3, "198.51.100.1", 122, 20000) == 122,
	    "default rate: an office of 61 devices polling twice a minute is served");
	CHECK(admitted(SVC_POP3, "198.51.100.1", 600, 20000) == 478,
	    "default rate: 600 a minute, then refused");
	CHECK(admit_check(&c, SVC_POP3, "198.51.100.2", 24, 25, 20000) == ADMIT_OK &&
	    admit_check(&c, SVC_POP3, "198.51.100.2", 25, 26, 20000) == ADMIT_PER_IP,
	    "default: 25 sessions per address, half the pool");
}

int
main(void)
{
	keys();
	exempt();
	limits();
	return check_done();
}
