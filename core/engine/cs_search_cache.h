/* cs_search_cache.h: the results of costly searches, remembered per engine.
 *
 * Why. A search's cost grows with the matches it weighs: a one- or two-letter prefix (what a
 * coder types first) matches thousands of codes and costs 10-20 times a longer query, and
 * with several clients those are the tail every other search queues behind. The same
 * prefixes come back from every user, so the result of such a query is kept, and the next
 * one costs a lookup.
 *
 * Why it stays true. A result depends on the release (its search index never changes once
 * published, and release ids are never reused) and on the query (text, limit, offset,
 * billable_only, doc range); the key holds all of them, so nothing is ever invalidated. A
 * purged release's entries are never asked for again (no query resolves to it) and age out.
 *
 * What is kept: results with at least min_total matches, or (cs_search_cache_keep_costly)
 * that cost at least min_work units of work to find (cs_search.h; cheaper ones are computed
 * again), and at most CS_SEARCH_CACHE_MAX_HITS hits, at most CS_SEARCH_CACHE_ENTRIES of
 * them, the least recently used replaced first.
 *
 * Thread-safety: every call takes the cache's mutex, so engines of several threads may share
 * one (a broker's do: what one worker found, the others and the broker's thread answer).
 */
#ifndef CS_SEARCH_CACHE_H
#define CS_SEARCH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/cs_search.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_SEARCH_CACHE_ENTRIES 256   /* results kept */
#define CS_SEARCH_CACHE_MIN_TOTAL 1000 /* the engine's min_total: fewer matches are cheap */
#define CS_SEARCH_CACHE_MAX_HITS 100   /* longer pages are not kept: at most ~1 MiB in all */
#define CS_SEARCH_CACHE_MIN_WORK 16384 /* the engine's min_work: what a search may cost on a
                                        * broker's thread (cs_engine_set_budget), so that one
                                        * that cost more is answered there next time */

typedef struct cs_search_cache cs_search_cache_t;

/* A cache keeping results of at least min_total matches; NULL when out of memory. */
cs_search_cache_t *cs_search_cache_new(uint64_t min_total);
/* Keep results that cost at least min_work units as well (0: by min_total alone). */
void cs_search_cache_keep_costly(cs_search_cache_t *cache, uint64_t min_work);
/* Free it; *cache becomes NULL. NULL is accepted. */
void cs_search_cache_destroy(cs_search_cache_t **cache);

/* 1 with *out filled (total, flags, n_hits and hits) when release's result of q is kept;
 * else 0. */
int cs_search_cache_get(cs_search_cache_t *cache, uint32_t release, const cs_search_query_t *q,
                        cs_search_result_t *out);
/* Keep release's result res of q when it is costly enough; a copy is kept (out of memory:
 * not kept). */
void cs_search_cache_put(cs_search_cache_t *cache, uint32_t release, const cs_search_query_t *q,
                         const cs_search_result_t *res);

/* Lookups answered and results kept since new (tests, stats). */
void cs_search_cache_counts(cs_search_cache_t *cache, uint64_t *hits, uint64_t *kept);

#ifdef __cplusplus
}
#endif
#endif /* CS_SEARCH_CACHE_H */
