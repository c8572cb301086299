/* fhir_validate.c: CodeSystem/$validate-code and ValueSet/$validate-code, answered by our
 * validate op (and lookup, for the display of a header) (fhir_ops.h).
 *
 * The codes come as code (+ system or url), a coding, or a codeableConcept (each of its
 * codings validated; the answer is true when one is). A ValueSet check takes only the
 * implicit value set of a whole system, {uri}?fhir_vs. version (systemVersion for a value
 * set, or the coding's version) pins a release; date picks the release in effect on the date
 * of service, as the wire protocol does.
 */
#include <stdio.h>
#include <string.h>

#include "fhir_call.h"
#include "fhir_ops.h"
#include "fhir_system.h"

/* What every coding of the request shares. */
typedef struct s_vc {
    const fhir_request_t *r;
    const fhir_args_t *a;
    const char *vs_url;                /* the value set (ValueSet check), or NULL */
    char vs_sys[FHIR_SYSTEM_NAME_MAX]; /* its system, or the url/system param's ("" none) */
    const char *version;               /* a release label asked for, or NULL */
    const char *display;               /* the display parameter, or NULL */
    int abstract_ok;                   /* "abstract": a header is acceptable here */
} s_vc_t;

/* The system of the value set url ({uri}?fhir_vs) or of CodeSystem's url/system. */
static int s_scope(s_vc_t *v, int value_set, fhir_err_t *e)
{
    const char *url = NULL;
    v->vs_sys[0] = '\0';
    if (fhir_arg_str(v->a, "url", &url, e) < 0) {
        return -1;
    }
    if (!value_set) {
        const char *uri = url;
        if (!uri && fhir_arg_str(v->a, "system", &uri, e) < 0) {
            return -1;
        }
        return uri ? fhir_system_of(v->r->config, uri, url ? "parameter 'url'" : "parameter "
                                    "'system'", v->vs_sys, e) : 0;
    }
    if (!url) {
        return 0;
    }
    v->vs_url = url;
    return fhir_vs_system(v->r->config, url, v->vs_sys, e);
}

/* A lookup of code for its titles (a header's validate result has none); owned reply or NULL. */
static json_t *s_titles(const s_vc_t *v, const cs_request_t *vreq)
{
    cs_request_t req = *vreq;
    req.op = CS_OP_LOOKUP;
    req.include = 0;
    json_t *reply = NULL;
    fhir_err_t ignored;
    if (fhir_call(v->r, &req, &reply, &ignored) < 0) {
        return NULL;
    }
    return reply;
}

/* The verdict of one coding of system sys, onto verdicts. */
static int s_one(const s_vc_t *v, const fhir_coding_t *c, const char *sys, const char *where,
                 json_t *verdicts, fhir_err_t *e)
{
    char uri[512];
    fhir_system_uri(v->r->config, sys, uri, sizeof uri);
    cs_request_t req;
    cs_request_init(&req);
    req.op = CS_OP_VALIDATE;
    req.system = fhir_cstr(sys);
    req.code = fhir_cstr(c->code);
    req.n_codes = 1;
    if (fhir_req_release(v->a, NULL, &req, e) < 0) {
        return -1;
    }
    const char *version = v->version ? v->version : c->version;
    req.release = fhir_cstr(version);
    json_t *reply;
    if (fhir_call(v->r, &req, &reply, e) < 0) {
        return -1;
    }
    const json_t *res = json_array_get(json_object_get(reply, "results"), 0);
    const char *display = c->display ? c->display : v->display;
    json_t *titles = NULL;
    const char *reason = json_string_value(json_object_get(res, "reason"));
    if ((reason && strcmp(reason, "not_billable") == 0) ||
        (display && json_is_true(json_object_get(res, "valid")))) {
        titles = s_titles(v, &req);
    }
    fhir_vc_in_t in = {
        .uri = uri,
        .result = res,
        .release = json_string_value(json_object_get(reply, "release")),
        .title = json_string_value(json_object_get(titles, "title")),
        .short_title = json_string_value(json_object_get(titles, "short")),
        .display = display,
        .where = where,
        .value_set = v->vs_url,
        .abstract_ok = v->abstract_ok,
    };
    json_array_append_new(verdicts, fhir_vc_verdict(&in));
    json_decref(titles);
    json_decref(reply);
    return 0;
}

/* A coding whose system is not the value set's, or is not known: a verdict without a call. */
static void s_outside(const s_vc_t *v, const fhir_coding_t *c, const char *where,
                      json_t *verdicts)
{
    char text[1024];
    snprintf(text, sizeof text, "The code system '%.300s' is not the one of %.300s",
             c->system, v->vs_url ? v->vs_url : "the code system asked for");
    json_t *res = json_pack("{s:b,s:s,s:s,s:s}", "valid", 0, "input", c->code ? c->code : "",
                            "reason", "unknown", "message", text);
    fhir_vc_in_t in = {.uri = c->system, .result = res, .where = where,
                       .value_set = v->vs_url};
    json_array_append_new(verdicts, fhir_vc_verdict(&in));
    json_decref(res);
}

/* Judge coding c: its own system, else the scope's. many: one of a CodeableConcept's (a bad
 * system there is a false verdict, not an error). */
static int s_coding(const s_vc_t *v, const fhir_coding_t *c, const char *where, int many,
                    json_t *verdicts, fhir_err_t *e)
{
    char sys[FHIR_SYSTEM_NAME_MAX];
    if (!c->code || !*c->code) {
        return fhir_fail(e, 400, "required", NULL, "%scode is required", where);
    }
    if (c->system) {
        fhir_err_t why;
        if (fhir_system_of(v->r->config, c->system, "the coding's system", sys, &why) < 0) {
            if (!many) {
                *e = why;
                return -1;
            }
            s_outside(v, c, where, verdicts);
            return 0;
        }
        if (v->vs_sys[0] && strcmp(sys, v->vs_sys) != 0) {
            s_outside(v, c, where, verdicts);
            return 0;
        }
    } else if (v->vs_sys[0]) {
        snprintf(sys, sizeof sys, "%s", v->vs_sys);
    } else {
        return fhir_fail(e, 400, "required", NULL,
                         "%ssystem is required (or url: a code system, or {uri}?fhir_vs)",
                         where);
    }
    return s_one(v, c, sys, where, verdicts, e);
}

static int s_codings(s_vc_t *v, json_t *verdicts, fhir_err_t *e)
{
    fhir_coding_t one, cc[FHIR_CC_MAX];
    size_t n_cc = 0;
    const char *code = NULL;
    int has_code = fhir_arg_str(v->a, "code", &code, e);
    int has_coding = has_code < 0 ? -1 : fhir_arg_coding(v->a, "coding", &one, e);
    int has_cc = has_coding < 0 ? -1 : fhir_arg_cc(v->a, "codeableConcept", cc, &n_cc, e);
    if (has_cc < 0) {
        return -1;
    }
    if (has_code + has_coding + has_cc != 1) {
        return fhir_fail(e, 400, "required", NULL,
                         "give exactly one of code (with system or url), coding or "
                         "codeableConcept");
    }
    if (has_code) {
        const char *sys_uri = NULL;
        if (v->vs_url && fhir_arg_str(v->a, "system", &sys_uri, e) < 0) {
            return -1;
        }
        fhir_coding_t c = {.system = sys_uri, .code = code};
        return s_coding(v, &c, "", 0, verdicts, e);
    }
    if (has_coding) {
        return s_coding(v, &one, "Coding.", 0, verdicts, e);
    }
    for (size_t i = 0; i < n_cc; i++) {
        char where[64];
        snprintf(where, sizeof where, "CodeableConcept.coding[%zu].", i);
        if (s_coding(v, &cc[i], where, 1, verdicts, e) < 0) {
            return -1;
        }
    }
    return 0;
}

int fhir_op_validate(const fhir_request_t *r, const fhir_args_t *a, int value_set, json_t **out,
                     fhir_err_t *e)
{
    s_vc_t v = {.r = r, .a = a};
    /* A value set or code system sent whole would be judged against a whole system here:
     * refused rather than answered for something else. */
    if (fhir_arg_has(a, value_set ? "valueSet" : "codeSystem")) {
        return fhir_fail(e, 422, "not-supported", NULL,
                         "a %s resource is not validated against here: give url (%s)",
                         value_set ? "ValueSet" : "CodeSystem",
                         value_set ? "{system uri}?fhir_vs" : "the system's URI");
    }
    if (fhir_arg_bool(a, "abstract", &v.abstract_ok, e) < 0 || s_scope(&v, value_set, e) < 0 ||
        fhir_arg_str(a, value_set ? "systemVersion" : "version", &v.version, e) < 0 ||
        fhir_arg_str(a, "display", &v.display, e) < 0) {
        return -1;
    }
    if (value_set && !v.version && fhir_arg_str(a, "version", &v.version, e) < 0) {
        return -1;
    }
    json_t *verdicts = json_array();
    if (s_codings(&v, verdicts, e) < 0) {
        json_decref(verdicts);
        return -1;
    }
    *out = fhir_vc_parameters(verdicts);
    json_decref(verdicts);
    return 0;
}
