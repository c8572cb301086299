/* check_fhir_broker.c: FHIR resources through a live broker: a synthetic CPT-shaped
 * CodeSystem loaded as system cpt (lookup, validate with reasons, search), refusals that leave
 * nothing behind, and a ConceptMap beside the GEMs where "map" picks one and targets carry
 * their titles from the target system's release in effect. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 30000

Suite *cs_fhir_broker_suite(void);

static const msgpack_object *s_call3(cs_tclient_t *q, const char *op, const char *k1,
                                     const char *v1, const char *k2, const char *v2,
                                     const char *k3, const char *v3)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1 + (k1 ? 1 : 0) + (k2 ? 1 : 0) + (k3 ? 1 : 0));
    cs_tpack_kv(pk, "op", op);
    if (k1) {
        cs_tpack_kv(pk, k1, v1);
    }
    if (k2) {
        cs_tpack_kv(pk, k2, v2);
    }
    if (k3) {
        cs_tpack_kv(pk, k3, v3);
    }
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    return r;
}

static const msgpack_object *s_validate(cs_tclient_t *q, const char *system, const char *code)
{
    const msgpack_object *r = s_call3(q, "validate", "system", system, "code", code, NULL,
                                      NULL);
    const msgpack_object *res = cs_obj_get(r, "results");
    ck_assert_ptr_nonnull(res);
    return &res->via.array.ptr[0];
}

static void s_start(cs_daemon_t *d, cs_tclient_t **admin, cs_tclient_t **q)
{
    memset(d, 0, sizeof *d);
    ck_assert_int_eq(cs_daemon_start(d, NULL), 0);
    *admin = cs_tclient_new(d->admin_ep);
    *q = cs_tclient_new(d->query_ep);
}

static void s_stop(cs_daemon_t *d, cs_tclient_t **admin, cs_tclient_t **q)
{
    cs_tclient_destroy(q);
    cs_tclient_destroy(admin);
    ck_assert_int_eq(cs_daemon_stop(d), 0);
    cs_daemon_cleanup(d);
}

START_TEST(test_codesystem_as_cpt)
{
    cs_daemon_t d;
    cs_tclient_t *admin, *q;
    s_start(&d, &admin, &q);
    char path[700], state[64], buf[200];
    cs_test_fixture_path("../../loaders/fhir-codesystem/sample/cpt_synthetic.xml", path,
                         sizeof path);
    const char *files[] = {path};

    /* fhir-codesystem fills any system, so it must be told which */
    const msgpack_object *r = cs_daemon_load_system(&d, admin, "fhir-codesystem", NULL, "2025",
                                                    "2025-01-01", files, 1, state,
                                                    sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "refused:load_failed");
    ck_assert_ptr_nonnull(strstr(cs_obj_cstr(cs_obj_get(cs_obj_get(r, "error"), "message"),
                                             buf, sizeof buf), "system"));
    /* CPT-shaped codes are not ICD-10-CM codes: the load fails saying where, nothing stays */
    r = cs_daemon_load_system(&d, admin, "fhir-codesystem", "icd10cm", "2025", "2025-01-01",
                              files, 1, state, sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "failed");
    ck_assert_ptr_nonnull(r);
    r = s_call3(q, "releases", NULL, NULL, NULL, NULL, NULL, NULL);
    ck_assert_uint_eq(cs_obj_get(r, "releases")->via.array.size, 0);

    r = cs_daemon_load_system(&d, admin, "fhir-codesystem", "cpt", "2025", "2025-01-01", files,
                              1, state, sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");

    r = s_call3(q, "lookup", "system", "cpt", "code", "99911", NULL, NULL);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert(cs_obj_true(cs_obj_get(r, "billable")));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "parent"), "99910"));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "title"), "Gauge check of a test widget; first gauge"));
    /* a category (notSelectable) is a header with its billable codes as the hint */
    const msgpack_object *v = s_validate(q, "cpt", "99910");
    ck_assert(cs_obj_is_str(cs_obj_get(v, "reason"), "not_billable"));
    ck_assert_uint_ge(cs_obj_get(v, "hint")->via.array.size, 1);
    /* a retired concept stays in the release but may not stand on a claim */
    v = s_validate(q, "cpt", "99913");
    ck_assert(!cs_obj_true(cs_obj_get(v, "valid")));
    v = s_validate(q, "cpt", "9991");
    ck_assert(cs_obj_is_str(cs_obj_get(v, "reason"), "malformed"));
    v = s_validate(q, "cpt", "99999");
    ck_assert(cs_obj_is_str(cs_obj_get(v, "reason"), "unknown"));
    /* search works on the new system */
    r = s_call3(q, "search", "system", "cpt", "q", "gauge check", NULL, NULL);
    ck_assert_int_ge(cs_obj_int(cs_obj_get(r, "total")), 2);
    const msgpack_object *hits = cs_obj_get(r, "hits");
    int has = 0;
    for (uint32_t i = 0; i < hits->via.array.size; i++) {
        has |= cs_obj_is_str(cs_obj_get(&hits->via.array.ptr[i], "code"), "99911");
    }
    ck_assert(has);
    s_stop(&d, &admin, &q);
}
END_TEST

static const msgpack_object *s_crosswalk(cs_tclient_t *q, const char *from, const char *to,
                                         const char *code, const char *map)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4 + (map ? 1 : 0));
    cs_tpack_kv(pk, "op", "crosswalk");
    cs_tpack_kv(pk, "from", from);
    cs_tpack_kv(pk, "to", to);
    cs_tpack_kv(pk, "code", code);
    if (map) {
        cs_tpack_kv(pk, "map", map);
    }
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(test_conceptmap_beside_gems)
{
    cs_daemon_t d;
    cs_tclient_t *admin, *q;
    s_start(&d, &admin, &q);
    char cm[700], xml[700], order[700], state[64], buf[64];
    cs_test_fixture_path("fhir_broker/dx_map.xml", cm, sizeof cm);
    cs_test_fixture_path("../../loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml", xml,
                         sizeof xml);
    cs_test_fixture_path("../../loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt", order,
                         sizeof order);
    const char *sample[] = {xml, order};
    cs_daemon_load(&d, admin, "icd10cm-tabular", "sample", "2020-10-01", sample, 2, state,
                   sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    const char *cmf[] = {cm};
    cs_daemon_load(&d, admin, "fhir-conceptmap", "r4", "2020-01-01", cmf, 1, state,
                   sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    /* a map set name that is a code system is refused */
    cs_daemon_load_system(&d, admin, "fhir-conceptmap", "icd10cm", "x", "2020-01-01", cmf, 1,
                          state, sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "refused:load_failed");

    const msgpack_object *r = s_crosswalk(q, "icd10cm", "icd9cm", "E11.9", NULL);
    ck_assert(cs_obj_is_str(cs_obj_get(r, "map"), "conceptmap/dx-test"));
    const msgpack_object *t = cs_obj_get(r, "targets");
    ck_assert_uint_eq(t->via.array.size, 1);
    ck_assert(cs_obj_is_str(cs_obj_get(&t->via.array.ptr[0], "code"), "250.00"));
    ck_assert(cs_obj_is_str(cs_obj_get(&t->via.array.ptr[0], "relationship"), "wider"));

    char probe[600];
    if (!cs_test_data_path("gems/2018/2018_I10gem.txt", probe, sizeof probe)) {
        fprintf(stderr, "SKIP %s (GEMs part): gems/2018 not found (../shared/data is absent)\n",
                __func__);
        s_stop(&d, &admin, &q);
        return;
    }
    char i9[600];
    ck_assert(cs_test_data_path("gems/2018/2018_I9gem.txt", i9, sizeof i9));
    const char *gems[] = {probe, i9};
    cs_daemon_load(&d, admin, "gems", "2018", "2017-10-01", gems, 2, state, sizeof state,
                   T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    /* two map sets join icd10cm to icd9cm: the one in effect latest (the ConceptMap, from
     * 2020-01-01) answers, "map" picks either */
    r = s_crosswalk(q, "icd10cm", "icd9cm", "E11.9", NULL);
    ck_assert(cs_obj_is_str(cs_obj_get(r, "map"), "conceptmap/dx-test"));
    r = s_crosswalk(q, "icd10cm", "icd9cm", "E11.9", "dx-test");
    ck_assert(cs_obj_is_str(cs_obj_get(r, "map"), "conceptmap/dx-test"));
    r = s_crosswalk(q, "icd10cm", "icd9cm", "E11.9", "gems");
    ck_assert(cs_obj_is_str(cs_obj_get(r, "map"), "gems/icd10cm-icd9cm"));
    r = s_crosswalk(q, "icd10cm", "icd9cm", "E11.9", "nosuchmap");
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "unknown_release");
    /* targets carry their titles from the target system's release in effect */
    r = s_crosswalk(q, "icd9cm", "icd10cm", "250.00", NULL);
    ck_assert(cs_obj_is_str(cs_obj_get(r, "release"), "sample"));
    t = cs_obj_get(r, "targets");
    ck_assert(cs_obj_is_str(cs_obj_get(&t->via.array.ptr[0], "title"),
                            "Type 2 diabetes mellitus without complications"));
    s_stop(&d, &admin, &q);
}
END_TEST

Suite *cs_fhir_broker_suite(void)
{
    Suite *s = suite_create("fhir_broker");
    TCase *tc = tcase_create("FHIR resources");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_codesystem_as_cpt);
    tcase_add_test(tc, test_conceptmap_beside_gems);
    suite_add_tcase(s, tc);
    return s;
}
