/* check_soak.c: a bounded mixed load against a real codesetd.
 *
 * 8 client threads send good requests (ping, lookup with every include, validate of 50
 * codes, search, releases, a malformed code) and hostile ones (not msgpack, a map32 claiming
 * 4G entries, 100,000 nested arrays, 10,001 codes, an unknown op, wrong types, protocol v2,
 * an admin op on the query endpoint) for CS_SOAK_SECONDS (default 20 s: `make check` runs
 * every suite on two shared cores and the other integration suites already take minutes;
 * set CS_SOAK_SECONDS=60 or more for a longer soak). Half-way through, the sample release is
 * loaded again under its own label (an atomic replace) while the clients keep going.
 * Passes when:
 *   - the broker process is alive at the end and exits 0 on SIGTERM (no crash);
 *   - every request got a reply within T_REPLY_MS, and each reply is the one expected
 *     (good requests succeed, including lookups during the replace; hostile ones get their
 *     error code): zero unanswered, zero wrong;
 *   - the broker's VmRSS grew by less than S_RSS_BOUND between 25% and 100% of the run
 *     (not asserted under AddressSanitizer, whose quarantine keeps freed memory resident on
 *     purpose; there LeakSanitizer checks the broker's exit instead).
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_CLIENTS 8
#define T_REPLY_MS 10000               /* a reply later than this counts as unanswered */
#define S_RSS_BOUND (8 * 1024 * 1024)  /* VmRSS growth allowed from 25% to 100% of the run */
#define S_DEEP 100000                  /* nested arrays in the deep body */

#if defined(__SANITIZE_ADDRESS__)
#define S_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_ASAN 1
#endif
#endif
#ifndef S_ASAN
#define S_ASAN 0
#endif

/* Shared by the client threads: read-only after set-up, except the counters. */
typedef struct s_soak {
    const char *endpoint;    /* query endpoint */
    char **codes;            /* sample codes */
    size_t n_codes;
    double deadline;         /* CLOCK_MONOTONIC seconds */
    uint8_t *deep;           /* S_DEEP nested arrays */
    msgpack_sbuffer many;    /* validate with 10,001 codes */
    pthread_mutex_t lock;    /* guards the fields below */
    uint64_t sent;           /* requests sent */
    uint64_t unanswered;     /* no reply within T_REPLY_MS */
    uint64_t wrong;          /* a reply other than the expected one */
    char first_wrong[256];   /* what the first wrong reply was */
    uint64_t by_kind[16];    /* requests of each kind */
} s_soak_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum {
    K_PING, K_LOOKUP, K_VALIDATE, K_SEARCH, K_RELEASES, K_MALFORMED_CODE, K_NOT_MSGPACK,
    K_MAP32, K_DEEP, K_TOO_MANY, K_UNKNOWN_OP, K_WRONG_TYPE, K_VERSION, K_FORBIDDEN, K_COUNT
};

/* Send one request of kind k. Sets *unanswered when no reply came in time, and fills why
 * when the reply is not the expected one ("" when it is). */
static void s_one(s_soak_t *s, cs_tclient_t *c, int k, unsigned *seed, int *unanswered,
                  char *why, size_t cap)
{
    static const uint8_t not_msgpack[] = "this is not msgpack at all";
    static const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a'};
    const msgpack_object *r = NULL;
    const char *want_error = NULL;
    msgpack_packer *pk;
    const char *code = s->codes[rand_r(seed) % s->n_codes];
    *unanswered = 0;
    why[0] = '\0';
    switch (k) {
    case K_PING:
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 1);
        cs_tpack_kv(pk, "op", "ping");
        r = cs_tclient_call(c, T_REPLY_MS);
        break;
    case K_LOOKUP:
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 4);
        cs_tpack_kv(pk, "op", "lookup");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "code", code);
        cs_tpack_str(pk, "include");
        msgpack_pack_array(pk, 3);
        cs_tpack_str(pk, "notes");
        cs_tpack_str(pk, "children");
        cs_tpack_str(pk, "ancestors");
        r = cs_tclient_call(c, T_REPLY_MS);
        if (r && !cs_obj_true(cs_obj_get(r, "found"))) {
            snprintf(why, cap, "lookup of %s: not found", code);
        }
        break;
    case K_VALIDATE:
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "validate");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_str(pk, "codes");
        msgpack_pack_array(pk, 50);
        for (int i = 0; i < 50; i++) {
            cs_tpack_str(pk, s->codes[rand_r(seed) % s->n_codes]);
        }
        r = cs_tclient_call(c, T_REPLY_MS);
        if (r) {
            const msgpack_object *res = cs_obj_get(r, "results");
            if (!res || res->type != MSGPACK_OBJECT_ARRAY || res->via.array.size != 50) {
                snprintf(why, cap, "validate: not 50 results");
            }
        }
        break;
    case K_SEARCH:
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 4);
        cs_tpack_kv(pk, "op", "search");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "q", rand_r(seed) % 2 ? "diab mel" : "fracture");
        cs_tpack_str(pk, "limit");
        msgpack_pack_int(pk, 20);
        r = cs_tclient_call(c, T_REPLY_MS);
        break;
    case K_RELEASES:
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 1);
        cs_tpack_kv(pk, "op", "releases");
        r = cs_tclient_call(c, T_REPLY_MS);
        if (r) {
            const msgpack_object *rels = cs_obj_get(r, "releases");
            if (!rels || rels->type != MSGPACK_OBJECT_ARRAY || rels->via.array.size != 1) {
                snprintf(why, cap, "releases: not exactly the one release S");
            }
        }
        break;
    case K_MALFORMED_CODE:
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "lookup");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "code", "1!x");
        r = cs_tclient_call(c, T_REPLY_MS);
        if (r && (cs_obj_true(cs_obj_get(r, "found")) ||
                  !cs_obj_is_str(cs_obj_get(r, "reason"), "malformed"))) {
            snprintf(why, cap, "lookup of a malformed code: not reason malformed");
        }
        break;
    case K_NOT_MSGPACK:
        want_error = "bad_request";
        r = cs_tclient_call_raw(c, not_msgpack, sizeof not_msgpack - 1, T_REPLY_MS);
        break;
    case K_MAP32:
        want_error = "bad_request";
        r = cs_tclient_call_raw(c, map32, sizeof map32, T_REPLY_MS);
        break;
    case K_DEEP:
        want_error = "bad_request";
        r = cs_tclient_call_raw(c, s->deep, S_DEEP + 1, T_REPLY_MS);
        break;
    case K_TOO_MANY:
        want_error = "too_many";
        r = cs_tclient_call_raw(c, s->many.data, s->many.size, T_REPLY_MS);
        break;
    case K_UNKNOWN_OP:
        want_error = "unknown_op";
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 1);
        cs_tpack_kv(pk, "op", "self-destruct");
        r = cs_tclient_call(c, T_REPLY_MS);
        break;
    case K_WRONG_TYPE:
        want_error = "bad_request";
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "validate");
        cs_tpack_str(pk, "system");
        msgpack_pack_array(pk, 1);
        msgpack_pack_nil(pk);
        cs_tpack_str(pk, "codes");
        msgpack_pack_int(pk, -1);
        r = cs_tclient_call(c, T_REPLY_MS);
        break;
    case K_VERSION:
        want_error = "unsupported_version";
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 2);
        cs_tpack_kv(pk, "op", "ping");
        cs_tpack_str(pk, "v");
        msgpack_pack_int(pk, 2);
        r = cs_tclient_call(c, T_REPLY_MS);
        break;
    default:
        want_error = "forbidden";
        pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "drop");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "release", "S");
        r = cs_tclient_call(c, T_REPLY_MS);
        break;
    }
    if (!r) {
        *unanswered = 1;
        return;
    }
    char got[64];
    cs_obj_error_code(r, got, sizeof got);
    if (want_error && strcmp(got, want_error) != 0) {
        snprintf(why, cap, "request kind %d: error '%s', expected '%s'", k, got, want_error);
    } else if (!want_error && !cs_obj_true(cs_obj_get(r, "ok"))) {
        snprintf(why, cap, "request kind %d failed: %s", k, got);
    }
}

static void *s_client(void *arg)
{
    s_soak_t *s = arg;
    cs_tclient_t *c = cs_tclient_new(s->endpoint);
    unsigned seed = (unsigned)(uintptr_t)&c ^ (unsigned)time(NULL);
    char why[200];
    while (c && s_now() < s->deadline) {
        int k = (int)(rand_r(&seed) % K_COUNT);
        int unanswered;
        s_one(s, c, k, &seed, &unanswered, why, sizeof why);
        pthread_mutex_lock(&s->lock);
        s->sent++;
        s->by_kind[k]++;
        s->unanswered += (uint64_t)unanswered;
        if (why[0] && s->wrong++ == 0) {
            snprintf(s->first_wrong, sizeof s->first_wrong, "%s", why);
        }
        pthread_mutex_unlock(&s->lock);
    }
    if (!c) {
        pthread_mutex_lock(&s->lock);
        s->unanswered++;
        snprintf(s->first_wrong, sizeof s->first_wrong, "cannot create a client");
        pthread_mutex_unlock(&s->lock);
    }
    cs_tclient_destroy(&c);
    return NULL;
}

/* A "Name:   1234 kB" line of /proc/<pid>/status, in bytes; -1 if absent. */
static long long s_status_kb(pid_t pid, const char *name)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    long long v = -1;
    size_t n = strlen(name);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            v = atoll(line + n + 1) * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

static void s_sleep_until(double t)
{
    double left = t - s_now();
    if (left > 0) {
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

START_TEST(test_soak)
{
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    ck_assert_ptr_nonnull(admin);
    char cwd[PATH_MAX], xml[PATH_MAX + 80], order[PATH_MAX + 80], state[64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(xml, sizeof xml, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml",
             cwd);
    snprintf(order, sizeof order, "%s/loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt",
             cwd);
    const char *files[] = {xml, order};
    cs_daemon_load(&d, admin, "icd10cm-tabular", "S", "2020-10-01", files, 2, state,
                   sizeof state, 60000);
    ck_assert_str_eq(state, "done");

    s_soak_t s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    s.endpoint = d.query_ep;
    /* the sample's codes, from the order file's code column */
    FILE *f = fopen(order, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        if (strlen(line) < 14) {
            continue;
        }
        if (s.n_codes == cap) {
            cap = cap ? cap * 2 : 256;
            s.codes = realloc(s.codes, cap * sizeof *s.codes);
            ck_assert_ptr_nonnull(s.codes);
        }
        s.codes[s.n_codes] = strndup(line + 6, 7);
        ck_assert_ptr_nonnull(s.codes[s.n_codes]);
        s.n_codes++;
    }
    fclose(f);
    ck_assert_uint_gt(s.n_codes, 100);
    s.deep = malloc(S_DEEP + 1);
    ck_assert_ptr_nonnull(s.deep);
    memset(s.deep, 0x91, S_DEEP);
    s.deep[S_DEEP] = 0xc0;
    msgpack_sbuffer_init(&s.many);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s.many, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    cs_tpack_kv(&pk, "op", "validate");
    cs_tpack_kv(&pk, "system", "icd10cm");
    cs_tpack_str(&pk, "codes");
    msgpack_pack_array(&pk, 10001);
    for (int i = 0; i < 10001; i++) {
        cs_tpack_str(&pk, "E11.9");
    }

    const char *env = getenv("CS_SOAK_SECONDS");
    double secs = env && atof(env) > 0 ? atof(env) : 20.0;
    double t0 = s_now();
    s.deadline = t0 + secs;
    pthread_t th[T_CLIENTS];
    for (int i = 0; i < T_CLIENTS; i++) {
        ck_assert_int_eq(pthread_create(&th[i], NULL, s_client, &s), 0);
    }
    s_sleep_until(t0 + secs * 0.25);
    long long rss25 = s_status_kb(d.pid, "VmRSS");
    long long anon25 = s_status_kb(d.pid, "RssAnon");
    s_sleep_until(t0 + secs * 0.5);
    /* the replace, under load: every lookup meanwhile must still find its code */
    double tl = s_now();
    cs_daemon_load(&d, admin, "icd10cm-tabular", "S", "2020-10-01", files, 2, state,
                   sizeof state, 60000);
    ck_assert_str_eq(state, "done");
    double load_secs = s_now() - tl;
    for (int i = 0; i < T_CLIENTS; i++) {
        pthread_join(th[i], NULL);
    }
    long long rss100 = s_status_kb(d.pid, "VmRSS");
    long long anon100 = s_status_kb(d.pid, "RssAnon");
    double took = s_now() - t0;

    /* the broker is alive: not exited, not a zombie */
    ck_assert_int_eq(waitpid(d.pid, NULL, WNOHANG), 0);
    ck_assert_int_eq(kill(d.pid, 0), 0);
    fprintf(stderr,
            "soak: %.1f s, %d clients, %llu requests (%.0f/s), %llu unanswered, %llu wrong; "
            "reload under load %.2f s; VmRSS %lld -> %lld KiB, RssAnon %lld -> %lld KiB%s\n",
            took, T_CLIENTS, (unsigned long long)s.sent, (double)s.sent / took,
            (unsigned long long)s.unanswered, (unsigned long long)s.wrong, load_secs,
            rss25 / 1024, rss100 / 1024, anon25 / 1024, anon100 / 1024,
            S_ASAN ? " (ASan: not asserted)" : "");
    ck_assert_msg(s.unanswered == 0, "%llu requests unanswered within %d ms",
                  (unsigned long long)s.unanswered, T_REPLY_MS);
    ck_assert_msg(s.wrong == 0, "%llu wrong replies; the first: %s",
                  (unsigned long long)s.wrong, s.first_wrong);
    for (int k = 0; k < K_COUNT; k++) {
        ck_assert_msg(s.by_kind[k] > 0, "request kind %d never sent", k);
    }
    ck_assert_int_gt(rss25, 0);
    ck_assert_int_gt(rss100, 0);
    if (!S_ASAN) {
        ck_assert_msg(rss100 - rss25 < S_RSS_BOUND,
                      "broker VmRSS grew by %lld KiB from 25%% to 100%% of the run (bound %d)",
                      (rss100 - rss25) / 1024, S_RSS_BOUND / 1024);
    }

    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
    for (size_t i = 0; i < s.n_codes; i++) {
        free(s.codes[i]);
    }
    free(s.codes);
    free(s.deep);
    msgpack_sbuffer_destroy(&s.many);
    pthread_mutex_destroy(&s.lock);
}
END_TEST

Suite *cs_soak_suite(void);
Suite *cs_soak_suite(void)
{
    Suite *s = suite_create("soak");
    TCase *tc = tcase_create("mixed load");
    /* CS_SOAK_SECONDS of load plus set-up; generous for sanitizer builds */
    const char *env = getenv("CS_SOAK_SECONDS");
    double secs = env && atof(env) > 0 ? atof(env) : 20.0;
    tcase_set_timeout(tc, secs + 240);
    tcase_add_test(tc, test_soak);
    suite_add_tcase(s, tc);
    return s;
}
