/* cs_out_typed.h: the result interface's typed writer, for the embedded API
 * (codeset/codeset.h): it keeps validate results and search hits as the public structs, and
 * of the rest of a reply only what a C caller gets back (the release's label, the total of
 * a search, an error's message). No encoding lies between the engine and the caller.
 *
 * Every text is copied into memory the writer owns, so the structs stay valid after the
 * store snapshot that the handler read has ended, until the next reset.
 *
 * Errors: out of memory is sticky: the writer goes on as a sink and cs_out_typed_finish says
 * CS_ENOMEM. Thread-safety: one writer per thread (a cs_db_t handle owns one).
 */
#ifndef CS_OUT_TYPED_H
#define CS_OUT_TYPED_H

#include "codeset/codeset.h"
#include "engine/cs_out.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_OUT_TYPED_DEPTH 8 /* deepest reply nesting it follows; deeper is skipped */

typedef struct cs_out_typed {
    cs_out_t out;                 /* first: a cs_out_t * to this writer is &t->out */
    /* what the caller reads after cs_out_typed_finish */
    cs_db_result_t *results;      /* validate results, in the order written */
    size_t n_results;
    cs_db_hit_t *hits;            /* search hits */
    size_t n_hits;
    cs_db_str_t release;          /* the reply's "release" (len 0: none) */
    cs_db_str_t message;          /* an error reply's message (len 0: none) */
    int64_t total;                /* the reply's "total" (0: none) */
    /* internal */
    char *text;                   /* every text, back to back */
    size_t text_len, text_cap;
    cs_db_str_t *lists;           /* hint, valid_in and replaced_by items */
    size_t n_lists, lists_cap;
    size_t results_cap, hits_cap;
    int nomem;
    int depth;                    /* containers open */
    uint32_t left[CS_OUT_TYPED_DEPTH]; /* items left in each (a map's pair counts two) */
    unsigned char is_map[CS_OUT_TYPED_DEPTH];
    int want;                     /* the key just written, when its value is kept */
} cs_out_typed_t;

/* A writer holding nothing yet. Returns &t->out. */
cs_out_t *cs_out_typed_init(cs_out_typed_t *t);
/* Forget the last reply (keeping the memory) before writing the next. */
void cs_out_typed_reset(cs_out_typed_t *t);
/* Make the collected records readable (their texts point into the writer). CS_OK, or
 * CS_ENOMEM when some write could not be kept. */
int cs_out_typed_finish(cs_out_typed_t *t);
/* Free all it holds. Harmless twice. */
void cs_out_typed_free(cs_out_typed_t *t);

#ifdef __cplusplus
}
#endif
#endif /* CS_OUT_TYPED_H */
