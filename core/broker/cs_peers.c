/* cs_peers.c: per-connection accounting and the fair queue of waiting requests. */
#include "broker/cs_peers.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct cs_peer {
    cs_peer_t *chain;          /* next in its hash bucket */
    cs_peer_t *ring_next;      /* next in the ring of peers with hand-overs waiting */
    int in_ring;               /* 1 while in that ring */
    _Atomic uint64_t unread;   /* reply bytes lent to ZeroMQ and not given back */
    _Atomic uint32_t lent;     /* reply messages lent and not given back */
    uint64_t waiting_bytes;    /* bytes of the hand-overs waiting */
    cs_handover_t *head;       /* waiting hand-overs, oldest first */
    cs_handover_t *tail;
    uint32_t at_workers;       /* hand-overs at the workers, answers not yet back */
    uint8_t id_len;            /* routing identity */
    uint8_t id[CS_PEERS_ID_MAX];
};

struct cs_peers {
    cs_peer_t **buckets;  /* chained hash of peers by identity */
    size_t n_buckets;     /* a power of two */
    size_t n_peers;
    cs_peer_t *ring;      /* the peer whose turn is next; its ring is circular */
    cs_peer_t *ring_prev; /* the one before it (the ring's last) */
    size_t waiting;       /* hand-overs waiting, over all peers */
    uint64_t max_bytes;
};

#define S_BUCKETS_MIN 64

static uint64_t s_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211u;
    }
    return h;
}

cs_peers_t *cs_peers_new(uint64_t max_bytes)
{
    cs_peers_t *s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    s->buckets = calloc(S_BUCKETS_MIN, sizeof *s->buckets);
    if (!s->buckets) {
        free(s);
        return NULL;
    }
    s->n_buckets = S_BUCKETS_MIN;
    s->max_bytes = max_bytes;
    return s;
}

static void s_peer_free(cs_peer_t *p)
{
    while (p->head) {
        cs_handover_t *h = p->head;
        p->head = h->next;
        cs_handover_destroy(&h);
    }
    free(p);
}

void cs_peers_destroy(cs_peers_t **set)
{
    if (!set || !*set) {
        return;
    }
    cs_peers_t *s = *set;
    for (size_t i = 0; i < s->n_buckets; i++) {
        for (cs_peer_t *p = s->buckets[i], *next; p; p = next) {
            next = p->chain;
            s_peer_free(p);
        }
    }
    free(s->buckets);
    free(s);
    *set = NULL;
}

static void s_grow(cs_peers_t *s)
{
    size_t n = s->n_buckets * 2;
    cs_peer_t **b = calloc(n, sizeof *b);
    if (!b) {
        return; /* longer chains, still right */
    }
    for (size_t i = 0; i < s->n_buckets; i++) {
        for (cs_peer_t *p = s->buckets[i], *next; p; p = next) {
            next = p->chain;
            size_t at = s_hash(p->id, p->id_len) & (n - 1);
            p->chain = b[at];
            b[at] = p;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->n_buckets = n;
}

cs_peer_t *cs_peers_get(cs_peers_t *s, const void *id, size_t len)
{
    if (len == 0 || len > CS_PEERS_ID_MAX) {
        return NULL;
    }
    size_t at = s_hash(id, len) & (s->n_buckets - 1);
    for (cs_peer_t *p = s->buckets[at]; p; p = p->chain) {
        if (p->id_len == len && memcmp(p->id, id, len) == 0) {
            return p;
        }
    }
    cs_peer_t *p = calloc(1, sizeof *p);
    if (!p) {
        return NULL;
    }
    atomic_init(&p->unread, 0);
    atomic_init(&p->lent, 0);
    p->id_len = (uint8_t)len;
    memcpy(p->id, id, len);
    p->chain = s->buckets[at];
    s->buckets[at] = p;
    if (++s->n_peers > s->n_buckets) {
        s_grow(s);
    }
    return p;
}

uint64_t cs_peer_held(const cs_peer_t *p)
{
    return atomic_load_explicit(&p->unread, memory_order_relaxed) + p->waiting_bytes;
}

int cs_peer_over(const cs_peers_t *s, const cs_peer_t *p)
{
    return cs_peer_held(p) > s->max_bytes;
}

void cs_peer_lend(cs_peer_t *p, size_t bytes)
{
    atomic_fetch_add_explicit(&p->lent, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->unread, bytes, memory_order_relaxed);
}

void cs_peer_give_back(cs_peer_t *p, size_t bytes)
{
    atomic_fetch_sub_explicit(&p->unread, bytes, memory_order_relaxed);
    /* the last touch of p: once lent reads 0 the broker's thread may free it */
    atomic_fetch_sub_explicit(&p->lent, 1, memory_order_release);
}

void cs_peer_lend_more(cs_peer_t *p, size_t bytes)
{
    atomic_fetch_add_explicit(&p->unread, bytes, memory_order_relaxed);
}

void cs_peer_give_back_part(cs_peer_t *p, size_t bytes)
{
    atomic_fetch_sub_explicit(&p->unread, bytes, memory_order_relaxed);
}

void cs_peer_at_workers(cs_peer_t *p, int delta)
{
    p->at_workers = (uint32_t)((int64_t)p->at_workers + delta);
}

cs_handover_t *cs_handover_new(cs_peer_t *peer, zmq_msg_t *frames, int n, uint32_t codes)
{
    cs_handover_t *h = malloc(sizeof *h + (size_t)n * sizeof h->frames[0]);
    if (!h) {
        return NULL;
    }
    h->next = NULL;
    h->peer = peer;
    h->codes = codes;
    h->n = n;
    h->bytes = sizeof *h + (size_t)n * sizeof h->frames[0];
    for (int i = 0; i < n; i++) {
        h->bytes += zmq_msg_size(&frames[i]);
        zmq_msg_init(&h->frames[i]);
        zmq_msg_move(&h->frames[i], &frames[i]);
    }
    return h;
}

void cs_handover_destroy(cs_handover_t **h)
{
    if (!h || !*h) {
        return;
    }
    for (int i = 0; i < (*h)->n; i++) {
        zmq_msg_close(&(*h)->frames[i]);
    }
    free(*h);
    *h = NULL;
}

void cs_peers_enqueue(cs_peers_t *s, cs_handover_t *h)
{
    cs_peer_t *p = h->peer;
    h->next = NULL;
    if (p->tail) {
        p->tail->next = h;
    } else {
        p->head = h;
    }
    p->tail = h;
    p->waiting_bytes += h->bytes;
    s->waiting++;
    if (!p->in_ring) {
        /* joins the ring last: behind every peer already waiting */
        p->in_ring = 1;
        if (!s->ring) {
            p->ring_next = p;
            s->ring = p;
        } else {
            p->ring_next = s->ring;
            s->ring_prev->ring_next = p;
        }
        s->ring_prev = p;
    }
}

cs_handover_t *cs_peers_next(cs_peers_t *s)
{
    cs_peer_t *p = s->ring;
    if (!p) {
        return NULL;
    }
    cs_handover_t *h = p->head;
    p->head = h->next;
    if (!p->head) {
        p->tail = NULL;
    }
    p->waiting_bytes -= h->bytes;
    s->waiting--;
    h->next = NULL;
    if (!p->head) {
        /* leaves the ring */
        p->in_ring = 0;
        if (p->ring_next == p) {
            s->ring = s->ring_prev = NULL;
        } else {
            s->ring_prev->ring_next = p->ring_next;
            s->ring = p->ring_next;
        }
    } else {
        /* its turn is over: the next peer's comes */
        s->ring_prev = p;
        s->ring = p->ring_next;
    }
    return h;
}

size_t cs_peers_waiting(const cs_peers_t *s)
{
    return s->waiting;
}

size_t cs_peers_sweep(cs_peers_t *s)
{
    for (size_t i = 0; i < s->n_buckets; i++) {
        cs_peer_t **link = &s->buckets[i];
        while (*link) {
            cs_peer_t *p = *link;
            if (!p->head && p->at_workers == 0 &&
                atomic_load_explicit(&p->lent, memory_order_acquire) == 0) {
                *link = p->chain;
                s->n_peers--;
                free(p);
            } else {
                link = &p->chain;
            }
        }
    }
    return s->n_peers;
}

size_t cs_peers_count(const cs_peers_t *s)
{
    return s->n_peers;
}
