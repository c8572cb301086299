/* check_index_broker.c: the index op through a live codesetd: the four sample tables with the
 * bundled ICD-10-CM sample (words, accents, nonessential modifiers, paths, keys, see and see
 * also followed with a cycle cut, each code's state), an index set as a release (listed,
 * diffed, retired, dropped; a bad file fails at file:line and changes nothing), and the
 * official FY2022 drug, neoplasm and External Cause files beside the FY2022 order file: known
 * rows, and every cell and code reference of the three files walked through the broker and
 * counted by state. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../clients/codeset/cli.h"
#include "cs_daemon.h"
#include "cs_test.h"

#define S_TIMEOUT 20000

static cs_daemon_t s_d;
static cs_tclient_t *s_q;
static cs_tclient_t *s_admin;

static void s_start(void)
{
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    s_q = cs_tclient_new(s_d.query_ep);
    s_admin = cs_tclient_new(s_d.admin_ep);
    ck_assert_ptr_nonnull(s_q);
    ck_assert_ptr_nonnull(s_admin);
}

static void s_stop(void)
{
    cs_tclient_destroy(&s_q);
    cs_tclient_destroy(&s_admin);
    cs_daemon_stop(&s_d);
    cs_daemon_cleanup(&s_d);
}

static void s_sample(const char *table, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(out, cap, "%s/loaders/icd10cm-index/sample/icd10cm_%s_sample.xml", cwd, table);
}

/* Load files with the icd10cm-index loader as label; returns the state ("done", "failed")
 * and the job reply. */
static const msgpack_object *s_load(const char *label, const char *const *files, size_t n,
                                    char *state, size_t cap)
{
    const msgpack_object *r = cs_daemon_load(&s_d, s_admin, "icd10cm-index", label,
                                             "2021-10-01", files, n, state, cap, 120000);
    ck_assert_ptr_nonnull(r);
    return r;
}

static void s_load_samples(const char *label)
{
    char p[4][PATH_MAX];
    s_sample("index", p[0], sizeof p[0]);
    s_sample("eindex", p[1], sizeof p[1]);
    s_sample("drug", p[2], sizeof p[2]);
    s_sample("neoplasm", p[3], sizeof p[3]);
    const char *files[4] = {p[0], p[1], p[2], p[3]};
    char state[32];
    s_load(label, files, 4, state, sizeof state);
    ck_assert_str_eq(state, "done");
}

/* An index request: table, then optional q, path (NULL-terminated), key, follow. */
typedef struct s_req {
    const char *table;
    const char *q;
    const char *const *path;
    const char *key;
    int follow;
    const char *release;
    const char *system;
    int limit;
} s_req_t;

static const msgpack_object *s_index(const s_req_t *rq)
{
    msgpack_packer *pk = cs_tclient_begin(s_q);
    size_t n_path = 0;
    while (rq->path && rq->path[n_path]) {
        n_path++;
    }
    uint32_t n = 3 + (rq->q ? 1 : 0) + (n_path ? 1 : 0) + (rq->key ? 1 : 0) +
                 (rq->follow ? 1 : 0) + (rq->release ? 1 : 0) + (rq->limit ? 1 : 0);
    msgpack_pack_map(pk, n);
    cs_tpack_kv(pk, "op", "index");
    cs_tpack_kv(pk, "system", rq->system ? rq->system : "icd10cm");
    cs_tpack_kv(pk, "table", rq->table);
    if (rq->q) {
        cs_tpack_kv(pk, "q", rq->q);
    }
    if (n_path) {
        cs_tpack_str(pk, "path");
        msgpack_pack_array(pk, (uint32_t)n_path);
        for (size_t i = 0; i < n_path; i++) {
            cs_tpack_str(pk, rq->path[i]);
        }
    }
    if (rq->key) {
        cs_tpack_kv(pk, "code", rq->key);
    }
    if (rq->follow) {
        cs_tpack_str(pk, "follow");
        msgpack_pack_true(pk);
    }
    if (rq->release) {
        cs_tpack_kv(pk, "release", rq->release);
    }
    if (rq->limit) {
        cs_tpack_str(pk, "limit");
        msgpack_pack_int(pk, rq->limit);
    }
    const msgpack_object *r = cs_tclient_call(s_q, S_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    return r;
}

static const msgpack_object *s_ok(const s_req_t *rq)
{
    const msgpack_object *r = s_index(rq);
    char code[64];
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "index %s failed: %s", rq->table,
                  cs_obj_error_code(r, code, sizeof code));
    return r;
}

static const msgpack_object *s_rows(const msgpack_object *r)
{
    const msgpack_object *rows = cs_obj_get(r, "rows");
    ck_assert_ptr_nonnull(rows);
    ck_assert_int_eq(rows->type, MSGPACK_OBJECT_ARRAY);
    return rows;
}

static const msgpack_object *s_row_at(const msgpack_object *r, uint32_t i)
{
    const msgpack_object *rows = s_rows(r);
    ck_assert_msg(i < rows->via.array.size, "no row %u of %u", i, rows->via.array.size);
    return &rows->via.array.ptr[i];
}

/* The item named name of row's codes, or fail. */
static const msgpack_object *s_code(const msgpack_object *row, const char *name)
{
    const msgpack_object *codes = cs_obj_get(row, "codes");
    ck_assert_ptr_nonnull(codes);
    for (uint32_t i = 0; i < codes->via.array.size; i++) {
        if (cs_obj_is_str(cs_obj_get(&codes->via.array.ptr[i], "name"), name)) {
            return &codes->via.array.ptr[i];
        }
    }
    ck_abort_msg("no code %s in the row", name);
    return NULL;
}

static void s_code_is(const msgpack_object *row, const char *name, const char *text,
                      const char *state)
{
    const msgpack_object *c = s_code(row, name);
    char buf[64];
    ck_assert_msg(cs_obj_is_str(cs_obj_get(c, "text"), text), "%s text %s, expected %s", name,
                  cs_obj_cstr(cs_obj_get(c, "text"), buf, sizeof buf), text);
    ck_assert_msg(cs_obj_is_str(cs_obj_get(c, "state"), state), "%s %s state %s, expected %s",
                  name, text, cs_obj_cstr(cs_obj_get(c, "state"), buf, sizeof buf), state);
}

static void s_chars_are(const msgpack_object *c, const char *want)
{
    const msgpack_object *chars = cs_obj_get(c, "chars");
    ck_assert_ptr_nonnull(chars);
    ck_assert_uint_eq(chars->via.array.size, strlen(want));
    for (size_t i = 0; want[i]; i++) {
        char one[2] = {want[i], 0};
        ck_assert(cs_obj_is_str(&chars->via.array.ptr[i], one));
    }
}

static void s_title_is(const msgpack_object *row, const char *title)
{
    char buf[256];
    ck_assert_msg(cs_obj_is_str(cs_obj_get(row, "title"), title), "title \"%s\", expected \"%s\"",
                  cs_obj_cstr(cs_obj_get(row, "title"), buf, sizeof buf), title);
}

static const char *s_err(const msgpack_object *r)
{
    static char code[64];
    return cs_obj_error_code(r, code, sizeof code);
}

/* ---- the samples ------------------------------------------------------------------------ */

START_TEST(test_samples)
{
    cs_daemon_load_sample(&s_d, s_admin, "2022", "2021-10-01");
    /* no index set yet */
    ck_assert_str_eq(s_err(s_index(&(s_req_t){.table = "drug", .q = "x"})), "unknown_release");
    s_load_samples("2022");
    /* words, over titles and the path above them */
    const msgpack_object *r = s_ok(&(s_req_t){.table = "eindex", .q = "fall from ladder"});
    ck_assert(cs_obj_is_str(cs_obj_get(r, "release"), "2022"));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "tabular"), "2022"));
    const msgpack_object *row = s_row_at(r, 0);
    s_title_is(row, "ladder");
    ck_assert_uint_eq(cs_obj_get(row, "path")->via.array.size, 2);
    s_code_is(row, "code", "W11", "unknown"); /* the sample tabular has no W codes */
    /* accents folded, apostrophes joined */
    s_title_is(s_row_at(s_ok(&(s_req_t){.table = "index", .q = "sezary"}), 0), "Sézary disease");
    s_title_is(s_row_at(s_ok(&(s_req_t){.table = "index", .q = "parkinsons dementia"}), 0),
               "Parkinson's disease");
    /* nonessential modifiers: searchable, never required */
    s_title_is(s_row_at(s_ok(&(s_req_t){.table = "index", .q = "mellitus"}), 0),
               "Diabetes, diabetic (mellitus) (sugar)");
    r = s_ok(&(s_req_t){.table = "index", .q = "diabetes"});
    row = s_row_at(r, 0);
    s_title_is(row, "Diabetes, diabetic (mellitus) (sugar)");
    ck_assert(cs_obj_is_str(cs_obj_get(row, "nemod"), "(mellitus) (sugar)"));
    s_code_is(row, "code", "E11.9", "billable");
    /* the search op: without "include":["index"] no index key; with it, the index's rows
     * beside the tabular's hits */
    msgpack_packer *pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "q", "fall from ladder");
    r = cs_tclient_call(s_q, S_TIMEOUT);
    ck_assert_ptr_null(cs_obj_get(r, "index"));
    pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 5);
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "q", "fall from ladder");
    cs_tpack_kv(pk, "release", "2022");
    cs_tpack_str(pk, "include");
    msgpack_pack_array(pk, 1);
    cs_tpack_str(pk, "index");
    r = cs_tclient_call(s_q, S_TIMEOUT);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    row = s_row_at(cs_obj_get(r, "index"), 0);
    s_title_is(row, "ladder");
    ck_assert(cs_obj_is_str(cs_obj_get(row, "table"), "eindex"));
    /* a table answers only its own terms */
    ck_assert_uint_eq(cs_obj_int(cs_obj_get(s_ok(&(s_req_t){.table = "drug", .q = "diabetes"}),
                                            "total")),
                      0);
    cs_daemon_stop(&s_d);
}
END_TEST

START_TEST(test_samples_states)
{
    cs_daemon_load_sample(&s_d, s_admin, "2022", "2021-10-01");
    s_load_samples("2022");
    /* a header with its hint; a code that needs its 7th character; one ending in '-' */
    const char *type2[] = {"Diabetes", "type 2", NULL};
    const msgpack_object *r = s_ok(&(s_req_t){.table = "index", .path = type2});
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    const msgpack_object *row = s_row_at(r, 0);
    s_code_is(row, "code", "E11", "header");
    ck_assert_uint_gt(cs_obj_get(s_code(row, "code"), "hint")->via.array.size, 0);
    const char *neck[] = {"Fracture, traumatic", "femur, femoral", NULL};
    r = s_ok(&(s_req_t){.table = "index", .path = neck});
    s_code_is(s_row_at(r, 0), "code", "S72.9-", "needs_more");
    r = s_ok(&(s_req_t){.table = "index", .q = "femur neck"});
    row = s_row_at(r, 0);
    s_code_is(row, "code", "S72.001", "needs_7th");
    const msgpack_object *c = s_code(row, "code");
    ck_assert_uint_ge(cs_obj_get(c, "chars")->via.array.size, 3);
    /* a drug cell with no code: "--" is state none */
    r = s_ok(&(s_req_t){.table = "drug", .q = "propanol"});
    row = s_row_at(r, 0);
    s_code_is(row, "cell7", "--", "none");
    ck_assert(cs_obj_is_str(cs_obj_get(s_code(row, "cell6"), "head"), "Adverse effect"));
    ck_assert_uint_eq(cs_obj_int(cs_obj_get(s_code(row, "cell6"), "col")), 6);
    ck_assert_uint_eq(cs_obj_get(r, "columns")->via.array.size, 7);
    cs_daemon_stop(&s_d);
}
END_TEST

START_TEST(test_samples_walk)
{
    s_load_samples("2022");
    /* without the tabular the codes are unknown and tabular is nil */
    const char *path[] = {"Fall, falling", "from, off, out of", NULL};
    const msgpack_object *r = s_ok(&(s_req_t){.table = "eindex", .path = path});
    ck_assert_int_eq(cs_obj_get(r, "tabular")->type, MSGPACK_OBJECT_NIL);
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "matched")), 2);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "total")), 2);
    s_title_is(s_row_at(r, 0), "from, off, out of");
    s_title_is(s_row_at(r, 1), "ladder");
    s_title_is(s_row_at(r, 2), "stairs, steps");
    /* a key from a reply walks the same way */
    char key[64];
    cs_obj_cstr(cs_obj_get(s_row_at(r, 0), "key"), key, sizeof key);
    r = s_ok(&(s_req_t){.table = "eindex", .key = key});
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    s_title_is(s_row_at(r, 1), "ladder");
    /* a key of another table, or none at all: found false */
    r = s_ok(&(s_req_t){.table = "drug", .key = key});
    ck_assert(!cs_obj_true(cs_obj_get(r, "found")));
    /* a path that goes astray: how far it got, and what lies there */
    const char *astray[] = {"Fall", "nowhere", NULL};
    r = s_ok(&(s_req_t){.table = "eindex", .path = astray});
    ck_assert(!cs_obj_true(cs_obj_get(r, "found")));
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "matched")), 1);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "total")), 2);
    /* neither q nor path: the main terms */
    r = s_ok(&(s_req_t){.table = "drug"});
    ck_assert_int_eq(cs_obj_int(cs_obj_get(r, "total")), 5);
    s_title_is(s_row_at(r, 0), "1-propanol");
    /* see followed; see also back to a row already there: a cycle, cut */
    r = s_ok(&(s_req_t){.table = "eindex", .q = "submersion", .follow = 1});
    s_title_is(s_row_at(r, 0), "Submersion (accidental)");
    const msgpack_object *f = s_row_at(r, 1);
    s_title_is(f, "Drowning (accidental)");
    ck_assert(cs_obj_is_str(cs_obj_get(f, "via"), "see"));
    const msgpack_object *un = cs_obj_get(r, "unfollowed");
    ck_assert_uint_eq(un->via.array.size, 1);
    ck_assert(cs_obj_is_str(cs_obj_get(&un->via.array.ptr[0], "why"), "cycle"));
    ck_assert(cs_obj_is_str(cs_obj_get(&un->via.array.ptr[0], "via"), "see_also"));
    /* not following: no followed rows, no unfollowed list */
    r = s_ok(&(s_req_t){.table = "eindex", .q = "submersion"});
    ck_assert_uint_eq(s_rows(r)->via.array.size, 1);
    ck_assert_ptr_null(cs_obj_get(r, "unfollowed"));
    /* "see Disease, Alzheimer's" reaches the main term Disease, diseased and its subterm */
    r = s_ok(&(s_req_t){.table = "index", .q = "dementia alzheimers", .follow = 1});
    s_title_is(s_row_at(r, 1), "Alzheimer's");
    /* refused: a path that is not a list of str, or longer than a main term and 9 levels */
    msgpack_packer *pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "index");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "table", "eindex");
    cs_tpack_kv(pk, "path", "Fall");
    ck_assert_str_eq(s_err(cs_tclient_call(s_q, S_TIMEOUT)), "bad_request");
    pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "index");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "table", "eindex");
    cs_tpack_str(pk, "path");
    msgpack_pack_array(pk, 11);
    for (int i = 0; i < 11; i++) {
        cs_tpack_str(pk, "Fall");
    }
    ck_assert_str_eq(s_err(cs_tclient_call(s_q, S_TIMEOUT)), "too_many");
    /* a path of odd bytes and a key of another shape are answered, found false */
    const char *odd[] = {"\xff\xfe(((", "", NULL};
    ck_assert(!cs_obj_true(cs_obj_get(s_ok(&(s_req_t){.table = "eindex", .path = odd}),
                                      "found")));
    ck_assert(!cs_obj_true(cs_obj_get(s_ok(&(s_req_t){.table = "eindex", .key = "e../x"}),
                                      "found")));
    /* no table */
    pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "index");
    cs_tpack_kv(pk, "system", "icd10cm");
    ck_assert_str_eq(s_err(cs_tclient_call(s_q, S_TIMEOUT)), "bad_request");
    /* refused: a table, a system, a release */
    ck_assert_str_eq(s_err(s_index(&(s_req_t){.table = "tabular"})), "bad_request");
    ck_assert_str_eq(s_err(s_index(&(s_req_t){.table = "drug", .system = "icd9cm"})),
                     "unknown_system");
    ck_assert_str_eq(s_err(s_index(&(s_req_t){.table = "drug", .release = "1999"})),
                     "unknown_release");
    cs_daemon_stop(&s_d);
}
END_TEST

/* `codeset index ... --follow` through the live broker: the term a see reaches is a row marked
 * (see), the see also back is cut as a cycle and said so; without --follow neither. */
static char *s_cli_index(const char *words, int follow)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    FILE *err = tmpfile();
    ck_assert(out && err);
    const char *argv[] = {"codeset", "--connect", s_d.query_ep, "index", "eindex", words,
                          "--follow"};
    int rc = cs_cli_main(follow ? 7 : 6, (char **)argv, out, err);
    fclose(out);
    fclose(err);
    ck_assert_msg(rc == 0, "codeset index eindex %s: exit %d", words, rc);
    return text;
}

START_TEST(test_cli_follow)
{
    s_load_samples("2022");
    char *out = s_cli_index("submersion", 1);
    ck_assert_msg(strstr(out, "Submersion (accidental)") && strstr(out, "see Drowning") &&
                      strstr(out, "Drowning (accidental)  (see)  W74 ?") &&
                      strstr(out, "not followed: see also Submersion (cycle)\n") &&
                      strstr(out, "1 shown of 1 terms (and 1 reached by see or see also)"),
                  "%s", out);
    free(out);
    out = s_cli_index("submersion", 0);
    ck_assert_msg(strstr(out, "see Drowning") && !strstr(out, "Drowning (accidental)") &&
                      !strstr(out, "not followed") && strstr(out, "1 shown of 1 terms,"),
                  "%s", out);
    free(out);
    cs_daemon_stop(&s_d);
}
END_TEST

/* An index set is a release: listed, searched and looked up by key, diffed, retired,
 * dropped; a bad file fails at file:line and leaves what was loaded as it was. */
START_TEST(test_set_is_a_release)
{
    s_load_samples("2022");
    char drug[PATH_MAX];
    s_sample("drug", drug, sizeof drug);
    const char *one[1] = {drug};
    char state[32];
    s_load("2023", one, 1, state, sizeof state);
    ck_assert_str_eq(state, "done");
    /* a broken tree: the load fails with the file and line, nothing changes */
    char dir[PATH_MAX], bad[PATH_MAX + 40];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(bad, sizeof bad, "%s/icd10cm_eindex_2024.xml", dir);
    FILE *fp = fopen(bad, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("<ICD10CM.index><letter><title>A</title>\n<mainTerm><title>A</title>\n"
          "<term level=\"3\"><title>b</title></term></mainTerm></letter></ICD10CM.index>\n", fp);
    fclose(fp);
    const char *bads[1] = {bad};
    const msgpack_object *j = s_load("2022", bads, 1, state, sizeof state);
    ck_assert_str_eq(state, "failed");
    const msgpack_object *err = cs_obj_get(j, "error");
    char msg[512], file[256];
    cs_obj_cstr(cs_obj_get(err, "message"), msg, sizeof msg);
    ck_assert_msg(strstr(msg, "level 3 under a term of level 0"), "%s", msg);
    ck_assert_msg(strstr(cs_obj_cstr(cs_obj_get(err, "file"), file, sizeof file),
                         "icd10cm_eindex_2024.xml"), "file %s", file);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(err, "line")), 3);
    cs_test_rmtree(dir);
    /* 2022 still holds its four tables */
    const msgpack_object *r = s_ok(&(s_req_t){.table = "eindex", .q = "ladder", .release =
                                                                                    "2022"});
    s_title_is(s_row_at(r, 0), "ladder");
    /* the newest set (2023) holds the drug table only */
    ck_assert_str_eq(s_err(s_index(&(s_req_t){.table = "eindex", .q = "ladder"})),
                     "unknown_release");
    /* listed, diffed, looked up by key, retired, dropped */
    msgpack_packer *pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "releases");
    cs_tpack_kv(pk, "system", "icd10cm-index");
    r = cs_tclient_call(s_q, S_TIMEOUT);
    ck_assert_uint_eq(cs_obj_get(r, "releases")->via.array.size, 2);
    pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "diff");
    cs_tpack_kv(pk, "system", "icd10cm-index");
    cs_tpack_kv(pk, "release", "2022");
    cs_tpack_kv(pk, "to_release", "2023");
    r = cs_tclient_call(s_q, S_TIMEOUT);
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "diff: %s", s_err(r));
    r = s_ok(&(s_req_t){.table = "drug", .q = "acetaminophen"});
    char key[64];
    cs_obj_cstr(cs_obj_get(s_row_at(r, 0), "key"), key, sizeof key);
    pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10cm-index");
    cs_tpack_kv(pk, "code", key);
    r = cs_tclient_call(s_q, S_TIMEOUT);
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "ok")), "lookup: %s", s_err(r));
    pk = cs_tclient_begin(s_admin);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "retire");
    cs_tpack_kv(pk, "system", "icd10cm-index");
    cs_tpack_kv(pk, "release", "2023");
    ck_assert(cs_obj_true(cs_obj_get(cs_tclient_call(s_admin, S_TIMEOUT), "ok")));
    s_title_is(s_row_at(s_ok(&(s_req_t){.table = "eindex", .q = "ladder"}), 0), "ladder");
    pk = cs_tclient_begin(s_admin);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "drop");
    cs_tpack_kv(pk, "system", "icd10cm-index");
    cs_tpack_kv(pk, "release", "2022");
    ck_assert(cs_obj_true(cs_obj_get(cs_tclient_call(s_admin, S_TIMEOUT), "ok")));
    ck_assert_str_eq(s_err(s_index(&(s_req_t){.table = "eindex", .q = "ladder",
                                               .release = "2022"})),
                     "unknown_release");
    cs_daemon_stop(&s_d);
}
END_TEST

/* ---- the official FY2022 files ---------------------------------------------------------- */

static int s_load_fy2022(void)
{
    char order[PATH_MAX], p[3][PATH_MAX];
    if (!cs_test_data_path("icd10cm/order/icd10cm_order_2022.txt", order, sizeof order) ||
        !cs_test_data_path("icd10cm/index-2022/icd10cm_drug_2022.xml", p[0], sizeof p[0]) ||
        !cs_test_data_path("icd10cm/index-2022/icd10cm_neoplasm_2022.xml", p[1], sizeof p[1]) ||
        !cs_test_data_path("icd10cm/index-2022/icd10cm_eindex_2022.xml", p[2], sizeof p[2])) {
        return 0;
    }
    const char *o[1] = {order};
    char state[32];
    ck_assert_ptr_nonnull(cs_daemon_load(&s_d, s_admin, "icd10cm-order", "2022", "2021-10-01",
                                         o, 1, state, sizeof state, 120000));
    ck_assert_str_eq(state, "done");
    const char *files[3] = {p[0], p[1], p[2]};
    s_load("2022", files, 3, state, sizeof state);
    ck_assert_str_eq(state, "done");
    return 1;
}

START_TEST(test_fy2022_rows)
{
    int ok = s_load_fy2022();
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/order/icd10cm_order_2022.txt and icd10cm/index-2022");
    /* acetaminophen: its six columns; adverse effect T39.1X5 needs A, D or S */
    const msgpack_object *r = s_ok(&(s_req_t){.table = "drug", .q = "acetaminophen"});
    const msgpack_object *row = s_row_at(r, 0);
    s_title_is(row, "Acetaminophen");
    static const char *const acet[] = {"T39.1X1", "T39.1X2", "T39.1X3", "T39.1X4", "T39.1X5",
                                       "T39.1X6"};
    for (int c = 0; c < 6; c++) {
        char name[8];
        snprintf(name, sizeof name, "cell%d", c + 2);
        s_code_is(row, name, acet[c], "needs_7th");
        s_chars_are(s_code(row, name), "ADS");
    }
    ck_assert(cs_obj_is_str(cs_obj_get(s_code(row, "cell6"), "head"), "Adverse effect"));
    /* 1-propanol: T51.3X1 needs A, D or S; no adverse effect ("--") */
    row = s_row_at(s_ok(&(s_req_t){.table = "drug", .q = "1-propanol"}), 0);
    s_title_is(row, "1-propanol");
    s_code_is(row, "cell2", "T51.3X1", "needs_7th");
    s_chars_are(s_code(row, "cell2"), "ADS");
    s_code_is(row, "cell6", "--", "none");
    /* the Neoplasm Table's breast row */
    const char *breast[] = {"Neoplasm, neoplastic", "breast", NULL};
    r = s_ok(&(s_req_t){.table = "neoplasm", .path = breast});
    ck_assert(cs_obj_true(cs_obj_get(r, "found")));
    row = s_row_at(r, 0);
    s_title_is(row, "breast (connective tissue) (glandular tissue) (soft parts)");
    s_code_is(row, "cell2", "C50.9-", "needs_more");
    s_code_is(row, "cell3", "C79.81", "billable");
    s_code_is(row, "cell4", "D05.-", "needs_more");
    s_code_is(row, "cell5", "D24.-", "needs_more");
    s_code_is(row, "cell7", "D49.3", "billable");
    ck_assert(cs_obj_is_str(cs_obj_get(s_code(row, "cell3"), "head"), "Malignant Secondary"));
    /* the External Cause Index: fall from ladder leads to W11 (W11.XXX + A, D or S) */
    row = s_row_at(s_ok(&(s_req_t){.table = "eindex", .q = "fall from ladder"}), 0);
    s_title_is(row, "ladder");
    const msgpack_object *c = s_code(row, "code");
    ck_assert(cs_obj_is_str(cs_obj_get(c, "text"), "W11"));
    ck_assert(cs_obj_is_str(cs_obj_get(c, "placeholder"), "W11.XXX"));
    s_chars_are(c, "ADS");
    /* the search op with the index as a source: W11 through the External Cause Index */
    msgpack_packer *pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "q", "fall from ladder");
    cs_tpack_str(pk, "include");
    msgpack_pack_array(pk, 1);
    cs_tpack_str(pk, "index");
    r = cs_tclient_call(s_q, S_TIMEOUT);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    const msgpack_object *ix = cs_obj_get(r, "index");
    ck_assert(cs_obj_is_str(cs_obj_get(ix, "release"), "2022"));
    row = s_row_at(ix, 0);
    ck_assert(cs_obj_is_str(cs_obj_get(row, "table"), "eindex"));
    s_title_is(row, "ladder");
    s_code_is(row, "code", "W11", "needs_7th");
    /* the CLI: one row per line, a column per heading, each code with its state's mark */
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s/bin/codeset --connect %s index drug acetaminophen 2>&1",
             cs_test_build_dir(), s_d.query_ep);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_msg(strstr(out, "Adverse effect") && strstr(out, "T39.1X5 +7") &&
                      strstr(out, "Acetaminophen") && strstr(out, "ICD-10-CM 2022"),
                  "%s", out);
    /* a term with a see, followed: Accident > automobile, see Accident, transport, car */
    const char *autom[] = {"Accident", "automobile", NULL};
    r = s_ok(&(s_req_t){.table = "eindex", .path = autom, .follow = 1});
    row = s_row_at(r, 0);
    ck_assert(cs_obj_is_str(cs_obj_get(row, "see"), "Accident, transport, car occupant"));
    const msgpack_object *rows = s_rows(r);
    int followed = 0;
    for (uint32_t i = 0; i < rows->via.array.size; i++) {
        followed |= cs_obj_is_str(cs_obj_get(&rows->via.array.ptr[i], "via"), "see");
    }
    ck_assert_msg(followed, "the see of Accident, automobile was not followed");
    cs_daemon_stop(&s_d);
}
END_TEST

/* Every term of the three files walked through the broker (the main terms, then each term's
 * subterms by its key): terms per level, cells and code references counted and compared with
 * the XML, each code's state counted; those the tabular does not hold are printed. */
typedef struct s_census {
    uint64_t levels[12], cells, refs, state[6], requests;
    char unknown[4096];
    size_t unknown_len;
    char (*with_refs)[32];  /* keys of the terms with a see or a see also */
    size_t n_with_refs;
    uint64_t sees[2];       /* see, see also */
    uint64_t outcome[2][6]; /* per kind: whole, partial, not_found, cycle, limit, a table */
} s_census_t;

static const char *const s_states[6] = {"none", "billable", "header", "needs_7th",
                                        "needs_more", "unknown"};

static void s_count_row(s_census_t *c, const msgpack_object *row)
{
    c->levels[cs_obj_get(row, "path")->via.array.size]++;
    int see = cs_obj_get(row, "see") != NULL, also = cs_obj_get(row, "see_also") != NULL;
    c->sees[0] += see;
    c->sees[1] += also;
    if (see || also) {
        c->with_refs = realloc(c->with_refs, (c->n_with_refs + 1) * sizeof *c->with_refs);
        ck_assert_ptr_nonnull(c->with_refs);
        cs_obj_cstr(cs_obj_get(row, "key"), c->with_refs[c->n_with_refs++], 32);
    }
    const msgpack_object *codes = cs_obj_get(row, "codes");
    for (uint32_t i = 0; i < codes->via.array.size; i++) {
        const msgpack_object *it = &codes->via.array.ptr[i];
        int cell = cs_obj_get(it, "col") != NULL;
        c->cells += cell;
        c->refs += !cell;
        for (int s = 0; s < 6; s++) {
            if (cs_obj_is_str(cs_obj_get(it, "state"), s_states[s])) {
                c->state[s]++;
                if (s == 5 && c->unknown_len + 40 < sizeof c->unknown) {
                    char t[32];
                    c->unknown_len += (size_t)snprintf(c->unknown + c->unknown_len, 40, " %s",
                                                       cs_obj_cstr(cs_obj_get(it, "text"), t,
                                                                   sizeof t));
                }
            }
        }
    }
}

/* The subterms of key (NULL: the main terms), every page, counted and walked down. */
static void s_walk(s_census_t *c, const char *table, const char *key)
{
    char keys[100][32];
    for (int offset = 0;; offset += 100) {
        msgpack_packer *pk = cs_tclient_begin(s_q);
        msgpack_pack_map(pk, key ? 6 : 5);
        cs_tpack_kv(pk, "op", "index");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "table", table);
        if (key) {
            cs_tpack_kv(pk, "code", key);
        }
        cs_tpack_str(pk, "limit");
        msgpack_pack_int(pk, 100);
        cs_tpack_str(pk, "offset");
        msgpack_pack_int(pk, offset);
        const msgpack_object *r = cs_tclient_call(s_q, S_TIMEOUT);
        ck_assert_ptr_nonnull(r);
        ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        c->requests++;
        const msgpack_object *rows = cs_obj_get(r, "rows");
        uint32_t first = key ? 1 : 0; /* with a key, row 0 is the term itself */
        uint32_t n = 0;
        for (uint32_t i = first; i < rows->via.array.size; i++) {
            const msgpack_object *row = &rows->via.array.ptr[i];
            s_count_row(c, row);
            if (cs_obj_true(cs_obj_get(row, "subterms"))) {
                cs_obj_cstr(cs_obj_get(row, "key"), keys[n++], sizeof keys[0]);
            }
        }
        int64_t total = cs_obj_int(cs_obj_get(r, "total"));
        for (uint32_t i = 0; i < n; i++) {
            s_walk(c, table, keys[i]);
        }
        if (offset + 100 >= total) {
            break;
        }
    }
}

/* Follow the references of every term that has one: how each ends. */
static void s_follow_all(s_census_t *c, const char *table)
{
    static const char *const whys[3] = {"not_found", "cycle", "limit"};
    for (size_t i = 0; i < c->n_with_refs; i++) {
        const char *key = c->with_refs[i];
        const msgpack_object *r = s_ok(&(s_req_t){.table = table, .key = key, .follow = 1,
                                                  .limit = 1});
        const msgpack_object *rows = s_rows(r);
        for (uint32_t k = 0; k < rows->via.array.size; k++) {
            const msgpack_object *row = &rows->via.array.ptr[k];
            if (!cs_obj_is_str(cs_obj_get(row, "from"), key)) {
                continue;
            }
            int also = cs_obj_is_str(cs_obj_get(row, "via"), "see_also");
            c->outcome[also][cs_obj_true(cs_obj_get(row, "partial")) ? 1 : 0]++;
        }
        const msgpack_object *un = cs_obj_get(r, "unfollowed");
        for (uint32_t k = 0; k < un->via.array.size; k++) {
            const msgpack_object *u = &un->via.array.ptr[k];
            if (!cs_obj_is_str(cs_obj_get(u, "from"), key)) {
                continue;
            }
            int also = cs_obj_is_str(cs_obj_get(u, "via"), "see_also");
            int known = 0;
            for (int w = 0; w < 3; w++) {
                known |= cs_obj_is_str(cs_obj_get(u, "why"), whys[w]);
                c->outcome[also][2 + w] += cs_obj_is_str(cs_obj_get(u, "why"), whys[w]);
            }
            c->outcome[also][5] += !known; /* a table's name */
        }
    }
}

START_TEST(test_fy2022_census)
{
    int ok = s_load_fy2022();
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/order/icd10cm_order_2022.txt and icd10cm/index-2022");
    static const struct {
        const char *table;
        uint64_t levels[10];
        uint64_t cells, refs, see, see_also;
    } want[] = {
        {"drug", {5175, 1900, 294, 49, 5}, 43182, 0, 97, 35},
        {"neoplasm", {1, 593, 957, 352, 36}, 10916, 1, 67, 120},
        {"eindex", {314, 1380, 1587, 1268, 917, 1004, 862, 364, 104}, 0, 6416 + 4 + 11, 788, 98},
    };
    for (size_t t = 0; t < 3; t++) {
        s_census_t *c = calloc(1, sizeof *c);
        s_walk(c, want[t].table, NULL);
        for (int l = 0; l < 10; l++) {
            ck_assert_msg(c->levels[l] == want[t].levels[l], "%s level %d: %llu terms",
                          want[t].table, l, (unsigned long long)c->levels[l]);
        }
        ck_assert_uint_eq(c->cells, want[t].cells);
        ck_assert_uint_eq(c->refs, want[t].refs);
        ck_assert_uint_eq(c->sees[0], want[t].see);
        ck_assert_uint_eq(c->sees[1], want[t].see_also);
        s_follow_all(c, want[t].table);
        for (int k = 0; k < 2; k++) {
            uint64_t sum = 0;
            for (int o = 0; o < 6; o++) {
                sum += c->outcome[k][o];
            }
            ck_assert_msg(sum == c->sees[k], "%s: %llu %s ended, of %llu", want[t].table,
                          (unsigned long long)sum, k ? "see also" : "see",
                          (unsigned long long)c->sees[k]);
            fprintf(stderr, "FY2022 %s %s references: %llu reach their whole path, %llu only "
                    "its start, %llu nothing, %llu a cycle, %llu the limit, %llu a whole "
                    "table\n", want[t].table, k ? "see also" : "see",
                    (unsigned long long)c->outcome[k][0], (unsigned long long)c->outcome[k][1],
                    (unsigned long long)c->outcome[k][2], (unsigned long long)c->outcome[k][3],
                    (unsigned long long)c->outcome[k][4], (unsigned long long)c->outcome[k][5]);
        }
        free(c->with_refs);
        fprintf(stderr,
                "FY2022 %s through the broker (%llu requests): %llu cells, %llu code "
                "references; none %llu, billable %llu, header %llu, needs_7th %llu, "
                "needs_more %llu, unknown %llu:%s\n",
                want[t].table, (unsigned long long)c->requests, (unsigned long long)c->cells,
                (unsigned long long)c->refs, (unsigned long long)c->state[0],
                (unsigned long long)c->state[1], (unsigned long long)c->state[2],
                (unsigned long long)c->state[3], (unsigned long long)c->state[4],
                (unsigned long long)c->state[5], c->unknown_len ? c->unknown : " (none)");
        free(c);
    }
    cs_daemon_stop(&s_d);
}
END_TEST

Suite *cs_index_broker_suite(void);
Suite *cs_index_broker_suite(void)
{
    Suite *s = suite_create("index_broker");
    TCase *tc = tcase_create("samples");
    tcase_add_checked_fixture(tc, s_start, s_stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_samples);
    tcase_add_test(tc, test_samples_states);
    tcase_add_test(tc, test_samples_walk);
    tcase_add_test(tc, test_set_is_a_release);
    tcase_add_test(tc, test_cli_follow);
    suite_add_tcase(s, tc);

    tc = tcase_create("fy2022");
    tcase_add_checked_fixture(tc, s_start, s_stop);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_fy2022_rows);
    tcase_add_test(tc, test_fy2022_census);
    suite_add_tcase(s, tc);
    return s;
}
