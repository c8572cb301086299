/* cs_hset.c: the set of packed codes the loaders share (see cs_hset.h). */
#include "cs_hset.h"

#include <stdlib.h>

#include "codeset/cs_error.h"

#define S_MIN_CAP 1024 /* slots of a new table */

uint64_t cs_hset_pack(const char *code, size_t n)
{
    uint64_t key = 0;
    for (size_t i = 0; i < n && i < 8; i++) {
        key |= (uint64_t)(unsigned char)code[i] << (8 * i);
    }
    return key;
}

/* The slot holding key, or the empty slot where it would go (Fibonacci hashing: the top bits
 * of the product, since packed codes differ mostly in their high bytes). */
static cs_hset_slot_t *s_find(const cs_hset_t *s, uint64_t key)
{
    size_t mask = s->cap - 1;
    size_t i = (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - s->bits));
    while (s->slots[i].key != 0 && s->slots[i].key != key) {
        i = (i + 1) & mask;
    }
    return &s->slots[i];
}

int cs_hset_reserve(cs_hset_t *s, size_t n)
{
    size_t cap = s->cap ? s->cap : S_MIN_CAP;
    while (cap / 2 < n) {
        if (cap > SIZE_MAX / 2 / sizeof *s->slots) {
            return CS_ENOMEM;
        }
        cap *= 2;
    }
    if (cap == s->cap) {
        return CS_OK;
    }
    cs_hset_slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots) {
        return CS_ENOMEM;
    }
    cs_hset_t old = *s;
    s->slots = slots;
    s->cap = cap;
    s->bits = 0;
    while (((size_t)1 << s->bits) < cap) {
        s->bits++;
    }
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].key != 0) {
            *s_find(s, old.slots[i].key) = old.slots[i];
        }
    }
    free(old.slots);
    return CS_OK;
}

int cs_hset_add(cs_hset_t *s, uint64_t key, uint32_t val, uint32_t *old)
{
    if (cs_hset_reserve(s, s->len + 1) != CS_OK) {
        return CS_ENOMEM;
    }
    cs_hset_slot_t *slot = s_find(s, key);
    if (slot->key != 0) {
        if (old) {
            *old = slot->val;
        }
        return 0;
    }
    slot->key = key;
    slot->val = val;
    s->len++;
    return 1;
}

uint32_t *cs_hset_get(const cs_hset_t *s, uint64_t key)
{
    if (s->cap == 0) {
        return NULL;
    }
    cs_hset_slot_t *slot = s_find(s, key);
    return slot->key != 0 ? &slot->val : NULL;
}

void cs_hset_free(cs_hset_t *s)
{
    free(s->slots);
    *s = (cs_hset_t){0};
}
