/* cs_checksum.h: each release's checksum over its records.
 *
 * LMDB keeps no checksums: a flipped byte in the data file changes answers silently. So at
 * publish the load thread computes a SHA-256 over the release's records, in key order,
 * database by database (CS_DB_CODES, CS_DB_CHILDREN, CS_DB_SEARCH, CS_DB_MAPS, CS_DB_RMAPS,
 * CS_DB_NOTEREFS, CS_DB_CODEIDX: a release loaded before one of them existed has no records in
 * it, so its checksum is unchanged),
 * each record framed as [db u8][key length u16][value length u32][key][value], and stores it
 * in the release's catalog record (cs_release_t.checksum). The verifier (broker/cs_verify.h)
 * recomputes it.
 */
#ifndef CS_CHECKSUM_H
#define CS_CHECKSUM_H

#include <stdatomic.h>
#include <stdint.h>

#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The checksum of release's records into hex[65] (64 hex digits), *records their count (may
 * be NULL). Reads in short snapshots of its own (r must not be begun); the records of a
 * published release never change, so the snapshots agree. Each snapshot waits on pace
 * (cs_pace.h; may be NULL), which may stop it. CS_OK; CS_EMALFORMED when a page cannot be read (err
 * says where); CS_ETERM when stopped; CS_EINTERNAL when the store cannot be read. */
int cs_checksum_release(cs_reader_t *r, uint32_t release, char hex[65], uint64_t *records,
                       cs_pace_t *pace, cs_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* CS_CHECKSUM_H */
