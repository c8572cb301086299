/* cs_out_typed.c: the typed writer (engine/cs_out_typed.h).
 *
 * While a reply is written, texts go into one growing buffer and the structs hold offsets
 * into it (in their pointer fields); cs_out_typed_finish turns the offsets into pointers once
 * the buffer has stopped moving. */
#include "engine/cs_out_typed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)CS_DB_NOT_EFFECTIVE == (int)CS_REASON_NOT_EFFECTIVE &&
                   (int)CS_DB_MALFORMED == (int)CS_REASON_MALFORMED,
               "codeset.h's reasons are the engine's, in the same order");

enum { S_WANT_NONE, S_WANT_RELEASE, S_WANT_MESSAGE, S_WANT_TOTAL };

static cs_out_typed_t *s_t(cs_out_t *o)
{
    return (cs_out_typed_t *)o;
}

static int s_grow(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return 1;
    }
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        n *= 2;
    }
    void *p = realloc(*buf, n * size);
    if (!p) {
        return 0;
    }
    *buf = p;
    *cap = n;
    return 1;
}

/* A copy of s[0..n) in the text buffer, as an offset (see the file's comment). */
static cs_db_str_t s_keep(cs_out_typed_t *t, const char *s, size_t n)
{
    cs_db_str_t r = {NULL, 0};
    if (t->nomem || !s_grow((void **)&t->text, &t->text_cap, t->text_len + n + 1, 1)) {
        t->nomem = 1;
        return r;
    }
    if (n) {
        memcpy(t->text + t->text_len, s, n);
    }
    t->text[t->text_len + n] = '\0';
    r.ptr = (const char *)(uintptr_t)t->text_len;
    r.len = n;
    t->text_len += n + 1;
    return r;
}

static cs_db_str_t s_keep_span(cs_out_typed_t *t, cs_span_t s)
{
    return s_keep(t, s.ptr, s.len);
}

/* One more item written in the current container; containers that are full close. */
static void s_item(cs_out_typed_t *t)
{
    while (t->depth > 0) {
        if (t->left[t->depth - 1] > 0) {
            t->left[t->depth - 1]--;
        }
        if (t->left[t->depth - 1] > 0) {
            return;
        }
        t->depth--; /* the container is complete: it counts as one item of its parent */
    }
}

/* 1 when the next write is a map's key. */
static int s_at_key(const cs_out_typed_t *t)
{
    return t->depth > 0 && t->is_map[t->depth - 1] && t->left[t->depth - 1] % 2 == 0;
}

static void s_open(cs_out_typed_t *t, uint32_t items, int is_map)
{
    t->want = S_WANT_NONE;
    if (items == 0) {
        s_item(t);
        return;
    }
    if (t->depth == CS_OUT_TYPED_DEPTH) {
        t->nomem = 1; /* deeper than any reply the engine writes */
        return;
    }
    t->left[t->depth] = items;
    t->is_map[t->depth] = (unsigned char)is_map;
    t->depth++;
}

static void s_map(cs_out_t *o, uint32_t n)
{
    s_open(s_t(o), n > UINT32_MAX / 2 ? UINT32_MAX : 2 * n, 1);
}

static void s_array(cs_out_t *o, uint32_t n)
{
    s_open(s_t(o), n, 0);
}

static void s_str(cs_out_t *o, const char *s, size_t n)
{
    cs_out_typed_t *t = s_t(o);
    if (s_at_key(t)) {
        t->want = n == 7 && memcmp(s, "release", 7) == 0 && t->depth == 1 ? S_WANT_RELEASE
                  : n == 7 && memcmp(s, "message", 7) == 0              ? S_WANT_MESSAGE
                  : n == 5 && memcmp(s, "total", 5) == 0 && t->depth == 1 ? S_WANT_TOTAL
                                                                          : S_WANT_NONE;
    } else if (t->want == S_WANT_RELEASE) {
        t->release = s_keep(t, s, n);
        t->want = S_WANT_NONE;
    } else if (t->want == S_WANT_MESSAGE) {
        t->message = s_keep(t, s, n);
        t->want = S_WANT_NONE;
    }
    s_item(t);
}

static void s_i64(cs_out_t *o, int64_t v)
{
    cs_out_typed_t *t = s_t(o);
    if (t->want == S_WANT_TOTAL) {
        t->total = v;
    }
    t->want = S_WANT_NONE;
    s_item(t);
}

static void s_scalar(cs_out_t *o)
{
    s_t(o)->want = S_WANT_NONE;
    s_item(s_t(o));
}

static void s_f64(cs_out_t *o, double v)
{
    (void)v;
    s_scalar(o);
}

static void s_bool(cs_out_t *o, int v)
{
    (void)v;
    s_scalar(o);
}

static void s_id(cs_out_t *o, const cs_scalar_t *id)
{
    (void)id;
    s_scalar(o);
}

static size_t s_mark(cs_out_t *o)
{
    (void)o;
    return 0;
}

/* Only a reply's start is ever marked: going back there is forgetting the reply. */
static void s_rewind(cs_out_t *o, size_t mark)
{
    (void)mark;
    cs_out_typed_reset(s_t(o));
}

/* n spans (or n C strings when cstrs is set) kept as a list; returns its first index. */
static size_t s_list(cs_out_typed_t *t, const cs_span_t *spans, const char *const *cstrs,
                     uint32_t n)
{
    size_t at = t->n_lists;
    if (t->nomem || !s_grow((void **)&t->lists, &t->lists_cap, at + n + 1, sizeof *t->lists)) {
        t->nomem = 1;
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        t->lists[t->n_lists++] = cstrs ? s_keep(t, cstrs[i], strlen(cstrs[i]))
                                       : s_keep_span(t, spans[i]);
    }
    return at;
}

static void s_validation(cs_out_t *o, const cs_validation_t *v)
{
    cs_out_typed_t *t = s_t(o);
    s_item(t);
    if (t->nomem ||
        !s_grow((void **)&t->results, &t->results_cap, t->n_results + 1, sizeof *t->results)) {
        t->nomem = 1;
        return;
    }
    cs_db_result_t *r = &t->results[t->n_results++];
    memset(r, 0, sizeof *r);
    r->valid = v->reason == CS_REASON_VALID;
    r->reason = (cs_db_reason_t)v->reason; /* the same order (codeset.h) */
    r->input = s_keep_span(t, v->input);
    r->code = s_keep_span(t, v->code);
    r->title = s_keep_span(t, v->title);
    r->kind = s_keep_span(t, v->kind);
    r->message = v->message ? s_keep(t, v->message, strlen(v->message)) : s_keep(t, "", 0);
    r->hint = (const cs_db_str_t *)(uintptr_t)s_list(t, v->hint, NULL, v->n_hint);
    r->n_hint = v->n_hint;
    r->valid_in = (const cs_db_str_t *)(uintptr_t)s_list(t, NULL, v->valid_in, v->n_valid_in);
    r->n_valid_in = v->n_valid_in;
    r->replaced_by =
        (const cs_db_str_t *)(uintptr_t)s_list(t, v->replaced_by, NULL, v->n_replaced_by);
    r->n_replaced_by = v->n_replaced_by;
}

static void s_hit(cs_out_t *o, const cs_hit_t *h)
{
    cs_out_typed_t *t = s_t(o);
    s_item(t);
    if (t->nomem || !s_grow((void **)&t->hits, &t->hits_cap, t->n_hits + 1, sizeof *t->hits)) {
        t->nomem = 1;
        return;
    }
    cs_db_hit_t *d = &t->hits[t->n_hits++];
    d->code = s_keep_span(t, h->code);
    d->title = s_keep_span(t, h->title);
    d->billable = h->billable;
    d->score = h->score;
}

static const cs_out_ops_t s_ops = {
    .map = s_map,
    .array = s_array,
    .str = s_str,
    .i64 = s_i64,
    .f64 = s_f64,
    .boolean = s_bool,
    .nil = s_scalar,
    .id = s_id,
    .mark = s_mark,
    .rewind = s_rewind,
    .validation = s_validation,
    .hit = s_hit,
};

cs_out_t *cs_out_typed_init(cs_out_typed_t *t)
{
    memset(t, 0, sizeof *t);
    t->out.ops = &s_ops;
    return &t->out;
}

void cs_out_typed_reset(cs_out_typed_t *t)
{
    t->n_results = t->n_hits = t->n_lists = t->text_len = 0;
    t->release = t->message = (cs_db_str_t){NULL, 0};
    t->total = 0;
    t->nomem = 0;
    t->depth = 0;
    t->want = S_WANT_NONE;
}

/* An offset made a pointer; an empty text reads "" whatever it held. */
static void s_fix(const cs_out_typed_t *t, cs_db_str_t *s)
{
    s->ptr = s->len ? t->text + (uintptr_t)s->ptr : "";
}

static const cs_db_str_t *s_fix_list(cs_out_typed_t *t, const cs_db_str_t *at, size_t n)
{
    return n ? t->lists + (uintptr_t)at : NULL;
}

int cs_out_typed_finish(cs_out_typed_t *t)
{
    if (t->nomem) {
        return CS_ENOMEM;
    }
    for (size_t i = 0; i < t->n_lists; i++) {
        s_fix(t, &t->lists[i]);
    }
    for (size_t i = 0; i < t->n_results; i++) {
        cs_db_result_t *r = &t->results[i];
        s_fix(t, &r->input);
        s_fix(t, &r->code);
        s_fix(t, &r->title);
        s_fix(t, &r->kind);
        s_fix(t, &r->message);
        r->hint = s_fix_list(t, r->hint, r->n_hint);
        r->valid_in = s_fix_list(t, r->valid_in, r->n_valid_in);
        r->replaced_by = s_fix_list(t, r->replaced_by, r->n_replaced_by);
    }
    for (size_t i = 0; i < t->n_hits; i++) {
        s_fix(t, &t->hits[i].code);
        s_fix(t, &t->hits[i].title);
    }
    s_fix(t, &t->release);
    s_fix(t, &t->message);
    return CS_OK;
}

void cs_out_typed_free(cs_out_typed_t *t)
{
    free(t->text);
    free(t->lists);
    free(t->results);
    free(t->hits);
    cs_out_typed_init(t);
}
