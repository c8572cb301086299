/* check_cpt.c: the CPT system plugin, loaded through the plugin host: normalize() on codes of
 * each category and on hostile input, and looks_like_code(). CPT is licensed by the AMA, so
 * there is no official file to sweep; the codes here are well-known public examples. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_plugin_host.h"
#include "cs_test.h"

static cs_plugin_host_t *s_host;
static const cs_plugin_desc_t *s_desc;
static const cs_system_ops_t *s_ops;

static void s_setup(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/plugins/cpt.so", cs_test_build_dir());
    s_host = cs_plugin_host_new();
    ck_assert_ptr_nonnull(s_host);
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_plugin_host_load_file(s_host, path, &err);
    ck_assert_msg(rc == CS_OK, "%s", err.msg);
    s_desc = cs_plugin_host_system(s_host, "cpt", 3);
    ck_assert_ptr_nonnull(s_desc);
    s_ops = s_desc->system;
}

static void s_teardown(void)
{
    cs_plugin_host_destroy(&s_host);
    s_desc = NULL;
    s_ops = NULL;
}

/* normalize in[0..len) from an exact-size heap copy, so ASan sees any read past len. */
static int s_norm(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    char *copy = malloc(len ? len : 1);
    /* not ck_assert: each passing assertion costs a write to the runner, and sweeps make
     * hundreds of thousands of calls */
    if (!copy) {
        ck_abort_msg("out of memory");
    }
    memcpy(copy, in, len);
    memset(out, 0x5a, sizeof *out);
    cs_error_clear(err);
    int rc = s_ops->normalize(copy, len, out, err);
    free(copy);
    return rc;
}

/* normalize accepts in[0..len) as a code whose key and display are both want. */
static void s_ok_n(const char *in, size_t len, const char *want)
{
    cs_code_t out;
    cs_error_t err;
    int rc = s_norm(in, len, &out, &err);
    ck_assert_msg(rc == CS_OK, "'%.*s': %s", (int)len, in, err.msg);
    ck_assert_int_eq(out.cls, CS_CLASS_CODE);
    ck_assert_str_eq(out.key, want);
    ck_assert_str_eq(out.display, want);
}

static void s_code(const char *in, const char *want)
{
    s_ok_n(in, strlen(in), want);
}

/* normalize refuses in[0..len) with CS_EMALFORMED and a message containing want. */
static void s_bad_n(const char *in, size_t len, const char *want)
{
    cs_code_t out;
    cs_error_t err;
    int rc = s_norm(in, len, &out, &err);
    ck_assert_msg(rc == CS_EMALFORMED, "'%.*s' accepted or wrong code %d", (int)len, in, rc);
    ck_assert_int_eq(err.code, CS_EMALFORMED);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message lacks \"%s\": \"%s\"", want, err.msg);
    /* messages are printable ASCII only */
    for (const char *c = err.msg; *c; c++) {
        ck_assert_msg(*c >= 0x20 && *c < 0x7f, "raw byte 0x%02x in \"%s\"",
                      (unsigned char)*c, err.msg);
    }
}

static void s_bad(const char *in, const char *want)
{
    s_bad_n(in, strlen(in), want);
}

static int s_looks(const char *in)
{
    return s_ops->looks_like_code(in, strlen(in));
}

/* ---- descriptor ------------------------------------------------------------------------ */

START_TEST(test_descriptor)
{
    ck_assert_str_eq(s_desc->name, "cpt");
    ck_assert_str_eq(s_desc->title, "CPT (Current Procedural Terminology)");
    ck_assert_uint_eq(s_desc->kind, CS_PLUGIN_SYSTEM);
    ck_assert_ptr_null(s_desc->loader);
    ck_assert_ptr_nonnull(s_ops->looks_like_code);
    const char *const want[] = {"section", "category", "code", NULL};
    for (size_t i = 0; want[i]; i++) {
        ck_assert_ptr_nonnull(s_ops->kinds[i]);
        ck_assert_str_eq(s_ops->kinds[i], want[i]);
    }
    ck_assert_ptr_null(s_ops->kinds[3]);
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
    s_bad("992 13", "'992 13': white space inside a code is not allowed (position 4)");
    s_bad("99213 25", "white space inside a code is not allowed (position 6)");
    /* other white space is not surrounding white space */
    s_bad("\v99213", "'\\x0B99213': '\\x0B' (position 1) is not allowed in a CPT code");
}
END_TEST

START_TEST(test_code_errors)
{
    s_bad("", "'': empty code");
    s_bad("   ", "empty code (only white space)");
    s_bad(" \t\r\n", "'");
    /* lengths around 5 */
    s_bad("9", "'9' is too short: a CPT code has 5 characters (5 digits, or 4 digits and F, T "
               "or U)");
    s_bad("25", "'25' is too short");
    s_bad("9921", "'9921' is too short");
    s_bad("992131", "'992131': too long (6 characters; a CPT code has 5)");
    s_bad("0001FF", "too long (6 characters");
    /* digits first, one letter last */
    s_bad("J3490", "'J3490' starts with a letter: CPT codes start with a digit (a letter and 4 "
                   "digits is a HCPCS Level II code)");
    s_bad("F0001", "starts with a letter");
    s_bad("0A01F", "'0A01F': position 2 must be a digit (only the fifth character may be a "
                   "letter)");
    s_bad("000FF", "position 4 must be a digit");
    s_bad("0001X", "'0001X': the fifth character must be a digit, F (Category II), T (Category "
                   "III) or U (PLA), not 'X'");
    s_bad("0001a", "not 'A'");
    /* punctuation */
    s_bad("99213-25", "'99213-25': '-' (position 6) is not allowed; give the code without its "
                      "modifier");
    s_bad("992.13", "'992.13': CPT codes have no dot (position 4)");
    s_bad("99213*", "'*' (position 6) is not allowed in a CPT code");
    s_bad("9921'", "'9921\\'': '\\'' (position 5) is not allowed");
    s_bad("99\\13", "'99\\\\13'");
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* NUL inside: never raw in the message, never the end of the input */
    s_bad_n("99\0" "13", 5, "'99\\x0013': '\\x00' (position 3) is not allowed");
    s_bad_n("\0", 1, "'\\x00'");
    s_bad_n("99213\0", 6, "'\\x00' (position 6)");
    /* non-ASCII: UTF-8 digits and letters are not code characters */
    s_bad("9921\xc3\x89", "'9921\\xC3\\x89': '\\xC3' (position 5) is not allowed");
    s_bad("\xef\xbc\x99" "9213", "'\\xEF' (position 1)");
    s_bad("\x1b[31m99", "'\\x1B[31m99'");
    /* every single byte in the fifth place: accepted iff a digit, F, T or U */
    for (int c = 0; c < 256; c++) {
        char in[5] = {'0', '0', '4', '2', (char)c};
        cs_code_t out;
        cs_error_t err;
        int rc = s_norm(in, sizeof in, &out, &err);
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
    size_t len = 1 << 20;
    char *big = malloc(len);
    ck_assert_ptr_nonnull(big);

    /* 1 MB of digits: too long, and the message stays short and cut */
    memset(big, '9', len);
    cs_code_t out;
    cs_error_t err;
    ck_assert_int_eq(s_norm(big, len, &out, &err), CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "too long (1048576 characters; a CPT code has 5)"));
    ck_assert_ptr_nonnull(strstr(err.msg, "...'"));
    ck_assert_uint_lt(strlen(err.msg), sizeof err.msg - 1);

    /* 1 MB of white space: empty */
    memset(big, ' ', len);
    ck_assert_int_eq(s_norm(big, len, &out, &err), CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty code"));

    /* a valid code padded by 1 MB of white space on both sides */
    memcpy(big + len / 2, "0001u", 5);
    s_ok_n(big, len, "0001U");

    /* 1 MB of pseudo-random bytes */
    unsigned x = 99213;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(x >> 16);
    }
    ck_assert_int_eq(s_norm(big, len, &out, &err), CS_EMALFORMED);
    for (const char *m = err.msg; *m; m++) {
        ck_assert(*m >= 0x20 && *m < 0x7f);
    }
    ck_assert_int_eq(s_ops->looks_like_code(big, len), 0);

    /* a long escaped quote still ends inside the message buffer */
    memset(big, 0x01, 200);
    ck_assert_int_eq(s_norm(big, 200, &out, &err), CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "\\x01\\x01"));
    free(big);
}
END_TEST

START_TEST(test_null_args)
{
    cs_code_t out;
    ck_assert_int_eq(s_ops->normalize("99", 2, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize("0001X", 5, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize("99213", 5, &out, NULL), CS_OK);
    ck_assert_int_eq(s_ops->normalize(NULL, 0, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize(NULL, 3, &out, NULL), CS_EINVAL);
    ck_assert_int_eq(s_ops->normalize("99213", 5, NULL, NULL), CS_EINVAL);
    ck_assert_int_eq(s_ops->looks_like_code(NULL, 0), 0);
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_int_eq(s_ops->normalize(NULL, 3, &out, &err), CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "cpt: normalize called without input"));
}
END_TEST

/* ---- looks_like_code ------------------------------------------------------------------- */

START_TEST(test_looks_like_code)
{
    ck_assert_int_eq(s_looks("99213"), 1);
    ck_assert_int_eq(s_looks(" 99213 "), 1);
    ck_assert_int_eq(s_looks("9921"), 1);
    ck_assert_int_eq(s_looks("99"), 1);
    ck_assert_int_eq(s_looks("0001F"), 1);
    ck_assert_int_eq(s_looks("0042t"), 1);
    ck_assert_int_eq(s_looks("0001U"), 1);

    ck_assert_int_eq(s_looks("office visit"), 0);
    ck_assert_int_eq(s_looks("visit"), 0);
    ck_assert_int_eq(s_looks("99213 visit"), 0);
    ck_assert_int_eq(s_looks(""), 0);
    ck_assert_int_eq(s_looks("   "), 0);
    ck_assert_int_eq(s_looks("9"), 0);
    ck_assert_int_eq(s_looks("992131"), 0);
    ck_assert_int_eq(s_looks("0001X"), 0);
    ck_assert_int_eq(s_looks("001F"), 0);
    ck_assert_int_eq(s_looks("J3490"), 0);
    ck_assert_int_eq(s_looks("99.2"), 0);
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
