/* cs_search_build.c: the search index of a release, built in memory as the load emits records
 * (words interned in one arena, each doc's distinct words with their strongest field) and
 * written at its end in the layout of cs_search_format.h: words sorted into ids, postings by
 * counting sort, doc records in chunks, the word list, the billable and code-length bitmaps,
 * and last the meta record.
 */
#include "store/cs_search_build.h"

#include <stdlib.h>
#include <string.h>

#include "store/cs_key.h"
#include "store/cs_search_format.h"
#include "util/cs_fold.h"

#define S_COMMIT_BYTES ((size_t)32 << 20)     /* bytes written between batch commits */
#define S_NONE UINT32_MAX

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
        if (field == CS_SEARCH_FIELD_TITLE && paren) {
            f = CS_SEARCH_FIELD_PAREN;
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
        if (b->n_pairs - first >= CS_SEARCH_DOC_WORDS_MAX) {
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
    int rc = s_add_text(b, first, rec->title, CS_SEARCH_FIELD_TITLE);
    if (rc == CS_OK) {
        rc = s_add_text(b, first, rec->short_title, CS_SEARCH_FIELD_SHORT);
    }
    for (size_t i = 0; rc == CS_OK && i < rec->n_notes; i++) {
        const cs_note_t *n = &rec->notes[i];
        /* "includes" notes of a category name what it covers ("high blood pressure") */
        if (n->type && n->text &&
            (strcmp(n->type, "inclusion_terms") == 0 || strcmp(n->type, "includes") == 0)) {
            rc = s_add_text(b, first, n->text, CS_SEARCH_FIELD_INCL);
        }
    }
    for (size_t i = 0; rc == CS_OK && rec->terms && i < rec->n_terms; i++) {
        rc = s_add_text(b, first, rec->terms[i], CS_SEARCH_FIELD_TERM);
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
        n_title += (b->pairs[i] & 7) == CS_SEARCH_FIELD_TITLE;
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
        if (s_buf_need(b, CS_SEARCH_WORD_HEAD + (size_t)bw->df * 5) != CS_OK) {
            return cs_error_set(c->err, CS_ENOMEM, "search index: out of memory");
        }
        cs_key_put_u32(b->buf, id);
        cs_key_put_u32(b->buf + 4, bw->df);
        cs_key_put_u32(b->buf + 8, cum);
        size_t n = CS_SEARCH_WORD_HEAD;
        uint32_t prev = 0;
        for (size_t i = start[id]; i < start[id + 1]; i++) {
            n += cs_search_varint_put(b->buf + n, posts[i] - prev);
            prev = posts[i];
        }
        cum += bw->df;
        size_t klen = cs_search_key_word(key, b->release, b->arena + bw->off, bw->len);
        int rc = s_wput(c, key, klen, b->buf, n);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

static int s_write_docs(cs_search_builder_t *b, s_wctx_t *c)
{
    uint32_t ids[CS_SEARCH_DOC_WORDS_MAX];
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
                pos += cs_search_varint_put(out + pos, (id - prev) << 3 | (ids[k] & 7));
                prev = id;
            }
        }
        cs_key_put_u32(out + 2 + 4 * n, (uint32_t)(pos - head));
        size_t klen = cs_search_key_chunk(key, b->release, c0 / CS_SEARCH_CHUNK);
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
    size_t klen = cs_search_key_tag(key, b->release, CS_SEARCH_TAG_BILLABLE);
    int rc = s_wput(c, key, klen, b->buf, nbytes);
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
        klen = cs_search_key_tag(key, b->release, CS_SEARCH_TAG_CLASS);
        key[klen++] = (uint8_t)len;
        rc = s_wput(c, key, klen, b->buf, nbytes);
    }
    return rc;
}

/* Every word in byte order: order[id] is the index of the word whose id is id. */
static void s_assign_ids(cs_search_builder_t *b, s_sortword_t *sw, uint32_t *order)
{
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
}

/* Postings by counting sort: word id's docs are posts[start[id] .. start[id + 1]). Docs are
 * visited in order, so each list comes out sorted. */
static void s_postings(const cs_search_builder_t *b, const uint32_t *order, size_t *start,
                       uint32_t *posts)
{
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
}

/* The word list, in id order (what the typo fallback scans). */
static int s_write_list(cs_search_builder_t *b, s_wctx_t *c, const uint32_t *order)
{
    if (s_buf_need(b, b->arena_len + b->n_words + 1) != CS_OK) {
        return cs_error_set(c->err, CS_ENOMEM, "search index: out of memory");
    }
    size_t n = 0;
    for (uint32_t id = 0; id < b->n_words; id++) {
        const s_bword_t *bw = &b->words[order[id]];
        b->buf[n++] = (uint8_t)bw->len;
        memcpy(b->buf + n, b->arena + bw->off, bw->len);
        n += bw->len;
    }
    uint8_t key[8];
    return s_wput(c, key, cs_search_key_tag(key, b->release, CS_SEARCH_TAG_LIST), b->buf, n);
}

/* The meta record, written last: a reader finds an index only once all of it is there. */
static int s_write_meta(const cs_search_builder_t *b, s_wctx_t *c, uint32_t lengths)
{
    uint8_t meta[CS_SEARCH_META_LEN];
    uint8_t key[8];
    meta[0] = CS_SEARCH_VERSION;
    cs_key_put_u32(meta + 1, b->n_docs);
    cs_key_put_u32(meta + 5, b->n_words);
    cs_key_put_u32(meta + 9, (uint32_t)b->n_pairs);
    cs_key_put_u32(meta + 13, CS_SEARCH_CHUNK);
    cs_key_put_u32(meta + 17, lengths);
    return s_wput(c, key, cs_search_key_tag(key, b->release, CS_SEARCH_TAG_META), meta,
                  sizeof meta);
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
    s_assign_ids(b, sw, order);
    s_postings(b, order, start, posts);
    rc = s_write_words(b, &c, order, posts, start);
    if (rc == CS_OK) {
        rc = s_write_docs(b, &c);
    }
    if (rc == CS_OK) {
        rc = s_write_list(b, &c, order);
    }
    uint32_t lengths = 0;
    if (rc == CS_OK) {
        rc = s_write_bitmaps(b, &c, &lengths);
    }
    if (rc == CS_OK) {
        rc = s_write_meta(b, &c, lengths);
    }
done:
    free(sw);
    free(order);
    free(start);
    free(posts);
    return rc;
}

uint32_t cs_search_builder_docs(const cs_search_builder_t *b)
{
    return b ? b->n_docs : 0;
}

uint32_t cs_search_builder_words(const cs_search_builder_t *b)
{
    return b ? b->n_words : 0;
}
