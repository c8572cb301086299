/* cs_search_build.h: building a release's search index while the release loads: records go
 * in as the loader emits them, the whole index is written at the end (the layout is
 * cs_search_format.h; cs_search.h queries it).
 *
 * Ownership: the caller owns the builder; records are borrowed for the call only.
 * Errors: out of memory while adding is sticky: every later add returns it and write reports
 * it, so a load checks once, at the end, and nothing half-indexed is written.
 * Thread-safety: a builder belongs to one thread (the load thread); builders of different
 * loads are independent. Memory grows with the release (its words, and one entry per code).
 */
#ifndef CS_SEARCH_BUILD_H
#define CS_SEARCH_BUILD_H

#include <stdint.h>

#include "codeset/cs_plugin.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_search_builder cs_search_builder_t;

/* A new, empty builder for release id. Caller owns it; NULL when out of memory. */
cs_search_builder_t *cs_search_builder_new(uint32_t release);
/* Free; *b becomes NULL. Accepts NULL. */
void cs_search_builder_destroy(cs_search_builder_t **b);
/* Index one record (borrowed for the call) whose storage form the host computed (self).
 * Records of class other than code are ignored. CS_OK, CS_EINVAL (b NULL), or CS_ENOMEM
 * (sticky). */
int cs_search_builder_add(cs_search_builder_t *b, const cs_record_t *rec, const cs_code_t *self);
/* Write the index through w (committing in batches: nothing is visible before the release
 * is published). Once per builder: it takes no records after (adds return CS_EINVAL). CS_OK,
 * CS_ENOMEM, or the writer's error (CS_ESPACE when the map is full), with err filled. */
int cs_search_builder_write(cs_search_builder_t *b, cs_writer_t *w, cs_error_t *err);
/* Docs and distinct words seen so far (for the load log); 0 for NULL. */
uint32_t cs_search_builder_docs(const cs_search_builder_t *b);
uint32_t cs_search_builder_words(const cs_search_builder_t *b);

#ifdef __cplusplus
}
#endif
#endif /* CS_SEARCH_BUILD_H */
