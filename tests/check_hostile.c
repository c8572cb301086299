/* check_hostile.c: what one query client must never do to the broker or to other clients
 * (issue 15, items 4-7 and 14), each against a real codesetd:
 *   - crash it with a crosswalk within one system and no conversion table (uninitialised
 *     target fields were packed);
 *   - splice its answer into another client's reply by picking a routing identity shaped
 *     like the broker's internal slice header;
 *   - grow its memory without bound, or hold other clients' requests behind its own, by
 *     pipelining large requests and never reading the replies;
 *   - run it out of descriptors with idle connections;
 *   - and a stop signal answers what was already received instead of dropping it. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cs_daemon.h"
#include "cs_synth.h"
#include "cs_test.h"

#define T_TIMEOUT 60000

Suite *cs_hostile_suite(void);

/* Start a broker with extra args and load the synthetic release "big" (A-H) and, when
 * order_too, the same file again alone as "big-order". */
static void s_start(cs_daemon_t *d, const char *const *args, int order_too)
{
    memset(d, 0, sizeof *d);
    ck_assert_int_eq(cs_daemon_start(d, args), 0);
    char big[700], state[64];
    snprintf(big, sizeof big, "%s/big.txt", d->dir);
    cs_synth_order(big, 'A', 'H');
    cs_tclient_t *admin = cs_tclient_new(d->admin_ep);
    const char *f[] = {big};
    cs_daemon_load(d, admin, "icd10cm-order", "big", "2021-10-01", f, 1, state, sizeof state,
                   T_TIMEOUT);
    ck_assert_str_eq(state, "done");
    if (order_too) {
        cs_daemon_load(d, admin, "icd10cm-order", "big-order", "2021-10-01", f, 1, state,
                       sizeof state, T_TIMEOUT);
        ck_assert_str_eq(state, "done");
    }
    cs_tclient_destroy(&admin);
}

/* A DEALER connected to ep, with routing identity id (id_len bytes) when id is not NULL. */
static void *s_dealer(void *ctx, const char *ep, const void *id, size_t id_len)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (id) {
        ck_assert_int_eq(zmq_setsockopt(sock, ZMQ_ROUTING_ID, id, id_len), 0);
    }
    ck_assert_int_eq(zmq_connect(sock, ep), 0);
    return sock;
}

/* The i-th synthetic billable code (A00.00 ...), into out. */
static const char *s_code(unsigned i, char *out, size_t cap)
{
    snprintf(out, cap, "%c%02u.%u%u", 'A' + (i / 10000) % 8, (i / 100) % 100, (i / 10) % 10,
             i % 10);
    return out;
}

/* Send {"op":"validate","id":id,"system":"icd10cm","codes":[n codes from first]}; with
 * same set, every code is that one. Without the empty delimiter frame when bare. */
static void s_send_validate_as(void *sock, int id, unsigned first, unsigned n,
                               const char *same, int bare)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    cs_tpack_kv(&pk, "op", "validate");
    cs_tpack_str(&pk, "id");
    msgpack_pack_int(&pk, id);
    cs_tpack_kv(&pk, "system", "icd10cm");
    cs_tpack_str(&pk, "codes");
    msgpack_pack_array(&pk, n);
    for (unsigned i = 0; i < n; i++) {
        char code[16];
        cs_tpack_str(&pk, same ? same : s_code(first + i, code, sizeof code));
    }
    ck_assert(bare || zmq_send(sock, "", 0, ZMQ_SNDMORE) >= 0);
    ck_assert_int_ge(zmq_send(sock, sb.data, sb.size, 0), 0);
    msgpack_sbuffer_destroy(&sb);
}

static void s_send_validate(void *sock, int id, unsigned first, unsigned n, const char *same)
{
    s_send_validate_as(sock, id, first, n, same, 0);
}

/* Send a search of q with limit, tagged id. */
static void s_send_search(void *sock, int id, const char *q, int limit)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    cs_tpack_kv(&pk, "op", "search");
    cs_tpack_str(&pk, "id");
    msgpack_pack_int(&pk, id);
    cs_tpack_kv(&pk, "system", "icd10cm");
    cs_tpack_kv(&pk, "q", q);
    cs_tpack_str(&pk, "limit");
    msgpack_pack_int(&pk, limit);
    ck_assert_int_ge(zmq_send(sock, "", 0, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(sock, sb.data, sb.size, 0), 0);
    msgpack_sbuffer_destroy(&sb);
}

/* A reply received: the object points into the message, so both live until s_done. */
typedef struct s_reply {
    zmq_msg_t m;
    msgpack_unpacked up;
} s_reply_t;

/* Receive one reply within ms into r; 0 on a timeout (then r needs no s_done). */
static int s_recv(void *sock, s_reply_t *r, int ms)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) != 1) {
        return 0;
    }
    zmq_msg_init(&r->m);
    do {
        zmq_msg_close(&r->m);
        zmq_msg_init(&r->m);
        ck_assert_int_ge(zmq_msg_recv(&r->m, sock, 0), 0);
    } while (zmq_msg_more(&r->m));
    msgpack_unpacked_init(&r->up);
    size_t off = 0;
    msgpack_unpack_return ur =
        msgpack_unpack_next(&r->up, zmq_msg_data(&r->m), zmq_msg_size(&r->m), &off);
    ck_assert_msg(ur == MSGPACK_UNPACK_SUCCESS, "a reply of %zu bytes does not unpack (%d)",
                  zmq_msg_size(&r->m), (int)ur);
    return 1;
}

static void s_done(s_reply_t *r)
{
    msgpack_unpacked_destroy(&r->up);
    zmq_msg_close(&r->m);
}

/* ---- item 4: crosswalk within one system, no conversion table ---- */

START_TEST(test_crosswalk_within_system_without_tables)
{
    /* glibc fills fresh allocations with this byte's complement: an uninitialised field is
     * then the same junk on every run, not whatever the heap held */
    setenv("MALLOC_PERTURB_", "165", 1);
    cs_daemon_t d;
    s_start(&d, NULL, 1);
    unsetenv("MALLOC_PERTURB_");
    void *ctx = zmq_ctx_new();
    void *sock = s_dealer(ctx, d.query_ep, NULL, 0);
    for (int round = 0; round < 20; round++) {
        s_send_validate(sock, 1, 0, 1000, NULL);
        s_reply_t rep;
        ck_assert_msg(s_recv(sock, &rep, T_TIMEOUT), "no answer to a validate: did it crash?");
        s_done(&rep);
        cs_tclient_t *c = cs_tclient_new(d.query_ep);
        msgpack_packer *pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 6);
        cs_tpack_kv(pk, "op", "crosswalk");
        cs_tpack_kv(pk, "from", "icd10cm");
        cs_tpack_kv(pk, "to", "icd10cm");
        cs_tpack_kv(pk, "code", "B12.34");
        cs_tpack_kv(pk, "release", "big");
        cs_tpack_kv(pk, "to_release", "big-order");
        const msgpack_object *r = cs_tclient_call(c, T_TIMEOUT);
        ck_assert_msg(r, "no answer to the crosswalk in round %d: did it crash?", round);
        ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        const msgpack_object *t = cs_obj_get(r, "targets");
        ck_assert(t && t->type == MSGPACK_OBJECT_ARRAY && t->via.array.size == 1);
        const msgpack_object *t0 = &t->via.array.ptr[0];
        /* the code carries over, with its title and nothing else */
        ck_assert(t0->type == MSGPACK_OBJECT_MAP);
        ck_assert_uint_eq(t0->via.map.size, 2);
        ck_assert(cs_obj_is_str(cs_obj_get(t0, "code"), "B12.34"));
        ck_assert(cs_obj_is_str(cs_obj_get(t0, "title"), "Synthetic code B1234"));
        cs_tclient_destroy(&c);
    }
    zmq_close(sock);
    zmq_ctx_term(ctx);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* ---- item 5: nothing a client sends is read as the broker's own traffic ---- */

/* The slice header as the broker laid it out before this fix: a zero byte, padding, "PART",
 * the join's number, slice index and count, the codes. */
typedef struct s_old_part {
    uint8_t zero, pad[3];
    uint32_t magic, seq;
    uint16_t index, count;
    uint32_t lo, hi;
} s_old_part_t;

START_TEST(test_identity_cannot_splice_slices)
{
    cs_daemon_t d;
    const char *args[] = {"--workers", "2", NULL};
    s_start(&d, args, 0);
    void *ctx = zmq_ctx_new();
    void *victim = s_dealer(ctx, d.query_ep, NULL, 0);
    enum { ATTACKERS = 24 };
    void *att[ATTACKERS];
    for (int i = 0; i < ATTACKERS; i++) {
        /* identities shaped as every join number the victim's requests will get, and as the
         * one-byte kind frames the broker uses now */
        s_old_part_t p = {.zero = 0, .magic = 0x50415254u, .seq = (uint32_t)(i / 2 + 1),
                          .index = (uint16_t)(i % 2), .count = 2, .lo = 0, .hi = 255};
        char kind = i % 2 ? 'P' : 'W';
        att[i] = i < ATTACKERS - 2 ? s_dealer(ctx, d.query_ep, &p, sizeof p)
                                   : s_dealer(ctx, d.query_ep, &kind, 1);
    }
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < ATTACKERS; i++) {
            /* a worker answers it whole (over 100 codes, under 256): its identity travels
             * with it to the worker and back */
            s_send_validate_as(att[i], 100 + i, 0, 255, "A00.00", 1);
        }
        s_send_validate(victim, round, 1000, 510, NULL);
        s_reply_t rep;
        ck_assert_msg(s_recv(victim, &rep, T_TIMEOUT), "the victim got no answer");
        const msgpack_object *r = &rep.up.data;
        ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "id")), round);
        const msgpack_object *res = cs_obj_get(r, "results");
        char why[64];
        ck_assert_msg(res && res->type == MSGPACK_OBJECT_ARRAY, "round %d: an error (%s)",
                      round, cs_obj_error_code(r, why, sizeof why));
        ck_assert_uint_eq(res->via.array.size, 510);
        for (unsigned i = 0; i < 510; i++) {
            char want[16], got[16];
            s_code(1000 + i, want, sizeof want);
            cs_obj_cstr(cs_obj_get(&res->via.array.ptr[i], "code"), got, sizeof got);
            if (strcmp(want, got) != 0) {
                msgpack_object_print(stderr, res->via.array.ptr[i]);
            }
            ck_assert_msg(strcmp(want, got) == 0, "round %d: result %u is %s, not %s", round,
                          i, got, want);
        }
        s_done(&rep);
        for (int i = 0; i < ATTACKERS; i++) {
            /* each attacker gets its own answer: 255 results of A00.00 */
            ck_assert_msg(s_recv(att[i], &rep, T_TIMEOUT), "attacker %d got no answer", i);
            res = cs_obj_get(&rep.up.data, "results");
            char msg[256] = "";
            cs_obj_cstr(cs_obj_get(cs_obj_get(&rep.up.data, "error"), "message"), msg, sizeof msg);
            if (!res) {
                msgpack_object_print(stderr, rep.up.data);
            }
            ck_assert_msg(res && res->type == MSGPACK_OBJECT_ARRAY, "attacker %d: %s", i, msg);
            ck_assert_uint_eq(res->via.array.size, 255);
            s_done(&rep);
        }
    }
    for (int i = 0; i < ATTACKERS; i++) {
        zmq_close(att[i]);
    }
    zmq_close(victim);
    zmq_ctx_term(ctx);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* ---- item 6: a client that never reads ---- */

/* A key of the stats reply's "connections" map, asked through c. */
static int64_t s_conn_stat(cs_tclient_t *c, const char *key)
{
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "stats");
    const msgpack_object *r = cs_tclient_call(c, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    const msgpack_object *conns = cs_obj_get(r, "connections");
    ck_assert_ptr_nonnull(conns);
    return cs_obj_int(cs_obj_get(conns, key));
}

/* The broker's peak resident memory (VmHWM) in KiB. */
static long s_peak_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
    return kib;
}

/* A client that stalls: small receive queue, so unread replies stay in the broker. */
static void *s_stalled(void *ctx, const char *ep)
{
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int one = 1, linger = 0, buf = 4096;
    zmq_setsockopt(sock, ZMQ_RCVHWM, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_RCVBUF, &buf, sizeof buf);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(zmq_connect(sock, ep), 0);
    return sock;
}

START_TEST(test_unread_replies_are_bounded)
{
    /* under AddressSanitizer, freed memory waits in a quarantine (256 MB by default) that
     * would count as growth here: keep it small */
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[512];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=4", asan ? asan : "", asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    cs_daemon_t d;
    const char *args[] = {"--workers", "2", "--max-peer-bytes", "4194304", NULL};
    s_start(&d, args, 0);
    long before = s_peak_kib(d.pid);
    cs_tclient_t *st = cs_tclient_new(d.query_ep);
    void *ctx = zmq_ctx_new();
    enum { ATTACKERS = 2, N = 300 };
    void *att[ATTACKERS];
    for (int a = 0; a < ATTACKERS; a++) {
        att[a] = s_stalled(ctx, d.query_ep);
        for (int i = 0; i < N; i++) {
            s_send_validate(att[a], i, 0, 10000, "A00.00"); /* about 950 KB a reply */
        }
    }
    /* another client is answered meanwhile, and by its turn, not after thousands */
    void *other = s_dealer(ctx, d.query_ep, NULL, 0);
    s_send_search(other, 7, "synthetic category", 10);
    s_reply_t rep;
    ck_assert_msg(s_recv(other, &rep, T_TIMEOUT), "another client's search was not answered");
    ck_assert(cs_obj_true(cs_obj_get(&rep.up.data, "ok")));
    s_done(&rep);
    /* the broker answered busy rather than holding every reply */
    while (s_conn_stat(st, "waiting") > 0) {
        usleep(50000);
    }
    ck_assert_int_gt(s_conn_stat(st, "busy"), 0);
    long grown = s_peak_kib(d.pid) - before;
    /* 600 replies of about 950 KB would be 570 MB; the bound is 4 MiB a connection */
    ck_assert_msg(grown < 200 * 1024, "the broker grew by %ld KiB", grown);
    /* the attackers read: every request has its answer, ok or busy */
    for (int a = 0; a < ATTACKERS; a++) {
        int ok = 0, busy = 0;
        for (int i = 0; i < N; i++) {
            if (!s_recv(att[a], &rep, 2000)) {
                break;
            }
            char code[32];
            ok += cs_obj_true(cs_obj_get(&rep.up.data, "ok"));
            busy += strcmp(cs_obj_error_code(&rep.up.data, code, sizeof code), "busy") == 0;
            s_done(&rep);
        }
        ck_assert_int_gt(ok, 0);
        ck_assert_int_gt(busy, 0);
        zmq_close(att[a]);
    }
    zmq_close(other);
    zmq_ctx_term(ctx);
    cs_tclient_destroy(&st);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* Searches answered by the workers so far: requests.search less those refused busy. */
static int64_t s_searches_done(cs_daemon_t *d)
{
    cs_tclient_t *c = cs_tclient_new(d->query_ep);
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "stats");
    const msgpack_object *r = cs_tclient_call(c, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    int64_t n = cs_obj_int(cs_obj_get(cs_obj_get(r, "requests"), "search")) -
                cs_obj_int(cs_obj_get(cs_obj_get(r, "errors"), "busy"));
    cs_tclient_destroy(&c);
    return n;
}

START_TEST(test_slow_requests_served_in_turn)
{
    cs_daemon_t d;
    const char *args[] = {"--workers", "2", NULL};
    s_start(&d, args, 0);
    void *ctx = zmq_ctx_new();
    void *hog = s_dealer(ctx, d.query_ep, NULL, 0);
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        s_send_search(hog, i, "synthetic category", 10);
    }
    usleep(100000); /* the broker has them all queued */
    int64_t done_before = s_searches_done(&d);
    void *other = s_dealer(ctx, d.query_ep, NULL, 0);
    s_send_search(other, 7, "synthetic category", 10);
    s_reply_t rep;
    ck_assert(s_recv(other, &rep, T_TIMEOUT));
    s_done(&rep);
    int64_t done_after = s_searches_done(&d);
    /* in turn: a handful of the hog's searches were answered before it, not thousands */
    ck_assert_msg(done_after < N / 2 || done_before > N / 2,
                  "the other client's search waited behind %lld of the hog's",
                  (long long)(done_after - done_before));
    zmq_close(hog);
    zmq_close(other);
    zmq_ctx_term(ctx);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* ---- item 7: descriptors ---- */

/* The broker's CPU time so far (user + system), in clock ticks. */
static long s_cpu_ticks(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* fields after the command name */
    ck_assert_ptr_nonnull(p);
    long utime = 0, stime = 0;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
                            &utime, &stime), 2);
    return utime + stime;
}

/* A ping from a fresh connection: 1 when answered within ms. */
static int s_ping(const char *ep, int ms)
{
    cs_tclient_t *c = cs_tclient_new(ep);
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "ping");
    int ok = cs_tclient_call(c, ms) != NULL;
    cs_tclient_destroy(&c);
    return ok;
}

START_TEST(test_idle_connections_capped_no_spin)
{
    /* the broker starts with a descriptor limit of 300, hard: it cannot raise it */
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    d.nofile = 300;
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *st = cs_tclient_new(d.query_ep); /* opened first: within the cap */
    int64_t max = s_conn_stat(st, "max");
    ck_assert_int_lt(max, 300);
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 2000);
    enum { IDLE = 500 };
    static void *idle[IDLE];
    for (int i = 0; i < IDLE; i++) {
        idle[i] = zmq_socket(ctx, ZMQ_DEALER);
        ck_assert_ptr_nonnull(idle[i]);
        int linger = 0, no_reconnect = -1;
        zmq_setsockopt(idle[i], ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(idle[i], ZMQ_RECONNECT_IVL, &no_reconnect, sizeof no_reconnect);
        ck_assert_int_eq(zmq_connect(idle[i], d.query_ep), 0);
    }
    /* wait until the broker has refused what it will: open at the cap, the rest refused */
    int64_t refused = -1, now;
    for (int tries = 0; tries < 40 && (now = s_conn_stat(st, "refused")) != refused; tries++) {
        refused = now;
        usleep(250000);
    }
    fprintf(stderr, "%s: %lld refused, %lld open, at most %lld\n", __func__,
            (long long)refused, (long long)s_conn_stat(st, "open"), (long long)max);
    ck_assert_int_gt(refused, 0);
    ck_assert_int_le(s_conn_stat(st, "open"), max + 1);
    /* idle, it does not spin: under half a CPU over a second */
    long t0 = s_cpu_ticks(d.pid);
    sleep(1);
    long used = s_cpu_ticks(d.pid) - t0;
    ck_assert_msg(used < sysconf(_SC_CLK_TCK) / 2, "the broker used %ld ticks idle", used);
    /* room again: a new client is answered */
    for (int i = 0; i < IDLE; i++) {
        zmq_close(idle[i]);
    }
    int answered = 0;
    for (int tries = 0; tries < 20 && !answered; tries++) {
        answered = s_ping(d.query_ep, 1000);
    }
    ck_assert(answered);
    zmq_ctx_term(ctx);
    cs_tclient_destroy(&st);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* ---- item 14: SIGTERM drains ---- */

START_TEST(test_sigterm_answers_what_was_received)
{
    cs_daemon_t d;
    s_start(&d, NULL, 0);
    void *ctx = zmq_ctx_new();
    enum { CLIENTS = 4, N = 1000 };
    void *c[CLIENTS];
    for (int k = 0; k < CLIENTS; k++) {
        c[k] = s_dealer(ctx, d.query_ep, NULL, 0);
        for (int i = 0; i < N; i++) {
            if (k % 2) {
                s_send_search(c[k], i, "b12", 10);
            } else {
                s_send_validate(c[k], i, (unsigned)i, 1, NULL);
            }
        }
    }
    usleep(20000); /* the requests are at the broker, most not yet answered */
    pid_t pid = d.pid;
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    for (int k = 0; k < CLIENTS; k++) {
        int got = 0;
        s_reply_t rep;
        while (got < N && s_recv(c[k], &rep, 10000)) {
            ck_assert(cs_obj_true(cs_obj_get(&rep.up.data, "ok")));
            s_done(&rep);
            got++;
        }
        ck_assert_msg(got == N, "client %d: %d of %d answered", k, got, N);
        zmq_close(c[k]);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    d.pid = 0;
    zmq_ctx_term(ctx);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_hostile_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_crosswalk_within_system_without_tables);
    tcase_add_test(tc, test_identity_cannot_splice_slices);
    tcase_add_test(tc, test_unread_replies_are_bounded);
    tcase_add_test(tc, test_slow_requests_served_in_turn);
    tcase_add_test(tc, test_idle_connections_capped_no_spin);
    tcase_add_test(tc, test_sigterm_answers_what_was_received);
    suite_add_tcase(s, tc);
    return s;
}
