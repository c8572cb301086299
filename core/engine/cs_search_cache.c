/* cs_search_cache.c: results of costly searches, remembered (see the header). */
#include "engine/cs_search_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One kept result and everything its query was. */
typedef struct s_entry {
    uint64_t hash;           /* of the key below; 0: the slot is empty */
    uint64_t used;           /* the cache's tick when last asked for */
    uint32_t release;
    uint32_t limit;
    uint64_t offset;
    int billable_only;
    uint32_t doc_lo, doc_hi;
    char *q;                 /* the query text (owned), q_len bytes */
    size_t q_len;
    uint64_t total;          /* the result: as cs_search_result_t */
    uint64_t work;
    int by_code, fuzzy;
    size_t n_hits;
    cs_search_hit_t *hits;   /* owned, n_hits */
} s_entry_t;

struct cs_search_cache {
    pthread_mutex_t lock;                    /* every call holds it */
    uint64_t min_total;                      /* results with fewer matches are not kept */
    uint64_t min_work;                       /* ... unless they cost this much (0: never) */
    uint64_t tick;                           /* counts lookups, for least recently used */
    uint64_t hits, kept;                     /* counts (cs_search_cache_counts) */
    uint64_t hash[CS_SEARCH_CACHE_ENTRIES];  /* e[i].hash, packed for the scan */
    s_entry_t e[CS_SEARCH_CACHE_ENTRIES];
};

cs_search_cache_t *cs_search_cache_new(uint64_t min_total)
{
    cs_search_cache_t *c = calloc(1, sizeof *c);
    if (c && pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (c) {
        c->min_total = min_total;
    }
    return c;
}

void cs_search_cache_keep_costly(cs_search_cache_t *cache, uint64_t min_work)
{
    pthread_mutex_lock(&cache->lock);
    cache->min_work = min_work;
    pthread_mutex_unlock(&cache->lock);
}

static void s_entry_free(s_entry_t *e)
{
    free(e->q);
    free(e->hits);
    memset(e, 0, sizeof *e);
}

void cs_search_cache_destroy(cs_search_cache_t **cache)
{
    if (!cache || !*cache) {
        return;
    }
    for (size_t i = 0; i < CS_SEARCH_CACHE_ENTRIES; i++) {
        s_entry_free(&(*cache)->e[i]);
    }
    pthread_mutex_destroy(&(*cache)->lock);
    free(*cache);
    *cache = NULL;
}

/* FNV-1a over the query's text and fields; never 0 (0 marks an empty slot). */
static uint64_t s_hash(uint32_t release, const cs_search_query_t *q)
{
    uint64_t h = 1469598103934665603ull;
    uint64_t fields[6] = {release, q->limit, q->offset, (uint64_t)q->billable_only, q->doc_lo,
                          q->doc_hi};
    const unsigned char *p = (const unsigned char *)fields;
    for (size_t i = 0; i < sizeof fields; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    for (size_t i = 0; i < q->q_len; i++) {
        h = (h ^ (unsigned char)q->q[i]) * 1099511628211ull;
    }
    return h ? h : 1;
}

static int s_same(const s_entry_t *e, uint64_t h, uint32_t release, const cs_search_query_t *q)
{
    return e->hash == h && e->release == release && e->limit == q->limit &&
           e->offset == q->offset && e->billable_only == q->billable_only &&
           e->doc_lo == q->doc_lo && e->doc_hi == q->doc_hi && e->q_len == q->q_len &&
           memcmp(e->q, q->q, q->q_len) == 0;
}

int cs_search_cache_get(cs_search_cache_t *cache, uint32_t release, const cs_search_query_t *q,
                        cs_search_result_t *out)
{
    uint64_t h = s_hash(release, q);
    pthread_mutex_lock(&cache->lock);
    cache->tick++;
    int found = 0;
    for (size_t i = 0; i < CS_SEARCH_CACHE_ENTRIES && !found; i++) {
        s_entry_t *e = &cache->e[i];
        if (cache->hash[i] == h && s_same(e, h, release, q)) {
            e->used = cache->tick;
            out->total = e->total;
            out->work = e->work;
            out->by_code = e->by_code;
            out->fuzzy = e->fuzzy;
            out->n_hits = e->n_hits;
            memcpy(out->hits, e->hits, e->n_hits * sizeof *e->hits);
            cache->hits++;
            found = 1;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    return found;
}

void cs_search_cache_put(cs_search_cache_t *cache, uint32_t release, const cs_search_query_t *q,
                         const cs_search_result_t *res)
{
    /* copied before the lock: the lock is held for the table only */
    char *text = malloc(q->q_len ? q->q_len : 1);
    cs_search_hit_t *hits = malloc(res->n_hits ? res->n_hits * sizeof *hits : 1);
    if (!text || !hits) {
        free(text);
        free(hits);
        return;
    }
    memcpy(text, q->q, q->q_len);
    memcpy(hits, res->hits, res->n_hits * sizeof *hits);
    uint64_t h = s_hash(release, q);
    pthread_mutex_lock(&cache->lock);
    int costly = res->total >= cache->min_total ||
                 (cache->min_work && res->work >= cache->min_work);
    size_t v = 0;
    for (size_t i = 0; costly && i < CS_SEARCH_CACHE_ENTRIES; i++) {
        if (cache->hash[i] == h && s_same(&cache->e[i], h, release, q)) {
            costly = 0; /* another thread kept it meanwhile */
        } else if (cache->hash[v] && (!cache->hash[i] || cache->e[i].used < cache->e[v].used)) {
            v = i;
        }
    }
    if (!costly || res->n_hits > CS_SEARCH_CACHE_MAX_HITS) {
        pthread_mutex_unlock(&cache->lock);
        free(text);
        free(hits);
        return;
    }
    s_entry_t *victim = &cache->e[v];
    s_entry_free(victim);
    *victim = (s_entry_t){.hash = h, .used = cache->tick, .release = release,
                          .limit = q->limit, .offset = q->offset,
                          .billable_only = q->billable_only, .doc_lo = q->doc_lo,
                          .doc_hi = q->doc_hi, .q = text, .q_len = q->q_len,
                          .total = res->total, .work = res->work, .by_code = res->by_code,
                          .fuzzy = res->fuzzy, .n_hits = res->n_hits, .hits = hits};
    cache->hash[v] = h;
    cache->kept++;
    pthread_mutex_unlock(&cache->lock);
}

void cs_search_cache_counts(cs_search_cache_t *cache, uint64_t *hits, uint64_t *kept)
{
    *hits = *kept = 0;
    if (cache) {
        pthread_mutex_lock(&cache->lock);
        *hits = cache->hits;
        *kept = cache->kept;
        pthread_mutex_unlock(&cache->lock);
    }
}
