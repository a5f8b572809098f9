/*
 * Connection admission (issue 7): sessions per client address, new
 * connections per client address per minute, and a full pool.  The master
 * decides, because only it sees every worker; the worker asks with
 * MSG_STATUS busy and turns the client away itself on a refusal.
 *
 * The worker does not say who its client is: it hands the master the
 * socket it accepted, and the master reads the address from it
 * (admit_peer).  The master keeps that descriptor while the session runs
 * and shuts the connection down when the worker reports it idle
 * (admit_release), so one accepted connection is counted once: a socket
 * reported again is no longer established and is not counted.
 */
#ifndef POSTERN_ADMIT_H
#define POSTERN_ADMIT_H

#include <stddef.h>
#include <stdint.h>
#include "../privsep/conf.h"

/* Records one new connection from addr for svc and says whether it may be
 * served: concurrent is the number of sessions from addr in svc already
 * running (this one excluded), busy the sessions the pool serves. */
uint32_t admit_check(const struct conf *c, enum service svc, const char *addr,
    uint32_t concurrent, uint32_t busy, uint64_t now_ms);

/* The address of the client a worker reports, from the socket it passed:
 * 0 and the address in text in out (as the worker writes it in its log);
 * 1 when fd is a TCP connection that is over (reset by its client, or
 * already reported and released): nothing to count, nothing to serve;
 * -1 when fd is no accepted TCP connection at all (a channel, a memfd, a
 * listener): the worker lies. */
int admit_peer(int fd, char *out, size_t outsz);

/* The session on fd is over: shut the connection down and close fd. */
void admit_release(int fd);

#endif
