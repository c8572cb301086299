/* cs_verify.h: each release's checksum over its records, and the verifier that checks it.
 *
 * LMDB keeps no checksums: a flipped byte in the data file changes answers silently. So at
 * publish the load thread computes a SHA-256 over the release's records, in key order,
 * database by database (CS_DB_CODES, CS_DB_CHILDREN, CS_DB_SEARCH, CS_DB_MAPS, CS_DB_RMAPS),
 * each record framed as [db u8][key length u16][value length u32][key][value], and stores it
 * in the release's catalog record (cs_release_t.checksum). The verifier recomputes it: in the
 * background at the broker's start (queries are answered meanwhile), and again on the admin
 * op `verify`. A release whose records no longer give its checksum (or whose pages cannot be
 * read) is marked on the store (cs_store_release_fail): every query that resolves to it is
 * refused with corrupt_release, saying why. Releases published before checksums existed are
 * reported "no checksum" and keep answering.
 */
#ifndef CS_VERIFY_H
#define CS_VERIFY_H

#include <msgpack.h>
#include <stdatomic.h>
#include <stdint.h>

#include "wire/cs_proto.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The checksum of release's records into hex[65] (64 hex digits), *records their count (may
 * be NULL). Reads in short snapshots of its own (r must not be begun); the records of a
 * published release never change, so the snapshots agree. stop (may be NULL) is polled
 * between snapshots. CS_OK; CS_EMALFORMED when a page cannot be read (err says where);
 * CS_ETERM when stopped; CS_EINTERNAL when the store cannot be read. */
int cs_verify_checksum(cs_reader_t *r, uint32_t release, char hex[65], uint64_t *records,
                       atomic_int *stop, cs_error_t *err);

typedef struct cs_verify cs_verify_t;

/* Start the verifier thread over store (borrowed; it must outlive the verifier). Its first
 * pass, over every active and retired release, starts at once; the call does not wait for
 * it. NULL with err set (CS_ENOMEM, CS_EINTERNAL when the thread cannot start). */
cs_verify_t *cs_verify_start(cs_store_t *store, cs_error_t *err);

/* Stop a pass in progress (between two snapshots), join the thread and free; *v becomes
 * NULL. Accepts NULL. */
void cs_verify_destroy(cs_verify_t **v);

/* Answer the admin op `verify` into pk (see PROTOCOL.md): without "job", start a pass (or
 * join the one waiting to run) and report it; with "job" ("verify-N"), report pass N. Never
 * blocks on a pass. Thread-safe. */
cs_proto_err_t cs_verify_answer(cs_verify_t *v, const cs_request_t *req, msgpack_packer *pk);

#ifdef __cplusplus
}
#endif
#endif /* CS_VERIFY_H */
