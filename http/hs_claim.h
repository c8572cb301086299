/* hs_claim.h: the JSON API's decoder of the nested claim shape (ops claim and claims,
 * docs/PROTOCOL.md): the same keys, limits, error codes and sentences as the wire decoder
 * (wire/cs_proto.c), into the cs_claim_t of engine/cs_claim.h.
 *
 * Memory: the claims and their lines are allocated into *mem (hs_claim_free releases it);
 * their strings borrow from root, which must outlive them. Thread-safety: no state.
 */
#ifndef HS_CLAIM_H
#define HS_CLAIM_H

#include <jansson.h>
#include <stddef.h>

#include "engine/cs_claim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For op claim, root is the claim; for claims, root["claims"] the array of them. Sets
 * req->claims and req->n_claims. CS_PERR_NONE or the error with a sentence in msg. */
cs_proto_err_t hs_claim_decode(cs_request_t *req, const json_t *root, void **mem, char *msg,
                               size_t cap);
/* Release what hs_claim_decode allocated; *mem becomes NULL. */
void hs_claim_free(void **mem);

#ifdef __cplusplus
}
#endif
#endif /* HS_CLAIM_H */
