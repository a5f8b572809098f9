#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include "../privsep/conf.h"

/* Runs the master until SIGTERM; returns the exit status. */
int master_main(const char *conf_path, const struct conf *c, int foreground,
    int verbose);

/* Binds one listener; returns the socket or -1 with errno (master/listen.c). */
int listener_bind(const struct listener *l);

#endif
