/* cs_search.h: the search index of a release (built at load time, stored in CS_DB_SEARCH) and
 * the search op that reads it.
 *
 * Index layout (every key starts with the 4-byte big-endian release id, so purging the
 * release's prefix removes it, and it becomes visible with the release, at publish):
 *   [rel]'M'               -> u8 version, u32 docs, u32 words, u32 postings, u32 docs/chunk
 *   [rel]'W' word          -> u32 word id, u32 doc count, u32 postings of lower ids,
 *                             then the doc ids as varint gaps
 *   [rel]'L'               -> every word in id order: u8 length + bytes (typo fallback)
 *   [rel]'F' [chunk u32]   -> CS_SEARCH_CHUNK doc records: u16 n, u32 offsets[n + 1], records
 *   doc record             -> u8 flags (bit 0 billable), u8 key length + storage key,
 *                             u8 essential title words, u8 n, n varints (id gap << 3 | field)
 * Words are the folded words of cs_fold.h; word ids are their ranks in byte order, so the words
 * that start with a prefix are one range of ids. Doc ids are dense, in emission (code) order.
 * Only entries of class code are indexed (chapters and blocks are not codes to pick).
 *
 * Thread-safety: a builder belongs to the loader thread; cs_search_run / cs_search_answer run
 * on any thread inside that thread's reader snapshot. Work per query is bounded by the
 * release's size: no query reads more than every doc record once.
 */
#ifndef CS_SEARCH_H
#define CS_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "codeset/cs_plugin.h"
#include "cs_entry.h"
#include "cs_proto.h"
#include "cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_SEARCH_VERSION 2
#define CS_SEARCH_CHUNK 256          /* doc records per 'F' value */
#define CS_SEARCH_MAX_WORDS 16       /* query words kept (the rest are ignored) */
#define CS_SEARCH_MAX_LIMIT 500      /* hits per reply */
#define CS_SEARCH_DEFAULT_LIMIT 20   /* when the request has no limit */
#define CS_SEARCH_MAX_WINDOW 10000   /* offset + limit beyond this returns no hits */
#define CS_SEARCH_FUZZY_MIN 5        /* shortest word that falls back to edit distance 1 */
#define CS_SEARCH_FUZZY_MAX 32       /* dictionary words a typo may stand for */

/* ---- building (loader thread) ---- */

typedef struct cs_search_builder cs_search_builder_t;

/* A new, empty builder for release id. Caller owns it; NULL when out of memory. */
cs_search_builder_t *cs_search_builder_new(uint32_t release);
/* Free; *b becomes NULL. Accepts NULL. */
void cs_search_builder_destroy(cs_search_builder_t **b);
/* Index one record (borrowed for the call) whose storage form the host computed (self).
 * Records of class other than code are ignored. CS_OK or CS_ENOMEM (sticky). */
int cs_search_builder_add(cs_search_builder_t *b, const cs_record_t *rec, const cs_code_t *self);
/* Write the index through w (committing in batches: nothing is visible before the release
 * is published). CS_OK, CS_ENOMEM, or the writer's error (CS_ESPACE when the map is full),
 * with err filled. */
int cs_search_builder_write(cs_search_builder_t *b, cs_writer_t *w, cs_error_t *err);
/* Docs and distinct words seen so far (for the load log). */
uint32_t cs_search_builder_docs(const cs_search_builder_t *b);
uint32_t cs_search_builder_words(const cs_search_builder_t *b);

/* ---- querying (any thread, inside a reader snapshot) ---- */

/* One query. q is borrowed and need not be NUL-terminated. */
typedef struct cs_search_query {
    const char *q;                   /* the text as sent */
    size_t q_len;
    const cs_system_ops_t *sys;      /* for looks_like_code; NULL: never a code search */
    uint32_t limit;                  /* 1..CS_SEARCH_MAX_LIMIT (clamped) */
    uint64_t offset;                 /* hits skipped */
    int billable_only;               /* 1: count and return billable codes only */
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
    cs_search_hit_t hits[CS_SEARCH_MAX_LIMIT];
} cs_search_result_t;

/* Run a query against release inside r's snapshot (begun by the caller). out is filled
 * (a query with no words gives total 0). CS_OK, CS_ENOMEM, or CS_EMALFORMED when the
 * release's index is missing or corrupt (err says which). */
int cs_search_run(cs_reader_t *r, uint32_t release, const cs_search_query_t *q,
                  cs_search_result_t *out, cs_error_t *err);

/* The search op: run req's query (q, limit, offset, billable_only) on release and pack the
 * whole reply {ok, id, release, total, hits:[{code, title, billable, score}]} into pk.
 * Returns CS_PERR_NONE, or the error it packed instead (internal). */
cs_proto_err_t cs_search_answer(cs_reader_t *r, const cs_system_ops_t *sys, uint32_t release,
                                cs_span_t label, const cs_request_t *req, msgpack_packer *pk);

#ifdef __cplusplus
}
#endif
#endif /* CS_SEARCH_H */
