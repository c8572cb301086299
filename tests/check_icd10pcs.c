/* check_icd10pcs.c: the ICD-10-PCS system plugin, loaded through the plugin host: normalize() on
 * codes, table headers and hostile input, looks_like_code(), and every code of the official
 * order files when ../shared/data is present. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_test.h"
#include "load/cs_plugin_host.h"
#include "plugin_test.h"

static const cs_system_ops_t *s_ops;

static void s_setup(void)
{
    s_ops = cs_plugin_test_use("icd10pcs");
}

static void s_teardown(void)
{
    cs_plugin_test_teardown();
    s_ops = NULL;
}

/* normalize accepts in[0..len) as a code (or table) whose key and display are both want. */
static void s_ok_n(const char *in, size_t len, const char *want)
{
    cs_plugin_test_ok(s_ops, in, len, CS_CLASS_CODE, want, want);
}

static void s_code(const char *in, const char *want)
{
    s_ok_n(in, strlen(in), want);
}

/* ---- descriptor ------------------------------------------------------------------------ */

START_TEST(test_descriptor)
{
    static const char *const kinds[] = {"section", "body_system", "table", "code", NULL};
    cs_plugin_test_descriptor(cs_plugin_test_desc(), "icd10pcs", "ICD-10-PCS (procedures)", kinds);
}
END_TEST

/* ---- codes and tables ------------------------------------------------------------------ */

START_TEST(test_codes)
{
    s_code("0DT30ZZ", "0DT30ZZ");
    s_code("0dt30zz", "0DT30ZZ");
    s_code("0Dt30Zz", "0DT30ZZ");
    s_code("0016070", "0016070");
    s_code("027034Z", "027034Z");
    /* one code of every section */
    s_code("10D00Z1", "10D00Z1");
    s_code("2W0UX0Z", "2W0UX0Z");
    s_code("3E0234Z", "3E0234Z");
    s_code("4A02X4Z", "4A02X4Z");
    s_code("5A1955Z", "5A1955Z");
    s_code("6A750Z4", "6A750Z4");
    s_code("7W00X0Z", "7W00X0Z");
    s_code("8E0W4CZ", "8E0W4CZ");
    s_code("9WB0XBZ", "9WB0XBZ");
    s_code("bw03zzz", "BW03ZZZ");
    s_code("CW70NZZ", "CW70NZZ");
    s_code("D0010ZZ", "D0010ZZ");
    s_code("F00ZHYZ", "F00ZHYZ");
    s_code("GZ10ZZZ", "GZ10ZZZ");
    s_code("HZ2ZZZZ", "HZ2ZZZZ");
    s_code("xw033e5", "XW033E5");
    /* letters only */
    s_code("DHYBFZZ", "DHYBFZZ");
}
END_TEST

START_TEST(test_tables)
{
    /* the tables loader emits each 3-character table as a header entry */
    s_code("0DT", "0DT");
    s_code("0dt", "0DT");
    s_code("001", "001");
    s_code("XW0", "XW0");
    s_code("dhy", "DHY");
    s_code(" 0DT\n", "0DT");
}
END_TEST

START_TEST(test_white_space)
{
    s_code(" 0DT30ZZ ", "0DT30ZZ");
    s_code("\t0DT30ZZ\r\n", "0DT30ZZ");
    s_code("  \r\n\t 0dt30zz\n", "0DT30ZZ");
    cs_plugin_test_refuse("0DT 30ZZ",
                          "'0DT 30ZZ': white space inside a code is not allowed (position 4)");
    cs_plugin_test_refuse("0DT30Z Z", "white space inside a code is not allowed (position 7)");
    cs_plugin_test_refuse("0\tDT30ZZ", "white space inside");
    /* other white space is not surrounding white space */
    cs_plugin_test_refuse("\v0DT30ZZ",
                          "'\\x0B0DT30ZZ': '\\x0B' (position 1) is not allowed in an ICD-10-PCS "
                          "code");
}
END_TEST

START_TEST(test_code_errors)
{
    cs_plugin_test_refuse("", "'': empty code");
    cs_plugin_test_refuse("   ", "empty code (only white space)");
    cs_plugin_test_refuse(" \t\r\n", "'");
    /* lengths around 3 and 7 */
    cs_plugin_test_refuse("0", "'0' is too short: an ICD-10-PCS code has 7 characters (a table 3)");
    cs_plugin_test_refuse("0D", "'0D' is too short");
    cs_plugin_test_refuse("0DT3", "'0DT3' is too short");
    cs_plugin_test_refuse("0DT30", "is too short");
    cs_plugin_test_refuse("0DT30Z", "'0DT30Z' is too short: an ICD-10-PCS code has 7 characters");
    cs_plugin_test_refuse("0DT30ZZZ",
                          "'0DT30ZZZ': too long (8 characters; an ICD-10-PCS code has 7)");
    cs_plugin_test_refuse("0DT30ZZ0DT30ZZ", "too long (14 characters");
    /* I and O are never used */
    cs_plugin_test_refuse("0DTI0ZZ",
                          "'0DTI0ZZ': the letter 'I' (position 4) is never used in ICD-10-PCS, "
                          "which leaves out I and O");
    cs_plugin_test_refuse("0dt30zo", "the letter 'O' (position 7) is never used in ICD-10-PCS");
    cs_plugin_test_refuse("ODT30ZZ", "the letter 'O' (position 1) is never used");
    cs_plugin_test_refuse("0Di", "the letter 'I' (position 3)");
    /* no dot, no dash, no other punctuation */
    cs_plugin_test_refuse("0DT.30ZZ", "'0DT.30ZZ': ICD-10-PCS codes have no dot (position 4)");
    cs_plugin_test_refuse("0DT30ZZ.", "have no dot (position 8)");
    cs_plugin_test_refuse(".", "have no dot (position 1)");
    cs_plugin_test_refuse("0DT-30ZZ",
                          "'0DT-30ZZ': '-' (position 4) is not allowed in an ICD-10-PCS code");
    cs_plugin_test_refuse("0DT30Z*", "'*' (position 7) is not allowed");
    cs_plugin_test_refuse("0DT30Z_", "'_' (position 7)");
    cs_plugin_test_refuse("0DT'0ZZ", "'0DT\\'0ZZ': '\\'' (position 4) is not allowed");
    cs_plugin_test_refuse("0DT\\0ZZ", "'0DT\\\\0ZZ'");
    /* sections */
    cs_plugin_test_refuse("ADT30ZZ",
                          "'ADT30ZZ': no ICD-10-PCS section starts with 'A' (sections are 0-9, "
                          "B, C, D, F, G, H and X)");
    cs_plugin_test_refuse("eW03ZZZ", "no ICD-10-PCS section starts with 'E'");
    cs_plugin_test_refuse("ZZZ", "no ICD-10-PCS section starts with 'Z'");
    cs_plugin_test_refuse("J0D", "starts with 'J'");
    /* the GEMs placeholder */
    cs_plugin_test_refuse("NoPCS",
                          "'NoPCS' is the GEMs mark for a procedure without a map, not an "
                          "ICD-10-PCS code");
    cs_plugin_test_refuse("nopcs", "is the GEMs mark");
    cs_plugin_test_refuse("NoPC", "the letter 'O' (position 2) is never used");
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* NUL inside: never raw in the message, never the end of the input */
    cs_plugin_test_bad(s_ops, "0DT\0" "0ZZ", 7,
                       "'0DT\\x000ZZ': '\\x00' (position 4) is not allowed");
    cs_plugin_test_bad(s_ops, "\0", 1, "'\\x00'");
    cs_plugin_test_bad(s_ops, "0DT30ZZ\0", 8, "'\\x00' (position 8)");
    /* non-ASCII: UTF-8 letters are not code letters */
    cs_plugin_test_refuse("0DT\xc3\x89" "0ZZ",
                          "'0DT\\xC3\\x890ZZ': '\\xC3' (position 4) is not allowed");
    cs_plugin_test_refuse("0DT30Z\xff", "'\\xFF' (position 7) is not allowed");
    cs_plugin_test_refuse("\x1b[31m0DT", "'\\x1B[31m0DT'");
    /* every single byte in the fourth place: accepted iff an ICD-10-PCS character */
    for (int c = 0; c < 256; c++) {
        char in[7] = {'0', 'D', 'T', (char)c, '0', 'Z', 'Z'};
        cs_code_t out;
        cs_error_t err;
        int rc = cs_plugin_test_try(in, sizeof in, &out, &err);
        int letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        int banned = c == 'I' || c == 'O' || c == 'i' || c == 'o';
        int pcs = (c >= '0' && c <= '9') || (letter && !banned);
        ck_assert_msg((rc == CS_OK) == pcs, "byte 0x%02x: %d", c, rc);
        for (const char *m = err.msg; *m; m++) {
            ck_assert_msg(*m >= 0x20 && *m < 0x7f, "byte 0x%02x: raw byte in message", c);
        }
    }
    /* no NUL terminator: the input is exactly len bytes (s_norm copies to an exact buffer) */
    s_ok_n("0DT30ZZXXXX", 7, "0DT30ZZ");
    s_ok_n("0DT30ZZ", 3, "0DT");
}
END_TEST

START_TEST(test_long_input)
{
    cs_plugin_test_long_input(s_ops, '0', '0',
                              "too long (1048576 characters; an ICD-10-PCS code has 7)", "0dt30zz",
                              "0DT30ZZ", "0DT30ZZ", 4242);
}
END_TEST

START_TEST(test_null_args)
{
    cs_plugin_test_null_args(s_ops, "icd10pcs", "0D", "0DTI0ZZ", "0DT30ZZ");
}
END_TEST

/* ---- looks_like_code ------------------------------------------------------------------- */

START_TEST(test_looks_like_code)
{
    ck_assert_int_eq(cs_plugin_test_looks("0DT30ZZ"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("0dt30zz"), 1);
    ck_assert_int_eq(cs_plugin_test_looks(" 0DT3 "), 1);
    ck_assert_int_eq(cs_plugin_test_looks("0DT"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("0D"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("B3"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("XW033E5"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("DHYBFZZ"), 1);

    /* letters alone count only as a full code */
    ck_assert_int_eq(cs_plugin_test_looks("bed"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("DHY"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("heart"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("bypass"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("0"), 0);
    ck_assert_int_eq(cs_plugin_test_looks(""), 0);
    ck_assert_int_eq(cs_plugin_test_looks("   "), 0);
    ck_assert_int_eq(cs_plugin_test_looks("0DT30ZZZ"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("0DTI"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("0DT.3"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("A0D"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("E11.9"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("0DT 30ZZ"), 0);
    ck_assert_int_eq(s_ops->looks_like_code("0D\0", 3), 0);
    /* len is respected */
    ck_assert_int_eq(s_ops->looks_like_code("0DT bypass", 3), 1);
    ck_assert_int_eq(s_ops->looks_like_code("0DT", 1), 0);
}
END_TEST

/* ---- the official order files ---------------------------------------------------------- */

/* An order file and what it holds. */
static const struct {
    const char *rel;  /* under ../shared/data */
    size_t tables;    /* 3-character header lines (flag 0) */
    size_t codes;     /* 7-character code lines (flag 1) */
} s_order_files[] = {
    {"icd10pcs/2025/icd10pcs_order_2025.txt", 908, 78948},
    {"icd10pcs/order/icd10pcs_order_2026.txt", 914, 79115},
};

/* Every code and table of an order file (fixed width: order number 5, space, code 7, space,
 * flag 1, ...) normalizes to itself. */
START_TEST(test_order_file)
{
    char path[PATH_MAX];
    const char *rel = s_order_files[_i].rel;
    CS_SKIP_UNLESS_DATA(cs_test_data_path(rel, path, sizeof path), rel);
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    char line[1024];
    size_t line_no = 0;
    size_t tables = 0;
    size_t codes = 0;
    while (fgets(line, sizeof line, fp)) {
        line_no++;
        line[strcspn(line, "\r\n")] = '\0';
        /* plain checks with ck_abort_msg: a passing ck_assert costs a write to the runner */
        if (strlen(line) <= 16 || line[5] != ' ' || line[13] != ' ') {
            ck_abort_msg("%s:%zu: not an order line", rel, line_no);
        }
        char code[8];
        memcpy(code, line + 6, 7);
        size_t n = 7;
        while (n > 0 && code[n - 1] == ' ') {
            n--;
        }
        code[n] = '\0';
        /* the whole field, padding included: normalize trims it */
        cs_code_t out;
        cs_error_t err;
        if (cs_plugin_test_try(line + 6, 7, &out, &err) != CS_OK) {
            ck_abort_msg("%s:%zu: %s", rel, line_no, err.msg);
        }
        if (out.cls != CS_CLASS_CODE || strcmp(out.key, code) != 0 ||
            strcmp(out.display, code) != 0) {
            ck_abort_msg("%s:%zu: %s became %s / %s", rel, line_no, code, out.key, out.display);
        }
        int has_digit = strpbrk(code, "0123456789") != NULL;
        if (s_ops->looks_like_code(code, n) != (n == 7 || has_digit)) {
            ck_abort_msg("%s:%zu: looks_like_code(%s) is wrong", rel, line_no, code);
        }
        if (n == 3 && line[14] == '0') {
            tables++;
        } else if (n == 7 && line[14] == '1') {
            codes++;
        } else {
            ck_abort_msg("%s:%zu: %s with flag %c", rel, line_no, code, line[14]);
        }
    }
    fclose(fp);
    ck_assert_uint_eq(tables, s_order_files[_i].tables);
    ck_assert_uint_eq(codes, s_order_files[_i].codes);
    ck_assert_uint_eq(line_no, tables + codes);
}
END_TEST

Suite *cs_icd10pcs_suite(void);
Suite *cs_icd10pcs_suite(void)
{
    Suite *s = suite_create("icd10pcs");

    TCase *tc = tcase_create("normalize");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_codes);
    tcase_add_test(tc, test_tables);
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

    tc = tcase_create("order files");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_order_file, 0,
                        (int)(sizeof s_order_files / sizeof s_order_files[0]));
    suite_add_tcase(s, tc);
    return s;
}
