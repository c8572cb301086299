/* cs_claim_cache.c: what the claims of one snapshot have read, so a batch reads each entry
 * and each list row once: an open-addressing table of the tabular entries met on the
 * diagnoses' chains (their notes parsed once) and of the codes looked up in edit-set lists.
 * A result kept from request to request (the engine keeps one a thread) keeps it too, so a
 * single claim costs what one in a batch does. Spans point into the snapshot's map, so the
 * table is emptied when the reader, the snapshot or the map's place changes. */
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
    free(c->ents);
    free(c->index);
    free(c->notes);
    free(c->refs);
    memset(c, 0, sizeof *c);
}

static void s_clear(cs_claim_cache_t *c)
{
    if (c->index) {
        memset(c->index, 0, (size_t)c->cap * sizeof *c->index);
    }
    c->count = c->n_notes = c->n_refs = 0;
    c->refs_known = 0;
}

void cs_claim_cache_begin(cs_claim_cache_t *c, const cs_reader_t *reader)
{
    uint64_t snapshot = cs_reader_snapshot(reader);
    unsigned gen = cs_reader_map_gen(reader);
    if (c->reader != reader || c->snapshot != snapshot || c->map_gen != gen ||
        c->count > CS_CLAIM_CACHE_MAX - CS_CLAIM_CACHE_CLAIM ||
        c->n_notes > CS_CLAIM_NOTES_MAX - CS_CLAIM_NOTES_CLAIM ||
        c->n_refs > CS_CLAIM_REFS_MAX - CS_CLAIM_REFS_CLAIM) {
        s_clear(c);
        c->reader = reader;
        c->snapshot = snapshot;
        c->map_gen = gen;
    }
}

size_t cs_claim_cache_bytes(const cs_claim_cache_t *c)
{
    return (size_t)c->cap_ents * sizeof *c->ents + (size_t)c->cap * sizeof *c->index +
           (size_t)c->cap_notes * sizeof *c->notes + (size_t)c->cap_refs * sizeof *c->refs;
}

/* The index slot of (kind, rel, cls, key): the one holding it, or the empty one where it
 * goes. */
static uint32_t *s_probe(const cs_claim_cache_t *c, uint64_t h, uint8_t kind, uint32_t rel,
                         uint8_t cls, const char *key)
{
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint32_t i = (uint32_t)h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        uint32_t *slot = &c->index[i];
        if (!*slot) {
            return slot;
        }
        const cs_claim_centry_t *e = &c->ents[*slot - 1];
        if (e->tag == tag && e->kind == kind && e->rel == rel && e->cls == cls &&
            strcmp(e->key, key) == 0) {
            return slot;
        }
    }
}

/* Double the index (at most half full after), and make room for one more entry: the index
 * holds positions, 4 bytes a slot, so growing it moves no entry. 0 when out of memory. */
static int s_grow(cs_claim_cache_t *c)
{
    if (c->count == c->cap_ents) {
        uint32_t n = c->cap_ents ? c->cap_ents * 2 : S_CAP0 / 2;
        cs_claim_centry_t *ents = realloc(c->ents, (size_t)n * sizeof *ents);
        if (!ents) {
            return 0;
        }
        c->ents = ents;
        c->cap_ents = n;
    }
    if ((c->count + 1) * 2 <= c->cap) {
        return 1;
    }
    uint32_t cap = c->cap ? c->cap * 2 : S_CAP0;
    uint32_t *index = calloc(cap, sizeof *index);
    if (!index) {
        return 0;
    }
    free(c->index);
    c->index = index;
    c->cap = cap;
    for (uint32_t k = 0; k < c->count; k++) {
        const cs_claim_centry_t *e = &c->ents[k];
        uint32_t i = e->hlow & (cap - 1);
        while (index[i]) {
            i = (i + 1) & (cap - 1);
        }
        index[i] = k + 1;
    }
    return 1;
}

cs_claim_centry_t *cs_claim_cache_get(cs_claim_cache_t *c, uint8_t kind, uint32_t rel,
                                      uint8_t cls, const char *key, int *fresh)
{
    *fresh = 0;
    if (strlen(key) >= CS_CODE_MAX || !s_grow(c)) {
        return NULL;
    }
    uint64_t h = s_hash(kind, rel, cls, key);
    uint32_t *slot = s_probe(c, h, kind, rel, cls, key);
    if (*slot) {
        return &c->ents[*slot - 1];
    }
    cs_claim_centry_t *e = &c->ents[c->count];
    memset(e, 0, sizeof *e);
    e->tag = (uint32_t)(h >> 32);
    e->hlow = (uint32_t)h;
    e->kind = kind;
    e->rel = rel;
    e->cls = cls;
    strcpy(e->key, key);
    *slot = ++c->count;
    *fresh = 1;
    return e;
}
