/* check_diff_sets.c: the diff op on edit sets, through a live codesetd over ZeroMQ.
 *   - poa-exempt FY2025 -> FY2026: the codes added and deleted are the two CDC lists' set
 *     differences, computed here from the files themselves;
 *   - mce v33 -> v34: each list's added, deleted and changed rows are those of the lists the
 *     mce-lists loader reads from the two files (through the recording mock host);
 *   - ncci-ptp and ncci-mue: the synthetic samples against a copy written here with one row
 *     changed in each way (a modifier indicator, a deletion date, an MUE value), one deleted,
 *     one added, and a list (ptp-cpt) gone;
 *   - the CLI's `codeset diff` prints them;
 *   - the load job's reply reports an edit set's rows against their releases (`lists`);
 *   - a system diff still answers as before, an unknown set is still unknown_system.
 * Skips, saying so, where ../shared/data is absent (the NCCI part runs without it). */
#include <check.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../clients/codeset/cli.h"
#include "codeset/cs_plugin.h"
#include "cs_daemon.h"
#include "cs_test.h"
#include "loader_test.h"
#include "mock_host.h"

#define T_LOAD 120000

static cs_daemon_t s_d;
static int s_have; /* the POA and MCE files are there and loaded */
static char s_tmp[PATH_MAX];
static char s_ptp2[PATH_MAX], s_mue2[PATH_MAX];

static char s_poa_lists[512]; /* the job reply's report of the FY2025 POA load's lists */

static void s_load(cs_tclient_t *admin, const char *loader, const char *label, const char *eff,
                   const char *f1, const char *f2)
{
    char state[64];
    const char *files[] = {f1, f2};
    const msgpack_object *r = cs_daemon_load(&s_d, admin, loader, label, eff, files,
                                             f2 ? 2 : 1, state, sizeof state, T_LOAD);
    char msg[300] = "";
    cs_obj_cstr(cs_obj_get(cs_obj_get(r, "error"), "message"), msg, sizeof msg);
    ck_assert_msg(strcmp(state, "done") == 0, "load %s %s: %s %s", loader, label, state, msg);
    if (strcmp(label, "FY2025") == 0) {
        cs_obj_cstr(cs_obj_get(r, "lists"), s_poa_lists, sizeof s_poa_lists);
    }
}

/* path <- the file at src with each line starting with a from[k] replaced by to[k] ("" to
 * delete it), and add appended. */
static void s_edit_copy(const char *src, const char *name, const char *const *from,
                        const char *const *to, size_t n, const char *add, char *path,
                        size_t cap)
{
    snprintf(path, cap, "%s/%s", s_tmp, name);
    FILE *in = fopen(src, "rb"), *out = fopen(path, "wb");
    ck_assert(in && out);
    char line[2048];
    while (fgets(line, sizeof line, in)) {
        size_t k = 0;
        while (k < n && strncmp(line, from[k], strlen(from[k])) != 0) {
            k++;
        }
        fputs(k < n ? to[k] : line, out);
    }
    fputs(add, out);
    fclose(in);
    fclose(out);
}

static void s_setup(void)
{
    cs_test_tmpdir(s_tmp, sizeof s_tmp);
    char cwd[PATH_MAX], ptp[PATH_MAX + 64], mue[PATH_MAX + 64], ranges[PATH_MAX + 64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(ptp, sizeof ptp, "%s/loaders/ncci-ptp/sample/ncci_ptp_sample.txt", cwd);
    snprintf(mue, sizeof mue, "%s/loaders/ncci-mue/sample/ncci_mue_sample.csv", cwd);
    snprintf(ranges, sizeof ranges, "%s/loaders/mce-lists/mce_age_ranges.tsv", cwd);
    /* the second NCCI releases: G0101/J1100 now 0, G0101/G0102 deleted at the end of 2025,
     * 99213/36415 (the only CPT row) gone, G0102/J1100 new; J1100's MUE 12, A4550 gone,
     * G0102 new */
    static const char *const pf[] = {"G0101\tJ1100", "G0101\tG0102", "99213\t36415"};
    static const char *const pt[] = {"G0101\tJ1100\t\t20000101\t*\t0\tSynthetic: now never\n",
                                     "G0101\tG0102\t\t20000101\t20251231\t0\tSynthetic\n", ""};
    s_edit_copy(ptp, "ptp2.txt", pf, pt, 3, "G0102\tJ1100\t\t20251001\t*\t1\tSynthetic: new\n",
                s_ptp2, sizeof s_ptp2);
    static const char *const mf[] = {"J1100,", "A4550,"};
    static const char *const mt[] = {"J1100,12,3 Date of Service Edit: Clinical,Synthetic\n",
                                     ""};
    s_edit_copy(mue, "mue2.csv", mf, mt, 2, "G0102,1,1 Line Edit,Synthetic\n", s_mue2,
                sizeof s_mue2);
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    s_load(admin, "ncci-ptp", "sample", "2020-01-01", ptp, NULL);
    s_load(admin, "ncci-ptp", "sample2", "2025-10-01", s_ptp2, NULL);
    s_load(admin, "ncci-mue", "sample", "2025-01-01", mue, NULL);
    s_load(admin, "ncci-mue", "sample2", "2025-10-01", s_mue2, NULL);
    char p25[PATH_MAX], p26[PATH_MAX], m33[PATH_MAX], m34[PATH_MAX];
    s_have = cs_test_data_path("poa/POAexemptCodesFY25.txt", p25, sizeof p25) &&
             cs_test_data_path("poa/POAexemptCodesFY26.txt", p26, sizeof p26) &&
             cs_test_data_path("mce/MCE_Simple_Code_Edits_v33.txt", m33, sizeof m33) &&
             cs_test_data_path("mce/MCE_Simple_Code_Edits_v34.txt", m34, sizeof m34);
    if (s_have) {
        s_load(admin, "poa-exempt", "FY2025", "2024-10-01", p25, NULL);
        s_load(admin, "poa-exempt", "FY2026", "2025-10-01", p26, NULL);
        s_load(admin, "mce-lists", "v33", "2015-10-01", m33, ranges);
        s_load(admin, "mce-lists", "v34", "2016-10-01", m34, ranges);
    }
    cs_tclient_destroy(&admin);
}

static void s_teardown(void)
{
    cs_daemon_stop(&s_d);
    cs_daemon_cleanup(&s_d);
    cs_test_rmtree(s_tmp);
}

static const msgpack_object *s_diff(cs_tclient_t *q, const char *set, const char *from,
                                    const char *to)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 5);
    cs_tpack_kv(pk, "op", "diff");
    cs_tpack_kv(pk, "system", set);
    cs_tpack_kv(pk, "release", from);
    cs_tpack_kv(pk, "to_release", to);
    cs_tpack_str(pk, "limit");
    msgpack_pack_int(pk, 100000);
    const msgpack_object *r = cs_tclient_call(q, T_LOAD);
    char why[300];
    ck_assert_msg(r && cs_obj_true(cs_obj_get(r, "ok")), "diff %s: %s", set,
                  r ? cs_obj_error_code(r, why, sizeof why) : "no reply");
    return r;
}

/* The list named name of a diff reply. */
static const msgpack_object *s_list(const msgpack_object *r, const char *name)
{
    const msgpack_object *lists = cs_obj_get(r, "lists");
    ck_assert_ptr_nonnull(lists);
    for (uint32_t i = 0; i < lists->via.array.size; i++) {
        if (cs_obj_is_str(cs_obj_get(&lists->via.array.ptr[i], "list"), name)) {
            return &lists->via.array.ptr[i];
        }
    }
    ck_abort_msg("no list %s in the diff", name);
    return NULL;
}

/* A code without its dot, upper case: how the files and the replies are compared. */
static void s_bare(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (in[i] != '.') {
            out[o++] = (char)toupper((unsigned char)in[i]);
        }
    }
    out[o] = '\0';
}

/* A set of strings ("code" or "code\tdata"), sorted once filled. */
typedef struct s_set {
    char **s;
    size_t n, cap;
} s_set_t;

static void s_add(s_set_t *set, const char *code, size_t clen, const char *data, size_t dlen)
{
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 1024;
        set->s = realloc(set->s, set->cap * sizeof *set->s);
        ck_assert_ptr_nonnull(set->s);
    }
    char bare[64];
    s_bare(code, clen, bare, sizeof bare);
    size_t len = strlen(bare) + 1 + dlen + 1;
    char *e = malloc(len);
    ck_assert_ptr_nonnull(e);
    snprintf(e, len, "%s%s%.*s", bare, dlen ? "\t" : "", (int)dlen, data ? data : "");
    set->s[set->n++] = e;
}

static int s_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void s_sort(s_set_t *set)
{
    if (set->n) {
        qsort(set->s, set->n, sizeof *set->s, s_strcmp);
    }
}

static int s_has(const s_set_t *set, const char *e)
{
    return set->n && bsearch(&e, set->s, set->n, sizeof *set->s, s_strcmp) != NULL;
}

static void s_free(s_set_t *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->s[i]);
    }
    free(set->s);
    memset(set, 0, sizeof *set);
}

/* The entries of a reply's list kind ("added", ...), as "code" or "code\tdata"
 * (changed: "code\told\tnew"). */
static void s_reply_set(const msgpack_object *list, const char *kind, s_set_t *out)
{
    const msgpack_object *items = cs_obj_get(list, kind);
    ck_assert_ptr_nonnull(items);
    ck_assert_int_eq(cs_obj_int(cs_obj_get(cs_obj_get(list, "counts"), kind)),
                     (int64_t)items->via.array.size);
    for (uint32_t i = 0; i < items->via.array.size; i++) {
        const msgpack_object *it = &items->via.array.ptr[i];
        char code[64], data[600] = "", old[300] = "", nw[300] = "";
        cs_obj_cstr(cs_obj_get(it, "code"), code, sizeof code);
        if (strcmp(kind, "changed") == 0) {
            cs_obj_cstr(cs_obj_get(it, "old_data"), old, sizeof old);
            cs_obj_cstr(cs_obj_get(it, "new_data"), nw, sizeof nw);
            snprintf(data, sizeof data, "%s\t%s", old, nw);
        } else if (cs_obj_get(it, "data")) {
            cs_obj_cstr(cs_obj_get(it, "data"), data, sizeof data);
        }
        s_add(out, code, strlen(code), data, strlen(data));
    }
    s_sort(out);
}

/* want and got hold the same entries. */
static void s_same(const s_set_t *want, const s_set_t *got, const char *what)
{
    for (size_t i = 0; i < want->n; i++) {
        ck_assert_msg(s_has(got, want->s[i]), "%s: %s is missing", what, want->s[i]);
    }
    ck_assert_msg(want->n == got->n, "%s: %zu expected, %zu in the reply", what, want->n,
                  got->n);
}

/* The codes of a POA-exempt list file (column 2 of each row after the header). */
static void s_poa_codes(const char *rel, s_set_t *out)
{
    char path[PATH_MAX];
    ck_assert(cs_test_data_path(rel, path, sizeof path));
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    for (int no = 0; fgets(line, sizeof line, f); no++) {
        char *a = strchr(line, '\t'), *b = a ? strchr(a + 1, '\t') : NULL;
        if (no > 0 && b) {
            s_add(out, a + 1, (size_t)(b - a - 1), NULL, 0);
        }
    }
    fclose(f);
    s_sort(out);
}

/* Entries of a not in b. */
static void s_minus(const s_set_t *a, const s_set_t *b, s_set_t *out)
{
    for (size_t i = 0; i < a->n; i++) {
        if (!s_has(b, a->s[i])) {
            s_add(out, a->s[i], strlen(a->s[i]), NULL, 0);
        }
    }
    s_sort(out);
}

START_TEST(test_poa_fy2025_fy2026)
{
    CS_SKIP_UNLESS_DATA(s_have, "the POA-exempt FY2025/FY2026 or MCE v33/v34 lists");
    cs_tclient_t *q = cs_tclient_new(s_d.query_ep);
    const msgpack_object *r = s_diff(q, "poa-exempt", "FY2025", "FY2026");
    ck_assert(cs_obj_is_str(cs_obj_get(r, "system"), "poa-exempt"));
    ck_assert(cs_obj_is_str(cs_obj_get(r, "to_release"), "FY2026"));
    const msgpack_object *l = s_list(r, "exempt");
    ck_assert(cs_obj_is_str(cs_obj_get(l, "system"), "icd10cm"));
    s_set_t f25 = {0}, f26 = {0}, add = {0}, del = {0}, got_add = {0}, got_del = {0},
            got_chg = {0};
    s_poa_codes("poa/POAexemptCodesFY25.txt", &f25);
    s_poa_codes("poa/POAexemptCodesFY26.txt", &f26);
    s_minus(&f26, &f25, &add);
    s_minus(&f25, &f26, &del);
    s_reply_set(l, "added", &got_add);
    s_reply_set(l, "deleted", &got_del);
    s_reply_set(l, "changed", &got_chg);
    s_same(&add, &got_add, "POA added");
    s_same(&del, &got_del, "POA deleted");
    ck_assert_uint_eq(got_chg.n, 0); /* a code is exempt or not: nothing to change */
    /* the load's job reported its rows as unchecked: no ICD-10-CM release is loaded here */
    ck_assert_msg(strstr(s_poa_lists, "38154 icd10cm rows unchecked (no icd10cm release in "
                         "effect)"), "job lists: '%s'", s_poa_lists);
    ck_assert_uint_gt(add.n, 0);
    ck_assert_uint_gt(del.n, 0);
    /* a code's display form, as a diff of the system shows it */
    const msgpack_object *first = &cs_obj_get(l, "added")->via.array.ptr[0];
    char code[32];
    cs_obj_cstr(cs_obj_get(first, "code"), code, sizeof code);
    ck_assert_msg(strchr(code, '.') || strlen(code) == 3, "%s", code);
    fprintf(stderr, "poa-exempt FY2025 -> FY2026: %zu added, %zu deleted (the lists: %zu and "
            "%zu codes)\n", add.n, del.n, f25.n, f26.n);
    s_free(&f25), s_free(&f26), s_free(&add), s_free(&del);
    s_free(&got_add), s_free(&got_del), s_free(&got_chg);
    cs_tclient_destroy(&q);
}
END_TEST

/* The rows of one MCE file as the loader emits them: per list, "code\tdata". */
typedef struct s_lists {
    char name[16][64];
    s_set_t rows[16];
    size_t n;
} s_lists_t;

static void s_mce_rows(const char *rel, s_lists_t *out)
{
    char path[PATH_MAX], cwd[PATH_MAX], ranges[PATH_MAX + 64];
    ck_assert(cs_test_data_path(rel, path, sizeof path));
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(ranges, sizeof ranges, "%s/loaders/mce-lists/mce_age_ranges.tsv", cwd);
    void *dl = NULL;
    const cs_plugin_desc_t *d = cs_loader_test_open("mce-lists", &dl);
    cs_mock_host_t *m = cs_mock_host_new(1);
    const char *files[] = {path, ranges};
    cs_error_t err;
    ck_assert_int_eq(cs_loader_test_run(d, m, files, 2, &err), CS_OK);
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < cs_mock_host_map_count(m); i++) {
        const cs_mock_map_row_t *row = cs_mock_host_map_row(m, i);
        size_t k = 0;
        while (k < out->n && strcmp(out->name[k], row->map) != 0) {
            k++;
        }
        if (k == out->n) {
            ck_assert_uint_lt(out->n, 16);
            snprintf(out->name[out->n++], sizeof out->name[0], "%s", row->map);
        }
        const char *data = row->relationship ? row->relationship : "";
        s_add(&out->rows[k], row->source, strlen(row->source), data, strlen(data));
    }
    for (size_t k = 0; k < out->n; k++) {
        s_sort(&out->rows[k]);
    }
    cs_mock_host_destroy(&m);
    cs_loader_test_close(&dl);
}

/* The rows of list name of ls (an empty set when it has none). */
static const s_set_t *s_rows_of(const s_lists_t *ls, const char *name)
{
    static const s_set_t none;
    for (size_t k = 0; k < ls->n; k++) {
        if (strcmp(ls->name[k], name) == 0) {
            return &ls->rows[k];
        }
    }
    return &none;
}

/* A row "code\tdata"'s code: the part before the tab, into out. */
static void s_code_of(const char *row, char *out, size_t cap)
{
    snprintf(out, cap, "%.*s", (int)strcspn(row, "\t"), row);
}

/* Entries whose code has a row on the other side too, or not (one row a code: MCE lists). */
static void s_split_by_code(const s_set_t *a, const s_set_t *b, s_set_t *only, s_set_t *both)
{
    s_set_t codes = {0};
    for (size_t i = 0; i < b->n; i++) {
        char c[64];
        s_code_of(b->s[i], c, sizeof c);
        s_add(&codes, c, strlen(c), NULL, 0);
    }
    s_sort(&codes);
    for (size_t i = 0; i < a->n; i++) {
        char c[64];
        s_code_of(a->s[i], c, sizeof c);
        if (s_has(b, a->s[i])) {
            continue; /* the same row on both sides */
        }
        const char *tab = strchr(a->s[i], '\t');
        s_add(s_has(&codes, c) ? both : only, c, strlen(c), tab ? tab + 1 : NULL,
              tab ? strlen(tab + 1) : 0);
    }
    s_sort(only);
    s_sort(both);
    s_free(&codes);
}

START_TEST(test_mce_v33_v34)
{
    CS_SKIP_UNLESS_DATA(s_have, "the POA-exempt FY2025/FY2026 or MCE v33/v34 lists");
    s_lists_t v33, v34;
    s_mce_rows("mce/MCE_Simple_Code_Edits_v33.txt", &v33);
    s_mce_rows("mce/MCE_Simple_Code_Edits_v34.txt", &v34);
    cs_tclient_t *q = cs_tclient_new(s_d.query_ep);
    const msgpack_object *r = s_diff(q, "mce", "v33", "v34");
    const msgpack_object *lists = cs_obj_get(r, "lists");
    size_t total[3] = {0, 0, 0};
    for (uint32_t i = 0; i < lists->via.array.size; i++) {
        const msgpack_object *l = &lists->via.array.ptr[i];
        char name[64];
        cs_obj_cstr(cs_obj_get(l, "list"), name, sizeof name);
        const s_set_t *a = s_rows_of(&v33, name), *b = s_rows_of(&v34, name);
        s_set_t add = {0}, del = {0}, chg_new = {0}, chg_old = {0};
        s_split_by_code(b, a, &add, &chg_new);
        s_split_by_code(a, b, &del, &chg_old);
        s_set_t got_add = {0}, got_del = {0}, got_chg = {0};
        s_reply_set(l, "added", &got_add);
        s_reply_set(l, "deleted", &got_del);
        s_reply_set(l, "changed", &got_chg);
        s_same(&add, &got_add, name);
        s_same(&del, &got_del, name);
        ck_assert_msg(got_chg.n == chg_new.n && chg_new.n == chg_old.n, "%s: %zu changed",
                      name, got_chg.n);
        total[0] += add.n, total[1] += del.n, total[2] += got_chg.n;
        s_free(&add), s_free(&del), s_free(&chg_new), s_free(&chg_old);
        s_free(&got_add), s_free(&got_del), s_free(&got_chg);
    }
    ck_assert_uint_ge(lists->via.array.size, v34.n);
    ck_assert_uint_gt(total[0] + total[1], 0);
    fprintf(stderr, "mce v33 -> v34: %zu lists; %zu rows added, %zu deleted, %zu changed\n",
            (size_t)lists->via.array.size, total[0], total[1], total[2]);
    for (size_t k = 0; k < v33.n; k++) {
        s_free(&v33.rows[k]);
    }
    for (size_t k = 0; k < v34.n; k++) {
        s_free(&v34.rows[k]);
    }
    cs_tclient_destroy(&q);
}
END_TEST

/* The one entry of list kind, "code\tdata" (changed: "code\told\tnew"). */
static void s_one(const msgpack_object *l, const char *kind, const char *want)
{
    s_set_t got = {0};
    s_reply_set(l, kind, &got);
    ck_assert_msg(got.n == 1 && strcmp(got.s[0], want) == 0, "%s: %zu, first %s", kind, got.n,
                  got.n ? got.s[0] : "-");
    s_free(&got);
}

START_TEST(test_ncci)
{
    cs_tclient_t *q = cs_tclient_new(s_d.query_ep);
    const msgpack_object *r = s_diff(q, "ncci-ptp", "sample", "sample2");
    const msgpack_object *h = s_list(r, "ptp-hcpcs");
    s_set_t chg = {0};
    s_reply_set(h, "changed", &chg);
    ck_assert_uint_eq(chg.n, 2);
    ck_assert_str_eq(chg.s[0], "G0101\tG0102 20000101 0 0\tG0102 20000101 20251231 0");
    ck_assert_str_eq(chg.s[1], "G0101\tJ1100 20000101 0 1\tJ1100 20000101 0 0");
    s_free(&chg);
    s_one(h, "added", "G0102\tJ1100 20251001 0 1");
    ck_assert_uint_eq(cs_obj_get(h, "deleted")->via.array.size, 0);
    const msgpack_object *c = s_list(r, "ptp-cpt"); /* a list sample2 no longer has */
    s_one(c, "deleted", "99213\t36415 20000101 0 1");
    ck_assert_uint_eq(cs_obj_get(c, "added")->via.array.size, 0);

    r = s_diff(q, "ncci-mue", "sample", "sample2");
    const msgpack_object *m = s_list(r, "mue-hcpcs");
    s_one(m, "changed", "J1100\t10 3 Date of Service Edit: Clinical\t12 3 Date of Service "
                        "Edit: Clinical");
    s_one(m, "deleted", "A4550\t2 1 Line Edit");
    s_one(m, "added", "G0102\t1 1 Line Edit");
    /* the other way round: what was added is deleted */
    r = s_diff(q, "ncci-mue", "sample2", "sample");
    s_one(s_list(r, "mue-hcpcs"), "deleted", "G0102\t1 1 Line Edit");

    /* an unknown set or release still gets the protocol's errors */
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "diff");
    cs_tpack_kv(pk, "system", "ncci-ptp");
    cs_tpack_kv(pk, "release", "sample");
    cs_tpack_kv(pk, "to_release", "nope");
    r = cs_tclient_call(q, T_LOAD);
    char why[64];
    ck_assert_str_eq(cs_obj_error_code(r, why, sizeof why), "unknown_release");
    pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "diff");
    cs_tpack_kv(pk, "system", "no-such-set");
    cs_tpack_kv(pk, "release", "a");
    cs_tpack_kv(pk, "to_release", "b");
    r = cs_tclient_call(q, T_LOAD);
    ck_assert_str_eq(cs_obj_error_code(r, why, sizeof why), "unknown_system");
    cs_tclient_destroy(&q);
}
END_TEST

/* `codeset diff ncci-mue sample sample2` prints each list's changes. */
START_TEST(test_cli_diff)
{
    char *text = NULL, *etext = NULL;
    size_t n = 0, en = 0;
    FILE *o = open_memstream(&text, &n), *e = open_memstream(&etext, &en);
    const char *argv[] = {"codeset", "--connect", s_d.query_ep, "diff", "ncci-mue", "sample",
                          "sample2"};
    int rc = cs_cli_main(7, (char **)argv, o, e);
    fclose(o);
    fclose(e);
    if (getenv("CS_SHOW_CLI")) {
        fprintf(stderr, "%s%s", text, etext);
    }
    ck_assert_msg(rc == 0 && strstr(text, "list mue-hcpcs (hcpcs):") &&
                  strstr(text, "changed, 1 in all") && strstr(text, "J1100") &&
                  strstr(text, "12 3 Date of Service Edit: Clinical") &&
                  strstr(text, "deleted, 1 in all") && strstr(text, "A4550"),
                  "%d: %s%s", rc, text, etext);
    free(text);
    free(etext);
}
END_TEST

Suite *cs_diff_sets_suite(void);
Suite *cs_diff_sets_suite(void)
{
    Suite *s = suite_create("diff_sets");
    TCase *tc = tcase_create("broker");
    tcase_set_timeout(tc, 600);
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_ncci);
    tcase_add_test(tc, test_poa_fy2025_fy2026);
    tcase_add_test(tc, test_mce_v33_v34);
    tcase_add_test(tc, test_cli_diff);
    suite_add_tcase(s, tc);
    return s;
}
