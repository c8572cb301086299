/* cs_search_memo.h: what the search index builder remembers of the texts it has tokenized, so
 * a text that comes again (an ICD-10-PCS index term or definition names thousands of codes)
 * is folded once: text bytes -> the tokens its words became (a builder's word index << 1 |
 * in parentheses).
 *
 * Ownership: the memo copies what it is given and owns it; found tokens are borrowed until
 * the next put or free. Errors: out of memory on put is not an error: the text is just not
 * remembered (the caller folds it again next time). The memo stops remembering once it holds
 * CS_SEARCH_MEMO_BYTES, so a release of unique texts costs a bounded amount.
 * Thread-safety: one memo belongs to one builder (one thread).
 */
#ifndef CS_SEARCH_MEMO_H
#define CS_SEARCH_MEMO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_SEARCH_MEMO_BYTES ((size_t)64 << 20) /* text and tokens kept, at most */

typedef struct cs_search_memo {
    char *text;            /* the texts remembered, back to back */
    size_t text_len, text_cap;
    uint32_t *toks;        /* their tokens, back to back */
    size_t n_toks, cap_toks;
    struct cs_search_memo_ent *ents; /* one per text */
    uint32_t n_ents, cap_ents;
    uint32_t *slots;       /* open addressing: entry + 1, 0 empty */
    uint32_t n_slots;      /* power of two, or 0 before the first put */
} cs_search_memo_t;

/* A zeroed memo is empty and ready; free releases what it holds (and leaves it empty). */
void cs_search_memo_free(cs_search_memo_t *m);

/* The hash of text[0..len) the two calls below take (computed once per text). */
uint64_t cs_search_memo_hash(const char *text, size_t len);

/* 1 with *toks, *n set when text[0..len) (of hash h) is remembered; 0 otherwise. */
int cs_search_memo_find(const cs_search_memo_t *m, uint64_t h, const char *text, size_t len,
                        const uint32_t **toks, uint32_t *n);

/* Remember text[0..len) (hash h, not remembered yet) as toks[0..n). */
void cs_search_memo_put(cs_search_memo_t *m, uint64_t h, const char *text, size_t len,
                        const uint32_t *toks, uint32_t n);

#ifdef __cplusplus
}
#endif
#endif /* CS_SEARCH_MEMO_H */
