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
    uint32_t op;  /* cs_op_t */
    uint32_t err; /* cs_proto_err_t */
    uint64_t ns;  /* time the worker spent on it */
} cs_worker_meta_t;

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
