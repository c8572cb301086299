/* cs_slices.h: a long validate or claims answered in slices by the workers together, then
 * joined.
 *
 * A request of at least CS_SLICES_MIN units (cs_op_slice_units: a validate's codes; a claim
 * of a claims weighs CS_OP_CLAIM_UNITS, so 8 claims or more) is cut into slices of at least
 * CS_SLICES_CODES units (one per worker, at most CS_SLICES_MAX): the workers answer them at
 * the same time (cs_engine_part) and the joined reply is byte for byte the one a single
 * worker would give; on two cores 1,000 codes take half the time. Each slice reports the
 * store snapshot it read: when they differ (a release was published between them) or a
 * slice failed, the request is answered whole by one worker instead. At most CS_SLICES_JOINS
 * requests are joined at once; past that they go to one worker whole.
 *
 * The hand-over format is cs_workers.h's. Thread-safety: one thread (the broker's) owns a
 * set; the reply pool it takes joined replies from is that thread's too.
 */
#ifndef CS_SLICES_H
#define CS_SLICES_H

#include <stdint.h>
#include <zmq.h>

#include "broker/cs_peers.h"
#include "broker/cs_replypool.h"
#include "broker/cs_workers.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_SLICES_MIN 256
#define CS_SLICES_CODES 128
#define CS_SLICES_MAX 8
#define CS_SLICES_JOINS 32
#define CS_SLICES_ENVELOPE 15 /* envelope frames a joined request may have */

typedef struct cs_slices cs_slices_t;

/* A request whose slices are all in. */
typedef struct cs_joined {
    int n_env;
    zmq_msg_t env[CS_SLICES_ENVELOPE]; /* the client's envelope (the caller closes them) */
    cs_peer_t *peer;                   /* its connection */
    uint64_t t0;                       /* when it was split (CLOCK_MONOTONIC ns) */
    int whole;                         /* 1: answer it whole; body holds the request */
    zmq_msg_t body;                    /* (the caller closes it) */
    void *reply;                       /* when !whole: the joined reply, a buffer taken from
                                        * the pool (NULL when none could be had) */
    size_t len;
} cs_joined_t;

/* A set of joins taking joined replies from pool (borrowed). NULL when out of memory. */
cs_slices_t *cs_slices_new(cs_replypool_t *pool);
/* Free it, closing what open joins hold. *s becomes NULL; NULL is accepted. */
void cs_slices_destroy(cs_slices_t **s);

/* Send h (a request of h->codes units) to the workers' socket ws in slices for workers
 * workers; its frames are taken. Returns the slices sent, or 0 when it is not worth it or
 * there is no room (h is left as it was: forward it whole). */
int cs_slices_split(cs_slices_t *s, void *ws, int workers, cs_handover_t *h);

/* A slice came back (its part header, bytes and meta; bytes are taken). 1 when it was its
 * request's last: *out is then filled and the join is over. 0 otherwise (a slice of an
 * unknown or finished join is dropped, and logged). */
int cs_slices_add(cs_slices_t *s, const cs_worker_part_t *part, zmq_msg_t *bytes,
                  const cs_worker_meta_t *meta, cs_joined_t *out);

/* Joins open now. */
int cs_slices_open(const cs_slices_t *s);

#ifdef __cplusplus
}
#endif
#endif /* CS_SLICES_H */
