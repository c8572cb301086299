/* check_access.c: who may talk to codesetd, against a real broker.
 *
 *  - the admin socket file is mode 0600 in a directory of the broker's own; a directory that
 *    others can write, or a tcp admin endpoint without CURVE and a client list, stops start-up;
 *  - plugins: a plugin directory writable by group or others stops start-up;
 *  - CURVE on tcp: without the broker's key, or with a key not on the client list, a client
 *    gets no answer at all; with a listed key (raw ZeroMQ, and the codeset CLI with
 *    --curve-server-key/--curve-key) it gets answers; a readable secret key file is refused;
 *  - limits: --max-codes and --max-search-limit apply, and their bounds are enforced (and
 *    those of --spin-us, --io-threads and --io-affinity).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_NO_ANSWER_MS 1500 /* a refused client waits this long for nothing */

/* Run a program with argv, its stderr into err (NUL-terminated); returns its exit status,
 * or -1 if it did not exit within 20 s (then it is killed). */
static int s_run(const char *const *argv, char *err, size_t cap)
{
    char path[] = "/tmp/cs-access-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fd, STDERR_FILENO);
        dup2(fd, STDOUT_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0, done = 0;
    for (int i = 0; i < 400 && !done; i++) {
        done = waitpid(pid, &status, WNOHANG) == pid;
        if (!done) {
            struct timespec ts = {0, 50000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ssize_t n = pread(fd, err, cap - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return done && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void s_exe(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/bin/%s", cs_test_build_dir(), name);
}

START_TEST(test_admin_socket_mode)
{
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    struct stat st;
    ck_assert_int_eq(stat(d.admin_ep + strlen("ipc://"), &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_msg((st.st_mode & 07777) == 0600, "admin socket mode %04o",
                  (unsigned)(st.st_mode & 07777));
    ck_assert_uint_eq(st.st_uid, geteuid());
    /* the query socket answers the admin ops with forbidden, the admin socket serves them */
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "plugins");
    char code[64];
    ck_assert_str_eq(cs_obj_error_code(cs_tclient_call(q, 5000), code, sizeof code), "forbidden");
    cs_tclient_destroy(&q);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    /* a clean stop removes the socket file */
    ck_assert_int_ne(stat(d.admin_ep + strlen("ipc://"), &st), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* codesetd refuses to start (exit 2, with the reason) with these extra arguments. */
static void s_refused(const char *dir, const char *const *extra, const char *why)
{
    char exe[700], db[700], msg[4096];
    s_exe(exe, sizeof exe, "codesetd");
    snprintf(db, sizeof db, "%s/db", dir);
    const char *argv[24] = {exe, "--db", db};
    int argc = 3;
    for (int i = 0; extra[i]; i++) {
        argv[argc++] = extra[i];
    }
    argv[argc] = NULL;
    int rc = s_run(argv, msg, sizeof msg);
    ck_assert_msg(rc == 2, "codesetd exited %d, expected 2 (%s); it said: %s", rc, why, msg);
    ck_assert_msg(strstr(msg, why) != NULL, "codesetd said '%s', expected '%s'", msg, why);
}

START_TEST(test_admin_dir_refused)
{
    char dir[512], open_dir[600], ep[700], listen[700];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(open_dir, sizeof open_dir, "%s/shared", dir);
    ck_assert_int_eq(mkdir(open_dir, 0700), 0);
    ck_assert_int_eq(chmod(open_dir, 0777), 0);
    snprintf(ep, sizeof ep, "ipc://%s/admin.sock", open_dir);
    snprintf(listen, sizeof listen, "ipc://%s/query.sock", dir);
    const char *a1[] = {"--listen", listen, "--admin", ep, NULL};
    s_refused(dir, a1, "not be writable by group or others");
    ck_assert_int_eq(chmod(open_dir, 0770), 0);
    s_refused(dir, a1, "not be writable by group or others");
    /* the admin op over tcp needs CURVE with a client list */
    const char *a2[] = {"--listen", listen, "--admin", "tcp://127.0.0.1:5", NULL};
    s_refused(dir, a2, "needs --curve-secret and --curve-clients");
    cs_test_rmtree(dir);
}
END_TEST

START_TEST(test_plugin_dir_refused)
{
    char dir[512], plugins[600], listen[700];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(plugins, sizeof plugins, "%s/plugins", dir);
    snprintf(listen, sizeof listen, "ipc://%s/query.sock", dir);
    ck_assert_int_eq(mkdir(plugins, 0700), 0);
    const char *a[] = {"--listen", listen, "--plugins", plugins, NULL};
    ck_assert_int_eq(chmod(plugins, 0777), 0);
    s_refused(dir, a, "writable by group or others");
    ck_assert_int_eq(chmod(plugins, 0775), 0);
    s_refused(dir, a, "writable by group or others");
    ck_assert_int_eq(chmod(plugins, 0757), 0);
    s_refused(dir, a, "writable by group or others");
    cs_test_rmtree(dir);
}
END_TEST

/* Make a key pair with codesetd --curve-keygen: path (secret) and path.pub. */
static void s_keygen(const char *path)
{
    char exe[700], msg[1024];
    s_exe(exe, sizeof exe, "codesetd");
    const char *argv[] = {exe, "--curve-keygen", path, NULL};
    ck_assert_msg(s_run(argv, msg, sizeof msg) == 0, "keygen: %s", msg);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
}

/* A server key pair whose public key holds '=' (a Z85 character that a careless reader
 * takes for "name = value"), written the way --curve-keygen writes keys. */
static void s_keygen_with_eq(const char *path)
{
    char pub[41], sec[41];
    int tries = 0;
    do {
        ck_assert_int_eq(zmq_curve_keypair(pub, sec), 0);
        ck_assert_int_lt(++tries, 1000);
    } while (!strchr(pub, '='));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_gt(dprintf(fd, "# secret\n%s\n", sec), 0);
    close(fd);
    char pubpath[700];
    snprintf(pubpath, sizeof pubpath, "%s.pub", path);
    FILE *f = fopen(pubpath, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "# public\n%s\n", pub);
    fclose(f);
}

static void s_read_z85(const char *path, char *out)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (line[0] != '#' && strlen(line) >= 40) {
            memcpy(out, line, 40);
            out[40] = '\0';
        }
    }
    fclose(f);
    ck_assert_uint_eq(strlen(out), 40);
}

/* Ping ep with a REQ socket: plain (server NULL) or CURVE with the given keys (client pair
 * made here when pub is NULL). Returns 1 if an ok reply came within the wait. */
static int s_ping(const char *ep, const char *server, const char *pub, const char *sec)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REQ);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    char p[41], k[41];
    if (server) {
        if (!pub) {
            ck_assert_int_eq(zmq_curve_keypair(p, k), 0);
            pub = p;
            sec = k;
        }
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 40);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
    }
    ck_assert_int_eq(zmq_connect(s, ep), 0);
    static const unsigned char ping[] = {0x81, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g'};
    zmq_send(s, ping, sizeof ping, 0);
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    int ok = 0;
    if (zmq_poll(&it, 1, T_NO_ANSWER_MS) > 0) {
        char buf[512];
        int n = zmq_recv(s, buf, sizeof buf, 0);
        /* {"ok": true, ...}: good enough to see a real reply, not an error */
        ok = n > 4 && memmem(buf, (size_t)n, "\xa2ok\xc3", 4) != NULL;
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return ok;
}

/* Start a broker with a tcp query endpoint and extra args; tries a few ports. */
static void s_start_tcp(cs_daemon_t *d, char *tcp, size_t cap, const char *const *extra)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    for (int attempt = 0; attempt < 8; attempt++) {
        memset(d, 0, sizeof *d);
        snprintf(tcp, cap, "tcp://127.0.0.1:%d", 20000 + (int)(rand_r(&seed) % 40000));
        const char *args[16] = {"--listen", tcp};
        int n = 2;
        for (int i = 0; extra[i]; i++) {
            args[n++] = extra[i];
        }
        args[n] = NULL;
        /* the harness binds its own ipc query endpoint too: it pings over that one */
        if (cs_daemon_start(d, args) == 0) {
            return;
        }
        cs_daemon_cleanup(d);
    }
    ck_abort_msg("codesetd did not start with a tcp endpoint");
}

START_TEST(test_curve_client_list)
{
    char keys[512], srv[600], cli[600], other[600], list[600], pubfile[700];
    cs_test_tmpdir(keys, sizeof keys);
    snprintf(srv, sizeof srv, "%s/server.key", keys);
    snprintf(cli, sizeof cli, "%s/client.key", keys);
    snprintf(other, sizeof other, "%s/other.key", keys);
    snprintf(list, sizeof list, "%s/clients", keys);
    s_keygen_with_eq(srv);
    s_keygen(cli);
    s_keygen(other);
    ck_assert_int_eq(mkdir(list, 0700), 0);
    /* the list directory holds the allowed client's public key file */
    char srv_pub[41], cli_pub[41], cli_sec[41], oth_pub[41], oth_sec[41];
    snprintf(pubfile, sizeof pubfile, "%s.pub", srv);
    s_read_z85(pubfile, srv_pub);
    snprintf(pubfile, sizeof pubfile, "%s.pub", cli);
    s_read_z85(pubfile, cli_pub);
    s_read_z85(cli, cli_sec);
    snprintf(pubfile, sizeof pubfile, "%s.pub", other);
    s_read_z85(pubfile, oth_pub);
    s_read_z85(other, oth_sec);
    char listed[700];
    snprintf(listed, sizeof listed, "%s/client.pub", list);
    FILE *f = fopen(listed, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "# allowed: the test client\npublic-key = \"%s\"\n", cli_pub);
    fclose(f);

    cs_daemon_t d;
    char tcp[64];
    /* an ipc endpoint bound after the tcp one stays plain too (bind-time options) */
    char ipc2[700];
    snprintf(ipc2, sizeof ipc2, "ipc://%s/second.sock", keys);
    const char *extra[] = {"--listen", ipc2, "--curve-secret", srv, "--curve-clients", list,
                           NULL};
    s_start_tcp(&d, tcp, sizeof tcp, extra);
    ck_assert_msg(!s_ping(tcp, NULL, NULL, NULL), "a plain client got an answer over tcp");
    ck_assert_msg(!s_ping(tcp, srv_pub, NULL, NULL), "an unlisted (fresh) key got an answer");
    ck_assert_msg(!s_ping(tcp, srv_pub, oth_pub, oth_sec), "an unlisted key got an answer");
    ck_assert_msg(!s_ping(tcp, cli_pub, cli_pub, cli_sec), "a wrong server key got an answer");
    ck_assert_msg(s_ping(tcp, srv_pub, cli_pub, cli_sec), "the listed client got no answer");
    /* ipc stays plain: file permissions guard it */
    ck_assert(s_ping(d.query_ep, NULL, NULL, NULL));
    ck_assert_msg(s_ping(ipc2, NULL, NULL, NULL), "the ipc endpoint after the tcp one is shut");

    /* the CLI: with both keys it gets its answer, without its own key it times out (3) */
    char exe[700], msg[4096], srv_pubfile[700];
    s_exe(exe, sizeof exe, "codeset");
    snprintf(srv_pubfile, sizeof srv_pubfile, "%s.pub", srv);
    const char *ok_argv[] = {exe, "--connect", tcp, "--timeout", "3000", "--curve-server-key",
                             srv_pubfile, "--curve-key", cli, "ping", NULL};
    ck_assert_msg(s_run(ok_argv, msg, sizeof msg) == 0, "codeset ping with keys: %s", msg);
    const char *nokey_argv[] = {exe, "--connect", tcp, "--timeout", "1500",
                                "--curve-server-key", srv_pubfile, "ping", NULL};
    ck_assert_int_eq(s_run(nokey_argv, msg, sizeof msg), 3);
    const char *plain_argv[] = {exe, "--connect", tcp, "--timeout", "1500", "ping", NULL};
    ck_assert_int_eq(s_run(plain_argv, msg, sizeof msg), 3);
    /* a client secret key others can read is refused by the CLI too */
    ck_assert_int_eq(chmod(cli, 0644), 0);
    ck_assert_int_ne(s_run(ok_argv, msg, sizeof msg), 0);
    ck_assert_ptr_nonnull(strstr(msg, "owner only"));
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);

    /* a broker secret key others can read stops start-up */
    ck_assert_int_eq(chmod(srv, 0640), 0);
    char dir[512];
    cs_test_tmpdir(dir, sizeof dir);
    char listen[700];
    snprintf(listen, sizeof listen, "ipc://%s/query.sock", dir);
    const char *a[] = {"--listen", listen, "--curve-secret", srv, NULL};
    s_refused(dir, a, "readable by its owner only");
    ck_assert_int_eq(chmod(srv, 0600), 0);
    /* a client list with no key in it admits nobody: refused as a mistake */
    char empty[700];
    snprintf(empty, sizeof empty, "%s/empty.list", keys);
    f = fopen(empty, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# nobody\n", f);
    fclose(f);
    const char *b[] = {"--listen", listen, "--curve-secret", srv, "--curve-clients", empty,
                       NULL};
    s_refused(dir, b, "no client public key");
    cs_test_rmtree(dir);
    cs_test_rmtree(keys);
}
END_TEST

/* Without a client list, CURVE still encrypts and authenticates the server: a client must know
 * the broker's public key, and any client key is served. */
START_TEST(test_curve_without_list)
{
    char keys[512], srv[600], pubfile[700], srv_pub[41];
    cs_test_tmpdir(keys, sizeof keys);
    snprintf(srv, sizeof srv, "%s/server.key", keys);
    s_keygen(srv);
    snprintf(pubfile, sizeof pubfile, "%s.pub", srv);
    s_read_z85(pubfile, srv_pub);
    cs_daemon_t d;
    char tcp[64];
    const char *extra[] = {"--curve-secret", srv, NULL};
    s_start_tcp(&d, tcp, sizeof tcp, extra);
    ck_assert(!s_ping(tcp, NULL, NULL, NULL));
    ck_assert(s_ping(tcp, srv_pub, NULL, NULL));
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
    cs_test_rmtree(keys);
}
END_TEST

START_TEST(test_limits)
{
    char dir[512], listen[700];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(listen, sizeof listen, "ipc://%s/query.sock", dir);
    const char *a1[] = {"--listen", listen, "--max-codes", "10001", NULL};
    s_refused(dir, a1, "--max-codes takes a number from 1 to 10000");
    const char *a2[] = {"--listen", listen, "--max-search-limit", "0", NULL};
    s_refused(dir, a2, "--max-search-limit takes a number from 1 to 500");
    const char *a3[] = {"--listen", listen, "--max-search-limit", "501", NULL};
    s_refused(dir, a3, "--max-search-limit takes a number from 1 to 500");
    const char *a4[] = {"--listen", listen, "--spin-us", "10001", NULL};
    s_refused(dir, a4, "--spin-us takes microseconds from 0 to 10000");
    const char *a5[] = {"--listen", listen, "--io-threads", "0", NULL};
    s_refused(dir, a5, "--io-threads takes a number from 1 to 16");
    const char *a6[] = {"--listen", listen, "--io-affinity", "near", NULL};
    s_refused(dir, a6, "--io-affinity is any, same or apart, not 'near'");
    cs_test_rmtree(dir);

    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    const char *args[] = {"--max-codes", "5", "--max-search-limit", "3", NULL};
    ck_assert_int_eq(cs_daemon_start(&d, args), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char cwd[PATH_MAX], xml[PATH_MAX + 80], order[PATH_MAX + 80], state[64], code[64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(xml, sizeof xml, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml",
             cwd);
    snprintf(order, sizeof order, "%s/loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt",
             cwd);
    const char *files[] = {xml, order};
    cs_daemon_load(&d, admin, NULL, "S", "2020-10-01", files, 2, state, sizeof state, 30000);
    ck_assert_str_eq(state, "done");
    for (int n = 5; n <= 6; n++) {
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "validate");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_str(pk, "codes");
        msgpack_pack_array(pk, (uint32_t)n);
        for (int i = 0; i < n; i++) {
            cs_tpack_str(pk, "E11.9");
        }
        const msgpack_object *r = cs_tclient_call(q, 5000);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(cs_obj_error_code(r, code, sizeof code), n == 5 ? "" : "too_many");
    }
    for (int with_limit = 0; with_limit < 2; with_limit++) {
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, with_limit ? 4 : 3);
        cs_tpack_kv(pk, "op", "search");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "q", "diabetes");
        if (with_limit) {
            cs_tpack_str(pk, "limit");
            msgpack_pack_int(pk, 100);
        }
        const msgpack_object *r = cs_tclient_call(q, 5000);
        ck_assert_ptr_nonnull(r);
        ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "search: %s",
                      cs_obj_error_code(r, code, sizeof code));
        ck_assert_int_gt(cs_obj_int(cs_obj_get(r, "total")), 3);
        ck_assert_uint_eq(cs_obj_get(r, "hits")->via.array.size, 3);
    }
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_access_suite(void);
Suite *cs_access_suite(void)
{
    Suite *s = suite_create("access");
    TCase *tc = tcase_create("admin socket and plugins");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_admin_socket_mode);
    tcase_add_test(tc, test_admin_dir_refused);
    tcase_add_test(tc, test_plugin_dir_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("curve");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_curve_client_list);
    tcase_add_test(tc, test_curve_without_list);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_limits);
    suite_add_tcase(s, tc);
    return s;
}
