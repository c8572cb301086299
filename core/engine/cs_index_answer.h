/* cs_index_answer.h: the index op (docs/PROTOCOL.md, index): a request's table, q, path,
 * follow, release and date become a cs_index_query_t (cs_index.h), and its result the reply.
 *
 * Thread-safety: as cs_index_run (one thread's reader, inside its snapshot).
 */
#ifndef CS_INDEX_ANSWER_H
#define CS_INDEX_ANSWER_H

#include "load/cs_plugin_host.h"
#include "store/cs_store.h"
#include "engine/cs_out.h"
#include "engine/cs_request.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Answer req into out (the reply or an error reply); returns the error written, or
 * CS_PERR_NONE. */
cs_proto_err_t cs_index_answer(cs_store_t *store, cs_reader_t *r,
                               const cs_plugin_host_t *plugins, const cs_request_t *req,
                               cs_out_t *out);

/* The search op's index source ("include":["index"]): the terms of every table of the index
 * set in effect on the request's date (or the newest) that match its q, as the index op's
 * rows, each with its "table"; written as {"release", "total", "rows"} (release nil and a
 * "message" when no index set answers). */
typedef struct cs_index_source {
    cs_store_t *store;
    cs_reader_t *r;
    const cs_plugin_host_t *plugins;
    const cs_request_t *req;
} cs_index_source_t;

void cs_index_source_write(void *arg, cs_out_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_INDEX_ANSWER_H */
