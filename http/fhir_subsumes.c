/* fhir_subsumes.c: CodeSystem/$subsumes, answered from the hierarchy our lookup op gives
 * (each code's ancestors up to its chapter) (fhir_ops.h).
 *
 * codeA and codeB (or codingA and codingB) of system: "equivalent" when they are one code,
 * "subsumes" when A is an ancestor of B, "subsumed-by" when B is one of A, else
 * "not-subsumed". A code the release does not hold is a 404, as in $lookup.
 */
#include <stdio.h>
#include <string.h>

#include "fhir_call.h"
#include "fhir_ops.h"
#include "fhir_system.h"

/* Look code up with its ancestors; the reply is owned. */
static int s_lookup(const fhir_request_t *r, const fhir_args_t *a, const char *sys,
                    const char *code, json_t **reply, fhir_err_t *e)
{
    cs_request_t req;
    cs_request_init(&req);
    req.op = CS_OP_LOOKUP;
    req.system = fhir_cstr(sys);
    req.code = fhir_cstr(code);
    req.include = CS_INCLUDE_ANCESTORS;
    if (fhir_req_release(a, "version", &req, e) < 0 || fhir_call(r, &req, reply, e) < 0) {
        return -1;
    }
    if (!json_is_true(json_object_get(*reply, "found"))) {
        const char *msg = json_string_value(json_object_get(*reply, "message"));
        if (msg) {
            fhir_fail(e, 404, "not-found", "invalid-code", "%s", msg);
        } else {
            fhir_fail(e, 404, "not-found", "invalid-code", "Unknown code '%.100s' in %s", code,
                      sys);
        }
        json_decref(*reply);
        *reply = NULL;
        return -1;
    }
    return 0;
}

static int s_has_ancestor(const json_t *reply, const char *code)
{
    size_t i;
    json_t *anc;
    json_array_foreach(json_object_get(reply, "ancestors"), i, anc) {
        const char *c = json_string_value(json_object_get(anc, "code"));
        if (c && strcmp(c, code) == 0) {
            return 1;
        }
    }
    return 0;
}

/* codeX, else codingX (whose system must be the system's). */
static int s_code(const fhir_request_t *r, const fhir_args_t *a, const char *which,
                  const char **code, const char **uri, fhir_err_t *e)
{
    char name[16];
    snprintf(name, sizeof name, "code%s", which);
    int rc = fhir_arg_str(a, name, code, e);
    if (rc != 0) {
        return rc;
    }
    fhir_coding_t c;
    snprintf(name, sizeof name, "coding%s", which);
    rc = fhir_arg_coding(a, name, &c, e);
    if (rc <= 0) {
        return rc < 0 ? -1 : fhir_fail(e, 400, "required", NULL,
                                       "parameter 'code%s' (or 'coding%s') is required", which,
                                       which);
    }
    (void)r;
    *code = c.code;
    if (c.system) {
        *uri = c.system;
    }
    return *code ? 1 : fhir_fail(e, 400, "required", NULL, "%s.code is required", name);
}

int fhir_op_subsumes(const fhir_request_t *r, const fhir_args_t *a, json_t **out,
                     fhir_err_t *e)
{
    const char *ca = NULL, *cb = NULL, *uri = NULL;
    char sys[FHIR_SYSTEM_NAME_MAX];
    if (s_code(r, a, "A", &ca, &uri, e) < 0 || s_code(r, a, "B", &cb, &uri, e) < 0 ||
        (!uri && fhir_arg_str(a, "system", &uri, e) < 0)) {
        return -1;
    }
    if (!uri) {
        return fhir_fail(e, 400, "required", NULL, "parameter 'system' is required");
    }
    if (fhir_system_of(r->config, uri, "parameter 'system'", sys, e) < 0) {
        return -1;
    }
    json_t *ra = NULL, *rb = NULL;
    if (s_lookup(r, a, sys, ca, &ra, e) < 0 || s_lookup(r, a, sys, cb, &rb, e) < 0) {
        json_decref(ra);
        return -1;
    }
    const char *a_code = json_string_value(json_object_get(ra, "code"));
    const char *b_code = json_string_value(json_object_get(rb, "code"));
    const char *outcome = "not-subsumed";
    if (a_code && b_code && strcmp(a_code, b_code) == 0) {
        outcome = "equivalent";
    } else if (a_code && s_has_ancestor(rb, a_code)) {
        outcome = "subsumes";
    } else if (b_code && s_has_ancestor(ra, b_code)) {
        outcome = "subsumed-by";
    }
    *out = fhir_parameters_new();
    fhir_put_str(*out, "outcome", "valueCode", outcome);
    json_decref(ra);
    json_decref(rb);
    return 0;
}
