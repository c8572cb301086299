/* fhir_tree.c: a result writer that builds a jansson tree (fhir_tree.h).
 *
 * Each write is an event in an array (strings copied to an arena); mark is the event count
 * and rewind cuts back to it. fhir_tree_take replays the events: a map of n pairs takes the
 * next 2n values (key, value), an array of n the next n.
 */
#include "fhir_tree.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define S_POOL 8             /* writers a thread keeps for reuse */
#define S_KEEP_BYTES 65536   /* a writer that grew past this is freed, not kept */

typedef enum s_type { S_MAP, S_ARRAY, S_STR, S_INT, S_F64, S_BOOL, S_NIL } s_type_t;

typedef struct s_ev {
    s_type_t type;
    uint32_t n;       /* pairs or items; a str's length */
    union {
        int64_t i;    /* int, bool */
        double f;
        size_t off;   /* a str's bytes in the arena */
    } v;
} s_ev_t;

struct fhir_tree {
    cs_out_t out;             /* first: the writer the handler sees */
    s_ev_t *ev;               /* what was written, in order */
    size_t n_ev, cap_ev;      /* events written (mark), and room */
    char *arena;              /* the bytes of every str, back to back */
    size_t n_arena, cap_arena; /* bytes used, and room */
    int oom;                  /* memory ran out: a sink until taken */
};

static fhir_tree_t *s_t(cs_out_t *o)
{
    return (fhir_tree_t *)o;
}

static int s_grow(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return 0;
    }
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2 / size) {
            return -1;
        }
        c *= 2;
    }
    void *p = realloc(*buf, c * size);
    if (!p) {
        return -1;
    }
    *buf = p;
    *cap = c;
    return 0;
}

static s_ev_t *s_push(fhir_tree_t *t, s_type_t type)
{
    if (t->oom || s_grow((void **)&t->ev, &t->cap_ev, t->n_ev + 1, sizeof *t->ev) != 0) {
        t->oom = 1;
        return NULL;
    }
    s_ev_t *e = &t->ev[t->n_ev++];
    memset(e, 0, sizeof *e);
    e->type = type;
    return e;
}

static void s_map(cs_out_t *o, uint32_t n)
{
    s_ev_t *e = s_push(s_t(o), S_MAP);
    if (e) {
        e->n = n;
    }
}

static void s_array(cs_out_t *o, uint32_t n)
{
    s_ev_t *e = s_push(s_t(o), S_ARRAY);
    if (e) {
        e->n = n;
    }
}

static void s_str(cs_out_t *o, const char *s, size_t n)
{
    fhir_tree_t *t = s_t(o);
    if (t->oom || n > UINT32_MAX ||
        s_grow((void **)&t->arena, &t->cap_arena, t->n_arena + n + 1, 1) != 0) {
        t->oom = 1;
        return;
    }
    s_ev_t *e = s_push(t, S_STR);
    if (e) {
        memcpy(t->arena + t->n_arena, s ? s : "", n);
        t->arena[t->n_arena + n] = '\0'; /* read in place (fhir_tree_str) */
        e->n = (uint32_t)n;
        e->v.off = t->n_arena;
        t->n_arena += n + 1;
    }
}

static void s_i64(cs_out_t *o, int64_t v)
{
    s_ev_t *e = s_push(s_t(o), S_INT);
    if (e) {
        e->v.i = v;
    }
}

static void s_f64(cs_out_t *o, double v)
{
    s_ev_t *e = s_push(s_t(o), S_F64);
    if (e) {
        e->v.f = v;
    }
}

static void s_bool(cs_out_t *o, int v)
{
    s_ev_t *e = s_push(s_t(o), S_BOOL);
    if (e) {
        e->v.i = v != 0;
    }
}

static void s_nil(cs_out_t *o)
{
    s_push(s_t(o), S_NIL);
}

/* The request's id: FHIR requests send none, but write what a handler gives. */
static void s_id(cs_out_t *o, const cs_scalar_t *id)
{
    switch (id ? id->type : CS_SCALAR_NIL) {
    case CS_SCALAR_BOOL: s_bool(o, id->via.b); break;
    case CS_SCALAR_UINT: s_i64(o, id->via.u > INT64_MAX ? INT64_MAX : (int64_t)id->via.u); break;
    case CS_SCALAR_INT: s_i64(o, id->via.i); break;
    case CS_SCALAR_F32:
    case CS_SCALAR_F64: s_f64(o, id->via.f); break;
    case CS_SCALAR_STR:
    case CS_SCALAR_BIN: cs_out_strn(o, id->via.s.ptr, id->via.s.len); break;
    default: s_nil(o); break;
    }
}

static size_t s_mark(cs_out_t *o)
{
    return s_t(o)->n_ev;
}

static void s_rewind(cs_out_t *o, size_t mark)
{
    fhir_tree_t *t = s_t(o);
    if (mark < t->n_ev) {
        t->n_ev = mark; /* the arena keeps the bytes: they are only unreachable */
    }
}

static const cs_out_ops_t s_ops = {
    .map = s_map,
    .array = s_array,
    .str = s_str,
    .i64 = s_i64,
    .f64 = s_f64,
    .boolean = s_bool,
    .nil = s_nil,
    .id = s_id,
    .mark = s_mark,
    .rewind = s_rewind,
    .validation = cs_out_validation_tree,
    .hit = cs_out_hit_tree,
};

/* ---- the thread's pool of writers ---- */

typedef struct s_pool {
    fhir_tree_t *t[S_POOL];
    int n;
} s_pool_t;

static pthread_key_t s_key;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_destroy(fhir_tree_t *t)
{
    free(t->ev);
    free(t->arena);
    free(t);
}

static void s_pool_free(void *p)
{
    s_pool_t *pool = p;
    for (int i = 0; i < pool->n; i++) {
        s_destroy(pool->t[i]);
    }
    free(pool);
}

static void s_key_make(void)
{
    if (pthread_key_create(&s_key, s_pool_free) != 0) {
        s_key = (pthread_key_t)-1; /* no pool: every writer is malloc'ed and freed */
    }
}

/* This thread's pool, made on first use; NULL without one. */
static s_pool_t *s_pool(int make)
{
    pthread_once(&s_once, s_key_make);
    if (s_key == (pthread_key_t)-1) {
        return NULL;
    }
    s_pool_t *pool = pthread_getspecific(s_key);
    if (!pool && make && (pool = calloc(1, sizeof *pool)) != NULL &&
        pthread_setspecific(s_key, pool) != 0) {
        free(pool);
        pool = NULL;
    }
    return pool;
}

fhir_tree_t *fhir_tree_new(void)
{
    s_pool_t *pool = s_pool(0);
    if (pool && pool->n > 0) {
        return pool->t[--pool->n];
    }
    fhir_tree_t *t = calloc(1, sizeof *t);
    if (t) {
        t->out.ops = &s_ops;
    }
    return t;
}

cs_out_t *fhir_tree_out(fhir_tree_t *t)
{
    return &t->out;
}

/* Build the value starting at event *at (advanced past it); NULL when the events run out or
 * memory does. Depth is bounded by the handler (its replies nest a few levels). */
static json_t *s_build(const fhir_tree_t *t, size_t *at)
{
    if (*at >= t->n_ev) {
        return NULL;
    }
    const s_ev_t *e = &t->ev[(*at)++];
    switch (e->type) {
    case S_STR: return json_stringn_nocheck(t->arena + e->v.off, e->n);
    case S_INT: return json_integer((json_int_t)e->v.i);
    case S_F64: return json_real(e->v.f);
    case S_BOOL: return json_boolean(e->v.i);
    case S_NIL: return json_null();
    case S_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; a && i < e->n; i++) {
            json_t *item = s_build(t, at);
            if (!item || json_array_append_new(a, item) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case S_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; m && i < e->n; i++) {
            if (*at >= t->n_ev || t->ev[*at].type != S_STR) {
                json_decref(m);
                return NULL;
            }
            const s_ev_t *k = &t->ev[(*at)++];
            json_t *val = s_build(t, at);
            if (!val || json_object_setn_new_nocheck(m, t->arena + k->v.off, k->n, val) != 0) {
                json_decref(m);
                return NULL;
            }
        }
        return m;
    }
    }
    return NULL;
}

json_t *fhir_tree_take(fhir_tree_t *t)
{
    size_t at = 0;
    json_t *j = t->oom ? NULL : s_build(t, &at);
    t->n_ev = 0;
    t->n_arena = 0;
    t->oom = 0;
    return j;
}

void fhir_tree_free(fhir_tree_t **t)
{
    if (!t || !*t) {
        return;
    }
    fhir_tree_t *x = *t;
    *t = NULL;
    x->n_ev = x->n_arena = 0;
    x->oom = 0;
    s_pool_t *pool = x->cap_ev * sizeof *x->ev + x->cap_arena <= S_KEEP_BYTES ? s_pool(1) : NULL;
    if (pool && pool->n < S_POOL) {
        pool->t[pool->n++] = x;
        return;
    }
    s_destroy(x);
}

/* ---- reading in place ---- */

/* The event after value v and all it holds; SIZE_MAX when the events end inside it. */
static size_t s_skip(const fhir_tree_t *t, size_t v)
{
    size_t left = 1; /* values still to pass */
    while (left > 0 && v < t->n_ev) {
        const s_ev_t *e = &t->ev[v++];
        left--;
        left += e->type == S_MAP ? 2 * (size_t)e->n : e->type == S_ARRAY ? e->n : 0;
    }
    return left > 0 ? SIZE_MAX : v;
}

fhir_tv_t fhir_tree_root(const fhir_tree_t *t)
{
    return t->oom || t->n_ev == 0 || s_skip(t, 0) == SIZE_MAX ? FHIR_TV_NONE : 0;
}

void fhir_tree_getv(const fhir_tree_t *t, fhir_tv_t m, const char *const *keys, fhir_tv_t *out,
                    size_t n)
{
    size_t left = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = FHIR_TV_NONE;
    }
    if (m < t->n_ev && t->ev[m].type == S_MAP) {
        left = n;
    }
    size_t at = m + 1;
    for (uint32_t p = 0; left > 0 && p < t->ev[m].n && at < t->n_ev - 1; p++) {
        const s_ev_t *k = &t->ev[at];
        const char *name = t->arena + k->v.off; /* NUL-terminated: strcmp stops there */
        for (size_t i = 0; i < n && k->type == S_STR; i++) {
            if (out[i] == FHIR_TV_NONE && keys[i][0] == name[0] && strcmp(keys[i], name) == 0 &&
                strlen(name) == k->n) {
                out[i] = at + 1;
                left--;
            }
        }
        at = s_skip(t, at + 1);
    }
}

fhir_tv_t fhir_tree_get(const fhir_tree_t *t, fhir_tv_t m, const char *key)
{
    fhir_tv_t v;
    fhir_tree_getv(t, m, &key, &v, 1);
    return v;
}

fhir_tv_t fhir_tree_item(const fhir_tree_t *t, fhir_tv_t a, size_t i)
{
    if (a >= t->n_ev || t->ev[a].type != S_ARRAY || i >= t->ev[a].n) {
        return FHIR_TV_NONE;
    }
    size_t at = a + 1;
    for (size_t k = 0; k < i && at < t->n_ev; k++) {
        at = s_skip(t, at);
    }
    return at < t->n_ev ? at : FHIR_TV_NONE;
}

const char *fhir_tree_str(const fhir_tree_t *t, fhir_tv_t v)
{
    return v < t->n_ev && t->ev[v].type == S_STR ? t->arena + t->ev[v].v.off : NULL;
}

int fhir_tree_true(const fhir_tree_t *t, fhir_tv_t v)
{
    return v < t->n_ev && t->ev[v].type == S_BOOL && t->ev[v].v.i;
}
