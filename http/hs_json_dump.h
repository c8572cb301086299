/* hs_json_dump.h: a jansson value as compact JSON text, byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes, in a fraction of its time.
 *
 * Why: jansson's dumper calls a callback per token and walks every string's UTF-8 through a
 * decoder; for codeset-http's replies (small objects, short strings) that was about 40% of a
 * $validate-code's instructions. This writer copies runs of plain bytes with one memcpy and
 * escapes as jansson does: '"', '\\', \b \f \n \r \t, other bytes below 0x20 as \u00XX
 * (upper-case hex); '/' and non-ASCII are written as they are (jansson's strings are valid
 * UTF-8 already). Objects keep their keys' order, as jansson iterates them. Reals, rare here,
 * are written by jansson itself so their digits stay the same.
 *
 * Errors: NULL (out of memory, or deeper than HS_JSON_DUMP_MAX_DEPTH: a tree of ours is never
 * that deep). Thread-safety: reads v only; any thread, on values no thread changes meanwhile.
 */
#ifndef HS_JSON_DUMP_H
#define HS_JSON_DUMP_H

#include <jansson.h>
#include <stddef.h>
#include <string.h>

#define HS_JSON_DUMP_MAX_DEPTH 256

/* The text (malloc'ed, NUL-terminated; the caller frees it), its length into *len. */
char *hs_json_dump(const json_t *v, size_t *len);

/* A text being written piece by piece: values dumped as above, or JSON written by hand
 * (an answer printed straight from its records, without a tree). Zero it to start; p is
 * malloc'ed (the caller's: hs_jbuf_free, or hand it over and set it NULL), NUL-terminated by
 * hs_jbuf_text; failed is sticky (out of memory, or an insert past the end): the writes
 * after it do nothing. A buffer belongs to one thread. */
typedef struct hs_jbuf {
    char *p;
    size_t len, cap;
    int failed;
} hs_jbuf_t;

/* Bytes as they are (JSON punctuation, keys known to need no escaping). */
void hs_jbuf_raw(hs_jbuf_t *b, const char *s, size_t n);
static inline void hs_jbuf_lit(hs_jbuf_t *b, const char *s)
{
    hs_jbuf_raw(b, s, strlen(s));
}
/* A JSON string of s[0..n), quoted and escaped as jansson escapes it (s is UTF-8). */
void hs_jbuf_str(hs_jbuf_t *b, const char *s, size_t n);
/* A jansson value, as hs_json_dump writes it. */
void hs_jbuf_value(hs_jbuf_t *b, const json_t *v);
/* s[0..n) put in at offset at (<= len), what followed moved after it. */
void hs_jbuf_insert(hs_jbuf_t *b, size_t at, const char *s, size_t n);
/* Cut back to len (a length written before): what came after is forgotten. */
void hs_jbuf_cut(hs_jbuf_t *b, size_t len);
/* The text (NUL-terminated; "" when nothing was written), or NULL when a write failed. */
const char *hs_jbuf_text(hs_jbuf_t *b);
void hs_jbuf_free(hs_jbuf_t *b);

#endif /* HS_JSON_DUMP_H */
