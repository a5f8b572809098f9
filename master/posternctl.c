/*
 * posternctl: the administrator's client (posternctl(8)).  It is posternd
 * itself, run under the name posternctl (make install links it), so that
 * "check" is exactly "posternd -n" and -f finds the socket the daemon
 * uses with the daemon's own parser.  It needs no privilege: it opens the
 * config file (when it can) and the control socket, whose owner, group
 * and mode decide who may use it.
 *
 * Exit status: 0 done; 1 the daemon refused or answered an error, or the
 * check found errors; 2 usage; 3 the daemon is not running; 4 permission
 * denied on the socket; 5 no answer in time or a broken answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../privsep/conf.h"
#include "../privsep/util.h"
#include "control.h"
#include "ctl_proto.h"
#include "parse.h"

#define EX_REFUSED   1
#define EX_USAGE     2
#define EX_NOTRUN    3
#define EX_PERM      4
#define EX_COMM      5

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: posternctl [-f config] [-s socket] command\n"
	    "commands: status | who | stats [--prometheus] | mailbox NAME |\n"
	    "          reload | stop | check\n");
	exit(EX_USAGE);
}

/* The config, parsed without a word on stderr: 0 when it was read. */
static int
quiet_parse(const char *path, struct conf *c, int *errors)
{
	char *buf;
	size_t len = 0;
	int fd;

	conf_defaults(c);
	*errors = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	buf = xmalloc(CONF_FILE_MAX_BYTES + 1);
	for (;;) {
		ssize_t r = read(fd, buf + len, CONF_FILE_MAX_BYTES + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len > CONF_FILE_MAX_BYTES)
			break;
	}
	close(fd);
	if (len > CONF_FILE_MAX_BYTES) {
		free(buf);
		return -1;
	}
	*errors = conf_parse_buf(path, buf, len, c, NULL);
	free(buf);
	return 0;
}

static int
connect_socket(const char *path, const char *group)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "posternctl: %s: socket path too long\n", path);
		exit(EX_USAGE);
	}
	strlcpy_(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "posternctl: socket: %s\n", strerror(errno));
		exit(EX_COMM);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	switch (errno) {
	case ENOENT:
	case ECONNREFUSED:
		fprintf(stderr, "posternctl: the daemon is not running "
		    "(nothing answers on %s)\n", path);
		exit(EX_NOTRUN);
	case EACCES:
	case EPERM:
		fprintf(stderr, "posternctl: permission denied on %s: run it as root%s%s%s\n",
		    path, group[0] ? " or as a member of group " : "", group,
		    group[0] ? " (control-group)" : "");
		exit(EX_PERM);
	default:
		fprintf(stderr, "posternctl: %s: %s\n", path, strerror(errno));
		exit(EX_COMM);
	}
}

/* Sends the request and reads the whole answer (the server closes). */
static char *
transact(int fd, const char *req, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap);
	uint64_t deadline = now_ms() + POSTERNCTL_ANSWER_MS;

	if (write_all(fd, req, strlen(req)) == -1 || write_all(fd, "\n", 1) == -1) {
		fprintf(stderr, "posternctl: sending the request: %s\n", strerror(errno));
		exit(EX_COMM);
	}
	for (;;) {
		ssize_t n;

		if (fd_wait(fd, POLLIN, deadline) == 0) {
			fprintf(stderr, "posternctl: no answer from the daemon in %d s\n",
			    POSTERNCTL_ANSWER_MS / 1000);
			exit(EX_COMM);
		}
		if (len + 1 >= cap) {
			if (cap >= CTL_OUT_MAX_BYTES + 4096) {
				fprintf(stderr, "posternctl: the answer is too long\n");
				exit(EX_COMM);
			}
			cap *= 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "posternctl: reading the answer: %s\n", strerror(errno));
			exit(EX_COMM);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* Prints the answer; returns the exit status. */
static int
print_answer(const char *a, size_t len)
{
	const char *nl = memchr(a, '\n', len);
	size_t first = nl ? (size_t)(nl - a) : len;

	if (len == 0 || nl == NULL) {
		fprintf(stderr, "posternctl: the daemon closed the connection without an answer\n");
		return EX_COMM;
	}
	if (first >= 4 && strncmp(a, "-ERR", 4) == 0) {
		fprintf(stderr, "posternctl: %.*s\n", (int)(first > 5 ? first - 5 : 0),
		    first > 5 ? a + 5 : "");
		return EX_REFUSED;
	}
	if (first < 3 || strncmp(a, "+OK", 3) != 0) {
		fprintf(stderr, "posternctl: unexpected answer: %.*s\n", (int)first, a);
		return EX_COMM;
	}
	if (first > 4)
		printf("%.*s\n", (int)(first - 4), a + 4);
	fwrite(nl + 1, 1, len - first - 1, stdout);
	return fflush(stdout) == 0 ? 0 : EX_COMM;
}

/* After "stop": the master removes the socket as its last act. */
static int
wait_gone(const char *path)
{
	uint64_t deadline = now_ms() + POSTERNCTL_STOP_WAIT_MS;
	struct stat st;

	while (now_ms() < deadline) {
		if (lstat(path, &st) == -1 && errno == ENOENT) {
			printf("stopped\n");
			return 0;
		}
		usleep(POSTERNCTL_STOP_POLL_MS * 1000);
	}
	fprintf(stderr, "posternctl: the daemon has not stopped after %d s\n",
	    POSTERNCTL_STOP_WAIT_MS / 1000);
	return EX_COMM;
}

int
posternctl_main(int argc, char **argv)
{
	static struct conf c;
	const char *path = DEFAULT_CONF, *sock = NULL, *cmd;
	char req[CTL_LINE_MAX_BYTES];
	int ch, errors, have_conf, fd, rc;
	size_t len;
	char *ans;

	while ((ch = getopt(argc, argv, "+f:s:")) != -1) {
		switch (ch) {
		case 'f':
			path = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	cmd = argv[optind++];

	if (strcmp(cmd, "check") == 0) {
		if (optind != argc)
			usage();
		return conf_check(path, &c, 1) == 0 ? 0 : EX_REFUSED;
	}
	if (strcmp(cmd, "mailbox") == 0) {
		if (optind + 1 != argc)
			usage();
		if (bsnprintf(req, sizeof(req), "mailbox %s", argv[optind]) == -1) {
			fprintf(stderr, "posternctl: mailbox name too long\n");
			return EX_USAGE;
		}
	} else if (strcmp(cmd, "stats") == 0) {
		if (optind < argc && strcmp(argv[optind], "--prometheus") == 0) {
			optind++;
			strlcpy_(req, "stats prometheus", sizeof(req));
		} else
			strlcpy_(req, "stats", sizeof(req));
		if (optind != argc)
			usage();
	} else if (strcmp(cmd, "status") == 0 || strcmp(cmd, "who") == 0 ||
	    strcmp(cmd, "reload") == 0 || strcmp(cmd, "stop") == 0) {
		if (optind != argc)
			usage();
		strlcpy_(req, cmd, sizeof(req));
	} else
		usage();

	have_conf = quiet_parse(path, &c, &errors) == 0;
	if (strcmp(cmd, "reload") == 0 && have_conf && errors != 0) {
		/* the daemon would keep its configuration; say why, here */
		(void)conf_check(path, &c, 0);
		fprintf(stderr, "posternctl: not reloading: %s has errors\n", path);
		return EX_REFUSED;
	}
	if (sock == NULL)
		sock = c.control_socket;
	fd = connect_socket(sock, c.control_group);
	ans = transact(fd, req, &len);
	close(fd);
	rc = print_answer(ans, len);
	free(ans);
	if (rc == 0 && strcmp(cmd, "stop") == 0)
		rc = wait_gone(sock);
	return rc;
}
