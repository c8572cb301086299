/* cs_daemon.c: a real codesetd for tests, and a small synchronous client. */
#include "cs_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cs_test.h"

struct cs_tclient {
    void *ctx;
    void *sock;
    char endpoint[700];
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked reply;
    zmq_msg_t msg;
    int have_msg;
};

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- what a sanitizer said ----
 * A daemon that a sanitizer aborted fails its test as "did not answer" or a bad exit status,
 * while the report is in the daemon's log, which the failed test leaves in its directory:
 * the suite's output should carry it. */

/* Print what a sanitizer reported in log (from its first report line, at most 60 lines),
 * if it reported anything. */
static void s_print_sanitizer_report(pid_t pid, const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f) {
        return;
    }
    char line[1024];
    int printing = 0;
    for (int n = 0; n < 60 && fgets(line, sizeof line, f);) {
        if (!printing && (strstr(line, "Sanitizer") || strstr(line, "runtime error:"))) {
            fprintf(stderr, "codesetd (pid %d) was stopped by a sanitizer; from %s:\n",
                    (int)pid, log);
            printing = 1;
        }
        if (printing) {
            fputs(line, stderr);
            n++;
        }
    }
    fclose(f);
}

/* Daemons started and not yet stopped, for a report when a request times out (a failed test
 * leaves with _exit from the middle of its function, so not at its end or at exit). */
#define S_WATCHED 32
static struct {
    pid_t pid;
    char log[700];
} s_watched[S_WATCHED];

/* A watched daemon that has ended: what a sanitizer said, and it is watched no more. */
static void s_report_dead(void)
{
    for (int i = 0; i < S_WATCHED; i++) {
        int status;
        if (s_watched[i].pid > 0 &&
            waitpid(s_watched[i].pid, &status, WNOHANG) == s_watched[i].pid) {
            s_print_sanitizer_report(s_watched[i].pid, s_watched[i].log);
            s_watched[i].pid = 0;
        }
    }
}

static void s_watch(pid_t pid, const char *log)
{
    for (int i = 0; i < S_WATCHED; i++) {
        if (s_watched[i].pid <= 0) {
            s_watched[i].pid = pid;
            snprintf(s_watched[i].log, sizeof s_watched[i].log, "%s", log);
            return;
        }
    }
}

/* pid has ended: its exit status was status (or unknown, -1); report what a sanitizer said. */
static void s_unwatch(pid_t pid, int status)
{
    for (int i = 0; i < S_WATCHED; i++) {
        if (s_watched[i].pid == pid) {
            if (status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                s_print_sanitizer_report(pid, s_watched[i].log);
            }
            s_watched[i].pid = 0;
        }
    }
}

static int s_ping(const char *ep, int timeout_ms)
{
    cs_tclient_t *c = cs_tclient_new(ep);
    if (!c) {
        return -1;
    }
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "ping");
    const msgpack_object *r = cs_tclient_call(c, timeout_ms);
    int ok = r && cs_obj_true(cs_obj_get(r, "ok"));
    cs_tclient_destroy(&c);
    return ok ? 0 : -1;
}

int cs_daemon_start(cs_daemon_t *d, const char *const *extra_args)
{
    if (!d->dir[0]) {
        cs_test_tmpdir(d->dir, sizeof d->dir);
        snprintf(d->db, sizeof d->db, "%s/db", d->dir);
        snprintf(d->query_ep, sizeof d->query_ep, "ipc://%s/query.sock", d->dir);
        snprintf(d->admin_ep, sizeof d->admin_ep, "ipc://%s/admin.sock", d->db);
        snprintf(d->log, sizeof d->log, "%s/codesetd.log", d->dir);
    }
    char exe[600];
    snprintf(exe, sizeof exe, "%s/bin/codesetd", cs_test_build_dir());
    const char *argv[32] = {exe, "--db", d->db, "--listen", d->query_ep, "--admin",
                            d->admin_ep};
    int argc = 7;
    /* CS_TEST_FRONT=zmq (or direct, the default) runs every test daemon with that front (an
     * explicit --front among extra_args comes later and wins) */
    const char *front = getenv("CS_TEST_FRONT");
    if (front && *front) {
        argv[argc++] = "--front";
        argv[argc++] = front;
    }
    for (int i = 0; extra_args && extra_args[i] && argc < 30; i++) {
        argv[argc++] = extra_args[i];
    }
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        if (d->nofile > 0) {
            struct rlimit rl = {(rlim_t)d->nofile, (rlim_t)d->nofile};
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    d->pid = pid;
    s_watch(pid, d->log);
    for (int i = 0; i < 100; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "codesetd exited early (status %d); see %s\n", status, d->log);
            s_unwatch(pid, status);
            d->pid = 0;
            return -1;
        }
        if (s_ping(d->query_ep, 100) == 0) {
            return 0;
        }
        s_sleep_ms(100);
    }
    fprintf(stderr, "codesetd did not answer ping within 10 s; see %s\n", d->log);
    return -1;
}

int cs_daemon_stop(cs_daemon_t *d)
{
    if (d->pid <= 0) {
        return -1;
    }
    kill(d->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 300; i++) {
        pid_t r = waitpid(d->pid, &status, WNOHANG);
        if (r == d->pid) {
            s_unwatch(d->pid, status);
            d->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        s_sleep_ms(50);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &status, 0);
    s_unwatch(d->pid, -1);
    d->pid = 0;
    return -1;
}

void cs_daemon_kill9(cs_daemon_t *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        s_unwatch(d->pid, -1);
        d->pid = 0;
    }
}

void cs_daemon_cleanup(cs_daemon_t *d)
{
    if (d->pid > 0) {
        cs_daemon_stop(d);
    }
    if (d->dir[0]) {
        cs_test_rmtree(d->dir);
    }
}

/* ---- client ---- */

static int s_connect(cs_tclient_t *c)
{
    c->sock = zmq_socket(c->ctx, ZMQ_REQ);
    if (!c->sock) {
        return -1;
    }
    int zero = 0;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    return zmq_connect(c->sock, c->endpoint);
}

cs_tclient_t *cs_tclient_new(const char *endpoint)
{
    cs_tclient_t *c = calloc(1, sizeof *c);
    if (!c) {
        return NULL;
    }
    snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    c->ctx = zmq_ctx_new();
    msgpack_sbuffer_init(&c->sb);
    msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
    msgpack_unpacked_init(&c->reply);
    if (!c->ctx || s_connect(c) != 0) {
        cs_tclient_destroy(&c);
        return NULL;
    }
    return c;
}

void cs_tclient_destroy(cs_tclient_t **cp)
{
    if (!cp || !*cp) {
        return;
    }
    cs_tclient_t *c = *cp;
    if (c->have_msg) {
        zmq_msg_close(&c->msg);
    }
    msgpack_unpacked_destroy(&c->reply);
    msgpack_sbuffer_destroy(&c->sb);
    if (c->sock) {
        zmq_close(c->sock);
    }
    if (c->ctx) {
        zmq_ctx_term(c->ctx);
    }
    free(c);
    *cp = NULL;
}

msgpack_packer *cs_tclient_begin(cs_tclient_t *c)
{
    msgpack_sbuffer_clear(&c->sb);
    return &c->pk;
}

const msgpack_object *cs_tclient_call_raw(cs_tclient_t *c, const void *raw, size_t len,
                                          int timeout_ms)
{
    if (c->have_msg) {
        zmq_msg_close(&c->msg);
        c->have_msg = 0;
    }
    if (zmq_send(c->sock, raw, len, 0) < 0) {
        return NULL;
    }
    zmq_pollitem_t item = {.socket = c->sock, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) {
        s_report_dead(); /* no reply: perhaps a sanitizer stopped the daemon */
        /* A REQ socket that lost its reply is stuck: reconnect (Lazy Pirate). */
        zmq_close(c->sock);
        s_connect(c);
        return NULL;
    }
    zmq_msg_init(&c->msg);
    c->have_msg = 1;
    if (zmq_msg_recv(&c->msg, c->sock, 0) < 0) {
        return NULL;
    }
    size_t off = 0;
    if (msgpack_unpack_next(&c->reply, zmq_msg_data(&c->msg), zmq_msg_size(&c->msg), &off) !=
        MSGPACK_UNPACK_SUCCESS) {
        return NULL;
    }
    return &c->reply.data;
}

const void *cs_tclient_last_raw(const cs_tclient_t *c, size_t *len)
{
    if (!c->have_msg) {
        *len = 0;
        return NULL;
    }
    *len = zmq_msg_size((zmq_msg_t *)&c->msg);
    return zmq_msg_data((zmq_msg_t *)&c->msg);
}

const msgpack_object *cs_tclient_same_answer(cs_tclient_t *a, cs_tclient_t *b, const void *req,
                                             size_t len, char *why, size_t cap)
{
    if (!cs_tclient_call_raw(b, req, len, 60000)) {
        snprintf(why, cap, "the second broker did not answer");
        return NULL;
    }
    size_t blen;
    const void *braw = cs_tclient_last_raw(b, &blen);
    char *copy = malloc(blen ? blen : 1);
    if (!copy) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    memcpy(copy, braw, blen);
    const msgpack_object *r = cs_tclient_call_raw(a, req, len, 60000);
    size_t alen = 0;
    const void *araw = r ? cs_tclient_last_raw(a, &alen) : NULL;
    int same = r && alen == blen && memcmp(araw, copy, alen) == 0;
    free(copy);
    if (!same) {
        snprintf(why, cap, r ? "the answers differ (%zu vs %zu bytes)"
                             : "the first broker did not answer", alen, blen);
        return NULL;
    }
    return r;
}

const msgpack_object *cs_tclient_call(cs_tclient_t *c, int timeout_ms)
{
    /* copy: the reply may be decoded while the buffer is reused */
    return cs_tclient_call_raw(c, c->sb.data, c->sb.size, timeout_ms);
}

void cs_tpack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void cs_tpack_kv(msgpack_packer *pk, const char *k, const char *v)
{
    cs_tpack_str(pk, k);
    cs_tpack_str(pk, v);
}

const msgpack_object *cs_obj_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0) {
            return &map->via.map.ptr[i].val;
        }
    }
    return NULL;
}

int cs_obj_is_str(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

int cs_obj_true(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

int64_t cs_obj_int(const msgpack_object *o)
{
    if (!o) {
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return (int64_t)o->via.u64;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return o->via.i64;
    }
    return 0;
}

const char *cs_obj_cstr(const msgpack_object *o, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR) {
        size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
        memcpy(buf, o->via.str.ptr, n);
        buf[n] = '\0';
    }
    return buf;
}

const char *cs_obj_error_code(const msgpack_object *reply, char *buf, size_t cap)
{
    return cs_obj_cstr(cs_obj_get(cs_obj_get(reply, "error"), "code"), buf, cap);
}

int64_t cs_tclient_code_indexes(cs_tclient_t *q)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "stats");
    const msgpack_object *r = cs_tclient_call(q, 10000);
    return r ? cs_obj_int(cs_obj_get(cs_obj_get(r, "code_indexes"), "count")) : -1;
}

const msgpack_object *cs_daemon_load(cs_daemon_t *d, cs_tclient_t *admin, const char *loader,
                                     const char *release, const char *effective,
                                     const char *const *files, size_t n_files, char *state,
                                     size_t cap, int timeout_ms)
{
    return cs_daemon_load_system(d, admin, loader, NULL, release, effective, files, n_files,
                                 state, cap, timeout_ms);
}

const msgpack_object *cs_daemon_load_system(cs_daemon_t *d, cs_tclient_t *admin,
                                            const char *loader, const char *system,
                                            const char *release, const char *effective,
                                            const char *const *files, size_t n_files,
                                            char *state, size_t cap, int timeout_ms)
{
    (void)d;
    state[0] = '\0';
    msgpack_packer *pk = cs_tclient_begin(admin);
    msgpack_pack_map(pk, 4 + (loader ? 1 : 0) + (system ? 1 : 0));
    cs_tpack_kv(pk, "op", "load");
    if (loader) {
        cs_tpack_kv(pk, "loader", loader);
    }
    if (system) {
        cs_tpack_kv(pk, "system", system);
    }
    cs_tpack_kv(pk, "release", release);
    cs_tpack_kv(pk, "effective_from", effective);
    cs_tpack_str(pk, "files");
    msgpack_pack_array(pk, (uint32_t)n_files);
    for (size_t i = 0; i < n_files; i++) {
        cs_tpack_str(pk, files[i]);
    }
    const msgpack_object *r = cs_tclient_call(admin, 5000);
    if (!r) {
        snprintf(state, cap, "no reply");
        return NULL;
    }
    if (!cs_obj_true(cs_obj_get(r, "ok"))) {
        char code[64];
        snprintf(state, cap, "refused:%s", cs_obj_error_code(r, code, sizeof code));
        return r;
    }
    char job[64];
    cs_obj_cstr(cs_obj_get(r, "job"), job, sizeof job);
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        pk = cs_tclient_begin(admin);
        msgpack_pack_map(pk, 2);
        cs_tpack_kv(pk, "op", "job");
        cs_tpack_kv(pk, "job", job);
        r = cs_tclient_call(admin, 5000);
        if (!r) {
            snprintf(state, cap, "no reply");
            return NULL;
        }
        cs_obj_cstr(cs_obj_get(r, "state"), state, cap);
        if (strcmp(state, "running") != 0) {
            return r;
        }
        s_sleep_ms(50);
    }
    snprintf(state, cap, "timeout");
    return r;
}

void cs_daemon_load_sample(cs_daemon_t *d, cs_tclient_t *admin, const char *label,
                           const char *effective)
{
    char cwd[PATH_MAX], xml[PATH_MAX + 80], order[PATH_MAX + 80], state[64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(xml, sizeof xml, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml",
             cwd);
    snprintf(order, sizeof order, "%s/loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt",
             cwd);
    const char *files[] = {xml, order};
    ck_assert_ptr_nonnull(cs_daemon_load(d, admin, NULL, label, effective, files, 2, state,
                                         sizeof state, 60000));
    ck_assert_str_eq(state, "done");
}

void cs_daemon_start_sample(cs_daemon_t *d, const char *const *extra_args)
{
    memset(d, 0, sizeof *d);
    ck_assert_int_eq(cs_daemon_start(d, extra_args), 0);
    cs_tclient_t *admin = cs_tclient_new(d->admin_ep);
    ck_assert_ptr_nonnull(admin);
    cs_daemon_load_sample(d, admin, "S", "2020-10-01");
    cs_tclient_destroy(&admin);
}
