/* check_retired.c: with every release of a system retired, a query that pins none says so,
 * names the release to pin and how, through a real broker and through the embedded API; the
 * release it names answers when pinned. Uses the bundled ICD-10-CM sample, loaded twice. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codeset/codeset.h"
#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 5000

Suite *cs_retired_suite(void);

static const msgpack_object *s_admin(cs_tclient_t *admin, const char *op, const char *label)
{
    msgpack_packer *pk = cs_tclient_begin(admin);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", op);
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", label);
    const msgpack_object *r = cs_tclient_call(admin, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "%s %s failed", op, label);
    return r;
}

/* A lookup of E11.9 with release or date (either may be NULL); the error code into code
 * ("" on success) and the error message into msg. */
static void s_lookup(cs_tclient_t *q, const char *release, const char *date, char *code,
                     char *msg, size_t cap)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 3 + (release != NULL) + (date != NULL));
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", "E11.9");
    if (release) {
        cs_tpack_kv(pk, "release", release);
    }
    if (date) {
        cs_tpack_kv(pk, "date", date);
    }
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    cs_obj_error_code(r, code, 64);
    cs_obj_cstr(cs_obj_get(cs_obj_get(r, "error"), "message"), msg, cap);
}

#define MSG_NEWEST                                                                             \
    "every release of icd10cm is retired (the newest is 2021, in effect from 2020-10-01); " \
    "pin one with \"release\": \"2021\""

START_TEST(test_all_retired_unpinned)
{
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char code[64], msg[512];

    /* nothing loaded yet: the old sentence stays */
    s_lookup(q, NULL, NULL, code, msg, sizeof msg);
    ck_assert_str_eq(code, "unknown_release");
    ck_assert_str_eq(msg, "no release of icd10cm is loaded");

    cs_daemon_load_sample(&d, admin, "2020", "2019-10-01");
    cs_daemon_load_sample(&d, admin, "2021", "2020-10-01");
    s_admin(admin, "retire", "2021");
    /* 2020 still answers by date and unpinned; a date the retired 2021 covered names it */
    s_lookup(q, NULL, NULL, code, msg, sizeof msg);
    ck_assert_str_eq(code, "");
    s_lookup(q, NULL, "2021-03-01", code, msg, sizeof msg);
    ck_assert_str_eq(code, "");
    s_lookup(q, NULL, "2015-03-01", code, msg, sizeof msg);
    ck_assert_str_eq(code, "no_release_for_date");
    ck_assert_str_eq(msg, "no release of icd10cm is in effect on 2015-03-01");

    s_admin(admin, "retire", "2020");
    s_lookup(q, NULL, NULL, code, msg, sizeof msg);
    ck_assert_str_eq(code, "unknown_release");
    ck_assert_str_eq(msg, MSG_NEWEST);
    /* with a date, the retired release that covered it */
    s_lookup(q, NULL, "2020-03-01", code, msg, sizeof msg);
    ck_assert_str_eq(code, "no_release_for_date");
    ck_assert_str_eq(msg, "no release of icd10cm is in effect on 2020-03-01: 2020, in effect "
                          "from 2019-10-01, is retired; pin it with \"release\": \"2020\"");
    /* a date before every release: pin the newest */
    s_lookup(q, NULL, "2015-03-01", code, msg, sizeof msg);
    ck_assert_str_eq(code, "no_release_for_date");
    ck_assert_str_eq(msg, "no release of icd10cm is in effect on 2015-03-01: " MSG_NEWEST);
    /* what the message says to do works */
    s_lookup(q, "2021", NULL, code, msg, sizeof msg);
    ck_assert_str_eq(code, "");
    /* validate goes through the same resolution */
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", "E11.9");
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_str_eq(cs_obj_cstr(cs_obj_get(cs_obj_get(r, "error"), "message"), msg, sizeof msg),
                     MSG_NEWEST);

    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);

    /* the embedded API, on the same database: the direct lookup and the engine path */
    char plugins[PATH_MAX];
    snprintf(plugins, sizeof plugins, "%s/plugins", cs_test_build_dir());
    cs_error_t err;
    cs_db_t *db = cs_db_open(d.db, plugins, &err);
    ck_assert_msg(db != NULL, "cs_db_open: %s", err.msg);
    cs_db_entry_t e;
    ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", NULL, &e, &err), CS_ENOTFOUND);
    ck_assert_str_eq(err.msg, MSG_NEWEST);
    cs_db_query_t dq = {NULL, "2020-03-01"};
    ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", &dq, &e, &err), CS_ENOTFOUND);
    ck_assert_str_eq(err.msg, "no release of icd10cm is in effect on 2020-03-01: 2020, in "
                              "effect from 2019-10-01, is retired; pin it with \"release\": "
                              "\"2020\"");
    const char *codes[] = {"E11.9"};
    const cs_db_result_t *res;
    cs_db_str_t rel;
    ck_assert_int_eq(cs_db_validate(db, "icd10cm", codes, 1, NULL, &res, &rel, &err),
                     CS_ENOTFOUND);
    ck_assert_str_eq(err.msg, MSG_NEWEST);
    cs_db_query_t pin = {"2021", NULL};
    ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", &pin, &e, &err), CS_OK);
    ck_assert_int_eq(e.found, 1);
    cs_db_close(&db);
    cs_daemon_cleanup(&d);
}
END_TEST

/* Unpinned lookups of E11.9, the release that answered into rel: the same thread answers
 * them from its code index with no snapshot while nothing is committed (cs_query.c,
 * s_fast_t), so each commit must be seen: a newer release loaded, then retired. */
static void s_answered_by(cs_tclient_t *q, char *rel, size_t cap)
{
    for (int i = 0; i < 50; i++) { /* the index is built after the first query: the later
                                    * ones take the shortcut */
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "lookup");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "code", "E11.9");
        const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
        ck_assert_ptr_nonnull(r);
        ck_assert(cs_obj_true(cs_obj_get(r, "found")));
        cs_obj_cstr(cs_obj_get(r, "release"), rel, cap);
        usleep(2000);
    }
}

START_TEST(test_commits_seen_by_lookups)
{
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char rel[32];
    cs_daemon_load_sample(&d, admin, "2020", "2019-10-01");
    s_answered_by(q, rel, sizeof rel);
    ck_assert_str_eq(rel, "2020");
    cs_daemon_load_sample(&d, admin, "2021", "2020-10-01");
    s_answered_by(q, rel, sizeof rel);
    ck_assert_str_eq(rel, "2021");
    s_admin(admin, "retire", "2021");
    s_answered_by(q, rel, sizeof rel);
    ck_assert_str_eq(rel, "2020");
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_retired_suite(void)
{
    Suite *s = suite_create("retired");
    TCase *tc = tcase_create("all retired");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_all_retired_unpinned);
    tcase_add_test(tc, test_commits_seen_by_lookups);
    suite_add_tcase(s, tc);
    return s;
}
