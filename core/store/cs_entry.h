/* cs_entry.h: the stored form of one entry (the value in CS_DB_CODES), and its reader.
 *
 * Layout, version 3 (all numbers big-endian, strings not NUL-terminated):
 *   u8 version, u8 flags (bit 0 billable), u8 class, u8 parent class (0: no parent),
 *   u32 valid_from, u32 valid_to (yyyymmdd, 0: none),
 *   u8+display, u8+parent key, u8+parent display, u8+kind, u16+title, u16+short,
 *   u16 note count, per note: u8+type, u8+label, u16+text,
 *   u16 term count, per term: u16+term,
 *   u16 attribute count, per attribute: u8+name, u16+value
 * The fields validate needs come first, so cs_entry_decode_head stops after the short title.
 * Versions 1 (no attributes or dates) and 2 (dates at the end) still decode.
 * Decoding checks every length against the value's size; spans point into the value
 * (borrowed: valid as long as the value is, see cs_store.h).
 */
#ifndef CS_ENTRY_H
#define CS_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_ENTRY_VERSION 3

typedef struct cs_span {
    const char *ptr;
    size_t len;
} cs_span_t;

/* A decoded entry: spans into the stored value. */
typedef struct cs_entry {
    int billable;          /* 1 if it may stand on a claim */
    uint8_t cls;           /* enum cs_entry_class */
    uint8_t parent_cls;    /* 0 when there is no parent */
    cs_span_t display;     /* "E11.9" */
    cs_span_t parent_key;  /* "E11" (storage form) */
    cs_span_t parent;      /* "E11" (display form) */
    cs_span_t kind;        /* "code" */
    cs_span_t title;
    cs_span_t short_title; /* len 0 when absent */
    uint16_t n_notes;
    const uint8_t *notes;  /* start of the notes section (see cs_entry_note_next) */
    uint16_t n_terms;
    const uint8_t *terms;
    const uint8_t *terms_end; /* one past the last term */
    uint16_t n_attrs;
    const uint8_t *attrs;     /* start of the attributes (see cs_entry_attr_next) */
    const uint8_t *attrs_end; /* one past the last attribute */
    /* NULL for a decoded value, whose attributes lie in it as stored. A code index's entry
     * (cs_codeidx.h) has them as n_attrs u32 offsets (native order, unaligned) at attrs, each
     * naming one attribute stored as above ("u8+name, u16+value") in this pool, which holds
     * every name-value pair of its release once. */
    const uint8_t *attr_pool;
    const uint8_t *attr_pool_end;
    int32_t valid_from;    /* yyyymmdd, 0: with its release */
    int32_t valid_to;      /* yyyymmdd of the last valid day, 0: none */
    const uint8_t *end;    /* one past the value */
} cs_entry_t;

/* A growable output buffer for encoding. */
typedef struct cs_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int failed; /* sticky: allocation failed or a field was too long */
} cs_buf_t;

void cs_buf_reset(cs_buf_t *b);
void cs_buf_free(cs_buf_t *b);
/* Append one byte; a string as u8 length (u16 when wide) and bytes, cut at a UTF-8 boundary
 * to what the length holds, as cs_entry_encode writes its fields. */
void cs_buf_u8(cs_buf_t *b, unsigned v);
void cs_buf_str(cs_buf_t *b, const char *s, int wide);

/* Encode rec (whose own and parent's display/key forms the host computed) into b (reset
 * first). Texts longer than a field allows are cut at a UTF-8 boundary. Returns CS_OK or
 * CS_ENOMEM. */
int cs_entry_encode(cs_buf_t *b, const cs_record_t *rec, const cs_code_t *self,
                    const cs_code_t *parent);

/* Decode a stored value. CS_OK or CS_EMALFORMED (a corrupt or foreign value). */
int cs_entry_decode(const void *val, size_t len, cs_entry_t *out);

/* Decode only what validation, hints and listings read: billable, classes, validity dates,
 * display, parent, kind, titles. The notes, terms and attributes are left empty (count 0).
 * Same results as cs_entry_decode for those fields. */
int cs_entry_decode_head(const void *val, size_t len, cs_entry_t *out);

/* Iterate notes: *pos starts at entry->notes; returns 1 and fills type/label/text while
 * notes remain (at most n_notes times), 0 at the end or on a corrupt value. */
int cs_entry_note_next(const cs_entry_t *e, const uint8_t **pos, cs_span_t *type,
                       cs_span_t *label, cs_span_t *text);

/* Iterate search terms the same way. */
int cs_entry_term_next(const cs_entry_t *e, const uint8_t **pos, cs_span_t *term);

/* Iterate attributes: *pos starts at entry->attrs; either form (attr_pool above). Returns 1
 * and fills name/value while attributes remain, 0 at the end or on a corrupt value or an
 * offset outside the pool. */
int cs_entry_attr_next(const cs_entry_t *e, const uint8_t **pos, cs_span_t *name,
                       cs_span_t *value);

#ifdef __cplusplus
}
#endif
#endif /* CS_ENTRY_H */
