/* check_release_2021.c: the official ICD-10-CM FY2021 release through a live broker: every
 * one of the 95,358 order-file codes, with the order file and from the XML alone; and every
 * query op (but stats) answered byte for byte alike by a broker with code indexes and workers
 * and one without, over FY2021, FY2022, the GEMs and a conversion table.
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

/* ---- a broker with code indexes and workers against one without ---------------------------
 *
 * Two brokers hold the same releases, loaded the same way: FY2021 (tabular XML and order
 * file), FY2022 (order file alone), the 2018 diagnosis GEMs and the FY2023 conversion table.
 * One builds code indexes and has three workers, so a long validate is answered in slices; the
 * other has no index and one worker. Every request goes to both, and the replies must be the
 * same bytes. Only stats differs by design (it is never compared), and in releases the
 * loaded_at of each release, the second each broker published it (docs/REPLICAS.md): those
 * values, and nothing else, are left out of that comparison. The brokers are started once
 * for the test case, in the parent process; each test connects its own clients. */

#define XW_SOURCES 20000

static cs_daemon_t s_pair[2];
static int s_pair_up;         /* 1 when both brokers hold every release */
static order_row_t *s_rows;   /* the FY2021 order file */
static size_t s_n_rows;
static size_t s_stride = 1;   /* CS_TEST_STRIDE: every how many of a sample to send */
static time_t s_t0;           /* before the first load */
static char (*s_changed)[16]; /* the codes the diff 2021 -> 2022 names, once each */
static size_t s_n_changed;
static char (*s_icd9)[8];     /* the ICD-9-CM sources of the 2018 GEM, once each */
static size_t s_n_icd9;

static cs_tclient_t *s_q[2];  /* this test's clients: [0] indexed, [1] plain */
static msgpack_sbuffer s_req; /* the request being built */
static msgpack_packer s_pk;
static const char *s_test;    /* this test's name, once it runs */
static size_t s_n_sent;       /* requests this test sent to both */
static uint64_t s_digest;     /* FNV-1a of those requests and their replies, in order */

/* The absolute path of a file of ../shared/data; 0 when it is absent. */
static int s_data_file(const char *rel, char *abs)
{
    char path[600];
    return cs_test_data_path(rel, path, sizeof path) && realpath(path, abs) != NULL;
}

/* The distinct sources of a GEM file (one row per line: source, target, flags). */
static void s_read_gem_sources(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    s_icd9 = calloc(XW_SOURCES, sizeof *s_icd9);
    ck_assert_ptr_nonnull(s_icd9);
    char line[256];
    s_n_icd9 = 0;
    while (fgets(line, sizeof line, f) && s_n_icd9 < XW_SOURCES) {
        char src[8];
        if (sscanf(line, "%7s", src) == 1 &&
            (s_n_icd9 == 0 || strcmp(s_icd9[s_n_icd9 - 1], src) != 0)) {
            snprintf(s_icd9[s_n_icd9++], sizeof *s_icd9, "%s", src);
        }
    }
    fclose(f);
}

/* Every code the diff of 2021 -> 2022 names, as broker 0 answers it. */
static void s_read_changed(cs_tclient_t *q)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 5);
    cs_tpack_kv(pk, "op", "diff");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", "2021");
    cs_tpack_kv(pk, "to_release", "2022");
    cs_tpack_str(pk, "limit");
    msgpack_pack_int(pk, 100000);
    const msgpack_object *r = cs_tclient_call(q, 60000);
    ck_assert(r && cs_obj_true(cs_obj_get(r, "ok")));
    static const char *lists[] = {"added", "deleted", "revised", "billable_changed"};
    size_t cap = 0;
    for (size_t l = 0; l < 4; l++) {
        cap += cs_obj_get(r, lists[l])->via.array.size;
    }
    s_changed = calloc(cap + 1, sizeof *s_changed);
    ck_assert_ptr_nonnull(s_changed);
    s_n_changed = 0;
    for (size_t l = 0; l < 4; l++) {
        const msgpack_object *list = cs_obj_get(r, lists[l]);
        for (uint32_t i = 0; i < list->via.array.size; i++) {
            char code[16];
            cs_obj_cstr(cs_obj_get(&list->via.array.ptr[i], "code"), code, sizeof code);
            int seen = 0;
            for (size_t k = 0; k < s_n_changed && !seen; k++) {
                seen = strcmp(s_changed[k], code) == 0;
            }
            if (!seen) {
                snprintf(s_changed[s_n_changed++], sizeof *s_changed, "%s", code);
            }
        }
    }
}

/* Load every release into broker d; 0 when a load did not end "done". */
static int s_pair_load(cs_daemon_t *d, const char (*f)[4096])
{
    cs_tclient_t *admin = cs_tclient_new(d->admin_ep);
    char state[64];
    const char *fy2021[] = {f[0], f[1]};
    const char *fy2022[] = {f[2]};
    const char *gems[] = {f[3], f[4]};
    const char *conv[] = {f[5]};
    int ok = 1;
    cs_daemon_load(d, admin, "icd10cm-tabular", "2021", "2020-10-01", fy2021, 2, state,
                   sizeof state, 120000);
    ok &= strcmp(state, "done") == 0;
    cs_daemon_load(d, admin, "icd10cm-order", "2022", "2021-10-01", fy2022, 1, state,
                   sizeof state, 120000);
    ok &= strcmp(state, "done") == 0;
    cs_daemon_load(d, admin, "gems", "2018", "2017-10-01", gems, 2, state, sizeof state, 120000);
    ok &= strcmp(state, "done") == 0;
    cs_daemon_load(d, admin, "icd10cm-conversion", "fy2023", "2022-10-01", conv, 1, state,
                   sizeof state, 60000);
    ok &= strcmp(state, "done") == 0;
    cs_tclient_destroy(&admin);
    return ok;
}

/* A lookup pinned to a release, so that broker 0 starts building that release's index. */
static void s_touch(cs_tclient_t *q, const char *label)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", label);
    cs_tpack_kv(pk, "code", "E11.9");
    ck_assert_ptr_nonnull(cs_tclient_call(q, 5000));
}

static void s_pair_setup(void)
{
    static const char *rel[] = {"icd10cm/2021/icd10cm_tabular_2021.xml",
                                "icd10cm/2021/icd10cm_order_2021.txt",
                                "icd10cm/order/icd10cm_order_2022.txt",
                                "gems/2018/2018_I9gem.txt",
                                "gems/2018/2018_I10gem.txt",
                                "icd10cm/conversion/"
                                "ICD-10-CM-Conversion-Table-FY2023-Effective-10-01-2022.xlsx"};
    static char f[6][4096];
    for (size_t i = 0; i < 6; i++) {
        if (!s_data_file(rel[i], f[i])) {
            fprintf(stderr, "SKIP release_2021 pair: %s not found\n", rel[i]);
            return;
        }
    }
    const char *stride_env = getenv("CS_TEST_STRIDE");
    s_stride = stride_env && atoi(stride_env) > 0 ? (size_t)atoi(stride_env) : 1;
    s_rows = s_read_order(f[1], &s_n_rows);
    ck_assert_uint_eq(s_n_rows, ORDER_CODES);
    s_read_gem_sources(f[3]);
    ck_assert_uint_gt(s_n_icd9, 10000);
    s_t0 = time(NULL);
    memset(s_pair, 0, sizeof s_pair);
    /* three workers answer a long validate in slices; one answers it whole */
    const char *indexed[] = {"--workers", "3", NULL};
    const char *no_index[] = {"--index-mib", "0", "--workers", "1", NULL};
    ck_assert_int_eq(cs_daemon_start(&s_pair[0], indexed), 0);
    ck_assert_int_eq(cs_daemon_start(&s_pair[1], no_index), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(s_pair_load(&s_pair[i], (const char (*)[4096])f),
                      "a load failed; see %s", s_pair[i].log);
    }
    /* the first query of a release asks for its index; wait until both are built */
    cs_tclient_t *q = cs_tclient_new(s_pair[0].query_ep);
    s_touch(q, "2021");
    s_touch(q, "2022");
    int64_t built = 0;
    for (int i = 0; i < 300 && built < 2; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        built = cs_tclient_code_indexes(q);
    }
    ck_assert_msg(built == 2, "the code indexes were not built within 30 s (%lld)",
                  (long long)built);
    s_read_changed(q);
    cs_tclient_destroy(&q);
    s_pair_up = 1;
}

static void s_pair_teardown(void)
{
    for (int i = 0; i < 2; i++) {
        if (s_pair[i].pid > 0) {
            cs_daemon_stop(&s_pair[i]);
        }
        if (s_pair[i].dir[0]) {
            cs_daemon_cleanup(&s_pair[i]);
        }
    }
    free(s_rows);
    free(s_changed);
    free(s_icd9);
}

/* Each test's clients (in the test's process). */
static void s_connect(void)
{
    s_test = NULL;
    s_n_sent = 0;
    s_digest = 0xcbf29ce484222325ULL;
    msgpack_sbuffer_init(&s_req);
    msgpack_packer_init(&s_pk, &s_req, msgpack_sbuffer_write);
    for (int i = 0; i < 2 && s_pair_up; i++) {
        s_q[i] = cs_tclient_new(s_pair[i].query_ep);
    }
}

/* Each test says what it sent and a digest of what came back (releases' loaded_at left out):
 * the same digest from two builds means the same bytes, such as before and after a change
 * that must not change a reply. */
static void s_disconnect(void)
{
    if (s_test) {
        fprintf(stderr, "%s: %zu requests answered alike; digest %016llx\n", s_test, s_n_sent,
                (unsigned long long)s_digest);
    }
    for (int i = 0; i < 2; i++) {
        if (s_q[i]) {
            cs_tclient_destroy(&s_q[i]);
        }
    }
    msgpack_sbuffer_destroy(&s_req);
}

#define S_SKIP_UNLESS_PAIR()                                                                   \
    do {                                                                                       \
        if (!s_pair_up) {                                                                      \
            fprintf(stderr, "SKIP %s: the official data is absent\n", __func__);              \
            return;                                                                            \
        }                                                                                      \
        s_test = __func__;                                                                     \
    } while (0)

/* Start a request in s_req: a map of n keys whose first is "op". */
static msgpack_packer *s_begin(uint32_t n, const char *op)
{
    msgpack_sbuffer_clear(&s_req);
    msgpack_pack_map(&s_pk, n);
    cs_tpack_kv(&s_pk, "op", op);
    return &s_pk;
}

/* Print a request or reply as msgpack text (stderr), to say what differed. */
static void s_print(const char *name, const void *raw, size_t len)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    fprintf(stderr, "%s (%zu bytes): ", name, len);
    if (msgpack_unpack_next(&u, raw, len, &off) == MSGPACK_UNPACK_SUCCESS) {
        msgpack_object_print(stderr, u.data);
    } else {
        fprintf(stderr, "(not msgpack)");
    }
    fprintf(stderr, "\n");
    msgpack_unpacked_destroy(&u);
}

/* Zero the value of every "loaded_at" key (an int of the same width in both replies), and
 * count them. */
static size_t s_blank_loaded_at(unsigned char *p, size_t len)
{
    static const char key[] = "\xa9loaded_at";
    size_t n = 0;
    for (size_t i = 0; i + sizeof key < len; i++) {
        if (memcmp(p + i, key, sizeof key - 1) != 0) {
            continue;
        }
        unsigned char *v = p + i + sizeof key - 1;
        size_t w = *v == 0xce || *v == 0xd2 ? 4 : *v == 0xcf || *v == 0xd3 ? 8 : 0;
        if (w > 0 && (size_t)(v - p) + w < len) {
            memset(v + 1, 0, w);
            n++;
        }
    }
    return n;
}

static void s_fnv(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        s_digest = (s_digest ^ p[i]) * 0x100000001b3ULL;
    }
}

/* Send the request in s_req (or raw when not NULL) to both brokers: the replies must be the
 * same bytes (but for loaded_at's values, when blank_loaded_at). Returns broker 0's reply,
 * valid until its next call. Checks with if and ck_abort_msg: each ck_assert writes its place
 * to the runner's pipe, which a loop of thousands would pay for. */
static const msgpack_object *s_same_as(const char *what, const void *raw, size_t raw_len,
                                       int blank_loaded_at)
{
    const void *req = raw ? raw : s_req.data;
    size_t req_len = raw ? raw_len : s_req.size;
    if (!cs_tclient_call_raw(s_q[1], req, req_len, 60000)) {
        ck_abort_msg("%s: the broker without indexes did not answer", what);
    }
    size_t blen = 0;
    const void *braw = cs_tclient_last_raw(s_q[1], &blen);
    unsigned char *b = malloc(blen + 1);
    ck_assert_ptr_nonnull(b);
    memcpy(b, braw, blen);
    const msgpack_object *r = cs_tclient_call_raw(s_q[0], req, req_len, 60000);
    if (!r) {
        free(b);
        ck_abort_msg("%s: the broker with indexes did not answer", what);
    }
    size_t alen = 0;
    const unsigned char *araw = cs_tclient_last_raw(s_q[0], &alen);
    unsigned char *a = malloc(alen + 1);
    ck_assert_ptr_nonnull(a);
    memcpy(a, araw, alen);
    size_t blanked[2] = {0, 0};
    if (blank_loaded_at) {
        blanked[0] = s_blank_loaded_at(a, alen);
        blanked[1] = s_blank_loaded_at(b, blen);
    }
    int same = alen == blen && memcmp(a, b, alen) == 0 && blanked[0] == blanked[1];
    if (!same) {
        size_t at = 0;
        while (at < alen && at < blen && a[at] == b[at]) {
            at++;
        }
        fprintf(stderr, "%s: the answers differ from byte %zu\n", what, at);
        s_print("request", req, req_len);
        s_print("with indexes", araw, alen);
        s_print("without", braw, blen);
    }
    s_n_sent++;
    s_fnv(req, req_len);
    s_fnv(a, alen);
    free(a);
    free(b);
    if (!same) {
        ck_abort_msg("%s: the answers differ (%zu vs %zu bytes)", what, alen, blen);
    }
    return r;
}

static const msgpack_object *s_same(const char *what)
{
    return s_same_as(what, NULL, 0, 0);
}

/* A validate of n codes, each w bytes after the one before (a column of a table of rows or a
 * table of codes), with release or date when not NULL. */
static const msgpack_object *s_validate(const char *what, const char *codes, size_t w,
                                        size_t n, const char *release, const char *date)
{
    msgpack_packer *pk = s_begin(3 + (release != NULL) + (date != NULL), "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    if (release) {
        cs_tpack_kv(pk, "release", release);
    }
    if (date) {
        cs_tpack_kv(pk, "date", date);
    }
    cs_tpack_str(pk, "codes");
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        cs_tpack_str(pk, codes + i * w);
    }
    return s_same(what);
}

/* Every code validated, in batches, undated (the newest release, 2022, where the codes 2022
 * dropped are not_effective), on a date of 2021 and pinned; the codes the two releases differ
 * in, against each, in one request long enough to be sliced; codes no release holds. */
START_TEST(test_pair_validate)
{
    S_SKIP_UNLESS_PAIR();
    static const char *when[][2] = {{NULL, NULL}, {NULL, "2021-03-01"}, {"2021", NULL}};
    for (size_t k = 0; k < 3; k++) {
        for (size_t start = 0; start < s_n_rows; start += BATCH) {
            size_t m = s_n_rows - start < BATCH ? s_n_rows - start : BATCH;
            const msgpack_object *r = s_validate("a batch", s_rows[start].code,
                                                 sizeof s_rows[0], m, when[k][0], when[k][1]);
            ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        }
    }
    ck_assert_uint_ge(s_n_changed, 256);
    static const char *changed[][2] = {{NULL, NULL},         {"2021", NULL},
                                       {"2022", NULL},       {NULL, "2021-03-01"},
                                       {NULL, "2021-11-01"}, {NULL, "2019-01-01"}};
    for (size_t k = 0; k < sizeof changed / sizeof changed[0]; k++) {
        s_validate("the changed codes", s_changed[0], sizeof s_changed[0], s_n_changed,
                   changed[k][0], changed[k][1]);
    }
    static const char odd[][12] = {"E11.99", "E11.0000", "Z99.999", "e119", " e11.9 ", "E11",
                                   "A00-B99", "E08-E13", "1", "QQQ", "E11.9x", ""};
    s_validate("odd codes", odd[0], sizeof odd[0], sizeof odd / sizeof odd[0], NULL, NULL);
    s_validate("odd codes", odd[0], sizeof odd[0], sizeof odd / sizeof odd[0], "2021", NULL);
    /* one code under "code", and a validate that cannot be answered */
    msgpack_packer *pk = s_begin(3, "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", "J12.82");
    s_same("one code");
    s_validate("a date before every release", odd[0], sizeof odd[0], 1, NULL, "2001-01-01");
    s_validate("an unknown release", odd[0], sizeof odd[0], 1, "1999", NULL);
}
END_TEST

static void s_lookup(const char *code, const char *release, int full)
{
    msgpack_packer *pk = s_begin(3 + (release != NULL) + (full != 0), "lookup");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", code);
    if (release) {
        cs_tpack_kv(pk, "release", release);
    }
    if (full) {
        cs_tpack_str(pk, "include");
        msgpack_pack_array(pk, 3);
        cs_tpack_str(pk, "notes");
        cs_tpack_str(pk, "ancestors");
        cs_tpack_str(pk, "children");
    }
    s_same(code);
}

/* Lookups: a sample of FY2021 (every 50th with notes, ancestors and children) in the release
 * pinned and the newest; the changed codes in both, in full. The plain broker built no index. */
START_TEST(test_pair_lookup)
{
    S_SKIP_UNLESS_PAIR();
    for (size_t i = 0; i < s_n_rows; i += 7 * s_stride) {
        int full = (i / 7) % 50 == 0;
        s_lookup(s_rows[i].code, "2021", full);
        if ((i / 7) % 5 == 0) {
            s_lookup(s_rows[i].code, NULL, full);
        }
    }
    for (size_t i = 0; i < s_n_changed; i++) {
        s_lookup(s_changed[i], "2021", 1);
        s_lookup(s_changed[i], "2022", 1);
    }
    static const char *odd[] = {"13", "M45-M49", "E11.99", "e119", "QQQ", ""};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        s_lookup(odd[i], NULL, 1);
    }
    ck_assert_int_eq(cs_tclient_code_indexes(s_q[1]), 0);
    ck_assert_int_eq(cs_tclient_code_indexes(s_q[0]), 2);
}
END_TEST

/* A search's options: 0 (or NULL, or -1 for billable_only) leaves a key out. */
typedef struct s_search_opt {
    int limit;
    int offset;
    int billable_only;
    const char *release;
    const char *date;
} s_search_opt_t;

static const msgpack_object *s_search(const char *q, const s_search_opt_t *o)
{
    uint32_t n = 3 + (o->limit != 0) + (o->offset != 0) + (o->billable_only >= 0) +
                 (o->release != NULL) + (o->date != NULL);
    msgpack_packer *pk = s_begin(n, "search");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "q", q);
    if (o->limit != 0) {
        cs_tpack_str(pk, "limit");
        msgpack_pack_int(pk, o->limit);
    }
    if (o->offset != 0) {
        cs_tpack_str(pk, "offset");
        msgpack_pack_int(pk, o->offset);
    }
    if (o->billable_only >= 0) {
        cs_tpack_str(pk, "billable_only");
        if (o->billable_only) {
            msgpack_pack_true(pk);
        } else {
            msgpack_pack_false(pk);
        }
    }
    if (o->release) {
        cs_tpack_kv(pk, "release", o->release);
    }
    if (o->date) {
        cs_tpack_kv(pk, "date", o->date);
    }
    char what[160];
    snprintf(what, sizeof what, "search '%.60s' limit %d offset %d billable_only %d %s %s", q,
             o->limit, o->offset, o->billable_only, o->release ? o->release : "",
             o->date ? o->date : "");
    return s_same(what);
}

/* Searches of every kind: words, prefixes, several words, accents, typos, code-like queries,
 * nothing matching, nothing to search, too many words; each with the defaults, and (every
 * stride-th under a stride) with limit, offset, billable_only, a release or a date. Broad
 * queries are paged through, up to the cap on offset + limit. */
START_TEST(test_pair_search)
{
    S_SKIP_UNLESS_PAIR();
    static const char *qs[] = {
        "diabetes", "diab", "d", "f", "o", "s", "type 2 diabetes",
        "type 2 diabetes without complications", "diab mel type 2 hyperglyc",
        "Type 2 DIAB w hyprosm", "fracture neck right femur", "neck", "Sézary", "sezary",
        "SÉZARY DISEASE", "charcot", "Charcôt joint", "Ménière", "sjögren", "café au lait",
        "alzheimer's", "alzheimers disease", "diabetis", "hypertenion", "hypertension essential",
        "essential (primary) hypertension", "high blood pressure", "e11", "E11.6", "e116",
        "s7200", "S72.001A", "I10", "i10", "u07", "U07.1", "z99.8", "J12.8", "A00-B99", "13",
        "2", "covid 19", "covid-19", "xyzzyplugh", "qqqqqq zzzzzz", "", "   ", "!!!", "-",
        "a b c d e f g h i j k l m n o p q r s t",
        "pneumonoultramicroscopicsilicovolcanoconiosisxxxxxxxxxxxxxxxxxxxxx",
        "pressure ulcer of sacral region stage 3", "poisoning by", "underdosing of insulin",
        "encounter for screening", "personal history of", "body mass index", "bmi 40",
        "left", "newborn", "pregnancy third trimester", "t74", "y07", "W55.01XA",
        "contact with dog", "burn", "struck by", "asthma", "copd",
        "chronic obstructive pulmonary disease", "malignant neoplasm of breast",
        "otitis media", "sepsis", "mi", "infarction", "stemi", "\001abc"};
    static const s_search_opt_t opts[] = {
        {0, 0, -1, NULL, NULL},         {50, 10, 1, NULL, NULL},
        {0, 0, -1, "2021", NULL},       {5, 0, -1, NULL, "2021-11-01"},
        {0, 20, 0, "2022", NULL},       {500, 0, -1, NULL, "2021-03-01"}};
    size_t n_qs = sizeof qs / sizeof qs[0];
    size_t n_opts = sizeof opts / sizeof opts[0];
    for (size_t i = 0; i < n_qs; i++) {
        for (size_t j = 0; j < n_opts; j++) {
            if (j == 0 || (i + j) % s_stride == 0) {
                s_search(qs[i], &opts[j]);
            }
        }
    }
    static const char *broad[] = {"f", "diabetes", "fracture", "left"};
    for (size_t i = 0; i < sizeof broad / sizeof broad[0]; i++) {
        for (int off = 20; off <= 400; off += 20 * (int)s_stride) {
            s_search(broad[i], &(s_search_opt_t){20, off, -1, NULL, NULL});
        }
        s_search(broad[i], &(s_search_opt_t){20, 9980, -1, NULL, NULL});
        s_search(broad[i], &(s_search_opt_t){20, 9990, -1, NULL, NULL});
        s_search(broad[i], &(s_search_opt_t){500, 9600, 1, NULL, NULL});
        s_search(broad[i], &(s_search_opt_t){20, 10000, -1, NULL, NULL});
    }
    /* what is refused */
    s_search("diabetes", &(s_search_opt_t){-1, 0, -1, NULL, NULL});
    s_search("diabetes", &(s_search_opt_t){501, 0, -1, NULL, NULL});
    s_search("diabetes", &(s_search_opt_t){20, -1, -1, NULL, NULL});
    s_search("diabetes", &(s_search_opt_t){0, 0, -1, "1999", NULL});
    s_search("diabetes", &(s_search_opt_t){0, 0, -1, NULL, "2001-01-01"});
    s_search("diabetes", &(s_search_opt_t){0, 0, -1, NULL, "2021-02-30"});
    msgpack_packer *pk = s_begin(2, "search");
    cs_tpack_kv(pk, "system", "icd10cm");
    s_same("a search without q");
}
END_TEST

/* A crosswalk's keys besides op, from, to and code: NULL (or 0) leaves one out. */
typedef struct s_xw_opt {
    int reverse;
    const char *release;
    const char *to_release;
    const char *date;
    const char *map;
} s_xw_opt_t;

static const msgpack_object *s_crosswalk(const char *from, const char *to, const char *code,
                                         const s_xw_opt_t *o)
{
    uint32_t n = 4 + (o->reverse != 0) + (o->release != NULL) + (o->to_release != NULL) +
                 (o->date != NULL) + (o->map != NULL);
    msgpack_packer *pk = s_begin(n, "crosswalk");
    cs_tpack_kv(pk, "from", from);
    cs_tpack_kv(pk, "to", to);
    cs_tpack_kv(pk, "code", code);
    if (o->reverse) {
        cs_tpack_str(pk, "reverse");
        msgpack_pack_true(pk);
    }
    const char *keys[] = {"release", "to_release", "date", "map"};
    const char *vals[] = {o->release, o->to_release, o->date, o->map};
    for (size_t i = 0; i < 4; i++) {
        if (vals[i]) {
            cs_tpack_kv(pk, keys[i], vals[i]);
        }
    }
    char what[160];
    snprintf(what, sizeof what, "crosswalk %s -> %s '%s'%s %s %s %s %s", from, to, code,
             o->reverse ? " reversed" : "", o->release ? o->release : "",
             o->to_release ? o->to_release : "", o->date ? o->date : "", o->map ? o->map : "");
    return s_same(what);
}

/* Crosswalks between systems through the GEMs, forward and reversed, with the release of the
 * titles picked by default, by label and by date, and by map name; within ICD-10-CM from 2021
 * to 2022 and back through the conversion table, for every code the releases differ in and a
 * sample. */
START_TEST(test_pair_crosswalk)
{
    S_SKIP_UNLESS_PAIR();
    static const s_xw_opt_t plain = {0}, back = {.reverse = 1};
    static const s_xw_opt_t titled[] = {{.to_release = "2021"}, {.date = "2021-11-01"},
                                        {.map = "gems"}, {.map = "gems/icd9cm-icd10cm"}};
    size_t sent = 0;
    for (size_t i = 0; i < s_n_icd9; i += 16 * s_stride, sent++) {
        s_crosswalk("icd9cm", "icd10cm", s_icd9[i], &plain);
        s_crosswalk("icd10cm", "icd9cm", s_icd9[i], &back);
        if (sent % 5 == 0) {
            s_crosswalk("icd9cm", "icd10cm", s_icd9[i], &titled[(sent / 5) % 4]);
        }
    }
    for (size_t i = 0; i < s_n_rows; i += 100 * s_stride) {
        s_crosswalk("icd10cm", "icd9cm", s_rows[i].code, &plain);
        s_crosswalk("icd9cm", "icd10cm", s_rows[i].code, &back);
        s_crosswalk("icd10cm", "icd10cm", s_rows[i].code,
                    &(s_xw_opt_t){.release = "2021", .to_release = "2022"});
    }
    static const s_xw_opt_t across[] = {
        {.release = "2021", .to_release = "2022"}, {.release = "2022", .to_release = "2021"},
        {.release = "2021"}, {.release = "2021", .to_release = "2022", .reverse = 1}};
    for (size_t i = 0; i < s_n_changed; i += s_stride) {
        for (size_t k = 0; k < sizeof across / sizeof across[0]; k++) {
            s_crosswalk("icd10cm", "icd10cm", s_changed[i], &across[k]);
        }
    }
    /* what has no answer, or no map */
    s_crosswalk("icd9cm", "icd10cm", "999.99", &plain);
    s_crosswalk("icd9cm", "icd10cm", "25X.00", &plain);
    s_crosswalk("icd9cm", "icd10cm", " 250.00 ", &plain);
    s_crosswalk("icd9cm", "icd10cm", "250.00", &(s_xw_opt_t){.map = "nope"});
    s_crosswalk("icd9cm", "icd10cm", "250.00", &(s_xw_opt_t){.to_release = "1999"});
    s_crosswalk("icd9cm", "hcpcs", "250.00", &plain);
    s_crosswalk("icd9cm", "snomed", "250.00", &plain);
    s_crosswalk("icd10cm", "icd10cm", "E11.9", &plain);
    s_crosswalk("icd10cm", "icd10cm", "E11.9", &(s_xw_opt_t){.release = "1999"});
    s_crosswalk("icd10cm", "icd10cm", "E11.9",
                &(s_xw_opt_t){.release = "2021", .to_release = "1999"});
    msgpack_packer *pk = s_begin(3, "crosswalk");
    cs_tpack_kv(pk, "from", "icd9cm");
    cs_tpack_kv(pk, "to", "icd10cm");
    s_same("a crosswalk without code");
}
END_TEST

static void s_diff(const char *what, const char *system, const char *from, const char *to,
                   int64_t limit)
{
    msgpack_packer *pk = s_begin(2 + (from != NULL) + (to != NULL) + (limit != 0), "diff");
    cs_tpack_kv(pk, "system", system);
    if (from) {
        cs_tpack_kv(pk, "release", from);
    }
    if (to) {
        cs_tpack_kv(pk, "to_release", to);
    }
    if (limit != 0) {
        cs_tpack_str(pk, "limit");
        msgpack_pack_int64(pk, limit);
    }
    s_same(what);
}

/* The diff of the two releases, both ways, with and without a limit; and what is refused. */
START_TEST(test_pair_diff)
{
    S_SKIP_UNLESS_PAIR();
    /* each diff walks both releases whole: under a stride (sanitizers), only the first two
     * limits, and only they in reverse */
    static const int64_t limits[] = {0, 5, 1, 10, 100000};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        if (i < 2 || s_stride == 1) {
            s_diff("diff 2021 -> 2022", "icd10cm", "2021", "2022", limits[i]);
        }
        if (i < 2) {
            s_diff("diff 2022 -> 2021", "icd10cm", "2022", "2021", limits[i]);
        }
    }
    if (s_stride == 1) {
        s_diff("diff 2021 -> 2021", "icd10cm", "2021", "2021", 0);
        s_diff("diff 2021 -> newest", "icd10cm", "2021", NULL, 0);
    }
    s_diff("diff with a limit of -1", "icd10cm", "2021", "2022", -1);
    s_diff("diff with a limit over 100,000", "icd10cm", "2021", "2022", 100001);
    s_diff("diff without releases", "icd10cm", NULL, NULL, 0);
    s_diff("diff to an unknown release", "icd10cm", "2021", "1999", 0);
    s_diff("diff of a system without releases", "icd10pcs", "2021", "2022", 0);
    s_diff("diff of an unknown system", "snomed", "2021", "2022", 0);
}
END_TEST

/* releases (all, per system, map sets, unknown), ping, and requests every op refuses alike:
 * an unknown op, an admin op, a version 2, a body that is not a map. stats is left out: it
 * differs by design. */
START_TEST(test_pair_releases_ping)
{
    S_SKIP_UNLESS_PAIR();
    s_begin(1, "releases");
    const msgpack_object *r = s_same_as("releases", NULL, 0, 1);
    const msgpack_object *list = cs_obj_get(r, "releases");
    ck_assert_uint_eq(list->via.array.size, 4);
    time_t now = time(NULL);
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        int64_t at = cs_obj_int(cs_obj_get(&list->via.array.ptr[i], "loaded_at"));
        ck_assert(at >= (int64_t)s_t0 && at <= (int64_t)now);
    }
    static const char *systems[] = {"icd10cm", "icd10pcs", "icd9cm", "gems",
                                    "icd10cm-conversion", "snomed", ""};
    for (size_t i = 0; i < sizeof systems / sizeof systems[0]; i++) {
        msgpack_packer *pk = s_begin(2, "releases");
        cs_tpack_kv(pk, "system", systems[i]);
        s_same_as(systems[i], NULL, 0, 1);
    }
    msgpack_packer *pk = s_begin(2, "releases");
    cs_tpack_str(pk, "id");
    msgpack_pack_int(pk, 42);
    s_same_as("releases with an id", NULL, 0, 1);

    s_begin(1, "ping");
    s_same("ping");
    pk = s_begin(3, "ping");
    cs_tpack_kv(pk, "id", "p-1");
    cs_tpack_str(pk, "v");
    msgpack_pack_int(pk, 1);
    s_same("ping with an id and v 1");
    pk = s_begin(2, "ping");
    cs_tpack_str(pk, "v");
    msgpack_pack_int(pk, 2);
    s_same("ping v 2");
    s_begin(1, "frobnicate");
    s_same("an unknown op");
    s_begin(1, "plugins");
    s_same("an admin op on the query endpoint");
    static const unsigned char not_a_map[] = {0x93, 0x01, 0x02, 0x03};
    s_same_as("a body that is not a map", not_a_map, sizeof not_a_map, 0);
}
END_TEST

Suite *cs_release_2021_suite(void);
Suite *cs_release_2021_suite(void)
{
    Suite *s = suite_create("release_2021");
    TCase *tc = tcase_create("official FY2021");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_fy2021_every_code);
    suite_add_tcase(s, tc);
    /* the same bytes with indexes and workers as without, for every op but stats */
    tc = tcase_create("indexed against plain");
    tcase_add_unchecked_fixture(tc, s_pair_setup, s_pair_teardown);
    tcase_add_checked_fixture(tc, s_connect, s_disconnect);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_pair_validate);
    tcase_add_test(tc, test_pair_lookup);
    tcase_add_test(tc, test_pair_search);
    tcase_add_test(tc, test_pair_crosswalk);
    tcase_add_test(tc, test_pair_diff);
    tcase_add_test(tc, test_pair_releases_ping);
    suite_add_tcase(s, tc);
    return s;
}
