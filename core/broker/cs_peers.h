/* cs_peers.h: what each client connection of the query endpoint holds in the broker, and the
 * fair queue of its requests waiting for a worker.
 *
 * Why. ZeroMQ bounds a connection's queue of unread replies in messages (ZMQ_SNDHWM), not in
 * bytes: a client that pipelines large searches and never reads grew the broker by gigabytes,
 * and a client that pipelines thousands of slow requests held every other client's behind
 * them at the workers. So the broker keeps, per connection (its routing identity):
 *   - the bytes of the replies it gave ZeroMQ that ZeroMQ has not yet written or dropped
 *     (counted down from ZeroMQ's free callback, in its I/O thread), and of its requests
 *     waiting for a worker; past a bound the broker answers `busy` instead;
 *   - its waiting requests, in order; the broker hands them to the workers one connection
 *     at a time, round-robin, so a connection with thousands waiting delays another's
 *     request by one turn, not by thousands.
 *
 * Ownership. A peer (cs_peer_t) belongs to its set; it stays while it has replies out,
 * requests waiting, or requests at the workers (cs_peer_at_workers), and cs_peers_sweep frees
 * it after that. Hand-overs are owned by the set while they wait, by the caller once
 * cs_peers_next returns them.
 *
 * Thread-safety. Everything belongs to the broker's thread, except cs_peer_give_back, which
 * ZeroMQ's I/O thread calls. Destroy the set after the ZeroMQ context has terminated.
 */
#ifndef CS_PEERS_H
#define CS_PEERS_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_PEERS_ID_MAX 255 /* a ZeroMQ routing identity is 1..255 bytes */

typedef struct cs_peer cs_peer_t;
typedef struct cs_peers cs_peers_t;

/* A request waiting for a worker: its envelope frames and body, as received. */
typedef struct cs_handover {
    struct cs_handover *next; /* in its peer's queue */
    cs_peer_t *peer;          /* whose request it is */
    uint32_t codes;           /* its slicing units (cs_op_slice_units), else 0 */
    size_t bytes;             /* what it is charged to its peer */
    int n;                    /* frames */
    zmq_msg_t frames[];       /* envelope frames, then the body */
} cs_handover_t;

/* A set whose peers may each hold up to max_bytes (unread replies plus waiting requests).
 * NULL when out of memory. */
cs_peers_t *cs_peers_new(uint64_t max_bytes);
/* Free the set, its peers and any hand-over still waiting (closing their frames). *set
 * becomes NULL; NULL is accepted. */
void cs_peers_destroy(cs_peers_t **set);

/* The peer of routing identity id (len bytes), added if new. NULL when out of memory or
 * len is 0 or over CS_PEERS_ID_MAX. */
cs_peer_t *cs_peers_get(cs_peers_t *set, const void *id, size_t len);
/* 1 when peer holds more than the set's bound: answer `busy`. */
int cs_peer_over(const cs_peers_t *set, const cs_peer_t *peer);
/* Bytes peer holds now: unread replies and waiting requests. */
uint64_t cs_peer_held(const cs_peer_t *peer);

/* A reply of bytes is lent to ZeroMQ for peer (broker thread), and given back when ZeroMQ
 * frees it (any thread). Each lend is one loan, ended by exactly one give-back: the set frees
 * a peer only once every loan has ended. */
void cs_peer_lend(cs_peer_t *peer, size_t bytes);
void cs_peer_give_back(cs_peer_t *peer, size_t bytes);
/* A loan that grows and shrinks (the direct front's unwritten bytes of one connection, which
 * it writes in as many pieces as the socket takes): bytes added to, or given back from, an
 * open loan without ending it; the last bytes go back with cs_peer_give_back. Broker's thread
 * only. */
void cs_peer_lend_more(cs_peer_t *peer, size_t bytes);
void cs_peer_give_back_part(cs_peer_t *peer, size_t bytes);

/* A hand-over went to the workers (+1) or its answer came back (-1). */
void cs_peer_at_workers(cs_peer_t *peer, int delta);

/* A new hand-over of n frames (moved from frames, which are left empty) for peer, not yet
 * queued. NULL when out of memory (the frames are left as they were). */
cs_handover_t *cs_handover_new(cs_peer_t *peer, zmq_msg_t *frames, int n, uint32_t codes);
/* Close its frames and free it. NULL is accepted. */
void cs_handover_destroy(cs_handover_t **h);

/* Queue h behind its peer's other waiting hand-overs (the set takes it). */
void cs_peers_enqueue(cs_peers_t *set, cs_handover_t *h);
/* The oldest waiting hand-over of the next peer in turn (the caller takes it), or NULL when
 * none waits. */
cs_handover_t *cs_peers_next(cs_peers_t *set);
/* Hand-overs waiting, over all peers. */
size_t cs_peers_waiting(const cs_peers_t *set);

/* Free the peers that hold nothing and have nothing at the workers. Returns how many are
 * left. */
size_t cs_peers_sweep(cs_peers_t *set);
/* Peers the set keeps now (those a sweep has not freed). */
size_t cs_peers_count(const cs_peers_t *set);

#ifdef __cplusplus
}
#endif
#endif /* CS_PEERS_H */
