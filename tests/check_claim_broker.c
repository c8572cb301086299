/* check_claim_broker.c: the ops claim and claims through a live codesetd over ZeroMQ, on
 * ICD-10-CM FY2021 (tabular XML and order file) and the MCE v34 lists: the reply's shape
 * (clean, releases, lines, edits with their sources, skipped), the protocol's errors for bad
 * claims, a batch of 10,000 claims each answered in order, the batch cap, and a hostile MCE
 * file that fails its load at its file and line and leaves the releases as they were.
 * Skips, saying so, where ../shared/data is absent. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../clients/codeset/cli.h"
#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 120000

static cs_daemon_t s_d;
static int s_have;

/* Load ICD-10-CM FY2021 and the MCE v34 lists into d. */
static void s_load_data(cs_daemon_t *d)
{
    char xml[PATH_MAX], order[PATH_MAX], mce[PATH_MAX], cwd[PATH_MAX], ranges[PATH_MAX + 64];
    ck_assert(cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml));
    ck_assert(cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order));
    ck_assert(cs_test_data_path("mce/MCE_Simple_Code_Edits_v34.txt", mce, sizeof mce));
    cs_tclient_t *admin = cs_tclient_new(d->admin_ep);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(ranges, sizeof ranges, "%s/loaders/mce-lists/mce_age_ranges.tsv", cwd);
    char state[64];
    const char *cm[] = {xml, order};
    cs_daemon_load(d, admin, NULL, "2021", "2020-10-01", cm, 2, state, sizeof state,
                   T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    const char *m[] = {mce, ranges};
    cs_daemon_load(d, admin, "mce-lists", "v34", "2016-10-01", m, 2, state, sizeof state,
                   T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
}

static void s_setup(void)
{
    char path[PATH_MAX];
    s_have = cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", path, sizeof path) &&
             cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", path, sizeof path) &&
             cs_test_data_path("mce/MCE_Simple_Code_Edits_v34.txt", path, sizeof path);
    if (!s_have) {
        return;
    }
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    s_load_data(&s_d);
}

static void s_teardown(void)
{
    if (s_have) {
        cs_daemon_stop(&s_d);
        cs_daemon_cleanup(&s_d);
    }
}

#define SKIP_UNLESS() CS_SKIP_UNLESS_DATA(s_have, "ICD-10-CM FY2021 and the MCE v34 lists")

/* Pack one claim's keys (without op): date, setting, patient, the diagnoses (codes, no POA)
 * and one procedure of system psys (when not NULL). */
static void s_pack_claim_keys(msgpack_packer *pk, const char *date, const char *const *dx,
                              int n, const char *psys, const char *pcode)
{
    cs_tpack_kv(pk, "date", date);
    cs_tpack_kv(pk, "setting", "inpatient");
    cs_tpack_str(pk, "patient");
    msgpack_pack_map(pk, 2);
    cs_tpack_str(pk, "age");
    msgpack_pack_int(pk, 40);
    cs_tpack_kv(pk, "sex", "F");
    cs_tpack_str(pk, "diagnoses");
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_map(pk, 2);
        cs_tpack_kv(pk, "code", dx[i]);
        cs_tpack_kv(pk, "poa", "Y");
    }
    if (psys) {
        cs_tpack_str(pk, "procedures");
        msgpack_pack_array(pk, 1);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "system", psys);
        cs_tpack_kv(pk, "code", pcode);
        cs_tpack_str(pk, "units");
        msgpack_pack_int(pk, 1);
    }
}

static const msgpack_object *s_claim(cs_tclient_t *q, const char *date, const char *const *dx,
                                     int n, const char *psys, const char *pcode)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 6 + (psys ? 1 : 0));
    cs_tpack_kv(pk, "op", "claim");
    cs_tpack_str(pk, "id");
    msgpack_pack_int(pk, 7);
    s_pack_claim_keys(pk, date, dx, n, psys, pcode);
    return cs_tclient_call(q, T_TIMEOUT);
}

static const msgpack_object *s_at(const msgpack_object *arr, uint32_t i)
{
    ck_assert_ptr_nonnull(arr);
    ck_assert_int_eq(arr->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_lt(i, arr->via.array.size);
    return &arr->via.array.ptr[i];
}

START_TEST(test_claim_reply)
{
    SKIP_UNLESS();
    cs_tclient_t *q = cs_tclient_new(s_d.query_ep);
    static const char *const dx[] = {"E10.9", "E11.9"};
    const msgpack_object *r = s_claim(q, "2021-03-01", dx, 2, NULL, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "id")), 7);
    ck_assert(cs_obj_true(cs_obj_get(r, "clean"))); /* excludes1 is a warning */
    const msgpack_object *rel = cs_obj_get(r, "releases");
    ck_assert(cs_obj_is_str(cs_obj_get(rel, "icd10cm"), "2021"));
    ck_assert(cs_obj_is_str(cs_obj_get(rel, "mce"), "v34"));
    const msgpack_object *l1 = s_at(cs_obj_get(r, "lines"), 1);
    ck_assert(cs_obj_is_str(cs_obj_get(l1, "code"), "E11.9"));
    ck_assert(cs_obj_true(cs_obj_get(l1, "valid")));
    const msgpack_object *edits = cs_obj_get(r, "edits");
    ck_assert_uint_eq(edits->via.array.size, 1);
    const msgpack_object *e = s_at(edits, 0);
    ck_assert(cs_obj_is_str(cs_obj_get(e, "edit"), "excludes1"));
    ck_assert(cs_obj_is_str(cs_obj_get(e, "severity"), "warning"));
    ck_assert_int_eq(cs_obj_int(s_at(cs_obj_get(e, "lines"), 1)), 1);
    ck_assert(cs_obj_is_str(s_at(cs_obj_get(e, "codes"), 0), "E10.9"));
    const msgpack_object *src = cs_obj_get(e, "source");
    ck_assert(cs_obj_is_str(cs_obj_get(src, "set"), "icd10cm"));
    ck_assert(cs_obj_is_str(cs_obj_get(src, "release"), "2021"));
    ck_assert(cs_obj_is_str(cs_obj_get(src, "note"), "excludes1"));
    ck_assert(cs_obj_is_str(cs_obj_get(src, "on"), "E10"));
    ck_assert(cs_obj_is_str(cs_obj_get(src, "text"), "type 2 diabetes mellitus (E11.-)"));
    /* G63 as principal: the MCE answers, its source says it is derived */
    static const char *const g[] = {"G63", "E85.4"};
    r = s_claim(q, "2021-03-01", g, 2, NULL, NULL);
    ck_assert(!cs_obj_true(cs_obj_get(r, "clean")));
    e = s_at(cs_obj_get(r, "edits"), 0);
    ck_assert(cs_obj_is_str(cs_obj_get(e, "edit"), "manifestation_principal"));
    src = cs_obj_get(e, "source");
    ck_assert(cs_obj_is_str(cs_obj_get(src, "list"), "manifestation"));
    ck_assert_ptr_nonnull(cs_obj_get(src, "derived"));
    /* a procedure system with no release loaded: the line is unchecked, and skipped says why */
    r = s_claim(q, "2021-03-01", dx, 2, "hcpcs", "J3490");
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert(cs_obj_is_str(cs_obj_get(s_at(cs_obj_get(r, "lines"), 2), "reason"), "unchecked"));
    int skipped = 0;
    const msgpack_object *sk = cs_obj_get(r, "skipped");
    for (uint32_t i = 0; i < sk->via.array.size; i++) {
        skipped += cs_obj_is_str(cs_obj_get(&sk->via.array.ptr[i], "edit"), "invalid_code");
    }
    ck_assert_int_eq(skipped, 1);
    cs_tclient_destroy(&q);
}
END_TEST

/* Send raw request built by fn and expect error code. */
static void s_expect(cs_tclient_t *q, const char *code, const char *what)
{
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    char got[64];
    ck_assert_msg(r != NULL, "%s: no reply", what);
    ck_assert_msg(strcmp(cs_obj_error_code(r, got, sizeof got), code) == 0, "%s: got '%s'",
                  what, got);
}

/* A claim of one diagnosis: {key: "E11.9"} (as_map) or the int 5, with setting if given. */
static void s_one_dx(cs_tclient_t *q, const char *setting, const char *key, int as_map)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, setting ? 4 : 3);
    cs_tpack_kv(pk, "op", "claim");
    cs_tpack_kv(pk, "date", "2021-03-01");
    if (setting) {
        cs_tpack_kv(pk, "setting", setting);
    }
    cs_tpack_str(pk, "diagnoses");
    msgpack_pack_array(pk, 1);
    if (as_map) {
        msgpack_pack_map(pk, 1);
        cs_tpack_kv(pk, key, key[0] == 'p' ? "Y" : "E11.9");
    } else {
        msgpack_pack_int(pk, 5);
    }
}

START_TEST(test_claim_errors)
{
    SKIP_UNLESS();
    cs_tclient_t *q = cs_tclient_new(s_d.query_ep);
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "claim");
    cs_tpack_kv(pk, "date", "2021-03-01");
    s_expect(q, "bad_request", "no diagnoses");
    static const char *dx[101];
    for (int i = 0; i < 101; i++) {
        dx[i] = "E11.9";
    }
    s_claim(q, "2021-03-01", dx, 101, NULL, NULL);
    const msgpack_object *r = s_claim(q, "2021-03-01", dx, 101, NULL, NULL);
    char got[64];
    ck_assert_str_eq(cs_obj_error_code(r, got, sizeof got), "too_many");
    r = s_claim(q, "2021-03-01", dx, 1, "nosuch", "X1");
    ck_assert_str_eq(cs_obj_error_code(r, got, sizeof got), "unknown_system");
    r = s_claim(q, "2010-03-01", dx, 1, NULL, NULL);
    ck_assert_str_eq(cs_obj_error_code(r, got, sizeof got), "no_release_for_date");
    r = s_claim(q, "2021-02-30", dx, 1, NULL, NULL);
    ck_assert_str_eq(cs_obj_error_code(r, got, sizeof got), "bad_request");
    s_one_dx(q, "home", "code", 1);
    s_expect(q, "bad_request", "setting home");
    s_one_dx(q, NULL, "poa", 1);
    s_expect(q, "bad_request", "a diagnosis without code");
    s_one_dx(q, NULL, "code", 0);
    s_expect(q, "bad_request", "a diagnosis that is not a map");
    /* the broker still answers */
    static const char *const one[] = {"E11.9"};
    r = s_claim(q, "2021-03-01", one, 1, NULL, NULL);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    cs_tclient_destroy(&q);
}
END_TEST

static void s_batch(msgpack_packer *pk, uint32_t n, uint32_t bad_at)
{
    static const char *const dx[] = {"E10.9", "E11.9", "J18.9", "E11.9"};
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "claims");
    cs_tpack_str(pk, "claims");
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, 4 + (i == bad_at ? 1 : 0));
        s_pack_claim_keys(pk, "2021-03-01", dx + 2 * (i % 2), 2, i == bad_at ? "nosuch" : NULL,
                          "X");
    }
}

START_TEST(test_claims_batch)
{
    SKIP_UNLESS();
    cs_tclient_t *q = cs_tclient_new(s_d.query_ep);
    s_batch(cs_tclient_begin(q), 10000, 4321);
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    const msgpack_object *res = cs_obj_get(r, "results");
    ck_assert_uint_eq(res->via.array.size, 10000);
    for (uint32_t i = 0; i < 10000; i++) {
        const msgpack_object *c = &res->via.array.ptr[i];
        char got[64];
        if (i == 4321) {
            ck_assert_str_eq(cs_obj_error_code(c, got, sizeof got), "unknown_system");
            continue;
        }
        ck_assert_msg(cs_obj_true(cs_obj_get(c, "ok")), "claim %u", i);
        /* even claims hold E10.9 and E11.9 (excludes1); odd ones J18.9 and E11.9, no
         * edit (J18's code-first note says "if applicable"; E11.9 or I10 as principal would
         * be a questionable admission in MCE v34) */
        uint32_t want = (i % 2) ? 0u : 1u;
        const msgpack_object *ed = cs_obj_get(c, "edits");
        char first[300] = "";
        if (ed->via.array.size) {
            cs_obj_cstr(cs_obj_get(&ed->via.array.ptr[0], "message"), first, sizeof first);
        }
        ck_assert_msg(ed->via.array.size == want, "claim %u: %u edits (%s)", i,
                      ed->via.array.size, first);
    }
    s_batch(cs_tclient_begin(q), 10001, UINT32_MAX);
    char got[64];
    ck_assert_str_eq(cs_obj_error_code(cs_tclient_call(q, T_TIMEOUT), got, sizeof got),
                     "too_many");
    cs_tclient_destroy(&q);
}
END_TEST

/* Batches long enough to be cut into slices (8 claims and more: cs_slices.h) answered by
 * two workers together are, byte for byte, the answers of one worker answering them whole,
 * a failing claim in its place; and a worker's kept claim state (cs_claim.h) is dropped when
 * an edit set is published: the next claim reads the new one. */
/* 1 if the file at path holds text on a line, 0 if not; fails the test if it is unreadable. */
static int s_log_says(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        found = strstr(line, text) != NULL;
    }
    fclose(f);
    return found;
}

START_TEST(test_claims_in_slices)
{
    SKIP_UNLESS();
    cs_daemon_t one;
    memset(&one, 0, sizeof one);
    const char *whole[] = {"--workers", "1", NULL};
    ck_assert_int_eq(cs_daemon_start(&one, whole), 0);
    s_load_data(&one);
    const char *sliced[] = {"--workers", "2", "--log-level", "debug", NULL};
    cs_daemon_t two;
    memset(&two, 0, sizeof two);
    ck_assert_int_eq(cs_daemon_start(&two, sliced), 0);
    s_load_data(&two);
    cs_tclient_t *a = cs_tclient_new(two.query_ep), *b = cs_tclient_new(one.query_ep);
    static const uint32_t sizes[] = {7, 8, 9, 64, 1001};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        msgpack_sbuffer_clear(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        s_batch(&pk, sizes[k], sizes[k] / 2);
        char why[128];
        const msgpack_object *r = cs_tclient_same_answer(a, b, sb.data, sb.size, why,
                                                         sizeof why);
        ck_assert_msg(r != NULL, "%u claims: %s", sizes[k], why);
        ck_assert_uint_eq(cs_obj_get(r, "results")->via.array.size, sizes[k]);
    }
    /* the slices were answered as slices: none was refused and the batch answered whole */
    ck_assert_int_eq(s_log_says(two.log, "slices disagree"), 0);
    /* a bad claim in a long batch: the workers decode the claims of their slices, and the
     * batch gets the error the broker of one worker gives */
    msgpack_sbuffer_clear(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    cs_tpack_kv(&pk, "op", "claims");
    cs_tpack_str(&pk, "claims");
    msgpack_pack_array(&pk, 64);
    for (uint32_t i = 0; i < 64; i++) {
        static const char *const ok[] = {"E11.9"};
        msgpack_pack_map(&pk, i == 40 ? 2 : 4);
        if (i == 40) {
            cs_tpack_kv(&pk, "date", "2021-03-01");
            cs_tpack_kv(&pk, "diagnoses", "E11.9");
        } else {
            s_pack_claim_keys(&pk, "2021-03-01", ok, 1, NULL, "X");
        }
    }
    char why[128], msg[256];
    const msgpack_object *bad = cs_tclient_same_answer(a, b, sb.data, sb.size, why,
                                                       sizeof why);
    ck_assert_msg(bad != NULL, "a bad claim: %s", why);
    cs_obj_cstr(cs_obj_get(cs_obj_get(bad, "error"), "message"), msg, sizeof msg);
    ck_assert_msg(strstr(msg, "claims[40]: \"diagnoses\"") == msg, "%s", msg);
    msgpack_sbuffer_destroy(&sb);
    /* the poa edit: skipped while no poa-exempt set is in effect, then answered */
    static const char *const dx[] = {"E10.9", "E11.9"};
    int before = 0, after = 0;
    for (int round = 0; round < 2; round++) {
        const msgpack_object *r = s_claim(b, "2021-03-01", dx, 2, NULL, NULL);
        ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        const msgpack_object *sk = cs_obj_get(r, "skipped");
        int skipped = 0;
        for (uint32_t i = 0; i < sk->via.array.size; i++) {
            skipped += cs_obj_is_str(cs_obj_get(&sk->via.array.ptr[i], "edit"), "poa");
        }
        int has_set = cs_obj_get(cs_obj_get(r, "releases"), "poa-exempt") != NULL;
        *(round ? &after : &before) = skipped && !has_set;
        if (round == 0) {
            char poa[PATH_MAX], state[64];
            if (!cs_test_data_path("poa/POAexemptCodesFY25.txt", poa, sizeof poa)) {
                after = 0;
                break;
            }
            cs_tclient_t *admin = cs_tclient_new(one.admin_ep);
            const char *f[] = {poa};
            cs_daemon_load(&one, admin, "poa-exempt", "FY2025", "2020-10-01", f, 1, state,
                           sizeof state, T_TIMEOUT);
            ck_assert_str_eq(state, "done");
            cs_tclient_destroy(&admin);
        }
    }
    ck_assert_int_eq(before, 1);
    ck_assert_int_eq(after, 0);
    cs_tclient_destroy(&a);
    cs_tclient_destroy(&b);
    cs_daemon_t *ds[] = {&one, &two};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(cs_daemon_stop(ds[i]), 0);
        cs_daemon_cleanup(ds[i]);
    }
}
END_TEST

START_TEST(test_hostile_edit_set)
{
    SKIP_UNLESS();
    char dir[PATH_MAX], bad[PATH_MAX + 16], cwd[PATH_MAX], ranges[PATH_MAX + 64];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(bad, sizeof bad, "%s/MCE_bad.txt", dir);
    FILE *f = fopen(bad, "w");
    ck_assert_ptr_nonnull(f);
    fputs("MCE_Version\tICD_Version\tMCE_Section\tMCE_Subsection\tMCE_Edit_Type\t"
          "ICD_Code_Type\tICD_Code\tICD_Desc\n34\t10\t6\t_\tPrincipal_Manifestation\tD\tG63\tx\n"
          "34\t10\t6\t_\tPrincipal_Manifestation\tD\tG6%\tx\n", f);
    fclose(f);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(ranges, sizeof ranges, "%s/loaders/mce-lists/mce_age_ranges.tsv", cwd);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    char state[64], msg[300], file[64];
    const char *files[] = {bad, ranges};
    const msgpack_object *r = cs_daemon_load(&s_d, admin, "mce-lists", "v34", "2016-10-01",
                                             files, 2, state, sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "failed");
    const msgpack_object *err = cs_obj_get(r, "error");
    cs_obj_cstr(cs_obj_get(err, "message"), msg, sizeof msg);
    cs_obj_cstr(cs_obj_get(err, "file"), file, sizeof file);
    ck_assert_msg(strcmp(file, "MCE_bad.txt") == 0 && cs_obj_int(cs_obj_get(err, "line")) == 3 &&
                  strstr(msg, "G6%"), "%s:%lld: %s", file,
                  (long long)cs_obj_int(cs_obj_get(err, "line")), msg);
    cs_tclient_destroy(&admin);
    /* v34 as loaded before still answers: G63 is still on its manifestation list */
    cs_tclient_t *q = cs_tclient_new(s_d.query_ep);
    static const char *const g[] = {"G63"};
    r = s_claim(q, "2021-03-01", g, 1, NULL, NULL);
    const msgpack_object *e = s_at(cs_obj_get(r, "edits"), 0);
    ck_assert(cs_obj_is_str(cs_obj_get(cs_obj_get(e, "source"), "list"), "manifestation"));
    cs_tclient_destroy(&q);
    /* a list naming a code its system's release does not hold: kept, and reported */
    char poa[PATH_MAX + 32];
    snprintf(poa, sizeof poa, "%s/POAexemptCodesFY99.txt", dir);
    f = fopen(poa, "w");
    ck_assert_ptr_nonnull(f);
    fputs("Order99\tPOAexemptCode\tDescription\n1\tZ79.4\tx\n2\tZ79.4ZZ\tnot a code\n", f);
    fclose(f);
    admin = cs_tclient_new(s_d.admin_ep);
    const char *pf[] = {poa};
    cs_daemon_load(&s_d, admin, "poa-exempt", "FY99", "2021-01-01", pf, 1, state,
                   sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
    char line[1024];
    int said = 0;
    FILE *log = fopen(s_d.log, "r");
    ck_assert_ptr_nonnull(log);
    while (fgets(line, sizeof line, log)) {
        said |= strstr(line, "poa-exempt/FY99: its lists: 2 icd10cm rows, 1 naming a code "
                             "icd10cm release 2021 does not hold (e.g. Z79.4ZZ)") != NULL;
    }
    fclose(log);
    ck_assert_msg(said, "the unknown code was not reported in %s", s_d.log);
    cs_test_rmtree(dir);
}
END_TEST

/* codeset claim FILE: a claim object, a batch array or a CSV (name), through the CLI. */
static int s_cli_run(const char *name, const char *json, int as_json, char *out, size_t cap)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(json, f);
    fclose(f);
    char *text = NULL, *etext = NULL;
    size_t n = 0, en = 0;
    FILE *o = open_memstream(&text, &n), *e = open_memstream(&etext, &en);
    const char *argv[] = {"codeset", "--connect", s_d.query_ep, "claim", path, "--json"};
    int rc = cs_cli_main(as_json ? 6 : 5, (char **)argv, o, e);
    fclose(o);
    fclose(e);
    snprintf(out, cap, "%s%s", text, etext);
    free(text);
    free(etext);
    cs_test_rmtree(dir);
    return rc;
}

static int s_cli_claim(const char *json, int as_json, char *out, size_t cap)
{
    return s_cli_run("claim.json", json, as_json, out, cap);
}

static int s_cli_claim_csv(const char *csv, char *out, size_t cap)
{
    return s_cli_run("claims.csv", csv, 0, out, cap);
}

START_TEST(test_cli_claim)
{
    SKIP_UNLESS();
    char out[8192];
    int rc = s_cli_claim("{\"date\":\"2021-03-01\",\"setting\":\"outpatient\",\"diagnoses\":"
                         "[{\"code\":\"E10.9\"},{\"code\":\"E11.9\"}]}", 0, out, sizeof out);
    ck_assert_msg(rc == 0 && strstr(out, "excludes1") && strstr(out, "claim: clean"), "%d: %s",
                  rc, out);
    rc = s_cli_claim("[{\"date\":\"2021-03-01\",\"diagnoses\":[{\"code\":\"E11.9\"}]},"
                     "{\"date\":\"2021-03-01\",\"diagnoses\":[{\"code\":\"G63\"}]}]", 0,
                     out, sizeof out);
    if (getenv("CS_SHOW_CLI")) {
        fprintf(stderr, "%s", out);
    }
    ck_assert_msg(rc == 4 && strstr(out, "claim 2: NOT CLEAN") &&
                  strstr(out, "manifestation_principal"), "%d: %s", rc, out);
    rc = s_cli_claim("[{\"date\":\"2021-03-01\",\"diagnoses\":[{\"code\":\"G63\"}]}]", 1,
                     out, sizeof out);
    ck_assert_msg(rc == 4 && strstr(out, "\"edit\":\"manifestation_principal\""), "%d: %s",
                  rc, out);
    rc = s_cli_claim_csv("claim_id,date,setting,dx1,poa1,dx2,poa2\n"
                         "A,2021-03-01,outpatient,E10.9,,E11.9,\n"
                         "B,2021-03-01,outpatient,G63,,,\n", out, sizeof out);
    ck_assert_msg(rc == 4 && strstr(out, "claim 1: clean") && strstr(out, "excludes1") &&
                  strstr(out, "claim 2: NOT CLEAN"), "%d: %s", rc, out);
    rc = s_cli_claim("{\"date\": \"2021-03-01\", \"date\": 1}", 0, out, sizeof out);
    ck_assert_msg(rc == 2 && strstr(out, "claim.json:1:"), "%d: %s", rc, out);
}
END_TEST

Suite *cs_claim_broker_suite(void);
Suite *cs_claim_broker_suite(void)
{
    Suite *s = suite_create("claim_broker");
    TCase *tc = tcase_create("broker");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_claim_reply);
    tcase_add_test(tc, test_claim_errors);
    tcase_add_test(tc, test_claims_batch);
    tcase_add_test(tc, test_claims_in_slices);
    tcase_add_test(tc, test_hostile_edit_set);
    tcase_add_test(tc, test_cli_claim);
    suite_add_tcase(s, tc);
    return s;
}
