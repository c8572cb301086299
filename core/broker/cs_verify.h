/* cs_verify.h: the verifier of release checksums (store/cs_checksum.h): it recomputes them in the
 * background at the broker's start (queries are answered meanwhile), and again on the admin
 * op `verify`. A release whose records no longer give its checksum (or whose pages cannot be
 * read) is marked on the store (cs_store_release_fail): every query that resolves to it is
 * refused with corrupt_release, saying why. Releases published before checksums existed are
 * reported "no checksum" and keep answering.
 */
#ifndef CS_VERIFY_H
#define CS_VERIFY_H

#include <stdatomic.h>
#include <stdint.h>

#include "engine/cs_out.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_verify cs_verify_t;

/* Start the verifier thread over store (borrowed; it must outlive the verifier). Its first
 * pass, over every active and retired release, starts at once; the call does not wait for
 * it. Each step of its work waits while busy_ns (CLOCK_MONOTONIC ns of the last query the
 * broker answered, written by the broker; NULL: never wait) is recent (cs_pace.h). NULL with
 * err set (CS_ENOMEM, CS_EINTERNAL when the thread cannot start). */
cs_verify_t *cs_verify_start(cs_store_t *store, const _Atomic uint64_t *busy_ns,
                             cs_error_t *err);

/* Stop a pass in progress (between two snapshots), join the thread and free; *v becomes
 * NULL. Accepts NULL. */
void cs_verify_destroy(cs_verify_t **v);

/* Answer the admin op `verify` into out (see PROTOCOL.md): without "job", start a pass (or
 * join the one waiting to run) and report it; with "job" ("verify-N"), report pass N. Never
 * blocks on a pass. Thread-safe. */
cs_proto_err_t cs_verify_answer(cs_verify_t *v, const cs_request_t *req, cs_out_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_VERIFY_H */
