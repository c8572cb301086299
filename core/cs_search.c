/* cs_search.c: the search index (built in memory during a load, written at its end) and the
 * search op (word-prefix intersection over word-id ranges, typo fallback, code prefixes).
 *
 * A query folds q into words, finds for each word the range of dictionary ids it is a prefix
 * of (two seeks), picks the word with the fewest postings as the driver, walks the driver's
 * docs in code order and checks every other word against each doc's sorted word list, which
 * lives in the chunked doc records. Ranking: see README.md, "Search".
 */
#include "cs_search.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cs_fold.h"
#include "cs_key.h"

#define S_TAG_META 'M'
#define S_TAG_WORD 'W'
#define S_TAG_LIST 'L'
#define S_TAG_FWD 'F'
#define S_TAG_BILLABLE 'B'
#define S_TAG_CLASS 'C'

#define S_DOC_WORDS_MAX 255                   /* distinct words kept per doc */
#define S_COMMIT_BYTES ((size_t)32 << 20)     /* bytes written between batch commits */
#define S_NONE UINT32_MAX

/* Where a word stands in a doc; the lower, the stronger. */
enum {
    S_FIELD_TITLE = 0,   /* an essential word of the title */
    S_FIELD_PAREN = 1,   /* a title word in parentheses (a nonessential modifier) */
    S_FIELD_SHORT = 2,   /* the short title */
    S_FIELD_INCL = 3,    /* an inclusion term */
    S_FIELD_TERM = 4,    /* an index term a loader gave */
};

static const uint32_t s_field_weight[5] = {3, 3, 2, 1, 1};

/* ---- small codecs ---- */

static size_t s_put_varint(uint8_t *out, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Decode a varint at *p (< end); 0 on a truncated or over-long value. */
static int s_get_varint(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
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

static size_t s_key_tag(uint8_t *out, uint32_t release, uint8_t tag)
{
    size_t n = cs_key_release(out, release);
    out[n++] = tag;
    return n;
}

static size_t s_key_word(uint8_t *out, uint32_t release, const char *w, size_t len)
{
    size_t n = s_key_tag(out, release, S_TAG_WORD);
    memcpy(out + n, w, len);
    return n + len;
}

static size_t s_key_chunk(uint8_t *out, uint32_t release, uint32_t chunk)
{
    size_t n = s_key_tag(out, release, S_TAG_FWD);
    cs_key_put_u32(out + n, chunk);
    return n + 4;
}

/* ---- the builder ---- */

typedef struct s_bword {
    uint32_t off;     /* offset of its bytes in the arena */
    uint32_t len;     /* length */
    uint32_t df;      /* docs holding it */
    uint32_t id;      /* final id (rank in byte order), set by write */
} s_bword_t;

typedef struct s_bdoc {
    size_t pair;             /* first pair in pairs[] */
    uint16_t n_pairs;        /* distinct words */
    uint8_t flags;           /* bit 0 billable */
    uint8_t n_title;         /* essential title words */
    uint8_t key_len;         /* storage key length */
    char key[CS_CODE_MAX];   /* storage key */
} s_bdoc_t;

struct cs_search_builder {
    uint32_t release;        /* release id written */
    int status;              /* sticky error */
    char *arena;             /* word bytes */
    size_t arena_len, arena_cap;
    s_bword_t *words;        /* distinct words, in first-seen order */
    uint32_t n_words, cap_words;
    uint32_t *hash;          /* open addressing: word index + 1, 0 empty */
    uint32_t hash_cap;       /* power of two */
    s_bdoc_t *docs;          /* one per indexed record, in emission order */
    uint32_t n_docs, cap_docs;
    uint32_t *pairs;         /* per doc: word index << 3 | field */
    size_t n_pairs, cap_pairs;
    uint8_t *buf;            /* value buffer for writing */
    size_t buf_cap;
};

static int s_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return CS_OK;
    }
    size_t n = *cap ? *cap : 64;
    while (n < need) {
        n *= 2;
    }
    void *q = realloc(*p, n * size);
    if (!q) {
        return CS_ENOMEM;
    }
    *p = q;
    *cap = n;
    return CS_OK;
}

static int s_grow32(void **p, uint32_t *cap, size_t need, size_t size)
{
    size_t c = *cap;
    int rc = s_grow(p, &c, need, size);
    *cap = (uint32_t)c;
    return rc;
}

cs_search_builder_t *cs_search_builder_new(uint32_t release)
{
    cs_search_builder_t *b = calloc(1, sizeof *b);
    if (!b) {
        return NULL;
    }
    b->release = release;
    b->hash_cap = 1u << 14;
    b->hash = calloc(b->hash_cap, sizeof *b->hash);
    if (!b->hash) {
        free(b);
        return NULL;
    }
    return b;
}

void cs_search_builder_destroy(cs_search_builder_t **b)
{
    if (!b || !*b) {
        return;
    }
    cs_search_builder_t *x = *b;
    free(x->arena);
    free(x->words);
    free(x->hash);
    free(x->docs);
    free(x->pairs);
    free(x->buf);
    free(x);
    *b = NULL;
}

uint32_t cs_search_builder_docs(const cs_search_builder_t *b)
{
    return b ? b->n_docs : 0;
}

uint32_t cs_search_builder_words(const cs_search_builder_t *b)
{
    return b ? b->n_words : 0;
}

static uint32_t s_hash(const char *w, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)w[i]) * 16777619u;
    }
    return h;
}

static int s_rehash(cs_search_builder_t *b)
{
    uint32_t cap = b->hash_cap * 2;
    uint32_t *h = calloc(cap, sizeof *h);
    if (!h) {
        return CS_ENOMEM;
    }
    for (uint32_t i = 0; i < b->n_words; i++) {
        uint32_t s = s_hash(b->arena + b->words[i].off, b->words[i].len) & (cap - 1);
        while (h[s]) {
            s = (s + 1) & (cap - 1);
        }
        h[s] = i + 1;
    }
    free(b->hash);
    b->hash = h;
    b->hash_cap = cap;
    return CS_OK;
}

/* The index of word w, added if new; S_NONE when out of memory. */
static uint32_t s_intern(cs_search_builder_t *b, const char *w, size_t len)
{
    uint32_t s = s_hash(w, len) & (b->hash_cap - 1);
    while (b->hash[s]) {
        const s_bword_t *bw = &b->words[b->hash[s] - 1];
        if (bw->len == len && memcmp(b->arena + bw->off, w, len) == 0) {
            return b->hash[s] - 1;
        }
        s = (s + 1) & (b->hash_cap - 1);
    }
    if (s_grow32((void **)&b->words, &b->cap_words, (size_t)b->n_words + 1,
                 sizeof *b->words) != CS_OK ||
        s_grow((void **)&b->arena, &b->arena_cap, b->arena_len + len, 1) != CS_OK) {
        return S_NONE;
    }
    s_bword_t *nw = &b->words[b->n_words];
    nw->off = (uint32_t)b->arena_len;
    nw->len = (uint32_t)len;
    nw->df = 0;
    nw->id = 0;
    memcpy(b->arena + b->arena_len, w, len);
    b->arena_len += len;
    b->hash[s] = ++b->n_words;
    if ((uint64_t)b->n_words * 2 > b->hash_cap && s_rehash(b) != CS_OK) {
        return S_NONE;
    }
    return b->n_words - 1;
}

/* Add the words of text to the doc being built (pairs from b->n_pairs on). */
static int s_add_text(cs_search_builder_t *b, size_t first, const char *text, int field)
{
    if (!text) {
        return CS_OK;
    }
    cs_fold_iter_t it;
    cs_fold_iter_init(&it, text, strlen(text));
    char w[CS_FOLD_WORD_MAX + 1];
    size_t wl = 0;
    int paren = 0;
    while (cs_fold_next(&it, w, &wl, &paren)) {
        uint32_t f = (uint32_t)field;
        if (field == S_FIELD_TITLE && paren) {
            f = S_FIELD_PAREN;
        }
        uint32_t idx = s_intern(b, w, wl);
        if (idx == S_NONE) {
            return CS_ENOMEM;
        }
        size_t i = first;
        while (i < b->n_pairs && (b->pairs[i] >> 3) != idx) {
            i++;
        }
        if (i < b->n_pairs) {
            if ((b->pairs[i] & 7) > f) {
                b->pairs[i] = idx << 3 | f;
            }
            continue;
        }
        if (b->n_pairs - first >= S_DOC_WORDS_MAX) {
            continue;
        }
        if (s_grow((void **)&b->pairs, &b->cap_pairs, b->n_pairs + 1, sizeof *b->pairs) !=
            CS_OK) {
            return CS_ENOMEM;
        }
        b->pairs[b->n_pairs++] = idx << 3 | f;
    }
    return CS_OK;
}

int cs_search_builder_add(cs_search_builder_t *b, const cs_record_t *rec, const cs_code_t *self)
{
    if (!b || b->status != CS_OK) {
        return b ? b->status : CS_EINVAL;
    }
    if (self->cls != CS_CLASS_CODE) {
        return CS_OK;
    }
    if (s_grow32((void **)&b->docs, &b->cap_docs, (size_t)b->n_docs + 1, sizeof *b->docs) !=
        CS_OK) {
        return b->status = CS_ENOMEM;
    }
    size_t first = b->n_pairs;
    int rc = s_add_text(b, first, rec->title, S_FIELD_TITLE);
    if (rc == CS_OK) {
        rc = s_add_text(b, first, rec->short_title, S_FIELD_SHORT);
    }
    for (size_t i = 0; rc == CS_OK && i < rec->n_notes; i++) {
        const cs_note_t *n = &rec->notes[i];
        /* "includes" notes of a category name what it covers ("high blood pressure") */
        if (n->type && n->text &&
            (strcmp(n->type, "inclusion_terms") == 0 || strcmp(n->type, "includes") == 0)) {
            rc = s_add_text(b, first, n->text, S_FIELD_INCL);
        }
    }
    for (size_t i = 0; rc == CS_OK && rec->terms && i < rec->n_terms; i++) {
        rc = s_add_text(b, first, rec->terms[i], S_FIELD_TERM);
    }
    if (rc != CS_OK) {
        b->n_pairs = first;
        return b->status = rc;
    }
    s_bdoc_t *d = &b->docs[b->n_docs++];
    memset(d, 0, sizeof *d);
    d->pair = first;
    d->n_pairs = (uint16_t)(b->n_pairs - first);
    d->flags = rec->billable ? 1 : 0;
    uint32_t n_title = 0;
    for (size_t i = first; i < b->n_pairs; i++) {
        n_title += (b->pairs[i] & 7) == S_FIELD_TITLE;
        b->words[b->pairs[i] >> 3].df++;
    }
    d->n_title = (uint8_t)(n_title > 255 ? 255 : n_title);
    size_t kl = strlen(self->key);
    d->key_len = (uint8_t)(kl < CS_CODE_MAX ? kl : CS_CODE_MAX - 1);
    memcpy(d->key, self->key, d->key_len);
    return CS_OK;
}

/* For sorting words by their bytes. */
typedef struct s_sortword {
    const char *p;
    uint32_t len;
    uint32_t idx;
} s_sortword_t;

static int s_cmp_sortword(const void *a, const void *b)
{
    const s_sortword_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    if (c != 0) {
        return c;
    }
    return x->len < y->len ? -1 : (x->len > y->len);
}

static int s_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : (x > y);
}

/* Write-side state: the writer and the bytes since the last batch commit. */
typedef struct s_wctx {
    cs_writer_t *w;
    size_t since_commit;
    cs_error_t *err;
} s_wctx_t;

static int s_wput(s_wctx_t *c, const uint8_t *key, size_t klen, const void *val, size_t vlen)
{
    int rc = cs_writer_put(c->w, CS_DB_SEARCH, key, klen, val, vlen);
    if (rc != CS_OK) {
        return cs_error_set(c->err, rc, "search index: cannot write: %s", cs_strerror(rc));
    }
    c->since_commit += klen + vlen;
    if (c->since_commit >= S_COMMIT_BYTES) {
        c->since_commit = 0;
        return cs_writer_commit(c->w, c->err);
    }
    return CS_OK;
}

static int s_buf_need(cs_search_builder_t *b, size_t need)
{
    return s_grow((void **)&b->buf, &b->buf_cap, need, 1);
}

static int s_write_words(cs_search_builder_t *b, s_wctx_t *c, const uint32_t *order,
                         const uint32_t *posts, const size_t *start)
{
    uint32_t cum = 0;
    uint8_t key[8 + CS_FOLD_WORD_MAX];
    for (uint32_t id = 0; id < b->n_words; id++) {
        const s_bword_t *bw = &b->words[order[id]];
        if (s_buf_need(b, 12 + (size_t)bw->df * 5) != CS_OK) {
            return cs_error_set(c->err, CS_ENOMEM, "search index: out of memory");
        }
        cs_key_put_u32(b->buf, id);
        cs_key_put_u32(b->buf + 4, bw->df);
        cs_key_put_u32(b->buf + 8, cum);
        size_t n = 12;
        uint32_t prev = 0;
        for (size_t i = start[id]; i < start[id + 1]; i++) {
            n += s_put_varint(b->buf + n, posts[i] - prev);
            prev = posts[i];
        }
        cum += bw->df;
        size_t klen = s_key_word(key, b->release, b->arena + bw->off, bw->len);
        int rc = s_wput(c, key, klen, b->buf, n);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

static int s_write_docs(cs_search_builder_t *b, s_wctx_t *c)
{
    uint32_t ids[S_DOC_WORDS_MAX];
    uint8_t key[16];
    for (uint32_t c0 = 0; c0 < b->n_docs; c0 += CS_SEARCH_CHUNK) {
        uint32_t n = b->n_docs - c0 < CS_SEARCH_CHUNK ? b->n_docs - c0 : CS_SEARCH_CHUNK;
        size_t head = 2 + 4 * ((size_t)n + 1);
        size_t max = head;
        for (uint32_t i = 0; i < n; i++) {
            max += 4 + CS_CODE_MAX + (size_t)b->docs[c0 + i].n_pairs * 5;
        }
        if (s_buf_need(b, max) != CS_OK) {
            return cs_error_set(c->err, CS_ENOMEM, "search index: out of memory");
        }
        uint8_t *out = b->buf;
        out[0] = (uint8_t)(n >> 8);
        out[1] = (uint8_t)n;
        size_t pos = head;
        for (uint32_t i = 0; i < n; i++) {
            const s_bdoc_t *d = &b->docs[c0 + i];
            cs_key_put_u32(out + 2 + 4 * i, (uint32_t)(pos - head));
            out[pos++] = d->flags;
            out[pos++] = d->key_len;
            memcpy(out + pos, d->key, d->key_len);
            pos += d->key_len;
            out[pos++] = d->n_title;
            out[pos++] = (uint8_t)d->n_pairs;
            for (uint16_t k = 0; k < d->n_pairs; k++) {
                uint32_t p = b->pairs[d->pair + k];
                ids[k] = b->words[p >> 3].id << 3 | (p & 7);
            }
            qsort(ids, d->n_pairs, sizeof ids[0], s_cmp_u32);
            uint32_t prev = 0;
            for (uint16_t k = 0; k < d->n_pairs; k++) {
                uint32_t id = ids[k] >> 3;
                pos += s_put_varint(out + pos, (id - prev) << 3 | (ids[k] & 7));
                prev = id;
            }
        }
        cs_key_put_u32(out + 2 + 4 * n, (uint32_t)(pos - head));
        size_t klen = s_key_chunk(key, b->release, c0 / CS_SEARCH_CHUNK);
        int rc = s_wput(c, key, klen, out, pos);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

/* The billable docs, and the docs of each code length, as bitmaps (bit d of byte d / 8). */
static int s_write_bitmaps(cs_search_builder_t *b, s_wctx_t *c, uint32_t *lengths)
{
    size_t nbytes = ((size_t)b->n_docs + 63) / 64 * 8;
    if (s_buf_need(b, nbytes ? nbytes : 1) != CS_OK) {
        return cs_error_set(c->err, CS_ENOMEM, "search index: out of memory");
    }
    uint8_t key[8];
    memset(b->buf, 0, nbytes);
    *lengths = 0;
    for (uint32_t d = 0; d < b->n_docs; d++) {
        if (b->docs[d].flags & 1) {
            b->buf[d >> 3] |= (uint8_t)(1u << (d & 7));
        }
        *lengths |= 1u << (b->docs[d].key_len & 31);
    }
    int rc = s_wput(c, key, s_key_tag(key, b->release, S_TAG_BILLABLE), b->buf, nbytes);
    for (uint32_t len = 1; rc == CS_OK && len < 32; len++) {
        if (!(*lengths & (1u << len))) {
            continue;
        }
        memset(b->buf, 0, nbytes);
        for (uint32_t d = 0; d < b->n_docs; d++) {
            if (b->docs[d].key_len == len) {
                b->buf[d >> 3] |= (uint8_t)(1u << (d & 7));
            }
        }
        size_t klen = s_key_tag(key, b->release, S_TAG_CLASS);
        key[klen++] = (uint8_t)len;
        rc = s_wput(c, key, klen, b->buf, nbytes);
    }
    return rc;
}

int cs_search_builder_write(cs_search_builder_t *b, cs_writer_t *w, cs_error_t *err)
{
    if (!b) {
        return cs_error_set(err, CS_EINVAL, "search index: no builder");
    }
    if (b->status != CS_OK) {
        return cs_error_set(err, b->status, "search index: %s while indexing",
                            cs_strerror(b->status));
    }
    int rc = CS_ENOMEM;
    s_wctx_t c = {.w = w, .since_commit = 0, .err = err};
    s_sortword_t *sw = calloc((size_t)b->n_words + 1, sizeof *sw);
    uint32_t *order = calloc((size_t)b->n_words + 1, sizeof *order);
    size_t *start = calloc((size_t)b->n_words + 2, sizeof *start);
    uint32_t *posts = calloc(b->n_pairs + 1, sizeof *posts);
    if (!sw || !order || !start || !posts) {
        cs_error_set(err, CS_ENOMEM, "search index: out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < b->n_words; i++) {
        sw[i].p = b->arena + b->words[i].off;
        sw[i].len = b->words[i].len;
        sw[i].idx = i;
    }
    qsort(sw, b->n_words, sizeof *sw, s_cmp_sortword);
    for (uint32_t id = 0; id < b->n_words; id++) {
        order[id] = sw[id].idx;
        b->words[sw[id].idx].id = id;
    }
    /* Postings by counting sort: docs are visited in order, so each list comes out sorted. */
    for (uint32_t id = 0; id < b->n_words; id++) {
        start[id + 1] = start[id] + b->words[order[id]].df;
    }
    for (uint32_t d = 0; d < b->n_docs; d++) {
        const s_bdoc_t *doc = &b->docs[d];
        for (uint16_t k = 0; k < doc->n_pairs; k++) {
            uint32_t id = b->words[b->pairs[doc->pair + k] >> 3].id;
            posts[start[id]++] = d;
        }
    }
    for (uint32_t id = b->n_words; id > 0; id--) {
        start[id] = start[id - 1];
    }
    start[0] = 0;

    rc = s_write_words(b, &c, order, posts, start);
    if (rc == CS_OK) {
        rc = s_write_docs(b, &c);
    }
    if (rc == CS_OK) {
        size_t n = 0;
        rc = s_buf_need(b, b->arena_len + b->n_words + 1);
        if (rc != CS_OK) {
            cs_error_set(err, rc, "search index: out of memory");
        }
        for (uint32_t id = 0; rc == CS_OK && id < b->n_words; id++) {
            const s_bword_t *bw = &b->words[order[id]];
            b->buf[n++] = (uint8_t)bw->len;
            memcpy(b->buf + n, b->arena + bw->off, bw->len);
            n += bw->len;
        }
        uint8_t key[8];
        if (rc == CS_OK) {
            rc = s_wput(&c, key, s_key_tag(key, b->release, S_TAG_LIST), b->buf, n);
        }
    }
    uint32_t lengths = 0;
    if (rc == CS_OK) {
        rc = s_write_bitmaps(b, &c, &lengths);
    }
    if (rc == CS_OK) {
        uint8_t meta[21];
        uint8_t key[8];
        meta[0] = CS_SEARCH_VERSION;
        cs_key_put_u32(meta + 1, b->n_docs);
        cs_key_put_u32(meta + 5, b->n_words);
        cs_key_put_u32(meta + 9, (uint32_t)b->n_pairs);
        cs_key_put_u32(meta + 13, CS_SEARCH_CHUNK);
        cs_key_put_u32(meta + 17, lengths);
        rc = s_wput(&c, key, s_key_tag(key, b->release, S_TAG_META), meta, sizeof meta);
    }
done:
    free(sw);
    free(order);
    free(start);
    free(posts);
    return rc;
}

/* ---- querying ---- */

typedef struct s_meta {
    uint32_t docs, words, postings, chunk;
    uint32_t lengths; /* bit n: some code has a storage key of n characters */
} s_meta_t;

/* One query word and the dictionary ids it stands for. */
typedef struct s_term {
    char w[CS_FOLD_WORD_MAX + 1];      /* folded word */
    size_t len;
    uint32_t lo, hi;                   /* ids of the words it is a prefix of: [lo, hi) */
    uint32_t exact;                    /* id of the word itself, S_NONE if absent */
    uint32_t n_fuzzy;                  /* > 0: it matched by edit distance 1 instead */
    uint32_t fuzzy[CS_SEARCH_FUZZY_MAX]; /* those ids, ascending */
    uint64_t cost;                     /* postings of its ids */
} s_term_t;

/* A doc record, decoded. */
typedef struct s_doc {
    int billable;
    const char *key;
    size_t key_len;
    uint32_t n_title;
    uint32_t n;
    uint32_t ids[S_DOC_WORDS_MAX];
    uint8_t fields[S_DOC_WORDS_MAX];
} s_doc_t;

/* The per-query state. */
typedef struct s_q {
    cs_reader_t *r;
    uint32_t release;
    s_meta_t meta;
    s_term_t terms[CS_SEARCH_MAX_WORDS];
    size_t n_terms;
    uint32_t chunk;                    /* chunk of the cached doc records, S_NONE if none */
    const uint8_t *chunk_data;         /* its value (borrowed from the snapshot) */
    size_t chunk_len;
    uint32_t chunk_n;
} s_q_t;

/* A ranked candidate. */
typedef struct s_cand {
    uint32_t score;
    uint32_t doc;
} s_cand_t;

static int s_read_meta(s_q_t *q)
{
    uint8_t key[8];
    cs_val_t v;
    size_t klen = s_key_tag(key, q->release, S_TAG_META);
    if (cs_reader_get(q->r, CS_DB_SEARCH, key, klen, &v) != CS_OK || v.len < 1) {
        return CS_ENOTFOUND;
    }
    const uint8_t *m = v.data;
    if (m[0] != CS_SEARCH_VERSION || v.len < 21) {
        return CS_EMALFORMED;
    }
    q->meta.docs = cs_key_get_u32(m + 1);
    q->meta.words = cs_key_get_u32(m + 5);
    q->meta.postings = cs_key_get_u32(m + 9);
    q->meta.chunk = cs_key_get_u32(m + 13);
    q->meta.lengths = cs_key_get_u32(m + 17);
    if (q->meta.chunk == 0 || q->meta.chunk > 65535) {
        return CS_EMALFORMED;
    }
    return CS_OK;
}

/* Is k a word key of this release? Then w and wl get its word. */
static int s_is_word_key(const s_q_t *q, const cs_val_t *k, const char **w, size_t *wl)
{
    uint8_t pre[8];
    size_t plen = s_key_tag(pre, q->release, S_TAG_WORD);
    if (k->len < plen || memcmp(k->data, pre, plen) != 0) {
        return 0;
    }
    *w = (const char *)k->data + plen;
    *wl = k->len - plen;
    return 1;
}

/* Resolve a term's prefix range [lo, hi), its exact id and its cost. */
static int s_term_range(s_q_t *q, s_term_t *t)
{
    uint8_t key[8 + CS_FOLD_WORD_MAX + 1];
    size_t klen = s_key_word(key, q->release, t->w, t->len);
    cs_val_t k, v;
    const char *w;
    size_t wl;
    t->lo = t->hi = 0;
    t->exact = S_NONE;
    t->cost = 0;
    if (cs_reader_seek(q->r, CS_DB_SEARCH, key, klen, &k, &v) != CS_OK ||
        !s_is_word_key(q, &k, &w, &wl) || wl < t->len || memcmp(w, t->w, t->len) != 0) {
        return CS_OK; /* no word starts with it */
    }
    if (v.len < 12) {
        return CS_EMALFORMED;
    }
    t->lo = cs_key_get_u32(v.data);
    uint32_t cum_lo = cs_key_get_u32((const uint8_t *)v.data + 8);
    if (wl == t->len) {
        t->exact = t->lo;
    }
    key[klen - 1]++; /* just past every word with this prefix (words are [a-z0-9]) */
    uint32_t cum_hi = q->meta.postings;
    t->hi = q->meta.words;
    if (cs_reader_seek(q->r, CS_DB_SEARCH, key, klen, &k, &v) == CS_OK &&
        s_is_word_key(q, &k, &w, &wl)) {
        if (v.len < 12) {
            return CS_EMALFORMED;
        }
        t->hi = cs_key_get_u32(v.data);
        cum_hi = cs_key_get_u32((const uint8_t *)v.data + 8);
    }
    if (t->hi <= t->lo || cum_hi < cum_lo) {
        return CS_EMALFORMED;
    }
    t->cost = cum_hi - cum_lo;
    return CS_OK;
}

/* No word starts with t: collect the words within edit distance 1 (bounded). */
static int s_term_fuzzy(s_q_t *q, s_term_t *t)
{
    uint8_t key[8];
    cs_val_t v;
    size_t klen = s_key_tag(key, q->release, S_TAG_LIST);
    if (cs_reader_get(q->r, CS_DB_SEARCH, key, klen, &v) != CS_OK) {
        return CS_EMALFORMED;
    }
    const uint8_t *p = v.data;
    const uint8_t *end = p + v.len;
    t->n_fuzzy = 0;
    for (uint32_t id = 0; p < end && id < q->meta.words; id++) {
        size_t wl = *p++;
        if ((size_t)(end - p) < wl) {
            return CS_EMALFORMED;
        }
        if (wl + 1 >= t->len && wl <= t->len + 1 &&
            cs_fold_edit1((const char *)p, wl, t->w, t->len)) {
            t->fuzzy[t->n_fuzzy++] = id;
            uint8_t wkey[8 + CS_FOLD_WORD_MAX + 1];
            size_t wk = s_key_word(wkey, q->release, (const char *)p, wl);
            cs_val_t wv;
            if (cs_reader_get(q->r, CS_DB_SEARCH, wkey, wk, &wv) == CS_OK && wv.len >= 12) {
                t->cost += cs_key_get_u32((const uint8_t *)wv.data + 4);
            }
            if (t->n_fuzzy == CS_SEARCH_FUZZY_MAX) {
                break;
            }
        }
        p += wl;
    }
    return CS_OK;
}

/* Decode doc d's record (from its chunk, cached). */
static int s_doc_get(s_q_t *q, uint32_t d, s_doc_t *out)
{
    uint32_t chunk = d / q->meta.chunk;
    if (chunk != q->chunk) {
        uint8_t key[16];
        cs_val_t v;
        size_t klen = s_key_chunk(key, q->release, chunk);
        if (cs_reader_get(q->r, CS_DB_SEARCH, key, klen, &v) != CS_OK || v.len < 2) {
            return CS_EMALFORMED;
        }
        const uint8_t *c = v.data;
        uint32_t n = (uint32_t)c[0] << 8 | c[1];
        if (v.len < 2 + 4 * ((size_t)n + 1)) {
            return CS_EMALFORMED;
        }
        q->chunk = chunk;
        q->chunk_data = c;
        q->chunk_len = v.len;
        q->chunk_n = n;
    }
    uint32_t i = d % q->meta.chunk;
    if (i >= q->chunk_n) {
        return CS_EMALFORMED;
    }
    size_t head = 2 + 4 * ((size_t)q->chunk_n + 1);
    size_t off = cs_key_get_u32(q->chunk_data + 2 + 4 * i);
    size_t next = cs_key_get_u32(q->chunk_data + 2 + 4 * (i + 1));
    if (off > next || head + next > q->chunk_len) {
        return CS_EMALFORMED;
    }
    const uint8_t *p = q->chunk_data + head + off;
    const uint8_t *end = q->chunk_data + head + next;
    if (end - p < 2) {
        return CS_EMALFORMED;
    }
    out->billable = p[0] & 1;
    out->key_len = p[1];
    p += 2;
    if ((size_t)(end - p) < out->key_len + 2 || out->key_len >= CS_CODE_MAX) {
        return CS_EMALFORMED;
    }
    out->key = (const char *)p;
    p += out->key_len;
    out->n_title = p[0];
    out->n = p[1];
    p += 2;
    uint32_t id = 0;
    for (uint32_t k = 0; k < out->n; k++) {
        uint32_t x;
        if (!s_get_varint(&p, end, &x)) {
            return CS_EMALFORMED;
        }
        id += x >> 3;
        out->ids[k] = id;
        out->fields[k] = (uint8_t)(x & 7);
    }
    return CS_OK;
}

static int s_in_fuzzy(const s_term_t *t, uint32_t id)
{
    for (uint32_t i = 0; i < t->n_fuzzy; i++) {
        if (t->fuzzy[i] == id) {
            return 1;
        }
    }
    return 0;
}

/* The best match of term t in doc: 1 with its quality (2 whole word, 1 prefix, 0 typo),
 * weight and field, or 0 when t does not match. */
static int s_match(const s_term_t *t, const s_doc_t *doc, uint32_t *quality, uint32_t *weight,
                   uint32_t *field)
{
    int best_q = -1;
    uint32_t best_w = 0, best_f = 0;
    for (uint32_t k = 0; k < doc->n; k++) {
        uint32_t id = doc->ids[k];
        int mq;
        if (t->n_fuzzy) {
            if (!s_in_fuzzy(t, id)) {
                continue;
            }
            mq = 0;
        } else {
            if (id < t->lo) {
                continue;
            }
            if (id >= t->hi) {
                break;
            }
            mq = id == t->exact ? 2 : 1;
        }
        uint32_t f = doc->fields[k] < 5 ? doc->fields[k] : S_FIELD_TERM;
        /* Short titles are abbreviations ("Type 2 diab w hyprosm"): a query word that is one
         * of them whole is no better than a prefix of the full word in the title. */
        if (f == S_FIELD_SHORT && mq == 2) {
            mq = 1;
        }
        uint32_t wgt = s_field_weight[f];
        if (mq > best_q || (mq == best_q && wgt > best_w)) {
            best_q = mq;
            best_w = wgt;
            best_f = f;
        }
    }
    if (best_q < 0) {
        return 0;
    }
    *quality = (uint32_t)best_q;
    *weight = best_w;
    *field = best_f;
    return 1;
}

/* The score of a code of key length len with these sums; see README "Search". */
static uint32_t s_compose(uint32_t quality, uint32_t weight, size_t len, uint32_t extra)
{
    uint32_t general = len < 10 ? 10 - (uint32_t)len : 0;
    return 1 + quality * 1000000u + weight * 10000u + general * 100u +
           (extra < 99 ? 99 - extra : 0);
}

/* Score doc against every term; 0 when some term does not match. */
static uint32_t s_score(const s_q_t *q, const s_doc_t *doc)
{
    uint32_t quality = 0, weight = 0, essential = 0;
    for (size_t i = 0; i < q->n_terms; i++) {
        uint32_t mq, mw, mf;
        if (!s_match(&q->terms[i], doc, &mq, &mw, &mf)) {
            return 0;
        }
        quality += mq;
        weight += mw;
        essential += mf == S_FIELD_TITLE;
    }
    uint32_t extra = doc->n_title > essential ? doc->n_title - essential : 0;
    return s_compose(quality, weight, doc->key_len, extra);
}

/* Is a better than b (higher score, then code order)? */
static int s_better(const s_cand_t *a, const s_cand_t *b)
{
    return a->score > b->score || (a->score == b->score && a->doc < b->doc);
}

/* A bounded heap of the best k candidates; heap[0] is the worst kept. */
static void s_heap_push(s_cand_t *heap, size_t *n, size_t k, s_cand_t c)
{
    if (k == 0) {
        return;
    }
    size_t i;
    if (*n < k) {
        i = (*n)++;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (!s_better(&heap[parent], &c)) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = c;
        return;
    }
    if (!s_better(&c, &heap[0])) {
        return;
    }
    i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, worst = i;
        const s_cand_t *wc = &c;
        if (l < *n && s_better(wc, &heap[l])) {
            worst = l;
            wc = &heap[l];
        }
        if (r < *n && s_better(wc, &heap[r])) {
            worst = r;
        }
        if (worst == i) {
            break;
        }
        heap[i] = heap[worst];
        i = worst;
    }
    heap[i] = c;
}

static int s_cmp_cand(const void *a, const void *b)
{
    const s_cand_t *x = a, *y = b;
    if (s_better(x, y)) {
        return -1;
    }
    return s_better(y, x) ? 1 : 0;
}

/* Walk the docs of the word whose W value is v: set each one's bit in bits, or (bits NULL)
 * add 1 to its count. */
static int s_walk_postings(const s_q_t *q, const cs_val_t *v, uint64_t *bits, uint8_t *count)
{
    if (v->len < 12) {
        return CS_EMALFORMED;
    }
    const uint8_t *p = (const uint8_t *)v->data + 12;
    const uint8_t *end = (const uint8_t *)v->data + v->len;
    uint32_t df = cs_key_get_u32((const uint8_t *)v->data + 4);
    uint32_t d = 0;
    for (uint32_t i = 0; i < df; i++) {
        uint32_t gap;
        if (!s_get_varint(&p, end, &gap)) {
            return CS_EMALFORMED;
        }
        d += gap;
        if (d >= q->meta.docs) {
            return CS_EMALFORMED;
        }
        if (bits) {
            bits[d >> 6] |= (uint64_t)1 << (d & 63);
        } else {
            count[d]++;
        }
    }
    return CS_OK;
}

static int s_mark_postings(const s_q_t *q, const cs_val_t *v, uint64_t *bits)
{
    return s_walk_postings(q, v, bits, NULL);
}

/* Mark the docs of term t in bits. */
static int s_term_docs(s_q_t *q, const s_term_t *t, uint64_t *bits)
{
    if (t->n_fuzzy) {
        /* The fuzzy ids are scattered: fetch each word by its bytes from the list. */
        uint8_t key[8];
        cs_val_t lv;
        if (cs_reader_get(q->r, CS_DB_SEARCH, key, s_key_tag(key, q->release, S_TAG_LIST),
                          &lv) != CS_OK) {
            return CS_EMALFORMED;
        }
        const uint8_t *p = lv.data;
        const uint8_t *end = p + lv.len;
        uint32_t next = 0;
        for (uint32_t id = 0; p < end && next < t->n_fuzzy; id++) {
            size_t wl = *p++;
            if ((size_t)(end - p) < wl) {
                return CS_EMALFORMED;
            }
            if (id == t->fuzzy[next]) {
                uint8_t wkey[8 + CS_FOLD_WORD_MAX + 1];
                cs_val_t v;
                size_t wk = s_key_word(wkey, q->release, (const char *)p, wl);
                if (cs_reader_get(q->r, CS_DB_SEARCH, wkey, wk, &v) != CS_OK ||
                    s_mark_postings(q, &v, bits) != CS_OK) {
                    return CS_EMALFORMED;
                }
                next++;
            }
            p += wl;
        }
        return CS_OK;
    }
    uint8_t key[8 + CS_FOLD_WORD_MAX + 1];
    size_t klen = s_key_word(key, q->release, t->w, t->len);
    cs_val_t k, v;
    const char *w;
    size_t wl;
    int rc = cs_reader_seek(q->r, CS_DB_SEARCH, key, klen, &k, &v);
    while (rc == CS_OK && s_is_word_key(q, &k, &w, &wl) && wl >= t->len &&
           memcmp(w, t->w, t->len) == 0) {
        if (s_mark_postings(q, &v, bits) != CS_OK) {
            return CS_EMALFORMED;
        }
        rc = cs_reader_next(q->r, CS_DB_SEARCH, &k, &v);
    }
    return CS_OK;
}

/* Fold q into terms (bounded), dropping nothing but what is past CS_SEARCH_MAX_WORDS. */
static void s_parse(s_q_t *q, const char *text, size_t len)
{
    cs_fold_iter_t it;
    cs_fold_iter_init(&it, text, len);
    q->n_terms = 0;
    while (q->n_terms < CS_SEARCH_MAX_WORDS) {
        s_term_t *t = &q->terms[q->n_terms];
        memset(t, 0, sizeof *t);
        if (!cs_fold_next(&it, t->w, &t->len, NULL)) {
            break;
        }
        q->n_terms++;
    }
}

/* 64 bits of a stored bitmap (bit d of byte d / 8), as the word bits[i] of a query bitmap. */
static uint64_t s_load64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) {
        x = x << 8 | p[i];
    }
    return x;
}

/* AND a stored bitmap (tag [, len]) into bits; a missing or short one empties bits. */
static void s_and_stored(s_q_t *q, uint8_t tag, int len, uint64_t *bits, size_t words64)
{
    uint8_t key[8];
    size_t klen = s_key_tag(key, q->release, tag);
    if (len >= 0) {
        key[klen++] = (uint8_t)len;
    }
    cs_val_t v;
    int ok = cs_reader_get(q->r, CS_DB_SEARCH, key, klen, &v) == CS_OK &&
             v.len >= words64 * 8;
    for (size_t i = 0; i < words64; i++) {
        bits[i] = ok ? bits[i] & s_load64((const uint8_t *)v.data + i * 8) : 0;
    }
}

static uint64_t s_popcount(const uint64_t *bits, size_t words64)
{
    uint64_t n = 0;
    for (size_t i = 0; i < words64; i++) {
        n += (uint64_t)__builtin_popcountll(bits[i]);
    }
    return n;
}

/* Keep in bits only the docs that term t matches, checking each doc's record (cheaper than
 * reading t's postings when few docs remain). */
static int s_filter_docs(s_q_t *q, const s_term_t *t, uint64_t *bits, size_t words64,
                         s_doc_t *doc)
{
    for (size_t wi = 0; wi < words64; wi++) {
        uint64_t m = bits[wi];
        while (m) {
            uint32_t d = (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(m));
            uint64_t bit = m & (~m + 1);
            m &= m - 1;
            uint32_t mq, mw, mf;
            if (s_doc_get(q, d, doc) != CS_OK) {
                return CS_EMALFORMED;
            }
            if (!s_match(t, doc, &mq, &mw, &mf)) {
                bits[wi] &= ~bit;
            }
        }
    }
    return CS_OK;
}

/* Add 1 to count[d] for every doc d that holds term t's word itself (a whole-word match). */
static int s_count_word(s_q_t *q, const s_term_t *t, uint8_t *count)
{
    uint8_t key[8 + CS_FOLD_WORD_MAX + 1];
    size_t klen = s_key_word(key, q->release, t->w, t->len);
    cs_val_t v;
    if (cs_reader_get(q->r, CS_DB_SEARCH, key, klen, &v) != CS_OK) {
        return CS_EMALFORMED;
    }
    return s_walk_postings(q, &v, NULL, count);
}

/* Keep in bits only the docs whose count is c. */
static void s_keep_tier(uint64_t *bits, size_t words64, const uint8_t *count, uint8_t c)
{
    for (size_t wi = 0; wi < words64; wi++) {
        uint64_t m = bits[wi];
        while (m) {
            uint64_t bit = m & (~m + 1);
            uint32_t d = (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(m));
            m &= m - 1;
            if (count[d] != c) {
                bits[wi] &= ~bit;
            }
        }
    }
}

static int s_run_text(s_q_t *q, const cs_search_query_t *sq, cs_search_result_t *out,
                      cs_error_t *err)
{
    if (q->n_terms == 0) {
        return CS_OK;
    }
    int rc = s_read_meta(q);
    if (rc != CS_OK) {
        return cs_error_set(err, CS_EMALFORMED, "release %u has no usable search index",
                            q->release);
    }
    size_t order[CS_SEARCH_MAX_WORDS];
    uint32_t max_quality = 0;
    for (size_t i = 0; i < q->n_terms; i++) {
        s_term_t *t = &q->terms[i];
        rc = s_term_range(q, t);
        if (rc == CS_OK && t->lo == t->hi && t->len >= CS_SEARCH_FUZZY_MIN) {
            rc = s_term_fuzzy(q, t);
            out->fuzzy |= t->n_fuzzy > 0;
        }
        if (rc != CS_OK) {
            return cs_error_set(err, rc, "release %u: the search index is corrupt",
                                q->release);
        }
        if (t->lo == t->hi && t->n_fuzzy == 0) {
            return CS_OK; /* a word that matches nothing: no hits */
        }
        max_quality += t->n_fuzzy ? 0 : (t->exact != S_NONE ? 2 : 1);
        /* insertion sort by cost: the cheapest term drives */
        size_t j = i;
        while (j > 0 && q->terms[order[j - 1]].cost > t->cost) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    /* Keep the best offset + limit; past the window only total is answered. */
    size_t k = 0;
    if (sq->offset < CS_SEARCH_MAX_WINDOW) {
        uint64_t window = sq->offset + sq->limit;
        k = window > CS_SEARCH_MAX_WINDOW ? CS_SEARCH_MAX_WINDOW : (size_t)window;
    }
    size_t words64 = ((size_t)q->meta.docs + 63) / 64;
    uint64_t *bits = calloc(words64 ? words64 : 1, sizeof *bits);
    uint64_t *tmp = calloc(words64 ? words64 : 1, sizeof *tmp);
    uint64_t *cls = calloc(words64 ? words64 : 1, sizeof *cls);
    s_cand_t *heap = calloc(k ? k : 1, sizeof *heap);
    s_doc_t *doc = malloc(sizeof *doc);
    uint8_t *tier = NULL; /* per doc: how many terms it holds as whole words */
    if (!bits || !tmp || !cls || !heap || !doc) {
        rc = cs_error_set(err, CS_ENOMEM, "out of memory searching");
        goto done;
    }
    /* 1. The exact match set: the driver's docs, narrowed by every other term. */
    rc = s_term_docs(q, &q->terms[order[0]], bits);
    for (size_t i = 1; rc == CS_OK && i < q->n_terms; i++) {
        const s_term_t *t = &q->terms[order[i]];
        uint64_t left = s_popcount(bits, words64);
        if (left == 0) {
            break;
        }
        if (left * 16 < t->cost) {
            rc = s_filter_docs(q, t, bits, words64, doc);
        } else {
            memset(tmp, 0, words64 * sizeof *tmp);
            rc = s_term_docs(q, t, tmp);
            for (size_t wi = 0; wi < words64; wi++) {
                bits[wi] &= tmp[wi];
            }
        }
    }
    if (rc != CS_OK) {
        cs_error_set(err, rc, "release %u: the search index is corrupt", q->release);
        goto done;
    }
    if (sq->billable_only) {
        s_and_stored(q, S_TAG_BILLABLE, -1, bits, words64);
    }
    out->total = s_popcount(bits, words64);
    /* 2. Rank. A doc's quality is fixed by which terms it holds as whole words (the exact
     * word's postings), so docs fall into tiers by that count; within a tier the best score
     * is known for each code length. Walk tiers from the most whole words down and, within
     * each, the shorter (more general) codes first; stop once nothing left can beat the worst
     * hit kept. Without tiers a prefix like "f" (whole word in a few titles) would have to
     * score all 41,000 codes that start a word with it. */
    uint32_t n_plain = 0, n_exact = 0;
    for (size_t i = 0; i < q->n_terms; i++) {
        const s_term_t *t = &q->terms[i];
        n_plain += t->n_fuzzy ? 0 : 1;
        n_exact += (!t->n_fuzzy && t->exact != S_NONE) ? 1 : 0;
    }
    if (n_exact > 0 && out->total > 0) {
        tier = calloc(q->meta.docs ? q->meta.docs : 1, 1);
        if (!tier) {
            rc = cs_error_set(err, CS_ENOMEM, "out of memory searching");
            goto done;
        }
        for (size_t i = 0; rc == CS_OK && i < q->n_terms; i++) {
            const s_term_t *t = &q->terms[i];
            if (!t->n_fuzzy && t->exact != S_NONE) {
                rc = s_count_word(q, t, tier);
            }
        }
        if (rc != CS_OK) {
            cs_error_set(err, rc, "release %u: the search index is corrupt", q->release);
            goto done;
        }
    }
    size_t n_heap = 0;
    uint32_t max_weight = s_field_weight[S_FIELD_TITLE] * (uint32_t)q->n_terms;
    for (int c = (int)n_exact; c >= 0 && k > 0 && out->total > 0; c--) {
        uint32_t tier_quality = n_plain + (uint32_t)c;
        if (n_heap == k && heap[0].score > s_compose(tier_quality, max_weight, 0, 0)) {
            break;
        }
        memcpy(tmp, bits, words64 * sizeof *tmp);
        if (tier) {
            s_keep_tier(tmp, words64, tier, (uint8_t)c);
        }
        for (int len = 1; len < 32; len++) {
            if (!(q->meta.lengths & (1u << len))) {
                continue;
            }
            if (n_heap == k &&
                heap[0].score > s_compose(tier_quality, max_weight, (size_t)len, 0)) {
                break;
            }
            memcpy(cls, tmp, words64 * sizeof *cls);
            s_and_stored(q, S_TAG_CLASS, len, cls, words64);
            for (size_t wi = 0; wi < words64; wi++) {
                uint64_t m = cls[wi];
                while (m) {
                    uint32_t d = (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(m));
                    m &= m - 1;
                    rc = s_doc_get(q, d, doc);
                    if (rc != CS_OK) {
                        cs_error_set(err, rc, "release %u: the search index is corrupt",
                                     q->release);
                        goto done;
                    }
                    uint32_t score = s_score(q, doc);
                    if (score != 0) {
                        s_heap_push(heap, &n_heap, k, (s_cand_t){score, d});
                    }
                }
            }
        }
    }
    qsort(heap, n_heap, sizeof *heap, s_cmp_cand);
    for (size_t i = (size_t)sq->offset; i < n_heap && out->n_hits < sq->limit; i++) {
        rc = s_doc_get(q, heap[i].doc, doc);
        if (rc != CS_OK) {
            cs_error_set(err, rc, "release %u: the search index is corrupt", q->release);
            goto done;
        }
        cs_search_hit_t *h = &out->hits[out->n_hits++];
        h->cls = CS_CLASS_CODE;
        memcpy(h->key, doc->key, doc->key_len);
        h->key[doc->key_len] = '\0';
        h->score = heap[i].score;
    }
    rc = CS_OK;
done:
    free(bits);
    free(tmp);
    free(cls);
    free(heap);
    free(doc);
    free(tier);
    return rc;
}

/* q as a code prefix in storage form (dot and spaces dropped, upper case); 0 if it is not. */
static size_t s_code_prefix(const char *text, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '.' || c == ' ' || c == '\t') {
            continue;
        }
        if (!isalnum(c) || n + 1 >= CS_CODE_MAX) {
            return 0;
        }
        out[n++] = (char)toupper(c);
    }
    out[n] = '\0';
    return n;
}

static int s_run_code(s_q_t *q, const cs_search_query_t *sq, const char *prefix, size_t plen,
                      cs_search_result_t *out)
{
    uint8_t key[CS_KEY_MAX];
    size_t klen = cs_key_code(key, q->release, CS_CLASS_CODE, prefix, plen);
    if (klen == 0) {
        return CS_OK;
    }
    size_t base = klen - plen;
    cs_val_t k, v;
    int rc = cs_reader_seek(q->r, CS_DB_CODES, key, klen, &k, &v);
    while (rc == CS_OK && k.len >= klen && memcmp(k.data, key, klen) == 0) {
        const uint8_t *val = v.data;
        int billable = v.len >= 2 && val[0] == CS_ENTRY_VERSION && (val[1] & 1);
        if (!sq->billable_only || billable) {
            if (out->total >= sq->offset && out->n_hits < sq->limit) {
                cs_search_hit_t *h = &out->hits[out->n_hits++];
                size_t cl = k.len - base < CS_CODE_MAX ? k.len - base : CS_CODE_MAX - 1;
                h->cls = CS_CLASS_CODE;
                memcpy(h->key, (const char *)k.data + base, cl);
                h->key[cl] = '\0';
                h->score = cl == plen ? 2 : 1;
            }
            out->total++;
        }
        rc = cs_reader_next(q->r, CS_DB_CODES, &k, &v);
    }
    return CS_OK;
}

int cs_search_run(cs_reader_t *r, uint32_t release, const cs_search_query_t *sq,
                  cs_search_result_t *out, cs_error_t *err)
{
    out->total = 0;
    out->n_hits = 0;
    out->by_code = 0;
    out->fuzzy = 0;
    cs_search_query_t qq = *sq;
    if (qq.limit == 0) {
        qq.limit = 1;
    }
    if (qq.limit > CS_SEARCH_MAX_LIMIT) {
        qq.limit = CS_SEARCH_MAX_LIMIT;
    }
    s_q_t *q = malloc(sizeof *q);
    if (!q) {
        return cs_error_set(err, CS_ENOMEM, "out of memory searching");
    }
    q->r = r;
    q->release = release;
    q->chunk = S_NONE;
    q->chunk_data = NULL;
    q->chunk_len = 0;
    q->chunk_n = 0;
    int rc = CS_OK;
    char prefix[CS_CODE_MAX];
    size_t plen = 0;
    if (qq.q && qq.sys && qq.sys->looks_like_code &&
        qq.sys->looks_like_code(qq.q, qq.q_len) &&
        (plen = s_code_prefix(qq.q, qq.q_len, prefix)) > 0) {
        rc = s_run_code(q, &qq, prefix, plen, out);
        if (rc == CS_OK && out->total > 0) {
            out->by_code = 1;
            free(q);
            return CS_OK;
        }
        out->total = 0;
        out->n_hits = 0;
    }
    s_parse(q, qq.q, qq.q ? qq.q_len : 0);
    rc = s_run_text(q, &qq, out, err);
    free(q);
    return rc;
}

cs_proto_err_t cs_search_answer(cs_reader_t *r, const cs_system_ops_t *sys, uint32_t release,
                                cs_span_t label, const cs_request_t *req, msgpack_packer *pk)
{
    cs_search_query_t sq = {
        .q = req->q.ptr,
        .q_len = req->q.len,
        .sys = sys,
        .limit = CS_SEARCH_DEFAULT_LIMIT,
        .offset = req->offset > 0 ? (uint64_t)req->offset : 0,
        .billable_only = req->billable_only,
    };
    if (req->limit >= 1) {
        sq.limit = req->limit > CS_SEARCH_MAX_LIMIT ? CS_SEARCH_MAX_LIMIT
                                                    : (uint32_t)req->limit;
    }
    cs_search_result_t *res = malloc(sizeof *res);
    if (!res) {
        cs_reply_error(pk, req, CS_PERR_INTERNAL, "out of memory searching");
        return CS_PERR_INTERNAL;
    }
    cs_error_t err;
    cs_error_clear(&err);
    if (cs_search_run(r, release, &sq, res, &err) != CS_OK) {
        cs_reply_error(pk, req, CS_PERR_INTERNAL, err.msg);
        free(res);
        return CS_PERR_INTERNAL;
    }
    cs_reply_begin(pk, req, 1, 3);
    cs_pack_cstr(pk, "release");
    cs_pack_strn(pk, label.ptr, label.len);
    cs_pack_kv_int(pk, "total", (int64_t)res->total);
    cs_pack_cstr(pk, "hits");
    msgpack_pack_array(pk, (uint32_t)res->n_hits);
    for (size_t i = 0; i < res->n_hits; i++) {
        const cs_search_hit_t *h = &res->hits[i];
        uint8_t key[CS_KEY_MAX];
        size_t klen = cs_key_code(key, release, h->cls, h->key, strlen(h->key));
        cs_val_t v;
        cs_entry_t ent;
        if (klen == 0 || cs_reader_get(r, CS_DB_CODES, key, klen, &v) != CS_OK ||
            cs_entry_decode_head(v.data, v.len, &ent) != CS_OK) {
            msgpack_pack_nil(pk); /* a corrupt store: keep the array's count true */
            continue;
        }
        msgpack_pack_map(pk, 4);
        cs_pack_cstr(pk, "code");
        cs_pack_strn(pk, ent.display.ptr, ent.display.len);
        cs_pack_cstr(pk, "title");
        cs_pack_strn(pk, ent.title.ptr, ent.title.len);
        cs_pack_kv_bool(pk, "billable", ent.billable);
        cs_pack_kv_int(pk, "score", res->hits[i].score);
    }
    free(res);
    return CS_PERR_NONE;
}
