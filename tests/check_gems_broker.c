/* check_gems_broker.c: the CMS General Equivalence Mappings 2018 through a live broker: every
 * source code of each of the four files (not a sample; CS_TEST_STRIDE thins it for slow
 * sanitizer builds) answers crosswalk with exactly the file's targets, in the file's order,
 * with the file's five flags; 250.00 -> E11.9, approximate; a reverse query; unknown and
 * malformed sources.
 * Skips, saying so, where ../shared/data is absent. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 30000
#define WINDOW 512 /* requests in flight on the pipelining DEALER */

Suite *cs_gems_broker_suite(void);

/* One line of a GEMs file. */
typedef struct s_gem {
    char source[12];
    char target[12]; /* "" for no map */
    char flags[6];
} s_gem_t;

/* One distinct source: its lines are gems[first .. first + n). */
typedef struct s_source {
    size_t first, n;
} s_source_t;

typedef struct s_file {
    const char *name, *from, *to;
    size_t lines;
} s_file_t;

static const s_file_t s_files[] = {
    {"2018_I9gem.txt", "icd9cm", "icd10cm", 24860},
    {"2018_I10gem.txt", "icd10cm", "icd9cm", 81593},
    {"2018_gem_pcs_I9I10.txt", "icd9pcs", "icd10pcs", 73593},
    {"2018_gem_pcs_I10I9.txt", "icd10pcs", "icd9pcs", 101025},
};

/* Upper case without dots: how both sides are compared. */
static void s_plain(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++) {
        if (*in != '.') {
            out[n++] = (char)toupper((unsigned char)*in);
        }
    }
    out[n] = '\0';
}

static s_gem_t *s_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 110000;
    s_gem_t *g = calloc(cap, sizeof *g);
    ck_assert_ptr_nonnull(g);
    char line[256], src[64], dst[64], flags[64];
    *n = 0;
    while (fgets(line, sizeof line, f) && *n < cap) {
        if (sscanf(line, "%63s %63s %63s", src, dst, flags) != 3) {
            continue;
        }
        s_gem_t *x = &g[(*n)++];
        snprintf(x->source, sizeof x->source, "%s", src);
        int no_map = flags[1] == '1' || strncmp(dst, "No", 2) == 0;
        snprintf(x->target, sizeof x->target, "%s", no_map ? "" : dst);
        snprintf(x->flags, sizeof x->flags, "%s", flags);
    }
    fclose(f);
    return g;
}

/* ---- a pipelining DEALER client ---- */

typedef struct s_pipe {
    void *ctx, *sock;
    msgpack_sbuffer sb;
    msgpack_unpacked up;
} s_pipe_t;

static void s_pipe_open(s_pipe_t *p, const char *endpoint)
{
    p->ctx = zmq_ctx_new();
    p->sock = zmq_socket(p->ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(zmq_connect(p->sock, endpoint), 0);
    msgpack_sbuffer_init(&p->sb);
    msgpack_unpacked_init(&p->up);
}

static void s_pipe_close(s_pipe_t *p)
{
    msgpack_unpacked_destroy(&p->up);
    msgpack_sbuffer_destroy(&p->sb);
    zmq_close(p->sock);
    zmq_ctx_term(p->ctx);
}

static void s_pipe_send(s_pipe_t *p, uint32_t id, const s_file_t *file, const char *code)
{
    msgpack_sbuffer_clear(&p->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &p->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    cs_tpack_kv(&pk, "op", "crosswalk");
    cs_tpack_str(&pk, "id");
    msgpack_pack_uint32(&pk, id);
    cs_tpack_kv(&pk, "from", file->from);
    cs_tpack_kv(&pk, "to", file->to);
    cs_tpack_kv(&pk, "code", code);
    ck_assert_int_ge(zmq_send(p->sock, "", 0, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(p->sock, p->sb.data, p->sb.size, 0), 0);
}

/* Receive one reply (the empty delimiter, then the body); valid until the next call. */
static const msgpack_object *s_pipe_recv(s_pipe_t *p, zmq_msg_t *body)
{
    zmq_pollitem_t it = {p->sock, 0, ZMQ_POLLIN, 0};
    ck_assert_msg(zmq_poll(&it, 1, T_TIMEOUT) == 1, "no reply within %d ms", T_TIMEOUT);
    for (;;) {
        zmq_msg_close(body);
        zmq_msg_init(body);
        ck_assert_int_ge(zmq_msg_recv(body, p->sock, 0), 0);
        if (!zmq_msg_more(body)) {
            break;
        }
    }
    size_t off = 0;
    ck_assert(msgpack_unpack_next(&p->up, zmq_msg_data(body), zmq_msg_size(body), &off) ==
              MSGPACK_UNPACK_SUCCESS);
    return &p->up.data;
}

static int s_bool(const msgpack_object *m, const char *k)
{
    return cs_obj_true(cs_obj_get(m, k));
}

/* Does one reply agree with the file's lines for its source? A reason on failure. */
static int s_agrees(const msgpack_object *r, const s_gem_t *lines, size_t n, char *why,
                    size_t cap)
{
    const msgpack_object *t = cs_obj_get(r, "targets");
    if (!cs_obj_true(cs_obj_get(r, "ok")) || !t || t->type != MSGPACK_OBJECT_ARRAY) {
        snprintf(why, cap, "no targets in the reply");
        return 0;
    }
    if (t->via.array.size != n) {
        snprintf(why, cap, "%u targets, the file has %zu", t->via.array.size, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *x = &t->via.array.ptr[i];
        const s_gem_t *g = &lines[i];
        char got[32] = "", want[32], raw[32];
        const msgpack_object *code = cs_obj_get(x, "code");
        if (code && code->type == MSGPACK_OBJECT_STR) {
            s_plain(cs_obj_cstr(code, raw, sizeof raw), got, sizeof got);
        }
        s_plain(g->target, want, sizeof want);
        int ok = strcmp(got, want) == 0 &&
                 s_bool(x, "approximate") == (g->flags[0] == '1') &&
                 s_bool(x, "no_map") == (g->target[0] == '\0') &&
                 s_bool(x, "combination") == (g->flags[2] == '1') &&
                 cs_obj_int(cs_obj_get(x, "scenario")) == g->flags[3] - '0' &&
                 cs_obj_int(cs_obj_get(x, "choice")) == g->flags[4] - '0';
        if (!ok) {
            snprintf(why, cap, "target %zu: got %s, file says %s %s", i, got, want, g->flags);
            return 0;
        }
    }
    return 1;
}

static void s_check_file(const cs_daemon_t *d, const char *dir, const s_file_t *file)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, file->name);
    size_t n;
    s_gem_t *g = s_read(path, &n);
    ck_assert_uint_eq(n, file->lines);
    /* distinct sources, each a run of lines (the files are sorted by source) */
    s_source_t *src = calloc(n, sizeof *src);
    size_t n_src = 0;
    for (size_t i = 0; i < n; i++) {
        if (n_src == 0 || strcmp(g[src[n_src - 1].first].source, g[i].source) != 0) {
            src[n_src++] = (s_source_t){i, 0};
        }
        src[n_src - 1].n++;
    }
    /* CS_TEST_STRIDE=n checks every n-th source only (make asan: a sanitized broker is slow;
     * the plain build checks them all). */
    const char *stride_env = getenv("CS_TEST_STRIDE");
    size_t stride = stride_env && atoi(stride_env) > 1 ? (size_t)atoi(stride_env) : 1;
    size_t n_all = n_src;
    if (stride > 1) {
        size_t kept = 0;
        for (size_t i = 0; i < n_src; i += stride) {
            src[kept++] = src[i];
        }
        n_src = kept;
    }
    s_pipe_t p;
    s_pipe_open(&p, d->query_ep);
    zmq_msg_t body;
    zmq_msg_init(&body);
    size_t sent = 0, received = 0, bad = 0;
    char first_bad[200] = "";
    while (received < n_src) {
        while (sent < n_src && sent - received < WINDOW) {
            s_pipe_send(&p, (uint32_t)sent, file, g[src[sent].first].source);
            sent++;
        }
        const msgpack_object *r = s_pipe_recv(&p, &body);
        int64_t id = cs_obj_int(cs_obj_get(r, "id"));
        ck_assert(id >= 0 && (size_t)id < n_src);
        char why[160];
        if (!s_agrees(r, &g[src[id].first], src[id].n, why, sizeof why) && bad++ == 0) {
            snprintf(first_bad, sizeof first_bad, "%s: %s", g[src[id].first].source, why);
        }
        received++;
    }
    zmq_msg_close(&body);
    s_pipe_close(&p);
    fprintf(stderr, "%s: %zu lines, %zu of %zu sources through crosswalk, %zu disagree\n",
            file->name, n, n_src, n_all, bad);
    ck_assert_msg(bad == 0, "%s: %zu sources disagree with the file; first %s", file->name,
                  bad, first_bad);
    free(src);
    free(g);
}

static const msgpack_object *s_crosswalk(cs_tclient_t *q, const char *from, const char *to,
                                         const char *code, int reverse)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4 + (reverse ? 1 : 0));
    cs_tpack_kv(pk, "op", "crosswalk");
    cs_tpack_kv(pk, "from", from);
    cs_tpack_kv(pk, "to", to);
    cs_tpack_kv(pk, "code", code);
    if (reverse) {
        cs_tpack_str(pk, "reverse");
        msgpack_pack_true(pk);
    }
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(test_gems_2018_every_source)
{
    char dir[600], probe[600];
    CS_SKIP_UNLESS_DATA(cs_test_data_path("gems/2018/2018_I9gem.txt", probe, sizeof probe),
                        "gems/2018");
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(probe, '/') - probe), probe);
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    char files[4][700];
    const char *fp[4];
    for (int i = 0; i < 4; i++) {
        snprintf(files[i], sizeof files[i], "%s/%s", dir, s_files[i].name);
        fp[i] = files[i];
    }
    char state[32];
    const msgpack_object *r = cs_daemon_load(&d, admin, NULL, "2018", "2017-10-01", fp, 4,
                                             state, sizeof state, 120000);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(state, "done");

    for (int i = 0; i < 4; i++) {
        s_check_file(&d, dir, &s_files[i]);
    }

    /* the classic: 250.00 (any form) -> E11.9, approximate, one target */
    const char *forms[] = {"250.00", "25000", " 250.00 "};
    for (int i = 0; i < 3; i++) {
        r = s_crosswalk(q, "icd9cm", "icd10cm", forms[i], 0);
        const msgpack_object *t = cs_obj_get(r, "targets");
        ck_assert_uint_eq(t->via.array.size, 1);
        ck_assert(cs_obj_is_str(cs_obj_get(&t->via.array.ptr[0], "code"), "E11.9"));
        ck_assert(s_bool(&t->via.array.ptr[0], "approximate"));
        ck_assert(cs_obj_is_str(cs_obj_get(r, "map"), "gems/icd9cm-icd10cm"));
    }
    /* which ICD-9-CM codes map to E11.9 */
    r = s_crosswalk(q, "icd9cm", "icd10cm", "E11.9", 1);
    const msgpack_object *s = cs_obj_get(r, "sources");
    ck_assert_ptr_nonnull(s);
    int has_25000 = 0;
    for (uint32_t i = 0; i < s->via.array.size; i++) {
        has_25000 |= cs_obj_is_str(cs_obj_get(&s->via.array.ptr[i], "code"), "250.00");
    }
    ck_assert(has_25000);
    /* an unknown source: an empty list, not an error; a malformed one says why */
    r = s_crosswalk(q, "icd9cm", "icd10cm", "999.99", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert_uint_eq(cs_obj_get(r, "targets")->via.array.size, 0);
    r = s_crosswalk(q, "icd9cm", "icd10cm", "25X.00", 0);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "reason"), "malformed"));
    /* a map nobody loaded, and a system nobody knows */
    char buf[64];
    r = s_crosswalk(q, "icd9cm", "hcpcs", "250.00", 0);
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "unknown_release");
    r = s_crosswalk(q, "icd9cm", "snomed", "250.00", 0);
    ck_assert_str_eq(cs_obj_error_code(r, buf, sizeof buf), "unknown_system");

    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_gems_broker_suite(void)
{
    Suite *s = suite_create("gems_broker");
    TCase *tc = tcase_create("GEMs 2018");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_gems_2018_every_source);
    suite_add_tcase(s, tc);
    return s;
}
