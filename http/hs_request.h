/* hs_request.h: the JSON API's request decoder: a JSON object (a POST body, or a GET query
 * string turned into one) into the codec-neutral cs_request_t (engine/cs_request.h).
 *
 * The object is the wire request of docs/PROTOCOL.md without "op" (the op is the URL's); it is
 * held to the wire decoder's schema (wire/cs_proto.c) key by key, with the op table's
 * required keys and limits (engine/cs_op.c), and the same error codes and sentences, types
 * named as the wire names them (str, int, float, bool, nil, array, map). Unknown keys are
 * ignored, as on the wire; duplicate keys are refused by the JSON parser
 * (JSON_REJECT_DUPLICATES, hs_request_parse).
 *
 * Memory: the decoded request borrows the strings of the json_t it was decoded from, which
 * the hs_request_t holds (one reference) until hs_request_fini.
 *
 * Thread-safety: no global state; one hs_request_t per request.
 */
#ifndef HS_REQUEST_H
#define HS_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#include "engine/cs_op.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_request {
    cs_request_t req; /* the decoded request */
    json_t *root;     /* the object it borrows from (a reference held) */
    cs_str_t *codes;  /* "codes", as req->codes */
    cs_str_t *files;  /* "files", as req->files */
    cs_str_t *path;   /* "path" (index), as req->path */
    void *claims;     /* claim and claims: their memory (hs_claim.h), as req->claims */
} hs_request_t;

void hs_request_init(hs_request_t *r);
/* Release what a decode holds; r can be decoded again. Harmless twice. */
void hs_request_fini(hs_request_t *r);

/* Parse a body as one JSON value (no duplicate keys, no NUL in strings). NULL, with a sentence
 * in msg (where and why), when it is not JSON. */
json_t *hs_request_parse(const char *body, size_t len, char *msg, size_t cap);

/* Decode root (borrowed; a reference is taken) as a request for op. Returns CS_PERR_NONE, or
 * the error to answer with a sentence in msg. On error, r->req.has_id/id are set when the id
 * could be read, so the error reply can echo it. */
cs_proto_err_t hs_request_decode(hs_request_t *r, cs_op_t op, json_t *root, char *msg,
                                 size_t cap);

/* Add one query-string parameter key=val (lengths given: a value may hold any byte) to obj,
 * typed by the key: limit, offset and v are ints; billable_only and reverse bools ("true",
 * "false", "1", "0"); include a list (comma-separated, or repeated); codes a list (repeated);
 * path (index) a list, repeated and never split (its terms hold commas);
 * code repeated for validate becomes "codes"; any other key a str. A key given twice
 * otherwise is refused. 0, or -1 with a sentence in msg. */
int hs_query_add(json_t *obj, cs_op_t op, const char *key, size_t klen, const char *val,
                 size_t vlen, char *msg, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* HS_REQUEST_H */
