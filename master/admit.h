/*
 * Connection admission: sessions per client address, new
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../privsep/conf.h"

/* The per-address limits key clients by address, IPv6 ones by their /64
 * (one host has a whole /64 to rotate through), and skip addresses in
 * limits-exempt (default loopback).  The pool's total applies to all. */

/* Is addr in one of the limits-exempt networks? */
bool admit_exempt(const struct conf *c, const char *addr);

/* The key the per-address limits count addr under: an IPv4 address as it
 * is ("::ffff:192.0.2.7" is 192.0.2.7), an IPv6 one as its /64
 * ("2001:db8:1:2::/64"). */
void admit_key(const char *addr, char *key, size_t size);

/* Do a and b count as one client for the per-address limits? */
bool admit_same_client(const char *a, const char *b);

/* Records one new connection from addr for svc and says whether it may be
 * served: concurrent is the number of sessions from addr in svc already
 * running (this one excluded), busy the sessions the pool serves. */
/* The concurrent sessions one address may hold on svc (0: no limit):
 * max-sessions-per-ip, or imap-max-sessions-per-ip for IMAP. */
uint32_t admit_sessions_limit(const struct conf *c, enum service svc);

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
