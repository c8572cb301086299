/* cs_out_msgpack.c: the result interface over msgpack_packer.
 *
 * Integers go through msgpack_pack_int64, which picks the shortest form, as the handlers'
 * packing always did; the id is echoed with the bytes it came in. */
#include "wire/cs_out_msgpack.h"

#include <string.h>

#include "util/cs_utf8.h"

static msgpack_packer *s_pk(cs_out_t *o)
{
    return ((cs_out_msgpack_t *)o)->pk;
}

static void s_map(cs_out_t *o, uint32_t n)
{
    msgpack_pack_map(s_pk(o), n);
}

static void s_array(cs_out_t *o, uint32_t n)
{
    msgpack_pack_array(s_pk(o), n);
}

static void s_str(cs_out_t *o, const char *s, size_t n)
{
    if (n < 32) {
        /* a fixstr (keys, codes, most values): its header and bytes in one write */
        msgpack_packer *pk = s_pk(o);
        char buf[32];
        buf[0] = (char)(0xa0u | (unsigned)n);
        if (n > 0) {
            memcpy(buf + 1, s, n);
        }
        pk->callback(pk->data, buf, n + 1);
        return;
    }
    msgpack_pack_str(s_pk(o), n);
    if (n > 0) {
        msgpack_pack_str_body(s_pk(o), s, n);
    }
}

static void s_i64(cs_out_t *o, int64_t v)
{
    msgpack_pack_int64(s_pk(o), v);
}

static void s_f64(cs_out_t *o, double v)
{
    msgpack_pack_double(s_pk(o), v);
}

static void s_bool(cs_out_t *o, int v)
{
    if (v) {
        msgpack_pack_true(s_pk(o));
    } else {
        msgpack_pack_false(s_pk(o));
    }
}

static void s_nil(cs_out_t *o)
{
    msgpack_pack_nil(s_pk(o));
}

static void s_id(cs_out_t *o, const cs_scalar_t *id)
{
    msgpack_packer *pk = s_pk(o);
    switch (id->type) {
    case CS_SCALAR_NIL: msgpack_pack_nil(pk); return;
    case CS_SCALAR_BOOL: s_bool(o, id->via.b); return;
    case CS_SCALAR_UINT: msgpack_pack_uint64(pk, id->via.u); return;
    case CS_SCALAR_INT: msgpack_pack_int64(pk, id->via.i); return;
    case CS_SCALAR_F32: msgpack_pack_float(pk, (float)id->via.f); return;
    case CS_SCALAR_F64: msgpack_pack_double(pk, id->via.f); return;
    case CS_SCALAR_STR:
        if (cs_utf8_end(id->via.s.ptr, id->via.s.len, 1) == id->via.s.len) {
            s_str(o, id->via.s.ptr, id->via.s.len);
            return;
        }
        /* as bin, byte for byte: repaired, it could no longer be matched to its request */
        /* fall through */
    case CS_SCALAR_BIN:
        msgpack_pack_bin(pk, id->via.s.len);
        msgpack_pack_bin_body(pk, id->via.s.ptr, id->via.s.len);
        return;
    }
}

static size_t s_mark(cs_out_t *o)
{
    msgpack_packer *pk = s_pk(o);
    return pk->callback == msgpack_sbuffer_write ? ((const msgpack_sbuffer *)pk->data)->size : 0;
}

static void s_rewind(cs_out_t *o, size_t mark)
{
    msgpack_packer *pk = s_pk(o);
    if (pk->callback == msgpack_sbuffer_write && mark <= ((msgpack_sbuffer *)pk->data)->size) {
        ((msgpack_sbuffer *)pk->data)->size = mark;
    }
}

/* A str header and its bytes at p, as msgpack_pack_str writes them (fixstr, str8, str16);
 * returns the end. The caller keeps n below 65,536. */
static unsigned char *s_put_str(unsigned char *p, const char *s, size_t n)
{
    if (n < 32) {
        *p++ = (unsigned char)(0xa0 | n);
    } else if (n < 256) {
        *p++ = 0xd9;
        *p++ = (unsigned char)n;
    } else {
        *p++ = 0xda;
        *p++ = (unsigned char)(n >> 8);
        *p++ = (unsigned char)n;
    }
    if (n) {
        memcpy(p, s, n);
    }
    return p + n;
}

/* A valid result is the one a batch writes by the thousand: the same bytes as its tree, in
 * one write (the packer's per-call work was a tenth of a worker's time). */
static void s_validation(cs_out_t *o, const cs_validation_t *v)
{
    static const char k_input[] = "\x85\xa5input";
    static const char k_code[] = "\xa4" "code";
    static const char k_rest[] = "\xa5valid\xc3\xa8" "billable\xc3\xa5title";
    unsigned char buf[768];
    if (v->reason != CS_REASON_VALID ||
        sizeof k_input + sizeof k_code + sizeof k_rest + 9 + v->input.len + v->code.len +
                v->title.len > sizeof buf ||
        !cs_utf8_ascii(v->input.ptr, v->input.len) || !cs_utf8_ascii(v->code.ptr, v->code.len) ||
        !cs_utf8_ascii(v->title.ptr, v->title.len)) {
        cs_out_validation_tree(o, v);
        return;
    }
    unsigned char *p = buf;
    memcpy(p, k_input, sizeof k_input - 1);
    p = s_put_str(p + sizeof k_input - 1, v->input.ptr, v->input.len);
    memcpy(p, k_code, sizeof k_code - 1);
    p = s_put_str(p + sizeof k_code - 1, v->code.ptr, v->code.len);
    memcpy(p, k_rest, sizeof k_rest - 1);
    p = s_put_str(p + sizeof k_rest - 1, v->title.ptr, v->title.len);
    msgpack_packer *pk = s_pk(o);
    pk->callback(pk->data, (const char *)buf, (size_t)(p - buf));
}

/* A map header as msgpack_pack_map writes it (fixmap, map16); n below 65,536. */
static unsigned char *s_put_map(unsigned char *p, uint32_t n)
{
    if (n < 16) {
        *p++ = (unsigned char)(0x80 | n);
    } else {
        *p++ = 0xde;
        *p++ = (unsigned char)(n >> 8);
        *p++ = (unsigned char)n;
    }
    return p;
}

/* A key (a literal of fewer than 32 bytes, with its fixstr header) then a str value. */
#define S_KV(p, key, span) \
    (memcpy((p), key, sizeof key - 1), s_put_str((p) + sizeof key - 1, (span).ptr, (span).len))

/* A lookup's opening is what a batch of lookups writes by the hundred: the same bytes as its
 * tree, in one write (or two around an id), when every text is ASCII (so well-formed: the
 * tree would write it unchanged) and fits. */
static void s_lookup_head(cs_out_t *o, const cs_request_t *req, const cs_lookup_head_t *h)
{
    const cs_span_t *texts[] = {&h->code,   &h->system, &h->release,     &h->kind,
                                &h->title,  &h->parent, &h->short_title, &h->input};
    size_t total = 0;
    int ascii = h->n_keys < 65000;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        total += texts[i]->len;
        ascii = ascii && texts[i]->len < 65536 && cs_utf8_ascii(texts[i]->ptr, texts[i]->len);
    }
    unsigned char buf[1024];
    if (!ascii || total > sizeof buf - 128) {
        cs_out_lookup_head_tree(o, req, h);
        return;
    }
    msgpack_packer *pk = s_pk(o);
    int has_id = req != NULL && req->has_id;
    unsigned char *p = s_put_map(buf, h->n_keys + 1 + (has_id ? 1 : 0));
    memcpy(p, "\xa2ok\xc3", 4);
    p += 4;
    if (has_id) {
        memcpy(p, "\xa2id", 3);
        pk->callback(pk->data, (const char *)buf, (size_t)(p + 3 - buf));
        s_id(o, &req->id);
        p = buf;
    }
    memcpy(p, "\xa5" "found\xc3", 7);
    p = S_KV(p + 7, "\xa4" "code", h->code);
    p = S_KV(p, "\xa6system", h->system);
    p = S_KV(p, "\xa7release", h->release);
    p = S_KV(p, "\xa4kind", h->kind);
    memcpy(p, "\xa8" "billable", 9);
    p[9] = h->billable ? 0xc3 : 0xc2;
    p = S_KV(p + 10, "\xa5title", h->title);
    memcpy(p, "\xa6parent", 7);
    p += 7;
    if (h->parent.ptr) {
        p = s_put_str(p, h->parent.ptr, h->parent.len);
    } else {
        *p++ = 0xc0;
    }
    if (h->short_title.len) {
        p = S_KV(p, "\xa5short", h->short_title);
    }
    if (h->input.ptr) {
        p = S_KV(p, "\xa5input", h->input);
    }
    pk->callback(pk->data, (const char *)buf, (size_t)(p - buf));
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
    .validation = s_validation,
    .hit = cs_out_hit_tree,
    .lookup_head = s_lookup_head,
};

cs_out_t *cs_out_msgpack_init(cs_out_msgpack_t *w, msgpack_packer *pk)
{
    w->out.ops = &s_ops;
    w->pk = pk;
    return &w->out;
}
