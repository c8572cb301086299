/* cs_replypool.c: a lock-free stack of reply buffers lent to ZeroMQ. */
#include "broker/cs_replypool.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct s_buf {
    struct s_buf *next;     /* on the free stack */
    cs_replypool_t *pool;
    cs_peer_t *peer;        /* charged for it while lent, or NULL */
    size_t len;             /* bytes lent */
    int own;                /* 1: a larger reply's own buffer, freed when done */
    _Alignas(16) unsigned char data[];
} s_buf_t;

struct cs_replypool {
    _Atomic(s_buf_t *) free; /* pushed from any thread, popped by the sending thread only */
    size_t size;             /* bytes a buffer holds */
    size_t n;
    unsigned char *block;    /* every buffer, in one allocation */
};

static size_t s_stride(size_t size)
{
    return (sizeof(s_buf_t) + size + 15) / 16 * 16;
}

static void s_push(cs_replypool_t *p, s_buf_t *b)
{
    s_buf_t *head = atomic_load_explicit(&p->free, memory_order_relaxed);
    do {
        b->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&p->free, &head, b, memory_order_release,
                                                    memory_order_relaxed));
}

/* One popper only, so a buffer cannot be popped and pushed back between the load and the
 * exchange (no ABA). */
static s_buf_t *s_pop(cs_replypool_t *p)
{
    s_buf_t *head = atomic_load_explicit(&p->free, memory_order_acquire);
    while (head && !atomic_compare_exchange_weak_explicit(&p->free, &head, head->next,
                                                          memory_order_acquire,
                                                          memory_order_acquire)) {
    }
    return head;
}

static s_buf_t *s_buf_of(void *data)
{
    return (s_buf_t *)((unsigned char *)data - offsetof(s_buf_t, data));
}

static void s_recycle(s_buf_t *b)
{
    if (b->own) {
        free(b);
    } else {
        s_push(b->pool, b);
    }
}

/* ZeroMQ's free callback: the message is done with, from whichever thread closed it. */
static void s_give_back(void *data, void *hint)
{
    (void)hint;
    s_buf_t *b = s_buf_of(data);
    cs_peer_t *peer = b->peer;
    size_t len = b->len;
    s_recycle(b);
    if (peer) {
        cs_peer_give_back(peer, len); /* last: the peer may be freed once it reads 0 */
    }
}

cs_replypool_t *cs_replypool_new(size_t n, size_t size)
{
    cs_replypool_t *p = calloc(1, sizeof *p);
    if (!p) {
        return NULL;
    }
    p->size = size;
    p->n = n;
    p->block = malloc(n * s_stride(size));
    if (!p->block) {
        free(p);
        return NULL;
    }
    atomic_init(&p->free, NULL);
    for (size_t i = 0; i < n; i++) {
        s_buf_t *b = (s_buf_t *)(p->block + i * s_stride(size));
        b->pool = p;
        b->own = 0;
        s_push(p, b);
    }
    return p;
}

void cs_replypool_destroy(cs_replypool_t **pool)
{
    if (!pool || !*pool) {
        return;
    }
    free((*pool)->block);
    free(*pool);
    *pool = NULL;
}

size_t cs_replypool_free_count(cs_replypool_t *pool)
{
    size_t n = 0;
    for (s_buf_t *b = atomic_load(&pool->free); b; b = b->next) {
        n++;
    }
    return n;
}

void *cs_replypool_take(cs_replypool_t *pool, size_t len)
{
    s_buf_t *b = len <= pool->size ? s_pop(pool) : NULL;
    if (!b) {
        b = malloc(sizeof *b + len);
        if (!b) {
            return NULL;
        }
        b->pool = pool;
        b->own = 1;
    }
    b->peer = NULL;
    b->len = 0;
    return b->data;
}

void cs_replypool_put_back(cs_replypool_t *pool, void *data)
{
    (void)pool;
    s_recycle(s_buf_of(data));
}

int cs_replypool_send_taken(cs_replypool_t *pool, void *sock, void *data, size_t len,
                            int flags, cs_peer_t *peer)
{
    s_buf_t *b = s_buf_of(data);
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, b->data, len, s_give_back, NULL) != 0) {
        cs_replypool_put_back(pool, data);
        return -1;
    }
    b->peer = peer;
    b->len = len;
    if (peer) {
        cs_peer_lend(peer, len);
    }
    int rc = zmq_msg_send(&msg, sock, flags);
    if (rc < 0) {
        zmq_msg_close(&msg); /* gives the buffer back, and the peer's charge */
    }
    return rc;
}

int cs_replypool_send(cs_replypool_t *pool, void *sock, const void *data, size_t len,
                      int flags, cs_peer_t *peer)
{
    void *buf = pool ? cs_replypool_take(pool, len) : NULL;
    if (!buf) {
        return zmq_send(sock, data, len, flags); /* no pool or no memory: uncharged */
    }
    memcpy(buf, data, len);
    return cs_replypool_send_taken(pool, sock, buf, len, flags, peer);
}
