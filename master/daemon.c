/*
 * Becoming a daemon: the directories the children need (spool, jail)
 * checked and made as root, detaching from the terminal, and the pidfile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "master_int.h"

/* The store's user exists and is not root; returns it. */
static const struct passwd *
check_users(const struct conf *c)
{
	struct passwd *pw;

	if (getpwnam(c->user) == NULL)
		fatalx("user %s (the workers' user) does not exist", c->user);
	if ((pw = getpwnam(c->auth_user)) == NULL)
		fatalx("user %s (the auth process's user, auth-user) does not exist",
		    c->auth_user);
	if (pw->pw_uid == 0)
		fatalx("auth-user %s must not be root", c->auth_user);
	if ((pw = getpwnam(c->store_user)) == NULL)
		fatalx("user %s (the store's user) does not exist", c->store_user);
	if (pw->pw_uid == 0)
		fatalx("store-user %s must not be root", c->store_user);
	return pw;
}

/* The spool exists, a directory owned by the store's user. */
static void
prepare_spool(const struct conf *c, const struct passwd *pw)
{
	struct stat st;

	if (mkdir(c->spool, 0700) == 0) {
		if (chown(c->spool, pw->pw_uid, pw->pw_gid) == -1)
			fatal("chown %s", c->spool);
		log_info("created spool %s owned by %s", c->spool, c->store_user);
	} else if (errno != EEXIST)
		fatal("mkdir %s", c->spool);
	if (lstat(c->spool, &st) == -1 || !S_ISDIR(st.st_mode))
		fatalx("spool %s is not a directory", c->spool);
	if (st.st_uid != pw->pw_uid)
		fatalx("spool %s is owned by uid %u, not by %s (chown it)", c->spool,
		    (unsigned)st.st_uid, c->store_user);
	if (st.st_mode & 077)
		log_warnx("spool %s is mode %03o; 0700 is advised", c->spool,
		    (unsigned)(st.st_mode & 0777));
}

/* The workers' jail: an empty directory owned by root. */
static void
prepare_jail(const struct conf *c)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (mkdir(c->empty_dir, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", c->empty_dir);
	if (lstat(c->empty_dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != 0 || (st.st_mode & 022))
		fatalx("empty-dir %s must be a directory owned by root, not writable by others",
		    c->empty_dir);
	if ((d = opendir(c->empty_dir)) == NULL)
		fatal("%s", c->empty_dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			fatalx("empty-dir %s is not empty (%s)", c->empty_dir, de->d_name);
	closedir(d);
}

/* As root: the users exist, the spool belongs to the store user, the
 * workers' jail is an empty root-owned directory. */
void
prepare_dirs(void)
{
	const struct conf *c = &master.conf;

	if (geteuid() != 0) {
		if (mkdir(c->spool, 0700) == -1 && errno != EEXIST)
			fatal("%s", c->spool);
		return;
	}
	prepare_spool(c, check_users(c));
	prepare_jail(c);
}

void
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid == -1)
		fatal("fork");
	if (pid > 0)
		_exit(0);
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

void
write_pidfile(void)
{
	char buf[32];
	int fd;

	fd = open(master.conf.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1) {
		log_warn("pidfile %s", master.conf.pidfile);
		return;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write_all(fd, buf, strlen(buf)) == -1)
		log_warn("pidfile %s", master.conf.pidfile);
	close(fd);
}
