/* check_icd9pcs.c: the ICD-9-CM procedures system plugin, loaded through the plugin host:
 * normalize() on codes and hostile input, looks_like_code(), and every code of the procedure
 * GEMs (with the icd10pcs plugin for the ICD-10-PCS side) when ../shared/data is present. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_test.h"
#include "load/cs_plugin_host.h"
#include "plugin_test.h"

static const cs_system_ops_t *s_ops;
static const cs_system_ops_t *s_icd10pcs; /* the other side of the GEMs */

static void s_setup(void)
{
    s_ops = cs_plugin_test_use("icd9pcs");
}

static void s_setup_gems(void)
{
    s_setup();
    s_icd10pcs = cs_plugin_test_load(cs_plugin_test_host(), "icd10pcs")->system;
}

static void s_teardown(void)
{
    cs_plugin_test_teardown();
    s_ops = NULL;
    s_icd10pcs = NULL;
}

static void s_ok_n(const char *in, size_t len, const char *key, const char *display)
{
    cs_plugin_test_ok(s_ops, in, len, CS_CLASS_CODE, key, display);
}

static void s_code(const char *in, const char *key, const char *display)
{
    s_ok_n(in, strlen(in), key, display);
}

/* ---- descriptor ------------------------------------------------------------------------ */

START_TEST(test_descriptor)
{
    static const char *const kinds[] = {"category", "subcategory", "code", NULL};
    cs_plugin_test_descriptor(cs_plugin_test_desc(), "icd9pcs", "ICD-9-CM volume 3 (procedures)",
                              kinds);
}
END_TEST

/* ---- codes ----------------------------------------------------------------------------- */

START_TEST(test_codes)
{
    s_code("36.06", "3606", "36.06");
    s_code("3606", "3606", "36.06");
    s_code("36.0", "360", "36.0");
    s_code("360", "360", "36.0");
    s_code("36", "36", "36");
    s_code("00.01", "0001", "00.01");
    s_code("0001", "0001", "00.01");
    s_code("01.6", "016", "01.6");
    s_code("89.8", "898", "89.8");
    s_code("99.99", "9999", "99.99");
}
END_TEST

START_TEST(test_white_space)
{
    s_code(" 36.06 ", "3606", "36.06");
    s_code("\t3606\r\n", "3606", "36.06");
    s_code("  \r\n\t 36\n", "36", "36");
    cs_plugin_test_refuse("36 .06",
                          "'36 .06': white space inside a code is not allowed (position 3)");
    cs_plugin_test_refuse("36. 06", "white space inside a code is not allowed (position 4)");
    /* other white space is not surrounding white space */
    cs_plugin_test_refuse("\v3606",
                          "'\\x0B3606': '\\x0B' (position 1) is not allowed in an ICD-9-CM "
                          "procedure code");
}
END_TEST

START_TEST(test_code_errors)
{
    cs_plugin_test_refuse("", "'': empty code");
    cs_plugin_test_refuse("   ", "empty code (only white space)");
    cs_plugin_test_refuse(" \t\r\n", "'");
    /* the GEMs placeholder */
    cs_plugin_test_refuse("NoPCS",
                          "'NoPCS' is the GEMs mark for a procedure without a map, not an "
                          "ICD-9-CM procedure code");
    cs_plugin_test_refuse("nopcs", "is the GEMs mark for a procedure without a map");
    cs_plugin_test_refuse("NoI9", "'NoI9' is the GEMs mark for a procedure without a map");
    cs_plugin_test_refuse(" noi9\n", "'noi9' is the GEMs mark");
    /* digits only */
    cs_plugin_test_refuse("V36",
                          "'V36': the letter 'V' (position 1) is not allowed; ICD-9-CM procedure "
                          "codes are digits only");
    cs_plugin_test_refuse("36a6", "the letter 'A' (position 3) is not allowed");
    cs_plugin_test_refuse("NoDx", "the letter 'N' (position 1)");
    /* lengths */
    cs_plugin_test_refuse("3",
                          "'3' is too short: an ICD-9-CM procedure code is 2 digits, then up to "
                          "2 decimals");
    cs_plugin_test_refuse("3.", "is too short");
    cs_plugin_test_refuse(".", "is too short");
    cs_plugin_test_refuse("36061", "'36061': too long (5 digits; at most 4)");
    cs_plugin_test_refuse("36.061", "too long (5 digits; at most 4)");
    /* dots */
    cs_plugin_test_refuse("36.0.6", "'36.0.6': more than one dot");
    cs_plugin_test_refuse("36..06", "more than one dot");
    cs_plugin_test_refuse("360.6", "'360.6': the dot goes after the second character (36.06)");
    cs_plugin_test_refuse("3.606", "the dot goes after the second character (36.06)");
    cs_plugin_test_refuse(".36", "the dot goes after the second character (36)");
    cs_plugin_test_refuse("360.", "the dot goes after the second character (36.0)");
    cs_plugin_test_refuse("36.", "'36.': nothing after the dot (write 36)");
    /* other punctuation */
    cs_plugin_test_refuse("36-06",
                          "'36-06': '-' (position 3) is not allowed in an ICD-9-CM procedure code");
    cs_plugin_test_refuse("36,06", "',' (position 3) is not allowed");
    cs_plugin_test_refuse("36'", "'36\\'': '\\'' (position 3) is not allowed");
    cs_plugin_test_refuse("36\\", "'36\\\\'");
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* NUL inside: never raw in the message, never the end of the input */
    cs_plugin_test_bad(s_ops, "36\0" "06", 5, "'36\\x0006': '\\x00' (position 3) is not allowed");
    cs_plugin_test_bad(s_ops, "\0", 1, "'\\x00'");
    cs_plugin_test_bad(s_ops, "36.06\0", 6, "'\\x00' (position 6)");
    /* non-ASCII: UTF-8 digits are not code digits */
    cs_plugin_test_refuse("36\xd9\xa6", "'36\\xD9\\xA6': '\\xD9' (position 3) is not allowed");
    cs_plugin_test_refuse("3606\xff", "'\\xFF' (position 5) is not allowed");
    cs_plugin_test_refuse("\x1b[31m36", "'\\x1B[31m36'");
    /* every single byte in the third place: accepted iff a digit or the dot */
    for (int c = 0; c < 256; c++) {
        char in[4] = {'3', '6', (char)c, '6'};
        cs_code_t out;
        cs_error_t err;
        int rc = cs_plugin_test_try(in, sizeof in, &out, &err);
        int ok = (c >= '0' && c <= '9') || c == '.';
        ck_assert_msg((rc == CS_OK) == ok, "byte 0x%02x: %d", c, rc);
        for (const char *m = err.msg; *m; m++) {
            ck_assert_msg(*m >= 0x20 && *m < 0x7f, "byte 0x%02x: raw byte in message", c);
        }
    }
    /* no NUL terminator: the input is exactly len bytes (s_norm copies to an exact buffer) */
    s_ok_n("36.06XXXX", 5, "3606", "36.06");
    s_ok_n("3606", 2, "36", "36");
}
END_TEST

START_TEST(test_long_input)
{
    cs_plugin_test_long_input(s_ops, '3', '3', "too long (1048576 digits; at most 4)", "36.06",
                              "3606", "36.06", 3606);
}
END_TEST

START_TEST(test_null_args)
{
    cs_plugin_test_null_args(s_ops, "icd9pcs", "3", "NoPCS", "3606");
}
END_TEST

/* ---- looks_like_code ------------------------------------------------------------------- */

START_TEST(test_looks_like_code)
{
    ck_assert_int_eq(cs_plugin_test_looks("36.06"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("3606"), 1);
    ck_assert_int_eq(cs_plugin_test_looks(" 36. "), 1);
    ck_assert_int_eq(cs_plugin_test_looks("36"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("36.0"), 1);

    ck_assert_int_eq(cs_plugin_test_looks("stent"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("36 stent"), 0);
    ck_assert_int_eq(cs_plugin_test_looks(""), 0);
    ck_assert_int_eq(cs_plugin_test_looks("   "), 0);
    ck_assert_int_eq(cs_plugin_test_looks("3"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("3."), 0);
    ck_assert_int_eq(cs_plugin_test_looks("NoPCS"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("NoI9"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("36061"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("360.6"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("36.0.6"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("V36"), 0);
    ck_assert_int_eq(s_ops->looks_like_code("36\0", 3), 0);
    /* len is respected */
    ck_assert_int_eq(s_ops->looks_like_code("36.06 stent", 5), 1);
    ck_assert_int_eq(s_ops->looks_like_code("36", 1), 0);
}
END_TEST

/* ---- the procedure GEMs ---------------------------------------------------------------- */

/* A GEMs file: which side is ICD-9-CM procedures, and what it holds. */
static const struct {
    const char *rel;         /* under ../shared/data */
    int icd9_source;         /* 1: ICD-9-CM -> ICD-10-PCS; 0: ICD-10-PCS -> ICD-9-CM */
    const char *placeholder; /* the target this file writes for "no map" */
    size_t rows;             /* lines, one source code each */
    size_t no_map;           /* rows whose target is the placeholder */
} s_gems[] = {
    {"gems/2018/2018_gem_pcs_I9I10.txt", 1, "NoPCS", 73593, 210},
    {"gems/2018/2018_gem_pcs_I10I9.txt", 0, "NoI9", 101025, 31},
};

/* Normalize code under ops: it must be accepted as a code whose key is the code itself (the
 * GEMs write codes in upper case, without the dot). */
static void s_gem_code(const cs_system_ops_t *ops, const char *code, const char *where)
{
    cs_code_t out;
    cs_error_t err;
    /* plain checks with ck_abort_msg: a passing ck_assert costs a write to the runner */
    if (cs_plugin_test_norm(ops, code, strlen(code), &out, &err) != CS_OK) {
        ck_abort_msg("%s: %s", where, err.msg);
    }
    if (out.cls != CS_CLASS_CODE || strcmp(out.key, code) != 0) {
        ck_abort_msg("%s: %s became %s", where, code, out.key);
    }
}

/* Every source and target code of a GEMs file (whitespace-separated: source, target, 5-digit
 * flags) normalizes under its system, except the no-map placeholder, which both refuse. */
START_TEST(test_gems_file)
{
    char path[PATH_MAX];
    const char *rel = s_gems[_i].rel;
    CS_SKIP_UNLESS_DATA(cs_test_data_path(rel, path, sizeof path), rel);
    const cs_system_ops_t *from = s_gems[_i].icd9_source ? s_ops : s_icd10pcs;
    const cs_system_ops_t *to = s_gems[_i].icd9_source ? s_icd10pcs : s_ops;
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    char line[256];
    size_t rows = 0;
    size_t sources = 0;
    size_t targets = 0;
    size_t no_map = 0;
    while (fgets(line, sizeof line, fp)) {
        rows++;
        char source[16];
        char target[16];
        char flags[16];
        char where[PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%zu", rel, rows);
        if (sscanf(line, "%15s %15s %15s", source, target, flags) != 3 || strlen(flags) != 5 ||
            strspn(flags, "0123456789") != 5) {
            ck_abort_msg("%s: not a GEMs row", where);
        }
        s_gem_code(from, source, where);
        sources++;
        if (strcmp(target, s_gems[_i].placeholder) == 0) {
            cs_code_t out;
            cs_error_t err;
            size_t n = strlen(target);
            ck_assert_int_eq(cs_plugin_test_norm(to, target, n, &out, &err), CS_EMALFORMED);
            ck_assert_ptr_nonnull(strstr(err.msg, "is the GEMs mark for a procedure without"));
            ck_assert_int_eq(cs_plugin_test_norm(s_ops, target, n, &out, &err), CS_EMALFORMED);
            no_map++;
            continue;
        }
        s_gem_code(to, target, where);
        targets++;
    }
    fclose(fp);
    ck_assert_uint_eq(rows, s_gems[_i].rows);
    ck_assert_uint_eq(sources, s_gems[_i].rows);
    ck_assert_uint_eq(no_map, s_gems[_i].no_map);
    ck_assert_uint_eq(targets, s_gems[_i].rows - s_gems[_i].no_map);
}
END_TEST

Suite *cs_icd9pcs_suite(void);
Suite *cs_icd9pcs_suite(void)
{
    Suite *s = suite_create("icd9pcs");

    TCase *tc = tcase_create("normalize");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_codes);
    tcase_add_test(tc, test_white_space);
    tcase_add_test(tc, test_code_errors);
    tcase_add_test(tc, test_hostile_bytes);
    tcase_add_test(tc, test_long_input);
    tcase_add_test(tc, test_null_args);
    suite_add_tcase(s, tc);

    tc = tcase_create("looks_like_code");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_looks_like_code);
    suite_add_tcase(s, tc);

    tc = tcase_create("GEMs");
    tcase_add_checked_fixture(tc, s_setup_gems, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gems_file, 0, (int)(sizeof s_gems / sizeof s_gems[0]));
    suite_add_tcase(s, tc);
    return s;
}
