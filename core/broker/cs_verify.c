/* cs_verify.c: the background verifier of release checksums, and the admin op verify. */
#include "broker/cs_verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/cs_op.h"
#include "store/cs_catalog.h"
#include "store/cs_checksum.h"
#include "store/cs_key.h"
#include "util/cs_log.h"

#define S_MAX_RELEASES 256 /* releases one pass reports */
#define S_NICE 10          /* the verifier thread's nice value: it yields to the query threads */

/* ---- the verifier ---- */

enum s_state { S_PENDING, S_CHECKING, S_OK, S_FAILED, S_NO_CHECKSUM, S_GONE };
static const char *const s_state_names[] = {"pending", "checking",    "ok",
                                            "failed",  "no_checksum", "gone"};

typedef struct s_result {
    uint32_t id;          /* release id */
    char system[32];      /* its system (or map set) */
    char label[64];       /* its label */
    int state;            /* enum s_state */
    char message[256];    /* why it failed, or what was checked */
} s_result_t;

struct cs_verify {
    cs_store_t *store;       /* borrowed */
    cs_pace_t pace;          /* the thread's: it gives way to the serving thread */
    pthread_t thread;        /* the verifier */
    pthread_mutex_t mu;      /* guards everything below */
    pthread_cond_t cv;       /* a pass requested or finished, or stop */
    atomic_int stop;         /* 1: stop at the next snapshot and exit */
    unsigned requested;      /* passes asked for (the first at start) */
    unsigned started;        /* passes begun */
    unsigned finished;       /* passes done */
    s_result_t res[S_MAX_RELEASES]; /* the current (or last) pass */
    size_t n_res;
};

/* What one release's check found: state and message (into r, under no lock). */
static void s_check_one(cs_verify_t *v, cs_reader_t *rd, const cs_release_t *rel,
                        s_result_t *r)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char hex[65];
    uint64_t n = 0;
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_checksum_release(rd, rel->id, hex, &n, &v->pace, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cs_release_t now;
    if (rc == CS_ETERM) {
        r->state = S_PENDING;
        return;
    }
    if (cs_reader_begin(rd) == CS_OK) {
        int there = cs_catalog_read(rd, rel->id, &now) == CS_OK &&
                    (now.status == CS_REL_ACTIVE || now.status == CS_REL_RETIRED);
        cs_reader_end(rd);
        if (!there) {
            r->state = S_GONE; /* dropped or replaced while it was read */
            snprintf(r->message, sizeof r->message, "dropped or replaced during the check");
            return;
        }
    }
    if (rc != CS_OK) {
        r->state = S_FAILED;
        snprintf(r->message, sizeof r->message, "%s", err.msg);
    } else if (!rel->checksum[0]) {
        r->state = S_NO_CHECKSUM;
        snprintf(r->message, sizeof r->message,
                 "published before checksums: %llu records read, nothing to compare with "
                 "(reload it to give it one)", (unsigned long long)n);
    } else if (strcmp(hex, rel->checksum) != 0) {
        r->state = S_FAILED;
        snprintf(r->message, sizeof r->message,
                 "its %llu records give checksum %.16s..., not the %.16s... recorded at publish",
                 (unsigned long long)n, hex, rel->checksum);
    } else {
        r->state = S_OK;
        snprintf(r->message, sizeof r->message, "%llu records match in %.2f s",
                 (unsigned long long)n, s);
    }
}

/* One pass over every active and retired release. */
static void s_pass(cs_verify_t *v, cs_reader_t *rd)
{
    cs_release_t *rels = NULL;
    size_t n = 0;
    if (cs_reader_begin(rd) != CS_OK) {
        return;
    }
    int rc = cs_catalog_list(rd, NULL, 0, &rels, &n);
    cs_reader_end(rd);
    if (rc != CS_OK) {
        return;
    }
    n = n > S_MAX_RELEASES ? S_MAX_RELEASES : n;
    pthread_mutex_lock(&v->mu);
    v->n_res = n;
    for (size_t i = 0; i < n; i++) {
        s_result_t *r = &v->res[i];
        memset(r, 0, sizeof *r);
        r->id = rels[i].id;
        snprintf(r->system, sizeof r->system, "%s", rels[i].system);
        snprintf(r->label, sizeof r->label, "%s", rels[i].label);
    }
    pthread_mutex_unlock(&v->mu);
    for (size_t i = 0; i < n && !atomic_load(&v->stop); i++) {
        s_result_t r;
        pthread_mutex_lock(&v->mu);
        v->res[i].state = S_CHECKING;
        r = v->res[i];
        pthread_mutex_unlock(&v->mu);
        s_check_one(v, rd, &rels[i], &r);
        if (r.state == S_FAILED) {
            char why[300];
            snprintf(why, sizeof why, "failed its integrity check: %s", r.message);
            cs_store_release_fail(v->store, r.id, why);
            CS_ERROR("verify %s/%s: %s; it answers no query until reloaded", r.system, r.label,
                     r.message);
        } else if (r.state == S_OK || r.state == S_NO_CHECKSUM) {
            cs_store_release_fail(v->store, r.id, NULL);
            CS_NOTICE("verify %s/%s: %s", r.system, r.label, r.message);
        }
        pthread_mutex_lock(&v->mu);
        v->res[i] = r;
        pthread_mutex_unlock(&v->mu);
    }
    free(rels);
}

static void *s_main(void *arg)
{
    cs_verify_t *v = arg;
    /* Give way: a pass hashes every record (0.3 s of CPU for three releases), on the cores
     * that answer queries, and nothing waits on it. Each step waits while queries are being
     * answered (cs_pace.h): a lower priority alone did not keep this thread off the core a
     * query's thread needed. At a start on a cold page cache, read the file in first, a step
     * at a time: the queries that come later find its pages there. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), S_NICE);
    cs_store_prefetch(v->store, &v->pace);
    cs_error_t err;
    cs_reader_t *rd = cs_reader_new(v->store, &err);
    if (!rd) {
        CS_ERROR("verify: no reader, releases are not checked: %s", err.msg);
    }
    pthread_mutex_lock(&v->mu);
    while (!atomic_load(&v->stop)) {
        if (v->finished == v->requested) {
            pthread_cond_wait(&v->cv, &v->mu);
            continue;
        }
        unsigned pass = v->started = v->requested;
        pthread_mutex_unlock(&v->mu);
        if (rd) {
            s_pass(v, rd);
        }
        pthread_mutex_lock(&v->mu);
        if (!atomic_load(&v->stop)) {
            v->finished = pass;
        }
        pthread_cond_broadcast(&v->cv);
    }
    pthread_cond_broadcast(&v->cv);
    pthread_mutex_unlock(&v->mu);
    cs_reader_destroy(&rd);
    return NULL;
}

cs_verify_t *cs_verify_start(cs_store_t *store, const _Atomic uint64_t *busy_ns,
                             cs_error_t *err)
{
    cs_verify_t *v = calloc(1, sizeof *v);
    if (!v) {
        cs_error_set(err, CS_ENOMEM, "out of memory starting the verifier");
        return NULL;
    }
    v->store = store;
    v->pace = (cs_pace_t){.stop = &v->stop, .busy_ns = busy_ns};
    v->requested = 1;
    pthread_mutex_init(&v->mu, NULL);
    pthread_cond_init(&v->cv, NULL);
    if (pthread_create(&v->thread, NULL, s_main, v) != 0) {
        pthread_cond_destroy(&v->cv);
        pthread_mutex_destroy(&v->mu);
        free(v);
        cs_error_set(err, CS_EINTERNAL, "cannot start the verifier thread");
        return NULL;
    }
    return v;
}

void cs_verify_destroy(cs_verify_t **vp)
{
    if (!vp || !*vp) {
        return;
    }
    cs_verify_t *v = *vp;
    pthread_mutex_lock(&v->mu);
    atomic_store(&v->stop, 1);
    pthread_cond_broadcast(&v->cv);
    pthread_mutex_unlock(&v->mu);
    pthread_join(v->thread, NULL);
    pthread_cond_destroy(&v->cv);
    pthread_mutex_destroy(&v->mu);
    free(v);
    *vp = NULL;
}

/* "verify-N" -> N, 0 if it is not a verify job. */
static unsigned s_job_pass(cs_str_t job)
{
    if (job.len < 8 || job.len > 16 || memcmp(job.ptr, "verify-", 7) != 0) {
        return 0;
    }
    unsigned n = 0;
    for (size_t i = 7; i < job.len; i++) {
        if (job.ptr[i] < '0' || job.ptr[i] > '9') {
            return 0;
        }
        n = n * 10 + (unsigned)(job.ptr[i] - '0');
    }
    return n;
}

cs_proto_err_t cs_verify_answer(cs_verify_t *v, const cs_request_t *req, cs_out_t *out)
{
    pthread_mutex_lock(&v->mu);
    unsigned pass;
    if (req->job.len) {
        pass = s_job_pass(req->job);
        if (pass == 0 || pass > v->requested) {
            pthread_mutex_unlock(&v->mu);
            return cs_reply_errorf(out, req, CS_PERR_BAD_REQUEST,
                                   "no verify job '%.*s' (the last is verify-%u)",
                                   (int)(req->job.len > 40 ? 40 : req->job.len), req->job.ptr,
                                   v->requested);
        }
    } else {
        /* a pass that has not started yet covers this request too */
        if (v->requested == v->started) {
            v->requested++;
        }
        pass = v->requested;
        pthread_cond_broadcast(&v->cv);
    }
    char job[32];
    snprintf(job, sizeof job, "verify-%u", pass);
    int done = v->finished >= pass;
    size_t failed = 0;
    for (size_t i = 0; i < v->n_res; i++) {
        failed += v->res[i].state == S_FAILED;
    }
    cs_reply_begin(out, req, 1, 4);
    cs_out_kv_str(out, "job", job);
    cs_out_cstr(out, "state");
    cs_out_cstr(out, !done ? "running" : failed ? "failed" : "done");
    cs_out_kv_int(out, "failed", (int64_t)failed);
    cs_out_cstr(out, "releases");
    cs_out_array(out, (uint32_t)v->n_res);
    for (size_t i = 0; i < v->n_res; i++) {
        const s_result_t *r = &v->res[i];
        cs_out_map(out, 4);
        cs_out_kv_str(out, "system", r->system);
        cs_out_kv_str(out, "release", r->label);
        cs_out_kv_str(out, "state", s_state_names[r->state]);
        cs_out_kv_str(out, "message", r->message);
    }
    pthread_mutex_unlock(&v->mu);
    return CS_PERR_NONE;
}

cs_proto_err_t cs_op_verify(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    if (!ctx->verify) {
        return cs_reply_errorf(out, req, CS_PERR_INTERNAL, "no verifier runs here");
    }
    return cs_verify_answer(ctx->verify, req, out);
}
