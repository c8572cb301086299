/* check_cpt.c: the CPT system plugin, loaded through the plugin host: normalize() on codes of
 * each category and on hostile input, and looks_like_code(). CPT is licensed by the AMA, so
 * there is no official file to sweep; the codes here are well-known public examples. */
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
    s_ops = cs_plugin_test_use("cpt");
}

static void s_teardown(void)
{
    cs_plugin_test_teardown();
    s_ops = NULL;
}

/* normalize accepts in[0..len) as a code whose key and display are both want. */
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
    static const char *const kinds[] = {"section", "category", "code", NULL};
    cs_plugin_test_descriptor(cs_plugin_test_desc(), "cpt", "CPT (Current Procedural Terminology)",
                              kinds);
}
END_TEST

/* ---- codes ----------------------------------------------------------------------------- */

START_TEST(test_codes)
{
    /* Category I */
    s_code("99213", "99213");
    s_code("00100", "00100");
    s_code("10021", "10021");
    s_code("99499", "99499");
    /* Category II, III and PLA, in either case */
    s_code("0001F", "0001F");
    s_code("0001f", "0001F");
    s_code("0042T", "0042T");
    s_code("0042t", "0042T");
    s_code("0001U", "0001U");
    s_code("0001u", "0001U");
    s_code("9999F", "9999F");
}
END_TEST

START_TEST(test_white_space)
{
    s_code(" 99213 ", "99213");
    s_code("\t99213\r\n", "99213");
    s_code("  \r\n\t 0042t\n", "0042T");
    cs_plugin_test_refuse("992 13",
                          "'992 13': white space inside a code is not allowed (position 4)");
    cs_plugin_test_refuse("99213 25", "white space inside a code is not allowed (position 6)");
    /* other white space is not surrounding white space */
    cs_plugin_test_refuse("\v99213",
                          "'\\x0B99213': '\\x0B' (position 1) is not allowed in a CPT code");
}
END_TEST

START_TEST(test_code_errors)
{
    cs_plugin_test_refuse("", "'': empty code");
    cs_plugin_test_refuse("   ", "empty code (only white space)");
    cs_plugin_test_refuse(" \t\r\n", "'");
    /* lengths around 5 */
    cs_plugin_test_refuse("9",
                          "'9' is too short: a CPT code has 5 characters (5 digits, or 4 digits "
                          "and F, T or U)");
    cs_plugin_test_refuse("25", "'25' is too short");
    cs_plugin_test_refuse("9921", "'9921' is too short");
    cs_plugin_test_refuse("992131", "'992131': too long (6 characters; a CPT code has 5)");
    cs_plugin_test_refuse("0001FF", "too long (6 characters");
    /* digits first, one letter last */
    cs_plugin_test_refuse("J3490",
                          "'J3490' starts with a letter: CPT codes start with a digit (a letter "
                          "and 4 digits is a HCPCS Level II code)");
    cs_plugin_test_refuse("F0001", "starts with a letter");
    cs_plugin_test_refuse("0A01F",
                          "'0A01F': position 2 must be a digit (only the fifth character may be "
                          "a letter)");
    cs_plugin_test_refuse("000FF", "position 4 must be a digit");
    cs_plugin_test_refuse("0001X",
                          "'0001X': the fifth character must be a digit, F (Category II), T "
                          "(Category III) or U (PLA), not 'X'");
    cs_plugin_test_refuse("0001a", "not 'A'");
    /* punctuation */
    cs_plugin_test_refuse("99213-25",
                          "'99213-25': '-' (position 6) is not allowed; give the code without "
                          "its modifier");
    cs_plugin_test_refuse("992.13", "'992.13': CPT codes have no dot (position 4)");
    cs_plugin_test_refuse("99213*", "'*' (position 6) is not allowed in a CPT code");
    cs_plugin_test_refuse("9921'", "'9921\\'': '\\'' (position 5) is not allowed");
    cs_plugin_test_refuse("99\\13", "'99\\\\13'");
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* NUL inside: never raw in the message, never the end of the input */
    cs_plugin_test_bad(s_ops, "99\0" "13", 5, "'99\\x0013': '\\x00' (position 3) is not allowed");
    cs_plugin_test_bad(s_ops, "\0", 1, "'\\x00'");
    cs_plugin_test_bad(s_ops, "99213\0", 6, "'\\x00' (position 6)");
    /* non-ASCII: UTF-8 digits and letters are not code characters */
    cs_plugin_test_refuse("9921\xc3\x89", "'9921\\xC3\\x89': '\\xC3' (position 5) is not allowed");
    cs_plugin_test_refuse("\xef\xbc\x99" "9213", "'\\xEF' (position 1)");
    cs_plugin_test_refuse("\x1b[31m99", "'\\x1B[31m99'");
    /* every single byte in the fifth place: accepted iff a digit, F, T or U */
    for (int c = 0; c < 256; c++) {
        char in[5] = {'0', '0', '4', '2', (char)c};
        cs_code_t out;
        cs_error_t err;
        int rc = cs_plugin_test_try(in, sizeof in, &out, &err);
        int ok = (c >= '0' && c <= '9') || c == 'F' || c == 'T' || c == 'U' || c == 'f' ||
                 c == 't' || c == 'u';
        ck_assert_msg((rc == CS_OK) == ok, "byte 0x%02x: %d", c, rc);
        for (const char *m = err.msg; *m; m++) {
            ck_assert_msg(*m >= 0x20 && *m < 0x7f, "byte 0x%02x: raw byte in message", c);
        }
    }
    /* no NUL terminator: the input is exactly len bytes (s_norm copies to an exact buffer) */
    s_ok_n("99213-25", 5, "99213");
    s_ok_n("0042TXXX", 5, "0042T");
}
END_TEST

START_TEST(test_long_input)
{
    cs_plugin_test_long_input(s_ops, '9', '9', "too long (1048576 characters; a CPT code has 5)",
                              "0001u", "0001U", "0001U", 99213);
}
END_TEST

START_TEST(test_null_args)
{
    cs_plugin_test_null_args(s_ops, "cpt", "99", "0001X", "99213");
}
END_TEST

/* ---- looks_like_code ------------------------------------------------------------------- */

START_TEST(test_looks_like_code)
{
    ck_assert_int_eq(cs_plugin_test_looks("99213"), 1);
    ck_assert_int_eq(cs_plugin_test_looks(" 99213 "), 1);
    ck_assert_int_eq(cs_plugin_test_looks("9921"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("99"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("0001F"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("0042t"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("0001U"), 1);

    ck_assert_int_eq(cs_plugin_test_looks("office visit"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("visit"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("99213 visit"), 0);
    ck_assert_int_eq(cs_plugin_test_looks(""), 0);
    ck_assert_int_eq(cs_plugin_test_looks("   "), 0);
    ck_assert_int_eq(cs_plugin_test_looks("9"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("992131"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("0001X"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("001F"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("J3490"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("99.2"), 0);
    ck_assert_int_eq(s_ops->looks_like_code("99\0", 3), 0);
    /* len is respected */
    ck_assert_int_eq(s_ops->looks_like_code("99213 office visit", 5), 1);
    ck_assert_int_eq(s_ops->looks_like_code("99213", 1), 0);
}
END_TEST

Suite *cs_cpt_suite(void);
Suite *cs_cpt_suite(void)
{
    Suite *s = suite_create("cpt");

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
    return s;
}
