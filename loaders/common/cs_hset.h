/* cs_hset.h: the set of packed codes the loaders share: open addressing over 64-bit keys (a
 * code of up to 8 bytes packed a byte a character, cs_hset_pack), each with a 32-bit value
 * (the line a code was first seen on, or an index). Key 0 is never stored: it marks an empty
 * slot, and no packed code is 0. The table grows at half full, so lookups stay short.
 *
 * Not a plugin: compiled into the loaders that use it (hidden) through their plugin.mk.
 * cs_hset_t is a plain struct: zero it before first use, cs_hset_free() it after the last.
 */
#ifndef CS_HSET_H
#define CS_HSET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One slot. */
typedef struct cs_hset_slot {
    uint64_t key; /* packed code (0: empty) */
    uint32_t val; /* the caller's value */
} cs_hset_slot_t;

/* A set of packed codes; zero it to start. */
typedef struct cs_hset {
    cs_hset_slot_t *slots; /* cap slots (owned) */
    size_t cap;            /* slots, a power of two (0 before the first key) */
    size_t len;            /* keys held */
    unsigned bits;         /* log2(cap) */
} cs_hset_t;

/* code[0..n) (n <= 8) packed a byte a character, the first character lowest. */
uint64_t cs_hset_pack(const char *code, size_t n);

/* Room for n keys in all without growing. CS_OK, or CS_ENOMEM (the set is unchanged). */
int cs_hset_reserve(cs_hset_t *s, size_t n);

/* Add key (not 0) with val: 1 when added; 0 when it was there already (*old, if not NULL, gets
 * its value; the value is kept); CS_ENOMEM when the set cannot grow. */
int cs_hset_add(cs_hset_t *s, uint64_t key, uint32_t val, uint32_t *old);

/* The value of key, or NULL when it is not in the set (valid until the next add). */
uint32_t *cs_hset_get(const cs_hset_t *s, uint64_t key);

/* Free the slots and zero the set. */
void cs_hset_free(cs_hset_t *s);

#ifdef __cplusplus
}
#endif

#endif /* CS_HSET_H */
