/* cs_conncap.c: a connection cap kept from a ZeroMQ socket monitor. */
#include "broker/cs_conncap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <zmq.h>

#include "util/cs_log.h"

#define S_BATCH 256 /* events read a call */

enum { S_CLOSED = 0, S_OPEN = 1, S_CUT = 2 }; /* a descriptor's state */

struct cs_conncap {
    void *mon;          /* PAIR connected to the socket's monitor endpoint */
    void *sock;         /* the monitored socket (borrowed) */
    size_t max;         /* connections allowed */
    size_t open;        /* connections open now */
    uint64_t refused;   /* connections shut down at accept */
    int refuse_all;     /* 1: every new connection is refused (a drain) */
    uint8_t *state;     /* by descriptor: S_CLOSED, S_OPEN or S_CUT */
    size_t n_state;
};

long cs_conncap_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return 1024;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t want = rl.rlim_max;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            getrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 30) ? (1L << 30)
                                                                     : (long)rl.rlim_cur;
}

cs_conncap_t *cs_conncap_new(void *zctx, void *sock, size_t max, cs_error_t *err)
{
    cs_conncap_t *c = calloc(1, sizeof *c);
    if (!c) {
        cs_error_set(err, CS_ENOMEM, "out of memory");
        return NULL;
    }
    c->sock = sock;
    c->max = max;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://codeset-conncap-%p", (void *)c);
    if (zmq_socket_monitor(sock, ep, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0 ||
        !(c->mon = zmq_socket(zctx, ZMQ_PAIR)) || zmq_connect(c->mon, ep) != 0) {
        cs_error_set(err, CS_EINTERNAL, "cannot monitor the query socket: %s",
                     zmq_strerror(errno));
        cs_conncap_destroy(&c);
        return NULL;
    }
    int linger = 0;
    zmq_setsockopt(c->mon, ZMQ_LINGER, &linger, sizeof linger);
    return c;
}

void cs_conncap_destroy(cs_conncap_t **cap)
{
    if (!cap || !*cap) {
        return;
    }
    cs_conncap_t *c = *cap;
    if (c->sock) {
        zmq_socket_monitor(c->sock, NULL, 0);
    }
    if (c->mon) {
        zmq_close(c->mon);
    }
    free(c->state);
    free(c);
    *cap = NULL;
}

void *cs_conncap_socket(cs_conncap_t *cap)
{
    return cap ? cap->mon : NULL;
}

/* The state slot of descriptor fd, grown as needed; NULL when out of memory. */
static uint8_t *s_slot(cs_conncap_t *c, int fd)
{
    if (fd < 0) {
        return NULL;
    }
    if ((size_t)fd >= c->n_state) {
        size_t n = c->n_state ? c->n_state : 1024;
        while (n <= (size_t)fd) {
            n *= 2;
        }
        uint8_t *s = realloc(c->state, n);
        if (!s) {
            return NULL;
        }
        memset(s + c->n_state, S_CLOSED, n - c->n_state);
        c->state = s;
        c->n_state = n;
    }
    return &c->state[fd];
}

/* One event: [uint16 event, uint32 value] then the endpoint. 0 when none was waiting. */
static int s_read_event(cs_conncap_t *c, uint16_t *event, int *fd)
{
    uint8_t head[6];
    int n = zmq_recv(c->mon, head, sizeof head, ZMQ_DONTWAIT);
    if (n < 0) {
        return 0;
    }
    int more = 0;
    size_t sz = sizeof more;
    zmq_getsockopt(c->mon, ZMQ_RCVMORE, &more, &sz);
    while (more) {
        char ep[8];
        if (zmq_recv(c->mon, ep, sizeof ep, 0) < 0) {
            break;
        }
        zmq_getsockopt(c->mon, ZMQ_RCVMORE, &more, &sz);
    }
    if (n != (int)sizeof head) {
        *event = 0;
        return 1;
    }
    uint32_t value;
    memcpy(event, head, sizeof *event);
    memcpy(&value, head + 2, sizeof value);
    *fd = (int)value;
    return 1;
}

int cs_conncap_serve(cs_conncap_t *c)
{
    if (!c) {
        return 0;
    }
    int cut[S_BATCH];
    int n_cut = 0, n = 0;
    uint16_t event;
    int fd;
    while (n < S_BATCH && s_read_event(c, &event, &fd)) {
        n++;
        uint8_t *st = event ? s_slot(c, fd) : NULL;
        if (!st) {
            continue;
        }
        if (event == ZMQ_EVENT_ACCEPTED && *st == S_CLOSED) {
            c->open++;
            *st = S_OPEN;
            if (c->refuse_all || c->open > c->max) {
                *st = S_CUT;
                cut[n_cut++] = fd;
            }
        } else if (event == ZMQ_EVENT_DISCONNECTED && *st != S_CLOSED) {
            c->open--;
            *st = S_CLOSED;
        }
    }
    /* only those whose accept is still their latest event: a number closed and reused in
     * this batch belongs to another connection now */
    int refused = 0;
    for (int i = 0; i < n_cut; i++) {
        if (c->state[cut[i]] == S_CUT) {
            c->state[cut[i]] = S_OPEN; /* open until ZeroMQ reports it gone */
            shutdown(cut[i], SHUT_RDWR);
            refused++;
        }
    }
    if (refused) {
        c->refused += (uint64_t)refused;
        CS_INFO("%d new connections refused (%zu open, at most %zu%s)", refused, c->open,
                c->max, c->refuse_all ? ", draining" : "");
    }
    return n == S_BATCH;
}

void cs_conncap_refuse_all(cs_conncap_t *cap, int on)
{
    if (cap) {
        cap->refuse_all = on;
    }
}

size_t cs_conncap_open(const cs_conncap_t *cap)
{
    return cap ? cap->open : 0;
}

uint64_t cs_conncap_refused(const cs_conncap_t *cap)
{
    return cap ? cap->refused : 0;
}

size_t cs_conncap_max(const cs_conncap_t *cap)
{
    return cap ? cap->max : 0;
}
