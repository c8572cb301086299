/* check_mce_px.c: the Medicare Code Editor's edits on procedures (core/engine/cs_claim_sets.c:
 * sex on procedure lines, noncovered_procedure, limited_coverage), swept over every procedure
 * row of MCE v37 (FY2020). The lists are NOT a CMS file: they are a third party's derivation
 * (nlindner/CMS_Issued_Codes_For_SQL) of the lists in CMS's "Definitions of Medicare Code
 * Edits" manual (mce/README.md, INFO__CMS_MCE_Simple_ICD_Code_Edits.md), loaded by mce-lists.
 *
 * A real codesetd loads ICD-10-PCS FY2025 (tables XML and order file), the ICD-10-CM FY2025
 * order file and MCE v37 (effective 2019-10-01, the latest loaded, so in effect on a date of
 * FY2025); the suite then opens that database read-only and checks claims dated 2025-03-01
 * through the engine (cs_claim_check), one diagnosis (I10) and one procedure a claim. No
 * ICD-10-PCS FY2020 release is at hand, so a code deleted between FY2020 and FY2025 is counted
 * absent, not checked. Skipped, saying so, when ../shared/data is absent. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_daemon.h"
#include "cs_test.h"
#include "cs_tstore.h"
#include "engine/cs_claim.h"

#define T_LOAD_MS 600000
#define T_DATE 20250301
#define T_MCE "mce/MCE_Simple_Code_Edits_v37.txt"

static cs_daemon_t s_d;
static int s_have; /* 1 when the data was there and loaded */
static cs_tstore_t s_db; /* the database, read-only, in the test's process */
static cs_claim_result_t s_res;

/* rel under ../shared/data, or an absolute path, into out. */
static void s_path(const char *rel, char *out, size_t cap)
{
    if (rel[0] == '/') {
        snprintf(out, cap, "%s", rel);
    } else {
        ck_assert(cs_test_data_path(rel, out, cap));
    }
}

/* Load files a (and b when not NULL) and fail unless the job is done. */
static void s_load(cs_tclient_t *admin, const char *loader, const char *label, const char *eff,
                   const char *a, const char *b)
{
    char pa[PATH_MAX], pb[PATH_MAX];
    s_path(a, pa, sizeof pa);
    if (b) {
        s_path(b, pb, sizeof pb);
    }
    const char *files[] = {pa, pb};
    char state[64];
    const msgpack_object *r = cs_daemon_load(&s_d, admin, loader, label, eff, files, b ? 2 : 1,
                                             state, sizeof state, T_LOAD_MS);
    ck_assert_msg(r && strcmp(state, "done") == 0, "load %s %s: %s", loader, label, state);
}

static void s_setup(void)
{
    char p[PATH_MAX];
    s_have = cs_test_data_path("icd10pcs/2025/icd10pcs_tables_2025.xml", p, sizeof p) &&
             cs_test_data_path("icd10cm/order/icd10cm_order_2025.txt", p, sizeof p) &&
             cs_test_data_path(T_MCE, p, sizeof p);
    if (!s_have) {
        return;
    }
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    char cwd[PATH_MAX], ranges[PATH_MAX + 64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(ranges, sizeof ranges, "%s/loaders/mce-lists/mce_age_ranges.tsv", cwd);
    s_load(admin, "icd10pcs-tables", "2025", "2024-10-01", "icd10pcs/2025/icd10pcs_tables_2025.xml",
           "icd10pcs/2025/icd10pcs_order_2025.txt");
    s_load(admin, "icd10cm-order", "2025", "2024-10-01", "icd10cm/order/icd10cm_order_2025.txt",
           NULL);
    s_load(admin, "mce-lists", "v37", "2019-10-01", T_MCE, ranges);
    cs_tclient_destroy(&admin);
}

static void s_teardown(void)
{
    if (s_have) {
        cs_daemon_stop(&s_d);
        cs_daemon_cleanup(&s_d);
    }
}

static void s_open(void)
{
    if (s_have) {
        cs_tstore_open(&s_db, s_d.db);
        cs_claim_result_init(&s_res);
    }
}

static void s_close(void)
{
    if (s_db.store) {
        cs_claim_result_fini(&s_res);
    }
    cs_tstore_close(&s_db);
}

#define SKIP_UNLESS_LOADED()                                                                   \
    CS_SKIP_UNLESS_DATA(s_have, "ICD-10-PCS FY2025, ICD-10-CM FY2025 or MCE v37")

static cs_str_t s_s(const char *s)
{
    return (cs_str_t){s, (uint32_t)strlen(s)};
}

/* A claim on T_DATE: diagnosis I10 (on no MCE list), then the ICD-10-PCS codes px[0..n). The
 * caller holds a read transaction. */
static const cs_claim_result_t *s_check(cs_claim_setting_t setting, int age, cs_claim_sex_t sex,
                                        const char *const *px, uint32_t n)
{
    cs_claim_dx_t dx = {.code = s_s("I10"), .poa = s_s("Y")};
    cs_claim_px_t p[4];
    memset(p, 0, sizeof p);
    for (uint32_t i = 0; i < n; i++) {
        p[i].system = s_s("icd10pcs");
        p[i].code = s_s(px[i]);
        p[i].units = 1;
    }
    cs_claim_t c = {.date = T_DATE, .setting = setting, .has_age = 1, .age = age, .sex = sex,
                    .dx = &dx, .n_dx = 1, .px = p, .n_px = n};
    cs_claim_env_t env = {.reader = s_db.reader, .plugins = s_db.plugins};
    cs_proto_err_t e = cs_claim_check(&env, &c, &s_res);
    ck_assert_msg(e == CS_PERR_NONE, "claim failed: %s", s_res.err_msg);
    return &s_res;
}

/* The edits named name in r, and the last of them into *last. */
static int s_count(const cs_claim_result_t *r, const char *name, const cs_claim_edit_t **last)
{
    int n = 0;
    for (uint32_t i = 0; i < r->n_edits; i++) {
        if (strcmp(r->edits[i].edit, name) == 0) {
            n++;
            if (last) {
                *last = &r->edits[i];
            }
        }
    }
    return n;
}

/* Each procedure list of MCE v37 (MCE_Edit_Type, the mce-lists list, the edit it gives), a
 * patient who breaks a row and one who fits it. The MCE is an inpatient editor: a code never
 * or only partly covered fits no patient, so its fitting claim is an outpatient one, which the
 * coverage edits do not touch. Noncovered_Over60's ages (61 to 124) are mce_age_ranges.tsv's. */
typedef struct t_list {
    const char *type, *list, *edit;
    cs_claim_severity_t sev;
    cs_claim_setting_t good_setting;
    int bad_age, good_age;
    cs_claim_sex_t bad_sex, good_sex;
    long rows, absent, flagged, clean;
} t_list_t;

static t_list_t s_lists[] = {
    {"Female_Only", "sex-female-px", "sex", CS_SEV_ERROR, CS_SETTING_INPATIENT, 40, 40,
     CS_SEX_MALE, CS_SEX_FEMALE, 0, 0, 0, 0},
    {"Male_Only", "sex-male-px", "sex", CS_SEV_ERROR, CS_SETTING_INPATIENT, 40, 40,
     CS_SEX_FEMALE, CS_SEX_MALE, 0, 0, 0, 0},
    {"Noncovered_Always", "noncovered", "noncovered_procedure", CS_SEV_ERROR,
     CS_SETTING_OUTPATIENT, 40, 40, CS_SEX_NONE, CS_SEX_NONE, 0, 0, 0, 0},
    {"Noncovered_Over60", "noncovered-age", "noncovered_procedure", CS_SEV_ERROR,
     CS_SETTING_INPATIENT, 61, 60, CS_SEX_NONE, CS_SEX_NONE, 0, 0, 0, 0},
    {"Limited_Coverage", "limited-coverage", "limited_coverage", CS_SEV_WARNING,
     CS_SETTING_OUTPATIENT, 40, 40, CS_SEX_NONE, CS_SEX_NONE, 0, 0, 0, 0},
};
#define N_LISTS (sizeof s_lists / sizeof s_lists[0])

/* One procedure row of list l: the breaking claim gets exactly l's edit on line 1 naming the
 * code, from mce v37's list; the fitting claim gets none. */
static void s_row(t_list_t *l, const char *code)
{
    l->rows++;
    const char *px[] = {code};
    const cs_claim_result_t *r = s_check(CS_SETTING_INPATIENT, l->bad_age, l->bad_sex, px, 1);
    if (r->lines[1].reason != CS_CLAIM_VALID) {
        l->absent++; /* not a code of FY2025: deleted since FY2020 */
        fprintf(stderr, "  %s %s: not a code of ICD-10-PCS FY2025 (line %s)\n", l->type, code,
                cs_claim_reason_name(r->lines[1].reason));
        return;
    }
    const cs_claim_edit_t *e = NULL;
    ck_assert_msg(s_count(r, l->edit, &e) == 1, "%s %s: %d %s edits", l->type, code,
                  s_count(r, l->edit, NULL), l->edit);
    ck_assert_msg(e->n_lines == 1 && e->lines[0] == 1, "%s %s: edit not on line 1", l->type, code);
    ck_assert_str_eq(e->codes[0], code);
    ck_assert_int_eq(e->severity, l->sev);
    ck_assert_ptr_nonnull(strstr(e->message, code));
    ck_assert_str_eq(e->source.set, "mce");
    ck_assert_str_eq(e->source.release, "v37");
    ck_assert_str_eq(e->source.what, "list");
    ck_assert_str_eq(e->source.name, l->list);
    ck_assert_int_eq(e->source.derived, 1);
    l->flagged++;
    r = s_check(l->good_setting, l->good_age, l->good_sex, px, 1);
    ck_assert_msg(s_count(r, l->edit, NULL) == 0, "%s %s: %s edit for a patient who fits",
                  l->type, code, l->edit);
    l->clean++;
}

START_TEST(test_mce_px_sweep_v37)
{
    SKIP_UNLESS_LOADED();
    char path[PATH_MAX], line[1024];
    ck_assert(cs_test_data_path(T_MCE, path, sizeof path));
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    long px = 0, unchecked = 0;
    ck_assert_int_eq(cs_reader_begin(s_db.reader), CS_OK);
    while (fgets(line, sizeof line, fp)) {
        /* MCE_Version ICD_Version Section Subsection Edit_Type Code_Type Code Desc */
        char type[64], kind[4], code[16];
        if (sscanf(line, "%*s\t%*s\t%*s\t%*s\t%63[^\t]\t%3[^\t]\t%15[^\t]", type, kind,
                   code) != 3 || strcmp(kind, "P") != 0) {
            continue;
        }
        px++;
        size_t k = 0;
        while (k < N_LISTS && strcmp(s_lists[k].type, type) != 0) {
            k++;
        }
        if (k == N_LISTS) {
            unchecked++; /* Noncovered_LOS_96hr: no edit reads a length of stay */
            continue;
        }
        s_row(&s_lists[k], code);
    }
    cs_reader_end(s_db.reader);
    fclose(fp);
    fprintf(stderr, "MCE v37 procedure rows on ICD-10-PCS FY2025: %ld rows, %ld of lists no "
            "edit reads\n", px, unchecked);
    long absent = 0;
    for (size_t k = 0; k < N_LISTS; k++) {
        const t_list_t *l = &s_lists[k];
        fprintf(stderr, "  %-17s (%s): %ld rows, %ld codes not in FY2025, %ld flagged, %ld "
                "clean\n", l->type, l->list, l->rows, l->absent, l->flagged, l->clean);
        ck_assert_int_gt(l->rows, 0);
        ck_assert_int_eq(l->flagged, l->rows - l->absent);
        ck_assert_int_eq(l->clean, l->rows - l->absent);
        ck_assert_int_gt(l->flagged, 0);
        absent += l->absent;
    }
    ck_assert_int_lt(absent * 10, px); /* the lists still mostly fit FY2025 */
}
END_TEST

/* One inpatient claim with a never-covered procedure and a limited-coverage one: an error and
 * a warning, each on its line and naming its code; the claim is not clean. */
START_TEST(test_mce_px_mixed_inpatient)
{
    SKIP_UNLESS_LOADED();
    static const char *const px[] = {"00F3XZZ", "02HA0QZ"};
    ck_assert_int_eq(cs_reader_begin(s_db.reader), CS_OK);
    const cs_claim_result_t *r = s_check(CS_SETTING_INPATIENT, 70, CS_SEX_FEMALE, px, 2);
    ck_assert_int_eq(r->lines[1].reason, CS_CLAIM_VALID);
    ck_assert_int_eq(r->lines[2].reason, CS_CLAIM_VALID);
    const cs_claim_edit_t *n = NULL, *l = NULL;
    ck_assert_int_eq(s_count(r, "noncovered_procedure", &n), 1);
    ck_assert_int_eq(s_count(r, "limited_coverage", &l), 1);
    ck_assert_int_eq(n->severity, CS_SEV_ERROR);
    ck_assert_int_eq(l->severity, CS_SEV_WARNING);
    ck_assert_uint_eq(n->lines[0], 1);
    ck_assert_uint_eq(l->lines[0], 2);
    ck_assert_msg(strstr(n->message, "00F3XZZ") && !strstr(n->message, "02HA0QZ"), "%s",
                  n->message);
    ck_assert_msg(strstr(l->message, "02HA0QZ") && !strstr(l->message, "00F3XZZ"), "%s",
                  l->message);
    ck_assert_int_eq(s_count(r, "sex", NULL), 0);
    ck_assert_int_eq(r->clean, 0);
    /* the warning alone leaves the claim clean */
    r = s_check(CS_SETTING_INPATIENT, 70, CS_SEX_FEMALE, px + 1, 1);
    ck_assert_int_eq(s_count(r, "limited_coverage", NULL), 1);
    ck_assert_int_eq(r->clean, 1);
    cs_reader_end(s_db.reader);
}
END_TEST

Suite *cs_mce_px_suite(void);
Suite *cs_mce_px_suite(void)
{
    Suite *s = suite_create("mce_px");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_checked_fixture(tc, s_open, s_close);
    tcase_add_test(tc, test_mce_px_sweep_v37);
    tcase_add_test(tc, test_mce_px_mixed_inpatient);
    suite_add_tcase(s, tc);
    return s;
}
