/* check_addenda.c: the ICD-10-CM addenda files as a change list (`codeset addenda`), and
 * the broker's diff between two releases loaded from order files alone, checked against the
 * official order addenda of the later year (FY2025, FY2026). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../clients/codeset/cli_addenda.h"
#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 60000

Suite *cs_addenda_suite(void);

static cs_addendum_t *s_read_ok(const char *fixture, size_t *n)
{
    char path[700], err[512];
    cs_test_fixture_path(fixture, path, sizeof path);
    cs_addendum_t *a;
    ck_assert_msg(cs_addenda_read(path, &a, n, err, sizeof err) == 0, "%s", err);
    return a;
}

START_TEST(test_code_addenda)
{
    size_t n;
    cs_addendum_t *a = s_read_ok("addenda/codes.txt", &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(a[0].action, CS_ADDENDUM_DELETE);
    ck_assert_str_eq(a[0].code, "Z28.3");
    ck_assert_int_eq(a[0].billable, -1);
    ck_assert_str_eq(a[0].title, "Underimmunization status");
    ck_assert_int_eq(a[1].action, CS_ADDENDUM_ADD);
    ck_assert_str_eq(a[1].code, "Z28.310");
    ck_assert_int_eq(a[2].action, CS_ADDENDUM_REVISE);
    ck_assert_str_eq(a[2].code, "A77.41");
    ck_assert_str_eq(a[2].old_title, "Ehrlichiosis chafeensis [E. chafeensis]");
    ck_assert_str_eq(a[2].title, "Ehrlichiosis chaffeensis [E. chaffeensis]");
    free(a);
}
END_TEST

START_TEST(test_order_addenda)
{
    size_t n;
    cs_addendum_t *a = s_read_ok("addenda/order.txt", &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(a[0].code, "Z28.31");
    ck_assert_int_eq(a[0].billable, 0);
    ck_assert_str_eq(a[0].short_title, "Underimmunization for COVID-19 status");
    ck_assert_str_eq(a[0].title, "Underimmunization for COVID-19 status");
    ck_assert_int_eq(a[1].billable, 1);
    ck_assert_int_eq(a[2].action, CS_ADDENDUM_DELETE);
    free(a);
}
END_TEST

START_TEST(test_bad_addenda)
{
    char path[700], err[512];
    cs_addendum_t *a;
    size_t n;
    cs_test_fixture_path("addenda/orphan_revise.txt", path, sizeof path);
    ck_assert_int_eq(cs_addenda_read(path, &a, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":1: \"Revise to:\" A77.41 without"));
    ck_assert_ptr_null(a);
    cs_test_fixture_path("addenda/bad_code.txt", path, sizeof path);
    ck_assert_int_eq(cs_addenda_read(path, &a, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":2: not an addenda line"));
    ck_assert_int_eq(cs_addenda_read("/nonexistent/addenda.txt", &a, &n, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

/* Is code in the diff list (a list of {code, ...})? Returns the entry or NULL. */
static const msgpack_object *s_find(const msgpack_object *list, const char *code)
{
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        if (cs_obj_is_str(cs_obj_get(&list->via.array.ptr[i], "code"), code)) {
            return &list->via.array.ptr[i];
        }
    }
    return NULL;
}

/* Load the order files of year - 1 and year, diff them, and hold the diff against the year's
 * order addenda: the same codes added and deleted, every revision with its new title. */
static void s_check_year(int year)
{
    char older[700], newer[700], addenda[700], rel[128];
    snprintf(rel, sizeof rel, "icd10cm/order/icd10cm_order_%d.txt", year - 1);
    int ok = cs_test_data_path(rel, older, sizeof older);
    snprintf(rel, sizeof rel, "icd10cm/order/icd10cm_order_%d.txt", year);
    ok = ok && cs_test_data_path(rel, newer, sizeof newer);
    snprintf(rel, sizeof rel, "icd10cm/order/icd10cm_order_addenda_%d.txt", year);
    ok = ok && cs_test_data_path(rel, addenda, sizeof addenda);
    if (!ok) {
        fprintf(stderr, "SKIP addenda %d: order files not found (../shared/data is absent)\n",
                year);
        return;
    }
    cs_addendum_t *a;
    size_t n;
    char err[512];
    ck_assert_msg(cs_addenda_read(addenda, &a, &n, err, sizeof err) == 0, "%s", err);

    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char l1[16], l2[16], e1[16], e2[16], state[64];
    snprintf(l1, sizeof l1, "%d", year - 1);
    snprintf(l2, sizeof l2, "%d", year);
    snprintf(e1, sizeof e1, "%d-10-01", year - 2);
    snprintf(e2, sizeof e2, "%d-10-01", year - 1);
    const char *f1[] = {older}, *f2[] = {newer};
    cs_daemon_load(&d, admin, "icd10cm-order", l1, e1, f1, 1, state, sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    cs_daemon_load(&d, admin, "icd10cm-order", l2, e2, f2, 1, state, sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");

    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 5);
    cs_tpack_kv(pk, "op", "diff");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", l1);
    cs_tpack_kv(pk, "to_release", l2);
    cs_tpack_str(pk, "limit");
    msgpack_pack_int(pk, 100000);
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    const msgpack_object *added = cs_obj_get(r, "added");
    const msgpack_object *deleted = cs_obj_get(r, "deleted");
    const msgpack_object *revised = cs_obj_get(r, "revised");
    const msgpack_object *changed = cs_obj_get(r, "billable_changed");
    size_t n_add = 0, n_del = 0, n_flag = 0;
    for (size_t i = 0; i < n; i++) {
        /* The order addenda write a change of billable flag as "Delete: 1 X" and
         * "Add: 0 X": the code stays, only its flag changes. */
        int both = 0;
        for (size_t j = 0; j < n && !both; j++) {
            both = j != i && strcmp(a[j].code, a[i].code) == 0 &&
                   a[i].action != CS_ADDENDUM_REVISE && a[j].action != CS_ADDENDUM_REVISE &&
                   a[j].action != a[i].action;
        }
        if (both) {
            if (a[i].action == CS_ADDENDUM_ADD) {
                n_flag++;
                const msgpack_object *x = s_find(changed, a[i].code);
                ck_assert_msg(x != NULL, "%d: %s changes its flag in the addenda, not in the "
                              "diff", year, a[i].code);
                ck_assert_int_eq(cs_obj_true(cs_obj_get(x, "billable")), a[i].billable);
            }
        } else if (a[i].action == CS_ADDENDUM_ADD) {
            n_add++;
            ck_assert_msg(s_find(added, a[i].code), "%d: %s added by the addenda, not by the "
                          "diff", year, a[i].code);
        } else if (a[i].action == CS_ADDENDUM_DELETE) {
            n_del++;
            ck_assert_msg(s_find(deleted, a[i].code), "%d: %s deleted by the addenda, not by "
                          "the diff", year, a[i].code);
        } else {
            const msgpack_object *x = s_find(revised, a[i].code);
            ck_assert_msg(x != NULL, "%d: %s revised by the addenda, not by the diff", year,
                          a[i].code);
            ck_assert_msg(cs_obj_is_str(cs_obj_get(x, "new_title"), a[i].title),
                          "%d: %s's new title differs", year, a[i].code);
        }
    }
    /* and nothing more: the diff adds and deletes exactly what the addenda say */
    ck_assert_uint_eq(added->via.array.size, n_add);
    ck_assert_uint_eq(deleted->via.array.size, n_del);
    ck_assert_uint_eq(changed->via.array.size, n_flag);
    fprintf(stderr, "addenda %d: %zu added, %zu deleted, %zu changed flag, %u revised titles "
            "in the diff\n", year, n_add, n_del, n_flag, revised->via.array.size);
    free(a);
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}

START_TEST(test_diff_matches_addenda_2025)
{
    s_check_year(2025);
}
END_TEST

START_TEST(test_diff_matches_addenda_2026)
{
    s_check_year(2026);
}
END_TEST

Suite *cs_addenda_suite(void)
{
    Suite *s = suite_create("addenda");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, test_code_addenda);
    tcase_add_test(tc, test_order_addenda);
    tcase_add_test(tc, test_bad_addenda);
    suite_add_tcase(s, tc);
    tc = tcase_create("diff against the official addenda");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_diff_matches_addenda_2025);
    tcase_add_test(tc, test_diff_matches_addenda_2026);
    suite_add_tcase(s, tc);
    return s;
}
