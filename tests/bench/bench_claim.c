/* bench_claim: the figures of issue 17 (claim scrubbing). A broker loads ICD-10-CM FY2021,
 * ICD-10-PCS FY2025 and the MCE v34 lists (all as if in effect from 2020-10-01). Each claim
 * has 25 diagnoses and 10 ICD-10-PCS procedures, inpatient, with age and sex; claim k takes
 * its codes from a pool of POOL_DX billable FY2021 codes and POOL_PX PCS codes, shifted by k,
 * so no two claims in a row are alike. Then:
 *   server   cs_claim_check in this process on the broker's database (read-only), through
 *            code indexes as the broker's engine reads codes, the engine's time a claim,
 *            besides decoding and encoding: "alone" as a claim request runs, a snapshot of
 *            its own a claim and the result the engine keeps from request to request (what
 *            earlier requests read is reused while no release is published); "cold" with a
 *            fresh result a claim (nothing read before: the first claim after a release is
 *            published); "in a batch" with one result for many claims in one snapshot;
 *   round    one claim as a "claim" request over tcp loopback (1 REQ client);
 *   batch    "claims" requests of 1,000 claims: claims per second end to end, and the CPU
 *            time codesetd (all its threads) and this client spent a claim, which other
 *            programs on the machine do not inflate as they do the wall clock.
 * Goals (issue 17): <= 50 us a claim server side, >= 20,000 claims/s in batches. Every figure
 * is min / median / max over RUNS runs. Skips, saying so, without ../shared/data. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "engine/cs_claim.h"

#define RUNS 5
#define N_DX 25
#define N_PX 10
#define POOL_DX 2000
#define POOL_PX 200
#define SERVER_N 2000
#define ROUND_N 500
#define BATCH 1000

static bench_code_t s_codes[100000];
static char s_dx[POOL_DX][8], s_px[POOL_PX][8];

static void s_pick(const char *order, char (*out)[8], int n, int stride)
{
    size_t got = bench_read_order(order, s_codes, sizeof s_codes / sizeof s_codes[0]);
    int k = 0;
    for (size_t i = 0; i < got && k < n; i += (size_t)stride) {
        while (i < got && !s_codes[i].billable) {
            i++;
        }
        if (i < got) {
            snprintf(out[k++], 8, "%s", s_codes[i].code);
        }
    }
}

static const char *s_dx_of(int k, int j)
{
    return s_dx[(k * 7 + j * 79) % POOL_DX];
}

static const char *s_px_of(int k, int j)
{
    return s_px[(k * 3 + j * 17) % POOL_PX];
}

static void s_pack_claim(msgpack_packer *pk, int with_op, int k)
{
    msgpack_pack_map(pk, 5 + (with_op ? 1 : 0));
    if (with_op) {
        bench_pack_str(pk, "op");
        bench_pack_str(pk, "claim");
    }
    bench_pack_str(pk, "date");
    bench_pack_str(pk, "2021-03-01");
    bench_pack_str(pk, "setting");
    bench_pack_str(pk, "inpatient");
    bench_pack_str(pk, "patient");
    msgpack_pack_map(pk, 2);
    bench_pack_str(pk, "age");
    msgpack_pack_int(pk, 50);
    bench_pack_str(pk, "sex");
    bench_pack_str(pk, "F");
    bench_pack_str(pk, "diagnoses");
    msgpack_pack_array(pk, N_DX);
    for (int i = 0; i < N_DX; i++) {
        msgpack_pack_map(pk, 2);
        bench_pack_str(pk, "code");
        bench_pack_str(pk, s_dx_of(k, i));
        bench_pack_str(pk, "poa");
        bench_pack_str(pk, "Y");
    }
    bench_pack_str(pk, "procedures");
    msgpack_pack_array(pk, N_PX);
    for (int i = 0; i < N_PX; i++) {
        msgpack_pack_map(pk, 2);
        bench_pack_str(pk, "system");
        bench_pack_str(pk, "icd10pcs");
        bench_pack_str(pk, "code");
        bench_pack_str(pk, s_px_of(k, i));
    }
}

/* The engine alone: cs_claim_check over the broker's database, read-only. */
static double s_alone_us; /* a single claim's median, server side, for the summary */

static void s_server(const char *db, const char *plugins)
{
    cs_error_t err;
    cs_store_t *st = cs_store_open_ex(db, 0, 0, CS_STORE_RDONLY, &err);
    cs_reader_t *r = st ? cs_reader_new(st, &err) : NULL;
    cs_plugin_host_t *ph = cs_plugin_host_new();
    size_t n = 0;
    if (!r || !ph || cs_plugin_host_load_dir(ph, plugins, &n, &err) != CS_OK) {
        fprintf(stderr, "bench_claim: cannot open the database: %s\n", err.msg);
        exit(1);
    }
    static cs_claim_dx_t dx[SERVER_N][N_DX];
    static cs_claim_px_t px[SERVER_N][N_PX];
    static cs_claim_t c[SERVER_N];
    for (int k = 0; k < SERVER_N; k++) {
        for (int i = 0; i < N_DX; i++) {
            const char *code = s_dx_of(k, i);
            dx[k][i] = (cs_claim_dx_t){{code, (uint32_t)strlen(code)}, {"Y", 1}};
        }
        for (int i = 0; i < N_PX; i++) {
            px[k][i] = (cs_claim_px_t){.system = {"icd10pcs", 8}, .code = {s_px_of(k, i), 7},
                                       .units = 1};
        }
        c[k] = (cs_claim_t){.date = 20210301, .setting = CS_SETTING_INPATIENT, .has_age = 1,
                            .age = 50, .sex = CS_SEX_FEMALE, .dx = dx[k], .n_dx = N_DX,
                            .px = px[k], .n_px = N_PX};
    }
    cs_claim_result_t res;
    cs_catalog_memo_t memo;
    memset(&memo, 0, sizeof memo);
    /* the code indexes the broker's engine reads codes through */
    cs_codeidx_set_t *set = cs_codeidx_set_new(st, (size_t)256 << 20, &err);
    cs_codeidx_holder_t holder;
    cs_codeidx_holder_init(&holder, set);
    static const char *const systems[] = {"icd10cm", "icd10pcs"};
    cs_reader_begin(r);
    for (int i = 0; set && i < 2; i++) {
        cs_resolved_t rel;
        if (cs_catalog_newest(r, systems[i], strlen(systems[i]), &rel) == CS_OK) {
            cs_codeidx_build(set, rel.id, &err);
        }
    }
    cs_reader_end(r);
    cs_claim_env_t env = {.reader = r, .plugins = ph, .index = &holder, .memo = &memo};
    double v[RUNS], u[RUNS], w[RUNS], cu[RUNS], cv[RUNS], cw[RUNS], c0;
    uint64_t edits = 0;
    cs_claim_result_t kept;
    cs_claim_result_init(&kept);
    for (int run = 0; run < RUNS; run++) {
        c0 = bench_cpu_self();
        uint64_t t0 = bench_now_ns();
        for (int k = 0; k < SERVER_N; k++) {
            cs_reader_begin(r); /* as a request starts */
            cs_codeidx_holder_unpin(&holder);
            cs_claim_check(&env, &c[k], &kept);
            cs_claim_result_trim(&kept);
            cs_reader_end(r);
        }
        u[run] = (double)(bench_now_ns() - t0) / SERVER_N / 1000.0;
        cu[run] = (bench_cpu_self() - c0) / SERVER_N * 1e6;
        cs_reader_begin(r);
        c0 = bench_cpu_self();
        t0 = bench_now_ns();
        for (int k = 0; k < SERVER_N; k++) {
            cs_codeidx_holder_unpin(&holder);
            cs_claim_result_init(&res);
            cs_claim_check(&env, &c[k], &res);
            edits += res.n_edits;
            cs_claim_result_fini(&res);
        }
        v[run] = (double)(bench_now_ns() - t0) / SERVER_N / 1000.0;
        cv[run] = (bench_cpu_self() - c0) / SERVER_N * 1e6;
        cs_claim_result_init(&res);
        c0 = bench_cpu_self();
        t0 = bench_now_ns();
        for (int k = 0; k < SERVER_N; k++) {
            cs_claim_check(&env, &c[k], &res);
        }
        w[run] = (double)(bench_now_ns() - t0) / SERVER_N / 1000.0;
        cw[run] = (bench_cpu_self() - c0) / SERVER_N * 1e6;
        cs_claim_result_fini(&res);
        cs_reader_end(r);
    }
    printf("claims of %d diagnoses and %d procedures: %.1f edits a claim\n", N_DX, N_PX,
           (double)edits / RUNS / SERVER_N);
    s_alone_us = bench_print3("claim, server side, alone (cs_claim_check)", "us", u, RUNS);
    bench_print3("claim, server side, cold (nothing kept)", "us", v, RUNS);
    bench_print3("claim, server side, in a batch", "us", w, RUNS);
    /* the same in CPU time, which other programs on the machine inflate less */
    bench_print3("  CPU: alone", "us", cu, RUNS);
    bench_print3("  CPU: cold", "us", cv, RUNS);
    bench_print3("  CPU: in a batch", "us", cw, RUNS);
    printf("  a kept result after %d claims of %d codes: %.1f MB\n", RUNS * SERVER_N,
           POOL_DX + POOL_PX, (double)cs_claim_result_bytes(&kept) / 1e6);
    cs_claim_result_fini(&kept);
    cs_codeidx_holder_fini(&holder);
    cs_codeidx_set_destroy(&set);
    cs_plugin_host_destroy(&ph);
    cs_reader_destroy(&r);
    cs_store_destroy(&st);
}

static void s_round_and_batch(bench_conn_t *q, pid_t broker)
{
    double v[RUNS];
    for (int run = 0; run < RUNS; run++) {
        msgpack_sbuffer_clear(&q->sb);
        s_pack_claim(&q->pk, 1, run);
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < ROUND_N; i++) {
            if (!bench_ok(bench_call(q, NULL, 0))) {
                fprintf(stderr, "bench_claim: a claim failed\n");
                exit(1);
            }
        }
        v[run] = (double)(bench_now_ns() - t0) / ROUND_N / 1000.0;
    }
    bench_print3("claim, round trip (1 client, tcp)", "us", v, RUNS);
    msgpack_sbuffer_clear(&q->sb);
    msgpack_pack_map(&q->pk, 2);
    bench_pack_str(&q->pk, "op");
    bench_pack_str(&q->pk, "claims");
    bench_pack_str(&q->pk, "claims");
    msgpack_pack_array(&q->pk, BATCH);
    for (int i = 0; i < BATCH; i++) {
        s_pack_claim(&q->pk, 0, i);
    }
    double s0 = bench_cpu_seconds(broker), c0 = bench_cpu_self();
    for (int run = 0; run < RUNS; run++) {
        uint64_t t0 = bench_now_ns();
        const msgpack_object *r = bench_call(q, NULL, 0);
        if (!bench_ok(r)) {
            fprintf(stderr, "bench_claim: a batch failed\n");
            exit(1);
        }
        v[run] = BATCH / ((double)(bench_now_ns() - t0) / 1e9);
    }
    /* CPU time, which other programs on the machine do not inflate as they do the wall
     * clock: what a batch costs whatever the load (the client's share is unpacking the
     * replies), over all the runs (the kernel counts it in 10 ms ticks) */
    double srv = (bench_cpu_seconds(broker) - s0) / (RUNS * BATCH) * 1e6;
    double cli = (bench_cpu_self() - c0) / (RUNS * BATCH) * 1e6;
    bench_print3("claims, batches of 1,000 (end to end)", "claims/s", v, RUNS);
    printf("  CPU a claim in those batches: codesetd %.1f us, this client %.1f us\n", srv, cli);
}

/* Batches as a billing run sends them: the next batch goes out before the last one's reply
 * is read, so the client's unpacking overlaps the broker's work (two in flight on a DEALER;
 * each run times PIPE_BATCHES batches). body: one packed claims request. */
#define PIPE_BATCHES 6
static double s_two_in_flight(void *ctx, const char *ep, const msgpack_sbuffer *body)
{
    double v[RUNS];
    bench_conn_t d;
    if (bench_conn_open(&d, ctx, ZMQ_DEALER, ep) != 0) {
        return -1;
    }
    for (int run = 0; run < RUNS; run++) {
        uint64_t t0 = bench_now_ns();
        int sent = 0;
        for (; sent < 2; sent++) {
            zmq_send(d.sock, body->data, body->size, 0);
        }
        for (int got = 0; got < PIPE_BATCHES; got++) {
            if (!bench_ok(bench_recv(&d))) {
                fprintf(stderr, "bench_claim: a pipelined batch failed\n");
                exit(1);
            }
            if (sent < PIPE_BATCHES) {
                zmq_send(d.sock, body->data, body->size, 0);
                sent++;
            }
        }
        v[run] = PIPE_BATCHES * BATCH / ((double)(bench_now_ns() - t0) / 1e9);
    }
    bench_conn_close(&d);
    bench_print3("claims, batches of 1,000, two in flight", "claims/s", v, RUNS);
    return bench_quantile(v, RUNS, 0.5);
}

int main(void)
{
    char cm[PATH_MAX], cmo[PATH_MAX], pcs[PATH_MAX], pcso[PATH_MAX], mce[PATH_MAX];
    if (!bench_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", cm, sizeof cm) ||
        !bench_data_path("icd10cm/2021/icd10cm_order_2021.txt", cmo, sizeof cmo) ||
        !bench_data_path("icd10pcs/2025/icd10pcs_tables_2025.xml", pcs, sizeof pcs) ||
        !bench_data_path("icd10pcs/2025/icd10pcs_order_2025.txt", pcso, sizeof pcso) ||
        !bench_data_path("mce/MCE_Simple_Code_Edits_v34.txt", mce, sizeof mce)) {
        printf("bench_claim: skipped (../shared/data is absent)\n");
        return 0;
    }
    s_pick(cmo, s_dx, POOL_DX, 37);
    s_pick(pcso, s_px, POOL_PX, 331);
    char ep[64], ranges[PATH_MAX + 64], cwd[PATH_MAX], plugins[PATH_MAX];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
    bench_broker_t b;
    if (!getcwd(cwd, sizeof cwd) || bench_broker_start(&b, ep) != 0) {
        fprintf(stderr, "bench_claim: no broker\n");
        return 1;
    }
    snprintf(ranges, sizeof ranges, "%s/loaders/mce-lists/mce_age_ranges.tsv", cwd);
    const char *env_build = getenv("CS_BUILD_DIR");
    snprintf(plugins, sizeof plugins, "%s/plugins", env_build ? env_build : "build");
    void *ctx = zmq_ctx_new();
    bench_conn_t admin, q;
    bench_conn_open(&admin, ctx, ZMQ_REQ, b.admin_ep);
    bench_conn_open(&q, ctx, ZMQ_REQ, b.query_ep);
    const char *f1[] = {cm, cmo}, *f2[] = {pcs, pcso}, *f3[] = {mce, ranges};
    if (bench_load(&admin, "icd10cm-tabular", "2021", f1, 2) < 0 ||
        bench_load(&admin, "icd10pcs-tables", "2025", f2, 2) < 0 ||
        bench_load(&admin, "mce-lists", "v34", f3, 2) < 0) {
        bench_broker_stop(&b);
        return 1;
    }
    s_server(b.db, plugins);
    s_round_and_batch(&q, b.pid);
    double piped = s_two_in_flight(ctx, b.query_ep, &q.sb); /* q.sb: the batch just sent */
    bench_goal_head("issue 17 (medians of this run)");
    bench_goal("a claim, server side, alone (25 dx, 10 px)", s_alone_us, " us", "<=", 50, "");
    bench_goal("claims/s in batches of 1,000, two in flight", piped, "/s", ">=", 20000, "");
    bench_conn_close(&admin);
    bench_conn_close(&q);
    zmq_ctx_term(ctx);
    bench_broker_stop(&b);
    return 0;
}
