/* check_integrity.c: a corrupted database. Each release carries a checksum of its records,
 * taken at publish and checked in the background at start and on the admin op `verify`; a
 * release that fails it answers no query and says why. Bytes flipped anywhere in a copied
 * data.mdb never crash the broker: every request gets a reply, ok or an error. Real
 * codesetd processes, real ZeroMQ sockets, real LMDB files. */
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

#include "codeset/codeset.h"
#include "cs_daemon.h"
#include "cs_test.h"
#include "store/cs_store.h"

#define T_TIMEOUT 5000

Suite *cs_integrity_suite(void);

static cs_daemon_t s_base; /* made the sample database every test copies */

/* The sample release "S" loaded and published (unchecked fixture). */
static void s_setup(void)
{
    memset(&s_base, 0, sizeof s_base);
    ck_assert_int_eq(cs_daemon_start(&s_base, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_base.admin_ep);
    cs_daemon_load_sample(&s_base, admin, "S", "2020-10-01");
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&s_base), 0);
}

static void s_teardown(void)
{
    cs_daemon_cleanup(&s_base);
}

/* A fresh daemon record whose db/ holds a copy of the sample database. */
static void s_copy_base(cs_daemon_t *d)
{
    memset(d, 0, sizeof *d);
    cs_test_tmpdir(d->dir, sizeof d->dir);
    snprintf(d->db, sizeof d->db, "%s/db", d->dir);
    snprintf(d->query_ep, sizeof d->query_ep, "ipc://%s/query.sock", d->dir);
    snprintf(d->admin_ep, sizeof d->admin_ep, "ipc://%s/admin.sock", d->db);
    snprintf(d->log, sizeof d->log, "%s/codesetd.log", d->dir);
    ck_assert_int_eq(mkdir(d->db, 0700), 0);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp '%s/data.mdb' '%s/data.mdb'", s_base.db, d->db);
    ck_assert_int_eq(system(cmd), 0);
}

/* The data file of d, read whole (malloc'ed) into *len. */
static uint8_t *s_read_data(const cs_daemon_t *d, size_t *len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", d->db);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*len);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* XOR the byte at off of d's data file with x. */
static void s_flip(const cs_daemon_t *d, size_t off, uint8_t x)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", d->db);
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
    b ^= x;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

static const msgpack_object *s_lookup(cs_tclient_t *c, const char *code)
{
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", code);
    return cs_tclient_call(c, T_TIMEOUT);
}

/* Ask for a verify pass and wait for it; returns the final reply (valid until the next call
 * on admin) or NULL when the broker stopped answering. */
static const msgpack_object *s_verify(cs_tclient_t *admin)
{
    char job[64] = "";
    for (int i = 0; i < 200; i++) {
        msgpack_packer *pk = cs_tclient_begin(admin);
        msgpack_pack_map(pk, job[0] ? 2 : 1);
        cs_tpack_kv(pk, "op", "verify");
        if (job[0]) {
            cs_tpack_kv(pk, "job", job);
        }
        const msgpack_object *r = cs_tclient_call(admin, T_TIMEOUT);
        if (!r || !cs_obj_is_str(cs_obj_get(r, "state"), "running")) {
            return r;
        }
        cs_obj_cstr(cs_obj_get(r, "job"), job, sizeof job);
        usleep(50000);
    }
    return NULL;
}

/* The state and message verify gave release S. */
static void s_verdict(const msgpack_object *r, char *state, char *msg, size_t cap)
{
    state[0] = msg[0] = '\0';
    const msgpack_object *list = cs_obj_get(r, "releases");
    ck_assert_ptr_nonnull(list);
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *o = &list->via.array.ptr[i];
        if (cs_obj_is_str(cs_obj_get(o, "release"), "S")) {
            cs_obj_cstr(cs_obj_get(o, "state"), state, cap);
            cs_obj_cstr(cs_obj_get(o, "message"), msg, cap);
        }
    }
}

START_TEST(test_checksum_ok)
{
    cs_daemon_t d;
    s_copy_base(&d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    const msgpack_object *r = s_verify(admin);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "state"), "done"));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "failed")), 0);
    char state[64], msg[512];
    s_verdict(r, state, msg, sizeof msg);
    ck_assert_str_eq(state, "ok");
    ck_assert_ptr_nonnull(strstr(msg, "records match"));
    /* the query endpoint refuses it: verify reads every release, an admin's decision */
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "verify");
    r = cs_tclient_call(q, T_TIMEOUT);
    char code[64];
    ck_assert_str_eq(cs_obj_error_code(r, code, sizeof code), "forbidden");
    r = s_lookup(q, "E11.9");
    ck_assert(r && cs_obj_true(cs_obj_get(r, "found")));
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* One byte of E11.9's title changed in the file: LMDB cannot tell; the checksum can. */
START_TEST(test_corrupt_title_refused)
{
    static const char title[] = "Type 2 diabetes mellitus without complications";
    cs_daemon_t d;
    s_copy_base(&d);
    size_t len;
    uint8_t *b = s_read_data(&d, &len);
    size_t n = 0;
    for (size_t i = 0; i + sizeof title - 1 <= len; i++) {
        if (memcmp(b + i, title, sizeof title - 1) == 0) {
            s_flip(&d, i + 5, '2' ^ '4'); /* "Type 4 diabetes ...": plausible, and wrong */
            n++;
        }
    }
    free(b);
    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    const msgpack_object *r = s_verify(admin);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_is_str(cs_obj_get(r, "state"), "failed"));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "failed")), 1);
    char state[64], msg[512], code[64];
    s_verdict(r, state, msg, sizeof msg);
    ck_assert_str_eq(state, "failed");
    ck_assert_msg(strstr(msg, "checksum") != NULL, "message: %s", msg);

    /* every query that resolves to S is refused, naming it and why: never the wrong title */
    r = s_lookup(q, "E11.9");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(cs_obj_error_code(r, code, sizeof code), "corrupt_release");
    cs_obj_cstr(cs_obj_get(cs_obj_get(r, "error"), "message"), msg, sizeof msg);
    ck_assert_msg(strstr(msg, "release S") && strstr(msg, "integrity check"), "%s", msg);
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", "I10");
    cs_tpack_kv(pk, "date", "2021-03-01");
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_str_eq(cs_obj_error_code(r, code, sizeof code), "corrupt_release");
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "q", "diabetes");
    cs_tpack_kv(pk, "release", "S");
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_str_eq(cs_obj_error_code(r, code, sizeof code), "corrupt_release");
    /* a crosswalk reads the release's titles too */
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 6);
    cs_tpack_kv(pk, "op", "crosswalk");
    cs_tpack_kv(pk, "from", "icd10cm");
    cs_tpack_kv(pk, "to", "icd10cm");
    cs_tpack_kv(pk, "code", "E11.9");
    cs_tpack_kv(pk, "release", "S");
    cs_tpack_kv(pk, "to_release", "S");
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert_str_eq(cs_obj_error_code(r, code, sizeof code), "corrupt_release");
    /* the catalog still lists it, so an admin can see what to reload */
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "releases");
    r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert(r && cs_obj_true(cs_obj_get(r, "ok")));
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* A release published before checksums existed: reported, and it keeps answering. */
START_TEST(test_no_checksum)
{
    cs_daemon_t d;
    s_copy_base(&d);
    /* rewrite S's catalog record ("R" + id 1) without its "checksum" key */
    cs_error_t err;
    cs_store_t *st = cs_store_open(d.db, 0, 0, &err);
    ck_assert_msg(st != NULL, "%s", err.msg);
    cs_writer_t *w = cs_writer_new(st, &err);
    ck_assert_ptr_nonnull(w);
    uint8_t key[5] = {'R', 0, 0, 0, 1};
    cs_val_t v;
    ck_assert_int_eq(cs_writer_get(w, CS_DB_META, key, sizeof key, &v), CS_OK);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    ck_assert_int_eq(msgpack_unpack_next(&up, v.data, v.len, NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object_map *m = &up.data.via.map;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint32_t keep = 0;
    for (uint32_t i = 0; i < m->size; i++) {
        keep += !cs_obj_is_str(&m->ptr[i].key, "checksum");
    }
    ck_assert_uint_eq(keep, m->size - 1);
    msgpack_pack_map(&pk, keep);
    for (uint32_t i = 0; i < m->size; i++) {
        if (!cs_obj_is_str(&m->ptr[i].key, "checksum")) {
            msgpack_pack_object(&pk, m->ptr[i].key);
            msgpack_pack_object(&pk, m->ptr[i].val);
        }
    }
    ck_assert_int_eq(cs_writer_put(w, CS_DB_META, key, sizeof key, sb.data, sb.size), CS_OK);
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    msgpack_sbuffer_destroy(&sb);
    msgpack_unpacked_destroy(&up);
    cs_writer_destroy(&w);
    cs_store_destroy(&st);

    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    const msgpack_object *r = s_verify(admin);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_is_str(cs_obj_get(r, "state"), "done"));
    char state[64], msg[512];
    s_verdict(r, state, msg, sizeof msg);
    ck_assert_str_eq(state, "no_checksum");
    ck_assert_ptr_nonnull(strstr(msg, "published before checksums"));
    r = s_lookup(q, "E11.9");
    ck_assert(r && cs_obj_true(cs_obj_get(r, "found")));
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

/* ---- bytes flipped anywhere: the broker never crashes ---- */

/* Start codesetd on d (its db/ already holds a file). 0 when it answers ping; 1 when it
 * refused to start with a clean exit (a message, exit 2); -1 when it died of a signal or did
 * not come up. *status gets the exit status when it ended. */
static int s_spawn(cs_daemon_t *d, int *status)
{
    char exe[PATH_MAX];
    snprintf(exe, sizeof exe, "%s/bin/codesetd", cs_test_build_dir());
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl(exe, exe, "--db", d->db, "--listen", d->query_ep, "--admin", d->admin_ep,
              "--workers", "1", (char *)NULL);
        _exit(127);
    }
    d->pid = pid;
    cs_tclient_t *c = cs_tclient_new(d->query_ep);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, status, WNOHANG) == pid) {
            d->pid = 0;
            cs_tclient_destroy(&c);
            return WIFEXITED(*status) && WEXITSTATUS(*status) != 127 ? 1 : -1;
        }
        msgpack_packer *pk = cs_tclient_begin(c);
        msgpack_pack_map(pk, 1);
        cs_tpack_kv(pk, "op", "ping");
        if (cs_tclient_call(c, 200)) {
            cs_tclient_destroy(&c);
            return 0;
        }
        cs_tclient_destroy(&c);
        c = cs_tclient_new(d->query_ep);
    }
    cs_tclient_destroy(&c);
    return -1;
}

/* The requests every damaged copy is asked: each must get a reply, ok or error. */
static const char *const s_requests[][8] = {
    {"op", "lookup", "system", "icd10cm", "code", "E11.9"},
    {"op", "lookup", "system", "icd10cm", "code", "S72.001A"},
    {"op", "lookup", "system", "icd10cm", "code", "E11", "include", "*"},
    {"op", "validate", "system", "icd10cm", "code", "E11"},
    {"op", "validate", "system", "icd10cm", "code", "M48.40XA", "date", "2021-01-01"},
    {"op", "search", "system", "icd10cm", "q", "diabetes"},
    {"op", "search", "system", "icd10cm", "q", "fractur"},
    {"op", "releases"},
    {"op", "diff", "system", "icd10cm", "release", "S", "to_release", "S"},
};

static void s_pack_request(msgpack_packer *pk, const char *const *kv)
{
    uint32_t n = 0;
    while (n < 4 && kv[2 * n]) {
        n++;
    }
    msgpack_pack_map(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        cs_tpack_str(pk, kv[2 * i]);
        if (strcmp(kv[2 * i + 1], "*") == 0) {
            msgpack_pack_array(pk, 3);
            cs_tpack_str(pk, "notes");
            cs_tpack_str(pk, "children");
            cs_tpack_str(pk, "ancestors");
        } else {
            cs_tpack_str(pk, kv[2 * i + 1]);
        }
    }
}

/* One damaged copy: start, ask everything, verify, stop. Fails the test on a crash or a
 * request left unanswered; counts what happened. */
static void s_trial(size_t off, uint8_t x, int *refused, int *errors, int *failed)
{
    cs_daemon_t d;
    s_copy_base(&d);
    s_flip(&d, off, x);
    int status = 0;
    int up = s_spawn(&d, &status);
    ck_assert_msg(up >= 0, "offset %zu ^%02x: codesetd died at start (status %d); see %s", off,
                  x, status, d.log);
    if (up == 1) {
        (*refused)++;
        cs_daemon_cleanup(&d);
        return;
    }
    cs_tclient_t *q = cs_tclient_new(d.query_ep);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    for (size_t i = 0; i < sizeof s_requests / sizeof s_requests[0]; i++) {
        s_pack_request(cs_tclient_begin(q), s_requests[i]);
        const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
        ck_assert_msg(r != NULL, "offset %zu ^%02x: no reply to %s %s (broker %s); see %s", off,
                      x, s_requests[i][1], s_requests[i][5] ? s_requests[i][5] : "",
                      waitpid(d.pid, &status, WNOHANG) == d.pid ? "dead" : "alive", d.log);
        *errors += !cs_obj_true(cs_obj_get(r, "ok"));
    }
    const msgpack_object *r = s_verify(admin);
    ck_assert_msg(r != NULL, "offset %zu ^%02x: no reply to verify; see %s", off, x, d.log);
    *failed += cs_obj_is_str(cs_obj_get(r, "state"), "failed");
    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    kill(d.pid, SIGTERM);
    ck_assert_int_eq(waitpid(d.pid, &status, 0), d.pid);
    ck_assert_msg(WIFEXITED(status), "offset %zu ^%02x: codesetd ended by signal %d; see %s",
                  off, x, WIFSIGNALED(status) ? WTERMSIG(status) : 0, d.log);
    d.pid = 0;
    cs_daemon_cleanup(&d);
}

START_TEST(test_flipped_bytes_never_crash)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", s_base.db);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    size_t pages = (size_t)sb.st_size / 4096;
    /* Deterministic positions: in every page but the two meta pages, the page header's node
     * free-space bound (offsets 12-13, where the node count comes from: the flips that crashed
     * LMDB most), the first node pointer, and one byte inside the page's data that moves from
     * page to page. */
    static const struct {
        unsigned off;
        uint8_t x;
    } at[] = {{12, 0x80}, {13, 0x40}, {16, 0x10}};
    int trials = 0, refused = 0, errors = 0, failed = 0;
    for (size_t p = 2; p < pages; p++) {
        for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
            s_trial(p * 4096 + at[i].off, at[i].x, &refused, &errors, &failed);
            trials++;
        }
        s_trial(p * 4096 + 24 + (p * 397) % 4000, 0x5a, &refused, &errors, &failed);
        trials++;
    }
    fprintf(stderr, "flipped bytes: %d trials on %zu pages, %d refused to start, %d error "
            "replies, %d failed verify\n", trials, pages, refused, errors, failed);
    ck_assert_int_gt(trials, 0);
}
END_TEST

/* The same flips under the embedded API: open, lookups, a validation and a search on each
 * damaged copy, in this process. A fault would end the test with a signal. */
START_TEST(test_flipped_bytes_embedded)
{
    char path[PATH_MAX], plugins[PATH_MAX];
    snprintf(path, sizeof path, "%s/data.mdb", s_base.db);
    snprintf(plugins, sizeof plugins, "%s/plugins", cs_test_build_dir());
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    size_t pages = (size_t)sb.st_size / 4096;
    static const char *const codes[] = {"E11.9", "S72.001A", "E11", "M48.40XA", "I10"};
    int opened = 0, errors = 0;
    for (size_t t = 0; t < 4 * (pages - 2); t++) {
        size_t p = 2 + t / 4;
        static const unsigned offs[] = {12, 13, 16};
        size_t off = t % 4 < 3 ? p * 4096 + offs[t % 4] : p * 4096 + 24 + (p * 397) % 4000;
        cs_daemon_t d;
        s_copy_base(&d);
        s_flip(&d, off, t % 4 == 0 ? 0x80 : t % 4 == 1 ? 0x40 : t % 4 == 2 ? 0x10 : 0x5a);
        cs_error_t err;
        cs_db_t *db = cs_db_open(d.db, plugins, &err);
        if (db) {
            opened++;
            for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
                cs_db_entry_t e;
                errors += cs_db_lookup(db, "icd10cm", codes[i], NULL, &e, &err) != CS_OK;
            }
            const cs_db_result_t *res;
            cs_db_str_t rel;
            errors += cs_db_validate(db, "icd10cm", codes, 5, NULL, &res, &rel, &err) != CS_OK;
            const cs_db_hit_t *hits;
            size_t n_hits;
            uint64_t total;
            errors += cs_db_search(db, "icd10cm", "diabetes", 10, 0, 0, NULL, &hits, &n_hits,
                                   &total, &err) != CS_OK;
            cs_db_close(&db);
        }
        cs_daemon_cleanup(&d);
    }
    fprintf(stderr, "flipped bytes, embedded: %zu copies, %d opened, %d calls failed\n",
            4 * (pages - 2), opened, errors);
}
END_TEST


Suite *cs_integrity_suite(void)
{
    Suite *s = suite_create("integrity");
    TCase *tc = tcase_create("release checksums");
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_checksum_ok);
    tcase_add_test(tc, test_corrupt_title_refused);
    tcase_add_test(tc, test_no_checksum);
    suite_add_tcase(s, tc);
    tc = tcase_create("flipped bytes");
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_flipped_bytes_never_crash);
    tcase_add_test(tc, test_flipped_bytes_embedded);
    suite_add_tcase(s, tc);
    return s;
}
