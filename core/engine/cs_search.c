/* cs_search.c: the search op over a release's search index (cs_search_format.h): word-prefix
 * intersection over word-id ranges, typo fallback, code prefixes.
 *
 * A query folds q into words, finds for each word the range of dictionary ids it is a prefix
 * of (two seeks), picks the word with the fewest postings as the driver, walks the driver's
 * docs in code order and checks every other word against each doc's sorted word list, which
 * lives in the chunked doc records. Ranking: see README.md, "Search".
 */
#include "engine/cs_search.h"

#include <ctype.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cs_search_cache.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_search_format.h"
#include "util/cs_fold.h"

#define S_NONE UINT32_MAX
/* Rank by scoring every match when the whole words' postings are this many times the matches
 * or more (s_rank_directly). */
#define S_DIRECT_RATIO 32
/* Narrow the match set by checking its docs' records rather than by a term's postings when
 * the postings are this many times the docs left or more (a record costs about as much to
 * read as that many postings). */
#define S_FILTER_RATIO 16

/* What a match in each field adds to a score (by CS_SEARCH_FIELD_*). */
static const uint32_t s_field_weight[CS_SEARCH_FIELDS] = {3, 3, 2, 1, 1};

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
    uint32_t exact_df;                 /* docs of the word itself (0 if absent) */
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
    uint32_t ids[CS_SEARCH_DOC_WORDS_MAX];
    uint8_t fields[CS_SEARCH_DOC_WORDS_MAX];
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
    uint32_t mark_lo, mark_hi;         /* docs [lo, hi) hold every bit postings were marked in
                                        * since they were last reset (s_walk_postings) */
    uint64_t work;                     /* what it has cost so far (CS_SEARCH_WORK_*) */
    uint64_t budget;                   /* at most this much (0: no bound) */
} s_q_t;

/* Count units of work; CS_EAGAIN once they are over the query's budget. */
static int s_charge(s_q_t *q, uint64_t units)
{
    q->work += units;
    return q->budget && q->work > q->budget ? CS_EAGAIN : CS_OK;
}

/* A ranked candidate. */
typedef struct s_cand {
    uint32_t score;
    uint32_t doc;
} s_cand_t;

static int s_read_meta(s_q_t *q)
{
    uint8_t key[8];
    cs_val_t v;
    size_t klen = cs_search_key_tag(key, q->release, CS_SEARCH_TAG_META);
    if (cs_reader_get(q->r, CS_DB_SEARCH, key, klen, &v) != CS_OK || v.len < 1) {
        return CS_ENOTFOUND;
    }
    const uint8_t *m = v.data;
    if (m[0] != CS_SEARCH_VERSION || v.len < CS_SEARCH_META_LEN) {
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
    size_t plen = cs_search_key_tag(pre, q->release, CS_SEARCH_TAG_WORD);
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
    size_t klen = cs_search_key_word(key, q->release, t->w, t->len);
    cs_val_t k, v;
    const char *w;
    size_t wl;
    t->lo = t->hi = 0;
    t->exact = S_NONE;
    t->exact_df = 0;
    t->cost = 0;
    if (cs_reader_seek(q->r, CS_DB_SEARCH, key, klen, &k, &v) != CS_OK ||
        !s_is_word_key(q, &k, &w, &wl) || wl < t->len || memcmp(w, t->w, t->len) != 0) {
        return CS_OK; /* no word starts with it */
    }
    if (v.len < CS_SEARCH_WORD_HEAD) {
        return CS_EMALFORMED;
    }
    t->lo = cs_key_get_u32(v.data);
    uint32_t cum_lo = cs_key_get_u32((const uint8_t *)v.data + 8);
    if (wl == t->len) {
        t->exact = t->lo;
        t->exact_df = cs_key_get_u32((const uint8_t *)v.data + 4);
    }
    key[klen - 1]++; /* just past every word with this prefix (words are [a-z0-9]) */
    uint32_t cum_hi = q->meta.postings;
    t->hi = q->meta.words;
    if (cs_reader_seek(q->r, CS_DB_SEARCH, key, klen, &k, &v) == CS_OK &&
        s_is_word_key(q, &k, &w, &wl)) {
        if (v.len < CS_SEARCH_WORD_HEAD) {
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
    int rc = s_charge(q, q->meta.words / CS_SEARCH_WORK_WORDS);
    if (rc != CS_OK) {
        return rc;
    }
    uint8_t key[8];
    cs_val_t v;
    size_t klen = cs_search_key_tag(key, q->release, CS_SEARCH_TAG_LIST);
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
            size_t wk = cs_search_key_word(wkey, q->release, (const char *)p, wl);
            cs_val_t wv;
            if (cs_reader_get(q->r, CS_DB_SEARCH, wkey, wk, &wv) == CS_OK &&
                wv.len >= CS_SEARCH_WORD_HEAD) {
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
    int rc = s_charge(q, CS_SEARCH_WORK_DOC);
    if (rc != CS_OK) {
        return rc;
    }
    uint32_t chunk = d / q->meta.chunk;
    if (chunk != q->chunk) {
        uint8_t key[16];
        cs_val_t v;
        size_t klen = cs_search_key_chunk(key, q->release, chunk);
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
        if (!cs_search_varint_get(&p, end, &x)) {
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
    /* a doc's ids ascend: a prefix's range starts at the first id >= lo */
    uint32_t k = 0;
    for (uint32_t n = t->n_fuzzy ? 0 : doc->n; n > 0;) {
        uint32_t half = n / 2;
        if (doc->ids[k + half] < t->lo) {
            k += half + 1;
            n -= half + 1;
        } else {
            n = half;
        }
    }
    for (; k < doc->n; k++) {
        uint32_t id = doc->ids[k];
        int mq;
        if (t->n_fuzzy) {
            if (!s_in_fuzzy(t, id)) {
                continue;
            }
            mq = 0;
        } else {
            if (id >= t->hi) {
                break;
            }
            mq = id == t->exact ? 2 : 1;
        }
        uint32_t f = doc->fields[k] < CS_SEARCH_FIELDS ? doc->fields[k] : CS_SEARCH_FIELD_TERM;
        /* Short titles are abbreviations ("Type 2 diab w hyprosm"): a query word that is one
         * of them whole is no better than a prefix of the full word in the title. */
        if (f == CS_SEARCH_FIELD_SHORT && mq == 2) {
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
        essential += mf == CS_SEARCH_FIELD_TITLE;
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
static int s_walk_postings(s_q_t *q, const cs_val_t *v, uint64_t *bits, uint8_t *count)
{
    if (v->len < CS_SEARCH_WORD_HEAD) {
        return CS_EMALFORMED;
    }
    const uint8_t *p = (const uint8_t *)v->data + CS_SEARCH_WORD_HEAD;
    const uint8_t *end = (const uint8_t *)v->data + v->len;
    uint32_t df = cs_key_get_u32((const uint8_t *)v->data + 4);
    int rc = s_charge(q, df); /* before the walk: a budget stops it before it starts */
    if (rc != CS_OK) {
        return rc;
    }
    uint32_t d = 0;
    for (uint32_t i = 0; i < df; i++) {
        uint32_t gap;
        if (!cs_search_varint_get(&p, end, &gap)) {
            return CS_EMALFORMED;
        }
        d += gap;
        if (d >= q->meta.docs) {
            return CS_EMALFORMED;
        }
        if (bits) {
            bits[d >> 6] |= (uint64_t)1 << (d & 63);
            q->mark_lo = d < q->mark_lo ? d : q->mark_lo;
            q->mark_hi = d >= q->mark_hi ? d + 1 : q->mark_hi;
        } else {
            count[d]++;
        }
    }
    return CS_OK;
}

static int s_mark_postings(s_q_t *q, const cs_val_t *v, uint64_t *bits)
{
    return s_walk_postings(q, v, bits, NULL);
}

/* Mark the docs of term t in bits. */
static int s_term_docs(s_q_t *q, const s_term_t *t, uint64_t *bits)
{
    if (t->n_fuzzy) {
        /* The fuzzy ids are scattered: fetch each word by its bytes from the list. */
        uint8_t key[8];
        size_t klen = cs_search_key_tag(key, q->release, CS_SEARCH_TAG_LIST);
        cs_val_t lv;
        if (cs_reader_get(q->r, CS_DB_SEARCH, key, klen, &lv) != CS_OK) {
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
                size_t wk = cs_search_key_word(wkey, q->release, (const char *)p, wl);
                if (cs_reader_get(q->r, CS_DB_SEARCH, wkey, wk, &v) != CS_OK) {
                    return CS_EMALFORMED;
                }
                int rc = s_mark_postings(q, &v, bits);
                if (rc != CS_OK) {
                    return rc;
                }
                next++;
            }
            p += wl;
        }
        return CS_OK;
    }
    uint8_t key[8 + CS_FOLD_WORD_MAX + 1];
    size_t klen = cs_search_key_word(key, q->release, t->w, t->len);
    cs_val_t k, v;
    const char *w;
    size_t wl;
    int rc = cs_reader_seek(q->r, CS_DB_SEARCH, key, klen, &k, &v);
    while (rc == CS_OK && s_is_word_key(q, &k, &w, &wl) && wl >= t->len &&
           memcmp(w, t->w, t->len) == 0) {
        int mrc = s_mark_postings(q, &v, bits);
        if (mrc != CS_OK) {
            return mrc;
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

/* 64 bits of a stored bitmap (bit d of byte d / 8), as the word bits[i] of a query bitmap:
 * the bytes little-endian, read as one load. */
static uint64_t s_load64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return le64toh(x);
}

/* The stored bitmap (tag [, len]) of words64 words, borrowed from the snapshot; NULL when it
 * is missing or short (it then matches no doc). */
static const uint8_t *s_stored(s_q_t *q, uint8_t tag, int len, size_t words64)
{
    uint8_t key[8];
    size_t klen = cs_search_key_tag(key, q->release, tag);
    if (len >= 0) {
        key[klen++] = (uint8_t)len;
    }
    cs_val_t v;
    if (cs_reader_get(q->r, CS_DB_SEARCH, key, klen, &v) != CS_OK || v.len < words64 * 8) {
        return NULL;
    }
    return v.data;
}

/* AND the stored bitmap sb (NULL: none, which empties bits) into bits[lo, hi). */
static void s_and_stored(uint64_t *bits, const uint8_t *sb, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        bits[i] = sb ? bits[i] & s_load64(sb + i * 8) : 0;
    }
}

/* The docs of bits[lo, hi). Built twice on x86-64, the loader picking the popcnt instruction
 * where the CPU has it (else a call per word, most of what counting a big match set costs). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("popcnt", "default")))
#endif
static uint64_t s_popcount(const uint64_t *bits, size_t lo, size_t hi)
{
    uint64_t n = 0;
    for (size_t i = lo; i < hi; i++) {
        n += (uint64_t)__builtin_popcountll(bits[i]);
    }
    return n;
}

/* Narrow [*lo, *hi) to the words of bits that hold a doc (an empty bitmap: *lo == *hi). */
static void s_shrink(const uint64_t *bits, size_t *lo, size_t *hi)
{
    while (*lo < *hi && bits[*lo] == 0) {
        (*lo)++;
    }
    while (*hi > *lo && bits[*hi - 1] == 0) {
        (*hi)--;
    }
}

/* Keep in bits only the docs that every term of q->terms[order[0..n)] matches, checking each
 * doc's record once (cheaper than reading the terms' postings when few docs remain). */
static int s_filter_docs(s_q_t *q, const size_t *order, size_t n, uint64_t *bits, size_t lo,
                         size_t hi, s_doc_t *doc)
{
    for (size_t wi = lo; wi < hi; wi++) {
        uint64_t m = bits[wi];
        while (m) {
            uint32_t d = (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(m));
            uint64_t bit = m & (~m + 1);
            m &= m - 1;
            uint32_t mq, mw, mf;
            int rc = s_doc_get(q, d, doc);
            if (rc != CS_OK) {
                return rc;
            }
            for (size_t i = 0; i < n; i++) {
                if (!s_match(&q->terms[order[i]], doc, &mq, &mw, &mf)) {
                    bits[wi] &= ~bit;
                    break;
                }
            }
        }
    }
    return CS_OK;
}

/* Add 1 to count[d] for every doc d that holds term t's word itself (a whole-word match). */
static int s_count_word(s_q_t *q, const s_term_t *t, uint8_t *count)
{
    uint8_t key[8 + CS_FOLD_WORD_MAX + 1];
    size_t klen = cs_search_key_word(key, q->release, t->w, t->len);
    cs_val_t v;
    if (cs_reader_get(q->r, CS_DB_SEARCH, key, klen, &v) != CS_OK) {
        return CS_EMALFORMED;
    }
    return s_walk_postings(q, &v, NULL, count);
}

/* Keep in bits[lo, hi) only the docs whose count is c. */
static void s_keep_tier(uint64_t *bits, size_t lo, size_t hi, const uint8_t *count, uint8_t c)
{
    for (size_t wi = lo; wi < hi; wi++) {
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

/* Resolve every term's ids (its prefix range, else its typo fallback) and order the terms by
 * cost, cheapest first: order[0] drives. *matchable is 0 when some term matches no word (no
 * hits, and no need to look further). CS_OK or CS_EMALFORMED. */
static int s_plan(s_q_t *q, size_t *order, int *matchable, cs_search_result_t *out)
{
    *matchable = 0;
    for (size_t i = 0; i < q->n_terms; i++) {
        s_term_t *t = &q->terms[i];
        int rc = s_term_range(q, t);
        if (rc == CS_OK && t->lo == t->hi && t->len >= CS_SEARCH_FUZZY_MIN) {
            rc = s_term_fuzzy(q, t);
            out->fuzzy |= t->n_fuzzy > 0;
        }
        if (rc != CS_OK) {
            return rc;
        }
        if (t->lo == t->hi && t->n_fuzzy == 0) {
            return CS_OK;
        }
        /* insertion sort by cost */
        size_t j = i;
        while (j > 0 && q->terms[order[j - 1]].cost > t->cost) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    *matchable = 1;
    return CS_OK;
}

/* The buffers of one text query, sized by the release's docs and the hits it keeps. */
typedef struct s_work {
    size_t words64;     /* 64-bit words of a doc bitmap */
    size_t lo, hi;      /* bits' words [lo, hi) hold every doc of the match set; the rest are
                         * 0, so every pass over bits reads those words only */
    size_t dlo, dhi;    /* bits' words [dlo, dhi) are all the search wrote (the driver's);
                         * cleared when it ends, so that bits starts the next one all 0 */
    uint64_t *bits;     /* the match set */
    uint64_t *tmp;      /* scratch: a term's docs, then the match set's docs of one tier */
    const uint8_t *lens[32]; /* the stored bitmap of each key length (CS_SEARCH_TAG_CLASS),
                              * borrowed from the snapshot; NULL: none */
    uint32_t lens_read; /* bit n: lens[n] has been read */
    s_cand_t *heap;     /* the best k candidates (s_heap_push) */
    size_t k;           /* candidates kept: offset + limit, within CS_SEARCH_MAX_WINDOW */
    size_t n_heap;      /* candidates in heap */
    s_doc_t *doc;       /* a decoded doc record */
    uint8_t *tier;      /* per doc: how many terms it holds as whole words; NULL if unneeded */
    cs_search_scratch_t *sc; /* where the buffers above live */
} s_work_t;

/* The buffers of a search, kept from one search to the next of the same thread: each grows to
 * the largest release (or window) searched and never shrinks. */
struct cs_search_scratch {
    s_q_t q;                 /* the per-query state */
    s_doc_t doc;             /* a decoded doc record */
    uint64_t *bits, *tmp;    /* doc bitmaps of cap_bits and cap_tmp words */
    size_t cap_bits, cap_tmp;
    uint8_t *tier;           /* cap_tier bytes */
    size_t cap_tier;
    s_cand_t *heap;          /* cap_heap candidates */
    size_t cap_heap;
    cs_search_result_t res;  /* the search op's result (cs_search_answer_aided) */
};

cs_search_scratch_t *cs_search_scratch_new(void)
{
    return calloc(1, sizeof(cs_search_scratch_t));
}

void cs_search_scratch_destroy(cs_search_scratch_t **sc)
{
    if (!sc || !*sc) {
        return;
    }
    free((*sc)->bits);
    free((*sc)->tmp);
    free((*sc)->tier);
    free((*sc)->heap);
    free(*sc);
    *sc = NULL;
}

/* Make *p hold at least n elements of size bytes (its contents are not kept). 0 when out of
 * memory (*p is then NULL and *cap 0). */
static int s_grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap) {
        return 1;
    }
    free(*p);
    *p = malloc(n * size);
    *cap = *p ? n : 0;
    return *p != NULL;
}

/* Size w for q (meta read) and sq, in sc's buffers. CS_OK or CS_ENOMEM. */
static int s_work_init(s_work_t *w, const s_q_t *q, const cs_search_query_t *sq,
                       cs_search_scratch_t *sc)
{
    /* Keep the best offset + limit; past the window only total is answered. */
    w->k = 0;
    if (sq->offset < CS_SEARCH_MAX_WINDOW) {
        uint64_t window = sq->offset + sq->limit;
        w->k = window > CS_SEARCH_MAX_WINDOW ? CS_SEARCH_MAX_WINDOW : (size_t)window;
    }
    w->n_heap = 0;
    w->words64 = ((size_t)q->meta.docs + 63) / 64;
    size_t n64 = w->words64 ? w->words64 : 1;
    w->lo = w->dlo = 0;
    w->hi = w->dhi = w->words64;
    w->lens_read = 0;
    w->sc = sc;
    w->doc = &sc->doc;
    w->tier = NULL;
    size_t had = sc->cap_bits;
    if (!s_grow((void **)&sc->bits, &sc->cap_bits, n64, sizeof *sc->bits)) {
        return CS_ENOMEM;
    }
    if (sc->cap_bits != had) {
        memset(sc->bits, 0, sc->cap_bits * sizeof *sc->bits); /* then kept 0 (s_work_done) */
    }
    if (!s_grow((void **)&sc->tmp, &sc->cap_tmp, n64, sizeof *sc->tmp) ||
        !s_grow((void **)&sc->heap, &sc->cap_heap, w->k ? w->k : 1, sizeof *sc->heap)) {
        return CS_ENOMEM;
    }
    w->bits = sc->bits;
    w->tmp = sc->tmp;
    w->heap = sc->heap;
    return CS_OK;
}

/* Leave the scratch's match-set bitmap all 0 for the next search: the words the search wrote,
 * or, after a failure (a walk cut short), every word. */
static void s_work_done(s_work_t *w, int rc)
{
    size_t lo = rc == CS_OK ? w->dlo : 0, hi = rc == CS_OK ? w->dhi : w->sc->cap_bits;
    if (w->sc->bits && hi > lo) {
        memset(w->sc->bits + lo, 0, (hi - lo) * sizeof *w->sc->bits);
    }
}

/* 1. The match set: the driver's docs, narrowed by every other term, each either by its
 * postings or, when few docs remain, by checking their records. */
static int s_match_set(s_q_t *q, const size_t *order, s_work_t *w)
{
    q->mark_lo = UINT32_MAX;
    q->mark_hi = 0;
    int rc = s_term_docs(q, &q->terms[order[0]], w->bits);
    /* the driver's docs lie in [mark_lo, mark_hi): no need to scan the rest for them */
    w->lo = w->dlo = q->mark_hi ? q->mark_lo / 64 : 0;
    w->hi = w->dhi = q->mark_hi ? ((size_t)q->mark_hi + 63) / 64 : 0;
    s_shrink(w->bits, &w->lo, &w->hi);
    for (size_t i = 1; rc == CS_OK && i < q->n_terms; i++) {
        const s_term_t *t = &q->terms[order[i]];
        uint64_t left = s_popcount(w->bits, w->lo, w->hi);
        if (left == 0) {
            break;
        }
        if (left * S_FILTER_RATIO < t->cost) {
            /* the terms after t cost no less (order), and fewer docs are left: check them all
             * in the same pass */
            rc = s_filter_docs(q, order + i, q->n_terms - i, w->bits, w->lo, w->hi, w->doc);
            s_shrink(w->bits, &w->lo, &w->hi);
            break;
        } else {
            /* only tmp[lo, hi) is read: the term's docs elsewhere may land on anything */
            memset(w->tmp + w->lo, 0, (w->hi - w->lo) * sizeof *w->tmp);
            rc = s_term_docs(q, t, w->tmp);
            for (size_t wi = w->lo; wi < w->hi; wi++) {
                w->bits[wi] &= w->tmp[wi];
            }
        }
        s_shrink(w->bits, &w->lo, &w->hi);
    }
    return rc;
}

/* Count, for every doc, the terms it holds as whole words (w->tier), when some term is a
 * whole word. CS_OK, CS_ENOMEM or CS_EMALFORMED. */
static int s_count_tiers(s_q_t *q, s_work_t *w, uint32_t n_exact)
{
    if (n_exact == 0) {
        return CS_OK;
    }
    size_t docs = q->meta.docs ? q->meta.docs : 1;
    if (!s_grow((void **)&w->sc->tier, &w->sc->cap_tier, docs, 1)) {
        return CS_ENOMEM;
    }
    w->tier = w->sc->tier;
    memset(w->tier, 0, docs);
    int rc = CS_OK;
    for (size_t i = 0; rc == CS_OK && i < q->n_terms; i++) {
        const s_term_t *t = &q->terms[i];
        if (!t->n_fuzzy && t->exact != S_NONE) {
            rc = s_count_word(q, t, w->tier);
        }
    }
    return rc;
}

/* Score every doc of w->tmp[lo, hi) that is also in the stored bitmap sb (the codes of one
 * key length; NULL: every doc) into the heap. */
static int s_score_docs(s_q_t *q, s_work_t *w, const uint8_t *sb, size_t lo, size_t hi)
{
    const uint64_t *tmp = w->tmp; /* locals: the calls below could alias w's fields */
    s_doc_t *doc = w->doc;
    s_cand_t *heap = w->heap;
    size_t k = w->k;
    for (size_t wi = lo; wi < hi; wi++) {
        uint64_t m = sb ? tmp[wi] & s_load64(sb + wi * 8) : tmp[wi];
        while (m) {
            uint32_t d = (uint32_t)(wi * 64 + (size_t)__builtin_ctzll(m));
            m &= m - 1;
            int rc = s_doc_get(q, d, doc);
            if (rc != CS_OK) {
                return rc;
            }
            uint32_t score = s_score(q, doc);
            if (score != 0) {
                s_heap_push(heap, &w->n_heap, k, (s_cand_t){score, d});
            }
        }
    }
    return CS_OK;
}

/* Is scoring every doc of the match set (total docs) cheaper than ranking it in tiers? The
 * tiers cost a walk of every whole query word's postings (a few instructions a posting) and
 * save scoring (a few hundred a doc) only where there are many more docs than hits. Either
 * way the hits are the same: the best offset + limit by score, then code order. */
static int s_rank_directly(const s_q_t *q, const s_work_t *w, uint64_t total)
{
    uint64_t tier_cost = 0;
    for (size_t i = 0; i < q->n_terms; i++) {
        const s_term_t *t = &q->terms[i];
        tier_cost += (!t->n_fuzzy && t->exact != S_NONE) ? t->exact_df : 0;
    }
    return total <= w->k || total * S_DIRECT_RATIO <= tier_cost;
}

/* 2. Rank the match set (total docs) into the heap. A doc's quality is fixed by which terms it
 * holds as whole words (the exact word's postings), so docs fall into tiers by that count;
 * within a tier the best score is known for each code length. Walk tiers from the most whole
 * words down and, within each, the shorter (more general) codes first; stop once nothing left
 * can beat the worst hit kept. Without tiers a prefix like "f" (whole word in a few titles)
 * would have to score all 41,000 codes that start a word with it. */
static int s_rank(s_q_t *q, s_work_t *w, uint64_t total)
{
    uint32_t n_plain = 0, n_exact = 0;
    for (size_t i = 0; i < q->n_terms; i++) {
        const s_term_t *t = &q->terms[i];
        n_plain += t->n_fuzzy ? 0 : 1;
        n_exact += (!t->n_fuzzy && t->exact != S_NONE) ? 1 : 0;
    }
    if (total == 0 || w->k == 0) {
        return CS_OK; /* nothing to rank, or a page past the window: total alone */
    }
    if (s_rank_directly(q, w, total)) {
        memcpy(w->tmp + w->lo, w->bits + w->lo, (w->hi - w->lo) * sizeof *w->tmp);
        return s_score_docs(q, w, NULL, w->lo, w->hi);
    }
    int rc = s_count_tiers(q, w, n_exact);
    uint32_t max_weight = s_field_weight[CS_SEARCH_FIELD_TITLE] * (uint32_t)q->n_terms;
    for (int c = (int)n_exact; rc == CS_OK && c >= 0 && w->k > 0; c--) {
        uint32_t tier_quality = n_plain + (uint32_t)c;
        if (w->n_heap == w->k && w->heap[0].score > s_compose(tier_quality, max_weight, 0, 0)) {
            break;
        }
        size_t lo = w->lo, hi = w->hi;
        memcpy(w->tmp + lo, w->bits + lo, (hi - lo) * sizeof *w->tmp);
        if (w->tier) {
            s_keep_tier(w->tmp, lo, hi, w->tier, (uint8_t)c);
            s_shrink(w->tmp, &lo, &hi);
        }
        for (int len = 1; rc == CS_OK && len < 32 && lo < hi; len++) {
            if (!(q->meta.lengths & (1u << len))) {
                continue;
            }
            if (w->n_heap == w->k &&
                w->heap[0].score > s_compose(tier_quality, max_weight, (size_t)len, 0)) {
                break;
            }
            if (!(w->lens_read & (1u << len))) {
                w->lens[len] = s_stored(q, CS_SEARCH_TAG_CLASS, len, w->words64);
                w->lens_read |= 1u << len;
            }
            if (w->lens[len]) { /* a missing bitmap: no code of that length */
                rc = s_score_docs(q, w, w->lens[len], lo, hi);
            }
        }
    }
    return rc;
}

/* 3. The page: the heap best first, from offset, as hits. */
static int s_page(s_q_t *q, const cs_search_query_t *sq, s_work_t *w, cs_search_result_t *out)
{
    qsort(w->heap, w->n_heap, sizeof *w->heap, s_cmp_cand);
    for (size_t i = (size_t)sq->offset; i < w->n_heap && out->n_hits < sq->limit; i++) {
        int rc = s_doc_get(q, w->heap[i].doc, w->doc);
        if (rc != CS_OK) {
            return rc;
        }
        cs_search_hit_t *h = &out->hits[out->n_hits++];
        h->cls = CS_CLASS_CODE;
        memcpy(h->key, w->doc->key, w->doc->key_len);
        h->key[w->doc->key_len] = '\0';
        h->score = w->heap[i].score;
    }
    return CS_OK;
}

/* Clear in bits[w->lo, w->hi) every doc outside [lo, hi). */
static void s_keep_range(s_work_t *w, uint32_t lo, uint32_t hi)
{
    for (size_t wi = w->lo; wi < w->hi; wi++) {
        uint64_t first = (uint64_t)wi * 64;
        uint64_t keep = ~0ull;
        if (first + 64 <= lo || first >= hi) {
            keep = 0;
        } else {
            if (first < lo) {
                keep &= ~0ull << (lo - first);
            }
            if (first + 64 > hi) {
                keep &= ~0ull >> (first + 64 - hi);
            }
        }
        w->bits[wi] &= keep;
    }
    s_shrink(w->bits, &w->lo, &w->hi);
}

/* err for a search that failed with rc. Returns rc. */
static int s_failed(const s_q_t *q, int rc, cs_error_t *err)
{
    if (rc == CS_ENOMEM) {
        return cs_error_set(err, rc, "out of memory searching");
    }
    if (rc == CS_EAGAIN) {
        return cs_error_set(err, rc, "the search costs more than its budget of %llu",
                            (unsigned long long)q->budget);
    }
    return cs_error_set(err, rc, "release %u: the search index is corrupt", q->release);
}

static int s_run_text(s_q_t *q, const cs_search_query_t *sq, cs_search_scratch_t *sc,
                      cs_search_result_t *out, cs_error_t *err)
{
    if (q->n_terms == 0) {
        return CS_OK;
    }
    if (s_read_meta(q) != CS_OK) {
        return cs_error_set(err, CS_EMALFORMED, "release %u has no usable search index",
                            q->release);
    }
    size_t order[CS_SEARCH_MAX_WORDS];
    int matchable = 0;
    int rc = s_plan(q, order, &matchable, out);
    if (rc != CS_OK || !matchable) {
        return rc == CS_OK ? CS_OK : s_failed(q, rc, err);
    }
    s_work_t w;
    rc = s_work_init(&w, q, sq, sc);
    if (rc == CS_OK) {
        rc = s_match_set(q, order, &w);
    }
    if (rc == CS_OK) {
        if (sq->billable_only) {
            s_and_stored(w.bits, s_stored(q, CS_SEARCH_TAG_BILLABLE, -1, w.words64), w.lo,
                         w.hi);
            s_shrink(w.bits, &w.lo, &w.hi);
        }
        if (sq->doc_hi) {
            s_keep_range(&w, sq->doc_lo, sq->doc_hi);
        }
        out->total = s_popcount(w.bits, w.lo, w.hi);
        rc = s_rank(q, &w, out->total);
    }
    if (rc == CS_OK) {
        rc = s_page(q, sq, &w, out);
    }
    s_work_done(&w, rc);
    return rc == CS_OK ? CS_OK : s_failed(q, rc, err);
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
        if (s_charge(q, CS_SEARCH_WORK_CODE) != CS_OK) {
            return CS_EAGAIN;
        }
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
    cs_search_scratch_t *sc = cs_search_scratch_new();
    if (!sc) {
        return cs_error_set(err, CS_ENOMEM, "out of memory searching");
    }
    int rc = cs_search_run_in(r, release, sq, sc, out, err);
    cs_search_scratch_destroy(&sc);
    return rc;
}

int cs_search_run_in(cs_reader_t *r, uint32_t release, const cs_search_query_t *sq,
                     cs_search_scratch_t *sc, cs_search_result_t *out, cs_error_t *err)
{
    out->total = 0;
    out->n_hits = 0;
    out->by_code = 0;
    out->fuzzy = 0;
    out->work = 0;
    cs_search_query_t qq = *sq;
    if (qq.limit == 0) {
        qq.limit = 1;
    }
    if (qq.limit > CS_SEARCH_MAX_LIMIT) {
        qq.limit = CS_SEARCH_MAX_LIMIT;
    }
    s_q_t *q = &sc->q;
    q->r = r;
    q->release = release;
    q->chunk = S_NONE;
    q->chunk_data = NULL;
    q->chunk_len = 0;
    q->chunk_n = 0;
    q->work = 0;
    q->budget = qq.budget;
    int rc = CS_OK;
    char prefix[CS_CODE_MAX];
    size_t plen = 0;
    if (qq.q && qq.sys && qq.sys->looks_like_code &&
        qq.sys->looks_like_code(qq.q, qq.q_len) &&
        (plen = s_code_prefix(qq.q, qq.q_len, prefix)) > 0) {
        rc = s_run_code(q, &qq, prefix, plen, out);
        out->work = q->work;
        if (rc != CS_OK) {
            return s_failed(q, rc, err);
        }
        if (out->total > 0) {
            out->by_code = 1;
            return CS_OK;
        }
        out->total = 0;
        out->n_hits = 0;
    }
    s_parse(q, qq.q, qq.q ? qq.q_len : 0);
    rc = s_run_text(q, &qq, sc, out, err);
    out->work = q->work;
    return rc;
}

cs_proto_err_t cs_search_answer(cs_reader_t *r, const cs_system_ops_t *sys, uint32_t release,
                                cs_span_t label, const cs_request_t *req, cs_out_t *out)
{
    return cs_search_answer_with(r, sys, release, label, req, NULL, out);
}

cs_proto_err_t cs_search_answer_with(cs_reader_t *r, const cs_system_ops_t *sys,
                                     uint32_t release, cs_span_t label, const cs_request_t *req,
                                     const cs_search_extra_t *extra, cs_out_t *out)
{
    return cs_search_answer_aided(r, NULL, sys, release, label, req, extra, out);
}

/* A hit's entry head: from the release's code index where aids' holder has it, else read. */
static int s_hit_entry(cs_reader_t *r, const cs_search_aids_t *aids, uint32_t release,
                       const cs_search_hit_t *h, cs_entry_t *ent)
{
    size_t len = strlen(h->key);
    if (aids && aids->index) {
        return cs_codeidx_entry(aids->index, r, release, h->cls, h->key, len, 0, ent);
    }
    uint8_t key[CS_KEY_MAX];
    size_t klen = cs_key_code(key, release, h->cls, h->key, len);
    cs_val_t v;
    if (klen == 0 || cs_reader_get(r, CS_DB_CODES, key, klen, &v) != CS_OK) {
        return CS_ENOTFOUND;
    }
    return cs_entry_decode_head(v.data, v.len, ent);
}

/* q's result: remembered by aids' cache, else run (and offered to the cache). */
static int s_run_aided(cs_reader_t *r, const cs_search_aids_t *aids, uint32_t release,
                       const cs_search_query_t *q, cs_search_result_t *res, cs_error_t *err)
{
    cs_search_cache_t *cache = aids ? aids->cache : NULL;
    if (cache && cs_search_cache_get(cache, release, q, res)) {
        return CS_OK;
    }
    int rc = aids && aids->scratch ? cs_search_run_in(r, release, q, aids->scratch, res, err)
                                   : cs_search_run(r, release, q, res, err);
    if (rc == CS_OK && cache) {
        cs_search_cache_put(cache, release, q, res);
    }
    return rc;
}

cs_proto_err_t cs_search_answer_aided(cs_reader_t *r, const cs_search_aids_t *aids,
                                      const cs_system_ops_t *sys, uint32_t release,
                                      cs_span_t label, const cs_request_t *req,
                                      const cs_search_extra_t *extra, cs_out_t *out)
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
    cs_search_result_t *own = aids && aids->scratch ? NULL : malloc(sizeof *own);
    cs_search_result_t *res = own ? own : aids && aids->scratch ? &aids->scratch->res : NULL;
    if (!res) {
        cs_reply_error(out, req, CS_PERR_INTERNAL, "out of memory searching");
        return CS_PERR_INTERNAL;
    }
    cs_error_t err;
    cs_error_clear(&err);
    sq.budget = aids && aids->over_budget ? aids->budget : 0;
    int rc = s_run_aided(r, aids, release, &sq, res, &err);
    if (rc == CS_EAGAIN && sq.budget) {
        *aids->over_budget = 1; /* nothing written: the caller hands it on */
        free(own);
        return CS_PERR_NONE;
    }
    if (rc != CS_OK) {
        cs_reply_error(out, req, CS_PERR_INTERNAL, err.msg);
        free(own);
        return CS_PERR_INTERNAL;
    }
    cs_reply_begin(out, req, 1, extra ? 4 : 3);
    cs_out_cstr(out, "release");
    cs_out_strn(out, label.ptr, label.len);
    cs_out_kv_int(out, "total", (int64_t)res->total);
    cs_out_cstr(out, "hits");
    cs_out_array(out, (uint32_t)res->n_hits);
    for (size_t i = 0; i < res->n_hits; i++) {
        const cs_search_hit_t *h = &res->hits[i];
        cs_entry_t ent;
        if (s_hit_entry(r, aids, release, h, &ent) != CS_OK) {
            cs_out_nil(out); /* a corrupt store: keep the array's count true */
            continue;
        }
        cs_hit_t hit = {ent.display, ent.title, ent.billable, res->hits[i].score};
        cs_out_hit(out, &hit);
    }
    free(own);
    if (extra) {
        cs_out_cstr(out, extra->key);
        extra->write(extra->arg, out);
    }
    return CS_PERR_NONE;
}
