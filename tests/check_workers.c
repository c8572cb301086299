/* check_workers.c: slow ops (diff, search, crosswalk, big validates) are answered by worker
 * threads, so a lookup sent after a long diff on the same connection is answered first; with
 * --workers 0 the broker answers in arrival order. Also: every answer still reaches its
 * client (ids matched) when slow and cheap requests are pipelined together. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cs_daemon.h"
#include "cs_synth.h"
#include "cs_test.h"

#define T_TIMEOUT 60000

Suite *cs_workers_suite(void);

static void s_send(void *sock, int id, const char *op, const char *k1, const char *v1,
                   const char *k2, const char *v2)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    cs_tpack_kv(&pk, "op", op);
    cs_tpack_str(&pk, "id");
    msgpack_pack_int(&pk, id);
    cs_tpack_kv(&pk, "system", "icd10cm");
    cs_tpack_kv(&pk, k1, v1);
    cs_tpack_kv(&pk, k2, v2);
    ck_assert_int_ge(zmq_send(sock, "", 0, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(sock, sb.data, sb.size, 0), 0);
    msgpack_sbuffer_destroy(&sb);
}

/* The id of the next reply (and whether it was ok). */
static int s_next_id(void *sock, int *ok)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, T_TIMEOUT), 1);
    zmq_msg_t m;
    zmq_msg_init(&m);
    do {
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        ck_assert_int_ge(zmq_msg_recv(&m, sock, 0), 0);
    } while (zmq_msg_more(&m));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert(msgpack_unpack_next(&up, zmq_msg_data(&m), zmq_msg_size(&m), &off) ==
              MSGPACK_UNPACK_SUCCESS);
    int id = (int)cs_obj_int(cs_obj_get(&up.data, "id"));
    *ok = cs_obj_true(cs_obj_get(&up.data, "ok"));
    msgpack_unpacked_destroy(&up);
    zmq_msg_close(&m);
    return id;
}

/* A DEALER connected to ep. */
static void *s_dealer(void *ctx, const char *ep)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(zmq_connect(sock, ep), 0);
    return sock;
}

/* n answers, each ok, each id 0..n-1 once. */
static void s_expect_all(void *sock, int n, char *seen)
{
    for (int i = 0; i < n; i++) {
        int ok;
        int id = s_next_id(sock, &ok);
        ck_assert_msg(ok, "request %d failed", id);
        ck_assert(id >= 0 && id < n && !seen[id]);
        seen[id] = 1;
    }
}

/* Start a broker with extra args, load "small" (A-D) and "big" (A-H). */
static void s_start(cs_daemon_t *d, const char *const *args)
{
    memset(d, 0, sizeof *d);
    ck_assert_int_eq(cs_daemon_start(d, args), 0);
    char small[700], big[700], state[64];
    snprintf(small, sizeof small, "%s/small.txt", d->dir);
    snprintf(big, sizeof big, "%s/big.txt", d->dir);
    cs_synth_order(small, 'A', 'D');
    cs_synth_order(big, 'A', 'H');
    cs_tclient_t *admin = cs_tclient_new(d->admin_ep);
    const char *f1[] = {small}, *f2[] = {big};
    cs_daemon_load(d, admin, "icd10cm-order", "small", "2020-10-01", f1, 1, state,
                   sizeof state, T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    cs_daemon_load(d, admin, "icd10cm-order", "big", "2021-10-01", f2, 1, state, sizeof state,
                   T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
}

/* Send a diff of the two releases (id 1), then a lookup (id 2): which comes back first? */
static int s_first_answer(const cs_daemon_t *d)
{
    void *ctx = zmq_ctx_new();
    void *sock = s_dealer(ctx, d->query_ep);
    s_send(sock, 1, "diff", "release", "small", "to_release", "big");
    s_send(sock, 2, "lookup", "code", "A00.00", "release", "big");
    int ok1, ok2;
    int first = s_next_id(sock, &ok1);
    int second = s_next_id(sock, &ok2);
    ck_assert(ok1 && ok2);
    ck_assert_int_eq(first + second, 3);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return first;
}

START_TEST(test_lookup_not_held_up_by_diff)
{
    cs_daemon_t d;
    const char *args[] = {"--workers", "1", NULL};
    s_start(&d, args);
    /* three tries: each must see the lookup overtake the diff */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(s_first_answer(&d), 2);
    }
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_no_workers_keeps_order)
{
    cs_daemon_t d;
    const char *args[] = {"--workers", "0", NULL};
    s_start(&d, args);
    ck_assert_int_eq(s_first_answer(&d), 1);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* 2,000 pipelined requests mixing cheap and slow ops: every one answered, ids matched. */
START_TEST(test_mixed_pipeline)
{
    cs_daemon_t d;
    s_start(&d, NULL);
    void *ctx = zmq_ctx_new();
    void *sock = s_dealer(ctx, d.query_ep);
    enum { N = 2000 };
    static char seen[N];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < N; i++) {
        switch (i % 4) {
        case 0: s_send(sock, i, "search", "q", "synthetic code", "release", "big"); break;
        case 1: s_send(sock, i, "lookup", "code", "B12.34", "release", "big"); break;
        case 2: s_send(sock, i, "validate", "code", "C45.67", "release", "small"); break;
        default: s_send(sock, i, "search", "q", "d1", "release", "big"); break;
        }
    }
    s_expect_all(sock, N, seen);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* A validate of n codes: synthetic codes of every kind (billable, headers with hints, codes
 * the release lacks, malformed text), with an id, a date or a pinned release as asked. */
static void s_pack_long_validate(msgpack_sbuffer *sb, int id, const char *system,
                                 const char *release, const char *date, int n)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4 + (release ? 1 : 0) + (date ? 1 : 0));
    cs_tpack_kv(&pk, "op", "validate");
    cs_tpack_str(&pk, "id");
    msgpack_pack_int(&pk, id);
    cs_tpack_kv(&pk, "system", system);
    if (release) {
        cs_tpack_kv(&pk, "release", release);
    }
    if (date) {
        cs_tpack_kv(&pk, "date", date);
    }
    cs_tpack_str(&pk, "codes");
    msgpack_pack_array(&pk, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        char code[16];
        switch (i % 6) {
        case 0:
            snprintf(code, sizeof code, "%c%02d.%d%d", 'A' + i % 8, i % 100, i % 10, (i / 10) % 10);
            break;
        case 1: snprintf(code, sizeof code, "%c%02d", 'A' + i % 8, i % 100); break; /* header */
        case 2: snprintf(code, sizeof code, "%c%02d.%d", 'A' + i % 8, i % 100, i % 10); break;
        case 3: snprintf(code, sizeof code, "Z%02d.%d%d", i % 100, i % 10, i % 7); break;
        case 4:
            snprintf(code, sizeof code, "%c%02d%d%d", 'a' + i % 8, i % 100, i % 10, i % 3);
            break;
        default: snprintf(code, sizeof code, "?%d!", i); break; /* malformed */
        }
        cs_tpack_str(&pk, code);
    }
}

/* A long validate answered in slices by three workers is, byte for byte, the answer of one
 * worker answering it whole; a request that fails fails the same way. */
START_TEST(test_long_validate_in_slices)
{
    cs_daemon_t d[2];
    const char *sliced[] = {"--workers", "3", NULL};
    const char *whole[] = {"--workers", "1", NULL};
    s_start(&d[0], sliced);
    s_start(&d[1], whole);
    cs_tclient_t *a = cs_tclient_new(d[0].query_ep), *b = cs_tclient_new(d[1].query_ep);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    static const struct {
        const char *system, *release, *date, *error;
        int n;
    } cases[] = {
        {"icd10cm", NULL, NULL, NULL, 1000},          {"icd10cm", "small", NULL, NULL, 257},
        {"icd10cm", NULL, "2021-03-01", NULL, 3001}, {"icd10cm", NULL, NULL, NULL, 10000},
        {"nosuch", NULL, NULL, "unknown_system", 500},
        {"icd10cm", "nosuch", NULL, "unknown_release", 500},
        {"icd10cm", NULL, "2001-01-01", "no_release_for_date", 500},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        s_pack_long_validate(&sb, (int)c + 7, cases[c].system, cases[c].release, cases[c].date,
                             cases[c].n);
        char why[128];
        const msgpack_object *r = cs_tclient_same_answer(a, b, sb.data, sb.size, why, sizeof why);
        ck_assert_msg(r != NULL, "case %zu: %s", c, why);
        ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "id")), (int64_t)c + 7);
        char code[64];
        cs_obj_error_code(r, code, sizeof code);
        ck_assert_str_eq(code, cases[c].error ? cases[c].error : "");
        if (!cases[c].error) {
            ck_assert_uint_eq(cs_obj_get(r, "results")->via.array.size, (uint32_t)cases[c].n);
        }
    }
    msgpack_sbuffer_destroy(&sb);
    cs_tclient_destroy(&a);
    cs_tclient_destroy(&b);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(cs_daemon_stop(&d[i]), 0);
        cs_daemon_cleanup(&d[i]);
    }
}
END_TEST

/* More long validates in flight than the broker joins at once, between lookups: every one
 * answered whole and in full, ids matched. */
START_TEST(test_many_long_validates_pipelined)
{
    cs_daemon_t d;
    const char *args[] = {"--workers", "2", NULL};
    s_start(&d, args);
    void *ctx = zmq_ctx_new();
    void *sock = s_dealer(ctx, d.query_ep);
    enum { N = 120 };
    static char seen[N];
    memset(seen, 0, sizeof seen);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (int i = 0; i < N; i++) {
        if (i % 3 == 2) {
            s_send(sock, i, "lookup", "code", "B12.34", "release", "big");
            continue;
        }
        s_pack_long_validate(&sb, i, "icd10cm", "big", NULL, 300 + i);
        ck_assert_int_ge(zmq_send(sock, "", 0, ZMQ_SNDMORE), 0);
        ck_assert_int_ge(zmq_send(sock, sb.data, sb.size, 0), 0);
    }
    s_expect_all(sock, N, seen);
    msgpack_sbuffer_destroy(&sb);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_workers_suite(void)
{
    Suite *s = suite_create("workers");
    TCase *tc = tcase_create("slow ops on workers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_lookup_not_held_up_by_diff);
    tcase_add_test(tc, test_no_workers_keeps_order);
    tcase_add_test(tc, test_mixed_pipeline);
    tcase_add_test(tc, test_long_validate_in_slices);
    tcase_add_test(tc, test_many_long_validates_pipelined);
    suite_add_tcase(s, tc);
    return s;
}
