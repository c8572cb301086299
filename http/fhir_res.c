/* fhir_res.c: Parameters, OperationOutcome and errors (fhir_res.h). */
#include "fhir_res.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int fhir_fail(fhir_err_t *e, int status, const char *code, const char *tx, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    e->tx = tx;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int fhir_fail_proto(fhir_err_t *e, cs_proto_err_t pe, const char *message)
{
    const char *m = message && *message ? message : cs_proto_errname(pe);
    switch (pe) {
    case CS_PERR_BAD_REQUEST:
    case CS_PERR_UNSUPPORTED_VERSION:
        return fhir_fail(e, 400, "invalid", NULL, "%s", m);
    case CS_PERR_UNKNOWN_SYSTEM:
    case CS_PERR_UNKNOWN_RELEASE:
    case CS_PERR_NO_RELEASE_FOR_DATE:
        return fhir_fail(e, 404, "not-found", "not-found", "%s", m);
    case CS_PERR_UNKNOWN_OP:
        return fhir_fail(e, 404, "not-supported", NULL, "%s", m);
    case CS_PERR_TOO_MANY:
        return fhir_fail(e, 400, "too-costly", NULL, "%s", m);
    case CS_PERR_FORBIDDEN:
        return fhir_fail(e, 403, "forbidden", NULL, "%s", m);
    case CS_PERR_BUSY:
        return fhir_fail(e, 429, "throttled", NULL, "%s", m);
    case CS_PERR_CORRUPT_RELEASE:
        return fhir_fail(e, 503, "exception", NULL, "%s", m);
    default:
        return fhir_fail(e, 500, "exception", NULL, "%s", m);
    }
}

json_t *fhir_strn(const char *s, size_t n)
{
    if (!s) {
        return json_string("");
    }
    json_t *j = json_stringn(s, n);
    if (j) {
        return j;
    }
    /* Not UTF-8 (a message cut mid-character, say): keep the ASCII, '?' for the rest. */
    char *copy = malloc(n + 1);
    if (!copy) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        copy[i] = c >= 0x80 || c == 0 ? '?' : (char)c;
    }
    j = json_stringn(copy, n);
    free(copy);
    return j;
}

json_t *fhir_str(const char *s)
{
    return fhir_strn(s, s ? strlen(s) : 0);
}

json_t *fhir_issue(const char *severity, const char *code, const char *tx, const char *reason,
                   const char *text, const char *expr)
{
    json_t *issue = json_object();
    json_t *details = json_object();
    json_t *coding = json_array();
    if (tx) {
        json_array_append_new(coding, json_pack("{s:s,s:s}", "system", FHIR_TX_ISSUE_SYSTEM,
                                                "code", tx));
    }
    if (reason) {
        json_array_append_new(coding, json_pack("{s:s,s:s}", "system", FHIR_REASON_SYSTEM,
                                                "code", reason));
    }
    json_object_set_new(issue, "severity", json_string(severity));
    json_object_set_new(issue, "code", json_string(code));
    if (json_array_size(coding)) {
        json_object_set(details, "coding", coding);
    }
    json_decref(coding);
    json_object_set_new(details, "text", fhir_str(text));
    json_object_set_new(issue, "details", details);
    if (expr) {
        json_object_set_new(issue, "location", json_pack("[s]", expr));
        json_object_set_new(issue, "expression", json_pack("[s]", expr));
    }
    return issue;
}

json_t *fhir_outcome_of(json_t *issues)
{
    json_t *oo = json_object();
    json_object_set_new(oo, "resourceType", json_string("OperationOutcome"));
    json_object_set_new(oo, "issue", issues ? issues : json_array());
    return oo;
}

json_t *fhir_outcome(const fhir_err_t *e)
{
    json_t *issues = json_array();
    json_t *issue = fhir_issue("error", e->code ? e->code : "exception", e->tx, NULL, e->msg,
                               NULL);
    json_object_set_new(issue, "diagnostics", fhir_str(e->msg)); /* as HAPI FHIR writes it */
    json_array_append_new(issues, issue);
    return fhir_outcome_of(issues);
}

json_t *fhir_parameters_new(void)
{
    json_t *p = json_object();
    json_object_set_new_nocheck(p, "resourceType", json_string_nocheck("Parameters"));
    json_object_set_new_nocheck(p, "parameter", json_array());
    return p;
}

static json_t *s_list(json_t *holder)
{
    json_t *list = json_object_get(holder, "parameter");
    return list ? list : json_object_get(holder, "part");
}

void fhir_put(json_t *holder, const char *name, const char *vkey, json_t *val)
{
    if (!val) {
        return;
    }
    /* name and vkey are this program's own ASCII: no UTF-8 check needed */
    json_t *p = json_object();
    json_object_set_new_nocheck(p, "name", json_string_nocheck(name));
    json_object_set_new_nocheck(p, vkey, val);
    json_array_append_new(s_list(holder), p); /* on failure it releases p */
}

void fhir_put_str(json_t *holder, const char *name, const char *vkey, const char *s)
{
    if (s) {
        fhir_put(holder, name, vkey, fhir_str(s));
    }
}

json_t *fhir_put_part(json_t *holder, const char *name)
{
    json_t *p = json_pack("{s:s,s:[]}", "name", name, "part");
    if (!p || json_array_append_new(s_list(holder), p) != 0) {
        return NULL;
    }
    return p;
}

json_t *fhir_get_param(const json_t *params, const char *name)
{
    json_t *list = json_object_get(params, "parameter");
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, name) == 0) {
            return p;
        }
    }
    return NULL;
}

void fhir_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
