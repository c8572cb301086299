/* check_broker.c: integration tests against a real codesetd over real ZeroMQ sockets, on a
 * real LMDB directory, loading real release files. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 5000

static void s_sample_paths(char *xml, char *order, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(xml, cap, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml", cwd);
    snprintf(order, cap, "%s/loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt", cwd);
}

/* A broker with the sample release "S" (effective 2020-10-01) loaded. */
static void s_start_with_sample(cs_daemon_t *d, cs_tclient_t **admin, cs_tclient_t **query)
{
    memset(d, 0, sizeof *d);
    ck_assert_int_eq(cs_daemon_start(d, NULL), 0);
    *admin = cs_tclient_new(d->admin_ep);
    *query = cs_tclient_new(d->query_ep);
    ck_assert_ptr_nonnull(*admin);
    ck_assert_ptr_nonnull(*query);
    char xml[PATH_MAX], order[PATH_MAX], state[64];
    s_sample_paths(xml, order, sizeof xml);
    const char *files[] = {xml, order};
    const msgpack_object *r = cs_daemon_load(d, *admin, NULL, "S", "2020-10-01", files, 2,
                                             state, sizeof state, 30000);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(state, "done");
}

/* A lookup of code in system, with notes, children and ancestors when with_include. */
static const msgpack_object *s_lookup_in(cs_tclient_t *c, const char *system, const char *code,
                                         int with_include)
{
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, with_include ? 4 : 3);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", system);
    cs_tpack_kv(pk, "code", code);
    if (with_include) {
        cs_tpack_str(pk, "include");
        msgpack_pack_array(pk, 3);
        cs_tpack_str(pk, "notes");
        cs_tpack_str(pk, "children");
        cs_tpack_str(pk, "ancestors");
    }
    return cs_tclient_call(c, T_TIMEOUT);
}

static const msgpack_object *s_lookup(cs_tclient_t *c, const char *code, int with_include)
{
    return s_lookup_in(c, "icd10cm", code, with_include);
}

/* validate codes (extra key/value pair optional, e.g. "date") */
static const msgpack_object *s_validate(cs_tclient_t *c, const char *const *codes, size_t n,
                                        const char *k, const char *v)
{
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, k ? 4 : 3);
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    if (k) {
        cs_tpack_kv(pk, k, v);
    }
    cs_tpack_str(pk, "codes");
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        cs_tpack_str(pk, codes[i]);
    }
    return cs_tclient_call(c, 30000);
}

static const msgpack_object *s_simple(cs_tclient_t *c, const char *op)
{
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", op);
    return cs_tclient_call(c, T_TIMEOUT);
}

/* A broker started on a store maps its releases' code index images as it starts, before
 * any query asks (before, the first lookup of each release asked for its index and was
 * answered from the B-tree meanwhile); the lookups then answer as before. */
START_TEST(test_indexes_mapped_at_start)
{
    cs_daemon_t d;
    cs_tclient_t *admin, *q;
    s_start_with_sample(&d, &admin, &q);
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    q = cs_tclient_new(d.query_ep);
    int64_t n = 0;
    for (int i = 0; i < 1000 && n < 1; i++) { /* stats asks for no index */
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = cs_tclient_code_indexes(q);
    }
    ck_assert_int_eq(n, 1);
    char buf[64];
    const msgpack_object *r = s_lookup(q, "e119", 0);
    ck_assert(r && cs_obj_true(cs_obj_get(r, "found")));
    ck_assert_str_eq(cs_obj_cstr(cs_obj_get(r, "code"), buf, sizeof buf), "E11.9");
    cs_tclient_destroy(&q);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    /* with indexes off, none */
    const char *off[] = {"--index-mib", "0", NULL};
    ck_assert_int_eq(cs_daemon_start(&d, off), 0);
    q = cs_tclient_new(d.query_ep);
    r = s_lookup(q, "e119", 0);
    ck_assert(r && cs_obj_true(cs_obj_get(r, "found")));
    ck_assert_int_eq(cs_tclient_code_indexes(q), 0);
    cs_tclient_destroy(&q);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_sample_lookup)
{
    cs_daemon_t d;
    cs_tclient_t *admin, *q;
    s_start_with_sample(&d, &admin, &q);
    char buf[256];

    const msgpack_object *r = s_lookup(q, "e119", 1);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert_str_eq(cs_obj_cstr(cs_obj_get(r, "code"), buf, sizeof buf), "E11.9");
    ck_assert_str_eq(cs_obj_cstr(cs_obj_get(r, "input"), buf, sizeof buf), "e119");
    ck_assert_str_eq(cs_obj_cstr(cs_obj_get(r, "release"), buf, sizeof buf), "S");
    ck_assert(cs_obj_true(cs_obj_get(r, "billable")));
    ck_assert_str_eq(cs_obj_cstr(cs_obj_get(r, "parent"), buf, sizeof buf), "E11");
    ck_assert_ptr_nonnull(strstr(cs_obj_cstr(cs_obj_get(r, "title"), buf, sizeof buf),
                                 "without complications"));
    const msgpack_object *anc = cs_obj_get(r, "ancestors");
    ck_assert_ptr_nonnull(anc);
    ck_assert_int_eq(anc->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_ge(anc->via.array.size, 3); /* category, block, chapter */
    const msgpack_object *top = &anc->via.array.ptr[anc->via.array.size - 1];
    ck_assert(cs_obj_is_str(cs_obj_get(top, "kind"), "chapter"));
    ck_assert(cs_obj_is_str(cs_obj_get(&anc->via.array.ptr[0], "code"), "E11"));

    /* a category: children in release order, not billable */
    r = s_lookup(q, "E11", 1);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "kind"), "category"));
    ck_assert(!cs_obj_true(cs_obj_get(r, "billable")));
    const msgpack_object *kids = cs_obj_get(r, "children");
    ck_assert_ptr_nonnull(kids);
    ck_assert_uint_ge(kids->via.array.size, 2);
    char prev[32] = "";
    for (uint32_t i = 0; i < kids->via.array.size; i++) {
        cs_obj_cstr(cs_obj_get(&kids->via.array.ptr[i], "code"), buf, sizeof buf);
        ck_assert_msg(strncmp(buf, "E11.", 4) == 0, "child %s of E11", buf);
        ck_assert_msg(strcmp(prev, buf) < 0, "children out of order: %s then %s", prev, buf);
        snprintf(prev, sizeof prev, "%s", buf);
    }

    /* the chapter and block entries answer too */
    r = s_lookup(q, "4", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "kind"), "chapter"));
    r = s_lookup(q, "e08-e13", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "kind"), "block"));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "code"), "E08-E13"));

    /* a 7th-character code expanded with the placeholder X, and its notes */
    r = s_lookup(q, "M48.40XS", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert(cs_obj_true(cs_obj_get(r, "billable")));
    r = s_lookup(q, "S72.001", 1);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert(!cs_obj_true(cs_obj_get(r, "billable")));

    /* not found, malformed */
    r = s_lookup(q, "E11.99", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert(!cs_obj_true(cs_obj_get(r, "found")));
    r = s_lookup(q, "E1!", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert(!cs_obj_true(cs_obj_get(r, "found")));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "reason"), "malformed"));

    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

static double s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

START_TEST(test_sample_validate)
{
    cs_daemon_t d;
    cs_tclient_t *admin, *q;
    double t0 = s_mono_us();
    s_start_with_sample(&d, &admin, &q);
    char buf[256];
    const char *codes[] = {"E11.9", "E11", "A00.00", "XYZ", " e11.9 ", "S72.001"};
    const msgpack_object *r = s_validate(q, codes, 6, NULL, NULL);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    const msgpack_object *res = cs_obj_get(r, "results");
    ck_assert_uint_eq(res->via.array.size, 6);
    const msgpack_object *x = res->via.array.ptr;
    ck_assert(cs_obj_true(cs_obj_get(&x[0], "valid")));
    ck_assert(cs_obj_true(cs_obj_get(&x[0], "billable")));
    ck_assert(!cs_obj_true(cs_obj_get(&x[1], "valid")));
    ck_assert(cs_obj_is_str(cs_obj_get(&x[1], "reason"), "not_billable"));
    const msgpack_object *hint = cs_obj_get(&x[1], "hint");
    ck_assert_ptr_nonnull(hint);
    ck_assert_uint_ge(hint->via.array.size, 1);
    cs_obj_cstr(cs_obj_get(&x[1], "message"), buf, sizeof buf);
    ck_assert_msg(strstr(buf, "E11 is a header") && strstr(buf, "E11.9"), "message: %s", buf);
    ck_assert(cs_obj_is_str(cs_obj_get(&x[2], "reason"), "unknown"));
    ck_assert(cs_obj_is_str(cs_obj_get(&x[3], "reason"), "malformed"));
    ck_assert(cs_obj_true(cs_obj_get(&x[4], "valid")));
    ck_assert(cs_obj_is_str(cs_obj_get(&x[4], "code"), "E11.9"));
    ck_assert(cs_obj_is_str(cs_obj_get(&x[5], "reason"), "not_billable"));
    cs_obj_cstr(cs_obj_get(&x[5], "message"), buf, sizeof buf);
    ck_assert_msg(strstr(buf, "7th character"), "message: %s", buf);

    /* dates: in effect, before every release, impossible */
    r = s_validate(q, codes, 1, "date", "2021-03-01");
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    r = s_validate(q, codes, 1, "date", "2019-01-01");
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "no_release_for_date");
    r = s_validate(q, codes, 1, "date", "2021-02-30");
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "bad_request");
    r = s_validate(q, codes, 1, "release", "nope");
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "unknown_release");

    /* unknown system */
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd11");
    cs_tpack_kv(pk, "code", "E11");
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "unknown_system");

    /* releases, plugins (admin), forbidden on the query endpoint */
    r = s_simple(q, "releases");
    const msgpack_object *rels = cs_obj_get(r, "releases");
    ck_assert_uint_eq(rels->via.array.size, 1);
    ck_assert(cs_obj_is_str(cs_obj_get(&rels->via.array.ptr[0], "release"), "S"));
    ck_assert(cs_obj_is_str(cs_obj_get(&rels->via.array.ptr[0], "effective_from"),
                            "2020-10-01"));
    ck_assert_int_gt(cs_obj_int(cs_obj_get(&rels->via.array.ptr[0], "billable")), 10);
    r = s_simple(q, "plugins");
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "forbidden");
    r = s_simple(admin, "plugins");
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert_uint_ge(cs_obj_get(r, "plugins")->via.array.size, 2);
    r = s_simple(q, "stats");
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert_int_ge(cs_obj_int(cs_obj_get(cs_obj_get(r, "requests"), "validate")), 4);
    /* each op's latencies were timed from the broker's own clock readings: none is zero, and
     * none is longer than the test itself (a request timed from a reading never taken, or
     * from one long before it came, would be) */
    const msgpack_object *lat = cs_obj_get(r, "latency_us");
    ck_assert(lat && lat->type == MSGPACK_OBJECT_MAP && lat->via.map.size >= 4);
    double spent = s_mono_us() - t0;
    for (uint32_t i = 0; i < lat->via.map.size; i++) {
        const msgpack_object *p50 = cs_obj_get(&lat->via.map.ptr[i].val, "p50");
        const msgpack_object *p99 = cs_obj_get(&lat->via.map.ptr[i].val, "p99");
        ck_assert(p50 && p50->type == MSGPACK_OBJECT_FLOAT64 && p50->via.f64 > 0);
        ck_assert(p99 && p99->type == MSGPACK_OBJECT_FLOAT64 && p99->via.f64 >= p50->via.f64);
        ck_assert_msg(p99->via.f64 < spent, "p99 %.0f us, the test %.0f us", p99->via.f64,
                      spent);
    }

    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* Bodies from a hostile or broken client: each gets an error reply, and the broker serves on. */
START_TEST(test_hostile_requests)
{
    cs_daemon_t d;
    cs_tclient_t *admin, *q;
    s_start_with_sample(&d, &admin, &q);
    char buf[64];
    static const uint8_t not_msgpack[] = "hello, broker";
    static const uint8_t array32_4g[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t map32_4g[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a'};
    static const uint8_t str32_huge[] = {0x81, 0xa2, 'o', 'p', 0xdb, 0x7f, 0xff, 0xff, 0xff};
    static const uint8_t not_map[] = {0x93, 1, 2, 3};
    static const uint8_t empty[] = {0};
    struct {
        const uint8_t *b;
        size_t n;
    } bodies[] = {
        {not_msgpack, sizeof not_msgpack - 1}, {array32_4g, sizeof array32_4g},
        {map32_4g, sizeof map32_4g},           {str32_huge, sizeof str32_huge},
        {not_map, sizeof not_map},             {empty, 0},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        const msgpack_object *r = cs_tclient_call_raw(q, bodies[i].b, bodies[i].n, T_TIMEOUT);
        ck_assert_msg(r != NULL, "no reply to hostile body %zu", i);
        ck_assert(!cs_obj_true(cs_obj_get(r, "ok")));
        ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "bad_request");
    }
    /* 100,000 nested arrays */
    size_t deep = 100000;
    uint8_t *nest = malloc(deep + 1);
    memset(nest, 0x91, deep);
    nest[deep] = 0xc0;
    const msgpack_object *r = cs_tclient_call_raw(q, nest, deep + 1, T_TIMEOUT);
    free(nest);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "bad_request");
    /* 10,001 codes */
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_str(pk, "codes");
    msgpack_pack_array(pk, 10001);
    for (int i = 0; i < 10001; i++) {
        cs_tpack_str(pk, "E11.9");
    }
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "too_many");
    /* unknown op, wrong types, version 2 */
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "explode");
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "unknown_op");
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_str(pk, "code");
    msgpack_pack_int(pk, 42);
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "bad_request");
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "ping");
    cs_tpack_str(pk, "v");
    msgpack_pack_int(pk, 2);
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "unsupported_version");
    /* still serving, and the release is intact */
    r = s_lookup(q, "E11.9", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A broken or hostile release fails its job with where and why; the active release stays. */
START_TEST(test_hostile_release)
{
    cs_daemon_t d;
    cs_tclient_t *admin, *q;
    s_start_with_sample(&d, &admin, &q);
    char path[700], state[64], buf[512];
    snprintf(path, sizeof path, "%s/bomb.xml", d.dir);
    s_write(path, "<?xml version=\"1.0\"?>\n"
                  "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                  "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                  "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\n"
                  "<ICD10CM.tabular><chapter><name>1</name><desc>&lol3;</desc>"
                  "</chapter></ICD10CM.tabular>\n");
    const char *files[] = {path};
    const msgpack_object *r = cs_daemon_load(&d, admin, "icd10cm-tabular", "S", "2020-10-01",
                                             files, 1, state, sizeof state, 30000);
    ck_assert_str_eq(state, "failed");
    const msgpack_object *err = cs_obj_get(r, "error");
    ck_assert_ptr_nonnull(err);
    ck_assert_int_ge(cs_obj_int(cs_obj_get(err, "line")), 1);
    ck_assert_str_ne(cs_obj_cstr(cs_obj_get(err, "message"), buf, sizeof buf), "");

    snprintf(path, sizeof path, "%s/truncated.xml", d.dir);
    s_write(path, "<?xml version=\"1.0\"?>\n<ICD10CM.tabular><chapter><name>1</name>"
                  "<desc>Cut short");
    r = cs_daemon_load(&d, admin, "icd10cm-tabular", "S", "2020-10-01", files, 1, state,
                       sizeof state, 30000);
    ck_assert_str_eq(state, "failed");

    /* the sample release "S" is untouched: same answers */
    r = s_lookup(q, "E11.9", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    r = s_simple(q, "releases");
    ck_assert_uint_eq(cs_obj_get(r, "releases")->via.array.size, 1);
    ck_assert(cs_obj_is_str(cs_obj_get(&cs_obj_get(r, "releases")->via.array.ptr[0], "release"),
                            "S"));
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* Write a large synthetic tabular release (categories A00..J99, 10 subcategories, 5 codes
 * each: 61,000 codes) so crash and growth tests need no official data. */
static void s_write_synthetic(const char *path)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ICD10CM.tabular>\n<version>T</version>\n"
          "<chapter><name>1</name><desc>Synthetic chapter</desc>\n"
          "<section id=\"A00-Z99\"><desc>Synthetic block (A00-Z99)</desc>\n",
          f);
    for (char l = 'A'; l <= 'J'; l++) {
        for (int c = 0; c < 100; c++) {
            fprintf(f, "<diag><name>%c%02d</name><desc>Synthetic condition %c%02d</desc>\n", l,
                    c, l, c);
            for (int s = 0; s < 10; s++) {
                fprintf(f, "<diag><name>%c%02d.%d</name><desc>Synthetic %c%02d kind %d</desc>\n",
                        l, c, s, l, c, s);
                for (int x = 0; x < 5; x++) {
                    fprintf(f, "<diag><name>%c%02d.%d%d</name><desc>Synthetic %c%02d kind %d "
                               "variant %d with a longer title to fill pages</desc>"
                               "<inclusionTerm><note>Synthetic inclusion term number %d"
                               "</note></inclusionTerm></diag>\n",
                            l, c, s, x, l, c, s, x, x);
                }
                fputs("</diag>\n", f);
            }
            fputs("</diag>\n", f);
        }
    }
    fputs("</section></chapter></ICD10CM.tabular>\n", f);
    fclose(f);
}

/* kill -9 during loads: after a restart the earlier release answers exactly as before and
 * no partial release is left. */
START_TEST(test_kill9_during_load)
{
    cs_daemon_t d;
    cs_tclient_t *admin, *q;
    s_start_with_sample(&d, &admin, &q);
    char big[700], buf[64];
    snprintf(big, sizeof big, "%s/synthetic.xml", d.dir);
    s_write_synthetic(big);
    const char *probe[] = {"E11.9", "E11", "M48.40XS", "S72.001A", "I10", "Z00.00"};
    const msgpack_object *r = s_validate(q, probe, 6, NULL, NULL);
    msgpack_sbuffer before;
    msgpack_sbuffer_init(&before);
    msgpack_packer bpk;
    msgpack_packer_init(&bpk, &before, msgpack_sbuffer_write);
    msgpack_pack_object(&bpk, *cs_obj_get(r, "results"));

    unsigned seed = (unsigned)time(NULL);
    for (int round = 0; round < 3; round++) {
        msgpack_packer *pk = cs_tclient_begin(admin);
        msgpack_pack_map(pk, 5);
        cs_tpack_kv(pk, "op", "load");
        cs_tpack_kv(pk, "loader", "icd10cm-tabular");
        cs_tpack_kv(pk, "release", "T");
        cs_tpack_kv(pk, "effective_from", "2021-10-01");
        cs_tpack_str(pk, "files");
        msgpack_pack_array(pk, 1);
        cs_tpack_str(pk, big);
        r = cs_tclient_call(admin, T_TIMEOUT);
        ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        struct timespec ts = {0, (long)(50 + rand_r(&seed) % 400) * 1000000L};
        nanosleep(&ts, NULL);
        cs_tclient_destroy(&q);
        cs_tclient_destroy(&admin);
        cs_daemon_kill9(&d);
        ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
        admin = cs_tclient_new(d.admin_ep);
        q = cs_tclient_new(d.query_ep);
        r = s_simple(q, "releases");
        const msgpack_object *rels = cs_obj_get(r, "releases");
        /* either the load had finished (two releases) or nothing of it is left */
        ck_assert_uint_le(rels->via.array.size, 2);
        int has_t = 0;
        for (uint32_t i = 0; i < rels->via.array.size; i++) {
            const msgpack_object *rel = &rels->via.array.ptr[i];
            if (cs_obj_is_str(cs_obj_get(rel, "release"), "T")) {
                has_t = 1;
                ck_assert_int_eq(cs_obj_int(cs_obj_get(rel, "codes")), 61000);
            }
        }
        (void)has_t;
        r = s_validate(q, probe, 6, "release", "S");
        if (cs_obj_true(cs_obj_get(r, "ok"))) {
            msgpack_sbuffer after;
            msgpack_sbuffer_init(&after);
            msgpack_packer apk;
            msgpack_packer_init(&apk, &after, msgpack_sbuffer_write);
            msgpack_pack_object(&apk, *cs_obj_get(r, "results"));
            ck_assert_msg(after.size == before.size &&
                              memcmp(after.data, before.data, after.size) == 0,
                          "release S answers differently after kill -9 in round %d", round);
            msgpack_sbuffer_destroy(&after);
        } else {
            ck_abort_msg("release S lost: %s", cs_obj_error_code(r, buf, sizeof buf));
        }
    }
    msgpack_sbuffer_destroy(&before);
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* A map far too small for the release grows on demand, with no size given by the admin. */
START_TEST(test_map_grows)
{
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    const char *args[] = {"--map-size", "1048576", NULL};
    ck_assert_int_eq(cs_daemon_start(&d, args), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char big[700], state[64];
    snprintf(big, sizeof big, "%s/synthetic.xml", d.dir);
    s_write_synthetic(big);
    const char *files[] = {big};
    cs_daemon_load(&d, admin, "icd10cm-tabular", "T", "2021-10-01", files, 1, state,
                   sizeof state, 60000);
    ck_assert_str_eq(state, "done");
    const msgpack_object *r = s_lookup(q, "J99.94", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert(cs_obj_true(cs_obj_get(r, "billable")));
    r = s_simple(q, "stats");
    ck_assert_int_gt(cs_obj_int(cs_obj_get(r, "map_bytes")), 1048576);
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* The names of an admin "plugins" reply, in order, into buf ("name,name,..."). */
static void s_plugin_names(cs_tclient_t *admin, char *buf, size_t cap)
{
    const msgpack_object *r = s_simple(admin, "plugins");
    ck_assert(r && cs_obj_true(cs_obj_get(r, "ok")));
    const msgpack_object *list = cs_obj_get(r, "plugins");
    ck_assert(list && list->type == MSGPACK_OBJECT_ARRAY);
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        char name[128];
        cs_obj_cstr(cs_obj_get(&list->via.array.ptr[i], "name"), name, sizeof name);
        int w = snprintf(buf + used, cap - used, "%s,", name);
        ck_assert(w > 0 && (size_t)w < cap - used);
        used += (size_t)w;
    }
}

/* A restarted broker loads the plugins of the systems it holds before it serves and the
 * others after: asked at once, it answers as one that has them all (a system with no
 * release is not an unknown one; the listing is whole, in the same order). Whether the
 * loaders are still loading when the first request comes depends on how soon the test's
 * client connects (ZeroMQ retries every 100 ms); the plugin_host suite holds the lookup
 * that misses while they load. */
START_TEST(test_answers_before_loaders_load)
{
    cs_daemon_t d;
    cs_tclient_t *admin, *q;
    s_start_with_sample(&d, &admin, &q); /* its load waited for the loaders: none was held */
    char want_err[64], want_names[2048], buf[64], names[2048];
    cs_obj_error_code(s_lookup_in(q, "cpt", "99213", 0), want_err, sizeof want_err);
    ck_assert_str_ne(want_err, "");
    ck_assert_str_ne(want_err, "unknown_system");
    s_plugin_names(admin, want_names, sizeof want_names);
    ck_assert_msg(strstr(want_names, "icd10cm-tabular,") && strstr(want_names, "cpt,"), "%s",
                  want_names);
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);

    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    q = cs_tclient_new(d.query_ep);
    admin = cs_tclient_new(d.admin_ep);
    ck_assert_str_eq(cs_obj_error_code(s_lookup_in(q, "cpt", "99213", 0), buf, sizeof buf),
                     want_err);
    const msgpack_object *r = s_lookup_in(q, "icd10cm", "e119", 0);
    ck_assert(r && cs_obj_true(cs_obj_get(r, "found")));
    ck_assert_str_eq(cs_obj_error_code(s_lookup_in(q, "icd11", "E11", 0), buf, sizeof buf),
                     "unknown_system");
    s_plugin_names(admin, names, sizeof names);
    ck_assert_str_eq(names, want_names);
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_broker_suite(void);
Suite *cs_broker_suite(void)
{
    Suite *s = suite_create("broker");
    TCase *tc = tcase_create("sample release");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sample_lookup);
    tcase_add_test(tc, test_sample_validate);
    tcase_add_test(tc, test_indexes_mapped_at_start);
    tcase_add_test(tc, test_answers_before_loaders_load);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad input");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hostile_requests);
    tcase_add_test(tc, test_hostile_release);
    suite_add_tcase(s, tc);
    tc = tcase_create("crash safety and growth");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_kill9_during_load);
    tcase_add_test(tc, test_map_grows);
    suite_add_tcase(s, tc);
    return s;
}
