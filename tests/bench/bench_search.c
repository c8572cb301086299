/* bench_search: typed-prefix autocomplete on ICD-10-CM FY2021. Every prefix of 30 typical
 * queries (as a person types them, one request per keystroke) is answered
 *   - in-process by the search engine on the broker's LMDB file (server-side time),
 *   - over the wire (tcp loopback, REQ) by codesetd with 1 client and with 8 clients,
 *   - by SQLite FTS5 (Debian's libsqlite3, in-process, in memory) over the same titles,
 *     ranked by bm25 with a top 20,
 * in the same run. Prints p50/p99/max in microseconds. Never passes or fails on time. */
#include <limits.h>
#include <msgpack.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_util.h"
#include "engine/cs_search.h"
#include "load/cs_plugin_host.h"
#include "store/cs_catalog.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_store.h"
#include "util/cs_fold.h"

#define PASSES 5
#define CLIENTS 8
#define MAX_PREFIXES 2048
#define LIMIT 20

static const char *const s_queries[30] = {
    "type 2 diabetes without complications",
    "essential hypertension",
    "chest pain",
    "acute myocardial infarction",
    "chronic obstructive pulmonary disease",
    "urinary tract infection",
    "pneumonia unspecified organism",
    "major depressive disorder single episode",
    "generalized anxiety disorder",
    "low back pain",
    "hyperlipidemia",
    "atrial fibrillation",
    "congestive heart failure",
    "chronic kidney disease stage 3",
    "fracture of neck of right femur",
    "sprain of ankle",
    "migraine without aura",
    "iron deficiency anemia",
    "hypothyroidism",
    "asthma with acute exacerbation",
    "gastro-esophageal reflux disease",
    "osteoarthritis of knee",
    "alzheimer's disease",
    "morbid obesity",
    "vitamin d deficiency",
    "sepsis unspecified organism",
    "cellulitis of left lower limb",
    "sezary disease",
    "E11.65",
    "S72.001A",
};

static char s_prefixes[MAX_PREFIXES][64];
static size_t s_n_prefixes;
static void *s_ctx;
static const char *s_query_ep;

/* Every prefix a person would send: one per keystroke, none ending in a space. */
static void s_make_prefixes(void)
{
    for (size_t i = 0; i < 30; i++) {
        size_t n = strlen(s_queries[i]);
        for (size_t k = 1; k <= n && s_n_prefixes < MAX_PREFIXES; k++) {
            if (s_queries[i][k - 1] == ' ') {
                continue;
            }
            memcpy(s_prefixes[s_n_prefixes], s_queries[i], k);
            s_prefixes[s_n_prefixes][k] = '\0';
            s_n_prefixes++;
        }
    }
}

/* ---- a REQ client ---- */

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

static void s_client_fini(s_client_t *c)
{
    zmq_close(c->sock);
    msgpack_sbuffer_destroy(&c->sb);
    msgpack_unpacked_destroy(&c->up);
    zmq_msg_close(&c->msg);
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

static int s_load(s_client_t *admin, char **files)
{
    msgpack_sbuffer_clear(&admin->sb);
    msgpack_pack_map(&admin->pk, 5);
    s_str(&admin->pk, "op");
    s_str(&admin->pk, "load");
    s_str(&admin->pk, "loader");
    s_str(&admin->pk, "icd10cm-tabular");
    s_str(&admin->pk, "release");
    s_str(&admin->pk, "2021");
    s_str(&admin->pk, "effective_from");
    s_str(&admin->pk, "2020-10-01");
    s_str(&admin->pk, "files");
    msgpack_pack_array(&admin->pk, 2);
    s_str(&admin->pk, files[0]);
    s_str(&admin->pk, files[1]);
    const msgpack_object *job = s_get(s_call(admin), "job");
    if (!job || job->type != MSGPACK_OBJECT_STR) {
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
        const msgpack_object *st = s_get(s_call(admin), "state");
        if (st && st->type == MSGPACK_OBJECT_STR && memcmp(st->via.str.ptr, "running", 7)) {
            return memcmp(st->via.str.ptr, "done", 4) == 0 ? 0 : -1;
        }
    }
}

/* One search round trip; returns the reply's total, or -1. */
static int64_t s_search(s_client_t *c, const char *q)
{
    msgpack_sbuffer_clear(&c->sb);
    msgpack_pack_map(&c->pk, 4);
    s_str(&c->pk, "op");
    s_str(&c->pk, "search");
    s_str(&c->pk, "system");
    s_str(&c->pk, "icd10cm");
    s_str(&c->pk, "q");
    s_str(&c->pk, q);
    s_str(&c->pk, "limit");
    msgpack_pack_int(&c->pk, LIMIT);
    const msgpack_object *r = s_call(c);
    const msgpack_object *ok = s_get(r, "ok");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN || !ok->via.boolean) {
        return -1;
    }
    const msgpack_object *t = s_get(r, "total");
    return t && t->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)t->via.u64 : 0;
}

/* Prints p50/p99/max of lat; returns the p99. */
static double s_report(const char *what, double *lat, size_t n)
{
    double p50 = bench_quantile(lat, n, 0.50);
    double p99 = bench_quantile(lat, n, 0.99);
    double max = bench_quantile(lat, n, 1.0);
    printf("  %-44s p50 %8.1f  p99 %8.1f  max %8.1f us  (n=%zu)\n", what, p50, p99, max, n);
    return p99;
}

/* ---- 8 concurrent clients ---- */

typedef struct s_worker {
    pthread_t thread;
    unsigned seed;
    double *lat;
    double *short_lat; /* the searches of 1- and 2-letter prefixes, again */
    size_t n, n_short;
    int failed;
} s_worker_t;

static void *s_worker_main(void *arg)
{
    s_worker_t *w = arg;
    s_client_t c;
    s_client_init(&c, s_query_ep);
    for (int pass = 0; pass < PASSES; pass++) {
        /* each client types the queries in its own order */
        size_t start = (size_t)rand_r(&w->seed) % s_n_prefixes;
        for (size_t i = 0; i < s_n_prefixes; i++) {
            const char *q = s_prefixes[(start + i) % s_n_prefixes];
            uint64_t t0 = bench_now_ns();
            if (s_search(&c, q) < 0) {
                w->failed = 1;
            }
            w->lat[w->n++] = (double)(bench_now_ns() - t0) / 1000.0;
            if (strlen(q) <= 2) {
                w->short_lat[w->n_short++] = w->lat[w->n - 1];
            }
        }
    }
    s_client_fini(&c);
    return NULL;
}

/* The 8 concurrent clients (lat: room for n_lat latencies per client), against codesetd
 * (broker, whose CPU time is read); prints their figures and returns the p99, or -1, with
 * the CPU per search of each side in cpu[0] (codesetd) and cpu[1] (the clients), in us. */
static double s_eight_clients(pid_t broker, double *lat, size_t n_lat, double cpu[2])
{
    s_worker_t workers[CLIENTS];
    /* CPU per search on each side: the 8 clients (this process) and codesetd share 2 cores */
    double self_cpu0 = bench_cpu_self(), broker_cpu0 = bench_cpu_seconds(broker);
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < CLIENTS; i++) {
        workers[i] = (s_worker_t){.seed = 77u + (unsigned)i, .lat = lat + (size_t)i * n_lat,
                                  .short_lat = calloc(n_lat, sizeof(double))};
        pthread_create(&workers[i].thread, NULL, s_worker_main, &workers[i]);
    }
    size_t total = 0, n_short = 0;
    double *all = calloc(n_lat * CLIENTS, sizeof *all);
    double *shorts = calloc(n_lat * CLIENTS, sizeof *shorts);
    int failed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(workers[i].thread, NULL);
        failed |= workers[i].failed;
        memcpy(all + total, workers[i].lat, workers[i].n * sizeof *all);
        total += workers[i].n;
        memcpy(shorts + n_short, workers[i].short_lat, workers[i].n_short * sizeof *shorts);
        n_short += workers[i].n_short;
        free(workers[i].short_lat);
    }
    double wall = (double)(bench_now_ns() - t0) / 1e9;
    double self_cpu = bench_cpu_self() - self_cpu0;
    double broker_cpu = bench_cpu_seconds(broker) - broker_cpu0;
    double p99 = -1;
    if (failed) {
        fprintf(stderr, "bench_search: a client's search failed\n");
    } else {
        p99 = s_report("codesetd over tcp, 8 concurrent clients", all, total);
        s_report("  of which 1- and 2-letter prefixes", shorts, n_short);
        printf("  %-44s %8.0f searches/s\n", "throughput with 8 clients", (double)total / wall);
        cpu[0] = broker_cpu * 1e6 / (double)total;
        cpu[1] = self_cpu * 1e6 / (double)total;
        printf("  %-44s %8.1f us codesetd, %.1f us the clients (of %.0f us of 2 cores)\n",
               "CPU per search with 8 clients", cpu[0], cpu[1],
               2 * wall * 1e6 / (double)total);
    }
    free(all);
    free(shorts);
    return p99;
}

/* ---- SQLite FTS5 ---- */

/* '"w1"* "w2"* ...' from the same folded words the engine sees. */
static void s_fts_query(const char *q, char *out, size_t cap)
{
    cs_fold_iter_t it;
    cs_fold_iter_init(&it, q, strlen(q));
    char w[CS_FOLD_WORD_MAX + 1];
    size_t wl, n = 0;
    out[0] = '\0';
    while (cs_fold_next(&it, w, &wl, NULL) && n + wl + 5 < cap) {
        n += (size_t)snprintf(out + n, cap - n, "%s\"%s\"*", n ? " " : "", w);
    }
}

static sqlite3 *s_fts_build(cs_reader_t *r, uint32_t rel, double *seconds, size_t *rows)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        return NULL;
    }
    uint64_t t0 = bench_now_ns();
    sqlite3_exec(db, "CREATE VIRTUAL TABLE t USING fts5(code UNINDEXED, title, "
                     "tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4')",
                 NULL, NULL, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO t(code, title) VALUES (?, ?)", -1, &ins, NULL);
    uint8_t pre[CS_KEY_MAX];
    size_t plen = cs_key_release_class(pre, rel, CS_CLASS_CODE);
    cs_val_t k, v;
    int rc = cs_reader_seek(r, CS_DB_CODES, pre, plen, &k, &v);
    *rows = 0;
    while (rc == CS_OK && k.len >= plen && memcmp(k.data, pre, plen) == 0) {
        cs_entry_t e;
        if (cs_entry_decode(v.data, v.len, &e) == CS_OK) {
            sqlite3_bind_text(ins, 1, e.display.ptr, (int)e.display.len, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, e.title.ptr, (int)e.title.len, SQLITE_STATIC);
            sqlite3_step(ins);
            sqlite3_reset(ins);
            (*rows)++;
        }
        rc = cs_reader_next(r, CS_DB_CODES, &k, &v);
    }
    sqlite3_finalize(ins);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    *seconds = (double)(bench_now_ns() - t0) / 1e9;
    return db;
}

int main(void)
{
    char xml[PATH_MAX], order[PATH_MAX], axml[PATH_MAX], aorder[PATH_MAX];
    if (!bench_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml) ||
        !bench_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order) ||
        !realpath(xml, axml) || !realpath(order, aorder)) {
        printf("bench_search: skipped, ICD-10-CM FY2021 not found (../shared/data is absent)\n");
        return 0;
    }
    s_make_prefixes();
    s_ctx = zmq_ctx_new();
    bench_broker_t b;
    s_query_ep = "tcp://127.0.0.1:5611";
    if (bench_broker_start(&b, s_query_ep) != 0) {
        fprintf(stderr, "bench_search: cannot start codesetd\n");
        return 1;
    }
    s_client_t admin, q;
    s_client_init(&admin, b.admin_ep);
    s_client_init(&q, b.query_ep);
    char *files[] = {axml, aorder};
    uint64_t t0 = bench_now_ns();
    if (s_load(&admin, files) != 0) {
        fprintf(stderr, "bench_search: load failed (see %s/codesetd.log)\n", b.dir);
        return 1;
    }
    double load_s = (double)(bench_now_ns() - t0) / 1e9;
    printf("bench_search: ICD-10-CM FY2021, %zu prefixes of 30 queries, limit %d, %d passes\n",
           s_n_prefixes, LIMIT, PASSES);
    printf("  %-44s %8.2f s (wall, index included)\n", "load FY2021 with its search index",
           load_s);
    char logpath[700], line[512];
    snprintf(logpath, sizeof logpath, "%s/codesetd.log", b.dir);
    FILE *lf = fopen(logpath, "r");
    while (lf && fgets(line, sizeof line, lf)) {
        const char *m = strstr(line, "search index of");
        if (m) {
            printf("  broker log: %s", m);
        }
    }
    if (lf) {
        fclose(lf);
    }

    /* The same LMDB file, opened in-process (LMDB allows several processes). */
    cs_error_t err;
    cs_error_clear(&err);
    cs_store_t *st = cs_store_open_ex(b.db, 0, 0, CS_STORE_RDONLY, &err);
    cs_plugin_host_t *host = cs_plugin_host_new();
    char plugin[700];
    const char *build = getenv("CS_BUILD_DIR");
    snprintf(plugin, sizeof plugin, "%s/plugins/icd10cm.so", build && *build ? build : "build");
    if (!st || !host || cs_plugin_host_load_file(host, plugin, &err) != CS_OK) {
        fprintf(stderr, "bench_search: %s\n", err.msg);
        return 1;
    }
    const cs_plugin_desc_t *sys = cs_plugin_host_system(host, "icd10cm", 7);
    cs_reader_t *r = cs_reader_new(st, &err);
    cs_resolved_t rel;
    cs_reader_begin(r);
    if (cs_catalog_newest(r, "icd10cm", 7, &rel) != CS_OK) {
        fprintf(stderr, "bench_search: no release\n");
        return 1;
    }
    uint8_t pre[8];
    size_t plen = cs_key_release(pre, rel.id);
    cs_val_t k, v;
    uint64_t index_bytes = 0, index_keys = 0;
    int rc = cs_reader_seek(r, CS_DB_SEARCH, pre, plen, &k, &v);
    while (rc == CS_OK && k.len >= plen && memcmp(k.data, pre, plen) == 0) {
        index_bytes += k.len + v.len;
        index_keys++;
        rc = cs_reader_next(r, CS_DB_SEARCH, &k, &v);
    }
    printf("  %-44s %8.2f MiB in %llu keys (key + value bytes)\n", "search index size",
           (double)index_bytes / 1048576.0, (unsigned long long)index_keys);
    printf("  %-44s %8.2f MiB\n", "whole database file in use",
           (double)cs_store_used_bytes(st) / 1048576.0);

    size_t n_lat = s_n_prefixes * PASSES;
    double *lat = calloc(n_lat * CLIENTS, sizeof *lat);
    cs_search_result_t *res = malloc(sizeof *res);

    /* 1. server-side time: the engine in-process, one snapshot per query and buffers kept
     * from one query to the next as the broker does (no result cache) */
    cs_search_scratch_t *scratch = cs_search_scratch_new();
    size_t n = 0;
    uint64_t matches = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        for (size_t i = 0; i < s_n_prefixes; i++) {
            cs_search_query_t sq = {.q = s_prefixes[i], .q_len = strlen(s_prefixes[i]),
                                    .sys = sys->system, .limit = LIMIT};
            cs_reader_end(r);
            uint64_t t = bench_now_ns();
            cs_reader_begin(r);
            cs_search_run_in(r, rel.id, &sq, scratch, res, &err);
            lat[n++] = (double)(bench_now_ns() - t) / 1000.0;
            matches += pass == 0 ? res->total : 0;
        }
    }
    s_report("codeset engine, in-process (server-side)", lat, n);
    /* the slowest prefixes, to show where the time goes */
    double worst[3] = {0};
    const char *worst_q[3] = {"", "", ""};
    for (size_t i = 0; i < s_n_prefixes; i++) {
        cs_search_query_t sq = {.q = s_prefixes[i], .q_len = strlen(s_prefixes[i]),
                                .sys = sys->system, .limit = LIMIT};
        uint64_t t = bench_now_ns();
        cs_search_run_in(r, rel.id, &sq, scratch, res, &err);
        double us = (double)(bench_now_ns() - t) / 1000.0;
        for (int j = 0; j < 3; j++) {
            if (us > worst[j]) {
                for (int m = 2; m > j; m--) {
                    worst[m] = worst[m - 1];
                    worst_q[m] = worst_q[m - 1];
                }
                worst[j] = us;
                worst_q[j] = s_prefixes[i];
                break;
            }
        }
    }
    printf("  %-44s '%s' %.0f us, '%s' %.0f us, '%s' %.0f us\n", "slowest prefixes (engine)",
           worst_q[0], worst[0], worst_q[1], worst[1], worst_q[2], worst[2]);
    cs_reader_end(r);

    /* 2. SQLite FTS5 over the same titles, in-process */
    double fts_s = 0;
    size_t rows = 0;
    cs_reader_begin(r);
    sqlite3 *db = s_fts_build(r, rel.id, &fts_s, &rows);
    cs_reader_end(r);
    printf("  %-44s %8.2f s for %zu titles (SQLite %s)\n", "FTS5 build, in memory", fts_s, rows,
           sqlite3_libversion());
    sqlite3_stmt *stmt = NULL;
    sqlite3_prepare_v2(db, "SELECT code, title FROM t WHERE t MATCH ? ORDER BY rank LIMIT 20",
                       -1, &stmt, NULL);
    n = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        for (size_t i = 0; i < s_n_prefixes; i++) {
            char fq[512];
            s_fts_query(s_prefixes[i], fq, sizeof fq);
            uint64_t t = bench_now_ns();
            sqlite3_bind_text(stmt, 1, fq, -1, SQLITE_TRANSIENT);
            while (sqlite3_step(stmt) == SQLITE_ROW) {
                (void)sqlite3_column_text(stmt, 0);
            }
            sqlite3_reset(stmt);
            lat[n++] = (double)(bench_now_ns() - t) / 1000.0;
        }
    }
    s_report("SQLite FTS5 bm25 top 20, in-process", lat, n);
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    /* 3. over the wire, 1 client */
    n = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        for (size_t i = 0; i < s_n_prefixes; i++) {
            uint64_t t = bench_now_ns();
            if (s_search(&q, s_prefixes[i]) < 0) {
                fprintf(stderr, "bench_search: search '%s' failed\n", s_prefixes[i]);
                return 1;
            }
            lat[n++] = (double)(bench_now_ns() - t) / 1000.0;
        }
    }
    double one_p99 = s_report("codesetd over tcp, 1 client", lat, n);

    /* 4. over the wire, 8 concurrent clients */
    double cpu[2] = {0, 0};
    double eight_p99 = s_eight_clients(b.pid, lat, n_lat, cpu);
    if (eight_p99 < 0) {
        return 1;
    }

    /* the broker's own view (decode + engine + pack, per op since start) */
    msgpack_sbuffer_clear(&q.sb);
    msgpack_pack_map(&q.pk, 1);
    s_str(&q.pk, "op");
    s_str(&q.pk, "stats");
    const msgpack_object *lat_map = s_get(s_get(s_call(&q), "latency_us"), "search");
    const msgpack_object *sp50 = s_get(lat_map, "p50"), *sp99 = s_get(lat_map, "p99");
    if (sp50 && sp99 && sp50->type == MSGPACK_OBJECT_FLOAT64) {
        printf("  %-44s p50 %8.1f  p99 %8.1f us\n", "broker stats op, search (server-side)",
               sp50->via.f64, sp99->via.f64);
    }
    printf("  (%llu matches over the %zu prefixes of one pass)\n", (unsigned long long)matches,
           s_n_prefixes);
    char floor[64];
    bench_goal_head("issue 19 section 4, search (quantiles over every query of the run)");
    snprintf(floor, sizeof floor, "1 client p99 %.0f us; CPU/search %.0f+%.0f us", one_p99,
             cpu[0], cpu[1]);
    bench_goal("search p99, 8 concurrent clients over tcp", eight_p99, " us", "<=", 1000, floor);

    free(lat);
    free(res);
    cs_search_scratch_destroy(&scratch);
    cs_reader_destroy(&r);
    cs_store_destroy(&st);
    cs_plugin_host_destroy(&host);
    s_client_fini(&admin);
    s_client_fini(&q);
    zmq_ctx_term(s_ctx);
    bench_broker_stop(&b);
    return 0;
}
