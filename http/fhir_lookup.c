/* fhir_lookup.c: CodeSystem/$lookup, answered by our lookup op (fhir_ops.h).
 *
 * Parameters out: code, system, name, version (the release label), display (the title), a
 * designation for the short title, and properties: parent, child (one per child),
 * notSelectable (true unless billable), kind, the notes (one property per note, its key as
 * the code), seven_chr_def ("A: initial encounter..."), valid_from / valid_to, and each
 * attribute under its own name (docs/FHIR.md lists them). A "property" parameter keeps only
 * the codes it names ("*": all).
 */
#include <stdio.h>
#include <string.h>

#include "fhir_call.h"
#include "fhir_ops.h"
#include "fhir_system.h"

#define S_PROPS_MAX 64

/* Is property code wanted? */
static int s_wanted(const char *code, const char *const *props, size_t n)
{
    if (n == 0) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(props[i], code) == 0 || strcmp(props[i], "*") == 0) {
            return 1;
        }
    }
    return 0;
}

/* property {code, value[x]}; val stolen. */
static void s_prop(json_t *params, const char *code, const char *vkey, json_t *val,
                   const char *const *props, size_t n)
{
    if (!val) {
        return;
    }
    if (!s_wanted(code, props, n)) {
        json_decref(val);
        return;
    }
    json_t *p = fhir_put_part(params, "property");
    if (!p) {
        json_decref(val);
        return;
    }
    fhir_put(p, "code", "valueCode", json_string(code));
    fhir_put(p, "value", vkey, val);
}

static json_t *s_copy_str(const json_t *v)
{
    return json_is_string(v) ? json_stringn(json_string_value(v), json_string_length(v)) : NULL;
}

static void s_notes(json_t *params, const json_t *notes, const char *const *props, size_t n)
{
    const char *key;
    json_t *list;
    json_object_foreach((json_t *)notes, key, list) {
        size_t i;
        json_t *v;
        if (json_is_array(list)) {
            json_array_foreach(list, i, v) {
                s_prop(params, key, "valueString", s_copy_str(v), props, n);
            }
        } else if (json_is_object(list)) { /* seven_chr_def: character -> meaning */
            const char *ch;
            json_object_foreach(list, ch, v) {
                char buf[4096];
                snprintf(buf, sizeof buf, "%s: %s", ch,
                         json_is_string(v) ? json_string_value(v) : "");
                s_prop(params, key, "valueString", fhir_str(buf), props, n);
            }
        }
    }
}

json_t *fhir_lookup_parameters(const fhir_config_t *c, const json_t *reply,
                               const char *const *props, size_t n)
{
    json_t *params = fhir_parameters_new();
    const char *sys = json_string_value(json_object_get(reply, "system"));
    char uri[512];
    fhir_system_uri(c, sys ? sys : "", uri, sizeof uri);
    fhir_put(params, "code", "valueCode", s_copy_str(json_object_get(reply, "code")));
    fhir_put_str(params, "system", "valueUri", uri);
    fhir_put_str(params, "name", "valueString", fhir_system_title(sys));
    fhir_put(params, "version", "valueString", s_copy_str(json_object_get(reply, "release")));
    fhir_put(params, "display", "valueString", s_copy_str(json_object_get(reply, "title")));
    json_t *short_title = json_object_get(reply, "short");
    if (json_is_string(short_title)) {
        json_t *d = fhir_put_part(params, "designation");
        fhir_put_str(d, "language", "valueCode", "en");
        fhir_put(d, "use", "valueCoding",
                 json_pack("{s:s,s:s,s:s}", "system", "http://snomed.info/sct", "code",
                           "900000000000013009", "display", "Synonym (core metadata concept)"));
        fhir_put(d, "value", "valueString", s_copy_str(short_title));
    }
    s_prop(params, "parent", "valueCode", s_copy_str(json_object_get(reply, "parent")), props,
           n);
    size_t i;
    json_t *child;
    json_array_foreach(json_object_get(reply, "children"), i, child) {
        s_prop(params, "child", "valueCode", s_copy_str(json_object_get(child, "code")), props,
               n);
    }
    s_prop(params, "notSelectable", "valueBoolean",
           json_boolean(!json_is_true(json_object_get(reply, "billable"))), props, n);
    s_prop(params, "kind", "valueCode", s_copy_str(json_object_get(reply, "kind")), props, n);
    s_prop(params, "valid_from", "valueDateTime",
           s_copy_str(json_object_get(reply, "valid_from")), props, n);
    s_prop(params, "valid_to", "valueDateTime", s_copy_str(json_object_get(reply, "valid_to")),
           props, n);
    json_t *notes = json_object_get(reply, "notes");
    if (json_is_object(notes)) {
        s_notes(params, notes, props, n);
    }
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(reply, "attributes"), key, v) {
        s_prop(params, key, "valueString", s_copy_str(v), props, n);
    }
    return params;
}

/* The code and system of a $lookup or $subsumes: code + system, or coding. */
static int s_code_system(const fhir_request_t *r, const fhir_args_t *a, const char *code_param,
                         const char **code, char sys[FHIR_SYSTEM_NAME_MAX], fhir_err_t *e)
{
    const char *uri = NULL;
    fhir_coding_t coding;
    int has_coding = fhir_arg_coding(a, "coding", &coding, e);
    if (has_coding < 0) {
        return -1;
    }
    int rc = fhir_arg_str(a, code_param, code, e);
    if (rc < 0) {
        return -1;
    }
    if (rc == 0 && has_coding) {
        *code = coding.code;
        uri = coding.system;
    }
    if (!*code) {
        return fhir_fail(e, 400, "required", NULL, "parameter '%s' (or a coding) is required",
                         code_param);
    }
    rc = uri ? fhir_system_of(r->config, uri, "coding.system", sys, e)
             : fhir_arg_system(r->config, a, "system", sys, &uri, e);
    if (rc < 0) {
        return -1;
    }
    if (rc == 0) {
        return fhir_fail(e, 400, "required", NULL, "parameter 'system' is required");
    }
    return 0;
}

int fhir_op_lookup(const fhir_request_t *r, const fhir_args_t *a, json_t **out, fhir_err_t *e)
{
    const char *code = NULL;
    char sys[FHIR_SYSTEM_NAME_MAX];
    const char *props[S_PROPS_MAX];
    size_t n_props = 0;
    if (s_code_system(r, a, "code", &code, sys, e) < 0 ||
        fhir_arg_strs(a, "property", props, S_PROPS_MAX, &n_props, e) < 0) {
        return -1;
    }
    cs_request_t req;
    cs_request_init(&req);
    req.op = CS_OP_LOOKUP;
    req.system = fhir_cstr(sys);
    req.code = fhir_cstr(code);
    req.include = CS_INCLUDE_NOTES | CS_INCLUDE_CHILDREN;
    if (fhir_req_release(a, "version", &req, e) < 0) {
        return -1;
    }
    json_t *reply;
    if (fhir_call(r, &req, &reply, e) < 0) {
        return -1;
    }
    if (!json_is_true(json_object_get(reply, "found"))) {
        const char *msg = json_string_value(json_object_get(reply, "message"));
        const char *rel = json_string_value(json_object_get(reply, "release"));
        char uri[512];
        fhir_system_uri(r->config, sys, uri, sizeof uri);
        if (msg) {
            fhir_fail(e, 404, "not-found", "invalid-code", "%s", msg);
        } else {
            fhir_fail(e, 404, "not-found", "invalid-code",
                      "Unknown code '%.100s' in the CodeSystem '%s' version '%s'", code, uri,
                      rel ? rel : "");
        }
        json_decref(reply);
        return -1;
    }
    *out = fhir_lookup_parameters(r->config, reply, props, n_props);
    json_decref(reply);
    return 0;
}
