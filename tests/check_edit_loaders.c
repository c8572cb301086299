/* check_edit_loaders.c: the edit-set loaders poa-exempt and mce-lists through the recording
 * mock host: their samples (rows, lists, age ranges as each row's data), and hostile files
 * written here, each failing at its file and line with why. That nothing of a failed load
 * stays in the store is the host's (cs_load.c: a failed load is purged), checked through a
 * live broker by check_claim_broker.c. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codeset/cs_plugin.h"
#include "cs_test.h"
#include "loader_test.h"
#include "mock_host.h"

static char s_tmp[PATH_MAX];

static void s_write(const char *name, const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", s_tmp, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Load files with plugin name; returns rc, err filled, m kept for the caller (may be NULL). */
static int s_run(const char *plugin, const char *const *files, size_t n, cs_error_t *err,
                 cs_mock_host_t **keep)
{
    void *dl = NULL;
    const cs_plugin_desc_t *d = cs_loader_test_open(plugin, &dl);
    ck_assert_ptr_nonnull(d);
    cs_mock_host_t *m = cs_mock_host_new(1);
    int rc = cs_loader_test_run(d, m, files, n, err);
    if (keep) {
        *keep = m;
    } else {
        cs_mock_host_destroy(&m);
    }
    cs_loader_test_close(&dl);
    return rc;
}

static void s_sample(const char *loader, const char *name, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(out, cap, "%s/loaders/%s/%s", cwd, loader, name);
}

static void s_setup(void)
{
    cs_test_tmpdir(s_tmp, sizeof s_tmp);
}

static void s_teardown(void)
{
    cs_test_rmtree(s_tmp);
}

START_TEST(test_poa_sample)
{
    char p[PATH_MAX];
    s_sample("poa-exempt", "sample/POAexemptCodesFY26_sample.txt", p, sizeof p);
    const char *files[] = {p};
    cs_error_t err;
    cs_mock_host_t *m = NULL;
    ck_assert_int_eq(s_run("poa-exempt", files, 1, &err, &m), CS_OK);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 5);
    const cs_mock_map_row_t *r = cs_mock_host_map_row(m, 0);
    ck_assert_str_eq(r->map, "exempt");
    ck_assert_str_eq(r->from_system, "icd10cm");
    ck_assert_str_eq(r->source, "V00.01XA");
    ck_assert_ptr_null(r->target);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_poa_hostile)
{
    static const struct {
        const char *text;
        unsigned line;
        const char *why;
    } cases[] = {
        {"Code\tDescription\r\n", 1, "not a POA-exempt list"},
        {"Order26\tPOAexemptCode\tDescription\r\n01\tA00.0\tx\r\n0x2\tA00.1\tx\r\n", 3,
         "not digits"},
        {"Order26\tPOAexemptCode\tDescription\r\n01\tA00.0\r\n", 2, "expected 3"},
        {"Order26\tPOAexemptCode\tDescription\r\n01\tA00.0123456\tx\r\n", 2, "longer"},
        {"Order26\tPOAexemptCode\tDescription\r\n01\tA00.0\tx\r\n\r\n02\tA00.1\tx\r\n", 3,
         "empty line"},
        {"Order26\tPOAexemptCode\tDescription\r\n01\tA00.0\t\xff\r\n", 2, "UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[PATH_MAX];
        s_write("POAexemptCodesFY99.txt", cases[i].text, p, sizeof p);
        const char *files[] = {p};
        cs_error_t err;
        ck_assert_int_ne(s_run("poa-exempt", files, 1, &err, NULL), CS_OK);
        ck_assert_str_eq(err.file, "POAexemptCodesFY99.txt");
        ck_assert_msg(err.line == cases[i].line && strstr(err.msg, cases[i].why),
                      "case %zu: %u: %s", i, err.line, err.msg);
    }
    char p[PATH_MAX];
    s_write("POAexemptAddCodesFY26.txt", "Order26\tPOAexemptCode\tDescription\r\n", p, sizeof p);
    const char *files[] = {p};
    cs_error_t err;
    ck_assert_int_ne(s_run("poa-exempt", files, 1, &err, NULL), CS_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, "changes"));
}
END_TEST

START_TEST(test_mce_sample)
{
    char l[PATH_MAX], r[PATH_MAX];
    s_sample("mce-lists", "sample/MCE_Simple_Code_Edits_sample.txt", l, sizeof l);
    s_sample("mce-lists", "mce_age_ranges.tsv", r, sizeof r);
    const char *files[] = {l, r};
    cs_error_t err;
    cs_mock_host_t *m = NULL;
    ck_assert_msg(s_run("mce-lists", files, 2, &err, &m) == CS_OK, "%s:%u: %s", err.file,
                  err.line, err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 11);
    int seen = 0;
    for (size_t i = 0; i < cs_mock_host_map_count(m); i++) {
        const cs_mock_map_row_t *row = cs_mock_host_map_row(m, i);
        if (strcmp(row->source, "O24419") == 0 && strcmp(row->map, "age-maternity") == 0) {
            ck_assert_str_eq(row->relationship, "12-55");
            seen++;
        }
        if (strcmp(row->source, "0UT90ZZ") == 0) {
            ck_assert_str_eq(row->map, "sex-female-px");
            ck_assert_str_eq(row->from_system, "icd10pcs");
            ck_assert_ptr_null(row->relationship);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 2);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_mce_hostile)
{
    static const char hdr[] = "MCE_Version\tICD_Version\tMCE_Section\tMCE_Subsection\t"
                              "MCE_Edit_Type\tICD_Code_Type\tICD_Code\tICD_Desc\n";
    static const struct {
        const char *rows;
        unsigned line;
        const char *why;
    } cases[] = {
        {"34\t10\t4\tA\tNewborn_Only\tD\tA33\tx\n34\t10\t4\tA\tSomething_Else\tD\tA33\tx\n", 3,
         "not one of"},
        {"34\t9\t4\tA\tNewborn_Only\tD\t7700\tx\n", 2, "ICD-10"},
        {"34\t10\t4\tA\tNewborn_Only\tD\tA33\tx\n33\t10\t4\tA\tNewborn_Only\tD\tA33\tx\n", 3,
         "one version"},
        {"99\t10\t4\tA\tNewborn_Only\tD\tA33\tx\n", 2, "no ages"},
        {"34\t10\t4\tA\tNewborn_Only\tP\tA33\tx\n", 2, "not one of"},
        {"34\t10\t4\tA\n", 2, "expected 8"},
    };
    char r[PATH_MAX];
    s_sample("mce-lists", "mce_age_ranges.tsv", r, sizeof r);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024], l[PATH_MAX];
        snprintf(text, sizeof text, "%s%s", hdr, cases[i].rows);
        s_write("MCE_bad.txt", text, l, sizeof l);
        const char *files[] = {l, r};
        cs_error_t err;
        ck_assert_int_ne(s_run("mce-lists", files, 2, &err, NULL), CS_OK);
        ck_assert_str_eq(err.file, "MCE_bad.txt");
        ck_assert_msg(err.line == cases[i].line && strstr(err.msg, cases[i].why),
                      "case %zu: %u: %s", i, err.line, err.msg);
    }
    char bad[PATH_MAX], l[PATH_MAX];
    s_sample("mce-lists", "sample/MCE_Simple_Code_Edits_sample.txt", l, sizeof l);
    s_write("ranges.tsv", "MCE_Version\tMCE_Edit_Type\tAge_From\tAge_To\n34\tAdult_Only\t60\t15\n",
            bad, sizeof bad);
    const char *files[] = {l, bad};
    cs_error_t err;
    ck_assert_int_ne(s_run("mce-lists", files, 2, &err, NULL), CS_OK);
    ck_assert_str_eq(err.file, "ranges.tsv");
    ck_assert_uint_eq(err.line, 2);
}
END_TEST

START_TEST(test_ncci_samples)
{
    char p[PATH_MAX], m[PATH_MAX];
    s_sample("ncci-ptp", "sample/ncci_ptp_sample.txt", p, sizeof p);
    s_sample("ncci-mue", "sample/ncci_mue_sample.csv", m, sizeof m);
    const char *pf[] = {p}, *mf[] = {m};
    cs_error_t err;
    cs_mock_host_t *h = NULL;
    ck_assert_msg(s_run("ncci-ptp", pf, 1, &err, &h) == CS_OK, "%s:%u: %s", err.file, err.line,
                  err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(h), 6);
    const cs_mock_map_row_t *r = cs_mock_host_map_row(h, 3);
    ck_assert_str_eq(r->map, "ptp-hcpcs");
    ck_assert_str_eq(r->source, "G0102");
    ck_assert_str_eq(r->relationship, "J7050 19960101 20201231 0");
    r = cs_mock_host_map_row(h, 5);
    ck_assert_str_eq(r->map, "ptp-cpt");
    ck_assert_str_eq(r->from_system, "cpt");
    cs_mock_host_destroy(&h);
    ck_assert_msg(s_run("ncci-mue", mf, 1, &err, &h) == CS_OK, "%s:%u: %s", err.file, err.line,
                  err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(h), 4);
    ck_assert_str_eq(cs_mock_host_map_row(h, 0)->relationship,
                     "1 2 Date of Service Edit: Policy");
    cs_mock_host_destroy(&h);
}
END_TEST

START_TEST(test_ncci_hostile)
{
    static const char ptp_head[] = "notice\n\nColumn 1\tColumn 2\t*=in existence prior to "
                                   "1996\tEffective \tDeletion \tModifier\tPTP Edit "
                                   "Rationale\n\t\t\tDate\tDate\t0=not allowed\t\n";
    static const char mue_head[] = "notice, with a comma\nHCPCS/CPT Code,MUE Value,MUE "
                                   "Adjudication Indicator,MUE Rationale\n";
    static const struct {
        const char *loader, *head, *rows;
        unsigned line;
        const char *why;
    } cases[] = {
        {"ncci-ptp", ptp_head, "G0101\tG0102\t\t2000010\t*\t0\tx\n", 5, "effective"},
        {"ncci-ptp", ptp_head, "G0101\tG0102\t\t20000101\t2020\t0\tx\n", 5, "deletion"},
        {"ncci-ptp", ptp_head, "G0101\tG0102\t\t20000101\t*\t2\tx\n", 5, "indicator"},
        {"ncci-ptp", ptp_head, "G0101\tG0102\t\t20000101\t*\t0\tx\n\tG0103\n", 6,
         "expected 7"},
        {"ncci-ptp", ptp_head, "G0101\tG01\t\t20000101\t*\t0\tx\n", 5, "column 2"},
        {"ncci-mue", mue_head, "G0101,x,1 Line Edit,r\n", 3, "MUE value"},
        {"ncci-mue", mue_head, "G0101,1,4 Other,r\n", 3, "adjudication"},
        {"ncci-mue", mue_head, "G0101,1,\"1 Line Edit,r\n", 3, "not closed"},
        {"ncci-mue", mue_head, "G0101,1,1 Line Edit\n", 3, "expected 4"},
        {"ncci-mue", "no header here\n", "G0101,1,1 Line Edit,r\n", 0, "no header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024], path[PATH_MAX];
        snprintf(text, sizeof text, "%s%s", cases[i].head, cases[i].rows);
        s_write("ncci_bad.txt", text, path, sizeof path);
        const char *files[] = {path};
        cs_error_t err;
        ck_assert_int_ne(s_run(cases[i].loader, files, 1, &err, NULL), CS_OK);
        ck_assert_str_eq(err.file, "ncci_bad.txt");
        ck_assert_msg(err.line == cases[i].line && strstr(err.msg, cases[i].why),
                      "case %zu: %u: %s", i, err.line, err.msg);
    }
}
END_TEST

Suite *cs_edit_loaders_suite(void);
Suite *cs_edit_loaders_suite(void)
{
    Suite *s = suite_create("edit_loaders");
    TCase *tc = tcase_create("loaders");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_poa_sample);
    tcase_add_test(tc, test_poa_hostile);
    tcase_add_test(tc, test_mce_sample);
    tcase_add_test(tc, test_mce_hostile);
    tcase_add_test(tc, test_ncci_samples);
    tcase_add_test(tc, test_ncci_hostile);
    suite_add_tcase(s, tc);
    return s;
}
