/* posternd -n and posternctl check: see conf_check() in control.h. */
#include <stdio.h>
#include <unistd.h>

#include "../store/store.h"
#include "control.h"
#include "fdlimit.h"
#include "keyholder.h"
#include "parse.h"

int
conf_check(const char *path, struct conf *c, int full)
{
	int errors = conf_parse_file(path, c);

	if (errors == 0)   /* a missing directory is named now, not at start-up */
		errors = conf_check_dirs(c, stderr, geteuid() == 0);
	if (errors == 0 && full)
		errors = store_check_tables(c) + keyholder_check(c) + ctl_socket_check(c);
	if (errors == 0) {
		/* the pools must fit the descriptor limit (-n: this shell's) */
		const char *why;

		if (fd_limit_apply(c, &why) == -1) {
			fprintf(stderr, "%s:0: %s\n", path, why);
			errors = 1;
		}
	}
	if (errors != 0) {
		fprintf(stderr, "%s: %d error%s\n", path, errors, errors == 1 ? "" : "s");
		return 1;
	}
	if (full)
		fprintf(stderr, "%s: configuration OK\n", path);
	return 0;
}
