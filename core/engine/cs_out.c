/* cs_out.c: what every writer shares: UTF-8 repair of echoed text, the reply's envelope, and
 * the records written as trees (PROTOCOL.md's field order, which the wire bytes depend on). */
#include "engine/cs_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cs_utf8.h"

static const char *const s_reasons[] = {
    [CS_REASON_VALID] = "valid",
    [CS_REASON_MALFORMED] = "malformed",
    [CS_REASON_UNKNOWN] = "unknown",
    [CS_REASON_NOT_BILLABLE] = "not_billable",
    [CS_REASON_NOT_EFFECTIVE] = "not_effective",
};

const char *cs_reason_name(cs_reason_t r)
{
    return (unsigned)r < sizeof s_reasons / sizeof s_reasons[0] ? s_reasons[r] : "unknown";
}

/* s[0..n) with each ill-formed part replaced by U+FFFD; s[0..good) is well-formed. Rare (a
 * client sent bytes that are not UTF-8), so it may allocate. */
static void s_str_repaired(cs_out_t *o, const char *s, size_t n, size_t good)
{
    size_t len = cs_utf8_repaired_len(s, n, good);
    char stack[512];
    char *buf = len <= sizeof stack ? stack : malloc(len);
    if (buf == NULL) {
        o->ops->str(o, "", 0); /* keeps the reply's shape; the text is lost, not the reply */
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t at = 0, run = 0; /* run: start of the well-formed run being gathered */
    for (size_t i = good; i < n;) {
        int ok;
        size_t step = cs_utf8_step(p + i, n - i, &ok);
        if (!ok) {
            memcpy(buf + at, s + run, i - run);
            at += i - run;
            memcpy(buf + at, CS_UTF8_REPLACEMENT, CS_UTF8_REPLACEMENT_LEN);
            at += CS_UTF8_REPLACEMENT_LEN;
            run = i + step;
        }
        i += step;
    }
    memcpy(buf + at, s + run, n - run);
    o->ops->str(o, buf, at + n - run);
    if (buf != stack) {
        free(buf);
    }
}

void cs_out_strn(cs_out_t *o, const char *s, size_t n)
{
    if (s == NULL) {
        n = 0;
    }
    if (n > UINT32_MAX) {
        n = UINT32_MAX;
    }
    /* A reply echoes client bytes (codes, labels, messages quoting them): a str in a reply is
     * always UTF-8, so a strict decoder reads every reply. */
    size_t good = n ? cs_utf8_end(s, n, 1) : 0;
    if (good < n) {
        s_str_repaired(o, s, n, good);
        return;
    }
    o->ops->str(o, n ? s : "", n);
}

void cs_reply_begin(cs_out_t *o, const cs_request_t *req, int ok, uint32_t n_keys)
{
    int has_id = req != NULL && req->has_id;
    o->ops->map(o, n_keys + 1 + (has_id ? 1 : 0));
    cs_out_kv_bool(o, "ok", ok);
    if (has_id) {
        cs_out_cstr(o, "id");
        o->ops->id(o, &req->id);
    }
}

void cs_reply_error(cs_out_t *o, const cs_request_t *req, cs_proto_err_t e, const char *message)
{
    cs_reply_begin(o, req, 0, 1);
    cs_out_cstr(o, "error");
    o->ops->map(o, 2);
    cs_out_kv_str(o, "code", cs_proto_errname(e));
    cs_out_kv_str(o, "message", message ? message : cs_proto_errname(e));
}

cs_proto_err_t cs_reply_errorf(cs_out_t *o, const cs_request_t *req, cs_proto_err_t e,
                               const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cs_reply_error(o, req, e, msg);
    return e;
}

static void s_span_list(cs_out_t *o, const char *key, const cs_span_t *list, uint32_t n)
{
    cs_out_cstr(o, key);
    o->ops->array(o, n);
    for (uint32_t i = 0; i < n; i++) {
        cs_out_span(o, list[i]);
    }
}

/* The pairs every result opens with: the input, then the code when there is one. */
static void s_validation_head(cs_out_t *o, const cs_validation_t *v, uint32_t n_pairs)
{
    o->ops->map(o, n_pairs);
    cs_out_cstr(o, "input");
    cs_out_span(o, v->input);
    if (v->reason != CS_REASON_MALFORMED) {
        cs_out_cstr(o, "code");
        cs_out_span(o, v->code);
    }
}

void cs_out_validation_tree(cs_out_t *o, const cs_validation_t *v)
{
    switch (v->reason) {
    case CS_REASON_VALID:
        s_validation_head(o, v, 5);
        cs_out_kv_bool(o, "valid", 1);
        cs_out_kv_bool(o, "billable", 1);
        cs_out_cstr(o, "title");
        cs_out_span(o, v->title);
        return;
    case CS_REASON_MALFORMED:
    case CS_REASON_UNKNOWN:
        s_validation_head(o, v, v->reason == CS_REASON_MALFORMED ? 4 : 5);
        cs_out_kv_bool(o, "valid", 0);
        cs_out_kv_str(o, "reason", cs_reason_name(v->reason));
        cs_out_kv_str(o, "message", v->message);
        return;
    case CS_REASON_NOT_BILLABLE:
        s_validation_head(o, v, 7);
        cs_out_kv_bool(o, "valid", 0);
        cs_out_kv_str(o, "reason", "not_billable");
        cs_out_cstr(o, "kind");
        cs_out_span(o, v->kind);
        cs_out_kv_str(o, "message", v->message);
        s_span_list(o, "hint", v->hint, v->n_hint);
        return;
    case CS_REASON_NOT_EFFECTIVE:
        s_validation_head(o, v, 7);
        cs_out_kv_bool(o, "valid", 0);
        cs_out_kv_str(o, "reason", "not_effective");
        cs_out_kv_str(o, "message", v->message);
        cs_out_cstr(o, "valid_in");
        o->ops->array(o, v->n_valid_in);
        for (uint32_t i = 0; i < v->n_valid_in; i++) {
            cs_out_cstr(o, v->valid_in[i]);
        }
        s_span_list(o, "replaced_by", v->replaced_by, v->n_replaced_by);
        return;
    }
}

void cs_out_hit_tree(cs_out_t *o, const cs_hit_t *h)
{
    o->ops->map(o, 4);
    cs_out_cstr(o, "code");
    cs_out_span(o, h->code);
    cs_out_cstr(o, "title");
    cs_out_span(o, h->title);
    cs_out_kv_bool(o, "billable", h->billable);
    cs_out_kv_int(o, "score", h->score);
}

void cs_out_lookup_head_tree(cs_out_t *o, const cs_request_t *req, const cs_lookup_head_t *h)
{
    cs_reply_begin(o, req, 1, h->n_keys);
    cs_out_kv_bool(o, "found", 1);
    cs_out_cstr(o, "code");
    cs_out_span(o, h->code);
    cs_out_cstr(o, "system");
    cs_out_span(o, h->system);
    cs_out_cstr(o, "release");
    cs_out_span(o, h->release);
    cs_out_cstr(o, "kind");
    cs_out_span(o, h->kind);
    cs_out_kv_bool(o, "billable", h->billable);
    cs_out_cstr(o, "title");
    cs_out_span(o, h->title);
    cs_out_cstr(o, "parent");
    if (h->parent.ptr) {
        cs_out_span(o, h->parent);
    } else {
        cs_out_nil(o);
    }
    if (h->short_title.len) {
        cs_out_cstr(o, "short");
        cs_out_span(o, h->short_title);
    }
    if (h->input.ptr) {
        cs_out_cstr(o, "input");
        cs_out_span(o, h->input);
    }
}
