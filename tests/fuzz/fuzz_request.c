/* fuzz_request.c: fuzz target for the request pre-scan, decoder and error/reply packing. */
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "engine/cs_claim.h"
#include "engine/cs_op.h"
#include "util/cs_date.h"
#include "wire/cs_out_msgpack.h"
#include "wire/cs_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch every byte of a borrowed string so a sanitizer sees any bad pointer. */
static unsigned s_touch(cs_str_t s)
{
    unsigned sum = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        sum += (unsigned char)s.ptr[i];
    }
    return sum;
}

/* Every string and number of the decoded claims (claim and claims). */
static unsigned s_touch_claims(const cs_request_t *req)
{
    unsigned sum = 0;
    for (uint32_t c = 0; req->claims && c < req->n_claims; c++) {
        const cs_claim_t *cl = &req->claims[c];
        sum += (unsigned)cl->date + (unsigned)cl->setting + (unsigned)cl->age +
               (unsigned)cl->sex;
        for (uint32_t i = 0; i < cl->n_dx; i++) {
            sum += s_touch(cl->dx[i].code) + s_touch(cl->dx[i].poa);
        }
        for (uint32_t i = 0; i < cl->n_px; i++) {
            const cs_claim_px_t *p = &cl->px[i];
            sum += s_touch(p->system) + s_touch(p->code) + (unsigned)p->units;
            for (uint32_t m = 0; m < p->n_modifiers; m++) {
                sum += s_touch(p->modifiers[m]);
            }
        }
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    cs_proto_err_t e = cs_request_decode(&req, data, size, &err);
    volatile unsigned sink = 0;
    if (e == CS_PERR_NONE) {
        const cs_str_t strs[] = {req.op_name, req.system, req.release, req.to_release,
                                 req.code,    req.q,      req.from,    req.to,
                                 req.map,     req.loader, req.job};
        for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
            sink += s_touch(strs[i]);
        }
        for (uint32_t i = 0; i < req.n_codes; i++) {
            sink += s_touch(cs_request_code_at(&req, i));
        }
        for (uint32_t i = 0; i < req.n_files; i++) {
            sink += s_touch(cs_request_file_at(&req, i));
        }
        char d[11];
        if (req.has_date) {
            cs_date_format(req.date, d);
            sink += (unsigned char)d[0];
        }
        if (req.has_effective_from) {
            cs_date_format(req.effective_from, d);
            sink += (unsigned char)d[0];
        }
        sink += (unsigned)req.include + (unsigned)req.limit + (unsigned)req.offset
                + (unsigned)req.billable_only + (unsigned)cs_proto_op_is_admin(req.op);
        sink += (unsigned char)cs_proto_opname(req.op)[0];
        /* a batch's items, each decoded as a request of its own */
        for (uint32_t i = 0; i < req.n_items; i++) {
            const cs_request_t *it = &req.items[i];
            sink += s_touch(it->system) + s_touch(it->code) + (unsigned)it->item_err;
            for (uint32_t k = 0; k < it->n_codes && it->item_err == CS_PERR_NONE; k++) {
                sink += s_touch(cs_request_code_at(it, k));
            }
            sink += it->item_msg ? (unsigned char)it->item_msg[0] : 0;
        }
        sink += s_touch_claims(&req);
    }
    /* the reply path echoes the id whatever happened */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    cs_out_msgpack_t w;
    cs_out_t *out = cs_out_msgpack_init(&w, &pk);
    if (e == CS_PERR_NONE) {
        cs_reply_begin(out, &req, 1, 1);
        cs_out_kv_str(out, "op", cs_proto_opname(req.op));
    } else {
        cs_reply_error(out, &req, e, err.msg);
    }
    sink += (unsigned)sb.size;
    msgpack_sbuffer_destroy(&sb);
    cs_request_release(&req);
    /* a worker's slice of it (claims [1, 3)), and the broker's read without claims: the
     * body stepped over raw before it is decoded */
    static const uint32_t slices[][2] = {{CS_OP_CLAIM_UNITS, 3 * CS_OP_CLAIM_UNITS}, {0, 0}};
    for (size_t k = 0; k < 2; k++) {
        if (cs_request_decode_part(&req, data, size, slices[k][0], slices[k][1], &err) ==
            CS_PERR_NONE) {
            sink += s_touch_claims(&req) + (unsigned)req.n_claims;
        }
        cs_request_release(&req);
    }
    (void)sink;
    return 0;
}
