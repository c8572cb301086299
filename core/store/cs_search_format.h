/* cs_search_format.h: the stored layout of a release's search index (CS_DB_SEARCH), the one
 * contract between its builder (cs_search_build.c, on the load thread) and its query
 * (cs_search.c, on any reader's thread). Change a byte here and bump CS_SEARCH_VERSION.
 *
 * Every key starts with the 4-byte big-endian release id, so purging the release's prefix
 * removes the index, and it becomes visible with the release, at publish:
 *   [rel]'M'               -> u8 version, u32 docs, u32 words, u32 postings, u32 docs/chunk,
 *                             u32 lengths (bit n: some doc's storage key has n characters)
 *   [rel]'W' word          -> u32 word id, u32 doc count, u32 postings of lower ids,
 *                             then the doc ids as varint gaps
 *   [rel]'L'               -> every word in id order: u8 length + bytes (typo fallback)
 *   [rel]'F' [chunk u32]   -> CS_SEARCH_CHUNK doc records: u16 n, u32 offsets[n + 1], records
 *   doc record             -> u8 flags (bit 0 billable), u8 key length + storage key,
 *                             u8 essential title words, u8 n, n varints (id gap << 3 | field)
 *   [rel]'B'               -> bitmap of the billable docs (bit d of byte d / 8, whole u64s)
 *   [rel]'C' [len u8]      -> bitmap of the docs whose storage key has len characters
 * Integers are big-endian (cs_key_put_u32) unless varints (7 bits a byte, low first).
 * Words are the folded words of cs_fold.h; word ids are their ranks in byte order, so the words
 * that start with a prefix are one range of ids. Doc ids are dense, in emission (code) order.
 * Only entries of class code are indexed (chapters and blocks are not codes to pick).
 *
 * Thread-safety: pure functions over caller buffers. The varint decoder never reads past end.
 */
#ifndef CS_SEARCH_FORMAT_H
#define CS_SEARCH_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/cs_key.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_SEARCH_VERSION 2          /* the 'M' value's first byte */
#define CS_SEARCH_CHUNK 256          /* doc records per 'F' value */
#define CS_SEARCH_META_LEN 21        /* bytes of the 'M' value */
#define CS_SEARCH_WORD_HEAD 12       /* bytes of a 'W' value before its doc gaps */
#define CS_SEARCH_DOC_WORDS_MAX 255  /* distinct words kept per doc (a u8 counts them) */

#define CS_SEARCH_TAG_META 'M'
#define CS_SEARCH_TAG_WORD 'W'
#define CS_SEARCH_TAG_LIST 'L'
#define CS_SEARCH_TAG_FWD 'F'
#define CS_SEARCH_TAG_BILLABLE 'B'
#define CS_SEARCH_TAG_CLASS 'C'

/* Where a word stands in a doc (the low 3 bits of a doc record's varint); the lower, the
 * stronger. */
enum {
    CS_SEARCH_FIELD_TITLE = 0,   /* an essential word of the title */
    CS_SEARCH_FIELD_PAREN = 1,   /* a title word in parentheses (a nonessential modifier) */
    CS_SEARCH_FIELD_SHORT = 2,   /* the short title */
    CS_SEARCH_FIELD_INCL = 3,    /* an inclusion term */
    CS_SEARCH_FIELD_TERM = 4,    /* an index term a loader gave */
    CS_SEARCH_FIELDS = 5         /* how many; a larger stored value reads as a term */
};

/* Encode v into out (at most 5 bytes); returns the bytes written. */
static inline size_t cs_search_varint_put(uint8_t *out, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Decode a varint at *p (< end) into *v and move *p past it; 0 on a truncated or over-long
 * value. */
static inline int cs_search_varint_get(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    /* one and two bytes first: doc gaps and doc records' word ids are mostly that short */
    const uint8_t *s = *p;
    if (s < end && !(s[0] & 0x80)) {
        *v = s[0];
        *p = s + 1;
        return 1;
    }
    if (end - s >= 2 && !(s[1] & 0x80)) {
        *v = (uint32_t)(s[0] & 0x7f) | (uint32_t)s[1] << 7;
        *p = s + 2;
        return 1;
    }
    uint32_t x = 0;
    for (int shift = 0; shift <= 28; shift += 7) {
        if (*p >= end) {
            return 0;
        }
        uint8_t b = *(*p)++;
        x |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

/* The key [release][tag] into out (5 bytes); returns its length. */
static inline size_t cs_search_key_tag(uint8_t *out, uint32_t release, uint8_t tag)
{
    size_t n = cs_key_release(out, release);
    out[n++] = tag;
    return n;
}

/* The key of word w (len bytes, at most CS_FOLD_WORD_MAX) into out; returns its length. */
static inline size_t cs_search_key_word(uint8_t *out, uint32_t release, const char *w,
                                        size_t len)
{
    size_t n = cs_search_key_tag(out, release, CS_SEARCH_TAG_WORD);
    memcpy(out + n, w, len);
    return n + len;
}

/* The key of doc-record chunk chunk into out (9 bytes); returns its length. */
static inline size_t cs_search_key_chunk(uint8_t *out, uint32_t release, uint32_t chunk)
{
    size_t n = cs_search_key_tag(out, release, CS_SEARCH_TAG_FWD);
    cs_key_put_u32(out + n, chunk);
    return n + 4;
}

#ifdef __cplusplus
}
#endif
#endif /* CS_SEARCH_FORMAT_H */
