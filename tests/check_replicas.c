/* check_replicas.c: two brokers on copies of one database behind one client (docs/REPLICAS.md).
 *
 * Broker A starts on a temporary database and loads the bundled sample release twice (labels
 * "S" and "T") through its admin endpoint. While a client thread keeps validating against A,
 * `mdb_copy -c` copies A's LMDB directory; broker B starts on the copy and must answer a sweep
 * of lookups, validates, searches, diffs and release lists exactly as A does (reply maps equal).
 * Then one C client (clients/libcsclient) connected to both sends 3,000 pipelined validates
 * while B is stopped mid-run, by SIGTERM and, in a second round, by SIGKILL: every request is
 * answered, matched by its id, with the right verdicts. */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../clients/libcsclient/codeset_client.h"
#include "cs_daemon.h"
#include "cs_test.h"

#define S_SAMPLE "loaders/icd10cm-tabular/sample/"
#define S_DATE "2021-03-01" /* a date of service inside release S */

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void s_sample_path(const char *name, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(out, cap, "%s/" S_SAMPLE "%s", cwd, name);
}

/* Load the sample release under label, in effect from effective, through d's admin socket. */
static void s_load_sample(cs_daemon_t *d, const char *label, const char *effective)
{
    cs_tclient_t *admin = cs_tclient_new(d->admin_ep);
    ck_assert_ptr_nonnull(admin);
    char xml[PATH_MAX + 80], order[PATH_MAX + 80], state[64];
    s_sample_path("icd10cm_tabular_sample.xml", xml, sizeof xml);
    s_sample_path("icd10cm_order_sample.txt", order, sizeof order);
    const char *files[] = {xml, order};
    const msgpack_object *r = cs_daemon_load(d, admin, NULL, label, effective, files, 2, state,
                                             sizeof state, 30000);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(strcmp(state, "done") == 0, "load %s: %s", label, state);
    cs_tclient_destroy(&admin);
}

/* Broker A on a fresh temporary database with releases S (2020-10-01) and T (2021-10-01). */
static void s_start_primary(cs_daemon_t *a)
{
    memset(a, 0, sizeof *a);
    ck_assert_int_eq(cs_daemon_start(a, NULL), 0);
    s_load_sample(a, "S", "2020-10-01");
    s_load_sample(a, "T", "2021-10-01");
}

/* A cs_daemon_t for a broker on a database that is not there yet: a fresh temporary dir with
 * an empty db/ (mode 0700) for mdb_copy to fill. cs_daemon_start then uses it as it is. */
static void s_prepare_replica(cs_daemon_t *b)
{
    memset(b, 0, sizeof *b);
    cs_test_tmpdir(b->dir, sizeof b->dir);
    snprintf(b->db, sizeof b->db, "%s/db", b->dir);
    snprintf(b->query_ep, sizeof b->query_ep, "ipc://%s/query.sock", b->dir);
    snprintf(b->admin_ep, sizeof b->admin_ep, "ipc://%s/admin.sock", b->db);
    snprintf(b->log, sizeof b->log, "%s/codesetd.log", b->dir);
    ck_assert_int_eq(mkdir(b->db, 0700), 0);
}

/* Run `mdb_copy -c src dst`; its stderr goes to log. Returns its exit status (-1 if it did not
 * run or died on a signal). */
static int s_mdb_copy(const char *src, const char *dst, const char *log)
{
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execlp("mdb_copy", "mdb_copy", "-c", src, dst, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        return -1;
    }
    return WEXITSTATUS(status);
}

static cs_client_t *s_client(const char *const *eps, size_t n, int timeout_ms, int tries)
{
    cs_client_opts_t o = {.timeout_ms = timeout_ms, .tries = tries};
    cs_client_error_t err;
    cs_client_t *c = cs_client_new(eps, n, &o, &err);
    ck_assert_msg(c != NULL, "cs_client_new: %s", err.message);
    return c;
}

/* Requests of op the broker behind endpoint has served (its stats reply), or -1. */
static int64_t s_served(const char *endpoint, const char *op)
{
    cs_tclient_t *t = cs_tclient_new(endpoint);
    if (t == NULL) {
        return -1;
    }
    msgpack_packer *pk = cs_tclient_begin(t);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "stats");
    const msgpack_object *r = cs_tclient_call(t, 5000);
    int64_t n = r ? cs_obj_int(cs_obj_get(cs_obj_get(r, "requests"), op)) : -1;
    cs_tclient_destroy(&t);
    return n;
}

/* ---- the codes the streams validate, and what A says of them -------------------------------- */

static const char *const s_codes[] = {"e119",     "E11.65",  "i10",    "M48.40XS",
                                      "s72001a",  "E11.99",  "E11",    "XYZ"};
#define S_NCODES (sizeof s_codes / sizeof s_codes[0])

/* The verdict on one code, as the reference broker gave it. */
typedef struct s_verdict {
    char code[32];   /* canonical code, "" when malformed */
    int valid;       /* may stand on a claim */
    char reason[32]; /* "" when valid */
} s_verdict_t;

static s_verdict_t s_ref[S_NCODES];

/* Fill s_ref from one validate of every code on endpoint, and check it makes sense. */
static void s_reference(const char *endpoint)
{
    const char *eps[] = {endpoint};
    cs_client_t *c = s_client(eps, 1, 5000, 3);
    cs_client_validation_t *v = NULL;
    cs_client_when_t when = {.date = S_DATE};
    ck_assert_int_eq(cs_client_validate(c, "icd10cm", s_codes, S_NCODES, &when, &v),
                     CS_CLIENT_OK);
    ck_assert_str_eq(v->release, "S");
    ck_assert_uint_eq(v->n, S_NCODES);
    for (size_t i = 0; i < S_NCODES; i++) {
        const cs_client_verdict_t *x = &v->results[i];
        snprintf(s_ref[i].code, sizeof s_ref[i].code, "%s", x->code ? x->code : "");
        s_ref[i].valid = x->valid;
        snprintf(s_ref[i].reason, sizeof s_ref[i].reason, "%s", x->reason ? x->reason : "");
    }
    ck_assert(s_ref[0].valid && strcmp(s_ref[0].code, "E11.9") == 0);
    ck_assert(!s_ref[5].valid && strcmp(s_ref[5].reason, "unknown") == 0);
    ck_assert(!s_ref[6].valid && strcmp(s_ref[6].reason, "not_billable") == 0);
    ck_assert(!s_ref[7].valid && strcmp(s_ref[7].reason, "malformed") == 0);
    cs_client_validation_destroy(&v);
    cs_client_destroy(&c);
}

/* 1 if v is the validation of codes s_codes[(first + j) % S_NCODES], j < n, as s_ref says. */
static int s_matches(const cs_client_validation_t *v, size_t first, size_t n, char *why,
                     size_t cap)
{
    if (v == NULL || v->n != n || strcmp(v->release, "S") != 0) {
        snprintf(why, cap, "wrong shape (%zu results)", v ? v->n : 0);
        return 0;
    }
    for (size_t j = 0; j < n; j++) {
        size_t k = (first + j) % S_NCODES;
        const cs_client_verdict_t *x = &v->results[j];
        const char *code = x->code ? x->code : "";
        const char *reason = x->reason ? x->reason : "";
        if (strcmp(x->input, s_codes[k]) != 0 || strcmp(code, s_ref[k].code) != 0 ||
            x->valid != (bool)s_ref[k].valid || strcmp(reason, s_ref[k].reason) != 0) {
            snprintf(why, cap, "result %zu: input %s code %s valid %d reason %s", j, x->input,
                     code, (int)x->valid, reason);
            return 0;
        }
    }
    return 1;
}

/* ---- a client validating against A while its database is copied --------------------------- */

typedef struct s_stream {
    const char *endpoint; /* the broker to validate against */
    atomic_int stop;      /* set to end the loop */
    atomic_long answered; /* correct answers so far */
    atomic_long wrong;    /* failed calls or wrong answers */
    char why[256];        /* the first failure */
} s_stream_t;

static void *s_stream_run(void *arg)
{
    s_stream_t *s = arg;
    const char *eps[] = {s->endpoint};
    cs_client_opts_t o = {.timeout_ms = 2000, .tries = 3};
    cs_client_t *c = cs_client_new(eps, 1, &o, NULL);
    if (c == NULL) {
        snprintf(s->why, sizeof s->why, "cs_client_new failed");
        atomic_fetch_add(&s->wrong, 1);
        return NULL;
    }
    cs_client_when_t when = {.date = S_DATE};
    for (size_t i = 0; !atomic_load(&s->stop); i++) {
        const char *codes[S_NCODES];
        for (size_t j = 0; j < S_NCODES; j++) {
            codes[j] = s_codes[(i + j) % S_NCODES];
        }
        cs_client_validation_t *v = NULL;
        int rc = cs_client_validate(c, "icd10cm", codes, S_NCODES, &when, &v);
        char why[200] = "";
        if (rc == CS_CLIENT_OK && s_matches(v, i % S_NCODES, S_NCODES, why, sizeof why)) {
            atomic_fetch_add(&s->answered, 1);
        } else {
            if (atomic_fetch_add(&s->wrong, 1) == 0) {
                snprintf(s->why, sizeof s->why, "validate %zu: %s %s", i,
                         rc == CS_CLIENT_OK ? "" : cs_client_last_error(c)->message, why);
            }
        }
        cs_client_validation_destroy(&v);
    }
    cs_client_destroy(&c);
    return NULL;
}

/* Copy A's database into b (prepared by s_prepare_replica) with mdb_copy -c while a client
 * validates against A, and check A answered that client, correctly, before, during and after
 * the copy. Then start broker B on the copy. */
static void s_copy_while_serving(cs_daemon_t *a, cs_daemon_t *b)
{
    s_reference(a->query_ep);
    s_stream_t st = {.endpoint = a->query_ep};
    atomic_init(&st.stop, 0);
    atomic_init(&st.answered, 0);
    atomic_init(&st.wrong, 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, s_stream_run, &st), 0);
    for (int i = 0; i < 500 && atomic_load(&st.answered) < 20; i++) {
        s_sleep_ms(10);
    }
    long before = atomic_load(&st.answered);
    char log[700];
    snprintf(log, sizeof log, "%s/mdb_copy.log", b->dir);
    int64_t t0 = s_now_ms();
    int rc = s_mdb_copy(a->db, b->db, log);
    int64_t took = s_now_ms() - t0;
    long during = atomic_load(&st.answered) - before;
    for (int i = 0; i < 500 && atomic_load(&st.answered) < before + during + 20; i++) {
        s_sleep_ms(10);
    }
    atomic_store(&st.stop, 1);
    pthread_join(th, NULL);
    ck_assert_msg(rc == 0, "mdb_copy -c %s %s exited %d (is lmdb-utils installed? see %s)",
                  a->db, b->db, rc, log);
    ck_assert_msg(atomic_load(&st.wrong) == 0, "%ld bad answers from A during the copy; first: %s",
                  atomic_load(&st.wrong), st.why);
    ck_assert_msg(before >= 20, "A answered only %ld validates before the copy", before);
    ck_assert_msg(during >= 1, "A answered no validate during the %lld ms copy",
                  (long long)took);
    ck_assert_int_ge(atomic_load(&st.answered), before + during + 20);
    fprintf(stderr, "replicas: mdb_copy -c took %lld ms; A answered %ld validates meanwhile\n",
            (long long)took, during);

    char path[700];
    struct stat sb;
    snprintf(path, sizeof path, "%s/data.mdb", b->db);
    ck_assert_msg(stat(path, &sb) == 0 && sb.st_size > 0, "no %s after mdb_copy", path);
    ck_assert_int_eq(cs_daemon_start(b, NULL), 0);
}

/* ---- B answers as A ------------------------------------------------------------------------ */

/* The request being compared, packed once and sent to both. */
typedef struct s_pair {
    cs_tclient_t *a;    /* client of A */
    cs_tclient_t *b;    /* client of B */
    msgpack_sbuffer sb; /* the request */
    msgpack_packer pk;  /* packs into sb */
    size_t n;           /* requests compared */
} s_pair_t;

static msgpack_packer *s_pair_begin(s_pair_t *p)
{
    msgpack_sbuffer_clear(&p->sb);
    return &p->pk;
}

/* Send p's request to A and B; both replies must be ok:true and equal as msgpack objects. */
static void s_pair_check(s_pair_t *p, const char *what)
{
    const msgpack_object *ra = cs_tclient_call_raw(p->a, p->sb.data, p->sb.size, 5000);
    ck_assert_msg(ra != NULL, "%s: no reply from A", what);
    ck_assert_msg(cs_obj_true(cs_obj_get(ra, "ok")), "%s: A answered an error", what);
    const msgpack_object *rb = cs_tclient_call_raw(p->b, p->sb.data, p->sb.size, 5000);
    ck_assert_msg(rb != NULL, "%s: no reply from B", what);
    if (!msgpack_object_equal(*ra, *rb)) {
        fprintf(stderr, "%s: A answered ", what);
        msgpack_object_print(stderr, *ra);
        fprintf(stderr, "\n%s: B answered ", what);
        msgpack_object_print(stderr, *rb);
        fputc('\n', stderr);
        ck_abort_msg("%s: B's reply differs from A's (both printed above)", what);
    }
    p->n++;
}

/* The codes of the sample's order file (column 7 to 13 of each line), without the dot. */
static size_t s_order_codes(char codes[][8], size_t cap)
{
    char path[PATH_MAX + 80];
    s_sample_path("icd10cm_order_sample.txt", path, sizeof path);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[512];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        if (strlen(line) < 14) {
            continue;
        }
        size_t len = 0;
        while (len < 7 && line[6 + len] != ' ') {
            len++;
        }
        memcpy(codes[n], line + 6, len);
        codes[n][len] = '\0';
        n++;
    }
    fclose(f);
    return n;
}

START_TEST(test_copy_answers_alike)
{
    cs_daemon_t a, b;
    s_start_primary(&a);
    s_prepare_replica(&b);
    s_copy_while_serving(&a, &b);

    s_pair_t p = {.a = cs_tclient_new(a.query_ep), .b = cs_tclient_new(b.query_ep)};
    ck_assert_ptr_nonnull(p.a);
    ck_assert_ptr_nonnull(p.b);
    msgpack_sbuffer_init(&p.sb);
    msgpack_packer_init(&p.pk, &p.sb, msgpack_sbuffer_write);

    static char codes[400][8];
    size_t n = s_order_codes(codes, 400);
    ck_assert_uint_ge(n, 100);
    char what[96];
    for (size_t i = 0; i < n; i++) {
        msgpack_packer *pk = s_pair_begin(&p);
        msgpack_pack_map(pk, 4);
        cs_tpack_kv(pk, "op", "lookup");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "code", codes[i]);
        cs_tpack_str(pk, "include");
        msgpack_pack_array(pk, 3);
        cs_tpack_str(pk, "notes");
        cs_tpack_str(pk, "children");
        cs_tpack_str(pk, "ancestors");
        snprintf(what, sizeof what, "lookup %s", codes[i]);
        s_pair_check(&p, what);

        /* the code, its neighbour in the file, a malformed and an unknown one, by date */
        static const char *const dates[] = {"2020-12-01", "2022-01-15", NULL};
        for (size_t d = 0; d < 3; d++) {
            pk = s_pair_begin(&p);
            msgpack_pack_map(pk, dates[d] ? 4 : 3);
            cs_tpack_kv(pk, "op", "validate");
            cs_tpack_kv(pk, "system", "icd10cm");
            if (dates[d]) {
                cs_tpack_kv(pk, "date", dates[d]);
            }
            cs_tpack_str(pk, "codes");
            msgpack_pack_array(pk, 4);
            cs_tpack_str(pk, codes[i]);
            cs_tpack_str(pk, codes[(i + 1) % n]);
            cs_tpack_str(pk, "E1!");
            cs_tpack_str(pk, "Z99.999");
            snprintf(what, sizeof what, "validate %s on %s", codes[i],
                     dates[d] ? dates[d] : "(newest)");
            s_pair_check(&p, what);
        }
    }
    /* searches, word and code-prefix, pinned to each release */
    static const char *const queries[] = {"diabetes",  "type 2 diab", "hypertensive", "fracture",
                                          "e11.6",     "s72",         "diabetis",     "kidney"};
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        for (int rel = 0; rel < 2; rel++) {
            msgpack_packer *pk = s_pair_begin(&p);
            msgpack_pack_map(pk, 5);
            cs_tpack_kv(pk, "op", "search");
            cs_tpack_kv(pk, "system", "icd10cm");
            cs_tpack_kv(pk, "q", queries[q]);
            cs_tpack_kv(pk, "release", rel ? "T" : "S");
            cs_tpack_str(pk, "limit");
            msgpack_pack_int(pk, 50);
            snprintf(what, sizeof what, "search '%s'", queries[q]);
            s_pair_check(&p, what);
        }
    }
    /* the catalog (labels, dates, file digests, load times) and a diff of the two releases */
    msgpack_packer *pk = s_pair_begin(&p);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "releases");
    s_pair_check(&p, "releases");
    const msgpack_object *rel = cs_tclient_call_raw(p.b, p.sb.data, p.sb.size, 5000);
    ck_assert_ptr_nonnull(rel);
    const msgpack_object *list = cs_obj_get(rel, "releases");
    ck_assert(list != NULL && list->type == MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq(list->via.array.size, 2);
    pk = s_pair_begin(&p);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "diff");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", "S");
    cs_tpack_kv(pk, "to_release", "T");
    s_pair_check(&p, "diff S T");
    ck_assert_uint_ge(p.n, 4 * n + 16 + 2);

    msgpack_sbuffer_destroy(&p.sb);
    cs_tclient_destroy(&p.a);
    cs_tclient_destroy(&p.b);
    ck_assert_int_eq(cs_daemon_stop(&b), 0);
    ck_assert_int_eq(cs_daemon_stop(&a), 0);
    cs_daemon_cleanup(&b);
    cs_daemon_cleanup(&a);
}
END_TEST

/* ---- one client, two brokers, one of them stops mid-run ----------------------------------- */

typedef struct s_killer {
    cs_daemon_t *victim; /* the broker to stop */
    int delay_ms;        /* how long after the run starts */
    int how;             /* 0: SIGTERM, 1: SIGKILL */
    int64_t served;      /* validates the victim had served just before it was stopped */
    const char *other;   /* the broker that stays up */
    int64_t other_at;    /* validates it had served when the victim was stopped (SIGTERM:
                          * when the signal went, as the victim drains after it) */
    int status;          /* exit status after SIGTERM */
    int64_t at;          /* when the signal went (monotonic ms) */
} s_killer_t;

static void *s_kill_later(void *arg)
{
    s_killer_t *k = arg;
    s_sleep_ms(k->delay_ms);
    k->served = s_served(k->victim->query_ep, "validate");
    /* when the signal goes: after SIGTERM a broker drains, answering its open connections
     * until they go quiet, so it may exit only after the run */
    k->at = s_now_ms();
    if (k->how == 0) {
        k->other_at = s_served(k->other, "validate");
        k->status = cs_daemon_stop(k->victim);
    } else {
        cs_daemon_kill9(k->victim);
        k->other_at = s_served(k->other, "validate");
    }
    return NULL;
}

START_TEST(test_replica_stops_mid_run)
{
    cs_daemon_t a, b;
    s_start_primary(&a);
    s_prepare_replica(&b);
    s_copy_while_serving(&a, &b);
    int64_t a_before = s_served(a.query_ep, "validate");

    const char *eps[] = {a.query_ep, b.query_ep};
    cs_client_t *c = s_client(eps, 2, 300, 5);
    ck_assert_int_eq(cs_client_ping(c, NULL), CS_CLIENT_OK);
    s_sleep_ms(100); /* both connections up, so requests spread over the two */

    /* enough work that the run outlasts B's stop by far, on a broker with code indexes */
    enum { N = 8000, K = 40 };
    const char *codes[K];
    cs_client_batch_t *batch = cs_client_batch_new();
    ck_assert_ptr_nonnull(batch);
    cs_client_when_t when = {.date = S_DATE};
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < K; j++) {
            codes[j] = s_codes[(i + j) % S_NCODES];
        }
        size_t idx = 0;
        ck_assert_int_eq(cs_client_batch_add_validate(batch, "icd10cm", codes, K, &when, &idx),
                         CS_CLIENT_OK);
        ck_assert_uint_eq(idx, i);
    }
    s_killer_t k = {.victim = &b, .other = a.query_ep, .delay_ms = 60, .how = _i, .status = -9};
    pthread_t th;
    int64_t t0 = s_now_ms();
    ck_assert_int_eq(pthread_create(&th, NULL, s_kill_later, &k), 0);
    int rc = cs_client_batch_run(c, batch);
    int64_t t1 = s_now_ms();
    pthread_join(th, NULL);
    ck_assert_msg(rc == CS_CLIENT_OK, "run: %s", cs_client_last_error(c)->message);
    ck_assert_msg(k.at > t0 && k.at < t1, "B stopped %lld ms into a %lld ms run",
                  (long long)(k.at - t0), (long long)(t1 - t0));
    ck_assert_msg(k.served > 0, "B served no validate before it was stopped (%lld)",
                  (long long)k.served);
    if (k.how == 0) {
        ck_assert_int_eq(k.status, 0); /* SIGTERM: a clean exit */
    }

    /* no request lost: each answered once, by id, with the verdicts A gave */
    ck_assert_uint_eq(cs_client_batch_answered(batch), N);
    char why[200];
    for (size_t i = 0; i < N; i++) {
        const cs_client_error_t *err = NULL;
        int st = cs_client_batch_status(batch, i, &err);
        ck_assert_msg(st == CS_CLIENT_OK, "request %zu: status %d (%s)", i, st,
                      err ? err->message : "");
        const cs_client_validation_t *v = cs_client_batch_validation(batch, i);
        ck_assert_msg(s_matches(v, i % S_NCODES, K, why, sizeof why), "request %zu: %s", i,
                      why);
    }
    /* A took over: requests that B never answered went to A after B was gone */
    int64_t a_end = s_served(a.query_ep, "validate");
    ck_assert_msg(k.other_at >= a_before && a_end > k.other_at,
                  "A served %lld validates before B stopped and %lld after (B: %lld; run %lld ms,"
                  " B stopped at %lld ms)", (long long)(k.other_at - a_before),
                  (long long)(a_end - k.other_at), (long long)k.served, (long long)(t1 - t0),
                  (long long)(k.at - t0));
    ck_assert_int_ge(a_end - a_before + k.served, N / 2);
    fprintf(stderr, "replicas: %s of B after %lld ms of a %lld ms run of %d validates: B served "
            "%lld, A %lld (%lld after), %llu reconnects\n", k.how ? "SIGKILL" : "SIGTERM",
            (long long)(k.at - t0), (long long)(t1 - t0), N, (long long)k.served,
            (long long)(a_end - a_before), (long long)(a_end - k.other_at),
            (unsigned long long)cs_client_reconnects(c));

    /* and goes on answering alone, without a retry */
    uint64_t reconnects = cs_client_reconnects(c);
    cs_client_validation_t *v = NULL;
    ck_assert_int_eq(cs_client_validate(c, "icd10cm", s_codes, S_NCODES, &when, &v),
                     CS_CLIENT_OK);
    ck_assert(s_matches(v, 0, S_NCODES, why, sizeof why));
    cs_client_validation_destroy(&v);
    ck_assert_uint_eq(cs_client_reconnects(c), reconnects);

    cs_client_batch_destroy(&batch);
    cs_client_destroy(&c);
    ck_assert_int_eq(cs_daemon_stop(&a), 0);
    cs_daemon_cleanup(&b);
    cs_daemon_cleanup(&a);
}
END_TEST

Suite *cs_replicas_suite(void);
Suite *cs_replicas_suite(void)
{
    Suite *s = suite_create("replicas");
    TCase *tc = tcase_create("copy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_copy_answers_alike);
    suite_add_tcase(s, tc);
    tc = tcase_create("failover");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_replica_stops_mid_run, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
