/* cs_index.c: queries over an ICD-10-CM Index set (cs_index.h): the result's arena, the ways
 * in (words, a path, a key, the main terms) and the set, table and tabular they read. A code's
 * state, a row, matching titles and following references are in cs_index_state.c,
 * cs_index_row.c, cs_index_match.c and cs_index_follow.c (cs_index_ix.h). */
#include "engine/cs_index.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cs_index_ix.h"
#include "engine/cs_resolve.h"
#include "engine/cs_search.h"
#include "store/cs_key.h"

/* ---- the result's arena: blocks that never move, so strings stay put ---- */

#define S_BLOCK (16 * 1024)

struct cs_index_arena {
    struct cs_index_arena *next;
    size_t used, cap;
    char data[];
};

/* A copy of s[0..n) NUL-terminated in res's arena; "" when out of memory (a reply stays
 * well-formed; the caller never checks). */
const char *cs_ix_dup(cs_index_result_t *res, const char *s, size_t n)
{
    cs_index_arena_t *a = res->arena;
    if (!a || a->cap - a->used < n + 1) {
        size_t cap = n + 1 > S_BLOCK ? n + 1 : S_BLOCK;
        cs_index_arena_t *b = malloc(sizeof *b + cap);
        if (!b) {
            return "";
        }
        b->next = a;
        b->used = 0;
        b->cap = cap;
        res->arena = a = b;
    }
    char *out = a->data + a->used;
    if (n) {
        memcpy(out, s, n);
    }
    out[n] = '\0';
    a->used += n + 1;
    return out;
}

const char *cs_ix_dup_span(cs_index_result_t *res, cs_span_t s)
{
    return cs_ix_dup(res, s.ptr, s.len);
}

void cs_index_result_free(cs_index_result_t *res)
{
    if (!res) {
        return;
    }
    for (cs_index_arena_t *a = res->arena; a;) {
        cs_index_arena_t *next = a->next;
        free(a);
        a = next;
    }
    free(res->rows);
    memset(res, 0, sizeof *res);
}

/* ---- reading the set ---- */

int cs_ix_get(cs_ix_t *ix, uint32_t rel, uint8_t cls, const char *key, size_t klen,
              cs_entry_t *e, int head_only)
{
    uint8_t k[CS_KEY_MAX];
    size_t kl = cs_key_code(k, rel, cls, key, klen);
    cs_val_t v;
    if (kl == 0 || cs_reader_get(ix->r, CS_DB_CODES, k, kl, &v) != CS_OK) {
        return CS_ENOTFOUND;
    }
    return head_only ? cs_entry_decode_head(v.data, v.len, e) : cs_entry_decode(v.data, v.len, e);
}


static cs_span_t s_attr(const cs_entry_t *e, const char *name)
{
    const uint8_t *pos = e->attrs;
    cs_span_t n, v;
    size_t nl = strlen(name);
    for (uint16_t i = 0; i < e->n_attrs && cs_entry_attr_next(e, &pos, &n, &v); i++) {
        if (n.len == nl && memcmp(n.ptr, name, nl) == 0) {
            return v;
        }
    }
    return (cs_span_t){NULL, 0};
}

static uint32_t s_u32(cs_span_t s)
{
    uint32_t n = 0;
    for (size_t i = 0; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && n < 100000000u; i++) {
        n = n * 10 + (uint32_t)(s.ptr[i] - '0');
    }
    return n;
}

/* ---- the three ways in: words, a path, the main terms ---- */

static cs_proto_err_t s_fail(cs_index_result_t *res, cs_proto_err_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cs_proto_err_t s_fail(cs_index_result_t *res, cs_proto_err_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof res->msg, fmt, ap);
    va_end(ap);
    return e;
}

/* The doc ids of the table's terms: from its first_doc to the next table's. */
static void s_doc_range(cs_ix_t *ix, uint32_t *lo, uint32_t *hi)
{
    cs_entry_t e;
    *lo = 0;
    *hi = UINT32_MAX;
    if (cs_ix_get(ix, ix->set, CS_CLASS_CHAPTER, ix->root, strlen(ix->root), &e, 0) == CS_OK) {
        *lo = s_u32(s_attr(&e, "first_doc"));
    }
    for (int t = 0; t < CS_INDEX_TABLES; t++) {
        const char *root = cs_index_table_root(t);
        if (strcmp(root, ix->root) != 0 &&
            cs_ix_get(ix, ix->set, CS_CLASS_CHAPTER, root, strlen(root), &e, 0) == CS_OK) {
            uint32_t first = s_u32(s_attr(&e, "first_doc"));
            if (first > *lo && first < *hi) {
                *hi = first;
            }
        }
    }
}

static cs_proto_err_t s_by_words(cs_ix_t *ix)
{
    const cs_index_query_t *q = ix->q;
    cs_search_query_t sq = {.q = q->q, .q_len = q->q_len, .limit = q->limit,
                            .offset = q->offset};
    if (ix->root) {
        s_doc_range(ix, &sq.doc_lo, &sq.doc_hi);
    }
    cs_search_result_t *sr = malloc(sizeof *sr);
    if (!sr) {
        return s_fail(ix->res, CS_PERR_INTERNAL, "out of memory searching the index");
    }
    cs_error_t err;
    cs_error_clear(&err);
    if (cs_search_run(ix->r, ix->set, &sq, sr, &err) != CS_OK) {
        free(sr);
        return s_fail(ix->res, CS_PERR_INTERNAL, "%s", err.msg);
    }
    ix->res->total = sr->total;
    ix->res->fuzzy = sr->fuzzy;
    for (size_t i = 0; i < sr->n_hits; i++) {
        cs_index_row_t *row = cs_ix_row(ix, sr->hits[i].key, strlen(sr->hits[i].key));
        if (row) {
            row->score = sr->hits[i].score;
        }
    }
    free(sr);
    return CS_PERR_NONE;
}

typedef struct s_page {
    uint64_t seen;
    size_t n;
    char keys[CS_INDEX_MAX_LIMIT][CS_CODE_MAX]; /* the page's keys, read once the walk ends
                                                 * (a row reads the children db too) */
} s_page_t;

static int s_page_fn(cs_ix_t *ix, void *arg, const char *key, size_t klen)
{
    s_page_t *p = arg;
    uint64_t i = p->seen++;
    if (i >= ix->q->offset && i < ix->q->offset + ix->q->limit && p->n < CS_INDEX_MAX_LIMIT &&
        klen < CS_CODE_MAX) {
        memcpy(p->keys[p->n], key, klen);
        p->keys[p->n++][klen] = '\0';
    }
    return 0;
}

/* The children of (cls, key) as rows, paged; total counts them all. */
static void s_list(cs_ix_t *ix, uint8_t cls, const char *key)
{
    s_page_t *p = calloc(1, sizeof *p);
    if (!p) {
        return;
    }
    cs_ix_children(ix, cls, key, strlen(key), s_page_fn, p);
    ix->res->total = p->seen;
    for (size_t i = 0; i < p->n; i++) {
        cs_ix_row(ix, p->keys[i], strlen(p->keys[i]));
    }
    free(p);
}

static cs_proto_err_t s_by_path(cs_ix_t *ix)
{
    const cs_index_query_t *q = ix->q;
    char at[CS_CODE_MAX];
    snprintf(at, sizeof at, "%s", ix->root);
    uint8_t cls = CS_CLASS_CHAPTER;
    ix->res->by_path = 1;
    for (uint32_t i = 0; i < q->n_path; i++) {
        char next[CS_CODE_MAX];
        if (!cs_ix_child_named(ix, cls, at, q->path[i].ptr, q->path[i].len, next)) {
            break;
        }
        memcpy(at, next, sizeof at);
        cls = CS_CLASS_CODE;
        ix->res->matched++;
    }
    if (ix->res->matched == q->n_path) {
        cs_ix_row(ix, at, strlen(at));
    }
    s_list(ix, cls, at);
    return CS_PERR_NONE;
}

/* A term by its key: the term, then its subterms; found (matched 1) when the table holds it. */
static cs_proto_err_t s_by_key(cs_ix_t *ix)
{
    const cs_str_t *k = &ix->q->key;
    ix->res->by_path = 1;
    char key[CS_CODE_MAX];
    cs_entry_t e;
    if (k->len >= sizeof key || !cs_index_key_ok(k->ptr, k->len) ||
        k->ptr[0] != cs_index_table_letter(ix->res->table) ||
        cs_ix_get(ix, ix->set, CS_CLASS_CODE, k->ptr, k->len, &e, 1) != CS_OK) {
        return CS_PERR_NONE; /* found: false, no rows */
    }
    memcpy(key, k->ptr, k->len);
    key[k->len] = '\0';
    ix->res->matched = 1;
    cs_ix_row(ix, key, k->len);
    s_list(ix, CS_CLASS_CODE, key);
    return CS_PERR_NONE;
}

/* ---- resolving the set, the table and the tabular ---- */

static int s_table_of(cs_str_t t)
{
    for (int i = 0; i < CS_INDEX_TABLES; i++) {
        const char *n = cs_index_table_name(i);
        if (t.len == strlen(n) && memcmp(t.ptr, n, t.len) == 0) {
            return i;
        }
    }
    return -1;
}

static cs_proto_err_t s_open(cs_ix_t *ix, cs_store_t *store, const cs_plugin_host_t *plugins)
{
    const cs_index_query_t *q = ix->q;
    cs_index_result_t *res = ix->res;
    char buf[64];
    if (q->system.len != 7 || memcmp(q->system.ptr, "icd10cm", 7) != 0) {
        return s_fail(res, CS_PERR_UNKNOWN_SYSTEM, "no index is known for system '%s' (the "
                      "ICD-10-CM Index answers for icd10cm)",
                      cs_str_printable(q->system, buf, sizeof buf));
    }
    res->table = q->all ? -1 : s_table_of(q->table);
    if (res->table < 0 && !q->all) {
        return s_fail(res, CS_PERR_BAD_REQUEST, "table '%s' is not one of index, eindex, drug, "
                      "neoplasm", cs_str_printable(q->table, buf, sizeof buf));
    }
    cs_resolution_t set;
    cs_str_t name = {CS_INDEX_SET, sizeof CS_INDEX_SET - 1};
    if (cs_resolve(ix->r, NULL, plugins, name, q->release, q->date, &set) != CS_PERR_NONE) {
        return s_fail(res, set.err, "%s", set.msg);
    }
    char why[200];
    if (store && cs_store_release_failed(store, set.rel.id, why, sizeof why)) {
        return s_fail(res, CS_PERR_CORRUPT_RELEASE, "%s release %.*s %s; reload it or restore "
                      "the database", CS_INDEX_SET, (int)set.rel.label.len, set.rel.label.ptr,
                      why);
    }
    ix->set = set.rel.id;
    snprintf(res->set_label, sizeof res->set_label, "%.*s", (int)set.rel.label.len,
             set.rel.label.ptr);
    /* the tabular of the same date: the date asked, else the day the set took effect */
    cs_resolution_t tab;
    cs_str_t cm = {"icd10cm", 7};
    int date = q->date ? q->date : set.rel.effective_from;
    if (cs_resolve(ix->r, NULL, plugins, cm, (cs_str_t){NULL, 0}, date, &tab) != CS_PERR_NONE &&
        (q->date ||
         cs_resolve(ix->r, NULL, plugins, cm, (cs_str_t){NULL, 0}, 0, &tab) != CS_PERR_NONE)) {
        tab.sys = NULL;
    }
    if (tab.sys && (!store || !cs_store_release_failed(store, tab.rel.id, NULL, 0))) {
        ix->tab = tab.rel.id;
        ix->cm = tab.sys->system;
        snprintf(res->tabular_label, sizeof res->tabular_label, "%.*s", (int)tab.rel.label.len,
                 tab.rel.label.ptr);
    }
    return CS_PERR_NONE;
}

/* The table's root: its title and column headings; an error when the set lacks the table. */
static cs_proto_err_t s_open_table(cs_ix_t *ix)
{
    cs_index_result_t *res = ix->res;
    ix->root = cs_index_table_root(res->table);
    res->table_title = cs_ix_read_root(ix, res->table);
    if (!res->table_title) {
        return s_fail(res, CS_PERR_UNKNOWN_RELEASE, "index set %s holds no %s (load its file "
                      "with the loader icd10cm-index)", res->set_label,
                      cs_index_table_title(res->table));
    }
    memcpy(res->heads, ix->heads[res->table], sizeof res->heads);
    return CS_PERR_NONE;
}

cs_proto_err_t cs_index_run(cs_reader_t *r, cs_store_t *store, const cs_plugin_host_t *plugins,
                            const cs_index_query_t *q, cs_index_result_t *res)
{
    cs_index_query_t qq = *q;
    if (qq.limit == 0) {
        qq.limit = CS_INDEX_DEFAULT_LIMIT;
    }
    if (qq.limit > CS_INDEX_MAX_LIMIT) {
        qq.limit = CS_INDEX_MAX_LIMIT;
    }
    cs_ix_t ix = {.r = r, .res = res, .q = &qq};
    cs_proto_err_t e = s_open(&ix, store, plugins);
    if (e == CS_PERR_NONE && !qq.all) {
        e = s_open_table(&ix);
    }
    if (e != CS_PERR_NONE) {
        return e;
    }
    if (qq.all) {
        e = qq.q && qq.q_len ? s_by_words(&ix) : CS_PERR_NONE;
    } else if (qq.key.len) {
        e = s_by_key(&ix);
    } else if (qq.n_path) {
        e = s_by_path(&ix);
    } else if (qq.q && qq.q_len) {
        e = s_by_words(&ix);
    } else {
        s_list(&ix, CS_CLASS_CHAPTER, ix.root);
    }
    if (e == CS_PERR_NONE && qq.follow) {
        cs_ix_follow(&ix);
    }
    return e;
}
