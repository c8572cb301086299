/* cs_zmtp_front.c: the query endpoint served from the broker's thread (see cs_zmtp_front.h). */
#include "broker/cs_zmtp_front.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/cs_listen.h"
#include "util/cs_log.h"
#include "wire/cs_zmtp.h"

#define S_MAX_LISTEN 8
#define S_RBUF (64 * 1024)     /* one read from one connection, at most */
#define S_SLOTS 32             /* frames of a request kept, at most (max_frames - 1) */
#define S_CMD_MAX 1024         /* a command longer than this is skipped (a READY refused) */
#define S_OUT_SLACK (1u << 20) /* unsent bytes past the peer bound before reading stops */
#define S_OUT_KEEP (64 * 1024) /* an output buffer larger than this is freed once empty */
#define S_SPARE_MAX (8u << 20) /* ... unless it becomes the front's spare, up to this size */
#define S_MSG_KEEP (64 * 1024) /* likewise the buffer of a request's frames */
#define S_STREAM (4 * 1024)    /* replies this large go out while a read is still answered */
#define S_ACCEPTS 64           /* connections accepted from one listener in one pass */
#define S_PAUSE_NS 100000000u  /* a listener out of descriptors rests this long */

#define S_MAX_WATCH 8
#define S_EVENTS 64            /* epoll events taken at once */

enum { S_LISTENER, S_CONN, S_WATCH }; /* what an epoll entry is */
enum { S_GREET, S_HELLO, S_OPEN, S_CLOSING }; /* a connection's state */
enum { S_TO_SLOT, S_TO_CMD, S_TO_SKIP };      /* where the frame being read goes */

typedef struct s_listener {
    int kind;             /* S_LISTENER */
    int fd;
    int paused;           /* out of descriptors: not in the epoll set until resume_ns */
    uint64_t resume_ns;
    char path[108];       /* an ipc socket file to remove at the end, or "" */
} s_listener_t;

typedef struct s_conn {
    int kind;                          /* S_CONN */
    int fd;
    int state;                         /* S_GREET .. S_CLOSING */
    uint32_t events;                   /* what the epoll set watches for it now */
    uint8_t id[CS_ZFRONT_ID_LEN];      /* its routing identity */
    uint8_t greet[CS_ZMTP_GREETING];   /* the peer's greeting, while it comes */
    size_t greet_have;
    cs_zmtp_decoder_t dec;             /* the frame being read */
    int dest;                          /* where its bytes go (S_TO_*) */
    int slot;                          /* ... its slot when S_TO_SLOT */
    uint8_t cmd[S_CMD_MAX];            /* a command frame's body */
    size_t cmd_len;
    uint8_t *msg;                      /* the request's kept frames, one after another */
    size_t msg_len, msg_cap;
    size_t slot_off[S_SLOTS], slot_len[S_SLOTS];
    int n_slots;                       /* slots filled */
    int frames;                        /* frames of the request so far */
    int overflow;                      /* more frames than max_frames */
    uint8_t *out;                      /* bytes to write: out[off..len) */
    size_t out_len, out_off, out_cap;
    uint64_t charged;                  /* reply bytes lent to peer, not yet written */
    cs_peer_t *peer;                   /* its cs_peers entry while charged > 0 */
    int dirty;                         /* replies queued since its last write */
    uint64_t deadline_ns;              /* handshake deadline */
    struct s_conn *hs_prev, *hs_next;  /* in the list of handshakes, oldest first */
} s_conn_t;

/* A descriptor of the loop's own (a ZeroMQ socket's), in the set so one wait covers all. */
typedef struct s_watched {
    int kind; /* S_WATCH */
    int tag;  /* its bit in what cs_zfront_wait returns */
} s_watched_t;

/* Where a reply was queued since the last flush: a connection by descriptor and identity. */
typedef struct s_dirty {
    int fd;
    uint32_t gen;
} s_dirty_t;

struct cs_zfront {
    cs_zfront_config_t cfg;
    int ep;                        /* the epoll descriptor */
    s_listener_t listen[S_MAX_LISTEN];
    size_t n_listen;
    int n_paused;                  /* listeners resting */
    s_conn_t **by_fd;              /* connections by descriptor */
    size_t n_by_fd;
    size_t open;
    uint64_t refused;
    uint64_t streamed;             /* writes made while a read was still being answered */
    uint64_t ahead_seq;            /* requests shown to on_ahead so far */
    int refuse_all;
    int lingering;                 /* shutting down: nothing more is read */
    uint32_t gen;                  /* identities given so far */
    s_conn_t *hs_head, *hs_tail;   /* handshakes in progress, oldest first */
    s_dirty_t *dirty;              /* connections to write at the next flush */
    size_t n_dirty, dirty_cap;
    uint64_t unsent;               /* bytes queued, over all connections */
    uint8_t *rbuf;                 /* S_RBUF bytes, for every read */
    uint8_t *spare;                /* the last large output buffer emptied, kept for the next
                                    * large reply (a fresh one faults its pages in again) */
    size_t spare_cap;
    s_watched_t watch[S_MAX_WATCH];
    int n_watch;
    struct epoll_event pend[S_EVENTS]; /* what cs_zfront_wait found for the next serve */
    int n_pend;
};

static uint64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void s_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- buffers ---- */

/* Room for n more bytes in *buf (len used of *cap). 0, or -1 when out of memory. */
static int s_reserve(uint8_t **buf, size_t len, size_t *cap, size_t n)
{
    if (*buf && *cap - len >= n) {
        return 0; /* never NULL once asked for: frames of 0 bytes point into it too */
    }
    size_t want = *cap ? *cap : 512;
    while (want - len < n) {
        want *= 2;
    }
    uint8_t *p = realloc(*buf, want);
    if (!p) {
        return -1;
    }
    *buf = p;
    *cap = want;
    return 0;
}

/* c's output buffer, emptied: kept when small, else the front's spare if larger than the
 * one it has (within S_SPARE_MAX), else freed. */
static void s_out_release(cs_zfront_t *f, s_conn_t *c)
{
    if (c->out_cap <= S_OUT_KEEP) {
        return;
    }
    if (c->out_cap > f->spare_cap && c->out_cap <= S_SPARE_MAX) {
        free(f->spare);
        f->spare = c->out;
        f->spare_cap = c->out_cap;
    } else {
        free(c->out);
    }
    c->out = NULL;
    c->out_cap = 0;
}

/* c's output buffer outgrown by n more bytes, a large reply: the spare takes its place when
 * it holds them. */
static void s_out_adopt_spare(cs_zfront_t *f, s_conn_t *c, size_t n)
{
    size_t have = c->out_len - c->out_off;
    if (!f->spare || c->out_cap - c->out_len >= n || have + n <= S_OUT_KEEP ||
        have + n > f->spare_cap) {
        return;
    }
    if (have) {
        memcpy(f->spare, c->out + c->out_off, have);
    }
    free(c->out);
    c->out = f->spare;
    c->out_cap = f->spare_cap;
    c->out_off = 0;
    c->out_len = have;
    f->spare = NULL;
    f->spare_cap = 0;
}

/* Room for n more bytes at the end of c's output buffer: what was written moved out of the
 * way, the spare taken when the buffer is too small for them. 0, or -1 out of memory. */
static int s_out_room(cs_zfront_t *f, s_conn_t *c, size_t n)
{
    if (c->out_off > 0 && c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    } else if (c->out_off > c->out_cap / 2) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    s_out_adopt_spare(f, c, n);
    return s_reserve(&c->out, c->out_len, &c->out_cap, n);
}

/* Append n bytes to c's output buffer, which s_out_room made room for. */
static void s_out_append(cs_zfront_t *f, s_conn_t *c, const void *data, size_t n)
{
    if (n) {
        memcpy(c->out + c->out_len, data, n);
    }
    c->out_len += n;
    f->unsent += n;
}

/* Queue n bytes for c. 0, or -1. */
static int s_out_put(cs_zfront_t *f, s_conn_t *c, const void *data, size_t n)
{
    if (s_out_room(f, c, n) != 0) {
        return -1;
    }
    s_out_append(f, c, data, n);
    return 0;
}

/* ---- connections ---- */

static void s_hs_unlink(cs_zfront_t *f, s_conn_t *c)
{
    if (c->hs_prev) {
        c->hs_prev->hs_next = c->hs_next;
    } else if (f->hs_head == c) {
        f->hs_head = c->hs_next;
    }
    if (c->hs_next) {
        c->hs_next->hs_prev = c->hs_prev;
    } else if (f->hs_tail == c) {
        f->hs_tail = c->hs_prev;
    }
    c->hs_prev = c->hs_next = NULL;
}

/* Give back to c's peer what of its charge has been written (all of it when done). c holds
 * one loan of its peer while anything is charged: a piece written shrinks it, the last piece
 * ends it (a give-back per write would end loans never made, and the set free the peer while
 * c still points at it). */
static void s_uncharge(s_conn_t *c, size_t written, int done)
{
    if (!c->peer) {
        return;
    }
    uint64_t back = done || written >= c->charged ? c->charged : written;
    c->charged -= back;
    if (c->charged == 0) {
        cs_peer_give_back(c->peer, (size_t)back);
        c->peer = NULL; /* the set may free it once it holds nothing */
    } else if (back) {
        cs_peer_give_back_part(c->peer, (size_t)back);
    }
}

static void s_close(cs_zfront_t *f, s_conn_t *c)
{
    for (int i = 0; i < f->n_pend; i++) {
        if (f->pend[i].data.ptr == c) {
            f->pend[i].data.ptr = NULL; /* found by a wait, gone before the serve */
        }
    }
    s_uncharge(c, 0, 1);
    s_hs_unlink(f, c);
    f->unsent -= c->out_len - c->out_off;
    f->by_fd[c->fd] = NULL;
    close(c->fd); /* leaves the epoll set with it */
    free(c->msg);
    free(c->out);
    free(c);
    f->open--;
}

/* Make the epoll set watch c for what it needs now: input unless it is closing or holds
 * too much unsent, output while it has unsent bytes. -1 when epoll fails (c is closed). */
static int s_arm(cs_zfront_t *f, s_conn_t *c)
{
    size_t unsent = c->out_len - c->out_off;
    uint32_t want = unsent ? EPOLLOUT : 0;
    if (c->state != S_CLOSING && !f->lingering && unsent <= f->cfg.peer_bytes + S_OUT_SLACK) {
        want |= EPOLLIN;
    }
    if (want == c->events) {
        return 0;
    }
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        CS_WARN("query connection %d: epoll: %s; closed", c->fd, strerror(errno));
        s_close(f, c);
        return -1;
    }
    c->events = want;
    return 0;
}

/* Write what c has queued, as much as the socket takes. 0, or -1 when c was closed. */
static int s_write(cs_zfront_t *f, s_conn_t *c)
{
    c->dirty = 0;
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (w < 0) {
            CS_DEBUG("query connection %d: send: %s; closed", c->fd, strerror(errno));
            s_close(f, c);
            return -1;
        }
        c->out_off += (size_t)w;
        f->unsent -= (uint64_t)w;
        s_uncharge(c, (size_t)w, c->out_off == c->out_len);
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        s_out_release(f, c);
        if (c->state == S_CLOSING) {
            s_close(f, c); /* its ERROR is out */
            return -1;
        }
    }
    return s_arm(f, c);
}

/* Refuse the peer with an ERROR command saying why; c closes once it is written (or its
 * handshake deadline passes). */
static void s_refuse(cs_zfront_t *f, s_conn_t *c, const char *why)
{
    CS_INFO("query connection %d refused: %s", c->fd, why);
    uint8_t cmd[300];
    size_t n = cs_zmtp_error(cmd, sizeof cmd, why);
    c->state = S_CLOSING;
    if (s_out_put(f, c, cmd, n) != 0) {
        c->out_off = c->out_len; /* nothing to say: closed at the write */
    }
}

/* The peer's READY: a REQ or DEALER is answered READY, anything else ERROR. */
static void s_hello(cs_zfront_t *f, s_conn_t *c)
{
    const uint8_t *v = NULL;
    size_t vl = 0;
    int rc = cs_zmtp_command_is(c->cmd, c->cmd_len, "READY")
                 ? cs_zmtp_ready_property(c->cmd, c->cmd_len, "Socket-Type", &v, &vl)
                 : -2;
    if (rc == -2 || c->dest == S_TO_SKIP) {
        s_refuse(f, c, c->dest == S_TO_SKIP ? "a READY command too long"
                                            : "the handshake expects a READY command");
        return;
    }
    if (rc <= 0) {
        s_refuse(f, c, rc < 0 ? "a malformed READY command" : "READY without a Socket-Type");
        return;
    }
    if (!((vl == 3 && memcmp(v, "REQ", 3) == 0) || (vl == 6 && memcmp(v, "DEALER", 6) == 0))) {
        s_refuse(f, c, "this ROUTER takes REQ and DEALER peers only");
        return;
    }
    uint8_t ready[64];
    size_t n = cs_zmtp_ready(ready, sizeof ready, "ROUTER");
    if (s_out_put(f, c, ready, n) != 0) {
        s_refuse(f, c, "out of memory");
        return;
    }
    c->state = S_OPEN;
    s_hs_unlink(f, c);
}

/* A command frame is in. -1 when c must close now. */
static int s_command(cs_zfront_t *f, s_conn_t *c)
{
    if (c->state == S_HELLO) {
        s_hello(f, c);
        return 0;
    }
    if (c->dest == S_TO_SKIP) {
        return 0; /* a long unknown command: ignored */
    }
    if (cs_zmtp_command_is(c->cmd, c->cmd_len, "PING")) {
        /* PING: name, TTL (2 bytes), context (0..16 bytes), which PONG echoes */
        size_t ctx = c->cmd_len >= 7 ? c->cmd_len - 7 : 0;
        uint8_t pong[64];
        size_t n = cs_zmtp_command(pong, sizeof pong, "PONG", c->cmd + 7, ctx > 16 ? 16 : ctx);
        return s_out_put(f, c, pong, n);
    }
    if (cs_zmtp_command_is(c->cmd, c->cmd_len, "ERROR")) {
        CS_INFO("query connection %d: the peer sent ERROR; closed", c->fd);
        return -1;
    }
    return 0; /* other commands (a second READY, SUBSCRIBE, ...) mean nothing here */
}

/* A frame starts. -1 when it may not (a message before the handshake is done). */
static int s_frame_begin(cs_zfront_t *f, s_conn_t *c)
{
    const cs_zmtp_decoder_t *d = &c->dec;
    if (d->flags & CS_ZMTP_COMMAND) {
        c->dest = d->size <= S_CMD_MAX ? S_TO_CMD : S_TO_SKIP;
        c->cmd_len = 0;
        return 0;
    }
    if (c->state != S_OPEN) {
        CS_INFO("query connection %d: a message before the handshake's READY; closed", c->fd);
        return -1;
    }
    int slots = f->cfg.max_frames - 1; /* the routing identity is the first */
    int i = c->frames++;
    if (i >= slots) {
        c->overflow = 1;
        if (d->flags & CS_ZMTP_MORE) {
            c->dest = S_TO_SKIP; /* neither among the first nor the last: dropped */
            return 0;
        }
    }
    int slot = i < slots ? i : slots - 1;
    if (slot < c->n_slots) {
        c->msg_len = c->slot_off[slot]; /* the last slot is rewritten with the last frame */
    }
    if (s_reserve(&c->msg, c->msg_len, &c->msg_cap, (size_t)d->size) != 0) {
        CS_WARN("query connection %d: out of memory for a frame of %llu bytes; closed",
                c->fd, (unsigned long long)d->size);
        return -1;
    }
    c->slot_off[slot] = c->msg_len;
    c->slot_len[slot] = 0;
    c->n_slots = slot + 1;
    c->slot = slot;
    c->dest = S_TO_SLOT;
    return 0;
}

/* The request's last frame is in: hand it to the broker. */
static void s_deliver(cs_zfront_t *f, s_conn_t *c)
{
    cs_zframe_t fr[S_SLOTS + 1];
    fr[0] = (cs_zframe_t){c->id, sizeof c->id};
    for (int i = 0; i < c->n_slots; i++) {
        fr[i + 1] = (cs_zframe_t){c->msg + c->slot_off[i], c->slot_len[i]};
    }
    f->cfg.on_request(f->cfg.arg, fr, c->n_slots + 1, c->overflow);
    c->msg_len = 0;
    c->n_slots = c->frames = c->overflow = 0;
    if (c->msg_cap > S_MSG_KEEP) {
        free(c->msg);
        c->msg = NULL;
        c->msg_cap = 0;
    }
}

/* Bytes of the current frame's body; last when it is complete. -1 when c must close. */
static int s_frame_data(cs_zfront_t *f, s_conn_t *c, const uint8_t *p, size_t n, int last,
                        int *requests)
{
    if (c->dest == S_TO_SLOT && n) {
        memcpy(c->msg + c->msg_len, p, n);
        c->msg_len += n;
        c->slot_len[c->slot] += n;
    } else if (c->dest == S_TO_CMD && n) {
        memcpy(c->cmd + c->cmd_len, p, n);
        c->cmd_len += n;
    }
    if (!last) {
        return 0;
    }
    if (c->dec.flags & CS_ZMTP_COMMAND) {
        return s_command(f, c);
    }
    if (!(c->dec.flags & CS_ZMTP_MORE)) {
        s_deliver(f, c);
        (*requests)++;
    }
    return 0;
}

/* Take the peer's greeting from p (n bytes); returns the bytes used, or -1 when refused. */
static long s_greet(s_conn_t *c, const uint8_t *p, size_t n)
{
    size_t take = sizeof c->greet - c->greet_have;
    take = take < n ? take : n;
    memcpy(c->greet + c->greet_have, p, take);
    c->greet_have += take;
    const char *why = NULL;
    int rc = cs_zmtp_greeting_check(c->greet, c->greet_have, &why);
    if (rc < 0) {
        CS_INFO("query connection %d refused: %s", c->fd, why);
        return -1;
    }
    c->state = rc ? S_HELLO : S_GREET;
    return (long)take;
}

/* The look-ahead over one read: a copy of the connection's decoder, run from where a request
 * was just delivered over the requests behind it (cs_zfront_ahead_fn). */
typedef struct s_ahead {
    cs_zmtp_decoder_t dec;
    size_t at;   /* where it stands in the read */
    int shown;   /* requests shown and not yet delivered */
    int started; /* 0: not yet; 1: running; -1: stopped for this read */
} s_ahead_t;

/* The next request's body in p[a->at..n): 1 with *body, *len, when its last frame lies whole
 * in the read; 0 at the read's end, at a command, a split frame or anything the decoder
 * refuses (the connection's own decoder will say so in its turn). */
static int s_ahead_next(s_ahead_t *a, const uint8_t *p, size_t n, const uint8_t **body,
                        size_t *len)
{
    for (;;) {
        size_t used = 0, got = 0;
        const uint8_t *data = NULL;
        int last = 0;
        const char *why = NULL;
        cs_zmtp_event_t ev = cs_zmtp_decode(&a->dec, p + a->at, n - a->at, &used, &data, &got,
                                            &last, &why);
        a->at += used;
        if (ev == CS_ZMTP_NEED || ev == CS_ZMTP_BAD ||
            (ev == CS_ZMTP_HEADER && (a->dec.flags & CS_ZMTP_COMMAND)) ||
            (ev == CS_ZMTP_DATA && !last)) {
            return 0;
        }
        if (ev == CS_ZMTP_DATA && !(a->dec.flags & CS_ZMTP_MORE)) {
            if (got != a->dec.size) {
                return 0;
            }
            *body = data;
            *len = got;
            return 1;
        }
    }
}

/* A request of c was just delivered, the read at p standing at `at`: show on_ahead the
 * requests behind it, up to CS_ZFRONT_AHEAD not yet delivered. */
static void s_look_ahead(cs_zfront_t *f, s_conn_t *c, s_ahead_t *a, const uint8_t *p,
                         size_t at, size_t n)
{
    if (a->started < 0 || c->state != S_OPEN) {
        return;
    }
    if (!a->started) {
        a->dec = c->dec; /* between two requests: at a frame's start */
        a->at = at;
        a->started = 1;
    } else if (a->shown > 0) {
        a->shown--;
    }
    while (a->shown < CS_ZFRONT_AHEAD) {
        const uint8_t *body;
        size_t len;
        if (!s_ahead_next(a, p, n, &body, &len)) {
            a->started = -1;
            return;
        }
        f->cfg.on_ahead(f->cfg.arg, f->ahead_seq++, body, len);
        a->shown++;
    }
}

/* Everything read from c (n bytes at p). 0; -1 when c must close now; S_GONE when c is
 * closed already (a write on the way failed). */
#define S_GONE (-2)
static int s_consume(cs_zfront_t *f, s_conn_t *c, const uint8_t *p, size_t n, int *requests)
{
    size_t at = 0, stream_at = S_STREAM;
    s_ahead_t ahead = {.started = f->cfg.on_ahead ? 0 : -1};
    if (c->state == S_GREET) {
        long used = s_greet(c, p, n);
        if (used < 0) {
            return -1;
        }
        at = (size_t)used;
    }
    while (c->state == S_HELLO || c->state == S_OPEN) {
        size_t used = 0, len = 0;
        const uint8_t *data = NULL;
        int last = 0;
        const char *why = NULL;
        cs_zmtp_event_t ev = cs_zmtp_decode(&c->dec, p + at, n - at, &used, &data, &len,
                                            &last, &why);
        at += used;
        if (ev == CS_ZMTP_NEED) {
            return 0;
        }
        if (ev == CS_ZMTP_BAD) {
            CS_WARN("query connection %d: %s (%llu bytes; at most %lld); closed", c->fd, why,
                    (unsigned long long)c->dec.size, (long long)c->dec.max);
            return -1;
        }
        int delivered = *requests;
        int rc = ev == CS_ZMTP_HEADER ? s_frame_begin(f, c)
                                      : s_frame_data(f, c, data, len, last, requests);
        if (rc != 0) {
            return -1;
        }
        if (*requests != delivered) {
            s_look_ahead(f, c, &ahead, p, at, n);
        }
        /* A client that pipelines reads these replies (and sends its next requests) while
         * the rest of the read is answered, rather than the two taking turns. Each such
         * write waits for twice the bytes of the last, so a read of a thousand requests
         * costs a few sends, not one a reply. Not once a send was cut short: the socket is
         * full, and the end of the read writes. */
        if (c->out_off == 0 && c->out_len >= stream_at && at < n) {
            f->streamed++;
            stream_at *= 2;
            if (s_write(f, c) != 0) {
                return S_GONE;
            }
        }
    }
    return 0; /* closing: what else it sent is not read */
}

/* Read once from c and serve what came. */
static void s_read(cs_zfront_t *f, s_conn_t *c, int *requests)
{
    ssize_t r = recv(c->fd, f->rbuf, S_RBUF, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return;
    }
    if (r <= 0) {
        s_close(f, c); /* the peer left (or the connection broke): its replies go too */
        return;
    }
    int rc = s_consume(f, c, f->rbuf, (size_t)r, requests);
    if (rc != 0) {
        if (rc != S_GONE) {
            s_close(f, c);
        }
        return;
    }
    s_write(f, c); /* the read's replies (those not streamed already) in one send */
}

/* ---- accepting ---- */

/* Make by_fd hold descriptor fd. 0, or -1 when out of memory. */
static int s_fd_room(cs_zfront_t *f, int fd)
{
    if ((size_t)fd < f->n_by_fd) {
        return 0;
    }
    size_t n = f->n_by_fd ? f->n_by_fd : 256;
    while (n <= (size_t)fd) {
        n *= 2;
    }
    s_conn_t **p = realloc(f->by_fd, n * sizeof *p);
    if (!p) {
        return -1;
    }
    memset(p + f->n_by_fd, 0, (n - f->n_by_fd) * sizeof *p);
    f->by_fd = p;
    f->n_by_fd = n;
    return 0;
}

/* A connection on descriptor fd: its identity, its greeting sent, its handshake timed. */
static void s_open(cs_zfront_t *f, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails on ipc: harmless */
    s_conn_t *c = s_fd_room(f, fd) == 0 ? calloc(1, sizeof *c) : NULL;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (!c || epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        CS_WARN("cannot take a query connection: %s", c ? strerror(errno) : "out of memory");
        free(c);
        close(fd);
        f->refused++;
        return;
    }
    c->kind = S_CONN;
    c->fd = fd;
    c->events = EPOLLIN;
    c->dec.max = f->cfg.max_msg > 0 ? (uint64_t)f->cfg.max_msg : 1u << 30;
    c->id[0] = 0;
    c->id[1] = 'Z';
    s_put32(c->id + 2, (uint32_t)fd);
    s_put32(c->id + 6, ++f->gen);
    c->deadline_ns = s_now_ns() + (uint64_t)f->cfg.handshake_ms * 1000000u;
    c->hs_prev = f->hs_tail;
    if (f->hs_tail) {
        f->hs_tail->hs_next = c;
    } else {
        f->hs_head = c;
    }
    f->hs_tail = c;
    f->by_fd[fd] = c;
    f->open++;
    uint8_t g[CS_ZMTP_GREETING];
    cs_zmtp_greeting(g);
    if (s_out_put(f, c, g, sizeof g) != 0) {
        s_close(f, c);
        return;
    }
    s_write(f, c);
}

static void s_accept(cs_zfront_t *f, s_listener_t *l)
{
    for (int i = 0; i < S_ACCEPTS; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of descriptors: rest, rather than have epoll report it again at once */
                CS_WARN("cannot accept a query connection: %s", strerror(errno));
                epoll_ctl(f->ep, EPOLL_CTL_DEL, l->fd, NULL);
                l->paused = 1;
                l->resume_ns = s_now_ns() + S_PAUSE_NS;
                f->n_paused++;
            }
            if (errno == ECONNABORTED || errno == EINTR || errno == EPROTO) {
                continue;
            }
            return;
        }
        if (f->refuse_all || f->open >= f->cfg.max_conns) {
            close(fd);
            f->refused++;
            continue;
        }
        s_open(f, fd);
    }
}

/* ---- the API ---- */

cs_zfront_t *cs_zfront_new(const cs_zfront_config_t *cfg, cs_error_t *err)
{
    if (cfg->max_frames < 2 || cfg->max_frames - 1 > S_SLOTS || !cfg->on_request) {
        cs_error_set(err, CS_EINVAL, "the direct front takes 2 to %d frames", S_SLOTS + 1);
        return NULL;
    }
    cs_zfront_t *f = calloc(1, sizeof *f);
    if (!f || !(f->rbuf = malloc(S_RBUF))) {
        free(f);
        cs_error_set(err, CS_ENOMEM, "out of memory");
        return NULL;
    }
    f->cfg = *cfg;
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    if (f->ep < 0) {
        cs_error_set(err, CS_EIO, "epoll: %s", strerror(errno));
        free(f->rbuf);
        free(f);
        return NULL;
    }
    return f;
}

void cs_zfront_destroy(cs_zfront_t **fp)
{
    if (!fp || !*fp) {
        return;
    }
    cs_zfront_t *f = *fp;
    for (size_t i = 0; i < f->n_by_fd; i++) {
        if (f->by_fd[i]) {
            s_close(f, f->by_fd[i]);
        }
    }
    for (size_t i = 0; i < f->n_listen; i++) {
        close(f->listen[i].fd);
        if (f->listen[i].path[0]) {
            unlink(f->listen[i].path);
        }
    }
    close(f->ep);
    free(f->by_fd);
    free(f->dirty);
    free(f->rbuf);
    free(f->spare);
    free(f);
    *fp = NULL;
}

int cs_zfront_handles(const char *endpoint)
{
    return cs_listen_handles(endpoint);
}

int cs_zfront_bind(cs_zfront_t *f, const char *endpoint, cs_error_t *err)
{
    if (f->n_listen == S_MAX_LISTEN) {
        return cs_error_set(err, CS_EINVAL, "at most %d direct endpoints", S_MAX_LISTEN);
    }
    s_listener_t *l = &f->listen[f->n_listen];
    memset(l, 0, sizeof *l);
    l->kind = S_LISTENER;
    l->fd = cs_listen_open(endpoint, l->path, sizeof l->path, err);
    if (l->fd < 0) {
        return err->code;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
        close(l->fd);
        return cs_error_set(err, CS_EIO, "epoll: %s", strerror(errno));
    }
    f->n_listen++;
    return CS_OK;
}

size_t cs_zfront_n_bound(const cs_zfront_t *f)
{
    return f->n_listen;
}

int cs_zfront_fd(const cs_zfront_t *f)
{
    return f->ep;
}

int cs_zfront_serve(cs_zfront_t *f, int max_events, int *requests)
{
    struct epoll_event local[S_EVENTS], *ev = local;
    int want = max_events < S_EVENTS ? max_events : S_EVENTS, n;
    if (f->n_pend > 0) {
        ev = f->pend; /* a wait just found these: no second look */
        n = f->n_pend;
        want = S_EVENTS;
        f->n_pend = 0;
    } else {
        n = epoll_wait(f->ep, ev, want, 0);
    }
    for (int i = 0; i < n; i++) {
        int kind = ev[i].data.ptr ? *(const int *)ev[i].data.ptr : S_WATCH;
        if (kind == S_WATCH) {
            continue; /* the loop's own, or a connection closed since the wait */
        }
        if (kind == S_LISTENER) {
            s_accept(f, ev[i].data.ptr);
            continue;
        }
        s_conn_t *c = ev[i].data.ptr;
        if ((ev[i].events & EPOLLOUT) && s_write(f, c) != 0) {
            continue;
        }
        if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            s_read(f, c, requests); /* a hang-up or an error shows as the read's end */
        }
    }
    return n == want;
}

int cs_zfront_watch(cs_zfront_t *f, int fd, int tag, cs_error_t *err)
{
    if (f->n_watch == S_MAX_WATCH || tag < 0 || tag > 30) {
        return cs_error_set(err, CS_EINVAL, "the direct front watches %d descriptors, tags "
                            "0 to 30", S_MAX_WATCH);
    }
    s_watched_t *w = &f->watch[f->n_watch];
    *w = (s_watched_t){S_WATCH, tag};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        return cs_error_set(err, CS_EIO, "epoll: %s", strerror(errno));
    }
    f->n_watch++;
    return CS_OK;
}

int64_t cs_zfront_wait(cs_zfront_t *f, int ms)
{
    f->n_pend = 0;
    int n = epoll_wait(f->ep, f->pend, S_EVENTS, ms);
    if (n < 0) {
        return errno == EINTR ? 0 : -1;
    }
    int64_t ready = 0;
    for (int i = 0; i < n; i++) {
        const s_watched_t *w = f->pend[i].data.ptr;
        ready |= w->kind == S_WATCH ? (int64_t)1 << w->tag : (int64_t)CS_ZFRONT_READY;
    }
    f->n_pend = n;
    return ready;
}

void cs_zfront_expire(cs_zfront_t *f)
{
    if (!f->hs_head && !f->n_paused) {
        return;
    }
    uint64_t now = s_now_ns();
    while (f->hs_head && f->hs_head->deadline_ns <= now) {
        s_conn_t *c = f->hs_head;
        CS_INFO("query connection %d: no handshake within %d ms; closed", c->fd,
                f->cfg.handshake_ms);
        s_close(f, c);
    }
    for (size_t i = 0; i < f->n_listen && f->n_paused; i++) {
        s_listener_t *l = &f->listen[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
        if (l->paused && l->resume_ns <= now && epoll_ctl(f->ep, EPOLL_CTL_ADD, l->fd, &ev) == 0) {
            l->paused = 0;
            f->n_paused--;
        }
    }
}

int cs_zfront_owns(const void *id, size_t len)
{
    const uint8_t *p = id;
    return len == CS_ZFRONT_ID_LEN && p[0] == 0 && p[1] == 'Z';
}

/* The open connection identity id names, or NULL. */
static s_conn_t *s_by_id(cs_zfront_t *f, const void *id, size_t len)
{
    if (!cs_zfront_owns(id, len)) {
        return NULL;
    }
    uint32_t fd = s_get32((const uint8_t *)id + 2);
    s_conn_t *c = fd < f->n_by_fd ? f->by_fd[fd] : NULL;
    return c && c->state == S_OPEN && memcmp(c->id, id, len) == 0 ? c : NULL;
}

/* Queue frame data (n bytes) with flags on c. 0, or -1. */
static int s_put_frame(cs_zfront_t *f, s_conn_t *c, int flags, const void *data, size_t n)
{
    uint8_t h[9];
    size_t hl = cs_zmtp_header(h, flags, n);
    if (s_out_room(f, c, hl + n) != 0) {
        return -1;
    }
    s_out_append(f, c, h, hl);
    s_out_append(f, c, data, n);
    return 0;
}

int cs_zfront_send(cs_zfront_t *f, const cs_zframe_t *env, int n_env, const void *body,
                   size_t len)
{
    s_conn_t *c = n_env >= 1 ? s_by_id(f, env[0].data, env[0].len) : NULL;
    if (!c) {
        return -1;
    }
    size_t before = c->out_len - c->out_off;
    int rc = 0;
    for (int i = 1; i < n_env && rc == 0; i++) {
        rc = s_put_frame(f, c, CS_ZMTP_MORE, env[i].data, env[i].len);
    }
    if (rc == 0) {
        rc = s_put_frame(f, c, 0, body, len);
    }
    size_t added = c->out_len - c->out_off - before;
    if (rc != 0) {
        /* out of memory half-way: take the half reply back, so the stream stays whole */
        c->out_len -= added;
        f->unsent -= added;
        return -1;
    }
    if (c->peer) {
        cs_peer_lend_more(c->peer, added); /* its loan is open: it grows */
        c->charged += added;
    } else if ((c->peer = cs_peers_get(f->cfg.peers, c->id, sizeof c->id)) != NULL) {
        cs_peer_lend(c->peer, added);
        c->charged = added;
    }
    if (!c->dirty) {
        c->dirty = 1;
        if (f->n_dirty == f->dirty_cap) {
            size_t cap = f->dirty_cap ? f->dirty_cap * 2 : 64;
            s_dirty_t *d = realloc(f->dirty, cap * sizeof *d);
            if (!d) {
                return 0; /* written when it next reads, or by the peer's next request */
            }
            f->dirty = d;
            f->dirty_cap = cap;
        }
        f->dirty[f->n_dirty++] = (s_dirty_t){c->fd, s_get32(c->id + 6)};
    }
    return 0;
}

void cs_zfront_flush(cs_zfront_t *f)
{
    for (size_t i = 0; i < f->n_dirty; i++) {
        s_conn_t *c = (size_t)f->dirty[i].fd < f->n_by_fd ? f->by_fd[f->dirty[i].fd] : NULL;
        if (c && c->dirty && s_get32(c->id + 6) == f->dirty[i].gen) {
            s_write(f, c);
        }
    }
    f->n_dirty = 0;
}

void cs_zfront_linger(cs_zfront_t *f, int ms)
{
    cs_zfront_flush(f);
    f->n_pend = 0;
    f->lingering = 1;
    for (size_t i = 0; i < f->n_listen; i++) {
        if (!f->listen[i].paused) {
            epoll_ctl(f->ep, EPOLL_CTL_DEL, f->listen[i].fd, NULL); /* no more accepts */
        }
    }
    for (size_t i = 0; i < f->n_by_fd; i++) {
        s_conn_t *c = f->by_fd[i];
        if (c && (c->out_off == c->out_len || c->state != S_OPEN)) {
            s_close(f, c);
        } else if (c) {
            s_arm(f, c); /* output only */
        }
    }
    uint64_t until = s_now_ns() + (uint64_t)ms * 1000000u;
    while (f->unsent > 0 && s_now_ns() < until) {
        struct epoll_event ev[64];
        int n = epoll_wait(f->ep, ev, 64, 10);
        for (int i = 0; i < n; i++) {
            if (*(const int *)ev[i].data.ptr != S_CONN) {
                continue; /* the loop's own, or a listener (no longer in the set) */
            }
            s_conn_t *c = ev[i].data.ptr;
            if (ev[i].events & EPOLLOUT) {
                s_write(f, c);
            } else if (ev[i].events & (EPOLLHUP | EPOLLERR)) {
                s_close(f, c);
            }
        }
    }
}

uint64_t cs_zfront_unsent(const cs_zfront_t *f)
{
    return f->unsent;
}

void cs_zfront_refuse_all(cs_zfront_t *f, int on)
{
    f->refuse_all = on;
}

size_t cs_zfront_open(const cs_zfront_t *f)
{
    return f->open;
}

uint64_t cs_zfront_refused(const cs_zfront_t *f)
{
    return f->refused;
}

uint64_t cs_zfront_streamed(const cs_zfront_t *f)
{
    return f->streamed;
}
