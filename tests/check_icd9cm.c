/* check_icd9cm.c: the ICD-9-CM diagnoses system plugin, loaded through the plugin host:
 * normalize() on numeric, V and E codes and on hostile input, looks_like_code(), and every code
 * of the diagnosis GEMs (with the icd10cm plugin for the ICD-10-CM side) when ../shared/data is
 * present. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_test.h"
#include "load/cs_plugin_host.h"
#include "plugin_test.h"

static const cs_system_ops_t *s_ops;
static const cs_system_ops_t *s_icd10cm; /* the other side of the GEMs */

static void s_setup(void)
{
    s_ops = cs_plugin_test_use("icd9cm");
}

static void s_setup_gems(void)
{
    s_setup();
    s_icd10cm = cs_plugin_test_load(cs_plugin_test_host(), "icd10cm")->system;
}

static void s_teardown(void)
{
    cs_plugin_test_teardown();
    s_ops = NULL;
    s_icd10cm = NULL;
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
    cs_plugin_test_descriptor(cs_plugin_test_desc(), "icd9cm", "ICD-9-CM (diagnoses)", kinds);
}
END_TEST

/* ---- codes ----------------------------------------------------------------------------- */

START_TEST(test_numeric_codes)
{
    s_code("250", "250", "250");
    s_code("250.0", "2500", "250.0");
    s_code("2500", "2500", "250.0");
    s_code("250.00", "25000", "250.00");
    s_code("25000", "25000", "250.00");
    s_code("001", "001", "001");
    s_code("0019", "0019", "001.9");
    s_code("042", "042", "042");
    s_code("999.9", "9999", "999.9");
    s_code("99999", "99999", "999.99");
}
END_TEST

START_TEST(test_v_codes)
{
    s_code("V10", "V10", "V10");
    s_code("v10", "V10", "V10");
    s_code("V10.0", "V100", "V10.0");
    s_code("V10.05", "V1005", "V10.05");
    s_code("V1005", "V1005", "V10.05");
    s_code("v1005", "V1005", "V10.05");
    s_code("v58.89", "V5889", "V58.89");
    s_code("V27", "V27", "V27");
}
END_TEST

START_TEST(test_e_codes)
{
    s_code("E849", "E849", "E849");
    s_code("e849", "E849", "E849");
    s_code("E849.0", "E8490", "E849.0");
    s_code("E8490", "E8490", "E849.0");
    s_code("e800.9", "E8009", "E800.9");
    s_code("E000.0", "E0000", "E000.0");
}
END_TEST

START_TEST(test_white_space)
{
    s_code(" 250.00 ", "25000", "250.00");
    s_code("\tV10.05\r\n", "V1005", "V10.05");
    s_code("  \r\n\t e8490\n", "E8490", "E849.0");
    cs_plugin_test_refuse("250 .00",
                          "'250 .00': white space inside a code is not allowed (position 4)");
    cs_plugin_test_refuse("250. 00", "white space inside a code is not allowed (position 5)");
    cs_plugin_test_refuse("V 10", "white space inside");
    /* other white space is not surrounding white space */
    cs_plugin_test_refuse("\v250",
                          "'\\x0B250': '\\x0B' (position 1) is not allowed in an ICD-9-CM code");
}
END_TEST

START_TEST(test_code_errors)
{
    cs_plugin_test_refuse("", "'': empty code");
    cs_plugin_test_refuse("   ", "empty code (only white space)");
    cs_plugin_test_refuse(" \t\r\n", "'");
    /* the GEMs placeholder */
    cs_plugin_test_refuse("NoDx",
                          "'NoDx' is the GEMs mark for a diagnosis without a map, not an "
                          "ICD-9-CM code");
    cs_plugin_test_refuse("nodx", "is the GEMs mark for a diagnosis without a map");
    cs_plugin_test_refuse(" NODX ", "'NODX' is the GEMs mark");
    /* the first character */
    cs_plugin_test_refuse("A10", "'A10' must start with a digit, V or E");
    cs_plugin_test_refuse("X", "must start with a digit, V or E");
    cs_plugin_test_refuse(".250", "'.250' must start with a digit, V or E");
    /* digits after the first character */
    cs_plugin_test_refuse("25A",
                          "'25A': position 3 must be a digit (a numeric code is 3 digits, then "
                          "up to 2 decimals)");
    cs_plugin_test_refuse("VV10",
                          "position 2 must be a digit (a V code is V and 2 digits, then up to 2 "
                          "decimals)");
    cs_plugin_test_refuse("E84X",
                          "position 4 must be a digit (an E code is E and 3 digits, then at most "
                          "1 decimal)");
    cs_plugin_test_refuse("NoPCS", "must start with a digit, V or E");
    /* lengths */
    cs_plugin_test_refuse("25",
                          "'25' is too short: a numeric code is 3 digits, then up to 2 decimals");
    cs_plugin_test_refuse("2", "is too short");
    cs_plugin_test_refuse("V1", "'V1' is too short: a V code is V and 2 digits");
    cs_plugin_test_refuse("V", "is too short: a V code");
    cs_plugin_test_refuse("E84", "'E84' is too short: an E code is E and 3 digits");
    cs_plugin_test_refuse("E", "is too short: an E code");
    cs_plugin_test_refuse("250001",
                          "'250001': too long (6 characters; a numeric code has at most 5)");
    cs_plugin_test_refuse("250.001", "too long (6 characters; a numeric code has at most 5)");
    cs_plugin_test_refuse("V10051", "too long (6 characters; a V code has at most 5)");
    cs_plugin_test_refuse("E849.01", "'E849.01': too long (6 characters; an E code has at most 5)");
    cs_plugin_test_refuse("E84901", "an E code has at most 5");
    /* dots */
    cs_plugin_test_refuse("250.0.0", "'250.0.0': more than one dot");
    cs_plugin_test_refuse("250..0", "more than one dot");
    cs_plugin_test_refuse("25.00",
                          "'25.00': the dot goes after the third character in a numeric code "
                          "(250.0)");
    cs_plugin_test_refuse("2500.0",
                          "the dot goes after the third character in a numeric code (250.00)");
    cs_plugin_test_refuse("V1.005", "the dot goes after the third character in a V code (V10.05)");
    cs_plugin_test_refuse("E84.90",
                          "'E84.90': the dot goes after the fourth character in an E code "
                          "(E849.0)");
    cs_plugin_test_refuse("E8490.",
                          "the dot goes after the fourth character in an E code (E849.0)");
    cs_plugin_test_refuse("250.", "'250.': nothing after the dot (write 250)");
    cs_plugin_test_refuse("V10.", "nothing after the dot (write V10)");
    cs_plugin_test_refuse("E849.", "nothing after the dot (write E849)");
    /* other punctuation */
    cs_plugin_test_refuse("001-139",
                          "'001-139': '-' (position 4) is not allowed in an ICD-9-CM code");
    cs_plugin_test_refuse("250*", "'*' (position 4) is not allowed");
    cs_plugin_test_refuse("250'", "'250\\'': '\\'' (position 4) is not allowed");
    cs_plugin_test_refuse("25\\0", "'25\\\\0'");
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* NUL inside: never raw in the message, never the end of the input */
    cs_plugin_test_bad(s_ops, "25\0" "0", 4, "'25\\x000': '\\x00' (position 3) is not allowed");
    cs_plugin_test_bad(s_ops, "\0", 1, "'\\x00'");
    cs_plugin_test_bad(s_ops, "250.00\0", 7, "'\\x00' (position 7)");
    /* non-ASCII: UTF-8 letters are not code letters */
    cs_plugin_test_refuse("\xc3\x89" "849", "'\\xC3\\x89849': '\\xC3' (position 1) is not allowed");
    cs_plugin_test_refuse("250\xff", "'\\xFF' (position 4) is not allowed");
    cs_plugin_test_refuse("\x1b[31m250", "'\\x1B[31m250'");
    /* every single byte in the fourth place: accepted iff a digit or the dot */
    for (int c = 0; c < 256; c++) {
        char in[5] = {'2', '5', '0', (char)c, '0'};
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
    s_ok_n("250.00XXXX", 6, "25000", "250.00");
    s_ok_n("E849.0", 4, "E849", "E849");
}
END_TEST

START_TEST(test_long_input)
{
    cs_plugin_test_long_input(s_ops, '2', '2',
                              "too long (1048576 characters; a numeric code has at most 5)",
                              "v10.05", "V1005", "V10.05", 25000);
}
END_TEST

START_TEST(test_null_args)
{
    cs_plugin_test_null_args(s_ops, "icd9cm", "25", "NoDx", "25000");
}
END_TEST

/* ---- looks_like_code ------------------------------------------------------------------- */

START_TEST(test_looks_like_code)
{
    ck_assert_int_eq(cs_plugin_test_looks("250.00"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("25000"), 1);
    ck_assert_int_eq(cs_plugin_test_looks(" 250. "), 1);
    ck_assert_int_eq(cs_plugin_test_looks("25"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("V10.05"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("v1"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("E849.0"), 1);
    ck_assert_int_eq(cs_plugin_test_looks("e84"), 1);

    ck_assert_int_eq(cs_plugin_test_looks("diabetes"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("vomiting"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("250 diabetes"), 0);
    ck_assert_int_eq(cs_plugin_test_looks(""), 0);
    ck_assert_int_eq(cs_plugin_test_looks("   "), 0);
    ck_assert_int_eq(cs_plugin_test_looks("2"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("V"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("NoDx"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("250001"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("E849.01"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("25.0"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("E11.9"), 0);
    ck_assert_int_eq(cs_plugin_test_looks("250.0.0"), 0);
    ck_assert_int_eq(s_ops->looks_like_code("25\0", 3), 0);
    /* len is respected */
    ck_assert_int_eq(s_ops->looks_like_code("250 diabetes", 3), 1);
    ck_assert_int_eq(s_ops->looks_like_code("250", 1), 0);
}
END_TEST

/* ---- the diagnosis GEMs ---------------------------------------------------------------- */

/* A GEMs file: which side is ICD-9-CM, and what it holds. */
static const struct {
    const char *rel;   /* under ../shared/data */
    int icd9_source;   /* 1: ICD-9-CM -> ICD-10-CM; 0: ICD-10-CM -> ICD-9-CM */
    size_t rows;       /* lines, one source code each */
    size_t no_map;     /* rows whose target is NoDx */
} s_gems[] = {
    {"gems/2018/2018_I9gem.txt", 1, 24860, 422},
    {"gems/2018/2018_I10gem.txt", 0, 81593, 731},
};

/* Normalize code under ops: it must be accepted as a code whose key is the code in upper case
 * (the GEMs write codes without the dot). */
static void s_gem_code(const cs_system_ops_t *ops, const char *code, const char *where)
{
    cs_code_t out;
    cs_error_t err;
    /* plain checks with ck_abort_msg: a passing ck_assert costs a write to the runner */
    if (cs_plugin_test_norm(ops, code, strlen(code), &out, &err) != CS_OK) {
        ck_abort_msg("%s: %s", where, err.msg);
    }
    char upper[16];
    size_t n = 0;
    for (; code[n] && n < sizeof upper - 1; n++) {
        upper[n] = (char)(code[n] >= 'a' && code[n] <= 'z' ? code[n] - 'a' + 'A' : code[n]);
    }
    upper[n] = '\0';
    if (out.cls != CS_CLASS_CODE || strcmp(out.key, upper) != 0) {
        ck_abort_msg("%s: %s became %s", where, code, out.key);
    }
}

/* Every source and target code of a GEMs file (whitespace-separated: source, target, 5-digit
 * flags) normalizes under its system, except the NoDx placeholder, which both refuse. */
START_TEST(test_gems_file)
{
    char path[PATH_MAX];
    const char *rel = s_gems[_i].rel;
    CS_SKIP_UNLESS_DATA(cs_test_data_path(rel, path, sizeof path), rel);
    const cs_system_ops_t *from = s_gems[_i].icd9_source ? s_ops : s_icd10cm;
    const cs_system_ops_t *to = s_gems[_i].icd9_source ? s_icd10cm : s_ops;
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
        if (strcmp(target, "NoDx") == 0) {
            cs_code_t out;
            cs_error_t err;
            ck_assert_int_eq(cs_plugin_test_norm(to, target, 4, &out, &err), CS_EMALFORMED);
            ck_assert_int_eq(cs_plugin_test_norm(s_ops, target, 4, &out, &err), CS_EMALFORMED);
            ck_assert_ptr_nonnull(strstr(err.msg, "is the GEMs mark for a diagnosis without"));
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

Suite *cs_icd9cm_suite(void);
Suite *cs_icd9cm_suite(void)
{
    Suite *s = suite_create("icd9cm");

    TCase *tc = tcase_create("normalize");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_numeric_codes);
    tcase_add_test(tc, test_v_codes);
    tcase_add_test(tc, test_e_codes);
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
