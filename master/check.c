/* posternd -n and posternctl check: see conf_check() in control.h. */
#include <stdio.h>

#include "../store/store.h"
#include "control.h"
#include "keyholder.h"
#include "parse.h"

int
conf_check(const char *path, struct conf *c, int full)
{
	int errors = conf_parse_file(path, c);

	if (errors == 0 && full)
		errors = store_check_tables(c) + keyholder_check(c) + ctl_socket_check(c);
	if (errors != 0) {
		fprintf(stderr, "%s: %d error%s\n", path, errors, errors == 1 ? "" : "s");
		return 1;
	}
	if (full)
		fprintf(stderr, "%s: configuration OK\n", path);
	return 0;
}
