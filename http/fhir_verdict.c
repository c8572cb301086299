/* fhir_verdict.c: a validate result as $validate-code's answer (fhir_ops.h): the verdict of
 * one coding, and the Parameters over several (a CodeableConcept).
 *
 * Issues carry the tx-issue-type codes tx.fhir.org uses: a code of the wrong syntax or not in
 * the release is invalid-code (OperationOutcome code "invalid" / "code-invalid"); a header
 * (not_billable) or a code not in effect on the date of service is code-rule
 * ("business-rule"): the code exists but may not stand on this claim; in a ValueSet check a
 * code outside the value set adds not-in-vs. Each issue also names our reason
 * (urn:codeset:reason). A wrong display is a warning (invalid-display) that leaves result as
 * the code decides.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fhir_ops.h"

/* s lower-cased, trimmed, each run of white space one space, into out (cut at cap). */
static void s_fold(const char *s, char *out, size_t cap)
{
    size_t at = 0;
    int space = 0;
    for (; *s && at + 1 < cap; s++) {
        if (isspace((unsigned char)*s)) {
            space = at > 0;
            continue;
        }
        if (space && at + 2 < cap) {
            out[at++] = ' ';
        }
        space = 0;
        out[at++] = (char)tolower((unsigned char)*s);
    }
    out[at] = '\0';
}

/* Equal but for case and runs of white space. */
static int s_loose_eq(const char *a, const char *b)
{
    char fa[2048], fb[2048];
    s_fold(a, fa, sizeof fa);
    s_fold(b, fb, sizeof fb);
    return strcmp(fa, fb) == 0;
}

/* v's array key, made when first needed: most verdicts have no issue. */
static json_t *s_list(json_t *v, const char *key)
{
    json_t *list = json_object_get(v, key);
    if (!list) {
        list = json_array();
        json_object_set_new_nocheck(v, key, list);
    }
    return list;
}

/* An issue onto verdict v ("issues"), its text onto v's "texts". */
static void s_issue(json_t *v, const char *severity, const char *code, const char *tx,
                    const char *reason, const char *text, const char *where, const char *field)
{
    char expr[96];
    snprintf(expr, sizeof expr, "%s%s", where ? where : "", field);
    json_array_append_new(s_list(v, "issues"),
                          fhir_issue(severity, code, tx, reason, text, expr));
    json_array_append_new(s_list(v, "texts"), fhir_str(text));
}

static const char *s_get(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The reason's issue: an error, typed as the reason says. */
static void s_reason_issue(const fhir_vc_in_t *in, const char *code, json_t *v)
{
    const char *reason = s_get(in->result, "reason");
    const char *msg = s_get(in->result, "message");
    char fallback[256];
    if (!reason) {
        reason = "unknown";
    }
    if (!msg) {
        snprintf(fallback, sizeof fallback, "Unknown code '%.100s' in the CodeSystem '%.100s'",
                 code, in->uri);
        msg = fallback;
    }
    int rule = strcmp(reason, "not_billable") == 0 || strcmp(reason, "not_effective") == 0;
    const char *type = strcmp(reason, "malformed") == 0 ? "invalid"
                       : rule                         ? "business-rule"
                                                      : "code-invalid";
    s_issue(v, "error", type, rule ? "code-rule" : "invalid-code", reason, msg,
            in->where, "code");
    if (in->value_set && strcmp(reason, "not_billable") != 0) {
        char text[768];
        snprintf(text, sizeof text,
                 "The provided code '%.200s#%.100s' was not found in the value set '%.300s'",
                 in->uri, code, in->value_set);
        s_issue(v, "error", "code-invalid", "not-in-vs", NULL, text, in->where,
                "code");
    }
}

json_t *fhir_vc_verdict(const fhir_vc_in_t *in)
{
    int valid = json_is_true(json_object_get(in->result, "valid"));
    const char *reason = s_get(in->result, "reason");
    /* abstract=true: the client allows a header here (a grouping, not a claim line). */
    int header_ok = !valid && in->abstract_ok && reason && strcmp(reason, "not_billable") == 0;
    const char *code = s_get(in->result, "code");
    if (!code) {
        code = s_get(in->result, "input");
    }
    code = code ? code : "";
    const char *title = s_get(in->result, "title");
    title = title ? title : in->title;
    json_t *v = json_object();
    /* The reply's own strings are shared (a reference, not a copy): they are UTF-8 already. */
    json_t *jcode = json_object_get(in->result, json_object_get(in->result, "code") ? "code"
                                                                                    : "input");
    json_t *jtitle = json_object_get(in->result, "title");
    json_object_set_new_nocheck(v, "result", json_boolean(valid || header_ok));
    json_object_set_new_nocheck(v, "system", fhir_str(in->uri));
    json_object_set_new_nocheck(v, "code", json_is_string(jcode) ? json_incref(jcode)
                                                                 : fhir_str(code));
    if (in->release) {
        json_object_set_new_nocheck(v, "version", fhir_str(in->release));
    }
    if (title) {
        json_object_set_new_nocheck(v, "display", json_is_string(jtitle) ? json_incref(jtitle)
                                                                         : fhir_str(title));
    }
    if (header_ok) {
        s_issue(v, "information", "business-rule", "code-rule", reason,
                s_get(in->result, "message"), in->where, "code");
    } else if (!valid) {
        s_reason_issue(in, code, v);
    }
    if (in->display && title && !s_loose_eq(in->display, title) &&
        !(in->short_title && s_loose_eq(in->display, in->short_title))) {
        char text[1024];
        snprintf(text, sizeof text,
                 "Wrong Display Name '%.200s' for %.200s#%.100s. Valid display is '%.400s'",
                 in->display, in->uri, code, title);
        s_issue(v, "warning", "invalid", "invalid-display", NULL, text, in->where,
                "display");
    }
    return v;
}

/* The texts of v joined with "; " onto buf. */
static void s_join(const json_t *v, char *buf, size_t cap, size_t *at)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(v, "texts"), i, t) {
        int n = snprintf(buf + *at, cap - *at, "%s%s", *at ? "; " : "", json_string_value(t));
        *at += n > 0 ? (size_t)n : 0;
        if (*at >= cap) {
            *at = cap - 1;
        }
    }
}

json_t *fhir_vc_parameters(const json_t *verdicts)
{
    size_t n = json_array_size(verdicts), pick = 0;
    int any = 0;
    for (size_t i = 0; i < n && !any; i++) {
        if (json_is_true(json_object_get(json_array_get(verdicts, i), "result"))) {
            any = 1;
            pick = i;
        }
    }
    const json_t *chosen = json_array_get(verdicts, pick);
    json_t *params = fhir_parameters_new();
    fhir_put(params, "result", "valueBoolean", json_boolean(any));
    static const char *const keys[][2] = {{"code", "valueCode"},
                                          {"system", "valueUri"},
                                          {"version", "valueString"},
                                          {"display", "valueString"}};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        json_t *val = json_object_get(chosen, keys[k][0]);
        if (val) {
            fhir_put(params, keys[k][0], keys[k][1], json_incref(val));
        }
    }
    /* A valid answer speaks of its own coding; a refusal of every coding that failed. */
    char msg[4096];
    size_t at = 0;
    json_t *issues = NULL;
    msg[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(verdicts, i);
        if ((any && i != pick) || !json_array_size(json_object_get(v, "issues"))) {
            continue;
        }
        s_join(v, msg, sizeof msg, &at);
        issues = issues ? issues : json_array();
        json_array_extend(issues, json_object_get(v, "issues"));
    }
    if (at) {
        fhir_put_str(params, "message", "valueString", msg);
    }
    if (issues) {
        fhir_put(params, "issues", "resource", fhir_outcome_of(issues));
    }
    return params;
}
