/* cs_proto_plain.c: the plain lookups clients send by the hundred thousand, decoded straight
 * from their bytes (cs_request_decode_plain_lookup and cs_request_decode_plain_batch in
 * wire/cs_proto.h).
 *
 * Two shapes: a lookup, {"op": "lookup", "system": str, "code": str} with "id": uint first
 * (libcsclient), last (pipelining clients that add it to a request they built) or nowhere;
 * and a batch of such lookups, {"id": uint, "op": "batch", "requests": [{"op": "lookup",
 * "system": str, "code": str}, ...]}, keys in that order (libcsclient's coalesced calls).
 * Pre-scanning and unpacking such a body into msgpack-c's objects, then holding each key
 * against the schema, cost a broker more than answering the lookups (a pipelined lookup:
 * 0.90 against 0.70 us of the broker's CPU). Here the body is walked once, with bounds
 * checks only (cs_proto_raw_*), and the request is filled in as cs_request_decode fills it:
 * the same items, ids, texts (pointing into the body) and counts. Any other shape, and any
 * value the general decoder's checks would refuse or report (a long or control-character
 * value, too many items), is left to cs_request_decode, so every error reads as it always
 * did.
 */
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "engine/cs_op.h"
#include "wire/cs_proto.h"

/* The header of the str at pos (0 when there is none whose bytes fit): a fixstr read here
 * (keys, codes, system names: nearly every str of such a body), any other through
 * cs_proto_raw_head. */
static int s_str_head(const void *body, size_t len, size_t pos, cs_proto_raw_t *h)
{
    const unsigned char *p = body;
    if (pos < len && (p[pos] & 0xe0u) == 0xa0) {
        h->kind = CS_RAW_STR;
        h->n = p[pos] & 0x1fu;
        h->data = pos + 1;
        return h->n <= len - h->data;
    }
    return cs_proto_raw_head(body, len, pos, h) && h->kind == CS_RAW_STR;
}

/* The str at pos equal to want (n bytes): the offset past it, or 0. */
static size_t s_key(const void *body, size_t len, size_t pos, const char *want, size_t n)
{
    cs_proto_raw_t h;
    if (!s_str_head(body, len, pos, &h) || h.n != n ||
        memcmp((const char *)body + h.data, want, n) != 0) {
        return 0;
    }
    return h.data + n;
}

/* The longest value of str key k (cs_str_keys). */
static uint32_t s_max(cs_key_t k)
{
    for (size_t i = 0; i < cs_n_str_keys; i++) {
        if (cs_str_keys[i].key == k) {
            return cs_str_keys[i].max;
        }
    }
    return 0;
}

/* The str at pos as the general decoder takes a str value (at most max bytes, no control
 * character) into *out: the offset past it, or 0. */
static size_t s_value(const void *body, size_t len, size_t pos, uint32_t max, cs_str_t *out)
{
    cs_proto_raw_t h;
    if (!s_str_head(body, len, pos, &h) || h.n > max) {
        return 0;
    }
    const unsigned char *p = (const unsigned char *)body + h.data;
    uint32_t i = 0;
    for (; i + 8 <= h.n; i += 8) { /* eight bytes at a time: none below 0x20, none 0x7f */
        uint64_t w, lo = UINT64_C(0x0101010101010101), hi = UINT64_C(0x8080808080808080);
        memcpy(&w, p + i, 8);
        uint64_t x = w ^ (lo * 0x7f);
        if ((((w - lo * 0x20) & ~w) | ((x - lo) & ~x)) & hi) {
            return 0;
        }
    }
    for (; i < h.n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return 0;
        }
    }
    out->ptr = (const char *)p;
    out->len = h.n;
    return h.data + h.n;
}

/* An unsigned integer at pos (positive fixint, uint8..uint64): the offset past it, or 0. */
static size_t s_uint(const void *body, size_t len, size_t pos, uint64_t *v)
{
    const unsigned char *p = body;
    if (pos >= len) {
        return 0;
    }
    if (p[pos] <= 0x7f) {
        *v = p[pos];
        return pos + 1;
    }
    size_t k = p[pos] >= 0xcc && p[pos] <= 0xcf ? (size_t)1 << (p[pos] - 0xcc) : 0;
    if (k == 0 || len - pos - 1 < k) {
        return 0;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < k; i++) {
        x = x << 8 | p[pos + 1 + i];
    }
    *v = x;
    return pos + 1 + k;
}

/* What a plain lookup says: its op (as sent), system and code, pointing into the body. */
typedef struct s_lookup {
    cs_str_t op, system, code;
} s_lookup_t;

/* The pairs "op": "lookup", "system": str, "code": str, in that order, from pos into *l:
 * the offset past them, or 0. */
static size_t s_lookup_pairs(const void *body, size_t len, size_t pos, s_lookup_t *l)
{
    pos = s_key(body, len, pos, "op", 2);
    pos = pos ? s_value(body, len, pos, UINT32_MAX, &l->op) : 0;
    if (!pos || l->op.len != 6 || memcmp(l->op.ptr, "lookup", 6) != 0) {
        return 0;
    }
    pos = s_key(body, len, pos, "system", 6);
    pos = pos ? s_value(body, len, pos, s_max(CS_KEY_SYSTEM), &l->system) : 0;
    pos = pos ? s_key(body, len, pos, "code", 4) : 0;
    return pos ? s_value(body, len, pos, s_max(CS_KEY_CODE), &l->code) : 0;
}

/* *l into a request that is otherwise as reset (every other field absent), field by field:
 * the struct's padding stays as the reset left it. */
static void s_lookup_into(cs_request_t *req, const s_lookup_t *l)
{
    req->op = CS_OP_LOOKUP;
    req->op_name.ptr = l->op.ptr;
    req->op_name.len = l->op.len;
    req->system.ptr = l->system.ptr;
    req->system.len = l->system.len;
    req->code.ptr = l->code.ptr;
    req->code.len = l->code.len;
}

/* One item {"op": "lookup", "system": str, "code": str} at pos into it: the offset past it,
 * or 0. */
static size_t s_item(const void *body, size_t len, size_t pos, cs_request_t *it)
{
    cs_proto_raw_t h;
    s_lookup_t l;
    if (!cs_proto_raw_head(body, len, pos, &h) || h.kind != CS_RAW_MAP || h.n != 3 ||
        !(pos = s_lookup_pairs(body, len, h.data, &l))) {
        return 0;
    }
    memset(it, 0, sizeof *it);
    it->limit = -1;
    s_lookup_into(it, &l);
    return pos;
}

/* "id": uint at pos: the offset past it, or 0. */
static size_t s_id(const void *body, size_t len, size_t pos, uint64_t *id)
{
    pos = s_key(body, len, pos, "id", 2);
    return pos ? s_uint(body, len, pos, id) : 0;
}

static void s_set_id(cs_request_t *req, uint64_t id)
{
    req->has_id = 1;
    req->id.type = CS_SCALAR_UINT;
    req->id.via.u = id;
}

int cs_request_decode_plain_batch(cs_request_t *req, const void *body, size_t len)
{
    cs_proto_raw_t h, a;
    uint64_t id;
    cs_str_t op = {NULL, 0};
    size_t pos = cs_proto_raw_head(body, len, 0, &h) && h.kind == CS_RAW_MAP && h.n == 3
                     ? s_id(body, len, h.data, &id)
                     : 0;
    pos = pos ? s_key(body, len, pos, "op", 2) : 0;
    pos = pos ? s_value(body, len, pos, UINT32_MAX, &op) : 0;
    pos = pos && op.len == 5 && memcmp(op.ptr, "batch", 5) == 0
              ? s_key(body, len, pos, "requests", 8)
              : 0;
    /* a lookup counts one code: the general decoder refuses more items than codes allow;
     * and were lookup to read "codes", "code" would count as a list of one there */
    if (!pos || !cs_proto_raw_head(body, len, pos, &a) || a.kind != CS_RAW_ARRAY || a.n == 0 ||
        a.n > CS_PROTO_MAX_ITEMS || a.n > CS_PROTO_MAX_CODES || a.n > len - a.data ||
        (cs_ops[CS_OP_LOOKUP].accepts & CS_KEY_BIT(CS_KEY_CODES))) {
        return 0;
    }
    if (!req->zone_ && !(req->zone_ = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE))) {
        return 0; /* the general decoder says it is out of memory */
    }
    cs_request_t *items = msgpack_zone_malloc((msgpack_zone *)req->zone_, a.n * sizeof *items);
    pos = items ? a.data : 0;
    for (uint32_t i = 0; pos && i < a.n; i++) {
        pos = s_item(body, len, pos, &items[i]);
    }
    if (!pos || pos != len) {
        return 0; /* the items stay in the zone, freed with what the general decoder makes */
    }
    s_set_id(req, id);
    req->op = CS_OP_BATCH;
    req->op_name = op;
    req->items = items;
    req->n_items = a.n;
    req->n_codes = a.n;
    return 1;
}

int cs_request_decode_plain_lookup(cs_request_t *req, const void *body, size_t len)
{
    cs_proto_raw_t h;
    /* were lookup to read "codes", "code" would count as a list of one */
    if (!cs_proto_raw_head(body, len, 0, &h) || h.kind != CS_RAW_MAP || h.n < 3 || h.n > 4 ||
        (cs_ops[CS_OP_LOOKUP].accepts & CS_KEY_BIT(CS_KEY_CODES))) {
        return 0;
    }
    uint64_t id = 0;
    size_t pos = h.data, at = h.n == 4 ? s_id(body, len, pos, &id) : 0; /* the id first... */
    s_lookup_t l;
    pos = s_lookup_pairs(body, len, at ? at : pos, &l);
    if (pos && h.n == 4 && !at) {
        pos = s_id(body, len, pos, &id); /* ...or last */
    }
    if (!pos || pos != len) {
        return 0;
    }
    s_lookup_into(req, &l);
    if (h.n == 4) {
        s_set_id(req, id);
    }
    return 1;
}
