/* cs_proto_part.c: decoding one slice of a long claims request for a worker
 * (cs_request_decode_part in wire/cs_proto.h).
 *
 * Unpacking a claims batch costs more than checking its claims: a worker answering a slice
 * used to unpack and decode all of it, as the broker had, for a few of its claims. Here the
 * body is rewritten, raw, into one whose "claims" holds the slice's claims alone, and that is
 * decoded as any body is (pre-scan, unpack, schema); the claims are then put back at their
 * places. The original body came from the broker, which decoded it whole, but it is still
 * walked with bounds checks only (cs_proto_raw_*): whatever looks wrong is decoded whole.
 */
#include "wire/cs_proto.h"

#include <string.h>

#include <msgpack.h>

#include "engine/cs_claim.h"
#include "engine/cs_op.h"

/* Where "claims" sits in a body: its value [at, end), its elements [first, last). */
typedef struct s_spot {
    size_t at, end, first, last;
    uint32_t n; /* the claims */
} s_spot_t;

/* Find the one "claims" of the top map of body and the bytes of its claims [lo, hi): 1, or 0
 * when the body is not such a request (then it is decoded whole). */
static int s_find(const unsigned char *body, size_t len, uint32_t lo, uint32_t hi, s_spot_t *s)
{
    cs_proto_raw_t top, key, val, el;
    if (!cs_proto_raw_head(body, len, 0, &top) || top.kind != CS_RAW_MAP) {
        return 0;
    }
    size_t pos = top.data;
    int found = 0;
    for (uint32_t i = 0; i < top.n; i++) {
        if (!cs_proto_raw_head(body, len, pos, &key)) {
            return 0;
        }
        size_t at = cs_proto_raw_skip(body, len, pos);
        int claims = key.kind == CS_RAW_STR && key.n == 6 &&
                     memcmp(body + key.data, "claims", 6) == 0;
        int op = key.kind == CS_RAW_STR && key.n == 2 && memcmp(body + key.data, "op", 2) == 0;
        size_t end = at ? cs_proto_raw_skip(body, len, at) : 0;
        if (!end || (claims && found++)) {
            return 0; /* truncated, or "claims" twice: the whole decode says which */
        }
        if (op && !(cs_proto_raw_head(body, len, at, &val) && val.kind == CS_RAW_STR &&
                    val.n == 6 && memcmp(body + val.data, "claims", 6) == 0)) {
            return 0; /* another op: nothing to leave out, so stop walking */
        }
        if (claims) {
            s->at = at;
            s->end = end;
        }
        pos = end;
    }
    if (!found || pos != len || !cs_proto_raw_head(body, len, s->at, &val) ||
        val.kind != CS_RAW_ARRAY || val.n > CS_CLAIM_MAX_BATCH || lo > hi || hi > val.n) {
        return 0;
    }
    s->n = val.n;
    pos = val.data;
    for (uint32_t i = 0; i <= hi && pos; i++) {
        if (i == lo) {
            s->first = pos;
        }
        if (i == hi) {
            s->last = pos;
        } else if (!cs_proto_raw_head(body, len, pos, &el) || el.kind != CS_RAW_MAP) {
            return 0; /* not a claim: the broker would not have handed it over */
        } else {
            pos = cs_proto_raw_skip(body, len, pos);
        }
    }
    return pos != 0;
}

/* The body with "claims" holding only the bytes [first, last), in the request's zone. */
static unsigned char *s_rewrite(cs_request_t *req, const unsigned char *body, size_t len,
                                const s_spot_t *s, uint32_t count, size_t *out_len)
{
    size_t n = len - (s->end - s->at) + 5 + (s->last - s->first);
    unsigned char *p = msgpack_zone_malloc((msgpack_zone *)req->zone_, n);
    if (!p) {
        return NULL;
    }
    size_t at = 0;
    memcpy(p, body, s->at);
    at += s->at;
    p[at++] = 0xdd; /* array32: any count fits */
    for (int b = 3; b >= 0; b--) {
        p[at++] = (unsigned char)(count >> (8 * b));
    }
    memcpy(p + at, body + s->first, s->last - s->first);
    at += s->last - s->first;
    memcpy(p + at, body + s->end, len - s->end);
    *out_len = at + (len - s->end);
    return p;
}

/* req's claims [0, hi - lo) become claims [lo, hi) of n. */
static cs_proto_err_t s_place(cs_request_t *req, uint32_t lo, uint32_t hi, uint32_t n,
                              cs_error_t *err)
{
    if (req->n_claims != hi - lo) {
        cs_error_set(err, CS_EMALFORMED, "a slice of claims decoded as another request");
        return CS_PERR_INTERNAL;
    }
    cs_claim_t *all = msgpack_zone_malloc((msgpack_zone *)req->zone_, (n ? n : 1) * sizeof *all);
    if (!all) {
        cs_error_set(err, CS_ENOMEM, "out of memory decoding the request");
        return CS_PERR_INTERNAL;
    }
    memset(all, 0, (n ? n : 1) * sizeof *all);
    if (hi > lo) {
        memcpy(all + lo, req->claims, (hi - lo) * sizeof *all);
    }
    req->claims = all;
    req->n_claims = n;
    return CS_PERR_NONE;
}

cs_proto_err_t cs_request_decode_part(cs_request_t *req, const void *body, size_t len,
                                      uint32_t lo, uint32_t hi, cs_error_t *err)
{
    s_spot_t s = {0};
    uint32_t clo = lo / CS_OP_CLAIM_UNITS, chi = hi / CS_OP_CLAIM_UNITS;
    if (!body || !s_find(body, len, clo, chi, &s)) {
        return cs_request_decode(req, body, len, err);
    }
    if (!req->zone_ && !(req->zone_ = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE))) {
        cs_error_set(err, CS_ENOMEM, "out of memory decoding the request");
        return CS_PERR_INTERNAL;
    }
    size_t n = 0;
    unsigned char *part = s_rewrite(req, body, len, &s, chi - clo, &n);
    if (!part) {
        cs_error_set(err, CS_ENOMEM, "out of memory decoding the request");
        return CS_PERR_INTERNAL;
    }
    cs_proto_err_t e = cs_request_decode(req, part, n, err);
    if (e != CS_PERR_NONE || req->op != CS_OP_CLAIMS) {
        /* a bad claim of the slice, a "claims" key of another op, or an error whose message
         * names an offset in the rewritten body: the whole decode says it as it always did */
        cs_request_release(req);
        return cs_request_decode(req, body, len, err);
    }
    return s_place(req, clo, chi, s.n, err);
}
