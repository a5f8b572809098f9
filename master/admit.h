/*
 * Connection admission (issue 7): sessions per client address, new
 * connections per client address per minute, and a full pool.  The master
 * decides, because only it sees every worker; the worker asks with
 * MSG_STATUS busy and turns the client away itself on a refusal.
 */
#ifndef POSTERN_ADMIT_H
#define POSTERN_ADMIT_H

#include <stdint.h>
#include "../privsep/conf.h"

/* Records one new connection from addr for svc and says whether it may be
 * served: concurrent is the number of sessions from addr in svc already
 * running (this one excluded), busy the sessions the pool serves. */
uint32_t admit_check(const struct conf *c, enum service svc, const char *addr,
    uint32_t concurrent, uint32_t busy, uint64_t now_ms);

#endif
