/* check_icd10cm.c: the ICD-10-CM system plugin, loaded through the plugin host: normalize() on
 * codes, blocks, chapters and hostile input, and looks_like_code(). */
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
    s_ops = cs_plugin_test_use("icd10cm");
}

static void s_teardown(void)
{
    cs_plugin_test_teardown();
    s_ops = NULL;
}

static void s_code(const char *in, const char *key, const char *display)
{
    cs_plugin_test_ok(s_ops, in, strlen(in), CS_CLASS_CODE, key, display);
}

/* ---- descriptor ------------------------------------------------------------------------ */

START_TEST(test_descriptor)
{
    static const char *const kinds[] = {"chapter",     "block", "category",
                                        "subcategory", "code",  NULL};
    cs_plugin_test_descriptor(cs_plugin_test_desc(), "icd10cm", "ICD-10-CM (diagnoses)", kinds);
}
END_TEST

/* ---- codes ----------------------------------------------------------------------------- */

START_TEST(test_codes)
{
    s_code("E11.9", "E119", "E11.9");
    s_code("E119", "E119", "E11.9");
    s_code("e11.9", "E119", "E11.9");
    s_code("e119", "E119", "E11.9");
    s_code("I10", "I10", "I10");
    s_code("i10", "I10", "I10");
    s_code("A00", "A00", "A00");
    s_code("S72.001A", "S72001A", "S72.001A");
    s_code("s72001a", "S72001A", "S72.001A");
    s_code("T36.0X1A", "T360X1A", "T36.0X1A");
    s_code("M48.40XS", "M4840XS", "M48.40XS");
    s_code("Z99.89", "Z9989", "Z99.89");
    s_code("E11.65", "E1165", "E11.65");
    /* a letter in third place */
    s_code("C4A.0", "C4A0", "C4A.0");
    s_code("D3A.00", "D3A00", "D3A.00");
    s_code("M1A.0110", "M1A0110", "M1A.0110");
    s_code("z3a.01", "Z3A01", "Z3A.01");
    s_code("E1X.9", "E1X9", "E1X.9");
    /* U codes (special purposes) */
    s_code("U07.1", "U071", "U07.1");
    s_code("U09.9", "U099", "U09.9");
}
END_TEST

START_TEST(test_white_space)
{
    s_code(" E11.9 ", "E119", "E11.9");
    s_code("\tE11.9\r\n", "E119", "E11.9");
    s_code("  \r\n\t i10\n", "I10", "I10");
    cs_plugin_test_ok(s_ops, " 13 ", 4, CS_CLASS_CHAPTER, "13", "13");
    cs_plugin_test_ok(s_ops, "\tm45-m49\n", 9, CS_CLASS_BLOCK, "M45-M49", "M45-M49");
    cs_plugin_test_refuse("E11 .9", "white space inside a code");
    cs_plugin_test_refuse("E11. 9", "white space inside a code");
    cs_plugin_test_refuse("E 11", "white space inside a code");
    cs_plugin_test_refuse("E11\t9", "white space inside a code");
    /* other white space is not surrounding white space */
    cs_plugin_test_refuse("\vE11", "'\\x0BE11': '\\x0B' is not allowed in a code");
}
END_TEST

START_TEST(test_code_errors)
{
    cs_plugin_test_refuse("", "'': empty code");
    cs_plugin_test_refuse("   ", "empty code");
    cs_plugin_test_refuse(" \t\r\n", "'");
    cs_plugin_test_refuse("E1", "'E1' is too short: an ICD-10-CM code has 3 to 7 characters");
    cs_plugin_test_refuse("E", "'E' is too short");
    cs_plugin_test_refuse("E1.", "'E1.' is too short");
    cs_plugin_test_refuse("E11.9.1", "'E11.9.1': more than one dot");
    cs_plugin_test_refuse("E11..9", "more than one dot");
    cs_plugin_test_refuse("E11-9", "'E11-9': '-' is not allowed in a code");
    cs_plugin_test_refuse("E11.9-", "'-' is not allowed in a code");
    cs_plugin_test_refuse("1E1", "'1E1' must start with a letter");
    cs_plugin_test_refuse(".E11", "'.E11' must start with a letter");
    cs_plugin_test_refuse("EXX.9", "'EXX.9': the second character must be a digit");
    cs_plugin_test_refuse("EEE",
                          "the second character must be a digit (or a letter followed by a digit");
    /* FY2026 brought the first codes with a letter second (QA0: a letter, then a digit) */
    s_code("qa00101", "QA00101", "QA0.0101");
    s_code("QA0", "QA0", "QA0");
    cs_plugin_test_refuse("E11.999999", "'E11.999999': too long (9 characters; at most 7)");
    cs_plugin_test_refuse("S72001AA", "too long (8 characters; at most 7)");
    cs_plugin_test_refuse("E11.", "'E11.': nothing after the dot (write E11)");
    cs_plugin_test_refuse("E1.19", "'E1.19': the dot goes after the third character (E11.9)");
    cs_plugin_test_refuse("E119.", "the dot goes after the third character (E11.9)");
    cs_plugin_test_refuse("S7200.1A", "the dot goes after the third character (S72.001A)");
    cs_plugin_test_refuse("E11*9", "'E11*9': '*' is not allowed in a code");
    cs_plugin_test_refuse("E11_9", "'_' is not allowed");
    cs_plugin_test_refuse("E11'9", "'E11\\'9': '\\'' is not allowed");
    cs_plugin_test_refuse("E11\\9", "'E11\\\\9'");
    cs_plugin_test_refuse(".", "must start with a letter");
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* NUL inside: never raw in the message, never the end of the input */
    cs_plugin_test_bad(s_ops, "E1\0", 3, "'E1\\x00': '\\x00' is not allowed in a code");
    cs_plugin_test_bad(s_ops, "E11\0.9", 6, "'E11\\x00.9'");
    cs_plugin_test_bad(s_ops, "\0", 1, "'\\x00'");
    /* non-ASCII: UTF-8 letters are not code letters */
    cs_plugin_test_refuse("\xc3\x89" "1.9", "'\\xC3\\x891.9': '\\xC3' is not allowed in a code");
    cs_plugin_test_refuse("E11\xff", "'\\xFF' is not allowed");
    cs_plugin_test_refuse("\x1b[31mE11", "'\\x1B[31mE11'");
    /* every single byte: no crash, no raw control byte in the message */
    for (int c = 0; c < 256; c++) {
        char in[4] = {'E', '1', (char)c, '9'};
        cs_code_t out;
        cs_error_t err;
        int rc = cs_plugin_test_try(in, sizeof in, &out, &err);
        int alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        ck_assert_msg((rc == CS_OK) == alnum, "byte 0x%02x: %d", c, rc);
        for (const char *m = err.msg; *m; m++) {
            ck_assert_msg(*m >= 0x20 && *m < 0x7f, "byte 0x%02x: raw byte in message", c);
        }
    }
    /* no NUL terminator: the input is exactly len bytes (s_norm copies to an exact buffer) */
    cs_plugin_test_ok(s_ops, "E11.9XXXX", 5, CS_CLASS_CODE, "E119", "E11.9");
    cs_plugin_test_ok(s_ops, "E11 ", 3, CS_CLASS_CODE, "E11", "E11");
}
END_TEST

START_TEST(test_long_input)
{
    cs_plugin_test_long_input(s_ops, 'E', '1', "too long (1048576 characters; at most 7)",
                              "s72.001a", "S72001A", "S72.001A", 12345);
}
END_TEST

START_TEST(test_null_args)
{
    cs_code_t out;
    ck_assert_int_eq(s_ops->normalize("E1", 2, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize("E119", 4, &out, NULL), CS_OK);
    ck_assert_int_eq(s_ops->normalize(NULL, 0, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize(NULL, 3, &out, NULL), CS_EINVAL);
    ck_assert_int_eq(s_ops->normalize("E119", 4, NULL, NULL), CS_EINVAL);
    ck_assert_int_eq(s_ops->looks_like_code(NULL, 0), 0);
}
END_TEST

/* ---- chapters and blocks --------------------------------------------------------------- */

START_TEST(test_chapters)
{
    cs_plugin_test_ok(s_ops, "1", 1, CS_CLASS_CHAPTER, "1", "1");
    cs_plugin_test_ok(s_ops, "01", 2, CS_CLASS_CHAPTER, "1", "1");
    cs_plugin_test_ok(s_ops, "09", 2, CS_CLASS_CHAPTER, "9", "9");
    cs_plugin_test_ok(s_ops, "13", 2, CS_CLASS_CHAPTER, "13", "13");
    cs_plugin_test_ok(s_ops, "22", 2, CS_CLASS_CHAPTER, "22", "22");
    cs_plugin_test_refuse("23", "'23': no such chapter (ICD-10-CM has chapters 1 to 22)");
    cs_plugin_test_refuse("0", "'0': no such chapter");
    cs_plugin_test_refuse("00", "no such chapter");
    cs_plugin_test_refuse("99", "no such chapter");
    cs_plugin_test_refuse("001", "'001': a chapter is a number from 1 to 22");
    cs_plugin_test_refuse("123", "a chapter is a number from 1 to 22");
    cs_plugin_test_refuse("1.3", "must start with a letter");
    cs_plugin_test_refuse("1 3", "white space inside");
    cs_plugin_test_refuse("13A", "'13A' must start with a letter");
}
END_TEST

START_TEST(test_blocks)
{
    cs_plugin_test_ok(s_ops, "M45-M49", 7, CS_CLASS_BLOCK, "M45-M49", "M45-M49");
    cs_plugin_test_ok(s_ops, "m45-m49", 7, CS_CLASS_BLOCK, "M45-M49", "M45-M49");
    cs_plugin_test_ok(s_ops, "A00-A09", 7, CS_CLASS_BLOCK, "A00-A09", "A00-A09");
    cs_plugin_test_ok(s_ops, "C7A-C7A", 7, CS_CLASS_BLOCK, "C7A-C7A", "C7A-C7A");
    cs_plugin_test_ok(s_ops, "U00-U85", 7, CS_CLASS_BLOCK, "U00-U85", "U00-U85");
    cs_plugin_test_refuse("M45-M4",
                          "'-' is not allowed in a code (a block is written like M45-M49)");
    cs_plugin_test_refuse("M45-M499", "'-' is not allowed in a code");
    cs_plugin_test_refuse("M45--M49", "'-' is not allowed");
    cs_plugin_test_refuse("M4-M49", "'-' is not allowed");
    cs_plugin_test_refuse("45M-M49",
                          "'45M-M49': a block is two 3-character categories joined by '-'");
    cs_plugin_test_refuse("M45-4M9", "a block is two 3-character categories");
    cs_plugin_test_refuse("M45-M.9", "a block is two 3-character categories");
    cs_plugin_test_refuse("M4--M49", "'-' is not allowed");
    cs_plugin_test_refuse("M45-M49-", "'-' is not allowed");
}
END_TEST

/* ---- looks_like_code ------------------------------------------------------------------- */

START_TEST(test_looks_like_code)
{
    ck_assert_int_eq(cs_plugin_test_looks("E11.6"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("s7200"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("I10"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("E1"), 1);
    ck_assert_int_eq(cs_plugin_test_looks(" e11.65 "), 1);
    ck_assert_int_eq(cs_plugin_test_looks("S72.001A"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("E11."), 1);
    ck_assert_int_eq(cs_plugin_test_looks("C4A"), 1);

    ck_assert_int_eq(cs_plugin_test_looks("diabetes"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("type 2"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("type 2 diabetes"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("E11 diabetes"), 0);
    ck_assert_int_eq(cs_plugin_test_looks(""), 0);
    ck_assert_int_eq(cs_plugin_test_looks("   "), 0);
    ck_assert_int_eq(cs_plugin_test_looks("E"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("13"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("1E1"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("E11-9"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("E11.9.1"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("S72001AA"), 0);
    ck_assert_int_eq(s_ops->looks_like_code("E1\0", 3), 0);
    /* len is respected */
    ck_assert_int_eq(s_ops->looks_like_code("E11 diabetes", 3), 1);
    ck_assert_int_eq(s_ops->looks_like_code("E11", 1), 0);
}
END_TEST

Suite *cs_icd10cm_suite(void);
Suite *cs_icd10cm_suite(void)
{
    Suite *s = suite_create("icd10cm");

    TCase *tc = tcase_create("normalize");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_codes);
    tcase_add_test(tc, test_white_space);
    tcase_add_test(tc, test_code_errors);
    tcase_add_test(tc, test_hostile_bytes);
    tcase_add_test(tc, test_long_input);
    tcase_add_test(tc, test_null_args);
    tcase_add_test(tc, test_chapters);
    tcase_add_test(tc, test_blocks);
    suite_add_tcase(s, tc);

    tc = tcase_create("looks_like_code");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_looks_like_code);
    suite_add_tcase(s, tc);
    return s;
}
