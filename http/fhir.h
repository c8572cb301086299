/* http/fhir.h */
#ifndef FHIR_H
#define FHIR_H

#include <jansson.h>
#include "engine/cs_op.h"
#include "hs_json_dump.h"

/* The system URIs: the five built in (issue 16's table) plus "--system-uri NAME=URI" ones. */
typedef struct fhir_config {
    const char *extra_names[16];   /* a plugin's system name ...      */
    const char *extra_uris[16];    /* ... and the URI given for it    */
    int n_extra;
    const char *base_url;          /* e.g. "http://127.0.0.1:8080/fhir", for CapabilityStatement */
} fhir_config_t;

typedef struct fhir_request {
    const char *method;        /* "GET" or "POST" */
    const char *path;          /* the path after "/fhir/", e.g. "CodeSystem/$lookup", "metadata" */
    json_t *query;             /* object: each query parameter's name -> array of str values */
    json_t *body;              /* the parsed JSON body of a POST, or NULL */
    cs_op_ctx_t *ctx;          /* this thread's engine and the plugins, for cs_ops[op].handler */
    const fhir_config_t *config;
} fhir_request_t;

/* Answer one FHIR request: returns the HTTP status (200, 400, 404, 405, 422 ...) and prints
 * onto out (appended, as compact JSON text) the FHIR resource, or an OperationOutcome on
 * error; never 5xx for anything a client sent. out->failed says memory ran out (the text is
 * then not whole). Thread-safe given one ctx per thread. */
int fhir_answer(const fhir_request_t *r, hs_jbuf_t *out);
/* The same answer as a tree: *resource a new reference (never NULL but when memory ran out).
 * For tests and callers that read the resource. */
int fhir_handle(const fhir_request_t *r, json_t **resource);

#endif /* FHIR_H */
