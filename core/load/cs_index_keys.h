/* cs_index_keys.h: the built-in "system" of an index set (CS_LOADER_INDEX, cs_plugin.h). An
 * index set has no system plugin: its keys (core/store/cs_index_format.h) are taken as they
 * are. The load host files its records through this descriptor, and the resolver
 * (engine/cs_resolve.c) answers for the set's name with it, so lookup, search, diff,
 * releases, retire and drop reach an index set like any release.
 *
 * Thread-safety: constant data.
 */
#ifndef CS_INDEX_KEYS_H
#define CS_INDEX_KEYS_H

#include <stddef.h>

#include "codeset/cs_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The descriptor (kind system, name CS_INDEX_SET) whose normalize accepts index set keys. */
const cs_plugin_desc_t *cs_index_keys_system(void);

/* cs_index_keys_system() when name[0..n) is CS_INDEX_SET, else NULL. */
const cs_plugin_desc_t *cs_index_keys_for(const char *name, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* CS_INDEX_KEYS_H */
