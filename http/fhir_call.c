/* fhir_call.c: running one of our query ops for a FHIR operation (fhir_call.h). */
#include "fhir_call.h"

#include <string.h>

#include "fhir_tree.h"
#include "util/cs_date.h"

cs_str_t fhir_cstr(const char *s)
{
    cs_str_t out = {s, s ? (uint32_t)strlen(s) : 0};
    return out;
}

int fhir_req_release(const fhir_args_t *a, const char *version_param, cs_request_t *req,
                     fhir_err_t *e)
{
    const char *version = NULL;
    char date[11];
    if (version_param && fhir_arg_str(a, version_param, &version, e) < 0) {
        return -1;
    }
    if (version) {
        req->release = fhir_cstr(version);
    }
    int rc = fhir_arg_date(a, "date", date, e);
    if (rc < 0) {
        return -1;
    }
    if (rc > 0) {
        req->has_date = cs_date_parse(date, 10, &req->date) == 0;
    }
    return 0;
}

/* The checks the wire decoder makes before a handler trusts a request (cs_op.h): the op is
 * a query op the engine answers, its required keys are there, strings are bounded. */
static int s_checked(const cs_request_t *req, fhir_err_t *e)
{
    if ((unsigned)req->op >= CS_OP_COUNT_ || !cs_ops[req->op].handler ||
        !(cs_ops[req->op].flags & CS_OPF_ENGINE)) {
        return fhir_fail(e, 500, "exception", NULL, "op %d is not a query op", (int)req->op);
    }
    const cs_str_t *strs[] = {&req->system, &req->release, &req->code, &req->from, &req->to,
                              &req->map, &req->to_release};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (strs[i]->len > CS_PROTO_MAX_STR) {
            return fhir_fail(e, 400, "invalid", NULL, "a parameter is longer than %d bytes",
                             CS_PROTO_MAX_STR);
        }
    }
    if (req->q.len > CS_PROTO_MAX_Q) {
        return fhir_fail(e, 400, "invalid", NULL, "the filter is longer than %d bytes",
                         CS_PROTO_MAX_Q);
    }
    const cs_key_t *need = cs_ops[req->op].required;
    for (size_t i = 0; i < 4 && need[i] != CS_KEY_NONE; i++) {
        const cs_str_t *s = need[i] == CS_KEY_SYSTEM ? &req->system
                            : need[i] == CS_KEY_CODE ? &req->code
                            : need[i] == CS_KEY_Q    ? &req->q
                            : need[i] == CS_KEY_FROM ? &req->from
                            : need[i] == CS_KEY_TO   ? &req->to
                                                     : NULL;
        if (s && !s->ptr) {
            return fhir_fail(e, 400, "required", NULL, "'%s' is required",
                             cs_key_name(need[i]));
        }
    }
    return 0;
}

int fhir_call_tree(const fhir_request_t *r, const cs_request_t *req, fhir_tree_t **t,
                   fhir_err_t *e)
{
    *t = NULL;
    if (!r->ctx || !r->ctx->engine) {
        return fhir_fail(e, 503, "exception", NULL, "no query engine is open on this thread");
    }
    if (s_checked(req, e) < 0) {
        return -1;
    }
    fhir_tree_t *w = fhir_tree_new();
    if (!w) {
        return fhir_fail(e, 500, "exception", NULL, "out of memory");
    }
    cs_proto_err_t pe = cs_ops[req->op].handler(r->ctx, req, fhir_tree_out(w));
    fhir_tv_t root = fhir_tree_root(w);
    if (root == FHIR_TV_NONE || fhir_tree_get(w, root, "ok") == FHIR_TV_NONE) {
        fhir_tree_free(&w);
        return fhir_fail(e, 500, "exception", NULL, "the %s op wrote no answer (out of memory)",
                         cs_ops[req->op].name);
    }
    if (pe != CS_PERR_NONE || !fhir_tree_true(w, fhir_tree_get(w, root, "ok"))) {
        fhir_tv_t err = fhir_tree_get(w, root, "error");
        fhir_fail_proto(e, pe != CS_PERR_NONE ? pe : CS_PERR_INTERNAL,
                        fhir_tree_str(w, fhir_tree_get(w, err, "message")));
        fhir_tree_free(&w);
        return -1;
    }
    *t = w;
    return 0;
}

int fhir_call(const fhir_request_t *r, const cs_request_t *req, json_t **reply, fhir_err_t *e)
{
    fhir_tree_t *t;
    *reply = NULL;
    if (fhir_call_tree(r, req, &t, e) < 0) {
        return -1;
    }
    *reply = fhir_tree_take(t);
    fhir_tree_free(&t);
    if (!*reply) {
        return fhir_fail(e, 500, "exception", NULL, "the %s op wrote no answer (out of memory)",
                         cs_ops[req->op].name);
    }
    return 0;
}
