/* The worker side of the store channel: one request, one answer. */
#ifndef POSTERN_STORECLI_H
#define POSTERN_STORECLI_H

#include "../privsep/ipc.h"
#include "worker.h"

/*
 * Sends req (its id is set here) and waits up to timeout_ms for the answer
 * of type expect with the same id.  0 with *ans filled (ans->fd owned by the
 * caller); -1 when the store is gone, silent or answered nonsense: the
 * caller answers the client with a temporary error.  A dead store channel
 * stays dead for the rest of this worker's life (the master recycles it).
 */
int store_call(struct session *s, struct ipc_msg *req, struct ipc_msg *ans,
    uint32_t expect, int timeout_ms);

/* Has the store channel failed? */
int store_dead(void);

#endif
