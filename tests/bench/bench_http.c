/* bench_http.c: codeset-http's FHIR $validate-code beside a floor, in one run, with Debian's
 * wrk (skipped, saying so, without it).
 *
 * A codesetd loads FY2021 (../shared/data; the bundled sample without it) and a codeset-http
 * serves the same database read-only. The floor is libmicrohttpd itself, in a child of this
 * program, answering a fixed 200-byte JSON body with the same thread settings as
 * codeset-http (internal polling, a pool of BENCH_HTTP_THREADS threads, default 2: the
 * cores of the test machine). Measured, each for BENCH_HTTP_SECONDS (default 2), in
 * BENCH_HTTP_ROUNDS rounds (default 3) that interleave the floor and codeset-http, each
 * figure the median of its rounds:
 *   - one code's GET $validate-code over one keep-alive connection: p50, p99 (wrk -c1);
 *   - the same at 16 connections: requests/s;
 *   - the floor, the same two ways;
 *   - a batch Bundle of 25 $validate-code entries (POST /fhir) over one connection: p50, p99.
 * Goals: p50 <= 1.3x the floor's, throughput >= 0.7x the floor's, a batch of 25 <= 2x one
 * code. The summary says which hold; a benchmark never fails on time.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../cs_http.h"
#include "bench_util.h"

#define CM "http%%3A%%2F%%2Fhl7.org%%2Ffhir%%2Fsid%%2Ficd-10-cm" /* in a format */
#define N_BATCH 25

typedef struct s_wrk {
    double p50_us, p99_us, rps;
    long errors; /* non-2xx answers and socket errors */
} s_wrk_t;

static int s_threads = 2;
static int s_seconds = 4;
static char s_tmp[600];

/* ---- the floor: libmicrohttpd answering a fixed body ---- */

static char s_floor_body[201];

static enum MHD_Result s_floor_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                       const char *method, const char *version,
                                       const char *data, size_t *size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)data;
    if (*state == NULL) { /* the first call of a request: headers only */
        *state = conn;
        return MHD_YES;
    }
    if (*size) { /* a body: swallowed */
        *size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(200, s_floor_body,
                                                             MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/fhir+json");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* Fork the floor on port; its pid, or -1. */
static pid_t s_floor_start(int port)
{
    memset(s_floor_body, ' ', 200);
    const char *json = "{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"result\","
                       "\"valueBoolean\":true},{\"name\":\"display\",\"valueString\":\"Type 2 "
                       "diabetes mellitus without complications\"}]}";
    memcpy(s_floor_body, json, strlen(json)); /* padded with spaces to 200 bytes */
    pid_t pid = fork();
    if (pid != 0) {
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
        NULL, s_floor_handler, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s_threads,
        MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (d == NULL) {
        _exit(1);
    }
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    _exit(0);
}

/* ---- wrk ---- */

/* A wrk duration ("123.45us", "1.2ms", "1.0s") in microseconds. */
static double s_us(const char *v)
{
    char *end;
    double x = strtod(v, &end);
    return strncmp(end, "us", 2) == 0 ? x : strncmp(end, "ms", 2) == 0 ? x * 1e3
                                        : *end == 's'                   ? x * 1e6
                                        : strncmp(end, "m", 1) == 0     ? x * 6e7
                                                                        : x;
}

/* Run wrk on url with conns connections (threads: 1, or 2 past one connection), script (a Lua
 * file, or NULL); its figures into *w. 0, or -1 when it did not run. */
static int s_wrk(const char *url, int conns, const char *script, s_wrk_t *w)
{
    char cmd[2048];
    /* quoted: the shell must not read "$validate-code" as a variable */
    snprintf(cmd, sizeof cmd, "wrk -t%d -c%d -d%ds --latency %s%s '%s' 2>&1",
             conns > 1 ? 2 : 1, conns, s_seconds, script ? "-s " : "", script ? script : "", url);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        return -1;
    }
    memset(w, 0, sizeof *w);
    char line[512], v[64];
    long a, b, c, d;
    while (fgets(line, sizeof line, p)) {
        if (sscanf(line, " 50%% %63s", v) == 1) {
            w->p50_us = s_us(v);
        } else if (sscanf(line, " 99%% %63s", v) == 1) {
            w->p99_us = s_us(v);
        } else if (sscanf(line, "Requests/sec: %63s", v) == 1) {
            w->rps = strtod(v, NULL);
        } else if (sscanf(line, " Non-2xx or 3xx responses: %ld", &a) == 1) {
            w->errors += a;
            printf("  wrk %s: %s", url, line);
        } else if (sscanf(line, " Socket errors: connect %ld, read %ld, write %ld, timeout %ld",
                          &a, &b, &c, &d) == 4) {
            w->errors += a + b + c + d;
            printf("  wrk %s: %s", url, line);
        }
    }
    return pclose(p) == 0 && w->rps > 0 ? 0 : -1;
}

/* ---- the requests ---- */

/* The batch Bundle of the codes (N_BATCH of them), JSON into out. */
static void s_bundle(const bench_code_t *codes, size_t n_codes, char *out, size_t cap)
{
    size_t at = (size_t)snprintf(out, cap, "{\"resourceType\":\"Bundle\",\"type\":\"batch\","
                                           "\"entry\":[");
    for (size_t i = 0; i < N_BATCH; i++) {
        const char *code = codes[(i * 7919) % n_codes].code;
        char dotted[16];
        snprintf(dotted, sizeof dotted, strlen(code) > 3 ? "%.3s.%s" : "%s", code,
                 strlen(code) > 3 ? code + 3 : "");
        at += (size_t)snprintf(out + at, cap - at,
                               "%s{\"request\":{\"method\":\"GET\",\"url\":\"CodeSystem/"
                               "$validate-code?url=" CM "&code=%s\"}}",
                               i ? "," : "", dotted);
    }
    snprintf(out + at, cap - at, "]}");
}

/* A Lua script for wrk that POSTs body; its path. */
static const char *s_script(const char *body)
{
    static char path[700];
    snprintf(path, sizeof path, "%s/batch.lua", s_tmp);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return NULL;
    }
    fprintf(f, "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = "
               "\"application/fhir+json\"\nwrk.body = [==[%s]==]\n", body);
    fclose(f);
    return path;
}

/* ---- the servers ---- */

/* codesetd with FY2021 (or the sample) on a fresh dir; 0 or -1. */
static int s_broker(bench_broker_t *b, void *ctx, bench_code_t *codes, size_t cap,
                    size_t *n_codes, const char **what)
{
    char xml[600], order[600], ep[64];
    int real = bench_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml) &&
               bench_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order);
    if (!real) {
        snprintf(xml, sizeof xml, "loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml");
        snprintf(order, sizeof order, "loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt");
    }
    char axml[700], aorder[700];
    if (!realpath(xml, axml) || !realpath(order, aorder)) {
        fprintf(stderr, "bench_http: %s or %s not found\n", xml, order);
        return -1;
    }
    *what = real ? "FY2021" : "the bundled sample (no ../shared/data)";
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", bench_free_port());
    if (bench_broker_start(b, ep) != 0) {
        return -1;
    }
    bench_conn_t admin;
    const char *files[] = {axml, aorder};
    int ok = bench_conn_open(&admin, ctx, ZMQ_REQ, b->admin_ep) == 0 &&
             bench_wait_ping(&admin, 10000) == 0 &&
             bench_load(&admin, "icd10cm-tabular", "2021", files, 2) >= 0;
    bench_conn_close(&admin);
    size_t n = bench_read_order(aorder, codes, cap), k = 0;
    for (size_t i = 0; i < n; i++) { /* billable codes only: the common case on a claim */
        if (codes[i].billable) {
            codes[k++] = codes[i];
        }
    }
    *n_codes = k;
    return ok && k > 0 ? 0 : -1;
}

static double s_ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void s_row(const char *what, const s_wrk_t *one, const s_wrk_t *many)
{
    char rps[64] = "";
    if (many) {
        snprintf(rps, sizeof rps, "%9.0f req/s at 16 conns", many->rps);
    }
    printf("  %-34s p50 %8.1f us   p99 %8.1f us   %s", what, one->p50_us, one->p99_us, rps);
    long errors = one->errors + (many ? many->errors : 0);
    if (errors) {
        printf("   (%ld errors: non-2xx or socket)", errors);
    }
    printf("\n");
}

static void s_goal(const char *what, double got, const char *op, double goal)
{
    int met = op[0] == '<' ? got <= goal : got >= goal;
    printf("  %-40s %6.2fx   goal %s %.1fx   %s\n", what, got, op, goal, met ? "met" : "MISSED");
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of each figure over the rounds, into *out. */
static void s_median(const s_wrk_t *runs, int n, s_wrk_t *out)
{
    double v[3][16];
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++) {
        v[0][i] = runs[i].p50_us;
        v[1][i] = runs[i].p99_us;
        v[2][i] = runs[i].rps;
        out->errors += runs[i].errors;
    }
    for (int k = 0; k < 3; k++) {
        qsort(v[k], (size_t)n, sizeof v[k][0], s_cmp_double);
    }
    out->p50_us = v[0][n / 2];
    out->p99_us = v[1][n / 2];
    out->rps = v[2][n / 2];
}

enum { S_FLOOR1, S_ONE1, S_BATCH1, S_FLOOR16, S_ONE16, S_N_RUNS };

/* What jansson alone takes to parse the batch's body (json_loadb and json_decref, with
 * malloc), median of 5 rounds of 500, in microseconds: codeset-http must parse the body with
 * it (issue 16 names jansson), so one code's p50 plus this is the least a batch can cost. */
static double s_parse_floor_us(const char *body)
{
    double per[5];
    size_t len = strlen(body);
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < 500; i++) {
            json_error_t err;
            json_t *j = json_loadb(body, len, 0, &err);
            json_decref(j);
        }
        per[r] = (double)(bench_now_ns() - t0) / 500 / 1e3;
    }
    return bench_quantile(per, 5, 0.5);
}

/* The wrk runs, floor and codeset-http interleaved round after round (the machine's load
 * changes under a long run: each figure is the median of its rounds), and the summary. */
static int s_measure(int http_port, int floor_port, const char *body, int rounds)
{
    char one[512], floor_url[128], batch_url[128];
    snprintf(one, sizeof one,
             "http://127.0.0.1:%d/fhir/CodeSystem/$validate-code?url=" CM "&code=E11.9",
             http_port);
    snprintf(floor_url, sizeof floor_url, "http://127.0.0.1:%d/", floor_port);
    snprintf(batch_url, sizeof batch_url, "http://127.0.0.1:%d/fhir", http_port);
    const char *script = s_script(body);
    const char *urls[S_N_RUNS] = {floor_url, one, batch_url, floor_url, one};
    const int conns[S_N_RUNS] = {1, 1, 1, 16, 16};
    s_wrk_t runs[S_N_RUNS][16], m[S_N_RUNS];
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < S_N_RUNS; k++) {
            if (script == NULL ||
                s_wrk(urls[k], conns[k], k == S_BATCH1 ? script : NULL, &runs[k][r]) != 0) {
                fprintf(stderr, "bench_http: a wrk run failed (%s)\n", urls[k]);
                return -1;
            }
        }
    }
    for (int k = 0; k < S_N_RUNS; k++) {
        s_median(runs[k], rounds, &m[k]);
    }
    printf("  %-34s (medians of %d rounds of %d s each, %d server threads)\n", "", rounds,
           s_seconds, s_threads);
    s_row("floor (libmicrohttpd, 200 B)", &m[S_FLOOR1], &m[S_FLOOR16]);
    s_row("$validate-code, one code (GET)", &m[S_ONE1], &m[S_ONE16]);
    s_row("batch Bundle of 25 (POST /fhir)", &m[S_BATCH1], NULL);
    printf("summary:\n");
    s_goal("p50, one code / floor", s_ratio(m[S_ONE1].p50_us, m[S_FLOOR1].p50_us), "<=", 1.3);
    s_goal("throughput at 16 conns, one code / floor",
           s_ratio(m[S_ONE16].rps, m[S_FLOOR16].rps), ">=", 0.7);
    s_goal("p50, batch of 25 / one code", s_ratio(m[S_BATCH1].p50_us, m[S_ONE1].p50_us), "<=",
           2.0);
    double parse = s_parse_floor_us(body);
    printf("  context: jansson parsing the batch's %zu-byte body alone takes %.1f us, so a batch\n"
           "  costs at least one code's p50 plus that: %.2fx one code\n", strlen(body), parse,
           s_ratio(m[S_ONE1].p50_us + parse, m[S_ONE1].p50_us));
    return 0;
}

/* One code's answer and the batch's, checked once before they are timed; 0 or -1. */
static int s_precheck(int port, const char *body)
{
    cs_hresp_t r;
    int st = cs_http_call(port, "GET",
                          "/fhir/CodeSystem/$validate-code?url=http%3A%2F%2Fhl7.org%2Ffhir%2F"
                          "sid%2Ficd-10-cm&code=E11.9",
                          NULL, 0, 10000, &r);
    int ok = st == 200 && strstr(r.body, "\"valueBoolean\":true") != NULL;
    cs_hresp_free(&r);
    if (!ok) {
        fprintf(stderr, "bench_http: $validate-code of E11.9 was answered %d\n", st);
        return -1;
    }
    st = cs_http_call(port, "POST", "/fhir", body, strlen(body), 10000, &r);
    ok = st == 200 && strstr(r.body, "\"batch-response\"") != NULL &&
         strstr(r.body, "\"valueBoolean\":false") == NULL;
    cs_hresp_free(&r);
    if (!ok) {
        fprintf(stderr, "bench_http: the batch was answered %d (or a code was refused)\n", st);
        return -1;
    }
    return 0;
}

int main(void)
{
    printf("== bench_http: FHIR $validate-code over HTTP (codeset-http) beside a floor ==\n");
    if (system("command -v wrk >/dev/null 2>&1") != 0) {
        printf("  skipped: wrk is not installed (Debian: apt-get install wrk)\n");
        return 0;
    }
    const char *e = getenv("BENCH_HTTP_THREADS");
    s_threads = e && atoi(e) > 0 ? atoi(e) : 2;
    e = getenv("BENCH_HTTP_SECONDS");
    s_seconds = e && atoi(e) > 0 ? atoi(e) : 2;
    e = getenv("BENCH_HTTP_ROUNDS");
    int rounds = e && atoi(e) > 0 ? (atoi(e) > 15 ? 15 : atoi(e)) : 3;
    signal(SIGPIPE, SIG_IGN);
    static bench_code_t codes[100000];
    size_t n_codes = 0;
    const char *what = "";
    bench_broker_t b;
    void *ctx = zmq_ctx_new();
    int floor_port = bench_free_port();
    pid_t floor = s_floor_start(floor_port); /* before this process has threads */
    if (floor < 0 || s_broker(&b, ctx, codes, 100000, &n_codes, &what) != 0) {
        fprintf(stderr, "bench_http: the broker or the floor did not start\n");
        return 1;
    }
    snprintf(s_tmp, sizeof s_tmp, "%s", b.dir);
    printf("  data: %s, %zu billable codes\n", what, n_codes);
    const char *build = getenv("CS_BUILD_DIR");
    char exe[700], log[700], why[800], threads[16];
    snprintf(exe, sizeof exe, "%s/bin/codeset-http", build && *build ? build : "build");
    snprintf(log, sizeof log, "%s/http.log", b.dir);
    snprintf(threads, sizeof threads, "%d", s_threads);
    const char *args[] = {"--threads", threads, NULL};
    cs_http_server_t h;
    int rc = 1;
    if (cs_http_start(&h, exe, b.db, log, NULL, args, why, sizeof why) != 0) {
        fprintf(stderr, "bench_http: %s\n", why);
    } else {
        static char body[N_BATCH * 200 + 256];
        s_bundle(codes, n_codes, body, sizeof body);
        if (s_precheck(h.port, body) == 0) {
            rc = s_measure(h.port, floor_port, body, rounds) == 0 ? 0 : 1;
        }
        cs_http_stop(&h);
    }
    kill(floor, SIGTERM);
    waitpid(floor, NULL, 0);
    bench_broker_stop(&b);
    zmq_ctx_term(ctx);
    return rc;
}
