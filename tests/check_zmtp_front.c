/* check_zmtp_front.c: codesetd --front direct, the query endpoint served by the broker's own
 * thread (core/broker/cs_zmtp_front.h), against real codesetd processes on real LMDB
 * directories. Every reply is compared byte for byte, envelope included, with the one a
 * broker of the ZeroMQ front gives the same request (REQ, pipelining DEALER, libcsclient on
 * its own ZMTP connection and on its ZeroMQ socket, a slow op answered by the workers).
 * Hostile peers (garbage, ZMTP 2, another mechanism or socket type, oversized frames, too
 * many frames, a command mid-message, a stall, a peer that never reads, the connection cap,
 * an unfinished handshake) are refused or bounded while other clients are served. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "codeset_client.h"
#include "cs_daemon.h"
#include "cs_test.h"
#include "wire/cs_zmtp.h"

#define T_TIMEOUT 5000

/* A broker with extra options, the sample release "S" loaded. front: "zmq" or "direct". */
static void s_start(cs_daemon_t *d, const char *front, const char *const *more)
{
    const char *args[16] = {"--front", front};
    int n = 2;
    for (int i = 0; more && more[i] && n < 15; i++) {
        args[n++] = more[i];
    }
    args[n] = NULL;
    cs_daemon_start_sample(d, args);
}

static void s_stop(cs_daemon_t *d)
{
    ck_assert_int_eq(cs_daemon_stop(d), 0);
    cs_daemon_cleanup(d);
}

/* Begin a request of pairs keys into sb: {op: op, and system: icd10cm when pairs > 1}. */
static void s_pack_head(msgpack_sbuffer *sb, msgpack_packer *pk, uint32_t pairs, const char *op)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(pk, pairs);
    cs_tpack_kv(pk, "op", op);
    if (pairs > 1) {
        cs_tpack_kv(pk, "system", "icd10cm");
    }
}

/* A request: {op: op, system: icd10cm, code: code} (code NULL: {op: op} only). */
static void s_pack(msgpack_sbuffer *sb, const char *op, const char *code)
{
    msgpack_packer pk;
    s_pack_head(sb, &pk, code ? 3 : 1, op);
    if (code) {
        cs_tpack_kv(&pk, "code", code);
    }
}

/* A search the workers answer. */
static void s_pack_search(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    s_pack_head(sb, &pk, 3, "search");
    cs_tpack_kv(&pk, "q", "cholera");
}

static const char *const s_codes[] = {"E11.9", "E119", "A00", "A00.0", "E11", "Z99.99", ""};

/* ---- ZeroMQ DEALER peers ---- */

static void *s_dealer(void *ctx, const char *ep)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, to = T_TIMEOUT;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &to, sizeof to);
    ck_assert_int_eq(zmq_connect(s, ep), 0);
    return s;
}

/* Send n frames (the last without MORE). */
static void s_send_frames(void *s, const void *const *data, const size_t *len, int n)
{
    for (int i = 0; i < n; i++) {
        ck_assert_int_ge(zmq_send(s, data[i], len[i], i < n - 1 ? ZMQ_SNDMORE : 0), 0);
    }
}

/* Receive a whole message, its frames joined as [u32 length][bytes]... into sb. */
static int s_recv_joined(void *s, msgpack_sbuffer *sb)
{
    int more = 1, n = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0) {
            zmq_msg_close(&m);
            return 0;
        }
        uint32_t l = (uint32_t)zmq_msg_size(&m);
        msgpack_sbuffer_write(sb, (const char *)&l, sizeof l);
        msgpack_sbuffer_write(sb, zmq_msg_data(&m), l);
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        n++;
    }
    return n;
}

/* The same frames to a and b: both replies, every frame, byte for byte the same. */
static void s_same_reply(void *a, void *b, const void *const *data, const size_t *len, int n,
                         const char *what)
{
    s_send_frames(a, data, len, n);
    s_send_frames(b, data, len, n);
    msgpack_sbuffer ra, rb;
    msgpack_sbuffer_init(&ra);
    msgpack_sbuffer_init(&rb);
    ck_assert_msg(s_recv_joined(a, &ra) > 0, "%s: no reply from the zmq front", what);
    ck_assert_msg(s_recv_joined(b, &rb) > 0, "%s: no reply from the direct front", what);
    ck_assert_msg(ra.size == rb.size && memcmp(ra.data, rb.data, ra.size) == 0,
                  "%s: the replies differ (%zu and %zu bytes)", what, ra.size, rb.size);
    msgpack_sbuffer_destroy(&ra);
    msgpack_sbuffer_destroy(&rb);
}

/* ---- raw stream peers ---- */

/* A stream connection to an ipc:// endpoint, receives timing out after 3 s. */
static int s_raw(const char *ep)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s", ep + 6);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&un, sizeof un), 0);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void s_write_all(int fd, const void *p, size_t n)
{
    ck_assert_int_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Read exactly n bytes: 1, 0 at the end of the stream, -1 timed out or failed. */
static int s_read_n(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
        if (r == 0) {
            return 0;
        }
        if (r < 0) {
            return -1;
        }
        got += (size_t)r;
    }
    return 1;
}

/* 1 when the broker ends the stream within 3 s (what it sends before is skipped). */
static int s_closed(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            return 1;
        }
        if (r < 0) {
            return 0;
        }
    }
}

/* Read one frame: its flags, body into buf (cap), *len. 1, or 0 when the stream ended. */
static int s_read_frame(int fd, uint8_t *flags, uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t h[9];
    if (s_read_n(fd, h, 2) != 1) {
        return 0;
    }
    uint64_t size = h[1];
    if (h[0] & CS_ZMTP_LONG) {
        ck_assert_int_eq(s_read_n(fd, h + 2, 7), 1);
        size = 0;
        for (int i = 1; i < 9; i++) {
            size = size << 8 | h[i];
        }
    }
    ck_assert_uint_le(size, cap);
    *flags = h[0];
    *len = (size_t)size;
    return size == 0 || s_read_n(fd, buf, (size_t)size) == 1;
}

static void s_put_frame(int fd, int flags, const void *p, size_t n)
{
    uint8_t h[9];
    size_t hl = cs_zmtp_header(h, flags, n);
    s_write_all(fd, h, hl);
    if (n) {
        s_write_all(fd, p, n);
    }
}

/* Send a greeting (version, mechanism) and, when type, a READY of that socket type. */
static void s_hello(int fd, int version, const char *mechanism, const char *type)
{
    uint8_t g[CS_ZMTP_GREETING];
    cs_zmtp_greeting(g);
    g[10] = (uint8_t)version;
    memset(g + 12, 0, 20);
    memcpy(g + 12, mechanism, strlen(mechanism));
    s_write_all(fd, g, sizeof g);
    if (type) {
        uint8_t ready[64];
        size_t n = cs_zmtp_ready(ready, sizeof ready, type);
        s_write_all(fd, ready, n);
    }
}

/* The broker's greeting, then its next command's name into name (cap). 1, or 0. */
static int s_their_hello(int fd, char *name, size_t cap)
{
    uint8_t g[CS_ZMTP_GREETING], body[512], flags;
    size_t len;
    const char *why;
    if (s_read_n(fd, g, sizeof g) != 1 || cs_zmtp_greeting_check(g, sizeof g, &why) != 1 ||
        !s_read_frame(fd, &flags, body, sizeof body, &len) || !(flags & CS_ZMTP_COMMAND)) {
        return 0;
    }
    const uint8_t *nm;
    size_t nl;
    ck_assert(cs_zmtp_command_name(body, len, &nm, &nl));
    snprintf(name, cap, "%.*s", (int)nl, (const char *)nm);
    return 1;
}

/* A raw DEALER, its handshake done. */
static int s_raw_dealer(const char *ep)
{
    int fd = s_raw(ep);
    s_hello(fd, 3, "NULL", "DEALER");
    char name[32];
    ck_assert(s_their_hello(fd, name, sizeof name));
    ck_assert_str_eq(name, "READY");
    return fd;
}

/* A ping answered on the endpoint: the broker still serves. */
static void s_serves(const char *ep)
{
    cs_tclient_t *c = cs_tclient_new(ep);
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "ping");
    const msgpack_object *r = cs_tclient_call(c, T_TIMEOUT);
    ck_assert_msg(r && cs_obj_true(cs_obj_get(r, "ok")), "the broker no longer answers");
    cs_tclient_destroy(&c);
}

static int64_t s_conn_stat(const char *ep, const char *key)
{
    cs_tclient_t *c = cs_tclient_new(ep);
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "stats");
    const msgpack_object *r = cs_tclient_call(c, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    int64_t v = cs_obj_int(cs_obj_get(cs_obj_get(r, "connections"), key));
    cs_tclient_destroy(&c);
    return v;
}

/* ---- the same answers ---- */

/* REQ peers (cs_tclient), pipelining DEALERs, and too many frames: byte for byte. */
START_TEST(test_same_bytes)
{
    cs_daemon_t z, d;
    s_start(&z, "zmq", NULL);
    s_start(&d, "direct", NULL);
    cs_tclient_t *qz = cs_tclient_new(z.query_ep), *qd = cs_tclient_new(d.query_ep);
    const char *ops[] = {"lookup", "validate", "ping", "nosuchop"};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        for (size_t i = 0; i < sizeof s_codes / sizeof s_codes[0]; i++) {
            msgpack_sbuffer sb;
            s_pack(&sb, ops[o], s_codes[i]);
            char why[256];
            ck_assert_msg(cs_tclient_same_answer(qz, qd, sb.data, sb.size, why, sizeof why),
                          "%s %s: %s", ops[o], s_codes[i], why);
            msgpack_sbuffer_destroy(&sb);
        }
    }
    char why[256];
    ck_assert_msg(cs_tclient_same_answer(qz, qd, "\xc1garbage", 8, why, sizeof why), "%s",
                  why);
    cs_tclient_destroy(&qz);
    cs_tclient_destroy(&qd);
    /* DEALERs: envelopes of their own, pipelined, answered in order */
    void *ctx = zmq_ctx_new();
    void *a = s_dealer(ctx, z.query_ep), *b = s_dealer(ctx, d.query_ep);
    for (int k = 0; k < 3; k++) {
        msgpack_sbuffer sb;
        s_pack(&sb, "lookup", s_codes[k]);
        const void *fr[3] = {"id", "", sb.data};
        size_t len[3] = {2, 0, sb.size};
        s_same_reply(a, b, fr, len, 3, "an envelope of two frames");
        s_same_reply(a, b, fr + 2, len + 2, 1, "no envelope");
        msgpack_sbuffer_destroy(&sb);
    }
    enum { N = 200 };
    msgpack_sbuffer sb;
    s_pack(&sb, "lookup", "E11.9");
    for (int i = 0; i < N; i++) {
        char id[16];
        int il = snprintf(id, sizeof id, "%d", i);
        const void *fr[2] = {id, sb.data};
        size_t len[2] = {(size_t)il, sb.size};
        s_send_frames(a, fr, len, 2);
        s_send_frames(b, fr, len, 2);
    }
    for (int i = 0; i < N; i++) {
        msgpack_sbuffer ra, rb;
        msgpack_sbuffer_init(&ra);
        msgpack_sbuffer_init(&rb);
        ck_assert(s_recv_joined(a, &ra) == 2 && s_recv_joined(b, &rb) == 2);
        ck_assert_msg(ra.size == rb.size && memcmp(ra.data, rb.data, ra.size) == 0,
                      "pipelined reply %d differs", i);
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        ck_assert_int_eq(memcmp(rb.data + 4, id, strlen(id)), 0); /* in order */
        msgpack_sbuffer_destroy(&ra);
        msgpack_sbuffer_destroy(&rb);
    }
    /* too many frames: the first ones come back with the error, as from libzmq's front */
    const void *many[24];
    size_t many_len[24];
    for (int i = 0; i < 24; i++) {
        many[i] = i == 23 ? (const void *)sb.data : "e";
        many_len[i] = i == 23 ? sb.size : (size_t)(i % 2);
    }
    s_same_reply(a, b, many, many_len, 24, "24 frames");
    s_same_reply(a, b, many + 9, many_len + 9, 15, "15 frames (the most)");
    s_same_reply(a, b, many + 8, many_len + 8, 16, "16 frames (one too many)");
    msgpack_sbuffer_destroy(&sb);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
    s_stop(&z);
    s_stop(&d);
}
END_TEST

/* A validate of n codes drawn from s_codes (salt picks the order). */
static void s_pack_validate(msgpack_sbuffer *sb, int n, int salt)
{
    msgpack_packer pk;
    s_pack_head(sb, &pk, 3, "validate");
    msgpack_pack_str_with_body(&pk, "codes", 5);
    msgpack_pack_array(&pk, (uint32_t)n);
    size_t k = sizeof s_codes / sizeof s_codes[0];
    for (int i = 0; i < n; i++) {
        const char *code = s_codes[(size_t)(i * 7 + salt) % k];
        msgpack_pack_str_with_body(&pk, code, strlen(code));
    }
}

/* Replies past the size a connection keeps its output buffer at (64 KiB), on two
 * connections at once, round after round: the buffer the front keeps for them passes from
 * one to the other, and every reply is byte for byte the zmq front's. */
START_TEST(test_large_replies)
{
    cs_daemon_t z, d;
    s_start(&z, "zmq", NULL);
    s_start(&d, "direct", NULL);
    void *ctx = zmq_ctx_new();
    void *a[2] = {s_dealer(ctx, z.query_ep), s_dealer(ctx, z.query_ep)};
    void *b[2] = {s_dealer(ctx, d.query_ep), s_dealer(ctx, d.query_ep)};
    msgpack_sbuffer ping;
    s_pack(&ping, "ping", NULL);
    for (int round = 0; round < 6; round++) {
        msgpack_sbuffer req[2];
        for (int k = 0; k < 2; k++) {
            /* a small reply first, so the connection has a small buffer of its own, which
             * holds the large reply's envelope when its body comes */
            const void *pf[1] = {ping.data};
            size_t pl[1] = {ping.size};
            s_same_reply(a[k], b[k], pf, pl, 1, "a ping");
            /* 1,000 to 9,000 codes: replies of about 60 KiB to 600 KiB, growing, shrinking */
            s_pack_validate(&req[k], 1000 + ((round * 3 + k * 5) % 9) * 1000, round + k);
            const void *fr[3] = {"env", "", req[k].data};
            size_t len[3] = {3, 0, req[k].size};
            s_send_frames(a[k], fr, len, 3);
            s_send_frames(b[k], fr, len, 3);
        }
        for (int k = 0; k < 2; k++) {
            msgpack_sbuffer ra, rb;
            msgpack_sbuffer_init(&ra);
            msgpack_sbuffer_init(&rb);
            ck_assert(s_recv_joined(a[k], &ra) == 3 && s_recv_joined(b[k], &rb) == 3);
            ck_assert_msg(rb.size > 64 * 1024, "round %d: a reply of %zu bytes only", round,
                          rb.size);
            ck_assert_msg(ra.size == rb.size && memcmp(ra.data, rb.data, ra.size) == 0,
                          "round %d, connection %d: the replies differ (%zu and %zu bytes)",
                          round, k, ra.size, rb.size);
            msgpack_sbuffer_destroy(&ra);
            msgpack_sbuffer_destroy(&rb);
            msgpack_sbuffer_destroy(&req[k]);
        }
    }
    msgpack_sbuffer_destroy(&ping);
    for (int k = 0; k < 2; k++) {
        zmq_close(a[k]);
        zmq_close(b[k]);
    }
    zmq_ctx_term(ctx);
    s_serves(d.query_ep);
    s_stop(&z);
    s_stop(&d);
}
END_TEST

/* libcsclient, on its own ZMTP connection and on its ZeroMQ socket, over ipc and tcp. */
START_TEST(test_csclient)
{
    cs_daemon_t d;
    char tcp[64];
    int port = cs_test_free_port();
    snprintf(tcp, sizeof tcp, "tcp://127.0.0.1:%d", port);
    const char *more[] = {"--listen", tcp, NULL};
    s_start(&d, "direct", more);
    const char *eps[2] = {d.query_ep, tcp};
    char first[sizeof s_codes / sizeof s_codes[0]][256];
    for (int k = 0; k < 4; k++) {
        cs_client_opts_t o = {.via_zmq = k / 2};
        cs_client_error_t err;
        cs_client_t *c = cs_client_new(&eps[k % 2], 1, &o, &err);
        ck_assert_ptr_nonnull(c);
        for (size_t i = 0; i < sizeof s_codes / sizeof s_codes[0] - 1; i++) {
            cs_client_lookup_t *l = NULL;
            ck_assert_int_eq(cs_client_lookup(c, "icd10cm", s_codes[i], 0, NULL, &l),
                             CS_CLIENT_OK);
            char got[256];
            snprintf(got, sizeof got, "%d %s %s", l->found, l->found ? l->code : "",
                     l->found ? l->title : "");
            if (k == 0) {
                memcpy(first[i], got, sizeof got);
            }
            ck_assert_str_eq(got, first[i]); /* whichever path and transport */
            cs_client_lookup_destroy(&l);
        }
        cs_client_destroy(&c);
    }
    s_stop(&d);
}
END_TEST

/* A slow op (a search, at the workers) is answered to the connection that asked, while a
 * lookup of another connection is answered by the loop; both as from the zmq front. */
START_TEST(test_slow_op_routed)
{
    const char *more[] = {"--workers", "2", NULL};
    cs_daemon_t z, d;
    s_start(&z, "zmq", more);
    s_start(&d, "direct", more);
    void *ctx = zmq_ctx_new();
    void *za = s_dealer(ctx, z.query_ep), *zb = s_dealer(ctx, z.query_ep);
    void *da = s_dealer(ctx, d.query_ep), *db = s_dealer(ctx, d.query_ep);
    msgpack_sbuffer search, look;
    s_pack_search(&search);
    s_pack(&look, "lookup", "E11.9");
    for (int k = 0; k < 5; k++) {
        const void *fs[2] = {"s", search.data}, *fl[2] = {"l", look.data};
        size_t ls[2] = {1, search.size}, ll[2] = {1, look.size};
        s_send_frames(da, fs, ls, 2);
        s_send_frames(db, fl, ll, 2);
        s_send_frames(za, fs, ls, 2);
        s_send_frames(zb, fl, ll, 2);
        void *pairs[2][2] = {{za, da}, {zb, db}};
        for (int p = 0; p < 2; p++) {
            msgpack_sbuffer r1, r2;
            msgpack_sbuffer_init(&r1);
            msgpack_sbuffer_init(&r2);
            ck_assert(s_recv_joined(pairs[p][0], &r1) == 2);
            ck_assert(s_recv_joined(pairs[p][1], &r2) == 2);
            ck_assert_msg(r1.size == r2.size && memcmp(r1.data, r2.data, r1.size) == 0,
                          "%s: the replies differ", p ? "lookup" : "search");
            ck_assert_int_eq(r2.data[4], p ? 'l' : 's'); /* to the connection that asked */
            msgpack_sbuffer_destroy(&r1);
            msgpack_sbuffer_destroy(&r2);
        }
    }
    msgpack_sbuffer_destroy(&search);
    msgpack_sbuffer_destroy(&look);
    zmq_close(za);
    zmq_close(zb);
    zmq_close(da);
    zmq_close(db);
    zmq_ctx_term(ctx);
    s_stop(&z);
    s_stop(&d);
}
END_TEST

/* An endpoint the direct front leaves to libzmq (an interface name) beside one it serves:
 * both answer, a slow op of each goes back to its own connection, and a libzmq peer that
 * picks a routing identity of the direct front's kind is refused, not routed. */
START_TEST(test_both_fronts)
{
    int port = cs_test_free_port();
    char lo[64], tcp[64];
    snprintf(lo, sizeof lo, "tcp://lo:%d", port);
    snprintf(tcp, sizeof tcp, "tcp://127.0.0.1:%d", port);
    const char *more[] = {"--listen", lo, "--workers", "1", NULL};
    cs_daemon_t d;
    s_start(&d, "direct", more);
    void *ctx = zmq_ctx_new();
    void *viaz = s_dealer(ctx, tcp), *direct = s_dealer(ctx, d.query_ep);
    msgpack_sbuffer search;
    s_pack_search(&search);
    const void *fz[2] = {"z", search.data}, *fd2[2] = {"d", search.data};
    size_t len[2] = {1, search.size};
    s_send_frames(viaz, fz, len, 2);
    s_send_frames(direct, fd2, len, 2);
    msgpack_sbuffer r1, r2;
    msgpack_sbuffer_init(&r1);
    msgpack_sbuffer_init(&r2);
    ck_assert(s_recv_joined(viaz, &r1) == 2 && s_recv_joined(direct, &r2) == 2);
    ck_assert_int_eq(r1.data[4], 'z');
    ck_assert_int_eq(r2.data[4], 'd');
    ck_assert(r1.size == r2.size && memcmp(r1.data + 5, r2.data + 5, r1.size - 5) == 0);
    msgpack_sbuffer_destroy(&r1);
    msgpack_sbuffer_destroy(&r2);
    /* an identity of the direct front's kind, through libzmq's */
    void *spoof = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, to = T_TIMEOUT;
    zmq_setsockopt(spoof, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(spoof, ZMQ_RCVTIMEO, &to, sizeof to);
    zmq_setsockopt(spoof, ZMQ_ROUTING_ID, "\0Z\0\0\0\x09\0\0\0\x01", 10);
    ck_assert_int_eq(zmq_connect(spoof, tcp), 0);
    s_send_frames(spoof, fd2 + 1, len + 1, 1);
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_ge(zmq_msg_recv(&m, spoof, 0), 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    ck_assert(msgpack_unpack_next(&u, zmq_msg_data(&m), zmq_msg_size(&m), NULL) ==
              MSGPACK_UNPACK_SUCCESS);
    char code[32];
    ck_assert_str_eq(cs_obj_error_code(&u.data, code, sizeof code), "bad_request");
    msgpack_unpacked_destroy(&u);
    zmq_msg_close(&m);
    msgpack_sbuffer_destroy(&search);
    zmq_close(spoof);
    zmq_close(viaz);
    zmq_close(direct);
    zmq_ctx_term(ctx);
    s_stop(&d);
}
END_TEST

/* ---- hostile peers ---- */

/* Greetings refused: each connection is closed, with an ERROR command where the peer speaks
 * ZMTP 3; the broker goes on serving. */
START_TEST(test_bad_greetings)
{
    cs_daemon_t d;
    s_start(&d, "direct", NULL);
    int fd = s_raw(d.query_ep);
    s_write_all(fd, "GET / HTTP/1.1\r\n\r\n", 18);
    ck_assert_msg(s_closed(fd), "garbage: not closed");
    close(fd);
    fd = s_raw(d.query_ep); /* ZMTP 2.0: signature, revision 1, socket type DEALER */
    s_write_all(fd, "\xff\0\0\0\0\0\0\0\x01\x7f\x01\x05", 12);
    ck_assert_msg(s_closed(fd), "ZMTP 2: not closed");
    close(fd);
    char name[32];
    fd = s_raw(d.query_ep);
    s_hello(fd, 3, "CURVE", NULL);
    ck_assert(s_their_hello(fd, name, sizeof name) == 0); /* closed after the greeting */
    close(fd);
    fd = s_raw(d.query_ep);
    s_hello(fd, 3, "NULL", "PUB");
    ck_assert(s_their_hello(fd, name, sizeof name));
    ck_assert_str_eq(name, "ERROR");
    ck_assert(s_closed(fd));
    close(fd);
    fd = s_raw(d.query_ep);
    s_hello(fd, 3, "NULL", NULL);
    s_write_all(fd, "\x00\x01x", 3); /* a message before READY (one write: it is closed) */
    ck_assert(s_closed(fd));
    close(fd);
    fd = s_raw(d.query_ep);
    s_hello(fd, 3, "NULL", NULL);
    s_write_all(fd, "\x04\x08\x05READY\x0b\x01", 10); /* a property past the end */
    ck_assert(s_their_hello(fd, name, sizeof name));
    ck_assert_str_eq(name, "ERROR");
    close(fd);
    s_serves(d.query_ep);
    s_stop(&d);
}
END_TEST

/* Frames the broker cannot take: over --max-msg, a size of 2^63, reserved flags. */
START_TEST(test_bad_frames)
{
    const char *more[] = {"--max-msg", "65536", NULL};
    cs_daemon_t d;
    s_start(&d, "direct", more);
    static const uint8_t heads[3][9] = {
        {CS_ZMTP_LONG, 0, 0, 0, 0, 0, 1, 0, 1},    /* 65537 bytes */
        {CS_ZMTP_LONG, 0x80, 0, 0, 0, 0, 0, 0, 0}, /* 2^63 */
        {0x40, 1},                                 /* a reserved flag */
    };
    for (int k = 0; k < 3; k++) {
        int fd = s_raw_dealer(d.query_ep);
        s_write_all(fd, heads[k], k < 2 ? 9 : 2);
        ck_assert_msg(s_closed(fd), "bad frame %d: not closed", k);
        close(fd);
    }
    /* 65536 bytes exactly is taken (and answered: it is not a request) */
    int fd = s_raw_dealer(d.query_ep);
    uint8_t *big = calloc(1, 65536);
    s_put_frame(fd, 0, big, 65536);
    free(big);
    uint8_t flags, buf[4096];
    size_t len;
    ck_assert(s_read_frame(fd, &flags, buf, sizeof buf, &len));
    ck_assert_int_eq(flags, 0);
    close(fd);
    static char log[1 << 16];
    FILE *f = fopen(d.log, "r");
    size_t n = fread(log, 1, sizeof log - 1, f);
    fclose(f);
    log[n] = '\0';
    ck_assert_msg(strstr(log, "larger than the largest message"), "the log says nothing");
    s_serves(d.query_ep);
    s_stop(&d);
}
END_TEST

/* A command mid-message is served on its own (PING, PONG) and the message goes on; a
 * connection that sends half a frame and stalls holds no one else up. */
START_TEST(test_command_and_stall)
{
    cs_daemon_t d;
    s_start(&d, "direct", NULL);
    int stalled = s_raw_dealer(d.query_ep);
    s_write_all(stalled, "\x00\x64half a frame", 14); /* 100 bytes announced, 12 sent */
    int fd = s_raw_dealer(d.query_ep);
    msgpack_sbuffer sb;
    s_pack(&sb, "ping", NULL);
    s_put_frame(fd, CS_ZMTP_MORE, "", 0);
    s_write_all(fd, "\x04\x08\x04PING\x00\x0a" "c", 10); /* TTL 10, context "c" */
    s_put_frame(fd, 0, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    uint8_t flags, buf[512];
    size_t len;
    ck_assert(s_read_frame(fd, &flags, buf, sizeof buf, &len));
    ck_assert_int_eq(flags, CS_ZMTP_COMMAND);
    ck_assert(len == 6 && memcmp(buf, "\x04PONGc", 6) == 0);
    ck_assert(s_read_frame(fd, &flags, buf, sizeof buf, &len)); /* the envelope */
    ck_assert(flags == CS_ZMTP_MORE && len == 0);
    ck_assert(s_read_frame(fd, &flags, buf, sizeof buf, &len)); /* the reply */
    ck_assert_int_eq(flags, 0);
    s_serves(d.query_ep);
    close(fd);
    close(stalled);
    s_stop(&d);
}
END_TEST

/* A peer that never reads: answered busy past --max-peer-bytes, the broker's memory
 * bounded, and every request it sent answered once it reads. */
START_TEST(test_never_reads)
{
    const char *more[] = {"--max-peer-bytes", "65536", NULL};
    cs_daemon_t d;
    s_start(&d, "direct", more);
    int fd = s_raw_dealer(d.query_ep);
    int rcv = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    msgpack_sbuffer sb;
    s_pack(&sb, "lookup", "E11.9");
    uint8_t req[64];
    size_t hl = cs_zmtp_header(req, 0, sb.size);
    memcpy(req + hl, sb.data, sb.size);
    size_t rl = hl + sb.size;
    msgpack_sbuffer_destroy(&sb);
    long sent = 0;
    /* send until the broker stops reading (its unsent replies past the bound) */
    for (int idle = 0; idle < 20;) {
        ssize_t w = send(fd, req, rl, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w == (ssize_t)rl) {
            sent++;
            idle = 0;
            continue;
        }
        ck_assert_int_lt(w, 1); /* whole requests or none (small writes on a stream) */
        idle++;
        usleep(20000);
    }
    ck_assert_int_gt(s_conn_stat(d.query_ep, "busy"), 0);
    s_serves(d.query_ep); /* others are served meanwhile */
    /* it reads: every request it sent has its reply, ok or busy */
    long ok = 0, busy = 0;
    for (long i = 0; i < sent; i++) {
        uint8_t flags, buf[4096];
        size_t len;
        ck_assert_msg(s_read_frame(fd, &flags, buf, sizeof buf, &len), "reply %ld of %ld", i,
                      sent);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        ck_assert(msgpack_unpack_next(&u, (const char *)buf, len, NULL) ==
                  MSGPACK_UNPACK_SUCCESS);
        char code[32];
        ok += cs_obj_true(cs_obj_get(&u.data, "ok"));
        busy += strcmp(cs_obj_error_code(&u.data, code, sizeof code), "busy") == 0;
        msgpack_unpacked_destroy(&u);
    }
    ck_assert_int_gt(ok, 0);
    ck_assert_int_gt(busy, 0);
    ck_assert_int_eq(ok + busy, sent);
    close(fd);
    s_stop(&d);
}
END_TEST

/* Send a validate of n codes on a raw connection, as one frame. */
static void s_raw_validate(int fd, int n, int salt)
{
    msgpack_sbuffer sb;
    s_pack_validate(&sb, n, salt);
    s_put_frame(fd, 0, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Read the next reply frame on fd (up to 1 MiB) into u, which the caller destroys; it must
 * say ok. i names it in a failure. */
static void s_read_ok(int fd, msgpack_unpacked *u, int i)
{
    static uint8_t buf[1 << 20];
    uint8_t flags;
    size_t len;
    ck_assert_msg(s_read_frame(fd, &flags, buf, sizeof buf, &len), "reply %d", i);
    msgpack_unpacked_init(u);
    ck_assert(msgpack_unpack_next(u, (const char *)buf, len, NULL) == MSGPACK_UNPACK_SUCCESS);
    ck_assert_msg(cs_obj_true(cs_obj_get(&u->data, "ok")), "reply %d", i);
}

/* A connection that does not read holds more unsent bytes than the front's spare buffer
 * has room for, and its next large reply comes: the spare is not taken (its pending bytes
 * would not fit), and every reply arrives whole once it reads. */
START_TEST(test_spare_smaller_than_pending)
{
    cs_daemon_t d;
    s_start(&d, "direct", NULL);
    int fd = s_raw_dealer(d.query_ep);
    int rcv = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    /* two replies of about 600 KiB queued behind a full socket */
    s_raw_validate(fd, 9000, 0);
    s_raw_validate(fd, 9000, 1);
    usleep(300000);
    /* another connection's reply of about 130 KiB, read: its buffer becomes the spare */
    void *ctx = zmq_ctx_new();
    void *b = s_dealer(ctx, d.query_ep);
    msgpack_sbuffer sb;
    s_pack_validate(&sb, 2000, 2);
    ck_assert_int_ge(zmq_send(b, sb.data, sb.size, 0), 0);
    msgpack_sbuffer rb;
    msgpack_sbuffer_init(&rb);
    ck_assert_int_eq(s_recv_joined(b, &rb), 1);
    ck_assert_uint_gt(rb.size, 64 * 1024);
    msgpack_sbuffer_destroy(&rb);
    msgpack_sbuffer_destroy(&sb);
    /* a third large reply to the connection still not reading */
    s_raw_validate(fd, 9000, 3);
    usleep(300000);
    s_serves(d.query_ep);
    for (int i = 0; i < 3; i++) {
        msgpack_unpacked u;
        s_read_ok(fd, &u, i);
        const msgpack_object *res = cs_obj_get(&u.data, "results");
        ck_assert(res && res->type == MSGPACK_OBJECT_ARRAY && res->via.array.size == 9000);
        msgpack_unpacked_destroy(&u);
    }
    close(fd);
    zmq_close(b);
    zmq_ctx_term(ctx);
    s_stop(&d);
}
END_TEST

/* The broker forgets a connection once its replies are written and it has gone: large
 * replies written in many pieces, and many small ones written together, each end the
 * connection's account exactly once. (A give-back per write once freed an account still in
 * use, and left others for ever.) */
START_TEST(test_accounts_end_with_replies)
{
    cs_daemon_t d;
    s_start(&d, "direct", NULL);
    int big = s_raw_dealer(d.query_ep), small = s_raw_dealer(d.query_ep);
    int rcv = 4096;
    setsockopt(big, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    for (int i = 0; i < 3; i++) {
        s_raw_validate(big, 9000, i); /* about 600 KiB each, behind a full socket */
    }
    enum { SMALL = 50 };
    msgpack_sbuffer sb;
    s_pack(&sb, "lookup", "E11.9");
    for (int i = 0; i < SMALL; i++) {
        s_put_frame(small, 0, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    usleep(300000); /* the small replies wait together, the large ones in pieces */
    for (int i = 0; i < SMALL + 3; i++) {
        msgpack_unpacked u;
        s_read_ok(i < SMALL ? small : big, &u, i);
        msgpack_unpacked_destroy(&u);
    }
    close(big);
    close(small);
    /* the broker sweeps its accounts each second; the stats' own connection is the one left */
    int64_t peers = -1;
    for (int i = 0; i < 50 && peers != 1; i++) {
        usleep(100000);
        peers = s_conn_stat(d.query_ep, "peers");
    }
    ck_assert_msg(peers == 1, "%lld accounts kept after their connections left",
                  (long long)peers - 1);
    s_serves(d.query_ep);
    s_stop(&d);
}
END_TEST

/* A pipelining client's requests read together: the first replies are written while the
 * rest are answered (stats: streamed), and every reply comes, in order (its id); clients
 * that send as much and leave at once cost the others nothing. */
START_TEST(test_streams_a_read_batch)
{
    cs_daemon_t d;
    s_start(&d, "direct", NULL);
    ck_assert_int_eq(s_conn_stat(d.query_ep, "streamed"), 0);
    int fd = s_raw_dealer(d.query_ep);
    enum { N = 300, N_CODES = (int)(sizeof s_codes / sizeof s_codes[0]) };
    msgpack_sbuffer all;
    msgpack_sbuffer_init(&all);
    for (int i = 0; i < N; i++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        s_pack_head(&sb, &pk, 4, "lookup");
        cs_tpack_kv(&pk, "code", s_codes[i % N_CODES]);
        cs_tpack_str(&pk, "id");
        msgpack_pack_int(&pk, i);
        uint8_t h[9];
        size_t hl = cs_zmtp_header(h, 0, sb.size);
        msgpack_sbuffer_write(&all, (const char *)h, hl);
        msgpack_sbuffer_write(&all, sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
    }
    s_write_all(fd, all.data, all.size); /* one write: the broker reads them together */
    /* the same burst from a client that resets its connection at once: the writes on the
     * way fail, and the broker goes on (under ASan: nothing of the connection is touched
     * once it is closed) */
    for (int k = 0; k < 20; k++) {
        int gone = s_raw_dealer(d.query_ep);
        s_write_all(gone, all.data, all.size);
        struct linger rst = {1, 0};
        setsockopt(gone, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
        close(gone);
    }
    msgpack_sbuffer_destroy(&all);
    for (int i = 0; i < N; i++) {
        static uint8_t buf[64 * 1024];
        uint8_t flags;
        size_t len;
        ck_assert_msg(s_read_frame(fd, &flags, buf, sizeof buf, &len), "reply %d", i);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        ck_assert(msgpack_unpack_next(&u, (const char *)buf, len, NULL) ==
                  MSGPACK_UNPACK_SUCCESS);
        ck_assert_int_eq(cs_obj_int(cs_obj_get(&u.data, "id")), i);
        ck_assert_msg(cs_obj_true(cs_obj_get(&u.data, "ok")), "reply %d", i);
        msgpack_unpacked_destroy(&u);
    }
    ck_assert_int_gt(s_conn_stat(d.query_ep, "streamed"), 0);
    close(fd);
    s_serves(d.query_ep);
    s_stop(&d);
}
END_TEST

/* Request i of a mixed burst: plain lookups the broker reads ahead of their turn, and
 * between them what it must not take for one or must refuse (another release, a system it
 * does not have, a control character, another op, malformed msgpack), some behind an
 * envelope frame. Appended to all as ZMTP frames. */
static void s_burst_request(msgpack_sbuffer *all, int i)
{
    enum { N_CODES = (int)(sizeof s_codes / sizeof s_codes[0]) };
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int kind = i % 10;
    if (kind == 6) {
        msgpack_sbuffer_init(&sb);
        msgpack_sbuffer_write(&sb, "\xc1garbage", 8);
    } else {
        s_pack_head(&sb, &pk, kind == 5 ? 5 : 4, kind == 9 ? "validate" : "lookup");
        cs_tpack_kv(&pk, "code", kind == 8 ? "E11\x01" : s_codes[i % N_CODES]);
        if (kind == 5) {
            cs_tpack_kv(&pk, "release", "S");
        }
        cs_tpack_str(&pk, "id");
        msgpack_pack_int(&pk, i);
        if (kind == 7) { /* the system's name is the second value: make it one not loaded */
            char *sys = memmem(sb.data, sb.size, "icd10cm", 7);
            memcpy(sys, "icd10zz", 7);
        }
    }
    uint8_t h[9];
    if (i % 13 == 0) {
        size_t hl = cs_zmtp_header(h, CS_ZMTP_MORE, 1);
        msgpack_sbuffer_write(all, (const char *)h, hl);
        msgpack_sbuffer_write(all, "e", 1);
    }
    size_t hl = cs_zmtp_header(h, 0, sb.size);
    msgpack_sbuffer_write(all, (const char *)h, hl);
    msgpack_sbuffer_write(all, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Write len bytes of requests to fd while reading what comes back, until n replies (frames
 * without MORE) are in: their bytes, every frame header included, into got. */
static void s_burst(int fd, const char *data, size_t len, int n, msgpack_sbuffer *got)
{
    size_t sent = 0, parsed = 0;
    int replies = 0;
    while (replies < n) {
        struct pollfd pfd = {fd, (short)(POLLIN | (sent < len ? POLLOUT : 0)), 0};
        ck_assert_int_eq(poll(&pfd, 1, T_TIMEOUT), 1);
        if ((pfd.revents & POLLOUT) && sent < len) {
            ssize_t w = send(fd, data + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            ck_assert(w > 0 || errno == EAGAIN);
            sent += w > 0 ? (size_t)w : 0;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[65536];
            ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            ck_assert_msg(r > 0 || errno == EAGAIN, "the broker closed after %d replies",
                          replies);
            if (r > 0) {
                msgpack_sbuffer_write(got, buf, (size_t)r);
            }
        }
        for (;;) { /* count the whole frames received */
            const uint8_t *q = (const uint8_t *)got->data + parsed;
            size_t have = got->size - parsed, hl = 2, size;
            if (have < 2 || ((q[0] & CS_ZMTP_LONG) && have < 9)) {
                break;
            }
            if (q[0] & CS_ZMTP_LONG) {
                hl = 9;
                size = 0;
                for (int k = 1; k < 9; k++) {
                    size = size << 8 | q[k];
                }
            } else {
                size = q[1];
            }
            if (have - hl < size) {
                break;
            }
            replies += !(q[0] & CS_ZMTP_MORE);
            parsed += hl + size;
        }
    }
    ck_assert_uint_eq(sent, len);
}

/* Lookups read ahead of their turn (stats connections.fetched_ahead) among requests that
 * are not, in bursts larger than one read of the broker's (64 KiB: bodies cut between two
 * reads): every reply, envelope included, byte for byte what the ZeroMQ front gives, in the
 * same order. */
START_TEST(test_look_ahead_same_bytes)
{
    cs_daemon_t z, d;
    s_start(&z, "zmq", NULL);
    s_start(&d, "direct", NULL);
    s_serves(d.query_ep);
    ck_assert_int_eq(s_conn_stat(d.query_ep, "fetched_ahead"), 0);
    enum { N = 4000 };
    msgpack_sbuffer all;
    msgpack_sbuffer_init(&all);
    for (int i = 0; i < N; i++) {
        s_burst_request(&all, i);
    }
    ck_assert_uint_gt(all.size, 2 * 64 * 1024);
    for (int round = 0; round < 2; round++) {
        int fz = s_raw_dealer(z.query_ep), fd = s_raw_dealer(d.query_ep);
        msgpack_sbuffer rz, rd;
        msgpack_sbuffer_init(&rz);
        msgpack_sbuffer_init(&rd);
        s_burst(fz, all.data, all.size, N, &rz);
        s_burst(fd, all.data, all.size, N, &rd);
        size_t at = 0;
        while (at < rz.size && at < rd.size && rz.data[at] == rd.data[at]) {
            at++;
        }
        ck_assert_msg(rz.size == rd.size && at == rz.size,
                      "round %d: the replies differ from byte %zu (%zu and %zu bytes)", round,
                      at, rz.size, rd.size);
        msgpack_sbuffer_destroy(&rz);
        msgpack_sbuffer_destroy(&rd);
        close(fz);
        close(fd);
    }
    msgpack_sbuffer_destroy(&all);
    /* half the burst are plain lookups of the current release: most were read ahead */
    ck_assert_int_gt(s_conn_stat(d.query_ep, "fetched_ahead"), N / 4);
    ck_assert_int_eq(s_conn_stat(z.query_ep, "fetched_ahead"), 0);
    s_serves(d.query_ep);
    s_stop(&z);
    s_stop(&d);
}
END_TEST

/* The connection cap holds on this front, and a handshake left unfinished times out. */
START_TEST(test_cap_and_handshake_timeout)
{
    const char *more[] = {"--max-connections", "3", "--handshake-ms", "300", NULL};
    cs_daemon_t d;
    s_start(&d, "direct", more);
    int a = s_raw_dealer(d.query_ep), b = s_raw_dealer(d.query_ep);
    int c = s_raw_dealer(d.query_ep);
    int over = s_raw(d.query_ep);
    ck_assert_msg(s_closed(over), "a connection over the cap was kept");
    close(over);
    close(c); /* a connection freed for the stats */
    usleep(100000);
    ck_assert_int_ge(s_conn_stat(d.query_ep, "refused"), 1);
    /* silent after connecting: the greeting comes, then the end within the deadline */
    int idle = s_raw(d.query_ep);
    uint8_t g[CS_ZMTP_GREETING];
    ck_assert_int_eq(s_read_n(idle, g, sizeof g), 1);
    ck_assert_msg(s_closed(idle), "an unfinished handshake was kept");
    close(idle);
    close(a);
    close(b);
    s_serves(d.query_ep);
    s_stop(&d);
}
END_TEST

Suite *cs_zmtp_front_suite(void);
Suite *cs_zmtp_front_suite(void)
{
    Suite *s = suite_create("zmtp_front");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_same_bytes);
    tcase_add_test(tc, test_large_replies);
    tcase_add_test(tc, test_csclient);
    tcase_add_test(tc, test_slow_op_routed);
    tcase_add_test(tc, test_both_fronts);
    tcase_add_test(tc, test_bad_greetings);
    tcase_add_test(tc, test_bad_frames);
    tcase_add_test(tc, test_command_and_stall);
    tcase_add_test(tc, test_never_reads);
    tcase_add_test(tc, test_spare_smaller_than_pending);
    tcase_add_test(tc, test_accounts_end_with_replies);
    tcase_add_test(tc, test_streams_a_read_batch);
    tcase_add_test(tc, test_look_ahead_same_bytes);
    tcase_add_test(tc, test_cap_and_handshake_timeout);
    suite_add_tcase(s, tc);
    return s;
}
