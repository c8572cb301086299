/* check_embed.c: the embedded API (codeset/codeset.h) answers as the broker does. A real
 * codesetd loads the bundled sample release and answers lookups, validations and searches;
 * it is stopped, and the same questions go to its database opened read-only in-process,
 * through the direct lookup and through the engine path (cs_embed.h). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codeset/codeset.h"
#include "cs_daemon.h"
#include "cs_test.h"
#include "embed_engine.h"
#include "engine/cs_embed.h"
#include "engine/cs_query.h"
#include "wire/cs_out_msgpack.h"
#include "store/cs_codeidx.h"
#include "store/cs_key.h"
#include "store/cs_store.h"

#define T_TIMEOUT 5000
#define T_TEXT 512

Suite *cs_embed_suite(void);

/* Inputs asked of both; each covers a shape of answer. */
static const char *const s_lookups[] = {
    "E11.9", "e119", " E11.9 ", "E11", "I10", "S72.001A", "M48.40XA", "4", "E08-E13",
    "M45-M49", "E11.99", "Z00.00", "XYZ", "", "E1",
};
#define N_LOOKUPS (sizeof s_lookups / sizeof s_lookups[0])

static const char *const s_validates[] = {
    "E11.9", "e1165", "E11", "E11.32", "S72.001", "S72.001A", "M48.40", "A00.00", "XYZ", "I10",
    "Z99.89", "", "13",
};
#define N_VALIDATES (sizeof s_validates / sizeof s_validates[0])

static const char *const s_searches[] = {"type 2 diabetes", "hypertension", "e11.6",
                                         "fracture neck femur", "diabetis"};
#define N_SEARCHES (sizeof s_searches / sizeof s_searches[0])

/* What the broker answered, copied out of its replies. */
typedef struct t_lookup {
    int found, billable, malformed;
    char code[T_TEXT], release[T_TEXT], kind[T_TEXT], title[T_TEXT], short_title[T_TEXT];
    char parent[T_TEXT];
} t_lookup_t;

typedef struct t_valid {
    int valid;
    char reason[64], code[T_TEXT], title[T_TEXT], kind[T_TEXT], message[T_TEXT];
    char hints[T_TEXT * 2]; /* the hint list joined by ',' */
} t_valid_t;

typedef struct t_search {
    uint64_t total;
    char hits[4096]; /* "code|title|billable|score;" per hit */
} t_search_t;

static cs_daemon_t s_d;
static t_lookup_t s_bl[N_LOOKUPS];
static t_valid_t s_bv[N_VALIDATES];
static char s_brelease[64];
static t_search_t s_bs[N_SEARCHES];
static char s_bad_release_msg[T_TEXT], s_bad_date_msg[T_TEXT];
static char s_plugins[PATH_MAX];

static void s_cstr(const msgpack_object *o, char *buf, size_t cap)
{
    cs_obj_cstr(o, buf, cap);
}

static void s_join(const msgpack_object *arr, char *out, size_t cap)
{
    out[0] = '\0';
    if (!arr || arr->type != MSGPACK_OBJECT_ARRAY) {
        return;
    }
    size_t at = 0;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *s = &arr->via.array.ptr[i];
        at += (size_t)snprintf(out + at, at < cap ? cap - at : 0, "%s%.*s", i ? "," : "",
                               (int)s->via.str.size, s->via.str.ptr);
    }
}

/* Ask the broker every question once; keep the answers, then stop it (unchecked fixture). */
static void s_setup(void)
{
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    cs_tclient_t *q = cs_tclient_new(s_d.query_ep);
    char cwd[PATH_MAX], xml[PATH_MAX + 80], order[PATH_MAX + 80], state[64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(xml, sizeof xml, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml",
             cwd);
    snprintf(order, sizeof order, "%s/loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt",
             cwd);
    const char *files[] = {xml, order};
    ck_assert_ptr_nonnull(cs_daemon_load(&s_d, admin, NULL, "S", "2020-10-01", files, 2, state,
                                         sizeof state, 60000));
    ck_assert_str_eq(state, "done");

    for (size_t i = 0; i < N_LOOKUPS; i++) {
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "lookup");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "code", s_lookups[i]);
        const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
        ck_assert_msg(r && cs_obj_true(cs_obj_get(r, "ok")), "lookup %s failed", s_lookups[i]);
        t_lookup_t *l = &s_bl[i];
        l->found = cs_obj_true(cs_obj_get(r, "found"));
        l->billable = cs_obj_true(cs_obj_get(r, "billable"));
        l->malformed = cs_obj_get(r, "reason") != NULL;
        s_cstr(cs_obj_get(r, "code"), l->code, sizeof l->code);
        s_cstr(cs_obj_get(r, "release"), l->release, sizeof l->release);
        s_cstr(cs_obj_get(r, "kind"), l->kind, sizeof l->kind);
        s_cstr(cs_obj_get(r, "title"), l->title, sizeof l->title);
        s_cstr(cs_obj_get(r, "short"), l->short_title, sizeof l->short_title);
        s_cstr(cs_obj_get(r, "parent"), l->parent, sizeof l->parent);
    }

    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "date", "2021-03-01");
    cs_tpack_str(pk, "codes");
    msgpack_pack_array(pk, N_VALIDATES);
    for (size_t i = 0; i < N_VALIDATES; i++) {
        cs_tpack_str(pk, s_validates[i]);
    }
    const msgpack_object *r = cs_tclient_call(q, T_TIMEOUT);
    ck_assert(r && cs_obj_true(cs_obj_get(r, "ok")));
    s_cstr(cs_obj_get(r, "release"), s_brelease, sizeof s_brelease);
    const msgpack_object *res = cs_obj_get(r, "results");
    ck_assert_uint_eq(res->via.array.size, N_VALIDATES);
    for (size_t i = 0; i < N_VALIDATES; i++) {
        const msgpack_object *o = &res->via.array.ptr[i];
        t_valid_t *v = &s_bv[i];
        v->valid = cs_obj_true(cs_obj_get(o, "valid"));
        s_cstr(cs_obj_get(o, "reason"), v->reason, sizeof v->reason);
        s_cstr(cs_obj_get(o, "code"), v->code, sizeof v->code);
        s_cstr(cs_obj_get(o, "title"), v->title, sizeof v->title);
        s_cstr(cs_obj_get(o, "kind"), v->kind, sizeof v->kind);
        s_cstr(cs_obj_get(o, "message"), v->message, sizeof v->message);
        s_join(cs_obj_get(o, "hint"), v->hints, sizeof v->hints);
    }

    for (size_t i = 0; i < N_SEARCHES; i++) {
        pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 4);
        cs_tpack_kv(pk, "op", "search");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "q", s_searches[i]);
        cs_tpack_str(pk, "limit");
        msgpack_pack_int(pk, 10);
        r = cs_tclient_call(q, T_TIMEOUT);
        ck_assert(r && cs_obj_true(cs_obj_get(r, "ok")));
        s_bs[i].total = (uint64_t)cs_obj_int(cs_obj_get(r, "total"));
        const msgpack_object *hits = cs_obj_get(r, "hits");
        size_t at = 0;
        for (uint32_t h = 0; h < hits->via.array.size; h++) {
            char code[64], title[T_TEXT];
            const msgpack_object *o = &hits->via.array.ptr[h];
            s_cstr(cs_obj_get(o, "code"), code, sizeof code);
            s_cstr(cs_obj_get(o, "title"), title, sizeof title);
            at += (size_t)snprintf(s_bs[i].hits + at, sizeof s_bs[i].hits - at, "%s|%s|%d|%lld;",
                                   code, title, cs_obj_true(cs_obj_get(o, "billable")),
                                   (long long)cs_obj_int(cs_obj_get(o, "score")));
        }
    }

    /* Error replies: the embedded API gives the same sentences. */
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", "E11.9");
    cs_tpack_kv(pk, "release", "1999");
    r = cs_tclient_call(q, T_TIMEOUT);
    s_cstr(cs_obj_get(cs_obj_get(r, "error"), "message"), s_bad_release_msg,
           sizeof s_bad_release_msg);
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", "E11.9");
    cs_tpack_kv(pk, "date", "2019-01-01");
    r = cs_tclient_call(q, T_TIMEOUT);
    s_cstr(cs_obj_get(cs_obj_get(r, "error"), "message"), s_bad_date_msg,
           sizeof s_bad_date_msg);

    cs_tclient_destroy(&q);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&s_d), 0);
    snprintf(s_plugins, sizeof s_plugins, "%s/plugins", cs_test_build_dir());
}

static void s_teardown(void)
{
    cs_daemon_cleanup(&s_d);
}

static void s_eq(cs_db_str_t got, const char *want, const char *what, const char *input)
{
    ck_assert_msg(got.len == strlen(want) && (got.len == 0 || memcmp(got.ptr, want, got.len) == 0),
                  "%s of '%s': embedded '%.*s', broker '%s'", what, input, (int)got.len,
                  got.ptr ? got.ptr : "", want);
}

static cs_db_t *s_open(void)
{
    cs_error_t err;
    cs_db_t *db = cs_db_open(s_d.db, s_plugins, &err);
    ck_assert_msg(db != NULL, "cs_db_open: %s", err.msg);
    return db;
}

typedef int (*t_lookup_fn)(cs_db_t *, const char *, const char *, const cs_db_query_t *,
                           cs_db_entry_t *, cs_error_t *);

static void s_check_lookups(t_lookup_fn fn)
{
    cs_db_t *db = s_open();
    cs_error_t err;
    for (size_t i = 0; i < N_LOOKUPS; i++) {
        cs_db_entry_t e;
        ck_assert_int_eq(fn(db, "icd10cm", s_lookups[i], NULL, &e, &err), CS_OK);
        const t_lookup_t *b = &s_bl[i];
        ck_assert_msg(e.found == b->found, "found of '%s'", s_lookups[i]);
        ck_assert_msg(e.billable == b->billable, "billable of '%s'", s_lookups[i]);
        ck_assert_msg(e.malformed == b->malformed, "malformed of '%s'", s_lookups[i]);
        s_eq(e.code, b->code, "code", s_lookups[i]);
        s_eq(e.release, b->release, "release", s_lookups[i]);
        s_eq(e.kind, b->kind, "kind", s_lookups[i]);
        s_eq(e.title, b->title, "title", s_lookups[i]);
        s_eq(e.short_title, b->short_title, "short title", s_lookups[i]);
        s_eq(e.parent, b->parent, "parent", s_lookups[i]);
    }
    /* the sample's known rows, so the comparison above cannot pass on two empty answers */
    cs_db_entry_t e;
    ck_assert_int_eq(fn(db, "icd10cm", "e119", NULL, &e, &err), CS_OK);
    ck_assert(e.found && e.billable);
    s_eq(e.title, "Type 2 diabetes mellitus without complications", "title", "e119");
    s_eq(e.parent, "E11", "parent", "e119");
    ck_assert_int_eq(fn(db, "icd10cm", "E11", NULL, &e, &err), CS_OK);
    ck_assert(e.found && !e.billable);
    /* pinned and dated answer alike; errors carry the broker's sentences */
    cs_db_query_t pin = {.release = "S"}, dated = {.date = "2021-03-01"};
    ck_assert_int_eq(fn(db, "icd10cm", "I10", &pin, &e, &err), CS_OK);
    ck_assert(e.found);
    ck_assert_int_eq(fn(db, "icd10cm", "I10", &dated, &e, &err), CS_OK);
    s_eq(e.release, "S", "release", "I10");
    cs_db_query_t bad = {.release = "1999"};
    ck_assert_int_eq(fn(db, "icd10cm", "E11.9", &bad, &e, &err), CS_ENOTFOUND);
    ck_assert_str_eq(err.msg, s_bad_release_msg);
    cs_db_query_t early = {.date = "2019-01-01"};
    ck_assert_int_eq(fn(db, "icd10cm", "E11.9", &early, &e, &err), CS_ENOTFOUND);
    ck_assert_str_eq(err.msg, s_bad_date_msg);
    cs_db_query_t nodate = {.date = "2021-02-30"};
    ck_assert_int_eq(fn(db, "icd10cm", "E11.9", &nodate, &e, &err), CS_EINVAL);
    ck_assert_int_eq(fn(db, "nosuch", "E11.9", NULL, &e, &err), CS_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "nosuch"));
    ck_assert_int_eq(fn(db, "icd10cm", NULL, NULL, &e, &err), CS_EINVAL);
    cs_db_close(&db);
    ck_assert_ptr_null(db);
    cs_db_close(&db); /* twice is harmless */
}

START_TEST(test_lookup_direct)
{
    s_check_lookups(cs_db_lookup);
}
END_TEST

START_TEST(test_lookup_engine)
{
    s_check_lookups(cs_embed_lookup_engine);
}
END_TEST

START_TEST(test_validate)
{
    cs_db_t *db = s_open();
    cs_error_t err;
    const cs_db_result_t *res;
    cs_db_str_t rel;
    cs_db_query_t dated = {.date = "2021-03-01"};
    ck_assert_int_eq(cs_db_validate(db, "icd10cm", s_validates, N_VALIDATES, &dated, &res, &rel,
                                    &err),
                     CS_OK);
    s_eq(rel, s_brelease, "release", "validate");
    int saw_hint = 0;
    for (size_t i = 0; i < N_VALIDATES; i++) {
        const t_valid_t *b = &s_bv[i];
        const cs_db_result_t *r = &res[i];
        ck_assert_msg(r->valid == b->valid, "valid of '%s'", s_validates[i]);
        ck_assert_str_eq(cs_db_reason_name(r->reason), b->valid ? "valid" : b->reason);
        s_eq(r->input, s_validates[i], "input", s_validates[i]);
        s_eq(r->code, b->code, "code", s_validates[i]);
        s_eq(r->title, b->title, "title", s_validates[i]);
        s_eq(r->kind, b->kind, "kind", s_validates[i]);
        s_eq(r->message, b->message, "message", s_validates[i]);
        char hints[T_TEXT * 2];
        size_t at = 0;
        hints[0] = '\0';
        for (size_t h = 0; h < r->n_hint; h++) {
            at += (size_t)snprintf(hints + at, sizeof hints - at, "%s%.*s", h ? "," : "",
                                   (int)r->hint[h].len, r->hint[h].ptr);
        }
        ck_assert_str_eq(hints, b->hints);
        saw_hint |= r->n_hint > 0;
    }
    ck_assert_int_eq(res[0].reason, CS_DB_VALID);
    ck_assert_int_eq(res[2].reason, CS_DB_NOT_BILLABLE);
    ck_assert_int_eq(res[7].reason, CS_DB_UNKNOWN);
    ck_assert_int_eq(res[8].reason, CS_DB_MALFORMED);
    ck_assert(saw_hint);
    /* an empty batch, and one over the wire's limit */
    ck_assert_int_eq(cs_db_validate(db, "icd10cm", NULL, 0, NULL, &res, &rel, &err), CS_OK);
    static const char *many[10001];
    for (size_t i = 0; i < 10001; i++) {
        many[i] = "E11.9";
    }
    ck_assert_int_eq(cs_db_validate(db, "icd10cm", many, 10000, NULL, &res, &rel, &err), CS_OK);
    ck_assert(res[9999].valid);
    ck_assert_int_eq(cs_db_validate(db, "icd10cm", many, 10001, NULL, &res, &rel, &err),
                     CS_ETOOMANY);
    ck_assert_int_eq(cs_db_validate(db, "nosuch", many, 1, NULL, &res, &rel, &err), CS_EINVAL);
    cs_db_close(&db);
}
END_TEST

START_TEST(test_search)
{
    cs_db_t *db = s_open();
    cs_error_t err;
    for (size_t i = 0; i < N_SEARCHES; i++) {
        const cs_db_hit_t *hits;
        size_t n;
        uint64_t total;
        ck_assert_int_eq(cs_db_search(db, "icd10cm", s_searches[i], 10, 0, 0, NULL, &hits, &n,
                                      &total, &err),
                         CS_OK);
        ck_assert_uint_eq(total, s_bs[i].total);
        char got[4096];
        size_t at = 0;
        got[0] = '\0';
        for (size_t h = 0; h < n; h++) {
            at += (size_t)snprintf(got + at, sizeof got - at, "%.*s|%.*s|%d|%lld;",
                                   (int)hits[h].code.len, hits[h].code.ptr,
                                   (int)hits[h].title.len, hits[h].title.ptr, hits[h].billable,
                                   (long long)hits[h].score);
        }
        ck_assert_str_eq(got, s_bs[i].hits);
        ck_assert_uint_gt(n, 0);
    }
    cs_db_close(&db);
}
END_TEST

/* The search of text, answered by e into sb (packed); returns cs_engine_deferred after. */
static int s_engine_search(cs_db_t *db, cs_engine_t *e, const char *text, msgpack_sbuffer *sb)
{
    cs_request_t req;
    cs_error_t err;
    ck_assert_int_eq(cs_embed_check(db, "icd10cm", "I10", NULL, &req, &err), CS_OK);
    req.op = CS_OP_SEARCH;
    req.q = (cs_str_t){text, (uint32_t)strlen(text)};
    req.limit = 10;
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    cs_out_msgpack_t w;
    cs_engine_handle(e, &req, cs_out_msgpack_init(&w, &pk));
    return cs_engine_deferred(e);
}

/* An engine with a work budget (as the broker's own) answers a search that costs less
 * exactly as one without; one that would cost more it leaves unwritten, and deferred. */
START_TEST(test_search_budget)
{
    cs_db_t *db = s_open();
    cs_engine_t *e = cs_embed_engine(db);
    msgpack_sbuffer free_sb, bounded;
    msgpack_sbuffer_init(&free_sb);
    msgpack_sbuffer_init(&bounded);
    for (size_t i = 0; i < N_SEARCHES; i++) {
        cs_engine_set_budget(e, 0);
        ck_assert_int_eq(s_engine_search(db, e, s_searches[i], &free_sb), 0);
        ck_assert_uint_gt(free_sb.size, 0);
        cs_engine_set_budget(e, 1u << 30);
        ck_assert_int_eq(s_engine_search(db, e, s_searches[i], &bounded), 0);
        ck_assert(bounded.size == free_sb.size &&
                  memcmp(bounded.data, free_sb.data, free_sb.size) == 0);
        cs_engine_set_budget(e, 1); /* no search costs that little */
        ck_assert_int_eq(s_engine_search(db, e, s_searches[i], &bounded), 1);
        ck_assert_uint_eq(bounded.size, 0);
    }
    cs_engine_set_budget(e, 0);
    msgpack_sbuffer_destroy(&free_sb);
    msgpack_sbuffer_destroy(&bounded);
    cs_db_close(&db);
}
END_TEST

/* A duplicate handle on another thread answers while the first one is used and closed. */
static void *s_thread_lookup(void *arg)
{
    cs_db_t *db = arg;
    cs_db_entry_t e;
    cs_error_t err;
    for (int i = 0; i < 1000; i++) {
        if (cs_db_lookup(db, "icd10cm", "I10", NULL, &e, &err) != CS_OK || !e.found) {
            return (void *)1;
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    cs_db_t *db = s_open();
    cs_error_t err;
    cs_db_t *dup = cs_db_dup(db, &err);
    ck_assert_msg(dup != NULL, "cs_db_dup: %s", err.msg);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_thread_lookup, dup), 0);
    ck_assert_ptr_null(s_thread_lookup(db));
    void *rv = (void *)1;
    pthread_join(t, &rv);
    ck_assert_ptr_null(rv);
    cs_db_close(&db); /* the environment stays open for the duplicate */
    cs_db_entry_t e;
    ck_assert_int_eq(cs_db_lookup(dup, "icd10cm", "E11.9", NULL, &e, &err), CS_OK);
    ck_assert(e.found);
    cs_db_close(&dup);
}
END_TEST

START_TEST(test_open_errors)
{
    cs_error_t err;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    cs_test_tmpdir(dir, sizeof dir);

    /* a missing directory: refused, and not created */
    snprintf(path, sizeof path, "%s/missing", dir);
    ck_assert_ptr_null(cs_db_open(path, s_plugins, &err));
    ck_assert_int_eq(err.code, CS_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, path));
    struct stat sb;
    ck_assert_int_ne(stat(path, &sb), 0);

    /* a directory that holds no database */
    ck_assert_ptr_null(cs_db_open(dir, s_plugins, &err));
    ck_assert_int_eq(err.code, CS_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "no codeset database"));

    /* a data.mdb that is not LMDB */
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    char junk[8192];
    memset(junk, 'x', sizeof junk);
    ck_assert_int_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    ck_assert_ptr_null(cs_db_open(dir, s_plugins, &err));
    ck_assert_int_ne(err.code, CS_OK);
    ck_assert_ptr_nonnull(strstr(err.msg, dir));

    /* a good database, but plugins from nowhere, or none of the system kind */
    snprintf(path, sizeof path, "%s/noplugins", dir);
    ck_assert_ptr_null(cs_db_open(s_d.db, path, &err));
    ck_assert_int_eq(err.code, CS_EIO);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_ptr_null(cs_db_open(s_d.db, path, &err));
    ck_assert_int_eq(err.code, CS_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "no system plugin"));

    /* read-only: opening and querying writes nothing */
    snprintf(path, sizeof path, "%s/data.mdb", s_d.db);
    ck_assert_int_eq(stat(path, &sb), 0);
    struct timespec before = sb.st_mtim;
    cs_db_t *db = s_open();
    cs_db_entry_t e;
    ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", NULL, &e, &err), CS_OK);
    cs_db_close(&db);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert(sb.st_mtim.tv_sec == before.tv_sec && sb.st_mtim.tv_nsec == before.tv_nsec);

    ck_assert_ptr_null(cs_db_open(NULL, s_plugins, &err));
    ck_assert_int_eq(err.code, CS_EINVAL);
    cs_test_rmtree(dir);
}
END_TEST

/* The broker's load wrote the release's code index image before publishing it: a process
 * that opens the file read-only maps it rather than building the index. */
START_TEST(test_index_image_written_by_the_load)
{
    cs_error_t err;
    cs_store_t *st = cs_store_open_ex(s_d.db, 0, 0, CS_STORE_RDONLY, &err);
    ck_assert_msg(st != NULL, "%s", err.msg);
    cs_reader_t *r = cs_reader_new(st, &err);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    uint8_t from[4] = {0, 0, 0, 0};
    cs_val_t k, v;
    ck_assert_int_eq(cs_reader_seek(r, CS_DB_CODEIDX, from, sizeof from, &k, &v), CS_OK);
    ck_assert_uint_eq(k.len, 4);
    uint32_t rel = cs_key_get_u32(k.data);
    cs_reader_end(r);
    cs_reader_destroy(&r);
    cs_codeidx_set_t *set = cs_codeidx_set_new(st, 64u << 20, &err);
    ck_assert_int_eq(cs_codeidx_build(set, rel, &err), CS_OK);
    cs_codeidx_t *idx = cs_codeidx_acquire(set, rel);
    ck_assert_ptr_nonnull(idx);
    ck_assert(cs_codeidx_mapped(idx));
    cs_entry_t head;
    unsigned flags;
    ck_assert(cs_codeidx_find(idx, CS_CLASS_CODE, "E119", 4, &head, &flags));
    ck_assert(head.billable);
    cs_codeidx_release(idx);
    cs_codeidx_set_destroy(&set);
    cs_store_destroy(&st);
}
END_TEST

/* ---- map growth under readers: embedded handles on several threads keep reading while
 * another process (a broker's load) writes the file past their map, over and over ---- */

#define T_GROW_THREADS 4
#define T_GROW_ROUNDS 12

typedef struct t_reader {
    cs_db_t *db;
    atomic_int *stop;
    long lookups; /* answered right */
    char bad[256]; /* the first wrong answer, "" if none */
} t_reader_t;

static void *s_grow_reader(void *arg)
{
    t_reader_t *t = arg;
    cs_error_t err;
    while (!atomic_load(t->stop)) {
        cs_db_entry_t e;
        const char *code = t->lookups % 2 ? "E11.9" : "I10";
        int rc = cs_db_lookup(t->db, "icd10cm", code, NULL, &e, &err);
        if (rc != CS_OK || !e.found || e.title.len == 0) {
            snprintf(t->bad, sizeof t->bad, "lookup %s: rc %d found %d: %s", code, rc,
                     rc == CS_OK ? e.found : 0, rc == CS_OK ? "" : err.msg);
            return NULL;
        }
        t->lookups++;
    }
    return NULL;
}

/* The writer, in a child process: junk records under a release id no catalog names, in
 * commits of 64 KiB, growing the map (as a load does) each time it is full; exits 0 after
 * `grows` grows, 1 on any failure. It waits for one byte on go_fd before writing. */
static int s_grow_writer(const char *dir, int go_fd, int grows)
{
    char c;
    if (read(go_fd, &c, 1) != 1) {
        return 1;
    }
    cs_error_t err;
    cs_store_t *st = cs_store_open(dir, (size_t)1 << 20, 0, &err); /* the file's, if larger */
    cs_writer_t *w = st ? cs_writer_new(st, &err) : NULL;
    if (!w) {
        return 1;
    }
    static uint8_t val[4096];
    memset(val, 0x5a, sizeof val);
    uint32_t seq = 0;
    for (int grown = 0; grown < grows;) {
        for (int i = 0; i < 128; i++) {
            uint8_t key[8];
            cs_key_put_u32(key, 0xFFFFFF00u);
            cs_key_put_u32(key + 4, seq++);
            cs_writer_put(w, CS_DB_SEARCH, key, sizeof key, val, sizeof val);
        }
        int rc = cs_writer_commit(w, &err);
        if (rc == CS_ESPACE) {
            cs_writer_destroy(&w);
            if (cs_store_grow(st, 0, &err) != CS_OK || !(w = cs_writer_new(st, &err))) {
                return 1;
            }
            grown++;
        } else if (rc != CS_OK) {
            return 1;
        }
    }
    cs_writer_destroy(&w);
    cs_store_destroy(&st);
    return 0;
}

static cs_daemon_t s_gd; /* the broker that made the small database the rounds copy */

/* The sample release in a database whose map starts small (1 MiB), so that a few grows
 * (each a doubling) come quickly (unchecked fixture). */
static void s_grow_setup(void)
{
    memset(&s_gd, 0, sizeof s_gd);
    const char *args[] = {"--map-size", "1048576", NULL};
    ck_assert_int_eq(cs_daemon_start(&s_gd, args), 0);
    cs_tclient_t *admin = cs_tclient_new(s_gd.admin_ep);
    cs_daemon_load_sample(&s_gd, admin, "S", "2020-10-01");
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&s_gd), 0);
    snprintf(s_plugins, sizeof s_plugins, "%s/plugins", cs_test_build_dir());
}

static void s_grow_teardown(void)
{
    cs_daemon_cleanup(&s_gd);
}

START_TEST(test_map_growth)
{
    char dir[PATH_MAX], src[PATH_MAX + 16], dst[PATH_MAX + 16];
    snprintf(src, sizeof src, "%s/data.mdb", s_gd.db);
    for (int round = 0; round < T_GROW_ROUNDS; round++) {
        /* a copy of the sample database, so every round starts from a small file and map */
        cs_test_tmpdir(dir, sizeof dir);
        snprintf(dst, sizeof dst, "%s/data.mdb", dir);
        char cmd[3 * PATH_MAX];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, dst);
        ck_assert_int_eq(system(cmd), 0);
        int go[2];
        ck_assert_int_eq(pipe(go), 0);
        pid_t pid = fork(); /* before any thread of this round: the child is single-threaded */
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            close(go[1]);
            _exit(s_grow_writer(dir, go[0], 5));
        }
        close(go[0]);
        cs_error_t err;
        cs_db_t *db = cs_db_open(dir, s_plugins, &err);
        ck_assert_msg(db != NULL, "cs_db_open: %s", err.msg);
        atomic_int stop = 0;
        t_reader_t t[T_GROW_THREADS];
        pthread_t th[T_GROW_THREADS];
        for (int i = 0; i < T_GROW_THREADS; i++) {
            memset(&t[i], 0, sizeof t[i]);
            t[i].stop = &stop;
            t[i].db = i == 0 ? db : cs_db_dup(db, &err);
            ck_assert_msg(t[i].db != NULL, "cs_db_dup: %s", err.msg);
            ck_assert_int_eq(pthread_create(&th[i], NULL, s_grow_reader, &t[i]), 0);
        }
        ck_assert_int_eq(write(go[1], "g", 1), 1);
        close(go[1]);
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        atomic_store(&stop, 1);
        for (int i = 0; i < T_GROW_THREADS; i++) {
            pthread_join(th[i], NULL);
        }
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "the writer failed (status %d)", status);
        for (int i = 0; i < T_GROW_THREADS; i++) {
            ck_assert_msg(t[i].bad[0] == '\0', "round %d, thread %d: %s", round, i, t[i].bad);
            ck_assert_msg(t[i].lookups > 0, "round %d, thread %d answered nothing", round, i);
            cs_db_close(&t[i].db);
        }
        /* a handle opened now sees the grown file whole */
        db = cs_db_open(dir, s_plugins, &err);
        ck_assert_msg(db != NULL, "cs_db_open after growth: %s", err.msg);
        cs_db_entry_t e;
        ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", NULL, &e, &err), CS_OK);
        ck_assert(e.found);
        cs_db_close(&db);
        cs_test_rmtree(dir);
    }
}
END_TEST

/* ---- a handle kept open while the broker publishes and retires ---- */

static void s_retire(cs_tclient_t *admin, const char *label)
{
    msgpack_packer *pk = cs_tclient_begin(admin);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "retire");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", label);
    const msgpack_object *r = cs_tclient_call(admin, T_TIMEOUT);
    ck_assert_msg(r && cs_obj_true(cs_obj_get(r, "ok")), "retire %s failed", label);
}

/* Lookups of E11.9 on db until the code index of its release answers them (a lookup then
 * takes no snapshot while nothing is committed); asserts each answers from release want. */
static void s_lookups_until_indexed(cs_db_t *db, const char *want)
{
    cs_error_t err;
    cs_db_entry_t e;
    for (int i = 0; i < 2000; i++) {
        ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", NULL, &e, &err), CS_OK);
        ck_assert(e.found);
        s_eq(e.release, want, "release", "E11.9");
        if (i >= 3 && cs_codeidx_live() > 0) {
            break;
        }
        usleep(1000);
    }
    ck_assert_uint_gt(cs_codeidx_live(), 0);
    for (int i = 0; i < 3; i++) { /* past the build: the index's own answers */
        ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", NULL, &e, &err), CS_OK);
        s_eq(e.release, want, "release", "E11.9");
        s_eq(e.title, "Type 2 diabetes mellitus without complications", "title", "E11.9");
    }
}

/* An embedded handle open across a broker's commits answers from what each commit made the
 * newest release, never from what it remembered of an earlier one. */
START_TEST(test_commits_seen)
{
    cs_daemon_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(cs_daemon_start(&d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d.admin_ep);
    cs_daemon_load_sample(&d, admin, "S", "2020-10-01");
    char plugins[PATH_MAX];
    snprintf(plugins, sizeof plugins, "%s/plugins", cs_test_build_dir());
    cs_error_t err;
    cs_db_t *db = cs_db_open(d.db, plugins, &err);
    ck_assert_msg(db != NULL, "cs_db_open: %s", err.msg);
    s_lookups_until_indexed(db, "S");
    cs_daemon_load_sample(&d, admin, "T", "2021-10-01"); /* the newest from now on */
    s_lookups_until_indexed(db, "T");
    s_retire(admin, "T"); /* S again */
    cs_db_entry_t e;
    ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", NULL, &e, &err), CS_OK);
    s_eq(e.release, "S", "release", "E11.9");
    cs_db_query_t pin = {.release = "T"}; /* a retired release answers when pinned */
    ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", &pin, &e, &err), CS_OK);
    s_eq(e.release, "T", "release", "E11.9");
    ck_assert(e.found);
    s_retire(admin, "S"); /* none: the error, as before any index */
    ck_assert_int_eq(cs_db_lookup(db, "icd10cm", "E11.9", NULL, &e, &err), CS_ENOTFOUND);
    cs_db_close(&db);
    cs_tclient_destroy(&admin);
    ck_assert_int_eq(cs_daemon_stop(&d), 0);
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_embed_suite(void)
{
    Suite *s = suite_create("embed");
    TCase *tc = tcase_create("same answers as the broker");
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_lookup_direct);
    tcase_add_test(tc, test_lookup_engine);
    tcase_add_test(tc, test_validate);
    tcase_add_test(tc, test_search);
    tcase_add_test(tc, test_search_budget);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_commits_seen);
    tcase_add_test(tc, test_index_image_written_by_the_load);
    suite_add_tcase(s, tc);
    tc = tcase_create("map growth");
    tcase_add_unchecked_fixture(tc, s_grow_setup, s_grow_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_map_growth);
    suite_add_tcase(s, tc);
    return s;
}
