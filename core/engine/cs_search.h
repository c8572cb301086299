/* cs_search.h: the search op, over the search index each release holds in CS_DB_SEARCH
 * (cs_search_build.h writes it at load; cs_search_format.h is its layout). Words match as
 * prefixes of the folded words (cs_fold.h) of a code's titles and terms, with a typo fallback;
 * a query that looks like a code is answered as a code prefix first. Ranking: README "Search".
 *
 * Ownership: queries and results are the caller's; nothing returned points into the store.
 * Errors: a release without an index, or with a corrupt one, is CS_EMALFORMED with err saying
 * which; hostile query text is never an error (it folds to words or to none).
 * Thread-safety: cs_search_run / cs_search_answer run on any thread inside that thread's
 * reader snapshot. Work per query is bounded by the release's size: no query reads more than
 * every doc record once.
 */
#ifndef CS_SEARCH_H
#define CS_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_plugin.h"
#include "engine/cs_out.h"
#include "store/cs_codeidx.h"
#include "store/cs_entry.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_SEARCH_MAX_WORDS 16       /* query words kept (the rest are ignored) */
#define CS_SEARCH_MAX_LIMIT 500      /* hits per reply */
#define CS_SEARCH_DEFAULT_LIMIT 20   /* when the request has no limit */
#define CS_SEARCH_MAX_WINDOW 10000   /* offset + limit beyond this returns no hits */
#define CS_SEARCH_FUZZY_MIN 5        /* shortest word that falls back to edit distance 1 */
#define CS_SEARCH_FUZZY_MAX 32       /* dictionary words a typo may stand for */

/* What a search costs, in units of work: a unit is one posting read (a doc id of a word's
 * list, a few instructions); a doc record read and checked costs CS_SEARCH_WORK_DOC units, a
 * code walked by a code-prefix search CS_SEARCH_WORK_CODE, and the typo fallback one unit per
 * CS_SEARCH_WORK_WORDS words of the dictionary. Deterministic (no clock), so a budget in
 * units cuts a query at the same point on every run. */
#define CS_SEARCH_WORK_DOC 64
#define CS_SEARCH_WORK_CODE 16
#define CS_SEARCH_WORK_WORDS 4

/* One query. q is borrowed and need not be NUL-terminated. */
typedef struct cs_search_query {
    const char *q;                   /* the text as sent */
    size_t q_len;
    const cs_system_ops_t *sys;      /* for looks_like_code; NULL: never a code search */
    uint32_t limit;                  /* 1..CS_SEARCH_MAX_LIMIT (clamped) */
    uint64_t offset;                 /* hits skipped */
    int billable_only;               /* 1: count and return billable codes only */
    uint32_t doc_lo, doc_hi;         /* only docs with ids in [doc_lo, doc_hi) count: one
                                      * table of an index set (cs_index_format.h); doc_hi 0:
                                      * every doc */
    uint64_t budget;                 /* > 0: give up (CS_EAGAIN) past this much work */
} cs_search_query_t;

typedef struct cs_search_hit {
    uint8_t cls;                     /* entry class */
    char key[CS_CODE_MAX];           /* storage form, NUL-terminated */
    uint32_t score;                  /* higher is better; see README "Search" */
} cs_search_hit_t;

typedef struct cs_search_result {
    uint64_t total;                  /* every match (billable ones with billable_only) */
    size_t n_hits;                   /* hits[0..n_hits), best first */
    int by_code;                     /* 1 when q was answered as a code prefix */
    int fuzzy;                       /* 1 when some word matched by edit distance 1 */
    uint64_t work;                   /* what finding it cost (CS_SEARCH_WORK_*) */
    cs_search_hit_t hits[CS_SEARCH_MAX_LIMIT];
} cs_search_result_t;

/* Run a query against release inside r's snapshot (begun by the caller). out is filled
 * (a query with no words gives total 0). CS_OK, CS_ENOMEM, CS_EAGAIN when it would cost more
 * than q->budget (out is then incomplete), or CS_EMALFORMED when the release's index is
 * missing or corrupt (err says which). */
int cs_search_run(cs_reader_t *r, uint32_t release, const cs_search_query_t *q,
                  cs_search_result_t *out, cs_error_t *err);

/* The buffers a search works in (doc bitmaps sized by the release, the ranking heap, the
 * query's state), kept from one search to the next so that a thread's searches allocate and
 * fault in nothing once its buffers have grown to the largest release it searched. Owned by
 * the caller; one thread at a time. */
typedef struct cs_search_scratch cs_search_scratch_t;
/* NULL when out of memory. */
cs_search_scratch_t *cs_search_scratch_new(void);
/* Free it; *sc becomes NULL. NULL is accepted. */
void cs_search_scratch_destroy(cs_search_scratch_t **sc);
/* cs_search_run in sc's buffers (the same result). */
int cs_search_run_in(cs_reader_t *r, uint32_t release, const cs_search_query_t *q,
                     cs_search_scratch_t *sc, cs_search_result_t *out, cs_error_t *err);

/* The search op: run req's query (q, limit, offset, billable_only) on release and pack the
 * whole reply {ok, id, release, total, hits:[{code, title, billable, score}]} into out.
 * Returns CS_PERR_NONE, or the error it wrote instead (internal). */
cs_proto_err_t cs_search_answer(cs_reader_t *r, const cs_system_ops_t *sys, uint32_t release,
                                cs_span_t label, const cs_request_t *req, cs_out_t *out);

/* One more key of the search reply, written by another source (the ICD-10-CM Index's terms,
 * engine/cs_index_answer.h): write(arg, out) writes the value of key. */
typedef struct cs_search_extra {
    const char *key;
    void (*write)(void *arg, cs_out_t *out);
    void *arg;
} cs_search_extra_t;

/* cs_search_answer with the extra key after "hits" (extra NULL: none). */
cs_proto_err_t cs_search_answer_with(cs_reader_t *r, const cs_system_ops_t *sys,
                                     uint32_t release, cs_span_t label, const cs_request_t *req,
                                     const cs_search_extra_t *extra, cs_out_t *out);

/* What an engine lends a search besides its reader; either may be NULL. */
struct cs_search_cache;
typedef struct cs_search_aids {
    cs_codeidx_holder_t *index;    /* the hits' entries read from their release's code index
                                    * where the holder has it (the same bytes), else LMDB */
    struct cs_search_cache *cache; /* results of costly queries (engine/cs_search_cache.h) */
    cs_search_scratch_t *scratch;  /* the buffers to search in; NULL: a search's own */
    uint64_t budget;               /* > 0: a search that would cost more (cs_search_query_t)
                                    * writes nothing and sets *over_budget to 1 */
    int *over_budget;              /* with budget */
} cs_search_aids_t;
/* cs_search_answer_with, aided (aids NULL: none); the reply is the same bytes. */
cs_proto_err_t cs_search_answer_aided(cs_reader_t *r, const cs_search_aids_t *aids,
                                      const cs_system_ops_t *sys, uint32_t release,
                                      cs_span_t label, const cs_request_t *req,
                                      const cs_search_extra_t *extra, cs_out_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_SEARCH_H */
