/* cs_diff_sets.h: what changed between two releases of one edit set (the diff op on an edit
 * set: docs/PROTOCOL.md, diff).
 *
 * An edit set is a map-set release whose maps go to "edit-set" (poa-exempt, mce, ncci-ptp,
 * ncci-mue): each list a map of rows keyed by a code, a row's relationship its data. The
 * diff walks each list of both releases side by side, in code order, inside one reader
 * snapshot: the rows only the newer release has (added), only the older (deleted), and the
 * rows of the same code (and, for the sets whose rows pair a code with another, the same
 * pair: ncci-ptp's column 2) whose data differs (changed). Each list capped by the request's
 * limit (default CS_DIFF_LIMIT) with the full sizes in counts. Runs on the calling thread;
 * allocates only the capped lists and one code's rows at a time.
 */
#ifndef CS_DIFF_SETS_H
#define CS_DIFF_SETS_H

#include <stdint.h>

#include "engine/cs_out.h"
#include "load/cs_plugin_host.h"
#include "store/cs_catalog.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when rel (read from the catalog) is an edit set: a map set whose maps go to "edit-set". */
int cs_diff_sets_is_set(const cs_release_t *rel);

/* Answer a diff between the edit-set releases from and to (both read from the catalog, of
 * the same set) into out; plugins (borrowed) give the codes' display forms. Returns
 * CS_PERR_NONE, or the error written (internal on a corrupt store or out of memory). */
cs_proto_err_t cs_diff_sets_answer(cs_reader_t *r, const cs_plugin_host_t *plugins,
                                   const cs_release_t *from,
                                   const cs_release_t *to, const cs_request_t *req,
                                   cs_out_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_DIFF_SETS_H */
