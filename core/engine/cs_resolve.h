/* cs_resolve.h: one resolver. A system and a release selection (a label, a date of service,
 * or neither: the newest release in effect) become a release of the store, or a typed error
 * with the sentence a person can act on. The engine (the broker and its workers) and the
 * embedded API both resolve through it, so they answer alike.
 *
 * Thread-safety: as the reader and memo passed in (one thread's, inside its snapshot).
 */
#ifndef CS_RESOLVE_H
#define CS_RESOLVE_H

#include "codeset/cs_plugin.h"
#include "engine/cs_out.h"
#include "load/cs_plugin_host.h"
#include "store/cs_catalog.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_resolution {
    const cs_plugin_desc_t *sys; /* the system's plugin; NULL when unknown */
    cs_resolved_t rel;           /* the release, when err is CS_PERR_NONE */
    cs_proto_err_t err;          /* CS_PERR_NONE, _UNKNOWN_SYSTEM, _UNKNOWN_RELEASE or
                                  * _NO_RELEASE_FOR_DATE */
    char msg[256];               /* why, when err is not CS_PERR_NONE */
} cs_resolution_t;

/* Resolve system (a plugin's id) with release (a label; empty for none) or else date
 * (yyyymmdd; 0 for none) in r's current snapshot; memo (may be NULL) remembers the release
 * in effect per snapshot. Returns out->err. */
cs_proto_err_t cs_resolve(cs_reader_t *r, cs_catalog_memo_t *memo,
                          const cs_plugin_host_t *plugins, cs_str_t system, cs_str_t release,
                          int date, cs_resolution_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_RESOLVE_H */
