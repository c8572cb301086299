/* cs_index.c: queries over an ICD-10-CM Index set (cs_index.h). */
#include "engine/cs_index.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/cs_resolve.h"
#include "engine/cs_search.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "util/cs_fold.h"

/* ---- the result's arena: blocks that never move, so strings stay put ---- */

#define S_BLOCK (16 * 1024)

struct cs_index_arena {
    struct cs_index_arena *next;
    size_t used, cap;
    char data[];
};

/* A copy of s[0..n) NUL-terminated in res's arena; "" when out of memory (a reply stays
 * well-formed; the caller never checks). */
static const char *s_dup(cs_index_result_t *res, const char *s, size_t n)
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

static const char *s_dup_span(cs_index_result_t *res, cs_span_t s)
{
    return s_dup(res, s.ptr, s.len);
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

const char *cs_index_state_name(cs_index_state_t s)
{
    static const char *const n[] = {"none", "billable", "header", "needs_7th", "needs_more",
                                    "unknown"};
    return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "unknown";
}

/* ---- the working state of one query ---- */

typedef struct s_ix {
    cs_reader_t *r;
    cs_index_result_t *res;
    const cs_index_query_t *q;
    uint32_t set;                /* the index set's release id */
    uint32_t tab;                /* the tabular's release id, or 0 */
    const cs_system_ops_t *cm;   /* the icd10cm plugin, or NULL */
    const char *root;            /* the table's root code (NULL with all) */
    size_t cap_rows;
    const char *heads[CS_INDEX_TABLES][CS_INDEX_MAX_COLS + 1]; /* column headings */
    unsigned heads_read;         /* bit t: heads[t] read */
} s_ix_t;

static int s_get(s_ix_t *ix, uint32_t rel, uint8_t cls, const char *key, size_t klen,
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

/* The value of attribute name of e, or a span of len 0. */
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

/* ---- a code's state in the tabular ---- */

/* Read the billable codes below key (storage form) in the tabular: hints, and whether all
 * are key, X's up to 6 characters, and one 7th character (chars collects those). */
static void s_scan_under(s_ix_t *ix, const char *key, size_t klen, cs_index_code_t *c,
                         int *all_7th)
{
    uint8_t k[CS_KEY_MAX];
    size_t kl = cs_key_code(k, ix->tab, CS_CLASS_CODE, key, klen);
    cs_val_t kk, v;
    int rc = kl ? cs_reader_seek(ix->r, CS_DB_CODES, k, kl, &kk, &v) : CS_ENOTFOUND;
    size_t n_chars = 0, read = 0;
    *all_7th = 1;
    for (; rc == CS_OK && read < CS_INDEX_SCAN_MAX; rc = cs_reader_next(ix->r, CS_DB_CODES, &kk,
                                                                        &v), read++) {
        uint32_t rel;
        uint8_t cls;
        const char *code;
        size_t cl;
        if (cs_key_code_split(kk.data, kk.len, &rel, &cls, &code, &cl) != 0 || rel != ix->tab ||
            cls != CS_CLASS_CODE || cl < klen || memcmp(code, key, klen) != 0) {
            return;
        }
        cs_entry_t e;
        if (cl == klen || cs_entry_decode_head(v.data, v.len, &e) != CS_OK || !e.billable) {
            continue;
        }
        c->n_under++;
        if (c->n_hint < CS_INDEX_HINT_MAX) {
            c->hint[c->n_hint++] = s_dup_span(ix->res, e.display);
        }
        int seventh = cl == 7;
        for (size_t i = klen; seventh && i < 6; i++) {
            seventh = code[i] == 'X';
        }
        if (!seventh) {
            *all_7th = 0;
        } else if (!memchr(c->chars, code[6], n_chars) && n_chars + 1 < sizeof c->chars) {
            c->chars[n_chars++] = code[6];
        }
    }
    if (read >= CS_INDEX_SCAN_MAX) {
        *all_7th = 0; /* not all were read */
    }
}

/* The display form of key padded with X to 6 characters, as the icd10cm plugin writes it. */
static const char *s_placeholder(s_ix_t *ix, const char *key, size_t klen)
{
    char padded[8];
    memcpy(padded, key, klen);
    for (size_t i = klen; i < 6; i++) {
        padded[i] = 'X';
    }
    cs_code_t out;
    cs_error_t err;
    if (ix->cm->normalize(padded, 6, &out, &err) != CS_OK) {
        return NULL;
    }
    return s_dup(ix->res, out.display, strlen(out.display));
}

static void s_state(s_ix_t *ix, cs_index_code_t *c)
{
    size_t n = strlen(c->text);
    if (cs_index_cell_empty(c->text, n)) {
        c->state = CS_INDEX_NO_CODE;
        return;
    }
    c->state = CS_INDEX_UNKNOWN;
    int more = c->text[n - 1] == '-';
    size_t len = n;
    while (more && len > 0 && (c->text[len - 1] == '-' || c->text[len - 1] == '.')) {
        len--;
    }
    cs_code_t code;
    cs_error_t err;
    if (!ix->cm || !ix->tab || len == 0 || ix->cm->normalize(c->text, len, &code, &err) != CS_OK) {
        c->state = more ? CS_INDEX_NEEDS_MORE : CS_INDEX_UNKNOWN;
        return;
    }
    size_t klen = strlen(code.key);
    cs_entry_t e;
    int found = s_get(ix, ix->tab, CS_CLASS_CODE, code.key, klen, &e, 1) == CS_OK;
    if (found) {
        c->code = s_dup_span(ix->res, e.display);
        c->title = s_dup_span(ix->res, e.title);
        if (e.billable && !more) {
            c->state = CS_INDEX_BILLABLE;
            return;
        }
    }
    int all_7th = 0;
    s_scan_under(ix, code.key, klen, c, &all_7th);
    if (more) {
        c->state = CS_INDEX_NEEDS_MORE;
    } else if (c->n_under == 0) {
        c->state = found ? CS_INDEX_HEADER : CS_INDEX_UNKNOWN;
    } else if (all_7th && c->chars[0]) {
        c->state = CS_INDEX_NEEDS_7TH;
        c->placeholder = klen < 6 ? s_placeholder(ix, code.key, klen) : NULL;
        if (!found) {
            c->code = s_dup(ix->res, code.display, strlen(code.display));
        }
    } else {
        c->state = CS_INDEX_HEADER;
    }
    if (c->state != CS_INDEX_NEEDS_7TH) {
        c->chars[0] = '\0';
    }
}

/* ---- rows ---- */

static const char *const s_code_attrs[] = {"code", "manif", "subcat", "see_cat"};

/* The table a key belongs to (by its letter), or -1. */
static int s_table_of_key(const char *key)
{
    for (int t = 0; t < CS_INDEX_TABLES; t++) {
        if (key[0] == cs_index_table_letter(t)) {
            return t;
        }
    }
    return -1;
}

/* Read table t's root: its title (returned, or NULL when the set lacks the table) and
 * column headings (into ix->heads[t]). */
static const char *s_read_root(s_ix_t *ix, int t)
{
    const char *root = cs_index_table_root(t);
    cs_entry_t e;
    ix->heads_read |= 1u << t;
    if (s_get(ix, ix->set, CS_CLASS_CHAPTER, root, strlen(root), &e, 0) != CS_OK) {
        return NULL;
    }
    const uint8_t *pos = e.attrs;
    cs_span_t n, v;
    for (uint16_t i = 0; i < e.n_attrs && cs_entry_attr_next(&e, &pos, &n, &v); i++) {
        if (n.len == 5 && memcmp(n.ptr, "head", 4) == 0 && n.ptr[4] >= '1' && n.ptr[4] <= '9') {
            ix->heads[t][n.ptr[4] - '0'] = s_dup_span(ix->res, v);
        }
    }
    return s_dup_span(ix->res, e.title);
}

/* The row for the term at key, appended to res->rows (NULL when it cannot be read). */
static cs_index_row_t *s_row(s_ix_t *ix, const char *key, size_t klen)
{
    cs_index_result_t *res = ix->res;
    if (res->n_rows == ix->cap_rows) {
        size_t cap = ix->cap_rows ? ix->cap_rows * 2 : 32;
        cs_index_row_t *rows = realloc(res->rows, cap * sizeof *rows);
        if (!rows) {
            return NULL;
        }
        res->rows = rows;
        ix->cap_rows = cap;
    }
    cs_entry_t e;
    if (s_get(ix, ix->set, CS_CLASS_CODE, key, klen, &e, 0) != CS_OK) {
        return NULL;
    }
    cs_index_row_t *row = &res->rows[res->n_rows++];
    memset(row, 0, sizeof *row);
    row->key = s_dup(res, key, klen);
    row->table = s_table_of_key(row->key);
    const char *const *heads = row->table >= 0 ? ix->heads[row->table] : NULL;
    if (heads && !(ix->heads_read >> row->table & 1)) {
        s_read_root(ix, row->table);
    }
    row->kind = s_dup_span(res, e.kind);
    row->title = s_dup_span(res, e.title);
    const uint8_t *pos = e.terms;
    cs_span_t t;
    while (row->n_path <= CS_INDEX_MAX_LEVEL && row->n_path < e.n_terms &&
           cs_entry_term_next(&e, &pos, &t)) {
        row->path[row->n_path++] = s_dup_span(res, t);
    }
    pos = e.attrs;
    cs_span_t n, v;
    for (uint16_t i = 0; i < e.n_attrs && cs_entry_attr_next(&e, &pos, &n, &v); i++) {
        const char *val = s_dup_span(res, v);
        const char *name = s_dup_span(res, n);
        int is_code = n.len > 4 && memcmp(n.ptr, "cell", 4) == 0;
        for (size_t j = 0; j < sizeof s_code_attrs / sizeof s_code_attrs[0]; j++) {
            is_code |= strcmp(name, s_code_attrs[j]) == 0;
        }
        if (is_code && row->n_items < CS_INDEX_ITEMS_MAX) {
            cs_index_code_t *c = &row->items[row->n_items++];
            c->name = name;
            c->text = val;
            if (name[0] == 'c' && name[1] == 'e') {
                c->col = (uint8_t)(name[4] - '0');
                c->head = heads && c->col <= CS_INDEX_MAX_COLS ? heads[c->col] : NULL;
            }
            s_state(ix, c);
        } else if (strcmp(name, "nemod") == 0) {
            row->nemod = val;
        } else if (strcmp(name, "see") == 0) {
            row->see = val;
        } else if (strcmp(name, "see_also") == 0) {
            row->see_also = val;
        } else if (strcmp(name, "warning") == 0) {
            row->warning = val;
        }
    }
    uint8_t ck[CS_KEY_MAX];
    size_t cl = cs_key_children(ck, ix->set, CS_CLASS_CODE, key, klen);
    cs_val_t kk, vv;
    row->has_subterms = cl && cs_reader_seek(ix->r, CS_DB_CHILDREN, ck, cl, &kk, &vv) == CS_OK &&
                        kk.len > cl && memcmp(kk.data, ck, cl) == 0;
    return row;
}

/* ---- children and matching titles ---- */

typedef int (*s_child_fn)(s_ix_t *ix, void *arg, const char *key, size_t klen);

/* Call fn on each child (class code) of (cls, key) in order until it returns non-zero;
 * returns that value, or 0. */
static int s_children(s_ix_t *ix, uint8_t cls, const char *key, size_t klen, s_child_fn fn,
                      void *arg)
{
    uint8_t ck[CS_KEY_MAX];
    size_t cl = cs_key_children(ck, ix->set, cls, key, klen);
    cs_val_t kk, v;
    int rc = cl ? cs_reader_seek(ix->r, CS_DB_CHILDREN, ck, cl, &kk, &v) : CS_ENOTFOUND;
    for (; rc == CS_OK; rc = cs_reader_next(ix->r, CS_DB_CHILDREN, &kk, &v)) {
        if (kk.len < cl || memcmp(kk.data, ck, cl) != 0) {
            return 0;
        }
        const char *child = (const char *)v.data + 1;
        if (v.len < 2 || ((const uint8_t *)v.data)[0] != CS_CLASS_CODE) {
            continue;
        }
        int stop = fn(ix, arg, child, v.len - 1);
        if (stop) {
            return stop;
        }
    }
    return 0;
}

/* Fold text: all of it (essential 0), or its words outside parentheses (essential 1). */
static size_t s_fold(const char *text, size_t len, int essential, char *out, size_t cap)
{
    cs_fold_iter_t it;
    cs_fold_iter_init(&it, text, len);
    char w[CS_FOLD_WORD_MAX + 1];
    size_t wl, o = 0;
    int paren;
    while (cs_fold_next(&it, w, &wl, &paren)) {
        if ((essential && paren) || o + wl + 2 > cap) {
            continue;
        }
        if (o) {
            out[o++] = ' ';
        }
        memcpy(out + o, w, wl);
        o += wl;
    }
    out[o] = '\0';
    return o;
}

/* A folded title with a final "nec" or "nos" (not elsewhere classified / specified) taken
 * off: "Copper (dust) (fumes) NEC" is what "see Copper" names. Returns the new length. */
static size_t s_strip_nec(char *f, size_t n)
{
    if (n > 4 && (strcmp(f + n - 4, " nec") == 0 || strcmp(f + n - 4, " nos") == 0)) {
        n -= 4;
        f[n] = '\0';
    }
    return n;
}

/* Does title answer want (its folded whole, and its folded words outside parentheses)? The
 * title's whole folded text, its essential words (with or without a final NEC or NOS), or
 * the part before its first comma ("Disease, diseased" answers "Disease"). */
static int s_title_answers(const char *title, size_t tl, const char *want, const char *want_ess)
{
    char f[512];
    s_fold(title, tl, 0, f, sizeof f);
    if (strcmp(f, want) == 0) {
        return 1;
    }
    size_t n = s_fold(title, tl, 1, f, sizeof f);
    if (strcmp(f, want) == 0 || strcmp(f, want_ess) == 0) {
        return 1;
    }
    s_strip_nec(f, n);
    if (strcmp(f, want) == 0 || strcmp(f, want_ess) == 0) {
        return 1;
    }
    const char *comma = memchr(title, ',', tl);
    if (!comma) {
        return 0;
    }
    s_fold(title, (size_t)(comma - title), 1, f, sizeof f);
    return strcmp(f, want) == 0 || strcmp(f, want_ess) == 0;
}

/* Could title answer a want starting with w (folded)? Every rule of s_title_answers and the
 * start-of-title match keeps the title's first word first, so an ASCII letter or digit there
 * that differs from w rules it out (anything else is left to the full test). */
static int s_may_answer(cs_span_t title, char w)
{
    if (title.len == 0) {
        return 1;
    }
    char c = title.ptr[0];
    if (c >= 'A' && c <= 'Z') {
        c = (char)(c - 'A' + 'a');
    }
    int plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    int wplain = (w >= 'a' && w <= 'z') || (w >= '0' && w <= '9');
    return !plain || !wplain || c == w;
}

typedef struct s_find {
    const char *want;        /* folded */
    const char *want_ess;    /* folded, words in parentheses left out */
    size_t want_ess_len;
    char key[CS_CODE_MAX];   /* the child whose title answers */
    char near[CS_CODE_MAX];  /* else the shortest whose essential words start with want's */
    size_t near_len;         /* its essential words' length; 0: none */
} s_find_t;

static int s_find_fn(s_ix_t *ix, void *arg, const char *key, size_t klen)
{
    s_find_t *f = arg;
    cs_entry_t e;
    if (klen >= sizeof f->key || s_get(ix, ix->set, CS_CLASS_CODE, key, klen, &e, 1) != CS_OK) {
        return 0;
    }
    if (!s_may_answer(e.title, f->want[0])) {
        return 0; /* most main terms of a table: folding them all took milliseconds */
    }
    if (s_title_answers(e.title.ptr, e.title.len, f->want, f->want_ess)) {
        memcpy(f->key, key, klen);
        f->key[klen] = '\0';
        return 1;
    }
    /* "streetcar" for "streetcar occupant": whole words, the shortest title first */
    char ess[512];
    size_t n = s_fold(e.title.ptr, e.title.len, 1, ess, sizeof ess);
    if (f->want_ess_len && n > f->want_ess_len && ess[f->want_ess_len] == ' ' &&
        memcmp(ess, f->want_ess, f->want_ess_len) == 0 && (!f->near_len || n < f->near_len)) {
        memcpy(f->near, key, klen);
        f->near[klen] = '\0';
        f->near_len = n;
    }
    return 0;
}

/* The child of (cls, parent) whose title answers text, else the shortest whose title starts
 * with text's words; its key into out (CS_CODE_MAX). */
static int s_child_named(s_ix_t *ix, uint8_t cls, const char *parent, const char *text,
                         size_t len, char *out)
{
    char want[512], want_ess[512];
    s_find_t f = {.want = want, .want_ess = want_ess};
    f.want_ess_len = s_fold(text, len, 1, want_ess, sizeof want_ess);
    if (s_fold(text, len, 0, want, sizeof want) == 0) {
        return 0;
    }
    if (s_children(ix, cls, parent, strlen(parent), s_find_fn, &f)) {
        memcpy(out, f.key, sizeof f.key);
        return 1;
    }
    if (f.near_len) {
        memcpy(out, f.near, sizeof f.near);
        return 1;
    }
    return 0;
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
static void s_doc_range(s_ix_t *ix, uint32_t *lo, uint32_t *hi)
{
    cs_entry_t e;
    *lo = 0;
    *hi = UINT32_MAX;
    if (s_get(ix, ix->set, CS_CLASS_CHAPTER, ix->root, strlen(ix->root), &e, 0) == CS_OK) {
        *lo = s_u32(s_attr(&e, "first_doc"));
    }
    for (int t = 0; t < CS_INDEX_TABLES; t++) {
        const char *root = cs_index_table_root(t);
        if (strcmp(root, ix->root) != 0 &&
            s_get(ix, ix->set, CS_CLASS_CHAPTER, root, strlen(root), &e, 0) == CS_OK) {
            uint32_t first = s_u32(s_attr(&e, "first_doc"));
            if (first > *lo && first < *hi) {
                *hi = first;
            }
        }
    }
}

static cs_proto_err_t s_by_words(s_ix_t *ix)
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
        cs_index_row_t *row = s_row(ix, sr->hits[i].key, strlen(sr->hits[i].key));
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

static int s_page_fn(s_ix_t *ix, void *arg, const char *key, size_t klen)
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
static void s_list(s_ix_t *ix, uint8_t cls, const char *key)
{
    s_page_t *p = calloc(1, sizeof *p);
    if (!p) {
        return;
    }
    s_children(ix, cls, key, strlen(key), s_page_fn, p);
    ix->res->total = p->seen;
    for (size_t i = 0; i < p->n; i++) {
        s_row(ix, p->keys[i], strlen(p->keys[i]));
    }
    free(p);
}

static cs_proto_err_t s_by_path(s_ix_t *ix)
{
    const cs_index_query_t *q = ix->q;
    char at[CS_CODE_MAX];
    snprintf(at, sizeof at, "%s", ix->root);
    uint8_t cls = CS_CLASS_CHAPTER;
    ix->res->by_path = 1;
    for (uint32_t i = 0; i < q->n_path; i++) {
        char next[CS_CODE_MAX];
        if (!s_child_named(ix, cls, at, q->path[i].ptr, q->path[i].len, next)) {
            break;
        }
        memcpy(at, next, sizeof at);
        cls = CS_CLASS_CODE;
        ix->res->matched++;
    }
    if (ix->res->matched == q->n_path) {
        s_row(ix, at, strlen(at));
    }
    s_list(ix, cls, at);
    return CS_PERR_NONE;
}

/* A term by its key: the term, then its subterms; found (matched 1) when the table holds it. */
static cs_proto_err_t s_by_key(s_ix_t *ix)
{
    const cs_str_t *k = &ix->q->key;
    ix->res->by_path = 1;
    char key[CS_CODE_MAX];
    cs_entry_t e;
    if (k->len >= sizeof key || !cs_index_key_ok(k->ptr, k->len) ||
        k->ptr[0] != cs_index_table_letter(ix->res->table) ||
        s_get(ix, ix->set, CS_CLASS_CODE, k->ptr, k->len, &e, 1) != CS_OK) {
        return CS_PERR_NONE; /* found: false, no rows */
    }
    memcpy(key, k->ptr, k->len);
    key[k->len] = '\0';
    ix->res->matched = 1;
    s_row(ix, key, k->len);
    s_list(ix, CS_CLASS_CODE, key);
    return CS_PERR_NONE;
}

/* ---- following see and see also ---- */

/* The term a reference names ("Accident, transport, car occupant"): main term, then subterms,
 * each part (split at commas) matched as one title or as the start of one. The key of the
 * deepest term reached into out; 2 when every part was matched, 1 when only some were ("by
 * site"), 0 when not even the main term is found. */
static int s_resolve_ref(s_ix_t *ix, const char *root, const char *ref, char *out)
{
    const char *parts[16];
    size_t lens[16], n = 0;
    for (const char *p = ref; *p && n < 16;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        parts[n] = p;
        lens[n++] = l;
        p += l + (c ? 1 : 0);
    }
    char at[CS_CODE_MAX];
    snprintf(at, sizeof at, "%s", root);
    uint8_t cls = CS_CLASS_CHAPTER;
    size_t i = 0;
    int found = 0;
    while (i < n) {
        /* the longest run of parts that is one title ("Fall, falling"), else one part */
        size_t j = n;
        char next[CS_CODE_MAX];
        for (; j > i; j--) {
            size_t len = (size_t)(parts[j - 1] + lens[j - 1] - parts[i]);
            if (s_child_named(ix, cls, at, parts[i], len, next)) {
                break;
            }
        }
        if (j == i) {
            break;
        }
        memcpy(at, next, sizeof at);
        cls = CS_CLASS_CODE;
        found = 1;
        i = j;
    }
    if (found) {
        memcpy(out, at, CS_CODE_MAX);
    }
    return found ? (i == n ? 2 : 1) : 0;
}

/* References that name another table first: "see Table of Drugs and Chemicals, lead" looks
 * up lead in the drug table; the name alone names the whole table. */
static const struct {
    const char *name;
    int table;
} s_table_refs[] = {
    {"Table of Drugs and Chemicals", CS_INDEX_T_DRUG},
    {"Index to Diseases and Injuries", CS_INDEX_T_INDEX},
    {"Index to disease", CS_INDEX_T_INDEX},
    {"External Cause of Injuries Index", CS_INDEX_T_EINDEX},
};

/* A reference from a row of table t: in the table it names first, else in t, else ("see
 * Neoplasm, malignant, by site" in the Index to Diseases) in the Neoplasm Table. As
 * s_resolve_ref, and 3 when it names a whole table (*table_out says which). */
static int s_resolve_ref_from(s_ix_t *ix, int t, const char *ref, char *out, int *table_out)
{
    for (size_t i = 0; i < sizeof s_table_refs / sizeof s_table_refs[0]; i++) {
        size_t n = strlen(s_table_refs[i].name);
        if (strncasecmp(ref, s_table_refs[i].name, n) == 0 && (!ref[n] || ref[n] == ',')) {
            *table_out = s_table_refs[i].table;
            const char *rest = ref[n] ? ref + n + 1 : "";
            while (*rest == ' ') {
                rest++;
            }
            return *rest ? s_resolve_ref(ix, cs_index_table_root(*table_out), rest, out) : 3;
        }
    }
    int got = s_resolve_ref(ix, cs_index_table_root(t), ref, out);
    if (!got && t != CS_INDEX_T_NEOPLASM && strncmp(ref, "Neoplasm", 8) == 0) {
        got = s_resolve_ref(ix, CS_INDEX_ROOT_NEOPLASM, ref, out);
    }
    return got;
}

static int s_in_rows(const cs_index_result_t *res, const char *key)
{
    for (size_t i = 0; i < res->n_rows; i++) {
        if (strcmp(res->rows[i].key, key) == 0) {
            return 1;
        }
    }
    return 0;
}

static void s_unfollowed(s_ix_t *ix, const char *from, const char *via, const char *ref,
                         const char *why)
{
    cs_index_result_t *res = ix->res;
    if (res->n_unfollowed < CS_INDEX_FOLLOW_MAX) {
        res->unfollowed[res->n_unfollowed++] =
            (cs_index_unfollowed_t){.from = from, .via = via, .ref = ref, .why = why};
    }
}

/* Follow the see and see also of rows[from, to); returns how many were followed. */
static size_t s_follow_rows(s_ix_t *ix, size_t from, size_t to, size_t *budget)
{
    cs_index_result_t *res = ix->res;
    size_t added = 0;
    for (size_t i = from; i < to; i++) {
        for (int v = 0; v < 2; v++) {
            const char *ref = v ? res->rows[i].see_also : res->rows[i].see;
            const char *via = v ? "see_also" : "see";
            const char *key = res->rows[i].key;
            char target[CS_CODE_MAX];
            if (!ref) {
                continue;
            }
            int got = 0, table = -1;
            if (*budget == 0) {
                s_unfollowed(ix, key, via, ref, "limit");
            } else if (!(got = s_resolve_ref_from(ix, res->rows[i].table, ref, target,
                                                  &table))) {
                s_unfollowed(ix, key, via, ref, "not_found");
            } else if (got == 3) {
                s_unfollowed(ix, key, via, ref, cs_index_table_name(table));
            } else if (s_in_rows(res, target)) {
                s_unfollowed(ix, key, via, ref, "cycle");
            } else {
                (*budget)--;
                cs_index_row_t *row = s_row(ix, target, strlen(target));
                if (row) {
                    row->via = via;
                    row->from = key; /* an arena string: stable across the realloc */
                    row->ref = ref;
                    row->partial = got == 1;
                    added++;
                }
            }
        }
    }
    return added;
}

static void s_follow(s_ix_t *ix)
{
    size_t budget = CS_INDEX_FOLLOW_MAX, from = 0;
    for (int depth = 0; depth < CS_INDEX_FOLLOW_DEPTH; depth++) {
        size_t to = ix->res->n_rows;
        if (s_follow_rows(ix, from, to, &budget) == 0) {
            break;
        }
        from = to;
    }
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

static cs_proto_err_t s_open(s_ix_t *ix, cs_store_t *store, const cs_plugin_host_t *plugins)
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
static cs_proto_err_t s_open_table(s_ix_t *ix)
{
    cs_index_result_t *res = ix->res;
    ix->root = cs_index_table_root(res->table);
    res->table_title = s_read_root(ix, res->table);
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
    s_ix_t ix = {.r = r, .res = res, .q = &qq};
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
        s_follow(&ix);
    }
    return e;
}
