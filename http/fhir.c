/* fhir.c: the FHIR facade's front door (fhir.h): which operation a method and path
 * name, its parameters read from the query (GET) or the Parameters body (POST), and every
 * failure turned into an OperationOutcome with its 4xx.
 */
#include "fhir.h"

#include <stdio.h>
#include <string.h>

#include "fhir_args.h"
#include "fhir_batch.h"
#include "fhir_ops.h"
#include "fhir_res.h"

typedef enum s_kind {
    S_LOOKUP,
    S_CS_VALIDATE,
    S_VS_VALIDATE,
    S_EXPAND,
    S_TRANSLATE,
    S_SUBSUMES,
} s_kind_t;

static const struct {
    const char *path;
    s_kind_t kind;
} s_routes[] = {
    {"CodeSystem/$lookup", S_LOOKUP},          {"CodeSystem/$validate-code", S_CS_VALIDATE},
    {"ValueSet/$validate-code", S_VS_VALIDATE}, {"ValueSet/$expand", S_EXPAND},
    {"ConceptMap/$translate", S_TRANSLATE},     {"CodeSystem/$subsumes", S_SUBSUMES},
};

static int s_method(const fhir_request_t *r, int post_ok, fhir_err_t *e)
{
    int get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
    if (get || (post && post_ok)) {
        return 0;
    }
    return fhir_fail(e, 405, "not-supported", NULL, "%.16s is not allowed on %.200s%s",
                     r->method, *r->path ? r->path : "the base",
                     post_ok ? " (GET or POST)" : " (GET only)");
}

/* An operation: its parameters, then its answer (a tree into *out, or printed onto text). */
static int s_operation(const fhir_request_t *r, s_kind_t kind, json_t **out, hs_jbuf_t *text,
                       fhir_err_t *e)
{
    fhir_args_t a = {0};
    int post = strcmp(r->method, "POST") == 0;
    int rc = post ? (r->body ? fhir_args_from_body(&a, r->body, e)
                             : fhir_fail(e, 400, "invalid", NULL,
                                         "a POST needs a Parameters resource as its body"))
                  : fhir_args_from_query(&a, r->query, e);
    if (rc == 0) {
        switch (kind) {
        case S_LOOKUP: rc = fhir_op_lookup(r, &a, out, e); break;
        case S_CS_VALIDATE: rc = fhir_op_validate(r, &a, 0, text, e); break;
        case S_VS_VALIDATE: rc = fhir_op_validate(r, &a, 1, text, e); break;
        case S_EXPAND: rc = fhir_op_expand(r, &a, out, e); break;
        case S_TRANSLATE: rc = fhir_op_translate(r, &a, out, e); break;
        case S_SUBSUMES: rc = fhir_op_subsumes(r, &a, out, e); break;
        }
    }
    fhir_args_free(&a);
    return rc;
}

static int s_metadata(const fhir_request_t *r, json_t **out, fhir_err_t *e)
{
    fhir_args_t a = {0};
    const char *mode = NULL;
    int rc = fhir_args_from_query(&a, r->query, e);
    if (rc == 0) {
        rc = fhir_arg_str(&a, "mode", &mode, e) < 0 ? -1 : 0;
    }
    if (rc == 0 && mode && strcmp(mode, "terminology") == 0) {
        rc = fhir_op_terminology(r, out, e);
    } else if (rc == 0 && (!mode || strcmp(mode, "full") == 0 || strcmp(mode, "normative") == 0)) {
        *out = fhir_capabilities(r->config);
    } else if (rc == 0) {
        rc = fhir_fail(e, 400, "invalid", NULL,
                       "metadata mode must be full, normative or terminology");
    }
    fhir_args_free(&a);
    return rc;
}

static int s_codesystems(const fhir_request_t *r, json_t **out, fhir_err_t *e)
{
    fhir_args_t a = {0};
    int rc = fhir_args_from_query(&a, r->query, e);
    if (rc == 0) {
        rc = fhir_op_codesystems(r, &a, out, e);
    }
    fhir_args_free(&a);
    return rc;
}

/* path without its leading and trailing slashes, into buf; -1 when too long. */
static int s_trim_path(const char *path, char *buf, size_t cap)
{
    while (path && *path == '/') {
        path++;
    }
    size_t n = path ? strlen(path) : 0;
    while (n && path[n - 1] == '/') {
        n--;
    }
    if (n >= cap) {
        return -1;
    }
    memcpy(buf, path ? path : "", n);
    buf[n] = '\0';
    return 0;
}

/* Route r: 0 with the answer in *res or printed onto text, or -1 with e. */
static int s_route(const fhir_request_t *r, json_t **res, hs_jbuf_t *text, fhir_err_t *e)
{
    char path[256];
    if (!r || !r->method || s_trim_path(r->path, path, sizeof path) < 0) {
        return fhir_fail(e, 404, "not-found", NULL, "no such FHIR path here");
    }
    if (strcmp(path, "metadata") == 0) {
        return s_method(r, 0, e) < 0 ? -1 : s_metadata(r, res, e);
    }
    if (strcmp(path, "CodeSystem") == 0) {
        return s_method(r, 0, e) < 0 ? -1 : s_codesystems(r, res, e);
    }
    if (strncmp(path, "CodeSystem/", 11) == 0 && path[11] && path[11] != '$' &&
        !strchr(path + 11, '/')) {
        return s_method(r, 0, e) < 0 ? -1 : fhir_op_codesystem_read(r, path + 11, res, e);
    }
    if (path[0] == '\0') {
        return strcmp(r->method, "POST") != 0
                   ? fhir_fail(e, 405, "not-supported", NULL,
                               "the base takes a POST of a batch Bundle")
                   : fhir_batch(r, text, e);
    }
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        if (strcmp(path, s_routes[i].path) == 0) {
            return s_method(r, 1, e) < 0 ? -1 : s_operation(r, s_routes[i].kind, res, text, e);
        }
    }
    return fhir_fail(e, 404, "not-supported", NULL,
                     "no operation or resource '%.200s' here: see metadata for what is", path);
}

int fhir_answer(const fhir_request_t *r, hs_jbuf_t *out)
{
    fhir_err_t e = {0};
    json_t *res = NULL;
    size_t start = out->len;
    int rc = s_route(r, &res, out, &e);
    if (rc == 0 && res) {
        hs_jbuf_value(out, res);
    } else if (rc == 0 && out->len == start) {
        rc = fhir_fail(&e, 500, "exception", NULL, "out of memory building the answer");
    }
    json_decref(res);
    if (rc < 0) {
        hs_jbuf_cut(out, start);
        json_t *oo = fhir_outcome(&e);
        hs_jbuf_value(out, oo);
        json_decref(oo);
        return e.status;
    }
    return 200;
}

int fhir_handle(const fhir_request_t *r, json_t **resource)
{
    hs_jbuf_t b = {0};
    int status = fhir_answer(r, &b);
    const char *text = hs_jbuf_text(&b);
    *resource = text ? json_loadb(text, b.len, 0, NULL) : NULL;
    hs_jbuf_free(&b);
    return status;
}
