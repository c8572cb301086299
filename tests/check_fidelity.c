/* check_fidelity.c: titles exactly as the official files publish them, through a live broker.
 *
 * Fixtures (tests/fixtures/fidelity/, always run): a run of spaces in a title is kept, in the
 * XML and the order file alike (FY2017's S99.101A); where the order file's long title differs
 * from the XML's, the order file's answers (the April 2023 Z59.87), but for accents the
 * plain-ASCII order file cannot write (C84.1 Sézary); an HCPCS code terminated before its
 * release took effect is not_effective without a date.
 *
 * The sweep (../shared/data, skipped where absent): every release there is loaded through the
 * broker and every code's title and short title read back (through the embedded reader, a
 * read-only LMDB handle on the broker's database: about a microsecond a code, against the
 * wire's tens) and compared byte for byte with its file: ICD-10-CM FY2016, FY2017, FY2021 and
 * FY2023 (XML with the order file, and XML alone), FY2022, FY2024-FY2026 (order file alone),
 * ICD-10-PCS FY2025 (tables with the order file), HCPCS 2018, 2019, 2020, 2025 (text) and
 * 2019, 2025 (xlsx). */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../loaders/common/xlsx.h"
#include "codeset/codeset.h"
#include "cs_daemon.h"
#include "cs_test.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static void s_abs(const char *path, char *out)
{
    ck_assert_msg(realpath(path, out) != NULL, "no %s", path);
}

static void s_fixture(const char *name, char *out)
{
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "fidelity/%s", name);
    cs_test_fixture_path(rel, out, PATH_MAX);
}

static void s_load(cs_daemon_t *d, cs_tclient_t *admin, const char *loader, const char *label,
                   const char *effective, const char *const *files, size_t n)
{
    char state[64];
    const msgpack_object *r = cs_daemon_load(d, admin, loader, label, effective, files, n,
                                              state, sizeof state, 300000);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(strcmp(state, "done") == 0, "load of %s: %s", label, state);
}

/* A lookup over the wire; the reply (valid until the next call on q). */
static const msgpack_object *s_lookup(cs_tclient_t *q, const char *system, const char *release,
                                      const char *code)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", system);
    cs_tpack_kv(pk, "release", release);
    cs_tpack_kv(pk, "code", code);
    const msgpack_object *r = cs_tclient_call(q, 10000);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(cs_obj_true(cs_obj_get(r, "found")), "%s %s not found", release, code);
    return r;
}

static void s_key_is(const msgpack_object *r, const char *key, const char *want)
{
    char got[1024];
    ck_assert_msg(cs_obj_is_str(cs_obj_get(r, key), want), "%s is '%s', expected '%s'", key,
                  cs_obj_cstr(cs_obj_get(r, key), got, sizeof got), want);
}

/* A validate of codes over the wire (release and date may be NULL); the reply's results. */
static const msgpack_object *s_validate(cs_tclient_t *q, const char *system, const char *release,
                                        const char *date, const char *const *codes, size_t n)
{
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 3 + (release ? 1 : 0) + (date ? 1 : 0));
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", system);
    if (release) {
        cs_tpack_kv(pk, "release", release);
    }
    if (date) {
        cs_tpack_kv(pk, "date", date);
    }
    cs_tpack_str(pk, "codes");
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        cs_tpack_str(pk, codes[i]);
    }
    const msgpack_object *r = cs_tclient_call(q, 60000);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    const msgpack_object *res = cs_obj_get(r, "results");
    ck_assert_uint_eq(res->via.array.size, n);
    return res;
}

/* Result i is valid (want NULL) or has reason want and a message holding has (may be NULL). */
static void s_result_is(const msgpack_object *res, size_t i, const char *want, const char *has)
{
    const msgpack_object *x = &res->via.array.ptr[i];
    char code[64], msg[512];
    cs_obj_cstr(cs_obj_get(x, "code"), code, sizeof code);
    cs_obj_cstr(cs_obj_get(x, "message"), msg, sizeof msg);
    if (!want) {
        ck_assert_msg(cs_obj_true(cs_obj_get(x, "valid")), "%s: not valid: %s", code, msg);
        return;
    }
    ck_assert_msg(!cs_obj_true(cs_obj_get(x, "valid")), "%s: valid", code);
    ck_assert_msg(cs_obj_is_str(cs_obj_get(x, "reason"), want), "%s: not %s: %s", code, want,
                  msg);
    ck_assert_msg(!has || strstr(msg, has), "%s: message lacks '%s': %s", code, has, msg);
}

/* ---- fixtures ----------------------------------------------------------------------------- */

static cs_daemon_t s_d;
static cs_tclient_t *s_admin;
static cs_tclient_t *s_q;

static void s_start(void)
{
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    s_admin = cs_tclient_new(s_d.admin_ep);
    s_q = cs_tclient_new(s_d.query_ep);
}

static void s_stop(void)
{
    cs_tclient_destroy(&s_q);
    cs_tclient_destroy(&s_admin);
    cs_daemon_stop(&s_d);
    cs_daemon_cleanup(&s_d);
}

/* The fixture XML with its order file as "fix", and alone as "fix-xml". */
static void s_load_tabular(void)
{
    char xml[PATH_MAX], order[PATH_MAX];
    s_fixture("tabular.xml", xml);
    s_fixture("order.txt", order);
    const char *both[] = {xml, order};
    s_load(&s_d, s_admin, "icd10cm-tabular", "fix", "2022-10-01", both, 2);
    s_load(&s_d, s_admin, "icd10cm-tabular", "fix-xml", "2022-10-01", both, 1);
}

START_TEST(test_titles_as_published)
{
    s_start();
    s_load_tabular();
    static const char *const s99[] = {"fix", "fix-xml"};
    for (size_t i = 0; i < 2; i++) {
        const msgpack_object *r = s_lookup(s_q, "icd10cm", s99[i], "S99.101A");
        s_key_is(r, "title", "Unspecified physeal fracture of right  metatarsal, initial "
                             "encounter for closed fracture");
        r = s_lookup(s_q, "icd10cm", s99[i], "S99.101D");
        s_key_is(r, "title", "Unspecified physeal fracture of right  metatarsal, subsequent "
                             "encounter for fracture with  routine healing");
        /* a line break inside <desc> is the file's layout, not text: one space */
        r = s_lookup(s_q, "icd10cm", s99[i], "S99.102A");
        s_key_is(r, "title", "Unspecified physeal fracture of left metatarsal, initial "
                             "encounter for closed fracture");
    }
    const msgpack_object *r = s_lookup(s_q, "icd10cm", "fix", "S99.101A");
    s_key_is(r, "short", "Unsp physl fx right  metatarsal, init for clos fx");
    /* search still folds: the words match whatever the spaces between them */
    msgpack_packer *pk = cs_tclient_begin(s_q);
    msgpack_pack_map(pk, 4);
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "release", "fix");
    cs_tpack_kv(pk, "q", "physeal right metatarsal initial");
    r = cs_tclient_call(s_q, 10000);
    ck_assert_ptr_nonnull(r);
    const msgpack_object *hits = cs_obj_get(r, "hits");
    ck_assert_ptr_nonnull(hits);
    ck_assert_uint_ge(hits->via.array.size, 1);
    s_key_is(&hits->via.array.ptr[0], "code", "S99.101A");
    s_stop();
}
END_TEST

START_TEST(test_order_title_wins)
{
    s_start();
    s_load_tabular();
    /* the order file revises the XML's title: the later statement answers */
    const msgpack_object *r = s_lookup(s_q, "icd10cm", "fix", "Z59.87");
    s_key_is(r, "title", "Material hardship due to limited financial resources, not elsewhere "
                         "classified");
    const char *z = "Z59.87";
    const msgpack_object *res = s_validate(s_q, "icd10cm", "fix", NULL, &z, 1);
    s_key_is(&res->via.array.ptr[0], "title", "Material hardship due to limited financial "
                                              "resources, not elsewhere classified");
    r = s_lookup(s_q, "icd10cm", "fix-xml", "Z59.87");
    s_key_is(r, "title", "Material hardship");
    /* an accent the plain-ASCII order file cannot write is no revision */
    r = s_lookup(s_q, "icd10cm", "fix", "C84.1");
    s_key_is(r, "title", "S\xc3\xa9zary disease");
    s_key_is(r, "short", "Sezary disease");
    s_stop();
}
END_TEST

START_TEST(test_terminated_before_release)
{
    s_start();
    char txt[PATH_MAX];
    s_fixture("hcpcs.txt", txt);
    const char *files[] = {txt};
    s_load(&s_d, s_admin, "hcpcs-anweb", "2025-01", "2025-01-01", files, 1);
    static const char *const codes[] = {"A1000", "A1001", "A1002", "Z1"};
    /* without a date: judged on the release, which takes effect on 2025-01-01 */
    const msgpack_object *res = s_validate(s_q, "hcpcs", NULL, NULL, codes, 4);
    s_result_is(res, 0, NULL, NULL);
    s_result_is(res, 1, "not_effective", "was terminated on 2024-12-31, before release "
                                         "2025-01 took effect on 2025-01-01");
    s_result_is(res, 2, NULL, NULL); /* terminated within the release: valid until then */
    s_result_is(res, 3, "not_effective", "2020-06-30");
    /* with a date of service, the date decides, as before */
    res = s_validate(s_q, "hcpcs", NULL, "2025-02-01", codes, 4);
    s_result_is(res, 1, "not_effective", "was terminated on 2024-12-31, before the date of "
                                         "service 2025-02-01");
    s_result_is(res, 2, NULL, NULL);
    res = s_validate(s_q, "hcpcs", NULL, "2025-04-01", codes, 4);
    s_result_is(res, 2, "not_effective", "2025-03-31");
    /* lookup still finds what the file holds, with the date it ended */
    const msgpack_object *r = s_lookup(s_q, "hcpcs", "2025-01", "A1001");
    s_key_is(r, "valid_to", "2024-12-31");
    /* and the descriptions as published: runs of blanks kept, a wrapped line rejoined */
    r = s_lookup(s_q, "hcpcs", "2025-01", "A1000");
    s_key_is(r, "title", "Sample dressing, with  two spaces as published");
    s_key_is(r, "short", "Sample dressing,  two sp");
    r = s_lookup(s_q, "hcpcs", "2025-01", "A1003");
    s_key_is(r, "title", "Sample description that runs past one line, where the published "
                         "text had  two spaces at the wrap");
    s_stop();
}
END_TEST

/* ---- the sweep: reading the official files -------------------------------------------------- */

/* In the loops over every code, a check is an if and ck_abort_msg: each ck_assert_* call
 * reports its place to the runner through a pipe, a system call per code and check. */

/* One code of an official file: its texts as published (malloc'ed). */
typedef struct s_row {
    char code[16];     /* as the file writes it (no dot) */
    char *title;       /* long title / description */
    char *short_title; /* short title / description, or NULL */
} s_row_t;

typedef struct s_rows {
    s_row_t *v;
    size_t n;
    size_t cap;
} s_rows_t;

static s_row_t *s_rows_add(s_rows_t *r)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        ck_assert_ptr_nonnull(r->v);
    }
    memset(&r->v[r->n], 0, sizeof r->v[0]);
    return &r->v[r->n++];
}

static void s_rows_free(s_rows_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].title);
        free(r->v[i].short_title);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* s[0..n) without the blanks at either end, as a malloc'ed string. */
static char *s_trimmed(const char *s, size_t n)
{
    while (n > 0 && *s == ' ') {
        s++;
        n--;
    }
    while (n > 0 && s[n - 1] == ' ') {
        n--;
    }
    char *out = strndup(s, n);
    if (!out) {
        ck_abort_msg("out of memory");
    }
    return out;
}

/* The lines of a text file, CRs removed, through fn. */
static void s_lines(const char *path, void (*fn)(void *, char *, size_t), void *arg)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char line[8192];
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        fn(arg, line, len);
    }
    fclose(f);
}

/* An order file line (ICD-10-CM or ICD-10-PCS): code 7-13, short 17-76, long 78-. */
static void s_order_line(void *arg, char *line, size_t len)
{
    if (len < 78) {
        return;
    }
    s_row_t *row = s_rows_add(arg);
    size_t k = 0;
    while (k < 7 && line[6 + k] != ' ') {
        row->code[k] = line[6 + k];
        k++;
    }
    row->short_title = s_trimmed(line + 16, 60);
    row->title = s_trimmed(line + 77, len - 77);
}

/* Add a continuation part of an HCPCS description to the last row: without its padding,
 * after one space. */
static void s_hcpcs_more(s_rows_t *rows, const char *part, size_t n)
{
    if (rows->n == 0) {
        ck_abort_msg("a continuation before any code");
    }
    s_row_t *row = &rows->v[rows->n - 1];
    while (n > 0 && part[n - 1] == ' ') {
        n--;
    }
    size_t have = strlen(row->title);
    row->title = realloc(row->title, have + 1 + n + 1);
    if (!row->title) {
        ck_abort_msg("out of memory");
    }
    row->title[have] = ' ';
    memcpy(row->title + have + 1, part, n);
    row->title[have + 1 + n] = '\0';
}

/* A new HCPCS row: code (blanks around it dropped), description and short description. */
static void s_hcpcs_first(s_rows_t *rows, const char *code, size_t code_len, const char *title,
                          size_t title_len, const char *short_title, size_t short_len)
{
    s_row_t *row = s_rows_add(rows);
    char *c = s_trimmed(code, code_len);
    snprintf(row->code, sizeof row->code, "%s", c);
    free(c);
    row->title = s_trimmed(title, title_len);
    row->short_title = short_len ? s_trimmed(short_title, short_len) : NULL;
    if (row->short_title && !row->short_title[0]) {
        free(row->short_title);
        row->short_title = NULL;
    }
}

/* An HCPCS fixed-width record: a first line (3, 7) starts a code, a continuation (4, 8)
 * adds its next part. */
static void s_hcpcs_line(void *arg, char *line, size_t len)
{
    s_rows_t *rows = arg;
    if (len < 12 || !strchr("3478", line[10]) || strspn(line + 5, "0123456789") < 5) {
        return; /* the disclaimer */
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)line[i] >= 0x80) {
            ck_abort_msg("a record with a byte past ASCII: %s", line);
        }
    }
    size_t n = len > 91 ? 80 : len - 11;
    if (line[10] == '3' || line[10] == '7') {
        size_t short_len = len > 91 ? (len > 119 ? 119 : len) - 91 : 0;
        s_hcpcs_first(rows, line, 5, line + 11, n, line + 91, short_len);
    } else {
        s_hcpcs_more(rows, line + 11, n);
    }
}

/* The HCPCS sheet: the header row names the columns; a row per code as in the text file. */
typedef struct s_sheet {
    s_rows_t *rows;
    int col[4]; /* HCPC, RECID, LONG DESCRIPTION, SHORT DESCRIPTION; -1 until the header */
} s_sheet_t;

static int s_sheet_row(void *arg, uint32_t row, const char *const *cells, size_t n,
                       cs_error_t *err)
{
    static const char *const names[4] = {"HCPC", "RECID", "LONG DESCRIPTION",
                                         "SHORT DESCRIPTION"};
    (void)row;
    (void)err;
    s_sheet_t *s = arg;
    if (s->col[0] < 0) { /* the disclaimer, then the header row */
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < 4; k++) {
                s->col[k] = strcmp(cells[i], names[k]) == 0 ? (int)i : s->col[k];
            }
        }
        return 0;
    }
    const char *v[4];
    for (size_t k = 0; k < 4; k++) {
        v[k] = s->col[k] >= 0 && (size_t)s->col[k] < n ? cells[s->col[k]] : "";
    }
    if (!v[0][0]) {
        return 0;
    }
    if (strcmp(v[1], "4") == 0 || strcmp(v[1], "8") == 0) {
        s_hcpcs_more(s->rows, v[2], strlen(v[2]));
    } else {
        s_hcpcs_first(s->rows, v[0], strlen(v[0]), v[2], strlen(v[2]), v[3], strlen(v[3]));
    }
    return 0;
}

static void s_read_sheet(const char *path, s_rows_t *rows)
{
    cs_error_t err;
    cs_xlsx_t *x = cs_xlsx_new(path, NULL, &err);
    ck_assert_msg(x != NULL, "%s: %s", path, err.msg);
    s_sheet_t s = {rows, {-1, -1, -1, -1}};
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_sheet_row, &s, &err), CS_OK);
    cs_xlsx_destroy(&x);
}

/* ---- the sweep: comparing ---------------------------------------------------------------- */

/* Whether got is want once each accented Latin-1 letter of got is written plain (a test-side
 * table, independent of the loader's). */
static int s_plain_equal(const char *got, size_t len, const char *want)
{
    static const char *const plain[] = {"e\xc3\xa9", "e\xc3\xa8", "o\xc3\xb4", "o\xc3\xb6",
                                        "a\xc3\xa4", "c\xc3\xa7", "u\xc3\xbc", "a\xc3\xa0"};
    size_t o = 0;
    for (size_t i = 0; i < len; o++) {
        size_t k = 0;
        while (k < sizeof plain / sizeof plain[0] &&
               (i + 2 > len || memcmp(got + i, plain[k] + 1, 2) != 0)) {
            k++;
        }
        char c = k < sizeof plain / sizeof plain[0] ? plain[k][0] : got[i];
        i += k < sizeof plain / sizeof plain[0] ? 2 : 1;
        if (want[o] != c) {
            return 0;
        }
    }
    return want[o] == '\0';
}

/* What one comparison of a release found. */
typedef struct s_tally {
    size_t codes;    /* codes compared */
    size_t accents;  /* titles the broker writes with accents the file writes plain */
    size_t doubled;  /* titles of the file with a run of spaces (all matched) */
    size_t revised;  /* titles that differ otherwise, each one of `expected` */
    size_t missing;  /* codes the release lacks (the XML alone, against a later order file) */
} s_tally_t;

static int s_str_is(cs_db_str_t s, const char *want)
{
    return want && s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* Compare every row's title (and short title, with_short) with what release label of system
 * answers. A title may differ only by accents (tallied) or be one of revised[] (code, title
 * answered) pairs. Without with_short (the XML alone), a code the release lacks is tallied in
 * missing; otherwise it fails. */
static s_tally_t s_compare(cs_db_t *db, const char *system, const char *label,
                           const s_rows_t *rows, int with_short, const char *const *revised)
{
    s_tally_t t = {0};
    cs_db_query_t q = {.release = label, .date = NULL};
    for (size_t i = 0; i < rows->n; i++) {
        const s_row_t *row = &rows->v[i];
        cs_db_entry_t e;
        cs_error_t err;
        if (cs_db_lookup(db, system, row->code, &q, &e, &err) != CS_OK) {
            ck_abort_msg("%s %s: %s", label, row->code, err.msg);
        }
        if (!e.found && !with_short) {
            t.missing++;
            continue;
        }
        if (!e.found) {
            ck_abort_msg("%s %s: not found", label, row->code);
        }
        t.codes++;
        t.doubled += strstr(row->title, "  ") != NULL;
        if (!s_str_is(e.title, row->title)) {
            size_t k = 0;
            while (revised && revised[k] && strcmp(revised[k], row->code) != 0) {
                k += 2;
            }
            if (revised && revised[k] && s_str_is(e.title, revised[k + 1])) {
                t.revised++;
            } else {
                if (!s_plain_equal(e.title.ptr, e.title.len, row->title)) {
                    ck_abort_msg("%s %s %s: title '%.*s', the file's '%s'", system, label,
                                 row->code, (int)e.title.len, e.title.ptr, row->title);
                }
                t.accents++;
            }
        }
        if (with_short && !(row->short_title ? s_str_is(e.short_title, row->short_title)
                                             : e.short_title.len == 0)) {
            ck_abort_msg("%s %s %s: short '%.*s', the file's '%s'", system, label, row->code,
                         (int)e.short_title.len, e.short_title.ptr,
                         row->short_title ? row->short_title : "(none)");
        }
    }
    return t;
}

static cs_db_t *s_open_db(void)
{
    char plugins[PATH_MAX];
    snprintf(plugins, sizeof plugins, "%s/plugins", cs_test_build_dir());
    cs_error_t err;
    cs_db_t *db = cs_db_open(s_d.db, plugins, &err);
    ck_assert_msg(db != NULL, "cs_db_open: %s", err.msg);
    return db;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the sweep: ICD-10-CM ------------------------------------------------------------------ */

typedef struct s_cm_year {
    const char *year;      /* "2017" */
    const char *order;     /* the order file under icd10cm/ */
    const char *xml;       /* the tabular XML under icd10cm/, or NULL */
    const char *effective; /* the release's effective date */
    size_t codes;          /* lines of the order file */
    size_t accents;        /* long titles the XML writes with accents */
    size_t doubled;        /* long titles with a run of spaces */
} s_cm_year_t;

/* Measured on the files; every XML title agrees with the order file's but for accents and, in
 * FY2023, the April update's Z59.87. */
static const s_cm_year_t s_cm_years[] = {
    {"2016", "2016/icd10cm_order_2016.txt", "2016/icd10cm_tabular_2016.xml", "2015-10-01",
     91737, 134, 22},
    {"2017", "2017/icd10cm_order_2017.txt", "2017/icd10cm_tabular_2017.xml", "2016-10-01",
     93830, 134, 42},
    {"2021", "2021/icd10cm_order_2021.txt", "2021/icd10cm_tabular_2021.xml", "2020-10-01",
     95358, 134, 0},
    {"2022", "order/icd10cm_order_2022.txt", NULL, "2021-10-01", 95528, 0, 0},
    {"2023", "2023/icd10cm_order_2023.txt", "2023/icd10cm_tabular_2023.xml", "2022-10-01",
     96795, 147, 1},
    {"2024", "order/icd10cm_order_2024.txt", NULL, "2023-10-01", 97296, 0, 1},
    {"2025", "order/icd10cm_order_2025.txt", NULL, "2024-10-01", 97584, 0, 1},
    {"2026", "order/icd10cm_order_2026.txt", NULL, "2025-10-01", 98186, 0, 0},
};

/* Z59.87 as the FY2023 XML has it, before the April 2023 order file revised it. */
static const char *const s_xml_2023[] = {"Z5987", "Material hardship", NULL};

static int s_data(const char *rel, char *abs)
{
    char path[PATH_MAX];
    if (!cs_test_data_path(rel, path, sizeof path)) {
        return 0;
    }
    s_abs(path, abs);
    return 1;
}

START_TEST(test_sweep_icd10cm)
{
    const s_cm_year_t *y = &s_cm_years[_i];
    char order[PATH_MAX], xml[PATH_MAX], rel[PATH_MAX];
    snprintf(rel, sizeof rel, "icd10cm/%s", y->order);
    CS_SKIP_UNLESS_DATA(s_data(rel, order), rel);
    if (y->xml) {
        snprintf(rel, sizeof rel, "icd10cm/%s", y->xml);
        CS_SKIP_UNLESS_DATA(s_data(rel, xml), rel);
    }
    double t0 = s_now();
    s_start();
    const char *files[] = {order, xml};
    char xml_label[32];
    snprintf(xml_label, sizeof xml_label, "%s-xml", y->year);
    if (y->xml) {
        s_load(&s_d, s_admin, "icd10cm-tabular", y->year, y->effective, files, 2);
        s_load(&s_d, s_admin, "icd10cm-tabular", xml_label, y->effective, files + 1, 1);
    } else {
        s_load(&s_d, s_admin, "icd10cm-order", y->year, y->effective, files, 1);
    }
    double t1 = s_now();
    s_rows_t rows = {0};
    s_lines(order, s_order_line, &rows);
    ck_assert_uint_eq(rows.n, y->codes);
    cs_db_t *db = s_open_db();
    s_tally_t t = s_compare(db, "icd10cm", y->year, &rows, 1, NULL);
    ck_assert_uint_eq(t.codes, y->codes);
    ck_assert_uint_eq(t.accents, y->accents);
    ck_assert_uint_eq(t.doubled, y->doubled);
    ck_assert_uint_eq(t.revised, 0);
    if (y->xml) {
        /* the XML alone: the same titles, but for the revision the order file brought */
        t = s_compare(db, "icd10cm", xml_label, &rows, 0,
                      strcmp(y->year, "2023") == 0 ? s_xml_2023 : NULL);
        ck_assert_uint_eq(t.accents, y->accents);
        ck_assert_uint_eq(t.revised, strcmp(y->year, "2023") == 0 ? 1 : 0);
        ck_assert_uint_eq(t.missing, strcmp(y->year, "2023") == 0 ? 50 : 0); /* April 2023 */
    }
    cs_db_close(&db);
    if (strcmp(y->year, "2017") == 0) {
        const msgpack_object *r = s_lookup(s_q, "icd10cm", "2017", "S99.101A");
        s_key_is(r, "title", "Unspecified physeal fracture of right  metatarsal, initial "
                             "encounter for closed fracture");
    }
    if (strcmp(y->year, "2023") == 0) {
        const msgpack_object *r = s_lookup(s_q, "icd10cm", "2023", "Z59.87");
        s_key_is(r, "title", "Material hardship due to limited financial resources, not "
                             "elsewhere classified");
    }
    fprintf(stderr, "fidelity: ICD-10-CM %s: %zu codes, %zu titles with a run of spaces, %zu "
            "with accents the order file writes plain; loads %.1f s, compare %.1f s\n",
            y->year, t.codes, y->doubled, y->accents, t1 - t0, s_now() - t1);
    s_rows_free(&rows);
    s_stop();
}
END_TEST

/* ---- the sweep: ICD-10-PCS and HCPCS -------------------------------------------------------- */

START_TEST(test_sweep_icd10pcs)
{
    char tables[PATH_MAX], order[PATH_MAX];
    CS_SKIP_UNLESS_DATA(s_data("icd10pcs/2025/icd10pcs_tables_2025.xml", tables),
                        "icd10pcs/2025/icd10pcs_tables_2025.xml");
    CS_SKIP_UNLESS_DATA(s_data("icd10pcs/2025/icd10pcs_order_2025.txt", order),
                        "icd10pcs/2025/icd10pcs_order_2025.txt");
    s_start();
    const char *files[] = {tables, order};
    s_load(&s_d, s_admin, "icd10pcs-tables", "2025", "2024-10-01", files, 2);
    s_rows_t rows = {0};
    s_lines(order, s_order_line, &rows);
    ck_assert_uint_eq(rows.n, 79856);
    cs_db_t *db = s_open_db();
    s_tally_t t = s_compare(db, "icd10pcs", "2025", &rows, 1, NULL);
    ck_assert_uint_eq(t.accents, 0);
    cs_db_close(&db);
    fprintf(stderr, "fidelity: ICD-10-PCS 2025: %zu codes and tables, %zu titles with a run of "
            "spaces\n", t.codes, t.doubled);
    s_rows_free(&rows);
    s_stop();
}
END_TEST

typedef struct s_hcpcs_file {
    const char *file;      /* under hcpcs/ */
    const char *label;     /* release label */
    const char *effective; /* effective date */
    size_t codes;          /* procedure codes and modifiers */
} s_hcpcs_file_t;

static const s_hcpcs_file_t s_hcpcs_files[] = {
    {"HCPC2018_CONTR_ANWEB_disc.txt", "2018", "2018-01-01", 6559},
    {"HCPC2019_CONTR_ANWEB.txt", "2019", "2019-01-01", 6800},
    {"HCPC2019_CONTR_ANWEB.xlsx", "2019-xlsx", "2019-01-01", 6800},
    {"HCPC2020_ANWEB_w_disclaimer.txt", "2020", "2020-01-01", 7079},
    {"HCPC2025_JAN_ANWEB_12172024.txt", "2025", "2025-01-01", 8642},
    {"HCPC2025_JAN_ANWEB_12172024.xlsx", "2025-xlsx", "2025-01-01", 8642},
};

START_TEST(test_sweep_hcpcs)
{
    char path[PATH_MAX], rel[PATH_MAX];
    s_start();
    cs_db_t *db = NULL;
    for (size_t i = 0; i < sizeof s_hcpcs_files / sizeof s_hcpcs_files[0]; i++) {
        const s_hcpcs_file_t *f = &s_hcpcs_files[i];
        snprintf(rel, sizeof rel, "hcpcs/%s", f->file);
        if (!s_data(rel, path)) {
            fprintf(stderr, "SKIP %s: %s not found (../shared/data is absent)\n", __func__, rel);
            continue;
        }
        const char *files[] = {path};
        s_load(&s_d, s_admin, "hcpcs-anweb", f->label, f->effective, files, 1);
        s_rows_t rows = {0};
        if (strstr(f->file, ".xlsx")) {
            s_read_sheet(path, &rows);
        } else {
            s_lines(path, s_hcpcs_line, &rows);
        }
        ck_assert_uint_eq(rows.n, f->codes);
        if (!db) {
            db = s_open_db();
        }
        s_tally_t t = s_compare(db, "hcpcs", f->label, &rows, 1, NULL);
        ck_assert_uint_eq(t.accents, 0);
        fprintf(stderr, "fidelity: HCPCS %s: %zu codes, %zu descriptions with a run of "
                "spaces\n", f->label, t.codes, t.doubled);
        s_rows_free(&rows);
    }
    cs_db_close(&db);
    s_stop();
}
END_TEST

/* Every code of the 2025 file that was terminated before 2025-01-01 is not_effective without a
 * date, naming its termination date; every other code is valid. */
START_TEST(test_hcpcs_2025_terminated)
{
    char path[PATH_MAX];
    CS_SKIP_UNLESS_DATA(s_data("hcpcs/HCPC2025_JAN_ANWEB_12172024.txt", path),
                        "hcpcs/HCPC2025_JAN_ANWEB_12172024.txt");
    s_start();
    const char *files[] = {path};
    s_load(&s_d, s_admin, "hcpcs-anweb", "2025-01", "2025-01-01", files, 1);
    s_rows_t rows = {0};
    s_lines(path, s_hcpcs_line, &rows);
    const char **codes = calloc(rows.n, sizeof *codes);
    ck_assert_ptr_nonnull(codes);
    for (size_t i = 0; i < rows.n; i++) {
        codes[i] = rows.v[i].code;
    }
    const msgpack_object *res = s_validate(s_q, "hcpcs", NULL, NULL, codes, rows.n);
    size_t gone = 0;
    for (size_t i = 0; i < rows.n; i++) {
        const msgpack_object *x = &res->via.array.ptr[i];
        if (cs_obj_true(cs_obj_get(x, "valid"))) {
            continue;
        }
        s_result_is(res, i, "not_effective", "was terminated on 20");
        s_result_is(res, i, "not_effective", "before release 2025-01 took effect on 2025-01-01");
        gone++;
    }
    /* 1,145 procedure codes and 20 modifiers, all terminated on or before 2024-12-31 */
    ck_assert_uint_eq(gone, 1165);
    free(codes);
    s_rows_free(&rows);
    s_stop();
}
END_TEST

Suite *cs_fidelity_suite(void);
Suite *cs_fidelity_suite(void)
{
    Suite *s = suite_create("fidelity");
    TCase *tc = tcase_create("fixtures");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_titles_as_published);
    tcase_add_test(tc, test_order_title_wins);
    tcase_add_test(tc, test_terminated_before_release);
    suite_add_tcase(s, tc);
    TCase *data = tcase_create("sweep");
    tcase_set_timeout(data, 600);
    tcase_add_loop_test(data, test_sweep_icd10cm, 0,
                        (int)(sizeof s_cm_years / sizeof s_cm_years[0]));
    tcase_add_test(data, test_sweep_icd10pcs);
    tcase_add_test(data, test_sweep_hcpcs);
    tcase_add_test(data, test_hcpcs_2025_terminated);
    suite_add_tcase(s, data);
    return s;
}
