/* cs_proto.c: the wire protocol codec: pre-scan, request decoding and reply packing.
 *
 * A body goes through three gates, each cheaper than the next is dangerous:
 *   1. cs_proto_prescan() walks the raw bytes with a fixed stack and no allocation, so that
 *      msgpack-c never sees a header that asks for more objects than the body could hold;
 *   2. msgpack_unpack_next() builds the tree in the request's zone;
 *   3. s_check_*() hold the tree against the schema of PROTOCOL.md and fill cs_request_t.
 */
#include "wire/cs_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "engine/cs_claim.h"
#include "engine/cs_op.h"
#include "util/cs_date.h"
#include "util/cs_utf8.h"

/* Largest offset kept after clamping; leaves room for offset + limit in any int64 sum. */
#define S_MAX_OFFSET 2147483647

/* ---- pre-scan ----------------------------------------------------------------------------- */

/* Big-endian read of n (1, 2 or 4) bytes; the caller has checked they are there. */
static uint32_t s_be(const unsigned char *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* What one header byte introduces. */
typedef struct s_head {
    const char *what; /* type name for messages */
    unsigned hdr;     /* header bytes, including the type byte */
    unsigned lenb;    /* bytes of big-endian length/count after the type byte (0: none) */
    uint32_t fixed;   /* payload bytes (scalars), or count (fix containers) */
    int kind;         /* S_SCALAR, S_BLOB (length-prefixed payload), S_ARRAY, S_MAP */
} s_head_t;

enum { S_SCALAR, S_BLOB, S_ARRAY, S_MAP, S_RESERVED };

static s_head_t s_classify(unsigned char b)
{
    if (b <= 0x7f || b >= 0xe0) {
        return (s_head_t){"int", 1, 0, 0, S_SCALAR};
    }
    if (b <= 0x8f) {
        return (s_head_t){"map", 1, 0, b & 0x0fu, S_MAP};
    }
    if (b <= 0x9f) {
        return (s_head_t){"array", 1, 0, b & 0x0fu, S_ARRAY};
    }
    if (b <= 0xbf) {
        return (s_head_t){"str", 1, 0, b & 0x1fu, S_SCALAR};
    }
    switch (b) {
    case 0xc0: return (s_head_t){"nil", 1, 0, 0, S_SCALAR};
    case 0xc1: return (s_head_t){"reserved byte 0xc1", 1, 0, 0, S_RESERVED};
    case 0xc2:
    case 0xc3: return (s_head_t){"bool", 1, 0, 0, S_SCALAR};
    case 0xc4: return (s_head_t){"bin8", 2, 1, 0, S_BLOB};
    case 0xc5: return (s_head_t){"bin16", 3, 2, 0, S_BLOB};
    case 0xc6: return (s_head_t){"bin32", 5, 4, 0, S_BLOB};
    case 0xc7: return (s_head_t){"ext8", 3, 1, 0, S_BLOB};
    case 0xc8: return (s_head_t){"ext16", 4, 2, 0, S_BLOB};
    case 0xc9: return (s_head_t){"ext32", 6, 4, 0, S_BLOB};
    case 0xca: return (s_head_t){"float32", 1, 0, 4, S_SCALAR};
    case 0xcb: return (s_head_t){"float64", 1, 0, 8, S_SCALAR};
    case 0xcc: return (s_head_t){"uint8", 1, 0, 1, S_SCALAR};
    case 0xcd: return (s_head_t){"uint16", 1, 0, 2, S_SCALAR};
    case 0xce: return (s_head_t){"uint32", 1, 0, 4, S_SCALAR};
    case 0xcf: return (s_head_t){"uint64", 1, 0, 8, S_SCALAR};
    case 0xd0: return (s_head_t){"int8", 1, 0, 1, S_SCALAR};
    case 0xd1: return (s_head_t){"int16", 1, 0, 2, S_SCALAR};
    case 0xd2: return (s_head_t){"int32", 1, 0, 4, S_SCALAR};
    case 0xd3: return (s_head_t){"int64", 1, 0, 8, S_SCALAR};
    case 0xd4: return (s_head_t){"fixext1", 1, 0, 2, S_SCALAR};
    case 0xd5: return (s_head_t){"fixext2", 1, 0, 3, S_SCALAR};
    case 0xd6: return (s_head_t){"fixext4", 1, 0, 5, S_SCALAR};
    case 0xd7: return (s_head_t){"fixext8", 1, 0, 9, S_SCALAR};
    case 0xd8: return (s_head_t){"fixext16", 1, 0, 17, S_SCALAR};
    case 0xd9: return (s_head_t){"str8", 2, 1, 0, S_BLOB};
    case 0xda: return (s_head_t){"str16", 3, 2, 0, S_BLOB};
    case 0xdb: return (s_head_t){"str32", 5, 4, 0, S_BLOB};
    case 0xdc: return (s_head_t){"array16", 3, 2, 0, S_ARRAY};
    case 0xdd: return (s_head_t){"array32", 5, 4, 0, S_ARRAY};
    case 0xde: return (s_head_t){"map16", 3, 2, 0, S_MAP};
    default: return (s_head_t){"map32", 5, 4, 0, S_MAP};
    }
}

int cs_proto_prescan(const void *body, size_t len, cs_error_t *err)
{
    const unsigned char *p = body;
    uint64_t left[CS_PROTO_MAX_DEPTH]; /* elements still to come in each open container */
    unsigned depth = 0;                /* open containers */
    uint64_t pending = 0;              /* sum of left[]: declared elements not yet read */
    size_t pos = 0;

    if (p == NULL || len == 0) {
        return cs_error_set(err, CS_EMALFORMED, "the request body is empty");
    }
    for (;;) {
        if (pos >= len) {
            return cs_error_set(err, CS_EMALFORMED,
                                "the body ends at byte %zu with %llu elements still declared",
                                len, (unsigned long long)pending);
        }
        if (depth > 0) {
            left[depth - 1]--;
            pending--;
        }
        size_t at = pos;
        size_t rem = len - pos;
        s_head_t h = s_classify(p[pos]);
        if (h.kind == S_RESERVED) {
            return cs_error_set(err, CS_EMALFORMED, "%s at offset %zu", h.what, at);
        }
        if (h.hdr > rem) {
            return cs_error_set(err, CS_EMALFORMED,
                                "%s header at offset %zu needs %u bytes but %zu remain", h.what,
                                at, h.hdr, rem);
        }
        uint32_t n = h.lenb ? s_be(p + pos + 1, h.lenb) : h.fixed;
        pos += h.hdr;
        rem = len - pos;
        if (h.kind == S_SCALAR || h.kind == S_BLOB) {
            uint64_t need = n; /* for ext, hdr already counts the type byte */
            if (need > rem) {
                return cs_error_set(err, CS_EMALFORMED,
                                    "%s at offset %zu declares %llu bytes but %zu remain",
                                    h.what, at, (unsigned long long)need, rem);
            }
            pos += (size_t)need;
        } else {
            const char *unit = h.kind == S_MAP ? "entries" : "elements";
            uint64_t elems = h.kind == S_MAP ? (uint64_t)n * 2 : n;
            if (depth >= CS_PROTO_MAX_DEPTH) {
                return cs_error_set(err, CS_EMALFORMED,
                                    "%s at offset %zu nests deeper than %d levels", h.what, at,
                                    CS_PROTO_MAX_DEPTH);
            }
            if (elems > rem) {
                return cs_error_set(err, CS_EMALFORMED,
                                    "%s at offset %zu claims %lu %s but %zu bytes remain", h.what,
                                    at, (unsigned long)n, unit, rem);
            }
            if (pending + elems > rem) {
                return cs_error_set(err, CS_EMALFORMED,
                                    "%s at offset %zu claims %lu %s, making %llu elements "
                                    "declared in all, but %zu bytes remain",
                                    h.what, at, (unsigned long)n, unit,
                                    (unsigned long long)(pending + elems), rem);
            }
            if (elems > 0) {
                left[depth++] = elems;
                pending += elems;
                continue;
            }
        }
        while (depth > 0 && left[depth - 1] == 0) {
            depth--;
        }
        if (depth == 0) {
            break;
        }
    }
    if (pos != len) {
        return cs_error_set(err, CS_EMALFORMED,
                            "%zu trailing bytes after the request object (offset %zu)",
                            len - pos, pos);
    }
    return CS_OK;
}

/* ---- raw walking (wire/cs_proto_part.c) ---------------------------------------------------- */

int cs_proto_raw_head(const void *body, size_t len, size_t pos, cs_proto_raw_t *out)
{
    const unsigned char *p = body;
    if (pos >= len) {
        return 0;
    }
    unsigned char b = p[pos];
    s_head_t h = s_classify(b);
    if (h.kind == S_RESERVED || h.hdr > len - pos) {
        return 0;
    }
    out->n = h.lenb ? s_be(p + pos + 1, h.lenb) : h.fixed;
    out->data = pos + h.hdr;
    out->kind = h.kind == S_MAP     ? CS_RAW_MAP
                : h.kind == S_ARRAY ? CS_RAW_ARRAY
                : (b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb) ? CS_RAW_STR
                                                                      : CS_RAW_OTHER;
    return out->kind != CS_RAW_STR || out->n <= len - out->data;
}

size_t cs_proto_raw_skip(const void *body, size_t len, size_t pos)
{
    const unsigned char *p = body;
    uint64_t pending = 1; /* objects still to step over; each takes a byte at least */
    while (pending > 0) {
        if (pos >= len) {
            return 0;
        }
        s_head_t h = s_classify(p[pos]);
        if (h.kind == S_RESERVED || h.hdr > len - pos) {
            return 0;
        }
        uint32_t n = h.lenb ? s_be(p + pos + 1, h.lenb) : h.fixed;
        pos += h.hdr;
        pending--;
        if (h.kind == S_MAP || h.kind == S_ARRAY) {
            pending += h.kind == S_MAP ? (uint64_t)n * 2 : n;
        } else if (n > len - pos) {
            return 0;
        } else {
            pos += n; /* a scalar's or a blob's payload (an ext's type byte is in hdr) */
        }
        if (pending > len - pos) {
            return 0;
        }
    }
    return pos;
}

/* ---- request decoding --------------------------------------------------------------------- */

/* A printable, bounded copy of s[0..n) for messages: control and non-ASCII bytes become '?'. */
static const char *s_printable(const char *s, size_t n, char *out, size_t cap)
{
    size_t max = cap - 4;
    size_t o = 0;
    for (size_t i = 0; i < n && o < max; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (n > max) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static const char *s_typename(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "str";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_BIN: return "bin";
    default: return "ext";
    }
}

static cs_proto_err_t s_bad(cs_error_t *err, cs_proto_err_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cs_proto_err_t s_bad(cs_error_t *err, cs_proto_err_t e, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = e == CS_PERR_TOO_MANY ? CS_ETOOMANY : CS_EINVAL;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return e;
}

static cs_str_t s_str_of(const msgpack_object *o)
{
    cs_str_t s = {o->via.str.ptr, o->via.str.size};
    if (s.ptr == NULL) {
        s.ptr = ""; /* present but empty: keep "present" distinguishable from "absent" */
    }
    return s;
}

/* How a value is named in messages: "key" or "key"[i] (i >= 0). Only built on error paths. */
static const char *s_what(const char *key, long idx, char *out, size_t cap)
{
    if (idx < 0) {
        snprintf(out, cap, "\"%s\"", key);
    } else {
        snprintf(out, cap, "\"%s\"[%ld]", key, idx);
    }
    return out;
}

/* A str value: type, length bound and, with no_ctl, no control characters. */
static cs_proto_err_t s_check_str(const msgpack_object *o, const char *key, long idx,
                                  uint32_t max, int no_ctl, cs_str_t *out, cs_error_t *err)
{
    char what[48];
    if (o->type != MSGPACK_OBJECT_STR) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "%s must be a str, not %s",
                     s_what(key, idx, what, sizeof what), s_typename(o));
    }
    if (o->via.str.size > max) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "%s is %lu bytes long (at most %lu)",
                     s_what(key, idx, what, sizeof what), (unsigned long)o->via.str.size,
                     (unsigned long)max);
    }
    if (no_ctl) {
        const unsigned char *p = (const unsigned char *)o->via.str.ptr;
        for (uint32_t i = 0; i < o->via.str.size; i++) {
            if (p[i] < 0x20 || p[i] == 0x7f) {
                return s_bad(err, CS_PERR_BAD_REQUEST,
                             "%s contains a control character (0x%02x at byte %lu)",
                             s_what(key, idx, what, sizeof what), p[i], (unsigned long)i);
            }
        }
    }
    if (out) {
        *out = s_str_of(o);
    }
    return CS_PERR_NONE;
}

/* An array of at most max items, each a str of at most CS_PROTO_MAX_STR bytes. */
static cs_proto_err_t s_check_str_array(const msgpack_object *o, const char *key, uint32_t max,
                                        int no_ctl, cs_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "\"%s\" must be an array of str, not %s", key,
                     s_typename(o));
    }
    if (o->via.array.size > max) {
        return s_bad(err, CS_PERR_TOO_MANY, "\"%s\" holds %lu items (at most %lu)", key,
                     (unsigned long)o->via.array.size, (unsigned long)max);
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        cs_proto_err_t e =
            s_check_str(&o->via.array.ptr[i], key, (long)i, CS_PROTO_MAX_STR, no_ctl, NULL, err);
        if (e != CS_PERR_NONE) {
            return e;
        }
    }
    return CS_PERR_NONE;
}

static cs_proto_err_t s_check_date(const msgpack_object *o, const char *key, int *has, int *out,
                                   cs_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "\"%s\" must be a str YYYY-MM-DD, not %s", key,
                     s_typename(o));
    }
    if (cs_date_parse(o->via.str.ptr, o->via.str.size, out) != CS_OK) {
        char shown[48];
        return s_bad(err, CS_PERR_BAD_REQUEST,
                     "\"%s\" must be a real date written YYYY-MM-DD (got \"%s\")", key,
                     s_printable(o->via.str.ptr, o->via.str.size, shown, sizeof shown));
    }
    *has = 1;
    return CS_PERR_NONE;
}

/* An int key, clamped into [lo, hi] whatever was sent (no overflow). */
static cs_proto_err_t s_check_int(const msgpack_object *o, const char *key, int64_t lo,
                                  int64_t hi, int64_t *out, cs_error_t *err)
{
    int64_t v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        v = o->via.u64 > (uint64_t)hi ? hi : (int64_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
    } else {
        return s_bad(err, CS_PERR_BAD_REQUEST, "\"%s\" must be an int, not %s", key,
                     s_typename(o));
    }
    *out = v < lo ? lo : v;
    return CS_PERR_NONE;
}

/* The id as the engine keeps it: the scalar's type and value, so that it is echoed with the
 * bytes it came in (a float32 stays one). */
static cs_scalar_t s_scalar_of(const msgpack_object *o)
{
    cs_scalar_t v;
    memset(&v, 0, sizeof v);
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN: v.type = CS_SCALAR_BOOL; v.via.b = o->via.boolean; break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v.type = CS_SCALAR_UINT; v.via.u = o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v.type = CS_SCALAR_INT; v.via.i = o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32: v.type = CS_SCALAR_F32; v.via.f = o->via.f64; break;
    case MSGPACK_OBJECT_FLOAT64: v.type = CS_SCALAR_F64; v.via.f = o->via.f64; break;
    case MSGPACK_OBJECT_STR: v.type = CS_SCALAR_STR; v.via.s = s_str_of(o); break;
    case MSGPACK_OBJECT_BIN:
        v.type = CS_SCALAR_BIN;
        v.via.s = (cs_str_t){o->via.bin.ptr, o->via.bin.size};
        break;
    default: v.type = CS_SCALAR_NIL; break;
    }
    return v;
}

/* A checked array of str as the engine reads it: its strings, in the request's zone. */
static cs_proto_err_t s_str_list(cs_request_t *req, const msgpack_object *o,
                                 const cs_str_t **out, uint32_t *n, cs_error_t *err)
{
    uint32_t size = o->via.array.size;
    cs_str_t *list = msgpack_zone_malloc((msgpack_zone *)req->zone_,
                                         (size ? size : 1) * sizeof *list);
    if (list == NULL) {
        cs_error_set(err, CS_ENOMEM, "out of memory decoding the request");
        return CS_PERR_INTERNAL;
    }
    for (uint32_t i = 0; i < size; i++) {
        list[i] = s_str_of(&o->via.array.ptr[i]);
    }
    *out = list;
    *n = size;
    return CS_PERR_NONE;
}

static int s_is_scalar(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_BOOLEAN:
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN: return 1;
    default: return 0;
    }
}


void cs_request_init_reusable(cs_request_t *req)
{
    cs_request_init(req);
    req->reuse_ = 1;
}

/* Reset every decoded field, keeping the zone and the reuse choice. */
static void s_reset(cs_request_t *req)
{
    void *zone = req->zone_;
    int reuse = req->reuse_;
    memset(req, 0, sizeof *req);
    req->zone_ = zone;
    req->reuse_ = reuse;
    req->limit = -1;
}

/* The known keys of a request map, found in one pass. */
typedef struct s_keys {
    const msgpack_object *val[CS_KEY_COUNT_]; /* each known key's value, or NULL */
    long bad_key;                             /* index of the first non-str key, or -1 */
    cs_key_t dup;                             /* the first key given twice */
} s_keys_t;

static void s_scan_keys(const msgpack_object *top, s_keys_t *k)
{
    memset(k, 0, sizeof *k);
    k->bad_key = -1;
    const msgpack_object_kv *kv = top->via.map.ptr;
    for (uint32_t i = 0; i < top->via.map.size; i++) {
        if (kv[i].key.type != MSGPACK_OBJECT_STR) {
            if (k->bad_key < 0) {
                k->bad_key = (long)i;
            }
            continue;
        }
        cs_key_t key = cs_key_find(kv[i].key.via.str.ptr, kv[i].key.via.str.size);
        if (key == CS_KEY_NONE) {
            continue;
        }
        if (k->val[key] != NULL) {
            if (k->dup == CS_KEY_NONE) {
                k->dup = key;
            }
            continue;
        }
        k->val[key] = &kv[i].val;
    }
}

/* "v": absent or this protocol's version. */
static cs_proto_err_t s_check_version(const msgpack_object *v, cs_error_t *err)
{
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER && v->type != MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "\"v\" must be an int, not %s", s_typename(v));
    }
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER || v->via.u64 != CS_PROTO_VERSION) {
        char num[24];
        if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            snprintf(num, sizeof num, "%lld", (long long)v->via.i64);
        } else {
            snprintf(num, sizeof num, "%llu", (unsigned long long)v->via.u64);
        }
        return s_bad(err, CS_PERR_UNSUPPORTED_VERSION,
                     "protocol version %s is not supported (this broker speaks %d)", num,
                     CS_PROTO_VERSION);
    }
    return CS_PERR_NONE;
}

/* What every request needs before its op's keys: the id (read first, so that an error reply
 * can echo it), str keys, the version, the op, no key twice. */
static cs_proto_err_t s_decode_envelope(cs_request_t *req, const msgpack_object *top,
                                        const s_keys_t *k, cs_error_t *err)
{
    const msgpack_object *id = k->val[CS_KEY_ID];
    if (id != NULL) {
        if (!s_is_scalar(id)) {
            return s_bad(err, CS_PERR_BAD_REQUEST,
                         "\"id\" must be a scalar (nil, bool, int, float, str or bin), not %s",
                         s_typename(id));
        }
        req->has_id = 1;
        req->id = s_scalar_of(id);
    }
    if (k->bad_key >= 0) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "key %ld of the request map is %s, not a str",
                     k->bad_key, s_typename(&top->via.map.ptr[k->bad_key].key));
    }
    cs_proto_err_t e = k->val[CS_KEY_V] ? s_check_version(k->val[CS_KEY_V], err) : CS_PERR_NONE;
    if (e != CS_PERR_NONE) {
        return e;
    }
    const msgpack_object *op = k->val[CS_KEY_OP];
    if (op == NULL) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "the request has no \"op\"");
    }
    if (op->type != MSGPACK_OBJECT_STR) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "\"op\" must be a str, not %s", s_typename(op));
    }
    req->op_name = s_str_of(op);
    req->op = cs_op_find(req->op_name.ptr, req->op_name.len);
    if (req->op == CS_OP_UNKNOWN) {
        char shown[72];
        return s_bad(err, CS_PERR_UNKNOWN_OP, "unknown op \"%s\"",
                     s_printable(req->op_name.ptr, req->op_name.len, shown, sizeof shown));
    }
    if (k->dup != CS_KEY_NONE) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "the key \"%s\" appears more than once",
                     cs_key_name(k->dup));
    }
    return CS_PERR_NONE;
}

/* "include": known names set their bits, others are ignored. */
static cs_proto_err_t s_decode_include(cs_request_t *req, const msgpack_object *o,
                                       cs_error_t *err)
{
    cs_proto_err_t e = s_check_str_array(o, "include", UINT32_MAX, 0, err);
    for (uint32_t i = 0; e == CS_PERR_NONE && i < o->via.array.size; i++) {
        cs_str_t s = s_str_of(&o->via.array.ptr[i]);
        if (s.len == 5 && memcmp(s.ptr, "notes", 5) == 0) {
            req->include |= CS_INCLUDE_NOTES;
        } else if (s.len == 8 && memcmp(s.ptr, "children", 8) == 0) {
            req->include |= CS_INCLUDE_CHILDREN;
        } else if (s.len == 9 && memcmp(s.ptr, "ancestors", 9) == 0) {
            req->include |= CS_INCLUDE_ANCESTORS;
        } else if (s.len == 5 && memcmp(s.ptr, "index", 5) == 0) {
            req->include |= CS_INCLUDE_INDEX;
        }
    }
    return e;
}

/* A bool key into *out. */
static cs_proto_err_t s_decode_bool(const msgpack_object *o, const char *key, int *out,
                                    cs_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "\"%s\" must be a bool, not %s", key,
                     s_typename(o));
    }
    *out = o->via.boolean ? 1 : 0;
    return CS_PERR_NONE;
}

/* The str, date and list keys, each checked against its type whatever the op. */
static cs_proto_err_t s_decode_strings(cs_request_t *req, const s_keys_t *k, cs_error_t *err)
{
    cs_proto_err_t e = CS_PERR_NONE;
    for (size_t i = 0; e == CS_PERR_NONE && i < cs_n_str_keys; i++) {
        const msgpack_object *o = k->val[cs_str_keys[i].key];
        if (o != NULL) {
            cs_str_t *field = (cs_str_t *)((char *)req + cs_str_keys[i].field);
            e = s_check_str(o, cs_key_name(cs_str_keys[i].key), -1, cs_str_keys[i].max, 1, field,
                            err);
        }
    }
    if (e == CS_PERR_NONE && k->val[CS_KEY_DATE]) {
        e = s_check_date(k->val[CS_KEY_DATE], "date", &req->has_date, &req->date, err);
    }
    if (e == CS_PERR_NONE && k->val[CS_KEY_EFFECTIVE_FROM]) {
        e = s_check_date(k->val[CS_KEY_EFFECTIVE_FROM], "effective_from",
                         &req->has_effective_from, &req->effective_from, err);
    }
    if (e == CS_PERR_NONE && k->val[CS_KEY_INCLUDE]) {
        e = s_decode_include(req, k->val[CS_KEY_INCLUDE], err);
    }
    return e;
}

static cs_proto_err_t s_decode_items(cs_request_t *req, const msgpack_object *o,
                                     cs_error_t *err);
/* ---- claim and claims: the nested claim shape (engine/cs_claim.h, docs/PROTOCOL.md) ---- */

/* Where a claim's values are named in messages: "" for the claim op, "claims[3]: ". */
typedef struct s_cl {
    cs_request_t *req;
    char pre[32];
    cs_error_t *err;
} s_cl_t;

static void *s_zalloc(cs_request_t *req, size_t n)
{
    void *p = msgpack_zone_malloc((msgpack_zone *)req->zone_, n ? n : 1);
    if (p) {
        memset(p, 0, n ? n : 1);
    }
    return p;
}

/* The value of name in map o, or NULL. */
static const msgpack_object *s_member(const msgpack_object *o, const char *name)
{
    size_t n = strlen(name);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, name, n) == 0) {
            return &o->via.map.ptr[i].val;
        }
    }
    return NULL;
}

/* Where a value of a claim sits, for messages: item idx of list ("diagnoses", 3), or, with
 * idx -1, the map list ("patient"). Named only when a message needs it: a claim holds dozens
 * of values, and formatting each one's name up front cost more than checking them all. */
typedef struct s_cl_at {
    const char *list;
    long idx;
} s_cl_at_t;

/* The name of member name at at: "claims[3]: diagnoses[0].code". */
static const char *s_cl_key(const s_cl_t *c, s_cl_at_t at, const char *name, char *key,
                            size_t cap)
{
    char what[32];
    if (at.idx < 0) {
        snprintf(what, sizeof what, "%s", at.list);
    } else {
        snprintf(what, sizeof what, "%s[%lu]", at.list, (unsigned long)at.idx);
    }
    snprintf(key, cap, "%s%s.%s", c->pre, what, name);
    return key;
}

/* Member name of map o (at names it in messages) as a str of at most max bytes into *out;
 * absent leaves *out empty unless required. */
static cs_proto_err_t s_cl_str(const s_cl_t *c, const msgpack_object *o, s_cl_at_t at,
                               const char *name, uint32_t max, int required, cs_str_t *out)
{
    const msgpack_object *v = s_member(o, name);
    char key[96];
    if (!v) {
        return required ? s_bad(c->err, CS_PERR_BAD_REQUEST, "%s is missing",
                                s_cl_key(c, at, name, key, sizeof key))
                        : CS_PERR_NONE;
    }
    if (s_check_str(v, "", -1, max, 1, out, NULL) == CS_PERR_NONE) {
        return CS_PERR_NONE;
    }
    return s_check_str(v, s_cl_key(c, at, name, key, sizeof key), -1, max, 1, out, c->err);
}

static cs_proto_err_t s_cl_int(const s_cl_t *c, const msgpack_object *o, s_cl_at_t at,
                               const char *name, int64_t lo, int64_t hi, int *has, int64_t *out)
{
    const msgpack_object *v = s_member(o, name);
    char key[96];
    if (!v) {
        return CS_PERR_NONE;
    }
    if ((v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 > (uint64_t)hi) ||
        (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && v->via.i64 < lo)) {
        return s_bad(c->err, CS_PERR_BAD_REQUEST, "%s must be from %lld to %lld",
                     s_cl_key(c, at, name, key, sizeof key), (long long)lo, (long long)hi);
    }
    *has = 1;
    if (s_check_int(v, "", lo, hi, out, NULL) == CS_PERR_NONE) {
        return CS_PERR_NONE;
    }
    return s_check_int(v, s_cl_key(c, at, name, key, sizeof key), lo, hi, out, c->err);
}

/* An array key of the claim (diagnoses, procedures) of at most max maps. */
static cs_proto_err_t s_cl_array(const s_cl_t *c, const msgpack_object *o, const char *key,
                                 uint32_t max)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        return s_bad(c->err, CS_PERR_BAD_REQUEST, "%s\"%s\" must be an array of maps, not %s",
                     c->pre, key, s_typename(o));
    }
    if (o->via.array.size > max) {
        return s_bad(c->err, CS_PERR_TOO_MANY, "%s\"%s\" holds %lu items (at most %lu)", c->pre,
                     key, (unsigned long)o->via.array.size, (unsigned long)max);
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
            return s_bad(c->err, CS_PERR_BAD_REQUEST, "%s\"%s\"[%lu] must be a map, not %s",
                         c->pre, key, (unsigned long)i, s_typename(&o->via.array.ptr[i]));
        }
    }
    return CS_PERR_NONE;
}

static cs_proto_err_t s_cl_diagnoses(const s_cl_t *c, const msgpack_object *o, cs_claim_t *cl)
{
    cs_proto_err_t e = s_cl_array(c, o, "diagnoses", CS_CLAIM_MAX_DX);
    if (e == CS_PERR_NONE && o->via.array.size == 0) {
        e = s_bad(c->err, CS_PERR_BAD_REQUEST, "%s\"diagnoses\" is empty: a claim needs its "
                  "principal or first-listed diagnosis", c->pre);
    }
    cs_claim_dx_t *dx = e == CS_PERR_NONE ? s_zalloc(c->req, o->via.array.size * sizeof *dx)
                                          : NULL;
    for (uint32_t i = 0; dx && e == CS_PERR_NONE && i < o->via.array.size; i++) {
        s_cl_at_t what = {"diagnoses", (long)i};
        e = s_cl_str(c, &o->via.array.ptr[i], what, "code", CS_PROTO_MAX_STR, 1, &dx[i].code);
        if (e == CS_PERR_NONE) {
            e = s_cl_str(c, &o->via.array.ptr[i], what, "poa", 8, 0, &dx[i].poa);
        }
    }
    cl->dx = dx;
    cl->n_dx = dx ? o->via.array.size : 0;
    return e != CS_PERR_NONE || dx ? e : CS_PERR_INTERNAL;
}

static cs_proto_err_t s_cl_modifiers(const s_cl_t *c, const msgpack_object *px,
                                     s_cl_at_t what, cs_claim_px_t *p)
{
    const msgpack_object *m = s_member(px, "modifiers");
    if (!m) {
        return CS_PERR_NONE;
    }
    char key[96];
    cs_proto_err_t e = s_check_str_array(m, "", CS_CLAIM_MAX_MODIFIERS, 1, NULL);
    if (e != CS_PERR_NONE) {
        e = s_check_str_array(m, s_cl_key(c, what, "modifiers", key, sizeof key),
                              CS_CLAIM_MAX_MODIFIERS, 1, c->err);
    }
    for (uint32_t j = 0; e == CS_PERR_NONE && j < m->via.array.size; j++) {
        p->modifiers[j] = s_str_of(&m->via.array.ptr[j]);
    }
    p->n_modifiers = e == CS_PERR_NONE ? m->via.array.size : 0;
    return e;
}

static cs_proto_err_t s_cl_procedures(const s_cl_t *c, const msgpack_object *o, cs_claim_t *cl)
{
    cs_proto_err_t e = s_cl_array(c, o, "procedures", CS_CLAIM_MAX_PX);
    cs_claim_px_t *px = e == CS_PERR_NONE ? s_zalloc(c->req, o->via.array.size * sizeof *px)
                                          : NULL;
    for (uint32_t i = 0; px && e == CS_PERR_NONE && i < o->via.array.size; i++) {
        const msgpack_object *m = &o->via.array.ptr[i];
        s_cl_at_t what = {"procedures", (long)i};
        int has = 0;
        px[i].units = 1;
        e = s_cl_str(c, m, what, "system", CS_PROTO_MAX_STR, 1, &px[i].system);
        if (e == CS_PERR_NONE) {
            e = s_cl_str(c, m, what, "code", CS_PROTO_MAX_STR, 1, &px[i].code);
        }
        if (e == CS_PERR_NONE) {
            e = s_cl_int(c, m, what, "units", 1, 999999, &has, &px[i].units);
        }
        if (e == CS_PERR_NONE) {
            e = s_cl_modifiers(c, m, what, &px[i]);
        }
    }
    cl->px = px;
    cl->n_px = px ? o->via.array.size : 0;
    return e != CS_PERR_NONE || px ? e : CS_PERR_INTERNAL;
}

static cs_proto_err_t s_cl_setting(const s_cl_t *c, const msgpack_object *o, cs_claim_t *cl)
{
    static const char *const names[] = {"inpatient", "outpatient", "professional"};
    char key[48];
    cs_str_t s;
    snprintf(key, sizeof key, "%ssetting", c->pre);
    cs_proto_err_t e = s_check_str(o, key, -1, 32, 1, &s, c->err);
    for (int i = 0; e == CS_PERR_NONE && i < 3; i++) {
        if (s.len == strlen(names[i]) && memcmp(s.ptr, names[i], s.len) == 0) {
            cl->setting = (cs_claim_setting_t)(CS_SETTING_INPATIENT + i);
            return CS_PERR_NONE;
        }
    }
    return e != CS_PERR_NONE ? e : s_bad(c->err, CS_PERR_BAD_REQUEST, "\"%s\" must be "
                                         "inpatient, outpatient or professional", key);
}

static cs_proto_err_t s_cl_patient(const s_cl_t *c, const msgpack_object *o, cs_claim_t *cl)
{
    if (o->type != MSGPACK_OBJECT_MAP) {
        return s_bad(c->err, CS_PERR_BAD_REQUEST, "%s\"patient\" must be a map, not %s", c->pre,
                     s_typename(o));
    }
    int64_t age = 0, days = 0;
    cs_str_t sex = {0};
    const s_cl_at_t patient = {"patient", -1};
    cs_proto_err_t e = s_cl_int(c, o, patient, "age", 0, 150, &cl->has_age, &age);
    if (e == CS_PERR_NONE) {
        e = s_cl_int(c, o, patient, "age_days", 0, 150 * 366, &cl->has_age_days, &days);
    }
    if (e == CS_PERR_NONE) {
        e = s_cl_str(c, o, patient, "sex", 1, 0, &sex);
    }
    if (e == CS_PERR_NONE && sex.ptr && sex.len == 1 &&
        (sex.ptr[0] == 'F' || sex.ptr[0] == 'M' || sex.ptr[0] == 'U')) {
        cl->sex = sex.ptr[0] == 'F' ? CS_SEX_FEMALE : sex.ptr[0] == 'M' ? CS_SEX_MALE
                                                                        : CS_SEX_UNKNOWN;
    } else if (e == CS_PERR_NONE && sex.ptr) {
        e = s_bad(c->err, CS_PERR_BAD_REQUEST, "%spatient.sex must be F, M or U", c->pre);
    }
    cl->age = (int)(cl->has_age ? age : days / 365);
    cl->age_days = (int)days;
    cl->has_age |= cl->has_age_days;
    return e;
}

/* One claim from its keys (the request's for claim, an element's for claims). */
static cs_proto_err_t s_cl_decode(const s_cl_t *c, const s_keys_t *k, cs_claim_t *cl)
{
    const msgpack_object *const *v = k->val;
    int has_date = 0;
    cs_proto_err_t e = CS_PERR_NONE;
    if (!v[CS_KEY_DATE] || !v[CS_KEY_DIAGNOSES]) {
        return s_bad(c->err, CS_PERR_BAD_REQUEST, "%sa claim needs \"%s\"", c->pre,
                     v[CS_KEY_DATE] ? "diagnoses" : "date");
    }
    e = s_check_date(v[CS_KEY_DATE], "date", &has_date, &cl->date, c->err);
    if (e == CS_PERR_NONE && v[CS_KEY_SETTING]) {
        e = s_cl_setting(c, v[CS_KEY_SETTING], cl);
    }
    if (e == CS_PERR_NONE && v[CS_KEY_PATIENT]) {
        e = s_cl_patient(c, v[CS_KEY_PATIENT], cl);
    }
    if (e == CS_PERR_NONE) {
        e = s_cl_diagnoses(c, v[CS_KEY_DIAGNOSES], cl);
    }
    if (e == CS_PERR_NONE && v[CS_KEY_PROCEDURES]) {
        e = s_cl_procedures(c, v[CS_KEY_PROCEDURES], cl);
    }
    return e;
}

/* claim: the request is the claim; claims: each element of "claims" is one. */
static cs_proto_err_t s_decode_claims(cs_request_t *req, const s_keys_t *k, cs_error_t *err)
{
    s_cl_t c = {.req = req, .err = err};
    if (req->op == CS_OP_CLAIM) {
        cs_claim_t *cl = s_zalloc(req, sizeof *cl);
        req->claims = cl;
        req->n_claims = cl ? 1 : 0;
        return cl ? s_cl_decode(&c, k, cl) : CS_PERR_INTERNAL;
    }
    const msgpack_object *o = k->val[CS_KEY_CLAIMS];
    if (req->op != CS_OP_CLAIMS || !o) {
        return CS_PERR_NONE;
    }
    cs_proto_err_t e = s_cl_array(&c, o, "claims", CS_CLAIM_MAX_BATCH);
    cs_claim_t *cl = e == CS_PERR_NONE ? s_zalloc(req, o->via.array.size * sizeof *cl) : NULL;
    for (uint32_t i = 0; cl && e == CS_PERR_NONE && i < o->via.array.size; i++) {
        s_keys_t ck;
        s_scan_keys(&o->via.array.ptr[i], &ck);
        snprintf(c.pre, sizeof c.pre, "claims[%lu]: ", (unsigned long)i);
        e = s_cl_decode(&c, &ck, &cl[i]);
    }
    req->claims = cl;
    req->n_claims = cl ? o->via.array.size : 0;
    return e != CS_PERR_NONE || cl ? e : CS_PERR_INTERNAL;
}

/* The list, number and bool keys. */
static cs_proto_err_t s_decode_values(cs_request_t *req, const s_keys_t *k, cs_error_t *err)
{
    const cs_op_def_t *def = &cs_ops[req->op];
    const msgpack_object *const *val = k->val;
    cs_proto_err_t e = CS_PERR_NONE;
    if (val[CS_KEY_CODES] != NULL) {
        e = s_check_str_array(val[CS_KEY_CODES], "codes", CS_PROTO_MAX_CODES, 0, err);
        if (e == CS_PERR_NONE) {
            e = s_str_list(req, val[CS_KEY_CODES], &req->codes, &req->n_codes, err);
        }
    } else if ((def->accepts & CS_KEY_BIT(CS_KEY_CODES)) && val[CS_KEY_CODE] != NULL) {
        req->n_codes = 1; /* "code" alone stands for a list of one */
    }
    if (e == CS_PERR_NONE && val[CS_KEY_FILES] != NULL) {
        e = s_check_str_array(val[CS_KEY_FILES], "files", CS_PROTO_MAX_FILES, 1, err);
        if (e == CS_PERR_NONE) {
            e = s_str_list(req, val[CS_KEY_FILES], &req->files, &req->n_files, err);
        }
    }
    if (e == CS_PERR_NONE && val[CS_KEY_LIMIT] != NULL) {
        int64_t hi = def->limit_max ? def->limit_max : CS_PROTO_MAX_LIMIT;
        e = s_check_int(val[CS_KEY_LIMIT], "limit", 1, hi, &req->limit, err);
    }
    const msgpack_object *off = val[CS_KEY_OFFSET];
    if (e == CS_PERR_NONE && off != NULL) {
        if (off->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            return s_bad(err, CS_PERR_BAD_REQUEST, "\"offset\" must not be negative (got %lld)",
                         (long long)off->via.i64);
        }
        e = s_check_int(off, "offset", 0, S_MAX_OFFSET, &req->offset, err);
    }
    if (e == CS_PERR_NONE && val[CS_KEY_BILLABLE_ONLY] != NULL) {
        e = s_decode_bool(val[CS_KEY_BILLABLE_ONLY], "billable_only", &req->billable_only, err);
    }
    if (e == CS_PERR_NONE && val[CS_KEY_REVERSE] != NULL) {
        e = s_decode_bool(val[CS_KEY_REVERSE], "reverse", &req->reverse, err);
    }
    if (e == CS_PERR_NONE && val[CS_KEY_PATH] != NULL) {
        e = s_check_str_array(val[CS_KEY_PATH], "path", CS_INDEX_PATH_MAX, 1, err);
        if (e == CS_PERR_NONE) {
            e = s_str_list(req, val[CS_KEY_PATH], &req->path, &req->n_path, err);
        }
    }
    if (e == CS_PERR_NONE && val[CS_KEY_FOLLOW] != NULL) {
        e = s_decode_bool(val[CS_KEY_FOLLOW], "follow", &req->follow, err);
    }
    /* only a batch reads "requests": an item that holds some never nests another batch */
    if (e == CS_PERR_NONE && val[CS_KEY_REQUESTS] != NULL &&
        (def->accepts & CS_KEY_BIT(CS_KEY_REQUESTS))) {
        e = s_decode_items(req, val[CS_KEY_REQUESTS], err);
    }
    if (e == CS_PERR_NONE && (req->op == CS_OP_CLAIM || req->op == CS_OP_CLAIMS)) {
        e = s_decode_claims(req, k, err); /* the nested claim shape */
    }
    return e;
}

/* The keys the op's row requires. */
static cs_proto_err_t s_check_required(const cs_request_t *req, const s_keys_t *k,
                                       cs_error_t *err)
{
    const cs_op_def_t *def = &cs_ops[req->op];
    for (unsigned i = 0; i < 4 && def->required[i] != CS_KEY_NONE; i++) {
        if (k->val[def->required[i]] == NULL) {
            return s_bad(err, CS_PERR_BAD_REQUEST, "%s needs \"%s\"", def->name,
                         cs_key_name(def->required[i]));
        }
    }
    if (def->one_of[0] != CS_KEY_NONE && k->val[def->one_of[0]] == NULL &&
        k->val[def->one_of[1]] == NULL) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "%s needs \"%s\" or \"%s\"", def->name,
                     cs_key_name(def->one_of[0]), cs_key_name(def->one_of[1]));
    }
    return CS_PERR_NONE;
}

/* Hold one request map against the schema: the map's own decoding, shared by a whole body
 * and by each item of a batch. item: req is an item of a batch (its op must be batchable). */
static cs_proto_err_t s_decode_map(cs_request_t *req, const msgpack_object *top, int item,
                                   cs_error_t *err)
{
    if (top->type != MSGPACK_OBJECT_MAP) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "the request must be a map, not %s",
                     s_typename(top));
    }
    s_keys_t k;
    s_scan_keys(top, &k);
    cs_proto_err_t e = s_decode_envelope(req, top, &k, err);
    if (e == CS_PERR_NONE && item && !(cs_ops[req->op].flags & CS_OPF_BATCHABLE)) {
        e = s_bad(err, CS_PERR_BAD_REQUEST,
                  "op \"%s\" cannot be an item of a batch (only lookup and validate)",
                  cs_ops[req->op].name);
    }
    if (e == CS_PERR_NONE) {
        e = s_decode_strings(req, &k, err);
    }
    if (e == CS_PERR_NONE) {
        e = s_decode_values(req, &k, err);
    }
    return e == CS_PERR_NONE ? s_check_required(req, &k, err) : e;
}

/* A NUL-terminated copy of s in the request's zone, or a fixed sentence when out of memory. */
static const char *s_zone_strdup(cs_request_t *req, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = msgpack_zone_malloc((msgpack_zone *)req->zone_, n);
    if (p == NULL) {
        return "out of memory decoding the request";
    }
    memcpy(p, s, n);
    return p;
}

/* The longest value of str key k (cs_str_keys). */
static uint32_t s_str_max(cs_key_t k)
{
    for (size_t i = 0; i < cs_n_str_keys; i++) {
        if (cs_str_keys[i].key == k) {
            return cs_str_keys[i].max;
        }
    }
    return 0;
}

/* An item that is the plain lookup clients send by the hundred in a batch, {"op":"lookup",
 * "system":str,"code":str} in that order, decoded into it (zeroed, limit -1) as s_decode_map
 * decodes it, through the same checks: 1. 0, with it untouched, for any other item (another
 * shape, or a value those checks refuse), which s_decode_map decodes and, if need be,
 * answers with its error. */
static int s_plain_lookup_item(cs_request_t *it, const msgpack_object *o)
{
    static const char *const keys[3] = {"op", "system", "code"};
    if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 3) {
        return 0;
    }
    const msgpack_object_kv *kv = o->via.map.ptr;
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(keys[i]);
        if (kv[i].key.type != MSGPACK_OBJECT_STR || kv[i].key.via.str.size != n ||
            memcmp(kv[i].key.via.str.ptr, keys[i], n) != 0 ||
            kv[i].val.type != MSGPACK_OBJECT_STR) {
            return 0;
        }
    }
    cs_str_t op = s_str_of(&kv[0].val), system, code;
    /* s_decode_values would count "code" as a list of one if lookup read "codes" */
    if (op.len != 6 || memcmp(op.ptr, "lookup", 6) != 0 ||
        (cs_ops[CS_OP_LOOKUP].accepts & CS_KEY_BIT(CS_KEY_CODES)) ||
        s_check_str(&kv[1].val, "", -1, s_str_max(CS_KEY_SYSTEM), 1, &system, NULL) !=
            CS_PERR_NONE ||
        s_check_str(&kv[2].val, "", -1, s_str_max(CS_KEY_CODE), 1, &code, NULL) != CS_PERR_NONE) {
        return 0;
    }
    /* field by field: the structs' padding stays as memset left it */
    it->op_name.ptr = op.ptr;
    it->op_name.len = op.len;
    it->op = CS_OP_LOOKUP;
    it->system.ptr = system.ptr;
    it->system.len = system.len;
    it->code.ptr = code.ptr;
    it->code.len = code.len;
    return 1;
}

/* "requests" of a batch: each item decoded on its own, as if it were a whole body, so that
 * its answer is the one it would get alone; its decoding error is its own answer, not the
 * batch's. n_codes becomes the codes of every item (a lookup counts one). */
static cs_proto_err_t s_decode_items(cs_request_t *req, const msgpack_object *o, cs_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "\"requests\" must be an array of maps, not %s",
                     s_typename(o));
    }
    uint32_t n = o->via.array.size;
    if (n > CS_PROTO_MAX_ITEMS) {
        return s_bad(err, CS_PERR_TOO_MANY, "\"requests\" holds %lu items (at most %d)",
                     (unsigned long)n, CS_PROTO_MAX_ITEMS);
    }
    cs_request_t *items = msgpack_zone_malloc((msgpack_zone *)req->zone_,
                                              (n ? n : 1) * sizeof *items);
    if (items == NULL) {
        cs_error_set(err, CS_ENOMEM, "out of memory decoding the request");
        return CS_PERR_INTERNAL;
    }
    uint64_t codes = 0;
    for (uint32_t i = 0; i < n; i++) {
        cs_request_t *it = &items[i];
        memset(it, 0, sizeof *it);
        it->limit = -1;
        if (s_plain_lookup_item(it, &o->via.array.ptr[i])) {
            codes++;
            continue;
        }
        it->zone_ = req->zone_; /* borrowed: the batch's decode memory, freed with it */
        cs_error_t ierr;
        cs_error_clear(&ierr);
        it->item_err = s_decode_map(it, &o->via.array.ptr[i], 1, &ierr);
        if (it->item_err != CS_PERR_NONE) {
            it->item_msg = s_zone_strdup(req, ierr.msg[0] ? ierr.msg : "malformed request");
        } else {
            codes += it->n_codes ? it->n_codes : 1;
        }
        it->zone_ = NULL;
    }
    if (codes > CS_PROTO_MAX_CODES) {
        return s_bad(err, CS_PERR_TOO_MANY,
                     "the requests of the batch hold %llu codes (at most %d)",
                     (unsigned long long)codes, CS_PROTO_MAX_CODES);
    }
    req->items = items;
    req->n_items = n;
    req->n_codes = (uint32_t)codes;
    return CS_PERR_NONE;
}

cs_proto_err_t cs_request_decode(cs_request_t *req, const void *body, size_t len,
                                 cs_error_t *err)
{
    s_reset(req);
    cs_error_clear(err);
    if (cs_request_decode_plain_lookup(req, body, len) ||
        cs_request_decode_plain_batch(req, body, len)) {
        return CS_PERR_NONE;
    }
    if (cs_proto_prescan(body, len, err) != CS_OK) {
        return CS_PERR_BAD_REQUEST;
    }
    if (!req->zone_ && !(req->zone_ = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE))) {
        cs_error_set(err, CS_ENOMEM, "out of memory decoding the request");
        return CS_PERR_INTERNAL;
    }
    size_t off = 0;
    msgpack_object top;
    msgpack_unpack_return ur = msgpack_unpack(body, len, &off, (msgpack_zone *)req->zone_, &top);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        cs_error_set(err, CS_EMALFORMED, "malformed msgpack");
        return CS_PERR_BAD_REQUEST;
    }
    return s_decode_map(req, &top, 0, err);
}

void cs_request_release(cs_request_t *req)
{
    if (req == NULL) {
        return;
    }
    if (req->zone_ && req->reuse_) {
        msgpack_zone_clear((msgpack_zone *)req->zone_); /* its first chunk kept for the next */
    } else if (req->zone_) {
        msgpack_zone_free((msgpack_zone *)req->zone_);
        req->zone_ = NULL;
    }
    s_reset(req);
}

void cs_request_fini(cs_request_t *req)
{
    if (req && req->zone_) {
        msgpack_zone_free((msgpack_zone *)req->zone_);
        req->zone_ = NULL;
    }
}

