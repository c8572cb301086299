/* check_fhir_live.c: the FHIR facade through a live codesetd and codeset-http pair, on the
 * official FY2021 release and the 2018 GEMs (../shared/data; skipped, saying so, without
 * them). codesetd loads and serves the database; codeset-http serves it read-only beside it;
 * every question goes to the broker over ZeroMQ (msgpack) and to codeset-http over real HTTP
 * (tests/cs_http.h), and the answers must agree:
 *   - $lookup and $validate-code against the broker's lookup and validate for 2,000
 *     order-file codes (every 45th line: billable codes and headers), fakes, malformed codes,
 *     a chapter and a block: found or 404, display, short title, notSelectable; result,
 *     message and the reason's issue;
 *   - a batch Bundle of the first 1,000 of those $validate-code calls, POSTed once: each
 *     entry the resource the single call answered;
 *   - $expand with a filter against the search op: total and order (first 50);
 *   - $translate against the rows of the 2018 ICD-9-CM GEM file itself (every 60th source):
 *     each row a match, with its equivalence and its flags as properties.
 */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cs_daemon.h"
#include "cs_http.h"
#include "cs_test.h"

#define T_TIMEOUT 30000
#define CM "http://hl7.org/fhir/sid/icd-10-cm"
#define I9 "http://hl7.org/fhir/sid/icd-9-cm"
#define S_BATCH 1000 /* codes in the batch Bundle: the most one may hold */

Suite *cs_fhir_live_suite(void);

static cs_daemon_t s_d;
static cs_tclient_t *s_q;
static cs_http_server_t s_h;

/* ---- asking codeset-http ---- */

/* s percent-encoded (every byte but [A-Za-z0-9._-]) into out. */
static const char *s_enc(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t at = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && at + 4 < cap; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-';
        if (plain) {
            out[at++] = (char)*p;
        } else {
            out[at++] = '%';
            out[at++] = hex[*p >> 4];
            out[at++] = hex[*p & 15];
        }
    }
    out[at] = '\0';
    return out;
}

/* GET /fhir/<path>?<k1>=<v1>&<k2>=<v2>[&<k3>=<v3>] (values encoded here); the status, the body
 * as JSON into *out. */
static int s_get(const char *path, const char *k1, const char *v1, const char *k2,
                 const char *v2, const char *k3, const char *v3, json_t **out)
{
    char e1[512], e2[512], e3[512], url[2048], why[400];
    snprintf(url, sizeof url, "/fhir/%s?%s=%s&%s=%s%s%s%s%s", path, k1, s_enc(v1, e1, sizeof e1),
             k2, s_enc(v2, e2, sizeof e2), k3 ? "&" : "", k3 ? k3 : "", k3 ? "=" : "",
             k3 ? s_enc(v3, e3, sizeof e3) : "");
    cs_hresp_t r;
    int st = cs_http_call(s_h.port, "GET", url, NULL, 0, T_TIMEOUT, &r);
    ck_assert_msg(st > 0, "GET %s: no answer (%d)", url, st);
    ck_assert_msg(strstr(r.head, "application/fhir+json") != NULL, "GET %s: %s", url, r.head);
    *out = cs_hresp_json(&r, why, sizeof why);
    ck_assert_msg(*out != NULL, "GET %s: %s", url, why);
    cs_hresp_free(&r);
    return st;
}

/* The first parameter named name of a Parameters resource (borrowed), or NULL. */
static json_t *s_param(const json_t *params, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(params, "parameter"), i, p) {
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0) {
            return p;
        }
    }
    return NULL;
}

/* The part named name of a parameter (borrowed), or NULL. */
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

/* The value of property code of a $lookup answer ("true"/"false" for a boolean, "" when
 * there is none). */
static const char *s_prop(const json_t *params, const char *code)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(params, "parameter"), i, p) {
        const char *c = json_string_value(json_object_get(s_part(p, "code"), "valueCode"));
        if (strcmp(json_string_value(json_object_get(p, "name")), "property") != 0 || !c ||
            strcmp(c, code) != 0) {
            continue;
        }
        json_t *v = s_part(p, "value");
        json_t *b = json_object_get(v, "valueBoolean");
        if (b) {
            return json_is_true(b) ? "true" : "false";
        }
        const char *s = json_string_value(json_object_get(v, "valueCode"));
        return s ? s : json_string_value(json_object_get(v, "valueString"));
    }
    return "";
}

/* 1 when an error issue of the answer names reason (urn:codeset:reason). */
static int s_has_reason(const json_t *params, const char *reason)
{
    json_t *oo = json_object_get(s_param(params, "issues"), "resource");
    size_t i, j;
    json_t *issue, *c;
    json_array_foreach(json_object_get(oo, "issue"), i, issue) {
        if (strcmp(json_string_value(json_object_get(issue, "severity")), "error") != 0) {
            continue;
        }
        json_array_foreach(json_object_get(json_object_get(issue, "details"), "coding"), j, c) {
            const char *code = json_string_value(json_object_get(c, "code"));
            if (code && strcmp(code, reason) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

/* ---- asking the broker ---- */

static const msgpack_object *s_ask(const char *op, const char *key, const char *value,
                                   const char *k2, const char *v2)
{
    msgpack_packer *pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, k2 ? 4 : 3);
    cs_tpack_kv(pk, "op", op);
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, key, value);
    if (k2) {
        cs_tpack_kv(pk, k2, v2);
    }
    const msgpack_object *r = cs_tclient_call(s_q, T_TIMEOUT);
    ck_assert_msg(r != NULL, "%s %s: no answer from the broker", op, value);
    return r;
}

/* ---- the codes ---- */

/* Fakes, malformed codes, a chapter, a block, other spellings; then every stride-th code of
 * the order file (billable codes and headers as it lists them). */
static size_t s_codes(const char *order, size_t stride, char (*codes)[32], size_t cap)
{
    static const char *const extra[] = {"e119", "E11.99", "XYZ", "A00.00", "4", "E08-E13",
                                        " E11.9 ", "S72.001A", "M48.40XA", "Z99.89", "13",
                                        "E11", "E11.", "E11.9E11.9", "\xc3\xa9", "U07.1"};
    size_t n = 0, line_no = 0;
    for (size_t i = 0; i < sizeof extra / sizeof extra[0] && n < cap; i++) {
        snprintf(codes[n++], 32, "%s", extra[i]);
    }
    FILE *f = fopen(order, "r");
    ck_assert_msg(f != NULL, "%s", order);
    char line[512];
    while (n < cap && fgets(line, sizeof line, f)) {
        if (line_no++ % stride == 0 && sscanf(line, "%*s %31s", codes[n]) == 1) {
            n++;
        }
    }
    fclose(f);
    return n;
}

/* $lookup of code answers as the broker's lookup does. */
static void s_lookup_agrees(const char *code)
{
    char title[512], shrt[512], canon[64];
    const msgpack_object *r = s_ask("lookup", "code", code, NULL, NULL);
    char err[64];
    int found = cs_obj_true(cs_obj_get(r, "found"));
    int billable = cs_obj_true(cs_obj_get(r, "billable"));
    cs_obj_cstr(cs_obj_get(r, "title"), title, sizeof title);
    cs_obj_cstr(cs_obj_get(r, "short"), shrt, sizeof shrt);
    cs_obj_cstr(cs_obj_get(r, "code"), canon, sizeof canon);
    cs_obj_error_code(r, err, sizeof err);
    json_t *p;
    int st = s_get("CodeSystem/$lookup", "system", CM, "code", code, NULL, NULL, &p);
    if (!found) {
        ck_assert_msg(st == 404 || (err[0] && st == 400), "$lookup [%s]: %d, the broker: %s",
                      code, st, err[0] ? err : "not found");
        ck_assert_str_eq(json_string_value(json_object_get(p, "resourceType")),
                         "OperationOutcome");
        json_decref(p);
        return;
    }
    ck_assert_msg(st == 200, "$lookup [%s]: %d, the broker found it", code, st);
    ck_assert_str_eq(json_string_value(json_object_get(s_param(p, "display"), "valueString")),
                     title);
    ck_assert_str_eq(s_prop(p, "notSelectable"), billable ? "false" : "true");
    if (shrt[0]) {
        json_t *d = s_param(p, "designation");
        ck_assert_msg(d != NULL, "$lookup [%s]: no designation", code);
        ck_assert_str_eq(json_string_value(json_object_get(s_part(d, "value"), "valueString")),
                         shrt);
    }
    json_decref(p);
}

/* $validate-code of code answers as the broker's validate does; the answer into *kept when
 * kept is not NULL (the caller decrefs). */
static void s_validate_agrees(const char *code, json_t **kept)
{
    char reason[64], message[1024], title[512];
    const msgpack_object *r = s_ask("validate", "code", code, NULL, NULL);
    const msgpack_object *res = cs_obj_get(r, "results");
    ck_assert_msg(res && res->type == MSGPACK_OBJECT_ARRAY && res->via.array.size == 1,
                  "validate [%s]: no result", code);
    const msgpack_object *one = &res->via.array.ptr[0];
    int valid = cs_obj_true(cs_obj_get(one, "valid"));
    cs_obj_cstr(cs_obj_get(one, "reason"), reason, sizeof reason);
    cs_obj_cstr(cs_obj_get(one, "message"), message, sizeof message);
    cs_obj_cstr(cs_obj_get(one, "title"), title, sizeof title);
    json_t *p;
    int st = s_get("CodeSystem/$validate-code", "url", CM, "code", code, NULL, NULL, &p);
    ck_assert_msg(st == 200, "$validate-code [%s]: %d", code, st);
    json_t *result = json_object_get(s_param(p, "result"), "valueBoolean");
    ck_assert_msg(json_is_boolean(result) && json_is_true(result) == valid,
                  "$validate-code [%s]: result differs from the broker's valid (%d)", code,
                  valid);
    if (valid) {
        ck_assert_str_eq(json_string_value(json_object_get(s_param(p, "display"),
                                                           "valueString")), title);
    } else {
        ck_assert_str_eq(json_string_value(json_object_get(s_param(p, "message"),
                                                           "valueString")), message);
        ck_assert_msg(s_has_reason(p, reason), "$validate-code [%s]: no %s issue", code,
                      reason);
    }
    if (kept) {
        *kept = p;
    } else {
        json_decref(p);
    }
}

/* A batch Bundle of the first n codes' $validate-code (GET entries), POSTed once: each entry
 * is 200 OK with the resource the single GET answered (kept[i]). n large enough that the
 * server's per-request arena grows past its first chunks. */
static void s_batch_agrees(const char (*codes)[32], size_t n, json_t *const *kept)
{
    size_t cap = n * 256 + 256, at = 0;
    char *body = malloc(cap), enc[128];
    at += (size_t)snprintf(body, cap, "{\"resourceType\":\"Bundle\",\"type\":\"batch\","
                                      "\"entry\":[");
    for (size_t i = 0; i < n; i++) {
        at += (size_t)snprintf(body + at, cap - at,
                               "%s{\"request\":{\"method\":\"GET\",\"url\":\"CodeSystem/"
                               "$validate-code?url=http%%3A%%2F%%2Fhl7.org%%2Ffhir%%2Fsid%%2F"
                               "icd-10-cm&code=%s\"}}", i ? "," : "",
                               s_enc(codes[i], enc, sizeof enc));
    }
    at += (size_t)snprintf(body + at, cap - at, "]}");
    ck_assert_int_lt(at, cap);
    cs_hresp_t r;
    char why[400];
    ck_assert_int_eq(cs_http_call(s_h.port, "POST", "/fhir", body, at, T_TIMEOUT, &r), 200);
    json_t *b = cs_hresp_json(&r, why, sizeof why);
    ck_assert_msg(b != NULL, "the batch: %s", why);
    cs_hresp_free(&r);
    json_t *entries = json_object_get(b, "entry");
    ck_assert_int_eq(json_array_size(entries), n);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(entries, i);
        const char *st = json_string_value(json_object_get(json_object_get(e, "response"),
                                                           "status"));
        ck_assert_msg(st && strcmp(st, "200 OK") == 0, "batch entry %zu [%s]: %s", i, codes[i],
                      st ? st : "no status");
        ck_assert_msg(json_equal(json_object_get(e, "resource"), kept[i]),
                      "batch entry %zu [%s] differs from the single answer", i, codes[i]);
    }
    json_decref(b);
    free(body);
}

/* ---- $expand and the search op ---- */

static void s_expand_agrees(const char *q)
{
    msgpack_packer *pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "q", q);
    cs_tpack_str(pk, "limit");
    msgpack_pack_int(pk, 50);
    const msgpack_object *r = cs_tclient_call(s_q, T_TIMEOUT);
    ck_assert_msg(r && cs_obj_true(cs_obj_get(r, "ok")), "search %s", q);
    char want[4096], got[4096], code[64];
    size_t at = 0;
    at += (size_t)snprintf(want, sizeof want, "%lld:", (long long)cs_obj_int(cs_obj_get(r,
                                                                                  "total")));
    const msgpack_object *hits = cs_obj_get(r, "hits");
    for (uint32_t i = 0; hits && i < hits->via.array.size && at < sizeof want; i++) {
        cs_obj_cstr(cs_obj_get(&hits->via.array.ptr[i], "code"), code, sizeof code);
        at += (size_t)snprintf(want + at, sizeof want - at, "%s,", code);
    }
    json_t *vs;
    ck_assert_int_eq(s_get("ValueSet/$expand", "url", CM "?fhir_vs", "filter", q, "count", "50",
                           &vs), 200);
    json_t *exp = json_object_get(vs, "expansion");
    at = (size_t)snprintf(got, sizeof got, "%lld:",
                          (long long)json_integer_value(json_object_get(exp, "total")));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(exp, "contains"), i, c) {
        if (at < sizeof got) {
            at += (size_t)snprintf(got + at, sizeof got - at, "%s,",
                                   json_string_value(json_object_get(c, "code")));
        }
    }
    ck_assert_msg(strcmp(got, want) == 0, "$expand filter=%s:\n  %s\nthe search op:\n  %s", q,
                  got, want);
    json_decref(vs);
}

/* ---- $translate and the GEM file ---- */

/* An ICD-9-CM diagnosis code as the GEM file writes it ("25000", "E8889") dotted as the
 * system writes it ("250.00", "E888.9"). */
static void s_dot_i9(const char *raw, char *out, size_t cap)
{
    size_t head = raw[0] == 'E' ? 4 : 3;
    if (strlen(raw) > head) {
        snprintf(out, cap, "%.*s.%s", (int)head, raw, raw + head);
    } else {
        snprintf(out, cap, "%s", raw);
    }
}

/* An ICD-10-CM code undotted ("E119") dotted ("E11.9"). */
static void s_dot_i10(const char *raw, char *out, size_t cap)
{
    if (strlen(raw) > 3) {
        snprintf(out, cap, "%.3s.%s", raw, raw + 3);
    } else {
        snprintf(out, cap, "%s", raw);
    }
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The rows, "target/equivalence/a,n,c,s,ch" each, sorted and joined into out. */
static void s_join_sorted(char **rows, size_t n, char *out, size_t cap)
{
    qsort(rows, n, sizeof *rows, s_cmp_str);
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && at < cap; i++) {
        at += (size_t)snprintf(out + at, cap - at, "%s;", rows[i]);
        free(rows[i]);
    }
}

/* A GEM property of a match as text ("" when absent). */
static const char *s_flag(const json_t *match, const char *key, char *buf, size_t cap)
{
    size_t i;
    json_t *p;
    buf[0] = '\0';
    json_array_foreach(json_object_get(match, "part"), i, p) {
        if (strcmp(json_string_value(json_object_get(p, "name")), "property") != 0) {
            continue;
        }
        const char *c = json_string_value(json_object_get(s_part(p, "code"), "valueCode"));
        if (c && strcmp(c, key) == 0) {
            json_t *v = s_part(p, "value");
            json_t *b = json_object_get(v, "valueBoolean");
            snprintf(buf, cap, "%lld", b ? (long long)json_is_true(b)
                                         : json_integer_value(json_object_get(v, "valueInteger")));
        }
    }
    return buf;
}

/* $translate of source (undotted, as the file writes it) gives exactly want (joined rows). */
static void s_translate_agrees(const char *source, const char *want)
{
    char dotted[32], got[8192];
    s_dot_i9(source, dotted, sizeof dotted);
    json_t *p;
    ck_assert_int_eq(s_get("ConceptMap/$translate", "system", I9, "code", dotted,
                           "targetsystem", CM, &p), 200);
    char *rows[64];
    size_t n = 0, k;
    json_t *m;
    json_array_foreach(json_object_get(p, "parameter"), k, m) {
        if (strcmp(json_string_value(json_object_get(m, "name")), "match") != 0 || n == 64) {
            continue;
        }
        const json_t *coding = json_object_get(s_part(m, "concept"), "valueCoding");
        const char *code = json_string_value(json_object_get(coding, "code"));
        char f[5][24];
        static const char *const keys[] = {"approximate", "no_map", "combination", "scenario",
                                           "choice"};
        for (int i = 0; i < 5; i++) {
            s_flag(m, keys[i], f[i], sizeof f[i]);
        }
        rows[n] = malloc(128);
        snprintf(rows[n++], 128, "%s/%s/%s,%s,%s,%s,%s", code ? code : "",
                 json_string_value(json_object_get(s_part(m, "equivalence"), "valueCode")),
                 f[0], f[1], f[2], f[3], f[4]);
    }
    s_join_sorted(rows, n, got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "$translate %s:\n  %s\nthe GEM file:\n  %s", dotted,
                  got, want);
    json_decref(p);
}

/* Every stride-th source of the GEM file: its rows as the file has them, then $translate. */
static size_t s_gem_sources(const char *gem, size_t stride)
{
    FILE *f = fopen(gem, "r");
    ck_assert_ptr_nonnull(f);
    char line[256], cur[16] = "", want[8192];
    char *rows[64];
    size_t n_rows = 0, n_src = 0, checked = 0;
    for (int more = 1; more;) {
        char src[16] = "", tgt[16], flags[8];
        more = fgets(line, sizeof line, f) != NULL;
        int ok = more && sscanf(line, "%15s %15s %7s", src, tgt, flags) == 3;
        if (!more || strcmp(src, cur) != 0) {
            if (cur[0] && n_src++ % stride == 0) {
                s_join_sorted(rows, n_rows, want, sizeof want);
                s_translate_agrees(cur, want);
                checked++;
            } else {
                for (size_t i = 0; i < n_rows; i++) {
                    free(rows[i]);
                }
            }
            n_rows = 0;
            snprintf(cur, sizeof cur, "%s", src);
        }
        if (!ok || n_rows == 64) {
            continue;
        }
        int no_map = flags[1] == '1', approx = flags[0] == '1';
        char dotted[32];
        s_dot_i10(tgt, dotted, sizeof dotted);
        rows[n_rows] = malloc(128);
        snprintf(rows[n_rows++], 128, "%s/%s/%c,%c,%c,%c,%c", no_map ? "" : dotted,
                 no_map ? "unmatched" : approx ? "inexact" : "equivalent", flags[0], flags[1],
                 flags[2], flags[3], flags[4]);
    }
    fclose(f);
    return checked;
}

/* ---- the pair ---- */

/* codesetd with FY2021 and the 2018 GEMs, and codeset-http beside it; 0 without the data. */
static int s_start(char *order, char *i9gem)
{
    char f[4][PATH_MAX], a[4][PATH_MAX];
    static const char *const rel[] = {
        "icd10cm/2021/icd10cm_tabular_2021.xml", "icd10cm/2021/icd10cm_order_2021.txt",
        "gems/2018/2018_I9gem.txt", "gems/2018/2018_I10gem.txt"};
    for (size_t i = 0; i < 4; i++) {
        if (!cs_test_data_path(rel[i], f[i], sizeof f[i]) || realpath(f[i], a[i]) == NULL) {
            return 0;
        }
    }
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    char state[64];
    const char *f21[] = {a[0], a[1]}, *fgems[] = {a[2], a[3]};
    cs_daemon_load(&s_d, admin, "icd10cm-tabular", "2021", "2020-10-01", f21, 2, state,
                   sizeof state, 240000);
    ck_assert_str_eq(state, "done");
    cs_daemon_load(&s_d, admin, "gems", "2018", "2017-10-01", fgems, 2, state, sizeof state,
                   240000);
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
    s_q = cs_tclient_new(s_d.query_ep);
    char exe[PATH_MAX], log[700], why[800];
    snprintf(exe, sizeof exe, "%s/bin/codeset-http", cs_test_build_dir());
    snprintf(log, sizeof log, "%s/http.log", s_d.dir);
    const char *args[] = {"--threads", "2", NULL};
    ck_assert_msg(cs_http_start(&s_h, exe, s_d.db, log, NULL, args, why, sizeof why) == 0, "%s",
                  why);
    snprintf(order, PATH_MAX, "%s", a[1]);
    snprintf(i9gem, PATH_MAX, "%s", a[2]);
    return 1;
}

static void s_stop(void)
{
    char line[512];
    int status = cs_http_stop(&s_h);
    ck_assert_msg(cs_http_log_clean(&s_h, line, sizeof line), "codeset-http: %s(see %s)", line,
                  s_h.log);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "codeset-http did not stop cleanly (status %d)", status);
    cs_tclient_destroy(&s_q);
    ck_assert_int_eq(cs_daemon_stop(&s_d), 0);
    cs_daemon_cleanup(&s_d);
}

START_TEST(test_fy2021_pair)
{
    char order[PATH_MAX], i9gem[PATH_MAX];
    int have = s_start(order, i9gem);
    CS_SKIP_UNLESS_DATA(have, "icd10cm/2021 or gems/2018");
    static char codes[2400][32];
    size_t n = s_codes(order, 45, codes, 2400);
    ck_assert_int_gt(n, 2000);
    static json_t *kept[S_BATCH];
    for (size_t i = 0; i < n; i++) {
        s_lookup_agrees(codes[i]);
        s_validate_agrees(codes[i], i < S_BATCH ? &kept[i] : NULL);
    }
    s_batch_agrees((const char (*)[32])codes, S_BATCH, kept);
    for (size_t i = 0; i < S_BATCH; i++) {
        json_decref(kept[i]);
    }
    static const char *const queries[] = {"diabetes", "type 2 diab", "diab mel", "e11",
                                          "hypertension", "fracture femur", "diabetis",
                                          "s72.0", "covid", "pregnan"};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        s_expand_agrees(queries[i]);
    }
    size_t n_src = s_gem_sources(i9gem, 60);
    ck_assert_int_gt(n_src, 200);
    fprintf(stderr, "fhir_live: FY2021 through codeset-http: %zu codes looked up and "
            "validated as the broker answers them (%d of them again in one batch), %zu queries "
            "expanded, %zu GEM sources "
            "translated as the file maps them\n", n, S_BATCH,
            sizeof queries / sizeof queries[0], n_src);
    s_stop();
}
END_TEST

Suite *cs_fhir_live_suite(void)
{
    Suite *s = suite_create("fhir_live");
    TCase *tc = tcase_create("fy2021");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_fy2021_pair);
    suite_add_tcase(s, tc);
    return s;
}
