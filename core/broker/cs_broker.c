/* cs_broker.c: sockets, the request loop, admin ops and the stats op. */
#include "broker/cs_broker.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/cs_conncap.h"
#include "broker/cs_peers.h"
#include "broker/cs_replypool.h"
#include "broker/cs_slices.h"
#include "broker/cs_stats.h"
#include "broker/cs_verify.h"
#include "broker/cs_workers.h"
#include "broker/cs_zmtp_front.h"
#include "engine/cs_op.h"
#include "engine/cs_query.h"
#include "engine/cs_search_cache.h"
#include "load/cs_load.h"
#include "load/cs_plugin_host.h"
#include "store/cs_catalog.h"
#include "store/cs_store.h"
#include "util/cs_log.h"
#include "util/cs_spin.h"
#include "wire/cs_curve.h"
#include "wire/cs_out_msgpack.h"
#include "wire/cs_proto.h"

#define CS_MAX_FRAMES 16 /* envelope frames kept per request */
#define CS_POLL_MS 200
/* At shutdown, how long a running load gets to stop before the broker leaves without it. */
#define S_STOP_LOAD_MS 5000
#define CS_HWM 10000
/* Pooled reply buffers (cs_replypool.h): enough for 2,048 lookups in flight; larger replies
 * are copied by zmq_send. */
#define S_REPLY_BUFFERS 2048
#define S_REPLY_BYTES 512
/* A stop signal drains: answer what was received until this long without a request, or at
 * most this long in all (docs/SECURITY.md). */
#define S_DRAIN_QUIET_MS 200
#define S_DRAIN_MAX_MS 5000
/* What one query connection may hold by default: unread replies and waiting requests. */
#define S_PEER_BYTES_DEFAULT (64u << 20)
/* Hand-overs each worker may have queued besides the one it answers. */
#define S_CREDITS_PER_WORKER 2
/* How long one connection must have been alone in sending before the loop spins. */
#define S_LONE_NS 2000000u
/* The most requests one pass may have served for the loop to spin after it: a connection
 * that sends more at once pipelines, its next ones come in a batch too, and the spin's polls
 * and yields would take the CPU its client needs to send them (on two cores, a quarter of
 * the broker's CPU per pipelined lookup went to the spin). */
#define S_SPIN_BATCH 2
/* The most systems whose plugins load before the broker serves (the systems it has
 * releases of); the other plugins load while it serves. */
#define S_SYSTEMS_FIRST 64
/* What s_dispatch returns for a request it leaves to the workers (not a protocol error). */
#define S_FORWARD ((cs_proto_err_t)-1)

/* The sockets the loop serves, in the order it serves them. */
enum { S_FRONT, S_ADMIN, S_WORKERS, S_ZAP, S_CONNS, S_DIRECT, S_N };

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

typedef struct s_broker {
    const cs_broker_config_t *cfg;
    void *zctx;                 /* the one ZeroMQ context */
    void *front;                /* query ROUTER */
    cs_zfront_t *direct;        /* the query endpoints the loop serves itself, or NULL */
    void *admin;                /* admin ROUTER */
    cs_store_t *store;
    cs_plugin_host_t *plugins;
    cs_engine_t *engine;        /* this thread's query engine */
    cs_op_ctx_t ctx;            /* what this thread's handlers work with (cs_op.h) */
    cs_codeidx_set_t *index;    /* code indexes, shared with the workers */
    cs_search_cache_t *searches; /* costly searches' results, shared with the workers */
    cs_replypool_t *replies;    /* buffers for the replies this thread packs */
    cs_jobs_t *jobs;            /* load jobs */
    cs_verify_t *verify;        /* release checksums, checked in the background */
    _Atomic uint64_t busy_ns;   /* when the loop last served a request (s_now_ns): the
                                 * verifier waits while it is recent */
    cs_workers_t *workers;      /* slow-op threads, NULL when --workers 0 */
    cs_curve_t *curve;          /* CURVE keys and ZAP handler, NULL without --curve-secret */
    uint32_t max_codes;         /* validate codes per request (configured, clamped) */
    uint32_t max_limit;         /* search limit ceiling (configured, clamped) */
    cs_stats_t stats;
    msgpack_sbuffer out;        /* reply buffer, reused */
    msgpack_packer pk;          /* packs into out */
    cs_out_msgpack_t writer;    /* the result interface over pk (wire/cs_out_msgpack.h) */
    cs_request_t req;           /* decoded request, reused */
    cs_peers_t *peers;          /* what each query connection holds; its waiting requests */
    cs_peer_t *peer;            /* the connection of the request being served, or NULL */
    uint64_t cfg_peer_bytes;    /* what one connection may hold (configured) */
    int credits;                /* hand-overs the workers may take now (cs_peers.h) */
    int credits_max;            /* ... when they have nothing */
    cs_conncap_t *conncap;      /* the query endpoint's connection cap */
    uint64_t refused;           /* requests answered busy: their connection held too much */
    uint64_t dropped;           /* replies a client could not take (left, or queue full) */
    int forwarded;              /* a request went to the workers since the loop last looked */
    uint32_t fwd_codes;         /* slicing units (cs_op_slice_units) of what s_dispatch just
                                 * left to the workers */
    cs_slices_t *slices;        /* long validates and claims answered in slices */
    char admin_path[PATH_MAX];  /* ipc socket file, for chmod and unlink */
    int loop_cpu;               /* the CPU the loop is pinned to, or -1 (s_io_threads) */
    uint64_t spin_ns;           /* how long the loop looks for work before it sleeps, now
                                 * (cs_spin_window) */
    uint64_t spin_min_ns, spin_max_ns; /* its bounds (configured) */
    const cs_peer_t *last_peer; /* the connection of the last request served */
    uint64_t mixed_ns;          /* when a request last came from another connection */
    uint64_t fetched_ahead;     /* lookups whose index entries were fetched ahead */
    uint64_t clock_ns;          /* the loop's last reading of the clock (s_clock): the start
                                 * of its pass or the end of its last answer, from which the
                                 * next answer is timed; a pipelined request costs one reading
                                 * of the clock, not two */
} s_broker_t;

static uint64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The time now, kept as the start of whatever the loop does next. */
static uint64_t s_clock(s_broker_t *b)
{
    b->clock_ns = s_now_ns();
    return b->clock_ns;
}

cs_proto_err_t cs_op_stats(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    const s_broker_t *b = ctx->server;
    if (!b) {
        return cs_reply_errorf(out, req, CS_PERR_INTERNAL, "stats are the broker's thread's");
    }
    cs_reply_begin(out, req, 1, 4 + 6);
    cs_stats_write(&b->stats, out);
    cs_out_cstr(out, "connections");
    cs_out_map(out, 9);
    /* both fronts together; each has the same cap */
    size_t open = cs_conncap_open(b->conncap) + (b->direct ? cs_zfront_open(b->direct) : 0);
    uint64_t refused = cs_conncap_refused(b->conncap) +
                       (b->direct ? cs_zfront_refused(b->direct) : 0);
    cs_out_kv_int(out, "open", (int64_t)open);
    cs_out_kv_int(out, "max", (int64_t)cs_conncap_max(b->conncap));
    cs_out_kv_int(out, "refused", (int64_t)refused);
    cs_out_kv_int(out, "busy", (int64_t)b->refused);
    cs_out_kv_int(out, "dropped", (int64_t)b->dropped);
    cs_out_kv_int(out, "waiting", (int64_t)cs_peers_waiting(b->peers));
    cs_out_kv_int(out, "peers", (int64_t)cs_peers_count(b->peers));
    cs_out_kv_int(out, "streamed", b->direct ? (int64_t)cs_zfront_streamed(b->direct) : 0);
    cs_out_kv_int(out, "fetched_ahead", (int64_t)b->fetched_ahead);
    size_t n_idx, idx_bytes;
    cs_codeidx_usage(b->index, &n_idx, &idx_bytes);
    cs_out_cstr(out, "code_indexes");
    cs_out_map(out, 2);
    cs_out_kv_int(out, "count", (int64_t)n_idx);
    cs_out_kv_int(out, "bytes", (int64_t)idx_bytes);
    cs_out_kv_int(out, "workers", cs_workers_count(b->workers));
    cs_out_kv_int(out, "db_bytes", (int64_t)cs_store_used_bytes(b->store));
    cs_out_kv_int(out, "map_bytes", (int64_t)cs_store_map_size(b->store));
    cs_out_kv_str(out, "version", CS_VERSION);
    return CS_PERR_NONE;
}

/* ---- dispatch ---- */

/* The busy answer to a request of a client that is not reading its replies: small, and not
 * at a worker. */
static cs_proto_err_t s_busy(s_broker_t *b, const cs_request_t *req, const cs_peer_t *peer,
                             cs_out_t *out)
{
    b->refused++;
    return cs_reply_errorf(out, req, CS_PERR_BUSY,
                           "this connection holds %llu bytes of unread replies and waiting "
                           "requests, more than the %llu it may: read replies before sending "
                           "more",
                           (unsigned long long)cs_peer_held(peer),
                           (unsigned long long)b->cfg_peer_bytes);
}

static cs_proto_err_t s_dispatch(s_broker_t *b, const void *body, size_t len, int is_admin,
                                 cs_out_t *out, cs_op_t *op_out)
{
    cs_request_t *req = &b->req;
    cs_error_t err;
    cs_error_clear(&err);
    /* A claims batch for the workers leaves its claims to them: each decodes its slice's
     * (cs_request_decode_part), and a batch with a bad claim is answered whole, the same
     * error. Any other request decodes whole, as does one the broker must answer itself. */
    int lazy = !is_admin && b->workers;
    cs_proto_err_t e = lazy ? cs_request_decode_part(req, body, len, 0, 0, &err)
                            : cs_request_decode(req, body, len, &err);
    if (lazy && e == CS_PERR_NONE && b->peer && cs_peer_over(b->peers, b->peer)) {
        cs_request_release(req); /* refused busy unless a claim is bad: that comes first */
        e = cs_request_decode(req, body, len, &err);
    }
    *op_out = req->op;
    if (e != CS_PERR_NONE) {
        cs_reply_error(out, req, e, err.msg[0] ? err.msg : "malformed request");
        cs_request_release(req);
        return e;
    }
    /* The configured limits sit below the protocol's own (cs_proto checks those). A batch
     * counts its items' codes, so none of its items gets past the limit either. */
    if ((req->op == CS_OP_VALIDATE || req->op == CS_OP_BATCH) && req->n_codes > b->max_codes) {
        char msg[128];
        snprintf(msg, sizeof msg, "%u codes in one request; this broker takes at most %u",
                 (unsigned)req->n_codes, (unsigned)b->max_codes);
        cs_reply_error(out, req, CS_PERR_TOO_MANY, msg);
        cs_request_release(req);
        return CS_PERR_TOO_MANY;
    }
    cs_request_clamp_limit(req, b->max_limit); /* like the protocol's own ceiling (W5) */
    const cs_op_def_t *def = &cs_ops[req->op];
    if ((def->flags & CS_OPF_ADMIN) && !is_admin) {
        e = CS_PERR_FORBIDDEN;
        char msg[128];
        snprintf(msg, sizeof msg, "'%s' is an admin op: send it to the admin endpoint",
                 def->name);
        cs_reply_error(out, req, e, msg);
        cs_request_release(req);
        return e;
    }
    if (b->peer && cs_peer_over(b->peers, b->peer)) {
        e = s_busy(b, req, b->peer, out);
        cs_request_release(req);
        return e;
    }
    if (!is_admin && b->workers && cs_op_is_slow(req)) {
        if (def->flags & CS_OPF_TRY_FIRST) {
            /* most searches cost less than the hop to a worker and back: answered here
             * within the engine's budget; one that would cost more goes on, unwritten */
            e = def->handler(&b->ctx, req, out);
            if (!cs_engine_deferred(b->engine)) {
                cs_request_release(req);
                return e;
            }
        }
        b->fwd_codes = def->flags & CS_OPF_SLICEABLE ? cs_op_slice_units(req) : 0;
        cs_request_release(req);
        return S_FORWARD;
    }
    e = def->handler(&b->ctx, req, out);
    cs_request_release(req);
    return e;
}

/* A reply to a connection of the direct front (as s_send_reply's arguments, peer aside: the
 * front charges its connections itself). */
static void s_send_direct(s_broker_t *b, zmq_msg_t *env, int n_env, void *buf, size_t len)
{
    cs_zframe_t fr[CS_MAX_FRAMES];
    int n = n_env < CS_MAX_FRAMES ? n_env : CS_MAX_FRAMES;
    for (int i = 0; i < n; i++) {
        fr[i] = (cs_zframe_t){zmq_msg_data(&env[i]), zmq_msg_size(&env[i])};
    }
    if (!buf || cs_zfront_send(b->direct, fr, n, buf, len) != 0) {
        b->dropped++; /* the connection left, or out of memory */
    }
    if (buf) {
        cs_replypool_put_back(b->replies, buf);
    }
    for (int i = 0; i < n_env; i++) {
        zmq_msg_close(&env[i]);
    }
}

/* The socket argument of s_send_reply for an answer that comes back from the workers: the
 * query front its routing identity belongs to (libzmq's, or the direct front's, which
 * refuses its own kind of identity from libzmq's peers: the two never mix). */
#define S_ROUTE NULL

/* Send a reply: the envelope frames (taken) and len bytes in buf (a buffer taken from the
 * reply pool, or NULL when none could be had), charged to peer until ZeroMQ frees it. A reply
 * the client cannot take (it left, or its queue is full) is counted as dropped. */
static void s_send_reply(s_broker_t *b, void *sock, zmq_msg_t *env, int n_env, void *buf,
                         size_t len, cs_peer_t *peer)
{
    if (sock == S_ROUTE) {
        if (b->direct && n_env > 0 &&
            cs_zfront_owns(zmq_msg_data(&env[0]), zmq_msg_size(&env[0]))) {
            s_send_direct(b, env, n_env, buf, len);
            return;
        }
        sock = b->front;
    }
    int i = 0;
    while (buf && i < n_env && zmq_msg_send(&env[i], sock, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
        i++;
    }
    int sent = buf && i == n_env &&
               cs_replypool_send_taken(b->replies, sock, buf, len, ZMQ_DONTWAIT, peer) >= 0;
    if (buf && i < n_env) {
        cs_replypool_put_back(b->replies, buf);
    }
    for (int k = 0; k < n_env; k++) {
        zmq_msg_close(&env[k]); /* a sent frame is empty: closing it is a no-op */
    }
    if (!sent) {
        b->dropped++;
        CS_DEBUG("a reply was dropped: %s", buf ? zmq_strerror(errno) : "out of memory");
    }
}

/* A copy of len bytes in a reply buffer, or NULL when out of memory. */
static void *s_reply_copy(s_broker_t *b, const void *data, size_t len)
{
    void *buf = cs_replypool_take(b->replies, len);
    if (buf) {
        memcpy(buf, data, len);
    }
    return buf;
}

/* Hand a request, envelope and body, to the workers (they take the frames). */
static void s_forward(s_broker_t *b, zmq_msg_t *frames, int n)
{
    void *ws = cs_workers_sock(b->workers);
    const char kind = CS_WORKER_WHOLE;
    int sent = zmq_send(ws, &kind, 1, ZMQ_SNDMORE) < 0 ? n : 0;
    for (; sent < n; sent++) {
        if (zmq_msg_send(&frames[sent], ws, sent < n - 1 ? ZMQ_SNDMORE : 0) < 0) {
            break;
        }
    }
    if (sent < n) {
        CS_WARN("cannot hand a request to the workers: %s", zmq_strerror(errno));
    }
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&frames[i]); /* a sent frame is empty: closing it is a no-op */
    }
    b->credits--;
    b->forwarded = 1;
}

/* An empty reply buffer, and the writer that fills it. */
static cs_out_t *s_reply_start(s_broker_t *b)
{
    msgpack_sbuffer_clear(&b->out);
    return &b->writer.out;
}

/* ---- long validates, answered in slices ---- */

/* Answer a waiting request busy: its client has not read what it was sent meanwhile. Busy
 * whatever the client holds by now: ZeroMQ gives bytes back from its own thread, so a second
 * look could say otherwise, and the request must get an answer either way. */
static void s_refuse(s_broker_t *b, cs_handover_t *h)
{
    uint64_t t0 = b->clock_ns;
    cs_out_t *out = s_reply_start(b);
    cs_request_t *req = &b->req;
    cs_error_t err;
    cs_error_clear(&err);
    zmq_msg_t *body = &h->frames[h->n - 1];
    cs_proto_err_t e = cs_request_decode(req, zmq_msg_data(body), zmq_msg_size(body), &err);
    cs_op_t op = req->op;
    if (e != CS_PERR_NONE) {
        cs_reply_error(out, req, e, err.msg[0] ? err.msg : "malformed request");
    } else {
        e = s_busy(b, req, h->peer, out);
    }
    cs_request_release(req);
    void *buf = s_reply_copy(b, b->out.data, b->out.size);
    s_send_reply(b, S_ROUTE, h->frames, h->n - 1, buf, b->out.size, h->peer);
    cs_stats_record(&b->stats, op, e, s_clock(b) - t0);
}

/* Hand the waiting requests to the workers while they have room: one of each client
 * connection in turn (cs_peers.h), so that none waits behind another's thousands. A request
 * whose client holds too much by its turn (the replies to its earlier ones, unread) is
 * answered busy instead. */
static void s_pump(s_broker_t *b)
{
    cs_handover_t *h;
    while (b->credits > 0 && (h = cs_peers_next(b->peers)) != NULL) {
        if (cs_peer_over(b->peers, h->peer)) {
            s_refuse(b, h);
        } else {
            cs_peer_at_workers(h->peer, 1);
            int slices = cs_slices_split(b->slices, cs_workers_sock(b->workers),
                                         cs_workers_count(b->workers), h);
            if (slices) {
                b->credits -= slices;
                b->forwarded = 1;
            } else {
                s_forward(b, h->frames, h->n);
            }
        }
        cs_handover_destroy(&h);
    }
}

/* A slice came back: when it was its request's last, send the joined reply, or hand the
 * request to a worker whole when the slices disagree (cs_slices.h). */
static void s_slice_back(s_broker_t *b, const cs_worker_part_t *part, zmq_msg_t *bytes,
                         const cs_worker_meta_t *meta)
{
    cs_joined_t j;
    if (!cs_slices_add(b->slices, part, bytes, meta, &j)) {
        return;
    }
    if (j.whole) {
        zmq_msg_t frames[CS_SLICES_ENVELOPE + 1];
        for (int i = 0; i < j.n_env; i++) {
            zmq_msg_init(&frames[i]);
            zmq_msg_move(&frames[i], &j.env[i]);
        }
        zmq_msg_init(&frames[j.n_env]);
        zmq_msg_move(&frames[j.n_env], &j.body);
        s_forward(b, frames, j.n_env + 1); /* still at the workers: its answer counts it back */
        return;
    }
    zmq_msg_close(&j.body);
    s_send_reply(b, S_ROUTE, j.env, j.n_env, j.reply, j.len, j.peer);
    cs_peer_at_workers(j.peer, -1);
    cs_stats_record(&b->stats, CS_OP_VALIDATE, CS_PERR_NONE, s_clock(b) - j.t0);
}

/* A whole answer came back ([kind] [envelope...] [body] [meta], n frames): send it on. */
static void s_relay_whole(s_broker_t *b, zmq_msg_t *frames, int n)
{
    cs_worker_meta_t meta;
    memcpy(&meta, zmq_msg_data(&frames[n - 1]), sizeof meta);
    cs_peer_t *peer = cs_peers_get(b->peers, zmq_msg_data(&frames[1]),
                                   zmq_msg_size(&frames[1]));
    if (peer) {
        cs_peer_at_workers(peer, -1);
    }
    zmq_msg_t *body = &frames[n - 2];
    void *buf = s_reply_copy(b, zmq_msg_data(body), zmq_msg_size(body));
    s_send_reply(b, S_ROUTE, &frames[1], n - 3, buf, zmq_msg_size(body), peer);
    cs_stats_record(&b->stats, (cs_op_t)meta.op, (cs_proto_err_t)meta.err, meta.ns);
}

/* Read one answer from the workers and send it to its client. 0 when none was waiting. */
static int s_relay_answer(s_broker_t *b)
{
    void *ws = cs_workers_sock(b->workers);
    enum { MAX = CS_WORKER_FRAMES(CS_MAX_FRAMES) };
    zmq_msg_t frames[MAX];
    int n = 0, more = 1;
    while (more && n < MAX) {
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
    b->credits++; /* a worker took an answer off its hands */
    /* [kind] [envelope... | part] [body] [meta]: the kind frame is the broker's own */
    int kind = !more && n >= 4 && zmq_msg_size(&frames[n - 1]) == sizeof(cs_worker_meta_t)
                   ? cs_worker_kind(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]))
                   : 0;
    cs_worker_part_t part;
    if (kind == CS_WORKER_PART && n == 4 &&
        cs_worker_part_read(zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]), &part)) {
        cs_worker_meta_t meta;
        memcpy(&meta, zmq_msg_data(&frames[3]), sizeof meta);
        s_slice_back(b, &part, &frames[2], &meta);
    } else if (kind == CS_WORKER_WHOLE) {
        s_relay_whole(b, frames, n);
    } else {
        CS_WARN("a worker's answer was cut short (%d frames); dropped", n);
    }
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&frames[i]);
    }
    return 1;
}

/* Receive one request's frames from sock into frames (CS_MAX_FRAMES; the first ones and the
 * last are kept); *overflow is set when there were more. Returns how many are kept. */
static int s_receive(void *sock, zmq_msg_t *frames, int *overflow)
{
    int n = 0, more = 1;
    *overflow = 0;
    while (more) {
        zmq_msg_t *m = &frames[n < CS_MAX_FRAMES ? n : CS_MAX_FRAMES - 1];
        if (n >= CS_MAX_FRAMES) {
            zmq_msg_close(m); /* keep only the first frames and the last one */
            *overflow = 1;
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
    return n;
}

/* Queue a request that s_dispatch left to the workers (its frames are taken). */
static void s_hand_over(s_broker_t *b, zmq_msg_t *frames, int n)
{
    cs_handover_t *h = b->peer ? cs_handover_new(b->peer, frames, n, b->fwd_codes) : NULL;
    if (h) {
        cs_peers_enqueue(b->peers, h);
        return;
    }
    CS_WARN("out of memory queueing a request for the workers: dropped");
    b->dropped++;
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&frames[i]);
    }
}

#define S_TOO_MANY_FRAMES "too many frames: a request is an envelope and one body"

/* Answer a request into b->out: of the connection of routing identity id (id_len bytes) on
 * the query endpoint, or of the admin endpoint. A request refused before it is read (too
 * many frames) is answered bad_request with refuse. S_FORWARD when it is left to the
 * workers. */
static cs_proto_err_t s_answer(s_broker_t *b, const void *id, size_t id_len, const void *body,
                               size_t len, const char *refuse, int is_admin, uint64_t t0,
                               cs_op_t *op)
{
    b->peer = is_admin ? NULL : cs_peers_get(b->peers, id, id_len);
    if (b->peer != b->last_peer) {
        /* the broker's first request is no other connection's: a lone client spins from it */
        b->mixed_ns = b->last_peer || b->peer == NULL ? t0 : b->mixed_ns;
        b->last_peer = b->peer;
    }
    cs_out_t *out = s_reply_start(b);
    *op = CS_OP_UNKNOWN;
    if (refuse) {
        cs_reply_error(out, NULL, CS_PERR_BAD_REQUEST, refuse);
        return CS_PERR_BAD_REQUEST;
    }
    return s_dispatch(b, body, len, is_admin, out, op);
}

/* Receive one request (all its frames), answer it, send the reply with the envelope.
 * Returns 0 when no request was waiting (the socket had nothing to read), else 1. */
static int s_serve_one(s_broker_t *b, void *sock, int is_admin)
{
    zmq_msg_t frames[CS_MAX_FRAMES];
    int overflow;
    int n = s_receive(sock, frames, &overflow);
    if (n < 2) {
        /* a ROUTER always prefixes the identity: nothing to answer to */
        for (int i = 0; i < n; i++) {
            zmq_msg_close(&frames[i]);
        }
        return n > 0;
    }
    uint64_t t0 = b->clock_ns;
    const void *id = zmq_msg_data(&frames[0]);
    size_t id_len = zmq_msg_size(&frames[0]);
    /* with both fronts, a libzmq peer that picked an identity of the direct front's kind
     * could have a worker's answer meant for it go to a direct connection */
    const char *refuse = overflow ? S_TOO_MANY_FRAMES
                         : !is_admin && b->direct && cs_zfront_owns(id, id_len)
                             ? "this routing identity is reserved: pick another"
                             : NULL;
    cs_op_t op;
    zmq_msg_t *body = &frames[n - 1];
    cs_proto_err_t e = s_answer(b, id, id_len, zmq_msg_data(body), zmq_msg_size(body), refuse,
                                is_admin, t0, &op);
    if (e == S_FORWARD) {
        s_hand_over(b, frames, n);
        b->peer = NULL;
        return 1;
    }
    zmq_msg_close(&frames[n - 1]);
    void *buf = s_reply_copy(b, b->out.data, b->out.size);
    s_send_reply(b, sock, frames, n - 1, buf, b->out.size, b->peer);
    b->peer = NULL;
    cs_stats_record(&b->stats, op, e, s_clock(b) - t0);
    return 1;
}

/* A request from a connection of the direct front (cs_zfront_request_fn): answered as
 * s_serve_one answers one; a slow one goes to the workers as a copy of its frames. */
static void s_serve_direct(void *arg, const cs_zframe_t *fr, int n, int overflow)
{
    s_broker_t *b = arg;
    uint64_t t0 = b->clock_ns;
    cs_op_t op;
    cs_proto_err_t e = s_answer(b, fr[0].data, fr[0].len, fr[n - 1].data, fr[n - 1].len,
                                overflow ? S_TOO_MANY_FRAMES : NULL, 0, t0, &op);
    if (e != S_FORWARD) {
        if (cs_zfront_send(b->direct, fr, n - 1, b->out.data, b->out.size) != 0) {
            b->dropped++;
        }
        cs_stats_record(&b->stats, op, e, s_clock(b) - t0);
        b->peer = NULL;
        return;
    }
    zmq_msg_t frames[CS_MAX_FRAMES];
    int made = 0;
    while (made < n && zmq_msg_init_size(&frames[made], fr[made].len) == 0) {
        memcpy(zmq_msg_data(&frames[made]), fr[made].data, fr[made].len);
        made++;
    }
    if (made == n) {
        s_hand_over(b, frames, n);
    } else {
        CS_WARN("out of memory handing a request to the workers: dropped");
        b->dropped++;
        for (int i = 0; i < made; i++) {
            zmq_msg_close(&frames[i]);
        }
    }
    b->peer = NULL;
}

/* A request the direct front shows ahead of its turn (cs_zfront_ahead_fn): a pipelining
 * client's lookups are each three dependent cache misses in the code index (its hash slot,
 * its record, the titles the reply copies), which cost a third of the broker's time at a
 * thousand in flight with random codes; the engine starts them while the requests before
 * are answered (cs_engine_lookup_ahead; the front shows CS_ZFRONT_AHEAD ahead, the engine's
 * stages are spaced for CS_ENGINE_AHEAD). Hints only: nothing else is read or changed. */
static void s_serve_ahead(void *arg, uint64_t seq, const void *body, size_t len)
{
    s_broker_t *b = arg;
    cs_str_t system = {NULL, 0}, code = {NULL, 0};
    if (!cs_proto_peek_lookup(body, len, &system, &code)) {
        system.len = 0; /* not a lookup: shown all the same, so the ones before get on */
    }
    b->fetched_ahead += (uint64_t)cs_engine_lookup_ahead(b->engine, seq, system, code);
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

/* Have the code indexes of the releases queries will ask for mapped while the process
 * starts (cs_codeidx_warm): each system's newest release first (what a query naming no date
 * or release answers from), then the others, newest first. cs_catalog_list sorts by system,
 * then effective date. */
static void s_warm_indexes(s_broker_t *b, const cs_release_t *rels, size_t n)
{
    uint32_t ids[CS_CODEIDX_WARM_MAX];
    size_t n_ids = 0, n_newest = 0;
    const char *system = NULL; /* the last system whose newest was taken */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = n; i-- > 0 && n_ids < CS_CODEIDX_WARM_MAX;) {
            int taken = 0;
            for (size_t k = 0; k < n_newest; k++) {
                taken |= ids[k] == rels[i].id;
            }
            int newest = !system || strcmp(system, rels[i].system) != 0;
            if (rels[i].status != CS_REL_ACTIVE || rels[i].n_maps > 0 || taken ||
                (pass == 0 && !newest)) {
                continue;
            }
            ids[n_ids++] = rels[i].id;
            system = rels[i].system;
        }
        n_newest = n_ids;
    }
    cs_codeidx_warm(b->index, ids, n_ids);
}

/* Every release the store holds (*rels owned by the caller; NULL and 0 when the catalog
 * cannot be read: nothing is warmed, every plugin loads later, queries find out then). */
static void s_catalog(s_broker_t *b, cs_release_t **rels, size_t *n)
{
    *rels = NULL;
    *n = 0;
    cs_error_t err;
    cs_reader_t *r = cs_reader_new(b->store, &err);
    if (r && cs_reader_begin(r) == CS_OK) {
        cs_catalog_list(r, NULL, 0, rels, n);
        cs_reader_end(r);
    }
    cs_reader_destroy(&r);
}

/* The systems the store has releases of (a map's both ends too), at most cap, into ids
 * (pointing into rels): their plugins load before the broker serves; the others, loaders
 * among them, on the plugin host's thread while it serves (cs_plugin_host_load_dir_first). */
static size_t s_systems_held(const cs_release_t *rels, size_t n, const char **ids, size_t cap)
{
    size_t n_ids = 0;
    for (size_t i = 0; i < n; i++) {
        const char *names[1 + 2 * CS_RELEASE_MAX_MAPS];
        size_t k = 0;
        names[k++] = rels[i].system;
        for (uint32_t m = 0; m < rels[i].n_maps && m < CS_RELEASE_MAX_MAPS; m++) {
            names[k++] = rels[i].maps[m].from;
            names[k++] = rels[i].maps[m].to;
        }
        for (size_t j = 0; j < k; j++) {
            size_t have = 0;
            while (have < n_ids && strcmp(ids[have], names[j]) != 0) {
                have++;
            }
            if (have == n_ids && n_ids < cap) {
                ids[n_ids++] = names[j];
            }
        }
    }
    return n_ids;
}

/* The store (a half-written release of an interrupted load purged), the plugins, the code
 * indexes, this thread's engine and the load jobs. */
static int s_start_store(s_broker_t *b, size_t *n_plugins, cs_error_t *err)
{
    const cs_broker_config_t *cfg = b->cfg;
    b->store = cs_store_open(cfg->db_dir, cfg->map_size, 0, err);
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
    /* the code indexes first: their images are read while the plugins load */
    size_t mib = cfg->index_mib < 0 ? 0 : cfg->index_mib ? (size_t)cfg->index_mib
                                                          : CS_BROKER_INDEX_MIB;
    b->index = cs_codeidx_set_new(b->store, mib << 20, err);
    if (!b->index) {
        return err->code;
    }
    cs_release_t *rels;
    size_t n_rels;
    s_catalog(b, &rels, &n_rels);
    s_warm_indexes(b, rels, n_rels);
    b->plugins = cs_plugin_host_new();
    const char *systems[S_SYSTEMS_FIRST];
    size_t n_systems = s_systems_held(rels, n_rels, systems, S_SYSTEMS_FIRST);
    rc = b->plugins ? cs_plugin_host_load_dir_first(b->plugins, cfg->plugin_dir, systems,
                                                    n_systems, n_plugins, err)
                    : cs_error_set(err, CS_ENOMEM, "out of memory");
    free(rels);
    if (rc != CS_OK) {
        return rc;
    }
    b->engine = cs_engine_new(b->store, b->plugins, err);
    b->searches = cs_search_cache_new(CS_SEARCH_CACHE_MIN_TOTAL);
    if (!b->engine || !b->searches) {
        return b->engine ? cs_error_set(err, CS_ENOMEM, "out of memory") : err->code;
    }
    cs_search_cache_keep_costly(b->searches, CS_SEARCH_CACHE_MIN_WORK);
    cs_engine_use_index(b->engine, b->index);
    cs_engine_share_searches(b->engine, b->searches);
    b->jobs = cs_jobs_new(b->store, b->plugins);
    if (!b->jobs) {
        return cs_error_set(err, CS_ENOMEM, "out of memory");
    }
    b->ctx = (cs_op_ctx_t){.engine = b->engine, .jobs = b->jobs, .plugins = b->plugins,
                           .server = b};
    return CS_OK;
}

/* The ZeroMQ I/O threads: how many, and where they run (set before any socket starts them).
 * With CS_BROKER_IO_SAME or _APART the loop's CPU is the one this thread runs on now; the
 * loop pins itself there when it starts (s_pin_loop), after the workers have started, so
 * they stay free. */
static int s_io_threads(s_broker_t *b, cs_error_t *err)
{
    const cs_broker_config_t *cfg = b->cfg;
    int n = cfg->io_threads > 0 ? cfg->io_threads : 1;
    if (zmq_ctx_set(b->zctx, ZMQ_IO_THREADS, n) != 0) {
        return cs_error_set(err, CS_EINVAL, "cannot use %d ZeroMQ I/O threads: %s", n,
                            zmq_strerror(errno));
    }
    b->loop_cpu = -1;
    if (cfg->io_affinity == CS_BROKER_IO_ANY) {
        return CS_OK;
    }
    b->loop_cpu = sched_getcpu();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    for (int cpu = 0; b->loop_cpu >= 0 && cpu < cpus && cpu < CPU_SETSIZE; cpu++) {
        int same = cpu == b->loop_cpu;
        if ((cfg->io_affinity == CS_BROKER_IO_SAME) == same &&
            zmq_ctx_set(b->zctx, ZMQ_THREAD_AFFINITY_CPU_ADD, cpu) != 0) {
            return cs_error_set(err, CS_EINVAL, "cannot place the ZeroMQ I/O threads: %s",
                                zmq_strerror(errno));
        }
    }
    return CS_OK;
}

/* Pin the loop's thread to the CPU s_io_threads placed the I/O threads by (none: no-op).
 * Threads it starts later (loads) inherit the pin. */
static void s_pin_loop(const s_broker_t *b)
{
    if (b->loop_cpu < 0) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(b->loop_cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (rc != 0) {
        CS_WARN("cannot pin the loop to CPU %d: %s", b->loop_cpu, strerror(rc));
    }
}

/* The ZeroMQ context, the reply buffers and the per-connection accounting, CURVE, the
 * workers. */
static int s_start_serving(s_broker_t *b, cs_error_t *err)
{
    const cs_broker_config_t *cfg = b->cfg;
    b->zctx = zmq_ctx_new();
    if (!b->zctx) {
        return cs_error_set(err, CS_EINTERNAL, "cannot create the ZeroMQ context: %s",
                            zmq_strerror(errno));
    }
    int rc = s_io_threads(b, err);
    if (rc != CS_OK) {
        return rc;
    }
    b->replies = cs_replypool_new(S_REPLY_BUFFERS, S_REPLY_BYTES);
    b->cfg_peer_bytes = cfg->max_peer_bytes ? cfg->max_peer_bytes : S_PEER_BYTES_DEFAULT;
    b->peers = cs_peers_new(b->cfg_peer_bytes);
    b->slices = cs_slices_new(b->replies);
    if (!b->replies || !b->peers || !b->slices) {
        return cs_error_set(err, CS_ENOMEM, "out of memory");
    }
    if (cfg->curve_secret) {
        b->curve = cs_curve_new(cfg->curve_secret, cfg->curve_clients, err);
        if (!b->curve) {
            return err->code;
        }
        /* the ZAP handler first: no CURVE handshake may happen before it can refuse one */
        rc = cs_curve_zap_start(b->curve, b->zctx, err);
        if (rc != CS_OK) {
            return rc;
        }
    } else if (cfg->curve_clients) {
        return cs_error_set(err, CS_EINVAL, "--curve-clients needs --curve-secret");
    }
    if (cfg->workers > 0) {
        b->workers = cs_workers_start(b->zctx, b->store, b->plugins, b->index, b->searches,
                                      cfg->workers, b->max_limit, err);
        if (!b->workers) {
            return err->code ? err->code : CS_EINTERNAL;
        }
        b->credits_max = b->credits = cfg->workers * (1 + S_CREDITS_PER_WORKER);
        /* a search that would cost the broker's thread more than the hop to a worker and
         * back (about 30 us; more than 8 in 10 of a coder's keystrokes cost less,
         * bench_search) goes to a worker, and its result is kept for the next one */
        cs_engine_set_budget(b->engine, CS_SEARCH_CACHE_MIN_WORK);
    }
    return CS_OK;
}

/* The direct front (--front direct), capped at conns connections: not with CURVE, whose
 * handshake only libzmq does. */
static int s_start_direct(s_broker_t *b, size_t conns, cs_error_t *err)
{
    const cs_broker_config_t *cfg = b->cfg;
    if (cfg->front != CS_BROKER_FRONT_DIRECT) {
        return CS_OK;
    }
    if (b->curve) {
        CS_NOTICE("--front direct: CURVE is on, so ZeroMQ serves the query endpoints");
        return CS_OK;
    }
    cs_zfront_config_t zc = {
        .max_msg = cfg->max_msg,
        .max_frames = CS_MAX_FRAMES,
        .max_conns = conns,
        .handshake_ms = cfg->handshake_ms > 0 ? cfg->handshake_ms : CS_BROKER_HANDSHAKE_MS,
        .peers = b->peers,
        .peer_bytes = b->cfg_peer_bytes,
        .on_request = s_serve_direct,
        .on_ahead = s_serve_ahead,
        .arg = b,
    };
    b->direct = cs_zfront_new(&zc, err);
    return b->direct ? CS_OK : err->code;
}

/* The query socket, its connection cap and its endpoints. */
static int s_bind_front(s_broker_t *b, cs_error_t *err)
{
    const cs_broker_config_t *cfg = b->cfg;
    /* room for many connections; the cap keeps them well below it (cs_conncap.h) */
    long nofile = cs_conncap_raise_nofile();
    b->front = s_router(b, cfg->max_msg);
    if (!b->front) {
        return cs_error_set(err, CS_EINTERNAL, "cannot create the query socket: %s",
                            zmq_strerror(errno));
    }
    /* the descriptors beside the connections: LMDB, ZeroMQ's own, plugins, loads */
    size_t conns = nofile > 512 ? (size_t)nofile - 256 : (size_t)nofile / 2;
    conns = cfg->max_connections && cfg->max_connections < conns ? cfg->max_connections
                                                                 : conns;
    b->conncap = cs_conncap_new(b->zctx, b->front, conns, err);
    if (!b->conncap) {
        return err->code;
    }
    if (cfg->handshake_ms > 0) {
        zmq_setsockopt(b->front, ZMQ_HANDSHAKE_IVL, &cfg->handshake_ms, sizeof(int));
    }
    int rc = s_start_direct(b, conns, err);
    if (rc != CS_OK) {
        return rc;
    }
    for (size_t i = 0; i < cfg->n_listen; i++) {
        if (b->direct && cs_zfront_handles(cfg->listen[i])) {
            rc = cs_zfront_bind(b->direct, cfg->listen[i], err);
            if (rc != CS_OK) {
                return rc;
            }
            continue;
        }
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
    return CS_OK;
}

static int s_start(s_broker_t *b, cs_error_t *err)
{
    const cs_broker_config_t *cfg = b->cfg;
    size_t n_plugins = 0;
    int rc = s_start_store(b, &n_plugins, err);
    if (rc == CS_OK) {
        rc = s_start_serving(b, err);
    }
    if (rc == CS_OK) {
        rc = s_bind_front(b, err);
    }
    if (rc == CS_OK) {
        rc = s_bind_admin(b, err);
    }
    /* The loaders after the binds: their dlopen holds the dynamic loader's lock while it
     * reads libxml2, ICU and more from disk, and binding has ZeroMQ ask NSS for "tcp", which
     * takes that lock too (50 ms behind them on a cold page cache). They give way to queries
     * (cs_pace.h), the start counting as one: clients that waited for it come now. */
    if (rc == CS_OK) {
        atomic_store_explicit(&b->busy_ns, s_now_ns(), memory_order_relaxed);
        cs_plugin_host_load_rest(b->plugins, &b->busy_ns);
    }
    /* The verifier last: its first step has the kernel read the whole data file ahead, and
     * on a cold page cache every read queued behind that (ZeroMQ's own start reads
     * /etc/protocols: 74 ms measured) would hold up the first answer. */
    if (rc == CS_OK) {
        b->verify = cs_verify_start(b->store, &b->busy_ns, err); /* checks every release */
        rc = b->verify ? CS_OK : err->code;
        b->ctx.verify = b->verify;
    }
    if (rc != CS_OK) {
        return rc;
    }
    CS_NOTICE("codesetd %s started: db %s, %zu plugins from %s (the others loading), "
              "query %s%s, admin %s",
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
    cs_slices_destroy(&b->slices);
    if (b->workers) {
        zmq_ctx_shutdown(b->zctx); /* wakes the workers out of their receives */
        cs_workers_stop(&b->workers);
    }
    cs_conncap_destroy(&b->conncap); /* before the socket it monitors */
    cs_zfront_destroy(&b->direct);
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
    cs_peers_destroy(&b->peers);       /* likewise: nothing can give back to them */
    if (b->admin_path[0]) {
        unlink(b->admin_path);
    }
    cs_verify_destroy(&b->verify);
    if (stuck) {
        return -1;
    }
    cs_engine_destroy(&b->engine);
    cs_search_cache_destroy(&b->searches); /* after every engine, likewise */
    cs_codeidx_set_destroy(&b->index); /* after every engine: they hold its indexes */
    cs_plugin_host_destroy(&b->plugins);
    cs_store_destroy(&b->store);
    msgpack_sbuffer_destroy(&b->out);
    cs_request_fini(&b->req);
    return 0;
}

/* The loop's sockets and their descriptors. */
typedef struct s_loop {
    s_watch_t w[S_N];
    struct pollfd pfd[S_N];
    int n_fds;
    cs_zfront_t *direct; /* when set, the loop waits in its epoll set, which holds the
                          * sockets' descriptors too: one wait, not a poll and an epoll */
} s_loop_t;

static void s_loop_init(s_broker_t *b, s_loop_t *l)
{
    memset(l, 0, sizeof *l);
    void *socks[S_N] = {b->front, b->admin, b->workers ? cs_workers_sock(b->workers) : NULL,
                        cs_curve_zap_socket(b->curve), cs_conncap_socket(b->conncap), NULL};
    for (int i = 0; i < S_N; i++) {
        l->w[i].sock = socks[i];
        l->w[i].check = socks[i] != NULL; /* anything queued before the loop starts */
        l->w[i].pfd = -1;
        size_t sz = sizeof l->pfd[l->n_fds].fd;
        if (socks[i] && zmq_getsockopt(socks[i], ZMQ_FD, &l->pfd[l->n_fds].fd, &sz) == 0) {
            l->pfd[l->n_fds].events = POLLIN;
            l->w[i].pfd = l->n_fds++;
        }
    }
    if (b->direct) { /* its epoll descriptor: readable while a connection has something */
        l->pfd[l->n_fds] = (struct pollfd){.fd = cs_zfront_fd(b->direct), .events = POLLIN};
        l->w[S_DIRECT].pfd = l->n_fds++;
        l->w[S_DIRECT].check = 1;
        l->direct = b->direct;
        cs_error_t err;
        for (int i = 0; i < S_N && l->direct; i++) {
            if (i != S_DIRECT && l->w[i].pfd >= 0 &&
                cs_zfront_watch(b->direct, l->pfd[l->w[i].pfd].fd, i, &err) != CS_OK) {
                CS_WARN("the loop polls its sockets apart: %s", err.msg);
                l->direct = NULL; /* the poll covers them all, the epoll set among them */
            }
        }
    }
}

/* Serve what each socket holds, a bounded batch each, so none starves. Returns how many
 * requests and answers moved (0: none). The caller reads the clock just before (s_clock):
 * the pass's first answer is timed from there. */
static int s_loop_serve(s_broker_t *b, s_watch_t *w)
{
    int moved = 0;
    if (w[S_CONNS].check) {
        w[S_CONNS].check = cs_conncap_serve(b->conncap); /* refusals before requests */
    }
    if (w[S_FRONT].check) {
        int served = 0;
        while (served < 256 && s_serve_one(b, b->front, 0)) {
            served++;
        }
        w[S_FRONT].check = served == 256;
        moved += served;
    }
    if (b->direct) {
        cs_zfront_expire(b->direct);
    }
    if (w[S_DIRECT].check) {
        int served = 0;
        w[S_DIRECT].check = cs_zfront_serve(b->direct, 64, &served);
        moved += served;
    }
    if (w[S_ADMIN].check) {
        int served = 0;
        while (served < 16 && s_serve_one(b, b->admin, 1)) {
            served++;
        }
        w[S_ADMIN].check = served == 16;
        moved += served;
    }
    if (w[S_WORKERS].check) {
        int relayed = 0;
        while (relayed < 256 && s_relay_answer(b)) {
            relayed++;
        }
        w[S_WORKERS].check = relayed == 256;
        w[S_FRONT].check |= relayed > 0; /* replies were sends on the front */
        moved += relayed;
    }
    if (b->workers) {
        s_pump(b);
        /* a hand-over was a send on the workers' socket */
        w[S_WORKERS].check |= b->forwarded;
        b->forwarded = 0;
    }
    if (w[S_ZAP].check) {
        w[S_ZAP].check = cs_curve_zap_serve(b->curve); /* handshakes wait on these */
    }
    if (b->direct) {
        cs_zfront_flush(b->direct); /* the workers' answers to direct connections */
    }
    return moved;
}

/* Sleep in poll until a socket signals or ms pass; marks the sockets to read. -1 on a poll
 * failure other than a signal. */
static int s_loop_wait(s_loop_t *l, int ms)
{
    int again = 0;
    for (int i = 0; i < S_N; i++) {
        again |= l->w[i].check;
    }
    if (l->direct) {
        int64_t ready = cs_zfront_wait(l->direct, again ? 0 : ms);
        for (int i = 0; i < S_N && ready > 0; i++) {
            l->w[i].check |= (ready >> i) & 1;
        }
        l->w[S_DIRECT].check |= (ready & CS_ZFRONT_READY) != 0;
        return ready < 0 ? -1 : 0;
    }
    int n = poll(l->pfd, (nfds_t)l->n_fds, again ? 0 : ms);
    if (n < 0) {
        return errno == EINTR ? 0 : -1;
    }
    for (int i = 0; i < S_N && n > 0; i++) {
        if (l->w[i].pfd >= 0 && (l->pfd[l->w[i].pfd].revents & POLLIN)) {
            l->w[i].check = 1;
        }
    }
    return 0;
}

/* Whether the loop looks for the next request (a zero-timeout poll) rather than sleep, now,
 * having last served one at busy. A lone synchronous client's next request follows its
 * reply within tens of microseconds: looking for it for a bounded while (b->spin_ns, twice
 * its last pause: util/cs_spin.h) saves the sleep and the wake-up. Only while one
 * connection alone has been sending (for S_LONE_NS): with many, a sleeping loop wakes to a
 * batch of requests, whose replies go out together, and a spinning one would take each
 * alone and the CPU their clients need besides. Nor after a pass that served more than
 * S_SPIN_BATCH requests: that client pipelines. An idle broker sleeps. */
static int s_spins(const s_broker_t *b, uint64_t now, uint64_t busy, int batch)
{
    return now - busy < b->spin_ns && now - b->mixed_ns > S_LONE_NS && batch <= S_SPIN_BATCH;
}

/* Nothing received but not yet answered: no request waiting or at the workers. */
static int s_idle(const s_broker_t *b)
{
    return cs_peers_waiting(b->peers) == 0 && b->credits >= b->credits_max &&
           cs_slices_open(b->slices) == 0;
}

/* After a stop signal: answer what was received and what arrives on the connections already
 * open (new ones are refused, without unbinding, which would drop the open ones too) until
 * S_DRAIN_QUIET_MS without a request and nothing left to answer, or S_DRAIN_MAX_MS. */
static void s_drain(s_broker_t *b, s_loop_t *l)
{
    cs_conncap_refuse_all(b->conncap, 1);
    if (b->direct) {
        cs_zfront_refuse_all(b->direct, 1);
    }
    uint64_t t0 = s_now_ns(), quiet_since = t0;
    uint64_t answered = b->stats.requests[CS_OP_LOOKUP] + b->stats.requests[CS_OP_VALIDATE];
    for (;;) {
        uint64_t now = s_clock(b);
        if (s_loop_serve(b, l->w)) {
            quiet_since = now;
        }
        if (now - t0 >= (uint64_t)S_DRAIN_MAX_MS * 1000000u ||
            (s_idle(b) && now - quiet_since >= (uint64_t)S_DRAIN_QUIET_MS * 1000000u)) {
            break;
        }
        if (s_loop_wait(l, 20) != 0) {
            break;
        }
    }
    /* what is still queued in ZeroMQ for clients gets the rest of the deadline to go out */
    uint64_t spent_ms = (s_now_ns() - t0) / 1000000u;
    int linger = spent_ms >= S_DRAIN_MAX_MS ? 100 : (int)(S_DRAIN_MAX_MS - spent_ms);
    zmq_setsockopt(b->front, ZMQ_LINGER, &linger, sizeof linger);
    if (b->direct) {
        cs_zfront_linger(b->direct, linger); /* as ZMQ_LINGER gives libzmq's */
    }
    CS_NOTICE("drained in %llu ms: %llu lookups and validates answered meanwhile",
              (unsigned long long)spent_ms,
              (unsigned long long)(b->stats.requests[CS_OP_LOOKUP] +
                                   b->stats.requests[CS_OP_VALIDATE] - answered));
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
    msgpack_packer_init(&b.pk, &b.out, msgpack_sbuffer_write);
    cs_out_msgpack_init(&b.writer, &b.pk);
    cs_request_init_reusable(&b.req);
    int rc = s_start(&b, err);
    if (rc != CS_OK) {
        s_stop(&b);
        return rc;
    }
    s_loop_t l;
    s_loop_init(&b, &l);
    s_pin_loop(&b);
    b.spin_max_ns = cfg->spin_us < 0   ? 0
                    : cfg->spin_us > 0 ? 1000u * (uint64_t)cfg->spin_us
                                       : 1000u * (uint64_t)CS_BROKER_SPIN_US;
    b.spin_min_ns = b.spin_max_ns < 1000u * CS_BROKER_SPIN_MIN_US ? b.spin_max_ns
                                                                  : 1000u * CS_BROKER_SPIN_MIN_US;
    b.spin_ns = b.spin_min_ns;
    uint64_t swept = s_now_ns(), busy = 0;
    int batch = 0; /* what the last pass that moved anything served */
    while (!*stop) {
        uint64_t looked = s_clock(&b); /* a request's gap ends here: its answer is not the
                                        * client's pause (a cold B-tree page can take ms) */
        int moved = s_loop_serve(&b, l.w);
        uint64_t now = s_now_ns();
        if (now - swept > 1000000000u) {
            cs_peers_sweep(b.peers); /* connections that hold nothing are forgotten */
            swept = now;
        }
        if (moved) {
            b.spin_ns = cs_spin_window(looked > busy ? looked - busy : 0, b.spin_min_ns,
                                       b.spin_max_ns);
            busy = now;
            atomic_store_explicit(&b.busy_ns, now, memory_order_relaxed);
        }
        batch = moved ? moved : batch;
        int spin = s_spins(&b, now, busy, batch);
        if (spin && !moved) {
            sched_yield(); /* the I/O thread that brings the request may wait for this CPU */
        }
        if (s_loop_wait(&l, spin ? 0 : CS_POLL_MS) != 0) {
            CS_ERROR("poll failed: %s", strerror(errno));
            break;
        }
    }
    s_drain(&b, &l);
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
