/* embed_engine.h: a lookup of the embedded API answered through the handle's engine and
 * its wire reply (msgpack written, then read back), for tests and the bench to hold against
 * cs_db_lookup's direct read. Same contract as cs_db_lookup; texts point into a buffer that
 * the next call reuses. Not thread-safe (one static buffer). */
#ifndef EMBED_ENGINE_H
#define EMBED_ENGINE_H

#include "codeset/codeset.h"

int cs_embed_lookup_engine(cs_db_t *db, const char *system, const char *code,
                           const cs_db_query_t *q, cs_db_entry_t *out, cs_error_t *err);

#endif /* EMBED_ENGINE_H */
