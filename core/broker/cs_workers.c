/* cs_workers.c: the slow-op worker threads. */
#include "broker/cs_workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "engine/cs_query.h"
#include "util/cs_log.h"
#include "wire/cs_out_msgpack.h"
#include "wire/cs_proto.h"

/* Frames a worker takes of one hand-over: the broker keeps at most 15 envelope frames. */
#define S_FRAMES CS_WORKER_FRAMES(15)
#define CS_WORKERS_MAX 64

typedef struct s_worker {
    pthread_t thread;
    int started;
    void *zctx;
    const char *endpoint;
    cs_engine_t *engine;  /* this worker's own store reader */
    uint32_t max_limit;
} s_worker_t;

struct cs_workers {
    void *sock;                   /* the broker's DEALER, bound to endpoint */
    char endpoint[64];
    int n;
    s_worker_t w[CS_WORKERS_MAX];
};

static uint64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int cs_worker_kind(const void *frame, size_t len)
{
    if (len != 1) {
        return 0;
    }
    int k = *(const unsigned char *)frame;
    return k == CS_WORKER_WHOLE || k == CS_WORKER_PART ? k : 0;
}

int cs_worker_part_read(const void *frame, size_t len, cs_worker_part_t *part)
{
    cs_worker_part_t p;
    if (len != sizeof p) {
        return 0;
    }
    memcpy(&p, frame, sizeof p);
    if (p.magic != CS_WORKER_PART_MAGIC || p.index >= p.count || p.lo > p.hi) {
        return 0;
    }
    if (part) {
        *part = p;
    }
    return 1;
}

/* Answer one request body, or one slice of it when part is not NULL, into out; returns the
 * meta the broker records. */
static cs_worker_meta_t s_answer(s_worker_t *wk, cs_request_t *req,
                                 const cs_worker_part_t *part, const void *body, size_t len,
                                 msgpack_sbuffer *out)
{
    uint64_t t0 = s_now_ns();
    msgpack_sbuffer_clear(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    cs_out_msgpack_t writer;
    cs_out_t *w = cs_out_msgpack_init(&writer, &pk);
    cs_error_t err;
    cs_error_clear(&err);
    uint64_t snapshot = 0;
    /* a slice unpacks and decodes its own claims only (the broker checked them all) */
    cs_proto_err_t e = part ? cs_request_decode_part(req, body, len, part->lo, part->hi, &err)
                            : cs_request_decode(req, body, len, &err);
    if (e != CS_PERR_NONE) {
        /* the broker decoded it before handing it over: only a corrupt hand-over gets here */
        cs_reply_error(w, req, e, err.msg[0] ? err.msg : "malformed request");
    } else if (part) {
        e = cs_engine_part(wk->engine, req, part->lo, part->hi, part->index == 0, w,
                                    &snapshot);
    } else {
        cs_request_clamp_limit(req, wk->max_limit);
        e = cs_engine_handle(wk->engine, req, w); /* the engine's ops only */
    }
    cs_worker_meta_t meta = {.op = (uint32_t)req->op, .err = (uint32_t)e,
                             .ns = s_now_ns() - t0, .snapshot = snapshot};
    cs_request_release(req);
    return meta;
}

static void *s_worker_main(void *arg)
{
    s_worker_t *wk = arg;
    void *sock = zmq_socket(wk->zctx, ZMQ_DEALER);
    int linger = 0;
    if (!sock || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_connect(sock, wk->endpoint) != 0) {
        CS_ERROR("worker: cannot connect to %s: %s", wk->endpoint, zmq_strerror(errno));
        if (sock) {
            zmq_close(sock);
        }
        return NULL;
    }
    cs_request_t req;
    cs_request_init_reusable(&req);
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    zmq_msg_t frames[S_FRAMES];
    for (;;) {
        int n = 0, more = 1, failed = 0;
        while (more) {
            zmq_msg_t *m = &frames[n < S_FRAMES ? n : S_FRAMES - 1];
            if (n >= S_FRAMES) {
                zmq_msg_close(m); /* the broker never sends more; keep the last */
            } else {
                n++;
            }
            zmq_msg_init(m);
            if (zmq_msg_recv(m, sock, 0) < 0) {
                zmq_msg_close(m);
                n--;
                failed = 1;
                break;
            }
            more = zmq_msg_more(m);
        }
        if (failed) {
            for (int i = 0; i < n; i++) {
                zmq_msg_close(&frames[i]);
            }
            if (errno == ETERM) {
                break;
            }
            continue;
        }
        /* [kind] [envelope... | part] [body]: the kind frame is the broker's own */
        int kind = n >= 2 ? cs_worker_kind(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]))
                          : 0;
        cs_worker_part_t part;
        if (kind == CS_WORKER_PART &&
            !(n == 3 && cs_worker_part_read(zmq_msg_data(&frames[1]),
                                            zmq_msg_size(&frames[1]), &part))) {
            kind = 0;
        }
        if (!kind) {
            CS_WARN("worker: a hand-over of %d frames without its kind; dropped", n);
            for (int i = 0; i < n; i++) {
                zmq_msg_close(&frames[i]);
            }
            continue;
        }
        zmq_msg_t *body = &frames[n - 1];
        cs_worker_meta_t meta = s_answer(wk, &req, kind == CS_WORKER_PART ? &part : NULL,
                                         zmq_msg_data(body), zmq_msg_size(body), &out);
        zmq_msg_close(body);
        int ok = 1;
        for (int i = 0; i < n - 1; i++) {
            if (ok && zmq_msg_send(&frames[i], sock, ZMQ_SNDMORE) < 0) {
                ok = 0;
            }
            if (!ok) {
                zmq_msg_close(&frames[i]);
            }
        }
        if (ok && zmq_send(sock, out.data, out.size, ZMQ_SNDMORE) >= 0) {
            zmq_send(sock, &meta, sizeof meta, 0);
        }
        if (!ok && errno == ETERM) {
            break;
        }
    }
    cs_request_fini(&req);
    msgpack_sbuffer_destroy(&out);
    zmq_close(sock);
    return NULL;
}

/* A failed start: started workers block in a receive until the context shuts down. */
static void s_abort(cs_workers_t **pw, void *zctx)
{
    cs_workers_t *w = *pw;
    for (int i = 0; i < w->n; i++) {
        if (w->w[i].started) {
            zmq_ctx_shutdown(zctx);
            break;
        }
    }
    cs_workers_stop(pw);
}

cs_workers_t *cs_workers_start(void *zctx, cs_store_t *store, const cs_plugin_host_t *plugins,
                               cs_codeidx_set_t *index, cs_search_cache_t *searches, int n,
                               uint32_t max_limit, cs_error_t *err)
{
    if (n < 1 || n > CS_WORKERS_MAX) {
        cs_error_set(err, CS_EINVAL, "workers must be 1 to %d, not %d", CS_WORKERS_MAX, n);
        return NULL;
    }
    cs_workers_t *w = calloc(1, sizeof *w);
    if (!w) {
        cs_error_set(err, CS_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(w->endpoint, sizeof w->endpoint, "inproc://codeset-workers-%p", (void *)w);
    w->sock = zmq_socket(zctx, ZMQ_DEALER);
    int linger = 0;
    int hwm = 0; /* unbounded: the ROUTER's own high-water mark bounds what comes in */
    if (!w->sock || zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(w->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(w->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_bind(w->sock, w->endpoint) != 0) {
        cs_error_set(err, CS_EINTERNAL, "cannot open the workers' socket: %s",
                     zmq_strerror(errno));
        cs_workers_stop(&w);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        s_worker_t *wk = &w->w[i];
        wk->zctx = zctx;
        wk->endpoint = w->endpoint;
        wk->max_limit = max_limit;
        wk->engine = cs_engine_new(store, plugins, err);
        if (!wk->engine) {
            s_abort(&w, zctx);
            return NULL;
        }
        cs_engine_use_index(wk->engine, index);
        if (searches) {
            cs_engine_share_searches(wk->engine, searches);
        }
        w->n = i + 1;
        if (pthread_create(&wk->thread, NULL, s_worker_main, wk) != 0) {
            cs_error_set(err, CS_EAGAIN, "cannot start worker %d", i + 1);
            s_abort(&w, zctx);
            return NULL;
        }
        wk->started = 1;
    }
    return w;
}

void *cs_workers_sock(cs_workers_t *w)
{
    return w ? w->sock : NULL;
}

int cs_workers_count(const cs_workers_t *w)
{
    return w ? w->n : 0;
}

void cs_workers_stop(cs_workers_t **pw)
{
    if (!pw || !*pw) {
        return;
    }
    cs_workers_t *w = *pw;
    for (int i = 0; i < w->n; i++) {
        if (w->w[i].started) {
            pthread_join(w->w[i].thread, NULL);
        }
        cs_engine_destroy(&w->w[i].engine);
    }
    if (w->sock) {
        zmq_close(w->sock);
    }
    free(w);
    *pw = NULL;
}
