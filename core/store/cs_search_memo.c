/* cs_search_memo.c: texts already tokenized by the search index builder (cs_search_memo.h). */
#include "store/cs_search_memo.h"

#include <stdlib.h>
#include <string.h>

typedef struct cs_search_memo_ent {
    uint64_t hash;
    size_t text;      /* offset in text */
    size_t tok;       /* offset in toks */
    uint32_t len;     /* text bytes */
    uint32_t n;       /* tokens */
} s_ent_t;

void cs_search_memo_free(cs_search_memo_t *m)
{
    free(m->text);
    free(m->toks);
    free(m->ents);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

uint64_t cs_search_memo_hash(const char *text, size_t len)
{
    /* 8 bytes a step: texts are hashed far more often than they are folded */
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, text + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, text + i, len - i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

int cs_search_memo_find(const cs_search_memo_t *m, uint64_t h, const char *text, size_t len,
                        const uint32_t **toks, uint32_t *n)
{
    if (m->n_slots == 0) {
        return 0;
    }
    for (uint32_t s = (uint32_t)h & (m->n_slots - 1); m->slots[s]; s = (s + 1) & (m->n_slots - 1)) {
        const s_ent_t *e = &m->ents[m->slots[s] - 1];
        if (e->hash == h && e->len == len && memcmp(m->text + e->text, text, len) == 0) {
            *toks = m->toks + e->tok;
            *n = e->n;
            return 1;
        }
    }
    return 0;
}

static int s_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return 1;
    }
    size_t c = *cap ? *cap : 256;
    while (c < need) {
        c *= 2;
    }
    void *q = realloc(*p, c * size);
    if (!q) {
        return 0;
    }
    *p = q;
    *cap = c;
    return 1;
}

/* Twice the slots, every entry placed again; 0 when out of memory (the memo is unchanged). */
static int s_rehash(cs_search_memo_t *m)
{
    uint32_t cap = m->n_slots ? m->n_slots * 2 : 1024;
    uint32_t *s = calloc(cap, sizeof *s);
    if (!s) {
        return 0;
    }
    for (uint32_t i = 0; i < m->n_ents; i++) {
        uint32_t k = (uint32_t)m->ents[i].hash & (cap - 1);
        while (s[k]) {
            k = (k + 1) & (cap - 1);
        }
        s[k] = i + 1;
    }
    free(m->slots);
    m->slots = s;
    m->n_slots = cap;
    return 1;
}

void cs_search_memo_put(cs_search_memo_t *m, uint64_t h, const char *text, size_t len,
                        const uint32_t *toks, uint32_t n)
{
    if (len > UINT32_MAX ||
        m->text_len + len + (m->n_toks + n) * sizeof *toks > CS_SEARCH_MEMO_BYTES) {
        return;
    }
    size_t cap_ents = m->cap_ents;
    if ((uint64_t)(m->n_ents + 1) * 2 > m->n_slots && !s_rehash(m)) {
        return;
    }
    if (!s_grow((void **)&m->ents, &cap_ents, (size_t)m->n_ents + 1, sizeof *m->ents) ||
        !s_grow((void **)&m->text, &m->text_cap, m->text_len + len, 1) ||
        !s_grow((void **)&m->toks, &m->cap_toks, m->n_toks + n, sizeof *m->toks)) {
        m->cap_ents = (uint32_t)cap_ents;
        return;
    }
    m->cap_ents = (uint32_t)cap_ents;
    s_ent_t *e = &m->ents[m->n_ents];
    e->hash = h;
    e->text = m->text_len;
    e->tok = m->n_toks;
    e->len = (uint32_t)len;
    e->n = n;
    memcpy(m->text + m->text_len, text, len);
    m->text_len += len;
    if (n) {
        memcpy(m->toks + m->n_toks, toks, n * sizeof *toks);
    }
    m->n_toks += n;
    uint32_t k = (uint32_t)h & (m->n_slots - 1);
    while (m->slots[k]) {
        k = (k + 1) & (m->n_slots - 1);
    }
    m->slots[k] = ++m->n_ents;
}
