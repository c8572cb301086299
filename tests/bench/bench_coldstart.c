/* bench_coldstart: codesetd started on a database nobody has read yet (issue 19, section 6).
 *
 * It loads ICD-10-CM FY2021, ICD-10-PCS FY2025 and HCPCS 2025 into a fresh database through
 * the admin endpoint, asks 1,000 lookups across the three (codes picked at random from their
 * files) and keeps each reply as the right answer, and stops the broker. Then, RUNS times:
 * drop the page cache (sync; echo 3 > /proc/sys/vm/drop_caches: root only, else the bench says
 * so and skips), start codesetd on that database, and measure
 *   - the time from starting it to its first correct answer (a client connected before the
 *     start sends a ping at once, waits, then the first lookup; the ping's time is the
 *     process start alone),
 *   - the p99 of the 1,000 lookups that follow (one synchronous client, tcp loopback), and
 *   - the p99 of the same 1,000 once warm: after the broker's start-up work (the verifier's
 *     first pass, the code indexes) is over, and two more passes,
 * every reply compared byte for byte with the right answer. Prints min / median / max; never
 * passes or fails on time. */
#include <fcntl.h>
#include <limits.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_util.h"

#define RUNS 3
#define N_LOOKUPS 1000
#define MAX_CODES 100000

typedef struct s_want {
    char system[16];
    char code[16];
    char *body;       /* the request */
    size_t body_len;
    char *reply;      /* the right answer */
    size_t reply_len;
} s_want_t;

static s_want_t s_want[N_LOOKUPS];
static bench_code_t s_codes[MAX_CODES];

static void s_loadavg(void)
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
    printf("  (load average: %s)\n", buf);
}

/* The HCPCS codes of a record file (not its modifiers). */
static size_t s_read_hcpcs(const char *path, bench_code_t *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    char line[2048];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        /* HCPC2025 layout: code 1-5 (a modifier: 3 blanks and 2 characters), sequence 6-10
         * ("00100" for a code's first record) */
        if (strlen(line) < 11 || line[0] == ' ' || strncmp(line + 5, "00100", 5) != 0) {
            continue;
        }
        memcpy(out[n].code, line, 5);
        out[n].code[5] = '\0';
        out[n].billable = 1;
        n++;
    }
    fclose(f);
    return n;
}

/* Pick N_LOOKUPS codes, a third of each system, and pack their lookup requests. */
static int s_pick_codes(const char *cm_order, const char *pcs_order, const char *hcpcs)
{
    static const char *const systems[3] = {"icd10cm", "icd10pcs", "hcpcs"};
    unsigned seed = 19;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (int s = 0; s < 3; s++) {
        size_t n = s == 0   ? bench_read_order(cm_order, s_codes, MAX_CODES)
                   : s == 1 ? bench_read_order(pcs_order, s_codes, MAX_CODES)
                            : s_read_hcpcs(hcpcs, s_codes, MAX_CODES);
        if (n == 0) {
            fprintf(stderr, "bench_coldstart: no codes read for %s\n", systems[s]);
            return -1;
        }
        for (size_t i = (size_t)s; i < N_LOOKUPS; i += 3) {
            s_want_t *w = &s_want[i];
            const bench_code_t *c = &s_codes[(size_t)rand_r(&seed) % n];
            snprintf(w->system, sizeof w->system, "%s", systems[s]);
            snprintf(w->code, sizeof w->code, "%s", c->code);
            msgpack_sbuffer_clear(&sb);
            msgpack_pack_map(&pk, 3);
            bench_pack_str(&pk, "op");
            bench_pack_str(&pk, "lookup");
            bench_pack_str(&pk, "system");
            bench_pack_str(&pk, w->system);
            bench_pack_str(&pk, "code");
            bench_pack_str(&pk, w->code);
            w->body = malloc(sb.size);
            if (!w->body) {
                return -1;
            }
            memcpy(w->body, sb.data, sb.size);
            w->body_len = sb.size;
        }
    }
    msgpack_sbuffer_destroy(&sb);
    return 0;
}

/* One round trip on a REQ socket: the reply's bytes into *msg. 0, or -1 on a timeout. */
static int s_round_trip(void *sock, const s_want_t *w, zmq_msg_t *msg)
{
    if (zmq_send(sock, w->body, w->body_len, 0) < 0) {
        return -1;
    }
    return zmq_msg_recv(msg, sock, 0) < 0 ? -1 : 0;
}

static int s_same(const s_want_t *w, zmq_msg_t *msg)
{
    return zmq_msg_size(msg) == w->reply_len &&
           memcmp(zmq_msg_data(msg), w->reply, w->reply_len) == 0;
}

/* A REQ socket to ep that retries its connection every millisecond (the broker may not be
 * listening yet) and waits up to 60 s for a reply. */
static void *s_socket(void *ctx, const char *ep)
{
    void *sock = zmq_socket(ctx, ZMQ_REQ);
    int zero = 0, one = 1, timeout = 60000;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_connect(sock, ep) != 0) {
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/* Load the three releases into b's database and keep every lookup's answer. */
static int s_prepare(void *ctx, bench_broker_t *b, const char *const files[6])
{
    bench_conn_t admin;
    if (bench_conn_open(&admin, ctx, ZMQ_REQ, b->admin_ep) != 0 ||
        bench_wait_ping(&admin, 10000) != 0) {
        fprintf(stderr, "bench_coldstart: the broker did not answer\n");
        return -1;
    }
    const char *const cm[2] = {files[0], files[1]};
    const char *const pcs[2] = {files[2], files[3]};
    const char *const hc[1] = {files[4]};
    double s1 = bench_load(&admin, "icd10cm-tabular", "2021", cm, 2);
    double s2 = bench_load(&admin, "icd10pcs-tables", "2025", pcs, 2);
    double s3 = bench_load(&admin, "hcpcs-anweb", "2025", hc, 1);
    bench_conn_close(&admin);
    if (s1 < 0 || s2 < 0 || s3 < 0) {
        return -1;
    }
    printf("  loaded ICD-10-CM FY2021 (%.2f s), ICD-10-PCS FY2025 (%.2f s), HCPCS 2025 (%.2f s)\n",
           s1, s2, s3);
    void *sock = s_socket(ctx, b->query_ep);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc = 0;
    for (size_t i = 0; i < N_LOOKUPS && rc == 0; i++) {
        rc = s_round_trip(sock, &s_want[i], &msg);
        s_want[i].reply = rc == 0 ? malloc(zmq_msg_size(&msg)) : NULL;
        if (rc == 0 && s_want[i].reply) {
            memcpy(s_want[i].reply, zmq_msg_data(&msg), zmq_msg_size(&msg));
            s_want[i].reply_len = zmq_msg_size(&msg);
        }
    }
    zmq_msg_close(&msg);
    zmq_close(sock);
    return rc;
}

static int s_drop_caches(void)
{
    sync();
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0) {
        return -1;
    }
    int ok = write(fd, "3\n", 2) == 2;
    close(fd);
    return ok ? 0 : -1;
}

static pid_t s_exec_broker(const bench_broker_t *b)
{
    const char *build = getenv("CS_BUILD_DIR");
    char exe[600], log[700];
    snprintf(exe, sizeof exe, "%s/bin/codesetd", build && *build ? build : "build");
    snprintf(log, sizeof log, "%s/codesetd.log", b->dir);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(exe, exe, "--db", b->db, "--listen", b->query_ep, "--admin", b->admin_ep,
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* n lookups in order, their round trips into lat_us; the replies that differ from the right
 * answers are counted into *wrong. 0, or -1 on a timeout. */
static int s_pass(void *sock, zmq_msg_t *msg, double *lat_us, size_t *wrong)
{
    for (size_t i = 0; i < N_LOOKUPS; i++) {
        uint64_t t = bench_now_ns();
        if (s_round_trip(sock, &s_want[i], msg) != 0) {
            return -1;
        }
        lat_us[i] = (double)(bench_now_ns() - t) / 1e3;
        *wrong += !s_same(&s_want[i], msg);
    }
    return 0;
}

/* Wait (at most 60 s) until the broker's start-up work is over: the verifier's first pass
 * (verify-1) done and a code index built for each of the three releases, so the warm figure
 * is of a broker at rest. */
static void s_settle(void *ctx, const bench_broker_t *b)
{
    bench_conn_t admin, query;
    if (bench_conn_open(&admin, ctx, ZMQ_REQ, b->admin_ep) != 0) {
        return;
    }
    if (bench_conn_open(&query, ctx, ZMQ_REQ, b->query_ep) != 0) {
        bench_conn_close(&admin);
        return;
    }
    for (int i = 0; i < 600; i++) {
        msgpack_sbuffer_clear(&admin.sb);
        msgpack_pack_map(&admin.pk, 2);
        bench_pack_str(&admin.pk, "op");
        bench_pack_str(&admin.pk, "verify");
        bench_pack_str(&admin.pk, "job");
        bench_pack_str(&admin.pk, "verify-1");
        const msgpack_object *st = bench_get(bench_call(&admin, NULL, 0), "state");
        int verified = st && st->type == MSGPACK_OBJECT_STR &&
                       !(st->via.str.size == 7 && memcmp(st->via.str.ptr, "running", 7) == 0);
        msgpack_sbuffer_clear(&query.sb);
        msgpack_pack_map(&query.pk, 1);
        bench_pack_str(&query.pk, "op");
        bench_pack_str(&query.pk, "stats");
        const msgpack_object *ci = bench_get(bench_call(&query, NULL, 0), "code_indexes");
        const msgpack_object *n = bench_get(ci, "count");
        if (verified && n && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER && n->via.u64 >= 3) {
            break;
        }
        usleep(100000);
    }
    bench_conn_close(&query);
    bench_conn_close(&admin);
}

/* One cold start: a first ping's answer and the first lookup's (ms from the start), p99 of the
 * first N_LOOKUPS and of a warm pass (us). */
static int s_cold_run(void *ctx, bench_broker_t *b, double *ping_ms, double *first_ms,
                      double *p99_cold, double *p99_warm)
{
    static double lat[N_LOOKUPS];
    if (s_drop_caches() != 0) {
        return -1;
    }
    void *sock = s_socket(ctx, b->query_ep);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    uint64_t t0 = bench_now_ns();
    b->pid = s_exec_broker(b);
    size_t wrong = 0;
    /* a ping first (answered without the store: the process start alone), then the first
     * lookup (a broker still opening answers nothing: the client waits) */
    static const char ping[] = "\x81\xa2op\xa4ping";
    int rc = zmq_send(sock, ping, sizeof ping - 1, 0) < 0 || zmq_msg_recv(&msg, sock, 0) < 0;
    *ping_ms = (double)(bench_now_ns() - t0) / 1e6;
    rc = rc == 0 ? s_round_trip(sock, &s_want[0], &msg) : -1;
    *first_ms = (double)(bench_now_ns() - t0) / 1e6;
    if (rc == 0 && !s_same(&s_want[0], &msg)) {
        fprintf(stderr, "bench_coldstart: the first answer is not the right one\n");
        wrong++;
    }
    rc = rc == 0 ? s_pass(sock, &msg, lat, &wrong) : -1;
    *p99_cold = rc == 0 ? bench_quantile(lat, N_LOOKUPS, 0.99) : 0;
    if (rc == 0) {
        s_settle(ctx, b);
    }
    for (int pass = 0; rc == 0 && pass < 3; pass++) {
        rc = s_pass(sock, &msg, lat, &wrong);
    }
    *p99_warm = rc == 0 ? bench_quantile(lat, N_LOOKUPS, 0.99) : 0;
    zmq_msg_close(&msg);
    zmq_close(sock);
    kill(b->pid, SIGTERM);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
    if (wrong) {
        fprintf(stderr, "bench_coldstart: %zu replies differ from the right answers\n", wrong);
        return -1;
    }
    return rc;
}

int main(void)
{
    printf("bench_coldstart: codesetd on a cold page cache (FY2021, PCS FY2025, HCPCS 2025)\n");
    if (geteuid() != 0) {
        printf("  skipped: dropping the page cache (/proc/sys/vm/drop_caches) needs root\n");
        return 0;
    }
    static const char *const rel[6] = {
        "icd10cm/2021/icd10cm_tabular_2021.xml", "icd10cm/2021/icd10cm_order_2021.txt",
        "icd10pcs/2025/icd10pcs_tables_2025.xml", "icd10pcs/2025/icd10pcs_order_2025.txt",
        "hcpcs/HCPC2025_JAN_ANWEB_12172024.txt", NULL};
    static char paths[5][PATH_MAX];
    const char *files[6] = {NULL};
    for (int i = 0; i < 5; i++) {
        if (!bench_data_path(rel[i], paths[i], sizeof paths[i])) {
            printf("  skipped: %s not found (../shared/data is absent)\n", rel[i]);
            return 0;
        }
        files[i] = paths[i];
    }
    if (s_pick_codes(files[1], files[3], files[4]) != 0) {
        return 1;
    }
    int port = bench_free_port();
    char ep[64];
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
    void *ctx = zmq_ctx_new();
    bench_broker_t b;
    if (port == 0 || bench_broker_start(&b, ep) != 0) {
        fprintf(stderr, "bench_coldstart: cannot start codesetd\n");
        return 1;
    }
    int rc = s_prepare(ctx, &b, files);
    if (b.pid > 0) {
        kill(b.pid, SIGTERM);
        waitpid(b.pid, NULL, 0);
        b.pid = 0;
    }
    double ping[RUNS], first[RUNS], cold[RUNS], warm[RUNS], ratio[RUNS];
    for (int r = 0; rc == 0 && r < RUNS; r++) {
        rc = s_cold_run(ctx, &b, &ping[r], &first[r], &cold[r], &warm[r]);
        ratio[r] = warm[r] > 0 ? cold[r] / warm[r] : 0;
    }
    if (rc == 0) {
        s_loadavg();
        double p = bench_print3("cold start: a ping answered (the process start)", "ms", ping,
                                RUNS);
        double f = bench_print3("cold start: first correct answer", "ms", first, RUNS);
        bench_print3("cold start: p99 of the first 1,000 lookups", "us", cold, RUNS);
        double w = bench_print3("warm: p99 of the same 1,000 lookups", "us", warm, RUNS);
        double q = bench_print3("first-1,000 p99 / warm p99", "x", ratio, RUNS);
        char floor[64];
        bench_goal_head("issue 19 section 6, cold start (medians of the runs)");
        snprintf(floor, sizeof floor, "a ping answered (the process start) %.0f ms", p);
        bench_goal("first correct answer", f, " ms", "<=", 100, floor);
        snprintf(floor, sizeof floor, "warm p99 of the same lookups %.0f us", w);
        bench_goal("first-1,000 p99 / warm p99", q, "x", "<=", 2, floor);
    }
    bench_broker_stop(&b);
    zmq_ctx_term(ctx);
    for (size_t i = 0; i < N_LOOKUPS; i++) {
        free(s_want[i].body);
        free(s_want[i].reply);
    }
    return rc == 0 ? 0 : 1;
}
