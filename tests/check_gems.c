/* check_gems.c: the gems loader (CMS General Equivalence Mappings) through the recording mock
 * host: hand-written excerpts of the four GEMs (rows, flags, directions told by content),
 * hostile files (each error at its file and line), emit failure, cancel, progress, and the
 * 2018 GEMs when ../shared/data is present, compared row by row with an independent reading. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "codeset/cs_plugin.h"
#include "cs_test.h"
#include "loader_test.h"
#include "mock_host.h"

static void *s_dl;
static const cs_plugin_desc_t *s_desc;

static void s_setup(void)
{
    s_desc = cs_loader_test_open("gems", &s_dl);
}

static void s_teardown(void)
{
    cs_loader_test_close(&s_dl);
    s_desc = NULL;
}

static void s_fixture(const char *name, char *out, size_t cap)
{
    cs_loader_test_fixture("gems", name, out, cap);
}

/* Load n fixture files (by name) into m; rc returned, err filled. */
static int s_load_into(cs_mock_host_t *m, const char *const *names, size_t n, cs_error_t *err)
{
    char paths[4][PATH_MAX];
    const char *files[4];
    ck_assert_uint_le(n, 4);
    for (size_t i = 0; i < n; i++) {
        s_fixture(names[i], paths[i], sizeof paths[i]);
        files[i] = paths[i];
    }
    return cs_loader_test_run(s_desc, m, files, n, err);
}

static cs_mock_host_t *s_load_ok(const char *const *names, size_t n)
{
    cs_mock_host_t *m = cs_mock_host_new(1);
    ck_assert_ptr_nonnull(m);
    cs_error_t err;
    int rc = s_load_into(m, names, n, &err);
    ck_assert_msg(rc == CS_OK, "load failed: %s:%u:%u: %s", err.file, err.line, err.column,
                  err.msg);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    return m;
}

/* Check row i of m. target NULL: a no-map row. */
static void s_row(cs_mock_host_t *m, size_t i, const char *map, const char *from,
                  const char *to, const char *source, const char *target, uint32_t flags,
                  int scenario, int choice)
{
    const cs_mock_map_row_t *r = cs_mock_host_map_row(m, i);
    ck_assert_msg(r != NULL, "no row %zu", i);
    ck_assert_str_eq(r->map, map);
    ck_assert_str_eq(r->from_system, from);
    ck_assert_str_eq(r->to_system, to);
    ck_assert_str_eq(r->source, source);
    if (target) {
        ck_assert_ptr_nonnull(r->target);
        ck_assert_str_eq(r->target, target);
    } else {
        ck_assert_ptr_null(r->target);
    }
    ck_assert_msg(r->flags == (flags | CS_MAP_GEM_FLAGS), "row %zu (%s) flags 0x%x", i, source,
                  r->flags);
    ck_assert_int_eq(r->scenario, scenario);
    ck_assert_int_eq(r->choice, choice);
    ck_assert_ptr_null(r->relationship);
}

START_TEST(test_descriptor)
{
    ck_assert_uint_eq(s_desc->abi_major, CS_ABI_MAJOR);
    ck_assert_uint_le(s_desc->abi_minor, CS_ABI_MINOR);
    ck_assert_uint_ge(s_desc->abi_minor, 1); /* ABI 1.1: map rows, or any system */
    ck_assert_uint_eq(s_desc->struct_size, sizeof(cs_plugin_desc_t));
    ck_assert_uint_eq(s_desc->kind, CS_PLUGIN_LOADER);
    ck_assert_str_eq(s_desc->name, "gems");
    ck_assert_ptr_null(s_desc->system);
    const cs_loader_ops_t *ops = s_desc->loader;
    ck_assert_ptr_nonnull(ops);
    ck_assert_str_eq(ops->systems[0], "gems");
    ck_assert_ptr_null(ops->systems[1]);
    ck_assert_uint_eq(ops->flags, CS_LOADER_MAPS);
}
END_TEST

START_TEST(test_sniff)
{
    char a[PATH_MAX];
    char b[PATH_MAX];
    char c[PATH_MAX];
    char d[PATH_MAX];
    s_fixture("dx_forward.txt", a, sizeof a);
    s_fixture("dx_backward.txt", b, sizeof b);
    s_fixture("proc_forward.txt", c, sizeof c);
    s_fixture("proc_backward.txt", d, sizeof d);
    const char *four[] = {a, b, c, d};
    ck_assert_int_eq(s_desc->loader->sniff(four, 4), 1);
    ck_assert_int_eq(s_desc->loader->sniff(four + 2, 1), 1);
    static const char *const not_gems[] = {"empty.txt", "binary.txt", "two_fields.txt",
                                           "six_digit_flags.txt", "fits_nothing.txt",
                                           "blank_only.txt"};
    for (size_t i = 0; i < sizeof not_gems / sizeof not_gems[0]; i++) {
        s_fixture(not_gems[i], b, sizeof b);
        const char *one[] = {b};
        ck_assert_msg(s_desc->loader->sniff(one, 1) == 0, "sniff took %s", not_gems[i]);
        const char *two[] = {a, b};
        ck_assert_int_eq(s_desc->loader->sniff(two, 2), 0);
    }
    cs_test_fixture_path("icd10cm-order/small.txt", b, sizeof b);
    const char *order[] = {b};
    ck_assert_int_eq(s_desc->loader->sniff(order, 1), 0);
    cs_test_fixture_path("icd10cm/mini.xml", b, sizeof b);
    ck_assert_int_eq(s_desc->loader->sniff(order, 1), 0);
    const char *missing[] = {"/nonexistent/2018_I9gem.txt"};
    ck_assert_int_eq(s_desc->loader->sniff(missing, 1), 0);
    ck_assert_int_eq(s_desc->loader->sniff(four, 0), 0);
}
END_TEST

START_TEST(test_dx_forward)
{
    static const char *const names[] = {"dx_forward.txt"};
    cs_mock_host_t *m = s_load_ok(names, 1);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 7);
    ck_assert_uint_eq(cs_mock_host_count(m), 0);
    const char *M = "icd9cm-icd10cm";
    s_row(m, 0, M, "icd9cm", "icd10cm", "0010", "A000", 0, 0, 0);
    s_row(m, 1, M, "icd9cm", "icd10cm", "25000", "E119", CS_MAP_APPROXIMATE, 0, 0);
    s_row(m, 2, M, "icd9cm", "icd10cm", "0730", "A70",
          CS_MAP_APPROXIMATE | CS_MAP_COMBINATION, 1, 1);
    s_row(m, 3, M, "icd9cm", "icd10cm", "0730", "J17",
          CS_MAP_APPROXIMATE | CS_MAP_COMBINATION, 1, 2);
    s_row(m, 4, M, "icd9cm", "icd10cm", "79989", NULL, CS_MAP_APPROXIMATE | CS_MAP_NO_MAP, 0, 0);
    s_row(m, 5, M, "icd9cm", "icd10cm", "V011", "Z201", 0, 0, 0);
    s_row(m, 6, M, "icd9cm", "icd10cm", "E8000", "V812XXA", CS_MAP_APPROXIMATE, 0, 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_four_directions)
{
    /* Given in a mixed order and under names that say nothing: content decides. */
    static const char *const names[] = {"proc_backward.txt", "dx_backward.txt",
                                        "proc_forward.txt", "dx_forward.txt"};
    cs_mock_host_t *m = s_load_ok(names, 4);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 6 + 7 + 6 + 7);
    const char *P10 = "icd10pcs-icd9pcs";
    s_row(m, 0, P10, "icd10pcs", "icd9pcs", "0016070", "0231", CS_MAP_APPROXIMATE, 0, 0);
    s_row(m, 1, P10, "icd10pcs", "icd9pcs", "0270046", "0040",
          CS_MAP_APPROXIMATE | CS_MAP_COMBINATION, 1, 2);
    /* 10001: a choice digit without the combination flag, as in the 2018 file: kept. */
    s_row(m, 3, P10, "icd10pcs", "icd9pcs", "0NDB0ZZ", "8628", CS_MAP_APPROXIMATE, 0, 1);
    s_row(m, 4, P10, "icd10pcs", "icd9pcs", "0W3P8ZZ", NULL,
          CS_MAP_APPROXIMATE | CS_MAP_NO_MAP, 0, 0);
    const char *D10 = "icd10cm-icd9cm";
    s_row(m, 6, D10, "icd10cm", "icd9cm", "A000", "0010", 0, 0, 0);
    s_row(m, 8, D10, "icd10cm", "icd9cm", "A021", "99591",
          CS_MAP_APPROXIMATE | CS_MAP_COMBINATION, 1, 2);
    s_row(m, 10, D10, "icd10cm", "icd9cm", "R29700", NULL, CS_MAP_APPROXIMATE | CS_MAP_NO_MAP,
          0, 0);
    s_row(m, 12, D10, "icd10cm", "icd9cm", "Z9989", "V469", CS_MAP_APPROXIMATE, 0, 0);
    const char *P9 = "icd9pcs-icd10pcs";
    s_row(m, 13, P9, "icd9pcs", "icd10pcs", "0001", "6A750Z4", CS_MAP_APPROXIMATE, 0, 0);
    s_row(m, 16, P9, "icd9pcs", "icd10pcs", "3584", "02S00ZZ", CS_MAP_APPROXIMATE, 1, 3);
    s_row(m, 17, P9, "icd9pcs", "icd10pcs", "0019", NULL, CS_MAP_APPROXIMATE | CS_MAP_NO_MAP,
          0, 0);
    s_row(m, 19, "icd9cm-icd10cm", "icd9cm", "icd10cm", "0010", "A000", 0, 0, 0);
    ck_assert_uint_ge(cs_mock_host_progress_calls(m), 4);
    uint64_t total = 0;
    for (size_t i = 0; i < 4; i++) {
        char path[PATH_MAX];
        struct stat st;
        s_fixture(names[i], path, sizeof path);
        ck_assert_int_eq(stat(path, &st), 0);
        total += (uint64_t)st.st_size;
    }
    ck_assert_uint_eq(cs_mock_host_progress_last(m), total);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_lf_tabs_bom)
{
    static const char *const names[] = {"lf_tabs_bom.txt"};
    cs_mock_host_t *m = s_load_ok(names, 1);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 2);
    s_row(m, 0, "icd9cm-icd10cm", "icd9cm", "icd10cm", "25000", "E119", CS_MAP_APPROXIMATE, 0,
          0);
    s_row(m, 1, "icd9cm-icd10cm", "icd9cm", "icd10cm", "25001", "E1010", CS_MAP_APPROXIMATE,
          0, 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_quirks)
{
    /* As in the 2018 files: NoI9 with the no-map digit 0 is no map; codes pass as written. */
    static const char *const names[] = {"quirks_backward.txt", "lower_case.txt"};
    cs_mock_host_t *m = s_load_ok(names, 2);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 5);
    const char *P = "icd10pcs-icd9pcs";
    s_row(m, 0, P, "icd10pcs", "icd9pcs", "02H40JZ", "3770", CS_MAP_APPROXIMATE, 0, 0);
    s_row(m, 1, P, "icd10pcs", "icd9pcs", "02H40NZ", NULL, CS_MAP_APPROXIMATE | CS_MAP_NO_MAP, 0,
          0);
    s_row(m, 2, P, "icd10pcs", "icd9pcs", "XR2G021", NULL, CS_MAP_APPROXIMATE | CS_MAP_NO_MAP, 0,
          0);
    s_row(m, 4, "icd10cm-icd9cm", "icd10cm", "icd9cm", "T8853XD", "v5889", CS_MAP_APPROXIMATE,
          0, 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_ambiguous_direction)
{
    /* ICD-9 E codes and ICD-10-CM E codes look alike: the content fits both diagnosis GEMs. */
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_error_t err;
    static const char *const plain[] = {"ambiguous.txt"};
    ck_assert_int_eq(s_load_into(m, plain, 1, &err), CS_EMALFORMED);
    ck_assert_str_eq(err.file, "ambiguous.txt");
    ck_assert_msg(strstr(err.msg, "cannot tell which GEM") &&
                      strstr(err.msg, "ICD-9-CM to ICD-10-CM") &&
                      strstr(err.msg, "ICD-10-CM to ICD-9-CM"),
                  "%s", err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
    cs_mock_host_destroy(&m);
    /* A CMS name breaks the tie. */
    static const char *const named[] = {"2018_I10gem_ambiguous.txt"};
    m = s_load_ok(named, 1);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 2);
    s_row(m, 1, "icd10cm-icd9cm", "icd10cm", "icd9cm", "E8401", "E8401", CS_MAP_APPROXIMATE, 0,
          0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_same_map_twice)
{
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_error_t err;
    static const char *const names[] = {"same_twice_a.txt", "same_twice_b.txt"};
    ck_assert_int_eq(s_load_into(m, names, 2, &err), CS_EINVAL);
    ck_assert_msg(strstr(err.msg, "same_twice_a.txt") && strstr(err.msg, "same_twice_b.txt"),
                  "%s", err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
    cs_mock_host_destroy(&m);
}
END_TEST

/* A hostile fixture: file, expected code, line and column (0: any), words of the message. */
typedef struct s_bad {
    const char *file;
    int rc;
    unsigned line;
    unsigned column;
    const char *want;
} s_bad_t;

static const s_bad_t s_bads[] = {
    {"two_fields.txt", CS_EMALFORMED, 3, 0, "line has 2 fields, expected 3"},
    {"six_digit_flags.txt", CS_EMALFORMED, 2, 15, "flags '100000' are not 5 digits"},
    {"letter_in_flags.txt", CS_EMALFORMED, 2, 15, "flags '1000x' are not 5 digits"},
    {"four_fields.txt", CS_EMALFORMED, 1, 21, "line has 4 fields"},
    {"flag_not_binary.txt", CS_EMALFORMED, 2, 15, "approximate flag (digit 1 of '20000') is 2"},
    {"no_map_with_target.txt", CS_EMALFORMED, 2, 7, "no-map flag is set but the target is "
                                                    "the code 'E119'"},
    {"no_map_combination.txt", CS_EMALFORMED, 2, 17, "combination flag is set on a row without "
                                                     "a target"},
    {"combination_no_scenario.txt", CS_EMALFORMED, 2, 18, "the scenario digit is 0"},
    {"wrong_way.txt", CS_EMALFORMED, 3, 1, "source 'A000' is not an ICD-9-CM diagnosis code"},
    {"fits_nothing.txt", CS_EMALFORMED, 1, 1, "fit none of the four GEMs"},
    {"empty_inside.txt", CS_EMALFORMED, 2, 1, "empty line before the end"},
    {"empty.txt", CS_EMALFORMED, 1, 0, "holds no GEM lines"},
    {"blank_only.txt", CS_EMALFORMED, 2, 0, "holds no GEM lines"},
    {"binary.txt", CS_EMALFORMED, 2, 1, "byte 0x00 is not text"},
    {"long_line.txt", CS_EMALFORMED, 1, 257, "longer than 256 characters"},
};

START_TEST(test_hostile)
{
    const s_bad_t *b = &s_bads[_i];
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_error_t err;
    const char *names[] = {b->file};
    int rc = s_load_into(m, names, 1, &err);
    ck_assert_msg(rc == b->rc, "%s: rc %d, expected %d (%s)", b->file, rc, b->rc, err.msg);
    ck_assert_int_eq(err.code, b->rc);
    ck_assert_str_eq(err.file, b->file);
    ck_assert_msg(err.line == b->line, "%s: line %u, expected %u (%s)", b->file, err.line,
                  b->line, err.msg);
    ck_assert_msg(b->column == 0 || err.column == b->column, "%s: column %u, expected %u (%s)",
                  b->file, err.column, b->column, err.msg);
    ck_assert_msg(strstr(err.msg, b->want) != NULL, "%s: message lacks \"%s\": \"%s\"", b->file,
                  b->want, err.msg);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_hostile_after_good_file)
{
    /* The error names the bad file, not the good one before it; the good rows came first. */
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_error_t err;
    static const char *const names[] = {"proc_forward.txt", "two_fields.txt"};
    ck_assert_int_eq(s_load_into(m, names, 2, &err), CS_EMALFORMED);
    ck_assert_str_eq(err.file, "two_fields.txt");
    ck_assert_uint_eq(err.line, 3);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 6 + 2);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_bad_arguments)
{
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_error_t err;
    const char *none[] = {NULL};
    ck_assert_int_eq(cs_loader_test_run(s_desc, m, none, 1,
                                          &err),
                     CS_EINVAL);
    ck_assert_int_eq(cs_loader_test_run(s_desc, m, none, 0,
                                          &err),
                     CS_EINVAL);
    const char *missing[] = {"/nonexistent/2018_I9gem.txt"};
    ck_assert_int_eq(cs_loader_test_run(s_desc, m, missing, 1,
                                          &err),
                     CS_EIO);
    ck_assert_str_eq(err.file, "2018_I9gem.txt");
    /* A host built for ABI 1.0 has no emit_map: refused before anything is read. */
    cs_host_api_t old = *cs_mock_host_api(m);
    old.struct_size = (uint32_t)offsetof(cs_host_api_t, emit_map);
    char path[PATH_MAX];
    s_fixture("dx_forward.txt", path, sizeof path);
    const char *files[] = {path};
    ck_assert_int_eq(s_desc->loader->load(&old, cs_mock_host_sink(m), files, 1, &err),
                     CS_EINVAL);
    ck_assert_msg(strstr(err.msg, "emit_map") != NULL, "%s", err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_emit_failure)
{
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_mock_host_fail_emit(m, 3, CS_ESPACE);
    cs_error_t err;
    static const char *const names[] = {"dx_forward.txt"};
    ck_assert_int_eq(s_load_into(m, names, 1, &err), CS_ESPACE);
    ck_assert_int_eq(err.code, CS_ESPACE);
    ck_assert_msg(strstr(err.msg, "fails on purpose") != NULL, "%s", err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 2);
    cs_mock_host_destroy(&m);
}
END_TEST

/* Write a GEM of n lines to a new file under dir; returns its path in out. */
static void s_write_big(const char *dir, size_t n, char *out, size_t cap)
{
    snprintf(out, cap, "%s/big_I9gem.txt", dir);
    FILE *fp = fopen(out, "wb");
    ck_assert_ptr_nonnull(fp);
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "%05zu A%03zu    10000\r\n", i % 100000, i % 1000);
    }
    ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_cancel)
{
    char dir[PATH_MAX];
    char path[PATH_MAX];
    cs_test_tmpdir(dir, sizeof dir);
    s_write_big(dir, 20000, path, sizeof path);
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_mock_host_cancel_after(m, 2);
    const char *files[] = {path};
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_loader_test_run(s_desc, m, files, 1, &err);
    ck_assert_int_eq(rc, CS_ETERM);
    ck_assert_str_eq(err.file, "big_I9gem.txt");
    ck_assert_uint_gt(err.line, 0);
    ck_assert_uint_lt(cs_mock_host_map_count(m), 20000);
    ck_assert_uint_ge(cs_mock_host_progress_calls(m), 1);
    cs_mock_host_destroy(&m);

    m = cs_mock_host_new(0);
    rc = cs_loader_test_run(s_desc, m, files, 1, &err);
    ck_assert_int_eq(rc, CS_OK);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 20000);
    ck_assert_uint_ge(cs_mock_host_progress_calls(m), 4);
    cs_mock_host_destroy(&m);
    cs_test_rmtree(dir);
}
END_TEST

/* ---- the 2018 GEMs -------------------------------------------------------------------- */

/* One official file and what it must give. */
typedef struct s_real {
    const char *name;  /* under gems/2018/ */
    const char *map;   /* map id */
    const char *from;  /* source system */
    const char *to;    /* target system */
    size_t lines;      /* lines (= rows), as the data README says */
    size_t no_map_word_quirks; /* lines with a no-map word but the no-map digit 0 */
} s_real_t;

static const s_real_t s_reals[] = {
    {"2018_I9gem.txt", "icd9cm-icd10cm", "icd9cm", "icd10cm", 24860, 0},
    {"2018_I10gem.txt", "icd10cm-icd9cm", "icd10cm", "icd9cm", 81593, 0},
    {"2018_gem_pcs_I9I10.txt", "icd9pcs-icd10pcs", "icd9pcs", "icd10pcs", 73593, 0},
    {"2018_gem_pcs_I10I9.txt", "icd10pcs-icd9pcs", "icd10pcs", "icd9pcs", 101025, 29},
};

/* Compare rows [first, first + lines) of m with the file, read here with sscanf. */
static void s_compare_file(cs_mock_host_t *m, size_t first, const char *path, const s_real_t *r)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    char line[256];
    size_t n = 0;
    size_t quirks = 0;
    while (fgets(line, sizeof line, fp)) {
        char src[16];
        char dst[16];
        char fl[16];
        ck_assert_msg(sscanf(line, "%15s %15s %15s", src, dst, fl) == 3, "%s:%zu unreadable",
                      r->name, n + 1);
        ck_assert_uint_eq(strlen(fl), 5);
        const cs_mock_map_row_t *row = cs_mock_host_map_row(m, first + n);
        ck_assert_msg(row != NULL, "%s:%zu has no row", r->name, n + 1);
        ck_assert_str_eq(row->map, r->map);
        ck_assert_str_eq(row->from_system, r->from);
        ck_assert_str_eq(row->to_system, r->to);
        ck_assert_msg(strcmp(row->source, src) == 0, "%s:%zu source %s, row %s", r->name, n + 1,
                      src, row->source);
        /* "NoI9  10000" (29 lines of the ICD-10-PCS GEM) is no map as well. */
        int no_map = fl[1] == '1' || strncmp(dst, "No", 2) == 0;
        if (no_map && fl[1] == '0') {
            quirks++;
        }
        uint32_t want = CS_MAP_GEM_FLAGS | (fl[0] == '1' ? CS_MAP_APPROXIMATE : 0) |
                        (no_map ? CS_MAP_NO_MAP : 0) | (fl[2] == '1' ? CS_MAP_COMBINATION : 0);
        ck_assert_msg(row->flags == want, "%s:%zu flags %s, row 0x%x", r->name, n + 1, fl,
                      row->flags);
        if (no_map) {
            ck_assert_msg(row->target == NULL, "%s:%zu no map, but target %s", r->name, n + 1,
                          row->target);
        } else {
            ck_assert_msg(row->target && strcmp(row->target, dst) == 0,
                          "%s:%zu target %s, row %s", r->name, n + 1, dst,
                          row->target ? row->target : "(null)");
        }
        ck_assert_int_eq(row->scenario, fl[3] - '0');
        ck_assert_int_eq(row->choice, fl[4] - '0');
        ck_assert_ptr_null(row->relationship);
        n++;
    }
    fclose(fp);
    ck_assert_msg(n == r->lines, "%s has %zu lines, expected %zu", r->name, n, r->lines);
    ck_assert_uint_eq(quirks, r->no_map_word_quirks);
}

/* A host that only counts rows: the loader's own cost, without the mock's copies. */
static int s_count_row(cs_sink_t *sink, const cs_map_row_t *row, cs_error_t *err)
{
    (void)row;
    (void)err;
    (*(size_t *)sink)++;
    return CS_OK;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_2018_each)
{
    const s_real_t *r = &s_reals[_i];
    char rel[128];
    char path[PATH_MAX];
    snprintf(rel, sizeof rel, "gems/2018/%s", r->name);
    CS_SKIP_UNLESS_DATA(cs_test_data_path(rel, path, sizeof path), rel);
    cs_mock_host_t *m = cs_mock_host_new(0);
    const char *files[] = {path};
    cs_error_t err;
    cs_error_clear(&err);
    double t0 = s_now();
    int rc = cs_loader_test_run(s_desc, m, files, 1, &err);
    double t1 = s_now();
    ck_assert_msg(rc == CS_OK, "%s:%u:%u: %s", err.file, err.line, err.column, err.msg);
    cs_host_api_t counting = {.struct_size = sizeof(cs_host_api_t), .emit_map = s_count_row};
    size_t counted = 0;
    double t2 = s_now();
    ck_assert_int_eq(s_desc->loader->load(&counting, (cs_sink_t *)&counted, files, 1, &err),
                     CS_OK);
    double t3 = s_now();
    ck_assert_uint_eq(counted, r->lines);
    fprintf(stderr, "gems: %s: %zu rows in %.1f ms (mock host), %.1f ms (counting host)\n",
            r->name, cs_mock_host_map_count(m), (t1 - t0) * 1e3, (t3 - t2) * 1e3);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    ck_assert_uint_eq(cs_mock_host_map_count(m), r->lines);
    s_compare_file(m, 0, path, r);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(cs_mock_host_progress_last(m), (uint64_t)st.st_size);
    const char *one[] = {path};
    ck_assert_int_eq(s_desc->loader->sniff(one, 1), 1);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_2018_all_four)
{
    char paths[4][PATH_MAX];
    const char *files[4];
    for (size_t i = 0; i < 4; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "gems/2018/%s", s_reals[3 - i].name);
        CS_SKIP_UNLESS_DATA(cs_test_data_path(rel, paths[i], sizeof paths[i]), rel);
        files[i] = paths[i];
    }
    ck_assert_int_eq(s_desc->loader->sniff(files, 4), 1);
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_loader_test_run(s_desc, m, files, 4, &err);
    ck_assert_msg(rc == CS_OK, "%s:%u:%u: %s", err.file, err.line, err.column, err.msg);
    size_t first = 0;
    for (size_t i = 0; i < 4; i++) {
        s_compare_file(m, first, paths[i], &s_reals[3 - i]);
        first += s_reals[3 - i].lines;
    }
    ck_assert_uint_eq(cs_mock_host_map_count(m), 24860 + 81593 + 73593 + 101025);
    /* 250.00 (diabetes without complication) -> E11.9, approximate, single target. */
    size_t hits = 0;
    for (size_t i = 0; i < cs_mock_host_map_count(m); i++) {
        const cs_mock_map_row_t *row = cs_mock_host_map_row(m, i);
        if (strcmp(row->map, "icd9cm-icd10cm") == 0 && strcmp(row->source, "25000") == 0) {
            ck_assert_str_eq(row->target, "E119");
            ck_assert_uint_eq(row->flags, CS_MAP_GEM_FLAGS | CS_MAP_APPROXIMATE);
            ck_assert_int_eq(row->scenario, 0);
            ck_assert_int_eq(row->choice, 0);
            hits++;
        }
    }
    ck_assert_uint_eq(hits, 1);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_2018_cancel)
{
    char path[PATH_MAX];
    CS_SKIP_UNLESS_DATA(cs_test_data_path("gems/2018/2018_gem_pcs_I10I9.txt", path, sizeof path),
                        "gems/2018/2018_gem_pcs_I10I9.txt");
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_mock_host_cancel_after(m, 3);
    const char *files[] = {path};
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_loader_test_run(s_desc, m, files, 1, &err);
    ck_assert_int_eq(rc, CS_ETERM);
    ck_assert_str_eq(err.file, "2018_gem_pcs_I10I9.txt");
    ck_assert_uint_eq(err.line, 3 * 4096);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 3 * 4096);
    cs_mock_host_destroy(&m);
}
END_TEST

Suite *cs_gems_suite(void);
Suite *cs_gems_suite(void)
{
    Suite *s = suite_create("gems");
    TCase *tc = tcase_create("fixtures");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_dx_forward);
    tcase_add_test(tc, test_four_directions);
    tcase_add_test(tc, test_lf_tabs_bom);
    tcase_add_test(tc, test_quirks);
    tcase_add_test(tc, test_ambiguous_direction);
    tcase_add_test(tc, test_same_map_twice);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_loop_test(tc, test_hostile, 0, (int)(sizeof s_bads / sizeof s_bads[0]));
    tcase_add_test(tc, test_hostile_after_good_file);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_emit_failure);
    tcase_add_test(tc, test_cancel);
    suite_add_tcase(s, tc);

    tc = tcase_create("2018");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_2018_each, 0, (int)(sizeof s_reals / sizeof s_reals[0]));
    tcase_add_test(tc, test_2018_all_four);
    tcase_add_test(tc, test_2018_cancel);
    suite_add_tcase(s, tc);
    return s;
}
