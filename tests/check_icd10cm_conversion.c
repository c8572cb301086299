/* check_icd10cm_conversion.c: the icd10cm-conversion loader plugin, dlopened and driven through
 * the recording mock host: hand-written CSV and xlsx excerpts (lists, "and", ranges, prose,
 * spreadsheet dates, columns found by their header), hostile tables (each error at its file,
 * line and column), sniff, emit failure, cancel, progress, and the five official tables when
 * ../shared/data is present: row counts, rows read off the files by hand, FY2024 against
 * FY2025, and a real broker answering validate and crosswalk across FY2016 and FY2017. */
#include <check.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codeset/cs_plugin.h"
#include "cs_daemon.h"
#include "cs_test.h"
#include "loader_test.h"
#include "mock_host.h"

static void *s_dl;
static const cs_plugin_desc_t *s_desc;

static void s_setup(void)
{
    s_desc = cs_loader_test_open("icd10cm-conversion", &s_dl);
}

static void s_teardown(void)
{
    cs_loader_test_close(&s_dl);
    s_desc = NULL;
}

static void s_fixture(const char *name, char *out, size_t cap)
{
    cs_loader_test_fixture("conversion", name, out, cap);
}

/* Load files (absolute paths) into m; rc returned, err filled. */
static int s_load_paths(cs_mock_host_t *m, const char *const *files, size_t n, cs_error_t *err)
{
    return cs_loader_test_run(s_desc, m, files, n, err);
}

/* Load fixture files by name. */
static int s_load(cs_mock_host_t *m, const char *const *names, size_t n, cs_error_t *err)
{
    char paths[4][PATH_MAX];
    const char *files[4];
    ck_assert_uint_le(n, 4);
    for (size_t i = 0; i < n; i++) {
        s_fixture(names[i], paths[i], sizeof paths[i]);
        files[i] = paths[i];
    }
    return s_load_paths(m, files, n, err);
}

static int s_sniff(const char *const *names, size_t n)
{
    char paths[4][PATH_MAX];
    const char *files[4];
    ck_assert_uint_le(n, 4);
    for (size_t i = 0; i < n; i++) {
        s_fixture(names[i], paths[i], sizeof paths[i]);
        files[i] = paths[i];
    }
    return s_desc->loader->sniff(files, n);
}

/* One expected row: map, previous code, current code. */
typedef struct s_want {
    const char *map;
    const char *source;
    const char *target;
} s_want_t;

/* The rows of m are exactly want[0..n), in that order, each a plain icd10cm self-map row. */
static void s_expect_rows(const cs_mock_host_t *m, const s_want_t *want, size_t n)
{
    const char *first = NULL;
    ck_assert_msg(cs_mock_host_violations(m, &first) == 0, "contract: %s", first);
    ck_assert_uint_eq(cs_mock_host_map_count(m), n);
    for (size_t i = 0; i < n; i++) {
        const cs_mock_map_row_t *r = cs_mock_host_map_row(m, i);
        ck_assert_msg(strcmp(r->map, want[i].map) == 0 && strcmp(r->source, want[i].source) == 0 &&
                          strcmp(r->target, want[i].target) == 0,
                      "row %zu is %s %s -> %s, expected %s %s -> %s", i, r->map, r->source,
                      r->target, want[i].map, want[i].source, want[i].target);
        ck_assert_str_eq(r->from_system, "icd10cm");
        ck_assert_str_eq(r->to_system, "icd10cm");
        ck_assert_uint_eq(r->flags, 0);
        ck_assert_uint_eq(r->scenario, 0);
        ck_assert_uint_eq(r->choice, 0);
        ck_assert_ptr_null(r->relationship);
    }
}

/* Index of the row (map, source, target) in m, or -1. */
static long s_find_row(const cs_mock_host_t *m, const char *map, const char *source,
                       const char *target)
{
    size_t n = cs_mock_host_map_count(m);
    for (size_t i = 0; i < n; i++) {
        const cs_mock_map_row_t *r = cs_mock_host_map_row(m, i);
        if ((!map || strcmp(r->map, map) == 0) && (!source || strcmp(r->source, source) == 0) &&
            (!target || strcmp(r->target, target) == 0)) {
            return (long)i;
        }
    }
    return -1;
}

static uint64_t s_size(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* ---- fixtures ----------------------------------------------------------------------------- */

START_TEST(test_descriptor)
{
    ck_assert_uint_eq(s_desc->abi_major, CS_ABI_MAJOR);
    ck_assert_uint_le(s_desc->abi_minor, CS_ABI_MINOR);
    ck_assert_uint_ge(s_desc->abi_minor, 1); /* ABI 1.1: map rows, or any system */
    ck_assert_uint_eq(s_desc->struct_size, sizeof(cs_plugin_desc_t));
    ck_assert_uint_eq(s_desc->kind, CS_PLUGIN_LOADER);
    ck_assert_str_eq(s_desc->name, "icd10cm-conversion");
    ck_assert_ptr_null(s_desc->system);
    const cs_loader_ops_t *ops = s_desc->loader;
    ck_assert_str_eq(ops->systems[0], "icd10cm-conversion");
    ck_assert_ptr_null(ops->systems[1]);
    ck_assert_uint_eq(ops->flags, CS_LOADER_MAPS);
    ck_assert_ptr_nonnull(ops->sniff);
    ck_assert_ptr_nonnull(ops->load);
}
END_TEST

START_TEST(test_sniff)
{
    const char *yes[] = {"table.csv", "table.xlsx", "shuffled.csv", "many_years.csv"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        ck_assert_msg(s_sniff(&yes[i], 1) == 1, "sniff(%s)", yes[i]);
    }
    ck_assert_int_eq(s_sniff(yes, 4), 1);
    /* No header with the three columns, or not a table at all. */
    const char *no[] = {"missing_column.csv", "missing_column.xlsx", "no_header.csv",
                        "junk.csv", "empty.csv", "blank.csv", "preamble_only.csv",
                        "corrupt.xlsx", "cr_only.csv", "../gems/dx_forward.txt",
                        "does_not_exist.csv"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        ck_assert_msg(s_sniff(&no[i], 1) == 0, "sniff(%s)", no[i]);
    }
    const char *mixed[] = {"table.csv", "missing_column.csv"};
    ck_assert_int_eq(s_sniff(mixed, 2), 0);
    ck_assert_int_eq(s_desc->loader->sniff(NULL, 0), 0);
    const char *none[] = {"table.csv"};
    ck_assert_int_eq(s_sniff(none, 0), 0);
}
END_TEST

/* The FY2020 CSV layout: a quoted two-line preamble, lists, "and", ranges, prose, CRLF. */
static const s_want_t s_table_csv[] = {
    {"oct2017", "A04.7", "A04.71"},     {"oct2017", "A04.7", "A04.72"},
    {"oct2018", "H02.201", "H02.20C"},  {"oct2018", "H02.202", "H02.20C"},
    {"oct2018", "H02.204", "H02.20C"},  {"oct2018", "H02.205", "H02.20C"},
    {"oct2016", "I63.011", "I63.013"},  {"oct2016", "I63.012", "I63.013"},
    {"oct2016", "K59.09", "K59.03"},    {"oct2018", "H02.101", "H02.10A"},
    {"oct2018", "H02.102", "H02.10A"},  {"oct2018", "H02.103", "H02.10A"},
    {"oct2018", "H02.109", "H02.10A"},  {"oct2018", "C44.112", "C44.1121"},
    {"oct2019", "K31.89", "R11.15"},    {"apr2020", "B97.29", "U07.1"},
};

START_TEST(test_csv)
{
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    const char *names[] = {"table.csv"};
    int rc = s_load(m, names, 1, &err);
    ck_assert_msg(rc == CS_OK, "load: %s:%u:%u: %s", err.file, err.line, err.column, err.msg);
    s_expect_rows(m, s_table_csv, sizeof s_table_csv / sizeof s_table_csv[0]);
    /* "None", prose, the range Y93.01-Y93.9 and the repeated A04.71 row give nothing more. */
    ck_assert_int_eq(s_find_row(m, NULL, NULL, "E11.A"), -1);
    ck_assert_int_eq(s_find_row(m, NULL, NULL, "X50.0XXA"), -1);
    char path[PATH_MAX];
    s_fixture("table.csv", path, sizeof path);
    ck_assert_uint_ge(cs_mock_host_progress_calls(m), 1);
    ck_assert_uint_eq(cs_mock_host_progress_last(m), s_size(path));
    cs_mock_host_destroy(&m);
}
END_TEST

/* The xlsx layout: header in row 3 from column B, shared and inline strings, number cells,
 * spreadsheet dates (45017 = 2023-04-01, 43922 = 2020-04-01), a code without its dot. */
START_TEST(test_xlsx)
{
    static const s_want_t want[] = {
        {"oct2017", "A04.7", "A04.71"},   {"apr2023", "Z91.15", "Z91.158"},
        {"oct2025", "W45.8XXA", "W453XXA"}, {"oct2023", "H35.20", "H36.822"},
        {"oct2023", "H35.21", "H36.822"}, {"oct2023", "H35.22", "H36.822"},
        {"oct2023", "H35.23", "H36.822"}, {"oct2022", "M96.89", "M96.A1"},
        {"oct2022", "Y84.8", "M96.A1"},   {"apr2020", "B97.29", "U07.1"},
    };
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    const char *names[] = {"table.xlsx"};
    int rc = s_load(m, names, 1, &err);
    ck_assert_msg(rc == CS_OK, "load: %s:%u:%u: %s", err.file, err.line, err.column, err.msg);
    s_expect_rows(m, want, sizeof want / sizeof want[0]);
    char path[PATH_MAX];
    s_fixture("table.xlsx", path, sizeof path);
    ck_assert_uint_eq(cs_mock_host_progress_last(m), s_size(path));
    cs_mock_host_destroy(&m);
}
END_TEST

/* Columns are found by their header texts: another order, an extra column, a BOM, LF. */
START_TEST(test_shuffled_columns)
{
    static const s_want_t want[] = {
        {"oct2016", "A92.8", "A92.5"},
        {"oct2018", "C43.11", "C43.111"},
    };
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    const char *names[] = {"shuffled.csv"};
    int rc = s_load(m, names, 1, &err);
    ck_assert_msg(rc == CS_OK, "load: %s:%u:%u: %s", err.file, err.line, err.column, err.msg);
    s_expect_rows(m, want, 2);
    cs_mock_host_destroy(&m);
}
END_TEST

/* 18 years are more than the 16 maps of a load: 2000-2002 go into oct2002. */
START_TEST(test_many_years)
{
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    const char *names[] = {"many_years.csv"};
    int rc = s_load(m, names, 1, &err);
    ck_assert_msg(rc == CS_OK, "load: %s:%u:%u: %s", err.file, err.line, err.column, err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 18);
    const char *maps[18];
    size_t n_maps = 0;
    for (size_t i = 0; i < 18; i++) {
        const cs_mock_map_row_t *r = cs_mock_host_map_row(m, i);
        char want[16];
        snprintf(want, sizeof want, "oct%d", i < 3 ? 2002 : 2000 + (int)i);
        ck_assert_str_eq(r->map, want);
        size_t k = 0;
        while (k < n_maps && strcmp(maps[k], r->map) != 0) {
            k++;
        }
        if (k == n_maps) {
            maps[n_maps++] = r->map;
        }
    }
    ck_assert_uint_eq(n_maps, 16);
    cs_mock_host_destroy(&m);
}
END_TEST

/* Several tables in one load: pairs they share are emitted once. */
START_TEST(test_two_files)
{
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    const char *names[] = {"table.csv", "table.xlsx", "table.csv"};
    int rc = s_load(m, names, 3, &err);
    ck_assert_msg(rc == CS_OK, "load: %s:%u:%u: %s", err.file, err.line, err.column, err.msg);
    /* 16 from the CSV, 10 from the xlsx of which A04.7 -> A04.71 and B97.29 -> U07.1 repeat. */
    ck_assert_uint_eq(cs_mock_host_map_count(m), 16 + 8);
    ck_assert_int_eq(s_find_row(m, "apr2023", "Z91.15", "Z91.158"), 16);
    char a[PATH_MAX], b[PATH_MAX];
    s_fixture("table.csv", a, sizeof a);
    s_fixture("table.xlsx", b, sizeof b);
    ck_assert_uint_eq(cs_mock_host_progress_last(m), 2 * s_size(a) + s_size(b));
    cs_mock_host_destroy(&m);
}
END_TEST

/* ---- hostile tables ----------------------------------------------------------------------- */

/* One hostile fixture: the error it must give. */
typedef struct s_bad {
    const char *name;  /* fixture */
    int rc;            /* status */
    unsigned line;     /* err.line (CSV line, sheet row) */
    unsigned column;   /* err.column */
    const char *words; /* a piece of err.msg */
} s_bad_t;

static const s_bad_t s_bads[] = {
    {"missing_column.csv", CS_EMALFORMED, 2, 0, "header row has no 'Effective' column"},
    {"missing_column.xlsx", CS_EMALFORMED, 3, 0,
     "no 'Previous Code(s) Assignment' column"},
    {"no_header.csv", CS_EMALFORMED, 1, 1, "before any header row"},
    {"preamble_only.csv", CS_EMALFORMED, 50, 0, "no header row"},
    {"broken_quote.csv", CS_EMALFORMED, 3, 13, "not closed before the end of the file"},
    {"stray_quote.csv", CS_EMALFORMED, 3, 16, "a quote inside field 3"},
    {"after_quote.csv", CS_EMALFORMED, 3, 20, "'x' after the closing quote"},
    {"junk.csv", CS_EMALFORMED, 1, 1, "not a CSV text file"},
    {"empty.csv", CS_EMALFORMED, 0, 0, "the file is empty"},
    {"blank.csv", CS_EMALFORMED, 3, 0, "no header row"},
    {"header_only.csv", CS_EMALFORMED, 2, 0, "not followed by any row"},
    {"bad_previous.csv", CS_EMALFORMED, 3, 3, "previous code 'A0' (of A04.71)"},
    {"bad_current.csv", CS_EMALFORMED, 3, 1, "current code 'A04.7123456'"},
    {"bad_date.csv", CS_EMALFORMED, 3, 2, "effective date 'FY18'"},
    {"bad_utf8.csv", CS_EMALFORMED, 3, 3, "not UTF-8"},
    {"empty_current.csv", CS_EMALFORMED, 3, 1, "cell is empty"},
    {"cr_only.csv", CS_EMALFORMED, 1, 72, "carriage return"},
    {"corrupt.xlsx", CS_EMALFORMED, 0, 0, "zip"},
    {"does_not_exist.csv", CS_EIO, 0, 0, "cannot read"},
};

START_TEST(test_hostile)
{
    const s_bad_t *b = &s_bads[_i];
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    int rc = s_load(m, &b->name, 1, &err);
    ck_assert_msg(rc == b->rc, "%s: rc %d (%s)", b->name, rc, err.msg);
    ck_assert_int_eq(err.code, b->rc);
    ck_assert_str_eq(err.file, b->name);
    ck_assert_msg(err.line == b->line && err.column == b->column,
                  "%s: error at %u:%u, expected %u:%u (%s)", b->name, err.line, err.column,
                  b->line, b->column, err.msg);
    ck_assert_msg(strstr(err.msg, b->words) != NULL, "%s: message '%s' lacks '%s'", b->name,
                  err.msg, b->words);
    /* Nothing is emitted from a table that fails. */
    ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
    cs_mock_host_destroy(&m);
}
END_TEST

/* A good table before a bad one: the error names the bad file, and nothing is emitted. */
START_TEST(test_hostile_after_good_file)
{
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    const char *names[] = {"table.csv", "bad_previous.csv"};
    int rc = s_load(m, names, 2, &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_str_eq(err.file, "bad_previous.csv");
    ck_assert_uint_eq(err.line, 3);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_bad_arguments)
{
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    const char *names[] = {"table.csv"};
    ck_assert_int_eq(s_load(m, names, 0, &err), CS_EINVAL);
    const char *null_file[] = {NULL};
    ck_assert_int_eq(s_load_paths(m, null_file, 1, &err), CS_EINVAL);
    char path[PATH_MAX];
    s_fixture("table.csv", path, sizeof path);
    const char *files[] = {path};
    cs_error_clear(&err);
    ck_assert_int_eq(s_desc->loader->load(NULL, NULL, files, 1, &err), CS_EINVAL);
    /* A host built for ABI 1.0 has no emit_map: the map loader refuses to run. */
    cs_host_api_t old = *cs_mock_host_api(m);
    old.struct_size = (uint32_t)offsetof(cs_host_api_t, emit_map);
    cs_error_clear(&err);
    ck_assert_int_eq(s_desc->loader->load(&old, cs_mock_host_sink(m), files, 1, &err),
                     CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "emit_map"));
    ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
    cs_mock_host_destroy(&m);
}
END_TEST

/* emit_map failing: the loader stops at once and returns the host's code and message. */
START_TEST(test_emit_failure)
{
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_mock_host_fail_emit(m, 3, CS_ESPACE);
    cs_error_t err;
    const char *names[] = {"table.xlsx"};
    int rc = s_load(m, names, 1, &err);
    ck_assert_int_eq(rc, CS_ESPACE);
    ck_assert_ptr_nonnull(strstr(err.msg, "fails on purpose"));
    ck_assert_uint_eq(cs_mock_host_map_count(m), 2);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_cancel)
{
    const char *tables[] = {"table.csv", "table.xlsx"};
    for (size_t i = 0; i < 2; i++) {
        cs_mock_host_t *m = cs_mock_host_new(1);
        cs_mock_host_cancel_after(m, 1);
        cs_error_t err;
        int rc = s_load(m, &tables[i], 1, &err);
        ck_assert_msg(rc == CS_ETERM, "%s: rc %d", tables[i], rc);
        ck_assert_str_eq(err.msg, "load cancelled");
        ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
        cs_mock_host_destroy(&m);
    }
}
END_TEST

/* ---- the official tables ------------------------------------------------------------------ */

#define S_DIR "icd10cm/conversion/"

/* One official table: its rows after expansion and de-duplication, its maps, a few rows read
 * off the file by hand, and current codes that must have no row (previous: None, prose or a
 * range that names no list). */
typedef struct s_real {
    const char *file;
    size_t rows;
    size_t maps;
    s_want_t known[6];
    const char *no_row[3];
} s_real_t;

static const s_real_t s_reals[] = {
    {S_DIR "ICD-10-CM-Conversion-Table-FY20-Effective-10-1-2019-corrected.csv", 3128, 4,
     {{"oct2017", "A04.7", "A04.71"},
      {"oct2017", "A04.7", "A04.72"},
      {"oct2016", "S72.8X9A", "M84.750A"},
      {"oct2018", "H02.205", "H02.20C"},
      {"oct2016", "I63.012", "I63.013"},
      {"oct2018", "C44.112", "C44.1121"}},
     {"X50.0XXA", "E11.A", "Z99.99"}},
    {S_DIR "ICD-10-CM-Conversion-Table-FY2023-Effective-10-01-2022.xlsx", 5125, 10,
     {{"jan2021", "J12.89", "J12.82"},
      {"apr2020", "B97.29", "U07.1"},
      {"oct2022", "D68.0", "D68.020"},
      {"oct2016", "A92.8", "A92.5"},
      {"oct2022", "I20.1", "I20.2"},
      {"oct2022", "W23.1XXA", "W23.2XXA"}},
     {"X50.0XXA", NULL, NULL}},
    {S_DIR "ICD-10-CM-Conversion-Table-FY2024-Effective-10-01-2023-Final_updated-9-21-2023.xlsx",
     5480, 12,
     {{"apr2023", "Z91.15", "Z91.158"},
      {"oct2023", "H35.23", "H36.822"},
      {"apr2022", NULL, NULL},
      {"oct2017", "A04.7", "A04.71"},
      {"oct2023", "D57.458", "D57.454"},
      {"oct2023", "R92.2", "R92.343"}},
     {"X50.0XXA", NULL, NULL}},
    {S_DIR "icd-10-cm-conversion-table-FY2025.xlsx", 5720, 13,
     {{"oct2024", "C86.0", "C86.00"},
      {"oct2024", "E88.89", "E88.82"},
      {"oct2024", "M51.36", "M51.369"},
      {"apr2023", "Z91.15", "Z91.158"},
      {"oct2017", "A04.7", "A04.72"},
      {"oct2024", "Z68.54", "Z68.56"}},
     {"X50.0XXA", NULL, NULL}},
    {S_DIR "ICD-10-CM-CONVERSION-TABLE-FY2026.xlsx", 6208, 14,
     {{"oct2025", "W45.8XXA", "W453XXA"},
      {"oct2022", "Y84.8", "M96.A1"},
      {"oct2022", "M96.89", "M96.A1"},
      {"apr2020", "J84.114", "U07.0"},
      {"oct2024", "E88.89", "E88.82"},
      {"oct2016", "A92.8", "A92.5"}},
     {"X50.0XXA", NULL, NULL}},
};

static size_t s_count_maps(const cs_mock_host_t *m)
{
    const char *maps[64];
    size_t n_maps = 0;
    size_t n = cs_mock_host_map_count(m);
    for (size_t i = 0; i < n; i++) {
        const char *name = cs_mock_host_map_row(m, i)->map;
        size_t k = 0;
        while (k < n_maps && strcmp(maps[k], name) != 0) {
            k++;
        }
        if (k == n_maps && n_maps < 64) {
            maps[n_maps++] = name;
        }
    }
    return n_maps;
}

START_TEST(test_real_each)
{
    const s_real_t *t = &s_reals[_i];
    char path[PATH_MAX];
    CS_SKIP_UNLESS_DATA(cs_test_data_path(t->file, path, sizeof path), t->file);
    const char *files[] = {path};
    ck_assert_int_eq(s_desc->loader->sniff(files, 1), 1);
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    int rc = s_load_paths(m, files, 1, &err);
    ck_assert_msg(rc == CS_OK, "%s:%u:%u: %s", err.file, err.line, err.column, err.msg);
    const char *first = NULL;
    ck_assert_msg(cs_mock_host_violations(m, &first) == 0, "contract: %s", first);
    ck_assert_uint_eq(cs_mock_host_map_count(m), t->rows);
    ck_assert_uint_eq(s_count_maps(m), t->maps);
    for (size_t i = 0; i < 6; i++) {
        const s_want_t *w = &t->known[i];
        ck_assert_msg(s_find_row(m, w->map, w->source, w->target) >= 0, "%s: no row %s %s -> %s",
                      t->file, w->map, w->source ? w->source : "*",
                      w->target ? w->target : "*");
    }
    for (size_t i = 0; i < 3 && t->no_row[i]; i++) {
        ck_assert_msg(s_find_row(m, NULL, NULL, t->no_row[i]) < 0, "%s: a row for %s",
                      t->file, t->no_row[i]);
    }
    /* Every row a plain self-map of ICD-10-CM, nothing named "None", no blank in a code. */
    size_t n = cs_mock_host_map_count(m);
    for (size_t i = 0; i < n; i++) {
        const cs_mock_map_row_t *r = cs_mock_host_map_row(m, i);
        ck_assert_str_eq(r->from_system, "icd10cm");
        ck_assert_str_eq(r->to_system, "icd10cm");
        ck_assert_ptr_nonnull(r->target);
        ck_assert_msg(!strchr(r->source, ' ') && !strchr(r->target, ' ') &&
                          strcmp(r->source, "None") != 0,
                      "row %zu: '%s' -> '%s'", i, r->source, r->target);
    }
    ck_assert_uint_eq(cs_mock_host_progress_last(m), s_size(path));
    cs_mock_host_destroy(&m);
}
END_TEST

/* The FY2025 table repeats the FY2024 one: every row the two share is the same row (same
 * map), and FY2025 adds only changes of October 2024. */
START_TEST(test_real_fy2024_fy2025_agree)
{
    char p24[PATH_MAX], p25[PATH_MAX];
    CS_SKIP_UNLESS_DATA(cs_test_data_path(s_reals[2].file, p24, sizeof p24), s_reals[2].file);
    CS_SKIP_UNLESS_DATA(cs_test_data_path(s_reals[3].file, p25, sizeof p25), s_reals[3].file);
    cs_mock_host_t *a = cs_mock_host_new(1);
    cs_mock_host_t *b = cs_mock_host_new(1);
    cs_error_t err;
    const char *fa[] = {p24};
    const char *fb[] = {p25};
    ck_assert_int_eq(s_load_paths(a, fa, 1, &err), CS_OK);
    ck_assert_int_eq(s_load_paths(b, fb, 1, &err), CS_OK);
    size_t na = cs_mock_host_map_count(a);
    size_t nb = cs_mock_host_map_count(b);
    size_t shared = 0;
    for (size_t i = 0; i < na; i++) {
        const cs_mock_map_row_t *r = cs_mock_host_map_row(a, i);
        long j = s_find_row(b, NULL, r->source, r->target);
        ck_assert_msg(j >= 0, "FY2025 lacks %s %s -> %s", r->map, r->source, r->target);
        ck_assert_msg(strcmp(cs_mock_host_map_row(b, (size_t)j)->map, r->map) == 0,
                      "%s -> %s: %s in FY2024, %s in FY2025", r->source, r->target, r->map,
                      cs_mock_host_map_row(b, (size_t)j)->map);
        shared++;
    }
    size_t only_b = 0;
    for (size_t i = 0; i < nb; i++) {
        const cs_mock_map_row_t *r = cs_mock_host_map_row(b, i);
        if (s_find_row(a, NULL, r->source, r->target) < 0) {
            ck_assert_msg(strcmp(r->map, "oct2024") == 0, "FY2025 adds %s %s -> %s", r->map,
                          r->source, r->target);
            only_b++;
        }
    }
    ck_assert_uint_eq(shared, 5480);
    ck_assert_uint_eq(only_b, 240);
    cs_mock_host_destroy(&a);
    cs_mock_host_destroy(&b);
}
END_TEST

/* All five tables in one load: 14 distinct dates fit the 16 maps; the union has the FY2026
 * rows plus those earlier tables have and FY2026 does not. */
START_TEST(test_real_all_five)
{
    char paths[5][PATH_MAX];
    const char *files[5];
    for (size_t i = 0; i < 5; i++) {
        CS_SKIP_UNLESS_DATA(cs_test_data_path(s_reals[i].file, paths[i], sizeof paths[i]),
                            s_reals[i].file);
        files[i] = paths[i];
    }
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    int rc = s_load_paths(m, files, 5, &err);
    ck_assert_msg(rc == CS_OK, "%s:%u:%u: %s", err.file, err.line, err.column, err.msg);
    ck_assert_uint_ge(cs_mock_host_map_count(m), 6208);
    ck_assert_uint_eq(s_count_maps(m), 14);
    uint64_t total = 0;
    for (size_t i = 0; i < 5; i++) {
        total += s_size(paths[i]);
    }
    ck_assert_uint_eq(cs_mock_host_progress_last(m), total);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_real_cancel)
{
    char path[PATH_MAX];
    CS_SKIP_UNLESS_DATA(cs_test_data_path(s_reals[4].file, path, sizeof path), s_reals[4].file);
    const char *files[] = {path};
    for (size_t after = 1; after <= 8; after += 7) {
        cs_mock_host_t *m = cs_mock_host_new(1);
        cs_mock_host_cancel_after(m, after);
        cs_error_t err;
        ck_assert_int_eq(s_load_paths(m, files, 1, &err), CS_ETERM);
        ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
        cs_mock_host_destroy(&m);
    }
}
END_TEST

/* Through a real broker: the FY2016 and FY2017 releases and the FY2020 table. H40.11X0 was
 * deleted on 2016-10-01 and split into H40.1110, H40.1120, H40.1130 and H40.1190 (the table's
 * lines 521-536), so validate on 2017-01-01 says not_effective with those as replaced_by, and
 * a crosswalk from release 2016 to 2017 carries it to them. */
static void s_expect_codes(const msgpack_object *list, const char *key, const char *const *want,
                           size_t n)
{
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(list->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(list->via.array.size, n);
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t k = 0; k < list->via.array.size && !found; k++) {
            const msgpack_object *o = &list->via.array.ptr[k];
            found = key ? cs_obj_is_str(cs_obj_get(o, key), want[i]) : cs_obj_is_str(o, want[i]);
        }
        ck_assert_msg(found, "%s is not in the list", want[i]);
    }
}

START_TEST(test_broker_validate_crosswalk)
{
    char x16[PATH_MAX], o16[PATH_MAX], x17[PATH_MAX], o17[PATH_MAX], tab[PATH_MAX];
    int ok = cs_test_data_path("icd10cm/2016/icd10cm_tabular_2016.xml", x16, sizeof x16) &&
             cs_test_data_path("icd10cm/2016/icd10cm_order_2016.txt", o16, sizeof o16) &&
             cs_test_data_path("icd10cm/2017/icd10cm_tabular_2017.xml", x17, sizeof x17) &&
             cs_test_data_path("icd10cm/2017/icd10cm_order_2017.txt", o17, sizeof o17) &&
             cs_test_data_path(s_reals[0].file, tab, sizeof tab);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2016, icd10cm/2017 or the FY2020 conversion table");
    char a[5][PATH_MAX];
    const char *src[] = {x16, o16, x17, o17, tab};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_ptr_nonnull(realpath(src[i], a[i]));
    }
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char state[64];
    const char *f16[] = {a[0], a[1]};
    const char *f17[] = {a[2], a[3]};
    const char *fconv[] = {a[4]};
    const msgpack_object *r = cs_daemon_load(&d, admin, "icd10cm-tabular", "2016", "2015-10-01",
                                             f16, 2, state, sizeof state, 120000);
    ck_assert_str_eq(state, "done");
    r = cs_daemon_load(&d, admin, "icd10cm-tabular", "2017", "2016-10-01", f17, 2, state,
                       sizeof state, 120000);
    ck_assert_str_eq(state, "done");
    r = cs_daemon_load(&d, admin, "icd10cm-conversion", "fy2020", "2019-10-01", fconv, 1, state,
                       sizeof state, 60000);
    char msg[300];
    ck_assert_msg(strcmp(state, "done") == 0, "conversion load %s: %s", state,
                  cs_obj_cstr(cs_obj_get(cs_obj_get(r, "error"), "message"), msg, sizeof msg));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "records")), 3128);

    static const char *const split[] = {"H40.1110", "H40.1120", "H40.1130", "H40.1190"};
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", "H40.11X0");
    cs_tpack_kv(pk, "date", "2017-01-01");
    r = cs_tclient_call(q, 5000);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "validate: %s",
                  cs_obj_error_code(r, msg, sizeof msg));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "release"), "2017"));
    const msgpack_object *res = cs_obj_get(r, "results");
    ck_assert_ptr_nonnull(res);
    ck_assert_uint_eq(res->via.array.size, 1);
    const msgpack_object *v = &res->via.array.ptr[0];
    ck_assert(!cs_obj_true(cs_obj_get(v, "valid")));
    ck_assert_msg(cs_obj_is_str(cs_obj_get(v, "reason"), "not_effective"), "reason %s",
                  cs_obj_cstr(cs_obj_get(v, "reason"), msg, sizeof msg));
    static const char *const in16[] = {"2016"};
    s_expect_codes(cs_obj_get(v, "valid_in"), NULL, in16, 1);
    s_expect_codes(cs_obj_get(v, "replaced_by"), NULL, split, 4);

    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 6);
    cs_tpack_kv(pk, "op", "crosswalk");
    cs_tpack_kv(pk, "from", "icd10cm");
    cs_tpack_kv(pk, "to", "icd10cm");
    cs_tpack_kv(pk, "code", "H40.11X0");
    cs_tpack_kv(pk, "release", "2016");
    cs_tpack_kv(pk, "to_release", "2017");
    r = cs_tclient_call(q, 5000);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "crosswalk: %s",
                  cs_obj_error_code(r, msg, sizeof msg));
    s_expect_codes(cs_obj_get(r, "targets"), "code", split, 4);

    /* Backwards, 2017 to 2016, one of the new codes leads back to the deleted one. */
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 6);
    cs_tpack_kv(pk, "op", "crosswalk");
    cs_tpack_kv(pk, "from", "icd10cm");
    cs_tpack_kv(pk, "to", "icd10cm");
    cs_tpack_kv(pk, "code", "H40.1120");
    cs_tpack_kv(pk, "release", "2017");
    cs_tpack_kv(pk, "to_release", "2016");
    r = cs_tclient_call(q, 5000);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    static const char *const back[] = {"H40.11X0"};
    s_expect_codes(cs_obj_get(r, "targets"), "code", back, 1);

    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_icd10cm_conversion_suite(void);
Suite *cs_icd10cm_conversion_suite(void)
{
    Suite *s = suite_create("icd10cm_conversion");
    TCase *tc = tcase_create("fixtures");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_csv);
    tcase_add_test(tc, test_xlsx);
    tcase_add_test(tc, test_shuffled_columns);
    tcase_add_test(tc, test_many_years);
    tcase_add_test(tc, test_two_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_loop_test(tc, test_hostile, 0, (int)(sizeof s_bads / sizeof s_bads[0]));
    tcase_add_test(tc, test_hostile_after_good_file);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_emit_failure);
    tcase_add_test(tc, test_cancel);
    suite_add_tcase(s, tc);

    tc = tcase_create("official");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_real_each, 0, (int)(sizeof s_reals / sizeof s_reals[0]));
    tcase_add_test(tc, test_real_fy2024_fy2025_agree);
    tcase_add_test(tc, test_real_all_five);
    tcase_add_test(tc, test_real_cancel);
    suite_add_tcase(s, tc);

    tc = tcase_create("broker");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_broker_validate_crosswalk);
    suite_add_tcase(s, tc);
    return s;
}
