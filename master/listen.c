/* The listening sockets, bound by the root master before anything else,
 * and bound again at reload (keeping the ones that did not change). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "master.h"
#include "master_int.h"

int
listener_bind(const struct listener *l)
{
	int fd, one = 1, saved;

	fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	if (l->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&l->ss, l->sslen) == -1)
		goto fail;
	if (listen(fd, LISTEN_BACKLOG_COUNT) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int
same_listener(const struct listener *a, const struct listener *b)
{
	return a->kind == b->kind && a->sslen == b->sslen &&
	    memcmp(&a->ss, &b->ss, a->sslen) == 0;
}

/*
 * Binds every listener of c into fds.  With old: a listener old had too
 * keeps its socket (a dup of oldfds[j]), so reload drops no queued client.
 * -1 (logged with file:line, nothing left open) when one cannot be bound.
 */
int
bind_all(const struct conf *c, int *fds, const struct conf *old, const int *oldfds)
{
	for (uint32_t i = 0; i < c->nlisten; i++) {
		fds[i] = -1;
		for (uint32_t j = 0; old != NULL && j < old->nlisten; j++)
			if (same_listener(&c->listen[i], &old->listen[j]) && oldfds[j] >= 0) {
				fds[i] = dup(oldfds[j]);
				if (fds[i] >= 0)
					set_cloexec(fds[i], 1);
				break;
			}
		if (fds[i] == -1)
			fds[i] = listener_bind(&c->listen[i]);
		if (fds[i] == -1) {
			log_warn("%s:%d: cannot listen on %s", c->path, c->listen[i].line,
			    c->listen[i].text);
			for (uint32_t k = 0; k < i; k++)
				close(fds[k]);
			return -1;
		}
	}
	return 0;
}
