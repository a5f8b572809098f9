/*
 * Roles and the fixed descriptor numbers every child is started with
 * (fork + exec of posternd with "-X role"; OpenSMTPD start_child).
 */
#ifndef POSTERN_PROC_H
#define POSTERN_PROC_H

enum role {
	ROLE_MASTER = 0,
	ROLE_STORE,
	ROLE_SMTP,
	ROLE_POP3,
	ROLE_KEYHOLDER,
	ROLE_CONTROL,    /* serves posternctl on the control socket */
	ROLE_AUTH,
	ROLE_IMAP,
	ROLE_MAX
};

#define FD_CONTROL       3   /* every child: channel to the master */
#define FD_STORE         4   /* workers: channel to the store */
#define FD_KEYHOLDER     5   /* workers: channel to the keyholder (or closed) */
#define FD_LISTEN_FIRST  6   /* workers: listening sockets, in config order;
                                control: the control socket */

const char *role_name(enum role r);
int proc_latency_hint(unsigned slice_ns);
int role_from_name(const char *name);   /* -1 when unknown */

#endif
