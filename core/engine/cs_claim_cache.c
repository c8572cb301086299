/* cs_claim_cache.c: what the claims of one snapshot have read, so a batch reads each entry
 * and each list row once: an open-addressing table of the tabular entries met on the
 * diagnoses' chains (their notes parsed once) and of the codes looked up in edit-set lists.
 * Spans point into the snapshot, so the table is emptied when the snapshot changes. */
#include <stdlib.h>
#include <string.h>

#include "engine/cs_claim_int.h"

#define S_CAP0 256u

static uint64_t s_hash(uint8_t kind, uint32_t rel, uint8_t cls, const char *key)
{
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)kind << 40 | (uint64_t)cls << 32 | rel);
    h *= 1099511628211ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h = (h ^ *p) * 1099511628211ull;
    }
    return h ^ (h >> 29);
}

void cs_claim_cache_fini(cs_claim_cache_t *c)
{
    free(c->slots);
    free(c->notes);
    free(c->refs);
    memset(c, 0, sizeof *c);
}

static void s_clear(cs_claim_cache_t *c)
{
    if (c->slots) {
        memset(c->slots, 0, (size_t)c->cap * sizeof *c->slots);
    }
    c->count = c->n_notes = c->n_refs = 0;
    c->refs_known = 0;
}

void cs_claim_cache_begin(cs_claim_cache_t *c, uint64_t snapshot)
{
    if (c->snapshot != snapshot || c->count > CS_CLAIM_CACHE_MAX) {
        s_clear(c);
        c->snapshot = snapshot;
    }
}

static cs_claim_centry_t *s_probe(cs_claim_centry_t *slots, uint32_t cap, uint64_t h,
                                  uint8_t kind, uint32_t rel, uint8_t cls, const char *key)
{
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        cs_claim_centry_t *e = &slots[i];
        if (!e->kind || (e->tag == tag && e->kind == kind && e->rel == rel && e->cls == cls &&
                         strcmp(e->key, key) == 0)) {
            return e;
        }
    }
}

/* Double the table (at most half full after). 0 when out of memory. */
static int s_grow(cs_claim_cache_t *c)
{
    uint32_t cap = c->cap ? c->cap * 2 : S_CAP0;
    cs_claim_centry_t *slots = calloc(cap, sizeof *slots);
    if (!slots) {
        return 0;
    }
    for (uint32_t i = 0; i < c->cap; i++) {
        const cs_claim_centry_t *e = &c->slots[i];
        if (e->kind) {
            uint64_t h = s_hash(e->kind, e->rel, e->cls, e->key);
            *s_probe(slots, cap, h, e->kind, e->rel, e->cls, e->key) = *e;
        }
    }
    free(c->slots);
    c->slots = slots;
    c->cap = cap;
    return 1;
}

cs_claim_centry_t *cs_claim_cache_get(cs_claim_cache_t *c, uint8_t kind, uint32_t rel,
                                      uint8_t cls, const char *key, int *fresh)
{
    *fresh = 0;
    if (strlen(key) >= CS_CODE_MAX || ((c->count + 1) * 2 > c->cap && !s_grow(c))) {
        return NULL;
    }
    uint64_t h = s_hash(kind, rel, cls, key);
    cs_claim_centry_t *e = s_probe(c->slots, c->cap, h, kind, rel, cls, key);
    if (!e->kind) {
        memset(e, 0, sizeof *e);
        e->tag = (uint32_t)(h >> 32);
        e->kind = kind;
        e->rel = rel;
        e->cls = cls;
        strcpy(e->key, key);
        c->count++;
        *fresh = 1;
    }
    return e;
}
