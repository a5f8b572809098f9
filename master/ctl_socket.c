/*
 * The control socket, master side (see control.h): the master, as root,
 * makes the socket and hands the listening descriptor to the control
 * process; it never accepts on it.  Who may use posternctl is the socket's
 * owner (root), group (control-group) and mode (control-mode).
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "control.h"

static int
sun_fill(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	strlcpy_(sun->sun_path, path, sizeof(sun->sun_path));
	return 0;
}

/* The directory part of path, in out. */
static void
dir_of(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');
	size_t len = slash == NULL || slash == path ? 1 : (size_t)(slash - path);

	if (len >= n)
		len = n - 1;
	memcpy(out, slash == path || slash == NULL ? "/" : path, len);
	out[len] = '\0';
}

static int
group_gid(const struct conf *c, gid_t *gid)
{
	struct group *gr;

	*gid = 0;
	if (c->control_group[0] == '\0')
		return 0;
	if ((gr = getgrnam(c->control_group)) == NULL)
		return -1;
	*gid = gr->gr_gid;
	return 0;
}

int
ctl_socket_check(const struct conf *c)
{
	struct sockaddr_un sun;
	char dir[sizeof(c->control_socket)];
	struct stat st;
	gid_t gid;
	int errors = 0;

	if (group_gid(c, &gid) == -1) {
		fprintf(stderr, "%s:%d: control-group: no group \"%s\"\n", c->path,
		    c->control_group_line, c->control_group);
		errors++;
	}
	if (sun_fill(&sun, c->control_socket) == -1) {
		fprintf(stderr, "%s:0: control-socket: %s is longer than a socket path "
		    "may be (%zu)\n", c->path, c->control_socket, sizeof(sun.sun_path) - 1);
		errors++;
	}
	dir_of(c->control_socket, dir, sizeof(dir));
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s:0: control-socket: %s is not a directory\n", c->path, dir);
		errors++;
	}
	return errors;
}

/* Is a daemon answering on path?  Then it must not be taken over. */
static int
socket_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd == -1)
		return 0;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	return r == 0;
}

/* A control socket that cannot be made costs posternctl, not the mail
 * service: said in the log, and -1.  (posternd -n reports the causes it
 * can see: a missing group, a path too long, a directory that is not.) */
static int
no_socket(const char *what, const char *path, int fd)
{
	log_warn("control-socket %s: %s; running without it (posternctl will not work)",
	    path, what);
	if (fd >= 0)
		close(fd);
	return -1;
}

int
ctl_socket_open(const struct conf *c)
{
	struct sockaddr_un sun;
	char dir[sizeof(c->control_socket)];
	struct stat st;
	mode_t old;
	gid_t gid;
	int fd;

	if (group_gid(c, &gid) == -1) {
		errno = ENOENT;
		return no_socket("control-group does not exist", c->control_socket, -1);
	}
	if (sun_fill(&sun, c->control_socket) == -1) {
		errno = ENAMETOOLONG;
		return no_socket("path too long", c->control_socket, -1);
	}
	dir_of(c->control_socket, dir, sizeof(dir));
	if (mkdir(dir, 0755) == 0)
		log_info("created %s for the control socket", dir);
	else if (errno != EEXIST)
		return no_socket("cannot create its directory", c->control_socket, -1);
	if (lstat(c->control_socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return no_socket("exists and is not a socket", c->control_socket, -1);
		}
		/* two daemons on one socket would be one daemon too many */
		if (socket_in_use(&sun))
			fatalx("control-socket %s: another posternd is running there",
			    c->control_socket);
		if (unlink(c->control_socket) == -1)
			return no_socket("cannot remove the stale socket", c->control_socket, -1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return no_socket("socket", c->control_socket, -1);
	/* created 0600, then opened up: never wider than control-mode */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		return no_socket("bind", c->control_socket, fd);
	}
	umask(old);
	if ((geteuid() == 0 && chown(c->control_socket, 0, gid) == -1) ||
	    chmod(c->control_socket, (mode_t)(c->control_mode & 0777)) == -1 ||
	    listen(fd, CTL_BACKLOG_COUNT) == -1) {
		int saved = errno;

		unlink(c->control_socket);
		errno = saved;
		return no_socket("chown/chmod/listen", c->control_socket, fd);
	}
	log_info("control socket %s (mode %04o, group %s)", c->control_socket,
	    (unsigned)(c->control_mode & 0777),
	    c->control_group[0] ? c->control_group : "root");
	return fd;
}

void
ctl_socket_close(const struct conf *c, int fd)
{
	struct stat st;

	if (fd < 0)
		return;
	if (lstat(c->control_socket, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(c->control_socket);
	close(fd);
}
