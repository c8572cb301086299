/* bench_clients: many synchronous clients at once (issue 19, section 3): 4, 16 and 64
 * clients doing lookups, each on its own connection and thread, against codesetd (FY2021
 * loaded through its admin endpoint) and against redis-server holding the same code -> title
 * keys with as many hiredis clients doing GETs. For each: the throughput, the server's CPU
 * time per request (from /proc/PID/stat), and the clients' own CPU per request (getrusage of
 * this process, which runs every client): on two shared cores the clients compete with the
 * server they measure, and the last column says how much.
 * Every figure is min / median / max over RUNS runs; never passes or fails on time. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_redis.h"
#include "bench_util.h"

#define RUNS 3
#define MAX_CODES 100000
#define REQUESTS 24000 /* requests per run, shared by the clients */

static bench_code_t s_codes[MAX_CODES];
static size_t s_n_codes;
static double s_lat[REQUESTS];

/* What one configuration measured in one run. */
typedef struct s_run {
    double per_s;       /* requests a second, all clients */
    double server_us;   /* server CPU per request */
    double client_us;   /* this process's CPU per request */
} s_run_t;

static void s_print(const char *who, int clients, s_run_t *runs)
{
    double rate[RUNS], server[RUNS], client[RUNS];
    for (int r = 0; r < RUNS; r++) {
        rate[r] = runs[r].per_s;
        server[r] = runs[r].server_us;
        client[r] = runs[r].client_us;
    }
    char what[96];
    snprintf(what, sizeof what, "%s, %d clients, requests", who, clients);
    bench_print3(what, "/s", rate, RUNS);
    snprintf(what, sizeof what, "%s, %d clients, server CPU", who, clients);
    bench_print3(what, "us/req", server, RUNS);
    snprintf(what, sizeof what, "%s, %d clients, clients' CPU", who, clients);
    bench_print3(what, "us/req", client, RUNS);
}

/* One run's CPU of the server and of the clients, around a measured stretch. */
typedef struct s_cpu {
    pid_t server;
    double server0, self0;
} s_cpu_t;

static void s_cpu_start(s_cpu_t *c, pid_t server)
{
    c->server = server;
    c->server0 = bench_cpu_seconds(server);
    c->self0 = bench_cpu_self();
}

static void s_cpu_stop(const s_cpu_t *c, size_t requests, s_run_t *out)
{
    out->server_us = (bench_cpu_seconds(c->server) - c->server0) * 1e6 / (double)requests;
    out->client_us = (bench_cpu_self() - c->self0) * 1e6 / (double)requests;
}

/* ---- redis clients ---- */

typedef struct s_redis_client {
    pthread_t thread;
    int port;
    size_t n;
    unsigned seed;
    pthread_barrier_t *start;
    int failed;
} s_redis_client_t;

static void *s_redis_client(void *arg)
{
    s_redis_client_t *w = arg;
    redisContext *c = bench_redis_connect(w->port);
    pthread_barrier_wait(w->start);
    for (size_t i = 0; c && i < w->n && !w->failed; i++) {
        const char *code = s_codes[(size_t)rand_r(&w->seed) % s_n_codes].code;
        redisReply *rep = redisCommand(c, "GET %s", code);
        w->failed = !rep || rep->type != REDIS_REPLY_STRING;
        freeReplyObject(rep);
    }
    w->failed |= c == NULL;
    redisFree(c);
    return NULL;
}

/* clients hiredis clients doing synchronous GETs, REQUESTS in all. */
static int s_redis_run(int port, pid_t pid, int clients, s_run_t *out)
{
    s_redis_client_t *w = calloc((size_t)clients, sizeof *w);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)clients + 1);
    for (int i = 0; i < clients; i++) {
        w[i] = (s_redis_client_t){.port = port, .n = REQUESTS / (size_t)clients,
                                  .seed = 7919u * (unsigned)i + 1, .start = &start};
        pthread_create(&w[i].thread, NULL, s_redis_client, &w[i]);
    }
    pthread_barrier_wait(&start);
    s_cpu_t cpu;
    s_cpu_start(&cpu, pid);
    uint64_t t0 = bench_now_ns();
    int failed = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(w[i].thread, NULL);
        failed |= w[i].failed;
    }
    size_t done = REQUESTS / (size_t)clients * (size_t)clients;
    out->per_s = (double)done / ((double)(bench_now_ns() - t0) / 1e9);
    s_cpu_stop(&cpu, done, out);
    pthread_barrier_destroy(&start);
    free(w);
    return failed ? -1 : 0;
}

static void s_redis(const int *counts, int n_counts, double *cpu16)
{
    char exe[PATH_MAX];
    if (!bench_find_exe("redis-server", exe, sizeof exe)) {
        printf("  redis-server not found (apt-get install redis-server): Redis skipped\n");
        return;
    }
    int port = bench_free_port();
    pid_t pid = bench_redis_start(exe, port);
    redisContext *c = bench_redis_connect(port);
    if (!c || bench_redis_fill(c, s_codes, s_n_codes) != 0) {
        printf("  redis-server did not take the keys on port %d: Redis skipped\n", port);
        redisFree(c);
        bench_child_stop(pid);
        return;
    }
    redisFree(c);
    for (int k = 0; k < n_counts; k++) {
        s_run_t runs[RUNS];
        for (int r = 0; r < RUNS; r++) {
            if (s_redis_run(port, pid, counts[k], &runs[r]) != 0) {
                fprintf(stderr, "bench: redis GETs failed\n");
                exit(1);
            }
        }
        s_print("redis GET", counts[k], runs);
        if (counts[k] == 16) {
            double v[RUNS];
            for (int r = 0; r < RUNS; r++) {
                v[r] = runs[r].server_us;
            }
            double lo, hi;
            bench_stats3(v, RUNS, &lo, cpu16, &hi);
        }
    }
    bench_child_stop(pid);
}

/* ---- codesetd ---- */

static void s_codesetd(void *ctx, const bench_broker_t *b, const char *who, const int *counts,
                       int n_counts, double *cpu16)
{
    bench_body_t *bodies = bench_code_bodies("lookup", s_codes, s_n_codes, 4096, 0, 0, 5);
    for (int k = 0; k < n_counts; k++) {
        s_run_t runs[RUNS];
        for (int r = 0; r < RUNS; r++) {
            s_cpu_t cpu;
            s_cpu_start(&cpu, b->pid);
            runs[r].per_s = bench_concurrent(ctx, b->query_ep, bodies, 4096, counts[k], REQUESTS,
                                             s_lat);
            if (runs[r].per_s < 0) {
                fprintf(stderr, "bench: concurrent lookups failed\n");
                exit(1);
            }
            s_cpu_stop(&cpu, REQUESTS / (size_t)counts[k] * (size_t)counts[k], &runs[r]);
        }
        s_print(who, counts[k], runs);
        if (counts[k] == 16) {
            double v[RUNS];
            for (int r = 0; r < RUNS; r++) {
                v[r] = runs[r].server_us;
            }
            double lo, hi;
            bench_stats3(v, RUNS, &lo, cpu16, &hi);
        }
    }
    bench_bodies_free(bodies, 4096);
}

/* Start a broker (extra: more codesetd options, or NULL) and load FY2021 (or the bundled
 * sample) through its admin endpoint. */
static int s_broker(void *ctx, bench_broker_t *b, const char *const *extra)
{
    char xml[PATH_MAX], order[PATH_MAX], axml[PATH_MAX], aorder[PATH_MAX];
    if (!bench_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml) ||
        !bench_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order)) {
        snprintf(xml, sizeof xml, "loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml");
        snprintf(order, sizeof order, "loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt");
        printf("  ../shared/data is absent: the bundled sample instead of FY2021\n");
    }
    if (!realpath(xml, axml) || !realpath(order, aorder) ||
        (s_n_codes = bench_read_order(aorder, s_codes, MAX_CODES)) == 0) {
        fprintf(stderr, "bench: release files not found\n");
        return -1;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
    if (bench_broker_start_args(b, ep, extra) != 0) {
        fprintf(stderr, "bench: cannot start codesetd\n");
        return -1;
    }
    return bench_broker_load_tabular(b, ctx, axml, aorder);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const int counts[] = {4, 16, 64};
    int n_counts = (int)(sizeof counts / sizeof counts[0]);
    void *ctx = zmq_ctx_new();
    /* the broker with its defaults, and one whose loop sleeps as soon as it finds nothing
     * (--spin-us 0, the loop before issue 19's spin) */
    static const char *const nospin[] = {"--spin-us", "0", NULL};
    /* and one whose query endpoint libzmq's I/O thread serves (--front zmq, the default
     * before issue 19: a thread between the clients and the loop) */
    static const char *const zmq_front[] = {"--front", "zmq", NULL};
    bench_broker_t b, b0, bz;
    memset(&bz, 0, sizeof bz);
    if (s_broker(ctx, &b, NULL) != 0 || s_broker(ctx, &b0, nospin) != 0 ||
        s_broker(ctx, &bz, zmq_front) != 0) {
        bench_broker_stop(&b);
        bench_broker_stop(&b0);
        bench_broker_stop(&bz);
        return 1;
    }
    double load[3] = {0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) {
            load[0] = -1;
        }
        fclose(f);
    }
    printf("bench_clients: %zu codes, %d requests a run, %d runs, min/median/max "
           "(load average %.2f)\n",
           s_n_codes, REQUESTS, RUNS, load[0]);
    double codeset16 = 0, nospin16 = 0, zmq16 = 0, redis16 = 0;
    s_codesetd(ctx, &b, "codesetd lookup", counts, n_counts, &codeset16);
    s_codesetd(ctx, &bz, "codesetd --front zmq lookup", counts, n_counts, &zmq16);
    s_codesetd(ctx, &b0, "codesetd --spin-us 0 lookup", counts, n_counts, &nospin16);
    bench_broker_stop(&b);
    bench_broker_stop(&b0);
    bench_broker_stop(&bz);
    s_redis(counts, n_counts, &redis16);
    zmq_ctx_term(ctx);
    char floor[64];
    bench_goal_head("issue 19 section 3, many clients (medians of the runs)");
    snprintf(floor, sizeof floor, "redis-server %.1f us CPU per GET, 16 hiredis", redis16);
    bench_goal("codesetd CPU per lookup / redis CPU per GET, 16",
               redis16 > 0 ? codeset16 / redis16 : 0, "x", "<=", 1, floor);
    /* The goal is of the defaults; the other settings print beside it, not as goals. */
    printf("  context, same run (the goal above: codesetd's defaults):\n");
    printf("  %-52s %12.2f x\n", "--spin-us 0: CPU per lookup / redis's per GET, 16",
           redis16 > 0 ? nospin16 / redis16 : 0);
    printf("  %-52s %12.2f x\n", "--front zmq: CPU per lookup / redis's per GET, 16",
           redis16 > 0 ? zmq16 / redis16 : 0);
    return 0;
}
