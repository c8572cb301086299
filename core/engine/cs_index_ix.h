/* cs_index_ix.h: the working state of one index query (engine/cs_index.h), shared by the
 * files that answer it: cs_index.c (the ways in: words, a path, a key, the main terms; the set,
 * the table and the tabular), cs_index_state.c (a code's state in the tabular),
 * cs_index_row.c (a term as a row), cs_index_match.c (children and titles answering a term),
 * cs_index_follow.c (see and see also followed). Internal to the engine: nothing outside
 * these files includes it.
 *
 * Ownership: every string a function here returns or stores lives in ix->res's arena (freed
 * by cs_index_result_free). Errors: none reported; what cannot be read is left out (a row not
 * appended, a code's state unknown), as cs_index.h describes.
 * Thread-safety: one cs_ix_t per query, on the thread whose reader snapshot ix->r is.
 */
#ifndef CS_INDEX_IX_H
#define CS_INDEX_IX_H

#include <stddef.h>
#include <stdint.h>

#include "engine/cs_index.h"
#include "store/cs_entry.h"

typedef struct cs_ix {
    cs_reader_t *r;
    cs_index_result_t *res;
    const cs_index_query_t *q;
    uint32_t set;                /* the index set's release id */
    uint32_t tab;                /* the tabular's release id, or 0 */
    const cs_system_ops_t *cm;   /* the icd10cm plugin, or NULL */
    const char *root;            /* the table's root code (NULL with all) */
    size_t cap_rows;
    const char *heads[CS_INDEX_TABLES][CS_INDEX_MAX_COLS + 1]; /* column headings */
    unsigned heads_read;         /* bit t: heads[t] read */
} cs_ix_t;

/* A copy of s[0..n) NUL-terminated in ix's result arena; "" when out of memory (a reply stays
 * well-formed; the caller never checks). */
const char *cs_ix_dup(cs_index_result_t *res, const char *s, size_t n);
const char *cs_ix_dup_span(cs_index_result_t *res, cs_span_t s);

/* The entry (class cls, key) of release rel into e (its head only with head_only): CS_OK or
 * CS_ENOTFOUND / a decode error. e points into the reader's snapshot. */
int cs_ix_get(cs_ix_t *ix, uint32_t rel, uint8_t cls, const char *key, size_t klen,
              cs_entry_t *e, int head_only);

/* c's state in the tabular (ix->tab, ix->cm), from c->text: state, code, title, chars,
 * placeholder, hint (cs_index_state.c). */
void cs_ix_code_state(cs_ix_t *ix, cs_index_code_t *c);

/* Read table t's root: its title (returned, or NULL when the set lacks the table) and column
 * headings (into ix->heads[t]). */
const char *cs_ix_read_root(cs_ix_t *ix, int t);
/* The row for the term at key, appended to ix->res->rows (NULL when it cannot be read). */
cs_index_row_t *cs_ix_row(cs_ix_t *ix, const char *key, size_t klen);

typedef int (*cs_ix_child_fn)(cs_ix_t *ix, void *arg, const char *key, size_t klen);
/* Call fn on each child (class code) of (cls, key) in order until it returns non-zero;
 * returns that value, or 0. */
int cs_ix_children(cs_ix_t *ix, uint8_t cls, const char *key, size_t klen, cs_ix_child_fn fn,
                   void *arg);
/* The child of (cls, parent) whose title answers text, else the shortest whose title starts
 * with text's words; its key into out (CS_CODE_MAX). 1 when found, else 0. */
int cs_ix_child_named(cs_ix_t *ix, uint8_t cls, const char *parent, const char *text,
                      size_t len, char *out);

/* Follow the see and see also of the rows so far (and of the rows that adds, up to
 * CS_INDEX_FOLLOW_DEPTH), at most CS_INDEX_FOLLOW_MAX; the others go to res->unfollowed. */
void cs_ix_follow(cs_ix_t *ix);

#endif /* CS_INDEX_IX_H */
