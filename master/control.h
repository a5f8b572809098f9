/*
 * The control process (OpenSMTPD control.c): unprivileged and jailed, it
 * serves posternctl on the control socket the master bound (FD_LISTEN_FIRST)
 * and asks the master (FD_CONTROL) and the store (FD_STORE, a channel of
 * kind CHAN_CONTROL) for what a request needs.  The root master never reads
 * a byte a local client wrote.
 */
#ifndef POSTERN_CONTROL_H
#define POSTERN_CONTROL_H

#include "../privsep/conf.h"

int control_main(void);

/* The default configuration file, for posternd and posternctl. */
#define DEFAULT_CONF "/etc/postern/postern.conf"

/* posternd -n (full = 1) or the start-up parse (full = 0) of path into *c:
 * the errors as FILE:LINE on stderr and a count; "configuration OK" with
 * full.  0 ok, 1 errors (master/check.c). */
int conf_check(const char *path, struct conf *c, int full);

/* posternctl: the client, the same binary under that name (master/posternctl.c). */
int posternctl_main(int argc, char **argv);

/* Master side (master/ctl_socket.c), as root before the children start:
 * makes the socket's directory, refuses a socket a running daemon still
 * answers on, binds, sets owner root:control-group and control-mode,
 * listens.  Returns the listening socket, or -1 after a warning in the
 * log (the daemon then runs without one); fatal when another daemon
 * answers on it. */
int ctl_socket_open(const struct conf *c);
/* Removes the socket at exit (when it is still ours). */
void ctl_socket_close(const struct conf *c, int fd);
/* posternd -n: control-group exists, the socket's directory is usable.
 * Prints FILE:LINE errors to stderr; returns their number. */
int ctl_socket_check(const struct conf *c);

#endif
