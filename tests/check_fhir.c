/* check_fhir.c: the FHIR terminology facade (http/fhir*.c). First its parts on their own:
 * system URIs, parameters read from hostile GET queries and POST bodies, and each
 * operation's resource built from replies written here as docs/PROTOCOL.md shows them. Then
 * fhir_handle end to end over a real store: a codesetd loads the bundled samples, stops, and
 * its database answers in-process through the engine, as codeset-http does. */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../http/fhir.h"
#include "../http/fhir_args.h"
#include "../http/fhir_ops.h"
#include "../http/fhir_res.h"
#include "../http/fhir_system.h"
#include "../http/fhir_tree.h"
#include "codeset/codeset.h"
#include "cs_daemon.h"
#include "cs_test.h"
#include "engine/cs_query.h"
#include "load/cs_plugin_host.h"
#include "store/cs_store.h"

#define T_TIMEOUT 10000 /* ms for a broker's reply */

Suite *cs_fhir_suite(void);

/* ---- helpers ---- */

/* Append to buf (cap bytes) at *at, never past its end. */
static void s_cat(char *buf, size_t cap, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_cat(char *buf, size_t cap, size_t *at, const char *fmt, ...)
{
    if (*at + 1 >= cap) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *at, cap - *at, fmt, ap);
    va_end(ap);
    *at = n < 0 ? *at : (*at + (size_t)n >= cap ? cap - 1 : *at + (size_t)n);
}

static json_t *s_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    ck_assert_msg(j != NULL, "bad test JSON at %d: %s", err.position, err.text);
    return j;
}

/* The value[x] of parameter name (the first), or NULL. */
static json_t *s_pval(const json_t *params, const char *name, const char *vkey)
{
    return json_object_get(fhir_get_param(params, name), vkey);
}

static const char *s_pstr(const json_t *params, const char *name, const char *vkey)
{
    return json_string_value(s_pval(params, name, vkey));
}

/* The part named name of a part/parameter (borrowed), or NULL. */
static json_t *s_part(const json_t *p, const char *name)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(p, "part"), i, x) {
        if (strcmp(json_string_value(json_object_get(x, "name")), name) == 0) {
            return x;
        }
    }
    return NULL;
}

/* The values of property code (as text: a code/string/dateTime, or "true"/"false"), joined
 * with ',' into buf. */
static const char *s_props(const json_t *params, const char *code, char *buf, size_t cap)
{
    size_t i, at = 0;
    json_t *p;
    buf[0] = '\0';
    json_array_foreach(json_object_get(params, "parameter"), i, p) {
        if (strcmp(json_string_value(json_object_get(p, "name")), "property") != 0) {
            continue;
        }
        const char *c = json_string_value(json_object_get(s_part(p, "code"), "valueCode"));
        if (!c || strcmp(c, code) != 0) {
            continue;
        }
        json_t *v = s_part(p, "value");
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val) {
            if (strncmp(key, "value", 5) != 0) {
                continue;
            }
            const char *t = json_is_string(val) ? json_string_value(val)
                            : json_is_true(val) ? "true"
                            : json_is_false(val) ? "false"
                                                 : "?";
            s_cat(buf, cap, &at, "%s%s", at ? "," : "", t);
        }
    }
    return buf;
}

/* The issues of an OperationOutcome (the resource itself, or a Parameters' "issues"). */
static json_t *s_issues(const json_t *res)
{
    json_t *oo = json_object_get(fhir_get_param(res, "issues"), "resource");
    return json_object_get(oo ? oo : res, "issue");
}

/* Does some issue have this tx-issue-type code (and severity, when not NULL)? */
static int s_has_tx(const json_t *res, const char *tx, const char *severity)
{
    size_t i, j;
    json_t *issue, *c;
    json_array_foreach(s_issues(res), i, issue) {
        if (severity &&
            strcmp(json_string_value(json_object_get(issue, "severity")), severity) != 0) {
            continue;
        }
        json_array_foreach(json_object_get(json_object_get(issue, "details"), "coding"), j, c) {
            const char *code = json_string_value(json_object_get(c, "code"));
            if (code && strcmp(code, tx) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* ---- the JSON tree writer ---- */

START_TEST(test_tree_writer)
{
    fhir_tree_t *t = fhir_tree_new();
    cs_out_t *o = fhir_tree_out(t);
    cs_out_map(o, 4);
    cs_out_kv_str(o, "code", "E11.9");
    cs_out_kv_bool(o, "found", 1);
    size_t m = cs_out_mark(o);
    cs_out_kv_int(o, "junk", 7); /* taken back: a handler that changes its mind */
    cs_out_rewind(o, m);
    cs_out_kv_int(o, "n", -3);
    cs_out_cstr(o, "list");
    cs_out_array(o, 3);
    cs_out_f64(o, 1.5);
    cs_out_nil(o);
    cs_out_strn(o, "caf\xc3", 4); /* not UTF-8: repaired, never dropped */
    json_t *j = fhir_tree_take(t);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "code")), "E11.9");
    ck_assert(json_is_true(json_object_get(j, "found")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "n")), -3);
    ck_assert_ptr_null(json_object_get(j, "junk"));
    json_t *list = json_object_get(j, "list");
    ck_assert_int_eq(json_array_size(list), 3);
    ck_assert(json_is_null(json_array_get(list, 1)));
    ck_assert_ptr_nonnull(json_string_value(json_array_get(list, 2)));
    json_decref(j);
    /* the same read in place, without a tree */
    cs_out_map(o, 3);
    cs_out_kv_str(o, "code", "E11.9");
    cs_out_cstr(o, "list");
    cs_out_array(o, 2);
    cs_out_map(o, 1);
    cs_out_kv_bool(o, "deep", 1);
    cs_out_cstr(o, "x");
    cs_out_kv_bool(o, "found", 1);
    fhir_tv_t root = fhir_tree_root(t);
    ck_assert(root != FHIR_TV_NONE);
    ck_assert_str_eq(fhir_tree_str(t, fhir_tree_get(t, root, "code")), "E11.9");
    ck_assert(fhir_tree_true(t, fhir_tree_get(t, root, "found"))); /* after a nested value */
    fhir_tv_t list2 = fhir_tree_get(t, root, "list");
    ck_assert(fhir_tree_true(t, fhir_tree_get(t, fhir_tree_item(t, list2, 0), "deep")));
    ck_assert_str_eq(fhir_tree_str(t, fhir_tree_item(t, list2, 1)), "x");
    ck_assert(fhir_tree_item(t, list2, 2) == FHIR_TV_NONE);
    ck_assert(fhir_tree_get(t, root, "nope") == FHIR_TV_NONE);
    ck_assert_ptr_null(fhir_tree_str(t, fhir_tree_get(t, root, "found")));
    ck_assert(!fhir_tree_true(t, FHIR_TV_NONE));
    json_decref(fhir_tree_take(t));
    cs_out_map(o, 2); /* cut short: no root */
    cs_out_kv_int(o, "a", 1);
    ck_assert(fhir_tree_root(t) == FHIR_TV_NONE);
    json_decref(fhir_tree_take(t));
    /* a validate result and a search hit, as their trees; an error reply */
    cs_span_t hint[] = {{"E11.9", 5}};
    cs_validation_t v = {.reason = CS_REASON_NOT_BILLABLE, .input = {"e11", 3},
                         .code = {"E11", 3}, .kind = {"category", 8}, .message = "a header",
                         .hint = hint, .n_hint = 1};
    cs_out_array(o, 2);
    cs_out_validation(o, &v);
    cs_hit_t h = {.code = {"E11.9", 5}, .title = {"T2DM", 4}, .billable = 1, .score = 9};
    cs_out_hit(o, &h);
    j = fhir_tree_take(t);
    json_t *r0 = json_array_get(j, 0), *r1 = json_array_get(j, 1);
    ck_assert_str_eq(json_string_value(json_object_get(r0, "reason")), "not_billable");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r0, "hint"), 0)), "E11.9");
    ck_assert_str_eq(json_string_value(json_object_get(r1, "title")), "T2DM");
    json_decref(j);
    cs_reply_error(o, NULL, CS_PERR_UNKNOWN_SYSTEM, "no such system");
    j = fhir_tree_take(t);
    ck_assert(json_is_false(json_object_get(j, "ok")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                     "unknown_system");
    json_decref(j);
    /* a stream cut short builds nothing */
    cs_out_map(o, 2);
    cs_out_kv_int(o, "a", 1);
    ck_assert_ptr_null(fhir_tree_take(t));
    fhir_tree_free(&t);
    ck_assert_ptr_null(t);
}
END_TEST

/* ---- system URIs ---- */

START_TEST(test_system_uris)
{
    char name[FHIR_SYSTEM_NAME_MAX], uri[256];
    static const char *const pairs[][2] = {
        {"http://hl7.org/fhir/sid/icd-10-cm", "icd10cm"},
        {"http://www.cms.gov/Medicare/Coding/ICD10", "icd10pcs"},
        {"http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "hcpcs"},
        {"https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "hcpcs"},
        {"http://www.ama-assn.org/go/cpt", "cpt"},
        {"http://hl7.org/fhir/sid/icd-9-cm", "icd9cm"},
        {"urn:codeset:icd9pcs", "icd9pcs"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        ck_assert_int_eq(fhir_system_name(NULL, pairs[i][0], name, sizeof name), 1);
        ck_assert_str_eq(name, pairs[i][1]);
    }
    ck_assert_int_eq(fhir_system_name(NULL, "https://hl7.org/fhir/sid/icd-10-cm", name,
                                      sizeof name), 0); /* https only for HCPCS */
    ck_assert_int_eq(fhir_system_name(NULL, "http://snomed.info/sct", name, sizeof name), 0);
    ck_assert_int_eq(fhir_system_name(NULL, "urn:codeset:", name, sizeof name), 0);
    ck_assert_int_eq(fhir_system_name(NULL, NULL, name, sizeof name), 0);
    ck_assert_str_eq(fhir_system_uri(NULL, "hcpcs", uri, sizeof uri),
                     "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets");
    ck_assert_str_eq(fhir_system_uri(NULL, "icd9pcs", uri, sizeof uri), "urn:codeset:icd9pcs");
    ck_assert_str_eq(fhir_system_title("icd10cm"), "ICD-10-CM");
    /* configured: a plugin's system, and a built-in one renamed */
    fhir_config_t c = {.extra_names = {"snomedx", "cpt"},
                       .extra_uris = {"http://example.org/snomedx", "http://example.org/cpt"},
                       .n_extra = 2};
    ck_assert_int_eq(fhir_system_name(&c, "http://example.org/snomedx", name, sizeof name), 1);
    ck_assert_str_eq(name, "snomedx");
    ck_assert_str_eq(fhir_system_uri(&c, "cpt", uri, sizeof uri), "http://example.org/cpt");
    ck_assert_int_eq(fhir_system_name(&c, "http://example.org/cpt", name, sizeof name), 1);
    ck_assert_str_eq(name, "cpt");
}
END_TEST

/* ---- parameters ---- */

START_TEST(test_args_query)
{
    json_t *q = s_json("{\"system\":[\"http://hl7.org/fhir/sid/icd-10-cm\"],\"code\":[\"E11.9\"],"
                       "\"count\":[\"25\"],\"activeOnly\":[\"true\"],\"date\":[\"2021-03-01T10:"
                           "00:00Z\"],"
                       "\"property\":[\"parent\",\"child\"],\"coding\":[\"urn:x|A1\"],"
                       "\"twice\":[\"a\",\"b\"]}");
    fhir_args_t a;
    fhir_err_t e = {0};
    ck_assert_int_eq(fhir_args_from_query(&a, q, &e), 0);
    const char *s;
    ck_assert_int_eq(fhir_arg_str(&a, "code", &s, &e), 1);
    ck_assert_str_eq(s, "E11.9");
    ck_assert_int_eq(fhir_arg_str(&a, "absent", &s, &e), 0);
    int64_t n;
    ck_assert_int_eq(fhir_arg_int(&a, "count", 0, 500, &n, &e), 1);
    ck_assert_int_eq(n, 25);
    ck_assert_int_eq(fhir_arg_int(&a, "count", 0, 10, &n, &e), -1);
    ck_assert_int_eq(e.status, 400);
    int b;
    ck_assert_int_eq(fhir_arg_bool(&a, "activeOnly", &b, &e), 1);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(fhir_arg_bool(&a, "code", &b, &e), -1);
    char date[11];
    ck_assert_int_eq(fhir_arg_date(&a, "date", date, &e), 1);
    ck_assert_str_eq(date, "2021-03-01");
    const char *props[4];
    size_t np;
    ck_assert_int_eq(fhir_arg_strs(&a, "property", props, 4, &np, &e), 1);
    ck_assert_int_eq(np, 2);
    ck_assert_str_eq(props[1], "child");
    ck_assert_int_eq(fhir_arg_strs(&a, "property", props, 1, &np, &e), -1);
    fhir_coding_t c;
    ck_assert_int_eq(fhir_arg_coding(&a, "coding", &c, &e), 1);
    ck_assert_str_eq(c.system, "urn:x");
    ck_assert_str_eq(c.code, "A1");
    ck_assert_int_eq(fhir_arg_str(&a, "twice", &s, &e), -1);
    ck_assert_int_eq(e.status, 400);
    ck_assert_ptr_nonnull(strstr(e.msg, "given 2 times"));
    fhir_coding_t cc[FHIR_CC_MAX];
    size_t ncc;
    ck_assert_int_eq(fhir_arg_cc(&a, "code", cc, &ncc, &e), -1); /* no CodeableConcept in GET */
    fhir_args_free(&a);
    json_decref(q);
}
END_TEST

/* Each query or body must fail with 400 and a message that names the problem. */
static void s_bad_args(const char *text, int body, const char *getter, const char *name,
                       const char *needle)
{
    json_t *j = s_json(text);
    fhir_args_t a;
    fhir_err_t e = {0};
    int rc = body ? fhir_args_from_body(&a, j, &e) : fhir_args_from_query(&a, j, &e);
    if (rc == 0 && getter) {
        const char *s;
        int64_t n;
        int b;
        char d[11];
        fhir_coding_t c, cc[FHIR_CC_MAX];
        size_t ncc;
        rc = strcmp(getter, "str") == 0    ? fhir_arg_str(&a, name, &s, &e)
             : strcmp(getter, "int") == 0  ? fhir_arg_int(&a, name, 0, 1000, &n, &e)
             : strcmp(getter, "bool") == 0 ? fhir_arg_bool(&a, name, &b, &e)
             : strcmp(getter, "date") == 0 ? fhir_arg_date(&a, name, d, &e)
             : strcmp(getter, "coding") == 0 ? fhir_arg_coding(&a, name, &c, &e)
                                             : fhir_arg_cc(&a, name, cc, &ncc, &e);
    }
    ck_assert_msg(rc < 0, "accepted: %s", text);
    ck_assert_int_eq(e.status, 400);
    ck_assert_msg(strstr(e.msg, needle) != NULL, "'%s' not in '%s'", needle, e.msg);
    fhir_args_free(&a);
    json_decref(j);
}

START_TEST(test_args_hostile)
{
    s_bad_args("{\"code\":{\"a\":1}}", 0, NULL, NULL, "has no text");
    s_bad_args("{\"code\":[1,2]}", 0, NULL, NULL, "not text");
    s_bad_args("{\"count\":[\"12abc\"]}", 0, "int", "count", "whole number");
    s_bad_args("{\"count\":[\"99999999999999999999999\"]}", 0, "int", "count", "whole number");
    s_bad_args("{\"count\":[\"-1\"]}", 0, "int", "count", "whole number");
    s_bad_args("{\"date\":[\"2021-02-30\"]}", 0, "date", "date", "real date");
    s_bad_args("{\"date\":[\"2021\"]}", 0, "date", "date", "real date");
    s_bad_args("{\"date\":[\"2021-03-01X\"]}", 0, "date", "date", "real date");
    s_bad_args("{\"b\":[\"yes\"]}", 0, "bool", "b", "true or false");
    s_bad_args("{\"coding\":[\"nobar\"]}", 0, "coding", "coding", "Coding");
    s_bad_args("[1,2,3]", 0, NULL, NULL, "not a set");
    /* bodies */
    s_bad_args("{\"resourceType\":\"Patient\"}", 1, NULL, NULL, "Parameters");
    s_bad_args("[\"Parameters\"]", 1, NULL, NULL, "Parameters");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":{}}", 1, NULL, NULL, "array");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[7]}", 1, NULL, NULL,
               "parameter[0]");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":5}]}", 1, NULL, NULL,
               "string name");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"code\","
               "\"valueCode\":42}]}", 1, NULL, NULL, "wrong JSON type");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"code\","
               "\"valueCode\":\"A\",\"valueString\":\"B\"}]}", 1, NULL, NULL, "more than one");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"code\","
               "\"valueCoding\":{\"code\":\"A\"}}]}", 1, "str", "code", "must be text");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"code\"}]}", 1, "str",
               "code", "without a value");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"coding\","
               "\"valueCoding\":{\"code\":[\"A\"]}}]}", 1, "coding", "coding", "coding.code");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"cc\","
               "\"valueCodeableConcept\":{\"coding\":[]}}]}", 1, "cc", "cc", "at least one");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"cc\","
               "\"valueCodeableConcept\":{\"coding\":[1]}}]}", 1, "cc", "cc", "cc.coding[0]");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"count\","
               "\"valueInteger\":1.5}]}", 1, NULL, NULL, "wrong JSON type");
    s_bad_args("{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"count\","
               "\"valueDecimal\":1.5}]}", 1, "int", "count", "whole number");
}
END_TEST

START_TEST(test_args_big)
{
    /* a huge string, a NUL inside, too many codings, too many parameters */
    size_t big = CS_PROTO_MAX_STR + 10;
    char *s = malloc(big + 1);
    memset(s, 'A', big);
    s[big] = '\0';
    json_t *q = json_pack("{s:[s]}", "code", s);
    fhir_args_t a;
    fhir_err_t e = {0};
    const char *out;
    ck_assert_int_eq(fhir_args_from_query(&a, q, &e), 0);
    ck_assert_int_eq(fhir_arg_str(&a, "code", &out, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "longer than"));
    fhir_args_free(&a);
    json_decref(q);
    free(s);

    q = json_pack("{s:[o]}", "code", json_stringn("E1\0" "1", 4));
    ck_assert_int_eq(fhir_args_from_query(&a, q, &e), 0);
    ck_assert_int_eq(fhir_arg_str(&a, "code", &out, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "NUL"));
    fhir_args_free(&a);
    json_decref(q);

    json_t *codings = json_array();
    for (int i = 0; i < FHIR_CC_MAX + 1; i++) {
        json_array_append_new(codings, json_pack("{s:s}", "code", "E11.9"));
    }
    json_t *body = json_pack("{s:s,s:[{s:s,s:{s:o}}]}", "resourceType", "Parameters",
                             "parameter", "name", "codeableConcept", "valueCodeableConcept",
                             "coding", codings);
    fhir_coding_t cc[FHIR_CC_MAX];
    size_t n;
    ck_assert_int_eq(fhir_args_from_body(&a, body, &e), 0);
    ck_assert_int_eq(fhir_arg_cc(&a, "codeableConcept", cc, &n, &e), -1);
    fhir_args_free(&a);
    json_decref(body);

    q = json_object();
    for (int i = 0; i < FHIR_ARGS_MAX + 1; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        json_object_set_new(q, name, json_pack("[s]", "x"));
    }
    ck_assert_int_eq(fhir_args_from_query(&a, q, &e), -1);
    ck_assert_int_eq(e.status, 400);
    fhir_args_free(&a);
    json_decref(q);
}
END_TEST

/* ---- lookup ---- */

START_TEST(test_lookup_parameters)
{
    json_t *reply = s_json(
        "{\"ok\":true,\"found\":true,\"code\":\"E11\",\"system\":\"icd10cm\",\"release\":\"2021\","
        "\"kind\":\"category\",\"billable\":false,\"title\":\"Type 2 diabetes mellitus\","
        "\"short\":\"Type 2 diabetes\",\"parent\":\"E08-E13\","
        "\"notes\":{\"includes\":[\"diabetes (mellitus) due to insulin secretory defect\"],"
        "\"excludes1\":[\"gestational diabetes (O24.4-)\",\"type 1 diabetes mellitus (E10.-)\"],"
        "\"seven_chr_def\":{\"A\":\"initial encounter\"}},"
        "\"children\":[{\"code\":\"E11.0\",\"title\":\"x\",\"billable\":false},"
        "{\"code\":\"E11.9\",\"title\":\"y\",\"billable\":true}],"
        "\"attributes\":{\"betos\":\"M1A\"},\"valid_to\":\"2024-12-31\"}");
    json_t *p = fhir_lookup_parameters(NULL, reply, NULL, 0);
    char buf[512];
    ck_assert_str_eq(json_string_value(json_object_get(p, "resourceType")), "Parameters");
    ck_assert_str_eq(s_pstr(p, "name", "valueString"), "ICD-10-CM");
    ck_assert_str_eq(s_pstr(p, "version", "valueString"), "2021");
    ck_assert_str_eq(s_pstr(p, "display", "valueString"), "Type 2 diabetes mellitus");
    ck_assert_str_eq(s_pstr(p, "system", "valueUri"), "http://hl7.org/fhir/sid/icd-10-cm");
    ck_assert_str_eq(s_pstr(p, "code", "valueCode"), "E11");
    json_t *d = fhir_get_param(p, "designation");
    ck_assert_str_eq(json_string_value(json_object_get(s_part(d, "value"), "valueString")),
                     "Type 2 diabetes");
    ck_assert_str_eq(s_props(p, "parent", buf, sizeof buf), "E08-E13");
    ck_assert_str_eq(s_props(p, "child", buf, sizeof buf), "E11.0,E11.9");
    ck_assert_str_eq(s_props(p, "notSelectable", buf, sizeof buf), "true");
    ck_assert_str_eq(s_props(p, "kind", buf, sizeof buf), "category");
    ck_assert_str_eq(s_props(p, "excludes1", buf, sizeof buf),
                     "gestational diabetes (O24.4-),type 1 diabetes mellitus (E10.-)");
    ck_assert_str_eq(s_props(p, "seven_chr_def", buf, sizeof buf), "A: initial encounter");
    ck_assert_str_eq(s_props(p, "betos", buf, sizeof buf), "M1A");
    ck_assert_str_eq(s_props(p, "valid_to", buf, sizeof buf), "2024-12-31");
    json_decref(p);
    /* only the properties asked for */
    const char *want[] = {"child"};
    p = fhir_lookup_parameters(NULL, reply, want, 1);
    ck_assert_str_eq(s_props(p, "child", buf, sizeof buf), "E11.0,E11.9");
    ck_assert_str_eq(s_props(p, "parent", buf, sizeof buf), "");
    ck_assert_str_eq(s_props(p, "excludes1", buf, sizeof buf), "");
    json_decref(p);
    json_decref(reply);
}
END_TEST

/* ---- validate-code ---- */

/* A validate result (JSON, as a reply holds it) as the verdict reads it; borrowed from res. */
static fhir_vres_t s_vres(const json_t *res)
{
    const char *code = json_string_value(json_object_get(res, "code"));
    fhir_vres_t v = {
        .valid = json_is_true(json_object_get(res, "valid")),
        .reason = json_string_value(json_object_get(res, "reason")),
        .code = code ? code : json_string_value(json_object_get(res, "input")),
        .title = json_string_value(json_object_get(res, "title")),
        .message = json_string_value(json_object_get(res, "message")),
    };
    return v;
}

/* The Parameters fhir_vc_write prints over n verdicts, parsed back (owned). */
static json_t *s_vc_params(const fhir_verdict_t *v, size_t n)
{
    hs_jbuf_t b = {0};
    fhir_vc_write(&b, v, n);
    ck_assert_ptr_nonnull(hs_jbuf_text(&b));
    json_error_t err;
    json_t *p = json_loadb(b.p, b.len, 0, &err);
    ck_assert_msg(p != NULL, "not JSON: %s", err.text);
    hs_jbuf_free(&b);
    return p;
}

static json_t *s_verdict1(const char *result_json, const char *title, const char *display,
                          const char *vs)
{
    json_t *res = s_json(result_json);
    fhir_vc_in_t in = {.uri = "http://hl7.org/fhir/sid/icd-10-cm", .result = s_vres(res),
                       .release = "2021", .title = title, .display = display, .where = "",
                       .value_set = vs};
    fhir_verdict_t v;
    fhir_vc_verdict(&in, &v);
    json_t *p = s_vc_params(&v, 1);
    json_decref(res);
    return p;
}

START_TEST(test_validate_verdicts)
{
    /* valid, right display (case and spaces aside) */
    json_t *p = s_verdict1("{\"input\":\"e119\",\"code\":\"E11.9\",\"valid\":true,\"billable\":"
        "true,"
                           "\"title\":\"Type 2 diabetes mellitus without complications\"}",
                           NULL, "type 2 diabetes  mellitus without complications", NULL);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    ck_assert_str_eq(s_pstr(p, "code", "valueCode"), "E11.9");
    ck_assert_str_eq(s_pstr(p, "version", "valueString"), "2021");
    ck_assert_ptr_null(fhir_get_param(p, "issues"));
    ck_assert_ptr_null(fhir_get_param(p, "message"));
    json_decref(p);
    /* wrong display: still true, the right display, a warning */
    p = s_verdict1("{\"input\":\"E11.9\",\"code\":\"E11.9\",\"valid\":true,\"billable\":true,"
                   "\"title\":\"Type 2 diabetes mellitus without complications\"}",
                   NULL, "Diabetes", NULL);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    ck_assert_str_eq(s_pstr(p, "display", "valueString"),
                     "Type 2 diabetes mellitus without complications");
    ck_assert(s_has_tx(p, "invalid-display", "warning"));
    ck_assert_ptr_nonnull(strstr(s_pstr(p, "message", "valueString"), "Wrong Display Name"));
    json_decref(p);
    /* a header: false, our sentence, code-rule with our reason */
    const char *msg = "E11 is a header, not billable: pick one of E11.00, E11.01, E11.9";
    char res[512];
    snprintf(res, sizeof res, "{\"input\":\"E11\",\"code\":\"E11\",\"valid\":false,"
             "\"reason\":\"not_billable\",\"kind\":\"category\",\"message\":\"%s\","
             "\"hint\":[\"E11.00\",\"E11.01\",\"E11.9\"]}", msg);
    p = s_verdict1(res, "Type 2 diabetes mellitus", NULL, "http:"
        "//hl7.org/fhir/sid/icd-10-cm?fhir_vs");
    ck_assert(json_is_false(s_pval(p, "result", "valueBoolean")));
    ck_assert_str_eq(s_pstr(p, "message", "valueString"), msg);
    ck_assert_str_eq(s_pstr(p, "display", "valueString"), "Type 2 diabetes mellitus");
    ck_assert(s_has_tx(p, "code-rule", "error"));
    ck_assert(s_has_tx(p, "not_billable", "error"));
    ck_assert(!s_has_tx(p, "not-in-vs", NULL)); /* a header is in the value set */
    json_decref(p);
    /* unknown, in a value set: invalid-code and not-in-vs */
    p = s_verdict1("{\"input\":\"A00.00\",\"code\":\"A00.00\",\"valid\":false,\"reason\":"
        "\"unknown\","
                   "\"message\":\"A00.00 is not a code of icd10cm release 2021\"}",
                   NULL, NULL, "http://hl7.org/fhir/sid/icd-10-cm?fhir_vs");
    ck_assert(json_is_false(s_pval(p, "result", "valueBoolean")));
    ck_assert(s_has_tx(p, "invalid-code", "error"));
    ck_assert(s_has_tx(p, "not-in-vs", "error"));
    json_decref(p);
}
END_TEST

START_TEST(test_validate_codeable_concept)
{
    json_t *bad = s_json("{\"input\":\"XYZ\",\"valid\":false,\"reason\":\"malformed\","
                         "\"message\":\"XYZ is not an ICD-10-CM code\"}");
    json_t *good = s_json("{\"input\":\"I10\",\"code\":\"I10\",\"valid\":true,\"billable\":true,"
                          "\"title\":\"Essential (primary) hypertension\"}");
    fhir_vc_in_t in = {.uri = "http://hl7.org/fhir/sid/icd-10-cm", .release = "2021",
                       .where = "CodeableConcept.coding[0]."};
    fhir_verdict_t v[2];
    in.result = s_vres(bad);
    fhir_vc_verdict(&in, &v[0]);
    in.result = s_vres(good);
    in.where = "CodeableConcept.coding[1].";
    fhir_vc_verdict(&in, &v[1]);
    json_t *p = s_vc_params(v, 2);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    ck_assert_str_eq(s_pstr(p, "code", "valueCode"), "I10");
    ck_assert_ptr_null(fhir_get_param(p, "issues")); /* the valid coding speaks alone */
    json_decref(p);
    /* both bad: false, both messages, the location of each */
    in.result = s_vres(bad);
    fhir_vc_verdict(&in, &v[1]);
    p = s_vc_params(v, 2);
    ck_assert(json_is_false(s_pval(p, "result", "valueBoolean")));
    ck_assert_int_eq(json_array_size(s_issues(p)), 2);
    ck_assert_str_eq(s_pstr(p, "message", "valueString"),
                     "XYZ is not an ICD-10-CM code; XYZ is not an ICD-10-CM code");
    json_t *loc = json_object_get(json_array_get(s_issues(p), 1), "expression");
    ck_assert_str_eq(json_string_value(json_array_get(loc, 0)), "CodeableConcept.coding[1].code");
    json_decref(p);
    json_decref(bad);
    json_decref(good);
}
END_TEST

/* ---- expand ---- */

START_TEST(test_expand_valueset)
{
    json_t *reply = s_json(
        "{\"ok\":true,\"release\":\"2021\",\"total\":42,\"hits\":["
        "{\"code\":\"E11.9\",\"title\":\"Type 2 diabetes mellitus without complications\","
        "\"billable\":true,\"score\":90},"
        "{\"code\":\"E11\",\"title\":\"Type 2 diabetes mellitus\",\"billable\":false,\"score\":"
            "80}]}");
    fhir_expand_in_t in = {.uri = "http://hl7.org/fhir/sid/icd-10-cm", .filter = "diabetes",
                           .offset = 10, .count = 2};
    json_t *vs = fhir_expand_valueset(&in, reply);
    ck_assert_str_eq(json_string_value(json_object_get(vs, "resourceType")), "ValueSet");
    ck_assert_str_eq(json_string_value(json_object_get(vs, "url")),
                     "http://hl7.org/fhir/sid/icd-10-cm?fhir_vs");
    json_t *exp = json_object_get(vs, "expansion");
    ck_assert_int_eq(json_integer_value(json_object_get(exp, "total")), 42);
    ck_assert_int_eq(json_integer_value(json_object_get(exp, "offset")), 10);
    ck_assert_ptr_nonnull(json_object_get(exp, "timestamp"));
    json_t *contains = json_object_get(exp, "contains");
    ck_assert_int_eq(json_array_size(contains), 2);
    json_t *c0 = json_array_get(contains, 0), *c1 = json_array_get(contains, 1);
    ck_assert_str_eq(json_string_value(json_object_get(c0, "code")), "E11.9");
    ck_assert_str_eq(json_string_value(json_object_get(c0, "version")), "2021");
    ck_assert_ptr_null(json_object_get(c0, "abstract"));
    ck_assert(json_is_true(json_object_get(c1, "abstract")));
    json_decref(vs);
    in.count = 0; /* the total alone */
    vs = fhir_expand_valueset(&in, reply);
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(vs, "expansion"),
                                                     "contains")), 0);
    json_decref(vs);
    json_decref(reply);
}
END_TEST

/* ---- translate ---- */

START_TEST(test_translate_parameters)
{
    json_t *reply = s_json(
        "{\"ok\":true,\"map\":\"gems/icd9cm-icd10cm\",\"map_release\":\"2018\",\"from\":\"icd9cm\","
        "\"to\":\"icd10cm\",\"code\":\"250.00\",\"release\":\"2018\",\"targets\":["
        "{\"code\":\"E11.9\",\"title\":\"Type 2 diabetes mellitus without complications\","
        "\"approximate\":true,\"no_map\":false,\"combination\":false,\"scenario\":0,\"choice\":"
            "0}]}");
    json_t *p = fhir_translate_parameters(NULL, reply, "http://hl7.org/fhir/sid/icd-10-cm");
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    json_t *m = fhir_get_param(p, "match");
    ck_assert_str_eq(json_string_value(json_object_get(s_part(m, "equivalence"), "valueCode")),
                     "inexact");
    json_t *concept = json_object_get(s_part(m, "concept"), "valueCoding");
    ck_assert_str_eq(json_string_value(json_object_get(concept, "code")), "E11.9");
    ck_assert_str_eq(json_string_value(json_object_get(concept, "system")),
                     "http://hl7.org/fhir/sid/icd-10-cm");
    ck_assert_str_eq(json_string_value(json_object_get(s_part(m, "source"), "valueUri")),
                     "urn:codeset:map:gems/icd9cm-icd10cm");
    json_t *prop = s_part(m, "property");
    ck_assert_str_eq(json_string_value(json_object_get(s_part(prop, "code"), "valueCode")),
                     "approximate");
    json_decref(p);
    json_decref(reply);
    /* a no-map row: unmatched, result false */
    reply = s_json("{\"ok\":true,\"map\":\"gems/icd9cm-icd10cm\",\"code\":\"E000.0\",\"targets\":"
                   "[{\"code\":null,\"title\":null,\"approximate\":false,\"no_map\":true,"
                   "\"combination\":false,\"scenario\":0,\"choice\":0}]}");
    p = fhir_translate_parameters(NULL, reply, "http://hl7.org/fhir/sid/icd-10-cm");
    ck_assert(json_is_false(s_pval(p, "result", "valueBoolean")));
    m = fhir_get_param(p, "match");
    ck_assert_str_eq(json_string_value(json_object_get(s_part(m, "equivalence"), "valueCode")),
                     "unmatched");
    ck_assert_ptr_null(s_part(m, "concept"));
    ck_assert_ptr_nonnull(s_pstr(p, "message", "valueString"));
    json_decref(p);
    json_decref(reply);
    /* equivalences */
    static const char *const rows[][2] = {
        {"{\"code\":\"A\",\"approximate\":false,\"no_map\":false}", "equivalent"},
        {"{\"code\":\"A\",\"relationship\":\"wider\"}", "wider"},
        {"{\"code\":\"A\",\"relationship\":\"source-is-narrower-than-target\"}", "wider"},
        {"{\"code\":\"A\",\"relationship\":\"related-to\"}", "relatedto"},
        {"{\"code\":\"A\",\"relationship\":\"odd\"}", "relatedto"},
        {"{\"code\":\"A\"}", "equivalent"},
        {"{\"code\":null,\"no_map\":true}", "unmatched"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *row = s_json(rows[i][0]);
        ck_assert_str_eq(fhir_equivalence(row), rows[i][1]);
        json_decref(row);
    }
}
END_TEST

/* ---- metadata ---- */

static const char s_releases_json[] =
    "{\"ok\":true,\"releases\":["
    "{\"system\":\"icd10cm\",\"release\":\"2021\",\"effective_from\":\"2020-10-01\","
    "\"effective_to\":\"2021-09-30\",\"status\":\"active\",\"codes\":95358,\"billable\":72616},"
    "{\"system\":\"icd10cm\",\"release\":\"2022\",\"effective_from\":\"2021-10-01\","
    "\"effective_to\":null,\"status\":\"active\",\"codes\":96000,\"billable\":73000},"
    "{\"system\":\"hcpcs\",\"release\":\"2025-01\",\"effective_from\":\"2025-01-01\","
    "\"effective_to\":null,\"status\":\"active\",\"codes\":8000,\"billable\":7000},"
    "{\"system\":\"gems\",\"release\":\"2018\",\"effective_from\":\"2017-10-01\","
    "\"effective_to\":null,\"status\":\"active\",\"codes\":0,\"billable\":0,"
    "\"maps\":[{\"name\":\"icd9cm-icd10cm\",\"from\":\"icd9cm\",\"to\":\"icd10cm\",\"rows\":"
        "10}]}]}";

START_TEST(test_metadata)
{
    fhir_config_t c = {.base_url = "http://127.0.0.1:8080/fhir"};
    json_t *cap = fhir_capabilities(&c);
    ck_assert_str_eq(json_string_value(json_object_get(cap, "resourceType")),
                     "CapabilityStatement");
    ck_assert_str_eq(json_string_value(json_object_get(cap, "fhirVersion")), "4.0.1");
    char *text = json_dumps(cap, 0);
    ck_assert_ptr_nonnull(strstr(text, "\"name\": \"lookup\""));
    ck_assert_ptr_nonnull(strstr(text, "\"name\": \"translate\""));
    ck_assert_ptr_nonnull(strstr(text, "\"name\": \"expand\""));
    ck_assert_ptr_nonnull(strstr(text, "CodeSystem-validate-code"));
    ck_assert_ptr_nonnull(strstr(text, "ValueSet-validate-code"));
    free(text);
    json_decref(cap);

    json_t *rels = s_json(s_releases_json);
    json_t *tc = fhir_terminology_caps(&c, rels);
    ck_assert_str_eq(json_string_value(json_object_get(tc, "resourceType")),
                     "TerminologyCapabilities");
    json_t *systems = json_object_get(tc, "codeSystem");
    ck_assert_int_eq(json_array_size(systems), 2); /* the map set is not a code system */
    json_t *cm = json_array_get(systems, 0);
    ck_assert_str_eq(json_string_value(json_object_get(cm, "uri")),
                     "http://hl7.org/fhir/sid/icd-10-cm");
    json_t *vers = json_object_get(cm, "version");
    ck_assert_int_eq(json_array_size(vers), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(vers, 0), "code")), "2021");
    ck_assert(json_is_false(json_object_get(json_array_get(vers, 0), "isDefault")));
    ck_assert(json_is_true(json_object_get(json_array_get(vers, 1), "isDefault")));
    json_decref(tc);

    json_t *b = fhir_codesystem_bundle(&c, rels, "icd10cm", "2021");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "total")), 1);
    json_t *cs = json_object_get(json_array_get(json_object_get(b, "entry"), 0), "resource");
    ck_assert_str_eq(json_string_value(json_object_get(cs, "content")), "not-present");
    ck_assert_str_eq(json_string_value(json_object_get(cs, "version")), "2021");
    ck_assert_str_eq(json_string_value(json_object_get(cs, "id")), "icd10cm-2021");
    ck_assert_int_eq(json_integer_value(json_object_get(cs, "count")), 95358);
    json_decref(b);
    b = fhir_codesystem_bundle(&c, rels, NULL, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "total")), 3);
    json_decref(b);
    json_decref(rels);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_errors)
{
    fhir_err_t e;
    static const struct {
        cs_proto_err_t pe;
        int status;
        const char *code;
    } map[] = {
        {CS_PERR_BAD_REQUEST, 400, "invalid"},
        {CS_PERR_UNKNOWN_SYSTEM, 404, "not-found"},
        {CS_PERR_UNKNOWN_RELEASE, 404, "not-found"},
        {CS_PERR_NO_RELEASE_FOR_DATE, 404, "not-found"},
        {CS_PERR_TOO_MANY, 400, "too-costly"},
        {CS_PERR_BUSY, 429, "throttled"},
        {CS_PERR_CORRUPT_RELEASE, 503, "exception"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        ck_assert_int_eq(fhir_fail_proto(&e, map[i].pe, "why"), -1);
        ck_assert_int_eq(e.status, map[i].status);
        ck_assert_str_eq(e.code, map[i].code);
    }
    /* a message cut inside a UTF-8 character still makes a string */
    fhir_fail(&e, 400, "invalid", NULL, "%s", "caf\xc3");
    json_t *oo = fhir_outcome(&e);
    json_t *issue = json_array_get(json_object_get(oo, "issue"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(issue, "diagnostics")), "caf?");
    ck_assert_str_eq(json_string_value(json_object_get(issue, "severity")), "error");
    json_decref(oo);
}
END_TEST

/* fhir_handle without a store: what it answers before any op runs. */
static int s_handle(const char *method, const char *path, const char *query, const char *body,
                    json_t **res)
{
    json_t *q = query ? s_json(query) : NULL;
    json_t *b = body ? s_json(body) : NULL;
    fhir_config_t c = {.base_url = "http://x/fhir"};
    fhir_request_t r = {method, path, q, b, NULL, &c};
    int status = fhir_handle(&r, res);
    ck_assert_ptr_nonnull(*res);
    json_decref(q);
    json_decref(b);
    return status;
}

static const char *s_rtype(const json_t *res)
{
    return json_string_value(json_object_get(res, "resourceType"));
}

START_TEST(test_handle_routes)
{
    json_t *res;
    ck_assert_int_eq(s_handle("GET", "metadata", NULL, NULL, &res), 200);
    ck_assert_str_eq(s_rtype(res), "CapabilityStatement");
    json_decref(res);
    ck_assert_int_eq(s_handle("GET", "/metadata/", "{\"mode\":[\"full\"]}", NULL, &res), 200);
    json_decref(res);
    ck_assert_int_eq(s_handle("GET", "metadata", "{\"mode\":[\"odd\"]}", NULL, &res), 400);
    ck_assert_str_eq(s_rtype(res), "OperationOutcome");
    json_decref(res);
    ck_assert_int_eq(s_handle("POST", "metadata", NULL, NULL, &res), 405);
    json_decref(res);
    ck_assert_int_eq(s_handle("DELETE", "CodeSystem/$lookup", NULL, NULL, &res), 405);
    json_decref(res);
    ck_assert_int_eq(s_handle("GET", "CodeSystem/$nope", NULL, NULL, &res), 404);
    ck_assert_str_eq(s_rtype(res), "OperationOutcome");
    json_decref(res);
    ck_assert_int_eq(s_handle("GET", "Patient/1", NULL, NULL, &res), 404);
    json_decref(res);
    ck_assert_int_eq(s_handle("POST", "CodeSystem/$lookup", NULL, NULL, &res), 400);
    json_decref(res);
    ck_assert_int_eq(s_handle("POST", "CodeSystem/$lookup", NULL, "{\"resourceType\":\"Bundle\"}",
                              &res), 400);
    json_decref(res);
    ck_assert_int_eq(s_handle("GET", "", NULL, NULL, &res), 405);
    json_decref(res);
    ck_assert_int_eq(s_handle("POST", "", NULL, "{\"resourceType\":\"Bundle\",\"type\":"
        "\"transaction\"}",
                              &res), 400);
    json_decref(res);
    /* parameters are checked before any op runs */
    ck_assert_int_eq(s_handle("GET", "CodeSystem/$lookup", "{\"code\":[\"E11.9\"]}", NULL, &res),
                     400);
    json_decref(res);
    ck_assert_int_eq(s_handle("GET", "CodeSystem/$lookup",
                              "{\"system\":[\"http://snomed.info/sct\"],\"code\":[\"1\"]}", NULL,
                              &res), 404);
    ck_assert(s_has_tx(res, "not-found", "error"));
    json_decref(res);
    ck_assert_int_eq(s_handle("GET", "ValueSet/$expand", "{\"url\":[\"http://x/vs\"]}", NULL,
                              &res), 404);
    json_decref(res);
    ck_assert_int_eq(s_handle("GET", "ValueSet/$expand",
                              "{\"url\":[\"http://hl7.org/fhir/sid/icd-10-cm?fhir_vs\"]}", NULL,
                              &res), 422);
    json_decref(res);
    ck_assert_int_eq(s_handle("GET", "CodeSystem/$validate-code",
                              "{\"url\":[\"http://hl7.org/fhir/sid/icd-10-cm\"]}", NULL, &res),
                     400);
    json_decref(res);
    char path[600];
    memset(path, 'a', 599);
    path[599] = '\0';
    ck_assert_int_eq(s_handle("GET", path, NULL, NULL, &res), 404);
    json_decref(res);
}
END_TEST


/* ---- end to end: fhir_handle over a real store ---- */

static cs_daemon_t s_d;
static char s_plugins[PATH_MAX];

/* A codesetd loads the ICD-10-CM sample (release 2021), the GEMs sample and the HCPCS
 * sample, then stops: each test opens its database read-only in-process (unchecked fixture). */
static void s_setup(void)
{
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    cs_daemon_load_sample(&s_d, admin, "2021", "2020-10-01");
    char cwd[PATH_MAX], g9[PATH_MAX + 80], g10[PATH_MAX + 80], hc[PATH_MAX + 80], state[64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(g9, sizeof g9, "%s/loaders/gems/sample/gems_I9gem_sample.txt", cwd);
    snprintf(g10, sizeof g10, "%s/loaders/gems/sample/gems_I10gem_sample.txt", cwd);
    snprintf(hc, sizeof hc, "%s/loaders/hcpcs-anweb/sample/HCPC_sample.txt", cwd);
    const char *gems[] = {g9, g10};
    ck_assert_ptr_nonnull(cs_daemon_load(&s_d, admin, "gems", "2018", "2017-10-01", gems, 2,
                                         state, sizeof state, 60000));
    ck_assert_str_eq(state, "done");
    const char *hcpcs[] = {hc};
    ck_assert_ptr_nonnull(cs_daemon_load(&s_d, admin, "hcpcs-anweb", "2025-01", "2025-01-01",
                                         hcpcs, 1, state, sizeof state, 60000));
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&s_d), 0);
    snprintf(s_plugins, sizeof s_plugins, "%s/plugins", cs_test_build_dir());
}

static void s_teardown(void)
{
    cs_daemon_cleanup(&s_d);
}

/* What codeset-http holds per thread: the store, the plugins, an engine, the op context. */
typedef struct t_env {
    cs_store_t *store;
    cs_plugin_host_t *plugins;
    cs_engine_t *engine;
    cs_op_ctx_t ctx;
    fhir_config_t config;
} t_env_t;

static t_env_t s_env;

static void s_open_dir(const char *db)
{
    cs_error_t err;
    memset(&s_env, 0, sizeof s_env);
    s_env.store = cs_store_open_ex(db, 0, 0, CS_STORE_RDONLY, &err);
    ck_assert_msg(s_env.store != NULL, "store: %s", err.msg);
    s_env.plugins = cs_plugin_host_new();
    ck_assert_int_eq(cs_plugin_host_load_dir(s_env.plugins, s_plugins, NULL, &err), CS_OK);
    s_env.engine = cs_engine_new(s_env.store, s_env.plugins, &err);
    ck_assert_msg(s_env.engine != NULL, "engine: %s", err.msg);
    s_env.ctx.engine = s_env.engine;
    s_env.ctx.plugins = s_env.plugins;
    s_env.config.base_url = "http://127.0.0.1:8080/fhir";
}

static void s_open(void)
{
    s_open_dir(s_d.db);
}

static void s_close(void)
{
    cs_engine_destroy(&s_env.engine);
    cs_plugin_host_destroy(&s_env.plugins);
    cs_store_destroy(&s_env.store);
}

/* One request through fhir_handle; the status, and the resource in *res (owned). A status
 * of 5xx fails the test whatever the input: nothing a client sends is the server's fault. */
static int s_ask(const char *method, const char *path, json_t *query, json_t *body,
                 json_t **res)
{
    fhir_request_t r = {method, path, query, body, &s_env.ctx, &s_env.config};
    int status = fhir_handle(&r, res);
    ck_assert_ptr_nonnull(*res);
    char *text = json_dumps(*res, JSON_COMPACT);
    ck_assert_msg(status < 500, "%s %s: %d %s", method, path, status, text);
    free(text);
    json_decref(query);
    json_decref(body);
    return status;
}

static int s_get(const char *path, const char *query, json_t **res)
{
    return s_ask("GET", path, s_json(query), NULL, res);
}

static int s_post(const char *path, const char *body, json_t **res)
{
    return s_ask("POST", path, NULL, s_json(body), res);
}

#define CM "http://hl7.org/fhir/sid/icd-10-cm"

START_TEST(test_e2e_lookup)
{
    s_open();
    json_t *p;
    char buf[1024];
    ck_assert_int_eq(s_get("CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[\"e119\"]}",
                           &p), 200);
    ck_assert_str_eq(s_pstr(p, "display", "valueString"),
                     "Type 2 diabetes mellitus without complications");
    ck_assert_str_eq(s_pstr(p, "code", "valueCode"), "E11.9");
    ck_assert_str_eq(s_pstr(p, "version", "valueString"), "2021");
    ck_assert_str_eq(s_pstr(p, "name", "valueString"), "ICD-10-CM");
    ck_assert_str_eq(s_props(p, "notSelectable", buf, sizeof buf), "false");
    ck_assert_str_eq(s_props(p, "parent", buf, sizeof buf), "E11");
    json_decref(p);
    /* a header: notSelectable, with its children; by POST */
    ck_assert_int_eq(s_post("CodeSystem/$lookup",
                            "{\"resourceType\":\"Parameters\",\"parameter\":["
                            "{\"name\":\"system\",\"valueUri\":\"" CM "\"},"
                            "{\"name\":\"code\",\"valueCode\":\"E11\"},"
                            "{\"name\":\"date\",\"valueDateTime\":\"2021-03-01T09:00:00Z\"}]}",
                            &p), 200);
    ck_assert_str_eq(s_pstr(p, "display", "valueString"), "Type 2 diabetes mellitus");
    ck_assert_str_eq(s_props(p, "notSelectable", buf, sizeof buf), "true");
    ck_assert_ptr_nonnull(strstr(s_props(p, "child", buf, sizeof buf), "E11.9"));
    ck_assert_str_eq(s_props(p, "kind", buf, sizeof buf), "category");
    json_decref(p);
    /* notes as properties */
    ck_assert_int_eq(s_get("CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[\"E11\"],"
                           "\"property\":[\"excludes1\"]}", &p), 200);
    ck_assert_str_ne(s_props(p, "excludes1", buf, sizeof buf), "");
    ck_assert_str_eq(s_props(p, "child", buf, sizeof buf), "");
    json_decref(p);
    /* a coding instead of system + code */
    ck_assert_int_eq(s_get("CodeSystem/$lookup", "{\"coding\":[\"" CM "|I10\"]}", &p), 200);
    ck_assert_str_eq(s_pstr(p, "code", "valueCode"), "I10");
    json_decref(p);
    /* not there: 404 with an OperationOutcome */
    ck_assert_int_eq(s_get("CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[\"A00.00\"]}",
                           &p), 404);
    ck_assert_str_eq(s_rtype(p), "OperationOutcome");
    ck_assert(s_has_tx(p, "invalid-code", "error"));
    json_decref(p);
    ck_assert_int_eq(s_get("CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[\"XYZ!\"]}",
                           &p), 404);
    json_decref(p);
    ck_assert_int_eq(s_get("CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[\"E11.9\"],"
                           "\"version\":[\"1999\"]}", &p), 404);
    ck_assert(s_has_tx(p, "not-found", "error"));
    json_decref(p);
    ck_assert_int_eq(s_get("CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[\"E11.9\"],"
                           "\"date\":[\"2001-01-01\"]}", &p), 404);
    json_decref(p);
    s_close();
}
END_TEST

START_TEST(test_e2e_validate)
{
    s_open();
    json_t *p;
    ck_assert_int_eq(s_get("CodeSystem/$validate-code",
                           "{\"url\":[\"" CM "\"],\"code\":[\"E11.9\"],\"display\":[\"Type 2 "
                           "diabetes mellitus without complications\"]}", &p), 200);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    ck_assert_str_eq(s_pstr(p, "display", "valueString"),
                     "Type 2 diabetes mellitus without complications");
    ck_assert_ptr_null(fhir_get_param(p, "issues"));
    json_decref(p);
    /* a header: false, our message naming billable codes under it */
    ck_assert_int_eq(s_get("CodeSystem/$validate-code",
                           "{\"system\":[\"" CM "\"],\"code\":[\"E11\"],\"date\":[\"2021-03-01\"]}",
                           &p), 200);
    ck_assert(json_is_false(s_pval(p, "result", "valueBoolean")));
    const char *msg = s_pstr(p, "message", "valueString");
    ck_assert_ptr_nonnull(msg);
    ck_assert_ptr_nonnull(strstr(msg, "E11.9"));
    ck_assert(s_has_tx(p, "code-rule", "error"));
    ck_assert(s_has_tx(p, "not_billable", "error"));
    ck_assert_str_eq(s_pstr(p, "display", "valueString"), "Type 2 diabetes mellitus");
    json_decref(p);
    /* abstract=true: the client allows a header here; true, with our sentence as information */
    ck_assert_int_eq(s_get("CodeSystem/$validate-code",
                           "{\"system\":[\"" CM "\"],\"code\":[\"E11\"],\"abstract\":[\"true\"]}",
                           &p), 200);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    ck_assert(s_has_tx(p, "code-rule", "information"));
    json_decref(p);
    /* a value set sent whole is not judged against the whole system */
    ck_assert_int_eq(s_post("ValueSet/$validate-code",
                            "{\"resourceType\":\"Parameters\",\"parameter\":["
                            "{\"name\":\"valueSet\",\"resource\":{\"resourceType\":\"ValueSet\"}},"
                            "{\"name\":\"system\",\"valueUri\":\"" CM "\"},"
                            "{\"name\":\"code\",\"valueCode\":\"E11.9\"}]}", &p), 422);
    json_decref(p);
    /* a wrong display: result as the code decides, the right display, a warning */
    ck_assert_int_eq(s_post("CodeSystem/$validate-code",
                            "{\"resourceType\":\"Parameters\",\"parameter\":["
                            "{\"name\":\"coding\",\"valueCoding\":{\"system\":\"" CM "\","
                            "\"code\":\"E11.9\",\"display\":\"Sugar\"}}]}", &p), 200);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    ck_assert(s_has_tx(p, "invalid-display", "warning"));
    json_decref(p);
    /* the implicit value set: a malformed code is not in it */
    ck_assert_int_eq(s_get("ValueSet/$validate-code",
                           "{\"url\":[\"" CM "?fhir_vs\"],\"code\":[\"XYZ\"]}", &p), 200);
    ck_assert(json_is_false(s_pval(p, "result", "valueBoolean")));
    ck_assert(s_has_tx(p, "not-in-vs", "error"));
    ck_assert(s_has_tx(p, "malformed", "error"));
    json_decref(p);
    /* a CodeableConcept: one good coding is enough */
    ck_assert_int_eq(s_post("ValueSet/$validate-code",
                            "{\"resourceType\":\"Parameters\",\"parameter\":["
                            "{\"name\":\"url\",\"valueUri\":\"" CM "?fhir_vs\"},"
                            "{\"name\":\"codeableConcept\",\"valueCodeableConcept\":{\"coding\":["
                            "{\"system\":\"http://snomed.info/sct\",\"code\":\"44054006\"},"
                            "{\"system\":\"" CM "\",\"code\":\"A00.00\"},"
                            "{\"system\":\"" CM "\",\"code\":\"I10\"}]}}]}", &p), 200);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    ck_assert_str_eq(s_pstr(p, "code", "valueCode"), "I10");
    json_decref(p);
    /* HCPCS by its https URI too */
    ck_assert_int_eq(s_get("CodeSystem/$validate-code",
                           "{\"url\":[\"https:"
                               "//www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets\"],"
                           "\"code\":[\"ZZZZZ\"]}", &p), 200);
    ck_assert(json_is_false(s_pval(p, "result", "valueBoolean")));
    ck_assert_str_eq(s_pstr(p, "version", "valueString"), "2025-01");
    json_decref(p);
    /* a code terminated before the date of service: not in effect, says so */
    ck_assert_int_eq(s_get("CodeSystem/$validate-code",
                           "{\"url\":[\"http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets\"],"
                           "\"code\":[\"A9004\"],\"date\":[\"2025-03-01\"]}", &p), 200);
    ck_assert(json_is_false(s_pval(p, "result", "valueBoolean")));
    ck_assert_ptr_nonnull(strstr(s_pstr(p, "message", "valueString"), "2024-12-31"));
    ck_assert(s_has_tx(p, "not_effective", "error"));
    ck_assert(s_has_tx(p, "code-rule", "error"));
    json_decref(p);
    /* errors: an unknown system, an unknown version */
    ck_assert_int_eq(s_get("CodeSystem/$validate-code",
                           "{\"url\":[\"http://example.org/nope\"],\"code\":"
                               "[\"E11.9\"]}", &p), 404);
    ck_assert(s_has_tx(p, "not-found", "error"));
    json_decref(p);
    ck_assert_int_eq(s_get("CodeSystem/$validate-code",
                           "{\"url\":[\"" CM "\"],\"code\":[\"E11.9\"],\"version\":[\"1999\"]}",
                           &p), 404);
    json_decref(p);
    s_close();
}
END_TEST

START_TEST(test_e2e_expand)
{
    s_open();
    json_t *vs;
    ck_assert_int_eq(s_get("ValueSet/$expand",
                           "{\"url\":[\"" CM "?fhir_vs\"],\"filter\":[\"diabetes\"]}", &vs), 200);
    json_t *exp = json_object_get(vs, "expansion");
    json_int_t total = json_integer_value(json_object_get(exp, "total"));
    ck_assert_int_gt(total, 2);
    json_t *contains = json_object_get(exp, "contains");
    int has = 0;
    size_t i;
    json_t *c;
    json_array_foreach(contains, i, c) {
        has |= strcmp(json_string_value(json_object_get(c, "code")), "E11.9") == 0;
    }
    ck_assert(has);
    /* pages: count and offset walk the same ranking */
    json_t *p1, *p2;
    ck_assert_int_eq(s_get("ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"],"
                           "\"filter\":[\"diabetes\"],\"count\":[\"2\"]}", &p1), 200);
    ck_assert_int_eq(s_get("ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"],"
                           "\"filter\":[\"diabetes\"],\"count\":[\"2\"],\"offset\":[\"2\"]}",
                           &p2), 200);
    json_t *c1 = json_object_get(json_object_get(p1, "expansion"), "contains");
    json_t *c2 = json_object_get(json_object_get(p2, "expansion"), "contains");
    ck_assert_int_eq(json_array_size(c1), 2);
    ck_assert(json_equal(json_array_get(c1, 0), json_array_get(contains, 0)));
    ck_assert(json_equal(json_array_get(c2, 0), json_array_get(contains, 2)));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(p2, "expansion"),
                                                        "total")), total);
    json_decref(p1);
    json_decref(p2);
    json_decref(vs);
    /* no filter: refused, but the total alone is given */
    ck_assert_int_eq(s_get("ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"]}", &vs), 422);
    ck_assert_str_eq(s_rtype(vs), "OperationOutcome");
    json_decref(vs);
    ck_assert_int_eq(s_get("ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"],\"count\":[\"0\"]}",
                           &vs), 200);
    ck_assert_int_gt(json_integer_value(json_object_get(json_object_get(vs, "expansion"),
                                                        "total")), 100);
    json_decref(vs);
    s_close();
}
END_TEST

START_TEST(test_e2e_translate)
{
    s_open();
    json_t *p;
    ck_assert_int_eq(s_get("ConceptMap/$translate",
                           "{\"system\":[\"http://hl7.org/fhir/sid/icd-9-cm\"],\"code\":"
                               "[\"250.00\"],"
                           "\"targetsystem\":[\"" CM "\"]}", &p), 200);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    json_t *m = fhir_get_param(p, "match");
    json_t *concept = json_object_get(s_part(m, "concept"), "valueCoding");
    ck_assert_str_eq(json_string_value(json_object_get(concept, "code")), "E11.9");
    ck_assert_str_eq(json_string_value(json_object_get(concept, "display")),
                     "Type 2 diabetes mellitus without complications");
    ck_assert_str_eq(json_string_value(json_object_get(s_part(m, "equivalence"), "valueCode")),
                     "inexact"); /* the GEM row's flags: 10000, approximate */
    json_decref(p);
    /* by the map's url; reversed */
    ck_assert_int_eq(s_get("ConceptMap/$translate",
                           "{\"url\":[\"urn:codeset:map:gems/icd9cm-icd10cm\"],\"code\":"
                               "[\"E11.9\"],"
                           "\"reverse\":[\"true\"]}", &p), 200);
    m = fhir_get_param(p, "match");
    concept = json_object_get(s_part(m, "concept"), "valueCoding");
    ck_assert_str_eq(json_string_value(json_object_get(concept, "code")), "250.00");
    ck_assert_str_eq(json_string_value(json_object_get(concept, "system")),
                     "http://hl7.org/fhir/sid/icd-9-cm");
    json_decref(p);
    ck_assert_int_eq(s_get("ConceptMap/$translate",
                           "{\"url\":[\"urn:codeset:map:nothing\"],\"code\":[\"E11.9\"]}", &p),
                     404);
    json_decref(p);
    ck_assert_int_eq(s_get("ConceptMap/$translate", "{\"code\":[\"E11.9\"]}", &p), 400);
    json_decref(p);
    s_close();
}
END_TEST

START_TEST(test_e2e_metadata)
{
    s_open();
    json_t *tc;
    ck_assert_int_eq(s_get("metadata", "{\"mode\":[\"terminology\"]}", &tc), 200);
    ck_assert_str_eq(s_rtype(tc), "TerminologyCapabilities");
    char *text = json_dumps(tc, 0);
    ck_assert_ptr_nonnull(strstr(text, "\"uri\": \"" CM "\""));
    ck_assert_ptr_nonnull(strstr(text, "\"code\": \"2021\""));
    ck_assert_ptr_nonnull(strstr(text, "\"code\": \"2025-01\""));
    free(text);
    json_decref(tc);
    json_t *b;
    ck_assert_int_eq(s_get("CodeSystem", "{\"url\":[\"" CM "\"]}", &b), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "total")), 1);
    json_decref(b);
    ck_assert_int_eq(s_get("CodeSystem/icd10cm-2021", "{}", &b), 200);
    ck_assert_str_eq(json_string_value(json_object_get(b, "url")), CM);
    ck_assert_str_eq(json_string_value(json_object_get(b, "version")), "2021");
    json_decref(b);
    ck_assert_int_eq(s_get("CodeSystem/icd10cm-1999", "{}", &b), 404);
    json_decref(b);
    ck_assert_int_eq(s_get("CodeSystem/a/b", "{}", &b), 404);
    json_decref(b);
    ck_assert_int_eq(s_get("CodeSystem", "{\"url\":[\"http://example.org/x\"]}", &b), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "total")), 0);
    json_decref(b);
    /* subsumes, from the hierarchy */
    json_t *p;
    ck_assert_int_eq(s_get("CodeSystem/$subsumes", "{\"system\":[\"" CM "\"],\"codeA\":[\"E11\"],"
                           "\"codeB\":[\"E11.9\"]}", &p), 200);
    ck_assert_str_eq(s_pstr(p, "outcome", "valueCode"), "subsumes");
    json_decref(p);
    ck_assert_int_eq(s_get("CodeSystem/$subsumes", "{\"system\":[\"" CM "\"],\"codeA\":[\"E11.9\"],"
                           "\"codeB\":[\"I10\"]}", &p), 200);
    ck_assert_str_eq(s_pstr(p, "outcome", "valueCode"), "not-subsumed");
    json_decref(p);
    s_close();
}
END_TEST

START_TEST(test_e2e_batch)
{
    s_open();
    json_t *b;
    ck_assert_int_eq(
        s_post("", "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
               "{\"request\":{\"method\":\"POST\",\"url\":\"CodeSystem/$validate-code\"},"
               "\"resource\":{\"resourceType\":\"Parameters\",\"parameter\":["
               "{\"name\":\"url\",\"valueUri\":\"" CM "\"},{\"name\":\"code\",\"valueCode\":"
                   "\"E11.9\"}]}},"
               "{\"request\":{\"method\":\"GET\",\"url\":\"CodeSystem/$validate-code?url="
               "http%3A%2F%2Fhl7.org%2Ffhir%2Fsid%2Ficd-10-cm&code=E11\"}},"
               "{\"request\":{\"method\":\"GET\",\"url\":\"CodeSystem/$lookup?system=x&code=1\"}},"
               "{\"request\":{\"method\":\"GET\"}},"
               "{\"request\":{\"method\":\"POST\",\"url\":\"/\"}},"
               "{\"request\":{\"method\":\"GET\",\"url\":\"http://127.0.0.1:8080/fhir/metadata\"}},"
               "{\"request\":{\"method\":\"GET\",\"url\":\"/fhir/ValueSet/$expand?url="
               "http%3A%2F%2Fhl7.org%2Ffhir%2Fsid%2Ficd-10-cm%3Ffhir_vs"
               "&filter=type+2+diab&count=1\"}}]}",
               &b), 200);
    ck_assert_str_eq(json_string_value(json_object_get(b, "type")), "batch-response");
    json_t *entries = json_object_get(b, "entry");
    ck_assert_int_eq(json_array_size(entries), 7);
    static const char *const want[] = {"200 OK", "200 OK", "404 Not Found", "400 Bad Request",
                                       "400 Bad Request", "200 OK", "200 OK"};
    for (size_t i = 0; i < 7; i++) {
        json_t *resp = json_object_get(json_array_get(entries, i), "response");
        ck_assert_str_eq(json_string_value(json_object_get(resp, "status")), want[i]);
    }
    json_t *r0 = json_object_get(json_array_get(entries, 0), "resource");
    json_t *r1 = json_object_get(json_array_get(entries, 1), "resource");
    ck_assert(json_is_true(s_pval(r0, "result", "valueBoolean")));
    ck_assert(json_is_false(s_pval(r1, "result", "valueBoolean")));
    json_t *exp = json_object_get(json_object_get(json_array_get(entries, 6), "resource"),
                                  "expansion");
    ck_assert_int_gt(json_integer_value(json_object_get(exp, "total")), 0); /* '+': spaces */
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(exp,
                     "parameter"), 0), "valueString")), "type 2 diab");
    json_decref(b);
    s_close();
}
END_TEST


/* The facade agrees with the embedded API (another path through the engine: its typed
 * writer) on every code of the sample order file and on fakes, malformed codes, chapters and
 * blocks; and $expand gives the search op's order. */
typedef struct t_known {
    char code[32];
    int found, billable, valid;
    char title[256], reason[32], message[512];
} t_known_t;

/* Fakes, malformed codes, a chapter, a block, other spellings; then every stride-th code of
 * an order file. */
static size_t s_order_codes(const char *path, size_t stride, char (*codes)[32], size_t cap)
{
    static const char *const extra[] = {"e119", "E11.99", "XYZ", "A00.00", "4", "E08-E13",
                                        " E11.9 ", "S72.001A", "M48.40XA", "Z99.89", "13"};
    size_t n = 0, line_no = 0;
    for (size_t i = 0; i < sizeof extra / sizeof extra[0] && n < cap; i++) {
        snprintf(codes[n++], 32, "%s", extra[i]);
    }
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s", path);
    char line[512];
    while (n < cap && fgets(line, sizeof line, f)) {
        if (line_no++ % stride == 0 && sscanf(line, "%*s %31s", codes[n]) == 1) {
            n++;
        }
    }
    fclose(f);
    return n;
}

/* What the embedded API (its own path through the engine: the typed writer) answers. */
static void s_known(const char *db_dir, const char (*codes)[32], size_t n, t_known_t *k)
{
    cs_error_t err;
    cs_db_t *db = cs_db_open(db_dir, s_plugins, &err);
    ck_assert_msg(db != NULL, "cs_db_open: %s", err.msg);
    for (size_t i = 0; i < n; i++) {
        cs_db_entry_t ent;
        const cs_db_result_t *res;
        cs_db_str_t rel;
        const char *one = codes[i];
        snprintf(k[i].code, sizeof k[i].code, "%s", codes[i]);
        ck_assert_int_eq(cs_db_lookup(db, "icd10cm", codes[i], NULL, &ent, &err), CS_OK);
        k[i].found = ent.found;
        k[i].billable = ent.billable;
        snprintf(k[i].title, sizeof k[i].title, "%.*s", (int)ent.title.len, ent.title.ptr);
        ck_assert_int_eq(cs_db_validate(db, "icd10cm", &one, 1, NULL, &res, &rel, &err), CS_OK);
        k[i].valid = res->valid;
        snprintf(k[i].reason, sizeof k[i].reason, "%s", cs_db_reason_name(res->reason));
        snprintf(k[i].message, sizeof k[i].message, "%.*s", (int)res->message.len,
                 res->message.ptr);
    }
    cs_db_close(&db);
}

/* $lookup and $validate-code of each code answer as the embedded API did (the store open). */
static void s_agree(const t_known_t *known, size_t n)
{
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        const t_known_t *k = &known[i];
        json_t *p;
        int status = s_ask("GET", "CodeSystem/$lookup",
                           json_pack("{s:[s],s:[s]}", "system", CM, "code", k->code), NULL, &p);
        ck_assert_msg(status == (k->found ? 200 : 404), "%s: %d", k->code, status);
        if (k->found) {
            ck_assert_str_eq(s_pstr(p, "display", "valueString"), k->title);
            ck_assert_str_eq(s_props(p, "notSelectable", buf, sizeof buf),
                             k->billable ? "false" : "true");
        }
        json_decref(p);
        ck_assert_int_eq(s_ask("GET", "CodeSystem/$validate-code",
                               json_pack("{s:[s],s:[s]}", "url", CM, "code", k->code), NULL, &p),
                         200);
        ck_assert_msg(json_is_true(s_pval(p, "result", "valueBoolean")) == k->valid, "%s",
                      k->code);
        if (!k->valid) {
            ck_assert_str_eq(s_pstr(p, "message", "valueString"), k->message);
            ck_assert_msg(s_has_tx(p, k->reason, "error"), "%s: no %s issue", k->code,
                          k->reason);
        }
        json_decref(p);
    }
}

START_TEST(test_e2e_agree)
{
    static char codes[256][32];
    static t_known_t known[256];
    size_t n = s_order_codes("loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt", 1,
                             codes, 256);
    ck_assert_int_gt(n, 150);
    s_known(s_d.db, (const char (*)[32])codes, n, known);
    s_open();
    s_agree(known, n);
    s_close();
}
END_TEST

/* $expand with each filter gives what the search op gives the embedded API: total and order
 * (first 50). */
static void s_expand_agrees(const char *db_dir)
{
    static const char *const queries[] = {"diabetes", "type 2 diab", "e11", "hypertension",
                                          "fracture femur", "diabetis", "s72.0"};
    enum { N_Q = sizeof queries / sizeof queries[0] };
    char want[N_Q][2048];
    cs_error_t err;
    cs_db_t *db = cs_db_open(db_dir, s_plugins, &err);
    ck_assert_msg(db != NULL, "cs_db_open: %s", err.msg);
    for (size_t q = 0; q < N_Q; q++) {
        const cs_db_hit_t *hits;
        size_t n_hits, at = 0;
        uint64_t total;
        ck_assert_int_eq(cs_db_search(db, "icd10cm", queries[q], 50, 0, 0, NULL, &hits, &n_hits,
                                      &total, &err), CS_OK);
        s_cat(want[q], sizeof want[q], &at, "%llu:", (unsigned long long)total);
        for (size_t i = 0; i < n_hits; i++) {
            s_cat(want[q], sizeof want[q], &at, "%.*s,", (int)hits[i].code.len,
                  hits[i].code.ptr);
        }
    }
    cs_db_close(&db);
    s_open_dir(db_dir);
    for (size_t q = 0; q < N_Q; q++) {
        json_t *vs;
        ck_assert_int_eq(s_ask("GET", "ValueSet/$expand",
                               json_pack("{s:[s],s:[s],s:[s]}", "url", CM "?fhir_vs", "filter",
                                         queries[q], "count", "50"), NULL, &vs), 200);
        json_t *exp = json_object_get(vs, "expansion");
        char got[2048];
        size_t at = 0, i;
        s_cat(got, sizeof got, &at, "%lld:",
              (long long)json_integer_value(json_object_get(exp, "total")));
        json_t *c;
        json_array_foreach(json_object_get(exp, "contains"), i, c) {
            s_cat(got, sizeof got, &at, "%s,", json_string_value(json_object_get(c, "code")));
        }
        ck_assert_str_eq(got, want[q]);
        json_decref(vs);
    }
    s_close();
}

START_TEST(test_e2e_expand_order)
{
    s_expand_agrees(s_d.db);
}
END_TEST


/* Random parameter shapes, thousands of them, on every route: each answer a resource and
 * never a 5xx. A fixed seed, so a failure repeats. */
static json_t *s_rand_value(unsigned *seed, int depth)
{
    static const char *const texts[] = {
        CM, CM "?fhir_vs", "http://hl7.org/fhir/sid/icd-9-cm", "urn:codeset:map:gems",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "E11.9", "E11", "250.00",
        "XYZ", "2021", "2021-03-01", "2021-02-30", "true", "-1", "99999999999999999999", "",
        CM "|E11.9", "diab", "\xc3\xa9", "|", "?fhir_vs", "urn:codeset:", "*"};
    switch (rand_r(seed) % (depth > 2 ? 5 : 8)) {
    case 0: return json_string(texts[rand_r(seed) % (sizeof texts / sizeof texts[0])]);
    case 1: return json_integer(rand_r(seed) % 3 ? rand_r(seed) % 600 : -rand_r(seed));
    case 2: return json_boolean(rand_r(seed) % 2);
    case 3: return json_null();
    case 4: return json_real(0.5);
    case 5: {
        json_t *a = json_array();
        for (int i = rand_r(seed) % 4; i > 0; i--) {
            json_array_append_new(a, s_rand_value(seed, depth + 1));
        }
        return a;
    }
    default: {
        static const char *const keys[] = {"system", "code", "display", "version", "coding"};
        json_t *o = json_object();
        for (int i = rand_r(seed) % 4; i > 0; i--) {
            json_object_set_new(o, keys[rand_r(seed) % 5], s_rand_value(seed, depth + 1));
        }
        return o;
    }
    }
}

START_TEST(test_e2e_random_shapes)
{
    static const char *const names[] = {
        "system", "code", "url", "coding", "codeableConcept", "display", "version", "date",
        "count", "offset", "filter", "property", "targetsystem", "target", "reverse", "codeA",
        "codeB", "abstract", "valueSet", "systemVersion", "excludeNotForUI", "system-version",
        "targetversion", "codingA", "mode"};
    static const char *const vkeys[] = {"valueString", "valueCode", "valueUri", "valueBoolean",
                                        "valueInteger", "valueCoding", "valueCodeableConcept",
                                        "valueDecimal", "resource", "part", "valueDateTime"};
    static const char *const paths[] = {"CodeSystem/$lookup", "CodeSystem/$validate-code",
                                        "ValueSet/$validate-code", "ValueSet/$expand",
                                        "ConceptMap/$translate", "CodeSystem/$subsumes",
                                        "CodeSystem", "metadata", ""};
    enum { N_NAMES = sizeof names / sizeof names[0], N_V = sizeof vkeys / sizeof vkeys[0] };
    unsigned seed = 16;
    s_open();
    for (int i = 0; i < 3000; i++) {
        const char *path = paths[rand_r(&seed) % (sizeof paths / sizeof paths[0])];
        int post = rand_r(&seed) % 2;
        json_t *query = NULL, *body = NULL;
        int n = rand_r(&seed) % 6;
        if (post) {
            json_t *list = json_array();
            for (int k = 0; k < n; k++) {
                json_t *p = json_pack("{s:s}", "name", names[rand_r(&seed) % N_NAMES]);
                json_object_set_new(p, vkeys[rand_r(&seed) % N_V], s_rand_value(&seed, 0));
                json_array_append_new(list, p);
            }
            body = json_pack("{s:s,s:o}", "resourceType",
                             rand_r(&seed) % 8 ? "Parameters" : "Bundle", "parameter", list);
        } else {
            /* mostly a valid query with a parameter or two changed, to reach the ops */
            static const char *const bases[] = {
                "{\"system\":[\"" CM "\"],\"code\":[\"E11\"]}",
                "{\"url\":[\"" CM "\"],\"code\":[\"E11.9\"],\"display\":[\"x\"]}",
                "{\"url\":[\"" CM "?fhir_vs\"],\"code\":[\"E11.9\"]}",
                "{\"url\":[\"" CM "?fhir_vs\"],\"filter\":[\"diab\"],\"count\":[\"3\"]}",
                "{\"system\":[\"http://hl7.org/fhir/sid/icd-9-cm\"],\"code\":[\"250.00\"],"
                "\"targetsystem\":[\"" CM "\"]}",
                "{\"system\":[\"" CM "\"],\"codeA\":[\"E11\"],\"codeB\":[\"E11.9\"]}",
                "{\"url\":[\"" CM "\"]}", "{\"mode\":[\"terminology\"]}", "{}"};
            size_t b = 0;
            while (b + 1 < sizeof bases / sizeof bases[0] && strcmp(paths[b], path) != 0) {
                b++;
            }
            query = s_json(bases[b]);
            n = rand_r(&seed) % 3;
            for (int k = 0; k < n; k++) {
                json_t *v = s_rand_value(&seed, 0);
                json_object_set_new(query, names[rand_r(&seed) % N_NAMES],
                                    json_is_string(v) ? json_pack("[o]", v) : v);
            }
        }
        json_t *res;
        s_ask(post ? "POST" : "GET", path, query, body, &res); /* asserts < 500, non-NULL */
        ck_assert_ptr_nonnull(json_object_get(res, "resourceType"));
        json_decref(res);
    }
    s_close();
}
END_TEST


/* ---- the official releases (skipped without ../shared/data) ---- */

/* FY2016 and FY2017 with the FY2020 conversion table: H40.11X0 was deleted on 2016-10-01 and
 * split into H40.1110, H40.1120, H40.1130 and H40.1190. On a date of service in FY2017 it is
 * not in effect, and the message says what replaced it; $translate carries it across. */
START_TEST(test_real_not_effective)
{
    char f[5][PATH_MAX], a[5][PATH_MAX];
    static const char *const rel[] = {
        "icd10cm/2016/icd10cm_tabular_2016.xml", "icd10cm/2016/icd10cm_order_2016.txt",
        "icd10cm/2017/icd10cm_tabular_2017.xml", "icd10cm/2017/icd10cm_order_2017.txt",
        "icd10cm/conversion/ICD-10-CM-Conversion-Table-FY20-Effective-10-1-2019-corrected.csv"};
    int ok = 1;
    for (size_t i = 0; i < 5 && ok; i++) {
        ok = cs_test_data_path(rel[i], f[i], sizeof f[i]) && realpath(f[i], a[i]) != NULL;
    }
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2016, icd10cm/2017 or the FY2020 conversion table");
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    char state[64];
    const char *f16[] = {a[0], a[1]}, *f17[] = {a[2], a[3]}, *fconv[] = {a[4]};
    cs_daemon_load(&d, admin, "icd10cm-tabular", "2016", "2015-10-01", f16, 2, state,
                   sizeof state, 120000);
    ck_assert_str_eq(state, "done");
    cs_daemon_load(&d, admin, "icd10cm-tabular", "2017", "2016-10-01", f17, 2, state,
                   sizeof state, 120000);
    ck_assert_str_eq(state, "done");
    cs_daemon_load(&d, admin, "icd10cm-conversion", "fy2020", "2019-10-01", fconv, 1, state,
                   sizeof state, 60000);
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    snprintf(s_plugins, sizeof s_plugins, "%s/plugins", cs_test_build_dir());
    s_open_dir(d.db);

    json_t *p;
    ck_assert_int_eq(s_get("CodeSystem/$validate-code", "{\"url\":[\"" CM "\"],"
                           "\"code\":[\"H40.11X0\"],\"date\":[\"2017-01-01\"]}", &p), 200);
    ck_assert(json_is_false(s_pval(p, "result", "valueBoolean")));
    ck_assert_str_eq(s_pstr(p, "version", "valueString"), "2017");
    const char *msg = s_pstr(p, "message", "valueString");
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(strstr(msg, "replaced by H40.1110") != NULL, "%s", msg);
    ck_assert(s_has_tx(p, "not_effective", "error"));
    json_decref(p);
    /* in FY2016 it was a code */
    ck_assert_int_eq(s_get("CodeSystem/$validate-code", "{\"url\":[\"" CM "\"],"
                           "\"code\":[\"H40.11X0\"],\"date\":[\"2016-03-01\"]}", &p), 200);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    ck_assert_str_eq(s_pstr(p, "version", "valueString"), "2016");
    json_decref(p);
    ck_assert_int_eq(s_get("ConceptMap/$translate", "{\"system\":[\"" CM "\"],"
                           "\"targetsystem\":[\"" CM "\"],\"code\":[\"H40.11X0\"],"
                           "\"version\":[\"2016\"],\"targetversion\":[\"2017\"]}", &p), 200);
    ck_assert(json_is_true(s_pval(p, "result", "valueBoolean")));
    char *text = json_dumps(p, 0);
    for (size_t i = 0; i < 4; i++) {
        static const char *const split[] = {"H40.1110", "H40.1120", "H40.1130", "H40.1190"};
        char want[64];
        snprintf(want, sizeof want, "\"code\": \"%s\"", split[i]);
        ck_assert_msg(strstr(text, want) != NULL, "%s not in %s", split[i], text);
    }
    free(text);
    json_decref(p);
    ck_assert_int_eq(s_get("metadata", "{\"mode\":[\"terminology\"]}", &p), 200);
    json_t *vers = json_object_get(json_array_get(json_object_get(p, "codeSystem"), 0), "version");
    ck_assert_int_eq(json_array_size(vers), 2);
    json_decref(p);
    s_close();
    cs_daemon_cleanup(&d);
}
END_TEST

/* FY2021 and the 2018 GEMs: $lookup and $validate-code agree with the embedded API on 2,000
 * order-file codes (every 45th) with headers, fakes and malformed codes; $expand gives the
 * search op's order; $translate gives the GEM rows the broker's crosswalk gives. */
typedef struct t_xwalk {
    char source[16];
    char targets[4096]; /* "code/equivalence," per row, as the wire's crosswalk answers */
} t_xwalk_t;

/* Every stride-th source of a GEM file, asked of the live broker. */
static size_t s_gem_rows(cs_tclient_t *q, const char *gem, size_t stride, t_xwalk_t *out,
                         size_t cap)
{
    FILE *f = fopen(gem, "r");
    ck_assert_ptr_nonnull(f);
    char line[256], last[16] = "";
    size_t n = 0, line_no = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        char src[16];
        if (sscanf(line, "%15s", src) != 1 || strcmp(src, last) == 0 || line_no++ % stride) {
            continue;
        }
        snprintf(last, sizeof last, "%s", src);
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 4);
        cs_tpack_kv(pk, "op", "crosswalk");
        cs_tpack_kv(pk, "from", "icd9cm");
        cs_tpack_kv(pk, "to", "icd10cm");
        cs_tpack_kv(pk, "code", src);
        const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
        ck_assert_msg(r && cs_obj_true(cs_obj_get(r, "ok")), "crosswalk %s", src);
        t_xwalk_t *x = &out[n++];
        cs_obj_cstr(cs_obj_get(r, "code"), x->source, sizeof x->source);
        const msgpack_object *t = cs_obj_get(r, "targets");
        size_t at = 0;
        x->targets[0] = '\0';
        for (uint32_t i = 0; t && i < t->via.array.size; i++) {
            const msgpack_object *row = &t->via.array.ptr[i];
            char code[32];
            const char *eq = cs_obj_true(cs_obj_get(row, "no_map"))        ? "unmatched"
                             : cs_obj_true(cs_obj_get(row, "approximate")) ? "inexact"
                                                                            : "equivalent";
            cs_obj_cstr(cs_obj_get(row, "code"), code, sizeof code);
            s_cat(x->targets, sizeof x->targets, &at, "%s/%s,", code, eq);
        }
    }
    fclose(f);
    return n;
}

/* The same through $translate, the store open. */
static void s_translate_agrees(const t_xwalk_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *p;
        ck_assert_int_eq(s_ask("GET", "ConceptMap/$translate",
                               json_pack("{s:[s],s:[s],s:[s]}", "system",
                                         "http://hl7.org/fhir/sid/icd-9-cm", "code", x[i].source,
                                         "targetsystem", CM), NULL, &p), 200);
        char got[4096];
        size_t at = 0, k;
        json_t *m;
        got[0] = '\0';
        json_array_foreach(json_object_get(p, "parameter"), k, m) {
            if (strcmp(json_string_value(json_object_get(m, "name")), "match") != 0) {
                continue;
            }
            json_t *concept = json_object_get(s_part(m, "concept"), "valueCoding");
            const char *code = json_string_value(json_object_get(concept, "code"));
            s_cat(got, sizeof got, &at, "%s/%s,", code ? code : "",
                  json_string_value(json_object_get(s_part(m, "equivalence"), "valueCode")));
        }
        ck_assert_str_eq(got, x[i].targets);
        json_decref(p);
    }
}

START_TEST(test_real_fy2021)
{
    char f[4][PATH_MAX], a[4][PATH_MAX];
    static const char *const rel[] = {
        "icd10cm/2021/icd10cm_tabular_2021.xml", "icd10cm/2021/icd10cm_order_2021.txt",
        "gems/2018/2018_I9gem.txt", "gems/2018/2018_I10gem.txt"};
    int ok = 1;
    for (size_t i = 0; i < 4 && ok; i++) {
        ok = cs_test_data_path(rel[i], f[i], sizeof f[i]) && realpath(f[i], a[i]) != NULL;
    }
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2021 or gems/2018");
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char state[64];
    const char *f21[] = {a[0], a[1]}, *fgems[] = {a[2], a[3]};
    cs_daemon_load(&d, admin, "icd10cm-tabular", "2021", "2020-10-01", f21, 2, state,
                   sizeof state, 120000);
    ck_assert_str_eq(state, "done");
    cs_daemon_load(&d, admin, "gems", "2018", "2017-10-01", fgems, 2, state, sizeof state,
                   120000);
    ck_assert_str_eq(state, "done");
    static t_xwalk_t xw[200];
    size_t n_xw = s_gem_rows(q, a[2], 150, xw, 200);
    ck_assert_int_gt(n_xw, 100);
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    snprintf(s_plugins, sizeof s_plugins, "%s/plugins", cs_test_build_dir());

    static char codes[2400][32];
    static t_known_t known[2400];
    size_t n = s_order_codes(a[1], 45, codes, 2400);
    ck_assert_int_gt(n, 2000);
    s_known(d.db, (const char (*)[32])codes, n, known);
    s_open_dir(d.db);
    s_agree(known, n);
    s_translate_agrees(xw, n_xw);
    s_close();
    s_expand_agrees(d.db);
    fprintf(stderr, "fhir: FY2021: %zu codes looked up and validated, %zu GEM sources "
            "translated, as the engine answers them\n", n, n_xw);
    cs_daemon_cleanup(&d);
}
END_TEST

/* Every shape a client could send where another was expected: a 4xx, never a crash. */
START_TEST(test_e2e_hostile)
{
    s_open();
    static const char *const queries[][2] = {
        {"CodeSystem/$lookup", "{\"system\":[\"" CM "\",\"" CM "\"],\"code\":[\"E11.9\"]}"},
        {"CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[]}"},
        {"CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[\"\"]}"},
        {"CodeSystem/$validate-code", "{\"url\":[\"" CM "\"],\"code\":[\"\"]}"},
        {"ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"],\"filter\":[\"\"]}"},
        {"CodeSystem/$lookup", "{\"system\":[\"\"],\"code\":[\"E11.9\"]}"},
        {"CodeSystem/$lookup", "{\"system\":[\"urn:codeset:nosuch\"],\"code\":[\"E11.9\"]}"},
        {"CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[\"E11.9\"],\"date\":"
            "[\"yesterday\"]}"},
        {"CodeSystem/$lookup", "{\"system\":[\"" CM "\"],\"code\":[\"E11.9\"],\"property\":"
            "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\","
            "\"n\",\"o\",\"p\",\"q\",\"r\",\"s\",\"t\",\"u\",\"v\",\"w\",\"x\",\"y\",\"z\","
            "\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\","
            "\"14\",\"15\",\"16\",\"17\",\"18\",\"19\",\"20\",\"21\",\"22\",\"23\",\"24\","
            "\"25\",\"26\",\"27\",\"28\",\"29\",\"30\",\"31\",\"32\",\"33\",\"34\",\"35\","
            "\"36\",\"37\",\"38\",\"39\"]}"},
        {"CodeSystem/$validate-code", "{\"url\":[\"" CM "\"],\"code\":[\"E11.9\"],\"coding\":"
            "[\"" CM "|E11\"]}"},
        {"CodeSystem/$validate-code", "{\"url\":[\"" CM "\"],\"codeableConcept\":[\"x\"]}"},
        {"ValueSet/$validate-code", "{\"url\":[\"" CM "\"],\"code\":[\"E11.9\"]}"},
        {"ValueSet/$validate-code", "{\"url\":[\"?fhir_vs\"],\"code\":[\"E11.9\"]}"},
        {"ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"],\"filter\":[\"diab\"],\"count\":"
            "[\"-5\"]}"},
        {"ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"],\"filter\":[\"diab\"],\"count\":"
            "[\"99999999999\"]}"},
        {"ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"],\"filter\":[\"diab\"],\"offset\":"
            "[\"1e9\"]}"},
        {"ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"],\"filter\":[\"diab\"],"
            "\"system-version\":[\"nobar\"]}"},
        {"ValueSet/$expand", "{\"url\":[\"" CM "?fhir_vs\"],\"filter\":[\"diab\"],"
            "\"excludeNotForUI\":[\"1\"]}"},
        {"ConceptMap/$translate", "{\"system\":[\"" CM "\"],\"code\":[\"E11.9\"],"
            "\"targetsystem\":[\"http://x\"]}"},
        {"ConceptMap/$translate", "{\"system\":[\"" CM "\"],\"code\":[\"E11.9\"],\"reverse\":"
            "[\"maybe\"]}"},
        {"ConceptMap/$translate", "{\"url\":[\"http://x/other\"],\"code\":[\"E11.9\"]}"},
        {"CodeSystem/$subsumes", "{\"system\":[\"" CM "\"],\"codeA\":[\"E11\"]}"},
        {"CodeSystem/$subsumes", "{\"system\":[\"" CM "\"],\"codeA\":[\"E11\"],\"codeB\":"
            "[\"NOPE1\"]}"},
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        json_t *res;
        int status = s_get(queries[i][0], queries[i][1], &res);
        ck_assert_msg(status >= 400 && status < 500, "%s %s: %d", queries[i][0], queries[i][1],
                      status);
        ck_assert_str_eq(s_rtype(res), "OperationOutcome");
        json_decref(res);
    }
    /* wrong value[x] types and huge values in POST bodies */
    static const char *const bodies[] = {
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"system\",\"valueBoolean\":"
            "true},{\"name\":\"code\",\"valueCode\":\"E11.9\"}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"system\",\"valueUri\":"
            "\"" CM "\"},{\"name\":\"code\",\"valueInteger\":119}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"system\",\"valueUri\":"
            "\"" CM "\"},{\"name\":\"code\",\"valueCode\":[\"E11.9\"]}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"coding\",\"valueCoding\":"
            "\"" CM "|E11.9\"}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"coding\",\"valueCoding\":"
            "{\"system\":7,\"code\":\"E11.9\"}}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"system\",\"valueUri\":"
            "\"" CM "\"},{\"name\":\"code\",\"resource\":{\"resourceType\":\"Patient\"}}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"system\",\"valueUri\":"
            "\"" CM "\"},{\"name\":\"code\",\"part\":[{\"name\":\"x\"}]}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":null}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[null,{}]}",
        "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"\",\"valueCode\":\"x\"}]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        json_t *res;
        int status = s_post("CodeSystem/$lookup", bodies[i], &res);
        ck_assert_msg(status >= 400 && status < 500, "%s: %d", bodies[i], status);
        json_decref(res);
    }
    /* a code of 4,000 bytes is a code the system refuses; one over the bound never reaches it */
    char *big = malloc(CS_PROTO_MAX_STR + 2);
    memset(big, 'E', CS_PROTO_MAX_STR + 1);
    big[CS_PROTO_MAX_STR + 1] = '\0';
    json_t *res;
    ck_assert_int_eq(s_ask("GET", "CodeSystem/$validate-code",
                           json_pack("{s:[s],s:[s]}", "url", CM, "code", big), NULL, &res), 400);
    json_decref(res);
    big[4000] = '\0';
    ck_assert_int_eq(s_ask("GET", "CodeSystem/$validate-code",
                           json_pack("{s:[s],s:[s]}", "url", CM, "code", big), NULL, &res), 200);
    ck_assert(json_is_false(s_pval(res, "result", "valueBoolean")));
    json_decref(res);
    memset(big, 'a', 2000);
    big[2000] = '\0';
    ck_assert_int_eq(s_ask("GET", "ValueSet/$expand",
                           json_pack("{s:[s],s:[s]}", "url", CM "?fhir_vs", "filter", big), NULL,
                           &res), 400);
    json_decref(res);
    free(big);
    s_close();
}
END_TEST

Suite *cs_fhir_suite(void)
{
    Suite *s = suite_create("fhir");
    TCase *tc = tcase_create("parts");
    tcase_add_test(tc, test_tree_writer);
    tcase_add_test(tc, test_system_uris);
    tcase_add_test(tc, test_args_query);
    tcase_add_test(tc, test_args_hostile);
    tcase_add_test(tc, test_args_big);
    tcase_add_test(tc, test_lookup_parameters);
    tcase_add_test(tc, test_validate_verdicts);
    tcase_add_test(tc, test_validate_codeable_concept);
    tcase_add_test(tc, test_expand_valueset);
    tcase_add_test(tc, test_translate_parameters);
    tcase_add_test(tc, test_metadata);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_handle_routes);
    suite_add_tcase(s, tc);
    tc = tcase_create("end to end");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_e2e_lookup);
    tcase_add_test(tc, test_e2e_validate);
    tcase_add_test(tc, test_e2e_expand);
    tcase_add_test(tc, test_e2e_translate);
    tcase_add_test(tc, test_e2e_metadata);
    tcase_add_test(tc, test_e2e_batch);
    tcase_add_test(tc, test_e2e_hostile);
    tcase_add_test(tc, test_e2e_agree);
    tcase_add_test(tc, test_e2e_expand_order);
    tcase_add_test(tc, test_e2e_random_shapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("official releases");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_real_not_effective);
    tcase_add_test(tc, test_real_fy2021);
    suite_add_tcase(s, tc);
    return s;
}
