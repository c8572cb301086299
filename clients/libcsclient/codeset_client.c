/* codeset_client.c: the client handle, request encoding, the pipelined run with Lazy Pirate
 * retries, synchronous calls and batches (see codeset_client.h). */
#include "codeset_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>
#include <zmq.h>

#include "csc_decode.h"
#include "csc_internal.h"
#include "csc_zmtp.h"

#define S_DEFAULT_TIMEOUT_MS 2500
#define S_DEFAULT_TRIES 3
#define S_DEFAULT_WINDOW 256
#define S_DEFAULT_MAX_REPLY ((size_t)64 << 20)
#define CSC_DEFAULT_COALESCE 64

/* ---- growable byte buffer, the msgpack packer's sink ---- */


int csc_buf_write(void *data, const char *bytes, size_t n)
{
    csc_buf_t *b = data;
    if (b->failed) {
        return -1;
    }
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            cap *= 2;
        }
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = 1;
            return -1;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    return 0;
}

/* ---- requests ---- */



typedef struct s_builder {
    csc_buf_t buf;        /* the pairs */
    msgpack_packer pk;  /* writes into buf */
    uint32_t nkeys;     /* pairs so far */
} s_builder_t;

static void s_build_init(s_builder_t *b, const char *op)
{
    memset(b, 0, sizeof *b);
    msgpack_packer_init(&b->pk, &b->buf, csc_buf_write);
    msgpack_pack_str_with_body(&b->pk, "op", 2);
    msgpack_pack_str_with_body(&b->pk, op, strlen(op));
    b->nkeys = 1;
}

static void s_pack_cstr(s_builder_t *b, const char *s)
{
    msgpack_pack_str_with_body(&b->pk, s, strlen(s));
}

/* key: value, left out when value is NULL */
static void s_kv_str(s_builder_t *b, const char *key, const char *value)
{
    if (value) {
        s_pack_cstr(b, key);
        s_pack_cstr(b, value);
        b->nkeys++;
    }
}

static void s_kv_uint(s_builder_t *b, const char *key, uint64_t value)
{
    s_pack_cstr(b, key);
    msgpack_pack_uint64(&b->pk, value);
    b->nkeys++;
}

static void s_kv_when(s_builder_t *b, const cs_client_when_t *when)
{
    if (when) {
        s_kv_str(b, "release", when->release);
        s_kv_str(b, "date", when->date);
    }
}

/* Hand the built pairs to req, or free them on failure. */
static int s_build_done(s_builder_t *b, csc_op_t op, csc_req_t *req)
{
    if (b->buf.failed) {
        free(b->buf.data);
        return CS_CLIENT_ENOMEM;
    }
    req->op = op;
    req->pairs = b->buf.data;
    req->len = b->buf.len;
    req->nkeys = b->nkeys;
    return CS_CLIENT_OK;
}

static int s_build_ping(csc_req_t *req)
{
    s_builder_t b;
    s_build_init(&b, "ping");
    return s_build_done(&b, CSC_OP_PING, req);
}

/* A str header as msgpack_pack_str writes it (fixstr, str8, str16, str32) at p; its end. */
static unsigned char *s_put_str_head(unsigned char *p, size_t n)
{
    if (n < 32) {
        *p++ = (unsigned char)(0xa0u | n);
    } else if (n < 256) {
        *p++ = 0xd9;
        *p++ = (unsigned char)n;
    } else if (n < 65536) {
        *p++ = 0xda;
        *p++ = (unsigned char)(n >> 8);
        *p++ = (unsigned char)n;
    } else {
        *p++ = 0xdb;
        for (int i = 3; i >= 0; i--) {
            *p++ = (unsigned char)(n >> (8 * i));
        }
    }
    return p;
}

/* The plain lookup (no release, date or include), the one an application makes by the
 * hundred thousand: the bytes the packer would write, with no packer. */
static const char s_k_op[] = "\xa2op\xa6lookup\xa6system";
static const char s_k_code[] = "\xa4" "code";

size_t csc_plain_lookup_size(const char *system, const char *code)
{
    return sizeof s_k_op + sizeof s_k_code + 10 + strlen(system) + strlen(code);
}

void csc_plain_lookup_put(char *buf, const char *system, const char *code, csc_req_t *req)
{
    size_t sn = strlen(system), cn = strlen(code);
    unsigned char *p = (unsigned char *)buf;
    memcpy(p, s_k_op, sizeof s_k_op - 1);
    p = s_put_str_head(p + sizeof s_k_op - 1, sn);
    memcpy(p, system, sn);
    memcpy(p + sn, s_k_code, sizeof s_k_code - 1);
    p = s_put_str_head(p + sn + sizeof s_k_code - 1, cn);
    memcpy(p, code, cn);
    req->op = CSC_OP_LOOKUP;
    req->pairs = buf;
    req->len = (size_t)(p + cn - (unsigned char *)buf);
    req->nkeys = 3;
}

static int s_build_plain_lookup(csc_req_t *req, const char *system, const char *code)
{
    char *buf = malloc(csc_plain_lookup_size(system, code));
    if (!buf) {
        return CS_CLIENT_ENOMEM;
    }
    csc_plain_lookup_put(buf, system, code, req);
    return CS_CLIENT_OK;
}

int csc_build_lookup(csc_req_t *req, const char *system, const char *code, unsigned include,
                          const cs_client_when_t *when)
{
    if (!system || !code) {
        return CS_CLIENT_EINVAL;
    }
    if (!when && !(include & (CS_CLIENT_INCLUDE_NOTES | CS_CLIENT_INCLUDE_CHILDREN |
                              CS_CLIENT_INCLUDE_ANCESTORS))) {
        return s_build_plain_lookup(req, system, code);
    }
    s_builder_t b;
    s_build_init(&b, "lookup");
    s_kv_str(&b, "system", system);
    s_kv_str(&b, "code", code);
    s_kv_when(&b, when);
    static const struct {
        unsigned bit;
        const char *name;
    } parts[] = {{CS_CLIENT_INCLUDE_NOTES, "notes"},
                 {CS_CLIENT_INCLUDE_CHILDREN, "children"},
                 {CS_CLIENT_INCLUDE_ANCESTORS, "ancestors"}};
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        n += (include & parts[i].bit) ? 1 : 0;
    }
    if (n > 0) {
        s_pack_cstr(&b, "include");
        msgpack_pack_array(&b.pk, n);
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
            if (include & parts[i].bit) {
                s_pack_cstr(&b, parts[i].name);
            }
        }
        b.nkeys++;
    }
    return s_build_done(&b, CSC_OP_LOOKUP, req);
}

int csc_build_validate(csc_req_t *req, const char *system, const char *const *codes,
                            size_t n, const cs_client_when_t *when)
{
    if (!system || (n > 0 && !codes) || n > UINT32_MAX) {
        return CS_CLIENT_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!codes[i]) {
            return CS_CLIENT_EINVAL;
        }
    }
    s_builder_t b;
    s_build_init(&b, "validate");
    s_kv_str(&b, "system", system);
    s_kv_when(&b, when);
    s_pack_cstr(&b, "codes");
    msgpack_pack_array(&b.pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        s_pack_cstr(&b, codes[i]);
    }
    b.nkeys++;
    return s_build_done(&b, CSC_OP_VALIDATE, req);
}

static int s_build_search(csc_req_t *req, const char *system, const char *q,
                          const cs_client_search_opts_t *opts)
{
    if (!system || !q) {
        return CS_CLIENT_EINVAL;
    }
    s_builder_t b;
    s_build_init(&b, "search");
    s_kv_str(&b, "system", system);
    s_kv_str(&b, "q", q);
    if (opts) {
        s_kv_str(&b, "release", opts->release);
        s_kv_str(&b, "date", opts->date);
        if (opts->limit > 0) {
            s_kv_uint(&b, "limit", opts->limit);
        }
        if (opts->offset > 0) {
            s_kv_uint(&b, "offset", opts->offset);
        }
        if (opts->billable_only) {
            s_pack_cstr(&b, "billable_only");
            msgpack_pack_true(&b.pk);
            b.nkeys++;
        }
    }
    return s_build_done(&b, CSC_OP_SEARCH, req);
}

static int s_build_crosswalk(csc_req_t *req, const char *from, const char *to, const char *code,
                             const cs_client_crosswalk_opts_t *opts)
{
    if (!from || !to || !code) {
        return CS_CLIENT_EINVAL;
    }
    s_builder_t b;
    s_build_init(&b, "crosswalk");
    s_kv_str(&b, "from", from);
    s_kv_str(&b, "to", to);
    s_kv_str(&b, "code", code);
    if (opts) {
        s_kv_str(&b, "map", opts->map);
        s_kv_str(&b, "release", opts->release);
        s_kv_str(&b, "to_release", opts->to_release);
    }
    return s_build_done(&b, CSC_OP_CROSSWALK, req);
}

static int s_build_releases(csc_req_t *req, const char *system)
{
    s_builder_t b;
    s_build_init(&b, "releases");
    s_kv_str(&b, "system", system);
    return s_build_done(&b, CSC_OP_RELEASES, req);
}

/* The claim's keys (docs/PROTOCOL.md, claim). */
static int s_build_claim(csc_req_t *req, const cs_client_claim_t *cl)
{
    s_builder_t b;
    s_build_init(&b, "claim");
    s_kv_str(&b, "date", cl->date);
    s_kv_str(&b, "setting", cl->setting);
    if (cl->age >= 0 || cl->sex) {
        s_pack_cstr(&b, "patient");
        msgpack_pack_map(&b.pk, (cl->age >= 0) + (cl->sex != NULL));
        if (cl->age >= 0) {
            s_pack_cstr(&b, "age");
            msgpack_pack_int(&b.pk, cl->age);
        }
        if (cl->sex) {
            s_pack_cstr(&b, "sex");
            s_pack_cstr(&b, cl->sex);
        }
        b.nkeys++;
    }
    s_pack_cstr(&b, "diagnoses");
    msgpack_pack_array(&b.pk, cl->n_dx);
    for (size_t i = 0; i < cl->n_dx; i++) {
        msgpack_pack_map(&b.pk, 2);
        s_pack_cstr(&b, "code");
        s_pack_cstr(&b, cl->dx[i].code ? cl->dx[i].code : "");
        s_pack_cstr(&b, "poa");
        s_pack_cstr(&b, cl->dx[i].poa ? cl->dx[i].poa : "");
    }
    b.nkeys++;
    if (cl->n_px) {
        s_pack_cstr(&b, "procedures");
        msgpack_pack_array(&b.pk, cl->n_px);
        for (size_t i = 0; i < cl->n_px; i++) {
            const cs_client_claim_px_t *p = &cl->px[i];
            msgpack_pack_map(&b.pk, 4);
            s_pack_cstr(&b, "system");
            s_pack_cstr(&b, p->system ? p->system : "");
            s_pack_cstr(&b, "code");
            s_pack_cstr(&b, p->code ? p->code : "");
            s_pack_cstr(&b, "units");
            msgpack_pack_int64(&b.pk, p->units > 0 ? p->units : 1);
            s_pack_cstr(&b, "modifiers");
            msgpack_pack_array(&b.pk, p->n_modifiers);
            for (size_t m = 0; m < p->n_modifiers; m++) {
                s_pack_cstr(&b, p->modifiers[m] ? p->modifiers[m] : "");
            }
        }
        b.nkeys++;
    }
    return s_build_done(&b, CSC_OP_CLAIM, req);
}

/* ---- the outcome of one request in a run ---- */


void csc_slot_clear(csc_op_t op, csc_slot_t *s)
{
    switch (op) {
    case CSC_OP_LOOKUP: cs_client_lookup_destroy((cs_client_lookup_t **)&s->result); break;
    case CSC_OP_VALIDATE:
        cs_client_validation_destroy((cs_client_validation_t **)&s->result);
        break;
    case CSC_OP_SEARCH: cs_client_search_destroy((cs_client_search_t **)&s->result); break;
    case CSC_OP_CROSSWALK: cs_client_crosswalk_destroy((cs_client_crosswalk_t **)&s->result); break;
    case CSC_OP_RELEASES: cs_client_releases_destroy((cs_client_releases_t **)&s->result); break;
    case CSC_OP_CLAIM: cs_client_claim_destroy((cs_client_claim_result_t **)&s->result); break;
    case CSC_OP_PING: break;
    }
    memset(s, 0, sizeof *s);
}

void csc_slot_decode(csc_op_t op, const msgpack_object *reply, csc_slot_t *s)
{
    s->state = CSC_DONE;
    s->status = cs_client_decode_status(reply, &s->err);
    if (s->status != CS_CLIENT_OK) {
        return;
    }
    int rc = CS_CLIENT_OK;
    switch (op) {
    case CSC_OP_PING: rc = cs_client_decode_ping(reply, &s->ping); break;
    case CSC_OP_LOOKUP:
        rc = cs_client_decode_lookup(reply, (cs_client_lookup_t **)&s->result);
        break;
    case CSC_OP_VALIDATE:
        rc = cs_client_decode_validation(reply, (cs_client_validation_t **)&s->result);
        break;
    case CSC_OP_SEARCH:
        rc = cs_client_decode_search(reply, (cs_client_search_t **)&s->result);
        break;
    case CSC_OP_CROSSWALK:
        rc = cs_client_decode_crosswalk(reply, (cs_client_crosswalk_t **)&s->result);
        break;
    case CSC_OP_RELEASES:
        rc = cs_client_decode_releases(reply, (cs_client_releases_t **)&s->result);
        break;
    case CSC_OP_CLAIM:
        rc = cs_client_decode_claim(reply, (cs_client_claim_result_t **)&s->result);
        break;
    }
    if (rc != CS_CLIENT_OK) {
        s->status = rc;
        s->err.status = rc;
        snprintf(s->err.message, sizeof s->err.message, "%s",
                 rc == CS_CLIENT_ENOMEM ? "out of memory decoding the reply"
                                        : "the reply does not have the protocol's shape");
    }
}

/* ---- the client ---- */


const char *cs_client_strerror(int status)
{
    switch (status) {
    case CS_CLIENT_OK: return "success";
    case CS_CLIENT_ESERVER: return "the broker answered with an error";
    case CS_CLIENT_ETIMEOUT: return "no reply from any broker (timed out)";
    case CS_CLIENT_EINVAL: return "invalid argument";
    case CS_CLIENT_ENOMEM: return "out of memory";
    case CS_CLIENT_EIO: return "ZeroMQ failure";
    case CS_CLIENT_EPROTO: return "malformed reply";
    default: return "unknown status";
    }
}

int csc_wait(cs_client_t *c, int blocked, int64_t deadline)
{
    int64_t wait = deadline - csc_now_ms();
    zmq_pollitem_t item = {.socket = c->sock,
                           .events = (short)(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0))};
    int pr = zmq_poll(&item, 1, wait > 0 ? (long)wait : 0);
    if (pr < 0 && errno != EINTR) {
        return csc_fail(&c->last, CS_CLIENT_EIO, "cannot poll: %s", zmq_strerror(errno));
    }
    return pr > 0 && (item.revents & ZMQ_POLLIN);
}

int csc_fail(cs_client_error_t *err, int status, const char *fmt, ...)
{
    if (err) {
        memset(err, 0, sizeof *err);
        err->status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

int64_t csc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fresh DEALER connected to every endpoint. ZMQ_IMMEDIATE keeps requests off endpoints whose
 * connection is not up, so one dead broker does not swallow a share of them. */
int csc_open(cs_client_t *c, cs_client_error_t *err)
{
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    if (!c->sock) {
        return csc_fail(err, CS_CLIENT_EIO, "cannot create a DEALER socket: %s",
                      zmq_strerror(errno));
    }
    int linger = 0, immediate = 1;
    int64_t maxmsg = c->max_reply > INT64_MAX ? INT64_MAX : (int64_t)c->max_reply;
    if (zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &immediate, sizeof immediate) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        int e = errno;
        zmq_close(c->sock);
        c->sock = NULL;
        return csc_fail(err, CS_CLIENT_EIO, "cannot set socket options: %s", zmq_strerror(e));
    }
    for (size_t i = 0; i < c->n_endpoints; i++) {
        if (zmq_connect(c->sock, c->endpoints[i]) != 0) {
            int e = errno;
            zmq_close(c->sock);
            c->sock = NULL;
            return csc_fail(err, CS_CLIENT_EINVAL, "cannot connect to %s: %s", c->endpoints[i],
                          zmq_strerror(e));
        }
    }
    csc_async_reopened(c); /* what went out on the old socket is sent again on this one */
    return CS_CLIENT_OK;
}

/* cs_client_opts_t.spin_us in ns: -1 none, 0 the default given (us), else as set. */
static uint64_t s_spin_ns(int spin_us, int default_us)
{
    return 1000u * (uint64_t)(spin_us < 0 ? 0 : spin_us ? spin_us : default_us);
}

cs_client_t *cs_client_new(const char *const *endpoints, size_t n, const cs_client_opts_t *opts,
                           cs_client_error_t *err)
{
    if (!endpoints || n == 0) {
        csc_fail(err, CS_CLIENT_EINVAL, "no endpoint given");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!endpoints[i] || !endpoints[i][0]) {
            csc_fail(err, CS_CLIENT_EINVAL, "endpoint %zu is empty", i);
            return NULL;
        }
    }
    cs_client_t *c = calloc(1, sizeof *c);
    if (!c || !(c->endpoints = calloc(n, sizeof *c->endpoints))) {
        free(c);
        csc_fail(err, CS_CLIENT_ENOMEM, "out of memory creating a client");
        return NULL;
    }
    c->n_endpoints = n;
    cs_client_opts_t o = {0};
    if (opts) {
        o = *opts;
    }
    c->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : S_DEFAULT_TIMEOUT_MS;
    c->tries = o.tries > 0 ? o.tries : S_DEFAULT_TRIES;
    c->spin_ns = s_spin_ns(o.spin_us, CS_CLIENT_SPIN_US);
    c->async_spin_ns = s_spin_ns(o.spin_us, CS_CLIENT_ASYNC_SPIN_US);
    c->window = o.window > 0 ? o.window : S_DEFAULT_WINDOW;
    c->max_reply = o.max_reply > 0 ? o.max_reply : S_DEFAULT_MAX_REPLY;
    c->next_id = 1;
    c->coalesce = CSC_DEFAULT_COALESCE;
    c->zfd = -1;
    c->direct = !o.via_zmq && n == 1 && csc_zmtp_usable(endpoints[0]);
    for (size_t i = 0; i < n; i++) {
        if (!(c->endpoints[i] = strdup(endpoints[i]))) {
            csc_fail(err, CS_CLIENT_ENOMEM, "out of memory creating a client");
            goto fail;
        }
    }
    if (o.zmq_ctx) {
        c->ctx = o.zmq_ctx;
    } else {
        c->ctx = zmq_ctx_new();
        c->own_ctx = 1;
        if (!c->ctx) {
            csc_fail(err, CS_CLIENT_EIO, "cannot create a ZeroMQ context: %s",
                   zmq_strerror(errno));
            goto fail;
        }
    }
    if (csc_open(c, err) != CS_CLIENT_OK) {
        goto fail;
    }
    return c;
fail:
    cs_client_destroy(&c);
    return NULL;
}

void cs_client_destroy(cs_client_t **cp)
{
    if (!cp || !*cp) {
        return;
    }
    cs_client_t *c = *cp;
    csc_async_close(c);
    if (c->sock) {
        zmq_close(c->sock);
    }
    if (c->own_ctx && c->ctx) {
        zmq_ctx_term(c->ctx);
    }
    for (size_t i = 0; c->endpoints && i < c->n_endpoints; i++) {
        free(c->endpoints[i]);
    }
    free(c->endpoints);
    free(c->frame.data);
    if (c->zfd >= 0) {
        close(c->zfd);
    }
    free(c->zbody.data);
    free(c);
    *cp = NULL;
}

const cs_client_error_t *cs_client_last_error(const cs_client_t *c)
{
    static const cs_client_error_t no_client = {CS_CLIENT_EINVAL, "", "the client is NULL"};
    return c ? &c->last : &no_client;
}

uint64_t cs_client_reconnects(const cs_client_t *c)
{
    return c ? c->reconnects : 0;
}

/* ---- the run: send, collect by id, reconnect and resend on timeout ---- */

/* req with its id, in c->frame. 0, or CS_CLIENT_ENOMEM (c->last filled). */
static int s_encode(cs_client_t *c, const csc_req_t *req, uint64_t id)
{
    csc_buf_t *f = &c->frame;
    f->len = 0;
    f->failed = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, f, csc_buf_write);
    msgpack_pack_map(&pk, req->nkeys + 1);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_uint64(&pk, id);
    csc_buf_write(f, req->pairs, req->len);
    if (f->failed) {
        return csc_fail(&c->last, CS_CLIENT_ENOMEM, "out of memory encoding a request");
    }
    return 0;
}

int csc_encode(cs_client_t *c, const csc_req_t *req, uint64_t id)
{
    return s_encode(c, req, id);
}

int csc_send(cs_client_t *c, const csc_req_t *req, uint64_t id)
{
    int rc = s_encode(c, req, id);
    if (rc != 0) {
        return rc;
    }
    csc_buf_t *f = &c->frame;
    if (zmq_send(c->sock, f->data, f->len, ZMQ_DONTWAIT) < 0) {
        if (errno == EAGAIN) {
            return 1;
        }
        if (errno == EINTR) {
            return 1;
        }
        return csc_fail(&c->last, CS_CLIENT_EIO, "cannot send a request: %s",
                      zmq_strerror(errno));
    }
    return 0;
}

/* The id of a reply, or 0 when it has none that could be ours. */
uint64_t csc_reply_id(const msgpack_object *reply)
{
    const msgpack_object *id = cs_client_obj_get(reply, "id");
    return id && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? id->via.u64 : 0;
}

/* A reply body decoded into u (1; the caller destroys u), or 0 for garbage, which cannot be
 * matched to a request and is dropped. */
static int s_unpack(const void *data, size_t len, msgpack_unpacked *u)
{
    size_t off = 0;
    if (cs_client_prescan(data, len) != 0) {
        return 0;
    }
    msgpack_unpacked_init(u);
    if (msgpack_unpack_next(u, data, len, &off) == MSGPACK_UNPACK_SUCCESS &&
        u->data.type == MSGPACK_OBJECT_MAP) {
        return 1;
    }
    msgpack_unpacked_destroy(u);
    return 0;
}

int csc_recv_frame(cs_client_t *c, zmq_msg_t *frame)
{
    zmq_msg_init(frame);
    if (zmq_msg_recv(frame, c->sock, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(frame);
        if (e == EAGAIN || e == EINTR) {
            return 0;
        }
        return csc_fail(&c->last, CS_CLIENT_EIO, "cannot receive: %s", zmq_strerror(e));
    }
    /* The body is the last frame; any frames before it are an envelope we did not send (a
     * DEALER's replies have none), so they are skipped. */
    while (zmq_msg_more(frame)) {
        zmq_msg_close(frame);
        zmq_msg_init(frame);
        if (zmq_msg_recv(frame, c->sock, 0) < 0) {
            int e = errno;
            zmq_msg_close(frame);
            return csc_fail(&c->last, CS_CLIENT_EIO, "cannot receive: %s", zmq_strerror(e));
        }
    }
    return 1;
}

int csc_unpack(const void *data, size_t len, msgpack_unpacked *u)
{
    return s_unpack(data, len, u);
}

int csc_recv(cs_client_t *c, zmq_msg_t *frame, msgpack_unpacked *u)
{
    int rc;
    while ((rc = csc_recv_frame(c, frame)) == 1) {
        if (csc_unpack(zmq_msg_data(frame), zmq_msg_size(frame), u)) {
            return 1;
        }
        zmq_msg_close(frame);
    }
    return rc;
}

/* Take every reply waiting on the socket; decode those that answer a request of this run that
 * is not answered yet (and hand the asynchronous calls theirs). Returns the number of such
 * replies, or a negative status. */
static int s_drain(cs_client_t *c, const csc_req_t *reqs, csc_slot_t *slots, size_t n,
                   uint64_t base, size_t *in_flight)
{
    int matched = 0;
    zmq_msg_t frame;
    msgpack_unpacked u;
    int rc;
    while ((rc = csc_recv(c, &frame, &u)) == 1) {
        uint64_t id = csc_reply_id(&u.data);
        size_t i = n;
        if (id >= base && id - base < n) {
            i = (size_t)(id - base);
        } else if (id == 0 && n == 1) {
            i = 0; /* a broker that could not read our id still answers the one request */
        }
        if (i < n && slots[i].state != CSC_DONE) {
            if (slots[i].state == CSC_SENT) {
                (*in_flight)--;
            }
            csc_slot_decode(reqs[i].op, &u.data, &slots[i]);
            matched++;
        } else if (i == n) {
            (void)csc_async_reply(c, id, &u.data); /* an asynchronous call's: not lost */
        }
        msgpack_unpacked_destroy(&u);
        zmq_msg_close(&frame);
    }
    return rc < 0 ? rc : matched;
}

static uint64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Look for replies without sleeping for up to c->spin_ns: a reply that comes meanwhile saves
 * the wake-up of a sleep in zmq_poll. As s_drain; 0 when none came. */
static int s_spin(cs_client_t *c, const csc_req_t *reqs, csc_slot_t *slots, size_t n,
                  uint64_t base, size_t *in_flight)
{
    uint64_t end = s_now_ns() + c->spin_ns;
    do {
        int got = s_drain(c, reqs, slots, n, base, in_flight);
        if (got != 0) {
            return got;
        }
        sched_yield(); /* the I/O thread that brings the reply may be waiting for this CPU */
    } while (s_now_ns() < end);
    return 0;
}

static int s_timed_out(cs_client_t *c, size_t left, size_t n)
{
    return csc_fail(&c->last, CS_CLIENT_ETIMEOUT,
                    "%zu of %zu requests got no reply after %d tries of %d ms", left, n,
                    c->tries, c->timeout_ms);
}

/* What s_direct returns when the request is to go through the ZeroMQ socket instead. */
#define S_VIA_ZMQ 1
/* How long after a failed connect the own connection is tried again. */
#define S_RETRY_MS 1000

static void s_direct_close(cs_client_t *c)
{
    close(c->zfd);
    c->zfd = -1;
    csc_async_direct_lost(c); /* what asynchronous calls sent on it goes again */
}

int csc_direct_open(cs_client_t *c, int64_t deadline)
{
    if (c->zfd >= 0) {
        return 0;
    }
    /* a broker that is down, or no plain ZMTP peer (CURVE): the socket serves meanwhile, and
     * the connection is tried again a second later */
    int64_t now = csc_now_ms();
    if (!c->direct || now < c->z_retry_ms ||
        (c->zfd = csc_zmtp_connect(c->endpoints[0], deadline)) < 0) {
        c->z_retry_ms = now < c->z_retry_ms ? c->z_retry_ms : now + S_RETRY_MS;
        return -1;
    }
    return 0;
}

void csc_direct_close(cs_client_t *c)
{
    s_direct_close(c);
}

/* One request over the client's own ZMTP connection (csc_zmtp.h), connected first when there
 * is none. CS_CLIENT_OK once answered (slot decoded), S_VIA_ZMQ when the request is to go
 * through the ZeroMQ socket instead (no connection could be made, or it broke, or the reply
 * did not come in time: *timeouts counts that, and the connection is given up, as the
 * ZeroMQ socket would be), or a negative status. */
static int s_direct(cs_client_t *c, const csc_req_t *req, csc_slot_t *slot, uint64_t id,
                    int *timeouts)
{
    int64_t deadline = csc_now_ms() + c->timeout_ms;
    if (csc_direct_open(c, deadline) != 0) {
        return S_VIA_ZMQ;
    }
    int rc = s_encode(c, req, id);
    if (rc != 0) {
        return rc;
    }
    if (csc_zmtp_send(c->zfd, c->frame.data, c->frame.len, deadline) != 0) {
        s_direct_close(c);
        return S_VIA_ZMQ;
    }
    for (;;) {
        int got = csc_zmtp_recv(c->zfd, &c->zbody, c->max_reply, deadline, c->spin_ns);
        if (got <= 0) {
            s_direct_close(c);
            if (got == 0) {
                (*timeouts)++;
                c->reconnects++;
            }
            return S_VIA_ZMQ;
        }
        msgpack_unpacked u;
        if (!s_unpack(c->zbody.data, c->zbody.len, &u)) {
            continue;
        }
        uint64_t rid = csc_reply_id(&u.data);
        if (rid == id || rid == 0) { /* 0: a broker that could not read our id */
            csc_slot_decode(req->op, &u.data, slot);
            msgpack_unpacked_destroy(&u);
            return CS_CLIENT_OK;
        }
        csc_async_reply(c, rid, &u.data); /* an asynchronous call's, or else dropped */
        msgpack_unpacked_destroy(&u);
    }
}

static int s_run(cs_client_t *c, const csc_req_t *reqs, csc_slot_t *slots, size_t n)
{
    memset(&c->last, 0, sizeof c->last);
    for (size_t i = 0; i < n; i++) {
        slots[i].state = CSC_UNSENT;
        slots[i].status = CS_CLIENT_ETIMEOUT;
    }
    uint64_t base = c->next_id;
    c->next_id += n;
    size_t done = 0, cursor = 0, in_flight = 0;
    int timeouts = 0;
    if (n == 1 && c->direct) {
        int rc = s_direct(c, reqs, slots, base, &timeouts);
        if (rc != S_VIA_ZMQ) {
            return rc;
        }
        if (timeouts >= c->tries) {
            return s_timed_out(c, 1, 1);
        }
    }
    int64_t deadline = csc_now_ms() + c->timeout_ms;
    while (done < n) {
        if (!c->sock) {
            int rc = csc_open(c, &c->last);
            if (rc != CS_CLIENT_OK) {
                return rc;
            }
        }
        int blocked = 0;
        while (in_flight < c->window && cursor < n) {
            if (slots[cursor].state != CSC_UNSENT) {
                cursor++;
                continue;
            }
            int rc = csc_send(c, &reqs[cursor], base + cursor);
            if (rc < 0) {
                return rc;
            }
            if (rc == 1) {
                blocked = 1;
                break;
            }
            slots[cursor].state = CSC_SENT;
            in_flight++;
            cursor++;
        }
        int got = !blocked && in_flight > 0 && c->spin_ns
                      ? s_spin(c, reqs, slots, n, base, &in_flight)
                      : 0;
        if (got == 0) {
            int w = csc_wait(c, blocked, deadline);
            if (w < 0) {
                return w;
            }
            if (w > 0) {
                got = s_drain(c, reqs, slots, n, base, &in_flight);
            }
        }
        if (got < 0) {
            return got;
        }
        if (got > 0) {
            done += (size_t)got;
            timeouts = 0;
            deadline = csc_now_ms() + c->timeout_ms;
        }
        if (done < n && csc_now_ms() >= deadline) {
            /* Lazy Pirate: a reply may be lost for good (a broker died holding it), and the
             * socket may still hold requests queued for a peer that is gone. Start over on a
             * fresh socket and resend whatever is unanswered. */
            zmq_close(c->sock);
            c->sock = NULL;
            c->reconnects++;
            if (++timeouts >= c->tries) {
                return s_timed_out(c, n - done, n);
            }
            for (size_t i = 0; i < n; i++) {
                if (slots[i].state == CSC_SENT) {
                    slots[i].state = CSC_UNSENT;
                }
            }
            in_flight = 0;
            cursor = 0;
            deadline = csc_now_ms() + c->timeout_ms;
        }
    }
    return CS_CLIENT_OK;
}

/* One request, synchronously: run it, and leave the failure in c->last. */
static int s_call(cs_client_t *c, csc_req_t *req, int build_rc, csc_slot_t *slot)
{
    memset(slot, 0, sizeof *slot);
    if (build_rc != CS_CLIENT_OK) {
        return csc_fail(&c->last, build_rc, "%s", build_rc == CS_CLIENT_EINVAL
                                                    ? "a required argument is NULL"
                                                    : "out of memory encoding a request");
    }
    int rc = s_run(c, req, slot, 1);
    free(req->pairs);
    req->pairs = NULL;
    if (rc != CS_CLIENT_OK) {
        csc_slot_clear(req->op, slot);
        return rc;
    }
    if (slot->status != CS_CLIENT_OK) {
        c->last = slot->err;
        rc = slot->status;
        csc_slot_clear(req->op, slot);
    }
    return rc;
}

/* ---- synchronous calls ---- */

int cs_client_ping(cs_client_t *c, cs_client_ping_t *out)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    csc_req_t req = {0};
    csc_slot_t slot;
    int rc = s_call(c, &req, s_build_ping(&req), &slot);
    if (rc == CS_CLIENT_OK && out) {
        *out = slot.ping;
    }
    return rc;
}

/* Shared tail of the calls with an owned result. */
static int s_call_result(cs_client_t *c, csc_req_t *req, int build_rc, void **out)
{
    csc_slot_t slot;
    *out = NULL;
    int rc = s_call(c, req, build_rc, &slot);
    if (rc == CS_CLIENT_OK) {
        *out = slot.result;
    }
    return rc;
}

int cs_client_lookup(cs_client_t *c, const char *system, const char *code, unsigned include,
                     const cs_client_when_t *when, cs_client_lookup_t **out)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    if (!out) {
        return csc_fail(&c->last, CS_CLIENT_EINVAL, "out is NULL");
    }
    csc_req_t req = {0};
    int b = csc_build_lookup(&req, system, code, include, when);
    return s_call_result(c, &req, b, (void **)out);
}

int cs_client_validate(cs_client_t *c, const char *system, const char *const *codes, size_t n,
                       const cs_client_when_t *when, cs_client_validation_t **out)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    if (!out) {
        return csc_fail(&c->last, CS_CLIENT_EINVAL, "out is NULL");
    }
    csc_req_t req = {0};
    int b = csc_build_validate(&req, system, codes, n, when);
    return s_call_result(c, &req, b, (void **)out);
}

int cs_client_search(cs_client_t *c, const char *system, const char *q,
                     const cs_client_search_opts_t *opts, cs_client_search_t **out)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    if (!out) {
        return csc_fail(&c->last, CS_CLIENT_EINVAL, "out is NULL");
    }
    csc_req_t req = {0};
    int b = s_build_search(&req, system, q, opts);
    return s_call_result(c, &req, b, (void **)out);
}

int cs_client_crosswalk(cs_client_t *c, const char *from, const char *to, const char *code,
                        const cs_client_crosswalk_opts_t *opts, cs_client_crosswalk_t **out)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    if (!out) {
        return csc_fail(&c->last, CS_CLIENT_EINVAL, "out is NULL");
    }
    csc_req_t req = {0};
    int b = s_build_crosswalk(&req, from, to, code, opts);
    return s_call_result(c, &req, b, (void **)out);
}

int cs_client_releases(cs_client_t *c, const char *system, cs_client_releases_t **out)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    if (!out) {
        return csc_fail(&c->last, CS_CLIENT_EINVAL, "out is NULL");
    }
    csc_req_t req = {0};
    int b = s_build_releases(&req, system);
    return s_call_result(c, &req, b, (void **)out);
}

/* ---- result destructors: a result lives in its own arena ---- */

#define S_DESTROY(type, fn)                                                                  \
    void fn(type **r)                                                                        \
    {                                                                                        \
        if (r && *r) {                                                                       \
            cs_client_arena_t *a = (*r)->arena;                                              \
            cs_client_arena_destroy(&a);                                                     \
            *r = NULL;                                                                       \
        }                                                                                    \
    }

S_DESTROY(cs_client_lookup_t, cs_client_lookup_destroy)
S_DESTROY(cs_client_validation_t, cs_client_validation_destroy)
S_DESTROY(cs_client_search_t, cs_client_search_destroy)
S_DESTROY(cs_client_crosswalk_t, cs_client_crosswalk_destroy)
S_DESTROY(cs_client_releases_t, cs_client_releases_destroy)
S_DESTROY(cs_client_claim_result_t, cs_client_claim_destroy)

int cs_client_claim(cs_client_t *c, const cs_client_claim_t *claim,
                    cs_client_claim_result_t **out)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    if (!out || !claim || !claim->date || (claim->n_dx && !claim->dx) ||
        (claim->n_px && !claim->px)) {
        return csc_fail(&c->last, CS_CLIENT_EINVAL, "out, claim, its date or a list is NULL");
    }
    csc_req_t req = {0};
    int b = s_build_claim(&req, claim);
    return s_call_result(c, &req, b, (void **)out);
}

/* ---- batches ---- */

struct cs_client_batch {
    csc_req_t *reqs;    /* requests, in add order */
    size_t n;         /* requests added */
    size_t cap;       /* entries allocated in reqs */
    csc_slot_t *slots;  /* outcomes of the last run (n_slots entries), or NULL */
    size_t n_slots;   /* requests the last run covered */
    size_t answered;  /* replies the last run got */
};

cs_client_batch_t *cs_client_batch_new(void)
{
    return calloc(1, sizeof(cs_client_batch_t));
}

static void s_batch_clear_slots(cs_client_batch_t *b)
{
    for (size_t i = 0; b->slots && i < b->n_slots; i++) {
        csc_slot_clear(b->reqs[i].op, &b->slots[i]);
    }
    free(b->slots);
    b->slots = NULL;
    b->n_slots = 0;
    b->answered = 0;
}

void cs_client_batch_destroy(cs_client_batch_t **bp)
{
    if (!bp || !*bp) {
        return;
    }
    cs_client_batch_t *b = *bp;
    s_batch_clear_slots(b);
    for (size_t i = 0; i < b->n; i++) {
        free(b->reqs[i].pairs);
    }
    free(b->reqs);
    free(b);
    *bp = NULL;
}

size_t cs_client_batch_size(const cs_client_batch_t *b)
{
    return b ? b->n : 0;
}

static int s_batch_add(cs_client_batch_t *b, csc_req_t *req, int build_rc, size_t *index)
{
    if (build_rc != CS_CLIENT_OK) {
        return build_rc;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        csc_req_t *p = realloc(b->reqs, cap * sizeof *p);
        if (!p) {
            free(req->pairs);
            return CS_CLIENT_ENOMEM;
        }
        b->reqs = p;
        b->cap = cap;
    }
    if (index) {
        *index = b->n;
    }
    b->reqs[b->n++] = *req;
    return CS_CLIENT_OK;
}

int cs_client_batch_add_ping(cs_client_batch_t *b, size_t *index)
{
    if (!b) {
        return CS_CLIENT_EINVAL;
    }
    csc_req_t req = {0};
    return s_batch_add(b, &req, s_build_ping(&req), index);
}

int cs_client_batch_add_lookup(cs_client_batch_t *b, const char *system, const char *code,
                               unsigned include, const cs_client_when_t *when, size_t *index)
{
    if (!b) {
        return CS_CLIENT_EINVAL;
    }
    csc_req_t req = {0};
    return s_batch_add(b, &req, csc_build_lookup(&req, system, code, include, when), index);
}

int cs_client_batch_add_validate(cs_client_batch_t *b, const char *system,
                                 const char *const *codes, size_t n,
                                 const cs_client_when_t *when, size_t *index)
{
    if (!b) {
        return CS_CLIENT_EINVAL;
    }
    csc_req_t req = {0};
    return s_batch_add(b, &req, csc_build_validate(&req, system, codes, n, when), index);
}

int cs_client_batch_add_search(cs_client_batch_t *b, const char *system, const char *q,
                               const cs_client_search_opts_t *opts, size_t *index)
{
    if (!b) {
        return CS_CLIENT_EINVAL;
    }
    csc_req_t req = {0};
    return s_batch_add(b, &req, s_build_search(&req, system, q, opts), index);
}

int cs_client_batch_add_crosswalk(cs_client_batch_t *b, const char *from, const char *to,
                                  const char *code, const cs_client_crosswalk_opts_t *opts,
                                  size_t *index)
{
    if (!b) {
        return CS_CLIENT_EINVAL;
    }
    csc_req_t req = {0};
    return s_batch_add(b, &req, s_build_crosswalk(&req, from, to, code, opts), index);
}

int cs_client_batch_add_releases(cs_client_batch_t *b, const char *system, size_t *index)
{
    if (!b) {
        return CS_CLIENT_EINVAL;
    }
    csc_req_t req = {0};
    return s_batch_add(b, &req, s_build_releases(&req, system), index);
}

int cs_client_batch_run(cs_client_t *c, cs_client_batch_t *b)
{
    if (!c) {
        return CS_CLIENT_EINVAL;
    }
    if (!b) {
        return csc_fail(&c->last, CS_CLIENT_EINVAL, "batch is NULL");
    }
    s_batch_clear_slots(b);
    if (b->n == 0) {
        memset(&c->last, 0, sizeof c->last);
        return CS_CLIENT_OK;
    }
    b->slots = calloc(b->n, sizeof *b->slots);
    if (!b->slots) {
        return csc_fail(&c->last, CS_CLIENT_ENOMEM, "out of memory for %zu replies", b->n);
    }
    b->n_slots = b->n;
    int rc = s_run(c, b->reqs, b->slots, b->n);
    for (size_t i = 0; i < b->n; i++) {
        csc_slot_t *s = &b->slots[i];
        if (s->state == CSC_DONE) {
            b->answered++;
        } else {
            s->status = rc == CS_CLIENT_OK ? CS_CLIENT_ETIMEOUT : rc;
            s->err = c->last;
        }
    }
    return rc;
}

size_t cs_client_batch_answered(const cs_client_batch_t *b)
{
    return b ? b->answered : 0;
}

int cs_client_batch_status(const cs_client_batch_t *b, size_t i, const cs_client_error_t **err)
{
    if (err) {
        *err = NULL;
    }
    if (!b || !b->slots || i >= b->n_slots) {
        return CS_CLIENT_EINVAL;
    }
    if (err) {
        *err = &b->slots[i].err;
    }
    return b->slots[i].status;
}

/* The slot of request i when it succeeded and is of op, else NULL. */
static const csc_slot_t *s_batch_ok(const cs_client_batch_t *b, size_t i, csc_op_t op)
{
    if (!b || !b->slots || i >= b->n_slots || b->reqs[i].op != op ||
        b->slots[i].status != CS_CLIENT_OK) {
        return NULL;
    }
    return &b->slots[i];
}

const cs_client_ping_t *cs_client_batch_ping(const cs_client_batch_t *b, size_t i)
{
    const csc_slot_t *s = s_batch_ok(b, i, CSC_OP_PING);
    return s ? &s->ping : NULL;
}

const cs_client_lookup_t *cs_client_batch_lookup(const cs_client_batch_t *b, size_t i)
{
    const csc_slot_t *s = s_batch_ok(b, i, CSC_OP_LOOKUP);
    return s ? s->result : NULL;
}

const cs_client_validation_t *cs_client_batch_validation(const cs_client_batch_t *b, size_t i)
{
    const csc_slot_t *s = s_batch_ok(b, i, CSC_OP_VALIDATE);
    return s ? s->result : NULL;
}

const cs_client_search_t *cs_client_batch_search(const cs_client_batch_t *b, size_t i)
{
    const csc_slot_t *s = s_batch_ok(b, i, CSC_OP_SEARCH);
    return s ? s->result : NULL;
}

const cs_client_crosswalk_t *cs_client_batch_crosswalk(const cs_client_batch_t *b, size_t i)
{
    const csc_slot_t *s = s_batch_ok(b, i, CSC_OP_CROSSWALK);
    return s ? s->result : NULL;
}

const cs_client_releases_t *cs_client_batch_releases(const cs_client_batch_t *b, size_t i)
{
    const csc_slot_t *s = s_batch_ok(b, i, CSC_OP_RELEASES);
    return s ? s->result : NULL;
}
