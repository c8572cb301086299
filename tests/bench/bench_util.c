/* bench_util.c: broker process and statistics helpers for benchmarks. */
#include "bench_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_quantile(double *v, size_t n, double q)
{
    if (n == 0) {
        return 0;
    }
    qsort(v, n, sizeof *v, s_cmp);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

int bench_data_path(const char *rel, char *out, size_t cap)
{
    const char *root = getenv("CS_SHARED_DATA");
    snprintf(out, cap, "%s/%s", root && *root ? root : "../shared/data", rel);
    return access(out, R_OK) == 0;
}

int bench_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return 0;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

void bench_stats3(double *v, size_t n, double *lo, double *med, double *hi)
{
    *med = bench_quantile(v, n, 0.5); /* sorts */
    *lo = n ? v[0] : 0;
    *hi = n ? v[n - 1] : 0;
}

double bench_print3(const char *what, const char *unit, double *v, size_t n)
{
    double lo, med, hi;
    bench_stats3(v, n, &lo, &med, &hi);
    printf("  %-46s min %11.2f  median %11.2f  max %11.2f %s\n", what, lo, med, hi, unit);
    fflush(stdout);
    return med;
}

void bench_goal_head(const char *title)
{
    printf("\nsummary: %s\n", title);
    printf("  %-52s %12s  %-14s %-40s %s\n", "", "figure", "goal", "floor, same run", "");
}

/* v with its unit, to 3 significant figures (a ratio keeps 2 decimals). */
static void s_figure(char *out, size_t cap, double v, const char *unit)
{
    snprintf(out, cap, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v, unit);
}

void bench_goal(const char *what, double figure, const char *unit, const char *op, double goal,
                const char *floor)
{
    char fig[32] = "n/a", want[32], g[24];
    if (figure > 0) {
        s_figure(fig, sizeof fig, figure, unit);
    }
    s_figure(g, sizeof g, goal, unit);
    snprintf(want, sizeof want, "%s %s", op, g);
    int met = op[0] == '<' ? figure <= goal : figure >= goal;
    printf("  %-52s %12s  %-14s %-40s %s\n", what, fig, want, floor ? floor : "",
           figure > 0 ? (met ? "met" : "MISSED") : "");
    fflush(stdout);
}

double bench_cpu_seconds(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    int got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    /* the command may hold spaces: the fields start after its closing parenthesis */
    const char *p = got ? strrchr(line, ')') : NULL;
    unsigned long utime, stime;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime) != 2) {
        return -1;
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

double bench_cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double bench_rss_anon(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    double bytes = -1;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long kb;
        if (sscanf(line, "RssAnon: %lu kB", &kb) == 1) {
            bytes = (double)kb * 1024.0;
        }
    }
    if (f) {
        fclose(f);
    }
    return bytes;
}

int bench_rss(pid_t pid, const char *map_suffix, double *vmrss, double *map_rss)
{
    char path[64], line[4096];
    *vmrss = -1;
    *map_rss = 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned long kb;
        if (sscanf(line, "VmRSS: %lu kB", &kb) == 1) {
            *vmrss = (double)kb * 1024.0;
        }
    }
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    /* A mapping's header line names its file; its "Rss:" line follows. */
    int in_map = 0;
    size_t sl = strlen(map_suffix);
    while (fgets(line, sizeof line, f)) {
        unsigned long kb;
        if (sscanf(line, "Rss: %lu kB", &kb) == 1) {
            if (in_map) {
                *map_rss += (double)kb * 1024.0;
            }
            continue;
        }
        char *sp = strchr(line, ' ');
        if (sp && strchr(line, '-') && strchr(line, '-') < sp) {
            size_t n = strcspn(line, "\n");
            line[n] = '\0';
            in_map = n >= sl && strcmp(line + n - sl, map_suffix) == 0;
        }
    }
    fclose(f);
    return *vmrss < 0 ? -1 : 0;
}

int bench_broker_start(bench_broker_t *b, const char *query_ep)
{
    return bench_broker_start_args(b, query_ep, NULL);
}

int bench_broker_start_args(bench_broker_t *b, const char *query_ep, const char *const *extra)
{
    memset(b, 0, sizeof *b);
    snprintf(b->dir, sizeof b->dir, "/tmp/codeset-bench-XXXXXX");
    if (!mkdtemp(b->dir)) {
        return -1;
    }
    snprintf(b->db, sizeof b->db, "%s/db", b->dir);
    snprintf(b->query_ep, sizeof b->query_ep, "%s", query_ep);
    snprintf(b->admin_ep, sizeof b->admin_ep, "ipc://%s/admin.sock", b->db);
    const char *build = getenv("CS_BUILD_DIR");
    char exe[600];
    snprintf(exe, sizeof exe, "%s/bin/codesetd", build && *build ? build : "build");
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a bench that dies takes its broker along */
        char log[700];
        snprintf(log, sizeof log, "%s/codesetd.log", b->dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        const char *argv[24] = {exe, "--db", b->db, "--listen", query_ep, "--admin",
                                b->admin_ep};
        for (int i = 0; extra && extra[i] && i < 16; i++) {
            argv[7 + i] = extra[i];
        }
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    b->pid = pid;
    usleep(300000);
    return 0;
}

void bench_broker_stop(bench_broker_t *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGTERM);
        waitpid(b->pid, NULL, 0);
        b->pid = 0;
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", b->dir);
    }
}

/* ---- order file ---- */

size_t bench_read_order(const char *path, bench_code_t *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    /* fixed columns: order 0-4, code 6-12, billable 14, short 16-75, long title from 77 */
    char line[1024];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (len < 78) {
            continue;
        }
        bench_code_t *c = &out[n++];
        memcpy(c->code, line + 6, 7);
        c->code[7] = '\0';
        c->code[strcspn(c->code, " ")] = '\0';
        c->billable = line[14] == '1';
        snprintf(c->title, sizeof c->title, "%s", line + 77);
    }
    fclose(f);
    return n;
}

/* ---- client ---- */

int bench_conn_open(bench_conn_t *c, void *ctx, int type, const char *ep)
{
    memset(c, 0, sizeof *c);
    c->sock = zmq_socket(ctx, type);
    if (!c->sock) {
        return -1;
    }
    int zero = 0, timeout = 10000, hwm = 100000;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(c->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(c->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_connect(c->sock, ep) != 0) {
        zmq_close(c->sock);
        return -1;
    }
    zmq_msg_init(&c->msg);
    msgpack_zone_init(&c->zone, 8192);
    msgpack_sbuffer_init(&c->sb);
    msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
    return 0;
}

void bench_conn_close(bench_conn_t *c)
{
    if (c->sock) {
        zmq_close(c->sock);
        c->sock = NULL;
        zmq_msg_close(&c->msg);
        msgpack_zone_destroy(&c->zone);
        msgpack_sbuffer_destroy(&c->sb);
    }
}

/* Receive one reply (skipping envelope frames) and decode it into c->reply. */
/* The next reply, waiting for it (flags 0) or only if one is there (ZMQ_DONTWAIT). */
static const msgpack_object *s_recv_reply_flags(bench_conn_t *c, int flags)
{
    do {
        zmq_msg_close(&c->msg);
        zmq_msg_init(&c->msg);
        if (zmq_msg_recv(&c->msg, c->sock, flags) < 0) {
            return NULL;
        }
    } while (zmq_msg_more(&c->msg));
    msgpack_zone_clear(&c->zone);
    size_t off = 0;
    if (msgpack_unpack(zmq_msg_data(&c->msg), zmq_msg_size(&c->msg), &off, &c->zone,
                       &c->reply) != MSGPACK_UNPACK_SUCCESS) {
        return NULL;
    }
    return &c->reply;
}

static const msgpack_object *s_recv_reply(bench_conn_t *c)
{
    return s_recv_reply_flags(c, 0);
}

const msgpack_object *bench_recv(bench_conn_t *c)
{
    return s_recv_reply_flags(c, 0);
}

const msgpack_object *bench_call(bench_conn_t *c, const void *body, size_t len)
{
    if (!body) {
        body = c->sb.data;
        len = c->sb.size;
    }
    if (zmq_send(c->sock, body, len, 0) < 0) {
        return NULL;
    }
    return s_recv_reply(c);
}

const msgpack_object *bench_get(const msgpack_object *m, const char *key)
{
    if (!m || m->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0) {
            return &m->via.map.ptr[i].val;
        }
    }
    return NULL;
}

int bench_ok(const msgpack_object *r)
{
    const msgpack_object *ok = bench_get(r, "ok");
    return ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
}

void bench_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

int bench_wait_ping(bench_conn_t *c, int timeout_ms)
{
    uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (bench_now_ns() < end) {
        msgpack_sbuffer_clear(&c->sb);
        msgpack_pack_map(&c->pk, 1);
        bench_pack_str(&c->pk, "op");
        bench_pack_str(&c->pk, "ping");
        if (bench_ok(bench_call(c, NULL, 0))) {
            return 0;
        }
        usleep(100000);
    }
    return -1;
}

double bench_load(bench_conn_t *admin, const char *loader, const char *label,
                  const char *const *files, int n_files)
{
    msgpack_sbuffer_clear(&admin->sb);
    msgpack_pack_map(&admin->pk, 5);
    bench_pack_str(&admin->pk, "op");
    bench_pack_str(&admin->pk, "load");
    bench_pack_str(&admin->pk, "loader");
    bench_pack_str(&admin->pk, loader);
    bench_pack_str(&admin->pk, "release");
    bench_pack_str(&admin->pk, label);
    bench_pack_str(&admin->pk, "effective_from");
    bench_pack_str(&admin->pk, "2020-10-01");
    bench_pack_str(&admin->pk, "files");
    msgpack_pack_array(&admin->pk, (uint32_t)n_files);
    for (int i = 0; i < n_files; i++) {
        bench_pack_str(&admin->pk, files[i]);
    }
    const msgpack_object *job = bench_get(bench_call(admin, NULL, 0), "job");
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
        bench_pack_str(&admin->pk, "op");
        bench_pack_str(&admin->pk, "job");
        bench_pack_str(&admin->pk, "job");
        bench_pack_str(&admin->pk, id);
        const msgpack_object *r = bench_call(admin, NULL, 0);
        const msgpack_object *st = bench_get(r, "state");
        if (!st || st->type != MSGPACK_OBJECT_STR) {
            fprintf(stderr, "bench: no job state\n");
            return -1;
        }
        if (st->via.str.size == 7 && memcmp(st->via.str.ptr, "running", 7) == 0) {
            continue;
        }
        const msgpack_object *sec = bench_get(r, "seconds");
        if (st->via.str.size != 4 || memcmp(st->via.str.ptr, "done", 4) != 0 || !sec) {
            fprintf(stderr, "bench: load failed\n");
            return -1;
        }
        return sec->via.f64;
    }
}

int bench_broker_load_tabular(const bench_broker_t *b, void *ctx, const char *xml,
                              const char *order)
{
    bench_conn_t admin, q;
    bench_conn_open(&admin, ctx, ZMQ_REQ, b->admin_ep);
    bench_conn_open(&q, ctx, ZMQ_REQ, b->query_ep);
    const char *files[] = {xml, order};
    int rc = bench_wait_ping(&q, 10000) == 0 &&
                     bench_load(&admin, "icd10cm-tabular", "2021", files, 2) >= 0
                 ? 0
                 : -1;
    bench_conn_close(&admin);
    bench_conn_close(&q);
    return rc;
}

/* ---- bodies ---- */

static bench_body_t s_take(msgpack_sbuffer *sb)
{
    bench_body_t b = {malloc(sb->size), sb->size};
    if (b.data) {
        memcpy(b.data, sb->data, sb->size);
    }
    return b;
}

static size_t s_pick(const bench_code_t *codes, size_t n_codes, int billable_only,
                     unsigned *seed)
{
    for (;;) {
        size_t i = (size_t)rand_r(seed) % n_codes;
        if (!billable_only || codes[i].billable) {
            return i;
        }
    }
}

bench_body_t *bench_code_bodies(const char *op, const bench_code_t *codes, size_t n_codes,
                                size_t n, int with_id, int billable_only, unsigned seed)
{
    bench_body_t *v = calloc(n, sizeof *v);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (size_t i = 0; v && i < n; i++) {
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, with_id ? 4 : 3);
        bench_pack_str(&pk, "op");
        bench_pack_str(&pk, op);
        bench_pack_str(&pk, "system");
        bench_pack_str(&pk, "icd10cm");
        bench_pack_str(&pk, "code");
        bench_pack_str(&pk, codes[s_pick(codes, n_codes, billable_only, &seed)].code);
        if (with_id) {
            bench_pack_str(&pk, "id");
            msgpack_pack_uint64(&pk, i);
        }
        v[i] = s_take(&sb);
    }
    msgpack_sbuffer_destroy(&sb);
    return v;
}

bench_body_t *bench_batch_bodies(const bench_code_t *codes, size_t n_codes, size_t n,
                                 size_t per, unsigned seed)
{
    bench_body_t *v = calloc(n, sizeof *v);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (size_t i = 0; v && i < n; i++) {
        msgpack_sbuffer_clear(&sb);
        msgpack_pack_map(&pk, 3);
        bench_pack_str(&pk, "op");
        bench_pack_str(&pk, "validate");
        bench_pack_str(&pk, "system");
        bench_pack_str(&pk, "icd10cm");
        bench_pack_str(&pk, "codes");
        msgpack_pack_array(&pk, (uint32_t)per);
        for (size_t k = 0; k < per; k++) {
            bench_pack_str(&pk, codes[s_pick(codes, n_codes, 1, &seed)].code);
        }
        v[i] = s_take(&sb);
    }
    msgpack_sbuffer_destroy(&sb);
    return v;
}

void bench_bodies_free(bench_body_t *b, size_t n)
{
    for (size_t i = 0; b && i < n; i++) {
        free(b[i].data);
    }
    free(b);
}

/* ---- load shapes ---- */

int bench_sync(bench_conn_t *c, const bench_body_t *bodies, size_t nb, size_t n,
               double *lat_us)
{
    for (size_t i = 0; i < n; i++) {
        const bench_body_t *b = &bodies[i % nb];
        uint64_t t0 = bench_now_ns();
        const msgpack_object *r = bench_call(c, b->data, b->len);
        lat_us[i] = (double)(bench_now_ns() - t0) / 1000.0;
        if (!bench_ok(r)) {
            fprintf(stderr, "bench: a request failed or timed out\n");
            return -1;
        }
    }
    return 0;
}

double bench_pipeline(void *ctx, const char *ep, const bench_body_t *bodies, size_t nb,
                      size_t window, size_t total)
{
    bench_conn_t c;
    if (bench_conn_open(&c, ctx, ZMQ_DEALER, ep) != 0) {
        return -1;
    }
    size_t sent = 0, got = 0;
    int failed = 0;
    uint64_t t0 = bench_now_ns();
    /* As the Redis loop does: wait for a reply, take every other one already there, then
     * top the window up with as many requests as replies came back. */
    while (got < total && !failed) {
        while (sent < total && sent - got < window) {
            const bench_body_t *b = &bodies[sent % nb];
            if (zmq_send(c.sock, b->data, b->len, 0) < 0) {
                failed = 1;
                break;
            }
            sent++;
        }
        if (!bench_ok(s_recv_reply(&c))) {
            failed = 1;
        }
        got++;
        const msgpack_object *more;
        while (!failed && got < sent && (more = s_recv_reply_flags(&c, ZMQ_DONTWAIT))) {
            failed = !bench_ok(more);
            got++;
        }
    }
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    bench_conn_close(&c);
    if (failed) {
        fprintf(stderr, "bench: a pipelined request failed or timed out\n");
        return -1;
    }
    return (double)total / secs;
}

typedef struct s_worker {
    pthread_t thread;
    void *ctx;
    const char *ep;
    const bench_body_t *bodies;
    size_t nb, n, first;
    double *lat_us;
    pthread_barrier_t *start;
    int failed;
} s_worker_t;

static void *s_worker(void *arg)
{
    s_worker_t *w = arg;
    bench_conn_t c;
    w->failed = bench_conn_open(&c, w->ctx, ZMQ_REQ, w->ep) != 0;
    if (!w->failed) {
        bench_wait_ping(&c, 5000); /* connected before the clock starts */
    }
    pthread_barrier_wait(w->start);
    if (!w->failed) {
        w->failed = bench_sync(&c, w->bodies + w->first % w->nb, w->nb - w->first % w->nb,
                               w->n, w->lat_us) != 0;
        bench_conn_close(&c);
    }
    return NULL;
}

double bench_concurrent(void *ctx, const char *ep, const bench_body_t *bodies, size_t nb,
                        int clients, size_t total, double *lat_us)
{
    s_worker_t *w = calloc((size_t)clients, sizeof *w);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)clients + 1);
    size_t per = total / (size_t)clients;
    for (int i = 0; i < clients; i++) {
        w[i] = (s_worker_t){.ctx = ctx, .ep = ep, .bodies = bodies, .nb = nb, .n = per,
                            .first = (size_t)i * 7919, .lat_us = lat_us + (size_t)i * per,
                            .start = &start};
        pthread_create(&w[i].thread, NULL, s_worker, &w[i]);
    }
    pthread_barrier_wait(&start);
    uint64_t t0 = bench_now_ns();
    int failed = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(w[i].thread, NULL);
        failed |= w[i].failed;
    }
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    pthread_barrier_destroy(&start);
    free(w);
    return failed ? -1 : (double)(per * (size_t)clients) / secs;
}

/* ---- a bare ZeroMQ ROUTER echo (the floor) ---- */

pid_t bench_echo_start(const char *ep, const void *reply, size_t len)
{
    pid_t pid = fork();
    if (pid != 0) {
        return pid;
    }
    /* The child dies with the bench, and uses a context of its own, never the parent's. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_ROUTER);
    int hwm = 100000;
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_bind(s, ep) != 0) {
        _exit(1);
    }
    zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
    /* The broker's own receive pattern: poll, then drain frames without blocking. */
    for (;;) {
        if (zmq_poll(&item, 1, -1) < 0) {
            continue;
        }
        for (;;) {
            zmq_msg_t frames[8];
            int n = 0, more = 1;
            while (more && n < 8) {
                zmq_msg_init(&frames[n]);
                if (zmq_msg_recv(&frames[n], s, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&frames[n]);
                    break;
                }
                more = zmq_msg_more(&frames[n]);
                n++;
            }
            if (n == 0) {
                break;
            }
            for (int i = 0; i < n - 1; i++) {
                zmq_msg_send(&frames[i], s, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            }
            zmq_msg_close(&frames[n - 1]);
            zmq_send(s, reply, len, ZMQ_DONTWAIT);
        }
    }
}
