/* cs_query.h: the query engine: resolves the release (pinned, by date, newest) and answers
 * the query ops from a store snapshot (lookup, validate and releases here; search, diff and
 * crosswalk in their own files), writing the reply as PROTOCOL.md says through the result
 * interface (engine/cs_out.h), whatever its encoding.
 *
 * One engine per thread (it owns a store reader). Nothing is allocated per request on the
 * lookup/validate paths except by the writer. The snapshot is taken when a request starts and
 * released before cs_engine_handle returns, so it is never held across a poll.
 */
#ifndef CS_QUERY_H
#define CS_QUERY_H

#include "codeset/cs_version.h" /* CS_VERSION, for the replies that carry it */
#include "engine/cs_out.h"
#include "load/cs_plugin_host.h"
#include "store/cs_catalog.h"
#include "store/cs_codeidx.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_engine cs_engine_t;

/* A new engine over store and plugins (both borrowed; they must outlive it). NULL with err
 * set on failure. */
cs_engine_t *cs_engine_new(cs_store_t *store, const cs_plugin_host_t *plugins,
                           cs_error_t *err);
void cs_engine_destroy(cs_engine_t **engine);

/* Find codes through set's indexes (borrowed; it must outlive the engine), or, with NULL,
 * through LMDB only (the default). The answers are the same either way. */
void cs_engine_use_index(cs_engine_t *e, cs_codeidx_set_t *set);

struct cs_search_cache; /* engine/cs_search_cache.h */
/* Keep costly searches' results in shared (borrowed; it must outlive the engine; engines of
 * other threads may share it: engine/cs_search_cache.h) instead of the engine's own. */
void cs_engine_share_searches(cs_engine_t *e, struct cs_search_cache *shared);

/* A bound on the work of the ops that take one (search: units of cs_search.h's
 * CS_SEARCH_WORK_*), for an engine whose thread must not be held up long (the broker's): an
 * op that would cost more writes nothing and leaves cs_engine_deferred true, so that the
 * caller hands it to a thread with no bound. 0 (the default): no bound. */
void cs_engine_set_budget(cs_engine_t *e, uint64_t units);
/* 1 when the last op this engine answered went over its budget and wrote nothing. */
int cs_engine_deferred(const cs_engine_t *e);

/* Answer one decoded query op (ping, lookup, validate, releases) into out. Returns
 * CS_PERR_NONE when the reply is a success, else the error that was written. Ops the engine
 * does not serve get unknown_op. */
cs_proto_err_t cs_engine_handle(cs_engine_t *engine, const cs_request_t *req,
                                cs_out_t *out);

/* A lookup queued behind the one being answered (a pipelining client's), glanced at so that
 * the cache misses its answer will meet are started early, while the lookups before it are
 * answered (the broker's look-ahead; validate's batches do the same within one request).
 * seq counts the requests shown this way, in their order: this one's hash slot is fetched
 * now, the record of the one shown CS_ENGINE_AHEAD / 2 before, and the titles of the one
 * shown 3 * CS_ENGINE_AHEAD / 4 before; a caller that shows lookups CS_ENGINE_AHEAD ahead of
 * their turn has each fetch come some answers before it is read. Only a lookup in the
 * release the last lookup resolved to (the engine's memo) and in an index the engine holds
 * is fetched: no snapshot, no store read, no allocation, no answer changed. A request that is
 * not such a lookup is shown too, with an empty system: it fetches nothing, and the later
 * stages of those before it run. 1 when this one's slot is on its way; 0 (not a lookup,
 * another release, a code its system would not take, no index of the release held). */
#define CS_ENGINE_AHEAD 8
int cs_engine_lookup_ahead(cs_engine_t *e, uint64_t seq, cs_str_t system, cs_str_t code);

/* One slice of a long request, for a broker that spreads it over its workers (ops flagged
 * CS_OPF_SLICEABLE: validate, claims): the results of units [lo, hi) of it
 * (cs_op_slice_units: a validate's codes; CS_OP_CLAIM_UNITS a claim of a claims, so unit u
 * is claim u / CS_OP_CLAIM_UNITS), as cs_engine_handle writes them, preceded, when header is
 * set, by the reply's opening (the map, a validate's system and release, and the array
 * header of all the request's results). *snapshot is the store snapshot it read
 * (cs_reader_snapshot): slices join into one reply only when they read the same one. On an
 * error (unknown system, release...) a whole error reply is written, *snapshot is 0, and the
 * error returned. */
cs_proto_err_t cs_engine_part(cs_engine_t *e, const cs_request_t *req, uint32_t lo,
                              uint32_t hi, int header, cs_out_t *out, uint64_t *snapshot);

/* What a read op of another engine file (cs_claim_op.c) reads with: this thread's reader,
 * inside a fresh snapshot, its code indexes and release memo, and the claim result the
 * engine keeps between requests (cs_claim.h). Borrowed for the call. */
typedef struct cs_engine_view {
    cs_reader_t *reader;
    cs_codeidx_holder_t *index;
    cs_catalog_memo_t *memo;
    const cs_plugin_host_t *plugins;
    struct cs_claim_result *claim;
} cs_engine_view_t;

/* The results of claims [lo, hi) of a claims request (cs_claim_op.c), after the reply's
 * opening when header is set; inside the view's snapshot. */
cs_proto_err_t cs_claims_part(const cs_engine_view_t *v, const cs_request_t *req, uint32_t lo,
                              uint32_t hi, int header, cs_out_t *out);

typedef cs_proto_err_t (*cs_engine_read_fn)(const cs_engine_view_t *v, const cs_request_t *req,
                                            cs_out_t *out);

/* Answer req with fn as the engine answers its own read ops: a fresh snapshot, the index pins
 * renewed, the snapshot let go after, and a corrupt page met on the way turned into a
 * corrupt_release reply in place of what fn wrote. */
cs_proto_err_t cs_engine_read(cs_engine_t *e, cs_engine_read_fn fn, const cs_request_t *req,
                              cs_out_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_QUERY_H */
