/* check_release_2021.c: the official ICD-10-CM FY2021 release through a live broker: every
 * one of the 95,358 order-file codes, with the order file and from the XML alone.
 * Skips, saying so, where ../shared/data is absent. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define ORDER_CODES 95358
#define ORDER_BILLABLE 72621
#define BATCH 10000

typedef struct order_row {
    char code[10];     /* display form, "A00.0" */
    int billable;      /* the order file's flag */
    char title[256];   /* long title */
} order_row_t;

static order_row_t *s_read_order(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 100000;
    order_row_t *rows = calloc(cap, sizeof *rows);
    char line[1024];
    *n = 0;
    while (fgets(line, sizeof line, f) && *n < cap) {
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (len < 16) {
            continue;
        }
        order_row_t *r = &rows[(*n)++];
        char raw[8];
        memcpy(raw, line + 6, 7);
        raw[7] = '\0';
        raw[strcspn(raw, " ")] = '\0';
        if (strlen(raw) > 3) {
            snprintf(r->code, sizeof r->code, "%.3s.%s", raw, raw + 3);
        } else {
            snprintf(r->code, sizeof r->code, "%s", raw);
        }
        r->billable = line[14] == '1';
        snprintf(r->title, sizeof r->title, "%s", len > 77 ? line + 77 : "");
    }
    fclose(f);
    return rows;
}

/* Validate every order-file code against release label; count billable agreements. */
static void s_check_all(cs_tclient_t *q, const char *label, const order_row_t *rows, size_t n,
                        int check_titles, size_t *billable_seen, size_t *flag_mismatch)
{
    *billable_seen = 0;
    *flag_mismatch = 0;
    for (size_t start = 0; start < n; start += BATCH) {
        size_t m = n - start < BATCH ? n - start : BATCH;
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 4);
        cs_tpack_kv(pk, "op", "validate");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "release", label);
        cs_tpack_str(pk, "codes");
        msgpack_pack_array(pk, (uint32_t)m);
        for (size_t i = 0; i < m; i++) {
            /* send the plain order-file form (no dot, lower case) to exercise canonicalising */
            char in[10];
            size_t k = 0;
            for (const char *p = rows[start + i].code; *p; p++) {
                if (*p != '.') {
                    in[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
                }
            }
            in[k] = '\0';
            cs_tpack_str(pk, in);
        }
        const msgpack_object *r = cs_tclient_call(q, 60000);
        ck_assert_ptr_nonnull(r);
        ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        const msgpack_object *res = cs_obj_get(r, "results");
        ck_assert_uint_eq(res->via.array.size, m);
        for (size_t i = 0; i < m; i++) {
            const order_row_t *row = &rows[start + i];
            const msgpack_object *x = &res->via.array.ptr[i];
            ck_assert_msg(cs_obj_is_str(cs_obj_get(x, "code"), row->code),
                          "%s: canonical form differs", row->code);
            int valid = cs_obj_true(cs_obj_get(x, "valid"));
            if (valid) {
                (*billable_seen)++;
            }
            if (!valid) {
                ck_assert_msg(cs_obj_is_str(cs_obj_get(x, "reason"), "not_billable"),
                              "%s (release %s) is missing", row->code, label);
            }
            if (valid != row->billable) {
                (*flag_mismatch)++;
            }
            if (check_titles && valid && !cs_obj_is_str(cs_obj_get(x, "title"), row->title)) {
                /* The XML keeps accents the order file writes in plain ASCII (Charcôt). */
                char t[512];
                cs_obj_cstr(cs_obj_get(x, "title"), t, sizeof t);
                int accented = 0;
                for (const char *p = t; *p; p++) {
                    accented |= (unsigned char)*p >= 0x80;
                }
                ck_assert_msg(accented, "%s: title '%s' differs from the order file's '%s'",
                              row->code, t, row->title);
                ck_assert_uint_eq(strlen(t) > strlen(row->title) ? strlen(t) - strlen(row->title)
                                                                : strlen(row->title) - strlen(t),
                                  strlen(t) - strlen(row->title));
            }
        }
    }
}

/* The absolute paths of the FY2021 tabular XML and order file; 0 when ../shared/data lacks
 * them. */
static int s_fy2021_files(char *axml, char *aorder)
{
    char xml[600], order[600];
    if (!cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml) ||
        !cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order)) {
        return 0;
    }
    ck_assert_ptr_nonnull(realpath(xml, axml));
    ck_assert_ptr_nonnull(realpath(order, aorder));
    return 1;
}

START_TEST(test_fy2021_every_code)
{
    char axml[4096], aorder[4096];
    CS_SKIP_UNLESS_DATA(s_fy2021_files(axml, aorder), "icd10cm/2021");

    size_t n = 0;
    order_row_t *rows = s_read_order(aorder, &n);
    ck_assert_uint_eq(n, ORDER_CODES);
    size_t billable = 0;
    for (size_t i = 0; i < n; i++) {
        billable += (size_t)rows[i].billable;
    }
    ck_assert_uint_eq(billable, ORDER_BILLABLE);

    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char state[64];

    const char *both[] = {axml, aorder};
    const msgpack_object *r = cs_daemon_load(&d, admin, "icd10cm-tabular", "2021",
                                             "2020-10-01", both, 2, state, sizeof state, 120000);
    ck_assert_str_eq(state, "done");
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "codes")), ORDER_CODES);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "billable")), ORDER_BILLABLE);
    size_t seen, mismatch;
    s_check_all(q, "2021", rows, n, 1, &seen, &mismatch);
    ck_assert_uint_eq(seen, ORDER_BILLABLE);
    ck_assert_uint_eq(mismatch, 0);

    /* the same release from the XML alone: every order-file code is there with its flag */
    const char *xml_only[] = {axml};
    r = cs_daemon_load(&d, admin, "icd10cm-tabular", "2021-xml", "2020-10-01", xml_only, 1,
                       state, sizeof state, 120000);
    ck_assert_str_eq(state, "done");
    int64_t xml_billable = cs_obj_int(cs_obj_get(r, "billable"));
    fprintf(stderr, "FY2021 from the XML alone: %lld codes, %lld billable (order file: %d)\n",
            (long long)cs_obj_int(cs_obj_get(r, "codes")), (long long)xml_billable,
            ORDER_BILLABLE);
    ck_assert_int_ge(xml_billable, ORDER_BILLABLE);
    s_check_all(q, "2021-xml", rows, n, 0, &seen, &mismatch);
    ck_assert_uint_eq(seen, ORDER_BILLABLE);
    ck_assert_uint_eq(mismatch, 0);

    /* a restart keeps both releases */
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    q = cs_tclient_new(d.query_ep);
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "releases");
    r = cs_tclient_call(q, 5000);
    ck_assert_uint_eq(cs_obj_get(r, "releases")->via.array.size, 2);
    cs_tclient_destroy(&q);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
    free(rows);
}
END_TEST

/* Send the same request bytes to brokers a and b: the replies must be byte for byte the same.
 * Returns a's reply. */
static const msgpack_object *s_same_answer(cs_tclient_t *a, cs_tclient_t *b,
                                           const msgpack_sbuffer *req, const char *what)
{
    char why[128];
    const msgpack_object *r = cs_tclient_same_answer(a, b, req->data, req->size, why,
                                                     sizeof why);
    ck_assert_msg(r != NULL, "%s: %s", what, why);
    return r;
}

static int64_t s_indexes_built(cs_tclient_t *q)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "stats");
    const msgpack_object *r = cs_tclient_call(q, 5000);
    ck_assert_ptr_nonnull(r);
    return cs_obj_int(cs_obj_get(cs_obj_get(r, "code_indexes"), "count"));
}

/* The code index and validates answered in slices change no answer: every code validated, a
 * sample looked up (with notes, ancestors and children for some), and codes the release
 * lacks, against a broker without indexes that answers each request whole. */
START_TEST(test_fy2021_index_answers_as_lmdb)
{
    char axml[4096], aorder[4096];
    CS_SKIP_UNLESS_DATA(s_fy2021_files(axml, aorder), "icd10cm/2021");
    size_t n = 0;
    order_row_t *rows = s_read_order(aorder, &n);
    const char *stride_env = getenv("CS_TEST_STRIDE");
    size_t stride = stride_env && atoi(stride_env) > 0 ? (size_t)atoi(stride_env) : 1;

    cs_daemon_t d[2];
    memset(d, 0, sizeof d);
    /* three workers answer a long validate in slices; one answers it whole */
    const char *indexed[] = {"--workers", "3", NULL};
    const char *no_index[] = {"--index-mib", "0", "--workers", "1", NULL};
    ck_assert_int_eq(cs_daemon_start(&d[0], indexed), 0);
    ck_assert_int_eq(cs_daemon_start(&d[1], no_index), 0);
    cs_tclient_t *q[2];
    const char *both[] = {axml, aorder};
    for (int i = 0; i < 2; i++) {
        cs_tclient_t *admin = cs_tclient_new(d[i].admin_ep);
        char state[64];
        cs_daemon_load(&d[i], admin, "icd10cm-tabular", "2021", "2020-10-01", both, 2, state,
                       sizeof state, 120000);
        ck_assert_str_eq(state, "done");
        cs_tclient_destroy(&admin);
        q[i] = cs_tclient_new(d[i].query_ep);
    }
    /* the first query asks for the index; wait until it is built */
    msgpack_sbuffer req;
    msgpack_sbuffer_init(&req);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &req, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    cs_tpack_kv(&pk, "op", "lookup");
    cs_tpack_kv(&pk, "system", "icd10cm");
    cs_tpack_kv(&pk, "code", "E11.9");
    s_same_answer(q[0], q[1], &req, "E11.9");
    int64_t built = 0;
    for (int i = 0; i < 300 && built == 0; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        built = s_indexes_built(q[0]);
    }
    ck_assert_msg(built == 1, "the code index was not built within 30 s");

    /* every code, validated in batches, as the order file writes it and with a date */
    for (int dated = 0; dated < 2; dated++) {
        for (size_t start = 0; start < n; start += BATCH) {
            size_t m = n - start < BATCH ? n - start : BATCH;
            msgpack_sbuffer_clear(&req);
            msgpack_pack_map(&pk, dated ? 4 : 3);
            cs_tpack_kv(&pk, "op", "validate");
            cs_tpack_kv(&pk, "system", "icd10cm");
            if (dated) {
                cs_tpack_kv(&pk, "date", "2021-03-01");
            }
            cs_tpack_str(&pk, "codes");
            msgpack_pack_array(&pk, (uint32_t)m);
            for (size_t i = 0; i < m; i++) {
                cs_tpack_str(&pk, rows[start + i].code);
            }
            const msgpack_object *r = s_same_answer(q[0], q[1], &req, "a batch");
            ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        }
    }
    /* what the release lacks, or cannot be a code */
    static const char *odd[] = {"E11.99", "E11.0000", "Z99.999", "e119", " e11.9 ", "E11",
                                "A00-B99", "E08-E13", "1", "QQQ", "E11.9x", ""};
    msgpack_sbuffer_clear(&req);
    msgpack_pack_map(&pk, 3);
    cs_tpack_kv(&pk, "op", "validate");
    cs_tpack_kv(&pk, "system", "icd10cm");
    cs_tpack_str(&pk, "codes");
    msgpack_pack_array(&pk, sizeof odd / sizeof odd[0]);
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        cs_tpack_str(&pk, odd[i]);
    }
    s_same_answer(q[0], q[1], &req, "odd codes");
    /* lookups: a sample, every 50th with notes, ancestors and children */
    for (size_t i = 0; i < n; i += 7 * stride) {
        int full = (i / 7) % 50 == 0;
        msgpack_sbuffer_clear(&req);
        msgpack_pack_map(&pk, full ? 4 : 3);
        cs_tpack_kv(&pk, "op", "lookup");
        cs_tpack_kv(&pk, "system", "icd10cm");
        cs_tpack_kv(&pk, "code", rows[i].code);
        if (full) {
            cs_tpack_str(&pk, "include");
            msgpack_pack_array(&pk, 3);
            cs_tpack_str(&pk, "notes");
            cs_tpack_str(&pk, "ancestors");
            cs_tpack_str(&pk, "children");
        }
        s_same_answer(q[0], q[1], &req, rows[i].code);
    }
    ck_assert_int_eq(s_indexes_built(q[1]), 0);
    msgpack_sbuffer_destroy(&req);
    for (int i = 0; i < 2; i++) {
        cs_tclient_destroy(&q[i]);
        ck_assert_int_eq(cs_daemon_stop(&d[i]), 0);
        cs_daemon_cleanup(&d[i]);
    }
    free(rows);
}
END_TEST

Suite *cs_release_2021_suite(void);
Suite *cs_release_2021_suite(void)
{
    Suite *s = suite_create("release_2021");
    TCase *tc = tcase_create("official FY2021");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_fy2021_every_code);
    tcase_add_test(tc, test_fy2021_index_answers_as_lmdb);
    suite_add_tcase(s, tc);
    return s;
}
