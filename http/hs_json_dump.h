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

#define HS_JSON_DUMP_MAX_DEPTH 256

/* The text (malloc'ed, NUL-terminated; the caller frees it), its length into *len. */
char *hs_json_dump(const json_t *v, size_t *len);

#endif /* HS_JSON_DUMP_H */
