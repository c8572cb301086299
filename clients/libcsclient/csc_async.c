/* csc_async.c: asynchronous lookups and validates (codeset_client.h): calls wait in the
 * client, go out coalesced into "batch" messages (or alone), and each gets its own reply.
 * Messages go on the client's own ZMTP connection when it has one (csc_zmtp.h: the calling
 * thread writes and reads them itself), else on the ZeroMQ socket; a batch's reply is read
 * straight from its bytes (csc_fastread.h) where it can be.
 *
 *     cs_client_call_t *calls[100];
 *     for (int i = 0; i < 100; i++) {
 *         cs_client_lookup_async(c, "icd10cm", codes[i], 0, NULL, &calls[i]);
 *     }
 *     for (int i = 0; i < 100; i++) {
 *         if (cs_client_wait(c, calls[i]) == CS_CLIENT_OK) {
 *             use(cs_client_call_lookup(calls[i]));
 *         }
 *         cs_client_call_destroy(&calls[i]);
 *     }
 */
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <zmq.h>

#include "csc_decode.h"
#include "csc_fastread.h"
#include "csc_internal.h"
#include "csc_zmtp.h"

#define S_MAX_COALESCE 1000
/* Codes in one batch message at most: a validate of more goes alone, and a batch never
 * nears the broker's limit (10,000 by default). */
#define S_COALESCE_CODES 1000
/* After the own connection failed a send, the ZeroMQ socket takes the calls this long. */
#define S_DIRECT_RETRY_MS 1000

struct cs_client_call {
    cs_client_t *c;          /* the client; not to be read once the call is answered */
    csc_req_t req;           /* the encoded request */
    csc_slot_t slot;         /* state (CSC_UNSENT, CSC_SENT, CSC_DONE) and outcome */
    uint64_t seq;            /* when it was made, among the client's calls */
    size_t codes;            /* codes it carries (a lookup: 1) */
    int alone;               /* 1: never coalesced (a batch holding it was refused as long) */
    cs_client_call_t *next;  /* the queue's link while CSC_UNSENT */
    struct csc_msg *msg;     /* the message carrying it while CSC_SENT */
    uint32_t item;           /* its place in msg */
    int req_inline;          /* 1: req.pairs lies in inline_req, freed with the call */
    void *room;              /* a plain lookup's result, when it fits (csc_rd_lookup), in the
                              * call's own allocation after its request; NULL: none */
    char inline_req[];       /* a plain lookup's request, in the call's own allocation */
};

/* The room a plain lookup's call keeps for its result: a result of FY2021 takes 150 to 450
 * bytes; one that does not fit goes in an arena of its own as before. */
#define S_ROOM 512
#define S_ALIGN 16

typedef struct csc_msg {
    uint64_t id;                /* the request id it was sent with */
    int batch;                  /* 1: a batch message; 0: one plain request */
    int direct;                 /* 1: sent on the client's own connection (c->zfd) */
    uint32_t n;                 /* calls it carries */
    cs_client_call_t *calls[];  /* in item order; NULL where a call was destroyed */
} csc_msg_t;

/* ---- the queue of calls not sent, in the order they were made ---- */

static void s_queue_push(cs_client_t *c, cs_client_call_t *call)
{
    call->next = NULL;
    if (c->q_tail) {
        c->q_tail->next = call;
    } else {
        c->q_head = call;
    }
    c->q_tail = call;
}

/* Put a call back where its seq says (it was sent, and is to be sent again). */
static void s_queue_insert(cs_client_t *c, cs_client_call_t *call)
{
    call->slot.state = CSC_UNSENT;
    call->msg = NULL;
    cs_client_call_t **pp = &c->q_head;
    while (*pp && (*pp)->seq < call->seq) {
        pp = &(*pp)->next;
    }
    call->next = *pp;
    *pp = call;
    if (!call->next) {
        c->q_tail = call;
    }
}

static void s_queue_unlink(cs_client_t *c, cs_client_call_t *call)
{
    cs_client_call_t *prev = NULL;
    for (cs_client_call_t *p = c->q_head; p; prev = p, p = p->next) {
        if (p == call) {
            if (prev) {
                prev->next = p->next;
            } else {
                c->q_head = p->next;
            }
            if (c->q_tail == p) {
                c->q_tail = prev;
            }
            return;
        }
    }
}

/* ---- messages in flight ---- */

/* Take message k out of the list (its calls stay as they are). */
static csc_msg_t *s_msg_take(cs_client_t *c, size_t k)
{
    csc_msg_t *m = c->msgs[k];
    memmove(&c->msgs[k], &c->msgs[k + 1], (c->n_msgs - k - 1) * sizeof *c->msgs);
    c->n_msgs--;
    c->items_in_flight -= m->n;
    return m;
}

/* Answer a call with a status of the client's own (a timeout, the client going away). */
static void s_call_end(cs_client_call_t *call, int status, const cs_client_error_t *err)
{
    call->slot.state = CSC_DONE;
    call->slot.status = status;
    call->slot.err = *err;
    call->msg = NULL;
    call->next = NULL;
}

/* Every call not answered ends with status. */
static void s_end_all(cs_client_t *c, int status, const cs_client_error_t *err)
{
    while (c->n_msgs > 0) {
        csc_msg_t *m = s_msg_take(c, c->n_msgs - 1);
        for (uint32_t i = 0; i < m->n; i++) {
            if (m->calls[i]) {
                s_call_end(m->calls[i], status, err);
            }
        }
        free(m);
    }
    while (c->q_head) {
        cs_client_call_t *call = c->q_head;
        c->q_head = call->next;
        s_call_end(call, status, err);
    }
    c->q_tail = NULL;
}

/* Every call in flight goes back to the queue, to be sent again: of the messages sent on the
 * ZeroMQ socket (which 0), on the own connection (1), or all (-1). */
static void s_requeue(cs_client_t *c, int which)
{
    for (size_t k = c->n_msgs; k-- > 0;) {
        if (which >= 0 && c->msgs[k]->direct != which) {
            continue;
        }
        csc_msg_t *m = s_msg_take(c, k);
        for (uint32_t i = 0; i < m->n; i++) {
            if (m->calls[i]) {
                s_queue_insert(c, m->calls[i]);
            }
        }
        free(m);
    }
}

static void s_requeue_all(cs_client_t *c)
{
    s_requeue(c, -1);
}

/* ---- sending ---- */

/* How many calls from the queue's head go in the next message: up to c->coalesce, the
 * window and S_COALESCE_CODES allowing; when the calls that can go now need more than one
 * message, they are shared out evenly (100 calls, 64 a batch: two of 50, not 64 and 36), so
 * that the messages in flight take alike long to answer and to read, and the broker answers
 * one while the client reads the other. */
static uint32_t s_group(const cs_client_t *c)
{
    const cs_client_call_t *call = c->q_head;
    if (c->no_batch || c->coalesce <= 1 || call->alone) {
        return 1;
    }
    uint32_t k = 0, all = 0;
    size_t codes = 0;
    for (; call && c->items_in_flight + all < c->window && !call->alone &&
           codes + call->codes <= S_COALESCE_CODES;
         call = call->next) {
        codes += call->codes;
        all++;
        k += k < c->coalesce;
    }
    if (all > k) {
        uint32_t msgs = (all + c->coalesce - 1) / c->coalesce;
        k = (all + msgs - 1) / msgs;
    }
    return k ? k : 1;
}

/* A batch of the k calls at the queue's head, with id, into c->frame. */
static int s_encode_batch(cs_client_t *c, uint32_t k, uint64_t id)
{
    csc_buf_t *f = &c->frame;
    f->len = 0;
    f->failed = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, f, csc_buf_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_uint64(&pk, id);
    msgpack_pack_str_with_body(&pk, "op", 2);
    msgpack_pack_str_with_body(&pk, "batch", 5);
    msgpack_pack_str_with_body(&pk, "requests", 8);
    msgpack_pack_array(&pk, k);
    const cs_client_call_t *call = c->q_head;
    for (uint32_t i = 0; i < k; i++, call = call->next) {
        msgpack_pack_map(&pk, call->req.nkeys);
        csc_buf_write(f, call->req.pairs, call->req.len);
    }
    return f->failed ? csc_fail(&c->last, CS_CLIENT_ENOMEM, "out of memory encoding a batch")
                     : CS_CLIENT_OK;
}

/* Send one message of the calls at the queue's head: 0, 1 when the socket cannot take it
 * now, or a negative status. */
/* The message in c->frame on the own connection when the client has one, else on the ZeroMQ
 * socket (opened if need be): 0 sent, *direct telling which; 1 when the socket cannot take
 * it now; 2 when the own connection failed (it is given up, and the calls it carried are back
 * in the queue: the caller makes its message again); or a negative status. */
static int s_put(cs_client_t *c, int *direct)
{
    int64_t deadline = csc_now_ms() + c->timeout_ms;
    *direct = csc_direct_open(c, deadline) == 0;
    if (*direct) {
        if (csc_zmtp_send(c->zfd, c->frame.data, c->frame.len, deadline) == 0) {
            return 0;
        }
        csc_direct_close(c);
        c->z_retry_ms = csc_now_ms() + S_DIRECT_RETRY_MS;
        return 2;
    }
    int rc = c->sock ? CS_CLIENT_OK : csc_open(c, &c->last);
    if (rc != CS_CLIENT_OK) {
        return rc;
    }
    if (zmq_send(c->sock, c->frame.data, c->frame.len, ZMQ_DONTWAIT) < 0) {
        return errno == EAGAIN || errno == EINTR
                   ? 1
                   : csc_fail(&c->last, CS_CLIENT_EIO, "cannot send a request: %s",
                              zmq_strerror(errno));
    }
    return 0;
}

/* Send one message of the calls at the queue's head: 0 (sent, or to be made again: see
 * s_put), 1 when the socket cannot take it now, or a negative status. */
static int s_send_one(cs_client_t *c)
{
    if (!c->sock && c->zfd < 0 && csc_direct_open(c, csc_now_ms() + c->timeout_ms) != 0) {
        /* the socket is opened before the calls are picked: opening it puts what the old
         * one carried back in the queue */
        int rc = csc_open(c, &c->last);
        if (rc != CS_CLIENT_OK) {
            return rc;
        }
    }
    uint32_t k = s_group(c);
    csc_msg_t *m = malloc(sizeof *m + k * sizeof m->calls[0]);
    if (!m || (c->n_msgs == c->cap_msgs && c->cap_msgs > SIZE_MAX / 2)) {
        free(m);
        return csc_fail(&c->last, CS_CLIENT_ENOMEM, "out of memory sending a call");
    }
    if (c->n_msgs == c->cap_msgs) {
        size_t cap = c->cap_msgs ? c->cap_msgs * 2 : 16;
        csc_msg_t **p = realloc(c->msgs, cap * sizeof *p);
        if (!p) {
            free(m);
            return csc_fail(&c->last, CS_CLIENT_ENOMEM, "out of memory sending a call");
        }
        c->msgs = p;
        c->cap_msgs = cap;
    }
    m->id = c->next_id;
    m->batch = k > 1;
    m->n = k;
    int rc = m->batch ? s_encode_batch(c, k, m->id) : csc_encode(c, &c->q_head->req, m->id);
    if (rc == CS_CLIENT_OK) {
        rc = s_put(c, &m->direct);
    }
    if (rc != 0) {
        free(m);
        return rc == 2 ? 0 : rc;
    }
    c->next_id++;
    for (uint32_t i = 0; i < k; i++) {
        cs_client_call_t *call = c->q_head;
        c->q_head = call->next;
        call->next = NULL;
        call->slot.state = CSC_SENT;
        call->msg = m;
        call->item = i;
        m->calls[i] = call;
    }
    if (!c->q_head) {
        c->q_tail = NULL;
    }
    c->msgs[c->n_msgs++] = m;
    c->items_in_flight += k;
    return 0;
}

/* Send what waits, as far as the window and the socket allow. 0, 1 when the socket is full,
 * or a negative status. */
static int s_send_queued(cs_client_t *c)
{
    while (c->q_head && c->items_in_flight < c->window) {
        int rc = s_send_one(c);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* ---- replies ---- */

/* A batch's reply: each item to its call; a batch the broker does not know or refused as too
 * long is sent again as plain requests. */
static void s_batch_reply(cs_client_t *c, csc_msg_t *m, const msgpack_object *reply)
{
    cs_client_error_t err;
    int st = cs_client_decode_status(reply, &err);
    int unknown = st == CS_CLIENT_ESERVER && strcmp(err.code, "unknown_op") == 0;
    int too_long = st == CS_CLIENT_ESERVER && strcmp(err.code, "too_many") == 0;
    const msgpack_object *items = st == CS_CLIENT_OK ? cs_client_obj_get(reply, "replies") : NULL;
    if (st == CS_CLIENT_OK &&
        (!items || items->type != MSGPACK_OBJECT_ARRAY || items->via.array.size != m->n)) {
        st = csc_fail(&err, CS_CLIENT_EPROTO, "a batch reply without one reply per request");
    }
    c->no_batch |= unknown;
    for (uint32_t i = 0; i < m->n; i++) {
        cs_client_call_t *call = m->calls[i];
        if (!call) {
            continue;
        }
        if (unknown || too_long) {
            call->alone = too_long;
            s_queue_insert(c, call);
        } else if (st != CS_CLIENT_OK) {
            s_call_end(call, st, &err);
        } else {
            call->msg = NULL;
            csc_slot_decode(call->req.op, &items->via.array.ptr[i], &call->slot);
        }
    }
}

int csc_async_reply(cs_client_t *c, uint64_t id, const msgpack_object *reply)
{
    size_t k = 0;
    while (k < c->n_msgs && c->msgs[k]->id != id) {
        k++;
    }
    if (k == c->n_msgs) {
        return 0; /* a duplicate after a resend, or a destroyed call's */
    }
    csc_msg_t *m = s_msg_take(c, k);
    c->a_timeouts = 0;
    if (m->batch) {
        s_batch_reply(c, m, reply);
    } else if (m->calls[0]) {
        m->calls[0]->msg = NULL;
        csc_slot_decode(m->calls[0]->req.op, reply, &m->calls[0]->slot);
    }
    free(m);
    return 1;
}

/* Free a call's outcome: a result in the call's room is part of the call. */
static void s_slot_clear(cs_client_call_t *call)
{
    if (call->room && call->slot.result == call->room) {
        call->slot.result = NULL;
    }
    csc_slot_clear(call->req.op, &call->slot);
}

/* Put back what s_read_batch decoded of m's first k items: the calls are in flight again. */
static void s_read_undo(csc_msg_t *m, uint32_t k)
{
    for (uint32_t i = 0; i < k; i++) {
        cs_client_call_t *call = m->calls[i];
        if (call) {
            s_slot_clear(call);
            call->slot.state = CSC_SENT;
            call->slot.status = CS_CLIENT_ETIMEOUT;
        }
    }
}

/* Item i of m's reply at r into its call (destroyed: skipped): a lookup read straight from
 * the bytes (csc_fastread.h), anything else through msgpack-c and csc_decode.c. The call
 * stays CSC_SENT until the whole reply has been read. 0, or -1 when the bytes are not one
 * object. */
static int s_read_item(csc_rd_t *r, cs_client_call_t *call)
{
    const unsigned char *at = r->p;
    cs_client_lookup_t *l;
    if (call && call->req.op == CSC_OP_LOOKUP &&
        csc_rd_lookup(r, call->room, call->room ? S_ROOM : 0, &l) == 1) {
        memset(&call->slot.err, 0, sizeof call->slot.err);
        call->slot.status = CS_CLIENT_OK;
        call->slot.result = l;
        return 0;
    }
    if (csc_rd_skip(r) != 0) {
        return -1;
    }
    if (call) {
        msgpack_unpacked u;
        size_t off = 0;
        msgpack_unpacked_init(&u);
        if (cs_client_prescan(at, (size_t)(r->p - at)) != 0 ||
            msgpack_unpack_next(&u, (const char *)at, (size_t)(r->p - at), &off) !=
                MSGPACK_UNPACK_SUCCESS) {
            msgpack_unpacked_destroy(&u);
            return -1;
        }
        csc_slot_decode(call->req.op, &u.data, &call->slot);
        call->slot.state = CSC_SENT;
        msgpack_unpacked_destroy(&u);
    }
    return 0;
}

/* A reply read straight from its bytes when it is the success of one of our batch messages,
 * {"ok":true,"id":N,"replies":[...]} in the order the broker writes: each item to its call,
 * with no tree of msgpack objects built for the whole. 1 when it answered; 0 when the body is
 * anything else (an error, another order, not ours, not well-formed), left to the general
 * path with nothing changed. */
static int s_read_batch(cs_client_t *c, const void *body, size_t len)
{
    csc_rd_t r = {body, (const unsigned char *)body + len};
    uint32_t pairs, n;
    uint64_t id;
    if (csc_rd_map(&r, &pairs) != 0 || pairs < 3 || !csc_rd_key(&r, "ok", 2) || r.p >= r.end ||
        *r.p++ != 0xc3 || !csc_rd_key(&r, "id", 2) || csc_rd_uint(&r, &id) != 0 ||
        !csc_rd_key(&r, "replies", 7)) {
        return 0;
    }
    size_t k = 0;
    while (k < c->n_msgs && c->msgs[k]->id != id) {
        k++;
    }
    if (k == c->n_msgs || !c->msgs[k]->batch || csc_rd_array(&r, &n) != 0 || n != c->msgs[k]->n) {
        return 0;
    }
    csc_msg_t *m = c->msgs[k];
    for (uint32_t i = 0; i < n; i++) {
        if (s_read_item(&r, m->calls[i]) != 0) {
            s_read_undo(m, i);
            return 0;
        }
    }
    for (uint32_t i = 3; i < pairs; i++) { /* keys a later broker may add */
        if (csc_rd_skip(&r) != 0 || csc_rd_skip(&r) != 0) {
            break;
        }
    }
    if (r.p != r.end) {
        s_read_undo(m, n);
        return 0;
    }
    s_msg_take(c, k);
    c->a_timeouts = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (m->calls[i]) {
            m->calls[i]->slot.state = CSC_DONE;
            m->calls[i]->msg = NULL;
        }
    }
    free(m);
    return 1;
}

/* One reply body: read straight from its bytes, or decoded by msgpack-c. 1 when it answered
 * one of the messages in flight. */
static int s_take(cs_client_t *c, const void *body, size_t len)
{
    if (s_read_batch(c, body, len)) {
        return 1;
    }
    msgpack_unpacked u;
    if (!csc_unpack(body, len, &u)) {
        return 0; /* garbage: dropped */
    }
    int got = csc_async_reply(c, csc_reply_id(&u.data), &u.data);
    msgpack_unpacked_destroy(&u);
    return got;
}

/* Every reply waiting on the ZeroMQ socket and on the own connection. Returns the replies
 * that answered a message, or a negative status. */
static int s_drain(cs_client_t *c)
{
    int got = 0;
    zmq_msg_t frame;
    int rc = 0;
    while (c->sock && (rc = csc_recv_frame(c, &frame)) == 1) {
        got += s_take(c, zmq_msg_data(&frame), zmq_msg_size(&frame));
        zmq_msg_close(&frame);
    }
    if (c->sock && rc < 0) {
        return rc;
    }
    struct pollfd p = {.fd = c->zfd, .events = POLLIN};
    while (c->zfd >= 0 && poll(&p, 1, 0) > 0) {
        /* a reply has begun to come: the rest follows within the timeout, or the connection
         * is given up and its calls sent again */
        if (csc_zmtp_recv(c->zfd, &c->zbody, c->max_reply, csc_now_ms() + c->timeout_ms, 0) <= 0) {
            csc_direct_close(c);
            break;
        }
        got += s_take(c, c->zbody.data, c->zbody.len);
    }
    return got;
}

/* Wait until a reply comes on the socket or the own connection (or, when blocked, the socket
 * has room), or deadline passes: 1 when a reply waits, 0 when none does, or CS_CLIENT_EIO. */
static int s_wait(cs_client_t *c, int blocked, int64_t deadline)
{
    zmq_pollitem_t items[2];
    int n = 0;
    if (c->sock) {
        items[n++] = (zmq_pollitem_t){.socket = c->sock,
                                      .events = (short)(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0))};
    }
    if (c->zfd >= 0) {
        items[n++] = (zmq_pollitem_t){.socket = NULL, .fd = c->zfd, .events = ZMQ_POLLIN};
    }
    int64_t wait = deadline - csc_now_ms();
    if (n == 0) {
        return 0;
    }
    uint64_t spin = c->async_spin_ns;
    if (!c->sock) {
        /* the own connection alone: plain polls (zmq_poll would ask getpid each time); with
         * calls out, their replies are usually microseconds away, and a thread that sleeps
         * for them pays a wake-up for each */
        if (spin && csc_zmtp_spin(c->zfd, spin)) {
            return 1;
        }
        struct pollfd p = {.fd = c->zfd, .events = POLLIN};
        int r = poll(&p, 1, wait > 0 ? (int)wait : 0);
        if (r < 0 && errno != EINTR) {
            return csc_fail(&c->last, CS_CLIENT_EIO, "cannot poll: %s", strerror(errno));
        }
        return r > 0;
    }
    /* spin_us: look without sleeping for a while first (yielding the CPU between looks) */
    int pr = 0;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (spin && !blocked && (pr = zmq_poll(items, n, 0)) == 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((uint64_t)(now.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)now.tv_nsec -
                (uint64_t)t0.tv_nsec >= spin) {
            break;
        }
        sched_yield();
    }
    if (pr == 0) {
        pr = zmq_poll(items, n, wait > 0 ? (long)wait : 0);
    }
    if (pr < 0 && errno != EINTR) {
        return csc_fail(&c->last, CS_CLIENT_EIO, "cannot poll: %s", zmq_strerror(errno));
    }
    return pr > 0 &&
           ((items[0].revents & ZMQ_POLLIN) || (n > 1 && (items[1].revents & ZMQ_POLLIN)));
}

/* No reply for timeout_ms: a new socket and every call in flight sent again, or, after `tries`
 * timeouts in a row, every call not answered ends (Lazy Pirate, as the synchronous calls). */
static void s_timeout(cs_client_t *c)
{
    if (c->sock) {
        zmq_close(c->sock);
        c->sock = NULL;
    }
    if (c->zfd >= 0) {
        close(c->zfd); /* not csc_direct_close: every call in flight is dealt with below */
        c->zfd = -1;
    }
    c->reconnects++;
    if (++c->a_timeouts < c->tries) {
        s_requeue_all(c);
        return;
    }
    c->a_timeouts = 0;
    cs_client_error_t err;
    csc_fail(&err, CS_CLIENT_ETIMEOUT, "no reply after %d tries of %d ms", c->tries,
             c->timeout_ms);
    s_end_all(c, CS_CLIENT_ETIMEOUT, &err);
}

/* Send and read until call is answered (NULL: until none is outstanding). Returns
 * CS_CLIENT_OK or the status that stopped it (EIO, ENOMEM). */
static int s_pump(cs_client_t *c, const cs_client_call_t *call)
{
    int64_t deadline = csc_now_ms() + c->timeout_ms;
    while (call ? call->slot.state != CSC_DONE : (c->q_head || c->n_msgs)) {
        if (!c->sock) {
            s_requeue(c, 0); /* a synchronous call gave the socket up, and what it carried */
        }
        int blocked = s_send_queued(c);
        if (blocked < 0) {
            return blocked;
        }
        int w = s_wait(c, blocked, deadline);
        if (w < 0) {
            return w;
        }
        if (w > 0) {
            int got = s_drain(c);
            if (got < 0) {
                return got;
            }
            if (got > 0) {
                deadline = csc_now_ms() + c->timeout_ms;
            }
        }
        if ((call ? call->slot.state != CSC_DONE : (c->q_head || c->n_msgs)) &&
            csc_now_ms() >= deadline) {
            s_timeout(c);
            deadline = csc_now_ms() + c->timeout_ms;
        }
    }
    return CS_CLIENT_OK;
}

void csc_async_reopened(cs_client_t *c)
{
    s_requeue(c, 0);
}

void csc_async_direct_lost(cs_client_t *c)
{
    s_requeue(c, 1);
}

void csc_async_close(cs_client_t *c)
{
    cs_client_error_t err;
    csc_fail(&err, CS_CLIENT_EIO, "the client was destroyed before the reply came");
    s_end_all(c, CS_CLIENT_EIO, &err);
    free(c->msgs);
    c->msgs = NULL;
    c->cap_msgs = 0;
}

/* ---- the public calls ---- */

/* A new call, queued. extra: bytes after it for an inline request. NULL when out of memory.
 * Its fields are set one by one, not by calloc, which glibc serves past its per-thread
 * cache (an application makes and frees calls by the hundred thousand). */
static cs_client_call_t *s_call_new(cs_client_t *c, size_t extra, size_t codes)
{
    cs_client_call_t *call = malloc(sizeof *call + extra);
    if (!call) {
        return NULL;
    }
    memset(&call->slot, 0, sizeof call->slot);
    call->c = c;
    call->slot.state = CSC_UNSENT;
    call->slot.status = CS_CLIENT_ETIMEOUT;
    call->seq = c->next_seq++;
    call->codes = codes;
    call->alone = 0;
    call->msg = NULL;
    call->item = 0;
    call->req_inline = extra > 0;
    call->room = NULL;
    s_queue_push(c, call);
    return call;
}

static int s_start(cs_client_t *c, csc_req_t *req, int build_rc, size_t codes,
                   cs_client_call_t **out)
{
    if (build_rc != CS_CLIENT_OK) {
        return csc_fail(&c->last, build_rc, "%s", build_rc == CS_CLIENT_EINVAL
                                                      ? "a required argument is NULL"
                                                      : "out of memory encoding a request");
    }
    cs_client_call_t *call = s_call_new(c, 0, codes);
    if (!call) {
        free(req->pairs);
        return csc_fail(&c->last, CS_CLIENT_ENOMEM, "out of memory for a call");
    }
    call->req = *req;
    *out = call;
    return CS_CLIENT_OK;
}

int cs_client_lookup_async(cs_client_t *c, const char *system, const char *code,
                           unsigned include, const cs_client_when_t *when,
                           cs_client_call_t **call)
{
    if (!c || !call) {
        return CS_CLIENT_EINVAL;
    }
    *call = NULL;
    if (system && code && !when &&
        !(include & (CS_CLIENT_INCLUDE_NOTES | CS_CLIENT_INCLUDE_CHILDREN |
                     CS_CLIENT_INCLUDE_ANCESTORS))) {
        /* the plain lookup: its request in the call's own allocation */
        size_t req = csc_plain_lookup_size(system, code);
        size_t head = offsetof(cs_client_call_t, inline_req);
        size_t at = (head + req + S_ALIGN - 1) / S_ALIGN * S_ALIGN;
        cs_client_call_t *p = s_call_new(c, at + S_ROOM - head, 1);
        if (!p) {
            return csc_fail(&c->last, CS_CLIENT_ENOMEM, "out of memory for a call");
        }
        csc_plain_lookup_put(p->inline_req, system, code, &p->req);
        p->room = (char *)p + at;
        *call = p;
        return CS_CLIENT_OK;
    }
    csc_req_t req = {0};
    int b = csc_build_lookup(&req, system, code, include, when);
    return s_start(c, &req, b, 1, call);
}

int cs_client_validate_async(cs_client_t *c, const char *system, const char *const *codes,
                             size_t n, const cs_client_when_t *when, cs_client_call_t **call)
{
    if (!c || !call) {
        return CS_CLIENT_EINVAL;
    }
    *call = NULL;
    csc_req_t req = {0};
    int b = csc_build_validate(&req, system, codes, n, when);
    return s_start(c, &req, b, n ? n : 1, call);
}

int cs_client_flush(cs_client_t *c)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    int rc = s_send_queued(c);
    if (rc >= 0) {
        rc = s_drain(c);
    }
    return rc < 0 ? rc : CS_CLIENT_OK;
}

int cs_client_wait(cs_client_t *c, cs_client_call_t *call)
{
    if (!c || !call || (call->slot.state != CSC_DONE && call->c != c)) {
        return CS_CLIENT_EINVAL;
    }
    int rc = s_pump(c, call);
    return call->slot.state == CSC_DONE ? call->slot.status : rc;
}

int cs_client_wait_all(cs_client_t *c)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    return s_pump(c, NULL);
}

size_t cs_client_outstanding(const cs_client_t *c)
{
    if (!c) {
        return 0;
    }
    size_t n = c->items_in_flight;
    for (const cs_client_call_t *p = c->q_head; p; p = p->next) {
        n++;
    }
    return n;
}

int cs_client_set_coalesce(cs_client_t *c, unsigned max_calls)
{
    if (!c || max_calls == 0 || max_calls > S_MAX_COALESCE) {
        return CS_CLIENT_EINVAL;
    }
    c->coalesce = max_calls;
    return CS_CLIENT_OK;
}

bool cs_client_coalescing(const cs_client_t *c)
{
    return c && !c->no_batch && c->coalesce > 1;
}

bool cs_client_call_done(const cs_client_call_t *call)
{
    return call && call->slot.state == CSC_DONE;
}

int cs_client_call_status(const cs_client_call_t *call, const cs_client_error_t **err)
{
    if (err) {
        *err = call ? &call->slot.err : NULL;
    }
    if (!call) {
        return CS_CLIENT_EINVAL;
    }
    return call->slot.state == CSC_DONE ? call->slot.status : CS_CLIENT_ETIMEOUT;
}

const cs_client_lookup_t *cs_client_call_lookup(const cs_client_call_t *call)
{
    return call && call->slot.state == CSC_DONE && call->slot.status == CS_CLIENT_OK &&
                   call->req.op == CSC_OP_LOOKUP
               ? call->slot.result
               : NULL;
}

const cs_client_validation_t *cs_client_call_validation(const cs_client_call_t *call)
{
    return call && call->slot.state == CSC_DONE && call->slot.status == CS_CLIENT_OK &&
                   call->req.op == CSC_OP_VALIDATE
               ? call->slot.result
               : NULL;
}

void cs_client_call_destroy(cs_client_call_t **cp)
{
    if (!cp || !*cp) {
        return;
    }
    cs_client_call_t *call = *cp;
    if (call->slot.state == CSC_UNSENT) {
        s_queue_unlink(call->c, call);
    } else if (call->slot.state == CSC_SENT && call->msg) {
        call->msg->calls[call->item] = NULL; /* its reply will be dropped */
    }
    s_slot_clear(call);
    if (!call->req_inline) {
        free(call->req.pairs);
    }
    free(call);
    *cp = NULL;
}
