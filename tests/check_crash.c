/* check_crash.c: kill -9 at random moments of a load, 20+ times, against a real codesetd.
 *
 * Two releases are active before the first kill: "S" (the bundled sample, tabular XML and
 * order file) and "T" (a synthetic release of 61,000 codes written here). Each round starts a
 * reload of one of them (the same label: an atomic replace), waits a random time drawn over
 * the whole length of that load (measured once beforehand, plus 20% so some rounds land just
 * after the publish), kills the broker with SIGKILL and restarts it on the same database.
 * After every restart:
 *   - `releases` lists exactly S and T, each with the code and billable counts of a complete
 *     load (a partial release is never listed; a replace is all or nothing);
 *   - a full validate sweep of every code of S and of T (plus malformed and unknown inputs),
 *     pinned to each release, hashes to the same value as before the first kill;
 *   - the database has not grown without bound (a half-written release is purged at start).
 * CS_CRASH_ROUNDS overrides the number of rounds (default 40); CS_CRASH_SEED the seed.
 */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 10000
#define T_CHUNK 10000 /* codes per validate request: the protocol's maximum */

/* Every code a sweep validates, as C strings (owned). */
typedef struct s_codes {
    char **v;
    size_t n;
    size_t cap;
} s_codes_t;

static void s_codes_add(s_codes_t *c, const char *code)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        ck_assert_ptr_nonnull(c->v);
    }
    c->v[c->n] = strdup(code);
    ck_assert_ptr_nonnull(c->v[c->n]);
    c->n++;
}

static void s_codes_free(s_codes_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i]);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Inputs that are no code of either release: malformed, unknown, headers, odd spacing. */
static void s_codes_add_junk(s_codes_t *c)
{
    static const char *const junk[] = {"XYZ",   "",      "E11",    " e11.9 ", "A00.00",
                                       "Z99.99", "123",   "M48.40", "m4840xs", "S72.001",
                                       "U07.1", "E11..9", "A0",    "J99.9999", "\xff\xfe"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        s_codes_add(c, junk[i]);
    }
}

/* The code column (characters 7-13) of every line of an order file. */
static void s_codes_from_order(s_codes_t *c, const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (strlen(line) < 14) {
            continue;
        }
        char code[8];
        memcpy(code, line + 6, 7);
        code[7] = '\0';
        for (int i = 6; i >= 0 && code[i] == ' '; i--) {
            code[i] = '\0';
        }
        s_codes_add(c, code);
    }
    fclose(f);
}

/* A synthetic tabular release: categories K00..T99, 10 subcategories each with 5 codes,
 * 61,000 codes in all; every one of them goes into c. */
static void s_write_synthetic(const char *path, s_codes_t *c)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ICD10CM.tabular>\n<version>T</version>\n"
          "<chapter><name>1</name><desc>Synthetic chapter</desc>\n"
          "<section id=\"K00-T99\"><desc>Synthetic block (K00-T99)</desc>\n",
          f);
    char code[16];
    for (char l = 'K'; l <= 'T'; l++) {
        for (int k = 0; k < 100; k++) {
            fprintf(f, "<diag><name>%c%02d</name><desc>Crash test condition %c%02d</desc>\n", l,
                    k, l, k);
            snprintf(code, sizeof code, "%c%02d", l, k);
            s_codes_add(c, code);
            for (int s = 0; s < 10; s++) {
                fprintf(f, "<diag><name>%c%02d.%d</name><desc>Crash test %c%02d type %d</desc>\n",
                        l, k, s, l, k, s);
                snprintf(code, sizeof code, "%c%02d.%d", l, k, s);
                s_codes_add(c, code);
                for (int x = 0; x < 5; x++) {
                    fprintf(f, "<diag><name>%c%02d.%d%d</name><desc>Crash test %c%02d type %d "
                               "variant %d, a title long enough to fill pages</desc></diag>\n",
                            l, k, s, x, l, k, s, x);
                    snprintf(code, sizeof code, "%c%02d.%d%d", l, k, s, x);
                    s_codes_add(c, code);
                }
                fputs("</diag>\n", f);
            }
            fputs("</diag>\n", f);
        }
    }
    fputs("</section></chapter></ICD10CM.tabular>\n", f);
    fclose(f);
}

static uint64_t s_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 1099511628211u;
    }
    return h;
}

/* Validate every code of c pinned to release label, in chunks; hash the packed results. */
static uint64_t s_sweep(cs_tclient_t *q, const char *label, const s_codes_t *c)
{
    uint64_t h = 1469598103934665603u;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t at = 0; at < c->n; at += T_CHUNK) {
        size_t n = c->n - at < T_CHUNK ? c->n - at : T_CHUNK;
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 4);
        cs_tpack_kv(pk, "op", "validate");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "release", label);
        cs_tpack_str(pk, "codes");
        msgpack_pack_array(pk, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            cs_tpack_str(pk, c->v[at + i]);
        }
        const msgpack_object *r = cs_tclient_call(q, 30000);
        ck_assert_msg(r != NULL, "no reply to a validate sweep of %s", label);
        char code[64];
        ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "sweep of %s refused: %s", label,
                      cs_obj_error_code(r, code, sizeof code));
        const msgpack_object *res = cs_obj_get(r, "results");
        ck_assert_ptr_nonnull(res);
        ck_assert_uint_eq(res->via.array.size, n);
        msgpack_sbuffer_clear(&sb);
        msgpack_packer rp;
        msgpack_packer_init(&rp, &sb, msgpack_sbuffer_write);
        msgpack_pack_object(&rp, *res);
        h = s_fnv(h, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    return h;
}

typedef struct s_rel {
    int64_t codes;    /* codes of the complete release */
    int64_t billable; /* its billable codes */
} s_rel_t;

/* `releases` must list exactly S and T, complete; fills s and t. */
static void s_releases(cs_tclient_t *q, s_rel_t *s, s_rel_t *t)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "releases");
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    const msgpack_object *rels = cs_obj_get(r, "releases");
    ck_assert_ptr_nonnull(rels);
    ck_assert_msg(rels->via.array.size == 2, "%u releases listed, expected S and T",
                  rels->via.array.size);
    int seen = 0;
    for (uint32_t i = 0; i < rels->via.array.size; i++) {
        const msgpack_object *rel = &rels->via.array.ptr[i];
        s_rel_t *into = cs_obj_is_str(cs_obj_get(rel, "release"), "S")   ? s
                        : cs_obj_is_str(cs_obj_get(rel, "release"), "T") ? t
                                                                          : NULL;
        char label[64];
        ck_assert_msg(into != NULL, "unexpected release '%s'",
                      cs_obj_cstr(cs_obj_get(rel, "release"), label, sizeof label));
        ck_assert(cs_obj_is_str(cs_obj_get(rel, "status"), "active"));
        into->codes = cs_obj_int(cs_obj_get(rel, "codes"));
        into->billable = cs_obj_int(cs_obj_get(rel, "billable"));
        seen |= into == s ? 1 : 2;
    }
    ck_assert_int_eq(seen, 3);
}

static int64_t s_db_bytes(cs_tclient_t *q)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "stats");
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    return cs_obj_int(cs_obj_get(r, "db_bytes"));
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start a load and return at once (the job runs in the broker). */
static void s_start_load(cs_tclient_t *admin, const char *label, const char *eff,
                         const char *const *files, size_t n)
{
    msgpack_packer *pk = cs_tclient_begin(admin);
    msgpack_pack_map(pk, 5);
    cs_tpack_kv(pk, "op", "load");
    cs_tpack_kv(pk, "loader", "icd10cm-tabular");
    cs_tpack_kv(pk, "release", label);
    cs_tpack_kv(pk, "effective_from", eff);
    cs_tpack_str(pk, "files");
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        cs_tpack_str(pk, files[i]);
    }
    const msgpack_object *r = cs_tclient_call(admin, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    char code[64];
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "load of %s refused: %s", label,
                  cs_obj_error_code(r, code, sizeof code));
}

/* A full load, timed; returns the seconds it took. */
static double s_full_load(cs_daemon_t *d, cs_tclient_t *admin, const char *label,
                          const char *eff, const char *const *files, size_t n)
{
    char state[64];
    double t0 = s_now();
    cs_daemon_load(d, admin, "icd10cm-tabular", label, eff, files, n, state, sizeof state,
                   120000);
    ck_assert_str_eq(state, "done");
    return s_now() - t0;
}

static int s_env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

START_TEST(test_kill9_rounds)
{
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    ck_assert_ptr_nonnull(admin);
    ck_assert_ptr_nonnull(q);

    char cwd[PATH_MAX], xml[PATH_MAX + 80], order[PATH_MAX + 80], big[700];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(xml, sizeof xml, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml",
             cwd);
    snprintf(order, sizeof order, "%s/loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt",
             cwd);
    snprintf(big, sizeof big, "%s/synthetic.xml", d.dir);
    s_codes_t sc = {0}, tc = {0};
    s_codes_from_order(&sc, order);
    s_codes_add_junk(&sc);
    s_write_synthetic(big, &tc);
    s_codes_add_junk(&tc);
    ck_assert_uint_gt(sc.n, 100);
    ck_assert_uint_eq(tc.n, 61000 + 15);

    const char *s_files[] = {xml, order};
    const char *t_files[] = {big};
    double s_secs = s_full_load(&d, admin, "S", "2020-10-01", s_files, 2);
    double t_secs = s_full_load(&d, admin, "T", "2021-10-01", t_files, 1);
    s_rel_t s0, t0;
    s_releases(q, &s0, &t0);
    ck_assert_int_eq(t0.codes, 61000);
    ck_assert_int_gt(s0.codes, 100);
    uint64_t s_hash = s_sweep(q, "S", &sc);
    uint64_t t_hash = s_sweep(q, "T", &tc);
    int64_t bytes0 = s_db_bytes(q);
    ck_assert_int_gt(bytes0, 0);

    int rounds = s_env_int("CS_CRASH_ROUNDS", 40);
    unsigned seed = (unsigned)s_env_int("CS_CRASH_SEED", (int)time(NULL));
    fprintf(stderr, "crash: %d rounds, seed %u; full loads take %.3f s (S) and %.3f s (T)\n",
            rounds, seed, s_secs, t_secs);
    int published = 0;
    double t_start = s_now();
    for (int round = 0; round < rounds; round++) {
        /* alternate the two releases; the kill lands anywhere in [0, 1.2 x load time] */
        int big_one = round % 2;
        double secs = big_one ? t_secs : s_secs;
        double delay = secs * 1.2 * (double)rand_r(&seed) / (double)RAND_MAX;
        if (big_one) {
            s_start_load(admin, "T", "2021-10-01", t_files, 1);
        } else {
            s_start_load(admin, "S", "2020-10-01", s_files, 2);
        }
        struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
        nanosleep(&ts, NULL);
        cs_tclient_destroy(&q);
        cs_tclient_destroy(&admin);
        cs_daemon_kill9(&d);
        ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
        admin = cs_tclient_new(d.admin_ep);
        q = cs_tclient_new(d.query_ep);
        ck_assert_ptr_nonnull(admin);
        ck_assert_ptr_nonnull(q);

        s_rel_t s1, t1;
        s_releases(q, &s1, &t1);
        ck_assert_msg(s1.codes == s0.codes && s1.billable == s0.billable,
                      "round %d (kill after %.3f s): S lists %lld codes, %lld billable "
                      "(expected %lld, %lld)", round, delay, (long long)s1.codes,
                      (long long)s1.billable, (long long)s0.codes, (long long)s0.billable);
        ck_assert_msg(t1.codes == t0.codes && t1.billable == t0.billable,
                      "round %d (kill after %.3f s): T lists %lld codes, %lld billable",
                      round, delay, (long long)t1.codes, (long long)t1.billable);
        ck_assert_msg(s_sweep(q, "S", &sc) == s_hash,
                      "round %d (kill after %.3f s): release S answers differently", round,
                      delay);
        ck_assert_msg(s_sweep(q, "T", &tc) == t_hash,
                      "round %d (kill after %.3f s): release T answers differently", round,
                      delay);
        published += delay > secs ? 1 : 0;
    }
    int64_t bytes1 = s_db_bytes(q);
    fprintf(stderr, "crash: %d kills in %.1f s (%d after the load's nominal end); "
            "database %lld -> %lld bytes\n", rounds, s_now() - t_start, published,
            (long long)bytes0, (long long)bytes1);
    /* Half-written releases that were not purged would pile up round after round; a purged
     * one leaves free pages the next load reuses. The live data (S, T and one replacement
     * of T in flight) needs about 3x what S and T took once. */
    ck_assert_msg(bytes1 <= 4 * bytes0, "database grew from %lld to %lld bytes over %d kills",
                  (long long)bytes0, (long long)bytes1, rounds);

    s_codes_free(&sc);
    s_codes_free(&tc);
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_crash_suite(void);
Suite *cs_crash_suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("kill -9 during loads");
    /* ~60 s in a plain build; sanitizer builds run several times slower */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_kill9_rounds);
    suite_add_tcase(s, tc);
    return s;
}
