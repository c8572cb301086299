/* check_icd9pcs.c: the ICD-9-CM procedures system plugin, loaded through the plugin host:
 * normalize() on codes and hostile input, looks_like_code(), and every code of the procedure
 * GEMs (with the icd10pcs plugin for the ICD-10-PCS side) when ../shared/data is present. */
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
static const cs_system_ops_t *s_icd10pcs; /* the other side of the GEMs */

/* Load the plugin called name into s_host and return its system operations. */
static const cs_system_ops_t *s_load(const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/plugins/%s.so", cs_test_build_dir(), name);
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_plugin_host_load_file(s_host, path, &err);
    ck_assert_msg(rc == CS_OK, "%s", err.msg);
    const cs_plugin_desc_t *desc = cs_plugin_host_system(s_host, name, strlen(name));
    ck_assert_ptr_nonnull(desc);
    return desc->system;
}

static void s_setup(void)
{
    s_host = cs_plugin_host_new();
    ck_assert_ptr_nonnull(s_host);
    s_ops = s_load("icd9pcs");
    s_desc = cs_plugin_host_system(s_host, "icd9pcs", 7);
}

static void s_setup_gems(void)
{
    s_setup();
    s_icd10pcs = s_load("icd10pcs");
}

static void s_teardown(void)
{
    cs_plugin_host_destroy(&s_host);
    s_desc = NULL;
    s_ops = NULL;
    s_icd10pcs = NULL;
}

/* normalize in[0..len) with ops from an exact-size heap copy, so ASan sees any read past len. */
static int s_norm_with(const cs_system_ops_t *ops, const char *in, size_t len, cs_code_t *out,
                       cs_error_t *err)
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
    int rc = ops->normalize(copy, len, out, err);
    free(copy);
    return rc;
}

static int s_norm(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    return s_norm_with(s_ops, in, len, out, err);
}

static void s_ok_n(const char *in, size_t len, const char *key, const char *display)
{
    cs_code_t out;
    cs_error_t err;
    int rc = s_norm(in, len, &out, &err);
    ck_assert_msg(rc == CS_OK, "'%.*s': %s", (int)len, in, err.msg);
    ck_assert_int_eq(out.cls, CS_CLASS_CODE);
    ck_assert_str_eq(out.key, key);
    ck_assert_str_eq(out.display, display);
}

static void s_code(const char *in, const char *key, const char *display)
{
    s_ok_n(in, strlen(in), key, display);
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
    ck_assert_str_eq(s_desc->name, "icd9pcs");
    ck_assert_str_eq(s_desc->title, "ICD-9-CM volume 3 (procedures)");
    ck_assert_uint_eq(s_desc->kind, CS_PLUGIN_SYSTEM);
    ck_assert_ptr_null(s_desc->loader);
    ck_assert_ptr_nonnull(s_ops->looks_like_code);
    const char *const want[] = {"category", "subcategory", "code", NULL};
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
    s_bad("36 .06", "'36 .06': white space inside a code is not allowed (position 3)");
    s_bad("36. 06", "white space inside a code is not allowed (position 4)");
    /* other white space is not surrounding white space */
    s_bad("\v3606", "'\\x0B3606': '\\x0B' (position 1) is not allowed in an ICD-9-CM procedure "
                    "code");
}
END_TEST

START_TEST(test_code_errors)
{
    s_bad("", "'': empty code");
    s_bad("   ", "empty code (only white space)");
    s_bad(" \t\r\n", "'");
    /* the GEMs placeholder */
    s_bad("NoPCS", "'NoPCS' is the GEMs mark for a procedure without a map, not an ICD-9-CM "
                   "procedure code");
    s_bad("nopcs", "is the GEMs mark for a procedure without a map");
    s_bad("NoI9", "'NoI9' is the GEMs mark for a procedure without a map");
    s_bad(" noi9\n", "'noi9' is the GEMs mark");
    /* digits only */
    s_bad("V36", "'V36': the letter 'V' (position 1) is not allowed; ICD-9-CM procedure codes "
                 "are digits only");
    s_bad("36a6", "the letter 'A' (position 3) is not allowed");
    s_bad("NoDx", "the letter 'N' (position 1)");
    /* lengths */
    s_bad("3", "'3' is too short: an ICD-9-CM procedure code is 2 digits, then up to 2 "
               "decimals");
    s_bad("3.", "is too short");
    s_bad(".", "is too short");
    s_bad("36061", "'36061': too long (5 digits; at most 4)");
    s_bad("36.061", "too long (5 digits; at most 4)");
    /* dots */
    s_bad("36.0.6", "'36.0.6': more than one dot");
    s_bad("36..06", "more than one dot");
    s_bad("360.6", "'360.6': the dot goes after the second character (36.06)");
    s_bad("3.606", "the dot goes after the second character (36.06)");
    s_bad(".36", "the dot goes after the second character (36)");
    s_bad("360.", "the dot goes after the second character (36.0)");
    s_bad("36.", "'36.': nothing after the dot (write 36)");
    /* other punctuation */
    s_bad("36-06", "'36-06': '-' (position 3) is not allowed in an ICD-9-CM procedure code");
    s_bad("36,06", "',' (position 3) is not allowed");
    s_bad("36'", "'36\\'': '\\'' (position 3) is not allowed");
    s_bad("36\\", "'36\\\\'");
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* NUL inside: never raw in the message, never the end of the input */
    s_bad_n("36\0" "06", 5, "'36\\x0006': '\\x00' (position 3) is not allowed");
    s_bad_n("\0", 1, "'\\x00'");
    s_bad_n("36.06\0", 6, "'\\x00' (position 6)");
    /* non-ASCII: UTF-8 digits are not code digits */
    s_bad("36\xd9\xa6", "'36\\xD9\\xA6': '\\xD9' (position 3) is not allowed");
    s_bad("3606\xff", "'\\xFF' (position 5) is not allowed");
    s_bad("\x1b[31m36", "'\\x1B[31m36'");
    /* every single byte in the third place: accepted iff a digit or the dot */
    for (int c = 0; c < 256; c++) {
        char in[4] = {'3', '6', (char)c, '6'};
        cs_code_t out;
        cs_error_t err;
        int rc = s_norm(in, sizeof in, &out, &err);
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
    size_t len = 1 << 20;
    char *big = malloc(len);
    ck_assert_ptr_nonnull(big);

    /* 1 MB of digits: too long, and the message stays short and cut */
    memset(big, '3', len);
    cs_code_t out;
    cs_error_t err;
    ck_assert_int_eq(s_norm(big, len, &out, &err), CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "too long (1048576 digits; at most 4)"));
    ck_assert_ptr_nonnull(strstr(err.msg, "...'"));
    ck_assert_uint_lt(strlen(err.msg), sizeof err.msg - 1);

    /* 1 MB of white space: empty */
    memset(big, ' ', len);
    ck_assert_int_eq(s_norm(big, len, &out, &err), CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty code"));

    /* a valid code padded by 1 MB of white space on both sides */
    memcpy(big + len / 2, "36.06", 5);
    s_ok_n(big, len, "3606", "36.06");

    /* 1 MB of pseudo-random bytes */
    unsigned x = 3606;
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
    ck_assert_int_eq(s_ops->normalize("3", 1, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize("NoPCS", 5, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize("3606", 4, &out, NULL), CS_OK);
    ck_assert_int_eq(s_ops->normalize(NULL, 0, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize(NULL, 3, &out, NULL), CS_EINVAL);
    ck_assert_int_eq(s_ops->normalize("3606", 4, NULL, NULL), CS_EINVAL);
    ck_assert_int_eq(s_ops->looks_like_code(NULL, 0), 0);
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_int_eq(s_ops->normalize(NULL, 3, &out, &err), CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "icd9pcs: normalize called without input"));
}
END_TEST

/* ---- looks_like_code ------------------------------------------------------------------- */

START_TEST(test_looks_like_code)
{
    ck_assert_int_eq(s_looks("36.06"), 1);
    ck_assert_int_eq(s_looks("3606"), 1);
    ck_assert_int_eq(s_looks(" 36. "), 1);
    ck_assert_int_eq(s_looks("36"), 1);
    ck_assert_int_eq(s_looks("36.0"), 1);

    ck_assert_int_eq(s_looks("stent"), 0);
    ck_assert_int_eq(s_looks("36 stent"), 0);
    ck_assert_int_eq(s_looks(""), 0);
    ck_assert_int_eq(s_looks("   "), 0);
    ck_assert_int_eq(s_looks("3"), 0);
    ck_assert_int_eq(s_looks("3."), 0);
    ck_assert_int_eq(s_looks("NoPCS"), 0);
    ck_assert_int_eq(s_looks("NoI9"), 0);
    ck_assert_int_eq(s_looks("36061"), 0);
    ck_assert_int_eq(s_looks("360.6"), 0);
    ck_assert_int_eq(s_looks("36.0.6"), 0);
    ck_assert_int_eq(s_looks("V36"), 0);
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
    if (s_norm_with(ops, code, strlen(code), &out, &err) != CS_OK) {
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
            ck_assert_int_eq(s_norm_with(to, target, n, &out, &err), CS_EMALFORMED);
            ck_assert_ptr_nonnull(strstr(err.msg, "is the GEMs mark for a procedure without"));
            ck_assert_int_eq(s_norm_with(s_ops, target, n, &out, &err), CS_EMALFORMED);
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
