/* cs_entry.c: stored entry records. */
#include "store/cs_entry.h"

#include <stdlib.h>
#include <string.h>

void cs_buf_reset(cs_buf_t *b)
{
    b->len = 0;
    b->failed = 0;
}

void cs_buf_free(cs_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void s_reserve(cs_buf_t *b, size_t more)
{
    if (b->failed || b->len + more <= b->cap) {
        return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) {
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return;
    }
    b->data = p;
    b->cap = cap;
}

static void s_u8(cs_buf_t *b, unsigned v)
{
    s_reserve(b, 1);
    if (!b->failed) {
        b->data[b->len++] = (uint8_t)v;
    }
}

static void s_u16(cs_buf_t *b, unsigned v)
{
    s_u8(b, (v >> 8) & 0xff);
    s_u8(b, v & 0xff);
}

static void s_u32(cs_buf_t *b, uint32_t v)
{
    s_u16(b, (v >> 16) & 0xffff);
    s_u16(b, v & 0xffff);
}

/* Cut at most max bytes without splitting a UTF-8 sequence. */
static size_t s_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
        n--;
    }
    return n;
}

static void s_str(cs_buf_t *b, const char *s, int wide)
{
    size_t len = s ? strlen(s) : 0;
    len = s_cut(s ? s : "", len, wide ? 0xFFFF : 0xFF);
    if (wide) {
        s_u16(b, (unsigned)len);
    } else {
        s_u8(b, (unsigned)len);
    }
    s_reserve(b, len);
    if (!b->failed && len) {
        memcpy(b->data + b->len, s, len);
        b->len += len;
    }
}

void cs_buf_u8(cs_buf_t *b, unsigned v)
{
    s_u8(b, v);
}

void cs_buf_str(cs_buf_t *b, const char *s, int wide)
{
    s_str(b, s, wide);
}

int cs_entry_encode(cs_buf_t *b, const cs_record_t *rec, const cs_code_t *self,
                    const cs_code_t *parent)
{
    cs_buf_reset(b);
    s_u8(b, CS_ENTRY_VERSION);
    s_u8(b, rec->billable ? 1 : 0);
    s_u8(b, rec->cls);
    s_u8(b, parent ? rec->parent_cls : 0);
    /* rec is always a whole 1.1 record here: the host widens older ones. */
    s_u32(b, rec->valid_from > 0 ? (uint32_t)rec->valid_from : 0);
    s_u32(b, rec->valid_to > 0 ? (uint32_t)rec->valid_to : 0);
    s_str(b, self->display, 0);
    s_str(b, parent ? parent->key : NULL, 0);
    s_str(b, parent ? parent->display : NULL, 0);
    s_str(b, rec->kind, 0);
    s_str(b, rec->title, 1);
    s_str(b, rec->short_title, 1);
    size_t n_notes = rec->n_notes > 0xFFFF ? 0xFFFF : rec->n_notes;
    s_u16(b, (unsigned)n_notes);
    for (size_t i = 0; i < n_notes; i++) {
        s_str(b, rec->notes[i].type, 0);
        s_str(b, rec->notes[i].label, 0);
        s_str(b, rec->notes[i].text, 1);
    }
    size_t n_terms = rec->n_terms > 0xFFFF ? 0xFFFF : rec->n_terms;
    s_u16(b, (unsigned)n_terms);
    for (size_t i = 0; i < n_terms; i++) {
        s_str(b, rec->terms[i], 1);
    }
    size_t n_attrs = rec->attrs ? (rec->n_attrs > 0xFFFF ? 0xFFFF : rec->n_attrs) : 0;
    s_u16(b, (unsigned)n_attrs);
    for (size_t i = 0; i < n_attrs; i++) {
        s_str(b, rec->attrs[i].name, 0);
        s_str(b, rec->attrs[i].value, 1);
    }
    return b->failed ? CS_ENOMEM : CS_OK;
}

typedef struct s_rd {
    const uint8_t *p;
    const uint8_t *end;
    int bad;
} s_rd_t;

static unsigned s_rd_u8(s_rd_t *r)
{
    if (r->bad || r->p + 1 > r->end) {
        r->bad = 1;
        return 0;
    }
    return *r->p++;
}

static unsigned s_rd_u16(s_rd_t *r)
{
    unsigned hi = s_rd_u8(r);
    return hi << 8 | s_rd_u8(r);
}

static cs_span_t s_rd_str(s_rd_t *r, int wide)
{
    cs_span_t s = {"", 0};
    size_t len = wide ? s_rd_u16(r) : s_rd_u8(r);
    if (r->bad || (size_t)(r->end - r->p) < len) {
        r->bad = 1;
        return s;
    }
    s.ptr = (const char *)r->p;
    s.len = len;
    r->p += len;
    return s;
}

static uint32_t s_rd_u32(s_rd_t *r)
{
    uint32_t hi = s_rd_u16(r);
    return hi << 16 | s_rd_u16(r);
}

/* One text of a head at *p (a 1-byte length, or 2 when wide, then the bytes); 0 when it runs
 * past end. */
static inline int s_head_text(const uint8_t **p, const uint8_t *end, int wide, cs_span_t *out)
{
    const uint8_t *q = *p;
    if (end - q < 1 + wide) {
        return 0;
    }
    size_t len = wide ? (size_t)q[0] << 8 | q[1] : q[0];
    q += 1 + wide;
    if ((size_t)(end - q) < len) {
        return 0;
    }
    *out = (cs_span_t){(const char *)q, len};
    *p = q + len;
    return 1;
}

/* Version 3's head (the layout every current load writes) read in place: its 12 fixed bytes at
 * once and each text's length checked once, where the byte reader checks every byte. A
 * code index probe decodes a head per lookup, and this took most of its time. 1 when read;
 * 0 when r holds another version or too few bytes (s_decode_head then reads it as before). */
static int s_decode_head_v3(s_rd_t *r, cs_entry_t *out)
{
    const uint8_t *p = r->p;
    if (r->end - p < 12 || p[0] != 3) {
        return 0;
    }
    out->billable = p[1] & 1;
    out->cls = p[2];
    out->parent_cls = p[3];
    out->valid_from = (int32_t)((uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
                                (uint32_t)p[6] << 8 | p[7]);
    out->valid_to = (int32_t)((uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
                              (uint32_t)p[10] << 8 | p[11]);
    p += 12;
    if (!s_head_text(&p, r->end, 0, &out->display) ||
        !s_head_text(&p, r->end, 0, &out->parent_key) ||
        !s_head_text(&p, r->end, 0, &out->parent) || !s_head_text(&p, r->end, 0, &out->kind) ||
        !s_head_text(&p, r->end, 1, &out->title) ||
        !s_head_text(&p, r->end, 1, &out->short_title)) {
        return 0;
    }
    r->p = p;
    return 1;
}

/* The fields every decode reads; *version gets the layout version. */
static void s_decode_head(s_rd_t *r, cs_entry_t *out, unsigned *version)
{
    if (s_decode_head_v3(r, out)) {
        *version = 3;
        return;
    }
    *version = s_rd_u8(r);
    if (*version < 1 || *version > CS_ENTRY_VERSION) {
        r->bad = 1;
        return;
    }
    out->billable = s_rd_u8(r) & 1;
    out->cls = (uint8_t)s_rd_u8(r);
    out->parent_cls = (uint8_t)s_rd_u8(r);
    if (*version >= 3) {
        out->valid_from = (int32_t)s_rd_u32(r);
        out->valid_to = (int32_t)s_rd_u32(r);
    }
    out->display = s_rd_str(r, 0);
    out->parent_key = s_rd_str(r, 0);
    out->parent = s_rd_str(r, 0);
    out->kind = s_rd_str(r, 0);
    out->title = s_rd_str(r, 1);
    out->short_title = s_rd_str(r, 1);
}

int cs_entry_decode(const void *val, size_t len, cs_entry_t *out)
{
    s_rd_t r = {.p = val, .end = (const uint8_t *)val + len, .bad = 0};
    memset(out, 0, sizeof *out);
    unsigned version;
    s_decode_head(&r, out, &version);
    if (r.bad) {
        return CS_EMALFORMED;
    }
    out->n_notes = (uint16_t)s_rd_u16(&r);
    out->notes = r.p;
    for (unsigned i = 0; i < out->n_notes && !r.bad; i++) {
        s_rd_str(&r, 0);
        s_rd_str(&r, 0);
        s_rd_str(&r, 1);
    }
    out->n_terms = (uint16_t)s_rd_u16(&r);
    out->terms = r.p;
    for (unsigned i = 0; i < out->n_terms && !r.bad; i++) {
        s_rd_str(&r, 1);
    }
    out->terms_end = r.p;
    out->attrs = out->attrs_end = r.p;
    if (version >= 2) {
        out->n_attrs = (uint16_t)s_rd_u16(&r);
        out->attrs = r.p;
        for (unsigned i = 0; i < out->n_attrs && !r.bad; i++) {
            s_rd_str(&r, 0);
            s_rd_str(&r, 1);
        }
        out->attrs_end = r.p;
    }
    if (version == 2) {
        out->valid_from = (int32_t)s_rd_u32(&r);
        out->valid_to = (int32_t)s_rd_u32(&r);
    }
    out->end = r.end;
    return r.bad ? CS_EMALFORMED : CS_OK;
}

int cs_entry_decode_head(const void *val, size_t len, cs_entry_t *out)
{
    s_rd_t r = {.p = val, .end = (const uint8_t *)val + len, .bad = 0};
    memset(out, 0, sizeof *out);
    unsigned version;
    s_decode_head(&r, out, &version);
    if (!r.bad && version == 2) {
        return cs_entry_decode(val, len, out); /* its dates are at the end */
    }
    out->notes = out->terms = out->terms_end = out->attrs = out->attrs_end = r.p;
    out->end = r.end;
    return r.bad ? CS_EMALFORMED : CS_OK;
}

int cs_entry_note_next(const cs_entry_t *e, const uint8_t **pos, cs_span_t *type,
                       cs_span_t *label, cs_span_t *text)
{
    if (*pos < e->notes || *pos >= e->terms - 2) {
        return 0;
    }
    s_rd_t r = {.p = *pos, .end = e->terms - 2, .bad = 0};
    *type = s_rd_str(&r, 0);
    *label = s_rd_str(&r, 0);
    *text = s_rd_str(&r, 1);
    if (r.bad) {
        return 0;
    }
    *pos = r.p;
    return 1;
}

int cs_entry_term_next(const cs_entry_t *e, const uint8_t **pos, cs_span_t *term)
{
    if (*pos < e->terms || *pos >= e->terms_end) {
        return 0;
    }
    s_rd_t r = {.p = *pos, .end = e->terms_end, .bad = 0};
    *term = s_rd_str(&r, 1);
    if (r.bad) {
        return 0;
    }
    *pos = r.p;
    return 1;
}

int cs_entry_attr_next(const cs_entry_t *e, const uint8_t **pos, cs_span_t *name,
                       cs_span_t *value)
{
    if (*pos < e->attrs || *pos >= e->attrs_end) {
        return 0;
    }
    s_rd_t r = {.p = *pos, .end = e->attrs_end, .bad = 0};
    uint32_t off = 0;
    if (e->attr_pool) {
        if (e->attrs_end - *pos < (ptrdiff_t)sizeof off) {
            return 0;
        }
        memcpy(&off, *pos, sizeof off);
        if (off >= (size_t)(e->attr_pool_end - e->attr_pool)) {
            return 0;
        }
        r = (s_rd_t){.p = e->attr_pool + off, .end = e->attr_pool_end, .bad = 0};
    }
    *name = s_rd_str(&r, 0);
    *value = s_rd_str(&r, 1);
    if (r.bad) {
        return 0;
    }
    *pos = e->attr_pool ? *pos + sizeof off : r.p;
    return 1;
}
