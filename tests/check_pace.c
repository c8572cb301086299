/* check_pace.c: background work that gives way to queries (util/cs_pace.h): it goes on at
 * once when nothing was answered lately, or when it is told no clock; it stops when told to,
 * also while it waits; and while queries keep coming it waits, but not for ever. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "util/cs_pace.h"

START_TEST(test_goes_on_and_stops)
{
    ck_assert_int_eq(cs_pace_step(NULL), 1);
    atomic_int stop = 0;
    _Atomic uint64_t busy = 0; /* never busy */
    cs_pace_t p = {.stop = &stop, .busy_ns = &busy};
    ck_assert_int_eq(cs_pace_step(&p), 1);
    ck_assert_uint_gt(p.last_step_ns, 0);
    cs_pace_t no_clock = {.stop = &stop};
    ck_assert_int_eq(cs_pace_step(&no_clock), 1);
    atomic_store(&stop, 1);
    ck_assert_int_eq(cs_pace_step(&p), 0);
    /* busy a moment ago, but stopped: no wait for a task told to stop */
    atomic_store(&busy, cs_pace_now_ns());
    ck_assert_int_eq(cs_pace_step(&p), 0);
}
END_TEST

/* A serving thread that answers a query every half millisecond, and after its tenth sets
 * stop while it keeps answering. */
typedef struct s_server {
    _Atomic uint64_t busy;
    atomic_int stop;
    atomic_int answered;
    atomic_int quit;
} s_server_t;

static void *s_serve(void *arg)
{
    s_server_t *s = arg;
    while (!atomic_load(&s->quit)) {
        atomic_store(&s->busy, cs_pace_now_ns());
        if (atomic_fetch_add(&s->answered, 1) + 1 == 10) {
            atomic_store(&s->stop, 1);
        }
        struct timespec half = {0, 500000};
        nanosleep(&half, NULL);
    }
    return NULL;
}

/* While queries keep coming, a step waits: told to stop only after the tenth answer, it
 * still sees the stop (it would have gone on at once had it not waited). Then, with the
 * server still busy and no stop, a step still comes within the longest wait. The quiet
 * spell is a minute, so a server thread the machine leaves unscheduled for a while (a
 * loaded CI runner) still counts as busy: what is tested is the waiting, not the
 * scheduler. */
START_TEST(test_waits_while_busy_within_bounds)
{
    s_server_t s;
    atomic_init(&s.busy, cs_pace_now_ns());
    atomic_init(&s.stop, 0);
    atomic_init(&s.answered, 0);
    atomic_init(&s.quit, 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_serve, &s), 0);
    cs_pace_t p = {.stop = &s.stop, .busy_ns = &s.busy, .quiet_ms = 60000,
                   .max_wait_ms = 20000};
    int went_on = cs_pace_step(&p);
    ck_assert_msg(went_on == 0, "a step went on while the server answered (%d answers)",
                  atomic_load(&s.answered));
    ck_assert_int_ge(atomic_load(&s.answered), 10);
    atomic_store(&s.quit, 1);
    pthread_join(t, NULL);
    /* no stop this time and the server still busy: each step waits its bound, then comes */
    atomic_int never = 0;
    cs_pace_t q = {.stop = &never, .busy_ns = &s.busy, .quiet_ms = 60000, .max_wait_ms = 30};
    for (int step = 0; step < 2; step++) {
        uint64_t t0 = cs_pace_now_ns();
        ck_assert_int_eq(cs_pace_step(&q), 1);
        ck_assert_uint_ge(cs_pace_now_ns() - t0, 30u * 1000000u);
    }
}
END_TEST

Suite *cs_pace_suite(void);

Suite *cs_pace_suite(void)
{
    Suite *s = suite_create("pace");
    TCase *tc = tcase_create("background work gives way");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_goes_on_and_stops);
    tcase_add_test(tc, test_waits_while_busy_within_bounds);
    suite_add_tcase(s, tc);
    return s;
}
