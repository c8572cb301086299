/* fhir_call.h: running one of our query ops for a FHIR operation: a cs_request_t filled
 * here (as the wire decoder would: every key checked), answered by cs_ops[op].handler on the
 * request's thread context, written through the JSON tree writer (fhir_tree.h).
 *
 * Thread-safety: as the ctx it is given (one per thread). Ownership: *reply is a new
 * reference the caller owns.
 */
#ifndef FHIR_CALL_H
#define FHIR_CALL_H

#include <jansson.h>

#include "fhir.h"
#include "fhir_args.h"
#include "fhir_res.h"
#include "fhir_tree.h"

/* A borrowed cs_str_t over a C string (NULL: absent). */
cs_str_t fhir_cstr(const char *s);

/* The release a FHIR operation asks for, into req: "version" (a release label) as release,
 * "date" (a date of service) as date. -1 with e filled on a bad value. */
int fhir_req_release(const fhir_args_t *a, const char *version_param, cs_request_t *req,
                     fhir_err_t *e);

/* Answer req (op, keys filled) through its handler. 0 with *reply the reply map (its "ok"
 * true); -1 with e filled from an error reply (fhir_fail_proto) or a writer failure. */
int fhir_call(const fhir_request_t *r, const cs_request_t *req, json_t **reply, fhir_err_t *e);
/* The same with the reply left in its writer, read in place (fhir_tree.h): 0 with *t the
 * writer (the caller's: fhir_tree_free), whose root is the reply map; -1 with e filled and
 * *t NULL. For answers printed without a jansson tree. */
int fhir_call_tree(const fhir_request_t *r, const cs_request_t *req, fhir_tree_t **t,
                   fhir_err_t *e);

#endif /* FHIR_CALL_H */
