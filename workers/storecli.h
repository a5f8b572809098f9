/* The worker side of the store channel: one request, one answer. */
#ifndef POSTERN_STORECLI_H
#define POSTERN_STORECLI_H

#include "../privsep/params.h"
#include "../privsep/ipc.h"
#include "worker.h"

/*
 * Sends req (its id is set here) and waits up to timeout_ms for the answer
 * of type expect with the same id.  0 with *ans filled (ans->fd owned by the
 * caller); -1 when the store is gone, silent or answered nonsense: the
 * caller answers the client with a temporary error.  A dead store channel
 * stays dead for the rest of this worker's life (the master recycles it).
 * Answers still owed to store_send() requests are collected first (after
 * req is sent, so the store can serve both in one pass).
 */
int store_call(struct session *s, struct ipc_msg *req, struct ipc_msg *ans,
    uint32_t expect, int timeout_ms);

/*
 * Pipelining for requests whose only good answer is a lone u32 STORE_OK
 * (MSG_DELE): store_send() sends req without waiting and remembers that an
 * answer of type expect with req's id is owed; store_collect() reads every
 * owed answer, in order, and checks each (type, id, STORE_OK, no fd, no
 * trailing bytes).  Still one answer per request, in request order.  Any
 * failure, including a refusal, makes the channel dead (-1): the caller
 * answers with a temporary error and must not commit.  At most
 * STORE_OWED_MAX_COUNT answers are owed at once (store_send() collects first
 * when the window is full), so the store's answers never fill the socket.
 * Every path that ends a session (COMMIT, RELEASE) goes through
 * store_call(), which collects.
 */
int store_send(struct session *s, struct ipc_msg *req, uint32_t expect,
    int timeout_ms);
int store_collect(struct session *s, int timeout_ms);

/* Has the store channel failed? */
int store_dead(void);

#endif
