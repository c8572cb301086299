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

/* A new writer, or NULL. */
fhir_tree_t *fhir_tree_new(void);
/* Its cs_out_t, for the handler (valid until fhir_tree_free). */
cs_out_t *fhir_tree_out(fhir_tree_t *t);
/* The tree of everything written (the first value: the reply map); NULL when nothing whole
 * was written or memory ran out. The writer may be used again after (it is emptied). */
json_t *fhir_tree_take(fhir_tree_t *t);
void fhir_tree_free(fhir_tree_t **t);

#endif /* FHIR_TREE_H */
