/* cs_replypool.h: reply buffers lent to ZeroMQ and given back when it is done with them.
 *
 * Why. zmq_send copies a reply into memory it allocates in the broker's thread, and the
 * ZeroMQ I/O thread frees it once written to the socket. glibc frees a chunk of a few
 * hundred bytes from another thread's arena under that arena's lock, so under pipelining
 * both threads take the lock for every message and contend for it (futex calls on both
 * sides). A pooled buffer is never freed: ZeroMQ's free callback pushes it back on a
 * lock-free stack, and the broker's thread pops it for a later reply.
 *
 * Replies larger than a pooled buffer get a buffer of their own, freed when ZeroMQ is done.
 * Either way a reply may be charged to a client connection (cs_peers.h) from the send until
 * ZeroMQ frees it: that is how the broker knows how many bytes of replies a client has not
 * read.
 *
 * Thread-safety. cs_replypool_send and cs_replypool_take are called by one thread only (the
 * broker's); the buffers come back from any thread. Destroy the pool only after the ZeroMQ
 * context has terminated (then every message it lent has been closed).
 */
#ifndef CS_REPLYPOOL_H
#define CS_REPLYPOOL_H

#include <stddef.h>

#include "broker/cs_peers.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_replypool cs_replypool_t;

/* A pool of n buffers of size bytes each. NULL when out of memory. */
cs_replypool_t *cs_replypool_new(size_t n, size_t size);
/* Free the pool (see above for when). *pool becomes NULL; NULL is accepted. */
void cs_replypool_destroy(cs_replypool_t **pool);

/* Buffers free now (for tests and stats; exact only while no message is in flight). */
size_t cs_replypool_free_count(cs_replypool_t *pool);

/* Send len bytes on sock (flags as zmq_send's) as one message, charged to peer (may be
 * NULL) until ZeroMQ frees it. Returns what zmq_send would. */
int cs_replypool_send(cs_replypool_t *pool, void *sock, const void *data, size_t len,
                      int flags, cs_peer_t *peer);

/* A buffer of len bytes to fill and then send with cs_replypool_send_taken, or give back with
 * cs_replypool_put_back. NULL when out of memory. */
void *cs_replypool_take(cs_replypool_t *pool, size_t len);
/* Send a taken buffer's len bytes, charged to peer (may be NULL); the buffer is the pool's
 * again whatever the outcome. Returns what zmq_send would. */
int cs_replypool_send_taken(cs_replypool_t *pool, void *sock, void *data, size_t len,
                            int flags, cs_peer_t *peer);
/* Give back a taken buffer that was not sent. */
void cs_replypool_put_back(cs_replypool_t *pool, void *data);

#ifdef __cplusplus
}
#endif
#endif /* CS_REPLYPOOL_H */
