/*
 * posternd: the one binary.  Without -X it is the master; every child is
 * this binary again, exec'd with "-X role" and fixed descriptors (proc.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/conf.h"
#include "../privsep/log.h"
#include "../privsep/proc.h"
#include "../store/authd.h"
#include "../store/store.h"
#include "../workers/worker.h"
#include "control.h"
#include "keyholder.h"
#include "master.h"
#include "parse.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: posternd [-dnv] [-f file]\n");
	exit(2);
}

static int
run_role(const char *name)
{
	switch (role_from_name(name)) {
	case ROLE_STORE:
		return store_main();
	case ROLE_SMTP:
		return worker_main(ROLE_SMTP);
	case ROLE_POP3:
		return worker_main(ROLE_POP3);
	case ROLE_IMAP:
		return worker_main(ROLE_IMAP);
	case ROLE_KEYHOLDER:
		return keyholder_main();
	case ROLE_CONTROL:
		return control_main();
	case ROLE_AUTH:
		return authd_main();
	default:
		fprintf(stderr, "posternd: unknown role %s\n", name);
		return 2;
	}
}

int
main(int argc, char **argv)
{
	static struct conf conf;
	const char *path = DEFAULT_CONF, *role = NULL;
	const char *base = argc > 0 && argv[0] != NULL ? strrchr(argv[0], '/') : NULL;
	int check = 0, foreground = 0, verbose = 0, ch;

	/* the same binary, installed as posternctl (a link): the client */
	base = base != NULL ? base + 1 : argc > 0 && argv[0] != NULL ? argv[0] : "";
	if (strcmp(base, "posternctl") == 0)
		return posternctl_main(argc, argv);

	while ((ch = getopt(argc, argv, "df:nvX:")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'X':
			role = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_set_verbose(verbose);
	if (role != NULL)
		return run_role(role);

	if (conf_check(path, &conf, check) != 0)
		return 1;
	if (check)
		return 0;
	return master_main(path, &conf, foreground, verbose);
}
