/* bench_broker: the performance figures of issues 7 and 19, measured in one run so the ratios
 * compare like with like on a shared, noisy machine:
 *   floors    a bare ZeroMQ round trip (ROUTER echo in its own process, the lookup's own
 *             request and reply bytes), an LMDB get on the FY2021 codes, msgpack
 *             encode + decode of a lookup request;
 *   codesetd  FY2021 loaded through the admin endpoint; lookup and one-code validate round
 *             trips (1 REQ client, tcp loopback), pipelined lookups (DEALER, 100 and 1,000 in
 *             flight; run for run in turn with the bare echo's, which share their ratio),
 *             4 and 16 concurrent clients, batch validation (100 and 1,000 codes);
 *             its memory beside the LMDB map;
 *   Redis     redis-server (its own, on a free port, no persistence) holding the same
 *             code -> title keys: GET at 1 client, pipelined GET (100 in flight), MGET 100;
 *   embedded  codeset.h over the same file: lookup (direct and through the engine), a
 *             1,000-code validate.
 * Every figure is min / median / max over RUNS runs; the summary uses medians. Never passes
 * or fails on time. */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <lmdb.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "../embed_engine.h"
#include "bench_redis.h"
#include "codeset_client.h"
#include "bench_util.h"
#include "codeset/codeset.h"
#include "engine/cs_embed.h"
#include "wire/cs_proto.h"

#define RUNS 5
#define MAX_CODES 100000
#define SYNC_N 20000       /* round trips per run, 1 client */
#define PIPE_N 100000      /* replies per pipelined run */
#define CONC_N 24000       /* round trips per run, shared by the concurrent clients */
#define BATCH_CODES 200000 /* codes validated per batch run */
#define FLOOR_N 1000000    /* in-process operations per floor run */
#define EMBED_N 500000     /* embedded lookups per run */

static bench_code_t s_codes[MAX_CODES];
static size_t s_n_codes;
static void *s_ctx;
static double s_lat[SYNC_N > CONC_N ? SYNC_N : CONC_N];

/* Medians the summary needs, by name. */
static struct {
    double zmq_p50, zmq_pipe100, lookup_p50, pipe100, pipe1000, batch1000, mget_keys;
    double redis_pipe100;
    double embed_ns, embed_hot_ns, lmdb_get_ns, lmdb_renew_ns, load_s, rss_beside;
    double embed_wide_ns;    /* random codes read from s_codes' 244-byte records */
    double embed_title_ns;   /* random codes, each answer's title read */
    double anon, redis_anon; /* RssAnon, MiB */
    double async100;         /* libcsclient's asynchronous lookups, 100 outstanding */
    double client_p50;       /* cs_client_lookup, synchronous, the library's defaults */
    double zmq_pipe1000;     /* the bare echo, 1,000 in flight */
    double redis_p50;        /* Redis GET round trip */
    /* the same through a broker of --front zmq (libzmq's I/O thread serves the endpoint) */
    double z_lookup_p50, z_client_p50, z_pipe100, z_pipe1000, z_async100;
} s_sum;

/* The machine is shared: print the load average beside the figures it disturbs. */
static void s_loadavg(const char *when)
{
    char buf[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f)) {
            buf[0] = '\0';
        }
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
    printf("  (load average %s: %s)\n", when, buf);
}

/* p50 / p99 / p99.9 of RUNS runs of n latencies each: one line per quantile. */
static void s_quantiles(const char *what, double runs[RUNS][3], double *p50_med)
{
    static const char *const names[3] = {"p50", "p99", "p99.9"};
    for (int q = 0; q < 3; q++) {
        double v[RUNS];
        for (int i = 0; i < RUNS; i++) {
            v[i] = runs[i][q];
        }
        char line[96];
        snprintf(line, sizeof line, "%s %s", what, names[q]);
        double med = bench_print3(line, "us", v, RUNS);
        if (q == 0 && p50_med) {
            *p50_med = med;
        }
    }
}

static void s_lat_quantiles(double *lat, size_t n, double out[3])
{
    out[0] = bench_quantile(lat, n, 0.50);
    out[1] = bench_quantile(lat, n, 0.99);
    out[2] = bench_quantile(lat, n, 0.999);
}

/* ---- floors in-process ---- */

static void s_floor_msgpack(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_zone zone;
    msgpack_zone_init(&zone, 4096);
    double ns[RUNS], dec_ns[RUNS];
    unsigned seed = 7;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < FLOOR_N; i++) {
            msgpack_sbuffer_clear(&sb);
            msgpack_pack_map(&pk, 3);
            bench_pack_str(&pk, "op");
            bench_pack_str(&pk, "lookup");
            bench_pack_str(&pk, "system");
            bench_pack_str(&pk, "icd10cm");
            bench_pack_str(&pk, "code");
            bench_pack_str(&pk, s_codes[(size_t)rand_r(&seed) % s_n_codes].code);
            msgpack_zone_clear(&zone);
            msgpack_object obj;
            size_t off = 0;
            if (msgpack_unpack(sb.data, sb.size, &off, &zone, &obj) != MSGPACK_UNPACK_SUCCESS) {
                abort();
            }
        }
        ns[r] = (double)(bench_now_ns() - t0) / FLOOR_N;
        /* the broker's own edge: prescan, unpack, schema checks into a cs_request_t */
        cs_request_t req;
        cs_request_init(&req);
        cs_error_t err;
        t0 = bench_now_ns();
        for (int i = 0; i < FLOOR_N / 4; i++) {
            if (cs_request_decode(&req, sb.data, sb.size, &err) != CS_PERR_NONE) {
                abort();
            }
            cs_request_release(&req);
        }
        dec_ns[r] = (double)(bench_now_ns() - t0) / (FLOOR_N / 4);
    }
    bench_print3("msgpack encode+decode of a lookup request", "ns", ns, RUNS);
    bench_print3("(cs_request_decode: prescan+unpack+schema)", "ns", dec_ns, RUNS);
    msgpack_zone_destroy(&zone);
    msgpack_sbuffer_destroy(&sb);
}

/* mdb_get of random FY2021 code keys, in one read transaction and with a renew/reset per
 * get (what one request pays). Opens the broker's file read-only, then closes it again:
 * one environment per process at a time. */
static void s_floor_lmdb(const char *dbdir)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_cursor *cur = NULL;
    /* the handle is opened in a transaction of its own and committed: a handle opened in a
     * read transaction that is only reset is gone after the renew */
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16) ||
        mdb_env_open(env, dbdir, MDB_RDONLY | MDB_NOTLS, 0600) ||
        mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) || mdb_dbi_open(txn, "codes", 0, &dbi) ||
        mdb_txn_commit(txn) || mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) ||
        mdb_cursor_open(txn, dbi, &cur)) {
        fprintf(stderr, "bench: cannot open %s with LMDB\n", dbdir);
        exit(1);
    }
    /* every key of class code, [release u32][class u8 = 3][code], of the newest release id
     * (a replaced release may still be being purged, and its keys vanish between runs) */
    size_t cap = 200000, n = 0;
    char(*keys)[24] = malloc(cap * sizeof *keys);
    size_t *klen = malloc(cap * sizeof *klen);
    MDB_val k, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    uint8_t newest[4] = {0, 0, 0, 0};
    while (rc == 0 && n < cap) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size > 5 && k.mv_size <= 24 && kb[4] == 3) {
            if (memcmp(kb, newest, 4) > 0) {
                memcpy(newest, kb, 4);
                n = 0;
            }
            memcpy(keys[n], k.mv_data, k.mv_size);
            klen[n++] = k.mv_size;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    double in_txn[RUNS], per_req[RUNS];
    unsigned seed = 11;
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < FLOOR_N; i++) {
            size_t j = (size_t)rand_r(&seed) % n;
            MDB_val key = {klen[j], keys[j]};
            int grc = mdb_get(txn, dbi, &key, &v);
            if (grc != 0) {
                fprintf(stderr, "bench: mdb_get: %s\n", mdb_strerror(grc));
                exit(1);
            }
        }
        in_txn[r] = (double)(bench_now_ns() - t0) / FLOOR_N;
        t0 = bench_now_ns();
        for (int i = 0; i < FLOOR_N / 4; i++) {
            size_t j = (size_t)rand_r(&seed) % n;
            MDB_val key = {klen[j], keys[j]};
            mdb_txn_reset(txn);
            int grc = mdb_txn_renew(txn);
            grc = grc ? grc : mdb_get(txn, dbi, &key, &v);
            if (grc != 0) {
                fprintf(stderr, "bench: renew + mdb_get: %s\n", mdb_strerror(grc));
                exit(1);
            }
        }
        per_req[r] = (double)(bench_now_ns() - t0) / (FLOOR_N / 4);
    }
    char what[96];
    snprintf(what, sizeof what, "LMDB mdb_get, random keys (%zu codes)", n);
    s_sum.lmdb_get_ns = bench_print3(what, "ns", in_txn, RUNS);
    s_sum.lmdb_renew_ns = bench_print3("LMDB txn reset+renew+mdb_get", "ns", per_req, RUNS);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    free(keys);
    free(klen);
}

/* ---- Redis ---- */

static void s_redis(void)
{
    char exe[PATH_MAX];
    if (!bench_find_exe("redis-server", exe, sizeof exe)) {
        printf("  redis-server not found (apt-get install redis-server): Redis skipped\n");
        return;
    }
    int port = bench_free_port();
    pid_t pid = bench_redis_start(exe, port);
    redisContext *c = bench_redis_connect(port);
    if (!c) {
        printf("  redis-server did not answer on port %d: Redis skipped\n", port);
        bench_child_stop(pid);
        return;
    }
    /* the same code -> title pairs the broker holds, loaded by pipelined SETs */
    if (bench_redis_fill(c, s_codes, s_n_codes) != 0) {
        fprintf(stderr, "bench: redis SET failed\n");
        exit(1);
    }
    redisReply *dbsize = redisCommand(c, "DBSIZE");
    printf("  redis-server %s on port %d, %lld keys\n", exe, port,
           dbsize ? dbsize->integer : -1LL);
    freeReplyObject(dbsize);

    double runs[RUNS][3], pipe[RUNS], mget[RUNS];
    unsigned seed = 21;
    for (int r = 0; r < RUNS; r++) {
        for (int i = 0; i < SYNC_N; i++) {
            const char *code = s_codes[(size_t)rand_r(&seed) % s_n_codes].code;
            uint64_t t0 = bench_now_ns();
            redisReply *rep = redisCommand(c, "GET %s", code);
            s_lat[i] = (double)(bench_now_ns() - t0) / 1000.0;
            if (!rep || rep->type != REDIS_REPLY_STRING) {
                fprintf(stderr, "bench: redis GET %s failed\n", code);
                exit(1);
            }
            freeReplyObject(rep);
        }
        s_lat_quantiles(s_lat, SYNC_N, runs[r]);
        /* 100 in flight: top the window up with as many GETs as replies came back */
        uint64_t t0 = bench_now_ns();
        size_t sent = 0, got = 0;
        while (got < PIPE_N) {
            while (sent < PIPE_N && sent - got < 100) {
                redisAppendCommand(c, "GET %s", s_codes[(size_t)rand_r(&seed) % s_n_codes].code);
                sent++;
            }
            long n = bench_redis_drain(c);
            if (n < 0) {
                fprintf(stderr, "bench: redis pipeline failed\n");
                exit(1);
            }
            got += (size_t)n;
        }
        pipe[r] = PIPE_N / ((double)(bench_now_ns() - t0) / 1e9);
        const char *argv[101];
        size_t lens[101];
        argv[0] = "MGET";
        lens[0] = 4;
        size_t n_mget = BATCH_CODES / 100;
        t0 = bench_now_ns();
        for (size_t m = 0; m < n_mget; m++) {
            for (int k = 1; k <= 100; k++) {
                argv[k] = s_codes[(size_t)rand_r(&seed) % s_n_codes].code;
                lens[k] = strlen(argv[k]);
            }
            redisReply *rep = redisCommandArgv(c, 101, argv, lens);
            if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 100) {
                fprintf(stderr, "bench: redis MGET failed\n");
                exit(1);
            }
            freeReplyObject(rep);
        }
        mget[r] = (double)(n_mget * 100) / ((double)(bench_now_ns() - t0) / 1e9);
    }
    s_quantiles("Redis GET round trip, 1 client", runs, &s_sum.redis_p50);
    s_sum.redis_pipe100 = bench_print3("Redis pipelined GET, 100 in flight", "GET/s", pipe, RUNS);
    s_sum.mget_keys = bench_print3("Redis MGET of 100 keys", "keys/s", mget, RUNS);
    double rss, unused;
    if (bench_rss(pid, "(none)", &rss, &unused) == 0) {
        printf("  %-46s %11.1f MiB\n", "redis-server VmRSS (95,358 keys)", rss / 1048576.0);
    }
    s_sum.redis_anon = bench_rss_anon(pid) / 1048576.0;
    printf("  %-46s %11.1f MiB\n", "redis-server RssAnon (95,358 keys)", s_sum.redis_anon);
    redisFree(c);
    bench_child_stop(pid);
}

/* ---- embedded ---- */

/* The codes the embedded random lookups ask for, 8 bytes each (763 KB for FY2021). An
 * application looking a code up has it in hand: it has just read it. Taken from s_codes,
 * whose 244-byte records make a 23 MB array, each lookup's code was a cache miss of the
 * bench's own, the first of three in a row; that shape is still printed, as context. */
static char s_keys[MAX_CODES][8];
static volatile unsigned s_sink; /* the titles' bytes read, kept so the reads stay */

/* Mean ns of EMBED_N lookups of random codes, each from s_keys or (wide) from s_codes, and
 * with read_title, the first and last bytes of each answer's title read, as an application
 * showing it does (a lookup lends the title without reading it). */
static double s_embed_random(cs_db_t *db, unsigned *seed, int wide, int read_title)
{
    cs_db_entry_t e;
    cs_error_t err;
    unsigned sink = 0;
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < EMBED_N; i++) {
        size_t j = (size_t)rand_r(seed) % s_n_codes;
        if (cs_db_lookup(db, "icd10cm", wide ? s_codes[j].code : s_keys[j], NULL, &e, &err) !=
                CS_OK ||
            !e.found) {
            fprintf(stderr, "bench: embedded lookup failed: %s\n", err.msg);
            exit(1);
        }
        if (read_title) {
            sink += (unsigned char)e.title.ptr[0] + (unsigned char)e.title.ptr[e.title.len - 1];
        }
    }
    double ns = (double)(bench_now_ns() - t0) / EMBED_N;
    s_sink += sink;
    return ns;
}

static void s_embedded(const char *dbdir)
{
    char plugins[PATH_MAX];
    const char *build = getenv("CS_BUILD_DIR");
    snprintf(plugins, sizeof plugins, "%s/plugins", build && *build ? build : "build");
    cs_error_t err;
    cs_db_t *db = cs_db_open(dbdir, plugins, &err);
    if (!db) {
        fprintf(stderr, "bench: cs_db_open: %s\n", err.msg);
        exit(1);
    }
    double direct[RUNS], wide[RUNS], title[RUNS], hot[RUNS], engine[RUNS], batch_us[RUNS];
    double batch_cps[RUNS];
    for (size_t i = 0; i < s_n_codes; i++) {
        memcpy(s_keys[i], s_codes[i].code, sizeof s_keys[i]);
    }
    static const char *batch[1000];
    unsigned seed = 31;
    for (int i = 0; i < 1000; i++) {
        size_t j;
        do {
            j = (size_t)rand_r(&seed) % s_n_codes;
        } while (!s_codes[j].billable);
        batch[i] = s_codes[j].code;
    }
    for (int r = 0; r < RUNS; r++) {
        cs_db_entry_t e;
        direct[r] = s_embed_random(db, &seed, 0, 0);
        wide[r] = s_embed_random(db, &seed, 1, 0);
        title[r] = s_embed_random(db, &seed, 0, 1);
        /* a coding tool's working set: the same 1,000 codes over and over, cache-warm */
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < EMBED_N; i++) {
            if (cs_db_lookup(db, "icd10cm", batch[i % 1000], NULL, &e, &err) != CS_OK) {
                fprintf(stderr, "bench: embedded lookup failed: %s\n", err.msg);
                exit(1);
            }
        }
        hot[r] = (double)(bench_now_ns() - t0) / EMBED_N;
        t0 = bench_now_ns();
        for (int i = 0; i < EMBED_N / 5; i++) {
            if (cs_embed_lookup_engine(db, "icd10cm",
                                       s_codes[(size_t)rand_r(&seed) % s_n_codes].code, NULL,
                                       &e, &err) != CS_OK ||
                !e.found) {
                fprintf(stderr, "bench: embedded lookup failed: %s\n", err.msg);
                exit(1);
            }
        }
        engine[r] = (double)(bench_now_ns() - t0) / (EMBED_N / 5);
        const cs_db_result_t *res;
        cs_db_str_t rel;
        int n_batches = 200;
        t0 = bench_now_ns();
        for (int i = 0; i < n_batches; i++) {
            if (cs_db_validate(db, "icd10cm", batch, 1000, NULL, &res, &rel, &err) != CS_OK ||
                !res[999].valid) {
                fprintf(stderr, "bench: embedded validate failed: %s\n", err.msg);
                exit(1);
            }
        }
        double secs = (double)(bench_now_ns() - t0) / 1e9;
        batch_us[r] = secs * 1e6 / n_batches;
        batch_cps[r] = n_batches * 1000.0 / secs;
    }
    s_sum.embed_ns = bench_print3("embedded cs_db_lookup, random codes", "ns", direct, RUNS);
    s_sum.embed_wide_ns = bench_print3("(the same, codes read from 244-byte records)", "ns", wide,
                                       RUNS);
    s_sum.embed_title_ns = bench_print3("(the same, each answer's title read)", "ns", title,
                                        RUNS);
    s_sum.embed_hot_ns = bench_print3("embedded cs_db_lookup, a 1,000-code working set", "ns",
                                      hot, RUNS);
    bench_print3("embedded lookup via engine + msgpack, random", "ns", engine, RUNS);
    bench_print3("embedded cs_db_validate, 1,000 codes", "us", batch_us, RUNS);
    bench_print3("embedded cs_db_validate, 1,000 codes", "codes/s", batch_cps, RUNS);
    cs_db_close(&db);
}

/* ---- the broker ---- */

static double s_db_bytes(bench_conn_t *q)
{
    msgpack_sbuffer_clear(&q->sb);
    msgpack_pack_map(&q->pk, 1);
    bench_pack_str(&q->pk, "op");
    bench_pack_str(&q->pk, "stats");
    const msgpack_object *b = bench_get(bench_call(q, NULL, 0), "db_bytes");
    return b ? (double)b->via.u64 : 0;
}

static void s_sync_section(bench_conn_t *q, const char *what, const bench_body_t *bodies,
                           size_t nb, double *p50_med)
{
    double runs[RUNS][3];
    for (int r = 0; r < RUNS; r++) {
        if (bench_sync(q, bodies, nb, SYNC_N, s_lat) != 0) {
            exit(1);
        }
        s_lat_quantiles(s_lat, SYNC_N, runs[r]);
    }
    s_quantiles(what, runs, p50_med);
}

static double s_pipe_section(const char *ep, const char *what, const bench_body_t *bodies,
                             size_t nb, size_t window)
{
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) {
        v[r] = bench_pipeline(s_ctx, ep, bodies, nb, window, PIPE_N);
        if (v[r] < 0) {
            exit(1);
        }
    }
    return bench_print3(what, "replies/s", v, RUNS);
}

/* The floor's echo, serving from s_zmq_floor to the end of the broker's section, so that
 * the pipelines of the two take turns. */
static char s_echo_ep[64];
static pid_t s_echo_pid;

/* The broker's pipelined lookups and the bare echo's, run for run in turn (echo, broker,
 * echo, ...): a drift of the shared machine's speed over the seconds the two take moves
 * both figures alike, and their ratio (19.1) is of runs side by side. */
static void s_pipe_pair(const char *ep, const bench_body_t *bodies, size_t nb, size_t window,
                        const char *what, const char *echo_what, double *med,
                        double *echo_med)
{
    double v[RUNS], e[RUNS];
    for (int r = 0; r < RUNS; r++) {
        e[r] = bench_pipeline(s_ctx, s_echo_ep, bodies, nb, window, PIPE_N);
        v[r] = bench_pipeline(s_ctx, ep, bodies, nb, window, PIPE_N);
        if (v[r] < 0 || e[r] < 0) {
            exit(1);
        }
    }
    *echo_med = bench_print3(echo_what, "replies/s", e, RUNS);
    *med = bench_print3(what, "replies/s", v, RUNS);
}

/* 100 outstanding single-code lookups through libcsclient's asynchronous calls, as an
 * application keeps them: wait for the oldest, read it, make a new one. The calls waiting
 * together go out coalesced, up to `coalesce` a batch message. */
static double s_async_section(const char *ep, size_t window, unsigned coalesce,
                              const char *who)
{
    const char *eps[] = {ep};
    cs_client_error_t err;
    cs_client_t *c = cs_client_new(eps, 1, NULL, &err);
    if (!c || cs_client_set_coalesce(c, coalesce) != CS_CLIENT_OK) {
        fprintf(stderr, "bench: cs_client_new: %s\n", c ? "bad coalesce" : err.message);
        exit(1);
    }
    static cs_client_call_t *ring[1000];
    unsigned seed = 41;
    double v[RUNS];
    for (int r = 0; r < RUNS; r++) {
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < window && i < PIPE_N; i++) {
            cs_client_lookup_async(c, "icd10cm", s_codes[(size_t)rand_r(&seed) % s_n_codes].code,
                                   0, NULL, &ring[i]);
        }
        for (size_t done = 0; done < PIPE_N; done++) {
            cs_client_call_t **slot = &ring[done % window];
            const cs_client_lookup_t *l = cs_client_wait(c, *slot) == CS_CLIENT_OK
                                              ? cs_client_call_lookup(*slot)
                                              : NULL;
            if (!l || !l->found) {
                fprintf(stderr, "bench: an asynchronous lookup failed: %s\n",
                        cs_client_last_error(c)->message);
                exit(1);
            }
            cs_client_call_destroy(slot);
            if (done + window < PIPE_N) {
                cs_client_lookup_async(c, "icd10cm",
                                       s_codes[(size_t)rand_r(&seed) % s_n_codes].code, 0, NULL,
                                       slot);
            }
        }
        v[r] = PIPE_N / ((double)(bench_now_ns() - t0) / 1e9);
    }
    cs_client_destroy(&c);
    char what[96];
    snprintf(what, sizeof what, "%slibcsclient async lookups, %zu out, %u a batch", who,
             window, coalesce);
    return bench_print3(what, "lookups/s", v, RUNS);
}

/* Synchronous cs_client_lookup round trips through libcsclient, both ends with their
 * defaults (issue 19, section 2; bench_rtt sets the knobs beside each other). */
static void s_client_section(const char *ep, const char *who, double *p50_med)
{
    const char *eps[] = {ep};
    cs_client_error_t err;
    cs_client_t *c = cs_client_new(eps, 1, NULL, &err);
    if (!c) {
        fprintf(stderr, "bench: cs_client_new: %s\n", err.message);
        exit(1);
    }
    unsigned seed = 43;
    double runs[RUNS][3];
    for (int r = 0; r < RUNS; r++) {
        for (size_t i = 0; i < SYNC_N; i++) {
            cs_client_lookup_t *l = NULL;
            uint64_t t0 = bench_now_ns();
            int rc = cs_client_lookup(c, "icd10cm", s_codes[(size_t)rand_r(&seed) % s_n_codes].code,
                                      0, NULL, &l);
            s_lat[i] = (double)(bench_now_ns() - t0) / 1000.0;
            if (rc != CS_CLIENT_OK || !l || !l->found) {
                fprintf(stderr, "bench: cs_client_lookup failed: %s\n",
                        cs_client_last_error(c)->message);
                exit(1);
            }
            cs_client_lookup_destroy(&l);
        }
        s_lat_quantiles(s_lat, SYNC_N, runs[r]);
    }
    cs_client_destroy(&c);
    char what[96];
    snprintf(what, sizeof what, "%scs_client_lookup round trip (libcsclient)", who);
    s_quantiles(what, runs, p50_med);
}

static void s_broker_section(bench_broker_t *b, bench_conn_t *q)
{
    bench_body_t *lookups = bench_code_bodies("lookup", s_codes, s_n_codes, SYNC_N, 0, 0, 1);
    bench_body_t *validates = bench_code_bodies("validate", s_codes, s_n_codes, SYNC_N, 0, 0,
                                                2);
    bench_body_t *ided = bench_code_bodies("lookup", s_codes, s_n_codes, PIPE_N, 1, 0, 3);
    s_sync_section(q, "lookup round trip, 1 client", lookups, SYNC_N, &s_sum.lookup_p50);
    s_client_section(b->query_ep, "", &s_sum.client_p50);
    s_sync_section(q, "validate (1 code) round trip, 1 client", validates, SYNC_N, NULL);
    s_pipe_pair(b->query_ep, ided, PIPE_N, 100, "pipelined lookups, 100 in flight",
                "bare ZeroMQ pipelined, 100 in flight (in turn)", &s_sum.pipe100,
                &s_sum.zmq_pipe100);
    s_pipe_pair(b->query_ep, ided, PIPE_N, 1000, "pipelined lookups, 1,000 in flight",
                "bare ZeroMQ pipelined, 1,000 in flight (in turn)", &s_sum.pipe1000,
                &s_sum.zmq_pipe1000);
    bench_child_stop(s_echo_pid);
    s_echo_pid = 0;
    s_sum.async100 = s_async_section(b->query_ep, 100, 64, ""); /* the library's default */
    s_async_section(b->query_ep, 100, 8, "");
    s_async_section(b->query_ep, 100, 32, "");
    s_async_section(b->query_ep, 100, 100, "");
    int clients[2] = {4, 16};
    for (int k = 0; k < 2; k++) {
        double rate[RUNS], p50[RUNS], p99[RUNS];
        for (int r = 0; r < RUNS; r++) {
            rate[r] = bench_concurrent(s_ctx, b->query_ep, lookups, SYNC_N, clients[k], CONC_N,
                                       s_lat);
            if (rate[r] < 0) {
                exit(1);
            }
            size_t n = CONC_N / (size_t)clients[k] * (size_t)clients[k];
            p50[r] = bench_quantile(s_lat, n, 0.50);
            p99[r] = bench_quantile(s_lat, n, 0.99);
        }
        char what[96];
        snprintf(what, sizeof what, "%d concurrent clients, lookups (aggregate)", clients[k]);
        bench_print3(what, "req/s", rate, RUNS);
        snprintf(what, sizeof what, "%d concurrent clients, lookup p50", clients[k]);
        bench_print3(what, "us", p50, RUNS);
        snprintf(what, sizeof what, "%d concurrent clients, lookup p99", clients[k]);
        bench_print3(what, "us", p99, RUNS);
    }
    size_t sizes[2] = {100, 1000};
    for (int k = 0; k < 2; k++) {
        size_t n_req = BATCH_CODES / sizes[k];
        bench_body_t *batches = bench_batch_bodies(s_codes, s_n_codes, 50, sizes[k], 4);
        double cps[RUNS];
        for (int r = 0; r < RUNS; r++) {
            uint64_t t0 = bench_now_ns();
            for (size_t i = 0; i < n_req; i++) {
                const msgpack_object *rep = bench_call(q, batches[i % 50].data,
                                                       batches[i % 50].len);
                const msgpack_object *res = bench_get(rep, "results");
                if (!res || res->type != MSGPACK_OBJECT_ARRAY ||
                    res->via.array.size != sizes[k]) {
                    fprintf(stderr, "bench: batch validate failed\n");
                    exit(1);
                }
            }
            cps[r] = (double)BATCH_CODES / ((double)(bench_now_ns() - t0) / 1e9);
        }
        char what[96];
        snprintf(what, sizeof what, "batch validate, %zu billable codes a request", sizes[k]);
        double med = bench_print3(what, "codes/s", cps, RUNS);
        if (sizes[k] == 1000) {
            s_sum.batch1000 = med;
        }
        bench_bodies_free(batches, 50);
    }
    double rss, map_rss;
    if (bench_rss(b->pid, "/data.mdb", &rss, &map_rss) == 0) {
        s_sum.rss_beside = (rss - map_rss) / 1048576.0;
        printf("  %-46s %11.1f MiB (VmRSS %.1f MiB, data.mdb resident %.1f MiB)\n",
               "codesetd RSS beside the map", s_sum.rss_beside, rss / 1048576.0,
               map_rss / 1048576.0);
    }
    s_sum.anon = bench_rss_anon(b->pid) / 1048576.0;
    printf("  %-46s %11.1f MiB\n", "codesetd RssAnon (after its loads, serving)", s_sum.anon);
    bench_bodies_free(lookups, SYNC_N);
    bench_bodies_free(validates, SYNC_N);
    bench_bodies_free(ided, PIPE_N);
}

/* The round trips and the pipelines again, through a second broker whose query endpoint
 * libzmq's I/O thread serves (--front zmq, the default before issue 19), FY2021 loaded into
 * it once. */
static void s_zmq_front_section(const char *const *files)
{
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
    static const char *const zmq_front[] = {"--front", "zmq", NULL};
    bench_broker_t b;
    if (bench_broker_start_args(&b, ep, zmq_front) != 0) {
        fprintf(stderr, "bench: cannot start codesetd --front zmq\n");
        exit(1);
    }
    bench_conn_t admin, q;
    bench_conn_open(&admin, s_ctx, ZMQ_REQ, b.admin_ep);
    bench_conn_open(&q, s_ctx, ZMQ_REQ, b.query_ep);
    if (bench_wait_ping(&q, 10000) != 0 || bench_load(&admin, "icd10cm-tabular", "2021", files,
                                                      2) < 0) {
        fprintf(stderr, "bench: codesetd --front zmq did not take the release\n");
        exit(1);
    }
    bench_body_t *lookups = bench_code_bodies("lookup", s_codes, s_n_codes, SYNC_N, 0, 0, 1);
    bench_body_t *ided = bench_code_bodies("lookup", s_codes, s_n_codes, PIPE_N, 1, 0, 3);
    s_sync_section(&q, "zmq: lookup round trip, 1 client", lookups, SYNC_N,
                   &s_sum.z_lookup_p50);
    s_client_section(b.query_ep, "zmq: ", &s_sum.z_client_p50);
    s_sum.z_pipe100 = s_pipe_section(b.query_ep, "zmq: pipelined lookups, 100 in flight",
                                     ided, PIPE_N, 100);
    s_sum.z_pipe1000 = s_pipe_section(b.query_ep, "zmq: pipelined lookups, 1,000 in flight",
                                      ided, PIPE_N, 1000);
    s_sum.z_async100 = s_async_section(b.query_ep, 100, 64, "zmq: ");
    bench_bodies_free(lookups, SYNC_N);
    bench_bodies_free(ided, PIPE_N);
    bench_conn_close(&admin);
    bench_conn_close(&q);
    bench_broker_stop(&b);
}

/* ---- the floors over the wire ---- */

static void s_zmq_floor(bench_conn_t *q)
{
    /* the bytes of a typical lookup request and of the broker's reply to it */
    bench_body_t *lookups = bench_code_bodies("lookup", s_codes, s_n_codes, SYNC_N, 0, 0, 1);
    if (!bench_ok(bench_call(q, lookups[0].data, lookups[0].len))) {
        fprintf(stderr, "bench: the broker does not answer lookups\n");
        exit(1);
    }
    size_t len = zmq_msg_size(&q->msg);
    char *reply = malloc(len);
    memcpy(reply, zmq_msg_data(&q->msg), len);
    snprintf(s_echo_ep, sizeof s_echo_ep, "tcp://127.0.0.1:%d", bench_free_port());
    s_echo_pid = bench_echo_start(s_echo_ep, reply, len);
    bench_conn_t c;
    bench_conn_open(&c, s_ctx, ZMQ_REQ, s_echo_ep);
    printf("  ROUTER echo in its own process, request %zu bytes, reply %zu bytes\n",
           lookups[0].len, len);
    double runs[RUNS][3];
    for (int r = 0; r < RUNS; r++) {
        if (bench_sync(&c, lookups, SYNC_N, SYNC_N, s_lat) != 0) {
            exit(1);
        }
        s_lat_quantiles(s_lat, SYNC_N, runs[r]);
    }
    s_quantiles("bare ZeroMQ round trip (REQ -> ROUTER)", runs, &s_sum.zmq_p50);
    printf("  (its pipelines run in turn with the broker's, below)\n");
    bench_conn_close(&c);
    free(reply);
    bench_bodies_free(lookups, SYNC_N);
}

static void s_summary(void)
{
    char floor[64];
    bench_goal_head("round one's goals that still hold, and issue 19's measured here (medians)");
    snprintf(floor, sizeof floor, "bare ZeroMQ REQ->ROUTER p50 %.0f us", s_sum.zmq_p50);
    bench_goal("lookup p50 / bare ZeroMQ p50 (round one)",
               s_sum.zmq_p50 > 0 ? s_sum.lookup_p50 / s_sum.zmq_p50 : 0, "x", "<=", 1.15,
               floor);
    bench_goal("batch validation, 1,000 codes a request (round one)", s_sum.batch1000 / 1e6,
               "M/s", ">=", 2, "");
    snprintf(floor, sizeof floor, "Redis MGET of 100 keys %.2fM keys/s", s_sum.mget_keys / 1e6);
    bench_goal("batch validation / Redis MGET keys/s (round one)",
               s_sum.mget_keys > 0 ? s_sum.batch1000 / s_sum.mget_keys : 0, "x", ">=", 1.5,
               floor);
    snprintf(floor, sizeof floor, "bare ZeroMQ REQ->ROUTER p50 %.0f us", s_sum.zmq_p50);
    bench_goal("cs_client_lookup p50 / bare ZeroMQ p50 (19.2)",
               s_sum.zmq_p50 > 0 ? s_sum.client_p50 / s_sum.zmq_p50 : 0, "x", "<=", 0.6, floor);
    snprintf(floor, sizeof floor, "Redis GET p50 %.0f us", s_sum.redis_p50);
    bench_goal("cs_client_lookup p50 / Redis GET p50 (19.2, aim)",
               s_sum.redis_p50 > 0 ? s_sum.client_p50 / s_sum.redis_p50 : 0, "x", "<=", 3, floor);
    snprintf(floor, sizeof floor, "bare ZeroMQ echo (100 in flight) %.0fk/s",
             s_sum.zmq_pipe100 / 1e3);
    bench_goal("pipelined lookups, 100 in flight / bare echo (19.1)",
               s_sum.zmq_pipe100 > 0 ? s_sum.pipe100 / s_sum.zmq_pipe100 : 0, "x", ">=", 0.9,
               floor);
    snprintf(floor, sizeof floor, "bare ZeroMQ echo (1,000 in flight) %.0fk/s",
             s_sum.zmq_pipe1000 / 1e3);
    bench_goal("pipelined lookups, 1,000 in flight / bare echo (19.1)",
               s_sum.zmq_pipe1000 > 0 ? s_sum.pipe1000 / s_sum.zmq_pipe1000 : 0, "x", ">=", 0.9,
               floor);
    snprintf(floor, sizeof floor, "Redis pipelined GET (100) %.0fk/s",
             s_sum.redis_pipe100 / 1e3);
    bench_goal("async lookups (libcsclient, 100 out) / Redis (19.1)",
               s_sum.redis_pipe100 > 0 ? s_sum.async100 / s_sum.redis_pipe100 : 0, "x", ">=",
               1.5, floor);
    snprintf(floor, sizeof floor, "LMDB mdb_get of a random code %.0f ns", s_sum.lmdb_get_ns);
    bench_goal("embedded lookup, random codes (19.4)", s_sum.embed_ns, " ns", "<=", 300, floor);
    snprintf(floor, sizeof floor, "redis-server RssAnon %.1f MiB", s_sum.redis_anon);
    bench_goal("codesetd RssAnon after its loads / redis-server's (19.5)",
               s_sum.redis_anon > 0 ? s_sum.anon / s_sum.redis_anon : 0, "x", "<=", 1.0, floor);
    printf("  context, same run (the goals above: codesetd's defaults, --front direct):\n");
    printf("  %-52s %12.2f x\n", "--front zmq: lookup p50 / bare ZeroMQ p50",
           s_sum.zmq_p50 > 0 ? s_sum.z_lookup_p50 / s_sum.zmq_p50 : 0);
    printf("  %-52s %12.2f x\n", "--front zmq: cs_client_lookup p50 / bare p50",
           s_sum.zmq_p50 > 0 ? s_sum.z_client_p50 / s_sum.zmq_p50 : 0);
    printf("  %-52s %12.2f x\n", "--front zmq: pipelined, 100 in flight / bare echo",
           s_sum.zmq_pipe100 > 0 ? s_sum.z_pipe100 / s_sum.zmq_pipe100 : 0);
    printf("  %-52s %12.2f x\n", "--front zmq: pipelined, 1,000 in flight / bare echo",
           s_sum.zmq_pipe1000 > 0 ? s_sum.z_pipe1000 / s_sum.zmq_pipe1000 : 0);
    printf("  %-52s %12.2f x\n", "--front zmq: async lookups / Redis",
           s_sum.redis_pipe100 > 0 ? s_sum.z_async100 / s_sum.redis_pipe100 : 0);
    printf("  %-52s %12.0f ns\n", "embedded lookup, a 1,000-code working set", s_sum.embed_hot_ns);
    printf("  %-52s %12.0f ns\n", "embedded lookup, random codes from 244-byte records",
           s_sum.embed_wide_ns);
    printf("  %-52s %12.0f ns\n", "embedded lookup, random codes, the title read",
           s_sum.embed_title_ns);
    printf("  %-52s %12.2f\n", "pipelined lookups/s / Redis pipelined GET/s (100)",
           s_sum.redis_pipe100 > 0 ? s_sum.pipe100 / s_sum.redis_pipe100 : 0);
    printf("  %-52s %12.2f s\n", "FY2021 load (round one: <= 3 s)", s_sum.load_s);
    printf("  %-52s %12.1f MiB\n", "codesetd RSS beside the map (round one: <= 64 MiB)",
           s_sum.rss_beside);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
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
    s_n_codes = bench_read_order(aorder, s_codes, MAX_CODES);
    if (s_n_codes == 0) {
        fprintf(stderr, "bench: no codes in %s\n", aorder);
        return 1;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
    bench_broker_t b;
    if (bench_broker_start(&b, ep) != 0) {
        fprintf(stderr, "bench: cannot start codesetd\n");
        return 1;
    }
    s_ctx = zmq_ctx_new();
    bench_conn_t admin, q;
    bench_conn_open(&admin, s_ctx, ZMQ_REQ, b.admin_ep);
    bench_conn_open(&q, s_ctx, ZMQ_REQ, b.query_ep);
    if (bench_wait_ping(&q, 10000) != 0) {
        fprintf(stderr, "bench: codesetd does not answer on %s\n", b.query_ep);
        bench_broker_stop(&b);
        return 1;
    }
    printf("bench_broker: %s, %zu codes; %d runs each, min/median/max\n", dataset, s_n_codes,
           RUNS);
    s_loadavg("at start");

    printf("codesetd: load through the admin endpoint (the label replaced each run)\n");
    double load_s[RUNS];
    const char *files[] = {axml, aorder};
    for (int i = 0; i < RUNS; i++) {
        load_s[i] = bench_load(&admin, "icd10cm-tabular", "2021", files, 2);
        if (load_s[i] < 0) {
            bench_broker_stop(&b);
            return 1;
        }
    }
    s_sum.load_s = bench_print3("load (job time)", "s", load_s, RUNS);
    printf("  %-46s %11.1f MiB\n", "database size", s_db_bytes(&q) / 1048576.0);

    printf("floors\n");
    s_zmq_floor(&q);
    s_floor_lmdb(b.db);
    s_floor_msgpack();

    printf("codesetd over tcp loopback (its defaults: the loop serves the endpoint itself)\n");
    s_broker_section(&b, &q);
    printf("codesetd --front zmq over tcp loopback (libzmq's I/O thread serves the endpoint)\n");
    s_zmq_front_section(files);

    printf("Redis (same code -> title keys)\n");
    s_redis();

    printf("embedded (codeset.h, in-process, the broker's file read-only)\n");
    s_embedded(b.db);

    bench_conn_close(&admin);
    bench_conn_close(&q);
    zmq_ctx_term(s_ctx);
    bench_broker_stop(&b);
    s_loadavg("at the end");
    s_summary();
    return 0;
}
