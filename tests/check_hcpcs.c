/* check_hcpcs.c: the HCPCS Level II system plugin, loaded through the plugin host: normalize()
 * on codes, modifiers and hostile input, looks_like_code(), and every code and modifier of the
 * official CMS files when ../shared/data is present. */
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
    s_ops = cs_plugin_test_use("hcpcs");
}

static void s_teardown(void)
{
    cs_plugin_test_teardown();
    s_ops = NULL;
}

/* normalize accepts in[0..len) as a code or modifier whose key and display are both want. */
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
    static const char *const kinds[] = {"code", "modifier", NULL};
    cs_plugin_test_descriptor(cs_plugin_test_desc(), "hcpcs",
                              "HCPCS Level II (supplies, services and modifiers)", kinds);
}
END_TEST

/* ---- codes and modifiers --------------------------------------------------------------- */

START_TEST(test_codes)
{
    s_code("J3490", "J3490");
    s_code("j3490", "J3490");
    s_code("G0008", "G0008");
    s_code("A0021", "A0021");
    s_code("E0100", "E0100");
    s_code("L3000", "L3000");
    s_code("Q4100", "Q4100");
    s_code("V5364", "V5364");
    s_code("U0001", "U0001");
    s_code("R0070", "R0070");
    /* every series letter, in both cases */
    const char *series = "ABCDEGHJKLMPQRSTUV";
    for (const char *l = series; *l; l++) {
        char upper[6] = {*l, '1', '2', '3', '4', '\0'};
        char lower[6] = {(char)(*l - 'A' + 'a'), '1', '2', '3', '4', '\0'};
        s_code(upper, upper);
        s_code(lower, upper);
    }
}
END_TEST

START_TEST(test_modifiers)
{
    /* two characters always mean a modifier */
    s_code("25", "25");
    s_code("59", "59");
    s_code("LT", "LT");
    s_code("lt", "LT");
    s_code("Ga", "GA");
    s_code("xe", "XE");
    s_code("E1", "E1");
    s_code("J3", "J3");
    s_code("F5", "F5");
    s_code("00", "00");
    s_code("ZZ", "ZZ");
    s_code(" 25 ", "25");
}
END_TEST

START_TEST(test_white_space)
{
    s_code(" J3490 ", "J3490");
    s_code("\tJ3490\r\n", "J3490");
    s_code("  \r\n\t g0008\n", "G0008");
    cs_plugin_test_refuse("J 3490",
                          "'J 3490': white space inside a code is not allowed (position 2)");
    cs_plugin_test_refuse("J3490 LT", "white space inside a code is not allowed (position 6)");
    cs_plugin_test_refuse("L T", "white space inside");
    /* other white space is not surrounding white space */
    cs_plugin_test_refuse("\vJ3490",
                          "'\\x0BJ3490': '\\x0B' (position 1) is not allowed in a HCPCS code");
}
END_TEST

START_TEST(test_code_errors)
{
    cs_plugin_test_refuse("", "'': empty code");
    cs_plugin_test_refuse("   ", "empty code (only white space)");
    cs_plugin_test_refuse(" \t\r\n", "'");
    /* lengths around 2 and 5 */
    cs_plugin_test_refuse("J",
                          "'J' is too short: a HCPCS code has 5 characters, a letter and 4 "
                          "digits (a modifier 2)");
    cs_plugin_test_refuse("J34", "'J34' is too short");
    cs_plugin_test_refuse("J349", "'J349' is too short");
    cs_plugin_test_refuse("J34900", "'J34900': too long (6 characters; a HCPCS code has 5)");
    cs_plugin_test_refuse("J3490LT", "too long (7 characters");
    /* the series */
    cs_plugin_test_refuse("99213",
                          "'99213' starts with a digit: HCPCS Level II codes start with a letter "
                          "(a code of 5 digits is CPT)");
    cs_plugin_test_refuse("F1234",
                          "'F1234': no HCPCS Level II code starts with 'F' (the series are A-V "
                          "without F, I, N and O)");
    cs_plugin_test_refuse("i1234", "no HCPCS Level II code starts with 'I'");
    cs_plugin_test_refuse("N1234", "starts with 'N'");
    cs_plugin_test_refuse("O1234", "starts with 'O'");
    cs_plugin_test_refuse("W1234", "starts with 'W'");
    cs_plugin_test_refuse("Z1234", "starts with 'Z'");
    /* four digits after the letter */
    cs_plugin_test_refuse("J34A0",
                          "'J34A0': position 4 must be a digit (a code is a letter and 4 digits, "
                          "like J3490)");
    cs_plugin_test_refuse("JJ490", "position 2 must be a digit");
    cs_plugin_test_refuse("0001F", "starts with a digit");
    /* punctuation */
    cs_plugin_test_refuse("J3490-JW",
                          "'J3490-JW': '-' (position 6) is not allowed; give a code and its "
                          "modifier separately");
    cs_plugin_test_refuse("J34.90", "'J34.90': HCPCS codes have no dot (position 4)");
    cs_plugin_test_refuse("J3490*", "'*' (position 6) is not allowed in a HCPCS code");
    cs_plugin_test_refuse("L'", "'L\\'': '\\'' (position 2) is not allowed");
    cs_plugin_test_refuse("J\\490", "'J\\\\490'");
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* NUL inside: never raw in the message, never the end of the input */
    cs_plugin_test_bad(s_ops, "J3\0" "90", 5, "'J3\\x0090': '\\x00' (position 3) is not allowed");
    cs_plugin_test_bad(s_ops, "\0", 1, "'\\x00'");
    cs_plugin_test_bad(s_ops, "LT\0", 3, "'\\x00' (position 3)");
    /* non-ASCII: UTF-8 letters are not code letters */
    cs_plugin_test_refuse("\xc3\x89" "1234",
                          "'\\xC3\\x891234': '\\xC3' (position 1) is not allowed");
    cs_plugin_test_refuse("J349\xff", "'\\xFF' (position 5) is not allowed");
    cs_plugin_test_refuse("\x1b[31mJ", "'\\x1B[31mJ'");
    /* every single byte in the third place of a code and the second of a modifier */
    for (int c = 0; c < 256; c++) {
        char code[5] = {'J', '3', (char)c, '9', '0'};
        char modifier[2] = {'L', (char)c};
        cs_code_t out;
        cs_error_t err;
        int digit = c >= '0' && c <= '9';
        int alnum = digit || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        int rc = cs_plugin_test_try(code, sizeof code, &out, &err);
        ck_assert_msg((rc == CS_OK) == digit, "byte 0x%02x in a code: %d", c, rc);
        for (const char *m = err.msg; *m; m++) {
            ck_assert_msg(*m >= 0x20 && *m < 0x7f, "byte 0x%02x: raw byte in message", c);
        }
        rc = cs_plugin_test_try(modifier, sizeof modifier, &out, &err);
        int space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        /* trailing white space is trimmed: "L " is "L", too short */
        ck_assert_msg((rc == CS_OK) == alnum, "byte 0x%02x in a modifier: %d", c, rc);
        ck_assert(!space || strstr(err.msg, "too short") != NULL);
    }
    /* no NUL terminator: the input is exactly len bytes (s_norm copies to an exact buffer) */
    s_ok_n("J3490XXXX", 5, "J3490");
    s_ok_n("J3490", 2, "J3");
}
END_TEST

START_TEST(test_long_input)
{
    cs_plugin_test_long_input(s_ops, 'J', '3', "too long (1048576 characters; a HCPCS code has 5)",
                              "j3490", "J3490", "J3490", 777);
}
END_TEST

START_TEST(test_null_args)
{
    cs_plugin_test_null_args(s_ops, "hcpcs", "J", "F1234", "J3490");
}
END_TEST

/* ---- looks_like_code ------------------------------------------------------------------- */

START_TEST(test_looks_like_code)
{
    ck_assert_int_eq(cs_plugin_test_looks("J3490"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("j3490"), 1);
    ck_assert_int_eq(cs_plugin_test_looks(" G0008 "), 1);
    ck_assert_int_eq(cs_plugin_test_looks("J349"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("J3"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("LT"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("25"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("xe"), 1);

    ck_assert_int_eq(cs_plugin_test_looks("wheelchair"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("cast"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("J3490 injection"), 0);
    ck_assert_int_eq(cs_plugin_test_looks(""), 0);
    ck_assert_int_eq(cs_plugin_test_looks("   "), 0);
    ck_assert_int_eq(cs_plugin_test_looks("J"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("F123"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("99213"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("J34900"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("J34A"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("L-"), 0);
    ck_assert_int_eq(s_ops->looks_like_code("J3\0", 3), 0);
    /* len is respected */
    ck_assert_int_eq(s_ops->looks_like_code("J3490 injection", 5), 1);
    ck_assert_int_eq(s_ops->looks_like_code("J3490", 1), 0);
}
END_TEST

/* ---- the official CMS files ------------------------------------------------------------ */

/* A CMS HCPCS file and what it holds (its distinct procedure codes and modifiers). */
static const struct {
    const char *rel;  /* under ../shared/data */
    size_t codes;     /* records of id 3: first line of a procedure */
    size_t modifiers; /* records of id 7: first line of a modifier */
} s_cms_files[] = {
    {"hcpcs/HCPC2018_CONTR_ANWEB_disc.txt", 6205, 354},
    {"hcpcs/HCPC2019_CONTR_ANWEB.txt", 6440, 360},
    {"hcpcs/HCPC2020_ANWEB_w_disclaimer.txt", 6710, 369},
    {"hcpcs/HCPC2025_JAN_ANWEB_12172024.txt", 8259, 383},
};

#define S_RECORD_ID_AT 10 /* 0-based column of the record identification code */

/* Every procedure code (record id 3, columns 1-5) and modifier (record id 7, columns 4-5 of
 * the same field) of a CMS file normalizes to itself. */
START_TEST(test_cms_file)
{
    char path[PATH_MAX];
    const char *rel = s_cms_files[_i].rel;
    CS_SKIP_UNLESS_DATA(cs_test_data_path(rel, path, sizeof path), rel);
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    char line[1024];
    size_t line_no = 0;
    size_t codes = 0;
    size_t modifiers = 0;
    while (fgets(line, sizeof line, fp)) {
        line_no++;
        line[strcspn(line, "\r\n")] = '\0';
        if (strlen(line) <= S_RECORD_ID_AT) {
            continue;
        }
        char id = line[S_RECORD_ID_AT];
        if (id != '3' && id != '7') {
            continue;
        }
        /* the whole 5-column field, padding included: normalize trims it; plain checks with
         * ck_abort_msg, since a passing ck_assert costs a write to the runner */
        cs_code_t out;
        cs_error_t err;
        if (cs_plugin_test_try(line, 5, &out, &err) != CS_OK) {
            ck_abort_msg("%s:%zu: %s", rel, line_no, err.msg);
        }
        const char *want = id == '3' ? line : line + 3;
        size_t want_len = id == '3' ? 5 : 2;
        if (out.cls != CS_CLASS_CODE || strlen(out.key) != want_len ||
            memcmp(out.key, want, want_len) != 0 || strcmp(out.display, out.key) != 0) {
            ck_abort_msg("%s:%zu: '%.5s' became %s / %s", rel, line_no, line, out.key,
                         out.display);
        }
        if (s_ops->looks_like_code(line, 5) != 1) {
            ck_abort_msg("%s:%zu: '%.5s' does not look like a code", rel, line_no, line);
        }
        if (id == '3') {
            codes++;
        } else {
            modifiers++;
        }
    }
    fclose(fp);
    ck_assert_uint_eq(codes, s_cms_files[_i].codes);
    ck_assert_uint_eq(modifiers, s_cms_files[_i].modifiers);
}
END_TEST

Suite *cs_hcpcs_suite(void);
Suite *cs_hcpcs_suite(void)
{
    Suite *s = suite_create("hcpcs");

    TCase *tc = tcase_create("normalize");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_codes);
    tcase_add_test(tc, test_modifiers);
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

    tc = tcase_create("CMS files");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_cms_file, 0, (int)(sizeof s_cms_files / sizeof s_cms_files[0]));
    suite_add_tcase(s, tc);
    return s;
}
