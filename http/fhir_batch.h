/* fhir_batch.h: POST /fhir with a batch Bundle: each entry (a GET with its query in the url,
 * or a POST with a Parameters resource) answered as its own request, in order, into a
 * batch-response Bundle. A billing system validates a claim's codes in one call.
 *
 * At most FHIR_BATCH_MAX entries; an entry that fails gets its status and an
 * OperationOutcome in response.outcome and the others go on. A Bundle that is not a batch
 * (or not a Bundle) is a 400. Thread-safe as fhir_handle.
 */
#ifndef FHIR_BATCH_H
#define FHIR_BATCH_H

#include <jansson.h>

#include "fhir.h"
#include "fhir_res.h"
#include "hs_json_dump.h"

#define FHIR_BATCH_MAX 1000

/* 0 with the batch-response Bundle printed onto out (JSON text), or -1 with e (nothing
 * printed). */
int fhir_batch(const fhir_request_t *r, hs_jbuf_t *out, fhir_err_t *e);

#endif /* FHIR_BATCH_H */
