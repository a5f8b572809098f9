/*
 * The descriptor budget (master/fdlimit.c): the need follows the pools of
 * the services that listen; the soft limit is raised within the hard one;
 * a hard limit below the need is refused with both numbers named.
 */
#include <string.h>
#include <sys/resource.h>

#include "check.h"
#include "master/fdlimit.h"
#include "privsep/conf.h"

static void
set_nofile(rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { soft, hard };

	setrlimit(RLIMIT_NOFILE, &rl);
}

static rlim_t
soft_now(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur;
}

int
main(void)
{
	static struct conf c;
	struct rlimit orig;
	const char *err = "";

	getrlimit(RLIMIT_NOFILE, &orig);
	conf_defaults(&c);
	c.nlisten = 2;
	c.listen[0].kind = LK_SMTP;
	c.listen[1].kind = LK_POP3S;
	CHECK(fd_need(&c) == 4 * (51 + 51) + 96, "defaults: 504 (%lu)", fd_need(&c));
	c.listen[1].kind = LK_SMTPS;
	CHECK(fd_need(&c) == 4 * 51 + 96, "no POP3 listener: its pool does not count (%lu)",
	    fd_need(&c));
	c.listen[1].kind = LK_POP3;
	c.pool[SVC_SMTP].max = 300;
	CHECK(fd_need(&c) == 4 * (301 + 51) + 96, "smtp-max 300: 1504 (%lu)", fd_need(&c));

	if (orig.rlim_max != RLIM_INFINITY && orig.rlim_max < 4000) {
		CHECK(1, "# skipped: hard limit %llu too low to test raising",
		    (unsigned long long)orig.rlim_max);
		return check_done();
	}
	/* a soft limit below the need, the hard one above: raised, with room */
	set_nofile(300, 4000);
	CHECK(fd_limit_apply(&c, &err) == 0 && soft_now() == 3008,
	    "soft 300, hard 4000: raised to twice the need (%llu) %s",
	    (unsigned long long)soft_now(), err);
	/* room for the need but not for twice it: up to the hard limit */
	set_nofile(300, 2000);
	CHECK(fd_limit_apply(&c, &err) == 0 && soft_now() == 2000,
	    "soft 300, hard 2000: raised to the hard limit (%llu)",
	    (unsigned long long)soft_now());
	/* already enough: left alone */
	set_nofile(1600, 2000);
	CHECK(fd_limit_apply(&c, &err) == 0 && soft_now() == 1600,
	    "soft 1600 >= need: unchanged");
	/* the hard limit below the need: refused, both numbers named */
	set_nofile(300, 300);
	CHECK(fd_limit_apply(&c, &err) == -1 &&
	    strstr(err, "smtp-max 300 and pop3-max 50 need 1504 descriptors, "
	    "the hard limit (ulimit -Hn) is 300") != NULL && soft_now() == 300,
	    "hard 300: refused (%s)", err);
	return check_done();
}
