/* cs_embed.h: internals of the embedded API (codeset/codeset.h) that benchmarks and tests use.
 *
 * cs_db_lookup reads the entry directly (normalise, resolve the release, one LMDB get, decode
 * the entry, copy its texts into the handle). The function below answers the same lookup the
 * other way: a cs_request_t handed to the broker's engine (cs_engine_handle) and the msgpack
 * reply decoded back into the struct. Both must answer alike (tests/check_embed.c checks);
 * the bench prints what each costs (tests/bench/bench_broker.c).
 */
#ifndef CS_EMBED_H
#define CS_EMBED_H

#include "codeset/codeset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cs_db_lookup through the engine and its msgpack reply; same contract. */
int cs_embed_lookup_engine(cs_db_t *db, const char *system, const char *code,
                           const cs_db_query_t *q, cs_db_entry_t *out, cs_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* CS_EMBED_H */
