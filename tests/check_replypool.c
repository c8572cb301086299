/* check_replypool.c: pooled reply buffers go out intact and come back when ZeroMQ is done
 * with them; an empty pool, a reply too large and a failed send fall back or give back. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "broker/cs_replypool.h"

Suite *cs_replypool_suite(void);

static void s_recv_expect(void *sock, const char *want, size_t len)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_eq(zmq_msg_recv(&m, sock, 0), (int)len);
    ck_assert(memcmp(zmq_msg_data(&m), want, len) == 0);
    zmq_msg_close(&m);
}

START_TEST(test_buffers_go_and_come_back)
{
    void *ctx = zmq_ctx_new();
    void *tx = zmq_socket(ctx, ZMQ_PAIR), *rx = zmq_socket(ctx, ZMQ_PAIR);
    ck_assert_int_eq(zmq_bind(rx, "inproc://replypool"), 0);
    ck_assert_int_eq(zmq_connect(tx, "inproc://replypool"), 0);
    cs_replypool_t *pool = cs_replypool_new(4, 64);
    ck_assert_ptr_nonnull(pool);
    ck_assert_uint_eq(cs_replypool_free_count(pool), 4);
    char msg[6][64];
    for (int i = 0; i < 6; i++) { /* four from the pool, two copied by zmq_send */
        snprintf(msg[i], sizeof msg[i], "reply %d, some bytes to carry", i);
        ck_assert_int_ge(cs_replypool_send(pool, tx, msg[i], strlen(msg[i]), 0, NULL), 0);
    }
    ck_assert_uint_eq(cs_replypool_free_count(pool), 0); /* lent until received and closed */
    char big[300];
    memset(big, 'b', sizeof big);
    ck_assert_int_ge(cs_replypool_send(pool, tx, big, sizeof big, 0, NULL), 0); /* too large */
    for (int i = 0; i < 6; i++) {
        s_recv_expect(rx, msg[i], strlen(msg[i]));
    }
    s_recv_expect(rx, big, sizeof big);
    ck_assert_uint_eq(cs_replypool_free_count(pool), 4);
    /* and they serve again */
    ck_assert_int_ge(cs_replypool_send(pool, tx, msg[0], strlen(msg[0]), 0, NULL), 0);
    ck_assert_uint_eq(cs_replypool_free_count(pool), 3);
    s_recv_expect(rx, msg[0], strlen(msg[0]));
    ck_assert_uint_eq(cs_replypool_free_count(pool), 4);
    zmq_close(tx);
    zmq_close(rx);
    zmq_ctx_term(ctx);
    cs_replypool_destroy(&pool);
    ck_assert_ptr_null(pool);
}
END_TEST

START_TEST(test_failed_send_gives_back)
{
    void *ctx = zmq_ctx_new();
    void *tx = zmq_socket(ctx, ZMQ_PUSH); /* no peer: a non-blocking send fails */
    int zero = 0;
    zmq_setsockopt(tx, ZMQ_LINGER, &zero, sizeof zero);
    cs_replypool_t *pool = cs_replypool_new(2, 64);
    ck_assert_int_lt(cs_replypool_send(pool, tx, "x", 1, ZMQ_DONTWAIT, NULL), 0);
    ck_assert_int_eq(zmq_errno(), EAGAIN);
    ck_assert_uint_eq(cs_replypool_free_count(pool), 2);
    zmq_close(tx);
    zmq_ctx_term(ctx);
    cs_replypool_destroy(&pool);
    cs_replypool_destroy(&pool); /* NULL is accepted */
    /* without a pool, a plain send */
    ck_assert_int_lt(cs_replypool_send(NULL, NULL, "x", 1, 0, NULL), 0);
}
END_TEST

Suite *cs_replypool_suite(void)
{
    Suite *s = suite_create("replypool");
    TCase *tc = tcase_create("replypool");
    tcase_add_test(tc, test_buffers_go_and_come_back);
    tcase_add_test(tc, test_failed_send_gives_back);
    suite_add_tcase(s, tc);
    return s;
}
