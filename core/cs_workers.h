/* cs_workers.h: threads that answer the slow query ops (search, diff, crosswalk, validates of
 * many codes), so that one of them never holds up the lookups queued behind it.
 *
 * The broker's thread keeps answering the cheap ops itself (a hop to another thread costs a
 * cross-CPU wake-up, more than a lookup); it hands a slow request, whole (its envelope frames
 * and body), to cs_workers_sock() and later reads the answer back from the same socket:
 *   to the workers:   [envelope frames...] [request body]
 *   from the workers: [envelope frames...] [reply body] [cs_worker_meta_t]
 * and sends the envelope and the reply on its ROUTER. The socket is a DEALER bound to an
 * inproc endpoint; each worker connects its own DEALER, so requests go round-robin and
 * answers come back fair-queued. Each worker owns a query engine (a store reader).
 *
 * Thread-safety: cs_workers_sock() belongs to the broker's thread. Stop: shut the ZeroMQ
 * context down first (zmq_ctx_shutdown), then cs_workers_stop() joins the threads, then the
 * broker closes its own sockets and terminates the context.
 */
#ifndef CS_WORKERS_H
#define CS_WORKERS_H

#include <stdint.h>

#include "codeset/cs_error.h"
#include "cs_codeidx.h"
#include "cs_plugin_host.h"
#include "cs_store.h"

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

/* A part: one slice of a long validate, which the broker spreads over the workers so that
 * they answer it together, then joins (cs_engine_validate_part).
 *   to the workers:   [cs_worker_part_t] [request body]
 *   from the workers: [cs_worker_part_t] [packed slice] [cs_worker_meta_t]
 * Its first frame never looks like an envelope: a ROUTER identity is 5 bytes when it starts
 * with a zero byte (ZeroMQ reserves those for the ones it makes). */
#define CS_WORKER_PART_MAGIC 0x50415254u /* "PART" */
typedef struct cs_worker_part {
    uint8_t zero;    /* 0 */
    uint8_t pad[3];
    uint32_t magic;  /* CS_WORKER_PART_MAGIC */
    uint32_t seq;    /* the broker's tag of the request being joined */
    uint16_t index;  /* this slice, 0 .. count - 1; slice 0 carries the reply's opening */
    uint16_t count;
    uint32_t lo, hi; /* codes [lo, hi) of the request */
} cs_worker_part_t;

/* 1 if a frame of len bytes is a cs_worker_part_t (copied into *part when not NULL). */
int cs_worker_part_read(const void *frame, size_t len, cs_worker_part_t *part);

typedef struct cs_workers cs_workers_t;

/* Start n (1..64) workers in zctx over store, plugins and the code indexes of index (all
 * borrowed; they outlive the workers; index may be NULL). max_limit is the broker's
 * search-limit ceiling. NULL with err set on failure. */
cs_workers_t *cs_workers_start(void *zctx, cs_store_t *store, const cs_plugin_host_t *plugins,
                               cs_codeidx_set_t *index, int n, uint32_t max_limit,
                               cs_error_t *err);
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
