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

#include "cs_daemon.h"
#include "cs_test.h"
#include "engine/cs_claim.h"
#include "engine/cs_coderef.h"

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
    static const char *const y26[] = {"icd10cm/order/icd10cm_order_2026.txt"};
    static const char *const poa[] = {"poa/POAexemptCodesFY26.txt"};
    const char *mce[] = {"mce/MCE_Simple_Code_Edits_v34.txt", ranges};
    s_load(admin, NULL, "2016", "2015-10-01", y16, 2);
    s_load(admin, NULL, "2017", "2016-10-01", y17, 2);
    s_load(admin, NULL, "2021", "2020-10-01", y21, 2);
    s_load(admin, "icd10cm-order", "2026", "2025-10-01", y26, 1);
    s_load(admin, "mce-lists", "v34", "2016-10-01", mce, 2);
    s_load(admin, "poa-exempt", "FY2026", "2025-10-01", poa, 1);
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
    const char *w = "HbA1C level (R73.09) O9A";
    ck_assert_uint_eq(cs_coderef_parse(w, strlen(w), r, 8), 2); /* not the word A1C */
    ck_assert_str_eq(r[1].lo, "O9A");
    const char *g = "pregnancy (O00-O9A)";
    ck_assert_uint_eq(cs_coderef_parse(g, strlen(g), r, 8), 1);
    ck_assert_int_eq(cs_coderef_match(&r[0], "O9A11", 5), 1);
    ck_assert_int_eq(cs_coderef_match(&r[0], "P00", 3), 0);
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
    suite_add_tcase(s, tc);
    return s;
}
