/* cs_batch.c: the batch op: many lookups and validates in one message, each answered by its
 * own op's handler, so each item's reply is, byte for byte, the reply the item would get sent
 * alone (docs/PROTOCOL.md, batch). The codec decoded every item on its own (cs_request_t
 * items, item_err); an item it refused gets the error reply it would get alone. */
#include <string.h>

#include "engine/cs_op.h"

cs_proto_err_t cs_op_batch(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    if (req->items == NULL) {
        /* a codec that does not decode "requests" (the HTTP facade's JSON): never an empty
         * answer in place of the items' */
        return cs_reply_errorf(out, req, CS_PERR_BAD_REQUEST,
                               "batch is answered over ZeroMQ only: this front end does not "
                               "decode its \"requests\"");
    }
    cs_reply_begin(out, req, 1, 1);
    cs_out_cstr(out, "replies");
    cs_out_array(out, req->n_items);
    for (uint32_t i = 0; i < req->n_items; i++) {
        const cs_request_t *it = &req->items[i];
        if (it->item_err != CS_PERR_NONE) {
            cs_reply_error(out, it, it->item_err, it->item_msg);
        } else {
            /* the codec let only batchable ops through; each reads its own snapshot, as it
             * would alone */
            (void)cs_ops[it->op].handler(ctx, it, out);
        }
    }
    return CS_PERR_NONE;
}
