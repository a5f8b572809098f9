/*
 * SIGHUP (and posternctl reload): parses the configuration again, checks
 * its descriptor budget, binds the new listeners (keeping the unchanged
 * ones), and hands over: the store and the auth process get the new
 * configuration and files, a new keyholder loads the certificates, and the
 * workers are renewed after their sessions.  A bad file changes nothing.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "../privsep/log.h"
#include "../privsep/util.h"
#include "fdlimit.h"
#include "master_int.h"
#include "parse.h"

/* The keys that take effect at restart only are kept from the running
 * configuration (spool, store-user and auth-user changes were warned
 * about before binding; the control socket's are here). */
static void
keep_restart_keys(struct conf *nc, const struct conf *c)
{
	if (strcmp(nc->control_socket, c->control_socket) != 0 ||
	    strcmp(nc->control_group, c->control_group) != 0 ||
	    nc->control_mode != c->control_mode)
		log_warnx("reload: control-socket, control-group and control-mode "
		    "changes take effect at restart");
	strlcpy_(nc->spool, c->spool, sizeof(nc->spool));
	strlcpy_(nc->store_user, c->store_user, sizeof(nc->store_user));
	strlcpy_(nc->control_socket, c->control_socket, sizeof(nc->control_socket));
	strlcpy_(nc->control_group, c->control_group, sizeof(nc->control_group));
	nc->control_mode = c->control_mode;
	strlcpy_(nc->auth_user, c->auth_user, sizeof(nc->auth_user));
}

/* The store and the auth process get the new configuration and files. */
static void
reload_store_auth(void)
{
	if (master.store.pid != 0) {
		if (send_conf(master.store.ctl) == -1)
			log_warn("sending the new configuration to the store");
		send_accounts_to(&master.store);
	}
	if (master.authh.pid != 0) {
		if (send_conf(master.authh.ctl) == -1)
			log_warn("sending the new configuration to the auth process");
		send_accounts_to(&master.authh);
	}
}

/*
 * A new keyholder with the renewed certificates; it takes over once it
 * has loaded them (keyholder_switch), so bad new files leave the running
 * one in place.  Without TLS now, the running one retires.
 */
static void
reload_keyholder(void)
{
	if (master.keyh_next.pid != 0) {
		kill(master.keyh_next.pid, SIGKILL);   /* a reload still in flight */
		master.keyh_next.pid = 0;
	}
	if (tls_wanted() && master.keyh.pid != 0)
		helper_start(&master.keyh_next);
	else if (!tls_wanted() && master.keyh.pid != 0) {
		struct child *k = child_by_pid(master.keyh.pid);
		if (k != NULL)
			child_retire(k, UINT32_MAX);
		master.keyh.pid = 0;
		master.keyh.ctl = -1;
		master.keyh.ready = 0;
	}
	master.keyh.failures = 0;
	master.keyh.next_start = 0;
}

/* 0 when the new configuration is in effect; -1 (logged) when the
 * running one is kept. */
int
reload(void)
{
	static struct conf nc;
	int nfds[CONF_MAX_LISTEN];
	const char *why;

	log_info("SIGHUP: reloading %s", master.conf_path);
	if (conf_parse_file(master.conf_path, &nc) != 0) {
		log_warnx("reload: %s has errors (see above); keeping the running configuration",
		    master.conf_path);
		return -1;
	}
	if (fd_limit_apply(&nc, &why) == -1) {
		log_warnx("reload: %s; keeping the running configuration", why);
		return -1;
	}
	if (strcmp(nc.spool, master.conf.spool) != 0 ||
	    strcmp(nc.store_user, master.conf.store_user) != 0)
		log_warnx("reload: spool and store-user changes take effect at restart");
	if (strcmp(nc.auth_user, master.conf.auth_user) != 0)
		log_warnx("reload: an auth-user change takes effect at restart");
	if (bind_all(&nc, nfds, &master.conf, master.listen_fds) == -1) {
		log_warnx("reload: keeping the running configuration");
		return -1;
	}
	for (uint32_t i = 0; i < master.conf.nlisten; i++)
		close(master.listen_fds[i]);
	memcpy(master.listen_fds, nfds, sizeof(nfds));
	keep_restart_keys(&nc, &master.conf);
	master.conf = nc;
	reload_store_auth();
	reload_keyholder();
	/* the running workers finish their sessions; new ones take over */
	workers_retire();
	pool_reset_backoff();
	log_info("reload: configuration %s in effect", master.conf_path);
	return 0;
}
