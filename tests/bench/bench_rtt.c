/* bench_rtt: the synchronous round trip of issue 19 (§2) and the knobs that move it, all in
 * one run so the ratios compare like with like on a shared, noisy machine:
 *   floor     a plain REQ client against a plain ROUTER echo in its own process (the lookup's
 *             own request and reply bytes), and a Redis GET (hiredis, the same keys);
 *   codesetd  cs_client_lookup through libcsclient against brokers started with one knob
 *             changed each: the loop's spin (--spin-us), where its ZeroMQ I/O thread runs
 *             (--io-affinity), how many I/O threads (--io-threads); and on the client's side
 *             its transport (its own ZMTP connection by default, or the ZeroMQ socket:
 *             cs_client_opts_t.via_zmq), its spin (spin_us), and, through the ZeroMQ socket,
 *             where its context's I/O thread runs and that thread's scheduling priority.
 * Every row runs once per round, rounds interleaved, so a burst of load from elsewhere hits
 * every row alike. For each row: p50 and p99 (median over rounds), and the CPU each side
 * spent per round trip (the bench process, its I/O thread included; the server process).
 * Never passes or fails on time. */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_redis.h"
#include "bench_util.h"
#include "codeset_client.h"

#define ROUNDS 3
#define RT_N 4000    /* timed round trips per row and round */
#define WARM_N 200   /* untimed ones first */
#define MAX_CODES 100000

enum { P_ANY, P_SAME, P_APART }; /* where the client's I/O thread runs beside its thread */

/* A codesetd variant: its extra options. */
typedef struct s_broker_var {
    const char *name;
    const char *args[6];
    bench_broker_t b;
} s_broker_var_t;

static s_broker_var_t s_brokers[] = {
    {"no spin", {"--spin-us", "0", NULL}, {0}},
    {"default", {NULL}, {0}},
    {"io same CPU", {"--io-affinity", "same", NULL}, {0}},
    {"io apart", {"--io-affinity", "apart", NULL}, {0}},
    {"2 io threads", {"--io-threads", "2", NULL}, {0}},
    {"spin 200", {"--spin-us", "200", NULL}, {0}},
};
#define N_BROKERS (sizeof s_brokers / sizeof s_brokers[0])

/* A row: a libcsclient client (spin_us as cs_client_opts_t) against broker. */
typedef struct s_row {
    const char *name;
    int broker;      /* index in s_brokers, or -1: the floor (-1) / Redis (-2) */
    int spin_us;     /* cs_client_opts_t.spin_us */
    int via_zmq;     /* cs_client_opts_t.via_zmq */
    int placement;   /* P_ANY, P_SAME, P_APART */
    int io_threads;  /* the client context's; 0: 1 */
    int fifo;        /* the client's I/O thread SCHED_FIFO */
    double p50[ROUNDS], p99[ROUNDS], cli_us[ROUNDS], srv_us[ROUNDS];
} s_row_t;

static s_row_t s_rows[] = {
    {"bare ZeroMQ REQ -> ROUTER echo", -1, 0, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"Redis GET (hiredis)", -2, 0, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"lookup, the defaults", 1, 0, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"lookup, own ZMTP, broker --spin-us 0", 0, 0, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"lookup, via_zmq, neither spins (before)", 0, -1, 1, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"via_zmq, client spins 100 us", 0, 100, 1, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"via_zmq, broker spins 50 us", 1, 0, 1, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"via_zmq, both spin (100 / 50 us)", 1, 100, 1, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"defaults + client spin 20 us", 1, 20, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"defaults + client spin 100 us", 1, 100, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"defaults + broker spin 200 us", 5, 0, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"defaults + broker io on the loop's CPU", 2, 0, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"defaults + broker io off the loop's CPU", 3, 0, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"defaults + broker 2 io threads", 4, 0, 0, P_ANY, 0, 0, {0}, {0}, {0}, {0}},
    {"via_zmq + client io on its CPU", 1, 0, 1, P_SAME, 0, 0, {0}, {0}, {0}, {0}},
    {"via_zmq + client io off its CPU", 1, 0, 1, P_APART, 0, 0, {0}, {0}, {0}, {0}},
    {"via_zmq + client 2 io threads", 1, 0, 1, P_ANY, 2, 0, {0}, {0}, {0}, {0}},
    {"via_zmq + client io SCHED_FIFO", 1, 0, 1, P_ANY, 0, 1, {0}, {0}, {0}, {0}},
};
#define N_ROWS (sizeof s_rows / sizeof s_rows[0])

static bench_code_t s_codes[MAX_CODES];
static size_t s_n_codes;
static double s_lat[RT_N];

/* Pin this thread to cpu (-1: every CPU). */
static void s_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 0; i < n && i < CPU_SETSIZE; i++) {
        if (cpu < 0 || i == cpu) {
            CPU_SET(i, &set);
        }
    }
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* A ZeroMQ context for a row's client, its I/O thread placed as the row says (this thread
 * pinned for P_SAME and P_APART). */
static void *s_client_ctx(const s_row_t *row)
{
    void *ctx = zmq_ctx_new();
    if (row->io_threads > 0) {
        zmq_ctx_set(ctx, ZMQ_IO_THREADS, row->io_threads);
    }
    if (row->fifo) {
        zmq_ctx_set(ctx, ZMQ_THREAD_SCHED_POLICY, SCHED_FIFO);
        zmq_ctx_set(ctx, ZMQ_THREAD_PRIORITY, 1);
    }
    if (row->placement != P_ANY) {
        int cpu = sched_getcpu();
        s_pin(cpu);
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        for (int i = 0; i < n && i < CPU_SETSIZE; i++) {
            if ((i == cpu) == (row->placement == P_SAME)) {
                zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, i);
            }
        }
    }
    return ctx;
}

/* RT_N lookups through libcsclient; s_lat gets each one's time. 0 or -1. */
static int s_run_client(const s_row_t *row, const char *ep, unsigned *seed)
{
    void *ctx = s_client_ctx(row);
    cs_client_opts_t o = {.zmq_ctx = ctx, .spin_us = row->spin_us, .via_zmq = row->via_zmq};
    const char *eps[] = {ep};
    cs_client_error_t err;
    cs_client_t *c = cs_client_new(eps, 1, &o, &err);
    int rc = c ? 0 : -1;
    for (int i = 0; c && i < WARM_N + RT_N && rc == 0; i++) {
        const char *code = s_codes[(size_t)rand_r(seed) % s_n_codes].code;
        cs_client_lookup_t *l = NULL;
        uint64_t t0 = bench_now_ns();
        rc = cs_client_lookup(c, "icd10cm", code, 0, NULL, &l) == CS_CLIENT_OK && l ? 0 : -1;
        if (i >= WARM_N) {
            s_lat[i - WARM_N] = (double)(bench_now_ns() - t0) / 1000.0;
        }
        cs_client_lookup_destroy(&l);
    }
    if (rc != 0) {
        fprintf(stderr, "bench: a lookup failed: %s\n",
                c ? cs_client_last_error(c)->message : err.message);
    }
    cs_client_destroy(&c);
    zmq_ctx_term(ctx);
    s_pin(-1);
    return rc;
}

static int s_run_redis(redisContext *r, unsigned *seed)
{
    for (int i = 0; i < WARM_N + RT_N; i++) {
        const char *code = s_codes[(size_t)rand_r(seed) % s_n_codes].code;
        uint64_t t0 = bench_now_ns();
        redisReply *rep = redisCommand(r, "GET %s", code);
        if (i >= WARM_N) {
            s_lat[i - WARM_N] = (double)(bench_now_ns() - t0) / 1000.0;
        }
        if (!rep || rep->type != REDIS_REPLY_STRING) {
            fprintf(stderr, "bench: redis GET %s failed\n", code);
            return -1;
        }
        freeReplyObject(rep);
    }
    return 0;
}

/* One row, one round: latencies and the CPU of both sides. */
static int s_row_round(s_row_t *row, int round, bench_conn_t *floor, const bench_body_t *bodies,
                       pid_t echo, redisContext *redis, pid_t redis_pid, unsigned *seed)
{
    if (row->broker == -2 && !redis) {
        return 0; /* no redis-server: its row stays empty */
    }
    pid_t srv = row->broker == -1 ? echo
                : row->broker == -2 ? redis_pid
                                    : s_brokers[row->broker].b.pid;
    double c0 = bench_cpu_self(), s0 = bench_cpu_seconds(srv);
    int rc;
    if (row->broker == -1) {
        rc = bench_sync(floor, bodies, RT_N, WARM_N, s_lat);
        rc = rc ? rc : bench_sync(floor, bodies, RT_N, RT_N, s_lat);
    } else if (row->broker == -2) {
        rc = s_run_redis(redis, seed);
    } else {
        rc = s_run_client(row, s_brokers[row->broker].b.query_ep, seed);
    }
    double n = WARM_N + RT_N;
    row->cli_us[round] = (bench_cpu_self() - c0) / n * 1e6;
    row->srv_us[round] = (bench_cpu_seconds(srv) - s0) / n * 1e6;
    row->p50[round] = bench_quantile(s_lat, RT_N, 0.50);
    row->p99[round] = bench_quantile(s_lat, RT_N, 0.99);
    return rc;
}

static double s_med(const double *v)
{
    double c[ROUNDS];
    memcpy(c, v, sizeof c);
    return bench_quantile(c, ROUNDS, 0.5);
}

static void s_report(void)
{
    double floor = s_med(s_rows[0].p50), redis = s_med(s_rows[1].p50);
    printf("\n  %-42s %7s %7s  %-17s %6s %6s  %s\n", "", "p50 us", "p99 us",
           "p50/floor (range)", "cli us", "srv us", "p50/Redis");
    for (size_t i = 0; i < N_ROWS; i++) {
        const s_row_t *r = &s_rows[i];
        if (s_med(r->p50) <= 0) {
            continue; /* not measured */
        }
        double lo = 1e9, hi = 0;
        for (int k = 0; k < ROUNDS; k++) {
            /* each round's ratio against the floor of the same round */
            double q = r->p50[k] / s_rows[0].p50[k];
            lo = q < lo ? q : lo;
            hi = q > hi ? q : hi;
        }
        char range[32];
        snprintf(range, sizeof range, "%.2f (%.2f-%.2f)", s_med(r->p50) / floor, lo, hi);
        printf("  %-42s %7.1f %7.1f  %-17s %6.1f %6.1f  %.2f\n", r->name, s_med(r->p50),
               s_med(r->p99), range, s_med(r->cli_us), s_med(r->srv_us),
               redis > 0 ? s_med(r->p50) / redis : 0);
    }
    printf("  (cli us, srv us: CPU per round trip of the bench process, its ZeroMQ I/O thread "
           "included, and of the server process; medians over %d rounds)\n", ROUNDS);
    printf("\nsummary: issue 19, the synchronous round trip (medians of this run)\n");
    printf("  %-52s %8.2f   <= 0.6  %s\n", "cs_client_lookup p50 / bare ZeroMQ p50",
           s_med(s_rows[2].p50) / floor, s_med(s_rows[2].p50) / floor <= 0.6 ? "met" : "NOT met");
    printf("  %-52s %8.2f   <= 3 (aim)\n", "cs_client_lookup p50 / Redis GET p50",
           redis > 0 ? s_med(s_rows[2].p50) / redis : 0);
}

static int s_start_brokers(const char *xml, const char *order)
{
    for (size_t i = 0; i < N_BROKERS; i++) {
        char ep[64];
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
        if (bench_broker_start_args(&s_brokers[i].b, ep, s_brokers[i].args) != 0) {
            return -1;
        }
        void *ctx = zmq_ctx_new();
        int rc = bench_broker_load_tabular(&s_brokers[i].b, ctx, xml, order);
        zmq_ctx_term(ctx);
        if (rc != 0) {
            fprintf(stderr, "bench: codesetd (%s) did not load\n", s_brokers[i].name);
            return -1;
        }
    }
    return 0;
}

/* The floor: an echo answering with the broker's reply to a lookup. */
static pid_t s_floor_start(bench_conn_t *floor, void *ctx, const bench_body_t *bodies)
{
    bench_conn_t q;
    bench_conn_open(&q, ctx, ZMQ_REQ, s_brokers[1].b.query_ep);
    if (!bench_ok(bench_call(&q, bodies[0].data, bodies[0].len))) {
        return -1;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
    pid_t pid = bench_echo_start(ep, zmq_msg_data(&q.msg), zmq_msg_size(&q.msg));
    bench_conn_close(&q);
    bench_conn_open(floor, ctx, ZMQ_REQ, ep);
    return pid;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char xml[PATH_MAX], order[PATH_MAX], axml[PATH_MAX], aorder[PATH_MAX];
    if (!bench_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml) ||
        !bench_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order)) {
        snprintf(xml, sizeof xml, "loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml");
        snprintf(order, sizeof order, "loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt");
    }
    if (!realpath(xml, axml) || !realpath(order, aorder) ||
        (s_n_codes = bench_read_order(aorder, s_codes, MAX_CODES)) == 0) {
        fprintf(stderr, "bench: release files not found\n");
        return 1;
    }
    if (s_start_brokers(axml, aorder) != 0) {
        return 1;
    }
    void *ctx = zmq_ctx_new();
    bench_body_t *bodies = bench_code_bodies("lookup", s_codes, s_n_codes, RT_N, 0, 0, 1);
    bench_conn_t floor;
    pid_t echo = s_floor_start(&floor, ctx, bodies);
    char exe[PATH_MAX];
    pid_t redis_pid = -1;
    redisContext *redis = NULL;
    if (bench_find_exe("redis-server", exe, sizeof exe)) {
        int port = bench_free_port();
        redis_pid = bench_redis_start(exe, port);
        redis = bench_redis_connect(port);
        if (redis && bench_redis_fill(redis, s_codes, s_n_codes) != 0) {
            return 1;
        }
    }
    printf("bench_rtt: %zu codes, %d rounds of %d round trips a row, rows interleaved\n",
           s_n_codes, ROUNDS, RT_N);
    if (!redis) {
        printf("  redis-server not found or not answering (apt-get install redis-server): "
               "its row stays empty\n");
    }
    unsigned seed = 7;
    int rc = echo > 0 ? 0 : 1;
    for (int r = 0; r < ROUNDS && rc == 0; r++) {
        for (size_t i = 0; i < N_ROWS && rc == 0; i++) {
            rc = s_row_round(&s_rows[i], r, &floor, bodies, echo, redis, redis_pid, &seed);
        }
    }
    if (rc == 0) {
        s_report();
    }
    bench_conn_close(&floor);
    if (redis) {
        redisFree(redis);
    }
    bench_child_stop(redis_pid);
    bench_child_stop(echo);
    zmq_ctx_term(ctx);
    bench_bodies_free(bodies, RT_N);
    for (size_t i = 0; i < N_BROKERS; i++) {
        bench_broker_stop(&s_brokers[i].b);
    }
    return rc;
}
