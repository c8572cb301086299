/* check_search_broker.c: the search op through a live codesetd: the bundled sample release
 * and, where ../shared/data has it, the official ICD-10-CM FY2021. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 5000

static cs_daemon_t s_d;
static cs_tclient_t *s_admin, *s_query;

static void s_start_with(const char *xml, const char *order, const char *label)
{
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    s_admin = cs_tclient_new(s_d.admin_ep);
    s_query = cs_tclient_new(s_d.query_ep);
    ck_assert_ptr_nonnull(s_admin);
    ck_assert_ptr_nonnull(s_query);
    char state[64];
    const char *files[] = {xml, order};
    const msgpack_object *r = cs_daemon_load(&s_d, s_admin, NULL, label, "2020-10-01", files,
                                             2, state, sizeof state, 60000);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(state, "done");
}

static void s_stop(void)
{
    cs_tclient_destroy(&s_query);
    cs_tclient_destroy(&s_admin);
    ck_assert_int_eq(cs_daemon_stop(&s_d), 0);
    cs_daemon_cleanup(&s_d);
}

/* A search request; limit/offset < 0 are left out. */
static const msgpack_object *s_search(const char *q, int64_t limit, int64_t offset,
                                      int billable_only)
{
    msgpack_packer *pk = cs_tclient_begin(s_query);
    msgpack_pack_map(pk, 3 + (limit >= -100 ? 1 : 0) + (offset >= 0 ? 1 : 0) +
                             (billable_only ? 1 : 0));
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "q", q);
    if (limit >= -100) {
        cs_tpack_str(pk, "limit");
        msgpack_pack_int64(pk, limit);
    }
    if (offset >= 0) {
        cs_tpack_str(pk, "offset");
        msgpack_pack_int64(pk, offset);
    }
    if (billable_only) {
        cs_tpack_str(pk, "billable_only");
        msgpack_pack_true(pk);
    }
    const msgpack_object *r = cs_tclient_call(s_query, T_TIMEOUT);
    ck_assert_msg(r != NULL, "no reply to search '%.40s'", q);
    return r;
}

static const msgpack_object *s_hits(const msgpack_object *r)
{
    const msgpack_object *h = cs_obj_get(r, "hits");
    ck_assert_msg(h && h->type == MSGPACK_OBJECT_ARRAY, "reply without hits");
    return h;
}

/* The code of hit i, or "" */
static const char *s_code_at(const msgpack_object *r, uint32_t i, char *buf, size_t cap)
{
    const msgpack_object *h = s_hits(r);
    if (i >= h->via.array.size) {
        buf[0] = '\0';
        return buf;
    }
    return cs_obj_cstr(cs_obj_get(&h->via.array.ptr[i], "code"), buf, cap);
}

static void s_sample_paths(char *xml, char *order, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(xml, cap, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml", cwd);
    snprintf(order, cap, "%s/loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt", cwd);
}

static void s_start_sample(void)
{
    char xml[PATH_MAX], order[PATH_MAX];
    s_sample_paths(xml, order, sizeof xml);
    s_start_with(xml, order, "S");
}

START_TEST(test_sample_relevance)
{
    s_start_sample();
    char buf[64];
    const msgpack_object *r = s_search("type 2 diabetes without complications", -1000, -1, 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert_str_eq(s_code_at(r, 0, buf, sizeof buf), "E11.9");
    ck_assert(cs_obj_is_str(cs_obj_get(r, "release"), "S"));
    const msgpack_object *hit = &s_hits(r)->via.array.ptr[0];
    ck_assert(cs_obj_true(cs_obj_get(hit, "billable")));
    ck_assert(cs_obj_is_str(cs_obj_get(hit, "title"),
                            "Type 2 diabetes mellitus without complications"));
    ck_assert_int_gt(cs_obj_int(cs_obj_get(hit, "score")), 0);
    r = s_search("hypertension", -1000, -1, 0);
    ck_assert_str_eq(s_code_at(r, 0, buf, sizeof buf), "I10");
    /* a typo of five or more letters */
    r = s_search("diabetis mellitus type 2", -1000, -1, 0);
    ck_assert_str_eq(s_code_at(r, 0, buf, sizeof buf), "E11");
    r = s_search("HYPERTENION", -1000, -1, 0);
    ck_assert_str_eq(s_code_at(r, 0, buf, sizeof buf), "I10");
    s_stop();
}
END_TEST

START_TEST(test_sample_code_prefix)
{
    s_start_sample();
    char buf[64], prev[64];
    const msgpack_object *r = s_search("e11.6", -1000, -1, 0);
    ck_assert_str_eq(s_code_at(r, 0, buf, sizeof buf), "E11.6");
    uint32_t n = s_hits(r)->via.array.size;
    ck_assert_uint_eq((uint64_t)cs_obj_int(cs_obj_get(r, "total")), n);
    ck_assert_uint_ge(n, 3);
    snprintf(prev, sizeof prev, "%s", buf);
    for (uint32_t i = 1; i < n; i++) {
        s_code_at(r, i, buf, sizeof buf);
        ck_assert_msg(strncmp(buf, "E11.6", 5) == 0, "%s is not under E11.6", buf);
        ck_assert_msg(strcmp(prev, buf) < 0, "%s before %s: not in code order", prev, buf);
        snprintf(prev, sizeof prev, "%s", buf);
    }
    r = s_search("s7200", -1000, -1, 0);
    ck_assert_str_eq(s_code_at(r, 0, buf, sizeof buf), "S72.00");
    r = s_search("I10", -1000, -1, 0);
    ck_assert_str_eq(s_code_at(r, 0, buf, sizeof buf), "I10");
    s_stop();
}
END_TEST

START_TEST(test_sample_paging_and_billable)
{
    s_start_sample();
    const msgpack_object *r = s_search("diabetes", 500, -1, 0);
    int64_t total = cs_obj_int(cs_obj_get(r, "total"));
    ck_assert_int_gt(total, 10);
    ck_assert_int_eq(s_hits(r)->via.array.size, total);
    char all[200][16];
    ck_assert_int_le(total, 200);
    for (int64_t i = 0; i < total; i++) {
        s_code_at(r, (uint32_t)i, all[i], sizeof all[i]);
    }
    /* pages of 7: no overlap, nothing missed, same order */
    int64_t seen = 0;
    for (int64_t off = 0; off < total; off += 7) {
        r = s_search("diabetes", 7, off, 0);
        ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "total")), total);
        uint32_t n = s_hits(r)->via.array.size;
        ck_assert_uint_eq(n, off + 7 <= total ? 7 : (uint32_t)(total - off));
        for (uint32_t i = 0; i < n; i++) {
            char buf[16];
            ck_assert_str_eq(s_code_at(r, i, buf, sizeof buf), all[off + i]);
            seen++;
        }
    }
    ck_assert_int_eq(seen, total);
    r = s_search("diabetes", 7, total, 0);
    ck_assert_uint_eq(s_hits(r)->via.array.size, 0);
    /* billable_only: fewer, and every hit billable */
    r = s_search("diabetes", 500, -1, 1);
    int64_t billable = cs_obj_int(cs_obj_get(r, "total"));
    ck_assert_int_gt(billable, 0);
    ck_assert_int_lt(billable, total);
    const msgpack_object *h = s_hits(r);
    for (uint32_t i = 0; i < h->via.array.size; i++) {
        ck_assert(cs_obj_true(cs_obj_get(&h->via.array.ptr[i], "billable")));
    }
    s_stop();
}
END_TEST

START_TEST(test_sample_bad_input)
{
    s_start_sample();
    char buf[64];
    /* nothing matches: ok, total 0, no hits */
    const msgpack_object *r = s_search("xylophone zebra", -1000, -1, 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "total")), 0);
    ck_assert_uint_eq(s_hits(r)->via.array.size, 0);
    /* an empty query, or one of blanks or punctuation only: zero hits */
    r = s_search("", -1000, -1, 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "total")), 0);
    r = s_search("  .,;- ", -1000, -1, 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "total")), 0);
    /* control characters: refused by the decoder, or separators for the engine */
    r = s_search("type\x01" "2\t diabetes\x7f", -1000, -1, 0);
    if (cs_obj_true(cs_obj_get(r, "ok"))) {
        ck_assert_str_eq(s_code_at(r, 0, buf, sizeof buf), "E11");
    } else {
        ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "bad_request");
    }
    /* limits out of range: an error or a clamped answer, never a stall */
    const int64_t limits[] = {-5, 0, 1000000000000LL, 501};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        r = s_search("diabetes", limits[i], -1, 0);
        const char *code = cs_obj_error_code(r, buf, sizeof buf);
        if (!cs_obj_true(cs_obj_get(r, "ok"))) {
            ck_assert_str_eq(code, "bad_request");
        } else {
            ck_assert_uint_le(s_hits(r)->via.array.size, 500);
            ck_assert_uint_ge(s_hits(r)->via.array.size, 1);
        }
    }
    r = s_search("diabetes", 20, 1000000000000LL, 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")) ||
              strcmp(cs_obj_error_code(r, buf, sizeof buf), "bad_request") == 0);
    /* a 100 kB query is refused or answered at once */
    size_t n = 100 * 1024;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        big[i] = "diabetes "[i % 9];
    }
    big[n] = '\0';
    r = s_search(big, -1000, -1, 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")) ||
              strcmp(cs_obj_error_code(r, buf, sizeof buf), "bad_request") == 0);
    free(big);
    /* and the broker still answers lookups */
    r = s_search("I10", -1000, -1, 0);
    ck_assert_str_eq(s_code_at(r, 0, buf, sizeof buf), "I10");
    s_stop();
}
END_TEST

/* ---- the official FY2021 release ---- */

static int s_start_fy2021(void)
{
    char xml[PATH_MAX], order[PATH_MAX];
    int ok = cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml) &&
             cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order);
    if (!ok) {
        return 0;
    }
    char axml[PATH_MAX], aorder[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(xml, axml));
    ck_assert_ptr_nonnull(realpath(order, aorder));
    s_start_with(axml, aorder, "2021");
    return 1;
}

/* q's first hit is want */
static void s_first_is(const char *q, const char *want)
{
    char buf[64];
    const msgpack_object *r = s_search(q, -1000, -1, 0);
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "search '%s' failed", q);
    ck_assert_msg(strcmp(s_code_at(r, 0, buf, sizeof buf), want) == 0,
                  "'%s': first hit %s, want %s", q, buf, want);
}

START_TEST(test_fy2021_relevance)
{
    CS_SKIP_UNLESS_DATA(s_start_fy2021(), "icd10cm/2021");
    /* what a coder expects on top */
    s_first_is("type 2 diabetes without complications", "E11.9");
    s_first_is("hypertension", "I10");
    s_first_is("essential hypertension", "I10");
    s_first_is("high blood pressure", "I10");
    s_first_is("chest pain unspecified", "R07.9");
    s_first_is("type 1 diabetes", "E10");
    s_first_is("fracture of neck of right femur", "S72.001");
    s_first_is("sezary", "C84.1");
    s_first_is("S\xc3\xa9zary disease", "C84.1");
    s_first_is("SEZARY DISEASE SPLEEN", "C84.17");
    /* typos of five letters or more */
    s_first_is("hypertenion", "I10");
    s_first_is("diabetis type 2", "E11");
    s_first_is("pneumonai unspecified", "J18");
    /* typed prefixes: the short titles' abbreviations ("Type 2 diab w ...") must not push
     * the category down */
    s_first_is("diab", "E10");
    s_first_is("type 2 diab", "E11");
    s_first_is("hypertens", "I10");
    /* codes by prefix, in code order */
    s_first_is("E11.6", "E11.6");
    s_first_is("s7200", "S72.00");
    s_first_is("I10", "I10");
    char buf[64];
    const msgpack_object *r = s_search("s72.001", 3, -1, 0);
    ck_assert_str_eq(s_code_at(r, 1, buf, sizeof buf), "S72.001A");
    ck_assert_str_eq(s_code_at(r, 2, buf, sizeof buf), "S72.001B");
    /* a whole word above a word that only starts with it */
    r = s_search("gout", 1, -1, 0);
    ck_assert_msg(strncmp(s_code_at(r, 0, buf, sizeof buf), "M1", 2) == 0, "gout: %s", buf);
    s_stop();
}
END_TEST

START_TEST(test_fy2021_short_prefixes_are_bounded)
{
    CS_SKIP_UNLESS_DATA(s_start_fy2021(), "icd10cm/2021");
    /* the widest one-letter prefixes answer in time, with a true total */
    const char *qs[] = {"o", "s", "e", "d", "a b c d e f g"};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        const msgpack_object *r = s_search(qs[i], 20, -1, 0);
        ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        ck_assert_uint_le(s_hits(r)->via.array.size, 20);
    }
    const msgpack_object *r = s_search("o", 20, -1, 0);
    ck_assert_int_gt(cs_obj_int(cs_obj_get(r, "total")), 10000);
    r = s_search("o", 20, -1, 1);
    ck_assert_int_gt(cs_obj_int(cs_obj_get(r, "total")), 5000);
    s_stop();
}
END_TEST

Suite *cs_search_broker_suite(void);
Suite *cs_search_broker_suite(void)
{
    Suite *s = suite_create("search_broker");
    TCase *tc = tcase_create("sample release");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sample_relevance);
    tcase_add_test(tc, test_sample_code_prefix);
    tcase_add_test(tc, test_sample_paging_and_billable);
    tcase_add_test(tc, test_sample_bad_input);
    suite_add_tcase(s, tc);
    tc = tcase_create("FY2021");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fy2021_relevance);
    tcase_add_test(tc, test_fy2021_short_prefixes_are_bounded);
    suite_add_tcase(s, tc);
    return s;
}
