/* cs_noterefs.h: the codes an entry's Excludes1 and "code first" notes name, parsed from the
 * notes' text when the release is loaded and stored with it (CS_DB_NOTEREFS), so that a claim
 * reads one small record per entry of a diagnosis's chain instead of the whole entry and a
 * parse of its notes.
 *
 * Records:
 *   [release u32 BE]                        -> [version u8]: the release was loaded with them
 *                                              (a release loaded before has no marker: its
 *                                              readers parse the entry's notes themselves)
 *   [release][class u8][code key]           -> [version u8][n u8] then n notes, in the
 *                                              entry's order: [type u8 (CS_NOTEREF_*)]
 *                                              [u16 BE + text, the bytes the entry stores]
 *                                              [m u8] then m references:
 *                                              [u8 + lo][u8 + hi] (cs_coderef.h)
 * An entry with no such note has no record. The records are part of the release: hashed by
 * its checksum, removed with it.
 *
 * Pure functions over caller buffers; thread-safe.
 */
#ifndef CS_NOTEREFS_H
#define CS_NOTEREFS_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_plugin.h"
#include "store/cs_entry.h"
#include "util/cs_coderef.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_NOTEREFS_VERSION 1
#define CS_NOTEREFS_MAX 64 /* references kept of one note (more are not stored) */

enum { CS_NOTEREF_EXCLUDES1 = 1, CS_NOTEREF_CODE_FIRST = 2 };

/* Encode the record of rec's notes into b (reset first). b->len is 0 when rec has no
 * Excludes1 or "code first" note. CS_OK, or CS_ENOMEM (b->failed). */
int cs_noterefs_encode(cs_buf_t *b, const cs_record_t *rec);

/* Walk a record's notes: start with *pos = NULL; 1 with the next note's type, text and its
 * references (*refs, *n_refs; read them with cs_noterefs_ref), 0 at the end or on a record
 * that is not well formed. */
typedef struct cs_noterefs_note {
    uint8_t type;
    cs_span_t text;
    const uint8_t *refs;
    uint8_t n_refs;
} cs_noterefs_note_t;

int cs_noterefs_next(const uint8_t *val, size_t len, const uint8_t **pos,
                     cs_noterefs_note_t *out);

/* Read the next reference at *p (of a note cs_noterefs_next gave, which checked them all)
 * into out and step past it. */
void cs_noterefs_ref(const uint8_t **p, cs_coderef_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_NOTEREFS_H */
