/* check_claim.c: the claim edits (core/engine/cs_claim.h) on the official files: a real
 * codesetd loads ICD-10-CM FY2016, FY2017 and FY2021 (tabular XML and order file), the
 * FY2026 order file, the MCE v34 lists (a third party's derivation) and the FY2026
 * POA-exempt list; the suite then opens that database read-only and checks claims through
 * the typed C API. Skipped, saying so, when ../shared/data is absent. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlreader.h>

#include "cs_daemon.h"
#include "cs_test.h"
#include "engine/cs_claim.h"
#include "util/cs_coderef.h"

#define T_LOAD_MS 600000

static cs_daemon_t s_d;
static int s_have;                /* 1 when the data was there and loaded */
static cs_store_t *s_store;
static cs_reader_t *s_reader;
static cs_plugin_host_t *s_plugins;
static cs_claim_result_t s_res;

static void s_load(cs_tclient_t *admin, const char *loader, const char *label,
                   const char *eff, const char *const *rel, size_t n)
{
    char paths[2][PATH_MAX];
    const char *files[2];
    for (size_t i = 0; i < n; i++) {
        if (rel[i][0] == '/') {
            snprintf(paths[i], sizeof paths[i], "%s", rel[i]);
        } else {
            cs_test_data_path(rel[i], paths[i], sizeof paths[i]);
        }
        files[i] = paths[i];
    }
    char state[64];
    const msgpack_object *r = cs_daemon_load(&s_d, admin, loader, label, eff, files, n, state,
                                             sizeof state, T_LOAD_MS);
    char msg[300] = "";
    if (r && strcmp(state, "done") != 0) {
        const msgpack_object *e = cs_obj_get(r, "error");
        cs_obj_cstr(e ? cs_obj_get(e, "message") : NULL, msg, sizeof msg);
    }
    ck_assert_msg(r && strcmp(state, "done") == 0, "load %s failed: %s %s", label, state, msg);
}

static void s_setup(void)
{
    char p[PATH_MAX];
    s_have = cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", p, sizeof p) &&
             cs_test_data_path("mce/MCE_Simple_Code_Edits_v34.txt", p, sizeof p) &&
             cs_test_data_path("poa/POAexemptCodesFY26.txt", p, sizeof p);
    if (!s_have) {
        return;
    }
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    char cwd[PATH_MAX], ranges[PATH_MAX + 64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(ranges, sizeof ranges, "%s/loaders/mce-lists/mce_age_ranges.tsv", cwd);
    static const char *const y16[] = {"icd10cm/2016/icd10cm_tabular_2016.xml",
                                      "icd10cm/2016/icd10cm_order_2016.txt"};
    static const char *const y17[] = {"icd10cm/2017/icd10cm_tabular_2017.xml",
                                      "icd10cm/2017/icd10cm_order_2017.txt"};
    static const char *const y21[] = {"icd10cm/2021/icd10cm_tabular_2021.xml",
                                      "icd10cm/2021/icd10cm_order_2021.txt"};
    static const char *const y25[] = {"icd10cm/order/icd10cm_order_2025.txt"};
    static const char *const y26[] = {"icd10cm/order/icd10cm_order_2026.txt"};
    static const char *const poa25[] = {"poa/POAexemptCodesFY25.txt"};
    static const char *const poa[] = {"poa/POAexemptCodesFY26.txt"};
    const char *mce[] = {"mce/MCE_Simple_Code_Edits_v34.txt", ranges};
    static const char *const h20[] = {"hcpcs/HCPC2020_ANWEB_w_disclaimer.txt"};
    static const char *const h25[] = {"hcpcs/HCPC2025_JAN_ANWEB_12172024.txt"};
    char ptp[PATH_MAX + 64], mue[PATH_MAX + 64];
    snprintf(ptp, sizeof ptp, "%s/loaders/ncci-ptp/sample/ncci_ptp_sample.txt", cwd);
    snprintf(mue, sizeof mue, "%s/loaders/ncci-mue/sample/ncci_mue_sample.csv", cwd);
    const char *ptps[] = {ptp}, *mues[] = {mue};
    s_load(admin, NULL, "2016", "2015-10-01", y16, 2);
    s_load(admin, NULL, "2017", "2016-10-01", y17, 2);
    s_load(admin, NULL, "2021", "2020-10-01", y21, 2);
    s_load(admin, "icd10cm-order", "2025", "2024-10-01", y25, 1);
    s_load(admin, "icd10cm-order", "2026", "2025-10-01", y26, 1);
    s_load(admin, "poa-exempt", "FY2025", "2024-10-01", poa25, 1);
    s_load(admin, "mce-lists", "v34", "2016-10-01", mce, 2);
    s_load(admin, "poa-exempt", "FY2026", "2025-10-01", poa, 1);
    s_load(admin, "hcpcs-anweb", "2020", "2020-01-01", h20, 1);
    s_load(admin, "hcpcs-anweb", "2025-01", "2025-01-01", h25, 1);
    /* the synthetic NCCI samples (no CMS NCCI file is available here) */
    s_load(admin, "ncci-ptp", "sample", "2020-01-01", ptps, 1);
    s_load(admin, "ncci-mue", "sample", "2025-01-01", mues, 1);
    cs_tclient_destroy(&admin);
}

/* The store, read-only, opened in the test's own process (Check forks each test, and an LMDB
 * reader never crosses a fork). */
static void s_open(void)
{
    cs_error_t err;
    s_store = cs_store_open_ex(s_d.db, 0, 0, CS_STORE_RDONLY, &err);
    ck_assert_msg(s_store != NULL, "open: %s", err.msg);
    s_reader = cs_reader_new(s_store, &err);
    ck_assert_ptr_nonnull(s_reader);
    s_plugins = cs_plugin_host_new();
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/plugins", cs_test_build_dir());
    size_t n = 0;
    ck_assert_int_eq(cs_plugin_host_load_dir(s_plugins, dir, &n, &err), CS_OK);
    cs_claim_result_init(&s_res);
}

static void s_close(void)
{
    if (s_store) {
        cs_claim_result_fini(&s_res);
        cs_reader_destroy(&s_reader);
        cs_store_destroy(&s_store);
        cs_plugin_host_destroy(&s_plugins);
    }
}

static void s_teardown(void)
{
    if (!s_have) {
        return;
    }
    cs_daemon_stop(&s_d);
    cs_daemon_cleanup(&s_d);
}

static void s_test_open(void)
{
    if (s_have) {
        s_open();
    }
}

#define SKIP_UNLESS_LOADED() CS_SKIP_UNLESS_DATA(s_have, "the ICD-10-CM, MCE and POA files")

static cs_str_t s_s(const char *s)
{
    return (cs_str_t){s, (uint32_t)strlen(s)};
}

/* A claim of diagnoses (codes[i], poas[i] or "" when poas is NULL) on date. */
typedef struct t_claim {
    cs_claim_t c;
    cs_claim_dx_t dx[CS_CLAIM_MAX_DX];
    cs_claim_px_t px[8];
} t_claim_t;

static void s_claim(t_claim_t *t, int date, cs_claim_setting_t setting,
                    const char *const *codes, const char *const *poas, uint32_t n)
{
    memset(t, 0, sizeof *t);
    t->c.date = date;
    t->c.setting = setting;
    for (uint32_t i = 0; i < n; i++) {
        t->dx[i].code = s_s(codes[i]);
        t->dx[i].poa = s_s(poas ? poas[i] : "");
    }
    t->c.dx = t->dx;
    t->c.n_dx = n;
    t->c.px = t->px;
}

static void s_age_sex(t_claim_t *t, int age, cs_claim_sex_t sex)
{
    t->c.has_age = age >= 0;
    t->c.age = age;
    t->c.sex = sex;
}

static const cs_claim_result_t *s_check(const t_claim_t *t)
{
    ck_assert_int_eq(cs_reader_begin(s_reader), CS_OK);
    cs_claim_env_t env = {.reader = s_reader, .plugins = s_plugins};
    cs_proto_err_t e = cs_claim_check(&env, &t->c, &s_res);
    cs_reader_end(s_reader);
    ck_assert_msg(e == CS_PERR_NONE, "claim failed: %s", s_res.err_msg);
    return &s_res;
}

/* The edit named name on lines a (and b, when b >= 0), or NULL. */
static const cs_claim_edit_t *s_edit(const cs_claim_result_t *r, const char *name, int a, int b)
{
    for (uint32_t i = 0; i < r->n_edits; i++) {
        const cs_claim_edit_t *e = &r->edits[i];
        if (strcmp(e->edit, name) == 0 && (int)e->lines[0] == a &&
            (b < 0 || (e->n_lines == 2 && (int)e->lines[1] == b))) {
            return e;
        }
    }
    return NULL;
}

static int s_count(const cs_claim_result_t *r, const char *name)
{
    int n = 0;
    for (uint32_t i = 0; i < r->n_edits; i++) {
        n += strcmp(r->edits[i].edit, name) == 0;
    }
    return n;
}

static const char *s_skipped(const cs_claim_result_t *r, const char *name)
{
    for (uint32_t i = 0; i < r->n_skipped; i++) {
        if (strcmp(r->skipped[i].edit, name) == 0) {
            return r->skipped[i].why;
        }
    }
    return NULL;
}

/* ---- note references (no data needed) ---- */

START_TEST(test_coderef_parse)
{
    cs_coderef_t r[8];
    const char *t = "endocrine disease, except diabetes (E00-E07, E15-E16, E20-E34)";
    ck_assert_uint_eq(cs_coderef_parse(t, strlen(t), r, 8), 3);
    ck_assert_str_eq(r[0].lo, "E00");
    ck_assert_str_eq(r[0].hi, "E07");
    ck_assert_int_eq(cs_coderef_match(&r[0], "E039", 4), 1);
    ck_assert_int_eq(cs_coderef_match(&r[0], "E08", 3), 0);
    const char *f = "gestational diabetes (O24.4-) and type 2 (E11.-), neonatal (P70.2)";
    ck_assert_uint_eq(cs_coderef_parse(f, strlen(f), r, 8), 3);
    ck_assert_str_eq(r[0].lo, "O244");
    ck_assert_int_eq(cs_coderef_match(&r[0], "O24419", 6), 1);
    ck_assert_int_eq(cs_coderef_match(&r[0], "O2401", 5), 0);
    ck_assert_str_eq(r[1].lo, "E11");
    ck_assert_int_eq(cs_coderef_match(&r[1], "E119", 4), 1);
    ck_assert_int_eq(cs_coderef_match(&r[2], "P702", 4), 1);
    const char *w = "HbA1C level, vitamin B12 (R73.09, O9A)";
    ck_assert_uint_eq(cs_coderef_parse(w, strlen(w), r, 8), 2); /* not A1C, not B12 */
    ck_assert_str_eq(r[0].lo, "R7309");
    ck_assert_str_eq(r[1].lo, "O9A");
    const char *o = "diabetic acidosis - see categories E08-E10, E13 with ketoacidosis, D09.8";
    ck_assert_uint_eq(cs_coderef_parse(o, strlen(o), r, 8), 3);
    ck_assert_str_eq(r[0].hi, "E10");
    ck_assert_str_eq(r[1].lo, "E13");
    ck_assert_str_eq(r[2].lo, "D098");
    const char *g = "pregnancy (O00-O9A)";
    ck_assert_uint_eq(cs_coderef_parse(g, strlen(g), r, 8), 1);
    ck_assert_int_eq(cs_coderef_match(&r[0], "O9A11", 5), 1);
    ck_assert_int_eq(cs_coderef_match(&r[0], "P00", 3), 0);
    const char *j = "pneumoconiosis (J60-J67.9)";
    ck_assert_uint_eq(cs_coderef_parse(j, strlen(j), r, 8), 1);
    ck_assert_int_eq(cs_coderef_match(&r[0], "J60", 3), 1);   /* shorter than J67.9 */
    ck_assert_int_eq(cs_coderef_match(&r[0], "J679", 4), 1);
    ck_assert_int_eq(cs_coderef_match(&r[0], "J68", 3), 0);
    ck_assert_int_eq(cs_coderef_match(&r[0], "J59", 3), 0);
}
END_TEST

/* ---- the tabular's edits ---- */

START_TEST(test_excludes1_family_both_ways)
{
    SKIP_UNLESS_LOADED();
    static const char *const ab[] = {"E10.9", "E11.9"}, *const ba[] = {"E11.9", "E10.9"};
    t_claim_t t;
    s_claim(&t, 20210301, CS_SETTING_OUTPATIENT, ab, NULL, 2);
    const cs_claim_result_t *r = s_check(&t);
    const cs_claim_edit_t *e = s_edit(r, "excludes1", 0, 1);
    ck_assert_msg(e != NULL, "E10.9 with E11.9 not flagged");
    ck_assert_str_eq(e->codes[0], "E10.9");
    ck_assert_str_eq(e->codes[1], "E11.9");
    ck_assert_str_eq(e->source.set, "icd10cm");
    ck_assert_str_eq(e->source.release, "2021");
    ck_assert_str_eq(e->source.name, "excludes1");
    /* E10's note "type 2 diabetes mellitus (E11.-)" names E11.9's family: an ancestor's */
    ck_assert_str_eq(e->source.on, "E10");
    ck_assert_str_eq(e->source.text, "type 2 diabetes mellitus (E11.-)");
    ck_assert_ptr_nonnull(strstr(e->message, "type 2 diabetes mellitus (E11.-)"));
    s_claim(&t, 20210301, CS_SETTING_OUTPATIENT, ba, NULL, 2);
    r = s_check(&t);
    e = s_edit(r, "excludes1", 0, 1);
    ck_assert_msg(e != NULL, "E11.9 with E10.9 not flagged");
    ck_assert_str_eq(e->source.on, "E11"); /* E11's note names E10.- */
}
END_TEST

START_TEST(test_excludes1_range_and_none)
{
    SKIP_UNLESS_LOADED();
    /* A05 "Other bacterial foodborne intoxications" excludes "toxic effect of noxious
     * foodstuffs (T61-T62)": a range, on A05.9's category */
    static const char *const range[] = {"A05.9", "T61.01XA"};
    t_claim_t t;
    s_claim(&t, 20210301, CS_SETTING_OUTPATIENT, range, NULL, 2);
    const cs_claim_result_t *r = s_check(&t);
    const cs_claim_edit_t *e = s_edit(r, "excludes1", 0, 1);
    ck_assert_msg(e != NULL, "A05.9 with T61.01XA not flagged");
    ck_assert_str_eq(e->source.on, "A05");
    ck_assert_str_eq(e->source.text, "toxic effect of noxious foodstuffs (T61-T62)");
    static const char *const none[] = {"E11.9", "I10"};
    s_claim(&t, 20210301, CS_SETTING_OUTPATIENT, none, NULL, 2);
    r = s_check(&t);
    ck_assert_int_eq(s_count(r, "excludes1"), 0);
    ck_assert_int_eq(r->clean, 1);
}
END_TEST

START_TEST(test_manifestation_tabular)
{
    SKIP_UNLESS_LOADED();
    /* 2016-03-01: FY2016, and no MCE set in effect (v34 starts 2016-10-01): the tabular
     * answers, from G63's title "... in diseases classified elsewhere" */
    static const char *const g[] = {"G63", "E85.4"};
    t_claim_t t;
    s_claim(&t, 20160301, CS_SETTING_INPATIENT, g, NULL, 2);
    const cs_claim_result_t *r = s_check(&t);
    const cs_claim_edit_t *e = s_edit(r, "manifestation_principal", 0, -1);
    ck_assert_msg(e != NULL, "G63 as principal not flagged");
    ck_assert_int_eq(e->severity, CS_SEV_ERROR);
    ck_assert_str_eq(e->source.what, "title");
    ck_assert_ptr_nonnull(s_skipped(r, "age"));
    ck_assert_ptr_nonnull(strstr(s_skipped(r, "age"), "no mce edit set"));
    ck_assert_int_eq(r->clean, 0);
    /* listed after its cause, G63 is fine, and its code-first note is met by E85.4 */
    static const char *const ok[] = {"E85.4", "G63"};
    s_claim(&t, 20160301, CS_SETTING_OUTPATIENT, ok, NULL, 2);
    r = s_check(&t);
    ck_assert_int_eq(s_count(r, "manifestation_principal"), 0);
    ck_assert_int_eq(s_count(r, "code_first"), 0);
    /* after an unrelated code, G63's "code first" note is not met */
    static const char *const late[] = {"I10", "G63"};
    s_claim(&t, 20160301, CS_SETTING_OUTPATIENT, late, NULL, 2);
    r = s_check(&t);
    e = s_edit(r, "code_first", 1, -1);
    ck_assert_msg(e != NULL, "G63 after I10 has no code_first");
    ck_assert_str_eq(e->source.on, "G63");
}
END_TEST

/* ---- the MCE lists (v34, FY2017) ---- */

START_TEST(test_mce_manifestation_and_age_sex)
{
    SKIP_UNLESS_LOADED();
    static const char *const g[] = {"G63"};
    t_claim_t t;
    s_claim(&t, 20170301, CS_SETTING_INPATIENT, g, NULL, 1);
    s_age_sex(&t, 40, CS_SEX_FEMALE);
    const cs_claim_result_t *r = s_check(&t);
    const cs_claim_edit_t *e = s_edit(r, "manifestation_principal", 0, -1);
    ck_assert_msg(e != NULL, "G63 not flagged by the MCE");
    ck_assert_str_eq(e->source.set, "mce");
    ck_assert_str_eq(e->source.release, "v34");
    ck_assert_str_eq(e->source.name, "manifestation");
    ck_assert_int_eq(e->source.derived, 1);
    /* O24.419 (gestational diabetes) is a maternity diagnosis, ages 12 to 55 */
    static const char *const o[] = {"O24.419"};
    static const int ages[] = {11, 12, 55, 56};
    static const int flagged[] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        s_claim(&t, 20170301, CS_SETTING_OUTPATIENT, o, NULL, 1);
        s_age_sex(&t, ages[i], CS_SEX_FEMALE);
        r = s_check(&t);
        ck_assert_msg((s_edit(r, "age", 0, -1) != NULL) == flagged[i], "maternity at %d",
                      ages[i]);
        ck_assert_int_eq(s_count(r, "sex"), 0);
    }
    s_claim(&t, 20170301, CS_SETTING_OUTPATIENT, o, NULL, 1);
    s_age_sex(&t, 30, CS_SEX_MALE);
    r = s_check(&t);
    e = s_edit(r, "sex", 0, -1);
    ck_assert_msg(e != NULL, "O24.419 for a male not flagged");
    ck_assert_str_eq(e->source.name, "sex-female-dx");
    s_claim(&t, 20170301, CS_SETTING_OUTPATIENT, o, NULL, 1);
    s_age_sex(&t, -1, CS_SEX_NONE);
    r = s_check(&t);
    ck_assert_ptr_nonnull(s_skipped(r, "age"));
    ck_assert_ptr_nonnull(s_skipped(r, "sex"));
    ck_assert_int_eq(s_count(r, "age") + s_count(r, "sex"), 0);
}
END_TEST

/* ---- POA (FY2026 order file as release 2026, FY2026 exempt list) ---- */

START_TEST(test_poa)
{
    SKIP_UNLESS_LOADED();
    /* Z79.4 (long term use of insulin) is exempt; E11.9 is not */
    static const char *const c[] = {"E11.9", "Z79.4"};
    static const char *const good[] = {"Y", ""}, *const bad[] = {"", "Y"};
    static const char *const old[] = {"N", "1"}, *const junk[] = {"X", ""};
    t_claim_t t;
    s_claim(&t, 20251101, CS_SETTING_INPATIENT, c, good, 2);
    const cs_claim_result_t *r = s_check(&t);
    ck_assert_int_eq(s_count(r, "poa"), 0);
    s_claim(&t, 20251101, CS_SETTING_INPATIENT, c, bad, 2);
    r = s_check(&t);
    ck_assert_int_eq(s_count(r, "poa"), 2);
    const cs_claim_edit_t *e = s_edit(r, "poa", 1, -1);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->source.set, "poa-exempt");
    ck_assert_str_eq(e->source.release, "FY2026");
    ck_assert_int_eq(e->severity, CS_SEV_ERROR);
    ck_assert_ptr_nonnull(s_edit(r, "poa", 0, -1));
    s_claim(&t, 20251101, CS_SETTING_INPATIENT, c, old, 2);
    ck_assert_int_eq(s_count(s_check(&t), "poa"), 0);
    s_claim(&t, 20251101, CS_SETTING_INPATIENT, c, junk, 2);
    ck_assert_int_eq(s_count(s_check(&t), "poa"), 1);
    /* outpatient: no POA edit; before FY2026: no set, skipped */
    s_claim(&t, 20251101, CS_SETTING_OUTPATIENT, c, bad, 2);
    ck_assert_int_eq(s_count(s_check(&t), "poa"), 0);
    s_claim(&t, 20210301, CS_SETTING_INPATIENT, c, bad, 2);
    r = s_check(&t);
    ck_assert_ptr_nonnull(s_skipped(r, "poa"));
}
END_TEST

/* ---- NCCI (the synthetic samples in their published layouts) ---- */

static void s_px(t_claim_t *t, const char *code, int64_t units, const char *mod)
{
    cs_claim_px_t *p = &t->px[t->c.n_px++];
    memset(p, 0, sizeof *p);
    p->system = s_s("hcpcs");
    p->code = s_s(code);
    p->units = units;
    if (mod) {
        p->modifiers[0] = s_s(mod);
        p->n_modifiers = 1;
    }
}

/* A claim on date of one diagnosis and the procedures a (and b when not NULL). */
static const cs_claim_result_t *s_pair(int date, const char *a, const char *ma, const char *b,
                                       const char *mb)
{
    static const char *const dx[] = {"Z00.00"};
    static t_claim_t t;
    s_claim(&t, date, CS_SETTING_OUTPATIENT, dx, NULL, 1);
    s_px(&t, a, 1, ma);
    if (b) {
        s_px(&t, b, 1, mb);
    }
    return s_check(&t);
}

START_TEST(test_ncci_ptp)
{
    SKIP_UNLESS_LOADED();
    const cs_claim_result_t *r = s_pair(20250301, "G0101", NULL, "G0102", NULL);
    const cs_claim_edit_t *e = s_edit(r, "ncci_ptp", 1, 2);
    ck_assert_msg(e != NULL, "G0101 with G0102 (indicator 0) not flagged");
    ck_assert_str_eq(e->source.set, "ncci-ptp");
    ck_assert_str_eq(e->source.name, "ptp-hcpcs");
    ck_assert_int_eq(s_count(s_pair(20250301, "G0101", NULL, "G0102", "59"), "ncci_ptp"), 1);
    /* indicator 1: an NCCI-associated modifier on either line lets the pair through */
    ck_assert_int_eq(s_count(s_pair(20250301, "G0101", NULL, "J1100", NULL), "ncci_ptp"), 1);
    ck_assert_int_eq(s_count(s_pair(20250301, "G0101", NULL, "J1100", "59"), "ncci_ptp"), 0);
    ck_assert_int_eq(s_count(s_pair(20250301, "G0101", "XS", "J1100", NULL), "ncci_ptp"), 0);
    ck_assert_int_eq(s_count(s_pair(20250301, "G0101", "F3", "J1100", NULL), "ncci_ptp"), 0);
    ck_assert_int_eq(s_count(s_pair(20250301, "G0101", "GA", "J1100", NULL), "ncci_ptp"), 1);
    /* indicator 9: not applicable */
    ck_assert_int_eq(s_count(s_pair(20250301, "G0101", NULL, "J3490", NULL), "ncci_ptp"), 0);
    /* deleted 2020-12-31: in effect on 2020-06-01, not on 2025-03-01 */
    ck_assert_int_eq(s_count(s_pair(20200601, "G0102", NULL, "J7050", NULL), "ncci_ptp"), 1);
    ck_assert_int_eq(s_count(s_pair(20250301, "G0102", NULL, "J7050", NULL), "ncci_ptp"), 0);
    /* in effect from 2025-07-01 */
    ck_assert_int_eq(s_count(s_pair(20250301, "J1100", NULL, "A4550", NULL), "ncci_ptp"), 0);
    ck_assert_int_eq(s_count(s_pair(20250801, "J1100", NULL, "A4550", NULL), "ncci_ptp"), 1);
    /* column 2 before column 1 on the claim: still the pair */
    ck_assert_int_eq(s_count(s_pair(20250301, "G0102", NULL, "G0101", NULL), "ncci_ptp"), 1);
}
END_TEST

START_TEST(test_ncci_mue)
{
    SKIP_UNLESS_LOADED();
    static const char *const dx[] = {"Z00.00"};
    t_claim_t t;
    /* G0101: 1 a date (indicator 2): 1 unit clean, 2 units flagged, 1 + 1 on two lines too */
    s_claim(&t, 20250301, CS_SETTING_OUTPATIENT, dx, NULL, 1);
    s_px(&t, "G0101", 1, NULL);
    ck_assert_int_eq(s_count(s_check(&t), "mue"), 0);
    t.c.px = t.px;
    t.px[0].units = 2;
    const cs_claim_edit_t *e = s_edit(s_check(&t), "mue", 1, -1);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e->message, "2 Date of Service Edit: Policy"));
    ck_assert_str_eq(e->source.text, "2 Date of Service Edit: Policy");
    s_claim(&t, 20250301, CS_SETTING_OUTPATIENT, dx, NULL, 1);
    s_px(&t, "G0101", 1, NULL);
    s_px(&t, "G0101", 1, "76");
    ck_assert_ptr_nonnull(s_edit(s_check(&t), "mue", 1, 2));
    /* A4550: 2 a line (indicator 1): two lines of 2 are clean, one line of 3 is not */
    s_claim(&t, 20250301, CS_SETTING_OUTPATIENT, dx, NULL, 1);
    s_px(&t, "A4550", 2, NULL);
    s_px(&t, "A4550", 2, "76");
    ck_assert_int_eq(s_count(s_check(&t), "mue"), 0);
    t.px[1].units = 3;
    ck_assert_ptr_nonnull(s_edit(s_check(&t), "mue", 2, -1));
    /* J1100 at and over its value of 10 */
    s_claim(&t, 20250301, CS_SETTING_OUTPATIENT, dx, NULL, 1);
    s_px(&t, "J1100", 10, NULL);
    ck_assert_int_eq(s_count(s_check(&t), "mue"), 0);
    t.px[0].units = 11;
    ck_assert_int_eq(s_count(s_check(&t), "mue"), 1);
    /* before the MUE sample's effective date: skipped, saying so */
    s_claim(&t, 20240601, CS_SETTING_OUTPATIENT, dx, NULL, 1);
    s_px(&t, "J1100", 11, NULL);
    const cs_claim_result_t *r = s_check(&t);
    ck_assert_int_eq(s_count(r, "mue"), 0);
    ck_assert_ptr_nonnull(s_skipped(r, "mue"));
}
END_TEST

/* ---- lines and duplicates ---- */

START_TEST(test_invalid_and_duplicate)
{
    SKIP_UNLESS_LOADED();
    static const char *const c[] = {"E11.9", "E11", "E1", "E11.9", "Q99.99"};
    t_claim_t t;
    s_claim(&t, 20210301, CS_SETTING_OUTPATIENT, c, NULL, 5);
    const cs_claim_result_t *r = s_check(&t);
    ck_assert_uint_eq(r->n_lines, 5);
    ck_assert_int_eq(r->lines[0].reason, CS_CLAIM_VALID);
    ck_assert_int_eq(r->lines[1].reason, CS_CLAIM_NOT_BILLABLE);
    ck_assert_int_eq(r->lines[2].reason, CS_CLAIM_MALFORMED);
    ck_assert_int_eq(r->lines[4].reason, CS_CLAIM_UNKNOWN);
    ck_assert_int_eq(s_count(r, "invalid_code"), 3);
    const cs_claim_edit_t *d = s_edit(r, "duplicate_code", 0, 3);
    ck_assert_msg(d != NULL, "E11.9 twice not flagged");
    ck_assert_str_eq(d->codes[1], "E11.9");
    ck_assert_int_eq(r->clean, 0);
    ck_assert_uint_ge(r->n_used, 1);
    ck_assert_str_eq(r->used[0].set, "icd10cm");
    ck_assert_str_eq(r->used[0].label, "2021");
    /* H40.11X0 is a code of FY2016, not of FY2017 (split into H40.1110...): not_effective on
     * a date of FY2017, naming the release that holds it */
    static const char *const gone[] = {"H40.11X0"};
    s_claim(&t, 20170301, CS_SETTING_OUTPATIENT, gone, NULL, 1);
    r = s_check(&t);
    ck_assert_int_eq(r->lines[0].reason, CS_CLAIM_NOT_EFFECTIVE);
    ck_assert_msg(strstr(r->lines[0].message, "release 2016"), "%s", r->lines[0].message);
}
END_TEST

/* ---- sweeps over whole files ---- */

/* The tab-separated fields of each line of a data file after its header, into fn. */
typedef void (*t_row_fn)(void *ud, char **f, int n);
static void s_rows(const char *rel, t_row_fn fn, void *ud)
{
    char path[PATH_MAX], line[4096];
    ck_assert(cs_test_data_path(rel, path, sizeof path));
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp)); /* the header */
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *f[12], *p = line;
        int n = 0;
        for (char *tok; n < 12 && (tok = strsep(&p, "\t")) != NULL;) {
            f[n++] = tok;
        }
        fn(ud, f, n);
    }
    fclose(fp);
}

/* One claim of one diagnosis (principal), with a patient; 1 if edit is on line 0. */
static int s_one(const char *code, int date, cs_claim_setting_t setting, int age,
                 cs_claim_sex_t sex, const char *poa, const char *edit, int *found)
{
    t_claim_t t;
    const char *codes[1] = {code}, *poas[1] = {poa};
    s_claim(&t, date, setting, codes, poas, 1);
    s_age_sex(&t, age, sex);
    cs_claim_env_t env = {.reader = s_reader, .plugins = s_plugins};
    ck_assert_int_eq(cs_claim_check(&env, &t.c, &s_res), CS_PERR_NONE);
    *found = s_res.lines[0].reason == CS_CLAIM_VALID ||
             s_res.lines[0].reason == CS_CLAIM_NOT_BILLABLE; /* in the release in effect */
    return s_edit(&s_res, edit, 0, -1) != NULL;
}

typedef struct t_mce {
    long rows, absent, flagged, clean, px;
    long by_list[6][2]; /* age lists, sex: flagged, rows checked */
} t_mce_t;

/* An MCE v34 diagnosis row: a patient who breaks it gets the edit, one who fits none. */
static void s_mce_row(void *ud, char **f, int n)
{
    t_mce_t *m = ud;
    if (n < 7) {
        return;
    }
    m->rows++;
    if (strcmp(f[5], "D") != 0) {
        m->px++; /* no ICD-10-PCS FY2017 release here */
        return;
    }
    static const struct {
        const char *type, *edit;
        int bad_age, good_age;
        cs_claim_sex_t bad_sex, good_sex;
        cs_claim_setting_t setting;
    } k[] = {
        {"Newborn_Only", "age", 1, 0, CS_SEX_NONE, CS_SEX_NONE, CS_SETTING_OUTPATIENT},
        {"Pediatric_Only", "age", 18, 17, CS_SEX_NONE, CS_SEX_NONE, CS_SETTING_OUTPATIENT},
        {"Maternity_Only", "age", 56, 12, CS_SEX_FEMALE, CS_SEX_FEMALE, CS_SETTING_OUTPATIENT},
        {"Adult_Only", "age", 14, 15, CS_SEX_NONE, CS_SEX_NONE, CS_SETTING_OUTPATIENT},
        {"Female_Only", "sex", 30, 30, CS_SEX_MALE, CS_SEX_FEMALE, CS_SETTING_OUTPATIENT},
        {"Male_Only", "sex", 30, 30, CS_SEX_FEMALE, CS_SEX_MALE, CS_SETTING_OUTPATIENT},
        {"Principal_Manifestation", "manifestation_principal", 30, -2, CS_SEX_NONE,
         CS_SEX_NONE, CS_SETTING_OUTPATIENT},
        {"Principal_Unacceptable", "unacceptable_principal", 30, -2, CS_SEX_NONE,
         CS_SEX_NONE, CS_SETTING_INPATIENT},
        {"Principal_Questionable_Admit", "questionable_admission", 30, -2, CS_SEX_NONE,
         CS_SEX_NONE, CS_SETTING_INPATIENT},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (strcmp(f[4], k[i].type) != 0) {
            continue;
        }
        int found = 0;
        int bad = s_one(f[6], 20170301, k[i].setting, k[i].bad_age, k[i].bad_sex, "", k[i].edit,
                        &found);
        if (!found) {
            m->absent++; /* a code the FY2017 release does not hold */
            return;
        }
        ck_assert_msg(bad, "%s %s: no %s edit", f[4], f[6], k[i].edit);
        m->flagged++;
        if (k[i].good_age >= -1) {
            int good = s_one(f[6], 20170301, k[i].setting, k[i].good_age, k[i].good_sex, "",
                             k[i].edit, &found);
            ck_assert_msg(!good, "%s %s: %s edit for a patient who fits", f[4], f[6],
                          k[i].edit);
            m->clean++;
        }
        return;
    }
}

START_TEST(test_mce_sweep_v34)
{
    SKIP_UNLESS_LOADED();
    t_mce_t m = {0};
    ck_assert_int_eq(cs_reader_begin(s_reader), CS_OK);
    s_rows("mce/MCE_Simple_Code_Edits_v34.txt", s_mce_row, &m);
    cs_reader_end(s_reader);
    fprintf(stderr, "MCE v34 on FY2017: %ld rows; %ld diagnosis rows flagged with a patient who "
            "breaks them, %ld of them clean with one who fits; %ld codes not in FY2017; %ld "
            "procedure rows not checked (no ICD-10-PCS FY2017 release here)\n",
            m.rows, m.flagged, m.clean, m.absent, m.px);
    ck_assert_int_gt(m.flagged, 7000);
    ck_assert_int_lt(m.absent, m.flagged / 100); /* the lists fit their release */
}
END_TEST

typedef struct t_poa {
    long exempt, absent, wrong;
} t_poa_t;

static void s_poa_row(void *ud, char **f, int n)
{
    t_poa_t *p = ud;
    if (n < 2) {
        return;
    }
    int found = 0;
    int with_y = s_one(f[1], 20251101, CS_SETTING_INPATIENT, 40, CS_SEX_NONE, "Y", "poa", &found);
    if (!found) {
        p->absent++;
        return;
    }
    int blank = s_one(f[1], 20251101, CS_SETTING_INPATIENT, 40, CS_SEX_NONE, "", "poa", &found);
    p->exempt++;
    p->wrong += !with_y || blank;
    ck_assert_msg(with_y && !blank, "%s: exempt, Y %d blank %d", f[1], with_y, blank);
}

START_TEST(test_poa_sweep_fy2026)
{
    SKIP_UNLESS_LOADED();
    t_poa_t p = {0};
    ck_assert_int_eq(cs_reader_begin(s_reader), CS_OK);
    s_rows("poa/POAexemptCodesFY26.txt", s_poa_row, &p);
    cs_reader_end(s_reader);
    fprintf(stderr, "POA FY2026: %ld exempt codes give the error with Y and none blank; %ld "
            "not in the FY2026 order file\n", p.exempt, p.absent);
    ck_assert_int_gt(p.exempt, 38000);
    ck_assert_int_eq(p.absent, 0);
}
END_TEST

/* Billable codes of the 2026 order file, every 20th, that the exempt list does not hold: a
 * blank is an error, Y is clean. */
START_TEST(test_poa_non_exempt)
{
    SKIP_UNLESS_LOADED();
    char path[PATH_MAX], line[512];
    ck_assert(cs_test_data_path("icd10cm/order/icd10cm_order_2026.txt", path, sizeof path));
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    long n = 0, seen = 0, exempt = 0;
    ck_assert_int_eq(cs_reader_begin(s_reader), CS_OK);
    while (n < 1000 && fgets(line, sizeof line, fp)) {
        if (strlen(line) < 16 || line[14] != '1' || seen++ % 20 != 0) {
            continue;
        }
        char code[8];
        sscanf(line + 6, "%7s", code);
        int found = 0;
        if (!s_one(code, 20251101, CS_SETTING_INPATIENT, 40, CS_SEX_NONE, "", "poa", &found)) {
            exempt++; /* on the exempt list: a blank is right */
            continue;
        }
        ck_assert(found);
        ck_assert_msg(!s_one(code, 20251101, CS_SETTING_INPATIENT, 40, CS_SEX_NONE, "Y", "poa",
                             &found), "%s: Y flagged", code);
        n++;
    }
    cs_reader_end(s_reader);
    fclose(fp);
    fprintf(stderr, "POA: %ld non-exempt billable codes: blank flagged, Y clean (%ld exempt "
            "ones passed over)\n", n, exempt);
    ck_assert_int_eq(n, 1000);
}
END_TEST

typedef struct t_change {
    int added;     /* 1: the add list, 0: the delete list */
    long both;     /* codes of both years: checked on both sides */
    long one;      /* codes of one year only: checked on that side */
} t_change_t;

/* A code added to the exempt list on 2025-10-01 needs an indicator the day before (when it
 * is a code then) and takes none from that day; a deleted one the other way round. */
static void s_change_row(void *ud, char **f, int n)
{
    t_change_t *c = ud;
    const char *code = c->added ? (n >= 2 ? f[1] : NULL) : (n >= 1 ? f[0] : NULL);
    if (!code || !*code) {
        return;
    }
    int f1 = 0, f2 = 0;
    int before = s_one(code, 20250930, CS_SETTING_INPATIENT, 40, CS_SEX_NONE, "", "poa", &f1);
    int after = s_one(code, 20251001, CS_SETTING_INPATIENT, 40, CS_SEX_NONE, "", "poa", &f2);
    ck_assert_msg(f1 || f2, "%s is a code of neither FY2025 nor FY2026", code);
    ck_assert_msg(!f1 || before == c->added, "%s %s: blank on 2025-09-30 flagged %d",
                  c->added ? "added" : "deleted", code, before);
    ck_assert_msg(!f2 || after == !c->added, "%s %s: blank on 2025-10-01 flagged %d",
                  c->added ? "added" : "deleted", code, after);
    if (f1 && f2) {
        c->both++;
    } else {
        c->one++;
    }
}

START_TEST(test_poa_fy2025_to_fy2026)
{
    SKIP_UNLESS_LOADED();
    t_change_t add = {.added = 1}, del = {.added = 0};
    ck_assert_int_eq(cs_reader_begin(s_reader), CS_OK);
    s_rows("poa/POAexemptAddCodesFY26.txt", s_change_row, &add);
    s_rows("poa/POAexemptDeleteCodesFY26.txt", s_change_row, &del);
    cs_reader_end(s_reader);
    fprintf(stderr, "POA FY2025 -> FY2026: the %ld added and %ld deleted codes agree with the "
            "lists on either side of 2025-10-01 (codes of both years: %ld added, %ld deleted; "
            "the others are codes of one year, checked in that year)\n",
            add.both + add.one, del.both + del.one, add.both, del.both);
    ck_assert_int_eq(add.both + add.one, 209);
    ck_assert_int_eq(del.both + del.one, 14);
}
END_TEST

typedef struct t_excl {
    long notes, mentions, parsed; /* every Excludes1 note of the file */
    long pairs, flagged, absent, self;
} t_excl_t;

/* A diagnosis holding an Excludes1 note, and each code the note names: the two on one claim
 * give the excludes1 edit. */
static void s_excl_pairs(t_excl_t *x, const char *holder, const char *text)
{
    cs_coderef_t refs[32];
    size_t n = cs_coderef_parse(text, strlen(text), refs, 32);
    for (size_t r = 0; r < n && r < 32; r++) {
        char hkey[16];
        size_t k = 0;
        for (const char *p = holder; *p && k < sizeof hkey - 1; p++) {
            if (*p != '.') {
                hkey[k++] = *p;
            }
        }
        hkey[k] = '\0';
        if (strcmp(hkey, refs[r].lo) == 0) {
            x->self++;
            continue;
        }
        t_claim_t t;
        const char *codes[2] = {holder, refs[r].lo};
        s_claim(&t, 20210301, CS_SETTING_OUTPATIENT, codes, NULL, 2);
        cs_claim_env_t env = {.reader = s_reader, .plugins = s_plugins};
        ck_assert_int_eq(cs_claim_check(&env, &t.c, &s_res), CS_PERR_NONE);
        if ((s_res.lines[0].reason != CS_CLAIM_VALID &&
             s_res.lines[0].reason != CS_CLAIM_NOT_BILLABLE) ||
            (s_res.lines[1].reason != CS_CLAIM_VALID &&
             s_res.lines[1].reason != CS_CLAIM_NOT_BILLABLE)) {
            x->absent++;
            continue;
        }
        x->pairs++;
        ck_assert_msg(s_edit(&s_res, "excludes1", 0, 1) != NULL, "%s with %s (note \"%s\")",
                      holder, refs[r].lo, text);
        x->flagged++;
    }
}

/* Walk the tabular: the innermost <diag>'s <name>, and each <note> of an <excludes1>. */
static void s_excl_walk(xmlTextReaderPtr rd, t_excl_t *x)
{
    char diag[16][16];
    int depth_of[16], nd = 0, in_excl = -1, in_note = 0, in_name = 0;
    while (xmlTextReaderRead(rd) == 1) {
        int type = xmlTextReaderNodeType(rd), depth = xmlTextReaderDepth(rd);
        const char *name = (const char *)xmlTextReaderConstName(rd);
        if (type == XML_READER_TYPE_ELEMENT) {
            if (strcmp(name, "diag") == 0 && nd < 16) {
                depth_of[nd] = depth;
                diag[nd++][0] = '\0';
            }
            in_name = strcmp(name, "name") == 0 && nd > 0 && depth == depth_of[nd - 1] + 1;
            in_excl = strcmp(name, "excludes1") == 0 ? depth : in_excl;
            in_note = in_excl >= 0 && strcmp(name, "note") == 0;
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            if (strcmp(name, "diag") == 0 && nd > 0) {
                nd--;
            }
            in_excl = strcmp(name, "excludes1") == 0 ? -1 : in_excl;
            in_note = in_name = 0;
        } else if (type == XML_READER_TYPE_TEXT) {
            const char *v = (const char *)xmlTextReaderConstValue(rd);
            if (in_name) {
                snprintf(diag[nd - 1], sizeof diag[0], "%s", v);
            } else if (in_note) {
                cs_coderef_t refs[32];
                x->notes++;
                x->mentions += cs_coderef_mentions(v, strlen(v));
                x->parsed += cs_coderef_parse(v, strlen(v), refs, 32) > 0;
                if (nd > 0) {
                    s_excl_pairs(x, diag[nd - 1], v);
                }
            }
        }
    }
}

START_TEST(test_excludes1_sweep_fy2021)
{
    SKIP_UNLESS_LOADED();
    char path[PATH_MAX];
    ck_assert(cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", path, sizeof path));
    xmlTextReaderPtr rd = xmlReaderForFile(path, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(rd);
    t_excl_t x = {0};
    ck_assert_int_eq(cs_reader_begin(s_reader), CS_OK);
    s_excl_walk(rd, &x);
    cs_reader_end(s_reader);
    xmlFreeTextReader(rd);
    fprintf(stderr, "Excludes1 FY2021: %ld notes, %ld hold a code-like word, %ld parsed as "
            "naming codes; %ld pairs of a "
            "diagnosis and a code its note names, all %ld flagged (%ld name a code FY2021 does "
            "not hold, %ld name the diagnosis itself)\n", x.notes, x.mentions, x.parsed,
            x.pairs, x.flagged, x.absent, x.self);
    ck_assert_int_le(x.parsed, x.mentions);
    ck_assert_int_ge(x.parsed * 100, x.mentions * 97);
    ck_assert_int_gt(x.flagged, 5000);
}
END_TEST

/* The broker's log says, at each edit-set load, what its lists' codes are in their releases. */
START_TEST(test_list_codes_reported)
{
    SKIP_UNLESS_LOADED();
    FILE *f = fopen(s_d.log, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    int mce = 0, poa = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "its lists:")) {
            continue;
        }
        fprintf(stderr, "%s", strstr(line, "load "));
        mce |= strstr(line, "mce/v34") && strstr(line, "icd10cm rows, 0 naming a code icd10cm "
                                                      "release 2017 does not hold") &&
               strstr(line, "4064 icd10pcs rows unchecked (no icd10pcs release in effect)");
        poa |= strstr(line, "poa-exempt/FY2026: its lists: 38349 icd10cm rows, 0 naming") != NULL;
    }
    fclose(f);
    ck_assert(mce);
    ck_assert(poa);
}
END_TEST

Suite *cs_claim_suite(void);
Suite *cs_claim_suite(void)
{
    Suite *s = suite_create("claim");
    TCase *u = tcase_create("refs");
    tcase_add_test(u, test_coderef_parse);
    suite_add_tcase(s, u);
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_checked_fixture(tc, s_test_open, s_close);
    tcase_add_test(tc, test_excludes1_family_both_ways);
    tcase_add_test(tc, test_excludes1_range_and_none);
    tcase_add_test(tc, test_manifestation_tabular);
    tcase_add_test(tc, test_mce_manifestation_and_age_sex);
    tcase_add_test(tc, test_poa);
    tcase_add_test(tc, test_invalid_and_duplicate);
    tcase_add_test(tc, test_ncci_ptp);
    tcase_add_test(tc, test_ncci_mue);
    tcase_add_test(tc, test_mce_sweep_v34);
    tcase_add_test(tc, test_list_codes_reported);
    tcase_add_test(tc, test_excludes1_sweep_fy2021);
    tcase_add_test(tc, test_poa_sweep_fy2026);
    tcase_add_test(tc, test_poa_non_exempt);
    tcase_add_test(tc, test_poa_fy2025_to_fy2026);
    suite_add_tcase(s, tc);
    return s;
}
