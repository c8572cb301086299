/* cs_crosswalk.h: the crosswalk op over the map sets in the store.
 *
 * Two kinds of question:
 *  - between two systems ("from":"icd9cm","to":"icd10cm"): the rows of the newest active map
 *    set that joins them (or the one "map" names), forward or, with "reverse", which sources
 *    map to the code; targets carry their titles from the target system's release in effect
 *    ("date", "to_release", or the newest);
 *  - one system across releases ("from" = "to", "release" -> "to_release"): the code carried
 *    through every conversion table (a map of the system onto itself) loaded between the two
 *    releases' effective dates; codes no table mentions carry over unchanged. A self-map
 *    named by a month ("oct2017", "apr2023") takes effect on its first day, one named by a
 *    date ("2023-04-15") on that day, any other at its release's effective date; a map
 *    repeated by two loaded tables is applied once.
 * A release it would read that failed its integrity check (cs_store_release_failed) answers
 * corrupt_release instead: the map set's, the titles', or either end of a conversion.
 * Runs inside the caller's reader snapshot; allocates only the catalog list.
 */
#ifndef CS_CROSSWALK_H
#define CS_CROSSWALK_H

#include "engine/cs_out.h"
#include "load/cs_plugin_host.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_CROSSWALK_MAX 4096 /* targets in one reply (GEMs: at most 1,287 for one source) */

cs_proto_err_t cs_crosswalk_answer(cs_store_t *store, cs_reader_t *r,
                                   const cs_plugin_host_t *plugins,
                                   const cs_request_t *req, cs_out_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_CROSSWALK_H */
