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
#include "util/cs_utf8.h"

/* What one coding's verdict keeps until the answer is printed (its strings point here). */
typedef struct s_slot {
    char uri[512];         /* the system URI */
    char text[1024];       /* the message of a coding judged without a call */
    char where[64];        /* the expression prefix */
    fhir_tree_t *reply;    /* the validate reply, read in place */
    fhir_tree_t *titles;   /* the lookup reply, when one was needed */
} s_slot_t;

/* What every coding of the request shares. */
typedef struct s_vc {
    const fhir_request_t *r;
    const fhir_args_t *a;
    const char *vs_url;                /* the value set (ValueSet check), or NULL */
    char vs_sys[FHIR_SYSTEM_NAME_MAX]; /* its system, or the url/system param's ("" none) */
    const char *version;               /* a release label asked for, or NULL */
    const char *display;               /* the display parameter, or NULL */
    int abstract_ok;                   /* "abstract": a header is acceptable here */
    fhir_verdict_t verdicts[FHIR_CC_MAX]; /* one per coding judged */
    s_slot_t slots[FHIR_CC_MAX];
    size_t n;
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

/* A lookup of code for its titles (a header's validate result has none), or NULL. */
static fhir_tree_t *s_titles(const s_vc_t *v, const cs_request_t *vreq)
{
    cs_request_t req = *vreq;
    req.op = CS_OP_LOOKUP;
    req.include = 0;
    fhir_tree_t *t = NULL;
    fhir_err_t ignored;
    return fhir_call_tree(v->r, &req, &t, &ignored) < 0 ? NULL : t;
}

/* The next slot and verdict, emptied; NULL when every one is used (never: a request holds at
 * most FHIR_CC_MAX codings). */
static s_slot_t *s_slot(s_vc_t *v)
{
    if (v->n >= FHIR_CC_MAX) {
        return NULL;
    }
    s_slot_t *sl = &v->slots[v->n];
    sl->reply = sl->titles = NULL;
    return sl;
}

/* The verdict of the coding in the next slot, from in. */
static void s_judged(s_vc_t *v, fhir_vc_in_t *in)
{
    s_slot_t *sl = &v->slots[v->n];
    size_t n = in->where ? strnlen(in->where, sizeof sl->where - 1) : 0;
    memcpy(sl->where, in->where ? in->where : "", n);
    sl->where[n] = '\0';
    in->where = sl->where;
    in->value_set = v->vs_url;
    fhir_vc_verdict(in, &v->verdicts[v->n++]);
}

/* The verdict of one coding of system sys. */
static int s_one(s_vc_t *v, const fhir_coding_t *c, const char *sys, const char *where,
                 fhir_err_t *e)
{
    s_slot_t *sl = s_slot(v);
    if (!sl) {
        return fhir_fail(e, 400, "too-costly", NULL, "too many codings");
    }
    fhir_system_uri(v->r->config, sys, sl->uri, sizeof sl->uri);
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
    if (fhir_call_tree(v->r, &req, &sl->reply, e) < 0) {
        return -1;
    }
    const fhir_tree_t *t = sl->reply;
    static const char *const keys[] = {"valid", "reason", "code", "input", "title", "message"};
    static const char *const top[] = {"results", "release"};
    fhir_tv_t root = fhir_tree_root(t), at[6], rr[2];
    fhir_tree_getv(t, root, top, rr, 2);
    fhir_tree_getv(t, fhir_tree_item(t, rr[0], 0), keys, at, 6);
    const char *code = fhir_tree_str(t, at[2]);
    fhir_vc_in_t in = {
        .uri = sl->uri,
        .result = {.valid = fhir_tree_true(t, at[0]),
                   .reason = fhir_tree_str(t, at[1]),
                   .code = code ? code : fhir_tree_str(t, at[3]),
                   .title = fhir_tree_str(t, at[4]),
                   .message = fhir_tree_str(t, at[5])},
        .release = fhir_tree_str(t, rr[1]),
        .display = c->display ? c->display : v->display,
        .where = where,
        .abstract_ok = v->abstract_ok,
    };
    if ((in.result.reason && strcmp(in.result.reason, "not_billable") == 0) ||
        (in.display && in.result.valid)) {
        sl->titles = s_titles(v, &req);
        const fhir_tree_t *tt = sl->titles;
        if (tt) {
            in.title = fhir_tree_str(tt, fhir_tree_get(tt, fhir_tree_root(tt), "title"));
            in.short_title = fhir_tree_str(tt, fhir_tree_get(tt, fhir_tree_root(tt), "short"));
        }
    }
    s_judged(v, &in);
    return 0;
}

/* A coding whose system is not the value set's, or is not known: a verdict without a call. */
static int s_outside(s_vc_t *v, const fhir_coding_t *c, const char *where, fhir_err_t *e)
{
    s_slot_t *sl = s_slot(v);
    if (!sl) {
        return fhir_fail(e, 400, "too-costly", NULL, "too many codings");
    }
    snprintf(sl->text, sizeof sl->text, "The code system '%.300s' is not the one of %.300s",
             c->system, v->vs_url ? v->vs_url : "the code system asked for");
    fhir_vc_in_t in = {.uri = c->system, .where = where};
    /* a text cut inside a character is no JSON string: the result then says nothing */
    if (cs_utf8_end(sl->text, strlen(sl->text), 1) == strlen(sl->text)) {
        in.result = (fhir_vres_t){.reason = "unknown", .code = c->code ? c->code : "",
                                  .message = sl->text};
    }
    s_judged(v, &in);
    return 0;
}

/* Judge coding c: its own system, else the scope's. many: one of a CodeableConcept's (a bad
 * system there is a false verdict, not an error). */
static int s_coding(s_vc_t *v, const fhir_coding_t *c, const char *where, int many,
                    fhir_err_t *e)
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
            return s_outside(v, c, where, e);
        }
        if (v->vs_sys[0] && strcmp(sys, v->vs_sys) != 0) {
            return s_outside(v, c, where, e);
        }
    } else if (v->vs_sys[0]) {
        memcpy(sys, v->vs_sys, sizeof sys); /* the same size, NUL-terminated */
    } else {
        return fhir_fail(e, 400, "required", NULL,
                         "%ssystem is required (or url: a code system, or {uri}?fhir_vs)",
                         where);
    }
    return s_one(v, c, sys, where, e);
}

static int s_codings(s_vc_t *v, fhir_err_t *e)
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
        return s_coding(v, &c, "", 0, e);
    }
    if (has_coding) {
        return s_coding(v, &one, "Coding.", 0, e);
    }
    for (size_t i = 0; i < n_cc; i++) {
        char where[64];
        snprintf(where, sizeof where, "CodeableConcept.coding[%zu].", i);
        if (s_coding(v, &cc[i], where, 1, e) < 0) {
            return -1;
        }
    }
    return 0;
}

int fhir_op_validate(const fhir_request_t *r, const fhir_args_t *a, int value_set,
                     hs_jbuf_t *out, fhir_err_t *e)
{
    /* A value set or code system sent whole would be judged against a whole system here:
     * refused rather than answered for something else. */
    if (fhir_arg_has(a, value_set ? "valueSet" : "codeSystem")) {
        return fhir_fail(e, 422, "not-supported", NULL,
                         "a %s resource is not validated against here: give url (%s)",
                         value_set ? "ValueSet" : "CodeSystem",
                         value_set ? "{system uri}?fhir_vs" : "the system's URI");
    }
    s_vc_t vc; /* about 26 KB: a thread's stack holds it (a malloc this size was 2% of a call) */
    s_vc_t *v = &vc;
    v->r = r;
    v->a = a;
    v->vs_url = v->version = v->display = NULL;
    v->abstract_ok = 0;
    v->n = 0;
    int rc = -1;
    if (fhir_arg_bool(a, "abstract", &v->abstract_ok, e) < 0 || s_scope(v, value_set, e) < 0 ||
        fhir_arg_str(a, value_set ? "systemVersion" : "version", &v->version, e) < 0 ||
        fhir_arg_str(a, "display", &v->display, e) < 0) {
        rc = -1;
    } else if (value_set && !v->version && fhir_arg_str(a, "version", &v->version, e) < 0) {
        rc = -1;
    } else if (s_codings(v, e) == 0) {
        fhir_vc_write(out, v->verdicts, v->n);
        rc = 0;
    }
    for (size_t i = 0; i < v->n; i++) {
        fhir_tree_free(&v->slots[i].reply);
        fhir_tree_free(&v->slots[i].titles);
    }
    return rc;
}
