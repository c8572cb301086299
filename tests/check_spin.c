/* check_spin.c: the round-trip settings of issue 19 (section 2) against real codesetd
 * processes: a broker that spins (--spin-us) with its I/O threads placed and counted
 * (--io-threads, --io-affinity) answers byte for byte as one that sleeps at once, a client
 * that spins (cs_client_opts_t.spin_us) gets the same results, and the spin is bounded: an
 * idle broker's serving thread, after a burst of requests, uses next to no CPU. The client's
 * own ZMTP connection (csc_zmtp.c) answers as the ZeroMQ socket does, over tcp and ipc, and
 * outlives a broker's restart without a failed call. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "codeset_client.h"
#include "cs_daemon.h"
#include "cs_test.h"
#include "util/cs_spin.h"

/* A broker with extra options and the sample release "S" (effective 2020-10-01) loaded. */
static void s_start(cs_daemon_t *d, const char *const *args)
{
    cs_daemon_start_sample(d, args);
}

/* CPU clock ticks (user + system) the thread tid of process pid has used. */
static long s_thread_ticks(pid_t pid, pid_t tid)
{
    char path[128], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the fields after the command name, which is in parentheses and may hold spaces */
    const char *p = strrchr(buf, ')');
    ck_assert_ptr_nonnull(p);
    long utime = 0, stime = 0;
    ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime,
                            &stime),
                     2);
    return utime + stime;
}

static const char *const s_codes[] = {"E11.9", "E119", "A00", "A00.0", "E11", "Z99.99"};

START_TEST(test_spin_same_bytes)
{
    static const char *const spin[] = {"--spin-us", "500", "--io-threads", "2",
                                       "--io-affinity", "same", NULL};
    static const char *const none[] = {"--spin-us", "0", "--io-affinity", "apart", NULL};
    cs_daemon_t a, b;
    s_start(&a, spin);
    s_start(&b, none);
    cs_tclient_t *qa = cs_tclient_new(a.query_ep), *qb = cs_tclient_new(b.query_ep);
    ck_assert_ptr_nonnull(qa);
    ck_assert_ptr_nonnull(qb);
    for (size_t i = 0; i < sizeof s_codes / sizeof s_codes[0]; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 3);
        cs_tpack_kv(&pk, "op", "lookup");
        cs_tpack_kv(&pk, "system", "icd10cm");
        cs_tpack_kv(&pk, "code", s_codes[i]);
        char why[256];
        const msgpack_object *r = cs_tclient_same_answer(qa, qb, sb.data, sb.size, why,
                                                         sizeof why);
        ck_assert_msg(r != NULL, "lookup %s: %s", s_codes[i], why);
        msgpack_sbuffer_destroy(&sb);
    }
    /* a client that spins gets what one that sleeps gets */
    const char *eps[] = {a.query_ep};
    cs_client_opts_t spins = {.spin_us = 300}, sleeps = {.spin_us = -1};
    cs_client_error_t err;
    cs_client_t *cs = cs_client_new(eps, 1, &spins, &err);
    cs_client_t *cz = cs_client_new(eps, 1, &sleeps, &err);
    ck_assert_ptr_nonnull(cs);
    ck_assert_ptr_nonnull(cz);
    for (int k = 0; k < 50; k++) {
        const char *code = s_codes[k % (sizeof s_codes / sizeof s_codes[0])];
        cs_client_lookup_t *ls = NULL, *lz = NULL;
        ck_assert_int_eq(cs_client_lookup(cs, "icd10cm", code, 0, NULL, &ls), CS_CLIENT_OK);
        ck_assert_int_eq(cs_client_lookup(cz, "icd10cm", code, 0, NULL, &lz), CS_CLIENT_OK);
        ck_assert_int_eq(ls->found, lz->found);
        if (ls->found) {
            ck_assert_str_eq(ls->code, lz->code);
            ck_assert_str_eq(ls->title, lz->title);
        }
        cs_client_lookup_destroy(&ls);
        cs_client_lookup_destroy(&lz);
    }
    cs_client_destroy(&cs);
    cs_client_destroy(&cz);
    cs_tclient_destroy(&qa);
    cs_tclient_destroy(&qb);
    ck_assert_int_eq(cs_daemon_stop(&a), 0);
    ck_assert_int_eq(cs_daemon_stop(&b), 0);
    cs_daemon_cleanup(&a);
    cs_daemon_cleanup(&b);
}
END_TEST

/* The spin is bounded: after a burst of requests from one client (which starts it), an idle
 * broker's serving thread (the process's first) sleeps. Over a second of idleness a loop
 * that kept spinning would use most of it; a sleeping one wakes five times. */
START_TEST(test_spin_bounded)
{
    static const char *const spin[] = {"--spin-us", "10000", NULL};
    cs_daemon_t d;
    s_start(&d, spin);
    const char *eps[] = {d.query_ep};
    cs_client_error_t err;
    cs_client_t *c = cs_client_new(eps, 1, NULL, &err);
    ck_assert_ptr_nonnull(c);
    for (int k = 0; k < 2000; k++) {
        cs_client_lookup_t *l = NULL;
        ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "E11.9", 0, NULL, &l), CS_CLIENT_OK);
        cs_client_lookup_destroy(&l);
    }
    struct timespec settle = {0, 100 * 1000000L}, idle = {1, 0};
    nanosleep(&settle, NULL); /* past the spin's 10 ms */
    long t0 = s_thread_ticks(d.pid, d.pid);
    nanosleep(&idle, NULL);
    long used = s_thread_ticks(d.pid, d.pid) - t0;
    long hz = sysconf(_SC_CLK_TCK);
    ck_assert_msg(used * 10 < hz, "an idle broker's loop used %ld of %ld ticks", used, hz);
    cs_client_destroy(&c);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* A lookup of code through c: its title, or "" when not found (out, cap). */
static const char *s_title(cs_client_t *c, const char *code, char *out, size_t cap)
{
    cs_client_lookup_t *l = NULL;
    int rc = cs_client_lookup(c, "icd10cm", code, 0, NULL, &l);
    ck_assert_msg(rc == CS_CLIENT_OK, "lookup %s: %s", code, cs_client_last_error(c)->message);
    snprintf(out, cap, "%s", l->found ? l->title : "");
    cs_client_lookup_destroy(&l);
    return out;
}

/* Synchronous calls over the client's own ZMTP connection (the default for one endpoint,
 * tcp:// and ipc://) answer as through the ZeroMQ socket (via_zmq); a broker restarted under
 * the connection costs no call, and calls go on over a new connection. */
START_TEST(test_own_connection)
{
    char listen[64];
    snprintf(listen, sizeof listen, "tcp://127.0.0.1:%d", cs_test_free_port());
    const char *args[] = {"--listen", listen, NULL};
    cs_daemon_t d;
    s_start(&d, args);
    cs_client_opts_t own = {.timeout_ms = 2000}, zmq = {.timeout_ms = 2000, .via_zmq = 1};
    cs_client_error_t err;
    const char *tcp[] = {listen}, *ipc[] = {d.query_ep};
    cs_client_t *c[3] = {cs_client_new(tcp, 1, &own, &err), cs_client_new(ipc, 1, &own, &err),
                         cs_client_new(tcp, 1, &zmq, &err)};
    for (int k = 0; k < 3; k++) {
        ck_assert_ptr_nonnull(c[k]);
    }
    for (size_t i = 0; i < sizeof s_codes / sizeof s_codes[0]; i++) {
        char a[512], b[512], z[512];
        ck_assert_str_eq(s_title(c[0], s_codes[i], a, sizeof a),
                         s_title(c[2], s_codes[i], z, sizeof z));
        ck_assert_str_eq(s_title(c[1], s_codes[i], b, sizeof b), z);
    }
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    ck_assert_int_eq(cs_daemon_start(&d, args), 0); /* the same database again */
    for (int k = 0; k < 3; k++) {
        for (int round = 0; round < 3; round++) {
            char t[512];
            ck_assert_str_eq(s_title(c[k], "E11.9", t, sizeof t),
                             "Type 2 diabetes mellitus without complications");
        }
        ck_assert_uint_eq(cs_client_reconnects(c[k]), 0);
        cs_client_destroy(&c[k]);
    }
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* A peer that completes the ZMTP handshake as a ROUTER, then answers every request with a
 * frame header claiming 2^64-1 bytes (mode 1) or with bytes that are no ZMTP (mode 0). */
typedef struct s_liar {
    int lfd;   /* listening socket */
    int mode;
    atomic_int stop;
} s_liar_t;

static void *s_liar_run(void *arg)
{
    s_liar_t *l = arg;
    static const unsigned char greeting[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0,
                                               'N', 'U', 'L', 'L'};
    static const unsigned char ready[30] = {4, 28, 5, 'R', 'E', 'A', 'D', 'Y', 11, 'S', 'o',
                                            'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e', 0,
                                            0, 0, 6, 'R', 'O', 'U', 'T', 'E', 'R'};
    static const unsigned char huge[9] = {2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    while (!atomic_load(&l->stop)) {
        int fd = accept(l->lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        unsigned char in[512];
        if (l->mode == 0) {
            static const char junk[64] = "HTTP/1.0 200 OK\r\n\r\nnot ZMTP at all";
            ssize_t w = write(fd, junk, sizeof junk);
            (void)w;
        } else if (write(fd, greeting, sizeof greeting) == (ssize_t)sizeof greeting &&
                   write(fd, ready, sizeof ready) == (ssize_t)sizeof ready &&
                   read(fd, in, sizeof in) > 0) { /* its greeting, READY, maybe a request */
            struct timeval tv = {0, 200000};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            while (read(fd, in, sizeof in) > 0) {
                if (write(fd, huge, sizeof huge) < 0) {
                    break;
                }
            }
        }
        close(fd);
    }
    return NULL;
}

/* A peer that lies (no ZMTP, or a frame longer than anything) costs the client a timeout,
 * never a crash or an allocation of the claimed size. */
START_TEST(test_hostile_peer)
{
    for (int mode = 0; mode < 2; mode++) {
        s_liar_t l = {.lfd = socket(AF_INET, SOCK_STREAM, 0), .mode = mode};
        atomic_init(&l.stop, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        ck_assert_int_eq(bind(l.lfd, (struct sockaddr *)&a, sizeof a), 0);
        ck_assert_int_eq(getsockname(l.lfd, (struct sockaddr *)&a, &len), 0);
        ck_assert_int_eq(listen(l.lfd, 16), 0);
        struct timeval tv = {0, 100000}; /* accept wakes to see stop */
        setsockopt(l.lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, s_liar_run, &l), 0);
        char ep[64];
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
        const char *eps[] = {ep};
        cs_client_opts_t o = {.timeout_ms = 300, .tries = 2};
        cs_client_error_t err;
        cs_client_t *c = cs_client_new(eps, 1, &o, &err);
        ck_assert_ptr_nonnull(c);
        cs_client_lookup_t *r = NULL;
        ck_assert_int_eq(cs_client_lookup(c, "icd10cm", "E11.9", 0, NULL, &r),
                         CS_CLIENT_ETIMEOUT);
        ck_assert_ptr_null(r);
        cs_client_destroy(&c);
        atomic_store(&l.stop, 1);
        pthread_join(th, NULL);
        close(l.lfd);
    }
}
END_TEST

/* The spin follows a lone client's pace: twice its last pause, within the bounds; the
 * shortest once it pauses longer than the longest (util/cs_spin.h). */
START_TEST(test_spin_window)
{
    const uint64_t us = 1000, lo = 50 * us, hi = 300 * us;
    ck_assert_uint_eq(cs_spin_window(0, lo, hi), lo);
    ck_assert_uint_eq(cs_spin_window(10 * us, lo, hi), lo);
    ck_assert_uint_eq(cs_spin_window(40 * us, lo, hi), 80 * us);
    ck_assert_uint_eq(cs_spin_window(120 * us, lo, hi), 240 * us);
    ck_assert_uint_eq(cs_spin_window(200 * us, lo, hi), hi);
    ck_assert_uint_eq(cs_spin_window(hi, lo, hi), hi);
    ck_assert_uint_eq(cs_spin_window(hi + 1, lo, hi), lo);
    ck_assert_uint_eq(cs_spin_window(UINT64_MAX, lo, hi), lo);
    /* --spin-us 0: never; --spin-us at or below the shortest: a fixed spin, as before */
    ck_assert_uint_eq(cs_spin_window(10 * us, 0, 0), 0);
    ck_assert_uint_eq(cs_spin_window(20 * us, 30 * us, 30 * us), 30 * us);
    ck_assert_uint_eq(cs_spin_window(200 * us, 30 * us, 30 * us), 30 * us);
}
END_TEST

Suite *cs_spin_suite(void);
Suite *cs_spin_suite(void)
{
    Suite *s = suite_create("spin");
    TCase *tc = tcase_create("round-trip settings");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_spin_same_bytes);
    tcase_add_test(tc, test_spin_bounded);
    tcase_add_test(tc, test_spin_window);
    tcase_add_test(tc, test_own_connection);
    tcase_add_test(tc, test_hostile_peer);
    suite_add_tcase(s, tc);
    return s;
}
