/* cs_slices.c: long validates cut into slices and joined. */
#include "broker/cs_slices.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/cs_log.h"
#include "wire/cs_proto.h"

/* A long validate being answered in slices. */
typedef struct s_join {
    int used;
    uint32_t seq;                       /* the tag its slices carry */
    int n_env;
    zmq_msg_t env[CS_SLICES_ENVELOPE];  /* the client's envelope */
    zmq_msg_t body;                     /* the request, to answer whole if the slices disagree */
    uint16_t count, got;
    zmq_msg_t slice[CS_SLICES_MAX];     /* the packed slices, in order */
    cs_worker_meta_t meta[CS_SLICES_MAX];
    uint8_t in[CS_SLICES_MAX];          /* 1 once slice k came back */
    cs_peer_t *peer;                    /* the client connection it answers */
    uint64_t t0;
} s_join_t;

struct cs_slices {
    cs_replypool_t *pool;             /* joined replies are taken from it */
    uint32_t seq;                     /* the last join tag handed out */
    int open;                         /* joins in use */
    s_join_t joins[CS_SLICES_JOINS];
};

static uint64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

cs_slices_t *cs_slices_new(cs_replypool_t *pool)
{
    cs_slices_t *s = calloc(1, sizeof *s);
    if (s) {
        s->pool = pool;
    }
    return s;
}

static void s_join_free(cs_slices_t *s, s_join_t *j)
{
    for (int i = 0; i < j->n_env; i++) {
        zmq_msg_close(&j->env[i]);
    }
    zmq_msg_close(&j->body);
    for (int k = 0; k < j->count; k++) {
        zmq_msg_close(&j->slice[k]);
    }
    j->used = 0;
    s->open--;
}

void cs_slices_destroy(cs_slices_t **ps)
{
    if (!ps || !*ps) {
        return;
    }
    cs_slices_t *s = *ps;
    for (int i = 0; i < CS_SLICES_JOINS; i++) {
        if (s->joins[i].used) {
            s_join_free(s, &s->joins[i]);
        }
    }
    free(s);
    *ps = NULL;
}

int cs_slices_open(const cs_slices_t *s)
{
    return s ? s->open : 0;
}

int cs_slices_split(cs_slices_t *s, void *ws, int workers, cs_handover_t *h)
{
    uint32_t codes = h->codes;
    if (codes < CS_SLICES_MIN || workers < 2 || h->n - 1 > CS_SLICES_ENVELOPE) {
        return 0;
    }
    s_join_t *j = NULL;
    for (int i = 0; i < CS_SLICES_JOINS && !j; i++) {
        j = s->joins[i].used ? NULL : &s->joins[i];
    }
    if (!j) {
        return 0;
    }
    uint32_t count = codes / CS_SLICES_CODES;
    count = count < (uint32_t)workers ? count : (uint32_t)workers;
    count = count < CS_SLICES_MAX ? count : CS_SLICES_MAX;
    memset(j, 0, sizeof *j);
    j->used = 1;
    s->open++;
    j->seq = ++s->seq;
    j->count = (uint16_t)count;
    j->peer = h->peer;
    j->t0 = s_now_ns();
    j->n_env = h->n - 1;
    for (int i = 0; i < h->n - 1; i++) {
        zmq_msg_init(&j->env[i]);
        zmq_msg_move(&j->env[i], &h->frames[i]);
    }
    zmq_msg_init(&j->body);
    zmq_msg_move(&j->body, &h->frames[h->n - 1]);
    for (uint32_t k = 0; k < count; k++) {
        zmq_msg_init(&j->slice[k]);
    }
    int sent = 0;
    for (uint32_t k = 0; k < count; k++, sent++) {
        cs_worker_part_t part = {.magic = CS_WORKER_PART_MAGIC, .seq = j->seq,
                                 .index = (uint16_t)k, .count = (uint16_t)count,
                                 .lo = (uint32_t)((uint64_t)codes * k / count),
                                 .hi = (uint32_t)((uint64_t)codes * (k + 1) / count)};
        zmq_msg_t body;
        zmq_msg_init(&body);
        zmq_msg_copy(&body, &j->body); /* shares the bytes: no copy */
        const char kind = CS_WORKER_PART;
        if (zmq_send(ws, &kind, 1, ZMQ_SNDMORE) < 0 ||
            zmq_send(ws, &part, sizeof part, ZMQ_SNDMORE) < 0 ||
            zmq_msg_send(&body, ws, 0) < 0) {
            CS_WARN("cannot hand a slice to the workers: %s", zmq_strerror(errno));
            zmq_msg_close(&body);
            break; /* the answers never complete; the client times out */
        }
    }
    return sent ? sent : 1;
}

/* Every slice of j is in: fill out with the joined reply, or with the request to answer
 * whole when the slices read different snapshots or one failed. */
static void s_finish(cs_slices_t *s, s_join_t *j, cs_joined_t *out)
{
    int same = 1;
    size_t total = 0;
    for (int k = 0; k < j->count; k++) {
        same &= j->meta[k].err == CS_PERR_NONE && j->meta[k].snapshot != 0 &&
                j->meta[k].snapshot == j->meta[0].snapshot;
        total += zmq_msg_size(&j->slice[k]);
    }
    out->n_env = j->n_env;
    for (int i = 0; i < j->n_env; i++) {
        zmq_msg_init(&out->env[i]);
        zmq_msg_move(&out->env[i], &j->env[i]);
    }
    out->peer = j->peer;
    out->t0 = j->t0;
    out->whole = !same;
    zmq_msg_init(&out->body);
    out->reply = NULL;
    out->len = total;
    if (!same) {
        /* debug, not info: a client's malformed claims batch gets here every time */
        CS_DEBUG("a long request's slices disagree (a release changed between them, or the "
                 "request failed): answered whole");
        zmq_msg_move(&out->body, &j->body);
    } else if ((out->reply = cs_replypool_take(s->pool, total)) != NULL) {
        size_t at = 0;
        for (int k = 0; k < j->count; k++) {
            memcpy((uint8_t *)out->reply + at, zmq_msg_data(&j->slice[k]),
                   zmq_msg_size(&j->slice[k]));
            at += zmq_msg_size(&j->slice[k]);
        }
    }
    s_join_free(s, j);
}

int cs_slices_add(cs_slices_t *s, const cs_worker_part_t *part, zmq_msg_t *bytes,
                  const cs_worker_meta_t *meta, cs_joined_t *out)
{
    s_join_t *j = NULL;
    for (int i = 0; i < CS_SLICES_JOINS && !j; i++) {
        j = s->joins[i].used && s->joins[i].seq == part->seq ? &s->joins[i] : NULL;
    }
    if (!j || part->index >= j->count || j->in[part->index]) {
        CS_WARN("a slice of an unknown or finished validate came back; dropped");
        return 0;
    }
    zmq_msg_move(&j->slice[part->index], bytes);
    j->meta[part->index] = *meta;
    j->in[part->index] = 1;
    if (++j->got < j->count) {
        return 0;
    }
    s_finish(s, j, out);
    return 1;
}
