/* fhir_stub.c: fhir_handle while the FHIR facade (http/fhir.h, http/fhir*.c) is not in the
 * tree: every FHIR request answers 501 with an OperationOutcome saying so. The Makefile
 * compiles this file only when http/fhir.h is absent. */
#include "fhir.h"

int fhir_handle(const fhir_request_t *r, json_t **resource)
{
    (void)r;
    *resource = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome",
                          "issue", "severity", "error", "code", "not-supported", "diagnostics",
                          "the FHIR facade is not built into this codeset-http");
    return 501;
}
