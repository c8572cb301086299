/* cs_out_json.c: the result interface written as JSON text (cs_out_json.h). */
#include "wire/cs_out_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_W(o) ((cs_out_json_t *)(o))

/* ---- the buffer ---- */

static void s_fail(cs_out_json_t *w, int status)
{
    if (w->status == CS_OK) {
        w->status = status;
    }
}

/* Room for n more bytes and the NUL; 0 when there is none (status set). */
static int s_reserve(cs_out_json_t *w, size_t n)
{
    if (w->status != CS_OK) {
        return 0;
    }
    if (n > SIZE_MAX / 2 - w->len || (w->limit && w->len + n > w->limit)) {
        s_fail(w, CS_ENOMEM);
        return 0;
    }
    size_t need = w->len + n + 1;
    if (need <= w->cap) {
        return 1;
    }
    size_t cap = w->cap ? w->cap : 256;
    while (cap < need) {
        cap *= 2;
    }
    char *p = realloc(w->buf, cap);
    if (p == NULL) {
        s_fail(w, CS_ENOMEM);
        return 0;
    }
    w->buf = p;
    w->cap = cap;
    return 1;
}

static void s_put(cs_out_json_t *w, const char *s, size_t n)
{
    if (s_reserve(w, n)) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
    }
}

static void s_putc(cs_out_json_t *w, char c)
{
    s_put(w, &c, 1);
}

/* ---- the container stack ---- */

/* Where the next element goes: 1 in a map's key position. */
static int s_at_key(const cs_out_json_t *w)
{
    const cs_out_json_level_t *l = w->depth ? &w->stack[w->depth - 1] : NULL;
    return l && l->is_map && (l->total - l->left) % 2 == 0;
}

/* Before an element: the comma or nothing; 0 when no element may come here. */
static int s_before(cs_out_json_t *w)
{
    if (w->status != CS_OK) {
        return 0;
    }
    if (w->depth == 0) {
        if (w->done) {
            s_fail(w, CS_EINVAL); /* a second top-level value */
            return 0;
        }
        return 1;
    }
    const cs_out_json_level_t *l = &w->stack[w->depth - 1];
    if (l->left < l->total && (!l->is_map || (l->total - l->left) % 2 == 0)) {
        s_putc(w, ',');
    }
    return w->status == CS_OK;
}

/* After an element: the colon after a key, and the ends of the containers it completes. */
static void s_after(cs_out_json_t *w)
{
    while (w->status == CS_OK && w->depth > 0) {
        cs_out_json_level_t *l = &w->stack[w->depth - 1];
        l->left--;
        if (l->left > 0) {
            if (l->is_map && (l->total - l->left) % 2 == 1) {
                s_putc(w, ':');
            }
            return;
        }
        s_putc(w, l->is_map ? '}' : ']');
        w->depth--; /* the closed container is an element of its parent: go on up */
    }
    if (w->depth == 0) {
        w->done = 1;
    }
}

static void s_open(cs_out_json_t *w, int is_map, uint32_t n)
{
    if (s_at_key(w)) {
        s_fail(w, CS_EINVAL); /* a container cannot be a key */
        return;
    }
    if (!s_before(w)) {
        return;
    }
    uint64_t elems = is_map ? (uint64_t)n * 2 : n;
    if (elems == 0) {
        s_put(w, is_map ? "{}" : "[]", 2);
        s_after(w);
        return;
    }
    if (w->depth >= CS_OUT_JSON_MAX_DEPTH || elems > UINT32_MAX) {
        s_fail(w, CS_EINVAL);
        return;
    }
    s_putc(w, is_map ? '{' : '[');
    w->stack[w->depth++] = (cs_out_json_level_t){(uint32_t)elems, (uint32_t)elems, (uint8_t)is_map};
}

/* A scalar's text: quoted in a key position so the text stays JSON. */
static void s_scalar(cs_out_json_t *w, const char *text, size_t n)
{
    int key = s_at_key(w);
    if (!s_before(w)) {
        return;
    }
    if (key) {
        s_putc(w, '"');
    }
    s_put(w, text, n);
    if (key) {
        s_putc(w, '"');
    }
    s_after(w);
}

/* ---- the ops ---- */

static void s_map(cs_out_t *o, uint32_t n)
{
    s_open(S_W(o), 1, n);
}

static void s_array(cs_out_t *o, uint32_t n)
{
    s_open(S_W(o), 0, n);
}

/* s[0..n) quoted and escaped. */
static void s_quoted(cs_out_json_t *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    s_putc(w, '"');
    size_t run = 0; /* start of the bytes passed through as they are */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        s_put(w, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0};
        size_t elen = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        s_put(w, esc, elen);
    }
    s_put(w, s + run, n - run);
    s_putc(w, '"');
}

static void s_str(cs_out_t *o, const char *s, size_t n)
{
    cs_out_json_t *w = S_W(o);
    if (!s_before(w)) {
        return;
    }
    s_quoted(w, s ? s : "", s ? n : 0);
    s_after(w);
}

static void s_i64(cs_out_t *o, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRId64, v);
    s_scalar(S_W(o), num, (size_t)n);
}

static void s_u64(cs_out_json_t *w, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRIu64, v);
    s_scalar(w, num, (size_t)n);
}

static void s_f64(cs_out_t *o, double v)
{
    if (!isfinite(v)) {
        s_scalar(S_W(o), "null", 4);
        return;
    }
    char num[40];
    int n = snprintf(num, sizeof num, "%.15g", v);
    if (strtod(num, NULL) != v) {
        n = snprintf(num, sizeof num, "%.17g", v);
    }
    if (strpbrk(num, ".eE") == NULL) {
        memcpy(num + n, ".0", 3); /* a whole number still reads back as a float */
        n += 2;
    }
    s_scalar(S_W(o), num, (size_t)n);
}

static void s_boolean(cs_out_t *o, int v)
{
    s_scalar(S_W(o), v ? "true" : "false", v ? 4 : 5);
}

static void s_nil(cs_out_t *o)
{
    s_scalar(S_W(o), "null", 4);
}

static void s_id(cs_out_t *o, const cs_scalar_t *id)
{
    switch (id->type) {
    case CS_SCALAR_NIL: s_nil(o); return;
    case CS_SCALAR_BOOL: s_boolean(o, id->via.b); return;
    case CS_SCALAR_UINT: s_u64(S_W(o), id->via.u); return;
    case CS_SCALAR_INT: s_i64(o, id->via.i); return;
    case CS_SCALAR_F32:
    case CS_SCALAR_F64: s_f64(o, id->via.f); return;
    case CS_SCALAR_STR:
    case CS_SCALAR_BIN: cs_out_strn(o, id->via.s.ptr, id->via.s.len); return;
    }
    s_nil(o);
}

/* The ring slot of the i-th mark taken. */
static cs_out_json_mark_t *s_slot(cs_out_json_t *w, unsigned i)
{
    return &w->marks[i % CS_OUT_JSON_MARKS];
}

static size_t s_mark(cs_out_t *o)
{
    cs_out_json_t *w = S_W(o);
    cs_out_json_mark_t *m = s_slot(w, w->n_marks++);
    m->len = w->len;
    m->depth = w->depth;
    m->done = w->done;
    memcpy(m->stack, w->stack, w->depth * sizeof w->stack[0]);
    return w->len;
}

static void s_rewind(cs_out_t *o, size_t at)
{
    cs_out_json_t *w = S_W(o);
    if (w->status != CS_OK) {
        return;
    }
    /* the newest kept mark at that length: marks taken later are dropped with the text */
    unsigned kept = w->n_marks < CS_OUT_JSON_MARKS ? w->n_marks : CS_OUT_JSON_MARKS;
    for (unsigned k = 0; k < kept; k++) {
        unsigned i = w->n_marks - 1 - k;
        const cs_out_json_mark_t *m = s_slot(w, i);
        if (m->len == at) {
            w->len = m->len;
            if (w->buf) {
                w->buf[w->len] = '\0';
            }
            w->depth = m->depth;
            w->done = m->done;
            memcpy(w->stack, m->stack, m->depth * sizeof w->stack[0]);
            w->n_marks = i + 1;
            return;
        }
    }
    s_fail(w, CS_EINVAL);
}

static const cs_out_ops_t s_ops = {
    .map = s_map,
    .array = s_array,
    .str = s_str,
    .i64 = s_i64,
    .f64 = s_f64,
    .boolean = s_boolean,
    .nil = s_nil,
    .id = s_id,
    .mark = s_mark,
    .rewind = s_rewind,
    .validation = cs_out_validation_tree,
    .hit = cs_out_hit_tree,
};

/* ---- the writer ---- */

cs_out_t *cs_out_json_init(cs_out_json_t *w)
{
    memset(w, 0, sizeof *w);
    w->out.ops = &s_ops;
    w->status = CS_OK;
    return &w->out;
}

void cs_out_json_set_limit(cs_out_json_t *w, size_t limit)
{
    w->limit = limit;
}

void cs_out_json_reset(cs_out_json_t *w)
{
    w->len = 0;
    if (w->buf) {
        w->buf[0] = '\0';
    }
    w->status = CS_OK;
    w->done = 0;
    w->depth = 0;
    w->n_marks = 0;
}

const char *cs_out_json_data(const cs_out_json_t *w)
{
    return w->buf ? w->buf : "";
}

size_t cs_out_json_len(const cs_out_json_t *w)
{
    return w->len;
}

int cs_out_json_status(const cs_out_json_t *w)
{
    return w->status;
}

int cs_out_json_complete(const cs_out_json_t *w)
{
    return w->status == CS_OK && w->done && w->depth == 0;
}

void cs_out_json_free(cs_out_json_t *w)
{
    free(w->buf);
    cs_out_json_init(w);
}
