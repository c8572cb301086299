/* cs_codeidx_int.h: what the code index (cs_codeidx.c) and its image (cs_codeidx_image.c)
 * share: the index object, the record layout and the steps of a build. Not an API: only
 * those two files include it.
 *
 * The arena (image version 2) holds every entry's record, then every entry's titles. A
 * record holds what a find reads and compares, and where its titles lie; the titles, which
 * are two thirds of the bytes, are lent, not read, by a find. So the records and the hash
 * table (6.3 MiB for ICD-10-CM FY2021, where the whole image is 15.6) stay in a shared L3
 * cache that the whole would not fit, and a random find waits on the slot's line and then
 * the record's (with the next, where a record starts near a line's end: both addresses known
 * at once), each an L3 hit more often than not, never on a line found by reading another.
 * Who reads a title pays its miss. Since image version 3 the arena ends with the release's
 * attribute pool: every attribute name-value pair of its entries once, as stored
 * (cs_entry.h), and an entry's titles are followed by one u32 offset into the pool per
 * attribute, so a lookup of an ICD-10-PCS or HCPCS code (whose every entry has attributes)
 * is answered by the index too (ICD-10-PCS FY2025's 80,000 codes have 640,000 attributes:
 * 2.4 MiB of offsets, and a pool of 92 KiB). Numbers in native order:
 *    0 u8 class               4 u8 1 if billable, else 0               8 u8 parent key length
 *    1 u8 key length          5 u8 the value's class                    9 u8 parent length
 *    2 u8 flags (below)       6 u8 parent class (0: none)              10 u8 kind length
 *    3 u8 parent prefix       7 u8 display length                      11 u8 attributes held
 *   12 u16 title length      14 u16 short title length
 *   16 i32 valid_from        20 i32 valid_to (yyyymmdd, 0: none)
 *   24 u32 where the title lies in the titles (the short title follows it)
 *   28 the key, display, parent key, parent, kind (not terminated)
 * The stored value's head (cs_entry.h) but that a field equal to another is written empty,
 * with a flag or the parent prefix saying which it equals (n > 0: the parent's key is the
 * first n characters of the key; the short title is the title for 44% of FY2021's codes; an
 * ICD-10-PCS or HCPCS code displays as its key; E11.9's parent is E11). An entry with more
 * attributes than a byte counts keeps them in LMDB only (its flags say CS_CODEIDX_HAS_ATTRS,
 * which otherwise the index never says: it holds them). Slots hold
 * (hash tag << 32) | (record offset + 1); 0 is empty. */
#ifndef CS_CODEIDX_INT_H
#define CS_CODEIDX_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "store/cs_codeidx.h"

#define CS_CODEIDX_REC_FIXED 28
#define CS_CODEIDX_SHORT_IS_TITLE 0x10u /* the short title is the title */
#define CS_CODEIDX_DISPLAY_IS_KEY 0x20u /* the display form is the storage key */
#define CS_CODEIDX_PARENT_IS_KEY 0x40u  /* the parent's display form is its storage key */

struct cs_codeidx {
    atomic_int refs;   /* the set's own, plus one per acquirer */
    uint32_t release;
    const uint64_t *slots; /* open addressing, linear probing; 0 is empty */
    uint64_t mask;
    uint32_t max_probe;    /* no key is further than this many slots from its home */
    const uint8_t *arena;
    size_t arena_len;
    size_t records_len; /* the arena's records; its titles follow them */
    size_t pool_at;     /* where its attribute pool starts (the titles end); arena_len: none */
    size_t arena_map;  /* bytes mapped while building (the arena's own mapping); 0 after */
    cs_mapping_t image; /* the release's image in the data file, when read from it */
    size_t entries;
    size_t bytes;      /* slots + arena */
    uint64_t used_at;  /* the set's clock when last acquired (under the set's lock) */
    _Atomic uint64_t used_ms; /* monotonic ms of the last use: at acquire, and at most once a
                               * second from the holders that keep it between requests */
    atomic_int dropped;       /* the set let go of it: holders should too */
};

/* A new index object of release, holding one reference; NULL when out of memory. */
cs_codeidx_t *cs_codeidx_new_(uint32_t release);
/* Free idx whatever its references (a build that failed; the last release). */
void cs_codeidx_free_(cs_codeidx_t *idx);
/* Read release's entries, in a snapshot of their own, into idx's arena (records, titles,
 * attribute pool; idx->records_len and pool_at set): a mapping of its own (idx->arena_map bytes),
 * which the caller copies where it is read and then unmaps.
 * CS_OK, CS_ENOTFOUND (no entries), CS_EMALFORMED (an entry of an older layout), CS_ESPACE
 * (too large), CS_ENOMEM, CS_EINTERNAL; err says which release and why. */
int cs_codeidx_read_(cs_store_t *store, cs_codeidx_t *idx, cs_error_t *err);
/* The slot count for n entries: a power of two, at least 2n. */
uint64_t cs_codeidx_slots_for_(size_t n);
/* Hash every record of the first len bytes of arena (its records) into slots[mask + 1]
 * (zeroed); the longest probe. */
uint32_t cs_codeidx_fill_(uint64_t *slots, uint64_t mask, const uint8_t *arena, size_t len);

/* Map release's image from the store into a new index (one reference), the whole image
 * asked of the kernel at once when read_ahead (MADV_WILLNEED). CS_OK; CS_ENOTFOUND (no
 * image: a release loaded before images, or one not indexable); CS_EMALFORMED (an image
 * refused: err says why); CS_ENOMEM, CS_EIO, CS_EINTERNAL. */
int cs_codeidx_image_open_(cs_store_t *store, uint32_t release, int read_ahead,
                           cs_codeidx_t **out, cs_error_t *err);

#endif /* CS_CODEIDX_INT_H */
