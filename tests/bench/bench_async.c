/* bench_async: libcsclient's asynchronous lookups (issue 19, section 1) beside Redis's
 * pipelined GETs, alone, so the two can be compared run after run in a few seconds and each
 * side profiled (bench_broker measures the same among everything else):
 *   - codesetd (FY2021 loaded through the admin endpoint) and a redis-server of the bench's
 *     own holding the same code -> title keys;
 *   - RUNS rounds, each an async run (100 outstanding, as an application keeps them: wait for
 *     the oldest, read it, make a new one; the library's default coalescing) and then a Redis
 *     run (100 GETs in flight, hiredis); the ratio of each round and of the medians.
 * Environment:
 *   BENCH_ASYNC_EP=tcp://...   use a broker already running with FY2021 active (say, one under
 *                              valgrind or perf) instead of starting one; Redis is skipped
 *   BENCH_ASYNC_ONLY=N         only N async runs, no Redis (for a profiler of either side)
 *   BENCH_ASYNC_COALESCE=K     calls a batch message (default: the library's)
 *   BENCH_ASYNC_SPIN=US        cs_client_opts_t.spin_us (default: the library's)
 * Prints figures; never passes or fails on time. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_redis.h"
#include "bench_util.h"
#include "codeset_client.h"

#define RUNS 5
#define MAX_CODES 100000
#define OUT 100        /* outstanding calls, and Redis GETs in flight */
#define N 100000       /* lookups (GETs) a run */

static bench_code_t s_codes[MAX_CODES];
static size_t s_n_codes;

/* One run of N asynchronous lookups with OUT outstanding: lookups/s. */
static double s_async_run(cs_client_t *c, unsigned *seed)
{
    static cs_client_call_t *ring[OUT];
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < OUT; i++) {
        cs_client_lookup_async(c, "icd10cm", s_codes[(size_t)rand_r(seed) % s_n_codes].code, 0,
                               NULL, &ring[i]);
    }
    for (size_t done = 0; done < N; done++) {
        cs_client_call_t **slot = &ring[done % OUT];
        const cs_client_lookup_t *l =
            cs_client_wait(c, *slot) == CS_CLIENT_OK ? cs_client_call_lookup(*slot) : NULL;
        if (!l || !l->found || !l->title) {
            fprintf(stderr, "bench: an asynchronous lookup failed: %s\n",
                    cs_client_last_error(c)->message);
            exit(1);
        }
        cs_client_call_destroy(slot);
        if (done + OUT < N) {
            cs_client_lookup_async(c, "icd10cm", s_codes[(size_t)rand_r(seed) % s_n_codes].code,
                                   0, NULL, slot);
        }
    }
    return N / ((double)(bench_now_ns() - t0) / 1e9);
}

/* One run of N Redis GETs, OUT in flight: GET/s. */
static double s_redis_run(redisContext *r, unsigned *seed)
{
    uint64_t t0 = bench_now_ns();
    size_t sent = 0, got = 0;
    while (got < N) {
        while (sent < N && sent - got < OUT) {
            redisAppendCommand(r, "GET %s", s_codes[(size_t)rand_r(seed) % s_n_codes].code);
            sent++;
        }
        long n = bench_redis_drain(r);
        if (n < 0) {
            fprintf(stderr, "bench: redis pipeline failed\n");
            exit(1);
        }
        got += (size_t)n;
    }
    return N / ((double)(bench_now_ns() - t0) / 1e9);
}

static redisContext *s_redis_up(pid_t *pid)
{
    char exe[PATH_MAX];
    *pid = 0;
    if (!bench_find_exe("redis-server", exe, sizeof exe)) {
        printf("redis-server not found (apt-get install redis-server): Redis skipped\n");
        return NULL;
    }
    int port = bench_free_port();
    *pid = bench_redis_start(exe, port);
    redisContext *r = bench_redis_connect(port);
    if (!r || bench_redis_fill(r, s_codes, s_n_codes) != 0) {
        printf("redis-server did not answer on port %d: Redis skipped\n", port);
        bench_child_stop(*pid);
        *pid = 0;
        return NULL;
    }
    return r;
}

/* A broker of our own with FY2021 loaded (0), or -1. */
static int s_broker_up(bench_broker_t *b, const char *xml, const char *order)
{
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
    if (bench_broker_start(b, ep) != 0) {
        return -1;
    }
    void *ctx = zmq_ctx_new();
    int rc = bench_broker_load_tabular(b, ctx, xml, order);
    zmq_ctx_term(ctx);
    return rc;
}

static void s_rounds(cs_client_t *c, redisContext *r, int runs)
{
    double a[RUNS * 4], g[RUNS * 4], ratio[RUNS * 4];
    unsigned seed = 41, rseed = 21;
    for (int i = 0; i < runs; i++) {
        a[i] = s_async_run(c, &seed);
        g[i] = r ? s_redis_run(r, &rseed) : 0;
        ratio[i] = g[i] > 0 ? a[i] / g[i] : 0;
        printf("  round %d: async %.0f lookups/s, Redis %.0f GET/s, ratio %.2f\n", i + 1, a[i],
               g[i], ratio[i]);
    }
    double am = bench_print3("libcsclient async lookups, 100 out", "lookups/s", a, (size_t)runs);
    if (r) {
        double gm = bench_print3("Redis pipelined GET, 100 in flight", "GET/s", g, (size_t)runs);
        bench_print3("ratio, round by round", "x", ratio, (size_t)runs);
        printf("  %-46s %11.2f x (goal >= 1.5)\n", "ratio of the medians", gm > 0 ? am / gm : 0);
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    char xml[PATH_MAX], order[PATH_MAX], axml[PATH_MAX], aorder[PATH_MAX];
    if (!bench_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml) ||
        !bench_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order) ||
        !realpath(xml, axml) || !realpath(order, aorder)) {
        printf("bench_async: ../shared/data (ICD-10-CM FY2021) is absent: skipped\n");
        return 0;
    }
    s_n_codes = bench_read_order(aorder, s_codes, MAX_CODES);
    const char *ext = getenv("BENCH_ASYNC_EP");
    const char *only = getenv("BENCH_ASYNC_ONLY");
    const char *co = getenv("BENCH_ASYNC_COALESCE");
    bench_broker_t b = {0};
    if (!(ext && *ext) && s_broker_up(&b, axml, aorder) != 0) {
        fprintf(stderr, "bench: cannot start codesetd with FY2021\n");
        bench_broker_stop(&b);
        return 1;
    }
    const char *eps[] = {ext && *ext ? ext : b.query_ep};
    cs_client_error_t err;
    cs_client_opts_t opts = {0};
    const char *spin = getenv("BENCH_ASYNC_SPIN");
    opts.spin_us = spin ? atoi(spin) : 0;
    cs_client_t *c = cs_client_new(eps, 1, &opts, &err);
    if (!c || (co && cs_client_set_coalesce(c, (unsigned)atoi(co)) != CS_CLIENT_OK)) {
        fprintf(stderr, "bench: cs_client_new: %s\n", c ? "bad coalesce" : err.message);
        return 1;
    }
    pid_t rpid = 0;
    redisContext *r = ext || only ? NULL : s_redis_up(&rpid);
    int runs = only ? atoi(only) : RUNS;
    runs = runs < 1 ? 1 : runs > RUNS * 4 ? RUNS * 4 : runs;
    printf("bench_async: FY2021, %zu codes; %d rounds of %d lookups, %d outstanding\n",
           s_n_codes, runs, N, OUT);
    s_rounds(c, r, runs);
    cs_client_destroy(&c);
    if (r) {
        redisFree(r);
    }
    bench_child_stop(rpid);
    if (!(ext && *ext)) {
        bench_broker_stop(&b);
    }
    return 0;
}
