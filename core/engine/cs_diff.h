/* cs_diff.h: what changed between two releases of one system (the diff op).
 *
 * Walks both releases' codes inside one reader snapshot: added, deleted, revised titles and
 * billable changes, each list capped by the request's limit (default CS_DIFF_LIMIT) with the
 * full sizes in counts. Runs on the calling thread; allocates only the capped lists.
 */
#ifndef CS_DIFF_H
#define CS_DIFF_H

#include <stdint.h>

#include "engine/cs_out.h"
#include "store/cs_entry.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_DIFF_LIMIT 1000

/* Answer a diff between release ids from and to (both of system) into out. Returns
 * CS_PERR_NONE, or the error written (internal on a corrupt store or out of memory). */
cs_proto_err_t cs_diff_answer(cs_reader_t *r, const char *system, uint32_t from,
                              cs_span_t from_label, uint32_t to, cs_span_t to_label,
                              const cs_request_t *req, cs_out_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_DIFF_H */
