/* csc_fastread.c: replies read straight from their msgpack bytes (csc_fastread.h). */
#include "csc_fastread.h"

#include <stdbool.h>
#include <string.h>

#include "csc_decode.h"

int csc_rd_head(const unsigned char *p, size_t left, size_t *hdr, uint64_t *body,
                uint64_t *children)
{
    if (left == 0) {
        return -1;
    }
    unsigned char c = p[0];
    size_t lenlen = 0; /* bytes of a length field */
    int kind = 0;      /* 0 payload, 1 array, 2 map */
    *hdr = 1;
    *body = 0;
    *children = 0;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
        return 0;
    }
    if (c <= 0x8f) {
        *children = 2u * (c & 0x0fu);
    } else if (c <= 0x9f) {
        *children = c & 0x0fu;
    } else if (c <= 0xbf) {
        *body = c & 0x1fu;
    } else if (c >= 0xc4 && c <= 0xc6) {
        lenlen = (size_t)1 << (c - 0xc4);
    } else if (c >= 0xc7 && c <= 0xc9) {
        lenlen = (size_t)1 << (c - 0xc7);
        *body = 1; /* the ext type byte */
    } else if (c == 0xca || c == 0xcb) {
        *body = c == 0xca ? 4 : 8;
    } else if (c >= 0xcc && c <= 0xcf) {
        *body = (uint64_t)1 << (c - 0xcc);
    } else if (c >= 0xd0 && c <= 0xd3) {
        *body = (uint64_t)1 << (c - 0xd0);
    } else if (c >= 0xd4 && c <= 0xd8) {
        *body = 1 + ((uint64_t)1 << (c - 0xd4));
    } else if (c >= 0xd9 && c <= 0xdb) {
        lenlen = (size_t)1 << (c - 0xd9);
    } else if (c == 0xdc || c == 0xdd) {
        lenlen = c == 0xdc ? 2 : 4;
        kind = 1;
    } else if (c == 0xde || c == 0xdf) {
        lenlen = c == 0xde ? 2 : 4;
        kind = 2;
    } else {
        return -1; /* 0xc1: never used */
    }
    if (lenlen > 0) {
        if (left - 1 < lenlen) {
            return -1;
        }
        uint64_t n = 0;
        for (size_t i = 0; i < lenlen; i++) {
            n = n << 8 | p[1 + i];
        }
        *hdr += lenlen;
        if (kind == 0) {
            *body += n;
        } else {
            *children = kind == 2 ? 2 * n : n;
        }
    }
    return 0;
}

int csc_rd_skip(csc_rd_t *r)
{
    uint64_t owed = 1;
    while (owed > 0) {
        size_t left = (size_t)(r->end - r->p), hdr;
        uint64_t body, children;
        if (csc_rd_head(r->p, left, &hdr, &body, &children) != 0) {
            return -1;
        }
        owed--;
        left -= hdr;
        if (body > left) {
            return -1;
        }
        r->p += hdr + (size_t)body;
        left -= (size_t)body;
        owed += children;
        if (owed > left) {
            return -1; /* every object takes a byte at least: a count past the end lies */
        }
    }
    return 0;
}

static int s_container(csc_rd_t *r, int map, uint32_t *n)
{
    size_t left = (size_t)(r->end - r->p), hdr;
    uint64_t body, children;
    if (left == 0) {
        return -1;
    }
    unsigned char c = r->p[0];
    int is = map ? ((c & 0xf0u) == 0x80 || c == 0xde || c == 0xdf)
                 : ((c & 0xf0u) == 0x90 || c == 0xdc || c == 0xdd);
    if (!is || csc_rd_head(r->p, left, &hdr, &body, &children) != 0 ||
        children > left - hdr) {
        return -1;
    }
    *n = (uint32_t)(map ? children / 2 : children);
    r->p += hdr;
    return 0;
}

int csc_rd_map(csc_rd_t *r, uint32_t *n)
{
    return s_container(r, 1, n);
}

int csc_rd_array(csc_rd_t *r, uint32_t *n)
{
    return s_container(r, 0, n);
}

/* A str at r: 0 with its bytes (*s, *n) and r past it, else -1 (r unchanged). */
static inline __attribute__((always_inline)) int s_str(csc_rd_t *r, const char **s,
                                                       uint32_t *n)
{
    size_t left = (size_t)(r->end - r->p), hdr;
    if (left == 0) {
        return -1;
    }
    unsigned char c = r->p[0];
    uint64_t body;
    if ((c & 0xe0u) == 0xa0) { /* fixstr: keys, codes, most values */
        hdr = 1;
        body = c & 0x1fu;
    } else if (c == 0xd9 && left >= 2) { /* str8: titles */
        hdr = 2;
        body = r->p[1];
    } else {
        uint64_t children;
        if (c < 0xd9 || c > 0xdb || csc_rd_head(r->p, left, &hdr, &body, &children) != 0) {
            return -1;
        }
    }
    if (body > left - hdr) {
        return -1;
    }
    *s = (const char *)r->p + hdr;
    *n = (uint32_t)body;
    r->p += hdr + (size_t)body;
    return 0;
}

int csc_rd_key(csc_rd_t *r, const char *key, uint32_t klen)
{
    csc_rd_t t = *r;
    const char *s;
    uint32_t n;
    if (s_str(&t, &s, &n) != 0 || n != klen || memcmp(s, key, klen) != 0) {
        return 0;
    }
    *r = t;
    return 1;
}

int csc_rd_uint(csc_rd_t *r, uint64_t *v)
{
    size_t left = (size_t)(r->end - r->p);
    if (left == 0) {
        return -1;
    }
    unsigned char c = r->p[0];
    if (c <= 0x7f) {
        *v = c;
        r->p++;
        return 0;
    }
    size_t k = c >= 0xcc && c <= 0xcf ? (size_t)1 << (c - 0xcc) : 0;
    if (k == 0 || left - 1 < k) {
        return -1;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < k; i++) {
        x = x << 8 | r->p[1 + i];
    }
    *v = x;
    r->p += 1 + k;
    return 0;
}

/* ---- a lookup's reply ---- */

/* What one walk over a lookup reply found. */
typedef struct s_seen {
    const char *s[CSC_LOOKUP_NSTRS]; /* a str key's bytes (NULL: absent or nil) */
    uint32_t n[CSC_LOOKUP_NSTRS];
    bool flag[3];                    /* ok, found, billable */
    unsigned keys;                   /* bits: the CSC_LOOKUP_NSTRS str keys, ok, found, billable */
} s_seen_t;

/* Which key of a lookup reply k[0..n) is: an index into csc_lookup_strs, or
 * CSC_LOOKUP_NSTRS + 0, 1, 2 for ok, found, billable, or -1 for any other. By length, then
 * compared whole. */
static int s_key_index(const char *k, uint32_t n)
{
    /* each candidate compared whole with a literal: memcmp of a known length is inlined */
#define S_IS(lit) (memcmp(k, lit, sizeof lit - 1) == 0)
    switch (n) {
    case 2: return S_IS("ok") ? (int)CSC_LOOKUP_NSTRS + 0 : -1;
    case 4: return S_IS("code") ? 0 : S_IS("kind") ? 6 : -1;
    case 5:
        return S_IS("found")   ? (int)CSC_LOOKUP_NSTRS + 1
               : S_IS("input") ? 1
               : S_IS("title") ? 7
               : S_IS("short") ? 8
                               : -1;
    case 6: return S_IS("system") ? 2 : S_IS("reason") ? 4 : S_IS("parent") ? 9 : -1;
    case 7: return S_IS("release") ? 3 : S_IS("message") ? 5 : -1;
    case 8: return S_IS("billable") ? (int)CSC_LOOKUP_NSTRS + 2 : -1;
    default: return -1;
    }
#undef S_IS
}

/* One pair of a lookup reply into w. 0, or -1 to leave the reply to the general path. */
static int s_pair(csc_rd_t *r, s_seen_t *w)
{
    const char *k;
    uint32_t kn;
    int j;
    if (s_str(r, &k, &kn) != 0 || (j = s_key_index(k, kn)) < 0 || (w->keys & (1u << j)) ||
        r->p >= r->end) {
        return -1;
    }
    w->keys |= 1u << j;
    unsigned char c = r->p[0];
    if (j >= (int)CSC_LOOKUP_NSTRS) {
        if (c != 0xc2 && c != 0xc3) {
            return -1;
        }
        w->flag[j - (int)CSC_LOOKUP_NSTRS] = c == 0xc3;
        r->p++;
        return 0;
    }
    if (c == 0xc0) { /* nil: the general decoder reads NULL too */
        r->p++;
        return 0;
    }
    return s_str(r, &w->s[j], &w->n[j]);
}

int csc_rd_lookup(csc_rd_t *r, void *room, size_t cap, cs_client_lookup_t **out)
{
    csc_rd_t t = *r;
    uint32_t pairs;
    s_seen_t w;
    memset(&w, 0, sizeof w);
    if (csc_rd_map(&t, &pairs) != 0) {
        return 0;
    }
    for (uint32_t i = 0; i < pairs; i++) {
        if (s_pair(&t, &w) != 0) {
            return 0;
        }
    }
    /* an error reply, or one without a code, is the general decoder's to tell */
    if (!(w.keys & (1u << CSC_LOOKUP_NSTRS)) || !w.flag[0] || !w.s[0]) {
        return 0;
    }
    size_t total = 0;
    for (unsigned j = 0; j < CSC_LOOKUP_NSTRS; j++) {
        total += w.s[j] ? (size_t)w.n[j] + 1 : 0;
    }
    cs_client_arena_t *a = NULL;
    cs_client_lookup_t *res;
    char *text;
    if (room && sizeof *res + total <= cap) {
        res = room; /* the caller's memory: no arena, nothing to free */
        memset(res, 0, sizeof *res);
        text = (char *)(res + 1);
    } else {
        a = cs_client_arena_new();
        res = a ? cs_client_arena_alloc(a, sizeof *res) : NULL;
        text = res ? cs_client_arena_alloc(a, total) : NULL;
        if (!text) {
            cs_client_arena_destroy(&a);
            return 0;
        }
    }
    res->arena = a;
    res->found = w.flag[1];
    res->billable = w.flag[2];
    for (unsigned j = 0; j < CSC_LOOKUP_NSTRS; j++) {
        if (w.s[j]) {
            memcpy(text, w.s[j], w.n[j]);
            text[w.n[j]] = '\0';
            *(const char **)(void *)((char *)res + csc_lookup_strs[j].field) = text;
            text += w.n[j] + 1;
        }
    }
    *r = t;
    *out = res;
    return 1;
}
