/* fhir_tree.h: a result writer (engine/cs_out.h) that builds a jansson tree of a handler's
 * reply: the reply map docs/PROTOCOL.md describes, as a json_t the FHIR operations read.
 *
 * The writer records what the handler writes (so mark and rewind are exact: a handler that
 * rewinds to write an error instead leaves no trace of what it took back) and builds the
 * tree when asked. Validate results and search hits are written as their trees
 * (cs_out_validation_tree, cs_out_hit_tree). A handler's str is always UTF-8 (cs_out_strn
 * repairs), and a map's keys are strs.
 *
 * Errors: out of memory turns the writer into a sink and fhir_tree_take answers NULL.
 * Ownership: fhir_tree_new's writer is the caller's (fhir_tree_free); fhir_tree_take's tree
 * a new reference. Thread-safety: a writer belongs to one thread.
 */
#ifndef FHIR_TREE_H
#define FHIR_TREE_H

#include <jansson.h>

#include "engine/cs_out.h"

typedef struct fhir_tree fhir_tree_t;

/* A new writer, or NULL. Writers freed are kept for the thread's next fhir_tree_new (a few,
 * emptied; their memory goes with the thread), so a request makes no malloc for them. */
fhir_tree_t *fhir_tree_new(void);
/* Its cs_out_t, for the handler (valid until fhir_tree_free). */
cs_out_t *fhir_tree_out(fhir_tree_t *t);
/* The tree of everything written (the first value: the reply map); NULL when nothing whole
 * was written or memory ran out. The writer may be used again after (it is emptied). */
json_t *fhir_tree_take(fhir_tree_t *t);
void fhir_tree_free(fhir_tree_t **t);

/* Reading what was written in place, without building a tree (the first value is the
 * root). A value is named by a fhir_tv_t; FHIR_TV_NONE when absent, and every reader takes
 * FHIR_TV_NONE and answers "absent" again. Valid until the writer is written again, taken or
 * freed; strings are NUL-terminated (a str with a NUL byte reads up to it). */
typedef size_t fhir_tv_t;
#define FHIR_TV_NONE ((fhir_tv_t)-1)

/* The root value, or FHIR_TV_NONE when nothing whole was written or memory ran out. */
fhir_tv_t fhir_tree_root(const fhir_tree_t *t);
/* The value of key in map m (the first such key), or FHIR_TV_NONE. */
fhir_tv_t fhir_tree_get(const fhir_tree_t *t, fhir_tv_t m, const char *key);
/* The values of n keys of map m in one pass: out[i] that of keys[i] (FHIR_TV_NONE when
 * absent). */
void fhir_tree_getv(const fhir_tree_t *t, fhir_tv_t m, const char *const *keys, fhir_tv_t *out,
                    size_t n);
/* Item i of array a, or FHIR_TV_NONE. */
fhir_tv_t fhir_tree_item(const fhir_tree_t *t, fhir_tv_t a, size_t i);
/* The text of a str value, or NULL when v is not a str. */
const char *fhir_tree_str(const fhir_tree_t *t, fhir_tv_t v);
/* 1 when v is the boolean true. */
int fhir_tree_true(const fhir_tree_t *t, fhir_tv_t v);

#endif /* FHIR_TREE_H */
