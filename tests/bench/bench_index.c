/* bench_index: the ICD-10-CM Index on FY2022. The index set's load time (drug, neoplasm and
 * External Cause files, three loads), then the index op over tcp loopback (one REQ client,
 * decoding every reply) on every prefix of 30 drug and neoplasm queries (as a coder types
 * them, one request per keystroke), each code checked in the FY2022 tabular. Prints p50/p99/
 * max in microseconds. Never passes or fails on time. */
#include <limits.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench_util.h"

#define PASSES 5
#define MAX_PREFIXES 1024

static const struct {
    const char *table;
    const char *q;
} s_queries[30] = {
    {"drug", "acetaminophen"},     {"drug", "ibuprofen"},        {"drug", "aspirin"},
    {"drug", "warfarin"},          {"drug", "insulin"},          {"drug", "morphine"},
    {"drug", "oxycodone"},         {"drug", "digoxin"},          {"drug", "lithium"},
    {"drug", "carbon monoxide"},   {"drug", "ethanol"},          {"drug", "heroin"},
    {"drug", "amoxicillin"},       {"drug", "metformin"},        {"drug", "diazepam"},
    {"neoplasm", "breast"},        {"neoplasm", "lung"},         {"neoplasm", "colon"},
    {"neoplasm", "prostate"},      {"neoplasm", "skin of face"}, {"neoplasm", "liver"},
    {"neoplasm", "pancreas"},      {"neoplasm", "bladder"},      {"neoplasm", "brain"},
    {"neoplasm", "thyroid gland"}, {"neoplasm", "ovary"},        {"neoplasm", "kidney"},
    {"neoplasm", "bone marrow"},   {"neoplasm", "lymph node"},   {"neoplasm", "stomach"},
};

static bench_body_t s_bodies[MAX_PREFIXES];
static bench_body_t s_search[MAX_PREFIXES]; /* the same prefixes to the search op */
static size_t s_n;

static bench_body_t s_body(const char *op, const char *table, const char *q, size_t k)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, table ? 5 : 4);
    bench_pack_str(&pk, "op");
    bench_pack_str(&pk, op);
    bench_pack_str(&pk, "system");
    bench_pack_str(&pk, "icd10cm");
    if (table) {
        bench_pack_str(&pk, "table");
        bench_pack_str(&pk, table);
    }
    bench_pack_str(&pk, "limit");
    msgpack_pack_int(&pk, 10);
    bench_pack_str(&pk, "q");
    msgpack_pack_str(&pk, k);
    msgpack_pack_str_body(&pk, q, k);
    return (bench_body_t){sb.data, sb.size};
}

static void s_make_bodies(void)
{
    for (size_t i = 0; i < 30; i++) {
        size_t len = strlen(s_queries[i].q);
        for (size_t k = 1; k <= len && s_n < MAX_PREFIXES; k++) {
            if (s_queries[i].q[k - 1] == ' ') {
                continue; /* a space alone changes no word */
            }
            s_bodies[s_n] = s_body("index", s_queries[i].table, s_queries[i].q, k);
            s_search[s_n] = s_body("search", NULL, s_queries[i].q, k);
            s_n++;
        }
    }
}

int main(void)
{
    char order[PATH_MAX], f[3][PATH_MAX], a[4][PATH_MAX];
    if (!bench_data_path("icd10cm/order/icd10cm_order_2022.txt", order, sizeof order) ||
        !bench_data_path("icd10cm/index-2022/icd10cm_drug_2022.xml", f[0], sizeof f[0]) ||
        !bench_data_path("icd10cm/index-2022/icd10cm_neoplasm_2022.xml", f[1], sizeof f[1]) ||
        !bench_data_path("icd10cm/index-2022/icd10cm_eindex_2022.xml", f[2], sizeof f[2]) ||
        !realpath(order, a[0]) || !realpath(f[0], a[1]) || !realpath(f[1], a[2]) ||
        !realpath(f[2], a[3])) {
        printf("bench_index: skipped, the FY2022 order file or index files are not found "
               "(../shared/data is absent)\n");
        return 0;
    }
    s_make_bodies();
    void *ctx = zmq_ctx_new();
    bench_broker_t b;
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
    if (bench_broker_start(&b, ep) != 0) {
        fprintf(stderr, "bench_index: cannot start codesetd\n");
        return 1;
    }
    bench_conn_t admin, q;
    if (bench_conn_open(&admin, ctx, ZMQ_REQ, b.admin_ep) != 0 ||
        bench_conn_open(&q, ctx, ZMQ_REQ, b.query_ep) != 0 || bench_wait_ping(&q, 10000) != 0) {
        fprintf(stderr, "bench_index: cannot reach codesetd\n");
        return 1;
    }
    const char *tab[1] = {a[0]};
    const char *idx[3] = {a[1], a[2], a[3]};
    if (bench_load(&admin, "icd10cm-order", "2022", tab, 1) < 0) {
        fprintf(stderr, "bench_index: the FY2022 order file did not load\n");
        return 1;
    }
    double loads[3];
    for (int i = 0; i < 3; i++) {
        loads[i] = bench_load(&admin, "icd10cm-index", "2022", idx, 3);
        if (loads[i] < 0) {
            fprintf(stderr, "bench_index: the index set did not load (see %s)\n", b.dir);
            return 1;
        }
        loads[i] *= 1000.0;
    }
    printf("bench_index: FY2022 index set (drug, neoplasm, External Cause: 17,162 terms)\n");
    bench_print3("  load of the index set, 3 loads", "ms", loads, 3);
    size_t n = s_n * PASSES;
    double *lat = malloc(n * sizeof *lat);
    if (!lat || bench_sync(&q, s_bodies, s_n, s_n, lat) != 0 ||
        bench_sync(&q, s_bodies, s_n, n, lat) != 0) {
        fprintf(stderr, "bench_index: a request failed\n");
        return 1;
    }
    printf("  %zu prefixes of 30 drug and neoplasm queries over tcp, %d passes, limit 10:\n",
           s_n, PASSES);
    printf("    index op (codes checked in FY2022)  p50 %6.0f us  p99 %6.0f us  max %6.0f us\n",
           bench_quantile(lat, n, 0.50), bench_quantile(lat, n, 0.99),
           bench_quantile(lat, n, 1.0));
    /* the search op on the same words and the same broker, for scale */
    if (bench_sync(&q, s_search, s_n, n, lat) != 0) {
        fprintf(stderr, "bench_index: a search request failed\n");
        return 1;
    }
    printf("    search op (the tabular)             p50 %6.0f us  p99 %6.0f us  max %6.0f us\n",
           bench_quantile(lat, n, 0.50), bench_quantile(lat, n, 0.99),
           bench_quantile(lat, n, 1.0));
    free(lat);
    for (size_t i = 0; i < s_n; i++) {
        free(s_bodies[i].data);
        free(s_search[i].data);
    }
    bench_conn_close(&admin);
    bench_conn_close(&q);
    bench_broker_stop(&b);
    zmq_ctx_term(ctx);
    return 0;
}
