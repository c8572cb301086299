/* check_csclient.c: the C client library (clients/libcsclient) against real codesetd processes
 * on temporary LMDB directories, with the bundled sample release loaded through the admin
 * endpoint: every call, error replies, pipelined batches, two endpoints, and Lazy Pirate
 * retries when brokers are dead or die mid-run. */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codeset_client.h"
#include "cs_daemon.h"
#include "cs_test.h"

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

/* A broker on a fresh temp dir with the sample release "S" (effective 2020-10-01) loaded. */
static void s_start_with_sample(cs_daemon_t *d)
{
    memset(d, 0, sizeof *d);
    ck_assert_int_eq(cs_daemon_start(d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d->admin_ep);
    ck_assert_ptr_nonnull(admin);
    char cwd[PATH_MAX], xml[PATH_MAX + 80], order[PATH_MAX + 80], state[64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(xml, sizeof xml, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml",
             cwd);
    snprintf(order, sizeof order, "%s/loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt",
             cwd);
    const char *files[] = {xml, order};
    const msgpack_object *r = cs_daemon_load(d, admin, NULL, "S", "2020-10-01", files, 2, state,
                                             sizeof state, 30000);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
}

static void s_stop(cs_daemon_t *d)
{
    if (d->pid > 0) {
        ck_assert_int_eq(cs_daemon_stop(d), 0);
    }
    cs_daemon_cleanup(d);
}

static cs_client_t *s_client(const char *const *eps, size_t n, int timeout_ms, int tries)
{
    cs_client_opts_t o = {.timeout_ms = timeout_ms, .tries = tries};
    cs_client_error_t err;
    cs_client_t *c = cs_client_new(eps, n, &o, &err);
    ck_assert_msg(c != NULL, "cs_client_new: %s", err.message);
    return c;
}

/* Requests of op the broker behind endpoint has served (its stats reply). */
static int64_t s_served(const char *endpoint, const char *op)
{
    cs_tclient_t *t = cs_tclient_new(endpoint);
    ck_assert_ptr_nonnull(t);
    msgpack_packer *pk = cs_tclient_begin(t);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "stats");
    const msgpack_object *r = cs_tclient_call(t, 5000);
    ck_assert_ptr_nonnull(r);
    int64_t n = cs_obj_int(cs_obj_get(cs_obj_get(r, "requests"), op));
    cs_tclient_destroy(&t);
    return n;
}

static int s_has_str(const char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] && strcmp(v[i], s) == 0) {
            return 1;
        }
    }
    return 0;
}

START_TEST(test_ping_lookup)
{
    cs_daemon_t d;
    s_start_with_sample(&d);
    const char *eps[] = {d.query_ep};
    cs_client_t *c = s_client(eps, 1, 5000, 3);

    cs_client_ping_t ping;
    ck_assert_int_eq(cs_client_ping(c, &ping), CS_CLIENT_OK);
    ck_assert_int_eq(ping.protocol, 1);
    ck_assert_uint_gt(strlen(ping.version), 0);
    ck_assert_int_eq(cs_client_last_error(c)->status, CS_CLIENT_OK);

    /* found, with every part */
    cs_client_lookup_t *r = NULL;
    unsigned all = CS_CLIENT_INCLUDE_NOTES | CS_CLIENT_INCLUDE_CHILDREN |
                   CS_CLIENT_INCLUDE_ANCESTORS;
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "e119", all, NULL, &r), CS_CLIENT_OK);
    ck_assert_ptr_nonnull(r);
    ck_assert(r->found);
    ck_assert_str_eq(r->code, "E11.9");
    ck_assert_str_eq(r->input, "e119");
    ck_assert_str_eq(r->system, "icd10cm");
    ck_assert_str_eq(r->release, "S");
    ck_assert_str_eq(r->kind, "code");
    ck_assert(r->billable);
    ck_assert_str_eq(r->parent, "E11");
    ck_assert_ptr_nonnull(strstr(r->title, "without complications"));
    ck_assert_ptr_null(r->reason);
    ck_assert_uint_ge(r->n_ancestors, 3); /* category, block, chapter */
    ck_assert_str_eq(r->ancestors[0].code, "E11");
    ck_assert_str_eq(r->ancestors[r->n_ancestors - 1].kind, "chapter");
    ck_assert_uint_eq(r->n_children, 0);
    cs_client_lookup_destroy(&r);
    ck_assert_ptr_null(r);
    cs_client_lookup_destroy(&r); /* twice is harmless */

    /* a header: children in release order, notes as lists */
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "E11", all, NULL, &r), CS_CLIENT_OK);
    ck_assert(r->found);
    ck_assert(!r->billable);
    ck_assert_str_eq(r->kind, "category");
    ck_assert_ptr_null(r->input);
    ck_assert_uint_ge(r->n_children, 2);
    for (size_t i = 0; i < r->n_children; i++) {
        ck_assert_msg(strncmp(r->children[i].code, "E11.", 4) == 0, "child %s",
                      r->children[i].code);
        ck_assert_ptr_nonnull(r->children[i].title);
    }
    const cs_client_note_t *inc = NULL;
    for (size_t i = 0; i < r->n_notes; i++) {
        if (strcmp(r->notes[i].type, "includes") == 0) {
            inc = &r->notes[i];
        }
    }
    ck_assert_ptr_nonnull(inc);
    ck_assert_uint_ge(inc->n, 1);
    ck_assert_ptr_null(inc->labels);
    ck_assert(s_has_str(inc->texts, inc->n, "diabetes NOS"));
    cs_client_lookup_destroy(&r);

    /* the release pinned, and by date */
    cs_client_when_t when = {.release = "S"};
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "I10", 0, &when, &r), CS_CLIENT_OK);
    ck_assert(r->found && r->billable);
    ck_assert_uint_eq(r->n_children + r->n_ancestors + r->n_notes, 0);
    cs_client_lookup_destroy(&r);
    when = (cs_client_when_t){.date = "2021-03-01"};
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "I10", 0, &when, &r), CS_CLIENT_OK);
    ck_assert_str_eq(r->release, "S");
    cs_client_lookup_destroy(&r);

    /* not found, malformed: answers, not errors */
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "E11.99", 0, NULL, &r), CS_CLIENT_OK);
    ck_assert(!r->found);
    ck_assert_str_eq(r->code, "E11.99");
    ck_assert_ptr_null(r->reason);
    cs_client_lookup_destroy(&r);
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "E1!", 0, NULL, &r), CS_CLIENT_OK);
    ck_assert(!r->found);
    ck_assert_str_eq(r->reason, "malformed");
    ck_assert_ptr_nonnull(r->message);
    cs_client_lookup_destroy(&r);

    /* an error reply surfaces the broker's code and message */
    cs_client_lookup_t stale;
    r = &stale; /* a failed call sets *out to NULL */
    ck_assert_int_eq(cs_client_lookup(c, "nope", "E11.9", 0, NULL, &r), CS_CLIENT_ESERVER);
    ck_assert_ptr_null(r);
    const cs_client_error_t *e = cs_client_last_error(c);
    ck_assert_int_eq(e->status, CS_CLIENT_ESERVER);
    ck_assert_str_eq(e->code, "unknown_system");
    ck_assert_ptr_nonnull(strstr(e->message, "nope"));
    when = (cs_client_when_t){.release = "1999"};
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "E11.9", 0, &when, &r), CS_CLIENT_ESERVER);
    ck_assert_str_eq(cs_client_last_error(c)->code, "unknown_release");
    when = (cs_client_when_t){.date = "2019-01-01"};
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "E11.9", 0, &when, &r), CS_CLIENT_ESERVER);
    ck_assert_str_eq(cs_client_last_error(c)->code, "no_release_for_date");
    /* and the next success clears it */
    ck_assert_int_eq(cs_client_ping(c, NULL), CS_CLIENT_OK);
    ck_assert_str_eq(cs_client_last_error(c)->code, "");

    /* bad arguments never reach the wire */
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", NULL, 0, NULL, &r), CS_CLIENT_EINVAL);
    ck_assert_int_eq(cs_client_last_error(c)->status, CS_CLIENT_EINVAL);
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "E11", 0, NULL, NULL), CS_CLIENT_EINVAL);
    ck_assert_str_eq(cs_client_strerror(CS_CLIENT_ETIMEOUT),
                     "no reply from any broker (timed out)");
    ck_assert_ptr_nonnull(cs_client_strerror(12345));
    ck_assert_int_eq(cs_client_ping(NULL, NULL), CS_CLIENT_EINVAL);
    ck_assert_int_eq(cs_client_last_error(NULL)->status, CS_CLIENT_EINVAL);

    cs_client_destroy(&c);
    ck_assert_ptr_null(c);
    cs_client_destroy(&c);
    s_stop(&d);
}
END_TEST

START_TEST(test_validate)
{
    cs_daemon_t d;
    s_start_with_sample(&d);
    const char *eps[] = {d.query_ep};
    cs_client_t *c = s_client(eps, 1, 5000, 3);

    const char *codes[] = {"E11.9", "E11", "A00.00", "XYZ", " e11.9 ", "S72.001"};
    cs_client_validation_t *v = NULL;
    cs_client_when_t when = {.date = "2021-03-01"};
    ck_assert_int_eq(cs_client_validate(c, "icd10cm", codes, 6, &when, &v), CS_CLIENT_OK);
    ck_assert_str_eq(v->release, "S");
    ck_assert_str_eq(v->system, "icd10cm");
    ck_assert_uint_eq(v->n, 6);
    ck_assert_uint_eq(v->n_invalid, 4);
    const cs_client_verdict_t *x = v->results;
    ck_assert(x[0].valid && x[0].billable);
    ck_assert_int_eq(x[0].why, CS_CLIENT_VALID);
    ck_assert_ptr_nonnull(strstr(x[0].title, "without complications"));
    ck_assert_ptr_null(x[0].reason);

    ck_assert(!x[1].valid);
    ck_assert_int_eq(x[1].why, CS_CLIENT_NOT_BILLABLE);
    ck_assert_str_eq(x[1].reason, "not_billable");
    ck_assert_str_eq(x[1].kind, "category");
    ck_assert_uint_ge(x[1].n_hint, 2);
    ck_assert(s_has_str(x[1].hint, x[1].n_hint, "E11.9"));
    ck_assert_msg(strstr(x[1].message, "E11 is a header"), "message: %s", x[1].message);

    ck_assert_int_eq(x[2].why, CS_CLIENT_UNKNOWN);
    ck_assert_str_eq(x[2].code, "A00.00");
    ck_assert_str_eq(x[2].input, "A00.00");
    ck_assert_uint_eq(x[2].n_hint, 0);

    ck_assert_int_eq(x[3].why, CS_CLIENT_MALFORMED);
    ck_assert_str_eq(x[3].reason, "malformed");
    ck_assert_ptr_null(x[3].code);
    ck_assert_ptr_nonnull(x[3].message);

    ck_assert(x[4].valid);
    ck_assert_str_eq(x[4].code, "E11.9");
    ck_assert_str_eq(x[4].input, " e11.9 ");

    ck_assert_int_eq(x[5].why, CS_CLIENT_NOT_BILLABLE);
    ck_assert_msg(strstr(x[5].message, "7th character"), "message: %s", x[5].message);
    ck_assert(s_has_str(x[5].hint, x[5].n_hint, "S72.001A"));
    cs_client_validation_destroy(&v);
    ck_assert_ptr_null(v);

    /* one code, pinned release; an empty list is an answer with no results */
    when = (cs_client_when_t){.release = "S"};
    ck_assert_int_eq(cs_client_validate(c, "icd10cm", codes, 1, &when, &v), CS_CLIENT_OK);
    ck_assert_uint_eq(v->n, 1);
    ck_assert_uint_eq(v->n_invalid, 0);
    cs_client_validation_destroy(&v);

    /* errors */
    when = (cs_client_when_t){.date = "2021-02-30"};
    ck_assert_int_eq(cs_client_validate(c, "icd10cm", codes, 2, &when, &v), CS_CLIENT_ESERVER);
    ck_assert_ptr_null(v);
    ck_assert_str_eq(cs_client_last_error(c)->code, "bad_request");
    ck_assert_int_eq(cs_client_validate(c, "nope", codes, 2, NULL, &v), CS_CLIENT_ESERVER);
    ck_assert_str_eq(cs_client_last_error(c)->code, "unknown_system");
    const char *with_null[] = {"E11", NULL};
    ck_assert_int_eq(cs_client_validate(c, "icd10cm", with_null, 2, NULL, &v),
                     CS_CLIENT_EINVAL);

    /* a list over the broker's limit is refused by the broker, with its code */
    size_t big = 10001;
    const char **many = calloc(big, sizeof *many);
    ck_assert_ptr_nonnull(many);
    for (size_t i = 0; i < big; i++) {
        many[i] = "E11.9";
    }
    ck_assert_int_eq(cs_client_validate(c, "icd10cm", many, big, NULL, &v), CS_CLIENT_ESERVER);
    ck_assert_str_eq(cs_client_last_error(c)->code, "too_many");
    ck_assert_int_eq(cs_client_validate(c, "icd10cm", many, 10000, NULL, &v), CS_CLIENT_OK);
    ck_assert_uint_eq(v->n, 10000);
    ck_assert_uint_eq(v->n_invalid, 0);
    ck_assert_str_eq(v->results[9999].code, "E11.9");
    cs_client_validation_destroy(&v);
    free(many);

    cs_client_destroy(&c);
    s_stop(&d);
}
END_TEST

/* The typed claim call: an E11.9 listed twice is a duplicate_code error, the lines are
 * validate's verdicts; a claim on a date no release covers is the broker's
 * no_release_for_date. */
START_TEST(test_claim)
{
    cs_daemon_t d;
    s_start_with_sample(&d);
    const char *eps[] = {d.query_ep};
    cs_client_t *c = s_client(eps, 1, 5000, 3);
    const cs_client_claim_dx_t dx[] = {{"E11.9", "Y"}, {"e119", NULL}, {"E11", NULL}};
    const char *mods[] = {"59"};
    const cs_client_claim_px_t px[] = {{"hcpcs", "J3490", mods, 1, 2}};
    cs_client_claim_t claim = {.date = "2021-03-01", .setting = "outpatient", .age = 40,
                               .sex = "F", .dx = dx, .n_dx = 3, .px = px, .n_px = 1};
    cs_client_claim_result_t *r = NULL;
    ck_assert_int_eq(cs_client_claim(c, &claim, &r), CS_CLIENT_OK);
    ck_assert(!r->clean);
    ck_assert_uint_eq(r->n_lines, 4);
    ck_assert_uint_eq(r->n_invalid, 2); /* E11 is a header; no HCPCS release: unchecked */
    /* the lines are validate's verdicts: the header with its hint, the HCPCS line unchecked */
    ck_assert_ptr_nonnull(r->lines);
    ck_assert(r->lines[1].valid && r->lines[1].billable);
    ck_assert_str_eq(r->lines[1].code, "E11.9");
    ck_assert_int_eq(r->lines[2].why, CS_CLIENT_NOT_BILLABLE);
    ck_assert_uint_gt(r->lines[2].n_hint, 0);
    ck_assert_str_eq(r->lines[2].hint[0], "E11.00");
    ck_assert_int_eq(r->lines[3].why, CS_CLIENT_OTHER_REASON);
    ck_assert_str_eq(r->lines[3].reason, "unchecked");
    int dup = 0;
    for (size_t i = 0; i < r->n_edits; i++) {
        const cs_client_edit_t *e = &r->edits[i];
        if (strcmp(e->edit, "duplicate_code") == 0) {
            dup = 1;
            ck_assert(e->error);
            ck_assert_uint_eq(e->n_lines, 2);
            ck_assert_int_eq(e->lines[1], 1);
            ck_assert_str_eq(e->codes[1], "E11.9");
            ck_assert_str_eq(e->source_set, "icd10cm");
        }
    }
    ck_assert(dup);
    ck_assert_uint_ge(r->n_skipped, 1);
    cs_client_claim_destroy(&r);
    claim.date = "1999-01-01";
    ck_assert_int_eq(cs_client_claim(c, &claim, &r), CS_CLIENT_ESERVER);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(cs_client_last_error(c)->code, "no_release_for_date");
    claim.date = NULL;
    ck_assert_int_eq(cs_client_claim(c, &claim, &r), CS_CLIENT_EINVAL);
    cs_client_destroy(&c);
    s_stop(&d);
}
END_TEST

START_TEST(test_search_releases_crosswalk)
{
    cs_daemon_t d;
    s_start_with_sample(&d);
    const char *eps[] = {d.query_ep};
    cs_client_t *c = s_client(eps, 1, 5000, 3);

    cs_client_search_t *s = NULL;
    ck_assert_int_eq(cs_client_search(c, "icd10cm", "diab mel type 2 hyperglyc", NULL, &s),
                     CS_CLIENT_OK);
    ck_assert_str_eq(s->release, "S");
    ck_assert_uint_ge(s->n, 1);
    ck_assert_uint_ge(s->total, s->n);
    int has_e1165 = 0;
    for (size_t i = 0; i < s->n; i++) {
        has_e1165 |= strcmp(s->hits[i].code, "E11.65") == 0 && s->hits[i].billable;
    }
    ck_assert_msg(has_e1165, "E11.65 not among %zu hits", s->n);
    ck_assert_int_gt(s->hits[0].score, 0);
    cs_client_search_destroy(&s);
    ck_assert_ptr_null(s);

    cs_client_search_opts_t so = {.limit = 3, .billable_only = true, .release = "S"};
    ck_assert_int_eq(cs_client_search(c, "icd10cm", "diabetes", &so, &s), CS_CLIENT_OK);
    ck_assert_uint_eq(s->n, 3);
    ck_assert_uint_gt(s->total, 3);
    for (size_t i = 0; i < s->n; i++) {
        ck_assert(s->hits[i].billable);
    }
    char second[32];
    snprintf(second, sizeof second, "%s", s->hits[1].code);
    cs_client_search_destroy(&s);
    so.offset = 1;
    ck_assert_int_eq(cs_client_search(c, "icd10cm", "diabetes", &so, &s), CS_CLIENT_OK);
    ck_assert_str_eq(s->hits[0].code, second); /* paging */
    cs_client_search_destroy(&s);

    ck_assert_int_eq(cs_client_search(c, "icd10cm", "e11.6", NULL, &s), CS_CLIENT_OK);
    ck_assert_uint_ge(s->n, 2);
    for (size_t i = 0; i < s->n; i++) {
        ck_assert_msg(strncmp(s->hits[i].code, "E11.6", 5) == 0, "hit %s", s->hits[i].code);
    }
    cs_client_search_destroy(&s);
    ck_assert_int_eq(cs_client_search(c, "nope", "diabetes", NULL, &s), CS_CLIENT_ESERVER);
    ck_assert_str_eq(cs_client_last_error(c)->code, "unknown_system");

    cs_client_releases_t *rel = NULL;
    ck_assert_int_eq(cs_client_releases(c, NULL, &rel), CS_CLIENT_OK);
    ck_assert_uint_eq(rel->n, 1);
    const cs_client_release_t *r0 = &rel->releases[0];
    ck_assert_str_eq(r0->system, "icd10cm");
    ck_assert_str_eq(r0->release, "S");
    ck_assert_str_eq(r0->effective_from, "2020-10-01");
    ck_assert_ptr_null(r0->effective_to);
    ck_assert_str_eq(r0->status, "active");
    ck_assert_uint_gt(r0->codes, r0->billable);
    ck_assert_uint_gt(r0->billable, 0);
    ck_assert_int_gt(r0->loaded_at, 1600000000);
    ck_assert_ptr_nonnull(r0->loader);
    ck_assert_uint_eq(r0->n_files, 2);
    ck_assert_uint_eq(strlen(r0->files[0].sha256), 64);
    ck_assert_uint_gt(r0->files[0].bytes, 0);
    cs_client_releases_destroy(&rel);
    ck_assert_int_eq(cs_client_releases(c, "icd10cm", &rel), CS_CLIENT_OK);
    ck_assert_uint_eq(rel->n, 1);
    cs_client_releases_destroy(&rel);

    /* crosswalk: decoded when the broker serves it, else its error surfaces with the code */
    cs_client_crosswalk_t *xw = NULL;
    int rc = cs_client_crosswalk(c, "icd9cm", "icd10cm", "250.00", NULL, &xw);
    if (rc == CS_CLIENT_OK) {
        ck_assert_ptr_nonnull(xw);
        ck_assert(xw->n == 0 || xw->targets[0].code != NULL);
        cs_client_crosswalk_destroy(&xw);
    } else {
        ck_assert_int_eq(rc, CS_CLIENT_ESERVER);
        ck_assert_ptr_null(xw);
        const char *code = cs_client_last_error(c)->code;
        ck_assert_msg(strcmp(code, "unknown_op") == 0 || strcmp(code, "unknown_system") == 0 ||
                          strcmp(code, "unknown_release") == 0,
                      "crosswalk error %s", code);
    }
    ck_assert_int_eq(cs_client_crosswalk(c, "icd9cm", NULL, "250.00", NULL, &xw),
                     CS_CLIENT_EINVAL);

    cs_client_destroy(&c);
    s_stop(&d);
}
END_TEST

/* The codes the batch tests look up, and their canonical forms. */
static const char *const s_in[] = {"e119", "E11.65", "i10", "M48.40XS", "s72001a", "E11.99"};
static const char *const s_out[] = {"E11.9", "E11.65", "I10", "M48.40XS", "S72.001A", "E11.99"};
#define S_NCODES (sizeof s_in / sizeof s_in[0])

/* A batch of n requests: mostly lookups of s_in[i % S_NCODES], with validates, searches,
 * pings, releases and, every 97th, an error (unknown system). */
static cs_client_batch_t *s_mixed_batch(size_t n)
{
    cs_client_batch_t *b = cs_client_batch_new();
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < n; i++) {
        size_t idx = 99;
        int rc;
        if (i % 97 == 0) {
            rc = cs_client_batch_add_lookup(b, "nope", "E11", 0, NULL, &idx);
        } else if (i % 10 == 1) {
            const char *codes[] = {s_in[i % S_NCODES], "E11"};
            rc = cs_client_batch_add_validate(b, "icd10cm", codes, 2, NULL, &idx);
        } else if (i % 10 == 2) {
            rc = cs_client_batch_add_search(b, "icd10cm", "hypertensive", NULL, &idx);
        } else if (i % 10 == 3) {
            rc = cs_client_batch_add_ping(b, &idx);
        } else if (i % 100 == 4) {
            rc = cs_client_batch_add_releases(b, "icd10cm", &idx);
        } else {
            rc = cs_client_batch_add_lookup(b, "icd10cm", s_in[i % S_NCODES], 0, NULL, &idx);
        }
        ck_assert_int_eq(rc, CS_CLIENT_OK);
        ck_assert_uint_eq(idx, i);
    }
    ck_assert_uint_eq(cs_client_batch_size(b), n);
    return b;
}

/* Every request of a s_mixed_batch run got its own answer. */
static void s_check_mixed(const cs_client_batch_t *b, size_t n)
{
    ck_assert_uint_eq(cs_client_batch_answered(b), n);
    for (size_t i = 0; i < n; i++) {
        const cs_client_error_t *err = NULL;
        int st = cs_client_batch_status(b, i, &err);
        ck_assert_ptr_nonnull(err);
        if (i % 97 == 0) {
            ck_assert_int_eq(st, CS_CLIENT_ESERVER);
            ck_assert_str_eq(err->code, "unknown_system");
            ck_assert_ptr_null(cs_client_batch_lookup(b, i));
            continue;
        }
        ck_assert_msg(st == CS_CLIENT_OK, "request %zu: %d %s", i, st, err->message);
        if (i % 10 == 1) {
            const cs_client_validation_t *v = cs_client_batch_validation(b, i);
            ck_assert_ptr_nonnull(v);
            ck_assert_uint_eq(v->n, 2);
            ck_assert_str_eq(v->results[0].input, s_in[i % S_NCODES]);
            ck_assert_str_eq(v->results[1].reason, "not_billable");
            ck_assert_ptr_null(cs_client_batch_lookup(b, i)); /* wrong kind */
        } else if (i % 10 == 2) {
            const cs_client_search_t *s = cs_client_batch_search(b, i);
            ck_assert_ptr_nonnull(s);
            ck_assert_uint_ge(s->n, 1);
            ck_assert_msg(strncmp(s->hits[0].code, "I1", 2) == 0, "hit %s", s->hits[0].code);
        } else if (i % 10 == 3) {
            const cs_client_ping_t *p = cs_client_batch_ping(b, i);
            ck_assert_ptr_nonnull(p);
            ck_assert_int_eq(p->protocol, 1);
        } else if (i % 100 == 4) {
            const cs_client_releases_t *r = cs_client_batch_releases(b, i);
            ck_assert_ptr_nonnull(r);
            ck_assert_uint_eq(r->n, 1);
        } else {
            const cs_client_lookup_t *l = cs_client_batch_lookup(b, i);
            ck_assert_ptr_nonnull(l);
            ck_assert_str_eq(l->code, s_out[i % S_NCODES]);
            ck_assert(l->found == (strcmp(s_out[i % S_NCODES], "E11.99") != 0));
        }
    }
}

START_TEST(test_batch)
{
    cs_daemon_t d;
    s_start_with_sample(&d);
    const char *eps[] = {d.query_ep};
    cs_client_t *c = s_client(eps, 1, 5000, 3);

    cs_client_batch_t *b = s_mixed_batch(1000);
    ck_assert_int_eq(cs_client_batch_status(b, 0, NULL), CS_CLIENT_EINVAL); /* not run yet */
    ck_assert_int_eq(cs_client_batch_run(c, b), CS_CLIENT_OK);
    s_check_mixed(b, 1000);
    ck_assert_int_eq(cs_client_batch_status(b, 1000, NULL), CS_CLIENT_EINVAL);
    /* run again: fresh ids, same answers */
    ck_assert_int_eq(cs_client_batch_run(c, b), CS_CLIENT_OK);
    s_check_mixed(b, 1000);
    cs_client_batch_destroy(&b);
    ck_assert_ptr_null(b);

    /* an empty batch, and a synchronous call after batches still matches its own reply */
    b = cs_client_batch_new();
    ck_assert_int_eq(cs_client_batch_run(c, b), CS_CLIENT_OK);
    ck_assert_uint_eq(cs_client_batch_answered(b), 0);
    ck_assert_int_eq(cs_client_batch_add_lookup(b, "icd10cm", NULL, 0, NULL, NULL),
                     CS_CLIENT_EINVAL);
    ck_assert_uint_eq(cs_client_batch_size(b), 0);
    cs_client_batch_destroy(&b);
    cs_client_lookup_t *r = NULL;
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "I10", 0, NULL, &r), CS_CLIENT_OK);
    ck_assert_str_eq(r->code, "I10");
    cs_client_lookup_destroy(&r);

    cs_client_destroy(&c);
    s_stop(&d);
}
END_TEST

/* Two brokers on their own copies of the sample release; one client connected to both. */
START_TEST(test_two_endpoints)
{
    cs_daemon_t a, b;
    s_start_with_sample(&a);
    s_start_with_sample(&b);
    int64_t before_a = s_served(a.query_ep, "lookup");
    int64_t before_b = s_served(b.query_ep, "lookup");
    const char *eps[] = {a.query_ep, b.query_ep};
    cs_client_t *c = s_client(eps, 2, 5000, 3);
    /* Both connections up before the batch, so ZeroMQ has two peers to spread over. */
    ck_assert_int_eq(cs_client_ping(c, NULL), CS_CLIENT_OK);
    s_sleep_ms(100);

    cs_client_batch_t *batch = cs_client_batch_new();
    for (size_t i = 0; i < 1000; i++) {
        ck_assert_int_eq(cs_client_batch_add_lookup(batch, "icd10cm", s_in[i % S_NCODES], 0,
                                                    NULL, NULL),
                         CS_CLIENT_OK);
    }
    ck_assert_int_eq(cs_client_batch_run(c, batch), CS_CLIENT_OK);
    ck_assert_uint_eq(cs_client_batch_answered(batch), 1000);
    for (size_t i = 0; i < 1000; i++) {
        const cs_client_lookup_t *l = cs_client_batch_lookup(batch, i);
        ck_assert_ptr_nonnull(l);
        ck_assert_str_eq(l->code, s_out[i % S_NCODES]);
    }
    int64_t served_a = s_served(a.query_ep, "lookup") - before_a;
    int64_t served_b = s_served(b.query_ep, "lookup") - before_b;
    ck_assert_msg(served_a >= 100 && served_b >= 100, "spread: %lld + %lld",
                  (long long)served_a, (long long)served_b);
    ck_assert_int_eq(served_a + served_b, 1000); /* no retries were needed */
    ck_assert_uint_eq(cs_client_reconnects(c), 0);
    cs_client_batch_destroy(&batch);
    cs_client_destroy(&c);
    s_stop(&a);
    s_stop(&b);
}
END_TEST

/* Nothing listens: each call gives up after tries * timeout, with CS_CLIENT_ETIMEOUT. */
START_TEST(test_dead_endpoint)
{
    char dir[512], dead[600];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(dead, sizeof dead, "ipc://%s/nobody.sock", dir);
    const char *eps[] = {dead};
    cs_client_t *c = s_client(eps, 1, 200, 3);
    int64_t t0 = s_now_ms();
    ck_assert_int_eq(cs_client_ping(c, NULL), CS_CLIENT_ETIMEOUT);
    int64_t took = s_now_ms() - t0;
    ck_assert_msg(took >= 550 && took < 2000, "gave up after %lld ms", (long long)took);
    const cs_client_error_t *e = cs_client_last_error(c);
    ck_assert_uint_eq(cs_client_reconnects(c), 3);
    ck_assert_int_eq(e->status, CS_CLIENT_ETIMEOUT);
    ck_assert_str_eq(e->code, "");
    ck_assert_ptr_nonnull(strstr(e->message, "3 tries"));

    cs_client_batch_t *b = cs_client_batch_new();
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(cs_client_batch_add_ping(b, NULL), CS_CLIENT_OK);
    }
    ck_assert_int_eq(cs_client_batch_run(c, b), CS_CLIENT_ETIMEOUT);
    ck_assert_uint_eq(cs_client_batch_answered(b), 0);
    ck_assert_int_eq(cs_client_batch_status(b, 9, NULL), CS_CLIENT_ETIMEOUT);
    ck_assert_ptr_null(cs_client_batch_ping(b, 9));
    cs_client_batch_destroy(&b);
    cs_client_destroy(&c);

    /* a dead endpoint first, a live one second: requests go to the live one at once */
    cs_daemon_t d;
    s_start_with_sample(&d);
    const char *both[] = {dead, d.query_ep};
    c = s_client(both, 2, 1500, 3);
    for (int i = 0; i < 20; i++) {
        cs_client_lookup_t *r = NULL;
        ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "e119", 0, NULL, &r), CS_CLIENT_OK);
        ck_assert_str_eq(r->code, "E11.9");
        cs_client_lookup_destroy(&r);
    }
    ck_assert_uint_eq(cs_client_reconnects(c), 0); /* none waited for the dead endpoint */
    cs_client_destroy(&c);

    /* a bad endpoint is refused at creation, with a reason */
    const char *bad[] = {"nonsense://x"};
    cs_client_error_t err;
    ck_assert_ptr_null(cs_client_new(bad, 1, NULL, &err));
    ck_assert_int_eq(err.status, CS_CLIENT_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "nonsense://x"));
    ck_assert_ptr_null(cs_client_new(bad, 0, NULL, &err));
    ck_assert_int_eq(err.status, CS_CLIENT_EINVAL);

    s_stop(&d);
    cs_test_rmtree(dir);
}
END_TEST

typedef struct s_killer {
    cs_daemon_t *victim; /* the broker to stop */
    int delay_ms;        /* how long after the run starts */
    int how;             /* 0: SIGTERM, 1: SIGKILL, 2: SIGSTOP (a wedged broker) */
    int64_t at;          /* when the signal was sent (monotonic ms) */
} s_killer_t;

static void *s_kill_later(void *arg)
{
    s_killer_t *k = arg;
    s_sleep_ms(k->delay_ms);
    k->at = s_now_ms(); /* when the signal goes: a SIGTERM stop then waits for the exit */
    if (k->how == 0) {
        cs_daemon_stop(k->victim);
    } else if (k->how == 1) {
        cs_daemon_kill9(k->victim);
    } else {
        kill(k->victim->pid, SIGSTOP);
    }
    return NULL;
}

/* A broker stops (SIGTERM, SIGKILL, or SIGSTOP: alive but wedged) while a client with two
 * endpoints is mid-batch: every request still gets its own answer, from the other broker. */
START_TEST(test_broker_dies_mid_run)
{
    cs_daemon_t a, b;
    s_start_with_sample(&a);
    s_start_with_sample(&b);
    const char *eps[] = {a.query_ep, b.query_ep};
    cs_client_t *c = s_client(eps, 2, 300, 5);
    ck_assert_int_eq(cs_client_ping(c, NULL), CS_CLIENT_OK);
    s_sleep_ms(100);

    /* validates of 50 codes each: enough work that the run outlasts the kill (2,000 took
     * 0.2 s once code indexes came: too close to the kill at 0.15 s) */
    enum { N = 8000, K = 50 };
    const char *codes[K];
    cs_client_batch_t *batch = cs_client_batch_new();
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < K; j++) {
            codes[j] = s_in[(i + j) % S_NCODES];
        }
        ck_assert_int_eq(cs_client_batch_add_validate(batch, "icd10cm", codes, K, NULL, NULL),
                         CS_CLIENT_OK);
    }
    s_killer_t k = {.victim = &a, .delay_ms = 150, .how = _i};
    pthread_t th;
    int64_t t0 = s_now_ms();
    ck_assert_int_eq(pthread_create(&th, NULL, s_kill_later, &k), 0);
    int rc = cs_client_batch_run(c, batch);
    int64_t t1 = s_now_ms();
    pthread_join(th, NULL);
    ck_assert_msg(rc == CS_CLIENT_OK, "run: %s", cs_client_last_error(c)->message);
    ck_assert_msg(k.at > t0 && k.at < t1, "the broker stopped %lld ms into a %lld ms run",
                  (long long)(k.at - t0), (long long)(t1 - t0));
    ck_assert_uint_eq(cs_client_batch_answered(batch), N);
    /* A wedged broker keeps the requests it was sent: only a timeout, a fresh socket and a
     * resend get them answered. (A broker that exits may or may not have lost some.) */
    if (k.how == 2) {
        ck_assert_uint_ge(cs_client_reconnects(c), 1);
    }
    for (size_t i = 0; i < N; i++) {
        const cs_client_validation_t *v = cs_client_batch_validation(batch, i);
        ck_assert_msg(v != NULL, "request %zu unanswered", i);
        ck_assert_uint_eq(v->n, K);
        ck_assert_str_eq(v->results[0].input, s_in[i % S_NCODES]);
        ck_assert_str_eq(v->results[K - 1].input, s_in[(i + K - 1) % S_NCODES]);
    }
    ck_assert_int_gt(s_served(b.query_ep, "validate"), 0);

    /* with one broker left, synchronous calls go on without a retry */
    cs_client_lookup_t *r = NULL;
    ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "i10", 0, NULL, &r), CS_CLIENT_OK);
    ck_assert_str_eq(r->code, "I10");
    cs_client_lookup_destroy(&r);

    cs_client_batch_destroy(&batch);
    cs_client_destroy(&c);
    if (k.how == 2) {
        kill(a.pid, SIGCONT);
    }
    cs_daemon_cleanup(&a);
    s_stop(&b);
}
END_TEST

Suite *cs_csclient_suite(void);
Suite *cs_csclient_suite(void)
{
    Suite *s = suite_create("csclient");
    TCase *tc = tcase_create("calls");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ping_lookup);
    tcase_add_test(tc, test_validate);
    tcase_add_test(tc, test_claim);
    tcase_add_test(tc, test_search_releases_crosswalk);
    suite_add_tcase(s, tc);
    tc = tcase_create("pipelining");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_batch);
    tcase_add_test(tc, test_two_endpoints);
    suite_add_tcase(s, tc);
    tc = tcase_create("lazy pirate");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_dead_endpoint);
    tcase_add_loop_test(tc, test_broker_dies_mid_run, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}
