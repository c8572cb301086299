/* check_claim_lines.c: a claim's lines are validate's results. Through a live codesetd over
 * ZeroMQ on ICD-10-CM FY2016 and FY2017 and the FY2020 conversion table: a claim dated
 * 2017-01-01 with a valid code, a header (E11), a code deleted on 2016-10-01 and split by the
 * table (H40.11X0), an unknown code and a malformed one answers, on each line, exactly the
 * keys and values validate answers for the same code on the same date (line and system
 * ahead of them), and the invalid_code edit of the header names the codes to pick from.
 * Skips, saying so, where ../shared/data is absent. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 120000
#define S_CONV                                                                                 \
    "icd10cm/conversion/ICD-10-CM-Conversion-Table-FY20-Effective-10-1-2019-corrected.csv"

static const char *const s_codes[] = {"E11.9", "E11", "H40.11X0", "A00.00", "E11.9.9Z"};
#define N_CODES (sizeof s_codes / sizeof s_codes[0])

static const msgpack_object *s_validate(cs_tclient_t *q)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "date", "2017-01-01");
    cs_tpack_str(pk, "codes");
    msgpack_pack_array(pk, N_CODES);
    for (size_t i = 0; i < N_CODES; i++) {
        cs_tpack_str(pk, s_codes[i]);
    }
    return cs_tclient_call(q, T_TIMEOUT);
}

static const msgpack_object *s_claim(cs_tclient_t *q)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "claim");
    cs_tpack_kv(pk, "date", "2017-01-01");
    cs_tpack_kv(pk, "setting", "outpatient");
    cs_tpack_str(pk, "diagnoses");
    msgpack_pack_array(pk, N_CODES);
    for (size_t i = 0; i < N_CODES; i++) {
        msgpack_pack_map(pk, 1);
        cs_tpack_kv(pk, "code", s_codes[i]);
    }
    return cs_tclient_call(q, T_TIMEOUT);
}

/* The claim line holds line, system, then validate's result key for key, in its order. */
static void s_same(const msgpack_object *line, const msgpack_object *v, size_t i)
{
    ck_assert_int_eq(line->type, MSGPACK_OBJECT_MAP);
    ck_assert_int_eq(v->type, MSGPACK_OBJECT_MAP);
    ck_assert_msg(line->via.map.size == v->via.map.size + 2, "%s: %u keys, validate's %u",
                  s_codes[i], line->via.map.size, v->via.map.size);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(line, "line")), (int64_t)i);
    ck_assert(cs_obj_is_str(cs_obj_get(line, "system"), "icd10cm"));
    for (uint32_t k = 0; k < v->via.map.size; k++) {
        const msgpack_object_kv *a = &line->via.map.ptr[k + 2], *b = &v->via.map.ptr[k];
        char key[32];
        ck_assert_msg(msgpack_object_equal(a->key, b->key) && msgpack_object_equal(a->val, b->val),
                      "%s: key %u (%s) differs from validate's", s_codes[i], k,
                      cs_obj_cstr(&b->key, key, sizeof key));
    }
}

/* The line's reason, checked so the test covers what it says it covers. */
static void s_reason(const msgpack_object *v, const char *want)
{
    char got[32];
    ck_assert_msg(cs_obj_is_str(cs_obj_get(v, "reason"), want), "reason %s, not %s",
                  cs_obj_cstr(cs_obj_get(v, "reason"), got, sizeof got), want);
}

START_TEST(test_lines_are_validate_results)
{
    char x16[PATH_MAX], o16[PATH_MAX], x17[PATH_MAX], o17[PATH_MAX], tab[PATH_MAX];
    int ok = cs_test_data_path("icd10cm/2016/icd10cm_tabular_2016.xml", x16, sizeof x16) &&
             cs_test_data_path("icd10cm/2016/icd10cm_order_2016.txt", o16, sizeof o16) &&
             cs_test_data_path("icd10cm/2017/icd10cm_tabular_2017.xml", x17, sizeof x17) &&
             cs_test_data_path("icd10cm/2017/icd10cm_order_2017.txt", o17, sizeof o17) &&
             cs_test_data_path(S_CONV, tab, sizeof tab);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2016, icd10cm/2017 or the FY2020 conversion table");
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep), *q2 = cs_tclient_new(d.query_ep);
    char state[64];
    const char *f16[] = {x16, o16}, *f17[] = {x17, o17}, *fconv[] = {tab};
    cs_daemon_load(&d, admin, "icd10cm-tabular", "2016", "2015-10-01", f16, 2, state,
                   sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    cs_daemon_load(&d, admin, "icd10cm-tabular", "2017", "2016-10-01", f17, 2, state,
                   sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    cs_daemon_load(&d, admin, "icd10cm-conversion", "fy2020", "2019-10-01", fconv, 1, state,
                   sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");

    const msgpack_object *vr = s_validate(q2); /* a reply lives until its client's next call */
    ck_assert(cs_obj_true(cs_obj_get(vr, "ok")));
    const msgpack_object v = *cs_obj_get(vr, "results");
    ck_assert_uint_eq(v.via.array.size, N_CODES);
    const msgpack_object *r = s_claim(q);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    const msgpack_object *lines = cs_obj_get(r, "lines");
    ck_assert_uint_eq(lines->via.array.size, N_CODES);
    for (size_t i = 0; i < N_CODES; i++) {
        s_same(&lines->via.array.ptr[i], &v.via.array.ptr[i], i);
    }
    s_reason(&lines->via.array.ptr[1], "not_billable");
    s_reason(&lines->via.array.ptr[2], "not_effective");
    s_reason(&lines->via.array.ptr[3], "unknown");
    s_reason(&lines->via.array.ptr[4], "malformed");
    ck_assert_uint_eq(cs_obj_get(&lines->via.array.ptr[1], "hint")->via.array.size, 20);
    ck_assert_uint_eq(cs_obj_get(&lines->via.array.ptr[2], "replaced_by")->via.array.size, 4);
    ck_assert(cs_obj_is_str(&cs_obj_get(&lines->via.array.ptr[2], "valid_in")->via.array.ptr[0],
                            "2016"));
    /* the header's invalid_code edit names the codes to pick from, as validate does */
    const msgpack_object *edits = cs_obj_get(r, "edits");
    int seen = 0;
    for (uint32_t k = 0; k < edits->via.array.size; k++) {
        const msgpack_object *e = &edits->via.array.ptr[k];
        char msg[512];
        if (cs_obj_is_str(cs_obj_get(e, "edit"), "invalid_code") &&
            cs_obj_int(&cs_obj_get(e, "lines")->via.array.ptr[0]) == 1) {
            cs_obj_cstr(cs_obj_get(e, "message"), msg, sizeof msg);
            ck_assert_msg(strstr(msg, "E11 is a header, not billable: pick one of E11.00"), "%s",
                          msg);
            seen = 1;
        }
    }
    ck_assert(seen);
    cs_tclient_destroy(&q2);
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    cs_daemon_stop(&d);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_claim_lines_suite(void);
Suite *cs_claim_lines_suite(void)
{
    Suite *s = suite_create("claim_lines");
    TCase *tc = tcase_create("broker");
    tcase_set_timeout(tc, 900);
    tcase_add_test(tc, test_lines_are_validate_results);
    suite_add_tcase(s, tc);
    return s;
}
