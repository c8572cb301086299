/* cs_tstore.h: a codesetd's database opened read-only in the test's own process (Check forks
 * each test, and an LMDB reader never crosses a fork), with a reader and the build's plugins:
 * what a suite needs to check claims through the engine (cs_claim_check) rather than a broker
 * round trip a claim. Not thread-safe: one reader. */
#ifndef CS_TSTORE_H
#define CS_TSTORE_H

#include "load/cs_plugin_host.h"
#include "store/cs_store.h"

typedef struct cs_tstore {
    cs_store_t *store;
    cs_reader_t *reader;
    cs_plugin_host_t *plugins;
} cs_tstore_t;

/* Open db (a codesetd's database directory) read-only into t; fails the test on any error. */
void cs_tstore_open(cs_tstore_t *t, const char *db);
/* Release what cs_tstore_open opened; t may be zeroed or already closed. */
void cs_tstore_close(cs_tstore_t *t);

#endif /* CS_TSTORE_H */
