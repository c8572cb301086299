/* bench_broker: load time, database size, and lookup / one-code validate round trips from
 * one synchronous REQ client over tcp loopback. Prints min/median/max over 5 runs. */
#include <limits.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_util.h"

#define RUNS 5
#define REQUESTS 20000
#define MAX_CODES 100000

static void *s_ctx;

typedef struct s_client {
    void *sock;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked up;
    zmq_msg_t msg;
} s_client_t;

static void s_client_init(s_client_t *c, const char *ep)
{
    c->sock = zmq_socket(s_ctx, ZMQ_REQ);
    int zero = 0;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(c->sock, ep);
    msgpack_sbuffer_init(&c->sb);
    msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
    msgpack_unpacked_init(&c->up);
    zmq_msg_init(&c->msg);
}

static void s_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static const msgpack_object *s_get(const msgpack_object *m, const char *key)
{
    if (!m || m->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0) {
            return &m->via.map.ptr[i].val;
        }
    }
    return NULL;
}

static const msgpack_object *s_call(s_client_t *c)
{
    if (zmq_send(c->sock, c->sb.data, c->sb.size, 0) < 0) {
        return NULL;
    }
    zmq_msg_close(&c->msg);
    zmq_msg_init(&c->msg);
    if (zmq_msg_recv(&c->msg, c->sock, 0) < 0) {
        return NULL;
    }
    size_t off = 0;
    if (msgpack_unpack_next(&c->up, zmq_msg_data(&c->msg), zmq_msg_size(&c->msg), &off) !=
        MSGPACK_UNPACK_SUCCESS) {
        return NULL;
    }
    return &c->up.data;
}

static double s_load(s_client_t *admin, const char *label, char **files, int n_files)
{
    msgpack_sbuffer_clear(&admin->sb);
    msgpack_pack_map(&admin->pk, 5);
    s_str(&admin->pk, "op");
    s_str(&admin->pk, "load");
    s_str(&admin->pk, "loader");
    s_str(&admin->pk, "icd10cm-tabular");
    s_str(&admin->pk, "release");
    s_str(&admin->pk, label);
    s_str(&admin->pk, "effective_from");
    s_str(&admin->pk, "2020-10-01");
    s_str(&admin->pk, "files");
    msgpack_pack_array(&admin->pk, (uint32_t)n_files);
    for (int i = 0; i < n_files; i++) {
        s_str(&admin->pk, files[i]);
    }
    const msgpack_object *r = s_call(admin);
    const msgpack_object *job = s_get(r, "job");
    if (!job || job->type != MSGPACK_OBJECT_STR) {
        fprintf(stderr, "bench: load refused\n");
        return -1;
    }
    char id[64];
    snprintf(id, sizeof id, "%.*s", (int)job->via.str.size, job->via.str.ptr);
    for (;;) {
        usleep(20000);
        msgpack_sbuffer_clear(&admin->sb);
        msgpack_pack_map(&admin->pk, 2);
        s_str(&admin->pk, "op");
        s_str(&admin->pk, "job");
        s_str(&admin->pk, "job");
        s_str(&admin->pk, id);
        r = s_call(admin);
        const msgpack_object *st = s_get(r, "state");
        if (st && st->type == MSGPACK_OBJECT_STR && memcmp(st->via.str.ptr, "running", 7) != 0) {
            if (memcmp(st->via.str.ptr, "done", 4) != 0) {
                fprintf(stderr, "bench: load failed\n");
                return -1;
            }
            return s_get(r, "seconds")->via.f64;
        }
    }
}

static size_t s_read_codes(const char *order, char (*codes)[10], size_t cap)
{
    FILE *f = fopen(order, "r");
    if (!f) {
        return 0;
    }
    char line[512];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        if (strlen(line) < 14) {
            continue;
        }
        memcpy(codes[n], line + 6, 7);
        codes[n][7] = '\0';
        codes[n][strcspn(codes[n], " ")] = '\0';
        n++;
    }
    fclose(f);
    return n;
}

static void s_print3(const char *what, const char *unit, double *v, int n)
{
    double lo = v[0], hi = v[0];
    for (int i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    double med = bench_quantile(v, (size_t)n, 0.5);
    printf("  %-34s min %9.2f  median %9.2f  max %9.2f %s\n", what, lo, med, hi, unit);
}

/* REQUESTS round trips of op over random codes; p50/p99/p99.9 in microseconds. */
static void s_round_trips(s_client_t *c, const char *op, char (*codes)[10], size_t n_codes,
                          double *p50, double *p99, double *p999)
{
    static double lat[REQUESTS];
    unsigned seed = 12345;
    for (int i = 0; i < REQUESTS; i++) {
        const char *code = codes[rand_r(&seed) % n_codes];
        msgpack_sbuffer_clear(&c->sb);
        msgpack_pack_map(&c->pk, 3);
        s_str(&c->pk, "op");
        s_str(&c->pk, op);
        s_str(&c->pk, "system");
        s_str(&c->pk, "icd10cm");
        s_str(&c->pk, "code");
        s_str(&c->pk, code);
        uint64_t t0 = bench_now_ns();
        const msgpack_object *r = s_call(c);
        lat[i] = (double)(bench_now_ns() - t0) / 1000.0;
        const msgpack_object *ok = s_get(r, "ok");
        if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN || !ok->via.boolean) {
            fprintf(stderr, "bench: %s %s failed\n", op, code);
            exit(1);
        }
    }
    *p50 = bench_quantile(lat, REQUESTS, 0.50);
    *p99 = bench_quantile(lat, REQUESTS, 0.99);
    *p999 = bench_quantile(lat, REQUESTS, 0.999);
}

int main(void)
{
    char xml[PATH_MAX], order[PATH_MAX], axml[PATH_MAX], aorder[PATH_MAX];
    const char *dataset = "ICD-10-CM FY2021 (tabular XML + order file)";
    if (!bench_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml) ||
        !bench_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order)) {
        snprintf(xml, sizeof xml, "loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml");
        snprintf(order, sizeof order, "loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt");
        dataset = "the bundled sample (../shared/data is absent)";
    }
    if (!realpath(xml, axml) || !realpath(order, aorder)) {
        fprintf(stderr, "bench: release files not found\n");
        return 1;
    }
    static char codes[MAX_CODES][10];
    size_t n_codes = s_read_codes(aorder, codes, MAX_CODES);
    s_ctx = zmq_ctx_new();
    bench_broker_t b;
    if (bench_broker_start(&b, "tcp://127.0.0.1:5601") != 0) {
        fprintf(stderr, "bench: cannot start codesetd\n");
        return 1;
    }
    s_client_t admin, q;
    s_client_init(&admin, b.admin_ep);
    s_client_init(&q, b.query_ep);
    printf("bench_broker: %s, %zu codes\n", dataset, n_codes);

    double load_s[RUNS];
    char *files[] = {axml, aorder};
    uint64_t db_bytes = 0;
    for (int i = 0; i < RUNS; i++) {
        char label[16];
        snprintf(label, sizeof label, "r%d", i);
        load_s[i] = s_load(&admin, label, files, 2);
        if (load_s[i] < 0) {
            return 1;
        }
        if (i == 0) {
            msgpack_sbuffer_clear(&q.sb);
            msgpack_pack_map(&q.pk, 1);
            s_str(&q.pk, "op");
            s_str(&q.pk, "stats");
            const msgpack_object *r = s_call(&q);
            db_bytes = s_get(r, "db_bytes")->via.u64;
        }
    }
    s_print3("load (job time)", "s", load_s, RUNS);
    printf("  %-34s %9.1f MiB (after one load)\n", "database size", (double)db_bytes / 1048576.0);

    const char *ops[] = {"lookup", "validate"};
    for (int o = 0; o < 2; o++) {
        double p50[RUNS], p99[RUNS], p999[RUNS];
        for (int i = 0; i < RUNS; i++) {
            s_round_trips(&q, ops[o], codes, n_codes, &p50[i], &p99[i], &p999[i]);
        }
        char what[64];
        snprintf(what, sizeof what, "%s round trip p50", ops[o]);
        s_print3(what, "us", p50, RUNS);
        snprintf(what, sizeof what, "%s round trip p99", ops[o]);
        s_print3(what, "us", p99, RUNS);
        snprintf(what, sizeof what, "%s round trip p99.9", ops[o]);
        s_print3(what, "us", p999, RUNS);
    }
    zmq_close(admin.sock);
    zmq_close(q.sock);
    zmq_ctx_term(s_ctx);
    bench_broker_stop(&b);
    return 0;
}
