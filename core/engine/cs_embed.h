/* cs_embed.h: internals of the embedded API (codeset/codeset.h) that benchmarks and tests use.
 *
 * cs_db_lookup reads the entry directly (normalise, resolve the release, one LMDB get, decode
 * the entry, copy its texts into the handle). Tests and the bench also answer the same lookup
 * the other way, through the handle's engine (tests/embed_engine.c), to hold the two alike
 * (tests/check_embed.c) and to print what each costs (tests/bench/bench_broker.c).
 */
#ifndef CS_EMBED_H
#define CS_EMBED_H

#include "codeset/codeset.h"
#include "engine/cs_query.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The handle's query engine (owned by db), or NULL when db is not an open handle. */
cs_engine_t *cs_embed_engine(cs_db_t *db);

/* Check a lookup's arguments as cs_db_lookup does and fill req with its system and release
 * selection (op lookup, no code yet). CS_OK, or the error cs_db_lookup would give. */
int cs_embed_check(cs_db_t *db, const char *system, const char *code, const cs_db_query_t *q,
                   cs_request_t *req, cs_error_t *err);

/* The CS_E* code the embedded API gives for a protocol error. */
int cs_embed_error(cs_proto_err_t e);

#ifdef __cplusplus
}
#endif
#endif /* CS_EMBED_H */
