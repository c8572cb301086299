/* bench_threading: where should the broker answer a lookup? The same engine (cs_engine_t on
 * the FY2021 file, opened read-only in this process) served over tcp loopback in four shapes,
 * measured in one run:
 *   front      the thread that owns the ROUTER decodes, answers and replies (codesetd today);
 *   hop 1, 2   ROUTER -> zmq_proxy -> inproc DEALER -> 1 or 2 worker threads (zguide asyncsrv);
 *   hybrid     the ROUTER thread answers lookups itself and hands searches to 1 worker.
 * For each: lookup round trip p50/p99 at 1 client and pipelined lookups/s (100 in flight);
 * then, with a second client sending slow searches (one- and two-letter prefixes) all the
 * time, the lookup p50/p99 of front and hybrid: what a slow op does to cheap ones queued
 * behind it. Prints min/median/max over RUNS runs. Never passes or fails on time. */
#include <errno.h>
#include <limits.h>
#include <msgpack.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_util.h"
#include "engine/cs_query.h"
#include "load/cs_plugin_host.h"
#include "store/cs_store.h"
#include "wire/cs_out_msgpack.h"
#include "wire/cs_proto.h"

#define RUNS 5
#define MAX_CODES 100000
#define SYNC_N 10000
#define PIPE_N 50000
#define MAX_WORKERS 2

enum { S_FRONT, S_HOP, S_HYBRID };

static bench_code_t s_codes[MAX_CODES];
static size_t s_n_codes;
static cs_store_t *s_store;
static cs_plugin_host_t *s_plugins;
static double s_lat[SYNC_N];

/* One thread's serving state: its own engine (reader), request and reply buffer. */
typedef struct s_engine_ctx {
    cs_engine_t *engine;
    cs_request_t req;
    msgpack_sbuffer out;
} s_engine_ctx_t;

static void s_engine_init(s_engine_ctx_t *e)
{
    cs_error_t err;
    e->engine = cs_engine_new(s_store, s_plugins, &err);
    if (!e->engine) {
        fprintf(stderr, "bench: %s\n", err.msg);
        exit(1);
    }
    cs_request_init(&e->req);
    msgpack_sbuffer_init(&e->out);
}

static void s_engine_fini(s_engine_ctx_t *e)
{
    cs_engine_destroy(&e->engine);
    msgpack_sbuffer_destroy(&e->out);
}

/* Receive all frames of one message (at most cap; the bench's clients send 2 or 3). flags 0
 * blocks; ZMQ_DONTWAIT returns 0 when nothing is queued. -1 on ETERM. */
static int s_recv_frames(void *sock, zmq_msg_t *frames, int cap, int flags)
{
    int n = 0, more = 1;
    while (more && n < cap) {
        zmq_msg_init(&frames[n]);
        if (zmq_msg_recv(&frames[n], sock, n == 0 ? flags : 0) < 0) {
            int again = n == 0 && zmq_errno() == EAGAIN;
            zmq_msg_close(&frames[n]);
            for (int i = 0; i < n; i++) {
                zmq_msg_close(&frames[i]);
            }
            return again ? 0 : -1;
        }
        more = zmq_msg_more(&frames[n]);
        n++;
    }
    return n;
}

/* Decode the body (the last frame) into e->req: 1 if it is a request (release it after). */
static int s_decode(s_engine_ctx_t *e, zmq_msg_t *body, cs_error_t *err)
{
    if (cs_request_decode(&e->req, zmq_msg_data(body), zmq_msg_size(body), err) ==
        CS_PERR_NONE) {
        return 1;
    }
    cs_request_release(&e->req);
    return 0;
}

/* Answer a decoded request (or the decode error) after the envelope frames. */
static void s_reply(s_engine_ctx_t *e, void *sock, zmq_msg_t *frames, int n, int decoded,
                    const cs_error_t *err)
{
    msgpack_sbuffer_clear(&e->out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &e->out, msgpack_sbuffer_write);
    cs_out_msgpack_t w;
    cs_out_t *out = cs_out_msgpack_init(&w, &pk);
    if (decoded) {
        cs_engine_handle(e->engine, &e->req, out);
        cs_request_release(&e->req);
    } else {
        cs_reply_error(out, NULL, CS_PERR_BAD_REQUEST, err->msg);
    }
    for (int i = 0; i < n - 1; i++) {
        zmq_msg_send(&frames[i], sock, ZMQ_SNDMORE);
    }
    zmq_msg_close(&frames[n - 1]);
    zmq_send(sock, e->out.data, e->out.size, 0);
}

static void s_forward(void *to, zmq_msg_t *frames, int n)
{
    for (int i = 0; i < n; i++) {
        zmq_msg_send(&frames[i], to, i < n - 1 ? ZMQ_SNDMORE : 0);
    }
}

/* ---- the server shapes ---- */

typedef struct s_server {
    int shape;
    int n_workers;
    void *zctx;                     /* the server's own context */
    char ep[64];                    /* its tcp endpoint */
    pthread_t front;
    pthread_t workers[MAX_WORKERS];
    pthread_barrier_t ready;        /* sockets bound before clients connect */
} s_server_t;

static void *s_worker_main(void *arg)
{
    s_server_t *srv = arg;
    s_engine_ctx_t e;
    s_engine_init(&e);
    void *sock = zmq_socket(srv->zctx, ZMQ_DEALER);
    zmq_connect(sock, "inproc://workers");
    pthread_barrier_wait(&srv->ready);
    zmq_msg_t frames[8];
    int n;
    cs_error_t err;
    while ((n = s_recv_frames(sock, frames, 8, 0)) > 0) {
        s_reply(&e, sock, frames, n, s_decode(&e, &frames[n - 1], &err), &err);
    }
    zmq_close(sock);
    s_engine_fini(&e);
    return NULL;
}

static void *s_front_main(void *arg)
{
    s_server_t *srv = arg;
    void *front = zmq_socket(srv->zctx, ZMQ_ROUTER);
    int hwm = 100000;
    zmq_setsockopt(front, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(front, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_bind(front, srv->ep);
    void *back = NULL;
    if (srv->shape != S_FRONT) {
        back = zmq_socket(srv->zctx, ZMQ_DEALER);
        zmq_setsockopt(back, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(back, ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_bind(back, "inproc://workers");
    }
    s_engine_ctx_t e;
    s_engine_init(&e);
    pthread_barrier_wait(&srv->ready);
    zmq_msg_t frames[8];
    if (srv->shape == S_HOP) {
        zmq_proxy(front, back, NULL); /* returns on ETERM */
    } else {
        /* As codesetd: poll, then drain a bounded batch from each socket without blocking,
         * so a poll is paid per batch, not per request. */
        zmq_pollitem_t items[2] = {{.socket = front, .events = ZMQ_POLLIN},
                                   {.socket = back, .events = ZMQ_POLLIN}};
        int n = 0;
        while (n >= 0 && zmq_poll(items, back ? 2 : 1, -1) >= 0) {
            for (int i = 0;
                 back && i < 64 && (n = s_recv_frames(back, frames, 8, ZMQ_DONTWAIT)) > 0; i++) {
                s_forward(front, frames, n);
            }
            for (int i = 0; i < 64 && (n = s_recv_frames(front, frames, 8, ZMQ_DONTWAIT)) > 0;
                 i++) {
                /* decoded once: a slow op goes to a worker, which decodes it again */
                cs_error_t err;
                int ok = s_decode(&e, &frames[n - 1], &err);
                if (back && ok && (e.req.op == CS_OP_SEARCH || e.req.op == CS_OP_DIFF)) {
                    cs_request_release(&e.req);
                    s_forward(back, frames, n);
                } else {
                    s_reply(&e, front, frames, n, ok, &err);
                }
            }
        }
    }
    zmq_close(front);
    if (back) {
        zmq_close(back);
    }
    s_engine_fini(&e);
    return NULL;
}

static void s_server_start(s_server_t *srv, int shape, int n_workers)
{
    memset(srv, 0, sizeof *srv);
    srv->shape = shape;
    srv->n_workers = shape == S_FRONT ? 0 : n_workers;
    srv->zctx = zmq_ctx_new();
    snprintf(srv->ep, sizeof srv->ep, "tcp://127.0.0.1:%d", bench_free_port());
    pthread_barrier_init(&srv->ready, NULL, (unsigned)srv->n_workers + 2);
    pthread_create(&srv->front, NULL, s_front_main, srv);
    for (int i = 0; i < srv->n_workers; i++) {
        pthread_create(&srv->workers[i], NULL, s_worker_main, srv);
    }
    pthread_barrier_wait(&srv->ready);
}

static void s_server_stop(s_server_t *srv)
{
    zmq_ctx_shutdown(srv->zctx); /* every blocking call returns ETERM */
    pthread_join(srv->front, NULL);
    for (int i = 0; i < srv->n_workers; i++) {
        pthread_join(srv->workers[i], NULL);
    }
    zmq_ctx_term(srv->zctx);
    pthread_barrier_destroy(&srv->ready);
}

/* ---- a background client that keeps slow searches coming ---- */

typedef struct s_noise {
    pthread_t thread;
    void *ctx;
    const char *ep;
    volatile int stop;
    long sent;
} s_noise_t;

static void *s_noise_main(void *arg)
{
    s_noise_t *nz = arg;
    static const char *const qs[] = {"o", "e", "s", "fr", "di", "ch", "in", "ac"};
    bench_conn_t c;
    if (bench_conn_open(&c, nz->ctx, ZMQ_REQ, nz->ep) != 0) {
        return NULL;
    }
    for (long i = 0; !nz->stop; i++) {
        msgpack_sbuffer_clear(&c.sb);
        msgpack_pack_map(&c.pk, 3);
        bench_pack_str(&c.pk, "op");
        bench_pack_str(&c.pk, "search");
        bench_pack_str(&c.pk, "system");
        bench_pack_str(&c.pk, "icd10cm");
        bench_pack_str(&c.pk, "q");
        bench_pack_str(&c.pk, qs[i % 8]);
        if (!bench_call(&c, NULL, 0)) {
            break;
        }
        nz->sent++;
    }
    bench_conn_close(&c);
    return NULL;
}

/* ---- measurement ---- */

typedef struct s_figures {
    double p50, p99, pipe;        /* medians, quiet */
    double busy_p50, busy_p99;    /* medians, with searches in the background */
} s_figures_t;

static void s_measure(const char *name, int shape, int n_workers, void *ctx,
                      const bench_body_t *lookups, const bench_body_t *ided, int busy,
                      s_figures_t *fig)
{
    s_server_t srv;
    s_server_start(&srv, shape, n_workers);
    bench_conn_t c;
    bench_conn_open(&c, ctx, ZMQ_REQ, srv.ep);
    bench_wait_ping(&c, 5000);
    double p50[RUNS], p99[RUNS], pipe[RUNS];
    char what[96];
    for (int r = 0; r < RUNS; r++) {
        if (bench_sync(&c, lookups, SYNC_N, SYNC_N, s_lat) != 0) {
            exit(1);
        }
        p50[r] = bench_quantile(s_lat, SYNC_N, 0.50);
        p99[r] = bench_quantile(s_lat, SYNC_N, 0.99);
        pipe[r] = bench_pipeline(ctx, srv.ep, ided, PIPE_N, 100, PIPE_N);
    }
    snprintf(what, sizeof what, "%s: lookup p50", name);
    fig->p50 = bench_print3(what, "us", p50, RUNS);
    snprintf(what, sizeof what, "%s: lookup p99", name);
    fig->p99 = bench_print3(what, "us", p99, RUNS);
    snprintf(what, sizeof what, "%s: pipelined lookups, 100 in flight", name);
    fig->pipe = bench_print3(what, "replies/s", pipe, RUNS);
    if (busy) {
        s_noise_t nz = {.ctx = ctx, .ep = srv.ep};
        pthread_create(&nz.thread, NULL, s_noise_main, &nz);
        usleep(100000);
        for (int r = 0; r < RUNS; r++) {
            if (bench_sync(&c, lookups, SYNC_N, SYNC_N / 5, s_lat) != 0) {
                exit(1);
            }
            p50[r] = bench_quantile(s_lat, SYNC_N / 5, 0.50);
            p99[r] = bench_quantile(s_lat, SYNC_N / 5, 0.99);
        }
        nz.stop = 1;
        pthread_join(nz.thread, NULL);
        snprintf(what, sizeof what, "%s: lookup p50, searches alongside", name);
        fig->busy_p50 = bench_print3(what, "us", p50, RUNS);
        snprintf(what, sizeof what, "%s: lookup p99, searches alongside", name);
        fig->busy_p99 = bench_print3(what, "us", p99, RUNS);
        printf("  (%ld slow searches answered meanwhile)\n", nz.sent);
    }
    bench_conn_close(&c);
    s_server_stop(&srv);
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
    if (!realpath(xml, axml) || !realpath(order, aorder)) {
        fprintf(stderr, "bench: release files not found\n");
        return 1;
    }
    s_n_codes = bench_read_order(aorder, s_codes, MAX_CODES);
    /* codesetd loads the release into a fresh file, then stops: the shapes below serve it */
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
    bench_broker_t b;
    if (s_n_codes == 0 || bench_broker_start(&b, ep) != 0) {
        fprintf(stderr, "bench: cannot start codesetd\n");
        return 1;
    }
    void *ctx = zmq_ctx_new();
    bench_conn_t admin, q;
    bench_conn_open(&admin, ctx, ZMQ_REQ, b.admin_ep);
    bench_conn_open(&q, ctx, ZMQ_REQ, b.query_ep);
    const char *files[] = {axml, aorder};
    double secs = bench_wait_ping(&q, 10000) == 0
                      ? bench_load(&admin, "icd10cm-tabular", "2021", files, 2)
                      : -1;
    bench_conn_close(&admin);
    bench_conn_close(&q);
    kill(b.pid, SIGTERM);
    waitpid(b.pid, NULL, 0);
    b.pid = 0;
    if (secs < 0) {
        bench_broker_stop(&b);
        return 1;
    }
    cs_error_t err;
    s_store = cs_store_open_ex(b.db, 0, 0, CS_STORE_RDONLY, &err);
    s_plugins = cs_plugin_host_new();
    char plugins[PATH_MAX];
    const char *build = getenv("CS_BUILD_DIR");
    snprintf(plugins, sizeof plugins, "%s/plugins", build && *build ? build : "build");
    if (!s_store || cs_plugin_host_load_dir(s_plugins, plugins, NULL, &err) != CS_OK) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    printf("bench_threading: ICD-10-CM, %zu codes, the engine served in-process over tcp "
           "loopback; %d runs each, min/median/max\n",
           s_n_codes, RUNS);
    bench_body_t *lookups = bench_code_bodies("lookup", s_codes, s_n_codes, SYNC_N, 0, 0, 1);
    bench_body_t *ided = bench_code_bodies("lookup", s_codes, s_n_codes, PIPE_N, 1, 0, 3);
    s_figures_t front, hop1, hop2, hybrid;
    s_measure("front (ROUTER thread answers)", S_FRONT, 0, ctx, lookups, ided, 1, &front);
    s_measure("hop, 1 worker", S_HOP, 1, ctx, lookups, ided, 0, &hop1);
    s_measure("hop, 2 workers", S_HOP, 2, ctx, lookups, ided, 0, &hop2);
    s_measure("hybrid (lookups in front, search to 1 worker)", S_HYBRID, 1, ctx, lookups, ided,
              1, &hybrid);

    printf("\nsummary: the cost of a thread hop (medians of this run)\n");
    printf("  %-52s %+10.1f us\n", "hop (1 worker) p50 - front p50", hop1.p50 - front.p50);
    printf("  %-52s %+10.1f us\n", "hop (2 workers) p50 - front p50", hop2.p50 - front.p50);
    printf("  %-52s %10.2f\n", "hop (1 worker) pipelined / front pipelined",
           hop1.pipe / front.pipe);
    printf("  %-52s %10.2f\n", "hop (2 workers) pipelined / front pipelined",
           hop2.pipe / front.pipe);
    printf("  %-52s %10.2f\n", "hybrid pipelined / front pipelined", hybrid.pipe / front.pipe);
    printf("  %-52s %10.1f / %.1f us\n", "lookup p99 with searches alongside: front / hybrid",
           front.busy_p99, hybrid.busy_p99);

    bench_bodies_free(lookups, SYNC_N);
    bench_bodies_free(ided, PIPE_N);
    zmq_ctx_term(ctx);
    cs_plugin_host_destroy(&s_plugins);
    cs_store_destroy(&s_store);
    bench_broker_stop(&b);
    return 0;
}
