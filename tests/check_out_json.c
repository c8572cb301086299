/* check_out_json.c: the JSON writer of the result interface (wire/cs_out_json.h). Everything
 * it writes is parsed back with jansson (a strict RFC 8259 parser) and compared value by
 * value: scalars at their limits, floats that must round-trip, hostile strings (every control
 * byte, quotes, backslashes, NUL, multi-byte UTF-8, ill-formed bytes repaired), nesting, ids
 * of every scalar type, the validate and search records, mark/rewind, the sticky errors, and
 * a thousand random trees built as jansson values, written through the writer and read back
 * equal. */
#include <check.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cs_out.h"
#include "wire/cs_out_json.h"

Suite *cs_out_json_suite(void);

/* The writer's text parsed back (NUL allowed in strings); fails the test when it is not JSON. */
static json_t *s_parse(const cs_out_json_t *w)
{
    ck_assert_int_eq(cs_out_json_status(w), CS_OK);
    ck_assert_msg(cs_out_json_complete(w), "incomplete: %s", cs_out_json_data(w));
    ck_assert_uint_eq(strlen(cs_out_json_data(w)), cs_out_json_len(w));
    json_error_t err;
    json_t *v = json_loadb(cs_out_json_data(w), cs_out_json_len(w),
                           JSON_ALLOW_NUL | JSON_DECODE_ANY, &err);
    ck_assert_msg(v != NULL, "not JSON (%s at %d): %s", err.text, err.position,
                  cs_out_json_data(w));
    return v;
}

static void s_assert_text(const cs_out_json_t *w, const char *want)
{
    ck_assert_str_eq(cs_out_json_data(w), want);
    json_decref(s_parse(w));
}

static void s_key(cs_out_t *o, const char *k)
{
    cs_out_cstr(o, k);
}

START_TEST(test_scalars)
{
    cs_out_json_t w;
    cs_out_t *o = cs_out_json_init(&w);
    cs_out_map(o, 7);
    cs_out_kv_int(o, "max", INT64_MAX);
    cs_out_kv_int(o, "min", INT64_MIN);
    cs_out_kv_bool(o, "t", 1);
    cs_out_kv_bool(o, "f", 0);
    s_key(o, "nil");
    cs_out_nil(o);
    cs_out_kv_str(o, "null_str", NULL);
    s_key(o, "empty");
    cs_out_array(o, 0);
    s_assert_text(&w, "{\"max\":9223372036854775807,\"min\":-9223372036854775808,\"t\":true,"
                      "\"f\":false,\"nil\":null,\"null_str\":null,\"empty\":[]}");
    json_t *v = s_parse(&w);
    ck_assert(json_integer_value(json_object_get(v, "max")) == INT64_MAX);
    ck_assert(json_integer_value(json_object_get(v, "min")) == INT64_MIN);
    json_decref(v);
    cs_out_json_free(&w);
}
END_TEST

START_TEST(test_floats_round_trip)
{
    static const double vals[] = {0.1, 1.0 / 3, 1e300, -2.5e-308, DBL_MAX, DBL_MIN, 5.0, -0.0,
                                  123456789012345678.0, 0.30000000000000004};
    size_t n = sizeof vals / sizeof vals[0];
    cs_out_json_t w;
    cs_out_t *o = cs_out_json_init(&w);
    cs_out_array(o, (uint32_t)n + 2);
    for (size_t i = 0; i < n; i++) {
        cs_out_f64(o, vals[i]);
    }
    cs_out_f64(o, NAN);
    cs_out_f64(o, INFINITY);
    json_t *v = s_parse(&w);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(v, i);
        ck_assert_msg(json_is_real(x), "item %zu is not a float: %s", i, cs_out_json_data(&w));
        ck_assert_msg(json_real_value(x) == vals[i], "item %zu: %.17g read back as %.17g", i,
                      vals[i], json_real_value(x));
    }
    ck_assert(json_is_null(json_array_get(v, n)));
    ck_assert(json_is_null(json_array_get(v, n + 1)));
    json_decref(v);
    cs_out_json_free(&w);
}
END_TEST

START_TEST(test_hostile_strings)
{
    char all[0x20 + 16];
    for (int c = 0; c < 0x20; c++) {
        all[c] = (char)c; /* NUL included: a str has a length */
    }
    static const char tail[] = "\"\\/\x7f" "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    memcpy(all + 0x20, tail, sizeof tail - 1);
    size_t all_len = 0x20 + sizeof tail - 1;
    cs_out_json_t w;
    cs_out_t *o = cs_out_json_init(&w);
    cs_out_map(o, 3);
    cs_out_strn(o, all + 1, all_len - 1); /* hostile key (jansson reads no NUL in a key) */
    cs_out_strn(o, all, all_len);         /* and value */
    s_key(o, "bad utf8");
    cs_out_strn(o, "a\xff" "b\xc3", 4);
    s_key(o, "quote");
    cs_out_cstr(o, "\"}],{[:");
    json_t *v = s_parse(&w);
    const char *key = NULL;
    json_t *val = NULL;
    int seen = 0;
    json_object_foreach(v, key, val)
    {
        if (json_string_length(val) == all_len) {
            ck_assert(memcmp(json_string_value(val), all, all_len) == 0);
            ck_assert_uint_eq(strlen(key), all_len - 1);
            ck_assert(memcmp(key, all + 1, all_len - 1) == 0);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 1);
    ck_assert_str_eq(json_string_value(json_object_get(v, "bad utf8")),
                     "a\xef\xbf\xbd" "b\xef\xbf\xbd");
    ck_assert_str_eq(json_string_value(json_object_get(v, "quote")), "\"}],{[:");
    json_decref(v);
    /* control bytes are written as escapes, never raw */
    for (size_t i = 0; i < cs_out_json_len(&w); i++) {
        ck_assert_int_ge((unsigned char)cs_out_json_data(&w)[i], 0x20);
    }
    cs_out_json_free(&w);
}
END_TEST

START_TEST(test_nesting)
{
    cs_out_json_t w;
    cs_out_t *o = cs_out_json_init(&w);
    /* [ {"a":[1,[],{}],"b":{"c":[[[true]]]}}, [], "x" ] */
    cs_out_array(o, 3);
    cs_out_map(o, 2);
    s_key(o, "a");
    cs_out_array(o, 3);
    cs_out_int(o, 1);
    cs_out_array(o, 0);
    cs_out_map(o, 0);
    s_key(o, "b");
    cs_out_map(o, 1);
    s_key(o, "c");
    cs_out_array(o, 1);
    cs_out_array(o, 1);
    cs_out_array(o, 1);
    cs_out_bool(o, 1);
    cs_out_array(o, 0);
    cs_out_cstr(o, "x");
    s_assert_text(&w, "[{\"a\":[1,[],{}],\"b\":{\"c\":[[[true]]]}},[],\"x\"]");
    /* a container as deep as allowed, and one more level refused */
    cs_out_json_reset(&w);
    for (int i = 0; i < CS_OUT_JSON_MAX_DEPTH; i++) {
        cs_out_array(o, 1);
    }
    cs_out_int(o, 7);
    json_decref(s_parse(&w));
    cs_out_json_reset(&w);
    for (int i = 0; i <= CS_OUT_JSON_MAX_DEPTH; i++) {
        cs_out_array(o, 1);
    }
    ck_assert_int_eq(cs_out_json_status(&w), CS_EINVAL);
    cs_out_json_free(&w);
}
END_TEST

/* Ids of every scalar type come back as what was sent. */
START_TEST(test_id_echo)
{
    cs_request_t req;
    cs_request_init(&req);
    req.has_id = 1;
    cs_out_json_t w;
    cs_out_t *o = cs_out_json_init(&w);
    const cs_scalar_t ids[] = {
        {.type = CS_SCALAR_NIL},
        {.type = CS_SCALAR_BOOL, .via.b = 1},
        {.type = CS_SCALAR_UINT, .via.u = UINT64_MAX},
        {.type = CS_SCALAR_INT, .via.i = -42},
        {.type = CS_SCALAR_F64, .via.f = 2.5},
        {.type = CS_SCALAR_STR, .via.s = {"req \"7\"\n", 8}},
        {.type = CS_SCALAR_BIN, .via.s = {"\x01\xff", 2}},
    };
    const char *want[] = {"null", "true", "18446744073709551615", "-42", "2.5",
                          "\"req \\\"7\\\"\\n\"", "\"\\u0001\xef\xbf\xbd\""};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        cs_out_json_reset(&w);
        req.id = ids[i];
        cs_reply_begin(o, &req, 1, 0);
        char expect[128];
        snprintf(expect, sizeof expect, "{\"ok\":true,\"id\":%s}", want[i]);
        ck_assert_str_eq(cs_out_json_data(&w), expect);
        if (ids[i].type != CS_SCALAR_UINT) { /* jansson reads int64 only */
            json_decref(s_parse(&w));
        }
    }
    cs_out_json_free(&w);
}
END_TEST

START_TEST(test_records)
{
    static const cs_span_t hint[] = {{"E11.00", 6}, {"E11.9", 5}};
    static const char *const valid_in[] = {"2016"};
    static const cs_span_t repl[] = {{"H40.1110", 8}};
    const cs_validation_t vs[] = {
        {.reason = CS_REASON_VALID, .input = {"e119", 4}, .code = {"E11.9", 5},
         .title = {"Type 2 diabetes", 15}},
        {.reason = CS_REASON_MALFORMED, .input = {"%%", 2}, .message = "bad \"code\""},
        {.reason = CS_REASON_UNKNOWN, .input = {"Z99.99", 6}, .code = {"Z99.99", 6},
         .message = "unknown"},
        {.reason = CS_REASON_NOT_BILLABLE, .input = {"E11", 3}, .code = {"E11", 3},
         .kind = {"category", 8}, .message = "header", .hint = hint, .n_hint = 2},
        {.reason = CS_REASON_NOT_EFFECTIVE, .input = {"H40.11X0", 8}, .code = {"H40.11X0", 8},
         .message = "gone", .valid_in = valid_in, .n_valid_in = 1, .replaced_by = repl,
         .n_replaced_by = 1},
    };
    cs_out_json_t w;
    cs_out_t *o = cs_out_json_init(&w);
    cs_out_array(o, 6);
    for (size_t i = 0; i < 5; i++) {
        cs_out_validation(o, &vs[i]);
    }
    cs_hit_t hit = {.code = {"E11.9", 5}, .title = {"Type 2", 6}, .billable = 1, .score = 900};
    cs_out_hit(o, &hit);
    json_t *v = s_parse(&w);
    json_error_t err;
    json_t *want = json_loads(
        "[{\"input\":\"e119\",\"code\":\"E11.9\",\"valid\":true,\"billable\":true,"
        "\"title\":\"Type 2 diabetes\"},"
        "{\"input\":\"%%\",\"valid\":false,\"reason\":\"malformed\","
        "\"message\":\"bad \\\"code\\\"\"},"
        "{\"input\":\"Z99.99\",\"code\":\"Z99.99\",\"valid\":false,\"reason\":\"unknown\","
        "\"message\":\"unknown\"},"
        "{\"input\":\"E11\",\"code\":\"E11\",\"valid\":false,\"reason\":\"not_billable\","
        "\"kind\":\"category\",\"message\":\"header\",\"hint\":[\"E11.00\",\"E11.9\"]},"
        "{\"input\":\"H40.11X0\",\"code\":\"H40.11X0\",\"valid\":false,"
        "\"reason\":\"not_effective\","
        "\"message\":\"gone\",\"valid_in\":[\"2016\"],\"replaced_by\":[\"H40.1110\"]},"
        "{\"code\":\"E11.9\",\"title\":\"Type 2\",\"billable\":true,\"score\":900}]",
        0, &err);
    ck_assert_msg(want != NULL, "%s", err.text);
    ck_assert_msg(json_equal(v, want), "got %s", cs_out_json_data(&w));
    json_decref(want);
    json_decref(v);
    cs_out_json_free(&w);
}
END_TEST

/* A handler that finds a fault half-way rewinds to its mark and writes an error instead. */
START_TEST(test_mark_rewind)
{
    cs_request_t req;
    cs_request_init(&req);
    req.has_id = 1;
    req.id = (cs_scalar_t){.type = CS_SCALAR_UINT, .via.u = 9};
    cs_out_json_t w;
    cs_out_t *o = cs_out_json_init(&w);
    size_t m = cs_out_mark(o);
    cs_reply_begin(o, &req, 1, 2);
    cs_out_kv_str(o, "system", "icd10cm");
    s_key(o, "results");
    cs_out_array(o, 3);
    cs_out_map(o, 1);
    s_key(o, "half");
    cs_out_rewind(o, m);
    cs_reply_errorf(o, &req, CS_PERR_CORRUPT_RELEASE, "release %s is corrupt", "2021");
    s_assert_text(&w, "{\"ok\":false,\"id\":9,\"error\":{\"code\":\"corrupt_release\","
                      "\"message\":\"release 2021 is corrupt\"}}");
    /* a mark inside a container: the rewind restores the stack there, commas and all */
    cs_out_json_reset(&w);
    cs_out_array(o, 3);
    cs_out_int(o, 1);
    size_t in = cs_out_mark(o);
    cs_out_map(o, 2);
    s_key(o, "x");
    cs_out_array(o, 5);
    cs_out_int(o, 2);
    size_t inner = cs_out_mark(o);
    cs_out_int(o, 3);
    cs_out_rewind(o, inner); /* nested marks: the inner one first */
    cs_out_rewind(o, in);
    cs_out_int(o, 2);
    cs_out_int(o, 3);
    s_assert_text(&w, "[1,2,3]");
    /* a mark never taken is refused */
    cs_out_json_reset(&w);
    cs_out_array(o, 1);
    cs_out_rewind(o, 1000);
    ck_assert_int_eq(cs_out_json_status(&w), CS_EINVAL);
    cs_out_json_free(&w);
}
END_TEST

START_TEST(test_errors_sticky)
{
    cs_out_json_t w;
    cs_out_t *o = cs_out_json_init(&w);
    /* a limit reached is CS_ENOMEM and every later write is ignored */
    cs_out_json_set_limit(&w, 16);
    cs_out_array(o, 2);
    cs_out_cstr(o, "0123456789abcdef");
    ck_assert_int_eq(cs_out_json_status(&w), CS_ENOMEM);
    size_t len = cs_out_json_len(&w);
    cs_out_int(o, 1);
    ck_assert_uint_eq(cs_out_json_len(&w), len);
    ck_assert(!cs_out_json_complete(&w));
    /* reset clears the error and keeps the limit */
    cs_out_json_reset(&w);
    cs_out_cstr(o, "short");
    s_assert_text(&w, "\"short\"");
    /* a second top-level value, a container as a key */
    cs_out_int(o, 2);
    ck_assert_int_eq(cs_out_json_status(&w), CS_EINVAL);
    cs_out_json_set_limit(&w, 0);
    cs_out_json_reset(&w);
    cs_out_map(o, 1);
    cs_out_array(o, 1);
    ck_assert_int_eq(cs_out_json_status(&w), CS_EINVAL);
    /* a key that is not a str is quoted, so the text stays JSON */
    cs_out_json_reset(&w);
    cs_out_map(o, 2);
    cs_out_int(o, 5);
    cs_out_bool(o, 1);
    cs_out_nil(o);
    cs_out_int(o, 6);
    s_assert_text(&w, "{\"5\":true,\"null\":6}");
    cs_out_json_free(&w);
    cs_out_json_free(&w);
}
END_TEST

/* ---- random trees ---- */

static uint64_t s_rng = 0x9e3779b97f4a7c15u;

static uint32_t s_rand(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

/* A random well-formed UTF-8 string: controls, quotes, backslashes, 2-, 3- and 4-byte chars. */
static json_t *s_rand_str(int nul)
{
    static const char *const parts[] = {"\"", "\\", "\n", "\x01", "\x1f", "/", "a", "Z",
                                        " ", "\xc3\xa9", "\xe2\x80\xa8", "\xf0\x9f\x98\x80",
                                        "\x7f", "}", "]", ":", ","};
    char buf[128];
    size_t n = 0;
    uint32_t k = s_rand(12);
    for (uint32_t i = 0; i < k; i++) {
        const char *p = parts[s_rand(sizeof parts / sizeof parts[0])];
        memcpy(buf + n, p, strlen(p));
        n += strlen(p);
    }
    if (nul && s_rand(8) == 0) {
        buf[n++] = '\0';
    }
    return json_stringn(buf, n);
}

static json_t *s_rand_tree(int depth)
{
    uint32_t kind = s_rand(depth > 5 ? 6 : 8);
    switch (kind) {
    case 0: return json_null();
    case 1: return json_boolean(s_rand(2));
    case 2: return json_integer((json_int_t)(s_rng >> 1) * (s_rand(2) ? 1 : -1));
    case 3: return json_real((double)(int32_t)s_rand(UINT32_MAX) / (1 + s_rand(1000)));
    case 4:
    case 5: return s_rand_str(1);
    case 6: {
        json_t *a = json_array();
        for (uint32_t i = s_rand(5); i > 0; i--) {
            json_array_append_new(a, s_rand_tree(depth + 1));
        }
        return a;
    }
    default: {
        json_t *m = json_object();
        for (uint32_t i = s_rand(5); i > 0; i--) {
            json_t *k = s_rand_str(0); /* jansson reads no NUL in a key */
            json_object_setn_new(m, json_string_value(k), json_string_length(k),
                                 s_rand_tree(depth + 1));
            json_decref(k);
        }
        return m;
    }
    }
}

/* Write a jansson value through the writer. */
static void s_write_tree(cs_out_t *o, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        cs_out_map(o, (uint32_t)json_object_size(v));
        const char *k;
        size_t klen;
        json_t *x;
        json_object_keylen_foreach((json_t *)v, k, klen, x)
        {
            cs_out_strn(o, k, klen);
            s_write_tree(o, x);
        }
        return;
    }
    case JSON_ARRAY:
        cs_out_array(o, (uint32_t)json_array_size(v));
        for (size_t i = 0; i < json_array_size(v); i++) {
            s_write_tree(o, json_array_get(v, i));
        }
        return;
    case JSON_STRING: cs_out_strn(o, json_string_value(v), json_string_length(v)); return;
    case JSON_INTEGER: cs_out_int(o, json_integer_value(v)); return;
    case JSON_REAL: cs_out_f64(o, json_real_value(v)); return;
    case JSON_TRUE: cs_out_bool(o, 1); return;
    case JSON_FALSE: cs_out_bool(o, 0); return;
    case JSON_NULL: cs_out_nil(o); return;
    }
}

START_TEST(test_random_trees)
{
    cs_out_json_t w;
    cs_out_t *o = cs_out_json_init(&w);
    for (int i = 0; i < 1000; i++) {
        json_t *tree = s_rand_tree(0);
        cs_out_json_reset(&w);
        s_write_tree(o, tree);
        json_t *back = s_parse(&w);
        ck_assert_msg(json_equal(tree, back), "tree %d read back different: %s", i,
                      cs_out_json_data(&w));
        json_decref(back);
        json_decref(tree);
    }
    cs_out_json_free(&w);
}
END_TEST

Suite *cs_out_json_suite(void)
{
    Suite *s = suite_create("out_json");
    TCase *tc = tcase_create("writer");
    tcase_add_test(tc, test_scalars);
    tcase_add_test(tc, test_floats_round_trip);
    tcase_add_test(tc, test_hostile_strings);
    tcase_add_test(tc, test_nesting);
    tcase_add_test(tc, test_id_echo);
    tcase_add_test(tc, test_records);
    tcase_add_test(tc, test_mark_rewind);
    tcase_add_test(tc, test_errors_sticky);
    tcase_add_test(tc, test_random_trees);
    suite_add_tcase(s, tc);
    return s;
}
