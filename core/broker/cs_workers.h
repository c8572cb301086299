/* cs_workers.h: threads that answer the slow query ops (search, diff, crosswalk, validates of
 * many codes), so that one of them never holds up the lookups queued behind it.
 *
 * The broker's thread keeps answering the cheap ops itself (a hop to another thread costs a
 * cross-CPU wake-up, more than a lookup); it hands a slow request, whole (its envelope frames
 * and body), to cs_workers_sock() and later reads the answer back from the same socket:
 *   to the workers:   [CS_WORKER_WHOLE] [envelope frames...] [request body]
 *   from the workers: [CS_WORKER_WHOLE] [envelope frames...] [reply body] [cs_worker_meta_t]
 * and sends the envelope and the reply on its ROUTER. The first frame, one byte, is always
 * the broker's own, never a client's: the envelope is whatever the client's peer sent
 * (a client picks its own routing identity, ZMQ_ROUTING_ID), so nothing in it may ever be
 * read as the broker's own traffic. The socket is a DEALER bound to an inproc endpoint that
 * only this process can reach; each worker connects its own DEALER, so requests go
 * round-robin and answers come back fair-queued. Each worker owns a query engine (a store
 * reader).
 *
 * Thread-safety: cs_workers_sock() belongs to the broker's thread. Stop: shut the ZeroMQ
 * context down first (zmq_ctx_shutdown), then cs_workers_stop() joins the threads, then the
 * broker closes its own sockets and terminates the context.
 */
#ifndef CS_WORKERS_H
#define CS_WORKERS_H

#include <stdint.h>

#include "codeset/cs_error.h"
#include "engine/cs_search_cache.h"
#include "load/cs_plugin_host.h"
#include "store/cs_codeidx.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The last frame of an answer: what the broker's stats record. */
typedef struct cs_worker_meta {
    uint32_t op;       /* cs_op_t */
    uint32_t err;      /* cs_proto_err_t */
    uint64_t ns;       /* time the worker spent on it */
    uint64_t snapshot; /* a part's store snapshot (cs_reader_snapshot); 0 otherwise */
} cs_worker_meta_t;

/* What a hand-over is: its first frame, one byte. */
#define CS_WORKER_WHOLE 'W' /* a client's request: envelope frames and body follow */
#define CS_WORKER_PART 'P'  /* a slice of one: a cs_worker_part_t and the body follow */
/* Frames of a hand-over at most: the kind, the envelope (at most max_envelope frames, the
 * broker's bound), the body, and on the way back the meta. */
#define CS_WORKER_FRAMES(max_envelope) ((max_envelope) + 3)

/* A part: one slice of a long validate or claims, which the broker spreads over the workers so that
 * they answer it together, then joins (cs_engine_part).
 *   to the workers:   [CS_WORKER_PART] [cs_worker_part_t] [request body]
 *   from the workers: [CS_WORKER_PART] [cs_worker_part_t] [packed slice] [cs_worker_meta_t] */
#define CS_WORKER_PART_MAGIC 0x50415254u /* "PART": a check against a corrupt hand-over */
typedef struct cs_worker_part {
    uint32_t magic;  /* CS_WORKER_PART_MAGIC */
    uint32_t seq;    /* the broker's tag of the request being joined */
    uint16_t index;  /* this slice, 0 .. count - 1; slice 0 carries the reply's opening */
    uint16_t count;
    uint32_t lo, hi; /* codes [lo, hi) of the request */
} cs_worker_part_t;

/* The kind of a hand-over whose first frame is frame (len bytes): CS_WORKER_WHOLE,
 * CS_WORKER_PART, or 0 when it is neither. */
int cs_worker_kind(const void *frame, size_t len);

/* 1 if a frame of len bytes is a cs_worker_part_t (copied into *part when not NULL). */
int cs_worker_part_read(const void *frame, size_t len, cs_worker_part_t *part);

typedef struct cs_workers cs_workers_t;

/* Start n (1..64) workers in zctx over store, plugins, the code indexes of index and the
 * search results of searches (all borrowed; they outlive the workers; index and searches may
 * be NULL: each worker's own). max_limit is the broker's search-limit ceiling. NULL with err
 * set on failure. */
cs_workers_t *cs_workers_start(void *zctx, cs_store_t *store, const cs_plugin_host_t *plugins,
                               cs_codeidx_set_t *index, cs_search_cache_t *searches, int n,
                               uint32_t max_limit, cs_error_t *err);
/* The broker's end: send requests to it, poll it and read answers from it. */
void *cs_workers_sock(cs_workers_t *w);
/* Number of worker threads. */
int cs_workers_count(const cs_workers_t *w);
/* Join the threads (after zmq_ctx_shutdown), close the broker's end; *w becomes NULL. */
void cs_workers_stop(cs_workers_t **w);

#ifdef __cplusplus
}
#endif
#endif /* CS_WORKERS_H */
