/* check_icd9cm.c: the ICD-9-CM diagnoses system plugin, loaded through the plugin host:
 * normalize() on numeric, V and E codes and on hostile input, looks_like_code(), and every code
 * of the diagnosis GEMs (with the icd10cm plugin for the ICD-10-CM side) when ../shared/data is
 * present. */
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
static const cs_system_ops_t *s_icd10cm; /* the other side of the GEMs */

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
    s_ops = s_load("icd9cm");
    s_desc = cs_plugin_host_system(s_host, "icd9cm", 6);
}

static void s_setup_gems(void)
{
    s_setup();
    s_icd10cm = s_load("icd10cm");
}

static void s_teardown(void)
{
    cs_plugin_host_destroy(&s_host);
    s_desc = NULL;
    s_ops = NULL;
    s_icd10cm = NULL;
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
    ck_assert_str_eq(s_desc->name, "icd9cm");
    ck_assert_str_eq(s_desc->title, "ICD-9-CM (diagnoses)");
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
    s_bad("250 .00", "'250 .00': white space inside a code is not allowed (position 4)");
    s_bad("250. 00", "white space inside a code is not allowed (position 5)");
    s_bad("V 10", "white space inside");
    /* other white space is not surrounding white space */
    s_bad("\v250", "'\\x0B250': '\\x0B' (position 1) is not allowed in an ICD-9-CM code");
}
END_TEST

START_TEST(test_code_errors)
{
    s_bad("", "'': empty code");
    s_bad("   ", "empty code (only white space)");
    s_bad(" \t\r\n", "'");
    /* the GEMs placeholder */
    s_bad("NoDx", "'NoDx' is the GEMs mark for a diagnosis without a map, not an ICD-9-CM code");
    s_bad("nodx", "is the GEMs mark for a diagnosis without a map");
    s_bad(" NODX ", "'NODX' is the GEMs mark");
    /* the first character */
    s_bad("A10", "'A10' must start with a digit, V or E");
    s_bad("X", "must start with a digit, V or E");
    s_bad(".250", "'.250' must start with a digit, V or E");
    /* digits after the first character */
    s_bad("25A", "'25A': position 3 must be a digit (a numeric code is 3 digits, then up to 2 "
                 "decimals)");
    s_bad("VV10", "position 2 must be a digit (a V code is V and 2 digits, then up to 2 "
                  "decimals)");
    s_bad("E84X", "position 4 must be a digit (an E code is E and 3 digits, then at most 1 "
                  "decimal)");
    s_bad("NoPCS", "must start with a digit, V or E");
    /* lengths */
    s_bad("25", "'25' is too short: a numeric code is 3 digits, then up to 2 decimals");
    s_bad("2", "is too short");
    s_bad("V1", "'V1' is too short: a V code is V and 2 digits");
    s_bad("V", "is too short: a V code");
    s_bad("E84", "'E84' is too short: an E code is E and 3 digits");
    s_bad("E", "is too short: an E code");
    s_bad("250001", "'250001': too long (6 characters; a numeric code has at most 5)");
    s_bad("250.001", "too long (6 characters; a numeric code has at most 5)");
    s_bad("V10051", "too long (6 characters; a V code has at most 5)");
    s_bad("E849.01", "'E849.01': too long (6 characters; an E code has at most 5)");
    s_bad("E84901", "an E code has at most 5");
    /* dots */
    s_bad("250.0.0", "'250.0.0': more than one dot");
    s_bad("250..0", "more than one dot");
    s_bad("25.00", "'25.00': the dot goes after the third character in a numeric code "
                   "(250.0)");
    s_bad("2500.0", "the dot goes after the third character in a numeric code (250.00)");
    s_bad("V1.005", "the dot goes after the third character in a V code (V10.05)");
    s_bad("E84.90", "'E84.90': the dot goes after the fourth character in an E code (E849.0)");
    s_bad("E8490.", "the dot goes after the fourth character in an E code (E849.0)");
    s_bad("250.", "'250.': nothing after the dot (write 250)");
    s_bad("V10.", "nothing after the dot (write V10)");
    s_bad("E849.", "nothing after the dot (write E849)");
    /* other punctuation */
    s_bad("001-139", "'001-139': '-' (position 4) is not allowed in an ICD-9-CM code");
    s_bad("250*", "'*' (position 4) is not allowed");
    s_bad("250'", "'250\\'': '\\'' (position 4) is not allowed");
    s_bad("25\\0", "'25\\\\0'");
}
END_TEST

START_TEST(test_hostile_bytes)
{
    /* NUL inside: never raw in the message, never the end of the input */
    s_bad_n("25\0" "0", 4, "'25\\x000': '\\x00' (position 3) is not allowed");
    s_bad_n("\0", 1, "'\\x00'");
    s_bad_n("250.00\0", 7, "'\\x00' (position 7)");
    /* non-ASCII: UTF-8 letters are not code letters */
    s_bad("\xc3\x89" "849", "'\\xC3\\x89849': '\\xC3' (position 1) is not allowed");
    s_bad("250\xff", "'\\xFF' (position 4) is not allowed");
    s_bad("\x1b[31m250", "'\\x1B[31m250'");
    /* every single byte in the fourth place: accepted iff a digit or the dot */
    for (int c = 0; c < 256; c++) {
        char in[5] = {'2', '5', '0', (char)c, '0'};
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
    s_ok_n("250.00XXXX", 6, "25000", "250.00");
    s_ok_n("E849.0", 4, "E849", "E849");
}
END_TEST

START_TEST(test_long_input)
{
    size_t len = 1 << 20;
    char *big = malloc(len);
    ck_assert_ptr_nonnull(big);

    /* 1 MB of digits: too long, and the message stays short and cut */
    memset(big, '2', len);
    cs_code_t out;
    cs_error_t err;
    ck_assert_int_eq(s_norm(big, len, &out, &err), CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "too long (1048576 characters; a numeric code has at "
                                          "most 5)"));
    ck_assert_ptr_nonnull(strstr(err.msg, "...'"));
    ck_assert_uint_lt(strlen(err.msg), sizeof err.msg - 1);

    /* 1 MB of white space: empty */
    memset(big, ' ', len);
    ck_assert_int_eq(s_norm(big, len, &out, &err), CS_EMALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty code"));

    /* a valid code padded by 1 MB of white space on both sides */
    memcpy(big + len / 2, "v10.05", 6);
    s_ok_n(big, len, "V1005", "V10.05");

    /* 1 MB of pseudo-random bytes */
    unsigned x = 25000;
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
    ck_assert_int_eq(s_ops->normalize("25", 2, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize("NoDx", 4, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize("25000", 5, &out, NULL), CS_OK);
    ck_assert_int_eq(s_ops->normalize(NULL, 0, &out, NULL), CS_EMALFORMED);
    ck_assert_int_eq(s_ops->normalize(NULL, 3, &out, NULL), CS_EINVAL);
    ck_assert_int_eq(s_ops->normalize("25000", 5, NULL, NULL), CS_EINVAL);
    ck_assert_int_eq(s_ops->looks_like_code(NULL, 0), 0);
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_int_eq(s_ops->normalize(NULL, 3, &out, &err), CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "icd9cm: normalize called without input"));
}
END_TEST

/* ---- looks_like_code ------------------------------------------------------------------- */

START_TEST(test_looks_like_code)
{
    ck_assert_int_eq(s_looks("250.00"), 1);
    ck_assert_int_eq(s_looks("25000"), 1);
    ck_assert_int_eq(s_looks(" 250. "), 1);
    ck_assert_int_eq(s_looks("25"), 1);
    ck_assert_int_eq(s_looks("V10.05"), 1);
    ck_assert_int_eq(s_looks("v1"), 1);
    ck_assert_int_eq(s_looks("E849.0"), 1);
    ck_assert_int_eq(s_looks("e84"), 1);

    ck_assert_int_eq(s_looks("diabetes"), 0);
    ck_assert_int_eq(s_looks("vomiting"), 0);
    ck_assert_int_eq(s_looks("250 diabetes"), 0);
    ck_assert_int_eq(s_looks(""), 0);
    ck_assert_int_eq(s_looks("   "), 0);
    ck_assert_int_eq(s_looks("2"), 0);
    ck_assert_int_eq(s_looks("V"), 0);
    ck_assert_int_eq(s_looks("NoDx"), 0);
    ck_assert_int_eq(s_looks("250001"), 0);
    ck_assert_int_eq(s_looks("E849.01"), 0);
    ck_assert_int_eq(s_looks("25.0"), 0);
    ck_assert_int_eq(s_looks("E11.9"), 0);
    ck_assert_int_eq(s_looks("250.0.0"), 0);
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
    if (s_norm_with(ops, code, strlen(code), &out, &err) != CS_OK) {
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
            ck_assert_int_eq(s_norm_with(to, target, 4, &out, &err), CS_EMALFORMED);
            ck_assert_int_eq(s_norm_with(s_ops, target, 4, &out, &err), CS_EMALFORMED);
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
