/* check_releases_time.c: releases over time through a live broker, on the real annual update
 * ICD-10-CM FY2016 -> FY2017: dates of service on both sides of 2016-10-01, not_effective
 * both ways, the diff against the order files, retire and drop, a restart that keeps every
 * release, and a load of FY2017 while four clients validate without pause (one of them with
 * long requests, which the broker answers in slices).
 * Skips, saying so, where ../shared/data is absent. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 30000
#define MAX_ROWS 100000

Suite *cs_releases_time_suite(void);

/* One order-file line: code (display form) and its billable flag. */
typedef struct s_row {
    char code[10];
    int billable;
} s_row_t;

static int s_row_cmp(const void *a, const void *b)
{
    return strcmp(((const s_row_t *)a)->code, ((const s_row_t *)b)->code);
}

/* Read an order file into rows sorted by code. */
static s_row_t *s_read_order(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    s_row_t *rows = calloc(MAX_ROWS, sizeof *rows);
    ck_assert_ptr_nonnull(rows);
    char line[1024];
    *n = 0;
    while (fgets(line, sizeof line, f) && *n < MAX_ROWS) {
        if (strlen(line) < 16) {
            continue;
        }
        char raw[8];
        memcpy(raw, line + 6, 7);
        raw[7] = '\0';
        raw[strcspn(raw, " ")] = '\0';
        s_row_t *r = &rows[(*n)++];
        if (strlen(raw) > 3) {
            snprintf(r->code, sizeof r->code, "%.3s.%s", raw, raw + 3);
        } else {
            snprintf(r->code, sizeof r->code, "%s", raw);
        }
        r->billable = line[14] == '1';
    }
    fclose(f);
    qsort(rows, *n, sizeof *rows, s_row_cmp);
    return rows;
}

/* What the order files say changed (the truth the diff op is checked against). */
typedef struct s_truth {
    size_t added, deleted, billable_changed;       /* every code */
    size_t added_billable, deleted_billable;       /* billable ones, as the data README says */
    char an_added[10], a_deleted[10];              /* one billable example of each */
} s_truth_t;

static void s_compare_orders(const s_row_t *a, size_t na, const s_row_t *b, size_t nb,
                             s_truth_t *t)
{
    memset(t, 0, sizeof *t);
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i].code, b[j].code);
        if (c < 0) {
            t->deleted++;
            t->deleted_billable += (size_t)a[i].billable;
            if (a[i].billable && !t->a_deleted[0]) {
                snprintf(t->a_deleted, sizeof t->a_deleted, "%s", a[i].code);
            }
            i++;
        } else if (c > 0) {
            t->added++;
            t->added_billable += (size_t)b[j].billable;
            if (b[j].billable && !t->an_added[0]) {
                snprintf(t->an_added, sizeof t->an_added, "%s", b[j].code);
            }
            j++;
        } else {
            t->billable_changed += (size_t)(a[i].billable != b[j].billable);
            i++;
            j++;
        }
    }
}

typedef struct s_year {
    char xml[600], order[600];
} s_year_t;

static int s_year_paths(const char *year, s_year_t *y)
{
    char rel[64];
    snprintf(rel, sizeof rel, "icd10cm/%s/icd10cm_tabular_%s.xml", year, year);
    int ok = cs_test_data_path(rel, y->xml, sizeof y->xml);
    snprintf(rel, sizeof rel, "icd10cm/%s/icd10cm_order_%s.txt", year, year);
    return ok && cs_test_data_path(rel, y->order, sizeof y->order);
}

static void s_load_year(cs_daemon_t *d, cs_tclient_t *admin, const char *label,
                        const char *effective, const s_year_t *y)
{
    const char *files[] = {y->xml, y->order};
    char state[32];
    const msgpack_object *r = cs_daemon_load(d, admin, "icd10cm-tabular", label, effective,
                                             files, 2, state, sizeof state, 120000);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(strcmp(state, "done") == 0, "load %s: %s", label, state);
}

/* validate one code (date may be NULL); returns the single result map. */
static const msgpack_object *s_validate1(cs_tclient_t *q, const char *code, const char *date,
                                         const char *release, const msgpack_object **reply)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 3 + (date ? 1 : 0) + (release ? 1 : 0));
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", code);
    if (date) {
        cs_tpack_kv(pk, "date", date);
    }
    if (release) {
        cs_tpack_kv(pk, "release", release);
    }
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    *reply = r;
    const msgpack_object *res = cs_obj_get(r, "results");
    if (!res) {
        return NULL;
    }
    ck_assert_uint_eq(res->via.array.size, 1);
    return &res->via.array.ptr[0];
}

static int s_list_has(const msgpack_object *list, const char *s)
{
    for (uint32_t i = 0; list && i < list->via.array.size; i++) {
        if (cs_obj_is_str(&list->via.array.ptr[i], s)) {
            return 1;
        }
    }
    return 0;
}

static void s_expect(cs_tclient_t *q, const char *code, const char *date, int valid,
                     const char *reason, const char *release, const char *valid_in)
{
    const msgpack_object *reply;
    const msgpack_object *res = s_validate1(q, code, date, NULL, &reply);
    char buf[64];
    ck_assert_msg(res != NULL, "%s on %s: error %s", code, date ? date : "-",
                  cs_obj_error_code(reply, buf, sizeof buf));
    ck_assert_msg(cs_obj_is_str(cs_obj_get(reply, "release"), release),
                  "%s on %s answered by release %s, not %s", code, date ? date : "-",
                  cs_obj_cstr(cs_obj_get(reply, "release"), buf, sizeof buf), release);
    ck_assert_msg(cs_obj_true(cs_obj_get(res, "valid")) == valid, "%s on %s: valid is not %d",
                  code, date ? date : "-", valid);
    if (reason) {
        ck_assert_msg(cs_obj_is_str(cs_obj_get(res, "reason"), reason), "%s on %s: reason %s",
                      code, date ? date : "-",
                      cs_obj_cstr(cs_obj_get(res, "reason"), buf, sizeof buf));
    }
    if (valid_in) {
        ck_assert_msg(s_list_has(cs_obj_get(res, "valid_in"), valid_in),
                      "%s on %s: valid_in lacks %s", code, date ? date : "-", valid_in);
    }
}

static void s_expect_error(cs_tclient_t *q, const char *date, const char *code)
{
    const msgpack_object *reply;
    s_validate1(q, "E11.9", date, NULL, &reply);
    char buf[64];
    ck_assert_msg(strcmp(cs_obj_error_code(reply, buf, sizeof buf), code) == 0,
                  "date %s: got '%s', want %s", date, buf, code);
}

typedef struct s_fixture {
    s_year_t y16, y17;
    s_row_t *o16, *o17;
    size_t n16, n17;
    s_truth_t truth;
} s_fixture_t;

static int s_fixture(s_fixture_t *f)
{
    memset(f, 0, sizeof *f);
    if (!s_year_paths("2016", &f->y16) || !s_year_paths("2017", &f->y17)) {
        return 0;
    }
    f->o16 = s_read_order(f->y16.order, &f->n16);
    f->o17 = s_read_order(f->y17.order, &f->n17);
    s_compare_orders(f->o16, f->n16, f->o17, f->n17, &f->truth);
    return 1;
}

static void s_fixture_free(s_fixture_t *f)
{
    free(f->o16);
    free(f->o17);
}

static const msgpack_object *s_admin_op(cs_tclient_t *admin, const char *op, const char *label)
{
    msgpack_packer *pk = cs_tclient_begin(admin);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", op);
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", label);
    const msgpack_object *r = cs_tclient_call(admin, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    return r;
}

/* The order files themselves: the figures the data README gives for this update. */
START_TEST(test_order_files_truth)
{
    s_fixture_t f;
    CS_SKIP_UNLESS_DATA(s_fixture(&f), "icd10cm/2016 and icd10cm/2017");
    ck_assert_uint_eq(f.truth.added_billable, 1973);
    ck_assert_uint_eq(f.truth.deleted_billable, 183);
    ck_assert_uint_eq(f.truth.billable_changed, 129);
    s_fixture_free(&f);
}
END_TEST

START_TEST(test_dates_diff_retire_restart)
{
    s_fixture_t f;
    CS_SKIP_UNLESS_DATA(s_fixture(&f), "icd10cm/2016 and icd10cm/2017");
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    s_load_year(&d, admin, "2016", "2015-10-01", &f.y16);
    s_load_year(&d, admin, "2017", "2016-10-01", &f.y17);
    const char *added = f.truth.an_added, *deleted = f.truth.a_deleted;

    /* releases: effective dates, counts and file digests */
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "releases");
    cs_tpack_kv(pk, "system", "icd10cm");
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    const msgpack_object *rels = cs_obj_get(r, "releases");
    ck_assert_uint_eq(rels->via.array.size, 2);
    const msgpack_object *r16 = &rels->via.array.ptr[0], *r17 = &rels->via.array.ptr[1];
    ck_assert(cs_obj_is_str(cs_obj_get(r16, "release"), "2016"));
    ck_assert(cs_obj_is_str(cs_obj_get(r16, "effective_to"), "2016-09-30"));
    ck_assert(cs_obj_get(r17, "effective_to")->type == MSGPACK_OBJECT_NIL);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r17, "codes")), (int64_t)f.n17);
    const msgpack_object *files = cs_obj_get(cs_obj_get(r17, "source"), "files");
    ck_assert_uint_eq(files->via.array.size, 2);
    char sha[80];
    cs_obj_cstr(cs_obj_get(&files->via.array.ptr[0], "sha256"), sha, sizeof sha);
    ck_assert_uint_eq(strlen(sha), 64);
    ck_assert_uint_eq(strspn(sha, "0123456789abcdef"), 64);

    /* dates of service on both sides of 2016-10-01 */
    s_expect(q, added, "2016-10-01", 1, NULL, "2017", NULL);
    s_expect(q, added, "2016-09-30", 0, "not_effective", "2016", "2017");
    s_expect(q, deleted, "2016-09-30", 1, NULL, "2016", NULL);
    s_expect(q, deleted, "2016-10-01", 0, "not_effective", "2017", "2016");
    s_expect(q, deleted, NULL, 0, "not_effective", "2017", "2016"); /* newest by default */
    s_expect(q, "E11.9", "2015-10-01", 1, NULL, "2016", NULL);
    s_expect(q, "E1", "2016-10-01", 0, "malformed", "2017", NULL);
    s_expect_error(q, "2015-09-30", "no_release_for_date");
    s_expect_error(q, "2021-02-30", "bad_request");
    s_expect_error(q, "yesterday", "bad_request");

    /* the diff against the order files */
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 5);
    cs_tpack_kv(pk, "op", "diff");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", "2016");
    cs_tpack_kv(pk, "to_release", "2017");
    cs_tpack_str(pk, "limit");
    msgpack_pack_int(pk, 5000);
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    const msgpack_object *counts = cs_obj_get(r, "counts");
    ck_assert_int_eq(cs_obj_int(cs_obj_get(counts, "added")), (int64_t)f.truth.added);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(counts, "deleted")), (int64_t)f.truth.deleted);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(counts, "billable_changed")),
                     (int64_t)f.truth.billable_changed);
    ck_assert_int_gt(cs_obj_int(cs_obj_get(counts, "revised")), 0);
    ck_assert_uint_eq(cs_obj_get(r, "added")->via.array.size, f.truth.added);
    int saw_added = 0;
    const msgpack_object *list = cs_obj_get(r, "added");
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        saw_added |= cs_obj_is_str(cs_obj_get(&list->via.array.ptr[i], "code"), added);
    }
    ck_assert_msg(saw_added, "diff's added list lacks %s", added);
    /* a capped list still counts everything */
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 5);
    cs_tpack_kv(pk, "op", "diff");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", "2016");
    cs_tpack_kv(pk, "to_release", "2017");
    cs_tpack_str(pk, "limit");
    msgpack_pack_int(pk, 3);
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_uint_eq(cs_obj_get(r, "added")->via.array.size, 3);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(cs_obj_get(r, "counts"), "added")),
                     (int64_t)f.truth.added);

    /* a restart keeps every release, answering as before */
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    admin = cs_tclient_new(d.admin_ep);
    q = cs_tclient_new(d.query_ep);
    s_expect(q, added, "2016-10-01", 1, NULL, "2017", NULL);
    s_expect(q, deleted, "2016-09-30", 1, NULL, "2016", NULL);

    /* retire 2017: dates fall back to 2016, a pinned query still reaches 2017 */
    r = s_admin_op(admin, "retire", "2017");
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    s_expect(q, deleted, "2017-01-01", 1, NULL, "2016", NULL);
    const msgpack_object *reply;
    const msgpack_object *res = s_validate1(q, added, NULL, "2017", &reply);
    ck_assert_ptr_nonnull(res);
    ck_assert(cs_obj_true(cs_obj_get(res, "valid")));
    /* retire on the query endpoint is forbidden */
    r = s_admin_op(q, "retire", "2016");
    char buf[64];
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "forbidden");
    r = s_admin_op(admin, "retire", "1999");
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "unknown_release");

    /* drop it: gone for pinned queries too; 2016 untouched */
    r = s_admin_op(admin, "drop", "2017");
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "codes")), (int64_t)f.n17);
    s_validate1(q, added, NULL, "2017", &reply);
    ck_assert_str_eq(cs_obj_error_code(reply, buf, sizeof buf), "unknown_release");
    s_expect(q, deleted, NULL, 1, NULL, "2016", NULL);
    s_expect(q, added, NULL, 0, "unknown", "2016", NULL);

    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
    s_fixture_free(&f);
}
END_TEST

/* ---- FY2023: the October XML with the April order file ---- */

static void s_expect_parent(cs_tclient_t *q, const char *code, const char *parent,
                            const char *grandparent)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", code);
    cs_tpack_str(pk, "include");
    msgpack_pack_array(pk, 1);
    cs_tpack_str(pk, "ancestors");
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "found")), "%s not found", code);
    char buf[32];
    ck_assert_msg(cs_obj_is_str(cs_obj_get(r, "parent"), parent), "%s: parent %s, not %s", code,
                  cs_obj_cstr(cs_obj_get(r, "parent"), buf, sizeof buf), parent);
    const msgpack_object *anc = cs_obj_get(r, "ancestors");
    ck_assert_uint_ge(anc->via.array.size, 4); /* ... up to the block and the chapter */
    ck_assert(cs_obj_is_str(cs_obj_get(&anc->via.array.ptr[1], "code"), grandparent));
    ck_assert(cs_obj_is_str(cs_obj_get(&anc->via.array.ptr[anc->via.array.size - 1], "kind"),
                            "chapter"));
}

START_TEST(test_april_update_2023)
{
    s_year_t y;
    CS_SKIP_UNLESS_DATA(s_year_paths("2023", &y), "icd10cm/2023");
    size_t n;
    s_row_t *rows = s_read_order(y.order, &n);
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    s_load_year(&d, admin, "2023-04", "2023-04-01", &y);
    /* every order-file code is there, billable exactly as the April file says */
    size_t mismatches = 0, billable = 0;
    char first[64] = "";
    for (size_t start = 0; start < n; start += 10000) {
        size_t m = n - start < 10000 ? n - start : 10000;
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "validate");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_str(pk, "codes");
        msgpack_pack_array(pk, (uint32_t)m);
        for (size_t i = 0; i < m; i++) {
            cs_tpack_str(pk, rows[start + i].code);
        }
        const msgpack_object *r = cs_tclient_call(q, 60000);
        ck_assert_ptr_nonnull(r);
        const msgpack_object *res = cs_obj_get(r, "results");
        ck_assert_uint_eq(res->via.array.size, m);
        for (size_t i = 0; i < m; i++) {
            const msgpack_object *x = &res->via.array.ptr[i];
            int valid = cs_obj_true(cs_obj_get(x, "valid"));
            int header = cs_obj_is_str(cs_obj_get(x, "reason"), "not_billable");
            billable += (size_t)valid;
            if (valid != rows[start + i].billable || (!valid && !header)) {
                if (mismatches++ == 0) {
                    snprintf(first, sizeof first, "%s", rows[start + i].code);
                }
            }
        }
    }
    ck_assert_msg(mismatches == 0, "%zu codes disagree with the April order file, first %s",
                  mismatches, first);
    ck_assert_uint_gt(billable, 70000);
    /* the codes April added, under the right parents */
    s_expect_parent(q, "T74.A1XA", "T74.A1", "T74.A");
    s_expect_parent(q, "T76.A2XS", "T76.A2", "T76.A");
    s_expect_parent(q, "Y07.050", "Y07.05", "Y07.0");
    s_expect_parent(q, "Z58.81", "Z58.8", "Z58");
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
    free(rows);
}
END_TEST

/* ---- four clients validating without pause while FY2017 loads ---- */

typedef struct s_client {
    pthread_t thread;
    const char *endpoint;
    const char *added, *deleted;
    int pairs;             /* (added, deleted) pairs a request: 1, or many (answered in slices) */
    atomic_int *stop;
    long requests, errors, timeouts, went_back, switched;
    atomic_int seen_2017;  /* set once the client has had a 2017 answer */
    char failure[160];
} s_client_t;

static void *s_client_main(void *arg)
{
    s_client_t *c = arg;
    cs_tclient_t *q = cs_tclient_new(c->endpoint);
    int seen_2017 = 0;
    while (!atomic_load(c->stop)) {
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "validate");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_str(pk, "codes");
        msgpack_pack_array(pk, 2 * (uint32_t)c->pairs);
        for (int i = 0; i < c->pairs; i++) {
            cs_tpack_str(pk, c->added);
            cs_tpack_str(pk, c->deleted);
        }
        const msgpack_object *r = cs_tclient_call(q, 5000);
        c->requests++;
        if (!r) {
            c->timeouts++;
            cs_tclient_destroy(&q); /* a REQ socket that timed out cannot send again */
            q = cs_tclient_new(c->endpoint);
            continue;
        }
        if (!cs_obj_true(cs_obj_get(r, "ok"))) {
            c->errors++;
            continue;
        }
        int is_2017 = cs_obj_is_str(cs_obj_get(r, "release"), "2017");
        const msgpack_object *res = cs_obj_get(r, "results");
        /* 2016 answers: the added code is not valid, the deleted one is; 2017 the reverse;
         * every pair of a long request the same (its slices read one snapshot) */
        for (int i = 0; i < c->pairs; i++) {
            int added_valid = cs_obj_true(cs_obj_get(&res->via.array.ptr[2 * i], "valid"));
            int deleted_valid =
                cs_obj_true(cs_obj_get(&res->via.array.ptr[2 * i + 1], "valid"));
            if (added_valid != is_2017 || deleted_valid != !is_2017) {
                c->errors++;
                snprintf(c->failure, sizeof c->failure,
                         "release %s answered added=%d deleted=%d (pair %d)",
                         is_2017 ? "2017" : "2016", added_valid, deleted_valid, i);
                break;
            }
        }
        if (seen_2017 && !is_2017) {
            c->went_back++;
        }
        if (!seen_2017 && is_2017) {
            c->switched++;
            atomic_store(&c->seen_2017, 1);
        }
        seen_2017 |= is_2017;
    }
    cs_tclient_destroy(&q);
    return NULL;
}

START_TEST(test_load_while_validating)
{
    s_fixture_t f;
    CS_SKIP_UNLESS_DATA(s_fixture(&f), "icd10cm/2016 and icd10cm/2017");
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    s_load_year(&d, admin, "2016", "2015-10-01", &f.y16);

    atomic_int stop;
    atomic_init(&stop, 0);
    s_client_t clients[4];
    memset(clients, 0, sizeof clients);
    for (int i = 0; i < 4; i++) {
        clients[i].endpoint = d.query_ep;
        clients[i].added = f.truth.an_added;
        clients[i].deleted = f.truth.a_deleted;
        clients[i].pairs = i == 3 ? 300 : 1;
        clients[i].stop = &stop;
        ck_assert_int_eq(pthread_create(&clients[i].thread, NULL, s_client_main, &clients[i]),
                         0);
    }
    s_load_year(&d, admin, "2017", "2016-10-01", &f.y17);
    /* keep validating a while after the switch: until every client has had 2017 answers
     * (a slow build, under a sanitizer, needs more than a moment), then 300 ms more */
    struct timespec ts = {0, 50 * 1000000L};
    for (int waited = 0; waited < 60000; waited += 50) {
        int all = 1;
        for (int i = 0; i < 4; i++) {
            all &= atomic_load(&clients[i].seen_2017);
        }
        if (all) {
            break;
        }
        nanosleep(&ts, NULL);
    }
    ts.tv_nsec = 300 * 1000000L;
    nanosleep(&ts, NULL);
    atomic_store(&stop, 1);
    long total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(clients[i].thread, NULL);
        s_client_t *c = &clients[i];
        ck_assert_msg(c->errors == 0, "client %d: %ld errors (%s)", i, c->errors, c->failure);
        ck_assert_msg(c->timeouts == 0, "client %d: %ld timeouts", i, c->timeouts);
        ck_assert_msg(c->went_back == 0, "client %d went back to 2016 %ld times", i,
                      c->went_back);
        ck_assert_msg(c->switched == 1, "client %d never saw 2017", i);
        total += c->requests;
    }
    fprintf(stderr, "load while validating: %ld requests from 4 clients, none failed\n", total);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
    s_fixture_free(&f);
}
END_TEST

Suite *cs_releases_time_suite(void)
{
    Suite *s = suite_create("releases_time");
    TCase *tc = tcase_create("FY2016 to FY2017");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_order_files_truth);
    tcase_add_test(tc, test_dates_diff_retire_restart);
    tcase_add_test(tc, test_load_while_validating);
    tcase_add_test(tc, test_april_update_2023);
    suite_add_tcase(s, tc);
    return s;
}
