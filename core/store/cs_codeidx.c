/* cs_codeidx.c: per-release hash indexes of entry heads, built in the background. */
#include "store/cs_codeidx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "store/cs_codeidx_int.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "util/cs_log.h"

#define S_QUEUE_MAX 8    /* releases waiting for the builder */
#define S_REFUSED_MAX 16 /* releases that cannot be indexed, remembered */
#define S_WARM_STEP ((size_t)256 << 10) /* an image read ahead at start: bytes a read */

/* CS_CODEIDX_HAS_REFS when entry e has a note whose references cs_noterefs.h stores. */
static unsigned s_has_refs(const cs_entry_t *e)
{
    const uint8_t *pos = e->notes;
    cs_span_t type, label, text;
    for (uint16_t k = 0; k < e->n_notes && cs_entry_note_next(e, &pos, &type, &label, &text);
         k++) {
        if ((type.len == 9 && memcmp(type.ptr, "excludes1", 9) == 0) ||
            (type.len == 10 && memcmp(type.ptr, "code_first", 10) == 0)) {
            return CS_CODEIDX_HAS_REFS;
        }
    }
    return 0;
}

#define S_REC_FIXED CS_CODEIDX_REC_FIXED
#define S_SHORT_IS_TITLE CS_CODEIDX_SHORT_IS_TITLE
#define S_DISPLAY_IS_KEY CS_CODEIDX_DISPLAY_IS_KEY
#define S_PARENT_IS_KEY CS_CODEIDX_PARENT_IS_KEY
#define S_HEAD_FIXED 12 /* a stored value's version, flags, classes, validity dates */
#define S_REC_MAX (S_REC_FIXED + 5 * 255)

struct cs_codeidx_set {
    cs_store_t *store;
    size_t budget;
    pthread_mutex_t mu;
    pthread_cond_t wake;           /* work for the builder, or stop */
    cs_codeidx_t **idx;            /* published; each holds one ref */
    size_t n_idx, cap_idx;
    size_t bytes;                  /* of the published ones */
    uint32_t queue[S_QUEUE_MAX];   /* releases asked for and not yet built */
    size_t n_queue;
    uint32_t warm[CS_CODEIDX_WARM_MAX]; /* images to map before anyone asks (after the queue) */
    size_t n_warm;
    int warming;                   /* the builder maps one of them now */
    uint32_t building;             /* 0 when idle */
    struct {
        uint32_t release;
        uint64_t until_ms;         /* UINT64_MAX: for good (a layout it cannot hold) */
    } refused[S_REFUSED_MAX];
    size_t n_refused;
    uint64_t clock;
    uint64_t keep_ms;              /* an index used this recently is not dropped for another */
    pthread_t builder;
    int builder_started;
    atomic_int stop;
};

static atomic_size_t s_live; /* index objects alive in the process */

size_t cs_codeidx_live(void)
{
    return atomic_load(&s_live);
}

#define S_FNV_BASIS 1469598103934665603ull

/* FNV-1a of h over p[0..n). */
static inline uint64_t s_fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

/* FNV-1a over the class and the key: short keys, few collisions, no tables. */
static uint64_t s_hash(uint8_t cls, const char *key, size_t klen)
{
    uint64_t h = s_fnv(s_fnv(S_FNV_BASIS, &cls, 1), (const uint8_t *)key, klen);
    return h ^ (h >> 29);
}

uint64_t cs_codeidx_hash(uint8_t cls, const char *key, size_t klen)
{
    return s_hash(cls, key, klen);
}

/* The record of the slot that hash's probe meets first with hash's tag, looking at 4 slots
 * at most (a prefetch, not a find); NULL if none, or if its offset is out of bounds. */
static const uint8_t *s_tagged(const cs_codeidx_t *idx, uint64_t hash)
{
    uint64_t i = hash & idx->mask;
    uint64_t tag = hash >> 32;
    for (uint32_t probes = 0; probes < 4 && probes < idx->max_probe;
         probes++, i = (i + 1) & idx->mask) {
        uint64_t s = idx->slots[i];
        if (s == 0) {
            return NULL;
        }
        size_t off = (uint32_t)s - 1u;
        if ((s >> 32) == tag) {
            return off <= idx->records_len - S_REC_FIXED ? idx->arena + off : NULL;
        }
    }
    return NULL;
}

void cs_codeidx_prefetch(const cs_codeidx_t *idx, uint64_t hash, int stage)
{
    if (stage == 0) {
        __builtin_prefetch(&idx->slots[hash & idx->mask]);
        return;
    }
    const uint8_t *rec = s_tagged(idx, hash);
    if (!rec) {
        return;
    }
    if (stage == 1) {
        __builtin_prefetch(rec);
        __builtin_prefetch(rec + S_REC_FIXED + 16); /* the end of its fixed part and key */
        return;
    }
    uint32_t toff;
    memcpy(&toff, rec + 24, sizeof toff);
    if (toff < idx->arena_len - idx->records_len) {
        __builtin_prefetch(idx->arena + idx->records_len + toff);
    }
}

cs_codeidx_t *cs_codeidx_new_(uint32_t release)
{
    cs_codeidx_t *idx = calloc(1, sizeof *idx);
    if (!idx) {
        return NULL;
    }
    atomic_fetch_add(&s_live, 1);
    idx->release = release;
    atomic_init(&idx->refs, 1);
    atomic_init(&idx->used_ms, 0);
    atomic_init(&idx->dropped, 0);
    return idx;
}

void cs_codeidx_free_(cs_codeidx_t *idx)
{
    atomic_fetch_sub(&s_live, 1);
    if (idx->image.addr) {
        cs_mapping_unmap(&idx->image); /* slots and arena lie in it */
    } else {
        free((void *)idx->slots);
        if (idx->arena_map) {
            munmap((void *)idx->arena, idx->arena_map);
        } else {
            free((void *)idx->arena);
        }
    }
    free(idx);
}

int cs_codeidx_mapped(const cs_codeidx_t *idx)
{
    return idx->image.addr != NULL;
}

void cs_codeidx_release(cs_codeidx_t *idx)
{
    if (idx && atomic_fetch_sub_explicit(&idx->refs, 1, memory_order_acq_rel) == 1) {
        cs_codeidx_free_(idx);
    }
}

uint32_t cs_codeidx_release_id(const cs_codeidx_t *idx)
{
    return idx->release;
}

/* The length of the record at rec (its fixed part read). */
static size_t s_rec_len(const uint8_t *rec)
{
    return (size_t)S_REC_FIXED + rec[1] + rec[7] + rec[8] + rec[9] + rec[10];
}

/* The head of record rec (of key length klen, checked, and whose titles lie at texts) as
 * cs_entry_decode_head gives it of the stored value, each field held once restored, with
 * the attributes idx holds of it (their offsets after its titles, checked to lie there). */
static void s_rec_head(const cs_codeidx_t *idx, const uint8_t *rec, const char *texts,
                       cs_entry_t *head)
{
    const char *k = (const char *)rec + S_REC_FIXED;
    const char *p = k + rec[1];
    unsigned f = rec[2];
    head->billable = rec[4] & 1;
    head->cls = rec[5];
    head->parent_cls = rec[6];
    head->display = (cs_span_t){p, rec[7]};
    p += rec[7];
    head->parent_key = (cs_span_t){p, rec[8]};
    p += rec[8];
    head->parent = (cs_span_t){p, rec[9]};
    p += rec[9];
    head->kind = (cs_span_t){p, rec[10]};
    p += rec[10];
    uint16_t tl, sl;
    memcpy(&tl, rec + 12, sizeof tl);
    memcpy(&sl, rec + 14, sizeof sl);
    head->title = (cs_span_t){texts, tl};
    head->short_title = (f & S_SHORT_IS_TITLE) ? head->title : (cs_span_t){texts + tl, sl};
    if (f & S_DISPLAY_IS_KEY) {
        head->display = (cs_span_t){k, rec[1]};
    }
    if (rec[3]) {
        head->parent_key = (cs_span_t){k, rec[3]};
    }
    if (f & S_PARENT_IS_KEY) {
        head->parent = head->parent_key;
    }
    memcpy(&head->valid_from, rec + 16, sizeof head->valid_from);
    memcpy(&head->valid_to, rec + 20, sizeof head->valid_to);
    head->n_notes = head->n_terms = 0;
    head->notes = head->terms = head->terms_end = head->end = (const uint8_t *)p;
    head->n_attrs = rec[11];
    head->attrs = (const uint8_t *)texts + tl + sl;
    head->attrs_end = head->attrs + (size_t)rec[11] * sizeof(uint32_t);
    head->attr_pool = rec[11] ? idx->arena + idx->pool_at : NULL;
    head->attr_pool_end = idx->arena + idx->arena_len;
}

/* Where record rec's titles lie, or NULL when they (and its attributes' offsets) would reach
 * past the arena's titles. */
static const char *s_rec_texts(const cs_codeidx_t *idx, const uint8_t *rec)
{
    uint16_t tl, sl;
    uint32_t toff;
    memcpy(&tl, rec + 12, sizeof tl);
    memcpy(&sl, rec + 14, sizeof sl);
    memcpy(&toff, rec + 24, sizeof toff);
    size_t room = idx->pool_at - idx->records_len;
    return toff <= room && (size_t)tl + sl + (size_t)rec[11] * sizeof(uint32_t) <= room - toff
               ? (const char *)idx->arena + idx->records_len + toff
               : NULL;
}

/* Every offset is checked against the arena before it is read: an image comes from a file
 * (cs_codeidx_image.c), and a damaged one must give wrong answers at worst, never a read
 * outside it; a probe stops after max_probe slots even in a table with no empty slot.
 * A find reads the slot's line, then the record's (cs_codeidx_int.h); the titles it lends
 * are not read. */
int cs_codeidx_find(const cs_codeidx_t *idx, uint8_t cls, const char *key, size_t klen,
                    cs_entry_t *head, unsigned *flags)
{
    return cs_codeidx_find_hashed(idx, s_hash(cls, key, klen), cls, key, klen, head, flags);
}

int cs_codeidx_find_hashed(const cs_codeidx_t *idx, uint64_t h, uint8_t cls, const char *key,
                           size_t klen, cs_entry_t *head, unsigned *flags)
{
    uint64_t tag = h >> 32;
    uint64_t i = h & idx->mask;
    for (uint32_t probe = 0; probe < idx->max_probe; probe++, i = (i + 1) & idx->mask) {
        uint64_t s = idx->slots[i];
        if (s == 0) {
            return 0;
        }
        size_t off = (uint32_t)s - 1u;
        if ((s >> 32) != tag || off > idx->records_len - S_REC_FIXED) {
            continue;
        }
        const uint8_t *rec = idx->arena + off;
        if (rec[0] != cls || rec[1] != klen || rec[3] > klen) {
            continue;
        }
        const char *texts = s_rec_texts(idx, rec);
        if (!texts || s_rec_len(rec) > idx->records_len - off ||
            memcmp(rec + S_REC_FIXED, key, klen) != 0) {
            continue;
        }
        s_rec_head(idx, rec, texts, head);
        *flags = rec[2] & (CS_CODEIDX_HAS_NOTES | CS_CODEIDX_HAS_ATTRS | CS_CODEIDX_HAS_REFS);
        return 1;
    }
    return 0;
}

/* ---- building ---- */

/* A buffer that grows in a mapping of its own while the release is read (s_hash_all copies
 * the arena to where lookups read it): unmapped, its pages go back to the system at once,
 * where freed heap would stay in the process (a build thread's malloc arena is not trimmed). */
typedef struct s_grow {
    uint8_t *data;
    size_t len, cap; /* cap: bytes mapped */
} s_grow_t;

static int s_grow_put(s_grow_t *g, const void *p, size_t n)
{
    if (g->len + n > g->cap) {
        size_t want = g->cap ? g->cap * 2 : (size_t)1 << 20;
        while (want < g->len + n) {
            want *= 2;
        }
        void *a = g->cap ? mremap(g->data, g->cap, want, MREMAP_MAYMOVE)
                         : mmap(NULL, want, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a == MAP_FAILED) {
            return CS_ENOMEM;
        }
        g->data = a;
        g->cap = want;
    }
    memcpy(g->data + g->len, p, n);
    g->len += n;
    return CS_OK;
}

static void s_grow_free(s_grow_t *g)
{
    if (g->cap) {
        munmap(g->data, g->cap);
    }
    memset(g, 0, sizeof *g);
}

static int s_span_eq(cs_span_t a, cs_span_t b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Record of entry (cls, code) whose stored value decodes to head into out (S_REC_MAX bytes;
 * cs_codeidx_int.h), each field equal to another written empty and named in the flags or
 * the parent prefix (the parent key's length when it starts the key), its titles appended
 * to texts; returns its length, 0 when out of memory. */
static size_t s_record(const cs_entry_t *head, uint8_t cls, const char *code, size_t clen,
                       unsigned flags, uint8_t *out, s_grow_t *texts)
{
    static const cs_span_t none = {"", 0};
    cs_span_t display = head->display, parent = head->parent, short_title = head->short_title;
    cs_span_t parent_key = head->parent_key;
    if (short_title.len > 0 && s_span_eq(short_title, head->title)) {
        short_title = none;
        flags |= S_SHORT_IS_TITLE;
    }
    if (display.len > 0 && s_span_eq(display, (cs_span_t){code, clen})) {
        display = none;
        flags |= S_DISPLAY_IS_KEY;
    }
    if (parent.len > 0 && s_span_eq(parent, head->parent_key)) {
        parent = none;
        flags |= S_PARENT_IS_KEY;
    }
    uint8_t prefix = 0;
    if (parent_key.len > 0 && parent_key.len <= clen &&
        memcmp(parent_key.ptr, code, parent_key.len) == 0) {
        prefix = (uint8_t)parent_key.len;
        parent_key = none;
    }
    uint16_t tl = (uint16_t)head->title.len, sl = (uint16_t)short_title.len;
    memset(out, 0, S_REC_FIXED);
    out[0] = cls;
    out[1] = (uint8_t)clen;
    out[2] = (uint8_t)flags;
    out[3] = prefix;
    out[4] = (uint8_t)(head->billable ? 1 : 0);
    out[5] = head->cls;
    out[6] = head->parent_cls;
    out[7] = (uint8_t)display.len;
    out[8] = (uint8_t)parent_key.len;
    out[9] = (uint8_t)parent.len;
    out[10] = (uint8_t)head->kind.len;
    memcpy(out + 12, &tl, sizeof tl);
    memcpy(out + 14, &sl, sizeof sl);
    memcpy(out + 16, &head->valid_from, sizeof head->valid_from);
    memcpy(out + 20, &head->valid_to, sizeof head->valid_to);
    uint32_t toff = (uint32_t)texts->len; /* cs_codeidx_read_ refuses 4 GiB and more */
    memcpy(out + 24, &toff, sizeof toff);
    size_t n = S_REC_FIXED;
    const cs_span_t fields[] = {{code, clen}, display, parent_key, parent, head->kind};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        memcpy(out + n, fields[i].ptr, fields[i].len);
        n += fields[i].len;
    }
    if (s_grow_put(texts, head->title.ptr, head->title.len) != CS_OK ||
        s_grow_put(texts, short_title.ptr, short_title.len) != CS_OK) {
        return 0;
    }
    return n;
}

/* The attribute pool being built: every name-value pair once, and a hash table of where
 * each lies in it. */
typedef struct s_pairs {
    s_grow_t pool;
    uint32_t *slots; /* offset in the pool + 1; 0 is empty */
    size_t cap, n;   /* cap: a power of two */
} s_pairs_t;

static uint64_t s_bytes_hash(const uint8_t *p, size_t n)
{
    uint64_t h = s_fnv(S_FNV_BASIS, p, n);
    return h ^ (h >> 29);
}

/* The length of the stored pair at p (u8+name, u16+value; checked when it was decoded). */
static size_t s_pair_len(const uint8_t *p)
{
    size_t nl = p[0];
    return 3 + nl + ((size_t)p[1 + nl] << 8 | p[2 + nl]);
}

static void s_pairs_insert(uint32_t *slots, size_t cap, const uint8_t *pool, uint32_t off)
{
    size_t i = s_bytes_hash(pool + off, s_pair_len(pool + off)) & (cap - 1);
    while (slots[i] != 0) {
        i = (i + 1) & (cap - 1);
    }
    slots[i] = off + 1;
}

/* The pool offset of the pair p[0..n), added when new; UINT32_MAX when out of memory or
 * past what an offset holds. */
static uint32_t s_pair_at(s_pairs_t *t, const uint8_t *p, size_t n)
{
    if (2 * (t->n + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        uint32_t *slots = calloc(cap, sizeof *slots);
        if (!slots) {
            return UINT32_MAX;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (t->slots[i]) {
                s_pairs_insert(slots, cap, t->pool.data, t->slots[i] - 1);
            }
        }
        free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    size_t i = s_bytes_hash(p, n) & (t->cap - 1);
    for (; t->slots[i] != 0; i = (i + 1) & (t->cap - 1)) {
        const uint8_t *q = t->pool.data + t->slots[i] - 1;
        if (s_pair_len(q) == n && memcmp(q, p, n) == 0) {
            return t->slots[i] - 1;
        }
    }
    if (t->pool.len + n >= UINT32_MAX || s_grow_put(&t->pool, p, n) != CS_OK) {
        return UINT32_MAX;
    }
    t->slots[i] = (uint32_t)(t->pool.len - n) + 1;
    t->n++;
    return (uint32_t)(t->pool.len - n);
}

/* Append the pool offsets of full's attributes to texts (after the titles s_record put
 * there); how many, or 0 when the index does not hold them (more than a byte counts, or no
 * room): LMDB then answers who needs them. */
static unsigned s_put_attrs(const cs_entry_t *full, s_pairs_t *pairs, s_grow_t *texts)
{
    if (full->n_attrs == 0 || full->n_attrs > UINT8_MAX) {
        return 0;
    }
    size_t mark = texts->len;
    const uint8_t *pos = full->attrs;
    cs_span_t name, value;
    unsigned n = 0;
    while (cs_entry_attr_next(full, &pos, &name, &value)) {
        const uint8_t *raw = (const uint8_t *)name.ptr - 1; /* its length byte */
        const uint8_t *end = (const uint8_t *)value.ptr + value.len;
        uint32_t off = s_pair_at(pairs, raw, (size_t)(end - raw));
        if (off == UINT32_MAX || s_grow_put(texts, &off, sizeof off) != CS_OK) {
            texts->len = mark;
            return 0;
        }
        n++;
    }
    if (n != full->n_attrs) {
        texts->len = mark;
        return 0;
    }
    return n;
}

/* Append one stored entry's record to recs, its titles and attributes' offsets to texts and
 * its attributes to the pool (rec: S_REC_MAX bytes of scratch). CS_EMALFORMED for a value of
 * another layout; CS_ENOMEM. */
static int s_add(cs_codeidx_t *idx, s_grow_t *recs, s_grow_t *texts, s_pairs_t *pairs,
                 const cs_val_t *k, const cs_val_t *v, uint8_t *rec)
{
    uint32_t rel;
    uint8_t cls;
    const char *code;
    size_t clen;
    if (cs_key_code_split(k->data, k->len, &rel, &cls, &code, &clen) != 0 || clen > 255) {
        return CS_EMALFORMED;
    }
    cs_entry_t full, head;
    if (v->len < S_HEAD_FIXED || ((const uint8_t *)v->data)[0] != CS_ENTRY_VERSION ||
        cs_entry_decode(v->data, v->len, &full) != CS_OK ||
        cs_entry_decode_head(v->data, v->len, &head) != CS_OK) {
        return CS_EMALFORMED;
    }
    /* the stored value's lengths are a byte, or two for the titles: the record's are too */
    unsigned flags = (full.n_notes ? CS_CODEIDX_HAS_NOTES : 0) | s_has_refs(&full);
    size_t n = s_record(&head, cls, code, clen, flags, rec, texts);
    if (n == 0) {
        return CS_ENOMEM;
    }
    rec[11] = (uint8_t)s_put_attrs(&full, pairs, texts);
    rec[2] |= full.n_attrs && !rec[11] ? CS_CODEIDX_HAS_ATTRS : 0u;
    idx->entries++;
    return s_grow_put(recs, rec, n);
}

/* Memory for a table read at random: in 2 MiB pages where the kernel offers them, as one
 * TLB entry then covers what 512 would (a random probe otherwise misses the TLB as well as
 * the cache). Zeroed. */
#define S_HUGE ((size_t)2 << 20)

/* What s_alloc_random_access takes for bytes. */
static size_t s_random_access_size(size_t bytes)
{
    return bytes < S_HUGE / 2 ? bytes : (bytes + S_HUGE - 1) / S_HUGE * S_HUGE;
}

static void *s_alloc_random_access(size_t bytes)
{
    size_t huge = S_HUGE;
    if (bytes < huge / 2) {
        return calloc(1, bytes ? bytes : 1);
    }
    size_t rounded = s_random_access_size(bytes);
    void *p = NULL;
    if (posix_memalign(&p, huge, rounded) != 0) {
        return NULL;
    }
    madvise(p, rounded, MADV_HUGEPAGE); /* advice only: without it, 4 KiB pages */
    memset(p, 0, bytes);
    return p;
}

uint64_t cs_codeidx_slots_for_(size_t n)
{
    uint64_t slots = 1024;
    while (slots < 2 * (uint64_t)n) {
        slots *= 2;
    }
    return slots;
}

uint32_t cs_codeidx_fill_(uint64_t *slots, uint64_t mask, const uint8_t *arena, size_t len)
{
    uint32_t max_probe = 1;
    for (size_t off = 0; off < len;) {
        const uint8_t *rec = arena + off;
        uint64_t h = s_hash(rec[0], (const char *)rec + S_REC_FIXED, rec[1]);
        uint64_t i = h & mask;
        uint32_t probe = 1;
        while (slots[i] != 0) {
            i = (i + 1) & mask;
            probe++;
        }
        slots[i] = ((h >> 32) << 32) | (uint64_t)(off + 1);
        max_probe = probe > max_probe ? probe : max_probe;
        off += s_rec_len(rec);
    }
    return max_probe;
}

/* Hash every record of the arena into a table of at least twice as many slots, both in
 * memory fit for random reads. */
static int s_hash_all(cs_codeidx_t *idx)
{
    uint64_t n = cs_codeidx_slots_for_(idx->entries);
    uint64_t *slots = s_alloc_random_access(n * sizeof *slots);
    uint8_t *arena = s_alloc_random_access(idx->arena_len);
    if (!slots || !arena) {
        free(slots);
        free(arena);
        return CS_ENOMEM;
    }
    memcpy(arena, idx->arena, idx->arena_len);
    munmap((void *)idx->arena, idx->arena_map);
    idx->arena = arena;
    idx->arena_map = 0;
    idx->slots = slots;
    idx->mask = n - 1;
    idx->max_probe = cs_codeidx_fill_(slots, idx->mask, arena, idx->records_len);
    idx->bytes = s_random_access_size(n * sizeof *idx->slots) +
                 s_random_access_size(idx->arena_len);
    return CS_OK;
}

int cs_codeidx_read_(cs_store_t *store, cs_codeidx_t *idx, cs_error_t *err)
{
    uint32_t release = idx->release;
    cs_reader_t *r = cs_reader_new(store, err);
    if (!r) {
        return err->code ? err->code : CS_EINTERNAL;
    }
    if (cs_reader_begin(r) != CS_OK) {
        cs_reader_destroy(&r);
        return cs_error_set(err, CS_EINTERNAL,
                            "release %u: cannot start reading it for its index", release);
    }
    uint8_t prefix[4];
    cs_key_put_u32(prefix, release);
    s_grow_t recs = {0}, texts = {0};
    s_pairs_t pairs = {0};
    cs_val_t k, v;
    int rc = cs_reader_seek(r, CS_DB_CODES, prefix, sizeof prefix, &k, &v);
    uint8_t *rec = malloc(S_REC_MAX);
    int bad = rec ? CS_OK : CS_ENOMEM;
    while (rc == CS_OK && bad == CS_OK && k.len >= sizeof prefix &&
           memcmp(k.data, prefix, sizeof prefix) == 0 && texts.len < UINT32_MAX) {
        bad = s_add(idx, &recs, &texts, &pairs, &k, &v, rec);
        rc = cs_reader_next(r, CS_DB_CODES, &k, &v);
    }
    free(rec);
    free(pairs.slots);
    cs_reader_end(r);
    cs_reader_destroy(&r);
    /* the arena: the records, the titles (and attribute offsets) they point at, the pool */
    idx->records_len = recs.len;
    if (bad == CS_OK && texts.len > 0) {
        bad = s_grow_put(&recs, texts.data, texts.len);
    }
    idx->pool_at = recs.len;
    if (bad == CS_OK && pairs.pool.len > 0) {
        bad = s_grow_put(&recs, pairs.pool.data, pairs.pool.len);
    }
    s_grow_free(&texts);
    s_grow_free(&pairs.pool);
    idx->arena = recs.data;
    idx->arena_len = recs.len;
    idx->arena_map = recs.cap;
    if (bad == CS_OK && idx->entries == 0) {
        return cs_error_set(err, CS_ENOTFOUND, "release %u has no entries", release);
    }
    if (bad == CS_EMALFORMED) {
        return cs_error_set(err, bad, "release %u holds an entry of an older layout: not "
                            "indexed", release);
    }
    if (bad == CS_OK && idx->arena_len >= UINT32_MAX) {
        return cs_error_set(err, CS_ESPACE, "release %u is too large to index", release);
    }
    if (bad == CS_ENOMEM) {
        return cs_error_set(err, bad, "out of memory indexing release %u", release);
    }
    return bad;
}

/* The release's image when the store holds a sound one (cs_codeidx_image.c), else its
 * entries read in a snapshot of their own into a new index in memory. */
static int s_build(cs_store_t *store, uint32_t release, cs_codeidx_t **out, cs_error_t *err)
{
    int rc = cs_codeidx_image_open_(store, release, 1, out, err);
    if (rc != CS_OK && rc != CS_ENOTFOUND && rc != CS_ENOMEM) {
        CS_WARN("code index of release %u: %s; building it in memory instead", release,
                err->msg);
    }
    if (rc == CS_OK || rc == CS_ENOMEM) {
        return rc;
    }
    cs_error_clear(err);
    *out = NULL;
    cs_codeidx_t *idx = cs_codeidx_new_(release);
    if (!idx) {
        return cs_error_set(err, CS_ENOMEM, "out of memory indexing release %u", release);
    }
    rc = cs_codeidx_read_(store, idx, err);
    if (rc == CS_OK) {
        rc = s_hash_all(idx);
        if (rc != CS_OK) {
            cs_error_set(err, rc, "out of memory indexing release %u", release);
        }
    }
    if (rc != CS_OK) {
        cs_codeidx_free_(idx);
        return rc;
    }
    *out = idx;
    return CS_OK;
}

/* ---- the set ---- */

/* The coarse clock: its few milliseconds of grain are plenty for keep times of seconds, and
 * reading it costs a tenth of the precise one, which every request of an embedded lookup
 * paid. */
static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int s_refused(const cs_codeidx_set_t *set, uint32_t release)
{
    for (size_t i = 0; i < set->n_refused; i++) {
        if (set->refused[i].release == release) {
            return s_now_ms() < set->refused[i].until_ms;
        }
    }
    return 0;
}

/* Remember not to build release again before until_ms. */
static void s_refuse(cs_codeidx_set_t *set, uint32_t release, uint64_t until_ms)
{
    size_t at = set->n_refused;
    for (size_t i = 0; i < set->n_refused; i++) {
        if (set->refused[i].release == release) {
            at = i;
        }
    }
    if (at == S_REFUSED_MAX) {
        at = release % S_REFUSED_MAX; /* full: forget one */
    } else if (at == set->n_refused) {
        set->n_refused++;
    }
    set->refused[at].release = release;
    set->refused[at].until_ms = until_ms;
}

static cs_codeidx_t *s_published(cs_codeidx_set_t *set, uint32_t release)
{
    for (size_t i = 0; i < set->n_idx; i++) {
        if (set->idx[i]->release == release) {
            return set->idx[i];
        }
    }
    return NULL;
}

/* Was a used before b? By time, then by the order of acquisition. */
static int s_older(const cs_codeidx_t *a, const cs_codeidx_t *b)
{
    uint64_t ta = atomic_load(&a->used_ms), tb = atomic_load(&b->used_ms);
    return ta != tb ? ta < tb : a->used_at < b->used_at;
}

/* Publish idx (the set takes its ref), dropping the least recently used to stay within the
 * budget, but none used in the last keep_ms: releases asked for in turn that do not fit
 * together would otherwise push each other out and be built over and over. Under the lock.
 * CS_ESPACE when it does not fit. */
static int s_publish(cs_codeidx_set_t *set, cs_codeidx_t *idx)
{
    if (idx->bytes > set->budget) {
        return CS_ESPACE;
    }
    uint64_t now = s_now_ms();
    size_t room = set->budget - set->bytes;
    for (size_t i = 0; i < set->n_idx; i++) {
        if (now - atomic_load(&set->idx[i]->used_ms) >= set->keep_ms) {
            room += set->idx[i]->bytes; /* could be dropped */
        }
    }
    if (room < idx->bytes) {
        return CS_ESPACE;
    }
    while (set->bytes + idx->bytes > set->budget && set->n_idx > 0) {
        size_t lru = set->n_idx;
        for (size_t i = 0; i < set->n_idx; i++) {
            if (now - atomic_load(&set->idx[i]->used_ms) >= set->keep_ms &&
                (lru == set->n_idx || s_older(set->idx[i], set->idx[lru]))) {
                lru = i;
            }
        }
        if (lru == set->n_idx) {
            return CS_ESPACE; /* not reached: room was counted above */
        }
        cs_codeidx_t *old = set->idx[lru];
        set->bytes -= old->bytes;
        set->idx[lru] = set->idx[--set->n_idx];
        CS_INFO("code index of release %u dropped to make room", old->release);
        atomic_store(&old->dropped, 1);
        cs_codeidx_release(old);
    }
    if (set->n_idx == set->cap_idx) {
        size_t cap = set->cap_idx ? set->cap_idx * 2 : 4;
        cs_codeidx_t **p = realloc(set->idx, cap * sizeof *p);
        if (!p) {
            return CS_ENOMEM;
        }
        set->idx = p;
        set->cap_idx = cap;
    }
    idx->used_at = ++set->clock;
    atomic_store(&idx->used_ms, now);
    set->idx[set->n_idx++] = idx;
    set->bytes += idx->bytes;
    return CS_OK;
}

/* Build release outside the lock and publish it; remember a release that cannot be. */
static int s_build_and_publish(cs_codeidx_set_t *set, uint32_t release, cs_error_t *err)
{
    cs_codeidx_t *idx;
    int rc = s_build(set->store, release, &idx, err);
    pthread_mutex_lock(&set->mu);
    if (rc == CS_OK && s_published(set, release)) {
        cs_codeidx_release(idx); /* built twice (cs_codeidx_build beside the builder) */
    } else if (rc == CS_OK) {
        rc = s_publish(set, idx);
        if (rc != CS_OK) {
            cs_error_set(err, rc, "release %u: its index (%zu bytes) does not fit the budget",
                         release, idx->bytes);
            cs_codeidx_release(idx);
        } else {
            CS_INFO("code index of release %u: %zu entries, %zu bytes (%zu of records), %s",
                    release, idx->entries, idx->bytes, idx->arena_len,
                    idx->image.addr ? "its image mapped" : "built in memory");
        }
    }
    if (rc == CS_ESPACE) {
        s_refuse(set, release, s_now_ms() + set->keep_ms); /* try again later */
    } else if (rc != CS_OK && rc != CS_ENOMEM) {
        s_refuse(set, release, UINT64_MAX);
    }
    pthread_mutex_unlock(&set->mu);
    return rc;
}

/* Map release's image and publish it if it fits beside those published, none dropped for
 * it, then read it in; nothing is remembered when it does not fit (cs_codeidx_warm). */
static void s_warm_one(cs_codeidx_set_t *set, uint32_t release)
{
    cs_codeidx_t *idx = NULL;
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_codeidx_image_open_(set->store, release, 0, &idx, &err);
    if (rc != CS_OK && rc != CS_ENOTFOUND) {
        CS_INFO("code index of release %u not mapped ahead: %s", release, err.msg);
    }
    int published = 0;
    pthread_mutex_lock(&set->mu);
    if (rc == CS_OK && !s_published(set, release) && set->bytes + idx->bytes <= set->budget) {
        atomic_fetch_add(&idx->refs, 1); /* this thread's, while it reads: the set may drop it */
        published = s_publish(set, idx) == CS_OK;
        if (!published) {
            atomic_fetch_sub(&idx->refs, 1);
        }
    }
    pthread_mutex_unlock(&set->mu);
    if (published) {
        /* a step at a time: the whole image asked for at once held a starting process's
         * other reads (the plugins' libraries: 50 ms more to its first answer) behind it */
        cs_store_read_in(set->store, idx->image.offset, idx->image.len, S_WARM_STEP,
                         &set->stop);
        CS_INFO("code index of release %u: its image mapped and read ahead (%zu bytes)",
                release, idx->bytes);
    }
    cs_codeidx_release(idx);
}

static void *s_builder_main(void *arg)
{
    cs_codeidx_set_t *set = arg;
    pthread_mutex_lock(&set->mu);
    for (;;) {
        while (!set->stop && set->n_queue == 0 && set->n_warm == 0) {
            pthread_cond_wait(&set->wake, &set->mu);
        }
        if (set->stop) {
            break;
        }
        if (set->n_queue == 0) { /* a warm-up's next: what queries ask for goes first */
            uint32_t release = set->warm[0];
            memmove(set->warm, set->warm + 1, --set->n_warm * sizeof set->warm[0]);
            set->building = release;
            set->warming = 1;
            pthread_mutex_unlock(&set->mu);
            s_warm_one(set, release);
            pthread_mutex_lock(&set->mu);
            set->building = 0;
            set->warming = 0;
            continue;
        }
        uint32_t release = set->queue[0];
        memmove(set->queue, set->queue + 1, --set->n_queue * sizeof set->queue[0]);
        set->building = release;
        pthread_mutex_unlock(&set->mu);
        cs_error_t err;
        cs_error_clear(&err);
        if (s_build_and_publish(set, release, &err) != CS_OK) {
            CS_INFO("code index: %s", err.msg);
        }
        pthread_mutex_lock(&set->mu);
        set->building = 0;
    }
    pthread_mutex_unlock(&set->mu);
    return NULL;
}

cs_codeidx_set_t *cs_codeidx_set_new(cs_store_t *store, size_t budget, cs_error_t *err)
{
    cs_codeidx_set_t *set = calloc(1, sizeof *set);
    if (!set) {
        cs_error_set(err, CS_ENOMEM, "out of memory creating the code index set");
        return NULL;
    }
    set->store = store;
    set->budget = budget;
    set->keep_ms = CS_CODEIDX_KEEP_MS;
    pthread_mutex_init(&set->mu, NULL);
    pthread_cond_init(&set->wake, NULL);
    return set;
}

void cs_codeidx_set_destroy(cs_codeidx_set_t **setp)
{
    if (!setp || !*setp) {
        return;
    }
    cs_codeidx_set_t *set = *setp;
    pthread_mutex_lock(&set->mu);
    set->stop = 1;
    pthread_cond_signal(&set->wake);
    pthread_mutex_unlock(&set->mu);
    if (set->builder_started) {
        pthread_join(set->builder, NULL);
    }
    for (size_t i = 0; i < set->n_idx; i++) {
        cs_codeidx_release(set->idx[i]);
    }
    free(set->idx);
    pthread_cond_destroy(&set->wake);
    pthread_mutex_destroy(&set->mu);
    free(set);
    *setp = NULL;
}

/* The builder, started on first need (under the lock); 0 if it cannot start. */
static int s_builder_running(cs_codeidx_set_t *set)
{
    if (!set->builder_started && pthread_create(&set->builder, NULL, s_builder_main, set) == 0) {
        set->builder_started = 1;
    }
    return set->builder_started;
}

void cs_codeidx_warm(cs_codeidx_set_t *set, const uint32_t *releases, size_t n)
{
    if (!set || set->budget == 0) {
        return;
    }
    pthread_mutex_lock(&set->mu);
    for (size_t i = 0; i < n && set->n_warm < CS_CODEIDX_WARM_MAX && !set->stop; i++) {
        set->warm[set->n_warm++] = releases[i];
    }
    if (set->n_warm > 0 && s_builder_running(set)) {
        pthread_cond_signal(&set->wake);
    }
    pthread_mutex_unlock(&set->mu);
}

size_t cs_codeidx_warming(cs_codeidx_set_t *set)
{
    pthread_mutex_lock(&set->mu);
    size_t n = set->n_warm + (set->warming ? 1 : 0);
    pthread_mutex_unlock(&set->mu);
    return n;
}

cs_codeidx_t *cs_codeidx_acquire(cs_codeidx_set_t *set, uint32_t release)
{
    if (!set || set->budget == 0) {
        return NULL;
    }
    pthread_mutex_lock(&set->mu);
    cs_codeidx_t *idx = s_published(set, release);
    if (idx) {
        idx->used_at = ++set->clock;
        atomic_store(&idx->used_ms, s_now_ms());
        atomic_fetch_add_explicit(&idx->refs, 1, memory_order_relaxed);
    } else if (!set->stop && set->building != release && !s_refused(set, release)) {
        int queued = 0;
        for (size_t i = 0; i < set->n_queue; i++) {
            queued |= set->queue[i] == release;
        }
        if (!queued && set->n_queue < S_QUEUE_MAX) {
            if (s_builder_running(set)) {
                set->queue[set->n_queue++] = release;
                pthread_cond_signal(&set->wake);
            }
        }
    }
    pthread_mutex_unlock(&set->mu);
    return idx;
}

int cs_codeidx_build(cs_codeidx_set_t *set, uint32_t release, cs_error_t *err)
{
    cs_error_t local;
    if (!err) {
        err = &local;
    }
    cs_error_clear(err);
    if (set->budget == 0) {
        return cs_error_set(err, CS_ESPACE, "code indexes are turned off (budget 0)");
    }
    return s_build_and_publish(set, release, err);
}

void cs_codeidx_set_keep_ms(cs_codeidx_set_t *set, uint64_t ms)
{
    pthread_mutex_lock(&set->mu);
    set->keep_ms = ms;
    pthread_mutex_unlock(&set->mu);
}

void cs_codeidx_usage(cs_codeidx_set_t *set, size_t *n_indexes, size_t *bytes)
{
    pthread_mutex_lock(&set->mu);
    *n_indexes = set->n_idx;
    *bytes = set->bytes;
    pthread_mutex_unlock(&set->mu);
}

/* ---- a thread's holder ---- */

void cs_codeidx_holder_init(cs_codeidx_holder_t *h, cs_codeidx_set_t *set)
{
    memset(h, 0, sizeof *h);
    h->set = set;
}

void cs_codeidx_holder_fini(cs_codeidx_holder_t *h)
{
    for (int i = 0; i < CS_CODEIDX_HELD; i++) {
        cs_codeidx_release(h->held[i]);
        h->held[i] = NULL;
    }
    h->pinned = 0;
}

void cs_codeidx_holder_unpin(cs_codeidx_holder_t *h)
{
    h->pinned = 0;
}

const cs_codeidx_t *cs_codeidx_holder_get(cs_codeidx_holder_t *h, uint32_t release)
{
    if (!h->set) {
        return NULL;
    }
    int empty = -1, unpinned = -1;
    for (int i = 0; i < CS_CODEIDX_HELD; i++) {
        cs_codeidx_t *idx = h->held[i];
        if (idx && idx->release == release && (h->pinned & (1u << i))) {
            return idx; /* already serving this request */
        }
        if (idx && idx->release == release &&
            atomic_load_explicit(&idx->dropped, memory_order_relaxed)) {
            cs_codeidx_release(idx); /* the set dropped it: so do we, and ask anew */
            h->held[i] = NULL;
            idx = NULL;
        }
        if (idx && idx->release == release) {
            /* tell the set it is in use, so it is not dropped for another: once a second */
            uint64_t now = s_now_ms();
            if (now - atomic_load_explicit(&idx->used_ms, memory_order_relaxed) >= 1000) {
                atomic_store_explicit(&idx->used_ms, now, memory_order_relaxed);
            }
            h->pinned |= 1u << i;
            return idx;
        }
        if (!h->held[i] && empty < 0) {
            empty = i;
        } else if (h->held[i] && !(h->pinned & (1u << i)) && unpinned < 0) {
            unpinned = i; /* held for an earlier request only */
        }
    }
    int free_slot = empty >= 0 ? empty : unpinned;
    if (free_slot < 0) {
        return NULL; /* every slot serves this request: read LMDB for this release */
    }
    cs_codeidx_t *idx = cs_codeidx_acquire(h->set, release);
    if (!idx) {
        return NULL;
    }
    cs_codeidx_release(h->held[free_slot]);
    h->held[free_slot] = idx;
    h->pinned |= 1u << free_slot;
    return idx;
}

int cs_codeidx_holder_prefetch(const cs_codeidx_holder_t *h, uint32_t release, uint64_t hash,
                               int stage)
{
    for (int i = 0; i < CS_CODEIDX_HELD; i++) {
        const cs_codeidx_t *idx = h->held[i];
        if (idx && idx->release == release) {
            cs_codeidx_prefetch(idx, hash, stage);
            return 1;
        }
    }
    return 0;
}

int cs_codeidx_entry(cs_codeidx_holder_t *h, cs_reader_t *r, uint32_t rel, uint8_t cls,
                     const char *key, size_t klen, unsigned need, cs_entry_t *out)
{
    const cs_codeidx_t *idx = cs_codeidx_holder_get(h, rel);
    if (idx) {
        unsigned flags;
        if (!cs_codeidx_find(idx, cls, key, klen, out, &flags)) {
            return CS_ENOTFOUND;
        }
        /* The head copy answers whatever does not need the notes or attributes it lacks. */
        if (!(flags & need)) {
            return CS_OK;
        }
    }
    uint8_t k[CS_KEY_MAX];
    size_t n = cs_key_code(k, rel, cls, key, klen);
    cs_val_t v;
    if (n == 0 || cs_reader_get(r, CS_DB_CODES, k, n, &v) != CS_OK) {
        return CS_ENOTFOUND;
    }
    return need ? cs_entry_decode(v.data, v.len, out) : cs_entry_decode_head(v.data, v.len, out);
}
