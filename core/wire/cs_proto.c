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

#include "engine/cs_op.h"
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

/* ---- names -------------------------------------------------------------------------------- */

static const char *const s_errnames[] = {
    [CS_PERR_NONE] = "none",
    [CS_PERR_BAD_REQUEST] = "bad_request",
    [CS_PERR_UNKNOWN_OP] = "unknown_op",
    [CS_PERR_UNSUPPORTED_VERSION] = "unsupported_version",
    [CS_PERR_UNKNOWN_SYSTEM] = "unknown_system",
    [CS_PERR_UNKNOWN_RELEASE] = "unknown_release",
    [CS_PERR_NO_RELEASE_FOR_DATE] = "no_release_for_date",
    [CS_PERR_TOO_MANY] = "too_many",
    [CS_PERR_FORBIDDEN] = "forbidden",
    [CS_PERR_BUSY] = "busy",
    [CS_PERR_LOAD_FAILED] = "load_failed",
    [CS_PERR_CORRUPT_RELEASE] = "corrupt_release",
    [CS_PERR_INTERNAL] = "internal",
};

const char *cs_str_printable(cs_str_t s, char *buf, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[n] = '\0';
    return buf;
}

const char *cs_proto_opname(cs_op_t op)
{
    if ((unsigned)op >= CS_OP_COUNT_ || op == CS_OP_UNKNOWN) {
        return "unknown";
    }
    return cs_ops[op].name;
}

const char *cs_proto_errname(cs_proto_err_t e)
{
    if ((unsigned)e >= sizeof s_errnames / sizeof s_errnames[0]) {
        return "internal";
    }
    return s_errnames[e];
}

int cs_proto_op_is_admin(cs_op_t op)
{
    return (unsigned)op < CS_OP_COUNT_ && (cs_ops[op].flags & CS_OPF_ADMIN) != 0;
}

/* ---- dates -------------------------------------------------------------------------------- */

static int s_digits(const char *s, unsigned n, int *out)
{
    int v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int cs_proto_parse_date(const char *s, size_t len, int *yyyymmdd)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-' || !s_digits(s, 4, &y)
        || !s_digits(s + 5, 2, &m) || !s_digits(s + 8, 2, &d)) {
        return CS_EMALFORMED;
    }
    if (y < 1900 || m < 1 || m > 12 || d < 1) {
        return CS_EMALFORMED;
    }
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = mdays[m - 1] + (m == 2 && leap ? 1 : 0);
    if (d > max) {
        return CS_EMALFORMED;
    }
    if (yyyymmdd) {
        *yyyymmdd = y * 10000 + m * 100 + d;
    }
    return CS_OK;
}

void cs_proto_format_date(int yyyymmdd, char out[11])
{
    int v = yyyymmdd < 0 ? 0 : yyyymmdd;
    int y = (v / 10000) % 10000, m = (v / 100) % 100, d = v % 100;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
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
    if (cs_proto_parse_date(o->via.str.ptr, o->via.str.size, out) != CS_OK) {
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

/* The str-valued keys with their bounds; all reject control characters. */
static const struct {
    cs_key_t key;
    size_t field; /* offsetof the cs_str_t in cs_request_t */
    uint32_t max;
} s_str_keys[] = {
    {CS_KEY_SYSTEM, offsetof(cs_request_t, system), CS_PROTO_MAX_STR},
    {CS_KEY_RELEASE, offsetof(cs_request_t, release), CS_PROTO_MAX_STR},
    {CS_KEY_TO_RELEASE, offsetof(cs_request_t, to_release), CS_PROTO_MAX_STR},
    {CS_KEY_CODE, offsetof(cs_request_t, code), CS_PROTO_MAX_STR},
    {CS_KEY_Q, offsetof(cs_request_t, q), CS_PROTO_MAX_Q},
    {CS_KEY_FROM, offsetof(cs_request_t, from), CS_PROTO_MAX_STR},
    {CS_KEY_TO, offsetof(cs_request_t, to), CS_PROTO_MAX_STR},
    {CS_KEY_MAP, offsetof(cs_request_t, map), CS_PROTO_MAX_STR},
    {CS_KEY_LOADER, offsetof(cs_request_t, loader), CS_PROTO_MAX_STR},
    {CS_KEY_JOB, offsetof(cs_request_t, job), CS_PROTO_MAX_STR},
    {CS_KEY_TABLE, offsetof(cs_request_t, table), CS_PROTO_MAX_STR},
};

void cs_request_init(cs_request_t *req)
{
    memset(req, 0, sizeof *req);
    req->limit = -1;
}

void cs_request_init_reusable(cs_request_t *req)
{
    cs_request_init(req);
    req->reuse_ = 1;
}

/* Reset every decoded field, keeping the zone and the reuse choice. */
static void s_reset(cs_request_t *req)
{
    msgpack_zone *zone = req->zone_;
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
        req->id = *id;
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
    for (size_t i = 0; e == CS_PERR_NONE && i < sizeof s_str_keys / sizeof s_str_keys[0]; i++) {
        const msgpack_object *o = k->val[s_str_keys[i].key];
        if (o != NULL) {
            cs_str_t *field = (cs_str_t *)((char *)req + s_str_keys[i].field);
            e = s_check_str(o, cs_key_name(s_str_keys[i].key), -1, s_str_keys[i].max, 1, field,
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

/* The list, number and bool keys. */
static cs_proto_err_t s_decode_values(cs_request_t *req, const s_keys_t *k, cs_error_t *err)
{
    const cs_op_def_t *def = &cs_ops[req->op];
    const msgpack_object *const *val = k->val;
    cs_proto_err_t e = CS_PERR_NONE;
    if (val[CS_KEY_CODES] != NULL) {
        e = s_check_str_array(val[CS_KEY_CODES], "codes", CS_PROTO_MAX_CODES, 0, err);
        req->n_codes = e == CS_PERR_NONE ? val[CS_KEY_CODES]->via.array.size : 0;
        req->codes = e == CS_PERR_NONE ? val[CS_KEY_CODES]->via.array.ptr : NULL;
    } else if ((def->accepts & CS_KEY_BIT(CS_KEY_CODES)) && val[CS_KEY_CODE] != NULL) {
        req->n_codes = 1; /* "code" alone stands for a list of one */
    }
    if (e == CS_PERR_NONE && val[CS_KEY_FILES] != NULL) {
        e = s_check_str_array(val[CS_KEY_FILES], "files", CS_PROTO_MAX_FILES, 1, err);
        req->n_files = e == CS_PERR_NONE ? val[CS_KEY_FILES]->via.array.size : 0;
        req->files = e == CS_PERR_NONE ? val[CS_KEY_FILES]->via.array.ptr : NULL;
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
        req->n_path = e == CS_PERR_NONE ? val[CS_KEY_PATH]->via.array.size : 0;
        req->path = e == CS_PERR_NONE ? val[CS_KEY_PATH]->via.array.ptr : NULL;
    }
    if (e == CS_PERR_NONE && val[CS_KEY_FOLLOW] != NULL) {
        e = s_decode_bool(val[CS_KEY_FOLLOW], "follow", &req->follow, err);
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

cs_proto_err_t cs_request_decode(cs_request_t *req, const void *body, size_t len,
                                 cs_error_t *err)
{
    s_reset(req);
    cs_error_clear(err);
    if (cs_proto_prescan(body, len, err) != CS_OK) {
        return CS_PERR_BAD_REQUEST;
    }
    if (!req->zone_ && !(req->zone_ = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE))) {
        cs_error_set(err, CS_ENOMEM, "out of memory decoding the request");
        return CS_PERR_INTERNAL;
    }
    size_t off = 0;
    msgpack_object top;
    msgpack_unpack_return ur = msgpack_unpack(body, len, &off, req->zone_, &top);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        cs_error_set(err, CS_EMALFORMED, "malformed msgpack");
        return CS_PERR_BAD_REQUEST;
    }
    if (top.type != MSGPACK_OBJECT_MAP) {
        return s_bad(err, CS_PERR_BAD_REQUEST, "the request must be a map, not %s",
                     s_typename(&top));
    }
    s_keys_t k;
    s_scan_keys(&top, &k);
    cs_proto_err_t e = s_decode_envelope(req, &top, &k, err);
    if (e == CS_PERR_NONE) {
        e = s_decode_strings(req, &k, err);
    }
    if (e == CS_PERR_NONE) {
        e = s_decode_values(req, &k, err);
    }
    return e == CS_PERR_NONE ? s_check_required(req, &k, err) : e;
}

void cs_request_release(cs_request_t *req)
{
    if (req == NULL) {
        return;
    }
    if (req->zone_ && req->reuse_) {
        msgpack_zone_clear(req->zone_); /* keeps its first chunk for the next decode */
    } else if (req->zone_) {
        msgpack_zone_free(req->zone_);
        req->zone_ = NULL;
    }
    s_reset(req);
}

void cs_request_fini(cs_request_t *req)
{
    if (req && req->zone_) {
        msgpack_zone_free(req->zone_);
        req->zone_ = NULL;
    }
}

cs_str_t cs_request_code_at(const cs_request_t *req, uint32_t i)
{
    cs_str_t none = {NULL, 0};
    if (i >= req->n_codes) {
        return none;
    }
    if (req->codes != NULL) {
        const msgpack_object *o = &req->codes[i];
        return o->type == MSGPACK_OBJECT_STR ? s_str_of(o) : none;
    }
    return i == 0 ? req->code : none;
}

cs_str_t cs_request_file_at(const cs_request_t *req, uint32_t i)
{
    cs_str_t none = {NULL, 0};
    if (i >= req->n_files || req->files == NULL) {
        return none;
    }
    const msgpack_object *o = &req->files[i];
    return o->type == MSGPACK_OBJECT_STR ? s_str_of(o) : none;
}

cs_str_t cs_request_path_at(const cs_request_t *req, uint32_t i)
{
    cs_str_t none = {NULL, 0};
    if (i >= req->n_path || req->path == NULL) {
        return none;
    }
    const msgpack_object *o = &req->path[i];
    return o->type == MSGPACK_OBJECT_STR ? s_str_of(o) : none;
}

/* ---- reply packing ------------------------------------------------------------------------ */

/* s[0..n) with each ill-formed part replaced by U+FFFD; s[0..good) is well-formed. */
static void s_pack_repaired(msgpack_packer *pk, const char *s, size_t n, size_t good)
{
    size_t out = cs_utf8_repaired_len(s, n, good);
    msgpack_pack_str(pk, out <= UINT32_MAX ? out : 0);
    if (out > UINT32_MAX) {
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0; /* start of the well-formed run being gathered */
    for (size_t i = good; i < n;) {
        int ok;
        size_t len = cs_utf8_step(p + i, n - i, &ok);
        if (!ok) {
            msgpack_pack_str_body(pk, s + run, i - run);
            msgpack_pack_str_body(pk, CS_UTF8_REPLACEMENT, CS_UTF8_REPLACEMENT_LEN);
            run = i + len;
        }
        i += len;
    }
    msgpack_pack_str_body(pk, s + run, n - run);
}

void cs_pack_strn(msgpack_packer *pk, const char *s, size_t n)
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
        s_pack_repaired(pk, s, n, good);
        return;
    }
    msgpack_pack_str(pk, n);
    if (n > 0) {
        msgpack_pack_str_body(pk, s, n);
    }
}

void cs_pack_cstr(msgpack_packer *pk, const char *s)
{
    if (s == NULL) {
        msgpack_pack_nil(pk);
        return;
    }
    cs_pack_strn(pk, s, strlen(s));
}

void cs_pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    cs_pack_cstr(pk, key);
    cs_pack_cstr(pk, val);
}

void cs_pack_kv_int(msgpack_packer *pk, const char *key, int64_t val)
{
    cs_pack_cstr(pk, key);
    msgpack_pack_int64(pk, val);
}

void cs_pack_kv_bool(msgpack_packer *pk, const char *key, int val)
{
    cs_pack_cstr(pk, key);
    if (val) {
        msgpack_pack_true(pk);
    } else {
        msgpack_pack_false(pk);
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

void cs_pack_valid_result(msgpack_packer *pk, const char *input, size_t input_len,
                          const char *code, size_t code_len, const char *title,
                          size_t title_len)
{
    /* the same bytes as five msgpack_pack_* pairs, in one write: a batch packs one of
     * these per code, and the packer's per-call work was a tenth of a worker's time */
    static const char k_input[] = "\x85\xa5input";
    static const char k_code[] = "\xa4" "code";
    static const char k_rest[] = "\xa5valid\xc3\xa8" "billable\xc3\xa5title";
    unsigned char buf[768];
    size_t need = sizeof k_input + sizeof k_code + sizeof k_rest + 9 + input_len + code_len +
                  title_len;
    if (need > sizeof buf || input_len > UINT16_MAX || code_len > UINT16_MAX ||
        title_len > UINT16_MAX || !cs_utf8_ascii(input, input_len) ||
        !cs_utf8_ascii(code, code_len) || !cs_utf8_ascii(title, title_len)) {
        msgpack_pack_map(pk, 5);
        cs_pack_cstr(pk, "input");
        cs_pack_strn(pk, input, input_len);
        cs_pack_cstr(pk, "code");
        cs_pack_strn(pk, code, code_len);
        cs_pack_kv_bool(pk, "valid", 1);
        cs_pack_kv_bool(pk, "billable", 1);
        cs_pack_cstr(pk, "title");
        cs_pack_strn(pk, title, title_len);
        return;
    }
    unsigned char *p = buf;
    memcpy(p, k_input, sizeof k_input - 1);
    p = s_put_str(p + sizeof k_input - 1, input, input_len);
    memcpy(p, k_code, sizeof k_code - 1);
    p = s_put_str(p + sizeof k_code - 1, code, code_len);
    memcpy(p, k_rest, sizeof k_rest - 1);
    p = s_put_str(p + sizeof k_rest - 1, title, title_len);
    pk->callback(pk->data, (const char *)buf, (size_t)(p - buf));
}

void cs_reply_begin(msgpack_packer *pk, const cs_request_t *req, int ok, uint32_t n_keys)
{
    int has_id = req != NULL && req->has_id;
    msgpack_pack_map(pk, n_keys + 1 + (has_id ? 1 : 0));
    cs_pack_kv_bool(pk, "ok", ok);
    if (has_id) {
        cs_pack_cstr(pk, "id");
        const msgpack_object_str *id = &req->id.via.str;
        if (req->id.type == MSGPACK_OBJECT_STR && cs_utf8_end(id->ptr, id->size, 1) != id->size) {
            /* as bin, byte for byte: repaired, it could no longer be matched to its request */
            msgpack_pack_bin(pk, id->size);
            msgpack_pack_bin_body(pk, id->ptr, id->size);
        } else {
            msgpack_pack_object(pk, req->id);
        }
    }
}

void cs_reply_error(msgpack_packer *pk, const cs_request_t *req, cs_proto_err_t e,
                    const char *message)
{
    cs_reply_begin(pk, req, 0, 1);
    cs_pack_cstr(pk, "error");
    msgpack_pack_map(pk, 2);
    cs_pack_kv_str(pk, "code", cs_proto_errname(e));
    cs_pack_kv_str(pk, "message", message ? message : cs_proto_errname(e));
}

cs_proto_err_t cs_reply_errorf(msgpack_packer *pk, const cs_request_t *req, cs_proto_err_t e,
                               const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cs_reply_error(pk, req, e, msg);
    return e;
}

void cs_request_clamp_limit(cs_request_t *req, uint32_t max)
{
    if (req->op == CS_OP_SEARCH && (req->limit > (int64_t)max || (req->limit < 1 && max < 20))) {
        req->limit = max;
    }
}
