/* cs_verify.c: release checksums (computed at publish) and the background verifier. */
#include "store/cs_verify.h"

#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/cs_catalog.h"
#include "store/cs_key.h"
#include "util/cs_log.h"
#include "engine/cs_op.h"

#define S_CHUNK 4096      /* records read per snapshot: keeps each read transaction short */
#define S_MAX_RELEASES 256 /* releases one pass reports */

/* The databases a release's records live in, in the order they are hashed. */
static const int s_dbs[] = {CS_DB_CODES, CS_DB_CHILDREN, CS_DB_SEARCH, CS_DB_MAPS, CS_DB_RMAPS};

static void s_hash_record(struct sha256_ctx *ctx, int db, const cs_val_t *k, const cs_val_t *v)
{
    uint8_t head[7];
    head[0] = (uint8_t)db;
    head[1] = (uint8_t)(k->len >> 8);
    head[2] = (uint8_t)k->len;
    cs_key_put_u32(head + 3, (uint32_t)v->len);
    sha256_update(ctx, sizeof head, head);
    sha256_update(ctx, k->len, k->data);
    sha256_update(ctx, v->len, v->data);
}

/* Hash up to S_CHUNK records of db from key `from` (exclusive when skip) that start with
 * prefix. *more = 1 when records may remain; from/flen then name the last one hashed. */
static int s_hash_chunk(cs_reader_t *r, int db, const uint8_t *prefix, uint8_t *from,
                        size_t *flen, int skip, struct sha256_ctx *ctx, uint64_t *n, int *more)
{
    *more = 0;
    if (cs_reader_begin(r) != CS_OK) {
        return CS_EINTERNAL;
    }
    cs_val_t k, v;
    int rc = cs_reader_seek(r, db, from, *flen, &k, &v);
    if (rc == CS_OK && skip && k.len == *flen && memcmp(k.data, from, *flen) == 0) {
        rc = cs_reader_next(r, db, &k, &v);
    }
    unsigned done = 0;
    while (rc == CS_OK && k.len >= 4 && memcmp(k.data, prefix, 4) == 0) {
        if (k.len > CS_STORE_KEY_MAX) {
            rc = CS_EMALFORMED;
            break;
        }
        s_hash_record(ctx, db, &k, &v);
        (*n)++;
        if (++done == S_CHUNK) {
            memcpy(from, k.data, k.len);
            *flen = k.len;
            *more = 1;
            break;
        }
        rc = cs_reader_next(r, db, &k, &v);
    }
    cs_reader_end(r);
    return rc == CS_ENOTFOUND ? CS_OK : rc;
}

int cs_verify_checksum(cs_reader_t *r, uint32_t release, char hex[65], uint64_t *records,
                       atomic_int *stop, cs_error_t *err)
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    uint64_t n = 0;
    uint8_t prefix[4], from[CS_STORE_KEY_MAX];
    cs_key_put_u32(prefix, release);
    hex[0] = '\0';
    for (size_t d = 0; d < sizeof s_dbs / sizeof s_dbs[0]; d++) {
        size_t flen = 4;
        memcpy(from, prefix, 4);
        int more = 1;
        for (int skip = 0; more; skip = 1) {
            if (stop && atomic_load(stop)) {
                return cs_error_set(err, CS_ETERM, "stopped");
            }
            int rc = s_hash_chunk(r, s_dbs[d], prefix, from, &flen, skip, &ctx, &n, &more);
            if (rc == CS_EMALFORMED) {
                return cs_error_set(err, rc, "a page of its records cannot be read (record %llu"
                                    " of the %s records)", (unsigned long long)n + 1,
                                    d == 0 ? "code" : d == 1 ? "child" : d == 2 ? "search"
                                                                              : "map");
            }
            if (rc != CS_OK) {
                return cs_error_set(err, rc, "the store cannot be read: %s", cs_strerror(rc));
            }
        }
    }
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++) {
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    }
    if (records) {
        *records = n;
    }
    return CS_OK;
}

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
    int rc = cs_verify_checksum(rd, rel->id, hex, &n, &v->stop, &err);
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

cs_verify_t *cs_verify_start(cs_store_t *store, cs_error_t *err)
{
    cs_verify_t *v = calloc(1, sizeof *v);
    if (!v) {
        cs_error_set(err, CS_ENOMEM, "out of memory starting the verifier");
        return NULL;
    }
    v->store = store;
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

cs_proto_err_t cs_verify_answer(cs_verify_t *v, const cs_request_t *req, msgpack_packer *pk)
{
    pthread_mutex_lock(&v->mu);
    unsigned pass;
    if (req->job.len) {
        pass = s_job_pass(req->job);
        if (pass == 0 || pass > v->requested) {
            pthread_mutex_unlock(&v->mu);
            return cs_reply_errorf(pk, req, CS_PERR_BAD_REQUEST,
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
    cs_reply_begin(pk, req, 1, 4);
    cs_pack_kv_str(pk, "job", job);
    cs_pack_cstr(pk, "state");
    cs_pack_cstr(pk, !done ? "running" : failed ? "failed" : "done");
    cs_pack_kv_int(pk, "failed", (int64_t)failed);
    cs_pack_cstr(pk, "releases");
    msgpack_pack_array(pk, (uint32_t)v->n_res);
    for (size_t i = 0; i < v->n_res; i++) {
        const s_result_t *r = &v->res[i];
        msgpack_pack_map(pk, 4);
        cs_pack_kv_str(pk, "system", r->system);
        cs_pack_kv_str(pk, "release", r->label);
        cs_pack_kv_str(pk, "state", s_state_names[r->state]);
        cs_pack_kv_str(pk, "message", r->message);
    }
    pthread_mutex_unlock(&v->mu);
    return CS_PERR_NONE;
}

cs_proto_err_t cs_op_verify(cs_op_ctx_t *ctx, const cs_request_t *req, msgpack_packer *pk)
{
    if (!ctx->verify) {
        return cs_reply_errorf(pk, req, CS_PERR_INTERNAL, "no verifier runs here");
    }
    return cs_verify_answer(ctx->verify, req, pk);
}
