/* cs_broker.c: sockets, the request loop, admin ops and the stats op. */
#include "cs_broker.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cs_catalog.h"
#include "cs_curve.h"
#include "cs_load.h"
#include "cs_log.h"
#include "cs_plugin_host.h"
#include "cs_proto.h"
#include "cs_query.h"
#include "cs_replypool.h"
#include "cs_stats.h"
#include "cs_store.h"
#include "cs_workers.h"

#define CS_MAX_FRAMES 16 /* envelope frames kept per request */
#define CS_POLL_MS 200
/* At shutdown, how long a running load gets to stop before the broker leaves without it. */
#define S_STOP_LOAD_MS 5000
#define CS_HWM 10000
/* A validate of more codes than this goes to a worker, like search, diff and crosswalk. */
#define CS_SLOW_VALIDATE 100
/* A validate of at least S_SPLIT_MIN codes is spread over the workers in slices of at least
 * S_SPLIT_SLICE codes (at most S_SLICES_MAX), answered together and joined here: on two
 * cores, 1,000 codes take half the time. At most S_JOINS such requests are joined at once;
 * beyond that they go to one worker whole. */
#define S_SPLIT_MIN 256
#define S_SPLIT_SLICE 128
#define S_SLICES_MAX 8
#define S_JOINS 32
/* Pooled reply buffers (cs_replypool.h): enough for 2,048 lookups in flight; larger replies
 * are copied by zmq_send. */
#define S_REPLY_BUFFERS 2048
#define S_REPLY_BYTES 512
/* What s_dispatch returns for a request it leaves to the workers (not a protocol error). */
#define S_FORWARD ((cs_proto_err_t)-1)

/* The sockets the loop serves, in the order it serves them. */
enum { S_FRONT, S_ADMIN, S_WORKERS, S_ZAP, S_N };

/* The loop polls the sockets' ZMQ_FD descriptors itself rather than calling zmq_poll: every
 * zmq_poll asks each socket for ZMQ_EVENTS twice, and each ask is a getpid() and a poll()
 * system call (about 1 us each on a VM). A descriptor signals only a change, so a socket is
 * read until a non-blocking receive finds nothing (which takes in its pending commands) before
 * the loop may sleep; a send on a socket can take in its commands too, so a socket sent on
 * since is read again first. */
typedef struct s_watch {
    void *sock;
    int pfd;   /* index in the pollfd array, -1 when absent */
    int check; /* must be read before the loop sleeps */
} s_watch_t;

/* A long validate being answered in slices. */
typedef struct s_join {
    int used;
    uint32_t seq;                       /* the tag its slices carry */
    int n_env;
    zmq_msg_t env[CS_MAX_FRAMES];       /* the client's envelope */
    zmq_msg_t body;                     /* the request, to answer whole if the slices disagree */
    uint16_t count, got;
    zmq_msg_t slice[S_SLICES_MAX];      /* the packed slices, in order */
    cs_worker_meta_t meta[S_SLICES_MAX];
    uint8_t in[S_SLICES_MAX];           /* 1 once slice k came back */
    uint64_t t0;
} s_join_t;

typedef struct s_broker {
    const cs_broker_config_t *cfg;
    void *zctx;                 /* the one ZeroMQ context */
    void *front;                /* query ROUTER */
    void *admin;                /* admin ROUTER */
    cs_store_t *store;
    cs_plugin_host_t *plugins;
    cs_engine_t *engine;        /* this thread's query engine */
    cs_codeidx_set_t *index;    /* code indexes, shared with the workers */
    cs_replypool_t *replies;    /* buffers for the replies this thread packs */
    cs_jobs_t *jobs;            /* load jobs */
    cs_workers_t *workers;      /* slow-op threads, NULL when --workers 0 */
    cs_curve_t *curve;          /* CURVE keys and ZAP handler, NULL without --curve-secret */
    uint32_t max_codes;         /* validate codes per request (configured, clamped) */
    uint32_t max_limit;         /* search limit ceiling (configured, clamped) */
    cs_stats_t stats;
    msgpack_sbuffer out;        /* reply buffer, reused */
    cs_request_t req;           /* decoded request, reused */
    int forwarded;              /* a request went to the workers since the loop last looked */
    uint32_t fwd_codes;         /* codes of the validate s_dispatch just left to the workers */
    uint32_t join_seq;          /* the last join tag handed out */
    s_join_t joins[S_JOINS];
    char admin_path[PATH_MAX];  /* ipc socket file, for chmod and unlink */
} s_broker_t;

static uint64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- admin ops ---- */

/* Copy a wire string into a C string; 0 if it does not fit. */
static int s_cstr(cs_str_t s, char *out, size_t cap)
{
    if (s.len >= cap) {
        return 0;
    }
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return 1;
}

static cs_proto_err_t s_admin_load(s_broker_t *b, const cs_request_t *req, msgpack_packer *pk)
{
    char files_buf[CS_PROTO_MAX_FILES][PATH_MAX];
    const char *files[CS_PROTO_MAX_FILES];
    for (uint32_t i = 0; i < req->n_files; i++) {
        if (!s_cstr(cs_request_file_at(req, i), files_buf[i], sizeof files_buf[i])) {
            cs_reply_error(pk, req, CS_PERR_BAD_REQUEST, "a file path is too long");
            return CS_PERR_BAD_REQUEST;
        }
        files[i] = files_buf[i];
    }
    cs_error_t err;
    cs_error_clear(&err);
    const cs_plugin_desc_t *loader;
    if (req->loader.len) {
        loader = cs_plugin_host_loader(b->plugins, req->loader.ptr, req->loader.len);
        if (!loader) {
            char msg[256];
            snprintf(msg, sizeof msg, "no loader '%.*s' is loaded (see the plugins op)",
                     (int)(req->loader.len > 64 ? 64 : req->loader.len), req->loader.ptr);
            cs_reply_error(pk, req, CS_PERR_BAD_REQUEST, msg);
            return CS_PERR_BAD_REQUEST;
        }
    } else {
        loader = NULL; /* sniffed on the load thread: no file is read on this one */
    }
    char label[64];
    char system[32];
    if (!s_cstr(req->release, label, sizeof label)) {
        cs_reply_error(pk, req, CS_PERR_BAD_REQUEST, "the release label is too long");
        return CS_PERR_BAD_REQUEST;
    }
    if (req->system.len && !s_cstr(req->system, system, sizeof system)) {
        cs_reply_error(pk, req, CS_PERR_BAD_REQUEST, "the system id is too long");
        return CS_PERR_BAD_REQUEST;
    }
    cs_load_spec_t spec = {
        .loader = loader,
        .system = req->system.len ? system : NULL,
        .label = label,
        .effective_from = req->effective_from,
        .files = files,
        .n_files = req->n_files,
    };
    char id[CS_JOB_ID_MAX];
    int rc = cs_jobs_start(b->jobs, &spec, id, &err);
    if (rc == CS_EEXIST) {
        cs_reply_error(pk, req, CS_PERR_BUSY, err.msg);
        return CS_PERR_BUSY;
    }
    if (rc != CS_OK) {
        cs_reply_error(pk, req, CS_PERR_LOAD_FAILED, err.msg);
        return CS_PERR_LOAD_FAILED;
    }
    cs_reply_begin(pk, req, 1, loader ? 2 : 1);
    cs_pack_kv_str(pk, "job", id);
    if (loader) {
        cs_pack_kv_str(pk, "loader", loader->name);
    }
    return CS_PERR_NONE;
}

static cs_proto_err_t s_admin_retire_or_drop(s_broker_t *b, const cs_request_t *req,
                                             msgpack_packer *pk)
{
    char system[32], label[64];
    if (!s_cstr(req->system, system, sizeof system) ||
        !s_cstr(req->release, label, sizeof label)) {
        cs_reply_error(pk, req, CS_PERR_BAD_REQUEST, "the system id or release is too long");
        return CS_PERR_BAD_REQUEST;
    }
    int drop = req->op == CS_OP_DROP;
    uint64_t codes = 0;
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_jobs_retire_or_drop(b->jobs, system, label, drop, &codes, &err);
    cs_proto_err_t e = rc == CS_OK         ? CS_PERR_NONE
                       : rc == CS_EEXIST   ? CS_PERR_BUSY
                       : rc == CS_ENOTFOUND ? CS_PERR_UNKNOWN_RELEASE
                                           : CS_PERR_INTERNAL;
    if (e != CS_PERR_NONE) {
        cs_reply_error(pk, req, e, err.msg);
        return e;
    }
    cs_reply_begin(pk, req, 1, drop ? 3 : 2);
    cs_pack_kv_str(pk, "system", system);
    cs_pack_kv_str(pk, "release", label);
    if (drop) {
        cs_pack_kv_int(pk, "codes", (int64_t)codes);
    }
    return CS_PERR_NONE;
}

static const char *s_state_name(cs_job_state_t s)
{
    switch (s) {
    case CS_JOB_RUNNING: return "running";
    case CS_JOB_DONE: return "done";
    default: return "failed";
    }
}

static cs_proto_err_t s_admin_job(s_broker_t *b, const cs_request_t *req, msgpack_packer *pk)
{
    cs_job_status_t st;
    if (cs_jobs_status(b->jobs, req->job.ptr, req->job.len, &st) != CS_OK) {
        cs_reply_error(pk, req, CS_PERR_BAD_REQUEST, "no such job");
        return CS_PERR_BAD_REQUEST;
    }
    int failed = st.state == CS_JOB_FAILED;
    cs_reply_begin(pk, req, 1, 11 + (failed ? 2 : 0));
    cs_pack_kv_str(pk, "job", st.id);
    cs_pack_kv_str(pk, "state", s_state_name(st.state));
    cs_pack_kv_int(pk, "bytes_done", (int64_t)st.bytes_done);
    cs_pack_kv_int(pk, "bytes_total", (int64_t)st.bytes_total);
    cs_pack_kv_int(pk, "records", (int64_t)st.records);
    cs_pack_kv_int(pk, "codes", (int64_t)st.codes);
    cs_pack_kv_int(pk, "billable", (int64_t)st.billable);
    cs_pack_cstr(pk, "seconds");
    msgpack_pack_double(pk, st.seconds);
    cs_pack_kv_str(pk, "system", st.system);
    cs_pack_kv_str(pk, "release", st.label);
    cs_pack_kv_str(pk, "loader", st.loader[0] ? st.loader : NULL);
    if (failed) {
        cs_pack_kv_bool(pk, "cancelled", st.cancelled);
        cs_pack_cstr(pk, "error");
        msgpack_pack_map(pk, 5);
        cs_pack_kv_str(pk, "code", "load_failed");
        cs_pack_kv_str(pk, "message", st.error.msg);
        cs_pack_kv_str(pk, "file", st.error.file[0] ? st.error.file : NULL);
        cs_pack_kv_int(pk, "line", st.error.line);
        cs_pack_kv_int(pk, "column", st.error.column);
    }
    return CS_PERR_NONE;
}

static cs_proto_err_t s_admin_cancel(s_broker_t *b, const cs_request_t *req, msgpack_packer *pk)
{
    cs_job_status_t st;
    cs_error_t err;
    cs_error_clear(&err);
    if (cs_jobs_cancel(b->jobs, req->job.ptr, req->job.len, &st, &err) != CS_OK) {
        cs_reply_error(pk, req, CS_PERR_BAD_REQUEST, err.msg);
        return CS_PERR_BAD_REQUEST;
    }
    cs_reply_begin(pk, req, 1, 2);
    cs_pack_kv_str(pk, "job", st.id);
    cs_pack_kv_str(pk, "state", "cancelling");
    return CS_PERR_NONE;
}

static cs_proto_err_t s_admin_plugins(s_broker_t *b, const cs_request_t *req,
                                      msgpack_packer *pk)
{
    size_t n = cs_plugin_host_count(b->plugins);
    cs_reply_begin(pk, req, 1, 1);
    cs_pack_cstr(pk, "plugins");
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const cs_plugin_desc_t *p = cs_plugin_host_at(b->plugins, i);
        int loader = p->kind == CS_PLUGIN_LOADER;
        char abi[32];
        snprintf(abi, sizeof abi, "%u.%u", p->abi_major, p->abi_minor);
        msgpack_pack_map(pk, 6 + (loader ? 1 : 0));
        cs_pack_kv_str(pk, "name", p->name);
        cs_pack_kv_str(pk, "kind", loader ? "loader" : "system");
        cs_pack_kv_str(pk, "version", p->version);
        cs_pack_kv_str(pk, "title", p->title);
        cs_pack_kv_str(pk, "abi", abi);
        cs_pack_kv_str(pk, "path", cs_plugin_host_path_at(b->plugins, i));
        if (loader) {
            uint32_t ns = 0;
            while (p->loader->systems[ns]) {
                ns++;
            }
            cs_pack_cstr(pk, "systems");
            msgpack_pack_array(pk, ns);
            for (uint32_t s = 0; s < ns; s++) {
                cs_pack_cstr(pk, p->loader->systems[s]);
            }
        }
    }
    return CS_PERR_NONE;
}

static cs_proto_err_t s_stats(s_broker_t *b, const cs_request_t *req, msgpack_packer *pk)
{
    cs_reply_begin(pk, req, 1, 4 + 5);
    cs_stats_pack(&b->stats, pk);
    size_t n_idx, idx_bytes;
    cs_codeidx_usage(b->index, &n_idx, &idx_bytes);
    cs_pack_cstr(pk, "code_indexes");
    msgpack_pack_map(pk, 2);
    cs_pack_kv_int(pk, "count", (int64_t)n_idx);
    cs_pack_kv_int(pk, "bytes", (int64_t)idx_bytes);
    cs_pack_kv_int(pk, "workers", cs_workers_count(b->workers));
    cs_pack_kv_int(pk, "db_bytes", (int64_t)cs_store_used_bytes(b->store));
    cs_pack_kv_int(pk, "map_bytes", (int64_t)cs_store_map_size(b->store));
    cs_pack_kv_str(pk, "version", CS_VERSION);
    return CS_PERR_NONE;
}

/* ---- dispatch ---- */

/* Ops whose cost grows with the release or the request: they go to a worker, so that the
 * lookups queued behind them are not held up. */
static int s_is_slow(const cs_request_t *req)
{
    switch (req->op) {
    case CS_OP_SEARCH:
    case CS_OP_DIFF:
    case CS_OP_CROSSWALK: return 1;
    case CS_OP_VALIDATE: return req->n_codes > CS_SLOW_VALIDATE;
    default: return 0;
    }
}

static cs_proto_err_t s_dispatch(s_broker_t *b, const void *body, size_t len, int is_admin,
                                 msgpack_packer *pk, cs_op_t *op_out)
{
    cs_request_t *req = &b->req;
    cs_error_t err;
    cs_error_clear(&err);
    cs_proto_err_t e = cs_request_decode(req, body, len, &err);
    *op_out = req->op;
    if (e != CS_PERR_NONE) {
        cs_reply_error(pk, req, e, err.msg[0] ? err.msg : "malformed request");
        cs_request_release(req);
        return e;
    }
    /* The configured limits sit below the protocol's own (cs_proto checks those). */
    if (req->op == CS_OP_VALIDATE && req->n_codes > b->max_codes) {
        char msg[128];
        snprintf(msg, sizeof msg, "%u codes in one request; this broker takes at most %u",
                 (unsigned)req->n_codes, (unsigned)b->max_codes);
        cs_reply_error(pk, req, CS_PERR_TOO_MANY, msg);
        cs_request_release(req);
        return CS_PERR_TOO_MANY;
    }
    cs_request_clamp_limit(req, b->max_limit); /* like the protocol's own ceiling (W5) */
    if (cs_proto_op_is_admin(req->op) && !is_admin) {
        e = CS_PERR_FORBIDDEN;
        char msg[128];
        snprintf(msg, sizeof msg, "'%s' is an admin op: send it to the admin endpoint",
                 cs_proto_opname(req->op));
        cs_reply_error(pk, req, e, msg);
        cs_request_release(req);
        return e;
    }
    if (!is_admin && b->workers && s_is_slow(req)) {
        b->fwd_codes = req->op == CS_OP_VALIDATE ? req->n_codes : 0;
        cs_request_release(req);
        return S_FORWARD;
    }
    switch (req->op) {
    case CS_OP_LOAD: e = s_admin_load(b, req, pk); break;
    case CS_OP_JOB: e = s_admin_job(b, req, pk); break;
    case CS_OP_CANCEL: e = s_admin_cancel(b, req, pk); break;
    case CS_OP_PLUGINS: e = s_admin_plugins(b, req, pk); break;
    case CS_OP_RETIRE:
    case CS_OP_DROP: e = s_admin_retire_or_drop(b, req, pk); break;
    case CS_OP_STATS: e = s_stats(b, req, pk); break;
    default: e = cs_engine_handle(b->engine, req, pk); break;
    }
    cs_request_release(req);
    return e;
}

/* Hand a request, envelope and body, to the workers (they take the frames). */
static void s_forward(s_broker_t *b, zmq_msg_t *frames, int n)
{
    void *ws = cs_workers_sock(b->workers);
    for (int i = 0; i < n; i++) {
        if (zmq_msg_send(&frames[i], ws, i < n - 1 ? ZMQ_SNDMORE : 0) < 0) {
            CS_WARN("cannot hand a request to the workers: %s", zmq_strerror(errno));
            for (int j = i; j < n; j++) {
                zmq_msg_close(&frames[j]);
            }
            return;
        }
    }
}

/* ---- long validates, answered in slices ---- */

static void s_join_free(s_join_t *j)
{
    for (int i = 0; i < j->n_env; i++) {
        zmq_msg_close(&j->env[i]);
    }
    zmq_msg_close(&j->body);
    for (int k = 0; k < j->count; k++) {
        zmq_msg_close(&j->slice[k]);
    }
    j->used = 0;
}

/* Spread the validate just dispatched over the workers (the frames are taken). 0 when it is
 * not worth it or there is no room: the caller forwards it whole. */
static int s_split(s_broker_t *b, zmq_msg_t *frames, int n)
{
    int workers = cs_workers_count(b->workers);
    uint32_t codes = b->fwd_codes;
    if (codes < S_SPLIT_MIN || workers < 2 || n - 1 > CS_MAX_FRAMES) {
        return 0;
    }
    s_join_t *j = NULL;
    for (int i = 0; i < S_JOINS && !j; i++) {
        j = b->joins[i].used ? NULL : &b->joins[i];
    }
    if (!j) {
        return 0;
    }
    uint32_t count = codes / S_SPLIT_SLICE;
    count = count < (uint32_t)workers ? count : (uint32_t)workers;
    count = count < S_SLICES_MAX ? count : S_SLICES_MAX;
    memset(j, 0, sizeof *j);
    j->used = 1;
    j->seq = ++b->join_seq;
    j->count = (uint16_t)count;
    j->t0 = s_now_ns();
    j->n_env = n - 1;
    for (int i = 0; i < n - 1; i++) {
        zmq_msg_init(&j->env[i]);
        zmq_msg_move(&j->env[i], &frames[i]);
        zmq_msg_close(&frames[i]);
    }
    zmq_msg_init(&j->body);
    zmq_msg_move(&j->body, &frames[n - 1]);
    zmq_msg_close(&frames[n - 1]);
    for (uint32_t k = 0; k < count; k++) {
        zmq_msg_init(&j->slice[k]);
    }
    void *ws = cs_workers_sock(b->workers);
    for (uint32_t k = 0; k < count; k++) {
        cs_worker_part_t part = {.magic = CS_WORKER_PART_MAGIC, .seq = j->seq,
                                 .index = (uint16_t)k, .count = (uint16_t)count,
                                 .lo = (uint32_t)((uint64_t)codes * k / count),
                                 .hi = (uint32_t)((uint64_t)codes * (k + 1) / count)};
        zmq_msg_t body;
        zmq_msg_init(&body);
        zmq_msg_copy(&body, &j->body); /* shares the bytes: no copy */
        if (zmq_send(ws, &part, sizeof part, ZMQ_SNDMORE) < 0 ||
            zmq_msg_send(&body, ws, 0) < 0) {
            CS_WARN("cannot hand a slice to the workers: %s", zmq_strerror(errno));
            zmq_msg_close(&body);
            break; /* the answers never complete; the client times out */
        }
    }
    return 1;
}

/* Every slice is in: join them into one reply, or, when they read different snapshots (a
 * release was published between them) or failed, hand the request to a worker whole. */
static void s_join_finish(s_broker_t *b, s_join_t *j)
{
    int same = 1;
    size_t total = 0;
    for (int k = 0; k < j->count; k++) {
        same &= j->meta[k].err == CS_PERR_NONE && j->meta[k].snapshot != 0 &&
                j->meta[k].snapshot == j->meta[0].snapshot;
        total += zmq_msg_size(&j->slice[k]);
    }
    if (!same) {
        CS_INFO("a long validate's slices disagree (a release changed between them, or the "
                "request failed): answered whole");
        zmq_msg_t frames[CS_MAX_FRAMES + 1];
        int n = 0;
        for (int i = 0; i < j->n_env; i++, n++) {
            zmq_msg_init(&frames[n]);
            zmq_msg_move(&frames[n], &j->env[i]);
        }
        zmq_msg_init(&frames[n]);
        zmq_msg_move(&frames[n++], &j->body);
        s_forward(b, frames, n);
        b->forwarded = 1;
        s_join_free(j);
        return;
    }
    zmq_msg_t reply;
    if (zmq_msg_init_size(&reply, total) != 0) {
        CS_ERROR("out of memory joining a validate of %zu bytes", total);
        s_join_free(j);
        return;
    }
    uint8_t *at = zmq_msg_data(&reply);
    for (int k = 0; k < j->count; k++) {
        memcpy(at, zmq_msg_data(&j->slice[k]), zmq_msg_size(&j->slice[k]));
        at += zmq_msg_size(&j->slice[k]);
    }
    int ok = 1;
    for (int i = 0; i < j->n_env && ok; i++) {
        ok = zmq_msg_send(&j->env[i], b->front, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0;
    }
    if (!ok || zmq_msg_send(&reply, b->front, ZMQ_DONTWAIT) < 0) {
        CS_DEBUG("reply to a departed client dropped: %s", zmq_strerror(errno));
        zmq_msg_close(&reply);
    }
    cs_stats_record(&b->stats, CS_OP_VALIDATE, CS_PERR_NONE, s_now_ns() - j->t0);
    s_join_free(j);
}

/* A slice came back: keep it; join when it was the last. */
static void s_join_slice(s_broker_t *b, const cs_worker_part_t *part, zmq_msg_t *bytes,
                         const cs_worker_meta_t *meta)
{
    s_join_t *j = NULL;
    for (int i = 0; i < S_JOINS && !j; i++) {
        j = b->joins[i].used && b->joins[i].seq == part->seq ? &b->joins[i] : NULL;
    }
    if (!j || part->index >= j->count || j->in[part->index]) {
        CS_WARN("a slice of an unknown or finished validate came back; dropped");
        return;
    }
    zmq_msg_move(&j->slice[part->index], bytes);
    j->meta[part->index] = *meta;
    j->in[part->index] = 1;
    if (++j->got == j->count) {
        s_join_finish(b, j);
    }
}

/* Read one answer from the workers and send it to its client. 0 when none was waiting. */
static int s_relay_answer(s_broker_t *b)
{
    void *ws = cs_workers_sock(b->workers);
    zmq_msg_t frames[CS_MAX_FRAMES + 2];
    int n = 0, more = 1;
    while (more && n < CS_MAX_FRAMES + 2) {
        zmq_msg_init(&frames[n]);
        if (zmq_msg_recv(&frames[n], ws, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&frames[n]);
            break;
        }
        more = zmq_msg_more(&frames[n]);
        n++;
    }
    if (n == 0) {
        return 0;
    }
    cs_worker_meta_t meta;
    int whole = !more && n >= 3 && zmq_msg_size(&frames[n - 1]) == sizeof meta;
    cs_worker_part_t part;
    if (whole && n == 3 && cs_worker_part_read(zmq_msg_data(&frames[0]),
                                               zmq_msg_size(&frames[0]), &part)) {
        memcpy(&meta, zmq_msg_data(&frames[2]), sizeof meta);
        s_join_slice(b, &part, &frames[1], &meta);
        for (int i = 0; i < n; i++) {
            zmq_msg_close(&frames[i]);
        }
    } else if (whole) {
        memcpy(&meta, zmq_msg_data(&frames[n - 1]), sizeof meta);
        for (int i = 0; i < n - 1; i++) {
            if (zmq_msg_send(&frames[i], b->front, i < n - 2 ? ZMQ_SNDMORE | ZMQ_DONTWAIT
                                                             : ZMQ_DONTWAIT) < 0) {
                CS_DEBUG("reply to a departed client dropped: %s", zmq_strerror(errno));
                for (int j = i; j < n - 1; j++) {
                    zmq_msg_close(&frames[j]);
                }
                break;
            }
        }
        zmq_msg_close(&frames[n - 1]);
        cs_stats_record(&b->stats, (cs_op_t)meta.op, (cs_proto_err_t)meta.err, meta.ns);
    } else {
        CS_WARN("a worker's answer was cut short (%d frames); dropped", n);
        for (int i = 0; i < n; i++) {
            zmq_msg_close(&frames[i]);
        }
    }
    return 1;
}

/* Receive one request (all its frames), answer it, send the reply with the envelope.
 * Returns 0 when no request was waiting (the socket had nothing to read), else 1. */
static int s_serve_one(s_broker_t *b, void *sock, int is_admin)
{
    zmq_msg_t frames[CS_MAX_FRAMES];
    int n = 0;
    int more = 1;
    int overflow = 0;
    while (more) {
        zmq_msg_t *m = &frames[n < CS_MAX_FRAMES ? n : CS_MAX_FRAMES - 1];
        if (n >= CS_MAX_FRAMES) {
            zmq_msg_close(m); /* keep only the first frames and the last one */
            overflow = 1;
        } else {
            n++;
        }
        zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(m);
            n--;
            break;
        }
        more = zmq_msg_more(m);
    }
    if (n < 2) {
        /* a ROUTER always prefixes the identity: nothing to answer to */
        for (int i = 0; i < n; i++) {
            zmq_msg_close(&frames[i]);
        }
        return n > 0;
    }
    uint64_t t0 = s_now_ns();
    msgpack_sbuffer_clear(&b->out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b->out, msgpack_sbuffer_write);
    cs_op_t op = CS_OP_UNKNOWN;
    cs_proto_err_t e;
    if (overflow) {
        e = CS_PERR_BAD_REQUEST;
        cs_reply_error(&pk, NULL, e, "too many frames: a request is an envelope and one body");
    } else {
        zmq_msg_t *body = &frames[n - 1];
        e = s_dispatch(b, zmq_msg_data(body), zmq_msg_size(body), is_admin, &pk, &op);
        if (e == S_FORWARD) {
            if (!s_split(b, frames, n)) {
                s_forward(b, frames, n);
            }
            b->forwarded = 1;
            return 1;
        }
    }
    for (int i = 0; i < n - 1; i++) {
        if (zmq_msg_send(&frames[i], sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
            CS_DEBUG("reply to a departed client dropped: %s", zmq_strerror(errno));
            for (int j = i; j < n; j++) {
                zmq_msg_close(&frames[j]);
            }
            return 1;
        }
    }
    zmq_msg_close(&frames[n - 1]);
    if (cs_replypool_send(b->replies, sock, b->out.data, b->out.size, ZMQ_DONTWAIT) < 0) {
        CS_DEBUG("reply dropped: %s", zmq_strerror(errno));
    }
    cs_stats_record(&b->stats, op, e, s_now_ns() - t0);
    return 1;
}

/* ---- set-up and the loop ---- */

static void *s_router(s_broker_t *b, int64_t max_msg)
{
    void *s = zmq_socket(b->zctx, ZMQ_ROUTER);
    if (!s) {
        return NULL;
    }
    int one = 1, zero = 0, hwm = CS_HWM;
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
    return s;
}

/* The directory of the admin socket must be the broker's own and closed to others: whoever
 * can write there can swap the socket file for their own and read admin traffic. */
static int s_check_admin_dir(const char *path, cs_error_t *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    struct stat st;
    if (stat(dir, &st) != 0) {
        return cs_error_set(err, CS_EIO, "admin socket directory %s: %s", dir, strerror(errno));
    }
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        return cs_error_set(err, CS_EIO,
                            "admin socket directory %s must belong to this user and not be "
                            "writable by group or others (owner %u, mode %04o)", dir,
                            (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    }
    return CS_OK;
}

static int s_bind_admin(s_broker_t *b, cs_error_t *err)
{
    const char *ep = b->cfg->admin;
    b->admin = s_router(b, b->cfg->max_msg);
    if (!b->admin) {
        return cs_error_set(err, CS_EINTERNAL, "cannot create the admin socket");
    }
    int is_ipc = strncmp(ep, "ipc://", 6) == 0;
    if (is_ipc) {
        snprintf(b->admin_path, sizeof b->admin_path, "%s", ep + 6);
        int rc = s_check_admin_dir(b->admin_path, err);
        if (rc != CS_OK) {
            b->admin_path[0] = '\0'; /* not ours to unlink at stop */
            return rc;
        }
        unlink(b->admin_path); /* a socket file left by a killed broker */
    } else if (strncmp(ep, "inproc://", 9) != 0) {
        /* Loads, retires and drops from the network need an authenticated client. */
        if (!b->curve || cs_curve_n_clients(b->curve) == 0) {
            return cs_error_set(err, CS_EINVAL,
                                "admin endpoint %s is not ipc://: it needs --curve-secret and "
                                "--curve-clients, so only listed keys may administer", ep);
        }
        int rc = cs_curve_server(b->curve, b->admin, 1, err);
        if (rc != CS_OK) {
            return rc;
        }
    }
    /* Only the broker's user may connect: the socket file is created 0600. */
    mode_t old = umask(0077);
    int rc = zmq_bind(b->admin, ep);
    umask(old);
    if (rc != 0) {
        return cs_error_set(err, CS_EIO, "cannot bind the admin endpoint %s: %s", ep,
                            zmq_strerror(errno));
    }
    if (is_ipc && chmod(b->admin_path, 0600) != 0) {
        return cs_error_set(err, CS_EIO, "cannot restrict %s to mode 0600: %s", b->admin_path,
                            strerror(errno));
    }
    return CS_OK;
}

static int s_start(s_broker_t *b, cs_error_t *err)
{
    const cs_broker_config_t *cfg = b->cfg;
    b->store = cs_store_open(cfg->db_dir, cfg->map_size, 126, err);
    if (!b->store) {
        return err->code;
    }
    cs_writer_t *w = cs_writer_new(b->store, err);
    if (!w) {
        return err->code;
    }
    size_t purged = 0;
    int rc = cs_catalog_purge_incomplete(w, &purged, err);
    cs_writer_destroy(&w);
    if (rc != CS_OK) {
        return rc;
    }
    /* P5 checks each plugin file; the directory must be closed too, or anyone who can write
     * there could drop in a file of their own before the next start. */
    struct stat pst;
    if (stat(cfg->plugin_dir, &pst) != 0) {
        return cs_error_set(err, CS_EIO, "plugin directory %s: %s", cfg->plugin_dir,
                            strerror(errno));
    }
    if (!S_ISDIR(pst.st_mode)) {
        return cs_error_set(err, CS_EIO, "plugin directory %s: not a directory",
                            cfg->plugin_dir);
    }
    if (pst.st_mode & (S_IWGRP | S_IWOTH)) {
        return cs_error_set(err, CS_EIO,
                            "plugin directory %s is writable by group or others (mode %04o); "
                            "refusing to load plugins from it", cfg->plugin_dir,
                            (unsigned)(pst.st_mode & 07777));
    }
    b->plugins = cs_plugin_host_new();
    if (!b->plugins) {
        return cs_error_set(err, CS_ENOMEM, "out of memory");
    }
    size_t n_plugins = 0;
    rc = cs_plugin_host_load_dir(b->plugins, cfg->plugin_dir, &n_plugins, err);
    if (rc != CS_OK) {
        return rc;
    }
    size_t mib = cfg->index_mib < 0 ? 0 : cfg->index_mib ? (size_t)cfg->index_mib
                                                          : CS_BROKER_INDEX_MIB;
    b->index = cs_codeidx_set_new(b->store, mib << 20, err);
    if (!b->index) {
        return err->code;
    }
    b->engine = cs_engine_new(b->store, b->plugins, err);
    if (!b->engine) {
        return err->code;
    }
    cs_engine_use_index(b->engine, b->index);
    b->jobs = cs_jobs_new(b->store, b->plugins);
    if (!b->jobs) {
        return cs_error_set(err, CS_ENOMEM, "out of memory");
    }
    b->zctx = zmq_ctx_new();
    b->replies = cs_replypool_new(S_REPLY_BUFFERS, S_REPLY_BYTES);
    if (!b->replies) {
        return cs_error_set(err, CS_ENOMEM, "out of memory");
    }
    if (cfg->curve_secret) {
        b->curve = cs_curve_new(cfg->curve_secret, cfg->curve_clients, err);
        if (!b->curve) {
            return err->code;
        }
        /* the ZAP handler first: no CURVE handshake may happen before it can refuse one */
        rc = b->zctx ? cs_curve_zap_start(b->curve, b->zctx, err) : CS_OK;
        if (rc != CS_OK) {
            return rc;
        }
    } else if (cfg->curve_clients) {
        return cs_error_set(err, CS_EINVAL, "--curve-clients needs --curve-secret");
    }
    if (b->zctx && cfg->workers > 0) {
        b->workers = cs_workers_start(b->zctx, b->store, b->plugins, b->index, cfg->workers,
                                      b->max_limit, err);
        if (!b->workers) {
            return err->code ? err->code : CS_EINTERNAL;
        }
    }
    b->front = b->zctx ? s_router(b, cfg->max_msg) : NULL;
    if (!b->front) {
        return cs_error_set(err, CS_EINTERNAL, "cannot create the query socket");
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        /* CURVE is a bind-time option: on for tcp endpoints, off for ipc ones */
        if (b->curve) {
            rc = cs_curve_server(b->curve, b->front, cs_curve_applies(cfg->listen[i]), err);
            if (rc != CS_OK) {
                return rc;
            }
        }
        if (zmq_bind(b->front, cfg->listen[i]) != 0) {
            return cs_error_set(err, CS_EIO, "cannot bind the query endpoint %s: %s",
                                cfg->listen[i], zmq_strerror(errno));
        }
    }
    rc = s_bind_admin(b, err);
    if (rc != CS_OK) {
        return rc;
    }
    CS_NOTICE("codesetd %s started: db %s, %zu plugins from %s, query %s%s, admin %s",
              CS_VERSION, cfg->db_dir, n_plugins, cfg->plugin_dir, cfg->listen[0],
              cfg->n_listen > 1 ? " (and more)" : "", cfg->admin);
    if (b->curve) {
        size_t n = cs_curve_n_clients(b->curve);
        CS_NOTICE("CURVE on tcp endpoints, server key %s; %s%zu client keys",
                  cs_curve_public(b->curve), n ? "" : "any client (no list), ", n);
    }
    return CS_OK;
}

/* Stop everything the broker started. 0, or -1 when a load did not stop in time: its thread
 * still uses the store and a plugin, so those are left as they are (see cs_jobs_stop). */
static int s_stop(s_broker_t *b)
{
    int stuck = b->jobs && cs_jobs_stop(b->jobs, S_STOP_LOAD_MS) != CS_OK;
    if (!stuck) {
        cs_jobs_destroy(&b->jobs);
    }
    for (int i = 0; i < S_JOINS; i++) {
        if (b->joins[i].used) {
            s_join_free(&b->joins[i]);
        }
    }
    if (b->workers) {
        zmq_ctx_shutdown(b->zctx); /* wakes the workers out of their receives */
        cs_workers_stop(&b->workers);
    }
    if (b->front) {
        zmq_close(b->front);
    }
    if (b->admin) {
        zmq_close(b->admin);
    }
    cs_curve_destroy(&b->curve); /* closes the ZAP socket: zmq_ctx_term waits for it */
    if (b->zctx) {
        zmq_ctx_term(b->zctx);
    }
    cs_replypool_destroy(&b->replies); /* every message it lent is closed by now */
    if (b->admin_path[0]) {
        unlink(b->admin_path);
    }
    if (stuck) {
        return -1;
    }
    cs_engine_destroy(&b->engine);
    cs_codeidx_set_destroy(&b->index); /* after every engine: they hold its indexes */
    cs_plugin_host_destroy(&b->plugins);
    cs_store_destroy(&b->store);
    msgpack_sbuffer_destroy(&b->out);
    cs_request_fini(&b->req);
    return 0;
}

int cs_broker_run(const cs_broker_config_t *cfg, volatile sig_atomic_t *stop, cs_error_t *err)
{
    s_broker_t b;
    memset(&b, 0, sizeof b);
    b.cfg = cfg;
    b.max_codes = cfg->max_codes && cfg->max_codes < CS_PROTO_MAX_CODES ? cfg->max_codes
                                                                        : CS_PROTO_MAX_CODES;
    b.max_limit = cfg->max_search_limit && cfg->max_search_limit < CS_PROTO_MAX_LIMIT
                      ? cfg->max_search_limit
                      : CS_PROTO_MAX_LIMIT;
    cs_stats_init(&b.stats);
    msgpack_sbuffer_init(&b.out);
    cs_request_init_reusable(&b.req);
    int rc = s_start(&b, err);
    if (rc != CS_OK) {
        s_stop(&b);
        return rc;
    }
    s_watch_t w[S_N];
    memset(w, 0, sizeof w);
    void *socks[S_N] = {b.front, b.admin, b.workers ? cs_workers_sock(b.workers) : NULL,
                        cs_curve_zap_socket(b.curve)};
    struct pollfd pfd[S_N];
    int n_fds = 0;
    for (int i = 0; i < S_N; i++) {
        w[i].sock = socks[i];
        w[i].check = socks[i] != NULL; /* anything queued before the loop starts */
        w[i].pfd = -1;
        size_t sz = sizeof pfd[n_fds].fd;
        if (socks[i] && zmq_getsockopt(socks[i], ZMQ_FD, &pfd[n_fds].fd, &sz) == 0) {
            pfd[n_fds].events = POLLIN;
            w[i].pfd = n_fds++;
        }
    }
    while (!*stop) {
        /* Serve what each socket holds, a bounded batch each round so none starves. */
        if (w[S_FRONT].check) {
            int served = 0;
            while (served < 256 && s_serve_one(&b, b.front, 0)) {
                served++;
            }
            w[S_FRONT].check = served == 256;
            /* a forwarded request was a send on the workers' socket */
            w[S_WORKERS].check |= b.forwarded; /* never set without workers */
            b.forwarded = 0;
        }
        if (w[S_ADMIN].check) {
            int served = 0;
            while (served < 16 && s_serve_one(&b, b.admin, 1)) {
                served++;
            }
            w[S_ADMIN].check = served == 16;
        }
        if (w[S_WORKERS].check) {
            int relayed = 0;
            while (relayed < 256 && s_relay_answer(&b)) {
                relayed++;
            }
            w[S_WORKERS].check = relayed == 256 || b.forwarded; /* a whole re-send */
            b.forwarded = 0;
            w[S_FRONT].check |= relayed > 0; /* replies were sends on the front */
        }
        if (w[S_ZAP].check) {
            w[S_ZAP].check = cs_curve_zap_serve(b.curve); /* handshakes wait on these */
        }
        int again = 0;
        for (int i = 0; i < S_N; i++) {
            again |= w[i].check;
        }
        int n = poll(pfd, (nfds_t)n_fds, again ? 0 : CS_POLL_MS);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            CS_ERROR("poll failed: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < S_N && n > 0; i++) {
            if (w[i].pfd >= 0 && (pfd[w[i].pfd].revents & POLLIN)) {
                w[i].check = 1;
            }
        }
    }
    CS_NOTICE("codesetd stopping: %llu requests served",
              (unsigned long long)(b.stats.requests[CS_OP_LOOKUP] +
                                   b.stats.requests[CS_OP_VALIDATE]));
    if (s_stop(&b) != 0) {
        return cs_error_set(err, CS_ETERM, "the running load did not stop within %d s of the "
                            "shutdown; leaving it (its partial release is purged at the next "
                            "start)", S_STOP_LOAD_MS / 1000);
    }
    return CS_OK;
}
