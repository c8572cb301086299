/* check_icd10pcs_tables.c: the icd10pcs-tables loader through a recording mock host: the
 * bundled sample (exact codes, attributes, titles with and without the order file, terms from
 * the definitions and index samples), overlapping rows, hostile files, order-file mismatches,
 * cancel, emit failures, and the 2025 release (every order-file code with its title; codes
 * with a character no row of their table allows are not emitted), with the mock host and
 * through a live broker. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codeset/cs_plugin.h"
#include "cs_daemon.h"
#include "cs_test.h"
#include "loader_test.h"
#include "mock_host.h"

static void *s_dl;
static const cs_plugin_desc_t *s_desc;

static void s_setup(void)
{
    s_desc = cs_loader_test_open("icd10pcs-tables", &s_dl);
}

static void s_teardown(void)
{
    cs_loader_test_close(&s_dl);
    s_desc = NULL;
}

static void s_sample(const char *name, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(out, cap, "%s/loaders/icd10pcs-tables/sample/%s", cwd, name);
}

static void s_fixture(const char *name, char *out, size_t cap)
{
    cs_loader_test_fixture("icd10pcs", name, out, cap);
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Load n files into a new mock (keep: copy records); rc and err out. */
static cs_mock_host_t *s_load_n(const char *const *files, size_t n, int keep, int *rc,
                                cs_error_t *err)
{
    cs_mock_host_t *m = cs_mock_host_new(keep);
    ck_assert_ptr_nonnull(m);
    cs_error_clear(err);
    *rc = cs_loader_test_run(s_desc, m, files, n, err);
    return m;
}

static cs_mock_host_t *s_load_ok_n(const char *const *files, size_t n)
{
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load_n(files, n, 1, &rc, &err);
    ck_assert_msg(rc == CS_OK, "load failed: %s:%u:%u: %s", err.file, err.line, err.column,
                  err.msg);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    return m;
}

static cs_mock_host_t *s_load_ok(const char *a, const char *b)
{
    const char *files[2] = {a, b};
    return s_load_ok_n(files, b ? 2 : 1);
}

/* Load a bad set: expect rc, a message containing want, the file name and (if > 0) line. */
static void s_load_bad(const char *a, const char *b, int want_rc, const char *want_file,
                       unsigned want_line, const char *want)
{
    int rc;
    cs_error_t err;
    const char *files[2] = {a, b};
    cs_mock_host_t *m = s_load_n(files, b ? 2 : 1, 0, &rc, &err);
    ck_assert_msg(rc == want_rc, "%s: rc %d, expected %d (%s)", want_file, rc, want_rc,
                  err.msg);
    ck_assert_int_eq(err.code, want_rc);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message lacks \"%s\": \"%s\"", want, err.msg);
    ck_assert_str_eq(err.file, want_file);
    ck_assert_msg(err.line > 0, "no line in %s: %s", err.file, err.msg);
    if (want_line > 0) {
        ck_assert_msg(err.line == want_line, "%s: line %u, expected %u (%s)", want_file,
                      err.line, want_line, err.msg);
    }
    cs_mock_host_destroy(&m);
}

static const cs_mock_record_t *s_rec(cs_mock_host_t *m, const char *code)
{
    const cs_mock_record_t *r = cs_mock_host_find(m, CS_CLASS_CODE, code);
    ck_assert_msg(r != NULL, "no record %s", code);
    return r;
}

static void s_attr_is(const cs_mock_record_t *r, const char *name, const char *want)
{
    const char *v = cs_mock_record_attr(r, name);
    ck_assert_msg(v != NULL, "%s has no attribute %s", r->code, name);
    ck_assert_msg(strcmp(v, want) == 0, "%s %s = \"%s\", expected \"%s\"", r->code, name, v,
                  want);
}

static int s_has_term(const cs_mock_record_t *r, const char *term)
{
    for (size_t i = 0; i < r->n_terms; i++) {
        if (strcmp(r->terms[i], term) == 0) {
            return 1;
        }
    }
    return 0;
}

static size_t s_index_of(cs_mock_host_t *m, const char *code)
{
    for (size_t i = 0; i < cs_mock_host_count(m); i++) {
        if (strcmp(cs_mock_host_record(m, i)->code, code) == 0) {
            return i;
        }
    }
    ck_abort_msg("no record %s", code);
    return 0;
}

/* ---- order files read by the test itself ------------------------------------------------ */

typedef struct s_order_row {
    char code[8];       /* as written, no padding */
    char flag;          /* '0' or '1' */
    char short_t[64];   /* short title */
    char title[320];    /* long title */
    unsigned order;     /* order number */
} s_order_row_t;

static s_order_row_t *s_read_order(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    size_t cap = 1024;
    s_order_row_t *rows = malloc(cap * sizeof *rows);
    ck_assert_ptr_nonnull(rows);
    char line[1024];
    *n = 0;
    while (fgets(line, sizeof line, fp)) {
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        ck_assert_uint_gt(len, 77);
        if (*n == cap) {
            cap *= 2;
            rows = realloc(rows, cap * sizeof *rows);
            ck_assert_ptr_nonnull(rows);
        }
        s_order_row_t *r = &rows[(*n)++];
        memcpy(r->code, line + 6, 7);
        r->code[7] = '\0';
        r->code[strcspn(r->code, " ")] = '\0';
        r->flag = line[14];
        size_t e = 76;
        while (e > 16 && line[e - 1] == ' ') {
            e--;
        }
        snprintf(r->short_t, sizeof r->short_t, "%.*s", (int)(e - 16), line + 16);
        snprintf(r->title, sizeof r->title, "%s", line + 77);
        r->order = (unsigned)atoi(line);
    }
    fclose(fp);
    return rows;
}

/* ---- descriptor and sniff ------------------------------------------------------------- */

START_TEST(test_descriptor)
{
    ck_assert_int_eq(s_desc->abi_major, CS_ABI_MAJOR);
    ck_assert_uint_le(s_desc->abi_minor, CS_ABI_MINOR);
    ck_assert_uint_ge(s_desc->abi_minor, 1); /* uses cs_record_t.attrs */
    ck_assert_int_eq(s_desc->struct_size, sizeof(cs_plugin_desc_t));
    ck_assert_int_eq(s_desc->kind, CS_PLUGIN_LOADER);
    ck_assert_str_eq(s_desc->name, "icd10pcs-tables");
    ck_assert_ptr_null(s_desc->system);
    ck_assert_ptr_nonnull(s_desc->loader);
    ck_assert_str_eq(s_desc->loader->systems[0], "icd10pcs");
    ck_assert_ptr_null(s_desc->loader->systems[1]);
    ck_assert_uint_eq(s_desc->loader->flags, 0);
}
END_TEST

START_TEST(test_sniff)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    char defs[PATH_MAX];
    char idx[PATH_MAX];
    char other[PATH_MAX];
    char cm[PATH_MAX];
    char cwd[PATH_MAX];
    s_sample("icd10pcs_tables_sample.xml", xml, sizeof xml);
    s_sample("icd10pcs_order_sample.txt", order, sizeof order);
    s_sample("icd10pcs_definitions_sample.xml", defs, sizeof defs);
    s_sample("icd10pcs_index_sample.xml", idx, sizeof idx);
    s_fixture("good.xml", other, sizeof other);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(cm, sizeof cm, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml", cwd);
    const char *one[] = {xml};
    const char *pair[] = {xml, order};
    const char *all[] = {idx, order, xml, defs};
    const char *order_only[] = {order};
    const char *no_tables[] = {order, defs, idx};
    const char *two_tables[] = {xml, other};
    const char *two_orders[] = {xml, order, order};
    const char *five[] = {xml, order, defs, idx, order};
    const char *with_cm[] = {xml, cm};
    const char *cm_only[] = {cm};
    const char *missing[] = {"/nonexistent/icd10pcs_tables.xml"};
    ck_assert_int_eq(s_desc->loader->sniff(one, 1), 1);
    ck_assert_int_eq(s_desc->loader->sniff(pair, 2), 1);
    ck_assert_int_eq(s_desc->loader->sniff(all, 4), 1);
    ck_assert_int_eq(s_desc->loader->sniff(order_only, 1), 0);
    ck_assert_int_eq(s_desc->loader->sniff(no_tables, 3), 0);
    ck_assert_int_eq(s_desc->loader->sniff(two_tables, 2), 0);
    ck_assert_int_eq(s_desc->loader->sniff(two_orders, 3), 0);
    ck_assert_int_eq(s_desc->loader->sniff(five, 5), 0);
    ck_assert_int_eq(s_desc->loader->sniff(with_cm, 2), 0);
    ck_assert_int_eq(s_desc->loader->sniff(cm_only, 1), 0);
    ck_assert_int_eq(s_desc->loader->sniff(missing, 1), 0);
    ck_assert_int_eq(s_desc->loader->sniff(one, 0), 0);
    ck_assert_int_eq(s_desc->loader->sniff(NULL, 1), 0);
}
END_TEST

/* ---- the sample ----------------------------------------------------------------------- */

/* The sample's exact set of codes: the 7-character lines of the sample order file, each once,
 * parents first, and nothing else. */
static void s_check_sample_codes(cs_mock_host_t *m)
{
    char order[PATH_MAX];
    s_sample("icd10pcs_order_sample.txt", order, sizeof order);
    size_t n = 0;
    s_order_row_t *rows = s_read_order(order, &n);
    ck_assert_uint_eq(n, 69);
    size_t tables = 0;
    for (size_t i = 0; i < n; i++) {
        const cs_mock_record_t *r = s_rec(m, rows[i].code);
        if (strlen(rows[i].code) == 3) {
            tables++;
            ck_assert_str_eq(r->kind, "table");
            ck_assert_int_eq(r->billable, 0);
            ck_assert_ptr_null(r->parent);
        } else {
            ck_assert_str_eq(r->kind, "code");
            ck_assert_int_eq(r->billable, 1);
            ck_assert_ptr_nonnull(r->parent);
            ck_assert_int_eq(r->parent_cls, CS_CLASS_CODE);
            ck_assert_msg(strncmp(r->parent, r->code, 3) == 0 && strlen(r->parent) == 3,
                          "%s has parent %s", r->code, r->parent);
            ck_assert_uint_lt(s_index_of(m, r->parent), s_index_of(m, r->code));
        }
    }
    ck_assert_uint_eq(tables, 5);
    ck_assert_uint_eq(cs_mock_host_count(m), n);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 69);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CHAPTER), 0);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_BLOCK), 0);
    ck_assert_uint_eq(cs_mock_host_billable(m), 64);
    /* rows come in file order, not code order: 0DTP0ZZ (first row) before 0DTJ0ZZ */
    ck_assert_uint_lt(s_index_of(m, "0DTP0ZZ"), s_index_of(m, "0DTJ0ZZ"));
    free(rows);
}

/* Attributes do not depend on the order file. */
static void s_check_sample_attrs(cs_mock_host_t *m)
{
    const cs_mock_record_t *t = s_rec(m, "0DT");
    ck_assert_uint_eq(t->n_attrs, 4);
    s_attr_is(t, "section", "Medical and Surgical");
    s_attr_is(t, "body_system", "Gastrointestinal System");
    s_attr_is(t, "operation", "Resection");
    s_attr_is(t, "operation_definition",
              "Cutting out or off, without replacement, all of a body part");

    const cs_mock_record_t *r = s_rec(m, "0DB60ZX");
    ck_assert_uint_eq(r->n_attrs, 8);
    static const char *const names[] = {"section",  "body_system", "operation", "body_part",
                                        "approach", "device",      "qualifier",
                                        "operation_definition"};
    for (size_t i = 0; i < 8; i++) {
        ck_assert_str_eq(r->attr_names[i], names[i]); /* emission order */
    }
    s_attr_is(r, "section", "Medical and Surgical");
    s_attr_is(r, "body_system", "Gastrointestinal System");
    s_attr_is(r, "operation", "Excision");
    s_attr_is(r, "body_part", "Stomach");
    s_attr_is(r, "approach", "Open");
    s_attr_is(r, "device", "No Device");
    s_attr_is(r, "qualifier", "Diagnostic");
    s_attr_is(r, "operation_definition",
              "Cutting out or off, without replacement, a portion of a body part");

    r = s_rec(m, "0D16479");
    s_attr_is(r, "operation", "Bypass");
    s_attr_is(r, "approach", "Percutaneous Endoscopic");
    s_attr_is(r, "device", "Autologous Tissue Substitute");
    s_attr_is(r, "qualifier", "Duodenum");

    r = s_rec(m, "B503YZZ");
    s_attr_is(r, "section", "Imaging");
    s_attr_is(r, "operation", "Plain Radiography");
    s_attr_is(r, "body_part", "Jugular Veins, Right");
    s_attr_is(r, "approach", "Other Contrast"); /* character 5 is the contrast in section B */
    s_attr_is(r, "qualifier", "None");
    /* the definition spans two lines in the file: white space is collapsed */
    ck_assert_ptr_nonnull(strstr(cs_mock_record_attr(r, "operation_definition"),
                                 "ionizing radiation on photographic"));
}

START_TEST(test_sample_xml_alone)
{
    char xml[PATH_MAX];
    s_sample("icd10pcs_tables_sample.xml", xml, sizeof xml);
    cs_mock_host_t *m = s_load_ok(xml, NULL);
    s_check_sample_codes(m);
    s_check_sample_attrs(m);
    static const struct {
        const char *code;
        const char *title;
    } want[] = {
        {"0DT", "Medical and Surgical, Gastrointestinal System, Resection"},
        {"0FT", "Medical and Surgical, Hepatobiliary System and Pancreas, Resection"},
        {"B50", "Imaging, Veins, Plain Radiography"},
        {"0DB60ZX", "Excision of Stomach, Open Approach, Diagnostic"},
        {"0DB60ZZ", "Excision of Stomach, Open Approach"},
        {"0DB67ZX", "Excision of Stomach, Via Natural or Artificial Opening, Diagnostic"},
        {"0DBJ4ZG", "Excision of Appendix, Percutaneous Endoscopic Approach, Hand-Assisted"},
        {"0DT68ZZ", "Resection of Stomach, Via Natural or Artificial Opening Endoscopic"},
        {"0D16074", "Bypass Stomach to Cutaneous with Autologous Tissue Substitute, Open "
                    "Approach"},
        {"0D164Z9", "Bypass Stomach to Duodenum, Percutaneous Endoscopic Approach"},
        {"0FT50ZZ", "Resection of Right Hepatic Duct, Open Approach"},
        {"B5031ZZ", "Plain Radiography of Right Jugular Veins using Low Osmolar Contrast"},
        {"B508YZZ", "Plain Radiography of Superior Vena Cava using Other Contrast"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const cs_mock_record_t *r = s_rec(m, want[i].code);
        ck_assert_str_eq(r->title, want[i].title);
        ck_assert_ptr_null(r->short_title);
        ck_assert_uint_eq(r->order, 0);
        ck_assert_uint_eq(r->n_terms, 0);
    }
    /* how close composed titles come to the CMS ones on the sample */
    char order[PATH_MAX];
    s_sample("icd10pcs_order_sample.txt", order, sizeof order);
    size_t n = 0;
    size_t same = 0;
    s_order_row_t *rows = s_read_order(order, &n);
    for (size_t i = 0; i < n; i++) {
        if (strlen(rows[i].code) == 7) {
            same += strcmp(s_rec(m, rows[i].code)->title, rows[i].title) == 0;
        }
    }
    free(rows);
    ck_assert_uint_eq(same, 64); /* the sample's operations all follow the rules */
    ck_assert_uint_gt(cs_mock_host_progress_calls(m), 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_sample_with_order)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    s_sample("icd10pcs_tables_sample.xml", xml, sizeof xml);
    s_sample("icd10pcs_order_sample.txt", order, sizeof order);
    cs_mock_host_t *m = s_load_ok(order, xml); /* any order of files */
    s_check_sample_codes(m);
    s_check_sample_attrs(m);
    size_t n = 0;
    s_order_row_t *rows = s_read_order(order, &n);
    for (size_t i = 0; i < n; i++) {
        const cs_mock_record_t *r = s_rec(m, rows[i].code);
        ck_assert_str_eq(r->title, rows[i].title);
        ck_assert_ptr_nonnull(r->short_title);
        ck_assert_str_eq(r->short_title, rows[i].short_t);
        ck_assert_uint_eq(r->order, rows[i].order);
        ck_assert_int_eq(r->billable, rows[i].flag == '1');
    }
    free(rows);
    ck_assert_str_eq(s_rec(m, "0DT")->title, "Gastrointestinal System, Resection");
    ck_assert_str_eq(s_rec(m, "0DB68ZX")->short_title, "Excision of Stomach, Endo, Diagn");
    ck_assert_uint_ge(cs_mock_host_progress_last(m), 9312 + 9781); /* both files */
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_sample_terms)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    char defs[PATH_MAX];
    char idx[PATH_MAX];
    s_sample("icd10pcs_tables_sample.xml", xml, sizeof xml);
    s_sample("icd10pcs_order_sample.txt", order, sizeof order);
    s_sample("icd10pcs_definitions_sample.xml", defs, sizeof defs);
    s_sample("icd10pcs_index_sample.xml", idx, sizeof idx);
    const char *files[] = {defs, xml, idx, order};
    cs_mock_host_t *m = s_load_ok_n(files, 4);
    s_check_sample_codes(m);

    const cs_mock_record_t *r = s_rec(m, "0DB60Z3");
    ck_assert(s_has_term(r, "Gastric body"));
    ck_assert(s_has_term(r, "Gastric fundus"));
    ck_assert(s_has_term(r, "Gastrectomy")); /* via 0DB6 and 0DB60Z3: once */
    ck_assert_uint_eq(r->n_terms, 3);

    r = s_rec(m, "0DBJ0ZX");
    ck_assert(s_has_term(r, "Vermiform appendix"));
    ck_assert(s_has_term(r, "Appendectomy"));
    ck_assert_uint_eq(r->n_terms, 2);

    r = s_rec(m, "0D16074"); /* body part, device and the table's index entry */
    ck_assert(s_has_term(r, "Gastric body"));
    ck_assert(s_has_term(r, "Autograft"));
    ck_assert(s_has_term(r, "Cultured epidermal cell autograft"));
    ck_assert(s_has_term(r, "Gastrostomy"));
    ck_assert_uint_eq(r->n_terms, 5);
    ck_assert_uint_eq(s_rec(m, "0D160Z4")->n_terms, 3); /* no device, no device terms */

    r = s_rec(m, "0FT60ZZ"); /* one <terms> with two titles */
    ck_assert(s_has_term(r, "Left hepatic duct"));
    ck_assert(s_has_term(r, "Right hepatic duct"));
    ck_assert_uint_eq(s_rec(m, "0FT40ZZ")->n_terms, 0);

    ck_assert(s_has_term(s_rec(m, "B5030ZZ"), "Phlebography"));
    ck_assert(s_has_term(s_rec(m, "B5041ZZ"), "Phlebography"));
    ck_assert_uint_eq(s_rec(m, "B508YZZ")->n_terms, 0);
    ck_assert(!s_has_term(s_rec(m, "0DT60ZZ"), "Imaged stomach (not a real entry: the section "
                                               "must match)"));
    ck_assert(s_has_term(s_rec(m, "0DT60ZZ"), "Gastrectomy"));

    r = s_rec(m, "0D1"); /* a <tab> reference names the table itself */
    ck_assert_uint_eq(r->n_terms, 1);
    ck_assert_str_eq(r->terms[0], "Gastrostomy");
    ck_assert_uint_eq(s_rec(m, "0DT")->n_terms, 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_overlap)
{
    char xml[PATH_MAX];
    s_fixture("overlap.xml", xml, sizeof xml);
    cs_mock_host_t *m = s_load_ok(xml, NULL);
    /* rows {6}x{0,4} and {6,P}x{0}: 0DT60ZZ twice, emitted once */
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 4);
    ck_assert(cs_mock_host_has(m, CS_CLASS_CODE, "0DT"));
    ck_assert(cs_mock_host_has(m, CS_CLASS_CODE, "0DT60ZZ"));
    ck_assert(cs_mock_host_has(m, CS_CLASS_CODE, "0DT64ZZ"));
    ck_assert(cs_mock_host_has(m, CS_CLASS_CODE, "0DTP0ZZ"));
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "0DTP4ZZ"));
    ck_assert_str_eq(s_rec(m, "0DTP0ZZ")->title, "Resection of Rectum, Open Approach");
    cs_mock_host_destroy(&m);
}
END_TEST

/* ---- hostile files ---------------------------------------------------------------------- */

START_TEST(test_hostile_fixtures)
{
    static const struct {
        const char *file;
        unsigned line;
        const char *want;
    } cases[] = {
        {"xxe.xml", 2, "DOCTYPE is not allowed"},
        {"undeclared_entity.xml", 6, "surgical"},
        {"not_xml.xml", 1, ""},
        {"wrong_root.xml", 2, "root element is <ICD10CM.tabular>, expected <ICD10PCS.tabular>"},
        {"truncated.xml", 0, ""},
        {"missing_axis.xml", 18, "<pcsRow> of table 0DT has no axis for character 6"},
        {"empty_axis.xml", 28, "<axis> has no <label>"},
        {"bad_pos.xml", 28, "<axis> pos '8' is out of range: a <pcsRow> axis has pos 4 to 7"},
        {"long_label.xml", 30, "<label> code 'ZZ' is not one character"},
        {"bad_char.xml", 30, "<label> code 'O' is not an ICD-10-PCS character"},
        {"table_axis_missing.xml", 3, "no <axis pos=\"3\"> (Operation)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[PATH_MAX];
        s_fixture(cases[i].file, path, sizeof path);
        s_load_bad(path, NULL, CS_EMALFORMED, cases[i].file, cases[i].line, cases[i].want);
    }
    /* nothing of a refused file is emitted before the fault */
    char path[PATH_MAX];
    s_fixture("xxe.xml", path, sizeof path);
    int rc;
    cs_error_t err;
    const char *files[] = {path};
    cs_mock_host_t *m = s_load_n(files, 1, 0, &rc, &err);
    ck_assert_uint_eq(err.column, 1);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 0);
    cs_mock_host_destroy(&m);
    /* the good file the hostile ones were cut from loads */
    s_fixture("good.xml", path, sizeof path);
    m = s_load_ok(path, NULL);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 3);
    cs_mock_host_destroy(&m);
}
END_TEST

static void s_write(const char *path, const char *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

/* Read a whole file (caller frees). */
static char *s_read_all(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    long size = ftell(fp);
    ck_assert_int_ge(size, 0);
    rewind(fp);
    char *p = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(fread(p, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    p[size] = '\0';
    *n = (size_t)size;
    return p;
}

START_TEST(test_order_mismatch)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    char xml[PATH_MAX];
    char order[PATH_MAX];
    cs_test_tmpdir(dir, sizeof dir);
    s_sample("icd10pcs_tables_sample.xml", xml, sizeof xml);
    s_sample("icd10pcs_order_sample.txt", order, sizeof order);
    size_t n = 0;
    char *text = s_read_all(order, &n);

    /* the order file lacks 0DB63ZX (line 15): its row (line 55 of the sample) fails */
    const char *line = strstr(text, "00015 0DB63ZX");
    ck_assert_ptr_nonnull(line);
    const char *next = strchr(line, '\n') + 1;
    snprintf(path, sizeof path, "%s/short_order.txt", dir);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fwrite(text, 1, (size_t)(line - text), fp);
    fwrite(next, 1, n - (size_t)(next - text), fp);
    fclose(fp);
    s_load_bad(xml, path, CS_EMALFORMED, "icd10pcs_tables_sample.xml", 55,
               "this <pcsRow> allows code 0DB63ZX, which is not in short_order.txt");

    /* the order file has a code that no row gives */
    snprintf(path, sizeof path, "%s/long_order.txt", dir);
    fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fwrite(text, 1, n, fp);
    fprintf(fp, "00070 0DT90ZZ 1 %-60s %s\r\n", "Resection of Duodenum, Open Approach",
            "Resection of Duodenum, Open Approach");
    fclose(fp);
    s_load_bad(xml, path, CS_EMALFORMED, "long_order.txt", 70,
               "code 0DT90ZZ is in the order file, but no <pcsRow> of the tables gives it");

    /* a table the order file lacks */
    line = strstr(text, "00001 0D1");
    next = strchr(line, '\n') + 1;
    snprintf(path, sizeof path, "%s/no_table.txt", dir);
    s_write(path, next, n - (size_t)(next - text));
    s_load_bad(xml, path, CS_EMALFORMED, "icd10pcs_tables_sample.xml", 5,
               "table 0D1 is not in no_table.txt");

    /* a bad order-file line: a code with the letter I */
    snprintf(path, sizeof path, "%s/bad_line.txt", dir);
    fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fwrite(text, 1, n, fp);
    fprintf(fp, "00070 0DTI0ZZ 1 %-60s %s\r\n", "Resection, Open Approach",
            "Resection, Open Approach");
    fclose(fp);
    s_load_bad(xml, path, CS_EMALFORMED, "bad_line.txt", 70, "not an ICD-10-PCS character");
    free(text);
    cs_test_rmtree(dir);
}
END_TEST

START_TEST(test_hostile_generated)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    cs_test_tmpdir(dir, sizeof dir);

    /* deep nesting inside a label (ours is the limit before libxml2's) */
    snprintf(path, sizeof path, "%s/deep.xml", dir);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs("<?xml version=\"1.0\"?>\n<ICD10PCS.tabular><pcsTable>", fp);
    for (size_t i = 0; i < 70; i++) {
        fputs("<x>", fp);
    }
    for (size_t i = 0; i < 70; i++) {
        fputs("</x>", fp);
    }
    fputs("</pcsTable></ICD10PCS.tabular>\n", fp);
    fclose(fp);
    s_load_bad(path, NULL, CS_EMALFORMED, "deep.xml", 0, "nested deeper than 64");

    /* the sample cut at every 997th byte: never a crash, always a positioned error */
    char sample[PATH_MAX];
    s_sample("icd10pcs_tables_sample.xml", sample, sizeof sample);
    size_t n = 0;
    char *text = s_read_all(sample, &n);
    snprintf(path, sizeof path, "%s/cut.xml", dir);
    for (size_t cut = 50; cut < n - 2; cut += 997) {
        s_write(path, text, cut);
        int rc;
        cs_error_t err;
        const char *files[] = {path};
        cs_mock_host_t *m = s_load_n(files, 1, 0, &rc, &err);
        ck_assert_msg(rc == CS_EMALFORMED, "cut at %zu: rc %d", cut, rc);
        ck_assert_str_eq(err.file, "cut.xml");
        ck_assert_msg(err.line > 0, "cut at %zu: no line: %s", cut, err.msg);
        const char *why;
        ck_assert_uint_eq(cs_mock_host_violations(m, &why), 0);
        cs_mock_host_destroy(&m);
    }
    free(text);

    /* a table with no rows */
    static const char empty_table[] =
        "<?xml version=\"1.0\"?>\n<ICD10PCS.tabular>\n<pcsTable>\n"
        "<axis pos=\"1\"><label code=\"0\">Medical and Surgical</label></axis>\n"
        "<axis pos=\"2\"><label code=\"D\">Gastrointestinal System</label></axis>\n"
        "<axis pos=\"3\"><label code=\"T\">Resection</label></axis>\n"
        "</pcsTable>\n</ICD10PCS.tabular>\n";
    snprintf(path, sizeof path, "%s/empty_table.xml", dir);
    s_write(path, empty_table, sizeof empty_table - 1);
    s_load_bad(path, NULL, CS_EMALFORMED, "empty_table.xml", 3, "0DT has no <pcsRow>");

    /* a table axis with two labels */
    static const char two_labels[] =
        "<?xml version=\"1.0\"?>\n<ICD10PCS.tabular>\n<pcsTable>\n"
        "<axis pos=\"1\"><label code=\"0\">Medical and Surgical</label>\n"
        "<label code=\"1\">Obstetrics</label></axis>\n"
        "</pcsTable>\n</ICD10PCS.tabular>\n";
    snprintf(path, sizeof path, "%s/two_labels.xml", dir);
    s_write(path, two_labels, sizeof two_labels - 1);
    s_load_bad(path, NULL, CS_EMALFORMED, "two_labels.xml", 5, "more than one <label>");

    /* no tables at all */
    static const char no_tables[] = "<?xml version=\"1.0\"?>\n<ICD10PCS.tabular>\n"
                                    "<version>2025</version>\n</ICD10PCS.tabular>\n";
    snprintf(path, sizeof path, "%s/no_tables.xml", dir);
    s_write(path, no_tables, sizeof no_tables - 1);
    int rc;
    cs_error_t err;
    const char *files[] = {path};
    cs_mock_host_t *m = s_load_n(files, 1, 0, &rc, &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "holds no <pcsTable>"));
    cs_mock_host_destroy(&m);

    /* bad index and definitions files */
    char xml[PATH_MAX];
    s_sample("icd10pcs_tables_sample.xml", xml, sizeof xml);
    static const char bad_index[] =
        "<?xml version=\"1.0\"?>\n<ICD10PCS.index>\n<letter><title>A</title>\n"
        "<mainTerm><title>Appendectomy</title>\n<codes>0DBJx</codes>\n</mainTerm>\n"
        "</letter>\n</ICD10PCS.index>\n";
    snprintf(path, sizeof path, "%s/bad_index.xml", dir);
    s_write(path, bad_index, sizeof bad_index - 1);
    s_load_bad(xml, path, CS_EMALFORMED, "bad_index.xml", 5,
               "'0DBJx' is not an ICD-10-PCS code or code prefix");
    static const char bad_defs[] = "<?xml version=\"1.0\"?>\n<ICD10PCS.definitions>\n"
                                   "<section code=\"0\">\n<axis pos=\"9\">\n</axis>\n"
                                   "</section>\n</ICD10PCS.definitions>\n";
    snprintf(path, sizeof path, "%s/bad_defs.xml", dir);
    s_write(path, bad_defs, sizeof bad_defs - 1);
    s_load_bad(xml, path, CS_EMALFORMED, "bad_defs.xml", 4, "<axis> pos '9' is not 1 to 7");

    /* sets load() refuses without reading them */
    const char *two[] = {xml, xml};
    m = s_load_n(two, 2, 0, &rc, &err);
    ck_assert_int_eq(rc, CS_EINVAL);
    cs_mock_host_destroy(&m);
    const char *none[] = {"/nonexistent/a.xml"};
    m = s_load_n(none, 1, 0, &rc, &err);
    ck_assert_int_eq(rc, CS_EIO);
    cs_mock_host_destroy(&m);
    cs_test_rmtree(dir);
}
END_TEST

/* ---- the host's answers ---------------------------------------------------------------- */

START_TEST(test_emit_error_stops)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    s_sample("icd10pcs_tables_sample.xml", xml, sizeof xml);
    s_sample("icd10pcs_order_sample.txt", order, sizeof order);
    /* 1: the first table; 2: its first code; 10: the second table; 40, 69: later codes */
    static const size_t at[] = {1, 2, 10, 40, 69};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        cs_mock_host_t *m = cs_mock_host_new(1);
        cs_mock_host_fail_emit(m, at[i], CS_ESPACE);
        const char *files[] = {xml, order};
        cs_error_t err;
        cs_error_clear(&err);
        int rc = cs_loader_test_run(s_desc, m, files, 2, &err);
        ck_assert_int_eq(rc, CS_ESPACE);
        ck_assert_msg(strstr(err.msg, "fails on purpose") != NULL, "err overwritten: %s",
                      err.msg);
        ck_assert_uint_eq(cs_mock_host_count(m), at[i] - 1);
        cs_mock_host_destroy(&m);
    }
}
END_TEST

START_TEST(test_cancel)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    s_sample("icd10pcs_tables_sample.xml", xml, sizeof xml);
    s_sample("icd10pcs_order_sample.txt", order, sizeof order);
    /* cancelled() is asked after the order file, then at every table */
    static const struct {
        size_t after;
        size_t emitted;
        const char *file;
    } cases[] = {
        {1, 0, "icd10pcs_order_sample.txt"},
        {2, 0, "icd10pcs_tables_sample.xml"},
        {3, 9, "icd10pcs_tables_sample.xml"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cs_mock_host_t *m = cs_mock_host_new(0);
        cs_mock_host_cancel_after(m, cases[i].after);
        const char *files[] = {xml, order};
        cs_error_t err;
        cs_error_clear(&err);
        int rc = cs_loader_test_run(s_desc, m, files, 2, &err);
        ck_assert_int_eq(rc, CS_ETERM);
        ck_assert_int_eq(err.code, CS_ETERM);
        ck_assert_str_eq(err.file, cases[i].file);
        ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), cases[i].emitted);
        cs_mock_host_destroy(&m);
    }
}
END_TEST

/* ---- 2025 ------------------------------------------------------------------------------ */

#define S_2025 "icd10pcs/2025/"

/* Does the 2025 data exist? Fills the paths. */
static int s_data_2025(char *xml, char *order, char *defs, char *idx)
{
    return cs_test_data_path(S_2025 "icd10pcs_tables_2025.xml", xml, PATH_MAX) &&
           cs_test_data_path(S_2025 "icd10pcs_order_2025.txt", order, PATH_MAX) &&
           cs_test_data_path(S_2025 "icd10pcs_definitions_2025.xml", defs, PATH_MAX) &&
           cs_test_data_path(S_2025 "icd10pcs_index_2025.xml", idx, PATH_MAX);
}

static const char s_pcs_chars[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/* For a sample of codes, change one of characters 4-7 to a value that no code of its table
 * has at that position (so no row of the table allows it): that code must not exist. */
static void s_check_mutations(cs_mock_host_t *m, const s_order_row_t *rows, size_t n)
{
    size_t tried = 0;
    size_t first = 0; /* first row of the current table */
    for (size_t i = 0; i < n; i++) {
        if (strlen(rows[i].code) == 3) {
            first = i;
            continue;
        }
        if (i % 53 != 0) {
            continue;
        }
        for (size_t pos = 3; pos < 7; pos++) {
            char used[128] = {0};
            for (size_t k = first + 1; k < n && strlen(rows[k].code) == 7 &&
                                       strncmp(rows[k].code, rows[i].code, 3) == 0;
                 k++) {
                used[(unsigned char)rows[k].code[pos]] = 1;
            }
            for (const char *c = s_pcs_chars; *c; c++) {
                if (used[(unsigned char)*c]) {
                    continue;
                }
                char mut[8];
                memcpy(mut, rows[i].code, 8);
                mut[pos] = *c;
                ck_assert_msg(!cs_mock_host_has(m, CS_CLASS_CODE, mut),
                              "%s (from %s) was emitted", mut, rows[i].code);
                tried++;
                break;
            }
        }
    }
    ck_assert_uint_gt(tried, 2000);
}

START_TEST(test_2025_with_order)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    char defs[PATH_MAX];
    char idx[PATH_MAX];
    CS_SKIP_UNLESS_DATA(s_data_2025(xml, order, defs, idx), S_2025 "icd10pcs_*_2025");
    double t0 = s_now();
    cs_mock_host_t *m = s_load_ok(xml, order);
    double t1 = s_now();
    fprintf(stderr, "icd10pcs-tables 2025 tables + order file: %zu records in %.3f s (mock "
                    "host copying every record)\n",
            cs_mock_host_count(m), t1 - t0);
    {
        /* the loader alone: a mock that only counts */
        int rc;
        cs_error_t err;
        const char *files[] = {xml, order};
        double t2 = s_now();
        cs_mock_host_t *c = s_load_n(files, 2, 0, &rc, &err);
        double t3 = s_now();
        ck_assert_int_eq(rc, CS_OK);
        fprintf(stderr, "icd10pcs-tables 2025 tables + order file: %.3f s (counting mock)\n",
                t3 - t2);
        cs_mock_host_destroy(&c);
    }
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 78948 + 908);
    ck_assert_uint_eq(cs_mock_host_billable(m), 78948);
    size_t n = 0;
    s_order_row_t *rows = s_read_order(order, &n);
    ck_assert_uint_eq(n, 78948 + 908);
    for (size_t i = 0; i < n; i++) {
        const cs_mock_record_t *r = cs_mock_host_find(m, CS_CLASS_CODE, rows[i].code);
        ck_assert_msg(r != NULL, "order-file code %s not emitted", rows[i].code);
        ck_assert_msg(r->billable == (rows[i].flag == '1'), "%s flag differs", rows[i].code);
        ck_assert_msg(strcmp(r->title, rows[i].title) == 0, "%s: \"%s\" vs \"%s\"",
                      rows[i].code, r->title, rows[i].title);
        ck_assert_str_eq(r->short_title, rows[i].short_t);
        ck_assert_uint_ge(r->n_attrs, strlen(rows[i].code) == 3 ? 3 : 7);
    }
    s_check_mutations(m, rows, n);
    free(rows);
    const cs_mock_record_t *r = s_rec(m, "0DTJ0ZZ");
    ck_assert_str_eq(r->title, "Resection of Appendix, Open Approach");
    ck_assert_str_eq(r->parent, "0DT");
    s_attr_is(r, "body_part", "Appendix");
    s_attr_is(r, "operation_definition",
              "Cutting out or off, without replacement, all of a body part");
    ck_assert_str_eq(cs_mock_host_record(m, 0)->code, "001");
    ck_assert_str_eq(cs_mock_host_record(m, 1)->code, "0016070");
    ck_assert_uint_gt(cs_mock_host_progress_calls(m), 10);
    ck_assert_uint_ge(cs_mock_host_progress_last(m), 12189096 + 3023991);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_2025_xml_alone)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    char defs[PATH_MAX];
    char idx[PATH_MAX];
    CS_SKIP_UNLESS_DATA(s_data_2025(xml, order, defs, idx), S_2025 "icd10pcs_*_2025");
    double t0 = s_now();
    cs_mock_host_t *m = s_load_ok(xml, NULL);
    double t1 = s_now();
    fprintf(stderr, "icd10pcs-tables 2025 tables alone: %zu records in %.3f s\n",
            cs_mock_host_count(m), t1 - t0);
    /* measured: the rows of 2025 do not overlap, and give exactly the order file's codes */
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 78948 + 908);
    ck_assert_uint_eq(cs_mock_host_billable(m), 78948);
    size_t n = 0;
    s_order_row_t *rows = s_read_order(order, &n);
    size_t same = 0;
    for (size_t i = 0; i < n; i++) {
        const cs_mock_record_t *r = cs_mock_host_find(m, CS_CLASS_CODE, rows[i].code);
        ck_assert_msg(r != NULL, "order-file code %s not in the tables", rows[i].code);
        if (strlen(rows[i].code) == 7) {
            same += strcmp(r->title, rows[i].title) == 0;
        }
    }
    fprintf(stderr, "icd10pcs-tables 2025: composed titles equal the order file's for %zu of "
                    "78948 codes\n",
            same);
    ck_assert_uint_gt(same, 78948 / 2);
    s_check_mutations(m, rows, n);
    free(rows);
    ck_assert_str_eq(s_rec(m, "0DT")->title,
                     "Medical and Surgical, Gastrointestinal System, Resection");
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_2025_all_files)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    char defs[PATH_MAX];
    char idx[PATH_MAX];
    CS_SKIP_UNLESS_DATA(s_data_2025(xml, order, defs, idx), S_2025 "icd10pcs_*_2025");
    const char *files[] = {xml, order, defs, idx};
    double t0 = s_now();
    cs_mock_host_t *m = s_load_ok_n(files, 4);
    double t1 = s_now();
    size_t with_terms = 0;
    size_t terms = 0;
    for (size_t i = 0; i < cs_mock_host_count(m); i++) {
        const cs_mock_record_t *r = cs_mock_host_record(m, i);
        with_terms += r->n_terms > 0;
        terms += r->n_terms;
    }
    fprintf(stderr,
            "icd10pcs-tables 2025 tables + order + definitions + index: %zu records in %.3f s; "
            "%zu with terms, %zu terms\n",
            cs_mock_host_count(m), t1 - t0, with_terms, terms);
    ck_assert_uint_eq(cs_mock_host_billable(m), 78948);
    const cs_mock_record_t *r = s_rec(m, "0DTJ0ZZ");
    ck_assert(s_has_term(r, "Vermiform appendix"));
    ck_assert(s_has_term(r, "Appendectomy"));
    ck_assert(s_has_term(s_rec(m, "0UT90ZZ"), "Abdominohysterectomy"));
    ck_assert(s_has_term(s_rec(m, "0QB"), "Acetabulectomy"));
    ck_assert_uint_gt(with_terms, 70000);
    ck_assert_uint_ge(cs_mock_host_progress_last(m), 12189096 + 3023991 + 2526864 + 268874);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_2025_late_error_line)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    char defs[PATH_MAX];
    char idx[PATH_MAX];
    CS_SKIP_UNLESS_DATA(s_data_2025(xml, order, defs, idx), S_2025 "icd10pcs_*_2025");
    /* break the last label of the file: its line is past 65535, and must still be right */
    size_t n = 0;
    char *text = s_read_all(xml, &n);
    char *at = NULL;
    for (char *p = strstr(text, "<label code=\""); p; p = strstr(p + 1, "<label code=\"")) {
        at = p;
    }
    ck_assert_ptr_nonnull(at);
    unsigned line = 1;
    for (const char *p = text; p < at; p++) {
        line += *p == '\n';
    }
    ck_assert_uint_gt(line, 65535);
    at[13] = 'I';
    char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/late.xml", dir);
    s_write(path, text, n);
    free(text);
    s_load_bad(path, NULL, CS_EMALFORMED, "late.xml", line, "code 'I'");
    cs_test_rmtree(dir);
}
END_TEST

START_TEST(test_2025_cancel)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    char defs[PATH_MAX];
    char idx[PATH_MAX];
    CS_SKIP_UNLESS_DATA(s_data_2025(xml, order, defs, idx), S_2025 "icd10pcs_*_2025");
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_mock_host_cancel_after(m, 20);
    const char *files[] = {xml};
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_loader_test_run(s_desc, m, files, 1, &err);
    ck_assert_int_eq(rc, CS_ETERM);
    ck_assert_int_eq(err.code, CS_ETERM);
    ck_assert_str_eq(err.file, "icd10pcs_tables_2025.xml");
    ck_assert_uint_gt(err.line, 0);
    ck_assert_uint_lt(cs_mock_host_emitted(m, CS_CLASS_CODE), 10000);
    cs_mock_host_destroy(&m);
}
END_TEST

/* ---- 2025 through a live broker --------------------------------------------------------- */

#define S_BATCH 10000

/* A code with one of characters 4-7 changed to a value no code of its table has there, or
 * "" if every value is used. rows[first] is the code's table. */
static void s_mutate(const s_order_row_t *rows, size_t n, size_t first, size_t i, size_t pos,
                     char out[8])
{
    char used[128] = {0};
    for (size_t k = first + 1; k < n && strlen(rows[k].code) == 7 &&
                               strncmp(rows[k].code, rows[i].code, 3) == 0;
         k++) {
        used[(unsigned char)rows[k].code[pos]] = 1;
    }
    out[0] = '\0';
    for (const char *c = s_pcs_chars; *c; c++) {
        if (!used[(unsigned char)*c]) {
            memcpy(out, rows[i].code, 8);
            out[pos] = *c;
            return;
        }
    }
}

/* Validate codes[0..n) against release "2025"; the results array (valid until next call). */
static const msgpack_object *s_validate(cs_tclient_t *q, const char *const *codes, size_t n)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10pcs");
    cs_tpack_kv(pk, "release", "2025");
    cs_tpack_str(pk, "codes");
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        cs_tpack_str(pk, codes[i]);
    }
    const msgpack_object *r = cs_tclient_call(q, 60000);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "validate failed");
    const msgpack_object *res = cs_obj_get(r, "results");
    ck_assert_ptr_nonnull(res);
    ck_assert_uint_eq(res->via.array.size, n);
    return res;
}

START_TEST(test_2025_broker)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    char defs[PATH_MAX];
    char idx[PATH_MAX];
    CS_SKIP_UNLESS_DATA(s_data_2025(xml, order, defs, idx), S_2025 "icd10pcs_*_2025");
    char plugin[PATH_MAX + 32];
    snprintf(plugin, sizeof plugin, "%s/plugins/icd10pcs.so", cs_test_build_dir());
    if (access(plugin, R_OK) != 0) {
        fprintf(stderr, "SKIP %s: %s is not built\n", __func__, plugin);
        return;
    }
    char axml[PATH_MAX];
    char aorder[PATH_MAX];
    char adefs[PATH_MAX];
    char aidx[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(xml, axml));
    ck_assert_ptr_nonnull(realpath(order, aorder));
    ck_assert_ptr_nonnull(realpath(defs, adefs));
    ck_assert_ptr_nonnull(realpath(idx, aidx));
    size_t n = 0;
    s_order_row_t *rows = s_read_order(aorder, &n);

    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char state[64];
    const char *files[] = {axml, aorder, adefs, aidx};
    double t0 = s_now();
    const msgpack_object *r = cs_daemon_load(&d, admin, "icd10pcs-tables", "2025",
                                             "2024-10-01", files, 4, state, sizeof state, 300000);
    double t1 = s_now();
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(strcmp(state, "done") == 0, "load %s", state);
    fprintf(stderr, "icd10pcs-tables 2025 (4 files) through the broker: %lld codes, %lld "
                    "billable, %.2f s\n",
            (long long)cs_obj_int(cs_obj_get(r, "codes")),
            (long long)cs_obj_int(cs_obj_get(r, "billable")), t1 - t0);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "billable")), 78948);

    /* every order-file line: codes valid with the order file's title, tables headers */
    const char **codes = malloc(S_BATCH * sizeof *codes);
    char(*lower)[8] = malloc(S_BATCH * sizeof *lower);
    ck_assert(codes && lower);
    size_t valid = 0;
    for (size_t start = 0; start < n; start += S_BATCH) {
        size_t m = n - start < S_BATCH ? n - start : S_BATCH;
        for (size_t i = 0; i < m; i++) {
            /* lower case on every other code exercises the system plugin's canonical form */
            snprintf(lower[i], sizeof lower[i], "%s", rows[start + i].code);
            for (char *c = lower[i]; i % 2 && *c; c++) {
                *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            }
            codes[i] = lower[i];
        }
        const msgpack_object *res = s_validate(q, codes, m);
        for (size_t i = 0; i < m; i++) {
            const s_order_row_t *row = &rows[start + i];
            const msgpack_object *x = &res->via.array.ptr[i];
            ck_assert_msg(cs_obj_is_str(cs_obj_get(x, "code"), row->code), "%s: code differs",
                          row->code);
            if (strlen(row->code) == 3) {
                ck_assert(!cs_obj_true(cs_obj_get(x, "valid")));
                ck_assert_msg(cs_obj_is_str(cs_obj_get(x, "reason"), "not_billable"),
                              "table %s is not a header", row->code);
                continue;
            }
            ck_assert_msg(cs_obj_true(cs_obj_get(x, "valid")), "%s is not valid", row->code);
            char t[512];
            ck_assert_msg(cs_obj_is_str(cs_obj_get(x, "title"), row->title),
                          "%s: title '%s', order file '%s'", row->code,
                          cs_obj_cstr(cs_obj_get(x, "title"), t, sizeof t), row->title);
            valid++;
        }
    }
    ck_assert_uint_eq(valid, 78948);

    /* mutated codes: one of characters 4-7 changed to a value no row of the table allows */
    size_t m = 0;
    size_t first = 0;
    for (size_t i = 0; i < n && m + 4 <= S_BATCH; i++) {
        if (strlen(rows[i].code) == 3) {
            first = i;
            continue;
        }
        if (i % 31 != 0) {
            continue;
        }
        for (size_t pos = 3; pos < 7; pos++) {
            s_mutate(rows, n, first, i, pos, lower[m]);
            if (lower[m][0]) {
                codes[m] = lower[m];
                m++;
            }
        }
    }
    ck_assert_uint_gt(m, 2000);
    const msgpack_object *res = s_validate(q, codes, m);
    for (size_t i = 0; i < m; i++) {
        const msgpack_object *x = &res->via.array.ptr[i];
        ck_assert_msg(!cs_obj_true(cs_obj_get(x, "valid")), "%s is valid", codes[i]);
        ck_assert_msg(cs_obj_is_str(cs_obj_get(x, "reason"), "unknown"), "%s: not unknown",
                      codes[i]);
    }
    fprintf(stderr, "icd10pcs-tables 2025 through the broker: %zu valid, %zu mutated codes "
                    "unknown\n",
                    valid, m);
    free(codes);
    free(lower);

    /* lookup shows the attributes */
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10pcs");
    cs_tpack_kv(pk, "code", "0dtj0zz");
    r = cs_tclient_call(q, 5000);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "code"), "0DTJ0ZZ"));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "kind"), "code"));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "parent"), "0DT"));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "title"), "Resection of Appendix, Open Approach"));
    const msgpack_object *attrs = cs_obj_get(r, "attributes");
    ck_assert_ptr_nonnull(attrs);
    ck_assert_int_eq(attrs->type, MSGPACK_OBJECT_MAP);
    ck_assert(cs_obj_is_str(cs_obj_get(attrs, "section"), "Medical and Surgical"));
    ck_assert(cs_obj_is_str(cs_obj_get(attrs, "body_system"), "Gastrointestinal System"));
    ck_assert(cs_obj_is_str(cs_obj_get(attrs, "operation"), "Resection"));
    ck_assert(cs_obj_is_str(cs_obj_get(attrs, "body_part"), "Appendix"));
    ck_assert(cs_obj_is_str(cs_obj_get(attrs, "approach"), "Open"));
    ck_assert(cs_obj_is_str(cs_obj_get(attrs, "device"), "No Device"));
    ck_assert(cs_obj_is_str(cs_obj_get(attrs, "qualifier"), "No Qualifier"));
    ck_assert(cs_obj_is_str(cs_obj_get(attrs, "operation_definition"),
                            "Cutting out or off, without replacement, all of a body part"));

    /* index terms are searchable */
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "system", "icd10pcs");
    cs_tpack_kv(pk, "q", "appendectomy open");
    cs_tpack_str(pk, "limit");
    msgpack_pack_int(pk, 500);
    r = cs_tclient_call(q, 5000);
    ck_assert_ptr_nonnull(r);
    const msgpack_object *hits = cs_obj_get(r, "hits");
    ck_assert_ptr_nonnull(hits);
    int found = 0;
    for (uint32_t i = 0; i < hits->via.array.size; i++) {
        found |= cs_obj_is_str(cs_obj_get(&hits->via.array.ptr[i], "code"), "0DTJ0ZZ");
    }
    ck_assert_msg(found, "search 'appendectomy open' misses 0DTJ0ZZ (%u hits)",
                  hits->via.array.size);

    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
    free(rows);
}
END_TEST

Suite *cs_icd10pcs_tables_suite(void);
Suite *cs_icd10pcs_tables_suite(void)
{
    Suite *s = suite_create("icd10pcs_tables");
    TCase *tc = tcase_create("sample");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_sample_xml_alone);
    tcase_add_test(tc, test_sample_with_order);
    tcase_add_test(tc, test_sample_terms);
    tcase_add_test(tc, test_overlap);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_hostile_fixtures);
    tcase_add_test(tc, test_order_mismatch);
    tcase_add_test(tc, test_hostile_generated);
    tcase_add_test(tc, test_emit_error_stops);
    tcase_add_test(tc, test_cancel);
    suite_add_tcase(s, tc);

    tc = tcase_create("2025");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_2025_with_order);
    tcase_add_test(tc, test_2025_xml_alone);
    tcase_add_test(tc, test_2025_all_files);
    tcase_add_test(tc, test_2025_late_error_line);
    tcase_add_test(tc, test_2025_cancel);
    suite_add_tcase(s, tc);

    tc = tcase_create("2025 broker");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_2025_broker);
    suite_add_tcase(s, tc);
    return s;
}
